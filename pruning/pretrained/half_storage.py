"""ONNX weights stored in float16 and computed in float32, to halve a shipped file.

Each float32 initializer of at least ``min_elements`` values becomes a float16 initializer
followed by a ``Cast`` back to float32. ONNX Runtime folds those casts when it builds the
session, so the graph runs in float32 exactly as before; only the weights' rounding to float16
changes the outputs (the caller measures by how much). Used where the Lambda package's size
budget is tight (``pruning.pretrained.orientation``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def store_half(src: str | Path, dst: str | Path, min_elements: int = 1024) -> dict:
    """Write ``src`` with half-precision storage to ``dst``; returns the sizes and the count converted."""
    model = onnx.load(str(src))
    g = model.graph
    graph_inputs = {i.name for i in g.input}
    keep, casts, converted = [], [], 0
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            keep.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
        keep.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + "__to_fp32"))
        converted += 1
        if init.name in graph_inputs:                  # IR < 4 lists initializers among the inputs
            g.input.remove(next(i for i in g.input if i.name == init.name))
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return {"bytes_before": Path(src).stat().st_size, "bytes_after": Path(dst).stat().st_size,
            "initializers_half": converted}
