"""The HTTP API's document outputs: ``format=pdf`` (the searchable PDF of the pages read) and
``format=thumbnails`` (page count, page sizes and small JPEG thumbnails, without OCR) -- what the
web page uses to read a PDF or a multi-page TIFF page by page. The documents are test_documents'
(real text rendered in a held-out font, rasterised into an image-only PDF and a TIFF)."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from test_api import assert_error, b64
from test_documents import PAGES, assert_pages_read, doc_files, needs_pdftotext, pdftotext  # noqa: F401

pdfium = pytest.importorskip("pypdfium2")

A4_200DPI = (1654, 2339)


def post(client, data: bytes, name: str, **fields):
    return client.post("/predict", files={"image": (name, data, "application/octet-stream")},
                       data={k: str(v) for k, v in fields.items()})


def pdf_page_texts(tmp_path, data: bytes) -> list[str]:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return [pdftotext(path, n + 1) for n in range(len(pdfium.PdfDocument(data)))]


# ---- format=pdf -------------------------------------------------------------------------------------
@needs_pdftotext
def test_format_pdf_of_a_pdf_keeps_the_chosen_pages_with_their_text(client, doc_files, tmp_path):
    r = post(client, doc_files.scan.read_bytes(), "scan.pdf", format="pdf", pages="1,3")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert_pages_read(pdf_page_texts(tmp_path, r.content), pages=[PAGES[0], PAGES[2]])
    # the same lines as the JSON answer for those pages: one recognition, two renderings
    pages = post(client, doc_files.scan.read_bytes(), "scan.pdf", pages="1,3").json()["pages"]
    for got, page in zip(pdf_page_texts(tmp_path, r.content), pages):
        assert [ln.strip() for ln in got.splitlines() if ln.strip()] == [ln["text"] for ln in page["lines"]]


@needs_pdftotext
def test_format_pdf_of_a_tiff_and_of_an_image_through_the_json_route(client, doc_files, tmp_path):
    r = client.post("/api/v1/ocr", json={"image_base64": b64(doc_files.tiff.read_bytes()), "format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert_pages_read(pdf_page_texts(tmp_path, r.content))                       # every TIFF frame
    r = client.post("/api/v1/ocr", json={"image_base64": b64(doc_files.png.read_bytes()), "format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    texts = pdf_page_texts(tmp_path, r.content)
    assert len(texts) == 1                                                       # an image: one page
    assert_pages_read(texts, pages=[PAGES[1]])
    w, h = pdfium.PdfDocument(r.content)[0].get_size()                           # sized by its 200 dpi
    assert abs(w - A4_200DPI[0] * 72 / 200) < 1 and abs(h - A4_200DPI[1] * 72 / 200) < 1


def test_format_pdf_bad_input_is_a_json_error(client, doc_files):
    scan, png = doc_files.scan.read_bytes(), doc_files.png.read_bytes()
    assert_error(post(client, scan, "scan.pdf", format="pdf", pages="4"), 400, "invalid_pages")
    assert_error(post(client, png, "p.png", format="pdf", pages="2"), 400, "invalid_pages")
    assert_error(post(client, b"%PDF-1.7\nnot really a pdf", "x.pdf", format="pdf"), 400, "invalid_document")
    assert_error(post(client, b"plain text, not a document", "x.pdf", format="pdf"), 415, "unsupported_media_type")
    assert_error(post(client, scan, "scan.pdf", format="docx"), 422, "validation_error")


def test_format_pdf_over_the_response_limit_is_a_413(client, doc_files, monkeypatch):
    """On Lambda (6 MB responses, base64) OCR_MAX_RESPONSE_BYTES turns a too-big PDF into a clear 413."""
    import app as app_module
    monkeypatch.setattr(app_module, "MAX_RESPONSE_BYTES", 1000)
    r = post(client, doc_files.scan.read_bytes(), "scan.pdf", format="pdf", pages="1")
    assert_error(r, 413, "response_too_large")
    assert "S3 batch" in r.json()["error"]["message"]


# ---- format=thumbnails ------------------------------------------------------------------------------
def thumbnail_image(entry: dict) -> Image.Image:
    prefix = "data:image/jpeg;base64,"
    assert entry["thumbnail"].startswith(prefix)
    im = Image.open(io.BytesIO(base64.b64decode(entry["thumbnail"][len(prefix):])))
    assert im.format == "JPEG"
    return im


def test_thumbnails_give_page_count_sizes_and_small_jpegs_without_ocr(client, doc_files, monkeypatch):
    import app as app_module

    from slim_ocr.thumbnails import THUMBNAIL_SIDE

    def no_ocr(*a, **k):
        raise AssertionError("format=thumbnails must not run OCR")

    # the sizes are those OCR reports for the same page (its boxes' pixel space)
    ocr_image = post(client, doc_files.scan.read_bytes(), "scan.pdf", pages="2").json()["pages"][0]["image"]
    monkeypatch.setattr(app_module.ENGINE, "run_image", no_ocr)
    monkeypatch.setattr(app_module.ENGINE, "run_bytes", no_ocr)
    for fmt, path in (("pdf", doc_files.scan), ("tiff", doc_files.tiff)):
        r = post(client, path.read_bytes(), path.name, format="thumbnails")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["success"] and body["page_count"] == 3 and body["format"] == fmt
        assert [p["page"] for p in body["pages"]] == [1, 2, 3]
        for entry in body["pages"]:
            assert {k: entry[k] for k in ("width", "height", "dpi")} == ocr_image
            im = thumbnail_image(entry)
            assert max(im.size) == THUMBNAIL_SIDE
            assert abs(im.width / im.height - entry["width"] / entry["height"]) < 0.01
            assert len(entry["thumbnail"]) < 40_000
    # a selection, another dpi (the size OCR at that dpi would read), the JSON route, an image
    r = post(client, doc_files.scan.read_bytes(), "scan.pdf", format="thumbnails", pages="2-3", dpi=100)
    body = r.json()
    assert body["page_count"] == 3 and [p["page"] for p in body["pages"]] == [2, 3]
    assert (body["pages"][0]["width"], body["pages"][0]["height"], body["pages"][0]["dpi"]) == (827, 1170, 100)
    r = client.post("/api/v1/ocr", json={"image_base64": b64(doc_files.png.read_bytes()), "format": "thumbnails"})
    body = r.json()
    assert r.status_code == 200 and body["page_count"] == 1 and body["format"] == "png"
    assert (body["pages"][0]["width"], body["pages"][0]["height"]) == A4_200DPI


def test_thumbnails_bad_input_is_a_json_error_within_the_limits(client, doc_files, monkeypatch):
    import app as app_module
    from slim_ocr import document

    scan, tiff = doc_files.scan.read_bytes(), doc_files.tiff.read_bytes()
    assert_error(post(client, b"%PDF-1.7\n" + bytes(range(256)) * 8, "x.pdf", format="thumbnails"), 400,
                 "invalid_document")
    assert_error(post(client, tiff[:600], "x.tif", format="thumbnails"), 400, "invalid_document")
    assert_error(post(client, b"hello, not a document", "x.pdf", format="thumbnails"), 415, "unsupported_media_type")
    assert_error(post(client, scan, "scan.pdf", format="thumbnails", pages="0"), 400, "invalid_pages")
    assert_error(post(client, scan, "scan.pdf", format="thumbnails", pages="2-9"), 400, "invalid_pages")
    assert_error(post(client, scan, "scan.pdf", format="thumbnails", dpi=10), 422, "validation_error")
    monkeypatch.setattr(app_module, "SYNC_MAX_PAGES", 2)                       # pages per request
    assert_error(post(client, scan, "scan.pdf", format="thumbnails"), 413, "too_many_pages")
    assert post(client, scan, "scan.pdf", format="thumbnails", pages="1-2").status_code == 200
    monkeypatch.setattr(document, "MAX_PIXELS", 1_000_000)                    # a frame over the pixel limit
    assert_error(post(client, tiff, "scan.tif", format="thumbnails", pages="1"), 413, "image_too_large")


def test_openapi_documents_the_document_formats(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/ocr", "/predict"):
        ok = spec["paths"][path]["post"]["responses"]["200"]
        assert "application/pdf" in ok["content"] and "thumbnails" in ok["description"]
    json_body = spec["paths"]["/api/v1/ocr"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    form_body = spec["components"]["schemas"]["Body_predict_predict_post"]
    for body in (json_body, form_body):
        assert {"pdf", "thumbnails"} <= set(body["properties"]["format"]["enum"])
    assert {"page_count", "pages"} <= set(spec["components"]["schemas"]["ThumbnailsResponse"]["properties"])
