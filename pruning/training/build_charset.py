"""Build a charset file: one character per line, CTC blank excluded.

``python -m pruning.training.build_charset`` writes the charset of the shipped CRNN
(``function/slim_ocr/charset.txt``: ASCII, CJK punctuation/symbols, GB2312 level 1 =
3,940 characters); ``--extended`` the grown one for the next CRNN (``models/charset/extended.txt``:
the same first, in the same order, then the dash family and a few more symbols, then the
3,008 GB2312 level-2 Hanzi), so that a model trained on the first grows its head by appending
rows (``pruning.training.checkpoint.grow_head``). Order is stable: ASCII, punctuation/symbols,
then Hanzi in GB2312 order.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from pruning import REPO

DEFAULT_OUT = REPO / "function" / "slim_ocr" / "charset.txt"
EXTENDED_OUT = REPO / "models" / "charset" / "extended.txt"

# Full-width / CJK punctuation and symbols common in Chinese documents and invoices.
# Full-width ASCII letters/digits are NOT here: the normaliser folds them to ASCII.
CJK_PUNCT = (
    "，。、；：？！“”‘’（）《》〈〉【】〔〕「」『』—…·￥％＋－＝×÷～"
    "＠＃＆＊／＼｜＿＜＞℃°￡€§№※→←↑↓√★☆●○■□▲△◆◇①②③④⑤⑥⑦⑧⑨⑩"
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ¥〇"
)


# Added by the extended charset: the dash family (en dash, figure dash, horizontal bar; the em
# dash is already in), bullet, plus-minus, per mille, circled numbers 11-20.
EXTRA_SYMBOLS = "–‒―•±‰⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _gb2312_rows(first: int, last: int) -> list[str]:
    chars = []
    for hi in range(first, last + 1):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.append(ch)
    return chars


def gb2312_level1() -> list[str]:
    """The 3,755 level-1 Hanzi: GB2312 rows 16-55 (0xB0A1-0xD7F9)."""
    return _gb2312_rows(0xB0, 0xD7)


def gb2312_level2() -> list[str]:
    """The 3,008 level-2 Hanzi: GB2312 rows 56-87 (0xD8A1-0xF7FE)."""
    return _gb2312_rows(0xD8, 0xF7)


def build(extended: bool = False) -> list[str]:
    ascii_printable = [chr(c) for c in range(0x20, 0x7F)]  # includes space
    sources = ascii_printable + list(CJK_PUNCT) + gb2312_level1()
    if extended:   # appended, so the shipped charset is a prefix of the extended one
        sources += list(EXTRA_SYMBOLS) + gb2312_level2()
    seen: set[str] = set()
    out: list[str] = []
    for ch in sources:
        if ch not in seen:
            seen.add(ch)
            out.append(ch)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--extended", action="store_true", help="the grown charset (default out: models/charset/extended.txt)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    chars = build(args.extended)
    args.out = args.out or (EXTENDED_OUT if args.extended else DEFAULT_OUT)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One char per line; the space class is written as a literal space line.
    args.out.write_text("\n".join(chars) + "\n", encoding="utf-8")
    print(f"wrote {len(chars)} characters to {args.out}")


if __name__ == "__main__":
    main()
