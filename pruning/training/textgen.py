"""Text sampler for synthetic lines: corpus windows, words, structured strings, rare chars.

Everything is drawn from a ``numpy.random.Generator`` so a seed fixes the stream.
Lengths are in "units": a Hanzi or full-width symbol is 1 unit, other chars 0.5.
"""
from __future__ import annotations

import os
import string
from pathlib import Path

import numpy as np

from slim_ocr.charset import Charset
from pruning.training.corpus import CORPUS_DIR, WORDS_FILE

# (source, probability) -- tuned so that Chinese dominates but Latin lines are common.
SOURCES = [
    ("zh_prose", 0.30), ("en_prose", 0.14), ("zh_words", 0.12), ("en_words", 0.08),
    ("structured", 0.14), ("mixed", 0.07), ("rare", 0.15),
]


def units(text: str) -> float:
    return sum(1.0 if ord(c) > 0x2E7F else 0.5 for c in text)


def prefix_within(text: str, max_units: float) -> str:
    """The longest prefix of ``text`` at most ``max_units`` wide (a Hanzi 1 unit, Latin ½), stripped."""
    out, u = [], 0.0
    for c in text:
        u += 1.0 if ord(c) > 0x2E7F else 0.5
        if u > max_units:
            break
        out.append(c)
    return "".join(out).strip()


def _window(rng, line: str, max_units: float) -> str:
    """A random substring of ``line`` whose width in units is at most ``max_units``."""
    target = rng.uniform(1, max(1.0, max_units))
    start = int(rng.integers(0, max(1, len(line))))
    return prefix_within(line[start:], target)


