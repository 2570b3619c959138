"""Stage 5: ONNX export of the base (teacher) and the distilled student.

Uses ``pruning.training.export_onnx.export`` (opset 17, dynamic batch and width) and its
``verify_onnx`` (max |ONNX - PyTorch| over three widths); then tries onnxslim on each
model and keeps the slimmed file only if it still verifies and is not slower (1-thread
p50 on a reference line, >= 3 % faster) -- both measurements are written to ``<out>/export.json``.

Reads ``<work>/student.pt``; writes the bundles ``<out>/base_fp32/`` and ``<out>/pruned_fp32/``
(``model.onnx`` + ``charset.txt`` + ``model.json``, the contract the service reads).
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import onnx

from pruning.compression import artefacts, measure
from pruning.training.export_onnx import export, verify_onnx

TOL = 1e-3


def try_slim(model, raw, slim_path, runs: int) -> dict:
    """Slim ``raw`` into ``slim_path``; return measurements and whether to keep it."""
    info = {"raw_bytes": raw.stat().st_size, "raw_nodes": len(onnx.load(str(raw)).graph.node)}
    try:
        import onnxslim
        with contextlib.redirect_stdout(io.StringIO()):   # it prints a model summary table
            onnxslim.slim(str(raw), str(slim_path))
        diff = verify_onnx(model, slim_path)
        lat = measure.latency_ms({"raw": (raw, model.input_spec), "slim": (slim_path, model.input_spec)},
                                 runs=max(runs, 100))
        info.update({"slim_bytes": slim_path.stat().st_size, "slim_nodes": len(onnx.load(str(slim_path)).graph.node),
                     "slim_max_abs_diff": diff, "raw_ms": lat["raw"], "slim_ms": lat["slim"]})
        # ORT's own graph optimisations do most of what onnxslim does: keep it only for a clear gain
        info["use_slim"] = bool(diff < TOL and lat["slim"] < lat["raw"] * 0.97)
    except Exception as exc:  # onnxslim missing or failing: the raw export stands
        info.update({"use_slim": False, "slim_error": f"{type(exc).__name__}: {exc}"[:300]})
    return info


def export_one(model, path, runs: int) -> dict:
    raw = path.with_name(path.stem + ".raw.onnx")
    stats = export(model, raw)
    slim = path.with_name(path.stem + ".slim.onnx")
    info = {**stats, **try_slim(model, raw, slim, runs)}
    src = slim if info["use_slim"] else raw
    shutil.copyfile(src, path)
    for p in (raw, slim):
        if p.exists():
            os.remove(p)
    info["max_abs_diff"] = verify_onnx(model, path)
    info["file_bytes"] = path.stat().st_size
    info["opset"] = max(o.version for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx"))
    return info


def run(cfg) -> dict:
    base = artefacts.load_base(cfg)
    student = artefacts.load_pruned(cfg.run.work / "student.pt")
    made = {"base_fp32": (base, artefacts.rel(cfg.run.base), ["train", "export"]),
            "pruned_fp32": (student, artefacts.rel(cfg.run.work / "student.pt"),
                            ["sensitivity", "plan", "surgery", "distill", "export"])}
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model, made_from, made_by) in made.items():
            path = Path(tmp) / f"{name}.onnx"
            info = export_one(model, path, cfg.eval.latency_runs)
            bundle = artefacts.write_artefact(cfg, artefacts.bundle_dir(cfg, name), path, model, name, made_from, made_by)
            res[name] = {"bundle": artefacts.rel(bundle.dir), **info}
    artefacts.write_json(cfg.run.out / "export.json", res)
    for k, v in res.items():
        print(f"export {k}: {v['file_bytes']:,} B, max |diff| {v['max_abs_diff']:.2e}, slim {v['use_slim']}")
    return res
