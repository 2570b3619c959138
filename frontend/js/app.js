// Slim OCR page: wiring of upload (drop / pick / paste), preview, recognition and results.
// States (on <body data-state>): idle → busy → done | error.
// A PDF or multi-page TIFF is a document (state.doc, js/document.js): thumbnails, then one request
// per page; the preview, stats, text and lines show the selected page (state.page).

import { t, getLang, setLang, onLangChange, applyStatic, setMaxMb } from "./i18n.js";
import { getConfig, predict, health, OcrError } from "./api.js";
import { validateFile, formatBytes, mayHavePages, ACCEPT_ATTR } from "./validate.js";
import { Preview, decodeImage, loadImage, confidenceLevel } from "./preview.js";
import { DocumentRun } from "./document.js";
import { renderThumbs, renderPageResults } from "./pages-view.js";

const $ = (id) => document.getElementById(id);
const el = {
  body: document.body,
  fileInput: $("file-input"),
  chooseBtn: $("choose-btn"),
  replaceBtn: $("replace-btn"),
  recogniseBtn: $("recognise-btn"),
  recogniseLabel: $("recognise-label"),
  dropzone: $("dropzone"),
  dropOverlay: $("drop-overlay"),
  previewWrap: $("preview-wrap"),
  previewNote: $("preview-note"),
  previewPlaceholder: $("preview-placeholder"),
  canvas: $("preview"),
  controls: $("controls"),
  fileMeta: $("file-meta"),
  resultCard: $("result-card"),
  status: $("status"),
  statusText: $("status-text"),
  errorBox: $("error-box"),
  errorMessage: $("error-message"),
  errorDetails: $("error-details"),
  stats: $("stats"),
  statServer: $("stat-server"),
  statRoundTrip: $("stat-roundtrip"),
  statLines: $("stat-lines"),
  statConfidence: $("stat-confidence"),
  text: $("result-text"),
  copyBtn: $("copy-btn"),
  copyLabel: $("copy-label"),
  downloadBtn: $("download-btn"),
  lines: $("lines"),
  linesEmpty: $("lines-empty"),
  langToggle: $("lang-toggle"),
  health: $("health"),
  healthText: $("health-text"),
  announce: $("sr-announce"),
  thumbs: $("thumbs"),
  docBar: $("doc-bar"),
  docProgress: $("doc-progress"),
  stopBtn: $("stop-btn"),
  docTxtBtn: $("doc-txt-btn"),
  pdfBtn: $("pdf-btn"),
  docNote: $("doc-note"),
  pageResults: $("page-results"),
  pageHeading: $("page-heading"),
};

const state = {
  phase: "idle", // idle | busy | done | error
  file: null,
  source: null, // decoded preview image, or null when the browser can't decode it
  result: null,
  roundTripMs: null,
  error: null, // OcrError
  selected: -1,
  controller: null,
  health: undefined, // undefined: checking, null: unreachable, object: ok
  doc: null, // DocumentRun for a PDF / multi-page TIFF
  page: 0, // the document page shown (1-based)
  pdfController: null, // the searchable-PDF request in flight
  pdfError: null,
};

const preview = new Preview(el.canvas, { onSelect: (i, from) => selectLine(i, from) });

// ---------------------------------------------------------------- rendering

function setPhase(phase) {
  state.phase = phase;
  el.body.dataset.state = phase;
  const busy = phase === "busy";
  el.recogniseBtn.disabled = busy || !state.file;
  el.recogniseBtn.setAttribute("aria-busy", String(busy));
  el.resultCard.setAttribute("aria-busy", String(busy));
  el.previewWrap.classList.toggle("is-busy", busy);
  document.querySelectorAll('input[name="mode"]').forEach((r) => { r.disabled = busy; });
  render();
}

