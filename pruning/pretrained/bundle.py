"""Write a PP-OCR recogniser as a service bundle: ``model.onnx``, ``charset.txt``, ``model.json``.

The contract is PP-OCR's input (``slim_ocr.contract.PPOCR_INPUT``), a (B, T, C) softmax output over
blank + charset, the provenance (package==version:member, never an absolute path) and
figures measured here: parameters (ONNX initializer elements), file bytes and the p50
latency of one 48x320 line on one ORT thread.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pruning.evaluation.cost import latency_ms, onnx_params
from slim_ocr.bundle import ModelBundle, write_bundle
from slim_ocr.contract import PPOCR_INPUT, InputSpec, Measured, ModelContract, OutputSpec, Provenance

REFERENCE_LINE = (48, 320)
LICENCE = "Apache-2.0 (PaddleOCR, PaddlePaddle Authors)"


def write_charset(chars: list[str], path: str | Path) -> Path:
    """One entry a line in class order (blank excluded); the last line is the space."""
    if any("\n" in c or "\r" in c for c in chars):
        raise ValueError("a charset entry contains a line break")
    path = Path(path)
    path.write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    return path


def latency_1t(onnx_path: Path, spec: InputSpec, runs: int = 200) -> float:
    """p50 ms of one line of the spec's height x 320 on one ORT thread."""
    return round(latency_ms({"m": (onnx_path, spec)}, runs=runs, width=REFERENCE_LINE[1])["m"], 3)


def write_ppocr_bundle(dest: str | Path, onnx_path: str | Path, chars: list[str], name: str, made_from: str,
                       made_by: list[str], command: str, description: str = "", notes: str = "",
                       spec: InputSpec = PPOCR_INPUT, output_name: str | None = None,
                       accuracy: dict | None = None, activation: str = "softmax") -> ModelBundle:
    """Copy ``onnx_path`` and the charset into ``dest`` with a contract; returns the loaded bundle."""
    onnx_path = Path(onnx_path)
    measured = Measured(date=time.strftime("%Y-%m-%d"), command=command, params=onnx_params(onnx_path),
                        file_bytes=onnx_path.stat().st_size,
                        latency_ms_1t=latency_1t(onnx_path, spec),
                        reference_line=f"{spec.height}x{REFERENCE_LINE[1]}", accuracy=accuracy or {})
    contract = ModelContract(
        name=name, description=description, input=spec,
        output=OutputSpec(name=output_name, layout="BTC", activation=activation, num_classes=len(chars) + 1,
                          charset="charset.txt", charset_sha256="0" * 64, text_fold="none"),
        provenance=Provenance(made_from=made_from, made_by=made_by, licence=LICENCE, notes=notes),
        measured=measured)
    with tempfile.TemporaryDirectory() as tmp:
        charset = write_charset(chars, Path(tmp) / "charset.txt")
        return write_bundle(dest, onnx_path, charset, contract)  # stamps the charset's sha256
