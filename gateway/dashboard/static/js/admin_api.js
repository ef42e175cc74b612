// The /admin API with the operator's key, signed in like a project's key; errors as in api.js,
// with the `param` the API named.
import { refused } from "./api.js";
import { apiKey } from "./session.js";

export async function adminRequest(path, { method = "GET", json, key = apiKey() } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/admin${path}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(refused(response.status, body), { param: body?.error?.param });
  return body;
}

/** Saves what `path` answers (a CSV report) as `filename`. */
export async function adminDownload(path, filename) {
  const response = await fetch(`/admin${path}`, { headers: { Authorization: `Bearer ${apiKey()}` } });
  if (!response.ok) throw refused(response.status, await response.json().catch(() => null));
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.click();
  URL.revokeObjectURL(url);
}

/** Every project, for pickers and for naming projects by id. */
export async function listProjects() {
  return (await adminRequest("/projects")).data;
}
