"""ONNX Runtime line recogniser for any bundle: contract-driven preprocessing, width-grouped
batching (``preprocess.width_groups``) and CTC greedy decoding."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from .bundle import ModelBundle
from .ctc import greedy_decode
from .preprocess import WIDTH_RATIO, make_batch, prepare_line, width_groups
from .runtime import make_session


class Recognizer:
    """``Recognizer("crnn")``, ``Recognizer(path_to_bundle)`` or ``Recognizer()`` (OCR_MODEL / default).
    Fails on construction, naming the file, when the ONNX model disagrees with its contract."""

    def __init__(self, bundle: ModelBundle | str | Path | None = None, threads: int | None = None):
        self.bundle = bundle if isinstance(bundle, ModelBundle) else ModelBundle.load(bundle)
        self.contract = self.bundle.contract
        self.spec = self.contract.input
        self.charset = self.bundle.charset
        self.threads = threads
        self.width_ratio = WIDTH_RATIO      # batches cut where a line is this much wider (preprocess.width_groups)
        self.session = make_session(self.bundle.model_path, threads)
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

    def recognize(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """Line crops (any dtype/channels) -> [(text, confidence)], in input order."""
        return self.recognize_prepared([self.prepare(img) for img in images])

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """Raw model output for a prepared batch, as (T, B, C)."""
        out = self.session.run([self._output], {self.spec.name: batch})[0]
        return out if self.contract.output.layout == "TBC" else out.transpose(1, 0, 2)

    def recognize_prepared(self, lines: list[np.ndarray]) -> list[tuple[str, float]]:
        if not lines:
            return []
        results: list[tuple[str, float]] = [("", 0.0)] * len(lines)
        out = self.contract.output
        for idx in width_groups([x.shape[1] for x in lines], ratio=self.width_ratio):
            group = [lines[i] for i in idx]
            scores = self.scores(make_batch(group, self.spec))
            lengths = [self.spec.frames(x.shape[1]) for x in group]
            for i, (text, conf) in zip(idx, greedy_decode(scores, self.charset, lengths, out.activation)):
                results[i] = (self.fold(text), conf)
        return results

    def fold(self, text: str) -> str:
        if self.contract.output.text_fold == "nfkc":
            text = unicodedata.normalize("NFKC", text)
        return text
