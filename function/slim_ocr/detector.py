"""Classical text-line detector for documents, screenshots, invoices and page photos (OpenCV + numpy).

Steps: downscale -> find the sheet when a photo shows a darker background around it
(page_mask) -> binarise (adaptive threshold, polarity from the majority) -> drop table
rules, specks and huge blobs -> deskew (projection variance, projections built from the
connected components) -> recursive XY-cut into line boxes (horizontal bands first, then
column gaps measured against each band's own character height) -> tall boxes split at
real valleys (touching lines) -> boxes mapped back to the original image as
quadrilaterals, in reading order (rows top to bottom, left to right within a row).
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
    matrix: np.ndarray        # 2x3 affine deskewing the original (the inverse of ``inverse``)

    def quad(self, box: LineBox, scale: float = 1.0) -> list[list[int]]:
        """The box's corners in the original image (times ``scale``: an image reduced on decode)."""
        pts = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]], np.float64)
        mapped = (pts @ self.inverse[:, :2].T + self.inverse[:, 2]) * scale
        return [[int(round(x)), int(round(y))] for x, y in mapped]

    def crop(self, box: LineBox) -> np.ndarray:
        return self.deskewed[box.y0:box.y1, box.x0:box.x1]

    def crops(self, image: np.ndarray | None = None) -> list[np.ndarray]:
        """Every line's crop, from the gray image the detector saw or from ``image`` (the same
        picture in colour, for models that read colour), deskewed alike."""
        if image is None or image.ndim == 2:
            return [self.crop(b) for b in self.lines]
        h, w = image.shape[:2]
        if abs(self.angle) > 0.05:
            image = cv2.warpAffine(image, self.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return [image[b.y0:b.y1, b.x0:b.x1] for b in self.lines]


def _margin_depth(a: np.ndarray) -> np.ndarray:
    """Per row of ``a`` (int16), how many leading pixels are background outside a sheet:
    scanning from column 0, the first sharp rise (>= 25 levels over 2 px) to a level at
    least 40 above everything before it; 0 when there is none in the first 40%."""
    lim = max(1, int(0.4 * a.shape[1]))
    after = a[:, 2:lim + 2]
    before = a[:, :after.shape[1]]
    runmax = np.maximum.accumulate(before, axis=1)
    ok = (after - before >= 25) & (after - runmax >= 40)
    pos = np.where(ok.any(axis=1), ok.argmax(axis=1) + 2, 0).astype(np.uint8)
    if pos.size >= 5:
        pos = cv2.medianBlur(pos.reshape(-1, 1), 5).ravel()  # one text row is no sheet edge
    return pos


def page_mask(gray: np.ndarray) -> np.ndarray | None:
    """Mask (uint8 0/1) of a sheet photographed on a darker background, or None.

    On a ~160 px thumbnail, each image side is scanned inwards for the sheet's edge: a
    sharp step from dark background up to paper brighter than all the background
    before it. Smooth lighting gradients and text (which is inside the sheet) do not
    stop the scan, so plain pages, shadows and screenshots get no mask.
    """
    h, w = gray.shape
    f = 160.0 / max(h, w)
    if f >= 1 or min(h, w) * f < 16:
        return None
    thumb = cv2.resize(gray, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
    a = cv2.GaussianBlur(thumb, (3, 3), 0).astype(np.int16)
    th, tw = a.shape
    left, right = _margin_depth(a), _margin_depth(a[:, ::-1])
    top, bottom = _margin_depth(a.T), _margin_depth(a[::-1].T)
    if not (left.any() or right.any() or top.any() or bottom.any()):
        return None
    cols, rows = np.arange(tw)[None, :], np.arange(th)[:, None]
    outside = ((cols < left[:, None]) | (cols >= tw - right[:, None].astype(np.int32))
               | (rows < top[None, :]) | (rows >= th - bottom[None, :].astype(np.int32)))
    sheet = (~outside).astype(np.uint8)
    sides = [d for d in (left, right, top, bottom) if (d > 0).mean() >= 0.25]
    if len(sides) >= 3:
        # the sheet is the convex hull of its edge points: this also drops the corners
        # of the background that no scan line crosses the edge in
        ri, ci = np.arange(th), np.arange(tw)
        pts = np.concatenate([
            np.stack([left, ri], 1)[left > 0], np.stack([tw - 1 - right.astype(np.int32), ri], 1)[right > 0],
            np.stack([ci, top], 1)[top > 0], np.stack([ci, th - 1 - bottom.astype(np.int32)], 1)[bottom > 0]])
        hull = np.zeros_like(sheet)
        cv2.fillConvexPoly(hull, cv2.convexHull(pts.astype(np.int32)), 1)
        sheet &= hull
    if sheet.mean() < 0.2:
        return None
    sheet = cv2.erode(sheet, np.ones((3, 3), np.uint8))  # stay clear of the sheet's edge
    return cv2.resize(sheet, (w, h), interpolation=cv2.INTER_NEAREST)


def binarize(gray: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Ink mask (uint8 0/1). Polarity (dark-on-light or light-on-dark) from where the
    median sits between the dark and bright extremes: the background is the majority."""
    h, w = gray.shape
    block = max(15, (min(h, w) // 30) | 1)
    sample = gray[::4, ::4] if mask is None else gray[::4, ::4][mask[::4, ::4] > 0]
    if sample.size == 0:
        sample = gray[::4, ::4]
    lo, med, hi = np.percentile(sample, (2, 50, 98))
    inv = med - lo < hi - med  # light text on a dark background
    src = 255 - gray if inv else gray
    ink = cv2.adaptiveThreshold(src, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)
    if mask is not None:
        ink &= mask
    return ink


def remove_rules(ink: np.ndarray) -> np.ndarray:
    """Remove long horizontal/vertical lines (tables, underlines) that would join text lines.

    The ink is first thickened by one pixel across the rule direction, so a rule that
    is slightly slanted (a photo, imperfect deskew) still has one long straight run.
    """
    h, w = ink.shape
    lh, lv = max(25, w // 15), max(25, h // 15)
    k3h, k3v = np.ones((3, 1), np.uint8), np.ones((1, 3), np.uint8)
    horiz = cv2.morphologyEx(cv2.dilate(ink, k3h), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (lh, 1)))
    vert = cv2.morphologyEx(cv2.dilate(ink, k3v), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, lv)))
    return ink & ~(cv2.dilate(horiz, k3h) | cv2.dilate(vert, k3v))


@dataclass
class Components:
    """Connected components of the ink kept as text candidates (detection frame)."""
    cx: np.ndarray     # centroid x
    cy: np.ndarray     # centroid y
    h: np.ndarray      # height
    w: np.ndarray      # width
    area: np.ndarray

    def subset(self, sel: np.ndarray) -> "Components":
        return Components(self.cx[sel], self.cy[sel], self.h[sel], self.w[sel], self.area[sel])


def remove_specks(ink: np.ndarray, min_area: int = 3) -> tuple[np.ndarray, Components]:
    """Drop specks (< min_area px) and huge blobs (pictures, page borders); returns the
    cleaned ink and the kept components."""
    n, labels, stats, cents = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = ink.shape
    area, cw, ch = stats[:, cv2.CC_STAT_AREA], stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    keep = (area >= min_area) & (ch < 0.5 * h)  # huge blobs are pictures / page borders
    keep[0] = False
    if n > 1 and not keep[1:].all():
        ink = keep.astype(np.uint8)[labels]
    comps = Components(cents[keep, 0], cents[keep, 1], ch[keep].astype(np.float64), cw[keep].astype(np.float64),
                       area[keep].astype(np.float64))
    return ink, comps


def char_height(comps: Components, default: float = 10.0) -> float:
    hs = comps.h[comps.h >= 4]
    return float(np.percentile(hs, 75)) if hs.size else default


def estimate_skew(comps: Components, char_h: float, max_angle: float = 8.0) -> float:
    """Angle (degrees) maximising the variance of the row projection (sharp line bands).

    The projection is built from the components rather than by rotating the image:
    each component, its centroid rotated, spreads its ink evenly over its height
    (1-pixel rows, by a cumulative sum), which is cheap enough to try many angles.
    """
    sel = (comps.h >= 3) & (comps.w <= 4 * char_h) & (comps.h <= 3 * char_h)
    if sel.sum() < 8:
        return 0.0
    x, y, hh, wt = comps.cx[sel], comps.cy[sel], comps.h[sel], comps.area[sel] / comps.h[sel]
    x = x - x.mean()
    half = hh / 2

    def score(a):
        t = np.radians(a)
        yr = y * np.cos(t) - x * np.sin(t)
        top = yr - half
        base = top.min()
        n = int(np.ceil((yr + half).max() - base)) + 2
        prof = np.cumsum(np.bincount((top - base).astype(np.int64), wt, n)
                         - np.bincount((top - base + hh).astype(np.int64), wt, n))
        return float(np.var(prof)) * n

    coarse = np.arange(-max_angle, max_angle + 1e-6, 0.5)
    best = coarse[int(np.argmax([score(a) for a in coarse]))]
    fine = np.arange(best - 0.45, best + 0.451, 0.05)
    return float(fine[int(np.argmax([score(a) for a in fine]))])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in a 1-D bool array."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def _local_height(comps: Components, char_h: float) -> float:
    """Character height of a band: its own components' when it has a few (a heading,
    a line of small print), never below 0.6 of the page's (dot leaders, punctuation)."""
    hs = comps.h[comps.h >= 4]
    if hs.size < 3:
        return char_h
    return max(0.6 * char_h, float(np.percentile(hs, 75)))


GAP_FACTOR = 2.0  # a gap wider than this many (local) character heights separates cells/columns


def xy_cut(ink: np.ndarray, x0: int, y0: int, char_h: float, out: list, comps: Components | None = None,
           depth: int = 0) -> None:
    """Recursive XY-cut: split into horizontal bands, then bands into column segments.

    ``comps`` (centroids in the same frame as x0/y0) give the character height of each
    band, so a tall band (a table row with a two-line cell, a big heading) is cut at
    gaps measured against its own characters, not against its height.
    """
    rows = ink.sum(axis=1) > 0
    bands = _runs(rows)
    if not bands:
        return
    if len(bands) > 1 and depth < 12:
        for a, b in bands:
            sub = None
            if comps is not None:
                sub = comps.subset((comps.cy >= y0 + a) & (comps.cy < y0 + b))
            xy_cut(ink[a:b], x0, y0 + a, char_h, out, sub, depth + 1)
        return
    a, b = bands[0]
    band = ink[a:b]
    cols = band.sum(axis=0) > 0
    if comps is not None:
        lh = _local_height(comps, char_h)
        gap_min = max(GAP_FACTOR * lh, 1.6 * min(b - a, 1.5 * lh))
    else:
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
            sub = None
            if comps is not None:
                sub = comps.subset((comps.cx >= x0 + s) & (comps.cx < x0 + e))
            xy_cut(band[:, s:e], x0 + s, y0 + a, char_h, out, sub, depth + 1)
        return
    s, e = segs[0]
    out.append((x0 + s, y0 + a, x0 + e, y0 + b))


def split_tall(boxes, ink, char_h):
    """Split boxes much taller than a line (touching lines) at row-projection valleys.

    A cut is only made where the projection has a real valley (the gap between two
    lines, at most 35% of the box's typical row ink): a heading in a big font has no
    valley through its glyphs and stays one line.
    """
    out = []
    for x0, y0, x1, y1 in boxes:
        h = y1 - y0
        if h > 1.8 * char_h and char_h > 4:
            prof = ink[y0:y1, x0:x1].sum(axis=1).astype(np.float32)
            level = 0.35 * float(np.median(prof[prof > 0])) if (prof > 0).any() else 0.0
            n = int(round(h / char_h))
            cuts = [y0]
            for k in range(1, n):
                c = int(k * h / n)
                lo, hi = max(1, c - int(char_h / 3)), min(h - 1, c + int(char_h / 3))
                if hi > lo:
                    m = lo + int(np.argmin(prof[lo:hi]))
                    if prof[m] <= level:
                        cuts.append(y0 + m)
            cuts.append(y1)
            out.extend((x0, a, x1, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a > 2)
        else:
            out.append((x0, y0, x1, y1))
    return out


def detect_lines(gray: np.ndarray) -> Detection:
    H, W = gray.shape
    scale = min(1.0, DETECT_MAX_SIDE / max(H, W))
    # explicit sizes of at least 1 px: a 1 x 100000 strip must not round to an empty image
    small = cv2.resize(gray, (max(1, round(W * scale)), max(1, round(H * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else gray
    ink, comps = remove_specks(remove_rules(binarize(small, page_mask(small))))
    char_h = char_height(comps)
    angle = estimate_skew(comps, char_h)
    # deskew both the detection mask and the full-resolution image
    M_full = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    inverse = cv2.invertAffineTransform(M_full)
    if abs(angle) > 0.05:
        deskewed = cv2.warpAffine(gray, M_full, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        h, w = ink.shape
        M_small = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        ink = cv2.warpAffine(ink, M_small, (w, h), flags=cv2.INTER_NEAREST)
        cx = M_small[0, 0] * comps.cx + M_small[0, 1] * comps.cy + M_small[0, 2]
        cy = M_small[1, 0] * comps.cx + M_small[1, 1] * comps.cy + M_small[1, 2]
        comps = Components(cx, cy, comps.h, comps.w, comps.area)
    else:
        deskewed = gray
    raw: list = []
    xy_cut(ink, 0, 0, char_h, raw, comps)
    # thin boxes are rule fragments, underlines or specks, not text
    raw = [b for b in raw if (b[3] - b[1]) >= max(4, 0.35 * char_h)]
    raw = split_tall(raw, ink, _typical_height(raw, char_h))
    lines = []
    for x0, y0, x1, y1 in raw:
        # back to full resolution, with a margin like the training crops have
        x0, y0, x1, y1 = (v / scale for v in (x0, y0, x1, y1))
        h = y1 - y0
        mx, my = 0.25 * h, 0.15 * h
        lines.append(LineBox(int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(W, x1 + mx)), int(min(H, y1 + my))))
    lines.sort(key=lambda b: (b.y0 + b.y1) / 2)
    return Detection(lines=_reading_order(lines), angle=angle, deskewed=deskewed, inverse=inverse, matrix=M_full)


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
