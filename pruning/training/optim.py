"""The optimiser shared by training and distillation."""
from __future__ import annotations

import torch


def make_optimizer(model, lr, weight_decay):
    decay, no_decay = [], []
    for _name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)  # no decay on BN params and biases
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)
