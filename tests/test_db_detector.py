"""The learned DB detector (slim_ocr.db_detector, the default) on pages of the kinds the classical
detector failed on (issue 17): tilt and perspective, uneven light around a photographed sheet,
dotted leaders and dashed rules, text in chat bubbles and dark cards, icons beside text. Each
page is drawn here; the test asserts the number of lines and the text read from them."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import HELD_OUT_FONT, assert_reads, encode, render_page
from slim_ocr.contract import ContractError
from slim_ocr.db_detector import DETECTORS_DIR, DEFAULT_DETECTOR, DBDetector, TextBox, order_quad, reading_order
from slim_ocr.pipeline import OcrEngine
from slim_ocr.recognizer import Recognizer

TEXT = ["第一行 First line", "第二行：金额 ¥1,234.56", "Third line of the page", "第四行 2026-11-24", "最后一行 last"]


@pytest.fixture(scope="module")
def engine():
    return OcrEngine(Recognizer("crnn", threads=1), detector="db")


def read(engine, data: bytes):
    res = engine.run_bytes(data, mode="page")
    assert res.detector == f"db:{DEFAULT_DETECTOR}"
    return [ln.text for ln in res.lines], res


def page_char_acc(got: list[str], want: list[str]) -> float:
    from rapidfuzz.distance import Levenshtein

    from slim_ocr.charset import load_charset
    norm = load_charset().normalize
    g, w = "".join(norm(t) for t in got), "".join(norm(t) for t in want)
    return 1 - Levenshtein.distance(g, w) / len(w)


def font(size):
    return ImageFont.truetype(HELD_OUT_FONT, size)


def test_bundle_contract_and_input_sizes():
    det = DBDetector(threads=1)
    spec = det.contract.input
    assert det.contract.provenance.licence.startswith("Apache-2.0") and spec.limit_type == "max"
    h, w = det.input_size(3000, 2000)                 # reduced: longer side at the limit, multiples of 32
    assert max(h, w) <= spec.limit_side and h % 32 == 0 and w % 32 == 0 and abs(h / w - 1.5) < 0.05
    assert det.input_size(100, 300) == (96, 288)      # never enlarged


def test_a_detector_contract_that_does_not_fit_its_onnx_file_fails_naming_it(tmp_path):
    src = DETECTORS_DIR / DEFAULT_DETECTOR
    shutil.copy(src / "model.json", tmp_path / "model.json")
    shutil.copy(DETECTORS_DIR.parent / "crnn" / "model.onnx", tmp_path / "model.onnx")   # a 1-channel recogniser
    with pytest.raises(ContractError, match=str(tmp_path / "model.onnx")):
        DBDetector(tmp_path)
    c = json.loads((src / "model.json").read_text())
    c["post"]["thresh"] = 2.0
    (tmp_path / "model.json").write_text(json.dumps(c))
    with pytest.raises(ContractError, match="model.json"):
        DBDetector(tmp_path)


def test_quad_order_and_reading_order():
    q = order_quad([[10, 30], [110, 32], [9, 10], [111, 12]])
    assert q.tolist() == [[9, 10], [111, 12], [110, 32], [10, 30]]

    def box(x, y):
        return TextBox(np.float32([[x, y], [x + 50, y], [x + 50, y + 20], [x, y + 20]]), 1.0)

    boxes = [box(200, 102), box(10, 100), box(10, 40), box(300, 41)]
    assert [(int(b.quad[0, 0]), int(b.quad[0, 1])) for b in reading_order(boxes)] == \
        [(10, 40), (300, 41), (10, 100), (200, 102)]


@pytest.mark.parametrize("angle", [0.0, 4.0, -6.0])
def test_tilted_pages(engine, angle):
    data, _ = render_page(TEXT, angle=angle)
    got, res = read(engine, data)
    assert_reads(got, TEXT, min_char_acc=0.85)
    assert all(len(ln.box) == 4 for ln in res.lines)


def photo(page: Image.Image, rng: np.random.Generator) -> bytes:
    """The page as a phone photo: perspective on a dark desk, light falling off across the sheet, blur, JPEG."""
    a = np.asarray(page.convert("RGB"), np.float32)
    h, w = a.shape[:2]
    out_w, out_h = int(w * 1.5), int(h * 1.5)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0.16 * out_w, 0.12 * out_h], [0.86 * out_w, 0.17 * out_h],
                      [0.83 * out_w, 0.85 * out_h], [0.13 * out_w, 0.80 * out_h]])
    m = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(a, m, (out_w, out_h), flags=cv2.INTER_CUBIC, borderValue=(60, 55, 50))
    yy, xx = np.mgrid[0:out_h, 0:out_w]
    light = 1.05 - 0.55 * (xx / out_w) * (0.6 + 0.4 * yy / out_h)           # a shadow over the right side
    img = cv2.GaussianBlur(img * light[..., None], (3, 3), 0.8) + rng.normal(0, 4, img.shape)
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    return buf.tobytes()


def test_photographed_sheet_with_uneven_light(engine):
    _, page = render_page(TEXT, size=30)
    got, _ = read(engine, photo(page, np.random.default_rng(1)))
    assert_reads(got, TEXT, min_char_acc=0.8)


def test_receipt_with_dotted_leaders_and_dashed_rules(engine):
    """Leaders and rules are not text: no line of dots or dashes comes back."""
    f = font(26)
    items = [("咖啡", "12.50"), ("三明治", "28.00"), ("Orange juice", "9.90"), ("合计", "50.40")]
    im = Image.new("L", (640, 60 + 64 * len(items) + 40), 255)
    d = ImageDraw.Draw(im)
    for i, (name, price) in enumerate(items):
        y = 40 + 64 * i
        d.text((30, y), name, font=f, fill=0)
        d.text((610 - f.getlength(price), y), price, font=f, fill=0)
        x0, x1 = 40 + f.getlength(name), 590 - f.getlength(price)
        for x in np.arange(x0, x1, 9):                          # dotted leader
            d.ellipse((x, y + 20, x + 2.5, y + 22.5), fill=0)
        if i == len(items) - 2:                                  # dashed rule above the total
            for x in range(30, 610, 14):
                d.line((x, y + 48, x + 7, y + 48), fill=0, width=2)
    got, _ = read(engine, encode(im))
    want = [t for pair in items for t in pair]
    assert len(got) == len(want) and not any(set(t) <= set(".·-_ ") for t in got), got
    assert page_char_acc(got, want) >= 0.9, got


def test_chat_bubbles_dark_cards_and_icons(engine):
    """Text inside rounded coloured bubbles and a dark card is read; the icons beside it are not."""
    f = font(24)
    im = Image.new("RGB", (720, 430), (238, 238, 238))
    d = ImageDraw.Draw(im)
    msgs = [("明天上午十点开会", (30, 30), (255, 255, 255), (20, 20, 20)),
            ("OK, see you there", (330, 110), (149, 236, 105), (20, 20, 20)),
            ("请带上季度报告", (30, 190), (255, 255, 255), (20, 20, 20))]
    for text, (x, y), bg, fg in msgs:
        w = f.getlength(text)
        d.rounded_rectangle((x, y, x + w + 36, y + 56), radius=14, fill=bg)
        d.text((x + 18, y + 14), text, font=f, fill=fg)
    d.rounded_rectangle((30, 280, 690, 400), radius=18, fill=(40, 44, 52))        # a dark card
    d.ellipse((52, 300, 84, 332), fill=(97, 175, 239))                              # icon: a dot
    d.polygon([(60, 350), (76, 382), (44, 382)], fill=(224, 108, 117))               # icon: a triangle
    d.text((110, 302), "余额 ¥3,280.00", font=f, fill=(230, 230, 230))
    d.text((110, 352), "Last update 09:41", font=f, fill=(171, 178, 191))
    got, _ = read(engine, encode(im))
    assert_reads(got, [m[0] for m in msgs] + ["余额 ¥3,280.00", "Last update 09:41"], min_char_acc=0.8)


def test_blank_and_tiny_images(engine):
    assert read(engine, encode(Image.new("L", (400, 300), 255)))[0] == []
    assert engine.db.detect(np.full((5, 5, 3), 255, np.uint8)) == []


@pytest.mark.parametrize("text,probs,want", [
    ("② 提示", [0.4, 0.9, 0.95, 0.9], "提示"), ("② 提示", [0.7, 0.9, 0.95, 0.9], "② 提示"),
    ("Q Search", [0.3] + [0.9] * 7, "Search"), ("Other >", [0.9] * 6 + [0.5], "Other"), ("O", [0.51], ""),
    ("是", [0.9], "是"), ("a b", [0.9, 0.9, 0.9], "a b"), ("a b", [0.2, 0.9, 0.2], ""), ("A 1", [0.9, 0.9, 0.3], "A"), ("ab", None, "ab"),
    ("abc", [0.1, 0.1], "abc")])
def test_an_unsure_lone_character_at_a_detected_lines_edge_is_an_icon(text, probs, want):
    from slim_ocr.pipeline import drop_unsure_edges
    assert drop_unsure_edges(text, probs) == want


def test_detected_lines_come_with_per_character_probabilities(engine):
    f = font(40)
    x0, y0, x1, y1 = f.getbbox("Slim OCR 中文 42")
    img = Image.new("RGB", (x1 - x0 + 16, y1 - y0 + 12), "white")        # a line crop, as detected
    ImageDraw.Draw(img).text((8 - x0, 6 - y0), "Slim OCR 中文 42", font=f, fill="black")
    (text, conf, probs), = engine.recognizer.recognize([np.asarray(img)[:, :, ::-1]], char_probs=True)
    assert text.replace(" ", "") == "SlimOCR中文42"
    assert len(probs) == len(text) and abs(float(np.mean(probs)) - conf) < 1e-6


@pytest.mark.parametrize("text,want", [
    ("Orange juice .........", "Orange juice"), ("......", ""), ("价格——————", "价格"), ("Loading...", "Loading..."),
    ("等等……", "等等……"), ("2026-12-01", "2026-12-01"), ("■ UTF-8", "UTF-8"), ("□ Search □", "Search"),
    ("〉", ""), ("(□", ""), ("¥", ""), ("第1项", "第1项"), ("A", "A"), ("Other 〉", "Other"), ("〉 设置", "设置"),
    ("〈注〉", "〈注〉"), ("一一一一", ""), ("一一对应", "一一对应")])
def test_leaders_icons_and_symbol_only_lines_are_cleaned_from_detected_lines(text, want):
    from slim_ocr.pipeline import clean_detected
    assert clean_detected(text) == want


@pytest.fixture(scope="module")
def heuristic_engine():
    """The engine without its orientation classifier: the page's own checks alone."""
    e = OcrEngine(Recognizer("crnn", threads=1), detector="db")
    e.classifier = None
    return e


