// The signed-in API key lives in this tab's session storage: gone when the tab closes. The
// operator's admin key is kept the same way, marked as such: it opens the admin pages only.
const STORAGE_KEY = "ftgate.apiKey";
const ADMIN_KEY = "ftgate.admin";

export function apiKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function isAdmin() {
  return sessionStorage.getItem(ADMIN_KEY) === "true";
}

export function signIn(key, { admin = false } = {}) {
  sessionStorage.setItem(STORAGE_KEY, key);
  if (admin) sessionStorage.setItem(ADMIN_KEY, "true");
  else sessionStorage.removeItem(ADMIN_KEY);
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
  sessionStorage.removeItem(ADMIN_KEY);
}
