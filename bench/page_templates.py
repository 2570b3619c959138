"""Evaluation-only UI page templates and their texts (for ``bench/page_set.py``).

Written for the page-level evaluation set, independently of the training data engine
(``pruning/dataengine``): no template, text list, style table or random stream of it is
used here. Every page is a self-contained HTML document drawn from its own seeded rng:

* ``invoice``  - a bill with a ruled item table (solid, dashed or dotted rules), totals;
* ``receipt``  - a narrow till slip: dashed/dotted separators and dotted leaders;
* ``chat``     - a phone chat screen: rounded bubbles (light or dark), avatars, time stamps;
* ``dashboard``- a dark-theme dashboard: rounded cards, KPIs, a sparkline, an event list;
* ``settings`` - a settings list: icon tiles, labels, values, chevrons, switches;
* ``callouts`` - a documentation page with NOTE / WARNING / TIP callouts (icon + label);
* ``table``    - a data table with rules (all / horizontal / dashed / dotted, zebra);
* ``form``     - a form with dashed/dotted field boxes, check boxes and buttons.

Texts (``EvalTexts``) come only from the HTML documentation of packages already reserved
for evaluation (``pruning.evaluation.reserved.EVAL_SET_PACKAGES``; the line-level set uses
their PDFs): sentences and headings of debian-faq-zh-cn, maint-guide-zh-cn,
debian-reference-zh-cn, maint-guide and debian-policy, plus amounts, dates, times, codes,
phone numbers and names generated here. Never the training corpus (``data/corpus/``).

Fonts include the faces held out from training (AR PL UMing, WenQuanYi Micro Hei,
Liberation Serif) and Latin faces training never uses (URW/Nimbus families), so
``page_set`` renders with the system's fontconfig, not the training one.

Each template returns ``(body_html, css, width_css_px, tags)``; ``tags`` name the failure
kinds the page exercises (``dashed``, ``dotted``, ``bubbles``, ``dark``, ``icons``,
``table_rules``, ``rules``, ``leaders``, ``cards``); ``page_set`` adds the template's name
(``callouts`` for the NOTE/WARNING pages, ``chat``, ``invoice`` ...).
"""
from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# (package, glob under its root in data/eval_src/pkg/<package>/, lang)
TEXT_SOURCES = (
    ("debian-faq-zh-cn", "usr/share/doc/debian/FAQ/zh-cn/*.zh-cn.html", "zh"),
    ("maint-guide-zh-cn", "usr/share/doc/maint-guide-zh-cn/html/*.zh-cn.html", "zh"),
    ("debian-reference-zh-cn", "usr/share/debian-reference/*.zh-cn.html", "zh"),
    ("maint-guide", "usr/share/doc/maint-guide/html/*.en.html", "en"),
    ("debian-policy", "usr/share/doc/debian-policy/policy.html/*.html", "en"),
)

# Evaluation fonts. CJK: Hei, Song/Ming, Kai faces; Latin: serif, sans, mono.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "AR PL UKai CN", "AR PL UMing CN", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Droid Sans Fallback")
LATIN_FONTS = ("Liberation Serif", "Liberation Sans", "DejaVu Sans", "DejaVu Serif", "Nimbus Roman", "Nimbus Sans",
               "C059", "P052", "URW Bookman", "URW Gothic")
MONO_FONTS = ("DejaVu Sans Mono", "Liberation Mono", "Nimbus Mono PS", "Noto Sans Mono CJK SC")


def esc(t: str) -> str:
    return _html.escape(t, quote=False)


# --------------------------------------------------------------------------- texts

