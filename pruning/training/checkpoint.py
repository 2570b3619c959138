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


@torch.no_grad()
def grow_head(model: CRNN, old_chars: list[str], new_chars: list[str], seed: int = 0) -> CRNN:
    """Give ``model`` (trained on ``old_chars``) a head over ``new_chars``, in place: the blank and
    every character both charsets have keep their learned row (weight and bias); a new character
    gets a small random row and the lowest bias the old head had, so it starts out unlikely and
    the old characters read as before. Works for the dense head and the low-rank one (only the
    last Linear grows)."""
    old_index = {c: i + 1 for i, c in enumerate(old_chars)}
    last = model.head[-1] if isinstance(model.head, torch.nn.Sequential) else model.head
    if last.out_features != len(old_chars) + 1:
        raise ValueError(f"the head has {last.out_features} classes, the old charset {len(old_chars)} + blank")
    g = torch.Generator().manual_seed(seed)
    grown = torch.nn.Linear(last.in_features, len(new_chars) + 1)
    std = float(last.weight.std())
    grown.weight.copy_(torch.randn(grown.weight.shape, generator=g) * 0.1 * std)
    grown.bias.fill_(float(last.bias.min()))
    src = [0] + [old_index.get(c, -1) for c in new_chars]     # row of each new class in the old head
    keep = torch.tensor([i for i, s in enumerate(src) if s >= 0])
    from_rows = torch.tensor([s for s in src if s >= 0])
    grown.weight[keep] = last.weight[from_rows]
    grown.bias[keep] = last.bias[from_rows]
    if isinstance(model.head, torch.nn.Sequential):
        model.head[-1] = grown
    else:
        model.head = grown
    model.cfg.num_classes = len(new_chars) + 1
    return model
