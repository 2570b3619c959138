"""S3 batch mode (function/slim_ocr/batch.py) against a real S3-compatible server (SeaweedFS) and a
local SQS server (moto's standalone server), both on 127.0.0.1 and started by fixtures (s3_local.py).

The result documents are checked for the text of the committed sample page.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from conftest import SAMPLE_PAGE_MIN_CHAR_ACC, assert_reads
from make_events import SAMPLE_PAGE
from test_documents import doc_files  # noqa: F401 -- the 3-page scanned PDF fixture

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.deploy

from s3_local import drain, new_bucket, new_queue, s3_server, sqs_server  # noqa: F401 -- fixtures

from slim_ocr.batch import BatchProcessor, BatchRetryableError, Settings

EVENTS = ROOT / "events"
PAGE = (EVENTS / "sample-page.png").read_bytes()
API_KEYS = {"success", "text", "lines", "elapsed_ms", "model", "detector", "rotation", "image"}


def s3_event(bucket: str, key: str, etag: str, size: int, name: str = "ObjectCreated:Put") -> dict:
    ev = json.loads((EVENTS / "s3_put.json").read_text())
    rec = ev["Records"][0]
    rec["eventName"] = name
    rec["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    rec["s3"]["object"].update(key=quote_plus(key, safe="/"), eTag=etag.strip('"'), size=size)
    return ev


class CountingEngine:
    def __init__(self, engine, fail: Exception | None = None):
        self.engine, self.calls, self.fail = engine, 0, fail

    def run_bytes(self, data, mode="auto"):
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.engine.run_bytes(data, mode)

    def run_image(self, img, mode="auto", t0=None):   # documents: one call per page
        self.calls += 1
        return self.engine.run_image(img, mode, t0)

    def __getattr__(self, name):   # model_name, wants_color, ... of the real engine
        return getattr(self.engine, name)


@pytest.fixture(scope="module")
def engine():
    from slim_ocr.pipeline import OcrEngine

    return OcrEngine()


@pytest.fixture
def env(s3_server, sqs_server, engine):
    s3, sqs = s3_server.client("s3"), sqs_server.client("sqs")
    bucket, dlq = new_bucket(s3), new_queue(sqs)
    counting = CountingEngine(engine)
    proc = BatchProcessor(counting, s3=s3, sqs=sqs, settings=Settings(dlq_url=dlq))

    class Env:
        pass

    e = Env()
    e.s3, e.sqs, e.bucket, e.dlq, e.engine, e.proc = s3, sqs, bucket, dlq, counting, proc

    def put(key: str, body: bytes) -> dict:
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
        return s3_event(bucket, key, etag, len(body))

    def get_json(key: str) -> dict:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def exists(key: str) -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except Exception:  # noqa: BLE001
            return False

    e.put, e.get_json, e.exists = put, get_json, exists
    return e


def test_image_becomes_result_json_with_the_api_schema(env):
    key = "incoming/scans/page 1+a.png"  # spaces and '+' are URL-encoded in S3 events
    ev = env.put(key, PAGE)
    summary = env.proc.handle_event(ev, "req-1")
    assert summary["outcomes"][0]["status"] == "done"
    result_key = "results/scans/page 1+a.png.json"
    assert summary["outcomes"][0]["result_key"] == result_key
    doc = env.get_json(result_key)
    assert set(doc) == API_KEYS | {"source"} and doc["success"] is True
    assert doc["source"]["key"] == key and doc["source"]["bucket"] == env.bucket
    assert doc["image"] == {"width": 640, "height": 200}
    assert_reads([line["text"] for line in doc["lines"]], list(SAMPLE_PAGE), SAMPLE_PAGE_MIN_CHAR_ACC)
    for line in doc["lines"]:
        assert set(line) == {"text", "confidence", "box"}
        assert len(line["box"]) == 4 and all(len(p) == 2 for p in line["box"])
    head = env.s3.head_object(Bucket=env.bucket, Key=result_key)
    assert head["ContentType"].startswith("application/json")
    src_etag = env.s3.head_object(Bucket=env.bucket, Key=key)["ETag"].strip('"')
    assert head["Metadata"]["source-etag"] == src_etag
    assert not env.exists("results/scans/page 1+a.png.error.json")


def test_redelivery_is_skipped_without_new_work(env):
    ev = env.put("incoming/a.png", PAGE)
    env.proc.handle_event(ev)
    first = env.s3.head_object(Bucket=env.bucket, Key="results/a.png.json")
    again = env.proc.handle_event(copy.deepcopy(ev))
    assert again["outcomes"][0]["status"] == "skipped"
    assert env.engine.calls == 1
    assert env.s3.head_object(Bucket=env.bucket, Key="results/a.png.json")["ETag"] == first["ETag"]
    keys = [o["Key"] for o in env.s3.list_objects_v2(Bucket=env.bucket, Prefix="results/")["Contents"]]
    assert keys == ["results/a.png.json"]


def test_corrupt_image_goes_to_dlq_and_error_json_once(env):
    corrupt = PAGE[:200]  # a PNG header, then nothing: the API answers 400 invalid_image
    ev = env.put("incoming/broken.png", corrupt)
    out = env.proc.handle_event(ev, "req-2")["outcomes"][0]
    assert (out["status"], out["code"]) == ("failed", "invalid_image")
    err = env.get_json("results/broken.png.error.json")
    assert err["success"] is False and err["error"]["code"] == "invalid_image" and err["error"]["message"]
    meta = env.s3.head_object(Bucket=env.bucket, Key="results/broken.png.error.json")["Metadata"]
    assert meta["status"] == "400" and meta["permanent"] == "true"
    msgs = drain(env.sqs, env.dlq)
    assert len(msgs) == 1
    body = json.loads(msgs[0]["Body"])
    assert body["reason"] == "ocr_failed" and body["status"] == 400
    assert body["error"]["code"] == "invalid_image"
    assert body["source"] == {"bucket": env.bucket, "key": "incoming/broken.png", "etag": meta["source-etag"]}
    assert body["request_id"] == "req-2"
    assert msgs[0]["MessageAttributes"]["ErrorCode"]["StringValue"] == "invalid_image"
    # re-delivery: no second OCR attempt, no second DLQ message
    again = env.proc.handle_event(copy.deepcopy(ev))["outcomes"][0]
    assert again["status"] == "skipped" and env.engine.calls == 1
    assert drain(env.sqs, env.dlq) == []


def test_non_image_is_415_like_the_api(env):
    ev = env.put("incoming/notes.txt", b"this is a text file, not an image")
    out = env.proc.handle_event(ev)["outcomes"][0]
    assert (out["status"], out["code"]) == ("failed", "unsupported_media_type")
    meta = env.s3.head_object(Bucket=env.bucket, Key="results/notes.txt.error.json")["Metadata"]
    assert meta["status"] == "415"
    assert len(drain(env.sqs, env.dlq)) == 1


def test_too_large_is_refused_before_download(env):
    env.proc.settings.max_bytes = 4096  # the same check as the API's MAX_IMAGE_BYTES, smaller for the test
    ev = env.put("incoming/big.png", PAGE)
    out = env.proc.handle_event(ev)["outcomes"][0]
    assert (out["status"], out["code"]) == ("failed", "image_too_large")
    assert env.engine.calls == 0
    assert env.get_json("results/big.png.error.json")["error"]["code"] == "image_too_large"
    assert json.loads(drain(env.sqs, env.dlq)[0]["Body"])["status"] == 413


def test_new_version_replaces_the_old_outcome(env):
    env.proc.handle_event(env.put("incoming/v.png", PAGE))
    assert env.exists("results/v.png.json")
    env.proc.handle_event(env.put("incoming/v.png", b"GIF89a not supported"))
    assert env.exists("results/v.png.error.json") and not env.exists("results/v.png.json")
    env.proc.handle_event(env.put("incoming/v.png", PAGE))
    assert env.exists("results/v.png.json") and not env.exists("results/v.png.error.json")
    assert env.engine.calls == 2   # the GIF is refused from its magic bytes, before the engine


def test_stale_and_deleted_events_are_skipped(env):
    old = env.put("incoming/s.png", PAGE)
    env.put("incoming/s.png", PAGE + b"\0")  # overwritten: the old event's ETag no longer matches
    out = env.proc.handle_event(old)["outcomes"][0]
    assert out["status"] == "skipped" and "superseded" in out["reason"]
    gone = env.put("incoming/gone.png", PAGE)
    env.s3.delete_object(Bucket=env.bucket, Key="incoming/gone.png")
    assert env.proc.handle_event(gone)["outcomes"][0]["status"] == "skipped"
    assert env.engine.calls == 0


def test_objects_outside_incoming_are_ignored(env):
    ev = env.put("results/x.png.json", b"{}")
    assert env.proc.handle_event(ev)["outcomes"][0]["status"] == "ignored"
    folder = s3_event(env.bucket, "incoming/folder/", "d41d8cd98f00b204e9800998ecf8427e", 0)  # console "folder"
    assert env.proc.handle_event(folder)["outcomes"][0]["status"] == "ignored"
    assert env.engine.calls == 0


def test_recognition_failure_is_permanent_with_one_dlq_message(env):
    """The same bytes would fail the same way again: no retries, one DLQ message with the reason."""
    ev = env.put("incoming/r.png", PAGE)
    env.engine.fail = RuntimeError("simulated bug")
    out = env.proc.handle_event(ev)["outcomes"][0]
    assert out["status"] == "failed" and out["code"] == "internal_error"
    err = env.get_json("results/r.png.error.json")
    assert err["error"]["code"] == "internal_error" and "RuntimeError" in err["error"]["message"]
    meta = env.s3.head_object(Bucket=env.bucket, Key="results/r.png.error.json")["Metadata"]
    assert meta["permanent"] == "true" and meta["status"] == "500"
    (msg,) = drain(env.sqs, env.dlq)
    assert json.loads(msg["Body"])["error"]["code"] == "internal_error"
    calls = env.engine.calls
    assert env.proc.handle_event(ev)["outcomes"][0]["status"] == "skipped" and env.engine.calls == calls


def test_transient_s3_error_raises_for_lambda_retry_then_recovers(env, monkeypatch):
    from botocore.exceptions import ClientError
    ev = env.put("incoming/r.png", PAGE)
    real_get = env.s3.get_object

    def throttled(**kw):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "GetObject")

    monkeypatch.setattr(env.s3, "get_object", throttled)
    with pytest.raises(BatchRetryableError, match="SlowDown"):
        env.proc.handle_event(ev)
    meta = env.s3.head_object(Bucket=env.bucket, Key="results/r.png.error.json")["Metadata"]
    assert meta["permanent"] == "false" and meta["status"] == "500"
    assert drain(env.sqs, env.dlq) == []  # Lambda's on-failure destination reports it after the retries
    monkeypatch.setattr(env.s3, "get_object", real_get)   # the retry (same event) is not skipped and cleans up
    assert env.proc.handle_event(ev)["outcomes"][0]["status"] == "done"
    assert env.exists("results/r.png.json") and not env.exists("results/r.png.error.json")
    assert not env.exists("results/r.png.claim")


@pytest.mark.parametrize("name", ["ctl\x01char\x1f.png", "/".join(["长" * 60] * 5) + ".png",
                                  "/".join(["k" * 200] * 5) + ".png"])
def test_keys_that_used_to_never_complete(env, name):
    """Control characters; a key whose escaped form is beyond S3's 2 KB of metadata; a key whose
    result key would be beyond S3's 1,024 bytes. (The source keys are valid, <= 1,024 bytes, in
    folders: SeaweedFS stores each folder level as a file name, at most 255 bytes.)"""
    key = "incoming/" + name
    summary = env.proc.handle_event(env.put(key, PAGE))
    out = summary["outcomes"][0]
    assert out["status"] == "done", out
    assert len(out["result_key"].encode()) <= 1024
    doc = env.get_json(out["result_key"])
    assert doc["source"]["key"] == key and doc["success"] is True   # the mapping is in the body
    meta = env.s3.head_object(Bucket=env.bucket, Key=out["result_key"])["Metadata"]
    assert sum(len(k) + len(v) for k, v in meta.items()) <= 2048


def test_a_malformed_record_does_not_abort_the_others(env):
    ev = env.put("incoming/ok.png", PAGE)
    broken = copy.deepcopy(ev["Records"][0])
    del broken["s3"]["bucket"]
    ev["Records"].insert(0, broken)
    outcomes = env.proc.handle_event(ev)["outcomes"]
    assert [o["status"] for o in outcomes] == ["ignored", "done"] and "malformed" in outcomes[0]["reason"]


def test_concurrent_deliveries_of_one_event_recognise_once(env):
    import threading
    ev = env.put("incoming/twice.png", PAGE)
    gate = threading.Event()
    real = env.engine.engine

    class Slow:
        def run_bytes(self, data, mode="auto"):
            gate.wait(10)   # hold the claim until the second delivery has looked
            return real.run_bytes(data, mode)

    env.engine.engine = Slow()
    results = []
    t = threading.Thread(target=lambda: results.append(env.proc.handle_event(copy.deepcopy(ev))))
    t.start()
    for _ in range(100):   # wait until the first delivery holds its claim
        if env.exists("results/twice.png.claim"):
            break
        time.sleep(0.05)
    second = env.proc.handle_event(copy.deepcopy(ev))["outcomes"][0]
    gate.set()
    t.join(30)
    assert second["status"] == "skipped" and "another delivery" in second["reason"]
    assert results[0]["outcomes"][0]["status"] == "done" and env.engine.calls == 1
    assert not env.exists("results/twice.png.claim")


def test_unicode_keys_and_several_records_in_one_event(env):
    good = env.put("incoming/档案 2026/第1页.png", PAGE)
    bad = env.put("incoming/档案 2026/说明.txt", b"plain text")
    good["Records"] += bad["Records"]
    summary = env.proc.handle_event(good)
    assert [o["status"] for o in summary["outcomes"]] == ["done", "failed"]
    assert env.get_json("results/档案 2026/第1页.png.json")["success"] is True
    assert env.get_json("results/档案 2026/说明.txt.error.json")["error"]["code"] == "unsupported_media_type"
    assert len(drain(env.sqs, env.dlq)) == 1


def test_pdf_becomes_per_page_json_and_a_searchable_pdf(env, doc_files):
    import shutil
    import subprocess
    from test_documents import PAGES, assert_pages_read
    ev = env.put("incoming/scans/three pages.pdf", doc_files.scan.read_bytes())
    out = env.proc.handle_event(ev)["outcomes"][0]
    assert out["status"] == "done" and out["result_key"] == "results/scans/three pages.pdf.json"
    doc = env.get_json(out["result_key"])
    assert doc["page_count"] == 3 and [p["page"] for p in doc["pages"]] == [1, 2, 3]
    assert doc["source"]["key"] == "incoming/scans/three pages.pdf"
    assert_pages_read([p["text"] for p in doc["pages"]], pages=PAGES)
    pdf = env.s3.get_object(Bucket=env.bucket, Key="results/scans/three pages.pdf.pdf")
    assert pdf["ContentType"] == "application/pdf"
    data = pdf["Body"].read()
    assert data.startswith(b"%PDF") and env.engine.calls == 3
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True).stdout.decode()
        assert_pages_read([t for t in text.split("\f") if t.strip()], pages=PAGES)


# ---- backfill: S3 Batch Operations "Invoke AWS Lambda function" ----------------------------------
# Built from a CSV manifest (bucket,key; keys URL-encoded, as S3 requires) the way Batch Operations
# builds them: one task per invocation, schema 1.0 names the bucket by ARN, 2.0 by name.

def write_manifest(env, keys: list[str]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([env.bucket, quote(k, safe="/")] for k in keys)
    env.s3.put_object(Bucket=env.bucket, Key="backfill/manifest.csv", Body=buf.getvalue().encode())
    return "backfill/manifest.csv"


def batch_events(env, manifest_key: str, version: str) -> list[dict]:
    import csv
    import uuid

    text = env.s3.get_object(Bucket=env.bucket, Key=manifest_key)["Body"].read().decode()
    job = {"id": str(uuid.uuid4())}
    if version == "2.0":
        job["userArguments"] = {"note": "backfill test"}   # accepted and not used
    events = []
    for bucket, key in csv.reader(text.splitlines()):
        task = {"taskId": uuid.uuid4().hex, "s3Key": key, "s3VersionId": None}
        task.update({"s3BucketArn": f"arn:aws:s3:::{bucket}"} if version == "1.0" else {"s3Bucket": bucket})
        events.append({"invocationSchemaVersion": version, "invocationId": uuid.uuid4().hex, "job": job,
                       "tasks": [task]})
    return events


def run_job(env, events: list[dict]) -> list[dict]:
    """Invoke the processor with each event; check the response envelope; one result per task."""
    results = []
    for ev in events:
        resp = env.proc.handle_event(copy.deepcopy(ev), "req-bo")
        assert set(resp) == {"invocationSchemaVersion", "treatMissingKeysAs", "invocationId", "results"}
        assert resp["invocationSchemaVersion"] == ev["invocationSchemaVersion"]
        assert resp["invocationId"] == ev["invocationId"] and resp["treatMissingKeysAs"] == "PermanentFailure"
        (res,) = resp["results"]
        assert res["taskId"] == ev["tasks"][0]["taskId"] and isinstance(res["resultString"], str)
        results.append(res)
    return results


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_backfill_job_recognises_existing_objects_once(env, doc_files, version):
    from test_documents import PAGES, assert_pages_read

    image, pdf, bad = "incoming/scans/page 1+a.png", "incoming/docs/three pages.pdf", "incoming/bad file.png"
    done, gone = "incoming/done.png", "incoming/deleted.png"
    env.put(image, PAGE)
    env.put(pdf, doc_files.scan.read_bytes())
    env.put(bad, PAGE[:200])                          # a PNG header, then nothing: invalid_image
    env.proc.handle_event(env.put(done, PAGE))        # processed already, by its upload event
    done_etag = env.s3.head_object(Bucket=env.bucket, Key="results/done.png.json")["ETag"]
    env.put(gone, PAGE)
    env.s3.delete_object(Bucket=env.bucket, Key=gone)  # listed in the manifest, deleted since
    env.put("archive/old.png", PAGE)                   # outside incoming/
    env.engine.calls = 0
    # "incoming/folder/": a console "folder" placeholder, refused from its key alone (not created here:
    # SeaweedFS stalls the request after an empty-body PUT for a minute)
    keys = [image, pdf, bad, done, gone, "archive/old.png", "results/done.png.json", "incoming/folder/"]
    events = batch_events(env, write_manifest(env, keys), version)
    assert events[0]["tasks"][0]["s3Key"] == "incoming/scans/page%201%2Ba.png"

    first = dict(zip(keys, run_job(env, events)))
    assert {k: r["resultCode"] for k, r in first.items()} == {
        image: "Succeeded", pdf: "Succeeded", bad: "PermanentFailure", done: "Succeeded", gone: "PermanentFailure",
        "archive/old.png": "PermanentFailure", "results/done.png.json": "PermanentFailure",
        "incoming/folder/": "Succeeded"}
    assert first[image]["resultString"] == "done: results/scans/page 1+a.png.json"
    assert "already_done" in first[done]["resultString"]
    assert first[bad]["resultString"].startswith("failed (invalid_image): ")
    assert first[bad]["resultString"].endswith(": results/bad file.png.error.json")
    assert "not_found" in first[gone]["resultString"]
    assert "outside the input prefix incoming/" in first["archive/old.png"]["resultString"]
    assert "output of this function" in first["results/done.png.json"]["resultString"]
    # the same results as uploads give, with the recognised text
    doc = env.get_json("results/scans/page 1+a.png.json")
    assert doc["success"] is True and doc["source"]["key"] == image
    assert_reads([line["text"] for line in doc["lines"]], list(SAMPLE_PAGE), SAMPLE_PAGE_MIN_CHAR_ACC)
    pages = env.get_json("results/docs/three pages.pdf.json")
    assert pages["page_count"] == 3
    assert_pages_read([p["text"] for p in pages["pages"]], pages=PAGES)
    assert env.s3.get_object(Bucket=env.bucket, Key="results/docs/three pages.pdf.pdf")["Body"].read(4) == b"%PDF"
    assert env.get_json("results/bad file.png.error.json")["error"]["code"] == "invalid_image"
    (msg,) = drain(env.sqs, env.dlq)
    assert json.loads(msg["Body"])["source"]["key"] == bad
    assert env.s3.head_object(Bucket=env.bucket, Key="results/done.png.json")["ETag"] == done_etag
    assert not env.exists("results/archive/old.png.json") and not env.exists("results/results/done.png.json.json")
    calls = env.engine.calls
    assert calls == 1 + 3 + 1   # the image, three PDF pages, the bad file (refused by the decoder)

    # a second run of the same job re-OCRs nothing and reports the same
    second = dict(zip(keys, run_job(env, events)))
    assert {k: r["resultCode"] for k, r in second.items()} == {k: r["resultCode"] for k, r in first.items()}
    assert "already_done" in second[image]["resultString"] and "already_done" in second[pdf]["resultString"]
    assert "already_failed" in second[bad]["resultString"]
    assert env.engine.calls == calls and drain(env.sqs, env.dlq) == []


def raises(code: str, status: int, op: str):
    """A stand-in for a boto3 call that fails with this S3 error."""
    from botocore.exceptions import ClientError

    def call(**_kw):
        raise ClientError({"Error": {"Code": code, "Message": code},
                           "ResponseMetadata": {"HTTPStatusCode": status}}, op)
    return call


@pytest.mark.parametrize("failure", ["throttled", "s3_5xx", "engine_busy"])
def test_backfill_transient_failure_is_temporary_then_retried(env, monkeypatch, failure):
    from slim_ocr.limits import ServerBusy

    key = "incoming/retry me.png"
    env.put(key, PAGE)
    (ev,) = batch_events(env, write_manifest(env, [key]), "1.0")
    if failure == "throttled":
        monkeypatch.setattr(env.s3, "get_object", raises("SlowDown", 503, "GetObject"))
    elif failure == "s3_5xx":
        monkeypatch.setattr(env.s3, "head_object", raises("InternalError", 500, "HeadObject"))
    else:
        env.engine.fail = ServerBusy("all recognition slots busy")
    (res,) = run_job(env, [ev])
    assert res["resultCode"] == "TemporaryFailure", res
    monkeypatch.undo()
    env.engine.fail = None
    assert drain(env.sqs, env.dlq) == []                  # not a permanent failure: no DLQ message
    assert not env.exists("results/retry me.png.claim")   # the claim was released for the retry
    if env.exists("results/retry me.png.error.json"):     # the best-effort trace is marked as not permanent
        meta = env.s3.head_object(Bucket=env.bucket, Key="results/retry me.png.error.json")["Metadata"]
        assert meta["permanent"] == "false"
    (res,) = run_job(env, [ev])                            # Batch Operations' retry of the task
    assert res["resultCode"] == "Succeeded" and res["resultString"] == "done: results/retry me.png.json"
    assert_reads([line["text"] for line in env.get_json("results/retry me.png.json")["lines"]], list(SAMPLE_PAGE), SAMPLE_PAGE_MIN_CHAR_ACC)
    assert not env.exists("results/retry me.png.error.json")


def test_backfill_claim_held_elsewhere_is_temporary_and_bad_tasks_permanent(env):
    key = "incoming/busy.png"
    env.put(key, PAGE)
    etag = env.s3.head_object(Bucket=env.bucket, Key=key)["ETag"].strip('"')
    env.s3.put_object(Bucket=env.bucket, Key="results/busy.png.claim",     # an upload event being recognised
                      Body=json.dumps({"etag": etag, "request_id": "other", "time": time.time()}).encode())
    (ev,) = batch_events(env, write_manifest(env, [key]), "2.0")
    (res,) = run_job(env, [ev])
    assert res["resultCode"] == "TemporaryFailure" and "in_progress" in res["resultString"]
    assert env.engine.calls == 0

    unknown = copy.deepcopy(ev)
    unknown["invocationSchemaVersion"] = "3.0"
    no_key = copy.deepcopy(ev)
    del no_key["tasks"][0]["s3Key"]
    for bad in (unknown, no_key):
        (res,) = run_job(env, [bad])
        assert res["resultCode"] == "PermanentFailure" and "malformed task" in res["resultString"]
    assert env.engine.calls == 0


def test_lambda_entry_point_answers_batch_operations(env, monkeypatch):
    """function/handler.py's s3_handler (the BatchFunction handler) routes a Batch Operations
    invocation to the same processor and returns its response."""
    import handler

    monkeypatch.setattr(handler, "_batch", env.proc)
    key = "incoming/entry.png"
    env.put(key, PAGE)
    (ev,) = batch_events(env, write_manifest(env, [key]), "1.0")
    resp = handler.s3_handler(copy.deepcopy(ev), type("Ctx", (), {"aws_request_id": "req-entry"})())
    assert resp["invocationId"] == ev["invocationId"]
    assert [r["resultCode"] for r in resp["results"]] == ["Succeeded"]
    assert env.exists("results/entry.png.json")
