"""Multi-page documents (slim_ocr.document), the Python API (slim_ocr.api), hOCR (slim_ocr.hocr)
and searchable PDFs (slim_ocr.searchable_pdf).

The documents are made here: a real text PDF (fpdf2, known Chinese + English lines in a Debian
font the recogniser never trained on, 12 pt) is rasterised at 200 dpi (pypdfium2) into a
3-page image-only PDF (Pillow, JPEG q90 pages, as scanners write them) and a 3-page TIFF.
``doc_files`` and ``char_f1`` are imported by test_cli.py and test_ocrmypdf_plugin.py.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from conftest import HELD_OUT_FONT, REPO
from slim_ocr.bundle import DEFAULT_MODEL

pdfium = pytest.importorskip("pypdfium2")

PAGES = [
    ["第一页：扫描文档的文字识别", "Scanned pages become searchable text.",
     "订单编号 20261215 金额 428.50 元", "Please check the totals before Friday.", "本周五下午两点在三楼开会。"],
    ["第二页：每一页单独返回结果", "Every page keeps its own lines and boxes.",
     "联系电话 021-58761234 邮编 200120", "Receipts, letters and forms are welcome.", "请在月底之前提交季度工作总结。"],
    ["第三页：输出可以搜索的文件", "The text layer sits under the page image.",
     "合同编号 SH-2026-0315 签订日期 2026年4月9日", "Selecting a line should cover its words.",
     "系统支持中文和英文混合排版。"],
]
DPI = 200
FONT_PT = 12
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")


def norm(text: str) -> str:
    """Compare as the project does (charset normaliser), and NFKC as hOCR consumers fold."""
    from slim_ocr.charset import load_charset

    return unicodedata.normalize("NFKC", load_charset().normalize(text))


def char_f1(got: str, want: str) -> float:
    """Character F1 (bag of characters, whitespace ignored) of ``got`` against ``want``."""
    g = Counter(c for c in norm(got) if not c.isspace())
    w = Counter(c for c in norm(want) if not c.isspace())
    tp = sum((g & w).values())
    if not tp:
        return 0.0
    p, r = tp / sum(g.values()), tp / sum(w.values())
    return 2 * p * r / (p + r)


def assert_pages_read(texts: list[str], min_f1: float = 0.95, pages=PAGES):
    assert len(texts) == len(pages), texts
    for i, (got, want) in enumerate(zip(texts, pages), 1):
        f1 = char_f1(got, "\n".join(want))
        assert f1 >= min_f1, f"page {i}: character F1 {f1:.3f} < {min_f1}: {got!r}"


def make_text_pdf(path: Path, pages=PAGES, size=FONT_PT) -> Path:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF(format="A4", unit="pt")
    pdf.add_font("held-out", fname=HELD_OUT_FONT, collection_font_number=0)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("held-out", size=size)
        for i, text in enumerate(lines):
            pdf.text(72, 90 + i * 2.4 * size, text)
    pdf.output(str(path))
    return path


def rasterise(pdf_path: Path, dpi: int = DPI) -> list[Image.Image]:
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        return [Image.fromarray(p.render(scale=dpi / 72, grayscale=True).to_numpy().copy()) for p in doc]
    finally:
        doc.close()


@pytest.fixture(scope="session")
def doc_files(tmp_path_factory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("docs")
    text_pdf = make_text_pdf(d / "text.pdf")
    images = rasterise(text_pdf)
    scan = d / "scan.pdf"
    images[0].copy().save(scan, save_all=True, append_images=[i.copy() for i in images[1:]], resolution=DPI, quality=90)
    tiff = d / "scan.tif"
    images[0].copy().save(tiff, save_all=True, append_images=[i.copy() for i in images[1:]], dpi=(DPI, DPI),
                          compression="tiff_deflate")
    png = d / "page2.png"
    images[1].copy().save(png, dpi=(DPI, DPI))
    return SimpleNamespace(dir=d, text_pdf=text_pdf, scan=scan, tiff=tiff, png=png, images=images)


@pytest.fixture(scope="module")
def ocr():
    from slim_ocr import SlimOCR

    return SlimOCR(threads=1)


def pdftotext(path: Path, page: int | None = None, *extra: str) -> str:
    args = ["pdftotext", "-enc", "UTF-8", *extra]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True, timeout=60).stdout


# ---- page ranges and limits ------------------------------------------------------------------------
def test_parse_pages():
    from slim_ocr.document import InvalidPageRange, parse_pages

    assert parse_pages(None, 4) == [1, 2, 3, 4] and parse_pages("all", 2) == [1, 2] and parse_pages(" ", 2) == [1, 2]
    assert parse_pages("1-3,5", 6) == [1, 2, 3, 5]
    assert parse_pages("5,1-2,2", 6) == [1, 2, 5]          # ascending, each page once
    assert parse_pages("4-", 6) == [4, 5, 6] and parse_pages("-2", 6) == [1, 2] and parse_pages("3", 3) == [3]
    for bad in ("0", "2-1", "7", "1-9", "a", "1-2-3", "-", ",", "1;2"):
        with pytest.raises(InvalidPageRange) as e:
            parse_pages(bad, 6)
        assert e.value.status == 400 and e.value.code == "invalid_pages"


def test_limits_are_documented_constants():
    from slim_ocr import document

    assert document.DEFAULT_DPI == 200 and document.MIN_DPI < document.DEFAULT_DPI < document.MAX_DPI
    assert document.SYNC_MAX_PAGES <= document.MAX_PAGES
    for name in ("DEFAULT_DPI", "MAX_DPI", "MAX_PAGE_PIXELS", "MAX_PAGES", "SYNC_MAX_PAGES", "MAX_DOCUMENT_BYTES"):
        assert f"``{name}" in document.__doc__, name


# ---- reading documents through the Python API -------------------------------------------------------
def test_image_pdf_every_page_through_the_api(ocr, doc_files):
    doc = ocr(doc_files.scan)
    assert doc.format == "pdf" and doc.page_count == 3 and [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.name == "scan.pdf" and doc.model == DEFAULT_MODEL
    assert_pages_read([p.text for p in doc.pages])
    for page in doc.pages:
        assert not page.has_text_layer and page.ocr and page.dpi == DPI
        assert (page.width, page.height) == (1654, 2339)          # A4 at 200 dpi
        assert len(page.lines) == 5
        for line in page.lines:
            assert 0 < line.confidence <= 1
            xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
            assert 0 <= min(xs) < max(xs) <= page.width and 0 <= min(ys) < max(ys) <= page.height
    assert doc.text.split("\f") == [p.text for p in doc.pages]
    d = json.loads(json.dumps(doc.to_dict(), ensure_ascii=False))
    assert d["success"] and d["page_count"] == 3 and [p["page"] for p in d["pages"]] == [1, 2, 3]
    assert d["pages"][0]["image"] == {"width": 1654, "height": 2339, "dpi": DPI}
    assert set(d["pages"][0]["lines"][0]) == {"text", "confidence", "box"}


def test_page_range(ocr, doc_files):
    doc = ocr(doc_files.scan, pages="1,3")
    assert [p.number for p in doc.pages] == [1, 3] and doc.page_count == 3
    assert_pages_read([p.text for p in doc.pages], pages=[PAGES[0], PAGES[2]])
    assert [p.number for p in ocr(doc_files.scan, pages="2-").pages] == [2, 3]
    assert [p.number for p in ocr(doc_files.scan, pages=[2]).pages] == [2]


def test_text_layer_reported_and_ocred_only_when_asked(ocr, doc_files):
    doc = ocr(doc_files.text_pdf)
    assert all(p.has_text_layer and not p.ocr and not p.lines for p in doc.pages)
    # the page's embedded text is still given, as such
    assert [p.text.split("\n") for p in doc.pages] == PAGES
    assert doc.to_dict()["pages"][0]["ocr"] is False and doc.pages[0].width == 1654
    forced = ocr(doc_files.text_pdf, force_ocr=True, pages="2")
    assert forced.pages[0].has_text_layer and forced.pages[0].ocr and len(forced.pages[0].lines) == 5
    assert_pages_read([forced.pages[0].text], pages=[PAGES[1]])


def test_multipage_tiff_gives_every_page(ocr, doc_files):
    doc = ocr(doc_files.tiff)
    assert doc.format == "tiff" and [p.number for p in doc.pages] == [1, 2, 3]
    assert all(p.dpi == DPI for p in doc.pages)
    assert_pages_read([p.text for p in doc.pages])
    assert [p.number for p in ocr(doc_files.tiff.read_bytes(), pages="3").pages] == [3]


def test_other_inputs_bytes_arrays_pil(ocr, doc_files):
    want = [PAGES[1]]
    im = doc_files.images[1]
    for source in (doc_files.png, str(doc_files.png), doc_files.png.read_bytes(), np.asarray(im), im.convert("RGB"),
                   np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1])):
        doc = ocr(source)
        assert len(doc.pages) == 1 and doc.page_count == 1, type(source)
        assert_pages_read([doc.text], pages=want)
    assert ocr(doc_files.png).pages[0].dpi == DPI and ocr(doc_files.png).format == "png"
    with pytest.raises(TypeError):
        ocr(12345)
    # a single image keeps today's API shape through the page's own result
    shape = {"success", "text", "lines", "elapsed_ms", "model", "detector", "rotation", "image"}
    assert set(ocr(doc_files.png).pages[0].result.to_dict()) == shape


def test_documents_in_threads(ocr, doc_files):
    """pdfium is not thread-safe: the package serialises it (document.PDFIUM_LOCK)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        docs = list(pool.map(lambda i: ocr(doc_files.scan, pages=str(i % 3 + 1)).to_pdf(), range(6)))
    assert all(len(pdfium.PdfDocument(d)) == 1 for d in docs)


