"""The bundled networks that need the graph syntax (`from:` taps, several outputs,
training-only rows) and the `crop` kind, each against truths from outside cnncalc:

- `inception_v3`: torchvision's published parameter counts (27,161,264 with the auxiliary
  head, 23,834,568 without) and its published 5.71 "GFLOPS" (GMACs, eval mode), and torch's
  own count (`FlopCounterMode` / 2) of an Inception3 written here in plain torch, transcribed
  from torchvision/models/inception.py: in eval mode it skips the auxiliary head, as torchvision
  does, and the difference of a train-mode pass is the head's MACs.
- `unet`: every level's shape as printed in Fig. 1 of Ronneberger et al. 2015, the params by
  the closed form of each convolution, and torch's count of a U-Net written here in plain
  torch (centre crops computed from the sizes, as the paper describes them).

The plain-torch models never use `cnncalc.torch` (nor tests/reference_torch.py); they run on
the meta device, where FlopCounterMode counts without arithmetic.
"""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402

pytestmark = pytest.mark.torch


def torch_macs(module: nn.Module, shape: tuple[int, int, int, int]) -> int:
    """MACs of one forward pass (FlopCounterMode counts 2 per multiply-add) on meta."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.empty(shape, device="meta"))
    return counter.get_total_flops() // 2


def torch_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def nodes(report) -> dict:
    return {node.path: node for node in report.walk()}


# --------------------------------------------------------------------------- Inception v3
# Transcribed from torchvision/models/inception.py (Inception3, aux_logits=True by default).

class BasicConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    def __init__(self, c_in: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, c_in: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            bd = conv(bd)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, c_in: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b3, bd, bp], 1)


class InceptionAux(nn.Module):
    def __init__(self, c_in: int, classes: int):
        super().__init__()
        self.conv0 = BasicConv2d(c_in, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, classes)

    def forward(self, x):
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class Inception3(nn.Module):
    def __init__(self, classes: int = 1000, aux_logits: bool = True):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.AuxLogits = InceptionAux(768, classes) if aux_logits else None
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=0.5)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1",
                     "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c",
                     "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            x = getattr(self, name)(x)
        aux = None
        if self.AuxLogits is not None and self.training:  # torchvision's condition
            aux = self.AuxLogits(x)
        for name in ("Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool", "dropout"):
            x = getattr(self, name)(x)
        x = self.fc(torch.flatten(x, 1))
        return x if aux is None else (x, aux)


@pytest.fixture(scope="module")
def inception():
    return cnncalc.analyze(cnncalc.load("inception_v3"))


def test_inception_v3_has_torchvisions_published_params(inception) -> None:
    # torchvision's Inception_V3_Weights.IMAGENET1K_V1: num_params 27,161,264 (aux_logits
    # True); without the auxiliary head (aux_logits=False) 23,834,568.
    assert inception.input_shape == (299, 299, 3)
    assert inception.totals.params == 27_161_264
    assert inception.totals.params - inception.training_only.params == 23_834_568
    with torch.device("meta"):
        assert torch_params(Inception3()) == 27_161_264
        assert torch_params(Inception3(aux_logits=False)) == 23_834_568


def test_inception_v3_macs_equal_torch_in_eval_and_train_mode(inception) -> None:
    """Eval mode skips AuxLogits (the engine's totals); train mode runs it (the engine's
    training_only). Batch 2: batch norm in train mode refuses one value per channel, which the
    auxiliary head's 1x1 map would give at batch 1."""
    with torch.device("meta"):
        model = Inception3()
    eval_macs = torch_macs(model.eval(), (2, 3, 299, 299)) // 2
    train_macs = torch_macs(model.train(), (2, 3, 299, 299)) // 2
    assert inception.totals.macs == eval_macs
    assert inception.training_only.macs == train_macs - eval_macs
    # torchvision publishes 5.71 "GFLOPS" (GMACs, eval mode) for inception_v3.
    assert round(inception.totals.macs / 1e9, 2) == 5.71


