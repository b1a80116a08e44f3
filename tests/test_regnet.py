"""RegNet computed from its parameters (`specs/regnet_y_400mf.yaml`) equals torchvision's.

The truth is torchvision/models/regnet.py, transcribed below twice: `block_params` follows
`BlockParams.from_init_params` in plain Python floats (as torchvision's numpy code did), and
`block_params_torch` in torch's float32 ops (as torchvision writes it now); `RegNet` builds the
network module for module (Conv2dNormActivation, SqueezeExcitation, BottleneckTransform,
ResBottleneckBlock, AnyStage, RegNet). Params are torchvision's published `num_params` of each
model's weights; MACs are FlopCounterMode / 2 of that module. Nothing here is copied from
cnncalc's output.
"""

from __future__ import annotations

import math
import os

import pytest

import cnncalc
from cnncalc.core import variables

# torchvision's regnet_* builders: (depth, w_0, w_a, w_m, group_width, se_ratio) and the
# num_params of their ImageNet weights.
CONFIGS = {
    "regnet_y_400mf": ((16, 48, 27.89, 2.09, 8, 0.25), 4_344_144),
    "regnet_y_800mf": ((14, 56, 38.84, 2.4, 16, 0.25), 6_432_512),
    "regnet_y_1_6gf": ((27, 48, 20.71, 2.65, 24, 0.25), 11_202_430),
    "regnet_y_3_2gf": ((21, 80, 42.63, 2.66, 24, 0.25), 19_436_338),
    "regnet_y_8gf": ((17, 192, 76.82, 2.19, 56, 0.25), 39_381_472),
    "regnet_y_16gf": ((18, 200, 106.23, 2.48, 112, 0.25), 83_590_140),
    "regnet_y_32gf": ((20, 232, 115.89, 2.53, 232, 0.25), 145_046_770),
    "regnet_y_128gf": ((27, 456, 160.83, 2.52, 264, 0.25), 644_812_894),
    "regnet_x_400mf": ((22, 24, 24.48, 2.54, 16, None), 5_495_976),
    "regnet_x_800mf": ((16, 56, 35.73, 2.28, 16, None), 7_259_656),
    "regnet_x_1_6gf": ((18, 80, 34.01, 2.25, 24, None), 9_190_136),
    "regnet_x_3_2gf": ((25, 88, 26.31, 2.25, 48, None), 15_296_552),
    "regnet_x_8gf": ((23, 80, 49.56, 2.88, 120, None), 39_572_648),
    "regnet_x_16gf": ((22, 216, 55.59, 2.1, 128, None), 54_278_536),
    "regnet_x_32gf": ((23, 320, 69.86, 2.0, 168, None), 107_811_560),
}


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def adjust(stage_widths: list[int], bottleneck: float, group_width: int,
           ) -> tuple[list[int], list[int]]:
    """BlockParams._adjust_widths_groups_compatibilty."""
    widths = [int(w * bottleneck) for w in stage_widths]
    group_widths_min = [min(group_width, w_bot) for w_bot in widths]
    ws_bot = [make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min, strict=True)]
    return [int(w_bot / bottleneck) for w_bot in ws_bot], group_widths_min


def stages(block_widths: list[int]) -> tuple[list[int], list[int]]:
    """from_init_params' split: a stage starts where the width changes."""
    helper = zip(block_widths + [0], [0] + block_widths, block_widths + [0], [0] + block_widths,
                 strict=True)
    splits = [w != wp or r != rp for w, wp, r, rp in helper]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1], strict=False) if t]
    starts = [d for d, t in enumerate(splits) if t]
    return stage_widths, [b - a for a, b in zip(starts, starts[1:], strict=False)]


