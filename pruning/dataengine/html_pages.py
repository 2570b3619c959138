"""Real typesetting: HTML pages from templates rendered by headless Chromium, line boxes from the DOM.

``page_html(seed)`` builds a page (prose, tables with rules, forms, invoices, receipts with
leaders, chat bubbles, cards, notifications/settings lists, code blocks, dashboards; light
and dark themes) from a seeded rng; ``ChromiumSession.render`` lays it out in Debian fonts,
takes a PNG of the whole page in device pixels and reads every character's client rect
(``Range.getClientRects``) in one ``execute_script``; characters are grouped into lines
(same block box, vertical overlap, left-to-right, no gap wider than ~1.2 em), each line
with its text, box, per-character x-extents and font size. The ink box of each line (what a
detector's binarisation sees) is measured on the screenshot. ``PageCache`` keeps pages as
``data/dataengine/pages/<version>/<seed>.png`` + ``.json`` so trainers reuse them.

Fonts: Chromium sees a fontconfig configuration that *rejects* the files of the held-out
families (``pruning.training.fonts.HELD_OUT_FAMILIES``: WenQuanYi Micro Hei, AR PL UMing,
Liberation Serif), so neither a stack nor a fallback can ever draw a training page in them;
stacks name only allowed families and never a generic family.

``python -m pruning.dataengine.html_pages --pages 0:200`` pre-renders pages into the cache
and prints pages/s and lines/page.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import html as _html
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pruning.dataengine.common import DATA_DIR
from pruning.dataengine.texts import amount_in_words
from pruning.training.fonts import HELD_OUT_FAMILIES

PAGE_VERSION = "v1"
PAGES_DIR = DATA_DIR / "pages"
CHROMIUM = Path(os.environ.get("SLIM_OCR_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SLIM_OCR_CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--disable-extensions", "--hide-scrollbars", "--force-color-profile=srgb", "--lang=zh-CN",
                  "--disable-features=Translate"]
MAX_DEVICE_W, MAX_DEVICE_H = 1600, 2400
_SALT = 16016  # page seeds live in their own rng stream

# (family, CSS weights it has, share). Kai = AR PL UKai, Song/Ming = Noto Serif CJK (AR PL UMing is held out).
CJK_FACES = [
    ("Noto Sans CJK SC", (300, 350, 400, 400, 500, 700, 900), 0.34),
    ("Noto Serif CJK SC", (300, 400, 400, 500, 600, 700, 900), 0.26),
    ("WenQuanYi Zen Hei", (400, 400, 700), 0.15),
    ("AR PL UKai CN", (400,), 0.15),
    ("Noto Sans Mono CJK SC", (400, 700), 0.06),
    ("WenQuanYi Zen Hei Sharp", (400,), 0.04),
    ("LXGW WenKai", (300, 400, 700), 0.08),        # a display Kai (the Makefile's TRAIN_FONT_PACKAGES)
]
LATIN_FACES = ["DejaVu Sans", "DejaVu Serif", "Liberation Sans", "Liberation Sans Narrow", "DejaVu Sans Mono",
               "Liberation Mono", "Lato", "Open Sans", "Roboto", "Cantarell", "Comic Neue", "Comfortaa"]
MONO_FACES = ["DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono CJK SC"]
for _fam in [f for f, _, _ in CJK_FACES] + LATIN_FACES + MONO_FACES:
    assert not _fam.startswith(HELD_OUT_FAMILIES), _fam


# ---- fonts --------------------------------------------------------------------------------
def held_out_font_files() -> list[str]:
    """Files fontconfig lists under a held-out family (every face of e.g. wqy-microhei.ttc)."""
    out = subprocess.run(["fc-list", ":", "file", "family"], capture_output=True, text=True, check=True).stdout
    files = set()
    for line in out.splitlines():
        path, _, fams = line.partition(":")
        if any(f.strip().startswith(HELD_OUT_FAMILIES) for f in fams.split(",")):
            files.add(path.strip())
    return sorted(files)


def fontconfig_file(root: Path = DATA_DIR) -> Path:
    """A fonts.conf = the system's, minus every file of a held-out family."""
    files = held_out_font_files()
    body = "\n".join(f"    <glob>{_html.escape(f)}</glob>" for f in files)
    text = f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont>
{body}
  </rejectfont></selectfont>
