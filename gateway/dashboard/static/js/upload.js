// The drop zone: drag files onto it or pick them with the button; each is uploaded with progress.
import { uploadFile } from "./api.js";
import { h } from "./dom.js";
import { bytes } from "./format.js";

/** `onUploaded(files)` is called with the file objects once every chosen file is uploaded. */
export function dropZone({ purpose, onUploaded, signal, notice }) {
  const input = h("input", {
    type: "file",
    id: "upload-input",
    class: "visually-hidden",
    accept: ".jsonl,application/jsonl",
    multiple: true,
  });
  const progress = h("progress", { max: "1", value: "0", hidden: true, "aria-labelledby": "upload-status" });
  const status = h("p", { id: "upload-status", class: "upload-status", role: "status" }, notice ?? "");
  const zone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h("p", { class: "dropzone-title" }, "Drop a JSONL training file here"),
    h("p", { class: "muted" }, "or"),
    h("label", { for: "upload-input", class: "button" }, "Choose a file…"),
    input,
    progress,
    status,
  );

  async function upload(files) {
    status.classList.remove("error");
    const uploaded = [];
    for (const file of files) {
      progress.hidden = false;
      progress.value = 0;
      status.textContent = `Uploading ${file.name} (${bytes(file.size)})…`;
      try {
        const stored = await uploadFile(file, purpose, (fraction) => {
          progress.value = fraction;
          status.textContent = `Uploading ${file.name}: ${Math.round(fraction * 100)}%`;
        });
        progress.value = 1;
        status.textContent = `Uploaded ${file.name} as ${stored.id}.`;
        uploaded.push(stored);
      } catch (error) {
        progress.hidden = true;
        status.textContent = `Could not upload ${file.name}: ${error.message}`;
        status.classList.add("error");
        return;
      }
    }
    if (uploaded.length) onUploaded(uploaded);
  }

  input.addEventListener("change", () => {
    upload([...input.files]);
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    upload([...event.dataTransfer.files]);
  });
  // A file dropped beside the zone must not make the browser navigate away to it.
  const keepPage = (event) => event.preventDefault();
  window.addEventListener("dragover", keepPage);
  window.addEventListener("drop", keepPage);
  signal.addEventListener("abort", () => {
    window.removeEventListener("dragover", keepPage);
    window.removeEventListener("drop", keepPage);
  });
  return zone;
}
