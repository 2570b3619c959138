"""Write the compact checkpoint that is committed: fp16 weights, config and training counters.

    python -m pruning.training.ship_checkpoint runs/base/best.pt models/base/crnn_base.pt
    python -m pruning.training.ship_checkpoint runs/prune/student.pt models/pruned/student.pt --note "..."

A pruned student (a whole module: its layer sizes differ from the config) is kept as an fp16
module with its metadata (``distill_history``), so ``--init-student`` can go on from it.

Optimiser state is left out (it would triple the size of every commit); training that
starts from this file re-warms the learning rate (see ``--init-from`` in pruning.training.train).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pruning.training.train import save_atomic


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--note", default=None, help="free text stored with the checkpoint")
    args = ap.parse_args(argv)
    ck = torch.load(args.src, map_location="cpu", weights_only=False)
    if isinstance(ck["model"], torch.nn.Module):
        out = {**ck, "model": ck["model"].half()}
    else:
        out = {"model": {k: (v.half() if v.is_floating_point() else v) for k, v in ck["model"].items()},
               "config": ck["config"], "step": ck["step"], "samples": ck["samples"],
               "train_seconds": ck["train_seconds"], "best": ck.get("best"), "args": ck.get("args")}
    if args.note:
        out["note"] = args.note
    save_atomic(out, args.dst)
    print(f"{args.dst}: step {out.get('step')}, {out.get('samples')} samples, {Path(args.dst).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
