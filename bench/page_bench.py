"""Whole-page OCR on the page-level evaluation set (``bench/page_set.py``): our engine vs RapidOCR.

Systems, side by side in the same run, each on one thread, each given the stored image's
bytes (decoding included in the time):

* ``ours``: ``slim_ocr.pipeline.OcrEngine()`` (the default bundle) ``run_bytes(data, mode="page")``:
  the classical line detector + the recogniser;
* ``rapidocr``: RapidOCR's full pipeline (``rapidocr-onnxruntime==1.4.4``: PP-OCRv4 DB
  detector + angle classifier + PP-OCRv4 recogniser, the package's default settings),
  ``intra_op_num_threads=1``, ``inter_op_num_threads=1``.

Metrics per subset (pooled over its pages) and per page tag (failure kinds such as
``dashed``, ``bubbles``, ``dark``, ``icons``, ``callout``, ``photo_uneven_light``):

* ``f1`` / ``char_p`` / ``char_r``: bag-of-characters F1 - the multiset of non-space
  characters of the page text, each line normalised with the service's normaliser
  (``slim_ocr.charset.load_charset().normalize``), predicted vs ground truth;
* ``recall`` / ``precision``: lines matched one-to-one at IoU >= 0.5
  (``bench.page_eval.page_metrics``; GT boxes are the lines' ink boxes, quads on photos).
  GT lines whose normalised text is empty (symbols outside the charset) are "don't care":
  not counted, and a detection matching one is dropped;
* ``cer``: character error rate of the page text in reading order (predicted lines in
  output order vs GT lines in reference order, normalised, spaces removed:
  Levenshtein / GT length; ``cer_sp`` keeps single spaces between lines and words);
* ``ms_p50`` / ``ms_mean``: wall time per page; ``cpu_ms_*``: the calling thread's CPU time
  (with one thread everything runs on it; less hurt by other jobs on a shared machine).

    python -m bench.page_bench [--systems ours,rapidocr] [--subsets doc_zh,...] [--limit N] [--out F]
    python -m bench.page_bench --merge A.json B.json ...   # runs over disjoint subsets -> one result

Prints the tables and writes ``bench/page_bench.json``.
"""
from __future__ import annotations

import os

