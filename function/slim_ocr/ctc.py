"""Vectorised CTC greedy decoding (numpy)."""
from __future__ import annotations

import numpy as np

from .charset import BLANK, Charset


def greedy_decode(logits: np.ndarray, charset: Charset, lengths=None,
                  activation: str = "logits", char_probs: bool = False) -> list[tuple]:
    """Decode (T, B, C) scores -> [(text, confidence)] per batch item; with ``char_probs``
    [(text, confidence, per-character max probabilities)].

    ``activation``: "logits" (raw scores) or "softmax" (the model already outputs
    probabilities, as PP-OCR's recognisers do).

    ``lengths`` (B,) limits each item to its own valid time steps (padding excluded).
    Confidence is the mean max-probability over the kept (non-blank, de-duplicated)
    steps; 0.0 for an empty result.
    """
    T, B, _ = logits.shape
    best = logits.argmax(axis=2)                              # (T, B)
    valid = np.ones((T, B), dtype=bool)
    if lengths is not None:
        valid = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    keep = (best != BLANK) & valid
    keep[1:] &= best[1:] != best[:-1]                         # collapse repeats
    # the confidence needs the max probability of the kept steps only (a few in ten)
    kept = logits[keep]                                       # (K, C)
    lmax = np.take_along_axis(kept, best[keep][:, None], axis=1)[:, 0]
    if activation == "softmax":
        p_kept = lmax
    else:   # max softmax prob = 1 / sum(exp(l - lmax)): no full softmax over thousands of classes
        p_kept = 1.0 / np.exp(kept - lmax[:, None]).sum(axis=1)
    pmax = np.zeros((T, B), dtype=np.float64)
    pmax[keep] = p_kept
    out = []
    for b in range(B):
        k = keep[:, b]
        ids = best[k, b]
        conf = float(pmax[k, b].mean()) if ids.size else 0.0
        text = charset.decode_ids(ids)
        out.append((text, conf, pmax[k, b].tolist()) if char_probs else (text, conf))
    return out
