"""Channel importance for ``PPOCRv6TinyRec`` groups, and a plan from it.

Three criteria, each a (size,) score per group (higher = keep):

* ``bn_gamma``: |gamma| of the group's BatchNorms, each BN's scores divided by their mean and
  averaged over the group's BNs (a residual chain has several). Only meaningful after
  ``pruning.pretrained.mapping.recalibrate_bn`` (the imported BNs are identity: gamma 1 for
  every channel). Groups without a BN (SE hidden, ``hidden``) fall back to ``l1``.
* ``l1``: L1 norm of every weight slice of the channel (producer filters and consumer input
  columns), each tensor's norms divided by their mean, averaged over the group's tensors.
* ``taylor``: first-order Taylor (Molchanov et al. 2019): per batch, the squared sum over the
  channel's parameters of gradient x weight, summed over batches. The loss is CTC on the
  lines' labels: at the start the student *is* the teacher, so the gradient of the
  distillation KL is exactly zero and carries no information.

``plan_keep``: per group, the ``ceil``-to-``multiple`` number of channels of a keep ratio,
chosen by score.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec

from .groups import Group, channel_groups

CRITERIA = ("bn_gamma", "l1", "taylor", "random")


def _norm(x: torch.Tensor) -> torch.Tensor:
    return x / x.mean().clamp_min(1e-12)


def l1_scores(model: PPOCRv6TinyRec, groups: list[Group] | None = None) -> dict[str, torch.Tensor]:
    groups = groups if groups is not None else channel_groups(model)
    sd = model.state_dict()
    out = {}
    for g in groups:
        per = []
        for m in g.members:
            if not m.tensor.endswith("weight") or ".bn." in m.tensor:
                continue
            t = sd[m.tensor].abs().transpose(0, m.dim).reshape(g.size, -1).sum(1)
            per.append(_norm(t))
        out[g.name] = torch.stack(per).mean(0)
    return out


def bn_gamma_scores(model: PPOCRv6TinyRec, groups: list[Group] | None = None) -> dict[str, torch.Tensor]:
    groups = groups if groups is not None else channel_groups(model)
    mods = dict(model.named_modules())
    l1 = None
    out = {}
    for g in groups:
        if g.bns:
            out[g.name] = torch.stack([_norm(mods[b].weight.detach().abs()) for b in g.bns]).mean(0)
        else:
            l1 = l1 if l1 is not None else l1_scores(model, groups)
            out[g.name] = l1[g.name]
    return out


def taylor_scores(model: PPOCRv6TinyRec, batches: Iterable, loss_fn: Callable,
                  groups: list[Group] | None = None) -> dict[str, torch.Tensor]:
    """``batches``: iterable of batch dicts; ``loss_fn(model, batch) -> scalar``. BatchNorms stay
    in eval mode (the imported statistics), gradients flow to every parameter."""
    groups = groups if groups is not None else channel_groups(model)
    params = dict(model.named_parameters())
    acc = {g.name: torch.zeros(g.size, dtype=torch.float64) for g in groups}
    was = model.training
    model.eval()
    try:
        for batch in batches:
            model.zero_grad(set_to_none=True)
            loss_fn(model, batch).backward()
            for g in groups:
                s = torch.zeros(g.size, dtype=torch.float64)
                for m in g.members:
                    p = params.get(m.tensor)
                    if p is None or p.grad is None:
                        continue
                    gw = (p.grad * p.detach()).double().transpose(0, m.dim).reshape(g.size, -1).sum(1)
                    s += gw
                acc[g.name] += s * s
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was)
    return {k: v.float() for k, v in acc.items()}


def random_scores(model: PPOCRv6TinyRec, seed: int = 0, groups: list[Group] | None = None) -> dict[str, torch.Tensor]:
    groups = groups if groups is not None else channel_groups(model)
    gen = torch.Generator().manual_seed(seed)
    return {g.name: torch.rand(g.size, generator=gen) for g in groups}


def keep_count(size: int, ratio: float, multiple: int = 8, minimum: int = 8) -> int:
    """Channels kept of ``size`` at keep ratio ``ratio``, rounded to ``multiple`` (never more than size)."""
    if ratio >= 1.0:
        return size
    n = math.ceil(size * ratio / multiple) * multiple if multiple > 1 else round(size * ratio)
    return max(min(minimum, size), min(size, n))


def plan_keep(groups: list[Group], scores: dict[str, torch.Tensor], ratios: dict[str, float],
              multiple: int = 8, minimum: int = 8) -> dict[str, torch.Tensor]:
    """Indices to keep per group: the top-scored ``keep_count`` channels (fixed ones always).
    ``ratios``: keep ratio per group name, or per prefix ("chain", "ffn", "se", "stem1", "neck")."""
    out = {}
    for g in groups:
        r = ratios.get(g.name, ratios.get(kind(g.name)))
        if r is None or r >= 1.0:
            continue
        n = keep_count(g.size, r, multiple, minimum)
        s = scores[g.name].clone().float()
        for f in g.fixed:
            s[f] = float("inf")
        out[g.name] = torch.sort(torch.topk(s, n).indices).values
    return out


def kind(name: str) -> str:
    """The group's kind: chain, ffn, se, stem1, neck, hidden, classes."""
    if name.startswith("chain."):
        return "chain"
    if name.endswith(".ffn"):
        return "ffn"
    if name.endswith(".se"):
        return "se"
    return name


def least_important(groups: list[Group], scores: dict[str, torch.Tensor]) -> dict[str, int]:
    """The lowest-scored (non-fixed) channel of each group."""
    out = {}
    for g in groups:
        s = scores[g.name].clone().float()
        for f in g.fixed:
            s[f] = float("inf")
        out[g.name] = int(torch.argmin(s))
    return out


def ctc_loss_btc(logits: torch.Tensor, batch: dict) -> torch.Tensor:
    """CTC of (B, T, C) logits against a batch's targets (``pruning.training.data.collate`` keys)."""
    lp = F.log_softmax(logits, -1).transpose(0, 1)
    return F.ctc_loss(lp, batch["targets"], batch["input_lengths"].clamp(max=lp.shape[0]), batch["target_lengths"],
                      blank=0, reduction="mean", zero_infinity=True)
