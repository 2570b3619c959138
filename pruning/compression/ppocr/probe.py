"""The PP-OCRv6-tiny compression probe (issue 15), one step per command, results merged into
``reports/ppocr/probe.json`` (``report`` writes ``probe.md`` and the curve PNG from it).

    python -m pruning.compression.ppocr.probe prepare     # recalibrate BN, evaluate the original
    python -m pruning.compression.ppocr.probe surgery     # surgery checks, importance criteria (no fine-tuning)
    python -m pruning.compression.ppocr.probe head        # head rank sweep, class restriction
    python -m pruning.compression.ppocr.probe height      # the unpruned model at 32 px
    python -m pruning.compression.ppocr.probe distill --plan head40 --seconds 540
    python -m pruning.compression.ppocr.probe latency     # ONNX export + 1-thread ORT, all side by side
    python -m pruning.compression.ppocr.probe report

One thread everywhere (torch, OpenMP, OpenCV, ORT). Calibration, importance and fine-tuning
use rendered training lines; the real-document set (``evalset.load_eval_set(limit=150)``) is
only measured, and the last checkpoint of a run is the one reported (none is picked).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import torch

from pruning import REPO
from pruning.pretrained import ppocrv6_tiny
from pruning.pretrained.mapping import recalibrate_bn

from . import head, importance
from . import height as heights
from .distill import DistillConfig, distill
from .evaluate import EvalData, brief, evaluate
from .groups import by_name, channel_groups
from .lines import calibration_batches
from .students import Plan, build, images, inner, load, save, scores_for
from .surgery import consumer_means, keep_all, prune

SOURCE = REPO / "data" / "pretrained" / "ppocrv6-tiny" / "torch.pt"
RUNS = REPO / "runs" / "ppocr"
REPORT = REPO / "reports" / "ppocr"
RESULTS = REPORT / "probe.json"
RECAL = RUNS / "recalibrated.pt"
CALIB_BATCHES, CALIB_SEED = 32, 777     # 512 rendered training lines
CHECK_BATCHES, CHECK_SEED = 4, 778      # 64 other rendered lines for output-change checks
TAYLOR_BATCHES = 16

# the probe's fine-tuning plans: gradual (the removed channels and head directions fade out over
# the first FADE steps of distillation, then are cut); Taylor importance (see `surgery`)
FADE = 150
BB25 = {"chain": 0.75, "ffn": 0.75, "se": 0.75}
PLANS = {
    "head40": Plan("head40", rank=40, gradual=FADE),
    "head40_bb25": Plan("head40_bb25", rank=40, backbone=BB25, criterion="taylor", gradual=FADE),
    "head40_bb25_h32": Plan("head40_bb25_h32", rank=40, backbone=BB25, criterion="taylor", height=32, gradual=FADE),
    "head40_h32": Plan("head40_h32", rank=40, height=32, gradual=FADE),
}


def setup_threads() -> None:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def load_results() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}


def save_results(section: str, value, command: str) -> None:
    REPORT.mkdir(parents=True, exist_ok=True)
    res = load_results()
    res[section] = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M"), **value}
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(RESULTS)


def original():
    m, meta = ppocrv6_tiny.load(SOURCE, with_meta=True)
    return m, meta["chars"]


def recalibrated():
    m, meta = ppocrv6_tiny.load(RECAL, with_meta=True)
    return m, meta["chars"]


def calib(chars):
    return calibration_batches(chars, CALIB_BATCHES, seed=CALIB_SEED)


def params(model) -> int:
    return sum(p.numel() for p in inner(model).parameters())


def folded_params(model) -> int:
    """Parameters once BatchNorms fold into the convs (what the ONNX file holds)."""
    m = inner(model)
    bn = sum(mod.weight.numel() * 2 for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d))
    convs_no_bias = sum(mod.out_channels for mod in m.modules() if isinstance(mod, torch.nn.Conv2d) and mod.bias is None)
    return params(m) - bn + convs_no_bias


@torch.no_grad()
def output_change(a, b, batches: list[dict]) -> dict:
    """max |dp|, mean per-frame KL(a || b) and argmax agreement over the lines' valid frames."""
    a.eval(), b.eval()
    mx, kl, agree, n = 0.0, 0.0, 0, 0
    for bt in batches:
        la, lb = a(bt["images"]), b(bt["images"])
        pa, pb = la.softmax(-1), lb.softmax(-1)
        for i, t in enumerate(bt["input_lengths"].tolist()):
            d = (pa[i, :t] - pb[i, :t]).abs().max()
            mx = max(mx, float(d))
            kl += float((pa[i, :t] * (pa[i, :t].clamp_min(1e-12).log() - pb[i, :t].clamp_min(1e-12).log())).sum())
            agree += int((la[i, :t].argmax(-1) == lb[i, :t].argmax(-1)).sum())
            n += t
    return {"max_abs_dp": round(mx, 6), "kl_per_frame": round(kl / n, 6), "argmax_agree": round(agree / n, 5)}


