"""Shared flags, artefact I/O, cost counting, latency and accuracy measurement."""
from __future__ import annotations

import argparse
import json
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import REPO
from ..data import build_val_set
from ..export_onnx import load_model
from ..metrics import accuracy
from ..model import CRNN, count_params
from ..train import save_atomic
from slim_ocr.charset import load_charset
from slim_ocr.preprocess import make_batch, prepare_line

CHARSET_PATH = REPO / "function" / "model" / "charset.txt"
LINE_H, LINE_W = 32, 320     # the reference line for FLOPs and latency


# ----------------------------------------------------------------------------- flags
def build_parser(doc: str | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = ap.add_argument_group("paths")
    a.add_argument("--base", default=str(REPO / "runs" / "base" / "best.pt"), help="base checkpoint (teacher)")
    a.add_argument("--out", default=str(REPO / "reports" / "pruning"), help="JSON, plots, ONNX models, report")
    a.add_argument("--work", default=str(REPO / "runs" / "prune"), help="PyTorch checkpoints of the stages")
    a.add_argument("--val-dir", default=str(REPO / "data"), help="where the held-out-font val set is cached")
    a.add_argument("--val-size", type=int, default=600, help="held-out-font synthetic set (cached npz)")
    a.add_argument("--eval-root", default=str(REPO / "data" / "eval"), help="real-document set (bench.eval_set)")
    a.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="torch threads for evaluation and fine-tuning (latencies are always timed on 1 thread)")
    e = ap.add_argument_group("evaluation")
    e.add_argument("--sens-lines", type=int, default=128, help="val lines per sensitivity point")
    e.add_argument("--val-lines", type=int, default=600, help="held-out-font val lines for final numbers")
    e.add_argument("--eval-limit", type=int, default=600,
                   help="real-document lines per lang/variant subset (600 = all; ~5 s per small model)")
    e.add_argument("--no-real-eval", action="store_true", help="skip the real-document set")
    e.add_argument("--latency-runs", type=int, default=200, help="timed runs per model (interleaved rounds)")
    s = ap.add_argument_group("sensitivity / plan")
    s.add_argument("--ratios", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8")
    s.add_argument("--max-drop", type=float, default=0.05,
                   help="per-layer limit: largest ratio whose char-accuracy drop (no fine-tuning) <= this")
    s.add_argument("--goal", choices=["flops", "params"], default="params")
    s.add_argument("--target", type=float, default=0.295, help="fraction of the base's --goal to keep")
    s.add_argument("--min-channels", type=int, default=8)
    s.add_argument("--multiple", type=int, default=8, help="round kept channels to a multiple of this")
    # The LSTM and the 3,941-class head hold ~3/4 of the base's parameters, so a params goal
    # needs them cut further than their no-fine-tune sensitivity limits (0.1 / 0.6) allow;
    # distillation recovers them (reports/pruning/report.md). Pass -1 for the sensitivity limit.
    s.add_argument("--lstm-ratio", type=float, default=0.42, help="LSTM hidden units to cut (-1: sensitivity limit)")
    s.add_argument("--head-ratio", type=float, default=0.57,
                   help="head rank to cut, relative to its input width after the hidden cut (-1: sensitivity limit)")
    d = ap.add_argument_group("distillation")
    d.add_argument("--schedule", choices=["oneshot", "iterative", "both"], default="oneshot",
                   help="'both' splits the budget and keeps the winner (oneshot won: schedule_comparison.json)")
    d.add_argument("--iter-steps", type=int, default=3, help="prune/fine-tune rounds of the iterative schedule")
    d.add_argument("--budget-min", type=float, default=float(os.environ.get("PRUNE_BUDGET", 10)),
                   help="fine-tuning minutes in all (env PRUNE_BUDGET); 'both' gives each schedule half")
    d.add_argument("--max-steps", type=int, default=0, help="cap on fine-tuning steps per schedule (0: none)")
    d.add_argument("--batch-size", type=int, default=16)
    d.add_argument("--lr", type=float, default=4e-4)
    d.add_argument("--kd-temp", type=float, default=2.0)
    d.add_argument("--kd-weight", type=float, default=1.0, help="weight of T^2 * KL(teacher || student)")
    d.add_argument("--workers", type=int, default=0, help="DataLoader workers rendering lines")
    d.add_argument("--seed", type=int, default=17)
    d.add_argument("--init-student", default=None,
                   help="one-shot: fine-tune this pruned checkpoint (e.g. models/pruned/student.pt, to go on "
                        "distilling a finished run) instead of the stage-3 model")
    d.add_argument("--ckpt-every", type=float, default=300,
                   help="seconds between resumable one-shot fine-tuning checkpoints")
    q = ap.add_argument_group("export / int8 / ship")
    q.add_argument("--calib-lines", type=int, default=64, help="rendered lines for static INT8 calibration")
    q.add_argument("--int8-tol", type=float, default=0.01, help="max char-accuracy loss INT8 vs fp32")
    q.add_argument("--gamma-before", default=None, help="checkpoint from before sparsity training (histogram)")
    q.add_argument("--ship", action="store_true", help="copy the winner to --ship-dir/model.onnx + model.json")
    q.add_argument("--ship-dir", default=str(REPO / "function" / "model"))
    return ap


def parse(argv=None, doc=None):
    args = build_parser(doc).parse_args(argv)
    setup(args)
    return args


def setup(args):
    torch.set_num_threads(args.threads)
    out_dir(args).mkdir(parents=True, exist_ok=True)
    work_dir(args).mkdir(parents=True, exist_ok=True)


def ratios(args) -> list[float]:
    return [float(x) for x in str(args.ratios).split(",") if x.strip()]


def out_dir(args) -> Path:
    return Path(args.out)


def work_dir(args) -> Path:
    return Path(args.work)


def read_json(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path} missing: run the previous stage first")
    return json.loads(path.read_text())


def write_json(path, obj):
    Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- models
def load_base(args) -> CRNN:
    return load_model(args.base)


def base_meta(args) -> dict:
    ck = torch.load(args.base, map_location="cpu", weights_only=False)
    a = ck.get("args") or {}
    samples = ck.get("samples")
    sp, start = a.get("sparsity"), a.get("sparsity_start")
    active = bool(sp and samples is not None and start is not None and samples >= start)
    return {"checkpoint": str(args.base), "samples": samples, "step": ck.get("step"),
            "train_hours": round((ck.get("train_seconds") or 0) / 3600, 2), "sparsity_l1": sp,
            "sparsity_start": start, "sparsity_active": active}


def save_model(model: nn.Module, path, meta: dict | None = None):
    save_atomic({"model": model, "config": model.cfg.to_dict(), **(meta or {})}, path)


def load_pruned(path) -> CRNN:
    return load_model(path)


# ----------------------------------------------------------------------------- cost
def count_flops(model: nn.Module, h: int = LINE_H, w: int = LINE_W) -> int:
    """FLOPs (2 x multiply-accumulates) of conv, linear and LSTM matmuls for one (1,1,h,w)
    line; BatchNorm/activations/elementwise are not counted. Hook-based, because
    torch.utils.flop_counter misses the CPU LSTM kernel (measured: it sees only the head)."""
    total = [0]

    def conv(m, i, o):
        kh, kw = m.kernel_size
        total[0] += 2 * o.numel() * (m.in_channels // m.groups) * kh * kw

    def lin(m, i, o):
        total[0] += 2 * (i[0].numel() // m.in_features) * m.in_features * m.out_features

    def lstm(m, i, o):
        T, B = i[0].shape[:2]
        dirs = 2 if m.bidirectional else 1
        for layer in range(m.num_layers):
            cin = m.input_size if layer == 0 else dirs * m.hidden_size
            total[0] += dirs * T * B * 2 * 4 * m.hidden_size * (cin + m.hidden_size)

    hooks = []
    for mod in model.modules():
        fn = conv if isinstance(mod, nn.Conv2d) else lin if isinstance(mod, nn.Linear) else \
            lstm if isinstance(mod, nn.LSTM) else None
        if fn:
            hooks.append(mod.register_forward_hook(fn))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, h, w))
    finally:
        for hk in hooks:
            hk.remove()
        model.train(was)
    return total[0]


def model_cost(model: nn.Module) -> dict:
    return {"params": count_params(model), "flops": count_flops(model)}


def onnx_params(path) -> int:
    import onnx
    m = onnx.load(str(path), load_external_data=False)
    return int(sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in m.graph.initializer))


