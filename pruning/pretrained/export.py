"""Re-export an imported (or compressed) PP-OCR module to ONNX, as PP-OCR ships it.

Opset 17, TorchScript exporter (keeps batch and width dynamic; eval-mode BatchNorm is folded
into the convs on the way), input ``images`` (B, 3, 48, W), output ``probs`` (B, W/8, C)
softmax probabilities: the softmax the module leaves to its callers is added back here, so
the bundle's contract says ``activation: softmax`` like the original's. With
``softmax=False`` the output is ``logits`` (contract ``activation: logits``): the service's
CTC decoder needs only each kept step's max probability, and a 5.6 k-class softmax over every
frame was 5 % of a compressed student's time.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

OPSET = 17
INPUT = "images"
OUTPUT = "probs"
OUTPUT_LOGITS = "logits"


class WithSoftmax(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images):
        return torch.softmax(self.model(images), dim=-1)


def export_onnx(model: nn.Module, path: str | Path, height: int = 48, width: int = 320,
                softmax: bool = True) -> Path:
    """Write ``model`` (logits module) to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = (WithSoftmax(model) if softmax else model).eval()  # a new wrapper is in training mode
    dummy = torch.zeros(1, 3, height, width)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        out = OUTPUT if softmax else OUTPUT_LOGITS
        torch.onnx.export(net, (dummy,), str(tmp), input_names=[INPUT], output_names=[out],
                          dynamic_axes={INPUT: {0: "batch", 3: "width"}, out: {0: "batch", 1: "time"}},
                          opset_version=OPSET, do_constant_folding=True, dynamo=False,
                          training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(str(tmp))
    onnx.checker.check_model(m)
    tmp.replace(path)
    return path


def onnx_io(path: str | Path) -> dict:
    """Names and shapes (ints or symbols) of a model's inputs and outputs, and its opset."""
    m = onnx.load(str(path), load_external_data=False)

    def dims(v):
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
    return {"inputs": {v.name: dims(v) for v in m.graph.input},
            "outputs": {v.name: dims(v) for v in m.graph.output},
            "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))}
