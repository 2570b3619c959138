"""Safe image decoding: type sniffing, limits checked on the header before decoding, memory bounded.

Decompression bombs are refused from the header's declared dimensions, before any pixel is
decoded. Images decode straight to the channels the model needs (gray, or BGR for colour
models); alpha is composited on white in uint8 strips, never as a float copy of the image;
images over ``FULL_RES_PIXELS`` are reduced while decoding (JPEG in the DCT domain) and the
result records the scale, so boxes are still reported in the original's pixels. EXIF
orientation is applied (OpenCV does it on decode; alpha images, decoded by Pillow, keep
their stored orientation).

Memory, in one place: the function has ``MEMORY_MB`` (Lambda's ``MemorySize``, which it sets
as AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 1,024 in template.yaml). A request holds the decoder's
buffer, the gray image, a deskewed copy, a colour copy for colour models and the crops, so
the decoder's buffer may take ``DECODE_BUDGET`` = a quarter of it; an image whose decoded
size (pixels x bands x bytes per sample, from its header) is over that is refused (413).
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
from .preprocess import flatten_alpha

MAX_BYTES = int(os.environ.get("MAX_IMAGE_BYTES", 6 * 1024 * 1024))
MAX_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", 40_000_000))
MEMORY_MB = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or os.environ.get("OCR_MEMORY_MB") or 1024)
DECODE_BUDGET = MEMORY_MB * 1024 * 1024 // 4
FULL_RES_PIXELS = int(os.environ.get("OCR_FULL_RES_PIXELS", 16_000_000))  # more: reduced while decoding
ALPHA_STRIP_ROWS = 256
_REDUCED = {1: (cv2.IMREAD_GRAYSCALE, cv2.IMREAD_COLOR), 2: (cv2.IMREAD_REDUCED_GRAYSCALE_2, cv2.IMREAD_REDUCED_COLOR_2),
            4: (cv2.IMREAD_REDUCED_GRAYSCALE_4, cv2.IMREAD_REDUCED_COLOR_4),
            8: (cv2.IMREAD_REDUCED_GRAYSCALE_8, cv2.IMREAD_REDUCED_COLOR_8)}

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
    scale: float = 1.0               # original pixels per decoded pixel (> 1 when reduced on decode)

    @property
    def original_size(self) -> tuple[int, int]:
        """(width, height) of the image as sent."""
        h, w = self.gray.shape
        return int(round(w * self.scale)), int(round(h * self.scale))


@dataclass
class Header:
    width: int
    height: int
    bands: int
    bytes_per_sample: int
    has_alpha: bool

    @property
    def decoded_bytes(self) -> int:
        return self.width * self.height * self.bands * self.bytes_per_sample


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
    head = read_header(data, fmt)
    if head.has_alpha:
        gray, bgr, scale = _decode_alpha(data, fmt, color)
    else:
        factor = reduction(head.width, head.height)
        flags = _REDUCED[factor][1 if color else 0]
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        if img is None or img.size == 0:
            raise InvalidImage(f"could not decode the {fmt.upper()} image (corrupt or truncated?)")
        bgr = img if color else None
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if color else img
        scale = max(head.width, head.height) / max(gray.shape) if factor > 1 else 1.0
    return DecodedImage(gray=gray, format=fmt, color=bgr, scale=scale)


def reduction(width: int, height: int) -> int:
    """The smallest of 1, 2, 4, 8 that brings the image to at most FULL_RES_PIXELS."""
    for f in (1, 2, 4, 8):
        if (width // f) * (height // f) <= FULL_RES_PIXELS:
            return f
    return 8


def _decode_alpha(data: bytes, fmt: str, color: bool) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Alpha images through Pillow (8 bits per sample), composited on white strip by strip."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
            if im.mode != "RGBA":
                im = im.convert("RGBA")
            im.load()
    except Exception:  # noqa: BLE001 -- a decoder failure means the file is not a usable image
        raise InvalidImage(f"could not decode the {fmt.upper()} image (corrupt or truncated?)") from None
    w, h = im.size
    gray = np.empty((h, w), np.uint8)
    bgr = np.empty((h, w, 3), np.uint8) if color else None
    for y0 in range(0, h, ALPHA_STRIP_ROWS):
        y1 = min(h, y0 + ALPHA_STRIP_ROWS)
        rgb = flatten_alpha(np.asarray(im.crop((0, y0, w, y1))))
        gray[y0:y1] = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if bgr is not None:
            bgr[y0:y1] = rgb[:, :, ::-1]
    im.close()
    factor = reduction(w, h)
    if factor == 1:
        return gray, bgr, 1.0
    size = (max(1, w // factor), max(1, h // factor))
    gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if bgr is not None:
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return gray, bgr, max(w, h) / max(gray.shape)


def _bits_per_sample(data: bytes, fmt: str, im: Image.Image) -> int:
    if fmt == "png" and len(data) >= 26:
        return data[24]                                   # IHDR bit depth
    if fmt == "tiff":
        bits = im.tag_v2.get(258, 8)                      # BitsPerSample
        return int(max(bits) if isinstance(bits, tuple) else bits)
    return 16 if im.mode.startswith("I;16") else 8


def read_header(data: bytes, fmt: str) -> Header:
    """Validate declared dimensions, frame count and decoded size without decoding pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                frames = getattr(im, "n_frames", 1)
                has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
                bands = 4 if has_alpha else len(im.getbands())
                bits = _bits_per_sample(data, fmt, im)
    except Exception:  # noqa: BLE001 -- any parser failure means the file is not a usable image
        raise InvalidImage(f"could not read the {fmt.upper()} header (corrupt or truncated?)") from None
    if w <= 0 or h <= 0:
        raise InvalidImage("image has zero width or height")
    if w * h > MAX_PIXELS:
        raise ImageTooLarge(f"image too large: {w}x{h} pixels (max {MAX_PIXELS // 1_000_000} megapixels)")
    if frames > 1 and fmt == "webp":
        raise UnsupportedMediaType("animated images are not supported; send a single frame")
    # Pillow decodes alpha images at 8 bits per sample; OpenCV reads the rest straight to 8-bit gray/BGR
    head = Header(w, h, bands, 1 if has_alpha or bits <= 8 else 2, has_alpha)
    if head.has_alpha and head.decoded_bytes > DECODE_BUDGET:
        raise ImageTooLarge(f"image too large to decode: {w}x{h} with alpha needs {head.decoded_bytes >> 20} MiB "
                            f"(max {DECODE_BUDGET >> 20} MiB); send it without transparency or smaller")
    return head
