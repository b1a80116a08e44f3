"""What the peer tools report: torchinfo, fvcore, ptflops, thop and torch's FlopCounterMode.

The measurement behind `--convention NAME` (issue 16) and docs/peers.md. Run it in a scratch
environment that has the pinned tools (never torchvision: the torchvision models are written
out below, module for module), with this checkout on the path:

    python -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 torchinfo==1.8.0 \\
        fvcore==0.1.5.post20221221 ptflops==0.7.5 thop==0.1.1.post2209072238 \\
        pyyaml pydantic typer rich
    PYTHONPATH=. /tmp/peers-venv/bin/python bench/peers.py            # writes tests/data/peers.json
    PYTHONPATH=. /tmp/peers-venv/bin/python bench/peers.py --only resnet18 --output /tmp/p.json
    PYTHONPATH=. /tmp/peers-venv/bin/python bench/peers.py --no-specs \
        --into tests/data/peers.json                                     # the pieces again
    PYTHONPATH=. python bench/peers.py --check tests/data/peers.json    # the product's rules

Every tool runs with its defaults, as its README shows, on a fresh copy of the model in eval
mode (ptflops, thop and torchinfo switch to eval themselves; fvcore and FlopCounterMode count
the mode they are given, and a user counting a model for inference gives eval):

- torchinfo: `summary(model, input_size=(1, C, H, W))` -> `total_params`, `total_mult_adds`;
  per layer: each leaf row's `macs`.
- fvcore: `FlopCountAnalysis(model, x).total()` and `parameter_count(model)[""]`; per layer:
  `by_module()`, less what the module's children count (the module's own operators). fvcore
  counts batch norm by the mode: the train-mode total is kept as `number_train`.
- ptflops: `get_model_complexity_info(model, (C, H, W), as_strings=False,
  print_per_layer_stat=False)` with its default backend (`pytorch` at 0.7.5) -> (MACs, params);
  per layer: each hooked module's `__flops__` (what its per-layer stat prints) plus the patched
  functional and tensor calls (`F.relu`, `torch.add`, ...), attributed here to the module whose
  forward made them (ptflops itself adds them to the total only; `functional` keeps their sum).
- thop: `profile(model, inputs=(x,))` -> (ops, params); per layer: the leaf entries of
  `ret_layer_info=True` (the same computation).
- flopcounter: `torch.utils.flop_counter.FlopCounterMode`, `get_total_flops()` (FLOPs, 2 per
  multiply-add); per layer: `get_flop_counts()`, less the children. It reports no parameters.

Per layer, only non-zero numbers are kept; a module path that is absent counted 0.

Three kinds of model are measured:
- `specs`: every bundled spec, built by `cnncalc.torch.build` (cnncalc's own modules: a Conv2d
  subclass with a fused activation, `Add`, a `mean` global pool, ...); with cnncalc's own counts.
- `specs[...]["torchvision"]`: for the specs written from a torchvision model (resnet18,
  resnet50, vgg16, googlenet without aux heads, mobilenet_v2, efficientnet_b0, convnext_tiny,
  efficientnet_v2_s, regnet_y_400mf, shufflenet_v2_x1_0, inception_v3), that model written out
  here with torchvision's module classes, names and forward code (torchvision 0.29.1's source),
  at the spec's input size; `spec` names the spec that is that model row for row (vgg16's is
  tests/data/vgg16-torchvision.yaml: torchvision's identity average pool, no softmax).
- `pieces` and `nets`: one operation each, in each form it is written in (module, functional,
  operator), and a few small equivalent networks, each run as a layer of an nn.Sequential; with
  the spec that writes it (`written_as:` saying the form; `built`: the spec as
  `cnncalc.torch.build` makes it), or none where no spec can say how the code is written.

The rules are the product's (`cnncalc.analyses.conventions`, one table): `--check` applies them
to every spec, torchvision model, piece and net of a peers.json and lists every number they do
not give (tests/test_conventions.py asserts the same, per layer too).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import sys
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("torchinfo", "fvcore", "ptflops", "thop", "flopcounter")
PINNED = {"torch": "2.13.0", "torchinfo": "1.8.0", "fvcore": "0.1.5.post20221221",
          "ptflops": "0.7.5", "thop": "0.1.1.post2209072238"}
DISTRIBUTIONS = {"torch": "torch", "torchinfo": "torchinfo", "fvcore": "fvcore",
                 "ptflops": "ptflops", "thop": "thop"}

Maker = Callable[[], nn.Module]


# --------------------------------------------------------------------------- helpers

def _parents(model: nn.Module) -> dict[str, str]:
    """Each module path's parent path ("" is the root)."""
    return {path: (path.rsplit(".", 1)[0] if "." in path else "")
            for path, _ in model.named_modules() if path}


def _own(totals: dict[str, int], model: nn.Module) -> dict[str, int]:
    """Per-module counts that include the children (fvcore, FlopCounterMode) as each module's
    own count: its total less its direct children's totals. Non-zero entries only."""
    own = dict(totals)
    for path, parent in _parents(model).items():
        if path in totals:
            own[parent] = own.get(parent, 0) - totals[path]
    return {path: int(n) for path, n in own.items() if n}


def _paths(model: nn.Module) -> dict[int, str]:
    return {id(m): path for path, m in model.named_modules()}


def _int(value: Any) -> int:
    number = float(value)
    if number != int(number):
        raise ValueError(f"not an integer: {value!r}")
    return int(number)


def _exact(value: Any) -> int | float:
    """An integer where the tool's number is one, else the float as the tool gave it."""
    number = float(value)
    return int(number) if number == int(number) else number


def _fresh(make: Maker) -> nn.Module:
    torch.manual_seed(0)
    return make().eval()


# --------------------------------------------------------------------------- the tools

def run_torchinfo(make: Maker, shape: tuple[int, ...]) -> dict[str, Any]:
    import torchinfo

    model = _fresh(make)
    stats = torchinfo.summary(model, input_size=(1, *shape), verbose=0)
    paths = _paths(model)
    layers: dict[str, int] = defaultdict(int)
    for row in stats.summary_list:
        if row.is_leaf_layer and row.macs:
            layers[paths.get(id(row.module), row.var_name)] += row.macs
    return {"params": stats.total_params, "trainable_params": stats.trainable_params,
            "number": stats.total_mult_adds, "per_layer": dict(layers)}


def run_fvcore(make: Maker, shape: tuple[int, ...]) -> dict[str, Any]:
    from fvcore.nn import FlopCountAnalysis, parameter_count

    model = _fresh(make)
    x = torch.randn(1, *shape)
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    total = analysis.total()
    per_module = {path: n for path, n in analysis.by_module().items()}
    skipped = dict(sorted(analysis.unsupported_ops().items()))
    result: dict[str, Any] = {"params": parameter_count(model)[""], "number": _int(total),
                              "per_layer": _own(per_module, model), "skipped_ops": skipped}
    train = make().train()
    try:
        again = FlopCountAnalysis(train, x)
        again.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        result["number_train"] = _int(again.total())
    except Exception as exc:  # batch norm of one value per channel cannot train
        result["number_train"] = f"error: {type(exc).__name__}: {exc}".splitlines()[0]
    return result


