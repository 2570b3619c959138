"""Slim OCR HTTP API (FastAPI). Runs under uvicorn locally and on AWS Lambda via Mangum (handler.py).

Routes: POST /api/v1/ocr (JSON, base64 file), POST /predict (multipart, used by the web page),
GET /api/v1/health. Both OCR routes take images (one result: lines, boxes) and PDFs / multi-page
TIFFs (one entry per page; ``pages`` picks a range), answered as JSON, plain text, hOCR or a
searchable PDF (``format``); ``format=thumbnails`` answers the page count and small page images
without OCR. Errors always have the shape {"success": false, "error": {"code", "message"}}.
Recognition runs in worker threads (never on the event loop), at most ``OCR_CONCURRENCY`` at
once; bodies over the limit are refused before they are buffered (``slim_ocr.limits``).
"""
from __future__ import annotations

import logging
import os
import re
import time
import uuid
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from slim_ocr import hocr
from slim_ocr.document import SYNC_MAX_PAGES, count_pages, parse_pages, sniff_document
from slim_ocr.errors import ImageTooLarge, OcrError, ResponseTooLarge
from slim_ocr.image_io import MAX_BYTES, decode_base64
from slim_ocr.limits import BodyLimit, OcrSlots, SecurityHeaders, check_token, clean_request_id
from slim_ocr.logs import configure_logging
from slim_ocr.pipeline import Mode, OcrEngine
from slim_ocr.thumbnails import THUMBNAIL_SIDE, thumbnails

configure_logging()
log = logging.getLogger("slim_ocr")

# Loaded once per process (Lambda cold start), reused by every request.
ENGINE = OcrEngine()
SLOTS = OcrSlots()
API_TOKEN = os.environ.get("API_TOKEN") or None   # optional bearer token on the OCR routes
# a base64 image of MAX_BYTES in JSON, or the file in a multipart form, plus room for the envelope
MAX_BODY = (MAX_BYTES * 4) // 3 + 64 * 1024
# A binary answer (format=pdf) bigger than this is a 413 (template.yaml sets it on Lambda, whose
# 6 MB response limit applies to the base64-encoded body); unset: no limit.
MAX_RESPONSE_BYTES = int(os.environ.get("OCR_MAX_RESPONSE_BYTES") or 0) or None

app = FastAPI(title="Slim OCR", version="0.1.0",
              description="Fast, lightweight Chinese + English OCR on CPU (CTC line recognisers, ONNX Runtime).")
_origins = [o.strip() for o in os.environ.get("CORS_ORIGINS", "*").split(",") if o.strip()]
app.add_middleware(CORSMiddleware, allow_origins=_origins, allow_methods=["GET", "POST", "OPTIONS"],
                   allow_headers=["*"], max_age=600)
app.add_middleware(BodyLimit, max_bytes=MAX_BODY)
app.add_middleware(SecurityHeaders)


# ---- schemas --------------------------------------------------------------------------
OutputFormat = Literal["json", "text", "hocr", "pdf", "thumbnails"]
_DOC_FIELDS = {
    "pages": "PDF / multi-page TIFF: the pages to read, e.g. '1-3,5' (default: all, at most "
             f"{SYNC_MAX_PAGES} here; longer documents go through S3 batch)",
    "format": "json (default); text (plain text; pages separated by form feeds); hocr (XHTML); pdf (a "
              "searchable PDF of the pages read: a PDF keeps its pages and gains an invisible text layer, "
              "images and TIFF frames become image pages); thumbnails (no OCR: the page count and, per "
              f"page, its size as OCR at dpi reads it and a JPEG of at most {THUMBNAIL_SIDE} px as a data URL)",
    "dpi": "PDF: rendering resolution (default 200)",
    "force_ocr": "PDF: also OCR pages that already have a text layer (else their text is returned)",
}


class OcrRequest(BaseModel):
    image_base64: str = Field(..., description="The file (PNG, JPEG, WebP, BMP, TIFF, PDF), base64-encoded; "
                                               "a data: URL prefix is accepted", min_length=1)
    mode: Mode = Field("auto", description="line: the image is one text line; "
                                           "page: detect lines first; auto: decide from the image")
    pages: str | None = Field(None, description=_DOC_FIELDS["pages"], max_length=200)
    format: OutputFormat = Field("json", description=_DOC_FIELDS["format"])
    dpi: float | None = Field(None, description=_DOC_FIELDS["dpi"], ge=50, le=600)
    force_ocr: bool = Field(False, description=_DOC_FIELDS["force_ocr"])


class Line(BaseModel):
    text: str
    confidence: float
    box: list[list[int]] = Field(..., description="4 corner points [x, y] in the image: TL, TR, BR, BL")


class ImageInfo(BaseModel):
    width: int
    height: int


