"""A compression plan for PP-OCRv6-tiny, built into a student from the recalibrated original.

Order: backbone channels (importance on the recalibrated model, removed channels' means
folded into their readers) -> height (pool for 32 px, ``Squeezed``) -> BatchNorm statistics
re-estimated on rendered lines at the student's geometry (``adapt_bn``) -> class restriction
-> low-rank head (data-aware SVD on the student's own features). Every data-driven step uses
the calibration batches (rendered training lines), never the real-document set.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from pruning.pretrained import ppocrv6_tiny
from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec

from . import head, importance
from . import height as heights
from .distill import adapt_bn
from .groups import channel_groups
from .surgery import consumer_means, prune


@dataclass
class Plan:
    name: str
    rank: int | None = None                 # head rank (None: keep 80)
    head_method: str = "svd_data"
    backbone: dict = field(default_factory=dict)   # keep ratio per group kind: chain/ffn/se/stem1/neck
    criterion: str = "bn_gamma"
    height: int = 48
    classes: str | None = None              # "project+gb2312-2": restrict the classifier
    compensate: bool = True
    adapt: bool = False                     # re-estimate BN statistics after the cut (harmful here: see probe.md)
    multiple: int = 8
    gradual: int = 0                        # >0: fade the removed channels over this many steps (``distill.Fade``)


def allowed_chars() -> set[str]:
    """The project's charset (ASCII, CJK punctuation, GB2312 level-1) plus GB2312 level-2 Hanzi."""
    from slim_ocr.charset import load_charset
    return set(load_charset().chars) | set(head.gb2312_hanzi(2))


def scores_for(model: PPOCRv6TinyRec, criterion: str, calib: list[dict]) -> dict:
    if criterion == "bn_gamma":
        return importance.bn_gamma_scores(model)
    if criterion == "l1":
        return importance.l1_scores(model)
    if criterion == "taylor":
        return importance.taylor_scores(model, calib,
                                        lambda m, b: importance.ctc_loss_btc(m(b["images"]), b))
    if criterion == "random":
        return importance.random_scores(model)
    raise ValueError(f"criterion {criterion!r}: one of {importance.CRITERIA}")


def images(calib: list[dict]) -> list[torch.Tensor]:
    return [b["images"] for b in calib]


def prune_backbone(model: PPOCRv6TinyRec, plan: Plan, calib: list[dict], scores: dict | None = None):
    if not plan.backbone:
        return model
    scores = scores if scores is not None else scores_for(model, plan.criterion, calib)
    keep = importance.plan_keep(channel_groups(model), scores, plan.backbone, plan.multiple)
    means = consumer_means(model, images(calib)) if plan.compensate else None
    return prune(model, keep, means)


def build(base: PPOCRv6TinyRec, chars: list[str], plan: Plan, calib: list[dict], scores: dict | None = None,
          with_fade: bool = False):
    """(student module, its charset[, fade]). ``base``: the recalibrated original (not modified).
    With ``plan.gradual``, nothing is cut here: the head is rotated into its (data-weighted)
    singular basis at full rank (exact), and the returned ``distill.Fade`` names the channels
    (and trailing singular directions) to fade out and cut during distillation."""
    if plan.gradual:
        return _build_gradual(base, chars, plan, calib, scores)
    st, ch = _build(base, chars, plan, calib, scores)
    return (st, ch, None) if with_fade else (st, ch)


def _build_gradual(base, chars, plan, calib, scores):
    from .distill import Fade
    removed = {}
    if plan.backbone:
        scores = scores if scores is not None else scores_for(base, plan.criterion, calib)
        groups = channel_groups(base)
        keep = importance.plan_keep(groups, scores, plan.backbone, plan.multiple)
        sizes = {g.name: g.size for g in groups}
        removed = {k: sorted(set(range(sizes[k])) - set(v.tolist())) for k, v in keep.items()}
    full = Plan(**{**asdict(plan), "backbone": {}, "rank": None, "gradual": 0})
    m, chars = _build(base, chars, full, calib)
    if plan.rank is not None and plan.rank < inner(m).cfg.hidden:
        squeeze = m.squeeze if isinstance(m, heights.Squeezed) else (lambda t: t)
        im = inner(m)
        feats = head.head_features(im, [squeeze(t) for t in images(calib)]) if plan.head_method == "svd_data" else None
        rot = head.low_rank(im, im.cfg.hidden, plan.head_method, feats)
        m = heights.Squeezed(rot, m.height) if isinstance(m, heights.Squeezed) else rot
        removed["hidden"] = list(range(plan.rank, im.cfg.hidden))
    return m.eval(), chars, Fade(removed, plan.gradual)


def _build(base: PPOCRv6TinyRec, chars: list[str], plan: Plan, calib: list[dict], scores: dict | None = None):
    m = prune_backbone(base, plan, calib, scores)
    if m is base:
        m = ppocrv6_tiny.PPOCRv6TinyRec(base.cfg)
        m.load_state_dict(base.state_dict())
    if plan.height != ppocrv6_tiny.HEIGHT:
        m = heights.at_height(m, plan.height)
    wrap = (lambda inner: heights.Squeezed(inner, plan.height)) if plan.height != ppocrv6_tiny.HEIGHT else (lambda inner: inner)
    x = images(calib)
    if plan.adapt and (plan.backbone or plan.height != ppocrv6_tiny.HEIGHT):
        adapt_bn(wrap(m), x)
    if plan.classes:
        keep, chars = head.class_keep(chars, allowed_chars())
        m = prune(m, {"classes": keep})
    if plan.rank is not None and plan.rank < m.cfg.hidden:
        squeeze = wrap(m).squeeze if plan.height != ppocrv6_tiny.HEIGHT else (lambda t: t)
        feats = head.head_features(m, [squeeze(t) for t in x]) if plan.head_method == "svd_data" else None
        m = head.low_rank(m, plan.rank, plan.head_method, feats)
    return wrap(m).eval(), chars


def inner(model) -> PPOCRv6TinyRec:
    return model.inner if isinstance(model, heights.Squeezed) else model


def save(model, path: Path, chars: list[str], plan: Plan, **meta) -> None:
    h = model.height if isinstance(model, heights.Squeezed) else ppocrv6_tiny.HEIGHT
    ppocrv6_tiny.save(inner(model), path, chars=chars, height=h, plan=asdict(plan), **meta)


def load(path: Path):
    """(model, chars, meta) of ``save``'s file, wrapped in ``Squeezed`` when its height is not 48."""
    m, meta = ppocrv6_tiny.load(path, with_meta=True)
    h = int(meta.get("height", ppocrv6_tiny.HEIGHT))
    return (heights.Squeezed(m, h) if h != ppocrv6_tiny.HEIGHT else m).eval(), meta["chars"], meta
