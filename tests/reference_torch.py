"""A reference builder of the tests' own: spec text -> a plain torch model, never through cnncalc.

The differential tests used to build their torch modules with `cnncalc.torch.build`, so a
builder bug that agreed with an engine bug passed. This module is the second, independent
reading of the spec language: it takes the YAML text (parsed with `yaml.safe_load`, not with
cnncalc's loader, parser, engine or torch backend; nothing here imports cnncalc) and builds a
model from plain `torch.nn` and `torch.nn.functional`, written from the README's "spec format"
section and CONVENTIONS.md:

- padding: `valid` 0; an integer; `[h, w]`; `[top, bottom, left, right]`; `same` = TensorFlow's
  rule: `ceil(n / s)` outputs, the total padding split with the extra row/column bottom/right.
  Convolutions always pad explicitly (`F.pad`) and then run `F.conv2d` with no padding.
- pooling: with symmetric padding (at most half the kernel) it is torch's own `F.max_pool2d` /
  `F.avg_pool2d` (padding, `ceil_mode`). Otherwise a windowed reduction written here that
  generalises torch's rule to asymmetric padding: outputs
  `floor((n + p_before + p_after - f + (s - 1 if ceil_mode)) / s) + 1`, and with ceil_mode a
  last window that starts past the input and its leading padding is dropped; max ignores
  padding (-inf); average divides by the window clipped to input + declared padding (torch's
  `count_include_pad=True`: declared padding counts, the overhang past it does not).
  `pool_by_hand` is checked against torch's own pooling on symmetric cases by the tests.
- adaptive pooling: torch's own `F.adaptive_avg_pool2d` / `F.adaptive_max_pool2d` for any target
  size (a larger one repeats positions); the README's lecture window is torch's when
  `n mod out` is 0 or 1.
- layernorm: `F.layer_norm` over the channels of each position (torchvision's LayerNorm2d:
  channels last and back), over the features of a vector; layer_scale: a (C, 1, 1) parameter
  (C on a vector) times the input, as ConvNeXt's; stochastic_depth: the identity in eval mode.
- channel_dense: `F.linear` over the channels of each position (channels last and back),
  weight (units, C) as torch's `nn.Linear`; it needs a feature map.
- global pooling: mean/max over H and W; a vector of C, or N x C x 1 x 1 with `keepdims`.
- flatten: torch's (C, H, W) order, as the README documents ("H·W·C (torch's order)").
- depthwise: groups = channels, `multiplier` outputs per channel (torch's grouped order);
  separable: depthwise without bias, then 1x1 to `filters` with the bias and the activation.
- se: torchvision's SqueezeExcitation (mean, 1x1 conv + bias, activation, 1x1 conv + bias,
  gate, multiply); softmax runs over the channels (dim 1); leaky_relu's slope defaults to 0.01.
- conv_transpose: `F.conv_transpose2d` with weight (c_in, c_out / groups, f_h, f_w), torch's
  own padding and output_padding (symmetric `padding`: an integer or [h, w]); the output is
  checked against `(n - 1) s - 2p + d (f - 1) + output_padding + 1`, output_padding below the
  stride or the dilation.
- upsample: `F.interpolate` to the size `n * factor` (or the given `size`), nearest or bilinear
  with align_corners false; exactly one of `factor` and `size`.
- crop: `F.pad` with the amounts negated (an integer, `[h, w]` or `[top, bottom, left, right]`,
  read as pad's padding); something of the input must be left.
- residual: body, shortcut (identity when absent), add (shapes must be equal: no
  broadcasting), post-activation; parallel: every branch on the input, concat (dim 1) or add;
  with `split: n` branch i gets `x.chunk(n, 1)[i]`, with `split: [sizes]` `x.split(sizes, 1)`.
- chunk: `x.chunk(chunks, 1)[index]`; channel_shuffle: reshape to (N, g, C/g, ...), swap the
  two channel axes, reshape back.
- taps: an entry with `from:` reads the output of the named row: a name of the enclosing lists
  (innermost first), then `.child` parts down its path; `input` is the input of the list the
  entry is in (the model's input at the top). `add` and
  `concat` as entries join the rows `from:` lists. Every row's output is kept by path during a
  forward pass (`STORE`). The outputs: `outputs:` (names or paths) or every row nothing reads
  (the rows before the last of each list that no later row reads, and the last row), in order
  of the rows' starts. `training_only: true` rows run only in training mode (or with
  `ALL_ROWS`); taps are supported in lists (seq, repeat, branches, the top), not inside a
  residual's body.

Module names follow the README's paths (`<kind><n>` per kind among siblings unless `name:`;
`0..n-1` under a repeat; `shortcut` (or the name of a shortcut written as one named layer or
seq), `add` and the activation's name in a residual; a whole-number name is its digits;
`branch1..n`, `concat`/`add` in a parallel), so that a test can compare node by node. Each
leaf holds its parameters directly, in torch's usual order (weight, bias; separable:
depthwise weight, pointwise weight, pointwise bias; se: fc1 weight, bias, fc2 weight, bias).

Only literal values are supported: `blocks:`, `vars:` and `$` expressions raise
NotImplementedError. A spec the language refuses raises SpecError (or torch's own error).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

COMMON = ("name", "repeat", "when", "trainable", "scale", "from", "training_only")
REQUIRED = object()


class SpecError(ValueError):
    """The spec is not valid in the spec language (as the reference reads it)."""


# --------------------------------------------------------------------------- activations

def _leaky(x: torch.Tensor, slope: float | None) -> torch.Tensor:
    return F.leaky_relu(x, 0.01 if slope is None else slope)


FUNCTIONS: dict[str, Callable[[torch.Tensor, float | None], torch.Tensor]] = {
    "relu": lambda x, _: F.relu(x),
    "relu6": lambda x, _: F.relu6(x),
    "leaky_relu": _leaky,
    "tanh": lambda x, _: torch.tanh(x),
    "sigmoid": lambda x, _: torch.sigmoid(x),
    "silu": lambda x, _: F.silu(x),
    "swish": lambda x, _: F.silu(x),
    "hardswish": lambda x, _: F.hardswish(x),
    "hardsigmoid": lambda x, _: F.hardsigmoid(x),
    "gelu": lambda x, _: F.gelu(x),
    "softmax": lambda x, _: torch.softmax(x, dim=1),  # channels of NCHW, features of N x C
}


def apply(function: str | None, x: torch.Tensor, slope: float | None = None) -> torch.Tensor:
    return x if function is None else FUNCTIONS[function](x, slope)


# --------------------------------------------------------------------------- the language

#: Each kind's fields and defaults (README "Layer kinds"), and what a bare value or a list
#: fills. Lists fill several fields only where the README lists several ("filters, kernel,
#: stride, padding"); for the others a list is the first field's value (`adaptive_pool: [2, 3]`),
#: except where that reading is ambiguous (a size list for pool/depthwise), which is refused.
_WINDOW = {"kernel": REQUIRED, "stride": 1, "padding": 0, "dilation": 1, "bias": True,
           "activation": None}
FIELDS: dict[str, dict[str, Any]] = {
    "conv": {"filters": REQUIRED, **_WINDOW, "groups": 1},
    "depthwise": {**_WINDOW, "multiplier": 1},
    "separable": {"filters": REQUIRED, **_WINDOW, "multiplier": 1},
    "pool": {"mode": "max", "kernel": REQUIRED, "stride": None, "padding": 0,
             "ceil_mode": False},
    "adaptive_pool": {"mode": "avg", "size": REQUIRED},
    "global_pool": {"mode": "avg", "keepdims": False},
    "pad": {"padding": REQUIRED, "mode": "zeros"},
    "flatten": {},
    "dense": {"units": REQUIRED, "bias": True, "activation": None},
    "channel_dense": {"units": REQUIRED, "bias": True, "activation": None},
    "batchnorm": {"eps": 1e-5, "momentum": 0.1, "affine": True},
    "dropout": {"rate": 0.5},
    "layernorm": {"eps": 1e-5, "affine": True},
    "layer_scale": {"init": 1e-6},
    "stochastic_depth": {"rate": REQUIRED, "mode": "row"},
    "se": {"squeeze": REQUIRED, "activation": "relu", "gate": "sigmoid"},
    "activation": {"function": REQUIRED, "negative_slope": None, "approximate": None},
    "conv_transpose": {"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": 0,
                       "output_padding": 0, "groups": 1, "dilation": 1, "bias": True,
                       "activation": None},
    "upsample": {"factor": None, "size": None, "mode": "nearest"},
    "chunk": {"chunks": REQUIRED, "index": 0},
    "channel_shuffle": {"groups": REQUIRED},
    "crop": {"amount": REQUIRED},
}
LIST_FIELDS = {"conv": ("filters", "kernel", "stride", "padding"),
               "chunk": ("chunks", "index"),
               "conv_transpose": ("filters", "kernel", "stride", "padding"),
               "separable": ("filters", "kernel", "stride", "padding")}
FIRST_FIELD = {"depthwise": "kernel", "pool": "kernel", "adaptive_pool": "size",
               "global_pool": "mode", "pad": "padding", "dense": "units",
               "channel_dense": "units", "dropout": "rate",
               "layer_scale": "init", "stochastic_depth": "rate",
               "se": "squeeze", "activation": "function", "upsample": "factor",
               "channel_shuffle": "groups", "crop": "amount"}
AMBIGUOUS_LISTS = ("depthwise", "pool", "pad")

#: Spec names that are another kind with a field fixed.
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "maxpool": ("pool", {"mode": "max"}),
    "avgpool": ("pool", {"mode": "avg"}),
    **{name: ("activation", {"function": name}) for name in FUNCTIONS},
}

#: Every leaf kind name the reference understands (a test compares it with cnncalc's KINDS).
LEAF_KINDS = frozenset(FIELDS) | frozenset(ALIASES)
JOINS = ("add", "concat")
CONTAINERS = ("seq", "residual", "parallel")


def pair(value: Any) -> tuple[int, int]:
    if isinstance(value, bool):
        raise SpecError(f"expected a size, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, list) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise SpecError(f"expected an integer or [height, width], got {value!r}")


def explicit(padding: Any) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of an integer, [h, w] or [top, bottom, left, right]."""
    if isinstance(padding, bool):
        raise SpecError(f"bad padding {padding!r}")
    if isinstance(padding, int):
        values = [padding] * 4
    elif isinstance(padding, list) and len(padding) == 2:
        values = [padding[0], padding[0], padding[1], padding[1]]
    elif isinstance(padding, list) and len(padding) == 4:
        values = list(padding)
    else:
        raise SpecError(f"bad padding {padding!r}")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        raise SpecError(f"bad padding {padding!r}")
    return (values[0], values[1], values[2], values[3])


