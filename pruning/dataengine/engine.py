"""The data engine's one API: a weighted mix of sources yielding ``(bgr_uint8, text)``.

Sources (``mix`` keys):

- ``pillow``      the Pillow line renderer (breadth: every class, rare chars, random strings);
- ``html``        cached Chromium pages through the screenshot path (``camera.screenshot``);
- ``html_photo``  cached pages through the camera model (``camera.photograph``): paper pages
                  as photographed sheets, screen pages as photos of a screen;
- ``html_clean``  cached pages, no degradation at all (the detector's crop only);
- ``smallprint``  a line of the other sources (by their weights) as small print in a photo
                  (``smallprint.degrade``: 13-26 px, soft, tinted, noisy, JPEG).

Example::

    from pruning.dataengine import DataEngine
    from slim_ocr.contract import CRNN_INPUT, InputSpec

    eng = DataEngine(mix={"pillow": 0.4, "html": 0.2, "html_photo": 0.4}, seed=0, pages=2000)
    img, text = eng.sample(np.random.default_rng(1))            # one line, BGR uint8
    for line, text in eng.lines(CRNN_INPUT):                    # prepared 32-px gray lines
        ...
    PPOCR = InputSpec(channels=3, color="bgr", height=48, width_stride=8, min_width=16,
                      max_width=2048, mean=[0.5] * 3, std=[0.5] * 3, pad="zero")
    for batch in eng.batches(PPOCR, 32): ...                   # make_batch arrays + texts
    ds = EngineDataset(PPOCR, batch_size=32, seed=0, mix=...)  # torch IterableDataset

A page source renders one page *view* at a time (one camera draw over a cached page, many
lines cut from it) into a per-source pool; ``sample`` draws a random element of the pool,
so consecutive lines come from several pages. Labels are ``charset.normalize``d; lines the
charset cannot hold are skipped. Everything is drawn from the rng: the same seed (and the same
page cache) gives byte-identical images and texts.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from pruning.dataengine import camera, crops, smallprint
from pruning.dataengine.common import default_charset, label_of
from pruning.training.textgen import units
from slim_ocr.contract import InputSpec
from slim_ocr.preprocess import make_batch, prepare_line

DEFAULT_MIX = {"pillow": 0.35, "html": 0.2, "html_photo": 0.4, "html_clean": 0.05}
PAGE_MODES = {"html": "screenshot", "html_photo": "photo", "html_clean": "clean"}


class PageSource:
    """Lines cut from cached Chromium pages, through one of the camera paths."""

    def __init__(self, name: str, cache, seeds: list[int], charset, strength: float = 1.0, jitter: float = 1.0,
                 lines_per_view: int | None = 40, max_units: float = 30.0, render_missing: bool = True, keep_pages: int = 24):
        self.name, self.mode = name, PAGE_MODES[name]
        self.cache, self.seeds, self.cs = cache, list(seeds), charset
        self.strength, self.jitter, self.lines_per_view, self.max_units = strength, jitter, lines_per_view, max_units
        self.render_missing = render_missing
        self.single_keep = 0.35
        self._pages: OrderedDict = OrderedDict()
        self.keep_pages = keep_pages
        if not self.seeds:
            raise ValueError(f"source {name!r}: no pages")

    def page(self, seed: int):
        """(image, meta with labelled lines, body font px) of a page, LRU-cached in memory."""
        if seed in self._pages:
            self._pages.move_to_end(seed)
            return self._pages[seed]
        img, meta = self.cache.get(seed, render_missing=self.render_missing)
        kept = []
        for ln in meta["lines"]:
            label = label_of(ln["text"], self.cs)
            if label:
                kept.append(dict(ln, label=label))
        fs = float(np.median([ln["fs"] for ln in kept])) if kept else 16.0
        entry = (img, meta, kept, fs)
        self._pages[seed] = entry
        if len(self._pages) > self.keep_pages:
            self._pages.popitem(last=False)
        return entry

    def produce(self, rng: np.random.Generator, max_units: float | None = None) -> list[tuple[np.ndarray, str]]:
        mu = self.max_units if max_units is None else max_units
        seed = self.seeds[int(rng.integers(len(self.seeds)))]
        img, meta, lines, fs = self.page(seed)
        # table cells and vertical labels make ~8 % one-character lines: keep a share of them
        lines = [ln for ln in lines if units(ln["label"]) <= mu and (len(ln["label"]) > 1 or rng.random() < self.single_keep)]
        if not lines:
            return []
        if self.mode == "photo":
            shot = camera.photograph(img, rng, self.strength, meta.get("surface", "paper"), fs)
        elif self.mode == "screenshot":
            shot = camera.screenshot(img, rng, self.strength, fs)
        else:
            shot = camera.Shot(img, np.eye(3), {"path": "clean"})
        jitter = self.jitter if self.mode != "clean" else min(self.jitter, 0.5)
        cut = crops.cut_lines(shot.image, shot.H, lines, rng, jitter=jitter, max_lines=self.lines_per_view)
        return [(c.image, c.text) for c in cut]


class DataEngine:
    """A deterministic stream of ``(bgr_uint8, text)`` training lines from a weighted mix of sources.

    ``pages``: page seeds of the HTML sources (an int N = seeds 0..N-1, or an iterable);
    ``cache_dir``: page cache root (default ``data/dataengine/pages``); ``render_missing``:
    render pages that are not cached with headless Chromium (else only cached ones are used);
    ``strength``: camera degradation knob; ``jitter``: crop jitter knob (0 = detector crops);
    ``max_units``: longest label (a Hanzi = 1 unit, a Latin char = 1/2), e.g. a curriculum's;
    ``pool``: lines buffered per page source (more = less correlation between neighbours)."""

    def __init__(self, mix: dict[str, float] | None = None, seed: int = 0, pages: int | Iterable[int] = 500,
                 cache_dir: str | Path | None = None, render_missing: bool = True, strength: float = 1.0,
                 jitter: float = 1.0, max_units: float = 30.0, pool: int = 160, lines_per_view: int | None = 40,
                 charset=None):
        self.mix = {k: float(v) for k, v in (mix or DEFAULT_MIX).items() if v > 0}
        unknown = set(self.mix) - {"pillow", "smallprint", *PAGE_MODES}
        if unknown:
            raise ValueError(f"unknown sources {sorted(unknown)} (have pillow, smallprint, {', '.join(PAGE_MODES)})")
        if set(self.mix) == {"smallprint"}:
            raise ValueError("smallprint degrades lines of the other sources: give it at least one")
        self.seed = seed
        self.cs = charset or default_charset()
        self.max_units = max_units
        self.pool_size = pool
        self.names = sorted(self.mix)
        w = np.asarray([self.mix[n] for n in self.names])
        self.p = w / w.sum()
        bases = [n for n in self.names if n != "smallprint"]
        wb = np.asarray([self.mix[n] for n in bases])
        self.smallprint_bases, self.smallprint_p = bases, wb / wb.sum()
        self.sources: dict = {}
        self.pools: dict[str, list] = {n: [] for n in self.names if n != "smallprint"}
        texts = None
        if "pillow" in self.mix:
            from pruning.dataengine.pillow_lines import PillowSource

            self.sources["pillow"] = PillowSource(self.cs, max_units)
            texts = self.sources["pillow"].texts
        page_names = [n for n in self.names if n in PAGE_MODES]
        if page_names:
            from pruning.dataengine.html_pages import PageCache

            self.cache = PageCache(cache_dir)
            if texts is not None:
                self.cache._texts = texts
            seeds = list(range(pages)) if isinstance(pages, int) else list(pages)
            if not render_missing:
                seeds = [s for s in seeds if self.cache.has(s)]
            for n in page_names:
                self.sources[n] = PageSource(n, self.cache, seeds, self.cs, strength=strength, jitter=jitter,
                                             lines_per_view=lines_per_view, max_units=max_units,
                                             render_missing=render_missing)

    def close(self):
        if hasattr(self, "cache"):
            self.cache.close()

    # -- lines ---------------------------------------------------------------------------
    def sample_from(self, name: str, rng: np.random.Generator, max_units: float | None = None) -> tuple[np.ndarray, str]:
        if name == "smallprint":
            base = self.smallprint_bases[int(rng.choice(len(self.smallprint_bases), p=self.smallprint_p))]
            img, text = self.sample_from(base, rng, max_units)
            return smallprint.degrade(img, text, rng), text
        src, pool = self.sources[name], self.pools[name]
        want = 1 if name == "pillow" else self.pool_size
        tries = 0
        while len(pool) < want:
            got = src.produce(rng, max_units)
            pool.extend(got)
            tries = tries + 1 if not got else 0
            if tries > 50:
                raise RuntimeError(f"source {name!r} yields no lines (max_units={max_units or self.max_units})")
        i = int(rng.integers(len(pool)))
        pool[i], pool[-1] = pool[-1], pool[i]
        return pool.pop()

    def sample(self, rng: np.random.Generator, max_units: float | None = None) -> tuple[np.ndarray, str]:
        """One line ``(BGR uint8 crop, normalised label)`` from a source drawn by the mix."""
        name = self.names[int(rng.choice(len(self.names), p=self.p))]
        return self.sample_from(name, rng, max_units)

    def __iter__(self) -> Iterator[tuple[np.ndarray, str]]:
        rng = np.random.default_rng(self.seed)
        while True:
            yield self.sample(rng)

    def stream(self, n: int | None = None, rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, str]]:
        rng = rng or np.random.default_rng(self.seed)
        i = 0
        while n is None or i < n:
            yield self.sample(rng)
            i += 1

    def lines(self, spec: InputSpec, n: int | None = None, rng: np.random.Generator | None = None
              ) -> Iterator[tuple[np.ndarray, str]]:
        """Prepared lines at a model contract: ``(slim_ocr.preprocess.prepare_line(img, spec), text)``."""
        for img, text in self.stream(n, rng):
            yield prepare_line(img, spec), text

    def batches(self, spec: InputSpec, batch_size: int, n: int | None = None, rng: np.random.Generator | None = None,
                width_multiple: int | None = None, sort_chunk: int = 1) -> Iterator[dict]:
        """Batches: ``{"images": make_batch(lines, spec, width) (B, C, H, W) float32, "texts",
        "widths"}``; ``width_multiple`` rounds the batch width up (default: the stride).
        ``sort_chunk`` > 1 draws that many batches' lines at once, sorts them by width, cuts
        them into batches and yields those in a random order: engine lines range from one
        character to 30, and unsorted batches are mostly padding (a 48-px PP-OCR batch of 16
        averaged 845 px wide for lines of ~400)."""
        mult = width_multiple or spec.width_stride
        rng = rng or np.random.default_rng(self.seed)
        lines = self.lines(spec, None, rng)
        k = 0
        while True:
            chunk = [next(lines) for _ in range(batch_size * max(1, sort_chunk))]
            if sort_chunk > 1:
                chunk.sort(key=lambda lt: lt[0].shape[1])
            groups = [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
            order = rng.permutation(len(groups)) if sort_chunk > 1 else range(len(groups))
            for g in (groups[i] for i in order):
                widest = max(x.shape[1] for x, _ in g)
                width = max(widest, min(-(-widest // mult) * mult, spec.max_width))
                yield {"images": make_batch([x for x, _ in g], spec, width),
                       "texts": [t for _, t in g], "widths": np.array([x.shape[1] for x, _ in g])}
                k += 1
                if n is not None and k >= n:
                    return

def lines(spec: InputSpec, n: int | None = None, seed: int = 0, engine: DataEngine | None = None, **kw
          ) -> Iterator[tuple[np.ndarray, str]]:
    """``DataEngine(seed=seed, **kw).lines(spec, n)``: prepared lines at a model contract."""
    eng = engine or DataEngine(seed=seed, **kw)
    yield from eng.lines(spec, n)


try:
    import torch
    from torch.utils.data import IterableDataset as _Base
except ImportError:  # the engine itself needs no torch
    torch, _Base = None, object


class EngineDataset(_Base):
    """torch ``IterableDataset`` over the engine: prepared lines ``(tensor (C, H, W) float32,
    text)`` or, with ``batch_size``, batches ``{"images": (B, C, H, W), "texts", "widths",
    "input_lengths"}``. Each DataLoader worker gets its own stream ``[seed, worker_id]``."""

    def __init__(self, spec: InputSpec, batch_size: int | None = None, seed: int = 0, **engine_kw):
        if torch is None:
            raise ImportError("EngineDataset needs torch")
        self.spec, self.batch_size, self.seed, self.kw = spec, batch_size, seed, engine_kw

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        eng = DataEngine(seed=self.seed, **self.kw)
        rng = np.random.default_rng([self.seed, wid])
        try:
            if self.batch_size:
                for b in eng.batches(self.spec, self.batch_size, rng=rng):
                    w = torch.from_numpy(b["widths"])
                    yield {"images": torch.from_numpy(b["images"]), "texts": b["texts"], "widths": w,
                           "input_lengths": w // self.spec.width_stride}
            else:
                for line, text in eng.lines(self.spec, rng=rng):
                    yield torch.from_numpy(make_batch([line], self.spec)[0]), text
        finally:
            eng.close()


def measure(names: list[str], n: int = 600, seed: int = 0, spec: InputSpec | None = None, **kw) -> dict[str, float]:
    """Lines/s per source on this process (one thread), page loads from the cache included,
    optionally with ``prepare_line`` at ``spec``. The first pool fill is warm-up."""
    import time

    eng = DataEngine(mix={k: 1.0 for k in names}, seed=seed, **kw)
    out = {}
    try:
        for name in names:
            rng = np.random.default_rng([seed, 7])
            for _ in range(min(n // 4, 50)):  # warm-up: first pages loaded, pool filled
                eng.sample_from(name, rng)
            t0 = time.perf_counter()
            for _ in range(n):
                img, _ = eng.sample_from(name, rng)
                if spec is not None:
                    prepare_line(img, spec)
            out[name] = n / (time.perf_counter() - t0)
    finally:
        eng.close()
    return out


def main() -> None:
    import argparse
    import os

    import cv2

    ap = argparse.ArgumentParser(description="Measure lines/s per source of the data engine (one thread).")
    ap.add_argument("--sources", default="pillow,html,html_photo,html_clean")
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--no-render", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from slim_ocr.contract import CRNN_INPUT

    res = measure(args.sources.split(","), args.n, pages=args.pages, render_missing=not args.no_render, spec=CRNN_INPUT)
    for k, v in res.items():
        print(f"{k:12s} {v:7.1f} lines/s  ({1000 / v:.2f} ms/line, incl. prepare_line at 32-px gray)")


if __name__ == "__main__":
    main()
