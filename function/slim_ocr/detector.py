"""Classical text-line detector for documents, screenshots and invoices (OpenCV + numpy).

Steps: downscale -> binarise (adaptive threshold, polarity-aware) -> drop table rules
and specks -> deskew (projection-profile search) -> recursive XY-cut into line boxes
(horizontal bands first, then column gaps within a band) -> boxes mapped back to the
original image as quadrilaterals, in reading order (top to bottom, left to right).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DETECT_MAX_SIDE = 1600  # detection runs on a downscaled copy; crops come from the original


@dataclass
class LineBox:
    x0: int
    y0: int
    x1: int
    y1: int  # in the deskewed full-resolution frame

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass
class Detection:
    lines: list[LineBox]
    angle: float              # degrees the image was rotated to deskew it
    deskewed: np.ndarray      # gray full-resolution deskewed image the boxes refer to
    inverse: np.ndarray       # 2x3 affine mapping deskewed coords back to the original

    def quad(self, box: LineBox) -> list[list[int]]:
        pts = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]], np.float64)
        mapped = pts @ self.inverse[:, :2].T + self.inverse[:, 2]
        return [[int(round(x)), int(round(y))] for x, y in mapped]

    def crop(self, box: LineBox) -> np.ndarray:
        return self.deskewed[box.y0:box.y1, box.x0:box.x1]


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink mask (uint8 0/1), dark-on-light or light-on-dark decided from the border median."""
    h, w = gray.shape
    block = max(15, (min(h, w) // 30) | 1)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    inv = np.median(border) < 100  # light text on a dark background
    src = 255 - gray if inv else gray
    ink = cv2.adaptiveThreshold(src, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)
    return ink


def remove_rules(ink: np.ndarray) -> np.ndarray:
    """Remove long horizontal/vertical lines (tables, underlines) that would join text lines."""
    h, w = ink.shape
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(25, w // 15), 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(25, h // 15))))
    return ink & ~(horiz | vert)


def remove_specks(ink: np.ndarray, min_area: int = 3) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return ink
    h, w = ink.shape
    area, cw, ch = stats[:, cv2.CC_STAT_AREA], stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    keep = (area >= min_area) & (ch < 0.5 * h)  # huge blobs are pictures / page borders
    keep[0] = False
    return keep[labels].astype(np.uint8)


def estimate_skew(ink: np.ndarray, max_angle: float = 8.0) -> float:
    """Angle (degrees) maximising the variance of the row projection (sharp line bands)."""
    if ink.sum() < 50:
        return 0.0
    small = ink
    scale = 800 / max(ink.shape)
    if scale < 1:
        small = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    center = (w / 2, h / 2)

    def score(a):
        M = cv2.getRotationMatrix2D(center, a, 1.0)
        rot = cv2.warpAffine(small.astype(np.float32), M, (w, h), flags=cv2.INTER_NEAREST)
        return float(np.var(rot.sum(axis=1)))

    coarse = np.arange(-max_angle, max_angle + 1e-6, 1.0)
    best = coarse[int(np.argmax([score(a) for a in coarse]))]
    fine = np.arange(best - 0.9, best + 0.91, 0.15)
    return float(fine[int(np.argmax([score(a) for a in fine]))])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in a 1-D bool array."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def xy_cut(ink: np.ndarray, x0: int, y0: int, char_h: float, out: list, depth: int = 0) -> None:
    """Recursive XY-cut: split into horizontal bands, then bands into column segments."""
    rows = ink.sum(axis=1) > 0
    bands = _runs(rows)
    if not bands:
        return
    if len(bands) > 1 and depth < 12:
        for a, b in bands:
            xy_cut(ink[a:b], x0, y0 + a, char_h, out, depth + 1)
        return
    a, b = bands[0]
    band = ink[a:b]
    cols = band.sum(axis=0) > 0
    # a gap wider than ~1.6 line heights separates columns/table cells, not words
    gap_min = max(2.0 * char_h, 1.6 * (b - a))
    segs, start, prev_end = [], None, None
    for s, e in _runs(cols):
        if start is None:
            start = s
        elif s - prev_end >= gap_min:
            segs.append((start, prev_end))
            start = s
        prev_end = e
    if start is not None:
        segs.append((start, prev_end))
    if len(segs) > 1 and depth < 12:
        for s, e in segs:
            xy_cut(band[:, s:e], x0 + s, y0 + a, char_h, out, depth + 1)
        return
    s, e = segs[0]
    out.append((x0 + s, y0 + a, x0 + e, y0 + b))


def split_tall(boxes, ink, char_h):
    """Split boxes much taller than a line (touching lines) at row-projection valleys."""
    out = []
    for x0, y0, x1, y1 in boxes:
        h = y1 - y0
        if h > 1.8 * char_h and char_h > 4:
            prof = ink[y0:y1, x0:x1].sum(axis=1).astype(np.float32)
            n = int(round(h / char_h))
            cuts = [y0]
            for k in range(1, n):
                c = int(k * h / n)
                lo, hi = max(1, c - int(char_h / 3)), min(h - 1, c + int(char_h / 3))
                if hi > lo:
                    cuts.append(y0 + lo + int(np.argmin(prof[lo:hi])))
            cuts.append(y1)
            out.extend((x0, a, x1, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a > 2)
        else:
            out.append((x0, y0, x1, y1))
    return out


def detect_lines(gray: np.ndarray) -> Detection:
    H, W = gray.shape
    scale = min(1.0, DETECT_MAX_SIDE / max(H, W))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    ink = remove_specks(remove_rules(binarize(small)))
    angle = estimate_skew(ink)
    # deskew both the detection mask and the full-resolution image
    M_full = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    inverse = cv2.invertAffineTransform(M_full)
    if abs(angle) > 0.05:
        deskewed = cv2.warpAffine(gray, M_full, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        h, w = ink.shape
        M_small = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        ink = cv2.warpAffine(ink, M_small, (w, h), flags=cv2.INTER_NEAREST)
    else:
        deskewed = gray
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    heights = heights[heights >= 4]
    char_h = float(np.percentile(heights, 75)) if heights.size else 10.0
    raw: list = []
    xy_cut(ink, 0, 0, char_h, raw)
    raw = [b for b in raw if (b[3] - b[1]) >= max(4, 0.35 * char_h) or (b[2] - b[0]) >= char_h]
    raw = split_tall(raw, ink, _typical_height(raw, char_h))
    lines = []
    for x0, y0, x1, y1 in raw:
        # back to full resolution, with a margin like the training crops have
        x0, y0, x1, y1 = (v / scale for v in (x0, y0, x1, y1))
        h = y1 - y0
        mx, my = 0.25 * h, 0.15 * h
        lines.append(LineBox(int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(W, x1 + mx)), int(min(H, y1 + my))))
    lines.sort(key=lambda b: (b.y0 + b.y1) / 2)
    return Detection(lines=_reading_order(lines), angle=angle, deskewed=deskewed, inverse=inverse)


def _typical_height(boxes, char_h):
    hs = [b[3] - b[1] for b in boxes]
    return float(np.median(hs)) if hs else char_h


def _reading_order(lines: list[LineBox]) -> list[LineBox]:
    """Group boxes whose vertical centres overlap into rows; rows top-down, boxes left-right."""
    rows: list[list[LineBox]] = []
    for b in lines:
        c = (b.y0 + b.y1) / 2
        if rows and abs(c - np.mean([(r.y0 + r.y1) / 2 for r in rows[-1]])) < 0.5 * b.height:
            rows[-1].append(b)
        else:
            rows.append([b])
    return [b for r in rows for b in sorted(r, key=lambda b: b.x0)]
