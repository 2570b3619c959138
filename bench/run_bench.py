"""Our ONNX models and peer OCR systems side by side on the real-document eval set.

    python -m bench.run_bench                    # everything (tesseract alone takes ~15 min)
    python -m bench.run_bench --limit 50         # quick: first 50 lines of each subset
    python -m bench.run_bench --model mine=path/to/bundle --peers rapidocr-v4

Per system: accuracy per subset (zh/en x clean/photo/capture; char accuracy = 1 - CER and
exact-line accuracy), p50/p90 latency per line at 1 and 2 threads (batch of one line,
ONNX Runtime CPU; tesseract: wall time of one CLI call), model file size and
parameter count (ONNX initializer elements). Prints a table and writes
``bench/results.json`` and ``reports/bench.png``. Needs ``data/eval`` (``python -m
bench.build_eval_set``) and the peer packages of ``bench/requirements.txt``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from bench.peers import PEERS, OurModel
from pruning.evaluation.evalset import EVAL_ROOT, load_eval_set, score, split_subsets
from slim_ocr import bundle

REPO = Path(__file__).resolve().parents[1]
MODELS_JSON = Path(__file__).resolve().parent / "models.json"
SUBSETS = ("zh/clean", "zh/photo", "zh/capture", "en/clean", "en/photo", "en/capture")


def shown_path(path) -> str:
    """A path as results.json records it: repository- or site-packages-relative, never a machine path."""
    p = Path(path).resolve()
    if p.is_relative_to(REPO):
        return str(p.relative_to(REPO))
    parts = p.parts
    return str(Path(*parts[parts.index("site-packages"):])) if "site-packages" in parts else p.name


def latency_sample(records: list[dict], n: int) -> list[np.ndarray]:
    """Up to n clean lines, half Chinese half English (first lines of each subset)."""
    groups = split_subsets(records)
    zh, en = groups.get("zh/clean", []), groups.get("en/clean", [])
    k = n // 2
    idx = zh[:k] + en[:n - min(k, len(zh))]
    return [records[i]["image"] for i in idx[:n]]


def measure_latency(system, images: list[np.ndarray], warmup: int = 3) -> dict:
    for img in images[:warmup]:
        system.predict([img])
    times = []
    for img in images:
        t0 = time.perf_counter()
        system.predict([img])
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90)),
            "mean_ms": float(np.mean(times)), "lines": len(times)}


def our_models(config: Path, extra: list[str]) -> tuple[list[tuple[str, Path]], list[str]]:
    models, notes = [], []
    conf = json.loads(config.read_text()) if config.exists() else {}
    entries = []
    if conf.get("shipped_bundles"):   # every bundle the service can serve
        entries += [{"name": f"bundle {n}", "path": str(bundle.MODELS_DIR / n)} for n in bundle.available()]
    entries += conf.get("models", [])
    for spec in extra:
        name, _, path = spec.partition("=")
        entries.append({"name": name, "path": path} if path else {"name": Path(name).stem, "path": name})
    for e in entries:
        p = Path(e["path"])
        p = p if p.is_absolute() else REPO / p
        if p.exists():
            models.append((e["name"], p))
        else:
            notes.append(f"skipped {e['name']}: {e['path']} not found")
    return models, notes


def run(args) -> dict:
    records = load_eval_set(args.eval_root, limit=args.limit)
    sizes = {k: len(v) for k, v in split_subsets(records).items()}
    print(f"eval set: {len(records)} lines {sizes}")
    lat_images = latency_sample(records, args.latency_lines)
    threads = [int(t) for t in args.threads.split(",") if t]

    factories = []
    models, notes = our_models(args.models, args.model)
    for name, path in models:
        factories.append((name, lambda t, n=name, p=path: OurModel(p, threads=t, name=n)))
    for key in (args.peers.split(",") if args.peers else []):
        factories.append((key, lambda t, k=key: PEERS[k](t)))

    out = {"generated": time.strftime("%Y-%m-%d %H:%M:%S"),
           "eval_set": {"root": shown_path(args.eval_root), "limit": args.limit, "lines": sizes},
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                       "loadavg_at_start": os.getloadavg()},
           "latency": {"threads": threads, "lines": len(lat_images), "what": "per line, batch of 1, after 3 warm-up calls"},
           "notes": notes, "systems": []}
    for note in notes:
        print(note)
    for key, make in factories:
        t0 = time.time()
        try:
            systems = {}
            # accuracy does not depend on threads; 1 thread avoids fighting other jobs for the CPU
            acc_threads = min(threads)
            systems[acc_threads] = make(acc_threads)
        except Exception as e:  # noqa: BLE001  (a peer package missing: note it, go on)
            msg = f"skipped {key}: {type(e).__name__}: {e}"
            print(msg)
            out["notes"].append(msg)
            continue
        s = systems[acc_threads]
        acc = score(s.predict, records, batch_size=args.batch)
        lat = {}
        if not args.skip_latency:
            for t in threads:
                if t not in systems:
                    systems[t] = make(t)
                lat[str(t)] = measure_latency(systems[t], lat_images)
        entry = {"key": key, "name": s.name, "kind": s.kind, "via": getattr(s, "via", None),
                 "files": [shown_path(f) for f in s.files()], "size_bytes": s.size_bytes(), "params": s.params(),
                 "accuracy": acc, "latency": lat, "latency_note": s.latency_note,
                 "seconds": round(time.time() - t0, 1)}
        out["systems"].append(entry)
        print(f"  {s.name}: done in {entry['seconds']}s")
    return out


def table(res: dict) -> str:
    threads = res["latency"]["threads"]
    head = ["system", "MB", "params"] + [f"{s} chr/line" for s in SUBSETS] + [f"p50 ms@{t}t" for t in threads]
    rows = []
    for s in res["systems"]:
        a = s["accuracy"]
        cells = [s["name"], f"{s['size_bytes'] / 1e6:.1f}", f"{s['params'] / 1e6:.2f}M" if s["params"] else "-"]
        for sub in SUBSETS:
            m = a.get(sub)
            cells.append(f"{m['char_acc']:.3f}/{m['line_acc']:.2f}" if m else "-")
        for t in threads:
            lt = s["latency"].get(str(t))
            cells.append(f"{lt['p50_ms']:.1f}" if lt else "-")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.append("chr = char accuracy (1 - CER), line = exact-line accuracy; latency: one line per call, "
                 "ONNX Runtime CPU (tesseract: CLI wall time per call)")
    ns = [f"{s['name']}: " + ", ".join(f"{k} {s['accuracy'][k]['char_acc_nospace']:.3f}" for k in SUBSETS if k in s["accuracy"])
          for s in res["systems"]]
    lines.append("char accuracy ignoring spaces: " + "; ".join(ns))
    return "\n".join(lines)


def plot(res: dict, path: Path) -> None:
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    t = str(min(res["latency"]["threads"])) if res["latency"]["threads"] else None
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, sub in zip(axes.ravel(), SUBSETS):
        for i, s in enumerate(res["systems"]):
            m = s["accuracy"].get(sub)
            lat = s["latency"].get(t) if t else None
            if not m or not lat:
                continue
            mb = s["size_bytes"] / 1e6
            ax.scatter(lat["p50_ms"], m["char_acc"], s=40 + 25 * mb, alpha=0.5, color=colors[i % len(colors)],
                       edgecolors="black" if s["kind"] == "ours" else "none", linewidths=1.5,
                       label=f"{s['name']} ({mb:.1f} MB)")
            ax.annotate(s["name"], (lat["p50_ms"], m["char_acc"]), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_title(f"{sub} (n={res['eval_set']['lines'].get(sub, 0)})")
        ax.set_ylabel("char accuracy (1 - CER)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel(f"p50 latency per line, ms ({t} thread{'s' if t != '1' else ''}; log)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, markerscale=0.5)
    fig.suptitle("Slim OCR vs peers on real Debian documents (bubble area ~ model size)")
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-root", type=Path, default=EVAL_ROOT)
    ap.add_argument("--limit", type=int, default=None, help="lines per subset (default: all)")
    ap.add_argument("--models", type=Path, default=MODELS_JSON, help="JSON list of our ONNX models")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="add one of our ONNX models")
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma list of {list(PEERS)} ('' for none)")
    ap.add_argument("--threads", default="1,2", help="thread counts for latency")
    ap.add_argument("--latency-lines", type=int, default=60)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--batch", type=int, default=64, help="lines per predict call for accuracy")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    ap.add_argument("--plot", type=Path, default=REPO / "reports" / "bench.png")
    args = ap.parse_args(argv)
    res = run(args)
    print(table(res))
    args.out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.plot and res["systems"]:
        plot(res, args.plot)
        print(f"wrote {args.plot}")
    return res


if __name__ == "__main__":
    main()
