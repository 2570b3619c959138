"""Channel groups of ``PPOCRv6TinyRec``: the index spaces that structured pruning keeps or cuts together.

A group is one set of channel indices and every tensor dimension indexed by it:

* ``stem1``: stem1's output channels (conv filters + BN) = stem2's input channels;
* ``chain.<k>``: a residual chain -- the output of stem2 (or of a block that changes the
  shape) and every block after it that adds to it: their depthwise ``token`` conv + BN, the
  squeeze-excite's input (``reduce``) and output (``expand``, with its bias), the first 1x1's
  input channels, and the second 1x1's output channels + BN of each residual block; the last
  chain also holds the neck's depthwise conv + BN and the neck's 1x1 input;
* ``blocks.<i>.ffn``: the hidden channels of a block's 1x1 pair (ffn1 out + BN, ffn2 in);
* ``blocks.<i>.se``: the squeeze-excite hidden channels (reduce out + bias, expand in);
* ``neck``: the neck's 1x1 output (+ BN) = fc1's input;
* ``hidden``: fc1's output (+ bias) = fc2's input -- the head's rank (see ``head``);
* ``classes``: fc2's rows (+ bias) -- the classifier's classes (class 0, the CTC blank, must stay).

Every dimension of every parameter and BatchNorm statistic belongs to exactly one group,
except the 3 input channels of stem1 and the kernels' spatial dims (``uncovered`` lists what
is left, and the tests check it is only those).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec, TinyRecConfig

BN_TENSORS = ("weight", "bias", "running_mean", "running_var")
HEAD_GROUPS = ("hidden", "classes")


@dataclass(frozen=True)
class Member:
    """Dimension ``dim`` of state-dict tensor ``tensor`` is indexed by the group."""
    tensor: str
    dim: int
    role: str   # "out" (a producer's filters / BN), "dw" (per-channel layer), "in" (a consumer)


@dataclass
class Group:
    name: str
    size: int
    members: list[Member] = field(default_factory=list)
    bns: list[str] = field(default_factory=list)          # BatchNorm module paths whose channels these are
    consumers: list[str] = field(default_factory=list)    # modules (1x1 conv / linear / SE conv) reading them
    fixed: tuple[int, ...] = ()                           # indices that must be kept (the blank)

    def tensors(self) -> set[str]:
        return {m.tensor for m in self.members}


def _bn(prefix: str, role: str) -> list[Member]:
    return [Member(f"{prefix}.bn.{t}", 0, role) for t in BN_TENSORS]


def _conv_out(prefix: str, role: str = "out") -> list[Member]:
    return [Member(f"{prefix}.conv.weight", 0, role)] + _bn(prefix, role)


def _conv_in(prefix: str) -> list[Member]:
    return [Member(f"{prefix}.conv.weight", 1, "in")]


def channel_groups(model: PPOCRv6TinyRec) -> list[Group]:
    """The groups of ``model`` in network order (the names are stable for a given config)."""
    cfg = model.cfg
    groups = [Group("stem1", cfg.stem[1], _conv_out("stem1") + _conv_in("stem2"), ["stem1.bn"], ["stem2.conv"])]

    def new_chain(producer: str, size: int) -> Group:
        g = Group(f"chain.{sum(n.name.startswith('chain.') for n in groups)}", size,
                  _conv_out(producer), [f"{producer}.bn"])
        groups.append(g)
        return g

    chain = new_chain("stem2", cfg.stem[2])
    for i, b in enumerate(cfg.blocks):
        p = f"blocks.{i}"
        chain.members += _conv_out(f"{p}.token", "dw")
        chain.bns.append(f"{p}.token.bn")
        if b.se:
            chain.members += [Member(f"{p}.se.reduce.weight", 1, "in"), Member(f"{p}.se.expand.weight", 0, "out"),
                              Member(f"{p}.se.expand.bias", 0, "out")]
            chain.consumers.append(f"{p}.se.reduce")
            groups.append(Group(f"{p}.se", b.se, [Member(f"{p}.se.reduce.weight", 0, "out"),
                                                  Member(f"{p}.se.reduce.bias", 0, "out"),
                                                  Member(f"{p}.se.expand.weight", 1, "in")],
                                [], [f"{p}.se.expand"]))
        chain.members += _conv_in(f"{p}.ffn1")
        chain.consumers.append(f"{p}.ffn1.conv")
        groups.append(Group(f"{p}.ffn", b.ffn, _conv_out(f"{p}.ffn1") + _conv_in(f"{p}.ffn2"),
                            [f"{p}.ffn1.bn"], [f"{p}.ffn2.conv"]))
        if b.residual:
            chain.members += _conv_out(f"{p}.ffn2")
            chain.bns.append(f"{p}.ffn2.bn")
        else:
            chain = new_chain(f"{p}.ffn2", b.cout)
    chain.members += _conv_out("neck1", "dw") + _conv_in("neck2")
    chain.bns.append("neck1.bn")
    chain.consumers.append("neck2.conv")
    groups.append(Group("neck", cfg.neck, _conv_out("neck2") + [Member("fc1.weight", 1, "in")],
                        ["neck2.bn"], ["fc1"]))
    groups.append(Group("hidden", cfg.hidden, [Member("fc1.weight", 0, "out"), Member("fc1.bias", 0, "out"),
                                               Member("fc2.weight", 1, "in")], [], ["fc2"]))
    groups.append(Group("classes", cfg.num_classes, [Member("fc2.weight", 0, "out"), Member("fc2.bias", 0, "out")],
                        [], [], fixed=(0,)))
    return groups


def by_name(groups: list[Group]) -> dict[str, Group]:
    return {g.name: g for g in groups}


def uncovered(model: PPOCRv6TinyRec, groups: list[Group] | None = None) -> list[tuple[str, int, int]]:
    """(tensor, dim, size) of every non-spatial tensor dim no group indexes (expected: stem1's
    3 input channels, and the depthwise/SE convs' 1-wide input dims)."""
    groups = groups if groups is not None else channel_groups(model)
    seen = {(m.tensor, m.dim) for g in groups for m in g.members}
    out = []
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        dims = range(min(t.dim(), 2))
        for d in dims:
            if (name, d) not in seen:
                out.append((name, d, t.shape[d]))
    return out


def check_sizes(model: PPOCRv6TinyRec, groups: list[Group]) -> None:
    """Every member's tensor dim has its group's size (a stale group list fails here)."""
    sd = model.state_dict()
    for g in groups:
        for m in g.members:
            if sd[m.tensor].shape[m.dim] != g.size:
                raise ValueError(f"group {g.name}: {m.tensor} dim {m.dim} is {sd[m.tensor].shape[m.dim]}, "
                                 f"not {g.size}")


def config_with_sizes(cfg: TinyRecConfig, sizes: dict[str, int]) -> TinyRecConfig:
    """``cfg`` with the widths of the named groups replaced (the same walk as ``channel_groups``)."""
    d = cfg.to_dict()
    stem = list(d["stem"])
    stem[1] = sizes.get("stem1", stem[1])
    chain_i = 0
    width = sizes.get(f"chain.{chain_i}", stem[2])
    stem[2] = width
    blocks = []
    for i, b in enumerate(cfg.blocks):
        nb = dict(d["blocks"][i])
        nb["cin"] = width
        nb["ffn"] = sizes.get(f"blocks.{i}.ffn", b.ffn)
        if b.se:
            nb["se"] = sizes.get(f"blocks.{i}.se", b.se)
        if not b.residual:
            chain_i += 1
            width = sizes.get(f"chain.{chain_i}", b.cout)
        nb["cout"] = width
        blocks.append(nb)
    d.update(stem=tuple(stem), blocks=blocks, neck=sizes.get("neck", cfg.neck),
             hidden=sizes.get("hidden", cfg.hidden), num_classes=sizes.get("classes", cfg.num_classes))
    new = TinyRecConfig.from_dict(d)
    for i, (a, b) in enumerate(zip(cfg.blocks, new.blocks)):
        if a.residual != b.residual:
            raise ValueError(f"block {i}: the new widths make residual={b.residual} (was {a.residual}); "
                             "pick another width for one of its chains")
    return new


def scalar_tensor(name: str) -> bool:
    return name.endswith("num_batches_tracked")


def as_index(keep, size: int) -> torch.Tensor:
    idx = torch.as_tensor(keep, dtype=torch.long).flatten()
    idx = torch.unique(idx, sorted=True)
    if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= size:
        raise ValueError(f"keep indices must be a non-empty subset of 0..{size - 1}")
    return idx
