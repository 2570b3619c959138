"""HTTP API contract: every route, every error code, never a 500 for bad input."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

from conftest import encode, render_page
from slim_ocr.bundle import DEFAULT_MODEL, ModelBundle

LINES = ["第一行：你好世界", "Second line 123", "发票号码：12345678"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in r.text


def test_health(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    default = ModelBundle.load(DEFAULT_MODEL)
    assert body == {"status": "ok", "model": DEFAULT_MODEL, "charset_size": len(default.charset.chars)}


def test_ocr_json_page(client):
    data, im = render_page(LINES)
    r = client.post("/api/v1/ocr", json={"image_base64": b64(data), "mode": "page"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert body["image"] == {"width": im.width, "height": im.height}
    assert body["elapsed_ms"] > 0 and body["model"] == DEFAULT_MODEL
    assert [line["text"] for line in body["lines"]] == LINES   # clean held-out-font page: read exactly
    assert body["text"] == "\n".join(LINES)
    for line in body["lines"]:
        assert 0.0 <= line["confidence"] <= 1.0
        assert len(line["box"]) == 4 and all(len(p) == 2 for p in line["box"])
        xs, ys = [p[0] for p in line["box"]], [p[1] for p in line["box"]]
        assert 0 <= min(xs) <= max(xs) <= im.width and 0 <= min(ys) <= max(ys) <= im.height


@pytest.mark.parametrize("prefix", ["data:image/png;base64,", "DATA:image/png;base64,"])
def test_ocr_json_accepts_data_url(client, prefix):
    data, _ = render_page(["Data URL 42"], margin=6)
    r = client.post("/api/v1/ocr", json={"image_base64": prefix + b64(data), "mode": "line"})
    assert r.status_code == 200 and r.json()["text"] == "Data URL 42"


def test_predict_multipart(client):
    data, _ = render_page(LINES)
    r = client.post("/predict", files={"image": ("page.png", data, "image/png")}, data={"mode": "page"})
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and r.json()["text"] == "\n".join(LINES)


def test_line_mode_returns_one_box_covering_the_image(client):
    data, im = render_page(["single line"], margin=6)
    body = client.post("/api/v1/ocr", json={"image_base64": b64(data), "mode": "line"}).json()
    assert [line["text"] for line in body["lines"]] == ["single line"]
    assert body["lines"][0]["box"] == [[0, 0], [im.width, 0], [im.width, im.height], [0, im.height]]


def test_blank_image_gives_no_lines(client):
    data = encode(Image.new("L", (400, 300), 255))
    body = client.post("/api/v1/ocr", json={"image_base64": b64(data)}).json()
    assert body["success"] is True and body["lines"] == [] and body["text"] == ""


# ---- errors -----------------------------------------------------------------------------
def test_400_bad_base64(client):
    assert_error(client.post("/api/v1/ocr", json={"image_base64": "@@not base64@@"}), 400, "invalid_base64")


def test_400_undecodable_image(client):
    data, _ = render_page(["truncated"])
    assert_error(client.post("/api/v1/ocr", json={"image_base64": b64(data[:120])}), 400, "invalid_image")


def test_413_too_many_bytes(client):
    big = b"\x89PNG\r\n\x1a\n" + bytes(7 * 1024 * 1024)
    assert_error(client.post("/predict", files={"image": ("big.png", big, "image/png")}), 413, "image_too_large")
    # base64 makes it 9.3 MB: the body itself is over the limit, refused before it is parsed
    assert_error(client.post("/api/v1/ocr", json={"image_base64": b64(big)}), 413, "body_too_large")


def test_413_body_refused_while_streaming_without_content_length(client):
    def chunks():   # chunked transfer: no Content-Length to check up front
        for _ in range(20):
            yield b"x" * (1024 * 1024)
    r = client.post("/api/v1/ocr", content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413, "body_too_large")


def test_security_headers_and_request_id_hygiene(client, capsys):
    import json
    r = client.get("/api/v1/health")
    assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors" in r.headers["content-security-policy"]
    data, _ = render_page(["log me"])
    for rid, logged_as in (("bad id\twith tab " + "x" * 200, None), ("req-42.a", "req-42.a")):
        capsys.readouterr()
        client.post("/api/v1/ocr", json={"image_base64": b64(data)}, headers={"x-request-id": rid})
        (rec,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"message": "ocr"' in x]
        if logged_as:
            assert rec["request_id"] == logged_as
        else:   # an unusable client id is replaced by a fresh one
            assert rec["request_id"] != rid and len(rec["request_id"]) == 32


def test_413_decompression_bomb_refused_before_decode(client):
    # 10000 x 10000 = 100 MP declared, a few KB on the wire
    data = encode(Image.new("1", (10000, 10000), 1), "PNG", optimize=True)
    assert len(data) < 200_000
    assert_error(client.post("/predict", files={"image": ("bomb.png", data, "image/png")}), 413, "image_too_large")


def test_415_unsupported_type(client):
    assert_error(client.post("/predict", files={"image": ("a.txt", b"hello, plain text here", "text/plain")}),
                 415, "unsupported_media_type")
    gif = encode(Image.new("L", (20, 20), 255), "GIF")
    assert_error(client.post("/predict", files={"image": ("a.gif", gif, "image/gif")}), 415, "unsupported_media_type")


def test_415_animated_webp(client):
    frames = [Image.new("RGB", (40, 20), (i * 40, 0, 0)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:])
    r = client.post("/predict", files={"image": ("anim.webp", buf.getvalue(), "image/webp")})
    assert_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize("payload", [{}, {"image_base64": ""}, {"image_base64": "aGk=", "mode": "sideways"},
                                     {"image_base64": 5}])
def test_422_schema(client, payload):
    assert_error(client.post("/api/v1/ocr", json=payload), 422, "validation_error")


def test_422_not_json(client):
    r = client.post("/api/v1/ocr", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(r, 422, "validation_error")


def test_422_missing_file_field(client):
    assert_error(client.post("/predict", data={"mode": "auto"}), 422, "validation_error")


def test_404_unknown_route(client):
    assert_error(client.get("/api/v1/nope"), 404, "not_found")


def test_cors_preflight(client):
    r = client.options("/api/v1/ocr", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "https://example.org")


def test_openapi_docs(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/ocr", "/predict", "/api/v1/health"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_logs_are_json_without_image_data(client, capsys):
    data, _ = render_page(["log me"])
    client.post("/api/v1/ocr", json={"image_base64": b64(data)}, headers={"x-request-id": "req-123"})
    import json

    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    rec = [r for r in out if r.get("request_id") == "req-123"]
    assert rec and rec[-1]["message"] == "ocr" and rec[-1]["lines"] == 1 and "elapsed_ms" in rec[-1]
    assert b64(data)[:40] not in json.dumps(out)


def test_optional_bearer_token(client, monkeypatch):
    import app as app_module
    monkeypatch.setattr(app_module, "API_TOKEN", "s3cret")
    data, _ = render_page(["token"], margin=6)
    assert_error(client.post("/api/v1/ocr", json={"image_base64": b64(data)}), 401, "unauthorized")
    assert_error(client.post("/predict", files={"image": ("a.png", data, "image/png")},
                             headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    r = client.post("/api/v1/ocr", json={"image_base64": b64(data), "mode": "line"},
                    headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.json()["text"] == "token"
    assert client.get("/api/v1/health").status_code == 200   # health stays open


def test_busy_server_answers_503_with_retry_after(client, monkeypatch):
    import app as app_module
    from slim_ocr.limits import OcrSlots
    slots = OcrSlots(slots=1, timeout_s=0.05)
    monkeypatch.setattr(app_module, "SLOTS", slots)
    data, _ = render_page(["busy"], margin=6)
    with slots:   # the one slot is taken
        r = client.post("/api/v1/ocr", json={"image_base64": b64(data), "mode": "line"})
    assert_error(r, 503, "busy")
    assert r.headers["retry-after"] == "2"
    assert client.post("/api/v1/ocr", json={"image_base64": b64(data), "mode": "line"}).json()["text"] == "busy"
