"""Page orientation: a page turned by 90, 180 or 270 degrees (a scan fed sideways, a photo taken
upside down; EXIF orientation is applied on decode already) is found and turned upright.

Two cues, both from what the page pipeline computes anyway:
* the DB detector's boxes: when most elongated boxes stand upright, the lines run vertically
  and the page lies on its side (``DBDetector.crop`` turns such a crop 90 degrees
  counter-clockwise, which makes its text upright for a page turned clockwise);
* the recogniser's confidence on the longest lines as the page was read, and (unless that is
  high) turned by 180 degrees: upside-down text reads with a clearly lower confidence.

``reads_upright`` (both cues say the page is upright) lets the page pipeline skip the
orientation classifier. ``page_turns`` gives the counter-clockwise quarter turns (``np.rot90``'s
``k``) that make the page upright; ``unturn_points`` maps points found on the turned page back
to the original.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

ELONGATED = 2.0          # a box's long side / short side from which it says which way its line runs
VERTICAL_SHARE = 0.7     # of the elongated boxes, standing upright: the page lies on its side
MIN_BOXES = 3
PROBE_LINES = 12         # longest lines read both ways
FLIP_MARGIN = 0.05       # mean confidence the 180-degree reading must win by (upright doc lines: -0.13 to -0.20)
UPRIGHT_CONFIDENCE = 0.9  # lines read this well as cut are upright: no second reading (upside down: 0.77-0.86)


def _sides(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of a quad ordered tl, tr, br, bl."""
    return float(np.linalg.norm(quad[1] - quad[0])), float(np.linalg.norm(quad[3] - quad[0]))


def lies_on_its_side(quads: Sequence[np.ndarray]) -> bool:
    """Most elongated boxes are vertical (and there are at least ``MIN_BOXES`` of them)."""
    sides = [_sides(q) for q in quads]
    elongated = [(w, h) for w, h in sides if max(w, h) >= ELONGATED * max(1.0, min(w, h))]
    if len(elongated) < MIN_BOXES:
        return False
    return sum(h > w for w, h in elongated) >= VERTICAL_SHARE * len(elongated)


def _longest(crops: Sequence[np.ndarray]) -> list[int]:
    return sorted(range(len(crops)), key=lambda i: crops[i].shape[1], reverse=True)[:PROBE_LINES]


def reads_upright(quads: Sequence[np.ndarray], crops: Sequence[np.ndarray], confidences: Sequence[float]) -> bool:
    """The page as detected needs no turn: its boxes lie flat and its longest lines read with
    ``UPRIGHT_CONFIDENCE`` (upside down they read 0.77-0.86), so no classifier need be asked."""
    longest = _longest(crops)
    return bool(longest) and not lies_on_its_side(quads) and \
        float(np.mean([confidences[i] for i in longest])) >= UPRIGHT_CONFIDENCE


def reads_upside_down(crops: Sequence[np.ndarray], confidences: Sequence[float],
                      confidence: Callable[[list[np.ndarray]], list[float]]) -> bool:
    """The longest crops read clearly better turned by 180 degrees. ``confidences``: the
    crops' own, as the page was read; ``confidence``: reads a list of crops."""
    longest = _longest(crops)
    if not longest:
        return False
    as_is = float(np.mean([confidences[i] for i in longest]))
    if as_is >= UPRIGHT_CONFIDENCE:
        return False
    turned = float(np.mean(confidence([np.ascontiguousarray(np.rot90(crops[i], 2)) for i in longest])))
    return turned >= as_is + FLIP_MARGIN


def page_turns(quads: Sequence[np.ndarray], crops: Sequence[np.ndarray], confidences: Sequence[float],
               confidence: Callable[[list[np.ndarray]], list[float]]) -> int:
    """Counter-clockwise quarter turns (0-3) that make the page upright. ``quads``: the
    detector's boxes on the page as it is; ``crops``: their straightened line images (tall
    boxes already turned counter-clockwise by the detector's crop), read with ``confidences``."""
    side = lies_on_its_side(quads)
    flipped = reads_upside_down(crops, confidences, confidence)
    if side:
        return 3 if flipped else 1
    return 2 if flipped else 0


def unturn_points(points: np.ndarray, k: int, width: int, height: int) -> np.ndarray:
    """Points (N, 2) on ``np.rot90(image, k)`` -> the same points on ``image`` (``width`` x ``height``)."""
    p = np.asarray(points, np.float64)
    x, y = p[:, 0], p[:, 1]
    k %= 4
    if k == 0:
        return p.copy()
    if k == 1:
        return np.stack([width - y, x], 1)
    if k == 2:
        return np.stack([width - x, height - y], 1)
    return np.stack([y, height - x], 1)
