"""What cutting a one-line image to its text does (``slim_ocr.pipeline.OcrEngine.tighten_line``,
the line path with the DB detector), on the evaluation lines as they are and with wide margins.

    python -m bench.line_tightening [--limit 150] [--margin 0.8]

Each line of the first ``limit`` per subset of ``data/eval`` is read by the default recogniser
(1) as it is, (2) tightened, (3) padded with background by ``margin`` x its height on every side
(a loose crop, as a user's own cutting leaves) and read as it is, (4) padded and tightened.
Prints char accuracy per subset.
"""
from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OCR_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pruning.evaluation.evalset import load_eval_set, score  # noqa: E402
from slim_ocr.pipeline import OcrEngine  # noqa: E402
from slim_ocr.preprocess import to_bgr, to_gray  # noqa: E402


def loose(img, margin: float):
    """The crop with ``margin`` x its height of background added on every side: the median of
    its border pixels (a margin of paper, as a loose cut leaves; replicating the edge would
    smear the ink that touches it into stripes)."""
    p = max(1, int(round(margin * img.shape[0])))
    edge = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    value = np.median(edge, axis=0).tolist() if img.ndim == 3 else float(np.median(edge))
    return cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_CONSTANT, value=value)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--margin", type=float, default=0.8)
    args = ap.parse_args(argv)
    engine = OcrEngine(detector="db")
    rec = engine.recognizer
    recs = load_eval_set(limit=args.limit)

    def read(imgs, tighten: bool, margin: float = 0.0):
        imgs = [loose(i, margin) if margin else i for i in imgs]
        if tighten:
            imgs = [engine.tighten_line(to_bgr(i), to_gray(i) if rec.spec.channels == 1 else to_bgr(i)) for i in imgs]
        return [t for t, _ in rec.recognize(imgs)]

    runs = {"as cut": lambda x: read(x, False), "tightened": lambda x: read(x, True),
            f"+{args.margin:g}h margins": lambda x: read(x, False, args.margin),
            f"+{args.margin:g}h margins, tightened": lambda x: read(x, True, args.margin)}
    res = {name: score(fn, recs) for name, fn in runs.items()}
    subsets = list(next(iter(res.values())))
    print(f"recogniser {rec.name}, detector {engine.db.name}, first {args.limit} lines per subset")
    print("| lines | " + " | ".join(subsets) + " |")
    print("|---|" + "---:|" * len(subsets))
    for name, r in res.items():
        print(f"| {name} | " + " | ".join(f"{100 * r[k]['char_acc']:.1f}" for k in subsets) + " |")


if __name__ == "__main__":
    main()
