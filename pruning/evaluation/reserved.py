"""Debian packages reserved for held-out evaluation: never a training, fine-tuning or
calibration source, in any form (text, HTML, renders, PDFs).

Every offline data source names the Debian packages it reads and calls
``refuse_reserved`` first; the benchmark's evaluation documents must be listed here
(``bench/build_eval_set.py`` checks that its packages are reserved).
"""
from __future__ import annotations

import fnmatch
from pathlib import Path

# The project's rule (DEVELOPERS.md): whole families of documentation packages.
RESERVED_PATTERNS = (
    "texlive-*", "debian-edu-doc-*", "debian-reference-*", "gnuplot-doc", "installation-guide-*",
    "kicad-doc-*", "lilypond-doc*", "git-doc",
)
# The documents of the real-document evaluation set (bench/build_eval_set.py DOCS).
EVAL_SET_PACKAGES = (
    "maint-guide-zh-cn", "debian-reference-zh-cn", "debian-faq-zh-cn", "maint-guide", "debian-policy",
    "linuxcnc-doc-en",
)


class ReservedSourceError(ValueError):
    pass


def is_reserved(package: str) -> bool:
    name = package.strip().split(":")[0].split("_")[0].lower()  # "pkg:arch", "pkg_1.0_all.deb"
    return name in EVAL_SET_PACKAGES or any(fnmatch.fnmatchcase(name, p) for p in RESERVED_PATTERNS)


def refuse_reserved(*packages: str) -> None:
    """Raise ``ReservedSourceError`` if any package is reserved for evaluation."""
    bad = sorted(p for p in packages if is_reserved(p))
    if bad:
        raise ReservedSourceError(f"reserved for evaluation, never a training source: {', '.join(bad)}")


def refuse_reserved_path(path: str | Path) -> None:
    """Refuse a file installed by a reserved package: any path component naming one
    (e.g. /usr/share/doc/git-doc/..., .../debian-reference/...)."""
    parts = Path(path).parts
    for part in parts:
        if is_reserved(part) or part in ("debian-reference", "texlive", "texmf-dist", "lilypond", "kicad"):
            raise ReservedSourceError(f"{path}: under {part!r}, reserved for evaluation, never a training source")
