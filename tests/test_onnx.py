"""ONNX: models exported by torch's own exporters, imported as specs (`cnncalc.onnx.to_spec`,
`cnncalc import NET.onnx`), and specs exported (`cnncalc export`) and run in onnxruntime.

Truth comes from outside cnncalc: the torch modules written here (`parameters()`,
`FlopCounterMode` FLOPs / 2 = MACs), onnxruntime's output shapes and values, and closed forms.
Batch norm: torch's exporters fold it into the convolutions of an eval-mode model, so a folded
graph's truth is the same module written without batch norm and with conv biases.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
np = pytest.importorskip("numpy")

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.commands import app  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.onnx]

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers

def export_torch(module: nn.Module, shape: tuple[int, ...], path: Path, **kw: object) -> Path:
    """torch's TorchScript exporter, opset 17, as a user would call it."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(1, *shape),), str(path), opset_version=17,
                          dynamo=False, **kw)
    return path


def torch_counts(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """params, buffers (running statistics) and MACs (FlopCounterMode / 2) of a module."""
    module.eval()
    flops = FlopCounterMode(display=False)
    with flops, torch.no_grad():
        module(torch.randn(1, *shape))
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for n, b in module.named_buffers()
                  if not n.endswith("num_batches_tracked"))
    return params, buffers, flops.get_total_flops() // 2


def analyse(text: str):
    return cnncalc.analyze(cnncalc.load_text(text, "imported.yaml"))


def onnxruntime_shapes(path: Path, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Every node output's shape as onnxruntime computes it (batch 1)."""
    model = onnx.load(str(path))
    known = {o.name for o in model.graph.output}
    for node in model.graph.node:
        for name in node.output:
            if name and name not in known:
                model.graph.output.append(onnx.ValueInfoProto(name=name))
                known.add(name)
    session = ort.InferenceSession(model.SerializeToString())
    names = [o.name for o in session.get_outputs()]
    values = session.run(None, {session.get_inputs()[0].name:
                                np.random.rand(1, *shape).astype(np.float32)})
    return {name: tuple(value.shape) for name, value in zip(names, values, strict=True)}


def check_rows_against_onnxruntime(path: Path, shape: tuple[int, ...]) -> int:
    """Every row's output shape equals onnxruntime's for the ONNX value it gives; how many
    rows were checked."""
    from cnncalc.onnx import import_model

    imported = import_model(path)
    report = analyse(imported.text)
    rows = {node.path: node for node in report.walk()}
    actual = onnxruntime_shapes(path, shape)
    for value, row_path in imported.rows.items():
        out = rows[row_path].output_shape
        nchw = (1, out[2], out[0], out[1]) if len(out) == 3 else (1, *out)
        assert actual[value] == nchw, (row_path, value)
    return len(imported.rows)


# --------------------------------------------------------------------------- models

class Basic(nn.Module):
    """torchvision's BasicBlock (with `bn=False`: the folded graph's module, conv biases)."""

    def __init__(self, c_in: int, c_out: int, stride: int, bn: bool = True):
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not bn)
        self.bn1 = norm(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not bn)
        self.bn2 = norm(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=not bn),
                                            norm(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class SmallResNet(nn.Module):
    def __init__(self, bn: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, 2, 3, bias=not bn)
        self.bn1 = nn.BatchNorm2d(16) if bn else nn.Identity()
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(Basic(16, 16, 1, bn), Basic(16, 16, 1, bn))
        self.layer2 = nn.Sequential(Basic(16, 32, 2, bn), Basic(32, 32, 1, bn))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SqueezeExcitation(nn.Module):
    """torchvision's SqueezeExcitation."""

    def __init__(self, c: int, s: int, gate: nn.Module):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, s, 1)
        self.fc2 = nn.Conv2d(s, c, 1)
        self.activation = nn.ReLU()
        self.scale_activation = gate

    def forward(self, x):
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