</fontconfig>
"""
    path = root / "fonts-training.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def chromium_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium chromium-driver)"
    if not CHROMEDRIVER.exists():
        return f"{CHROMEDRIVER} not found (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


# ---- page templates ---------------------------------------------------------------------
def esc(t: str) -> str:
    return _html.escape(t, quote=False)


@dataclass
class Style:
    cjk: str
    weight: int
    latin: str | None
    size: float            # body font size, CSS px
    line_height: float
    letter: float          # letter-spacing, em
    fg: str
    bg: str
    muted: str
    accent: str
    dark: bool
    italic: bool = False

    @property
    def stack(self) -> str:
        fams = ([self.latin] if self.latin else []) + [self.cjk, "Noto Sans CJK SC"]
        return ", ".join(f'"{f}"' for f in dict.fromkeys(fams))


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(np.clip(c, 0, 255)) for c in rgb)


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


ACCENTS = ["#1677ff", "#d4380d", "#389e0d", "#722ed1", "#c41d7f", "#08979c", "#fa8c16", "#2f54eb", "#a8071a",
           "#8b572a", "#07c160", "#576b95", "#e64340", "#333333"]


def draw_style(rng, surface: str, dark: bool | None = None) -> Style:
    names, _, probs = zip(*CJK_FACES)
    cjk = names[int(rng.choice(len(names), p=np.asarray(probs) / sum(probs)))]
    weight = int(_pick(rng, dict(zip(names, [w for _, w, _ in CJK_FACES]))[cjk]))
    latin = _pick(rng, LATIN_FACES) if rng.random() < 0.5 else None
    if dark is None:
        dark = surface == "screen" and rng.random() < 0.35
    if dark:
        b = rng.uniform(0, 50)
        bg = _hex([b + rng.uniform(-4, 4) for _ in range(3)])
        f = rng.uniform(170, 250)
        fg = _hex([f] * 3)
        muted = _hex([rng.uniform(100, 150)] * 3)
    else:
        if surface == "paper":
            bg = _hex([255, 255, 255]) if rng.random() < 0.7 else _hex(rng.uniform(236, 255, 3))
        else:
            bg = _pick(rng, ["#ffffff", "#f5f5f5", "#ededed", "#f7f8fa", "#f0f2f5", "#fafafa"])
        f = rng.uniform(0, 70) if rng.random() < 0.8 else rng.uniform(70, 120)
        fg = _hex([f + rng.uniform(-6, 6) for _ in range(3)])
        muted = _hex([rng.uniform(110, 175)] * 3)
    size = float(rng.choice([12, 13, 14, 14, 15, 16, 16, 17, 18, 20, 22, 24]))
    return Style(cjk=cjk, weight=weight, latin=latin, size=size, line_height=float(rng.uniform(1.25, 2.0)),
                 letter=float(rng.choice([0, 0, 0, 0, 0.02, 0.05, 0.1, -0.02])), fg=fg, bg=bg, muted=muted,
                 accent=_pick(rng, ACCENTS), dark=dark, italic=rng.random() < 0.05)


def _icon(rng, color: str, size_em: float = 1.2) -> str:
    """An inline SVG pictogram (no text in it): circle, rounded square, bell-ish, chevron."""
    s = f'style="width:{size_em}em;height:{size_em}em;vertical-align:middle;flex:none"'
    k = int(rng.integers(5))
    if k == 0:
        body = f'<circle cx="12" cy="12" r="10" fill="{color}"/><circle cx="12" cy="12" r="4" fill="#fff"/>'
    elif k == 1:
        body = f'<rect x="2" y="2" width="20" height="20" rx="5" fill="{color}"/><path d="M7 12l3 3 7-7" stroke="#fff" stroke-width="2.5" fill="none"/>'
    elif k == 2:
        body = f'<path d="M12 3a6 6 0 0 1 6 6v5l2 3H4l2-3V9a6 6 0 0 1 6-6z" fill="{color}"/><circle cx="12" cy="20" r="2" fill="{color}"/>'
    elif k == 3:
        body = f'<path d="M9 5l7 7-7 7" stroke="{color}" stroke-width="2.5" fill="none"/>'
    else:
        body = f'<rect x="3" y="6" width="18" height="13" rx="2" fill="none" stroke="{color}" stroke-width="2"/><path d="M3 8l9 6 9-6" stroke="{color}" stroke-width="2" fill="none"/>'
    return f'<svg viewBox="0 0 24 24" {s}>{body}</svg>'


def _para(T, rng, lang, st: Style, indent: bool) -> str:
    text = T.paragraph(rng, lang)
    # emphasis: a bold / italic / coloured / underlined span inside the paragraph
    if len(text) > 20 and rng.random() < 0.35:
        a = int(rng.integers(0, len(text) - 8))
        b = a + int(rng.integers(2, 8))
        k = _pick(rng, ["b", "i", "u", "c"])
        tag = {"b": '<b>', "i": '<i>', "u": '<u>', "c": f'<span style="color:{st.accent}">'}[k]
        end = {"b": '</b>', "i": '</i>', "u": '</u>', "c": '</span>'}[k]
        html = esc(text[:a]) + tag + esc(text[a:b]) + end + esc(text[b:])
    else:
        html = esc(text)
    style = "text-indent:2em;" if indent else ""
    return f'<p style="{style}">{html}</p>'


def t_article(T, rng, st: Style) -> tuple[str, str, int]:
    lang = "en" if rng.random() < 0.25 else "zh"
    cols = 2 if rng.random() < 0.25 else 1
    parts = [f'<h1 style="font-size:{rng.uniform(1.3, 2.0):.2f}em">{esc(T.title(rng, 16) if lang == "zh" else T.en_title(rng))}</h1>']
    parts.append(f'<div style="color:{st.muted};font-size:0.85em">{esc(T.date(rng))}　{esc(T.person(rng))}</div>')
    indent = lang == "zh" and rng.random() < 0.7
    for _ in range(int(rng.integers(3, 8))):
        r = rng.random()
        if r < 0.15:
            parts.append(f'<h2 style="font-size:{rng.uniform(1.1, 1.5):.2f}em">{esc(T.title(rng, 12))}</h2>')
        elif r < 0.25:
            items = "".join(f'<div>{esc(_pick(rng, ["●", "○", "■", "◆", "-", "·", "※"]) + " " if rng.random() < 0.6 else f"{i + 1}. ")}{esc(T.short(rng, 18))}</div>'
                            for i in range(int(rng.integers(2, 6))))
            parts.append(f'<div style="margin:0.5em 0 0.5em 1.5em">{items}</div>')
        elif r < 0.32:
            parts.append(f'<blockquote style="border-left:4px solid {st.accent};margin:0.6em 0;padding:0.2em 1em;color:{st.muted}">{esc(T.paragraph(rng, lang, 2))}</blockquote>')
        else:
            parts.append(_para(T, rng, lang, st, indent))
    parts.append(f'<div style="color:{st.muted};font-size:0.75em;border-top:1px solid {st.muted};margin-top:1em;padding-top:0.3em">{esc(T.short(rng, 24))}</div>')
    css = f"p{{margin:0.5em 0;text-align:{_pick(rng, ['justify', 'left', 'justify'])}}}"
    body = f'<div style="column-count:{cols};column-gap:2.5em">{"".join(parts)}</div>'
    # column measure in characters: 14-34 per line (a detector's lines, a curriculum's lengths)
    width = int(st.size * rng.uniform(14, 34)) * cols + (int(2.5 * st.size) if cols == 2 else 0)
    return body, css, width


_COLS = [("序号", "idx"), ("名称", "prod"), ("项目", "prod"), ("规格型号", "code"), ("单位", "unit"), ("数量", "qty"),
         ("单价", "amt"), ("金额", "amt"), ("日期", "date"), ("时间", "time"), ("备注", "short"), ("编号", "code"),
         ("联系人", "person"), ("电话", "phone"), ("状态", "status"), ("Item", "en"), ("Price", "amt"), ("税率", "rate")]


def _cell(T, rng, kind, i):
    return {"idx": lambda: str(i + 1), "prod": lambda: T.product(rng), "code": lambda: T.code(rng, int(rng.integers(3, 10))),
            "unit": lambda: T.unit(rng), "qty": lambda: str(int(rng.integers(1, 500))), "amt": lambda: T.amount(rng),
            "date": lambda: T.date(rng), "time": lambda: T.time(rng), "short": lambda: T.short(rng, 8),
            "person": lambda: T.person(rng), "phone": lambda: T.phone(rng),
            "status": lambda: _pick(rng, ["已完成", "待审核", "已发货", "进行中", "已取消", "正常", "异常", "OK"]),
            "en": lambda: T.en_title(rng), "rate": lambda: _pick(rng, ["13%", "9%", "6%", "3%", "1%", "免税"])}[kind]()


def t_table(T, rng, st: Style) -> tuple[str, str, int]:
    n_cols = int(rng.integers(3, 8))
    idx = rng.choice(len(_COLS), size=n_cols, replace=False)
    cols = [_COLS[i] for i in sorted(idx)]
    rule = _pick(rng, ["solid", "solid", "solid", "dashed", "dotted"])
    rc = _pick(rng, [st.fg, st.muted, "#999", "#c0c0c0", st.accent, "#8b4513"])
    mode = _pick(rng, ["all", "all", "hlines", "zebra", "none"])
    bw = _pick(rng, [1, 1, 1, 2])
    pad = f"{rng.uniform(0.2, 0.8):.2f}em {rng.uniform(0.4, 1.2):.2f}em"
    head_bg = _pick(rng, ["transparent", st.accent, "#f0f0f0", "#e6f4ff", "#fafafa", "#333"])
    head_fg = "#fff" if head_bg in (st.accent, "#333") else st.fg
    cell = f"padding:{pad};"
    if mode == "all":
        cell += f"border:{bw}px {rule} {rc};"
    elif mode == "hlines":
        cell += f"border-bottom:{bw}px {rule} {rc};"
    css = (f"table{{border-collapse:collapse}} td,th{{{cell}text-align:{_pick(rng, ['left', 'center'])}}}"
           f" th{{background:{head_bg};color:{head_fg};font-weight:{_pick(rng, [400, 700, 700])}}}")
    if mode == "zebra":
        css += f" tr:nth-child(even) td{{background:{'#2a2a2a' if st.dark else '#f3f5f7'}}}"
    rows = "".join("<tr>" + "".join(f"<td>{esc(_cell(T, rng, k, i))}</td>" for _, k in cols) + "</tr>"
                   for i in range(int(rng.integers(4, 14))))
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h, _ in cols) + "</tr>"
    title = f'<div style="font-size:1.3em;font-weight:700;margin:0.4em 0">{esc(T.title(rng, 12))}</div>' if rng.random() < 0.7 else ""
    note = f'<div style="color:{st.muted};font-size:0.85em;margin-top:0.5em">{esc(T.short(rng, 20))}</div>' if rng.random() < 0.5 else ""
    return f"{title}<table>{head}{rows}</table>{note}", css, int(rng.uniform(520, 980))


def t_form(T, rng, st: Style) -> tuple[str, str, int]:
    box = _pick(rng, ["border:1px solid #999", "border:1px dashed #888", "border-bottom:1px solid #666", "border:1px solid #d9d9d9;border-radius:4px"])
    lw = rng.uniform(5, 9)
    rows = []
    labels = ["姓名", "性别", "出生日期", "身份证号", "联系电话", "工作单位", "通讯地址", "邮政编码", "申请事由", "金额",
              "开户银行", "账号", "日期", "经办人", "审批意见", "备注", "E-mail", "Name", "Date"]
    for _ in range(int(rng.integers(5, 11))):
        lab = _pick(rng, labels) + _pick(rng, ["：", ":", "", "："])
        val = _pick(rng, [lambda: T.person(rng), lambda: T.phone(rng), lambda: T.date(rng), lambda: T.address(rng),
                          lambda: T.digits(rng, 18), lambda: T.short(rng, 14), lambda: T.amount(rng), lambda: ""])()
        rows.append(f'<div style="display:flex;align-items:center;margin:0.5em 0"><span style="width:{lw:.1f}em">{esc(lab)}</span>'
                    f'<span style="flex:1;{box};padding:0.2em 0.5em;min-height:1.3em">{esc(val)}</span></div>')
    if rng.random() < 0.6:
        opts = "　".join(f"{_pick(rng, ['□', '■', '○', '●', '√'])} {esc(T.word(rng))}" for _ in range(int(rng.integers(2, 5))))
        rows.append(f'<div style="margin:0.6em 0">{opts}</div>')
    sec = f'border:{_pick(rng, ["1px dashed", "2px solid", "1px solid"])} {st.muted};padding:1em;margin:0.5em 0'
    title = f'<div style="text-align:center;font-size:1.5em;font-weight:700;letter-spacing:0.2em">{esc(T.title(rng, 10))}</div>'
    foot = f'<div style="text-align:right;margin-top:1em">{esc("申请人（签字）：")}<span style="display:inline-block;width:6em;border-bottom:1px solid {st.fg}"></span>　{esc(T.date(rng))}</div>'
    return f'{title}<div style="{sec}">{"".join(rows)}</div>{foot}', "", int(rng.uniform(460, 820))


def t_invoice(T, rng, st: Style) -> tuple[str, str, int]:
    red = _pick(rng, ["#b22222", "#a0522d", "#c0392b", "#8b4513", "#9c2a00"])
    blue = _pick(rng, ["#000", "#1f3a93", "#222", "#003399"])
    kind = _pick(rng, ["增值税电子普通发票", "增值税普通发票", "增值税专用发票", "电子发票（普通发票）", "通用机打发票"])
    place = _pick(rng, ["北京", "上海", "广东", "浙江", "江苏", "四川", "湖北", "山东"])
    meta = "".join(f'<div>{esc(k)}<span style="color:{blue}">{esc(v)}</span></div>' for k, v in [
        ("发票代码：", T.digits(rng, 12)), ("发票号码：", T.digits(rng, 8)), ("开票日期：", T.date(rng)),
        ("校 验 码：", " ".join(T.digits(rng, 5) for _ in range(4)))])
    party = lambda who: (  # noqa: E731
        f'<td style="width:1.4em;text-align:center">{esc(who)}</td><td><div>名　　称：<span style="color:{blue}">{esc(T.company(rng))}</span></div>'
        f'<div>纳税人识别号：<span style="color:{blue}">{esc(T.code(rng, 18))}</span></div>'
        f'<div>地址、电话：<span style="color:{blue}">{esc(T.address(rng))} {esc(T.phone(rng))}</span></div>'
        f'<div>开户行及账号：<span style="color:{blue}">{esc(T.word(rng))}银行{esc(T.word(rng))}支行 {esc(T.digits(rng, 16))}</span></div></td>')
    n_items = int(rng.integers(1, 6))
    items, total, tax_total = [], 0.0, 0.0
    for _ in range(n_items):
        q, p = int(rng.integers(1, 50)), float(np.exp(rng.uniform(0, 8)))
        rate = float(_pick(rng, [0.13, 0.09, 0.06, 0.03, 0.01]))
        amt = q * p
        total += amt
        tax_total += amt * rate
        items.append(f'<tr style="color:{blue}"><td>{esc(T.product(rng))}</td><td>{esc(T.code(rng, int(rng.integers(2, 7))))}</td>'
                     f'<td>{esc(T.unit(rng))}</td><td>{q}</td><td>{p:.2f}</td><td>{amt:.2f}</td><td>{int(rate * 100)}%</td><td>{amt * rate:.2f}</td></tr>')
    head = "".join(f"<td>{h}</td>" for h in ["货物或应税劳务、服务名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额"])
    gross = total + tax_total
    cell_b = f"1px solid {red}"
    css = (f"table{{border-collapse:collapse;width:100%;color:{red}}} td{{border:{cell_b};padding:0.25em 0.4em;vertical-align:top}}"
           f" .items td{{border-top:none;border-bottom:none}} .items tr:first-child td{{border-top:{cell_b}}}")
    seal = ""
    if rng.random() < 0.5:
        x, y = rng.uniform(50, 80), rng.uniform(60, 85)
        seal = (f'<svg viewBox="0 0 100 70" style="position:absolute;left:{x:.0f}%;top:{y:.0f}%;width:9em;opacity:{rng.uniform(0.55, 0.85):.2f}">'
                f'<ellipse cx="50" cy="35" rx="46" ry="31" fill="none" stroke="#e02020" stroke-width="3"/>'
                f'<path d="M50 20l4 10h10l-8 6 3 10-9-6-9 6 3-10-8-6h10z" fill="#e02020"/></svg>')
    body = (f'<div style="position:relative;color:{red}">'
            f'<div style="display:flex;justify-content:space-between;align-items:flex-start">'
            f'<div style="font-size:0.9em">机器编号：<span style="color:{blue}">{esc(T.digits(rng, 12))}</span></div>'
            f'<div style="text-align:center;font-size:1.6em;font-weight:700;letter-spacing:0.1em;border-bottom:3px double {red}">{esc(place + kind)}</div>'
            f'<div style="font-size:0.85em">{meta}</div></div>'
            f'<table style="margin-top:0.6em"><tr>{party("购买方")}</tr></table>'
            f'<table class="items"><tr>{head}</tr>{"".join(items)}'
            f'<tr><td>合　　计</td><td></td><td></td><td></td><td></td><td style="color:{blue}">¥{total:.2f}</td><td></td><td style="color:{blue}">¥{tax_total:.2f}</td></tr>'
            f'<tr><td>价税合计（大写）</td><td colspan="4" style="color:{blue}">{esc(amount_in_words(gross))}</td>'
            f'<td colspan="3">（小写）<span style="color:{blue}">¥{gross:.2f}</span></td></tr></table>'
            f'<table><tr>{party("销售方")}</tr></table>'
            f'<div style="display:flex;justify-content:space-between;margin-top:0.4em">'
            + "".join(f'<span>{k}：<span style="color:{blue}">{esc(T.person(rng))}</span></span>' for k in ["收款人", "复核", "开票人"])
            + f'<span>销售方：（章）</span></div>{seal}</div>')
    return body, css, int(rng.uniform(820, 1000))


def t_receipt(T, rng, st: Style) -> tuple[str, str, int]:
    sep = f'<div style="border-top:{_pick(rng, ["1px dashed", "2px dashed", "1px dotted", "1px solid"])} {st.fg};margin:0.4em 0"></div>'
    leader_text = rng.random() < 0.4
    rows = []
    for _ in range(int(rng.integers(3, 10))):
        name, price = T.product(rng)[:14], T.amount(rng, 0.5, 2000, commas=False)
        if leader_text:
            dots = _pick(rng, [".", "·", "-"]) * int(rng.integers(3, 12))
            rows.append(f"<div>{esc(name)}{esc(dots)}{esc(price)}</div>")
        else:
            lead = f'<span style="flex:1;border-bottom:{_pick(rng, ["2px dotted", "1px dashed", "2px dotted"])} {st.muted};margin:0 0.4em 0.35em"></span>'
            qty = f'<span style="margin-left:0.6em">x{int(rng.integers(1, 9))}</span>' if rng.random() < 0.5 else ""
            rows.append(f'<div style="display:flex;align-items:flex-end"><span>{esc(name)}</span>{qty}{lead}<span>{esc(price)}</span></div>')
    kv = lambda k, v: f'<div style="display:flex;justify-content:space-between"><span>{esc(k)}</span><span>{esc(v)}</span></div>'  # noqa: E731
    body = (f'<div style="text-align:center;font-size:1.3em;font-weight:700">{esc(T.company(rng)[:14])}</div>'
            f'<div style="text-align:center;font-size:0.85em">{esc(T.address(rng))}</div>'
            f'<div style="text-align:center;font-size:0.85em">电话：{esc(T.phone(rng))}</div>{sep}'
            + kv("单号：", T.digits(rng, int(rng.integers(8, 16)))) + kv("收银员：", T.person(rng))
            + kv("时间：", T.date(rng) + " " + T.time(rng)) + sep + "".join(rows) + sep
            + kv("合计：", "¥" + T.amount(rng, 5, 5000)) + kv(_pick(rng, ["微信支付：", "支付宝：", "现金：", "银行卡："]), T.amount(rng, 5, 5000))
            + kv("找零：", T.amount(rng, 0.1, 100)) + sep
            + f'<div style="text-align:center">{esc(_pick(rng, ["谢谢惠顾，欢迎再次光临！", "请保留小票作为退换凭证", "Thank you!", "凭此小票七日内可退换"]))}</div>')
    return body, "", int(rng.uniform(260, 400))


def t_chat(T, rng, st: Style) -> tuple[str, str, int]:
    if st.dark:
        mine, theirs, page_bg = _pick(rng, ["#3eb575", "#2b5278", "#1f6f4a"]), _pick(rng, ["#2c2c2c", "#333", "#262d31"]), st.bg
        mine_fg, theirs_fg = "#f0f0f0", st.fg
    else:
        mine, theirs, page_bg = _pick(rng, ["#95ec69", "#a9e87a", "#1677ff", "#dcf8c6", "#cfe9ff"]), _pick(rng, ["#ffffff", "#f0f0f0", "#e9e9eb"]), _pick(rng, ["#ededed", "#f5f5f5", "#ffffff", "#e5ddd5"])
        mine_fg = "#fff" if mine == "#1677ff" else "#111"
        theirs_fg = "#111"
    rad = _pick(rng, [4, 6, 10, 16, 18])
    msgs = [f'<div style="background:{st.accent if rng.random() < 0.3 else ("#202020" if st.dark else "#f7f7f7")};'
            f'color:{"#fff" if rng.random() < 0.3 or st.dark else "#111"};padding:0.6em 1em;font-weight:700;display:flex;gap:0.5em;align-items:center">'
            f'{_icon(rng, "#888", 1.0)}<span>{esc(T.person(rng) if rng.random() < 0.6 else T.title(rng, 8))}</span></div>']
    for _ in range(int(rng.integers(4, 11))):
        if rng.random() < 0.2:
            msgs.append(f'<div style="text-align:center;margin:0.6em 0"><span style="font-size:0.75em;color:{st.muted};'
                        f'background:{"#00000010" if not st.dark else "#ffffff10"};padding:0.15em 0.5em;border-radius:4px">{esc(T.time(rng))}</span></div>')
        me = rng.random() < 0.5
        av = f'<div style="width:2.4em;height:2.4em;border-radius:{_pick(rng, ["4px", "50%"])};background:{_hex(rng.uniform(60, 220, 3))};flex:none"></div>'
        bub = (f'<div style="background:{mine if me else theirs};color:{mine_fg if me else theirs_fg};padding:0.55em 0.8em;'
               f'border-radius:{rad}px;max-width:70%;margin:0 0.6em;{"box-shadow:0 1px 1px #0002;" if rng.random() < 0.4 else ""}">{esc(T.chat(rng))}</div>')
        row = (av + bub) if not me else (bub + av)
        msgs.append(f'<div style="display:flex;justify-content:{"flex-end" if me else "flex-start"};align-items:flex-start;margin:0.7em 0.6em">{row}</div>')
    css = f"body{{background:{page_bg}}}"
    return "".join(msgs), css, int(rng.uniform(340, 430))


def _button(rng, text: str, st: Style) -> str:
    filled = rng.random() < 0.6
    c = _pick(rng, [st.accent, "#1677ff", "#07c160", "#e64340", "#fa8c16", "#333"])
    style = (f"background:{c};color:#fff;border:none;" if filled else f"background:transparent;color:{c};border:1px solid {c};")
    style += f"border-radius:{_pick(rng, ['4px', '6px', '999px', '2px'])};padding:{rng.uniform(0.3, 0.7):.2f}em {rng.uniform(0.8, 1.6):.2f}em;"
    return f'<span style="display:inline-block;{style}margin:0.3em">{esc(text)}</span>'


def t_cards(T, rng, st: Style) -> tuple[str, str, int]:
    card_bg = "#1f1f1f" if st.dark else "#ffffff"
    page_bg = st.bg if st.dark else _pick(rng, ["#f0f2f5", "#f5f5f5", "#eef1f6", "#ffffff"])
    cards = []
    for _ in range(int(rng.integers(2, 5))):
        tags = "".join(f'<span style="display:inline-block;font-size:0.75em;padding:0.1em 0.5em;margin-right:0.4em;border-radius:3px;'
                       f'background:{_hex(rng.uniform(200, 250, 3)) if not st.dark else "#333"};color:{_pick(rng, [st.accent, "#555", "#d4380d"]) if not st.dark else "#ccc"}">{esc(T.word(rng))}</span>'
                       for _ in range(int(rng.integers(0, 4))))
        btns = "".join(_button(rng, _pick(rng, ["确定", "取消", "立即购买", "查看详情", "提交", "下一步", "OK", "Cancel", "分享", "收藏", "登录", "注册"]), st)
                       for _ in range(int(rng.integers(0, 3))))
        head = f'<div style="display:flex;align-items:center;gap:0.5em;font-weight:700;font-size:1.15em">{_icon(rng, st.accent) if rng.random() < 0.6 else ""}<span>{esc(T.title(rng, 12))}</span></div>'
        body = f'<div style="margin:0.4em 0">{esc(T.paragraph(rng, "zh" if rng.random() < 0.8 else "en", int(rng.integers(1, 3))))}</div>'
        meta = f'<div style="color:{st.muted};font-size:0.8em">{esc(T.date(rng))}　{esc(str(int(rng.integers(1, 9999))))}{esc(_pick(rng, ["人浏览", "条评论", " views", "赞"]))}</div>'
        price = f'<div style="color:#e64340;font-size:1.4em;font-weight:700">¥{esc(T.amount(rng, 1, 9999, commas=False))}</div>' if rng.random() < 0.3 else ""
        cards.append(f'<div style="background:{card_bg};border-radius:{_pick(rng, [4, 8, 12, 16])}px;padding:1em;margin:0.8em 0;'
                     f'{"box-shadow:0 2px 8px #0002;" if rng.random() < 0.6 else "border:1px solid #ddd;"}">{head}{tags}{body}{price}{meta}{btns}</div>')
    return "".join(cards), f"body{{background:{page_bg}}}", int(st.size * rng.uniform(16, 34))


def t_settings(T, rng, st: Style) -> tuple[str, str, int]:
    sec_bg = "#1c1c1e" if st.dark else "#ffffff"
    page_bg = "#000" if st.dark else _pick(rng, ["#f2f2f7", "#ededed", "#f5f5f5"])
    line_c = "#333" if st.dark else "#e5e5e5"
    out = []
    notif = rng.random() < 0.4
    for _ in range(int(rng.integers(2, 5))):
        out.append(f'<div style="color:{st.muted};font-size:0.8em;padding:1em 1em 0.4em">{esc(T.title(rng, 8))}</div>')
        rows = []
        for _ in range(int(rng.integers(2, 6))):
            right = _pick(rng, [lambda: f'<span style="color:{st.muted}">{esc(T.short(rng, 6))}</span>',
                                lambda: f'<span style="display:inline-block;width:2.6em;height:1.5em;border-radius:1em;background:{_pick(rng, ["#34c759", "#ccc", st.accent])}"></span>',
                                lambda: _icon(rng, st.muted, 0.9),
                                lambda: f'<span style="background:#e64340;color:#fff;border-radius:1em;padding:0 0.45em;font-size:0.75em">{int(rng.integers(1, 99))}</span>'])()
            if notif:
                mid = (f'<div style="flex:1"><div style="font-weight:700">{esc(T.title(rng, 10))}</div>'
                       f'<div style="color:{st.muted};font-size:0.85em">{esc(T.chat(rng))}</div></div>'
                       f'<span style="color:{st.muted};font-size:0.75em;align-self:flex-start">{esc(T.time(rng))}</span>')
            else:
                mid = f'<span style="flex:1">{esc(T.title(rng, 10))}</span>{right}'
            rows.append(f'<div style="display:flex;align-items:center;gap:0.7em;padding:0.75em 1em;border-bottom:1px solid {line_c}">'
                        f'{_icon(rng, _pick(rng, ACCENTS)) if rng.random() < 0.7 else ""}{mid}</div>')
        out.append(f'<div style="background:{sec_bg};border-radius:{_pick(rng, [0, 10])}px;margin:0 {_pick(rng, [0, 12])}px">{"".join(rows)}</div>')
    return "".join(out), f"body{{background:{page_bg}}}", int(rng.uniform(340, 480))


_KEYWORDS = ["def", "return", "if", "else", "for", "in", "import", "class", "const", "let", "function", "while", "int",
             "void", "public", "static", "try", "except", "None", "true", "false", "async", "await"]


def t_code(T, rng, st: Style) -> tuple[str, str, int]:
    dark = st.dark or rng.random() < 0.5
    bg, fg = (_pick(rng, ["#1e1e1e", "#282c34", "#002b36", "#272822"]), "#d4d4d4") if dark else (_pick(rng, ["#f6f8fa", "#fafafa", "#ffffff"]), "#24292e")
    kw, strc, com, num = (("#569cd6", "#ce9178", "#6a9955", "#b5cea8") if dark else ("#d73a49", "#032f62", "#6a737d", "#005cc5"))
    mono = _pick(rng, MONO_FACES)
    lines = []
    for i in range(int(rng.integers(8, 22))):
        r = rng.random()
        ind = "&nbsp;" * (4 * int(rng.integers(0, 3)))
        if r < 0.25:
            code = f'<span style="color:{com}">{esc(_pick(rng, ["# ", "// "]) + T.short(rng, 16))}</span>'
        elif r < 0.5:
            code = (f'<span style="color:{kw}">{_pick(rng, _KEYWORDS)}</span> {esc(T.en_word(rng).lower())}_{esc(T.en_word(rng).lower())} = '
                    f'<span style="color:{strc}">"{esc(T.short(rng, 10))}"</span>')
        elif r < 0.75:
            code = (f'<span style="color:{kw}">{_pick(rng, _KEYWORDS)}</span> {esc(T.en_word(rng).lower())}('
                    f'<span style="color:{num}">{int(rng.integers(0, 1000))}</span>, {esc(T.en_word(rng).lower())}):')
        else:
            code = f'{esc(T.en_word(rng).lower())}.{esc(T.en_word(rng).lower())}(<span style="color:{num}">{T.amount(rng, 0.1, 100, commas=False)}</span>)'
        ln = f'<span style="color:{"#858585" if dark else "#aaa"};display:inline-block;width:2.5em;user-select:none">{i + 1}</span>' if rng.random() < 0.6 else ""
        lines.append(f'<div style="white-space:pre">{ln}{ind}{code}</div>')
    title = f'<div style="margin:0.5em 0">{esc(T.paragraph(rng, "zh", 1))}</div>' if rng.random() < 0.6 else ""
    block = f'<div style="background:{bg};color:{fg};font-family:\'{mono}\', \'Noto Sans Mono CJK SC\';padding:1em;border-radius:6px;font-size:0.9em;line-height:1.5">{"".join(lines)}</div>'
    return title + block, "", int(rng.uniform(520, 900))


def t_dashboard(T, rng, st: Style) -> tuple[str, str, int]:
    card_bg = "#1f1f1f" if st.dark else "#fff"
    nav = "".join(f'<span style="margin-right:1.5em;{"color:" + st.accent + ";border-bottom:2px solid " + st.accent if i == 0 else ""};padding-bottom:0.3em">{esc(T.word(rng))}</span>'
                  for i in range(int(rng.integers(3, 6))))
    stats = "".join(f'<div style="background:{card_bg};border-radius:8px;padding:0.8em 1em;flex:1;min-width:8em">'
                    f'<div style="color:{st.muted};font-size:0.8em">{esc(T.title(rng, 6))}</div>'
                    f'<div style="font-size:1.6em;font-weight:700">{esc(_pick(rng, ["¥", "", "$", ""]) + T.amount(rng, 1, 10 ** 6, commas=True))}</div>'
                    f'<div style="color:{_pick(rng, ["#389e0d", "#cf1322"])};font-size:0.8em">{esc(_pick(rng, ["+", "-", "↑", "↓"]))}{rng.uniform(0, 50):.1f}%</div></div>'
                    for _ in range(int(rng.integers(2, 5))))
    btns = "".join(_button(rng, T.word(rng), st) for _ in range(int(rng.integers(2, 6))))
    rows = "".join(f'<div style="display:flex;justify-content:space-between;padding:0.5em 0;border-bottom:1px {_pick(rng, ["solid", "dashed"])} {"#333" if st.dark else "#eee"}">'
                   f'<span>{esc(T.short(rng, 12))}</span><span style="color:{st.muted}">{esc(T.structured(rng))}</span></div>'
                   for _ in range(int(rng.integers(3, 8))))
    body = (f'<div style="background:{card_bg};padding:0.8em 1em;margin-bottom:1em">{nav}</div>'
            f'<div style="display:flex;gap:1em;flex-wrap:wrap">{stats}</div><div style="margin:1em 0">{btns}</div>'
            f'<div style="background:{card_bg};padding:0.5em 1em;border-radius:8px">{rows}</div>')
    return body, f"body{{background:{st.bg if st.dark else '#f0f2f5'}}}", int(rng.uniform(600, 1000))


# (template, surface, share)
TEMPLATES = [
    ("article", t_article, "paper", 0.20), ("table", t_table, "paper", 0.13), ("form", t_form, "paper", 0.08),
    ("invoice", t_invoice, "paper", 0.09), ("receipt", t_receipt, "paper", 0.08), ("chat", t_chat, "screen", 0.12),
    ("cards", t_cards, "screen", 0.10), ("settings", t_settings, "screen", 0.08), ("code", t_code, "screen", 0.05),
    ("dashboard", t_dashboard, "screen", 0.07),
]


@dataclass
class PageSpec:
    seed: int
    template: str
    surface: str
    html: str
    width: int          # CSS px
    dpr: float
    style: dict = field(default_factory=dict)


def page_html(seed: int, texts) -> PageSpec:
    """The page of ``seed``: template, style, texts and layout all drawn from its own rng."""
    rng = np.random.default_rng([_SALT, seed])
    probs = np.asarray([t[3] for t in TEMPLATES])
    k = int(rng.choice(len(TEMPLATES), p=probs / probs.sum()))
    name, fn, surface, _ = TEMPLATES[k]
    st = draw_style(rng, surface)
    body, css, width = fn(texts, rng, st)
    # device pixel ratio: phones 2-3, desktops 1-2; the page stays under MAX_DEVICE_W
    dpr = float(rng.choice([2.0, 2.5, 3.0])) if width < 480 else float(rng.choice([1.0, 1.0, 1.25, 1.5, 2.0]))
    dpr = min(dpr, MAX_DEVICE_W / (width + 40))
    pad = int(rng.uniform(8, 48)) if surface == "paper" else int(rng.uniform(0, 16))
    italic = "font-style:italic;" if st.italic else ""
    head = (f"<style>html,body{{margin:0;background:{st.bg}}} body{{font-family:{st.stack};font-size:{st.size}px;"
            f"font-weight:{st.weight};line-height:{st.line_height:.2f};letter-spacing:{st.letter}em;color:{st.fg};"
            f"padding:{pad}px;width:{width}px;box-sizing:content-box;font-variant-ligatures:none;{italic}"
            f"-webkit-font-smoothing:antialiased}} h1,h2{{margin:0.4em 0;font-weight:{max(st.weight, 700)}}}"
            f" b{{font-weight:{max(st.weight + 300, 700)}}} {css}</style>")
    html = f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'
    return PageSpec(seed=seed, template=name, surface=surface, html=html, width=width + 2 * pad, dpr=round(dpr, 3),
                    style={"cjk": st.cjk, "weight": st.weight, "latin": st.latin, "size": st.size, "dark": st.dark,
                           "italic": st.italic})


# ---- the DOM side -----------------------------------------------------------------------
LINES_JS = r"""
const dpr = window.devicePixelRatio;
const blocks = new Map();
function blockOf(el) {
  if (blocks.has(el)) return blocks.get(el);
  let e = el;
  while (e && e !== document.body) {
    const d = getComputedStyle(e).display;
    if (d !== 'inline' && d !== 'contents') break;
    e = e.parentElement;
  }
  const b = e || document.body;
  blocks.set(el, b);
  return b;
}
const lines = [];
let cur = null, space = false;
const range = document.createRange();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
function flush() { if (cur) lines.push(cur); cur = null; space = false; }
while (walker.nextNode()) {
  const n = walker.currentNode, el = n.parentElement;
  if (!el || el.closest('[data-noocr],style,script')) continue;
  const cs = getComputedStyle(el);
  if (cs.visibility !== 'visible' || parseFloat(cs.opacity) < 0.3) continue;
  const blk = blockOf(el), fs = parseFloat(cs.fontSize), s = n.data;
  for (let i = 0; i < s.length; i++) {
    let j = i + 1;
    const c0 = s.charCodeAt(i);
    if (c0 >= 0xD800 && c0 < 0xDC00) j = i + 2;
    const ch = s.slice(i, j);
    range.setStart(n, i); range.setEnd(n, j);
    let r = null;
    for (const q of range.getClientRects()) { if (q.width > 0.01 && q.height > 0) { r = q; break; } }
    i = j - 1;
    if (/\s/.test(ch)) {
      if (r && cur && Math.abs((r.top + r.bottom) / 2 - (cur.top + cur.bottom) / 2) < 0.5 * (cur.bottom - cur.top)) {
        space = true; cur.reach = Math.max(cur.reach, r.right);
      }
      continue;
    }
    if (!r) continue;
    if (cur) {
      const ov = Math.min(cur.bottom, r.bottom) - Math.max(cur.top, r.top);
      const ok = cur.blk === blk && ov > 0.5 * Math.min(r.height, cur.bottom - cur.top)
        && r.left > cur.right - 0.35 * fs && r.left - cur.reach < 1.2 * Math.max(fs, cur.fs);
      if (!ok) flush();
    }
    if (!cur) {
      cur = {blk, text: '', chars: [], left: r.left, right: r.right, top: r.top, bottom: r.bottom, reach: r.right, fs,
             tag: blk.dataset ? (blk.dataset.k || '') : ''};
    } else if (space) { cur.text += ' '; cur.chars.push([cur.right, r.left]); }
    space = false;
    cur.text += ch; cur.chars.push([r.left, r.right]);
    cur.left = Math.min(cur.left, r.left); cur.right = Math.max(cur.right, r.right); cur.reach = Math.max(cur.reach, r.right);
    cur.top = Math.min(cur.top, r.top); cur.bottom = Math.max(cur.bottom, r.bottom); cur.fs = Math.max(cur.fs, fs);
  }
}
flush();
const R = v => Math.round(v * dpr * 100) / 100;
return {dpr, height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight),
        lines: lines.map(l => ({text: l.text, box: [R(l.left), R(l.top), R(l.right), R(l.bottom)],
                                chars: l.chars.map(c => [R(c[0]), R(c[1])]), fs: R(l.fs), tag: l.tag}))};
