"""Stage 4: fine-tune the pruned student with knowledge distillation from the base.

loss = CTC(student, labels) + kd_weight * T^2 * KL(softmax(teacher/T) || softmax(student/T)),
the KL per output time step, averaged over each line's valid steps; batches from the
synthetic line stream (``pruning.training.data.SyntheticLines``, another seed than training)
or, with ``--data engine``, from the capture-like data engine (``EngineLines``, ``--engine-mix``).

Schedules (``DistillSettings.schedule``, ``--schedule``):
* ``oneshot``   -- the stage-3 model (``<work>/pruned.pt``), fine-tuned for the whole budget;
  checkpointed every ``--ckpt-every`` seconds to ``<work>/distill_oneshot.ckpt``, so that a
  long run that was stopped continues where it was when started again with the same settings;
* ``iterative`` -- ``--iter-steps`` rounds of (re-plan from the student's current gammas
  towards an interpolated target, cut, fine-tune budget/rounds);
* ``both``      -- each of the above on half the budget, scored on the held-out-font
  set; the winner is kept and the comparison written to ``<out>/distill.json``.

Writes ``<work>/student.pt`` (+ ``student_<schedule>.pt``).
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from pruning.compression import artefacts, measure
from pruning.compression.core.plan import make_plan, rnn_ratios
from pruning.compression.core.groups import describe, group_sizes
from pruning.compression.core.surgery import apply_keep
from pruning.training.checkpoint import grow_head, save_atomic
from pruning.training.data import ENGINE_MIX, Curriculum, EngineLines, SyntheticLines, parse_mix
from pruning.evaluation.predict import evaluate
from pruning.training.optim import make_optimizer


@dataclass
class DistillSettings:
    schedule: str = field(default="oneshot", metadata={
        "choices": ["oneshot", "iterative", "both"],
        "help": "'both' splits the budget and keeps the winner (oneshot won: schedule_comparison.json)"})
    iter_steps: int = field(default=3, metadata={"help": "prune/fine-tune rounds of the iterative schedule"})
    budget_min: float = field(default_factory=lambda: float(os.environ.get("PRUNE_BUDGET", 10)), metadata={
        "help": "fine-tuning minutes in all (env PRUNE_BUDGET); 'both' gives each schedule half"})
    max_steps: int = field(default=0, metadata={"help": "cap on fine-tuning steps per schedule (0: none)"})
    batch_size: int = 16
    lr: float = 4e-4
    kd_temp: float = 2.0
    kd_weight: float = field(default=1.0, metadata={"help": "weight of T^2 * KL(teacher || student)"})
    workers: int = field(default=0, metadata={"help": "DataLoader workers rendering lines"})
    init_student: str | None = field(default=None, metadata={
        "help": "one-shot: fine-tune this pruned checkpoint (e.g. models/pruned/student.pt, to go on "
                "distilling a finished run) instead of the stage-3 model"})
    ckpt_every: float = field(default=300, metadata={"help": "seconds between resumable one-shot checkpoints"})
    data: str = field(default="synthetic", metadata={
        "choices": ["synthetic", "engine"],
        "help": "training lines: the Pillow renderer's stream, or the capture-like data engine (make pages first)"})
    engine_mix: str = field(default=ENGINE_MIX, metadata={"help": "source=weight,... of the data engine"})
    engine_pages: int = field(default=600, metadata={"help": "cached Chromium page seeds to cut lines from"})


# Where a distilled student started, as its history records it ("from"), when not --init-student.
FROM_SURGERY, FROM_ROUNDS = "stage-3 surgery", "the base, cut in rounds"


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, lengths: torch.Tensor, temp: float) -> torch.Tensor:
    """T^2 * mean over valid (t, b) of KL(teacher_T || student_T); logits (T, B, C)."""
    steps = student.shape[0]
    mask = (torch.arange(steps)[:, None] < lengths.clamp(max=steps)[None, :]).to(student.dtype)
    logp_s = F.log_softmax(student / temp, dim=-1)
    logp_t = F.log_softmax(teacher / temp, dim=-1)
    kl = (logp_t.exp() * (logp_t - logp_s)).sum(-1)
    return (kl * mask).sum() / mask.sum().clamp(min=1) * temp * temp


def _run_key(student, cfg, seconds: float, max_steps: int, start_batch: int) -> dict:
    """What a resumable checkpoint must agree on to be continued."""
    return {"sizes": describe(student), "seconds": seconds, "max_steps": max_steps, "start_batch": start_batch,
            "batch_size": cfg.distill.batch_size, "lr": cfg.distill.lr, "seed": cfg.run.seed, "kd_temp": cfg.distill.kd_temp,
            "kd_weight": cfg.distill.kd_weight, "data": cfg.distill.data,
            **({"engine_mix": cfg.distill.engine_mix} if cfg.distill.data == "engine" else {})}


def _try_resume(ckpt, key: dict, student, opt) -> tuple[int, float]:
    """(step, seconds already spent) from ``ckpt`` if it belongs to this very run, else (0, 0)."""
    if ckpt is None or not ckpt.exists():
        return 0, 0.0
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if state.get("key") != key:
        print(f"{ckpt.name}: from another run (plan or settings differ), starting afresh")
        return 0, 0.0
    student.load_state_dict(state["student"])
    opt.load_state_dict(state["opt"])
    print(f"{ckpt.name}: resuming at step {state['step']} ({state['seconds'] / 60:.1f} min done)")
    return state["step"], state["seconds"]


def finetune(student, teacher, cfg, seconds: float, max_steps: int, start_batch: int, desc: str,
             ckpt=None) -> dict:
    """Distil into ``student`` in place for ``seconds`` (or ``max_steps``). With ``ckpt`` (a path)
    the run saves its state there every ``--ckpt-every`` seconds and continues from it when
    started again with the same plan and settings; the file is removed once the run completes."""
    cs = measure.charset(cfg)
    opt = make_optimizer(student, cfg.distill.lr, 1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    key = _run_key(student, cfg, seconds, max_steps, start_batch)
    step, spent = _try_resume(ckpt, key, student, opt)
    d = cfg.distill
    if d.data == "engine":
        ds = EngineLines(cs, d.batch_size, cfg.run.seed, start_batch=start_batch + step, spec=student.input_spec,
                         mix=parse_mix(d.engine_mix), pages=d.engine_pages)
    else:
        ds = SyntheticLines(cs, d.batch_size, cfg.run.seed, start_batch=start_batch + step, curriculum=Curriculum())
    loader = DataLoader(ds, batch_size=None, num_workers=cfg.distill.workers)
    teacher.eval()
    student.train()
    warm = 20
    t0, hist, saved = time.time() - spent, [], time.time()
    bar = tqdm(total=max_steps or None, initial=step, desc=desc, mininterval=10)
    for batch in loader:
        frac = min(1.0, (time.time() - t0) / max(seconds, 1e-6))
        if max_steps:
            frac = max(frac, step / max_steps)
        lr = cfg.distill.lr * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        x = batch["images"]
        with torch.no_grad():
            t_logits = teacher(x)
        s_logits = student(x)
        steps = s_logits.shape[0]
        lengths = batch["input_lengths"].clamp(max=steps)
        l_ctc = ctc(s_logits.log_softmax(2), batch["targets"], lengths, batch["target_lengths"])
        l_kd = kd_loss(s_logits, t_logits, lengths, cfg.distill.kd_temp)
        loss = l_ctc + cfg.distill.kd_weight * l_kd
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 5.0)
        opt.step()
        step += 1
        hist.append((l_ctc.item(), l_kd.item()))
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(ctc=f"{l_ctc.item():.3f}", kd=f"{l_kd.item():.3f}")
        if time.time() - t0 >= seconds or (max_steps and step >= max_steps):
            break
        if ckpt is not None and time.time() - saved >= cfg.distill.ckpt_every:
            save_atomic({"key": key, "student": student.state_dict(), "opt": opt.state_dict(), "step": step,
                         "seconds": time.time() - t0}, ckpt)
            saved = time.time()
    bar.close()
    if ckpt is not None:
        ckpt.unlink(missing_ok=True)
    student.eval()
    tail = hist[-20:] or [(float("nan"), float("nan"))]
    return {"steps": step, "seconds": round(time.time() - t0, 1), "samples": step * cfg.distill.batch_size,
            "ctc_end": sum(a for a, _ in tail) / len(tail), "kd_end": sum(b for _, b in tail) / len(tail)}


def _start_batch(cfg) -> int:
    samples = artefacts.base_meta(cfg).get("samples") or 0
    return samples // cfg.distill.batch_size   # continue the base's curriculum position (other seed)


def prior_history(path) -> list[dict]:
    """The distillation runs a ``--init-student`` checkpoint has already had: its
    ``distill_history``, or its free-text note for checkpoints saved before that was kept."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if "distill_history" in ck:
        return list(ck["distill_history"])
    return [{"checkpoint": str(path), "note": ck.get("note", "no history recorded")}]