class Zoo(nn.Module):
    """Most ops the importer converts, without batch norm (nothing to fold)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)
        self.act1 = nn.SiLU()
        self.dw = nn.Conv2d(16, 16, 3, 1, 1, groups=16)
        self.act2 = nn.ReLU6()
        self.se = SqueezeExcitation(16, 4, nn.Hardsigmoid())
        self.pw = nn.Conv2d(16, 24, 1, bias=False)
        self.act3 = nn.Hardswish()
        self.pad = nn.ReflectionPad2d((1, 2, 0, 1))
        self.dilated = nn.Conv2d(24, 24, 3, dilation=2, padding=1)
        self.leaky = nn.LeakyReLU(0.2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.branch = nn.Conv2d(24, 8, 1)
        self.down = nn.AvgPool2d(3, 2, 1)
        self.deconv = nn.ConvTranspose2d(32, 8, 4, 2, 1)
        self.smooth = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.tanh = nn.Tanh()
        self.gelu = nn.GELU()
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.drop = nn.Dropout(0.3)
        self.fc1 = nn.Linear(8 * 9 * 8, 32)
        self.sig = nn.Sigmoid()
        self.fc2 = nn.Linear(32, 10)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.act2(self.dw(self.act1(self.stem(x))))           # 16x16x16
        x = self.act3(self.pw(self.se(x)))                        # 16x16x24
        x = self.leaky(self.dilated(self.pad(x)))                 # 15x17x24
        y = self.branch(self.up(x))                               # 30x34x8
        x = torch.cat([self.down(self.up(x)), self.down(y)], 1)  # 15x17x32
        x = self.tanh(self.smooth(self.deconv(x)))                # 60x68x8
        x = self.pool(self.gelu(x))                               # 30x34x8
        x = self.pool(self.pool(x))                               # 8x9x8 (ceil)
        x = self.drop(x).view(x.size(0), -1)
        return self.softmax(self.fc2(self.sig(self.fc1(x))))


# --------------------------------------------------------------------------- importing

def test_folded_graph_counts_equal_the_module_without_batch_norm(tmp_path):
    """An eval-mode export: torch folds every batch norm into its conv. The spec counts that
    graph: params, MACs and buffers of the same network written without batch norm (conv
    biases instead)."""
    from cnncalc.onnx import to_spec

    torch.manual_seed(0)
    path = export_torch(SmallResNet(bn=True), (3, 64, 64), tmp_path / "folded.onnx")
    text = to_spec(path)
    report = analyse(text)
    params, buffers, macs = torch_counts(SmallResNet(bn=False), (3, 64, 64))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        params, 0, macs)
    # what folding cost: 2C params and 2C buffers per batch norm, C conv biases back
    bn_params, bn_buffers, _ = torch_counts(SmallResNet(bn=True), (3, 64, 64))
    channels = bn_buffers // 2
    assert params == bn_params - 2 * channels + channels
    assert "batchnorm" not in {node.kind for node in report.walk()}
    assert "# This graph has no BatchNormalization node." in text.splitlines()
    assert check_rows_against_onnxruntime(path, (3, 64, 64)) >= 15


@pytest.mark.parametrize("how", [
    {"training": "PRESERVE"},  # eval mode, batch norm kept (no eval peephole)
    {"do_constant_folding": False},
    {"training": "TRAINING"},  # the legacy exporter keeps batch norm in training mode
])
def test_batch_norm_kept_counts_equal_the_module(tmp_path, how):
    from cnncalc.onnx import import_model

    kw = dict(how)
    if "training" in kw:
        kw["training"] = getattr(torch.onnx.TrainingMode, kw["training"])
    module = SmallResNet(bn=True)
    path = export_torch(module, (3, 64, 64), tmp_path / "kept.onnx", **kw)
    imported = import_model(path)
    report = analyse(imported.text)
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == \
        torch_counts(SmallResNet(bn=True), (3, 64, 64))
    # rows nest as the modules: the spec names them as torch does
    assert {"conv1", "bn1", "fc", "layer2.0.downsample.0", "layer2.0.downsample.1",
            "layer1.1.bn2"} <= _expanded(report)
    assert "layer1.1.bn2" in imported.rows.values()


def _expanded(report) -> set[str]:
    return {node.path for node in report.walk()}


def test_many_ops_counts_shapes_and_names(tmp_path):
    from cnncalc.onnx import import_model

    torch.manual_seed(0)
    module = Zoo()
    path = export_torch(module, (3, 32, 32), tmp_path / "zoo.onnx")
    imported = import_model(path)
    report = analyse(imported.text)
    params, buffers, macs = torch_counts(module, (3, 32, 32))
    assert (report.totals.params, report.totals.macs) == (params, macs)
    assert report.input_shape == (32, 32, 3)
    kinds = {node.kind for node in report.walk()}
    assert {"silu", "relu6", "se", "hardswish", "pad", "activation", "upsample", "concat",
            "conv_transpose", "tanh", "gelu", "maxpool", "avgpool", "flatten", "dense",
            "sigmoid", "softmax"} <= kinds
    rows = {node.path: node for node in report.walk()}
    assert rows["se"].kind == "se" and rows["se"].layer.squeeze == 4 \
        and rows["se"].layer.gate == "hardsigmoid"
    assert rows["dw"].layer.groups == 16 and rows["dilated"].layer.dilation == 2
    assert rows["pad"].layer.mode == "reflect" and rows["pad"].output_shape == (17, 19, 24)
    assert rows["leaky"].layer.negative_slope == 0.2
    assert rows["smooth"].layer.mode == "bilinear"
    assert rows["deconv"].output_shape == (30, 34, 8)
    assert rows["fc2"].output_shape == (10,)
    assert check_rows_against_onnxruntime(path, (3, 32, 32)) >= 25


class Modern(nn.Module):
    """ConvNeXt's pieces: LayerNorm2d (permute, LayerNorm, permute), exact GELU, layer
    scale; and torch.chunk / a crop by slicing."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 4, 4)
        self.norm = nn.LayerNorm(32, eps=1e-6)
        self.dw = nn.Conv2d(32, 32, 7, padding=3, groups=32)
        self.pw = nn.Conv2d(32, 64, 1)
        self.act = nn.GELU()
        self.gamma = nn.Parameter(torch.full((64, 1, 1), 1e-6))
        self.head = nn.Conv2d(32, 8, 1)

    def forward(self, x):
        x = self.conv(x)
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.gamma * self.act(self.pw(self.dw(x)))
        _, x = x.chunk(2, 1)
        return self.head(x[:, :, 1:-1, 2:-2])