def same_split(n: int, f: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's "same": ceil(n / s) outputs; the odd row/column goes after."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (f - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def paddings(padding: Any, hw: tuple[int, int], kernel: tuple[int, int],
             stride: tuple[int, int], dilation: tuple[int, int] = (1, 1)
             ) -> tuple[int, int, int, int]:
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        top, bottom = same_split(hw[0], kernel[0], stride[0], dilation[0])
        left, right = same_split(hw[1], kernel[1], stride[1], dilation[1])
        return (top, bottom, left, right)
    return explicit(padding)


def _no_expressions(value: Any) -> None:
    if isinstance(value, str) and value.startswith("$"):
        raise NotImplementedError(f"the reference reads literal values only, not {value!r}")
    if isinstance(value, list):
        for item in value:
            _no_expressions(item)
    if isinstance(value, dict):
        for item in value.values():
            _no_expressions(item)


def read_entry(raw: Any) -> tuple[str, Any, dict[str, Any]]:
    """(kind as written, its value, the common fields) of one item of a layer list."""
    if isinstance(raw, str):
        return raw, None, {}
    if not isinstance(raw, dict):
        raise SpecError(f"not a layer: {raw!r}")
    common = {k: raw[k] for k in COMMON if k in raw}
    if "kind" in raw:
        return raw["kind"], {k: v for k, v in raw.items()
                             if k not in COMMON and k != "kind"}, common
    others = [k for k in raw if k not in COMMON]
    if len(others) != 1:
        raise SpecError(f"one kind per layer, got {others}")
    return others[0], raw[others[0]], common


