#!/usr/bin/env python3
"""Regenerate events/*.json (the events `sam local invoke` and tests/test_lambda_invoke.py use).

The envelopes come from `sam local generate-event apigateway http-api-proxy` / `s3 put` (so they
have exactly the shape API Gateway v2 and S3 send); this script fills in route, headers and body.
The sample images are drawn here and committed next to the events (events/sample-*.png).

    python infra/make_events.py [--sam .venv-sam/bin/sam]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
EXAMPLE_BUCKET = "slim-ocr-input-123456789012-us-east-1"
BOUNDARY = "----slimocrboundary7MA4YWxkTrZu0gW"
# The texts drawn into events/sample-*.png (tests assert what is read back).
SAMPLE_LINE = "Slim OCR 光学字符识别 2026"
SAMPLE_PAGE = ("Invoice No. 2026-0117  发票号码", "Total amount 总金额 ¥ 1,280.00", "Thank you 谢谢惠顾")
FONT_CANDIDATES = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                   "/usr/share/fonts/truetype/arphic/uming.ttc"]


def _font(size: int):
    from PIL import ImageFont

    for path in FONT_CANDIDATES:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def draw(lines: list[str], width: int, height: int, size: int = 26, pitch: int = 56) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (width, height), 255)
    d = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        d.text((24, 16 + i * pitch), text, fill=0, font=_font(size))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def generate(sam: str, *args: str) -> dict:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    out = subprocess.run([sam, "local", "generate-event", *args], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def http_event(sam: str, method: str, path: str, headers: dict, body: str | None, b64: bool) -> dict:
    ev = generate(sam, "apigateway", "http-api-proxy", "--method", method, "--path", path.lstrip("/"))
    route = f"{method} {path}"
    ev["routeKey"] = ev["requestContext"]["routeKey"] = route
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
    ev["requestContext"]["http"]["method"] = method
    ev["requestContext"]["http"]["userAgent"] = "sam-local-events/1.0"
    ev["requestContext"]["http"]["sourceIp"] = "203.0.113.10"
    ev["requestContext"].pop("authentication", None)  # no mTLS / JWT authoriser on this API
    ev["requestContext"].pop("authorizer", None)
    ev["rawQueryString"] = ""
    ev.pop("queryStringParameters", None)
    ev.pop("cookies", None)
    ev.pop("pathParameters", None)
    ev.pop("stageVariables", None)
    ev["headers"] = {"accept": "application/json", "host": ev["requestContext"]["domainName"],
                     "user-agent": "sam-local-events/1.0", "x-forwarded-proto": "https", **headers}
    if body is None:
        ev.pop("body", None)
    else:
        ev["body"] = body
        ev["headers"]["content-length"] = str(len(base64.b64decode(body)) if b64 else len(body.encode()))
    ev["isBase64Encoded"] = b64
    return ev


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> bytes:
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, ctype, data) in files.items():
        out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: {ctype}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_sam = ROOT / ".venv-sam" / "bin" / "sam"
    ap.add_argument("--sam", default=str(default_sam) if default_sam.exists() else (shutil.which("sam") or "sam"))
    args = ap.parse_args()
    EVENTS.mkdir(exist_ok=True)

    line_png = draw([SAMPLE_LINE], 520, 64, size=30)
    page_png = draw(list(SAMPLE_PAGE), 640, 200)
    (EVENTS / "sample-line.png").write_bytes(line_png)
    (EVENTS / "sample-page.png").write_bytes(page_png)

    events = {
        "api_health.json": http_event(args.sam, "GET", "/api/v1/health", {}, None, False),
        "api_ocr_json.json": http_event(
            args.sam, "POST", "/api/v1/ocr", {"content-type": "application/json"},
            json.dumps({"image_base64": base64.b64encode(line_png).decode(), "mode": "line"}), False),
        "api_ocr_not_image.json": http_event(
            args.sam, "POST", "/api/v1/ocr", {"content-type": "application/json"},
            json.dumps({"image_base64": base64.b64encode(b"this is a text file, not an image").decode()}), False),
        "api_predict_multipart.json": http_event(
            args.sam, "POST", "/predict", {"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
            base64.b64encode(multipart({"mode": "page"}, {"image": ("sample-page.png", "image/png", page_png)}))
            .decode(), True),
    }
    s3 = generate(args.sam, "s3", "put", "--bucket", EXAMPLE_BUCKET, "--key", "incoming/sample-page.png")
    obj = s3["Records"][0]["s3"]["object"]
    obj["size"] = len(page_png)
    obj["eTag"] = hashlib.md5(page_png).hexdigest()  # noqa: S324 -- S3's ETag of a single-part upload
    s3["Records"][0]["eventName"] = "ObjectCreated:Put"
    events["s3_put.json"] = s3

    for name, ev in events.items():
        (EVENTS / name).write_text(json.dumps(ev, indent=2, ensure_ascii=False) + "\n")
        print("wrote", (EVENTS / name).relative_to(ROOT))


if __name__ == "__main__":
    main()
