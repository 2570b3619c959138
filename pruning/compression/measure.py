"""What the stages measure: cost (params, FLOPs), 1-thread latency, accuracy on the
held-out-font synthetic set and on the real-document set, and the rendered lines used for
calibration and data-driven importance. A model's input geometry comes from its contract
(``model.input_spec`` for PyTorch modules, the bundle's ``model.json`` for ONNX files)."""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from pruning.compression.artefacts import charset_path
from pruning.evaluation.cost import REF_WIDTH, latency_ms, onnx_params  # noqa: F401 (the stages' one import)
from pruning.evaluation.evalset import load_eval_set, score_by_language
from pruning.evaluation.metrics import accuracy, is_zh
from pruning.training.data import build_val_set
from pruning.training.model import CRNN, count_params
from pruning.training.render import LineRenderer
from pruning.training.textgen import TextSampler
from slim_ocr.charset import load_charset
from slim_ocr.preprocess import make_batch, prepare_line
from slim_ocr.recognizer import Recognizer


# ----------------------------------------------------------------------------- cost
def count_flops(model: nn.Module, w: int = REF_WIDTH) -> int:
    """FLOPs (2 x multiply-accumulates) of conv, linear and LSTM matmuls for one reference line
    (``model.input_spec`` channels and height, width ``w``); BatchNorm/activations/elementwise
    are not counted. Hook-based, because torch.utils.flop_counter misses the CPU LSTM kernel
    (measured: it sees only the head)."""
    spec = model.input_spec
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
            model(torch.zeros(1, spec.channels, spec.height, w))
    finally:
        for hk in hooks:
            hk.remove()
        model.train(was)
    return total[0]


def model_cost(model: nn.Module) -> dict:
    return {"params": count_params(model), "flops": count_flops(model)}


# ----------------------------------------------------------------------------- latency
def torch_latency_ms(model: nn.Module, runs: int = 20, width: int = REF_WIDTH) -> float:
    """Median ms of one reference line on one thread (whatever the torch thread setting is)."""
    spec = model.input_spec
    x = torch.zeros(1, spec.channels, spec.height, width)
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
def charset(cfg):
    """The base's charset: what every model of the run encodes and decodes with."""
    return load_charset_file(charset_path(cfg))


@lru_cache(maxsize=None)
def load_charset_file(path):
    return load_charset(str(path))


def val_set(cfg, augment: bool = True, spec=None) -> dict:
    """The trainer's held-out-font synthetic set (same cache files): augmented, or clean renders."""
    return build_val_set(charset(cfg), cfg.eval.val_size, cfg.run.val_dir, augment=augment,
                         spec=spec or CRNN.input_spec)


def render_lines(cfg, n: int, seed: int, spec, held_out: bool = False, max_units: float = 20.0):
    """Freshly rendered training-font lines (never the val set): calibration / importance."""
    rng = np.random.default_rng(seed)
    sampler, renderer = TextSampler(charset(cfg)), LineRenderer(held_out=held_out)
    texts = [sampler.sample(rng, rng.uniform(2, max_units)) for _ in range(n)]
    return [prepare_line(renderer.render(t, rng), spec) for t in texts], texts


_CALIB: dict = {}


def calib_images(cfg, n: int = 32, spec=None) -> torch.Tensor:
    """A fixed batch of rendered lines for data-driven importance (LSTM hidden units)."""
    spec = spec or CRNN.input_spec
    key = (n, cfg.run.seed, spec.model_dump_json())
    if key not in _CALIB:
        lines, _ = render_lines(cfg, n, seed=10_000 + cfg.run.seed, spec=spec)
        _CALIB[key] = torch.from_numpy(make_batch(lines, spec))
    return _CALIB[key]


# ----------------------------------------------------------------------------- accuracy
def load_real(cfg, limit: int | None = None):
    """Real-document records (pruning.evaluation.evalset), or None when absent."""
    if cfg.eval.no_real_eval:
        return None
    try:
        return load_eval_set(cfg.run.eval_root, variant=[v for v in cfg.eval.variants.split(",") if v],
                             limit=limit if limit is not None else cfg.eval.eval_limit)
    except (FileNotFoundError, OSError) as exc:
        print(f"real-document set unavailable ({exc}); using the held-out-font synthetic set only")
        return None


def score_synthetic_by_lang(preds, texts) -> dict:
    out = {"char_acc": {}, "line_acc": {}, "source": "synthetic-held-out-font"}
    for lang, pick in (("zh", True), ("en", False)):
        idx = [i for i, t in enumerate(texts) if is_zh(t) == pick]
        if idx:
            r = accuracy([preds[i] for i in idx], [texts[i] for i in idx])
            out["char_acc"][lang], out["line_acc"][lang] = r["char_acc"], r["line_acc"]
    return out


def onnx_accuracy(bundle, cfg, val: dict | None, real) -> dict:
    """Held-out-font synthetic accuracy and real-document per-language accuracy of a bundle,
    through the service's own recogniser."""
    rec = Recognizer(bundle, threads=1)
    res = {}
    if val is not None:
        lines, texts = val["lines"][:cfg.eval.val_lines], val["texts"][:cfg.eval.val_lines]
        preds = [t for t, _ in rec.recognize_prepared(lines)]
        res["synthetic"] = accuracy(preds, texts)
        synth_lang = score_synthetic_by_lang(preds, texts)
    if real:
        res["real"] = score_by_language(lambda ims: [t for t, _ in rec.recognize(ims)], real)
    elif val is not None:
        res["real"] = synth_lang
    return res
