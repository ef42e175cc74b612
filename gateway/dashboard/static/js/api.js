// The /v1 API with the signed-in key. Errors carry OpenAI's envelope; a refused key signs out.
import { apiKey, signOut } from "./session.js";

export const SIGNED_OUT_EVENT = "ftgate:signed-out";

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `The gateway answered ${status}.`);
    this.status = status;
    this.param = body?.error?.param ?? null;
  }
}

export function refused(status, body) {
  if (status === 401 && apiKey()) {
    signOut();
    window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: body?.error?.message }));
  }
  return new ApiError(status, body);
}

export async function request(path, { method = "GET", json, key = apiKey() } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/v1${path}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw refused(response.status, body);
  return body;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A multipart upload through XMLHttpRequest, whose upload events report progress (0..1). */
export function uploadFile(file, purpose, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files");
    xhr.setRequestHeader("Authorization", `Bearer ${apiKey()}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(refused(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, null)));
    const form = new FormData();
    form.append("purpose", purpose);
    form.append("file", file);
    xhr.send(form);
  });
}

export async function downloadFile(fileId, filename) {
  const response = await fetch(`/v1/files/${fileId}/content`, {
    headers: { Authorization: `Bearer ${apiKey()}` },
  });
  if (!response.ok) throw refused(response.status, await response.json().catch(() => null));
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.click();
  URL.revokeObjectURL(url);
}
