"""The Python API::

    from slim_ocr import SlimOCR

    ocr = SlimOCR()                      # SlimOCR(model="crnn", threads=1) for another bundle
    doc = ocr("scan.pdf")                # a path (PDF, TIFF, PNG, JPEG, WebP, BMP), bytes, a numpy
                                         # array (OpenCV order: gray / BGR / BGRA) or a PIL image
    print(doc.text)                      # pages separated by form feeds
    for page in doc.pages:
        for line in page.lines:
            print(page.number, line.text, line.confidence, line.box)
    doc.to_dict()                        # JSON-ready: one entry per page
    doc.to_hocr()                        # hOCR (XHTML) string
    doc.to_pdf("scan.searchable.pdf")    # the pages with an invisible text layer

Options per call: ``pages="1-3,5"``, ``dpi=200`` (PDF rendering), ``mode="auto" | "line" |
"page"``, ``force_ocr=True`` (also OCR PDF pages that already have text), ``password=...``
(encrypted PDFs), ``on_page=callback(page)`` (progress). Errors are
:class:`slim_ocr.errors.OcrError` subclasses (see :mod:`slim_ocr.document`).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import numpy as np

from . import document as docmod
from .document import DEFAULT_DPI, MAX_PAGES, ArraySource, SourceDocument, check_dpi, open_document, read_file
from .image_io import DecodedImage
from .pipeline import Mode, OcrEngine, OcrLine, OcrResult

_MODES = get_args(Mode)


@dataclass
class Page:
    """One page of a :class:`Document`. ``lines`` boxes are pixels of the page image at ``dpi``."""
    number: int                              # 1-based page number in the source
    width: int                               # pixels (0 for a text page that was not rendered)
    height: int
    dpi: float
    has_text_layer: bool = False             # a PDF page that already had text
    ocr: bool = True                         # False: not OCRed (it has a text layer; force_ocr=False)
    text_layer: str | None = None            # that embedded text
    result: OcrResult | None = None          # the engine's result (None when not OCRed)
    notes: list[str] = field(default_factory=list)
    to_user: tuple | None = None             # PDF pages: pixel -> PDF user-space map (for to_pdf)

    @property
    def lines(self) -> list[OcrLine]:
        return self.result.lines if self.result is not None else []

    @property
    def text(self) -> str:
        """The recognised text, one line per line; a page that was not OCRed gives its text layer."""
        if self.result is not None:
            return self.result.text
        return (self.text_layer or "").strip()

    @property
    def elapsed_ms(self) -> float:
        return self.result.elapsed_ms if self.result is not None else 0.0

    def to_dict(self) -> dict:
        d = {"page": self.number, "text": self.text, "has_text_layer": self.has_text_layer, "ocr": self.ocr,
             "lines": [{"text": ln.text, "confidence": round(ln.confidence, 4), "box": ln.box} for ln in self.lines],
             "image": {"width": self.width, "height": self.height, "dpi": round(self.dpi, 2)},
             "elapsed_ms": round(self.elapsed_ms, 2)}
        if self.notes:
            d["notes"] = list(self.notes)
        return d


@dataclass
class Document:
    """The result of :class:`SlimOCR` on one input: its pages, in order."""
    pages: list[Page]
    format: str                               # pdf | tiff | png | jpeg | ... | array | pil
    page_count: int                           # pages in the source (``pages`` may be a selection)
    model: str
    elapsed_ms: float
    name: str | None = None                   # the file name, when read from a path
    _source: object = field(default=None, repr=False)      # bytes (files) or the picture (arrays)
    _password: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """Every page's text, pages separated by a form feed (``\\f``, as pdftotext does)."""
        return "\f".join(p.text for p in self.pages)

    @property
    def lines(self) -> list[OcrLine]:
        return [ln for p in self.pages for ln in p.lines]

    def __iter__(self):
        return iter(self.pages)

    def __len__(self) -> int:
        return len(self.pages)

    def __getitem__(self, i: int) -> Page:
        return self.pages[i]

    def to_dict(self) -> dict:
        """``{"success", "text", "pages": [...], "page_count", "model", "elapsed_ms", "format"}``."""
        return {"success": True, "text": self.text, "pages": [p.to_dict() for p in self.pages],
                "page_count": self.page_count, "model": self.model, "format": self.format,
                "elapsed_ms": round(self.elapsed_ms, 2)}

    def to_hocr(self) -> str:
        from .hocr import to_hocr  # noqa: PLC0415

        return to_hocr(self.pages, title=self.name or "Slim OCR",
                       model=self.model, image=self.name)

    def to_pdf(self, path: str | os.PathLike | None = None) -> bytes:
        """A searchable PDF (returned, and written to ``path`` when given). PDF input: the original
        pages (only those selected) with the text layer added to the OCRed ones (pages that had a
        text layer are kept as they are, even with ``force_ocr``); images and TIFF: the images
        with the text layer."""
        from . import searchable_pdf as sp  # noqa: PLC0415

        if self.format == "pdf":
            # a page that had text keeps only its own (force_ocr changes the results, not the file)
            layers = {p.number: (p.lines, p.to_user) for p in self.pages
                      if p.result is not None and p.to_user and not p.has_text_layer}
            data = sp.add_text_layer(self._source, [p.number for p in self.pages], layers, self._password)
        else:
            data = sp.images_to_pdf(self._image_pages(), title=self.name)
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def _image_pages(self):
        from .searchable_pdf import ImagePage  # noqa: PLC0415

        if isinstance(self._source, ArraySource):
            page = self.pages[0]
            yield ImagePage(self._source.bgr(), page.dpi, page.lines)
            return
        import io  # noqa: PLC0415

        from PIL import Image, ImageOps  # noqa: PLC0415

        if self.format == "tiff":
            with docmod.TiffSource(self._source) as tiff:
                for page in self.pages:
                    yield ImagePage(tiff.frame(page.number), page.dpi, page.lines)
            return
        page = self.pages[0]
        with Image.open(io.BytesIO(self._source)) as im:
            jpeg = None
            if self.format == "jpeg" and im.mode in ("L", "RGB") and im.getexif().get(0x0112, 1) == 1:
                jpeg = self._source
            # as image_io decodes it: EXIF orientation applied, except to images with alpha
            alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
            im = im if alpha else ImageOps.exif_transpose(im)
            im.load()
            yield ImagePage(im, page.dpi, page.lines, jpeg=jpeg)


