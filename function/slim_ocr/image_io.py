"""Safe image decoding: type sniffing, size limits checked on the header before decoding.

Decompression bombs are refused from the header's declared dimensions, before any
pixel is decoded. EXIF orientation is applied (OpenCV does it on decode).
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import ImageTooLarge, InvalidBase64, InvalidImage, UnsupportedMediaType
from .preprocess import to_bgr, to_gray

MAX_BYTES = int(os.environ.get("MAX_IMAGE_BYTES", 6 * 1024 * 1024))
MAX_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", 40_000_000))

# Magic numbers of the formats we decode -> short name.
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"BM", "bmp"),
    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
]
_KNOWN_OTHER = [(b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"%PDF", "PDF"), (b"\x00\x00\x00\x0cjP", "JPEG 2000")]
SUPPORTED = "PNG, JPEG, WebP, BMP, TIFF"

# We enforce our own pixel limit; Pillow's own bomb check would raise a different error.
Image.MAX_IMAGE_PIXELS = None


@dataclass
class DecodedImage:
    gray: np.ndarray  # uint8 (H, W), EXIF orientation applied: what the detector reads
    format: str
    color: np.ndarray | None = None  # uint8 (H, W, 3) BGR, when asked for (models that read colour)

    @property
    def width(self) -> int:
        return int(self.gray.shape[1])

    @property
    def height(self) -> int:
        return int(self.gray.shape[0])


def sniff(data: bytes) -> str:
    """Image format from magic bytes; raises UnsupportedMediaType for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    for magic, name in _KNOWN_OTHER:
        if data.startswith(magic):
            raise UnsupportedMediaType(f"{name} is not supported; send one of {SUPPORTED}")
    raise UnsupportedMediaType(f"not a supported image; send one of {SUPPORTED}")


def decode_base64(text: str) -> bytes:
    """Strict base64 (a data: URL prefix is accepted); the size limit is checked first."""
    if text[:5].lower() == "data:":  # the scheme is case-insensitive (RFC 2397)
        text = text.split(",", 1)[-1]
    if len(text) > (MAX_BYTES * 4) // 3 + 8:
        raise ImageTooLarge(f"image too large (max {MAX_BYTES // (1024 * 1024)} MB)")
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBase64("image_base64 is not valid base64") from None
    if not data:
        raise InvalidBase64("image_base64 is empty")
    return data


def decode_image(data: bytes, color: bool = False) -> DecodedImage:
    """Decode to gray (and to BGR too when ``color``: only models that read colour pay for it)."""
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(f"image too large (max {MAX_BYTES // (1024 * 1024)} MB)")
    if len(data) < 8:
        raise InvalidImage("image data is empty or truncated")
    fmt = sniff(data)
    has_alpha = _check_header(data, fmt)
    # GRAYSCALE and COLOR apply EXIF orientation; UNCHANGED (kept for alpha) does not
    flags = cv2.IMREAD_UNCHANGED if has_alpha else cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None or img.size == 0:
        raise InvalidImage(f"could not decode the {fmt.upper()} image (corrupt or truncated?)")
    # alpha is composited on white, 16-bit reduced to 8
    return DecodedImage(gray=to_gray(img), format=fmt, color=to_bgr(img) if color else None)


def _check_header(data: bytes, fmt: str) -> bool:
    """Validate declared dimensions and frame count without decoding pixels; return has-alpha."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                frames = getattr(im, "n_frames", 1)
                has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    except Exception:  # noqa: BLE001 -- any parser failure means the file is not a usable image
        raise InvalidImage(f"could not read the {fmt.upper()} header (corrupt or truncated?)") from None
    if w <= 0 or h <= 0:
        raise InvalidImage("image has zero width or height")
    if w * h > MAX_PIXELS:
        raise ImageTooLarge(f"image too large: {w}x{h} pixels (max {MAX_PIXELS // 1_000_000} megapixels)")
    if frames > 1 and fmt == "webp":
        raise UnsupportedMediaType("animated images are not supported; send a single frame")
    return has_alpha
