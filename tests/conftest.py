import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "function"))

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
