"""The counting rules, pinned from outside the engine.

(a) docs/conventions.md holds one table of the rules (params, buffers, MACs, element-wise ops,
activations) per layer kind and per merge, each a formula over a documented vocabulary. The
tests here read that table, evaluate its formulas with a tiny evaluator on random layers of
every kind (the sizes and output shapes worked out by hand in this file), and compare with the
engine's rows. A kind without a row, or a row without a generator here, fails.

(b) Named tests, one per rule, with the expected numbers written as formulas in the test: pooling
comparisons, batch norm, squeeze-and-excitation, merges (ops and activations), memory, channel
rounding (torchvision's `_make_divisible`), receptive fields (Araujo et al., Distill 2019) and
the inputs torch refuses.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.commands import app
from cnncalc.core.layers import KINDS, MERGES
from cnncalc.core.shapes import channels_first
from cnncalc.errors import CnnCalcError

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "conventions.md"

#: table column -> Node field
COLUMNS = {"params": "params", "buffers": "buffers", "MACs": "macs",
           "element-wise": "elementwise", "activations": "activations"}


def _torch():
    if os.environ.get("CI"):
        import torch  # CI installs torch: a missing torch must fail there, never skip

        return torch
    return pytest.importorskip("torch")


def analyze_layers(layers: list, input: str | int, **kw: object):
    text = yaml.safe_dump({"name": "t", "input": input, "layers": layers}, sort_keys=False)
    return cnncalc.analyze(cnncalc.load_text(text, "t.yaml"), **kw)


def only_leaf(report):
    (leaf,) = list(report.leaves())
    return leaf


def node(report, path: str):
    return next(n for n in report.walk() if n.path == path)


# --------------------------------------------------------------------------- reading the table

def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _formula(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"a rule cell must be one formula in backticks, got {cell!r}"
    return match.group(1)


def rule_table() -> dict[tuple[str, str], dict]:
    """(kind, case) -> {"aliases": [...], "formulas": {column: formula}}."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| kind | case |"))
    header = _cells(lines[start])
    rows: dict[tuple[str, str], dict] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, _cells(line), strict=True))
        names = re.findall(r"`([^`]+)`", cells["kind"])
        case = re.findall(r"`([^`]+)`", cells["case"])
        key = (names[0], case[0] if case else "")
        assert key not in rows, f"two rows for {key}"
        rows[key] = {"aliases": names[1:],
                     "formulas": {col: _formula(cells[col]) for col in COLUMNS}}
    return rows


def vocabulary() -> set[str]:
    """The names the doc's vocabulary table defines."""
    text = DOC.read_text().split("## Vocabulary", 1)[1].split("## ", 1)[0]
    names: set[str] = set()
    for line in text.splitlines()[2:]:
        if line.startswith("|"):
            names.update(re.findall(r"`(\w+)`", _cells(line)[0]))
    return names


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}


def evaluate(formula: str, values: dict[str, int]) -> int:
    """`formula` (integers, names, + - * /, parentheses) over `values`, exactly."""
    def ev(n: ast.AST) -> Fraction:
        if isinstance(n, ast.Constant) and type(n.value) is int:
            return Fraction(n.value)
        if isinstance(n, ast.Name):
            if n.id not in values:
                raise KeyError(f"{formula!r}: no value for {n.id!r} in this case")
            return Fraction(values[n.id])
        if isinstance(n, ast.BinOp) and type(n.op) in _OPS:
            return _OPS[type(n.op)](ev(n.left), ev(n.right))
        raise ValueError(f"{formula!r}: {ast.dump(n)} is not allowed in a rule")

    result = ev(ast.parse(formula, mode="eval").body)
    assert result.denominator == 1, f"{formula!r} is not a whole number: {result}"
    return int(result)


def formula_names(formula: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(formula, mode="eval")) if isinstance(n, ast.Name)}


# --------------------------------------------------------------------------- hand arithmetic

def out_size(n: int, f: int, s: int, before: int, after: int, d: int = 1,
             ceil: bool = False) -> int:
    """CONVENTIONS.md: `floor((n + p_b + p_a - f_eff) / s) + 1`, `f_eff = d (f - 1) + 1`; with
    ceil_mode PyTorch's rule (round up; drop a last window starting past input and padding)."""
    span = n + before + after - (d * (f - 1) + 1)
    if not ceil:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= n + before else out


def act_ops(function: str | None) -> int:
    """The doc's `act`: 0 for none, 3 for softmax (exp, sum, divide), 1 otherwise."""
    return 0 if function is None else 3 if function == "softmax" else 1


FUNCTIONS = ("relu", "relu6", "leaky_relu", "tanh", "sigmoid", "silu", "swish", "hardswish",
             "hardsigmoid", "gelu", "softmax")


def _pairable(draw, low: int, high: int) -> tuple[int, int]:
    a = draw(st.integers(low, high))
    return (a, a) if draw(st.booleans()) else (a, draw(st.integers(low, high)))


def _as_field(pair: tuple[int, int]):
    return pair[0] if pair[0] == pair[1] else list(pair)


