"""Stage 6: INT8 with ONNX Runtime -- several recipes measured, the fastest that keeps
accuracy wins.

Candidates (all from the bundle ``<out>/pruned_fp32/``):
* ``dynamic``             -- quantize_dynamic on everything (Conv -> ConvInteger, MatMul, LSTM);
* ``static_qdq_s8s8_all`` -- quantize_static defaults: QDQ, int8 activations, every op (reference);
* ``static_qdq``          -- quantize_static, QDQ, per-channel int8 weights, uint8 activations
                             calibrated (MinMax) on rendered training-font lines through
                             slim_ocr.preprocess; Conv (not depthwise) + MatMul; LSTM stays fp32;
* ``static_qdq_dynlstm``  -- static_qdq, then dynamic quantisation of the LSTM only;
* ``static_conv``         -- static QDQ for the (non-depthwise) convs only;
* ``static_conv_dynrnn``  -- static_conv, then dynamic LSTM + MatMul (head);
* ``dynamic_rnn``         -- dynamic LSTM + MatMul only, every conv stays fp32. On the run-2
                             student this was both the fastest (0.75 vs 0.79 ms for
                             static_conv_dynrnn, 0.94 fp32) and kept fp32 accuracy, where
                             uint8 conv activations lost 0.4-1.1 points on photographed lines
                             whatever the calibration (MinMax on 64/256 lines, stem/last conv
                             left in fp32: all alike); ORT's fp32 NCHWc convs are as fast as
                             QLinearConv plus the Q/DQ and layout reorders around it.
* ``dynamic_rnn_fp32proj`` -- dynamic_rnn, but of the MatMuls only the classifier (the
                             largest weight) is quantised; the low-rank head's first projection
                             stays fp32. Its input, the BiLSTM output, is where per-tensor
                             dynamic uint8 activations lost most (zh -0.10 of dynamic_rnn's
                             -0.17 points on the 400-min student), at no measurable cost in
                             speed (0.730 vs 0.734 ms) for +15 kB of file.

Each is timed (ORT, 1 thread, p50 per reference line, interleaved with fp32) and scored on
the held-out-font set (and the real-document set when present); a candidate "keeps
accuracy" when it loses at most ``--int8-tol`` char accuracy against fp32 on each.
Of those, the fastest wins; candidates within ``LATENCY_TIE`` of the fastest count as
equally fast (timing noise), and among them the one that loses least accuracy wins.
Writes the bundle ``<out>/pruned_int8/`` (the winner) and ``<out>/quant.json``.
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path


from pruning.compression import artefacts, measure
from slim_ocr.bundle import ModelBundle
from slim_ocr.contract import InputSpec
from slim_ocr.preprocess import make_batch

# Timing slack, relative. Candidates within LATENCY_TIE of the fastest count as equally fast;
# INT8 ships unless it is slower than fp32 by more than INT8_VS_FP32_SLACK (at equal speed the
# 3-4x smaller file wins).
LATENCY_TIE = 0.03
INT8_VS_FP32_SLACK = 0.05


@dataclass
class QuantizeSettings:
    calib_lines: int = field(default=64, metadata={"help": "rendered lines for static INT8 calibration"})
    int8_tol: float = field(default=0.01, metadata={"help": "max char-accuracy loss INT8 vs fp32"})


class LineReader:
    """CalibrationDataReader: one rendered line per batch (widths vary, as in service)."""

    def __init__(self, lines, spec: InputSpec):
        self.name = spec.name
        self.batches = [make_batch([x], spec) for x in lines]
        self.i = 0

    def get_next(self):
        if self.i >= len(self.batches):
            return None
        self.i += 1
        return {self.name: self.batches[self.i - 1]}

    def rewind(self):
        self.i = 0


def preprocess(src: Path, dst: Path) -> Path:
    """Shape inference for the quantiser. Graph optimisation is skipped: it splits HardSwish
    into HardSigmoid + Mul, which then get their own Q/DQ pairs (measured slower)."""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process
        quant_pre_process(str(src), str(dst), skip_optimization=True)
        return dst
    except Exception as exc:  # pre-processing is an optimisation: fall back to the raw model
        print(f"quant_pre_process failed ({type(exc).__name__}: {exc}); quantising the raw model")
        return src


def depthwise_convs(path: Path) -> list[str]:
    import onnx
    return [n.name for n in onnx.load(str(path)).graph.node
            if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)]


def matmuls_except_largest(path: Path) -> list[str]:
    """Names of the MatMul nodes with a constant weight, except the one with the largest
    weight (the classifier): the head's low-rank projection when the head is factorised."""
    import onnx
    g = onnx.load(str(path)).graph
    sizes = {i.name: math.prod(i.dims) for i in g.initializer}
    mm = [n for n in g.node if n.op_type == "MatMul" and n.input[1] in sizes]
    largest = max(mm, key=lambda n: sizes[n.input[1]], default=None)
    return [n.name for n in mm if n is not largest]


def pick_winner(rows: dict, names: list[str]) -> str:
    """The fastest of ``names``; within LATENCY_TIE of it, the one with the smallest accuracy drop."""
    fastest = min(rows[n]["latency_ms_p50_1t"] for n in names)
    near = [n for n in names if rows[n]["latency_ms_p50_1t"] <= (1 + LATENCY_TIE) * fastest]
    return min(near, key=lambda n: (rows[n]["max_char_acc_drop"], rows[n]["latency_ms_p50_1t"]))