function render() {
  const { phase, file, result, error } = state;
  const hasFile = Boolean(file);

  el.dropzone.hidden = hasFile;
  el.previewWrap.hidden = !hasFile;
  el.controls.hidden = !hasFile;
  el.replaceBtn.hidden = !hasFile;
  el.fileMeta.textContent = hasFile ? fileMetaText() : "";
  const again = result || phase === "error" || (state.doc && phase === "done");
  el.recogniseLabel.textContent = t(again ? "btn.recogniseAgain" : "btn.recognise");
  el.canvas.setAttribute("aria-label", hasFile ? t("preview.label", { name: file.name || "image" }) : "");

  // Formats the browser can't draw (e.g. TIFF, or a file that is not an image at all):
  // a placeholder until the server answers, then the boxes on a blank page.
  const undecodable = hasFile && !state.source;
  const opening = Boolean(state.doc && !state.doc.pageCount);
  el.previewPlaceholder.hidden = !(undecodable && !result) || opening;
  el.canvas.hidden = undecodable && !result;
  el.previewNote.hidden = !(undecodable && result);
  el.previewNote.textContent = undecodable && result ? t("preview.boxesNote") : "";

  // Status line
  let statusKey = "status.idle";
  let params = {};
  if (state.doc && (phase === "busy" || phase === "done")) [statusKey, params] = documentStatus(state.doc);
  else if (phase === "busy") statusKey = "status.uploading";
  else if (phase === "done") {
    const n = result.lines.length;
    statusKey = n === 0 ? "status.doneNone" : n === 1 ? "status.doneOne" : "status.done";
    params = { n: result.lines.length };
  } else if (phase === "error") statusKey = null;
  else if (hasFile) statusKey = "status.ready";
  el.status.hidden = statusKey === null;
  el.statusText.textContent = statusKey ? t(statusKey, params) : "";

  // Error
  el.errorBox.hidden = phase !== "error";
  if (phase === "error" && error) {
    el.errorMessage.textContent = error instanceof OcrError ? error.friendly() : t("err.unknown");
    const details = error instanceof OcrError ? error.details() : String(error);
    el.errorDetails.textContent = details ? t("err.details", { details }) : "";
    el.errorDetails.hidden = !details;
  }

  // Stats
  el.stats.hidden = !result;
  if (result) {
    el.statServer.textContent = result.elapsedMs != null ? formatMs(result.elapsedMs) : "–";
    el.statRoundTrip.textContent = state.roundTripMs != null ? formatMs(state.roundTripMs) : "–";
    el.statLines.textContent = String(result.lines.length);
    const confs = result.lines.map((l) => l.confidence).filter((c) => c != null);
    el.statConfidence.textContent = confs.length
      ? `${Math.round((confs.reduce((a, b) => a + b, 0) / confs.length) * 100)}%`
      : "–";
  }

  renderLines();
  const hasText = el.text.value.length > 0;
  el.copyBtn.disabled = !hasText;
  el.downloadBtn.disabled = !hasText;
  renderDocument();
  renderHealth();
}

/** The thumbnails, per-page results, progress and document buttons (hidden for single images). */
function renderDocument() {
  const run = state.doc && state.doc.pageCount ? state.doc : null;
  for (const part of [el.thumbs, el.docBar, el.pageResults, el.pageHeading]) part.hidden = !run;
  el.downloadBtn.hidden = Boolean(run); // a document's text is downloaded with all its pages
  if (!run) return;
  renderThumbs(el.thumbs, run.pages, state.page, showPage);
  renderPageResults(el.pageResults, run.pages, state.page, showPage);
  el.docProgress.max = run.pageCount;
  el.docProgress.value = run.pages.filter((p) => p.status === "done" || p.status === "error").length;
  el.stopBtn.hidden = !run.reading;
  const readable = !run.reading && run.done.length > 0;
  el.docTxtBtn.disabled = !readable;
  el.pdfBtn.disabled = !readable || Boolean(state.pdfController);
  el.pdfBtn.setAttribute("aria-busy", String(Boolean(state.pdfController)));
  el.docNote.hidden = !state.pdfError;
  el.docNote.textContent = state.pdfError ? t("doc.pdfFailed", { message: state.pdfError.friendly() }) : "";
  el.pageHeading.textContent = t("page.heading", { n: state.page, count: run.pageCount });
}

