"""Evaluate a PyTorch recogniser on prepared lines (same batching and decoding as the service).

The model's ``input_spec`` (its contract's input) says how lines are batched."""
from __future__ import annotations

import numpy as np
import torch

from slim_ocr.charset import Charset
from slim_ocr.ctc import greedy_decode
from slim_ocr.preprocess import make_batch, width_groups
from pruning.evaluation.metrics import accuracy


@torch.no_grad()
def predict_lines(model: torch.nn.Module, lines: list[np.ndarray], charset: Charset, batch_size: int = 64) -> list[str]:
    spec = model.input_spec
    was_training = model.training
    model.eval()
    preds: list[str] = [""] * len(lines)
    for idx in width_groups([x.shape[1] for x in lines], batch_size):
        batch = make_batch([lines[i] for i in idx], spec)
        logits = model(torch.from_numpy(batch)).numpy()
        if getattr(model, "output_layout", "TBC") == "BTC":
            logits = logits.transpose(1, 0, 2)
        lengths = [spec.frames(lines[i].shape[1]) for i in idx]
        for i, (text, _) in zip(idx, greedy_decode(logits, charset, lengths)):
            preds[i] = text
    model.train(was_training)
    return preds


def evaluate(model, lines, texts, charset, batch_size: int = 64) -> dict:
    preds = predict_lines(model, lines, charset, batch_size)
    res = accuracy(preds, texts)
    res["examples"] = [(t, p) for t, p in zip(texts[:5], preds[:5])]
    return res