def ort_session(path, threads: int = 1):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def latency_ms(paths: dict[str, Path], runs: int = 200, width: int = LINE_W, rounds: int = 10) -> dict[str, float]:
    """p50 ms per (1,1,32,width) line, ORT, 1 thread. Models are timed in interleaved rounds
    so that a background load affects them alike."""
    x = np.random.default_rng(0).uniform(-1, 1, (1, 1, LINE_H, width)).astype(np.float32)
    sess = {k: ort_session(p, 1) for k, p in paths.items()}
    for s in sess.values():
        for _ in range(3):
            s.run(None, {"images": x})
    times = {k: [] for k in paths}
    per = max(1, runs // rounds)
    for _ in range(rounds):
        for k, s in sess.items():
            for _ in range(per):
                t = time.perf_counter()
                s.run(None, {"images": x})
                times[k].append((time.perf_counter() - t) * 1e3)
    return {k: float(np.median(v)) for k, v in times.items()}


def torch_latency_ms(model: nn.Module, runs: int = 20, width: int = LINE_W) -> float:
    """Median ms of one 32 x ``width`` line on one thread (whatever ``--threads`` is)."""
    x = torch.zeros(1, 1, LINE_H, width)
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for _ in range(2):
                model(x)
            ts = []
            for _ in range(runs):
                t = time.perf_counter()
                model(x)
                ts.append((time.perf_counter() - t) * 1e3)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(ts))


