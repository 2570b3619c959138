"""Export a CRNN checkpoint to ONNX (dynamic batch and width), verify it against PyTorch, and
write it as a model bundle (``slim_ocr.bundle``) with its contract:

    python -m pruning.training.export_onnx models/base/crnn_base.pt function/models/crnn-base
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from pruning import REPO
from pruning.evaluation.cost import onnx_params
from pruning.training.checkpoint import load_model
from slim_ocr.bundle import ModelBundle, write_bundle
from slim_ocr.charset import DEFAULT_CHARSET
from slim_ocr.contract import Measured, ModelContract, OutputSpec, Provenance

OPSET = 17


def export(model: torch.nn.Module, out: str | Path, verify: bool = True) -> dict:
    """Write ONNX with input ``images`` (B, C, H, W) per ``model.input_spec`` and output ``logits``
    (T, B, classes); return check stats."""
    model = model.float().eval()
    spec = model.input_spec
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, spec.channels, spec.height, 32 * spec.width_stride)
    # TorchScript exporter: keeps the width axis dynamic through the conv/LSTM stack.
    torch.onnx.export(model, (dummy,), str(out), input_names=["images"], output_names=["logits"],
                      dynamic_axes={"images": {0: "batch", 3: "width"}, "logits": {0: "time", 1: "batch"}},
                      opset_version=OPSET, dynamo=False)
    onnx.checker.check_model(str(out))
    stats = {"file_bytes": out.stat().st_size}
    if verify:
        stats["max_abs_diff"] = verify_onnx(model, out)
    return stats


def verify_onnx(model: torch.nn.Module, path: str | Path, widths=(64, 200, 640), batch=3) -> float:
    spec = model.input_spec
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for w in widths:
        x = rng.uniform(-1, 1, (batch, spec.channels, spec.height, w)).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run(None, {"images": x})[0]
        if got.shape != ref.shape:
            raise AssertionError(f"shape mismatch at width {w}: {got.shape} vs {ref.shape}")
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


def relative(path: str | Path) -> str:
    """A path as the contract records it: relative to the repository (never a machine path)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return path.name


def crnn_contract(model, name: str, made_from: str, made_by: list[str], recipe: dict | None = None,
                  measured: Measured | None = None, description: str = "") -> ModelContract:
    """The contract of an exported CRNN (charset hash is stamped by ``write_bundle``)."""
    return ModelContract(
        name=name, description=description, input=model.input_spec,
        output=OutputSpec(name="logits", layout="TBC", activation="logits", num_classes=model.cfg.num_classes,
                          charset="charset.txt", charset_sha256="0" * 64),
        provenance=Provenance(made_from=made_from, made_by=made_by, recipe=recipe or {},
                              licence="Slim OCR project, own weights: trained from scratch on rendered lines "
                                      "(Debian fonts and texts), no third-party weights"),
        measured=measured)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("bundle", help="bundle folder to write (e.g. function/models/crnn-base)")
    ap.add_argument("--name", default=None, help="model name in the contract (default: the folder's name)")
    ap.add_argument("--charset", default=str(DEFAULT_CHARSET))
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = load_model(args.checkpoint)
    bundle = Path(args.bundle)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        stats = export(model, onnx_path)
        params = onnx_params(onnx_path)   # ONNX initializer elements, as every contract counts them
        measured = Measured(date=time.strftime("%Y-%m-%d"), command="python -m pruning.training.export_onnx "
                            f"{relative(args.checkpoint)} {relative(bundle)}", params=params,
                            file_bytes=stats["file_bytes"])
        contract = crnn_contract(model, args.name or bundle.name, relative(args.checkpoint),
                                 [f"train ({ck.get('samples')} synthetic lines, "
                                  f"{round(ck.get('train_seconds', 0) / 3600, 2)} CPU-h)", "export"],
                                 measured=measured, description="Slim OCR's CRNN, unpruned fp32")
        loaded: ModelBundle = write_bundle(bundle, onnx_path, args.charset, contract)
    print(json.dumps({"bundle": str(loaded.dir), **stats}))


if __name__ == "__main__":
    main()
