"""The peer conventions: the numbers torchinfo, fvcore, ptflops, thop and torch's
FlopCounterMode report for a network, reproduced from a Report, per layer and in total.

Each tool counts by its own rules, measured at pinned versions (docs/peers.md, the raw numbers
in tests/data/peers.json): torchinfo 1.8.0 `summary(...).total_mult_adds` and `total_params`;
fvcore 0.1.5.post20221221 `FlopCountAnalysis(model, x).total()` and `parameter_count`; ptflops
0.7.5 `get_model_complexity_info` with its default `pytorch` backend (MACs, params); thop
0.1.1.post2209072238 `profile` (ops, params); torch's `FlopCounterMode.get_total_flops()`
(FLOPs, 2 per multiply-add; no params). `TABLE` holds every rule, one row per layer kind, one
function per tool; each is a pure function of the node (its kind, fields and shapes) and of the
form its torch code is written in.

The model a convention reproduces (a choice, documented in the README): the spec written with
torch's own modules as torchvision writes them (`nn.Conv2d`, `nn.BatchNorm2d`, an activation
as its `nn.ReLU` module, a global average pool as `nn.AdaptiveAvgPool2d(1)`, an add as `a + b`),
each row in the form its `written_as:` names instead where the spec says so (googlenet's
`F.relu`, mobilenet_v2's `F.adaptive_avg_pool2d`, ConvNeXt's channels-last `nn.Linear`). This
is what a tool reports on torchvision's model for every bundled spec written from torchvision.
The tools disagree on equivalent modules: on the model `cnncalc.torch.build` makes (subclasses
of `nn.Conv2d` and `nn.Linear` with a fused activation, a `mean` global pool) ptflops and thop
see almost nothing; `count(..., built=True)` reproduces that model's numbers instead.

Every number is per example and multiplied by the batch, as the tools report a batch, except
ptflops's, which is always one example (it divides by the batch). Rows that run only in
training (auxiliary heads) count 0 (the tools count a forward pass in eval mode) and keep their
params (every tool counts the parameters a model holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.layers import Layer, pair, prod
from ..core.report import Node, Report
from ..errors import CnnCalcError, suggest

TOOLS = ("torchinfo", "fvcore", "ptflops", "thop", "flopcounter")
#: `--convention NAME`: cnncalc's own counts, then each tool's
NAMES = ("cnncalc", *TOOLS)


@dataclass(frozen=True, slots=True)
class Convention:
    """One tool's convention: what it reports and how it is called."""

    name: str
    #: the tool, its pinned version and the call whose numbers are reproduced
    tool: str
    #: what the tool calls its number
    number: str
    #: the table's column title for the number
    title: str
    #: its number per multiply-add (FlopCounterMode: 2)
    per_mac: int
    #: what its params are
    params: str
    #: True: the number is one example's whatever the batch (ptflops)
    per_example: bool = False
    #: False: the tool reports no parameters (FlopCounterMode)
    has_params: bool = True
    #: what it counts, in one sentence (the footnote of a table counted its way)
    summary: str = ""


