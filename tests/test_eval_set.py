"""Evaluation set and bench: scorer, subsets, photo degradation, text-layer parsing,
our-model adapter. Fast, offline; needs neither data/eval nor the Debian documents."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

from bench import build_eval_set as bes
from pruning.evaluation.evalset import load_eval_set, metrics, score, split_subsets

SAMPLE_XHTML = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t</title></head>
<body>
<doc>
  <page width="595.280000" height="841.890000">
    <flow>
      <block xMin="56.693000" yMin="37.597611" xMax="147.728600" yMax="47.610024">
        <line xMin="56.693000" yMin="37.597611" xMax="147.728600" yMax="47.610024">
          <word xMin="56.693000" yMin="38.314918" xMax="85.464989" yMax="47.370922">Debian</word>
          <word xMin="87.953000" yMin="37.597611" xMax="147.728600" yMax="47.610024">新维护者手册</word>
        </line>
        <line xMin="56.693000" yMin="50.0" xMax="120.0" yMax="60.0">
          <word xMin="56.693000" yMin="50.0" xMax="90.0" yMax="60.0">a&amp;b</word>
          <word xMin="92.0" yMin="50.0" xMax="120.0" yMax="60.0">&lt;c&gt;</word>
        </line>
      </block>
    </flow>
  </page>
  <page width="612" height="792">
    <flow><block xMin="1" yMin="2" xMax="3" yMax="4"><line xMin="1" yMin="2" xMax="3" yMax="4">
      <word xMin="1" yMin="2" xMax="3" yMax="4">x</word></line></block></flow>
  </page>
</doc>
</body>
</html>
"""


def _records():
    rng = np.random.default_rng(0)
    recs = []
    texts = {"zh": ["你好世界", "中文 OCR 测试"], "en": ["hello world", "Debian policy"]}
    for lang in ("en", "zh"):  # deliberately not in subset order
        for variant in ("photo", "clean"):
            for t in texts[lang]:
                recs.append({"text": t, "lang": lang, "variant": variant,
                             "image": rng.integers(0, 255, (20, 60), dtype=np.uint8)})
    return recs


def test_perfect_predictor_scores_one_and_wrong_one_less():
    recs = _records()
    truth = {id(r["image"]): r["text"] for r in recs}
    res = score(lambda imgs: [truth[id(im)] for im in imgs], recs)
    assert set(res) == {"zh/clean", "zh/photo", "en/clean", "en/photo", "all"}
    for m in res.values():
        assert m["char_acc"] == 1.0 and m["line_acc"] == 1.0 and m["char_acc_nospace"] == 1.0
    wrong = score(lambda imgs: [truth[id(im)][:-1] + "#" for im in imgs], recs)
    for m in wrong.values():
        assert m["char_acc"] < 1.0 and m["line_acc"] == 0.0
    empty = score(lambda imgs: ["" for _ in imgs], recs)
    assert empty["all"]["char_acc"] == 0.0


def test_predictions_are_normalised_like_ground_truth():
    # full-width Latin and extra spaces fold to the charset form
    assert metrics(["ＯＣＲ  test "], ["OCR test"])["char_acc"] == 1.0
    # spaces count, except in the no-space variant
    m = metrics(["中文OCR"], ["中文 OCR"])
    assert m["char_acc"] < 1.0 and m["char_acc_nospace"] == 1.0


def test_subset_split_and_batching():
    recs = _records()
    groups = split_subsets(recs)
    assert list(groups) == ["zh/clean", "zh/photo", "en/clean", "en/photo"]
    assert sorted(i for v in groups.values() for i in v) == list(range(len(recs)))
    for key, idx in groups.items():
        lang, variant = key.split("/")
        assert all(recs[i]["lang"] == lang and recs[i]["variant"] == variant for i in idx)
    calls = []
    score(lambda imgs: calls.append(len(imgs)) or ["x"] * len(imgs), recs, batch_size=1)
    assert calls == [1] * len(recs)
    with pytest.raises(ValueError):
        score(lambda imgs: [], recs)


def test_load_eval_set_filters_and_limits(tmp_path):
    labels = []
    for i, (lang, variant) in enumerate([("zh", "clean"), ("zh", "clean"), ("zh", "photo"), ("en", "clean")]):
        rel = f"{variant}/{lang}/{i:05d}.png"
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / rel), np.full((16, 40, 3), 200, np.uint8))
        labels.append({"file": rel, "text": f"t{i}", "lang": lang, "variant": variant, "doc": "d", "dpi": 100})
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in labels) + "\n")
    assert len(load_eval_set(tmp_path)) == 4
    zh_clean = load_eval_set(tmp_path, variant="clean", lang="zh")
    assert [r["text"] for r in zh_clean] == ["t0", "t1"]
    assert zh_clean[0]["image"].shape == (16, 40, 3) and zh_clean[0]["image"].dtype == np.uint8
    assert len(load_eval_set(tmp_path, limit=1)) == 3
    with pytest.raises(FileNotFoundError):
        load_eval_set(tmp_path / "missing")