class TextSampler:
    def __init__(self, charset: Charset, corpus_dir: Path | None = None):
        self.cs = charset
        corpus_dir = Path(corpus_dir or os.environ.get("SLIM_OCR_CORPUS") or CORPUS_DIR)
        self.zh = (corpus_dir / "zh.txt").read_text(encoding="utf-8").splitlines()
        self.en = (corpus_dir / "en.txt").read_text(encoding="utf-8").splitlines()
        self.hanzi = [c for c in charset.chars if ord(c) >= 0x4E00]
        self.symbols = [c for c in charset.chars if ord(c) < 0x4E00]
        self._load_words()

    def _load_words(self) -> None:
        import jieba  # only its bundled dictionary (word frequency pos)

        dict_path = Path(jieba.__file__).parent / "dict.txt"
        words, freqs = [], []
        for line in dict_path.read_text(encoding="utf-8").splitlines():
            w, f, *_ = line.split(" ")
            if all(c in self.cs.index for c in w):
                words.append(w)
                freqs.append(float(f))
        p = np.asarray(freqs) ** 0.3  # flatten: rare words (and their rare chars) show up
        self.zh_words, self.zh_words_p = words, p / p.sum()
        en = [w.strip() for w in WORDS_FILE.read_text(encoding="utf-8", errors="ignore").splitlines()]
        self.en_words = [w for w in en if w and "'" not in w and all(c in self.cs.index for c in w)]

    def sample(self, rng: np.random.Generator, max_units: float) -> str:
        names, probs = zip(*SOURCES)
        src = names[int(rng.choice(len(names), p=np.asarray(probs)))]
        for _ in range(5):
            text = self.cs.normalize(getattr(self, "_" + src)(rng, max_units))
            if text and units(text) <= max_units + 0.5:
                return text
        return self.cs.normalize(self._rare(rng, max_units)) or "0"

    # -- sources -----------------------------------------------------------------
    def _zh_prose(self, rng, mu):
        return _window(rng, self.zh[int(rng.integers(len(self.zh)))], mu)

    def _en_prose(self, rng, mu):
        return _window(rng, self.en[int(rng.integers(len(self.en)))], mu)

    def _zh_words(self, rng, mu):
        n = int(rng.integers(1, 8))
        idx = rng.choice(len(self.zh_words), size=n, p=self.zh_words_p)
        sep = "" if rng.random() < 0.8 else " "
        return _window(rng, sep.join(self.zh_words[i] for i in idx), mu) or self.zh_words[idx[0]]

    def _en_words(self, rng, mu):
        words = [self.en_words[int(i)] for i in rng.integers(0, len(self.en_words), 8)]
        r = rng.random()
        if r < 0.15:
            words = [w.upper() for w in words]
        elif r < 0.4:
            words = [w.capitalize() for w in words]
        text = " ".join(words)
        if rng.random() < 0.3:
            text += str(rng.choice(list(".,;:!?")))
        return _window(rng, text, mu)

    def _mixed(self, rng, mu):
        zh = self._zh_prose(rng, mu / 2)
        en = self.en_words[int(rng.integers(len(self.en_words)))]
        if rng.random() < 0.5:
            en = en.upper()[: int(rng.integers(2, 8))] + (str(rng.integers(1, 100)) if rng.random() < 0.3 else "")
        cut = int(rng.integers(0, len(zh) + 1))
        sp = " " if rng.random() < 0.5 else ""
        return zh[:cut] + sp + en + sp + zh[cut:]

    def _rare(self, rng, mu):
        """Uniform over the charset: every class gets seen, whatever its corpus frequency."""
        n = max(1, int(rng.uniform(1, mu + 1)))
        pool = self.hanzi if rng.random() < 0.8 else self.symbols
        return "".join(pool[int(i)] for i in rng.integers(0, len(pool), n))

    def _structured(self, rng, mu):
        r = int(rng.integers(0, 12))
        d = lambda n: "".join(str(x) for x in rng.integers(0, 10, n))  # noqa: E731
        up = string.ascii_uppercase + string.digits
        if r == 0:  # amounts
            v = rng.uniform(0, 10 ** rng.integers(1, 8))
            cur = str(rng.choice(["¥", "￥", "$", "€", "", "RMB "]))
            return f"{cur}{v:,.2f}" if rng.random() < 0.6 else f"{cur}{v:.2f}"
        if r == 1:  # dates
            y, m, dd = rng.integers(1990, 2031), rng.integers(1, 13), rng.integers(1, 29)
            return str(rng.choice([f"{y}年{m}月{dd}日", f"{y}-{m:02d}-{dd:02d}", f"{y}/{m}/{dd}", f"{dd:02d}.{m:02d}.{y}"]))
        if r == 2:  # times
            h, mi, s = rng.integers(0, 24), rng.integers(0, 60), rng.integers(0, 60)
            return str(rng.choice([f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}", f"{h}时{mi}分"]))
        if r == 3:  # phone numbers
            return str(rng.choice([f"1{rng.integers(3, 10)}{d(9)}", f"0{d(2)}-{d(8)}", f"+86 1{d(2)} {d(4)} {d(4)}",
                                   f"({d(3)}) {d(3)}-{d(4)}", f"电话：0{d(3)}-{d(7)}"]))
        if r == 4:  # unified social credit code (18 chars)
            return "".join(up[int(i)] for i in rng.integers(0, len(up), 18))
        if r == 5:  # invoice numbers
            return str(rng.choice([f"No.{d(8)}", f"发票号码：{d(8)}", f"发票代码：{d(12)}", f"INV-{d(6)}"]))
        if r == 6:  # mixed codes
            n = int(rng.integers(4, 14))
            s = "".join(up[int(i)] for i in rng.integers(0, len(up), n))
            return s if rng.random() < 0.5 else s[:3] + "-" + s[3:]
        if r == 7:  # percentages and quantities
            return str(rng.choice([f"{rng.uniform(0, 100):.1f}%", f"{rng.integers(1, 999)}kg", f"{rng.uniform(0, 100):.2f}％",
                                   f"x{rng.integers(1, 50)}", f"{rng.integers(1, 500)}元", f"{rng.integers(1, 99)}.{d(2)}m²"]))
        if r == 8:  # emails / urls
            w = self.en_words[int(rng.integers(len(self.en_words)))].lower()
            return str(rng.choice([f"{w}@{d(3)}.com", f"www.{w}.cn", f"https://{w}.org/{d(4)}"]))
        if r == 9:  # key: value field lines from forms/invoices
            key = str(rng.choice(["名称", "纳税人识别号", "地址、电话", "开户行及账号", "金额", "税额", "合计", "备注",
                                  "Total", "Tax", "Date", "Amount", "Qty", "单价", "数量", "规格型号"]))
            return key + str(rng.choice(["：", ":", " "])) + str(rng.choice([d(int(rng.integers(2, 10))), self._zh_prose(rng, 6)]))
        if r == 10:  # plain numbers
            return d(int(rng.integers(1, 12)))
        return " ".join(self.symbols[int(i)] for i in rng.integers(0, len(self.symbols), int(rng.integers(1, 6))))
