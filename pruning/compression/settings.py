"""Typed settings of the compression pipeline: one dataclass per stage (beside its code), plus
the run's paths and the evaluation settings every measuring stage shares. The command line is
built from the dataclasses' fields (``--field-name``, or the field's ``flag`` metadata)."""
from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path

import torch

from pruning import REPO
from pruning.compression.stages.distill import DistillSettings
from pruning.compression.stages.plan import PlanSettings
from pruning.compression.stages.quantize import QuantizeSettings
from pruning.compression.stages.report import ReportSettings
from pruning.compression.stages.sensitivity import SensitivitySettings
from pruning.compression.stages.ship import ShipSettings


@dataclass
class RunSettings:
    base: Path = field(default=REPO / "models" / "base" / "crnn_base.pt", metadata={
        "help": "base checkpoint (teacher); the sensitivity stage snapshots it to <work>/base.pt"})
    out: Path = field(default=REPO / "reports" / "pruning", metadata={"help": "JSON, plots, bundles, report"})
    work: Path = field(default=REPO / "runs" / "prune", metadata={"help": "PyTorch checkpoints of the stages"})
    val_dir: Path = field(default=REPO / "data", metadata={"help": "where the held-out-font val set is cached"})
    eval_root: Path = field(default=REPO / "data" / "eval", metadata={"help": "real-document set"})
    threads: int = field(default_factory=lambda: os.cpu_count() or 1, metadata={
        "help": "torch threads for evaluation and fine-tuning (latencies are always timed on 1 thread)"})
    seed: int = field(default=17, metadata={"help": "training-line stream and calibration seed"})
    command: str = field(default="", metadata={"cli": False})


@dataclass
class EvalSettings:
    val_size: int = field(default=600, metadata={"help": "held-out-font synthetic set (cached npz)"})
    val_lines: int = field(default=600, metadata={"help": "held-out-font val lines for final numbers"})
    eval_limit: int = field(default=600, metadata={
        "help": "real-document lines per lang/variant subset (600 = all; ~5 s per small model)"})
    no_real_eval: bool = field(default=False, metadata={"help": "skip the real-document set"})
    variants: str = field(default="clean,photo", metadata={
        "help": "real-document variants the figures pool (clean,photo: comparable with the earlier reports; "
                "add capture for the phone-capture lines)"})
    latency_runs: int = field(default=200, metadata={"help": "timed runs per model (interleaved rounds)"})


@dataclass
class Settings:
    run: RunSettings = field(default_factory=RunSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    sensitivity: SensitivitySettings = field(default_factory=SensitivitySettings)
    plan: PlanSettings = field(default_factory=PlanSettings)
    distill: DistillSettings = field(default_factory=DistillSettings)
    quantize: QuantizeSettings = field(default_factory=QuantizeSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    ship: ShipSettings = field(default_factory=ShipSettings)


def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _caster(tp):
    if tp in (Path, "Path"):
        return Path
    if tp in (list[float], "list[float]"):
        return lambda s: [float(x) for x in s.split(",") if x.strip()]
    for t in (int, float, str):
        if tp in (t, t.__name__):
            return t
    return str  # "str | None" and friends


def add_arguments(ap: argparse.ArgumentParser) -> None:
    for group in dataclasses.fields(Settings):
        cls = group.default_factory
        hints = typing.get_type_hints(cls)
        g = ap.add_argument_group(group.name)
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli", True):
                continue
            kw = {"dest": f"{group.name}.{f.name}", "default": argparse.SUPPRESS, "help": f.metadata.get("help")}
            if hints[f.name] is bool:
                g.add_argument(_flag(f), action="store_true", **kw)
            else:
                g.add_argument(_flag(f), type=_caster(hints[f.name]), choices=f.metadata.get("choices"),
                               metavar=None if f.metadata.get("choices") else f.name.upper(), **kw)


def from_namespace(ns: argparse.Namespace) -> Settings:
    cfg = Settings()
    for key, value in vars(ns).items():
        if "." in key:
            group, name = key.split(".", 1)
            setattr(getattr(cfg, group), name, value)
    return cfg


def recorded_command(argv: list[str]) -> str:
    """The command line as a contract records it: repository-relative paths only."""
    def relpath(a: str) -> str:
        if a.startswith("/") and Path(a).exists():
            try:
                return str(Path(a).resolve().relative_to(REPO))
            except ValueError:
                return Path(a).name
        return a
    return "python -m pruning.compression.pipeline " + " ".join(shlex.quote(relpath(a)) for a in argv)


def setup(cfg: Settings, argv: list[str] | None = None) -> Settings:
    torch.set_num_threads(cfg.run.threads)
    cfg.run.out.mkdir(parents=True, exist_ok=True)
    cfg.run.work.mkdir(parents=True, exist_ok=True)
    if not cfg.run.command:
        cfg.run.command = recorded_command(sys.argv[1:] if argv is None else argv)
    return cfg