_MODEL = ("; the model: the spec in torch's own modules, each row as its written_as says "
          "('cnncalc conventions')")

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention("cnncalc", "cnncalc", "MACs", "MACs", 1,
               "learnable parameters, as parameters() counts them",
               summary="multiply-accumulates of convolutions and dense layers, bias excluded; "
               "FLOPs = 2 x MACs; params as parameters() counts them"),
    Convention("torchinfo", "torchinfo 1.8.0: summary(model, input_size=(N, C, H, W))",
               "Mult-Adds (total_mult_adds)", "torchinfo Mult-Adds", 1,
               "every parameter (total_params)",
               summary="each leaf module's parameters, a convolution's once per output "
               "position (its MACs plus 1 per output for the bias), any other module's once "
               "per example (a Linear's MACs plus its bias, a norm's 2C); modules without "
               "parameters count 0" + _MODEL),
    Convention("fvcore", "fvcore 0.1.5.post20221221: FlopCountAnalysis(model, x).total()",
               "flops (one per fused multiply-add)", "fvcore flops", 1,
               "every parameter (parameter_count)",
               summary="the aten operators it has handlers for: convolution and matrix-product "
               "MACs (no bias), batch norm 2 per element in eval mode (1 without affine), layer "
               "norm 5 (4), adaptive average pooling 1 per input, upsampling 1 (nearest) or 4 "
               "(bilinear) per output; every other operator 0" + _MODEL),
    Convention("ptflops", "ptflops 0.7.5: get_model_complexity_info(model, (C, H, W)), "
               "backend pytorch", "MACs", "ptflops MACs", 1,
               "trainable parameters only (requires_grad)", per_example=True,
               summary="the modules of exact torch types it hooks (convolutions and dense "
               "layers MACs + 1 per output for the bias, batch norm 2 per element, pooling 2 "
               "per input) plus the functions it patches (F.relu, F.max_pool2d, torch.add: 1 "
               "per element, so nn.ReLU, which calls F.relu, counts 2); one example whatever "
               "the batch; trainable params only" + _MODEL),
    Convention("thop", "thop 0.1.1.post2209072238: profile(model, inputs=(x,))",
               "ops (total_ops)", "thop ops", 1,
               "parameters of the modules it has a rule for (exact type) that ran",
               summary="the modules of exact torch types it has rules for: convolutions and "
               "dense layers their MACs (no bias), batch norm 4 per element, average pooling 1 "
               "per output, softmax (3C - 1)/C per element; functions and operators 0; the "
               "params of those modules" + _MODEL),
    Convention("flopcounter", "torch 2.13 FlopCounterMode: get_total_flops()",
               "FLOPs (2 per multiply-add)", "FlopCounterMode FLOPs", 2,
               "none (it counts operations only)", has_params=False,
               summary="2 per multiply-add of convolutions and matrix products (no bias), "
               "nothing else; it reports no params"),
)}


def convention(name: str) -> Convention:
    """The convention of that name; CnnCalcError naming the choices otherwise."""
    if name not in CONVENTIONS:
        raise CnnCalcError(f"--convention: unknown convention {name!r}{suggest(name, NAMES)}; "
                           f"use one of {', '.join(NAMES)}")
    return CONVENTIONS[name]


