// A document's pages on the page: the thumbnail strip (left) and the per-page results (right).
// Items are made once per document and updated in place, so thumbnails don't flicker while
// results arrive.

import { t } from "./i18n.js";
import { OcrError } from "./api.js";

/** The page's state in words: waiting, reading, "5 lines", embedded text, failed, not read. */
export function pageStateText(page) {
  if (page.status === "done") {
    if (page.result.ocr === false) return t("page.textLayer");
    const n = page.result.lines.length;
    return t(n === 1 ? "page.linesOne" : "page.lines", { n });
  }
  return t(`page.${page.status}`);
}

function errorText(err) {
  if (!(err instanceof OcrError)) return t("err.unknown");
  const details = err.details();
  return details ? `${err.friendly()} ${t("err.details", { details })}` : err.friendly();
}

/** A page's list item holding the button that selects the page: [li, button]. */
function pageItem(page, itemClass, buttonClass, onSelect) {
  const li = document.createElement("li");
  li.className = itemClass;
  li.dataset.page = String(page.number);
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = buttonClass;
  btn.addEventListener("click", () => onSelect(page.number));
  li.append(btn);
  return [li, btn];
}

function syncList(list, pages, make) {
  if (list.children.length !== pages.length || pages.some((p, i) => list.children[i].dataset.page !== String(p.number))) {
    list.replaceChildren(...pages.map(make));
  }
}

// ---------------------------------------------------------------- thumbnails

function makeThumb(page, onSelect) {
  const [li, btn] = pageItem(page, "thumb", "thumb-btn", onSelect);
  const img = document.createElement("img");
  img.alt = "";
  img.decoding = "async";
  const no = document.createElement("span");
  no.className = "thumb-no";
  no.textContent = String(page.number);
  btn.append(img, no);
  return li;
}

export function renderThumbs(list, pages, selected, onSelect) {
  syncList(list, pages, (p) => makeThumb(p, onSelect));
  pages.forEach((page, i) => {
    const li = list.children[i];
    li.dataset.status = page.status;
    const btn = li.firstElementChild;
    btn.setAttribute("aria-pressed", String(page.number === selected));
    btn.setAttribute("aria-label", t("page.thumbLabel", { n: page.number, state: pageStateText(page) }));
    btn.title = btn.getAttribute("aria-label");
    const img = btn.querySelector("img");
    if (page.thumb && img.getAttribute("src") !== page.thumb.url) img.src = page.thumb.url;
  });
}

// ---------------------------------------------------------------- per-page results

function makeResult(page, onSelect) {
  const [li, head] = pageItem(page, "page-result", "page-head", onSelect);
  const title = document.createElement("span");
  title.className = "page-title";
  const state = document.createElement("span");
  state.className = "page-state";
  head.append(title, state);
  const body = document.createElement("p");
  body.className = "page-text";
  li.append(body);
  return li;
}

export function renderPageResults(list, pages, selected, onSelect) {
  syncList(list, pages, (p) => makeResult(p, onSelect));
  pages.forEach((page, i) => {
    const li = list.children[i];
    li.dataset.status = page.status;
    li.classList.toggle("is-selected", page.number === selected);
    const head = li.firstElementChild;
    head.setAttribute("aria-pressed", String(page.number === selected));
    head.querySelector(".page-title").textContent = t("page.title", { n: page.number });
    head.querySelector(".page-state").textContent = pageStateText(page);
    const body = li.lastElementChild;
    const text = page.status === "done" ? page.result.text : page.status === "error" ? errorText(page.error) : "";
    body.classList.toggle("page-error", page.status === "error");
    body.hidden = !text && page.status !== "done";
    body.textContent = page.status === "done" && !text ? t("page.noText") : text;
    body.classList.toggle("is-empty", page.status === "done" && !text);
  });
}
