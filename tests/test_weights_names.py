"""Pretrained torchvision weights load into `cnncalc.torch.build(NAME)` (issue 15, item 4).

The truth is torchvision's own `state_dict()`: its keys and shapes, recorded for every
torchvision model a bundled spec reproduces in `tests/data/torchvision_state_dicts.json` (by
`tests/data/make_torchvision_keys.py`, in a scratch environment that had torchvision; the file
says which version). For each, the spec built on the meta device must have exactly those keys
with exactly those shapes, so that `model.load_state_dict(torchvision_weights, strict=True)`
works. Key order is not compared: `load_state_dict` matches by key (and a residual's shortcut
comes after its body here, where RegNet's `proj` comes before its `f`).

Where the engine's structure cannot give torchvision's name or shape, the difference is listed
below as a rule (torchvision's key and shape -> this spec's), applied to torchvision's list and
checked exactly: it must change exactly the keys it says, and the result must equal the spec's
list. Nothing is skipped silently: a model of the file without a bundled spec is skipped only
when listed in PENDING, with the reason.

Then, with real tensors: a state dict of random values in the recorded shapes loads strictly
into `build("resnet18")` and into a plain-torch ResNet-18 written here from torchvision's
`resnet.py` (He et al. 2016, "Deep Residual Learning for Image Recognition"), and the two give
the same output. Last, the transfer-learning recipe of docs/torch.md (Yosinski et al. 2014, "How
transferable are features in deep neural networks?"): weights without the head load, the new
head is what is missing, and only it trains.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.analyses.memory import alive_per_step, peak_inference, saved_activations  # noqa: E402,E501
from cnncalc.analyses.receptive import receptive_fields  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.torch import build  # noqa: E402

pytestmark = pytest.mark.torch

DATA = Path(__file__).parent / "data" / "torchvision_state_dicts.json"
RECORDED: dict[str, list[tuple[str, tuple[int, ...]]]] = {
    name: [(key, tuple(shape)) for key, shape in keys]
    for name, keys in json.loads(DATA.read_text()).items() if name != "versions"}

#: Models of the file whose spec is written elsewhere: skipped while not bundled, checked as
#: the others as soon as it is.
PENDING: dict[str, str] = {}

Rule = Callable[[str, tuple[int, ...]], tuple[str, tuple[int, ...]]]


def regnet(key: str, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """RegNet: the stages and their blocks are computed from the model's parameters, so they
    are repeats, numbered 0.. under the rows `stage` and `block`: torchvision's
    `trunk_output.block2.block2-1.` is `trunk_output.stage.1.block.1.` here."""
    match = re.fullmatch(r"trunk_output\.block(\d+)\.block\1-(\d+)\.(.+)", key)
    if match is None:
        return key, shape
    stage, block, rest = match.groups()
    return f"trunk_output.stage.{int(stage) - 1}.block.{block}.{rest}", shape


#: model -> (the rule, how many of torchvision's keys it changes). Every other model is equal.
DIFFERENCES: dict[str, tuple[Rule, int]] = {
    # every key of the 16 blocks; the stem's and fc's 8 keys are equal
    "regnet_y_400mf": (regnet, 376),
}


def _spec_keys(name: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = build(name)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def test_the_file_records_every_torchvision_counterpart() -> None:
    versions = json.loads(DATA.read_text())["versions"]
    assert versions["torchvision"].startswith("0.29.1")
    # the bundled specs that equal a torchvision model (tests/test_torch_zoo.py's table and
    # shufflenet); the lecture's alexnet is not torchvision's (different filter counts)
    assert set(RECORDED) == {"vgg16", "resnet18", "resnet50", "googlenet", "inception_v3",
                             "mobilenet_v2", "efficientnet_b0", "efficientnet_v2_s",
                             "convnext_tiny", "regnet_y_400mf", "shufflenet_v2_x1_0"}
    # torchvision's published parameter counts (its weights' `num_params`), from the shapes
    params = {name: sum(_numel(shape) for key, shape in keys if not _is_buffer(key))
              for name, keys in RECORDED.items()}
    assert params["resnet50"] == 25_557_032 and params["vgg16"] == 138_357_544
    assert params["inception_v3"] == 27_161_264 and params["convnext_tiny"] == 28_589_128


def _numel(shape: tuple[int, ...]) -> int:
    out = 1
    for size in shape:
        out *= size
    return out


def _is_buffer(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_state_dict_has_torchvisions_keys_and_shapes(name: str) -> None:
    if name not in cnncalc.bundled():
        if name in PENDING:
            pytest.skip(PENDING[name])
        pytest.fail(f"{name}: recorded from torchvision but not a bundled spec")
    want = dict(RECORDED[name])
    assert len(want) == len(RECORDED[name])  # no key twice
    rule, changed = DIFFERENCES.get(name, (lambda key, shape: (key, shape), 0))
    mapped = dict(rule(key, shape) for key, shape in want.items())
    assert sum(1 for (k, s), (m, t) in zip(want.items(), mapped.items(), strict=True)
               if (k, s) != (m, t)) == changed, "the listed difference changes other keys"
    got = _spec_keys(name)
    missing = sorted(set(mapped) - set(got))
    extra = sorted(set(got) - set(mapped))
    assert not missing and not extra, f"missing {missing[:5]}, extra {extra[:5]}"
    shapes = {key: (mapped[key], got[key]) for key in got if mapped[key] != got[key]}
    assert not shapes, shapes
    assert name not in PENDING, f"{name} is bundled and matches: take it off PENDING"


def _meta_weights(name: str) -> dict[str, torch.Tensor]:
    """torchvision's state dict as shapes only (meta tensors)."""
    return {key: torch.empty(shape, device="meta") for key, shape in RECORDED[name]}


