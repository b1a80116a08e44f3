"""Modern blocks (layer norm, layer scale, stochastic depth, GELU) and adaptive pooling with
torch's windows (enlarging included), against torch itself.

The truth: torch's own modules (`nn.LayerNorm` on channels-last, which is torchvision's
LayerNorm2d; `nn.GELU()`; `nn.AdaptiveAvgPool2d` / `nn.AdaptiveMaxPool2d`), a ConvNeXt block
transcribed here from torchvision/models/convnext.py (`CNBlock`; torchvision is not a
dependency) and torchvision's `stochastic_depth` function transcribed likewise; params and
buffers by `numel`, MACs by `FlopCounterMode` halved, output shapes and values by running them.
Hand formulas: the ConvNeXt block's params `8 dim^2 + 58 dim` from CNBlock's layers.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import yaml

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.analyses.receptive import receptive_fields  # noqa: E402
from cnncalc.core import layers as L  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parent.parent


def analyze(layers: list, input: str, **kw: object):
    text = yaml.safe_dump({"name": "t", "input": input, "layers": layers}, sort_keys=False)
    return cnncalc.analyze(cnncalc.load_text(text, "t.yaml"), **kw)


def leaf(report):
    (only,) = list(report.leaves())
    return only


def nchw(shape: tuple[int, ...], batch: int = 2) -> tuple[int, ...]:
    return (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)


def macs(module: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


def numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


# --------------------------------------------------------------------------- layer norm

@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(5, 4, 6), (7,)])
def test_layernorm_is_torch_layernorm_over_channels(affine: bool, shape: tuple[int, ...]):
    c = shape[-1]
    report = analyze([{"layernorm": {"eps": 1.0e-6, "affine": affine}}],
                     "x".join(map(str, shape)) if len(shape) == 3 else shape[0])
    row = leaf(report)
    theirs = nn.LayerNorm(c, eps=1e-6, elementwise_affine=affine)
    assert row.params == numel(theirs.parameters()) == (2 * c if affine else 0)
    assert row.buffers == numel(theirs.buffers()) == 0
    assert row.elementwise == (7 if affine else 5) * math.prod(shape)  # docs/conventions.md
    mine = ct.build(report).eval()
    if affine:  # random scale and shift, the same in both
        with torch.no_grad():
            for p in theirs.parameters():
                p.uniform_(-1, 1)
            for src, dst in zip(theirs.parameters(), mine.parameters(), strict=True):
                dst.copy_(src)
    x = torch.randn(nchw(shape))
    # torchvision's LayerNorm2d: channels last, nn.LayerNorm(C), channels first again
    want = theirs(x) if len(shape) == 1 else theirs(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    got = mine(x)
    assert got.shape == want.shape == nchw(row.output_shape)
    assert torch.allclose(got, want, atol=1e-6)
    assert macs(mine, x) == row.macs == 0


# --------------------------------------------------------------------------- layer scale

@pytest.mark.parametrize("shape", [(3, 5, 4), (6,)])
def test_layer_scale_is_a_learned_scale_per_channel(shape: tuple[int, ...]):
    c = shape[-1]
    report = analyze([{"layer_scale": 0.25}], "x".join(map(str, shape)) if len(shape) == 3
                     else shape[0])
    row = leaf(report)
    assert (row.params, row.buffers, row.macs) == (c, 0, 0)
    assert row.elementwise == math.prod(shape)
    mine = ct.build(report).eval()
    (scale,) = mine.parameters()
    # ConvNeXt: nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
    assert torch.equal(scale, torch.ones((c, 1, 1) if len(shape) == 3 else (c,)) * 0.25)
    x = torch.randn(nchw(shape))
    assert torch.equal(mine(x), scale * x)
    assert L.LayerScale().init == 1e-6  # torchvision's convnext default


def test_layer_scale_written_1e_6_reads_as_a_number():
    # YAML 1.1 reads `1e-6` (no dot) as text; the spec's loader reads it as the number
    text = "name: t\ninput: 2x2x3\nlayers:\n  - layer_scale: 1e-6\n"
    assert leaf(cnncalc.analyze(cnncalc.load_text(text, "t.yaml"))).layer.init == 1e-6


# --------------------------------------------------------------------------- stochastic depth

def torchvision_stochastic_depth(x: torch.Tensor, p: float, mode: str,
                                 training: bool) -> torch.Tensor:
    """torchvision.ops.stochastic_depth, transcribed."""
    if p < 0.0 or p > 1.0:
        raise ValueError(p)
    if not training or p == 0.0:
        return x
    survival_rate = 1.0 - p
    size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(size, dtype=x.dtype, device=x.device)
    noise = noise.bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return x * noise


@pytest.mark.parametrize("mode", ["row", "batch"])
@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_stochastic_depth_is_torchvisions(mode: str, rate: float):
    report = analyze([{"stochastic_depth": {"rate": rate, "mode": mode}}], "3x3x2")
    row = leaf(report)
    # a row of its own, nothing counted at inference
    assert (row.params, row.buffers, row.macs, row.elementwise) == (0, 0, 0, 0)
    assert row.activations == 3 * 3 * 2
    mine = ct.build(report)
    x = torch.randn(8, 2, 3, 3)
    assert torch.equal(mine.eval()(x), x)  # the identity at inference
    mine.train()
    torch.manual_seed(3)
    got = mine(x)
    torch.manual_seed(3)
    assert torch.equal(got, torchvision_stochastic_depth(x, rate, mode, True))


@pytest.mark.parametrize("bad", [{"stochastic_depth": 1.5}, {"stochastic_depth": -0.1},
                                 {"stochastic_depth": {"rate": 0.1, "mode": "column"}},
                                 "stochastic_depth", {"layernorm": {"eps": 0}},
                                 {"layer_scale": "small"}, {"layer_scale": True}])
def test_bad_fields_are_refused(bad):
    with pytest.raises(CnnCalcError):
        analyze([bad], "2x2x2")


# --------------------------------------------------------------------------- GELU

def test_gelu_is_torchs_exact_gelu():
    x = torch.randn(2, 3, 4, 4) * 3
    for layers in ([{"gelu": None}], [{"conv": {"filters": 3, "kernel": 1,
                                                 "activation": "gelu"}}]):
        report = analyze(layers, "4x4x3")
        mine = ct.build(report).eval()
        if layers[0] == {"gelu": None}:
            want = nn.GELU()(x)  # approximate="none"
            assert torch.equal(mine(x), want)
            assert not torch.allclose(want, nn.GELU(approximate="tanh")(x), atol=1e-7)
            assert leaf(report).elementwise == 4 * 4 * 3  # one op per element
        else:
            conv = mine[0]
            assert torch.equal(mine(x), nn.GELU()(nn.functional.conv2d(x, conv.weight,
                                                                       conv.bias)))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_approximate_is_torchs(approximate: str):
    x = torch.randn(2, 3, 4, 4) * 3
    for entry in ({"gelu": {"approximate": approximate}},
                  {"activation": {"function": "gelu", "approximate": approximate}}):
        report = analyze([entry], "4x4x3")
        assert leaf(report).elementwise == 4 * 4 * 3  # one op per element either way
        assert torch.equal(ct.build(report).eval()(x), nn.GELU(approximate=approximate)(x))


def test_approximate_is_for_gelu_only():
    for entry in ({"relu": {"approximate": "tanh"}}, {"gelu": {"approximate": "erf"}}):
        with pytest.raises(CnnCalcError):
            analyze([entry], "2x2x2")


# --------------------------------------------------------------------------- adaptive pooling

@pytest.mark.parametrize("mode", ["avg", "max"])
def test_adaptive_pool_equals_torch_for_every_size(mode: str):
    """Every input 1..7 and target 1..9 per axis (enlarging included): the engine's shape and
    element-wise ops (summed over torch's windows, ATen's start/end index), the built module's
    values against torch's own adaptive pool."""
    pool = nn.AdaptiveAvgPool2d if mode == "avg" else nn.AdaptiveMaxPool2d

    def window_sum(n_in: int, n_out: int) -> int:
        return sum(math.ceil((i + 1) * n_in / n_out) - math.floor(i * n_in / n_out)
                   for i in range(n_out))

    for h, w in ((1, 1), (2, 5), (4, 4), (5, 3), (7, 6)):
        x = torch.randn(2, 3, h, w)
        for th in range(1, 10, 2):
            for tw in range(1, 10, 3):
                report = analyze([{"adaptive_pool": {"size": [th, tw], "mode": mode}}],
                                 f"{h}x{w}x3")
                row = leaf(report)
                want = pool((th, tw))(x)
                assert nchw(row.output_shape) == tuple(want.shape)
                total = window_sum(h, th) * window_sum(w, tw)
                expected = total if mode == "avg" else total - th * tw
                assert row.elementwise == 3 * expected, (h, w, th, tw)
                mine = ct.build(report).eval()
                assert torch.allclose(mine(x), want, atol=1e-6), (h, w, th, tw)
                assert macs(mine, x) == row.macs == 0


