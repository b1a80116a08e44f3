"""A torch module as a spec, through `torch.fx` symbolic tracing.

The module is traced once (`torch.fx.Tracer`: the layers cnncalc knows are leaves, everything
else is traced through), shapes are propagated on fake tensors (no memory, no arithmetic), and
every node becomes an `Op` by one table: `MODULES` (by module class) and `FUNCTIONS` (functions
and tensor methods). A node the table cannot express is collected, and all of them are
reported at once with their module paths (never skipped: a skipped op would be a silent zero).
The spec written is then analysed by the engine and checked against the module itself: every
row's output shape against the traced one, and params and buffers against the module's; any
difference is an error, never a wrong number.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from ..core.spec import INPUT
from ..errors import CnnCalcError
from .graph import Op, to_spec as write_spec

Fields = dict[str, Any]


def _pair(value: Any) -> int | list[int]:
    if isinstance(value, (tuple, list)):
        return int(value[0]) if len(set(value)) == 1 else [int(v) for v in value]
    return int(value)


class Unsupported(Exception):
    """A node the table cannot express: the reason."""


# --------------------------------------------------------------------------- modules

def _conv(m: nn.Conv2d, shape: tuple[int, ...]) -> tuple[str, Fields]:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode {m.padding_mode!r} (write a pad layer before it)")
    padding: Any = m.padding if isinstance(m.padding, str) else _pair(m.padding)
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
    return "conv", fields


def _conv_transpose(m: nn.ConvTranspose2d, shape: tuple[int, ...]) -> tuple[str, Fields]:
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode {m.padding_mode!r}")
    fields: Fields = {"filters": m.out_channels, "kernel": _pair(m.kernel_size),
                      "stride": _pair(m.stride), "padding": _pair(m.padding)}
    for key, value in (("output_padding", m.output_padding), ("dilation", m.dilation)):
        default = 0 if key == "output_padding" else 1
        if _pair(value) != default:
            fields[key] = _pair(value)
    if m.groups != 1:
        fields["groups"] = m.groups
    if m.bias is None:
        fields["bias"] = False
    return "conv_transpose", fields


def _batchnorm(m: nn.modules.batchnorm._BatchNorm, shape: tuple[int, ...]) -> tuple[str, Fields]:
    if not m.track_running_stats:
        raise Unsupported("batch norm without running statistics")
    fields: Fields = {}
    if m.eps != 1e-5:
        fields["eps"] = m.eps
    if m.momentum != 0.1 and m.momentum is not None:
        fields["momentum"] = m.momentum
    if not m.affine:
        fields["affine"] = False
    return "batchnorm", fields


def _pool(mode: str) -> Callable[[Any, tuple[int, ...]], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
        if mode == "max" and _pair(m.dilation) != 1:
            raise Unsupported("dilated max pooling")
        if mode == "avg" and (not m.count_include_pad and _pair(m.padding) != 0
                              or m.divisor_override is not None):
            raise Unsupported("average pooling without count_include_pad")
        stride = m.stride if m.stride is not None else m.kernel_size
        fields: Fields = {"kernel": _pair(m.kernel_size), "stride": _pair(stride)}
        if _pair(m.padding) != 0:
            fields["padding"] = _pair(m.padding)
        if m.ceil_mode:
            fields["ceil_mode"] = True
        return f"{mode}pool", fields
    return convert


def _adaptive(mode: str) -> Callable[[Any, tuple[int, ...]], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
        size = m.output_size if isinstance(m.output_size, (tuple, list)) \
            else (m.output_size, m.output_size)
        size = [shape[2 + i] if s is None else int(s) for i, s in enumerate(size)]
        return "adaptive_pool", {"size": size[0] if size[0] == size[1] else size, "mode": mode}
    return convert


def _linear(m: nn.Linear, shape: tuple[int, ...]) -> tuple[str, Fields]:
    if len(shape) != 2:
        raise Unsupported(f"a linear layer on a {len(shape)}-D tensor (cnncalc's dense takes "
                          "a vector)")
    fields: Fields = {"units": m.out_features}
    if m.bias is None:
        fields["bias"] = False
    return "dense", fields


def _activation(name: str) -> Callable[[Any, tuple[int, ...]], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
        if name == "leaky_relu":
            return "activation", {"function": "leaky_relu", "negative_slope": m.negative_slope}
        if name == "gelu" and m.approximate != "none":
            return "activation", {"function": "gelu", "approximate": m.approximate}
        if name == "softmax" and m.dim not in (1, -len(shape) + 1):
            raise Unsupported(f"softmax over dim {m.dim} (cnncalc's runs over the channels)")
        return name, {}
    return convert


def _upsample(m: nn.Upsample, shape: tuple[int, ...]) -> tuple[str, Fields]:
    return _interpolate(shape, m.size, m.scale_factor, m.mode, m.align_corners)


def _interpolate(shape: tuple[int, ...], size: Any, scale: Any, mode: str,
                 align_corners: Any) -> tuple[str, Fields]:
    if mode not in ("nearest", "bilinear") or align_corners:
        raise Unsupported(f"interpolation {mode!r}" + (" with align_corners" if align_corners
                                                       else ""))
    if size is not None:
        return "upsample", {"size": _pair(size), "mode": mode}
    factors = scale if isinstance(scale, (tuple, list)) else (scale, scale)
    if any(float(f) != int(f) for f in factors):
        raise Unsupported(f"a fractional scale factor {scale!r}")
    return "upsample", {"factor": _pair([int(f) for f in factors]), "mode": mode}


def _pad(mode: str) -> Callable[[Any, tuple[int, ...]], tuple[str, Fields]]:
    def convert(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
        left, right, top, bottom = m.padding
        if mode == "zeros" and getattr(m, "value", 0) != 0:
            raise Unsupported(f"padding with the value {m.value}")
        return "pad", {"padding": [top, bottom, left, right], "mode": mode}
    return convert


def _dropout(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
    return "dropout", {"rate": float(m.p)}


def _se(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
    act = _ACTIVATION_NAMES.get(type(m.activation))
    gate = _ACTIVATION_NAMES.get(type(m.scale_activation))
    if act is None or gate not in ("sigmoid", "hardsigmoid"):
        raise Unsupported("squeeze-and-excitation with another activation or gate")
    return "se", {"squeeze": m.fc1.out_channels, "activation": act, "gate": gate}


def _stochastic_depth(m: Any, shape: tuple[int, ...]) -> tuple[str, Fields]:
    return "stochastic_depth", {"rate": float(m.p), "mode": m.mode}


_ACTIVATION_NAMES: dict[type, str] = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.SiLU: "silu", nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh", nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid",
    nn.GELU: "gelu", nn.LeakyReLU: "leaky_relu", nn.Softmax: "softmax",
}

#: One converter per module class that is a cnncalc kind (the table `cnncalc import` reads).
MODULES: dict[type, Callable[[Any, tuple[int, ...]], tuple[str, Fields]]] = {
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv_transpose,
    nn.BatchNorm2d: _batchnorm,
    nn.BatchNorm1d: _batchnorm,
    nn.MaxPool2d: _pool("max"),
    nn.AvgPool2d: _pool("avg"),
    nn.AdaptiveAvgPool2d: _adaptive("avg"),
    nn.AdaptiveMaxPool2d: _adaptive("max"),
    nn.Linear: _linear,
    nn.Flatten: lambda m, shape: ("flatten", {}),
    nn.Dropout: _dropout,
    nn.Upsample: _upsample,
    nn.ZeroPad2d: _pad("zeros"),
    nn.ConstantPad2d: _pad("zeros"),
    nn.ReflectionPad2d: _pad("reflect"),
    nn.ReplicationPad2d: _pad("replicate"),
    nn.ChannelShuffle: lambda m, shape: ("channel_shuffle", {"groups": m.groups}),
    **{cls: _activation(name) for cls, name in _ACTIVATION_NAMES.items()},
}


def _module_converter(module: nn.Module) -> Callable[[Any, tuple[int, ...]],
                                                     tuple[str, Fields]] | None:
    """The converter of a module: by class, or torchvision's squeeze-and-excitation and
    stochastic depth by their structure (torchvision is not a dependency)."""
    found = MODULES.get(type(module))
    if found is not None:
        return found
    if isinstance(getattr(module, "fc1", None), nn.Conv2d) and isinstance(
            getattr(module, "fc2", None), nn.Conv2d) and hasattr(module, "scale_activation"):
        return _se
    if type(module).__name__ == "StochasticDepth" and hasattr(module, "p") and hasattr(
            module, "mode"):
        return _stochastic_depth
    return None


# --------------------------------------------------------------------------- functions

_FUNCTION_ACTIVATIONS: dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.silu: "silu",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh",
    F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid", F.gelu: "gelu",
    "relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
}
_ADDS = (operator.add, operator.iadd, torch.add, "add", "add_")


# --------------------------------------------------------------------------- tracing

class _Tracer(fx.Tracer):
    """Modules cnncalc knows are leaves; every other module is traced through."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return _module_converter(m) is not None or isinstance(m, nn.Identity)


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _place(node: fx.Node) -> tuple[str, dict[str, str]]:
    """The module path that ran a function node, and the classes along it."""
    stack = node.meta.get("nn_module_stack") or {}
    classes = {}
    path = ""
    for value in stack.values():
        path, cls = value[0], value[1]
        classes[path] = getattr(cls, "__name__", str(cls))
    return path, classes


