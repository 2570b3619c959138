"""Recognition metrics: character accuracy (1 - CER) and exact-line accuracy."""
from __future__ import annotations

from rapidfuzz.distance import Levenshtein


def is_zh(text: str) -> bool:
    """A Chinese line: any character beyond the Latin / general-punctuation blocks."""
    return any(ord(c) > 0x2E7F for c in text)


def accuracy(preds: list[str], targets: list[str]) -> dict[str, float]:
    """Corpus-level char accuracy = 1 - sum(edit distance) / sum(target length), floored at 0."""
    if not targets:
        return {"char_acc": 0.0, "line_acc": 0.0, "n": 0}
    edits = sum(Levenshtein.distance(p, t) for p, t in zip(preds, targets))
    chars = sum(len(t) for t in targets)
    exact = sum(p == t for p, t in zip(preds, targets))
    return {"char_acc": max(0.0, 1.0 - edits / max(1, chars)), "line_acc": exact / len(targets), "n": len(targets)}