def test_adaptive_pool_keeps_the_lectures_window_where_it_is_torchs():
    # 10 -> 3: 10 mod 3 = 1, torch's windows [0,4) [3,7) [6,10): s = 3, f = 4 (the lecture)
    report = analyze([{"adaptive_pool": {"size": 3, "mode": "max"}, "name": "a"}], "10x10x1")
    pool = ct.build(report)["a"]
    assert isinstance(pool, nn.MaxPool2d)
    assert pool.kernel_size == (4, 4) and pool.stride == (3, 3)
    assert receptive_fields(report)["a"].h.size == 4
    # 5 -> 3: windows [0,2) [1,4) [3,5) do not slide evenly: torch's own module
    report = analyze([{"adaptive_pool": {"size": 3}, "name": "a"}], "5x5x1")
    assert isinstance(ct.build(report)["a"], nn.AdaptiveAvgPool2d)
    field = receptive_fields(report)["a"].h
    assert (field.size, field.stride) == (3, math.ceil(5 / 3))  # the largest window and step
    lines = " ".join(L.KINDS["adaptive_pool"].model(size=3).explain((5, 5, 1), (3, 3, 1)))
    assert "2, 3, 2" in lines


def test_vgg_head_on_a_cifar_image_enlarges_like_torch():
    # VGG-16's features take 32x32 to 1x1x512; torchvision's AdaptiveAvgPool2d((7, 7))
    # repeats it to 7x7, so the classifier still sees 25,088 values
    report = analyze([{"adaptive_pool": [7, 7]}, "flatten", {"dense": 10}], "1x1x8")
    assert report.nodes[0].output_shape == (7, 7, 8)
    x = torch.randn(2, 8, 1, 1)
    want = nn.AdaptiveAvgPool2d((7, 7))(x)
    assert torch.equal(want, x.expand(2, 8, 7, 7))
    assert torch.allclose(ct.build(report).eval()[0](x), want)
    assert report.nodes[2].params == 7 * 7 * 8 * 10 + 10


