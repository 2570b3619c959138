"""Multi-page input: PDF pages rendered with pypdfium2, multi-page TIFF frames via Pillow, and
single images through ``image_io`` -- one :class:`PageImage` at a time, so a long document never
holds more than one page raster in memory.

``open_document(data)`` sniffs the bytes and returns a :class:`SourceDocument`;
``SourceDocument.pages(selection, dpi=..., color=...)`` yields the selected pages. Page ranges
are 1-based strings such as ``"1-3,5"``, ``"4-"`` or ``"-2"`` (:func:`parse_pages`).

PDF pages that already carry text (a born-digital PDF, or one OCRed before) are reported with
``has_text_layer=True`` and their embedded text; they are rendered (and OCRed) only when the
caller asks (``render_text_pages=True``, the API's ``force_ocr``).

Limits (named constants, each overridable by the environment variable of the same name):

* ``DEFAULT_DPI = 200``. Measured on 4-page A4 PDFs in a held-out font (wqy-microhei) at 7, 8,
  9, 10.5, 12 and 14 pt, one ORT thread on this 2-core shared machine, model ``crnn``:
  character F1 150 dpi 0.9948 / 200 dpi 0.9963 / 300 dpi 0.9952 on the 7-8 pt pages and
  0.9942 / 0.9937 / 0.9924 on the 9-14 pt pages (100 dpi: 0.9927), at ~300-410 ms per dense page
  (30-60 lines) at every dpi -- recognition dominates; rendering costs 3 / 5 / 12 ms and line
  detection runs on a copy downscaled to 1,600 px anyway. 200 dpi puts 8-12 pt text at
  22-33 px per em, where the recogniser reads best, and keeps a page raster at 3.9 MB (A4, gray).
* ``MAX_DPI = 600``, ``MIN_DPI = 50``: beyond 600 dpi nothing is gained (lines are resized to the
  model's 32-48 px height) and a page raster grows with dpi squared.
* ``MAX_PAGE_PIXELS = 16 M`` (``image_io.FULL_RES_PIXELS``, where single images start being
  reduced while decoding): a PDF page whose render at the asked dpi would exceed it (A4 at 400
  dpi is 15.5 M, an A0 poster at 200 dpi 62 M) is rendered at the highest dpi that fits instead
  (``PageImage.dpi`` says which, with a note); a TIFF frame over it is reduced by an integer
  factor after decoding (``PageImage.scale``; boxes stay in the frame's own pixels), and one over
  ``image_io.MAX_PIXELS`` (40 M) or whose decoded size exceeds ``image_io.DECODE_BUDGET`` (a
  quarter of the function's memory) is refused. 16 M gray pixels are 16 MB, ~60 MB with pdfium's
  and the detector's working copies: small beside the model and runtime (~100 MB) and the
  recogniser's ORT arena (measured peak RSS ~715 MB on a page of 47 long lines with batch 32,
  ~340 MB with batch 8, ~230 MB on a 5-line page), which is the same for a single image.
* ``MAX_PAGES = 1000`` pages per document in one call (CLI, Python API, S3 batch): pages are
  processed one at a time, so memory does not grow with it; time does (~0.3-0.4 s per dense
  page on one core: 1,000 pages is 5-7 minutes, inside batch Lambda's 15-minute ceiling).
* ``SYNC_MAX_PAGES = 25``: what the synchronous HTTP API should accept. API Gateway answers
  within 29 s; at ~0.3-0.4 s per dense page on one core here (0.06-0.1 s for a sparse one), ~0.7 s
  on a 1,024 MB Lambda (0.58 vCPU), plus upload, decode and a cold start (~2-3 s), ~35 dense
  pages fit; 25 keeps a margin of ~1.5x (and ~2.5x on 2,048 MB). Longer documents go through
  S3 batch (``incoming/``).
* ``MAX_DOCUMENT_BYTES = 64 MiB``: the file size the library, CLI and batch read (the HTTP API
  keeps its own, lower, request limit: Lambda's 6 MB payload).

Bad input raises the package's :class:`~slim_ocr.errors.OcrError` subclasses (so the API maps
them to 4xx): :class:`InvalidDocument` (corrupt PDF/TIFF), :class:`EncryptedDocument` (needs a
password), :class:`TooManyPages` (413), :class:`InvalidPageRange`, :class:`InvalidDpi`, :class:`InvalidMode`; plus
``image_io``'s own (``UnsupportedMediaType`` 415, ``ImageTooLarge`` 413, ``InvalidImage``).
"""
from __future__ import annotations

