"""The parametric layers of an ONNX recogniser, in execution order, with their weights.

Paddle2ONNX exports PP-OCR with BatchNorm folded into most convolutions: ``Conv`` (no bias)
followed by ``Add`` of a (1, C, 1, 1) constant. A few BatchNorms stay unfolded
(``BatchNormalization`` after a conv, possibly behind ``Squeeze``/``Identity``). Dense layers
are ``MatMul`` with a (in, out) constant + ``Add`` of the bias, or ``Gemm``. This module
reads each such layer as one ``OnnxLayer``: weight in PyTorch layout, the bias that follows
it and the BatchNorm that follows that, plus the conv attributes needed to check a PyTorch
definition against the graph. Weights live in initializers or ``Constant`` nodes (v4).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

# Ops a value passes through unchanged (for finding what follows a layer / feeds it).
_PASS = {"Identity", "Squeeze", "Unsqueeze"}


@dataclass
class BatchNorm:
    weight: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float


@dataclass
class OnnxLayer:
    kind: str                       # "conv" or "linear"
    name: str                       # ONNX node name
    weight: np.ndarray              # conv (O, I/groups, kh, kw); linear (out, in)
    bias: np.ndarray | None = None  # the node's own bias plus an Add of a constant right after
    bn: BatchNorm | None = None     # an unfolded BatchNormalization after that
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    fed_by: str = ""                # op type that produces the layer's input (e.g. ReduceMean for SE)
    extra: dict = field(default_factory=dict)

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1] * self.groups) if self.kind == "conv" else int(self.weight.shape[1])

    @property
    def depthwise(self) -> bool:
        return self.kind == "conv" and self.groups > 1 and self.groups == self.out_channels == self.in_channels

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(int(k) for k in self.weight.shape[2:])

    def describe(self) -> str:
        tail = f" s{self.stride} g{self.groups}" if self.kind == "conv" else ""
        norm = "+bn" if self.bn is not None else ""
        bias = "+b" if self.bias is not None else ""
        return f"{self.kind} {self.name} {tuple(self.weight.shape)}{tail}{bias}{norm} <- {self.fed_by}"


class OnnxGraph:
    """Constants, producers, consumers of an ONNX graph, with Identity aliases resolved."""

    def __init__(self, model: onnx.ModelProto | str | Path):
        if not isinstance(model, onnx.ModelProto):
            model = onnx.load(str(model))
        self.model = model
        g = model.graph
        self.const: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        self.const[n.output[0]] = numpy_helper.to_array(a.t)
        self.alias: dict[str, str] = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity"}
        self.nodes = [n for n in g.node if n.op_type not in ("Identity", "Constant")]
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(self.resolve(i), []).append(n)

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def constant(self, name: str) -> np.ndarray | None:
        return self.const.get(self.resolve(name))

    def attrs(self, node) -> dict:
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def next_node(self, value: str):
        """The single consumer of ``value`` past pass-through ops (None if 0 or several)."""
        value = self.resolve(value)
        while True:
            users = self.consumers.get(value, [])
            if len(users) != 1:
                return None
            n = users[0]
            if n.op_type not in _PASS:
                return n
            value = self.resolve(n.output[0])

    def feeder(self, value: str) -> str:
        """Op type producing ``value``, looking through pass-through ops ("input" for a graph input)."""
        value = self.resolve(value)
        while value in self.producer:
            n = self.producer[value]
            if n.op_type not in _PASS:
                return n.op_type
            value = self.resolve(n.input[0])
        return "input"

    def ops(self, op_type: str) -> list:
        return [n for n in self.nodes if n.op_type == op_type]

    def _bias_after(self, node, channels: int):
        """(bias, last node) for an Add of a ``channels``-element constant right after ``node``."""
        nxt = self.next_node(node.output[0])
        if nxt is None or nxt.op_type != "Add":
            return None, node
        for i in nxt.input:
            c = self.constant(i)
            if c is not None and c.size == channels and c.ndim >= 1:
                return c.reshape(-1).astype(np.float32), nxt
        return None, node

    def _bn_after(self, node, channels: int):
        nxt = self.next_node(node.output[0])
        if nxt is None or nxt.op_type != "BatchNormalization":
            return None, node
        scale, b, mean, var = (self.constant(i) for i in nxt.input[1:5])
        if any(x is None or x.size != channels for x in (scale, b, mean, var)):
            return None, node
        eps = float(self.attrs(nxt).get("epsilon", 1e-5))
        return BatchNorm(*(x.astype(np.float32) for x in (scale, b, mean, var)), eps), nxt

    def _conv(self, n) -> OnnxLayer | None:
        w = self.constant(n.input[1])
        if w is None or w.ndim not in (3, 4):
            return None
        a = self.attrs(n)
        bias = self.constant(n.input[2]).astype(np.float32) if len(n.input) > 2 and n.input[2] else None
        stride, dilation = list(a.get("strides", [1, 1])), list(a.get("dilations", [1, 1]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if w.ndim == 3:  # Conv1d: read as a (1, k) Conv2d
            w, stride, dilation = w[:, :, None, :], [1, stride[0]], [1, dilation[0]]
            pads = [0, pads[0], 0, pads[1]]
        layer = OnnxLayer("conv", n.name, w.astype(np.float32), bias, stride=tuple(stride), pads=tuple(pads),
                          dilation=tuple(dilation), groups=int(a.get("group", 1)), fed_by=self.feeder(n.input[0]))
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            layer.extra["auto_pad"] = a["auto_pad"]
        return self._follow(layer, n)

    def _linear(self, n) -> OnnxLayer | None:
        if n.op_type == "MatMul":
            w = self.constant(n.input[1])
            if w is None or w.ndim != 2:
                return None
            layer = OnnxLayer("linear", n.name, np.ascontiguousarray(w.T).astype(np.float32),
                              fed_by=self.feeder(n.input[0]))
        else:  # Gemm: alpha * A' B' + beta * C
            a = self.attrs(n)
            w = self.constant(n.input[1])
            if w is None or a.get("transA", 0):
                return None
            w = w if a.get("transB", 0) else w.T
            w = w * a.get("alpha", 1.0)
            c = self.constant(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            bias = None if c is None else (c.reshape(-1) * a.get("beta", 1.0)).astype(np.float32)
            layer = OnnxLayer("linear", n.name, np.ascontiguousarray(w).astype(np.float32), bias,
                              fed_by=self.feeder(n.input[0]))
        return self._follow(layer, n)

    def _follow(self, layer: OnnxLayer, node) -> OnnxLayer:
        """Absorb the Add (bias) and BatchNormalization that directly follow ``node``."""
        ch = layer.out_channels
        add, last = self._bias_after(node, ch)
        if add is not None:
            layer.bias = add if layer.bias is None else layer.bias + add
        layer.bn, _ = self._bn_after(last, ch) if layer.kind == "conv" else (None, last)
        return layer

    def layers(self) -> list[OnnxLayer]:
        """Every Conv / MatMul / Gemm with constant weights, in graph (execution) order."""
        out = []
        for n in self.nodes:
            layer = self._conv(n) if n.op_type == "Conv" else (
                self._linear(n) if n.op_type in ("MatMul", "Gemm") else None)
            if layer is not None:
                out.append(layer)
        return out


def read_layers(model: onnx.ModelProto | str | Path) -> list[OnnxLayer]:
    return OnnxGraph(model).layers()