def test_progress_callback_and_options(ocr, doc_files):
    from slim_ocr.document import InvalidDpi, InvalidMode

    seen = []
    ocr(doc_files.tiff, on_page=lambda page: seen.append(page.number))
    assert seen == [1, 2, 3]
    with pytest.raises(InvalidDpi):
        ocr(doc_files.scan, dpi=10)
    with pytest.raises(InvalidMode):
        ocr(doc_files.scan, mode="words")


def test_large_pdf_page_rendered_within_the_pixel_limit(ocr, doc_files, monkeypatch):
    from slim_ocr import document

    monkeypatch.setattr(document, "MAX_PAGE_PIXELS", 2_000_000)
    page = ocr(doc_files.scan, pages="1").pages[0]
    assert page.width * page.height <= 2_000_000 and page.dpi < DPI and page.notes
    assert "dpi" in page.notes[0]


def test_large_tiff_frame_reduced_boxes_in_its_own_pixels(ocr, doc_files, monkeypatch):
    from slim_ocr import document

    full = ocr(doc_files.tiff, pages="1").pages[0]
    monkeypatch.setattr(document, "MAX_PAGE_PIXELS", 1_100_000)   # 1654 x 2339 is 3.9 M: halved
    page = ocr(doc_files.tiff, pages="1").pages[0]
    assert abs(page.width - 1654) <= 2 and abs(page.height - 2339) <= 2 and page.dpi == DPI
    assert len(page.lines) == len(full.lines)
    for a, b in zip(page.lines, full.lines):                       # the frame's own pixels
        assert np.abs(np.array(a.box) - np.array(b.box)).max() <= 8, (a.box, b.box)
    assert_pages_read([page.text], min_f1=0.9, pages=[PAGES[0]])


