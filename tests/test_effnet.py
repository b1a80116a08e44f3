"""EfficientNet B0..B7 and MobileNet v1 from their bundled specs, against published numbers.

Truth comes from outside the engine: CONVENTIONS.md (torchvision's counts and the lecture's
EfficientNet table), the MobileNet paper's Tables 6 and 7 (Howard et al. 2017), and for MobileNet
v1 a closed form written here and torch itself.
"""

from __future__ import annotations

import math

import pytest

from cnncalc.analyses.scale import Scaling, scaled_spec
from cnncalc.core.engine import analyze
from cnncalc.core.loader import load_yaml
from cnncalc.core.source import load, read


def _raw(name: str):
    file, text = read(name)
    return load_yaml(text, file), file


def totals(name: str, width: float = 1.0, depth: float = 1.0, res: int | None = None):
    raw, file = _raw(name)
    scaling = Scaling(width, depth, (res, res) if res else None)
    report = analyze(scaled_spec(raw, scaling, file))
    return report.totals.params, report.totals.macs


# ------------------------------------------------------------------ EfficientNet

def test_efficientnet_b0_equals_torchvision():
    report = analyze(load("efficientnet_b0"))
    assert report.input_shape == (224, 224, 3)
    assert (report.totals.params, report.totals.macs) == (5_288_548, 385_814_752)


# torchvision's efficientnet_b1..b7 (width_mult, depth_mult) at its evaluation resolutions,
# with params and MACs as CONVENTIONS.md lists them.
TORCHVISION = [
    ("b1", 1.0, 1.1, 240, 7_794_184, 686_802_832),
    ("b2", 1.1, 1.2, 288, 9_109_994, 1_087_529_456),
    ("b3", 1.2, 1.4, 300, 12_233_232, 1_827_141_392),
    ("b4", 1.4, 1.8, 380, 19_341_616, 4_393_771_024),
    ("b5", 1.6, 2.2, 456, 30_389_784, 10_266_384_752),
    ("b6", 1.8, 2.6, 528, 43_040_704, 19_067_593_536),
    ("b7", 2.0, 3.1, 600, 66_347_960, 37_745_884_192),
]


@pytest.mark.parametrize("model,width,depth,res,params,macs", TORCHVISION,
                         ids=[row[0] for row in TORCHVISION])
def test_efficientnet_b1_to_b7_equal_torchvision(model, width, depth, res, params, macs):
    assert totals("efficientnet_b0", width, depth, res) == (params, macs)


# The lecture's (the paper's) table: params and FLOPs (= MACs) at the paper's resolutions.
PAPER = [
    ("b0", 1.0, 1.0, 224, 5.3e6, 0.39e9),
    ("b1", 1.0, 1.1, 240, 7.8e6, 0.70e9),
    ("b2", 1.1, 1.2, 260, 9.2e6, 1.0e9),
    ("b3", 1.2, 1.4, 300, 12e6, 1.8e9),
    ("b4", 1.4, 1.8, 380, 19e6, 4.2e9),
    ("b5", 1.6, 2.2, 456, 30e6, 9.9e9),
    ("b6", 1.8, 2.6, 528, 43e6, 19e9),
    ("b7", 2.0, 3.1, 600, 66e6, 37e9),
]


@pytest.mark.parametrize("model,width,depth,res,params,macs", PAPER,
                         ids=[row[0] for row in PAPER])
def test_efficientnet_near_the_papers_table(model, width, depth, res, params, macs):
    got_params, got_macs = totals("efficientnet_b0", width, depth, res)
    assert abs(got_params - params) <= 0.02 * params
    assert abs(got_macs - macs) <= 0.05 * macs


def test_b4_at_380_is_the_4_39b_that_conventions_names():
    # CONVENTIONS.md: torchvision's B4 is 4.39B MACs at 380 where the paper prints 4.2B.
    _, macs = totals("efficientnet_b0", 1.4, 1.8, 380)
    assert round(macs / 1e9, 2) == 4.39


# ------------------------------------------------------------------ MobileNet v1

# Table 1 of the paper after the first convolution: (output channels, stride) of the 13
# depthwise separable units.
UNITS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
         (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


def mobilenet_v1_closed_form(alpha: float, res: int) -> tuple[int, int]:
    """Params and MACs of MobileNet v1 by hand: convs without bias, BN scale and shift,
    a 1000-way classifier with bias. Channel counts alpha * c are whole numbers here."""
    def ch(c: int) -> int:
        assert (c * alpha).is_integer()
        return int(c * alpha)

    size = math.ceil(res / 2)  # 3x3, stride 2, padding 1
    c_in = ch(32)
    params = 3 * 3 * 3 * c_in + 2 * c_in
    macs = 3 * 3 * 3 * c_in * size * size
    for c, stride in UNITS:
        c_out = ch(c)
        size = math.ceil(size / stride)
        params += 9 * c_in + 2 * c_in + c_in * c_out + 2 * c_out
        macs += 9 * c_in * size * size + c_in * c_out * size * size
        c_in = c_out
    params += c_in * 1000 + 1000
    macs += c_in * 1000
    return params, macs


def test_mobilenet_v1_equals_the_closed_form_and_the_comment():
    assert mobilenet_v1_closed_form(1.0, 224) == (4_231_976, 568_740_352)
    report = analyze(load("mobilenet_v1"))
    assert (report.totals.params, report.totals.macs) == (4_231_976, 568_740_352)
    assert report.totals.buffers == 21_888  # BN running mean and variance: 2 per channel


# The paper's Table 6 (width) and Table 7 (resolution): params in millions to the printed
# precision, and millions of mult-adds.
MOBILENET_PAPER = [
    (1.0, 224, "4.2", 569), (0.75, 224, "2.6", 325), (0.5, 224, "1.3", 149),
    (0.25, 224, "0.5", 41), (1.0, 192, "4.2", 418), (1.0, 160, "4.2", 290),
    (1.0, 128, "4.2", 186),
]


@pytest.mark.parametrize("alpha,res,params_m,madds_m", MOBILENET_PAPER)
def test_mobilenet_v1_matches_the_paper(alpha, res, params_m, madds_m):
    params, macs = totals("mobilenet_v1", alpha, 1.0, res)
    assert (params, macs) == mobilenet_v1_closed_form(alpha, res)
    assert f"{params / 1e6:.1f}" == params_m
    assert abs(macs - madds_m * 1e6) <= 0.005 * madds_m * 1e6


def test_mobilenet_v1_equals_torch():
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    def unit(c_in: int, c_out: int, stride: int) -> list:
        return [nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False),
                nn.BatchNorm2d(c_in), nn.ReLU(),
                nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

    layers: list = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
    c_in = 32
    for c_out, stride in UNITS:
        layers += unit(c_in, c_out, stride)
        c_in = c_out
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    report = analyze(load("mobilenet_v1"))
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.macs * 2 == counter.get_total_flops()
