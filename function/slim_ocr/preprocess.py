"""Line preprocessing shared by the service, training and evaluation (one code path).

A cropped text line (uint8/uint16, gray/BGR/BGRA) -> the contract's colour (gray or
BGR/RGB uint8) -> (optional CLAHE, gray only) -> resized to the contract's height keeping
aspect -> a batch normalised and padded as the contract says. The numbers live in the
model's contract (``slim_ocr.contract.InputSpec``), never here.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .contract import InputSpec

_clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(1, 8))


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype != np.uint8:
        return np.clip(img, 0, 255).astype(np.uint8)
    return img


def flatten_alpha(img: np.ndarray) -> np.ndarray:
    """BGRA (or RGBA) uint8 -> BGR (RGB) on white, in integer arithmetic (no float copy of the image)."""
    bgr, a = img[:, :, :3].astype(np.uint16), img[:, :, 3:4].astype(np.uint16)
    return ((bgr * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def to_gray(img: np.ndarray) -> np.ndarray:
    """Gray uint8 from gray, BGR or BGRA (alpha composited on white), 8 or 16 bit."""
    img = _to_uint8(img)
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[:, :, 0]
    if img.shape[2] == 4:
        img = flatten_alpha(img)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def to_bgr(img: np.ndarray) -> np.ndarray:
    """BGR uint8 from gray, BGR or BGRA (alpha composited on white), 8 or 16 bit."""
    img = _to_uint8(img)
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return flatten_alpha(img)
    return img


def to_color(img: np.ndarray, spec: InputSpec) -> np.ndarray:
    """The crop in the contract's colour order: (H, W) gray or (H, W, 3) BGR/RGB uint8."""
    if spec.color == "gray":
        return to_gray(img)
    bgr = to_bgr(img)
    return bgr if spec.color == "bgr" else bgr[:, :, ::-1]


def line_width(h: int, w: int, spec: InputSpec) -> int:
    """Width of a ``h`` x ``w`` crop once resized to the contract's height (its aspect height)."""
    new_w = int(round(w * (spec.aspect_height or spec.height) / h))
    new_w = math.ceil(new_w / spec.width_stride) * spec.width_stride
    return min(max(spec.min_width, new_w), spec.max_width)


def resize_line(img: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize a crop to the contract's height keeping aspect (at its aspect height); width a
    multiple of the stride."""
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise ValueError("empty line image")
    interp = cv2.INTER_AREA if h > spec.height else cv2.INTER_LINEAR
    return cv2.resize(img, (line_width(h, w, spec), spec.height), interpolation=interp)


def prepare_line(img: np.ndarray, spec: InputSpec, clahe: bool = False) -> np.ndarray:
    """A line crop (any supported dtype/channels) -> uint8 (H, W[, 3]) ready for ``make_batch``."""
    line = resize_line(to_color(img, spec), spec)
    if clahe:
        if spec.channels != 1:
            raise ValueError("CLAHE is defined for gray models only")
        line = _clahe.apply(line)
    return line


# Batching: at most MAX_BATCH lines, and a batch is cut where a line is over WIDTH_RATIO times as
# wide as its narrowest. Right padding is compute spent on nothing, and it changes what models
# with global pooling read (PP-OCR's squeeze-excitation blocks average over the padded width):
# on the first 150 lines of each subset in file order, batches of 32 padded to their widest
# read zh captures at 83.3 % with PP-OCRv6-tiny and 63.9 % with its compressed student; cut at
# 1.25x they read 85.1 / 72.7 % in 0.41 / 0.37x the time (`bench/batching.py`).
MAX_BATCH = 32
WIDTH_RATIO = 1.25


def width_groups(widths: list[int], max_batch: int = MAX_BATCH, ratio: float = WIDTH_RATIO) -> list[list[int]]:
    """Indices of lines of ``widths`` in batches: sorted by width, cut at ``max_batch`` lines or
    where a line is wider than ``ratio`` x the batch's first (narrowest)."""
    groups: list[list[int]] = []
    for i in sorted(range(len(widths)), key=lambda k: widths[k]):
        g = groups[-1] if groups else None
        if g is None or len(g) >= max_batch or widths[i] > ratio * widths[g[0]]:
            groups.append([i])
        else:
            g.append(i)
    return groups


def worker_batches(widths: list[int], workers: int, max_batch: int = MAX_BATCH,
                   ratio: float = WIDTH_RATIO) -> list[list[list[int]]]:
    """The ``width_groups`` batches shared out among ``workers`` that run at once: while there are
    fewer batches than workers, the costliest batch of two or more lines is halved (its narrower
    and wider lines: each half pads to less); then longest-first onto the least-loaded worker,
    cost = lines x widest. Returns each worker's batches (empty workers left out)."""
    batches = width_groups(widths, max_batch, ratio)
    cost = lambda b: len(b) * max(widths[i] for i in b)  # noqa: E731
    while len(batches) < workers:
        big = max((b for b in batches if len(b) > 1), key=cost, default=None)
        if big is None:
            break
        batches.remove(big)
        batches += [big[:len(big) // 2], big[len(big) // 2:]]
    shares: list[list[list[int]]] = [[] for _ in range(max(1, workers))]
    load = [0] * len(shares)
    for b in sorted(batches, key=cost, reverse=True):
        k = load.index(min(load))
        shares[k].append(b)
        load[k] += cost(b)
    return [s for s in shares if s]


def make_batch(lines: list[np.ndarray], spec: InputSpec, width: int | None = None) -> np.ndarray:
    """Stack prepared uint8 lines into normalised float32 (B, C, H, W), right-padded.

    ``width`` fixes the batch width (>= every line's width); default: the widest line.
    """
    width = width or max(x.shape[1] for x in lines)
    c = spec.channels
    scale = np.float32(spec.scale)
    mean = np.asarray(spec.mean, np.float32).reshape(c, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(c, 1, 1)
    batch = np.empty((len(lines), c, spec.height, width), dtype=np.float32)
    for i, line in enumerate(lines):
        w = line.shape[1]
        chw = line[None] if line.ndim == 2 else line.transpose(2, 0, 1)
        batch[i, :, :, :w] = (chw * scale - mean) / std
        if spec.pad == "median":
            fill = np.median(chw.reshape(c, -1), axis=1).astype(np.float32)[:, None, None]
            batch[i, :, :, w:] = (fill * scale - mean) / std
        else:
            batch[i, :, :, w:] = 0.0
    return batch
