"""`cnncalc import` of torch modules: round trips checked against torch itself.

Truth from outside the importer: torchvision's networks transcribed in
`tests/torchvision_small.py` (ResNet with BasicBlock and Bottleneck, DenseNet, GoogLeNet,
MobileNetV3, EfficientNet, ConvNeXt with its Linears on channels-last maps and its bare
layer-scale Parameter) and timm's pieces in `tests/timm_small.py` (BatchNormAct2d, DLA,
Res2Net, SplitAttn, MobileNetV3's head with timm's Linear), counted by torch (`numel` of
parameters and buffers, batch norm's step counter aside; `FlopCounterMode` halved for MACs)
and run by torch (the imported spec's module, built by `cnncalc.torch.build`, must load the
original's state_dict strictly and compute the same outputs).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from functools import partial
from pathlib import Path

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.commands import app  # noqa: E402
from cnncalc.core.engine import analyze  # noqa: E402
from cnncalc.core.source import load_text  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from tests import timm_small as tm  # noqa: E402
from tests import torchvision_small as tv  # noqa: E402

pytestmark = [pytest.mark.torch,
              # torch.export's own run_decompositions warns of its pytree internals
              pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")]

#: name -> (a factory of the torch module, the input HxWxC)
MODELS = {
    "resnet18": (lambda: tv.resnet18(width=16, num_classes=10), (64, 64, 3)),
    "resnet50": (lambda: tv.resnet50(width=16, num_classes=10), (64, 64, 3)),
    "densenet": (tv.densenet_small, (64, 64, 3)),
    "googlenet": (lambda: tv.GoogLeNet(num_classes=10, aux_logits=True, width=4), (96, 96, 3)),
    "mobilenet_v3_small": (tv.mobilenet_v3_small, (64, 64, 3)),
    "efficientnet_b0": (tv.efficientnet_b0, (64, 64, 3)),
    "convnext": (tv.convnext_small, (64, 64, 3)),
    "timm_norm_act": (tm.NormActNet, (32, 32, 3)),
    "shufflenet_v2": (tv.shufflenet_v2_small, (64, 64, 3)),
    "timm_res2net": (tm.Res2NetStage, (16, 16, 3)),
    # EfficientNet's SE (SiLU, sigmoid), MobileNetV3's (ReLU, hard sigmoid), SE-ResNet's
    "timm_se_efficientnet": (lambda: tm.SENet(partial(tm.SqueezeExcite, act_layer=nn.SiLU)),
                             (16, 16, 3)),
    "timm_se_mobilenetv3": (lambda: tm.SENet(partial(
        tm.SqueezeExcite, gate_layer=nn.Hardsigmoid, force_act_layer=nn.ReLU)), (16, 16, 3)),
    "timm_se_module": (lambda: tm.SENet(partial(tm.SEModule, rd_ratio=0.25)), (16, 16, 3)),
    # MobileNetV3's efficient head, its classifier timm's Linear (an nn.Linear subclass)
    "timm_mobilenetv3": (lambda: tm.MobileNetV3(drop_rate=0.2), (32, 32, 3)),
}


def torch_counts(model: nn.Module, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """params, buffers (no num_batches_tracked) and MACs (FlopCounterMode / 2, eval mode)."""
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers()
                  if not name.endswith("num_batches_tracked"))
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, shape[2], shape[0], shape[1]))
    return params, buffers, counter.get_total_flops() // 2


def randomised(model: nn.Module) -> nn.Module:
    """Batch norms with running statistics and affine parameters away from their defaults,
    and ConvNeXt's layer scales near 1 (at 1e-6 they would hide every block's body), so that
    a wrongly loaded or skipped one changes the output."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            scale = getattr(module, "layer_scale", None)
            if isinstance(scale, nn.Parameter):
                scale.copy_(torch.rand(scale.shape, generator=generator) + 0.5)
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                c = module.num_features
                module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(c, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(c, generator=generator) * 0.1)
    return model


@pytest.fixture(scope="module")
def imported() -> dict[str, tuple[nn.Module, tuple[int, int, int], str]]:
    """Each model, its input and the spec text `cnncalc.torch.to_spec` writes of it."""
    torch.manual_seed(0)
    found = {}
    for name, (make, shape) in MODELS.items():
        model = randomised(make()).eval()
        found[name] = (model, shape, ct.to_spec(model, shape))
    return found


