// The signed-in API key lives in this tab's session storage: gone when the tab closes.
const STORAGE_KEY = "ftgate.apiKey";

export function apiKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function signIn(key) {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
}