def test_layer_norm_gelu_layer_scale_chunk_crop(tmp_path):
    module = Modern()
    path = export_torch(module, (3, 64, 64), tmp_path / "modern.onnx")
    from cnncalc.onnx import to_spec

    report = analyse(to_spec(path))
    params, _, macs = torch_counts(module, (3, 64, 64))
    assert (report.totals.params, report.totals.macs) == (params, macs)
    assert {"layernorm", "gelu", "layer_scale", "chunk", "crop"} <= {
        n.kind for n in report.walk()}
    assert report.outputs[0].output_shape == (14, 12, 8)
    check_rows_against_onnxruntime(path, (3, 64, 64))


def test_dynamo_export_imports_with_module_paths_from_metadata(tmp_path):
    """torch's dynamo exporter names nodes node_conv2d and keeps the module scopes in the
    node metadata; eval mode folds batch norm (its optimiser drops a zero bias too)."""
    from cnncalc.onnx import import_model

    module = SmallResNet(bn=False).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, (torch.randn(1, 3, 32, 32),), dynamo=True,
                                    verbose=False, report=False)
    path = tmp_path / "dynamo.onnx"
    program.save(str(path))
    imported = import_model(path)
    report = analyse(imported.text)
    params, _, macs = torch_counts(module, (3, 32, 32))
    assert (report.totals.params, report.totals.macs) == (params, macs)
    assert {"layer1.0.conv1", "layer2.0.downsample.0", "fc"} <= _expanded(report)


