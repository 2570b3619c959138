import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]


def lambda_makefile_list(var: str) -> list[str]:
    """The words of ``VAR ?= ...`` in function/Makefile (LAMBDA_BUNDLES, LAMBDA_DETECTORS, ...)."""
    import re
    return re.search(rf"^{var} \?= (.*)$", (REPO / "function" / "Makefile").read_text(), re.M).group(1).split()

# A font family the recogniser never trains on (pruning/fonts.py HELD_OUT_FAMILIES).
HELD_OUT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def render_page(lines, size=28, font=HELD_OUT_FONT, angle=0.0, fmt="PNG", spacing=1.8, margin=40):
    """A clean document-like image with one text line per entry; returns (bytes, PIL image)."""
    f = ImageFont.truetype(font, size)
    width = max(int(f.getlength(t)) for t in lines) + 2 * margin
    step = int(size * spacing)
    im = Image.new("L", (width, len(lines) * step + 2 * margin - (step - size)), 255)
    d = ImageDraw.Draw(im)
    for i, t in enumerate(lines):
        d.text((margin, margin + i * step), t, font=f, fill=0)
    if angle:
        im = im.rotate(angle, expand=True, fillcolor=255, resample=Image.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue(), im


# events/sample-page.png (infra/make_events.py: 3 lines at ~22 px): the default engine reads
# "Invoice No.2026-0117 发票号码" (0.98), "Total amount 总金额¥ 1,280.00", "Thankyou 谢谢惠顾"
# (spaces aside, every character); an earlier one read "lnvoice No.2026-017" (0.88).
SAMPLE_PAGE_MIN_CHAR_ACC = 0.85


def assert_reads(got: list[str], want: list[str], min_char_acc: float = 0.9):
    """The recognised lines are the expected ones, in order, each read with at least
    ``min_char_acc`` character accuracy (1 - CER, after the project's text normalisation)."""
    from rapidfuzz.distance import Levenshtein

    from slim_ocr.charset import load_charset

    norm = load_charset().normalize
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        g, w = norm(g), norm(w)
        acc = 1 - Levenshtein.distance(g, w) / max(1, len(w))
        assert acc >= min_char_acc, f"read {g!r} for {w!r} (char accuracy {acc:.2f} < {min_char_acc})"


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="session")
def client():
    from fastapi.testclient import TestClient

    import app as app_module

    return TestClient(app_module.app)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def torch_one_thread():
    """Training/pruning tests may share the CPU with a training run: no oversubscription."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny_corpus(tmp_path, monkeypatch):
    """A few corpus lines for the synthetic-line stream (pruning.training.textgen reads SLIM_OCR_CORPUS)."""
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "zh.txt").write_text("今天天气很好\n发票号码和金额\n这是一个测试\n", encoding="utf-8")
    (d / "en.txt").write_text("the quick brown fox\njumps over the lazy dog\n", encoding="utf-8")
    monkeypatch.setenv("SLIM_OCR_CORPUS", str(d))
    return d