def test_inception_v3_shapes_and_outputs_follow_torchvision(inception) -> None:
    rows = nodes(inception)
    # torchvision's comments in Inception3._forward and InceptionAux.forward (N x C x H x W)
    expected = {"Conv2d_1a_3x3": (149, 149, 32), "Conv2d_2a_3x3": (147, 147, 32),
                "Conv2d_2b_3x3": (147, 147, 64), "maxpool1": (73, 73, 64),
                "Conv2d_3b_1x1": (73, 73, 80), "Conv2d_4a_3x3": (71, 71, 192),
                "maxpool2": (35, 35, 192), "Mixed_5b": (35, 35, 256), "Mixed_5c": (35, 35, 288),
                "Mixed_5d": (35, 35, 288), "Mixed_6a": (17, 17, 768), "Mixed_6e": (17, 17, 768),
                "AuxLogits.pool": (5, 5, 768), "AuxLogits.conv0": (5, 5, 128),
                "AuxLogits.conv1": (1, 1, 768), "AuxLogits.fc": (1000,),
                "Mixed_7a": (8, 8, 1280), "Mixed_7b": (8, 8, 2048), "Mixed_7c": (8, 8, 2048),
                "avgpool": (1, 1, 2048), "fc": (1000,)}
    assert {path: rows[path].output_shape for path in expected} == expected
    # InceptionE's split branches: 384 + 384 concatenated
    assert rows["Mixed_7b.branch3x3_2"].output_shape == (8, 8, 768)
    assert rows["Mixed_7b.branch3x3dbl_3"].output_shape == (8, 8, 768)
    # the top-level rows are torchvision's children, in order, plus the flatten it calls
    with torch.device("meta"):
        children = [name for name, _ in Inception3().named_children()]
    spec_rows = [node.name for node in inception.nodes]
    assert [name for name in spec_rows if name != "flatten1"] == children
    # every convolution and fc has torchvision's module name and parameter count
    def short(path: str) -> str:
        parts = path.split(".")
        return ".".join(parts[:1] + parts[-2:]) if len(parts) > 2 else path

    weighted = {short(node.path): node.params for node in inception.walk()
                if node.kind in ("conv", "dense")}
    with torch.device("meta"):
        reference = {name: torch_params(module) for name, module in
                     Inception3().named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))}
    assert weighted == reference
    # two outputs: the auxiliary logits (training only) and the logits
    assert [(o.path, o.output_shape, o.training_only) for o in inception.outputs] == [
        ("AuxLogits", (1000,), True), ("fc", (1000,), False)]
    assert rows["Mixed_7a"].input_shape == rows["Mixed_6e"].output_shape


# --------------------------------------------------------------------------- U-Net

def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3), nn.ReLU())


def _centre_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The middle `size` of x's height and width ("copy and crop")."""
    top, left = (x.shape[2] - size[0]) // 2, (x.shape[3] - size[1]) // 2
    return x[:, :, top:top + size[0], left:left + size[1]]


class UNet(nn.Module):
    """Ronneberger et al. 2015, Fig. 1, written from the paper's text."""

    def __init__(self, c_in: int = 1, classes: int = 2):
        super().__init__()
        widths = [64, 128, 256, 512, 1024]
        self.down = nn.ModuleList()
        for c_out in widths:
            self.down.append(_double_conv(c_in, c_out))
            c_in = c_out
        self.ups = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        for c_out in reversed(widths[:-1]):
            self.ups.append(nn.ConvTranspose2d(c_in, c_out, 2, stride=2))
            self.up_convs.append(_double_conv(2 * c_out, c_out))
            c_in = c_out
        self.out = nn.Conv2d(c_in, classes, 1)
        self.sizes: list[tuple[int, ...]] = []  # every level's output, (H, W, C)

    def forward(self, x):
        skips = []
        for index, level in enumerate(self.down):
            if index:
                x = F.max_pool2d(x, 2)
            x = level(x)
            skips.append(x)
            self.sizes.append((x.shape[2], x.shape[3], x.shape[1]))
        for up, convs, skip in zip(self.ups, self.up_convs, reversed(skips[:-1]), strict=True):
            x = up(x)
            x = convs(torch.cat([_centre_crop(skip, (x.shape[2], x.shape[3])), x], 1))
            self.sizes.append((x.shape[2], x.shape[3], x.shape[1]))
        return self.out(x)