@pytest.mark.parametrize("name", MODELS)
def test_totals_equal_torchs_counts(imported, name: str) -> None:
    model, shape, text = imported[name]
    report = analyze(load_text(text, f"{name}.yaml"))
    params, buffers, macs = torch_counts(model, shape)
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        params, buffers, macs)


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_loads_and_outputs_agree(imported, name: str) -> None:
    model, shape, text = imported[name]
    built = ct.build(load_text(text, f"{name}.yaml")).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, shape[2], shape[0], shape[1], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = model(x), built(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_text_reads_back_to_the_same_report(runner, tmp_path: Path, imported,
                                            name: str) -> None:
    """The YAML written is the spec: `cnncalc show` of the file gives the report of the text,
    row by row."""
    _, _, text = imported[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["show", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    report = analyze(load_text(text, f"{name}.yaml"))
    rows = [(n.path, list(n.output_shape), n.params, n.macs) for n in report.walk()
            if n.children is None]
    assert [(r["path"], r["output_shape"], r["params"], r["macs"])
            for r in shown["layers"]] == rows
    assert (shown["totals"]["params"], shown["totals"]["macs"]) == (report.totals.params,
                                                                   report.totals.macs)


def test_googlenet_auxiliary_heads_are_training_only_rows(imported) -> None:
    """torchvision's GoogLeNet runs aux1 and aux2 only in training: they are rows with
    `training_only: true`, their params in the totals, their MACs apart (torch's training-mode
    count less its eval-mode count)."""
    model, shape, text = imported["googlenet"]
    report = analyze(load_text(text, "googlenet.yaml"))
    heads = {n.path for n in report.nodes if n.training_only}
    assert heads == {"aux1", "aux2"}
    assert "training_only: true" in text
    _, _, eval_macs = torch_counts(model, shape)
    model.train()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(2, shape[2], shape[0], shape[1]))
    finally:
        model.eval()
    assert report.training_only.macs == counter.get_total_flops() // 4 - eval_macs
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_convnext_imports_with_channel_dense_and_a_bare_layer_scale(imported) -> None:
    """ConvNeXt's Linears on channels-last maps are channel_dense rows (weights [out, in]) and
    its bare `layer_scale` Parameter times the block's output is a layer_scale row named by the
    parameter: the spec's module has the model's state_dict keys exactly (its layer scale
    saved as `features.1.0.layer_scale`, no `.scale`)."""
    model, _, text = imported["convnext"]
    report = analyze(load_text(text, "convnext.yaml"))
    blocks = [name for name, m in model.named_modules() if isinstance(m, tv.CNBlock)]
    assert len(blocks) == 5
    kinds = {n.path: n.kind for n in report.walk()}
    for block in blocks:
        assert kinds[f"{block}.block.3"] == kinds[f"{block}.block.5"] == "channel_dense"
        assert kinds[f"{block}.layer_scale"] == "layer_scale"
    built = ct.build(report)
    mine = {k: tuple(v.shape) for k, v in built.state_dict().items()}
    assert mine == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert f"{blocks[0]}.layer_scale" in mine and f"{blocks[0]}.layer_scale.scale" not in mine


def test_other_bare_parameters_are_refused_with_the_reason() -> None:
    """A bare parameter times a map is read only as a layer scale: a (C, 1, 1) parameter. A
    (1, C, 1, 1) one would give the spec's module another shape: refused, and so is a product
    of two tensors."""
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.gamma = nn.Parameter(torch.ones(1, 4, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.gamma * y * y

    with pytest.raises(CnnCalcError) as caught:
        ct.to_spec(Scaled(), (8, 8, 3))
    text = str(caught.value)
    assert "a parameter of shape (1, 4, 1, 1)" in text and "[gamma]" in text
    assert "an element-wise product" in text


# --------------------------------------------------------------------------- bundled specs

#: inputs for the bundled specs: small where the spec allows (U-Net's crops and Inception
#: v3's auxiliary head need the sizes below; AlexNet's last pool needs more than 64)
INPUTS = {"alexnet": (96, 96, 3), "alexnet-groups": (96, 96, 3), "unet": (188, 188, 1),
          "inception_v3": (299, 299, 3)}


def _small(name: str) -> tuple[int, ...]:
    shape = cnncalc.load(name).input_shape
    if name in INPUTS:
        return INPUTS[name]
    return (64, 64, shape[2]) if len(shape) == 3 and shape[0] * shape[1] > 64 * 64 else shape


@pytest.mark.parametrize("name", sorted(cnncalc.bundled()))
def test_every_bundled_specs_module_imports_back(name: str) -> None:
    """The module `cnncalc.torch.build` makes of a bundled spec (on the meta device: no
    memory) imports to a spec with torch's params, buffers and MACs of that module, and the
    original spec's."""
    shape = _small(name)
    original = analyze(cnncalc.load(name), shape)
    with torch.device("meta"):
        module = ct.build(original)
    text = ct.to_spec(module, shape)
    report = analyze(load_text(text, f"{name}.yaml"))
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for n, b in module.named_buffers()
                  if not n.endswith("num_batches_tracked"))
    with FlopCounterMode(display=False) as counter:
        module.eval()(torch.empty(1, shape[2], shape[0], shape[1], device="meta")
                      if len(shape) == 3 else torch.empty(1, *shape, device="meta"))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        params, buffers, counter.get_total_flops() // 2)
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        original.totals.params, original.totals.buffers, original.totals.macs)
    assert report.training_only.macs == original.training_only.macs


# --------------------------------------------------------------------------- never a zero

UNSUPPORTED = '''
import torch
from torch import nn

@torch.library.custom_op("cnncalc_test::double", mutates_args=())
def double(x: torch.Tensor) -> torch.Tensor:
    return x * 2

@double.register_fake
def _(x):
    return torch.empty_like(x)

class Shift(nn.Module):
    def forward(self, x):
        return torch.roll(x, 1, dims=2)

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.shift = Shift()
    def forward(self, x):
        x = self.shift(self.conv(x))
        return torch.ops.cnncalc_test.double(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = Block()
        self.head = nn.Conv2d(8, 4, 1)
    def forward(self, x):
        x = self.block(self.stem(x))
        return self.head(x.clamp(min=0))

class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
    def forward(self, x):
        x = self.conv(x)
        if x.sum() > 0:
            return x
        return -x
'''


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of the user's, importable from the current directory as `cnncalc import`
    reads it."""
    name = f"user_models_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(UNSUPPORTED))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_every_unsupported_op_is_listed_with_its_module(runner, user_module: str) -> None:
    result = runner.invoke(app, ["import", f"{user_module}:Net", "--input", "16x16x3"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "cannot import" in line]
    assert len(lines) == 3, result.output
    joined = "\n".join(lines)
    assert "block.shift (Shift): torch.roll" in joined
    assert "block (Block): torch.ops.cnncalc_test.double" in joined
    assert "(top): Tensor.clamp" in joined
    assert "name:" not in result.output  # no spec written


def test_data_dependent_control_flow_is_refused_clearly(runner, user_module: str) -> None:
    result = runner.invoke(app, ["import", f"{user_module}:Branchy", "--input", "16x16x3"])
    assert result.exit_code == 2, result.output
    assert "torch.fx cannot trace the model at " in result.output
    assert "(Branchy.forward)" in result.output  # the user's line that branched
    assert "data-dependent control flow" in result.output


def test_a_supported_module_imports_through_the_cli(runner, tmp_path: Path,
                                                   user_module: str) -> None:
    (tmp_path / "small_ok.py").write_text(
        "from torch import nn\n"
        "def make(width=4):\n"
        "    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Flatten(),\n"
        "                         nn.Linear(width * 14 * 14, 10))\n")
    out = tmp_path / "small.yaml"
    result = runner.invoke(app, ["import", "small_ok:make", "--arg", "width=6", "--input",
                                 "16x16x3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = analyze(cnncalc.load(str(out)))
    assert report.totals.params == 3 * 3 * 3 * 6 + 6 + 6 * 14 * 14 * 10 + 10
    sys.modules.pop("small_ok", None)


# --------------------------------------------------------------------------- .pt2 programs

#: models exported with torch.export: (model, decomposed to the core ATen IR)
PROGRAMS = {
    "resnet18": False, "densenet": False, "efficientnet_b0": False,
    "mobilenet_v3_small": True, "resnet50": True,
}


def _export(model: nn.Module, shape: tuple[int, int, int], path: Path,
            decompose: bool) -> Path:
    program = torch.export.export(model.eval(), (torch.zeros(1, shape[2], shape[0],
                                                             shape[1]),))
    if decompose:
        program = program.run_decompositions()
    torch.export.save(program, str(path))
    return path


@pytest.mark.parametrize("name", PROGRAMS)
def test_saved_program_imports_with_torchs_counts(tmp_path: Path, imported,
                                                  name: str) -> None:
    """A `.pt2` of the model (torch.export's default IR, or its core ATen IR) imports to a
    spec with torch's counts, whose module loads the model's state_dict and computes the
    same outputs."""
    model, shape, _ = imported[name]
    path = _export(model, shape, tmp_path / f"{name}.pt2", PROGRAMS[name])
    text = ct.program_to_spec(path)
    report = analyze(load_text(text, f"{name}.yaml"))
    assert report.input_shape == shape
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == torch_counts(
        model, shape)
    built = ct.build(report).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, shape[2], shape[0], shape[1], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x), rtol=1e-4, atol=1e-5)


def test_saved_program_through_the_cli(runner, tmp_path: Path, imported) -> None:
    model, shape, _ = imported["resnet18"]
    path = _export(model, shape, tmp_path / "r18.pt2", False)
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Imported from r18.pt2")
    assert analyze(load_text(result.output, "r18.yaml")).totals.params == sum(
        p.numel() for p in model.parameters())
    result = runner.invoke(app, ["import", str(path), "--input", "32x32x3"])
    assert result.exit_code == 2 and "exported for an input of (1, 3, 64, 64)" in result.output
    (tmp_path / "junk.pt2").write_bytes(b"not a program")
    result = runner.invoke(app, ["import", str(tmp_path / "junk.pt2")])
    assert result.exit_code == 2 and "not a saved torch.export program" in result.output


def test_saved_convnext_is_refused_naming_every_op(tmp_path: Path) -> None:
    model = tv.convnext_small()
    path = _export(model, (64, 64, 3), tmp_path / "convnext.pt2", False)
    with pytest.raises(CnnCalcError) as caught:
        ct.program_to_spec(path)
    text = str(caught.value)
    assert text.count("(Linear)") == 10 and text.count("[features.") == 5
    assert "aten.linear" in text and "aten.mul" in text


def test_saved_program_without_its_auxiliary_heads_says_so(tmp_path: Path) -> None:
    """An eval-mode export has no training-only branch: the auxiliary heads' parameters are
    in the program and used by no op, an error that names them (never a silent zero)."""
    model = tv.GoogLeNet(num_classes=10, aux_logits=True, width=4)
    path = _export(model, (96, 96, 3), tmp_path / "googlenet.pt2", False)
    with pytest.raises(CnnCalcError) as caught:
        ct.program_to_spec(path)
    assert "no operation uses" in str(caught.value) and "aux1.conv.conv.weight" in str(
        caught.value)


# --------------------------------------------------------------------------- docs, recipe

def test_docs_tables_equal_the_importers_tables() -> None:
    """docs/importing.md lists what the code converts (regenerate with
    `python -m cnncalc.importer.docs`)."""
    from cnncalc.importer import aten, docs, fx

    page = docs.PAGE.read_text()
    assert docs.tables() in page
    assert all(f"`nn.{cls.__name__}`" in page for cls in fx.MODULES)
    assert all(f"`aten.{name}`" in page for name in aten.ATEN if name != "getitem")


def test_transfer_learning_recipe(tmp_path: Path, imported) -> None:
    """docs/importing.md's recipe: import, extend with freeze_until and a new head, build,
    load the original's weights but the head's: only the head trains, and the frozen part
    computes what the original does."""
    model, shape, text = imported["resnet18"]
    (tmp_path / "resnet18.yaml").write_text(text)
    (tmp_path / "flowers.yaml").write_text(textwrap.dedent("""\
        name: resnet18-flowers
        extends: resnet18.yaml
        freeze_until: layer4
        edits:
          - replace: fc
            with:
              - dense: {units: 5}
                name: fc
        """))
    net = ct.build(str(tmp_path / "flowers.yaml")).eval()
    missing, unexpected = net.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")},
        strict=False)
    assert (sorted(missing), unexpected) == (["fc.bias", "fc.weight"], [])
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert trainable == 5 * model.fc.in_features + 5
    x = torch.randn(2, shape[2], shape[0], shape[1], generator=torch.Generator().manual_seed(3))
    features = {}
    model.avgpool.register_forward_hook(lambda m, i, o: features.__setitem__("model", o))
    net["avgpool"].register_forward_hook(lambda m, i, o: features.__setitem__("net", o))
    with torch.no_grad():
        model(x)
        assert net(x).shape == (2, 5)
    torch.testing.assert_close(features["net"], features["model"])


# --------------------------------------------------------------------------- structure

def test_resnet50_reads_like_a_hand_written_spec() -> None:
    """torchvision's ResNet-50 (full width): its 16 Bottlenecks are two blocks with arguments
    (with and without the downsampling projection), used 4 and 12 times; the stages keep
    torch's names 0..n-1 (the state_dict loads) and the whole spec is short."""
    import yaml

    model = tv.resnet50()
    text = ct.to_spec(model, (224, 224, 3))
    spec = yaml.safe_load(text)
    assert sorted(spec["blocks"]) == ["bottleneck", "bottleneck_downsample"]
    uses = [entry for stage in spec["layers"] if "seq" in stage for entry in stage["seq"]]
    assert sum("bottleneck" in e for e in uses) == 12
    assert sum("bottleneck_downsample" in e for e in uses) == 4
    assert [e["bottleneck_downsample"] for e in uses if "bottleneck_downsample" in e] == [
        {"filters": 64, "stride": 1}, {"filters": 128, "stride": 2},
        {"filters": 256, "stride": 2}, {"filters": 512, "stride": 2}]
    assert spec["blocks"]["bottleneck"]["args"] == {"filters": "channels"}
    assert len(text.splitlines()) < 130
    report = analyze(load_text(text, "resnet50.yaml"))
    assert (report.totals.params, report.totals.macs) == (25_557_032, 4_089_184_256)
    with torch.device("meta"):
        built = ct.build(report)
    assert {k: tuple(v.shape) for k, v in built.state_dict().items()} == {
        k: tuple(v.shape) for k, v in model.state_dict().items()}


class _Unit(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x))) + x


def test_alike_sequential_children_are_one_repeat() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                          nn.Sequential(*[_Unit(8) for _ in range(5)]),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    text = ct.to_spec(model, (16, 16, 3))
    assert "repeat: 5" in text and text.count("conv:") == 2
    built = ct.build(load_text(text, "units.yaml")).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model.eval()(x))


