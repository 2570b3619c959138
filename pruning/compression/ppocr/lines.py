"""Rendered training lines for PP-OCR students, labelled in the PP-OCR model's charset.

Texts come from the project's sampler (``pruning.training.textgen.TextSampler``, project
charset), images from the Pillow renderer (training fonts only, every augmentation), lines
are prepared with the service's ``prepare_line`` / ``make_batch`` at the model's spec
(``PPOCR_INPUT``). Labels are mapped onto the PP-OCR charset character by character (kept, or
NFKC-folded: ``＊`` -> ``*``); a text with a character PP-OCR cannot emit (8 rare GB2312
level-1 Hanzi) is skipped. The stream is deterministic: chunk ``i`` is drawn from
``default_rng([seed, i])`` so a resumed run continues with the same lines.

The real-document set is never read here: calibration, importance and fine-tuning all use
these rendered lines.
"""
from __future__ import annotations

import unicodedata

import numpy as np
import torch
from slim_ocr.charset import Charset, load_charset
from slim_ocr.contract import PPOCR_INPUT, InputSpec
from slim_ocr.preprocess import make_batch, prepare_line

from pruning.training.data import BUCKET, CHUNK_BATCHES, encode_targets


class LabelMap:
    """Project-charset text -> PP-OCR class ids (None when a character has no PP-OCR class)."""

    def __init__(self, chars: list[str]):
        self.charset = Charset(chars)
        self._cache: dict[str, str | None] = {}

    def char(self, c: str) -> str | None:
        if c not in self._cache:
            f = c if c in self.charset.index else unicodedata.normalize("NFKC", c)
            self._cache[c] = f if len(f) == 1 and f in self.charset.index else None
        return self._cache[c]

    def text(self, t: str) -> str | None:
        out = [self.char(c) for c in t]
        return None if any(c is None for c in out) else "".join(out)


def collate(lines: list[np.ndarray], texts: list[str], charset: Charset, spec: InputSpec) -> dict:
    width = -(-max(x.shape[1] for x in lines) // BUCKET) * BUCKET
    targets, lengths = encode_targets(texts, charset)
    widths = torch.tensor([x.shape[1] for x in lines], dtype=torch.long)
    return {"images": torch.from_numpy(make_batch(lines, spec, width)), "targets": targets,
            "target_lengths": lengths, "input_lengths": widths // spec.width_stride, "texts": texts}


class TrainLines:
    """Infinite deterministic stream of batches (dicts as ``collate``), from batch ``start``."""

    def __init__(self, chars: list[str], batch_size: int = 16, seed: int = 0, start: int = 0,
                 spec: InputSpec = PPOCR_INPUT, min_units: float = 2.0, max_units: float = 30.0,
                 held_out: bool = False, augment: bool = True):
        from pruning.training.render import LineRenderer
        from pruning.training.textgen import TextSampler
        self.map = LabelMap(chars)
        self.batch_size, self.seed, self.batch, self.spec = batch_size, seed, start, spec
        self.units = (min_units, max_units)
        self.sampler = TextSampler(load_charset())
        self.renderer = LineRenderer(held_out=held_out, augment=augment)
        self._buf: list[dict] = []
        self._chunk, skip = divmod(start, CHUNK_BATCHES)
        self._buf = self._render(self._chunk)[skip:]

    def _render(self, chunk: int) -> list[dict]:
        rng = np.random.default_rng([self.seed, chunk])
        n = self.batch_size * CHUNK_BATCHES
        texts, labels = [], []
        while len(texts) < n:
            t = self.sampler.sample(rng, rng.uniform(*self.units))
            lab = self.map.text(t)
            if lab and lab.strip():
                texts.append(t)
                labels.append(lab)
        lines = [prepare_line(self.renderer.render(t, rng), self.spec) for t in texts]
        order = np.argsort([x.shape[1] for x in lines], kind="stable")
        out = []
        for b in range(CHUNK_BATCHES):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            out.append(collate([lines[i] for i in idx], [labels[i] for i in idx], self.map.charset, self.spec))
        return [out[i] for i in rng.permutation(CHUNK_BATCHES)]

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if not self._buf:
            self._chunk += 1
            self._buf = self._render(self._chunk)
        self.batch += 1
        return self._buf.pop(0)


def calibration_batches(chars: list[str], n_batches: int, batch_size: int = 16, seed: int = 777) -> list[dict]:
    """A fixed list of rendered training-line batches (BN recalibration, means, importance)."""
    stream = TrainLines(chars, batch_size=batch_size, seed=seed)
    return [next(stream) for _ in range(n_batches)]
