"""hOCR output (https://kba.github.io/hocr-spec/1.2/) from OCR results, one ``ocr_page`` per page.

Structure, as Tesseract writes it and as OCRmyPDF's ``HocrParser`` and hocr-tools read it::

    ocr_page (bbox, ppageno, scan_res, image)
      ocr_carea > ocr_par (one per page: the detector finds lines, not blocks)
        ocr_line (bbox, baseline, x_size; lang chi_sim | eng)
          ocrx_word (bbox, x_wconf)

Words: the recogniser reads whole lines, so word boxes are laid out along the line box in
proportion to the characters' nominal advances (:func:`char_units`: 1 em for East Asian wide
characters, 1/2 em for the rest -- the same advances the searchable PDF's text layer uses, so
both agree). Latin text is split on spaces; a space-free run of CJK characters becomes one word
per character, as Tesseract's ``chi_sim`` does (consumers join adjacent CJK words without a
space: OCRmyPDF's renderer, pdftotext); a token that mixes CJK and Latin (``共3页``) stays one
word, so no consumer inserts a space the page does not have. ``x_wconf`` is the line's
confidence (0-100) on each of its words.
"""
from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

# Nominal advance widths in 1/1000 em. Wide: CJK ideographs, kana, Hangul, CJK symbols and
# punctuation, full-width forms.
WIDE_RANGES = (
    (0x1100, 0x115F), (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
)
WIDE_UNITS = 1000
NARROW_UNITS = 500
# Where the baseline sits in a line box, as a fraction of its height from the bottom
# (the text layer's font has ascent 0.8 em and descent 0.2 em: the box is one em high).
DESCENT = 0.2

_XML_BAD = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {0xFFFE: None, 0xFFFF: None}


def is_wide(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in WIDE_RANGES)


def char_units(ch: str) -> int:
    return WIDE_UNITS if is_wide(ch) else NARROW_UNITS


def split_words(text: str) -> list[tuple[int, int]]:
    """[start, end) character spans of the words of a line (see the module docstring)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        token = text[i:j]
        if all(is_wide(c) for c in token):
            spans.extend((k, k + 1) for k in range(i, j))
        else:
            spans.append((i, j))
        i = j
    return spans


def line_language(text: str) -> str:
    """Tesseract's language code for a line: ``chi_sim`` if it has a CJK character, else ``eng``."""
    return "chi_sim" if any(is_wide(c) and not c.isspace() for c in text) else "eng"


def _lerp(p, q, t):
    return (p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t)


def _bbox(points, width: int, height: int) -> tuple[int, int, int, int]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0 = min(max(int(math.floor(min(xs))), 0), max(width - 1, 0))
    y0 = min(max(int(math.floor(min(ys))), 0), max(height - 1, 0))
    x1 = max(min(int(math.ceil(max(xs))), width), x0 + 1)
    y1 = max(min(int(math.ceil(max(ys))), height), y0 + 1)
    return x0, y0, x1, y1


def word_quads(text: str, box) -> list[tuple[tuple[int, int], list[tuple[float, float]]]]:
    """[(span, quad)] for the words of a line whose 4-point ``box`` is TL, TR, BR, BL."""
    tl, tr, br, bl = [tuple(map(float, p)) for p in box]
    cum = [0]
    for c in text:
        cum.append(cum[-1] + char_units(c))
    total = cum[-1] or 1
    out = []
    for s, e in split_words(text):
        a, b = cum[s] / total, cum[e] / total
        out.append(((s, e), [_lerp(tl, tr, a), _lerp(tl, tr, b), _lerp(bl, br, b), _lerp(bl, br, a)]))
    return out


def _clean(text: str) -> str:
    return text.translate(_XML_BAD)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("slim-ocr")
    except PackageNotFoundError:
        return "unknown"


def to_hocr(pages, title: str = "Slim OCR", model: str | None = None, image: str | None = None) -> str:
    """An hOCR (XHTML) document of ``pages``: one :class:`~slim_ocr.pipeline.OcrResult`, or a
    sequence of objects with ``lines`` (``text``, ``confidence``, ``box``), ``width`` and ``height``
    (pixels) and optionally ``number`` (1-based page number) and ``dpi`` -- a
    :class:`slim_ocr.api.Page` is one. ``image`` names the source file in each page's title."""
    if hasattr(pages, "lines"):
        pages = [pages]
    pages = list(pages)
    system = f"slim-ocr {package_version()}" + (f" (model {model})" if model else "")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"',
        '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
        " <head>",
        f"  <title>{escape(_clean(title))}</title>",
        '  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
        f"  <meta name=\"ocr-system\" content={quoteattr(system)}/>",
        '  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word'
        ' ocrp_wconf ocrp_lang"/>',
        f'  <meta name="ocr-number-of-pages" content="{len(pages)}"/>',
        " </head>",
        " <body>",
    ]
    for index, page in enumerate(pages):
        out.extend(_page(page, index, image))
    out += [" </body>", "</html>", ""]
    return "\n".join(out)