def run_ptflops(make: Maker, shape: tuple[int, ...]) -> dict[str, Any]:
    import ptflops
    import ptflops.pytorch_engine as engine

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        macs, params = ptflops.get_model_complexity_info(
            _fresh(make), tuple(shape), as_strings=False, print_per_layer_stat=False)
    if macs is None:
        raise RuntimeError("ptflops failed: " + sink.getvalue().strip().splitlines()[-1])

    # Per layer: the same run again, reading each hooked module's __flops__ where ptflops's
    # per-layer printer reads it, and noting which module's forward made each patched call.
    model = _fresh(make)
    paths = _paths(model)
    stack: list[str] = []
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(
            lambda m, _i: stack.append(paths[id(m)])))
        handles.append(module.register_forward_hook(lambda m, _i, _o: [stack.pop(), None][1]))
    hooked: dict[str, int] = {}
    functional: dict[str, int] = defaultdict(int)

    def printer(flops_model: nn.Module, *args: Any, **kwargs: Any) -> None:
        for path, module in flops_model.named_modules():
            if engine.is_supported_instance(module) and module.__flops__:
                hooked[path] = _int(module.__flops__ / flops_model.__batch_counter__)

    original_call = engine.torch_function_wrapper.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        flops = self.handler(*args, **kwargs)
        self.collector.append(flops)
        functional[stack[-1] if stack else ""] += _int(flops)
        return self.op(*args, **kwargs)

    original_printer = engine.print_model_with_flops
    engine.print_model_with_flops = printer
    engine.torch_function_wrapper.__call__ = call
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            again, _ = ptflops.get_model_complexity_info(
                model, tuple(shape), as_strings=False, print_per_layer_stat=True)
    finally:
        engine.print_model_with_flops = original_printer
        engine.torch_function_wrapper.__call__ = original_call
        for handle in handles:
            handle.remove()
    layers: dict[str, int] = defaultdict(int)
    for path, n in [*hooked.items(), *functional.items()]:
        layers[path] += n
    if again != macs or sum(layers.values()) != macs:
        raise RuntimeError(f"ptflops per layer {sum(layers.values())} != total {macs}")
    return {"params": params, "number": macs, "per_layer": {k: v for k, v in layers.items() if v},
            "functional": sum(functional.values())}


def run_thop(make: Maker, shape: tuple[int, ...]) -> dict[str, Any]:
    import thop

    model = _fresh(make)
    with contextlib.redirect_stdout(io.StringIO()):
        ops, params, info = thop.profile(model, inputs=(torch.randn(1, *shape),),
                                         ret_layer_info=True)
    layers: dict[str, int | float] = {}

    def walk(tree: dict[str, Any], prefix: str) -> None:
        for name, (n, _p, below) in tree.items():
            path = f"{prefix}{name}"
            if below:
                walk(below, path + ".")
            elif n:
                layers[path] = _exact(n)

    walk(info, "")
    return {"params": _exact(params), "number": _exact(ops), "per_layer": layers}


def run_flopcounter(make: Maker, shape: tuple[int, ...]) -> dict[str, Any]:
    from torch.utils.flop_counter import FlopCounterMode

    model = _fresh(make)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, *shape))
    root = type(model).__name__
    per_module: dict[str, int] = {}
    for key, ops in counter.get_flop_counts().items():
        if key == root:
            per_module[""] = sum(ops.values())
        elif key.startswith(root + "."):
            per_module[key[len(root) + 1:]] = sum(ops.values())
    return {"params": None, "number": counter.get_total_flops(),
            "per_layer": _own(per_module, model)}


RUNNERS: dict[str, Callable[[Maker, tuple[int, ...]], dict[str, Any]]] = {
    "torchinfo": run_torchinfo, "fvcore": run_fvcore, "ptflops": run_ptflops,
    "thop": run_thop, "flopcounter": run_flopcounter}


def measure(make: Maker, shape: tuple[int, ...], per_layer: bool = True) -> dict[str, Any]:
    """Every tool on a fresh copy of the model; an error is recorded, never raised."""
    out: dict[str, Any] = {}
    for tool, runner in RUNNERS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = runner(make, shape)
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        if not per_layer:
            result.pop("per_layer", None)
        out[tool] = result
    return out


# --------------------------------------------------------------------------- torchvision models
# Module classes, attribute names and forward code as in torchvision 0.29.1 (weights=None), so
# that hooks, traces and per-module names see what they see on torchvision's own models.

