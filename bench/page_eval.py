"""Page-level evaluation of the line detector (and the whole OCR engine) on real documents.

Pages come from the Debian documentation PDFs that ``bench/build_eval_set.py`` extracts
to ``data/eval_src/`` (Chinese: maint-guide-zh-cn, debian-reference-zh-cn, debian-faq-zh-cn;
English: maint-guide, debian-policy, linuxcnc-doc-en). A deterministic sample of pages
is rendered at 150 dpi with ``pdftoppm``; the ground truth is the text layer
(``pdftotext -bbox-layout``, parsed by ``build_eval_set.text_layer``): one box and one
text per pdftotext line. Every page also gets a "photo" variant (seeded): the page is
warped by a small rotation (up to 3 degrees) and perspective, often onto a darker
table-like background, with uneven lighting, low contrast, a colour cast, blur,
noise and JPEG compression; the ground-truth boxes go through the same homography.

Detection metrics (boxes compared as quadrilaterals in the image frame):

* ``recall`` / ``precision``: one-to-one greedy matching at IoU >= 0.5;
* ``coverage``: fraction of GT lines with >= 80% of their area inside one detection
  (robust to pdftotext joining/splitting lines differently from the visual line);
* ``merged``: fraction of detections holding >= 2 GT lines (>= 50% of each inside),
  split into ``merged_rows`` (GT lines on different rows: two text lines glued, always
  wrong) and same-row merges (words/cells of one row that pdftotext keeps apart);
* ``split``: fraction of GT lines cut into >= 2 detections;
* ``order_pairs``: fraction of consecutive GT lines (reference order: rows top to
  bottom, left to right within a row, in the page frame) assigned to different
  detections that come out in the right order; ``kendall_tau`` over all such pairs;
* ``det_ms_p50`` / ``det_cpu_ms_p50``: detector wall / thread-CPU time per page (with
  ``OCR_THREADS=1`` OpenCV runs on one thread too; CPU time is less hurt by a busy machine).

With the engine (default; ``--no-ocr`` skips it): ``char_acc`` = 1 - CER of the page
text (predicted lines in output order vs GT lines in reference order, each normalised
with the service's normaliser, joined by one space) and ``ocr_ms_p50``.

    python -m bench.page_eval [--pages 15] [--variant clean|photo|both] [--no-ocr]

Writes ``bench/page_results.json`` and prints a table.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]

from bench.build_eval_set import DOCS, SRC, _wide, doc_pdfs, render_page, text_layer

CACHE = REPO / "data" / "page_eval"
RESULTS = REPO / "bench" / "page_results.json"
DPI = 150
SEED = 20240611
IOU_MIN = 0.5
COVER_MIN = 0.8
LANGS = ("zh", "en")
VARIANTS = ("clean", "photo")


# --------------------------------------------------------------------------- geometry / metrics

def as_quad(q) -> np.ndarray:
    """(4, 2) float32 quadrilateral from a quad or an (x0, y0, x1, y1) box."""
    a = np.asarray(q, np.float32)
    if a.shape == (4,):
        x0, y0, x1, y1 = a
        a = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    return a.reshape(4, 2)


def quad_area(q: np.ndarray) -> float:
    return abs(float(cv2.contourArea(q)))


def quad_inter(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection area of two convex quadrilaterals."""
    if (a[:, 0].max() <= b[:, 0].min() or b[:, 0].max() <= a[:, 0].min()
            or a[:, 1].max() <= b[:, 1].min() or b[:, 1].max() <= a[:, 1].min()):
        return 0.0
    area, _ = cv2.intersectConvexConvex(a, b)
    return max(0.0, float(area))


