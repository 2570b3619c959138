"""Model bundles and their contract: every shipped bundle is consistent, loading names the wrong
file, and a model with another input contract is served through the same code path."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from slim_ocr import bundle as B
from slim_ocr.contract import ContractError, InputSpec, ModelContract, OutputSpec, Provenance
from slim_ocr.pipeline import OcrEngine
from slim_ocr.recognizer import Recognizer

REPO = Path(__file__).resolve().parents[1]
SHIPPED = B.available()


def test_the_project_ships_crnn_and_its_base():
    assert B.DEFAULT_MODEL in SHIPPED and B.CRNN in SHIPPED and "crnn-base" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_bundle_gate(name):
    """contract <-> ONNX <-> charset agree, and the contract says where the weights came from."""
    rec = Recognizer(name, threads=1)          # checks charset hash/size and ONNX inputs/outputs
    c = rec.contract
    assert c.name == name == rec.bundle.dir.name
    assert c.provenance.licence and c.provenance.made_from and not c.provenance.made_from.startswith("/")
    assert c.measured is not None and c.measured.date and c.measured.command.startswith("python -m ")
    assert c.measured.file_bytes == (rec.bundle.dir / "model.onnx").stat().st_size
    spec = c.input
    line = np.full((spec.height, 10 * spec.height, 3), 255, np.uint8)
    assert rec.recognize([line]) == [("", 0.0)]   # a blank line reads as nothing


def _committed(pattern: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", pattern], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / p for p in out.split()]


def test_no_machine_paths_in_committed_json():
    machine = re.compile(r'"(/(?:work|root|home|tmp|opt|usr)/[^"]*)"')
    bad = {str(p.relative_to(REPO)): machine.findall(p.read_text(encoding="utf-8"))[:3]
           for p in _committed("*.json")}
    assert not {k: v for k, v in bad.items() if v}


def test_one_pruning_report_names_the_shipped_crnn():
    reports = [json.loads(p.read_text()) for p in sorted((REPO / "reports").glob("pruning*/report.json"))]
    naming = [r for r in reports if r.get("shipped_bundle") == f"function/models/{B.CRNN}"]
    assert len(naming) == 1, [r.get("shipped_bundle") for r in reports]
    rep = naming[0]
    shipped = REPO / rep["shipped_bundle"]
    assert shipped.parent == B.MODELS_DIR and (shipped / "model.onnx").exists()
    c = ModelContract.load(shipped)
    assert c.measured.params == rep["models"][rep["shipped"]]["params"]


# ---- a model with another contract: 48-px BGR, stride 8, softmax (B, T, C), own charset ----
def colour_model(path: Path) -> Path:
    """A hand-made 'recogniser' that reads colour: per 8-column frame, red -> 'A', blue -> 'B',
    white -> blank. Input (B, 3, 48, W) normalised to [-1, 1] as PP-OCR does; output (B, W/8, 3)."""
    # rows: the B, G, R input channels; columns: blank (their sum), A = 2 (R - G - B), B = 2 (B - G - R)
    w = np.array([[1, -2, 2], [1, -2, -2], [1, 2, -2]], np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["images", "ax_h"], ["cols"], keepdims=0),          # (B, 3, W)
        helper.make_node("Reshape", ["cols", "frames"], ["blocks"]),                         # (B, 3, T, 8)
        helper.make_node("ReduceMean", ["blocks", "ax_last"], ["feat"], keepdims=0),        # (B, 3, T)
        helper.make_node("Transpose", ["feat"], ["btc"], perm=[0, 2, 1]),                    # (B, T, 3)
        helper.make_node("MatMul", ["btc", "w"], ["logits"]),
        helper.make_node("Mul", ["logits", "sharp"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["probs"], axis=-1),
    ]
    inits = [numpy_helper.from_array(np.array([2], np.int64), "ax_h"),
             numpy_helper.from_array(np.array([0, 3, -1, 8], np.int64), "frames"),
             numpy_helper.from_array(np.array([3], np.int64), "ax_last"),
             numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(4.0, np.float32), "sharp")]
    graph = helper.make_graph(nodes, "colour", [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 3, 48, "W"])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["B", "T", 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def colour_bundle(dest: Path) -> Path:
    tmp = dest.parent / "src"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "charset.txt").write_text("A\nB\n", encoding="utf-8")
    contract = ModelContract(
        name=dest.name,
        input=InputSpec(channels=3, color="bgr", height=48, width_stride=8, min_width=16, max_width=2048,
                        mean=[0.5] * 3, std=[0.5] * 3, pad="zero"),
        output=OutputSpec(name="probs", layout="BTC", activation="softmax", num_classes=3, charset_sha256="0" * 64),
        provenance=Provenance(made_from="tests/test_bundles.py", licence="test model"))
    return B.write_bundle(dest, colour_model(tmp / "model.onnx"), tmp / "charset.txt", contract).dir


def stripes(colours: list[tuple[int, int, int]], width: int = 16, height: int = 48) -> np.ndarray:
    img = np.full((height, width * len(colours), 3), 255, np.uint8)
    for i, c in enumerate(colours):
        img[:, i * width:(i + 1) * width] = c
    return img


RED, BLUE, WHITE = (0, 0, 255), (255, 0, 0), (255, 255, 255)


def test_a_colour_model_is_served_by_OCR_MODEL(tmp_path, monkeypatch, client):
    d = colour_bundle(tmp_path / "colour48")
    monkeypatch.setenv("OCR_MODEL", str(d))
    engine = OcrEngine()                       # what app.py builds at start-up
    assert engine.model_name == "colour48" and engine.recognizer.spec.channels == 3
    img = stripes([RED, WHITE, BLUE, WHITE, RED, RED, WHITE])
    ok, png = cv2.imencode(".png", img)
    res = engine.run_bytes(png.tobytes(), "line")
    assert [line.text for line in res.lines] == ["ABA"] and res.model == "colour48"
    # the same through HTTP: the app serves whatever engine OCR_MODEL made
    import app as app_module
    monkeypatch.setattr(app_module, "ENGINE", engine)
    r = client.post("/predict", files={"image": ("s.png", png.tobytes(), "image/png")}, data={"mode": "line"})
    assert r.status_code == 200 and r.json()["text"] == "ABA" and r.json()["model"] == "colour48"
    assert client.get("/api/v1/health").json()["model"] == "colour48"
    # in gray, red and blue stripes look alike: colour really reached the model
    gray = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert engine.recognizer.recognize([gray])[0][0] == "AAA"


def test_loading_names_the_wrong_file(tmp_path):
    d = colour_bundle(tmp_path / "m")
    Recognizer(d)
    (d / "charset.txt").write_text("A\nB\nC\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"charset\.txt.*sha256"):
        B.ModelBundle.load(d)

    d2 = colour_bundle(tmp_path / "wrong_channels")
    c = ModelContract.load(d2)
    c = c.model_copy(update={"input": InputSpec(channels=1, color="gray", height=48, width_stride=8,
                                                mean=[0.5], std=[0.5])})
    c.save(d2)
    with pytest.raises(ContractError, match=r"model\.onnx.*3 channels, contract says 1"):
        Recognizer(d2)

    d3 = tmp_path / "no_contract"
    shutil.copytree(d, d3)
    (d3 / "model.json").unlink()
    with pytest.raises(ContractError, match=r"no_contract/model\.json: no model contract"):
        Recognizer(d3)
    with pytest.raises(ContractError, match="no model bundle 'nope'.*have: .*crnn"):
        B.bundle_dir("nope")


def test_contract_rejects_inconsistent_specs():
    with pytest.raises(ValueError, match="channels=3"):
        InputSpec(channels=3, color="gray", height=48, width_stride=8, mean=[0.5] * 3, std=[0.5] * 3)
    with pytest.raises(ValueError, match="one value per channel"):
        InputSpec(channels=3, color="bgr", height=48, width_stride=8, mean=[0.5], std=[0.5])
    with pytest.raises(ValueError, match="relative"):
        Provenance(made_from="/work/main/runs/x.pt", licence="x")


def test_aspect_height_keeps_the_width_of_the_taller_geometry():
    """A 32-px student of a 48-px teacher reads lines as wide as the teacher's (same frames)."""
    from slim_ocr.contract import PPOCR_INPUT
    from slim_ocr.preprocess import prepare_line

    squeezed = PPOCR_INPUT.model_copy(update={"height": 32, "aspect_height": 48})
    line = np.full((40, 301, 3), 255, np.uint8)
    a, b = prepare_line(line, PPOCR_INPUT), prepare_line(line, squeezed)
    assert a.shape[:2] == (48, 368) and b.shape[:2] == (32, 368)