# ----------------------------------------------------------------------------- data
@lru_cache(maxsize=None)
def charset():
    return load_charset(str(CHARSET_PATH))


def val_set(args, augment: bool = True) -> dict:
    """The trainer's held-out-font synthetic set (same cache files): augmented, or clean renders."""
    return build_val_set(charset(), args.val_size, args.val_dir, augment=augment)


def render_lines(n: int, seed: int, held_out: bool = False, max_units: float = 20.0):
    """Freshly rendered training-font lines (never the val set): calibration / importance."""
    from ..render import LineRenderer
    from ..textgen import TextSampler
    rng = np.random.default_rng(seed)
    sampler, renderer = TextSampler(charset()), LineRenderer(held_out=held_out)
    texts = [sampler.sample(rng, rng.uniform(2, max_units)) for _ in range(n)]
    return [prepare_line(renderer.render(t, rng)) for t in texts], texts


_CALIB: dict = {}


def calib_images(args, n: int = 32) -> torch.Tensor:
    """A fixed batch of rendered lines for data-driven importance (LSTM hidden units)."""
    key = (n, args.seed)
    if key not in _CALIB:
        lines, _ = render_lines(n, seed=10_000 + args.seed)
        _CALIB[key] = torch.from_numpy(make_batch(lines))
    return _CALIB[key]


def is_zh(text: str) -> bool:
    return any(ord(c) > 0x2E7F for c in text)


def load_real(args, limit: int | None = None):
    """Real-document records (bench.eval_set), or None when it is absent/not importable."""
    if getattr(args, "no_real_eval", False):
        return None
    try:
        from bench.eval_set import load_eval_set
        return load_eval_set(args.eval_root, limit=limit if limit is not None else args.eval_limit)
    except (ImportError, FileNotFoundError, OSError) as exc:
        print(f"real-document set unavailable ({exc}); using the held-out-font synthetic set only")
        return None


def recognizer(path):
    from slim_ocr.recognizer import Recognizer
    return Recognizer(path, charset_path=CHARSET_PATH, threads=1)


def score_real(predict, records) -> dict:
    """{"char_acc": {"zh", "en"}, "line_acc": {...}, "subsets": {...}} via bench.eval_set.score."""
    from bench.eval_set import metrics, score
    res, preds = score(predict, records, return_preds=True)
    out = {"char_acc": {}, "line_acc": {}, "subsets": res, "source": "real"}
    for lang in ("zh", "en"):
        idx = [i for i, r in enumerate(records) if r["lang"] == lang]
        if idx:
            agg = metrics([preds[i] for i in idx], [records[i]["text"] for i in idx])
            out["char_acc"][lang], out["line_acc"][lang] = agg["char_acc"], agg["line_acc"]
    return out


def score_synthetic_by_lang(preds, texts) -> dict:
    out = {"char_acc": {}, "line_acc": {}, "source": "synthetic-held-out-font"}
    for lang, pick in (("zh", True), ("en", False)):
        idx = [i for i, t in enumerate(texts) if is_zh(t) == pick]
        if idx:
            r = accuracy([preds[i] for i in idx], [texts[i] for i in idx])
            out["char_acc"][lang], out["line_acc"][lang] = r["char_acc"], r["line_acc"]
    return out


def onnx_accuracy(path, args, val: dict | None, real) -> dict:
    """Held-out-font synthetic accuracy and real-document per-language accuracy of an ONNX model."""
    rec = recognizer(path)
    res = {}
    if val is not None:
        lines, texts = val["lines"][:args.val_lines], val["texts"][:args.val_lines]
        preds = [t for t, _ in rec.recognize_prepared(lines)]
        res["synthetic"] = accuracy(preds, texts)
        synth_lang = score_synthetic_by_lang(preds, texts)
    if real:
        res["real"] = score_real(lambda ims: [t for t, _ in rec.recognize(ims)], real)
    elif val is not None:
        res["real"] = synth_lang
    return res