def block_params(depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                 bottleneck: float = 1.0) -> tuple[list[int], list[int], list[int]]:
    """from_init_params in Python floats: (stage widths, stage depths, group widths)."""
    widths_cont = [j * w_a + w_0 for j in range(depth)]
    capacity = [round(math.log(w / w_0) / math.log(w_m)) for w in widths_cont]
    block_widths = [int(round(w_0 * w_m**c / 8) * 8) for c in capacity]  # np.round: half even
    stage_widths, depths = stages(block_widths)
    widths, groups = adjust(stage_widths, bottleneck, group_width)
    return widths, depths, groups


def spec_report(config: tuple, bottleneck: float = 1.0, **kw: object):
    depth, w_0, w_a, w_m, group_width, se_ratio = config
    values = dict(depth=depth, w0=w_0, wa=float(w_a), wm=float(w_m), group_width=group_width,
                  se_ratio=float(se_ratio or 0), bottleneck=float(bottleneck))
    return cnncalc.analyze(cnncalc.load("regnet_y_400mf", variables.rewrite(values)), **kw)


def stages_of(report) -> tuple[list[int], list[int]]:
    """The spec's stage widths and block counts, read off the report's rows."""
    trunk = {n.path: n for n in report.walk()}["trunk_output.stage"]
    widths = [stage.output_shape[-1] for stage in trunk.children]
    depths = [len(stage.children[0].children) for stage in trunk.children]
    return widths, depths


def test_regnet_y_400mf_widths_by_hand():
    """The paper's RegNetY-400MF: widths 48, 104, 208, 440 in 1, 3, 6, 6 blocks."""
    assert block_params(16, 48, 27.89, 2.09, 8)[:2] == ([48, 104, 208, 440], [1, 3, 6, 6])
    assert stages_of(spec_report(CONFIGS["regnet_y_400mf"][0])) == (
        [48, 104, 208, 440], [1, 3, 6, 6])


@pytest.mark.parametrize("model", sorted(CONFIGS))
def test_every_torchvision_regnet_from_its_parameters(model):
    """Each of torchvision's 15 RegNets is the spec with that model's vars: its stages as
    from_init_params computes them, its params as torchvision publishes them."""
    config, params = CONFIGS[model]
    report = spec_report(config)
    widths, depths, _ = block_params(*config[:5])
    assert stages_of(report) == (widths, depths)
    assert report.totals.params == params


# Widths where the rounding matters: w_0 * w_m**k / 8 lands on a half (8 * 2.5 / 8 = 2.5 rounds
# to 2, half to even: 16 wide, where half up gives 24), and a width that make_divisible moves
# (group width 24: 104 -> 96, 208 -> 216).
@pytest.mark.parametrize("config, bottleneck", [
    ((6, 8, 12.0, 2.5, 8, 0.25), 1.0),
    ((16, 48, 27.89, 2.09, 24, 0.25), 1.0),
    ((13, 32, 20.0, 2.0, 16, None), 2.0),
    ((10, 24, 8.5, 1.5, 8, 0.5), 0.5),
])
def test_rounding_and_group_compatibility_follow_torchvision(config, bottleneck):
    widths, depths, _ = block_params(*config[:5], bottleneck)
    assert stages_of(spec_report(config, bottleneck)) == (widths, depths)


# --------------------------------------------------------------------------- torch

def _torch():
    if os.environ.get("CI"):
        import torch  # CI installs torch: a missing torch must fail there, never skip

        return torch
    return pytest.importorskip("torch")


def block_params_torch(depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                       ) -> tuple[list[int], list[int], list[int]]:
    """from_init_params as torchvision writes it now: float32 torch ops."""
    torch = _torch()
    widths_cont = torch.arange(depth) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8))
                    * 8).int().tolist()
    stage_widths, depths = stages(block_widths)
    widths, groups = adjust(stage_widths, 1.0, group_width)
    return widths, depths, groups


