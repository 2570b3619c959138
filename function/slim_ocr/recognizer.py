"""ONNX Runtime CRNN recogniser: batched, width-grouped inference + CTC greedy decoding."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .charset import Charset, load_charset
from .ctc import greedy_decode
from .preprocess import WIDTH_STRIDE, make_batch, prepare_line

MODEL_DIR = Path(__file__).resolve().parents[1] / "model"
DEFAULT_MODEL = MODEL_DIR / "model.onnx"
MAX_BATCH = 32


def available_cpus() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def make_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or int(os.environ.get("OCR_THREADS", 0)) or min(available_cpus(), 4)
    opts.inter_op_num_threads = 1
    # Spin-waiting threads fight for the CPU on small/busy machines (Lambda, shared cores).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class Recognizer:
    def __init__(self, model_path: str | Path | None = None, charset_path: str | Path | None = None,
                 threads: int | None = None):
        self.model_path = Path(model_path or os.environ.get("MODEL_PATH") or DEFAULT_MODEL)
        charset_path = charset_path or self.model_path.with_name("charset.txt")
        self.charset: Charset = load_charset(str(charset_path))
        self.session = make_session(self.model_path, threads)
        out_classes = self.session.get_outputs()[0].shape[-1]
        if isinstance(out_classes, int) and out_classes != self.charset.num_classes:
            raise ValueError(f"model outputs {out_classes} classes, charset has {self.charset.num_classes}")
        meta_path = self.model_path.with_suffix(".json")
        self.meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        self.name = self.meta.get("name", self.model_path.stem)

    def recognize(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        """Line crops (any dtype/channels) -> [(text, confidence)], in input order."""
        return self.recognize_prepared([prepare_line(img) for img in images])

    def recognize_prepared(self, lines: list[np.ndarray]) -> list[tuple[str, float]]:
        if not lines:
            return []
        order = np.argsort([x.shape[1] for x in lines], kind="stable")  # similar widths batch together
        results: list[tuple[str, float]] = [("", 0.0)] * len(lines)
        for s in range(0, len(lines), MAX_BATCH):
            idx = order[s:s + MAX_BATCH]
            group = [lines[i] for i in idx]
            logits = self.session.run(None, {"images": make_batch(group)})[0]
            lengths = [x.shape[1] // WIDTH_STRIDE for x in group]
            for i, res in zip(idx, greedy_decode(logits, self.charset, lengths)):
                results[i] = res
        return results