def test_timm_norm_act_is_a_batch_norm_then_its_activation(imported) -> None:
    """timm's BatchNormAct2d (a BatchNorm2d subclass whose forward runs F.batch_norm, `drop`
    and `act`) is the batch norm row named as the module (its state_dict keys) and then a row
    of its activation; with `apply_act=False` the batch norm alone."""
    _, _, text = imported["timm_norm_act"]
    report = analyze(load_text(text, "norm_act.yaml"))
    rows = [(n.path, n.kind) for n in report.walk() if n.children is None]
    assert rows[:7] == [("conv_stem", "conv"), ("bn1", "batchnorm"), ("silu", "silu"),
                        ("conv_dw.conv", "conv"), ("conv_dw.bn", "batchnorm"),
                        ("conv_dw.silu", "silu"), ("conv_pw.conv", "conv")]
    assert rows[7:10] == [("conv_pw.bn", "batchnorm"), ("conv_pwl.conv", "conv"),
                          ("conv_pwl.bn", "batchnorm")]


class _AuxNormAct(nn.Module):
    """A training-only head made of timm's ConvNormAct (as timm's inception_v3 has)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = tm.ConvNormAct(3, 8, 3)
        self.aux = nn.Sequential(tm.ConvNormAct(8, 4, 1), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Linear(4, 5))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))

    def forward(self, x):
        x = self.stem(x)
        if self.training:
            return self.head(x), self.aux(x)
        return self.head(x)


def test_timm_norm_act_in_a_training_only_head() -> None:
    model = _AuxNormAct().eval()
    text = ct.to_spec(model, (16, 16, 3))
    report = analyze(load_text(text, "aux.yaml"))
    only = [(n.path, n.kind) for n in report.walk() if n.children is None and n.training_only]
    assert ("aux.0.bn", "batchnorm") in only and ("aux.0.relu", "relu") in only
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_timm_norm_act_with_a_drop_layer_is_refused() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), tm.BatchNormAct2d(4, drop_layer=nn.Dropout))
    with pytest.raises(CnnCalcError, match="drop is Dropout"):
        ct.to_spec(model.eval(), (8, 8, 3))


def test_shufflenet_channel_shuffle_written_out_is_one_row(imported) -> None:
    """torchvision's `channel_shuffle` (`x.size()` unpacked, `view` to (N, g, C/g, H, W),
    `torch.transpose(x, 1, 2).contiguous()`, `view` back) is a `channel_shuffle` row, and the
    stride-1 unit's `x1, x2 = x.chunk(2, dim=1)` two chunk rows."""
    _, _, text = imported["shufflenet_v2"]
    report = analyze(load_text(text, "shufflenet.yaml"))
    kinds = [n.kind for n in report.walk() if n.children is None]
    assert kinds.count("channel_shuffle") == 7 and kinds.count("chunk") == 2 * 4
    assert "channel_shuffle: {groups: 2}" in text


