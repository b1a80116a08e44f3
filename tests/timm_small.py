"""timm's pieces that the importer must read, transcribed from its source at small widths.

From huggingface/pytorch-image-models: timm/layers/norm_act.py (BatchNormAct2d, with its
forward as timm has it: the `_assert` on `x.ndim`, the training and momentum logic around
`F.batch_norm`, then `self.drop` and `self.act`), timm/layers/conv_bn_act.py (ConvNormAct,
whose norm keeps the name `bn`), timm/models/dla.py (DlaBasic, DlaBottleneck, DlaRoot, DlaTree,
DLA: a tree's root concatenates children that other trees computed) and
timm/layers/classifier.py's `create_classifier(use_conv=True)` as DLA uses it (a global pool
that keeps the map, a 1x1 conv, a flatten), timm/models/res2net.py (Bottle2neck),
timm/layers/split_attn.py (SplitAttn, RadixSoftmax: ResNeSt's conv2), timm/layers/helpers.py
(make_divisible), timm/layers/linear.py (Linear, the classifier of MobileNetV3, HardCoRe-NAS,
LCNet and MobileNetV4) and timm/models/mobilenetv3.py (MobileNetV3's forward and its efficient
head: pool, conv_head, act2, flatten, classifier). timm is not a dependency: the classes are
written out here with timm's module names (so state_dict keys are timm's) and forward passes.
Initialisation is left out (it changes no count). Nothing here uses cnncalc.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import _assert, nn

# --------------------------------------------------------------------------- layers/norm_act.py


def _create_act(act_layer: Any, act_kwargs: dict[str, Any] | None = None,
                inplace: bool = False, apply_act: bool = True) -> nn.Module:
    act_kwargs = act_kwargs or {}
    if act_layer is not None and apply_act:
        if inplace:
            act_kwargs["inplace"] = inplace
        return act_layer(**act_kwargs)
    return nn.Identity()


class BatchNormAct2d(nn.BatchNorm2d):
    """timm.layers.norm_act.BatchNormAct2d: a BatchNorm2d (its state_dict keys) whose forward
    also runs `drop` and `act`."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 apply_act: bool = True, act_layer: Any = nn.ReLU,
                 act_kwargs: dict[str, Any] | None = None, inplace: bool = True,
                 drop_layer: Any = None) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum, affine=affine,
                         track_running_stats=track_running_stats)
        self.drop = drop_layer() if drop_layer is not None else nn.Identity()
        self.act = _create_act(act_layer, act_kwargs=act_kwargs, inplace=inplace,
                               apply_act=apply_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # cut & paste of torch.nn.BatchNorm2d.forward impl to avoid issues with torchscript
        # and tracing
        _assert(x.ndim == 4, f"expected 4D input (got {x.ndim}D input)")
        if self.momentum is None:
            exponential_average_factor = 0.0
        else:
            exponential_average_factor = self.momentum
        if self.training and self.track_running_stats:
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:  # use cumulative moving average
                    exponential_average_factor = 1.0 / float(self.num_batches_tracked)
                else:  # use exponential moving average
                    exponential_average_factor = self.momentum
        if self.training:
            bn_training = True
        else:
            bn_training = (self.running_mean is None) and (self.running_var is None)
        x = F.batch_norm(
            x,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight,
            self.bias,
            bn_training,
            exponential_average_factor,
            self.eps,
        )
        x = self.drop(x)
        x = self.act(x)
        return x


# --------------------------------------------------------------------------- layers/conv_bn_act.py


class ConvNormAct(nn.Module):
    """timm.layers.conv_bn_act.ConvNormAct with nn.Conv2d (create_conv2d's symmetric padding
    `(stride - 1 + dilation * (kernel_size - 1)) // 2`) and BatchNormAct2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, dilation: int = 1, groups: int = 1, bias: bool = False,
                 apply_act: bool = True, act_layer: Any = nn.ReLU) -> None:
        super().__init__()
        padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, dilation=dilation, groups=groups, bias=bias)
        self.bn = BatchNormAct2d(out_channels, apply_act=apply_act, act_layer=act_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.bn(x)
        return x


class NormActNet(nn.Module):
    """ConvNormAct stem, a depthwise-separable pair with SiLU, a block without activation
    (apply_act=False) added to its input, then the head: enough to hold every form of
    BatchNormAct2d timm's CNNs use (ReLU, SiLU, Identity act)."""

    def __init__(self, width: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False)
        self.bn1 = BatchNormAct2d(width, act_layer=nn.SiLU)
        self.conv_dw = ConvNormAct(width, width, 3, groups=width, act_layer=nn.SiLU)
        self.conv_pw = ConvNormAct(width, 2 * width, 1, apply_act=False)
        self.conv_pwl = ConvNormAct(2 * width, 2 * width, 3, act_layer=nn.ReLU)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.conv_stem(x))
        x = self.conv_dw(x)
        shortcut = self.conv_pw(x)
        x = self.conv_pwl(shortcut) + shortcut
        x = torch.flatten(self.global_pool(x), 1)
        return self.classifier(x)


