"""Compression of the PP-OCRv6-tiny family (pruning.compression.ppocr) on a tiny random
``PPOCRv6TinyRec``: channel groups, surgery, mean compensation, low-rank head, height 32,
ONNX export of a pruned module. No wheel, no fonts: a few seconds in all."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pruning.compression.ppocr import head, height, importance
from pruning.compression.ppocr.distill import adapt_bn, kd_loss_btc
from pruning.compression.ppocr.groups import by_name, channel_groups, config_with_sizes, uncovered
from pruning.compression.ppocr.surgery import consumer_means, keep_all, prune
from pruning.pretrained.ppocrv6_tiny import BlockConfig, PPOCRv6TinyRec, TinyRecConfig

torch.set_num_threads(1)


def tiny_config() -> TinyRecConfig:
    return TinyRecConfig(stem=(3, 8, 16), blocks=[
        BlockConfig(16, 16, 3, (1, 1), se=4, ffn=32),
        BlockConfig(16, 24, 3, (2, 1), ffn=32),
        BlockConfig(24, 24, 3, (1, 1), se=8, ffn=40),
        BlockConfig(24, 32, 3, (2, 1), ffn=48),
        BlockConfig(32, 32, 5, (1, 1), ffn=48),
    ], pool=(3, 2), neck_kernel=5, neck=24, hidden=12, num_classes=20)


def tiny_model(seed: int = 0) -> PPOCRv6TinyRec:
    torch.manual_seed(seed)
    m = PPOCRv6TinyRec(tiny_config())
    with torch.no_grad():   # non-trivial BatchNorms
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


def x_batch(seed: int = 1, b: int = 2, w: int = 96) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, (b, 3, 48, w)).astype(np.float32))


@torch.no_grad()
def out(m, x):
    return m.eval()(x)


def test_groups_cover_every_conv_and_linear():
    m = tiny_model()
    groups = channel_groups(m)
    names = [g.name for g in groups]
    assert len(names) == len(set(names))
    assert {"stem1", "chain.0", "chain.1", "chain.2", "neck", "hidden", "classes"} <= set(names)
    assert sum(n.endswith(".ffn") for n in names) == 5 and sum(n.endswith(".se") for n in names) == 2
    # every conv / linear weight has its output dim in exactly one group
    outs = {}
    for g in groups:
        for mem in g.members:
            if mem.dim == 0 and mem.tensor.endswith("weight") and ".bn." not in mem.tensor:
                outs.setdefault(mem.tensor, []).append(g.name)
    layers = [n + ".weight" for n, mod in m.named_modules() if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))]
    assert sorted(outs) == sorted(layers) and all(len(v) == 1 for v in outs.values())
    # what no group indexes: the image's 3 channels and the 1-wide input dim of depthwise convs
    left = uncovered(m, groups)
    assert ("stem1.conv.weight", 1, 3) in left
    assert all(size == 1 for t, d, size in left if t != "stem1.conv.weight"), left


def test_keep_everything_is_exact():
    m = tiny_model()
    p = prune(m, keep_all(m))
    assert p.cfg.to_dict() == m.cfg.to_dict()
    x = x_batch()
    assert torch.equal(out(p, x), out(m, x))


def test_dropping_dead_channels_is_exact():
    """Channels a zero BatchNorm gamma makes constant (beta folded by mean compensation, or
    gamma = beta = 0 where the reader has a spatial kernel / a residual), removed: same outputs."""
    m = tiny_model()
    g = by_name(channel_groups(m))
    drop = {"stem1": [1, 5], "chain.0": [3], "chain.1": [0, 7], "chain.2": [31], "blocks.0.ffn": [2, 9],
            "blocks.3.ffn": [0], "blocks.0.se": [1], "neck": [4, 5], "hidden": [6]}
    with torch.no_grad():
        mods = dict(m.named_modules())
        for name in ("stem1", "chain.0", "chain.1", "chain.2"):
            for bn in g[name].bns:
                mods[bn].weight[drop[name]] = 0.0
                mods[bn].bias[drop[name]] = 0.0
        m.blocks[0].ffn1.bn.weight[drop["blocks.0.ffn"]] = 0.0      # constant GELU(beta) -> ffn2's BN mean
        m.blocks[3].ffn1.bn.weight[drop["blocks.3.ffn"]] = 0.0
        m.neck2.bn.weight[drop["neck"]] = 0.0                       # constant hardswish(beta) -> fc1 bias
        m.blocks[0].se.reduce.weight[drop["blocks.0.se"]] = 0.0     # relu(-1) = 0
        m.blocks[0].se.reduce.bias[drop["blocks.0.se"]] = -1.0
        m.fc1.weight[drop["hidden"]] = 0.0                          # constant fc1 bias -> fc2 bias
    x = x_batch(w=128)
    means = consumer_means(m, [x_batch(seed=5, w=64)])
    keep = {k: [i for i in range(g[k].size) if i not in v] for k, v in drop.items()}
    p = prune(m, keep, means)
    assert p.cfg.stem[1] == 6 and p.cfg.blocks[0].cin == 15 and p.cfg.blocks[4].cout == 31
    assert p.cfg.blocks[0].se == 3 and p.cfg.neck == 22 and p.cfg.hidden == 11
    torch.testing.assert_close(out(p, x), out(m, x), atol=2e-5, rtol=1e-5)
    # without compensation the constant channels are not free
    q = prune(m, keep)
    assert (out(q, x) - out(m, x)).abs().max() > 1e-3


def test_prune_changes_real_shapes_and_rejects_bad_keeps():
    m = tiny_model()
    scores = importance.l1_scores(m)
    keep = importance.plan_keep(channel_groups(m), scores, {"chain": 0.5, "ffn": 0.5, "se": 0.5, "neck": 0.5},
                                multiple=4, minimum=4)
    p = prune(m, keep)
    assert p.cfg.blocks[1].cout == 12 and p.cfg.blocks[0].ffn == 16
    assert sum(t.numel() for t in p.parameters()) < sum(t.numel() for t in m.parameters())
    assert out(p, x_batch()).shape == (2, 12, 20)
    with pytest.raises(ValueError):
        prune(m, {"classes": [1, 2, 3]})       # the blank must stay
    with pytest.raises(KeyError):
        prune(m, {"nope": [0]})
    one = TinyRecConfig(stem=(3, 8, 16), blocks=[BlockConfig(16, 24, 3, (1, 1))], neck=8, hidden=4, num_classes=5)
    with pytest.raises(ValueError, match="residual"):   # 16 -> 16 would turn the block residual
        config_with_sizes(one, {"chain.1": 16})


def test_importance_criteria_shapes_and_taylor_nonzero():
    m = tiny_model()
    groups = channel_groups(m)
    x = x_batch(w=64)
    batch = {"images": x, "targets": torch.tensor([1, 2, 3, 4, 5]), "target_lengths": torch.tensor([3, 2]),
             "input_lengths": torch.tensor([8, 8])}
    tay = importance.taylor_scores(m, [batch], lambda mod, b: importance.ctc_loss_btc(mod(b["images"]), b), groups)
    for crit in (importance.l1_scores(m), importance.bn_gamma_scores(m), tay):
        assert set(crit) == {g.name for g in groups}
        assert all(crit[g.name].shape == (g.size,) for g in groups)
    assert all(float(tay[g.name].sum()) > 0 for g in groups)
    least = importance.least_important(groups, importance.l1_scores(m))
    assert least["classes"] != 0


def test_pruned_module_exports_to_onnx_with_dynamic_width(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from pruning.pretrained.export import export_onnx
    m = tiny_model()
    keep = importance.plan_keep(channel_groups(m), importance.l1_scores(m),
                                {"chain": 0.6, "ffn": 0.6, "stem1": 0.5, "neck": 0.6}, multiple=4, minimum=4)
    p = head.low_rank(prune(m, keep), 8)
    path = export_onnx(p, tmp_path / "p.onnx")
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    for w in (32, 136, 400):
        x = x_batch(seed=w, w=w)
        got = sess.run(None, {"images": x.numpy()})[0]
        want = torch.softmax(out(p, x), -1).numpy()
        assert got.shape == (2, w // 8, 20)
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("method", head.METHODS)
def test_low_rank_head_full_rank_is_exact(method):
    m = tiny_model()
    x = x_batch()
    feats = head.head_features(m, [x_batch(seed=3)])
    full = head.low_rank(m, m.cfg.hidden, method, feats)
    torch.testing.assert_close(out(full, x), out(m, x), atol=1e-4, rtol=1e-4)
    low = head.low_rank(m, 4, method, feats)
    assert low.cfg.hidden == 4 and low.fc2.weight.shape == (20, 4)
    assert head.head_params(24, 4, 20) == sum(t.numel() for t in (*low.fc1.parameters(), *low.fc2.parameters()))


def test_svd_data_beats_plain_svd_on_the_features_it_saw():
    m = tiny_model()
    xs = [x_batch(seed=s) for s in range(3)]
    feats = head.head_features(m, xs)
    ref = torch.cat([out(m, x) for x in xs])
    err = {meth: float((torch.cat([out(head.low_rank(m, 3, meth, feats), x) for x in xs]) - ref).pow(2).mean())
           for meth in head.METHODS}
    assert err["svd_data"] <= err["svd"] * 1.0001


def test_class_restriction_keeps_the_other_logits():
    m = tiny_model()
    chars = [chr(ord("a") + i) for i in range(19)]
    keep, new_chars = head.class_keep(chars, set("abcxyz") | set("k"))
    p = prune(m, {"classes": keep})
    x = x_batch()
    assert new_chars == list("abck") and p.cfg.num_classes == 5
    torch.testing.assert_close(out(p, x), out(m, x)[..., keep])
    assert len(head.gb2312_hanzi(1)) == 3755 and len(head.gb2312_hanzi(2)) == 3008


def test_height_32_keeps_frames():
    m = tiny_model()
    assert height.backbone_height(m.cfg, 48) == 3 and height.backbone_height(m.cfg, 32) == 2
    s = height.Squeezed(height.at_height(m, 32), 32)
    assert s.cfg.pool == (2, 2)
    x = x_batch(w=160)
    assert out(s, x).shape == out(m, x).shape == (2, 20, 20)
    with pytest.raises(ValueError):
        height.Squeezed(m, 32)


def test_adapt_bn_keeps_affine_and_kd_is_zero_on_itself():
    m = tiny_model()
    w = m.stem1.bn.weight.clone()
    adapt_bn(m, [x_batch(seed=9)])
    assert torch.equal(m.stem1.bn.weight, w) and not m.training
    logits = out(m, x_batch())
    assert float(kd_loss_btc(logits, logits, torch.tensor([12, 5]), 2.0)) == pytest.approx(0.0, abs=1e-6)


def test_fade_to_zero_then_cut_is_exact():
    """What ``distill.Fade`` scales to zero makes its channels contribute nothing, so the cut
    after the fade changes no output (every group kind, incl. head directions)."""
    from pruning.compression.ppocr.distill import Fade
    m = head.low_rank(tiny_model(), 12, "svd")            # rotated head at full rank
    removed = {"stem1": [0, 3], "chain.0": [2, 5], "chain.1": [1], "chain.2": [0, 9], "blocks.1.ffn": [4, 7],
               "blocks.4.ffn": [3], "blocks.2.se": [0, 2], "neck": [1], "hidden": [8, 9, 10, 11]}
    fade = Fade(removed, steps=3)
    with torch.no_grad():
        for t in range(1, 4):                             # the schedule distill applies
            f = 0.0 if t >= 3 else (1 - t / 3) / (1 - (t - 1) / 3)
            for p, idx in fade.tensors(m):
                p[idx] *= f
    x = x_batch(w=112)
    cut = prune(m, fade.keep(m))
    assert cut.cfg.hidden == 8 and cut.cfg.blocks[1].ffn == 30 and cut.cfg.blocks[2].se == 6
    torch.testing.assert_close(out(cut, x), out(m, x), atol=2e-5, rtol=1e-5)


def test_adapt_bn_after_recalibration_changes_nothing():
    """Population statistics, as ``recalibrate_bn`` measures them: on the same lines the
    function stays (train-mode batch statistics would not)."""
    from pruning.pretrained.mapping import recalibrate_bn
    m = tiny_model()
    xs = [x_batch(seed=s, w=w) for s, w in ((11, 64), (12, 160))]
    recalibrate_bn(m, m.slots(), xs)
    ref = out(m, x_batch())
    adapt_bn(m, xs)
    torch.testing.assert_close(out(m, x_batch()), ref, atol=1e-4, rtol=1e-4)


def test_learning_rate_warms_up_holds_then_decays():
    from pruning.compression.ppocr.distill import DistillConfig, learning_rate
    flat = DistillConfig(lr=1e-3, warmup=10)
    assert learning_rate(flat, 0) == pytest.approx(1e-4) and learning_rate(flat, 500) == pytest.approx(1e-3)
    cos = DistillConfig(lr=1e-3, warmup=10, max_steps=110, decay_from=10, lr_floor=0.1)
    lrs = [learning_rate(cos, s) for s in range(10, 111)]
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def _batches(start: int):
    """A deterministic batch stream for the tiny model (``lines.collate`` keys), from ``start``."""
    i = start
    while True:
        g = torch.Generator().manual_seed(i)
        yield {"images": torch.rand(2, 3, 48, 64, generator=g) * 2 - 1,
               "targets": torch.randint(1, 20, (6,), generator=g), "target_lengths": torch.tensor([3, 3]),
               "input_lengths": torch.tensor([8, 6]), "texts": ["", ""]}
        i += 1


def test_distill_on_a_stream_stops_at_the_deadline_and_resumes(tmp_path):
    """A run stopped by ``until`` checkpoints; a run stopped after 4 of 6 steps (past its fade
    cut) and resumed ends on exactly the weights of an uninterrupted run (same stream from the
    saved step)."""
    import dataclasses
    import time

    from pruning.compression.ppocr.distill import DistillConfig, Fade, distill

    cfg = DistillConfig(seconds=1e9, warmup=2, batch_size=2, max_steps=6, eval_every=10 ** 9)

    def go(out, cfg=cfg, until=None):
        return distill(tiny_model(1), tiny_model(), [], cfg, out, log=lambda _: None,
                       fade=Fade({"hidden": [10, 11]}, 3), stream=_batches, until=until)

    whole = go(tmp_path / "a")
    assert whole["done"] and whole["steps"] == 6 and whole["student"].cfg.hidden == 10
    stopped = go(tmp_path / "b", until=time.time() - 1)       # stops before its first step
    assert not stopped["done"] and stopped["steps"] == 0 and (tmp_path / "b" / "last.pt").exists()
    part = go(tmp_path / "b", cfg=dataclasses.replace(cfg, max_steps=4))
    assert part["steps"] == 4 and part["student"].cfg.hidden == 10
    resumed = go(tmp_path / "b")
    assert resumed["done"] and resumed["steps"] == 6
    x = x_batch(w=64)
    torch.testing.assert_close(out(resumed["student"], x), out(whole["student"], x))


def test_topk_kd_with_every_class_is_the_full_kd_and_its_stop_step_resumes(tmp_path):
    """``kd_loss_topk`` over all classes equals ``kd_loss_btc``; over the top few it is close and
    non-negative. A distillation whose batches carry a teacher's top-k trains without the
    PyTorch teacher, and ``stop_step`` stops it like a deadline."""
    from pruning.compression.ppocr.distill import DistillConfig, distill, kd_loss_topk
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(2, 7, 20, generator=g), 12 * torch.randn(2, 7, 20, generator=g)   # peaked, as OCR posteriors
    lengths = torch.tensor([7, 4])
    lp_t = torch.log_softmax(t, -1)
    full = kd_loss_btc(s, t, lengths, 2.0)
    idx = torch.arange(20).expand(2, 7, 20)
    torch.testing.assert_close(kd_loss_topk(s, idx, lp_t, lengths, 2.0), full)
    top = lp_t.topk(8, -1)
    assert float(kd_loss_topk(s, top.indices, top.values, lengths, 2.0)) == pytest.approx(float(full), rel=0.05)
    assert 0 <= float(kd_loss_topk(t, top.indices, top.values, lengths, 2.0)) < 0.01 * float(full)

    teacher = tiny_model()

    def with_teacher(start):
        for b in _batches(start):
            lp = torch.log_softmax(out(teacher, b["images"]), -1).topk(5, -1)
            yield {**b, "teacher_idx": lp.indices, "teacher_logp": lp.values}

    class NoTeacher(torch.nn.Module):      # the batches carry it: calling it would be a bug
        def forward(self, x):
            raise AssertionError("the teacher ran")

    cfg = DistillConfig(seconds=1e9, warmup=2, batch_size=2, max_steps=6, eval_every=10 ** 9, teacher="batches")
    part = distill(tiny_model(1), NoTeacher(), [], cfg, tmp_path, log=lambda _: None, stream=with_teacher, stop_step=3)
    assert not part["done"] and part["steps"] == 3
    done = distill(tiny_model(1), NoTeacher(), [], cfg, tmp_path, log=lambda _: None, stream=with_teacher)
    assert done["done"] and done["steps"] == 6


def test_teacher_classes_map_by_character_and_refuse_a_missing_one():
    from pruning.compression.ppocr.teachers import class_columns
    cols = class_columns(["a", "b", "A", "c", " "], ["c", "Ａ", "a", " "])   # full-width Ａ: the teacher's A
    assert cols.tolist() == [0, 4, 3, 1, 5]                                  # blank first
    with pytest.raises(ValueError):
        class_columns(["a"], ["z"])


def test_interim_student_is_the_checkpoint_of_the_round_in_progress(tmp_path):
    """``gradual.interim_student``: the previous round's (squeezed) student with the round's last
    checkpoint loaded, written as a student file with its step; refused mid-fade."""
    import json
    from dataclasses import asdict

    from pruning.compression.ppocr import gradual
    from pruning.compression.ppocr.distill import DistillConfig
    from pruning.compression.ppocr.students import Plan, load, save

    chars = [chr(ord("a") + i) for i in range(19)]
    prev = height.Squeezed(height.at_height(tiny_model(), 32), 32)
    (tmp_path / "squeeze").mkdir()
    save(prev, tmp_path / "squeeze" / "student.pt", chars, Plan("p", height=32))
    trained = height.Squeezed(height.at_height(tiny_model(5), 32), 32)
    rdir = tmp_path / "recover"
    rdir.mkdir()
    (rdir / "removed.json").write_text("{}")
    torch.save({"config": asdict(DistillConfig()), "student": trained.state_dict(), "opt": {},
                "state": {"step": 7, "lines": 224, "pruned": False}}, rdir / "last.pt")
    m, got_chars, meta = load(gradual.interim_student("recover", tmp_path))
    assert isinstance(m, height.Squeezed) and m.height == 32 and got_chars == chars
    assert meta["interim_step"] == 7 and meta["interim_lines"] == 224
    x = x_batch(w=96)
    torch.testing.assert_close(out(m, x), out(trained, x))
    (tmp_path / "backbone").mkdir()
    (tmp_path / "backbone" / "removed.json").write_text(json.dumps({"neck": [0, 1]}))
    torch.save({"config": {}, "student": {}, "state": {"step": 3, "lines": 96}}, tmp_path / "backbone" / "last.pt")
    (tmp_path / "head").mkdir()
    save(tiny_model(), tmp_path / "head" / "student.pt", chars, Plan("h"))
    with pytest.raises(SystemExit, match="fading"):
        gradual.interim_student("backbone", tmp_path)


def test_a_candidate_round_starts_from_the_campaigns_last_student(tmp_path, monkeypatch):
    """``gradual.CANDIDATES``: a round tried after the campaign lives in ``candidates/<name>``,
    starts from the last campaign round's student and is exported / checkpointed like a round."""
    from dataclasses import asdict

    from pruning.compression.ppocr import gradual
    from pruning.compression.ppocr.distill import DistillConfig
    from pruning.compression.ppocr.students import Plan, load, save

    monkeypatch.setitem(gradual.CANDIDATES, "t", gradual.Round("t", steps=9, lr=1e-5, mix="pillow=1"))
    i, r, rounds, rel = gradual.located("t")
    assert i == len(gradual.ROUNDS) and rounds[-1] is r and rounds[:-1] == gradual.ROUNDS
    assert rel.as_posix() == "candidates/t" and gradual.located(gradual.ROUNDS[-1].name)[2] == gradual.ROUNDS
    chars = [chr(ord("a") + k) for k in range(19)]
    last = gradual.ROUNDS[-1].name
    (tmp_path / last).mkdir()
    save(height.Squeezed(height.at_height(tiny_model(), 32), 32), tmp_path / last / "student.pt", chars,
         Plan("p", height=32))
    trained = height.Squeezed(height.at_height(tiny_model(6), 32), 32)
    (tmp_path / rel).mkdir(parents=True)
    (tmp_path / rel / "removed.json").write_text("{}")
    torch.save({"config": asdict(DistillConfig()), "student": trained.state_dict(), "opt": {},
                "state": {"step": 4, "lines": 128, "pruned": False}}, tmp_path / rel / "last.pt")
    m, got_chars, meta = load(gradual.interim_student("t", tmp_path))
    assert got_chars == chars and meta["interim_step"] == 4
    assert meta["plan"]["name"].endswith(f"_{last}_t")
    torch.testing.assert_close(out(m, x_batch(w=96)), out(trained, x_batch(w=96)))


def test_a_rounds_own_settings_reach_its_distillation():
    from pruning.compression.ppocr import gradual
    from pruning.compression.ppocr.distill import DistillConfig
    c = gradual.Campaign()
    plain = gradual.round_config(3, gradual.Round("r", steps=10), c)
    assert (plain.lr, plain.temperature, plain.seed, plain.max_steps) == (c.lr, DistillConfig().temperature, c.seed + 3, 10)
    own = gradual.round_config(5, gradual.Round("s", steps=7, decay=True, lr=1e-5, temperature=1.0), c)
    assert (own.lr, own.temperature, own.decay_from, own.seed) == (1e-5, 1.0, 1, c.seed + 5)