def regnet(config: tuple, num_classes: int = 1000):
    """torchvision's RegNet (regnet.py and ops/misc.py), module for module."""
    torch = _torch()
    nn = torch.nn
    depth, w_0, w_a, w_m, group_width, se_ratio = config

    def conv_norm_act(c_in, c_out, kernel, stride=1, groups=1, act=True):
        layers = [nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups,
                            bias=False), nn.BatchNorm2d(c_out)]
        return nn.Sequential(*layers, *([nn.ReLU(inplace=True)] if act else []))

    class SqueezeExcitation(nn.Module):
        def __init__(self, channels, squeeze):
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(channels, squeeze, 1)
            self.fc2 = nn.Conv2d(squeeze, channels, 1)
            self.activation, self.scale_activation = nn.ReLU(), nn.Sigmoid()

        def forward(self, x):
            scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
            return self.scale_activation(scale) * x

    class ResBottleneckBlock(nn.Module):
        def __init__(self, width_in, width_out, stride, group_width):
            super().__init__()
            self.proj = (conv_norm_act(width_in, width_out, 1, stride, act=False)
                         if width_in != width_out or stride != 1 else None)
            w_b = int(round(width_out * 1.0))
            g = w_b // group_width
            layers = [conv_norm_act(width_in, w_b, 1), conv_norm_act(w_b, w_b, 3, stride, g)]
            if se_ratio:
                layers.append(SqueezeExcitation(w_b, int(round(se_ratio * width_in))))
            layers.append(conv_norm_act(w_b, width_out, 1, act=False))
            self.f = nn.Sequential(*layers)
            self.activation = nn.ReLU(inplace=True)

        def forward(self, x):
            shortcut = x if self.proj is None else self.proj(x)
            return self.activation(shortcut + self.f(x))

    widths, depths, groups = block_params_torch(depth, w_0, w_a, w_m, group_width)
    blocks, current = [], 32
    for width_out, d, g in zip(widths, depths, groups, strict=True):
        for i in range(d):
            blocks.append(ResBottleneckBlock(current if i == 0 else width_out, width_out,
                                             2 if i == 0 else 1, g))
        current = width_out
    return nn.Sequential(conv_norm_act(3, 32, 3, 2), *blocks, nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(current, num_classes))


def flop_macs(module, shape=(1, 3, 224, 224)) -> int:
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module.eval()(torch.zeros(shape))
    return counter.get_total_flops() // 2


@pytest.mark.torch
@pytest.mark.parametrize("model", sorted(CONFIGS))
def test_torch_float32_widths_equal_python_floats(model):
    """torchvision's float32 arithmetic and Python's floats give every model the same stages."""
    config = CONFIGS[model][0]
    assert block_params_torch(*config[:5]) == block_params(*config[:5])


@pytest.mark.torch
def test_regnet_y_400mf_equals_torchvision_module():
    """The bundled spec: torchvision's params (4,344,144) and FlopCounterMode / 2 of
    torchvision's module, in cnncalc's count and in the module cnncalc.torch builds."""
    from cnncalc import torch as ct

    config, params = CONFIGS["regnet_y_400mf"]
    reference = regnet(config)
    assert sum(p.numel() for p in reference.parameters()) == params
    macs = flop_macs(reference)
    report = cnncalc.analyze(cnncalc.load("regnet_y_400mf"))
    assert (report.totals.params, report.totals.macs) == (params, macs)
    built = ct.build(cnncalc.load("regnet_y_400mf"))
    assert sum(p.numel() for p in built.parameters()) == params
    assert sum(t.numel() for t in built.state_dict().values()) == sum(
        t.numel() for t in reference.state_dict().values())
    assert flop_macs(built) == macs


@pytest.mark.torch
def test_regnet_x_400mf_equals_torchvision_module():
    """se_ratio 0 is RegNetX: no squeeze-and-excitation."""
    config, params = CONFIGS["regnet_x_400mf"]
    reference = regnet(config)
    assert sum(p.numel() for p in reference.parameters()) == params
    report = spec_report(config)
    assert (report.totals.params, report.totals.macs) == (params, flop_macs(reference))
