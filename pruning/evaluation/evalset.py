"""The real-document evaluation set (built by ``bench/build_eval_set.py``): loading and scoring,
the one place the benchmark, the trainer's monitor and the compression pipeline use.

    recs = load_eval_set(variant="clean", lang="zh")
    metrics = score(lambda imgs: [my_ocr(im) for im in imgs], recs)
    # {"zh/clean": {"char_acc": ..., "line_acc": ..., "char_acc_nospace": ..., "n": ...}, ...}

Predictions and ground truth go through the service's normaliser; metrics are
``pruning.evaluation.metrics.accuracy``: char accuracy = 1 - CER (summed
Levenshtein edits / summed ground-truth length) and exact-line accuracy.
``char_acc_nospace`` is the same with all spaces removed, since a space between a
Hanzi and a Latin word is typographically optional (peers differ on it).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from pruning import REPO
from pruning.evaluation.metrics import accuracy
from slim_ocr.charset import load_charset

EVAL_ROOT = REPO / "data" / "eval"
LANGS = ("zh", "en")
VARIANTS = ("clean", "photo", "capture")


def load_labels(root: str | Path = EVAL_ROOT) -> list[dict]:
    path = Path(root) / "labels.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: build it with `python -m bench.build_eval_set`")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_eval_set(root: str | Path = EVAL_ROOT, variant: str | Sequence[str] | None = None, lang: str | None = None,
                  limit: int | None = None) -> list[dict]:
    """Records of ``labels.jsonl`` (filtered) with ``image`` = cv2.imread(..., IMREAD_UNCHANGED)
    (BGR or gray uint8, as stored). ``variant``: one name or several; ``limit``: first N lines of
    each lang/variant subset."""
    variants = {variant} if isinstance(variant, str) else set(variant) if variant else None
    root = Path(root)
    out, seen = [], {}
    for r in load_labels(root):
        if (variants and r["variant"] not in variants) or (lang and r["lang"] != lang):
            continue
        key = subset_key(r)
        if limit is not None and seen.get(key, 0) >= limit:
            continue
        seen[key] = seen.get(key, 0) + 1
        img = cv2.imread(str(root / r["file"]), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise FileNotFoundError(root / r["file"])
        out.append({**r, "image": img})
    return out


def subset_key(record: dict) -> str:
    return f"{record['lang']}/{record['variant']}"


def split_subsets(records: Sequence[dict]) -> dict[str, list[int]]:
    """Indices of records per "lang/variant" subset, in a fixed order (zh/clean, zh/photo, en/...)."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(subset_key(r), []).append(i)
    order = [f"{lg}/{v}" for lg in LANGS for v in VARIANTS]
    return {k: groups[k] for k in sorted(groups, key=lambda k: (order.index(k) if k in order else len(order), k))}


def metrics(preds: Sequence[str], targets: Sequence[str]) -> dict:
    """accuracy() of normalised texts, plus the same without spaces."""
    cs = load_charset()
    p = [cs.normalize(x or "") for x in preds]
    t = [cs.normalize(x) for x in targets]
    res = accuracy(p, t)
    res["char_acc_nospace"] = accuracy([x.replace(" ", "") for x in p], [x.replace(" ", "") for x in t])["char_acc"]
    return res


def score(predict_fn: Callable[[list[np.ndarray]], list[str]], records: Sequence[dict],
          batch_size: int | None = None, return_preds: bool = False):
    """Run ``predict_fn(list_of_images) -> list_of_texts`` over the records and score
    each lang/variant subset. ``batch_size`` None: one call per subset."""
    preds: list[str] = [""] * len(records)
    result = {}
    for key, idx in split_subsets(records).items():
        step = batch_size or len(idx)
        for s in range(0, len(idx), step):
            chunk = idx[s:s + step]
            out = list(predict_fn([records[i]["image"] for i in chunk]))
            if len(out) != len(chunk):
                raise ValueError(f"predict_fn returned {len(out)} texts for {len(chunk)} images")
            for i, text in zip(chunk, out):
                preds[i] = text
        result[key] = metrics([preds[i] for i in idx], [records[i]["text"] for i in idx])
    if len(result) > 1:
        result["all"] = metrics(preds, [r["text"] for r in records])
    return (result, preds) if return_preds else result


def score_by_language(predict_fn: Callable[[list[np.ndarray]], list[str]], records: Sequence[dict]) -> dict:
    """``score`` plus per-language figures pooled over variants:
    {"char_acc": {"zh", "en"}, "line_acc": {...}, "subsets": {...}, "source": "real"}."""
    res, preds = score(predict_fn, records, return_preds=True)
    out = {"char_acc": {}, "line_acc": {}, "subsets": res, "source": "real"}
    for lang in LANGS:
        idx = [i for i, r in enumerate(records) if r["lang"] == lang]
        if idx:
            agg = metrics([preds[i] for i in idx], [records[i]["text"] for i in idx])
            out["char_acc"][lang], out["line_acc"][lang] = agg["char_acc"], agg["line_acc"]
    return out
