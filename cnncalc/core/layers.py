"""Every layer kind, in one table: its fields, its shape rule and its cost rule.

A kind is one pydantic model (the spec's fields, validated strictly) that holds everything
about it: its short forms (`positional`), its shape rule (`output_shape`), its cost rule
(`cost`), its receptive-field windows (`window`), its worked arithmetic (`explain`) and its
scaling behaviour (`width_field`). Its torch builder is the one part that lives elsewhere, in
`cnncalc.torch.BUILDERS` (torch never enters the core); a test fails when a kind lacks a part.
Merges (add, concat), which join paths, are kinds of their own (`Merge`). Shapes are tuples,
`(H, W, C)` for feature maps and `(N,)` for vectors; every count is per example.

Counting conventions (CONVENTIONS.md), stated once, here:
- params: learnable tensors only, as `torch.nn.Module.parameters()` counts them.
- buffers: non-learned state (batch-norm running mean and variance; torch's scalar
  `num_batches_tracked` is not counted).
- MACs: multiply-accumulates of convolutions and dense layers, bias excluded.
- elementwise: other arithmetic per example, by the rule in each kind's docstring
  (one op per element for a bias add or an activation, softmax 3, batch norm 2, ...).

Annotations are evaluated when the module runs (no `from __future__ import annotations`):
pydantic reads each field's type from the object at once, where strings would each be
compiled at import (about 2 ms of every start-up); a kind's method that returns its own kind
quotes the name.
"""

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..errors import CnnCalcError
from . import formulas as F
from . import worked as T
from .footprint import INPLACE, OPERAND, RESULT, New, Op, Save, View
from .formulas import Window

Shape = tuple[int, ...]


#: Past 2**53 a float no longer holds every integer: 2**53 + 1 reads as 2**53.
EXACT_FLOAT_LIMIT = 2**53


def _integral(value: Any) -> Any:
    """Accept whole floats that are surely exact (`10.0`, `1e3`, `$(n / 2)`); refuse
    fractions, bools, text, and floats past 2**53, which may have been rounded already."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be an integer, got {value}")
        if abs(value) > EXACT_FLOAT_LIMIT:
            raise ValueError(f"must be an integer, got the float {value!r}, past 2**53 where "
                             "floats skip integers; write it in digits (in an expression, "
                             "divide with //)")
        return int(value)
    if isinstance(value, str):
        raise ValueError(f"must be an integer, got the text {value!r}")
    return value


Int = Annotated[int, BeforeValidator(_integral), Field(strict=True)]
Positive = Annotated[int, BeforeValidator(_integral), Field(strict=True, gt=0)]
NonNegative = Annotated[int, BeforeValidator(_integral), Field(strict=True, ge=0)]
Pair = Union[Positive, tuple[Positive, Positive]]
PadPair = Union[NonNegative, tuple[NonNegative, NonNegative]]
Padding = Union[
    Literal["valid", "same"], NonNegative, tuple[NonNegative, NonNegative],
    tuple[NonNegative, NonNegative, NonNegative, NonNegative],
]
ExplicitPadding = Union[
    NonNegative, tuple[NonNegative, NonNegative],
    tuple[NonNegative, NonNegative, NonNegative, NonNegative],
]
Bool = Annotated[bool, Field(strict=True)]
#: A real number: an int or a float, finite; never a bool or text (`rate: '0.5'`, `eps: true`).
Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]

ActivationName = Literal["relu", "relu6", "leaky_relu", "tanh", "sigmoid", "silu", "swish",
                         "hardswish", "hardsigmoid", "gelu", "softmax"]
#: Every activation function a spec can name (as a kind, or a layer's `activation:`).
ACTIVATIONS: tuple[str, ...] = ActivationName.__args__  # type: ignore[attr-defined]

#: A kind's receptive-field windows (`Layer.window`): the (height, width) windows, NO_WINDOW
#: when the layer changes nothing, or EVERYWHERE when each output sees its whole input.
Windows = Union[tuple[Window, Window], None, str]
NO_WINDOW: None = None
EVERYWHERE = "all"


def activation_ops(function: str | None, elements: int) -> int:
    """Element-wise ops of an activation: 1 per element, softmax 3 (exp, sum, divide)."""
    if function is None:
        return 0
    return 3 * elements if function == "softmax" else elements


#: What each activation's backward keeps (torch's derivative formulas): its output (relu,
#: tanh, sigmoid, softmax) or its input (the others). In place (`inplace: true`), an
#: activation that keeps its output keeps the overwritten tensor (leaky_relu too: its
#: in-place backward reads the output's sign); one that keeps its input gets a copy of it that
#: autograd makes before the input is overwritten.
ACTIVATION_KEEPS: dict[str, str] = {
    "relu": "output", "tanh": "output", "sigmoid": "output", "softmax": "output",
    "relu6": "input", "leaky_relu": "input", "silu": "input", "swish": "input",
    "hardswish": "input", "hardsigmoid": "input", "gelu": "input",
}
#: The activations with no in-place form in torch.
NOT_IN_PLACE = ("gelu", "softmax")


#: The aten op of an activation where torch names it otherwise (F.relu6 runs a hardtanh).
ATEN_OPS = {"relu6": "hardtanh", "swish": "silu", "softmax": "_softmax"}


def activation_op(function: str, shape: Shape, inplace: bool = False) -> Op:
    """The op of an activation on a tensor of `shape` (see ACTIVATION_KEEPS)."""
    keeps = ACTIVATION_KEEPS[function]
    name = ATEN_OPS.get(function, function)
    if not inplace:
        return Op(name, New(shape), saves=(RESULT if keeps == "output" else OPERAND,))
    if keeps == "output" or function == "leaky_relu":
        return Op(name + "_", INPLACE, saves=(RESULT,))
    return Op(name + "_", INPLACE, saves=(Save("copy"),))


def _then(function: str | None, shape: Shape) -> tuple[Op, ...]:
    """A fused activation after a layer's op (applied out of place)."""
    return () if function is None else (activation_op(function, shape),)


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def prod(shape: Shape) -> int:
    return math.prod(shape)


def fmt_shape(shape: Shape) -> str:
    """The lecture's notation: `37x37x10` for feature maps, `(1960)` for vectors."""
    if len(shape) == 1:
        return f"({shape[0]})"
    return "x".join(str(n) for n in shape)


class Cost(NamedTuple):
    """A layer's counts per example (a tuple: made once per row, it must be cheap)."""

    params: int = 0
    buffers: int = 0
    macs: int = 0
    elementwise: int = 0


class Layer(BaseModel):
    """Base of every layer kind."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: ClassVar[str]
    #: the fields of the short forms (`list_form` says what a list after the kind means):
    #: a bare value fills the first (`dense: 120`), a list fills them in order (`conv: [64, 3]`)
    positional: ClassVar[tuple[str, ...]] = ()
    #: the field a width multiplier scales (`cnncalc scale --width`); None: no width to scale
    width_field: ClassVar[str | None] = None
    #: the ways torch code writes this kind that some peer tool counts differently (an entry's
    #: `written_as:`; the first is the default, torchvision's usual way): `module` (torch's own
    #: nn class), `functional` (a torch.nn.functional call; a conv's or dense layer's
    #: activation as one), `subclass` (a subclass of torch's class, which lookups by exact
    #: type miss), `linear` (a 1x1 convolution as nn.Linear on channels-last tensors), `tensor`
    #: (a tensor operator or method: `a + b`, `x.mean((2, 3))`). What each tool counts for
    #: each is `cnncalc.analyses.conventions`.
    forms: ClassVar[tuple[str, ...]] = ("module",)

    # Every kind states each rule below, even when it is "nothing": a forgotten rule fails
    # loudly (and tests/test_kinds.py checks that every kind defines all four).
    def output_shape(self, shape: Shape) -> Shape:
        """The output shape on an input of `shape`; CnnCalcError when the layer cannot apply."""
        raise NotImplementedError(f"{type(self).__name__} has no shape rule")

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        """Params, buffers, MACs and element-wise ops per example (the class docstring)."""
        raise NotImplementedError(f"{type(self).__name__} has no cost rule")

    def padding_of(self, shape: Shape) -> tuple[int, int, int, int]:
        """(top, bottom, left, right), for kinds that pad."""
        return (0, 0, 0, 0)

    def describe(self) -> str:
        """A short note of the settings, in the lecture's notation (`f=5, s=1`)."""
        return ""

    def window(self, shape: Shape) -> Windows:
        """The receptive-field windows on an input of `shape` (see `receptive`)."""
        raise NotImplementedError(f"{type(self).__name__} has no receptive-field rule")

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        """The worked arithmetic of this layer's numbers (`cnncalc explain`)."""
        raise NotImplementedError(f"{type(self).__name__} has no explanation")

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """The tensor operations torch runs for this layer (`cnncalc.torch.build`'s module,
        in train mode when `training`, else eval mode): what each allocates, views or
        overwrites and what its backward keeps (`core.footprint`, `analyses.memory`)."""
        raise NotImplementedError(f"{type(self).__name__} has no memory rule")


