"""Channel groups of the CRNN: the units that structured pruning keeps or cuts together.

* conv channel groups (``channel_groups``): a conv's output channels with its BatchNorm, the
  depthwise conv + BN that runs on them, the 1x1 convs that read them, every block joined to
  them by a residual add, and for the last conv the BiLSTM's input projection;
* ``lstm.hidden``: the BiLSTM's hidden units (every layer and direction keeps the same count);
* ``head.rank``: the rank of the (low-rank factorised) CTC head.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from pruning.training.model import CRNN, InvertedResidual

LSTM_GROUP = "lstm.hidden"
HEAD_GROUP = "head.rank"


# ----------------------------------------------------------------------------- conv groups
@dataclass
class ChannelGroup:
    """Channels that are kept or cut together (one index space)."""
    name: str
    producers: list = field(default_factory=list)   # (conv, bn): output channels + their BN
    depthwise: list = field(default_factory=list)   # (conv, bn): depthwise conv running on them
    consumers: list = field(default_factory=list)   # convs reading them (input channels)
    lstm_input: bool = False                        # feeds the BiLSTM's first layer

    @property
    def size(self) -> int:
        return self.producers[0][1].num_features

    def bns(self) -> list[nn.BatchNorm2d]:
        return [bn for _, bn in self.producers + self.depthwise]

    def importance(self) -> torch.Tensor:
        """Network slimming: |gamma|, the max over the group's BatchNorms (a channel stays
        if any layer that writes it still needs it)."""
        return torch.stack([bn.weight.detach().abs() for bn in self.bns()]).max(0).values


def _cb(seq: nn.Sequential):
    return seq[0], seq[1]


def channel_groups(model: CRNN) -> list[ChannelGroup]:
    """The prunable channel groups of a CRNN, in network order, with stable names."""
    layers = list(model.backbone)
    groups: list[ChannelGroup] = []
    cur = ChannelGroup("stem", producers=[_cb(layers[0])])
    groups.append(cur)
    chain: list[int] = []
    for i, blk in enumerate(layers[1:-1]):
        assert isinstance(blk, InvertedResidual), type(blk)
        seq = list(blk.block)
        if len(seq) == 3:   # expand 1x1 -> depthwise -> project
            cur.consumers.append(seq[0][0])
            groups.append(ChannelGroup(f"b{i}.exp", producers=[_cb(seq[0])], depthwise=[_cb(seq[1])],
                                       consumers=[seq[2][0]]))
        else:               # no expansion: the depthwise conv runs on the incoming channels
            cur.depthwise.append(_cb(seq[0]))
            cur.consumers.append(seq[1][0])
        if blk.use_res:     # residual add: output channels are the input channels
            cur.producers.append(_cb(seq[-1]))
            chain.append(i)
            cur.name = f"b{chain[0]}-{chain[-1]}.out"
        else:
            cur = ChannelGroup(f"b{i}.out", producers=[_cb(seq[-1])])
            groups.append(cur)
            chain = [i]
    last = layers[-1]
    cur.consumers.append(last[0])
    groups.append(ChannelGroup("last", producers=[_cb(last)], lstm_input=True))
    return groups


def head_rank(model) -> int:
    return model.head[0].out_features if isinstance(model.head, nn.Sequential) else min(model.head.weight.shape)


def group_sizes(model: CRNN) -> dict[str, int]:
    """Current size of every prunable unit: conv groups, LSTM hidden, head rank."""
    sizes = {g.name: g.size for g in channel_groups(model)}
    sizes[LSTM_GROUP] = model.rnn.hidden_size
    sizes[HEAD_GROUP] = head_rank(model)
    return sizes


def describe(model: CRNN) -> dict:
    sizes = group_sizes(model)
    sizes["head.factorised"] = isinstance(model.head, nn.Sequential)
    return sizes