@st.composite
def windowed(draw, pool: bool = False):
    """Kernel, stride, dilation, padding (every form) and an input size the kernel fits.

    Returns (fields for the YAML, (H, W), (H_out, W_out), (f_h, f_w))."""
    kernel = _pairable(draw, 1, 4)
    default_stride = pool and draw(st.booleans())  # pooling's stride defaults to the kernel
    stride = kernel if default_stride else _pairable(draw, 1, 3)
    dilation = (1, 1) if pool else _pairable(draw, 1, 2)
    form = draw(st.sampled_from(["int", "pair", "four", "valid", "same"]))
    half = [k // 2 for k in kernel] if pool else [2, 2]
    if form == "int":
        p = draw(st.integers(0, min(half)))
        padding, pads = p, [(p, p), (p, p)]
    elif form == "pair":
        ph, pw = draw(st.integers(0, half[0])), draw(st.integers(0, half[1]))
        padding, pads = [ph, pw], [(ph, ph), (pw, pw)]
    elif form == "four":
        t, b = draw(st.integers(0, half[0])), draw(st.integers(0, half[0]))
        left, right = draw(st.integers(0, half[1])), draw(st.integers(0, half[1]))
        padding, pads = [t, b, left, right], [(t, b), (left, right)]
    else:
        padding, pads = form, [(0, 0), (0, 0)]
    ceil = pool and form in ("int", "pair", "four") and draw(st.booleans())
    sizes, outs = [], []
    for axis in range(2):
        f_eff = dilation[axis] * (kernel[axis] - 1) + 1
        low = max(1, f_eff - sum(pads[axis]))
        n = draw(st.integers(low, low + 6))
        sizes.append(n)
        if form == "same":
            outs.append(-(-n // stride[axis]))  # ceil(n / s): the convention for "same"
        else:
            outs.append(out_size(n, kernel[axis], stride[axis], *pads[axis], dilation[axis],
                                 ceil))
    fields = {"kernel": _as_field(kernel), "padding": padding}
    if pool:
        if not default_stride:
            fields["stride"] = _as_field(stride)
        if ceil:
            fields["ceil_mode"] = True
    else:
        fields["stride"] = _as_field(stride)
        fields["dilation"] = _as_field(dilation)
    return fields, tuple(sizes), tuple(outs), kernel


def _shape_text(shape: tuple[int, ...]) -> str | int:
    return shape[0] if len(shape) == 1 else "x".join(map(str, shape))


@st.composite
def any_input(draw, vectors: bool = True):
    if vectors and draw(st.booleans()):
        return (draw(st.integers(1, 40)),)
    return (draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 5)))


def _map_values(shape: tuple[int, ...], prefix: str) -> dict[str, int]:
    values = {f"n_{prefix}": math.prod(shape)}
    if len(shape) == 3:
        values.update({f"H_{prefix}": shape[0], f"W_{prefix}": shape[1],
                       f"C_{prefix}": shape[2]})
    else:
        values[f"N_{prefix}"] = shape[0]
    return values


def _case(layers, in_shape, out_shape, values, path=None):
    """A generated case: the spec's layers, its input, the output shape by hand, the
    vocabulary's values, and which node to compare (None: the only leaf)."""
    values = {**_map_values(in_shape, "in"), **_map_values(out_shape, "out"), **values}
    return layers, in_shape, out_shape, values, path


@st.composite
def conv_case(draw):
    fields, (h, w), (ho, wo), (fh, fw) = draw(windowed())
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    bias, act = draw(st.booleans()), draw(st.sampled_from((None, *FUNCTIONS)))
    fields.update(filters=c_out, groups=groups, bias=bias)
    if act:
        fields["activation"] = act
    return _case([{"conv": fields}], (h, w, c_in), (ho, wo, c_out),
                 {"f_h": fh, "f_w": fw, "groups": groups, "bias": int(bias),
                  "act": act_ops(act)})


@st.composite
def depthwise_case(draw):
    fields, (h, w), (ho, wo), (fh, fw) = draw(windowed())
    c_in, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    bias, act = draw(st.booleans()), draw(st.sampled_from((None, *FUNCTIONS)))
    fields.update(multiplier=m, bias=bias)
    if act:
        fields["activation"] = act
    return _case([{"depthwise": fields}], (h, w, c_in), (ho, wo, c_in * m),
                 {"f_h": fh, "f_w": fw, "multiplier": m, "bias": int(bias),
                  "act": act_ops(act)})


@st.composite
def separable_case(draw):
    fields, (h, w), (ho, wo), (fh, fw) = draw(windowed())
    c_in, m, c_out = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 6))
    bias, act = draw(st.booleans()), draw(st.sampled_from((None, *FUNCTIONS)))
    fields.update(filters=c_out, multiplier=m, bias=bias)
    if act:
        fields["activation"] = act
    return _case([{"separable": fields}], (h, w, c_in), (ho, wo, c_out),
                 {"f_h": fh, "f_w": fw, "multiplier": m, "bias": int(bias),
                  "act": act_ops(act)})


def pool_case(mode: str):
    @st.composite
    def case(draw):
        fields, (h, w), (ho, wo), (fh, fw) = draw(windowed(pool=True))
        c = draw(st.integers(1, 4))
        name = draw(st.sampled_from(["pool", f"{mode}pool"]))
        if name == "pool" and (mode == "avg" or draw(st.booleans())):
            fields["mode"] = mode  # max is pool's default
        return _case([{name: fields}], (h, w, c), (ho, wo, c), {"f_h": fh, "f_w": fw})
    return case()


def torch_adaptive_windows(n_in: int, n_out: int) -> list[tuple[int, int]]:
    """torch's adaptive pooling windows along an axis (ATen's start_index / end_index):
    output i pools `[floor(i n_in / n_out), ceil((i + 1) n_in / n_out))`."""
    return [(math.floor(i * n_in / n_out), math.ceil((i + 1) * n_in / n_out))
            for i in range(n_out)]


def adaptive_case(mode: str):
    @st.composite
    def case(draw):
        h, w, c = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 4))
        th, tw = draw(st.integers(1, 12)), draw(st.integers(1, 12))  # larger: torch enlarges
        fields = {"size": [th, tw]}
        if mode == "max" or draw(st.booleans()):
            fields["mode"] = mode  # avg is the default
        sh = sum(end - start for start, end in torch_adaptive_windows(h, th))
        sw = sum(end - start for start, end in torch_adaptive_windows(w, tw))
        return _case([{"adaptive_pool": fields}], (h, w, c), (th, tw, c),
                     {"S_h": sh, "S_w": sw})
    return case()


def global_case(mode: str):
    @st.composite
    def case(draw):
        h, w, c = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 6))
        keep = draw(st.booleans())
        return _case([{"global_pool": {"mode": mode, "keepdims": keep}}], (h, w, c),
                     (1, 1, c) if keep else (c,), {})
    return case()


@st.composite
def pad_case(draw):
    mode = draw(st.sampled_from(["zeros", "replicate", "reflect"]))
    form = draw(st.sampled_from(["int", "pair", "four"]))
    pads = [draw(st.integers(0, 3)) for _ in range(4)]
    if form == "int":
        pads = [pads[0]] * 4
        padding = pads[0]
    elif form == "pair":
        pads = [pads[0], pads[0], pads[2], pads[2]]
        padding = [pads[0], pads[2]]
    else:
        padding = pads
    low = 1 + max(pads) if mode == "reflect" else 1  # reflection must be smaller than the input
    h, w, c = draw(st.integers(low, low + 5)), draw(st.integers(low, low + 5)), 2
    return _case([{"pad": {"padding": padding, "mode": mode}}], (h, w, c),
                 (h + pads[0] + pads[1], w + pads[2] + pads[3], c), {})