ListForm = Literal["fields", "value", "refused"]


def list_form(model: type[Layer], fixed: tuple[str, ...] = ()) -> ListForm:
    """What a list after the kind means (`KIND: [a, b]`), one reading per kind, never two.

    - "fields": the list fills `positional` in order (`conv: [64, 3, 2, 1]`: filters, kernel,
      stride, padding); each value is one field, a 2-D size is a nested list (`[64, [3, 5]]`).
    - "value": the list is the one positional field's value (`adaptive_pool: [7, 7]` is a 7x7
      target, `pad: [1, 1, 2, 2]` top, bottom, left, right).
    - "refused": the first field is itself a size that a list could hold, so `maxpool: [2, 3]`
      could be kernel 2 and stride 3 or a 2x3 kernel; the mapping form says which. Kinds
      without a positional field (`flatten`, `relu`) take no value at all.
    """
    positional = tuple(f for f in model.positional if f not in fixed)
    if len(positional) == 1:
        return "value"
    if positional and not _takes_list(model.model_fields[positional[0]].annotation):
        return "fields"
    return "refused"


def _takes_list(annotation: Any) -> bool:
    """Whether a field's type admits a list (a tuple or list anywhere in its union)."""
    if get_origin(annotation) in (tuple, list):
        return True
    return any(_takes_list(arg) for arg in get_args(annotation))


def _size_note(value: Any) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return "x".join(str(v) for v in value) if len(set(value)) > 1 else str(value[0])


def _window_note(kernel: Any, stride: Any, padding: Any, dilation: Any,
                 activation: str | None) -> str:
    parts = [f"f={_size_note(kernel)}", f"s={_size_note(stride)}"]
    if padding not in (0, "valid"):
        parts.append(f"p={_size_note(padding)}")
    if dilation not in (1, (1, 1)):
        parts.append(f"d={_size_note(dilation)}")
    if activation:
        parts.append(activation)
    return ", ".join(parts)


def spatial(shape: Shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise CnnCalcError(f"{what} needs an HxWxC input, got {fmt_shape(shape)}")
    return shape[0], shape[1], shape[2]


def explicit_padding(padding: Any) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)  # type: ignore[return-value]


def window_output(kind: str, shape: Shape, kernel: tuple[int, int], stride: tuple[int, int],
                  pads: tuple[int, int, int, int], dilation: tuple[int, int] = (1, 1),
                  ceil_mode: bool = False) -> tuple[int, int]:
    """Output (H, W) of a sliding window; an error with the formula if it does not fit."""
    # pads: (top, bottom, left, right)
    height = F.output_size(shape[0], kernel[0], stride[0], pads[0], pads[1], dilation[0],
                           ceil_mode)
    width = F.output_size(shape[1], kernel[1], stride[1], pads[2], pads[3], dilation[1],
                          ceil_mode)
    if height < 1 or width < 1:
        axis = 0 if height < 1 else 1
        n, f, s, d = shape[axis], kernel[axis], stride[axis], dilation[axis]
        before, after = pads[2 * axis], pads[2 * axis + 1]
        f_eff = F.effective_kernel(f, d)
        eff = f"{f} (dilated to {f_eff})" if d != 1 else str(f)
        name = "height" if axis == 0 else "width"
        value = (n + before + after - f_eff) // s + 1
        raise CnnCalcError(
            f"{kind} kernel {eff} does not fit the input {name} {n} padded by "
            f"{before}+{after}: floor(({n} + {before + after} - {f_eff}) / {s}) + 1 "
            f"= {value} < 1")
    return height, width


class _Convolution(Layer):
    """Fields and shape rule shared by conv, depthwise and separable."""

    kernel: Pair
    stride: Pair = 1
    padding: Padding = 0
    dilation: Pair = 1
    bias: Bool = True
    activation: ActivationName | None = None

    def padding_of(self, shape: Shape) -> tuple[int, int, int, int]:
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            (fh, fw), (sh, sw), (dh, dw) = pair(self.kernel), pair(self.stride), pair(self.dilation)
            return (*F.same_padding(shape[0], fh, sh, dh), *F.same_padding(shape[1], fw, sw, dw))
        return explicit_padding(self.padding)

    def out_channels(self, c_in: int) -> int:
        raise NotImplementedError

    def check_channels(self, c_in: int) -> None:
        return None

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, self.kind)
        self.check_channels(c)
        ho, wo = window_output(self.kind, shape, pair(self.kernel), pair(self.stride),
                               self.padding_of(shape), pair(self.dilation))
        return (ho, wo, self.out_channels(c))

    def describe(self) -> str:
        return _window_note(self.kernel, self.stride, self.padding, self.dilation,
                            self.activation)

    def window(self, shape: Shape) -> Windows:
        (fh, fw), (sh, sw), (dh, dw) = pair(self.kernel), pair(self.stride), pair(self.dilation)
        top, _, left, _ = self.padding_of(shape)
        return Window(fh, sh, top, dh), Window(fw, sw, left, dw)

    def _window_lines(self, shape: Shape) -> list[str]:
        return T.window_lines(shape, self.kernel, self.stride, self.padding_of(shape),
                              self.dilation, same=self.padding == "same")

    def _elementwise(self, out_shape: Shape) -> int:
        n_out = prod(out_shape)
        return (n_out if self.bias else 0) + activation_ops(self.activation, n_out)

    def _padded(self, in_shape: Shape) -> tuple[Op, ...]:
        """Unequal padding is an explicit zero pad before the convolution (a new tensor)."""
        top, bottom, left, right = self.padding_of(in_shape)
        if top == bottom and left == right:
            return ()
        h, w, c = in_shape
        return (Op("constant_pad_nd", New((h + top + bottom, w + left + right, c))),)

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """[pad,] convolution (keeps its input whenever recorded: one formula gives the input's
        and the weight's gradients), the activation."""
        return (*self._padded(in_shape),
                Op("convolution", New(out_shape), params=True, saves=(OPERAND,)),
                *_then(self.activation, out_shape))


class Conv(_Convolution):
    """2-D convolution. Elementwise: one op per output for the bias, one for the activation."""

    kind = "conv"
    forms = ("module", "functional", "subclass", "linear")
    positional = ("filters", "kernel", "stride", "padding")
    width_field = "filters"

    filters: Positive
    kernel: Pair
    groups: Positive = 1

    def out_channels(self, c_in: int) -> int:
        return self.filters

    def check_channels(self, c_in: int) -> None:
        if c_in % self.groups or self.filters % self.groups:
            raise CnnCalcError(
                f"groups = {self.groups} must divide both the input channels ({c_in}) "
                f"and the filters ({self.filters})")

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        fh, fw = pair(self.kernel)
        c_in, (ho, wo, c_out) = in_shape[2], out_shape
        return Cost(
            params=F.conv_params(fh, fw, c_in, c_out, self.groups, self.bias),
            macs=F.conv_macs(fh, fw, c_in, ho, wo, c_out, self.groups),
            elementwise=self._elementwise(out_shape),
        )

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        fh, fw = pair(self.kernel)
        c_in, c_out = in_shape[2], out_shape[2]
        return [*self._window_lines(in_shape),
                f"channels: {self.filters} filters of {fh}x{fw}x{c_in // self.groups} -> {c_out}",
                "params: " + T.conv_params(fh, fw, c_in, c_out, self.groups, self.bias),
                T.per_output(fh, fw, c_in, out_shape, self.groups),
                "MACs: " + T.conv_macs(fh, fw, c_in, out_shape, self.groups)]


