"""The torch backend: any spec as a `torch.nn.Module`, and torch's own count of it.

This is the only module of cnncalc that imports torch (an optional extra:
`pip install 'cnncalc[torch]'`); everything else imports it lazily, inside functions, so that
`import cnncalc` and `cnncalc show` never load torch.

The module is built from the engine's Report tree, one torch module per node, nested so that
`named_modules()` yields the engine's dotted paths (`layer1.0.conv1`, `layer2.0.downsample`,
`layer1.0.add`, ...), which for the bundled torchvision specs are torchvision's module
names. A few leaves have internals below their path (separable: `depthwise`, `pointwise`; se:
`avgpool`, `fc1`, `fc2`, as torchvision names them); layer_scale's parameter is the other way
round, saved under the row's own path (ConvNeXt's `features.1.0.layer_scale`). Merges are
modules too (`Add`, `Concat`), so that hooks see them.

Exactness rules (each module must give the engine's shape by torch's own arithmetic):
- symmetric padding uses the layer's own `padding=`; asymmetric padding ("same" with an even
  kernel or a stride, or `[top, bottom, left, right]`) is an explicit `F.pad` before it, with
  zeros for convolutions and average pooling and -inf for max pooling;
- adaptive pooling is explicit pooling with the lecture's window, `s = floor(n / out)`,
  `f = n - (out - 1) s`, where torch's adaptive windows slide evenly (`n mod out` is 0 or 1 on
  both axes: then they are that window), and torch's own `AdaptiveAvgPool2d` /
  `AdaptiveMaxPool2d` otherwise (uneven windows, or a target larger than the input);
- layer norm runs over the channels of each position (torchvision's LayerNorm2d: channels
  last, `F.layer_norm`, channels first again); layer scale's parameter is (C, 1, 1) on a map,
  as ConvNeXt's; stochastic depth is torchvision's (the identity in eval mode);
- global pooling gives a vector of C (N x C) unless `keepdims`; flatten runs on NCHW, so its
  vector is in torch's (C, H, W) order;
- channel_dense is `nn.Linear` on the channels-last map (permute, Linear, permute back), so
  its weight is (out, in) as ConvNeXt's; a map not laid out channels last is copied to
  channels last first (`ChannelLinear`), so the Linear is one `addmm` whatever came before;
- activations on conv, dense, channel_dense and se are applied in `forward` (no extra module).

Tensors are NCHW; the engine's shapes are HWC (see `cnncalc.verify.torch_shape`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as TF
from torch import nn

from .analyses.verify import Measured, Measurement, torch_shape
from .core import layers as L
from .core.report import Node, Report
from .core.spec import Spec
from .errors import CnnCalcError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


# --------------------------------------------------------------------------- activations

def _leaky_relu(x: torch.Tensor, slope: float | None) -> torch.Tensor:
    return TF.leaky_relu(x, 0.01 if slope is None else slope)


#: Every activation name of `layers.ACTIVATIONS`, as a function of (tensor, negative slope).
#: Softmax runs over dim 1: the channels of NCHW, the features of N x C.
FUNCTIONS: dict[str, Callable[[torch.Tensor, float | None], torch.Tensor]] = {
    "relu": lambda x, _: TF.relu(x),
    "relu6": lambda x, _: TF.relu6(x),
    "leaky_relu": _leaky_relu,
    "tanh": lambda x, _: torch.tanh(x),
    "sigmoid": lambda x, _: torch.sigmoid(x),
    "silu": lambda x, _: TF.silu(x),
    "swish": lambda x, _: TF.silu(x),
    "hardswish": lambda x, _: TF.hardswish(x),
    "hardsigmoid": lambda x, _: TF.hardsigmoid(x),
    "gelu": lambda x, _: TF.gelu(x),
    "softmax": lambda x, _: TF.softmax(x, dim=1),
}


#: The activations torch can apply in place (`inplace: true`), by name: they overwrite their
#: input and allocate nothing (gelu and softmax have no in-place form in torch).
IN_PLACE: dict[str, Callable[[torch.Tensor, float | None], torch.Tensor]] = {
    "relu": lambda x, _: TF.relu(x, inplace=True),
    "relu6": lambda x, _: TF.relu6(x, inplace=True),
    "leaky_relu": lambda x, slope: TF.leaky_relu(x, 0.01 if slope is None else slope,
                                                 inplace=True),
    "tanh": lambda x, _: torch.tanh_(x),
    "sigmoid": lambda x, _: torch.sigmoid_(x),
    "silu": lambda x, _: TF.silu(x, inplace=True),
    "swish": lambda x, _: TF.silu(x, inplace=True),
    "hardswish": lambda x, _: TF.hardswish(x, inplace=True),
    "hardsigmoid": lambda x, _: TF.hardsigmoid(x, inplace=True),
}


def activate(x: torch.Tensor, function: str | None, slope: float | None = None,
             inplace: bool = False) -> torch.Tensor:
    """Apply an activation by name (None: the identity), in place when `inplace`."""
    if function is None:
        return x
    return (IN_PLACE if inplace else FUNCTIONS)[function](x, slope)


# --------------------------------------------------------------------------- leaf modules

def _torch_pads(pads: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The engine's (top, bottom, left, right) as F.pad's (left, right, top, bottom), or None
    when the padding is symmetric (then the layer's own `padding=` does it)."""
    top, bottom, left, right = pads
    if top == bottom and left == right:
        return None
    return (left, right, top, bottom)


