"""Errors that map to a client-facing HTTP status and a stable error code."""
from __future__ import annotations


class OcrError(Exception):
    status = 400
    code = "bad_request"
    headers: dict[str, str] = {}   # extra response headers (Retry-After, WWW-Authenticate)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidBase64(OcrError):
    status, code = 400, "invalid_base64"


class InvalidImage(OcrError):
    status, code = 400, "invalid_image"


class ImageTooLarge(OcrError):
    status, code = 413, "image_too_large"


class UnsupportedMediaType(OcrError):
    status, code = 415, "unsupported_media_type"


class ResponseTooLarge(OcrError):
    status, code = 413, "response_too_large"