/** [i18n key, params] of the status line while a document is read, and after. */
function documentStatus(run) {
  const n = run.pageCount;
  const busy = run.pages.find((p) => p.status === "busy");
  if (!n || (run.reading && !busy)) return ["status.docOpening", {}];
  if (busy) return ["status.docReading", { i: busy.number, n }];
  const done = run.done.length;
  const failed = run.pages.filter((p) => p.status === "error").length;
  if (run.pages.some((p) => p.status === "stopped")) return ["status.docStopped", { done, n }];
  if (failed) return ["status.docPartial", { done, n, failed }];
  const lines = run.done.reduce((sum, p) => sum + p.result.lines.length, 0);
  return [n === 1 ? "status.docDoneOne" : "status.docDone", { n, lines }];
}

function renderLines() {
  const lines = state.result ? state.result.lines : [];
  el.lines.replaceChildren(
    ...lines.map((line, i) => {
      const li = document.createElement("li");
      const level = confidenceLevel(line.confidence);
      li.className = `line level-${level}`;
      li.dataset.index = String(i);
      if (line.box) li.dataset.box = JSON.stringify(line.box);
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "line-btn";
      btn.setAttribute("aria-pressed", String(i === state.selected));
      const conf = line.confidence != null ? `${Math.round(line.confidence * 100)}%` : "–";
      btn.setAttribute("aria-label", t("lines.item", { i: i + 1, text: line.text || t("lines.emptyText"), conf }));

      const no = document.createElement("span");
      no.className = "line-no";
      no.textContent = String(i + 1);
      const text = document.createElement("span");
      text.className = "line-text";
      text.textContent = line.text || t("lines.emptyText");
      if (!line.text) text.classList.add("is-empty");
      const confWrap = document.createElement("span");
      confWrap.className = "line-conf";
      confWrap.title = t("lines.confidence");
      const bar = document.createElement("span");
      bar.className = "conf-bar";
      const fill = document.createElement("span");
      fill.className = "conf-fill";
      fill.style.width = line.confidence != null ? `${Math.max(4, Math.round(line.confidence * 100))}%` : "0";
      bar.append(fill);
      const val = document.createElement("span");
      val.className = "conf-val";
      val.textContent = conf;
      confWrap.append(bar, val);
      btn.append(no, text, confWrap);
      btn.addEventListener("click", () => selectLine(i, "list"));
      li.append(btn);
      if (i === state.selected) li.classList.add("is-selected");
      return li;
    }),
  );
  el.linesEmpty.hidden = lines.length > 0;
}

function renderHealth() {
  const h = state.health;
  if (h === undefined) {
    el.health.dataset.health = "checking";
    el.healthText.textContent = t("footer.checking");
  } else if (h === null) {
    el.health.dataset.health = "down";
    el.healthText.textContent = t("footer.offline");
  } else {
    el.health.dataset.health = "ok";
    const parts = [t("footer.model", { model: h.model || "?" })];
    if (Number.isFinite(h.charset_size)) parts.push(t("footer.charset", { n: h.charset_size.toLocaleString() }));
    el.healthText.textContent = parts.join(" · ");
  }
}

function fileMetaText() {
  const parts = [state.file.name || "image", formatBytes(state.file.size)];
  const n = state.doc ? state.doc.pageCount : 0;
  const size = state.source || (state.result && state.result.image);
  if (n) parts.push(t(n === 1 ? "doc.pageCountOne" : "doc.pageCount", { n }));
  else if (size) parts.push(`${size.width} × ${size.height}`);
  return parts.join(" · ");
}

function formatMs(ms) {
  if (ms < 1000) return t("unit.ms", { v: ms < 10 ? ms.toFixed(1) : Math.round(ms) });
  return t("unit.s", { v: (ms / 1000).toFixed(2) });
}

