"""Receptive fields: what region of the input each layer's outputs see.

The rules are those of Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill 2019), applied layer by layer, per spatial axis. Three numbers describe
a layer's outputs along an axis:

- size `r`: how many input pixels one output sees (padding included);
- effective stride `j` ("jump"): how far apart in the input two neighbouring outputs are;
- effective padding `p`: how far before the first input pixel the first output's field starts
  (output `k` sees input pixels `k*j - p .. k*j - p + r - 1`).

The input starts at `r = 1, j = 1, p = 0`. A window layer (kernel `f`, stride `s`, dilation `d`,
padding `p_l` before the axis; the effective kernel is `f_eff = d (f - 1) + 1`) gives

    r' = r + (f_eff - 1) * j        j' = j * s        p' = p + p_l * j

Per kind (each kind's `window` method, in `layers`): conv, depthwise and separable are
windows (separable's 1x1 adds nothing); pooling is a window with its padding; adaptive
pooling uses the lecture's window `s = floor(n_in / n_out)`, `f = n_in - (n_out - 1) s` where
torch's windows slide evenly (`n_in mod n_out` 0 or 1), else the largest of torch's windows
and the largest step between them, `ceil(n_in / n_out)` (a bound); a pad layer is
`f = 1, s = 1` with its padding (so only `p` grows); global pooling, dense and
squeeze-and-excitation see every position of their input (a window as large as the grid,
stride 1); flatten, activations, batch norm, layer norm, layer scale, dropout and stochastic
depth change nothing (flatten keeps the positions the vector's elements came from).

Upsampling (not in Araujo et al., who treat only layers that keep or shrink the grid) makes the
jump fractional. A transposed convolution (kernel `f`, stride `s`, padding `p`, dilation `d`)
gives output `k` the input `i` through tap `t` when `i s + t d = k + p`, so output `k` sees the
inputs in `[(k + p - (f_eff - 1)) / s, (k + p) / s]`: a window of stride `1/s`, padding
`(f_eff - 1 - p) / s` and span `(f_eff - 1) / s` (kernel `f = (f_eff - 1)/s + 1`, `d = 1`).
`upsample` with `q = n_in / n_out = a/b` in lowest terms: nearest's output `k` copies input
`floor(k q)`, in `[k q - (b - 1)/b, k q]` (stride `q`, padding and span `(b - 1)/b`); bilinear's
(align_corners false) reads `floor(x)` and `floor(x) + 1` for `x = k q + (q - 1)/2` (clamped at
0 and n - 1), in `[x - (2b - 1)/(2b), x + 1]`. The same three formulas then hold with
fractions: `r`, `j` and `p` are exact rationals (`fractions.Fraction`, whole ones shown as
integers), and output `k` sees the whole pixels of the real interval `[k j - p, k j - p + r - 1]`
(the honest span; with a stride and a dilation both above 1 some of them are skipped). Text
shows a fraction as `5/2`, JSON as the string `"5/2"`. `tests/test_upsampling.py` checks these
windows against the pixels torch's gradients reach.

Branches: a parallel block's branches and a residual block's body and shortcut (identity or
projection) start from the block's input; the merge (add or concat) sees the union of what its
inputs see. Along an axis the union spans from the earliest start to the latest end:
`p = max p_i`, `r = max(r_i - p_i) + max p_i`, `j = max j_i`. When the paths are centred alike
(e.g. 3x3 with p=1 beside 1x1 with p=0) this is the largest `r` over the paths, as Araujo et al.
take it; when they are not, it is the honest span (larger than every single path's `r`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..core import formulas as F
from ..core.formulas import Window
from ..core.layers import EVERYWHERE, Layer, Shape
from ..core.report import Node, Report

Number = int | Fraction


def exact(x: Number) -> Number:
    """A whole fraction as an int (`Fraction(4, 2)` -> 2); others unchanged."""
    return int(x) if isinstance(x, Fraction) and x.denominator == 1 else x


def _json_number(x: Number) -> int | str:
    return x if isinstance(x, int) else str(x)


@dataclass(frozen=True, slots=True)
class Axis:
    """The receptive field along one axis, and how many output positions there are."""

    size: Number = 1
    stride: Number = 1
    padding: Number = 0
    positions: int = 1


@dataclass(frozen=True, slots=True)
class Field:
    """The receptive field of one layer's outputs: height axis and width axis."""

    h: Axis
    w: Axis

    @property
    def size(self) -> Number:
        return self.h.size

    @property
    def stride(self) -> Number:
        return self.h.stride

    @property
    def padding(self) -> Number:
        return self.h.padding

    @property
    def square(self) -> bool:
        return (self.h.size, self.h.stride, self.h.padding) == (
            self.w.size, self.w.stride, self.w.padding)

    def to_dict(self) -> dict[str, Any]:
        """`{"size", "stride", "padding"}` of the height axis, plus `"width"` when it differs."""
        out: dict[str, Any] = {"size": _json_number(self.h.size),
                               "stride": _json_number(self.h.stride),
                               "padding": _json_number(self.h.padding)}
        if not self.square:
            out["width"] = {"size": _json_number(self.w.size),
                            "stride": _json_number(self.w.stride),
                            "padding": _json_number(self.w.padding)}
        return out

    def text(self) -> str:
        """`212 / 32 / 90` (size / stride / padding), `HxW` parts when the axes differ."""
        if self.square:
            return f"{self.h.size} / {self.h.stride} / {self.h.padding}"
        return (f"{self.h.size}x{self.w.size} / {self.h.stride}x{self.w.stride} / "
                f"{self.h.padding}x{self.w.padding}")