def test_input_shape_from_the_model_and_overridden(tmp_path, runner):
    from cnncalc.onnx import to_spec

    module = SmallResNet()
    path = tmp_path / "dyn.onnx"
    export_torch(module, (3, 64, 64), path, input_names=["x"],
                 dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    with pytest.raises(CnnCalcError, match="dynamic size; give the spec's input with --input"):
        to_spec(path)
    report = analyse(to_spec(path, (96, 128, 3)))
    assert report.input_shape == (96, 128, 3) and report.totals.params == \
        torch_counts(SmallResNet(bn=False), (3, 96, 128))[0]
    # a dynamic batch alone is fine
    fixed = export_torch(module, (3, 64, 64), tmp_path / "batch.onnx", input_names=["x"],
                         dynamic_axes={"x": {0: "n"}})
    assert analyse(to_spec(fixed)).input_shape == (64, 64, 3)
    result = runner.invoke(app, ["import", str(path), "--input", "32x32x3", "-o",
                                 str(tmp_path / "out.yaml")])
    assert result.exit_code == 0, result.output
    assert analyse((tmp_path / "out.yaml").read_text()).input_shape == (32, 32, 3)


def _handmade(tmp_path: Path, opset: int = 17, two_inputs: bool = False) -> Path:
    """A graph written with onnx.helper, as no torch exporter writes it: SAME_UPPER padding,
    Clip(0, 6) from Constant inputs, GlobalMaxPool, MatMul + Add, Sum."""
    from onnx import TensorProto, helper, numpy_helper

    def weight(name: str, *shape: int):
        return numpy_helper.from_array(np.ones(shape, np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2],
                         auto_pad="SAME_UPPER", name="/features/conv/Conv"),
        helper.make_node("Constant", [], ["lo"], value_float=0.0),
        helper.make_node("Constant", [], ["hi"], value_float=6.0),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"], name="/features/act/Clip"),
        helper.make_node("GlobalMaxPool", ["r1"], ["p"], name="/pool/GlobalMaxPool"),
        helper.make_node("Flatten", ["p"], ["f"], axis=1, name="/Flatten"),
        helper.make_node("MatMul", ["f", "w2"], ["m2"], name="/fc/MatMul"),
        helper.make_node("Add", ["m2", "b2"], ["d2"], name="/fc/Add"),
        helper.make_node("Relu", ["d2"], ["r2"], name="/relu/Relu"),
        helper.make_node("MatMul", ["r2", "w3"], ["d3"], name="/proj/MatMul"),
        helper.make_node("Identity", ["r2"], ["i2"], name="/skip/Identity"),
        helper.make_node("Sum", ["d3", "i2"], ["y"], name="/Sum"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 9, 9])]
    if two_inputs:
        inputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 6]))
    graph = helper.make_graph(
        nodes, "handmade", inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [weight("w1", 4, 3, 3, 3), weight("b1", 4), weight("w2", 4, 6), weight("b2", 6),
         weight("w3", 6, 6)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / "handmade.onnx"
    onnx.save(model, str(path))
    return path


def test_a_handmade_graph_counted_by_hand(tmp_path):
    from cnncalc.onnx import to_spec

    report = analyse(to_spec(_handmade(tmp_path)))
    rows = {node.path: node for node in report.walk()}
    # conv 3x3x3 -> 4, stride 2, SAME: ceil(9 / 2) = 5 rows and columns
    assert rows["features.conv"].output_shape == (5, 5, 4)
    assert rows["features.act"].kind == "relu6"
    assert rows["fc"].kind == "dense" and rows["fc"].layer.bias is True
    assert rows["proj"].layer.bias is False and rows["add"].kind == "add"
    params = (3 * 3 * 3 * 4 + 4) + (4 * 6 + 6) + 6 * 6
    macs = 3 * 3 * 3 * 4 * 5 * 5 + 4 * 6 + 6 * 6
    assert (report.totals.params, report.totals.macs) == (params, macs) == (178, 2760)


def test_refusals_name_the_reason(tmp_path):
    from cnncalc.onnx import to_spec

    with pytest.raises(CnnCalcError, match="opset is 11; cnncalc imports opset 13"):
        to_spec(_handmade(tmp_path, opset=11))
    with pytest.raises(CnnCalcError, match=r"takes 2 inputs \(x, z\)"):
        to_spec(_handmade(tmp_path, two_inputs=True))
    with pytest.raises(CnnCalcError, match="no such file"):
        to_spec(tmp_path / "missing.onnx")


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.abs(self.conv(x)) * 2.0
        x = x.transpose(2, 3)
        return self.fc(x.mean(dim=(2, 3))) + 1.0


def test_every_unsupported_node_is_listed_at_once(tmp_path, runner):
    path = export_torch(Unsupported(), (3, 16, 16), tmp_path / "bad.onnx")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("cannot import")]
    found = " ".join(lines)
    for op in ("(Abs): no converter for Abs", "(Mul): a product other than",
               "(Transpose): a transpose", "(Add): adding a constant"):
        assert op in found, found
    assert len(lines) == 4
    assert "/Abs" in found and "Traceback" not in result.output


def test_import_reads_the_file_and_never_writes_onto_it(tmp_path, runner):
    path = export_torch(SmallResNet(), (3, 32, 32), tmp_path / "net.onnx")
    before = path.read_bytes()
    result = runner.invoke(app, ["import", str(path), "-o", str(path)])
    assert result.exit_code == 2 and "is an input of this command" in result.output
    assert path.read_bytes() == before
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    result = runner.invoke(app, ["import", str(tmp_path / "junk.onnx")])
    assert result.exit_code == 2 and "not an ONNX model" in result.output


# --------------------------------------------------------------------------- exporting

def _run_onnx(path: Path, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x})


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "mobilenet_v2", "yolov8n"])
def test_export_runs_in_onnxruntime_and_imports_back(tmp_path, runner, name):
    """`cnncalc export`: onnxruntime gives build(spec)'s outputs (the same weights: the same
    seed), every output of the spec (yolov8n: p3, p4, p5), at any batch; importing the file
    gives back the spec's params, buffers and MACs exactly (batch norm is kept)."""
    from cnncalc.torch import build

    path = tmp_path / f"{name}.onnx"
    torch.manual_seed(0)
    result = runner.invoke(app, ["export", name, "-o", str(path)])
    assert result.exit_code == 0, result.output
    torch.manual_seed(0)
    network = build(name).eval()
    report = network.report
    shape = report.input_shape
    x = torch.randn(2, shape[2], shape[0], shape[1]) if len(shape) == 3 else \
        torch.randn(2, *shape)
    with torch.no_grad():
        expected = network(x)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = _run_onnx(path, x.numpy())
    assert len(got) == len(expected) == len(report.outputs)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-3, atol=1e-4)
    model = onnx.load(str(path))
    assert [o.name for o in model.graph.output] == [n.path for n in report.outputs]
    assert model.graph.name == name
    from cnncalc.onnx import to_spec

    back = analyse(to_spec(path))
    assert back.spec_name == name
    assert (back.totals.params, back.totals.buffers, back.totals.macs) == (
        report.totals.params, report.totals.buffers, report.totals.macs)