class _Transposed(nn.Module):
    def forward(self, x):
        n, c, h, w = x.size()
        return x.view(n, 2, c // 2, h, w).transpose(1, 3).reshape(n, c, h, w)


def test_other_transposes_of_a_grouped_view_are_refused() -> None:
    with pytest.raises(CnnCalcError, match="a transpose of dims \\[1, 3\\]"):
        ct.to_spec(nn.Sequential(nn.Conv2d(3, 4, 1), _Transposed()).eval(), (4, 4, 3))



class _SmallAux(nn.Module):
    """Inception v3's auxiliary head (avg_pool2d 5/3, then a 5x5 conv) on a map too small
    for it, as torchvision's inception_v3 has at 224x224 (its map is 3x3 there)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.aux = nn.Conv2d(4, 4, 5)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.stem(x)
        if self.training:
            aux = self.aux(F.avg_pool2d(x, kernel_size=5, stride=3))
            return self.fc(torch.flatten(x.mean((2, 3)), 1)), aux
        return self.fc(torch.flatten(x.mean((2, 3)), 1))


def test_unused_parameters_say_why_the_training_trace_did_not_add_them() -> None:
    with pytest.raises(CnnCalcError, match="params: .*unused: in training mode, the model "
                                           "does not run"):
        ct.to_spec(_SmallAux().eval(), (10, 10, 3))


def test_unused_tensorless_ops_are_left_out_with_a_note(imported) -> None:
    """timm's Bottle2neck computes `sp = spx[0]` for torchscript and reads it nowhere: that
    split part holds no tensors, so it is left out (the header says so); a negative index
    (`spx[-1]`) is the last part."""
    _, _, text = imported["timm_res2net"]
    assert "# Left out, computed by the model but used by nothing (no tensors): layer1.0 " \
           "(chunk), layer1.1 (chunk)." in text
    assert "chunk: {chunks: 2, index: 1}" in text and "index: -1" not in text


def test_unused_ops_with_tensors_are_still_refused() -> None:
    class Dead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)

        def forward(self, x):
            self.b(x)
            return self.a(x)

    with pytest.raises(CnnCalcError, match="outputs it never uses or returns: b \\(conv\\)"):
        ct.to_spec(Dead().eval(), (4, 4, 3))


def test_a_row_no_from_can_name_is_refused_not_written() -> None:
    """timm's DLA: a level-2 tree's root, inside `tree2`, concatenates the outer `tree1`,
    whose name `tree2.tree1` takes in the nearer list; the engine cannot resolve any name
    for it, so the import says so instead of writing a spec that does not load."""
    with pytest.raises(CnnCalcError, match="level3.tree2.root.concat reads level3.tree1, "
                                           "which no from: can name"):
        ct.to_spec(tm.dla34_small().eval(), (64, 64, 3))


def test_timm_split_attention_is_refused_naming_what_it_cannot_read() -> None:
    """timm's SplitAttn (ResNeSt's conv2) views its map as (B, radix, C / radix, H, W) and sums
    over the radix: no cnncalc kind, refused with its module, never a crash (the stand-in of
    the refused sum once carried the 5-D view's layout onto 4-D and 2-D tensors, and the view
    back read a dim they do not have: IndexError)."""
    for radix in (2, 1):
        with pytest.raises(CnnCalcError) as refused:
            ct.to_spec(tm.SplitAttnNet(radix=radix).eval(), (16, 16, 3))
        text = str(refused.value)
        assert "conv2 (SplitAttn)" in text and "operator.mul" in text
        assert ("Tensor.sum: has no cnncalc kind" in text) == (radix == 2)


class _Odd(nn.Module):
    """Calls whose arguments no rule foresees: a slice of a split's parts, a computed dim."""

    def __init__(self, which: str) -> None:
        super().__init__()
        self.which = which
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x):
        x = self.conv(x)
        if self.which == "slice":
            return torch.cat(torch.split(x, 4, 1)[1:], 1)
        if self.which == "dim":
            return torch.cat([x, x], x.dim() - 3)
        return x.permute(0, x.dim() - 2, 3, 1)


