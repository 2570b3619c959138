"""Check an imported recogniser against the ONNX file it came from, with ONNX Runtime.

On rendered lines (each at its own width, then all in one zero-padded batch) and on noise
at fixed widths: the largest absolute difference of the probabilities, the share of frames
whose argmax agrees, and the greedily decoded text of both (and the expected text).
Preprocessing and decoding are the service's own (``slim_ocr.preprocess``, ``slim_ocr.ctc``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from slim_ocr.charset import Charset
from slim_ocr.contract import InputSpec
from slim_ocr.ctc import greedy_decode
from slim_ocr.preprocess import make_batch, prepare_line
from slim_ocr.runtime import make_session

from .lines import SAMPLE_LINES, render_line
from slim_ocr.contract import PPOCR_INPUT

NOISE_WIDTHS = (16, 160, 320, 1024, 2048)


@dataclass
class Row:
    case: str
    width: int
    frames: int
    max_abs_diff: float
    argmax_agree: float
    text_ref: str = ""
    text: str = ""
    expected: str | None = None

    @property
    def text_ok(self) -> bool:
        return self.text_ref == self.text and (self.expected is None or self.text == self.expected)


def torch_probs(model: torch.nn.Module, batch: np.ndarray) -> np.ndarray:
    """(B, T, C) softmax probabilities of a logits module."""
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(batch)), dim=-1).numpy()


class OrtReference:
    """The original ONNX file in ONNX Runtime (one thread), returning (B, T, C) probabilities."""

    def __init__(self, onnx_path, threads: int = 1):
        self.session = make_session(onnx_path, threads)
        self.input = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: batch})[0]


def as_probs(model_or_path):
    """A callable batch -> (B, T, C) probabilities: a logits module, an ONNX path, or such a callable."""
    if isinstance(model_or_path, torch.nn.Module):
        model_or_path.eval()
        return lambda batch: torch_probs(model_or_path, batch)
    if callable(model_or_path):
        return model_or_path
    return OrtReference(model_or_path)


def _rows(case: str, ref: np.ndarray, out: np.ndarray, widths: list[int], charset: Charset | None,
          expected: list[str | None], spec: InputSpec) -> list[Row]:
    lengths = [spec.frames(w) for w in widths]
    texts_ref = greedy_decode(ref.transpose(1, 0, 2), charset, lengths, "softmax") if charset else None
    texts_out = greedy_decode(out.transpose(1, 0, 2), charset, lengths, "softmax") if charset else None
    rows = []
    for b, (w, t) in enumerate(zip(widths, lengths)):
        r, o = ref[b, :t], out[b, :t]
        rows.append(Row(case, w, t, float(np.abs(r - o).max()), float((r.argmax(-1) == o.argmax(-1)).mean()),
                        texts_ref[b][0] if texts_ref else "", texts_out[b][0] if texts_out else "", expected[b]))
    return rows


def verify(candidate, reference, chars: list[str] | None, spec: InputSpec = PPOCR_INPUT,
           lines: list[str] = SAMPLE_LINES, noise_widths=NOISE_WIDTHS, seed: int = 0) -> list[Row]:
    """Rows for each rendered line alone, the lines as one padded batch, and noise inputs.

    ``candidate`` and ``reference``: a logits module, an ONNX path or a callable batch ->
    probabilities (see ``as_probs``); ``chars`` the charset (None: no decoding)."""
    model, reference = as_probs(candidate), as_probs(reference)
    charset = Charset(chars) if chars else None
    prepared = [prepare_line(render_line(t), spec) for t in lines]
    rows = []
    for text, line in zip(lines, prepared):
        batch = make_batch([line], spec)
        rows += _rows("line", reference(batch), model(batch), [line.shape[1]], charset, [text], spec)
    if prepared:
        batch = make_batch(prepared, spec)
        widths = [x.shape[1] for x in prepared]
        rows += _rows("batch", reference(batch), model(batch), widths, charset, list(lines), spec)
    rng = np.random.default_rng(seed)
    for w in noise_widths:
        batch = rng.uniform(-1, 1, (1, spec.channels, spec.height, w)).astype(np.float32)
        rows += _rows("noise", reference(batch), model(batch), [w], None, [None], spec)
    return rows


def summary(rows: list[Row]) -> dict:
    frames = sum(r.frames for r in rows)
    return {"max_abs_diff": max(r.max_abs_diff for r in rows),
            "argmax_agree": sum(r.argmax_agree * r.frames for r in rows) / frames,
            "texts_equal": all(r.text_ok for r in rows if r.case != "noise"),
            "frames": frames}


def table(rows: list[Row]) -> str:
    head = f"{'case':<6} {'width':>5} {'T':>4} {'max|dp|':>9} {'argmax':>7}  decoded text  [check]"
    out = [head, "-" * len(head)]
    for r in rows:
        verdict = "ok" if r.text_ok else f"DIFF: reference {r.text_ref!r}, expected {r.expected!r}"
        text = "" if r.case == "noise" else f"  {r.text!r}  [{verdict}]"
        out.append(f"{r.case:<6} {r.width:>5} {r.frames:>4} {r.max_abs_diff:>9.2e} {r.argmax_agree:>7.2%}{text}")
    s = summary(rows)
    out.append(f"all: max|dp| {s['max_abs_diff']:.2e}, argmax agreement {s['argmax_agree']:.4%} over "
               f"{s['frames']} frames, texts {'equal' if s['texts_equal'] else 'DIFFER'}")
    return "\n".join(out)
