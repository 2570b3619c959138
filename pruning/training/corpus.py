"""Training text corpus: real sentences from Debian packages + jieba words + generated strings.

``python -m pruning.training.corpus`` downloads (apt-get download) and extracts the source
packages, then writes ``data/corpus/{zh,en}.txt`` (one normalised segment per line).
Packages reserved for evaluation (``pruning.evaluation.reserved``, which lists the
evaluation set's documents too) are refused.
"""
from __future__ import annotations

import argparse
import gzip
import html
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from pruning import REPO
from pruning.evaluation.reserved import refuse_reserved
from slim_ocr.charset import DEFAULT_CHARSET, load_charset

DATA = REPO / "data"
CORPUS_DIR = DATA / "corpus"
ZH_PACKAGES = ["manpages-zh", "gimp-help-zh-cn", "libreoffice-help-zh-cn"]
EN_PACKAGES = ["manpages", "manpages-dev"]
WORDS_FILE = Path("/usr/share/dict/words")  # Debian package wamerican

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPLIT = re.compile(r"(?<=[。！？；])|\n")


def fetch_packages(names: list[str], root: Path) -> None:
    refuse_reserved(*names)
    debs = root / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not list(debs.glob(f"{n}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    for deb in debs.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(root / "pkgroot")], check=True)


_ROFF_ESC = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[+-]?\d+"), ""),
    (re.compile(r"\\\*\(..|\\\*\[[^\]]*\]|\\\*."), ""),  # strings
    (re.compile(r"\\\((em|en)"), "—"),
    (re.compile(r"\\\(lq|\\\(rq"), '"'),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&/,|^~0 :%c]"), ""),
]


def roff_to_text(src: str) -> list[str]:
    out = []
    for line in src.splitlines():
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            parts = line.split(None, 1)
            if len(parts) < 2 or parts[0] in (".TH", ".so", ".ds", ".de", ".nr", ".if", ".ie", ".el", ".IX"):
                continue
            line = parts[1].replace('"', "")
        for pat, rep in _ROFF_ESC:
            line = pat.sub(rep, line)
        line = line.strip()
        if line:
            out.append(line)
    return out


class _HTMLText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "td", "dt", "dd", "title"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data.replace("\n", " "))


def html_to_text(src: str) -> list[str]:
    p = _HTMLText()
    p.feed(src)
    return [s.strip() for s in html.unescape("".join(p.parts)).split("\n") if s.strip()]


def iter_documents(root: Path, lang: str):
    base = root / "pkgroot" / "usr" / "share"
    if lang == "zh":
        for f in sorted((base / "man" / "zh_CN").rglob("*.gz")):
            yield roff_to_text(gzip.open(f, "rt", encoding="utf-8", errors="ignore").read())
        for sub in ("gimp", "libreoffice"):
            for f in sorted((base / sub).rglob("*.html")):
                if "zh" in str(f).lower():
                    yield html_to_text(f.read_text(encoding="utf-8", errors="ignore"))
    else:
        for sec in sorted((base / "man").glob("man*")):
            for f in sorted(sec.glob("*.gz")):
                yield roff_to_text(gzip.open(f, "rt", encoding="utf-8", errors="ignore").read())


def build(root: Path = DATA, charset_path: Path | None = None) -> dict[str, int]:
    """Segments normalised with the widest charset the project trains on (the extended one, a
    superset of the shipped CRNN's), so that its extra characters stay in the text; every
    consumer normalises again with its own charset."""
    fetch_packages(ZH_PACKAGES + EN_PACKAGES, root)
    from pruning.training.build_charset import EXTENDED_OUT  # noqa: PLC0415
    cs = load_charset(str(charset_path or (EXTENDED_OUT if EXTENDED_OUT.exists() else DEFAULT_CHARSET)))
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    counts = {}
    for lang in ("zh", "en"):
        seen: set[str] = set()
        for doc in iter_documents(root, lang):
            for para in doc:
                for seg in _SPLIT.split(para):
                    seg = cs.normalize(seg)
                    if len(seg) < 4 or seg in seen:
                        continue
                    if lang == "zh" and not _CJK.search(seg):
                        continue  # Latin-only bits of Chinese docs: the en corpus covers those
                    seen.add(seg)
        out = sorted(seen)
        (CORPUS_DIR / f"{lang}.txt").write_text("\n".join(out) + "\n", encoding="utf-8")
        counts[lang] = len(out)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.parse_args()
    print(build())


if __name__ == "__main__":
    main()