def _readme_converters() -> dict[str, Callable[[dict[str, torch.Tensor]],
                                               dict[str, torch.Tensor]]]:
    text = (Path(__file__).parent.parent / "docs" / "torch.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S)
                 if "def regnet_weights" in b)
    scope: dict[str, object] = {}
    exec(block, scope)  # noqa: S102 - the docs' own example, run as a reader would
    return {"regnet_y_400mf": scope["regnet_weights"]}  # type: ignore[dict-item]


@pytest.mark.parametrize("name", sorted(set(RECORDED) - set(PENDING)))
def test_torchvision_weights_load_strictly(name: str) -> None:
    """`load_state_dict(strict=True)` accepts torchvision's state dict (shapes only, on meta):
    as it is, or through the converter of docs/torch.md for the spec that differs."""
    weights = _meta_weights(name)
    converters = _readme_converters()
    assert set(converters) == set(DIFFERENCES)
    if name in converters:
        weights = converters[name](weights)
    with torch.device("meta"):
        model = build(name)
    model.load_state_dict(weights, strict=True, assign=True)  # assign: meta onto meta


def test_stem_and_head_of_regnet_need_no_renaming() -> None:
    # what the RegNet rule leaves alone is torchvision's exactly
    untouched = [key for key, _ in RECORDED["regnet_y_400mf"]
                 if not key.startswith("trunk_output.")]
    assert len(untouched) == len(RECORDED["regnet_y_400mf"]) - 376 == 8
    assert untouched[0] == "stem.0.weight" and untouched[-1] == "fc.bias"


# --------------------------------------------------------------------------- real weights