# --------------------------------------------------------------------------- pure formulas

def step(axis: Axis, window: Window, positions: int) -> Axis:
    """One window layer: `r' = r + (f_eff - 1) j`, `j' = j s`, `p' = p + p_l j`."""
    f_eff = F.effective_kernel(window.f, window.d)
    return Axis(exact(axis.size + (f_eff - 1) * axis.stride), exact(axis.stride * window.s),
                exact(axis.padding + window.p * axis.stride), positions)


def union(axes: list[Axis], positions: int) -> Axis:
    """What a merge of several paths sees: the span from the earliest start to the latest end."""
    padding = max(a.padding for a in axes)
    end = max(a.size - a.padding for a in axes)
    return Axis(end + padding, max(a.stride for a in axes), padding, positions)


def _positions(shape: Shape, before: Field) -> tuple[int, int]:
    if len(shape) == 3:
        return shape[0], shape[1]
    return before.h.positions, before.w.positions  # a vector keeps its elements' positions


def through(layer: Layer, in_shape: Shape, out_shape: Shape, before: Field) -> Field:
    """The field after one leaf layer, from the field of its input."""
    rule = layer.window(in_shape)
    ph, pw = _positions(out_shape, before)
    if rule is None:
        return Field(Axis(before.h.size, before.h.stride, before.h.padding, ph),
                     Axis(before.w.size, before.w.stride, before.w.padding, pw))
    if rule == EVERYWHERE:
        wh, ww = Window(before.h.positions), Window(before.w.positions)
        return Field(step(before.h, wh, 1), step(before.w, ww, 1))
    assert not isinstance(rule, str)
    return Field(step(before.h, rule[0], ph), step(before.w, rule[1], pw))


def input_field(shape: Shape) -> Field:
    """The input itself: each value sees one pixel."""
    if len(shape) == 3:
        return Field(Axis(positions=shape[0]), Axis(positions=shape[1]))
    return Field(Axis(), Axis())


# --------------------------------------------------------------------------- over a report

def receptive_fields(report: Report,
                     inputs: dict[str, Field] | None = None) -> dict[str, Field]:
    """The receptive field at the output of every node (layers, merges and blocks), by path.

    With `inputs`, it is also filled with the field at the input of every layer (leaf).
    A row with `from:` starts from the fields of the rows it names (`input`: the input's);
    an add or concat written as a layer is a merge of those.
    """
    out: dict[str, Field] = {"input": input_field(report.input_shape)}
    current = out["input"]
    for node in report.nodes:
        current = _visit(node, current, out, inputs)
    return {path: field for path, field in out.items()
            if path != "input" and not path.endswith(".input")}


def merged(fields: list[Field], shape: Shape, before: Field) -> Field:
    """The field of a merge of paths with these fields, giving `shape`."""
    if len(fields) == 1:
        return fields[0]
    ph, pw = _positions(shape, before)
    return Field(union([f.h for f in fields], ph), union([f.w for f in fields], pw))


def _visit(node: Node, before: Field, out: dict[str, Field],
           inputs: dict[str, Field] | None = None) -> Field:
    if node.sources:
        given = [out[path] for path in node.sources]
        before = given[0]
        if node.is_join:
            out[node.path] = merged(given, node.output_shape, before)
            return out[node.path]
    if node.children is None:
        if inputs is not None:
            inputs[node.path] = before
        assert node.layer is not None and not node.is_merge  # merges: handled by their block
        result = through(node.layer, node.input_shape, node.output_shape, before)
        out[node.path] = result
        return result
    out[f"{node.path}.input"] = before  # what `from: input` reads inside it
    current = before
    paths: list[Field] = []
    shortcut: Field | None = None
    for child in node.children:
        if child.container == "branch":
            paths.append(_visit(child, before, out, inputs))
        elif child.container == "shortcut":
            shortcut = _visit(child, before, out, inputs)
        elif child.is_merge:
            current = merged(paths or [current, shortcut or before], child.output_shape,
                             current)
            out[child.path] = current
        else:
            current = _visit(child, current, out, inputs)
    out[node.path] = current
    return current
