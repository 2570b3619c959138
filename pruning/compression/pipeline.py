"""The whole compression pipeline, base checkpoint -> shipped bundle, in one command:

    PRUNE_BUDGET=10 python -m pruning.compression.pipeline --base models/base/crnn_base.pt [--ship]

Stages: sensitivity -> plan -> surgery -> distill -> export -> quantize -> report [-> ship].
``--stages`` runs a subset (e.g. ``--stages export,quantize,report`` to redo the tail from
existing artefacts); each stage reads what the previous ones left in ``<out>`` and ``<work>``.
``--ship`` appends the ship stage, which refuses unless the report's targets are met.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from pruning.compression import settings
from pruning.compression.stages import distill, export, plan, quantize, report, sensitivity, ship, surgery

STAGES = {"sensitivity": sensitivity.run, "plan": plan.run, "surgery": surgery.run, "distill": distill.run,
          "export": export.run, "quantize": quantize.run, "report": report.run, "ship": ship.run}
DEFAULT_STAGES = [s for s in STAGES if s != "ship"]


def parse(argv=None) -> tuple[settings.Settings, list[str]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", default=",".join(DEFAULT_STAGES), help="comma-separated subset, in pipeline order")
    ap.add_argument("--ship", action="store_true", help="run the ship stage after the others")
    settings.add_arguments(ap)
    ns = ap.parse_args(argv)
    todo = [s.strip() for s in ns.stages.split(",") if s.strip()]
    if ns.ship and "ship" not in todo:
        todo.append("ship")
    unknown = set(todo) - set(STAGES)
    if unknown:
        raise SystemExit(f"unknown stages {sorted(unknown)}; choose from {list(STAGES)}")
    return settings.setup(settings.from_namespace(ns), argv), todo


def main(argv=None):
    cfg, todo = parse(argv)
    base = Path(cfg.run.base)
    if not base.exists():
        raise SystemExit(f"--base {base}: no such checkpoint")
    if "sensitivity" in todo:   # freeze the base: a training run may replace it meanwhile
        snap = cfg.run.work / "base.pt"
        shutil.copyfile(base, snap)
        print(f"base {base} -> snapshot {snap} (later stages of this run read the snapshot)")
        cfg.run.base = snap
    t0 = time.time()
    for name in STAGES:
        if name in todo:
            t = time.time()
            print(f"== {name}")
            STAGES[name](cfg)
            print(f"== {name} done in {time.time() - t:.0f} s")
    print(f"pipeline done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