@st.composite
def flatten_case(draw):
    shape = draw(any_input())
    return _case(["flatten"], shape, (math.prod(shape),), {})


@st.composite
def dense_case(draw):
    n_in, units = draw(st.integers(1, 50)), draw(st.integers(1, 20))
    bias, act = draw(st.booleans()), draw(st.sampled_from((None, *FUNCTIONS)))
    fields = {"units": units, "bias": bias}
    if act:
        fields["activation"] = act
    return _case([{"dense": fields}], (n_in,), (units,),
                 {"bias": int(bias), "act": act_ops(act)})


@st.composite
def channel_dense_case(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c_in, units = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    bias, act = draw(st.booleans()), draw(st.sampled_from((None, *FUNCTIONS)))
    fields = {"units": units, "bias": bias}
    if act:
        fields["activation"] = act
    entry = {"channel_dense": units} if bias and not act and draw(st.booleans()) else \
        {"channel_dense": fields}
    assume(not channels_first((h, w, c_in)))  # an input like 1x8x8 reads as torch's CxHxW
    return _case([entry], (h, w, c_in), (h, w, units),
                 {"bias": int(bias), "act": act_ops(act)})


@st.composite
def activation_case(draw):
    shape, function = draw(any_input()), draw(st.sampled_from(FUNCTIONS))
    form = draw(st.sampled_from(["bare", "long"]))
    entry = function if form == "bare" else {"activation": {"function": function}}
    if function == "leaky_relu" and draw(st.booleans()):
        entry = {"leaky_relu": {"negative_slope": 0.2}}
    if function == "gelu" and draw(st.booleans()):
        entry = {"gelu": {"approximate": draw(st.sampled_from(["none", "tanh"]))}}
    return _case([entry], shape, shape, {"act": act_ops(function)})


@st.composite
def batchnorm_case(draw):
    shape, affine = draw(any_input()), draw(st.booleans())
    entry = "batchnorm" if affine and draw(st.booleans()) else {"batchnorm": {"affine": affine}}
    return _case([entry], shape, shape, {"C": shape[-1], "affine": int(affine)})


@st.composite
def layernorm_case(draw):
    shape, affine = draw(any_input()), draw(st.booleans())
    entry = "layernorm" if affine and draw(st.booleans()) else \
        {"layernorm": {"affine": affine, "eps": draw(st.sampled_from([1e-6, 1e-5, 0.001]))}}
    return _case([entry], shape, shape, {"C": shape[-1], "affine": int(affine)})


@st.composite
def layer_scale_case(draw):
    shape = draw(any_input())
    entry = draw(st.sampled_from(["layer_scale", {"layer_scale": 0.5},
                                  {"layer_scale": {"init": 1.0e-6}}]))
    return _case([entry], shape, shape, {"C": shape[-1]})


@st.composite
def stochastic_depth_case(draw):
    shape = draw(any_input())
    entry = draw(st.sampled_from([{"stochastic_depth": 0.1},
                                  {"stochastic_depth": {"rate": 0.5, "mode": "batch"}},
                                  {"stochastic_depth": {"rate": 1, "mode": "row"}}]))
    return _case([entry], shape, shape, {})


@st.composite
def dropout_case(draw):
    shape = draw(any_input())
    return _case([{"dropout": draw(st.sampled_from([0, 0.1, 0.5]))}], shape, shape, {})


@st.composite
def se_case(draw):
    h, w, c, s = (draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 9)),
                  draw(st.integers(1, 5)))
    fields = {"squeeze": s, "activation": draw(st.sampled_from(FUNCTIONS)),
              "gate": draw(st.sampled_from(["sigmoid", "hardsigmoid"]))}
    return _case([{"se": fields}], (h, w, c), (h, w, c), {"squeeze": s})


@st.composite
def conv_transpose_case(draw):
    """Output per axis by torch's ConvTranspose2d rule `(n - 1) s - 2p + d (f - 1) + op + 1`,
    output_padding below the stride or the dilation."""
    kernel, stride, dilation = _pairable(draw, 1, 4), _pairable(draw, 1, 3), _pairable(draw, 1, 2)
    padding = _pairable(draw, 0, 2)
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1))
                    for s, d in zip(stride, dilation, strict=True))
    sizes, outs = [], []
    for f, s, p, d, op in zip(kernel, stride, padding, dilation, out_pad,
                                  strict=True):
        n = draw(st.integers(1, 6))
        while (n - 1) * s - 2 * p + d * (f - 1) + op + 1 < 1:
            n += 1
        sizes.append(n)
        outs.append((n - 1) * s - 2 * p + d * (f - 1) + op + 1)
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    bias, act = draw(st.booleans()), draw(st.sampled_from((None, *FUNCTIONS)))
    fields = {"filters": c_out, "kernel": _as_field(kernel), "stride": _as_field(stride),
              "padding": _as_field(padding), "dilation": _as_field(dilation),
              "output_padding": _as_field(out_pad), "groups": groups, "bias": bias}
    if act:
        fields["activation"] = act
    return _case([{"conv_transpose": fields}], (*sizes, c_in), (*outs, c_out),
                 {"f_h": kernel[0], "f_w": kernel[1], "groups": groups, "bias": int(bias),
                  "act": act_ops(act)})


def upsample_case(mode: str):
    @st.composite
    def case(draw):
        h, w, c = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
        if draw(st.booleans()):
            factor = _pairable(draw, 1, 4)
            fields, out = {"factor": _as_field(factor)}, (h * factor[0], w * factor[1])
        else:
            out = _pairable(draw, 1, 12)
            fields = {"size": _as_field(out)}
        return _case([{"upsample": {**fields, "mode": mode}}], (h, w, c), (*out, c), {})
    return case()


@st.composite
def chunk_case(draw):
    """torch's chunk: parts of ceil(C / chunks) channels, the last smaller, fewer parts when the
    channels run out (5 in 4 chunks: 2, 2, 1)."""
    shape = draw(any_input())
    c = shape[-1]
    assume(c >= 2)
    chunks = draw(st.integers(2, c))
    size = -(-c // chunks)
    index = draw(st.integers(0, (c - 1) // size))
    width = min(size, c - index * size)
    entry = draw(st.sampled_from([{"chunk": [chunks, index]},
                                  {"chunk": {"chunks": chunks, "index": index}}]))
    return _case([entry], shape, (*shape[:-1], width), {})


@st.composite
def channel_shuffle_case(draw):
    groups, per = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 5)), groups * per)
    return _case([{"channel_shuffle": groups}], shape, shape, {})


