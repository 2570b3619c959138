"""Stage 8: ship -- the report's chosen model becomes a servable bundle, only if it earned it.

Refuses (exit with the reasons) unless every target in ``<out>/report.json`` is met and every
export in ``<out>/export.json`` matched PyTorch within ``export_tol``. Then writes the bundle
``function/models/crnn/`` (``ShipSettings.bundle``): the ONNX file, the charset and a contract
carrying what the report measured (params, file bytes, 1-thread latency, accuracy per subset),
and records the bundle in ``report.json``; another pipeline report under ``reports/`` that named
the same bundle as its own is marked superseded (``supersede``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pruning import REPO
from pruning.compression import artefacts
from slim_ocr.bundle import CRNN, ModelBundle, write_bundle
from slim_ocr.contract import Measured
from slim_ocr.recognizer import Recognizer


@dataclass
class ShipSettings:
    bundle: str = field(default=f"function/models/{CRNN}", metadata={
        "help": "bundle folder to write, relative to the repository", "flag": "--ship-dir"})
    name: str = field(default=CRNN, metadata={"help": "model name in the shipped contract", "flag": "--ship-name"})
    export_tol: float = field(default=1e-3, metadata={"help": "max |ONNX - PyTorch| an export may show"})


class ShipRefused(SystemExit):
    pass


def gate(report: dict, export: dict, tol: float) -> list[str]:
    """Why the report's model must not ship (empty: it may)."""
    why = [f"target {k} not met (achieved {report['achieved'].get(k)!r}, wanted {report['targets'].get(k)!r})"
           for k, ok in report["targets_met"].items() if not ok]
    why += [f"export {k}: max |ONNX - PyTorch| {v['max_abs_diff']:.2e} > {tol:g}"
            for k, v in export.items() if v.get("max_abs_diff", float("inf")) > tol]
    return why


def supersede(bundle: str, out: Path, reports: Path = REPO / "reports") -> list[Path]:
    """The pipeline reports under ``reports`` (``*/report.json``, ``out``'s own aside) that name
    ``bundle`` as their shipped one: each loses ``shipped_bundle`` and says until when it was
    shipped and which report replaced it (``superseded``). Returns their paths."""
    marked = []
    for path in sorted(Path(reports).glob("*/report.json")):
        if path.parent.resolve() == Path(out).resolve():
            continue
        rep = artefacts.read_json(path)
        if rep.get("shipped_bundle") != bundle:
            continue
        del rep["shipped_bundle"]
        rep["superseded"] = (f"shipped as {bundle} until {time.strftime('%Y-%m-%d')}; "
                             f"replaced by the model of {artefacts.rel(out)}")
        artefacts.write_json(path, rep)
        marked.append(path)
    return marked


def run(cfg) -> dict:
    s: ShipSettings = cfg.ship
    out = cfg.run.out
    report = artefacts.read_json(out / "report.json")
    export = artefacts.read_json(out / "export.json")
    why = gate(report, export, s.export_tol)
    if why:
        raise ShipRefused("ship refused:\n  " + "\n  ".join(why))
    name = report["shipped"]
    src = ModelBundle.load(artefacts.bundle_dir(cfg, name))
    Recognizer(src, threads=1)   # the ONNX file agrees with its contract, or this raises
    m = report["models"][name]
    measured = Measured(
        date=time.strftime("%Y-%m-%d"), command=cfg.run.command, params=m["params"], file_bytes=m["file_bytes"],
        latency_ms_1t=m["latency_ms_p50_1t"], reference_line=report.get("reference_line"),
        accuracy={k: round(v["char_acc"], 4) for k, v in (m.get("real_subsets") or {}).items()})
    prov = src.contract.provenance.model_copy(update={
        "made_from": f"{artefacts.rel(cfg.run.work / 'student.pt')} (pruned from {report['base_checkpoint']['checkpoint']})",
        "recipe": {"schedule": report["schedule"], "int8_recipe": report["int8_recipe"] if name == "pruned_int8" else None,
                   "trained_samples": report["base_checkpoint"]["samples"]}})
    contract = src.contract.model_copy(update={
        "name": s.name, "provenance": prov, "measured": measured,
        "description": f"Slim OCR's own CRNN, structured-pruned and distilled from its base ({name})"})
    dest = artefacts.repo_path(s.bundle)
    shipped = write_bundle(dest, src.model_path, src.dir / src.contract.output.charset, contract)
    Recognizer(shipped, threads=1)
    report["shipped_bundle"] = artefacts.rel(shipped.dir)
    artefacts.write_json(out / "report.json", report)
    for old in supersede(report["shipped_bundle"], out):
        print(f"{artefacts.rel(old)}: superseded")
    print(f"shipped {name} -> {report['shipped_bundle']}")
    return {"bundle": report["shipped_bundle"], "model": name}
