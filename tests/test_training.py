"""Renderer determinism, a tiny model overfitting, checkpoint resume, ONNX export."""

import numpy as np
import pytest
import torch

from pruning.training.data import collate
from pruning.evaluation.predict import predict_lines
from pruning.training.export_onnx import export
from pruning.training.model import CRNN, CRNNConfig
from pruning.training.render import LineRenderer
from pruning.training.train import Trainer, parse_args
from slim_ocr.charset import load_charset
from slim_ocr.preprocess import prepare_line

TINY = ["--width-mult", "0.25", "--lstm-hidden", "32", "--last-channels", "64", "--batch-size", "4",
        "--workers", "0", "--val-size", "4", "--real-val-limit", "0", "--val-every", "1000", "--threads", "1"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_renderer_is_deterministic():
    r = LineRenderer()
    a = r.render("发票 No.123", np.random.default_rng(7))
    b = r.render("发票 No.123", np.random.default_rng(7))
    c = r.render("发票 No.123", np.random.default_rng(8))
    assert a.dtype == np.uint8 and a.ndim == 2
    assert np.array_equal(a, b)
    assert not (a.shape == c.shape and np.array_equal(a, c))


def test_mixed_lines_set_latin_runs_in_a_latin_face():
    r = LineRenderer()
    text = "使用 Perl 提供的 script(1) 命令"
    cjk = next(f for f in r.cjk_fonts if set(text) - {" "} <= r.cover[f.name])
    splits = [r._runs(text, cjk, np.random.default_rng(seed)) for seed in range(20)]
    for runs in splits:
        assert "".join(t for t, _ in runs) == text  # the label never changes
        assert all(face.cjk for t, face in runs if any(ord(c) >= 0x250 for c in t))
    mixed = [runs for runs in splits if len(runs) > 1]
    assert mixed and len(mixed) < len(splits)  # both styles occur
    assert all(not face.cjk for runs in mixed for t, face in runs if t.strip() == "Perl")


def test_held_out_fonts_are_not_training_fonts():
    train, val = LineRenderer(held_out=False), LineRenderer(held_out=True)
    assert train.fonts and val.fonts
    assert not {f.family for f in train.fonts} & {f.family for f in val.fonts}


def test_breadth_fonts_keep_their_curated_styles_and_page_set_faces_stay_unseen():
    from pathlib import Path

    from pruning.training import fonts

    assert fonts._curated_out(Path("/usr/share/fonts/truetype/lato/Lato-Hairline.ttf"))
    assert not fonts._curated_out(Path("/usr/share/fonts/truetype/lato/Lato-Regular.ttf"))
    assert not fonts._curated_out(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-ExtraLight.ttf"))
    specs, _ = fonts.discover()
    for spec in specs:
        assert not fonts._curated_out(Path(spec.path)), spec
    # the page set's URW faces (bench/page_templates.py) are never training faces
    assert not [s.family for s in specs if s.family.startswith(("URW", "Nimbus", "C059", "P052", "D050000L"))]


@pytest.mark.slow
def test_tiny_model_overfits_a_few_lines(tmp_path):
    torch.manual_seed(0)
    cs = load_charset()
    texts = ["你好", "AB12", "发票"]
    r = LineRenderer(augment=False)
    font = next(f for f in r.cjk_fonts if f.name == "Noto Sans CJK SC Regular")
    lines = [prepare_line(r.render(t, np.random.default_rng(i), spec=font), CRNN.input_spec)
             for i, t in enumerate(texts)]
    batch = collate(lines, texts, cs, CRNN.input_spec)
    args = parse_args(["--run", str(tmp_path / "run"), "--lr", "5e-3", "--warmup-steps", "1", *TINY])
    trainer = Trainer(args, charset=cs)
    preds = []
    for step in range(600):
        trainer.train_step(batch)
        if step % 25 == 24:
            preds = predict_lines(trainer.model, lines, cs)
            if preds == texts:
                break
    assert preds == texts


def test_resume_gives_identical_next_step(tmp_path, tiny_corpus):
    run = tmp_path / "run"
    base = ["--run", str(run), "--val-dir", str(tmp_path), *TINY]
    Trainer(parse_args(base + ["--max-steps", "3"])).fit()     # trains 3 steps, saves last.pt
    assert (run / "last.pt").exists()

    # continue one step after resuming ...
    resumed = Trainer(parse_args(base + ["--max-steps", "4"]))
    assert resumed.step == 3
    resumed.fit()
    # ... versus an uninterrupted run of 4 steps
    straight = tmp_path / "straight"
    t = Trainer(parse_args(["--run", str(straight), "--val-dir", str(tmp_path), *TINY, "--max-steps", "4"]))
    t.fit()
    a, b = resumed.model.state_dict(), t.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_onnx_export_matches_pytorch(tmp_path):
    model = CRNN(CRNNConfig(width_mult=0.25, lstm_hidden=16, last_channels=32))
    stats = export(model, tmp_path / "m.onnx")
    assert stats["max_abs_diff"] < 1e-4


def test_extended_charset_extends_the_shipped_one():
    from pruning.training.build_charset import build
    base, ext = build(), build(extended=True)
    assert ext[:len(base)] == base and len(ext) == len(base) + 16 + 3008
    assert {"–", "•", "±", "⑳", "瞿"} <= set(ext) - set(base)   # 瞿: a GB2312 level-2 Hanzi


def test_grown_head_keeps_the_old_rows_and_reads_as_before():
    from pruning.training.checkpoint import grow_head
    torch.manual_seed(0)
    old = ["a", "b", "c", "中"]
    new = ["a", "b", "c", "中", "–", "国"]
    for rank in (None, 4):   # the dense head and the low-rank (pruned) one
        m = CRNN(CRNNConfig(num_classes=len(old) + 1, width_mult=0.25, lstm_hidden=16, last_channels=32)).eval()
        if rank:
            from pruning.compression.core.surgery import factorize_head
            factorize_head(m, rank)
        x = torch.randn(2, 1, 32, 64)
        ref = m(x)
        grow_head(m, old, new)
        out = m(x)
        assert out.shape[-1] == len(new) + 1 and m.cfg.num_classes == len(new) + 1
        assert torch.equal(out[..., :len(old) + 1], ref)             # blank + old classes: the same rows
        assert torch.equal(out.argmax(-1), ref.argmax(-1))           # the new classes start out unlikely
