"""The model contracts: what a bundle's ``model.json`` promises about its ONNX file --
``ModelContract`` for recognisers (below), ``DetectorContract`` for text detectors
(``function/models/detectors/<name>/``: the page's resize and normalisation, the DB
post-processing thresholds; read by ``db_detector``), ``OrientationContract`` for page
orientation classifiers (``function/models/orientation/<name>/``; ``orientation_classifier``).

A bundle is a folder ``function/models/<name>/`` with ``model.onnx``, ``charset.txt`` and
``model.json``. Every consumer -- the service's recogniser, training batches, evaluation,
INT8 calibration, FLOP counting, export, the benchmark -- reads a line's geometry and
normalisation from here instead of constants, so a model with another input (48-px BGR,
stride 8, its own charset) is served and trained through the same code path.

Line tensor, per the ``input`` section: a crop in ``color`` order is resized to ``height``
keeping aspect (or to the width it has at ``aspect_height``; width rounded up to a multiple of
``width_stride``, within ``min_width``..``max_width``), then ``x * scale``, ``(x - mean) / std`` per channel, NCHW;
batches are right-padded by ``pad`` ("median": the line's own median value, i.e. its
background; "zero": 0 after normalisation). Output, per ``output``: ``layout`` "TBC" or "BTC"
scores over ``num_classes`` = charset + blank, ``activation`` "logits" or "softmax"; frame t
covers input columns [t * width_stride, (t + 1) * width_stride).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSION = 1
CONTRACT_FILE = "model.json"
MODEL_FILE = "model.onnx"


class ContractError(ValueError):
    """A bundle whose files disagree with each other or with its contract (message names the file)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class _ContractFile(_Strict):
    """Load/save of a bundle's ``model.json`` (recogniser or detector contract)."""

    @classmethod
    def load(cls, bundle_dir: str | Path):
        path = Path(bundle_dir) / CONTRACT_FILE
        if not path.exists():
            raise ContractError(f"{path}: no model contract (a bundle needs {CONTRACT_FILE} and {MODEL_FILE})")
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise ContractError(f"{path}: invalid model contract: {exc}") from None

    def save(self, bundle_dir: str | Path) -> Path:
        path = Path(bundle_dir) / CONTRACT_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