def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """torchvision.ops.misc.Conv2dNormActivation (a Sequential)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU):
        padding = (kernel_size - 1) // 2
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                                             padding, groups=groups, bias=norm_layer is None)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """torchvision.ops.misc.SqueezeExcitation."""

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input: torch.Tensor) -> torch.Tensor:
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        scale = self._scale(input)
        return scale * input


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: the identity in eval mode."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return input
        size = [input.shape[0]] + [1] * (input.ndim - 1)
        noise = torch.empty(size, dtype=input.dtype, device=input.device)
        noise = noise.bernoulli_(1.0 - self.p)
        if 1.0 - self.p > 0.0:
            noise.div_(1.0 - self.p)
        return input * noise


# ResNet (torchvision/models/resnet.py)
def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                     groups=groups, bias=False, dilation=1)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int],
                 num_classes: int = 1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block: Any, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


# VGG (torchvision/models/vgg.py), configuration "D"
class VGG(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def vgg16() -> VGG:
    layers: list[nn.Module] = []
    in_channels = 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            layers += [nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1),
                       nn.ReLU(inplace=True)]
            in_channels = int(v)
    return VGG(nn.Sequential(*layers))


# GoogLeNet (torchvision/models/googlenet.py), aux_logits=False, transform_input=False
class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.bn(x)
        return F.relu(x, inplace=True)


class Inception(nn.Module):
    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(outputs, 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self.aux_logits = False
        self.transform_input = False
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = None
        self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.maxpool1(x)
        x = self.conv2(x)
        x = self.conv3(x)
        x = self.maxpool2(x)
        x = self.inception3a(x)
        x = self.inception3b(x)
        x = self.maxpool3(x)
        x = self.inception4a(x)
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        x = self.inception4e(x)
        x = self.maxpool4(x)
        x = self.inception5a(x)
        x = self.inception5b(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        x = self.fc(x)
        return x


# MobileNetV2 (torchvision/models/mobilenetv2.py)
class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        self.stride = stride
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = self.stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1,
                                               activation_layer=nn.ReLU6))
        layers.extend([
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                 activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup)])
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        input_channel = _make_divisible(32, 8)
        self.last_channel = _make_divisible(1280, 8)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2,
                                                          activation_layer=nn.ReLU6)]
        for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                           [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]:
            output_channel = _make_divisible(c, 8)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel,
                                                 s if i == 0 else 1, expand_ratio=t))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


# EfficientNet-B0 (torchvision/models/efficientnet.py)
class MBConv(nn.Module):
    def __init__(self, expand_ratio: int, kernel: int, stride: int, input_channels: int,
                 out_channels: int, stochastic_depth_prob: float):
        super().__init__()
        self.use_res_connect = stride == 1 and input_channels == out_channels
        layers: list[nn.Module] = []
        expanded_channels = _make_divisible(input_channels * expand_ratio, 8)
        if expanded_channels != input_channels:
            layers.append(Conv2dNormActivation(input_channels, expanded_channels, kernel_size=1,
                                               activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels,
                                           kernel_size=kernel, stride=stride,
                                           groups=expanded_channels, activation_layer=nn.SiLU))
        squeeze_channels = max(1, input_channels // 4)
        layers.append(SqueezeExcitation(expanded_channels, squeeze_channels,
                                        activation=lambda: nn.SiLU(inplace=True)))
        layers.append(Conv2dNormActivation(expanded_channels, out_channels, kernel_size=1,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    def __init__(self, dropout: float = 0.2, stochastic_depth_prob: float = 0.2,
                 num_classes: int = 1000):
        super().__init__()
        setting = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                   (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                   (6, 3, 1, 192, 320, 1)]
        layers: list[nn.Module] = [Conv2dNormActivation(3, setting[0][3], kernel_size=3,
                                                        stride=2, activation_layer=nn.SiLU)]
        total = sum(n for *_, n in setting)
        block_id = 0
        for t, k, s, c_in, c_out, n in setting:
            stage: list[nn.Module] = []
            for _ in range(n):
                stride, inp = (1, c_out) if stage else (s, c_in)
                stage.append(MBConv(t, k, stride, inp, c_out,
                                    stochastic_depth_prob * float(block_id) / total))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        layers.append(Conv2dNormActivation(setting[-1][4], 4 * setting[-1][4], kernel_size=1,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(4 * setting[-1][4], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


# ConvNeXt-Tiny (torchvision/models/convnext.py; ops/misc.py's Permute)
class Permute(nn.Module):
    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.layer_scale * self.block(input)
        result = self.stochastic_depth(result)
        result += input
        return result


class ConvNeXt(nn.Module):
    """convnext_tiny: CNBlockConfig (96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3);
    stochastic_depth_prob 0.1, layer_scale 1e-6."""

    def __init__(self, stochastic_depth_prob: float = 0.1, layer_scale: float = 1e-6,
                 num_classes: int = 1000):
        super().__init__()
        setting = [(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)]
        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=4, stride=4, padding=0, bias=True),
            LayerNorm2d(96, eps=1e-6))]  # Conv2dNormActivation(..., activation_layer=None)
        total = sum(n for _, _, n in setting)
        block_id = 0
        for c_in, c_out, n in setting:
            stage: list[nn.Module] = []
            for _ in range(n):
                sd_prob = stochastic_depth_prob * block_id / (total - 1.0)
                stage.append(CNBlock(c_in, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if c_out is not None:
                layers.append(nn.Sequential(LayerNorm2d(c_in, eps=1e-6),
                                            nn.Conv2d(c_in, c_out, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(LayerNorm2d(768, eps=1e-6), nn.Flatten(1),
                                        nn.Linear(768, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x)


# EfficientNetV2-S (torchvision/models/efficientnet.py: FusedMBConv, MBConv)
class MBConvV2(nn.Module):
    """MBConv as efficientnet_v2_s builds it (BatchNorm2d eps 1e-3; torchvision's MBConv)."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, stochastic_depth_prob: float):
        super().__init__()
        self.use_res_connect = stride == 1 and input_channels == out_channels
        norm = partial(nn.BatchNorm2d, eps=1e-3)
        layers: list[nn.Module] = []
        expanded = _make_divisible(input_channels * expand_ratio, 8)
        if expanded != input_channels:
            layers.append(Conv2dNormActivation(input_channels, expanded, kernel_size=1,
                                               norm_layer=norm, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=kernel, stride=stride,
                                           groups=expanded, norm_layer=norm,
                                           activation_layer=nn.SiLU))
        layers.append(SqueezeExcitation(expanded, max(1, input_channels // 4),
                                        activation=lambda: nn.SiLU(inplace=True)))
        layers.append(Conv2dNormActivation(expanded, out_channels, kernel_size=1,
                                           norm_layer=norm, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class FusedMBConv(nn.Module):
    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, stochastic_depth_prob: float):
        super().__init__()
        self.use_res_connect = stride == 1 and input_channels == out_channels
        norm = partial(nn.BatchNorm2d, eps=1e-3)
        layers: list[nn.Module] = []
        expanded = _make_divisible(input_channels * expand_ratio, 8)
        if expanded != input_channels:
            layers.append(Conv2dNormActivation(input_channels, expanded, kernel_size=kernel,
                                               stride=stride, norm_layer=norm,
                                               activation_layer=nn.SiLU))
            layers.append(Conv2dNormActivation(expanded, out_channels, kernel_size=1,
                                               norm_layer=norm, activation_layer=None))
        else:
            layers.append(Conv2dNormActivation(input_channels, out_channels, kernel_size=kernel,
                                               stride=stride, norm_layer=norm,
                                               activation_layer=nn.SiLU))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNetV2(nn.Module):
    """efficientnet_v2_s: dropout 0.2, stochastic depth 0.2, last channel 1280."""

    def __init__(self, dropout: float = 0.2, stochastic_depth_prob: float = 0.2,
                 num_classes: int = 1000):
        super().__init__()
        # (block, expand_ratio, kernel, stride, input_channels, out_channels, num_layers)
        setting = [(FusedMBConv, 1, 3, 1, 24, 24, 2), (FusedMBConv, 4, 3, 2, 24, 48, 4),
                   (FusedMBConv, 4, 3, 2, 48, 64, 4), (MBConvV2, 4, 3, 2, 64, 128, 6),
                   (MBConvV2, 6, 3, 1, 128, 160, 9), (MBConvV2, 6, 3, 2, 160, 256, 15)]
        norm = partial(nn.BatchNorm2d, eps=1e-3)
        layers: list[nn.Module] = [Conv2dNormActivation(3, 24, kernel_size=3, stride=2,
                                                        norm_layer=norm,
                                                        activation_layer=nn.SiLU)]
        total = sum(row[-1] for row in setting)
        block_id = 0
        for block, t, k, s, c_in, c_out, n in setting:
            stage: list[nn.Module] = []
            for _ in range(n):
                stride, inp = (1, c_out) if stage else (s, c_in)
                stage.append(block(t, k, stride, inp, c_out,
                                   stochastic_depth_prob * float(block_id) / total))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        layers.append(Conv2dNormActivation(256, 1280, kernel_size=1, norm_layer=norm,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# RegNetY-400MF (torchvision/models/regnet.py: SimpleStemIN, ResBottleneckBlock, AnyStage)
class BottleneckTransform(nn.Sequential):
    def __init__(self, width_in: int, width_out: int, stride: int, group_width: int,
                 se_ratio: float):
        groups = width_out // group_width
        super().__init__(OrderedDict([
            ("a", Conv2dNormActivation(width_in, width_out, kernel_size=1)),
            ("b", Conv2dNormActivation(width_out, width_out, kernel_size=3, stride=stride,
                                       groups=groups)),
            ("se", SqueezeExcitation(width_out, int(round(se_ratio * width_in)),
                                     activation=nn.ReLU)),
            ("c", Conv2dNormActivation(width_out, width_out, kernel_size=1,
                                       activation_layer=None))]))


class ResBottleneckBlock(nn.Module):
    def __init__(self, width_in: int, width_out: int, stride: int, group_width: int,
                 se_ratio: float):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.proj is not None:
            x = self.proj(x) + self.f(x)
        else:
            x = x + self.f(x)
        return self.activation(x)


class RegNet(nn.Module):
    """regnet_y_400mf: BlockParams.from_init_params(depth 16, w_0 48, w_a 27.89, w_m 2.09,
    group_width 8, se_ratio 0.25): stage widths 48, 104, 208, 440, depths 1, 3, 6, 6."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.stem = Conv2dNormActivation(3, 32, kernel_size=3, stride=2)
        stages: list[tuple[str, nn.Module]] = []
        current = 32
        for i, (width, depth) in enumerate(zip([48, 104, 208, 440], [1, 3, 6, 6],
                                               strict=True)):
            blocks = [(f"block{i + 1}-{j}", ResBottleneckBlock(current if j == 0 else width,
                                                              width, 2 if j == 0 else 1, 8,
                                                              0.25)) for j in range(depth)]
            stages.append((f"block{i + 1}", nn.Sequential(OrderedDict(blocks))))
            current = width
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(current, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.trunk_output(x)
        x = self.avgpool(x)
        x = x.flatten(start_dim=1)
        return self.fc(x)


# ShuffleNetV2 1.0x (torchvision/models/shufflenetv2.py)
def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    batchsize, num_channels, height, width = x.size()
    x = x.view(batchsize, groups, num_channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class ShuffleUnit(nn.Module):
    """torchvision's shufflenetv2.InvertedResidual."""

    def __init__(self, inp: int, oup: int, stride: int):
        super().__init__()
        self.stride = stride
        branch = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch, branch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch), nn.ReLU(inplace=True),
            nn.Conv2d(branch, branch, 3, stride, 1, bias=False, groups=branch),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, 1, 0, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """shufflenet_v2_x1_0: stages_repeats [4, 8, 4], out channels [24, 116, 232, 464, 1024]."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        repeats, channels = [4, 8, 4], [24, 116, 232, 464, 1024]
        self.conv1 = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        current = 24
        for name, n, out in zip(["stage2", "stage3", "stage4"], repeats, channels[1:4],
                                strict=True):
            units = [ShuffleUnit(current, out, 2)] + [ShuffleUnit(out, out, 1)
                                                      for _ in range(n - 1)]
            setattr(self, name, nn.Sequential(*units))
            current = out
        self.conv5 = nn.Sequential(nn.Conv2d(current, 1024, 1, 1, 0, bias=False),
                                   nn.BatchNorm2d(1024), nn.ReLU(inplace=True))
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.maxpool(x)
        x = self.stage2(x)
        x = self.stage3(x)
        x = self.stage4(x)
        x = self.conv5(x)
        x = x.mean([2, 3])  # globalpool
        return self.fc(x)


# Inception v3 (torchvision/models/inception.py; aux_logits=True, transform_input=False)
class BasicConv2dV3(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.bn(x)
        return F.relu(x, inplace=True)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2dV3(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2dV3(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2dV3(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2dV3(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2dV3(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2dV3(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2dV3(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2dV3(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2dV3(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2dV3(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2dV3(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2dV3(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2dV3(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2dV3(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2dV3(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2dV3(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2dV3(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2dV3(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2dV3(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2dV3(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2dV3(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            branch7x7dbl = conv(branch7x7dbl)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2dV3(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2dV3(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2dV3(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2dV3(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2dV3(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2dV3(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(
            self.branch7x7x3_1(x))))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class InceptionE(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch1x1 = BasicConv2dV3(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2dV3(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2dV3(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2dV3(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2dV3(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2dV3(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2dV3(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2dV3(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2dV3(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl),
                                  self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionAux(nn.Module):
    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.conv0 = BasicConv2dV3(in_channels, 128, kernel_size=1)
        self.conv1 = BasicConv2dV3(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, kernel_size=5, stride=3)
        x = self.conv0(x)
        x = self.conv1(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.fc(x)


class Inception3(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.aux_logits = True
        self.transform_input = False
        self.Conv2d_1a_3x3 = BasicConv2dV3(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2dV3(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2dV3(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2dV3(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2dV3(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.AuxLogits = InceptionAux(768, num_classes)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = self.maxpool1(x)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = self.maxpool2(x)
        x = self.Mixed_5b(x)
        x = self.Mixed_5c(x)
        x = self.Mixed_5d(x)
        x = self.Mixed_6a(x)
        x = self.Mixed_6b(x)
        x = self.Mixed_6c(x)
        x = self.Mixed_6d(x)
        x = self.Mixed_6e(x)
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7a(x)
        x = self.Mixed_7b(x)
        x = self.Mixed_7c(x)
        x = self.avgpool(x)
        x = self.dropout(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x if aux is None else (x, aux)  # torchvision: InceptionOutputs in training


#: Bundled spec -> the torchvision model it equals, row for row (TORCHVISION_SPECS: where a
#: spec of tests/data is that model row for row and the bundled spec is not quite).
TORCHVISION: dict[str, Maker] = {
    "resnet18": lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
    "resnet50": lambda: ResNet(Bottleneck, [3, 4, 6, 3]),
    "vgg16": vgg16,
    "googlenet": GoogLeNet,
    "mobilenet_v2": MobileNetV2,
    "efficientnet_b0": EfficientNet,
    "convnext_tiny": ConvNeXt,
    "efficientnet_v2_s": EfficientNetV2,
    "regnet_y_400mf": RegNet,
    "shufflenet_v2_x1_0": ShuffleNetV2,
    "inception_v3": Inception3,
}
#: torchvision's vgg16 has an identity AdaptiveAvgPool2d((7, 7)) and no softmax, unlike the
#: lecture's listing the bundled vgg16 is; this spec is torchvision's row for row
TORCHVISION_SPECS: dict[str, str] = {"vgg16": "tests/data/vgg16-torchvision.yaml"}


def torchvision_spec(name: str) -> str:
    """The spec that is the torchvision model `name` row for row (a path or bundled name)."""
    return str(ROOT / TORCHVISION_SPECS[name]) if name in TORCHVISION_SPECS else name


# --------------------------------------------------------------------------- pieces

class Op(nn.Module):
    """A module whose forward is one function of its input (a functional or an operator)."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], label: str):
        super().__init__()
        self.fn, self.label = fn, label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.label


class ChannelsLast(nn.Module):
    """`module` on channels-last tensors, as ConvNeXt's CNBlock runs nn.LayerNorm and
    nn.Linear: Permute to NHWC, the module, Permute back."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.to_last, self.module, self.to_first = (Permute([0, 2, 3, 1]), module,
                                                    Permute([0, 3, 1, 2]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_first(self.module(self.to_last(x)))


class LayerScaled(nn.Module):
    """ConvNeXt's layer scale: a (C, 1, 1) parameter times the input (an operator)."""

    def __init__(self, channels: int):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(channels, 1, 1) * 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


def _inplace_add(x: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    out += x
    return out


@dataclass(frozen=True)
class Piece:
    """One operation (or a small net) in one form, with the spec that writes it for cnncalc's
    conventions (None: a form no spec can name); `built`: the model is the spec built by
    `cnncalc.torch.build`."""

    make: Maker
    shape: tuple[int, ...]
    what: str
    spec: str | None = None
    built: bool = False


def _spec_text(layers: str, shape: tuple[int, ...]) -> str:
    """A spec of `layers` (a YAML flow list) on an input of torch's `shape` (C,H,W or N)."""
    size = "x".join(map(str, (*shape[1:], shape[0]))) if len(shape) == 3 else str(shape[0])
    return f"name: piece\ninput: {size}\nlayers: {layers}\n"


def _built(layers: str, shape: tuple[int, ...], what: str) -> Piece:
    def make() -> nn.Module:
        import cnncalc
        from cnncalc.torch import build

        return build(cnncalc.analyze(cnncalc.load_text(_spec_text(layers, shape))))

    return Piece(make, shape, what, layers, built=True)


def _in_network(make: Maker) -> Maker:
    """The piece as one layer of a network (an nn.Sequential around it), as every measured
    model holds its layers: thop counts no params of a model that is a bare leaf module."""
    return lambda: nn.Sequential(make())


def _cnncalc_pieces() -> dict[str, Piece]:
    m = (8, 16, 16)
    return {
        "cnncalc_conv3x3_bias": _built("[{conv: [16, 3, 1, 1]}]", m,
                                       "cnncalc.torch.Conv2d (a subclass of nn.Conv2d), bias"),
        "cnncalc_conv3x3_relu": _built("[{conv: {filters: 16, kernel: 3, padding: 1, "
                                       "activation: relu}}]", m,
                                       "cnncalc.torch.Conv2d with its fused relu (F.relu)"),
        "cnncalc_conv3x3_hardswish": _built(
            "[{conv: {filters: 16, kernel: 3, padding: 1, activation: hardswish}}]", m,
            "cnncalc.torch.Conv2d with its fused hardswish (F.hardswish)"),
        "cnncalc_linear_softmax": _built("[{dense: {units: 10, activation: softmax}}]", (64,),
                                         "cnncalc.torch.Linear with its fused softmax "
                                         "(F.softmax)"),
        "cnncalc_activation_relu": _built("[relu]", m, "cnncalc.torch.Activation('relu') "
                                          "(F.relu)"),
        "cnncalc_activation_silu": _built("[silu]", m, "cnncalc.torch.Activation('silu') "
                                          "(F.silu)"),
        "cnncalc_activation_sigmoid": _built("[sigmoid]", m, "cnncalc.torch.Activation("
                                             "'sigmoid') (torch.sigmoid)"),
        "cnncalc_global_avg": _built("[global_pool]", m, "cnncalc.torch.GlobalPool avg "
                                     "(x.mean((2, 3)))"),
        "cnncalc_add": _built("[{add: {}, from: [input, input]}]", m,
                              "cnncalc.torch.Add of two maps (a + b)"),
        "cnncalc_se": _built("[{se: {squeeze: 4, activation: silu}}]", (16, 8, 8),
                             "cnncalc.torch.SqueezeExcitation(16, squeeze 4, silu, sigmoid)"),
        "cnncalc_conv_transpose": _built("[{conv_transpose: [4, 2, 2]}]", m,
                                         "cnncalc.torch.ConvTranspose2d (a subclass) 8->4 2x2 s2"),
        "cnncalc_layernorm_map": _built("[layernorm]", m, "cnncalc.torch.LayerNorm2d (a "
                                        "subclass of nn.LayerNorm, F.layer_norm)"),
        "cnncalc_layernorm_vector": _built("[layernorm]", (64,), "nn.LayerNorm(64), as cnncalc "
                                           "builds a vector's layer norm"),
        "cnncalc_layer_scale": _built("[layer_scale]", m, "cnncalc.torch.LayerScale (scale * x)"),
        "cnncalc_upsample_bilinear": _built("[{upsample: {factor: 2, mode: bilinear}}]", m,
                                            "nn.Upsample bilinear, as cnncalc builds it"),
        "cnncalc_adaptive_uneven": _built("[{adaptive_pool: 6}]", m,
                                          "nn.AdaptiveAvgPool2d(6) on 16x16 (windows that do "
                                          "not slide evenly), as cnncalc builds it"),
        "cnncalc_adaptive_even": _built("[{adaptive_pool: 5}]", m,
                                        "nn.AvgPool2d(4, 3): cnncalc's adaptive pool 16 -> 5 "
                                        "(the lecture's window)"),
    }


def pieces() -> dict[str, Piece]:
    """name -> Piece (model, input shape C,H,W or N, what it is, its spec). One operation
    each."""
    m = (8, 16, 16)
    v = (64,)
    P = Piece
    return {
        # convolutions and dense layers
        "conv3x3_bias": P(lambda: nn.Conv2d(8, 16, 3, padding=1), m, "nn.Conv2d 8->16 3x3 p1",
                          "[{conv: [16, 3, 1, 1]}]"),
        "conv3x3_nobias": P(lambda: nn.Conv2d(8, 16, 3, padding=1, bias=False), m,
                            "nn.Conv2d 8->16 3x3 p1, bias=False",
                            "[{conv: {filters: 16, kernel: 3, padding: 1, bias: false}}]"),
        "conv3x3_s2_bias": P(lambda: nn.Conv2d(8, 16, 3, stride=2, padding=1), m,
                             "nn.Conv2d 8->16 3x3 s2 p1", "[{conv: [16, 3, 2, 1]}]"),
        "conv3x3_groups4_nobias": P(
            lambda: nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False), m,
            "nn.Conv2d 8->16 3x3 p1 groups=4, bias=False",
            "[{conv: {filters: 16, kernel: 3, padding: 1, groups: 4, bias: false}}]"),
        "depthwise3x3_nobias": P(lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), m,
                                 "nn.Conv2d 8->8 3x3 p1 groups=8, bias=False",
                                 "[{depthwise: {kernel: 3, padding: 1, bias: false}}]"),
        "depthwise3x3_bias": P(lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8), m,
                               "nn.Conv2d 8->8 3x3 p1 groups=8",
                               "[{depthwise: {kernel: 3, padding: 1}}]"),
        "depthwise3x3_mult2_nobias": P(
            lambda: nn.Conv2d(8, 16, 3, padding=1, groups=8, bias=False), m,
            "nn.Conv2d 8->16 3x3 p1 groups=8 (multiplier 2), bias=False",
            "[{depthwise: {kernel: 3, padding: 1, multiplier: 2, bias: false}}]"),
        "linear_bias": P(lambda: nn.Linear(64, 10), v, "nn.Linear 64->10", "[{dense: 10}]"),
        "linear_nobias": P(lambda: nn.Linear(64, 10, bias=False), v,
                           "nn.Linear 64->10, bias=False", "[{dense: {units: 10, bias: false}}]"),
        "linear_channels_last": P(lambda: ChannelsLast(nn.Linear(8, 16)), m,
                                  "nn.Linear 8->16 on channels-last (ConvNeXt's pointwise)",
                                  "[{conv: [16, 1], written_as: linear}]"),
        "linear_channels_last_nobias": P(
            lambda: ChannelsLast(nn.Linear(8, 16, bias=False)), m,
            "nn.Linear 8->16, bias=False, on channels-last",
            "[{conv: {filters: 16, kernel: 1, bias: false}, written_as: linear}]"),
        "conv_transpose_bias": P(lambda: nn.ConvTranspose2d(8, 4, 2, stride=2), m,
                                 "nn.ConvTranspose2d 8->4 2x2 s2", "[{conv_transpose: [4, 2, 2]}]"),
        "conv_transpose_rect": P(
            lambda: nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), (8, 8, 12),
            "nn.ConvTranspose2d 8->4 3x3 s2 p1 op1 on 8x12 (16x24 out)",
            "[{conv_transpose: {filters: 4, kernel: 3, stride: 2, padding: 1, "
            "output_padding: 1}}]"),
        "conv_transpose_nobias": P(
            lambda: nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, bias=False),
            (8, 8, 12), "nn.ConvTranspose2d 8->4 3x3 s2 p1 op1, bias=False, on 8x12",
            "[{conv_transpose: {filters: 4, kernel: 3, stride: 2, padding: 1, "
            "output_padding: 1, bias: false}}]"),
        # normalisation
        "batchnorm2d": P(lambda: nn.BatchNorm2d(8), m, "nn.BatchNorm2d(8)", "[batchnorm]"),
        "batchnorm2d_noaffine": P(lambda: nn.BatchNorm2d(8, affine=False), m,
                                  "nn.BatchNorm2d(8, affine=False)",
                                  "[{batchnorm: {affine: false}}]"),
        "batchnorm1d": P(lambda: nn.BatchNorm1d(64), v, "nn.BatchNorm1d(64) on a vector",
                         "[batchnorm]"),
        "layernorm_channels_last": P(lambda: ChannelsLast(nn.LayerNorm(8, eps=1e-6)), m,
                                     "nn.LayerNorm(8) on channels-last (CNBlock's)",
                                     "[layernorm]"),
        "layernorm_channels_last_noaffine": P(
            lambda: ChannelsLast(nn.LayerNorm(8, elementwise_affine=False)), m,
            "nn.LayerNorm(8, elementwise_affine=False) on channels-last",
            "[{layernorm: {affine: false}}]"),
        "layernorm2d": P(lambda: LayerNorm2d(8, eps=1e-6), m,
                         "torchvision's LayerNorm2d(8) (a subclass of nn.LayerNorm)",
                         "[{layernorm: {}, written_as: subclass}]"),
        "layernorm_functional": P(
            lambda: ChannelsLast(Op(lambda x: F.layer_norm(x, (8,)), "F.layer_norm")), m,
            "F.layer_norm over the channels (no affine)",
            "[{layernorm: {affine: false}, written_as: functional}]"),
        "layernorm_vector": P(lambda: nn.LayerNorm(64), v, "nn.LayerNorm(64) on a vector",
                              "[layernorm]"),
        "layer_scale": P(lambda: LayerScaled(8), m, "ConvNeXt's layer scale (a parameter * x)",
                         "[layer_scale]"),
        # activations: module, functional
        "relu_module": P(lambda: nn.ReLU(), m, "nn.ReLU()", "[relu]"),
        "relu_module_inplace": P(lambda: nn.ReLU(inplace=True), m, "nn.ReLU(inplace=True)",
                                 "[relu]"),
        "relu_functional": P(lambda: Op(lambda x: F.relu(x), "F.relu"), m, "F.relu(x)",
                             "[{relu: {}, written_as: functional}]"),
        "relu_functional_bound": P(lambda: Op(F.relu, "relu"), m, "relu(x), the function bound "
                                   "before counting (from torch.nn.functional import relu)"),
        "relu_torch": P(lambda: Op(lambda x: torch.relu(x), "torch.relu"), m, "torch.relu(x)"),
        "relu6_module": P(lambda: nn.ReLU6(), m, "nn.ReLU6()", "[relu6]"),
        "relu6_functional": P(lambda: Op(lambda x: F.relu6(x), "F.relu6"), m, "F.relu6(x)",
                              "[{relu6: {}, written_as: functional}]"),
        "leaky_relu_module": P(lambda: nn.LeakyReLU(0.2), m, "nn.LeakyReLU(0.2)",
                               "[{leaky_relu: {negative_slope: 0.2}}]"),
        "leaky_relu_functional": P(lambda: Op(lambda x: F.leaky_relu(x, 0.2), "F.leaky_relu"),
                                   m, "F.leaky_relu(x, 0.2)",
                                   "[{leaky_relu: {negative_slope: 0.2}, written_as: "
                                   "functional}]"),
        "hardswish_module": P(lambda: nn.Hardswish(), m, "nn.Hardswish()", "[hardswish]"),
        "hardswish_functional": P(lambda: Op(lambda x: F.hardswish(x), "F.hardswish"), m,
                                  "F.hardswish(x)", "[{hardswish: {}, written_as: functional}]"),
        "hardsigmoid_module": P(lambda: nn.Hardsigmoid(), m, "nn.Hardsigmoid()",
                                "[hardsigmoid]"),
        "prelu_module": P(lambda: nn.PReLU(), m, "nn.PReLU() (one parameter)"),
        "elu_module": P(lambda: nn.ELU(), m, "nn.ELU()"),
        "gelu_module": P(lambda: nn.GELU(), m, "nn.GELU()", "[gelu]"),
        "gelu_tanh_module": P(lambda: nn.GELU(approximate="tanh"), m,
                              "nn.GELU(approximate='tanh')",
                              "[{gelu: {approximate: tanh}}]"),
        "gelu_functional": P(lambda: Op(lambda x: F.gelu(x), "F.gelu"), m, "F.gelu(x)",
                             "[{gelu: {}, written_as: functional}]"),
        "silu_module": P(lambda: nn.SiLU(), m, "nn.SiLU()", "[silu]"),
        "silu_functional": P(lambda: Op(lambda x: F.silu(x), "F.silu"), m, "F.silu(x)",
                             "[{silu: {}, written_as: functional}]"),
        "sigmoid_module": P(lambda: nn.Sigmoid(), m, "nn.Sigmoid()", "[sigmoid]"),
        "sigmoid_torch": P(lambda: Op(lambda x: torch.sigmoid(x), "torch.sigmoid"), m,
                           "torch.sigmoid(x)"),
        "tanh_module": P(lambda: nn.Tanh(), m, "nn.Tanh()", "[tanh]"),
        "tanh_torch": P(lambda: Op(lambda x: torch.tanh(x), "torch.tanh"), m, "torch.tanh(x)"),
        "softmax_module": P(lambda: nn.Softmax(dim=1), (1000,), "nn.Softmax(dim=1) on 1000",
                            "[softmax]"),
        "softmax_functional": P(lambda: Op(lambda x: F.softmax(x, dim=1), "F.softmax"), (1000,),
                                "F.softmax(x, dim=1) on 1000",
                                "[{softmax: {}, written_as: functional}]"),
        "softmax_module_map": P(lambda: nn.Softmax(dim=1), m, "nn.Softmax(dim=1) on a map",
                                "[softmax]"),
        # pooling
        "maxpool2x2": P(lambda: nn.MaxPool2d(2), m, "nn.MaxPool2d(2)", "[{maxpool: 2}]"),
        "maxpool3x3_s2_p1": P(lambda: nn.MaxPool2d(3, 2, padding=1), m, "nn.MaxPool2d(3, 2, 1)",
                              "[{maxpool: {kernel: 3, stride: 2, padding: 1}}]"),
        "maxpool2x2_ceil": P(lambda: nn.MaxPool2d(3, 2, ceil_mode=True), m,
                             "nn.MaxPool2d(3, 2, ceil_mode=True)",
                             "[{maxpool: {kernel: 3, stride: 2, ceil_mode: true}}]"),
        "maxpool_functional": P(lambda: Op(lambda x: F.max_pool2d(x, 2), "F.max_pool2d"), m,
                                "F.max_pool2d(x, 2)", "[{maxpool: 2, written_as: functional}]"),
        "avgpool2x2": P(lambda: nn.AvgPool2d(2), m, "nn.AvgPool2d(2)", "[{avgpool: 2}]"),
        "avgpool3x3_s1_p1": P(lambda: nn.AvgPool2d(3, 1, padding=1), m, "nn.AvgPool2d(3, 1, 1)",
                              "[{avgpool: {kernel: 3, stride: 1, padding: 1}}]"),
        "avgpool_functional": P(lambda: Op(lambda x: F.avg_pool2d(x, 2), "F.avg_pool2d"), m,
                                "F.avg_pool2d(x, 2)", "[{avgpool: 2, written_as: functional}]"),
        "adaptive_avg_1": P(lambda: nn.AdaptiveAvgPool2d(1), m, "nn.AdaptiveAvgPool2d(1)",
                            "[{adaptive_pool: 1}]"),
        "adaptive_avg_4": P(lambda: nn.AdaptiveAvgPool2d(4), m,
                            "nn.AdaptiveAvgPool2d(4) (16 -> 4: window 4)", "[{adaptive_pool: 4}]"),
        "adaptive_avg_5": P(lambda: nn.AdaptiveAvgPool2d(5), m,
                            "nn.AdaptiveAvgPool2d(5) (16 -> 5: windows do not divide)",
                            "[{adaptive_pool: 5}]"),
        "adaptive_avg_identity": P(lambda: nn.AdaptiveAvgPool2d(7), (8, 7, 7),
                                   "nn.AdaptiveAvgPool2d(7) on 7x7 (VGG's at 224: the identity)",
                                   "[{adaptive_pool: 7}]"),
        "adaptive_avg_functional": P(
            lambda: Op(lambda x: F.adaptive_avg_pool2d(x, (1, 1)), "F.adaptive_avg_pool2d"), m,
            "F.adaptive_avg_pool2d(x, (1, 1)) (MobileNetV2's)",
            "[{adaptive_pool: 1, written_as: functional}]"),
        "adaptive_max_1": P(lambda: nn.AdaptiveMaxPool2d(1), m, "nn.AdaptiveMaxPool2d(1)",
                            "[{adaptive_pool: {mode: max, size: 1}}]"),
        "global_avg_module": P(lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), m,
                               "nn.AdaptiveAvgPool2d(1) then nn.Flatten (a vector of C)",
                               "[global_pool]"),
        "global_max_module": P(lambda: nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten()), m,
                               "nn.AdaptiveMaxPool2d(1) then nn.Flatten",
                               "[{global_pool: max}]"),
        "global_avg_functional": P(
            lambda: Op(lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1), "F.adaptive_avg_pool2d"),
            m, "F.adaptive_avg_pool2d(x, 1), flattened",
            "[{global_pool: avg, written_as: functional}]"),
        "global_max_functional": P(
            lambda: Op(lambda x: F.adaptive_max_pool2d(x, 1).flatten(1), "F.adaptive_max_pool2d"),
            m, "F.adaptive_max_pool2d(x, 1), flattened",
            "[{global_pool: max, written_as: functional}]"),
        "mean_hw": P(lambda: Op(lambda x: x.mean((2, 3)), "mean"), m, "x.mean((2, 3))",
                     "[{global_pool: avg, written_as: tensor}]"),
        "mean_hw_keepdim": P(lambda: Op(lambda x: x.mean((2, 3), keepdim=True), "mean keepdim"),
                             m, "x.mean((2, 3), keepdim=True)",
                             "[{global_pool: {keepdims: true}, written_as: tensor}]"),
        "amax_hw": P(lambda: Op(lambda x: x.amax((2, 3)), "amax"), m, "x.amax((2, 3))",
                     "[{global_pool: max, written_as: tensor}]"),
        # upsampling
        "upsample_nearest_module": P(lambda: nn.Upsample(scale_factor=2), m,
                                     "nn.Upsample(scale_factor=2) (nearest)", "[{upsample: 2}]"),
        "upsample_bilinear_module": P(
            lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), m,
            "nn.Upsample(scale_factor=2, mode='bilinear')",
            "[{upsample: {factor: 2, mode: bilinear}}]"),
        "upsample_nearest_functional": P(
            lambda: Op(lambda x: F.interpolate(x, scale_factor=2), "F.interpolate"), m,
            "F.interpolate(x, scale_factor=2)", "[{upsample: 2, written_as: functional}]"),
        "upsample_bilinear_functional": P(
            lambda: Op(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear",
                                               align_corners=False), "F.interpolate"), m,
            "F.interpolate(x, scale_factor=2, mode='bilinear')",
            "[{upsample: {factor: 2, mode: bilinear}, written_as: functional}]"),
        # merges and the SE multiply
        "add_operator": P(lambda: Op(lambda x: x + x, "+"), m, "a + b",
                          "[{add: {}, from: [input, input]}]"),
        "add_inplace": P(lambda: Op(_inplace_add, "+="), m, "a += b",
                         "[{add: {}, from: [input, input]}]"),
        "add_torch": P(lambda: Op(lambda x: torch.add(x, x), "torch.add"), m, "torch.add(a, b)",
                       "[{add: {}, from: [input, input], written_as: functional}]"),
        "add_method": P(lambda: Op(lambda x: x.add(x), "Tensor.add"), m, "a.add(b)",
                        "[{add: {}, from: [input, input], written_as: functional}]"),
        "add_torch_three": P(lambda: Op(lambda x: torch.add(torch.add(x, x), x), "torch.add x2"),
                             m, "torch.add(torch.add(a, b), c)",
                             "[{add: {}, from: [input, input, input], written_as: functional}]"),
        "concat": P(lambda: Op(lambda x: torch.cat([x, x], 1), "torch.cat"), m,
                    "torch.cat([a, b], 1)", "[{concat: {}, from: [input, input]}]"),
        "mul_broadcast_operator": P(lambda: Op(lambda x: x * x[:, :, :1, :1], "*"), m,
                                    "x * s, s of N x C x 1 x 1 (the SE multiply)"),
        "mul_broadcast_torch": P(lambda: Op(lambda x: torch.mul(x, x[:, :, :1, :1]), "torch.mul"),
                                 m, "torch.mul(x, s), s of N x C x 1 x 1"),
        # shape-only
        "flatten_module": P(lambda: nn.Flatten(), m, "nn.Flatten()", "[flatten]"),
        "dropout_module": P(lambda: nn.Dropout(0.5), m, "nn.Dropout(0.5)", "[{dropout: 0.5}]"),
        "stochastic_depth": P(lambda: StochasticDepth(0.1, "row"), m,
                              "torchvision's StochasticDepth(0.1, 'row') (eval: the identity)",
                              "[{stochastic_depth: 0.1}]"),
        "zeropad_module": P(lambda: nn.ZeroPad2d(1), m, "nn.ZeroPad2d(1)", "[{pad: 1}]"),
        "pad_functional": P(lambda: Op(lambda x: F.pad(x, (1, 1, 1, 1)), "F.pad"), m,
                            "F.pad(x, (1, 1, 1, 1))"),
        "chunk": P(lambda: Op(lambda x: x.chunk(2, 1)[1], "chunk"), m, "x.chunk(2, 1)[1]",
                   "[{chunk: [2, 1]}]"),
        "channel_shuffle_module": P(lambda: nn.ChannelShuffle(2), m, "nn.ChannelShuffle(2)",
                                    "[{channel_shuffle: 2}]"),
        "channel_shuffle_function": P(lambda: Op(lambda x: channel_shuffle(x, 2), "shuffle"), m,
                                      "torchvision's channel_shuffle (view, transpose, view)"),
        "crop": P(lambda: Op(lambda x: x[:, :, 2:-2, 2:-2], "slice"), m,
                  "x[:, :, 2:-2, 2:-2]", "[{crop: 2}]"),
        # squeeze-and-excitation, torchvision's
        "se_torchvision": P(lambda: SqueezeExcitation(16, 4, activation=nn.SiLU), (16, 8, 8),
                            "torchvision SqueezeExcitation(16, 4, SiLU, Sigmoid) on 8x8x16",
                            "[{se: {squeeze: 4, activation: silu}}]"),
        "se_torchvision_relu": P(lambda: SqueezeExcitation(16, 4), (16, 8, 8),
                                 "torchvision SqueezeExcitation(16, 4, ReLU, Sigmoid) (RegNet's)",
                                 "[{se: {squeeze: 4}}]"),
        **_cnncalc_pieces(),
    }


