"""Structural surgery -- real smaller layers, weights copied for what is kept.

Three kinds of cut, all leaving a plain dense model (no masks, no zero channels):

* **conv channel groups** (``channel_groups``): channels that must be cut together --
  a conv's output channels with its BatchNorm, the depthwise conv + BN that runs on them,
  the 1x1 convs that read them, every block joined to them by a residual add, and for the
  last conv the BiLSTM's input projection (``weight_ih_l0`` of both directions).
* **LSTM hidden units** (``prune_lstm_hidden``): unit j of a layer/direction is the rows
  j, H+j, 2H+j, 3H+j (gates i, f, g, o) of ``weight_ih``/``weight_hh``/biases, the column j
  of ``weight_hh``, and the columns of whatever reads that direction's output (the next
  layer's ``weight_ih``, or the head). nn.LSTM has one hidden size, so every layer and
  direction keeps the same count (the indices differ).
* **head low-rank factorisation** (``factorize_head``): Linear(D, C) -> Linear(D, r, no
  bias) -> Linear(r, C) by truncated SVD; full rank reproduces the head exactly.

Torch-Pruning (DepGraph) was evaluated for the conv part: it traces conv -> mean ->
permute -> BiLSTM input correctly (tests cross-check it against this module when it is
installed), but it routes the LSTM through its backend's ``MkldnnRnnLayer`` ops as if
they were element-wise and cannot cut hidden units, and this CRNN's dependency graph is
small and fixed, so the surgery here is our own and the pipeline needs no extra package.

The units are those of ``pruning.compression.core.groups``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from pruning.compression.core.groups import (HEAD_GROUP, LSTM_GROUP, ChannelGroup, channel_groups, head_rank)
from pruning.training.model import CRNN

def _sel(t: torch.Tensor, dim: int, idx: torch.Tensor) -> nn.Parameter | torch.Tensor:
    out = t.detach().index_select(dim, idx).clone()
    return nn.Parameter(out, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else out


def _prune_bn(bn: nn.BatchNorm2d, idx):
    bn.weight, bn.bias = _sel(bn.weight, 0, idx), _sel(bn.bias, 0, idx)
    bn.running_mean, bn.running_var = _sel(bn.running_mean, 0, idx), _sel(bn.running_var, 0, idx)
    bn.num_features = len(idx)


def _prune_conv_out(conv: nn.Conv2d, idx):
    conv.weight = _sel(conv.weight, 0, idx)
    if conv.bias is not None:
        conv.bias = _sel(conv.bias, 0, idx)
    conv.out_channels = len(idx)


def prune_group(model: CRNN, group: ChannelGroup, keep: torch.Tensor):
    """Keep channels ``keep`` (sorted indices) of ``group``; in place."""
    keep = torch.as_tensor(keep, dtype=torch.long).sort().values
    for conv, bn in group.producers:
        _prune_conv_out(conv, keep)
        _prune_bn(bn, keep)
    for conv, bn in group.depthwise:
        _prune_conv_out(conv, keep)
        conv.in_channels = conv.groups = len(keep)
        _prune_bn(bn, keep)
    for conv in group.consumers:
        assert conv.groups == 1
        conv.weight = _sel(conv.weight, 1, keep)
        conv.in_channels = len(keep)
    if group.lstm_input:
        _rebuild_lstm(model, input_cols=keep)


# ----------------------------------------------------------------------------- LSTM
def _lstm_params(rnn: nn.LSTM) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in rnn.named_parameters()}


def _suffixes(rnn: nn.LSTM):
    return ["", "_reverse"] if rnn.bidirectional else [""]


def _rebuild_lstm(model: CRNN, input_cols=None, hidden_keep=None):
    """Replace ``model.rnn`` by a smaller nn.LSTM: ``input_cols`` keeps layer-0 input
    columns; ``hidden_keep[layer][direction]`` keeps hidden units (same count everywhere)."""
    old = model.rnn
    w = _lstm_params(old)
    H, L, dirs = old.hidden_size, old.num_layers, _suffixes(old)
    if hidden_keep is None:
        hidden_keep = [[torch.arange(H) for _ in dirs] for _ in range(L)]
    hidden_keep = [[torch.as_tensor(k, dtype=torch.long).sort().values for k in layer] for layer in hidden_keep]
    H2 = len(hidden_keep[0][0])
    assert all(len(k) == H2 for layer in hidden_keep for k in layer), "one hidden size for all layers"
    in_size = old.input_size if input_cols is None else len(input_cols)
    new = nn.LSTM(in_size, H2, num_layers=L, bidirectional=old.bidirectional, bias=old.bias,
                  batch_first=old.batch_first)
    for l in range(L):
        if l == 0:
            cols = None if input_cols is None else torch.as_tensor(input_cols, dtype=torch.long).sort().values
        else:   # previous layer's output = concat(forward H, backward H)
            cols = torch.cat([k + d * H for d, k in enumerate(hidden_keep[l - 1])])
        for d, sfx in enumerate(dirs):
            k = hidden_keep[l][d]
            rows = torch.cat([k + g * H for g in range(4)])  # gates i, f, g, o
            wih = w[f"weight_ih_l{l}{sfx}"][rows]
            if cols is not None:
                wih = wih[:, cols]
            new_p = {f"weight_ih_l{l}{sfx}": wih, f"weight_hh_l{l}{sfx}": w[f"weight_hh_l{l}{sfx}"][rows][:, k]}
            if old.bias:
                new_p[f"bias_ih_l{l}{sfx}"] = w[f"bias_ih_l{l}{sfx}"][rows]
                new_p[f"bias_hh_l{l}{sfx}"] = w[f"bias_hh_l{l}{sfx}"][rows]
            with torch.no_grad():
                for name, val in new_p.items():
                    getattr(new, name).copy_(val)
    new.train(old.training)
    model.rnn = new
    # the head reads the last layer's concat(forward, backward) output
    if any(not torch.equal(k, torch.arange(H)) for k in hidden_keep[-1]):
        cols = torch.cat([k + d * H for d, k in enumerate(hidden_keep[-1])])
        first = model.head[0] if isinstance(model.head, nn.Sequential) else model.head
        first.weight = _sel(first.weight, 1, cols)
        first.in_features = len(cols)


def lstm_layer_outputs(rnn: nn.LSTM, x: torch.Tensor) -> list[torch.Tensor]:
    """Per-layer outputs (T, B, dirs*H) of a stacked nn.LSTM, by running it one layer at a time."""
    outs, w = [], _lstm_params(rnn)
    for l in range(rnn.num_layers):
        one = nn.LSTM(x.shape[-1], rnn.hidden_size, 1, bidirectional=rnn.bidirectional, bias=rnn.bias)
        with torch.no_grad():
            for sfx in _suffixes(rnn):
                for kind in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ()):
                    getattr(one, f"{kind}_l0{sfx}").copy_(w[f"{kind}_l{l}{sfx}"])
            x, _ = one(x)
        outs.append(x)
    return outs


@torch.no_grad()
def lstm_hidden_importance(model: CRNN, images: torch.Tensor | None = None) -> list[list[torch.Tensor]]:
    """importance[layer][direction][unit] = mean |h| on ``images`` (1 without data) x the L2
    norm of every weight that reads h (recurrent ``weight_hh`` column and the next layer's
    input / head columns). A unit nobody reads scores exactly 0."""
    rnn = model.rnn
    H, dirs = rnn.hidden_size, _suffixes(rnn)
    act = None
    if images is not None:
        was = model.training
        model.eval()
        f = model.backbone(images).mean(dim=2).permute(2, 0, 1)
        act = [o.abs().mean(dim=(0, 1)) for o in lstm_layer_outputs(rnn, f)]
        model.train(was)
    imp = []
    for l in range(rnn.num_layers):
        reader = getattr(rnn, f"weight_ih_l{l + 1}") if l + 1 < rnn.num_layers else None
        layer = []
        for d, sfx in enumerate(dirs):
            sq = getattr(rnn, f"weight_hh_l{l}{sfx}").pow(2).sum(0)
            if reader is not None:
                for s2 in dirs:
                    sq = sq + getattr(rnn, f"weight_ih_l{l + 1}{s2}")[:, d * H:(d + 1) * H].pow(2).sum(0)
            else:
                sq = sq + (model.head[0] if isinstance(model.head, nn.Sequential) else model.head).weight[:, d * H:(d + 1) * H].pow(2).sum(0)
            score = sq.sqrt()
            if act is not None:
                score = score * act[l][d * H:(d + 1) * H]
            layer.append(score)
        imp.append(layer)
    return imp


def prune_lstm_hidden(model: CRNN, n_keep: int, images: torch.Tensor | None = None,
                      importance: list[list[torch.Tensor]] | None = None):
    """Keep the ``n_keep`` most important hidden units in every layer and direction; in place."""
    imp = importance if importance is not None else lstm_hidden_importance(model, images)
    n_keep = max(1, min(n_keep, model.rnn.hidden_size))
    keep = [[s.topk(n_keep).indices.sort().values for s in layer] for layer in imp]
    _rebuild_lstm(model, hidden_keep=keep)


# ----------------------------------------------------------------------------- head
def head_weight(model) -> tuple[torch.Tensor, torch.Tensor]:
    """The head as one dense (W (C, D), b (C,)), whether factorised or not."""
    h = model.head
    if isinstance(h, nn.Sequential):
        return (h[1].weight @ h[0].weight).detach(), h[1].bias.detach()
    return h.weight.detach(), h.bias.detach()


def svd_pays(d: int, c: int, r: int) -> bool:
    return r * (d + c) < d * c


@torch.no_grad()
def factorize_head(model, rank: int):
    """Head -> Linear(D, r, bias=False) -> Linear(r, C) by truncated SVD (balanced sqrt(S)
    split); in place. ``rank`` >= min(D, C) gives the exact head in factorised form."""
    W, b = head_weight(model)
    C, D = W.shape
    U, S, Vh = torch.linalg.svd(W.double(), full_matrices=False)
    r = max(1, min(rank, len(S)))
    s = S[:r].sqrt()
    a = nn.Linear(D, r, bias=False)
    z = nn.Linear(r, C)
    a.weight.copy_((s[:, None] * Vh[:r]).float())
    z.weight.copy_((U[:, :r] * s[None, :]).float())
    z.bias.copy_(b)
    model.head = nn.Sequential(a, z)


def apply_keep(model: CRNN, keep: dict[str, int], images: torch.Tensor | None = None,
               indices: dict[str, list[int]] | None = None) -> CRNN:
    """A pruned deep copy of ``model``: ``keep[name]`` channels (by BN-gamma ranking, or the
    explicit ``indices[name]``) for conv groups, hidden units for ``lstm.hidden`` (by
    importance on ``images``), rank for ``head.rank`` (SVD; skipped when it would not save
    parameters and the head is still dense)."""
    m = copy.deepcopy(model)
    indices = indices or {}
    for g in channel_groups(m):
        if g.name in indices:
            prune_group(m, g, torch.as_tensor(indices[g.name]))
        elif g.name in keep and keep[g.name] < g.size:
            prune_group(m, g, g.importance().topk(max(1, keep[g.name])).indices)
    if LSTM_GROUP in keep and keep[LSTM_GROUP] < m.rnn.hidden_size:
        prune_lstm_hidden(m, keep[LSTM_GROUP], images)
    if HEAD_GROUP in keep:
        W, _ = head_weight(m)
        r = keep[HEAD_GROUP]
        if isinstance(m.head, nn.Sequential) and r < head_rank(m):
            factorize_head(m, r)
        elif not isinstance(m.head, nn.Sequential) and svd_pays(W.shape[1], W.shape[0], r):
            factorize_head(m, r)
    return m
