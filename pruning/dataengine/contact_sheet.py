"""Contact sheets of the data engine: per source, 40 crops with their labels underneath, and one
sheet of whole photographed / screenshotted pages (what the camera does before cropping).

    python -m pruning.dataengine.contact_sheet --out reports/dataengine/ [--pages 200] [--seed 0]

Writes ``<source>.jpg`` per source and ``pages.jpg`` (small JPEGs, a few hundred KB in all).
Pages missing from the cache are rendered with headless Chromium (``--no-render`` to use only
cached ones).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CELL_W, CROP_H, LABEL_H, PAD = 470, 40, 22, 6


def _font(size: int):
    try:
        return ImageFont.truetype(LABEL_FONT, size=size)
    except OSError:
        return ImageFont.load_default()


def sheet(items: list[tuple[np.ndarray, str]], title: str, cols: int = 2) -> Image.Image:
    """Crops scaled to a display height of 40 px (narrowed to the cell when wider), labels below."""
    rows = -(-len(items) // cols)
    cell_h = CROP_H + LABEL_H + PAD
    head = 28
    img = Image.new("RGB", (cols * (CELL_W + PAD) + PAD, head + rows * cell_h + PAD), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.text((PAD, 4), title, fill=(0, 0, 0), font=_font(16))
    f = _font(15)
    for k, (crop, text) in enumerate(items):
        r, c = divmod(k, cols)
        x, y = PAD + c * (CELL_W + PAD), head + r * cell_h
        h, w = crop.shape[:2]
        nw = max(1, int(round(w * CROP_H / h)))
        nh = CROP_H
        if nw > CELL_W:
            nh, nw = max(1, int(round(CROP_H * CELL_W / nw))), CELL_W
        im = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if h > nh else cv2.INTER_LINEAR)
        img.paste(Image.fromarray(cv2.cvtColor(im, cv2.COLOR_BGR2RGB)), (x, y))
        draw.rectangle([x - 1, y - 1, x + nw, y + nh], outline=(200, 200, 200))
        label = text if f.getlength(text) <= CELL_W else text[: max(1, int(len(text) * CELL_W / f.getlength(text)) - 1)] + "…"
        draw.text((x, y + CROP_H + 2), label, fill=(180, 0, 0), font=f)
    return img


def pages_sheet(engine, rng, n: int = 6, width: int = 380) -> Image.Image:
    from pruning.dataengine import camera

    src = next(engine.sources[n] for n in ("html_photo", "html", "html_clean") if n in engine.sources)
    thumbs = []
    for k in range(n):
        seed = src.seeds[int(rng.integers(len(src.seeds)))]
        img, meta, _, fs = src.page(seed)
        if k % 3 == 2:
            shot = camera.screenshot(img, rng, src.strength, fs)
        else:
            shot = camera.photograph(img, rng, src.strength, meta.get("surface", "paper"), fs)
        im = shot.image
        s = width / im.shape[1]
        im = cv2.resize(im, (width, max(1, int(im.shape[0] * s))), interpolation=cv2.INTER_AREA)
        thumbs.append((im[:560], f"{meta['template']} ({shot.params['path']}, glyph {shot.params.get('glyph_px', '-')} px)"))
    cols = 3
    rows = -(-len(thumbs) // cols)
    hmax = max(t.shape[0] for t, _ in thumbs)
    out = Image.new("RGB", (cols * (width + PAD) + PAD, rows * (hmax + 24) + PAD), (255, 255, 255))
    d = ImageDraw.Draw(out)
    f = _font(13)
    for k, (im, cap) in enumerate(thumbs):
        r, c = divmod(k, cols)
        x, y = PAD + c * (width + PAD), PAD + r * (hmax + 24)
        d.text((x, y), cap, fill=(0, 0, 0), font=f)
        out.paste(Image.fromarray(cv2.cvtColor(im, cv2.COLOR_BGR2RGB)), (x, y + 18))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/dataengine/")
    ap.add_argument("--pages", type=int, default=200, help="page seeds 0..N-1 of the HTML sources")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=40, help="crops per source")
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--no-render", action="store_true", help="only cached pages")
    ap.add_argument("--sources", default="pillow,html,html_photo", help="also: html_clean")
    args = ap.parse_args()
    from pruning.dataengine.engine import DataEngine

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [s for s in args.sources.split(",") if s]
    eng = DataEngine(mix={n: 1.0 for n in names}, seed=args.seed, pages=args.pages, render_missing=not args.no_render,
                     strength=args.strength)
    try:
        for name in names:
            rng = np.random.default_rng([args.seed, names.index(name)])
            t0 = time.perf_counter()
            items = [eng.sample_from(name, rng) for _ in range(args.n)]
            dt = time.perf_counter() - t0
            img = sheet(items, f"source {name}: {args.n} crops (display height 40 px), labels below; seed {args.seed}")
            img.save(out / f"{name}.jpg", quality=62, optimize=True, subsampling=2)
            print(f"{name}: {out / (name + '.jpg')} ({dt:.1f} s incl. page loads)")
        if any(n.startswith("html") for n in names):
            rng = np.random.default_rng([args.seed, 99])
            pages_sheet(eng, rng).save(out / "pages.jpg", quality=60, optimize=True, subsampling=2)
            print(f"pages: {out / 'pages.jpg'}")
    finally:
        eng.close()


if __name__ == "__main__":
    main()
