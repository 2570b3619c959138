"""Font discovery for the synthetic-line renderer (fonts from Debian packages).

Font families in HELD_OUT_FAMILIES are used only for validation lines, never training,
so validation measures generalisation to unseen typefaces.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

FONT_DIRS = [Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype"),
             Path("/usr/share/fonts/opentype/cantarell"), Path("/usr/share/fonts/opentype/comic-neue")]
# The font packages are the Makefile's: APT_PACKAGES on every machine, TRAIN_FONT_PACKAGES (breadth
# for training, absent on a test machine) by `make corpus`. Of the breadth packages' folders only
# these files: two or three styles a family, so that families with 18 weights (Lato) do not swamp
# the pool that is drawn from face by face.
CURATED = {
    "lxgw-wenkai": ("LXGWWenKai-Regular.ttf", "LXGWWenKai-Bold.ttf"),
    "comic-neue": ("ComicNeue-Regular.otf", "ComicNeue-Bold.otf", "ComicNeue-Italic.otf"),
    "comfortaa": ("Comfortaa-Regular.ttf", "Comfortaa-Bold.ttf"),
    "cantarell": ("Cantarell-Regular.otf", "Cantarell-Bold.otf"),
    "lato": ("Lato-Regular.ttf", "Lato-Bold.ttf", "Lato-Italic.ttf"),
    "open-sans": ("OpenSans-Regular.ttf", "OpenSans-Bold.ttf", "OpenSans-Italic.ttf"),
    "roboto": ("Roboto-Regular.ttf", "Roboto-Bold.ttf", "Roboto-Italic.ttf"),
}
HELD_OUT_FAMILIES = ("WenQuanYi Micro Hei", "AR PL UMing", "Liberation Serif")
# In CJK collections keep only the Simplified-Chinese face (glyph shapes differ per locale).
_CJK_FACE_OK = re.compile(r"(CJK SC|Hei$|Hei Mono|UMing CN|UKai CN|^LXGW WenKai$)")
_CACHE_VERSION = 3
_SKIP = re.compile(r"(Math|Mono CJK|Condensed|Narrow|ExtraLight|Thin)", re.I)


def _curated_out(path: Path) -> bool:
    """A file of a breadth package's folder that is not among its CURATED styles."""
    for d in path.parents:
        if d.name in CURATED:
            return path.name not in CURATED[d.name]
    return False


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int
    family: str
    style: str
    cjk: bool  # covers the GB2312 level-1 Hanzi
    held_out: bool
    italic: bool = False

    @property
    def name(self) -> str:
        return f"{self.family} {self.style}".strip()


def _faces(path: Path):
    if path.suffix.lower() == ".ttc":
        coll = TTCollection(str(path), lazy=True)
        for i, f in enumerate(coll.fonts):
            yield i, f
    else:
        yield 0, TTFont(str(path), lazy=True)


def _names(font) -> tuple[str, str]:
    name = font["name"]
    fam = name.getDebugName(16) or name.getDebugName(1) or ""
    sty = name.getDebugName(17) or name.getDebugName(2) or ""
    return fam, sty


@lru_cache(maxsize=1)
def discover(cache: str | None = None) -> tuple[list[FontSpec], dict[str, frozenset[str]]]:
    """All usable faces and, per ``FontSpec.name``, the set of characters each covers."""
    from pruning import REPO

    cache_path = Path(cache) if cache else REPO / "data" / "fonts.json"
    raw = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if raw.get("version") == _CACHE_VERSION:
        specs = [FontSpec(**s) for s in raw["specs"]]
        return specs, {k: frozenset(v) for k, v in raw["cover"].items()}
    specs, cover = [], {}
    probe = frozenset("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所")
    for d in FONT_DIRS:
        for path in sorted(d.rglob("*.tt[fc]")) + sorted(d.rglob("*.otf")):
            if _SKIP.search(path.name) or _curated_out(path):
                continue
            for idx, font in _faces(path):
                fam, sty = _names(font)
                if _SKIP.search(fam) or _SKIP.search(sty):
                    continue
                chars = frozenset(chr(c) for c in font.getBestCmap())
                is_cjk = len(probe & chars) == len(probe)
                if is_cjk and not _CJK_FACE_OK.search(fam):
                    continue
                italic = any(w in sty.lower() for w in ("italic", "oblique"))
                spec = FontSpec(str(path), idx, fam, sty, is_cjk, fam.startswith(HELD_OUT_FAMILIES), italic)
                if spec.name in cover:
                    continue
                specs.append(spec)
                cover[spec.name] = chars
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps({"version": _CACHE_VERSION, "specs": [s.__dict__ for s in specs],
                                      "cover": {k: "".join(sorted(v)) for k, v in cover.items()}}))
    return specs, cover
