"""The ``smallprint`` source: a line of another source as small print in a photo -- reduced to
13-26 px, soft, in tinted ink on tinted paper, noisy and recompressed.

Why: in a photographed page, body-text lines are often under 20 px tall, and narrow letters
(i, l, t, r) are then one or two soft pixels wide; the PP-OCR student dropped such letters where
its teacher read them (issue 15). The page sources reach these sizes mostly for short table
cells (html_photo crops: median 24 px, mostly numbers below 18 px), and the Pillow lines are
rendered 25-60 px tall in gray, so few long, soft, coloured lines of that size were in the mix. This is a line-level degradation of its
own, written for training; the evaluation's variants are made elsewhere (``bench``) and never
read here.
"""
from __future__ import annotations

import cv2
import numpy as np

HEIGHT_PX = (13.0, 26.0)       # crop height after reduction (Latin-only lines)
HANZI_MIN_PX = 17.0            # lines with Hanzi: smaller ones were illegible on the contact sheet
SOFT_SIGMA = (0.3, 0.8)        # defocus, in output pixels, applied before the reduction
NOISE = (1.0, 7.0)             # sensor noise std, 8-bit levels
JPEG_Q = (25, 85)


def _colour(rng: np.random.Generator, value: tuple[float, float], sat: tuple[float, float]) -> np.ndarray:
    """A BGR colour (0..255 float) of random hue with value and saturation in the ranges."""
    hsv = np.uint8([[[rng.integers(0, 180), 255 * rng.uniform(*sat), 255 * rng.uniform(*value)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _retint(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink and paper recoloured: luminance stretched to 0..1 (0 = ink), then mapped from a dark
    ink to a light paper colour; dark-theme lines (light ink) keep their polarity."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lo, hi = np.percentile(gray, (2, 98))
    if hi - lo < 8:                                  # a flat crop: nothing to retint
        return img.astype(np.float32)
    lum = np.clip((gray - lo) / (hi - lo), 0, 1)[..., None]
    ink = _colour(rng, (0.05, 0.45), (0.0, 0.6))
    paper = _colour(rng, (0.62, 1.0), (0.0, 0.3))
    if np.median(gray) < (lo + hi) / 2:             # light text on a dark background
        ink, paper = paper, ink
    return (ink + (paper - ink) * lum).astype(np.float32)


def degrade(img: np.ndarray, text: str, rng: np.random.Generator) -> np.ndarray:
    """``img`` (BGR uint8 line crop of ``text``) as small print; the text is unchanged."""
    h, w = img.shape[:2]
    out = _retint(img, rng) if rng.random() < 0.7 else img.astype(np.float32)
    if rng.random() < 0.5:                          # white balance / exposure off
        out = out * rng.uniform(0.8, 1.15, 3).astype(np.float32)
    lo = HANZI_MIN_PX if any(ord(c) > 0x2E80 for c in text) else HEIGHT_PX[0]
    target = rng.uniform(lo, max(lo + 1, HEIGHT_PX[1]))
    s = min(1.0, target / h)
    sigma = rng.uniform(*SOFT_SIGMA) / s
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    if s < 1.0:
        size = (max(4, round(w * s * rng.uniform(0.92, 1.08))), max(6, round(h * s)))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA)
    gamma = rng.uniform(0.75, 1.35)
    out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** gamma
    out = out + rng.normal(0, rng.uniform(*NOISE), out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(*JPEG_Q))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else out
