"""Phone-camera capture of a rendered document page, and detector-like line crops from it.

The evaluation set's ``capture`` variant. Written for the evaluation only: it shares no
code, parameters or random streams with the training renderer or data engine, so that
the evaluation is not produced by the generator the model was trained on.

The model follows how a phone forms an image of a printed page lying on a table:

1. **Scene.** The page (a ``pdftoppm`` render) becomes a reflectance map: paper
   reflectance 0.72-0.9 with a slight tint and a low-frequency fibre texture, ink
   0.03-0.09. It lies on a table (wood, grey, white or dark desk, with its own texture)
   in the same plane, and casts a slight contact shadow onto it.
2. **Pose and pinhole camera.** A portrait 3:4 frame, horizontal field of view 58-72°
   (a phone's main camera). The page plane is tilted by 5-25° about a random axis in the
   plane, rolled in-plane by up to ±4°, slightly off the optical axis; the distance is set
   so the page's median line box is 13-20 px tall at the page centre (a Hanzi fills ~0.9
   of the box: glyphs ~12-18 px; a tilted page makes the far lines smaller and the near
   ones larger: line boxes 12.6-21.3 px from the 10th to the 90th percentile). The
   frame is widened (same field of view, same scale) until the whole page is inside it.
3. **Lens.** Radial distortion (k1, k2; barrel or pincushion, as left after the phone's
   correction), lateral chromatic aberration (red and blue magnified differently by
   ±0.03-0.12 %), vignetting (residual after lens-shading correction, 8-30 % at the
   corners), and a blur that is the lens/diffraction PSF (σ 0.3-0.6 output px) combined
   with a defocus that grows with the distance of the tilted plane from the focused point
   near the page centre (thin lens: circle of confusion ∝ |1 - Z_focus/Z|; σ 0.3-1.6 px at
   the worst corner), plus hand shake (0.8-2 px) on a quarter of the shots.
4. **Light.** An ambient term and a point light (lamp or window) at a random position
   above the table: Lambertian irradiance ∝ cos/r² over the plane gives smooth shading.
   On most shots the phone and hand cast a soft shadow (a rounded slab entering from one
   side of the page, penumbra proportional to its size) that blocks most of the direct
   light. The direct light and the ambient have their own colour temperatures
   (2700-6500 K and 4500-8000 K), so shadows turn bluish under a warm lamp.
5. **Sensor.** Rendered at 1-1.4x the output resolution (the phone downsizes its
   photo, as chat apps and OCR front ends do): exposure set by auto-exposure on the
   scene, RGGB Bayer mosaic, shot noise (Poisson, 600-4000 e- at full scale, i.e. an
   indoor ISO) and read noise (1.5-5 e-), 10-bit quantisation.
6. **ISP.** Demosaic (OpenCV bilinear or edge-aware), grey-world white balance that
   removes 70-100 % of the cast, a colour-correction matrix (saturation boost), tone
   curve (gamma plus a mild S-curve), chroma and luma denoising, unsharp-mask sharpening
   (halos), area downscale to the output size, JPEG quality 40-85 with 4:2:0 chroma.

``capture_page`` returns the photo and the ``Capture`` geometry, which maps page pixels
to photo pixels (homography, then the lens distortion). ``line_crop`` maps a line's
ground-truth box through it and cuts the line as a text detector would: a rotated
rectangle at the line's angle up to a ±1.5° deskew error (smaller for long lines, whose
angle a detector knows better: at most atan(0.35 height / length)), the text 40-90 % of
the crop height (so parts of the neighbouring lines come along, at most ~35 % of one),
loose margins at the ends (never past the free space to the next word or column, so the
label stays right).

Everything is deterministic for a given seed (``numpy.random.default_rng``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

GLYPH_PX = (13.0, 20.0)   # median line-box height at the page centre, output px (glyphs ~0.9 of it)
TILT_DEG = (5.0, 25.0)
ROLL_DEG = 4.0
TEXT_FRAC = (0.40, 0.90)  # text height / crop height
DESKEW_ERR_DEG = 1.5
JPEG_Q = (40, 85)
_STEP = 8                 # coarse grid step (sensor px) for the smooth per-pixel maps


# --------------------------------------------------------------------------- geometry

def _rot(axis: np.ndarray, ang: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(ang) * k + (1 - math.cos(ang)) * (k @ k)


@dataclass
class Capture:
    """Geometry of one shot. Page px (x right, y down, origin at the page's top-left
    pixel centre) -> ideal image px via ``H`` -> photo px via radial distortion about
    the principal point (cx, cy) with focal length f (px)."""
    H: np.ndarray
    f: float
    cx: float
    cy: float
    k1: float
    k2: float
    size: tuple[int, int]            # photo (width, height)
    params: dict = field(default_factory=dict)

    def distort(self, pts: np.ndarray) -> np.ndarray:
        p = (np.asarray(pts, np.float64) - [self.cx, self.cy]) / self.f
        r2 = (p ** 2).sum(-1, keepdims=True)
        return p * (1 + self.k1 * r2 + self.k2 * r2 ** 2) * self.f + [self.cx, self.cy]

    def undistort(self, pts: np.ndarray, iters: int = 6) -> np.ndarray:
        d = (np.asarray(pts, np.float64) - [self.cx, self.cy]) / self.f
        u = d.copy()
        for _ in range(iters):
            r2 = (u ** 2).sum(-1, keepdims=True)
            u = d / (1 + self.k1 * r2 + self.k2 * r2 ** 2)
        return u * self.f + [self.cx, self.cy]

    def to_photo(self, pts) -> np.ndarray:
        """(N, 2) page px -> (N, 2) photo px."""
        pts = np.asarray(pts, np.float64).reshape(-1, 2)
        q = np.c_[pts, np.ones(len(pts))] @ self.H.T
        return self.distort(q[:, :2] / q[:, 2:3])

    def to_page(self, pts) -> np.ndarray:
        """(N, 2) photo px -> (N, 2) page px (inverse of ``to_photo``)."""
        u = self.undistort(np.asarray(pts, np.float64).reshape(-1, 2))
        q = np.c_[u, np.ones(len(u))] @ np.linalg.inv(self.H).T
        return q[:, :2] / q[:, 2:3]


def _pose(rng, page_wh: tuple[int, int], line_px: float) -> tuple[Capture, np.ndarray, np.ndarray]:
    """Random pose + camera for a page of page_wh px whose median line box is line_px."""
    wp, hp = page_wh
    glyph = rng.uniform(*GLYPH_PX)
    s = glyph / max(line_px, 1.0)                   # photo px per page px at the page centre
    hfov = math.radians(rng.uniform(58, 72))
    fill = rng.uniform(0.72, 0.9)                    # page extent / frame extent (binding side)
    ws = max(wp * s / fill, hp * s / fill * 0.75)
    tilt = math.radians(rng.uniform(*TILT_DEG))
    az = rng.uniform(0, 2 * math.pi)
    roll = math.radians(rng.uniform(-ROLL_DEG, ROLL_DEG))
    R = _rot(np.array([0, 0, 1.0]), roll) @ _rot(np.array([math.cos(az), math.sin(az), 0.0]), tilt)
    off = rng.uniform(-0.04, 0.04, 2)
    k1 = rng.uniform(-0.06, 0.04)
    k2 = rng.uniform(-0.01, 0.01)
    corners = np.array([[0, 0], [wp - 1, 0], [wp - 1, hp - 1], [0, hp - 1]], np.float64)
    for _ in range(40):
        w_out, h_out = int(round(ws)), int(round(ws * 4 / 3))
        f = (ws / 2) / math.tan(hfov / 2)
        D = f / s
        t = np.array([off[0] * D * ws / f, off[1] * D * ws / f, D])
        K = np.array([[f, 0, (w_out - 1) / 2], [0, f, (h_out - 1) / 2], [0, 0, 1]])
        # page px -> plane coords (page px units, centred) -> camera -> image
        P = np.array([[1, 0, -(wp - 1) / 2], [0, 1, -(hp - 1) / 2], [0, 0, 1.0]])
        Hm = K @ np.c_[R[:, 0], R[:, 1], t] @ P
        cap = Capture(Hm / Hm[2, 2], f, K[0, 2], K[1, 2], k1, k2, (w_out, h_out))
        c = cap.to_photo(corners)
        m = 0.025 * ws
        if c[:, 0].min() >= m and c[:, 1].min() >= m and c[:, 0].max() <= w_out - 1 - m and c[:, 1].max() <= h_out - 1 - m:
            break
        ws *= 1.05                                    # wider frame, same field of view and scale
    cap.params.update(glyph_px_centre=round(glyph, 2), hfov_deg=round(math.degrees(hfov), 1),
                      tilt_deg=round(math.degrees(tilt), 2), tilt_axis_deg=round(math.degrees(az), 1),
                      roll_deg=round(math.degrees(roll), 2), k1=round(k1, 4), k2=round(k2, 4))
    return cap, R, t


# --------------------------------------------------------------------------- colour helpers

def _kelvin_rgb(k: float) -> np.ndarray:
    """Approximate linear RGB of a black body at k kelvin (normalised to G = 1)."""
    t = k / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    rgb = np.clip([r, g, b], 1, 255) / 255.0
    lin = rgb ** 2.2
    return lin / lin[1]


def _lowfreq(rng, shape, cells: int) -> np.ndarray:
    """Smooth noise in [-1, 1]-ish: a few random cells, cubic-upsampled."""
    h, w = shape
    ch, cw = max(2, int(cells * h / max(h, w)) + 2), max(2, int(cells * w / max(h, w)) + 2)
    g = rng.normal(0, 1, (ch, cw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


# --------------------------------------------------------------------------- the shot

def _sites(a: np.ndarray):
    """The four RGGB sites of a (h, w) array with even h, w: (slice, BGR channel index)."""
    return (((slice(0, None, 2), slice(0, None, 2)), 2), ((slice(0, None, 2), slice(1, None, 2)), 1),
            ((slice(1, None, 2), slice(0, None, 2)), 1), ((slice(1, None, 2), slice(1, None, 2)), 0))


def capture_page(page: np.ndarray, seed, line_px: float) -> tuple[np.ndarray, Capture]:
    """Photograph a rendered page (BGR or gray uint8). ``line_px``: the page's median line-box
    height in page px (sets the camera distance). Returns (photo BGR uint8, geometry)."""
    rng = np.random.default_rng(seed)
    bgr = page if page.ndim == 3 else cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    hp, wp = bgr.shape[:2]
    cap, R, t = _pose(rng, (wp, hp), line_px)
    w_out, h_out = cap.size
    os_ = rng.uniform(1.0, 1.4)                       # sensor px per output px
    ws, hs = 2 * int(round(w_out * os_ / 2)), 2 * int(round(h_out * os_ / 2))
    sx, sy = ws / w_out, hs / h_out

    # ---- page reflectance (page space), pre-filtered for the sampling density
    lut = ((np.arange(256, dtype=np.float32) / 255.0) ** 2.2).astype(np.float32)
    lin = lut[bgr]
    paper = rng.uniform(0.72, 0.9) * (1 + rng.uniform(-0.03, 0.03, 3)).astype(np.float32)
    ink = rng.uniform(0.03, 0.09)
    fibre = 1 + 0.015 * _lowfreq(rng, (hp, wp), 40) + 0.01 * _lowfreq(rng, (hp, wp), 160)
    refl = (ink + (paper - ink) * lin) * fibre[:, :, None]
    s_samp = cap.params["glyph_px_centre"] / max(line_px, 1.0) * sx  # sensor px per page px
    if s_samp < 1:
        refl = cv2.GaussianBlur(refl, (0, 0), 0.42 / s_samp)

    # ---- per-pixel maps on a coarse grid (sensor px -> output px -> page px), then upsampled
    gx = np.arange(-_STEP, ws + 2 * _STEP, _STEP, dtype=np.float64)
    gy = np.arange(-_STEP, hs + 2 * _STEP, _STEP, dtype=np.float64)
    GX, GY = np.meshgrid(gx, gy)
    out_pts = np.c_[((GX + 0.5) / sx - 0.5).ravel(), ((GY + 0.5) / sy - 0.5).ravel()]
    fine_x = np.ascontiguousarray(np.broadcast_to(((np.arange(ws, dtype=np.float32) + _STEP) / _STEP)[None, :], (hs, ws)))
    fine_y = np.ascontiguousarray(np.broadcast_to(((np.arange(hs, dtype=np.float32) + _STEP) / _STEP)[:, None], (hs, ws)))

    def up(coarse: np.ndarray) -> np.ndarray:
        return cv2.remap(coarse.reshape(GX.shape).astype(np.float32), fine_x, fine_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    ca = rng.uniform(0.0003, 0.0012) * rng.choice([-1, 1])
    img = np.empty((hs, ws, 3), np.float32)
    for ci, mag in ((0, 1 - ca), (1, 1.0), (2, 1 + ca)):      # B, G, R: lateral colour
        pts = (out_pts - [cap.cx, cap.cy]) / mag + [cap.cx, cap.cy]
        pg = cap.to_page(pts)
        mx, my = up(pg[:, 0]), up(pg[:, 1])
        img[:, :, ci] = cv2.remap(np.ascontiguousarray(refl[:, :, ci]), mx, my, cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
        if ci == 1:
            pgG = pg
    inside = img[:, :, 1] >= 0

    # ---- table (same plane) around the page, with the page's contact shadow on it (1/4 res)
    kind = str(rng.choice(["wood", "grey", "white", "dark"], p=[0.35, 0.3, 0.2, 0.15]))
    base = {"wood": [0.16, 0.28, 0.45], "grey": [0.30, 0.31, 0.31], "white": [0.62, 0.63, 0.62],
            "dark": [0.05, 0.05, 0.06]}[kind]
    tint = 0.15 if kind == "wood" else 0.05
    base = np.array(base, np.float32) * rng.uniform(0.8, 1.2) * rng.uniform(1 - tint, 1 + tint, 3).astype(np.float32)
    qw, qh = ws // 4, hs // 4
    tex = 1 + (0.1 if kind == "wood" else 0.04) * _lowfreq(rng, (qh, qw), 12) + 0.02 * _lowfreq(rng, (qh, qw), 60)
    if kind == "wood":
        ang = rng.uniform(0, math.pi)
        pq = cv2.resize(pgG.reshape(GX.shape + (2,)).astype(np.float32), (qw, qh), interpolation=cv2.INTER_LINEAR)
        u = (math.cos(ang) * pq[:, :, 0] + math.sin(ang) * pq[:, :, 1]) / max(wp, hp)
        tex = tex + 0.12 * np.sin(2 * math.pi * (rng.uniform(25, 60) * u + 1.5 * _lowfreq(rng, (qh, qw), 6)))
    small_in = cv2.resize(inside.astype(np.float32), (qw, qh), interpolation=cv2.INTER_AREA)
    contact = cv2.GaussianBlur(small_in, (0, 0), (0.006 * ws + 1) / 4)
    table = base[None, None, :] * (tex * (1 - 0.45 * contact))[:, :, None]
    table = cv2.resize(table, (ws, hs), interpolation=cv2.INTER_LINEAR)
    np.copyto(img, table, where=~inside[:, :, None])
    del table

    # ---- optics: lens PSF + depth-dependent defocus, blended per Bayer site (+ hand shake)
    X = pgG[:, 0] - (wp - 1) / 2
    Y = pgG[:, 1] - (hp - 1) / 2
    Z = R[2, 0] * X + R[2, 1] * Y + t[2]
    fx, fy = rng.uniform(-0.2, 0.2) * wp, rng.uniform(-0.2, 0.2) * hp     # focus point, from the centre
    Zf = R[2, 0] * fx + R[2, 1] * fy + t[2]
    coc = np.abs(1 - Zf / Z)
    half = np.array([[-wp, -hp], [wp, -hp], [wp, hp], [-wp, hp]]) / 2
    coc_max = max(abs(1 - Zf / (R[2, 0] * x + R[2, 1] * y + t[2])) for x, y in half)
    defocus_max = rng.uniform(0.3, 1.6)                               # output px, at the worst corner
    lens = rng.uniform(0.3, 0.6)
    sig_map = up(np.sqrt(lens ** 2 + (defocus_max * np.minimum(coc / max(coc_max, 1e-6), 1.5)) ** 2) * sx)
    shake = rng.random() < 0.25
    kern = None
    if shake:
        ln = rng.uniform(0.8, 2.0) * sx
        a = rng.uniform(0, math.pi)
        n = int(ln) * 2 + 3
        kern = np.zeros((n, n), np.float32)
        c0 = n // 2
        cv2.line(kern, (int(round(c0 - ln / 2 * math.cos(a))), int(round(c0 - ln / 2 * math.sin(a)))),
                 (int(round(c0 + ln / 2 * math.cos(a))), int(round(c0 + ln / 2 * math.sin(a)))), 1.0, 1, cv2.LINE_AA)
        kern /= kern.sum()
    levels = np.linspace(float(sig_map.min()), float(sig_map.max()) + 1e-3, 3)
    pos = np.clip((sig_map - levels[0]) / (levels[1] - levels[0]), 0, len(levels) - 1)
    mosaic = np.zeros((hs, ws), np.float32)
    for i, lv in enumerate(levels):
        b = cv2.GaussianBlur(img, (0, 0), lv)
        if kern is not None:
            b = cv2.filter2D(b, -1, kern)
        w = np.clip(1 - np.abs(pos - i), 0, 1)
        for sl, ch in _sites(mosaic):
            mosaic[sl] += w[sl] * b[sl + (ch,)]
    del img, b

    # ---- light: ambient + point light (cos / r^2) with the phone/hand shadow, own colours
    diag = math.hypot(wp, hp)
    L = np.array([rng.uniform(-0.9, 0.9) * diag, rng.uniform(-0.9, 0.9) * diag, rng.uniform(0.7, 2.2) * diag])
    E = L[2] / ((X - L[0]) ** 2 + (Y - L[1]) ** 2 + L[2] ** 2) ** 1.5
    E /= L[2] / (L[0] ** 2 + L[1] ** 2 + L[2] ** 2) ** 1.5            # 1 at the page centre
    shadow = np.zeros_like(E)
    has_shadow = rng.random() < 0.7
    if has_shadow:
        # a rounded slab (phone + hand) entering the page from one side, soft-edged
        side = rng.uniform(0, 2 * math.pi)
        nv = np.array([math.cos(side), math.sin(side)])
        extent = abs(nv[0]) * wp + abs(nv[1]) * hp
        reach = rng.uniform(0.15, 0.5) * extent                        # how far in from the edge
        cen = -nv * (0.5 * extent - reach) + rng.uniform(-0.2, 0.2) * np.array([-nv[1], nv[0]]) * np.array([wp, hp])
        along = (X - cen[0]) * nv[0] + (Y - cen[1]) * nv[1]             # > 0: towards the outside
        across = -(X - cen[0]) * nv[1] + (Y - cen[1]) * nv[0]
        qa, qc = -along, np.abs(across) - rng.uniform(0.2, 0.45) * diag
        rad = 0.08 * diag
        sd = np.hypot(np.maximum(qa + rad, 0), np.maximum(qc + rad, 0)) + np.minimum(np.maximum(qa, qc) + rad, 0) - rad
        pen = rng.uniform(0.01, 0.05) * diag
        shadow = rng.uniform(0.55, 0.9) / (1 + np.exp(np.clip(sd / (0.35 * pen), -30, 30)))
    amb = rng.uniform(0.25, 0.6)
    T_dir = rng.uniform(2700, 6500)
    T_amb = T_dir if rng.random() < 0.4 else rng.uniform(4500, 8000)
    c_dir, c_amb = _kelvin_rgb(T_dir)[::-1], _kelvin_rgb(T_amb)[::-1]    # BGR
    vig = rng.uniform(0.08, 0.3)
    ox, oy = (out_pts[:, 0] - cap.cx) / (w_out / 2), (out_pts[:, 1] - cap.cy) / (h_out / 2)
    V = 1 - vig * (ox ** 2 + oy ** 2) / 2
    E_dir = up((1 - amb) * E * (1 - shadow) * V)
    E_amb = up(amb * V)
    for sl, ch in _sites(mosaic):
        mosaic[sl] *= E_dir[sl] * c_dir[ch] + E_amb[sl] * c_amb[ch]
    del E_dir, E_amb

    # ---- sensor: auto-exposure, shot + read noise, 10 bits
    g_site = mosaic[0::2, 1::2][inside[0::2, 1::2]]
    page_lum = float(np.percentile(g_site, 97)) if g_site.size else float(mosaic.max())
    full_e = rng.uniform(600, 4000)
    read_e = rng.uniform(1.5, 5.0)
    e = np.clip(mosaic * (rng.uniform(0.55, 0.85) / max(page_lum, 1e-6) * full_e), 0, None)
    e += rng.standard_normal(e.shape, dtype=np.float32) * np.sqrt(e + read_e ** 2)
    raw16 = (np.clip(np.round(e * (1023 / full_e)), 0, 1023) * 64).astype(np.uint16)
    del e, mosaic

    # ---- ISP
    ea = rng.random() < 0.5
    # OpenCV names a Bayer pattern by the 2x2 block starting at (1, 1): our RGGB is its "BayerBG"
    rgb = cv2.cvtColor(raw16, cv2.COLOR_BayerBG2BGR_EA if ea else cv2.COLOR_BayerBG2BGR).astype(np.float32) * (1 / 65472.0)
    means = rgb[inside].mean(0) if inside.any() else rgb.reshape(-1, 3).mean(0)
    beta = rng.uniform(0.7, 1.0)                          # how much of the cast AWB removes
    gains = (means[1] / np.maximum(means, 1e-6)) ** beta
    sat = rng.uniform(0.15, 0.45)
    ccm = ((1 + sat) * np.eye(3) - sat / 3 * np.ones((3, 3))) @ np.diag(gains)
    rgb = cv2.transform(rgb, ccm.astype(np.float32))
    gam = rng.uniform(2.0, 2.4)
    sc = rng.uniform(0.0, 0.35)                           # S-curve contrast
    x = np.linspace(0, 1, 1024)
    v = x ** (1 / gam)
    tone = np.clip((v + sc * v * (1 - v) * (2 * v - 1)) * 255 + 0.5, 0, 255).astype(np.uint8)
    u8 = tone[np.clip(rgb * 1023, 0, 1023).astype(np.int32)]
    del rgb
    ycc = cv2.cvtColor(u8, cv2.COLOR_BGR2YCrCb)
    yl, cr, cb = cv2.split(ycc)
    csig = rng.uniform(1.0, 2.5) * sx
    cr, cb = cv2.GaussianBlur(cr, (0, 0), csig), cv2.GaussianBlur(cb, (0, 0), csig)
    noise_dn = 255 / math.sqrt(full_e) * 0.5               # rough luma noise at mid-grey, in DN
    y = cv2.bilateralFilter(yl.astype(np.float32), 5, rng.uniform(1.5, 3.0) * noise_dn, rng.uniform(0.8, 1.6) * sx)
    amt, rad_s = rng.uniform(0.4, 1.4), rng.uniform(0.8, 1.8) * sx
    y = cv2.addWeighted(y, 1 + amt, cv2.GaussianBlur(y, (0, 0), rad_s), -amt, 0)
    u8 = cv2.cvtColor(cv2.merge([np.clip(y + 0.5, 0, 255).astype(np.uint8), cr, cb]), cv2.COLOR_YCrCb2BGR)
    if (ws, hs) != (w_out, h_out):
        u8 = cv2.resize(u8, (w_out, h_out), interpolation=cv2.INTER_AREA)
    q = int(rng.integers(JPEG_Q[0], JPEG_Q[1] + 1))
    ok, enc = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, q,
                                        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420])
    assert ok
    photo = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    cap.params.update(oversample=round(sx, 2), table=kind, shadow=bool(has_shadow), ambient=round(amb, 2),
                      T_dir=int(T_dir), T_amb=int(T_amb), vignette=round(vig, 2), defocus_max_px=round(defocus_max, 2),
                      lens_sigma_px=round(lens, 2), shake=bool(shake), full_well_e=int(full_e),
                      read_noise_e=round(read_e, 1), demosaic="EA" if ea else "bilinear", awb=round(beta, 2),
                      sharpen=round(amt, 2), jpeg_q=q)
    return photo, cap


# --------------------------------------------------------------------------- detector-like crop

def line_quad(cap: Capture, box_px, n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """A page-px box (x0, y0, x1, y1) through the geometry: (top, bottom) edges, (n, 2) each, photo px."""
    x0, y0, x1, y1 = box_px
    xs = np.linspace(x0, x1, n)
    return cap.to_photo(np.c_[xs, np.full(n, y0)]), cap.to_photo(np.c_[xs, np.full(n, y1)])


def line_crop(photo: np.ndarray, cap: Capture, box_px, room_px=(0.0, 0.0), vroom_px=None, seed=0) -> tuple[np.ndarray, dict]:
    """Cut one line from the photo as a detector would. ``box_px``: the line's box in page px;
    ``room_px``: free space to the neighbouring ink left/right on the same row (page px), never
    crossed; ``vroom_px``: free space to the lines above/below (page px; None = unlimited): the
    crop may take at most ~35 % of a neighbouring line's height. Returns (crop BGR uint8, info)."""
    rng = np.random.default_rng(seed)
    top, bot = line_quad(cap, box_px)
    left, right = (top[0] + bot[0]) / 2, (top[-1] + bot[-1]) / 2
    d = right - left
    ang = math.atan2(d[1], d[0])
    height = float(np.mean(np.hypot(*(bot - top).T)))
    scale = height / max(box_px[3] - box_px[1], 1e-6)      # photo px per page px, locally
    # residual deskew error: the box's end points are uncertain by a fraction of the text
    # height, so a long line's angle is known better than a short one's (at most ±1.5°)
    length = float(np.hypot(*d))
    err = rng.uniform(-1, 1) * min(DESKEW_ERR_DEG, math.degrees(math.atan(0.35 * height / max(length, 1e-6))))
    th = ang + math.radians(err)
    u = np.array([math.cos(th), math.sin(th)])
    nrm = np.array([-u[1], u[0]])
    pts = np.r_[top, bot]
    c = pts.mean(0)
    a, b = (pts - c) @ u, (pts - c) @ nrm
    text_h = float(b.max() - b.min())                       # the text's extent across the crop
    frac = rng.uniform(*TEXT_FRAC)
    extra = text_h / frac - text_h
    up_share = rng.uniform(0, 1)                            # where the text band sits
    ext_up, ext_dn = extra * up_share, extra * (1 - up_share)
    if vroom_px is not None:                               # a detector box holds one line, not two
        lim_up = (max(vroom_px[0], 0) + 0.35 * (box_px[3] - box_px[1])) * scale
        lim_dn = (max(vroom_px[1], 0) + 0.35 * (box_px[3] - box_px[1])) * scale
        ext_up, ext_dn = min(ext_up, lim_up), min(ext_dn, lim_dn)
    b_top = b.min() - ext_up
    ml = min(rng.uniform(0.1, 0.6) * height, 0.45 * max(room_px[0], 0) * scale)
    mr = min(rng.uniform(0.1, 0.6) * height, 0.45 * max(room_px[1], 0) * scale)
    a_left = a.min() - ml
    W = max(2, int(round(a.max() + mr - a_left)))
    Hc = max(2, int(round(text_h + ext_up + ext_dn)))
    # dst (X, Y) -> src = c + (a_left + X) u + (b_top + Y) nrm
    M = np.array([[u[0], nrm[0], c[0] + a_left * u[0] + b_top * nrm[0]],
                  [u[1], nrm[1], c[1] + a_left * u[1] + b_top * nrm[1]]], np.float64)
    crop = cv2.warpAffine(photo, M, (W, Hc), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    info = {"line_px": round(height, 1), "text_frac": round(text_h / Hc, 2), "deskew_err_deg": round(err, 2),
            "angle_deg": round(math.degrees(ang), 2)}
    return crop, info