# --------------------------------------------------------------------------- ConvNeXt block

class CNBlock(nn.Module):
    """torchvision/models/convnext.py's CNBlock, transcribed (LayerNorm eps 1e-6 as
    convnext_tiny's norm_layer)."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim, bias=True)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim, bias=True)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.p = stochastic_depth_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        y = torchvision_stochastic_depth(self.layer_scale * y, self.p, "row", self.training)
        return y + x


def test_convnext_block_spec_params_by_hand():
    report = cnncalc.analyze(cnncalc.load(ROOT / "specs" / "convnext-block.yaml"))
    dim = 96
    # CNBlock: dwconv 49 dim + dim, LayerNorm 2 dim, Linear dim*4dim + 4dim,
    # Linear 4dim*dim + dim, layer scale dim: 8 dim^2 + 58 dim
    block = 49 * dim + dim + 2 * dim + dim * 4 * dim + 4 * dim + 4 * dim * dim + dim + dim
    assert block == 8 * dim**2 + 58 * dim == 79_296
    head = 2 * dim + dim * 1000 + 1000  # LayerNorm, Linear(96, 1000)
    assert report.totals.params == 3 * block + head
    assert report.totals.buffers == 0


def test_convnext_block_equals_torchvisions_cnblock():
    report = cnncalc.analyze(cnncalc.load(ROOT / "specs" / "convnext-block.yaml"))
    built = ct.build(report).eval()
    stage = built["stage1"]
    torch.manual_seed(0)
    blocks = [CNBlock(96, 1e-6, 0.1 * i / 17).eval() for i in range(3)]
    for theirs, mine in zip(blocks, stage, strict=True):
        assert numel(theirs.parameters()) == numel(mine.parameters()) == 79_296
        # the same order: dwconv, norm, pwconv1, pwconv2, layer scale (Linear weights are
        # the 1x1 convs' weights without their 1x1 axes)
        ps = [theirs.dwconv.weight, theirs.dwconv.bias, theirs.norm.weight, theirs.norm.bias,
              theirs.pwconv1.weight, theirs.pwconv1.bias, theirs.pwconv2.weight,
              theirs.pwconv2.bias, theirs.layer_scale]
        with torch.no_grad():
            theirs.layer_scale.uniform_(0.5, 1.5)  # 1e-6 would hide the body
            theirs.norm.weight.uniform_(0.5, 1.5)
            theirs.norm.bias.uniform_(-0.5, 0.5)
            for src, dst in zip(ps, mine.parameters(), strict=True):
                dst.copy_(src.reshape(dst.shape))
    x = torch.randn(1, 96, 56, 56)
    want = x
    for theirs in blocks:
        want = theirs(want)
    got = stage(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)
    # MACs: FlopCounterMode on the transcription (Linears on channels-last) halved
    theirs_macs = sum(macs(b, x) for b in blocks)
    mine_stage = next(n for n in report.nodes if n.path == "stage1")
    assert mine_stage.macs == theirs_macs == 3 * (49 * 96 + 2 * 96 * 384) * 56 * 56
