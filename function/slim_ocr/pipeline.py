"""End-to-end OCR: bytes -> decoded image -> line detection -> batched recognition -> result.

Two line detectors: ``db`` (default; ``db_detector.DBDetector``, PP-OCRv6-tiny's learned DB
network: per-line rotated boxes) and ``classical`` (``detector.detect_lines``: binarisation +
XY-cut). On the page set (``bench/page_bench.py``) DB reads more on every subset -- photos
0.83 vs 0.42 F1, UI pages 0.97 vs 0.87, documents 0.97-0.99 vs 0.96-0.98 -- at 1.3-3x the
classical time per page. ``OCR_DETECTOR`` (or the engine's ``detector``) picks one; every
result says which one ran. With DB, a page's orientation comes from a classifier
(``orientation_classifier``, before detection) and is checked on the page as read
(``orientation.page_turns``); ``OCR_ORIENTATION=0`` turns both off, ``OCR_ORIENTATION_MODEL=none``
the classifier alone.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from .db_detector import DBDetector, TextBox, order_quad
from .detector import detect_lines
from .image_io import DecodedImage, decode_image
from .orientation import page_turns, reads_upright, unturn_points
from .orientation_classifier import OrientationClassifier
from .preprocess import to_gray
from .recognizer import Recognizer

Mode = Literal["auto", "line", "page"]   # line: the image is one text line; page: detect lines first
DetectorChoice = Literal["db", "classical"]
DETECTORS = ("db", "classical")
DEFAULT_DETECTOR = "db"
# Detected lines read with a lower mean confidence are dropped: on the page set such lines are
# rules, dotted leaders and icons read as runs of letters (0.28-0.55); text reads >= 0.85.
# Rechecked for the blank-calibrated default on data-engine training pages 600-899 (bag-of-
# characters F1): 0.7 would read their screenshots 0.0005 better and photos of them 0.006 worse.
DEFAULT_MIN_CONFIDENCE = 0.5


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
    detector: str | None = None     # which detector found the lines (None: the image was one line)
    rotation: int = 0               # degrees (counter-clockwise) the page was turned to read it upright

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict:
        return {"success": True, "text": self.text,
                "lines": [{"text": l.text, "confidence": round(l.confidence, 4), "box": l.box} for l in self.lines],
                "elapsed_ms": round(self.elapsed_ms, 2), "model": self.model, "detector": self.detector,
                "rotation": self.rotation,
                "image": {"width": self.width, "height": self.height}}


# What a detector's box holds besides text, as the recogniser reads it: a dotted leader or a
# rule (a run of 4 or more of these, "一" being a rule read as Hanzi: "Loading..." keeps its
# ellipsis), UI icons at a line's ends (checkboxes, radio buttons, bullets read as geometric
# shapes), and a disclosure chevron or an avatar read as an angle bracket, set off by a space
# (a closing bracket never is; on 300 training pages of the data engine 8 detected lines began
# so, and none of the labelled lines).
_LEADER = re.compile(r"^\s*(?:[.·•…\-_—=~一]\s*){4,}|(?:\s*[.·•…\-_—=~一]){4,}\s*$")
_ICONS = "■□▪▫●○◆◇〇◎▲△▼▽☐☑☒✓✔"
_EDGE_ICON = re.compile(rf"^(?:[{_ICONS}]\s*)+|(?:\s*[{_ICONS}])+$|^[〉›]\s+|\s+[〉›]$")


# A lone character set off by a space at a line's start or end, or a line of one character, read
# with a probability below this is an icon (a callout's sign, a search glass, a radio button read
# as "②", "Q", "O"). Chosen on data-engine training pages 600-899 (bag-of-characters F1 of their
# screenshots / photos of them): 0.98603 / 0.92785 without, 0.98619 / 0.92799 at 0.5, 0.98623 /
# 0.92798 at 0.6, 0.98618 / 0.92781 at 0.8.
EDGE_MIN_PROB = 0.6


def drop_unsure_edges(text: str, probs: list[float] | None, min_prob: float = EDGE_MIN_PROB) -> str:
    """``text`` without a lone edge character (or a lone character) read below ``min_prob``
    (``probs``: one per character of ``text``; None or a mismatch leaves it as it is)."""
    if probs is None or len(probs) != len(text):
        return text
    if len(text) >= 3 and text[1] == " " and text[0] != " " and probs[0] < min_prob:
        text, probs = text[2:], probs[2:]
    if len(text) >= 3 and text[-2] == " " and text[-1] != " " and probs[-1] < min_prob:
        text, probs = text[:-2], probs[:-2]
    return "" if len(text) == 1 and probs[0] < min_prob else text


def clean_detected(text: str, probs: list[float] | None = None) -> str:
    """The text of a detected line without leaders and edge icons (with the characters'
    ``probs``: unsure lone edge characters too, ``drop_unsure_edges``); "" when nothing in it is
    a letter, digit or ideograph (a chevron, an icon read as "(□", a rule)."""
    text = _EDGE_ICON.sub("", _LEADER.sub("", drop_unsure_edges(text, probs))).strip()
    return text if any(c.isalnum() for c in text) else ""


def fills_the_image(gray: np.ndarray, height: float = 0.5, width: float = 0.7) -> bool:
    """The ink (Otsu, either polarity: the minority side; rows and columns with more than 3 %
    of it, so that noise in a margin is not ink) spans at least ``height`` of the image's rows
    and ``width`` of its columns: a tight crop, with no margin worth cutting (cheap: no DB pass
    for the lines a detector or a careful user cut)."""
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if ink.mean() > 0.5:
        ink = 1 - ink
    rows, cols = np.flatnonzero(ink.mean(1) > 0.03), np.flatnonzero(ink.mean(0) > 0.03)   # not specks
    if rows.size == 0:
        return True
    return (rows[-1] - rows[0] + 1) >= height * gray.shape[0] and (cols[-1] - cols[0] + 1) >= width * gray.shape[1]


def looks_like_single_line(gray: np.ndarray) -> bool:
    h, w = gray.shape
    return h <= 96 and w >= 1.5 * h


class OcrEngine:
    def __init__(self, recognizer: Recognizer | None = None, detector: DetectorChoice | None = None,
                 db_model: str | None = None, min_confidence: float | None = None):
        self.recognizer = recognizer or Recognizer()
        self.min_confidence = float(os.environ.get("OCR_MIN_CONFIDENCE", DEFAULT_MIN_CONFIDENCE)) \
            if min_confidence is None else min_confidence
        self.detector = detector or os.environ.get("OCR_DETECTOR") or DEFAULT_DETECTOR
        if self.detector not in DETECTORS:
            raise ValueError(f"OCR_DETECTOR={self.detector!r}: one of {', '.join(DETECTORS)}")
        self.db_model = db_model or os.environ.get("OCR_DB_MODEL") or None
        self.orient = os.environ.get("OCR_ORIENTATION", "1") != "0"    # find pages turned by 90/180/270
        # OCR_DB_PROBE=0: every page detected at the DB input's full size (contract.DBProbe: pages
        # known to hold small text pay the half-scale probe's ~20 % for nothing)
        self.db_probe = os.environ.get("OCR_DB_PROBE", "1") != "0"
        self._db = None
        self.classifier = None
        if self.detector == "db":
            self.db              # load (and check) the bundle at start-up, not on the first page
            if self.orient and os.environ.get("OCR_ORIENTATION_MODEL", "") != "none":
                self.classifier = OrientationClassifier(os.environ.get("OCR_ORIENTATION_MODEL") or None,
                                                        threads=self.recognizer.threads)

    @property
    def model_name(self) -> str:
        return self.recognizer.name

    @property
    def db(self):
        if self._db is None:       # loaded on first use when OCR_DETECTOR=classical
            self._db = DBDetector(self.db_model, threads=self.recognizer.threads, probe=self.db_probe)
        return self._db

    @property
    def wants_color(self) -> bool:
        return self.recognizer.spec.channels == 3 or self.detector == "db"

    def find_lines(self, img: DecodedImage, pixels: np.ndarray, turns: int = 0
                   ) -> tuple[list[np.ndarray], list, list, str]:
        """(line crops in the recogniser's colour, their quads on the page turned by ``turns``
        counter-clockwise quarter turns, the same in original pixels, detector name)."""
        if self.detector == "db":
            image = self._db_input(img)
            h, w = image.shape[:2]
            if turns:
                image, pixels = (np.ascontiguousarray(np.rot90(a, turns)) for a in (image, pixels))
            boxes = self.db.detect(image)
            return [self.db.crop(pixels, b) for b in boxes], [b.quad for b in boxes], \
                self._quads([unturn_points(b.quad, turns, w, h) for b in boxes], img), f"db:{self.db.name}"
        det = detect_lines(img.gray)
        quads = [det.quad(b, img.scale) for b in det.lines]
        return det.crops(pixels), quads, quads, "classical"

    def turn_upright(self, img: DecodedImage, pixels: np.ndarray, crops: list[np.ndarray], seen: list,
                     quads: list, texts: list[tuple], turns: int = 0) -> tuple[int, list[np.ndarray], list]:
        """(quarter turns, crops, quads): the page as detected after ``turns`` (the classifier's)
        is checked (``orientation.page_turns``, from its boxes ``seen`` on that page and the
        confidences it was read with); one found on its side or upside down is detected again,
        turned upright; quads are mapped back onto the image as sent."""
        k = page_turns([np.asarray(q, np.float64) for q in seen], crops, [r[1] for r in texts], self._confidences)
        if not k:
            return turns, crops, quads
        turns = (turns + k) % 4
        crops, _, quads, _ = self.find_lines(img, pixels, turns)
        return turns, crops, quads

    @staticmethod
    def _db_input(img: DecodedImage) -> np.ndarray:
        return img.color if img.color is not None else img.gray

    @staticmethod
    def _quads(quads, img: DecodedImage) -> list:
        """Quads in decoded pixels -> int corners in the image's original pixels."""
        return [[[int(round(x * img.scale)), int(round(y * img.scale))] for x, y in q] for q in quads]

    def tighten_line(self, image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
        """A loosely cropped one-line image cut to its text (one rotated rectangle around the DB
        boxes found on the image padded by its own border, grown by a quarter of its height on
        every side: the recogniser reads lines cut with such a margin) and straightened. A line
        whose ink already spans half the image's height and 70 % of its width (``fills_the_image``,
        no DB pass), or whose DB rectangle spans 60 % / 80 % of it, is read as it is: cutting a
        detector's crop tighter cost 12 points of zh clean accuracy on the evaluation lines."""
        if fills_the_image(to_gray(image)):
            return pixels
        pad = max(8, image.shape[0] // 2)
        boxes = self.db.detect(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
        if not boxes:
            return pixels
        (cx, cy), (w, h), angle = cv2.minAreaRect(np.concatenate([b.quad for b in boxes]))
        if w < h:                                   # minAreaRect may name the long side height
            w, h, angle = h, w, angle - 90
        ih, iw = image.shape[:2]
        if h >= 0.6 * ih and w >= 0.8 * iw:
            return pixels
        m = 0.25 * h
        quad = order_quad(cv2.boxPoints(((cx, cy), (w + 2 * m, h + 2 * m), angle)))
        big = cv2.copyMakeBorder(pixels, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        return self.db.crop(big, TextBox(quad, 1.0))

    def _confidences(self, crops: list[np.ndarray]) -> list[float]:
        return [c for _, c in self.recognizer.recognize(crops)]

    def run_bytes(self, data: bytes, mode: Mode = "auto") -> OcrResult:
        t0 = time.perf_counter()
        img = decode_image(data, color=self.wants_color)
        return self.run_image(img, mode, t0)

    def run_image(self, img: DecodedImage, mode: Mode = "auto", t0: float | None = None) -> OcrResult:
        t0 = t0 or time.perf_counter()
        gray = img.gray
        pixels = img.color if self.recognizer.spec.channels == 3 and img.color is not None else gray
        w, h = img.original_size       # what is reported; boxes are scaled back when decoding reduced
        whole = [[0, 0], [w, 0], [w, h], [0, h]]
        t1 = time.perf_counter()
        detector, turns, texts, read_s, upright = None, 0, None, 0.0, False
        if mode == "line" or (mode == "auto" and looks_like_single_line(gray)):
            line = self.tighten_line(self._db_input(img), pixels) if self.detector == "db" else pixels
            crops, boxes = [line], [whole]
        else:
            crops, seen, boxes, detector = self.find_lines(img, pixels)
            if self.classifier:
                # the classifier is asked only when the page as sent does not read upright
                # (most pages: it costs a third of a one-line request otherwise)
                t = time.perf_counter()
                texts = self.recognizer.recognize(crops, char_probs=True)
                read_s = time.perf_counter() - t
                upright = reads_upright(seen, crops, [r[1] for r in texts])
                if not upright:
                    turns = self.classifier.turns(self._db_input(img))
                    if turns:
                        crops, seen, boxes, detector = self.find_lines(img, pixels, turns)
                        texts = None
        t2 = time.perf_counter()
        if texts is None:
            texts = self.recognizer.recognize(crops, char_probs=True)
        # the page's own check, unless the gate above found it upright by the same cues
        if self.orient and self.detector == "db" and detector and crops and not upright:
            checked, crops, boxes = self.turn_upright(img, pixels, crops, seen, boxes, texts, turns)
            if checked != turns:
                turns = checked
                texts = self.recognizer.recognize(crops, char_probs=True)
        t3 = time.perf_counter()
        if detector:       # a single-line image is read as it is
            texts = [(clean_detected(t, p), c) if c >= self.min_confidence else ("", c) for t, c, p in texts]
        else:
            texts = [(t, c) for t, c, _ in texts]
        lines = [OcrLine(t, c, b) for (t, c), b in zip(texts, boxes) if t.strip()]
        return OcrResult(lines=lines, width=w, height=h, elapsed_ms=(t3 - t0) * 1000, model=self.model_name,
                         detector=detector, rotation=90 * turns, timings={"decode_ms": (t1 - t0) * 1000, "detect_ms": (t2 - t1 - read_s) * 1000,
                                  "recognize_ms": (t3 - t2 + read_s) * 1000})