def _random_state_dict(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Values for the recorded keys and shapes: He-scaled weights, batch norms near 1,
    positive running variances, so that the output stays of order 1 through the network."""
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key, shape in RECORDED[name]:
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            out[key] = torch.tensor(0)
        elif leaf == "running_var":
            out[key] = torch.rand(shape, generator=generator) + 0.5
        elif len(shape) > 1:  # conv and linear weights
            fan_in = _numel(shape[1:])
            out[key] = torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5
        elif leaf == "weight":  # batch-norm scale
            out[key] = 1.0 + 0.1 * torch.randn(shape, generator=generator)
        else:  # biases, running means
            out[key] = 0.1 * torch.randn(shape, generator=generator)
    return out


class BasicBlock(nn.Module):
    """torchvision/models/resnet.py's BasicBlock (expansion 1), its attribute names kept."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision's ResNet(BasicBlock, [2, 2, 2, 2]), 1000 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [64, 128, 256, 512]
        for index, planes in enumerate(widths):
            inplanes = widths[index - 1] if index else 64
            stride = 1 if index == 0 else 2
            self.add_module(f"layer{index + 1}", nn.Sequential(
                BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def test_plain_resnet18_has_the_recorded_keys() -> None:
    """The hand-written reference is torchvision's ResNet-18 as far as its weights go."""
    recorded = [(key, shape) for key, shape in RECORDED["resnet18"]]
    assert [(k, tuple(v.shape)) for k, v in ResNet18().state_dict().items()] == recorded


def test_torchvision_shaped_weights_give_torchvisions_resnet18() -> None:
    weights = _random_state_dict("resnet18")
    model = build("resnet18", (64, 64, 3))
    model.load_state_dict(weights, strict=True)
    reference = ResNet18()
    reference.load_state_dict(weights, strict=True)
    model.eval()
    reference.eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = model(x), reference(x)
    assert got.shape == want.shape == (2, 1000)
    assert want.abs().max() > 0.1  # the weights reach the output: not a trivial agreement
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    # the same weights, read back through the spec's paths
    assert torch.equal(model.state_dict()["layer2.0.downsample.0.weight"],
                       weights["layer2.0.downsample.0.weight"])


def test_readme_transfer_recipe(tmp_path: Path) -> None:
    """docs/torch.md, "Pretrained torchvision weights": extend the bundled spec, replace its head,
    freeze the rest; the pretrained weights load except the new head's."""
    spec = tmp_path / "flowers.yaml"
    spec.write_text("name: resnet18-flowers\nextends: resnet18\nfreeze_until: layer4\n"
                    "edits:\n  - replace: fc\n    with: {dense: 102, name: fc}\n")
    model = build(str(spec), (64, 64, 3))
    weights = {k: v for k, v in _random_state_dict("resnet18").items()
               if not k.startswith("fc.")}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert (sorted(missing), unexpected) == (["fc.bias", "fc.weight"], [])
    trains = sorted(name for name, p in model.named_parameters() if p.requires_grad)
    assert trains == ["fc.bias", "fc.weight"]
    assert model.state_dict()["fc.weight"].shape == (102, 512)


# --------------------------------------------------------------------------- the naming rules

def _report(layers: str, input_shape: str = "8x8x4") -> cnncalc.Report:
    text = f"name: t\ninput: {input_shape}\nlayers:\n{layers}"
    return cnncalc.analyze(cnncalc.load_text(text, "t.yaml"))


def _refused(layers: str) -> str:
    with pytest.raises(CnnCalcError) as err:
        _report(layers)
    return str(err.value)


def test_numbers_are_names_as_in_torch_sequentials() -> None:
    report = _report("  - seq:\n"
                     "      - conv: [8, 3, 1, 1]\n        name: 0\n"   # YAML's int 0
                     "      - relu\n"
                     "      - conv: [8, 1]\n        name: '2'\n"
                     "    name: features\n"
                     "  - conv: [2, 1]\n    from: features.0\n")
    assert [n.path for n in report.walk()] == ["features", "features.0", "features.relu1",
                                               "features.2", "conv1"]
    assert report.nodes[1].sources == ["features.0"]
    with torch.device("meta"):
        assert {"features.0.weight", "features.2.weight"} <= set(build(report).state_dict())


@pytest.mark.parametrize("name", ["1a", "-1", "0.5", "true", "x.y"])
def test_names_that_are_neither_a_word_nor_a_number(name: str) -> None:
    assert "must be a word" in _refused(f"  - conv: [2, 1]\n    name: {name}\n")


def test_a_shortcut_of_one_named_entry_is_that_row() -> None:
    # torchvision's Bottleneck: `layer2.0.downsample.0`, not `layer2.0.shortcut.downsample.0`
    block = ("  - residual:\n"
             "      body: [{conv: [8, 3, 2, 1]}]\n"
             "      shortcut:\n"
             "        - seq: [{conv: [8, 1, 2], name: 0}, {batchnorm: {}, name: 1}]\n"
             "          name: downsample\n")
    rows = {n.path: n for n in _report(block).walk()}
    assert "residual1.downsample.0" in rows and "residual1.shortcut" not in rows
    assert rows["residual1.downsample"].container == "shortcut"
    # two entries, or one without a name, keep the `shortcut` row
    two = {n.path for n in _report(block.replace(
        "        - seq: [{conv: [8, 1, 2], name: 0}, {batchnorm: {}, name: 1}]\n"
        "          name: downsample\n",
        "        - {conv: [8, 1, 2], name: 0}\n        - {batchnorm: {}, name: 1}\n")).walk()}
    assert {"residual1.shortcut", "residual1.shortcut.0", "residual1.shortcut.1"} <= two


def test_the_shortcut_row_counts_and_runs_like_the_wrapped_one() -> None:
    """The same network with the projection unwrapped (one named seq) and wrapped (two
    entries): the same memory schedule, receptive fields and counts."""
    body = "      body: [{conv: [8, 3, 2, 1]}, batchnorm, relu, {conv: [8, 3, 1, 1]}]\n"
    own = _report("  - residual:\n" + body + "      shortcut:\n"
                  "        - seq: [{conv: [8, 1, 2]}, batchnorm]\n          name: proj\n"
                  "      activation: relu\n")
    wrapped = _report("  - residual:\n" + body + "      shortcut: [{conv: [8, 1, 2]}, "
                      "batchnorm]\n      activation: relu\n")
    assert asdict(own.totals) == asdict(wrapped.totals)
    # the bytes alive step by step, and what a training step keeps
    assert ([size for _, size in alive_per_step(own)]
            == [size for _, size in alive_per_step(wrapped)])
    assert saved_activations(own) == saved_activations(wrapped)
    assert peak_inference(own) == peak_inference(wrapped)
    fields = receptive_fields(own)
    assert fields["residual1"] == receptive_fields(wrapped)["residual1"]
    assert fields["residual1.proj.conv1"] == receptive_fields(wrapped)[
        "residual1.shortcut.conv1"]


def test_shortcut_row_names_may_not_collide() -> None:
    shortcut = ("      shortcut:\n        - conv: [8, 1]\n          name: {}\n"
                "      activation: relu\n")
    body = "  - residual:\n      body: [{{conv: [8, 1], name: {}}}]\n"
    message = _refused(body.format("proj") + shortcut.format("proj"))
    assert "the name 'proj' is taken by the shortcut" in message
    for taken in ("add", "relu"):
        message = _refused(body.format("c") + shortcut.format(taken))
        assert f"shortcut '{taken}'" in message and "rename this layer" in message
    # named `shortcut`, the row is `PATH.shortcut` as the wrapper's would be
    rows = {n.path for n in _report(body.format("c") + shortcut.format("shortcut")).walk()}
    assert "residual1.shortcut" in rows and "residual1.shortcut.shortcut" not in rows


def test_edits_reach_the_shortcut_row_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\ninput: 8x8x4\nlayers:\n  - residual:\n"
        "      body: [{conv: [8, 3, 2, 1]}]\n      shortcut:\n"
        "        - seq: [{conv: [8, 1, 2], name: 0}]\n          name: downsample\n"
        "    name: res\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nedits:\n  - replace: res.downsample.0\n"
        "    with: {conv: [8, 3, 2, 1], name: 0}\n")
    report = cnncalc.analyze(cnncalc.load(str(tmp_path / "child.yaml")))
    row = {n.path: n for n in report.walk()}["res.downsample.0"]
    assert row.params == 3 * 3 * 4 * 8 + 8
