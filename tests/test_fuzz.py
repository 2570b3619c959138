"""Property / fuzz tests: arbitrary bytes and shapes never crash decoding, preprocessing or the API."""
import base64
import binascii

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import encode
from slim_ocr.errors import OcrError
from slim_ocr.image_io import decode_base64, decode_image
from slim_ocr.contract import CRNN_INPUT, InputSpec
from slim_ocr.preprocess import make_batch, prepare_line, width_groups

BGR48 = InputSpec(channels=3, color="bgr", height=48, width_stride=8, min_width=16, max_width=2048,
                  mean=[0.5] * 3, std=[0.5] * 3, pad="zero")

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
    """Any text either decodes to exactly what strict base64 says or is refused with an OcrError."""
    try:
        got = decode_base64(text)
    except OcrError:
        return
    body = text.split(",", 1)[-1] if text[:5].lower() == "data:" else text
    assert got and got == base64.b64decode("".join(body.split()), validate=True)


@FAST
@given(st.binary(min_size=1, max_size=600), st.booleans())
def test_base64_round_trip(data, data_url):
    text = base64.b64encode(data).decode()
    assert decode_base64(("data:image/png;base64," if data_url else "") + text) == data
    if len(text) > 4:
        try:
            binascii.a2b_base64(text[:-1].encode(), strict_mode=True)
        except binascii.Error:
            with pytest.raises(OcrError):
                decode_base64(text[:-1])


@FAST
@given(st.integers(1, 400), st.integers(1, 3000), st.sampled_from([1, 3, 4]), st.sampled_from([np.uint8, np.uint16]),
       st.sampled_from([CRNN_INPUT, BGR48]))
def test_prepare_line_any_shape(h, w, channels, dtype, spec):
    shape = (h, w) if channels == 1 else (h, w, channels)
    img = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    line = prepare_line(img, spec)
    assert line.shape[:2][0] == spec.height and spec.min_width <= line.shape[1] <= spec.max_width
    assert line.shape[1] % spec.width_stride == 0 and line.ndim == (2 if spec.channels == 1 else 3)
    batch = make_batch([line, line[:, : max(spec.width_stride, line.shape[1] // 2)]], spec)
    assert batch.shape == (2, spec.channels, spec.height, line.shape[1]) and -1.0 <= batch.min() <= batch.max() <= 1.0


@FAST
@given(st.lists(st.integers(16, 2048), max_size=120), st.integers(1, 40), st.sampled_from([1.0, 1.25, 2.0, 1e9]))
def test_width_groups_partition_lines_into_bounded_batches(widths, max_batch, ratio):
    groups = width_groups(widths, max_batch, ratio)
    assert sorted(i for g in groups for i in g) == list(range(len(widths)))
    for g in groups:
        w = [widths[i] for i in g]
        assert 1 <= len(g) <= max_batch and w == sorted(w) and w[-1] <= ratio * w[0]
    # a batch is cut only where it must be: by count, or by the next line's width
    for a, b in zip(groups, groups[1:]):
        assert len(a) == max_batch or widths[b[0]] > ratio * widths[a[0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 60_000), st.booleans(), st.sampled_from(["auto", "line", "page"]))
def test_extreme_aspect_ratios_give_a_result(h, w, tall, mode):
    """Strips of any shape (1 x 60000 ...) in every mode: a result, never an exception."""
    img = np.full((w, h) if tall else (h, w), 255, np.uint8)
    img[::2, ::3] = 0
    res = _engine().run_bytes(encode(Image.fromarray(img), "PNG"), mode)
    assert (res.width, res.height) == (img.shape[1], img.shape[0])


_ENGINE = []


def _engine():
    if not _ENGINE:
        from slim_ocr.pipeline import OcrEngine
        _ENGINE.append(OcrEngine())
    return _ENGINE[0]


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