class InputSpec(_Strict):
    name: str = Field("images", description="ONNX input name")
    channels: Literal[1, 3]
    color: Literal["gray", "bgr", "rgb"]
    height: int = Field(..., gt=0)
    aspect_height: int | None = Field(None, gt=0, description=(
        "the line's width is the one it has resized to this height, keeping aspect (default: height); "
        "a model reading lines squeezed vertically (a 32-px student of a 48-px teacher) keeps its "
        "teacher's frames per character"))
    width_stride: int = Field(..., gt=0, description="input columns per output frame")
    min_width: int = Field(16, gt=0)
    max_width: int = Field(2048, gt=0, description="wider lines are squeezed horizontally")
    scale: float = 1.0 / 255.0
    mean: list[float]
    std: list[float]
    pad: Literal["median", "zero"] = "median"

    @model_validator(mode="after")
    def _consistent(self):
        if (self.channels == 1) != (self.color == "gray"):
            raise ValueError(f"channels={self.channels} does not fit color={self.color!r}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError("mean and std need one value per channel")
        if any(s <= 0 for s in self.std):
            raise ValueError("std must be positive")
        if self.min_width % self.width_stride or self.max_width % self.width_stride:
            raise ValueError("min_width and max_width must be multiples of width_stride")
        return self

    def frames(self, width: int) -> int:
        """Output frames of a line ``width`` columns wide (after preparation)."""
        return width // self.width_stride


class OutputSpec(_Strict):
    name: str | None = Field(None, description="ONNX output name (default: the first output)")
    layout: Literal["TBC", "BTC"]
    activation: Literal["logits", "softmax"]
    num_classes: int = Field(..., gt=1)
    blank: int = 0
    charset: str = "charset.txt"
    charset_sha256: str
    text_fold: Literal["none", "nfkc"] = Field(
        "none", description="applied to decoded text so every model's text compares alike: "
                            "'nfkc' folds full-width forms (，→, Ａ→A) the way the evaluation does")

    @field_validator("blank")
    @classmethod
    def _blank_first(cls, v):
        if v != 0:
            raise ValueError("only blank index 0 is supported (charset line i is class i + 1)")
        return v


class Provenance(_Strict):
    made_from: str = Field(..., description="relative path or package==version it was made from")
    made_by: list[str] = Field(default_factory=list, description="pipeline stages / steps, in order")
    recipe: dict = Field(default_factory=dict)
    licence: str
    notes: str = ""

    @field_validator("made_from")
    @classmethod
    def _relative(cls, v):
        if v.startswith("/") or ":\\" in v:
            raise ValueError(f"made_from must be a relative path or package name, not {v!r}")
        return v


class Measured(_Strict):
    date: str
    command: str
    params: int | None = None
    file_bytes: int | None = None
    latency_ms_1t: float | None = Field(None, description="p50 ms per reference line, ORT, 1 thread")
    reference_line: str | None = Field(None, description="e.g. '32x320' (height x width)")
    accuracy: dict[str, float] = Field(default_factory=dict, description="char accuracy per subset")


class ModelContract(_ContractFile):
    format_version: int = FORMAT_VERSION
    name: str
    description: str = ""
    input: InputSpec
    output: OutputSpec
    provenance: Provenance
    measured: Measured | None = None

    # ---- checks -------------------------------------------------------------------------
    def check_charset(self, bundle_dir: str | Path, n_chars: int) -> None:
        path = Path(bundle_dir) / self.output.charset
        digest = file_sha256(path)
        if digest != self.output.charset_sha256:
            raise ContractError(f"{path}: sha256 {digest[:12]}… does not match the contract's "
                                f"{self.output.charset_sha256[:12]}… ({Path(bundle_dir) / CONTRACT_FILE})")
        if n_chars + 1 != self.output.num_classes:
            raise ContractError(f"{path}: {n_chars} characters + blank != num_classes "
                                f"{self.output.num_classes} in {Path(bundle_dir) / CONTRACT_FILE}")

    def check_onnx_io(self, model_path: str | Path, inputs: list, outputs: list) -> None:
        """``inputs``/``outputs``: ONNX Runtime NodeArg lists (name, shape) of the model file."""
        where = f"{model_path} vs {Path(model_path).with_name(CONTRACT_FILE)}"
        by_name = {i.name: i for i in inputs}
        if self.input.name not in by_name:
            raise ContractError(f"{where}: no input named {self.input.name!r} (has {list(by_name)})")
        shape = by_name[self.input.name].shape
        if len(shape) != 4:
            raise ContractError(f"{where}: input rank {len(shape)}, the contract needs NCHW (4)")
        if isinstance(shape[1], int) and shape[1] != self.input.channels:
            raise ContractError(f"{where}: input has {shape[1]} channels, contract says {self.input.channels}")
        if isinstance(shape[2], int) and shape[2] != self.input.height:
            raise ContractError(f"{where}: input height {shape[2]}, contract says {self.input.height}")
        out = self.output_arg(outputs)
        if len(out.shape) != 3:
            raise ContractError(f"{where}: output rank {len(out.shape)}, the contract needs 3 ({self.output.layout})")
        classes = out.shape[-1]
        if isinstance(classes, int) and classes != self.output.num_classes:
            raise ContractError(f"{where}: output has {classes} classes, contract says {self.output.num_classes}")

    def output_arg(self, outputs: list):
        if self.output.name is None:
            return outputs[0]
        for o in outputs:
            if o.name == self.output.name:
                return o
        raise ContractError(f"no output named {self.output.name!r} (has {[o.name for o in outputs]})")


class PageInput(_Strict):
    """What every page model's input shares: ``x * scale``, ``(x - mean) / std`` per channel in
    ``color`` order, NCHW; the ONNX input ``name`` (default: the first input)."""
    name: str | None = Field(None, description="ONNX input name (default: the first input)")
    color: Literal["bgr", "rgb"] = "bgr"
    scale: float = 1.0 / 255.0
    mean: list[float] = Field(..., min_length=3, max_length=3)
    std: list[float] = Field(..., min_length=3, max_length=3)

    def pixel_normalisation(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, 1 / std) in pixel units, shaped (3,): ``(x - mean) * inv_std`` on uint8 pixels."""
        mean = np.asarray(self.mean, np.float32) / np.float32(self.scale)
        return mean, 1.0 / (np.asarray(self.std, np.float32) / np.float32(self.scale))

    def to_tensor(self, image: np.ndarray) -> np.ndarray:
        """An (H, W, 3) uint8 page, already in the contract's colour order and size, as the
        network's (1, 3, H, W) float32 input. Normalised plane by plane after the transpose:
        broadcasting over the channel axis of (H, W, 3) took 12 ms for a 608 x 864 page, this 1 ms."""
        mean, inv_std = self.pixel_normalisation()
        x = np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32)
        x -= mean.reshape(3, 1, 1)
        x *= inv_std.reshape(3, 1, 1)
        return x[None]


class DetectorInput(PageInput):
    """A page for a DB text detector: resized (aspect kept) so that its longer side is at most
    ``limit_side`` (``limit_type`` "max", never enlarged) or its shorter side at least
    ``limit_side`` ("min", never reduced), the longer side capped at ``max_side`` either way;
    both sides rounded to multiples of ``multiple``; then normalised (``PageInput``)."""
    limit_type: Literal["max", "min"] = "max"
    limit_side: int = Field(960, gt=0)
    max_side: int = Field(2560, gt=0, description="cap on the longer side (time and memory)")
    multiple: int = Field(32, gt=0)


class DBPostprocess(_Strict):
    """Differentiable-binarisation output -> boxes: the probability map (N, 1, H, W) at the
    input's resolution is thresholded at ``thresh``; each connected region's minimum-area
    rectangle is kept when the mean probability inside it is at least ``box_thresh`` and
    then grown by ``unclip_ratio`` x area / perimeter on every side (DB predicts shrunk text
    kernels)."""
    thresh: float = Field(0.3, gt=0, lt=1)
    box_thresh: float = Field(0.6, gt=0, lt=1)
    unclip_ratio: float = Field(1.5, gt=0)
    min_size: int = Field(3, gt=0, description="shorter side in map pixels below which a region is dropped")
    max_candidates: int = Field(1000, gt=0)


class DBProbe(_Strict):
    """Text-size-aware detection: the page is first detected at ``scale`` of its input size (a
    quarter of the work at 0.5). That result stands when every box is at least ``min_box_px``
    tall in the probe's input and no text-like region is left outside its boxes; otherwise the
    page is detected again at its full input size. Text too small for the probe gives it no
    probability at all, so the guard looks at the page at full input size: strong edges (3 x 3
    morphological gradient >= ``edge_level``) outside the probe's boxes, joined along the
    line, form a text-like region when it is at least ``min_text_px`` tall, twice as wide as
    tall and a quarter filled (rules, frames and single icons are not)."""
    scale: float = Field(0.5, gt=0, lt=1)
    min_box_px: float = Field(9.0, gt=0)
    edge_level: int = Field(48, ge=1, le=255)
    min_text_px: int = Field(4, ge=1)


class _PageModelContract(_ContractFile):
    """A page model's contract (detector, orientation classifier): ``input`` is a ``PageInput``."""

    def _input_shape(self, model_path: str | Path, inputs: list) -> tuple[str, list]:
        """(where, for messages; the shape of the contract's ONNX input)."""
        where = f"{model_path} vs {Path(model_path).with_name(CONTRACT_FILE)}"
        shape = inputs[0].shape if self.input.name is None else \
            next((i.shape for i in inputs if i.name == self.input.name), None)
        if shape is None:
            raise ContractError(f"{where}: no input named {self.input.name!r}")
        return where, shape


def page_bundle_dir(root: Path, name: str | Path, what: str) -> Path:
    """Folder of the page-model bundle ``name``: a bare name is a folder under ``root``, anything
    with a path separator (or a Path) is a folder itself; it must hold ``model.onnx``."""
    path = Path(name) if isinstance(name, Path) or "/" in str(name) else root / name
    if not (path / MODEL_FILE).exists():
        have = sorted(p.name for p in root.glob(f"*/{CONTRACT_FILE}")) if root.is_dir() else []
        raise ContractError(f"no {what} bundle {str(name)!r} in {root} (have: {', '.join(have) or 'none'})")
    return path


class DetectorContract(_PageModelContract):
    """``model.json`` of a detector bundle ``function/models/detectors/<name>/``."""
    format_version: int = FORMAT_VERSION
    task: Literal["detection"] = "detection"
    name: str
    description: str = ""
    kind: Literal["db"] = "db"
    input: DetectorInput
    post: DBPostprocess = Field(default_factory=DBPostprocess)
    probe: DBProbe | None = None
    provenance: Provenance
    measured: dict = Field(default_factory=dict, description="figures with the command that produced them")

    def check_onnx_io(self, model_path: str | Path, inputs: list, outputs: list) -> None:
        where, shape = self._input_shape(model_path, inputs)
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise ContractError(f"{where}: input shape {shape}, a DB detector takes (N, 3, H, W)")
        if len(outputs[0].shape) != 4:
            raise ContractError(f"{where}: output rank {len(outputs[0].shape)}, a DB detector gives (N, 1, H, W)")


class OrientationInput(PageInput):
    """A page for an orientation classifier: resized (aspect kept, Lanczos) so that its shorter
    side is ``resize_short``, the centre ``crop`` x ``crop`` cut out, then normalised (``PageInput``)."""
    resize_short: int = Field(256, gt=0)
    crop: int = Field(224, gt=0)

    @model_validator(mode="after")
    def _crop_fits(self):
        if self.crop > self.resize_short:
            raise ValueError(f"crop {self.crop} > resize_short {self.resize_short}")
        return self


class OrientationContract(_PageModelContract):
    """``model.json`` of a page-orientation bundle ``function/models/orientation/<name>/``: one
    class per entry of ``labels``, each the clockwise turn (degrees) of the page's content; a
    prediction below ``min_confidence`` says nothing."""
    format_version: int = FORMAT_VERSION
    task: Literal["orientation"] = "orientation"
    name: str
    description: str = ""
    input: OrientationInput
    labels: list[Literal[0, 90, 180, 270]] = Field(..., min_length=2)
    activation: Literal["logits", "softmax"] = "softmax"
    min_confidence: float = Field(0.6, ge=0, lt=1)
    provenance: Provenance
    measured: dict = Field(default_factory=dict, description="figures with the command that produced them")

    def check_onnx_io(self, model_path: str | Path, inputs: list, outputs: list) -> None:
        where, shape = self._input_shape(model_path, inputs)
        if len(shape) != 4 or shape[1:] != [3, self.input.crop, self.input.crop]:
            raise ContractError(f"{where}: input shape {shape}, the contract says (N, 3, {self.input.crop}, {self.input.crop})")
        out = outputs[0].shape
        if len(out) != 2 or (isinstance(out[1], int) and out[1] != len(self.labels)):
            raise ContractError(f"{where}: output shape {out}, the contract has {len(self.labels)} labels")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# The input of the project's own CRNN (32-px gray, [-1, 1], stride 4, median padding).
CRNN_INPUT = InputSpec(channels=1, color="gray", height=32, width_stride=4, min_width=16, max_width=2048,
                       scale=1.0 / 255.0, mean=[0.5], std=[0.5], pad="median")

# The input every PP-OCR recogniser shares (48-px BGR, (x/255 - 0.5)/0.5, stride 8, zero padding).
PPOCR_INPUT = InputSpec(channels=3, color="bgr", height=48, width_stride=8, min_width=16, max_width=2048,
                        scale=1.0 / 255.0, mean=[0.5] * 3, std=[0.5] * 3, pad="zero")
