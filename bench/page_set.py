"""Build the page-level evaluation set of screenshots, UI pages and their photos (deterministic by seed).

Subsets (``data/page_set/<subset>/<id>.png|jpg`` + ``<id>.json``; ``data/page_set/index.json``):

* ``doc_zh`` / ``doc_en`` - Chromium screenshots (1280 CSS px wide viewport, device scale
  1) of a window of 1000-1600 CSS px of an HTML documentation page shipped in a Debian
  package reserved for evaluation (``TEXT_SOURCES`` of ``bench/page_templates.py``:
  debian-faq-zh-cn, maint-guide-zh-cn, debian-reference-zh-cn / maint-guide,
  debian-policy; the same packages as the line-level set, fetched by
  ``bench.build_eval_set.fetch_sources``). The page's own CSS is inlined; on half of the
  pages the body font is replaced by an evaluation face (Kai, Ming, Song, Hei, URW
  serif/sans ...) and the size drawn from 14-18 px. The window starts at the top (a third
  of the pages) or at a seeded offset; its edges are moved into the gaps between lines so
  no line is cut. Images: small icons (admonition pictograms) are kept, pictures and
  diagrams (text with no DOM ground truth) are removed, as are forms and scripts;
  ordered-list numbers become text (the DOM has no text node for list markers).
* ``ui`` - self-made UI pages (``bench/page_templates.py``: invoices, receipts, chat
  screens, dark dashboards, settings lists, NOTE/WARNING callouts, ruled tables, forms),
  texts from the same evaluation-only docs plus generated amounts/dates/codes.
* ``photo`` - phone photos (``bench.capture.capture_page``: tilted pose with in-plane roll,
  lens, light with shadows, sensor noise, ISP, JPEG) of the first pages of ``doc_zh``,
  ``doc_en`` and ``ui``; ground-truth boxes mapped through the shot's geometry
  (``Capture.to_photo``) as quadrilaterals. Stored as JPEG (quality 95 re-encode of the
  capture's own JPEG output).

Ground truth per line comes from the DOM (``pruning.dataengine.html_pages.LINES_JS``: every
character's ``Range`` client rectangle, grouped into lines of one block box; measurement
code reused, not the training generator): ``text``, ``box`` (the union of the characters'
boxes, i.e. the font's ascent-descent extent of the line, like pdftotext's boxes in
``bench/page_eval.py``; what the metrics use) and ``ink`` (the ink extent inside it,
``html_pages.ink_box``), in image pixels (``quad``/``ink_quad`` on photos, ``box`` then being
the quad's bounds); lines are stored in reference reading order (``bench.page_eval.reading_order``).
Rendering uses the system fontconfig (the training one rejects the held-out faces).

    python -m bench.page_set                 # fetch sources if needed, build missing pages, sheets
    python -m bench.page_set --force         # rebuild everything
    python -m bench.page_set --sheets-only   # contact sheets reports/page_set/*.png
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import time
import zlib
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

from bench.page_eval import reading_order
from bench.page_templates import CJK_FONTS, LATIN_FONTS, TEXT_SOURCES, eval_texts, parse_html, ui_page

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "page_set"
SRC = REPO / "data" / "eval_src"
REPORT = REPO / "reports" / "page_set"
SET_VERSION = "v1"
SEED = 2026_1701
SUBSETS = {"doc_zh": 16, "doc_en": 16, "ui": 20, "photo": 16}
PHOTO_FROM = (("doc_zh", 4), ("doc_en", 4), ("ui", 8))   # the photo subset: first pages of these
DOC_WIDTH = 1280            # CSS px viewport
DOC_WINDOW = (1000, 1600)   # CSS px of the document captured
SLACK = 240                 # CSS px rendered beyond the window on each side (to find line gaps)
ICON_MAX_PX = 64            # images up to this size are icons (kept), larger ones removed
SYSTEM_FONTS_CONF = Path("/etc/fonts/fonts.conf")


def _seed(*parts) -> int:
    return zlib.crc32("/".join(str(p) for p in (SEED, *parts)).encode())


# --------------------------------------------------------------------------- Chromium

@contextlib.contextmanager
def eval_chromium():
    """``html_pages.ChromiumSession`` (DOM measurement reused from the data engine) with the
    system fontconfig instead of the training one (which rejects the held-out faces)."""
    from pruning.dataengine import html_pages  # noqa: PLC0415

    class _Session(html_pages.ChromiumSession):
        def _start(self):
            with mock.patch.object(html_pages, "fontconfig_file", lambda *a, **k: SYSTEM_FONTS_CONF):
                super()._start()

    s = _Session()
    try:
        yield s
    finally:
        s.close()


def chromium_missing_reason() -> str | None:
    from pruning.dataengine.html_pages import chromium_missing_reason as why  # noqa: PLC0415
    return why()


# --------------------------------------------------------------------------- documentation pages

def doc_sources(lang: str, src: Path = SRC) -> list[tuple[str, Path]]:
    """(package, html file) of every evaluation documentation page in ``lang`` (sorted)."""
    from pruning.evaluation.reserved import EVAL_SET_PACKAGES  # noqa: PLC0415

    out = []
    for pkg, pattern, lg in TEXT_SOURCES:
        if lg != lang:
            continue
        assert pkg in EVAL_SET_PACKAGES, pkg
        out += [(pkg, f) for f in sorted((src / "pkg" / pkg).glob(pattern)) if f.stat().st_size > 4000]
    return out


def ensure_sources(src: Path = SRC) -> None:
    if all(doc_sources(lang, src) for lang in ("zh", "en")):
        return
    from bench.build_eval_set import fetch_sources  # noqa: PLC0415 (apt-get download + dpkg -x)
    fetch_sources(src)


_LABEL_INTO = {"p", "div", "span", "a", "b", "strong", "em", "i"}
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?["']?([^"')]+)["']?\)?\s*;""")


