"""Stage 7: the report -- every figure of the table measured here, in this run.

For the base fp32, pruned fp32 and pruned INT8 bundles: params (ONNX initializer
elements), FLOPs per reference line (hook counter on the PyTorch model; INT8 runs the same
ops), file size, ORT 1-thread p50 latency per reference line (interleaved), char / line
accuracy on the real-document set per language (held-out-font synthetic lines split by
script when that set is absent) and char accuracy on the held-out-font synthetic set.
Writes ``<out>/report.md``, ``report.json``, ``channels.png``, ``gammas.png`` (and keeps
``sensitivity.png``). Shipping is the next stage (``ship``), which reads ``report.json``.
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pruning.compression import artefacts, measure
from pruning.compression.core.groups import describe
from pruning.compression.stages.distill import FROM_ROUNDS, FROM_SURGERY

TARGETS = {"params_cut": 0.70, "flops_cut": 0.60, "file_ratio": 0.20, "speedup": 3.0, "char_acc_loss": 0.01}
NAMES = ("base_fp32", "pruned_fp32", "pruned_int8")


@dataclass
class ReportSettings:
    gamma_before: str | None = field(default=None, metadata={
        "help": "checkpoint from before sparsity training (BN-gamma histogram)"})
    plan_from: str | None = field(default=None, metadata={
        "help": "folder with the sensitivity.json / plan.json (and sensitivity.png) the student was pruned by "
                "(default: --out; an --init-student run names the run that first pruned it)"})


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime as ort
    return (f"{cpu}; {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; torch {torch.__version__}; onnxruntime {ort.__version__}")


def bn_gammas(model) -> np.ndarray:
    return torch.cat([m.weight.detach().abs().flatten() for m in model.modules()
                      if isinstance(m, torch.nn.BatchNorm2d)]).numpy()


def plot_channels(base_sizes: dict, pruned_sizes: dict, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(base_sizes)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.bar(x, [base_sizes[n] for n in names], color="#cccccc", label="base")
    ax.bar(x, [pruned_sizes.get(n, base_sizes[n]) for n in names], color="#1f77b4", width=0.6, label="kept")
    for i, n in enumerate(names):
        ax.text(i, pruned_sizes.get(n, base_sizes[n]), str(pruned_sizes.get(n, base_sizes[n])), ha="center",
                va="bottom", fontsize=7)
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("channels / hidden units / rank")
    ax.set_yscale("log")
    ax.set_title("Kept per layer (conv channel groups, LSTM hidden units, head rank)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gammas(series: dict[str, np.ndarray], path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    hi = max(float(v.max()) for v in series.values())
    bins = np.linspace(0, hi, 60)
    for label, v in series.items():
        ax.hist(v, bins=bins, alpha=0.5, label=f"{label} (n={len(v)})")
    ax.set_yscale("log")
    ax.set_xlabel("|BatchNorm gamma|")
    ax.set_ylabel("channels")
    ax.set_title("BN gamma distribution")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(x):
    return f"{100 * x:.1f}%"


def _acc(m, kind, lang):
    v = m.get(kind, {}).get(lang)
    return "–" if v is None else f"{100 * v:.1f}"


def run(cfg) -> dict:
    out = cfg.run.out
    paths = {name: artefacts.onnx_file(cfg, name) for name in NAMES}
    bundles = {name: p.parent for name, p in paths.items()}
    plan_dir = artefacts.repo_path(cfg.report.plan_from or out)
    sens = artefacts.read_json(plan_dir / "sensitivity.json")
    plan = artefacts.read_json(plan_dir / "plan.json")
    dist = artefacts.read_json(out / "distill.json")
    exp = artefacts.read_json(out / "export.json")
    quant = artefacts.read_json(out / "quant.json")
    base = artefacts.load_base(cfg)
    student = artefacts.load_pruned(cfg.run.work / "student.pt")
    flops = {"base_fp32": measure.count_flops(base), "pruned_fp32": measure.count_flops(student)}
    flops["pruned_int8"] = flops["pruned_fp32"]
    val = measure.val_set(cfg)
    val_clean = measure.val_set(cfg, augment=False)
    real = measure.load_real(cfg)
    lat = measure.latency_ms(bundles, runs=cfg.eval.latency_runs)
    models = {}
    for name, p in paths.items():
        acc = measure.onnx_accuracy(bundles[name], cfg, val, real)
        r = acc.get("real", {})
        models[name] = {"bundle": artefacts.rel(bundles[name]), "params": measure.onnx_params(p), "flops": flops[name],
                        "file_bytes": p.stat().st_size, "latency_ms_p50_1t": round(lat[name], 3),
                        "char_acc": r.get("char_acc", {}), "line_acc": r.get("line_acc", {}),
                        "accuracy_source": r.get("source"),
                        "synthetic_char_acc": acc.get("synthetic", {}).get("char_acc"),
                        "synthetic_line_acc": acc.get("synthetic", {}).get("line_acc"),
                        "synthetic_clean_char_acc": measure.onnx_accuracy(bundles[name], cfg, val_clean, None)["synthetic"]["char_acc"]}
        if r.get("subsets"):
            models[name]["real_subsets"] = {k: {kk: v[kk] for kk in ("char_acc", "line_acc", "n")}
                                            for k, v in r["subsets"].items()}
    shipped = "pruned_int8" if quant.get("ship_int8") else "pruned_fp32"
    b, s = models["base_fp32"], models[shipped]
    langs = sorted(set(b["char_acc"]) & set(s["char_acc"]))
    achieved = {"params_cut": 1 - s["params"] / b["params"], "flops_cut": 1 - s["flops"] / b["flops"],
                "file_ratio": s["file_bytes"] / b["file_bytes"],
                "speedup": b["latency_ms_p50_1t"] / max(1e-9, s["latency_ms_p50_1t"]),
                "char_acc_loss": {lang: b["char_acc"][lang] - s["char_acc"][lang] for lang in langs},
                "synthetic_char_acc_loss": (b["synthetic_char_acc"] or 0) - (s["synthetic_char_acc"] or 0)}
    met = {"params_cut": achieved["params_cut"] >= TARGETS["params_cut"],
           "flops_cut": achieved["flops_cut"] >= TARGETS["flops_cut"],
           "file_ratio": achieved["file_ratio"] <= TARGETS["file_ratio"],
           "speedup": achieved["speedup"] >= TARGETS["speedup"],
           "char_acc_loss": all(v <= TARGETS["char_acc_loss"] for v in achieved["char_acc_loss"].values())}
    meta = artefacts.base_meta(cfg)
    base_sizes, pruned_sizes = plan["base_sizes"], describe(student)
    plot_channels(base_sizes, pruned_sizes, out / "channels.png")
    gam = {}
    if cfg.report.gamma_before:
        gam["before sparsity training"] = bn_gammas(artefacts.load_pruned(cfg.report.gamma_before))
    l1 = "L1 active" if meta["sparsity_active"] else f"L1 not active yet (starts at {meta['sparsity_start']} samples)"
    gam[f"base, {meta['samples']} samples, {l1}"] = bn_gammas(base)
    gam["pruned + distilled (kept channels)"] = bn_gammas(student)
    plot_gammas(gam, out / "gammas.png")
    spec = base.input_spec
    report = {"shipped": shipped, "reference_line": f"{spec.height}×{measure.REF_WIDTH}", "models": models,
              "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "targets": TARGETS, "achieved": achieved, "targets_met": met, "base_checkpoint": meta,
              "schedule": dist["winner"], "int8_recipe": quant["winner"], "plan": {k: plan[k] for k in (
                  "goal", "target", "threshold", "reachable", "lstm_ratio", "head_ratio")},
              "kept": pruned_sizes, "base_sizes": base_sizes}
    artefacts.write_json(out / "report.json", report)
    comparison = out / "schedule_comparison.json"
    comparison = artefacts.read_json(comparison) if comparison.exists() else None
    sens_png = Path(os.path.relpath(plan_dir / "sensitivity.png", out)).as_posix()
    (out / "report.md").write_text(render_md(report, sens, plan, dist, exp, quant, comparison,
                                             plan_source=artefacts.rel(plan_dir), sens_png=sens_png))
    print(f"report: {out / 'report.md'} (model to ship: {shipped}; targets met: {all(met.values())})")
    return report


def _real_set_note(base: dict) -> str:
    subsets = base.get("real_subsets") or {}
    parts = [f"{k} {v['n']}" for k, v in subsets.items() if k != "all"]
    variants = list(dict.fromkeys(k.split("/", 1)[1] for k in subsets if "/" in k))
    pooled = ", ".join(variants[:-1]) + f" and {variants[-1]}" if len(variants) > 1 else "".join(variants)
    return f"Real-document set, lines per subset: {', '.join(parts)} (a language's figure pools its {pooled} lines). " \
        if parts else ""


def _history_lines(history: list[dict]) -> list[str]:
    """The student's distillation runs when it was continued (--init-student) from earlier ones."""
    if len(history) < 2:
        return []
    out = ["", "The student's distillation runs, oldest first (each continued the one before, `--init-student`):", ""]
    for h in history:
        if "minutes" in h:
            out.append(f"- {h['date']}: {h['schedule']} from {h['from']}, {h['minutes']} min, {h['steps']:,} steps "
                       f"({h['samples']:,} lines), lr {h['lr']}, batch {h['batch_size']}, seed {h['seed']}; "
                       f"held-out-font char acc after it {100 * h['val_char_acc']:.1f}")
        else:
            out.append(f"- `{h['checkpoint']}`: {h['note']}")
    return out