def test_orientation_classifier_bundle_and_predictions():
    from slim_ocr.orientation_classifier import DEFAULT_CLASSIFIER, OrientationClassifier
    clf = OrientationClassifier(threads=1)
    assert clf.name == DEFAULT_CLASSIFIER and clf.contract.labels == [0, 90, 180, 270]
    assert clf.contract.provenance.licence.startswith("Apache-2.0") and clf.prepare(np.zeros((50, 900), np.uint8)).shape == (1, 3, 224, 224)
    page = np.array(render_page(TEXT * 3)[1].convert("RGB"))[:, :, ::-1]
    for k in range(4):
        degrees, confidence = clf.predict(np.ascontiguousarray(np.rot90(page, k)))
        assert degrees == (360 - 90 * k) % 360 and confidence >= clf.contract.min_confidence
        assert clf.turns(np.ascontiguousarray(np.rot90(page, k))) == (4 - k) % 4


@pytest.mark.parametrize("which", ["classifier", "heuristics"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_turned_pages_are_read_upright_with_boxes_on_the_image_as_sent(engine, heuristic_engine, which, k):
    """A page turned by 90/180/270 degrees is turned back (the response says by how much) and read;
    the boxes lie on the turned image, around the same lines as on the upright page -- with the
    orientation classifier, and by the page's own checks alone."""
    engine = engine if which == "classifier" else heuristic_engine
    _, im = render_page(TEXT)
    upright = np.array(im)
    turned = np.ascontiguousarray(np.rot90(upright, k))
    got, res = read(engine, encode(Image.fromarray(turned)))
    assert res.rotation == (360 - 90 * k) % 360
    assert_reads(got, TEXT, min_char_acc=0.85)
    ink = turned < 128
    for ln in res.lines:                          # each box covers ink of the turned page
        q = np.array(ln.box)
        x0, y0 = q.min(0).clip(0)
        x1, y1 = q.max(0)
        assert ink[y0:y1, x0:x1].mean() > 0.02


def test_upright_pages_are_not_turned(engine, heuristic_engine):
    for e in (engine, heuristic_engine):
        _, res = read(e, render_page(TEXT)[0])
        assert res.rotation == 0


def test_the_classifier_is_asked_only_when_the_page_does_not_read_upright(engine, monkeypatch):
    asked = []
    turns = engine.classifier.turns
    monkeypatch.setattr(engine.classifier, "turns", lambda page: asked.append(page.shape) or turns(page))
    _, im = render_page(TEXT)
    assert read(engine, encode(im))[1].rotation == 0 and asked == []
    turned = Image.fromarray(np.ascontiguousarray(np.rot90(np.array(im))))
    assert read(engine, encode(turned))[1].rotation == 270
    assert len(asked) == 1


def test_unturn_points_inverts_np_rot90():
    from slim_ocr.orientation import unturn_points
    h, w = 30, 50
    a = np.zeros((h, w), np.uint8)
    a[7, 11] = 1                                   # (x=11, y=7)
    for k in range(4):
        b = np.rot90(a, k)
        y, x = np.argwhere(b)[0]
        back = unturn_points(np.array([[x + 0.5, y + 0.5]]), k, w, h)[0]
        assert np.allclose(back, [11.5, 7.5])


@pytest.mark.parametrize("pad,angle", [(4, 0.0), (30, 0.0), (30, 3.0), (50, 5.0)])
def test_a_loosely_cropped_line_is_cut_to_its_text(engine, pad, angle):
    """mode=line on a crop with wide margins (and a slight tilt): read after tightening; as it
    was, the margins made the CRNN read garbage ("awsn aopn anxoox")."""
    f = font(26)
    text = "发票号码 20261201 金额 356.80 元"
    im = Image.new("L", (int(f.getlength(text)) + 2 * pad, 34 + 2 * pad), 255)
    ImageDraw.Draw(im).text((pad, pad), text, font=f, fill=0)
    im = im.rotate(angle, expand=False, fillcolor=255, resample=Image.BICUBIC)
    res = engine.run_bytes(encode(im), mode="line")
    assert res.detector is None and len(res.lines) == 1
    assert_reads([res.lines[0].text], [text], min_char_acc=0.9)


def _detector_with_probe(dest, probe: dict | None):
    """The shipped detector with another probe rule in its contract (``contract.DBProbe``; None: none)."""
    from slim_ocr.contract import DBProbe, DetectorContract

    src = DETECTORS_DIR / DEFAULT_DETECTOR
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "model.onnx", dest / "model.onnx")
    c = DetectorContract.load(src)
    c.model_copy(update={"probe": DBProbe(**probe) if probe else None}).save(dest)
    return DBDetector(dest, threads=1)


RULE = {"scale": 0.5, "min_box_px": 9.0, "min_text_px": 4}


def test_the_shipped_detector_probes_with_the_rule_chosen_on_training_pages():
    from pruning.pretrained.detectors import REGISTRY
    assert DBDetector(threads=1).contract.probe == REGISTRY[DEFAULT_DETECTOR].probe is not None


def test_a_page_of_large_text_is_detected_at_the_probes_scale(tmp_path, monkeypatch):
    """Large text: the probe's boxes stand (a quarter of the work) and are the lines read at full
    size; OCR_DB_PROBE=0 turns the probe off."""
    det = _detector_with_probe(tmp_path / "probe", RULE)
    _, im = render_page(TEXT, size=30)
    img = cv2.cvtColor(np.asarray(im), cv2.COLOR_GRAY2BGR)
    boxes, scale = det.detect_scaled(img)
    full, full_scale = _detector_with_probe(tmp_path / "none", None).detect_scaled(img)
    assert scale == 0.5 and full_scale == 1.0 and len(boxes) == len(full) == len(TEXT)
    for a, b in zip(boxes, full):       # the same lines, within a few pixels
        assert np.abs(a.quad - b.quad).max() < 8
    rec = Recognizer("crnn", threads=1)
    assert_reads([t for t, _ in rec.recognize([det.crop(img, b) for b in boxes])], TEXT)
    monkeypatch.setenv("OCR_DB_PROBE", "0")
    engine = OcrEngine(Recognizer("crnn", threads=1), detector="db", db_model=str(tmp_path / "probe"))
    assert engine.db.detect_scaled(img)[1] == 1.0


def test_small_text_the_probe_cannot_see_sends_the_page_to_full_size(tmp_path):
    """Large lines and one small one: at half scale the small line is gone from the probability
    map, but its edges are outside the probe's boxes, so the page is detected at full size."""
    det = _detector_with_probe(tmp_path, RULE)
    im = Image.new("L", (760, 330), 255)
    d = ImageDraw.Draw(im)
    for i, t in enumerate(TEXT[:3]):
        d.text((40, 30 + 62 * i), t, font=font(34), fill=0)
    small = "备注：小字说明 small print 2026"
    d.text((40, 250), small, font=font(6), fill=0)
    img = cv2.cvtColor(np.asarray(im), cv2.COLOR_GRAY2BGR)
    h, w = img.shape[:2]
    seen = det.boxes_at(det.resized(img, 0.5), w, h)
    assert len(seen) == 3                                   # the probe alone misses the small line
    boxes, scale = det.detect_scaled(img)
    assert scale == 1.0 and len(boxes) == 4
    assert boxes[-1].quad[:, 1].mean() > 240                # the small line, found at full size