class Conv2d(nn.Conv2d):
    """`nn.Conv2d` with an optional asymmetric zero padding before it and a fused activation."""

    cnncalc_kind = "conv"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, *args: Any, pads: tuple[int, int, int, int] | None = None,
                 activation: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pads = pads
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One expression: each temporary (the padded copy, the convolution's output before its
        # activation) is freed as soon as its reader returns (analyses.memory counts so).
        return activate(super().forward(x if self.pads is None else TF.pad(x, self.pads)),
                        self.activation)

    def extra_repr(self) -> str:
        extra = f", pads={self.pads}" if self.pads else ""
        return super().extra_repr() + extra + (f", {self.activation}" if self.activation else "")


class Linear(nn.Linear):
    """`nn.Linear` with a fused activation."""

    cnncalc_kind = "dense"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, *args: Any, activation: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return activate(super().forward(x), self.activation)


def _packed_channels_last(x: torch.Tensor) -> bool:
    """Whether the NCHW map `x` is laid out channels last with nothing between examples:
    its NHWC permutation is contiguous, the batch's stride counted even for one example
    (torch's `is_contiguous` skips a dimension of size 1, so a slice of a wider map would
    pass at batch 1 and fail at batch 2)."""
    _, c, h, w = x.shape
    sn, sc, sh, sw = x.stride()
    return ((c == 1 or sc == 1) and (w == 1 or sw == c) and (h == 1 or sh == w * c)
            and sn == c * h * w)


def _to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """`x` itself when packed channels last, else a channels-last copy of it."""
    return x if _packed_channels_last(x) else x.clone(memory_format=torch.channels_last)


class ChannelLinear(nn.Linear):
    """The kind `channel_dense`: `nn.Linear` over the channels of each position of an NCHW
    map (channels last, the Linear, channels first again), with a fused activation. Its weight
    is a Linear's (out, in), as ConvNeXt's Linears on channels-last tensors are, where a 1x1
    convolution's is (out, in, 1, 1).

    A map not laid out channels last (a convolution's output, a slice of channels) is copied
    to channels last first, so that the Linear always runs on a contiguous view: one `addmm`
    (`mm` without bias) whose output is channels last. Left to itself, `nn.Linear` on a
    permuted channels-first map copies it or not, and adds its bias apart or not, by strides
    and by whether the batch is 1; this way its tensors follow one rule (docs/memory.md)."""

    cnncalc_kind = "channel_dense"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, *args: Any, activation: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the copy is an argument, never a name: it is freed when the Linear returns
        return activate(super().forward(_to_channels_last(x).permute(0, 2, 3, 1)),
                        self.activation).permute(0, 3, 1, 2)


class Separable(nn.Module):
    """Depthwise (no bias) then 1x1 pointwise (with the bias), then the activation (applied
    here, so that the depthwise output is freed before it runs)."""

    cnncalc_kind = "separable"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, depthwise: Conv2d, pointwise: Conv2d, activation: str | None = None):
        super().__init__()
        self.depthwise = depthwise
        self.pointwise = pointwise
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return activate(self.pointwise(self.depthwise(x)), self.activation)

    def extra_repr(self) -> str:
        return self.activation or ""


class PaddedPool(nn.Module):
    """Pooling with padding torch's pools cannot take (unequal sides): an explicit pad, then a
    pool. `pads` (left, right, top, bottom) are the declared padding; `extra` (right, bottom)
    the overhang ceil_mode's last window may have past it. Max pads with -inf (padding never
    wins). Average divides each window's sum by its positions inside the input and the
    declared padding, as torch's `count_include_pad=True` does (the overhang is not counted)."""

    cnncalc_kind = "pool"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, mode: str, kernel: tuple[int, int], stride: tuple[int, int],
                 pads: tuple[int, int, int, int], extra: tuple[int, int] = (0, 0)):
        super().__init__()
        self.mode, self.kernel, self.stride, self.pads, self.extra = (
            mode, kernel, stride, pads, extra)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.pads
        pads = (left, right + self.extra[0], top, bottom + self.extra[1])
        if self.mode == "max":
            return TF.max_pool2d(TF.pad(x, pads, value=-math.inf), self.kernel, self.stride)
        # Temporaries are arguments, never names: each is freed when its reader returns.
        sums = TF.avg_pool2d(TF.pad(x, pads), self.kernel, self.stride, divisor_override=1)
        h, w = x.shape[-2] + top + bottom, x.shape[-1] + left + right
        return sums / TF.avg_pool2d(
            TF.pad(x.new_ones(1, 1, h, w), (0, self.extra[0], 0, self.extra[1])),
            self.kernel, self.stride, divisor_override=1)

    def extra_repr(self) -> str:
        return (f"{self.mode}, kernel={self.kernel}, stride={self.stride}, pads={self.pads}"
                + (f", ceil overhang={self.extra}" if any(self.extra) else ""))


class GlobalPool(nn.Module):
    """Average or max over height and width: N x C, or N x C x 1 x 1 with keepdims."""

    cnncalc_kind = "global_pool"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, mode: str, keepdims: bool):
        super().__init__()
        self.mode, self.keepdims = mode, keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return x.amax(dim=(2, 3), keepdim=self.keepdims)
        return x.mean(dim=(2, 3), keepdim=self.keepdims)

    def extra_repr(self) -> str:
        return self.mode + (", keepdims" if self.keepdims else "")


