"""Export a CRNN checkpoint to ONNX (dynamic batch and width) and verify it against PyTorch.

    python -m pruning.export_onnx runs/base/best.pt function/model/model.onnx --name slim-crnn-base
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .model import CRNN, CRNNConfig

OPSET = 17


def load_model(ckpt_path: str | Path) -> CRNN:
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    model = ck["model"] if isinstance(ck.get("model"), torch.nn.Module) else None
    if model is None:
        model = CRNN(CRNNConfig(**ck["config"]))
        model.load_state_dict({k: v.float() for k, v in ck["model"].items()})
    return model.float().eval()


def export(model: torch.nn.Module, out: str | Path, verify: bool = True) -> dict:
    """Write ONNX with input ``images`` (B,1,32,W) and output ``logits`` (T,B,C); return check stats."""
    model = model.float().eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 1, 32, 128)
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
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for w in widths:
        x = rng.uniform(-1, 1, (batch, 1, 32, w)).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run(None, {"images": x})[0]
        if got.shape != ref.shape:
            raise AssertionError(f"shape mismatch at width {w}: {got.shape} vs {ref.shape}")
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


def write_metadata(onnx_path: Path, name: str, extra: dict | None = None) -> Path:
    meta = {"name": name, "exported": time.strftime("%Y-%m-%d"), "input_height": 32, "width_stride": 4,
            "charset": "charset.txt", **(extra or {})}
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--name", default="slim-crnn")
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = load_model(args.checkpoint)
    stats = export(model, args.out)
    extra = {"trained_samples": ck.get("samples"), "train_hours": round(ck.get("train_seconds", 0) / 3600, 2), **stats}
    write_metadata(Path(args.out), args.name, extra)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