def leaf_fields(kind: str, value: Any) -> tuple[str, dict[str, Any]]:
    """The base kind and every field (defaults filled) of a leaf written as `kind: value`."""
    base, fixed = ALIASES.get(kind, (kind, {}))
    if base not in FIELDS:
        raise SpecError(f"unknown kind {kind!r}")
    schema = FIELDS[base]
    if value is None:
        given: dict[str, Any] = {}
    elif isinstance(value, dict):
        given = dict(value)
    elif isinstance(value, list) and base in LIST_FIELDS:
        if len(value) > len(LIST_FIELDS[base]):
            raise SpecError(f"too many values for {kind}")
        given = dict(zip(LIST_FIELDS[base], value, strict=False))
    elif isinstance(value, list) and base in AMBIGUOUS_LISTS:
        raise NotImplementedError(f"{kind}: a list short form is ambiguous; use a mapping")
    elif base in FIRST_FIELD and not (base == "activation" and fixed):
        given = {FIRST_FIELD[base]: value}
    else:
        raise SpecError(f"{kind} takes no value")
    for key in given:
        if key not in schema or key in fixed:
            raise SpecError(f"{kind}: field {key!r} not allowed")
    fields = {**schema, **given, **fixed}
    missing = [k for k, v in fields.items() if v is REQUIRED]
    if missing:
        raise SpecError(f"{kind}: missing {missing}")
    if base == "activation":
        if fields["function"] not in FUNCTIONS:
            raise SpecError(f"unknown activation {fields['function']!r}")
        if fields["negative_slope"] is not None and fields["function"] != "leaky_relu":
            raise SpecError("negative_slope applies to leaky_relu only")
        if fields["approximate"] is not None and (fields["function"] != "gelu"
                                                  or fields["approximate"] not in ("none",
                                                                                   "tanh")):
            raise SpecError("approximate (none or tanh) applies to gelu only")
    return base, fields


# --------------------------------------------------------------------------- leaves

def _weight(*shape: int) -> nn.Parameter:
    return nn.Parameter(torch.zeros(*shape))


def _spatial(x: torch.Tensor, kind: str) -> tuple[int, int, int]:
    if x.dim() != 4:
        raise SpecError(f"{kind} needs a feature map, got {tuple(x.shape)}")
    return x.shape[1], x.shape[2], x.shape[3]


