"""Structural surgery on ``PPOCRv6TinyRec``: keep a subset of each group's channels and get a
real smaller module of the same class (its widths in a new ``TinyRecConfig``).

Each state-dict tensor is sliced along every dimension a group indexes (``groups``), so a
layer loses exactly the filters / input channels / BN entries of the removed channels.

Mean compensation (optional, ``means``): a removed input channel of a 1x1 conv or a linear
layer is replaced by its mean value over calibration lines, folded into what follows -- the
linear layer's or SE conv's bias, or the running mean of the BatchNorm after a 1x1 conv
(BN(z - d) with its mean moved by -d is BN(z)). A channel that is constant (a BatchNorm with
gamma 0) is then removed exactly. Convs with a spatial kernel (stem2) get no compensation:
with zero padding a constant input is not constant at the borders.
"""
from __future__ import annotations

import torch
from torch import nn

from pruning.pretrained.mapping import run_hooked
from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec

from .groups import Group, as_index, channel_groups, check_sizes, config_with_sizes, scalar_tensor


# consumer module -> the BatchNorm right after it (a compensation goes into its running mean)
def _bn_after(consumer: str) -> str | None:
    return consumer[:-len(".conv")] + ".bn" if consumer.endswith(".conv") else None


def pointwise(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1)
                                             and module.groups == 1)


@torch.no_grad()
def consumer_means(model: PPOCRv6TinyRec, batches, groups: list[Group] | None = None) -> dict[str, torch.Tensor]:
    """Per-channel mean of each pointwise consumer's input over ``batches`` (eval mode):
    {module path: (C_in,)}; linear layers average over batch and frames."""
    groups = groups if groups is not None else channel_groups(model)
    mods = dict(model.named_modules())
    names = sorted({c for g in groups for c in g.consumers if pointwise(mods[c])})
    acc: dict[str, list] = {n: [0.0, 0] for n in names}
    hooks = []
    for n in names:
        def pre(_m, inp, key=n):
            x = inp[0].double()
            x = x.transpose(0, 1).reshape(x.shape[1], -1) if x.dim() == 4 else x.reshape(-1, x.shape[-1]).T
            acc[key][0] = acc[key][0] + x.sum(1)
            acc[key][1] += x.shape[1]
        hooks.append(mods[n].register_forward_pre_hook(pre))
    run_hooked(model, batches, hooks)
    return {n: (s / max(k, 1)).float() for n, (s, k) in acc.items()}


def _compensate(state: dict, mods: dict, g: Group, removed: torch.Tensor, means: dict) -> None:
    for c in g.consumers:
        if c not in means or not pointwise(mods[c]):
            continue
        w = state[f"{c}.weight"]
        w2 = w.reshape(w.shape[0], w.shape[1])
        d = w2[:, removed].double() @ means[c][removed].double()
        bn = _bn_after(c)
        if bn is not None:
            state[f"{bn}.running_mean"] = (state[f"{bn}.running_mean"].double() - d).float()
        else:
            state[f"{c}.bias"] = (state[f"{c}.bias"].double() + d).float()


@torch.no_grad()
def prune(model: PPOCRv6TinyRec, keep: dict[str, object], means: dict[str, torch.Tensor] | None = None
          ) -> PPOCRv6TinyRec:
    """A new ``PPOCRv6TinyRec`` with, for each group named in ``keep``, only the channels
    ``keep[name]`` (indices, any order; groups not named keep everything). ``means``: from
    ``consumer_means``, to fold removed channels' means into what reads them."""
    groups = channel_groups(model)
    check_sizes(model, groups)
    gmap = {g.name: g for g in groups}
    unknown = set(keep) - set(gmap)
    if unknown:
        raise KeyError(f"no such group(s): {sorted(unknown)} (have {list(gmap)})")
    idx = {}
    for name, k in keep.items():
        g = gmap[name]
        i = as_index(k, g.size)
        missing = [f for f in g.fixed if f not in set(i.tolist())]
        if missing:
            raise ValueError(f"group {name}: indices {missing} must be kept")
        idx[name] = i
    state = {k: v.clone() for k, v in model.state_dict().items()}
    mods = dict(model.named_modules())
    if means:
        for name, i in idx.items():
            mask = torch.ones(gmap[name].size, dtype=torch.bool)
            mask[i] = False
            if mask.any():
                _compensate(state, mods, gmap[name], mask.nonzero().flatten(), means)
    dims: dict[str, list[tuple[int, torch.Tensor]]] = {}
    for name, i in idx.items():
        for m in gmap[name].members:
            dims.setdefault(m.tensor, []).append((m.dim, i))
    for t, ds in dims.items():
        for d, i in ds:
            state[t] = state[t].index_select(d, i)
    sizes = {name: int(i.numel()) for name, i in idx.items()}
    new = PPOCRv6TinyRec(config_with_sizes(model.cfg, sizes))
    new.load_state_dict({k: v for k, v in state.items()}, strict=True)
    for k, v in model.state_dict().items():
        if scalar_tensor(k):
            new.state_dict()[k].copy_(v)
    new.train(model.training)
    return new


def keep_all(model: PPOCRv6TinyRec) -> dict[str, torch.Tensor]:
    return {g.name: torch.arange(g.size) for g in channel_groups(model)}


def sizes(model: PPOCRv6TinyRec) -> dict[str, int]:
    return {g.name: g.size for g in channel_groups(model)}
