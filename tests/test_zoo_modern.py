"""The bundled convnext_tiny and efficientnet_v2_s equal torchvision's models exactly.

Truth from outside the engine:
- torchvision's published numbers (`num_params` and `_ops` of the weights' meta in
  torchvision/models/convnext.py and efficientnet.py): 28,589,128 and 21,458,488 params, and
  4.456 and 8.366 GFLOPS (torchvision's "GFLOPS" are multiply-adds, printed to 3 decimals);
- the two networks transcribed below from torchvision's source (torchvision is not a
  dependency; nothing here is built with `cnncalc.torch`): params and buffers by `numel`
  (batch norm's scalar `num_batches_tracked` left out, as CONVENTIONS.md counts), MACs by
  `FlopCounterMode` halved, output shapes by running them on cpu at a reduced input;
- the stochastic-depth rates torchvision gives each block, read off the transcribed modules.
"""

from __future__ import annotations

import copy
import math
import os
import re
from functools import partial

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from torch import Tensor, nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from tests import torchvision_small as tv  # noqa: E402
from tests.torchvision_small import (  # noqa: E402
    CNBlock,
    Conv2dNormActivation,
    SqueezeExcitation,
    StochasticDepth,
    _make_divisible,
)

pytestmark = pytest.mark.torch


# ------------------------------------------------------------------ torchvision, transcribed
# torchvision/models/efficientnet.py's V2 parts, with weights=None; initialisation left out (it
# changes no count). The building blocks (ops/misc.py, ops/stochastic_depth.py,
# models/_utils.py, models/convnext.py) are tests/torchvision_small.py's.

def convnext_tiny(stochastic_depth_prob: float = 0.1) -> tv.ConvNeXt:
    """convnext_tiny: its block_setting (CNBlockConfig(input_channels, out_channels,
    num_layers)) and stochastic_depth_prob (0.1)."""
    return tv.ConvNeXt([(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)],
                       stochastic_depth_prob)



# -- convnext.py

# -- efficientnet.py

class _MBConvConfig:
    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, block) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.block = block

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    def __init__(self, cnf: _MBConvConfig, stochastic_depth_prob: float, norm_layer) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        activation_layer = nn.SiLU
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels,
                                           kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded_channels, norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(SqueezeExcitation(expanded_channels, squeeze_channels,
                                        activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class FusedMBConv(nn.Module):
    def __init__(self, cnf: _MBConvConfig, stochastic_depth_prob: float, norm_layer) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        activation_layer = nn.SiLU
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:
            # fused expand
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels,
                                               kernel_size=cnf.kernel, stride=cnf.stride,
                                               norm_layer=norm_layer,
                                               activation_layer=activation_layer))
            # project
            layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=None))
        else:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.out_channels,
                                               kernel_size=cnf.kernel, stride=cnf.stride,
                                               norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


def efficientnet_v2_s_conf() -> tuple[list[_MBConvConfig], int]:
    """_efficientnet_conf("efficientnet_v2_s"): FusedMBConvConfig and MBConvConfig rows."""
    fused = partial(_MBConvConfig, block=FusedMBConv)
    mb = partial(_MBConvConfig, block=MBConv)  # width_mult = depth_mult = 1: nothing adjusted
    setting = [
        fused(1, 3, 1, 24, 24, 2),
        fused(4, 3, 2, 24, 48, 4),
        fused(4, 3, 2, 48, 64, 4),
        mb(4, 3, 2, 64, 128, 6),
        mb(6, 3, 1, 128, 160, 9),
        mb(6, 3, 2, 160, 256, 15),
    ]
    return setting, 1280