def test_export_fold_batchnorm_counts_by_hand(tmp_path, runner):
    """resnet18 folded: each of its batch norms (C channels) loses 2C params and 2C buffers
    and gives its conv C bias params; MACs are unchanged."""
    path = tmp_path / "folded.onnx"
    result = runner.invoke(app, ["export", "resnet18", "--fold-batchnorm", "-o", str(path)])
    assert result.exit_code == 0, result.output
    from cnncalc.onnx import to_spec

    spec = cnncalc.analyze(cnncalc.load("resnet18"))
    channels = spec.totals.buffers // 2  # running mean and variance: C each
    back = analyse(to_spec(path))
    assert back.totals.params == spec.totals.params - 2 * channels + channels == 11_684_712
    assert back.totals.buffers == 0 and back.totals.macs == spec.totals.macs


def test_export_input_override_and_stdout(tmp_path, runner):
    path = tmp_path / "small.onnx"
    assert runner.invoke(app, ["export", "lenet5", "--input", "64x64x3", "-o",
                               str(path)]).exit_code == 0
    out = _run_onnx(path, np.random.rand(3, 3, 64, 64).astype(np.float32))
    assert out[0].shape == (3, 10)
    result = subprocess.run([sys.executable, "-m", "cnncalc", "export", "lenet5", "-o", "-"],
                            capture_output=True, check=True)
    assert onnx.load_from_string(result.stdout).graph.name == "lenet5"


def test_export_never_writes_onto_its_spec(tmp_path, runner):
    spec = tmp_path / "net.yaml"
    spec.write_text((ROOT / "specs" / "lenet5.yaml").read_text())
    before = spec.read_text()
    result = runner.invoke(app, ["export", str(spec), "-o", str(spec)])
    assert result.exit_code == 2 and "is an input of this command" in result.output
    assert spec.read_text() == before


# --------------------------------------------------------------------------- docs, layering

def test_docs_table_is_the_converter_table():
    from cnncalc.onnx import ops_table

    doc = (ROOT / "docs" / "importing-onnx.md").read_text()
    table = re.search(r"<!-- ops table: begin.*?-->\n(.*?)<!-- ops table: end -->", doc, re.S)
    assert table is not None
    assert table.group(1) == ops_table(), (
        "regenerate: python -c 'from cnncalc.onnx import ops_table; print(ops_table())'")


def test_show_does_not_import_onnx():
    code = (
        "import sys\n"
        "from cnncalc.commands import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['show', 'resnet18', '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "import cnncalc\n"
        "bad = [m for m in ('onnx', 'onnxruntime', 'onnxscript', 'cnncalc.onnx', 'torch')\n"
        "       if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_missing_onnx_is_one_line_with_the_install_hint(tmp_path, runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    monkeypatch.delitem(sys.modules, "cnncalc.onnx", raising=False)
    monkeypatch.delattr(cnncalc, "onnx", raising=False)  # as if never imported
    path = tmp_path / "x.onnx"
    path.write_bytes(b"")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2 and "pip install 'cnncalc[onnx]'" in result.output
    result = runner.invoke(app, ["export", "lenet5", "-o", str(tmp_path / "y.onnx")])
    assert result.exit_code == 2 and "pip install 'cnncalc[torch,onnx]'" in result.output