#: What each convention counts, side by side (`cnncalc conventions`), in words; per example
#: and with the default forms unless a cell says otherwise ("module": torch's nn class, "F.": a
#: torch.nn.functional call). `TABLE` below computes them; tests/test_conventions.py checks
#: every rule against the measured numbers.
TOPICS: tuple[tuple[str, dict[str, str]], ...] = (
    ("its number", {
        "cnncalc": "MACs", "torchinfo": "Mult-Adds (total_mult_adds)",
        "fvcore": "flops: 1 per multiply-add", "ptflops": "MACs", "thop": "ops (MACs)",
        "flopcounter": "FLOPs: 2 per multiply-add"}),
    ("conv, dense", {
        "cnncalc": "MACs", "torchinfo": "every param x output positions",
        "fvcore": "MACs", "ptflops": "MACs + bias per output",
        "thop": "MACs (transposed: at outputs)",
        "flopcounter": "2 x MACs"}),
    ("the bias", {
        "cnncalc": "element-wise, not MACs", "torchinfo": "1 per output (dense: per unit)",
        "fvcore": "0", "ptflops": "1 per output", "thop": "0", "flopcounter": "0"}),
    ("Linear on channels-last", {
        "cnncalc": "MACs", "torchinfo": "its params, once", "fvcore": "MACs",
        "ptflops": "MACs + bias per output", "thop": "MACs", "flopcounter": "2 x MACs"}),
    ("nn.Conv2d, Linear subclasses", {
        "cnncalc": "as the class", "torchinfo": "as the class", "fvcore": "as the class",
        "ptflops": "0 (exact types only)", "thop": "0, and not their params",
        "flopcounter": "as the class"}),
    ("batch norm (eval)", {
        "cnncalc": "0 (2 element-wise per element)", "torchinfo": "2C (its params, once)",
        "fvcore": "2 per element (1 w/o affine)", "ptflops": "2 per element (1 w/o affine)",
        "thop": "4 per element (2 w/o affine)", "flopcounter": "0"}),
    ("layer norm", {
        "cnncalc": "0 (7 element-wise per element)", "torchinfo": "2C (its params, once)",
        "fvcore": "5 per element (4 w/o affine)",
        "ptflops": "nn.LayerNorm 1 per element",
        "thop": "nn.LayerNorm 4 per element", "flopcounter": "0"}),
    ("relu, gelu", {
        "cnncalc": "0 (1 element-wise per element)", "torchinfo": "0", "fvcore": "0",
        "ptflops": "module 2, F. 1 per element", "thop": "0", "flopcounter": "0"}),
    ("relu6, silu; leaky_relu", {
        "cnncalc": "0 (1 element-wise)", "torchinfo": "0", "fvcore": "0",
        "ptflops": "1 per element (leaky: F. 0)", "thop": "0", "flopcounter": "0"}),
    ("sigmoid, tanh, hardswish, hardsigmoid", {
        "cnncalc": "0 (1 element-wise)", "torchinfo": "0", "fvcore": "0", "ptflops": "0",
        "thop": "0", "flopcounter": "0"}),
    ("softmax", {
        "cnncalc": "0 (3 element-wise per element)", "torchinfo": "0", "fvcore": "0",
        "ptflops": "1 per element", "thop": "module (3C - 1)/C per element",
        "flopcounter": "0"}),
    ("max pooling", {
        "cnncalc": "0 (window - 1 element-wise)", "torchinfo": "0", "fvcore": "0",
        "ptflops": "module 2, F. 1 per input", "thop": "0", "flopcounter": "0"}),
    ("average pooling", {
        "cnncalc": "0 (window element-wise)", "torchinfo": "0", "fvcore": "0",
        "ptflops": "module 2, F. 1 per input", "thop": "module 1 per output",
        "flopcounter": "0"}),
    ("adaptive / global average pooling", {
        "cnncalc": "0 (window element-wise)", "torchinfo": "0",
        "fvcore": "1 per input (x.mean: 0)", "ptflops": "module 2, F. 1 per input",
        "thop": "module (in/out + 1) per output", "flopcounter": "0"}),
    ("upsampling", {
        "cnncalc": "0 (bilinear 7 element-wise)", "torchinfo": "0",
        "fvcore": "1 (bilinear 4) per output", "ptflops": "module 2, F. 1 per output",
        "thop": "module 1 (bilinear 11) per output", "flopcounter": "0"}),
    ("add", {
        "cnncalc": "0 (1 element-wise per element)", "torchinfo": "0", "fvcore": "0",
        "ptflops": "torch.add 1 per element", "thop": "0", "flopcounter": "0"}),
    ("squeeze-and-excitation", {
        "cnncalc": "its 1x1 convs' MACs", "torchinfo": "its params, once",
        "fvcore": "pool + 1x1 convs' MACs",
        "ptflops": "2 pool + convs + bias + acts", "thop": "pool + convs' MACs",
        "flopcounter": "2 x its convs' MACs"}),
    ("concat, flatten, dropout, pad, ...", {
        name: "0" for name in NAMES}),
    ("params", {
        "cnncalc": "every parameter", "torchinfo": "every parameter", "fvcore": "every parameter",
        "ptflops": "trainable only", "thop": "of its modules that ran",
        "flopcounter": "none (cnncalc's shown)"}),
    ("the 2x", {
        "cnncalc": "FLOPs = 2 x MACs", "torchinfo": "none", "fvcore": "none", "ptflops": "none",
        "thop": "none", "flopcounter": "FLOPs = 2 x MACs"}),
    ("--batch", {
        "cnncalc": "x batch", "torchinfo": "x batch", "fvcore": "x batch",
        "ptflops": "one example, always", "thop": "x batch", "flopcounter": "x batch"}),
)


# --------------------------------------------------------------------------- forms

