"""A saved `torch.export` program (`.pt2`) as a spec, from its ATen graph.

`torch.export.save(torch.export.export(model, (x,)), "m.pt2")` stores the model as a graph of
ATen operators with the module path that ran each (`node.meta["nn_module_stack"]`), its
parameters and buffers (`graph_signature`: which inputs are which, by their names in the
state_dict), and every value's shape. Each operator becomes an `Op` by one table, `ATEN` (the
operators of torch.export's default IR, `aten.conv2d`, `aten.batch_norm`, ..., and of the core
ATen IR that `run_decompositions()` gives, `aten.convolution`,
`aten._native_batch_norm_legit_no_training`, `aten.addmm`, ...). An op that holds
parameters becomes the row of the module that owns them (`layer1.0.conv1`), so the state_dict
loads into the spec's module; a parameter-free op that is alone in a module without
submodules is that module's row too (`layer1.0.relu`). torchvision's SqueezeExcitation (its
pool, two 1x1 convs, activation, gate and product) is one `se` row.

What the table cannot express is reported all at once with its module path, as
`cnncalc.importer.fx` does; the spec written is checked against the program: every row's
shape, params and buffers (the signature's), and MACs (FlopCounterMode running the program on
fake tensors, halved).

A program holds only what ran when it was exported: an eval-mode export has no
training-only branch (an auxiliary head), whose parameters are then counted by the program
and by no op, an error that names them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.fx as fx

from ..core.spec import INPUT
from ..errors import CnnCalcError
from . import fx as rules
from .fx import NHWC, Traced, Unsupported, _Call, _Converter
from .graph import to_spec as write_spec

Handler = Callable[["_AtenCall"], None]


def _name(target: Any) -> str:
    """`conv2d` for `torch.ops.aten.conv2d.default`, `getitem` for operator.getitem."""
    schema = getattr(target, "_schema", None)
    if schema is not None:
        return schema.name.split("::", 1)[-1]
    return getattr(target, "__name__", str(target))


class _AtenCall(_Call):
    converter: _AtenConverter

    def param(self, value: Any) -> tuple[str, tuple[int, ...]] | None:
        """The state_dict name and shape of a parameter or buffer argument; None for None."""
        if value is None:
            return None
        found = self.converter.params.get(value.name) if isinstance(value, fx.Node) else None
        if found is None:
            raise Unsupported(f"a computed weight {value} (cnncalc's rows hold their own)")
        return found

    def owned(self, kind: str, fields: rules.Fields, *tensors: Any,
              inputs: list[Any] | None = None) -> None:
        """A row that holds `tensors` (parameters, buffers): the row of the module that owns
        them, which must be the module that ran it."""
        names = [found[0] for found in map(self.param, tensors) if found is not None]
        owners = {name.rpartition(".")[0] for name in names}
        where, _ = rules._place(self.node)
        if len(owners) > 1 or owners and owners != {where}:
            raise Unsupported(f"uses the parameters of {', '.join(sorted(owners))} inside "
                              f"{where or 'the model'} (cnncalc's row would hold them under "
                              "another name: the state_dict would not load)")
        for name in names:
            if name in self.converter.used:
                raise Unsupported(f"{name} used twice (shared weights: cnncalc would count "
                                  "them twice)")
            self.converter.used.add(name)
        self.converter.add(self.node, kind, fields, inputs or [self.x],
                           module=where if names else None)


def _ints(value: Any, n: int = 2) -> list[int]:
    if isinstance(value, int):
        return [value] * n
    return [int(v) for v in value]


def _conv_fields(filters: int, kernel: tuple[int, ...], stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool) -> rules.Fields:
    fields: rules.Fields = {"filters": filters, "kernel": rules._pair(list(kernel))}
    if rules._pair(_ints(stride)) != 1:
        fields["stride"] = rules._pair(_ints(stride))
    if isinstance(padding, str):
        if padding != "valid":
            fields["padding"] = padding
    elif rules._pair(_ints(padding)) != 0:
        fields["padding"] = rules._pair(_ints(padding))
    if rules._pair(_ints(dilation)) != 1:
        fields["dilation"] = rules._pair(_ints(dilation))
    if groups != 1:
        fields["groups"] = int(groups)
    if not bias:
        fields["bias"] = False
    return fields


def _a_conv2d(call: _AtenCall) -> None:
    weight, bias = call.arg(1, "weight"), call.arg(2, "bias")
    _, shape = call.param(weight)  # type: ignore[misc]
    fields = _conv_fields(shape[0], shape[2:], call.arg(3, "stride", 1),
                          call.arg(4, "padding", 0), call.arg(5, "dilation", 1),
                          call.arg(6, "groups", 1), bias is not None)
    call.owned("conv", fields, weight, bias)


def _a_convolution(call: _AtenCall) -> None:
    weight, bias = call.arg(1, "weight"), call.arg(2, "bias")
    _, shape = call.param(weight)  # type: ignore[misc]
    stride, padding, dilation = call.arg(3, "stride"), call.arg(4, "padding"), \
        call.arg(5, "dilation")
    transposed, output_padding, groups = call.arg(6, "transposed"), \
        call.arg(7, "output_padding"), call.arg(8, "groups")
    if not transposed:
        call.owned("conv", _conv_fields(shape[0], shape[2:], stride, padding, dilation, groups,
                                        bias is not None), weight, bias)
        return
    _transposed(call, shape, stride, padding, output_padding, groups, dilation, weight, bias)


def _transposed(call: _AtenCall, shape: tuple[int, ...], stride: Any, padding: Any,
                output_padding: Any, groups: Any, dilation: Any, weight: Any,
                bias: Any) -> None:
    fields: rules.Fields = {"filters": shape[1] * int(groups),
                            "kernel": rules._pair(list(shape[2:]))}
    for key, value, default in (("stride", stride, 1), ("padding", padding, 0),
                                ("output_padding", output_padding, 0),
                                ("dilation", dilation, 1)):
        if rules._pair(_ints(value)) != default:
            fields[key] = rules._pair(_ints(value))
    if int(groups) != 1:
        fields["groups"] = int(groups)
    if bias is None:
        fields["bias"] = False
    call.owned("conv_transpose", fields, weight, bias)


def _a_conv_transpose2d(call: _AtenCall) -> None:
    weight, bias = call.arg(1, "weight"), call.arg(2, "bias")
    _, shape = call.param(weight)  # type: ignore[misc]
    _transposed(call, shape, call.arg(3, "stride", 1), call.arg(4, "padding", 0),
                call.arg(5, "output_padding", 0), call.arg(6, "groups", 1),
                call.arg(7, "dilation", 1), weight, bias)


def _batchnorm(call: _AtenCall, weight: Any, bias: Any, mean: Any, var: Any, momentum: Any,
               eps: Any) -> None:
    if mean is None or var is None:
        raise Unsupported("batch norm without running statistics")
    fields: rules.Fields = {}
    if float(eps) != 1e-5:
        fields["eps"] = float(eps)
    if momentum is not None and float(momentum) != 0.1:
        fields["momentum"] = float(momentum)
    if weight is None:
        fields["affine"] = False
    call.owned("batchnorm", fields, weight, bias, mean, var)


def _a_batch_norm(call: _AtenCall) -> None:
    if call.arg(5, "training", False):
        raise Unsupported("batch norm in training mode (export the model in eval mode)")
    _batchnorm(call, call.arg(1, "weight"), call.arg(2, "bias"), call.arg(3, "running_mean"),
               call.arg(4, "running_var"), call.arg(6, "momentum", 0.1), call.arg(7, "eps"))


def _a_batch_norm_no_training(call: _AtenCall) -> None:
    _batchnorm(call, call.arg(1, "weight"), call.arg(2, "bias"), call.arg(3, "running_mean"),
               call.arg(4, "running_var"), call.arg(5, "momentum", 0.1), call.arg(6, "eps"))


def _a_linear(call: _AtenCall) -> None:
    weight, bias = call.arg(1, "weight"), call.arg(2, "bias")
    _, shape = call.param(weight)  # type: ignore[misc]
    _dense(call, shape[0], bias is not None, weight, bias, call.x)


def _dense(call: _AtenCall, units: int, bias: bool, weight: Any, bias_node: Any,
           x: Any) -> None:
    if call.layout(x) == NHWC:
        raise Unsupported("a Linear on a channels-last map (cnncalc would write it as a 1x1 "
                          "conv, whose weight is [out, in, 1, 1], not Linear's [out, in]: the "
                          "module's state_dict would not load into the spec's module)")
    if len(call.shape(x)) != 2:
        raise Unsupported(f"a Linear on a {len(call.shape(x))}-D tensor (cnncalc's dense takes "
                          "a vector)")
    call.owned("dense", {"units": units} if bias else {"units": units, "bias": False},
               weight, bias_node, inputs=[x])


def _a_addmm(call: _AtenCall) -> None:
    """`addmm(bias, x, weight.t())`: the core ATen form of a Linear."""
    bias, x, transposed = call.arg(0, "self"), call.arg(1, "mat1"), call.arg(2, "mat2")
    weight = call.converter.transposed.get(getattr(transposed, "name", ""))
    if weight is None:
        raise Unsupported("a matrix product with something other than a weight's transpose")
    _, shape = call.param(weight)  # type: ignore[misc]
    _dense(call, shape[0], True, weight, bias, x)


def _a_mm(call: _AtenCall) -> None:
    x, transposed = call.arg(0, "self"), call.arg(1, "mat2")
    weight = call.converter.transposed.get(getattr(transposed, "name", ""))
    if weight is None:
        raise Unsupported("a matrix product with something other than a weight's transpose")
    _, shape = call.param(weight)  # type: ignore[misc]
    _dense(call, shape[0], False, weight, None, x)


def _a_transpose(call: _AtenCall) -> None:
    """`t(weight)` or `permute(weight, [1, 0])`: read by addmm; on a tensor: a permute."""
    x = call.x
    if x.name in call.converter.params:
        call.converter.transposed[call.node.name] = x
        return
    if _name(call.node.target) == "permute":
        rules._f_permute(call)
        return
    raise Unsupported("a transpose of a tensor")


def _a_activation(kind: str) -> Handler:
    def convert(call: _AtenCall) -> None:
        if kind == "gelu" and call.arg(1, "approximate", "none") != "none":
            call.row("activation", {"function": "gelu",
                                    "approximate": call.arg(1, "approximate")})
        elif kind == "leaky_relu":
            call.row("activation", {"function": "leaky_relu",
                                    "negative_slope": float(call.arg(1, "negative_slope",
                                                                     0.01))})
        elif kind == "hardtanh":
            if (float(call.arg(1, "min_val", -1.0)), float(call.arg(2, "max_val", 1.0))) != (
                    0.0, 6.0):
                raise Unsupported("hardtanh other than relu6's (0, 6)")
            call.row("relu6")
        else:
            call.row(kind)
    return convert


def _a_softmax(call: _AtenCall) -> None:
    rules._softmax_dim(call.arg(1, "dim"), call.shape(), call.layout())
    call.row("softmax")


def _a_add(call: _AtenCall) -> None:
    a, b = call.arg(0, "self"), call.arg(1, "other")
    if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)) or call.arg(2, "alpha", 1) != 1:
        raise Unsupported("adding a constant or a scaled tensor")
    if a.name in call.converter.params or b.name in call.converter.params:
        raise Unsupported("adds a tensor of the module directly (a bare nn.Parameter or "
                          "buffer)")
    if call.shape(a) != call.shape(b):
        raise Unsupported(f"adding tensors of different shapes {call.shape(a)} and "
                          f"{call.shape(b)} (broadcasting)")
    call.row("add", {}, [a, b])


def _a_max_pool(call: _AtenCall) -> None:
    call.row(*rules._pool_fields("max", call.arg(1, "kernel_size"), call.arg(2, "stride"),
                                 call.arg(3, "padding", 0), call.arg(4, "dilation", 1),
                                 call.arg(5, "ceil_mode", False), True, None))


def _a_avg_pool(call: _AtenCall) -> None:
    call.row(*rules._pool_fields("avg", call.arg(1, "kernel_size"), call.arg(2, "stride"),
                                 call.arg(3, "padding", 0), 1, call.arg(4, "ceil_mode", False),
                                 call.arg(5, "count_include_pad", True),
                                 call.arg(6, "divisor_override")))


def _a_adaptive(mode: str) -> Handler:
    def convert(call: _AtenCall) -> None:
        call.row(*rules._adaptive_fields(mode, call.arg(1, "output_size"), call.shape()))
    return convert


def _a_mean(call: _AtenCall) -> None:
    rules._f_mean(call)


def _a_view(call: _AtenCall) -> None:
    rules._f_reshape(call)


def _a_flatten(call: _AtenCall) -> None:
    rules._f_flatten(call)


def _a_layer_norm(call: _AtenCall) -> None:
    shape = call.shape()
    normalized = tuple(call.arg(1, "normalized_shape"))
    weight, bias = call.arg(2, "weight"), call.arg(3, "bias")
    if normalized != (shape[-1],) or not (len(shape) == 2 or len(shape) == 4
                                          and call.layout() == NHWC):
        raise Unsupported(f"layer norm over {normalized} of a {len(shape)}-D tensor (cnncalc's "
                          "normalises the channels of each position, or a vector)")
    if (weight is None) != (bias is None):
        raise Unsupported("layer norm with a scale but no shift, or a shift but no scale")
    call.owned("layernorm", rules._norm_fields(float(call.arg(4, "eps", 1e-5)),
                                               weight is not None), weight, bias)


def _a_upsample(mode: str) -> Handler:
    def convert(call: _AtenCall) -> None:
        if mode == "bilinear" and call.arg(2, "align_corners", False):
            raise Unsupported("bilinear interpolation with align_corners")
        before, after = call.shape(), call.converter.shapes[call.node.name]
        h, w = after[2] / before[2], after[3] / before[3]
        if h.is_integer() and w.is_integer():
            call.row("upsample", {"factor": rules._pair([int(h), int(w)]), "mode": mode})
        else:
            call.row("upsample", {"size": rules._pair(list(after[2:])), "mode": mode})
    return convert


def _a_pad(call: _AtenCall) -> None:
    value = call.arg(2, "value", 0)
    if value not in (0, 0.0, None):
        raise Unsupported(f"padding with the value {value}")
    call.row(*rules._pad_fields(call.arg(1, "pad"), "zeros"))


def _a_dropout(call: _AtenCall) -> None:
    call.row("dropout", {"rate": float(call.arg(1, "p", 0.5))})


def _a_channel_shuffle(call: _AtenCall) -> None:
    call.row("channel_shuffle", {"groups": int(call.arg(1, "groups"))})


def _a_getitem(call: _AtenCall) -> None:
    source, index = call.node.args
    assert isinstance(source, fx.Node)
    name = _name(source.target)
    if name in _TUPLES:  # the output of an op that returns (output, statistics...)
        if index != 0:
            return  # batch norm's saved statistics, max pool's indices: not a tensor we follow
        call.alias(source)
        return
    if name in ("split", "split_with_sizes", "chunk", "unsafe_split"):
        x = source.args[0]
        assert isinstance(x, fx.Node)
        channels = call.shape(x)[1]
        sizes = source.args[1]
        dim = source.args[2] if len(source.args) > 2 else 0
        if name == "chunk":
            rules._chunk_row(call, x, dim, int(sizes), int(index), None)  # type: ignore
            return
        if isinstance(sizes, int):
            sizes = [min(sizes, channels - start) for start in range(0, channels, sizes)]
        rules._chunk_row(call, x, dim, len(sizes), int(index),  # type: ignore[arg-type]
                         [int(s) for s in sizes])
        return
    raise Unsupported(f"indexing [{index}] of {name}")


#: ops whose result is a tuple read by getitem, the output first
_TUPLES = frozenset(("_native_batch_norm_legit_no_training", "max_pool2d_with_indices",
                     "native_layer_norm"))


def _a_native_layer_norm(call: _AtenCall) -> None:
    _a_layer_norm(call)


def _a_nothing(call: _AtenCall) -> None:
    """A tuple read by getitem, a number, a check: no row."""


def _a_identity(call: _AtenCall) -> None:
    call.alias(call.x)


def _a_cat(call: _AtenCall) -> None:
    rules._f_cat(call)


def _a_permute(call: _AtenCall) -> None:
    _a_transpose(call)


_ACTIVATION_OPS = dict((
    ("relu", "relu"), ("relu_", "relu"), ("relu6", "relu6"), ("hardtanh", "hardtanh"),
    ("hardtanh_", "hardtanh"), ("silu", "silu"), ("silu_", "silu"), ("sigmoid", "sigmoid"),
    ("sigmoid_", "sigmoid"), ("tanh", "tanh"), ("tanh_", "tanh"), ("hardswish", "hardswish"),
    ("hardswish_", "hardswish"), ("hardsigmoid", "hardsigmoid"),
    ("hardsigmoid_", "hardsigmoid"), ("gelu", "gelu"), ("gelu_", "gelu"),
    ("leaky_relu", "leaky_relu"), ("leaky_relu_", "leaky_relu")))

#: One rule per ATen operator (by its name, any overload), for the default IR of
#: `torch.export.export` and the core ATen IR of `run_decompositions()`.
ATEN: dict[str, rules.Rule] = {
    "conv2d": rules.Rule(_a_conv2d, "conv"),
    "convolution": rules.Rule(_a_convolution, "conv, conv_transpose"),
    "conv_transpose2d": rules.Rule(_a_conv_transpose2d, "conv_transpose"),
    "batch_norm": rules.Rule(_a_batch_norm, "batchnorm", "eval mode"),
    "_native_batch_norm_legit_no_training": rules.Rule(_a_batch_norm_no_training,
                                                       "batchnorm"),
    "linear": rules.Rule(_a_linear, "dense", "on a vector"),
    "addmm": rules.Rule(_a_addmm, "dense", "bias, x, weight.t()"),
    "mm": rules.Rule(_a_mm, "dense", "x, weight.t() (no bias)"),
    "t": rules.Rule(_a_transpose, "(none)", "of a weight, read by addmm"),
    "permute": rules.Rule(_a_permute, "(none)", "of a weight, or NCHW to channels-last and "
                                                "back"),
    **{name: rules.Rule(_a_activation(kind), "relu6" if kind == "hardtanh" else kind,
                        "min 0, max 6" if kind == "hardtanh" else "")
       for name, kind in _ACTIVATION_OPS.items()},
    "_softmax": rules.Rule(_a_softmax, "softmax", "over the channels"),
    "softmax": rules.Rule(_a_softmax, "softmax", "over the channels"),
    "add": rules.Rule(_a_add, "add", "two tensors of one shape"),
    "add_": rules.Rule(_a_add, "add", "two tensors of one shape"),
    "cat": rules.Rule(_a_cat, "concat", "along the channels"),
    "max_pool2d": rules.Rule(_a_max_pool, "maxpool"),
    "max_pool2d_with_indices": rules.Rule(_a_max_pool, "maxpool"),
    "avg_pool2d": rules.Rule(_a_avg_pool, "avgpool"),
    "adaptive_avg_pool2d": rules.Rule(_a_adaptive("avg"), "adaptive_pool"),
    "_adaptive_avg_pool2d": rules.Rule(_a_adaptive("avg"), "adaptive_pool"),
    "adaptive_max_pool2d": rules.Rule(_a_adaptive("max"), "adaptive_pool"),
    "mean": rules.Rule(_a_mean, "global_pool", "over dims 2 and 3"),
    "view": rules.Rule(_a_view, "flatten", "to (N, -1)"),
    "reshape": rules.Rule(_a_view, "flatten", "to (N, -1)"),
    "_unsafe_view": rules.Rule(_a_view, "flatten", "to (N, -1)"),
    "flatten": rules.Rule(_a_flatten, "flatten", "start_dim 1"),
    "layer_norm": rules.Rule(_a_layer_norm, "layernorm", "over the channels"),
    "native_layer_norm": rules.Rule(_a_native_layer_norm, "layernorm", "over the channels"),
    "upsample_nearest2d": rules.Rule(_a_upsample("nearest"), "upsample"),
    "upsample_bilinear2d": rules.Rule(_a_upsample("bilinear"), "upsample",
                                      "align_corners false"),
    "constant_pad_nd": rules.Rule(_a_pad, "pad, crop", "value 0"),
    "dropout": rules.Rule(_a_dropout, "dropout"),
    "dropout_": rules.Rule(_a_dropout, "dropout"),
    "channel_shuffle": rules.Rule(_a_channel_shuffle, "channel_shuffle"),
    "native_channel_shuffle": rules.Rule(_a_channel_shuffle, "channel_shuffle"),
    "getitem": rules.Rule(_a_getitem, "chunk", "of split or chunk along the channels; the "
                                               "output of batch norm, max pool, layer norm"),
    "split": rules.Rule(_a_nothing, "chunk", "read by getitem"),
    "split_with_sizes": rules.Rule(_a_nothing, "chunk", "read by getitem"),
    "chunk": rules.Rule(_a_nothing, "chunk", "read by getitem"),
    "clone": rules.Rule(_a_identity, "(none)"),
    "contiguous": rules.Rule(_a_identity, "(none)"),
    "alias": rules.Rule(_a_identity, "(none)"),
    "detach": rules.Rule(_a_identity, "(none)"),
    "_assert_tensor_metadata": rules.Rule(_a_nothing, "(none)", "a check"),
    "sym_size": rules.Rule(_a_nothing, "(none)", "a number"),
}


#: activation modules by class name: torch.export's core ATen IR writes some as arithmetic
#: (SiLU as x * sigmoid(x), Hardswish with clamp and div), so their ops are read together
_ACTIVATION_CLASSES = {cls.__name__: name for cls, name in rules._ACTIVATION_NAMES.items()
                       if name not in ("leaky_relu", "softmax")}
#: modules whose ops are read together as one row: by class name
_COLLAPSED = frozenset(("SqueezeExcitation", *_ACTIVATION_CLASSES))


def _collapsed(graph: fx.Graph) -> dict[str, str]:
    """The modules the graph runs whose ops become one row: path -> class name (the
    outermost of nested ones)."""
    found: dict[str, str] = {}
    for node in graph.nodes:
        for path, cls in (node.meta.get("nn_module_stack") or {}).values():
            name = str(cls).rsplit(".", 1)[-1]
            if name in _COLLAPSED and path and not any(
                    path.startswith(p + ".") for p in found):
                found[path] = name
                break
    return found


class _AtenConverter(_Converter):
    def __init__(self, program: Any, shapes: dict[str, tuple[int, ...]]):
        super().__init__(torch.nn.Module(), program.graph_module.graph, shapes)
        self.program = program
        self.params: dict[str, tuple[str, tuple[int, ...]]] = {}  # node -> state_dict name
        self.transposed: dict[str, fx.Node] = {}  # t(weight) node -> the weight's node
        self.inputs: list[fx.Node] = []
        from torch.export.graph_signature import InputKind

        by_node = {n.name: n for n in self.graph.nodes if n.op == "placeholder"}
        for spec in program.graph_signature.input_specs:
            name = getattr(spec.arg, "name", None)
            node = by_node.get(name) if name else None
            if node is None:
                continue
            if spec.kind == InputKind.USER_INPUT:
                self.inputs.append(node)
            elif spec.target is not None:
                value = node.meta.get("val")
                self.params[node.name] = (spec.target, tuple(getattr(value, "shape", ())))
        self.collapsed = _collapsed(self.graph)

    def source(self, arg: Any) -> str:
        if isinstance(arg, fx.Node) and arg.name in self.params:
            raise Unsupported(f"the tensor {self.params[arg.name][0]!r} used directly (a bare "
                              "nn.Parameter or buffer: cnncalc's rows hold their tensors inside "
                              "modules, so the state_dict would not load)")
        return super().source(arg)

    def run(self) -> None:
        tensors = [n for n in self.inputs if isinstance(n.meta.get("val"), torch.Tensor)]
        if len(tensors) != 1:
            raise CnnCalcError(f"the program takes {len(tensors)} input tensors; cnncalc "
                               "imports models with one")
        self.op_of[tensors[0].name] = INPUT
        pending: list[fx.Node] = []  # the nodes of a module read as one row
        for node in self.graph.nodes:
            if node.op == "placeholder":
                continue
            whole = self.collapsed_path(node)
            if pending and whole != self.collapsed_path(pending[0]):
                self.flush(pending)
                pending = []
            if whole is not None and node.op == "call_function":
                pending.append(node)
                continue
            if node.op == "output":
                parts = node.args[0]
                parts = parts if isinstance(parts, (tuple, list)) else [parts]
                try:
                    self.outputs = [self.source(p) for p in parts if isinstance(p, fx.Node)]
                except Unsupported as exc:
                    self.problems.append(("(output)", str(exc)))
                continue
            self.attempt(node)
        self.own_rows()

    def where(self, node: fx.Node) -> tuple[str, str]:
        path, classes = rules._place(node)
        cls = classes.get(path, "")
        return (f"{path} ({cls})" if path else "(top)"), f"aten.{_name(node.target)}"

    def convert(self, node: fx.Node) -> None:
        if node.op != "call_function":
            raise Unsupported(f"a {node.op} node")
        rule = ATEN.get(_name(node.target))
        if rule is None:
            if node.target is operator.getitem:
                rule = ATEN["getitem"]
            else:
                attrs = [a for a in node.all_input_nodes if a.name in self.params]
                if attrs:
                    raise Unsupported(
                        "uses a tensor of the module directly (a bare nn.Parameter or buffer, "
                        "such as ConvNeXt's layer scale: cnncalc's rows hold their tensors "
                        "inside modules, so the module's state_dict would not load into the "
                        "spec's module)", self.params[attrs[0].name][0])
                raise Unsupported("has no cnncalc kind")
        rule.convert(_AtenCall(self, node))

    # -- modules read as one row: torchvision's squeeze-and-excitation, activations
    def collapsed_path(self, node: fx.Node) -> str | None:
        for path, _ in (node.meta.get("nn_module_stack") or {}).values():
            if path in self.collapsed:
                return path
        return None

    def flush(self, nodes: list[fx.Node]) -> None:
        path = self.collapsed_path(nodes[0])
        assert path is not None
        cls = self.collapsed[path]
        last = nodes[-1]
        try:
            inside = {n.name for n in nodes}
            outside = [a for n in nodes for a in n.all_input_nodes
                       if a.name not in inside and a.name not in self.params]
            x = outside[0] if outside else None
            if x is None or any(a is not x for a in outside):
                raise Unsupported(f"a {cls} that reads more than its input")
            if cls == "SqueezeExcitation":
                self.squeeze_excitation(path, nodes, x)
            elif len(nodes) == 1 and ATEN.get(_name(nodes[0].target)) is not None:
                self.convert(nodes[0])  # the op itself (gelu's approximate, hardtanh's range)
            else:
                if any(a.name in self.params for n in nodes for a in n.all_input_nodes):
                    raise Unsupported(f"a {cls} with parameters")
                self.add(last, _ACTIVATION_CLASSES[cls], {}, [x], module=path)
        except Unsupported as exc:
            self.problems.append((f"{path} ({cls})", str(exc)))
            self.stand_in(last)

    def squeeze_excitation(self, path: str, nodes: list[fx.Node], x: fx.Node) -> None:
        """torchvision's SqueezeExcitation: avgpool, fc1, activation, fc2, scale_activation,
        then the input scaled: one `se` row."""
        classes: dict[str, str] = {}
        for node in nodes:
            for sub, cls in (node.meta.get("nn_module_stack") or {}).values():
                classes[sub] = str(cls).rsplit(".", 1)[-1]
        act = _ACTIVATION_CLASSES.get(classes.get(f"{path}.activation", ""))
        gate = _ACTIVATION_CLASSES.get(classes.get(f"{path}.scale_activation", ""))
        convs = [n for n in nodes if _name(n.target) in ("conv2d", "convolution")]
        pools = [n for n in nodes if _name(n.target) in ("adaptive_avg_pool2d",
                                                          "_adaptive_avg_pool2d", "mean")]
        last = nodes[-1]
        if act is None or gate not in ("sigmoid", "hardsigmoid") or len(convs) != 2 \
                or len(pools) != 1 or _name(last.target) not in ("mul", "mul_") \
                or x not in last.args or self.shapes.get(pools[0].name, ())[2:] != (1, 1):
            raise Unsupported("a squeeze-and-excitation that is not torchvision's (a global "
                              "average pool, 1x1 conv, activation, 1x1 conv, gate (sigmoid or "
                              "hardsigmoid), the input times it)")
        call = _AtenCall(self, last)
        found = call.param(convs[0].args[1])
        assert found is not None
        for conv in convs:
            for tensor in conv.args[1:3]:
                param = call.param(tensor)
                if param is not None:
                    if not param[0].startswith(path + "."):
                        raise Unsupported(f"{param[0]} used inside {path}")
                    self.used.add(param[0])
        self.add(last, "se", {"squeeze": found[1][0], "activation": act, "gate": gate}, [x],
                 module=path)

    def own_rows(self) -> None:
        """A parameter-free op alone in a module without submodules (and without another op
        next to it) is that module's row: `layer1.0.relu`, as the module is named."""
        paths = {path for node in self.graph.nodes
                 for path, _ in (node.meta.get("nn_module_stack") or {}).values()}
        leaves = {p for p in paths if p and not any(q.startswith(p + ".") for q in paths)}
        for index, op in enumerate(self.ops):
            if op.own or op.module not in leaves:
                continue
            before = self.ops[index - 1].module if index else None
            after = self.ops[index + 1].module if index + 1 < len(self.ops) else None
            if op.module not in (before, after):
                op.own = True


