"""Line preprocessing shared by the service, training and evaluation (one code path).

Pipeline for a cropped text line: any uint8/uint16 gray/BGR/BGRA array -> gray uint8
-> (optional CLAHE) -> resize to MODEL_HEIGHT keeping aspect -> float32 in [-1, 1].
Batches are padded on the right with each line's median (≈ background) value.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

MODEL_HEIGHT = 32
WIDTH_STRIDE = 4  # model downsamples width by 4: one output step per 4 input columns
MAX_WIDTH = 2048  # wider lines are squeezed horizontally (~64 Hanzi at height 32)
MIN_WIDTH = 16

_clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(1, 8))


def to_gray(img: np.ndarray) -> np.ndarray:
    """Gray uint8 from gray, BGR or BGRA (alpha composited on white), 8 or 16 bit."""
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[:, :, 0]
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        rgb = img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        img = rgb.astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def resize_line(gray: np.ndarray, height: int = MODEL_HEIGHT, max_width: int = MAX_WIDTH) -> np.ndarray:
    """Resize a gray line crop to ``height`` keeping aspect; width a multiple of the stride."""
    h, w = gray.shape[:2]
    if h == 0 or w == 0:
        raise ValueError("empty line image")
    new_w = int(round(w * height / h))
    new_w = min(max(MIN_WIDTH, math.ceil(new_w / WIDTH_STRIDE) * WIDTH_STRIDE), max_width)
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    return cv2.resize(gray, (new_w, height), interpolation=interp)


def prepare_line(img: np.ndarray, clahe: bool = False) -> np.ndarray:
    """A line crop (any supported dtype/channels) -> uint8 (MODEL_HEIGHT, W) ready for batching."""
    gray = to_gray(img)
    line = resize_line(gray)
    if clahe:
        line = _clahe.apply(line)
    return line


def make_batch(lines: list[np.ndarray], width: int | None = None) -> np.ndarray:
    """Stack prepared uint8 lines into float32 (B, 1, H, W) in [-1, 1], right-padded.

    ``width`` fixes the batch width (>= every line's width); default: the widest line.
    """
    width = width or max(x.shape[1] for x in lines)
    batch = np.empty((len(lines), 1, MODEL_HEIGHT, width), dtype=np.float32)
    for i, line in enumerate(lines):
        w = line.shape[1]
        batch[i, 0, :, :w] = line
        batch[i, 0, :, w:] = np.median(line)
    batch *= 2.0 / 255.0
    batch -= 1.0
    return batch