class _Converter:
    def __init__(self, root: nn.Module, graph: fx.Graph):
        self.root = root
        self.modules = dict(root.named_modules())
        self.graph = graph
        self.ops: list[Op] = []
        self.alias: dict[str, str] = {}  # node name -> the op id it is (identities, views)
        self.problems: list[str] = []
        self.called: dict[str, int] = {}
        self.outputs: list[str] = []

    def source(self, arg: Any) -> str:
        if not isinstance(arg, fx.Node):
            raise Unsupported(f"a constant input {arg!r}")
        return self.alias.get(arg.name, arg.name)

    def add(self, node: fx.Node, kind: str, fields: Fields, inputs: list[str], module: str,
            own: bool, classes: dict[str, str], trainable: bool = True) -> None:
        self.ops.append(Op(node.name, kind, fields, inputs, module, own, trainable, classes))

    def run(self) -> None:
        placeholders = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise CnnCalcError(f"the model takes {len(placeholders)} inputs; cnncalc imports "
                               "models with one input tensor")
        self.alias[placeholders[0].name] = INPUT
        for node in self.graph.nodes:
            if node.op in ("placeholder", "get_attr"):
                continue
            if node.op == "output":
                result = node.args[0]
                parts = result if isinstance(result, (tuple, list)) else [result]
                try:
                    self.outputs = [self.source(part) for part in parts]
                except Unsupported as exc:
                    self.problems.append(f"output: {exc}")
                continue
            try:
                self.convert(node)
            except Unsupported as exc:
                where, _ = _place(node)
                target = node.target if node.op == "call_module" else getattr(
                    node.target, "__name__", str(node.target))
                self.problems.append(f"{node.target if node.op == 'call_module' else where or '(top)'}"
                                     f": {target}: {exc}")

    def convert(self, node: fx.Node) -> None:
        shape = _shape(node.args[0]) if node.args and isinstance(node.args[0], fx.Node) else None
        if node.op == "call_module":
            path = str(node.target)
            module = self.modules[path]
            _, classes = _place(node)
            if isinstance(module, nn.Identity):
                self.alias[node.name] = self.source(node.args[0])
                return
            converter = _module_converter(module)
            if converter is None:  # pragma: no cover - the tracer makes only these leaves
                raise Unsupported(f"module {type(module).__name__}")
            has_params = any(True for _ in module.parameters(recurse=True))
            self.called[path] = self.called.get(path, 0) + 1
            if self.called[path] > 1 and has_params:
                raise Unsupported("called more than once with the same weights (shared "
                                  "weights: cnncalc would count them twice)")
            kind, fields = converter(module, shape or ())
            params = list(module.parameters())
            trainable = not params or any(p.requires_grad for p in params)
            if params and not all(p.requires_grad for p in params) and trainable:
                raise Unsupported("partly frozen (some parameters require no gradient)")
            self.add(node, kind, fields, [self.source(node.args[0])], path, True, classes,
                     trainable)
            return
        where, classes = _place(node)
        target = node.target
        args, kwargs = node.args, node.kwargs
        if target in _ADDS:
            if len(args) != 2 or not all(isinstance(a, fx.Node) for a in args) \
                    or kwargs.get("alpha", 1) != 1:
                raise Unsupported("adding a constant or a scaled tensor")
            if _shape(args[0]) != _shape(args[1]):
                raise Unsupported("adding tensors of different shapes (broadcasting)")
            self.add(node, "add", {}, [self.source(a) for a in args], where, False, classes)
            return
        if target is torch.cat:
            tensors = args[0]
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if dim not in (1, -3) or not isinstance(tensors, (list, tuple)):
                raise Unsupported(f"concatenation along dim {dim} (cnncalc's concat joins "
                                  "channels)")
            self.add(node, "concat", {}, [self.source(t) for t in tensors], where, False,
                     classes)
            return
        if target in _FUNCTION_ACTIVATIONS:
            name = _FUNCTION_ACTIVATIONS[target]
            fields: Fields = {}
            if name == "gelu" and kwargs.get("approximate", "none") != "none":
                kind, fields = "activation", {"function": "gelu",
                                              "approximate": kwargs["approximate"]}
            else:
                kind = name
            self.add(node, kind, fields, [self.source(args[0])], where, False, classes)
            return
        if target is F.softmax or target == "softmax":
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            if dim not in (1, -1 if shape and len(shape) == 2 else 1):
                raise Unsupported(f"softmax over dim {dim}")
            self.add(node, "softmax", {}, [self.source(args[0])], where, False, classes)
            return
        if target in (torch.flatten, "flatten"):
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            if (start, end) != (1, -1) or shape is None:
                raise Unsupported(f"flatten({start}, {end}) (cnncalc flattens all but the "
                                  "batch)")
            self.add(node, "flatten", {}, [self.source(args[0])], where, False, classes)
            return
        if target in ("view", "reshape") or target is torch.reshape:
            out = _shape(node)
            if shape is not None and out is not None and len(out) == 2 and out[0] == shape[0] \
                    and len(shape) > 2:
                self.add(node, "flatten", {}, [self.source(args[0])], where, False, classes)
                return
            raise Unsupported(f"reshape to {out}")
        if target in ("mean",) or target is torch.mean:
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            keep = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
            if shape is not None and len(shape) == 4 and sorted(
                    d % 4 for d in (dims if isinstance(dims, (list, tuple)) else [dims])) == [2, 3]:
                fields = {"mode": "avg", "keepdims": True} if keep else {}
                self.add(node, "global_pool", fields, [self.source(args[0])], where, False,
                         classes)
                return
            raise Unsupported(f"mean over {dims}")
        if target is F.adaptive_avg_pool2d or target is F.adaptive_max_pool2d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = size if isinstance(size, (tuple, list)) else (size, size)
            mode = "avg" if target is F.adaptive_avg_pool2d else "max"
            self.add(node, "adaptive_pool", {"size": _pair(size), "mode": mode},
                     [self.source(args[0])], where, False, classes)
            return
        if target is F.interpolate:
            size, scale = kwargs.get("size"), kwargs.get("scale_factor")
            if len(args) > 1:
                size = args[1]
            if len(args) > 2:
                scale = args[2]
            kind, fields = _interpolate(shape or (), size, scale, kwargs.get("mode", "nearest"),
                                        kwargs.get("align_corners"))
            self.add(node, kind, fields, [self.source(args[0])], where, False, classes)
            return
        if target is operator.getitem and isinstance(args[0], fx.Node) \
                and args[0].target in ("chunk", torch.chunk):
            chunked = args[0]
            chunks = chunked.args[1] if len(chunked.args) > 1 else chunked.kwargs["chunks"]
            dim = chunked.args[2] if len(chunked.args) > 2 else chunked.kwargs.get("dim", 0)
            if dim != 1:
                raise Unsupported(f"chunk along dim {dim}")
            self.add(node, "chunk", {"chunks": int(chunks), "index": int(args[1])},
                     [self.source(chunked.args[0])], where, False, classes)
            return
        if target in ("chunk", torch.chunk, "size", "dim") or target is getattr:
            return  # a tuple of views (read by getitem above) or a number, not a tensor
        if target in ("contiguous",):
            self.alias[node.name] = self.source(args[0])
            return
        if target is F.dropout:
            self.add(node, "dropout", {"rate": float(args[1] if len(args) > 1 else
                                                    kwargs.get("p", 0.5))},
                     [self.source(args[0])], where, False, classes)
            return
        name = getattr(target, "__name__", str(target))
        raise Unsupported(f"{node.op} {name} has no cnncalc kind")