# --------------------------------------------------------------------------- small nets

class SmallNet(nn.Module):
    """conv 3->8 3x3 p1, batch norm, relu, max pool 2, global average pool, linear 8->10; the
    global pool and the relu written in the form named."""

    def __init__(self, pool: str = "adaptive", relu: str = "module"):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU() if relu == "module" else None
        self.maxpool = nn.MaxPool2d(2)
        self.avgpool = nn.AdaptiveAvgPool2d(1) if pool == "adaptive" else None
        self.pool = pool
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        x = self.relu(x) if self.relu is not None else F.relu(x)
        x = self.maxpool(x)
        if self.pool == "adaptive":
            x = torch.flatten(self.avgpool(x), 1)
        elif self.pool == "functional":
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        else:
            x = x.mean((2, 3))
        return self.fc(x)


class SmallResidual(nn.Module):
    """conv-bn-relu-conv-bn on 16x16x8, the input added back (in the form named), relu."""

    def __init__(self, add: str):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.add = add

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.add == "operator":
            out = out + x
        elif self.add == "inplace":
            out += x
        else:
            out = torch.add(out, x)
        return self.relu(out)


def _small_net(pool: str, relu: str = "") -> str:
    return ("[{conv: [8, 3, 1, 1]}, batchnorm, {relu: {}" + relu + "}, {maxpool: 2}, "
            "{global_pool: avg" + pool + "}, {dense: 10}]")


