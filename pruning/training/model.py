"""CRNN recogniser: MobileNetV3-style conv backbone (BatchNorm after every conv) + BiLSTM + CTC head.

Input and output as in ``slim_ocr.contract.CRNN_INPUT`` (``CRNN.input_spec``): (B, 1, 32, W)
gray in [-1, 1]; output logits (T=W/4, B, num_classes), blank = 0.
Every conv is followed by BatchNorm so network slimming has one gamma per channel.
No squeeze-excite: it adds latency on CPU and gives pruning a harder dependency graph.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from slim_ocr.contract import CRNN_INPUT, InputSpec


def _ch(c: float) -> int:
    return max(8, int(round(c / 8)) * 8)


def conv_bn(cin, cout, k=3, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2 if isinstance(k, int) else (k[0] // 2, k[1] // 2),
                        groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.Hardswish())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise kxk (stride) -> project 1x1; residual when shapes match."""

    def __init__(self, cin, cexp, cout, k, stride):
        super().__init__()
        self.use_res = stride == 1 and cin == cout
        layers = []
        if cexp != cin:
            layers.append(conv_bn(cin, cexp, 1))
        layers += [conv_bn(cexp, cexp, k, stride, groups=cexp), conv_bn(cexp, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


# (kernel, expansion channels, out channels, stride (h, w)) -- MobileNetV3-small layout,
# width stride 4 overall, height 32 -> 2 before the final pooling.
_BLOCKS = [
    (3, 64, 24, (2, 2)),
    (3, 72, 24, 1),
    (5, 96, 40, (2, 1)),
    (5, 240, 40, 1),
    (5, 240, 40, 1),
    (5, 120, 48, 1),
    (5, 144, 48, 1),
    (5, 288, 96, (2, 1)),
    (5, 576, 96, 1),
    (5, 576, 96, 1),
]


@dataclass
class CRNNConfig:
    num_classes: int = 3941
    width_mult: float = 1.0
    last_channels: int = 288
    lstm_hidden: int = 96
    lstm_layers: int = 2

    def to_dict(self):
        return asdict(self)


class CRNN(nn.Module):
    input_spec: InputSpec = CRNN_INPUT   # what every consumer (data, evaluation, export, FLOPs) reads
    output_layout = "TBC"

    def __init__(self, cfg: CRNNConfig):
        super().__init__()
        self.cfg = cfg
        m = cfg.width_mult
        stem = _ch(16 * m)
        layers = [conv_bn(1, stem, 3, (2, 2))]
        cin = stem
        for k, exp, out, s in _BLOCKS:
            layers.append(InvertedResidual(cin, _ch(exp * m), _ch(out * m), k, s))
            cin = _ch(out * m)
        layers.append(conv_bn(cin, _ch(cfg.last_channels * m), 1))
        self.backbone = nn.Sequential(*layers)
        feat = _ch(cfg.last_channels * m)
        self.rnn = nn.LSTM(feat, cfg.lstm_hidden, num_layers=cfg.lstm_layers, bidirectional=True)
        self.head = nn.Linear(2 * cfg.lstm_hidden, cfg.num_classes)

    def forward(self, x):
        f = self.backbone(x)            # (B, C, 2, W/4)
        f = f.mean(dim=2)               # (B, C, T)  pool the remaining height
        f = f.permute(2, 0, 1)          # (T, B, C)
        f, _ = self.rnn(f)
        return self.head(f)             # (T, B, classes)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
