"""Copy ``OnnxLayer`` weights into PyTorch layers, checking every shape and attribute.

A PyTorch definition lists its parametric layers in execution order as ``Slot``s: a conv
with the BatchNorm after it, a conv with its own bias (SE), or a linear layer. ``load_slots``
pairs them one to one with the ONNX layers. A conv whose BatchNorm was folded by the
exporter gets an identity BatchNorm (weight 1, running mean 0, running var 1 - eps, so
``sqrt(var + eps)`` is 1) whose ``bias`` carries the folded bias: the function is unchanged
and every BatchNorm weight is a trainable channel scale again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .onnx_layers import OnnxLayer


class MappingError(ValueError):
    """The ONNX graph does not fit the PyTorch definition (message names both layers)."""


@dataclass
class Slot:
    name: str                               # module path in the PyTorch definition
    layer: nn.Conv2d | nn.Linear
    bn: nn.BatchNorm2d | None = None


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _pads(conv: nn.Conv2d) -> tuple[int, int, int, int]:
    ph, pw = conv.padding
    return (ph, pw, ph, pw)


def _check_conv(slot: Slot, src: OnnxLayer) -> None:
    conv = slot.layer
    where = f"{slot.name} <- ONNX {src.name}"
    if src.kind != "conv" or not isinstance(conv, nn.Conv2d):
        raise MappingError(f"{where}: {type(conv).__name__} vs ONNX {src.kind}")
    if tuple(conv.weight.shape) != tuple(src.weight.shape):
        raise MappingError(f"{where}: weight {tuple(conv.weight.shape)} vs {tuple(src.weight.shape)}")
    for what, mine, theirs in (("stride", tuple(conv.stride), tuple(src.stride)),
                               ("groups", conv.groups, src.groups),
                               ("dilation", tuple(conv.dilation), tuple(src.dilation)),
                               ("pads", _pads(conv), tuple(src.pads))):
        if mine != theirs:
            raise MappingError(f"{where}: {what} {mine} vs {theirs}")
    if src.extra.get("auto_pad"):
        raise MappingError(f"{where}: auto_pad {src.extra['auto_pad']} is not supported")


def _load_bn(bn: nn.BatchNorm2d, src: OnnxLayer) -> None:
    """BatchNorm after a bias-free conv: the ONNX one, else identity carrying the folded bias."""
    c = bn.num_features
    bias = np.zeros(c, np.float32) if src.bias is None else src.bias
    if src.bn is not None:
        b = src.bn
        # BN(conv(x) + bias) = BN'(conv(x)) with the mean shifted by the bias
        weight, beta, mean, var, eps = b.weight, b.bias, b.mean - bias, b.var, b.eps
    else:
        eps = bn.eps
        weight, beta, mean = np.ones(c, np.float32), bias, np.zeros(c, np.float32)
        var = np.full(c, 1.0 - eps, np.float32)
    bn.eps = float(eps)
    bn.weight.data.copy_(_t(weight))
    bn.bias.data.copy_(_t(beta))
    bn.running_mean.copy_(_t(mean))
    bn.running_var.copy_(_t(var))
    bn.num_batches_tracked.zero_()


def load_slot(slot: Slot, src: OnnxLayer) -> None:
    where = f"{slot.name} <- ONNX {src.name}"
    if isinstance(slot.layer, nn.Linear):
        lin = slot.layer
        if src.kind != "linear" or tuple(lin.weight.shape) != tuple(src.weight.shape):
            raise MappingError(f"{where}: Linear {tuple(lin.weight.shape)} vs ONNX {src.kind} "
                               f"{tuple(src.weight.shape)}")
        lin.weight.data.copy_(_t(src.weight))
        if lin.bias is not None:
            lin.bias.data.copy_(_t(src.bias if src.bias is not None else np.zeros(lin.out_features)))
        elif src.bias is not None:
            raise MappingError(f"{where}: ONNX has a bias, the Linear has none")
        return
    _check_conv(slot, src)
    slot.layer.weight.data.copy_(_t(src.weight))
    if slot.bn is not None:
        if slot.layer.bias is not None:
            raise MappingError(f"{slot.name}: a conv followed by BatchNorm must have no bias")
        _load_bn(slot.bn, src)
        return
    if src.bn is not None:
        raise MappingError(f"{where}: ONNX has a BatchNormalization, the definition has none here")
    if slot.layer.bias is not None:
        slot.layer.bias.data.copy_(_t(src.bias if src.bias is not None else np.zeros(slot.layer.out_channels)))
    elif src.bias is not None:
        raise MappingError(f"{where}: ONNX has a bias, the conv has none")


def load_slots(slots: list[Slot], layers: list[OnnxLayer]) -> None:
    """Copy ``layers`` (ONNX order) into ``slots`` (the definition's order), one to one."""
    if len(slots) != len(layers):
        raise MappingError(f"{len(slots)} parametric layers in the definition, {len(layers)} in the ONNX graph")
    with torch.no_grad():
        for slot, src in zip(slots, layers):
            load_slot(slot, src)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def all_trainable(model: nn.Module) -> bool:
    """Every floating tensor that shapes the output is an nn.Parameter with requires_grad
    (BatchNorm running statistics excepted: they are statistics, not weights)."""
    stats = {"running_mean", "running_var", "num_batches_tracked"}
    for name, buf in model.named_buffers():
        if name.rsplit(".", 1)[-1] not in stats and buf.is_floating_point():
            return False
    return all(p.requires_grad for p in model.parameters())


@torch.no_grad()
def run_hooked(model: nn.Module, batches, hooks: list) -> None:
    """Run ``batches`` through ``model`` in eval mode (statistics-collecting hooks see every
    batch), then remove ``hooks`` and restore the model's train/eval mode."""
    was_training = model.training
    model.eval()
    try:
        for x in batches:
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)