_RESIDUAL = ("[{conv: {filters: 8, kernel: 3, padding: 1, bias: false}}, batchnorm, relu, "
             "{conv: {filters: 8, kernel: 3, padding: 1, bias: false}}, {batchnorm: {}, "
             "name: bn2}, {add: {}, from: [bn2, input]ADD}, relu]")


def nets() -> dict[str, Piece]:
    s, r = (3, 32, 32), (8, 16, 16)
    P = Piece
    return {
        "net_adaptive_avgpool": P(lambda: SmallNet("adaptive"), s,
                                  "conv+bn+ReLU()+maxpool+AdaptiveAvgPool2d(1)+flatten+linear",
                                  _small_net("")),
        "net_functional_avgpool": P(lambda: SmallNet("functional"), s,
                                    "the same with F.adaptive_avg_pool2d(x, 1)",
                                    _small_net(", written_as: functional")),
        "net_mean": P(lambda: SmallNet("mean"), s, "the same with x.mean((2, 3))",
                      _small_net(", written_as: tensor")),
        "net_mean_functional_relu": P(lambda: SmallNet("mean", relu="functional"), s,
                                      "the same with x.mean((2, 3)) and F.relu",
                                      _small_net(", written_as: tensor",
                                                 ", written_as: functional")),
        "residual_operator": P(lambda: SmallResidual("operator"), r, "residual block, out + x",
                               _RESIDUAL.replace("ADD", "")),
        "residual_inplace": P(lambda: SmallResidual("inplace"), r, "residual block, out += x",
                              _RESIDUAL.replace("ADD", "")),
        "residual_torch_add": P(lambda: SmallResidual("torch"), r,
                                "residual block, torch.add(out, x)",
                                _RESIDUAL.replace("ADD", ", written_as: functional")),
    }