import io
import math
import os
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import ImageTooLarge, InvalidImage, OcrError, UnsupportedMediaType
from .image_io import DECODE_BUDGET, FULL_RES_PIXELS, MAX_PIXELS, decode_image, sniff


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


DEFAULT_DPI = _env_int("DEFAULT_DPI", 200)
MIN_DPI = 50
MAX_DPI = 600
MAX_PAGE_PIXELS = _env_int("MAX_PAGE_PIXELS", FULL_RES_PIXELS)
MAX_PAGES = _env_int("MAX_PAGES", 1000)
SYNC_MAX_PAGES = _env_int("SYNC_MAX_PAGES", 25)
MAX_DOCUMENT_BYTES = _env_int("MAX_DOCUMENT_BYTES", 64 * 1024 * 1024)

# PDFium is not thread-safe (not even across documents): every pypdfium2 call of the package
# holds this lock -- opening, text extraction, rendering, closing, searchable_pdf's grafting.
# Recognition runs outside it, so two requests in two threads overlap everywhere but in pdfium.
PDFIUM_LOCK = threading.RLock()

# DPI assumed for an image whose file says none (a screenshot): only sizes the PDF page.
FALLBACK_IMAGE_DPI = DEFAULT_DPI

DOCUMENT_FORMATS = "PDF, TIFF (multi-page), PNG, JPEG, WebP, BMP"
EXTENSIONS = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".webp", ".bmp")


# ---- errors (subclasses of the package's, so the API maps them to 4xx) -----------------------
class InvalidDocument(InvalidImage):
    status, code = 400, "invalid_document"


class EncryptedDocument(InvalidDocument):
    status, code = 400, "encrypted_document"


class TooManyPages(ImageTooLarge):
    status, code = 413, "too_many_pages"


class InvalidPageRange(OcrError):
    status, code = 400, "invalid_pages"


class InvalidDpi(OcrError):
    status, code = 400, "invalid_dpi"


class InvalidMode(OcrError):
    status, code = 400, "invalid_mode"


# ---- page ranges --------------------------------------------------------------------------------
_RANGE_ITEM = re.compile(r"^\s*(\d*)\s*(-?)\s*(\d*)\s*$")


def parse_pages(spec: str | None, page_count: int) -> list[int]:
    """``"1-3,5"`` -> ``[1, 2, 3, 5]`` (1-based, ascending, each page once). ``None``, ``""`` or
    ``"all"``: every page. ``"4-"``: page 4 to the end; ``"-2"``: pages 1-2. A page beyond the
    document, a reversed range or page 0 raises :class:`InvalidPageRange`."""
    if spec is None or not str(spec).strip() or str(spec).strip().lower() == "all":
        return list(range(1, page_count + 1))
    chosen: set[int] = set()
    for item in str(spec).split(","):
        m = _RANGE_ITEM.match(item)
        if not m or not (m.group(1) or m.group(3)) or (not m.group(2) and not m.group(1)):
            raise InvalidPageRange(f"invalid page range {spec!r}: use e.g. '1-3,5', '4-' or '-2'")
        lo = int(m.group(1)) if m.group(1) else 1
        hi = (int(m.group(3)) if m.group(3) else page_count) if m.group(2) else lo
        if lo < 1 or hi < 1:
            raise InvalidPageRange(f"invalid page range {spec!r}: pages are numbered from 1")
        if hi < lo:
            raise InvalidPageRange(f"invalid page range {spec!r}: {lo}-{hi} is reversed")
        if lo > page_count or hi > page_count:
            raise InvalidPageRange(f"page {max(lo, hi)} is out of range: the document has "
                                   f"{page_count} page{'s' if page_count != 1 else ''}")
        chosen.update(range(lo, hi + 1))
    return sorted(chosen)


