"""Files the compression stages pass to each other: JSON in ``<out>``, PyTorch checkpoints in
``<work>``, and ONNX models written as bundles (``<out>/<name>/`` with the model contract),
so that every artefact is read the way the service reads a model."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from pruning import REPO
from pruning.training.checkpoint import load_model, save_atomic
from pruning.training.export_onnx import crnn_contract
from slim_ocr.bundle import ModelBundle, write_bundle
from slim_ocr.charset import DEFAULT_CHARSET
from slim_ocr.contract import Measured

# The charset the project's first CRNNs were trained on (slim_ocr's project charset); a base
# checkpoint whose training recorded another (``--charset``) is read with that one.
CHARSET_PATH = DEFAULT_CHARSET


def repo_path(path) -> Path:
    """A path as given on the command line or in a record: absolute as it is, else from the repository."""
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def rel(path) -> str:
    """A path as committed JSON records it: relative to the repository, never a machine path."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return p.name


def read_json(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path} missing: run the previous stage first")
    return json.loads(path.read_text())


def write_json(path, obj):
    Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


# ----------------------------------------------------------------------------- models
def load_base(cfg):
    return load_model(cfg.run.base)


def _checkpoint_info(path) -> dict:
    """A checkpoint's entries other than the weights, read once per file version."""
    p = Path(path)
    return _read_info(str(p), p.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _read_info(path: str, _mtime_ns: int) -> dict:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    return {k: v for k, v in ck.items() if k not in ("model", "opt")}


def charset_path(cfg) -> Path:
    """The charset the base checkpoint was trained on: the ``--charset`` its training run
    recorded (``make train-engine``: the extended one), else ``CHARSET_PATH``."""
    recorded = (_checkpoint_info(cfg.run.base).get("args") or {}).get("charset")
    return repo_path(recorded) if recorded else CHARSET_PATH


def base_meta(cfg) -> dict:
    ck = _checkpoint_info(cfg.run.base)
    a = ck.get("args") or {}
    samples = ck.get("samples")
    sp, start = a.get("sparsity"), a.get("sparsity_start")
    active = bool(sp and samples is not None and start is not None and samples >= start)
    return {"checkpoint": rel(cfg.run.base), "samples": samples, "step": ck.get("step"),
            "train_hours": round((ck.get("train_seconds") or 0) / 3600, 2), "sparsity_l1": sp,
            "sparsity_start": start, "sparsity_active": active}


def save_model(model: nn.Module, path, meta: dict | None = None):
    save_atomic({"model": model, "config": model.cfg.to_dict(), **(meta or {})}, path)


def load_pruned(path):
    return load_model(path)


# ----------------------------------------------------------------------------- bundles
def bundle_dir(cfg, name: str) -> Path:
    return cfg.run.out / name


def write_artefact(cfg, dest: Path, onnx_path: Path, model, name: str, made_from: str, made_by: list[str],
                   recipe: dict | None = None, measured: Measured | None = None) -> ModelBundle:
    """``onnx_path`` (an export of ``model``, or its INT8 form) as the bundle ``dest``."""
    contract = crnn_contract(model, name, made_from, made_by, recipe, measured)
    return write_bundle(dest, onnx_path, charset_path(cfg), contract)


def onnx_file(cfg, name: str) -> Path:
    path = bundle_dir(cfg, name) / "model.onnx"
    if not path.exists():
        raise SystemExit(f"{path} missing: run the export and quantize stages first")
    return path