class Depthwise(_Convolution):
    """Depthwise convolution: one filter per input channel (`groups = channels`),
    `multiplier` outputs per channel. Elementwise as for conv."""

    kind = "depthwise"
    forms = ("module", "functional", "subclass")
    positional = ("kernel", "stride", "padding")

    multiplier: Positive = 1

    def out_channels(self, c_in: int) -> int:
        return c_in * self.multiplier

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        fh, fw = pair(self.kernel)
        c_in, (ho, wo, c_out) = in_shape[2], out_shape
        return Cost(
            params=F.conv_params(fh, fw, c_in, c_out, c_in, self.bias),
            macs=F.conv_macs(fh, fw, c_in, ho, wo, c_out, c_in),
            elementwise=self._elementwise(out_shape),
        )

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        fh, fw = pair(self.kernel)
        c_in, c_out = in_shape[2], out_shape[2]
        return [*self._window_lines(in_shape),
                f"channels: one {fh}x{fw} filter per input channel, x{self.multiplier} "
                f"-> {c_in}*{self.multiplier} = {c_out} (groups = {c_in})",
                "params: " + T.conv_params(fh, fw, c_in, c_out, c_in, self.bias),
                "MACs: " + T.conv_macs(fh, fw, c_in, out_shape, c_in)]


class Separable(_Convolution):
    """Depthwise separable convolution (MobileNet's unit, Howard et al. 2017; Keras'
    SeparableConv2D): a depthwise convolution without bias, then a 1x1 convolution to
    `filters` channels with the bias. Elementwise: bias and activation on the 1x1 output."""

    kind = "separable"
    forms = ("module", "functional", "subclass")
    positional = ("filters", "kernel", "stride", "padding")
    width_field = "filters"

    filters: Positive
    kernel: Pair
    multiplier: Positive = 1

    def out_channels(self, c_in: int) -> int:
        return self.filters

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """[pad,] the depthwise convolution, the 1x1 convolution (each keeps its input), the
        activation."""
        mid = (*out_shape[:2], in_shape[2] * self.multiplier)
        return (*self._padded(in_shape),
                Op("convolution", New(mid), params=True, saves=(OPERAND,)),
                Op("convolution", New(out_shape), params=True, saves=(OPERAND,)),
                *_then(self.activation, out_shape))

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        fh, fw = pair(self.kernel)
        c_in, (ho, wo, c_out) = in_shape[2], out_shape
        c_mid = c_in * self.multiplier
        return Cost(
            params=F.conv_params(fh, fw, c_in, c_mid, c_in, False)
            + F.conv_params(1, 1, c_mid, c_out, 1, self.bias),
            macs=F.conv_macs(fh, fw, c_in, ho, wo, c_mid, c_in)
            + F.conv_macs(1, 1, c_mid, ho, wo, c_out),
            elementwise=self._elementwise(out_shape),
        )

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        fh, fw = pair(self.kernel)
        c_in, c_out = in_shape[2], out_shape[2]
        c_mid = c_in * self.multiplier
        mid = (out_shape[0], out_shape[1], c_mid)
        return [*self._window_lines(in_shape),
                f"depthwise {fh}x{fw} -> {c_mid} channels, then 1x1 -> {c_out}",
                "params: depthwise " + T.conv_params(fh, fw, c_in, c_mid, c_in, False)
                + "; pointwise " + T.conv_params(1, 1, c_mid, c_out, 1, self.bias),
                "MACs: depthwise " + T.conv_macs(fh, fw, c_in, mid, c_in)
                + "; pointwise " + T.conv_macs(1, 1, c_mid, out_shape, 1),
                *T.separable_ratio(fh, fw, c_in, self.multiplier, out_shape)]


class Pool(Layer):
    """Max or average pooling. Elementwise per output: max `f_h f_w - 1` comparisons,
    avg `f_h f_w` (adds and one divide)."""

    kind = "pool"
    forms = ("module", "functional")
    positional = ("kernel", "stride", "padding")

    mode: Literal["max", "avg"] = "max"
    kernel: Pair
    stride: Pair | None = None
    padding: Padding = 0
    ceil_mode: Bool = False

    def describe(self) -> str:
        return _window_note(self.kernel, self.strides(), self.padding, 1, None) + (
            ", ceil" if self.ceil_mode else "")

    def strides(self) -> tuple[int, int]:
        return pair(self.stride if self.stride is not None else self.kernel)

    def padding_of(self, shape: Shape) -> tuple[int, int, int, int]:
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            (fh, fw), (sh, sw) = pair(self.kernel), self.strides()
            return (*F.same_padding(shape[0], fh, sh), *F.same_padding(shape[1], fw, sw))
        return explicit_padding(self.padding)

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, f"{self.mode} pooling")
        pads = self.padding_of(shape)
        fh, fw = pair(self.kernel)
        # ("same" never exceeds it: its padding is at most f - 1 in all, the larger half after)
        if max(pads[0:2]) > fh // 2 or max(pads[2:4]) > fw // 2:
            raise CnnCalcError(
                f"pooling padding {self.padding} is more than half the kernel {self.kernel} "
                "(PyTorch refuses it: every window would have to start in the input)")
        ho, wo = window_output(f"{self.mode} pooling", shape, (fh, fw), self.strides(), pads,
                               ceil_mode=self.ceil_mode)
        return (ho, wo, c)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        fh, fw = pair(self.kernel)
        window = fh * fw
        return Cost(elementwise=prod(out_shape) * (window if self.mode == "avg" else window - 1))

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """Max: max_pool2d_with_indices, a new output and int64 indices, in eval too; keeps its
        input and the indices. Avg: avg_pool2d, keeps its input. Padding torch's pools cannot
        take (unequal sides) is an explicit pad first (the builder's PaddedPool), and average
        pooling then divides its window sums by the counts of a ones map, a few tensors whatever
        the batch: the division keeps the counts."""
        (fh, fw), (sh, sw) = pair(self.kernel), self.strides()
        top, bottom, left, right = self.padding_of(in_shape)
        if top == bottom and left == right and top <= fh // 2 and left <= fw // 2:
            return (pool_op(self.mode, out_shape),)
        h, w, c = in_shape
        extra_bottom = max(0, (out_shape[0] - 1) * sh + fh - h - top - bottom)
        extra_right = max(0, (out_shape[1] - 1) * sw + fw - w - left - right)
        hp, wp = h + top + bottom, w + left + right
        padded = Op("constant_pad_nd", New((hp + extra_bottom, wp + extra_right, c)))
        if self.mode == "max":
            return (padded, pool_op("max", out_shape))
        counts = out_shape[0] * out_shape[1]
        return (padded,
                Op("avg_pool2d", New(out_shape), saves=(OPERAND,)),  # the window sums: 2
                Op("new_ones", New(fixed=hp * wp), reads=()),  # (flat: laid out contiguous)
                Op("constant_pad_nd", New(fixed=(hp + extra_bottom) * (wp + extra_right))),
                Op("avg_pool2d", New(fixed=counts)),
                Op("div", New(out_shape), reads=(2, -1), saves=(Save("operand", 1, when=0),)))

    def window(self, shape: Shape) -> Windows:
        (fh, fw), (sh, sw) = pair(self.kernel), self.strides()
        top, _, left, _ = self.padding_of(shape)
        return Window(fh, sh, top), Window(fw, sw, left)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        return [*T.window_lines(in_shape, self.kernel, self.strides(), self.padding_of(in_shape),
                                ceil=self.ceil_mode, same=self.padding == "same"),
                f"channels: unchanged ({out_shape[2]}); params 0, MACs 0 ({self.mode} pooling "
                "compares or adds, counted as element-wise ops)"]


