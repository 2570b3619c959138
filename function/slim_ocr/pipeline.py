"""End-to-end OCR: bytes -> decoded image -> line detection -> batched recognition -> result."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .detector import detect_lines
from .image_io import DecodedImage, decode_image
from .recognizer import Recognizer

Mode = Literal["auto", "line", "page"]   # line: the image is one text line; page: detect lines first


@dataclass
class OcrLine:
    text: str
    confidence: float
    box: list[list[int]]


@dataclass
class OcrResult:
    lines: list[OcrLine]
    width: int
    height: int
    elapsed_ms: float
    model: str
    timings: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict:
        return {"success": True, "text": self.text,
                "lines": [{"text": l.text, "confidence": round(l.confidence, 4), "box": l.box} for l in self.lines],
                "elapsed_ms": round(self.elapsed_ms, 2), "model": self.model,
                "image": {"width": self.width, "height": self.height}}


def looks_like_single_line(gray: np.ndarray) -> bool:
    h, w = gray.shape
    return h <= 96 and w >= 1.5 * h


class OcrEngine:
    def __init__(self, recognizer: Recognizer | None = None):
        self.recognizer = recognizer or Recognizer()

    @property
    def model_name(self) -> str:
        return self.recognizer.name

    @property
    def wants_color(self) -> bool:
        return self.recognizer.spec.channels == 3

    def run_bytes(self, data: bytes, mode: Mode = "auto") -> OcrResult:
        t0 = time.perf_counter()
        img = decode_image(data, color=self.wants_color)
        return self.run_image(img, mode, t0)

    def run_image(self, img: DecodedImage, mode: Mode = "auto", t0: float | None = None) -> OcrResult:
        t0 = t0 or time.perf_counter()
        gray = img.gray
        pixels = img.color if self.wants_color and img.color is not None else gray
        w, h = img.original_size       # what is reported; boxes are scaled back when decoding reduced
        whole = [[0, 0], [w, 0], [w, h], [0, h]]
        t1 = time.perf_counter()
        if mode == "line" or (mode == "auto" and looks_like_single_line(gray)):
            crops, boxes = [pixels], [whole]
        else:
            det = detect_lines(gray)
            crops = det.crops(pixels)
            boxes = [det.quad(b, img.scale) for b in det.lines]
        t2 = time.perf_counter()
        texts = self.recognizer.recognize(crops)
        t3 = time.perf_counter()
        lines = [OcrLine(t, c, b) for (t, c), b in zip(texts, boxes) if t.strip()]
        return OcrResult(lines=lines, width=w, height=h, elapsed_ms=(t3 - t0) * 1000, model=self.model_name,
                         timings={"decode_ms": (t1 - t0) * 1000, "detect_ms": (t2 - t1) * 1000,
                                  "recognize_ms": (t3 - t2) * 1000})
