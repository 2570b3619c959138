"""Blank calibration of a CTC recogniser: lower the blank's logit by a fitted offset.

Where a character is faint or narrow the compressed student hedges towards the blank: on the
English photo lines its extra errors against the original were mostly characters left out (261
against 176 of 9,966). Greedy decoding takes a frame as blank whenever the blank is its top
score, so lowering it by ``b`` lets a close runner-up through. ``fit`` picks ``b`` on held-out
data-engine lines (page-cache seeds ``CALIB_PAGES``, which no round trains on; never the
evaluation sets) through the service's own ``Recognizer``; ``fold`` puts it into the
classifier's bias, so the shipped ONNX and the service's decoding stay as they are. The
original PP-OCRv6-tiny reads those lines better with a lowered blank too (its fitted offset is
1.5 where the student's is 1.25): the README compares the two both ways.

    python -m pruning.compression.ppocr.gradual export --round smallprint --bundle DIR   # fits and folds
    python -m pruning.compression.ppocr.gradual blank --bundle ppocrv6-tiny   # any bundle: fit, read with and without
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from slim_ocr.recognizer import Recognizer

from pruning.evaluation.evalset import load_eval_set, metrics, score
from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec

# page-cache seeds of the calibration lines: the rounds train on 0..599 (``Campaign.pages``),
# ``pruning.pretrained.db_probe`` chooses its rule on 600..899 (the evaluation sets are not cached pages)
CALIB_PAGES = range(900, 1000)
CALIB_SEED, CALIB_LINES = 4242, 2000
GRID = tuple(i / 4 for i in range(9))       # 0, 0.25, ..., 2.0
HANZI = re.compile(r"[\u3400-\u9fff]")


def calibration_lines(mix: dict[str, float] | None, n: int = CALIB_LINES, seed: int = CALIB_SEED,
                      pages=CALIB_PAGES) -> tuple[list[np.ndarray], list[str]]:
    """``n`` data-engine lines (raw BGR crops, labels) of ``mix`` (None: the engine's default)
    from the calibration pages."""
    from pruning.dataengine import DataEngine  # the page cache only when used

    eng = DataEngine(mix=mix, seed=seed, pages=pages, render_missing=False)
    rng = np.random.default_rng(seed)
    lines = [eng.sample(rng) for _ in range(n)]
    return [img for img, _ in lines], [text for _, text in lines]


def score_by_script(preds: list[str], texts: list[str]) -> dict[str, float]:
    """Char accuracy of the lines with Hanzi, of the others, and their mean (the fit's criterion:
    Latin lines are a minority of the engine's mix, and the offset must serve both)."""
    han = [bool(HANZI.search(t)) for t in texts]
    res = {}
    for key, want in (("hanzi", True), ("latin", False)):
        pairs = [(p, t) for p, t, h in zip(preds, texts, han) if h == want]
        if pairs:
            res[key] = metrics([p for p, _ in pairs], [t for _, t in pairs])["char_acc"]
    res["mean"] = float(np.mean(list(res.values())))
    return res


class LoweredBlank(Recognizer):
    """The service's Recognizer with the blank lowered by ``offset`` before decoding: subtracted
    from a logit, or a probability scaled by exp(-offset) (the same greedy readings)."""
    offset = 0.0

    def scores(self, batch: np.ndarray) -> np.ndarray:
        s = super().scores(batch).copy()
        if self.contract.output.activation == "softmax":
            s[..., 0] *= np.exp(-self.offset)
        else:
            s[..., 0] -= self.offset
        return s


def fit(bundle: str | Path, images: list[np.ndarray], texts: list[str], grid=GRID, threads: int = 1) -> dict:
    """``{"offset": b, "table": [{"offset", "hanzi", "latin", "mean"}, ...]}``: the offset of
    ``grid`` whose greedy readings of ``images`` (``LoweredBlank``) score best by
    ``score_by_script``; ties go to the smaller."""
    rec = LoweredBlank(bundle, threads=threads)
    lines = [rec.prepare(img) for img in images]
    table = []
    for b in grid:
        rec.offset = float(b)
        preds = [t for t, _ in rec.recognize_prepared(lines)]
        table.append({"offset": float(b), **{k: round(v, 5) for k, v in score_by_script(preds, texts).items()}})
    best = max(table, key=lambda r: (r["mean"], -r["offset"]))
    return {"offset": best["offset"], "table": table}


@torch.no_grad()
def fold(model: PPOCRv6TinyRec, offset: float) -> PPOCRv6TinyRec:
    """``model`` with the blank's logit lowered by ``offset`` (in place; returns it)."""
    model.fc2.bias[0] -= offset
    return model


def compare(bundle: str | Path, mix: dict[str, float] | None, limit: int | None = None, threads: int = 2) -> str:
    """Fit ``bundle``'s offset on the calibration lines of ``mix``, then read the real-document set
    with and without it (the fit never sees that set): the fit's table and a Markdown table."""
    images, texts = calibration_lines(mix)
    fitted = fit(bundle, images, texts, threads=threads)
    recs = load_eval_set(limit=limit)
    rec = LoweredBlank(bundle, threads=threads)
    rows = {}
    for b in sorted({0.0, fitted["offset"]}):
        rec.offset = b
        res = score(lambda imgs: [t for t, _ in rec.recognize(imgs)], recs, batch_size=64)
        rows[b] = {k: v["char_acc"] for k, v in res.items() if "/" in k}
    keys = list(next(iter(rows.values())))
    out = [json.dumps(fitted["table"], indent=0),
           f"fitted offset {fitted['offset']:g}; char accuracy % on the real-document set",
           "| blank offset | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    out += [f"| {b:g} | " + " | ".join(f"{100 * r[k]:.2f}" for k in keys) + " |" for b, r in rows.items()]
    return "\n".join(out)