# ---- bad input: clean errors the API maps to 4xx ---------------------------------------------------
def test_bad_inputs_raise_ocr_errors(ocr, doc_files, tmp_path):
    from slim_ocr.document import EncryptedDocument, InvalidDocument, TooManyPages
    from slim_ocr.errors import ImageTooLarge, InvalidImage, OcrError, UnsupportedMediaType

    cases = [
        (b"%PDF-1.7\n" + bytes(range(256)) * 8, InvalidDocument, 400),               # a PDF header, then junk
        (doc_files.scan.read_bytes()[:3000], InvalidDocument, 400),                  # truncated
        (doc_files.tiff.read_bytes()[:600], InvalidDocument, 400),                   # truncated TIFF
        (b"GIF89a" + b"\0" * 100, UnsupportedMediaType, 415),
        (b"hello, world: not a document", UnsupportedMediaType, 415),
        (b"", InvalidImage, 400),
    ]
    for data, cls, status in cases:
        with pytest.raises(cls) as e:
            ocr(data)
        assert isinstance(e.value, OcrError) and e.value.status == status and e.value.message

    from slim_ocr import SlimOCR

    small = SlimOCR(engine=ocr.engine, max_pages=2)
    with pytest.raises(TooManyPages) as e:
        small(doc_files.scan)
    assert e.value.status == 413 and isinstance(e.value, ImageTooLarge) and "S3 batch" in e.value.message
    assert len(small(doc_files.scan, pages="1-2").pages) == 2

    pikepdf = pytest.importorskip("pikepdf")
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(doc_files.scan) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(EncryptedDocument) as e:
        ocr(locked)
    assert e.value.status == 400 and "password" in e.value.message
    with pytest.raises(EncryptedDocument):
        ocr(locked, password="wrong")
    assert len(ocr(locked, password="secret", pages="1").pages[0].lines) == 5
    # an owner password only (no user password): readable without one, as viewers do
    open_ = tmp_path / "owner-only.pdf"
    with pikepdf.open(doc_files.scan) as pdf:
        pdf.save(open_, encryption=pikepdf.Encryption(user="", owner="owner"))
    assert len(ocr(open_, pages="2").pages) == 1


