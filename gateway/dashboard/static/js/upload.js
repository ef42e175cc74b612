// Uploading JSONL files with progress: the drop zone of the files page, and a button for a form.
import { uploadFile } from "./api.js";
import { h } from "./dom.js";
import { bytes } from "./format.js";

const JSONL = ".jsonl,application/jsonl";

/** Uploads files one by one, telling in `progress` and `status` how each goes; answers the
 *  file objects once every one is stored, or null when one is refused. */
function uploader(purpose, progress, status) {
  return async (files) => {
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
        return null;
      }
    }
    return uploaded;
  };
}

function progressParts(statusId, notice) {
  const progress = h("progress", { max: "1", value: "0", hidden: true, "aria-labelledby": statusId });
  const status = h("p", { id: statusId, class: "upload-status", role: "status" }, notice ?? "");
  return [progress, status];
}

/** `onUploaded(files)` is called with the file objects once every chosen file is uploaded. */
export function dropZone({ purpose, onUploaded, signal, notice }) {
  const input = h("input", {
    type: "file",
    id: "upload-input",
    class: "visually-hidden",
    accept: JSONL,
    multiple: true,
  });
  const [progress, status] = progressParts("upload-status", notice);
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

  const upload = uploader(purpose, progress, status);
  const uploadAll = async (files) => {
    const uploaded = await upload(files);
    if (uploaded?.length) onUploaded(uploaded);
  };
  input.addEventListener("change", () => {
    uploadAll([...input.files]);
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
    uploadAll([...event.dataTransfer.files]);
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

/** A button that picks one JSONL file and uploads it for `purpose`, its progress and outcome
 *  told beside it; `onUploaded(file)` with the stored file. */
export function uploadButton({ id, label, purpose, onUploaded }) {
  const input = h("input", { type: "file", id, class: "visually-hidden", accept: JSONL });
  const [progress, status] = progressParts(`${id}-status`);
  const upload = uploader(purpose, progress, status);
  input.addEventListener("change", async () => {
    const [file] = input.files;
    input.value = "";
    const uploaded = await upload([file]);
    if (uploaded) onUploaded(uploaded[0]);
  });
  return h(
    "div",
    { class: "upload-button" },
    h("label", { for: id, class: "button" }, label),
    input,
    progress,
    status,
  );
}
