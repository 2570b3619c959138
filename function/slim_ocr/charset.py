"""Charset loading and the one text normaliser used by training, evaluation and the service."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

# The project charset (3,940 characters, pruning.training.build_charset): what evaluation normalises
# texts to, and the classes of the first CRNNs. A bundle carries its own charset (the crnn bundle
# reads the extended one since 2026-12-01).
DEFAULT_CHARSET = Path(__file__).resolve().parent / "charset.txt"

# Index 0 of the model output is the CTC blank; character i of the file is class i + 1.
BLANK = 0

# Typographic variants with no NFKC mapping that we fold by hand to a charset form.
_EXTRA_FOLDS = {
    "\u2014": "—", "\u2015": "—", "\u2500": "—",  # dashes / box rule -> em dash
    "\u2013": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u00b7": "·", "\u30fb": "·", "\u2027": "·",
    "\u3000": " ", "\u00a0": " ", "\t": " ",
    "\u201e": "“", "\u201f": "“", "\u2032": "'", "\u2033": '"',
}


class Charset:
    def __init__(self, chars: list[str]):
        if len(set(chars)) != len(chars):
            raise ValueError("charset has duplicate characters")
        self.chars = chars
        self.index = {c: i + 1 for i, c in enumerate(chars)}
        # Lookup table for decoding: class id -> str ("" for blank).
        self._lut = np.array([""] + chars, dtype=object)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CHARSET) -> "Charset":
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines)

    @property
    def num_classes(self) -> int:
        """Model output size: characters + blank."""
        return len(self.chars) + 1

    def normalize(self, text: str) -> str:
        """Fold text onto the charset.

        A character the charset has is kept as is (so full-width '，' stays '，'
        when the charset has it). Otherwise NFKC folding (full-width 'Ａ' -> 'A'),
        then a few hand folds; characters still unknown are dropped. Runs of
        spaces collapse to one and the ends are stripped.
        """
        out = []
        for ch in text:
            if ch in self.index:
                out.append(ch)
                continue
            ch = _EXTRA_FOLDS.get(ch, ch)
            if ch in self.index:
                out.append(ch)
                continue
            folded = unicodedata.normalize("NFKC", ch)
            out.extend(c for c in folded if c in self.index)
        return " ".join("".join(out).split())

    def encode(self, text: str) -> list[int]:
        """Class ids of an already-normalised text (KeyError on unknown chars)."""
        return [self.index[c] for c in text]

    def decode_ids(self, ids) -> str:
        return "".join(self._lut[np.asarray(ids, dtype=np.int64)])


@lru_cache(maxsize=4)
def load_charset(path: str | Path = DEFAULT_CHARSET) -> Charset:
    return Charset.load(path)
