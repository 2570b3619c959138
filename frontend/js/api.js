// Talking to the Slim OCR API: POST /predict (an image; a document's thumbnails, one page, or its
// searchable PDF) and GET /api/v1/health. The base URL comes from window.SLIM_OCR_CONFIG
// (frontend/config.js).

import { t, maxMbLabel } from "./i18n.js";

const DEFAULTS = {
  apiBaseUrl: "",
  maxUploadMB: 6,
  requestTimeoutMs: 60000,
};

export function getConfig() {
  const raw = (typeof window !== "undefined" && window.SLIM_OCR_CONFIG) || {};
  const cfg = { ...DEFAULTS, ...raw };
  cfg.apiBaseUrl = String(cfg.apiBaseUrl || "").trim().replace(/\/+$/, "");
  cfg.maxUploadMB = Number(cfg.maxUploadMB) > 0 ? Number(cfg.maxUploadMB) : DEFAULTS.maxUploadMB;
  cfg.requestTimeoutMs = Number(cfg.requestTimeoutMs) > 0 ? Number(cfg.requestTimeoutMs) : DEFAULTS.requestTimeoutMs;
  return cfg;
}

export function apiUrl(path) {
  return `${getConfig().apiBaseUrl}${path}`;
}

/** An error to show to a person: a translation key + params, and the raw details. */
export class OcrError extends Error {
  constructor({ key, params = {}, code = null, status = null, serverMessage = null }) {
    super(serverMessage || key);
    this.key = key;
    this.params = params;
    this.code = code;
    this.status = status;
    this.serverMessage = serverMessage;
  }

  /** The friendly message in the current language. */
  friendly() {
    return t(this.key, { max: maxMbLabel(), ...this.params });
  }

  /** Technical details (server message, code, HTTP status), or "" when none. */
  details() {
    const parts = [];
    if (this.serverMessage) parts.push(this.serverMessage);
    const tech = [this.code, this.status ? `HTTP ${this.status}` : null].filter(Boolean).join(", ");
    if (tech) parts.push(`(${tech})`);
    return parts.join(" ");
  }
}

const KNOWN_CODES = new Set([
  "image_too_large",
  "unsupported_media_type",
  "invalid_image",
  "invalid_base64",
  "validation_error",
  "missing_image",
  "rate_limited",
  "invalid_document",
  "encrypted_document",
  "too_many_pages",
  "invalid_pages",
  "busy",
]);

const STATUS_FALLBACK = {
  413: "image_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/** Map an HTTP error (status + parsed JSON body, or null) to an OcrError. */
export function errorFromResponse(status, body) {
  const err = body && typeof body === "object" ? body.error : null;
  const code = err && typeof err === "object" ? err.code || null : null;
  const message = err && typeof err === "object" ? err.message || null
    : typeof err === "string" ? err
    : body && typeof body.message === "string" ? body.message // e.g. API Gateway {"message": ...}
    : null;
  if (code && KNOWN_CODES.has(code)) {
    return new OcrError({ key: `err.${code}`, code, status, serverMessage: message });
  }
  if (STATUS_FALLBACK[status]) {
    return new OcrError({ key: `err.${STATUS_FALLBACK[status]}`, code, status, serverMessage: message });
  }
  if (status === 504) return new OcrError({ key: "err.timeout", code, status, serverMessage: message });
  if (status >= 500) return new OcrError({ key: "err.server", params: { status }, code, status, serverMessage: message });
  if (message) {
    // Unknown code but the server explained itself: its message is the best we have.
    return new OcrError({ key: "err.server_message", params: { message }, code, status, serverMessage: message });
  }
  return new OcrError({ key: "err.bad_response", params: { status }, code, status });
}

/**
 * POST `file` with the form `fields` to /predict. Resolves to {response, body, roundTripMs}:
 * `body` is the parsed JSON, or the Blob when `asBlob` (format=pdf). Rejects with OcrError;
 * `signal` lets a newer upload or the stop button cancel it (an AbortError is rethrown as is).
 */
async function post(file, fields, { signal, asBlob = false } = {}) {
  const cfg = getConfig();
  const form = new FormData();
  form.append("image", file, file.name || "image");
  for (const [name, value] of Object.entries(fields)) {
    if (value != null && value !== "") form.append(name, String(value));
  }

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), cfg.requestTimeoutMs);
  const onAbort = () => timeout.abort();
  if (signal) signal.addEventListener("abort", onAbort, { once: true });

  const started = performance.now();
  const aborted = () => new DOMException("superseded", "AbortError");
  let response;
  let body = null;
  try {
    response = await fetch(apiUrl("/predict"), {
      method: "POST",
      body: form,
      signal: timeout.signal,
      headers: { Accept: asBlob ? "application/pdf, application/json" : "application/json" },
    });
    const isJson = (response.headers.get("content-type") || "").includes("json");
    body = asBlob && response.ok && !isJson ? await response.blob() : await response.json().catch(() => null);
  } catch (e) {
    if (signal && signal.aborted) throw aborted();
    if (timeout.signal.aborted) throw new OcrError({ key: "err.timeout" });
    throw new OcrError({ key: "err.network", serverMessage: String(e && e.message ? e.message : e) });
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onAbort);
  }
  const roundTripMs = performance.now() - started;
  if (signal && signal.aborted) throw aborted();
  if (!response.ok || !body || body.success === false) {
    throw errorFromResponse(response.ok ? 500 : response.status, body instanceof Blob ? null : body);
  }
  return { response, body, roundTripMs };
}

