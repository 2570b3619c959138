"""ONNX Runtime line recogniser for any bundle: contract-driven preprocessing, width-grouped
batching (``preprocess.width_groups``) and CTC greedy decoding.

Threads: a page's batches run at once on ``threads`` single-threaded runs of one session
(``preprocess.worker_batches``; ONNX Runtime releases the GIL) rather than one run at a time
with ``threads`` intra-op threads: a line model's small convolutions split poorly across
threads (20-line page, 2 CPUs: 140-157 ms with a 2-thread session, 93-95 ms as two 1-thread
runs; `bench/service_bench.py`)."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from .bundle import ModelBundle
from .ctc import greedy_decode
from .preprocess import WIDTH_RATIO, make_batch, prepare_line, worker_batches
from .runtime import default_threads, make_session, worker_pool


class Recognizer:
    """``Recognizer("crnn")``, ``Recognizer(path_to_bundle)`` or ``Recognizer()`` (OCR_MODEL / default).
    Fails on construction, naming the file, when the ONNX model disagrees with its contract."""

    def __init__(self, bundle: ModelBundle | str | Path | None = None, threads: int | None = None):
        self.bundle = bundle if isinstance(bundle, ModelBundle) else ModelBundle.load(bundle)
        self.contract = self.bundle.contract
        self.spec = self.contract.input
        self.charset = self.bundle.charset
        self.threads = threads or default_threads()   # batches run at once (one intra-op thread each)
        self.width_ratio = WIDTH_RATIO      # batches cut where a line is this much wider (preprocess.width_groups)
        self.session = make_session(self.bundle.model_path, 1)
        self.contract.check_onnx_io(self.bundle.model_path, self.session.get_inputs(), self.session.get_outputs())
        self._output = self.contract.output_arg(self.session.get_outputs()).name

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def model_path(self) -> Path:
        return self.bundle.model_path

    def prepare(self, img: np.ndarray) -> np.ndarray:
        return prepare_line(img, self.spec)

    def recognize(self, images: list[np.ndarray], char_probs: bool = False) -> list[tuple]:
        """Line crops (any dtype/channels) -> [(text, confidence)], in input order; with
        ``char_probs`` [(text, confidence, per-character probabilities or None)] (None where the
        contract's text fold changed the text's length)."""
        return self.recognize_prepared([self.prepare(img) for img in images], char_probs)

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """Raw model output for a prepared batch, as (T, B, C)."""
        out = self.session.run([self._output], {self.spec.name: batch})[0]
        return out if self.contract.output.layout == "TBC" else out.transpose(1, 0, 2)

    def recognize_prepared(self, lines: list[np.ndarray], char_probs: bool = False) -> list[tuple]:
        if not lines:
            return []
        results: list[tuple] = [("", 0.0)] * len(lines)
        shares = worker_batches([x.shape[1] for x in lines], self.threads, ratio=self.width_ratio)
        pool = worker_pool(self.threads) if len(shares) > 1 else None
        pending = [pool.submit(self._run_share, lines, share, results, char_probs) for share in shares[1:]]
        self._run_share(lines, shares[0], results, char_probs)     # the caller's thread takes the first share
        for f in pending:
            f.result()
        return results

    def _run_share(self, lines: list[np.ndarray], batches: list[list[int]], results: list,
                   char_probs: bool = False) -> None:
        out = self.contract.output
        for idx in batches:
            group = [lines[i] for i in idx]
            scores = self.scores(make_batch(group, self.spec))
            lengths = [self.spec.frames(x.shape[1]) for x in group]
            for i, decoded in zip(idx, greedy_decode(scores, self.charset, lengths, out.activation, char_probs)):
                text = self.fold(decoded[0])
                if char_probs:     # per character as decoded: none once the fold changed the length
                    results[i] = (text, decoded[1], decoded[2] if len(text) == len(decoded[0]) else None)
                else:
                    results[i] = (text, decoded[1])

    def fold(self, text: str) -> str:
        if self.contract.output.text_fold == "nfkc":
            text = unicodedata.normalize("NFKC", text)
        return text