# --------------------------------------------------------------------------- specs

def _shape_of(shape: tuple[int, ...]) -> tuple[int, ...]:
    """cnncalc's HWC (or N) as torch's CHW (or N)."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def spec_entry(name: str, per_layer: bool) -> dict[str, Any]:
    import cnncalc
    from cnncalc.torch import build

    report = cnncalc.analyze(cnncalc.load(name))
    shape = _shape_of(report.input_shape)
    t = report.totals
    entry: dict[str, Any] = {
        "input": list(shape),
        "cnncalc": {"params": t.params, "trainable_params": t.trainable_params,
                    "buffers": t.buffers, "macs": t.macs, "elementwise": t.elementwise,
                    "activations": t.activations},
        "tools": measure(lambda: build(report), shape, per_layer),
    }
    if name in TORCHVISION:
        entry["torchvision"] = {"spec": TORCHVISION_SPECS.get(name, name),
                                "tools": measure(TORCHVISION[name], shape, per_layer)}
    return entry


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name, dist in DISTRIBUTIONS.items():
        out[name] = version(dist)
    return out


# --------------------------------------------------------------------------- the rules, checked
# The product's rules (cnncalc.analyses.conventions, one table) applied to cnncalc's own nodes
# must give every measured number: each bundled spec as cnncalc.torch.build makes it, the
# torchvision models from the specs that are them row for row (their `written_as:` saying how
# torchvision writes what the tools count by form), and every piece and net that has a spec.

def predicted(spec: str, tool: str, built: bool) -> tuple[int, int | None]:
    """(number, params) that the product's convention `tool` gives for a spec (a bundled name,
    a path, or a spec's text)."""
    import cnncalc
    from cnncalc.analyses.conventions import count

    source = cnncalc.load_text(spec) if "\n" in spec else cnncalc.load(spec)
    counted = count(cnncalc.analyze(source), tool, built=built)
    return counted.number, (counted.total.params if counted.convention.has_params else None)


