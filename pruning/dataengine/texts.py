"""Texts for the page templates: corpus prose (``pruning.training.textgen.TextSampler`` and the
corpus it reads), structured strings (its generators), and document / invoice / UI fields.

Every package and file the texts come from passes ``pruning.evaluation.reserved`` first.
Look-alike punctuation (“” vs "", 。 vs ，, 〈〉 vs (), — vs 一, （） vs ()) is put into
prose on purpose, both the right way round and the way careless documents mix them.
"""
from __future__ import annotations

import os
import string
from pathlib import Path

import numpy as np

from pruning.dataengine.common import default_charset, guard_text_sources
from pruning.training import corpus
from pruning.training.textgen import TextSampler, prefix_within, units

_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]


def amount_in_words(v: float) -> str:
    """Chinese capital amount as on invoices: 壹仟贰佰叁拾肆圆伍角陆分 / ...圆整."""
    yuan = int(v)
    jiao, fen = int(round(v * 100)) // 10 % 10, int(round(v * 100)) % 10
    out, zero = [], False
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    for gi in range(len(groups) - 1, -1, -1):
        g = groups[gi]
        if g == 0:
            zero = bool(out)
            continue
        for i in range(3, -1, -1):
            dgt = g // 10 ** i % 10
            if dgt == 0:
                zero = bool(out)
                continue
            if zero:
                out.append("零")
                zero = False
            out.append(_UPPER_DIGITS[dgt] + _UNITS[i])
        out.append(["", "万", "亿"][gi] if gi < 3 else "")
    s = "".join(out) or "零"
    s += "圆"
    if jiao == 0 and fen == 0:
        return s + "整"
    if jiao:
        s += _UPPER_DIGITS[jiao] + "角"
    elif fen:
        s += "零"
    if fen:
        s += _UPPER_DIGITS[fen] + "分"
    return s


