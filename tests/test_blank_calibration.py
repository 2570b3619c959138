"""Blank calibration of a CTC student (pruning.compression.ppocr.blank) on a tiny random
PP-OCRv6-tiny-shaped model exported as a bundle: folding the offset into the classifier is the
same as lowering the blank at decoding, and the fit picks the offset whose readings score best.
No wheel, no page cache: a few seconds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pruning.compression.ppocr import blank
from tests.test_ppocr_compression import out, tiny_model, x_batch

pytest.importorskip("onnxruntime")
CHARS = list("abcdefghijklmnop中文 ")       # 19 classes + blank = the tiny model's 20


def bundle_of(model, dest):
    from pruning.pretrained.bundle import write_ppocr_bundle
    from pruning.pretrained.export import export_onnx
    onnx_path = export_onnx(model, dest.parent / f"{dest.name}.onnx", softmax=False)
    write_ppocr_bundle(dest, onnx_path, CHARS, name=dest.name, made_from="test", made_by=["test"], command="test",
                       activation="logits")
    return dest


def hesitant_model(blank_bias: float = 2.0):
    """The tiny model with a head that tells frames apart (a random head on random features reads
    one class everywhere) and a blank ``blank_bias`` above the rest: it lowers to other readings."""
    m = tiny_model()
    x = torch.cat([x_batch(seed=s, b=4, w=160) for s in range(3)])
    with torch.no_grad():
        h = m.fc1(m.features(x).squeeze(2).transpose(1, 2).reshape(-1, m.cfg.neck))
        w = torch.randn(m.fc2.weight.shape, generator=torch.Generator().manual_seed(0)) * 2 / h.std(0)
        m.fc2.weight.copy_(w)
        m.fc2.bias.copy_(-w @ h.mean(0))
        m.fc2.bias[0] += blank_bias
    return m


def images(n: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (48, int(rng.integers(48, 200)), 3), dtype=np.uint8) for _ in range(n)]


def readings(bundle, offset: float, imgs) -> list[str]:
    rec = blank.LoweredBlank(bundle, threads=1)
    rec.offset = offset
    return [t for t, _ in rec.recognize(imgs)]


def test_fold_lowers_the_blank_logit_only():
    m, x = tiny_model(), x_batch()
    ref = out(m, x)
    got = out(blank.fold(tiny_model(), 0.75), x)
    torch.testing.assert_close(got[..., 0], ref[..., 0] - 0.75)
    torch.testing.assert_close(got[..., 1:], ref[..., 1:])


def test_a_folded_bundle_reads_as_the_lowered_blank_and_the_fit_finds_its_offset(tmp_path):
    imgs = images()
    plain = bundle_of(hesitant_model(), tmp_path / "plain")
    folded = bundle_of(blank.fold(hesitant_model(), 1.0), tmp_path / "folded")
    assert readings(folded, 0.0, imgs) == readings(plain, 1.0, imgs)
    assert readings(plain, 0.0, imgs) != readings(plain, 3.0, imgs)

    grid = (0.0, 0.5, 1.0, 1.5, 2.0)
    target = readings(plain, 1.0, imgs)       # texts the plain model reads exactly at 1.0
    res = blank.fit(plain, imgs, target, grid=grid)
    first_exact = min(b for b in grid if readings(plain, b, imgs) == target)
    assert first_exact > 0 and res["offset"] == first_exact
    assert [r["offset"] for r in res["table"]] == list(grid)
    assert max(r["mean"] for r in res["table"]) == pytest.approx(1.0)


def test_score_by_script_weighs_hanzi_and_latin_lines_alike():
    res = blank.score_by_script(["中文", "abcd", "abcd"], ["中文", "abcx", "abcd"])
    assert res["hanzi"] == 1.0 and res["latin"] == pytest.approx(7 / 8)
    assert res["mean"] == pytest.approx((1.0 + 7 / 8) / 2)