# --------------------------------------------------------------------------- models/dla.py


class DlaBasic(nn.Module):
    """DLA Basic"""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 **_: Any) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride,
                               padding=dilation, bias=False, dilation=dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=dilation,
                               bias=False, dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor | None = None) -> torch.Tensor:
        if shortcut is None:
            shortcut = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out += shortcut
        out = self.relu(out)
        return out


class DlaBottleneck(nn.Module):
    """DLA/DLA-X Bottleneck"""

    expansion = 2

    def __init__(self, inplanes: int, outplanes: int, stride: int = 1, dilation: int = 1,
                 cardinality: int = 1, base_width: int = 64) -> None:
        super().__init__()
        self.stride = stride
        mid_planes = int(math.floor(outplanes * (base_width / 64)) * cardinality)
        mid_planes = mid_planes // self.expansion
        self.conv1 = nn.Conv2d(inplanes, mid_planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_planes)
        self.conv2 = nn.Conv2d(mid_planes, mid_planes, kernel_size=3, stride=stride,
                               padding=dilation, bias=False, dilation=dilation,
                               groups=cardinality)
        self.bn2 = nn.BatchNorm2d(mid_planes)
        self.conv3 = nn.Conv2d(mid_planes, outplanes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor | None = None) -> torch.Tensor:
        if shortcut is None:
            shortcut = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        out += shortcut
        out = self.relu(out)
        return out


class DlaRoot(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 shortcut: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False,
                              padding=(kernel_size - 1) // 2)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        children = x
        out = self.conv(torch.cat(x, 1))
        out = self.bn(out)
        if self.shortcut:
            out += children[0]
        out = self.relu(out)
        return out


class DlaTree(nn.Module):
    def __init__(self, levels: int, block: Any, in_channels: int, out_channels: int,
                 stride: int = 1, dilation: int = 1, cardinality: int = 1,
                 base_width: int = 64, level_root: bool = False, root_dim: int = 0,
                 root_kernel_size: int = 1, root_shortcut: bool = False) -> None:
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        self.downsample = nn.MaxPool2d(stride, stride=stride) if stride > 1 else nn.Identity()
        self.project: nn.Module = nn.Identity()
        cargs: dict[str, Any] = dict(dilation=dilation, cardinality=cardinality,
                                     base_width=base_width)
        if levels == 1:
            self.tree1 = block(in_channels, out_channels, stride, **cargs)
            self.tree2 = block(out_channels, out_channels, 1, **cargs)
            if in_channels != out_channels:
                self.project = nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=False),
                    nn.BatchNorm2d(out_channels))
        else:
            cargs.update(dict(root_kernel_size=root_kernel_size, root_shortcut=root_shortcut))
            self.tree1 = DlaTree(levels - 1, block, in_channels, out_channels, stride,
                                 root_dim=0, **cargs)
            self.tree2 = DlaTree(levels - 1, block, out_channels, out_channels,
                                 root_dim=root_dim + out_channels, **cargs)
        if levels == 1:
            self.root = DlaRoot(root_dim, out_channels, root_kernel_size, root_shortcut)
        self.level_root = level_root
        self.root_dim = root_dim
        self.levels = levels

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor | None = None,
                children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x)
        shortcut = self.project(bottom)
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, shortcut)
        if self.levels == 1:
            x2 = self.tree2(x1)
            x = self.root(x2, x1, *children)
        else:
            children.append(x1)
            x = self.tree2(x1, children=children)
        return x