def _grow_to_teacher(student, teacher, cfg) -> None:
    """A student over the project's first charset, distilled from a base trained on a bigger one
    (``make train-engine``: the extended charset), gets the base's classes first: every learned
    row kept, new characters start unlikely (``checkpoint.grow_head``)."""
    have, want = student.cfg.num_classes, teacher.cfg.num_classes
    if have == want:
        return
    old = measure.load_charset_file(artefacts.CHARSET_PATH)
    if have != len(old.chars) + 1:
        raise SystemExit(f"student has {have} classes, teacher {want}: no known charset maps one to the other")
    grow_head(student, old.chars, measure.charset(cfg).chars, seed=cfg.run.seed)
    print(f"student head grown {have} -> {want} classes (the base's charset)")


def oneshot(teacher, cfg, seconds, max_steps) -> tuple[torch.nn.Module, dict]:
    path = Path(cfg.distill.init_student) if cfg.distill.init_student else cfg.run.work / "pruned.pt"
    if cfg.distill.init_student and not path.exists():
        raise SystemExit(f"--init-student {path}: no such checkpoint")
    if path.exists():
        student = artefacts.load_pruned(path)
        _grow_to_teacher(student, teacher, cfg)
    else:
        plan = artefacts.read_json(cfg.run.out / "plan.json")
        student = apply_keep(teacher, plan["keep"], images=measure.calib_images(cfg))
    log = finetune(student, teacher, cfg, seconds, max_steps, _start_batch(cfg), "distill oneshot",
                   ckpt=cfg.run.work / "distill_oneshot.ckpt")
    prior = prior_history(path) if cfg.distill.init_student else []
    return student, {"rounds": [log], "prior_history": prior}


