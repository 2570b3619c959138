"""Accuracy of a PP-OCR-family PyTorch module: held-out-font synthetic lines and the
real-document set (measuring only -- nothing here trains, calibrates or picks checkpoints).

Predictions go through ``pruning.evaluation.predict.predict_lines`` (the module's
``input_spec`` and ``output_layout``, greedy CTC decoding in the model's own charset) and are
scored by ``pruning.evaluation.evalset.metrics`` (both sides folded by the project's
normaliser, so a full-width ``，`` from PP-OCR compares equal to the reference's).
Synthetic figures are split zh / en like the real set (``metrics.is_zh``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from slim_ocr.charset import Charset, load_charset
from slim_ocr.contract import PPOCR_INPUT
from slim_ocr.preprocess import prepare_line

from pruning import REPO
from pruning.evaluation.evalset import load_eval_set, metrics, split_subsets
from pruning.evaluation.metrics import is_zh
from pruning.evaluation.predict import predict_lines
from pruning.training.data import build_val_set

VAL_DIR = REPO / "data"
# A copy of the lines the probe measures on (first 150 of each clean/photo subset of
# ``data/eval``), so a rebuild of ``data/eval`` by someone else mid-probe changes nothing.
SNAPSHOT = REPO / "data" / "ppocr_eval"


def snapshot_eval_set(limit: int = 150, src=None, dest=SNAPSHOT) -> Path:
    """Copy labels + images of the first ``limit`` lines of each clean/photo subset (idempotent)."""
    import json
    import shutil

    from pruning.evaluation.evalset import EVAL_ROOT, load_labels
    src = Path(src or EVAL_ROOT)
    dest = Path(dest)
    if (dest / "labels.jsonl").exists():
        return dest
    seen, keep = {}, []
    for r in load_labels(src):
        key = (r["lang"], r["variant"])
        if r["variant"] not in ("clean", "photo") or seen.get(key, 0) >= limit:
            continue
        seen[key] = seen.get(key, 0) + 1
        keep.append(r)
        (dest / r["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / r["file"], dest / r["file"])
    tmp = dest / "labels.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
    tmp.replace(dest / "labels.jsonl")
    return dest
SUBSETS = ("zh/clean", "zh/photo", "en/clean", "en/photo")
CAPTURE = ("zh/capture", "en/capture")


@dataclass
class EvalData:
    """Prepared lines of each set: name -> (lines, reference texts)."""
    sets: dict = field(default_factory=dict)

    @classmethod
    def load(cls, synth: int = 200, real_limit: int | None = 150, spec=PPOCR_INPUT, capture: int = 0) -> EvalData:
        """``capture``: also the first N lines per language of ``data/eval``'s capture variant
        (camera-like captures made by ``bench/capture.py``, independent of the data engine)."""
        sets = {}
        for name, aug in (("synth_clean", False), ("synth_aug", True)):
            if synth:
                v = build_val_set(load_charset(), synth, VAL_DIR, augment=aug, spec=spec)
                sets[name] = (v["lines"], v["texts"])
        if real_limit != 0:
            root = SNAPSHOT if (SNAPSHOT / "labels.jsonl").exists() else snapshot_eval_set(real_limit or 150)
            sets.update(_prepared(load_eval_set(root, limit=real_limit), spec, SUBSETS))
        if capture:
            sets.update(_prepared(load_eval_set(variant="capture", limit=capture), spec, CAPTURE))
        return cls(sets)


def _prepared(recs: list[dict], spec, keys) -> dict:
    """{subset: (prepared lines, reference texts)} of the records' subsets named in ``keys``."""
    return {key: ([prepare_line(recs[i]["image"], spec) for i in idx], [recs[i]["text"] for i in idx])
            for key, idx in split_subsets(recs).items() if key in keys}


def _score(preds, texts) -> dict:
    m = metrics(preds, texts)
    return {"char_acc": round(m["char_acc"], 5), "line_acc": round(m["line_acc"], 4), "n": len(texts)}


def evaluate(model, chars: list[str], data: EvalData, batch_size: int = 32) -> dict:
    """{set: {"char_acc", "line_acc", "n"}} plus synth zh/en splits and ``seconds``."""
    t0 = time.perf_counter()
    cs = Charset(chars)
    out = {}
    for name, (lines, texts) in data.sets.items():
        preds = predict_lines(model, lines, cs, batch_size)
        out[name] = _score(preds, texts)
        if name.startswith("synth"):
            for lang, pick in (("zh", True), ("en", False)):
                idx = [i for i, t in enumerate(texts) if is_zh(t) == pick]
                if idx:
                    out[f"{name}/{lang}"] = _score([preds[i] for i in idx], [texts[i] for i in idx])
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def brief(res: dict) -> str:
    keys = [k for k in ("synth_clean", "synth_aug", *SUBSETS, *CAPTURE) if k in res]
    return "  ".join(f"{k} {100 * res[k]['char_acc']:.2f}" for k in keys)
