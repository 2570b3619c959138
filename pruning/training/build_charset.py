"""Build ``function/model/charset.txt``: one character per line, CTC blank excluded.

The charset is data, not code: to grow it (e.g. GB2312 level-2 Hanzi) extend the
sources below, re-run ``python -m pruning.training.build_charset`` and retrain the head.
Order is stable: ASCII, punctuation/symbols, then Hanzi in GB2312 order.
"""
from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "function" / "models" / "crnn" / "charset.txt"

# Full-width / CJK punctuation and symbols common in Chinese documents and invoices.
# Full-width ASCII letters/digits are NOT here: the normaliser folds them to ASCII.
CJK_PUNCT = (
    "，。、；：？！“”‘’（）《》〈〉【】〔〕「」『』—…·￥％＋－＝×÷～"
    "＠＃＆＊／＼｜＿＜＞℃°￡€§№※→←↑↓√★☆●○■□▲△◆◇①②③④⑤⑥⑦⑧⑨⑩"
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ¥〇"
)


def gb2312_level1() -> list[str]:
    """The 3,755 level-1 Hanzi: GB2312 rows 16-55 (0xB0A1-0xD7F9)."""
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.append(ch)
    return chars


def build() -> list[str]:
    ascii_printable = [chr(c) for c in range(0x20, 0x7F)]  # includes space
    seen: set[str] = set()
    out: list[str] = []
    for ch in ascii_printable + list(CJK_PUNCT) + gb2312_level1():
        if ch not in seen:
            seen.add(ch)
            out.append(ch)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    chars = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One char per line; the space class is written as a literal space line.
    args.out.write_text("\n".join(chars) + "\n", encoding="utf-8")
    print(f"wrote {len(chars)} characters to {args.out}")


if __name__ == "__main__":
    main()