def overlap_table(gt: list, det: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection matrix (G x D) and the areas of the GT and detected quads."""
    g = [as_quad(q) for q in gt]
    d = [as_quad(q) for q in det]
    inter = np.zeros((len(g), len(d)))
    for i, a in enumerate(g):
        for j, b in enumerate(d):
            inter[i, j] = quad_inter(a, b)
    return inter, np.array([quad_area(q) for q in g]), np.array([quad_area(q) for q in d])


def match_iou(inter: np.ndarray, ga: np.ndarray, da: np.ndarray, thr: float = IOU_MIN) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, highest IoU first, of pairs with IoU >= thr."""
    if inter.size == 0:
        return []
    iou = inter / np.maximum(ga[:, None] + da[None, :] - inter, 1e-9)
    pairs = sorted(((iou[i, j], i, j) for i, j in zip(*np.nonzero(iou >= thr))), reverse=True)
    used_g, used_d, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_g and j not in used_d:
            used_g.add(i)
            used_d.add(j)
            out.append((int(i), int(j)))
    return sorted(out)


def reading_order(boxes: list) -> list[int]:
    """Reference order of axis-aligned boxes (x0, y0, x1, y1): rows top to bottom (a box
    joins the current row when it overlaps the row's vertical span by half its own or
    the row's height), left to right within a row."""
    idx = sorted(range(len(boxes)), key=lambda i: (boxes[i][1] + boxes[i][3]) / 2)
    rows: list[list[int]] = []
    span = (0.0, 0.0)
    for i in idx:
        y0, y1 = boxes[i][1], boxes[i][3]
        if rows:
            ov = min(y1, span[1]) - max(y0, span[0])
            if ov >= 0.5 * min(y1 - y0, span[1] - span[0]):
                rows[-1].append(i)
                span = (min(span[0], y0), max(span[1], y1))
                continue
        rows.append([i])
        span = (y0, y1)
    return [i for r in rows for i in sorted(r, key=lambda i: boxes[i][0])]


def page_metrics(gt: list, det: list, gt_order: list[int] | None = None) -> dict:
    """Detection counts of one page. ``gt``/``det``: quads or boxes; ``det`` in output
    (reading) order; ``gt_order``: indices of ``gt`` in reference reading order."""
    G, D = len(gt), len(det)
    res = {"n_gt": G, "n_det": D, "matched": 0, "covered": 0, "merged": 0, "merged_rows": 0,
           "split": 0, "order_ok": 0, "order_n": 0, "tau_c": 0, "tau_d": 0}
    if G == 0 or D == 0:
        return res
    inter, ga, da = overlap_table(gt, det)
    res["matched"] = len(match_iou(inter, ga, da))
    frac_g = inter / np.maximum(ga[:, None], 1e-9)   # share of each GT line inside each detection
    frac_d = inter / np.maximum(da[None, :], 1e-9)   # share of each detection inside each GT line
    res["covered"] = int((frac_g.max(axis=1) >= COVER_MIN).sum())
    # merges: detections holding >= 2 GT lines
    gq = [as_quad(q) for q in gt]
    gy = [(q[:, 1].min(), q[:, 1].max()) for q in gq]
    for j in range(D):
        inside = np.flatnonzero(frac_g[:, j] >= 0.5)
        if inside.size >= 2:
            res["merged"] += 1
            if any(min(gy[a][1], gy[b][1]) - max(gy[a][0], gy[b][0]) < 0.3 * min(gy[a][1] - gy[a][0], gy[b][1] - gy[b][0])
                   for k, a in enumerate(inside) for b in inside[k + 1:]):
                res["merged_rows"] += 1
    # splits: GT lines cut into >= 2 fragments (detections mostly inside the line)
    res["split"] = int((((frac_d >= 0.4) & (frac_g >= 0.1)).sum(axis=1) >= 2).sum())
    # reading order: GT line -> the detection holding most of it (>= 50%)
    order = list(range(G)) if gt_order is None else list(gt_order)
    assign = {i: int(np.argmax(frac_g[i])) for i in range(G) if frac_g[i].max() >= 0.5}
    seq = [assign[i] for i in order if i in assign]
    for a, b in zip(seq, seq[1:]):
        if a != b:
            res["order_n"] += 1
            res["order_ok"] += a < b
    for k in range(len(seq)):
        for m in range(k + 1, len(seq)):
            if seq[k] != seq[m]:
                if seq[k] < seq[m]:
                    res["tau_c"] += 1
                else:
                    res["tau_d"] += 1
    return res


def summarize(rows: list[dict]) -> dict:
    """Pooled metrics over pages (sums of counts, then ratios)."""
    s = {k: sum(r[k] for r in rows) for k in ("n_gt", "n_det", "matched", "covered", "merged", "merged_rows",
                                               "split", "order_ok", "order_n", "tau_c", "tau_d")}
    out = {"pages": len(rows), "gt_lines": s["n_gt"], "detections": s["n_det"],
           "recall": s["matched"] / max(1, s["n_gt"]), "precision": s["matched"] / max(1, s["n_det"]),
           "coverage": s["covered"] / max(1, s["n_gt"]),
           "merged": s["merged"] / max(1, s["n_det"]), "merged_rows": s["merged_rows"] / max(1, s["n_det"]),
           "split": s["split"] / max(1, s["n_gt"]),
           "order_pairs": s["order_ok"] / max(1, s["order_n"]),
           "kendall_tau": (s["tau_c"] - s["tau_d"]) / max(1, s["tau_c"] + s["tau_d"])}
    for key in ("det_ms", "det_cpu_ms", "ocr_ms"):
        vals = [r[key] for r in rows if r.get(key) is not None]
        if vals:
            out[f"{key}_p50"] = float(np.median(vals))
            out[f"{key}_max"] = float(np.max(vals))
    if any("edits" in r for r in rows):
        for suffix in ("", "_nospace"):
            e = sum(r["edits" + suffix] for r in rows if "edits" in r)
            n = sum(r["chars" + suffix] for r in rows if "edits" in r)
            out["char_acc" + suffix] = max(0.0, 1.0 - e / max(1, n))
    return out


# --------------------------------------------------------------------------- pages

@dataclass
class PageRef:
    doc: str
    lang: str
    pdf: Path
    page: int

    @property
    def key(self) -> str:
        return f"{self.doc}/{self.pdf.stem}/{self.page}"


def line_text(words) -> str:
    """A pdftotext line's words joined as typeset: no space between two CJK words."""
    out = ""
    for w in words:
        if out and not (_wide(out[-1]) and _wide(w.text[0])):
            out += " "
        out += w.text
    return out


def select_pages(per_lang: int, src: Path = SRC) -> list[PageRef]:
    """``per_lang`` pages per language, spread evenly over its documents, chosen by hash
    among pages with >= 8 text lines (deterministic)."""
    out = []
    for lang in LANGS:
        docs = [d for d in DOCS if d.lang == lang]
        pools = []
        for d in docs:
            pool = []
            for pdf in doc_pdfs(d, src):
                for p in text_layer(pdf, src):
                    if len(p.lines) >= 8:
                        pool.append(PageRef(d.name, lang, pdf, p.number))
            pool.sort(key=lambda r: zlib.crc32(f"{SEED}/{r.key}".encode()))
            pools.append(pool)
        k = 0
        while len([r for r in out if r.lang == lang]) < per_lang and any(pools):
            pool = pools[k % len(pools)]
            if pool:
                out.append(pool.pop(0))
            k += 1
    return out


def ground_truth(ref: PageRef, src: Path = SRC) -> tuple[list, list[str], tuple[int, int]]:
    """GT line boxes in pixels at DPI (x0, y0, x1, y1), their texts, and the page size in px."""
    page = text_layer(ref.pdf, src)[ref.page - 1]
    s = DPI / 72.0
    W, H = int(round(page.width * s)), int(round(page.height * s))
    boxes, texts = [], []
    for words in page.lines:
        x0, y0 = min(w.x0 for w in words) * s, min(w.y0 for w in words) * s
        x1, y1 = max(w.x1 for w in words) * s, max(w.y1 for w in words) * s
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(W, x1), min(H, y1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue  # off the page
        boxes.append((x0, y0, x1, y1))
        texts.append(line_text(words))
    return boxes, texts, (W, H)


def degrade_page(img: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Camera-like photo of a page (BGR) and the 3x3 homography page px -> photo px.

    Rotation up to 3 degrees and a little perspective; in 2 of 3 pages the sheet lies
    on a darker, textured background that shows around it; a linear light gradient and
    a soft shadow, low contrast and a colour cast, defocus blur, sensor noise, JPEG.
    """
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    on_table = rng.random() < 0.67
    m = rng.uniform(0.03, 0.07) if on_table else rng.uniform(-0.02, 0.0)  # negative: page cropped
    ang = math.radians(rng.uniform(-3.0, 3.0))
    cx, cy = w / 2, h / 2
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]], np.float32)
    dst = (src - [cx, cy]) * (1 - 2 * m) @ rot.T + [cx, cy]
    dst += rng.uniform(-1, 1, (4, 2)).astype(np.float32) * [0.012 * w, 0.012 * h]
    Hm = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    page = cv2.warpPerspective(img.astype(np.float32), Hm, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), Hm, (w, h), flags=cv2.INTER_LINEAR)
    table = np.empty((h, w, 3), np.float32)
    table[:] = rng.uniform(30, 110, 3).astype(np.float32)
    tex = cv2.resize(rng.normal(0, 12, (h // 16 + 1, w // 16 + 1)).astype(np.float32), (w, h))
    table += tex[:, :, None]
    f = page * mask[:, :, None] + table * (1 - mask[:, :, None])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gain = 1.0 + rng.uniform(-0.3, 0.3) * (xx / w - 0.5) + rng.uniform(-0.3, 0.3) * (yy / h - 0.5)
    bx, by, br = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.2, 0.6) * max(w, h)
    gain -= rng.uniform(0.1, 0.35) * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * br ** 2))
    lo, hi = rng.uniform(20, 60), rng.uniform(170, 235)
    f = lo + (hi - lo) * f / 255.0
    f *= np.clip(gain, 0.3, 1.5)[:, :, None] * rng.uniform(0.88, 1.08, 3).astype(np.float32)
    f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.1))
    f += rng.normal(0, rng.uniform(3, 8), f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 81))])
    assert ok
    return enc.tobytes(), Hm


def load_page(ref: PageRef, variant: str, cache: Path = CACHE) -> tuple[bytes, list, list[str], list[int]]:
    """Encoded image bytes, GT quads (image frame), GT texts and the GT reference order."""
    boxes, texts, (W, H) = ground_truth(ref)
    stem = ref.key.replace("/", "__")
    clean_path = cache / f"{stem}__clean.png"
    if not clean_path.exists():
        clean_path.parent.mkdir(parents=True, exist_ok=True)
        img = render_page(ref.pdf, ref.page, DPI)
        cv2.imwrite(str(clean_path), img)
    order = reading_order(boxes)
    quads = [as_quad(b) for b in boxes]
    if variant == "clean":
        return clean_path.read_bytes(), quads, texts, order
    photo_path = cache / f"{stem}__photo.jpg"
    hpath = cache / f"{stem}__photo.npy"
    if not photo_path.exists() or not hpath.exists():
        img = cv2.imread(str(clean_path), cv2.IMREAD_COLOR)
        data, Hm = degrade_page(img, zlib.crc32(f"{SEED}/photo/{ref.key}".encode()))
        photo_path.write_bytes(data)
        np.save(hpath, Hm)
    Hm = np.load(hpath)
    quads = [cv2.perspectiveTransform(q[None], Hm)[0] for q in quads]
    return photo_path.read_bytes(), quads, texts, order


# --------------------------------------------------------------------------- run

def run(per_lang: int = 15, variants=VARIANTS, ocr: bool = True, verbose: bool = True) -> dict:
    from slim_ocr.charset import load_charset  # noqa: PLC0415
    from slim_ocr.detector import detect_lines  # noqa: PLC0415
    from slim_ocr.image_io import decode_image  # noqa: PLC0415

    if os.environ.get("OCR_THREADS"):
        cv2.setNumThreads(int(os.environ["OCR_THREADS"]))  # the detector's OpenCV calls too
    engine = None
    if ocr:
        from slim_ocr.pipeline import OcrEngine  # noqa: PLC0415
        engine = OcrEngine()
    cs = load_charset()
    refs = select_pages(per_lang)
    per_page: list[dict] = []
    for variant in variants:
        for ref in refs:
            data, gt, texts, order = load_page(ref, variant)
            gray = decode_image(data).gray
            detect_lines(gray) if not per_page else None  # warm-up (first call pays imports/allocs)
            t0, c0 = time.perf_counter(), time.thread_time()
            det = detect_lines(gray)
            det_ms = (time.perf_counter() - t0) * 1000
            det_cpu_ms = (time.thread_time() - c0) * 1000
            quads = [det.quad(b) for b in det.lines]
            row = {"page": ref.key, "lang": ref.lang, "variant": variant, "det_ms": det_ms, "det_cpu_ms": det_cpu_ms,
                   **page_metrics(gt, quads, order)}
            if engine is not None:
                t0 = time.perf_counter()
                res = engine.run_bytes(data, mode="page")
                row["ocr_ms"] = (time.perf_counter() - t0) * 1000
                pred = " ".join(t for t in (cs.normalize(x.text) for x in res.lines) if t)
                ref_text = " ".join(t for t in (cs.normalize(texts[i]) for i in order) if t)
                for suffix, (p, t) in (("", (pred, ref_text)),
                                       ("_nospace", (pred.replace(" ", ""), ref_text.replace(" ", "")))):
                    row["chars" + suffix] = len(t)
                    row["edits" + suffix] = _edits(p, t)
            per_page.append(row)
            if verbose:
                print(f"  {variant:5s} {ref.key:45s} gt={row['n_gt']:3d} det={row['n_det']:3d} "
                      f"match={row['matched']:3d} cov={row['covered']:3d} mrg={row['merged']:2d}/"
                      f"{row['merged_rows']:2d} split={row['split']:2d} {det_ms:6.1f} ms", flush=True)
    summary = {}
    for variant in variants:
        for lang in LANGS:
            sub = [r for r in per_page if r["variant"] == variant and r["lang"] == lang]
            if sub:
                summary[f"{lang}/{variant}"] = summarize(sub)
    summary["all"] = summarize(per_page)
    return {"dpi": DPI, "pages_per_lang": per_lang, "ocr": ocr,
            "threads": os.environ.get("OCR_THREADS"), "summary": summary, "pages": per_page}


def _edits(p: str, t: str) -> int:
    from rapidfuzz.distance import Levenshtein  # noqa: PLC0415
    return int(Levenshtein.distance(p, t))


COLUMNS = (("recall", "{:.3f}"), ("precision", "{:.3f}"), ("coverage", "{:.3f}"), ("merged", "{:.3f}"),
           ("merged_rows", "{:.3f}"), ("split", "{:.3f}"), ("order_pairs", "{:.3f}"), ("kendall_tau", "{:.3f}"),
           ("det_ms_p50", "{:.1f}"), ("det_cpu_ms_p50", "{:.1f}"), ("char_acc", "{:.3f}"), ("ocr_ms_p50", "{:.0f}"))


def table(summary: dict) -> str:
    head = f"{'subset':10s} {'pages':>5s} {'gt':>5s} {'det':>5s} " + " ".join(f"{c[:11]:>11s}" for c, _ in COLUMNS)
    lines = [head]
    for key, s in summary.items():
        cells = " ".join(f"{(fmt.format(s[c]) if c in s else '-'):>11s}" for c, fmt in COLUMNS)
        lines.append(f"{key:10s} {s['pages']:5d} {s['gt_lines']:5d} {s['detections']:5d} {cells}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=15, help="pages per language")
    ap.add_argument("--variant", choices=("clean", "photo", "both"), default="both")
    ap.add_argument("--no-ocr", action="store_true", help="detector only (skip the recogniser)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    res = run(args.pages, variants, ocr=not args.no_ocr, verbose=not args.quiet)
    args.out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print(table(res["summary"]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