class SlimOCR:
    """Chinese + English OCR of images and documents. ``model``: a bundle name under
    ``function/models`` or a bundle folder (default: ``OCR_MODEL`` or ``bundle.DEFAULT_MODEL``); ``threads``: ONNX
    Runtime threads (default: ``OCR_THREADS`` or the CPUs, at most 4)."""

    def __init__(self, model: str | os.PathLike | None = None, threads: int | None = None,
                 dpi: float = DEFAULT_DPI, mode: Mode = "auto", max_pages: int = MAX_PAGES,
                 engine: OcrEngine | None = None):
        if engine is None:
            from .recognizer import Recognizer  # noqa: PLC0415

            engine = OcrEngine(Recognizer(model, threads=threads))
        self.engine = engine
        self.dpi = check_dpi(dpi)
        self.mode = _check_mode(mode)
        self.max_pages = max_pages

    @property
    def model(self) -> str:
        return self.engine.model_name

    def __repr__(self) -> str:
        return f"SlimOCR(model={self.model!r}, dpi={self.dpi:g}, mode={self.mode!r})"

    def __call__(self, source, *, pages: str | list[int] | None = None, dpi: float | None = None,
                 mode: Mode | None = None, force_ocr: bool = False, password: str | None = None,
                 on_page: Callable[[Page], None] | None = None) -> Document:
        return self.run(source, pages=pages, dpi=dpi, mode=mode, force_ocr=force_ocr, password=password,
                        on_page=on_page)

    def open(self, source, password: str | None = None) -> tuple[SourceDocument, object, str | None]:
        """(opened source, what to keep for ``to_pdf``, file name) for any accepted ``source``."""
        name = None
        if isinstance(source, (str, os.PathLike)):
            name = os.path.basename(os.fspath(source))
            source = read_file(source)
        if isinstance(source, (bytearray, memoryview)):
            source = bytes(source)
        if isinstance(source, bytes):
            return open_document(source, password), source, name
        if isinstance(source, np.ndarray) or _is_pil(source):
            src = ArraySource(source)
            return src, src, name
        raise TypeError(f"cannot OCR a {type(source).__name__}: give a path, bytes, a numpy array or a PIL image")

    def run(self, source, *, pages=None, dpi=None, mode=None, force_ocr=False, password=None,
            on_page=None) -> Document:
        t0 = time.perf_counter()
        mode = _check_mode(mode or self.mode)
        dpi = check_dpi(dpi if dpi is not None else self.dpi)
        src, keep, name = self.open(source, password)
        with src:
            numbers = src.select(pages, self.max_pages)
            out = []
            for img in src.pages(numbers, dpi=dpi, color=self.engine.wants_color, render_text_pages=force_ocr):
                width, height = round(img.width * img.scale), round(img.height * img.scale)
                if img.gray is None and img.size_pt:             # a text page, not rendered
                    width, height = (round(v * img.dpi / 72) for v in img.size_pt)
                page = Page(number=img.number, width=width, height=height, dpi=img.dpi,
                            has_text_layer=img.has_text_layer, text_layer=img.text_layer, notes=img.notes,
                            to_user=img.to_user, ocr=img.gray is not None)
                if img.gray is not None:
                    page.result = self.engine.run_image(DecodedImage(gray=img.gray, format=img.format,
                                                                     color=img.color, scale=img.scale), mode)
                    page.width, page.height = page.result.width, page.result.height
                    img.gray = img.color = None          # one page raster in memory at a time
                out.append(page)
                if on_page is not None:
                    on_page(page)
            doc = Document(pages=out, format=src.format, page_count=src.page_count, model=self.model,
                           elapsed_ms=(time.perf_counter() - t0) * 1000, name=name, _source=keep,
                           _password=password)
        return doc


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise docmod.InvalidMode(f"mode must be one of {', '.join(_MODES)}, not {mode!r}")
    return mode


def _is_pil(obj) -> bool:
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError:
        return False
    return isinstance(obj, Image.Image)