class Activation(nn.Module):
    """An activation function by name (`layers.ACTIVATIONS`), in place when `inplace` (as
    torch's `nn.ReLU(inplace=True)`: the input is overwritten)."""

    cnncalc_kind = "activation"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, function: str, negative_slope: float | None = None,
                 approximate: str | None = None, inplace: bool = False):
        super().__init__()
        self.function, self.negative_slope = function, negative_slope
        self.approximate, self.inplace = approximate, inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.approximate is not None:  # gelu only (the layer refuses it elsewhere)
            return TF.gelu(x, approximate=self.approximate)
        return activate(x, self.function, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return self.function + (", inplace" if self.inplace else "")


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): `nn.LayerNorm` over the channels of each position
    of an NCHW map (channels last, normalise, channels first)."""

    cnncalc_kind = "layernorm"  # cnncalc import reads it back (importer.fx.BUILT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = TF.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """A learned scale per channel, all starting at `init`: ConvNeXt's
    `nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)` on a map, (C,) on a vector.

    The parameter is the module's `scale` (`named_parameters()` says `<row>.scale`), but its
    state_dict key is the row's own path, `features.1.0.layer_scale`, as ConvNeXt's is (a bare
    Parameter of the block): `_save_to_state_dict` writes it under the module's prefix without
    the dot, and the container it sits in (`Container._load_from_state_dict`) hands that key
    back to it on loading, where torch would give the module only keys below `<row>.`. The
    `<row>.scale` key loads too. Alone (no prefix: not inside a container) the key is
    `scale`."""

    cnncalc_kind = "layer_scale"  # cnncalc import reads it back (importer.fx.BUILT)
    #: the parameter whose state_dict key is the module's own path (Container reads it)
    cnncalc_bare_parameter = "scale"

    def __init__(self, channels: int, dims: int, init: float):
        super().__init__()
        shape = (channels, 1, 1) if dims == 3 else (channels,)
        self.scale = nn.Parameter(torch.ones(shape) * init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        if not prefix:
            super()._save_to_state_dict(destination, prefix, keep_vars)
            return
        destination[prefix[:-1]] = self.scale if keep_vars else self.scale.detach()

    def _load_from_state_dict(self, state_dict: Any, prefix: str, local_metadata: Any,
                              strict: bool, missing_keys: list[str],
                              unexpected_keys: list[str], error_msgs: list[str]) -> None:
        first = len(missing_keys)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)
        if prefix:  # a missing parameter is named by the key that would have held it
            missing_keys[first:] = [prefix[:-1] if key == prefix + "scale" else key
                                    for key in missing_keys[first:]]


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: in training, zero the input per example (`row`) or for
    the whole batch (`batch`) with probability `rate`, and divide what survives by
    `1 - rate`; the identity in eval mode or at rate 0."""

    cnncalc_kind = "stochastic_depth"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, rate: float, mode: str):
        super().__init__()
        self.rate, self.mode = rate, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        survival = 1.0 - self.rate
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"rate={self.rate}, mode={self.mode}"


class SqueezeExcitation(nn.Module):
    """torchvision's SqueezeExcitation: `x * gate(fc2(act(fc1(avgpool(x)))))`, with 1x1
    convolutions (bias) as fc1 and fc2.

    It loads the state_dict of each form `cnncalc import` reads as an `se` row
    (`importer.fx.SE_NAMES`): fc1 and fc2 (torchvision's, timm's SEModule), or timm's
    EfficientNet names, conv_reduce and conv_expand, taken as fc1 and fc2 (it saves fc1 and
    fc2)."""

    cnncalc_kind = "se"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, channels: int, squeeze: int, activation: str, gate: str):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation, self.gate = activation, gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One expression: each intermediate is freed as soon as its reader returns.
        return x * activate(self.fc2(activate(self.fc1(self.avgpool(x)), self.activation)),
                            self.gate)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        from .importer.fx import SE_NAMES

        for names in SE_NAMES[1:]:  # another form's keys, when they are all there are
            for name, own in zip(names, SE_NAMES[0], strict=True):
                for key in [k for k in state_dict if k.startswith(f"{prefix}{name}.")]:
                    target = f"{prefix}{own}.{key[len(prefix) + len(name) + 1:]}"
                    if target not in state_dict:
                        state_dict[target] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args)