def _inline_css(path: Path, depth: int = 0) -> str:
    if not path.exists() or depth > 3:
        return ""
    css = path.read_text(encoding="utf-8", errors="replace")
    css = _CSS_IMPORT.sub(lambda m: _inline_css(path.parent / m.group(1), depth + 1), css)
    return re.sub(r"url\((?!data:)[^)]*\)", "none", css)   # no external loads from about:blank


def prepare_doc_html(path: Path, rng, lang: str) -> tuple[str, dict]:
    """The page's HTML made self-contained for ``document.write`` (see the module doc)."""
    import lxml.html  # noqa: PLC0415

    root = parse_html(path)
    for bad in root.xpath("//script|//form|//input|//button|//select|//textarea|//iframe|//object|//embed|//noscript"):
        bad.drop_tree()
    css = []
    for link in root.xpath("//link"):
        if "stylesheet" in (link.get("rel") or "") and link.get("href"):
            css.append(_inline_css(path.parent / link.get("href")))
        link.drop_tree()
    for st in root.xpath("//style"):
        css.append(st.text or "")
        st.drop_tree()
    n_icons = 0
    for img in root.xpath("//img"):
        f = path.parent / (img.get("src") or "")
        im = cv2.imread(str(f), cv2.IMREAD_UNCHANGED) if f.is_file() else None
        if im is None or max(im.shape[:2]) > ICON_MAX_PX:
            img.drop_tree()   # pictures/diagrams carry text without DOM ground truth
            continue
        ok, buf = cv2.imencode(".png", im)
        img.set("src", "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode())
        img.attrib.pop("alt", None)
        n_icons += 1
    for ol in root.xpath("//ol"):   # list numbers as text (markers have no text node)
        start = int(ol.get("start", "1")) if (ol.get("start") or "1").isdigit() else 1
        typ = ol.get("type", "1")
        ol.set("style", (ol.get("style") or "") + ";list-style:none")
        for k, li in enumerate(ol.xpath("./li")):
            n = start + k
            label = {"a": chr(ord("a") + (n - 1) % 26), "A": chr(ord("A") + (n - 1) % 26)}.get(typ, str(n))
            target = li   # the first text-bearing element (an <li> often wraps a <p>)
            while not (target.text or "").strip() and len(target) and target[0].tag in _LABEL_INTO:
                target = target[0]
            target.text = f"{label}. " + (target.text or "").lstrip()
    style = {"font": None, "size": None}
    extra = ["pre{white-space:pre-wrap !important;overflow-wrap:anywhere}",
             "body{overflow-wrap:anywhere}", "*{animation:none !important;transition:none !important}"]
    if rng.random() < 0.5:
        face = str(rng.choice(CJK_FONTS if lang == "zh" else LATIN_FONTS))
        size = int(rng.integers(14, 19))
        fams = f"'{face}'" + ("" if lang == "zh" else ", 'Noto Sans CJK SC'")
        extra.append(f"body{{font-family:{fams} !important;font-size:{size}px !important}}"
                     f" p,li,dd,dt,td,th,h1,h2,h3,h4,h5,div,span,a,em,b,strong{{font-family:{fams} !important}}")
        mono = "'DejaVu Sans Mono', 'Noto Sans Mono CJK SC'"
        extra.append(f"pre,pre *,code,code *,tt,tt *,kbd,samp,.literal,.literal *{{font-family:{mono} !important}}")
        style = {"font": face, "size": size}
    head = root.find("head")
    if head is None:
        head = lxml.html.Element("head")
        root.insert(0, head)
    for tag in head.xpath("./meta"):
        tag.drop_tree()
    meta = lxml.html.Element("meta", charset="utf-8")
    head.insert(0, meta)
    el = lxml.html.Element("style")
    el.text = "\n".join(css + extra)
    head.append(el)
    html = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    style["icons"] = n_icons
    return html, style


def _shifted(html: str, shift: int) -> str:
    """The document moved up by ``shift`` CSS px (relative positioning: layout unchanged)."""
    rule = f"<style>body{{position:relative !important;top:-{shift}px !important}}</style>"
    i = html.lower().rfind("</head>")
    return html[:i] + rule + html[i:] if i >= 0 else rule + html


def _gap_at(boxes: np.ndarray, y: float) -> bool:
    return not bool(((boxes[:, 1] < y - 0.01) & (boxes[:, 3] > y + 0.01)).any()) if len(boxes) else True


def window_rows(lines: list[dict], height: int, top: float, bottom: float, doc_end: bool) -> tuple[int, int]:
    """Rows (t, b) of a window near [top, bottom) whose edges cut no line: t moves down and b up
    to the nearest gap between line boxes (DOM and ink). ``doc_end``: the render reached the
    end of the document, so b may be the image bottom."""
    boxes = np.array([ln["box"] for ln in lines] + [ln["ink"] for ln in lines], np.float64).reshape(-1, 4)
    t = 0
    if top > 0:
        t = next((y for y in range(int(top), int(top) + SLACK) if _gap_at(boxes, y)), int(top))
    if doc_end and bottom >= height:
        b = height
    else:
        b0 = min(int(bottom), height)
        b = next((y for y in range(b0, max(t + 1, b0 - SLACK), -1) if _gap_at(boxes, y)), b0)
    return t, b


def _lines_in(info_lines: list[dict], t: int, b: int, scale: float = 1.0) -> list[dict]:
    out = []
    for ln in info_lines:
        dom, ink = ln["box"], ln["ink"]
        if dom[1] < t - 0.01 or dom[3] > b + 0.01 or ink[1] < t or ink[3] > b:
            continue
        sh = lambda q: [round(q[0], 2), round(q[1] - t, 2), round(q[2], 2), round(q[3] - t, 2)]  # noqa: E731
        out.append({"text": ln["text"], "box": sh(dom), "ink": sh(ink), "fs": ln.get("fs")})
    return out


def _ordered(lines: list[dict]) -> list[dict]:
    order = reading_order([ln["box"] for ln in lines])
    return [lines[i] for i in order]


def render_doc_page(session, pkg: str, path: Path, seed: int, lang: str, src: Path = SRC) -> tuple[np.ndarray, dict]:
    """A window of the documentation page ``path`` (see the module doc): (BGR image, meta with lines)."""
    rng = np.random.default_rng(seed)
    html, style = prepare_doc_html(path, rng, lang)
    window = int(rng.integers(*DOC_WINDOW))
    from_top = rng.random() < 0.35
    u = rng.random()
    _, info = session.render(_shifted(html, 0), DOC_WIDTH, 1.0, max_height=32)     # the document's height
    full = int(info["height"])
    y0 = 0 if from_top or full <= window else int(u * (full - window))
    shift = max(0, y0 - SLACK)
    max_h = window + (y0 - shift) + SLACK
    img, info = session.render(_shifted(html, shift), DOC_WIDTH, 1.0, max_height=max_h)
    doc_end = shift + img.shape[0] >= full - 1
    t, b = window_rows(info["lines"], img.shape[0], y0 - shift, y0 - shift + window, doc_end)
    meta = {"kind": "doc", "lang": lang,
            "source": {"package": pkg, "file": str(path.relative_to(src / "pkg" / pkg)), "offset_css": shift + t,
                       "document_height_css": full},
            "style": style, "dpr": 1.0, "tags": ["doc"] + (["icons"] if style["icons"] else [])}
    return img[t:b].copy(), {**meta, "lines": _ordered(_lines_in(info["lines"], t, b))}


def render_ui_page(session, seed: int, template: str | None = None, dark: bool | None = None,
                   texts=None) -> tuple[np.ndarray, dict]:
    """The UI page of ``seed`` (``bench.page_templates.ui_page``): (BGR image, meta with lines)."""
    page = ui_page(seed, texts or eval_texts(), template, dark)
    img, info = session.render(page.html, page.width, page.dpr)
    from pruning.dataengine.html_pages import MAX_DEVICE_H  # noqa: PLC0415
    capped = info["height"] > int(MAX_DEVICE_H / page.dpr)
    t, b = window_rows(info["lines"], img.shape[0], 0, img.shape[0], not capped)
    meta = {"kind": "ui", "lang": page.style["lang"], "source": {"template": page.template, "seed": seed},
            "style": page.style, "dpr": page.dpr,
            "tags": ["ui", page.template] + [t for t in page.tags if t != page.template]}
    return img[t:b].copy(), {**meta, "lines": _ordered(_lines_in(info["lines"], t, b))}


# --------------------------------------------------------------------------- photos

def photo_variant(img: np.ndarray, meta: dict, seed: int) -> tuple[np.ndarray, dict]:
    """A phone photo of a page (``bench.capture.capture_page``) with its GT mapped as quads."""
    from bench.capture import capture_page  # noqa: PLC0415

    line_px = float(np.median([ln["box"][3] - ln["box"][1] for ln in meta["lines"]])) if meta["lines"] else 20.0
    photo, cap = capture_page(img, seed, line_px)

    def quad(b):
        x0, y0, x1, y1 = b
        return cap.to_photo([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])

    lines = []
    for ln in meta["lines"]:
        q = quad(ln["box"])
        lines.append({"text": ln["text"], "quad": np.round(q, 2).tolist(),
                      "box": [round(float(q[:, 0].min()), 2), round(float(q[:, 1].min()), 2),
                              round(float(q[:, 0].max()), 2), round(float(q[:, 1].max()), 2)],
                      "ink_quad": np.round(quad(ln["ink"]), 2).tolist(), "page_box": ln["box"]})
    p = cap.params
    tags = ["photo", f"photo_{meta['kind']}"]
    tags.append("photo_uneven_light" if p.get("shadow") else "photo_even_light")   # the phone/hand shadow
    tags.append("photo_strong_tilt" if p.get("tilt_deg", 0) >= 15 else "photo_mild_tilt")
    if p.get("defocus_max_px", 0) >= 1.0 or p.get("shake"):
        tags.append("photo_blur")
    if p.get("jpeg_q", 100) < 60:
        tags.append("photo_low_jpeg")
    out = {k: v for k, v in meta.items() if k in ("kind", "lang", "source", "style", "dpr")}
    out["source_size"] = [int(img.shape[1]), int(img.shape[0])]
    out.update(tags=tags, source_tags=meta["tags"], capture={k: (float(v) if isinstance(v, np.floating) else v)
                                                              for k, v in p.items()},
               line_px_page=round(line_px, 2), lines=lines)
    return photo, out


# --------------------------------------------------------------------------- the set

def load_page(subset: str, pid: str, root: Path = OUT) -> tuple[bytes, dict]:
    """(image bytes, meta with lines) of a stored page."""
    d = root / subset
    meta = json.loads((d / f"{pid}.json").read_text(encoding="utf-8"))
    return (d / meta["image"]).read_bytes(), meta


def list_pages(root: Path = OUT) -> list[tuple[str, str]]:
    idx = root / "index.json"
    if not idx.exists():
        raise FileNotFoundError(f"{idx} missing: build the set with `python -m bench.page_set`")
    return [(p["subset"], p["id"]) for p in json.loads(idx.read_text())["pages"]]


def _write(subset: str, pid: str, img: np.ndarray, meta: dict, root: Path, jpeg: bool = False) -> None:
    d = root / subset
    d.mkdir(parents=True, exist_ok=True)
    ext = ".jpg" if jpeg else ".png"
    ok, buf = cv2.imencode(ext, img, [cv2.IMWRITE_JPEG_QUALITY, 95] if jpeg else [cv2.IMWRITE_PNG_COMPRESSION, 6])
    assert ok
    (d / f"{pid}{ext}").write_bytes(buf.tobytes())
    base = {"id": pid, "subset": subset, "version": SET_VERSION, "image": f"{pid}{ext}",
            "width": int(img.shape[1]), "height": int(img.shape[0])}
    meta = {**base, **{k: v for k, v in meta.items() if k not in base}}
    (d / f"{pid}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=None) + "\n", encoding="utf-8")


def doc_plan(lang: str, n: int, src: Path = SRC) -> list[tuple[str, Path, int]]:
    """n (package, file, seed) picks, spread over the packages (round robin), files by hash."""
    files = doc_sources(lang, src)
    by_pkg: dict[str, list[Path]] = {}
    for pkg, f in files:
        by_pkg.setdefault(pkg, []).append(f)
    for pkg in by_pkg:
        by_pkg[pkg].sort(key=lambda f: zlib.crc32(f"{SEED}/{f.name}".encode()))
    pkgs = sorted(by_pkg)
    out, k = [], 0
    while len(out) < n:
        pkg = pkgs[k % len(pkgs)]
        lst = by_pkg[pkg]
        f = lst[(k // len(pkgs)) % len(lst)]
        out.append((pkg, f, _seed("doc", lang, k)))
        k += 1
    return out


def build(subsets=tuple(SUBSETS), counts: dict | None = None, root: Path = OUT, force: bool = False,
          verbose: bool = True) -> list[dict]:
    """Build the (missing, or all with ``force``) pages of ``subsets`` (``photo`` also needs the
    first pages of the subsets in ``PHOTO_FROM``); returns the index of every stored page."""
    counts = {**SUBSETS, **(counts or {})}
    ensure_sources()
    t0 = time.perf_counter()

    def todo(subset, pid, requested):
        return (force and requested) or not (root / subset / f"{pid}.json").exists()

    def log(subset, pid, meta):
        if verbose:
            print(f"  {subset:7s} {pid} lines={len(meta['lines']):3d} {' '.join(meta['tags'])}  "
                  f"[{time.perf_counter() - t0:.0f} s]", flush=True)

    need = {s: (counts[s] if s in subsets else 0) for s in ("doc_zh", "doc_en", "ui")}
    if "photo" in subsets:
        for s, m in PHOTO_FROM:
            need[s] = max(need[s], m)
    with eval_chromium() as session:
        for subset, n in need.items():
            for k in range(n):
                pid = f"{k:03d}"
                if not todo(subset, pid, subset in subsets):
                    continue
                if subset == "ui":
                    img, meta = render_ui_page(session, _seed("ui", k), *_ui_template(k))
                else:
                    lang = subset[-2:]
                    pkg, f, seed = doc_plan(lang, k + 1)[k]
                    img, meta = render_doc_page(session, pkg, f, seed, lang)
                _write(subset, pid, img, meta, root)
                log(subset, pid, meta)
    if "photo" in subsets:
        plan = [(s, f"{k:03d}") for s, m in PHOTO_FROM for k in range(m)]
        for k, (s, spid) in enumerate(plan[:counts["photo"]]):
            pid = f"{k:03d}"
            if not todo("photo", pid, True):
                continue
            data, meta = load_page(s, spid, root)
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            photo, pmeta = photo_variant(img, meta, _seed("photo", s, spid))
            pmeta["source"] = {**pmeta["source"], "page": f"{s}/{spid}"}
            _write("photo", pid, photo, pmeta, root, jpeg=True)
            log("photo", pid, pmeta)
    return scan(root, counts)


def scan(root: Path = OUT, counts: dict | None = None) -> list[dict]:
    """Index rows of the stored pages (up to ``counts`` per subset)."""
    counts = {**SUBSETS, **(counts or {})}
    index = []
    for subset, n in counts.items():
        for k in range(n):
            p = root / subset / f"{k:03d}.json"
            if p.exists():
                meta = json.loads(p.read_text(encoding="utf-8"))
                index.append({"subset": subset, "id": meta["id"], "lines": len(meta["lines"]), "tags": meta["tags"]})
    return index


def _ui_template(k: int) -> tuple[str, bool]:
    """(template, dark) of UI page k: the pages cycle through the templates (so each appears)
    in a seeded order, light themes on the first cycle, dark on the second, then light
    (templates with a fixed theme keep theirs)."""
    from bench.page_templates import TEMPLATES  # noqa: PLC0415
    names = sorted(TEMPLATES)
    perm = np.random.default_rng(_seed("ui-order")).permutation(len(names))
    return names[int(perm[k % len(names)])], (k // len(names)) % 2 == 1


def write_index(index: list[dict], root: Path = OUT) -> Path:
    p = root / "index.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"version": SET_VERSION, "seed": SEED, "pages": index}, ensure_ascii=False, indent=1)
                 + "\n")
    return p


# --------------------------------------------------------------------------- contact sheets

def _draw_gt(img: np.ndarray, meta: dict, scale: float, thick: int = 1) -> np.ndarray:
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for ln in meta["lines"]:
        q = np.array(ln.get("quad") or [[ln["box"][0], ln["box"][1]], [ln["box"][2], ln["box"][1]],
                                         [ln["box"][2], ln["box"][3]], [ln["box"][0], ln["box"][3]]], np.float64)
        cv2.polylines(small, [np.round(q * scale).astype(np.int32)], True, (0, 0, 255), thick, cv2.LINE_AA)
    return small


def _save_sheet(path: Path, img: np.ndarray, colors: int) -> None:
    """A small PNG: the sheet reduced to a palette of ``colors``."""
    from PIL import Image  # noqa: PLC0415
    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    pil.save(path, optimize=True)


def contact_sheets(root: Path = OUT, out: Path = REPORT, thumb_w: int = 200, cols: int = 6) -> list[Path]:
    """Per subset: thumbnails with GT boxes (red); plus ``detail_<subset>.png``: full-resolution
    excerpts of a few pages, to check that the boxes sit on the text."""
    out.mkdir(parents=True, exist_ok=True)
    pages = list_pages(root)
    written = []
    for subset in SUBSETS:
        ids = [pid for s, pid in pages if s == subset]
        if not ids:
            continue
        thumbs, details = [], []
        for i, pid in enumerate(ids):
            data, meta = load_page(subset, pid, root)
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            t = _draw_gt(img, meta, thumb_w / img.shape[1])
            t = t[: int(thumb_w * 1.5)]
            cv2.putText(t, f"{subset}/{pid}", (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 0, 200), 1, cv2.LINE_AA)
            thumbs.append(t)
            if i < 4 and meta["lines"]:
                ln = meta["lines"][len(meta["lines"]) // 2]
                cx, cy = int((ln["box"][0] + ln["box"][2]) / 2), int((ln["box"][1] + ln["box"][3]) / 2)
                full = _draw_gt(img, meta, 1.0)
                x0 = int(np.clip(min(ln["box"][0], cx - 230), 0, max(0, full.shape[1] - 460)))
                y0 = int(np.clip(cy - 120, 0, max(0, full.shape[0] - 240)))
                ex = full[y0:y0 + 240, x0:x0 + 460]
                ex = cv2.copyMakeBorder(ex, 0, 240 - ex.shape[0], 0, 460 - ex.shape[1], cv2.BORDER_CONSTANT,
                                        value=(128, 128, 128))
                details.append(ex)
        h = max(t.shape[0] for t in thumbs)
        thumbs = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(90, 90, 90))
                  for t in thumbs]
        blank = np.full((h, thumb_w, 3), 90, np.uint8)
        rows = [np.hstack(thumbs[i:i + cols] + [blank] * (cols - len(thumbs[i:i + cols])))
                for i in range(0, len(thumbs), cols)]
        sheet = np.vstack(rows)
        p = out / f"{subset}.png"
        _save_sheet(p, sheet, 48 if subset == "photo" else 32)
        written.append(p)
        if details:
            blank = np.full((240, 460, 3), 128, np.uint8)
            grid = np.vstack([np.hstack(details[i:i + 2] + [blank] * (2 - len(details[i:i + 2])))
                              for i in range(0, len(details), 2)])
            p = out / f"detail_{subset}.png"
            _save_sheet(p, grid, 64)
            written.append(p)
    return written


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subsets", default=",".join(SUBSETS), help="comma-separated subsets")
    ap.add_argument("--force", action="store_true", help="rebuild pages that exist")
    ap.add_argument("--sheets-only", action="store_true")
    ap.add_argument("--no-sheets", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not args.sheets_only:
        why = chromium_missing_reason()
        if why:
            raise SystemExit(f"page_set needs Chromium: {why} (make setup-bench)")
        subsets = tuple(s for s in args.subsets.split(",") if s)
        t0 = time.perf_counter()
        index = build(subsets, force=args.force, verbose=not args.quiet)
        p = write_index(index)
        n_lines = sum(r["lines"] for r in index)
        print(f"{len(index)} pages, {n_lines} lines in {time.perf_counter() - t0:.0f} s -> {p}")
    if not args.no_sheets:
        for p in contact_sheets():
            print(f"wrote {p.relative_to(REPO)} ({p.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