def check(data: dict[str, Any]) -> list[str]:
    """Every measured total of a peers.json that the product's rules do not give."""
    wrong = []
    models: list[tuple[str, str, dict[str, Any], bool]] = []
    for name, entry in data["specs"].items():
        models.append((f"{name} (built)", name, entry["tools"], True))
        if "torchvision" in entry:
            spec = entry["torchvision"].get("spec", name)
            spec = str(ROOT / spec) if spec.endswith(".yaml") else spec
            models.append((f"{name} (torchvision)", spec, entry["torchvision"]["tools"], False))
    for group in ("pieces", "nets"):
        for name, entry in data[group].items():
            if entry.get("spec"):
                text = _spec_text(entry["spec"], tuple(entry["input"]))
                models.append((f"{group[:-1]} {name}", text, entry["tools"],
                               entry.get("built", False)))
    for label, spec, tools, built in models:
        for tool in TOOLS:
            got = tools[tool]
            number, params = predicted(spec, tool, built)
            if (got.get("number"), got.get("params")) != (number, params):
                wrong.append(f"{label} {tool}: measured {got.get('number')} params "
                             f"{got.get('params')}; rules {number} params {params}")
    return wrong


def _cell(result: dict[str, Any], key: str) -> str:
    if "error" in result:
        return "error"
    value = result.get(key)
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def tables(data: dict[str, Any]) -> str:
    """The markdown tables of docs/peers.md, from a peers.json."""
    lines: list[str] = []
    head = "| " + " | ".join(TOOLS) + " |"
    rule = "| --- " * (len(TOOLS) + 2) + "|"
    for title, key in (("numbers (MACs; FLOPs for flopcounter)", "number"),
                       ("params", "params")):
        lines += [f"### Bundled specs built by cnncalc.torch.build: {title}", "",
                  f"| spec | cnncalc {'MACs' if key == 'number' else 'params'} {head}", rule]
        for name, entry in data["specs"].items():
            own = entry["cnncalc"]["macs" if key == "number" else "params"]
            cells = " | ".join(_cell(entry["tools"][t], key) for t in TOOLS)
            lines.append(f"| {name} | {own:,} | {cells} |")
        lines.append("")
        lines += [f"### The torchvision models (written out in bench/peers.py): {title}", "",
                  f"| model | cnncalc {'MACs' if key == 'number' else 'params'} {head}", rule]
        for name, entry in data["specs"].items():
            if "torchvision" in entry:
                own = entry["cnncalc"]["macs" if key == "number" else "params"]
                cells = " | ".join(_cell(entry["torchvision"]["tools"][t], key) for t in TOOLS)
                lines.append(f"| {name} | {own:,} | {cells} |")
        lines.append("")
    titles = {"pieces": "Pieces: one operation each (the per-kind rules come from these)",
              "nets": "Small equivalent networks"}
    for group in ("pieces", "nets"):
        lines += [f"### {titles[group]}", "",
                  f"| {group[:-1]} | input (C,H,W) | n_in {head} spec |",
                  rule.replace("| --- |", "| --- | --- |", 1) + " --- |"]
        for name, entry in data[group].items():
            n_in = math.prod(entry["input"])
            cells = " | ".join(_cell(entry["tools"][t], "number") for t in TOOLS)
            spec = entry.get("spec")
            written = (f"`{spec}`" + (" built" if entry.get("built") else "")) if spec else "-"
            lines.append(f"| {name}: {entry['what']} | {tuple(entry['input'])} | {n_in:,} | "
                         f"{cells} | {written} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=Path, metavar="PEERS_JSON",
                        help="print docs/peers.md's tables from a peers.json and stop")
    parser.add_argument("--check", type=Path, metavar="PEERS_JSON",
                        help="check docs/peers.md's rules against a peers.json and stop")
    parser.add_argument("--output", type=Path, default=ROOT / "tests" / "data" / "peers.json")
    parser.add_argument("--only", nargs="*", help="these bundled specs only")
    parser.add_argument("--no-pieces", action="store_true", help="skip the pieces and nets")
    parser.add_argument("--no-specs", action="store_true", help="the pieces and nets only")
    parser.add_argument("--totals-only", nargs="*", default=[],
                        help="specs whose per-layer numbers are not kept")
    parser.add_argument("--into", type=Path, metavar="PEERS_JSON",
                        help="start from this peers.json: what is measured now replaces its "
                        "entries, the rest is kept")
    args = parser.parse_args()
    if args.tables:
        print(tables(json.loads(args.tables.read_text())))
        return
    if args.check:
        wrong = check(json.loads(args.check.read_text()))
        print("\n".join(wrong) or "every total follows the rules")
        raise SystemExit(1 if wrong else 0)
    logging.disable(logging.WARNING)
    torch.set_num_threads(2)
    import ptflops.flops_counter as pf

    import cnncalc

    default_backend = pf.get_model_complexity_info.__defaults__
    backend = next(d for d in default_backend if isinstance(d, pf.FLOPS_BACKEND)).value
    data: dict[str, Any] = {
        "versions": versions(), "pinned": PINNED,
        "defaults": {"ptflops_backend": backend, "mode": "eval", "batch": 1},
        "units": {"torchinfo": "MACs (total_mult_adds)", "fvcore": "MACs (one per fused "
                  "multiply-add)", "ptflops": "MACs", "thop": "MACs (total_ops)",
                  "flopcounter": "FLOPs (2 per multiply-add)"},
        "specs": {}, "pieces": {}, "nets": {},
    }
    if args.into:
        kept = json.loads(args.into.read_text())
        for group in ("specs", "pieces", "nets"):
            data[group] = kept[group]
    names = [] if args.no_specs else args.only or sorted(cnncalc.bundled())
    for name in names:
        print(f"spec {name}", file=sys.stderr, flush=True)
        data["specs"][name] = spec_entry(name, name not in args.totals_only)
    if not args.no_pieces:
        for group, table in (("pieces", pieces()), ("nets", nets())):
            for name, piece in table.items():
                print(f"{group} {name}", file=sys.stderr, flush=True)
                data[group][name] = {"what": piece.what, "input": list(piece.shape),
                                     "spec": piece.spec, "built": piece.built,
                                     "tools": measure(_in_network(piece.make),
                                                      piece.shape)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