def summary(model, chars, res: dict) -> dict:
    return {"params": params(model), "params_folded": folded_params(model), "config": inner(model).cfg.to_dict(),
            "height": getattr(model, "height", 48), "classes": len(chars) + 1, "accuracy": res}


# ----------------------------------------------------------------------------- steps
def cmd_prepare(args, command):
    m, chars = original()
    batches = calib(chars)
    ref = ppocrv6_tiny.PPOCRv6TinyRec(m.cfg)
    ref.load_state_dict(m.state_dict())
    ref.eval()
    n = recalibrate_bn(m, m.slots(), images(batches))
    check = calibration_batches(chars, CHECK_BATCHES, seed=CHECK_SEED)
    change = output_change(ref, m, check)
    log(f"recalibrated {n} BatchNorms on {CALIB_BATCHES * 16} rendered lines; function change {change}")
    RUNS.mkdir(parents=True, exist_ok=True)
    ppocrv6_tiny.save(m, RECAL, chars=chars, source="recalibrate_bn of data/pretrained/ppocrv6-tiny/torch.pt")
    data = EvalData.load()
    res = evaluate(ref, chars, data)
    log(f"original: {brief(res)} ({res['seconds']} s)")
    gam = {b: [round(float(mod.weight.abs().min()), 4), round(float(mod.weight.abs().median()), 4),
               round(float(mod.weight.abs().max()), 4)]
           for b, mod in m.named_modules() if isinstance(mod, torch.nn.BatchNorm2d)}
    save_results("original", {**summary(ref, chars, res), "recalibration_change": change,
                              "bn_gamma_min_median_max": gam}, command)


def cmd_surgery(args, command):
    setup_threads()
    base, chars = recalibrated()
    batches = calib(chars)
    check = calibration_batches(chars, CHECK_BATCHES, seed=CHECK_SEED)
    groups = channel_groups(base)
    out = {"keep_all": output_change(base, prune(base, keep_all(base)), check)}
    log(f"keep everything: {out['keep_all']}")
    means = consumer_means(base, images(batches))
    t0 = time.perf_counter()
    crit = {c: scores_for(base, c, batches[:TAYLOR_BATCHES] if c == "taylor" else batches) for c in importance.CRITERIA}
    log(f"scores in {time.perf_counter() - t0:.0f} s")
    single = {}
    for c, sc in crit.items():
        least = importance.least_important(groups, sc)
        most = {g.name: int(torch.argmax(sc[g.name])) for g in groups}
        rows = {}
        for g in groups:
            if g.name in ("classes", "hidden"):
                continue
            row = {}
            for which, idx in (("least", least[g.name]), ("most", most[g.name])):
                keep = {g.name: [i for i in range(g.size) if i != idx]}
                row[which] = output_change(base, prune(base, keep, means), check)["kl_per_frame"]
            rows[g.name] = row
        allk = {g.name: [i for i in range(g.size) if i != least[g.name]] for g in groups
                if g.name not in ("classes", "hidden")}
        single[c] = {"per_group_kl": rows, "all_groups_least": output_change(base, prune(base, allk, means), check)}
        log(f"{c}: one least-important channel per group removed at once: {single[c]['all_groups_least']}; "
            f"median per-group KL least {sorted(r['least'] for r in rows.values())[len(rows) // 2]:.2e} "
            f"vs most {sorted(r['most'] for r in rows.values())[len(rows) // 2]:.2e}")
    out["single_channel"] = single
    data = EvalData.load()
    cuts = {}
    variants = [(c, r, True, True) for r in (0.875, 0.75) for c in importance.CRITERIA] + \
               [("bn_gamma", 0.75, False, True), ("bn_gamma", 0.75, True, False), ("bn_gamma", 0.75, False, False)]
    for c, r, comp, adapt in variants:
        plan = Plan(f"{c}_{r}", backbone={"chain": r, "ffn": r, "se": r}, criterion=c, compensate=comp, adapt=adapt)
        st, _ = build(base, chars, plan, batches, crit[c])
        res = evaluate(st, chars, data)
        key = f"{c} keep {r}" + ("" if comp else " no-comp") + ("" if adapt else " no-adaptBN")
        cuts[key] = {"plan": asdict(plan), "params": params(st), "params_folded": folded_params(st),
                     "change": output_change(base, st, check), "accuracy": res}
        log(f"{key}: {params(st):,} params, {brief(res)}")
    out["cuts"] = cuts
    save_results("surgery", out, command)


