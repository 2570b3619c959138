"""Stage 1: per-layer sensitivity. Every prunable unit is pruned alone at each ratio
(conv groups by BN-gamma ranking, LSTM hidden units by importance, the head by SVD rank)
and evaluated, without fine-tuning, on a fixed subset of the held-out-font validation
set. Writes ``<out>/sensitivity.json`` (curves + per-layer limits) and
``<out>/sensitivity.png``; the limit of a layer is the largest ratio such that it and every
smaller ratio lose at most ``--max-drop`` char accuracy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from tqdm import tqdm

from pruning.compression import artefacts, measure
from pruning.compression.core.groups import HEAD_GROUP, LSTM_GROUP, group_sizes
from pruning.compression.core.surgery import apply_keep
from pruning.evaluation.predict import evaluate


@dataclass
class SensitivitySettings:
    ratios: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                                metadata={"help": "fractions pruned, comma-separated"})
    max_drop: float = field(default=0.05, metadata={
        "help": "per-layer limit: largest ratio whose char-accuracy drop (no fine-tuning) <= this"})
    lines: int = field(default=128, metadata={"help": "val lines per sensitivity point", "flag": "--sens-lines"})


def limits_from_curves(curves: dict, ratios: list[float], base_acc: float, max_drop: float) -> dict[str, float]:
    limits = {}
    for name, c in curves.items():
        lim = 0.0
        for r, acc in zip(ratios, c["char_acc"]):
            if base_acc - acc > max_drop:
                break
            lim = r
        limits[name] = lim
    return limits


def run(cfg) -> dict:
    t0 = time.time()
    base = artefacts.load_base(cfg)
    val = measure.val_set(cfg)
    lines, texts = val["lines"][:cfg.sensitivity.lines], val["texts"][:cfg.sensitivity.lines]
    cs = measure.charset(cfg)
    images = measure.calib_images(cfg)
    rs = cfg.sensitivity.ratios
    base_res = evaluate(base, lines, texts, cs)
    base_cost = measure.model_cost(base)
    sizes = group_sizes(base)
    curves = {}
    bar = tqdm(total=len(sizes) * len(rs), desc="sensitivity", mininterval=10)
    for name, n in sizes.items():
        kind = "lstm" if name == LSTM_GROUP else "head" if name == HEAD_GROUP else "conv"
        c = {"kind": kind, "size": n, "keep": [], "char_acc": [], "line_acc": [], "params": [], "flops": []}
        if kind != "conv":
            c["torch_latency_ms"] = []
        for r in rs:
            keep = max(1, int(round(n * (1 - r))))
            m = apply_keep(base, {name: keep}, images=images)
            res = evaluate(m, lines, texts, cs)
            cost = measure.model_cost(m)
            c["keep"].append(keep)
            c["char_acc"].append(res["char_acc"])
            c["line_acc"].append(res["line_acc"])
            c["params"].append(cost["params"])
            c["flops"].append(cost["flops"])
            if kind != "conv":
                c["torch_latency_ms"].append(measure.torch_latency_ms(m, runs=10))
            bar.update(1)
        curves[name] = c
    bar.close()
    limits = limits_from_curves(curves, rs, base_res["char_acc"], cfg.sensitivity.max_drop)
    out = {"base": {"char_acc": base_res["char_acc"], "line_acc": base_res["line_acc"], **base_cost,
                    "torch_latency_ms": measure.torch_latency_ms(base, runs=10)},
           "ratios": rs, "lines": len(lines), "max_drop": cfg.sensitivity.max_drop, "groups": curves, "limits": limits,
           "seconds": round(time.time() - t0, 1)}
    artefacts.write_json(cfg.run.out / "sensitivity.json", out)
    plot(out, cfg.run.out / "sensitivity.png")
    print(f"sensitivity: base char acc {base_res['char_acc']:.4f}; limits {limits}")
    return out


def plot(sens: dict, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rs = [0.0] + sens["ratios"]
    base = sens["base"]["char_acc"]
    fig, ax = plt.subplots(figsize=(10, 6))
    cmap = plt.get_cmap("tab20")
    for i, (name, c) in enumerate(sens["groups"].items()):
        style = "-" if c["kind"] == "conv" else "--"
        ax.plot(rs, [base] + c["char_acc"], style, marker="o", ms=3, color=cmap(i % 20), label=f"{name} ({c['size']})")
    ax.axhline(base - sens["max_drop"], color="k", lw=0.8, ls=":", label=f"base - {sens['max_drop']:g}")
    ax.set_xlabel("fraction pruned (alone, no fine-tuning)")
    ax.set_ylabel(f"char accuracy, {sens['lines']} held-out-font lines")
    ax.set_title("Per-layer pruning sensitivity")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