def iterative(teacher, cfg, seconds, max_steps) -> tuple[torch.nn.Module, dict]:
    sens = artefacts.read_json(cfg.run.out / "sensitivity.json")
    limits = sens["limits"]
    lr, hr = rnn_ratios(cfg.plan.lstm_ratio, cfg.plan.head_ratio, limits)
    base_sizes, base_cost = group_sizes(teacher), measure.model_cost(teacher)
    student, rounds, done = copy.deepcopy(teacher), [], 0
    K = max(1, cfg.distill.iter_steps)
    for k in range(1, K + 1):
        target = 1 - (1 - cfg.plan.target) * k / K
        plan = make_plan(student, base_sizes, base_cost, limits, cfg.plan.goal, target, cfg.plan.min_channels,
                         cfg.plan.multiple, lr * k / K, hr * k / K)
        student = apply_keep(student, plan["keep"], images=measure.calib_images(cfg))
        log = finetune(student, teacher, cfg, seconds / K, max_steps // K if max_steps else 0,
                       _start_batch(cfg) + done, f"distill iterative {k}/{K}")
        done += log["steps"]
        rounds.append({**log, "target": target, "keep": plan["keep"], "params_frac": plan["params_frac"],
                       "flops_frac": plan["flops_frac"]})
    return student, {"rounds": rounds}


def run(cfg) -> dict:
    teacher = artefacts.load_base(cfg)
    for p in teacher.parameters():
        p.requires_grad_(False)
    val = measure.val_set(cfg)
    lines, texts = val["lines"][:cfg.eval.val_lines], val["texts"][:cfg.eval.val_lines]
    cs = measure.charset(cfg)
    schedules = ["oneshot", "iterative"] if cfg.distill.schedule == "both" else [cfg.distill.schedule]
    seconds = cfg.distill.budget_min * 60 / len(schedules)
    results, models, priors = {}, {}, {}
    base_cost = measure.model_cost(teacher)
    for name in schedules:
        fn = oneshot if name == "oneshot" else iterative
        student, info = fn(teacher, cfg, seconds, cfg.distill.max_steps)
        priors[name] = info.pop("prior_history", [])
        res = evaluate(student, lines, texts, cs)
        cost = measure.model_cost(student)
        results[name] = {**info, "char_acc": res["char_acc"], "line_acc": res["line_acc"], **cost,
                         "params_frac": cost["params"] / base_cost["params"],
                         "flops_frac": cost["flops"] / base_cost["flops"], "sizes": describe(student)}
        models[name] = student
        artefacts.save_model(student, cfg.run.work / f"student_{name}.pt", {"stage": f"distill-{name}"})
        print(f"{name}: char acc {res['char_acc']:.4f} line acc {res['line_acc']:.4f} "
              f"params {cost['params']:,} flops {cost['flops'] / 1e6:.1f}M")
    winner = max(schedules, key=lambda s: (results[s]["char_acc"], s == "oneshot"))
    win = results[winner]
    # every distillation run the student has had, oldest first (--init-student chains runs)
    start = artefacts.rel(cfg.distill.init_student) if cfg.distill.init_student else (FROM_SURGERY if winner == "oneshot" else FROM_ROUNDS)
    history = priors[winner] + [{
        "date": time.strftime("%Y-%m-%d %H:%M"), "schedule": winner, "from": start,
        "minutes": round(sum(r["seconds"] for r in win["rounds"]) / 60, 1),
        "steps": sum(r["steps"] for r in win["rounds"]), "samples": sum(r["samples"] for r in win["rounds"]),
        "lr": cfg.distill.lr, "batch_size": cfg.distill.batch_size, "seed": cfg.run.seed, "val_char_acc": round(win["char_acc"], 4)}]
    artefacts.save_model(models[winner], cfg.run.work / "student.pt",
                      {"stage": "distill", "schedule": winner, "distill_history": history})
    out = {"winner": winner, "budget_min": cfg.distill.budget_min, "val_lines": len(lines), "history": history,
           "teacher": {**base_cost, **{k: v for k, v in evaluate(teacher, lines, texts, cs).items() if k != "examples"}},
           "schedules": results, "kd_temp": cfg.distill.kd_temp, "kd_weight": cfg.distill.kd_weight, "lr": cfg.distill.lr,
           "batch_size": cfg.distill.batch_size, "date": time.strftime("%Y-%m-%d %H:%M")}
    artefacts.write_json(cfg.run.out / "distill.json", out)
    if len(schedules) > 1:   # kept for the report of later single-schedule runs
        artefacts.write_json(cfg.run.out / "schedule_comparison.json", out)
    print(f"distill: winner {winner}")
    return out
