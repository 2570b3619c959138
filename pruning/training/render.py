"""Synthetic text-line renderer (Pillow + OpenCV), deterministic for a given RNG state.

``LineRenderer.render(text, rng)`` returns a gray uint8 crop that looks like what the
service's line detector hands the recogniser: a line of text with some margin, on
paper/screen-like backgrounds, with camera and scanner degradations.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pruning.training.fonts import FontSpec, discover


@lru_cache(maxsize=512)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index)


def _is_latin(c: str) -> bool:
    return ord(c) < 0x250


class LineRenderer:
    def __init__(self, held_out: bool = False, augment: bool = True):
        specs, self.cover = discover()
        mine = [s for s in specs if s.held_out == held_out]
        self.fonts = [s for s in mine if not s.italic]
        self.italic_fonts = [s for s in mine if s.italic]  # Latin-only faces (emphasis in documents)
        self.cjk_fonts = [s for s in self.fonts if s.cjk]
        self.latin_fonts = [s for s in self.fonts if not s.cjk]
        self.augment = augment

    def pick_font(self, text: str, rng: np.random.Generator) -> FontSpec:
        needed = set(text) - {" "}
        latin = all(_is_latin(c) for c in needed)
        pool = self.cjk_fonts if not latin else self.italic_fonts if self.italic_fonts and rng.random() < 0.1 else self.fonts
        for _ in range(8):
            spec = pool[int(rng.integers(len(pool)))]
            if needed <= self.cover[spec.name]:
                return spec
        for spec in self.cjk_fonts:  # deterministic fallback: first face that has every glyph
            if needed <= self.cover[spec.name]:
                return spec
        raise ValueError(f"no font covers {text!r}")

    def _runs(self, text: str, spec: FontSpec, rng) -> list[tuple[str, FontSpec]]:
        """Split a mixed Hanzi/Latin line into (text, face) runs. Real documents set Latin words
        and ASCII punctuation in a Latin face next to the CJK one (browsers, office suites, xeCJK
        all do), so half of the mixed lines are rendered that way; the rest use the CJK face's own
        Latin glyphs (plain-text editors, screenshots)."""
        if not (spec.cjk and self.augment and rng.random() < 0.5):
            return [(text, spec)]
        runs: list[list] = []
        for c in text:
            lat = _is_latin(c)
            if runs and runs[-1][0] == lat:
                runs[-1][1] += c
            else:
                runs.append([lat, c])
        if len(runs) < 2:
            return [(text, spec)]
        latin = self.latin_fonts[int(rng.integers(len(self.latin_fonts)))] if self.latin_fonts else spec
        out = []
        for lat, run in runs:
            face = latin if lat and set(run) - {" "} <= self.cover[latin.name] else spec
            out.append((run, face))
        return out

    # -- text mask ---------------------------------------------------------------
    def _mask(self, text, spec, size, rng):
        """Float mask (1 = ink) of the text on a canvas with the line box known."""
        runs = [(t, _font(f.path, f.index, size)) for t, f in self._runs(text, spec, rng)]
        metrics = [font.getmetrics() for _, font in runs]
        ascent = max(a for a, _ in metrics)
        descent = max(d for _, d in metrics)
        spacing = 0.0
        if self.augment and rng.random() < 0.25:
            spacing = rng.uniform(-0.05, 0.35) * size
        stroke = 1 if self.augment and size >= 24 and rng.random() < 0.12 else 0
        # One draw call per glyph when letter-spaced, else per run; all on a shared baseline.
        pieces = [(c, font) for t, font in runs for c in t] if spacing else runs
        advances = [font.getlength(t) + spacing for t, font in pieces]
        width = int(sum(advances) + size)
        pad = size
        img = Image.new("L", (width + 2 * pad, ascent + descent + 2 * pad), 0)
        draw = ImageDraw.Draw(img)
        x = pad
        for (t, font), adv in zip(pieces, advances):
            draw.text((x, pad + ascent), t, font=font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
            x += adv
        mask = np.asarray(img, dtype=np.float32) / 255.0
        return mask, (pad, ascent + descent, pad)

    def render(self, text: str, rng: np.random.Generator, spec: FontSpec | None = None) -> np.ndarray:
        spec = spec or self.pick_font(text, rng)
        aug = self.augment
        size = int(rng.integers(18, 46)) if aug else 32
        mask, (top, line_h, left) = self._mask(text, spec, size, rng)
        cols = np.nonzero(mask.max(axis=0) > 0.1)[0]
        rows = np.nonzero(mask.max(axis=1) > 0.1)[0]
        if len(cols) == 0:  # only spaces
            cols = np.array([left, mask.shape[1] - left])
            rows = np.array([top, top + line_h])
        x0, x1 = cols[0], cols[-1] + 1
        # Vertical extent: the font's line box (what a line detector sees for a text line),
        # sometimes the ink box for tight crops.
        if aug and rng.random() < 0.2:
            y0, y1 = rows[0], rows[-1] + 1
            y0, y1 = min(y0, top + line_h // 4), max(y1, top + 3 * line_h // 4)
        else:
            y0, y1 = top, top + line_h
        h = y1 - y0

        mask = self._decorate(mask, (y0, y1, x0, x1), size, rng) if aug else mask
        img = self._colorise(mask, rng) if aug else 255.0 - 255.0 * mask

        if aug:
            m = lambda a, b: int(rng.uniform(a, b) * h)  # noqa: E731
            my0, my1 = m(-0.08, 0.3), m(-0.08, 0.3)
            mx0, mx1 = m(0.0, 0.6), m(0.0, 0.6)
        else:
            my0 = my1 = h // 8
            mx0 = mx1 = h // 4
        ys, ye = max(0, y0 - my0), min(img.shape[0], y1 + my1)
        xs, xe = max(0, x0 - mx0), min(img.shape[1], x1 + mx1)
        if aug:
            img = self._geometry(img, rng, line_aspect=(x1 - x0) / max(1, h))
        img = img[ys:ye, xs:xe]
        if aug:
            img = self._degrade(img, rng)
        return np.clip(img, 0, 255).astype(np.uint8)

    # -- augmentations -----------------------------------------------------------
    def _decorate(self, mask, box, size, rng):
        y0, y1, x0, x1 = box
        mask = mask.copy()
        h = y1 - y0
        r = rng.random()
        if r < 0.12:  # underline
            yy = min(mask.shape[0] - 1, y1 + int(rng.integers(0, max(1, h // 6))))
            mask[yy:yy + max(1, size // 16), x0:x1] = 1.0
        elif r < 0.24:  # table cell borders
            t = max(1, int(rng.integers(1, 3)))
            for yy in (max(0, y0 - int(rng.integers(1, h // 3 + 2))), min(mask.shape[0] - t, y1 + int(rng.integers(1, h // 3 + 2)))):
                if rng.random() < 0.7:
                    mask[yy:yy + t, :] = 1.0
            if rng.random() < 0.4:
                xx = max(0, x0 - int(rng.integers(2, h)))
                mask[:, xx:xx + t] = 1.0
        if rng.random() < 0.15:  # partial neighbouring lines: strokes cut at the crop edge
            noise = (rng.random((3, mask.shape[1] // 4 + 1)) > 0.6).astype(np.float32)
            band = cv2.resize(noise, (mask.shape[1], max(2, h // 5)), interpolation=cv2.INTER_NEAREST)
            if rng.random() < 0.5:
                ys = max(0, y0 - band.shape[0] - int(rng.integers(0, 3)))
            else:
                ys = min(mask.shape[0] - band.shape[0], y1 + int(rng.integers(0, 3)))
            mask[ys:ys + band.shape[0]] = np.maximum(mask[ys:ys + band.shape[0]], band[: mask.shape[0] - ys])
        return mask

    def _colorise(self, mask, rng):
        hgt, wid = mask.shape
        if rng.random() < 0.12:  # light text on dark background
            bg, fg = rng.uniform(0, 90), rng.uniform(170, 255)
        else:
            bg, fg = rng.uniform(150, 255), rng.uniform(0, 110)
        if abs(bg - fg) < 60:
            fg = bg - 60 if bg > 128 else bg + 60
        r = rng.random()
        if r < 0.3:  # gradient
            g = np.linspace(0, 1, wid, dtype=np.float32)[None, :] if rng.random() < 0.5 else np.linspace(0, 1, hgt, dtype=np.float32)[:, None]
            back = bg + (g - 0.5) * rng.uniform(-40, 40)
            back = np.broadcast_to(back, mask.shape)
        elif r < 0.5:  # paper-like texture
            small = rng.normal(0, 1, (max(2, hgt // 6), max(2, wid // 6))).astype(np.float32)
            back = bg + cv2.resize(small, (wid, hgt), interpolation=cv2.INTER_CUBIC) * rng.uniform(3, 15)
        else:
            back = np.full(mask.shape, bg, np.float32)
        return back * (1.0 - mask) + fg * mask

    def _geometry(self, img, rng, line_aspect: float):
        h, w = img.shape
        border = cv2.BORDER_REPLICATE
        if rng.random() < 0.08:  # synthetic oblique (PDF viewers slant CJK this way for italics)
            k = rng.uniform(-0.1, 0.3)
            M = np.float32([[1, -k, k * h / 2], [0, 1, 0]])
            img = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)
        if rng.random() < 0.5:
            ang = rng.uniform(-3, 3) if rng.random() < 0.7 else rng.uniform(-1, 1)
            # The crop box stays axis-aligned, so cap the angle where the line's ends would leave
            # it (more than ~0.2 line heights): a detector deskews pages, long lines stay level.
            cap = np.degrees(np.arctan(0.4 / max(line_aspect, 1.0)))
            ang = float(np.clip(ang, -cap, cap))
            M = cv2.getRotationMatrix2D((w / 2, h / 2), ang, 1.0)
            img = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)
        if rng.random() < 0.3:
            d = 0.04 * h
            src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
            dst = src + rng.uniform(-d, d, (4, 2)).astype(np.float32)
            P = cv2.getPerspectiveTransform(src, dst)
            img = cv2.warpPerspective(img, P, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)
        return img

    def _degrade(self, img, rng):
        h, w = img.shape
        if rng.random() < 0.3:  # uneven lighting
            gx = np.linspace(-1, 1, w, dtype=np.float32)[None, :] * rng.uniform(-0.35, 0.35)
            gy = np.linspace(-1, 1, h, dtype=np.float32)[:, None] * rng.uniform(-0.2, 0.2)
            img = img * (1.0 + gx + gy)
        r = rng.random()
        if r < 0.3:
            sigma = rng.uniform(0.3, 1.3) if rng.random() < 0.8 else rng.uniform(1.3, 2.0)  # tail: out-of-focus photos
            img = cv2.GaussianBlur(img, (0, 0), sigma)
        elif r < 0.4:  # motion blur
            k = int(rng.integers(3, 6))
            kern = np.zeros((k, k), np.float32)
            kern[k // 2, :] = 1.0 / k
            if rng.random() < 0.5:
                kern = kern.T
            img = cv2.filter2D(img, -1, kern)
        if rng.random() < 0.3:  # down-and-up scaling (low-resolution source)
            f = rng.uniform(0.35, 0.8)
            small = cv2.resize(img, (max(4, int(w * f)), max(4, int(h * f))), interpolation=cv2.INTER_AREA)
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.4:
            img = img + rng.normal(0, rng.uniform(2, 14), img.shape).astype(np.float32)
        img = np.clip(img, 0, 255).astype(np.uint8)
        if rng.random() < 0.35:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        return img