@st.composite
def crop_case(draw):
    """Amounts off each side, written as pad's padding: every side, [h, w] or four sides."""
    form = draw(st.sampled_from(["int", "pair", "four"]))
    cuts = [draw(st.integers(0, 3)) for _ in range(4)]
    if form == "int":
        cuts = [cuts[0]] * 4
        amount: object = cuts[0]
    elif form == "pair":
        cuts = [cuts[0], cuts[0], cuts[2], cuts[2]]
        amount = [cuts[0], cuts[2]]
    else:
        amount = cuts
    h = cuts[0] + cuts[1] + draw(st.integers(1, 4))
    w = cuts[2] + cuts[3] + draw(st.integers(1, 4))
    c = draw(st.integers(1, 3))
    entry = draw(st.sampled_from([{"crop": amount}, {"crop": {"amount": amount}}]))
    return _case([entry], (h, w, c), (h - cuts[0] - cuts[1], w - cuts[2] - cuts[3], c), {})


@st.composite
def add_case(draw):
    """A residual block (body + identity or projection shortcut) or a parallel add of 2-4."""
    shape = draw(any_input())
    c = shape[-1]
    same = (["relu"], [{"dense": c}] if len(shape) == 1 else [{"conv": [c, 1]}],
            [{"conv": {"filters": c, "kernel": 3, "padding": 1}}] if len(shape) == 3
            else ["batchnorm"])
    if draw(st.booleans()):
        body = draw(st.sampled_from(same))
        shortcut = draw(st.sampled_from([[], *same]))
        layers = [{"residual": {"body": body, "shortcut": shortcut}, "name": "m"}]
        k = 2
    else:
        k = draw(st.integers(2, 4))
        branches = [draw(st.sampled_from([[], *same])) for _ in range(k)]
        layers = [{"parallel": {"branches": branches, "merge": "add"}, "name": "m"}]
    return _case(layers, shape, shape, {"branches": k}, path="m.add")


@st.composite
def concat_case(draw):
    shape = draw(any_input())
    k = draw(st.integers(2, 4))
    branches, channels = [], 0
    for _ in range(k):
        width = draw(st.integers(1, 5))
        if draw(st.booleans()):
            branches.append([])  # the identity: the input's channels
            channels += shape[-1]
        else:
            branches.append([{"dense": width} if len(shape) == 1 else {"conv": [width, 1]}])
            channels += width
    out = (*shape[:-1], channels)
    return _case([{"parallel": {"branches": branches, "merge": "concat"}, "name": "m"}],
                 shape, out, {"branches": k}, path="m.concat")


#: (kind, case) of the doc's table -> a strategy of cases of that row
GENERATORS = {
    ("conv", ""): conv_case(),
    ("depthwise", ""): depthwise_case(),
    ("separable", ""): separable_case(),
    ("pool", "mode: max"): pool_case("max"),
    ("pool", "mode: avg"): pool_case("avg"),
    ("adaptive_pool", "mode: max"): adaptive_case("max"),
    ("adaptive_pool", "mode: avg"): adaptive_case("avg"),
    ("global_pool", "mode: max"): global_case("max"),
    ("global_pool", "mode: avg"): global_case("avg"),
    ("pad", ""): pad_case(),
    ("flatten", ""): flatten_case(),
    ("dense", ""): dense_case(),
    ("channel_dense", ""): channel_dense_case(),
    ("activation", ""): activation_case(),
    ("batchnorm", ""): batchnorm_case(),
    ("dropout", ""): dropout_case(),
    ("layernorm", ""): layernorm_case(),
    ("layer_scale", ""): layer_scale_case(),
    ("stochastic_depth", ""): stochastic_depth_case(),
    ("se", ""): se_case(),
    ("conv_transpose", ""): conv_transpose_case(),
    ("upsample", "mode: nearest"): upsample_case("nearest"),
    ("upsample", "mode: bilinear"): upsample_case("bilinear"),
    ("chunk", ""): chunk_case(),
    ("channel_shuffle", ""): channel_shuffle_case(),
    ("crop", ""): crop_case(),
    ("add", ""): add_case(),
    ("concat", ""): concat_case(),
}


# --------------------------------------------------------------------------- (a) the table

def test_every_canonical_kind_and_merge_has_a_row():
    table = rule_table()
    canonical = {entry.model.kind for entry in KINDS.values()}
    assert {kind for kind, _ in table} == canonical | set(MERGES)


def test_every_alias_is_listed_on_its_kinds_row():
    table = rule_table()
    for name, entry in KINDS.items():
        kind = entry.model.kind
        if name != kind:
            listed = {a for (k, _), row in table.items() if k == kind for a in row["aliases"]}
            assert name in listed, f"{name} (a {kind}) is not named on the {kind} row"


def test_every_row_is_exercised_and_uses_only_the_vocabulary():
    table = rule_table()
    assert set(table) == set(GENERATORS)
    words = vocabulary()
    for key, row in table.items():
        for column, formula in row["formulas"].items():
            assert formula_names(formula) <= words, (key, column, formula)


def test_the_quantities_point_to_the_table():
    """The quantity table at the top of docs/conventions.md sends element-wise ops to the rules."""
    (row,) = [line for line in DOC.read_text().splitlines()
              if line.startswith("| element-wise ops |")]
    assert "(#the-rules)" in row


def test_evaluator_is_exact_and_refuses_anything_else():
    assert evaluate("(f_h*f_w - 1)*n_out", {"f_h": 3, "f_w": 2, "n_out": 10}) == 50
    assert evaluate("C_in/groups*4", {"C_in": 6, "groups": 3}) == 8
    with pytest.raises(AssertionError):
        evaluate("C_in/groups", {"C_in": 5, "groups": 2})
    with pytest.raises(ValueError):
        evaluate("__import__('os')", {})
    with pytest.raises(KeyError):
        evaluate("H_out", {})


