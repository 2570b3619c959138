"""How the recogniser batches lines (``slim_ocr.preprocess.width_groups``): char accuracy and
time of each bundle under batches padded to their widest line and batches cut by width ratio.

    python -m bench.batching [--limit 150] [--models crnn,ppocrv6-tiny,DIR] [--ratios 1e9,2,1.5,1.25,1]

The first ``limit`` lines of each subset of ``data/eval`` are handed to the recogniser in
chunks of 32 in file order (as a page's lines come: widths mixed). Each chunk is prepared once,
then recognised with each width ratio (1e9: cut by count only, the batching before; 1: only
lines of equal width share a batch). Time: recognition of all chunks, 1 thread, best of
``--repeat``; the ratio's time is also given as a share of the count-only batching's.
"""
from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

from pruning.evaluation.evalset import load_eval_set, metrics, split_subsets  # noqa: E402
from slim_ocr.recognizer import Recognizer  # noqa: E402

CHUNK = 32


def read(rec: Recognizer, chunks: list[list], ratio: float) -> tuple[list[str], float]:
    """Texts of every prepared line of ``chunks`` and the seconds recognition took."""
    rec.width_ratio = ratio
    t0 = time.perf_counter()
    out = [t for c in chunks for t, _ in rec.recognize_prepared(c)]
    return out, time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--models", default="crnn,ppocrv6-tiny")
    ap.add_argument("--ratios", default="1e9,2,1.5,1.25,1")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    ratios = [float(r) for r in args.ratios.split(",")]
    recs = load_eval_set(limit=args.limit)
    subsets = split_subsets(recs)
    print(f"first {args.limit} lines per subset, chunks of {CHUNK} in file order, 1 thread")
    for name in args.models.split(","):
        rec = Recognizer(name, threads=1)
        chunks = {k: [[rec.prepare(recs[i]["image"]) for i in idx[s:s + CHUNK]] for s in range(0, len(idx), CHUNK)]
                  for k, idx in subsets.items()}
        print(f"\n{rec.name}\n")
        print("| width ratio | " + " | ".join(subsets) + " | seconds | time share |")
        print("|" + "---|" * (len(subsets) + 3))
        base = None
        for ratio in ratios:
            acc, secs = {}, 0.0
            for k, idx in subsets.items():
                best = None
                for _ in range(args.repeat):
                    texts, s = read(rec, chunks[k], ratio)
                    best = s if best is None else min(best, s)
                secs += best
                acc[k] = metrics(texts, [recs[i]["text"] for i in idx])["char_acc"]
            base = base or secs
            label = "count only" if ratio >= 1e6 else f"{ratio:g}"
            print(f"| {label} | " + " | ".join(f"{100 * acc[k]:.1f}" for k in subsets) +
                  f" | {secs:.2f} | {secs / base:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
