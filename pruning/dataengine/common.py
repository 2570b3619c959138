"""Shared bits of the data engine: the charset, label normalisation, the text sources' guard."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pruning import REPO
from pruning.evaluation.reserved import refuse_reserved, refuse_reserved_path
from slim_ocr.charset import Charset, load_charset

DATA_DIR = REPO / "data" / "dataengine"


@lru_cache(maxsize=1)
def default_charset() -> Charset:
    """The project's charset (``slim_ocr.charset.load_charset()``, the crnn bundle's)."""
    return load_charset()


def label_of(text: str, cs: Charset) -> str | None:
    """The training label of a rendered text, or None when the charset cannot hold it: every
    visible character must survive ``cs.normalize`` (kept or folded, e.g. full-width ``Ａ`` ->
    ``A``); a glyph the model has no class for would teach it to ignore ink."""
    for ch in text:
        if not ch.isspace() and not cs.normalize(ch):
            return None
    label = cs.normalize(text)
    return label or None


def guard_text_sources(packages: list[str], paths: list[str | Path]) -> None:
    """Every package and file a source takes text or HTML from goes through the
    evaluation guard (``pruning.evaluation.reserved``) before it is read."""
    refuse_reserved(*packages)
    for p in paths:
        refuse_reserved_path(p)