class AdaptivePool(Layer):
    """Adaptive pooling to a target size, with torch's windows (`AdaptiveAvgPool2d`,
    `AdaptiveMaxPool2d`): output i of an axis pools input positions
    `[floor(i n_in / n_out), ceil((i + 1) n_in / n_out))`, for any sizes (a target larger
    than the input repeats positions). Where these windows slide evenly (`n_in mod n_out` is 0
    or 1) they are the course notes' window, `s = floor(n_in / n_out)`, `f = n_in - (n_out - 1) s`.
    Elementwise as for pool, summed over the windows: with `S` the sum of an axis's window
    sizes (`n_in + n_out - gcd`), avg `S_h S_w C`, max `(S_h S_w - H_out W_out) C`."""

    kind = "adaptive_pool"
    forms = ("module", "functional")
    positional = ("size",)

    mode: Literal["max", "avg"] = "avg"
    size: Pair

    def uniform_of(self, shape: Shape) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """((f_h, f_w), (s_h, s_w)) when both axes' windows slide evenly (the lecture's
        window), else None."""
        axes = [F.adaptive_uniform(n, t) for n, t in zip(shape[:2], pair(self.size), strict=True)]
        if axes[0] is None or axes[1] is None:
            return None
        (fh, sh), (fw, sw) = axes
        return (fh, fw), (sh, sw)

    def window(self, shape: Shape) -> Windows:
        # an uneven axis: the largest window, and the largest step between neighbouring
        # windows (ceil(n_in / n_out)); a bound on what each output sees
        out = []
        for n, t in zip(shape[:2], pair(self.size), strict=True):
            uniform = F.adaptive_uniform(n, t)
            f, s = uniform if uniform is not None else (F.adaptive_largest(n, t), -(-n // t))
            out.append(Window(f, s))
        return out[0], out[1]

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        lines = []
        for axis, n_in, n_out in (("height", in_shape[0], out_shape[0]),
                                  ("width", in_shape[1], out_shape[1])):
            uniform = F.adaptive_uniform(n_in, n_out)
            if uniform is not None:
                f, s = uniform
                lines.append(f"{axis}: s = floor({n_in} / {n_out}) = {s}, "
                             f"f = {n_in} - ({n_out} - 1)*{s} = {f}")
                continue
            sizes = [e - b for b, e in (F.adaptive_bounds(n_in, n_out, i)
                                        for i in range(min(n_out, 8)))]
            more = ", ..." if n_out > 8 else ""
            lines.append(f"{axis}: {n_in} -> {n_out}, torch's windows "
                         f"[floor(i*{n_in}/{n_out}), ceil((i+1)*{n_in}/{n_out})) of sizes "
                         f"{', '.join(map(str, sizes))}{more} "
                         f"(sum {n_in} + {n_out} - gcd({n_in}, {n_out}) = "
                         f"{F.adaptive_sum(n_in, n_out)})")
        return [*lines, "params 0, MACs 0"]

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, "adaptive pooling")
        th, tw = pair(self.size)
        return (th, tw, c)

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """Even windows: plain pooling (as pool). Uneven: _adaptive_avg_pool2d (keeps its
        input) or adaptive_max_pool2d (a new output and int64 indices; keeps both)."""
        if self.uniform_of(in_shape) is not None:
            return (pool_op(self.mode, out_shape),)
        if self.mode == "max":
            return (Op("adaptive_max_pool2d", New(out_shape),
                       extra=(New(out_shape, dtype="int64"),), saves=(OPERAND, Save("extra"))),)
        return (Op("_adaptive_avg_pool2d", New(out_shape), saves=(OPERAND,)),)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        total = (F.adaptive_sum(in_shape[0], out_shape[0])
                 * F.adaptive_sum(in_shape[1], out_shape[1]))
        c = in_shape[2]
        outputs = out_shape[0] * out_shape[1]
        return Cost(elementwise=c * (total if self.mode == "avg" else total - outputs))


class GlobalPool(Layer):
    """Global pooling over height and width: a vector of C (or 1x1xC with `keepdims`).
    Elementwise: avg `H W` per channel, max `H W - 1`."""

    kind = "global_pool"
    forms = ("module", "functional", "tensor")
    positional = ("mode",)

    mode: Literal["max", "avg"] = "avg"
    keepdims: Bool = False

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, "global pooling")
        return (1, 1, c) if self.keepdims else (c,)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        h, w, c = in_shape
        return Cost(elementwise=c * (h * w if self.mode == "avg" else h * w - 1))

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """avg: mean, which keeps nothing (its gradient needs only the sizes); max: amax, which
        keeps its input and its output."""
        if self.mode == "avg":
            return (Op("mean", New(out_shape, layout="contiguous")),)
        return (Op("amax", New(out_shape, layout="contiguous"), saves=(OPERAND, RESULT)),)

    def window(self, shape: Shape) -> Windows:
        return EVERYWHERE

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        return [f"{self.mode} over all {in_shape[0]}x{in_shape[1]} positions of each channel -> "
                f"{fmt_shape(out_shape)}; params 0, MACs 0"]


class Pad(Layer):
    """Explicit padding: zeros, replication (the two the course notes draw) or reflection. No
    arithmetic."""

    kind = "pad"
    positional = ("padding",)

    padding: ExplicitPadding
    mode: Literal["zeros", "replicate", "reflect"] = "zeros"

    def padding_of(self, shape: Shape) -> tuple[int, int, int, int]:
        return explicit_padding(self.padding)

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, "pad")
        top, bottom, left, right = self.padding_of(shape)
        if self.mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
            raise CnnCalcError(
                f"reflect padding {self.padding} must be smaller than the input {h}x{w}")
        if self.mode == "replicate" and (h == 0 or w == 0):
            raise CnnCalcError("replicate padding needs a non-empty input")
        return (h + top + bottom, w + left + right, c)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost()

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """A new tensor; zeros (constant_pad_nd) keeps nothing, replicate and reflect keep
        their input."""
        if self.mode == "zeros":
            return (Op("constant_pad_nd", New(out_shape)),)
        return (Op(f"{'replication' if self.mode == 'replicate' else 'reflection'}_pad2d",
                   New(out_shape), saves=(OPERAND,)),)

    def window(self, shape: Shape) -> Windows:
        top, _, left, _ = self.padding_of(shape)
        return Window(1, 1, top), Window(1, 1, left)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        top, bottom, left, right = self.padding_of(in_shape)
        return [f"height: {in_shape[0]} + {top} + {bottom} = {out_shape[0]}; width: "
                f"{in_shape[1]} + {left} + {right} = {out_shape[1]} ({self.mode}); params 0"]


class Flatten(Layer):
    """Reshape a feature map to a vector of H*W*C (a vector stays as it is). No arithmetic."""

    kind = "flatten"

    def output_shape(self, shape: Shape) -> Shape:
        return (prod(shape),)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost()

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW  # each element keeps the field of the position it came from

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """A view of a map when its strides allow one (a contiguous map), else a contiguous
        copy (a channels-last map, a crop); a vector is left as it is. Keeps nothing."""
        return () if len(in_shape) == 1 else (Op("view", View("flatten")),)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        return [f"reshape: {'*'.join(map(str, in_shape))} = {T.n(out_shape[0])} values; "
                "params 0"]


class Dense(Layer):
    """Fully connected layer on a vector. Elementwise: bias and activation, one op per output."""

    kind = "dense"
    forms = ("module", "functional", "subclass")
    positional = ("units",)

    units: Positive
    bias: Bool = True
    activation: ActivationName | None = None

    def describe(self) -> str:
        return self.activation or ""

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 1:
            raise CnnCalcError(
                f"dense needs a vector input, got {fmt_shape(shape)}; "
                "put a flatten or global_pool before it")
        return (self.units,)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost(
            params=F.dense_params(in_shape[0], self.units, self.bias),
            macs=F.dense_macs(in_shape[0], self.units),
            elementwise=(self.units if self.bias else 0)
            + activation_ops(self.activation, self.units),
        )

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """addmm (mm without bias), then the activation. It keeps its input only when its
        weight trains (the input is needed for the weight's gradient alone)."""
        return (Op("addmm" if self.bias else "mm", New(out_shape, layout="contiguous"),
                   params=True, saves=(Save("operand", 0, "params"),)),
                *_then(self.activation, out_shape))

    def window(self, shape: Shape) -> Windows:
        return EVERYWHERE

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        n_in, n_out = in_shape[0], out_shape[0]
        params = F.dense_params(n_in, n_out, self.bias)
        p = (f"({T.n(n_in)} + 1) * {T.n(n_out)} = {T.n(params)}" if self.bias
             else f"{T.n(n_in)} * {T.n(n_out)} = {T.n(params)}   (no bias)")
        return [f"every one of {T.n(n_out)} units sees all {T.n(n_in)} inputs",
                f"params: {p}",
                f"MACs: {T.n(n_in)} * {T.n(n_out)} = {T.n(F.dense_macs(n_in, n_out))}"]