def trace(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[list[Op], list[str],
                                                                     fx.GraphModule]:
    """The ops of `module` on an input of spec shape `input_shape` (HxWxC or a vector)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    was_training = module.training
    module.eval()
    try:
        graph = _Tracer().trace(module)
    except Exception as exc:  # torch.fx's TraceError and the errors it lets through
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CnnCalcError(f"torch.fx cannot trace the model: {first[:300]} (data-dependent "
                           "control flow, such as an `if` on a tensor's values, cannot be "
                           "imported)") from None
    finally:
        module.train(was_training)
    gm = fx.GraphModule(module, graph)
    torch_shape = (1, input_shape[2], input_shape[0], input_shape[1]) \
        if len(input_shape) == 3 else (1, *input_shape)
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    try:
        ShapeProp(gm, fake_mode=mode).propagate(mode.from_tensor(torch.empty(torch_shape)))
    except Exception as exc:
        raise CnnCalcError(f"the model does not run on an input of {torch_shape}: "
                           f"{str(exc).strip().splitlines()[0][:300]}") from None
    converter = _Converter(module, graph)
    converter.run()
    if converter.problems:
        raise CnnCalcError([f"cannot import: {p}" for p in converter.problems])
    return converter.ops, converter.outputs, gm


def to_spec(module: nn.Module, input_shape: tuple[int, ...], name: str | None = None,
            description: str = "", check: bool = True) -> str:
    """The YAML text of a spec of `module` on one input of `input_shape` (HxWxC or a vector).
    With `check`, the spec is analysed and compared with the module: every row's shape,
    and the params and buffers; any difference is an error."""
    ops, outputs, gm = trace(module, tuple(input_shape))
    name = name or type(module).__name__.lower()
    text, paths = write_spec(ops, tuple(input_shape), name, outputs, description,
                             header=[f"Imported from {type(module).__module__}."
                                     f"{type(module).__qualname__} by cnncalc import "
                                     "(torch.fx)."])
    if check:
        _check(text, module, gm, ops, paths)
    return text


def _check(text: str, module: nn.Module, gm: fx.GraphModule, ops: list[Op],
           paths: dict[str, str]) -> None:
    """The engine's report of `text` against the module: shapes per op, params, buffers."""
    from ..core.engine import analyze
    from ..core.source import load_text

    report = analyze(load_text(text, "imported"))
    problems = []
    nodes = {n.name: n for n in gm.graph.nodes}
    rows = {n.path: n for n in report.walk()}
    for op in ops:
        expected = _shape(nodes[op.id])
        row = rows.get(paths[op.id])
        if expected is None:
            continue
        if row is None:
            problems.append(f"{paths[op.id]}: no such row in the spec")
            continue
        got = (1, row.output_shape[2], row.output_shape[0], row.output_shape[1]) \
            if len(row.output_shape) == 3 else (1, *row.output_shape)
        if got != tuple(expected):
            problems.append(f"{row.path}: the spec gives {got}, torch {tuple(expected)}")
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for n, b in module.named_buffers()
                  if not n.endswith("num_batches_tracked"))
    if report.totals.params != params:
        problems.append(f"params: the spec counts {report.totals.params:,}, the module has "
                        f"{params:,}")
    if report.totals.buffers != buffers:
        problems.append(f"buffers: the spec counts {report.totals.buffers:,}, the module has "
                        f"{buffers:,}")
    if problems:
        raise CnnCalcError([f"the imported spec disagrees with the module: {p}"
                            for p in problems])


__all__ = ["MODULES", "trace", "to_spec"]