"""

_WAIT_JS = """const done = arguments[arguments.length - 1];
document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(
  Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)))));"""


def ink_box(gray: np.ndarray, box) -> list[float] | None:
    """The ink extent (what a binarising detector sees) of a line inside its DOM box, or None.

    The background is the most common level in the box; ink differs from it by > 20 levels.
    Ink rows are grouped into runs (gaps up to 8 % of the box height merge) and the heaviest
    run is kept, so descenders of the line above that reach into the box are not counted."""
    H, W = gray.shape
    x0, y0, x1, y1 = (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    reg = gray[y0:y1, x0:x1]
    bg = int(np.argmax(np.bincount(reg.ravel() >> 2, minlength=64))) * 4 + 2
    ink = np.abs(reg.astype(np.int16) - bg) > 20
    rows = ink.sum(axis=1)
    if rows.max(initial=0) == 0:
        return None
    on = rows > 0
    runs, start, gap = [], None, 0
    tol = max(1, int(0.08 * (y1 - y0)))
    for i, v in enumerate(on):
        if v:
            if start is None:
                start = i
            gap, end = 0, i + 1
        elif start is not None:
            gap += 1
            if gap > tol:
                runs.append((start, end))
                start = None
    if start is not None:
        runs.append((start, end))
    a, b = max(runs, key=lambda r: rows[r[0]:r[1]].sum())
    cols = np.nonzero(ink[a:b].any(axis=0))[0]
    return [float(x0 + cols[0]), float(y0 + a), float(x0 + cols[-1] + 1), float(y0 + b)]


class ChromiumSession:
    """One headless Chromium kept alive for many pages (restarted every ``restart_every``)."""

    def __init__(self, restart_every: int = 400):
        reason = chromium_missing_reason()
        if reason:
            raise RuntimeError(reason)
        self.restart_every = restart_every
        self.driver = None
        self.profile = None
        self.count = 0

    def _start(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="slim-ocr-dataengine-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(CHROMIUM)
        for f in CHROMIUM_FLAGS:
            opts.add_argument(f)
        opts.add_argument(f"--user-data-dir={self.profile}")
        env = dict(os.environ, FONTCONFIG_FILE=str(fontconfig_file()))
        service = Service(executable_path=str(CHROMEDRIVER), env=env, log_output=subprocess.DEVNULL)
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_script_timeout(30)
        self.driver.get("about:blank")  # a plain document to write pages into
        self.count = 0

    def close(self):
        if self.driver is not None:
            with contextlib.suppress(Exception):
                self.driver.quit()
            self.driver = None
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def render(self, html: str, width: int, dpr: float = 1.0, max_height: int | None = None) -> tuple[np.ndarray, dict]:
        """(BGR page screenshot in device pixels, {"dpr", "height", "lines": [...]})."""
        if self.driver is None or self.count >= self.restart_every:
            self.close()
            self._start()
        self.count += 1
        d = self.driver
        max_height = max_height or int(MAX_DEVICE_H / dpr)
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": 16, "deviceScaleFactor": dpr, "mobile": False})
        d.execute_script("document.open(); document.write(arguments[0]); document.close();", html)
        full_h = int(d.execute_async_script(_WAIT_JS))
        height = max(16, min(full_h, max_height))
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": height, "deviceScaleFactor": dpr, "mobile": False})
        info = d.execute_script(LINES_JS)
        shot = d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        img = cv2.imdecode(np.frombuffer(base64.b64decode(shot["data"]), np.uint8), cv2.IMREAD_COLOR)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        kept = []
        for ln in info["lines"]:
            x0, y0, x1, y1 = ln["box"]
            if y1 > img.shape[0] - 1 or x1 > img.shape[1] - 1 or x0 < 0 or y0 < 0:
                continue  # cut by the screenshot's edge
            ink = ink_box(gray, ln["box"])
            if ink is None:
                continue
            ln["ink"] = [round(v, 2) for v in ink]
            kept.append(ln)
        info["lines"] = kept
        return img, info


# ---- the cache --------------------------------------------------------------------------
class PageCache:
    """Rendered pages by seed: ``<root>/<version>/<seed>.png`` + ``.json`` (lines, template, style)."""

    def __init__(self, root: Path | str | None = None, version: str = PAGE_VERSION):
        self.dir = Path(root or PAGES_DIR) / version
        self._texts = None
        self._session: ChromiumSession | None = None

    def paths(self, seed: int) -> tuple[Path, Path]:
        return self.dir / f"{seed:07d}.png", self.dir / f"{seed:07d}.json"

    def has(self, seed: int) -> bool:
        return all(p.exists() for p in self.paths(seed))

    def load(self, seed: int) -> tuple[np.ndarray, dict]:
        png, js = self.paths(seed)
        img = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(png)
        return img, json.loads(js.read_text(encoding="utf-8"))

    def texts(self):
        if self._texts is None:
            from pruning.dataengine.texts import PageTexts

            self._texts = PageTexts()
        return self._texts

    def session(self) -> ChromiumSession:
        if self._session is None:
            self._session = ChromiumSession()
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    def render(self, seed: int) -> tuple[np.ndarray, dict]:
        spec = page_html(seed, self.texts())
        img, info = self.session().render(spec.html, spec.width, spec.dpr)
        meta = {"seed": seed, "version": PAGE_VERSION, "template": spec.template, "surface": spec.surface,
                "width": int(img.shape[1]), "height": int(img.shape[0]), "dpr": info["dpr"], "style": spec.style,
                "lines": info["lines"]}
        png, js = self.paths(seed)
        self.dir.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        tmp = png.with_suffix(".png.tmp")
        tmp.write_bytes(buf.tobytes())
        tmp.replace(png)
        tmp = js.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        tmp.replace(js)
        return img, meta

    def get(self, seed: int, render_missing: bool = True) -> tuple[np.ndarray, dict]:
        if self.has(seed):
            return self.load(seed)
        if not render_missing:
            raise FileNotFoundError(f"page {seed} is not in {self.dir} (pre-render: python -m pruning.dataengine.html_pages)")
        return self.render(seed)


def main() -> None:
    ap = argparse.ArgumentParser(description="Pre-render HTML training pages into the cache; prints pages/s, lines/page.")
    ap.add_argument("--pages", default="0:50", help="seed range a:b")
    ap.add_argument("--root", default=None, help=f"cache root (default {PAGES_DIR})")
    ap.add_argument("--force", action="store_true", help="re-render cached pages")
    args = ap.parse_args()
    a, b = (int(x) for x in args.pages.split(":"))
    cache = PageCache(args.root)
    t0, n, n_lines, per_t = time.perf_counter(), 0, 0, {}
    try:
        for seed in range(a, b):
            if cache.has(seed) and not args.force:
                continue
            _, meta = cache.render(seed)
            n += 1
            n_lines += len(meta["lines"])
            per_t.setdefault(meta["template"], []).append(len(meta["lines"]))
    finally:
        cache.close()
    dt = time.perf_counter() - t0
    if n:
        print(f"{n} pages in {dt:.1f} s: {n / dt:.2f} pages/s, {n_lines / n:.1f} lines/page, {n_lines / dt:.1f} lines/s "
              f"(Chromium start included)")
        print({k: round(float(np.mean(v)), 1) for k, v in sorted(per_t.items())})
    else:
        print("all pages cached")


if __name__ == "__main__":
    main()