class ChannelDense(Layer):
    """A dense layer over the channels of each position of a feature map (torch's `nn.Linear`
    on a channels-last tensor, as ConvNeXt's blocks use it): every position's C_in channels
    become `units` by one shared (units x C_in) matrix. It counts as a 1x1 convolution:
    params `C_in * units` (+ `units` biases), MACs `H * W * C_in * units`, the receptive field
    unchanged. Only its weight differs: (units, C_in), a Linear's, where a 1x1 conv's is
    (units, C_in, 1, 1), so a Linear's state_dict loads into it. Elementwise: bias and
    activation, one op per output. A vector takes `dense` instead (and `dense` refuses maps)."""

    kind = "channel_dense"
    #: torch's nn.Linear on a channels-last tensor; `subclass`: cnncalc's own (the built one)
    forms = ("module", "subclass")
    positional = ("units",)
    width_field = "units"

    units: Positive
    bias: Bool = True
    activation: ActivationName | None = None

    def describe(self) -> str:
        return self.activation or ""

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3:
            raise CnnCalcError(
                f"channel_dense needs a feature map (HxWxC), got {fmt_shape(shape)}; "
                "a vector takes dense")
        return (shape[0], shape[1], self.units)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        h, w, c_in = in_shape
        n_out = prod(out_shape)
        return Cost(
            params=F.dense_params(c_in, self.units, self.bias),
            macs=h * w * F.dense_macs(c_in, self.units),
            elementwise=(n_out if self.bias else 0) + activation_ops(self.activation, n_out),
        )

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """Its input as is when laid out channels last (after a layer norm, a channel_dense,
        an activation of either), else a channels-last copy (after a convolution, a slice of
        channels: `cnncalc.torch.ChannelLinear` makes it, freed when the Linear returns);
        then addmm (mm without bias) on that, a channels-last output, and the activation.
        It keeps what the Linear read (the input or its copy) only when its weight trains."""
        return (Op("clone", View("channels_last")),
                Op("addmm" if self.bias else "mm", New(out_shape, layout="channels_last"),
                   params=True, saves=(Save("operand", 0, "params"),)),
                *_then(self.activation, out_shape))

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW  # each position's own channels: a 1x1 window, stride 1

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        h, w, c_in = in_shape
        params = F.dense_params(c_in, self.units, self.bias)
        p = (f"({T.n(c_in)} + 1) * {T.n(self.units)} = {T.n(params)}" if self.bias
             else f"{T.n(c_in)} * {T.n(self.units)} = {T.n(params)}   (no bias)")
        macs = h * w * F.dense_macs(c_in, self.units)
        return [f"each of {h}x{w} positions: its {T.n(c_in)} channels -> {T.n(self.units)} "
                "(one matrix shared by every position, as a 1x1 conv)",
                f"params: {p}",
                f"MACs: {h}*{w} * {T.n(c_in)} * {T.n(self.units)} = {T.n(macs)}"]


class Activation(Layer):
    """An activation function on its own. Elementwise: 1 op per element, softmax 3
    (exp, sum, divide). Softmax on a feature map runs over the channels. `gelu` is torch's
    exact GELU (`nn.GELU()`, `approximate: none`) unless `approximate: tanh`."""

    kind = "activation"
    forms = ("module", "functional")
    positional = ("function",)

    function: ActivationName
    negative_slope: Real | None = None
    approximate: Literal["none", "tanh"] | None = None
    #: overwrite the input (torch's `inplace=True`): no new tensor
    inplace: Bool = False

    @model_validator(mode="after")
    def _slope_only_for_leaky_relu(self) -> "Activation":
        if self.negative_slope is not None and self.function != "leaky_relu":
            raise ValueError(f"negative_slope applies to leaky_relu, not {self.function}")
        if self.approximate is not None and self.function != "gelu":
            raise ValueError(f"approximate applies to gelu, not {self.function}")
        if self.inplace and self.function in NOT_IN_PLACE:
            raise ValueError(f"{self.function} has no in-place form in torch")
        return self

    def describe(self) -> str:
        return self.function + (" (tanh)" if self.approximate == "tanh" else "") + (
            ", in place" if self.inplace else "")

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """One op: ACTIVATION_KEEPS says what it keeps, in place or not."""
        return (activation_op(self.function, out_shape, self.inplace),)

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost(elementwise=activation_ops(self.function, prod(out_shape)))

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        values = prod(out_shape)
        per = self.cost(in_shape, out_shape).elementwise // values if values else 0
        return [f"{self.function} on each of {T.n(values)} values ({per} op each); shape "
                "unchanged; params 0"]


class BatchNorm(Layer):
    """Batch normalisation over channels: 2C params (scale, shift) when affine, 2C buffers
    (running mean and variance). Elementwise: 2 per element (inference, folded to x*a + b)."""

    kind = "batchnorm"
    positional = ()

    eps: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0)] = 1e-5
    momentum: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)] = 0.1
    affine: Bool = True

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        c = in_shape[-1]
        return Cost(params=2 * c if self.affine else 0, buffers=2 * c,
                    elementwise=2 * prod(out_shape))

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """native_batch_norm: a new output; in train mode also the batch's mean and inverse
        standard deviation (C elements each, whatever the batch), which its backward keeps
        with its input (the running statistics it also keeps are buffers, counted apart)."""
        if not training:
            return (Op("native_batch_norm", New(out_shape), params=self.affine),)
        c = in_shape[-1]
        return (Op("native_batch_norm", New(out_shape), params=self.affine,
                   extra=(New(fixed=c), New(fixed=c)),
                   saves=(OPERAND, Save("extra", 0), Save("extra", 1))),)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        c = in_shape[-1]
        cost = self.cost(in_shape, out_shape)
        params = (f"2 * {c} = {cost.params} (scale, shift)" if self.affine
                  else "0 (affine: false)")
        return [f"params: {params}; buffers: 2 * {c} = {cost.buffers} (running mean, variance)"]


class LayerNorm(Layer):
    """Layer normalisation over the channels of each position (ConvNeXt's LayerNorm2d:
    torch's `nn.LayerNorm(C)` on channels-last; on a vector, over its N): 2C params (scale,
    shift) when affine, no buffers (the statistics are each example's own). Elementwise: 5 per
    element (the mean's add; centre, square and add for the variance; multiply by
    1 / sqrt(var + eps)), plus 2 when affine (scale, shift); the per-position divides and
    square roots are not counted."""

    kind = "layernorm"
    forms = ("module", "subclass", "functional")
    positional = ()

    eps: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0)] = 1e-5
    affine: Bool = True

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW  # over the channels of one position

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        c = in_shape[-1]
        return Cost(params=2 * c if self.affine else 0,
                    elementwise=(7 if self.affine else 5) * prod(out_shape))

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """native_layer_norm (on a map: between two permutes, views): a new output, channels
        last on a map, and a mean and a 1/std per position (in eval too, freed at once); its
        backward keeps its input, the mean and the 1/std."""
        positions = (*in_shape[:-1], 1)
        return (Op("native_layer_norm", New(out_shape, layout="channels_last"),
                   params=self.affine, extra=(New(positions), New(positions)),
                   saves=(OPERAND, Save("extra", 0), Save("extra", 1))),)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        c = in_shape[-1]
        params = f"2 * {c} = {2 * c} (scale, shift)" if self.affine else "0 (affine: false)"
        per = 7 if self.affine else 5
        return [f"normalise the {c} channels of each position (eps {self.eps}); params: "
                f"{params}; buffers 0; {per} ops per value"]


