"""Build the real-document evaluation set ``data/eval/`` (deterministic; a few minutes).

Sources are documents typeset by others and shipped in Debian packages (never used
by the training corpus, see ``check_no_corpus_overlap``):

* Chinese: maint-guide-zh-cn, debian-reference-zh-cn (shipped PDFs), debian-faq-zh-cn
  (its shipped PDF is a one-page stub, so its HTML pages are printed to PDF with
  headless Debian chromium);
* English: maint-guide, debian-policy, linuxcnc-doc-en (shipped PDFs).

Pipeline: ``apt-get download`` + ``dpkg -x`` into ``data/eval_src/`` -> PDF pages
rendered with ``pdftoppm`` at 100/150/200 dpi (one dpi per page, chosen by hash) ->
line boxes and ground truth from ``pdftotext -bbox-layout`` -> lines longer than
40 characters cut at word (Latin) or character (CJK) boundaries into 2-40 character
segments -> ground truth normalised with the service's normaliser (lines with
characters outside the charset are dropped) -> crops with a small margin, checked
against the pixels (sane height, ink present, ink spans the box) -> up to ``--cap``
lines per language sampled deterministically across documents and pages -> a
"photo" variant of every line with seeded camera-like degradation of the crop -> a
"capture" variant of every line: its whole page photographed by a simulated phone
(``bench/capture.py``: pose, lens, light, sensor, ISP, JPEG; seeded per page), the line's
ground-truth box mapped through the same geometry and cut loosely as a detector would.

Output: ``data/eval/{clean,photo,capture}/{zh,en}/NNNNN.png``, ``data/eval/labels.jsonl``,
contact sheets in ``data/eval/sheets/`` to look at, a few page photos in
``data/eval/capture_pages/``, and (``main`` only) ``reports/eval_set/`` sheets of the capture
variant. The clean and photo variants do not depend on the capture variant.

    python -m bench.build_eval_set            # fetch sources if needed, build
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import shutil
import subprocess
import time
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
from slim_ocr.charset import load_charset

from . import capture as camera

SRC = REPO / "data" / "eval_src"
OUT = REPO / "data" / "eval"
REPORT = REPO / "reports" / "eval_set"
VARIANTS = ("clean", "photo", "capture")
DPIS = (100, 150, 200)
MIN_CHARS, MAX_CHARS = 2, 40
SEED = 20240607


@dataclass(frozen=True)
class Doc:
    name: str          # Debian binary package
    lang: str          # the document's language (zh|en)
    pdfs: tuple = ()   # shipped PDFs (optionally .gz), relative to the package root
    html: tuple = ()   # HTML pages to print with chromium (globs)


DOCS = (
    Doc("maint-guide-zh-cn", "zh", pdfs=("usr/share/doc/maint-guide-zh-cn/maint-guide.zh-cn.pdf",)),
    Doc("debian-reference-zh-cn", "zh", pdfs=("usr/share/debian-reference/debian-reference.zh-cn.pdf",)),
    Doc("debian-faq-zh-cn", "zh", html=("usr/share/doc/debian/FAQ/zh-cn/*.zh-cn.html",)),
    Doc("maint-guide", "en", pdfs=("usr/share/doc/maint-guide/maint-guide.en.pdf",)),
    Doc("debian-policy", "en", pdfs=("usr/share/doc/debian-policy/policy.pdf.gz",)),
    Doc("linuxcnc-doc-en", "en", pdfs=(
        "usr/share/doc/linuxcnc/LinuxCNC_Getting_Started.pdf",
        "usr/share/doc/linuxcnc/LinuxCNC_Integrator.pdf",
        "usr/share/doc/linuxcnc/LinuxCNC_Developer.pdf",
    )),
)
EVAL_PACKAGES = tuple(d.name for d in DOCS)

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]


def check_no_corpus_overlap() -> None:
    """The evaluation documents must never be training-corpus sources."""
    import pruning.training.corpus as corpus  # noqa: PLC0415
    from pruning.evaluation.reserved import is_reserved  # noqa: PLC0415
    assert not set(EVAL_PACKAGES) & set(corpus.ZH_PACKAGES + corpus.EN_PACKAGES), "eval docs overlap the corpus"
    unlisted = [p for p in EVAL_PACKAGES if not is_reserved(p)]
    assert not unlisted, f"evaluation packages missing from pruning.evaluation.reserved: {unlisted}"


# --------------------------------------------------------------------------- sources

def fetch_sources(src: Path = SRC) -> None:
    """apt-get download + dpkg -x every evaluation package (skipped when present)."""
    debs = src / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [d.name for d in DOCS if not list(debs.glob(f"{d.name}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    for d in DOCS:
        root = src / "pkg" / d.name
        if not root.exists():
            deb = sorted(debs.glob(f"{d.name}_*.deb"))[-1]
            root.parent.mkdir(parents=True, exist_ok=True)  # dpkg -x makes only the last level
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)


def doc_pdfs(doc: Doc, src: Path = SRC) -> list[Path]:
    """The PDFs of a document under data/eval_src/pdf/<doc>/ (gunzipped / printed once)."""
    root, out = src / "pkg" / doc.name, src / "pdf" / doc.name
    out.mkdir(parents=True, exist_ok=True)
    pdfs = []
    for rel in doc.pdfs:
        p = root / rel
        dst = out / p.name.removesuffix(".gz")
        if not dst.exists():
            if p.suffix == ".gz":
                with gzip.open(p, "rb") as f:
                    dst.write_bytes(f.read())
            else:
                shutil.copyfile(p, dst)
        pdfs.append(dst)
    for pattern in doc.html:
        for page in sorted(root.glob(pattern)):
            if page.name.startswith("index."):
                continue  # table of contents only
            dst = out / (page.name.split(".")[0] + ".pdf")
            if not dst.exists():
                chrome = shutil.which("chromium") or shutil.which("chromium-browser")
                if chrome is None:
                    raise SystemExit("chromium is needed to print HTML pages: apt-get install chromium")
                subprocess.run([chrome, *CHROMIUM_FLAGS, f"--print-to-pdf={dst}", page.as_uri()],
                               check=True, capture_output=True, timeout=180)
            pdfs.append(dst)
    return pdfs


# --------------------------------------------------------------------------- text layer

@dataclass
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Page:
    number: int  # 1-based
    width: float
    height: float
    lines: list[list[Word]] = field(default_factory=list)


def parse_bbox_xhtml(xhtml: str | bytes) -> list[Page]:
    """Parse ``pdftotext -bbox-layout`` output into pages of lines of words (PDF points)."""
    if isinstance(xhtml, str):
        xhtml = xhtml.encode("utf-8")
    root = ET.fromstring(xhtml)
    pages = []
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] != "page":
            continue
        page = Page(len(pages) + 1, float(el.get("width")), float(el.get("height")))
        for line in el.iter():
            if line.tag.rsplit("}", 1)[-1] != "line":
                continue
            words = [Word(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")),
                          float(w.get("yMax")), w.text or "")
                     for w in line if w.tag.rsplit("}", 1)[-1] == "word"]
            words = [w for w in words if w.text.strip()]
            if words:
                page.lines.append(words)
        pages.append(page)
    return pages


def text_layer(pdf: Path, src: Path = SRC) -> list[Page]:
    cache = src / "bbox" / pdf.parent.name / (pdf.stem + ".xhtml")
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftotext", "-bbox-layout", str(pdf), str(cache)], check=True)
    return parse_bbox_xhtml(cache.read_bytes())


def _wide(text: str) -> bool:
    return all(unicodedata.east_asian_width(c) in "WF" for c in text)


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"


def line_segments(words: list[Word], seed: int) -> list[tuple[tuple[float, float, float, float], tuple[float, float], str]]:
    """Cut one text line into segments of at most MAX_CHARS characters.

    Cuts fall between words, or between the characters of an all-full-width (CJK)
    word, whose glyph cells are equal; never across a gap wider than 1.2 line
    heights (table columns). Returns [(box, (left_room, right_room), raw_text)]: box
    in points, room = free space to the neighbouring ink on each side.
    """
    y0 = min(w.y0 for w in words)
    y1 = max(w.y1 for w in words)
    lh = y1 - y0
    # tokens: (x0, x1, text, joins_previous_without_space)
    toks: list[tuple[float, float, str, bool]] = []
    for w in words:
        t = w.text
        if len(t) > 1 and _wide(t):
            step = (w.x1 - w.x0) / len(t)
            toks.extend((w.x0 + i * step, w.x0 + (i + 1) * step, c, i > 0) for i, c in enumerate(t))
        else:
            toks.append((w.x0, w.x1, t, False))
    rng = np.random.default_rng(seed)
    segs = []
    i = 0
    while i < len(toks):
        target = int(rng.integers(6, MAX_CHARS + 1))
        j, text = i + 1, toks[i][2]
        while j < len(toks):
            if toks[j][0] - toks[j - 1][1] > 1.2 * lh:
                break
            # no space inside a split CJK word, nor between two CJK words (letter-spaced
            # justified Chinese is split into words by the text layer, but has no spaces)
            glue = toks[j][3] or (_wide(text[-1]) and _wide(toks[j][2][0]))
            nxt = text + ("" if glue else " ") + toks[j][2]
            if len(nxt) > target:
                break
            text, j = nxt, j + 1
        left = toks[i][0] - toks[i - 1][1] if i > 0 else lh
        right = toks[j][0] - toks[j - 1][1] if j < len(toks) else lh
        segs.append(((toks[i][0], y0, toks[j - 1][1], y1), (max(0.0, left), max(0.0, right)), text))
        i = j
    return segs


_LEADERS = re.compile(r"\.\s?\.\s?\.|…{2,}")  # dot leaders (their count is ambiguous)
# "5.14.5.5Motion": table-of-contents number glued to its title by the text layer
_GLUED_NUMBER = re.compile(r"^\d+(\.\d+)+[^\d\s.]")


def classify(text: str) -> str:
    """zh (Chinese-dominant) when CJK characters are at least 30% of the non-space
    characters (a Hanzi carries more than a Latin letter), else en (English/mixed)."""
    chars = [c for c in text if not c.isspace()]
    cjk = sum(_is_cjk(c) for c in chars)
    return "zh" if chars and cjk / len(chars) >= 0.3 else "en"


def clean_text(raw: str, cs) -> str | None:
    """Normalised ground truth, or None when the line is unusable."""
    if any(not cs.normalize(c) for c in raw if not c.isspace()):
        return None  # a character outside the charset would be dropped
    text = cs.normalize(raw)
    if not MIN_CHARS <= len(text) <= MAX_CHARS or _LEADERS.search(text) or _GLUED_NUMBER.search(text):
        return None
    if not any(c.isalpha() for c in text):  # page numbers, bare section numbers
        return None
    return text


@dataclass
class Candidate:
    doc: str
    pdf: str
    page: int
    line: int
    box: tuple  # points
    room: tuple
    text: str
    lang: str

    @property
    def key(self) -> str:
        return f"{self.doc}/{self.pdf}/{self.page}/{self.line}"


def page_dpi(doc: str, pdf: str, page: int) -> int:
    return DPIS[zlib.crc32(f"{doc}/{pdf}/{page}".encode()) % len(DPIS)]


def candidates(doc: Doc, cs, src: Path = SRC) -> list[Candidate]:
    out = []
    for pdf in doc_pdfs(doc, src):
        for page in text_layer(pdf, src):
            raw_lines = [" ".join(w.text for w in words) for words in page.lines]
            if sum(bool(_LEADERS.search(t)) for t in raw_lines) >= 3:
                continue  # a table of contents: dot leaders, numbers glued to titles
            for li, words in enumerate(page.lines):
                seed = zlib.crc32(f"{doc.name}/{pdf.stem}/{page.number}/{li}".encode())
                segs = line_segments(words, seed)
                # one segment per line (no overlapping near-duplicates), chosen by hash
                ok = []
                for box, room, raw in segs:
                    if box[2] - box[0] < box[3] - box[1]:
                        continue  # narrower than tall: vertical text or a lone glyph
                    text = clean_text(raw, cs)
                    if text:
                        ok.append((box, room, text))
                if ok:
                    box, room, text = ok[seed % len(ok)]
                    out.append(Candidate(doc.name, pdf.stem, page.number, li, box, room, text, classify(text)))
    return out


def interleave(cands: list[Candidate], lang: str, weights: dict[str, float], per_page: int, seed: int) -> list[Candidate]:
    """Deterministic sampling order: per document, pages in shuffled order and up to
    ``per_page`` shuffled lines of each; documents merged in proportion to their weight
    (so a prefix of the result is spread across documents and pages)."""
    by_doc: dict[str, dict[tuple, list[Candidate]]] = {}
    for c in cands:
        if c.lang == lang and weights.get(c.doc, 0) > 0:
            by_doc.setdefault(c.doc, {}).setdefault((c.pdf, c.page), []).append(c)
    keyed = []
    for name in sorted(by_doc):
        pages = by_doc[name]
        rng = np.random.default_rng([seed, zlib.crc32(f"{name}/{lang}".encode())])
        keys = sorted(pages)
        k = 0
        for pi in rng.permutation(len(keys)):
            lines = pages[keys[pi]]
            for li in rng.permutation(len(lines))[:per_page]:
                keyed.append(((k + 0.5) / weights[name], name, k, lines[li]))
                k += 1
    keyed.sort(key=lambda t: t[:3])
    return [t[3] for t in keyed]


# --------------------------------------------------------------------------- pixels

def render_page(pdf: Path, page: int, dpi: int) -> np.ndarray:
    """One page as BGR uint8 via pdftoppm."""
    res = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", str(pdf)],
                         check=True, capture_output=True)
    img = cv2.imdecode(np.frombuffer(res.stdout, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f"pdftoppm gave no image for {pdf} page {page}")
    return img


def crop_line(page_img: np.ndarray, box, room, dpi: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Crop a box (points) with a small margin; returns the crop and the box inside it (px)."""
    s = dpi / 72.0
    x0, y0, x1, y1 = (v * s for v in box)
    h = y1 - y0
    my = 0.12 * h
    mx_l = min(0.3 * h, 0.5 * room[0] * s)
    mx_r = min(0.3 * h, 0.5 * room[1] * s)
    H, W = page_img.shape[:2]
    cx0, cy0 = max(0, int(math.floor(x0 - mx_l))), max(0, int(math.floor(y0 - my)))
    cx1, cy1 = min(W, int(math.ceil(x1 + mx_r))), min(H, int(math.ceil(y1 + my)))
    crop = page_img[cy0:cy1, cx0:cx1].copy()
    inner = (int(round(x0 - cx0)), int(round(y0 - cy0)), int(round(x1 - cx0)), int(round(y1 - cy0)))
    return crop, inner