class Conv(nn.Module):
    """conv and depthwise: explicit zero padding, then F.conv2d without padding."""

    def __init__(self, c_in: int, c_out: int, groups: int, hw: tuple[int, int],
                 fields: dict[str, Any]):
        super().__init__()
        if c_in % groups or c_out % groups:
            raise SpecError(f"groups {groups} must divide {c_in} and {c_out}")
        self.kernel, self.stride = pair(fields["kernel"]), pair(fields["stride"])
        self.dilation, self.groups = pair(fields["dilation"]), groups
        self.pads = paddings(fields["padding"], hw, self.kernel, self.stride, self.dilation)
        self.function = fields["activation"]
        self.weight = _weight(c_out, c_in // groups, *self.kernel)
        self.bias = _weight(c_out) if fields["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom, left, right = self.pads
        x = F.pad(x, (left, right, top, bottom))
        y = F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return apply(self.function, y)


class SeparableConv(nn.Module):
    """Depthwise (no bias) then 1x1 to `filters` (bias, activation); parameters in that order."""

    def __init__(self, c_in: int, hw: tuple[int, int], fields: dict[str, Any]):
        super().__init__()
        c_mid = c_in * fields["multiplier"]
        self.kernel, self.stride = pair(fields["kernel"]), pair(fields["stride"])
        self.dilation, self.groups = pair(fields["dilation"]), c_in
        self.pads = paddings(fields["padding"], hw, self.kernel, self.stride, self.dilation)
        self.function = fields["activation"]
        self.depthwise_weight = _weight(c_mid, 1, *self.kernel)
        self.pointwise_weight = _weight(fields["filters"], c_mid, 1, 1)
        self.pointwise_bias = _weight(fields["filters"]) if fields["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom, left, right = self.pads
        x = F.pad(x, (left, right, top, bottom))
        x = F.conv2d(x, self.depthwise_weight, None, self.stride, 0, self.dilation, self.groups)
        return apply(self.function, F.conv2d(x, self.pointwise_weight, self.pointwise_bias))


def pool_size(n: int, f: int, s: int, before: int, after: int, ceil_mode: bool) -> int:
    """Torch's pooling output size, generalised to unequal padding before/after."""
    out = (n + before + after - f + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + before:
        out -= 1  # the last window would start past the input and its leading padding
    return out


def pool_by_hand(x: torch.Tensor, mode: str, kernel: tuple[int, int], stride: tuple[int, int],
                 pads: tuple[int, int, int, int], ceil_mode: bool) -> torch.Tensor:
    """Max or average pooling over explicit windows (see the module docstring)."""
    top, bottom, left, right = pads
    h, w = x.shape[2], x.shape[3]
    ho = pool_size(h, kernel[0], stride[0], top, bottom, ceil_mode)
    wo = pool_size(w, kernel[1], stride[1], left, right, ceil_mode)
    if ho < 1 or wo < 1:
        raise SpecError(f"pooling gives {ho}x{wo}")
    # Rows/columns past the declared padding that the last windows reach (the overhang).
    over_h = max(0, (ho - 1) * stride[0] + kernel[0] - (h + top + bottom))
    over_w = max(0, (wo - 1) * stride[1] + kernel[1] - (w + left + right))
    spread = (left, right + over_w, top, bottom + over_h)
    if mode == "max":
        padded = F.pad(x, spread, value=-math.inf)
        windows = padded.unfold(2, kernel[0], stride[0]).unfold(3, kernel[1], stride[1])
        return windows[:, :, :ho, :wo].amax(dim=(-2, -1))
    padded = F.pad(x, spread)
    declared = F.pad(torch.ones(1, 1, h + top + bottom, w + left + right, dtype=x.dtype),
                     (0, over_w, 0, over_h))
    sums = padded.unfold(2, kernel[0], stride[0]).unfold(3, kernel[1], stride[1])
    counts = declared.unfold(2, kernel[0], stride[0]).unfold(3, kernel[1], stride[1])
    return sums[:, :, :ho, :wo].sum(dim=(-2, -1)) / counts[:, :, :ho, :wo].sum(dim=(-2, -1))


class Pool(nn.Module):
    def __init__(self, hw: tuple[int, int], fields: dict[str, Any]):
        super().__init__()
        if fields["mode"] not in ("max", "avg"):
            raise SpecError(f"pool mode {fields['mode']!r}")
        self.mode, self.ceil_mode = fields["mode"], fields["ceil_mode"]
        self.kernel = pair(fields["kernel"])
        self.stride = pair(fields["stride"] if fields["stride"] is not None else fields["kernel"])
        self.pads = paddings(fields["padding"], hw, self.kernel, self.stride)
        top, bottom, left, right = self.pads
        if fields["padding"] != "same" and (max(top, bottom) > self.kernel[0] // 2
                                            or max(left, right) > self.kernel[1] // 2):
            raise SpecError("pooling padding is at most half the kernel")
        self.native = (top == bottom and left == right and top <= self.kernel[0] // 2
                       and left <= self.kernel[1] // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.native:
            return pool_by_hand(x, self.mode, self.kernel, self.stride, self.pads,
                                self.ceil_mode)
        pool = F.max_pool2d if self.mode == "max" else F.avg_pool2d
        return pool(x, self.kernel, self.stride, (self.pads[0], self.pads[2]),
                    ceil_mode=self.ceil_mode)


class AdaptivePool(nn.Module):
    def __init__(self, fields: dict[str, Any]):
        super().__init__()
        self.mode, self.size = fields["mode"], pair(fields["size"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.adaptive_max_pool2d if self.mode == "max" else F.adaptive_avg_pool2d
        return pool(x, self.size)


class GlobalPool(nn.Module):
    def __init__(self, fields: dict[str, Any]):
        super().__init__()
        self.mode, self.keepdims = fields["mode"], fields["keepdims"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _spatial(x, "global_pool")
        if self.mode == "max":
            return x.amax(dim=(2, 3), keepdim=self.keepdims)
        return x.mean(dim=(2, 3), keepdim=self.keepdims)


class Pad(nn.Module):
    MODES = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect"}

    def __init__(self, fields: dict[str, Any]):
        super().__init__()
        self.pads = explicit(fields["padding"])
        self.mode = self.MODES[fields["mode"]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _spatial(x, "pad")
        top, bottom, left, right = self.pads
        return F.pad(x, (left, right, top, bottom), mode=self.mode)


class Crop(nn.Module):
    def __init__(self, fields: dict[str, Any]):
        super().__init__()
        self.cuts = explicit(fields["amount"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _spatial(x, "crop")
        top, bottom, left, right = self.cuts
        if top + bottom >= x.shape[2] or left + right >= x.shape[3]:
            raise SpecError(f"crop {self.cuts} leaves nothing of {tuple(x.shape[2:])}")
        return F.pad(x, (-left, -right, -top, -bottom))


class Flatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)  # NCHW: the (C, H, W) order


class Dense(nn.Module):
    def __init__(self, n_in: int, fields: dict[str, Any]):
        super().__init__()
        self.function = fields["activation"]
        self.weight = _weight(fields["units"], n_in)
        self.bias = _weight(fields["units"]) if fields["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply(self.function, F.linear(x, self.weight, self.bias))


class ChannelDense(nn.Module):
    """A Linear over the channels of each position: channels last, `F.linear`, back."""

    def __init__(self, c_in: int, fields: dict[str, Any]):
        super().__init__()
        self.function = fields["activation"]
        self.weight = _weight(fields["units"], c_in)
        self.bias = _weight(fields["units"]) if fields["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = apply(self.function, F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias))
        return out.permute(0, 3, 1, 2)


class Activation(nn.Module):
    def __init__(self, function: str, slope: float | None = None,
                 approximate: str | None = None):
        super().__init__()
        self.function, self.slope, self.approximate = function, slope, approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.function == "gelu":  # torch's nn.GELU(approximate=...), "none" by default
            return nn.GELU(approximate=self.approximate or "none")(x)
        return apply(self.function, x, self.slope)


class BatchNorm(nn.Module):
    """Inference batch norm from the running statistics (training uses the batch's)."""

    def __init__(self, channels: int, fields: dict[str, Any]):
        super().__init__()
        self.eps, self.momentum = fields["eps"], fields["momentum"]
        self.weight = _weight(channels) if fields["affine"] else None
        self.bias = _weight(channels) if fields["affine"] else None
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, self.momentum, self.eps)


class LayerNorm(nn.Module):
    """Over the channels of each position of N x C x H x W, over the features of N x C."""

    def __init__(self, channels: int, fields: dict[str, Any]):
        super().__init__()
        self.channels, self.eps = channels, fields["eps"]
        if isinstance(self.eps, bool) or not isinstance(self.eps, (int, float)) \
                or not self.eps > 0:
            raise SpecError(f"layernorm eps {self.eps!r}")
        self.weight = _weight(channels) if fields["affine"] else None
        self.bias = _weight(channels) if fields["affine"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return F.layer_norm(x, (self.channels,), self.weight, self.bias, self.eps)
        out = F.layer_norm(x.permute(0, 2, 3, 1), (self.channels,), self.weight, self.bias,
                           self.eps)
        return out.permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    def __init__(self, channels: int, dims: int, fields: dict[str, Any]):
        super().__init__()
        init = fields["init"]
        if isinstance(init, bool) or not isinstance(init, (int, float)):
            raise SpecError(f"layer_scale init {init!r}")
        self.scale = nn.Parameter(torch.full((channels, 1, 1) if dims == 4 else (channels,),
                                             float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


class StochasticDepth(nn.Module):
    def __init__(self, fields: dict[str, Any]):
        super().__init__()
        rate = fields["rate"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise SpecError(f"stochastic_depth rate {rate!r}")
        if fields["mode"] not in ("row", "batch"):
            raise SpecError(f"stochastic_depth mode {fields['mode']!r}")
        self.rate, self.mode = rate, fields["mode"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """torchvision.ops.stochastic_depth: eval is the identity; training keeps each row
        (or the batch) with probability 1 - rate and divides it by 1 - rate."""
        if not self.training or self.rate == 0:
            return x
        keep = 1.0 - self.rate
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype).bernoulli_(keep)
        return x * (noise / keep if keep > 0 else noise)


class Dropout(nn.Module):
    def __init__(self, rate: float):
        super().__init__()
        if not 0 <= rate < 1:
            raise SpecError(f"dropout rate {rate}")
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.rate, self.training)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, fields: dict[str, Any]):
        super().__init__()
        s = fields["squeeze"]
        self.function, self.gate = fields["activation"], fields["gate"]
        if self.gate not in ("sigmoid", "hardsigmoid"):
            raise SpecError(f"se gate {self.gate!r}")
        self.fc1_weight, self.fc1_bias = _weight(s, channels, 1, 1), _weight(s)
        self.fc2_weight, self.fc2_bias = _weight(channels, s, 1, 1), _weight(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        scale = apply(self.function, F.conv2d(scale, self.fc1_weight, self.fc1_bias))
        scale = apply(self.gate, F.conv2d(scale, self.fc2_weight, self.fc2_bias))
        return x * scale


class ConvTranspose(nn.Module):
    def __init__(self, c_in: int, hw: tuple[int, int], fields: dict[str, Any]):
        super().__init__()
        c_out, groups = fields["filters"], fields["groups"]
        if c_in % groups or c_out % groups:
            raise SpecError(f"groups {groups} must divide {c_in} and {c_out}")
        self.kernel, self.stride = pair(fields["kernel"]), pair(fields["stride"])
        self.dilation, self.groups = pair(fields["dilation"]), groups
        self.padding, self.output_padding = pair(fields["padding"]), pair(fields["output_padding"])
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= s and op >= d:
                raise SpecError("output_padding must be below the stride or the dilation")
        self.out_hw = tuple((n - 1) * s - 2 * p + d * (f - 1) + op + 1 for n, f, s, p, d, op in zip(
            hw, self.kernel, self.stride, self.padding, self.dilation, self.output_padding,
            strict=True))
        if min(self.out_hw) < 1:
            raise SpecError(f"conv_transpose gives {self.out_hw}")
        self.function = fields["activation"]
        self.weight = _weight(c_in, c_out // groups, *self.kernel)
        self.bias = _weight(c_out) if fields["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                               self.output_padding, self.groups, self.dilation)
        assert tuple(y.shape[2:]) == self.out_hw, (tuple(y.shape), self.out_hw)
        return apply(self.function, y)


class Upsample(nn.Module):
    def __init__(self, hw: tuple[int, int], fields: dict[str, Any]):
        super().__init__()
        if (fields["factor"] is None) == (fields["size"] is None):
            raise SpecError("upsample takes exactly one of factor and size")
        if fields["mode"] not in ("nearest", "bilinear"):
            raise SpecError(f"upsample mode {fields['mode']!r}")
        if fields["factor"] is not None:
            fh, fw = pair(fields["factor"])
            self.size = (hw[0] * fh, hw[1] * fw)
        else:
            self.size = pair(fields["size"])
        self.mode = fields["mode"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            return F.interpolate(x, size=self.size, mode="nearest")
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)


class Chunk(nn.Module):
    def __init__(self, c: int, fields: dict[str, Any]):
        super().__init__()
        self.chunks, self.index = fields["chunks"], fields["index"]
        if self.chunks < 2 or self.index >= len(torch.zeros(c).chunk(self.chunks)):
            raise SpecError(f"chunk {self.index} of {self.chunks} on {c} channels")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, 1)[self.index]


class ChannelShuffle(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        if groups < 2 or c % groups:
            raise SpecError(f"channel_shuffle {groups} on {c} channels")
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(
            n, c, h, w)


def make_leaf(base: str, fields: dict[str, Any], x: torch.Tensor) -> nn.Module:
    """The module of one leaf for the input `x` (a probe tensor of the right shape)."""
    if base == "chunk":
        return Chunk(x.shape[1], fields)
    if base == "channel_shuffle":
        _spatial(x, base)
        return ChannelShuffle(x.shape[1], fields["groups"])
    if base in ("conv", "depthwise", "separable", "pool", "adaptive_pool", "se",
                "conv_transpose", "upsample"):
        c, h, w = _spatial(x, base)
        if base == "conv_transpose":
            return ConvTranspose(c, (h, w), fields)
        if base == "upsample":
            return Upsample((h, w), fields)
        if base == "conv":
            return Conv(c, fields["filters"], fields["groups"], (h, w), fields)
        if base == "depthwise":
            return Conv(c, c * fields["multiplier"], c, (h, w), fields)
        if base == "separable":
            return SeparableConv(c, (h, w), fields)
        if base == "pool":
            return Pool((h, w), fields)
        if base == "adaptive_pool":
            return AdaptivePool(fields)
        return SqueezeExcite(c, fields)
    if base == "global_pool":
        return GlobalPool(fields)
    if base == "pad":
        return Pad(fields)
    if base == "crop":
        return Crop(fields)
    if base == "flatten":
        return Flatten()
    if base == "dense":
        if x.dim() != 2:
            raise SpecError("dense needs a vector (flatten or global_pool first)")
        return Dense(x.shape[1], fields)
    if base == "channel_dense":
        if x.dim() != 4:
            raise SpecError("channel_dense needs a feature map (a vector takes dense)")
        return ChannelDense(x.shape[1], fields)
    if base == "activation":
        return Activation(fields["function"], fields["negative_slope"], fields["approximate"])
    if base == "batchnorm":
        return BatchNorm(x.shape[1], fields)
    if base == "dropout":
        return Dropout(fields["rate"])
    if base == "layernorm":
        return LayerNorm(x.shape[1], fields)
    if base == "layer_scale":
        return LayerScale(x.shape[1], x.dim(), fields)
    if base == "stochastic_depth":
        return StochasticDepth(fields)
    raise SpecError(f"unknown kind {base!r}")  # pragma: no cover


# --------------------------------------------------------------------------- containers

#: Every row's output in the forward pass under way, by path (`input`: the model's input).
STORE: dict[str, torch.Tensor] = {}
#: Run training-only rows in eval mode too.
ALL_ROWS = [False]


class Seq(nn.Module):
    """Children in order (a seq, a repeat, a branch, a shortcut, the whole model); a child with
    `from:` reads the stored outputs of the paths it names."""

    def __init__(self) -> None:
        super().__init__()
        self._ref_paths: dict[str, str] = {}  # child name -> its path
        self._ref_sources: dict[str, list[str]] = {}
        self._ref_aux: set[str] = set()
        self._ref_input = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._ref_input:
            STORE[self._ref_input] = x
        for name, child in self.named_children():
            if name in self._ref_aux and not (self.training or ALL_ROWS[0]):
                continue
            if name in self._ref_sources:
                x = child(*(STORE[p] for p in self._ref_sources[name]))
            else:
                x = child(x)
            if name in self._ref_paths:
                STORE[self._ref_paths[name]] = x
        return x


class Reference(Seq):
    """The whole spec; input N x C x H x W (or N x n for a vector input). `input_shape` and
    `output_shape` are the spec's (H, W, C) or (n,), the output found by running torch;
    `outputs` the paths of the outputs; `training_only` the paths of training-only rows."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    outputs: list[str]
    training_only: list[str]

    def forward(self, x: torch.Tensor) -> Any:
        STORE.clear()
        STORE["input"] = x
        last = super().forward(x)
        every = self.training or ALL_ROWS[0]
        outs = [STORE.get(p, last) for p in self.outputs
                if every or not any(p == a or p.startswith(a + ".") for a in self.training_only)]
        STORE.clear()
        return outs[0] if len(outs) == 1 else tuple(outs)


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if any(x.shape != xs[0].shape for x in xs):
            raise SpecError(f"cannot add shapes {[tuple(x.shape) for x in xs]}")
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Residual(nn.Module):
    def __init__(self, body: list[tuple[str, nn.Module]],
                 shortcut: tuple[str, nn.Module] | None, add: bool,
                 post: tuple[str, nn.Module] | None):
        super().__init__()
        for name, module in body:
            self.add_module(name, module)
        self.body_names = [name for name, _ in body]
        self.has_add = add
        self.shortcut_name = shortcut[0] if shortcut is not None else None
        if shortcut is not None:
            self.add_module(*shortcut)
        if add:
            self.add = Add()
        self.post_name = post[0] if post else None
        if post:
            self.add_module(*post)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for name in self.body_names:
            out = self._modules[name](out)
        if self.has_add:
            short = x if self.shortcut_name is None else self._modules[self.shortcut_name](x)
            out = self.add(out, short)
        return out if self.post_name is None else self._modules[self.post_name](out)


class Parallel(nn.Module):
    def __init__(self, branches: list[tuple[str, nn.Module]], merge: str,
                 post: tuple[str, nn.Module] | None, split: list[int] | None = None):
        super().__init__()
        self.split = split
        for name, branch in branches:
            self.add_module(name, branch)
        self.branch_names = [name for name, _ in branches]
        self.count, self.merge_name = len(branches), merge
        self.add_module(merge, Add() if merge == "add" else Concat())
        self.post_name = post[0] if post else None
        if post:
            self.add_module(*post)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [x] * self.count if self.split is None else x.split(self.split, 1)
        outs = [self._modules[name](part) for name, part in zip(self.branch_names, parts,
                                                                strict=True)]
        out = self._modules[self.merge_name](*outs)
        return out if self.post_name is None else self._modules[self.post_name](out)


# --------------------------------------------------------------------------- the builder

def _post(function: Any, x: torch.Tensor) -> tuple[tuple[str, nn.Module] | None, torch.Tensor]:
    if function is None:
        return None, x
    if function not in FUNCTIONS:
        raise SpecError(f"unknown activation {function!r}")
    module = Activation(function)
    return (function, module), module(x)


def _entries(raw: Any) -> list[Any]:
    if raw is None or raw == "identity":
        return []
    if not isinstance(raw, list):
        raise SpecError(f"expected a list of layers, got {raw!r}")
    return raw


class _Graph:
    """What building needs for taps: each row's probe output by path, the lists' names in
    scope, which rows are read, which end nothing, and the order rows start in."""

    def __init__(self, x: torch.Tensor):
        self.probe: dict[str, torch.Tensor] = {"input": x}
        self.read: set[str] = set()
        self.ends: list[str] = []
        self.order: dict[str, int] = {}
        self.training_only: list[str] = []

    def resolve(self, ref: Any, scopes: list[dict[str, str]]) -> str:
        if not isinstance(ref, str):
            raise SpecError(f"from: {ref!r}")
        first, _, rest = ref.partition(".")
        for scope in reversed(scopes):
            if first in scope:
                path = scope[first] + ("." + rest if rest else "")
                if path not in self.probe:
                    raise SpecError(f"from: no row {ref!r}")
                return path
        raise SpecError(f"from: no earlier row {first!r}")


def build_list(items: list[Any], x: torch.Tensor, trainable: bool, into: nn.Module,
               graph: _Graph | None = None, prefix: str = "",
               scopes: list[dict[str, str]] | None = None,
               training_only: bool = False) -> torch.Tensor:
    """Add the entries of a layer list to `into` under their names; the probe's output."""
    graph = graph or _Graph(x)
    key = f"{prefix}.input" if prefix else "input"  # `from: input`: this list's input
    graph.probe[key] = x
    scope: dict[str, str] = {"input": key}
    scopes = [*(scopes or []), scope]
    if isinstance(into, Seq):
        into._ref_input = key
    taken = {str(item["name"]) for item in items if isinstance(item, dict) and "name" in item}
    counts: dict[str, int] = {}
    previous: str | None = None
    made: list[str] = []
    for item in items:
        kind, value, common = read_entry(item)
        if common.get("when", True) is False:
            continue
        name = common.get("name")
        if isinstance(name, int):  # `name: 0`: the README reads a whole number as its digits
            name = str(name)
        if name is None:
            while True:
                counts[kind] = counts.get(kind, 0) + 1
                name = f"{kind}{counts[kind]}"
                if name not in taken:
                    break
        if name in into._modules:
            raise SpecError(f"name {name!r} used twice")
        path = f"{prefix}.{name}" if prefix else name
        graph.order[path] = len(graph.order)
        aux = training_only or bool(common.get("training_only", False))
        sources: list[str] = []
        if "from" in common:
            refs = common["from"] if isinstance(common["from"], list) else [common["from"]]
            sources = [graph.resolve(r, scopes) for r in refs]
            if not isinstance(into, Seq):
                raise NotImplementedError("from: inside a residual body")
            into._ref_sources[name] = sources
            x = graph.probe[sources[0]]
        elif previous is not None:
            graph.read.add(previous)
        graph.read.update(sources)
        frozen = trainable if common.get("trainable") is None else common["trainable"]
        times = common.get("repeat")
        if kind in JOINS:
            if len(sources) < 2 or value is not None or times is not None:
                raise SpecError(f"{kind} as a layer joins from: [a, b, ...]")
            module: nn.Module = Add() if kind == "add" else Concat()
            x = module(*(graph.probe[p] for p in sources))
        elif times is None:
            module, x = build_entry(kind, value, x, frozen, graph, path, scopes, aux)
        else:
            module = Seq()
            for index in range(times):
                copy, x = build_entry(kind, value, x, frozen, graph, f"{path}.{index}", scopes,
                                      aux)
                module.add_module(str(index), copy)
                module._ref_paths[str(index)] = f"{path}.{index}"
                graph.probe[f"{path}.{index}"] = x
        into.add_module(name, module)
        if isinstance(into, Seq):
            into._ref_paths[name] = path
            if common.get("training_only"):
                into._ref_aux.add(name)
        if common.get("training_only") and not training_only:
            graph.training_only.append(path)
        graph.probe[path] = x
        scope[name] = path
        previous = path
        made.append(path)
    graph.ends.extend(made[:-1])
    return x


def build_entry(kind: str, value: Any, x: torch.Tensor, trainable: bool,
                graph: _Graph | None = None, path: str = "",
                scopes: list[dict[str, str]] | None = None,
                training_only: bool = False) -> tuple[nn.Module, torch.Tensor]:
    graph = graph or _Graph(x)

    def inner(items: list[Any], x: torch.Tensor, into: nn.Module, where: str) -> torch.Tensor:
        return build_list(items, x, trainable, into, graph, where, scopes, training_only)

    if kind == "seq":
        module: nn.Module = Seq()
        return module, inner(_entries(value), x, module, path)
    if kind == "residual":
        body = Seq()
        out = inner(_entries(value["body"]), x, body, path)
        if body._ref_sources:
            raise NotImplementedError("from: inside a residual body")
        add = value.get("add", True)
        shortcut = None
        if add:
            # README, Paths: a shortcut written as one named layer or seq (no repeat) is that
            # row itself (`PATH.NAME`); any other shortcut sits inside a row `PATH.shortcut`
            items = _entries(value.get("shortcut"))
            own = (len(items) == 1 and isinstance(items[0], dict) and "name" in items[0]
                   and "repeat" not in items[0]
                   and read_entry(items[0])[0] not in ("residual", "parallel"))
            holder = Seq()
            short = inner(items, x, holder, path if own else f"{path}.shortcut")
            if len(holder._modules):
                shortcut = next(iter(holder._modules.items())) if own else ("shortcut", holder)
            out = Add()(out, short)
        post, out = _post(value.get("activation"), out)
        module = Residual(list(body.named_children()), shortcut, bool(add), post)
    elif kind == "parallel":
        branches, outs = [], []
        if not isinstance(value.get("branches"), list) or len(value["branches"]) < 2:
            raise SpecError("parallel needs at least two branches")
        count = len(value["branches"])
        split = value.get("split")
        sizes = None
        if split is not None:
            if x.dim() < 2:
                raise SpecError("split needs channels")
            sizes = ([part.shape[1] for part in x.chunk(split, 1)] if isinstance(split, int)
                     else list(split))
            if len(sizes) != count or sum(sizes) != x.shape[1] or split == 0:
                raise SpecError(f"split {split!r} of {x.shape[1]} channels, {count} branches")
        parts = [x] * count if sizes is None else list(x.split(sizes, 1))
        for index, raw in enumerate(value["branches"]):
            # README, Paths: a branch written as one named layer or seq (no repeat) is that
            # row itself (`PATH.NAME`); any other branch sits inside a row `PATH.branchN`
            items = _entries(raw)
            own = (len(items) == 1 and isinstance(items[0], dict) and "name" in items[0]
                   and "repeat" not in items[0]
                   and read_entry(items[0])[0] not in ("residual", "parallel"))
            holder = Seq()
            outs.append(inner(items, parts[index], holder,
                              path if own else f"{path}.branch{index + 1}"))
            branches.append(next(iter(holder._modules.items())) if own
                            else (f"branch{index + 1}", holder))
        merge = value.get("merge", "concat")
        out = (Add() if merge == "add" else Concat())(*outs)
        post, out = _post(value.get("activation"), out)
        module = Parallel(branches, merge, post, sizes)
    elif kind in LEAF_KINDS:
        base, fields = leaf_fields(kind, value)
        module = make_leaf(base, fields, x)
        out = module(x)
        if not trainable:
            module.requires_grad_(False)
    else:
        raise NotImplementedError(f"kind {kind!r} (blocks are not supported here)")
    return module, out


def input_shape(value: Any) -> tuple[int, ...]:
    """`HxWxC`, `[H, W, C]`, a vector length or `[n]`."""
    if isinstance(value, str):
        value = [int(part) for part in value.lower().split("x")]
    if isinstance(value, int):
        value = [value]
    if not isinstance(value, list) or len(value) not in (1, 3):
        raise SpecError(f"bad input {value!r}")
    return tuple(value)


def nchw(shape: tuple[int, ...], batch: int = 1) -> tuple[int, ...]:
    """The torch shape of a spec shape (H, W, C) or (n,)."""
    return (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)


def spec_shape(shape: torch.Size) -> tuple[int, ...]:
    """The spec shape (H, W, C) or (n,) of a torch shape N x C x H x W or N x n."""
    return (shape[2], shape[3], shape[1]) if len(shape) == 4 else tuple(shape[1:])


@torch.no_grad()
def build(text: str) -> Reference:
    """A plain torch model of the spec text. Parameters are zeros: call `randomize`."""
    doc = yaml.safe_load(text)
    if "blocks" in doc or "vars" in doc:
        raise NotImplementedError("the reference has no blocks or vars")
    _no_expressions(doc["layers"])
    shape = input_shape(doc["input"])
    model = Reference()
    model.input_shape = shape
    x = torch.zeros(nchw(shape))
    graph = _Graph(x)
    scope: dict[str, str] = {}
    out = build_list(_entries(doc["layers"]), x, True, model, graph, "", [])
    model.output_shape = spec_shape(out.shape)
    last = list(model._ref_paths.values())[-1]
    if "outputs" in doc:
        scope = {name: path for name, path in model._ref_paths.items()}
        model.outputs = [graph.resolve(ref, [scope]) for ref in doc["outputs"]]
    else:
        ends = [p for p in [*graph.ends, last] if p not in graph.read]
        model.outputs = sorted(set(ends), key=graph.order.__getitem__)
    model.training_only = graph.training_only
    return model.eval()


@torch.no_grad()
def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic values for every parameter and batch-norm statistic: weights with
    variance 1/fan_in, biases and shifts in [-0.5, 0.5], scales and variances around 1."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(t: torch.Tensor, low: float, high: float) -> None:
        t.copy_(torch.rand(t.shape, generator=generator) * (high - low) + low)

    for module in model.modules():
        for name, tensor in [*module.named_parameters(recurse=False),
                             *module.named_buffers(recurse=False)]:
            if tensor.dim() > 1:
                bound = math.sqrt(3 / tensor[0].numel())
                uniform(tensor, -bound, bound)
            elif name == "running_var" or (isinstance(module, BatchNorm) and name == "weight"):
                uniform(tensor, 0.5, 1.5)
            else:
                uniform(tensor, -0.5, 0.5)
    return model
