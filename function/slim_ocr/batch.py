"""S3 batch mode ("digitise an archive"): objects created under ``incoming/`` are OCR'd and the
result is written back to S3.

For an object ``incoming/<name>`` (in the bucket named by the event):

* success  -> ``results/<name>.json``: the API's success JSON (``OcrResult.to_dict()``; for a PDF
  or multi-page TIFF the API's document JSON, one entry per page) plus ``source`` (bucket, key,
  etag); for a PDF also ``results/<name>.pdf``, the searchable PDF (``slim_ocr.searchable_pdf``);
* a permanent failure -> ``results/<name>.error.json``: the API's error JSON
  ``{"success": false, "error": {"code", "message"}}`` plus ``source``, and one message with the
  reason on the dead-letter queue (``DLQ_URL``), so nothing is silently lost. Permanent: the
  API's ``OcrError``s (not an image, corrupt, too large: same limits and codes) and any other
  failure while recognising the image (deterministic: a retry would fail alike; code
  ``internal_error``);
* a transient failure (S3/SQS errors, throttling) -> the record is reported ``error`` and the
  invocation raises after every record was tried, so Lambda retries the event and finally hands
  it to the on-failure destination (the same SQS queue; see template.yaml). A best-effort
  ``.error.json`` with code ``internal_error`` is written too; it does not stop a retry.

Keys: a result key that would exceed S3's 1,024 bytes becomes ``results/_long/<sha256 of the
source key>.json`` (the source key is in the body's ``source``). Metadata values are
percent-encoded (ASCII, no control characters) and a source key too long for S3's 2 KB of
metadata is recorded by its sha256. Records are isolated: a malformed one is reported
``ignored`` and the others go on. Concurrent deliveries of one event: the first to create the
claim object ``results/<name>.claim`` (a conditional write, If-None-Match) recognises; the others
skip it; a claim older than ``CLAIM_TTL_S`` (a crashed worker) is taken over.

Every result object carries the source's ETag in its metadata (``x-amz-meta-source-etag``).
Idempotency: a re-delivered event whose source ETag already has a result (or a permanent error)
is skipped without downloading the image; an event for a version that has since been overwritten
or deleted is skipped (the newer version has its own event). A new version replaces the old
version's result and removes a stale ``.error.json`` (and vice versa).

Backfill (objects that already exist): an S3 Batch Operations "Invoke AWS Lambda function"
invocation (schema 1.0 or 2.0; see infra/README.md) goes through the same per-object path
(``process_object``: same keys, claims and idempotency) and answers one result per task:
``Succeeded`` (recognised, or already done for this ETag, or a folder placeholder),
``PermanentFailure`` (a bad file as above, or one that already failed permanently; gone; not a
source: outside INPUT_PREFIX or under RESULT_PREFIX of the output bucket; a malformed task) or
``TemporaryFailure`` (whatever the event path retries, a claim held by another invocation, an
object overwritten while reading), which Batch Operations retries. A task names no ETag, so the
key's current version is processed (a manifest's version id is not used).

Environment: INPUT_PREFIX (``incoming/``), RESULT_PREFIX (``results/``), RESULT_BUCKET (default:
the source bucket), DLQ_URL (optional), OCR_MODE (``auto``), MAX_IMAGE_BYTES / MAX_IMAGE_PIXELS
(image_io.py). S3/SQS endpoints follow boto3's own settings (AWS_ENDPOINT_URL_S3, ...).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, unquote_plus

from .document import MAX_DOCUMENT_BYTES, count_pages, sniff_document
from .errors import ImageTooLarge, OcrError
from .image_io import MAX_BYTES

log = logging.getLogger("slim_ocr.batch")

JSON_TYPE = "application/json; charset=utf-8"
MAX_KEY_BYTES = 1024          # S3's limit on a key (UTF-8)
MAX_META_VALUE = 1024         # S3 allows 2 KB of user metadata in all; the source key may take half
CLAIM_TTL_S = 16 * 60         # longer than the function's 15-minute maximum run


class BatchRetryableError(RuntimeError):
    """Raised after all records were tried when at least one hit an unexpected error (Lambda retries)."""


@dataclass
class Outcome:
    key: str
    status: str  # done | failed | skipped | ignored | error (retryable)
    result_key: str | None = None
    reason: str | None = None
    code: str | None = None


@dataclass
class Settings:
    input_prefix: str = "incoming/"
    result_prefix: str = "results/"
    result_bucket: str | None = None
    dlq_url: str | None = None
    mode: str = "auto"
    max_bytes: int = MAX_BYTES                    # images
    max_document_bytes: int = MAX_DOCUMENT_BYTES  # PDFs and multi-page TIFFs

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        return cls(input_prefix=env.get("INPUT_PREFIX", "incoming/"),
                   result_prefix=env.get("RESULT_PREFIX", "results/"),
                   result_bucket=env.get("RESULT_BUCKET") or None,
                   dlq_url=env.get("DLQ_URL") or None,
                   mode=env.get("OCR_MODE", "auto"),
                   max_bytes=MAX_BYTES, max_document_bytes=MAX_DOCUMENT_BYTES)


def _norm_etag(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


class _Unprocessable(OcrError):
    status, code = 500, "internal_error"


def _record_key(record) -> str:
    try:
        return str(record["s3"]["object"]["key"])
    except (KeyError, TypeError):
        return "?"


def _key_meta(key: str) -> dict[str, str]:
    """The source key as S3 metadata can carry it: percent-encoded, or its sha256 when too long."""
    quoted = quote(key, safe="/")
    if len(quoted) <= MAX_META_VALUE:
        return {"source-key": quoted}
    return {"source-key-sha256": hashlib.sha256(key.encode("utf-8")).hexdigest()}


def _is_missing(exc: Exception, *codes: str) -> bool:
    err = getattr(exc, "response", {}).get("Error", {})
    return str(err.get("Code")) in codes


# ---- S3 Batch Operations ("Invoke AWS Lambda function") -------------------------------------
SUCCEEDED, TEMPORARY, PERMANENT = "Succeeded", "TemporaryFailure", "PermanentFailure"

# The result code of an outcome, by "status:code" (skips and refusals) or else by status.
_RESULT_CODES = {
    "done": SUCCEEDED,
    "failed": PERMANENT,                  # a bad file: .error.json + one DLQ message, as for uploads
    "error": TEMPORARY,                   # S3/SQS errors, throttling, engine busy: Batch Operations retries
    "skipped:already_done": SUCCEEDED,
    "skipped:already_failed": PERMANENT,
    "skipped:in_progress": TEMPORARY,     # another invocation holds the claim: look again later
    "skipped:superseded": TEMPORARY,      # overwritten meanwhile: the retry sees the current version
    "skipped:not_found": PERMANENT,
    "ignored:folder": SUCCEEDED,
    "ignored:not_a_source": PERMANENT,
    "ignored:malformed": PERMANENT,
}


def task_result(outcome: Outcome) -> tuple[str, str]:
    """(resultCode, resultString) of an outcome, as S3 Batch Operations' completion report shows it,
    e.g. ``failed (invalid_image): <message>: results/a.png.error.json``."""
    code = _RESULT_CODES.get(f"{outcome.status}:{outcome.code}") or _RESULT_CODES.get(outcome.status, PERMANENT)
    head = f"{outcome.status} ({outcome.code})" if outcome.code else outcome.status
    return code, ": ".join(part for part in (head, outcome.reason, outcome.result_key) if part)


def _task_object(task: dict, version: str) -> tuple[str, str]:
    """(bucket, decoded key) of a task. Schema 1.0 names the bucket by ARN, 2.0 by name; the key
    arrives URL-encoded as in the manifest (CSV manifests and S3 Inventory reports encode keys)."""
    if version == "1.0":
        bucket = str(task["s3BucketArn"]).split(":")[-1]   # arn:aws:s3:::<bucket>
    elif version == "2.0":
        bucket = task["s3Bucket"]
    else:
        raise ValueError(f"unsupported invocationSchemaVersion {version!r}")
    key = unquote_plus(task["s3Key"], errors="strict")
    if not isinstance(bucket, str) or not bucket or not key:
        raise ValueError("bucket and key must be non-empty strings")
    return bucket, key


def _task_key(task: Any) -> str:
    return str(task.get("s3Key", "?")) if isinstance(task, dict) else "?"


class BatchProcessor:
    def __init__(self, engine: Any, s3: Any = None, sqs: Any = None, settings: Settings | None = None):
        self.engine = engine
        self.settings = settings or Settings.from_env()
        if s3 is None:
            import boto3  # provided by the Lambda runtime; not bundled

            s3 = boto3.client("s3")
        self.s3 = s3
        self._sqs = sqs

    @property
    def sqs(self):
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        return self._sqs

    # ---- keys --------------------------------------------------------------------------
    def result_keys(self, key: str) -> tuple[str, str]:
        return self._keys(key)[:2]

    def _keys(self, key: str) -> tuple[str, str, str]:
        """(result, error, claim) keys of a source key; hashed when they would not fit S3's limit."""
        name = key[len(self.settings.input_prefix):] if key.startswith(self.settings.input_prefix) else key
        base = f"{self.settings.result_prefix}{name}"
        if len(f"{base}.error.json".encode("utf-8")) > MAX_KEY_BYTES:
            base = f"{self.settings.result_prefix}_long/{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
        return f"{base}.json", f"{base}.error.json", f"{base}.claim"

    # ---- events ------------------------------------------------------------------------
    def handle_event(self, event: dict, request_id: str | None = None) -> dict:
        """The Lambda entry: an S3 Batch Operations invocation or an S3 event notification."""
        if isinstance(event, dict) and "invocationSchemaVersion" in event and "tasks" in event:
            return self.handle_batch_job(event, request_id)
        return self.handle_s3_event(event, request_id)

    def handle_batch_job(self, event: dict, request_id: str | None = None) -> dict:
        """S3 Batch Operations "Invoke AWS Lambda function" (schema 1.0 or 2.0): one result per task.
        Never raises: a transient failure is reported as TemporaryFailure, which Batch Operations
        retries. ``job.userArguments`` (2.0) are not used: the settings are the function's."""
        version = str(event.get("invocationSchemaVersion"))
        job_id = (event.get("job") or {}).get("id")
        results = []
        for task in event.get("tasks") or []:
            task_id = task.get("taskId") if isinstance(task, dict) else None
            code, text, outcome = self._run_task(task, version, request_id)
            log.info("batch operations task", extra={"job_id": job_id, "task_id": task_id, "key": outcome.key,
                                                     "result_code": code})
            results.append({"taskId": task_id, "resultCode": code, "resultString": text})
        return {"invocationSchemaVersion": version, "treatMissingKeysAs": PERMANENT,
                "invocationId": event.get("invocationId"), "results": results}

    def _run_task(self, task: Any, version: str, request_id: str | None) -> tuple[str, str, Outcome]:
        try:
            bucket, key = _task_object(task, version)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            outcome = Outcome(_task_key(task), "ignored", reason=f"malformed task: {exc}", code="malformed")
        else:
            outcome = self.process_object(bucket, key, request_id=request_id)
        return (*task_result(outcome), outcome)

    def handle_s3_event(self, event: dict, request_id: str | None = None) -> dict:
        records = event.get("Records") or []
        outcomes = []
        for record in records:
            if not isinstance(record, dict) or record.get("eventSource") != "aws:s3" \
                    or not str(record.get("eventName", "")).startswith("ObjectCreated"):
                outcomes.append(Outcome(key=_record_key(record), status="ignored",
                                        reason="not an S3 ObjectCreated record"))
                continue
            try:
                bucket, key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
                if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
                    raise TypeError("bucket name and key must be non-empty strings")
            except (KeyError, TypeError) as exc:
                outcomes.append(self._log(Outcome(key=_record_key(record), status="ignored",
                                                  reason=f"malformed record: {exc}")))
                continue
            outcomes.append(self.process_record(record, request_id))
        summary = {"processed": len(outcomes), "outcomes": [asdict(o) for o in outcomes]}
        retry = [o for o in outcomes if o.status == "error"]
        if retry:
            raise BatchRetryableError("; ".join(f"{o.key}: {o.reason}" for o in retry))
        return summary

    def process_record(self, record: dict, request_id: str | None = None) -> Outcome:
        obj = record["s3"]["object"]
        # S3 event keys are URL-encoded ('+' for spaces)
        return self.process_object(record["s3"]["bucket"]["name"], unquote_plus(obj["key"]),
                                   _norm_etag(obj.get("eTag")), request_id)

    def process_object(self, bucket: str, key: str, event_etag: str = "", request_id: str | None = None) -> Outcome:
        """Recognise ``bucket/key`` (a decoded key) unless it is done already: the one per-object path
        of S3 events and S3 Batch Operations tasks. ``event_etag``: the version the caller was told
        about (an event's), or empty for whatever version is current."""
        refused = self._refuse(bucket, key)
        if refused is not None:
            return refused
        out_bucket = self.settings.result_bucket or bucket
        result_key, error_key, claim_key = self._keys(key)
        t0 = time.perf_counter()
        claimed = False
        try:
            try:
                head = self.s3.head_object(Bucket=bucket, Key=key)
            except Exception as exc:  # noqa: BLE001
                if _is_missing(exc, "404", "NoSuchKey", "NotFound"):
                    return self._log(Outcome(key, "skipped", reason="source object no longer exists", code="not_found"))
                raise
            etag = _norm_etag(head.get("ETag"))
            if event_etag and etag != event_etag:
                return self._log(Outcome(key, "skipped", reason="superseded by a newer version of the object",
                                         code="superseded"))
            if self._has_result(out_bucket, result_key, etag):
                return self._log(Outcome(key, "skipped", result_key, reason="result already exists",
                                         code="already_done"))
            if self._has_result(out_bucket, error_key, etag, permanent_only=True):
                return self._log(Outcome(key, "skipped", error_key, reason="already failed permanently",
                                         code="already_failed"))
            if not self._claim(out_bucket, claim_key, etag, request_id):
                return self._log(Outcome(key, "skipped", code="in_progress",
                                         reason="being recognised by another delivery or invocation"))
            claimed = True
            try:
                size = int(head.get("ContentLength", 0))
                limit = max(self.settings.max_bytes, self.settings.max_document_bytes)
                if size > limit:  # refused before download, as the API does
                    raise ImageTooLarge(f"file too large (max {limit // (1024 * 1024)} MB)")
                try:
                    body = self.s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')["Body"].read()
                except Exception as exc:  # noqa: BLE001
                    if _is_missing(exc, "412", "PreconditionFailed"):
                        return self._log(Outcome(key, "skipped", reason="object changed while reading",
                                                 code="superseded"))
                    if _is_missing(exc, "404", "NoSuchKey"):
                        return self._log(Outcome(key, "skipped", reason="object vanished while reading",
                                                 code="not_found"))
                    raise
                try:
                    doc, pdf = self._recognise(body)
                except OcrError:
                    raise
                except Exception as exc:  # noqa: BLE001 -- the same bytes would fail the same way again
                    log.exception("recognition failed", extra={"key": key, "bucket": bucket})
                    raise _Unprocessable(f"the image could not be processed ({type(exc).__name__})") from exc
            except OcrError as exc:
                if exc.status == 503:   # engine busy (ServerBusy): the same bytes may well succeed later
                    raise
                return self._permanent_failure(bucket, key, etag, out_bucket, result_key, error_key, exc, request_id)
            if pdf is not None:
                self.s3.put_object(Bucket=out_bucket, Key=result_key[:-len(".json")] + ".pdf", Body=pdf,
                                   ContentType="application/pdf",
                                   Metadata={"source-bucket": bucket, "source-etag": etag, **_key_meta(key)})
            self._put_json(out_bucket, result_key, doc, bucket, key, etag, {"status": "200"})
            self._delete_stale(out_bucket, error_key)
            lines = sum(len(p["lines"]) for p in doc["pages"]) if "pages" in doc else len(doc["lines"])
            return self._log(Outcome(key, "done", result_key), lines=lines,
                             elapsed_ms=round((time.perf_counter() - t0) * 1000, 1))
        except Exception as exc:  # noqa: BLE001 -- anything else is retried by Lambda
            log.exception("batch record failed", extra={"key": key, "bucket": bucket})
            try:  # best effort, so that a failure that outlives the retries leaves a trace next to the results
                self._put_json(out_bucket, error_key,
                               {"success": False, "error": {"code": "internal_error", "message": "internal error; "
                                                            "Lambda retries, then the event goes to the DLQ"}},
                               bucket, key, event_etag, {"status": "500", "permanent": "false"})
            except Exception:  # noqa: BLE001
                pass
            return Outcome(key, "error", error_key, reason=f"{type(exc).__name__}: {exc}", code="internal_error")
        finally:
            if claimed:
                self._release(out_bucket, claim_key)

    # ---- helpers -----------------------------------------------------------------------
    def _refuse(self, bucket: str, key: str) -> Outcome | None:
        """An ``ignored`` outcome for an object that is not a source: this function's own output
        (under the result prefix of the output bucket; checked first, so an input prefix that
        contains it cannot loop), anything outside the input prefix, a "folder" placeholder."""
        s = self.settings
        if (s.result_bucket or bucket) == bucket and key.startswith(s.result_prefix):
            return Outcome(key, "ignored", code="not_a_source",
                           reason=f"an output of this function (under {s.result_prefix}), not a source")
        if not key.startswith(s.input_prefix):
            return Outcome(key, "ignored", code="not_a_source",
                           reason=f"not a source: outside the input prefix {s.input_prefix}")
        if key.endswith("/"):
            return Outcome(key, "ignored", code="folder", reason="a folder placeholder: nothing to recognise")
        return None

    def _recognise(self, body: bytes) -> tuple[dict, bytes | None]:
        """(result JSON, searchable PDF or None): images through the engine, PDFs and multi-page
        TIFFs page by page through the document reader."""
        kind = sniff_document(body)
        if kind == "pdf" or (kind == "tiff" and count_pages(body) > 1):
            from .api import SlimOCR  # noqa: PLC0415 -- pypdfium2 only when a document arrives
            doc = SlimOCR(engine=self.engine, mode=self.settings.mode).run(body)
            return doc.to_dict(), doc.to_pdf() if kind == "pdf" else None
        if len(body) > self.settings.max_bytes:
            raise ImageTooLarge(f"image too large (max {self.settings.max_bytes // (1024 * 1024)} MB)")
        return self.engine.run_bytes(body, self.settings.mode).to_dict(), None

    def _has_result(self, bucket: str, key: str, etag: str, permanent_only: bool = False) -> bool:
        try:
            meta = self.s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        except Exception as exc:  # noqa: BLE001
            if _is_missing(exc, "404", "NoSuchKey", "NotFound"):
                return False
            raise
        if permanent_only and meta.get("permanent") != "true":
            return False
        return _norm_etag(meta.get("source-etag")) == etag

    def _claim(self, bucket: str, claim_key: str, etag: str, request_id: str | None) -> bool:
        """Create the claim object if nobody holds a live claim on this version (If-None-Match: *)."""
        body = json.dumps({"etag": etag, "request_id": request_id, "time": time.time()}).encode()
        for _ in range(2):
            try:
                self.s3.put_object(Bucket=bucket, Key=claim_key, Body=body, IfNoneMatch="*",
                                   ContentType=JSON_TYPE, Metadata={"source-etag": etag})
                return True
            except Exception as exc:  # noqa: BLE001
                if not _is_missing(exc, "412", "PreconditionFailed", "409", "ConditionalRequestConflict"):
                    raise
            try:   # someone holds it: a live claim on this version wins; a stale or other one is taken over
                held = json.loads(self.s3.get_object(Bucket=bucket, Key=claim_key)["Body"].read())
            except Exception as exc:  # noqa: BLE001
                if not _is_missing(exc, "404", "NoSuchKey"):
                    raise
                continue   # released meanwhile: try again
            if held.get("etag") == etag and time.time() - float(held.get("time", 0)) < CLAIM_TTL_S:
                return False
            self._delete_stale(bucket, claim_key)
        return False

    def _release(self, bucket: str, claim_key: str) -> None:
        try:
            self._delete_stale(bucket, claim_key)
        except Exception:  # noqa: BLE001 -- a leftover claim expires after CLAIM_TTL_S
            log.warning("claim not released", extra={"key": claim_key})

    def _put_json(self, bucket: str, key: str, doc: dict, src_bucket: str, src_key: str, etag: str,
                  extra_meta: dict[str, str]) -> None:
        doc = {**doc, "source": {"bucket": src_bucket, "key": src_key, "etag": etag}}
        meta = {"source-bucket": src_bucket, "source-etag": etag, **extra_meta, **_key_meta(src_key)}
        self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                           ContentType=JSON_TYPE, Metadata=meta)

    def _delete_stale(self, bucket: str, key: str) -> None:
        try:
            self.s3.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001
            if not _is_missing(exc, "404", "NoSuchKey"):
                raise

    def _permanent_failure(self, bucket, key, etag, out_bucket, result_key, error_key, exc: OcrError,
                           request_id) -> Outcome:
        doc = {"success": False, "error": {"code": exc.code, "message": exc.message}}
        # DLQ first, then the .error.json marker: if the marker write fails the retry re-sends
        # (at least once), never the other way round (a marker without a DLQ message).
        if self.settings.dlq_url:
            message = {"reason": "ocr_failed", "status": exc.status, "error": doc["error"],
                       "source": {"bucket": bucket, "key": key, "etag": etag},
                       "error_object": {"bucket": out_bucket, "key": error_key}, "request_id": request_id,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self.sqs.send_message(QueueUrl=self.settings.dlq_url, MessageBody=json.dumps(message, ensure_ascii=False),
                                  MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": exc.code},
                                                     "SourceKey": {"DataType": "String", "StringValue": key}})
        self._put_json(out_bucket, error_key, doc, bucket, key, etag, {"status": str(exc.status), "permanent": "true"})
        self._delete_stale(out_bucket, result_key)
        return self._log(Outcome(key, "failed", error_key, reason=exc.message, code=exc.code), status=exc.status)

    @staticmethod
    def _log(outcome: Outcome, **extra) -> Outcome:
        log.info("batch", extra={"key": outcome.key, "outcome": outcome.status, "result_key": outcome.result_key,
                                 "reason": outcome.reason, "code": outcome.code, **extra})
        return outcome