def pixel_check(crop: np.ndarray, inner) -> str | None:
    """Reason to drop a crop whose pixels disagree with its text-layer box, else None."""
    h, w = crop.shape[:2]
    if not 10 <= h <= 140 or w < 0.8 * h:
        return "size"
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    bg = float(np.median(gray))
    if bg < 150:
        return "dark-background"
    ink = gray < bg - 60
    frac = ink.mean()
    if not 0.01 <= frac <= 0.5:
        return "ink-amount"
    x0, y0, x1, y1 = inner
    bh = max(1, y1 - y0)
    cols = np.flatnonzero(ink[max(0, y0):y1].any(axis=0))
    if cols.size == 0:
        return "no-ink-in-box"
    # ink must start and end near the box edges (text layer aligned with the pixels)
    if cols[0] > x0 + 0.9 * bh or cols[-1] < x1 - 0.9 * bh:
        return "ink-not-spanning-box"
    # the ink must cover most of the box width (no big empty stretch inside)
    covered = np.zeros(w, bool)
    covered[cols] = True
    gaps = np.diff(np.flatnonzero(np.r_[True, covered[max(0, x0):x1], True]))
    if gaps.size and gaps.max() > 2.5 * bh:
        return "empty-stretch"
    # the vertical margins must not carry a neighbouring line's ink
    margin_rows = np.r_[ink[:max(0, y0)].ravel(), ink[y1:].ravel()]
    if margin_rows.size and margin_rows.mean() > 0.08:
        return "neighbour-ink"
    return None


