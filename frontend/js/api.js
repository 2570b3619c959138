// Talking to the Slim OCR API: POST /predict and GET /api/v1/health.
// The base URL comes from window.SLIM_OCR_CONFIG (frontend/config.js).

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
 * Send `file` to POST /predict. Resolves to {result, roundTripMs}; rejects with OcrError.
 * `signal` lets a newer upload cancel this one (an AbortError is rethrown as is).
 */
export async function predict(file, { mode = "auto", signal } = {}) {
  const cfg = getConfig();
  const form = new FormData();
  form.append("image", file, file.name || "image");
  if (mode && mode !== "auto") form.append("mode", mode);

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), cfg.requestTimeoutMs);
  const onAbort = () => timeout.abort();
  if (signal) signal.addEventListener("abort", onAbort, { once: true });

  const started = performance.now();
  let response;
  try {
    response = await fetch(apiUrl("/predict"), {
      method: "POST",
      body: form,
      signal: timeout.signal,
      headers: { Accept: "application/json" },
    });
  } catch (e) {
    if (signal && signal.aborted) throw new DOMException("superseded", "AbortError");
    if (timeout.signal.aborted) throw new OcrError({ key: "err.timeout" });
    throw new OcrError({ key: "err.network", serverMessage: String(e && e.message ? e.message : e) });
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onAbort);
  }

  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  const roundTripMs = performance.now() - started;
  if (signal && signal.aborted) throw new DOMException("superseded", "AbortError");

  if (!response.ok || !body || body.success === false) {
    throw errorFromResponse(response.ok ? 500 : response.status, body);
  }
  if (!Array.isArray(body.lines)) {
    throw new OcrError({ key: "err.bad_response", params: { status: response.status }, status: response.status });
  }
  return { result: normaliseResult(body), roundTripMs };
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
