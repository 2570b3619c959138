"""Height 32: the recogniser reads the 48-px line squeezed vertically to 32 px, width unchanged.

The width is what fixes the frames (T = W / 8), so a squeezed line keeps every frame aligned
with the 48-px teacher's and per-frame distillation needs no alignment. Heights through
PP-OCRv6-tiny: 48 -> 24 -> 12 (stem) -> 6 -> 3 (two (2, 1) blocks) -> avg-pool (3, 2) -> 1.
At 32: 16 -> 8 -> 4 -> 2, so the pool becomes (2, 2) (same width stride 2, no weights
change); ``pooled_height`` checks a geometry.

``Squeezed`` wraps such a student for training and evaluation on 48-px batches (the squeeze
is a bilinear, antialiased resize of the normalised batch); the deployable model is the inner
``PPOCRv6TinyRec`` on 32-px input (``export_onnx(model.inner, height=32)``) with the contract
``input_spec(32)``: 32-px rows at the *48-px* aspect width (``InputSpec.aspect_height``).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from slim_ocr.contract import PPOCR_INPUT, InputSpec
from torch import nn

from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec, TinyRecConfig


def _conv_out(h: int, k: int = 3, s: int = 2) -> int:
    return (h + 2 * ((k - 1) // 2) - k) // s + 1


def backbone_height(cfg: TinyRecConfig, height: int) -> int:
    """Feature height before the pool for an input ``height``."""
    h = _conv_out(_conv_out(height))
    for b in cfg.blocks:
        h = _conv_out(h, b.kernel, b.stride[0])
    return h


def pooled_height(cfg: TinyRecConfig, height: int) -> int:
    return (backbone_height(cfg, height) - cfg.pool[0]) // cfg.pool[0] + 1 if backbone_height(cfg, height) >= cfg.pool[0] else 0


def config_for_height(cfg: TinyRecConfig, height: int) -> TinyRecConfig:
    """``cfg`` with the pool's height set so that ``height`` pools to one row."""
    h = backbone_height(cfg, height)
    new = copy.deepcopy(cfg)
    new.pool = (h, cfg.pool[1])
    if pooled_height(new, height) != 1:
        raise ValueError(f"height {height}: backbone height {h} does not pool to 1")
    return new


def at_height(model: PPOCRv6TinyRec, height: int) -> PPOCRv6TinyRec:
    """The same weights with the pool set for ``height`` (a new module)."""
    new = PPOCRv6TinyRec(config_for_height(model.cfg, height))
    new.load_state_dict(model.state_dict())
    new.train(model.training)
    return new


def input_spec(height: int) -> InputSpec:
    """The inner model's input contract: PP-OCR's at ``height`` rows, each line as wide as at 48
    px (``aspect_height``), so that its frames are the teacher's."""
    if height == PPOCR_INPUT.height:
        return PPOCR_INPUT
    return PPOCR_INPUT.model_copy(update={"height": height, "aspect_height": PPOCR_INPUT.height})


class Squeezed(nn.Module):
    """48-px batches in, squeezed to ``height`` rows, then ``inner``; (B, W/8, C) logits."""
    input_spec = PPOCR_INPUT
    output_layout = "BTC"

    def __init__(self, inner: PPOCRv6TinyRec, height: int = 32):
        super().__init__()
        self.inner, self.height = inner, int(height)
        if pooled_height(inner.cfg, self.height) != 1:
            raise ValueError(f"the inner model's pool does not fit height {height}")

    @property
    def cfg(self) -> TinyRecConfig:
        return self.inner.cfg

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=(self.height, x.shape[-1]), mode="bilinear", align_corners=False, antialias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(self.squeeze(x))