def degrade_photo(img: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic camera-like degradation of a line crop (BGR out).

    Small rotation/perspective, uneven light, low contrast and a colour cast,
    defocus blur, resampling, sensor noise, JPEG quality 30-60.
    """
    rng = np.random.default_rng(seed)
    bgr = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    h, w = bgr.shape[:2]
    f = bgr.astype(np.float32)
    # geometry: rotation small enough to keep the text inside the crop, plus corner jitter
    max_ang = min(2.0, math.degrees(math.atan(0.22 * h / max(w, 1))))
    ang = math.radians(rng.uniform(-max_ang, max_ang))
    cx, cy = w / 2, h / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]], np.float32)
    dst = (src - [cx, cy]) @ rot.T + [cx, cy]
    dst += rng.uniform(-1, 1, (4, 2)).astype(np.float32) * [0.015 * w, 0.06 * h]
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    f = cv2.warpPerspective(f, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # light: linear gradient + one soft blob, multiplicative
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gain = 1.0 + rng.uniform(-0.25, 0.25) * (xx / w - 0.5) + rng.uniform(-0.2, 0.2) * (yy / h - 0.5)
    bx, by, br = rng.uniform(0, w), rng.uniform(-h, 2 * h), rng.uniform(0.3, 1.0) * max(w, h)
    gain -= rng.uniform(0.0, 0.25) * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * br ** 2))
    # low contrast + colour cast (paper is never white under a phone camera)
    lo, hi = rng.uniform(15, 70), rng.uniform(165, 235)
    f = lo + (hi - lo) * f / 255.0
    f *= gain[:, :, None] * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    # optics: defocus blur and resampling
    sigma = rng.uniform(0.3, 0.9) * max(1.0, h / 32)
    f = cv2.GaussianBlur(f, (0, 0), sigma)
    scale = rng.uniform(0.65, 1.0)
    if scale < 0.97:
        small = cv2.resize(f, (max(8, int(w * scale)), max(6, int(h * scale))), interpolation=cv2.INTER_AREA)
        f = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    # sensor noise, then JPEG
    f += rng.normal(0, rng.uniform(3, 10), f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    q = int(rng.integers(30, 61))
    ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)


# --------------------------------------------------------------------------- capture variant

def line_boxes(page: Page) -> list[tuple[float, float, float, float]]:
    """The box (points) of every text-layer line of a page."""
    return [(min(w.x0 for w in ws), min(w.y0 for w in ws), max(w.x1 for w in ws), max(w.y1 for w in ws))
            for ws in page.lines]


def neighbour_room(boxes, own: int, box) -> tuple[float, float, float, float]:
    """Free space (points) from ``box`` (a segment of line ``own``) to the other lines of the
    page: (left, right, above, below); 3 line heights where nothing is near."""
    x0, y0, x1, y1 = box
    h = max(y1 - y0, 1e-6)
    far = 3 * h
    left = right = above = below = far
    for i, (a0, b0, a1, b1) in enumerate(boxes):
        if i == own:
            continue
        v_overlap = min(y1, b1) - max(y0, b0)
        h_overlap = min(x1, a1) - max(x0, a0)
        if v_overlap > 0.3 * min(h, b1 - b0):            # same row: another column
            if a1 <= x0 + 0.5:
                left = min(left, x0 - a1)
            elif a0 >= x1 - 0.5:
                right = min(right, a0 - x1)
        elif h_overlap > 0:
            if (b0 + b1) / 2 < (y0 + y1) / 2:
                above = min(above, max(0.0, y0 - b1))
            else:
                below = min(below, max(0.0, b0 - y1))
    return left, right, above, below


def capture_lines(page_img: np.ndarray, dpi: int, page: Page, lines: list[Candidate], seed: int):
    """Photograph one page and cut ``lines`` (candidates of that page) from the photo.
    Returns (photo, geometry, [(crop, info)]). Deterministic: the shot depends on the page
    and ``seed``, each crop on its line's key."""
    s = dpi / 72.0
    boxes = line_boxes(page)
    line_px = float(np.median([b[3] - b[1] for b in boxes])) * s if boxes else 12 * s
    key = f"{lines[0].doc}/{lines[0].pdf}/{lines[0].page}" if lines else "page"
    photo, geo = camera.capture_page(page_img, zlib.crc32(f"{seed}/capture/{key}".encode()), line_px)
    out = []
    for c in lines:
        left, right, above, below = neighbour_room(boxes, c.line, c.box)
        room = (min(c.room[0], left) * s, min(c.room[1], right) * s)
        crop, info = camera.line_crop(photo, geo, tuple(v * s for v in c.box), room, (above * s, below * s),
                                      seed=zlib.crc32(f"{seed}/capture/{c.key}".encode()))
        out.append((crop, {**info, **{k: geo.params[k] for k in ("tilt_deg", "jpeg_q", "glyph_px_centre")}}))
    return photo, geo, out


def page_view(photo: np.ndarray, geo, boxes_px, path: Path, detail_h: int = 420) -> None:
    """A page photo for the report: the whole frame (halved, ground-truth line quads drawn)
    beside an unscaled detail of its middle."""
    vis = photo.copy()
    for b in boxes_px:
        top, bot = camera.line_quad(geo, b)
        cv2.polylines(vis, [np.r_[top, bot[::-1]].round().astype(np.int32)], True, (0, 0, 255), 1, cv2.LINE_AA)
    h, w = photo.shape[:2]
    small = cv2.resize(vis, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    cy, cx = h // 2, w // 2
    dw = min(w, 640)
    detail = photo[max(0, cy - detail_h // 2):cy + detail_h // 2, max(0, cx - dw // 2):cx + dw // 2]
    canvas = np.full((max(small.shape[0], detail.shape[0]), small.shape[1] + 10 + detail.shape[1], 3), 255, np.uint8)
    canvas[:small.shape[0], :small.shape[1]] = small
    canvas[:detail.shape[0], small.shape[1] + 10:] = detail
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 80])


# --------------------------------------------------------------------------- contact sheet

def _label_font(size: int):
    from PIL import ImageFont  # noqa: PLC0415
    for p in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"):
        if Path(p).exists():
            return ImageFont.truetype(p, size)
    return ImageFont.load_default()


def contact_sheet(records: list[dict], root: Path, path: Path, cols: int = 2, row_h: int = 30) -> None:
    """Crops (scaled to row_h) above their ground truth, in ``cols`` columns."""
    from PIL import Image, ImageDraw  # noqa: PLC0415
    font = _label_font(16)
    col_w = 620
    cell_h = row_h + 24
    rows = math.ceil(len(records) / cols)
    sheet = Image.new("RGB", (cols * col_w, max(1, rows) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(records):
        img = cv2.imread(str(root / r["file"]), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        nw = min(col_w - 10, max(1, int(w * row_h / h)))
        img = cv2.resize(img, (nw, row_h), interpolation=cv2.INTER_AREA)
        x, y = (i % cols) * col_w + 5, (i // cols) * cell_h + 2
        sheet.paste(Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)), (x, y))
        draw.text((x, y + row_h + 1), f"{i}: {r['text']}", fill=(200, 0, 0), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, **({"quality": 80} if path.suffix.lower() in (".jpg", ".jpeg") else {}))


# --------------------------------------------------------------------------- build

def build(out: Path = OUT, src: Path = SRC, cap: int = 600, minimum: int = 500, seed: int = SEED,
          per_page: int = 6, verbose: bool = True, report: Path | None = None) -> list[dict]:
    """Build the set into ``out``; ``report``: also write the capture sheets and a page view there."""
    t0 = time.time()
    check_no_corpus_overlap()
    cs = load_charset()
    fetch_sources(src)
    all_cands: list[Candidate] = []
    pdf_paths: dict[tuple[str, str], Path] = {}
    for doc in DOCS:
        for p in doc_pdfs(doc, src):
            pdf_paths[(doc.name, p.stem)] = p
        c = candidates(doc, cs, src)
        all_cands.extend(c)
        if verbose:
            print(f"{doc.name}: {sum(x.lang == 'zh' for x in c)} zh / {sum(x.lang == 'en' for x in c)} en candidate lines")
    # English/mixed lines come mostly from the English documents; Chinese documents add some.
    weights = {"zh": {d.name: 1.0 for d in DOCS if d.lang == "zh"},
               "en": {d.name: (1.0 if d.lang == "en" else 0.3) for d in DOCS}}
    if out.exists():
        shutil.rmtree(out)
    records: list[dict] = []
    drops: dict[str, int] = {}
    page_cache: dict[tuple, np.ndarray] = {}
    layers: dict[tuple[str, str], list[Page]] = {}
    views: dict[str, list] = {}
    t_capture = 0.0
    for lang in ("zh", "en"):
        order = interleave(all_cands, lang, weights[lang], per_page, seed)
        kept: list[tuple[Candidate, np.ndarray, int]] = []
        captured: dict[str, tuple[np.ndarray, dict]] = {}
        pos = 0
        while len(kept) < cap and pos < len(order):
            # render the pages of the next chunk in page order, then check in sampling order
            chunk = order[pos:pos + max(50, int(1.3 * (cap - len(kept))))]
            pos += len(chunk)
            need = sorted({(c.doc, c.pdf, c.page) for c in chunk})
            page_cache.clear()
            for key in need:
                page_cache[key] = render_page(pdf_paths[key[:2]], key[2], page_dpi(*key))
            first_new = len(kept)
            for c in chunk:
                if len(kept) >= cap:
                    break
                dpi = page_dpi(c.doc, c.pdf, c.page)
                crop, inner = crop_line(page_cache[(c.doc, c.pdf, c.page)], c.box, c.room, dpi)
                why = pixel_check(crop, inner)
                if why:
                    drops[why] = drops.get(why, 0) + 1
                    continue
                kept.append((c, crop, dpi))
            # capture variant: photograph each page once, cut its kept lines from the photo
            t1 = time.time()
            by_page: dict[tuple, list[Candidate]] = {}
            for c, _, _ in kept[first_new:]:
                by_page.setdefault((c.doc, c.pdf, c.page), []).append(c)
            for key in sorted(by_page):
                if key[:2] not in layers:
                    layers[key[:2]] = text_layer(pdf_paths[key[:2]], src)
                dpi = page_dpi(*key)
                photo, geo, crops = capture_lines(page_cache[key], dpi, layers[key[:2]][key[2] - 1], by_page[key], seed)
                for c, cr in zip(by_page[key], crops):
                    captured[c.key] = cr
                if len(views.setdefault(lang, [])) < 2:              # page views: the first two shots
                    boxes = [tuple(v * dpi / 72.0 for v in b) for b in line_boxes(layers[key[:2]][key[2] - 1])]
                    views.setdefault(lang, []).append((key, photo, geo, boxes))
            t_capture += time.time() - t1
        if len(kept) < minimum:
            raise SystemExit(f"only {len(kept)} {lang} lines passed (need {minimum})")
        for i, (c, crop, dpi) in enumerate(kept):
            records.extend(line_records(out, lang, i, c, crop, dpi, captured[c.key], seed))
    with open(out / "labels.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    for lang in ("zh", "en"):
        for variant in VARIANTS:
            sub = [r for r in records if r["lang"] == lang and r["variant"] == variant]
            contact_sheet(sub[:40], out, out / "sheets" / f"{lang}_{variant}.png")
        for j, (key, photo, geo, boxes) in enumerate(views.get(lang, [])):
            name = f"{lang}_{j}_{key[0]}_{key[1]}_p{key[2]}"
            (out / "capture_pages").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out / "capture_pages" / f"{name}.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if report is not None and j == 0:
                page_view(photo, geo, boxes, report / f"capture_page_{lang}.jpg")
        if report is not None:
            sub = [r for r in records if r["lang"] == lang and r["variant"] == "capture"]
            contact_sheet(sub[:40], out, report / f"capture_{lang}.jpg")
    if verbose:
        for lang in ("zh", "en"):
            sub = [r for r in records if r["lang"] == lang and r["variant"] == "clean"]
            per_doc: dict[str, int] = {}
            for r in sub:
                per_doc[r["doc"]] = per_doc.get(r["doc"], 0) + 1
            print(f"{lang}: {len(sub)} lines x {len(VARIANTS)} variants; by doc {per_doc}")
        print(f"dropped by pixel check: {drops}")
        print(f"capture variant: {t_capture:.0f}s")
        print(f"wrote {len(records)} crops to {out} in {time.time() - t0:.0f}s")
    return records


def line_records(out: Path, lang: str, i: int, c: Candidate, crop: np.ndarray, dpi: int,
                 captured: tuple[np.ndarray, dict], seed: int) -> list[dict]:
    """Write line ``i`` of ``lang`` in every variant; its labels.jsonl records."""
    recs = []
    for variant in VARIANTS:
        rel = f"{variant}/{lang}/{i:05d}.png"
        extra = {}
        if variant == "clean":
            img = crop
        elif variant == "photo":
            img = degrade_photo(crop, zlib.crc32(f"{seed}/{c.key}".encode()))
        else:
            img, extra = captured[0], {"capture": captured[1]}
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / rel), img)
        recs.append({"file": rel, "text": c.text, "lang": lang, "variant": variant,
                     "doc": c.doc, "pdf": c.pdf, "page": c.page, "line": c.line, "dpi": dpi, **extra})
    return recs


def main(argv=None) -> None:
    cv2.setNumThreads(1)  # a shared machine; the output does not depend on it
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--src", type=Path, default=SRC)
    ap.add_argument("--cap", type=int, default=600, help="lines per language (each in every variant)")
    ap.add_argument("--report", default=str(REPORT), help="where the capture sheets go ('' for nowhere)")
    ap.add_argument("--min", type=int, default=500, dest="minimum")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--sheet", nargs=3, metavar=("LANG", "VARIANT", "START"),
                    help="only (re)draw a contact sheet of 40 lines from START, to data/eval/sheets/")
    args = ap.parse_args(argv)
    if args.sheet:
        lang, variant, start = args.sheet[0], args.sheet[1], int(args.sheet[2])
        recs = [json.loads(x) for x in (args.out / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
        sub = [r for r in recs if r["lang"] == lang and r["variant"] == variant][start:start + 40]
        contact_sheet(sub, args.out, args.out / "sheets" / f"{lang}_{variant}_{start}.png")
        return
    build(args.out, args.src, args.cap, args.minimum, args.seed, report=Path(args.report) if args.report else None)


if __name__ == "__main__":
    main()