def cmd_head(args, command):
    setup_threads()
    base, chars = recalibrated()
    batches = calib(chars)
    feats = head.head_features(base, images(batches))
    data = EvalData.load()
    check = calibration_batches(chars, CHECK_BATCHES, seed=CHECK_SEED)
    sv = head.singular_values(base).tolist()
    svd = head.singular_values(base, feats).tolist()
    out = {"singular_values": [round(s, 4) for s in sv], "singular_values_data": [round(s, 4) for s in svd],
           "ranks": {}}
    runs = [("svd_data", r) for r in args.ranks] + [("svd", r) for r in args.plain_ranks]
    for meth, r in runs:
        st = head.low_rank(base, r, meth, feats)
        res = evaluate(st, chars, data)
        out["ranks"][f"{meth} {r}"] = {"method": meth, "rank": r, "params": params(st),
                                       "params_folded": folded_params(st),
                                       "change": output_change(base, st, check), "accuracy": res}
        log(f"{meth} rank {r}: {params(st):,} params, {brief(res)}")
    from .students import allowed_chars
    allowed = allowed_chars()
    keep, new_chars = head.class_keep(chars, allowed)
    removed = [c for c in chars if c not in allowed]
    cls = {"kept_classes": len(keep), "removed_classes": len(removed),
           "removed_by_kind": _kinds(removed), "removed_sample": "".join(removed[:80]) + " … " + "".join(removed[-40:])}
    for r in (None, 40):
        m = base if r is None else head.low_rank(base, r, "svd_data", feats)
        st = prune(m, {"classes": keep})
        res = evaluate(st, new_chars, data)
        cls[f"rank {r or base.cfg.hidden}"] = {"params": params(st), "params_folded": folded_params(st),
                                               "params_saved": params(m) - params(st), "accuracy": res}
        log(f"classes {len(keep)} at rank {r or base.cfg.hidden}: {params(st):,} params, {brief(res)}")
    out["classes"] = cls
    save_results("head", out, command)


def _kinds(chars: list[str]) -> dict:
    import unicodedata
    out = {}
    for c in chars:
        o = ord(c)
        k = "CJK ideograph (not GB2312)" if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF else \
            "Latin letters with diacritics" if 0xC0 <= o <= 0x24F else \
            "Greek" if 0x370 <= o <= 0x3FF else \
            "full-width forms" if 0xFF00 <= o <= 0xFFEF else unicodedata.category(c)
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def cmd_height(args, command):
    setup_threads()
    base, chars = recalibrated()
    batches = calib(chars)
    data = EvalData.load()
    out = {"backbone_height": {h: heights.backbone_height(base.cfg, h) for h in (48, 40, 32, 24)}}
    for adapt in (False, True):
        st, _ = build(base, chars, Plan("h32", height=32, adapt=adapt), batches)
        res = evaluate(st, chars, data)
        out["adaptBN" if adapt else "no adaptBN"] = {"params": params(st), "pool": list(st.cfg.pool), "accuracy": res}
        log(f"height 32 {'with' if adapt else 'without'} BN re-estimation: {brief(res)}")
    save_results("height", out, command)


def cmd_distill(args, command):
    setup_threads()
    plan = PLANS[args.plan]
    base, chars = recalibrated()
    teacher, _ = original()
    batches = calib(chars)
    student, s_chars, fade = build(base, chars, plan, batches, with_fade=True)
    if s_chars != chars:
        raise SystemExit("distillation with a restricted charset needs the teacher's logits restricted too")
    data = EvalData.load()
    out_dir = RUNS / plan.name
    cfg = DistillConfig(seconds=args.seconds, lr=args.lr, eval_every=args.eval_every, seed=args.seed)
    log(f"plan {plan}: student {params(student):,} params before the cut; distill {cfg}")
    res = distill(student, teacher, chars, cfg, out_dir, evaluator=lambda m: evaluate(m, chars, data), log=log,
                  save_fn=lambda m, p: save(m, p, chars, plan, distill=asdict(cfg)), fade=fade)
    student = res["student"]
    save_results(f"distill {plan.name}", {"plan": asdict(plan), "distill": asdict(cfg),
                                          **summary(student, chars, res["history"][-1]),
                                          "before": res["history"][0], "curve": res["history"],
                                          "cut_max_dlogit": res["cut_max_dlogit"],
                                          "lines": res["lines"], "train_seconds": res["seconds"],
                                          "steps": res["steps"], "checkpoint": str((out_dir / "student.pt").relative_to(REPO))},
                 command)


