"""The data engine (pruning/dataengine): determinism, model contracts, camera homography, detector-like
crops, the reserved-source guard, fonts; with Chromium (``-m browser``): DOM line boxes against the
rendered glyphs, read back by the shipped model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pruning.dataengine import camera, crops
from pruning.dataengine.common import default_charset, guard_text_sources, label_of
from pruning.dataengine.html_pages import PAGE_VERSION, chromium_missing_reason, ink_box
from pruning.evaluation.metrics import accuracy
from pruning.evaluation.reserved import ReservedSourceError
from slim_ocr.contract import CRNN_INPUT, InputSpec

PPOCR_INPUT = InputSpec(channels=3, color="bgr", height=48, width_stride=8, min_width=16, max_width=2048,
                        mean=[0.5] * 3, std=[0.5] * 3, pad="zero")
NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
PAGE_LINES = ["发票号码：20241128", "今天天气很好，适合出门", "合计 ¥1,234.50", "Hello World 2024",
              "价格：128 元", "请在此处签字确认"]


def fake_page(cache_root, seed: int, lines=PAGE_LINES, size: int = 30, dy: float = 2.2) -> dict:
    """A cached page without Chromium: the lines drawn by Pillow, boxes as the DOM side stores them."""
    if not os.path.exists(NOTO):
        pytest.skip("Noto Sans CJK not installed (make setup-dev)")
    font = ImageFont.truetype(NOTO, size)
    W, H = 760, int(60 + dy * size * len(lines))
    img = Image.new("RGB", (W, H), (250, 250, 246))
    d = ImageDraw.Draw(img)
    asc, desc = font.getmetrics()
    metas = []
    for i, t in enumerate(lines):
        x, y = 40 + 10 * i, 30 + int(i * dy * size)
        d.text((x, y), t, font=font, fill=(20, 20, 30))
        metas.append({"text": t, "box": [x, y, x + font.getlength(t), y + asc + desc], "fs": size, "tag": "",
                      "chars": []})
    arr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    gray = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
    for m in metas:
        m["ink"] = ink_box(gray, m["box"])
    d = cache_root / PAGE_VERSION
    d.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(d / f"{seed:07d}.png"), arr)
    meta = {"seed": seed, "version": PAGE_VERSION, "template": "test", "surface": "paper", "width": W, "height": H,
            "dpr": 1, "style": {}, "lines": metas}
    (d / f"{seed:07d}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return meta


@pytest.fixture
def page_cache(tmp_path):
    root = tmp_path / "pages"
    fake_page(root, 0)
    fake_page(root, 1, lines=PAGE_LINES[::-1], size=24, dy=1.6)
    return root


def _engine(page_cache, seed=3, mix=None, **kw):
    from pruning.dataengine import DataEngine

    mix = mix or {"pillow": 1.0, "html": 1.0, "html_photo": 1.0, "html_clean": 0.5}
    return DataEngine(mix=mix, seed=seed, pages=[0, 1], cache_dir=page_cache, render_missing=False, pool=16, **kw)


def test_same_seed_same_lines(tiny_corpus, page_cache):
    a = list(_engine(page_cache).stream(24))
    b = list(_engine(page_cache).stream(24))
    c = list(_engine(page_cache, seed=4).stream(24))
    assert [t for _, t in a] == [t for _, t in b]
    assert all(x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3 and x.tobytes() == y.tobytes()
               for (x, _), (y, _) in zip(a, b))
    assert [t for _, t in a] != [t for _, t in c]
    cs = default_charset()
    assert all(t and cs.normalize(t) == t for _, t in a)  # labels are normalised


def test_one_engine_two_contracts(tiny_corpus, page_cache):
    eng = _engine(page_cache)
    for spec in (CRNN_INPUT, PPOCR_INPUT):
        for line, text in eng.lines(spec, n=12):
            assert line.dtype == np.uint8 and line.shape[0] == spec.height
            assert line.ndim == (2 if spec.channels == 1 else 3)
            assert line.shape[1] % spec.width_stride == 0 and text
        batch = next(eng.batches(spec, 4))
        assert batch["images"].dtype == np.float32
        assert batch["images"].shape[:3] == (4, spec.channels, spec.height)
        assert batch["images"].shape[3] % spec.width_stride == 0 and len(batch["texts"]) == 4


def test_torch_dataset_adapter(tiny_corpus, page_cache):
    pytest.importorskip("torch")
    from pruning.dataengine import EngineDataset

    ds = EngineDataset(PPOCR_INPUT, batch_size=3, seed=1, mix={"html_photo": 1.0}, pages=[0, 1],
                       cache_dir=page_cache, render_missing=False, pool=8)
    b = next(iter(ds))
    assert tuple(b["images"].shape[:3]) == (3, 3, 48) and len(b["texts"]) == 3
    assert (b["input_lengths"] == b["widths"] // 8).all()


def test_width_sorted_chunks_hold_the_same_lines_with_less_padding(tiny_corpus, page_cache):
    """``sort_chunk`` reorders the same drawn lines into batches of similar width."""
    def draw(sort_chunk):
        return list(_engine(page_cache).batches(PPOCR_INPUT, 4, n=8, rng=np.random.default_rng(5),
                                                sort_chunk=sort_chunk))

    plain, sorted_ = draw(1), draw(8)
    assert sorted(t for b in plain for t in b["texts"]) == sorted(t for b in sorted_ for t in b["texts"])

    def padding(bs):
        return sum(b["images"].shape[0] * b["images"].shape[3] - int(b["widths"].sum()) for b in bs)

    assert padding(sorted_) < padding(plain)
    for b in sorted_:
        assert b["images"].shape[3] >= b["widths"].max() and len(b["texts"]) == 4


def _dark_box_check(shot, box, page_shape):
    """The page's black rectangle lands inside the mapped quad: dark inside, light around it."""
    q = camera.map_points(shot.H, crops._quad(box))
    gray = cv2.cvtColor(shot.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    inner = np.zeros(gray.shape, np.uint8)
    c = q.mean(axis=0)
    cv2.fillConvexPoly(inner, np.round(c + (q - c) * 0.7).astype(np.int32), 1)
    ring = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(ring, np.round(c + (q - c) * 1.6).astype(np.int32), 1)
    cv2.fillConvexPoly(ring, np.round(c + (q - c) * 1.2).astype(np.int32), 0)
    assert inner.sum() > 20 and ring.sum() > 20
    assert gray[inner > 0].mean() + 60 < gray[ring > 0].mean(), shot.params


@pytest.mark.parametrize("seed", range(4))
def test_camera_homography_maps_boxes(seed):
    page = np.full((900, 700, 3), 245, np.uint8)
    box = (300.0, 400.0, 520.0, 460.0)
    cv2.rectangle(page, (300, 400), (519, 459), (10, 10, 10), -1)
    rng = np.random.default_rng(seed)
    for shot in (camera.photograph(page, rng, 1.0, "paper", font_px=40.0),
                 camera.photograph(page, rng, 1.0, "screen", font_px=30.0),
                 camera.screenshot(page, rng, 1.0, font_px=30.0)):
        assert shot.image.dtype == np.uint8 and shot.H.shape == (3, 3)
        _dark_box_check(shot, box, page.shape)


def test_camera_is_deterministic_and_strength_zero_is_mild():
    page = np.full((400, 500, 3), 250, np.uint8)
    cv2.putText(page, "ABC 123", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
    a = camera.photograph(page, np.random.default_rng(5), 1.0, "paper", 40)
    b = camera.photograph(page, np.random.default_rng(5), 1.0, "paper", 40)
    assert a.image.tobytes() == b.image.tobytes() and np.array_equal(a.H, b.H)
    z = camera.photograph(page, np.random.default_rng(5), 0.0, "paper", 40)
    assert z.params["rotation"] == 0 and z.params["keystone"] == [0, 0]
    A = z.H / z.H[2, 2]  # no perspective left: scale + translation only
    assert abs(A[2, :2]).max() < 1e-9 and abs(A[0, 1]) < 1e-9 and abs(A[1, 0]) < 1e-9


def test_detector_like_crops_are_read_by_the_shipped_model(page_cache):
    from slim_ocr.recognizer import Recognizer

    from pruning.dataengine.html_pages import PageCache

    img, meta = PageCache(page_cache).load(0)
    cs = default_charset()
    lines = [dict(ln, label=label_of(ln["text"], cs)) for ln in meta["lines"]]
    cut = crops.cut_lines(img, np.eye(3), lines, np.random.default_rng(0), jitter=0.0)
    assert len(cut) == len(lines)
    for c in cut:  # detector margins: 0.25 h left/right, 0.15 h top/bottom around the ink
        h = c.meta["h"]
        assert abs(c.image.shape[0] - 1.3 * h) <= 2.5 and c.meta["text_frac"] > 0.7
    got = [t for t, _ in Recognizer("crnn").recognize([c.image for c in cut])]
    acc = accuracy(got, [c.text for c in cut])
    assert acc["char_acc"] >= 0.9, list(zip(got, [c.text for c in cut]))


def test_loose_crops_and_jitter_keep_the_label_line_central(page_cache):
    from pruning.dataengine.html_pages import PageCache

    img, meta = PageCache(page_cache).load(1)
    lines = [dict(ln, label=ln["text"]) for ln in meta["lines"]]
    fracs = []
    for s in range(20):
        for c in crops.cut_lines(img, np.eye(3), lines, np.random.default_rng(s), jitter=1.0):
            fracs.append(c.meta["text_frac"])
            assert c.image.dtype == np.uint8 and c.image.shape[2] == 3
    fracs = np.array(fracs)
    assert fracs.min() >= 0.3 and (fracs < 0.6).mean() > 0.1 and (fracs > 0.7).mean() > 0.3


def test_smallprint_lines_are_small_soft_and_still_legible(tiny_corpus, page_cache):
    """The ``smallprint`` source: lines of the other sources reduced to 13-26 px (Hanzi lines
    >= 17), deterministic, and still read by the default model (its teacher, issue 15)."""
    from slim_ocr.recognizer import Recognizer

    from pruning.dataengine import smallprint

    eng = _engine(page_cache, mix={"html_clean": 1.0, "smallprint": 3.0})
    rng = np.random.default_rng(2)
    items = [eng.sample_from("smallprint", rng) for _ in range(24)]
    again = _engine(page_cache, mix={"html_clean": 1.0, "smallprint": 3.0})
    rng = np.random.default_rng(2)
    assert all(a.tobytes() == again.sample_from("smallprint", rng)[0].tobytes() for a, _ in items)
    for img, text in items:
        hanzi = any(ord(c) > 0x2E80 for c in text)
        assert img.dtype == np.uint8 and img.shape[2] == 3
        assert (smallprint.HANZI_MIN_PX - 1 if hanzi else smallprint.HEIGHT_PX[0] - 1) <= img.shape[0] <= 27
    got = [t for t, _ in Recognizer().recognize([img for img, _ in items])]
    assert accuracy(got, [t for _, t in items])["char_acc"] >= 0.8, list(zip(got, [t for _, t in items]))
    with pytest.raises(ValueError, match="smallprint"):
        _engine(page_cache, mix={"smallprint": 1.0})


def test_labels_the_charset_cannot_hold_are_skipped():
    cs = default_charset()
    assert label_of("Ａ１２　价格", cs) == "A12 价格"  # folded, kept
    assert label_of("● 价格", cs) == "● 价格"
    assert label_of("• 价格", cs) is None            # a glyph without a class: skip the line
    assert label_of("   ", cs) is None


def test_reserved_sources_are_refused(tmp_path):
    with pytest.raises(ReservedSourceError):
        guard_text_sources(["texlive-lang-chinese"], [])
    with pytest.raises(ReservedSourceError):
        guard_text_sources(["maint-guide-zh-cn"], [])
    with pytest.raises(ReservedSourceError):
        guard_text_sources([], ["/usr/share/doc/debian-reference-zh-cn/index.html"])
    from pruning.dataengine.texts import PageTexts

    bad = tmp_path / "git-doc" / "corpus"
    bad.mkdir(parents=True)
    (bad / "zh.txt").write_text("今天天气很好\n", encoding="utf-8")
    (bad / "en.txt").write_text("the quick brown fox\n", encoding="utf-8")
    with pytest.raises(ReservedSourceError):
        PageTexts(corpus_dir=bad)
    guard_text_sources(["manpages-zh", "gimp-help-zh-cn"], [tmp_path / "ok.txt"])  # allowed


def test_training_fonts_config_rejects_held_out_families(tmp_path):
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig tools missing")
    from pruning.dataengine.html_pages import CJK_FACES, LATIN_FACES, fontconfig_file, held_out_font_files
    from pruning.training.fonts import HELD_OUT_FAMILIES

    files = held_out_font_files()
    if not files:
        pytest.skip("no held-out font installed")
    conf = fontconfig_file(tmp_path)
    env = dict(os.environ, FONTCONFIG_FILE=str(conf))
    listed = subprocess.run(["fc-list", ":", "family"], env=env, capture_output=True, text=True).stdout
    assert not any(f in listed for f in HELD_OUT_FAMILIES)
    assert not any(f.startswith(HELD_OUT_FAMILIES) for f, _, _ in CJK_FACES)
    assert not any(f.startswith(HELD_OUT_FAMILIES) for f in LATIN_FACES)


def test_amount_in_words():
    from pruning.dataengine.texts import amount_in_words

    assert amount_in_words(1234.56) == "壹仟贰佰叁拾肆圆伍角陆分"
    assert amount_in_words(100) == "壹佰圆整"
    assert amount_in_words(10005.07) == "壹万零伍圆零柒分"


# ---- Chromium ---------------------------------------------------------------------------
def _need_chromium():
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get("REQUIRE_LAMBDA_TESTS") == "1":
            pytest.fail(f"{reason} (REQUIRE_LAMBDA_TESTS=1)")
        pytest.skip(reason)


TEST_PAGE_LINES = ["发票号码：20241128", "今天天气很好，适合出门", "合计 ¥1,234.50", "Hello World 2024",
                   "价格：128 元", "请在此处签字确认"]


@pytest.mark.browser
def test_dom_line_boxes_match_the_rendered_glyphs():
    _need_chromium()
    from slim_ocr.recognizer import Recognizer

    from pruning.dataengine.html_pages import ChromiumSession

    cells = "".join(f"<td>{t}</td>" for t in ["数量", "单价", "金额"])
    body = "".join(f'<p style="margin:0 0 26px">{t}</p>' for t in TEST_PAGE_LINES)
    html = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>body{margin:30px;'
            'font-family:"Noto Sans CJK SC";font-size:30px;color:#111;background:#fff} td{border:1px solid #888;'
            'padding:6px 28px}table{border-collapse:collapse}</style></head><body>'
            f'{body}<table><tr>{cells}</tr></table>'
            '<div style="display:inline-block;background:#95ec69;border-radius:10px;padding:8px 14px;margin-top:20px">'
            '你好，明天见</div></body></html>')
    with ChromiumSession() as s:
        img, info = s.render(html, 700, dpr=1.0)
        img2, info2 = s.render(html, 700, dpr=1.0)
    texts = [ln["text"] for ln in info["lines"]]
    assert texts == TEST_PAGE_LINES + ["数量", "单价", "金额", "你好，明天见"]
    assert info2["lines"] == info["lines"] and img.tobytes() == img2.tobytes()  # same page, same pixels
    cs = default_charset()
    lines = [dict(ln, label=label_of(ln["text"], cs)) for ln in info["lines"]]
    for ln in lines:  # the ink lies inside the DOM box
        x0, y0, x1, y1 = ln["box"]
        a0, b0, a1, b1 = ln["ink"]
        assert x0 - 2 <= a0 < a1 <= x1 + 2 and y0 - 1 <= b0 < b1 <= y1 + 1
    cut = crops.cut_lines(img, np.eye(3), lines, np.random.default_rng(0), jitter=0.0)
    got = [t for t, _ in Recognizer("crnn").recognize([c.image for c in cut])]
    acc = accuracy(got, [c.text for c in cut])
    assert 1 - acc["char_acc"] <= 0.1, list(zip(got, [c.text for c in cut]))


@pytest.mark.browser
def test_template_pages_render_into_the_cache(tmp_path, tiny_corpus):
    _need_chromium()
    from pruning.dataengine.html_pages import PageCache

    cache = PageCache(tmp_path)
    try:
        for seed in (0, 1):
            img, meta = cache.get(seed)
            assert cache.has(seed) and img.shape[:2] == (meta["height"], meta["width"])
            assert len(meta["lines"]) >= 3 and all(ln["text"].strip() for ln in meta["lines"])
        img2, meta2 = cache.load(1)
        assert meta2["lines"] == meta["lines"]
    finally:
        cache.close()
