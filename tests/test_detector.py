"""Line detection on document-like pages: count, reading order, deskew."""
import numpy as np
import pytest
from PIL import Image

from conftest import render_page
from slim_ocr.detector import detect_lines
from slim_ocr.image_io import decode_image

TEXT = ["第一行 First line", "第二行：金额 ¥1,234.56", "Third line of the page", "第四行 2026-11-24",
        "最后一行 last"]


@pytest.mark.parametrize("angle", [0.0, 2.5, -4.0])
def test_lines_found_in_reading_order(angle):
    data, _ = render_page(TEXT, angle=angle)
    det = detect_lines(decode_image(data).gray)
    assert len(det.lines) == len(TEXT)
    centres = [np.mean([p[1] for p in det.quad(b)]) for b in det.lines]
    assert centres == sorted(centres)
    assert abs(det.angle + angle) < 0.8 or abs(det.angle - angle) < 0.8


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


def test_dark_background_page():
    _, im = render_page(TEXT[:3])
    det = detect_lines(255 - np.array(im))
    assert len(det.lines) == 3


def test_blank_page_has_no_lines():
    assert detect_lines(np.full((300, 400), 255, np.uint8)).lines == []