@pytest.mark.parametrize("key", list(GENERATORS), ids=lambda k: "-".join(filter(None, k)))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_table_rules_match_the_engine(key, data):
    layers, in_shape, out_shape, values, path = data.draw(GENERATORS[key])
    report = analyze_layers(layers, _shape_text(in_shape))
    row = node(report, path) if path else only_leaf(report)
    assert row.output_shape == out_shape
    formulas = rule_table()[key]["formulas"]
    expected = {column: evaluate(formulas[column], values) for column in COLUMNS}
    assert {column: getattr(row, field) for column, field in COLUMNS.items()} == expected


# --------------------------------------------------------------------------- (b) element-wise

def test_max_pool_comparisons_are_f_h_f_w_minus_1_per_output():
    # the lecture's max pooling: 4x4 -> 2x2 with f=2, s=2; the max of 4 values takes 3 compares
    for entry in ({"maxpool": 2}, {"pool": {"mode": "max", "kernel": 2}}):
        leaf = only_leaf(analyze_layers([entry], "4x4x3"))
        assert leaf.output_shape == (2, 2, 3)
        assert leaf.elementwise == 2 * 2 * 3 * (2 * 2 - 1)
    leaf = only_leaf(analyze_layers([{"maxpool": {"kernel": [2, 3], "stride": 1}}], "5x5x1"))
    assert leaf.elementwise == 4 * 3 * (2 * 3 - 1)
    # average pooling: f_h f_w - 1 adds and one divide
    leaf = only_leaf(analyze_layers([{"avgpool": 2}], "4x4x3"))
    assert leaf.elementwise == 2 * 2 * 3 * (2 * 2)


def test_adaptive_max_pool_comparisons_use_the_lecture_window():
    # 7 -> 3: s = floor(7/3) = 2, f = 7 - 2*2 = 3; 9 windows of 3x3 per channel
    leaf = only_leaf(analyze_layers([{"adaptive_pool": {"mode": "max", "size": 3}}], "7x7x2"))
    assert leaf.elementwise == 3 * 3 * 2 * (3 * 3 - 1)


def test_global_max_pool_comparisons_are_h_w_minus_1_per_channel():
    leaf = only_leaf(analyze_layers([{"global_pool": "max"}], "5x5x3"))
    assert leaf.output_shape == (3,)
    assert leaf.elementwise == 3 * (5 * 5 - 1)
    leaf = only_leaf(analyze_layers([{"global_pool": {"mode": "avg", "keepdims": True}}],
                                    "5x5x3"))
    assert leaf.elementwise == 3 * 5 * 5


def test_batch_norm_is_2_ops_per_element():
    # inference folds batch norm to x*a + b: one multiply and one add per element
    assert only_leaf(analyze_layers(["batchnorm"], "3x3x4")).elementwise == 2 * 3 * 3 * 4
    assert only_leaf(analyze_layers(["batchnorm"], 10)).elementwise == 2 * 10


def test_se_counts_the_channel_wise_multiply():
    h, w, c, s = 4, 4, 8, 2
    pool, squeeze, excite, multiply = h * w * c, s + s, c + c, h * w * c
    leaf = only_leaf(analyze_layers([{"se": s}], f"{h}x{w}x{c}"))
    assert leaf.elementwise == pool + squeeze + excite + multiply == 276


def test_residual_add_is_branches_minus_1_per_element():
    n = 4 * 4 * 2
    report = analyze_layers([{"residual": {"body": ["relu"]}, "name": "r"}], "4x4x2")
    assert node(report, "r.add").elementwise == (2 - 1) * n
    proj = analyze_layers([{"residual": {"body": ["relu"], "shortcut": [{"conv": [2, 1]}]},
                            "name": "r"}], "4x4x2")
    assert node(proj, "r.add").elementwise == (2 - 1) * n


@pytest.mark.parametrize("k", [2, 3, 4])
def test_parallel_add_of_k_branches_is_k_minus_1_per_element(k):
    n = 4 * 4 * 2
    branches = [[], ["relu"], [{"conv": [2, 1]}], ["batchnorm"]][:k]
    report = analyze_layers([{"parallel": {"branches": branches, "merge": "add"},
                              "name": "p"}], "4x4x2")
    assert node(report, "p.add").elementwise == (k - 1) * n


def test_concat_costs_nothing():
    report = analyze_layers([{"parallel": {"branches": [[], ["relu"]]}, "name": "p"}], "4x4x2")
    assert node(report, "p.concat").elementwise == 0


# --------------------------------------------------------------------------- (b) activations

def test_activations_count_every_merge_output_and_not_the_input():
    n = 4 * 4 * 2  # every tensor of the residual block is 4x4x2
    report = analyze_layers([{"residual": {"body": ["relu"], "activation": "relu"},
                              "name": "r"}], "4x4x2")
    assert [(x.path, x.activations) for x in report.leaves()] == [
        ("r.relu1", n), ("r.add", n), ("r.relu", n)]
    assert report.totals.activations == 3 * n  # body relu + add + post relu; input excluded

    report = analyze_layers([{"parallel": {"branches": [[{"conv": [4, 1]}], [{"conv": [2, 1]}]]},
                              "name": "p"}], "4x4x1")
    assert node(report, "p.concat").activations == 4 * 4 * (4 + 2)
    assert report.totals.activations == 4 * 4 * 4 + 4 * 4 * 2 + 4 * 4 * 6

    report = analyze_layers([{"parallel": {"branches": [[], ["relu"], [{"conv": [2, 1]}]],
                                           "merge": "add"}, "name": "p"}], "4x4x2")
    assert node(report, "p.add").activations == n
    assert report.totals.activations == n + n + n  # relu, conv, add
    # the rows of the report add up to the totals, merges included
    assert sum(x.activations for x in report.leaves()) == report.totals.activations


# --------------------------------------------------------------------------- (b) per kind by hand

