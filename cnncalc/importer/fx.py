"""A torch module as a spec, through `torch.fx` symbolic tracing.

The module is traced once in eval mode (`torch.fx.Tracer`: the layers cnncalc knows are
leaves, everything else is traced through), shapes are propagated on fake tensors (no memory,
no arithmetic) under torch's `FlopCounterMode`, and every node becomes an `Op` by one of two
tables: `MODULES` (by module class) and `FUNCTIONS` (functions and tensor methods). A node the
tables cannot express is collected, and all of them are reported at once with their module
paths (never skipped: a skipped op would be a silent zero).

Modules with parameters that the eval-mode trace never calls (an auxiliary classifier that
runs only in training, as GoogLeNet's and Inception v3's) are traced a second time in
training mode; their ops become `training_only` rows, as a hand-written spec has them.

Tensors in channels-last order (`x.permute(0, 2, 3, 1)`, as ConvNeXt and torchvision's
LayerNorm2d use them) are followed: element-wise work and a layer norm over the channels
stay what they are, a Linear over the channels is a `channel_dense` row (its weight a
Linear's [out, in]); anything else on them is refused with its reason.

A batch norm subclass with `drop` and `act` children (timm's BatchNormAct2d) is a leaf read
by its structure: a batch norm row named as the module, then a row of its activation.

A subclass of a leaf class with tensors (nn.Linear, the convolutions, the norms) is read as
its parent when it holds its parent's tensors only and computes what its parent does: it
overrides no method but construction and printing, or its forward, traced by torch.fx, runs
the calls its parent's forward runs on the same module (timm's `Linear`, whose forward is
`F.linear(input, self.weight, self.bias)` outside torchscript). Any other subclass is traced
through, and a tensor of it used directly is refused as a subclass whose forward differs.

Squeeze-and-excitation written out in a module's forward (timm's SqueezeExcite and SEModule:
`x * gate(conv(act(conv(x.mean((2, 3), keepdim=True)))))`) is one `se` row named as that
module, when it computes exactly what the kind does; its two convolutions keep their names
(fc1/fc2 or conv_reduce/conv_expand, both of which cnncalc's se module loads). Other forms
(one convolution, a batch norm inside) are refused with what they run.

A bare parameter multiplied in (ConvNeXt's `self.layer_scale * x`, a (C, 1, 1) Parameter of
the block) is a `layer_scale` row named by the parameter's path: the spec's module saves its
parameter under that same key (`cnncalc.torch.LayerScale`), so the state_dict loads.

The spec written is then analysed by the engine and checked against the module itself: every
row's output shape against the traced one, params and buffers against the module's, and MACs
against torch's FlopCounterMode (halved, as cnncalc counts a multiply-add once); any
difference is an error, never a wrong number.

Modules built by `cnncalc.torch.build` say which kind they are (a class attribute
`cnncalc_kind`; their fields are read off the module by `BUILT` here), so a built spec imports
back to itself.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from ..core.spec import INPUT
from ..errors import CnnCalcError
from .graph import Op
from .graph import to_spec as write_spec

Fields = dict[str, Any]
#: Where a tensor's channels are: NCHW (torch's own) or channels last (after a permute).
NCHW, NHWC = "nchw", "nhwc"
#: A channel shuffle written out (torchvision's `channel_shuffle`): an NCHW map viewed as
#: (N, g, C/g, H, W), then with those two axes swapped; viewed back as (N, C, H, W) it is a
#: `channel_shuffle` row. Nothing else may read these.
GROUPED, SHUFFLED = "grouped", "shuffled"


def _pair(value: Any) -> int | list[int]:
    if isinstance(value, (tuple, list)):
        return int(value[0]) if len(set(value)) == 1 else [int(v) for v in value]
    return int(value)


def _dim(value: Any, rank: int) -> int:
    """A dim argument as a non-negative index into a tensor of `rank` dims; Unsupported when
    it is no such index (a computed value, a list, a dim the tensor does not have)."""
    if isinstance(value, bool) or not isinstance(value, int) or not -rank <= value < rank:
        raise Unsupported(f"dim {value!r} of a {rank}-D tensor")
    return value % rank


def _sides(pads: Any) -> Any:
    """F.pad's (left, right, top, bottom) as the spec's padding: an integer, or
    [top, bottom, left, right]."""
    left, right, top, bottom = (int(p) for p in pads)
    if left == right == top == bottom:
        return left
    return [top, bottom, left, right]


class Unsupported(Exception):
    """A node the tables cannot express: the reason; `detail` names what at this place (a
    tensor) when the reason is said once for several places."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Rule:
    """How one foreign module class or function becomes a row: its converter, and for the
    docs the kinds it gives and what it needs (`docs/importing.md` is generated from these)."""

    convert: Callable[..., Any]
    kinds: str
    note: str = ""
    #: rows the module's forward runs after its own (a norm's activation): a function of the
    #: module giving [(kind, fields)], each a row of the module's parent named by its kind
    then: Callable[[Any], list[tuple[str, Fields]]] | None = None


# --------------------------------------------------------------------------- modules
# A module converter takes the module, its input's torch shape and layout, and returns the
# row's (kind, fields); Unsupported when the settings have no cnncalc equivalent.

def _conv_fields(m: nn.Conv2d, padding: Any) -> Fields:
    fields: Fields = {"filters": m.out_channels, "kernel": _pair(m.kernel_size)}
    if _pair(m.stride) != 1:
        fields["stride"] = _pair(m.stride)
    if padding != 0:
        fields["padding"] = padding
    if _pair(m.dilation) != 1:
        fields["dilation"] = _pair(m.dilation)
    if m.groups != 1:
        fields["groups"] = m.groups
    if m.bias is None:
        fields["bias"] = False
    return fields


