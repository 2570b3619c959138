"""Training batches rendered on the fly, and a fixed pre-rendered validation set.

On-the-fly rendering costs ~1.4 ms/line on one core, far less than a training step
per line, so one DataLoader worker keeps the trainer fed (measured, see README).
The stream is deterministic: chunk ``i`` is rendered from ``default_rng([seed, i])``,
so a resumed run sees exactly the batches it would have seen.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset

from slim_ocr.charset import Charset
from slim_ocr.contract import CRNN_INPUT, InputSpec
from slim_ocr.preprocess import make_batch, prepare_line
from pruning.training.render import LineRenderer
from pruning.training.textgen import TextSampler

BUCKET = 32          # batch widths are rounded up to a multiple of this
CHUNK_BATCHES = 8    # batches rendered together, sorted by width to limit padding
# engine lines vary more in length (1-30 units): unsorted PP-OCR batches were 65 % padding,
# chunks of 8 batches 23 %, of 32 batches 10 %
ENGINE_SORT_CHUNK = 32


@dataclass
class Curriculum:
    """Short lines first (cheap, and CTC leaves its blank plateau sooner), then longer ones."""
    start_units: float = 4.0
    end_units: float = 30.0  # the real-document lines run up to ~40 chars (~30 units)
    ramp_samples: int = 600_000

    def max_units(self, samples: int) -> float:
        f = min(1.0, samples / self.ramp_samples)
        return self.start_units + f * (self.end_units - self.start_units)


def encode_targets(texts: list[str], charset: Charset):
    ids = [charset.encode(t) for t in texts]
    flat = torch.tensor([i for seq in ids for i in seq], dtype=torch.long)
    lengths = torch.tensor([len(s) for s in ids], dtype=torch.long)
    return flat, lengths


def collate(lines: list[np.ndarray], texts: list[str], charset: Charset, spec: InputSpec) -> dict:
    width = -(-max(x.shape[1] for x in lines) // BUCKET) * BUCKET
    images = torch.from_numpy(make_batch(lines, spec, width))
    targets, target_lengths = encode_targets(texts, charset)
    widths = torch.tensor([x.shape[1] for x in lines], dtype=torch.long)
    return {"images": images, "targets": targets, "target_lengths": target_lengths,
            "input_lengths": widths // spec.width_stride, "texts": texts}


class SyntheticLines(IterableDataset):
    """Infinite, deterministic stream of batches starting at batch ``start_batch``."""

    def __init__(self, charset: Charset, batch_size: int, seed: int, start_batch: int = 0,
                 curriculum: Curriculum | None = None, spec: InputSpec = CRNN_INPUT):
        self.charset, self.batch_size, self.seed, self.spec = charset, batch_size, seed, spec
        self.start_batch = start_batch
        self.curriculum = curriculum or Curriculum()

    def render_chunk(self, chunk: int, sampler: TextSampler, renderer: LineRenderer) -> list[dict]:
        rng = np.random.default_rng([self.seed, chunk])
        n = self.batch_size * CHUNK_BATCHES
        max_units = self.curriculum.max_units(chunk * n)
        texts = [sampler.sample(rng, max_units) for _ in range(n)]
        lines = [prepare_line(renderer.render(t, rng), self.spec) for t in texts]
        order = np.argsort([x.shape[1] for x in lines], kind="stable")
        batches = []
        for b in range(CHUNK_BATCHES):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            batches.append(collate([lines[i] for i in idx], [texts[i] for i in idx], self.charset, self.spec))
        perm = rng.permutation(CHUNK_BATCHES)  # mix widths across consecutive steps
        return [batches[i] for i in perm]

    def __iter__(self):
        sampler, renderer = TextSampler(self.charset), LineRenderer(held_out=False)
        chunk, skip = divmod(self.start_batch, CHUNK_BATCHES)
        while True:
            for batch in self.render_chunk(chunk, sampler, renderer)[skip:]:
                yield batch
            chunk, skip = chunk + 1, 0


VAL_SEED = 1234


def build_val_set(charset: Charset, n: int, val_dir: str | Path, augment: bool = True,
                  seed: int = VAL_SEED, max_units: float = 20.0, spec: InputSpec = CRNN_INPUT) -> dict:
    """Held-out-font synthetic lines, pre-rendered once and cached as npz in ``val_dir``
    (shared by training and pruning, so both score on the same lines).

    ``augment=True``: the training augmentations (robustness; includes lines that JPEG q20,
    blur and 0.35x down-scaling leave barely legible). ``augment=False``: clean renders at a
    fixed size, which isolates generalisation to the unseen typefaces."""
    tag = "" if spec == CRNN_INPUT else f"_{spec.color}{spec.height}"  # lines are cached prepared
    tag += f"a{spec.aspect_height}" if spec.aspect_height else ""
    path = Path(val_dir) / (f"val_synth_{n}{tag}.npz" if augment else f"val_synth_clean_{n}{tag}.npz")
    if path.exists():
        z = np.load(path, allow_pickle=False)
        lines = [z[f"l{i}"] for i in range(int(z["n"]))]
        return {"lines": lines, "texts": list(z["texts"])}
    rng = np.random.default_rng(seed)
    sampler, renderer = TextSampler(charset), LineRenderer(held_out=True, augment=augment)
    texts = [sampler.sample(rng, rng.uniform(2, max_units)) for _ in range(n)]
    lines = [prepare_line(renderer.render(t, rng), spec) for t in texts]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, n=n, texts=np.array(texts), **{f"l{i}": x for i, x in enumerate(lines)})
    return {"lines": lines, "texts": texts}


# The data engine's sources and weights the CRNN trains and distils on ("source=weight,...").
ENGINE_MIX = "pillow=0.35,html=0.2,html_photo=0.4,html_clean=0.05"


def parse_mix(text: str) -> dict[str, float]:
    """``"pillow=0.35,html=0.2"`` -> ``{"pillow": 0.35, "html": 0.2}``."""
    return {k.strip(): float(v) for k, v in (kv.split("=") for kv in text.split(",") if kv.strip())}


class EngineLines(IterableDataset):
    """Training batches from the capture-like data engine (``pruning.dataengine``), encoded for CTC.

    The engine's stream is seeded by ``[seed, start_batch]``: a resumed run goes on with fresh
    lines rather than the exact batches it would have seen (the engine draws from a pool of
    page views, which a batch index cannot address). Batches are width-sorted within chunks
    of ``sort_chunk`` batches (``DataEngine.batches``)."""

    def __init__(self, charset: Charset, batch_size: int, seed: int, start_batch: int = 0,
                 spec: InputSpec = CRNN_INPUT, sort_chunk: int = ENGINE_SORT_CHUNK, **engine_kw):
        self.charset, self.batch_size, self.seed, self.start_batch = charset, batch_size, seed, start_batch
        self.sort_chunk = sort_chunk
        self.spec, self.engine_kw = spec, engine_kw

    def __iter__(self):
        from pruning.dataengine import DataEngine  # noqa: PLC0415 (Chromium and page cache only when used)

        engine = DataEngine(seed=self.seed, charset=self.charset, render_missing=False, **self.engine_kw)
        rng = np.random.default_rng([self.seed, self.start_batch])
        try:
            for b in engine.batches(self.spec, self.batch_size, rng=rng, width_multiple=BUCKET,
                                        sort_chunk=self.sort_chunk):
                targets, target_lengths = encode_targets(b["texts"], self.charset)
                widths = torch.from_numpy(b["widths"]).long()
                yield {"images": torch.from_numpy(b["images"]), "targets": targets, "target_lengths": target_lengths,
                       "input_lengths": widths // self.spec.width_stride, "texts": b["texts"]}
        finally:
            engine.close()