def test_conv_with_groups_dilation_and_no_bias_by_hand():
    # 9x9x8, 12 filters 3x3, dilation 2 (f_eff = 5), groups 4, no bias -> 5x5x12
    leaf = only_leaf(analyze_layers([{"conv": {"filters": 12, "kernel": 3, "dilation": 2,
                                               "groups": 4, "bias": False}}], "9x9x8"))
    assert leaf.output_shape == ((9 - 5) // 1 + 1, 5, 12)
    assert leaf.params == 3 * 3 * (8 // 4) * 12
    assert leaf.macs == 3 * 3 * (8 // 4) * 5 * 5 * 12
    assert (leaf.buffers, leaf.elementwise, leaf.activations) == (0, 0, 5 * 5 * 12)
    relu = only_leaf(analyze_layers([{"conv": {"filters": 12, "kernel": 3, "dilation": 2,
                                               "groups": 4, "bias": False,
                                               "activation": "relu"}}], "9x9x8"))
    assert relu.elementwise == 5 * 5 * 12


def test_depthwise_with_multiplier_by_hand():
    leaf = only_leaf(analyze_layers([{"depthwise": {"kernel": 3, "padding": 1,
                                                    "multiplier": 2}}], "6x6x3"))
    assert leaf.output_shape == (6, 6, 3 * 2)
    assert leaf.params == 3 * 3 * 6 + 6
    assert leaf.macs == 3 * 3 * 6 * 6 * 6
    assert (leaf.elementwise, leaf.activations) == (6 * 6 * 6, 6 * 6 * 6)
    plain = only_leaf(analyze_layers([{"depthwise": {"kernel": 3, "padding": 1, "multiplier": 2,
                                                     "bias": False}}], "6x6x3"))
    assert (plain.params, plain.elementwise) == (3 * 3 * 6, 0)


def test_separable_with_multiplier_by_hand():
    mid = 3 * 2  # depthwise (no bias) to 6 channels, then 1x1 to 5 with the bias
    leaf = only_leaf(analyze_layers([{"separable": {"filters": 5, "kernel": 3, "padding": 1,
                                                    "multiplier": 2}}], "6x6x3"))
    assert leaf.output_shape == (6, 6, 5)
    assert leaf.params == 3 * 3 * mid + mid * 5 + 5
    assert leaf.macs == 3 * 3 * mid * 6 * 6 + mid * 6 * 6 * 5
    assert (leaf.elementwise, leaf.activations) == (6 * 6 * 5, 6 * 6 * 5)


def test_dense_without_bias_with_softmax_by_hand():
    leaf = only_leaf(analyze_layers([{"dense": {"units": 4, "bias": False,
                                                "activation": "softmax"}}], 10))
    assert (leaf.params, leaf.macs, leaf.elementwise, leaf.activations) == (40, 40, 3 * 4, 4)


def test_batchnorm_without_affine_has_buffers_only():
    leaf = only_leaf(analyze_layers([{"batchnorm": {"affine": False}}], "3x3x4"))
    assert (leaf.params, leaf.buffers, leaf.macs) == (0, 2 * 4, 0)
    assert (leaf.elementwise, leaf.activations) == (2 * 36, 36)


def test_se_by_hand():
    # torchvision's SqueezeExcitation(8, 2): fc1 Conv2d(8, 2, 1), fc2 Conv2d(2, 8, 1)
    leaf = only_leaf(analyze_layers([{"se": 2}], "4x4x8"))
    assert leaf.params == (8 * 2 + 2) + (2 * 8 + 8)
    assert leaf.macs == 8 * 2 + 2 * 8
    assert (leaf.buffers, leaf.activations) == (0, 4 * 4 * 8)


@pytest.mark.torch
def test_per_kind_params_buffers_and_macs_agree_with_torch():
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn

    class ChannelsLast(nn.Module):  # ConvNeXt's Permute, Linear, Permute
        def __init__(self, linear: nn.Linear):
            super().__init__()
            self.linear = linear

        def forward(self, x):
            return self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    cases = [  # (torch module, input HxWxC, our layer entry)
        (nn.Conv2d(8, 12, 3, dilation=2, groups=4, bias=False), (9, 9, 8),
         {"conv": {"filters": 12, "kernel": 3, "dilation": 2, "groups": 4, "bias": False}}),
        (nn.Conv2d(3, 6, 3, padding=1, groups=3), (6, 6, 3),
         {"depthwise": {"kernel": 3, "padding": 1, "multiplier": 2}}),
        (nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, groups=3, bias=False),
                       nn.Conv2d(6, 5, 1)), (6, 6, 3),
         {"separable": {"filters": 5, "kernel": 3, "padding": 1, "multiplier": 2}}),
        (nn.Linear(10, 4, bias=False), (10,), {"dense": {"units": 4, "bias": False}}),
        (ChannelsLast(nn.Linear(6, 5)), (3, 4, 6), {"channel_dense": 5}),
        (nn.BatchNorm2d(4, affine=False), (3, 3, 4), {"batchnorm": {"affine": False}}),
        (nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 2, 1), nn.ReLU(),
                       nn.Conv2d(2, 8, 1), nn.Sigmoid()), (4, 4, 8), {"se": 2}),
    ]
    for module, shape, entry in cases:
        leaf = only_leaf(analyze_layers([entry], _shape_text(shape)))
        x = torch.zeros(1, *shape[2:], *shape[:2]) if len(shape) == 3 else torch.zeros(1, *shape)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            y = module.eval()(x)
        buffers = sum(b.numel() for n, b in module.named_buffers()
                      if not n.endswith("num_batches_tracked"))
        assert leaf.params == sum(p.numel() for p in module.parameters()), entry
        assert leaf.buffers == buffers, entry
        assert leaf.macs == counter.get_total_flops() // 2, entry
        if "se" not in entry:  # torch's SE block returns the gate; ours multiplies it in
            assert leaf.activations == y.numel(), entry


# --------------------------------------------------------------------------- (b) memory

NET = [{"conv": {"filters": 3, "kernel": 1}, "name": "conv"}, {"batchnorm": {}, "name": "bn"}]
# 4x4x2 -> conv 1x1 to 4x4x3 -> batch norm
PARAMS = 1 * 1 * 2 * 3 + 3 + 2 * 3
BUFFERS = 2 * 3
X, CONV, BN = 4 * 4 * 2, 4 * 4 * 3, 4 * 4 * 3
# eval forward pass: the input is alive throughout (the caller holds it); conv writes CONV;
# batch norm writes BN while CONV, its input, is alive
PEAK = max(X, X + CONV, X + CONV + BN)


def test_inference_memory_is_weights_plus_buffers_plus_peak_activations():
    from cnncalc.analyses.memory import inference_bytes, peak_inference

    report = analyze_layers(NET, "4x4x2")
    assert (report.totals.params, report.totals.buffers) == (PARAMS, BUFFERS)
    assert peak_inference(report) == PEAK * 4
    assert inference_bytes(report) == (PARAMS + BUFFERS + PEAK) * 4 == 596
    # the batch multiplies activations only; fp16 is 2 bytes
    half = analyze_layers(NET, "4x4x2", batch=3, dtype="fp16")
    assert inference_bytes(half) == (PARAMS + BUFFERS) * 2 + PEAK * 3 * 2


