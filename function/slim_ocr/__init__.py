"""Slim OCR runtime: preprocessing, line detection, ONNX recognition, CTC decoding.

Torch-free on purpose: this package is what the Lambda ships. The training code in
``pruning/`` imports its preprocessing and charset so both sides share one code path.
"""

# The Python API (``from slim_ocr import SlimOCR``), imported on first use so that the service's
# cold start does not pay for it (PEP 562 module __getattr__).
__all__ = ["SlimOCR", "Document", "Page", "OcrError"]


def __getattr__(name: str):
    if name in ("SlimOCR", "Document", "Page"):
        from . import api

        return getattr(api, name)
    if name == "OcrError":
        from .errors import OcrError

        return OcrError
    raise AttributeError(f"module 'slim_ocr' has no attribute {name!r}")