def cmd_diagnose(args, command):
    """Surgery == masking on the real model, and which group kinds a 12.5 % cut hurts (KL only)."""
    setup_threads()
    from .distill import Fade, adapt_bn
    base, chars = recalibrated()
    batches = calib(chars)
    check = calibration_batches(chars, CHECK_BATCHES, seed=CHECK_SEED)
    groups = channel_groups(base)
    taylor = scores_for(base, "taylor", batches[:TAYLOR_BATCHES])
    keep = importance.plan_keep(groups, taylor, {"chain": 0.875, "ffn": 0.875, "se": 0.875, "stem1": 0.875,
                                                 "neck": 0.875}, 8)
    removed = {k: sorted(set(range(by_name(groups)[k].size)) - set(v.tolist())) for k, v in keep.items()}
    masked = ppocrv6_tiny.PPOCRv6TinyRec(base.cfg)
    masked.load_state_dict(base.state_dict())
    masked.eval()
    with torch.no_grad():
        for p, idx in Fade(removed, 1).tensors(masked):
            p[idx] = 0.0
    cut = prune(masked, keep)
    with torch.no_grad():
        d = max(float((cut(b["images"]) - masked(b["images"])).abs().max()) for b in check)
    out = {"surgery_vs_masking_max_dlogit": d, "removed_channels": sum(map(len, removed.values())),
           "channels": sum(by_name(groups)[k].size for k in removed)}
    log(f"12.5 % Taylor cut of every kind: surgery vs zeroed channels max |dlogit| {d:.2e} "
        f"({out['removed_channels']} of {out['channels']} channels)")
    means = consumer_means(base, images(batches))
    kinds = {}
    for kind in ("stem1", "chain", "ffn", "se", "neck"):
        sub = {k: v for k, v in keep.items() if importance.kind(k) == kind}
        for adapt in (False, True):
            st = prune(base, sub, means)
            if adapt:
                adapt_bn(st, images(batches))
            ch = output_change(base, st, check)
            kinds[f"{kind}{' + adaptBN' if adapt else ''}"] = {**ch, "removed": sum(len(removed[k]) for k in sub)}
            log(f"{kind:<6} {'adaptBN' if adapt else '       '} removed {kinds[f'{kind}' + (' + adaptBN' if adapt else '')]['removed']:>4}: {ch}")
    out["by_kind"] = kinds
    save_results("diagnose", out, command)


def cmd_oneshot(args, command):
    """Each plan cut at once (no fade, no fine-tuning): its accuracy before any distillation."""
    setup_threads()
    base, chars = recalibrated()
    batches = calib(chars)
    data = EvalData.load()
    taylor = scores_for(base, "taylor", batches[:TAYLOR_BATCHES])
    out = {}
    for name in args.plans:
        plan = Plan(**{**asdict(PLANS[name]), "gradual": 0})
        st, _ = build(base, chars, plan, batches, taylor if plan.criterion == "taylor" else None)
        res = evaluate(st, chars, data)
        out[name] = {"params": params(st), "params_folded": folded_params(st), "accuracy": res}
        log(f"{name} one-shot: {params(st):,} params, {brief(res)}")
    save_results("oneshot", out, command)


def cmd_restrict(args, command):
    """A distilled student with its classifier restricted to the project charset + GB2312-2."""
    setup_threads()
    from .students import allowed_chars
    path = RUNS / args.plan / "student.pt"
    st, chars, meta = load(path)
    keep, new_chars = head.class_keep(chars, allowed_chars())
    im = prune(inner(st), {"classes": keep})
    st = heights.Squeezed(im, st.height) if isinstance(st, heights.Squeezed) else im
    res = evaluate(st, new_chars, EvalData.load())
    log(f"{args.plan} restricted to {len(keep)} classes: {params(st):,} params, {brief(res)}")
    dest = RUNS / args.plan / "student_restricted.pt"
    save(st, dest, new_chars, Plan(**{**meta["plan"], "classes": "project+gb2312-2"}), distill=meta.get("distill"))
    save_results(f"restricted {args.plan}", {**summary(st, new_chars, res), "checkpoint": str(dest.relative_to(REPO))},
                 command)