class OcrResponse(BaseModel):
    success: bool = True
    text: str
    lines: list[Line]
    elapsed_ms: float
    model: str
    detector: str | None = Field(None, description="the line detector that ran: 'db:<bundle>' (learned) or "
                                                   "'classical'; null when the image was read as one line")
    rotation: int = Field(0, description="degrees (counter-clockwise) the page was turned to read it upright: "
                                         "0, 90, 180 or 270 (boxes are on the image as sent)")
    image: ImageInfo


class PageInfo(ImageInfo):
    dpi: float


class PageResult(BaseModel):
    page: int = Field(..., description="1-based page number in the document")
    text: str
    has_text_layer: bool
    ocr: bool = Field(..., description="false: the page's own text layer is returned (see force_ocr)")
    lines: list[Line]
    image: PageInfo
    elapsed_ms: float
    notes: list[str] | None = None


class DocumentResponse(BaseModel):
    success: bool = True
    text: str
    pages: list[PageResult]
    page_count: int = Field(..., description="pages in the document (pages may be a selection)")
    model: str
    format: str
    elapsed_ms: float


class PageThumbnail(PageInfo):
    page: int = Field(..., description="1-based page number in the document")
    thumbnail: str = Field(..., description="data:image/jpeg;base64,... (width, height, dpi: the page as OCR reads it)")


class ThumbnailsResponse(BaseModel):
    success: bool = True
    format: str = Field(..., description="the document's format: pdf, tiff, png, ...")
    page_count: int = Field(..., description="pages in the document (pages may be a selection)")
    pages: list[PageThumbnail]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    success: bool = False
    error: ErrorBody


class Health(BaseModel):
    status: str
    model: str
    charset_size: int


_ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 408, 413, 415, 422, 503)}
_OK = {200: {"description": "format=json: one image's result, or one entry per page of a document; "
                            "format=thumbnails: ThumbnailsResponse; format=text: text/plain; "
                            "format=hocr: application/xhtml+xml; format=pdf: application/pdf",
             "content": {"text/plain": {"schema": {"type": "string"}},
                         "application/xhtml+xml": {"schema": {"type": "string"}},
                         "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
_RESPONSE = OcrResponse | DocumentResponse | ThumbnailsResponse


# ---- errors ----------------------------------------------------------------------------
def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


@app.exception_handler(OcrError)
async def _ocr_error(request: Request, exc: OcrError):
    log.info("rejected", extra={"request_id": _request_id(request), "status": exc.status, "code": exc.code})
    return error(exc.status, exc.code, exc.message, exc.headers or None)


@app.exception_handler(RequestValidationError)
async def _validation_error(request: Request, exc: RequestValidationError):
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    msg = _PY_NAMES.sub("", str(first.get("msg", "invalid request"))).strip(" ,:")
    return error(422, "validation_error", f"{where}: {msg}".strip(": "))


# pydantic/FastAPI messages can name Python types ("Expected UploadFile, received: <class 'str'>")
_PY_NAMES = re.compile(r"<class '[^']*'>|\b(UploadFile|NoneType|bytes|dict|list)\b")


def _allowed_methods(path: str) -> set[str]:
    return {m for r in app.routes if getattr(r, "path", None) == path for m in (getattr(r, "methods", None) or ())}


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException):
    status, headers = exc.status_code, exc.headers
    if status in (404, 405):
        # An API path asked with a method it lacks: the static-page mount would answer
        # 404 or "Allow: GET, HEAD"; say 405 with the route's real methods instead.
        allowed = _allowed_methods(request.url.path)
        if allowed:
            status, headers = 405, {"Allow": ", ".join(sorted(allowed))}
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = "method not allowed" if status == 405 else str(exc.detail)
    return error(status, codes.get(status, "http_error"), message, headers)


@app.exception_handler(Exception)
async def _internal_error(request: Request, exc: Exception):
    log.exception("internal error", extra={"request_id": _request_id(request)})
    return error(500, "internal_error", "internal error; the request id is in the server log")


# ---- routes ----------------------------------------------------------------------------
def _request_id(request: Request) -> str:
    ctx = request.scope.get("aws.context")
    if ctx is not None and getattr(ctx, "aws_request_id", None):
        return ctx.aws_request_id
    return clean_request_id(request.headers.get("x-request-id")) or uuid.uuid4().hex


_DOCS = []   # the document reader (slim_ocr.api.SlimOCR on ENGINE), made on the first document


def _documents():
    if not _DOCS:
        from slim_ocr.api import SlimOCR   # pypdfium2 is loaded only when a document arrives
        _DOCS.append(SlimOCR(engine=ENGINE, max_pages=SYNC_MAX_PAGES))
    return _DOCS[0]


def _is_document(data: bytes) -> bool:
    kind = sniff_document(data)   # 415 for anything that is neither an image nor a document
    return kind == "pdf" or (kind == "tiff" and count_pages(data) > 1)


def _read(data: bytes, mode: str, pages: str | None, fmt: OutputFormat, dpi: float | None, force_ocr: bool):
    """(result, log fields): the thumbnails, a Document (documents; every input for format=pdf) or
    an image's OcrResult."""
    if fmt == "thumbnails":
        thumbs = thumbnails(data, pages, dpi, max_pages=SYNC_MAX_PAGES)
        return thumbs, {"lines": 0, "pages": len(thumbs.pages)}
    if fmt == "pdf" or _is_document(data):
        doc = _documents().run(data, pages=pages, dpi=dpi, mode=mode, force_ocr=force_ocr)
        return doc, {"lines": sum(len(p.lines) for p in doc.pages), "pages": len(doc.pages)}
    parse_pages(pages, 1)   # an image is page 1: anything else is a 400
    result = ENGINE.run_bytes(data, mode)
    return result, {"lines": len(result.lines), "width": result.width, "height": result.height,
                    **{k: round(v, 2) for k, v in result.timings.items()}}


def _run(request: Request, data: bytes, mode: str, route: str, pages: str | None = None,
         fmt: OutputFormat = "json", dpi: float | None = None, force_ocr: bool = False):
    """Recognise ``data`` in the calling (worker) thread, holding one of SLOTS."""
    t0 = time.perf_counter()
    with SLOTS:
        body, fields = _read(data, mode, pages, fmt, dpi, force_ocr)
        if fmt == "pdf":
            body = body.to_pdf()   # grafting the text layer is pdfium work too: inside the slot
            if MAX_RESPONSE_BYTES and len(body) > MAX_RESPONSE_BYTES:
                raise ResponseTooLarge(f"the searchable PDF is {len(body) / 1e6:.1f} MB, over this endpoint's "
                                       f"{MAX_RESPONSE_BYTES / 1e6:.1f} MB; ask for fewer pages or use S3 batch")
    log.info("ocr", extra={"request_id": _request_id(request), "route": route, "bytes": len(data), "mode": mode,
                           "format": fmt, "elapsed_ms": round((time.perf_counter() - t0) * 1000, 2), **fields})
    return _respond(body, fmt)


def _respond(body, fmt: OutputFormat):
    if fmt == "pdf":
        return Response(body, media_type="application/pdf")
    if fmt == "text":
        return PlainTextResponse(body.text)
    if fmt == "hocr":
        text = body.to_hocr() if hasattr(body, "to_hocr") else hocr.to_hocr(body, model=ENGINE.model_name)
        return Response(text, media_type="application/xhtml+xml; charset=utf-8")
    return body.to_dict()


def _ocr_json(request: Request, raw: bytes):
    """Parse (in the worker thread: a body of nested lists takes seconds to parse) and recognise."""
    try:
        body = OcrRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    return _run(request, decode_base64(body.image_base64), body.mode, "ocr", body.pages, body.format, body.dpi,
                body.force_ocr)


@app.post("/api/v1/ocr", response_model=_RESPONSE, responses={**_OK, **_ERRORS},
          summary="OCR a base64-encoded image or document",
          openapi_extra={"requestBody": {"required": True, "content": {
              "application/json": {"schema": OcrRequest.model_json_schema(ref_template="#/components/schemas/{model}")}}}})
async def ocr_json(request: Request):
    check_token(API_TOKEN, request.headers.get("authorization"))
    raw = await request.body()   # already bounded by BodyLimit
    return await run_in_threadpool(_ocr_json, request, raw)


@app.post("/predict", response_model=_RESPONSE, responses={**_OK, **_ERRORS},
          summary="OCR an uploaded image or document")
async def predict(request: Request, image: UploadFile = File(..., description="the image or document file"),
                  mode: Mode = Form("auto"),
                  pages: str | None = Form(None, description=_DOC_FIELDS["pages"], max_length=200),
                  format: OutputFormat = Form("json", description=_DOC_FIELDS["format"]),
                  dpi: float | None = Form(None, description=_DOC_FIELDS["dpi"], ge=50, le=600),
                  force_ocr: bool = Form(False, description=_DOC_FIELDS["force_ocr"])):
    check_token(API_TOKEN, request.headers.get("authorization"))
    data = await image.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(f"file too large (max {MAX_BYTES // (1024 * 1024)} MB)")
    return await run_in_threadpool(_run, request, data, mode, "predict", pages, format, dpi, force_ocr)


@app.get("/api/v1/health", response_model=Health, summary="Liveness and model info")
def health():
    return {"status": "ok", "model": ENGINE.model_name, "charset_size": len(ENGINE.recognizer.charset.chars)}


# The static web page, when present (local runs; the Lambda package does not ship it).
_frontend = Path(os.environ.get("FRONTEND_DIR", Path(__file__).resolve().parents[1] / "frontend"))
if _frontend.is_dir():
    from fastapi.staticfiles import StaticFiles

    app.mount("/", StaticFiles(directory=_frontend, html=True), name="frontend")
