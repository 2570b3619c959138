"""Service limits that keep one process bounded under hostile input and load.

* ``OcrSlots``: at most ``OCR_CONCURRENCY`` recognitions at once (default: the CPUs this
  process may use); a request waits up to ``OCR_QUEUE_TIMEOUT_S`` for a slot, then gets 503
  with ``Retry-After`` -- so memory and latency stay bounded instead of 40 ONNX runs at once.
* ``BodyLimit`` (ASGI middleware): a body larger than ``max_bytes`` is refused with 413 before it
  is buffered -- from its Content-Length, or while it streams in -- and a client that stalls
  for ``read_timeout_s`` between body chunks gets 408.
* ``SecurityHeaders``: the headers CloudFront's managed SecurityHeadersPolicy adds to the site,
  on the local server too.
"""
from __future__ import annotations

import asyncio
import os
import re
import threading

from .errors import OcrError
from .runtime import available_cpus


class Unauthorized(OcrError):
    status, code = 401, "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


def check_token(expected: str | None, authorization: str | None) -> None:
    """With ``API_TOKEN`` set, OCR requests must send ``Authorization: Bearer <token>``."""
    if not expected:
        return
    import hmac  # noqa: PLC0415
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("this API needs 'Authorization: Bearer <token>'")


class ServerBusy(OcrError):
    status, code = 503, "busy"
    headers = {"Retry-After": "2"}


class BodyTooLarge(OcrError):
    status, code = 413, "body_too_large"


class BodyTimeout(OcrError):
    status, code = 408, "request_timeout"


class OcrSlots:
    def __init__(self, slots: int | None = None, timeout_s: float | None = None):
        self.slots = slots or int(os.environ.get("OCR_CONCURRENCY", 0)) or available_cpus()
        self.timeout_s = timeout_s if timeout_s is not None else float(os.environ.get("OCR_QUEUE_TIMEOUT_S", 10))
        self._sem = threading.BoundedSemaphore(self.slots)

    def __enter__(self):
        if not self._sem.acquire(timeout=self.timeout_s):
            raise ServerBusy(f"the server is busy ({self.slots} recognitions running); retry in a few seconds")
        return self

    def __exit__(self, *exc):
        self._sem.release()


class BodyLimit:
    def __init__(self, app, max_bytes: int, read_timeout_s: float = 15.0):
        self.app, self.max_bytes, self.read_timeout_s = app, max_bytes, read_timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await _json_error(send, BodyTooLarge(self._message()))
        seen, refused = 0, []

        async def limited_receive():
            nonlocal seen
            try:
                msg = await asyncio.wait_for(receive(), timeout=self.read_timeout_s)
            except asyncio.TimeoutError:
                refused.append(BodyTimeout(f"no request data for {self.read_timeout_s:g} s"))
                raise refused[-1] from None
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    refused.append(BodyTooLarge(self._message()))
                    raise refused[-1]
            return msg

        async def answer(msg):
            # the framework turns an error raised while reading the body into its own answer
            # (FastAPI: 400 "error parsing the body"); say what really happened instead
            if refused:
                if msg["type"] == "http.response.start":
                    await _json_error(send, refused[0])
                return
            await send(msg)

        await self.app(scope, limited_receive, answer)

    def _message(self) -> str:
        return f"request body too large (max {self.max_bytes // (1024 * 1024)} MB)"


async def _json_error(send, exc: OcrError):
    import json  # noqa: PLC0415
    body = json.dumps({"success": False, "error": {"code": exc.code, "message": exc.message}}).encode()
    await send({"type": "http.response.start", "status": exc.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"),
                    (b"content-security-policy", b"frame-ancestors 'self'"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin")]


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(msg):
            if msg["type"] == "http.response.start":
                have = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = list(msg.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in have]
            await send(msg)

        await self.app(scope, receive, with_headers)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def clean_request_id(value: str | None) -> str | None:
    """A client's x-request-id as the logs may carry it: short and plain, or None."""
    return value if value and _REQUEST_ID.match(value) else None
