"""Checkpoint files: atomic writes, and loading a CRNN from any of the project's checkpoints
(trainer runs, fp16 shipped weights, pruned students stored as whole modules)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from pruning.training.model import CRNN, CRNNConfig


def save_atomic(obj, path) -> None:
    """torch.save via a temporary file: a killed session never leaves a torn checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_model(ckpt_path: str | Path) -> CRNN:
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    model = ck["model"] if isinstance(ck.get("model"), torch.nn.Module) else None
    if model is None:
        model = CRNN(CRNNConfig(**ck["config"]))
        model.load_state_dict({k: v.float() for k, v in ck["model"].items()})
    return model.float().eval()