def test_photo_degradation_is_deterministic_per_seed():
    img = np.full((30, 200, 3), 245, np.uint8)
    cv2.putText(img, "Debian 12", (5, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    a, b = bes.degrade_photo(img, 123), bes.degrade_photo(img, 123)
    c = bes.degrade_photo(img, 124)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, img)
    # gray input works too, and text stays darker than paper
    g = bes.degrade_photo(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 5)
    assert g.shape == img.shape
    gray = cv2.cvtColor(g, cv2.COLOR_BGR2GRAY).astype(int)
    ink = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) < 128
    assert gray[ink].mean() < gray[~ink].mean() - 20


def test_pdftotext_bbox_parser():
    pages = bes.parse_bbox_xhtml(SAMPLE_XHTML)
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].width == pytest.approx(595.28)
    line = pages[0].lines[0]
    assert [w.text for w in line] == ["Debian", "新维护者手册"]
    assert line[1].x0 == pytest.approx(87.953) and line[1].y1 == pytest.approx(47.610024)
    assert [w.text for w in pages[0].lines[1]] == ["a&b", "<c>"]  # entities decoded
    assert pages[1].lines[0][0].text == "x"


def test_line_segments_cut_long_lines():
    words = [bes.Word(0, 0, 10, 10, "Debian")]
    x = 12.0
    cjk = "本教程文档已被重写为另外的维护者指导本教程文档已被重写为另外的维护者指导本教程文档已被重写"
    words.append(bes.Word(x, 0, x + 10 * len(cjk), 10, cjk))
    segs = bes.line_segments(words, seed=7)
    texts = [t for _, _, t in segs]
    assert all(1 <= len(t) <= bes.MAX_CHARS for t in texts)
    assert "".join(texts).replace(" ", "") == "Debian" + cjk
    for (x0, y0, x1, y1), room, _ in segs:
        assert x1 > x0 and (y0, y1) == (0, 10) and min(room) >= 0
    # a wide gap (table columns) is never bridged
    segs = bes.line_segments([bes.Word(0, 0, 20, 10, "left"), bes.Word(200, 0, 220, 10, "right")], seed=1)
    assert [t for _, _, t in segs] == ["left", "right"]


def test_text_filters():
    cs = bes.load_charset()
    assert bes.clean_text("Debian　新维护者手册", cs) == "Debian 新维护者手册"
    assert bes.clean_text("x", cs) is None                      # too short
    assert bes.clean_text("1.2.3", cs) is None                  # no letters
    assert bes.clean_text("Chapter 1 . . . . 5", cs) is None    # dot leaders
    assert bes.clean_text("\U00020000 rare", cs) is None        # outside the charset
    assert bes.classify("如何挑选 Debian") == "zh"
    assert bes.classify("对于笔记本，https://www.linux-on-laptops.com/") == "en"