@torch.no_grad()
def recalibrate_bn(model: nn.Module, slots: list[Slot], batches) -> int:
    """Give each BatchNorm the statistics its conv output really has, without changing the
    eval-mode function: with the conv output's mean m and variance s2 over ``batches``,
    running (m, s2), weight scaled by sqrt(s2 + eps) / sqrt(var + eps), bias shifted to match.

    After it, train-mode BatchNorm (batch statistics) starts near the imported function
    instead of re-normalising the folded convs, and each BN weight is the channel's output
    scale (the folded gamma, roughly), a usable importance for slimming. Returns the number
    of BatchNorms recalibrated. ``batches``: iterable of input tensors.
    """
    pairs = [(s.layer, s.bn) for s in slots if s.bn is not None]
    sums = {id(bn): [0.0, 0.0, 0] for _, bn in pairs}
    hooks = []
    for conv, bn in pairs:
        def hook(_m, _inp, out, key=id(bn)):
            z = out.double().transpose(0, 1).reshape(out.shape[1], -1)
            acc = sums[key]
            acc[0] = acc[0] + z.sum(1)
            acc[1] = acc[1] + (z * z).sum(1)
            acc[2] += z.shape[1]
        hooks.append(conv.register_forward_hook(hook))
    run_hooked(model, batches, hooks)
    for _, bn in pairs:
        s1, s2, n = sums[id(bn)]
        if n == 0:
            continue
        m = s1 / n
        var = (s2 / n - m * m).clamp_min(0.0)
        old = (bn.running_var.double() + bn.eps).sqrt()
        new = (var + bn.eps).sqrt()
        w = bn.weight.double()
        bn.bias.copy_((bn.bias.double() + w * (m - bn.running_mean.double()) / old).float())
        bn.weight.copy_((w * new / old).float())
        bn.running_mean.copy_(m.float())
        bn.running_var.copy_(var.float())
    return len(pairs)
