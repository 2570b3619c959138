"""The whole pruning pipeline, base checkpoint -> shipped ONNX model, in one command:

    PRUNE_BUDGET=10 python -m pruning.prune.pipeline --base runs/base/best.pt [--ship]

Stages (each also runnable alone, see ``pruning/prune/__init__.py``): sensitivity ->
plan -> surgery -> distill -> export -> quantize -> report. ``--stages`` runs a subset
(e.g. ``--stages export,quantize,report`` to redo the tail from existing artefacts).
"""
from __future__ import annotations

import shutil
import time

from . import common, distill, export, plan, quantize, report, sensitivity, surgery

STAGES = {"sensitivity": sensitivity.run, "plan": plan.run, "surgery": surgery.run, "distill": distill.run,
          "export": export.run, "quantize": quantize.run, "report": report.run}


def main(argv=None):
    ap = common.build_parser(__doc__)
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset, in pipeline order")
    args = ap.parse_args(argv)
    common.setup(args)
    todo = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(todo) - set(STAGES)
    if unknown:
        raise SystemExit(f"unknown stages {sorted(unknown)}; choose from {list(STAGES)}")
    if "sensitivity" in todo:   # freeze the base: a training run may replace best.pt meanwhile
        snap = common.work_dir(args) / "base.pt"
        shutil.copyfile(args.base, snap)
        print(f"base {args.base} -> snapshot {snap}")
        args.base = str(snap)
    elif (common.work_dir(args) / "base.pt").exists():
        args.base = str(common.work_dir(args) / "base.pt")
    t0 = time.time()
    for name in STAGES:
        if name in todo:
            t = time.time()
            print(f"== {name}")
            STAGES[name](args)
            print(f"== {name} done in {time.time() - t:.0f} s")
    print(f"pipeline done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
