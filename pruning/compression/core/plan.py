"""Channel plan from BatchNorm gammas (network slimming).

One global threshold over |gamma| decides which conv channels stay; each group is
bounded below by its sensitivity limit (``ceil((1 - limit) * base size)``) and
``--min-channels``, and rounded to a multiple of ``--multiple``. LSTM hidden units and
the head rank are cut by ``--lstm-ratio`` / ``--head-ratio`` (-1: their sensitivity
limits). The threshold is found by bisection so that the pruned model keeps at most
``--target`` of the base's ``--goal`` (FLOPs or params) -- or, when the limits make that
unreachable, the threshold that cuts everything they allow (``reachable: false``).

"""
from __future__ import annotations

import math

import torch

from pruning.compression.core.groups import HEAD_GROUP, LSTM_GROUP, channel_groups, group_sizes
from pruning.compression.core.surgery import apply_keep
from pruning.compression.measure import model_cost


def _round(k: float, m: int) -> int:
    return int(round(k / m) * m)


def keep_counts(model, threshold: float, floors: dict[str, int], multiple: int) -> dict[str, int]:
    keep = {}
    for g in channel_groups(model):
        n = g.size
        lo = min(n, math.ceil(floors.get(g.name, 1) / multiple) * multiple)
        k = int((g.importance() > threshold).sum())
        k = max(lo, min(n, _round(k, multiple)))
        keep[g.name] = min(n, k)
    return keep


def make_plan(model, base_sizes: dict[str, int], base_cost: dict, limits: dict[str, float], goal: str,
              target: float, min_channels: int = 8, multiple: int = 8, lstm_ratio: float = 0.0,
              head_ratio: float = 0.0, iters: int = 40) -> dict:
    """Keep counts for every prunable unit of ``model`` (which may already be pruned):
    the smallest threshold reaching ``target`` x base cost within the limits."""
    floors = {name: max(min_channels, math.ceil(round((1 - limits.get(name, 0.0)) * n, 6)))
              for name, n in base_sizes.items()}
    cur = group_sizes(model)
    hidden = min(cur[LSTM_GROUP], max(min_channels, _round(base_sizes[LSTM_GROUP] * (1 - lstm_ratio), multiple)))
    # the head rank is cut relative to the head's input width after the hidden-unit cut
    # (2 x hidden), so the two cuts compound; factorize_head only applies it where it pays
    rank = min(cur[HEAD_GROUP], max(min_channels, _round(2 * hidden * (1 - head_ratio), multiple)))
    extra = {LSTM_GROUP: hidden, HEAD_GROUP: rank}

    def frac(t):
        keep = {**keep_counts(model, t, floors, multiple), **extra}
        cost = model_cost(apply_keep(model, keep))
        return cost[goal] / base_cost[goal], keep, cost

    scores = torch.cat([g.importance() for g in channel_groups(model)])
    lo, hi = 0.0, float(scores.max()) + 1e-6
    f_lo, keep_lo, cost_lo = frac(lo)
    f_hi, keep_hi, cost_hi = frac(hi)
    if f_lo <= target:
        t, keep, cost, reachable = lo, keep_lo, cost_lo, True
    elif f_hi > target:
        t, keep, cost, reachable = hi, keep_hi, cost_hi, False
    else:
        t, keep, cost, reachable = hi, keep_hi, cost_hi, True
        for _ in range(iters):            # invariant: frac(lo) > target >= frac(hi)
            mid = 0.5 * (lo + hi)
            f, k, c = frac(mid)
            if f <= target:
                hi, t, keep, cost = mid, mid, k, c
            else:
                lo = mid
    return {"goal": goal, "target": target, "threshold": t, "reachable": reachable, "keep": keep,
            "floors": floors, "params": cost["params"], "flops": cost["flops"],
            "params_frac": cost["params"] / base_cost["params"], "flops_frac": cost["flops"] / base_cost["flops"]}


def rnn_ratios(lstm_ratio: float | None, head_ratio: float | None, limits: dict) -> tuple[float, float]:
    """(LSTM, head) cut ratios: the settings, or the sensitivity limits where one is unset or -1."""
    pick = lambda flag, group: flag if flag is not None and flag >= 0 else limits.get(group, 0.0)  # noqa: E731
    return pick(lstm_ratio, LSTM_GROUP), pick(head_ratio, HEAD_GROUP)