def test_pixel_check():
    crop = np.full((24, 200, 3), 250, np.uint8)
    cv2.putText(crop, "Hello world text", (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    cols = np.flatnonzero((crop[:, :, 0] < 128).any(axis=0))
    box = (int(cols[0]), 3, int(cols[-1]) + 1, 21)
    assert bes.pixel_check(crop, box) is None
    assert bes.pixel_check(np.full((24, 200, 3), 250, np.uint8), box) == "ink-amount"
    longer = (box[0], 3, box[2] + 40, 21)  # the text layer claims more than the pixels show
    assert bes.pixel_check(np.pad(crop, ((0, 0), (0, 60), (0, 0)), constant_values=250), longer) == "ink-not-spanning-box"


def test_eval_documents_stay_out_of_the_training_corpus():
    bes.check_no_corpus_overlap()


def test_our_model_adapter_with_random_bundle(tmp_path):
    from bench.peers import OurModel, make_random_crnn_bundle, onnx_params
    from slim_ocr.recognizer import Recognizer
    bundle = make_random_crnn_bundle(tmp_path / "rand")
    imgs = [np.full((20, w, 3), 230, np.uint8) for w in (30, 90, 200)]
    for im in imgs:
        cv2.line(im, (2, 10), (im.shape[1] - 3, 10), (0, 0, 0), 2)
    ours = OurModel(bundle)
    out = ours.predict(imgs)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert out == [t for t, _ in Recognizer(bundle, threads=1).recognize(imgs)]  # the service path
    assert ours.name == "rand"
    assert ours.size_bytes() == (bundle / "model.onnx").stat().st_size
    assert ours.params() == onnx_params(bundle / "model.onnx") > 0


def test_run_bench_end_to_end_on_a_tiny_set(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("matplotlib")
    from bench import run_bench
    from bench.peers import make_random_crnn_bundle
    from slim_ocr.recognizer import Recognizer
    labels = []
    for i, (lang, variant) in enumerate([("zh", "clean"), ("zh", "photo"), ("en", "clean"), ("en", "photo")]):
        rel = f"{variant}/{lang}/{i:05d}.png"
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / rel), np.full((16, 60), 220, np.uint8))
        labels.append({"file": rel, "text": "ab", "lang": lang, "variant": variant, "doc": "d", "dpi": 100})
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in labels) + "\n")
    model = make_random_crnn_bundle(tmp_path / "m")
    (tmp_path / "models.json").write_text(json.dumps({"models": [{"name": "missing", "path": str(tmp_path / "nope")}]}))
    res = run_bench.main(["--eval-root", str(tmp_path), "--models", str(tmp_path / "models.json"),
                          "--model", f"rand={model}", "--peers", "", "--latency-lines", "2",
                          "--out", str(tmp_path / "results.json"), "--plot", str(tmp_path / "bench.png")])
    assert [s["name"] for s in res["systems"]] == ["rand"]
    assert any("missing" in n for n in res["notes"])
    sys_ = res["systems"][0]
    assert set(sys_["latency"]) == {"1", "2"} and sys_["latency"]["1"]["p50_ms"] > 0
    # the benchmark's score is the evaluation module's score of the service's own predictions
    rec = Recognizer(model, threads=1)
    recs = load_eval_set(tmp_path)
    want = metrics([t for t, _ in rec.recognize([r["image"] for r in recs])], [r["text"] for r in recs])
    assert sys_["accuracy"]["all"]["char_acc"] == pytest.approx(want["char_acc"])
    assert json.loads((tmp_path / "results.json").read_text())["systems"][0]["params"] > 0
    assert (tmp_path / "bench.png").stat().st_size > 0


# --------------------------------------------------------------------------- capture variant

def _text_page(lines=("Debian OCR 12345", "capture test line", "phone camera page"), size=(520, 420)):
    """A white page with black text lines; returns (page BGR, [line boxes in page px])."""
    w, h = size
    page = np.full((h, w, 3), 255, np.uint8)
    boxes = []
    for i, text in enumerate(lines):
        y = 90 + 70 * i
        cv2.putText(page, text, (60, y), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2, cv2.LINE_AA)
        ink = np.argwhere(page[y - 40:y + 15, :, 0] < 128)
        (r0, c0), (r1, c1) = ink.min(0), ink.max(0)
        boxes.append((float(c0), float(y - 40 + r0), float(c1 + 1), float(y - 40 + r1 + 1)))
    return page, boxes


def test_capture_is_deterministic_by_seed():
    from bench import capture
    page, boxes = _text_page()
    a, ga = capture.capture_page(page, 7, 22.0)
    b, gb = capture.capture_page(page, 7, 22.0)
    c, gc = capture.capture_page(page, 8, 22.0)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[:2] == ga.size[::-1]
    assert np.array_equal(a, b) and np.array_equal(ga.H, gb.H) and ga.params == gb.params
    assert not np.array_equal(ga.H, gc.H)
    ca, ia = capture.line_crop(a, ga, boxes[0], (20, 20), (30, 30), seed=3)
    cb, ib = capture.line_crop(a, ga, boxes[0], (20, 20), (30, 30), seed=3)
    assert np.array_equal(ca, cb) and ia == ib
    # the stated ranges hold
    p = ga.params
    assert 5 <= p["tilt_deg"] <= 25 and abs(p["roll_deg"]) <= 4 and 40 <= p["jpeg_q"] <= 85
    assert abs(ia["deskew_err_deg"]) <= capture.DESKEW_ERR_DEG