def kind_of(node: Node) -> str:
    """The kind's own name (`maxpool` -> pool, `relu` -> activation)."""
    return type(node.layer).kind


def form_of(node: Node, built: bool = False) -> str:
    """How the row's torch code is written: its `written_as:` (else the kind's default, the
    first of its forms), or, `built`, as `cnncalc.torch.build` writes it."""
    layer = node.layer
    assert layer is not None
    if built:
        if kind_of(node) == "layernorm" and len(node.input_shape) == 1:
            return "module"  # on a vector: nn.LayerNorm itself
        return BUILT.get(kind_of(node), layer.forms[0])
    return node.written_as or layer.forms[0]


#: How `cnncalc.torch.build` writes each kind (the rest: the kind's default): its Conv2d,
#: Linear and ConvTranspose2d are subclasses with the activation a functional call; an
#: activation row is its own module calling the function; a global pool is `x.mean((2, 3))`
#: (`amax` for max); a layer norm on a map is its LayerNorm2d, a subclass of nn.LayerNorm (on
#: a vector nn.LayerNorm itself);
#: squeeze-and-excitation applies its activation and gate as functions.
BUILT: dict[str, str] = {
    "conv": "subclass", "depthwise": "subclass", "separable": "subclass", "dense": "subclass",
    "channel_dense": "subclass",
    "conv_transpose": "subclass", "activation": "functional", "global_pool": "tensor",
    "se": "functional", "layernorm": "subclass",
}


# --------------------------------------------------------------------------- the rules

Count = Callable[[Node, str], int]


def _n_in(node: Node) -> int:
    return prod(node.input_shape)


def _n_out(node: Node) -> int:
    return prod(node.output_shape)


#: ptflops's ops per element of an activation: a module counts its hook and the patched
#: functional its forward calls (`nn.ReLU` calls `F.relu`: 2); a functional call counts once;
#: what is absent counts 0 (tanh, sigmoid, hardswish, hardsigmoid are never counted;
#: `nn.LeakyReLU` is hooked but `F.leaky_relu` not patched; `nn.ReLU6` calls `F.hardtanh`,
#: which is not patched; `nn.SiLU` is not hooked but its `F.silu` is).
PTFLOPS_ACTIVATION: dict[str, dict[str, int]] = {
    "module": {"relu": 2, "relu6": 1, "leaky_relu": 1, "gelu": 2, "silu": 1, "swish": 1,
               "softmax": 1},
    "functional": {"relu": 1, "relu6": 1, "gelu": 1, "silu": 1, "swish": 1, "softmax": 1},
}


