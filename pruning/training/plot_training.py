"""Plot a training log (log.jsonl): loss and validation accuracy against samples seen.

    python -m pruning.training.plot_training runs/base/log.jsonl models/base/training_curve.png
"""
from __future__ import annotations

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot(log_path: str, out: str, title: str = "base CRNN") -> None:
    recs = [json.loads(line) for line in open(log_path, encoding="utf-8") if line.strip()]
    train = [r for r in recs if "loss" in r]
    val = [r for r in recs if "val_char_acc" in r]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4))
    a1.plot([r["samples"] / 1e3 for r in train], [r["loss"] for r in train], lw=0.8)
    a1.set(xlabel="training lines seen (thousands)", ylabel="CTC loss", yscale="log", title="training loss")
    series = [("val_char_acc", "synthetic, held-out fonts, augmented"),
              ("val_clean_char_acc", "synthetic, held-out fonts, clean"),
              ("real_zh_char_acc", "real documents, zh"), ("real_en_char_acc", "real documents, en"),
              ("real_capture_zh_char_acc", "real documents, zh, phone capture"),
              ("real_capture_en_char_acc", "real documents, en, phone capture")]
    for ax, ylim, panel in ((a2, (0, 1), "validation"), (a3, (0.85, 1.0), "validation (zoom)")):
        for key, label in series:
            pts = [(r["samples"] / 1e3, r[key]) for r in val if key in r and r[key] >= ylim[0]]
            if pts:
                ax.plot(*zip(*pts), marker=".", label=label)
        ax.set(xlabel="training lines seen (thousands)", ylabel="character accuracy (1 - CER)", ylim=ylim, title=panel)
        ax.grid(alpha=0.3)
    a2.legend(loc="lower right")
    hours = train[-1].get("train_hours", 0) if train else 0
    fig.suptitle(f"{title}: {train[-1]['samples'] if train else 0:,} lines, {hours:.2f} training hours")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("out")
    ap.add_argument("--title", default="base CRNN")
    a = ap.parse_args()
    plot(a.log, a.out, a.title)


if __name__ == "__main__":
    main()