def _conv(m: nn.Conv2d, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode {m.padding_mode!r} (write a pad layer before it)")
    padding: Any = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    return "conv", _conv_fields(m, padding)


def _conv_transpose(m: nn.ConvTranspose2d, shape: tuple[int, ...],
                    layout: str) -> tuple[str, Fields]:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode {m.padding_mode!r}")
    fields: Fields = {"filters": m.out_channels, "kernel": _pair(m.kernel_size)}
    for key, value, default in (("stride", m.stride, 1), ("padding", m.padding, 0),
                                ("output_padding", m.output_padding, 0),
                                ("dilation", m.dilation, 1)):
        if _pair(value) != default:
            fields[key] = _pair(value)
    if m.groups != 1:
        fields["groups"] = m.groups
    if m.bias is None:
        fields["bias"] = False
    return "conv_transpose", fields


def _batchnorm(m: nn.modules.batchnorm._BatchNorm, shape: tuple[int, ...],
               layout: str) -> tuple[str, Fields]:
    if not m.track_running_stats:
        raise Unsupported("batch norm without running statistics")
    if m.momentum is None:
        raise Unsupported("batch norm with a cumulative average (momentum None)")
    fields: Fields = {}
    if m.eps != 1e-5:
        fields["eps"] = m.eps
    if m.momentum != 0.1:
        fields["momentum"] = m.momentum
    if not m.affine:
        fields["affine"] = False
    return "batchnorm", fields


def _layernorm(m: nn.LayerNorm, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    channels = shape[-1] if shape else None
    if tuple(m.normalized_shape) != (channels,) or not (
            len(shape) == 2 or len(shape) == 4 and layout == NHWC):
        raise Unsupported(f"layer norm over {tuple(m.normalized_shape)} of a {len(shape)}-D "
                          f"{'channels-last ' if layout == NHWC else ''}tensor (cnncalc's "
                          "normalises the channels of each position, or a vector)")
    if getattr(m, "bias", True) is None and m.weight is not None:
        raise Unsupported("layer norm with a scale but no shift")
    return "layernorm", _norm_fields(m.eps, m.weight is not None)


def _norm_fields(eps: float, affine: bool) -> Fields:
    fields: Fields = {}
    if eps != 1e-5:
        fields["eps"] = float(eps)
    if not affine:
        fields["affine"] = False
    return fields


def _pool(mode: str) -> Callable[[Any, tuple[int, ...], str], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
        return _pool_fields(mode, m.kernel_size, m.stride, m.padding,
                            getattr(m, "dilation", 1), m.ceil_mode,
                            getattr(m, "count_include_pad", True),
                            getattr(m, "divisor_override", None))
    return convert


def _pool_fields(mode: str, kernel: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool, count_include_pad: bool,
                 divisor_override: Any) -> tuple[str, Fields]:
    if mode == "max" and _pair(dilation) != 1:
        raise Unsupported("dilated max pooling")
    if mode == "avg" and (not count_include_pad and _pair(padding) != 0
                          or divisor_override is not None):
        raise Unsupported("average pooling without count_include_pad, or with a divisor")
    stride = stride if stride not in (None, [], ()) else kernel
    fields: Fields = {"kernel": _pair(kernel), "stride": _pair(stride)}
    if _pair(padding) != 0:
        fields["padding"] = _pair(padding)
    if ceil_mode:
        fields["ceil_mode"] = True
    return f"{mode}pool", fields


def _adaptive(mode: str) -> Callable[[Any, tuple[int, ...], str], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
        return _adaptive_fields(mode, m.output_size, shape)
    return convert


def _adaptive_fields(mode: str, size: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
    size = size if isinstance(size, (tuple, list)) else (size, size)
    if len(shape) != 4 or len(size) != 2:
        raise Unsupported(f"adaptive pooling to {size} of a {len(shape)}-D tensor")
    size = [shape[2 + i] if s is None else int(s) for i, s in enumerate(size)]
    return "adaptive_pool", {"size": size[0] if size[0] == size[1] else size, "mode": mode}


def _linear(m: nn.Linear, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    fields: Fields = {"units": m.out_features}
    if m.bias is None:
        fields["bias"] = False
    if len(shape) == 4 and layout == NHWC:
        # over the channels of each position (ConvNeXt's Linears): channel_dense, whose
        # module is a Linear too (weight [out, in]), applied channels-last
        return "channel_dense", fields
    if len(shape) != 2:
        where = "channels-last " if layout == NHWC else ""
        raise Unsupported(f"a Linear on a {len(shape)}-D {where}tensor (cnncalc's dense takes "
                          "a vector, its channel_dense the channels of a channels-last map)")
    return "dense", fields


def _activation(name: str) -> Callable[[Any, tuple[int, ...], str], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
        if name == "leaky_relu":
            return "activation", {"function": "leaky_relu",
                                  "negative_slope": float(m.negative_slope)}
        if name == "gelu" and m.approximate != "none":
            return "activation", {"function": "gelu", "approximate": m.approximate}
        if name == "softmax":
            _softmax_dim(m.dim, shape, layout)
        return name, {}
    return convert


def _softmax_dim(dim: Any, shape: tuple[int, ...], layout: str) -> None:
    channels = len(shape) - 1 if layout == NHWC else 1
    if dim is None or _dim(dim, len(shape)) != channels:
        raise Unsupported(f"softmax over dim {dim} (cnncalc's runs over the channels)")


def _upsample(m: nn.Upsample, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    return _interpolate(m.size, m.scale_factor, m.mode, m.align_corners)


def _interpolate(size: Any, scale: Any, mode: str, align_corners: Any) -> tuple[str, Fields]:
    if mode not in ("nearest", "bilinear") or align_corners:
        raise Unsupported(f"interpolation {mode!r}" + (" with align_corners" if align_corners
                                                       else ""))
    if size is not None:
        return "upsample", {"size": _pair(size), "mode": mode}
    factors = scale if isinstance(scale, (tuple, list)) else (scale, scale)
    if any(float(f) != int(f) for f in factors):
        raise Unsupported(f"a fractional scale factor {scale!r}")
    return "upsample", {"factor": _pair([int(f) for f in factors]), "mode": mode}


def _pad(mode: str) -> Callable[[Any, tuple[int, ...], str], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
        if getattr(m, "value", 0) != 0:
            raise Unsupported(f"padding with the value {m.value}")
        return _pad_fields(m.padding, mode)
    return convert


def _pad_fields(pads: Any, mode: str) -> tuple[str, Fields]:
    if len(pads) != 4:
        raise Unsupported(f"padding {tuple(pads)} (cnncalc pads height and width)")
    if all(p <= 0 for p in pads):
        return "crop", {"amount": _sides([-p for p in pads])}
    if any(p < 0 for p in pads):
        raise Unsupported(f"padding and cropping at once {tuple(pads)}")
    fields: Fields = {"padding": _sides(pads)}
    if mode != "zeros":
        fields["mode"] = mode
    return "pad", fields


def _dropout(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    return "dropout", {"rate": float(m.p)}


def _se(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    act = _ACTIVATION_NAMES.get(type(m.activation))
    gate = _ACTIVATION_NAMES.get(type(m.scale_activation))
    if act is None or gate not in ("sigmoid", "hardsigmoid"):
        raise Unsupported("squeeze-and-excitation with another activation or gate")
    if not (isinstance(m.avgpool, nn.AdaptiveAvgPool2d) and _pair(m.avgpool.output_size) == 1
            and m.fc1.kernel_size == (1, 1) and m.fc2.kernel_size == (1, 1)
            and m.fc1.bias is not None and m.fc2.bias is not None):
        raise Unsupported("squeeze-and-excitation that is not torchvision's (global average "
                          "pool, 1x1 convs with biases)")
    return "se", {"squeeze": m.fc1.out_channels, "activation": act, "gate": gate}


def _norm_act_tail(m: Any) -> list[tuple[str, Fields]]:
    """What a norm-act module runs after its batch norm: `drop` (the identity, as timm's is
    unless built with a drop layer) then `act` (an activation module, or the identity)."""
    if not isinstance(m.drop, nn.Identity):
        raise Unsupported(f"a norm-act module whose drop is {type(m.drop).__name__} (cnncalc "
                          "reads it only as nn.Identity)")
    if isinstance(m.act, nn.Identity):
        return []
    rule = MODULES.get(type(m.act))
    if rule is None or type(m.act) not in _ACTIVATION_NAMES or type(m.act) is nn.Softmax:
        raise Unsupported(f"a norm-act module whose act is {type(m.act).__name__} (cnncalc "
                          "reads torch's activation modules: nn.ReLU, nn.SiLU, ...)")
    return [rule.convert(m.act, (), NCHW)]


def _is_norm_act(m: nn.Module) -> bool:
    """A batch norm subclass that also runs `drop` and `act` children after normalising
    (timm's BatchNormAct2d): its own tensors are a batch norm's, so it is one, then its
    activation."""
    return isinstance(m, nn.modules.batchnorm._BatchNorm) and all(
        isinstance(getattr(m, name, None), nn.Module) for name in ("drop", "act"))


#: timm's BatchNormAct2d and its kind, known by structure (`_is_norm_act`)
NORM_ACT = Rule(_batchnorm, "batchnorm + an activation",
                "a batch norm subclass with `drop` (nn.Identity) and `act` (an activation "
                "module or nn.Identity) children: timm's `BatchNormAct2d`",
                then=_norm_act_tail)


def _stochastic_depth(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    return "stochastic_depth", {"rate": float(m.p), "mode": m.mode}


_ACTIVATION_NAMES: dict[type, str] = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.SiLU: "silu", nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh", nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid",
    nn.GELU: "gelu", nn.LeakyReLU: "leaky_relu", nn.Softmax: "softmax",
}

#: One rule per module class that is a cnncalc kind, by exact class. A subclass may change
#: `forward`: it is traced through, unless it is one of the classes with tensors below read
#: as its parent (`_leaf_parent`). `docs/importing.md` lists this table.
MODULES: dict[type, Rule] = {
    nn.Conv2d: Rule(_conv, "conv", "padding_mode zeros"),
    nn.ConvTranspose2d: Rule(_conv_transpose, "conv_transpose", "padding_mode zeros"),
    nn.BatchNorm2d: Rule(_batchnorm, "batchnorm", "with running statistics"),
    nn.BatchNorm1d: Rule(_batchnorm, "batchnorm", "with running statistics"),
    nn.LayerNorm: Rule(_layernorm, "layernorm",
                       "over the channels: of a vector, or of a channels-last map"),
    nn.MaxPool2d: Rule(_pool("max"), "maxpool", "no dilation"),
    nn.AvgPool2d: Rule(_pool("avg"), "avgpool", "count_include_pad unless unpadded"),
    nn.AdaptiveAvgPool2d: Rule(_adaptive("avg"), "adaptive_pool"),
    nn.AdaptiveMaxPool2d: Rule(_adaptive("max"), "adaptive_pool"),
    nn.Linear: Rule(_linear, "dense, channel_dense",
                    "on a vector (dense), or on the channels of a channels-last map "
                    "(channel_dense)"),
    nn.Flatten: Rule(lambda m, shape, layout: _flatten_fields(m.start_dim, m.end_dim, shape),
                     "flatten", "start_dim 1"),
    nn.Dropout: Rule(_dropout, "dropout"),
    nn.Upsample: Rule(_upsample, "upsample", "nearest, or bilinear without align_corners"),
    nn.ZeroPad2d: Rule(_pad("zeros"), "pad"),
    nn.ConstantPad2d: Rule(_pad("zeros"), "pad", "value 0"),
    nn.ReflectionPad2d: Rule(_pad("reflect"), "pad"),
    nn.ReplicationPad2d: Rule(_pad("replicate"), "pad"),
    nn.ChannelShuffle: Rule(lambda m, shape, layout: ("channel_shuffle", {"groups": m.groups}),
                            "channel_shuffle"),
    **{cls: Rule(_activation(name), name, "over dim 1" if name == "softmax" else "")
       for cls, name in _ACTIVATION_NAMES.items()},
}

#: torchvision's modules, known by their structure (torchvision is not a dependency): the
#: class name and the attributes each converter reads. Listed in the docs with MODULES.
TORCHVISION: dict[str, Rule] = {
    "SqueezeExcitation": Rule(_se, "se", "avgpool, fc1, fc2 (1x1 convs), activation, "
                                         "scale_activation (sigmoid or hardsigmoid)"),
    "StochasticDepth": Rule(_stochastic_depth, "stochastic_depth", "p, mode"),
}


_BATCH_NORM_TENSORS = frozenset(("weight", "bias", "running_mean", "running_var",
                                 "num_batches_tracked"))
#: The classes of MODULES with tensors whose subclasses may be read as them, each with the
#: names of the tensors it holds: a subclass holding other tensors or child modules is not.
SUBCLASSED: dict[type, frozenset[str]] = {
    nn.Conv2d: frozenset(("weight", "bias")),
    nn.ConvTranspose2d: frozenset(("weight", "bias")),
    nn.Linear: frozenset(("weight", "bias")),
    nn.LayerNorm: frozenset(("weight", "bias")),
    nn.BatchNorm2d: _BATCH_NORM_TENSORS,
    nn.BatchNorm1d: _BATCH_NORM_TENSORS,
}
#: methods a subclass may define without changing what the module computes: construction
#: and printing
_HARMLESS = frozenset(("__init__", "reset_parameters", "extra_repr", "__repr__"))


def _steps(module: nn.Module) -> list[tuple[Any, ...]] | None:
    """`module`'s own forward as torch.fx traces it: each node's op, target and arguments
    (nodes by position; an input by position, not by name); None when it cannot be traced
    (batch norm's forward checks its input's dims)."""
    try:
        graph = fx.Tracer().trace(module)
    except Exception:  # torch.fx's TraceError and the errors it lets through
        return None
    position: dict[fx.Node, int] = {}
    steps = []
    for node in graph.nodes:
        position[node] = len(position)
        args = fx.node.map_arg((node.args, node.kwargs), lambda n: ("node", position[n]))
        steps.append((node.op, None if node.op == "placeholder" else node.target, args))
    return steps


def _twin(module: nn.Module, cls: type) -> nn.Module:
    """An instance of `cls` with `module`'s state (a copy of its attributes, the same
    tensors): traced in its place, so that what tracing sets (a tensor constant) stays off
    the module."""
    twin = cls.__new__(cls)
    twin.__dict__.update(vars(module))
    return twin


def _leaf_parent(module: nn.Module) -> type | None:
    """The class of SUBCLASSED that `module`, an instance of a subclass of it, is read as:
    when it holds that class's tensors and no child modules, and either overrides none of
    its methods (construction and printing aside) or its forward, traced by torch.fx, runs
    exactly the calls the parent's forward runs on the same module (timm's `Linear`: one
    `F.linear(input, self.weight, self.bias)` outside torchscript). None otherwise: it is
    traced through, as any module."""
    mro = type(module).__mro__
    parent = next((cls for cls in mro[1:] if cls in SUBCLASSED), None)
    if parent is None or module._modules:
        return None
    if not set(module._parameters) | set(module._buffers) <= SUBCLASSED[parent]:
        return None
    own = [vars(cls) for cls in mro[:mro.index(parent)]]
    if not any(name not in _HARMLESS and hasattr(parent, name)
               and (callable(value) or isinstance(value, property))
               for names in own for name, value in names.items()):
        return parent
    mine, theirs = _steps(_twin(module, type(module))), _steps(_twin(module, parent))
    try:
        same = mine is not None and mine == theirs
    except RuntimeError:  # a tensor among the arguments: no single truth value
        same = False
    return parent if same else None


def _flatten_fields(start: int, end: int, shape: tuple[int, ...]) -> tuple[str, Fields]:
    if _dim(start, len(shape)) != 1 or _dim(end, len(shape)) != len(shape) - 1:
        raise Unsupported(f"flatten({start}, {end}) (cnncalc flattens all but the batch)")
    return "flatten", {}


# -- modules built by cnncalc.torch (their class attribute `cnncalc_kind` names the kind)

def _built_conv(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    padding: Any = _pair(m.padding) if m.pads is None else _sides(m.pads)
    fields = _conv_fields(m, padding)
    if isinstance(padding, list) and len(padding) == 4:
        extra = _pair(m.padding)  # explicit pads before, plus the layer's own
        if extra != 0:
            raise Unsupported("explicit and built-in padding at once")
    if m.activation:
        fields["activation"] = m.activation
    return "conv", fields


def _built_dense(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    kind, fields = _linear(m, shape, layout)
    if m.activation:
        fields["activation"] = m.activation
    return kind, fields


def _built_separable(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    depthwise, pointwise = m.depthwise, m.pointwise
    padding: Any = _pair(depthwise.padding) if depthwise.pads is None else _sides(depthwise.pads)
    fields: Fields = {"filters": pointwise.out_channels, "kernel": _pair(depthwise.kernel_size)}
    if _pair(depthwise.stride) != 1:
        fields["stride"] = _pair(depthwise.stride)
    if padding != 0:
        fields["padding"] = padding
    if _pair(depthwise.dilation) != 1:
        fields["dilation"] = _pair(depthwise.dilation)
    if depthwise.out_channels != depthwise.in_channels:
        fields["multiplier"] = depthwise.out_channels // depthwise.in_channels
    if pointwise.bias is None:
        fields["bias"] = False
    if pointwise.activation:
        fields["activation"] = pointwise.activation
    return "separable", fields


def _built_pool(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    fields: Fields = {"kernel": _pair(m.kernel), "stride": _pair(m.stride),
                      "padding": _sides(m.pads)}
    if any(m.extra):
        fields["ceil_mode"] = True
    return f"{m.mode}pool", fields


def _built_activation(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    if m.negative_slope is not None:
        return "activation", {"function": m.function, "negative_slope": m.negative_slope}
    if m.approximate is not None:
        return "activation", {"function": m.function, "approximate": m.approximate}
    return m.function, {}


def _built_channel_dense(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    if layout == NHWC or len(shape) != 4:
        raise Unsupported("cnncalc's channel_dense module on anything but an NCHW map (it "
                          "puts the channels last itself)")
    fields: Fields = {"units": m.out_features}
    if m.bias is None:
        fields["bias"] = False
    if m.activation:
        fields["activation"] = m.activation
    return "channel_dense", fields


def _scale_fields(scale: torch.Tensor) -> Fields:
    """A layer scale's `init`: its value when every channel has the same one (the module
    as it was made), else none (the starting value is not known)."""
    values = scale.detach().flatten()
    if values.is_meta or values.numel() == 0:
        return {}  # no values to read
    same = bool((values == values[0]).all())
    return {"init": float(values[0])} if same else {}


def _built_layer_scale(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    return "layer_scale", _scale_fields(m.scale)


def _built_conv_transpose(m: Any, shape: tuple[int, ...], layout: str) -> tuple[str, Fields]:
    kind, fields = _conv_transpose(m, shape, layout)
    if m.activation:
        fields["activation"] = m.activation
    return kind, fields


#: The modules of `cnncalc.torch.build`, by their `cnncalc_kind`.
BUILT: dict[str, Rule] = {
    "conv": Rule(_built_conv, "conv"),
    "dense": Rule(_built_dense, "dense"),
    "channel_dense": Rule(_built_channel_dense, "channel_dense"),
    "separable": Rule(_built_separable, "separable"),
    "pool": Rule(_built_pool, "maxpool, avgpool"),
    "global_pool": Rule(lambda m, shape, layout: (
        "global_pool", {"mode": m.mode, **({"keepdims": True} if m.keepdims else {})}),
        "global_pool"),
    "activation": Rule(_built_activation, "an activation"),
    "layernorm": Rule(lambda m, shape, layout: (
        "layernorm", _norm_fields(m.eps, m.weight is not None)), "layernorm"),
    "layer_scale": Rule(_built_layer_scale, "layer_scale"),
    "stochastic_depth": Rule(lambda m, shape, layout: (
        "stochastic_depth", {"rate": float(m.rate), "mode": m.mode}), "stochastic_depth"),
    "se": Rule(lambda m, shape, layout: ("se", {"squeeze": m.fc1.out_channels,
                                               "activation": m.activation, "gate": m.gate}),
               "se"),
    "conv_transpose": Rule(_built_conv_transpose, "conv_transpose"),
    "dropout": Rule(lambda m, shape, layout: ("dropout", {"rate": float(m.p)}), "dropout"),
    "add": Rule(lambda m, shape, layout: ("add", {}), "add"),
    "concat": Rule(lambda m, shape, layout: ("concat", {}), "concat"),
    "chunk": Rule(lambda m, shape, layout: ("chunk", {"chunks": m.chunks, "index": m.index}),
                  "chunk"),
    "crop": Rule(lambda m, shape, layout: ("crop", {"amount": _sides(
        (m.amounts[2], m.amounts[3], m.amounts[0], m.amounts[1]))}), "crop"),
}


def _module_rule(module: nn.Module) -> Rule | None:
    """The rule of a module: by class, by cnncalc's own marker, by its parent's class (a
    subclass that computes what its parent does: `_leaf_parent`), or by structure: timm's
    norm-act modules, torchvision's squeeze-and-excitation and stochastic depth."""
    found = MODULES.get(type(module))
    if found is not None:
        return found
    if _is_norm_act(module):
        return NORM_ACT
    built = getattr(type(module), "cnncalc_kind", None)
    if isinstance(built, str) and built in BUILT:
        return BUILT[built]
    parent = _leaf_parent(module)
    if parent is not None:
        return MODULES[parent]
    name = type(module).__name__
    if name == "SqueezeExcitation" and all(
            hasattr(module, a) for a in ("avgpool", "fc1", "fc2", "activation",
                                         "scale_activation")):
        return TORCHVISION[name]
    if name == "StochasticDepth" and hasattr(module, "p") and hasattr(module, "mode"):
        return TORCHVISION[name]
    return None


# --------------------------------------------------------------------------- functions
# A function rule reads the call (`_Call`) and records a row, an alias (a view or an
# identity: no row) or nothing (the value is not a tensor of the flow: sizes, tuples).

#: kinds that work on each element (or each position's channels) alone: they keep a
#: channels-last tensor channels-last
_ELEMENTWISE = frozenset(("relu", "relu6", "silu", "swish", "sigmoid", "tanh", "hardswish",
                          "hardsigmoid", "gelu", "activation", "dropout", "stochastic_depth",
                          "layernorm", "channel_dense", "add"))


def _arg(node: fx.Node, index: int, name: str, default: Any = None) -> Any:
    """A call's argument, given by position or by name."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


class _Call:
    """One function or method node being converted."""

    def __init__(self, converter: _Converter, node: fx.Node):
        self.converter = converter
        self.node = node

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        return _arg(self.node, index, name, default)

    @property
    def x(self) -> fx.Node:
        first = self.arg(0, "input")
        if not isinstance(first, fx.Node):
            raise Unsupported(f"a constant input {first!r}")
        return first

    def tensor(self, value: Any = None) -> fx.Node:
        """`value` (the call's first argument when None) as the node of a tensor."""
        value = self.x if value is None else value
        if not isinstance(value, fx.Node):
            raise Unsupported(f"{value!r} where a tensor is expected")
        return value

    def shape(self, value: Any = None) -> tuple[int, ...]:
        found = self.converter.shapes.get(self.tensor(value).name)
        if found is None:
            raise Unsupported("no tensor shape")
        return found

    def layout(self, value: Any = None) -> str:
        return self.converter.layouts.get(self.tensor(value).name, NCHW)

    def row(self, kind: str, fields: Fields | None = None, inputs: list[Any] | None = None,
            module: str | None = None) -> None:
        self.converter.add(self.node, kind, fields or {}, inputs or [self.x], module)

    def alias(self, value: Any, layout: str | None = None) -> None:
        self.converter.alias_of(self.node, value, layout)


def _f_add(call: _Call) -> None:
    a, b = call.arg(0, "input"), call.arg(1, "other")
    if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)) or call.arg(2, "alpha", 1) != 1:
        raise Unsupported("adding a constant or a scaled tensor")
    if call.shape(a) != call.shape(b):
        raise Unsupported(f"adding tensors of different shapes {call.shape(a)} and "
                          f"{call.shape(b)} (broadcasting)")
    call.row("add", {}, [a, b])


def _f_cat(call: _Call) -> None:
    tensors = call.arg(0, "tensors")
    dim = call.arg(1, "dim", 0)
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise Unsupported("concatenating something that is not a list of tensors")
    shape = call.shape(tensors[0])
    channels = len(shape) - 1 if call.layout(tensors[0]) == NHWC else 1
    if _dim(dim, len(shape)) != channels:
        raise Unsupported(f"concatenation along dim {dim} (cnncalc's concat joins channels)")
    if len(tensors) == 1:
        call.alias(tensors[0])
        return
    call.row("concat", {}, list(tensors))


def _f_activation(name: str) -> Callable[[_Call], None]:
    def convert(call: _Call) -> None:
        if name == "gelu" and call.arg(1, "approximate", "none") != "none":
            call.row("activation", {"function": "gelu",
                                    "approximate": call.arg(1, "approximate")})
        elif name == "leaky_relu":
            call.row("activation", {"function": "leaky_relu",
                                    "negative_slope": float(call.arg(1, "negative_slope",
                                                                     0.01))})
        elif name == "hardtanh":
            if (call.arg(1, "min_val", -1.0), call.arg(2, "max_val", 1.0)) != (0.0, 6.0):
                raise Unsupported("hardtanh other than relu6's (0, 6)")
            call.row("relu6")
        else:
            call.row(name)
    return convert


def _f_softmax(call: _Call) -> None:
    _softmax_dim(call.arg(1, "dim"), call.shape(), call.layout())
    call.row("softmax")


def _f_flatten(call: _Call) -> None:
    kind, fields = _flatten_fields(call.arg(1, "start_dim", 0), call.arg(2, "end_dim", -1),
                                   call.shape())
    call.row(kind, fields)


def _f_reshape(call: _Call) -> None:
    shape, out = call.shape(), call.converter.shapes.get(call.node.name)
    if _shuffle_view(call, shape, out):
        return
    if out is not None and len(shape) > 2 and len(out) == 2 and out[0] == shape[0] \
            and call.layout() == NCHW:
        call.row("flatten")
        return
    if out is not None and tuple(out) == tuple(shape):
        call.alias(call.x)
        return
    raise Unsupported(f"a reshape from {shape} to {out}")


def _shuffle_view(call: _Call, shape: tuple[int, ...], out: Any) -> bool:
    """The views of a channel shuffle written out (see GROUPED): (N, C, H, W) as
    (N, g, C/g, H, W), and back (after the swap: a `channel_shuffle` row of g groups).
    Whether the call was one."""
    layout = call.layout()
    if out is None:
        return False
    if layout == NCHW and len(shape) == 4 and len(out) == 5 \
            and (out[0], out[1] * out[2], *out[3:]) == shape and out[1] > 1:
        call.alias(call.x, GROUPED)
        return True
    if layout in (GROUPED, SHUFFLED) and len(shape) == 5 and len(out) == 4 \
            and (shape[0], shape[1] * shape[2], *shape[3:]) == tuple(out):
        if layout == GROUPED:
            call.alias(call.x, NCHW)  # viewed back unshuffled: the same tensor
        else:
            call.row("channel_shuffle", {"groups": shape[2]})
        return True
    return False


def _f_transpose(call: _Call) -> None:
    """The swap of a channel shuffle written out: (N, g, C/g, H, W) to (N, C/g, g, H, W)."""
    dims = sorted(_dim(d, len(call.shape())) for d in (call.arg(1, "dim0"), call.arg(2, "dim1")))
    if call.layout() != GROUPED or dims != [1, 2]:
        raise Unsupported(f"a transpose of dims {dims} (cnncalc follows one only in a channel "
                          "shuffle: x.view(N, g, C // g, H, W), then axes 1 and 2 swapped)")
    call.alias(call.x, SHUFFLED)


def _f_mean(call: _Call) -> None:
    dims = call.arg(1, "dim")
    keep = call.arg(2, "keepdim", False)
    shape = call.shape()
    dims = dims if isinstance(dims, (list, tuple)) else [dims]
    if len(shape) == 4 and call.layout() == NCHW and None not in dims \
            and sorted(_dim(d, 4) for d in dims) == [2, 3]:
        call.row("global_pool", {"mode": "avg", "keepdims": True} if keep else {})
        return
    raise Unsupported(f"a mean over {dims}")


def _f_adaptive(mode: str) -> Callable[[_Call], None]:
    def convert(call: _Call) -> None:
        call.row(*_adaptive_fields(mode, call.arg(1, "output_size"), call.shape()))
    return convert


def _f_pool(mode: str) -> Callable[[_Call], None]:
    def convert(call: _Call) -> None:
        if mode == "max":
            if call.arg(6, "return_indices", False):
                raise Unsupported("max pooling that returns indices")
            kind, fields = _pool_fields("max", call.arg(1, "kernel_size"),
                                        call.arg(2, "stride"), call.arg(3, "padding", 0),
                                        call.arg(4, "dilation", 1), call.arg(5, "ceil_mode",
                                                                             False), True, None)
        else:
            kind, fields = _pool_fields("avg", call.arg(1, "kernel_size"),
                                        call.arg(2, "stride"), call.arg(3, "padding", 0), 1,
                                        call.arg(4, "ceil_mode", False),
                                        call.arg(5, "count_include_pad", True),
                                        call.arg(6, "divisor_override"))
        call.row(kind, fields)
    return convert


def _f_interpolate(call: _Call) -> None:
    call.row(*_interpolate(call.arg(1, "size"), call.arg(2, "scale_factor"),
                           call.arg(3, "mode", "nearest"), call.arg(4, "align_corners")))


def _f_pad(call: _Call) -> None:
    mode = call.arg(2, "mode", "constant")
    value = call.arg(3, "value", None)
    if mode == "constant" and value not in (None, 0, 0.0):
        raise Unsupported(f"padding with the value {value}")
    modes = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate"}
    if mode not in modes:
        raise Unsupported(f"padding mode {mode!r}")
    call.row(*_pad_fields(call.arg(1, "pad"), modes[mode]))


def _f_dropout(call: _Call) -> None:
    call.row("dropout", {"rate": float(call.arg(1, "p", 0.5))})


def _f_permute(call: _Call) -> None:
    dims = call.node.args[1:] if call.node.op == "call_method" else [call.arg(1, "dims")]
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    shape = call.shape()
    order = tuple(_dim(d, len(shape)) for d in dims)
    layout = call.layout()
    if len(shape) == 4 and layout == NCHW and order == (0, 2, 3, 1):
        call.alias(call.x, NHWC)
    elif len(shape) == 4 and layout == NHWC and order == (0, 3, 1, 2):
        call.alias(call.x, NCHW)
    else:
        raise Unsupported(f"a permute {order} of a {layout} tensor (cnncalc follows only "
                          "NCHW to channels-last and back)")


def _f_layer_norm(call: _Call) -> None:
    shape = call.shape()
    normalized = tuple(call.arg(1, "normalized_shape"))
    weight, bias = call.arg(2, "weight"), call.arg(3, "bias")
    if normalized != (shape[-1],) or not (len(shape) == 2 or len(shape) == 4
                                          and call.layout() == NHWC):
        raise Unsupported(f"layer norm over {normalized} of a {len(shape)}-D tensor")
    owners = set()
    for tensor in (weight, bias):
        if tensor is None:
            continue
        if not (isinstance(tensor, fx.Node) and tensor.op == "get_attr"):
            raise Unsupported("layer norm with a computed scale or shift")
        owners.add(str(tensor.target).rpartition(".")[0])
    if (weight is None) != (bias is None):
        raise Unsupported("layer norm with a scale but no shift, or a shift but no scale")
    where, _ = _place(call.node)
    if owners and owners != {where}:
        raise Unsupported("layer norm with another module's parameters")
    for tensor in (weight, bias):
        if tensor is not None:
            call.converter.used.add(str(tensor.target))
    # the parameters are the module's own (torchvision's LayerNorm2d): the row is the module
    call.row("layernorm", _norm_fields(call.arg(4, "eps", 1e-5), weight is not None),
             module=where if owners else None)


def _tuple_parts(node: fx.Node) -> list[Any] | None:
    """The values of a namedtuple built in forward (torchvision's `GoogLeNetOutputs(x, aux2,
    aux1)`, which torch.fx records as a call of the class); None for any other node."""
    cls = node.target
    if node.op != "call_function" or not (isinstance(cls, type) and issubclass(cls, tuple)):
        return None
    fields = list(getattr(cls, "_fields", ()))
    return [*node.args, *(node.kwargs[f] for f in fields[len(node.args):] if f in node.kwargs)]


def _f_getitem(call: _Call) -> None:
    source, index = call.arg(0, "a"), call.arg(1, "b")
    if not isinstance(source, fx.Node) or isinstance(index, bool) or not isinstance(index, int):
        raise Unsupported(f"indexing [{index}] (cnncalc takes parts of the channels only with "
                          "chunk or split, one part at a time)")
    parts = _tuple_parts(source)
    if parts is not None and -len(parts) <= index < len(parts):
        call.alias(parts[index])
        return
    if source.target in ("chunk", torch.chunk):
        chunks = _arg(source, 1, "chunks")
        if not isinstance(chunks, int):
            raise Unsupported(f"a chunk into {chunks!r} parts")
        _chunk_row(call, _arg(source, 0, "input"), _arg(source, 2, "dim", 0), chunks, index,
                   None)
        return
    if source.target in ("split", torch.split):
        x, sizes = _arg(source, 0, "tensor"), _arg(source, 1, "split_size_or_sections")
        shape = call.shape(x)
        channels = shape[1] if len(shape) > 1 else 0
        if isinstance(sizes, int) and sizes > 0:
            sizes = [min(sizes, channels - start) for start in range(0, channels, sizes)]
        if not (isinstance(sizes, (list, tuple)) and all(isinstance(s, int) for s in sizes)):
            raise Unsupported(f"a split into {sizes!r}")
        _chunk_row(call, x, _arg(source, 2, "dim", 0), len(sizes), index, list(sizes))
        return
    raise Unsupported(f"indexing [{index}] (cnncalc takes parts of the channels only with "
                      "chunk or split)")


def _chunk_row(call: _Call, x: Any, dim: Any, chunks: int, index: int,
               sizes: list[int] | None) -> None:
    shape = call.shape(x)
    if len(shape) < 2 or _dim(dim, len(shape)) != 1 or call.layout(x) != NCHW:
        raise Unsupported(f"a part along dim {dim} (cnncalc's chunk splits the channels)")
    from ..core.formulas import chunk_sizes

    if sizes is not None and sizes != chunk_sizes(shape[1], len(sizes)):
        raise Unsupported(f"a split into {sizes} channels (cnncalc's chunk makes torch's "
                          f"equal parts {chunk_sizes(shape[1], len(sizes))})")
    if not -chunks <= index < chunks:
        raise Unsupported(f"part {index} of {chunks}")
    if chunks < 2:
        call.alias(x)
        return
    call.row("chunk", {"chunks": chunks, "index": index % chunks}, [x])  # spx[-1]: the last


def _f_nothing(call: _Call) -> None:
    """A number (size, dim) or a tuple of views that getitem reads: no row."""


def _f_identity(call: _Call) -> None:
    call.alias(call.x)


def _f_mul(call: _Call) -> None:
    """`x * gate(...)` (either order), squeeze-and-excitation written out: one `se` row (see
    `_squeeze_excite`). `parameter * x` (either order): a layer scale whose parameter is the
    module's own, bare (ConvNeXt's `self.layer_scale * x`, a (C, 1, 1) Parameter of the
    block); its row is
    named by the parameter's path, so the spec's module saves the parameter under that key."""
    a, b = call.arg(0, "input"), call.arg(1, "other")
    attrs = [v for v in (a, b) if isinstance(v, fx.Node) and v.op == "get_attr"]
    tensors = [v for v in (a, b) if isinstance(v, fx.Node) and v.op != "get_attr"]
    if len(tensors) == 2 and not attrs:
        for x, gate in ((a, b), (b, a)):
            if _squeeze_excite(call, x, gate):
                return
    if not (len(attrs) == 1 and len(tensors) == 1):
        raise Unsupported("an element-wise product (no cnncalc kind multiplies two tensors or "
                          "a tensor by a constant; a map times its squeeze-and-excitation "
                          "gate is an se, a bare per-channel nn.Parameter times a map is a "
                          "layer_scale)")
    target, x = str(attrs[0].target), tensors[0]
    converter = call.converter
    try:
        scale = converter.root.get_parameter(target)
    except AttributeError:
        raise Unsupported("a buffer times a tensor (a layer scale is a learned parameter)",
                          target) from None
    shape, layout = call.shape(x), call.layout(x)
    want = (shape[1], 1, 1) if len(shape) == 4 and layout == NCHW else \
        (shape[1],) if len(shape) == 2 else None
    if tuple(scale.shape) != want:
        raise Unsupported(f"a parameter of shape {tuple(scale.shape)} times a "
                          f"{'channels-last ' if layout == NHWC else ''}tensor of {shape} "
                          "(cnncalc's layer_scale is a (C, 1, 1) parameter times an NCHW map, "
                          "or (C,) times a vector)", target)
    converter.called[target] = converter.called.get(target, 0) + 1
    if converter.called[target] > 1:
        raise Unsupported("a parameter used more than once (shared weights: cnncalc would "
                          "count them twice)", target)
    converter.add(call.node, "layer_scale", _scale_fields(scale), [x], target,
                  trainable=scale.requires_grad)
    converter.used.add(target)


#: what a squeeze-and-excitation written out computes, gate first: the `se` kind's ops
_SE_CHAIN = ("gate", "conv", "activation", "conv", "pool")
#: the names of its two convolutions that cnncalc's `se` module loads (`cnncalc.torch`)
SE_NAMES = (("fc1", "fc2"), ("conv_reduce", "conv_expand"))
_SE_ACTIVATIONS = frozenset(("relu", "relu6", "tanh", "sigmoid", "silu", "hardswish",
                             "hardsigmoid", "gelu"))


def _se_chain(call: _Call, x: fx.Node, gate: fx.Node) -> list[Op] | None:
    """The ops from `gate` back to a global average pool of `x`, gate first, each read by
    the next alone (views and identities in between followed); None when `gate` is no such
    chain of ops that each read one value (the product is then no squeeze-and-excitation)."""
    converter = call.converter
    start = converter.op_of.get(x.name)
    chain: list[Op] = []
    node: Any = gate
    while isinstance(node, fx.Node) and len(chain) < 8 and len(node.users) == 1:
        op_id = converter.op_of.get(node.name)
        ops = [op for op in converter.ops if op.id == op_id]
        if op_id is None or not ops:
            return None
        if converter.node_of[op_id] is node:  # the node's own op (one op per node only)
            if sum(1 for op in converter.ops if converter.node_of[op.id] is node) != 1:
                return None
            chain.append(ops[0])
            if len(ops[0].inputs) != 1:
                return None
            if ops[0].inputs[0] == start and ops[0].kind in ("global_pool", "adaptive_pool"):
                return chain
        inputs = [n for n in node.all_input_nodes if n.op != "get_attr"]
        if len(inputs) != 1:
            return None
        node = inputs[0]
    return None


def _squeeze_excite(call: _Call, x: fx.Node, gate: fx.Node) -> bool:
    """`x * gate(conv(act(conv(mean(x)))))` computed by one module (timm's SqueezeExcite and
    SEModule, and any written alike): the ops it ran become one `se` row named as that
    module. Whether the product was one; Unsupported when it is squeeze-and-excitation in a
    form cnncalc's `se` does not compute (one convolution, a batch norm inside, no biases),
    or with convolutions named other than the `se` module's keys."""
    chain = _se_chain(call, x, gate)
    if chain is None:
        return False
    owner, _ = _place(call.node)
    shape = call.shape(x)
    if len(shape) != 4 or call.layout(x) != NCHW:
        return False
    read = " -> ".join(op.kind for op in reversed(chain))
    why = (f"a squeeze-and-excitation of {read} (cnncalc's se is a global average pool, a 1x1 "
           "conv with bias, an activation, a 1x1 conv with bias back to the channels, then "
           "a sigmoid or hard sigmoid gate)")
    gate_op, expand, act, reduce, pool = chain if len(chain) == 5 else (None,) * 5
    if gate_op is None or gate_op.kind not in ("sigmoid", "hardsigmoid") \
            or act.kind not in _SE_ACTIVATIONS or pool.fields not in (
                {"mode": "avg", "keepdims": True}, {"size": 1, "mode": "avg"}) \
            or reduce.kind != "conv" or expand.kind != "conv" \
            or expand.fields != {"filters": shape[1], "kernel": 1} \
            or set(reduce.fields) != {"filters", "kernel"} or reduce.fields["kernel"] != 1:
        raise Unsupported(why)
    names = tuple(op.module.rpartition(".") for op in (reduce, expand))
    inside = {op.module if op.own else op.module + ".?" for op in (gate_op, act, pool)}
    if not (reduce.own and expand.own and names[0][0] == names[1][0] == owner
            and all(m.rpartition(".")[0] == owner for m in inside)):
        raise Unsupported(why + ", not all run by the module that multiplies")
    module = call.converter.root.get_submodule(owner) if owner else call.converter.root
    tensors = sum(1 for _ in module.parameters()) + sum(1 for _ in module.buffers())
    if tensors != 4:
        raise Unsupported(f"a squeeze-and-excitation module with tensors besides its two "
                          f"convolutions' ({tensors} in all)", owner)
    pair = (names[0][2], names[1][2])
    if pair not in SE_NAMES:
        raise Unsupported(f"a squeeze-and-excitation whose convolutions are named {pair} "
                          f"(cnncalc's se module loads {' or '.join(map(str, SE_NAMES))})",
                          owner)
    _fuse(call, chain, "se", {"squeeze": reduce.fields["filters"], "activation": act.kind,
                              "gate": gate_op.kind}, x, owner)
    return True


def _fuse(call: _Call, ops: list[Op], kind: str, fields: Fields, x: fx.Node,
          module: str) -> None:
    """Replace the recorded `ops` (which only the call reads) by one row of `kind` that is
    `module`, reading `x`, as the call's value."""
    converter = call.converter
    ids = {op.id for op in ops}
    converter.ops = [op for op in converter.ops if op.id not in ids]
    for op_id in ids:
        del converter.node_of[op_id]
    converter.add(call.node, kind, fields, [x], module)


_ADD = Rule(_f_add, "add", "two tensors of one shape")

#: One rule per function, tensor method (by name) or operator. `docs/importing.md` lists it.
FUNCTIONS: dict[Any, Rule] = {
    operator.add: _ADD, operator.iadd: _ADD, torch.add: _ADD, "add": _ADD, "add_": _ADD,
    torch.cat: Rule(_f_cat, "concat", "along the channels"),
    torch.concat: Rule(_f_cat, "concat", "along the channels"),
    **{fn: Rule(_f_activation(name), name) for fn, name in (
        (F.relu, "relu"), (torch.relu, "relu"), ("relu", "relu"), ("relu_", "relu"),
        (torch.relu_, "relu"), (F.relu6, "relu6"), (F.silu, "silu"),
        (torch.sigmoid, "sigmoid"), (F.sigmoid, "sigmoid"), ("sigmoid", "sigmoid"),
        (torch.tanh, "tanh"), (F.tanh, "tanh"), ("tanh", "tanh"),
        (F.hardswish, "hardswish"), (F.hardsigmoid, "hardsigmoid"), (F.gelu, "gelu"))},
    F.hardtanh: Rule(_f_activation("hardtanh"), "relu6", "min 0, max 6"),
    F.leaky_relu: Rule(_f_activation("leaky_relu"), "leaky_relu"),
    F.softmax: Rule(_f_softmax, "softmax", "over the channels"),
    torch.softmax: Rule(_f_softmax, "softmax", "over the channels"),
    "softmax": Rule(_f_softmax, "softmax", "over the channels"),
    torch.flatten: Rule(_f_flatten, "flatten", "start_dim 1"),
    "flatten": Rule(_f_flatten, "flatten", "start_dim 1"),
    **{fn: Rule(_f_reshape, "flatten, channel_shuffle",
                "to (N, -1); or a channel shuffle: to (N, g, C // g, H, W), transposed, back")
       for fn in ("view", "reshape", torch.reshape)},
    "mean": Rule(_f_mean, "global_pool", "over dims 2 and 3"),
    torch.mean: Rule(_f_mean, "global_pool", "over dims 2 and 3"),
    F.adaptive_avg_pool2d: Rule(_f_adaptive("avg"), "adaptive_pool"),
    F.adaptive_max_pool2d: Rule(_f_adaptive("max"), "adaptive_pool"),
    F.max_pool2d: Rule(_f_pool("max"), "maxpool", "no dilation, no indices"),
    F.avg_pool2d: Rule(_f_pool("avg"), "avgpool"),
    F.interpolate: Rule(_f_interpolate, "upsample", "nearest, or bilinear without "
                                                    "align_corners"),
    F.pad: Rule(_f_pad, "pad, crop", "4 sides; constant 0, reflect or replicate"),
    F.dropout: Rule(_f_dropout, "dropout"),
    F.layer_norm: Rule(_f_layer_norm, "layernorm", "over the channels, with the calling "
                                                   "module's own parameters"),
    torch.permute: Rule(_f_permute, "(none)", "NCHW to channels-last and back"),
    "permute": Rule(_f_permute, "(none)", "NCHW to channels-last and back"),
    operator.getitem: Rule(_f_getitem, "chunk", "of chunk or split along the channels"),
    "chunk": Rule(_f_nothing, "chunk", "read by getitem"),
    torch.chunk: Rule(_f_nothing, "chunk", "read by getitem"),
    "split": Rule(_f_nothing, "chunk", "into torch's equal parts, read by getitem"),
    torch.split: Rule(_f_nothing, "chunk", "into torch's equal parts, read by getitem"),
    **{fn: Rule(_f_mul, "se, layer_scale",
                "a map times gate(conv(act(conv(mean(map))))) run by one module whose tensors "
                "are the two 1x1 convs' (with biases; named fc1, fc2 or conv_reduce, "
                "conv_expand), each step read by the next alone: one se row named as that "
                "module (timm's SqueezeExcite, SEModule); a bare parameter of (C, 1, 1) "
                "times an NCHW map, or (C,) times a vector (ConvNeXt's layer scale)")
       for fn in (operator.mul, torch.mul, "mul")},
    torch.transpose: Rule(_f_transpose, "channel_shuffle",
                          "dims 1 and 2 of a channel shuffle's view, then viewed back"),
    "transpose": Rule(_f_transpose, "channel_shuffle",
                      "dims 1 and 2 of a channel shuffle's view, then viewed back"),
    "contiguous": Rule(_f_identity, "(none)"),
    "clone": Rule(_f_identity, "(none)"),
    "detach": Rule(_f_identity, "(none)"),
    "size": Rule(_f_nothing, "(none)", "a number"),
    "dim": Rule(_f_nothing, "(none)", "a number"),
    getattr: Rule(_f_nothing, "(none)", "an attribute such as .shape"),
}


def describe(target: Any) -> str:
    """A function or method as the docs and errors name it: `torch.cat`, `F.relu`,
    `Tensor.flatten`, `operator.add`."""
    if isinstance(target, str):
        return f"Tensor.{target}"
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", None) or str(target)
    if module == "torch.nn.functional" or getattr(F, name, None) is target:
        return f"F.{name}"
    if module.startswith("torch._ops") or type(target).__name__ in ("OpOverloadPacket",
                                                                     "OpOverload"):
        return f"torch.ops.{target}"
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    if module in ("builtins", ""):
        return name
    if module.startswith("torch"):
        return f"torch.{name}"
    return f"{module}.{name}"


# --------------------------------------------------------------------------- tracing

class _Tracer(fx.Tracer):
    """Modules cnncalc knows are leaves; every other module is traced through."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return _module_rule(m) is not None or isinstance(m, nn.Identity)

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        out = super().call_module(m, forward, args, kwargs)
        if self.is_leaf_module(m, ""):
            # A leaf is not run, so its forward hooks are run here on its (symbolic) output:
            # cnncalc's own modules keep the outputs that `from:` reads with hooks.
            for key, hook in list(m._forward_hooks.items()):
                if key in m._forward_hooks_with_kwargs:
                    result = hook(m, args, kwargs, out)
                else:
                    result = hook(m, args, out)
                if result is not None:
                    out = result
        return out


def _args_text(node: fx.Node) -> str:
    """A call's arguments as an error shows them (nodes by name), cut short."""
    text = ", ".join([*(str(a) for a in node.args),
                      *(f"{k}={v}" for k, v in node.kwargs.items())])
    return f"({text[:120]}{'...' if len(text) > 120 else ''})"


def _place(node: fx.Node) -> tuple[str, dict[str, str]]:
    """The module path that ran a function node, and the classes along it."""
    stack = node.meta.get("nn_module_stack") or {}
    classes = {}
    path = ""
    for value in stack.values():
        path, cls = value[0], value[1]
        # a class (torch.fx) or its dotted name (torch.export)
        classes[path] = getattr(cls, "__name__", None) or str(cls).rsplit(".", 1)[-1]
    return path, classes


def _key(node: fx.Node, counts: dict[tuple[str, ...], int]) -> tuple[Any, ...]:
    """A name for a node that two traces of one module agree on (fx's node names shift when
    one trace has more nodes): the module it calls or runs in, the target, the occurrence."""
    where = str(node.target) if node.op == "call_module" else _place(node)[0]
    base = (node.op, where, describe(node.target) if node.op != "call_module" else "")
    counts[base] = counts.get(base, 0) + 1
    return (*base, counts[base])


class _Converter:
    def __init__(self, root: nn.Module, graph: fx.Graph, shapes: dict[str, tuple[int, ...]],
                 suffix: str = ""):
        self.root = root
        self.modules = dict(root.named_modules())
        self.graph = graph
        self.shapes = shapes
        self.suffix = suffix  # appended to op ids (the training-mode trace's)
        self.ops: list[Op] = []
        self.op_of: dict[str, str] = {}  # node name -> the op id its value is
        self.layouts: dict[str, str] = {}
        self.problems: list[tuple[str, str]] = []  # (where, what is wrong)
        self.called: dict[str, int] = {}
        self.outputs: list[str] = []
        self.used: set[str] = set()  # parameter and buffer names the ops hold
        self.node_of: dict[str, fx.Node] = {}  # op id -> its node

    def source(self, arg: Any) -> str:
        if not isinstance(arg, fx.Node):
            raise Unsupported(f"a constant input {arg!r}")
        if arg.op == "get_attr":
            raise Unsupported(f"the tensor {arg.target!r} used directly in forward (a bare "
                              "nn.Parameter or buffer: cnncalc reads one only as a layer "
                              "scale, `parameter * x`)")
        found = self.op_of.get(arg.name)
        if found is None:
            what = arg.target if arg.op == "call_module" else describe(arg.target)
            raise Unsupported(f"the value of {arg.name} ({what}), which is not a tensor "
                              "cnncalc follows")
        return found

    def add(self, node: fx.Node, kind: str, fields: Fields, inputs: list[Any],
            module: str | None = None, classes: dict[str, str] | None = None,
            trainable: bool = True) -> None:
        """Record `node` as a row of `kind`; `module`: the module that is the row (None: the
        row of a function, inside the module that ran it)."""
        sources = [self.source(i) for i in inputs]
        layouts = {self.layouts.get(i.name, NCHW) for i in inputs}
        if layouts & {GROUPED, SHUFFLED} and kind != "channel_shuffle":
            raise Unsupported(f"{kind} on a 5-D view of a map (cnncalc follows (N, g, C // g, "
                              "H, W) only into a channel shuffle)")
        if NHWC in layouts:
            if kind not in _ELEMENTWISE or len(layouts) > 1:
                raise Unsupported(f"{kind} on a channels-last tensor (cnncalc's {kind} works "
                                  "on NCHW maps)")
            self.layouts[node.name] = NHWC
        where, found = _place(node)
        self.record(node, node.name, kind, fields, sources,
                    where if module is None else module, module is not None, trainable,
                    classes or found)

    def record(self, node: fx.Node, name: str, kind: str, fields: Fields, sources: list[str],
               module: str, own: bool, trainable: bool, classes: dict[str, str]) -> None:
        """Add the op `name` (the trace's suffix added) reading the ops `sources`; its value
        is now `node`'s (the last op recorded for a node is its output)."""
        op_id = name + self.suffix
        self.ops.append(Op(op_id, kind, fields, sources, module, own, trainable, classes))
        self.op_of[node.name] = op_id
        self.node_of[op_id] = node

    def ops_by_node(self) -> dict[str, list[Op]]:
        """The ops each node became (a norm-act module: two), by node name."""
        found: dict[str, list[Op]] = {}
        for op in self.ops:
            found.setdefault(self.node_of[op.id].name, []).append(op)
        return found

    def alias_of(self, node: fx.Node, value: Any, layout: str | None = None) -> None:
        self.op_of[node.name] = self.source(value)
        self.layouts[node.name] = layout or self.layouts.get(value.name, NCHW)

    def run(self) -> None:
        placeholders = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise CnnCalcError(f"the model takes {len(placeholders)} inputs; cnncalc imports "
                               "models with one input tensor")
        self.op_of[placeholders[0].name] = INPUT
        for node in self.graph.nodes:
            if node.op in ("placeholder", "get_attr"):
                continue
            if node.op == "output":
                result = node.args[0]
                parts_of = _tuple_parts(result) if isinstance(result, fx.Node) else None
                result = result if parts_of is None else parts_of
                parts = list(result.values()) if isinstance(result, dict) else \
                    result if isinstance(result, (tuple, list)) else [result]
                try:
                    for part in parts:
                        if isinstance(part, fx.Node) and self.layouts.get(part.name,
                                                                          NCHW) != NCHW:
                            raise Unsupported("the model returns a channels-last tensor or "
                                              "a 5-D view")
                    self.outputs = [self.source(part) for part in parts]
                except Unsupported as exc:
                    self.problems.append(("(output)", str(exc)))
                continue
            self.attempt(node)

    def attempt(self, node: fx.Node) -> None:
        """Convert `node`; a node the tables cannot express becomes a problem (with its module
        path) and a stand-in, so that every later problem is reported too."""
        try:
            self.convert(node)
        except Unsupported as exc:
            self.refuse(node, str(exc), exc.detail)
        except Exception as exc:  # noqa: BLE001 - arguments no rule foresaw: refused, never a crash
            self.refuse(node, f"cnncalc could not read this call's arguments {_args_text(node)} "
                              f"({type(exc).__name__}: {exc})")

    def refuse(self, node: fx.Node, why: str, detail: str = "") -> None:
        """Record why `node` cannot be imported (with its module path), and a stand-in."""
        place, what = self.where(node)
        if detail:
            place = f"{place} [{detail}]"
        self.problems.append((place, f"{what}: {why}" if what else why))
        self.stand_in(node)

    def stand_in(self, node: fx.Node) -> None:
        """After a problem, a stand-in value for `node` (never written: the import fails), so
        that what reads it is still converted and its own problems are reported too, rather
        than every later op failing because of this one. Its layout is its first input's
        when it has as many dims (as element-wise work keeps it), else torch's own: a layout
        says where the channels are in a tensor of its rank, and must not reach another."""
        self.op_of[node.name] = f"!{node.name}"
        first = next((a for a in node.all_input_nodes if a.op != "get_attr"), None)
        rank = len(self.shapes.get(node.name, ()))
        if first is not None and len(self.shapes.get(first.name, ())) == rank:
            self.layouts[node.name] = self.layouts.get(first.name, NCHW)

    def where(self, node: fx.Node) -> tuple[str, str]:
        """(`layer1.0.conv1 (Conv2d)`, "") for a module, (`layer1.0 (Bottleneck)`,
        `torch.roll`) for a function (`(top)`: the model's own forward)."""
        if node.op == "call_module":
            return f"{node.target} ({type(self.modules[str(node.target)]).__name__})", ""
        path, classes = _place(node)
        return (f"{path} ({classes[path]})" if path else "(top)"), describe(node.target)

    def report(self) -> list[str]:
        """The problems, one line per distinct one with every place it occurs."""
        places: dict[str, list[str]] = {}
        for place, what in self.problems:
            places.setdefault(what, []).append(place)
        return [f"cannot import: {where[0]}: {what}" if len(where) == 1 else
                f"cannot import ({len(where)} places): {what}: {', '.join(where)}"
                for what, where in places.items()]

    def convert(self, node: fx.Node) -> None:
        if node.op == "call_module":
            self.call_module(node)
            return
        if self.on_numbers(node):
            return  # arithmetic on sizes (`num_channels // groups`), checks (`_assert`)
        if _tuple_parts(node) is not None:
            return  # a namedtuple of outputs: read by the output or by getitem
        try:
            rule = FUNCTIONS.get(node.target)
        except TypeError:  # an unhashable target
            rule = None
        if rule is None:
            raise Unsupported(*self.why_not(node))
        rule.convert(_Call(self, node))

    def on_numbers(self, node: fx.Node) -> bool:
        """Whether a function reads and gives no tensor (sizes, numbers, flags): no row."""
        return node.name not in self.shapes and not any(
            i.name in self.shapes or i.op in ("get_attr", "placeholder")
            for i in node.all_input_nodes)

    def why_not(self, node: fx.Node) -> tuple[str, str]:
        """Why a function with no rule has none, as helpfully as can be said."""
        attrs = [a for a in node.all_input_nodes if a.op == "get_attr"]
        owner = self.modules.get(str(attrs[0].target).rpartition(".")[0]) if attrs else None
        parent = next((cls for cls in type(owner).__mro__[1:] if cls in SUBCLASSED), None)
        if parent is not None:
            name = f"nn.{parent.__name__}"
            return (f"a subclass of {name} not read as {name} (cnncalc reads one as {name} "
                    f"when it holds {name}'s tensors only, no child modules, and its forward "
                    f"runs the calls {name}'s does)", str(attrs[0].target))
        if attrs:
            return ("uses a tensor of the module directly (a bare nn.Parameter or buffer: "
                    "cnncalc reads one only as a layer scale, `parameter * x` with a (C, 1, 1) "
                    "parameter, as ConvNeXt's)", str(attrs[0].target))
        if node.target in (operator.mul, torch.mul, "mul", "mul_", operator.imul):
            return ("an element-wise product (no cnncalc kind multiplies two tensors; "
                    "a map times its squeeze-and-excitation gate is an se)", "")
        return "has no cnncalc kind", ""

    def call_module(self, node: fx.Node) -> None:
        path = str(node.target)
        module = self.modules[path]
        x = node.args[0] if node.args else None
        if isinstance(module, nn.Identity):
            self.alias_of(node, x)
            return
        rule = _module_rule(module)
        if rule is None:  # pragma: no cover - the tracer makes only these leaves
            raise Unsupported(f"module {type(module).__name__}")
        if not isinstance(x, fx.Node):
            raise Unsupported(f"a constant input {x!r}")
        _, classes = _place(node)
        shape = self.shapes.get(x.name, ())
        layout = self.layouts.get(x.name, NCHW)
        has_params = any(True for _ in module.parameters(recurse=True))
        self.called[path] = self.called.get(path, 0) + 1
        if self.called[path] > 1 and has_params:
            raise Unsupported("called more than once with the same weights (shared weights: "
                              "cnncalc would count them twice)")
        kind, fields = rule.convert(module, shape, layout)
        after = rule.then(module) if rule.then is not None else []
        params = list(module.parameters())
        trainable = not params or any(p.requires_grad for p in params)
        if params and not all(p.requires_grad for p in params) and trainable:
            raise Unsupported("partly frozen (some parameters require no gradient)")
        inputs = list(node.args) if kind in ("add", "concat") else [x]
        self.add(node, kind, fields, inputs, path, classes, trainable)
        parent = path.rpartition(".")[0]
        for index, (then_kind, then_fields) in enumerate(after):
            # a row of the parent named by its kind (no tensors: the state_dict is the same)
            self.record(node, f"{node.name}_{index + 1}", then_kind, then_fields,
                        [self.op_of[node.name]], parent, False, True, classes)
        self.used.update(f"{path}.{name}" for name, _ in module.named_parameters())
        self.used.update(f"{path}.{name}" for name, _ in module.named_buffers())


@dataclass
class Traced:
    """A module as ops: what `to_spec` writes and checks."""

    ops: list[Op]
    outputs: list[str]
    #: each op's output shape (torch's, batch first), by op id
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: FlopCounterMode's FLOPs of one eval-mode forward pass, halved
    macs: int = 0
    #: why the parameters the eval-mode trace left unused are not training-only rows
    unused_why: str = ""
    #: ops the model computes and never uses, left out (they hold no tensors): as the
    #: spec's header names them
    dropped: list[str] = field(default_factory=list)


def _torch_shape(input_shape: tuple[int, ...], batch: int = 1) -> tuple[int, ...]:
    return (batch, input_shape[2], input_shape[0], input_shape[1]) \
        if len(input_shape) == 3 else (batch, *input_shape)


def _graph(module: nn.Module) -> fx.GraphModule:
    try:
        graph = _Tracer().trace(module)
    except Exception as exc:  # torch.fx's TraceError and the errors it lets through
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise CnnCalcError(f"torch.fx cannot trace the model{_user_line(exc)}: {first[:300]} "
                           "(data-dependent control flow, such as an `if` on a tensor's "
                           "values, cannot be imported: torch.fx runs forward once on symbols, "
                           "not numbers)") from None
    return fx.GraphModule(module, graph)


def _user_line(exc: BaseException) -> str:
    """` at model.py:47 (Branchy.forward)`: the last line of the user's code the error passed
    through (not torch's, not cnncalc's); empty when there is none."""
    import os

    found = ""
    tb = exc.__traceback__
    skip = (os.path.dirname(torch.__file__), os.path.dirname(os.path.dirname(__file__)))
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(skip) and not code.co_filename.startswith("<"):
            found = (f" at {os.path.basename(code.co_filename)}:{tb.tb_lineno} "
                     f"({getattr(code, 'co_qualname', code.co_name)})")
        tb = tb.tb_next
    return found


class _Shapes(fx.Interpreter):
    """Runs a traced module, keeping each node's output shape."""

    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.found: dict[str, tuple[int, ...]] = {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            self.found[n.name] = tuple(result.shape)
        return result


@contextmanager
def on_meta(module: nn.Module) -> Iterator[None]:
    """`module` with each parameter and buffer swapped for a meta tensor of its shape while
    inside: a forward pass computes shapes only, allocates nothing, and leaves the module's
    own tensors untouched (batch norm's running statistics included)."""
    from torch.nn.utils.stateless import _reparametrize_module

    tensors = {name: torch.empty_like(t, device="meta") for name, t in (
        *module.named_parameters(remove_duplicate=False),
        *module.named_buffers(remove_duplicate=False))}
    with _reparametrize_module(module, tensors, strict=False):
        yield


@contextmanager
def without_dynamo() -> Iterator[None]:
    """While inside, torch's `_disable_dynamo` wrappers (on every dispatch mode, such as
    FlopCounterMode, and on the meta kernels written in Python, such as batch norm's) find a
    stand-in for `torch._dynamo` instead of importing it, which takes seconds (half of an
    import of ResNet-50). Outside torch.compile, disabling dynamo changes nothing. Everything
    is put back on leaving: the stand-in, and each function's note that it was disabled (so
    a later torch.compile in this process imports the real dynamo and wraps them as usual).
    A pass that needs more of dynamo than the stand-in has fails; `_propagate` then runs it
    again without the stand-in."""
    import types

    if "torch._dynamo" in sys.modules:
        yield
        return
    seen: list[Any] = []

    def disable(fn: Any = None, recursive: bool = True, wrapping: bool = True) -> Any:
        if fn is None:
            return lambda f: disable(f, recursive, wrapping)
        seen.append(fn)
        return fn

    stand_in = types.ModuleType("torch._dynamo")
    stand_in.disable = disable  # type: ignore[attr-defined]
    stand_in.is_compiling = lambda: False  # type: ignore[attr-defined]
    sys.modules["torch._dynamo"] = stand_in
    had = "_dynamo" in vars(torch)
    if not had:
        torch._dynamo = stand_in  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if sys.modules.get("torch._dynamo") is stand_in:
            del sys.modules["torch._dynamo"]
        if not had and vars(torch).get("_dynamo") is stand_in:
            delattr(torch, "_dynamo")
        for fn in seen:
            if getattr(fn, "__dynamo_disable", None) is fn:
                delattr(fn, "__dynamo_disable")


def count_macs(run: Callable[[], Any]) -> int:
    """FlopCounterMode's FLOPs of `run()`, halved (a multiply-add counted once)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops() // 2


def _propagate(gm: fx.GraphModule, shape: tuple[int, ...],
               count: bool) -> tuple[dict[str, tuple[int, ...]], int]:
    """Each node's output shape, from a pass on the meta device, and FlopCounterMode's MACs
    of it (with `count`)."""
    def run() -> tuple[dict[str, tuple[int, ...]], int]:
        interpreter = _Shapes(gm)
        with torch.no_grad(), on_meta(gm):
            x = torch.empty(shape, device="meta")
            if not count:
                interpreter.run(x)
                return interpreter.found, 0
            macs = count_macs(lambda: interpreter.run(x))
        return interpreter.found, macs

    try:
        try:
            with without_dynamo():
                return run()
        except Exception:
            return run()  # the same pass with torch's own dynamo: its error is the model's
    except Exception as exc:
        text = str(exc).strip()
        raise CnnCalcError(f"the model does not run on an input of {shape}: "
                           f"{(text.splitlines()[0] if text else type(exc).__name__)[:300]}"
                           ) from None


def _nchw(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """A traced shape in torch's NCHW order (a channels-last row's output put back)."""
    if layout == NHWC and len(shape) == 4:
        return (shape[0], shape[3], shape[1], shape[2])
    return shape


def _unused(module: nn.Module, used: set[str]) -> list[str]:
    """The parameters and buffers (batch norm's step counter aside) no op holds."""
    names = [n for n, _ in module.named_parameters()] + [
        n for n, _ in module.named_buffers() if not n.endswith("num_batches_tracked")]
    return [n for n in names if n not in used]


def trace(module: nn.Module, input_shape: tuple[int, ...]) -> Traced:
    """The ops of `module` on an input of spec shape `input_shape` (HxWxC or a vector)."""
    was_training = module.training
    try:
        module.eval()
        gm = _graph(module)
        shapes, macs = _propagate(gm, _torch_shape(input_shape), count=True)
        converter = _Converter(module, gm.graph, shapes)
        converter.run()
        if converter.problems:
            raise CnnCalcError(converter.report())
        traced = Traced(converter.ops, converter.outputs, {
            op_id: _nchw(shapes[node.name], converter.layouts.get(node.name, NCHW))
            for op_id, node in converter.node_of.items() if node.name in shapes}, macs)
        if _unused(module, converter.used):
            traced.unused_why = _add_training_only(module, input_shape, converter, traced)
        _drop_dead(module, traced)
    finally:
        module.train(was_training)
    return traced


def _drop_dead(module: nn.Module, traced: Traced) -> None:
    """Leave out the ops whose output nothing uses or returns (timm's DLA computes a tree's
    max pool even where the tree does not read it; Res2Net splits off a part that some blocks
    never read) when they hold no tensors: the model's outputs, params and MACs are the same
    without them. One that holds tensors stays, and the writer refuses it (its state_dict
    would not load otherwise)."""
    while True:
        read = {source for op in traced.ops for source in op.inputs}
        dead = [op for op in traced.ops if op.id not in read and op.id not in traced.outputs
                and not op.training_only and not _holds_tensors(module, op)]
        if not dead:
            return
        ids = {op.id for op in dead}
        traced.ops = [op for op in traced.ops if op.id not in ids]
        traced.dropped += [f"{op.module or '(top)'} ({op.kind})" for op in dead]


def _holds_tensors(module: nn.Module, op: Op) -> bool:
    """Whether an op's row holds parameters or buffers (a module's own row, a layer scale)."""
    if not op.own:
        return False
    try:
        owner = module.get_submodule(op.module)
    except AttributeError:
        return True  # a bare parameter's row (a layer scale)
    return any(True for _ in owner.parameters()) or any(True for _ in owner.buffers())


def _add_training_only(module: nn.Module, input_shape: tuple[int, ...], evaluated: _Converter,
                       traced: Traced) -> str:
    """Trace `module` in training mode and add the ops that only it runs, as training-only
    rows (an auxiliary classifier), when they end in outputs of their own. Anything else is
    left for the check to report (parameters the spec does not count), with the reason
    returned here (empty when the rows were added)."""
    module.train()
    try:
        gm = _graph(module)
        # batch 2: batch norm in training refuses one value per channel (a 1x1 map)
        shapes, _ = _propagate(gm, _torch_shape(input_shape, batch=2), count=False)
    except CnnCalcError as exc:
        return f"in training mode, {exc.problems[0].message}"
    finally:
        module.eval()
    training = _Converter(module, gm.graph, shapes, suffix="@train")
    training.run()
    if training.problems:
        return f"in training mode, {training.report()[0]}"
    # the nodes both traces have, by a key both agree on
    counts: dict[tuple[str, ...], int] = {}
    eval_keys = {_key(node, counts): node.name for node in evaluated.graph.nodes}
    counts = {}
    common: dict[str, str] = {}  # training op id -> eval op id
    extra: list[Op] = []
    eval_ops, training_ops = evaluated.ops_by_node(), training.ops_by_node()
    for node in gm.graph.nodes:
        key = _key(node, counts)
        ops = training_ops.get(node.name, [])
        twin = eval_keys.get(key, "")
        same = [op.id for op in eval_ops.get(twin, [])]
        if not same and len(ops) == 1 and twin in evaluated.op_of:
            same = [evaluated.op_of[twin]]  # a view in eval mode: the op it is
        if ops and len(same) == len(ops):
            common.update((op.id, other) for op, other in zip(ops, same, strict=True))
        else:
            extra.extend(ops)
    if not extra:
        return "the training-mode trace runs no other op"
    ids = {op.id for op in extra}
    readers = {source for op in training.ops if op.id not in ids for source in op.inputs}
    if readers & ids:
        return "ops that run only in training feed the inference path (not an auxiliary head)"
    after: dict[str, list[Op]] = {}  # eval op id -> training-only ops to insert after it
    last = INPUT
    order = {op.id: index for index, op in enumerate(training.ops)}
    for op in sorted(training.ops, key=lambda o: order[o.id]):
        if op.id in common:
            last = common[op.id]
        elif op.id in ids:
            op.inputs = [common.get(i, i) if i != INPUT else INPUT for i in op.inputs]
            if any(i not in ids and i not in common.values() and i != INPUT
                   for i in op.inputs):
                return "an op that runs only in training reads one that runs in neither trace"
            op.training_only = True
            after.setdefault(last, []).append(op)
    merged = list(after.get(INPUT, []))
    for op in traced.ops:
        merged.append(op)
        merged.extend(after.get(op.id, []))
    traced.ops = merged
    for op in extra:
        node = training.node_of[op.id]
        if node.name in shapes:
            shape = _nchw(shapes[node.name], training.layouts.get(node.name, NCHW))
            traced.shapes[op.id] = (1, *shape[1:])
    evaluated.used |= training.used
    return ""


def to_spec(module: nn.Module, input_shape: tuple[int, ...], name: str | None = None,
            description: str = "", check: bool = True) -> str:
    """The YAML text of a spec of `module` on one input of `input_shape` (HxWxC or a vector).
    With `check`, the spec is analysed and compared with the module: every row's shape,
    params, buffers and MACs; any difference is an error."""
    traced = trace(module, tuple(input_shape))
    name = name or type(module).__name__.lower()
    header = [f"Imported from {type(module).__module__}.{type(module).__qualname__} by "
              "cnncalc import (torch.fx)."]
    if traced.dropped:
        header.append("Left out, computed by the model but used by nothing (no tensors): "
                      + ", ".join(traced.dropped) + ".")
    text, paths = write_spec(traced.ops, tuple(input_shape), name, traced.outputs, description,
                             header=header)
    _check_keys(module, traced, paths)
    if check:
        check_spec(text, traced, paths, _counts(module))
    return text


def _check_keys(module: nn.Module, traced: Traced, paths: dict[str, str]) -> None:
    """Every row that holds tensors must be at its module's path, so the module's state_dict
    loads into the spec's; the writer puts a module run again after a sibling in a new row
    (`convs_1`), which would not. Refused, naming the keys, rather than written."""
    moved = [(op.module, paths[op.id]) for op in traced.ops
             if _holds_tensors(module, op) and paths[op.id] != op.module]
    if moved:
        shown = ", ".join(f"{m} (its row would be {p})" for m, p in moved[:6])
        raise CnnCalcError(
            f"cannot keep the state_dict keys of {len(moved)} module(s): {shown}"
            f"{', ...' if len(moved) > 6 else ''}: a module list whose modules run interleaved "
            "with another module's (timm's Res2Net: convs[0], bns[0], convs[1]; HRNet's fuse "
            "layers and head) goes on in a new row after each interruption, and a spec has one "
            "row per name; the import stops rather than write a spec whose weights do not load")


def _counts(module: nn.Module) -> tuple[int, int]:
    """The module's params and buffers (batch norm's step counter is not model state)."""
    return (sum(p.numel() for p in module.parameters()),
            sum(b.numel() for n, b in module.named_buffers()
                if not n.endswith("num_batches_tracked")))


def check_spec(text: str, traced: Traced, paths: dict[str, str],
               counts: tuple[int, int]) -> None:
    """The engine's report of `text` against the traced model: the shape of every op's row,
    params and buffers (`counts`), and MACs (torch's FlopCounterMode, halved)."""
    from ..core.engine import analyze
    from ..core.source import load_text

    report = analyze(load_text(text, "imported"))
    problems = []
    rows = {n.path: n for n in report.walk()}
    for op in traced.ops:
        expected = traced.shapes.get(op.id)
        if expected is None:
            continue
        row = rows.get(paths[op.id])
        if row is None:
            problems.append(f"{paths[op.id]}: no such row in the spec")
            continue
        got = _torch_shape(row.output_shape)
        if got[1:] != tuple(expected)[1:]:
            problems.append(f"{row.path}: the spec gives {got}, torch {tuple(expected)}")
    params, buffers = counts
    if report.totals.params != params:
        why = f" (parameters the eval-mode trace leaves unused: {traced.unused_why})" \
            if traced.unused_why else ""
        problems.append(f"params: the spec counts {report.totals.params:,}, the module has "
                        f"{params:,}{why}")
    if report.totals.buffers != buffers:
        problems.append(f"buffers: the spec counts {report.totals.buffers:,}, the module has "
                        f"{buffers:,}")
    if report.totals.macs != traced.macs:
        problems.append(f"MACs: the spec counts {report.totals.macs:,}, torch's "
                        f"FlopCounterMode {traced.macs:,} (halved)")
    if problems:
        raise CnnCalcError([f"the imported spec disagrees with the model: {p}"
                            for p in problems])


def support_table() -> str:
    """The markdown tables of what `cnncalc import` converts (`docs/importing.md`)."""
    def cls_name(cls: type) -> str:
        return f"nn.{cls.__name__}" if cls.__module__.startswith("torch.nn") \
            else f"{cls.__module__}.{cls.__qualname__}"

    lines = ["| module | becomes | needs |", "| --- | --- | --- |"]
    for cls, rule in MODULES.items():
        lines.append(f"| `{cls_name(cls)}` | `{rule.kinds}` | {rule.note} |")
    for name, rule in TORCHVISION.items():
        lines.append(f"| torchvision's `{name}` | `{rule.kinds}` | {rule.note} |")
    lines.append(f"| a norm-act module | `{NORM_ACT.kinds}` | {NORM_ACT.note} |")
    parents = ", ".join(f"`{cls_name(cls)}`" for cls in SUBCLASSED)
    lines.append(f"| a subclass of {parents} | as its parent | its parent's tensors and no "
                 "child modules; no method overridden but `__init__`, `reset_parameters`, "
                 "`extra_repr`, `__repr__`, or a forward that torch.fx traces to the calls "
                 "its parent's forward runs (timm's `Linear`) |")
    lines.append("| `nn.Identity` | (no row) | |")
    lines += ["", "| function or method | becomes | needs |", "| --- | --- | --- |"]
    together: dict[tuple[str, str], list[str]] = {}  # one row per (kinds, note)
    for target, rule in FUNCTIONS.items():
        names = together.setdefault((rule.kinds, rule.note), [])
        if describe(target) not in names:
            names.append(describe(target))
    for (kinds, note), names in together.items():
        kinds = kinds if kinds.startswith("(") else f"`{kinds}`"
        lines.append(f"| {', '.join(f'`{n}`' for n in names)} | {kinds} | {note} |")
    return "\n".join(lines) + "\n"


__all__ = ["MODULES", "FUNCTIONS", "TORCHVISION", "NORM_ACT", "BUILT", "SUBCLASSED", "Rule",
           "Traced", "trace", "to_spec", "check_spec", "support_table", "describe"]