class ConvTranspose2d(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` with a fused activation."""

    cnncalc_kind = "conv_transpose"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, *args: Any, activation: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return activate(super().forward(x), self.activation)


class Add(nn.Module):
    """The merge node `add`: the element-wise sum of its inputs, into one new tensor (the
    first two added, the others added to it in place)."""

    cnncalc_kind = "add"  # cnncalc import reads it back (importer.fx.BUILT)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) == 1:
            return inputs[0]
        out = inputs[0] + inputs[1]
        for other in inputs[2:]:
            out += other
        return out


class Concat(nn.Module):
    """The merge node `concat`: concatenation along the channels (dim 1 of NCHW or N x C)."""

    cnncalc_kind = "concat"  # cnncalc import reads it back (importer.fx.BUILT)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=1)


# --------------------------------------------------------------------------- builders

Builder = Callable[[Any, L.Shape, L.Shape], nn.Module]


def _conv_module(c_in: int, c_out: int, layer: L._Convolution, in_shape: L.Shape, groups: int,
                 bias: bool, activation: str | None) -> Conv2d:
    pads = layer.padding_of(in_shape)
    torch_pads = _torch_pads(pads)
    return Conv2d(c_in, c_out, L.pair(layer.kernel), L.pair(layer.stride),
                  padding=(pads[0], pads[2]) if torch_pads is None else 0,
                  dilation=L.pair(layer.dilation), groups=groups, bias=bias,
                  pads=torch_pads, activation=activation)


def _conv(layer: L.Conv, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return _conv_module(in_shape[2], layer.filters, layer, in_shape, layer.groups, layer.bias,
                        layer.activation)


def _depthwise(layer: L.Depthwise, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    c = in_shape[2]
    return _conv_module(c, c * layer.multiplier, layer, in_shape, c, layer.bias,
                        layer.activation)


def _separable(layer: L.Separable, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    c = in_shape[2]
    c_mid = c * layer.multiplier
    depthwise = _conv_module(c, c_mid, layer, in_shape, c, False, None)
    pointwise = Conv2d(c_mid, layer.filters, 1, bias=layer.bias)
    return Separable(depthwise, pointwise, layer.activation)


def _pool(layer: L.Pool, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    kernel, stride = L.pair(layer.kernel), layer.strides()
    top, bottom, left, right = layer.padding_of(in_shape)
    if top == bottom and left == right and top <= kernel[0] // 2 and left <= kernel[1] // 2:
        pool = nn.MaxPool2d if layer.mode == "max" else nn.AvgPool2d
        return pool(kernel, stride, padding=(top, left), ceil_mode=layer.ceil_mode)
    # Unequal sides: pad explicitly. With ceil_mode, the engine's rule may keep one more
    # window than floor; the overhang past the bottom/right padding makes floor give it.
    h, w = in_shape[0], in_shape[1]
    extra_bottom = max(0, (out_shape[0] - 1) * stride[0] + kernel[0] - h - top - bottom)
    extra_right = max(0, (out_shape[1] - 1) * stride[1] + kernel[1] - w - left - right)
    return PaddedPool(layer.mode, kernel, stride, (left, right, top, bottom),
                      (extra_right, extra_bottom))


def _adaptive_pool(layer: L.AdaptivePool, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    uniform = layer.uniform_of(in_shape)
    if uniform is None:
        adaptive = nn.AdaptiveMaxPool2d if layer.mode == "max" else nn.AdaptiveAvgPool2d
        return adaptive(L.pair(layer.size))
    kernel, stride = uniform
    pool = nn.MaxPool2d if layer.mode == "max" else nn.AvgPool2d
    return pool(kernel, stride)


def _global_pool(layer: L.GlobalPool, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return GlobalPool(layer.mode, layer.keepdims)


def _pad(layer: L.Pad, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    top, bottom, left, right = layer.padding_of(in_shape)
    pad = {"zeros": nn.ZeroPad2d, "replicate": nn.ReplicationPad2d,
           "reflect": nn.ReflectionPad2d}[layer.mode]
    return pad((left, right, top, bottom))


def _flatten(layer: L.Flatten, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return nn.Flatten()


def _dense(layer: L.Dense, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Linear(in_shape[0], layer.units, bias=layer.bias, activation=layer.activation)


def _channel_dense(layer: L.ChannelDense, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return ChannelLinear(in_shape[2], layer.units, bias=layer.bias, activation=layer.activation)


def _activation(layer: L.Activation, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Activation(layer.function, layer.negative_slope, layer.approximate, layer.inplace)


def _batchnorm(layer: L.BatchNorm, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    norm = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return norm(in_shape[-1], eps=layer.eps, momentum=layer.momentum, affine=layer.affine)


def _layernorm(layer: L.LayerNorm, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    if len(in_shape) == 1:
        return nn.LayerNorm(in_shape[0], eps=layer.eps, elementwise_affine=layer.affine)
    return LayerNorm2d(in_shape[-1], eps=layer.eps, elementwise_affine=layer.affine)


def _layer_scale(layer: L.LayerScale, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return LayerScale(in_shape[-1], len(in_shape), layer.init)


def _stochastic_depth(layer: L.StochasticDepth, in_shape: L.Shape,
                      out_shape: L.Shape) -> nn.Module:
    return StochasticDepth(layer.rate, layer.mode)


class Dropout(nn.Dropout):
    """`nn.Dropout` as it runs on a GPU, on every device: in training (rate above 0) torch's
    fused `native_dropout`, whose backward keeps a bool mask (one byte per element); the
    identity in eval mode or at rate 0. (`nn.Dropout` on CPU multiplies by a noise tensor of
    the input's dtype instead, and keeps that.)"""

    cnncalc_kind = "dropout"  # cnncalc import reads it back (importer.fx.BUILT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return torch.native_dropout(x, self.p, True)[0]


def _dropout(layer: L.Dropout, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Dropout(layer.rate)


def _se(layer: L.SqueezeExcite, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return SqueezeExcitation(in_shape[2], layer.squeeze, layer.activation, layer.gate)


def _conv_transpose(layer: L.ConvTranspose, in_shape: L.Shape, out_shape: L.Shape
                    ) -> nn.Module:
    return ConvTranspose2d(in_shape[2], layer.filters, L.pair(layer.kernel),
                           L.pair(layer.stride), padding=L.pair(layer.padding),
                           output_padding=L.pair(layer.output_padding), groups=layer.groups,
                           bias=layer.bias, dilation=L.pair(layer.dilation),
                           activation=layer.activation)


def _upsample(layer: L.Upsample, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    corners = {"align_corners": False} if layer.mode == "bilinear" else {}
    if layer.factor is not None:
        return nn.Upsample(scale_factor=tuple(float(f) for f in L.pair(layer.factor)),
                           mode=layer.mode, **corners)
    return nn.Upsample(size=L.pair(layer.size), mode=layer.mode,  # type: ignore[arg-type]
                       **corners)


class Chunk(nn.Module):
    """`x.chunk(chunks, 1)[index]`: one part of the channels (a view)."""

    cnncalc_kind = "chunk"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, chunks: int, index: int):
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, 1)[self.index]

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, index={self.index}"


def _chunk(layer: L.Chunk, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Chunk(layer.chunks, layer.index)


def _channel_shuffle(layer: L.ChannelShuffle, in_shape: L.Shape, out_shape: L.Shape
                     ) -> nn.Module:
    return nn.ChannelShuffle(layer.groups)


class Crop(nn.Module):
    """`x[:, :, top:H - bottom, left:W - right]`: the sides removed (a view)."""

    cnncalc_kind = "crop"  # cnncalc import reads it back (importer.fx.BUILT)

    def __init__(self, amounts: tuple[int, int, int, int]):
        super().__init__()
        self.amounts = amounts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom, left, right = self.amounts
        return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]

    def extra_repr(self) -> str:
        return f"top, bottom, left, right={self.amounts}"


def _crop(layer: L.Crop, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Crop(L.explicit_padding(layer.amount))


def _add(layer: L.Add, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Add()


def _concat(layer: L.Concat, in_shape: L.Shape, out_shape: L.Shape) -> nn.Module:
    return Concat()


#: One builder per layer kind (the model classes of `layers.KINDS` and `layers.MERGES`; aliases
#: such as maxpool or relu share their model's builder). A test checks that every kind has one.
BUILDERS: dict[type[L.Layer], Builder] = {
    L.Conv: _conv,
    L.Depthwise: _depthwise,
    L.Separable: _separable,
    L.Pool: _pool,
    L.AdaptivePool: _adaptive_pool,
    L.GlobalPool: _global_pool,
    L.Pad: _pad,
    L.Flatten: _flatten,
    L.Dense: _dense,
    L.ChannelDense: _channel_dense,
    L.Activation: _activation,
    L.BatchNorm: _batchnorm,
    L.Dropout: _dropout,
    L.LayerNorm: _layernorm,
    L.LayerScale: _layer_scale,
    L.StochasticDepth: _stochastic_depth,
    L.SqueezeExcite: _se,
    L.ConvTranspose: _conv_transpose,
    L.Upsample: _upsample,
    L.Chunk: _chunk,
    L.ChannelShuffle: _channel_shuffle,
    L.Crop: _crop,
    L.Add: _add,
    L.Concat: _concat,
}


# --------------------------------------------------------------------------- containers

class _Graph:
    """What the rows of one network share during a forward pass: the outputs that `from:`
    reads and the network's outputs, by path (`input`: the network's input). Not a module:
    it holds no state between passes. A stored output that is not an output of the network
    is let go once its last reader has run (`release`), so that it is freed then, as
    `analyses.memory` counts."""

    def __init__(self, keep: set[str]):
        self.keep = keep
        self.store: dict[str, torch.Tensor] = {}
        #: run training-only rows in eval mode too (`measure` counts them this way)
        self.all_rows = False
        #: reader path -> the stored paths it is the last to read, when every row runs
        #: (training) and when training-only rows are skipped (eval)
        self.release: dict[bool, dict[str, list[str]]] = {True: {}, False: {}}
        #: the paths stored when every row runs, and when training-only rows are skipped
        #: (an output read only by an auxiliary head is not kept at inference)
        self.needed: dict[bool, set[str]] = {True: set(keep), False: set(keep)}

    def done(self, path: str, every: bool) -> None:
        """Let go of what the row at `path` was the last to read."""
        for stored in self.release[every].get(path, ()):
            self.store.pop(stored, None)

    def put(self, path: str, tensor: torch.Tensor, every: bool) -> None:
        if path in self.needed[every]:
            self.store[path] = tensor

    def keeper(self, path: str) -> Callable[..., None]:
        """A forward hook that keeps a module's output under its path."""
        def keep(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            self.put(path, output, module.training or self.all_rows)
        return keep


@dataclass(frozen=True, slots=True)
class _Step:
    """How a container runs one child: its module name and path, the paths `from:` feeds it
    (none: the tensor before it), whether it runs only in training."""

    name: str
    path: str
    sources: tuple[str, ...] = ()
    training_only: bool = False


class Container(nn.Module):
    """A block: children by position or name (`net["layer1"][0]["conv1"]`)."""

    _cnncalc_graph: _Graph

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        # A child whose parameter is saved under the child's own path (LayerScale: ConvNeXt's
        # `features.1.0.layer_scale`) gets that key as its parameter's: torch hands a child
        # only the keys below `<child>.`, and would leave this one to no module.
        for name, child in self._modules.items():
            inner = getattr(child, "cnncalc_bare_parameter", None)
            key = prefix + name
            if inner is not None and key in state_dict and f"{key}.{inner}" not in state_dict:
                state_dict[f"{key}.{inner}"] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args)

    def __getitem__(self, key: int | str) -> nn.Module:
        if isinstance(key, str):
            return self._modules[key]  # type: ignore[return-value]
        return list(self._modules.values())[key]  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._modules)

    #: where `from: input` of the rows inside finds this block's input (None: not read)
    _cnncalc_input: str | None = None

    def _run(self, steps: list[_Step], x: torch.Tensor) -> torch.Tensor:
        graph = self._cnncalc_graph
        every = self.training or graph.all_rows
        if self._cnncalc_input is not None:
            graph.put(self._cnncalc_input, x, every)
        for step in steps:
            if step.training_only and not every:
                continue  # an auxiliary head; what follows reads with from:
            module = self._modules[step.name]
            if step.sources:
                x = module(*(graph.store[path] for path in step.sources))  # type: ignore[misc]
            else:
                x = module(x)  # type: ignore[misc]
            graph.done(step.path, every)
        return x


class Sequence(Container):
    """Children applied in order (a seq, a repeat, a block whose body is a list of layers);
    a child with `from:` reads the outputs it names instead."""

    def __init__(self, children: list[tuple[_Step, nn.Module]], graph: _Graph):
        super().__init__()
        for step, child in children:
            self.add_module(step.name, child)
        self._cnncalc_steps = [step for step, _ in children]
        self._cnncalc_graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self._cnncalc_steps, x)


class Network(Sequence):
    """The whole spec. `report` is the engine's Report it was built from. Its forward pass
    returns the output, or a tuple of the outputs when the spec has several (in eval mode,
    training-only outputs are left out)."""

    report: Report

    def forward(self, x: torch.Tensor) -> Any:
        graph = self._cnncalc_graph
        graph.store = {"input": x}
        try:
            last = self._run(self._cnncalc_steps, x)
            every = self.training or graph.all_rows
            outputs = [graph.store.get(node.path, last) for node in self.report.outputs
                       if every or not node.training_only]
        finally:
            graph.store = {}
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


class Residual(Container):
    """Body layers in order, the shortcut (identity when absent), the `add` merge, then the
    post-activation. Children are registered under the engine's names."""

    def __init__(self, body: list[tuple[_Step, nn.Module]], shortcut: tuple[str, nn.Module] | None,
                 merge: tuple[str, nn.Module], post: list[tuple[str, nn.Module]], graph: _Graph):
        super().__init__()
        for name, child in [*((s.name, m) for s, m in body),
                            *([shortcut] if shortcut else []), merge, *post]:
            self.add_module(name, child)
        self._cnncalc_body = [step for step, _ in body]
        self._cnncalc_shortcut = shortcut[0] if shortcut else None
        self._cnncalc_merge = merge[0]
        self._cnncalc_post = [name for name, _ in post]
        self._cnncalc_graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The body's and the shortcut's outputs are arguments of the merge, never names: both
        # are freed when it returns (the block's input lives until the block returns).
        out = self._modules[self._cnncalc_merge](  # type: ignore[misc]
            self._run(self._cnncalc_body, x),
            x if self._cnncalc_shortcut is None else
            self._modules[self._cnncalc_shortcut](x))  # type: ignore[misc]
        for name in self._cnncalc_post:
            out = self._modules[name](out)  # type: ignore[misc]
        return out


class Parallel(Container):
    """Every branch on the same input (or, with `split`, each on its part of the channels:
    torch's `x.split(sizes, 1)`), the merge (`concat` or `add`), the post-activation."""

    def __init__(self, branches: list[tuple[str, nn.Module]], merge: tuple[str, nn.Module],
                 post: list[tuple[str, nn.Module]], graph: _Graph,
                 split: list[int] | None = None):
        super().__init__()
        for name, child in [*branches, merge, *post]:
            self.add_module(name, child)
        self._cnncalc_branches = [name for name, _ in branches]
        self._cnncalc_merge = merge[0]
        self._cnncalc_post = [name for name, _ in post]
        self._cnncalc_graph = graph
        self.split = split

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = None if self.split is None else x.split(self.split, 1)
        # parts by index, not by iterating: torch.fx (cnncalc import) cannot iterate a split;
        # the branches' outputs are the merge's arguments only: freed when it returns
        out = self._modules[self._cnncalc_merge](*[  # type: ignore[misc]
            self._modules[name](x if split is None else split[index])  # type: ignore[misc]
            for index, name in enumerate(self._cnncalc_branches)])
        del split
        for name in self._cnncalc_post:
            out = self._modules[name](out)  # type: ignore[misc]
        return out

    def extra_repr(self) -> str:
        return "" if self.split is None else f"split={self.split}"


def _container(node: Node) -> str:
    """How a group's children connect: "seq" (in order), "residual" or "parallel".

    The engine says it in `node.container`; a residual with `add: false` has no merge node
    and runs in order like a seq (its post-activation included).
    """
    if node.container == "parallel":
        return "parallel"
    if node.container == "residual" and any(c.is_merge for c in node.children or []):
        return "residual"
    return "seq"


class _Builder:
    def __init__(self, report: Report):
        self.report = report
        keep = {path for node in report.walk() for path in node.sources}
        outputs = {node.path for node in report.outputs}
        self.graph = _Graph(keep | outputs)
        for every in (True, False):  # the last reader of each stored output that runs
            last: dict[str, str] = {}
            for node in report.walk():
                if every or not node.training_only:
                    last.update((path, node.path) for path in node.sources)
            self.graph.needed[every] = set(last) | outputs
            for path, reader in last.items():
                if path not in outputs:
                    self.graph.release[every].setdefault(reader, []).append(path)

    def named(self, nodes: list[Node]) -> list[tuple[str, nn.Module]]:
        return [(node.name, self.module(node)) for node in nodes]

    def steps(self, nodes: list[Node]) -> list[tuple[_Step, nn.Module]]:
        return [(_Step(node.name, node.path, tuple(node.sources), node.training_only),
                 self.module(node)) for node in nodes]

    def module(self, node: Node) -> nn.Module:
        try:
            module = self._module(node)
        except CnnCalcError as exc:
            raise exc.located(file=self.report.file or None, line=node.line,
                              layer=f"'{node.path}' ({node.kind})") from None
        if node.path in self.graph.keep:  # read later by from:, or an output: kept
            module.register_forward_hook(self.graph.keeper(node.path))
        return module

    def _module(self, node: Node) -> nn.Module:
        if node.children is None:
            builder = BUILDERS.get(type(node.layer))
            if builder is None:  # pragma: no cover - a test proves every kind has a builder
                raise CnnCalcError(f"the torch backend has no builder for {node.kind}")
            module = builder(node.layer, node.input_shape, node.output_shape)
            if not node.trainable:
                module.requires_grad_(False)
            return module
        children = node.children
        module = self._container_module(node, children)
        if f"{node.path}.input" in self.graph.keep:
            module._cnncalc_input = f"{node.path}.input"
        return module

    def _container_module(self, node: Node, children: list[Node]) -> Container:
        try:
            container = _container(node)
            if container == "seq":
                return Sequence(self.steps(children), self.graph)
            index = next(i for i, c in enumerate(children) if c.is_merge)
            before, merge, post = children[:index], children[index], children[index + 1:]
            built_merge = (merge.name, self.module(merge))
            if container == "parallel":
                return Parallel(self.named(before), built_merge, self.named(post), self.graph,
                                merge.split)
            shortcut = None
            if before and before[-1].container == "shortcut":
                shortcut = (before[-1].name, self.module(before[-1]))
                before = before[:-1]
            return Residual(self.steps(before), shortcut, built_merge, self.named(post),
                            self.graph)
        except (KeyError, TypeError) as exc:  # add_module refuses a name
            raise CnnCalcError(f"a layer name cannot be a torch module name here: {exc}") \
                from None


def build(spec_or_report: Spec | Report | str, input_shape: L.Shape | None = None) -> Network:
    """A `torch.nn.Module` for a spec (a Spec, a bundled name or path, or an engine Report).

    Parameters are created on torch's current default device and dtype: build inside
    `with torch.device("meta"):` to allocate nothing. Layers marked `trainable: false` have
    `requires_grad = False`. The module's input is N x C x H x W (or N x C for a vector spec).
    """
    from .core.engine import analyze
    from .core.source import load

    if isinstance(spec_or_report, str):
        spec_or_report = load(spec_or_report)
    if isinstance(spec_or_report, Report):
        report = spec_or_report
        if input_shape is not None and tuple(input_shape) != report.input_shape:
            raise CnnCalcError("build(): input_shape is fixed by the Report; analyse the spec "
                               "again with the new input instead")
    else:
        report = analyze(spec_or_report, input_shape)
    builder = _Builder(report)
    try:
        network = Network(builder.steps(report.nodes), builder.graph)
    except (KeyError, TypeError) as exc:
        raise CnnCalcError(f"a layer name cannot be a torch module name here: {exc}") from None
    network.report = report
    return network


# --------------------------------------------------------------------------- torch's count

def _params(module: nn.Module) -> tuple[int, int]:
    params = list(module.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad))


def _buffers(module: nn.Module) -> int:
    # num_batches_tracked is a scalar step counter, not model state (CONVENTIONS.md).
    return sum(b.numel() for name, b in module.named_buffers()
               if not name.endswith("num_batches_tracked"))


def _shape_of(output: Any) -> tuple[int, ...] | None:
    return tuple(output.shape) if isinstance(output, torch.Tensor) else None


def device_of(name: str) -> torch.device:
    """A torch device by name; CnnCalcError when it is cuda and torch sees no GPU."""
    if name == "cuda" and not torch.cuda.is_available():
        raise CnnCalcError("--device cuda: torch sees no CUDA GPU here (torch.cuda.is_available() "
                           "is False; is this a CPU-only build of torch?); use --device cpu or "
                           "--device meta")
    return torch.device(name)


def dtype_of(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise CnnCalcError(f"--dtype {name}: torch runs fp32, fp16 or bf16 here")
    return DTYPES[name]


def example_input(report: Report, device: str | torch.device = "cpu",
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A random input batch of the report's batch size and input shape, NCHW."""
    return torch.randn(torch_shape(report.input_shape, report.batch), device=device,
                       dtype=dtype)


def measure(report: Report, device: str = "cpu", dtype: str = "fp32",
            module: nn.Module | None = None,
            step: Callable[[int, int], None] | None = None) -> Measurement:
    """Build the module on `device` (unless given), run one forward pass at the report's batch
    size in eval mode, and return torch's count per engine path and in total.

    Output shapes come from forward hooks; MACs are `FlopCounterMode` FLOPs of each module
    (its children included) halved; params are `p.numel()` summed over `parameters()`;
    buffers exclude `num_batches_tracked`. The total's shape is a tuple of shapes when the
    network has several outputs at inference. Training-only rows (auxiliary heads), which an
    eval-mode pass skips, are measured by a second pass that runs them too (still in eval
    mode): their shapes and MACs per row, and their MACs together in `training_only_macs`.
    `step(done, total)` is called as each measured row finishes, for a progress display.
    """
    from torch.utils.flop_counter import FlopCounterMode

    where, kind = device_of(device), dtype_of(dtype)
    if module is None:
        with where:
            module = build(report)
    module = module.to(device=where, dtype=kind).eval()
    modules = dict(module.named_modules())
    shapes: dict[str, tuple[int, ...] | None] = {}
    handles = []

    done = [0]

    def recorder(path: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            shapes[path] = _shape_of(output)
            if step is not None:
                done[0] += 1
                step(done[0], len(handles) * (2 if aux else 1))
        return hook

    for node in report.walk():
        if node.path in modules:
            handles.append(modules[node.path].register_forward_hook(recorder(node.path)))
    x = example_input(report, where, kind)
    graph = getattr(module, "_cnncalc_graph", None)
    aux = graph is not None and any(node.training_only for node in report.nodes)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            output = module(x)
        flops = counter.get_flop_counts()
        extra = 0
        if aux:
            assert graph is not None
            graph.all_rows = True
            try:
                with torch.no_grad(), FlopCounterMode(display=False) as every:
                    module(x)
            finally:
                graph.all_rows = False
            flops = every.get_flop_counts()
            extra = every.get_total_flops() // 2 - counter.get_total_flops() // 2
    finally:
        for handle in handles:
            handle.remove()
    root = type(module).__name__
    layers: dict[str, Measured] = {}
    for node in report.walk():
        found = modules.get(node.path)
        if found is None or not node.path:
            continue
        params, trainable = _params(found)
        layers[node.path] = Measured(
            shape=shapes.get(node.path), params=params, trainable_params=trainable,
            buffers=_buffers(found),
            macs=sum(flops.get(f"{root}.{node.path}", {}).values()) // 2)
    params, trainable = _params(module)
    shape = _shape_of(output) if not isinstance(output, tuple) else tuple(
        _shape_of(part) for part in output)
    total = Measured(shape=shape, params=params, trainable_params=trainable,  # type: ignore
                     buffers=_buffers(module), macs=counter.get_total_flops() // 2)
    return Measurement(layers=layers, total=total, device=str(where), dtype=dtype,
                       training_only_macs=extra if aux else None)


def time_forward(module: nn.Module, x: torch.Tensor, runs: int, warmup: int = 3,
                 step: Callable[[], None] | None = None) -> list[float]:
    """Seconds per forward pass over `runs` timed passes after `warmup` untimed ones (no
    gradients; synchronised on GPU so that a time covers the kernels, not their launch).
    `step` is called after each pass (warm-up included), for a progress display."""
    cuda = x.device.type == "cuda"
    times = []
    module.eval()
    with torch.no_grad():
        for index in range(warmup + runs):
            if cuda:
                torch.cuda.synchronize(x.device)
            start = time.perf_counter()
            module(x)
            if cuda:
                torch.cuda.synchronize(x.device)
            if index >= warmup:
                times.append(time.perf_counter() - start)
            if step is not None:
                step()
    return times


def paths(module: nn.Module) -> Iterator[str]:
    """The dotted names of every module below `module` (as `named_modules()`, root excluded)."""
    return (name for name, _ in module.named_modules() if name)


# --------------------------------------------------------------------------- importing

def to_spec(module: nn.Module, input_shape: L.Shape = (224, 224, 3), name: str | None = None,
            description: str = "") -> str:
    """The YAML text of a spec of `module` on an input of `input_shape` (HxWxC or a vector),
    traced with torch.fx and checked against the module (every row's shape, params, buffers:
    a difference is a CnnCalcError). Its rows are named as the module's, so
    `build(spec).load_state_dict(module.state_dict())` loads (see `cnncalc.importer`)."""
    from .importer.fx import to_spec as trace_to_spec

    return trace_to_spec(module, tuple(input_shape), name=name, description=description)


def program_to_spec(path: str | Any, input_shape: L.Shape | None = None,
                    name: str | None = None) -> str:
    """The YAML text of a spec of a saved `torch.export` program (`.pt2`)."""
    from .importer.aten import program_to_spec as convert

    return convert(path, input_shape, name=name)


__all__ = ["BUILDERS", "FUNCTIONS", "Network", "build", "measure", "time_forward",
           "example_input", "device_of", "dtype_of", "to_spec", "program_to_spec"]
