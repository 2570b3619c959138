"""Rendered text lines with known text, for checking imported recognisers (Pillow + a Debian CJK font)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# (path, face index) in order of preference; the ``.ttc`` index 2 is Noto Sans CJK SC.
CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
]

# Clean lines a good recogniser reads exactly (chosen so PP-OCRv6-tiny's original ONNX does).
SAMPLE_LINES = [
    "Slim OCR 2026",
    "你好世界",
    "深度学习模型压缩与剪枝",
    "The quick brown fox jumps over the lazy dog",
    "发票号码12345678金额3456.78元",
]


def find_cjk_font() -> tuple[str, int] | None:
    for path, index in CJK_FONTS:
        if Path(path).exists():
            return path, index
    return None


def render_line(text: str, size: int = 32, font: tuple[str, int] | None = None, margin: int = 6) -> np.ndarray:
    """Black text on white, tightly cropped with ``margin`` px: (H, W, 3) uint8 BGR."""
    font = font or find_cjk_font()
    if font is None:
        raise FileNotFoundError(f"no CJK font installed (tried {[p for p, _ in CJK_FONTS]}; "
                                "apt-get install fonts-noto-cjk)")
    f = ImageFont.truetype(font[0], size, index=font[1])
    x0, y0, x1, y1 = f.getbbox(text)
    im = Image.new("L", (x1 - x0 + 2 * margin, y1 - y0 + 2 * margin), 255)
    ImageDraw.Draw(im).text((margin - x0, margin - y0), text, font=f, fill=0)
    gray = np.asarray(im)
    return np.repeat(gray[:, :, None], 3, axis=2)
