"""Line detection on document-like pages: count, reading order, deskew, and the text read from the crops."""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import HELD_OUT_FONT, assert_reads, render_page
from slim_ocr.detector import detect_lines
from slim_ocr.image_io import decode_image
from slim_ocr.recognizer import Recognizer


@pytest.fixture(scope="module")
def rec():
    return Recognizer("crnn", threads=1)


def read(rec, det) -> list[str]:
    return [t for t, _ in rec.recognize(det.crops())]

TEXT = ["第一行 First line", "第二行：金额 ¥1,234.56", "Third line of the page", "第四行 2026-11-24",
        "最后一行 last"]


@pytest.mark.parametrize("angle", [0.0, 2.5, -4.0, 5.0, -5.0])
def test_lines_found_in_reading_order(angle, rec):
    data, _ = render_page(TEXT, angle=angle)
    det = detect_lines(decode_image(data).gray)
    assert len(det.lines) == len(TEXT)
    centres = [np.mean([p[1] for p in det.quad(b)]) for b in det.lines]
    assert centres == sorted(centres)
    assert abs(det.angle + angle) < 0.8 or abs(det.angle - angle) < 0.8
    assert_reads(read(rec, det), TEXT, min_char_acc=0.9)


def test_two_columns_on_one_row_are_separate_boxes_left_to_right():
    data, _ = render_page(["名称 Name" + " " * 30 + "金额 Amount"], size=24)
    det = detect_lines(decode_image(data).gray)
    assert len(det.lines) == 2
    assert det.lines[0].x1 < det.lines[1].x0


def test_table_rules_do_not_merge_lines():
    data, im = render_page(TEXT[:3])
    a = np.array(im)
    a[:, 20:22] = 0                        # vertical rule
    for y in (30, 78, 128):                # horizontal rules between lines
        a[y:y + 2, :] = 0
    det = detect_lines(a)
    assert len(det.lines) == 3


def test_dark_background_page(rec):
    _, im = render_page(TEXT[:3])
    det = detect_lines(255 - np.array(im))
    assert len(det.lines) == 3
    assert_reads(read(rec, det), TEXT[:3], min_char_acc=0.9)


def test_blank_page_has_no_lines():
    assert detect_lines(np.full((300, 400), 255, np.uint8)).lines == []


# --- failures seen on the page-level evaluation (bench/page_eval.py) -------------------------

BODY = ["第一行 First line of the page", "第二行：金额 ¥1,234.56 total", "Third line of the page here",
        "第四行 2026-11-24 invoice", "第五行 fifth line", "最后一行 the last line"]


def _photo_of_page(im: Image.Image, angle: float, margin: int, seed: int = 0) -> np.ndarray:
    """The page rotated onto a dark textured table, under a light gradient, with noise."""
    rng = np.random.default_rng(seed)
    page = np.array(im, np.float32)
    h, w = page.shape
    H, W = h + 2 * margin, w + 2 * margin
    canvas = 60 + rng.normal(0, 12, (H // 8 + 1, W // 8 + 1))
    canvas = np.kron(canvas, np.ones((8, 8)))[:H, :W].astype(np.float32)
    canvas[margin:margin + h, margin:margin + w] = 40 + 0.75 * page  # low contrast paper
    rot = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8)).rotate(angle, resample=Image.BICUBIC,
                                                                              fillcolor=60)
    out = np.array(rot, np.float32)
    out *= np.linspace(0.8, 1.1, W, dtype=np.float32)[None, :]      # uneven light
    out += rng.normal(0, 4, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("angle", [0.0, 2.0, -3.0])
def test_page_on_dark_background(angle, rec):
    # a dark table around the sheet made the border-median polarity test call the page
    # "light text on dark" and the sheet's edge filled every row, so XY-cut found no bands
    _, im = render_page(BODY, size=24)
    gray = _photo_of_page(im, angle, margin=60)
    det = detect_lines(gray)
    assert len(det.lines) == len(BODY)
    centres = [np.mean([p[1] for p in det.quad(b)]) for b in det.lines]
    assert centres == sorted(centres)
    assert_reads(read(rec, det), BODY, min_char_acc=0.8)


def test_uneven_light_on_full_frame_page_is_not_cropped():
    # a smooth light gradient across a page that fills the frame is no sheet edge
    _, im = render_page(BODY, size=24)
    a = np.array(im, np.float32)
    h, w = a.shape
    a *= np.linspace(0.45, 1.0, h, dtype=np.float32)[:, None]
    det = detect_lines(np.clip(a, 0, 255).astype(np.uint8))
    assert len(det.lines) == len(BODY)


def test_table_row_with_two_line_cell_keeps_cells_apart():
    # the row's band is two lines tall, so a gap threshold from the band height (1.6x)
    # merged all cells; gaps are now measured against the band's character height
    f = ImageFont.truetype(HELD_OUT_FONT, 22)
    im = Image.new("L", (760, 200), 255)
    d = ImageDraw.Draw(im)
    d.text((30, 80), "pipewire-bin", font=f, fill=0)        # one-line cell, vertically centred
    d.text((260, 80), "V:251", font=f, fill=0)
    d.text((400, 60), "audio server and", font=f, fill=0)  # two-line cell
    d.text((400, 95), "CLI programs 程序", font=f, fill=0)
    det = detect_lines(np.array(im))
    boxes = sorted(det.lines, key=lambda b: b.x0)
    assert len(boxes) == 4
    assert boxes[0].x1 < boxes[1].x0 and boxes[1].x1 < min(b.x0 for b in boxes[2:])


def test_slightly_slanted_rules_are_removed():
    # rules a little off horizontal (photo, imperfect deskew) survived the 1-pixel-high
    # opening and came out as thin "lines"; short rule pieces too
    data, im = render_page(BODY[:3], size=24, margin=60)
    a = np.array(im)
    h, w = a.shape
    d = ImageDraw.Draw(im)
    y = 60 + int(24 * 1.8) - 12
    d.line([(10, y - 4), (w - 10, y + 4)], fill=0, width=2)          # ~0.6 degree slant
    d.line([(40, y + 43), (110, y + 43)], fill=0, width=2)          # short rule piece
    det = detect_lines(np.array(im))
    assert len(det.lines) == 3


def test_big_heading_is_not_cut_into_rows():
    # split_tall cut every box taller than 1.8x the median line into "touching lines",
    # so a heading in a big font came out as two half-height slices
    f_big, f_body = ImageFont.truetype(HELD_OUT_FONT, 52), ImageFont.truetype(HELD_OUT_FONT, 22)
    im = Image.new("L", (900, 260), 255)
    d = ImageDraw.Draw(im)
    d.text((40, 30), "Package name 软件包管理", font=f_big, fill=0)
    d.text((40, 130), "Body text of the section 正文", font=f_body, fill=0)
    d.text((40, 170), "Second body line 第二行", font=f_body, fill=0)
    det = detect_lines(np.array(im))
    assert len(det.lines) == 3
    assert det.lines[0].height > 1.8 * det.lines[1].height
