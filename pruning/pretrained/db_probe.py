"""Choose a DB detector's probe rule (``slim_ocr.contract.DBProbe``) on training pages.

    python -m pruning.pretrained.db_probe --pages 600:900     # table + reports/db_probe.json

Pages come from the data engine's page cache (training pages; never the page set or the
evaluation documents), each as it is, as a screenshot or as a photograph (``camera``), the
tall ones cut to a screen's height. For each page: the DB boxes at full input size and at the
probe's scale, the probe's smallest box (probe-input px), whether text-like edges are left outside its
boxes (``slim_ocr.db_detector.probe_holds``), and the labelled lines (2+ characters) the full-size boxes find that
the probe's do not (a line is found when a box holds its centre). Then, per rule, the share
of pages whose probe stands, the lines lost on those pages, and the detection time left
(probe + full where the probe does not stand, against full always; 1-thread network time).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from slim_ocr.contract import DBProbe
from slim_ocr.db_detector import DBDetector, probe_holds

from pruning import REPO
from pruning.dataengine import camera
from pruning.dataengine.html_pages import PageCache

SCREEN_H = 1400
RULES = [(b, t) for b in (7.0, 8.0, 9.0, 10.0, 12.0) for t in (3, 4, 6)]


def page_views(seeds: list[int], rng: np.random.Generator):
    """(kind, image, [(quad, text)]) per cached page: as it is, screenshot or photograph in turn."""
    cache = PageCache()
    for i, seed in enumerate(seeds):
        if not cache.has(seed):
            continue
        img, meta = cache.get(seed, render_missing=False)
        fs = float(np.median([ln["fs"] for ln in meta["lines"]])) if meta["lines"] else 16.0
        kind = ("clean", "screenshot", "photo")[i % 3]
        crop_h = min(img.shape[0], SCREEN_H)
        lines = [ln for ln in meta["lines"] if len(ln["text"].strip()) >= 2 and ln["box"][3] <= crop_h]
        img = img[:crop_h]
        H = np.eye(3)
        if kind == "photo":
            shot = camera.photograph(img, rng, 1.0, meta.get("surface", "paper"), fs)
            img, H = shot.image, shot.H
        elif kind == "screenshot":
            shot = camera.screenshot(img, rng, 1.0, fs)
            img, H = shot.image, shot.H
        quads = []
        for ln in lines:
            x0, y0, x1, y1 = ln["box"]
            quads.append(camera.map_points(H, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        yield f"{seed}:{meta['template']}:{kind}", img, quads


def found(boxes, quads) -> np.ndarray:
    """For each labelled line (quad), whether one of ``boxes`` holds its centre."""
    out = np.zeros(len(quads), bool)
    for i, q in enumerate(quads):
        c = tuple(float(v) for v in np.asarray(q).mean(0))
        out[i] = any(cv2.pointPolygonTest(b.quad.reshape(-1, 1, 2), c, False) >= 0 for b in boxes)
    return out


def measure(seeds: list[int], scale: float = 0.5, seed: int = 0) -> list[dict]:
    det = DBDetector(threads=1)
    rows = []
    for name, img, quads in page_views(seeds, np.random.default_rng(seed)):
        h, w = img.shape[:2]
        full_img = det.resized(img)
        t = time.perf_counter()
        prob = det.probability_at(full_img)
        t_full = time.perf_counter() - t
        full = det.boxes(prob, w / prob.shape[1], h / prob.shape[0], w, h)
        small = det.resized(img, scale)
        t = time.perf_counter()
        prob_s = det.probability_at(small)
        t_probe = time.perf_counter() - t
        probe = det.boxes(prob_s, w / prob_s.shape[1], h / prob_s.shape[0], w, h)
        f_full, f_probe = found(full, quads), found(probe, quads)
        rows.append({"page": name, "lines": len(quads), "full_found": int(f_full.sum()),
                     "lost": int((f_full & ~f_probe).sum()), "probe_boxes": len(probe),
                     "ms_full": 1000 * t_full, "ms_probe": 1000 * t_probe,
                     "holds": {f"{b}/{t}": bool(probe) and probe_holds(probe, full_img, w / full_img.shape[1],
                                                                    h / full_img.shape[0],
                                                                    DBProbe(scale=scale, min_box_px=b, min_text_px=t))
                               for b, t in RULES}})
        print(f"  {name:28s} lines {len(quads):3d} full {int(f_full.sum()):3d} lost {rows[-1]['lost']:2d} "
              f"{rows[-1]['ms_full']:6.1f} / {rows[-1]['ms_probe']:5.1f} ms", flush=True)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    full_ms = sum(r["ms_full"] for r in rows)
    out = []
    for b, t in RULES:
        k = f"{b}/{t}"
        held = [r for r in rows if r["holds"][k]]
        ms = sum(r["ms_probe"] + (0 if r["holds"][k] else r["ms_full"]) for r in rows)
        out.append({"min_box_px": b, "min_text_px": t, "pages_held": len(held), "pages": len(rows),
                    "lines_lost": sum(r["lost"] for r in held), "lines_found_full": sum(r["full_found"] for r in rows),
                    "pages_losing": sum(1 for r in held if r["lost"]), "time_vs_full": ms / full_ms})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", default="600:900", help="page-cache seeds a:b")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=REPO / "reports" / "db_probe.json")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    a, b = (int(x) for x in args.pages.split(":"))
    rows = measure(list(range(a, b)), args.scale)
    summ = summary(rows)
    print("| min box px | min text px | pages held | lines lost (pages) | detect time vs full |")
    print("|---:|---:|---:|---:|---:|")
    for s in summ:
        print(f"| {s['min_box_px']:g} | {s['min_text_px']} | {s['pages_held']} / {s['pages']} | "
              f"{s['lines_lost']} of {s['lines_found_full']} ({s['pages_losing']}) | {s['time_vs_full']:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": "python -m pruning.pretrained.db_probe " + " ".join(sys.argv[1:] if argv is None else argv),
                                    "scale": args.scale, "summary": summ, "pages": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