_ZH_SPLIT = re.compile(r"(?<=[。！？；])")
_EN_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(])")
_HEAD_NUM = re.compile(r"^\s*(第\s*\d+\s*章|附录\s*[A-Z]|\d+(\.\d+)*\.?|[A-Z](\.\d+)+\.?|[A-Z]\.)\s+")
_EN_PHRASE = re.compile(r"[A-Za-z][A-Za-z0-9 ,'()/-]{2,39}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


_CHARSET = re.compile(rb"""charset=["']?([A-Za-z0-9_-]+)""", re.I)


def parse_html(path: Path):
    """lxml tree of an HTML file, in its declared charset (UTF-8 when none is declared)."""
    import lxml.html  # noqa: PLC0415

    data = path.read_bytes()
    m = _CHARSET.search(data[:4096])
    enc = m.group(1).decode() if m else "utf-8"
    return lxml.html.fromstring(data, parser=lxml.html.HTMLParser(encoding=enc))


def _doc_blocks(path: Path) -> tuple[list[str], list[str]]:
    """(paragraph texts, heading texts) of one HTML page (whitespace collapsed)."""
    root = parse_html(path)
    for bad in root.xpath("//script|//style|//pre|//table"):
        bad.drop_tree()
    paras = [" ".join(e.text_content().split()) for e in root.xpath("//p|//li|//dd")]
    heads = [" ".join(e.text_content().split()) for e in root.xpath("//h1|//h2|//h3|//h4|//dt")]
    return [p for p in paras if p], [h for h in heads if h]


@dataclass
class EvalTexts:
    """Sentences, short sentences and phrases per language from the evaluation-only docs."""
    src: Path = REPO / "data" / "eval_src"
    sentences: dict = field(default_factory=dict)
    phrases: dict = field(default_factory=dict)
    words: dict = field(default_factory=dict)

    def __post_init__(self):
        from pruning.evaluation.reserved import EVAL_SET_PACKAGES  # noqa: PLC0415
        from slim_ocr.charset import load_charset  # noqa: PLC0415

        cs = load_charset()

        def ok(t: str) -> bool:   # every visible character representable (so GT = what is drawn)
            return all(ch.isspace() or cs.normalize(ch) for ch in t)

        sent = {"zh": set(), "en": set()}
        phr = {"zh": set(), "en": set()}
        for pkg, pattern, lang in TEXT_SOURCES:
            assert pkg in EVAL_SET_PACKAGES, f"{pkg} is not an evaluation package"
            files = sorted((self.src / "pkg" / pkg).glob(pattern))
            if not files:
                raise FileNotFoundError(f"no {pattern} under {self.src / 'pkg' / pkg} (python -m bench.page_set fetches it)")
            for f in files:
                paras, heads = _doc_blocks(f)
                for p in paras:
                    parts = _ZH_SPLIT.split(p) if lang == "zh" else _EN_SPLIT.split(p)
                    for s in (x.strip() for x in parts):
                        if not ok(s):
                            continue
                        if lang == "zh" and 6 <= len(s) <= 48 and len(_HAN.findall(s)) >= 0.6 * len(s.replace(" ", "")):
                            sent[lang].add(s)
                        elif (lang == "en" and 24 <= len(s) <= 110 and s.isascii() and not re.search(r"\s[,.;:)]|\(\s*\)", s)
                              and s[0].isupper()):
                            sent[lang].add(s)
                for h in heads:
                    h = _HEAD_NUM.sub("", h).strip(" :：")
                    if not ok(h) or not h:
                        continue
                    if lang == "zh" and 2 <= len(h) <= 14 and _HAN.search(h):
                        phr[lang].add(h)
                    elif lang == "en" and _EN_PHRASE.fullmatch(h) and re.search(r"[A-Za-z]{3}", h):
                        phr[lang].add(h)
        self.sentences = {k: sorted(v) for k, v in sent.items()}
        self.phrases = {k: sorted(v) for k, v in phr.items()}
        en_words = sorted({w for s in self.sentences["en"] for w in re.findall(r"[A-Za-z][a-z]{3,11}", s)})
        zh_words = sorted({w for p in self.phrases["zh"] for w in re.findall(r"[\u4e00-\u9fff]{2,4}", p)})
        self.words = {"en": en_words, "zh": zh_words}
        for k in ("zh", "en"):
            if len(self.sentences[k]) < 50 or len(self.phrases[k]) < 20:
                raise ValueError(f"too few {k} texts from the evaluation docs")

    # -- drawing ------------------------------------------------------------------------
    @staticmethod
    def _pick(rng, seq):
        return seq[int(rng.integers(len(seq)))]

    def sentence(self, rng, lang: str, max_len: int | None = None) -> str:
        pool = self.sentences[lang]
        for _ in range(20):
            s = self._pick(rng, pool)
            if max_len is None or len(s) <= max_len:
                return s
        return s[:max_len].rstrip()

    def phrase(self, rng, lang: str, max_len: int = 14) -> str:
        for _ in range(20):
            s = self._pick(rng, self.phrases[lang])
            if len(s) <= max_len:
                return s
        return s[:max_len].rstrip()

    def word(self, rng, lang: str) -> str:
        return self._pick(rng, self.words[lang])


# generated values (own formats)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲红鹏飞宇浩然欣怡晨雪峰海波"
_EN_FIRST = ("Alice", "Bruno", "Chen", "Dana", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Liam",
             "Mei", "Nora", "Omar", "Priya", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Yusuf", "Zoe")
_EN_LAST = ("Andersen", "Brooks", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova", "Jensen",
            "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka")


class Gen:
    """Amounts, dates, codes, names of our own (seeded by the caller's rng)."""

    @staticmethod
    def amount(rng, lo=1.0, hi=9999.0, commas=True) -> str:
        v = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        return f"{v:,.2f}" if commas else f"{v:.2f}"

    @staticmethod
    def date(rng, lang="zh") -> str:
        y, m, d = int(rng.integers(2015, 2027)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        k = int(rng.integers(4))
        if lang == "zh" and k < 2:
            return f"{y}年{m}月{d}日"
        return (f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{y}.{m:02d}.{d:02d}", f"{y}/{m}/{d}")[k]

    @staticmethod
    def time(rng, seconds=False) -> str:
        h, m, s = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
        return f"{h:02d}:{m:02d}:{s:02d}" if seconds else f"{h:02d}:{m:02d}"

    @staticmethod
    def digits(rng, n) -> str:
        return "".join(str(int(d)) for d in rng.integers(0, 10, n))

    @staticmethod
    def code(rng, n) -> str:
        al = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        return "".join(al[int(i)] for i in rng.integers(0, len(al), n))

    @staticmethod
    def phone(rng) -> str:
        return f"1{int(rng.integers(30, 99))}-{Gen.digits(rng, 4)}-{Gen.digits(rng, 4)}" if rng.random() < 0.5 \
            else f"0{int(rng.integers(10, 999))}-{Gen.digits(rng, 8)}"

    @staticmethod
    def person(rng, lang="zh") -> str:
        if lang == "zh":
            n = 1 + int(rng.random() < 0.7)
            return _SURNAMES[int(rng.integers(len(_SURNAMES)))] + "".join(_GIVEN[int(i)] for i in rng.integers(0, len(_GIVEN), n))
        return f"{_EN_FIRST[int(rng.integers(len(_EN_FIRST)))]} {_EN_LAST[int(rng.integers(len(_EN_LAST)))]}"

    @staticmethod
    def percent(rng) -> str:
        return f"{rng.uniform(-40, 60):+.1f}%"


# --------------------------------------------------------------------------- style

@dataclass
class UiStyle:
    lang: str
    cjk: str
    latin: str | None
    mono: str
    size: float
    dark: bool
    accent: str
    fg: str
    bg: str
    muted: str
    line_height: float

    @property
    def family(self) -> str:
        fams = ([self.latin] if self.latin else []) + [self.cjk]
        return ", ".join(f"'{f}'" for f in fams)


_ACCENTS = ("#0b63c5", "#c2410c", "#15803d", "#7c3aed", "#be123c", "#0e7490", "#b45309", "#4338ca", "#047857",
            "#9f1239")


def _hexc(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(np.clip(c, 0, 255)) for c in rgb)


def draw_ui_style(rng, dark: bool | None = None, lang: str | None = None) -> UiStyle:
    lang = lang or ("en" if rng.random() < 0.3 else "zh")
    cjk = CJK_FONTS[int(rng.integers(len(CJK_FONTS)))]
    latin = LATIN_FONTS[int(rng.integers(len(LATIN_FONTS)))] if (lang == "en" or rng.random() < 0.4) else None
    r = rng.random()                    # drawn either way: the rest of the stream does not depend on it
    dark = bool(r < 0.3) if dark is None else dark
    if dark:
        g = rng.uniform(12, 40)
        bg, fg, muted = _hexc([g, g + rng.uniform(0, 6), g + rng.uniform(0, 12)]), _hexc([rng.uniform(200, 240)] * 3), \
            _hexc([rng.uniform(120, 160)] * 3)
    else:
        bg = _hexc([rng.uniform(240, 255)] * 3)
        fg, muted = _hexc([rng.uniform(10, 60)] * 3), _hexc([rng.uniform(100, 140)] * 3)
    return UiStyle(lang=lang, cjk=cjk, latin=latin, mono=MONO_FONTS[int(rng.integers(len(MONO_FONTS)))],
                   size=float(rng.choice([13, 14, 15, 16, 17, 18])), dark=dark,
                   accent=_ACCENTS[int(rng.integers(len(_ACCENTS)))], fg=fg, bg=bg, muted=muted,
                   line_height=float(rng.uniform(1.3, 1.7)))


# --------------------------------------------------------------------------- icons (inline SVG, no text)

_ICON_PATHS = {
    "bell": '<path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4z" fill="C"/><circle cx="12" cy="20.5" r="1.8" fill="C"/>',
    "lock": '<rect x="5" y="10" width="14" height="11" rx="2" fill="C"/><path d="M8 10V7a4 4 0 0 1 8 0v3" stroke="C" stroke-width="2" fill="none"/>',
    "wifi": '<path d="M2 9a14 14 0 0 1 20 0M5 12.5a9.5 9.5 0 0 1 14 0M8.5 16a4.5 4.5 0 0 1 7 0" stroke="C" stroke-width="2" fill="none" stroke-linecap="round"/><circle cx="12" cy="19.5" r="1.6" fill="C"/>',
    "search": '<circle cx="10" cy="10" r="6" stroke="C" stroke-width="2.2" fill="none"/><path d="M14.5 14.5L21 21" stroke="C" stroke-width="2.4" stroke-linecap="round"/>',
    "home": '<path d="M3 11l9-8 9 8v10h-6v-6H9v6H3z" fill="C"/>',
    "user": '<circle cx="12" cy="8" r="4.2" fill="C"/><path d="M3.5 21a8.5 8.5 0 0 1 17 0z" fill="C"/>',
    "star": '<path d="M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z" fill="C"/>',
    "trash": '<path d="M4 6h16M9 6V4h6v2M6 6l1 15h10l1-15" stroke="C" stroke-width="2" fill="none"/>',
    "info": '<circle cx="12" cy="12" r="10" fill="C"/><rect x="10.8" y="10" width="2.4" height="8" rx="1" fill="#fff"/><circle cx="12" cy="6.8" r="1.5" fill="#fff"/>',
    "warn": '<path d="M12 2.5L23 21H1z" fill="C"/><rect x="10.8" y="8.5" width="2.4" height="7" rx="1" fill="#fff"/><circle cx="12" cy="18.2" r="1.4" fill="#fff"/>',
    "check": '<circle cx="12" cy="12" r="10" fill="C"/><path d="M7 12.5l3.2 3.2L17.5 8" stroke="#fff" stroke-width="2.4" fill="none"/>',
    "chevron": '<path d="M9 4.5l7.5 7.5L9 19.5" stroke="C" stroke-width="2.2" fill="none" stroke-linecap="round"/>',
    "battery": '<rect x="2" y="7" width="18" height="10" rx="2" stroke="C" stroke-width="2" fill="none"/><rect x="4.5" y="9.5" width="10" height="5" fill="C"/><rect x="21" y="10" width="1.8" height="4" fill="C"/>',
    "cloud": '<path d="M7 19a5 5 0 0 1-.6-10A6.5 6.5 0 0 1 19 9.5a4.8 4.8 0 0 1-.5 9.5z" fill="C"/>',
    "gear": '<circle cx="12" cy="12" r="6.5" stroke="C" stroke-width="3.5" fill="none" stroke-dasharray="3.2 1.9"/><circle cx="12" cy="12" r="2.6" fill="C"/>',
    "mail": '<rect x="2.5" y="5" width="19" height="14" rx="2" stroke="C" stroke-width="2" fill="none"/><path d="M3 6.5l9 7 9-7" stroke="C" stroke-width="2" fill="none"/>',
    "back": '<path d="M15 4.5L7.5 12l7.5 7.5" stroke="C" stroke-width="2.4" fill="none" stroke-linecap="round"/>',
    "plus": '<circle cx="12" cy="12" r="10" stroke="C" stroke-width="2" fill="none"/><path d="M12 7v10M7 12h10" stroke="C" stroke-width="2"/>',
}
ICON_NAMES = tuple(_ICON_PATHS)


def icon(name: str, color: str, em: float = 1.2, extra_style: str = "") -> str:
    body = _ICON_PATHS[name].replace('"C"', f'"{color}"')
    return (f'<svg viewBox="0 0 24 24" aria-hidden="true" style="width:{em}em;height:{em}em;flex:none;'
            f'vertical-align:-0.2em;{extra_style}">{body}</svg>')


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


# --------------------------------------------------------------------------- templates

def t_invoice(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    rule = _pick(rng, ("solid", "solid", "dashed", "dotted"))
    rc = _pick(rng, ("#444", "#888", st.accent, "#b91c1c"))
    n = int(rng.integers(3, 8))
    items, total = [], 0.0
    for i in range(n):
        q = int(rng.integers(1, 30))
        p = float(np.exp(rng.uniform(0, 7)))
        total += q * p
        items.append((str(i + 1), T.phrase(rng, st.lang, 12), str(q), f"{p:,.2f}", f"{q * p:,.2f}"))
    heads = ("序号", "项目", "数量", "单价", "金额") if zh else ("No.", "Description", "Qty", "Unit price", "Amount")
    tax = total * float(_pick(rng, (0.03, 0.06, 0.09, 0.13)))
    inner = f"1px {rule} {rc}"
    css = (f".inv{{border-collapse:collapse;width:100%;margin:0.8em 0}} .inv th,.inv td{{padding:0.35em 0.6em;"
           f"border-bottom:{inner}}} .inv th{{border-top:2px solid {rc};border-bottom:2px solid {rc};text-align:left}}"
           f" .inv td.n{{text-align:right}} .tot{{margin-left:auto;width:45%}} .tot div{{display:flex;"
           f"justify-content:space-between;padding:0.2em 0}} .box{{border:1px {rule} {rc};padding:0.6em 0.8em;margin:0.6em 0}}")
    if rng.random() < 0.5:
        css += f" .inv td{{border-left:{inner};border-right:{inner}}}"
    rows = "".join("<tr>" + "".join(f'<td class="{"n" if j >= 2 else ""}">{esc(c)}</td>' for j, c in enumerate(r)) + "</tr>"
                   for r in items)
    title = ("发票" if rng.random() < 0.5 else "结算单") if zh else _pick(rng, ("INVOICE", "Invoice", "Bill"))
    company = T.phrase(rng, st.lang, 10) + ("有限公司" if zh else " Ltd.")
    meta = (f'<div>{"发票号码" if zh else "Invoice no."}：{Gen.digits(rng, 8)}</div>'
            f'<div>{"开票日期" if zh else "Date"}：{Gen.date(rng, st.lang)}</div>'
            f'<div>{"客户编号" if zh else "Customer"}：{Gen.code(rng, 6)}</div>').replace("：", "：" if zh else ": ")
    body = (f'<div style="display:flex;justify-content:space-between;align-items:flex-end">'
            f'<div><div style="font-size:1.9em;font-weight:700;color:{st.accent}">{esc(title)}</div>'
            f'<div style="font-weight:700">{esc(company)}</div><div style="color:{st.muted}">{esc(Gen.phone(rng))}</div></div>'
            f'<div style="text-align:right;font-size:0.9em">{meta}</div></div>'
            f'<div class="box"><b>{"购买方" if zh else "Bill to"}</b>　{esc(Gen.person(rng, st.lang))}<br>'
            f'{esc(T.sentence(rng, st.lang, 40))}</div>'
            f'<table class="inv"><tr>{"".join(f"<th>{esc(h)}</th>" for h in heads)}</tr>{rows}</table>'
            f'<div class="tot"><div><span>{"小计" if zh else "Subtotal"}</span><span>{total:,.2f}</span></div>'
            f'<div><span>{"税额" if zh else "Tax"}</span><span>{tax:,.2f}</span></div>'
            f'<div style="font-weight:700;border-top:2px solid {rc}"><span>{"合计" if zh else "Total"}</span>'
            f'<span>¥{total + tax:,.2f}</span></div></div>'
            f'<div style="color:{st.muted};font-size:0.85em;margin-top:1.2em">{esc(T.sentence(rng, st.lang, 60))}</div>')
    tags = ["table_rules"] + ([rule] if rule != "solid" else [])
    return body, css, int(rng.uniform(640, 900)), tags


def t_receipt(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    sep_kind = _pick(rng, ("dashed", "dotted"))
    sep = f'<div style="border-top:{_pick(rng, (1, 2))}px {sep_kind} {st.fg};margin:0.5em 0"></div>'
    lead = _pick(rng, ("dotted", "dashed"))
    rows = []
    for _ in range(int(rng.integers(4, 10))):
        name = T.phrase(rng, st.lang, 9 if zh else 18)
        qty = f'<span style="margin-left:0.5em;color:{st.muted}">×{int(rng.integers(1, 6))}</span>' if rng.random() < 0.5 else ""
        rows.append(f'<div style="display:flex;align-items:baseline"><span>{esc(name)}</span>{qty}'
                    f'<span style="flex:1;border-bottom:2px {lead} {st.muted};margin:0 0.4em"></span>'
                    f'<span>{Gen.amount(rng, 1, 500, commas=False)}</span></div>')
    kv = lambda k, v: (f'<div style="display:flex;justify-content:space-between"><span>{esc(k)}</span>'  # noqa: E731
                       f'<span>{esc(v)}</span></div>')
    font = f"font-family:'{st.mono}', '{st.cjk}';" if rng.random() < 0.5 else ""
    shop = T.phrase(rng, st.lang, 8) + ("便利店" if zh else " Store")
    body = (f'<div style="{font}background:#fffef8;color:#222;padding:1.2em 1em;border:1px solid #ddd">'
            f'<div style="text-align:center;font-size:1.25em;font-weight:700">{esc(shop)}</div>'
            f'<div style="text-align:center;font-size:0.85em">{esc(Gen.phone(rng))}</div>{sep}'
            + kv("单号" if zh else "Receipt", Gen.digits(rng, 12)) + kv("日期" if zh else "Date", Gen.date(rng, "en"))
            + kv("时间" if zh else "Time", Gen.time(rng, True)) + sep + "".join(rows) + sep
            + kv("合计" if zh else "Total", "¥" + Gen.amount(rng, 10, 2000))
            + kv("实收" if zh else "Paid", Gen.amount(rng, 10, 2000)) + kv("找零" if zh else "Change", Gen.amount(rng, 0.1, 99))
            + sep + f'<div style="text-align:center;font-size:0.85em">{esc(T.sentence(rng, st.lang, 20 if zh else 44))}</div></div>')
    css = "body{background:#e7e5df}"
    return body, css, int(rng.uniform(300, 400)), ["leaders", sep_kind, lead]


def t_chat(rng, T: EvalTexts, st: UiStyle):
    if st.dark:
        mine, theirs, fg_m, fg_t, page = _pick(rng, ("#2f6f4f", "#26547c", "#5b3f8c")), _pick(rng, ("#2a2d33", "#303338")), \
            "#eef", "#e6e6e6", st.bg
    else:
        mine = _pick(rng, ("#9be27a", "#c7e6ff", "#0a84ff", "#ffd8a8"))
        theirs, page = "#ffffff", _pick(rng, ("#ececec", "#f2f2f2", "#e3ddd3", "#dfe7ee"))
        fg_m, fg_t = ("#fff" if mine == "#0a84ff" else "#111"), "#111"
    rad = int(rng.choice([8, 12, 16, 20]))
    bar = (f'<div style="display:flex;align-items:center;gap:0.6em;padding:0.7em 0.8em;background:{"#1b1d22" if st.dark else "#f7f7f7"};'
           f'border-bottom:1px solid {"#333" if st.dark else "#d6d6d6"}">{icon("back", st.fg, 1.2)}'
           f'<span style="flex:1;text-align:center;font-weight:700">{esc(Gen.person(rng, st.lang))}</span>{icon("user", st.muted, 1.2)}</div>')
    msgs = []
    for k in range(int(rng.integers(5, 10))):
        if k == 0 or rng.random() < 0.2:
            msgs.append(f'<div style="text-align:center;margin:0.8em 0;font-size:0.75em;color:{st.muted}">'
                        f'{esc(Gen.date(rng, st.lang) + " " + Gen.time(rng))}</div>')
        me = rng.random() < 0.5
        av = (f'<svg viewBox="0 0 10 10" style="width:2.3em;height:2.3em;flex:none"><rect width="10" height="10" '
              f'rx="{_pick(rng, (2, 5))}" fill="{_hexc(rng.uniform(80, 210, 3))}"/></svg>')
        text = T.sentence(rng, st.lang, 36 if st.lang == "zh" else 90)
        shadow = "box-shadow:0 1px 2px #0003;" if rng.random() < 0.5 else ""
        bubble = (f'<div style="background:{mine if me else theirs};color:{fg_m if me else fg_t};padding:0.5em 0.75em;'
                  f'border-radius:{rad}px;{"border-top-right-radius:3px;" if me else "border-top-left-radius:3px;"}'
                  f'max-width:68%;margin:0 0.5em;{shadow}">{esc(text)}</div>')
        msgs.append(f'<div style="display:flex;{"flex-direction:row-reverse;" if me else ""}align-items:flex-start;'
                    f'margin:0.6em 0.6em">{av}{bubble}</div>')
    inp = (f'<div style="display:flex;align-items:center;gap:0.5em;padding:0.6em;margin-top:1em;background:{"#1b1d22" if st.dark else "#f7f7f7"}">'
           f'{icon("plus", st.muted, 1.3)}<div style="flex:1;background:{"#2a2d33" if st.dark else "#fff"};border-radius:6px;'
           f'padding:0.4em 0.6em;color:{st.muted}">{"输入消息" if st.lang == "zh" else "Message"}</div></div>')
    css = f"body{{background:{page}}}"
    return bar + "".join(msgs) + inp, css, int(rng.uniform(340, 420)), ["bubbles", "icons"] + (["dark"] if st.dark else [])


def t_dashboard(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    card = _pick(rng, ("#1e2230", "#23262d", "#1b2a33", "#2b2233"))
    rad = int(rng.choice([8, 12, 16]))
    kpis = []
    for _ in range(int(rng.integers(3, 5))):
        up = rng.random() < 0.6
        pts = " ".join(f"{i * 10},{20 - v:.1f}" for i, v in enumerate(np.cumsum(rng.normal(0, 3, 9)) + 10))
        kpis.append(f'<div style="background:{card};border-radius:{rad}px;padding:0.8em 1em;flex:1 1 10em">'
                    f'<div style="color:{st.muted};font-size:0.85em">{esc(T.phrase(rng, st.lang, 8))}</div>'
                    f'<div style="font-size:1.7em;font-weight:700">{esc(Gen.amount(rng, 10, 10 ** 6))}</div>'
                    f'<div style="display:flex;align-items:center;gap:0.5em"><span style="color:{"#4ade80" if up else "#f87171"};'
                    f'font-size:0.85em">{esc(Gen.percent(rng))}</span><svg viewBox="0 0 80 24" style="width:5em;height:1.5em">'
                    f'<polyline points="{pts}" fill="none" stroke="{st.accent}" stroke-width="2"/></svg></div></div>')
    events = "".join(f'<div style="display:flex;align-items:center;gap:0.7em;padding:0.55em 0;border-bottom:1px solid #ffffff14">'
                     f'{icon(_pick(rng, ("check", "warn", "info", "cloud", "bell")), _pick(rng, ("#4ade80", "#fbbf24", "#60a5fa", "#f87171")), 1.1)}'
                     f'<span style="flex:1">{esc(T.sentence(rng, st.lang, 26 if zh else 60))}</span>'
                     f'<span style="color:{st.muted};font-size:0.8em">{Gen.time(rng)}</span></div>'
                     for _ in range(int(rng.integers(3, 7))))
    nav = "".join(f'<span style="padding:0.3em 0.8em;border-radius:999px;{"background:" + st.accent + ";color:#fff" if i == 0 else ""}">'
                  f'{esc(T.phrase(rng, st.lang, 6))}</span>' for i in range(int(rng.integers(3, 5))))
    body = (f'<div style="display:flex;align-items:center;gap:0.8em;margin-bottom:1em">{icon("home", st.accent, 1.5)}'
            f'<b style="font-size:1.2em">{esc(T.phrase(rng, st.lang, 10))}</b><span style="flex:1"></span>{nav}</div>'
            f'<div style="display:flex;flex-wrap:wrap;gap:0.8em">{"".join(kpis)}</div>'
            f'<div style="background:{card};border-radius:{rad}px;padding:0.6em 1em;margin-top:1em">'
            f'<div style="font-weight:700;margin-bottom:0.3em">{"最近事件" if zh else "Recent events"}</div>{events}</div>')
    return body, "", int(rng.uniform(680, 980)), ["dark", "cards", "icons"]


def t_settings(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    sec_bg, page, line = ("#1c1c1f", "#000", "#333") if st.dark else ("#fff", _pick(rng, ("#f2f2f6", "#eeeeee")), "#e2e2e2")
    out = [f'<div style="font-size:1.6em;font-weight:700;padding:0.6em 0.7em 0.2em">{"设置" if zh else "Settings"}</div>']
    if rng.random() < 0.6:
        out.append(f'<div style="margin:0.4em 0.8em;padding:0.45em 0.7em;border-radius:10px;background:{"#2a2a2e" if st.dark else "#e4e4e9"};'
                   f'color:{st.muted};display:flex;gap:0.5em;align-items:center">{icon("search", st.muted, 1.0)}'
                   f'<span>{"搜索" if zh else "Search"}</span></div>')
    for _ in range(int(rng.integers(2, 4))):
        out.append(f'<div style="color:{st.muted};font-size:0.8em;padding:1em 1.2em 0.35em">{esc(T.phrase(rng, st.lang, 10))}</div>')
        rows = []
        for _ in range(int(rng.integers(2, 5))):
            tile = _hexc(rng.uniform(40, 220, 3))
            ic = (f'<span style="display:inline-flex;background:{tile};border-radius:7px;padding:0.25em">'
                  f'{icon(_pick(rng, ICON_NAMES[:-3]), "#fff", 1.05, "vertical-align:0")}</span>')
            k = int(rng.integers(3))
            if k == 0:
                right = f'<span style="color:{st.muted}">{esc(T.phrase(rng, st.lang, 6))}</span>{icon("chevron", st.muted, 0.9)}'
            elif k == 1:
                on = rng.random() < 0.5
                right = (f'<span style="width:2.7em;height:1.6em;border-radius:1em;background:{"#34c759" if on else "#c8c8cc"};'
                         f'position:relative;flex:none"><span style="position:absolute;top:0.12em;{"right" if on else "left"}:0.12em;'
                         f'width:1.36em;height:1.36em;border-radius:50%;background:#fff"></span></span>')
            else:
                right = (f'<span style="background:#e5484d;color:#fff;border-radius:1em;padding:0 0.5em;font-size:0.8em">'
                         f'{int(rng.integers(1, 99))}</span>{icon("chevron", st.muted, 0.9)}')
            rows.append(f'<div style="display:flex;align-items:center;gap:0.7em;padding:0.6em 1em;border-bottom:1px solid {line}">'
                        f'{ic}<span style="flex:1">{esc(T.phrase(rng, st.lang, 10))}</span>{right}</div>')
        out.append(f'<div style="background:{sec_bg};border-radius:{_pick(rng, (0, 12))}px;margin:0 {_pick(rng, (0, 14))}px">{"".join(rows)}</div>')
    return "".join(out), f"body{{background:{page}}}", int(rng.uniform(340, 460)), ["icons", "rules"] + (["dark"] if st.dark else [])


_CALLOUTS = {  # kind -> (zh label, en label, colour, tint light, tint dark, icon)
    "note": ("注意", "NOTE", "#2563eb", "#eaf1ff", "#17233d", "info"),
    "warning": ("警告", "WARNING", "#d97706", "#fff4e0", "#3a2a10", "warn"),
    "tip": ("提示", "TIP", "#16a34a", "#e8f7ee", "#12301e", "check"),
    "important": ("重要", "IMPORTANT", "#dc2626", "#fdecec", "#3a1515", "star"),
}


def t_callouts(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    parts = [f'<h1 style="font-size:1.6em;margin:0.3em 0">{esc(T.phrase(rng, st.lang, 14))}</h1>']
    look = int(rng.integers(3))
    for i in range(int(rng.integers(4, 7))):
        if i % 2 == 1 or rng.random() < 0.3:
            kind = _pick(rng, tuple(_CALLOUTS))
            zl, el, col, tl, td, ic = _CALLOUTS[kind]
            label = zl if zh else (el if rng.random() < 0.6 else el.title())
            tint = td if st.dark else tl
            box = (f"border-left:4px solid {col};background:{tint};border-radius:0 6px 6px 0" if look == 0 else
                   f"border:1px solid {col};background:{tint};border-radius:8px" if look == 1 else
                   f"border:2px dashed {col};border-radius:4px")
            body = esc(T.sentence(rng, st.lang)) + (" " + esc(T.sentence(rng, st.lang)) if rng.random() < 0.5 else "")
            head = (f'<div style="display:flex;align-items:center;gap:0.45em;font-weight:700;color:{col}">'
                    f'{icon(ic, col, 1.15)}<span>{esc(label)}</span></div>')
            parts.append(f'<div style="{box};padding:0.6em 0.9em;margin:0.9em 0">{head}<div>{body}</div></div>')
        else:
            n = int(rng.integers(2, 4))
            parts.append(f'<p style="margin:0.6em 0">{" ".join(esc(T.sentence(rng, st.lang)) for _ in range(n))}</p>')
    tags = ["icons"] + (["dashed"] if look == 2 else []) + (["dark"] if st.dark else [])
    return "".join(parts), "", int(st.size * rng.uniform(28, 46)), tags


def t_table(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    mode = _pick(rng, ("grid", "hrules", "dashed", "dotted", "zebra"))
    rc = _pick(rng, ("#555", "#999", st.accent, "#333"))
    cols = [("名称" if zh else "Name", "phrase"), ("编号" if zh else "ID", "code"), ("日期" if zh else "Date", "date"),
            ("数量" if zh else "Count", "int"), ("金额" if zh else "Amount", "amount"), ("状态" if zh else "Status", "status")]
    keep = sorted(rng.choice(len(cols), size=int(rng.integers(4, 7)), replace=False))
    cols = [cols[i] for i in keep]
    status = ("已完成", "处理中", "待审核", "已取消") if zh else ("done", "pending", "review", "failed")

    def cell(kind):
        return {"phrase": lambda: T.phrase(rng, st.lang, 10), "code": lambda: Gen.code(rng, int(rng.integers(5, 10))),
                "date": lambda: Gen.date(rng, "en"), "int": lambda: str(int(rng.integers(1, 5000))),
                "amount": lambda: Gen.amount(rng), "status": lambda: _pick(rng, status)}[kind]()
    style = {"grid": f"border:1px solid {rc}", "hrules": f"border-bottom:1px solid {rc}",
             "dashed": f"border:1px dashed {rc}", "dotted": f"border-bottom:2px dotted {rc}", "zebra": ""}[mode]
    css = (f"table{{border-collapse:collapse;width:100%}} td,th{{padding:0.4em 0.7em;{style};text-align:left}}"
           f" th{{background:{_pick(rng, ('#f0f0f0', st.accent, '#dde6f3', 'transparent')) if not st.dark else '#2a2d33'};"
           f"font-weight:700}}")
    if "background:" + st.accent in css:
        css += " th{color:#fff}"
    if mode == "zebra":
        css += f" tr:nth-child(even) td{{background:{'#25282e' if st.dark else '#f2f4f7'}}}"
    rows = "".join("<tr>" + "".join(f"<td>{esc(cell(k))}</td>" for _, k in cols) + "</tr>" for _ in range(int(rng.integers(5, 12))))
    title = f'<div style="font-size:1.3em;font-weight:700;margin:0.3em 0 0.6em">{esc(T.phrase(rng, st.lang, 14))}</div>'
    note = f'<div style="color:{st.muted};font-size:0.85em;margin-top:0.6em">{esc(T.sentence(rng, st.lang, 50))}</div>'
    tags = ["table_rules"] + ([mode] if mode in ("dashed", "dotted") else []) + (["dark"] if st.dark else [])
    return f'{title}<table><tr>{"".join(f"<th>{esc(h)}</th>" for h, _ in cols)}</tr>{rows}</table>{note}', css, \
        int(rng.uniform(620, 960)), tags


def t_form(rng, T: EvalTexts, st: UiStyle):
    zh = st.lang == "zh"
    border = _pick(rng, ("dashed", "dotted"))
    labels_zh = ("姓名", "电话", "日期", "订单号", "地址", "备注", "金额", "部门")
    labels_en = ("Name", "Phone", "Date", "Order", "Address", "Note", "Amount", "Team")
    rows = []
    for lab in rng.permutation(labels_zh if zh else labels_en)[:int(rng.integers(4, 8))]:
        lab = str(lab)
        val = {"姓名": lambda: Gen.person(rng), "Name": lambda: Gen.person(rng, "en"), "电话": lambda: Gen.phone(rng),
               "Phone": lambda: Gen.phone(rng), "日期": lambda: Gen.date(rng), "Date": lambda: Gen.date(rng, "en"),
               "订单号": lambda: Gen.code(rng, 10), "Order": lambda: Gen.code(rng, 10),
               "金额": lambda: Gen.amount(rng), "Amount": lambda: Gen.amount(rng)}.get(lab, lambda: T.phrase(rng, st.lang, 12))()
        rows.append(f'<div style="display:flex;align-items:center;margin:0.55em 0"><span style="width:{5 if zh else 6}em">'
                    f'{esc(lab)}{"：" if zh else ":"}</span><span style="flex:1;border:{_pick(rng, (1, 2))}px {border} {st.muted};'
                    f'border-radius:{_pick(rng, (0, 4))}px;padding:0.3em 0.6em">{esc(val)}</span></div>')
    checks = "".join(f'<span style="display:inline-flex;align-items:center;gap:0.3em;margin-right:1.2em">'
                     f'<svg viewBox="0 0 10 10" style="width:1em;height:1em"><rect x="0.5" y="0.5" width="9" height="9" rx="1.5" '
                     f'fill="{st.accent if on else "none"}" stroke="{st.accent if on else st.muted}"/></svg>'
                     f'{esc(T.phrase(rng, st.lang, 6))}</span>' for on in rng.random(int(rng.integers(2, 4))) < 0.5)
    btn = (f'<div style="margin-top:1em;display:flex;gap:0.8em"><span style="background:{st.accent};color:#fff;border-radius:6px;'
           f'padding:0.45em 1.4em">{"提交" if zh else "Submit"}</span><span style="border:1px solid {st.muted};border-radius:6px;'
           f'padding:0.45em 1.4em">{"取消" if zh else "Cancel"}</span></div>')
    body = (f'<div style="font-size:1.4em;font-weight:700;margin-bottom:0.5em">{esc(T.phrase(rng, st.lang, 12))}</div>'
            f'<div style="color:{st.muted};margin-bottom:0.6em">{esc(T.sentence(rng, st.lang, 44))}</div>'
            f'{"".join(rows)}<div style="margin:0.6em 0">{checks}</div>{btn}')
    return body, "", int(rng.uniform(460, 720)), [border] + (["dark"] if st.dark else [])


TEMPLATES = {"invoice": t_invoice, "receipt": t_receipt, "chat": t_chat, "dashboard": t_dashboard,
             "settings": t_settings, "callouts": t_callouts, "table": t_table, "form": t_form}
_FORCE_DARK = {"dashboard": True, "invoice": False, "receipt": False}


@dataclass
class UiPage:
    seed: int
    template: str
    html: str
    width: int         # CSS px, padding included
    dpr: float
    tags: list
    style: dict


def ui_page(seed: int, texts: EvalTexts, template: str | None = None, dark: bool | None = None) -> UiPage:
    """The UI page of ``seed`` (template drawn unless given; theme drawn unless ``dark`` is
    given or the template has one), fully determined by the arguments."""
    rng = np.random.default_rng([17_001, seed])
    names = sorted(TEMPLATES)
    name = template or names[int(rng.integers(len(names)))]
    st = draw_ui_style(rng, dark=_FORCE_DARK.get(name, dark))
    body, css, width, tags = TEMPLATES[name](rng, texts, st)
    pad = int(rng.uniform(10, 32)) if name not in ("chat", "settings") else 0
    dpr = float(rng.choice([1.5, 2.0])) if width < 480 else float(rng.choice([1.0, 1.25]))
    head = (f"<style>html,body{{margin:0}} body{{background:{st.bg};color:{st.fg};font-family:{st.family};"
            f"font-size:{st.size}px;line-height:{st.line_height:.2f};width:{width}px;padding:{pad}px;"
            f"box-sizing:content-box}} {css}</style>")
    html = f'<!DOCTYPE html><html lang="{"zh-CN" if st.lang == "zh" else "en"}"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'
    return UiPage(seed=seed, template=name, html=html, width=width + 2 * pad, dpr=dpr, tags=sorted(set(tags)),
                  style={"lang": st.lang, "cjk": st.cjk, "latin": st.latin, "size": st.size, "dark": st.dark})


@lru_cache(maxsize=2)
def eval_texts(src: str | None = None) -> EvalTexts:
    return EvalTexts(Path(src)) if src else EvalTexts()