def check_dpi(dpi: float) -> float:
    try:
        value = float(dpi)
    except (TypeError, ValueError):
        raise InvalidDpi(f"dpi must be a number, not {dpi!r}") from None
    if not (MIN_DPI <= value <= MAX_DPI):
        raise InvalidDpi(f"dpi must be between {MIN_DPI} and {MAX_DPI}, not {dpi}")
    return value


# ---- pages ----------------------------------------------------------------------------------------
@dataclass
class PageImage:
    """One page of a document, ready for the OCR engine (``gray`` is what the detector reads)."""
    number: int                                 # 1-based page number in the source
    dpi: float                                  # pixels per inch of ``gray`` (rendered or from the file)
    format: str                                 # pdf | tiff | png | jpeg | ...
    gray: np.ndarray | None = None              # uint8 (H, W); None for a text page not rendered
    scale: float = 1.0                          # source pixels per pixel of ``gray`` (> 1: reduced)
    color: np.ndarray | None = None             # uint8 (H, W, 3) BGR when asked for
    has_text_layer: bool = False
    text_layer: str | None = None               # the page's embedded text, when it has some
    # PDF only: the page's size in points and the affine map from pixel (x, y) to PDF user
    # space, (a, b, c, d, e, f) as in a PDF matrix: x' = a x + c y + e, y' = b x + d y + f.
    size_pt: tuple[float, float] | None = None
    to_user: tuple[float, float, float, float, float, float] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return int(self.gray.shape[1]) if self.gray is not None else 0

    @property
    def height(self) -> int:
        return int(self.gray.shape[0]) if self.gray is not None else 0


def sniff_document(data: bytes) -> str:
    """``pdf``, ``tiff``, or an image format ``image_io`` decodes (raises UnsupportedMediaType)."""
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    try:
        return sniff(data)
    except UnsupportedMediaType as e:
        # the PDF header may follow up to 1 KB of junk (PDF 1.7, annex H); image magic wins
        if b"%PDF-" in data[:1024]:
            return "pdf"
        if data.startswith(b"GIF8"):
            raise
        raise UnsupportedMediaType(f"not a supported document or image; send one of {DOCUMENT_FORMATS}") from e


class SourceDocument:
    """An opened input: ``format``, ``page_count``, ``pages(...)``. Use as a context manager."""
    format: str = ""
    page_count: int = 0

    def pages(self, numbers: list[int] | None = None, dpi: float = DEFAULT_DPI, color: bool = False,
              render_text_pages: bool = False) -> Iterator[PageImage]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def select(self, pages: str | list[int] | None, max_pages: int = MAX_PAGES) -> list[int]:
        """The 1-based page numbers ``pages`` names, checked against the document and ``max_pages``."""
        numbers = parse_pages(pages, self.page_count) if pages is None or isinstance(pages, str) \
            else parse_pages(",".join(str(int(p)) for p in pages), self.page_count)
        if len(numbers) > max_pages:
            raise TooManyPages(f"{len(numbers)} pages selected, at most {max_pages} per request; "
                               "choose a page range (pages='1-10') or use the S3 batch mode")
        return numbers


def open_document(data: bytes, password: str | None = None) -> SourceDocument:
    """Open PDF, TIFF or single-image bytes. Raises the OcrError subclasses above on bad input."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ImageTooLarge(f"document too large (max {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB)")
    if len(data) < 8:
        raise InvalidImage("document data is empty or truncated")
    fmt = sniff_document(data)
    if fmt == "pdf":
        return PdfSource(data, password)
    if fmt == "tiff":
        return TiffSource(data)
    return ImageSource(data, fmt)


def read_file(path) -> bytes:
    """A file's bytes, refusing one over MAX_DOCUMENT_BYTES before reading it."""
    size = os.path.getsize(path)
    if size > MAX_DOCUMENT_BYTES:
        raise ImageTooLarge(f"{os.fspath(path)}: document too large ({size / 2**20:.1f} MB, "
                            f"max {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB)")
    with open(path, "rb") as f:
        return f.read()