class SelectAdaptivePool2d(nn.Module):
    """timm.layers.adaptive_avgmax_pool.SelectAdaptivePool2d('avg', flatten=False)."""

    def __init__(self, output_size: int = 1) -> None:
        super().__init__()
        self.pool_type = "avg"
        self.flatten = nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(output_size)

    def is_identity(self) -> bool:
        return not self.pool_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        x = self.flatten(x)
        return x


class DLA(nn.Module):
    def __init__(self, levels: Any, channels: Any, num_classes: int = 1000,
                 in_chans: int = 3, cardinality: int = 1, base_width: int = 64,
                 block: Any = DlaBottleneck, shortcut_root: bool = False,
                 drop_rate: float = 0.0) -> None:
        super().__init__()
        self.channels = channels
        self.num_classes = num_classes
        self.drop_rate = drop_rate
        self.base_layer = nn.Sequential(
            nn.Conv2d(in_chans, channels[0], kernel_size=7, stride=1, padding=3, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True))
        self.level0 = self._make_conv_level(channels[0], channels[0], levels[0])
        self.level1 = self._make_conv_level(channels[0], channels[1], levels[1], stride=2)
        cargs = dict(cardinality=cardinality, base_width=base_width,
                     root_shortcut=shortcut_root)
        self.level2 = DlaTree(levels[2], block, channels[1], channels[2], 2,
                              level_root=False, **cargs)
        self.level3 = DlaTree(levels[3], block, channels[2], channels[3], 2,
                              level_root=True, **cargs)
        self.level4 = DlaTree(levels[4], block, channels[3], channels[4], 2,
                              level_root=True, **cargs)
        self.level5 = DlaTree(levels[5], block, channels[4], channels[5], 2,
                              level_root=True, **cargs)
        self.num_features = channels[-1]
        # create_classifier(num_features, num_classes, pool_type='avg', use_conv=True)
        self.global_pool = SelectAdaptivePool2d(1)
        self.fc = nn.Conv2d(self.num_features, num_classes, 1, bias=True)
        self.flatten = nn.Flatten(1)

    def _make_conv_level(self, inplanes: int, planes: int, convs: int, stride: int = 1,
                         dilation: int = 1) -> nn.Sequential:
        modules: list[nn.Module] = []
        for i in range(convs):
            modules.extend([
                nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride if i == 0 else 1,
                          padding=dilation, bias=False, dilation=dilation),
                nn.BatchNorm2d(planes),
                nn.ReLU(inplace=True)])
            inplanes = planes
        return nn.Sequential(*modules)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.base_layer(x)
        x = self.level0(x)
        x = self.level1(x)
        x = self.level2(x)
        x = self.level3(x)
        x = self.level4(x)
        x = self.level5(x)
        return x

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.global_pool(x)
        if self.drop_rate > 0.:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        x = self.fc(x)
        return self.flatten(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        x = self.forward_head(x)
        return x


def dla34_small(num_classes: int = 10) -> DLA:
    """timm's dla34 (levels 1-1-1-2-2-1, DlaBasic) at an eighth of its widths."""
    return DLA(levels=[1, 1, 1, 2, 2, 1], channels=[2, 4, 8, 16, 32, 64],
               num_classes=num_classes, block=DlaBasic)


def dla60x_c_small(num_classes: int = 10) -> DLA:
    """timm's dla60x_c (levels 1-1-1-2-3-1, DlaBottleneck with 32 groups of base width 4)
    at a quarter of its widths and 4 groups."""
    return DLA(levels=[1, 1, 1, 2, 3, 1], channels=[4, 8, 16, 16, 32, 64],
               num_classes=num_classes, block=DlaBottleneck, cardinality=4, base_width=16)


# --------------------------------------------------------------------------- models/res2net.py


class Bottle2neck(nn.Module):
    """timm.models.res2net.Bottle2neck as timm 1.0 has it (the `sp = spx[0]` its forward
    computes for torchscript is read by nothing: a split part computed and never used)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, cardinality: int = 1,
                 base_width: int = 26, scale: int = 4, dilation: int = 1) -> None:
        super().__init__()
        self.scale = scale
        self.is_first = stride > 1 or downsample is not None
        self.num_scales = max(1, scale - 1)
        width = int(math.floor(planes * (base_width / 64.0))) * cardinality
        self.width = width
        outplanes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width * scale, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        convs = []
        bns = []
        for _ in range(self.num_scales):
            convs.append(nn.Conv2d(width, width, kernel_size=3, stride=stride,
                                   padding=dilation, dilation=dilation, groups=cardinality,
                                   bias=False))
            bns.append(nn.BatchNorm2d(width))
        self.convs = nn.ModuleList(convs)
        self.bns = nn.ModuleList(bns)
        if self.is_first:
            self.pool: nn.Module | None = nn.AvgPool2d(kernel_size=3, stride=stride,
                                                       padding=1)
        else:
            self.pool = None
        self.conv3 = nn.Conv2d(width * scale, outplanes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        spx = torch.split(out, self.width, 1)
        spo = []
        sp = spx[0]  # redundant, for torchscript
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=False)):
            if i == 0 or self.is_first:
                sp = spx[i]
            else:
                sp = sp + spx[i]
            sp = conv(sp)
            sp = bn(sp)
            sp = self.relu(sp)
            spo.append(sp)
        if self.scale > 1:
            if self.pool is not None:  # self.is_first == True, None check for torchscript
                spo.append(self.pool(spx[-1]))
            else:
                spo.append(spx[-1])
        out = torch.cat(spo, 1)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.downsample is not None:
            shortcut = self.downsample(x)
        out += shortcut
        out = self.relu(out)
        return out


class Res2NetStage(nn.Module):
    """A stem and one stage of timm's ResNet with Bottle2neck blocks of scale 2 (as
    res2net50_48w_2s has; the first with a downsample, the second without), then the
    head."""

    def __init__(self, width: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU(inplace=True)
        downsample = nn.Sequential(nn.Conv2d(width, 4 * width, 1, bias=False),
                                   nn.BatchNorm2d(4 * width))
        self.layer1 = nn.Sequential(
            Bottle2neck(width, width, downsample=downsample, base_width=64, scale=2),
            Bottle2neck(4 * width, width, base_width=64, scale=2))
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        return self.fc(torch.flatten(self.global_pool(x), 1))


# --------------------------------------------------------------------------- layers/split_attn.py


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None,
                   round_limit: float = .9) -> int:
    """timm.layers.helpers.make_divisible."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


