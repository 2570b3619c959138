"""OCRmyPDF OCR-engine plugin: Slim OCR instead of Tesseract.

    pip install 'slim-ocr[ocrmypdf]'      # OCRmyPDF 17; it also needs Ghostscript and qpdf
    ocrmypdf --plugin slim_ocr.ocrmypdf_plugin in.pdf out.pdf
    ocrmypdf --plugin slim_ocr.ocrmypdf_plugin --slim-model crnn-base -l chi_sim+eng in.pdf out.pdf

OCRmyPDF does everything around the OCR -- rasterising each page, deciding which pages need
OCR (``--skip-text``, ``--force-ocr``, ``--redo-ocr``), grafting the text layer onto the original
pages, PDF/A, optimisation -- and calls this engine per page image through its documented
``OcrEngine`` interface (``ocrmypdf.pluginspec``):

* ``generate_hocr`` (OCRmyPDF's default fpdf2 renderer): our hOCR (:mod:`slim_ocr.hocr`), which
  OCRmyPDF parses with its ``HocrParser`` and renders as its own text layer;
* ``generate_pdf`` (``--pdf-renderer sandwich``): our text-only page
  (:func:`slim_ocr.searchable_pdf.text_only_pdf`, glyph-less font), which OCRmyPDF grafts.

The plugin serves ``--ocr-engine auto`` (the default; a plugin given with ``--plugin`` is asked
before the built-in Tesseract) and adds ``--ocr-engine slim``. It blocks the built-in Tesseract
plugin, so Tesseract need not be installed. Each OCRmyPDF worker process loads the model once,
with one ONNX Runtime thread (OCRmyPDF parallelises over pages itself: ``--jobs``).
"""
from __future__ import annotations

import logging
from pathlib import Path

from ocrmypdf import hookimpl
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence

log = logging.getLogger(__name__)

ENGINE_NAME = "slim"
LANGUAGES = {"eng", "chi_sim", "chi", "zho"}   # what the shipped models read (Chinese, English)
_OCR = {}  # model name -> SlimOCR, one per process


def _slim(options):
    from .api import SlimOCR  # noqa: PLC0415

    model = getattr(options, "slim_model", None) if options is not None else None
    key = model or ""
    if key not in _OCR:
        _OCR[key] = SlimOCR(model=model, threads=1)
    return _OCR[key]


def _run(input_file: Path, options):
    """OCR one page image -> (Document, dpi)."""
    from PIL import Image  # noqa: PLC0415

    mode = getattr(options, "slim_mode", None) or "page"
    with Image.open(input_file) as im:
        im.load()
        doc = _slim(options)(im, mode=mode)
    return doc


@hookimpl
def initialize(plugin_manager):
    # Tesseract's plugin would insist on the tesseract binary (check_options) although it is not
    # used; OCRmyPDF's documented way out is blocking the other engine.
    plugin_manager.set_blocked("ocrmypdf.builtin_plugins.tesseract_ocr")


@hookimpl
def register_options():
    # OCRmyPDF's option validation reads options.tesseract.* whichever engine runs; with the
    # Tesseract plugin blocked, its option model (defaults only) is registered from here.
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOptions  # noqa: PLC0415

    return {"tesseract": TesseractOptions}


@hookimpl
def add_options(parser):
    for action in parser._actions:  # noqa: SLF001 -- offer "--ocr-engine slim" beside auto/tesseract/none
        if action.dest == "ocr_engine" and action.choices is not None and ENGINE_NAME not in action.choices:
            action.choices = [*action.choices, ENGINE_NAME]
    group = parser.add_argument_group("Slim OCR", "Options of the Slim OCR engine (slim_ocr.ocrmypdf_plugin)")
    group.add_argument("--slim-model", metavar="NAME",
                       help="model bundle: a name under slim_ocr's models folder or a folder "
                            "(default: $OCR_MODEL or ppocrv6-tiny-slim)")
    group.add_argument("--slim-mode", choices=["auto", "line", "page"], default="page",
                       help="page: detect lines (default); line: each page image is one text line")


@hookimpl
def check_options(options):
    _slim(options)  # an unknown model fails here, before any page is processed


class SlimOcrEngine(OcrEngine):
    """OCRmyPDF's view of Slim OCR."""

    @staticmethod
    def version() -> str:
        from .hocr import package_version  # noqa: PLC0415

        return package_version()

    @staticmethod
    def creator_tag(options) -> str:
        return f"Slim OCR {SlimOcrEngine.version()} (model {_slim(options).model})"

    def __str__(self) -> str:
        return f"Slim OCR {self.version()}"

    @staticmethod
    def languages(options) -> set[str]:
        return set(LANGUAGES)

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)  # no orientation model

    @staticmethod
    def get_deskew(input_file: Path, options) -> float:
        return 0.0  # our detector deskews each page itself; the page image stays as it is

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options) -> None:
        doc = _run(input_file, options)
        Path(output_hocr).write_text(doc.to_hocr(), encoding="utf-8")
        Path(output_text).write_text(doc.text + "\n", encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options) -> None:
        from .searchable_pdf import LayerPage, pixel_matrix, text_only_pdf  # noqa: PLC0415

        doc = _run(input_file, options)
        page = doc.pages[0]
        w_pt, h_pt = page.width * 72.0 / page.dpi, page.height * 72.0 / page.dpi
        Path(output_pdf).write_bytes(text_only_pdf(
            [LayerPage((0.0, 0.0, w_pt, h_pt), page.lines, pixel_matrix(page.height, page.dpi))]))
        Path(output_text).write_text(doc.text + "\n", encoding="utf-8")


@hookimpl
def get_ocr_engine(options):
    engine = getattr(options, "ocr_engine", "auto") if options is not None else "auto"
    if engine not in ("auto", ENGINE_NAME):
        return None
    return SlimOcrEngine()
