"""The page-level evaluation set (bench/page_set.py, bench/page_templates.py) and its benchmark's
metrics (bench/page_bench.py), on small self-made inputs (no data/ needed)."""
import json

import cv2
import numpy as np
import pytest

from bench import page_bench as pb
from bench import page_set as ps
from bench import page_templates as pt
from slim_ocr.charset import load_charset

# GB2312 level-1 Hanzi (all in the charset): the fake documents' text
HAN = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
       "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还")
EN_WORDS = ("package", "source", "binary", "maintainer", "upload", "archive", "policy", "version", "control", "field",
            "install", "script", "debian", "release", "changes", "library", "manual", "section", "priority", "build")


def _fake_docs(root, n_paras=40, n_heads=14, seed=0):
    """Minimal HTML documents in the evaluation packages' layout under root/pkg/<package>/."""
    rng = np.random.default_rng(seed)
    for pkg, pattern, lang in pt.TEXT_SOURCES:
        path = root / "pkg" / pkg / pattern.replace("*", "fake")
        path.parent.mkdir(parents=True, exist_ok=True)
        paras, heads = [], []
        for i in range(n_paras):
            if lang == "zh":
                s = "".join(HAN[int(k)] for k in rng.integers(0, len(HAN), int(rng.integers(8, 30))))
                paras.append(f"<p>{s}。{s[::-1][:10]}，{s[:6]}。</p>")
            else:
                w = [EN_WORDS[int(k)] for k in rng.integers(0, len(EN_WORDS), int(rng.integers(6, 14)))]
                paras.append(f"<p>{' '.join(w).capitalize()} number {i}. {' '.join(w[::-1]).capitalize()}.</p>")
        for i in range(n_heads):
            if lang == "zh":
                heads.append(f"<h2>{i + 1}.{i % 3 + 1}. " + "".join(HAN[int(k)] for k in rng.integers(0, len(HAN), 6)) + "</h2>")
            else:
                a, b = rng.integers(0, len(EN_WORDS), 2)
                heads.append(f"<h2>{i + 1}. {EN_WORDS[int(a)].title()} {EN_WORDS[int(b)]}</h2>")
        body = "".join(h + p for h, p in zip(heads + [""] * len(paras), paras))
        path.write_text(f'<html><head><title>t</title><style>p{{margin:0.4em 0}}</style></head><body>'
                        f'<ol><li><p>{HAN[:12]}</p></li><li>{HAN[12:20]}</li></ol>{body}</body></html>', encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def fake_src(tmp_path_factory):
    return _fake_docs(tmp_path_factory.mktemp("eval_src"))


@pytest.fixture(scope="module")
def texts(fake_src):
    return pt.EvalTexts(fake_src)


# --------------------------------------------------------------------------- determinism (no browser)

def test_texts_come_from_the_evaluation_packages_only(texts):
    from pruning.evaluation.reserved import EVAL_SET_PACKAGES
    assert all(pkg in EVAL_SET_PACKAGES for pkg, _, _ in pt.TEXT_SOURCES)
    assert len(texts.sentences["zh"]) >= 50 and len(texts.phrases["en"]) >= 10
    assert all(len(s) >= 6 for s in texts.sentences["zh"])
    assert not any(p[0].isdigit() for p in texts.phrases["zh"] + texts.phrases["en"])   # section numbers stripped


def test_ui_pages_are_deterministic_by_seed(texts):
    for name in pt.TEMPLATES:
        a, b = pt.ui_page(7, texts, name), pt.ui_page(7, texts, name)
        assert a.html == b.html and a.tags == b.tags and a.dpr == b.dpr
        assert pt.ui_page(8, texts, name).html != a.html
    # the theme argument changes only the theme: the rest of the page's stream is the same
    light, dark = pt.ui_page(3, texts, "chat", False), pt.ui_page(3, texts, "chat", True)
    assert "dark" in dark.tags and "dark" not in light.tags and light.style["cjk"] == dark.style["cjk"]


def test_doc_html_preparation_is_deterministic(fake_src):
    pkg, path = ps.doc_sources("zh", fake_src)[0]
    h1, s1 = ps.prepare_doc_html(path, np.random.default_rng(5), "zh")
    h2, s2 = ps.prepare_doc_html(path, np.random.default_rng(5), "zh")
    assert h1 == h2 and s1 == s2
    assert "<script" not in h1 and "1. " + HAN[:12] in h1   # list numbers became text


def test_window_edges_move_into_line_gaps():
    lines = [{"box": [0, y, 100, y + 20], "ink": [2, y + 3, 98, y + 17]} for y in (0, 30, 60, 90)]
    # a top edge inside the second line moves down to its bottom; a bottom edge inside the
    # fourth line moves up to that line's top
    assert ps.window_rows(lines, 200, 35, 95, doc_end=False) == (50, 90)
    assert ps.window_rows(lines, 110, 0, 500, doc_end=True) == (0, 110)
    assert ps.window_rows(lines, 200, 20, 80, doc_end=False) == (20, 80)   # already in gaps


def _toy_page():
    img = np.full((300, 400, 3), 250, np.uint8)
    lines = []
    for i, y in enumerate((40, 90, 140, 190, 240)):
        x1 = 360 - 30 * i
        cv2.rectangle(img, (40, y), (x1, y + 18), (20, 20, 20), -1)
        lines.append({"text": f"line {i}", "ink": [40.0, float(y), float(x1 + 1), float(y + 19)],
                      "box": [38.0, y - 4.0, x1 + 3.0, y + 23.0]})
    return img, {"kind": "ui", "lang": "en", "source": {}, "style": {}, "dpr": 1.0, "tags": ["ui"], "lines": lines}


def test_photo_variant_is_deterministic_and_maps_boxes():
    img, meta = _toy_page()
    p1, m1 = ps.photo_variant(img, meta, 11)
    p2, m2 = ps.photo_variant(img, meta, 11)
    assert np.array_equal(p1, p2) and m1 == m2
    assert not np.array_equal(ps.photo_variant(img, meta, 12)[0], p1)
    assert "photo" in m1["tags"] and m1["source_tags"] == ["ui"]
    gray = cv2.cvtColor(p1, cv2.COLOR_BGR2GRAY).astype(np.float32)
    paper = np.percentile(gray, 90)
    for ln in m1["lines"]:          # the mapped ink quad lies on the (dark) bar drawn for the line
        q = np.array(ln["ink_quad"], np.float32)
        assert cv2.pointPolygonTest(np.array(ln["quad"], np.float32), tuple(map(float, q.mean(0))), False) > 0
        mask = np.zeros(gray.shape, np.uint8)
        cv2.fillConvexPoly(mask, np.round(q).astype(np.int32), 1)
        inner = cv2.erode(mask, np.ones((3, 3), np.uint8))
        assert gray[inner > 0].mean() < 0.5 * paper
        ring = cv2.dilate(mask, np.ones((7, 7), np.uint8)) - cv2.dilate(mask, np.ones((3, 3), np.uint8))
        assert gray[ring > 0].mean() > gray[inner > 0].mean() + 40


# --------------------------------------------------------------------------- metrics

def _box(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_bag_of_characters_f1():
    norm = load_charset().normalize
    gt, pred = pb.bag(["ab c", "中文"], norm), pb.bag(["abc", "中又", "x"], norm)
    c = pb.bag_counts(pred, gt)
    assert c == {"bag_common": 4, "bag_pred": 6, "bag_gt": 5}
    p, r, f = pb.f1_of(4, 6, 5)
    assert (p, r) == pytest.approx((4 / 6, 4 / 5)) and f == pytest.approx(8 / 11)
    assert pb.f1_of(0, 0, 0) == (1.0, 1.0, 1.0) and pb.f1_of(0, 3, 0)[2] == 0.0
    assert pb.bag(["Ａ　Ｂ"], norm) == pb.bag(["AB"], norm)     # normalised (full-width folded), spaces ignored


def test_score_page_counts_lines_cer_and_dont_care():
    norm = load_charset().normalize
    gt = [{"text": "ab c", "box": [0, 0, 100, 20]}, {"text": "中文", "box": [0, 30, 100, 50]},
          {"text": "\U0001F600", "quad": _box(0, 60, 20, 80)}]          # not in the charset: don't care
    pred = [(_box(0, 0, 100, 20), "abc"), (_box(0, 40, 100, 60), "中又"), (_box(0, 60, 20, 80), "x")]
    row = pb.score_page(gt, pred, norm)
    # line 2's detection overlaps it by IoU 10/30 < 0.5; the detection on the emoji is dropped
    assert (row["n_gt"], row["n_det"], row["matched"]) == (2, 2, 1)
    assert (row["bag_common"], row["bag_pred"], row["bag_gt"]) == (4, 6, 5)
    # reading-order CER, spaces removed: "abc中又x" vs "abc中文" -> 1 substitution + 1 insertion
    assert (row["edits_nospace"], row["chars_nospace"]) == (2, 5)
    assert (row["edits"], row["chars"]) == (4, 7)      # with spaces: "abc 中又 x" vs "ab c 中文"
    # output order matters for CER but not for the bag
    swapped = pb.score_page(gt, pred[::-1], norm)
    assert swapped["bag_common"] == 4 and swapped["edits_nospace"] > 2
    s = pb.pool([{**row, "ms": 10.0, "cpu_ms": 9.0}, {**swapped, "ms": 30.0, "cpu_ms": 20.0}])
    assert s["recall"] == 0.5 and s["precision"] == 0.5 and s["f1"] == pytest.approx(8 / 11)
    assert s["cer"] == pytest.approx((2 + swapped["edits_nospace"]) / 10) and s["ms_p50"] == 20.0


def test_merge_of_disjoint_runs():
    row = {"page": "ui/000", "subset": "ui", "system": "ours", "tags": ["ui", "dashed"], "ms": 5.0, "cpu_ms": 5.0,
           **pb.score_page([{"text": "ab", "box": [0, 0, 10, 10]}], [(_box(0, 0, 10, 10), "ab")], load_charset().normalize)}
    a = {"systems": {"ours": "x"}, "command": "a", "pages": [row]}
    b = {"systems": {"ours": "x"}, "command": "b",
         "pages": [{**row, "page": "doc_zh/000", "subset": "doc_zh", "tags": ["doc"]}]}
    m = pb.merge([a, b])
    assert m["summary"]["all"]["ours"]["pages"] == 2 and m["summary"]["ui"]["ours"]["f1"] == 1.0
    assert m["by_tag"]["dashed"]["ours"]["pages"] == 1
    with pytest.raises(ValueError):
        pb.merge([a, a])


# --------------------------------------------------------------------------- Chromium: DOM boxes hold their text

def _cer(pairs):
    from rapidfuzz.distance import Levenshtein
    e = sum(Levenshtein.distance(p.replace(" ", ""), t.replace(" ", "")) for p, t in pairs)
    return e / max(1, sum(len(t.replace(" ", "")) for _, t in pairs))


@pytest.mark.browser
def test_rendered_pages_boxes_contain_their_text(fake_src, texts):
    if ps.chromium_missing_reason():
        pytest.skip(ps.chromium_missing_reason())
    from slim_ocr.recognizer import Recognizer
    norm = load_charset().normalize
    rec = Recognizer("crnn", threads=1)
    pkg, path = ps.doc_sources("zh", fake_src)[0]
    with ps.eval_chromium() as session:
        ui1, m1 = ps.render_ui_page(session, 4, "callouts", False, texts)
        ui2, m2 = ps.render_ui_page(session, 4, "callouts", False, texts)
        doc, md = ps.render_doc_page(session, pkg, path, 3, "zh", fake_src)   # a window at an offset
    assert np.array_equal(ui1, ui2) and m1 == m2                            # deterministic by seed
    json.dumps(m1, ensure_ascii=False)
    assert md["source"]["offset_css"] > 0 and 1000 - ps.SLACK <= doc.shape[0] <= 1600 + ps.SLACK
    for img, meta in ((ui1, m1), (doc, md)):
        assert len(meta["lines"]) >= 8
        h, w = img.shape[:2]
        pairs = []
        for ln in meta["lines"]:
            x0, y0, x1, y1 = ln["box"]           # the DOM box (the font's extent of the line)
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            i0, i1 = ln["ink"][1], ln["ink"][3]
            assert y0 - 1 <= i0 < i1 <= y1 + 1            # ink_box searches the pixel-rounded DOM box
            pad = 0.05 * (y1 - y0)
            crop = img[int(max(0, y0 - pad)):int(min(h, y1 + pad + 1)), int(max(0, x0 - pad)):int(min(w, x1 + pad + 1))]
            ref = norm(ln["text"])
            if ref:
                pairs.append((norm(rec.recognize([crop])[0][0]), ref))
        # no line cut at the window's edges: the first/last rows are free of line boxes
        assert min(ln["box"][1] for ln in meta["lines"]) >= 0 and max(ln["box"][3] for ln in meta["lines"]) <= h + 0.01
        assert _cer(pairs) < 0.05, (meta["source"], _cer(pairs), [p for p in pairs if p[0] != p[1]][:5])
