"""Which data-engine source moves which evaluation subset: continue the committed base CRNN
for ``--steps`` on one source at a time (and on the mix), then score each arm's last
checkpoint on the trainer's real-document monitors (first 150 lines of clean and capture, zh
and en; monitoring slices, never trained or tuned on).

    python -m pruning.dataengine.ablate --steps 600 --out reports/dataengine/ablation.json

Each arm is ``pruning.training.train --data engine --engine-mix <source>=1`` from
``models/base/crnn_base.pt`` (head grown to the extended charset), 1 thread, no loader worker,
in ``runs/ablate/<arm>``; ~13 min per 600 steps on one core here.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from pruning import REPO
from pruning.evaluation.predict import evaluate
from pruning.training import train
from pruning.training.checkpoint import load_model
from pruning.training.data import ENGINE_MIX, parse_mix
from slim_ocr.charset import DEFAULT_CHARSET, load_charset

BASE = REPO / "models" / "base" / "crnn_base.pt"
CHARSET = REPO / "models" / "charset" / "extended.txt"
ARMS = [*parse_mix(ENGINE_MIX), "mix"]


def run_arm(arm: str, steps: int, runs: Path, seed: int, start: int) -> Path:
    """Arm ``arm`` trained from the base (at step ``start``) for ``steps`` more steps."""
    run = runs / arm
    mix = ENGINE_MIX if arm == "mix" else f"{arm}=1"
    train.main(["--run", str(run), "--data", "engine", "--engine-mix", mix, "--charset", str(CHARSET),
                "--init-from", str(BASE), "--init-charset", str(DEFAULT_CHARSET), "--lr", "3e-4",
                "--warmup-steps", "100", "--sparsity", "0", "--real-val-limit", "0", "--threads", "1",
                "--workers", "0", "--max-steps", str(start + steps), "--val-every", str(10 ** 9), "--seed", str(seed)])
    return run / "last.pt"


def score(model, charset, sets) -> dict:
    return {name: round(evaluate(model, lines, texts, charset)["char_acc"], 4) for name, (lines, texts) in sets.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=600, help="training steps (32 lines each) per arm")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--runs", type=Path, default=REPO / "runs" / "ablate")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "reports" / "dataengine" / "ablation.json")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    sets = train.load_real_val(150, ("clean", "capture"))
    if not sets:
        raise SystemExit("the real-document set is missing: make eval-set")
    res = {"base": score(load_model(BASE), load_charset(DEFAULT_CHARSET), sets)}
    print("base", res["base"], flush=True)
    cs = load_charset(CHARSET)
    start = torch.load(BASE, map_location="cpu", weights_only=False).get("step", 0)
    for arm in a.arms.split(","):
        res[arm] = score(load_model(run_arm(arm, a.steps, a.runs, a.seed, start)), cs, sets)
        print(arm, res[arm], flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "steps": a.steps, "lines_per_arm": 32 * a.steps,
                                 "from": "models/base/crnn_base.pt", "mix": ENGINE_MIX, "char_acc": res}, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