@pytest.mark.parametrize("which", ["slice", "dim", "permute"])
def test_odd_arguments_are_refused_never_a_crash(which: str) -> None:
    with pytest.raises(CnnCalcError, match="cannot import.*\\(top\\)"):
        ct.to_spec(_Odd(which).eval(), (4, 4, 3))


def test_a_converter_that_fails_is_a_refusal_naming_the_module(monkeypatch) -> None:
    """The last line of defence: whatever a converter raises is a refusal with the module
    and the call's arguments, never another exception type out of to_spec."""
    from cnncalc.importer import fx as importer

    def broken(call):
        return ()[0]

    monkeypatch.setitem(importer.FUNCTIONS, torch.flatten, importer.Rule(broken, "flatten"))
    with pytest.raises(CnnCalcError, match="cannot import: \\(top\\): torch.flatten: cnncalc "
                                           "could not read this call's arguments .*IndexError"):
        ct.to_spec(tv.resnet18(width=4, num_classes=2).eval(), (16, 16, 3))


@pytest.mark.parametrize("name, names", [
    ("timm_se_efficientnet", ("conv_reduce", "conv_expand")),
    ("timm_se_mobilenetv3", ("conv_reduce", "conv_expand")),
    ("timm_se_module", ("fc1", "fc2"))])