function badResponse(response) {
  return new OcrError({ key: "err.bad_response", params: { status: response.status }, status: response.status });
}

/** OCR an image. Resolves to {result, roundTripMs}; rejects with OcrError. */
export async function predict(file, { mode = "auto", signal } = {}) {
  const { response, body, roundTripMs } = await post(file, { mode: mode === "auto" ? null : mode }, { signal });
  if (!Array.isArray(body.lines)) throw badResponse(response);
  return { result: normaliseResult(body), roundTripMs };
}

/** OCR page `number` of a PDF / TIFF (pages=N). Resolves to {result, roundTripMs}. */
export async function predictPage(file, number, { mode = "auto", signal } = {}) {
  const fields = { mode: mode === "auto" ? null : mode, pages: number };
  const { response, body, roundTripMs } = await post(file, fields, { signal });
  const page = Array.isArray(body.pages) ? body.pages.find((p) => p && p.page === number) : null;
  if (!page || !Array.isArray(page.lines)) throw badResponse(response);
  return { result: { ...normaliseResult({ ...page, model: body.model }), ocr: page.ocr !== false }, roundTripMs };
}

/**
 * The page count and thumbnails (format=thumbnails: no OCR) of `pages` ("2-26") of a document.
 * Resolves to {format, pageCount, pages: [{number, width, height, url}]}.
 */
export async function pageThumbnails(file, pages, { signal } = {}) {
  const { response, body } = await post(file, { format: "thumbnails", pages }, { signal });
  if (!Number.isInteger(body.page_count) || !Array.isArray(body.pages)) throw badResponse(response);
  const thumbs = body.pages
    .filter((p) => p && Number.isInteger(p.page) && typeof p.thumbnail === "string" && p.thumbnail.startsWith("data:image/"))
    .map((p) => ({ number: p.page, width: Number(p.width) || 0, height: Number(p.height) || 0, url: p.thumbnail }));
  return { format: String(body.format || ""), pageCount: body.page_count, pages: thumbs };
}

/** The searchable PDF (format=pdf) of `pages` ("1-3,5"; null: all) as a Blob. */
export async function searchablePdf(file, pages, { mode = "auto", signal } = {}) {
  const fields = { format: "pdf", pages, mode: mode === "auto" ? null : mode };
  const { response, body } = await post(file, fields, { signal, asBlob: true });
  if (!(body instanceof Blob)) throw badResponse(response);
  return body;
}

function normaliseResult(body) {
  const lines = body.lines.map((line) => ({
    text: typeof line.text === "string" ? line.text : "",
    confidence: Number.isFinite(line.confidence) ? line.confidence : null,
    box: Array.isArray(line.box) && line.box.length >= 4
      ? line.box.slice(0, 4).map((p) => [Number(p[0]) || 0, Number(p[1]) || 0])
      : null,
  }));
  const text = typeof body.text === "string" ? body.text : lines.map((l) => l.text).join("\n");
  const image = body.image && Number(body.image.width) > 0 && Number(body.image.height) > 0
    ? { width: Number(body.image.width), height: Number(body.image.height) }
    : null;
  return {
    text,
    lines,
    elapsedMs: Number.isFinite(body.elapsed_ms) ? body.elapsed_ms : null,
    model: typeof body.model === "string" ? body.model : null,
    image,
  };
}

/** GET /api/v1/health → {status, model, charset_size} or null when unreachable. */
export async function health() {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 10000);
  try {
    const r = await fetch(apiUrl("/api/v1/health"), { signal: ctrl.signal, headers: { Accept: "application/json" } });
    if (!r.ok) return null;
    return await r.json();
  } catch (_) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