class RadixSoftmax(nn.Module):
    def __init__(self, radix: int, cardinality: int) -> None:
        super().__init__()
        self.radix = radix
        self.cardinality = cardinality

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.size(0)
        if self.radix > 1:
            x = x.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
            x = F.softmax(x, dim=1)
            x = x.reshape(batch, -1)
        else:
            x = torch.sigmoid(x)
        return x


class SplitAttn(nn.Module):
    """timm.layers.split_attn.SplitAttn (Split-Attention, ResNeSt's conv2), its forward as
    timm has it: `x.shape` unpacked, a 5-D reshape by radix, `.sum(dim=1)`, a squeeze of the
    sum, RadixSoftmax, and the parts weighted and summed."""

    def __init__(self, in_channels: int, out_channels: int | None = None,
                 kernel_size: int = 3, stride: int = 1, padding: int | None = None,
                 dilation: int = 1, groups: int = 1, bias: bool = False, radix: int = 2,
                 rd_ratio: float = 0.25, rd_channels: int | None = None, rd_divisor: int = 8,
                 act_layer: Any = nn.ReLU, norm_layer: Any = None,
                 drop_layer: Any = None) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.radix = radix
        mid_chs = out_channels * radix
        if rd_channels is None:
            attn_chs = make_divisible(in_channels * radix * rd_ratio, min_value=32,
                                      divisor=rd_divisor)
        else:
            attn_chs = rd_channels * radix
        padding = kernel_size // 2 if padding is None else padding
        self.conv = nn.Conv2d(in_channels, mid_chs, kernel_size, stride, padding, dilation,
                              groups=groups * radix, bias=bias)
        self.bn0 = norm_layer(mid_chs) if norm_layer else nn.Identity()
        self.drop = drop_layer() if drop_layer is not None else nn.Identity()
        self.act0 = act_layer(inplace=True)
        self.fc1 = nn.Conv2d(out_channels, attn_chs, 1, groups=groups)
        self.bn1 = norm_layer(attn_chs) if norm_layer else nn.Identity()
        self.act1 = act_layer(inplace=True)
        self.fc2 = nn.Conv2d(attn_chs, mid_chs, 1, groups=groups)
        self.rsoftmax = RadixSoftmax(radix, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.bn0(x)
        x = self.drop(x)
        x = self.act0(x)

        B, RC, H, W = x.shape
        if self.radix > 1:
            x = x.reshape((B, self.radix, RC // self.radix, H, W))
            x_gap = x.sum(dim=1)
        else:
            x_gap = x
        x_gap = x_gap.mean((2, 3), keepdim=True)
        x_gap = self.fc1(x_gap)
        x_gap = self.bn1(x_gap)
        x_gap = self.act1(x_gap)
        x_attn = self.fc2(x_gap)

        x_attn = self.rsoftmax(x_attn).view(B, -1, 1, 1)
        if self.radix > 1:
            out = (x * x_attn.reshape((B, self.radix, RC // self.radix, 1, 1))).sum(dim=1)
        else:
            out = x * x_attn
        return out.contiguous()


class SplitAttnNet(nn.Module):
    """A stem conv, then ResNeSt's SplitAttn as resnest14d's conv2 has it (radix 2, batch
    norms), then a head."""

    def __init__(self, width: int = 8, num_classes: int = 10, radix: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.conv2 = SplitAttn(width, width, 3, radix=radix, norm_layer=nn.BatchNorm2d)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x))
        return self.fc(torch.flatten(self.global_pool(x), 1))


# ----------------------------------------------------------- models/_efficientnet_blocks.py


class SqueezeExcite(nn.Module):
    """timm.models._efficientnet_blocks.SqueezeExcite (EfficientNet, MobileNetV3, MixNet,
    TinyNet, HardCoRe-NAS, LCNet), with create_act_layer given classes."""

    def __init__(self, in_chs: int, rd_ratio: float = 0.25, rd_channels: int | None = None,
                 act_layer: Any = nn.ReLU, gate_layer: Any = nn.Sigmoid,
                 force_act_layer: Any = None, rd_round_fn: Any = None) -> None:
        super().__init__()
        if rd_channels is None:
            rd_round_fn = rd_round_fn or round
            rd_channels = rd_round_fn(in_chs * rd_ratio)
        act_layer = force_act_layer or act_layer
        self.conv_reduce = nn.Conv2d(in_chs, rd_channels, 1, bias=True)
        self.act1 = _create_act(act_layer, inplace=True)
        self.conv_expand = nn.Conv2d(rd_channels, in_chs, 1, bias=True)
        self.gate = _create_act(gate_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.conv_reduce(x_se)
        x_se = self.act1(x_se)
        x_se = self.conv_expand(x_se)
        return x * self.gate(x_se)


# ------------------------------------------------------------------ layers/squeeze_excite.py


class SEModule(nn.Module):
    """timm.layers.squeeze_excite.SEModule (SE-ResNet, RegNetY), with create_act_layer given
    classes (`gate_layer='sigmoid'` is nn.Sigmoid)."""

    def __init__(self, channels: int, rd_ratio: float = 1. / 16, rd_channels: int | None = None,
                 rd_divisor: int = 8, add_maxpool: bool = False, bias: bool = True,
                 act_layer: Any = nn.ReLU, norm_layer: Any = None,
                 gate_layer: Any = nn.Sigmoid) -> None:
        super().__init__()
        self.add_maxpool = add_maxpool
        if not rd_channels:
            rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.)
        self.fc1 = nn.Conv2d(channels, rd_channels, kernel_size=1, bias=bias)
        self.bn = norm_layer(rd_channels) if norm_layer else nn.Identity()
        self.act = _create_act(act_layer, inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, kernel_size=1, bias=bias)
        self.gate = _create_act(gate_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_se = x.mean((2, 3), keepdim=True)
        if self.add_maxpool:
            # experimental codepath, may remove or change
            x_se = 0.5 * x_se + 0.5 * x.amax((2, 3), keepdim=True)
        x_se = self.fc1(x_se)
        x_se = self.act(self.bn(x_se))
        x_se = self.fc2(x_se)
        return x * self.gate(x_se)


class EffectiveSEModule(nn.Module):
    """timm.layers.squeeze_excite.EffectiveSEModule (ESE-VoVNet): one 1x1 conv, C to C, and
    a hard sigmoid gate (timm's 'hard_sigmoid' is nn.Hardsigmoid)."""

    def __init__(self, channels: int, add_maxpool: bool = False,
                 gate_layer: Any = nn.Hardsigmoid, **_: Any) -> None:
        super().__init__()
        self.add_maxpool = add_maxpool
        self.fc = nn.Conv2d(channels, channels, kernel_size=1, padding=0)
        self.gate = _create_act(gate_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_se = x.mean((2, 3), keepdim=True)
        if self.add_maxpool:
            # experimental codepath, may remove or change
            x_se = 0.5 * x_se + 0.5 * x.amax((2, 3), keepdim=True)
        x_se = self.fc(x_se)
        return x * self.gate(x_se)


class SENet(nn.Module):
    """A conv stem, then a block with a squeeze-and-excitation module `se` (built by `se`
    from the block's channels), added to its input: where timm's blocks hold theirs."""

    def __init__(self, se: Any, width: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv_dw = nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False)
        self.se = se(width)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv_stem(x)))
        x = self.se(self.conv_dw(x)) + x
        return self.classifier(torch.flatten(self.global_pool(x), 1))


def res2net_scale4_small(num_classes: int = 10) -> nn.Module:
    """A stem and one stage of timm's res2net50_26w_4s (Bottle2neck of scale 4: three convs
    and bns, run convs[0], bns[0], convs[1], ...) at small widths."""
    width = 8
    model = Res2NetStage(width, num_classes)
    downsample = nn.Sequential(nn.Conv2d(width, 4 * width, 1, bias=False),
                               nn.BatchNorm2d(4 * width))
    model.layer1 = nn.Sequential(
        Bottle2neck(width, width, downsample=downsample, base_width=26, scale=4),
        Bottle2neck(4 * width, width, base_width=26, scale=4))
    return model


# --------------------------------------------------------------------------- layers/linear.py


class Linear(nn.Linear):
    """timm.layers.linear.Linear: nn.Linear whose forward casts weight and bias to the
    input's dtype under torchscript (for AMP), and is F.linear otherwise."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            bias = self.bias.to(dtype=input.dtype) if self.bias is not None else None
            return F.linear(input, self.weight.to(dtype=input.dtype), bias=bias)
        else:
            return F.linear(input, self.weight, self.bias)


# --------------------------------------------------------------------------- models/mobilenetv3.py


class MobileNetV3(nn.Module):
    """timm.models.mobilenetv3.MobileNetV3 at small widths: conv_stem and bn1 (BatchNormAct2d
    with hard swish), `blocks` (here one ConvNormAct in place of the EfficientNetBuilder's
    stages), then the efficient head: global_pool (SelectAdaptivePool2d, the map kept),
    conv_head (create_conv2d's 1x1 nn.Conv2d with head_bias), act2, flatten (nn.Flatten(1)),
    F.dropout when drop_rate > 0, and classifier (timm's Linear)."""

    def __init__(self, num_classes: int = 10, stem_size: int = 8, num_features: int = 32,
                 head_bias: bool = True, act_layer: Any = nn.Hardswish,
                 drop_rate: float = 0.0, global_pool: str = "avg") -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_features = num_features
        self.drop_rate = drop_rate
        self.grad_checkpointing = False
        self.conv_stem = nn.Conv2d(3, stem_size, 3, stride=2, padding=1, bias=False)
        self.bn1 = BatchNormAct2d(stem_size, act_layer=act_layer)
        self.blocks = nn.Sequential(ConvNormAct(stem_size, 2 * stem_size, 3, stride=2,
                                                act_layer=act_layer))
        head_chs = 2 * stem_size
        self.global_pool = SelectAdaptivePool2d()
        self.conv_head = nn.Conv2d(head_chs, self.num_features, 1, padding=0, bias=head_bias)
        self.act2 = act_layer(inplace=True)
        self.flatten = nn.Flatten(1) if global_pool else nn.Identity()
        self.classifier = Linear(self.num_features, num_classes) if num_classes > 0 \
            else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_stem(x)
        x = self.bn1(x)
        x = self.blocks(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.global_pool(x)
        x = self.conv_head(x)
        x = self.act2(x)
        x = self.flatten(x)
        if pre_logits:
            return x
        if self.drop_rate > 0.:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        x = self.forward_head(x)
        return x
