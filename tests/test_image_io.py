"""Image decoding: formats, EXIF orientation, alpha, bit depth, limits."""
import io

import numpy as np
import pytest
from PIL import Image

from conftest import encode
from slim_ocr.errors import ImageTooLarge, InvalidBase64, InvalidImage, UnsupportedMediaType
from slim_ocr.image_io import decode_base64, decode_image


def sample_rgb(w=60, h=30):
    a = np.full((h, w, 3), 255, np.uint8)
    a[5:15, 5:25] = (0, 0, 0)  # a dark block in the top-left corner
    return Image.fromarray(a)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF"])
def test_formats_decode_to_gray(fmt):
    img = decode_image(encode(sample_rgb(), fmt))
    assert img.gray.shape == (30, 60) and img.gray.dtype == np.uint8
    assert img.gray[8, 10] < 80 and img.gray[25, 50] > 200


def test_exif_orientation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    img = decode_image(encode(sample_rgb(), "JPEG", exif=exif.tobytes()))
    assert img.gray.shape == (60, 30)  # width and height swapped
    assert img.gray[10, 20] < 80       # the top-left block moved to the top-right


def test_alpha_composited_on_white():
    a = np.zeros((20, 40, 4), np.uint8)  # fully transparent black...
    a[5:10, 5:10] = (0, 0, 0, 255)       # ...except an opaque black square
    img = decode_image(encode(Image.fromarray(a, "RGBA"), "PNG"))
    assert img.gray[15, 30] == 255 and img.gray[7, 7] == 0


def test_16bit_png():
    a = np.full((20, 40), 65535, np.uint16)
    a[5:10, 5:10] = 0
    img = decode_image(encode(Image.fromarray(a), "PNG"))
    assert img.gray.dtype == np.uint8 and img.gray[15, 30] == 255 and img.gray[7, 7] == 0


def test_cmyk_jpeg():
    img = decode_image(encode(sample_rgb().convert("CMYK"), "JPEG"))
    assert img.gray.shape == (30, 60)


def test_one_pixel_wide_image():
    assert decode_image(encode(Image.new("L", (1, 50), 0), "PNG")).gray.shape == (50, 1)


@pytest.mark.parametrize("data,exc", [
    (b"", InvalidImage), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, InvalidImage),
    (b"GIF89a" + b"\x00" * 30, UnsupportedMediaType), (b"%PDF-1.7 ....", UnsupportedMediaType),
    (b"random bytes that are no image", UnsupportedMediaType),
])
def test_bad_bytes(data, exc):
    with pytest.raises(exc):
        decode_image(data)


def test_declared_huge_dimensions_refused_without_decoding():
    data = encode(Image.new("1", (9000, 9000), 1), "PNG")
    with pytest.raises(ImageTooLarge):
        decode_image(data)


def test_base64():
    assert decode_base64("aGVsbG8=") == b"hello"
    assert decode_base64("data:image/png;base64,aGVs\nbG8=") == b"hello"
    for bad in ("***", "aGVsbG8", ""):
        with pytest.raises(InvalidBase64):
            decode_base64(bad)
