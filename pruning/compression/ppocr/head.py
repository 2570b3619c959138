"""The CTC head of ``PPOCRv6TinyRec``: low-rank factorisation and class restriction.

The head is fc1 (neck -> hidden) then fc2 (hidden -> classes) with nothing between, i.e. one
affine map ``W x + b`` with ``W = W2 W1`` (classes x neck, rank <= hidden) and
``b = W2 b1 + b2``. A rank-r factorisation is again fc1 (neck -> r) -> fc2 (r -> classes), so
the result is the same class with ``hidden = r``:

* ``svd``: the best rank-r approximation of W in Frobenius norm;
* ``svd_data``: the best rank-r approximation of the logits on the features the model really
  sees, ``min E||(W - W_r)(x - mu)||^2`` (SVD of ``W C^(1/2)`` with C the features' covariance,
  W_r = U_r U_r^T W), the mean's logits kept exactly by the bias.

At r = rank(W) both reproduce the head exactly (up to float rounding).

``class_keep``: the classes (blank + characters) of a charset restricted to an allowed set,
for ``surgery.prune(model, {"classes": ...})``; the model can then no longer emit the others.
"""
from __future__ import annotations

import torch

from pruning.pretrained.ppocrv6_tiny import PPOCRv6TinyRec

from .groups import config_with_sizes

METHODS = ("svd", "svd_data")


def fused(model: PPOCRv6TinyRec) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, b) of the whole head in float64: logits = W x + b for the neck features x."""
    w1, b1 = model.fc1.weight.double(), model.fc1.bias.double()
    w2, b2 = model.fc2.weight.double(), model.fc2.bias.double()
    return w2 @ w1, w2 @ b1 + b2


@torch.no_grad()
def head_features(model: PPOCRv6TinyRec, batches) -> torch.Tensor:
    """(N, neck) neck features of every frame (padded frames included) of ``batches``."""
    was = model.training
    model.eval()
    feats = [model.features(x).squeeze(2).transpose(1, 2).reshape(-1, model.cfg.neck) for x in batches]
    model.train(was)
    return torch.cat(feats).double()


@torch.no_grad()
def low_rank(model: PPOCRv6TinyRec, rank: int, method: str = "svd", feats: torch.Tensor | None = None
             ) -> PPOCRv6TinyRec:
    """A copy of ``model`` whose head has rank ``rank`` (``hidden = rank``). ``svd_data`` needs
    ``feats`` (``head_features``)."""
    if method not in METHODS:
        raise ValueError(f"method {method!r}: one of {METHODS}")
    W, b = fused(model)
    rank = int(rank)
    if not 1 <= rank <= min(W.shape):
        raise ValueError(f"rank {rank} outside 1..{min(W.shape)}")
    if method == "svd_data":
        if feats is None:
            raise ValueError("svd_data needs the head's input features")
        mu = feats.mean(0)
        xc = feats - mu
        cov = xc.T @ xc / max(1, xc.shape[0] - 1)
        evals, evecs = torch.linalg.eigh(cov)
        root = evecs @ torch.diag(evals.clamp_min(0).sqrt() + 1e-6 * evals.abs().max().sqrt()) @ evecs.T
        U, S, _ = torch.linalg.svd(W @ root, full_matrices=False)
    else:
        mu = torch.zeros(W.shape[1], dtype=W.dtype)
        U, S, _ = torch.linalg.svd(W, full_matrices=False)
    Ur, sr = U[:, :rank], S[:rank].clamp_min(1e-12)
    # balanced factors: fc2 = U_r diag(s^1/2), fc1 = diag(s^-1/2) U_r^T W
    scale = sr.sqrt()
    w1 = (Ur.T @ W) / scale[:, None]
    w2 = Ur * scale[None, :]
    const = W @ mu + b                      # logits at the mean feature, kept exactly
    b1 = (Ur.T @ const) / scale
    b2 = const - Ur @ (Ur.T @ const) - Ur @ (Ur.T @ (W @ mu))   # (I - P) const - P W mu
    new = PPOCRv6TinyRec(config_with_sizes(model.cfg, {"hidden": rank}))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(("fc1.", "fc2."))}
    state.update({"fc1.weight": w1.float(), "fc1.bias": b1.float(), "fc2.weight": w2.float(), "fc2.bias": b2.float()})
    new.load_state_dict(state, strict=True)
    new.train(model.training)
    return new


def singular_values(model: PPOCRv6TinyRec, feats: torch.Tensor | None = None) -> torch.Tensor:
    """Singular values of the fused head (data-weighted when ``feats`` are given)."""
    W, _ = fused(model)
    if feats is not None:
        xc = feats - feats.mean(0)
        evals, evecs = torch.linalg.eigh(xc.T @ xc / max(1, xc.shape[0] - 1))
        W = W @ (evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T)
    return torch.linalg.svdvals(W)


def head_params(neck: int, rank: int, classes: int) -> int:
    """Parameters of fc1 + fc2 at a rank and class count."""
    return rank * (neck + 1) + classes * (rank + 1)


def class_keep(chars: list[str], allowed: set[str]) -> tuple[list[int], list[str]]:
    """(class indices to keep incl. the blank 0, the restricted charset in class order)."""
    keep = [0] + [i + 1 for i, c in enumerate(chars) if c in allowed]
    return keep, [chars[i - 1] for i in keep[1:]]


def gb2312_hanzi(level: int) -> list[str]:
    """GB2312 level-1 (rows 16-55, 3,755) or level-2 (rows 56-87, 3,008) Hanzi."""
    rows = range(0xB0, 0xD8) if level == 1 else range(0xD8, 0xF8)
    out = []
    for b1 in rows:
        for b2 in range(0xA1, 0xFF):
            try:
                out.append(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out
