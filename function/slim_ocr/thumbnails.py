"""Page thumbnails of a document, without OCR: what a client shows before it OCRs a PDF or a
multi-page TIFF page by page (the API's ``format=thumbnails``). Browsers cannot draw TIFF, and
pdf.js is not shipped, so the server draws both alike.

Bounded like OCR itself, by the same code: pages come from ``document.SourceDocument.pages``
(PDF pages rendered at ``MIN_DPI`` within ``MAX_PAGE_PIXELS``; TIFF frames and images under
``image_io``'s pixel and decode limits), one page raster at a time, at most ``max_pages`` per
call. Each thumbnail is a JPEG of at most ``THUMBNAIL_SIDE`` px on its longer side (A4: 226 x 320,
~10-20 KB). ``width``/``height``/``dpi`` are what OCR of the page at ``dpi`` reads (its boxes'
pixel space), so a client can draw the boxes on the thumbnail.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import cv2
import numpy as np

from .document import DEFAULT_DPI, MAX_PAGES, MIN_DPI, PageImage, check_dpi, open_document, render_size

THUMBNAIL_SIDE = 320
THUMBNAIL_QUALITY = 70


@dataclass
class Thumbnail:
    page: int          # 1-based page number
    width: int         # pixels of the page as OCR at ``dpi`` reads it
    height: int
    dpi: float
    jpeg: bytes

    def to_dict(self) -> dict:
        url = "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode("ascii")
        return {"page": self.page, "width": self.width, "height": self.height, "dpi": self.dpi, "thumbnail": url}


@dataclass
class Thumbnails:
    format: str        # pdf | tiff | png | ...
    page_count: int    # pages in the document (``pages`` may be a selection)
    pages: list[Thumbnail]

    def to_dict(self) -> dict:
        return {"success": True, "format": self.format, "page_count": self.page_count,
                "pages": [p.to_dict() for p in self.pages]}


def thumbnails(data: bytes, pages: str | None = None, dpi: float | None = None, max_pages: int = MAX_PAGES,
               side: int = THUMBNAIL_SIDE) -> Thumbnails:
    """Thumbnails of the ``pages`` ("1-3,5"; default all) of a PDF, TIFF or image. Raises the
    document module's OcrErrors on bad input, like OCR of the same bytes."""
    dpi = check_dpi(DEFAULT_DPI if dpi is None else dpi)
    with open_document(data) as src:
        numbers = src.select(pages, max_pages)
        out = [_thumbnail(img, dpi, side)
               for img in src.pages(numbers, dpi=MIN_DPI, color=True, render_text_pages=True)]
        return Thumbnails(format=src.format, page_count=src.page_count, pages=out)


def _thumbnail(img: PageImage, dpi: float, side: int) -> Thumbnail:
    if img.size_pt is not None:                      # PDF: rendered small; report the size at ``dpi``
        width, height, page_dpi = render_size(*img.size_pt, dpi)
    else:                                            # TIFF frame or image: its own pixels
        width, height, page_dpi = round(img.width * img.scale), round(img.height * img.scale), img.dpi
    pixels = img.color if img.color is not None else img.gray
    return Thumbnail(img.number, width, height, page_dpi, _jpeg(pixels, side))


def _jpeg(pixels: np.ndarray, side: int) -> bytes:
    h, w = pixels.shape[:2]
    f = min(1.0, side / max(h, w))
    small = cv2.resize(pixels, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    if small.ndim == 3 and (small[:, :, 0] == small[:, :, 1]).all() and (small[:, :, 1] == small[:, :, 2]).all():
        small = small[:, :, 0]                       # a gray page: a third of the bytes
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY])[1].tobytes()
