"""Train the base CRNN with CTC; resumable, time-bounded.

    python -m pruning.training.train --run runs/base --time-budget 3600
    python -m pruning.training.train --run runs/engine --data engine --charset models/charset/extended.txt \
        --init-from models/base/crnn_base.pt

Data (``--data``): ``synthetic`` -- the Pillow renderer's stream (``SyntheticLines``), or
``engine`` -- the capture-like data engine (``pruning.dataengine``: Chromium pages, camera model,
detector-like crops, and the Pillow renderer; ``--engine-mix``). Resumes from ``<run>/last.pt``
when present (model, optimiser, step, RNG; the synthetic stream continues exactly where it was,
the engine stream continues with a stream seeded by the step); otherwise from ``--init-from``
weights (e.g. the committed checkpoint; optimiser state starts fresh), whose head grows to
``--charset`` when that charset extends ``--init-charset`` (``checkpoint.grow_head``), or from
scratch.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from pruning import REPO
from pruning.evaluation.predict import evaluate
from pruning.training.checkpoint import grow_head, save_atomic
from pruning.training.data import ENGINE_MIX, Curriculum, EngineLines, SyntheticLines, build_val_set, parse_mix
from pruning.training.optim import make_optimizer
from pruning.evaluation.evalset import load_eval_set
from pruning.training.model import CRNN, CRNNConfig, count_params
from slim_ocr.charset import DEFAULT_CHARSET, load_charset
from slim_ocr.preprocess import prepare_line


def load_real_val(limit: int, variants: tuple[str, ...] = ("clean",)) -> dict:
    """A fixed slice of the real-document evaluation set, if it has been built: ``{name: (lines,
    texts)}`` with names ``zh``/``en`` for the clean variant and ``<variant>_<lang>`` for others.

    Monitoring only: checkpoints are selected on the synthetic validation set, so the
    real-document figures reported by the benchmarks are not tuned on."""
    try:
        recs = load_eval_set(variant=variants, limit=limit)
    except FileNotFoundError:
        return {}
    out = {}
    for r in recs:
        name = r["lang"] if r["variant"] == "clean" else f"{r['variant']}_{r['lang']}"
        lines, texts = out.setdefault(name, ([], []))
        lines.append(prepare_line(r["image"], CRNN.input_spec))
        texts.append(r["text"])
    return out


def bn_gammas(model):
    return [m.weight for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def lr_at(step: int, args) -> float:
    warm = min(1.0, (step - getattr(args, "warmup_from", 0) + 1) / args.warmup_steps)
    if args.decay_start is not None and step >= args.decay_start:
        f = min(1.0, (step - args.decay_start) / max(1, args.decay_steps))
        return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * f)))
    return args.lr * warm


def _ignore_stop_signals(_worker_id):
    # `pkill -f pruning.training.train` also hits the loader worker; only the main process decides
    # when to stop (it checkpoints first), and the worker exits with it.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)


class Trainer:
    def __init__(self, args, charset=None):
        self.args = args
        self.run = Path(args.run)
        self.run.mkdir(parents=True, exist_ok=True)
        self.charset = charset or load_charset(args.charset)
        torch.manual_seed(args.seed)
        cfg = CRNNConfig(num_classes=self.charset.num_classes, width_mult=args.width_mult,
                         last_channels=args.last_channels, lstm_hidden=args.lstm_hidden)
        self.model = CRNN(cfg).to(memory_format=torch.channels_last)
        self.opt = make_optimizer(self.model, args.lr, args.weight_decay)
        self.ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
        self.curriculum = Curriculum(ramp_samples=args.ramp_samples)
        self.step, self.samples, self.train_seconds = 0, 0, 0.0
        self.best = -1.0
        self._resume()

    # -- checkpoints -----------------------------------------------------------
    def state(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "config": self.model.cfg.to_dict(),
                "step": self.step, "samples": self.samples, "train_seconds": self.train_seconds, "best": self.best,
                "torch_rng": torch.get_rng_state(), "py_rng": random.getstate(), "np_rng": np.random.get_state(),
                "args": vars(self.args)}

    def save(self, name="last.pt"):
        save_atomic(self.state(), self.run / name)

    def _resume(self):
        last = self.run / "last.pt"
        if last.exists():
            ck = torch.load(last, weights_only=False)
            self.model.load_state_dict(ck["model"])
            self.opt.load_state_dict(ck["opt"])
            self.step, self.samples, self.train_seconds = ck["step"], ck["samples"], ck["train_seconds"]
            self.best = ck.get("best", -1.0)
            torch.set_rng_state(ck["torch_rng"])
            random.setstate(ck["py_rng"])
            np.random.set_state(ck["np_rng"])
            print(f"resumed {last} at step {self.step} ({self.samples} samples)")
        elif self.args.init_from:
            ck = torch.load(self.args.init_from, weights_only=False)
            weights = {k: v.float() for k, v in ck["model"].items()}
            old = load_charset(self.args.init_charset)
            if old.num_classes != self.charset.num_classes:   # a grown charset: copy the learned rows
                small = CRNN(CRNNConfig(**{**self.model.cfg.to_dict(), "num_classes": old.num_classes}))
                small.load_state_dict(weights)
                grow_head(small, old.chars, self.charset.chars, seed=self.args.seed)
                weights = small.state_dict()
                print(f"head grown {old.num_classes} -> {self.charset.num_classes} classes "
                      f"({sum(c in old.index for c in self.charset.chars)} rows kept)")
            self.model.load_state_dict(weights)
            self.opt = make_optimizer(self.model, self.args.lr, self.args.weight_decay)
            self.step, self.samples = ck.get("step", 0), ck.get("samples", 0)
            self.train_seconds = ck.get("train_seconds", 0.0)
            self.args.warmup_from = self.step   # re-warm the fresh Adam moments from here
            print(f"initialised from {self.args.init_from} at step {self.step}")

    # -- one optimisation step -------------------------------------------------
    def train_step(self, batch) -> float:
        a = self.args
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, a)
        images = batch["images"].to(memory_format=torch.channels_last)
        logits = self.model(images)
        log_probs = logits.log_softmax(2)
        T = log_probs.shape[0]
        loss = self.ctc(log_probs, batch["targets"], batch["input_lengths"].clamp(max=T), batch["target_lengths"])
        if a.sparsity > 0 and self.samples >= a.sparsity_start:
            loss = loss + a.sparsity * sum(g.abs().sum() for g in bn_gammas(self.model))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), a.clip)
        self.opt.step()
        self.step += 1
        self.samples += images.shape[0]
        return loss.item()

    def loader(self):
        a = self.args
        if a.data == "engine":
            ds = EngineLines(self.charset, a.batch_size, a.seed, start_batch=self.step, spec=CRNN.input_spec,
                             mix=parse_mix(a.engine_mix), pages=a.engine_pages)
        else:
            ds = SyntheticLines(self.charset, a.batch_size, a.seed, start_batch=self.step, curriculum=self.curriculum)
        return DataLoader(ds, batch_size=None, num_workers=self.args.workers, prefetch_factor=4 if self.args.workers else None,
                          persistent_workers=False, worker_init_fn=_ignore_stop_signals)

    def fit(self):
        a = self.args
        # Named (lines, texts) sets scored every --val-every steps, logged as "<name>_char_acc" etc.;
        # "val" (augmented held-out fonts) selects best.pt.
        monitors = {name: (v["lines"], v["texts"]) for name, v in (
            ("val", build_val_set(self.charset, a.val_size, a.val_dir)),
            ("val_clean", build_val_set(self.charset, a.val_size, a.val_dir, augment=False)))}
        if a.real_val_limit:
            monitors.update({f"real_{name}": s for name, s in
                             load_real_val(a.real_val_limit, tuple(a.real_val_variants.split(","))).items()})
        log = open(self.run / "log.jsonl", "a")
        print(f"params {count_params(self.model):,}; threads {torch.get_num_threads()}")
        t_start = time.time()
        bar = tqdm(total=a.max_steps, initial=self.step, desc="train", mininterval=30)
        stop = []  # SIGTERM/SIGINT: finish the step, checkpoint, exit cleanly
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(1))
        try:
            self._loop(a, monitors, log, bar, stop, t_start)
        finally:
            self.save()  # steps are atomic: whatever stopped the loop, the state is consistent
            bar.close()
        print(f"stopped at step {self.step}, {self.samples} samples, {self.train_seconds / 3600:.2f} h")

    def _loop(self, a, monitors, log, bar, stop, t_start):
        t_ckpt = time.time()
        t_seg, seg_samples, losses = time.time(), 0, []
        for batch in self.loader():
            losses.append(self.train_step(batch))
            seg_samples += batch["images"].shape[0]
            bar.update(1)
            now = time.time()
            if self.step % a.log_every == 0:
                dt = now - t_seg
                self.train_seconds += dt
                rec = {"step": self.step, "samples": self.samples, "loss": float(np.mean(losses)),
                       "lr": self.opt.param_groups[0]["lr"], "samples_per_s": seg_samples / dt,
                       "train_hours": self.train_seconds / 3600, "max_units": self.curriculum.max_units(self.samples),
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
                log.write(json.dumps(rec) + "\n"); log.flush()
                bar.set_postfix(loss=f"{rec['loss']:.3f}", sps=f"{rec['samples_per_s']:.0f}")
                t_seg, seg_samples, losses = now, 0, []
            if self.step % a.val_every == 0:
                rec = {"step": self.step, "samples": self.samples}
                for name, (lines, texts) in monitors.items():
                    r = evaluate(self.model, lines, texts, self.charset)
                    rec[f"{name}_char_acc"], rec[f"{name}_line_acc"] = r["char_acc"], r["line_acc"]
                    if name == "val":
                        rec["examples"] = r["examples"][:3]
                log.write(json.dumps(rec, ensure_ascii=False) + "\n"); log.flush()
                tqdm.write(json.dumps({k: v for k, v in rec.items() if k != "examples"}))
                if rec["val_char_acc"] > self.best:
                    self.best = rec["val_char_acc"]
                    self.save("best.pt")
            if now - t_ckpt > a.ckpt_minutes * 60:
                self.save()
                t_ckpt = now
            if stop or self.step >= a.max_steps or (a.time_budget and now - t_start > a.time_budget):
                break


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=str(REPO / "runs" / "base"))
    ap.add_argument("--init-from", default=None, help="weights-only checkpoint to start from when no last.pt")
    ap.add_argument("--charset", default=str(DEFAULT_CHARSET), help="charset file the model is trained on")
    ap.add_argument("--init-charset", default=str(DEFAULT_CHARSET), help="charset of the --init-from checkpoint")
    ap.add_argument("--data", choices=["synthetic", "engine"], default="synthetic")
    ap.add_argument("--engine-mix", default=ENGINE_MIX,
                    help="source=weight,... of the data engine (--data engine)")
    ap.add_argument("--engine-pages", type=int, default=600, help="cached Chromium page seeds to cut lines from")
    ap.add_argument("--time-budget", type=float, default=0, help="seconds; 0 = until --max-steps")
    ap.add_argument("--max-steps", type=int, default=10_000_000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=300)
    ap.add_argument("--decay-start", type=int, default=None, help="step where cosine decay starts")
    ap.add_argument("--decay-steps", type=int, default=20000)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--sparsity", type=float, default=1e-5, help="L1 weight on BN gammas (network slimming)")
    ap.add_argument("--sparsity-start", type=int, default=600_000, help="samples seen before L1 starts")
    ap.add_argument("--ramp-samples", type=int, default=600_000)
    ap.add_argument("--width-mult", type=float, default=1.0)
    ap.add_argument("--last-channels", type=int, default=288)
    ap.add_argument("--lstm-hidden", type=int, default=96)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val-size", type=int, default=600)
    ap.add_argument("--val-dir", default=str(REPO / "data"), help="where the rendered validation set is cached")
    ap.add_argument("--real-val-limit", type=int, default=150, help="real-document lines per language to monitor (0: off)")
    ap.add_argument("--real-val-variants", default="clean", help="real-document variants monitored, e.g. clean,capture")
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    Trainer(args).fit()


if __name__ == "__main__":
    main()
