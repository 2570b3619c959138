"""PP-OCRv6-tiny recogniser as a trainable PyTorch module (PP-LCNetV4 small + conv neck + CTC head).

Written from the structure of the ONNX graph PaddleOCR ships (and cross-read with the
PyTorch definition in transformers' ``pp_ocrv6_tiny_rec`` / ``pp_lcnet_v4``):

* stem: 3x3/2 conv-BN-GELU, 3x3/2 conv-BN (height 48 -> 12, width W -> W/4);
* blocks: depthwise kxk conv-BN (stride (2, 1) to downsample height) -> optional
  squeeze-excite (ReLU / hard-sigmoid) -> 1x1 conv-BN -> GELU -> 1x1 conv-BN, with a residual
  around the two 1x1 convs when the block keeps its shape (the "rep" depthwise conv of the
  original is already re-parameterised into one kernel);
* avg-pool (3, 2): height 3 -> 1, width W/4 -> W/8 (one frame per 8 input columns);
* neck: depthwise (1, 5) conv-BN-hardswish, 1x1 conv-BN-hardswish;
* head: linear -> linear (no activation between) -> logits over blank + charset.

Unlike the shipped graph, every conv except the squeeze-excite ones is followed by a
BatchNorm (identity where the exporter folded it, see ``mapping``), and the module returns
logits (B, T, C): callers apply log_softmax / softmax. Every size is in ``TinyRecConfig``,
so a pruned network is the same class with smaller numbers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from slim_ocr.contract import PPOCR_INPUT
from torch import nn

from .mapping import MappingError, Slot, load_slots
from .onnx_layers import OnnxGraph, OnnxLayer

HEIGHT = 48
STRIDE = 8


@dataclass
class BlockConfig:
    cin: int
    cout: int
    kernel: int = 3
    stride: tuple[int, int] = (1, 1)
    se: int = 0        # squeeze-excite hidden channels (0: none)
    ffn: int = 0       # hidden channels of the 1x1 pair (default 2 * cin)

    def __post_init__(self):
        self.stride = tuple(self.stride)
        self.ffn = self.ffn or 2 * self.cin

    @property
    def residual(self) -> bool:
        return self.cin == self.cout and self.stride == (1, 1)


@dataclass
class TinyRecConfig:
    stem: tuple[int, int, int] = (3, 24, 48)
    blocks: list[BlockConfig] = field(default_factory=list)
    pool: tuple[int, int] = (3, 2)
    neck_kernel: int = 5
    neck: int = 160           # neck output channels
    hidden: int = 80          # first linear's width
    num_classes: int = 6906   # blank + charset

    def __post_init__(self):
        self.stem, self.pool = tuple(self.stem), tuple(self.pool)
        self.blocks = [b if isinstance(b, BlockConfig) else BlockConfig(**b) for b in self.blocks]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TinyRecConfig":
        return cls(**d)


class ConvBN(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: tuple[int, int] | int, stride=1, groups: int = 1,
                 act: nn.Module | None = None):
        super().__init__()
        k = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
        self.conv = nn.Conv2d(cin, cout, k, stride, ((k[0] - 1) // 2, (k[1] - 1) // 2), groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act if act is not None else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(s))))


class Block(nn.Module):
    def __init__(self, cfg: BlockConfig):
        super().__init__()
        self.residual = cfg.residual
        self.token = ConvBN(cfg.cin, cfg.cin, cfg.kernel, cfg.stride, groups=cfg.cin)
        self.se = SqueezeExcite(cfg.cin, cfg.se) if cfg.se else nn.Identity()
        self.ffn1 = ConvBN(cfg.cin, cfg.ffn, 1, act=nn.GELU())
        self.ffn2 = ConvBN(cfg.ffn, cfg.cout, 1)

    def forward(self, x):
        x = self.se(self.token(x))
        y = self.ffn2(self.ffn1(x))
        return x + y if self.residual else y

    def slots(self, prefix: str) -> list[Slot]:
        out = [Slot(f"{prefix}.token", self.token.conv, self.token.bn)]
        if isinstance(self.se, SqueezeExcite):
            out += [Slot(f"{prefix}.se.reduce", self.se.reduce), Slot(f"{prefix}.se.expand", self.se.expand)]
        return out + [Slot(f"{prefix}.ffn1", self.ffn1.conv, self.ffn1.bn),
                      Slot(f"{prefix}.ffn2", self.ffn2.conv, self.ffn2.bn)]


class PPOCRv6TinyRec(nn.Module):
    """(B, 3, 48, W) normalised BGR -> (B, W / 8, num_classes) logits; class 0 is the CTC blank.

    ``input_spec`` / ``output_layout``: the contract's input and the logits' layout, read by
    ``pruning.evaluation.predict`` and the compression code."""

    input_spec = PPOCR_INPUT
    output_layout = "BTC"

    def __init__(self, cfg: TinyRecConfig):
        super().__init__()
        self.cfg = cfg
        c0, c1, c2 = cfg.stem
        self.stem1 = ConvBN(c0, c1, 3, 2, act=nn.GELU())
        self.stem2 = ConvBN(c1, c2, 3, 2)
        self.blocks = nn.Sequential(*[Block(b) for b in cfg.blocks])
        c = cfg.blocks[-1].cout if cfg.blocks else c2
        self.pool = nn.AvgPool2d(cfg.pool, cfg.pool)
        self.neck1 = ConvBN(c, c, (1, cfg.neck_kernel), groups=c, act=nn.Hardswish())
        self.neck2 = ConvBN(c, cfg.neck, 1, act=nn.Hardswish())
        self.fc1 = nn.Linear(cfg.neck, cfg.hidden)
        self.fc2 = nn.Linear(cfg.hidden, cfg.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, neck, 1, T) sequence features before the head."""
        x = self.blocks(self.stem2(self.stem1(x)))
        return self.neck2(self.neck1(self.pool(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).squeeze(2).transpose(1, 2)   # (B, T, C)
        return self.fc2(self.fc1(x))

    def slots(self) -> list[Slot]:
        """Parametric layers in execution order (the ONNX graph's order)."""
        out = [Slot("stem1", self.stem1.conv, self.stem1.bn), Slot("stem2", self.stem2.conv, self.stem2.bn)]
        for i, b in enumerate(self.blocks):
            out += b.slots(f"blocks.{i}")
        return out + [Slot("neck1", self.neck1.conv, self.neck1.bn), Slot("neck2", self.neck2.conv, self.neck2.bn),
                      Slot("fc1", self.fc1), Slot("fc2", self.fc2)]


# ---- from the shipped ONNX graph ---------------------------------------------------------

def config_from_layers(layers: list[OnnxLayer], pool: tuple[int, int] = (3, 2)) -> TinyRecConfig:
    """Read a ``TinyRecConfig`` off the ONNX layer sequence; MappingError if it is another network."""
    def fail(i, why):
        got = layers[i].describe() if i < len(layers) else "end of graph"
        raise MappingError(f"not a PP-OCRv6-tiny graph at layer {i} ({got}): {why}")

    if len(layers) < 6:
        fail(len(layers), "too few layers")
    s1, s2 = layers[0], layers[1]
    if s1.kind != "conv" or s2.kind != "conv" or s1.kernel != (3, 3) or s2.kernel != (3, 3):
        fail(0, "the stem is two 3x3 convs")
    blocks, i = [], 2
    while i < len(layers) and layers[i].depthwise and layers[i].kernel[0] > 1:
        tok = layers[i]
        k = tok.kernel[0]
        if tok.kernel != (k, k):
            fail(i, "square depthwise kernel expected")
        i += 1
        se = 0
        if i < len(layers) and layers[i].fed_by in ("ReduceMean", "GlobalAveragePool"):
            se = layers[i].out_channels
            if i + 1 >= len(layers) or layers[i + 1].out_channels != tok.out_channels:
                fail(i + 1, "squeeze-excite expand conv expected")
            i += 2
        if i + 1 >= len(layers) or layers[i].kind != "conv" or layers[i].kernel != (1, 1):
            fail(i, "1x1 conv (channel mixer) expected")
        f1, f2 = layers[i], layers[i + 1]
        if f1.in_channels != tok.out_channels or f2.in_channels != f1.out_channels or f2.kernel != (1, 1):
            fail(i, "1x1 conv pair expected")
        blocks.append(BlockConfig(tok.out_channels, f2.out_channels, k, tok.stride, se, f1.out_channels))
        i += 2
    if not blocks:
        fail(2, "no depthwise blocks")
    if len(layers) != i + 4:
        fail(i, f"neck (2 convs) + head (2 linears) expected, {len(layers) - i} layers left")
    n1, n2, fc1, fc2 = layers[i:]
    if not (n1.depthwise and n1.kernel[0] == 1 and n2.kernel == (1, 1) and fc1.kind == fc2.kind == "linear"):
        fail(i, "depthwise (1, k) conv, 1x1 conv, two linears expected")
    return TinyRecConfig(stem=(s1.in_channels, s1.out_channels, s2.out_channels), blocks=blocks, pool=tuple(pool),
                         neck_kernel=n1.kernel[1], neck=n2.out_channels, hidden=fc1.out_channels,
                         num_classes=fc2.out_channels)


def check_graph_ops(graph: OnnxGraph) -> tuple[int, int]:
    """The graph's pooling kernel; MappingError when the graph's activations are not this definition's."""
    ops = {n.op_type for n in graph.nodes}
    if "Erf" not in ops and "Gelu" not in ops:
        raise MappingError("expected exact (erf) GELU in the graph")
    pools = graph.ops("AveragePool")
    if len(pools) != 1:
        raise MappingError(f"expected one AveragePool, the graph has {len(pools)}")
    a = graph.attrs(pools[0])
    if a.get("kernel_shape") != a.get("strides") or any(a.get("pads", [0])):
        raise MappingError(f"AveragePool {a}: expected kernel == stride, no padding")
    return tuple(a["kernel_shape"])


def from_onnx(path_or_model) -> PPOCRv6TinyRec:
    """Build the module from a shipped PP-OCRv6-tiny ONNX graph and load its weights (eval mode)."""
    graph = OnnxGraph(path_or_model)
    pool = check_graph_ops(graph)
    layers = graph.layers()
    model = PPOCRv6TinyRec(config_from_layers(layers, pool))
    load_slots(model.slots(), layers)
    return model.eval()


# ---- checkpoints ----------------------------------------------------------------------

def save(model: PPOCRv6TinyRec, path, **meta) -> None:
    """``{"arch", "config", "state_dict", **meta}`` (meta: plain values, e.g. ``chars``, ``source``)."""
    torch.save({"arch": "ppocrv6-tiny", "config": model.cfg.to_dict(), "state_dict": model.state_dict(), **meta},
               str(path))


def load(path, with_meta: bool = False):
    """The module (eval mode) from ``save``'s file; with ``with_meta``, also the checkpoint's other keys."""
    ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    if ckpt.get("arch") != "ppocrv6-tiny":
        raise ValueError(f"{path}: arch {ckpt.get('arch')!r}, expected 'ppocrv6-tiny'")
    model = PPOCRv6TinyRec(TinyRecConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    if not with_meta:
        return model
    return model, {k: v for k, v in ckpt.items() if k not in ("config", "state_dict")}