class EfficientNet(nn.Module):
    """EfficientNet as efficientnet_v2_s builds it (dropout 0.2, stochastic depth 0.2,
    BatchNorm2d eps 1e-3, last_channel 1280)."""

    def __init__(self, dropout: float = 0.2, stochastic_depth_prob: float = 0.2,
                 num_classes: int = 1000) -> None:
        super().__init__()
        inverted_residual_setting, last_channel = efficientnet_v2_s_conf()
        norm_layer = partial(nn.BatchNorm2d, eps=1e-03)
        firstconv_output_channels = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, firstconv_output_channels, kernel_size=3, stride=2,
                                 norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total_stage_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        stage_block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = (last_channel if last_channel is not None
                                    else 4 * lastconv_input_channels)
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_output_channels, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# ------------------------------------------------------------------ the tests

# spec -> (reference module, published params, published GFLOPS (torchvision's `_ops`),
#          the published input size, the reduced input the cpu forward pass runs at)
MODELS = {
    "convnext_tiny": (convnext_tiny, 28_589_128, 4.456, 224, 64),
    "efficientnet_v2_s": (EfficientNet, 21_458_488, 8.366, 384, 96),
}


def counts(module: nn.Module, size: int, device: str) -> tuple[int, int, int, Tensor]:
    """params, buffers (no num_batches_tracked), FlopCounterMode MACs and the output."""
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for name, b in module.named_buffers()
                  if not name.endswith("num_batches_tracked"))
    x = torch.randn(1, 3, size, size, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(x)
    return params, buffers, counter.get_total_flops() // 2, out


def engine(name: str, size: int | None = None) -> cnncalc.core.report.Report:
    spec = cnncalc.load(name)
    return cnncalc.analyze(spec, (size, size, 3) if size else None)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_params_equal_torchvisions_published_count(name: str) -> None:
    _, params, _, size, _ = MODELS[name]
    report = engine(name)
    assert report.input_shape == (size, size, 3)
    assert report.totals.params == report.totals.trainable_params == params


@pytest.mark.parametrize("name", sorted(MODELS))
def test_macs_round_to_torchvisions_published_gflops(name: str) -> None:
    _, _, gflops, _, _ = MODELS[name]
    assert round(engine(name).totals.macs / 1e9, 3) == gflops


@pytest.mark.parametrize("name", sorted(MODELS))
def test_transcribed_torchvision_model_counts_the_same(name: str) -> None:
    """Run the transcription on cpu at a reduced input; the spec analysed at that input."""
    make, params, _, _, size = MODELS[name]
    torch.manual_seed(0)
    module = make().eval()
    their_params, their_buffers, their_macs, out = counts(module, size, "cpu")
    assert their_params == params  # the transcription is torchvision's model
    totals = engine(name, size).totals
    assert (totals.params, totals.buffers, totals.macs) == (their_params, their_buffers,
                                                           their_macs)
    assert tuple(out.shape) == (1, 1000)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_transcribed_model_at_full_size_on_meta(name: str) -> None:
    """At the published input size (meta: shapes and counts, no arithmetic)."""
    make, _, _, size, _ = MODELS[name]
    with torch.device("meta"):
        module = make().eval()
    their = counts(module, size, "meta")[:3]
    totals = engine(name).totals
    assert (totals.params, totals.buffers, totals.macs) == their


def sd_rates(module: nn.Module, used_only: bool) -> list[float]:
    return [block.stochastic_depth.p for block in module.modules()
            if hasattr(block, "stochastic_depth")
            and (not used_only or getattr(block, "use_res_connect", True))]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_stochastic_depth_rates_are_torchvisions(name: str) -> None:
    """Each block's rate, in order; EfficientNet runs its StochasticDepth only on blocks that
    add their input back, and the spec has the row only there."""
    make = MODELS[name][0]
    with torch.device("meta"):
        module = make()
    rows = [node.layer.rate for node in engine(name).leaves()
            if node.kind == "stochastic_depth"]
    want = sd_rates(module, used_only=True)
    assert rows == want  # the same arithmetic in the same order: equal floats
    if name == "convnext_tiny":
        assert len(rows) == 18 and rows[0] == 0 and math.isclose(rows[-1], 0.1)
    else:  # 40 blocks; the first of stages 2..6 changes shape and adds nothing back
        assert len(sd_rates(module, used_only=False)) == 40 and len(rows) == 35


def test_convnext_head_pools_then_normalises() -> None:
    """torchvision: avgpool (1x1x768), then LayerNorm2d, Flatten, Linear."""
    rows = [(n.path, n.kind, n.output_shape) for n in engine("convnext_tiny").leaves()][-4:]
    assert rows == [("avgpool", "global_pool", (1, 1, 768)),
                    ("classifier.0", "layernorm", (1, 1, 768)),
                    ("classifier.1", "flatten", (768,)),
                    ("classifier.2", "dense", (1000,))]


def test_efficientnet_v2_s_fused_blocks() -> None:
    """FusedMBConv: t = 1 is one 3x3 conv-BN-SiLU; t = 4 a 3x3 expansion then a 1x1 projection;
    neither has squeeze-and-excitation; MBConv blocks all do."""
    report = engine("efficientnet_v2_s")
    # the stages are torchvision's features.1 .. features.6, their blocks features.N.M
    blocks = {n.path.removeprefix("features."): n for n in report.walk()
              if re.fullmatch(r"features\.[1-6]\.[0-9]+", n.path)}
    kinds = {path: [leaf.kind for leaf in node.walk() if not leaf.children]
             for path, node in blocks.items()}
    assert kinds["1.0"] == ["conv", "batchnorm", "silu", "stochastic_depth", "add"]
    assert kinds["2.0"] == ["conv", "batchnorm", "silu", "conv", "batchnorm"]
    assert blocks["2.0"].output_shape == (96, 96, 48)
    assert len(blocks) == 40
    for path, leaves in kinds.items():
        assert ("se" in leaves) == (path.split(".")[0] in {"4", "5", "6"})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_spec_header_names_its_source_and_numbers(name: str) -> None:
    _, params, _, size, _ = MODELS[name]
    text = cnncalc.bundled()[name].read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert text.startswith("#") and "torchvision/models/" in header
    assert f"{params:,} params" in header and f"{size}x{size}x3" in header


# depths whose uncapped rates would pass 1 (convnext_tiny's stage 3: 0.1 * (5 + 9 d) / 17;
# efficientnet_v2_s's stage 6: 0.2 * (24 + 15 d) / 40), within the 10,000-row limit
@pytest.mark.parametrize(("name", "depth"), [("convnext_tiny", 20), ("efficientnet_v2_s", 12)])
def test_depth_scaled_copies_stay_valid(runner, name: str, depth: int) -> None:
    """The rates' block offsets are literals that `scale --depth` does not rewrite: the specs
    cap each rate at the network's largest (torchvision's stochastic_depth_prob)."""
    from cnncalc.commands import app

    result = runner.invoke(app, ["scale", name, "--depth", str(depth), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_convnext_tiny_loads_the_transcribed_models_weights_and_computes_the_same() -> None:
    """torchvision's ConvNeXt (transcribed) has the keys and shapes of build("convnext_tiny"):
    its Linears' (out, in) weights go to channel_dense rows, its bare `layer_scale` Parameters
    to the layer_scale rows (saved under the row's own path). With its weights loaded
    strictly, the two compute the same (eval, at 64x64: the layer scales set near 1, where
    1e-6 would hide every block's body)."""
    from cnncalc.torch import build

    torch.manual_seed(0)
    theirs = convnext_tiny().eval()
    with torch.no_grad():
        for module in theirs.modules():
            if isinstance(module, CNBlock):
                module.layer_scale.uniform_(0.5, 1.5)
    mine = build(cnncalc.analyze(cnncalc.load("convnext_tiny"), (64, 64, 3))).eval()
    weights = theirs.state_dict()
    assert {k: v.shape for k, v in mine.state_dict().items()} == {
        k: v.shape for k, v in weights.items()}
    mine.load_state_dict(weights, strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(mine(x), theirs(x), rtol=1e-4, atol=1e-4)