if __name__ == "__main__":        # one thread, set before numpy / OpenCV / onnxruntime start theirs
    os.environ.setdefault("OCR_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.page_eval import _edits, as_quad, match_iou, overlap_table, page_metrics, summarize  # noqa: E402
from bench.page_set import OUT, SUBSETS, list_pages, load_page  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "page_bench.json"
SYSTEM_NAMES = ("ours", "rapidocr")


# --------------------------------------------------------------------------- metrics

def bag(texts, normalize) -> Counter:
    """Multiset of the non-space characters of the normalised texts."""
    c = Counter()
    for t in texts:
        c.update(ch for ch in normalize(t) if not ch.isspace())
    return c


def bag_counts(pred: Counter, gt: Counter) -> dict:
    """Counts for pooled bag-of-characters precision/recall: common, predicted, reference."""
    return {"bag_common": sum((pred & gt).values()), "bag_pred": sum(pred.values()), "bag_gt": sum(gt.values())}


def f1_of(common: int, n_pred: int, n_gt: int) -> tuple[float, float, float]:
    p = common / n_pred if n_pred else (1.0 if n_gt == 0 else 0.0)
    r = common / n_gt if n_gt else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def page_text(texts, normalize, spaces: bool) -> str:
    parts = [t for t in (normalize(x) for x in texts) if t]
    s = " ".join(parts)
    return s if spaces else s.replace(" ", "")


def drop_dont_care(gt_quads: list, gt_ok: list[bool], det: list) -> tuple[list, list[int]]:
    """GT quads to score and the indices of detections kept (those matching a don't-care GT
    line at IoU >= 0.5 are dropped)."""
    dc = [q for q, ok in zip(gt_quads, gt_ok) if not ok]
    keep = list(range(len(det)))
    if dc and det:
        inter, ga, da = overlap_table(dc, det)
        gone = {j for _, j in match_iou(inter, ga, da)}
        keep = [j for j in keep if j not in gone]
    return [q for q, ok in zip(gt_quads, gt_ok) if ok], keep


def score_page(gt_lines: list[dict], pred: list[tuple[list, str]], normalize) -> dict:
    """All counts of one page. ``gt_lines``: stored lines (reference order, ``quad`` or ``box``,
    ``text``); ``pred``: (quad, text) in the system's output order."""
    gq = [as_quad(ln["quad"] if "quad" in ln else ln["box"]) for ln in gt_lines]
    ok = [bool(normalize(ln["text"])) for ln in gt_lines]
    dq = [as_quad(q) for q, _ in pred]
    gq_scored, keep = drop_dont_care(gq, ok, dq)
    row = page_metrics(gq_scored, [dq[j] for j in keep])
    gt_texts = [ln["text"] for ln in gt_lines]
    pr_texts = [t for _, t in pred]
    row.update(bag_counts(bag(pr_texts, normalize), bag(gt_texts, normalize)))
    for suffix, spaces in (("_nospace", False), ("", True)):   # page_eval's keys
        ref = page_text(gt_texts, normalize, spaces)
        hyp = page_text(pr_texts, normalize, spaces)
        row["chars" + suffix] = len(ref)
        row["edits" + suffix] = _edits(hyp, ref)
    return row


def pool(rows: list[dict]) -> dict:
    """Pooled metrics of a group of page rows (sums of counts, then ratios)."""
    s = summarize(rows)
    out = {k: s[k] for k in ("pages", "gt_lines", "detections", "recall", "precision", "coverage", "merged_rows",
                             "split")}
    c, n_p, n_g = (sum(r[k] for r in rows) for k in ("bag_common", "bag_pred", "bag_gt"))
    out["char_p"], out["char_r"], out["f1"] = f1_of(c, n_p, n_g)
    for key, suffix in (("cer", "_nospace"), ("cer_sp", "")):
        e, n = sum(r["edits" + suffix] for r in rows), sum(r["chars" + suffix] for r in rows)
        out[key] = e / max(1, n)
    for key in ("ms", "cpu_ms"):
        vals = [r[key] for r in rows]
        out[f"{key}_p50"], out[f"{key}_mean"] = float(np.median(vals)), float(np.mean(vals))
    out["f1_page_mean"] = float(np.mean([f1_of(r["bag_common"], r["bag_pred"], r["bag_gt"])[2] for r in rows]))
    return out


# --------------------------------------------------------------------------- systems

class Ours:
    """``ours``: the engine as configured (OCR_MODEL, OCR_DETECTOR); ``ours-db`` / ``ours-db:<bundle
    dir or name>``: the same recogniser behind the DB detector; ``ours-classical``; a suffix
    ``@0.6`` sets the minimum line confidence."""
    name = "ours"

    def __init__(self, spec: str = "ours"):
        from slim_ocr.pipeline import OcrEngine  # noqa: PLC0415
        spec, _, conf = spec.partition("@")          # "...@0.6": the minimum line confidence
        kind, _, model = spec.partition(":")
        detector = {"ours": None, "ours-db": "db", "ours-classical": "classical"}[kind]
        self.name = spec + (f"@{conf}" if conf else "")
        self.engine = OcrEngine(detector=detector, db_model=model or None, min_confidence=float(conf) if conf else None)
        db = f" {self.engine.db.name}" if self.engine.detector == "db" else ""
        self.desc = f"slim_ocr OcrEngine (bundle {self.engine.model_name}, detector {self.engine.detector}{db}), mode=page"

    def __call__(self, data: bytes) -> list[tuple[list, str]]:
        res = self.engine.run_bytes(data, mode="page")
        return [(ln.box, ln.text) for ln in res.lines]


class Rapid:
    name = "rapidocr"

    def __init__(self, threads: int = 1):
        from rapidocr_onnxruntime import RapidOCR  # noqa: PLC0415
        self.engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
        for mod in (self.engine.text_det, self.engine.text_cls, self.engine.text_rec):   # check the setting held
            wrapper = getattr(mod, "infer", None) or getattr(mod, "session")
            assert wrapper.session.get_session_options().intra_op_num_threads == threads, type(mod).__name__
        from importlib.metadata import version  # noqa: PLC0415
        self.desc = (f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} (PP-OCRv4 det + cls + rec), "
                     f"{threads} thread")

    def __call__(self, data: bytes) -> list[tuple[list, str]]:
        res, _ = self.engine(data)
        return [(np.asarray(box, np.float32).reshape(4, 2).tolist(), text) for box, text, _score in (res or [])]