def _image_dpi(info: dict) -> float:
    dpi = info.get("dpi")
    try:
        x = float(dpi[0] if isinstance(dpi, (tuple, list)) else dpi)
    except (TypeError, ValueError, IndexError):
        return float(FALLBACK_IMAGE_DPI)
    return round(x, 2) if 30 <= x <= 4800 else float(FALLBACK_IMAGE_DPI)   # PNG stores dots per metre


# ---- PDF (pypdfium2) ------------------------------------------------------------------------------
def render_scale(w_pt: float, h_pt: float, dpi: float) -> float:
    """Pixels per point for a page of ``w_pt`` x ``h_pt`` at ``dpi``, lowered to fit MAX_PAGE_PIXELS."""
    # a hair under dpi/72: pdfium sizes the bitmap with ceil(), and an image PDF's page of
    # 1654 px at 200 dpi (595.44 pt) would otherwise come out 1655 px wide
    scale = dpi / 72.0 * (1 - 1e-7)
    if math.ceil(w_pt * scale) * math.ceil(h_pt * scale) > MAX_PAGE_PIXELS:
        scale = math.sqrt(MAX_PAGE_PIXELS / max(1.0, w_pt * h_pt)) * 0.999
    return scale


def render_size(w_pt: float, h_pt: float, dpi: float) -> tuple[int, int, float]:
    """(width, height, dpi) of the raster ``PdfSource.pages`` renders such a page to at ``dpi``."""
    scale = render_scale(w_pt, h_pt, dpi)
    return math.ceil(w_pt * scale), math.ceil(h_pt * scale), round(scale * 72, 2)


class PdfSource(SourceDocument):
    format = "pdf"

    def __init__(self, data: bytes, password: str | None = None):
        try:
            import pypdfium2 as pdfium  # noqa: PLC0415 -- optional extra "pdf"; imported on first PDF
        except ImportError:
            raise UnsupportedMediaType("PDF input needs pypdfium2 (pip install 'slim-ocr[pdf]')") from None
        self._pdfium = pdfium
        self.data = data
        self.password = password
        try:
            with PDFIUM_LOCK:
                self.doc = pdfium.PdfDocument(data, password=password)
        except pdfium.PdfiumError as e:
            import pypdfium2.raw as raw  # noqa: PLC0415

            if getattr(e, "err_code", None) == raw.FPDF_ERR_PASSWORD:
                raise EncryptedDocument("the PDF is encrypted: it needs a password" if password is None
                                        else "the PDF's password is wrong") from None
            raise InvalidDocument("could not read the PDF (corrupt or truncated?)") from None
        with PDFIUM_LOCK:
            self.page_count = len(self.doc)
        if self.page_count < 1:
            raise InvalidDocument("the PDF has no pages")

    def close(self) -> None:
        with PDFIUM_LOCK:
            self.doc.close()

    def text_layer(self, index: int, page=None) -> str:
        with PDFIUM_LOCK:
            return self._text_layer(index, page)

    def _text_layer(self, index: int, page=None) -> str:
        own = page is None
        page = page or self.doc[index]
        try:
            tp = page.get_textpage()
            try:
                n = tp.count_chars()
                return tp.get_text_range().replace("\r\n", "\n").replace("\r", "\n") if n > 0 else ""
            finally:
                tp.close()
        finally:
            if own:
                page.close()

    def pages(self, numbers=None, dpi=DEFAULT_DPI, color=False, render_text_pages=False):
        numbers = numbers if numbers is not None else list(range(1, self.page_count + 1))
        dpi = check_dpi(dpi)
        for n in numbers:
            with PDFIUM_LOCK:
                try:
                    page = self.doc[n - 1]
                except Exception:  # noqa: BLE001 -- pdfium could not parse this page
                    raise InvalidDocument(f"could not read page {n} of the PDF") from None
                try:
                    img = self._page(page, n, dpi, color, render_text_pages)
                finally:
                    page.close()
            yield img

    def _page(self, page, n: int, dpi: float, color: bool, render_text_pages: bool) -> PageImage:
        w_pt, h_pt = page.get_size()
        text = self.text_layer(n - 1, page)
        has_text = bool(text.strip())
        img = PageImage(number=n, dpi=dpi, format="pdf", has_text_layer=has_text,
                        text_layer=text if has_text else None, size_pt=(w_pt, h_pt))
        if has_text and not render_text_pages:
            return img
        scale = render_scale(w_pt, h_pt, dpi)
        if scale < dpi / 72.0 * (1 - 1e-6):
            img.notes.append(f"page rendered at {scale * 72:.0f} dpi (the page is large; "
                             f"{MAX_PAGE_PIXELS / 1e6:g} megapixel limit)")
            img.dpi = round(scale * 72, 2)
        if w_pt * scale < 1 or h_pt * scale < 1:
            raise InvalidDocument(f"page {n} of the PDF has no area")
        try:
            bitmap = page.render(scale=scale, grayscale=not color)
            arr = bitmap.to_numpy()
        except Exception:  # noqa: BLE001 -- a render failure is a property of this file
            raise InvalidDocument(f"could not render page {n} of the PDF") from None
        if color:
            img.color = np.ascontiguousarray(arr[:, :, :3])
            img.gray = cv2.cvtColor(img.color, cv2.COLOR_BGR2GRAY)
        else:
            img.gray = np.array(arr, copy=True)
        bitmap.close()
        img.to_user = self._device_to_user(page, img.width, img.height)
        return img

    def _device_to_user(self, page, width: int, height: int):
        """Affine pixel -> PDF user space of a render of ``page`` at width x height (rotation and
        crop box included), from pdfium's own device-to-page mapping of three corners."""
        import ctypes  # noqa: PLC0415

        import pypdfium2.raw as raw  # noqa: PLC0415

        def to_page(x: int, y: int) -> tuple[float, float]:
            px, py = ctypes.c_double(), ctypes.c_double()
            raw.FPDF_DeviceToPage(page, 0, 0, width, height, 0, x, y, ctypes.byref(px), ctypes.byref(py))
            return px.value, py.value

        o, ex, ey = to_page(0, 0), to_page(width, 0), to_page(0, height)
        a, b = (ex[0] - o[0]) / width, (ex[1] - o[1]) / width
        c, d = (ey[0] - o[0]) / height, (ey[1] - o[1]) / height
        return (a, b, c, d, o[0], o[1])


