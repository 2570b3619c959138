"""What a model costs, measured alike for every model (ours, imported, the peers'): parameters
of an ONNX file and 1-thread ONNX Runtime latency of a reference line."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from slim_ocr.bundle import ModelBundle
from slim_ocr.runtime import interleaved_latency_ms, make_session, session_runner

REF_WIDTH = 320   # the reference line: the model's height x 320 columns


def onnx_params(path: str | Path) -> int:
    """Elements in an ONNX model's initializers (parameters, incl. quantisation scales), plus
    those of Constant nodes, where some exporters (paddle2onnx) keep the weights."""
    import onnx  # noqa: PLC0415
    model = onnx.load(str(path), load_external_data=False)
    tensors = list(model.graph.initializer)
    tensors += [a.t for n in model.graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"]
    return int(sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in tensors))


def latency_ms(models: dict, runs: int = 200, width: int = REF_WIDTH, rounds: int = 10) -> dict[str, float]:
    """p50 ms per reference line (contract height x ``width``), ORT, 1 thread, timed in
    interleaved rounds. ``models``: name -> bundle folder, or name -> (ONNX file, InputSpec)."""
    runners = {}
    for name, m in models.items():
        if isinstance(m, tuple):
            path, spec = m
        else:
            b = ModelBundle.load(m)
            path, spec = b.model_path, b.contract.input
        x = np.random.default_rng(0).uniform(-1, 1, (1, spec.channels, spec.height, width)).astype(np.float32)
        runners[name] = session_runner(make_session(path, 1), {spec.name: x})
    return interleaved_latency_ms(runners, runs=runs, rounds=rounds)
