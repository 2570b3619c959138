"""A camera model applied to whole rendered pages *before* cropping, so a crop sees what the
line detector sees on a phone photo; and a milder screenshot path for screens.

``photograph(page, rng, strength, surface, font_px)`` (a sheet of paper, or "photo of a screen"):

1. scale so body Hanzi land at photo sizes (40 %: 10-16 px, else 16-32 px; a low-resolution
   page is never upscaled), INTER_AREA;
2. one per-channel LUT for what is uniform over the frame: faded ink, tinted paper (paper) or
   raised black / lowered white (screen), the colour cast the white balance leaves, exposure;
3. perspective + in-plane rotation (rotation ~N(0, 1.5 deg), tails to 4 deg; keystone up to 6 %),
   framed with desk around the sheet or cut into it (sheets larger than MAX_PHOTO_SIDE are
   framed partly) -- the returned ``H`` (3x3) maps page pixels to photo pixels;
4. illumination: gradient, vignette, a soft shadow, paper blotches, moire and glare on
   screens, a flare veil (grey-on-grey);
5. optics: defocus sigma 0.2-0.9 px (tail 1.3, capped by the glyph size; sometimes varying
   across the frame), motion blur 1-2.5 px;
6. sensor: shot + read noise on luminance, low-frequency chroma noise, the ISP's denoise
   smear and sharpening halo;
7. JPEG 35-92 (45+ on small glyphs), sometimes twice.

``screenshot(page, rng, strength, font_px)``: scaling (area / linear / cubic; glyphs 9-28 px
or native), subpixel colour fringes or a slight blur, JPEG 50-95 (sometimes forwarded:
rescaled and compressed again).

Every parameter is drawn by the given rng; ``strength`` (0 = geometry and photometry
neutral, 1 = default, > 1 harsher) scales the degradations. Both return a ``Shot`` whose
``params`` record what was drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

HANZI_EM = 0.88  # ink height of a Hanzi / font size (Noto, WenQuanYi, UKai: 0.85-0.92)


@dataclass
class Shot:
    image: np.ndarray                 # BGR uint8
    H: np.ndarray                     # 3x3: page pixel (x, y, 1) -> image pixel
    params: dict = field(default_factory=dict)


def map_points(H: np.ndarray, pts) -> np.ndarray:
    """(N, 2) page points -> (N, 2) image points through the homography ``H``."""
    p = np.asarray(pts, np.float64).reshape(-1, 2)
    q = p @ H[:, :2].T + H[:, 2]
    return q[:, :2] / q[:, 2:3]


def _resize_matrix(w0, h0, w1, h1) -> np.ndarray:
    """cv2.resize's pixel-centre mapping as a 3x3 matrix."""
    sx, sy = w1 / w0, h1 / h0
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def _scale(page: np.ndarray, s: float, interp=cv2.INTER_AREA) -> tuple[np.ndarray, np.ndarray]:
    h, w = page.shape[:2]
    w1, h1 = max(8, int(round(w * s))), max(8, int(round(h * s)))
    if (w1, h1) == (w, h):
        return page, np.eye(3)
    if interp == cv2.INTER_AREA and s > 1:
        interp = cv2.INTER_LINEAR
    return cv2.resize(page, (w1, h1), interpolation=interp), _resize_matrix(w, h, w1, h1)


def glyph_target(rng, strength: float, screen: bool = False) -> float:
    """Photo ink height of a body Hanzi: the small-glyph regime (10-16 px) that real captures
    fail on, else a comfortable 16-32 px."""
    p_small = 0.4 * min(1.0, strength)
    if rng.random() < p_small:
        return float(rng.uniform(9.0, 14.0) if screen else rng.uniform(10.0, 16.0))
    return float(rng.uniform(14.0, 28.0) if screen else rng.uniform(16.0, 32.0))


def _smooth_field(rng, h, w, cells=6, amp=1.0) -> np.ndarray:
    small = rng.standard_normal((cells, cells)).astype(np.float32) * amp
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    k = int(np.ceil(length)) | 1
    kern = np.zeros((k, k), np.float32)
    c = k // 2
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    cv2.line(kern, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1, cv2.LINE_AA)
    return kern / max(kern.sum(), 1e-6)