def cmd_latency(args, command):
    setup_threads()
    from slim_ocr.contract import PPOCR_INPUT

    from pruning.evaluation.cost import latency_ms, onnx_params
    from pruning.pretrained.export import export_onnx
    onnx_dir = RUNS / "onnx"
    models = {}
    m, chars = original()
    models["original"] = (export_onnx(m, onnx_dir / "original.onnx"), PPOCR_INPUT)
    base, _ = recalibrated()
    batches = calib(chars)
    for name in args.students:
        for tag, file in (("", "student.pt"), (" restricted", "student_restricted.pt")):
            path = RUNS / name / file
            if not path.exists():
                continue
            st, _, _ = load(path)
            h = getattr(st, "height", 48)
            models[name + tag] = (export_onnx(inner(st), onnx_dir / f"{name}{tag.replace(' ', '_')}.onnx", height=h),
                                  heights.input_spec(h))
    if args.h32_unpruned:
        st, _ = build(base, chars, Plan("h32", height=32), batches)
        models["h32 (unpruned)"] = (export_onnx(inner(st), onnx_dir / "h32.onnx", height=32), heights.input_spec(32))
    for r in args.ranks:
        st = head.low_rank(base, r, "svd")
        models[f"rank {r} (head only)"] = (export_onnx(st, onnx_dir / f"rank{r}.onnx"), PPOCR_INPUT)
    lat = latency_ms(models, runs=args.runs)
    ref = lat["original"]
    out = {}
    for name, (path, spec) in models.items():
        out[name] = {"onnx_params": onnx_params(path), "latency_ms": round(lat[name], 3),
                     "latency_ratio": round(lat[name] / ref, 3), "input": f"{spec.height}x320",
                     "file": str(Path(path).relative_to(REPO))}
    p0 = out["original"]["onnx_params"]
    for v in out.values():
        v["params_ratio"] = round(v["onnx_params"] / p0, 3)
    for k, v in out.items():
        log(f"{k:<24} {v['onnx_params']:>9,} params ({v['params_ratio']:.3f}x)  {v['latency_ms']:.3f} ms "
            f"({v['latency_ratio']:.3f}x) at {v['input']}")
    save_results("latency", {"runs": args.runs, "models": out}, command)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    sub.add_parser("surgery")
    h = sub.add_parser("head")
    h.add_argument("--ranks", type=int, nargs="*", default=[64, 48, 40, 32, 24])
    h.add_argument("--plain-ranks", type=int, nargs="*", default=[48, 32])
    sub.add_parser("height")
    d = sub.add_parser("distill")
    d.add_argument("--plan", choices=sorted(PLANS), required=True)
    d.add_argument("--seconds", type=float, default=480)
    d.add_argument("--lr", type=float, default=3e-4)
    d.add_argument("--eval-every", type=int, default=1500)
    d.add_argument("--seed", type=int, default=1)
    la = sub.add_parser("latency")
    la.add_argument("--students", nargs="*", default=list(PLANS))
    la.add_argument("--ranks", type=int, nargs="*", default=[40])
    la.add_argument("--h32-unpruned", action="store_true")
    la.add_argument("--runs", type=int, default=200)
    sub.add_parser("diagnose")
    os_ = sub.add_parser("oneshot")
    os_.add_argument("--plans", nargs="*", default=list(PLANS))
    rs = sub.add_parser("restrict")
    rs.add_argument("--plan", choices=sorted(PLANS), required=True)
    sub.add_parser("report")
    args = ap.parse_args(argv)
    command = "python -m pruning.compression.ppocr.probe " + shlex.join(sys.argv[1:] if argv is None else argv)
    setup_threads()
    if args.cmd == "report":
        from .report import write_report
        write_report(load_results(), REPORT)
        return 0
    {"prepare": cmd_prepare, "surgery": cmd_surgery, "head": cmd_head, "height": cmd_height,
     "distill": cmd_distill, "latency": cmd_latency, "restrict": cmd_restrict, "oneshot": cmd_oneshot, "diagnose": cmd_diagnose}[args.cmd](args, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