class LayerScale(Layer):
    """A learnable scale per channel (ConvNeXt's `layer_scale`, CaiT's LayerScale), all
    starting at `init`: C params. Elementwise: 1 multiply per element. In torch
    (`cnncalc.torch.build`) the parameter is (C, 1, 1) on a map, (C,) on a vector, and its
    state_dict key is the row's own path (`features.1.0.layer_scale`), as ConvNeXt's bare
    `nn.Parameter` on its block is named: not `<row>.scale` (see `cnncalc.torch.LayerScale`)."""

    kind = "layer_scale"
    forms = ("tensor",)
    positional = ("init",)

    init: Real = 1e-6

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost(params=in_shape[-1], elementwise=prod(out_shape))

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """mul by the scale: keeps its input only when the scale trains."""
        return (Op("mul", New(out_shape), params=True, saves=(Save("operand", 0, "params"),)),)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        return [f"multiply each of the {in_shape[-1]} channels by its own learned scale "
                f"(starting at {self.init}); params {in_shape[-1]}; 1 op per value"]


class InferenceIdentity(Layer):
    """A kind that is the identity at inference (dropout, stochastic depth): the shape is kept,
    nothing is counted, the receptive field is unchanged. Each kind still explains itself."""

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost()

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW


class StochasticDepth(InferenceIdentity):
    """Stochastic depth (torchvision's StochasticDepth: drop a residual body's output per
    example, `row`, or for the whole batch, `batch`, with probability `rate`, scaling the kept
    ones by 1 / (1 - rate) in training). The identity at inference: no arithmetic counted; a
    row of its own, as torch's module is."""

    kind = "stochastic_depth"
    positional = ("rate",)

    rate: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
    mode: Literal["row", "batch"] = "row"

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        return [f"rate {self.rate}, mode {self.mode}; the identity at inference; params 0"]

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """The identity in eval mode or at rate 0. In training: a noise tensor (one value per
        example, `row`, or one for the batch) and mul by it, which keeps the noise."""
        if not training or self.rate == 0:
            return ()
        noise = New((1,)) if self.mode == "row" else New(fixed=1)
        return (Op("empty", noise, reads=()),
                Op("mul", New(out_shape), reads=(0, -1), saves=(Save("operand", 1, when=0),)))


class Dropout(InferenceIdentity):
    """Dropout; the identity at inference. No arithmetic counted."""

    kind = "dropout"
    positional = ("rate",)

    rate: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, lt=1)] = 0.5

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        return [f"rate {self.rate}; the identity at inference; params 0"]

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """The identity in eval mode or at rate 0. In training: native_dropout (as on a GPU),
        a new output and a bool mask (one byte per element), which its backward keeps."""
        if not training or self.rate == 0:
            return ()
        return (Op("native_dropout", New(out_shape), extra=(New(in_shape, dtype="bool"),),
                   saves=(Save("extra"),)),)


class Chunk(Layer):
    """One of `chunks` equal parts of the channels, as torch's `x.chunk(chunks, 1)[index]`
    (parts of `ceil(C / chunks)` channels, the last one smaller). A view: no arithmetic.
    With `from:` several chunks of one output feed different layers (YOLOv8's C2f)."""

    kind = "chunk"
    forms = ("tensor",)
    positional = ("chunks", "index")

    chunks: Annotated[int, BeforeValidator(_integral), Field(strict=True, ge=2)]
    index: NonNegative = 0

    def output_shape(self, shape: Shape) -> Shape:
        sizes = F.chunk_sizes(shape[-1], self.chunks)
        if self.index >= len(sizes):
            raise CnnCalcError(f"chunk {self.index} of {self.chunks}: {shape[-1]} channels make "
                               f"only {len(sizes)} chunks ({' + '.join(map(str, sizes))}), "
                               f"numbered 0 to {len(sizes) - 1}")
        return (*shape[:-1], sizes[self.index])

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost()

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """split: a view of the input's channels; keeps nothing."""
        return (Op("split", View("channels", (out_shape[-1],))),)

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        sizes = F.chunk_sizes(in_shape[-1], self.chunks)
        start = sum(sizes[:self.index])
        return [f"channels {start} to {start + out_shape[-1] - 1} of {in_shape[-1]} (chunk "
                f"{self.index} of {' + '.join(map(str, sizes))}); a view, params 0"]