@pytest.fixture(scope="module")
def unet():
    return cnncalc.analyze(cnncalc.load("unet"))


def test_unet_levels_have_the_papers_shapes(unet) -> None:
    rows = nodes(unet)
    # Fig. 1: after each 3x3 conv, each max pool and each up-conv; crops and concatenations
    expected = {
        "down1.conv1": (570, 570, 64), "down1": (568, 568, 64), "pool1": (284, 284, 64),
        "down2.conv1": (282, 282, 128), "down2": (280, 280, 128), "pool2": (140, 140, 128),
        "down3.conv1": (138, 138, 256), "down3": (136, 136, 256), "pool3": (68, 68, 256),
        "down4.conv1": (66, 66, 512), "down4": (64, 64, 512), "pool4": (32, 32, 512),
        "bottom.conv1": (30, 30, 1024), "bottom": (28, 28, 1024),
        "up4": (56, 56, 512), "crop4": (56, 56, 512), "cat4": (56, 56, 1024),
        "up4_conv.conv1": (54, 54, 512), "up4_conv": (52, 52, 512),
        "up3": (104, 104, 256), "crop3": (104, 104, 256), "cat3": (104, 104, 512),
        "up3_conv.conv1": (102, 102, 256), "up3_conv": (100, 100, 256),
        "up2": (200, 200, 128), "crop2": (200, 200, 128), "cat2": (200, 200, 256),
        "up2_conv.conv1": (198, 198, 128), "up2_conv": (196, 196, 128),
        "up1": (392, 392, 64), "crop1": (392, 392, 64), "cat1": (392, 392, 128),
        "up1_conv.conv1": (390, 390, 64), "up1_conv": (388, 388, 64),
        "output": (388, 388, 2),
    }
    assert {path: rows[path].output_shape for path in expected} == expected
    # each crop reads the skip of its level
    assert [rows[f"crop{level}"].input_shape[0] for level in (4, 3, 2, 1)] == [64, 136, 280, 568]
    assert [(o.path, o.output_shape) for o in unet.outputs] == [("output", (388, 388, 2))]


def test_unet_params_by_the_closed_form(unet) -> None:
    def conv(f: int, c_in: int, c_out: int) -> int:
        return f * f * c_in * c_out + c_out  # weights and biases (transposed conv: the same)

    widths = [64, 128, 256, 512, 1024]
    down = sum(conv(3, c_in, c) + conv(3, c, c)
               for c_in, c in zip([1, *widths[:-1]], widths, strict=True))
    up = sum(conv(2, 2 * c, c) + conv(3, 2 * c, c) + conv(3, c, c) for c in widths[:-1])
    assert unet.totals.params == down + up + conv(1, 64, 2) == 31_030_658
    with torch.device("meta"):
        assert torch_params(UNet()) == 31_030_658


@pytest.mark.parametrize("size", [572, 188])
def test_unet_macs_equal_torch(size: int) -> None:
    """188 = 16*4 + 124, the smallest input where every level is whole (output 4x4)."""
    report = cnncalc.analyze(cnncalc.load("unet"), (size, size, 1))
    with torch.device("meta"):
        model = UNet()
    assert report.totals.macs == torch_macs(model, (1, 1, size, size))
    rows = nodes(report)
    names = ["down1", "down2", "down3", "down4", "bottom", "up4_conv", "up3_conv", "up2_conv",
             "up1_conv"]
    assert [rows[name].output_shape for name in names] == model.sizes
    assert rows["output"].output_shape == ((388, 388, 2) if size == 572 else (4, 4, 2))
