"""Searchable PDF: page images with an invisible text layer (text render mode 3) on the line boxes.

Pure Python, no PDF library on the Lambda side beyond pypdfium2 (already there to read PDFs):

* **Font**: a glyph-less TrueType font built here (:func:`glyphless_font`, ~700 bytes), embedded
  as a ``Type0`` / ``CIDFontType2`` font with ``Identity-H`` encoding, where a character's CID is
  its Unicode code point (BMP), ``CIDToGIDMap`` sends every CID to one of two blank glyphs (wide
  or narrow) and the ``ToUnicode`` CMap is the identity -- the way Tesseract's and OCRmyPDF's
  text layers work. Any script is covered (Chinese included) without embedding a 5-20 MB CJK
  font, and nothing is drawn (render mode 3).
* **Placement**: each line's text is one string positioned on the line's quadrilateral (rotation
  included), font size = box height (ascent 0.8 em, descent 0.2 em), and horizontally scaled
  (``Tz``) so its width is the box's width; characters advance 1 em (East Asian wide) or 1/2 em
  (the rest; ``/W`` in the font), the same advances ``hocr`` uses for word boxes. So text
  extraction (pdftotext) returns the recognised lines in reading order and a selection covers
  the line's words.
* **Pages**: for image inputs (PNG/JPEG/TIFF/arrays) the page is the image, sized from its dpi
  (JPEG data is embedded as is; others losslessly, Flate; 1-bit images stay 1-bit). For PDF input
  the original pages are kept (vector content, fonts, existing text) and the text layer is added
  to the pages that were OCRed, as a form XObject (:func:`add_text_layer`, pypdfium2), like
  OCRmyPDF's grafting.
"""
from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .hocr import DESCENT, NARROW_UNITS, WIDE_RANGES, WIDE_UNITS, char_units

FONT_NAME = "SlimOcrGlyphless"
FONT_RESOURCE = "F1"        # the name OCRmyPDF's sandwich grafting copies (/F1 or Tesseract's /f-0-0)
PRODUCER = "Slim OCR"


# ---- the glyph-less TrueType font ---------------------------------------------------------------
def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _box_glyph(width: int, bottom: int, top: int) -> bytes:
    """A simple TrueType glyph: one clockwise rectangle (0, bottom)-(width, top)."""
    return (struct.pack(">hhhhh", 1, 0, bottom, width, top) + struct.pack(">HH", 3, 0) + b"\x01" * 4
            + struct.pack(">hhhh", 0, 0, width, 0) + struct.pack(">hhhh", bottom, top - bottom, 0, bottom - top))


