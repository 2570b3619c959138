// A PDF or multi-page TIFF, read page by page: first the page count and thumbnails
// (format=thumbnails: no OCR, drawn by the server since browsers can't draw TIFF), then one
// /predict request per page (pages=N). Each request stays far under API Gateway's 29 s, progress
// is per page, and a page's error leaves the other pages' results alone. No DOM here: the app
// renders `pages` whenever `onChange` fires.

import { pageThumbnails, predictPage, searchablePdf } from "./api.js";

// Pages per thumbnails request: the API's SYNC_MAX_PAGES (pages per request).
const THUMBNAIL_BATCH = 25;

const isAbort = (err) => err && err.name === "AbortError";

/** [1, 2, 3, 5] → "1-3,5" (the API's page-range syntax). */
export function pageSpec(numbers) {
  const parts = [];
  for (let i = 0; i < numbers.length; i += 1) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j += 1;
    parts.push(j > i ? `${numbers[i]}-${numbers[j]}` : String(numbers[i]));
    i = j;
  }
  return parts.join(",");
}

export class DocumentRun {
  constructor(file, onChange) {
    this.file = file;
    this.onChange = onChange;
    this.format = "";
    this.pages = []; // {number, status: queued|busy|done|error|stopped, thumb, result, roundTripMs, error}
    this.mode = "auto"; // of the last read; the searchable PDF is made the same way
    this.controller = null;
    this.stopped = false;
    this.reading = false;
  }

  get pageCount() {
    return this.pages.length;
  }

  /** Page count and the first thumbnail; rejects with OcrError when the file can't be read. */
  async open() {
    const first = await this.request((signal) => pageThumbnails(this.file, "1", { signal }));
    this.format = first.format;
    this.pages = Array.from({ length: first.pageCount }, (_, i) => ({
      number: i + 1, status: "queued", thumb: null, result: null, roundTripMs: null, error: null,
    }));
    this.addThumbnails(first.pages);
  }

  /** The other pages' thumbnails, in batches; a failed batch leaves its pages without a picture. */
  async loadThumbnails() {
    for (let lo = 2; lo <= this.pageCount && !this.stopped; lo += THUMBNAIL_BATCH) {
      const spec = `${lo}-${Math.min(this.pageCount, lo + THUMBNAIL_BATCH - 1)}`;
      try {
        this.addThumbnails((await this.request((signal) => pageThumbnails(this.file, spec, { signal }))).pages);
      } catch (err) {
        if (isAbort(err)) return;
      }
    }
  }

  addThumbnails(thumbs) {
    for (const thumb of thumbs) {
      const page = this.pages[thumb.number - 1];
      if (page) page.thumb = thumb;
    }
    this.onChange();
  }

  /** OCR every page in order, one request each; resolves when all are read or on stop(). */
  async read(mode) {
    this.mode = mode;
    this.stopped = false;
    this.reading = true;
    this.pages.forEach((p) => Object.assign(p, { status: "queued", result: null, roundTripMs: null, error: null }));
    this.onChange();
    for (const page of this.pages) {
      if (this.stopped) break;
      page.status = "busy";
      this.onChange();
      try {
        const send = (signal) => predictPage(this.file, page.number, { mode, signal });
        const { result, roundTripMs } = await this.request(send);
        Object.assign(page, { status: "done", result, roundTripMs });
      } catch (err) {
        if (isAbort(err)) break;
        Object.assign(page, { status: "error", error: err });
      }
      this.onChange();
    }
    this.pages.forEach((p) => {
      if (p.status === "queued" || p.status === "busy") p.status = "stopped";
    });
    this.reading = false;
    this.onChange();
  }

  /** Cancel the request in flight and read no further pages. */
  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  get done() {
    return this.pages.filter((p) => p.status === "done");
  }

  /** The text of the pages read, in page order, separated by form feeds (as the API's format=text). */
  text() {
    return this.done.map((p) => p.result.text).join("\f");
  }

  /** The searchable PDF of the pages read (the whole document when every page was). */
  pdf(signal) {
    const numbers = this.done.map((p) => p.number);
    const pages = numbers.length === this.pageCount ? null : pageSpec(numbers);
    return searchablePdf(this.file, pages, { mode: this.mode, signal });
  }

  request(send) {
    const controller = new AbortController();
    this.controller = controller;
    return send(controller.signal).finally(() => {
      if (this.controller === controller) this.controller = null;
    });
  }
}