class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle (Zhang et al. 2018; torch's `nn.ChannelShuffle`): C
    channels as `groups` x C/groups, transposed. A permutation: no arithmetic."""

    kind = "channel_shuffle"
    positional = ("groups",)

    groups: Annotated[int, BeforeValidator(_integral), Field(strict=True, ge=2)]

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, "channel_shuffle")
        if c % self.groups:
            raise CnnCalcError(f"channel_shuffle: {c} channels do not split into "
                               f"{self.groups} equal groups")
        return shape

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost()

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """channel_shuffle: a new tensor; keeps nothing."""
        return (Op("channel_shuffle", New(out_shape)),)

    def window(self, shape: Shape) -> Windows:
        return NO_WINDOW

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        c = in_shape[-1]
        return [f"{c} channels as {self.groups} groups of {c // self.groups}, interleaved; "
                "a permutation, params 0"]


class Crop(Layer):
    """Remove `amount` rows and columns from the sides of a feature map: an integer (every
    side), `[h, w]` (top and bottom, left and right) or `[top, bottom, left, right]`, as `pad`
    takes its padding; torch's `F.pad` with those amounts negated. U-Net's crop of the skip
    connection to the upsampled size (Ronneberger et al. 2015). A view: no arithmetic."""

    kind = "crop"
    forms = ("tensor",)
    positional = ("amount",)

    amount: ExplicitPadding

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, "crop")
        top, bottom, left, right = explicit_padding(self.amount)
        if top + bottom >= h or left + right >= w:
            raise CnnCalcError(f"crop of {top}+{bottom} rows and {left}+{right} columns "
                               f"leaves nothing of the input {h}x{w}")
        return (h - top - bottom, w - left - right, c)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost()

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """Two slices: a view of the input; keeps nothing."""
        amounts = explicit_padding(self.amount)
        # torch slices (an alias when nothing is cut)
        return (Op("slice" if any(amounts) else "alias", View("crop", amounts)),)

    def window(self, shape: Shape) -> Windows:
        top, _, left, _ = explicit_padding(self.amount)
        return Window(1, 1, -top), Window(1, 1, -left)

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        top, bottom, left, right = explicit_padding(self.amount)
        return [f"height: {in_shape[0]} - {top} - {bottom} = {out_shape[0]}; width: "
                f"{in_shape[1]} - {left} - {right} = {out_shape[1]}; a view, params 0"]


class SqueezeExcite(Layer):
    """Squeeze-and-excitation (torchvision's SqueezeExcitation): global average pool,
    1x1 conv C->squeeze with bias, activation, 1x1 conv squeeze->C with bias, gate, and a
    channel-wise multiply of the input. MACs: `2 C squeeze`. Elementwise: pool `H W C`,
    biases and activation `squeeze`, bias and gate `2C`, multiply `H W C`."""

    kind = "se"
    forms = ("module", "functional")
    positional = ("squeeze",)

    squeeze: Positive
    activation: ActivationName = "relu"
    gate: Literal["sigmoid", "hardsigmoid"] = "sigmoid"

    def output_shape(self, shape: Shape) -> Shape:
        spatial(shape, "squeeze-and-excitation")
        return shape

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        h, w, c = in_shape
        s = self.squeeze
        return Cost(
            params=F.conv_params(1, 1, c, s) + F.conv_params(1, 1, s, c),
            macs=F.conv_macs(1, 1, c, 1, 1, s) + F.conv_macs(1, 1, s, 1, 1, c),
            elementwise=h * w * c + 2 * s + 2 * c + h * w * c,
        )

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """mean (keeps nothing), 1x1 convolution (keeps its input), the activation, 1x1
        convolution (keeps its input), the gate, and mul(input, gate): it keeps the input when
        the gate needs a gradient and the gate when the input does."""
        c, s = in_shape[2], self.squeeze
        return (Op("mean", New((1, 1, c), layout="contiguous")),
                Op("convolution", New((1, 1, s)), params=True, saves=(OPERAND,)),
                activation_op(self.activation, (1, 1, s)),
                Op("convolution", New((1, 1, c)), params=True, saves=(OPERAND,)),
                activation_op(self.gate, (1, 1, c)),
                Op("mul", New(out_shape), reads=(0, -1),
                   saves=(Save("operand", 0, when=1), Save("operand", 1, when=0))))

    def window(self, shape: Shape) -> Windows:
        return EVERYWHERE

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        c, s = in_shape[2], self.squeeze
        cost = self.cost(in_shape, out_shape)
        return [f"global average pool -> 1x1 conv {c}->{s} -> {self.activation} -> "
                f"1x1 conv {s}->{c} -> {self.gate} -> scale the input",
                f"params: ({c} + 1)*{s} + ({s} + 1)*{c} = {T.n(cost.params)}",
                f"MACs: {c}*{s} + {s}*{c} = {T.n(cost.macs)}"]


def _transposed_line(axis: str, n: int, f: int, s: int, p: int, d: int, op: int) -> str:
    out = F.transposed_output_size(n, f, s, p, d, op)
    return (f"{axis}: (n - 1)*s - 2*p + d*(f - 1) + output_padding + 1 = "
            f"({n} - 1)*{s} - 2*{p} + {d}*({f} - 1) + {op} + 1 = {out}")


class ConvTranspose(Layer):
    """Transposed 2-D convolution (torch's ConvTranspose2d), the gradient of a convolution:
    each input value scatters `f_h f_w` weights into a window of the output, `stride` apart.
    Output per axis `(n - 1) s - 2p + d (f - 1) + output_padding + 1`; `output_padding` (added
    on one side, bottom/right) must be smaller than the stride or the dilation, as torch
    requires. Params `f_h f_w (c_in / groups) c_out + c_out`. MACs: every input value meets
    every weight of its group once, `f_h f_w (c_out / groups) H_in W_in c_in` (FlopCounterMode).
    Elementwise as for conv: bias and activation, one op per output each."""

    kind = "conv_transpose"
    forms = ("module", "functional", "subclass")
    positional = ("filters", "kernel", "stride", "padding")
    width_field = "filters"

    filters: Positive
    kernel: Pair
    stride: Pair = 1
    padding: PadPair = 0
    output_padding: PadPair = 0
    groups: Positive = 1
    dilation: Pair = 1
    bias: Bool = True
    activation: ActivationName | None = None

    @model_validator(mode="after")
    def _output_padding_below_stride_or_dilation(self) -> "ConvTranspose":
        for op, s, d in zip(pair(self.output_padding), pair(self.stride), pair(self.dilation),
                            strict=True):
            if op >= s and op >= d:
                raise ValueError(
                    f"output_padding {_size_note(self.output_padding)} must be smaller than "
                    f"the stride ({_size_note(self.stride)}) or the dilation "
                    f"({_size_note(self.dilation)}), as torch requires")
        return self

    def describe(self) -> str:
        note = _window_note(self.kernel, self.stride, self.padding, self.dilation,
                            self.activation)
        return note + (f", op={_size_note(self.output_padding)}"
                       if self.output_padding not in (0, (0, 0)) else "")

    def _axes(self, shape: Shape) -> list[tuple[int, int, int, int, int, int]]:
        """(n, f, s, p, d, output_padding) of the height axis and of the width axis."""
        return list(zip(shape[:2], pair(self.kernel), pair(self.stride), pair(self.padding),
                        pair(self.dilation), pair(self.output_padding), strict=True))

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, self.kind)
        if c % self.groups or self.filters % self.groups:
            raise CnnCalcError(
                f"groups = {self.groups} must divide both the input channels ({c}) "
                f"and the filters ({self.filters})")
        out = []
        for axis, args in zip(("height", "width"), self._axes(shape), strict=True):
            size = F.transposed_output_size(*args)
            if size < 1:
                raise CnnCalcError(f"conv_transpose gives no output: "
                                   f"{_transposed_line('output ' + axis, *args)} < 1")
            out.append(size)
        return (out[0], out[1], self.filters)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        fh, fw = pair(self.kernel)
        h, w, c_in = in_shape
        n_out = prod(out_shape)
        return Cost(
            params=F.conv_params(fh, fw, c_in, self.filters, self.groups, self.bias),
            macs=F.transposed_conv_macs(fh, fw, c_in, h, w, self.filters, self.groups),
            elementwise=(n_out if self.bias else 0) + activation_ops(self.activation, n_out),
        )

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """convolution (transposed; keeps its input), the activation."""
        return (Op("convolution", New(out_shape), params=True, saves=(OPERAND,)),
                *_then(self.activation, out_shape))

    def window(self, shape: Shape) -> Windows:
        """Output `k` gets input `i` through tap `t` when `i s + t d = k + p`: the inputs in
        `[(k + p - (f_eff - 1)) / s, (k + p) / s]`. As a window on the input: a fractional
        stride `1/s`, padding `(f_eff - 1 - p) / s` and span `(f_eff - 1) / s` (see
        `receptive`)."""
        out = []
        for _, f, s, p, d, _ in self._axes(shape):
            span = Fraction(F.effective_kernel(f, d) - 1, s)
            out.append(Window(span + 1, Fraction(1, s), span - Fraction(p, s)))
        return out[0], out[1]

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        fh, fw = pair(self.kernel)
        h, w, c_in = in_shape
        c_out, g = self.filters, self.groups
        axes = self._axes(in_shape)
        if axes[0][1:] == axes[1][1:] and h == w:
            sizes = [_transposed_line("output height and width", *axes[0])]
        else:
            sizes = [_transposed_line("output height", *axes[0]),
                     _transposed_line("output width", *axes[1])]
        per = f"{fh}*{fw}*{c_out}" if g == 1 else f"{fh}*{fw}*({c_out}/{g})"
        macs = F.transposed_conv_macs(fh, fw, c_in, h, w, c_out, g)
        return [*sizes,
                f"channels: {c_in} -> {c_out}"
                + (f" in {g} groups" if g > 1 else ""),
                "params: " + T.conv_params(fh, fw, c_in, c_out, g, self.bias),
                f"MACs: each input value meets the weights of its group once: "
                f"{per} * {h}*{w}*{c_in} = {T.n(macs)}"]


def pool_op(mode: str, out_shape: Shape) -> Op:
    """torch's max or average pooling (nn.MaxPool2d, nn.AvgPool2d) to `out_shape`."""
    if mode == "max":
        return Op("max_pool2d_with_indices", New(out_shape),
                  extra=(New(out_shape, dtype="int64"),), saves=(OPERAND, Save("extra")))
    return Op("avg_pool2d", New(out_shape), saves=(OPERAND,))


def _grid_ratio(n_in: int, n_out: int) -> tuple[Fraction, int]:
    q = Fraction(n_in, n_out)
    return q, q.denominator


class Upsample(Layer):
    """Resampling by an integer `factor` (or [h, w]) or to a `size` (exactly one of the two),
    as `F.interpolate` does it: `nearest` copies input `floor(k n_in / n_out)` to output `k`;
    `bilinear` (align_corners false) reads input position `(k + 1/2) n_in / n_out - 1/2`
    (clamped at 0) and weighs its 2x2 neighbours. No params. Elementwise per output value:
    nearest 0 (a copy); bilinear 7: a weighted sum of 4 values, 4 multiplies and 3 adds (the
    weights depend on the row and column only, computed once per axis, not counted)."""

    kind = "upsample"
    forms = ("module", "functional")
    positional = ("factor",)

    factor: Pair | None = None
    size: Pair | None = None
    mode: Literal["nearest", "bilinear"] = "nearest"

    @model_validator(mode="after")
    def _factor_or_size(self) -> "Upsample":
        if (self.factor is None) == (self.size is None):
            raise ValueError("upsample takes exactly one of factor and size")
        return self

    def describe(self) -> str:
        how = (f"x{_size_note(self.factor)}" if self.factor is not None
               else f"to {_size_note(self.size)}")
        return f"{self.mode}, {how}"

    def output_shape(self, shape: Shape) -> Shape:
        h, w, c = spatial(shape, "upsample")
        if self.factor is not None:
            fh, fw = pair(self.factor)
            return (h * fh, w * fw, c)
        th, tw = pair(self.size)  # type: ignore[arg-type]
        return (th, tw, c)

    def cost(self, in_shape: Shape, out_shape: Shape) -> Cost:
        return Cost(elementwise=7 * prod(out_shape) if self.mode == "bilinear" else 0)

    def ops(self, in_shape: Shape, out_shape: Shape, training: bool) -> tuple[Op, ...]:
        """A new tensor; keeps nothing (its gradient needs only the sizes)."""
        return (Op(f"upsample_{self.mode}2d", New(out_shape)),)

    def window(self, shape: Shape) -> Windows:
        """With `q = n_in / n_out = a / b` in lowest terms: nearest's output `k` sees
        `floor(k q)`, in `[k q - (b - 1)/b, k q]`; bilinear's sees `floor(x)` and `floor(x) + 1`
        for `x = k q + (q - 1)/2`, in `[x - (2b - 1)/(2b), x + 1]` (x has denominator 2b)."""
        out = self.output_shape(shape)
        windows = []
        for n_in, n_out in zip(shape[:2], out[:2], strict=True):
            q, b = _grid_ratio(n_in, n_out)
            if self.mode == "nearest":
                back = Fraction(b - 1, b)
                windows.append(Window(back + 1, q, back))
            else:
                back = Fraction(2 * b - 1, 2 * b)
                windows.append(Window(back + 2, q, back - (q - 1) / 2))
        return windows[0], windows[1]

    def explain(self, in_shape: Shape, out_shape: Shape) -> list[str]:
        (h, w, c), (ho, wo, _) = in_shape, out_shape
        if self.factor is not None:
            fh, fw = pair(self.factor)
            size = f"{h}*{fh} x {w}*{fw} = {ho}x{wo}"
        else:
            size = f"to {ho}x{wo} (given)"
        ops = ("a copy, 0 ops" if self.mode == "nearest"
               else f"4 multiplies + 3 adds per value: 7*{T.n(prod(out_shape))} = "
                    f"{T.n(7 * prod(out_shape))} ops")
        return [f"{self.mode}: {size}, channels unchanged ({c}); params 0, MACs 0; {ops}"]


class Merge(Layer):
    """Joins the outputs of several paths into one: a residual's body and shortcut, or a
    parallel block's branches. The engine makes one per container; a spec does not name it.
    Receptive field: the union of the paths (`receptive.union`)."""

    #: why shapes that `combine` refuses cannot be joined
    refusal: ClassVar[str] = ""

    def combine(self, shapes: list[Shape]) -> Shape | None:
        """The joined shape, or None when these shapes cannot be joined."""
        raise NotImplementedError

    def merge_cost(self, shapes: list[Shape], out_shape: Shape) -> Cost:
        """Element-wise ops of joining `shapes` (merges have no params)."""
        raise NotImplementedError(f"{type(self).__name__} has no cost rule")

    def explain_merge(self, shapes: list[Shape], out_shape: Shape) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} has no explanation")

    def merge_ops(self, shapes: list[Shape], out_shape: Shape) -> tuple[Op, ...]:
        """The tensor operations of joining `shapes` (as `Layer.ops`; operand k is path k)."""
        raise NotImplementedError(f"{type(self).__name__} has no memory rule")


class Add(Merge):
    """Element-wise sum of k paths of equal shape. Elementwise: `k - 1` adds per output
    element (adding two tensors is one add per element)."""

    kind = "add"
    forms = ("tensor", "functional")
    refusal = "cannot add branches of different shapes"

    def combine(self, shapes: list[Shape]) -> Shape | None:
        return shapes[0] if all(s == shapes[0] for s in shapes) else None

    def merge_cost(self, shapes: list[Shape], out_shape: Shape) -> Cost:
        return Cost(elementwise=(len(shapes) - 1) * prod(out_shape))

    def merge_ops(self, shapes: list[Shape], out_shape: Shape) -> tuple[Op, ...]:
        """The first two paths added into a new tensor (laid out as the first), the others
        added to it in place; keeps nothing."""
        if len(shapes) < 2:
            return ()
        return (Op("add", New(out_shape), reads=(0, 1)),
                *(Op("add_", INPLACE, reads=(-1, k)) for k in range(2, len(shapes))))

    def explain_merge(self, shapes: list[Shape], out_shape: Shape) -> list[str]:
        listing = " + ".join(fmt_shape(s) for s in shapes)
        per = self.merge_cost(shapes, out_shape).elementwise // max(prod(out_shape), 1)
        return [f"add element-wise: {listing} (shapes must match); {per} add per value"]


class Concat(Merge):
    """Concatenation along the channels (the last axis); every other axis must agree.
    No arithmetic."""

    kind = "concat"
    forms = ("tensor",)
    refusal = "cannot concatenate along channels, spatial sizes differ"

    def combine(self, shapes: list[Shape]) -> Shape | None:
        if len({len(s) for s in shapes}) != 1 or any(s[:-1] != shapes[0][:-1] for s in shapes):
            return None
        return (*shapes[0][:-1], sum(s[-1] for s in shapes))

    def merge_cost(self, shapes: list[Shape], out_shape: Shape) -> Cost:
        return Cost()  # copies, no arithmetic

    def merge_ops(self, shapes: list[Shape], out_shape: Shape) -> tuple[Op, ...]:
        """cat: a new tensor (channels last only when every path is); keeps nothing."""
        return (Op("cat", New(out_shape, layout="cat"), reads=tuple(range(len(shapes)))),)

    def explain_merge(self, shapes: list[Shape], out_shape: Shape) -> list[str]:
        chans = " + ".join(str(s[-1]) for s in shapes)
        return [f"concatenate along channels: {chans} = {out_shape[-1]}"]


#: The merges a container can end in, by name (`parallel: {merge: add}`, a residual's add).
#: Classes, not instances: a pydantic model builds its schema on first use, not at import.
MERGES: dict[str, type[Merge]] = {"add": Add, "concat": Concat}


@dataclass(frozen=True, slots=True)
class KindEntry:
    """A name usable in a spec: the model class and any fields the name fixes."""

    model: type[Layer]
    fixed: tuple[tuple[str, Any], ...] = ()
    summary: str = ""


def _kinds() -> dict[str, KindEntry]:
    table = {
        "conv": KindEntry(Conv, summary="2-D convolution"),
        "depthwise": KindEntry(Depthwise, summary="depthwise convolution (groups = channels)"),
        "separable": KindEntry(Separable, summary="depthwise then 1x1 convolution"),
        "pool": KindEntry(Pool, summary="max or average pooling"),
        "maxpool": KindEntry(Pool, (("mode", "max"),), "max pooling"),
        "avgpool": KindEntry(Pool, (("mode", "avg"),), "average pooling"),
        "adaptive_pool": KindEntry(AdaptivePool, summary="pooling to a target size"),
        "global_pool": KindEntry(GlobalPool, summary="pooling over all of height and width"),
        "pad": KindEntry(Pad, summary="zero, replicate or reflect padding"),
        "flatten": KindEntry(Flatten, summary="feature map to vector"),
        "dense": KindEntry(Dense, summary="fully connected layer"),
        "channel_dense": KindEntry(ChannelDense, summary="a dense layer over the channels of "
                                                         "each position"),
        "activation": KindEntry(Activation, summary="an activation function by name"),
        "batchnorm": KindEntry(BatchNorm, summary="batch normalisation"),
        "dropout": KindEntry(Dropout, summary="dropout (identity at inference)"),
        "layernorm": KindEntry(LayerNorm, summary="layer normalisation over the channels"),
        "layer_scale": KindEntry(LayerScale, summary="a learnable scale per channel"),
        "stochastic_depth": KindEntry(StochasticDepth,
                                      summary="stochastic depth (identity at inference)"),
        "se": KindEntry(SqueezeExcite, summary="squeeze-and-excitation"),
        "conv_transpose": KindEntry(ConvTranspose, summary="transposed convolution"),
        "upsample": KindEntry(Upsample, summary="nearest or bilinear upsampling"),
        "chunk": KindEntry(Chunk, summary="one equal part of the channels (torch's chunk)"),
        "channel_shuffle": KindEntry(ChannelShuffle, summary="ShuffleNet's channel shuffle"),
        "crop": KindEntry(Crop, summary="remove rows and columns from the sides"),
    }
    for name in ACTIVATIONS:
        function = "silu" if name == "swish" else name
        table[name] = KindEntry(Activation, (("function", function),), f"{name} activation")
    return table


#: Every leaf layer kind a spec can name. Containers (seq, residual, parallel) and user
#: blocks are handled by the spec parser.
KINDS: dict[str, KindEntry] = _kinds()
