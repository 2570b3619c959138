// UI strings in English and Simplified Chinese, plus the language toggle.
// Static text in index.html carries data-i18n="key" (textContent) or
// data-i18n-attr="attr:key;attr2:key2" (attributes); dynamic text is produced
// with t(key, params) and re-rendered by the app when the language changes.

const STORAGE_KEY = "slimOcr.lang";
export const LANGS = ["en", "zh"];

const STRINGS = {
  en: {
    "doc.title": "Slim OCR — read text from images",
    "app.tagline": "Read Chinese & English text from images and PDFs",
    "a11y.skip": "Skip to content",
    "lang.toggle": "中文",
    "lang.toggleLabel": "切换到中文 (Switch to Chinese)",
    "image.heading": "Image",
    "result.heading": "Result",
    "drop.title": "Drop an image or PDF here",
    "drop.or": "or",
    "drop.choose": "Choose a file",
    "drop.paste": "You can also paste an image with {key}",
    "drop.hint": "PNG, JPEG, WebP, BMP, TIFF or PDF · up to {max}\u00a0MB",
    "drop.overlay": "Drop the file to read its text",
    "file.inputLabel": "Image or PDF file to recognise",
    "mode.legend": "Layout",
    "mode.auto": "Auto",
    "mode.line": "Single line",
    "mode.page": "Page",
    "mode.autoHint": "Auto: detect whether the image is one line or a page",
    "btn.recognise": "Recognise",
    "btn.recogniseAgain": "Recognise again",
    "btn.replace": "Another file",
    "btn.copy": "Copy",
    "btn.copied": "Copied",
    "btn.copyFailed": "Copy failed",
    "btn.download": "Download .txt",
    "btn.stop": "Stop",
    "btn.downloadAll": "All pages .txt",
    "btn.downloadPdf": "Searchable PDF",
    "doc.thumbsLabel": "Pages",
    "doc.resultsLabel": "Results per page",
    "doc.progressLabel": "Pages read",
    "doc.pageCount": "{n} pages",
    "doc.pageCountOne": "1 page",
    "doc.pdfFailed": "The searchable PDF could not be made: {message}",
    "page.title": "Page {n}",
    "page.heading": "Page {n} of {count}",
    "page.thumbLabel": "Page {n}: {state}",
    "page.queued": "Waiting",
    "page.busy": "Reading…",
    "page.error": "Failed",
    "page.stopped": "Not read",
    "page.lines": "{n} lines",
    "page.linesOne": "1 line",
    "page.textLayer": "Embedded text",
    "page.noText": "No text was found on this page.",
    "preview.label": "Preview of {name}. Recognised lines are outlined; click a box to select its line.",
    "preview.unavailable": "Your browser can't preview this file type, but it can still be recognised.",
    "preview.boxesNote": "Line boxes are drawn on a blank page because this format can't be previewed.",
    "status.idle": "Choose, drop or paste an image to get started.",
    "status.ready": "Ready. Press “Recognise” to read the text.",
    "status.uploading": "Uploading and recognising…",
    "status.done": "Found {n} lines.",
    "status.doneOne": "Found 1 line.",
    "status.doneNone": "No text was found in this image.",
    "status.docOpening": "Opening the document…",
    "status.docReading": "Recognising page {i} of {n}…",
    "status.docDone": "Read all {n} pages: {lines} lines.",
    "status.docDoneOne": "Read the page: {lines} lines.",
    "status.docPartial": "Read {done} of {n} pages; {failed} failed.",
    "status.docStopped": "Stopped: {done} of {n} pages read.",
    "status.error": "Something went wrong",
    "text.label": "Recognised text",
    "text.editable": "(editable)",
    "text.placeholder": "The recognised text will appear here.",
    "lines.heading": "Lines",
    "lines.empty": "No lines yet.",
    "lines.item": "Line {i}: {text}. Confidence {conf}.",
    "lines.confidence": "Confidence",
    "lines.emptyText": "(empty)",
    "stats.server": "Server time",
    "stats.roundTrip": "Round trip",
    "stats.lines": "Lines",
    "stats.meanConfidence": "Confidence",
    "stats.meanConfidenceHint": "Average confidence of all lines",
    "legend.high": "high confidence",
    "legend.mid": "medium",
    "legend.low": "low",
    "footer.model": "Model: {model}",
    "footer.charset": "{n} characters",
    "footer.checking": "Connecting to the OCR service…",
    "footer.offline": "OCR service not reachable",
    "footer.privacy": "Your image is sent only to the OCR service configured for this page.",
    "err.client_type": "This file type isn't supported ({type}). Please use a PNG, JPEG, WebP, BMP or TIFF image, or a PDF.",
    "err.client_size": "The file is too large ({size}). The maximum is {max}\u00a0MB.",
    "err.client_empty": "The file is empty.",
    "err.image_too_large": "The image is too large (max {max}\u00a0MB).",
    "err.unsupported_media_type": "This file type isn't supported. Please use a PNG, JPEG, WebP, BMP or TIFF image, or a PDF.",
    "err.invalid_image": "This file could not be read as an image. It may be damaged or not an image at all.",
    "err.invalid_base64": "The image data could not be decoded. Please try uploading it again.",
    "err.validation_error": "The request was incomplete or invalid (was an image attached?).",
    "err.missing_image": "No image was received by the server. Please try again.",
    "err.rate_limited": "Too many requests right now. Please wait a moment and try again.",
    "err.busy": "The OCR service is busy. Please try again in a few seconds.",
    "err.invalid_document": "This document could not be read. It may be damaged.",
    "err.encrypted_document": "This PDF is password-protected. Remove the password and try again.",
    "err.too_many_pages": "Too many pages for one request (long documents go through the API's batch mode).",
    "err.invalid_pages": "That page is not in this document.",
    "err.timeout": "The server took too long to answer. Please try again, perhaps with a smaller image.",
    "err.network": "Could not reach the OCR service. Check your connection and try again.",
    "err.server": "The OCR service had a problem (HTTP {status}). Please try again later.",
    "err.bad_response": "The OCR service sent an unexpected answer (HTTP {status}).",
    "err.server_message": "The OCR service said: {message}",
    "err.unknown": "Something went wrong. Please try again.",
    "err.details": "Details: {details}",
    "copy.failed": "Copy failed — select the text and copy it manually.",
    "unit.ms": "{v} ms",
    "unit.s": "{v} s",
  },
  zh: {
    "doc.title": "Slim OCR — 图片文字识别",
    "app.tagline": "识别图片和 PDF 中的中文和英文文字",
    "a11y.skip": "跳到主要内容",
    "lang.toggle": "EN",
    "lang.toggleLabel": "Switch to English（切换到英文）",
    "image.heading": "图片",
    "result.heading": "识别结果",
    "drop.title": "把图片或 PDF 拖到这里",
    "drop.or": "或",
    "drop.choose": "选择文件",
    "drop.paste": "也可以用 {key} 粘贴图片",
    "drop.hint": "支持 PNG、JPEG、WebP、BMP、TIFF、PDF · 最大 {max}\u00a0MB",
    "drop.overlay": "松开鼠标即可识别文件中的文字",
    "file.inputLabel": "要识别的图片或 PDF 文件",
    "mode.legend": "版式",
    "mode.auto": "自动",
    "mode.line": "单行",
    "mode.page": "整页",
    "mode.autoHint": "自动：判断图片是单行文字还是整页",
    "btn.recognise": "开始识别",
    "btn.recogniseAgain": "重新识别",
    "btn.replace": "换一个文件",
    "btn.copy": "复制",
    "btn.copied": "已复制",
    "btn.copyFailed": "复制失败",
    "btn.download": "下载 .txt",
    "btn.stop": "停止",
    "btn.downloadAll": "全部页面 .txt",
    "btn.downloadPdf": "可搜索 PDF",
    "doc.thumbsLabel": "页面",
    "doc.resultsLabel": "各页结果",
    "doc.progressLabel": "已识别的页数",
    "doc.pageCount": "共 {n} 页",
    "doc.pageCountOne": "共 1 页",
    "doc.pdfFailed": "无法生成可搜索 PDF：{message}",
    "page.title": "第 {n} 页",
    "page.heading": "第 {n} 页，共 {count} 页",
    "page.thumbLabel": "第 {n} 页：{state}",
    "page.queued": "等待中",
    "page.busy": "识别中…",
    "page.error": "失败",
    "page.stopped": "未识别",
    "page.lines": "{n} 行",
    "page.linesOne": "1 行",
    "page.textLayer": "自带文字层",
    "page.noText": "这一页没有找到文字。",
    "preview.label": "{name} 的预览。识别出的每一行都有框标出，点击方框可选中对应的行。",
    "preview.unavailable": "浏览器无法预览此格式，但仍可以识别。",
    "preview.boxesNote": "此格式无法预览，因此在空白页上画出各行的位置。",
    "status.idle": "选择、拖入或粘贴一张图片即可开始。",
    "status.ready": "已就绪，点击“开始识别”读取文字。",
    "status.uploading": "正在上传并识别…",
    "status.done": "共识别出 {n} 行。",
    "status.doneOne": "共识别出 1 行。",
    "status.doneNone": "这张图片中没有找到文字。",
    "status.docOpening": "正在打开文档…",
    "status.docReading": "正在识别第 {i} 页（共 {n} 页）…",
    "status.docDone": "全部 {n} 页已识别，共 {lines} 行。",
    "status.docDoneOne": "已识别这一页，共 {lines} 行。",
    "status.docPartial": "已识别 {done} / {n} 页，{failed} 页失败。",
    "status.docStopped": "已停止：识别了 {done} / {n} 页。",
    "status.error": "出错了",
    "text.label": "识别出的文字",
    "text.editable": "（可编辑）",
    "text.placeholder": "识别出的文字会显示在这里。",
    "lines.heading": "逐行结果",
    "lines.empty": "暂无结果。",
    "lines.item": "第 {i} 行：{text}。置信度 {conf}。",
    "lines.confidence": "置信度",
    "lines.emptyText": "（空）",
    "stats.server": "服务器用时",
    "stats.roundTrip": "往返用时",
    "stats.lines": "行数",
    "stats.meanConfidence": "平均置信度",
    "stats.meanConfidenceHint": "所有行置信度的平均值",
    "legend.high": "置信度高",
    "legend.mid": "中",
    "legend.low": "低",
    "footer.model": "模型：{model}",
    "footer.charset": "{n} 个字符",
    "footer.checking": "正在连接识别服务…",
    "footer.offline": "无法连接识别服务",
    "footer.privacy": "图片只会发送到本页面配置的识别服务。",
    "err.client_type": "不支持此文件类型（{type}）。请使用 PNG、JPEG、WebP、BMP、TIFF 图片或 PDF。",
    "err.client_size": "文件太大（{size}），最大 {max} MB。",
    "err.client_empty": "文件是空的。",
    "err.image_too_large": "图片太大（最大 {max} MB）。",
    "err.unsupported_media_type": "不支持此文件类型。请使用 PNG、JPEG、WebP、BMP、TIFF 图片或 PDF。",
    "err.invalid_image": "无法把这个文件当作图片读取，文件可能已损坏，或者根本不是图片。",
    "err.invalid_base64": "图片数据无法解码，请重新上传。",
    "err.validation_error": "请求不完整或无效（是否附上了图片？）。",
    "err.missing_image": "服务器没有收到图片，请重试。",
    "err.rate_limited": "请求太频繁，请稍后再试。",
    "err.busy": "识别服务正忙，请几秒后重试。",
    "err.invalid_document": "无法读取这个文档，文件可能已损坏。",
    "err.encrypted_document": "这个 PDF 有密码保护，请去掉密码后重试。",
    "err.too_many_pages": "一次请求的页数太多（长文档请使用 API 的批量模式）。",
    "err.invalid_pages": "文档中没有这一页。",
    "err.timeout": "服务器响应超时，请重试，或换一张较小的图片。",
    "err.network": "无法连接识别服务，请检查网络后重试。",
    "err.server": "识别服务出现问题（HTTP {status}），请稍后再试。",
    "err.bad_response": "识别服务返回了无法理解的结果（HTTP {status}）。",
    "err.server_message": "识别服务返回：{message}",
    "err.unknown": "出错了，请重试。",
    "err.details": "详细信息：{details}",
    "copy.failed": "复制失败，请手动选中文字后复制。",
    "unit.ms": "{v} 毫秒",
    "unit.s": "{v} 秒",
  },
};

let current = initialLang();
const listeners = new Set();

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch (_) {
    /* localStorage may be unavailable (private mode, file://) */
  }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function getLang() {
  return current;
}

export function has(key) {
  return key in STRINGS.en;
}

/** Translate `key`, replacing {name} placeholders with params[name]. */
export function t(key, params = {}) {
  const table = STRINGS[current] || STRINGS.en;
  const template = table[key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch (_) {
    /* ignore */
  }
  applyStatic(document);
  listeners.forEach((fn) => fn(lang));
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** Fill every data-i18n / data-i18n-attr element under `root`. */
export function applyStatic(root) {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.title = t("doc.title");
  const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  const params = { max: maxMbLabel(), key: isMac ? "⌘V" : "Ctrl+V" };
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n, params);
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((el) => {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key, params));
    }
  });
}

let maxMb = 6;
export function setMaxMb(mb) {
  maxMb = mb;
}
export function maxMbLabel() {
  return Number.isInteger(maxMb) ? String(maxMb) : maxMb.toFixed(1);
}