def make_system(name: str):
    return Rapid() if name == "rapidocr" else Ours(name)


# --------------------------------------------------------------------------- run

def turn_page(data: bytes, meta: dict, k: int) -> tuple[bytes, dict]:
    """The page turned ``k`` quarter turns counter-clockwise (``np.rot90``), re-encoded in its
    format, with its ground-truth quads moved alike: a scan fed sideways or upside down."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    h, w = img.shape[:2]
    turned = np.ascontiguousarray(np.rot90(img, k))
    ext = ".jpg" if data[:2] == b"\xff\xd8" else ".png"
    ok, buf = cv2.imencode(ext, turned, [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else [])
    assert ok

    def move(q):
        p = np.asarray(as_quad(q), np.float64)
        x, y = p[:, 0], p[:, 1]
        out = {1: (y, w - x), 2: (w - x, h - y), 3: (h - y, x)}[k % 4]
        return np.stack(out, 1).tolist()

    lines = [{**{k2: v for k2, v in ln.items() if k2 not in ("quad", "box")},
              "quad": move(ln["quad"] if "quad" in ln else ln["box"])} for ln in meta["lines"]]
    return buf.tobytes(), {**meta, "lines": lines}


def run(systems=SYSTEM_NAMES, subsets=tuple(SUBSETS), limit: int | None = None, root: Path = OUT,
        verbose: bool = True, turns: int = 0) -> dict:
    from slim_ocr.charset import load_charset  # noqa: PLC0415

    cv2.setNumThreads(int(os.environ.get("OCR_THREADS", "1")))
    normalize = load_charset().normalize
    pages = [(s, pid) for s, pid in list_pages(root) if s in subsets]
    if limit:
        pages = [p for s in subsets for p in [q for q in pages if q[0] == s][:limit]]
    engines = {n: make_system(n) for n in systems}
    warm, _ = load_page(*pages[0], root) if pages else (None, None)
    for eng in engines.values():       # warm-up: first-call allocations are not a page's time
        eng(warm)
    rows = []
    t_start = time.perf_counter()
    for subset, pid in pages:
        data, meta = load_page(subset, pid, root)
        if turns % 4:
            data, meta = turn_page(data, meta, turns)
        for name, eng in engines.items():
            t0, c0 = time.perf_counter(), time.thread_time()
            pred = eng(data)
            ms, cpu_ms = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
            row = {"page": f"{subset}/{pid}", "subset": subset, "system": name, "tags": meta["tags"], "ms": ms,
                   "cpu_ms": cpu_ms,
                   **score_page(meta["lines"], pred, normalize)}
            rows.append(row)
            if verbose:
                p, r, f = f1_of(row["bag_common"], row["bag_pred"], row["bag_gt"])
                print(f"  {subset}/{pid} {name:8s} gt={row['n_gt']:3d} det={row['n_det']:3d} match={row['matched']:3d} "
                      f"F1={f:.3f} CER={row['edits_nospace'] / max(1, row['chars_nospace']):.3f} {ms:7.0f} ms  "
                      f"[{time.perf_counter() - t_start:.0f} s]", flush=True)
    res = {"date": _dt.date.today().isoformat(), "command": "python -m bench.page_bench " + " ".join(sys.argv[1:]),
           "threads": int(os.environ.get("OCR_THREADS", "1")),
           "machine": f"{os.cpu_count()} CPUs, {platform.machine()}",
           "systems": {n: e.desc for n, e in engines.items()}, "pages": rows}
    return aggregate(res)


def aggregate(res: dict) -> dict:
    """``summary`` (per subset, and ``all``) and ``by_tag`` of a result's page rows."""
    rows = res["pages"]
    systems = list(res["systems"])
    subsets = [s for s in SUBSETS if any(r["subset"] == s for r in rows)]
    summary = {}
    for subset in subsets + ["all"]:
        for name in systems:
            sel = [r for r in rows if r["system"] == name and (subset == "all" or r["subset"] == subset)]
            if sel:
                summary.setdefault(subset, {})[name] = pool(sel)
    by_tag = {}
    for tag in sorted({t for r in rows for t in r["tags"]}):
        for name in systems:
            sel = [r for r in rows if r["system"] == name and tag in r["tags"]]
            if sel:
                by_tag.setdefault(tag, {})[name] = pool(sel)
    return {**res, "summary": summary, "by_tag": by_tag}