# ---- TIFF (Pillow, every frame) ---------------------------------------------------------------------
def pil_to_arrays(im, color: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """A PIL image (any mode) -> (gray uint8, BGR uint8 or None); alpha composited on white,
    16-bit reduced to 8 bit."""
    from PIL import Image  # noqa: PLC0415

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im)
        a = (a >> 8).astype(np.uint8) if a.max(initial=0) > 255 else a.astype(np.uint8)
        im = Image.fromarray(a, "L")
    elif im.mode == "F":
        im = Image.fromarray(np.clip(np.asarray(im), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, rgba).convert("RGB")
    if color:
        rgb = np.asarray(im.convert("RGB"))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), bgr
    return np.array(im.convert("L")), None


class TiffSource(SourceDocument):
    format = "tiff"

    def __init__(self, data: bytes):
        from PIL import Image  # noqa: PLC0415

        self.data = data
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.im = Image.open(io.BytesIO(data))
                self.page_count = int(getattr(self.im, "n_frames", 1))
        except Exception:  # noqa: BLE001 -- any parser failure means the file is not usable
            raise InvalidDocument("could not read the TIFF (corrupt or truncated?)") from None
        if self.page_count < 1:
            raise InvalidDocument("the TIFF has no pages")

    def close(self) -> None:
        self.im.close()

    def frame(self, n: int):
        """Frame ``n`` (1-based) as a loaded PIL image, orientation applied; checks the pixel limit."""
        from PIL import ImageOps  # noqa: PLC0415

        try:
            self.im.seek(n - 1)
            w, h = self.im.size
        except Exception:  # noqa: BLE001
            raise InvalidDocument(f"could not read page {n} of the TIFF") from None
        if w <= 0 or h <= 0:
            raise InvalidDocument(f"page {n} of the TIFF has zero width or height")
        if w * h > MAX_PIXELS:
            raise ImageTooLarge(f"page {n} of the TIFF is too large: {w}x{h} pixels "
                                f"(max {MAX_PIXELS // 1_000_000} megapixels)")
        bands = len(self.im.getbands())
        if w * h * bands * (2 if self.im.mode.startswith("I") else 1) > DECODE_BUDGET:
            raise ImageTooLarge(f"page {n} of the TIFF is too large to decode: {w}x{h}x{bands} "
                                f"(max {DECODE_BUDGET >> 20} MiB)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = ImageOps.exif_transpose(self.im.copy())
                frame.load()
        except Exception:  # noqa: BLE001
            raise InvalidDocument(f"could not decode page {n} of the TIFF (corrupt or truncated?)") from None
        return frame

    def pages(self, numbers=None, dpi=DEFAULT_DPI, color=False, render_text_pages=False):
        numbers = numbers if numbers is not None else list(range(1, self.page_count + 1))
        for n in numbers:
            frame = self.frame(n)
            dpi = _image_dpi(frame.info)
            factor = 1
            while (frame.width // factor) * (frame.height // factor) > MAX_PAGE_PIXELS:
                factor *= 2
            if factor > 1:
                w, h = frame.size
                frame = frame.reduce(factor) if frame.mode not in ("1", "P") else frame.convert("L").reduce(factor)
                scale = max(w, h) / max(frame.size)
            else:
                scale = 1.0
            gray, bgr = pil_to_arrays(frame, color)
            del frame
            yield PageImage(number=n, dpi=dpi, format="tiff", gray=gray, color=bgr, scale=scale)


# ---- single images (image_io: the API's own decoder and limits) ------------------------------------
class ImageSource(SourceDocument):
    page_count = 1

    def __init__(self, data: bytes, fmt: str):
        self.data = data
        self.format = fmt

    def info_dpi(self) -> float:
        from PIL import Image  # noqa: PLC0415

        try:
            with Image.open(io.BytesIO(self.data)) as im:
                return _image_dpi(im.info)
        except Exception:  # noqa: BLE001 -- decode_image reports a bad file; dpi is cosmetic
            return float(FALLBACK_IMAGE_DPI)

    def pages(self, numbers=None, dpi=DEFAULT_DPI, color=False, render_text_pages=False):
        if numbers is not None and list(numbers) != [1]:
            raise InvalidPageRange("an image has one page")
        img = decode_image(self.data, color=color)
        yield PageImage(number=1, dpi=self.info_dpi(), format=img.format, gray=img.gray, color=img.color,
                        scale=img.scale)


class ArraySource(SourceDocument):
    """An in-memory picture (numpy array, OpenCV order: gray, BGR or BGRA; or a PIL image)."""
    page_count = 1
    format = "array"

    def __init__(self, picture, dpi: float | None = None):
        from .preprocess import to_bgr, to_gray  # noqa: PLC0415

        if isinstance(picture, np.ndarray):
            bad_channels = picture.ndim == 3 and picture.shape[2] not in (1, 3, 4)
            if picture.ndim not in (2, 3) or picture.size == 0 or bad_channels:
                raise InvalidImage(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), not {picture.shape}")
            self._gray, self._bgr = to_gray(picture), to_bgr(picture)
            self.dpi = float(dpi or FALLBACK_IMAGE_DPI)
        else:  # PIL
            self.format = "pil"
            self._gray, self._bgr = pil_to_arrays(picture, True)
            self.dpi = float(dpi or _image_dpi(getattr(picture, "info", {})))
        h, w = self._gray.shape
        if w * h > MAX_PIXELS:
            raise ImageTooLarge(f"image too large: {w}x{h} pixels (max {MAX_PIXELS // 1_000_000} megapixels)")

    def pages(self, numbers=None, dpi=DEFAULT_DPI, color=False, render_text_pages=False):
        if numbers is not None and list(numbers) != [1]:
            raise InvalidPageRange("an image has one page")
        yield PageImage(number=1, dpi=self.dpi, format=self.format, gray=self._gray,
                        color=self._bgr if color else None)

    def bgr(self) -> np.ndarray:
        return self._bgr


def count_pages(data: bytes, password: str | None = None) -> int:
    """How many pages ``data`` has (cheap: no page is rendered)."""
    with open_document(data, password) as doc:
        return doc.page_count
