"""Stage 3: structural surgery of the base by the stage-2 plan (``pruning.compression.core.surgery``).

Reads ``<out>/plan.json``, writes ``<work>/pruned.pt`` (the pickled module) and ``<out>/surgery.json``.
"""
from __future__ import annotations

from pruning.compression import artefacts, measure
from pruning.compression.core.groups import describe
from pruning.compression.core.surgery import apply_keep


def run(cfg) -> dict:
    plan = artefacts.read_json(cfg.run.out / "plan.json")
    base = artefacts.load_base(cfg)
    model = apply_keep(base, plan["keep"], images=measure.calib_images(cfg))
    model.eval()
    path = cfg.run.work / "pruned.pt"
    artefacts.save_model(model, path, {"plan": plan["keep"], "stage": "surgery"})
    info = {"checkpoint": artefacts.rel(path), "sizes": describe(model), **measure.model_cost(model)}
    artefacts.write_json(cfg.run.out / "surgery.json", info)
    print(f"surgery: {info['params']:,} params, {info['flops'] / 1e6:.1f} MFLOPs -> {path}")
    return info
