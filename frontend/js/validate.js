// Client-side checks before an upload: file type and size; which files are documents (PDF, TIFF).

import { OcrError } from "./api.js";

export const ACCEPTED_TYPES = ["image/png", "image/jpeg", "image/webp", "image/bmp", "image/tiff", "application/pdf"];
const TYPE_ALIASES = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "image/x-png": "image/png",
  "image/x-ms-bmp": "image/bmp",
  "image/x-bmp": "image/bmp",
  "image/tif": "image/tiff",
  "image/x-tiff": "image/tiff",
  "application/x-pdf": "application/pdf",
};
const EXTENSIONS = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jpe: "image/jpeg",
  jfif: "image/jpeg",
  webp: "image/webp",
  bmp: "image/bmp",
  dib: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  pdf: "application/pdf",
};

/** The value for <input type=file accept=...>. */
export const ACCEPT_ATTR = [...ACCEPTED_TYPES, ...Object.keys(EXTENSIONS).map((e) => `.${e}`)].join(",");

/** Best guess of the file's type: its MIME type, else its extension; null if not accepted. */
export function fileType(file) {
  const mime = (file.type || "").toLowerCase();
  const canonical = TYPE_ALIASES[mime] || mime;
  if (ACCEPTED_TYPES.includes(canonical)) return canonical;
  if (!mime || mime === "application/octet-stream") {
    const ext = (file.name || "").toLowerCase().split(".").pop();
    if (EXTENSIONS[ext]) return EXTENSIONS[ext];
  }
  return null;
}

/**
 * PDFs and TIFFs may have several pages: the page asks the server for their page count and
 * thumbnails (a one-page TIFF then goes the single-image way).
 */
export function mayHavePages(file) {
  return ["application/pdf", "image/tiff"].includes(fileType(file));
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Throws an OcrError when `file` should not be uploaded. */
export function validateFile(file, maxMb) {
  if (!fileType(file)) {
    const type = file.type || (file.name && file.name.includes(".") ? `.${file.name.split(".").pop()}` : "?");
    throw new OcrError({ key: "err.client_type", params: { type } });
  }
  if (file.size === 0) throw new OcrError({ key: "err.client_empty" });
  if (file.size > maxMb * 1024 * 1024) {
    throw new OcrError({ key: "err.client_size", params: { size: formatBytes(file.size) } });
  }
}