@lru_cache(maxsize=1)
def glyphless_font() -> bytes:
    """A minimal valid TrueType font, ~700 bytes: 1000 units/em, ascent 800, descent -200, three
    glyphs -- an empty .notdef, a narrow blank (1/2 em) and a wide blank (1 em) -- and a cmap with
    U+0020 only. The blanks' outlines fill their em box, as Tesseract's glyph does: the text is
    drawn with render mode 3 (invisible), and extractors (pdfium, i.e. Chrome's viewer) derive
    character boxes from them -- empty glyphs give zero-height boxes, and pdfium drops rotated
    ones. The advances equal the PDF widths (``/W``), so a rewriter (Ghostscript) keeps them."""
    upem, asc, desc = 1000, 800, -200
    stamp = 3_850_000_000                        # created / modified: 2026, in seconds since 1904
    head = struct.pack(">IIIIHHqqhhhhHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0x000B, upem,
                       stamp, stamp, 0, desc, upem, asc, 0, 8, 2, 0, 0)
    hhea = struct.pack(">Ihhh H hhh hhh hhhhh H".replace(" ", ""), 0x00010000, asc, desc, 0, upem,
                       0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3)
    maxp = struct.pack(">IHHHHHHHHHHHHHH", 0x00010000, 3, 4, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0)
    hmtx = struct.pack(">HhHhHh", upem // 2, 0, NARROW_UNITS, 0, WIDE_UNITS, 0)
    # .notdef empty; the two blanks are rectangles filling their em box (never drawn: the text is
    # rendered invisibly), so text extractors get character boxes as tall as the line
    glyphs = [b"", _box_glyph(NARROW_UNITS, desc, asc), _box_glyph(WIDE_UNITS, desc, asc)]
    glyf = b"".join(glyphs)
    offsets = [0]
    for g in glyphs:
        offsets.append(offsets[-1] + len(g))
    loca = struct.pack(f">{len(offsets)}H", *(o // 2 for o in offsets))     # short offsets
    # cmap: format 4, segments [0x20, 0x20] -> glyph 1 and the 0xFFFF terminator
    seg = 2
    sub = struct.pack(">HHHHHHH", 4, 16 + 8 * seg, 0, 2 * seg, 4, 1, 0)
    sub += struct.pack(">HH", 0x20, 0xFFFF) + b"\0\0" + struct.pack(">HH", 0x20, 0xFFFF)
    sub += struct.pack(">hh", 1 - 0x20, 1) + struct.pack(">HH", 0, 0)
    cmap = struct.pack(">HHHHI", 0, 1, 3, 1, 12) + sub
    names = {1: "Slim OCR Glyphless", 2: "Regular", 3: "Slim OCR Glyphless", 4: "Slim OCR Glyphless",
             5: "Version 1.0", 6: FONT_NAME}
    strings, records, offset = b"", b"", 0
    for nid, text in names.items():
        data = text.encode("utf-16-be")
        records += struct.pack(">HHHHHH", 3, 1, 0x409, nid, len(data), offset)
        strings += data
        offset += len(data)
    name = struct.pack(">HHH", 0, len(names), 6 + 12 * len(names)) + records + strings
    post = struct.pack(">IIhhIIIII", 0x00030000, 0, -100, 50, 0, 0, 0, 0, 0)
    tables = {b"cmap": cmap, b"glyf": glyf, b"head": head, b"hhea": hhea, b"hmtx": hmtx,
              b"loca": loca, b"maxp": maxp, b"name": name, b"post": post}
    n = len(tables)
    search = 1 << (n.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, n, search * 16, search.bit_length() - 1, n * 16 - search * 16)
    offset = 12 + 16 * n
    directory, body = b"", b""
    for tag in sorted(tables):
        data = tables[tag]
        directory += struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    adjust = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    head_at = offset + body.index(head)          # checkSumAdjustment is head's third field
    font[head_at + 8:head_at + 12] = struct.pack(">I", adjust)
    return bytes(font)


# ---- a minimal PDF writer ---------------------------------------------------------------------------
def _num(x: float) -> str:
    s = f"{x:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _pdf_str(text: str) -> str:
    """A PDF text string (UTF-16BE with BOM, hex)."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class PdfWriter:
    """Objects in, one PDF file out (classic xref table; every stream Flate-compressed)."""

    def __init__(self):
        self.objects: list[bytes | None] = []

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects)

    def set(self, num: int, body: bytes | str) -> int:
        self.objects[num - 1] = body.encode("latin-1") if isinstance(body, str) else body
        return num

    def add(self, body: bytes | str) -> int:
        return self.set(self.reserve(), body)

    def stream(self, entries: str, data: bytes, compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            entries += " /Filter /FlateDecode"
        return self.add(f"<< {entries} /Length {len(data)} >>\nstream\n".encode("latin-1") + data + b"\nendstream")

    def write(self, root: int, info: int | None = None) -> bytes:
        out = io.BytesIO()
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.objects, 1):
            if body is None:
                raise ValueError(f"PDF object {i} was reserved but never written")
            offsets.append(out.tell())
            out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(self.objects) + 1}\n0000000000 65535 f \n".encode())
        for off in offsets:
            out.write(f"{off:010d} 00000 n \n".encode())
        trailer = f"<< /Size {len(self.objects) + 1} /Root {root} 0 R" + (f" /Info {info} 0 R" if info else "") + " >>"
        out.write(f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode())
        return out.getvalue()

    def add_font(self) -> int:
        """The glyph-less Type0 font (see the module docstring); returns the Type0 object number."""
        font = glyphless_font()
        file_ = self.stream(f"/Length1 {len(font)}", font)
        desc = self.add(f"<< /Type /FontDescriptor /FontName /{FONT_NAME} /Flags 4 /FontBBox [0 -200 1000 800] "
                        f"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 800 /StemV 80 /FontFile2 {file_} 0 R >>")
        to_gid = self.stream("", _cid_to_gid())
        widths = " ".join(f"{lo} {hi} {WIDE_UNITS}" for lo, hi in WIDE_RANGES)
        cid = self.add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{FONT_NAME} "
                       "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                       f"/FontDescriptor {desc} 0 R /DW {NARROW_UNITS} /W [{widths}] /CIDToGIDMap {to_gid} 0 R >>")
        to_unicode = self.stream("", _identity_to_unicode())
        return self.add(f"<< /Type /Font /Subtype /Type0 /BaseFont /{FONT_NAME} /Encoding /Identity-H "
                        f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>")


@lru_cache(maxsize=1)
def _cid_to_gid() -> bytes:
    """CIDToGIDMap: every CID (= BMP code point) to the wide or the narrow blank glyph."""
    gid = np.full(65536, 1, dtype=">u2")
    for lo, hi in WIDE_RANGES:
        gid[lo:hi + 1] = 2
    gid[0] = 0                                                   # CID 0 stays .notdef
    return gid.tobytes()


@lru_cache(maxsize=1)
def _identity_to_unicode() -> bytes:
    """ToUnicode CMap mapping each 2-byte code to the same BMP code point. The CJK range is one
    wide bfrange, as Tesseract writes it (readers handle it; Ghostscript 10.0's pdfwrite, e.g.
    OCRmyPDF's PDF/A step, garbles CJK text given the strictly-by-the-spec form, 248
    one-high-byte ranges -- measured). Above it Ghostscript garbles any range, wide or by the
    spec (full-width ``：，（`` came back as U+1F7A...), so U+F900-U+FFFD -- CJK compatibility
    ideographs, CJK and full-width forms, U+FFFD -- are one bfchar each (100 a block, ~7 KB
    compressed); the surrogates and the private-use area are left out (never recognised)."""
    codes = [c for c in range(0xF900, 0xFFFE) if not _unmapped(c)]
    chars = [f"<{c:04X}> <{c:04X}>" for c in codes]
    blocks = "".join(f"{len(b)} beginbfchar\n" + "\n".join(b) + "\nendbfchar\n"
                     for b in (chars[i:i + 100] for i in range(0, len(chars), 100)))
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            "1 beginbfrange\n<0000> <D7FF> <0000>\nendbfrange\n" + blocks +
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


# ---- the text layer -------------------------------------------------------------------------------
Matrix = tuple[float, float, float, float, float, float]


def pixel_matrix(height_px: float, dpi: float) -> Matrix:
    """Pixel (x right, y down) -> PDF points (y up) for an image page of ``height_px`` at ``dpi``."""
    s = 72.0 / float(dpi)
    return (s, 0.0, 0.0, -s, 0.0, height_px * s)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _unmapped(cp: int) -> bool:
    """Code points ``_identity_to_unicode`` leaves out (beyond the BMP, private use, non-characters)."""
    return cp > 0xFFFD or 0xE000 <= cp <= 0xF8FF or 0xFDD0 <= cp <= 0xFDEF


def _encode(text: str) -> str:
    """Identity-H codes (CID = BMP code point); characters the ToUnicode map leaves out become U+FFFD."""
    codes = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x20 or 0xD800 <= cp <= 0xDFFF:
            continue
        codes.append(0xFFFD if _unmapped(cp) else cp)
    return "".join(f"{c:04X}" for c in codes)


def text_layer(lines: Iterable, to_user: Matrix, font: str = FONT_RESOURCE) -> bytes:
    """Content-stream operators drawing each line's text invisibly (``3 Tr``) on its box. ``lines``
    have ``text`` and ``box`` (4 points TL, TR, BR, BL in pixels); ``to_user`` maps pixels to the
    page's user space."""
    ops = []
    for line in lines:
        text = "".join(ch if not ch.isspace() else " " for ch in line.text).strip()
        codes = _encode(text)
        if not codes:
            continue
        tl, tr, br, bl = [_apply(to_user, float(p[0]), float(p[1])) for p in line.box]
        bx, by = tr[0] - tl[0], tr[1] - tl[1]
        width = (bx * bx + by * by) ** 0.5
        if width < 1e-3:
            continue
        ux, uy = bx / width, by / width
        nx, ny = -uy, ux                                   # left normal of the baseline direction
        upx, upy = tl[0] - bl[0], tl[1] - bl[1]
        height = upx * nx + upy * ny
        if height < 0:                                     # a mirrored mapping: keep "up" up
            nx, ny, height = -nx, -ny, -height
        if height < 1e-3:
            continue
        ox, oy = bl[0] + nx * DESCENT * height, bl[1] + ny * DESCENT * height
        natural = sum(char_units(c) for c in text) / 1000.0 * height
        scale = 100.0 * width / natural
        ops.append(f"/{font} {_num(height)} Tf {_num(scale)} Tz "
                   f"{_num(ux)} {_num(uy)} {_num(nx)} {_num(ny)} {_num(ox)} {_num(oy)} Tm <{codes}> Tj")
    if not ops:
        return b""
    return ("BT\n3 Tr\n" + "\n".join(ops) + "\nET\n").encode("ascii")


# ---- image pages --------------------------------------------------------------------------------
@dataclass
class ImagePage:
    """One page of an image-based searchable PDF: the picture, its dpi and the OCR lines (pixels)."""
    image: object                         # PIL.Image, or a numpy array (gray, or BGR as OpenCV)
    dpi: float
    lines: Sequence = field(default_factory=list)
    jpeg: bytes | None = None             # the original JPEG file, embedded as is when given


def _image_xobject(pdf: PdfWriter, page: ImagePage) -> tuple[int, int, int]:
    from PIL import Image  # noqa: PLC0415

    im = page.image
    if isinstance(im, np.ndarray):
        im = Image.fromarray(im if im.ndim == 2 else np.ascontiguousarray(im[:, :, 2::-1]))
    w, h = im.size
    if page.jpeg is not None:
        colors = "/DeviceGray" if im.mode == "L" else "/DeviceRGB"
        num = pdf.stream(f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {colors} "
                         "/BitsPerComponent 8 /Filter /DCTDecode", page.jpeg, compress=False)
        return num, w, h
    if im.mode == "1":
        bpc, colors, data = 1, "/DeviceGray", im.tobytes()
    elif im.mode == "L":
        bpc, colors, data = 8, "/DeviceGray", im.tobytes()
    else:
        from .document import pil_to_arrays  # noqa: PLC0415 -- 16-bit, alpha, palette, CMYK ...

        bgr = pil_to_arrays(im, True)[1] if im.mode != "RGB" else None
        rgb = im if bgr is None else Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
        arr = np.asarray(rgb)
        if (arr[:, :, 0] == arr[:, :, 1]).all() and (arr[:, :, 1] == arr[:, :, 2]).all():
            bpc, colors, data = 8, "/DeviceGray", np.ascontiguousarray(arr[:, :, 0]).tobytes()
        else:
            bpc, colors, data = 8, "/DeviceRGB", rgb.tobytes()
    num = pdf.stream(f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {colors} "
                     f"/BitsPerComponent {bpc}", data)
    return num, w, h


def _catalog(pdf: PdfWriter, page_nums: list[int], pages_num: int, title: str | None) -> bytes:
    kids = " ".join(f"{n} 0 R" for n in page_nums)
    pdf.set(pages_num, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_nums)} >>")
    root = pdf.add(f"<< /Type /Catalog /Pages {pages_num} 0 R >>")
    info = pdf.add(f"<< /Producer {_pdf_str(PRODUCER)}" + (f" /Title {_pdf_str(title)}" if title else "") + " >>")
    return pdf.write(root, info)


def images_to_pdf(pages: Iterable[ImagePage], title: str | None = None) -> bytes:
    """A PDF with one page per image (sized by its dpi) and the invisible text layer on it."""
    pdf = PdfWriter()
    pages_num = pdf.reserve()
    font = pdf.add_font()
    page_nums = []
    for page in pages:
        img, w, h = _image_xobject(pdf, page)
        s = 72.0 / float(page.dpi)
        wpt, hpt = w * s, h * s
        content = f"q {_num(wpt)} 0 0 {_num(hpt)} 0 0 cm /Im0 Do Q\n".encode() + \
            text_layer(page.lines, pixel_matrix(h, page.dpi))
        contents = pdf.stream("", content)
        page_nums.append(pdf.add(
            f"<< /Type /Page /Parent {pages_num} 0 R /MediaBox [0 0 {_num(wpt)} {_num(hpt)}] "
            f"/Resources << /XObject << /Im0 {img} 0 R >> /Font << /{FONT_RESOURCE} {font} 0 R >> >> "
            f"/Contents {contents} 0 R >>"))
    if not page_nums:
        raise ValueError("no pages")
    return _catalog(pdf, page_nums, pages_num, title)


@dataclass
class LayerPage:
    """A text-only page: its media box (PDF user space), the OCR lines and their pixel -> user map."""
    media_box: tuple[float, float, float, float]
    lines: Sequence
    to_user: Matrix


def text_only_pdf(pages: Iterable[LayerPage]) -> bytes:
    """A PDF of invisible text only, one page per entry (OCRmyPDF's sandwich renderer grafts such
    a page onto the page image; :func:`add_text_layer` does the same for our PDF output)."""
    pdf = PdfWriter()
    pages_num = pdf.reserve()
    font = pdf.add_font()
    page_nums = []
    for page in pages:
        contents = pdf.stream("", text_layer(page.lines, page.to_user))
        box = " ".join(_num(v) for v in page.media_box)
        page_nums.append(pdf.add(
            f"<< /Type /Page /Parent {pages_num} 0 R /MediaBox [{box}] "
            f"/Resources << /Font << /{FONT_RESOURCE} {font} 0 R >> >> /Contents {contents} 0 R >>"))
    if not page_nums:
        raise ValueError("no pages")
    return _catalog(pdf, page_nums, pages_num, None)


def add_text_layer(pdf_data: bytes, keep: Sequence[int], layers: dict[int, tuple[Sequence, Matrix]],
                   password: str | None = None) -> bytes:
    """The pages ``keep`` (1-based) of ``pdf_data``, unchanged, plus the invisible text layer of
    ``layers[n] = (lines, to_user)`` on page ``n``: the original PDF stays as it was (vector
    content, images, fonts, existing text), our text rides on top as a form XObject."""
    from .document import PDFIUM_LOCK  # noqa: PLC0415

    with PDFIUM_LOCK:
        return _add_text_layer(pdf_data, keep, layers, password)


def _add_text_layer(pdf_data, keep, layers, password):
    import pypdfium2 as pdfium  # noqa: PLC0415

    src = pdfium.PdfDocument(pdf_data, password=password)
    out = pdfium.PdfDocument.new()
    overlay = None
    try:
        out.import_pages(src, [n - 1 for n in keep])
        with_text = [n for n in keep if n in layers and any(ln.text.strip() for ln in layers[n][0])]
        if with_text:
            boxes = {}
            for n in with_text:
                page = src[n - 1]
                boxes[n] = tuple(page.get_mediabox())
                page.close()
            overlay = pdfium.PdfDocument(text_only_pdf(
                LayerPage(boxes[n], layers[n][0], layers[n][1]) for n in with_text))
            for j, n in enumerate(with_text):
                xobject = overlay.page_as_xobject(j, out)
                page = out[keep.index(n)]
                page.insert_obj(xobject.as_pageobject())
                page.gen_content()
                page.close()
                xobject.close()
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        if overlay is not None:
            overlay.close()
        out.close()
        src.close()