def test_capture_geometry_maps_boxes_onto_the_text():
    from bench import capture
    page, boxes = _text_page()
    for seed in (1, 2, 3):
        photo, geo = capture.capture_page(page, seed, 22.0)
        # page -> photo -> page round trip
        pts = np.array([[0, 0], [300, 200], [519, 419]], float)
        assert np.allclose(geo.to_page(geo.to_photo(pts)), pts, atol=1e-3)
        # the whole page is inside the frame
        corners = geo.to_photo([[0, 0], [519, 0], [519, 419], [0, 419]])
        assert (corners >= 0).all() and (corners[:, 0] < geo.size[0]).all() and (corners[:, 1] < geo.size[1]).all()
        gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(float)
        for i, box in enumerate(boxes):
            crop, info = capture.line_crop(photo, geo, box, (40, 40), (30, 30), seed=10 * seed + i)
            g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(float)
            # an empty stretch of paper of the same size, between two lines
            x0, y0, x1, y1 = box
            blank = (x0, y1 + 8, x1, y1 + 8 + 0.5 * (y1 - y0))
            q = geo.to_photo([[blank[0], blank[1]], [blank[2], blank[3]]]).round().astype(int)
            paper = gray[min(q[:, 1]):max(q[:, 1]) + 1, min(q[:, 0]):max(q[:, 0]) + 1]
            assert g.mean() < paper.mean() - 8, (seed, i)
            # the ink is in the text band, not at the crop's ends, and spans the crop
            dark = g < np.median(g) - 25
            cols = np.flatnonzero(dark.any(0))
            assert cols.size and cols[0] < 0.25 * g.shape[1] and cols[-1] > 0.75 * g.shape[1], (seed, i)
            assert 0.38 <= info["text_frac"] <= 1.0 and 8 <= info["line_px"] <= 40


def test_capture_bayer_pattern_matches_opencv_name():
    from bench import capture
    img = np.zeros((8, 8, 3), np.float32)
    img[:, :, 2] = 1.0                                    # red (BGR)
    mosaic = np.zeros((8, 8), np.float32)
    for sl, ch in capture._sites(mosaic):
        mosaic[sl] = img[sl + (ch,)]
    out = cv2.cvtColor((mosaic * 65472).astype(np.uint16), cv2.COLOR_BayerBG2BGR)
    assert out[4, 4, 2] > 60000 and out[4, 4, 0] == 0 and out[4, 4, 1] == 0


def test_neighbour_room():
    boxes = [(10, 10, 100, 20), (10, 26, 100, 36), (120, 26, 200, 36), (10, 50, 60, 60)]
    left, right, above, below = bes.neighbour_room(boxes, 1, (10, 26, 100, 36))
    assert (above, below, right) == (6, 14, 20) and left == 30  # nothing to the left: 3 line heights


def test_builder_writes_capture_records_for_a_tiny_page(tmp_path):
    page_img, boxes = _text_page()
    texts = ["Debian OCR 12345", "capture test line", "phone camera page"]
    dpi = 72  # page px == points
    page = bes.Page(1, page_img.shape[1], page_img.shape[0],
                    [[bes.Word(*b, t)] for b, t in zip(boxes, texts)])
    cands = [bes.Candidate("doc", "pdf", 1, i, b, (20.0, 20.0), t, "en") for i, (b, t) in enumerate(zip(boxes, texts))]
    photo, geo, crops = bes.capture_lines(page_img, dpi, page, cands, seed=5)
    assert len(crops) == 3 and photo.shape[:2] == geo.size[::-1]
    recs = []
    for i, (c, cap) in enumerate(zip(cands, crops)):
        x0, y0, x1, y1 = (int(v) for v in c.box)
        recs += bes.line_records(tmp_path, "en", i, c, page_img[y0 - 3:y1 + 3, x0 - 3:x1 + 3], dpi, cap, seed=5)
    assert [r["variant"] for r in recs[:3]] == ["clean", "photo", "capture"]
    capt = [r for r in recs if r["variant"] == "capture"]
    assert [r["text"] for r in capt] == texts and [r["file"] for r in capt] == [f"capture/en/{i:05d}.png" for i in range(3)]
    for r in recs:
        img = cv2.imread(str(tmp_path / r["file"]))
        assert img is not None and img.shape[0] >= 8
    assert set(capt[0]["capture"]) >= {"line_px", "text_frac", "tilt_deg", "jpeg_q"}
    clean = [r for r in recs if r["variant"] == "clean"][0]
    assert set(clean) == {"file", "text", "lang", "variant", "doc", "pdf", "page", "line", "dpi"}  # format unchanged
    # deterministic: the same page gives the same capture crops
    _, _, again = bes.capture_lines(page_img, dpi, page, cands, seed=5)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(crops, again))