def _page(page, index: int, image: str | None) -> list[str]:
    number = int(getattr(page, "number", None) or index + 1)
    width, height, dpi = int(page.width), int(page.height), getattr(page, "dpi", None)
    props = []
    if image:
        props.append(f'image "{_clean(image)}"')
    props.append(f"bbox 0 0 {width} {height}")
    props.append(f"ppageno {number - 1}")
    if dpi:
        props.append(f"scan_res {round(dpi)} {round(dpi)}")
    p = f"{number}"
    out = [f'  <div class="ocr_page" id="page_{p}" title={quoteattr("; ".join(props))}>']
    lines = [ln for ln in page.lines if ln.text.strip()]
    if lines:
        boxes = [_bbox(ln.box, width, height) for ln in lines]
        area = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        abox = "bbox %d %d %d %d" % area
        out.append(f'   <div class="ocr_carea" id="block_{p}_1" title="{abox}">')
        out.append(f'    <p class="ocr_par" id="par_{p}_1" title="{abox}">')
        for li, (ln, lbox) in enumerate(zip(lines, boxes), 1):
            out.extend(_line(ln, lbox, f"{p}_{li}", width, height))
        out.append("    </p>")
        out.append("   </div>")
    out.append("  </div>")
    return out


def _line(line, lbox, lid: str, width: int, height: int) -> list[str]:
    text = _clean(line.text)
    tl, tr, br, bl = [tuple(map(float, pt)) for pt in line.box]
    x0, y0, x1, y1 = lbox
    h = max(1.0, math.hypot(tl[0] - bl[0], tl[1] - bl[1]))
    dx = br[0] - bl[0]
    slope = (br[1] - bl[1]) / dx if abs(dx) > 1e-6 else 0.0
    # baseline: y = y1 + offset + slope * (x - x0), DESCENT of the box above the box's bottom edge
    y_at_x0 = bl[1] + slope * (x0 - bl[0]) - DESCENT * h
    offset = int(round(y_at_x0 - y1))
    conf = max(0, min(100, int(round(float(line.confidence) * 100))))
    props = f"bbox {x0} {y0} {x1} {y1}; baseline {slope:.4f} {offset}; x_size {h:.1f}; " \
            f"x_descenders {DESCENT * h:.1f}; x_ascenders {0.0:.1f}"
    out = [f'     <span class="ocr_line" id="line_{lid}" lang="{line_language(text)}" title="{props}">']
    for wi, ((s, e), quad) in enumerate(word_quads(text, line.box), 1):
        wx0, wy0, wx1, wy1 = _bbox(quad, width, height)
        # a word box stays inside its line's box (hOCR containment)
        wx0, wy0 = max(wx0, x0), max(wy0, y0)
        wx1, wy1 = max(min(wx1, x1), wx0 + 1), max(min(wy1, y1), wy0 + 1)
        out.append(f'      <span class="ocrx_word" id="word_{lid}_{wi}" '
                   f'title="bbox {wx0} {wy0} {wx1} {wy1}; x_wconf {conf}">{escape(text[s:e])}</span>')
    out.append("     </span>")
    return out