def merge(parts: list[dict]) -> dict:
    """One result from runs over disjoint subsets (same systems), e.g. to keep each job short."""
    systems = parts[0]["systems"]
    for p in parts[1:]:
        if p["systems"] != systems:
            raise ValueError("runs of different systems cannot be merged")
    rows = [r for p in parts for r in p["pages"]]
    keys = [(r["page"], r["system"]) for r in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("the runs overlap")
    cmds = [p["command"] for p in parts]
    return aggregate({**parts[0], "command": " && ".join(cmds), "pages": rows})


def table(groups: dict, systems, first_col: str = "subset") -> str:
    cols = (("f1", "F1", "{:.3f}"), ("recall", "lineR", "{:.3f}"), ("precision", "lineP", "{:.3f}"),
            ("cer", "CER", "{:.3f}"), ("ms_p50", "ms/p", "{:.0f}"), ("cpu_ms_p50", "cpu/p", "{:.0f}"))
    head1 = f"{'':18s} {'':>5s} {'':>5s} " + " | ".join(f"{s:^{6 * len(cols) + len(cols) - 1}s}" for s in systems)
    head2 = f"{first_col:18s} {'pages':>5s} {'lines':>5s} " + " | ".join(
        " ".join(f"{c[1]:>6s}" for c in cols) for _ in systems)
    out = [head1, head2]
    for key, per in groups.items():
        any_s = next(iter(per.values()))
        cells = " | ".join(" ".join(f"{fmt.format(per[s][k]):>6s}" if s in per else f"{'-':>6s}" for k, _, fmt in cols)
                           for s in systems)
        out.append(f"{key:18s} {any_s['pages']:5d} {any_s['gt_lines']:5d} {cells}")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default=",".join(SYSTEM_NAMES))
    ap.add_argument("--subsets", default=",".join(SUBSETS))
    ap.add_argument("--limit", type=int, default=None, help="first N pages per subset")
    ap.add_argument("--rotate", type=int, default=0, choices=(0, 90, 180, 270),
                    help="turn every page counter-clockwise by this many degrees first (orientation check)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                    help="combine results of runs over disjoint subsets instead of running")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.merge:
        res = merge([json.loads(p.read_text()) for p in args.merge])
        systems = tuple(res["systems"])
    else:
        systems = tuple(s for s in args.systems.split(",") if s)
        res = run(systems, tuple(s for s in args.subsets.split(",") if s), args.limit, verbose=not args.quiet,
                  turns=args.rotate // 90)
    args.out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    print(table(res["summary"], systems))
    print()
    print(table(res["by_tag"], systems, "tag"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