def test_timm_squeeze_excitation_is_one_se_row(imported, name: str, names) -> None:
    """timm's SqueezeExcite (`x.mean((2, 3), keepdim=True)`, conv_reduce, act1, conv_expand,
    `x * self.gate(x_se)`) and SEModule (fc1, an identity bn, act, fc2, gate) are one `se`
    row named as the module; its module loads their keys (the round trip above)."""
    model, _, text = imported[name]
    se = model.se
    act = "silu" if name.endswith("efficientnet") else "relu"
    gate = "hardsigmoid" if name.endswith("mobilenetv3") else "sigmoid"
    squeeze = getattr(se, names[0]).out_channels
    assert f"se: {{squeeze: {squeeze}, activation: {act}, gate: {gate}}}" in text
    assert all(f"se.{n}.weight" in model.state_dict() for n in names)


@pytest.mark.parametrize("se, why", [
    (tm.EffectiveSEModule, "a squeeze-and-excitation of global_pool -> conv -> hardsigmoid"),
    (partial(tm.SEModule, rd_ratio=0.25, norm_layer=nn.BatchNorm2d),
     "global_pool -> conv -> batchnorm -> relu -> conv -> sigmoid"),
    (partial(tm.SEModule, rd_ratio=0.25, bias=False), "conv -> relu -> conv -> sigmoid \\("),
    (partial(tm.SEModule, rd_ratio=0.25, add_maxpool=True), "Tensor.amax: has no cnncalc kind")])