def build_candidates(fp32: Path, work: Path, calib_lines, spec: InputSpec) -> dict[str, Path]:
    """INT8 variants of ``fp32``. Static ones use uint8 activations / int8 per-channel
    weights (U8S8: the x86 fast path; S8S8 kept as a reference, it measured 2-3x slower
    here) and leave depthwise convs in fp32 (tiny GEMMs where Q/DQ costs more than it saves)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    work.mkdir(parents=True, exist_ok=True)
    pre = preprocess(fp32, work / "pre.onnx")
    dw = depthwise_convs(pre)
    out = {}

    def attempt(name, fn):
        try:
            fn(work / f"{name}.onnx")
            out[name] = work / f"{name}.onnx"
        except Exception as exc:
            print(f"int8 candidate {name} failed: {type(exc).__name__}: {exc}")

    def static(p, ops, act=QuantType.QUInt8, exclude=dw):
        quantize_static(str(pre), str(p), LineReader(calib_lines, spec), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=act, weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=ops, nodes_to_exclude=exclude)

    def dynamic(ops=None, src=None, exclude=None):
        """Dynamic int8 weights for ``ops`` (all when None) of candidate ``src`` (default: fp32)."""
        return lambda p: quantize_dynamic(str(out[src] if src else pre), str(p), op_types_to_quantize=ops,
                                          weight_type=QuantType.QInt8, nodes_to_exclude=exclude)

    attempt("dynamic", dynamic())
    attempt("static_qdq_s8s8_all", lambda p: static(p, None, act=QuantType.QInt8, exclude=None))
    attempt("static_qdq", lambda p: static(p, ["Conv", "MatMul"]))
    if "static_qdq" in out:
        attempt("static_qdq_dynlstm", dynamic(["LSTM"], src="static_qdq"))
    attempt("static_conv", lambda p: static(p, ["Conv"]))
    if "static_conv" in out:
        attempt("static_conv_dynrnn", dynamic(["LSTM", "MatMul"], src="static_conv"))
    attempt("dynamic_rnn", dynamic(["LSTM", "MatMul"]))
    attempt("dynamic_rnn_fp32proj", dynamic(["LSTM", "MatMul"], exclude=matmuls_except_largest(pre)))
    return out


def _acc_keys(acc: dict) -> dict[str, float]:
    flat = {"synthetic": acc["synthetic"]["char_acc"]} if "synthetic" in acc else {}
    for lang, v in acc.get("real", {}).get("char_acc", {}).items():
        flat[f"{acc['real'].get('source', 'real')}:{lang}"] = v
    return flat


def run(cfg) -> dict:
    out = cfg.run.out
    fp32_bundle = ModelBundle.load(artefacts.bundle_dir(cfg, "pruned_fp32"))
    fp32, spec = fp32_bundle.model_path, fp32_bundle.contract.input
    student = artefacts.load_pruned(cfg.run.work / "student.pt")
    calib, _ = measure.render_lines(cfg, cfg.quantize.calib_lines, seed=20_000 + cfg.run.seed, spec=spec)
    work = cfg.run.work / "int8"
    cands = {name: artefacts.write_artefact(cfg, work / name, path, student, name, "pruned_fp32",
                                            fp32_bundle.contract.provenance.made_by + ["quantize"],
                                            {"int8_recipe": name}).dir
             for name, path in build_candidates(fp32, work, calib, spec).items()}
    val = measure.val_set(cfg, spec=spec)
    real = measure.load_real(cfg)
    lat = measure.latency_ms({"fp32": fp32_bundle.dir, **cands}, runs=cfg.eval.latency_runs)
    rows = {}
    ref = _acc_keys(measure.onnx_accuracy(fp32_bundle, cfg, val, real))
    rows["fp32"] = {"latency_ms_p50_1t": lat["fp32"], "file_bytes": fp32.stat().st_size,
                    "params": measure.onnx_params(fp32), "char_acc": ref}
    for name, d in cands.items():
        acc = _acc_keys(measure.onnx_accuracy(d, cfg, val, real))
        drop = max(ref[k] - acc.get(k, 0.0) for k in ref) if ref else 0.0
        path = d / "model.onnx"
        rows[name] = {"latency_ms_p50_1t": lat[name], "file_bytes": path.stat().st_size,
                      "params": measure.onnx_params(path), "char_acc": acc, "max_char_acc_drop": drop,
                      "keeps_accuracy": drop <= cfg.quantize.int8_tol}
    ok = [n for n in cands if rows[n]["keeps_accuracy"]]
    pool = ok or list(cands)
    if not pool:
        raise SystemExit("no INT8 candidate could be built")
    best = pick_winner(rows, ok) if ok else min(pool, key=lambda n: rows[n]["max_char_acc_drop"])
    dest = artefacts.bundle_dir(cfg, "pruned_int8")
    artefacts.write_artefact(cfg, dest, cands[best] / "model.onnx", student, "pruned_int8", "pruned_fp32",
                             fp32_bundle.contract.provenance.made_by + ["quantize"], {"int8_recipe": best})
    ship_int8 = bool(ok) and rows[best]["latency_ms_p50_1t"] <= (1 + INT8_VS_FP32_SLACK) * rows["fp32"]["latency_ms_p50_1t"]
    res = {"winner": best, "ship_int8": ship_int8, "tolerance": cfg.quantize.int8_tol, "candidates": rows,
           "calib_lines": len(calib), "bundle": artefacts.rel(dest)}
    artefacts.write_json(out / "quant.json", res)
    for name, r in rows.items():
        print(f"int8 {name:20s} {r['latency_ms_p50_1t']:7.2f} ms  {r['file_bytes']:>10,} B  acc {r['char_acc']}")
    print(f"int8 winner: {best} (ship int8: {ship_int8})")
    shutil.rmtree(work, ignore_errors=True)
    return res