// ---------------------------------------------------------------- selection

function selectLine(i, from) {
  if (!state.result || i < 0 || i >= state.result.lines.length) return;
  state.selected = i;
  preview.select(i);
  el.lines.querySelectorAll("li").forEach((li) => {
    const on = Number(li.dataset.index) === i;
    li.classList.toggle("is-selected", on);
    li.querySelector("button").setAttribute("aria-pressed", String(on));
  });
  const li = el.lines.querySelector(`li[data-index="${i}"]`);
  if (li && from !== "list") li.scrollIntoView({ block: "nearest", behavior: "smooth" });
  if (li && from === "keyboard") {
    // Tell screen-reader users which line the arrow keys moved to.
    el.announce.textContent = li.querySelector("button").getAttribute("aria-label");
  }
  selectInTextarea(i);
}

/** Highlight the selected line's text in the textarea too (when the text is unedited). */
function selectInTextarea(i) {
  const { result } = state;
  if (!result || el.text.value !== result.text) return;
  const parts = result.text.split("\n");
  if (parts.length !== result.lines.length) return;
  let start = 0;
  for (let k = 0; k < i; k += 1) start += parts[k].length + 1;
  const end = start + parts[i].length;
  el.text.setSelectionRange(start, end);
  // Scroll the textarea so the selected line is visible.
  const lineHeight = parseFloat(getComputedStyle(el.text).lineHeight) || 20;
  const top = i * lineHeight;
  if (top < el.text.scrollTop || top > el.text.scrollTop + el.text.clientHeight - lineHeight) {
    el.text.scrollTop = Math.max(0, top - lineHeight);
  }
}

// ---------------------------------------------------------------- actions

async function acceptFile(file) {
  if (!file) return;
  if (state.controller) state.controller.abort();
  if (state.doc) state.doc.stop();
  if (state.pdfController) state.pdfController.abort();
  state.controller = null;
  state.doc = null;
  state.page = 0;
  state.pdfError = null;
  state.result = null;
  state.roundTripMs = null;
  state.selected = -1;
  state.error = null;
  el.text.value = "";

  try {
    validateFile(file, getConfig().maxUploadMB);
  } catch (err) {
    // Rejected before upload: back to an empty image panel, with the reason.
    state.file = null;
    state.source = null;
    preview.setImage(null);
    state.error = err;
    setPhase("error");
    revealResult();
    return;
  }

  state.file = file;
  state.source = null;
  preview.setImage(null);
  if (mayHavePages(file)) await openDocument(file);
  else await openImage(file);
}

async function openImage(file) {
  state.source = await decodeImage(file);
  if (state.file !== file) return; // a newer file arrived while decoding
  preview.setImage(state.source);
  await recognise({ replacing: true });
}

/** A PDF or TIFF: its page count and first thumbnail, then the other thumbnails, then every page. */
async function openDocument(file) {
  const run = new DocumentRun(file, () => {
    if (state.doc === run) onDocumentChange();
  });
  state.doc = run;
  setPhase("busy");
  try {
    await run.open();
  } catch (err) {
    if (state.doc === run && !isAbort(err)) {
      state.doc = null;
      fail(err);
    }
    return;
  }
  if (state.doc !== run) return;
  if (run.format === "tiff" && run.pageCount === 1) {
    state.doc = null; // a one-page TIFF is an image, read as before
    await openImage(file);
    return;
  }
  await showPage(1);
  await run.loadThumbnails();
  if (state.doc === run) await readDocument();
}

async function readDocument() {
  const run = state.doc;
  state.error = null;
  state.pdfError = null;
  setPhase("busy");
  await run.read(currentMode());
  if (state.doc !== run) return;
  setPhase("done");
  revealResult();
}

function onDocumentChange() {
  const page = state.doc.pages[state.page - 1];
  if (page && page.result !== state.result) showResult(page);
  if (page && page.thumb && !state.source) showPage(page.number); // its thumbnail just arrived
  render();
}

