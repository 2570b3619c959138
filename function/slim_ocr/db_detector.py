"""A learned text detector: PP-OCR's DB (differentiable binarisation) network in ONNX Runtime.

A detector bundle is ``function/models/detectors/<name>/`` with ``model.onnx`` and
``model.json`` (``contract.DetectorContract``: the page's resize and normalisation, the
post-processing thresholds, provenance and licence). ``DBDetector.detect`` gives text boxes
as quadrilaterals in the image's pixels (rotated rectangles: DB finds each line's own angle,
so perspective and local skew need no page-level deskew); ``crop`` straightens a box into
a horizontal line image for the recogniser.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .contract import MODEL_FILE, DBProbe, DetectorContract, page_bundle_dir
from .runtime import make_session

DETECTORS_DIR = Path(os.environ.get("OCR_DETECTORS_DIR") or Path(__file__).resolve().parents[1] / "models" / "detectors")
DEFAULT_DETECTOR = "ppocrv6-tiny-det"


def detector_dir(name: str | Path | None = None) -> Path:
    return page_bundle_dir(DETECTORS_DIR, name or DEFAULT_DETECTOR, "detector")


@dataclass
class TextBox:
    quad: np.ndarray      # (4, 2) float32: top-left, top-right, bottom-right, bottom-left, image pixels
    score: float


def order_quad(pts: np.ndarray) -> np.ndarray:
    """The 4 corners of a rectangle as top-left, top-right, bottom-right, bottom-left
    (reading direction: the longer side is the text's baseline unless the box is tall)."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], np.float32)


def reading_order(boxes: list[TextBox]) -> list[TextBox]:
    """Top to bottom; boxes whose vertical centres are within half a line height of each
    other form a row, read left to right."""
    if not boxes:
        return boxes
    cy = np.array([b.quad[:, 1].mean() for b in boxes])
    hs = np.array([max(1.0, float(np.linalg.norm(b.quad[3] - b.quad[0]))) for b in boxes])
    order = list(np.argsort(cy, kind="stable"))
    rows, row = [], [order[0]]
    for i in order[1:]:
        ref = row[-1]
        if abs(cy[i] - cy[ref]) < 0.5 * min(hs[i], hs[ref]):
            row.append(i)
        else:
            rows.append(row)
            row = [i]
    rows.append(row)
    return [boxes[i] for r in rows for i in sorted(r, key=lambda j: boxes[j].quad[:, 0].min())]


class DBDetector:
    """``detect(image) -> [TextBox]`` with the bundle's contract; ``crop(image, box)``."""

    def __init__(self, name: str | Path | None = None, threads: int | None = None, probe: bool = True):
        self.dir = detector_dir(name)
        self.contract = DetectorContract.load(self.dir)
        self.session = make_session(self.dir / MODEL_FILE, threads)
        self.contract.check_onnx_io(self.dir / MODEL_FILE, self.session.get_inputs(), self.session.get_outputs())
        spec = self.contract.input
        self.input_name = spec.name or self.session.get_inputs()[0].name
        self.probe = probe          # False: the contract's probe is not used (always full size)

    @property
    def name(self) -> str:
        return self.contract.name

    def input_size(self, h: int, w: int, scale: float = 1.0) -> tuple[int, int]:
        """(height, width) the page is resized to (``contract.DetectorInput``), times ``scale``."""
        spec = self.contract.input
        if spec.limit_type == "max":
            f = min(1.0, spec.limit_side / max(h, w))
        else:
            f = max(1.0, spec.limit_side / min(h, w))
        f = min(f, spec.max_side / max(h, w)) * scale
        m = spec.multiple
        return max(m, int(round(h * f / m)) * m), max(m, int(round(w * f / m)) * m)

    def resized(self, image: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The page as the network sees it, before normalisation: 3 channels in the contract's
        colour order, at ``input_size``."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if self.contract.input.color == "rgb":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        th, tw = self.input_size(*image.shape[:2], scale)
        shrink = th * tw < image.shape[0] * image.shape[1] and scale < 1
        return cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def probability_at(self, resized: np.ndarray) -> np.ndarray:
        """The text probability map (H', W') of a page already ``resized`` (at any scale)."""
        return self.session.run(None, {self.input_name: self.contract.input.to_tensor(resized)})[0][0, 0]

    def boxes_at(self, resized: np.ndarray, w: int, h: int) -> list[TextBox]:
        """The boxes of a (w, h) image found on its ``resized`` copy, in the image's pixels."""
        prob = self.probability_at(resized)
        return self.boxes(prob, w / prob.shape[1], h / prob.shape[0], w, h)

    def detect(self, image: np.ndarray) -> list[TextBox]:
        return self.detect_scaled(image)[0]

    def detect_scaled(self, image: np.ndarray) -> tuple[list[TextBox], float]:
        """(boxes in reading order, the scale of the input size they were found at: the
        contract's ``probe`` scale when its result stands, else 1)."""
        h, w = image.shape[:2]
        probe = self.contract.probe if self.probe else None
        full = self.resized(image)
        if probe is not None:
            boxes = self.boxes_at(self.resized(image, probe.scale), w, h)
            if boxes and probe_holds(boxes, full, w / full.shape[1], h / full.shape[0], probe):
                return reading_order(boxes), probe.scale
        return reading_order(self.boxes_at(full, w, h)), 1.0

    def boxes(self, prob: np.ndarray, sx: float, sy: float, w: int, h: int) -> list[TextBox]:
        """Rotated boxes of the map's text regions, scaled by (sx, sy) into a (w, h) image."""
        post = self.contract.post
        bitmap = (prob > post.thresh).astype(np.uint8)
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        out = []
        for c in contours[:post.max_candidates]:
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(c)
            if min(rw, rh) < post.min_size:
                continue
            score = region_score(prob, cv2.boxPoints(((cx, cy), (rw, rh), angle)))
            if score < post.box_thresh:
                continue
            grow = post.unclip_ratio * rw * rh / (2 * (rw + rh))      # DB's offset: area * ratio / perimeter
            rw, rh = rw + 2 * grow, rh + 2 * grow
            if min(rw, rh) < post.min_size + 2:
                continue
            pts = cv2.boxPoints(((cx, cy), (rw, rh), angle)) * np.float32([sx, sy])
            pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
            pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
            out.append(TextBox(order_quad(pts), score))
        return out

    @staticmethod
    def crop(image: np.ndarray, box: TextBox) -> np.ndarray:
        """The box straightened into a horizontal line (tall boxes are turned: vertical text)."""
        q = box.quad
        w = int(round(max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))))
        h = int(round(max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))))
        w, h = max(w, 1), max(h, 1)
        dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        line = cv2.warpPerspective(image, cv2.getPerspectiveTransform(q, dst), (w, h),
                                   flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        return np.ascontiguousarray(np.rot90(line)) if h >= 1.5 * w else line


def probe_holds(boxes: list[TextBox], full: np.ndarray, sx: float, sy: float, probe: DBProbe) -> bool:
    """Whether a probe's ``boxes`` (image pixels) can stand for the page (``contract.DBProbe``);
    ``full`` is the page at its full input size, the image scaled by 1 / (sx, sy)."""
    quads = [b.quad / np.float32([sx, sy]) for b in boxes]
    heights = [min(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[1] - q[0])) for q in quads]
    if probe.scale * min(heights) < probe.min_box_px:
        return False
    gray = cv2.cvtColor(full, cv2.COLOR_BGR2GRAY)
    edges = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) >= probe.edge_level
    covered = np.zeros(gray.shape, np.uint8)
    cv2.fillPoly(covered, [np.round(q).astype(np.int32) for q in quads], 1)
    left = (edges & (cv2.dilate(covered, np.ones((5, 5), np.uint8)) == 0)).astype(np.uint8)
    if not left.any():
        return True
    left = cv2.morphologyEx(left, cv2.MORPH_CLOSE, np.ones((1, 7), np.uint8))      # letters -> a line
    _, _, stats, _ = cv2.connectedComponentsWithStats(left, connectivity=8)
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    return not bool(np.any((h >= probe.min_text_px) & (w >= 2 * h) & (area >= 0.25 * w * h)))


def region_score(prob: np.ndarray, pts: np.ndarray) -> float:
    """Mean probability inside the polygon ``pts`` (map pixels)."""
    x0, y0 = np.floor(pts.min(0)).astype(int).clip(0)
    x1 = min(int(np.ceil(pts[:, 0].max())), prob.shape[1] - 1)
    y1 = min(int(np.ceil(pts[:, 1].max())), prob.shape[0] - 1)
    if x1 < x0 or y1 < y0:
        return 0.0
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(pts - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0])