def _schedule_table(dist: dict) -> list[str]:
    rows = ["| schedule | steps | seconds | char acc | line acc | params | FLOPs |", "|---|---:|---:|---:|---:|---:|---:|",
            f"| teacher (base) | – | – | {100 * dist['teacher']['char_acc']:.1f} | {100 * dist['teacher']['line_acc']:.1f} "
            f"| {dist['teacher']['params']:,} | {dist['teacher']['flops'] / 1e6:.1f} M |"]
    for n, s in dist["schedules"].items():
        steps = sum(x["steps"] for x in s["rounds"])
        secs = sum(x["seconds"] for x in s["rounds"])
        rows.append(f"| {n} | {steps} | {secs:.0f} | {100 * s['char_acc']:.1f} | {100 * s['line_acc']:.1f} "
                    f"| {s['params']:,} | {s['flops'] / 1e6:.1f} M |")
    return rows


def render_md(r, sens, plan, dist, exp, quant, comparison: dict | None = None, plan_source: str = "",
              sens_png: str = "sensitivity.png") -> str:
    m = r["models"]
    cols = NAMES
    head = "| | base fp32 | pruned fp32 | pruned INT8 |\n|---|---:|---:|---:|\n"
    REF = r.get("reference_line", "32×320")
    rows = [
        ("params (ONNX initializer elements)", lambda x: f"{x['params']:,}"),
        (f"FLOPs per {REF} line", lambda x: f"{x['flops'] / 1e6:.1f} M"),
        ("ONNX file size", lambda x: f"{x['file_bytes'] / 1e6:.2f} MB"),
        (f"CPU latency, 1 thread, p50 per {REF} line", lambda x: f"{x['latency_ms_p50_1t']:.2f} ms"),
    ]
    src = m["base_fp32"].get("accuracy_source") or "?"
    src_name = "real-document set" if src == "real" else "held-out-font synthetic set split by script (no real set)"
    for lang in ("zh", "en"):
        rows.append((f"char / line accuracy, {src_name}, {lang}",
                     lambda x, lang=lang: f"{_acc(x, 'char_acc', lang)} / {_acc(x, 'line_acc', lang)}"))
    rows.append(("char accuracy, held-out-font synthetic set, augmented",
                 lambda x: "–" if x["synthetic_char_acc"] is None else f"{100 * x['synthetic_char_acc']:.1f}"))
    rows.append(("char accuracy, held-out-font synthetic set, clean",
                 lambda x: "–" if x.get("synthetic_clean_char_acc") is None else f"{100 * x['synthetic_clean_char_acc']:.1f}"))
    table = head + "".join(f"| {label} | " + " | ".join(fn(m[c]) for c in cols) + " |\n" for label, fn in rows)
    a, t, met = r["achieved"], r["targets"], r["targets_met"]
    bm = r["base_checkpoint"]
    tick = lambda k: "met" if met[k] else "**not met**"  # noqa: E731
    lines = [
        "# Pruning report", "",
        f"Generated by `python -m pruning.compression.pipeline` on {r['date']}. Machine: {r['machine']}.",
        "Every figure in the table was measured in this run on this machine; the CPU may be shared with other jobs "
        "(latencies are medians of interleaved runs).", "",
        f"Base checkpoint: `{bm['checkpoint']}`, {bm['samples']:,} training samples ({bm['train_hours']} h), "
        f"BN-gamma L1 (network slimming) {'active' if bm['sparsity_active'] else 'not active yet'} "
        f"(weight {bm['sparsity_l1']}, from {bm['sparsity_start']} samples).", "",
        f"**Model to ship: `{r['shipped']}`** (INT8 recipe `{r['int8_recipe']}`, schedule `{r['schedule']}`; "
        f"the `ship` stage writes it to `function/models/crnn/` when every target is met).", "",
        table,
        _real_set_note(m["base_fp32"]) +
        "Accuracy columns are percentages (char accuracy = 1 − CER; line = exact match). "
        "Params of the INT8 model count int8 weights plus scales/zero points; its FLOPs are those of the fp32 graph.", "",
        "## Targets (shipped vs base fp32)", "",
        "| target | wanted | achieved | |", "|---|---:|---:|---|",
        f"| params cut | ≥ {_pct(t['params_cut'])} | {_pct(a['params_cut'])} | {tick('params_cut')} |",
        f"| FLOPs cut | ≥ {_pct(t['flops_cut'])} | {_pct(a['flops_cut'])} | {tick('flops_cut')} |",
        f"| file size | ≤ {t['file_ratio']:.2f} × base | {a['file_ratio']:.3f} × | {tick('file_ratio')} |",
        f"| 1-thread latency | ≥ {t['speedup']:.1f}× faster | {a['speedup']:.2f}× | {tick('speedup')} |",
        "| char accuracy loss | ≤ 1 point | " + ", ".join(f"{k} {100 * v:+.2f}" for k, v in a["char_acc_loss"].items())
        + f" (synthetic {100 * a['synthetic_char_acc_loss']:+.2f}) | {tick('char_acc_loss')} |", "",
    ]
    # early: before 1 M lines, or before the L1 phase its training planned (a base trained without
    # L1, such as make train-engine's, is not waiting for one)
    if (bm["samples"] or 0) < 1_000_000 or (bm["sparsity_l1"] and not bm["sparsity_active"]):
        lines += ["> The base checkpoint is early in training, so its accuracy — and every accuracy above, "
                  "the sensitivity limits and the schedule comparison — are placeholders until the pipeline is "
                  "re-run on the finished base (`make prune`). Size, FLOPs and latency figures do not depend on it.", ""]
    # stages
    start = (dist.get("history") or [{}])[-1].get("from", FROM_SURGERY)
    if start not in (FROM_SURGERY, FROM_ROUNDS):
        lines += [f"> The student was distilled on from `{start}` (history in section 4): the sensitivity and "
                  f"plan sections below are those of the run that first pruned it (`{plan_source}`), measured on "
                  "that run's base.", ""]
    lines += ["## 1. Sensitivity", "",
              f"Each unit pruned alone at ratios {', '.join(str(x) for x in sens['ratios'])}, no fine-tuning, "
              f"{sens['lines']} held-out-font lines (base char accuracy {100 * sens['base']['char_acc']:.1f}). "
              f"Limit = largest ratio whose drop is ≤ {100 * sens['max_drop']:.0f} points.", "",
              f"![sensitivity]({sens_png})", "",
              "| unit | size | limit |", "|---|---:|---:|"]
    lines += [f"| {n} | {g['size']} | {sens['limits'][n]:.1f} |" for n, g in sens["groups"].items()]
    lines += ["", "### LSTM hidden units vs low-rank head", "",
              "| ratio | LSTM-hidden params | acc | torch ms | head-SVD params | acc | torch ms |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    lg, hg = sens["groups"].get("lstm.hidden"), sens["groups"].get("head.rank")
    if lg and hg:
        for i, ratio in enumerate(sens["ratios"]):
            lines.append(f"| {ratio} | {lg['params'][i]:,} | {100 * lg['char_acc'][i]:.1f} | {lg['torch_latency_ms'][i]:.1f} "
                         f"| {hg['params'][i]:,} | {100 * hg['char_acc'][i]:.1f} | {hg['torch_latency_ms'][i]:.1f} |")
        lines += ["", f"Base: {sens['base']['params']:,} params, {100 * sens['base']['char_acc']:.1f} acc, "
                  f"{sens['base']['torch_latency_ms']:.1f} ms (PyTorch, 1 thread, {REF}). Both are applied in the "
                  f"plan, at ratios {plan['lstm_ratio']:.2f} (hidden units) and {plan['head_ratio']:.2f} (head rank, "
                  "relative to the head's input width after the hidden cut; the SVD is only applied where "
                  "r·(D+C) < D·C). Parameters saved per accuracy point lost can be read off the two curves.", ""]
    lines += ["## 2. Channel plan", "",
              f"Goal: keep ≤ {plan['target']:.2f} of the base {plan['goal']}; bisection found |gamma| threshold "
              f"{plan['threshold']:.4g} ({'reachable' if plan['reachable'] else 'target not reachable within the limits'}); "
              f"plan keeps {_pct(plan['params_frac'])} of params, {_pct(plan['flops_frac'])} of FLOPs.", "",
              "![channels kept](channels.png)", "", "![BN gammas](gammas.png)", ""]
    lines += ["## 4. Distillation", "",
              f"CTC + {dist['kd_weight']} × T² × KL (T = {dist['kd_temp']}), lr {dist['lr']}, batch {dist['batch_size']}, "
              f"budget {dist['budget_min']} min in all. Winner: **{dist['winner']}**.", ""]
    lines += _schedule_table(dist)
    lines += _history_lines(dist.get("history", []))
    if len(dist["schedules"]) == 1 and comparison:
        lines += ["", f"Schedule choice, from the last `--schedule both` run ({comparison.get('date', 'date not recorded')}, "
                  f"{comparison['budget_min']} min split evenly, lr {comparison['lr']}, batch {comparison['batch_size']}, "
                  f"plan of that run): winner **{comparison['winner']}**.", ""]
        lines += _schedule_table(comparison)
    lines += ["", f"(Char / line accuracy on {dist['val_lines']} held-out-font lines, augmented.)", "", "## 5. Export", "",
              "| model | max abs diff vs PyTorch | raw bytes | slim bytes | raw ms | slim ms | onnxslim kept |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for n, e in exp.items():
        lines.append(f"| {n} | {e['max_abs_diff']:.2e} | {e.get('raw_bytes', 0):,} | {e.get('slim_bytes', 0):,} | "
                     f"{e.get('raw_ms', float('nan')):.2f} | {e.get('slim_ms', float('nan')):.2f} | {e['use_slim']} |")
    lines += ["", "## 6. INT8", "", f"Tolerance: ≤ {100 * quant['tolerance']:.0f} point char-accuracy loss vs fp32; "
              f"winner **{quant['winner']}** (shipped as INT8: {quant['ship_int8']}).", "",
              "| recipe | ms p50 (1 thread) | bytes | params | char acc | keeps accuracy |", "|---|---:|---:|---:|---|---|"]
    for n, q in quant["candidates"].items():
        accs = ", ".join(f"{k} {100 * v:.1f}" for k, v in q["char_acc"].items())
        lines.append(f"| {n} | {q['latency_ms_p50_1t']:.2f} | {q['file_bytes']:,} | {q['params']:,} | {accs} "
                     f"| {q.get('keeps_accuracy', '–')} |")
    lines += ["", "Reproduce: `make prune` (or `python -m pruning.compression.pipeline --base runs/base/best.pt`); "
              "`PRUNE_BUDGET` sets the fine-tuning minutes.", ""]
    return "\n".join(lines)
