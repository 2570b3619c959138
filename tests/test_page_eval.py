"""Metric code of bench/page_eval.py on tiny hand-made boxes (no data/eval_src needed)."""
import numpy as np
import pytest

from bench.page_eval import as_quad, match_iou, overlap_table, page_metrics, quad_inter, reading_order, summarize


def test_quad_intersection_of_boxes_and_rotated_quads():
    a, b = as_quad((0, 0, 10, 10)), as_quad((5, 5, 15, 15))
    assert quad_inter(a, b) == pytest.approx(25)
    assert quad_inter(a, as_quad((20, 20, 30, 30))) == 0
    # a quad given as 4 points, rotated 45 degrees around (5, 5): the square's inscribed part
    d = np.array([[5, -2.07], [12.07, 5], [5, 12.07], [-2.07, 5]], np.float32)
    assert 80 < quad_inter(a, d) <= 100


def test_iou_matching_is_one_to_one_and_thresholded():
    gt = [(0, 0, 100, 20), (0, 30, 100, 50)]
    det = [(0, 0, 100, 22), (2, 0, 100, 20), (0, 60, 100, 80)]   # two candidates for line 0, none for 1
    inter, ga, da = overlap_table(gt, det)
    pairs = match_iou(inter, ga, da)
    assert pairs == [(0, 1)]  # the better of the two, once
    assert match_iou(inter, ga, da, thr=0.99) == []


def test_perfect_detection():
    gt = [(10, 10, 200, 30), (10, 40, 180, 60), (10, 70, 150, 90)]
    m = page_metrics(gt, gt, reading_order(gt))
    assert (m["matched"], m["covered"], m["merged"], m["split"]) == (3, 3, 0, 0)
    assert m["order_ok"] == m["order_n"] == 2
    s = summarize([m])
    assert s["recall"] == s["precision"] == s["coverage"] == s["order_pairs"] == s["kendall_tau"] == 1.0


def test_merged_lines_counted_and_rows_told_apart():
    gt = [(10, 10, 100, 30), (120, 10, 200, 30),   # two cells of one row
          (10, 40, 200, 60), (10, 70, 200, 90)]    # two text lines
    det = [(5, 5, 205, 35),                          # both cells in one box: same-row merge
           (5, 37, 205, 93)]                         # two lines glued: a row merge
    m = page_metrics(gt, det)
    assert m["merged"] == 2 and m["merged_rows"] == 1
    assert m["matched"] == 0 and m["covered"] == 4   # every line is inside some box


def test_split_line_and_coverage():
    gt = [(0, 0, 300, 20)]
    det = [(0, 0, 140, 20), (160, 0, 300, 20)]
    m = page_metrics(gt, det)
    assert m["split"] == 1 and m["covered"] == 0 and m["matched"] == 0
    # a box that covers 80% of the line counts as coverage, not as a split
    m = page_metrics(gt, [(0, -2, 245, 22)])
    assert m["covered"] == 1 and m["split"] == 0


def test_reading_order_rows_then_left_to_right():
    boxes = [(300, 50, 400, 70),    # row 2, right cell
             (10, 10, 200, 30),     # row 1
             (10, 52, 120, 72),     # row 2, left cell (slightly lower, same row)
             (10, 90, 200, 110)]    # row 3
    assert reading_order(boxes) == [1, 2, 0, 3]


def test_order_agreement_detects_swaps():
    gt = [(0, 0, 100, 20), (0, 30, 100, 50), (0, 60, 100, 80)]
    det = [gt[1], gt[0], gt[2]]                      # first two lines output swapped
    m = page_metrics(gt, det, [0, 1, 2])
    assert m["order_n"] == 2 and m["order_ok"] == 1
    assert (m["tau_c"], m["tau_d"]) == (2, 1)


def test_empty_pages():
    assert page_metrics([], [(0, 0, 10, 10)])["n_det"] == 1
    m = page_metrics([(0, 0, 10, 10)], [])
    assert m["matched"] == 0 and m["n_gt"] == 1
    assert summarize([m])["recall"] == 0.0