def _load(path: str | Path) -> Any:
    try:
        return torch.export.load(str(path))
    except FileNotFoundError:
        raise CnnCalcError(f"{path}: no such file") from None
    except Exception as exc:  # a corrupt or foreign file
        raise CnnCalcError(f"{path}: not a saved torch.export program "
                           f"({type(exc).__name__}: {str(exc).strip()[:200]})") from None


def trace(program: Any, input_shape: tuple[int, ...] | None = None) -> tuple[Traced,
                                                                            tuple[int, ...],
                                                                            tuple[int, int]]:
    """The ops of an ExportedProgram, the spec's input shape, and the program's params and
    buffers (batch norm's step counter aside)."""
    graph = program.graph_module.graph
    shapes = {n.name: tuple(n.meta["val"].shape) for n in graph.nodes
              if isinstance(n.meta.get("val"), torch.Tensor)}
    converter = _AtenConverter(program, shapes)
    torch_input = shapes.get(converter.inputs[0].name) if converter.inputs else None
    if torch_input is None:
        raise CnnCalcError("the program has no input tensor")
    spec_input = (torch_input[2], torch_input[3], torch_input[1]) if len(torch_input) == 4 \
        else tuple(torch_input[1:])
    if input_shape is not None and tuple(input_shape) != spec_input:
        raise CnnCalcError(f"the program was exported for an input of {torch_input} "
                           f"({'x'.join(map(str, spec_input))}); --input "
                           f"{'x'.join(map(str, input_shape))} needs a program exported with "
                           "that input")
    converter.run()
    if converter.problems:
        raise CnnCalcError(converter.report())
    params = buffers = 0
    from torch.export.graph_signature import InputKind

    for spec in program.graph_signature.input_specs:
        value = program.state_dict.get(spec.target) if spec.target else None
        if value is None and spec.target is not None:
            value = program.constants.get(spec.target)
        if value is None:
            continue
        if spec.kind == InputKind.PARAMETER:
            params += value.numel()
        elif spec.kind == InputKind.BUFFER and not spec.target.endswith("num_batches_tracked"):
            buffers += value.numel()
    unused = [name for name, _ in converter.params.values() if name not in converter.used
              and not name.endswith("num_batches_tracked")]
    if unused:
        raise CnnCalcError(f"the program holds tensors that no operation uses (a branch that "
                           f"runs only in training, such as an auxiliary head, is not in an "
                           f"eval-mode export): {', '.join(unused[:8])}"
                           + ("..." if len(unused) > 8 else ""))
    traced = Traced(converter.ops, converter.outputs, {
        op_id: shapes[node.name] for op_id, node in converter.node_of.items()
        if node.name in shapes}, _macs(program, torch_input))
    return traced, spec_input, (params, buffers)