def test_timm_squeeze_excitation_cnncalc_cannot_compute_is_refused(se, why: str) -> None:
    """ESE-VoVNet's one-conv EffectiveSEModule, an SE with a batch norm inside, without
    biases or with a max pool added: refused naming the module, never approximated."""
    with pytest.raises(CnnCalcError, match=f"se \\((EffectiveSEModule|SEModule)\\).*{why}"):
        ct.to_spec(tm.SENet(se).eval(), (8, 8, 3))


class _RenamedSE(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(channels, 4, 1), nn.Conv2d(4, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True)))))


def test_squeeze_excitation_with_other_names_is_refused_naming_them() -> None:
    """The se row's module loads fc1/fc2 or conv_reduce/conv_expand: other names would not
    load, so they are refused rather than written."""
    with pytest.raises(CnnCalcError, match="convolutions are named \\('reduce', 'expand'\\)"):
        ct.to_spec(tm.SENet(_RenamedSE).eval(), (8, 8, 3))


def test_interleaved_module_list_calls_are_refused_naming_the_keys() -> None:
    """timm's res2net50_26w_4s: Bottle2neck of scale 4 runs convs[0], bns[0], relu,
    convs[1], ... (timm's source as it is; the scale-2 model above has one conv in each list).
    The spec would put convs[1] in a new row `convs_1`, whose keys do not load: refused,
    naming them, rather than written (every number of that spec was right)."""
    with pytest.raises(CnnCalcError, match="cannot keep the state_dict keys of 8 module\\(s\\): "
                                           "layer1.0.convs.1 \\(its row would be "
                                           "layer1.0.convs_1.1\\)"):
        ct.to_spec(tm.res2net_scale4_small().eval(), (16, 16, 3))