def activation(tool: str, function: str | None, form: str, node: Node,
               shape: tuple[int, ...] | None = None) -> int:
    """What `tool` counts for `function` applied to a tensor of `shape` (the node's output by
    default) written in `form` (`module`: its nn module; anything else: a functional call)."""
    if function is None:
        return 0
    shape = node.output_shape if shape is None else shape
    n = prod(shape)
    written = "module" if form == "module" else "functional"
    if tool == "ptflops":
        return PTFLOPS_ACTIVATION[written].get(function, 0) * n
    if tool == "thop" and written == "module" and function == "softmax":
        c = shape[-1]  # softmax over the channels: 3C - 1 ops per row of C
        return (3 * c - 1) * (n // c)
    return 0


def _weighted(node: Node, form: str, tool: str) -> int:
    """conv, depthwise, separable, conv_transpose and dense (the activation apart)."""
    layer, kind = node.layer, kind_of(node)
    macs, n_out = node.macs, _n_out(node)
    bias = int(getattr(layer, "bias", False))
    vector = kind == "dense"
    if form == "linear":  # nn.Linear on channels-last: torchinfo counts it once per example
        return {"torchinfo": node.params, "fvcore": macs, "ptflops": macs + bias * n_out,
                "thop": macs, "flopcounter": 2 * macs}[tool]
    if tool == "torchinfo":  # every parameter once per output position (a Linear: once)
        return node.params if vector else node.params * prod(node.output_shape[:2])
    if tool == "fvcore":
        return macs
    if tool == "flopcounter":
        return 2 * macs
    if form == "subclass":  # ptflops and thop look modules up by exact type
        return 0
    if tool == "thop":
        if kind == "conv_transpose":  # as a convolution at the output's positions
            kh, kw = pair(layer.kernel)  # type: ignore[union-attr]
            return n_out * kh * kw * (node.input_shape[-1] // layer.groups)  # type: ignore[union-attr]
        return macs
    return macs + bias * n_out  # ptflops: the bias once per output


def _pointwise(node: Node) -> bool:
    """A 1x1 convolution of stride 1, unpadded, ungrouped: a Linear on each position."""
    layer = node.layer
    return (kind_of(node) == "conv" and pair(layer.kernel) == (1, 1)  # type: ignore[union-attr]
            and pair(layer.stride) == (1, 1)  # type: ignore[union-attr]
            and layer.padding_of(node.input_shape) == (0, 0, 0, 0)  # type: ignore[union-attr]
            and layer.groups == 1)  # type: ignore[union-attr]


def _weighted_rule(tool: str) -> Count:
    def count(node: Node, form: str) -> int:
        if form == "linear" and not _pointwise(node):
            raise CnnCalcError("written_as: linear needs a 1x1 convolution (stride 1, no "
                               "padding, no groups): nn.Linear on the channels of each "
                               "position")
        act_form = "module" if form in ("module", "linear") else "functional"
        return (_weighted(node, form, tool)
                + activation(tool, getattr(node.layer, "activation", None), act_form, node))
    return count


def _channel_dense_rule(tool: str) -> Count:
    """`channel_dense` is torch's `nn.Linear` on channels-last tensors (ConvNeXt's pointwise
    layers): each tool counts it as it counts a 1x1 convolution written that way."""
    def count(node: Node, form: str) -> int:
        function = getattr(node.layer, "activation", None)
        if form == "subclass":  # cnncalc's ChannelLinear, a subclass of nn.Linear
            own = {"torchinfo": node.params, "fvcore": node.macs, "ptflops": 0, "thop": 0,
                   "flopcounter": 2 * node.macs}[tool]
            return own + activation(tool, function, "functional", node)
        return _weighted(node, "linear", tool) + activation(tool, function, "module", node)
    return count


def _pool(tool: str, node: Node, form: str, adaptive: bool) -> int:
    layer = node.layer
    avg = getattr(layer, "mode", "avg") == "avg"
    n_in = _n_in(node)
    if tool == "ptflops":
        return (2 if form == "module" else 1) * n_in
    if tool == "fvcore":  # only adaptive average pooling is an operator it counts
        return n_in if adaptive and avg else 0
    if tool == "thop" and form == "module" and avg:
        if not adaptive:
            return _n_out(node)
        h_in, w_in = node.input_shape[:2]
        h_out, w_out = node.output_shape[:2]
        # its kernel is the ratio of the sizes in floats, truncated after the multiply
        return int((h_in / h_out * (w_in / w_out) + 1) * _n_out(node))
    return 0


def _pool_rule(tool: str) -> Count:
    return lambda node, form: _pool(tool, node, form, adaptive=False)


def _adaptive_rule(tool: str) -> Count:
    return lambda node, form: _pool(tool, node, form, adaptive=True)


def _global_rule(tool: str) -> Count:
    def count(node: Node, form: str) -> int:
        if form == "tensor":  # x.mean((2, 3)), x.amax((2, 3)): no tool counts them
            return 0
        h, w, c = node.input_shape
        avg = getattr(node.layer, "mode", "avg") == "avg"
        n_in = h * w * c
        if tool == "ptflops":
            return (2 if form == "module" else 1) * n_in
        if tool == "fvcore":
            return n_in if avg else 0
        if tool == "thop" and form == "module" and avg:
            return (h * w + 1) * c
        return 0
    return count


def _norm_rule(tool: str, layer_norm: bool) -> Count:
    def count(node: Node, form: str) -> int:
        affine = int(getattr(node.layer, "affine", True))
        n, c = _n_out(node), node.input_shape[-1]
        if tool == "torchinfo":  # its parameters, once per example
            return 2 * c * affine
        if tool == "fvcore":  # eval mode; layer norm: 5 per element (4 without affine)
            return (4 + affine) * n if layer_norm else (1 + affine) * n
        if tool == "ptflops":
            if layer_norm:
                return n if form == "module" else 0
            return (1 + affine) * n
        if tool == "thop":
            return 2 * (1 + affine) * n if form == "module" else 0
        return 0
    return count


def _se_rule(tool: str) -> Count:
    """torchvision's SqueezeExcitation: AdaptiveAvgPool2d(1), 1x1 nn.Conv2d fc1 and fc2 with
    bias, the activation and the gate (modules, or functional calls as cnncalc builds it), and
    `scale * x` (an operator: no tool counts it)."""
    def count(node: Node, form: str) -> int:
        h, w, c = node.input_shape
        s = node.layer.squeeze  # type: ignore[union-attr]
        number = {"torchinfo": 2 * c * s + s + c, "fvcore": h * w * c + 2 * c * s,
                  "ptflops": 2 * h * w * c + 2 * c * s + s + c,
                  "thop": (h * w + 1) * c + 2 * c * s, "flopcounter": 4 * c * s}[tool]
        layer = node.layer
        return (number + activation(tool, layer.activation, form, node, (1, 1, s))  # type: ignore[union-attr]
                + activation(tool, layer.gate, form, node, (1, 1, c)))  # type: ignore[union-attr]
    return count


def _activation_rule(tool: str) -> Count:
    return lambda node, form: activation(tool, node.layer.function, form, node)  # type: ignore[union-attr]


def _add_rule(tool: str) -> Count:
    # `a + b` no tool counts; ptflops patches torch.add: one call per input after the first
    return lambda node, form: ((len(node.inputs) - 1) * _n_out(node)
                               if tool == "ptflops" and form == "functional" else 0)


def _upsample_rule(tool: str) -> Count:
    def count(node: Node, form: str) -> int:
        n = _n_out(node)
        bilinear = getattr(node.layer, "mode", "nearest") == "bilinear"
        if tool == "fvcore":  # aten::upsample_*: 1 (nearest) or 4 (bilinear) per output
            return 4 * n if bilinear else n
        if tool == "ptflops":  # nn.Upsample's hook and the F.interpolate it calls
            return (2 if form == "module" else 1) * n
        if tool == "thop" and form == "module":
            return 11 * n if bilinear else n
        return 0
    return count


def _nothing(tool: str) -> Count:
    return lambda node, form: 0


def _rules(make: Callable[[str], Count]) -> dict[str, Count]:
    return {tool: make(tool) for tool in TOOLS}


#: Every rule: layer kind -> tool -> the tool's number for one example of the node written in
#: the form given. A test checks that every kind and merge has a row.
TABLE: dict[str, dict[str, Count]] = {
    **{kind: _rules(_weighted_rule)
       for kind in ("conv", "depthwise", "separable", "dense", "conv_transpose")},
    "pool": _rules(_pool_rule),
    "adaptive_pool": _rules(_adaptive_rule),
    "global_pool": _rules(_global_rule),
    "channel_dense": _rules(_channel_dense_rule),
    "activation": _rules(_activation_rule),
    "batchnorm": _rules(lambda tool: _norm_rule(tool, layer_norm=False)),
    "layernorm": _rules(lambda tool: _norm_rule(tool, layer_norm=True)),
    "se": _rules(_se_rule),
    "upsample": _rules(_upsample_rule),
    "add": _rules(_add_rule),
    **{kind: _rules(_nothing)
       for kind in ("concat", "pad", "flatten", "dropout", "stochastic_depth", "layer_scale",
                    "chunk", "channel_shuffle", "crop")},
}

#: thop counts the parameters of the modules it has a rule for (exact types): the kinds and
#: forms whose parameters live in such modules.
THOP_PARAMS: dict[str, tuple[str, ...]] = {
    "conv": ("module", "functional", "linear"), "channel_dense": ("module",),
    "depthwise": ("module", "functional"),
    "separable": ("module", "functional"), "dense": ("module", "functional"),
    "conv_transpose": ("module", "functional"), "batchnorm": ("module",),
    "layernorm": ("module",), "se": ("module", "functional"),
}


def number(tool: str, node: Node, built: bool = False) -> int:
    """What `tool` counts for one leaf node, per example (a training-only row: 0)."""
    if node.training_only:
        return 0
    form = form_of(node, built)
    kind = kind_of(node)
    if built and kind == "adaptive_pool" and node.layer.uniform_of(  # type: ignore[union-attr]
            node.input_shape) is not None:
        kind = "pool"  # built as nn.AvgPool2d / nn.MaxPool2d with the lecture's window
    if kind == "pool" and _padded(node) and (built or tool == "ptflops"):
        # no nn.MaxPool2d pads its sides unequally: the code pads first (cnncalc's build:
        # F.pad and a functional pool), and ptflops counts the padded input; not measured
        raise CnnCalcError(f"a pool padded unequally is written as F.pad and a pool, which "
                           f"the {tool} convention has not measured")
    return TABLE[kind][tool](node, form)


def _padded(node: Node) -> bool:
    top, bottom, left, right = node.layer.padding_of(node.input_shape)  # type: ignore[union-attr]
    return top != bottom or left != right


def params(tool: str, node: Node, built: bool = False) -> int:
    """The parameters `tool` reports for one leaf node."""
    if tool == "ptflops":
        return node.trainable_params
    if tool == "thop":  # counted by a forward hook: a row that does not run has none
        seen = form_of(node, built) in THOP_PARAMS.get(kind_of(node), ())
        return node.params if seen and not node.training_only else 0
    return node.params


# --------------------------------------------------------------------------- a whole report

@dataclass(frozen=True, slots=True)
class Counts:
    """One node's (or the whole network's) numbers in a convention, per example."""

    number: int
    params: int
    trainable_params: int


@dataclass(slots=True)
class Counted:
    """A report counted in a convention: every node's numbers by path, and the total."""

    convention: Convention
    report: Report
    nodes: dict[str, Counts]
    total: Counts

    def scale(self, value: int) -> int:
        """A per-example number at the report's batch (ptflops: one example, always)."""
        return value if self.convention.per_example else value * self.report.batch

    def number_of(self, path: str) -> int:
        return self.scale(self.nodes[path].number)

    @property
    def number(self) -> int:
        return self.scale(self.total.number)

    @property
    def macs(self) -> int:
        """The number in multiply-adds (FlopCounterMode's FLOPs halved)."""
        return self.number // self.convention.per_mac


def count(report: Report, name: str, built: bool = False) -> Counted:
    """`report` counted in the convention `name` (see the module docstring); `built`: the
    model `cnncalc.torch.build` makes rather than torch's own modules."""
    chosen = convention(name)
    nodes: dict[str, Counts] = {}

    def visit(node: Node) -> Counts:
        if node.children is not None:
            parts = [visit(child) for child in node.children]
            found = Counts(sum(p.number for p in parts), sum(p.params for p in parts),
                           sum(p.trainable_params for p in parts))
        elif name == "cnncalc":
            found = Counts(0 if node.training_only else node.macs, node.params,
                           node.trainable_params)
        else:
            own = params(name, node, built)
            try:
                found = Counts(number(name, node, built), own, own if node.trainable else 0)
            except CnnCalcError as exc:
                raise exc.located(file=report.file or None, line=node.line,
                                  layer=f"'{node.path}' ({node.kind})") from None
        nodes[node.path] = found
        return found

    parts = [visit(node) for node in report.nodes]
    total = Counts(sum(p.number for p in parts), sum(p.params for p in parts),
                   sum(p.trainable_params for p in parts))
    return Counted(chosen, report, nodes, total)


def rule_kinds() -> list[type[Layer]]:
    """Every layer class a rule is needed for (the kinds and the merges)."""
    from ..core.layers import KINDS, MERGES

    return list(dict.fromkeys([entry.model for entry in KINDS.values()] + list(MERGES.values())))
