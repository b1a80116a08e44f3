"""The arithmetic behind every number, with the numbers filled in, layer by layer.

`explain(report)` gives, for each layer, lines such as

    output size: floor((39 + 2*0 - 3) / 1) + 1 = 37
    params: (3*3*3 + 1) * 10 = 280
    MACs: 3*3*3 * 37*37*10 = 369,630
    receptive field: r = 1 + (3 - 1)*1 = 3, j = 1*1 = 1, p = 0 + 0*1 = 0

The text for each layer kind is in one explicit table, `EXPLAIN` (a test checks that every kind
has an entry). Counts are per example, as in the table's rows at batch 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import formulas as F
from .errors import CnnCalcError
from .layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    Dense,
    Depthwise,
    Dropout,
    Flatten,
    GlobalPool,
    Layer,
    Pad,
    Pool,
    Separable,
    Shape,
    SqueezeExcite,
    fmt_shape,
    pair,
    prod,
)
from .receptive import Axis, Field, Window, receptive_fields, step, windows
from .report import Node, Report


def n(value: int) -> str:
    return f"{value:,}"


# --------------------------------------------------------------------------- shared pieces

def size_line(label: str, n_in: int, f: int, s: int, before: int, after: int, d: int = 1,
              ceil: bool = False) -> str:
    """`floor((n + 2*p - f) / s) + 1 = out` (asymmetric padding and dilation spelled out)."""
    f_eff = F.effective_kernel(f, d)
    pad = f"2*{before}" if before == after else f"{before} + {after}"
    rounding = "ceil" if ceil else "floor"
    out = F.output_size(n_in, f, s, before, after, d, ceil)
    text = f"{label}: {rounding}(({n_in} + {pad} - {f_eff}) / {s}) + 1 = {out}"
    if d != 1:
        text += f"   (dilated kernel f_eff = {d}*({f} - 1) + 1 = {f_eff})"
    if ceil and out != F.output_size(n_in, f, s, before, after, d, False):
        text += "   (ceil_mode)"
    return text


def window_lines(shape: Shape, kernel: Any, stride: Any, pads: tuple[int, int, int, int],
                 dilation: Any = 1, ceil: bool = False) -> list[str]:
    (fh, fw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    top, bottom, left, right = pads
    h = (shape[0], fh, sh, top, bottom, dh)
    w = (shape[1], fw, sw, left, right, dw)
    if h == w:
        return [size_line("output height and width", *h, ceil=ceil)]
    return [size_line("output height", *h, ceil=ceil), size_line("output width", *w, ceil=ceil)]


def _conv_params(fh: int, fw: int, c_in: int, c_out: int, groups: int, bias: bool) -> str:
    per = f"{fh}*{fw}*{c_in}" if groups == 1 else f"{fh}*{fw}*({c_in}/{groups})"
    total = F.conv_params(fh, fw, c_in, c_out, groups, bias)
    if bias:
        return f"({per} + 1) * {c_out} = {n(total)}"
    return f"{per} * {c_out} = {n(total)}   (no bias)"


def _conv_macs(fh: int, fw: int, c_in: int, out: Shape, groups: int) -> str:
    per = f"{fh}*{fw}*{c_in}" if groups == 1 else f"{fh}*{fw}*({c_in}/{groups})"
    ho, wo, c_out = out
    return f"{per} * {ho}*{wo}*{c_out} = {n(F.conv_macs(fh, fw, c_in, ho, wo, c_out, groups))}"


# --------------------------------------------------------------------------- per kind

def _conv(layer: Any, i: Shape, o: Shape) -> list[str]:
    fh, fw = pair(layer.kernel)
    lines = window_lines(i, layer.kernel, layer.stride, layer.padding_of(i), layer.dilation)
    lines.append(f"channels: {layer.filters} filters of {fh}x{fw}x"
                 f"{i[2] // layer.groups} -> {o[2]}")
    lines.append("params: " + _conv_params(fh, fw, i[2], o[2], layer.groups, layer.bias))
    lines.append("MACs: " + _conv_macs(fh, fw, i[2], o, layer.groups))
    return lines


def _depthwise(layer: Any, i: Shape, o: Shape) -> list[str]:
    fh, fw = pair(layer.kernel)
    lines = window_lines(i, layer.kernel, layer.stride, layer.padding_of(i), layer.dilation)
    lines.append(f"channels: one {fh}x{fw} filter per input channel, x{layer.multiplier} "
                 f"-> {i[2]}*{layer.multiplier} = {o[2]} (groups = {i[2]})")
    lines.append("params: " + _conv_params(fh, fw, i[2], o[2], i[2], layer.bias))
    lines.append("MACs: " + _conv_macs(fh, fw, i[2], o, i[2]))
    return lines


def _separable(layer: Any, i: Shape, o: Shape) -> list[str]:
    fh, fw = pair(layer.kernel)
    c_mid = i[2] * layer.multiplier
    mid = (o[0], o[1], c_mid)
    lines = window_lines(i, layer.kernel, layer.stride, layer.padding_of(i), layer.dilation)
    lines.append(f"depthwise {fh}x{fw} -> {c_mid} channels, then 1x1 -> {o[2]}")
    lines.append("params: depthwise " + _conv_params(fh, fw, i[2], c_mid, i[2], False)
                 + "; pointwise " + _conv_params(1, 1, c_mid, o[2], 1, layer.bias))
    lines.append("MACs: depthwise " + _conv_macs(fh, fw, i[2], mid, i[2])
                 + "; pointwise " + _conv_macs(1, 1, c_mid, o, 1))
    return lines


def _pool(layer: Any, i: Shape, o: Shape) -> list[str]:
    lines = window_lines(i, layer.kernel, layer.strides(), layer.padding_of(i),
                         ceil=layer.ceil_mode)
    lines.append(f"channels: unchanged ({o[2]}); params 0, MACs 0 ({layer.mode} pooling "
                 "compares or adds, counted as element-wise ops)")
    return lines


def _adaptive(layer: Any, i: Shape, o: Shape) -> list[str]:
    lines = []
    for axis, n_in, n_out in (("height", i[0], o[0]), ("width", i[1], o[1])):
        f, s = F.adaptive_window(n_in, n_out)
        lines.append(f"{axis}: s = floor({n_in} / {n_out}) = {s}, "
                     f"f = {n_in} - ({n_out} - 1)*{s} = {f}")
    lines.append("params 0, MACs 0")
    return lines


def _global(layer: Any, i: Shape, o: Shape) -> list[str]:
    return [f"{layer.mode} over all {i[0]}x{i[1]} positions of each channel -> "
            f"{fmt_shape(o)}; params 0, MACs 0"]


def _pad(layer: Any, i: Shape, o: Shape) -> list[str]:
    top, bottom, left, right = layer.padding_of(i)
    return [f"height: {i[0]} + {top} + {bottom} = {o[0]}; width: {i[1]} + {left} + {right} "
            f"= {o[1]} ({layer.mode}); params 0"]


def _flatten(layer: Any, i: Shape, o: Shape) -> list[str]:
    return [f"reshape: {'*'.join(map(str, i))} = {n(o[0])} values; params 0"]


def _dense(layer: Any, i: Shape, o: Shape) -> list[str]:
    params = F.dense_params(i[0], o[0], layer.bias)
    p = (f"({n(i[0])} + 1) * {n(o[0])} = {n(params)}" if layer.bias
         else f"{n(i[0])} * {n(o[0])} = {n(params)}   (no bias)")
    return [f"every one of {n(o[0])} units sees all {n(i[0])} inputs",
            f"params: {p}", f"MACs: {n(i[0])} * {n(o[0])} = {n(F.dense_macs(i[0], o[0]))}"]


def _activation(layer: Any, i: Shape, o: Shape) -> list[str]:
    per = 3 if layer.function == "softmax" else 1
    return [f"{layer.function} on each of {n(prod(o))} values ({per} op each); shape "
            "unchanged; params 0"]


def _batchnorm(layer: Any, i: Shape, o: Shape) -> list[str]:
    c = i[-1]
    params = f"2 * {c} = {2 * c} (scale, shift)" if layer.affine else "0 (affine: false)"
    return [f"params: {params}; buffers: 2 * {c} = {2 * c} (running mean, variance)"]


def _dropout(layer: Any, i: Shape, o: Shape) -> list[str]:
    return [f"rate {layer.rate}; the identity at inference; params 0"]


def _se(layer: Any, i: Shape, o: Shape) -> list[str]:
    c, s = i[2], layer.squeeze
    return [f"global average pool -> 1x1 conv {c}->{s} -> {layer.activation} -> "
            f"1x1 conv {s}->{c} -> {layer.gate} -> scale the input",
            f"params: ({c} + 1)*{s} + ({s} + 1)*{c} = "
            f"{n(F.conv_params(1, 1, c, s) + F.conv_params(1, 1, s, c))}",
            f"MACs: {c}*{s} + {s}*{c} = {n(2 * c * s)}"]


#: Every layer class and the function that explains it (a test checks none is missing).
EXPLAIN: dict[type[Layer], Callable[[Any, Shape, Shape], list[str]]] = {
    Conv: _conv,
    Depthwise: _depthwise,
    Separable: _separable,
    Pool: _pool,
    AdaptivePool: _adaptive,
    GlobalPool: _global,
    Pad: _pad,
    Flatten: _flatten,
    Dense: _dense,
    Activation: _activation,
    BatchNorm: _batchnorm,
    Dropout: _dropout,
    SqueezeExcite: _se,
}


# --------------------------------------------------------------------------- receptive field

def _rf_axis(before: Axis, window: Window | None, after: Axis) -> str:
    if window is None:
        return f"r = {after.size}, j = {after.stride}, p = {after.padding} (unchanged)"
    f_eff = F.effective_kernel(window.f, window.d)
    return (f"r = {before.size} + ({f_eff} - 1)*{before.stride} = {after.size}, "
            f"j = {before.stride}*{window.s} = {after.stride}, "
            f"p = {before.padding} + {window.p}*{before.stride} = {after.padding}")


def rf_lines(layer: Layer, in_shape: Shape, before: Field, after: Field) -> list[str]:
    """The receptive-field step of one layer, numbers filled in (see `receptive`)."""
    rule = windows(layer, in_shape)
    if rule is None:
        pairs: tuple[Window | None, Window | None] = (None, None)
    elif rule == "all":
        pairs = (Window(before.h.positions), Window(before.w.positions))
    else:
        assert not isinstance(rule, str)
        pairs = rule
    note = "   (sees every position)" if rule == "all" else ""
    h = _rf_axis(before.h, pairs[0], after.h)
    w = _rf_axis(before.w, pairs[1], after.w)
    if h == w:
        return [f"receptive field: {h}{note}"]
    return [f"receptive field (height): {h}{note}", f"receptive field (width): {w}"]


# --------------------------------------------------------------------------- the report

def explain_node(node: Node, before: Field | None, after: Field) -> list[str]:
    """The lines for one node: its heading, then its arithmetic."""
    head = (f"{node.path} ({node.kind}): {fmt_shape(node.input_shape)} -> "
            f"{fmt_shape(node.output_shape)}")
    if node.children is not None:
        return [f"{head}; block total params {n(node.params)}, MACs {n(node.macs)}"]
    if node.layer is None:  # a merge made by the engine
        shapes = " + ".join(fmt_shape(s) for s in node.inputs)
        head = f"{node.path} ({node.kind}): {shapes} -> {fmt_shape(node.output_shape)}"
        if node.kind == "concat":
            chans = " + ".join(str(s[-1]) for s in node.inputs)
            body = [f"concatenate along channels: {chans} = {node.output_shape[-1]}"]
        else:
            body = [f"add element-wise: {shapes} (shapes must match); "
                    f"{len(node.inputs) - 1} add per value"]
        body.append(f"receptive field: the union of the paths: r = {after.size}, "
                    f"j = {after.stride}, p = {after.padding}")
        return [head, *("  " + line for line in body)]
    rule = EXPLAIN[type(node.layer)]
    body = rule(node.layer, node.input_shape, node.output_shape)
    if before is not None:
        body += rf_lines(node.layer, node.input_shape, before, after)
    return [head, *("  " + line for line in body)]


def select(report: Report, layer: str | None) -> list[Node]:
    """Every node, or the node named `layer` (a path or a unique name) and what is inside it."""
    nodes = list(report.walk())
    if layer is None:
        return nodes
    from .freeze import find_node

    try:
        target = find_node(report, layer)
    except CnnCalcError as exc:
        raise CnnCalcError(str(exc.problems[0].message).replace("freeze until", "--layer")
                           ) from None
    return list(target.walk())


def explain(report: Report, layer: str | None = None) -> list[str]:
    """All the lines of `cnncalc explain`."""
    inputs: dict[str, Field] = {}
    fields = receptive_fields(report, inputs)
    lines = [f"input: {fmt_shape(report.input_shape)} = {n(report.input_size)} values; "
             "receptive field r = 1, j = 1, p = 0"] if layer is None else []
    for node in select(report, layer):
        lines += explain_node(node, inputs.get(node.path), fields[node.path])
    return lines


__all__ = ["EXPLAIN", "explain", "explain_node", "rf_lines", "size_line", "step"]