def _jpeg(img: np.ndarray, q: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(q)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


# ---- paper / screen surface -----------------------------------------------------------
PAPER_TINTS = [  # BGR reflectance of the sheet
    (1.0, 1.0, 1.0), (0.88, 0.96, 1.0), (0.82, 0.93, 0.98), (0.93, 0.93, 0.93), (0.86, 0.86, 0.88),
    (0.96, 0.94, 1.0), (1.0, 0.97, 0.93), (0.82, 0.90, 0.94), (0.92, 0.97, 0.95),
]
CASTS = [(1.0, 1.0, 1.0), (0.80, 0.93, 1.06), (1.07, 1.0, 0.92), (0.96, 1.04, 0.94)]  # BGR: none/tungsten/daylight/fluorescent
DESKS = [(40, 60, 90), (25, 25, 28), (70, 95, 130), (120, 120, 118), (180, 175, 170), (30, 45, 60), (200, 200, 205)]
MAX_PHOTO_SIDE = 1100  # a larger sheet is framed partly (the camera closer than the whole page)


def _surface_lut(rng, strength: float, surface: str, p: dict) -> np.ndarray:
    """One per-channel LUT (256, 1, 3) for everything uniform over the frame: ink density,
    paper tint / screen black and white levels, colour cast, exposure."""
    v = np.arange(256, dtype=np.float32)
    chans = np.stack([v, v, v], axis=1)
    if surface == "paper":
        if rng.random() < 0.35:  # faded / light print: ink pulled towards the paper
            dens = float(rng.uniform(1.0 - 0.3 * strength, 1.0))
            chans = 255.0 - (255.0 - chans) * dens
            p["ink_density"] = round(dens, 3)
        if rng.random() < 0.6:
            tint = np.asarray(PAPER_TINTS[int(rng.integers(len(PAPER_TINTS)))], np.float32)
            tint = 1.0 - (1.0 - tint) * min(1.0, strength)
            chans = chans * tint
            p["tint"] = [round(float(t), 3) for t in tint]
    else:  # a screen as the camera sees it: blacks glow, whites are not paper white
        black, white = rng.uniform(8, 40) * strength, 255 - rng.uniform(0, 35) * strength
        chans = black + chans * (white - black) / 255.0
        p["levels"] = [round(float(black), 1), round(float(white), 1)]
    k = int(rng.integers(len(CASTS)))
    # what the camera's white balance leaves of the light's colour
    cast = 1.0 + (np.asarray(CASTS[k], np.float32) - 1.0) * min(1.0, strength) * rng.uniform(0.2, 0.7)
    exposure = rng.uniform(1.0 - 0.25 * strength, 1.0 + 0.1 * strength)
    chans = chans * cast * exposure
    p["cast"], p["exposure"] = k, round(float(exposure), 3)
    return np.clip(chans, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def _light_field(rng, oh: int, ow: int, strength: float, surface: str, p: dict) -> np.ndarray:
    """Multiplicative illumination (oh, ow) float32: gradient * vignette * shadow * paper
    blotches, built on a coarse grid and resized; moire on screens at full resolution."""
    fh, fw = 24, max(4, int(24 * ow / max(oh, 1)))
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    xx, yy = xx / max(fw - 1, 1) * 2 - 1, yy / max(fh - 1, 1) * 2 - 1
    a = rng.uniform(0, 2 * np.pi)
    L = 1.0 + rng.uniform(0, 0.4) * strength * (xx * np.cos(a) + yy * np.sin(a))
    if rng.random() < 0.6:
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        L *= 1.0 - rng.uniform(0.1, 0.45) * strength * ((xx - cx) ** 2 + (yy - cy) ** 2) / 2
    if rng.random() < 0.3 * min(1.0, strength + 0.2):  # a soft shadow (hand, phone) over part of the frame
        b = rng.uniform(0, 2 * np.pi)
        edge = (xx * np.cos(b) + yy * np.sin(b) - rng.uniform(-0.6, 0.6)) / rng.uniform(0.05, 0.4)
        L *= 1.0 - rng.uniform(0.2, 0.5) * strength / (1.0 + np.exp(-edge))
        p["shadow"] = True
    if surface == "paper" and rng.random() < 0.5:  # paper blotches
        L *= 1.0 + _smooth_field(rng, fh, fw, int(rng.integers(4, 10)), 0.02 * strength)
    L = cv2.resize(np.clip(L, 0.2, 1.6).astype(np.float32), (ow, oh), interpolation=cv2.INTER_LINEAR)
    if surface == "screen" and rng.random() < 0.5:
        f1, f2 = rng.uniform(0.02, 0.12, 2)
        a1, a2 = rng.uniform(0, np.pi, 2)
        X, Y = np.arange(ow, dtype=np.float32)[None, :], np.arange(oh, dtype=np.float32)[:, None]
        m = rng.uniform(0.02, 0.07) * strength
        L *= 1.0 + m * np.sin(f1 * (X * np.cos(a1) + Y * np.sin(a1))) * np.sin(f2 * (X * np.cos(a2) + Y * np.sin(a2)))
        p["moire"] = round(float(m), 3)
    return L


# ---- the photograph --------------------------------------------------------------------------
def photograph(page: np.ndarray, rng: np.random.Generator, strength: float = 1.0, surface: str = "paper",
               font_px: float | None = None) -> Shot:
    """A phone photo of ``page`` (BGR uint8, clean render); ``font_px``: body font size in page px."""
    p: dict = {"path": "photo", "surface": surface}
    s_ = max(0.0, strength)
    font_px = font_px or 16.0
    g = glyph_target(rng, s_)
    s = float(np.clip(g / (HANZI_EM * font_px), 0.12, 1.0))
    g = HANZI_EM * font_px * s  # a low-resolution page is not upscaled: its glyphs stay small
    p["glyph_px"], p["scale"] = round(g, 2), round(s, 4)
    small, S = _scale(page, s)
    small = cv2.LUT(small, _surface_lut(rng, s_, surface, p))
    h, w = small.shape[:2]

    # -- geometry: rotation + perspective, frame with some desk or cut into the sheet
    rot = rng.normal(0, 1.5 * s_) if rng.random() < 0.8 else rng.uniform(-4, 4) * s_
    rot = float(np.clip(rot, -6, 6))
    d = 0.06 * s_
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c = src.mean(axis=0)
    R = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), rot, 1.0)
    dst = src @ R[:, :2].T + R[:, 2]
    # pitch (kx): top edge shorter, bottom longer; yaw (ky): left edge shorter, right longer
    kx, ky = rng.uniform(-d, d), rng.uniform(-d, d)
    dst += 0.5 * np.float32([[kx * w, ky * h], [-kx * w, -ky * h], [kx * w, ky * h], [-kx * w, -ky * h]]) \
        * np.float32([[1, 1], [1, 1], [-1, -1], [-1, -1]])
    dst += rng.uniform(-0.35 * d, 0.35 * d, (4, 2)).astype(np.float32) * np.float32([w, h])
    P = cv2.getPerspectiveTransform(src, dst.astype(np.float32)).astype(np.float64)
    mx, my = (rng.uniform(-0.06, 0.12, 2) * np.array([w, h])).tolist()
    x0, y0 = dst.min(axis=0) - np.array([mx, my])
    x1, y1 = dst.max(axis=0) + np.array([mx, my])
    ow, oh = int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))
    if ow > MAX_PHOTO_SIDE:
        x0 += rng.uniform(0, ow - MAX_PHOTO_SIDE)
        ow = MAX_PHOTO_SIDE
    if oh > MAX_PHOTO_SIDE:
        y0 += rng.uniform(0, oh - MAX_PHOTO_SIDE)
        oh = MAX_PHOTO_SIDE
    T = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    M = T @ P
    desk = np.asarray(DESKS[int(rng.integers(len(DESKS)))], np.float32) * rng.uniform(0.7, 1.2)
    dfield = cv2.resize(_smooth_field(rng, 8, 8, 8, 12.0), (ow, oh), interpolation=cv2.INTER_LINEAR)
    canvas = np.clip(desk[None, None, :] + dfield[..., None], 0, 255).astype(np.uint8)
    cv2.warpPerspective(small, M, (ow, oh), dst=canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
    p["rotation"], p["keystone"] = round(rot, 2), [round(float(kx), 3), round(float(ky), 3)]
    H = M @ S

    # -- illumination
    x = canvas.astype(np.float32)
    x *= _light_field(rng, oh, ow, s_, surface, p)[..., None]
    if surface == "screen" and rng.random() < 0.4:  # glare: a bright soft blob added on top
        gx, gy = rng.uniform(0, ow), rng.uniform(0, oh)
        rad = rng.uniform(0.15, 0.5) * max(ow, oh)
        gl = (np.exp(-((np.arange(ow, dtype=np.float32) - gx) ** 2) / (2 * rad ** 2))[None, :]
              * np.exp(-((np.arange(oh, dtype=np.float32) - gy) ** 2) / (2 * rad ** 2))[:, None])
        x += (rng.uniform(20, 80) * s_ * gl)[..., None]
        p["glare"] = True
    if rng.random() < (0.15 if "ink_density" in p else 0.35):  # flare veil: contrast drops towards a haze (grey-on-grey)
        f = rng.uniform(0.05, 0.25) * min(1.0, s_)
        haze = float(np.mean(cv2.mean(x)[:3])) * rng.uniform(0.9, 1.3)
        x *= 1 - f
        x += f * haze
        p["veil"] = round(float(f), 3)

    # -- optics: defocus (sigma ~1 px at photo scale, sometimes varying across the frame), motion
    if rng.random() < 0.85:
        sigma = rng.uniform(0.2, 0.9) * s_ if rng.random() < 0.9 else rng.uniform(0.9, 1.3) * s_
        sigma = min(sigma, 0.15 + 0.07 * g)  # <= ~0.9 px at 10-px glyphs, more on bigger ones
        if sigma > 0.15:
            blurred = cv2.GaussianBlur(x, (0, 0), sigma)
            if rng.random() < 0.25:  # focus falls off across the frame (tilted page)
                ramp = np.linspace(0, 1, ow, dtype=np.float32)[None, :] if rng.random() < 0.5 else np.linspace(0, 1, oh, dtype=np.float32)[:, None]
                ramp = ramp if rng.random() < 0.5 else 1 - ramp
                x += (blurred - x) * ramp[..., None]
            else:
                x = blurred
        p["defocus"] = round(float(sigma), 3)
    if rng.random() < 0.15 * min(1.0, s_ + 0.2):
        ln, ang = rng.uniform(1.0, 2.5) * s_ * min(1.0, g / 14), rng.uniform(0, 180)
        if ln > 1.0:
            x = cv2.filter2D(x, -1, _motion_kernel(ln, ang))
            p["motion"] = [round(float(ln), 2), round(float(ang), 1)]

    # -- sensor: shot + read noise on luminance, low-frequency chroma noise, ISP sharpening
    k, rd = rng.uniform(0.02, 0.4) * s_, rng.uniform(0.5, 3.5) * s_
    if k > 0 or rd > 0:
        lum = cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)
        np.clip(lum, 0, 255, out=lum)
        sd = np.sqrt(lum * k + rd * rd)
        n = rng.standard_normal((oh, ow), dtype=np.float32) * sd
        if rng.random() < 0.5:  # the ISP's denoiser smears it
            n = cv2.GaussianBlur(n, (0, 0), 0.7) * 1.8
        x += n[..., None]
        cn = rng.standard_normal((max(2, oh // 3), max(2, ow // 3), 3), dtype=np.float32) * (0.6 * rd + 0.02 * k * 128)
        x += cv2.resize(cn, (ow, oh), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        amt, sg = rng.uniform(0.2, 0.8), rng.uniform(0.8, 1.6)
        x = cv2.addWeighted(x, 1 + amt, cv2.GaussianBlur(x, (0, 0), sg), -amt, 0)
        p["sharpen"] = round(float(amt), 2)
    np.clip(x, 0, 255, out=x)
    img = x.astype(np.uint8)
    q = int(rng.uniform((90 - 55 * min(1.0, s_)) if g >= 13 else (90 - 45 * min(1.0, s_)), 92))
    img = _jpeg(img, q)
    if rng.random() < 0.1 * s_:
        img = _jpeg(img, int(rng.uniform(50, 90)))
    p["jpeg"] = q
    return Shot(img, H, p)


def screenshot(page: np.ndarray, rng: np.random.Generator, strength: float = 1.0, font_px: float | None = None) -> Shot:
    """A screenshot as it reaches us: rescaled, colour-fringed or softened, JPEG'd."""
    p: dict = {"path": "screenshot"}
    s_ = max(0.0, strength)
    font_px = font_px or 16.0
    if rng.random() < 0.25:
        s = 1.0
    else:
        s = float(np.clip(glyph_target(rng, s_, screen=True) / (HANZI_EM * font_px), 0.25, 1.3))
    interp = [cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA][int(rng.integers(4))]
    img, H = _scale(page, s, interp)
    p["scale"] = round(s, 4)
    r = rng.random()
    if r < 0.25 * min(1.0, s_ + 0.3):  # subpixel rendering look: R and B shifted by a third of a pixel
        sh = rng.uniform(0.2, 0.45) * (1 if rng.random() < 0.5 else -1)
        chans = list(cv2.split(img))
        for ci, dx in ((0, -sh), (2, sh)):
            M = np.float32([[1, 0, dx], [0, 1, 0]])
            chans[ci] = cv2.warpAffine(chans[ci], M, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE)
        img = cv2.merge(chans)
        p["subpixel"] = round(float(sh), 2)
    elif r < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.7) * max(s_, 0.3))
        p["soft"] = True
    if rng.random() < 0.7 * min(1.0, s_ + 0.2):
        q = int(rng.uniform(95 - 45 * min(1.0, s_), 96))
        img = _jpeg(img, q)
        p["jpeg"] = q
        if rng.random() < 0.15 * s_:  # forwarded: rescaled and compressed again
            f = rng.uniform(0.7, 0.95)
            img2, H2 = _scale(img, f, cv2.INTER_AREA)
            img, H = _jpeg(img2, int(rng.uniform(55, 90))), H2 @ H
            p["forwarded"] = round(float(f), 3)
    return Shot(img, H, p)