def test_document_errors_subclass_the_package_errors():
    from slim_ocr import document, errors

    for name in ("InvalidDocument", "EncryptedDocument", "TooManyPages", "InvalidPageRange", "InvalidDpi",
                 "InvalidMode"):
        cls = getattr(document, name)
        assert issubclass(cls, errors.OcrError) and 400 <= cls.status < 500 and cls.code != "bad_request"


# ---- hOCR -----------------------------------------------------------------------------------------
def test_split_words():
    from slim_ocr.hocr import line_language, split_words

    def words(t):
        return [t[s:e] for s, e in split_words(t)]

    assert words("Scanned pages become") == ["Scanned", "pages", "become"]
    assert words("订单编号 20261215 金额") == ["订", "单", "编", "号", "20261215", "金", "额"]
    assert words("共3页，第2行") == ["共3页，第2行"]             # mixed tokens stay whole
    assert words("  ") == [] and words("你好。") == ["你", "好", "。"]
    assert line_language("Hello 你好") == "chi_sim" and line_language("Hello") == "eng"


def test_hocr_is_valid_and_consumers_read_it(ocr, doc_files, tmp_path):
    import xml.etree.ElementTree as ET

    doc = ocr(doc_files.scan)
    hocr = doc.to_hocr()
    root = ET.fromstring(hocr.encode("utf-8"))               # well-formed XHTML
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = root.findall(".//h:div[@class='ocr_page']", ns)
    assert [p.get("title") for p in pages] == [f'image "scan.pdf"; bbox 0 0 1654 2339; ppageno {i}; scan_res 200 200'
                                               for i in range(3)]
    for page_el, page in zip(pages, doc.pages):
        lines = page_el.findall(".//h:span[@class='ocr_line']", ns)
        assert len(lines) == len(page.lines)
        for line_el, line in zip(lines, page.lines):
            pb = [int(v) for v in line_el.get("title").split(";")[0].split()[1:]]
            words = line_el.findall("h:span[@class='ocrx_word']", ns)
            assert words and all("x_wconf" in w.get("title") for w in words)
            for w in words:
                wb = [int(v) for v in w.get("title").split(";")[0].split()[1:]]
                assert pb[0] <= wb[0] < wb[2] <= pb[2] and pb[1] <= wb[1] < wb[3] <= pb[3]   # contained
            assert "".join(w.text for w in words) == line.text.replace(" ", "")

    # OCRmyPDF's hOCR parser (its own consumer) reads the same lines and words
    hocrtransform = pytest.importorskip("ocrmypdf.hocrtransform")
    from slim_ocr.hocr import split_words, to_hocr

    one = tmp_path / "page.hocr"
    for page in doc.pages:
        one.write_text(to_hocr([page]), encoding="utf-8")
        tree = hocrtransform.HocrParser(one).parse()
        assert tree.bbox.right == 1654 and tree.dpi == DPI
        got = [[w.text for w in ln.children] for par in tree.children for ln in par.children]
        want = [[unicodedata.normalize("NFKC", ln.text[s:e]) for s, e in split_words(ln.text)]
                for ln in page.lines]
        assert got == want
        assert all(ln.language in ("chi_sim", "eng") and ln.baseline is not None
                   for par in tree.children for ln in par.children)

    # hocr-tools' checker, when installed (requirements-dev pins it); one page per file, as it
    # compares every line of the file with every other
    if shutil.which("hocr-check"):
        for page in doc.pages:
            one.write_text(to_hocr([page]), encoding="utf-8")
            r = subprocess.run(["hocr-check", str(one)], capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and "ok" in r.stderr and "not ok" not in r.stderr, r.stderr


# ---- searchable PDF --------------------------------------------------------------------------------
def test_glyphless_font_is_a_valid_truetype_font():
    ttLib = pytest.importorskip("fontTools.ttLib")
    from slim_ocr.searchable_pdf import glyphless_font

    data = glyphless_font()
    assert len(data) < 1024 and ttLib.TTFont(io.BytesIO(data))["glyf"]["glyph00002"].xMax == 1000
    font = ttLib.TTFont(io.BytesIO(data), checkChecksums=2)     # raises on a bad checksum
    font.ensureDecompiled()
    assert font["head"].unitsPerEm == 1000 and font["maxp"].numGlyphs == 3
    assert [font["hmtx"][g][0] for g in font.getGlyphOrder()] == [500, 500, 1000]


@needs_pdftotext
def test_searchable_pdf_from_a_scanned_pdf(ocr, doc_files, tmp_path):
    doc = ocr(doc_files.scan)
    out = tmp_path / "searchable.pdf"
    data = doc.to_pdf(out)
    assert out.read_bytes() == data
    # pdftotext returns the recognised text, page by page, in reading order
    for page in doc.pages:
        got = [ln.strip() for ln in pdftotext(out, page.number).splitlines() if ln.strip()]
        assert got == [ln.text for ln in page.lines]
    # the original pages are kept as they were: the text layer draws nothing
    src, res = pdfium.PdfDocument(str(doc_files.scan)), pdfium.PdfDocument(data)
    try:
        for i in range(3):
            assert src[i].get_size() == res[i].get_size()
            a = src[i].render(scale=1, grayscale=True).to_numpy()
            b = res[i].render(scale=1, grayscale=True).to_numpy()
            assert np.array_equal(a, b)
    finally:
        src.close()
        res.close()
    # a page range gives just those pages
    assert len(pdfium.PdfDocument(ocr(doc_files.scan, pages="2").to_pdf())) == 1


@needs_pdftotext
def test_searchable_pdf_text_covers_the_line_boxes(ocr, doc_files, tmp_path):
    """Selection: each line's text spans its box (pdftotext's line boxes vs ours, in points)."""
    import xml.etree.ElementTree as ET

    doc = ocr(doc_files.tiff, pages="1")
    out = tmp_path / "tiff.pdf"
    doc.to_pdf(out)
    page = doc.pages[0]
    xml = pdftotext(out, 1, "-bbox-layout")
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    boxes = [[float(el.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")]
             for el in ET.fromstring(xml).findall(".//h:line", ns)]
    assert len(boxes) == len(page.lines)
    s = 72 / DPI
    for got, line in zip(boxes, page.lines):
        xs, ys = [p[0] * s for p in line.box], [p[1] * s for p in line.box]
        want = [min(xs), min(ys), max(xs), max(ys)]
        assert all(abs(g - w) < 1.0 for g, w in zip(got, want)), (got, want, line.text)
    # the page is the image at its dpi: A4
    w, h = pdfium.PdfDocument(str(out))[0].get_size()
    assert abs(w - 595.44) < 0.5 and abs(h - 842.04) < 0.5


@needs_pdftotext
def test_searchable_pdf_from_tiff_and_images(ocr, doc_files, tmp_path):
    doc = ocr(doc_files.tiff)
    out = tmp_path / "tiff.pdf"
    doc.to_pdf(out)
    for page in doc.pages:
        assert [ln.strip() for ln in pdftotext(out, page.number).splitlines() if ln.strip()] == \
               [ln.text for ln in page.lines]
    # JPEG input is embedded as it is (no re-encoding)
    jpeg = io.BytesIO()
    doc_files.images[0].save(jpeg, "JPEG", quality=90, dpi=(DPI, DPI))
    jdoc = ocr(jpeg.getvalue())
    pdf = jdoc.to_pdf()
    assert jpeg.getvalue() in pdf
    assert [ln.strip() for ln in pdftotext(_write(tmp_path / "j.pdf", pdf)).splitlines() if ln.strip()] == \
           [ln.text for ln in jdoc.pages[0].lines]
    # an array (no file) gives a page too
    arr = ocr(np.asarray(doc_files.images[2]))
    assert len(pdfium.PdfDocument(arr.to_pdf())) == 1
    if shutil.which("qpdf"):
        r = subprocess.run(["qpdf", "--check", str(out)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr


def test_tiff_frames_of_any_mode(ocr, doc_files, tmp_path):
    """Colour, 16-bit and 1-bit frames: read, and kept as such in the searchable PDF."""
    gray = np.asarray(doc_files.images[0])
    rgb = Image.fromarray(np.stack([gray, gray, np.full_like(gray, 255)], axis=2))       # blue paper
    deep = Image.fromarray(gray.astype(np.uint16) * 257)                                 # 16 bit
    bilevel = doc_files.images[0].point(lambda v: 255 if v > 128 else 0).convert("1")
    path = tmp_path / "modes.tif"
    rgb.save(path, save_all=True, append_images=[deep, bilevel], compression="tiff_deflate", dpi=(DPI, DPI))
    doc = ocr(path)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert_pages_read([p.text for p in doc.pages], pages=[PAGES[0]] * 3)
    pdf = doc.to_pdf()
    assert b"/DeviceRGB" in pdf and b"/BitsPerComponent 1" in pdf
    res = pdfium.PdfDocument(pdf)
    assert len(res) == 3 and res[0].get_textpage().get_text_range().startswith(doc.pages[0].lines[0].text)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@needs_pdftotext
@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript missing")
def test_text_layer_survives_ghostscript(ocr, doc_files, tmp_path):
    """OCRmyPDF's PDF/A step may rewrite the file with Ghostscript: the CJK text must survive."""
    src = tmp_path / "in.pdf"
    ocr(doc_files.tiff, pages="1").to_pdf(src)
    out = tmp_path / "gs.pdf"
    subprocess.run(["gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite", f"-sOutputFile={out}",
                    str(src)], check=True, timeout=60)
    assert [ln.strip() for ln in pdftotext(out).splitlines() if ln.strip()] == \
           [ln.strip() for ln in pdftotext(src).splitlines() if ln.strip()]


@needs_pdftotext
@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript missing")
def test_full_width_punctuation_survives_ghostscript(tmp_path):
    """Full-width forms (U+FF00...), which PP-OCR models emit, and CJK compatibility ideographs
    read back the same after a Ghostscript rewrite (its ToUnicode ranges above U+F900 broke them)."""
    from slim_ocr.searchable_pdf import LayerPage, pixel_matrix, text_only_pdf
    texts = ["第一页：扫描文档，（测试）！？", "全角ＡＢＣ１２３ 空格", "“引号”…—·、。《》【】 ﹏ 豈", "ASCII: a,b (c) 100%"]
    lines = [SimpleNamespace(text=t, box=[[10, 10 + 40 * i], [600, 10 + 40 * i], [600, 40 + 40 * i], [10, 40 + 40 * i]],
                             confidence=1.0) for i, t in enumerate(texts)]
    src = tmp_path / "in.pdf"
    src.write_bytes(text_only_pdf([LayerPage((0, 0, 612, 792), lines, pixel_matrix(792, 72))]))
    out = tmp_path / "gs.pdf"
    subprocess.run(["gs", "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pdfwrite", f"-sOutputFile={out}",
                    str(src)], check=True, timeout=60)
    for path in (src, out):
        assert [ln.strip() for ln in pdftotext(path).splitlines() if ln.strip()] == texts, path.name


def test_text_layer_follows_rotated_and_cropped_pages(doc_files, tmp_path):
    """For a PDF page with /Rotate and a crop box, the text lands where the rendered pixels were."""
    import ctypes

    import pypdfium2.raw as raw

    from slim_ocr.document import PdfSource
    from slim_ocr.searchable_pdf import add_text_layer

    src = pdfium.PdfDocument(str(doc_files.scan))
    src[0].set_rotation(90)
    src[0].set_cropbox(20, 30, 560, 800)
    buf = io.BytesIO()
    src.save(buf)
    src.close()
    data = buf.getvalue()
    with PdfSource(data) as pdf:
        img = next(pdf.pages([1], dpi=100))
    box = [[300, 200], [700, 200], [700, 240], [300, 240]]
    line = SimpleNamespace(text="ROTATED 文字", box=box, confidence=1.0)
    out = pdfium.PdfDocument(add_text_layer(data, [1], {1: ([line], img.to_user)}))
    page = out[0]
    assert page.get_rotation() == 90
    tp = page.get_textpage()
    assert tp.get_text_range().strip() == "ROTATED 文字"
    first, last = tp.get_charbox(0), tp.get_charbox(tp.count_chars() - 1)

    def device(x, y):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page, 0, 0, img.width, img.height, 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
        return dx.value, dy.value

    corners = [device(x, y) for box_ in (first, last) for x in (box_[0], box_[2]) for y in (box_[1], box_[3])]
    assert all(296 <= x <= 704 and 196 <= y <= 244 for x, y in corners), corners
    xs = [x for x, _ in corners]
    assert min(xs) <= 305 and max(xs) >= 695                   # the text spans the box


# ---- the package's lazy export -------------------------------------------------------------------
def test_slimocr_is_exported_lazily():
    code = ("import sys, slim_ocr; assert 'slim_ocr.api' not in sys.modules; "
            "from slim_ocr import SlimOCR, Document, Page; assert 'slim_ocr.api' in sys.modules; "
            "assert SlimOCR.__module__ == 'slim_ocr.api'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=REPO)
    code = "import sys, app; assert 'slim_ocr.api' not in sys.modules and 'pypdfium2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=REPO / "function",
                   env={**os.environ, "OCR_THREADS": "1"})


# ---- the HTTP API: documents through the same routes as images -------------------------------
def test_http_api_reads_pdf_and_tiff_pages(client, doc_files):
    import base64
    scan = doc_files.scan.read_bytes()
    r = client.post("/api/v1/ocr", json={"image_base64": base64.b64encode(scan).decode(), "pages": "1,3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["page_count"] == 3 and [p["page"] for p in body["pages"]] == [1, 3] and body["model"] == DEFAULT_MODEL
    assert_pages_read([p["text"] for p in body["pages"]], pages=[PAGES[0], PAGES[2]])
    r = client.post("/predict", files={"image": ("scan.tif", doc_files.tiff.read_bytes(), "image/tiff")},
                    data={"format": "text"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert_pages_read(r.text.split("\f"))                                   # every TIFF page
    r = client.post("/predict", files={"image": ("scan.pdf", scan, "application/pdf")},
                    data={"format": "hocr", "pages": "2"})
    assert r.status_code == 200 and "application/xhtml+xml" in r.headers["content-type"]
    assert r.text.count("class='ocr_page'") + r.text.count('class="ocr_page"') == 1 and "ocr_line" in r.text


def test_http_api_single_images_keep_their_shape_and_validate_pages(client, doc_files):
    png = doc_files.png.read_bytes()
    r = client.post("/predict", files={"image": ("p.png", png, "image/png")}, data={"mode": "page"})
    assert r.status_code == 200 and set(r.json()) == {"success", "text", "lines", "elapsed_ms", "model", "detector", "rotation", "image"}
    assert_pages_read([r.json()["text"]], pages=[PAGES[1]])
    r = client.post("/predict", files={"image": ("p.png", png, "image/png")}, data={"pages": "2"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_pages"
    r = client.post("/predict", files={"image": ("x.pdf", b"%PDF-1.7\nnot really a pdf", "application/pdf")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_document"