def _macs(program: Any, torch_input: tuple[int, ...]) -> int:
    """FlopCounterMode's count of the program run on the meta device, halved."""
    module = program.module()

    def run() -> int:
        with torch.no_grad(), rules.on_meta(module):
            return rules.count_macs(lambda: module(torch.empty(torch_input, device="meta")))

    try:
        with rules.without_dynamo():
            return run()
    except Exception:
        return run()


def program_to_spec(path: str | Path, input_shape: tuple[int, ...] | None = None,
                    name: str | None = None, check: bool = True) -> str:
    """The YAML text of a spec of the saved program at `path` (`.pt2`), checked against it:
    every row's shape, params, buffers and MACs."""
    program = _load(path)
    traced, spec_input, counts = trace(program, input_shape)
    name = name or Path(str(path)).stem.lower()
    text, paths = write_spec(traced.ops, spec_input, name, traced.outputs,
                             header=[f"Imported from {Path(str(path)).name} by cnncalc import "
                                     "(torch.export)."])
    if check:
        rules.check_spec(text, traced, paths, counts)
    return text


def support_table() -> str:
    """The markdown table of the ATen operators `cnncalc import` converts."""
    lines = ["| ATen operator | becomes | needs |", "| --- | --- | --- |"]
    together: dict[tuple[str, str], list[str]] = {}  # one row per (kinds, note)
    for op_name, rule in ATEN.items():
        together.setdefault((rule.kinds, rule.note), []).append(op_name)
    for (kinds, note), names in together.items():
        kinds = kinds if kinds.startswith("(") else f"`{kinds}`"
        shown = ", ".join("`operator.getitem`" if n == "getitem" else f"`aten.{n}`"
                          for n in names)
        lines.append(f"| {shown} | {kinds} | {note} |")
    lines.append("| the ops of torchvision's `SqueezeExcitation`, read together | `se` | "
                 "avgpool, fc1, activation, fc2, scale_activation (sigmoid or hardsigmoid) |")
    lines.append("| the ops of an activation module (`nn.SiLU`, `nn.Hardswish`, ...), read "
                 "together | its activation | the core ATen IR writes some as arithmetic |")
    return "\n".join(lines) + "\n"


__all__ = ["ATEN", "program_to_spec", "trace", "support_table"]
