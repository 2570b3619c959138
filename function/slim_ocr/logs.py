"""Structured JSON logging (one JSON object per line; CloudWatch-friendly). Never logs image data."""
from __future__ import annotations

import json
import logging
import os
import sys

_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"level": record.levelname, "logger": record.name, "message": record.getMessage(),
               "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")}
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STD})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at emit time (test capture, Lambda's redirect)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging() -> None:
    logger = logging.getLogger("slim_ocr")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    h = _StdoutHandler()
    h.setFormatter(JsonFormatter())
    logger.addHandler(h)
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    logger.propagate = False