/** Show page `number` of the document: its thumbnail in the preview, its result. */
async function showPage(number) {
  const run = state.doc;
  const page = run && run.pages[number - 1];
  if (!page) return;
  state.page = number;
  if (page.thumb && !page.image) page.image = loadImage(page.thumb.url);
  const image = page.thumb ? await page.image : null;
  if (state.doc !== run || state.page !== number) return; // another page or file meanwhile
  state.source = image;
  const size = page.result ? page.result.image : page.thumb;
  preview.setImage(image, size && size.width > 0 ? { width: size.width, height: size.height } : null);
  showResult(page);
  render();
}

function showResult(page) {
  state.result = page.result;
  state.roundTripMs = page.roundTripMs;
  state.selected = -1;
  el.text.value = page.result ? page.result.text : "";
  if (page.result) preview.setLines(page.result.lines, page.result.image);
  else preview.clearLines();
}

function currentMode() {
  return (document.querySelector('input[name="mode"]:checked') || {}).value || "auto";
}

function isAbort(err) {
  return Boolean(err && err.name === "AbortError");
}

function asOcrError(err) {
  return err instanceof OcrError ? err : new OcrError({ key: "err.unknown", serverMessage: String(err) });
}

function fail(err) {
  state.error = asOcrError(err);
  setPhase("error");
  revealResult();
}

async function recognise({ replacing = false } = {}) {
  const file = state.file;
  if (!file || (state.phase === "busy" && !replacing)) return;
  if (state.doc) {
    await readDocument();
    return;
  }
  const controller = new AbortController();
  state.controller = controller;
  state.error = null;
  state.result = null;
  state.selected = -1;
  el.text.value = "";
  preview.clearLines();
  setPhase("busy");

  const mode = currentMode();
  try {
    const { result, roundTripMs } = await predict(file, { mode, signal: controller.signal });
    if (state.controller !== controller) return;
    state.result = result;
    state.roundTripMs = roundTripMs;
    el.text.value = result.text;
    preview.setLines(result.lines, result.image);
    setPhase("done");
  } catch (err) {
    if (err && err.name === "AbortError") return; // superseded by a newer upload
    if (state.controller !== controller) return;
    state.error = asOcrError(err);
    setPhase("error");
  } finally {
    if (state.controller === controller) state.controller = null;
  }
  revealResult();
}

/** On narrow screens the result sits below the image: bring the outcome into view. */
function revealResult() {
  if (!window.matchMedia("(max-width: 860px)").matches) return;
  const target = state.phase === "error" ? el.errorBox : el.status;
  const rect = target.getBoundingClientRect();
  if (rect.top < 0 || rect.bottom > window.innerHeight) {
    target.scrollIntoView({ block: "center", behavior: "smooth" });
  }
}