class PageTexts:
    """Draws every string a page template needs from a ``numpy.random.Generator``."""

    def __init__(self, sampler: TextSampler | None = None, corpus_dir: Path | None = None):
        cdir = Path(corpus_dir or os.environ.get("SLIM_OCR_CORPUS") or corpus.CORPUS_DIR)
        import jieba

        guard_text_sources(corpus.ZH_PACKAGES + corpus.EN_PACKAGES + ["wamerican"],
                           [cdir / "zh.txt", cdir / "en.txt", corpus.WORDS_FILE,
                            Path(jieba.__file__).parent / "dict.txt"])
        self.cs = default_charset()
        self.s = sampler or TextSampler(self.cs, cdir)
        # Prose sentences long enough for paragraphs; short ones make titles/labels.
        self.zh_long = [t for t in self.s.zh if len(t) >= 12] or self.s.zh
        self.en_long = [t for t in self.s.en if len(t) >= 30 and " " in t] or self.s.en
        self.zh_short_words = [w for w in self.s.zh_words if 2 <= len(w) <= 4]

    # -- prose -------------------------------------------------------------------------
    def zh_sentence(self, rng) -> str:
        t = self.zh_long[int(rng.integers(len(self.zh_long)))]
        return self.punctuate(t, rng) if rng.random() < 0.25 else t

    def en_sentence(self, rng) -> str:
        return self.en_long[int(rng.integers(len(self.en_long)))]

    def paragraph(self, rng, lang: str = "zh", n: int | None = None) -> str:
        n = n or int(rng.integers(2, 7))
        if lang == "en":
            return " ".join(self.en_sentence(rng) for _ in range(n))
        parts = []
        for _ in range(n):
            if rng.random() < 0.12:
                parts.append(self.s._mixed(rng, 24))
            else:
                parts.append(self.zh_sentence(rng))
        return "".join(p if p[-1:] in "。！？；：”）" else p + str(rng.choice(["。", "，", "；", "。"])) for p in parts)

    def punctuate(self, text: str, rng) -> str:
        """Quotes, title marks, brackets and dashes of the look-alike kinds around a span."""
        if len(text) < 4:
            return text
        a = int(rng.integers(0, len(text) - 2))
        b = int(rng.integers(a + 1, min(len(text), a + 10)))
        pairs = [("“", "”"), ("《", "》"), ("〈", "〉"), ("（", "）"), ("(", ")"), ('"', '"'),
                 ("「", "」"), ("【", "】"), ("‘", "’")]
        lo, hi = pairs[int(rng.integers(len(pairs)))]
        out = text[:a] + lo + text[a:b] + hi + text[b:]
        r = rng.random()
        if r < 0.2:
            out = out.replace("，", ",", 1) if rng.random() < 0.5 else out.replace("。", ".", 1)
        elif r < 0.35:
            out = out[:b] + "——" + out[b:]
        elif r < 0.45:
            out = out[:a] + "一" + out[a:]
        return out

    def window(self, rng, lang: str, lo: float, hi: float) -> str:
        """A span of a corpus sentence ``lo``..``hi`` units long (shorter if the sentence is)."""
        src = self.zh_long if lang == "zh" else self.en_long
        line = src[int(rng.integers(len(src)))]
        target = rng.uniform(lo, hi)
        start = int(rng.integers(0, max(1, len(line) - 2)))
        if lang == "en" and start:
            sp = line.find(" ", start)
            start = sp + 1 if 0 < sp < len(line) - 2 else 0
        return prefix_within(line[start:], target)

    def title(self, rng, max_units: float = 14) -> str:
        if rng.random() < 0.5:
            w = "".join(self.word(rng) for _ in range(int(rng.integers(1, 4))))
        else:
            w = self.window(rng, "zh", min(3, max_units), max_units)
        return w.strip("，。；：、 ") or self.word(rng)

    def en_title(self, rng) -> str:
        words = [self.s.en_words[int(i)] for i in rng.integers(0, len(self.s.en_words), int(rng.integers(1, 5)))]
        return " ".join(w.capitalize() for w in words)

    def word(self, rng) -> str:
        return self.zh_short_words[int(rng.integers(len(self.zh_short_words)))]

    def en_word(self, rng) -> str:
        return self.s.en_words[int(rng.integers(len(self.s.en_words)))]

    def short(self, rng, max_units: float = 16) -> str:
        r = rng.random()
        if r < 0.4:
            return self.window(rng, "zh", min(2, max_units), max_units) or self.word(rng)
        if r < 0.55:
            return self.window(rng, "en", min(2, max_units), max_units) or self.en_word(rng)
        return self.s.sample(rng, max_units)

    def structured(self, rng) -> str:
        return self.cs.normalize(self.s._structured(rng, 20))

    # -- fields ------------------------------------------------------------------------
    def digits(self, rng, n: int) -> str:
        return "".join(str(x) for x in rng.integers(0, 10, n))

    def code(self, rng, n: int) -> str:
        up = string.ascii_uppercase + string.digits
        return "".join(up[int(i)] for i in rng.integers(0, len(up), n))

    def amount(self, rng, lo: float = 0.5, hi: float = 10 ** 5, commas: bool | None = None) -> str:
        v = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        commas = rng.random() < 0.5 if commas is None else commas
        return f"{v:,.2f}" if commas else f"{v:.2f}"

    def date(self, rng) -> str:
        y, m, d = int(rng.integers(2015, 2031)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        return str(rng.choice([f"{y}年{m:02d}月{d:02d}日", f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}/{m:02d}/{d:02d}",
                               f"{y}.{m:02d}.{d:02d}"]))

    def time(self, rng) -> str:
        h, mi, s = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
        return str(rng.choice([f"{h:02d}:{mi:02d}", f"{h:02d}:{mi:02d}:{s:02d}", f"{h}:{mi:02d}"]))

    def phone(self, rng) -> str:
        d = lambda n: self.digits(rng, n)  # noqa: E731
        return str(rng.choice([f"1{int(rng.integers(3, 10))}{d(9)}", f"0{d(2)}-{d(8)}", f"0{d(3)}-{d(7)}",
                               f"1{d(2)} {d(4)} {d(4)}", f"+86 1{d(2)}-{d(4)}-{d(4)}"]))

    def company(self, rng) -> str:
        place = str(rng.choice(["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "天津", "苏州", "重庆"]))
        core = "".join(self.word(rng) for _ in range(int(rng.integers(1, 3))))
        kind = str(rng.choice(["有限公司", "科技有限公司", "贸易有限公司", "股份有限公司", "商贸中心", "服务部", "餐饮管理有限公司"]))
        return place + ("市" if rng.random() < 0.3 else "") + core + kind

    def address(self, rng) -> str:
        return (str(rng.choice(["北京市", "上海市", "广东省广州市", "浙江省杭州市", "四川省成都市", "江苏省南京市"]))
                + self.word(rng) + str(rng.choice(["区", "县"])) + self.word(rng) + str(rng.choice(["路", "街", "大道"]))
                + f"{int(rng.integers(1, 999))}号")

    def product(self, rng) -> str:
        r = rng.random()
        if r < 0.5:
            return "*" + self.word(rng) + "*" + self.word(rng) if rng.random() < 0.5 else self.word(rng) + self.word(rng)
        if r < 0.8:
            return self.word(rng) + f" {self.code(rng, int(rng.integers(2, 5)))}-{int(rng.integers(1, 999))}"
        return self.en_title(rng)

    def unit(self, rng) -> str:
        return str(rng.choice(["个", "件", "台", "套", "箱", "kg", "米", "次", "份", "盒", "瓶", "张", "项"]))

    def person(self, rng) -> str:
        sur = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
        given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏宇浩凯健俊帆帅旭宁晨雪琳欣怡佳"
        n = int(rng.integers(1, 3))
        return sur[int(rng.integers(len(sur)))] + "".join(given[int(i)] for i in rng.integers(0, len(given), n))

    def chat(self, rng) -> str:
        r = rng.random()
        if r < 0.55:
            return self.window(rng, "zh", 2, 40) or self.word(rng)
        if r < 0.7:
            return self.window(rng, "en", 3, 30) or self.en_word(rng)
        if r < 0.85:
            return self.s._mixed(rng, 20)
        return self.structured(rng)

    def fits(self, text: str, max_units: float) -> bool:
        return units(text) <= max_units
