"""Property / fuzz tests: arbitrary bytes and shapes never crash decoding, preprocessing or the API."""
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import encode
from slim_ocr.errors import OcrError
from slim_ocr.image_io import decode_base64, decode_image
from slim_ocr.preprocess import MAX_WIDTH, MODEL_HEIGHT, make_batch, prepare_line

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_VALID = {fmt: encode(Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 90), np.uint8)), fmt)
          for fmt in ("PNG", "JPEG", "WEBP", "BMP", "TIFF")}


@FAST
@given(st.binary(max_size=4096))
def test_random_bytes_decode_or_clean_error(data):
    try:
        img = decode_image(data)
    except OcrError:
        return
    assert img.gray.dtype == np.uint8 and img.gray.ndim == 2


@FAST
@given(st.sampled_from(sorted(_VALID)), st.data())
def test_truncated_and_corrupted_images(fmt, data):
    raw = bytearray(_VALID[fmt])
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(st.lists(st.integers(0, len(raw) - 1), max_size=8))
    for i in flips:
        raw[i] ^= 0xFF
    try:
        img = decode_image(bytes(raw[:cut]))
    except OcrError:
        return
    assert img.gray.ndim == 2


@FAST
@given(st.text(max_size=300))
def test_base64_text(text):
    try:
        decode_base64(text)
    except OcrError:
        pass


@FAST
@given(st.integers(1, 400), st.integers(1, 3000), st.sampled_from([1, 3, 4]), st.sampled_from([np.uint8, np.uint16]))
def test_prepare_line_any_shape(h, w, channels, dtype):
    shape = (h, w) if channels == 1 else (h, w, channels)
    img = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    line = prepare_line(img)
    assert line.shape[0] == MODEL_HEIGHT and 16 <= line.shape[1] <= MAX_WIDTH and line.shape[1] % 4 == 0
    batch = make_batch([line])
    assert batch.shape == (1, 1, MODEL_HEIGHT, line.shape[1]) and -1.0 <= batch.min() <= batch.max() <= 1.0


@pytest.mark.parametrize("size", [(1, 1), (1, 500), (500, 1), (3, 2000), (2000, 3)])
def test_degenerate_images_through_the_api(client, size):
    data = encode(Image.new("L", size, 0), "PNG")
    r = client.post("/predict", files={"image": ("x.png", data, "image/png")})
    assert r.status_code == 200 and r.json()["success"] is True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=2048))
def test_api_random_upload_is_4xx(client, data):
    r = client.post("/predict", files={"image": ("x.png", data, "image/png")})
    assert r.status_code in (200, 400, 413, 415), r.text
    assert r.json()["success"] is (r.status_code == 200)