def test_timm_linear_classifier_is_a_dense_row(imported) -> None:
    """timm's Linear (nn.Linear whose forward is F.linear(input, self.weight, self.bias)
    outside torchscript), MobileNetV3's classifier after its efficient head, is the dense row
    `classifier`, as nn.Linear is; counts, strict load and outputs: the round trip above."""
    model, _, text = imported["timm_mobilenetv3"]
    report = analyze(load_text(text, "mobilenetv3.yaml"))
    rows = [(n.path, n.kind) for n in report.walk() if n.children is None]
    assert rows[-6:] == [("global_pool.pool", "adaptive_pool"), ("conv_head", "conv"),
                         ("act2", "hardswish"), ("flatten", "flatten"),
                         ("dropout", "dropout"), ("classifier", "dense")]
    assert type(model.classifier) is tm.Linear


class _ScaledLinear(nn.Linear):
    """An nn.Linear subclass whose forward computes something else: twice the output."""

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) * 2


class _MaskedLinear(nn.Linear):
    """An nn.Linear subclass with a tensor of its own (its forward nn.Linear's)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.register_buffer("mask", torch.ones(1))


class _OffsetConv(nn.Conv2d):
    """A Conv2d subclass that changes what forward runs through `_conv_forward` alone."""

    def _conv_forward(self, x, weight, bias):
        return super()._conv_forward(x, weight, bias) + 1


@pytest.mark.parametrize("layer", [partial(_ScaledLinear, 4, 5), partial(_MaskedLinear, 4, 5)])
def test_linear_subclasses_that_are_not_nn_linear_are_refused(layer) -> None:
    """A subclass is read as nn.Linear only when it holds nn.Linear's tensors and its forward
    runs nn.Linear's call; otherwise it is traced through and its weight, used directly, is
    refused naming the module and the subclass."""
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), layer())
    with pytest.raises(CnnCalcError, match="3 \\(_(Scaled|Masked)Linear\\) \\[3.weight\\]: "
                                           "F.linear: a subclass of nn.Linear not read as "
                                           "nn.Linear"):
        ct.to_spec(model.eval(), (8, 8, 3))


def test_conv_subclass_overriding_conv_forward_is_refused() -> None:
    with pytest.raises(CnnCalcError, match="a subclass of nn.Conv2d not read as nn.Conv2d"):
        ct.to_spec(nn.Sequential(_OffsetConv(3, 4, 3)).eval(), (8, 8, 3))


class _NamedConv(nn.Conv2d):
    def extra_repr(self) -> str:
        return "named " + super().extra_repr()


class _NamedNorm(nn.BatchNorm2d):
    pass


def test_subclasses_that_override_nothing_are_their_parent() -> None:
    """Subclasses that only construct or print differently (batch norm's forward, which
    torch.fx cannot trace alone, included) are their parent's rows and load its keys."""
    model = randomised(nn.Sequential(_NamedConv(3, 4, 3, padding=1), _NamedNorm(4),
                                     nn.ReLU())).eval()
    text = ct.to_spec(model, (8, 8, 3))
    assert "conv: {filters: 4, kernel: 3, padding: 1}" in text and "batchnorm: {}" in text
    built = ct.build(load_text(text, "named.yaml")).eval()
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x))