async function copyText() {
  const text = el.text.value;
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (_) {
    ok = false;
  }
  if (!ok) {
    el.text.focus();
    el.text.select();
    try {
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
  }
  el.copyLabel.textContent = t(ok ? "btn.copied" : "btn.copyFailed");
  el.copyBtn.classList.toggle("is-done", ok);
  el.announce.textContent = t(ok ? "btn.copied" : "copy.failed");
  clearTimeout(copyText.timer);
  copyText.timer = setTimeout(() => {
    el.copyLabel.textContent = t("btn.copy");
    el.copyBtn.classList.remove("is-done");
  }, 1600);
}

function baseName() {
  return (state.file && state.file.name ? state.file.name.replace(/\.[^.]+$/, "") : "slim-ocr") || "slim-ocr";
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function downloadText() {
  saveBlob(new Blob([el.text.value], { type: "text/plain;charset=utf-8" }), `${baseName()}.txt`);
}

/** Every page read, in order, pages separated by form feeds (as the API's format=text). */
function downloadDocumentText() {
  if (!state.doc) return;
  saveBlob(new Blob([state.doc.text()], { type: "text/plain;charset=utf-8" }), `${baseName()}.txt`);
}

/** The searchable PDF of the pages read (format=pdf: the server reads them again). */
async function downloadPdf() {
  const run = state.doc;
  if (!run || state.pdfController) return;
  const controller = new AbortController();
  state.pdfController = controller;
  state.pdfError = null;
  render();
  try {
    const blob = await run.pdf(controller.signal);
    if (state.doc === run) saveBlob(blob, `${baseName()}.searchable.pdf`);
  } catch (err) {
    if (!isAbort(err) && state.doc === run) {
      state.pdfError = asOcrError(err);
    }
  } finally {
    if (state.pdfController === controller) state.pdfController = null;
    render();
  }
}

// ---------------------------------------------------------------- input sources

function firstImageFile(dataTransfer) {
  if (!dataTransfer) return null;
  const files = Array.from(dataTransfer.files || []);
  if (files.length) return files[0];
  for (const item of Array.from(dataTransfer.items || [])) {
    if (item.kind === "file") {
      const f = item.getAsFile();
      if (f) return f;
    }
  }
  return null;
}

function hasFiles(e) {
  return e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
}

function setupDragAndDrop() {
  let depth = 0;
  const show = (on) => {
    el.dropOverlay.hidden = !on;
    el.body.classList.toggle("is-dragging", on);
  };
  window.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    show(true);
  });
  window.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  window.addEventListener("dragleave", (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) show(false);
  });
  window.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    show(false);
    acceptFile(firstImageFile(e.dataTransfer));
  });
}

function setupPaste() {
  window.addEventListener("paste", (e) => {
    const cd = e.clipboardData;
    if (!cd) return;
    const items = Array.from(cd.items || []);
    const imageItem = items.find((it) => it.kind === "file" && it.type.startsWith("image/"));
    const file = imageItem ? imageItem.getAsFile() : (cd.files && cd.files[0]) || null;
    if (!file) return; // plain text paste (e.g. into the textarea) keeps its default behaviour
    e.preventDefault();
    const named = file.name && file.name !== "image.png"
      ? file
      : new File([file], `pasted-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-")}.${(file.type.split("/")[1] || "png").replace("jpeg", "jpg")}`, { type: file.type });
    acceptFile(named);
  });
}

// ---------------------------------------------------------------- init

function init() {
  const cfg = getConfig();
  setMaxMb(cfg.maxUploadMB);
  el.fileInput.accept = ACCEPT_ATTR;
  applyStatic(document);

  const openPicker = () => el.fileInput.click();
  el.chooseBtn.addEventListener("click", (e) => {
    e.stopPropagation();
    openPicker();
  });
  el.dropzone.addEventListener("click", openPicker);
  el.replaceBtn.addEventListener("click", openPicker);
  el.fileInput.addEventListener("change", () => {
    const file = el.fileInput.files && el.fileInput.files[0];
    el.fileInput.value = ""; // picking the same file again still fires "change"
    acceptFile(file);
  });
  el.recogniseBtn.addEventListener("click", () => recognise());
  el.copyBtn.addEventListener("click", copyText);
  el.downloadBtn.addEventListener("click", downloadText);
  el.docTxtBtn.addEventListener("click", downloadDocumentText);
  el.pdfBtn.addEventListener("click", downloadPdf);
  el.stopBtn.addEventListener("click", () => state.doc && state.doc.stop());
  el.text.addEventListener("input", () => {
    const hasText = el.text.value.length > 0;
    el.copyBtn.disabled = !hasText;
    el.downloadBtn.disabled = !hasText;
  });
  el.langToggle.addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
  onLangChange(() => render());
  window.addEventListener("resize", () => preview.draw());

  setupDragAndDrop();
  setupPaste();
  setPhase("idle");

  health().then((h) => {
    state.health = h;
    renderHealth();
  });
  document.documentElement.dataset.ready = "true";
}

init();
