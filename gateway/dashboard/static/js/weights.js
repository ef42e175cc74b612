// A fine-tuned model's (or checkpoint's) weights, exported as a tar and saved by the browser.
import { apiKey } from "./session.js";

const FILENAME = /filename="([^"]+)"/;

/** `format` is "adapter" (the LoRA adapter) or "merged" (the base model with it merged in). */
export async function exportWeights(model, format) {
  const response = await fetch(`/v1/models/${model}/weights?format=${format}`, {
    headers: { Authorization: `Bearer ${apiKey()}` },
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.error?.message || `The gateway answered ${response.status}.`);
  }
  const filename = FILENAME.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? `${format}.tar`;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.click();
  URL.revokeObjectURL(url);
}
