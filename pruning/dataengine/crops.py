"""Cut lines out of a (photographed) page the way the service's detector cuts them, with jitter.

``slim_ocr.detector.detect_lines`` deskews the whole page by one angle, finds each line's ink
box and crops it axis-aligned with margins of 0.25 h left/right and 0.15 h top/bottom (h =
the ink box height). Here a line's ink box (measured on the clean render) is mapped through
the camera's homography into the photo; the crop frame is rotated by the *page's* angle (the
median over its lines, plus the estimator's error), so perspective leaves each line's own
residual tilt in, as on real photos. Jitter on top of the detector's margins:

- vertical: nominal (0.15 h), loose (text only 35-75 % of the crop height, so fragments
  of the lines above/below come in from the page itself) or tight, and off-centre;
- horizontal: nominal, loose (capped at the gap to a neighbouring box on the same row so
  no unlabelled glyph enters) or tight (the first/last glyph's margin clipped to the ink);
- extra residual rotation (a worse deskew), more for short lines.

Crops are uint8 BGR, cut by one ``warpAffine`` each from the photo.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pruning.dataengine.camera import map_points

DET_MX, DET_MY = 0.25, 0.15  # slim_ocr.detector.detect_lines margins (fractions of the box height)
MIN_HEIGHT = 8.0             # px of ink in the photo below which a line is not kept


@dataclass
class Crop:
    image: np.ndarray   # BGR uint8
    text: str
    meta: dict


def _quad(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def line_geometry(q: np.ndarray) -> tuple[float, float, float]:
    """(angle in degrees, length, height) of a mapped ink quad tl, tr, br, bl."""
    u = ((q[1] - q[0]) + (q[2] - q[3])) / 2
    v = ((q[3] - q[0]) + (q[2] - q[1])) / 2
    length = float(np.hypot(*u))
    ang = float(np.degrees(np.arctan2(u[1], u[0])))
    n = np.array([-u[1], u[0]]) / max(length, 1e-6)
    return ang, length, abs(float(v @ n))


def _rot(deg: float) -> np.ndarray:
    t = np.radians(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def row_gaps(lines: list[dict]) -> list[tuple[float, float]]:
    """Per line, the free space (page px) to the nearest other ink box on the same row,
    left and right (inf when none)."""
    boxes = np.array([ln["ink"] for ln in lines], np.float64).reshape(-1, 4)
    out = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        h = y1 - y0
        ov = np.minimum(boxes[:, 3], y1) - np.maximum(boxes[:, 1], y0)
        same = (ov > 0.3 * np.minimum(h, boxes[:, 3] - boxes[:, 1])) & (np.arange(len(boxes)) != i)
        left = x0 - boxes[same & (boxes[:, 2] <= x0 + 0.5 * h), 2]
        right = boxes[same & (boxes[:, 0] >= x1 - 0.5 * h), 0] - x1
        out.append((float(left.min()) if left.size else np.inf, float(right.min()) if right.size else np.inf))
    return out


def _margin(rng, jitter: float) -> tuple[str, float]:
    """A horizontal margin in units of the box height: nominal (the detector's 0.25), loose
    (up to a full height) or tight (down to the ink, a hair into its anti-aliased edge)."""
    r = rng.random()
    if jitter <= 0 or r < 1 - 0.5 * jitter:
        return "nominal", DET_MX + (rng.uniform(-0.1, 0.1) * jitter)
    if r < 1 - 0.2 * jitter:
        return "loose", float(rng.uniform(0.35, 1.0))
    return "tight", float(rng.uniform(-0.03, 0.12))


def cut_lines(image: np.ndarray, H: np.ndarray, lines: list[dict], rng: np.random.Generator, jitter: float = 1.0,
              max_lines: int | None = None, indices: list[int] | None = None) -> list[Crop]:
    """Crops of page ``lines`` (dicts with ``ink`` box in page px and ``label``) from ``image``
    (the page through ``H``). Lines not wholly inside the image or smaller than MIN_HEIGHT px
    are skipped; ``max_lines`` keeps a random subset; ``indices`` picks lines explicitly."""
    if not lines:
        return []
    quads = [map_points(H, _quad(ln["ink"])) for ln in lines]
    geo = [line_geometry(q) for q in quads]
    lengths = np.array([g[1] for g in geo])
    angles = np.array([g[0] for g in geo])
    # the detector's single page angle: (length-weighted) median of the lines, plus its error
    order = np.argsort(angles)
    cw = np.cumsum(lengths[order])
    page_angle = float(angles[order][np.searchsorted(cw, cw[-1] / 2)])
    page_angle += float(rng.normal(0, 0.15 * jitter))
    gaps = row_gaps(lines)
    Himg, Wimg = image.shape[:2]
    idx = list(range(len(lines))) if indices is None else list(indices)
    if indices is None:
        rng.shuffle(idx)
    out: list[Crop] = []
    for i in idx:
        if max_lines is not None and len(out) >= max_lines:
            break
        q = quads[i]
        if (q[:, 0].min() < 1 or q[:, 1].min() < 1 or q[:, 0].max() > Wimg - 2 or q[:, 1].max() > Himg - 2):
            continue
        ang_i, length, h_text = geo[i]
        if h_text < MIN_HEIGHT:
            continue
        frame = page_angle
        aspect = length / max(h_text, 1.0)
        if jitter > 0 and rng.random() < 0.3 * jitter:  # a worse deskew for this line
            cap = np.degrees(np.arctan(0.6 / max(aspect, 1.0))) if rng.random() < 0.8 else 4.0
            frame += float(np.clip(rng.uniform(-4, 4), -cap, cap))
        Rm = _rot(-frame)
        p = q @ Rm.T  # quad in the (deskewed) crop frame
        bx0, by0 = p.min(axis=0)
        bx1, by1 = p.max(axis=0)
        hb = by1 - by0
        # vertical extent
        r = rng.random()
        if jitter <= 0 or r < 1 - 0.65 * jitter:
            kind_v = "nominal"
            my0 = my1 = (DET_MY + rng.uniform(-0.05, 0.05) * jitter) * hb
        elif r < 1 - 0.2 * jitter:
            kind_v = "loose"
            frac = rng.uniform(0.35, 0.75)
            extra = max(h_text / frac - hb, 0.1 * hb)  # frac of the crop is text (tilt adds to hb)
            t = rng.uniform(0.3, 0.7)  # the labelled line stays the most central one
            my0, my1 = extra * t, extra * (1 - t)
        else:
            kind_v = "tight"
            my0, my1 = rng.uniform(-0.02, 0.08, 2) * hb
        # horizontal extent, capped at a same-row neighbour (page px -> photo px)
        sc = h_text / max(lines[i]["ink"][3] - lines[i]["ink"][1], 1e-6)
        kind_h, ml = _margin(rng, jitter)
        _, mr = _margin(rng, jitter)
        gl, gr = gaps[i]
        ml = min(ml * hb, max(0.0, gl * sc - 0.3 * hb))
        mr = min(mr * hb, max(0.0, gr * sc - 0.3 * hb))
        x0, x1 = bx0 - ml, bx1 + mr
        y0, y1 = by0 - my0, by1 + my1
        cw_, ch_ = int(round(x1 - x0)), int(round(y1 - y0))
        if cw_ < 4 or ch_ < 4:
            continue
        # crop pixel (u, v) -> photo: R(frame) @ ((x0, y0) + (u, v))
        Rf = _rot(frame)
        M = np.hstack([Rf, (Rf @ np.array([x0, y0]))[:, None]])
        crop = cv2.warpAffine(image, M, (cw_, ch_), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        meta = {"h": round(h_text, 2), "text_frac": round(h_text / ch_, 3), "tilt": round(ang_i - frame, 2),
                "v": kind_v, "h_margin": kind_h, "index": i}
        out.append(Crop(crop, lines[i]["label"], meta))
    return out