def test_memory_command_reports_inference_with_buffers(runner, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": "4x4x2", "layers": NET}))
    result = runner.invoke(app, ["memory", str(path), "--format", "json",
                                 "--optimizer", "adam"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["buffer_bytes"] == BUFFERS * 4
    assert data["inference_bytes"] == (PARAMS + BUFFERS + PEAK) * 4
    assert data["training"]["buffers"] == BUFFERS * 4


@pytest.mark.parametrize("optimizer,states", [("sgd", 0), ("momentum", 1), ("adam", 2)])
def test_training_memory_parts_by_hand(optimizer, states):
    from cnncalc.analyses.memory import training

    report = analyze_layers(NET, "4x4x2", batch=2)
    t = training(report, optimizer)
    assert (t.weights, t.buffers, t.gradients) == (PARAMS * 4, BUFFERS * 4, PARAMS * 4)
    assert t.optimizer == states * PARAMS * 4
    # kept for the backward pass: conv keeps its input, batch norm its input (conv's output)
    # and the batch's mean and 1/std (3 channels each, whatever the batch); BN's own output
    # is kept by nothing
    assert t.activations == (X + CONV) * 2 * 4 + 2 * 3 * 4
    # the forward pass peaks at its end: the input, conv's and BN's outputs, the statistics
    assert t.forward_peak == (X + CONV + BN) * 2 * 4 + 2 * 3 * 4
    assert t.total == t.weights + t.buffers + t.gradients + t.optimizer + t.forward_peak


def test_training_memory_of_a_frozen_start():
    from cnncalc.analyses.memory import training

    frozen = [dict(NET[0], trainable=False), NET[1]]
    t = training(analyze_layers(frozen, "4x4x2"), "adam")
    trainable = 2 * 3  # batch norm's scale and shift
    assert (t.weights, t.buffers) == (PARAMS * 4, BUFFERS * 4)
    assert (t.gradients, t.optimizer) == (trainable * 4, 2 * trainable * 4)
    # no backward through the frozen conv (its input needs no gradient, its weight trains
    # not): it keeps nothing; batch norm keeps its input and its two statistics
    assert t.activations == CONV * 4 + 2 * 3 * 4


@pytest.mark.parametrize("limit,exit_code", [
    ("1MiB", 0), ("1048576", 0), ("1048575", 1),
    ("1MB", 1),  # 1 MB = 10^6 bytes (SI), less than the 2^20 the network needs
    ("1.1MB", 0),
])
def test_peak_memory_budget_reads_MB_as_10_to_the_6(runner, tmp_path, limit, exit_code):
    # 128x128x8 -> relu: input and output alive at once, 2 * 131072 values * 4 bytes = 2^20
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump({"name": "big", "input": "128x128x8", "layers": ["relu"]}))
    result = runner.invoke(app, ["check", str(path), "--max-peak-memory", limit])
    assert result.exit_code == exit_code, result.output


# --------------------------------------------------------------------------- (b) scaling

def torchvision_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible, as torchvision writes it."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # make sure that round down does not go down by more than 10%
        new_v += divisor
    return new_v


@pytest.mark.parametrize("c", [1, 3, 8, 16, 24, 32, 40, 96])
@pytest.mark.parametrize("width", [0.05, 0.1, 0.25, 0.35, 0.5, 0.75, 1.4])
def test_scaled_channels_follow_make_divisible_with_its_minimum(c, width):
    from cnncalc.analyses.scale import channels

    assert channels(c, width) == torchvision_make_divisible(c * width, 8)
    assert channels(c, width, 4) == torchvision_make_divisible(c * width, 4)
    assert channels(c, width) >= 8  # never below the minimum, the divisor


def test_width_0_1_on_16_filters_gives_8(runner, tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump({"name": "small", "input": "8x8x3",
                                    "layers": [{"conv": {"filters": 16, "kernel": 3}}]}))
    result = runner.invoke(app, ["scale", str(path), "--width", "0.1", "--yaml"])
    assert result.exit_code == 0, result.output
    scaled = yaml.safe_load(result.stdout)
    assert scaled["layers"][0]["conv"]["filters"] == torchvision_make_divisible(1.6, 8) == 8


def test_make_divisible_expression_keeps_an_explicit_minimum():
    # make_divisible(4, 8) rounds to 8; with min_value 16 the minimum wins
    report = analyze_layers([{"conv": {"filters": "$(make_divisible(4, 8, 16))", "kernel": 1}},
                             {"conv": {"filters": "$(make_divisible(4, 8))", "kernel": 1}}],
                            "2x2x1")
    assert [x.output_shape[2] for x in report.leaves()] == [
        torchvision_make_divisible(4, 8, 16), torchvision_make_divisible(4, 8)] == [16, 8]


# --------------------------------------------------------------------------- (b) receptive field

def rf(report, path: str) -> tuple[int, int, int]:
    from cnncalc.analyses.receptive import receptive_fields

    field = receptive_fields(report)[path]
    return field.size, field.stride, field.padding


def araujo(r: int, j: int, p: int, f: int, s: int = 1, pad: int = 0, d: int = 1):
    """Araujo et al.: r' = r + (f_eff - 1) j, j' = j s, p' = p + p_l j."""
    return r + (d * (f - 1)) * j, j * s, p + pad * j


def union(*paths: tuple[int, int, int]) -> tuple[int, int, int]:
    """The merge: from the earliest start to the latest end; the largest jump."""
    p = max(q for _, _, q in paths)
    return max(r - q for r, _, q in paths) + p, max(j for _, j, _ in paths), p


def test_merge_takes_the_largest_jump():
    # two paths to 4x4: a 1x1 conv (jump 1), and a 1x1 conv with stride 2 and padding 2
    # (floor((4 + 4 - 1) / 2) + 1 = 4, jump 2); then a 3x3 conv after the merge
    report = analyze_layers([
        {"parallel": {"branches": [[{"conv": [1, 1]}],
                                   [{"conv": {"filters": 1, "kernel": 1, "stride": 2,
                                              "padding": 2}}]]}, "name": "m"},
        {"conv": {"filters": 1, "kernel": 3, "padding": 1}, "name": "after"},
    ], "4x4x1")
    start = (1, 1, 0)
    one, two = araujo(*start, f=1), araujo(*start, f=1, s=2, pad=2)
    merged = union(one, two)
    assert merged == (3, 2, 2)
    assert rf(report, "m.concat") == merged
    assert rf(report, "after") == araujo(*merged, f=3, pad=1) == (7, 2, 4)


def test_residual_merge_takes_the_largest_jump():
    # body: 1x1 conv with stride 2 and padding 2 (4 -> 4, jump 2) beside the identity (jump 1)
    report = analyze_layers([
        {"residual": {"body": [{"conv": {"filters": 1, "kernel": 1, "stride": 2,
                                         "padding": 2}}]}, "name": "r"},
        {"maxpool": {"kernel": 2}, "name": "after"},
    ], "4x4x1")
    start = (1, 1, 0)
    merged = union(araujo(*start, f=1, s=2, pad=2), start)
    assert merged == (3, 2, 2)
    assert rf(report, "r.add") == merged
    assert rf(report, "after") == araujo(*merged, f=2, s=2) == (5, 4, 2)


def test_pool_padding_counts_in_the_effective_padding():
    # ResNet's stem: conv 7x7 s2 p3, then max pool 3x3 s2 p1
    report = analyze_layers([{"conv": {"filters": 4, "kernel": 7, "stride": 2, "padding": 3},
                              "name": "conv1"},
                             {"maxpool": {"kernel": 3, "stride": 2, "padding": 1},
                              "name": "pool"}], "32x32x3")
    conv1 = araujo(1, 1, 0, f=7, s=2, pad=3)
    assert rf(report, "conv1") == conv1 == (7, 2, 3)
    assert rf(report, "pool") == araujo(*conv1, f=3, s=2, pad=1) == (11, 4, 5)
    alone = analyze_layers([{"avgpool": {"kernel": 3, "stride": 2, "padding": 1},
                             "name": "pool"}], "8x8x1")
    assert rf(alone, "pool") == araujo(1, 1, 0, f=3, s=2, pad=1) == (3, 2, 1)


# --------------------------------------------------------------------------- (b) validation

def refused(layers: list, input: str) -> str:
    with pytest.raises(CnnCalcError) as info:
        analyze_layers(layers, input)
    return str(info.value)


def test_reflect_padding_as_large_as_the_input_is_refused():
    assert "reflect padding" in refused([{"pad": {"padding": 4, "mode": "reflect"}}], "4x4x1")
    assert "reflect padding" in refused([{"pad": {"padding": [0, 4], "mode": "reflect"}}],
                                        "4x4x1")
    ok = only_leaf(analyze_layers([{"pad": {"padding": 3, "mode": "reflect"}}], "4x4x1"))
    assert ok.output_shape == (4 + 2 * 3, 4 + 2 * 3, 1)


def test_pool_padding_over_half_the_kernel_is_refused():
    message = refused([{"maxpool": {"kernel": 3, "padding": 2}}], "4x4x1")
    assert "more than half the kernel" in message
    assert "more than half the kernel" in refused(
        [{"avgpool": {"kernel": [3, 1], "padding": [1, 1]}}], "4x4x1")
    for kernel, padding in ((3, 1), (2, 1)):  # at most half: allowed
        leaf = only_leaf(analyze_layers([{"maxpool": {"kernel": kernel, "padding": padding}}],
                                        "4x4x1"))
        n = (4 + 2 * padding - kernel) // kernel + 1
        assert leaf.output_shape == (n, n, 1)


@pytest.mark.parametrize("size", [[2, 8], [8, 2], [8, 8], [3, 5]])
def test_adaptive_pool_may_enlarge_any_axis_as_torch_does(size):
    # torch's windows [floor(i n_in / n_out), ceil((i + 1) n_in / n_out)): 4 -> 8 pools one
    # position per output (each input position twice), 4 -> 3 pools 2 per output, 4 -> 5
    # windows of 1, 2, 2, 2, 1
    sums = {2: 2 * 2, 8: 8 * 1, 3: 3 * 2, 5: 1 + 2 + 2 + 2 + 1}
    for mode in ("avg", "max"):
        leaf = only_leaf(analyze_layers([{"adaptive_pool": {"size": size, "mode": mode}}],
                                        "4x4x3"))
        assert leaf.output_shape == (size[0], size[1], 3)
        window_sum = sums[size[0]] * sums[size[1]]
        expected = window_sum if mode == "avg" else window_sum - size[0] * size[1]
        assert leaf.elementwise == 3 * expected


@pytest.mark.torch
def test_torch_refuses_reflect_padding_as_large_as_the_input():
    torch = _torch()
    x = torch.zeros(1, 1, 4, 4)
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(x, (4, 4, 0, 0), mode="reflect")
    assert torch.nn.functional.pad(x, (3, 3, 3, 3), mode="reflect").shape == (1, 1, 10, 10)


@pytest.mark.torch
def test_torch_refuses_pool_padding_over_half_the_kernel():
    torch = _torch()
    x = torch.zeros(1, 1, 4, 4)
    for pool in (torch.nn.MaxPool2d, torch.nn.AvgPool2d):
        with pytest.raises(RuntimeError, match="half"):
            pool(3, padding=2)(x)
        assert pool(2, padding=1)(x).shape == (1, 1, 3, 3)


@pytest.mark.torch
@pytest.mark.parametrize("size", [[2, 8], [8, 2], [8, 8], [3, 5]])
def test_torch_adaptive_pool_enlarges_like_the_engine(size):
    # torch is the truth: it does not refuse a target larger than the input, it repeats values
    torch = _torch()
    from cnncalc import torch as ct

    x = torch.randn(1, 3, 4, 4)
    for mode, pool in (("avg", torch.nn.AdaptiveAvgPool2d), ("max", torch.nn.AdaptiveMaxPool2d)):
        want = pool(tuple(size))(x)
        assert tuple(want.shape) == (1, 3, *size)
        report = analyze_layers([{"adaptive_pool": {"size": size, "mode": mode}}], "4x4x3")
        assert only_leaf(report).output_shape == (size[0], size[1], 3)
        assert torch.equal(ct.build(report).eval()(x), want)
