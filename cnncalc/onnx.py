"""ONNX interop: an ONNX file as a spec (`to_spec`), and a spec as an ONNX file (`export`).

This is the only module of cnncalc that imports `onnx` (an optional extra:
`pip install 'cnncalc[onnx]'`); `cnncalc import NET.onnx` and `cnncalc export` import it when
they run, nothing else does. Importing needs no torch; exporting builds the spec with
`cnncalc.torch.build` and runs torch's exporter.

Importing (`to_spec`), in the manner of onnx2torch:
- The model's input is fixed to one example (N = 1; `input_shape` overrides H, W and C) and
  `onnx.shape_inference` (with data propagation) gives every value's shape. Values computed
  from constants only (initializers, `Constant`, a `Shape` of a tensor whose shape is known,
  and what is computed from them: torch's exporters build reshape targets and slice bounds
  this way) are evaluated with `onnx.reference`; they are not rows. Shapes are inferred again
  once such values are known (shape inference cannot follow `Shape -> Gather -> Div ->
  Slice`). Weights are read for their shapes only: a large one is never loaded into an
  array, and external data is not read.
- Every other node is converted by the one converter of its op type in `CONVERTERS` (the
  table the docs print: docs/importing-onnx.md). A converter may take in the nodes before it
  that make one cnncalc kind together: `x * Sigmoid(x)` is `silu`, MatMul then Add of a
  bias is `dense`, a zero `Pad` in the same module before a Conv is the conv's padding, and
  `GlobalAveragePool -> Conv -> act -> Conv -> Sigmoid -> Mul` with the block's input is
  `se`. A node no converter can express is collected, and every one of them is reported at
  once with its node name (never skipped: a skipped op would be a silent zero).
- Rows nest as the original modules: torch's TorchScript exporter names nodes by module
  scope (`/layer1/layer1.0/conv1/Conv` is module `layer1.0.conv1`), its dynamo exporter keeps
  the scopes in the node's metadata (`pkg.torch.onnx.name_scopes`); a node named otherwise
  takes its module from its weight's initializer name (`features.0.weight`). A module's only
  op is the module's row; an activation that a conv or dense module applies itself (the only
  two ops of the module) becomes that layer's `activation:`.
- The spec written is analysed by the engine and checked against the model: every row's
  output shape against ONNX's inferred shape, params against the sizes of the weights the
  nodes read, buffers against batch norm's running statistics, and no weight that a node
  reads may go uncounted. A weight read by two nodes counts for each (torch's exporter gives
  equal initializers one name). Any difference is an error, never a wrong number.

What is counted is the graph in the file. torch's exporters fold batch norm into the
convolutions of an eval-mode model (the weights are scaled and a bias added): such a graph has
no batchnorm rows, and each conv that had none gets a bias (C_out more params; the batch
norm's 2 C params and 2 C buffers are gone). The TorchScript exporter keeps batch norm with
`training=TrainingMode.PRESERVE` (or `TRAINING`), or `do_constant_folding=False`.
"""

from __future__ import annotations

import ast
import io
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from .core.spec import INPUT
from .errors import CnnCalcError
from .importer.graph import Op
from .importer.graph import to_spec as write_spec

if TYPE_CHECKING:
    from .core.report import Report
    from .core.spec import Spec

Fields = dict[str, Any]
#: The oldest default-domain opset the converters read (attributes that became inputs in
#: opset 13, such as Split's sizes and ReduceMean's axes in 18, are read both ways).
MIN_OPSET = 13
#: What `cnncalc export` writes.
EXPORT_OPSET = 17
#: Activations a conv, dense or transposed conv takes as its `activation:` field.
_FIELD_ACTIVATIONS = frozenset(("relu", "relu6", "tanh", "sigmoid", "silu", "hardswish",
                                "hardsigmoid", "gelu", "softmax"))
#: Folded constants of at most this many values become initializers for shape inference.
_SMALL = 4096
_FOLD_ROUNDS = 6
_ATOM = re.compile(r"[^A-Za-z0-9_-]")


class Unsupported(Exception):
    """A node the converters cannot express: the reason."""


@dataclass(slots=True)
class Converted:
    """What a converter makes of a node (and the nodes it takes in): one cnncalc row."""

    kind: str
    fields: Fields
    inputs: list[str]  # value names read (before aliases)
    params: list[str] = field(default_factory=list)  # weights counted as params
    buffers: list[str] = field(default_factory=list)  # batch norm's running statistics
    absorbed: list[onnx.NodeProto] = field(default_factory=list)  # nodes it takes in
    output: str = ""  # the value it gives (default: the node's first output)


Convert = Callable[[onnx.NodeProto, "_Model"], "Converted | list[Converted] | None"]


@dataclass(frozen=True, slots=True)
class Converter:
    """One ONNX op type: the cnncalc kinds it becomes and the cases it takes (for the docs)."""

    op_type: str
    kinds: str
    notes: str
    convert: Convert


#: One converter per ONNX op type (default domain), in the order the docs list them.
CONVERTERS: dict[str, Converter] = {}


def converter(*op_types: str, kinds: str, notes: str = "") -> Callable[[Convert], Convert]:
    """Register `convert` for `op_types` (as onnx2torch's `add_converter`). It returns the
    row(s), None for an identity (the node's output is its first input), or raises
    Unsupported with the reason."""
    def register(convert: Convert) -> Convert:
        for op_type in op_types:
            CONVERTERS[op_type] = Converter(op_type, kinds, notes, convert)
        return convert
    return register


def ops_table() -> str:
    """The supported ops as a markdown table (docs/importing-onnx.md prints it; a test checks
    the two agree)."""
    lines = ["| ONNX op | cnncalc kind | what is taken |", "| --- | --- | --- |"]
    for entry in CONVERTERS.values():
        lines.append(f"| `{entry.op_type}` | {entry.kinds} | {entry.notes} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the model

def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            value = helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _pair(values: Any) -> int | list[int]:
    values = [int(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def _padding(top: int, bottom: int, left: int, right: int) -> Any:
    """A spec's padding: an integer, [h, w] or [top, bottom, left, right]."""
    if top == bottom and left == right:
        return _pair((top, left))
    return [top, bottom, left, right]


def _short(value: float) -> float:
    """A float32 attribute as the decimal it was written as (0.009999999776 -> 0.01)."""
    return float(f"{float(value):.7g}")


def _atoms(path: str) -> list[str]:
    return [_ATOM.sub("_", atom) or "_" for atom in path.split(".") if atom != ""]


def _scoped_path(name: str) -> list[str] | None:
    """The module path of a node named by scope: `/layer1/layer1.0/conv1/Conv` ->
    `layer1.0.conv1`. torch's TorchScript exporter writes each module's name without its
    parent's, except that a name of digits keeps the atoms before it back to the last word
    (`layer1.0`, `features.0.0`): the overlap with the parent is taken off."""
    if "/" not in name:
        return None
    segments = [s for s in name.split("/")[:-1] if s]
    atoms: list[str] = []
    for segment in segments:
        parts = segment.split(".")
        overlap = next((k for k in range(min(len(atoms), len(parts) - 1), 0, -1)
                        if atoms[-k:] == parts[:k]), 0)
        atoms.extend(parts[overlap:])
    return _atoms(".".join(atoms))


class _Model:
    """An ONNX model with every value's shape and the constants' values, fixed to one
    example of the input."""

    def __init__(self, model: onnx.ModelProto, input_shape: tuple[int, ...] | None):
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          0)
        if self.opset < MIN_OPSET:
            raise CnnCalcError(f"the model's opset is {self.opset}; cnncalc imports opset "
                               f"{MIN_OPSET} and later (onnx.version_converter converts it)")
        graph = model.graph
        initializers = {t.name for t in graph.initializer}
        inputs = [v for v in graph.input if v.name not in initializers]
        if len(inputs) != 1:
            raise CnnCalcError(f"the model takes {len(inputs)} inputs "
                               f"({', '.join(v.name for v in inputs)}); cnncalc imports models "
                               "with one input tensor")
        self.input = inputs[0].name
        self.input_shape = self._fix_input(inputs[0], input_shape)
        # Weights are read for their shapes only (their values never change a count): a large
        # one is a zero-stride stand-in of its shape, and shape inference sees it as an input.
        self.weights: dict[str, np.ndarray] = {}
        small_weights, typed = [], []
        for tensor in graph.initializer:
            if math.prod(tensor.dims) <= _SMALL and \
                    tensor.data_location != onnx.TensorProto.EXTERNAL:
                self.weights[tensor.name] = numpy_helper.to_array(tensor)
                small_weights.append(tensor)
            else:
                dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
                self.weights[tensor.name] = np.broadcast_to(np.zeros((), dtype),
                                                            tuple(tensor.dims))
                typed.append(helper.make_tensor_value_info(tensor.name, tensor.data_type,
                                                           tensor.dims))
        light = onnx.ModelProto()
        light.ir_version = model.ir_version
        light.opset_import.extend(model.opset_import)
        light.graph.name = graph.name
        light.graph.node.extend(graph.node)
        light.graph.input.extend([inputs[0], *typed])
        light.graph.output.extend(graph.output)
        light.graph.initializer.extend(small_weights)
        model = light
        for _ in range(_FOLD_ROUNDS):
            self._analyse(model)
            small = [n for n in self.graph.node if all(
                name in self.consts and self.consts[name].size <= _SMALL
                for name in n.output) and n.op_type != "Identity"]
            unknown = any(self.shapes.get(n.output[0]) is None
                          or None in self.shapes[n.output[0]] for n in self.nodes)
            if not small or not unknown:
                break
            model = _with_initializers(inferred=self.graph, model=model, nodes=small,
                                       values=self.consts)

    def _analyse(self, model: onnx.ModelProto) -> None:
        """Infer every value's shape and fold the constants."""
        try:
            inferred = shape_inference.infer_shapes(model, check_type=False, strict_mode=True,
                                                    data_prop=True)
        except Exception as exc:  # onnx's InferenceError and the checker's errors
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CnnCalcError(f"onnx.shape_inference fails on the model with the input "
                               f"{self.input_shape}: {first[:300]}") from None
        self.graph = inferred.graph
        self.shapes: dict[str, tuple[int | None, ...]] = {}
        for value in [*self.graph.value_info, *self.graph.input, *self.graph.output]:
            if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape"):
                self.shapes[value.name] = tuple(
                    d.dim_value if d.HasField("dim_value") else None
                    for d in value.type.tensor_type.shape.dim)
        #: constant values: initializers and what is computed from constants only
        self.consts: dict[str, np.ndarray] = {
            **{t.name: numpy_helper.to_array(t) for t in self.graph.initializer},
            **self.weights}
        #: a constant that is an initializer of the file passed through Identity: its name
        self.weight_of: dict[str, str] = {name: name for name in self.weights}
        #: constants the converters read as attributes (not weights: never params)
        self.attributes: set[str] = set()
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        self.outputs = [v.name for v in self.graph.output]
        self.nodes: list[onnx.NodeProto] = []  # the nodes that are not constants
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
            for name in node.output:
                self.producer[name] = node
            if not self._fold(node):
                self.nodes.append(node)

    def _fix_input(self, value: onnx.ValueInfoProto,
                   override: tuple[int, ...] | None) -> tuple[int, ...]:
        """The spec's input shape (HxWxC or a vector), written into the model as N = 1."""
        dims = value.type.tensor_type.shape.dim
        known = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if len(known) not in (2, 4):
            raise CnnCalcError(f"the model's input {value.name!r} has {len(known)} dimensions; "
                               "cnncalc imports NCHW images and N x features vectors")
        if override is not None:
            if len(override) != len(known) - 1:
                raise CnnCalcError(f"--input {'x'.join(map(str, override))} does not fit the "
                                   f"model's input of {len(known)} dimensions "
                                   f"({'NCHW' if len(known) == 4 else 'N x features'})")
            wanted = [1, override[2], override[0], override[1]] if len(known) == 4 \
                else [1, override[0]]
        else:
            if any(v is None or v <= 0 for v in known[1:]):
                shown = "x".join("?" if v is None else str(v) for v in known)
                raise CnnCalcError(f"the model's input {value.name!r} ({shown}, NCHW) has a "
                                   "dynamic size; give the spec's input with --input HxWxC")
            wanted = [1, *known[1:]]  # type: ignore[list-item]
        for dim, size in zip(dims, wanted, strict=True):
            dim.ClearField("dim_param")
            dim.dim_value = int(size)
        return (wanted[2], wanted[3], wanted[1]) if len(wanted) == 4 else (wanted[1],)

    # -- constants
    def _fold(self, node: onnx.NodeProto) -> bool:
        """Evaluate `node` when its inputs are all constants (or it reads only a known shape);
        whether it was."""
        if node.domain not in ("", "ai.onnx"):
            return False
        if node.op_type == "Constant":
            self.consts[node.output[0]] = _constant_value(node)
            return True
        if node.op_type == "Shape":
            shape = self.shapes.get(node.input[0])
            if shape is None or any(d is None for d in shape):
                return False
            start, end = _attr(node, "start", 0), _attr(node, "end", None)
            self.consts[node.output[0]] = np.array(shape[start:end], dtype=np.int64)
            return True
        if node.op_type in ("RandomNormal", "RandomUniform", "RandomNormalLike",
                            "RandomUniformLike", "Multinomial", "Bernoulli"):
            return False
        if not all(name == "" or name in self.consts for name in node.input):
            return False
        if node.op_type == "Identity":
            self.consts[node.output[0]] = self.consts[node.input[0]]
            if node.input[0] in self.weight_of:
                self.weight_of[node.output[0]] = self.weight_of[node.input[0]]
            return True
        try:
            values = _evaluate(node, {n: self.consts[n] for n in node.input if n}, self.opset)
        except Exception:  # the reference runtime cannot: the node stays a node
            return False
        for name, value in zip(node.output, values, strict=False):
            if name:
                self.consts[name] = np.asarray(value)
        return True

    def const(self, name: str, what: str) -> np.ndarray:
        """The constant value `name` read as an attribute (a shape, scales, bounds), or
        Unsupported naming `what` it should have been."""
        value = self.tensor(name, what)
        self.attributes.add(name)
        return value

    def tensor(self, name: str, what: str) -> np.ndarray:
        """The constant `name` (a weight: its converter counts it), or Unsupported."""
        if name not in self.consts:
            raise Unsupported(f"{what} is computed at run time (cnncalc needs a constant)")
        return self.consts[name]

    def optional_const(self, node: onnx.NodeProto, index: int, what: str) -> np.ndarray | None:
        if len(node.input) <= index or node.input[index] == "":
            return None
        return self.const(node.input[index], what)

    def shape(self, name: str) -> tuple[int, ...]:
        shape = self.shapes.get(name)
        if shape is None or any(d is None for d in shape):
            raise Unsupported(f"the shape of {name!r} is unknown to onnx.shape_inference")
        return shape  # type: ignore[return-value]

    def only_reader(self, name: str, reader: onnx.NodeProto) -> bool:
        """Whether `reader` is the one node that reads `name`, and it is not an output."""
        readers = self.consumers.get(name, [])
        return len(readers) == 1 and readers[0] is reader and name not in self.outputs

    def made_by(self, name: str, *op_types: str) -> onnx.NodeProto | None:
        node = self.producer.get(name)
        if node is None or name in self.consts or node.op_type not in op_types:
            return None
        return node


def _with_initializers(inferred: onnx.GraphProto, model: onnx.ModelProto,
                       nodes: list[onnx.NodeProto], values: dict[str, np.ndarray]
                       ) -> onnx.ModelProto:
    """`model` with `nodes` (folded constants) replaced by initializers of their values."""
    dropped = {id(n) for n in nodes}
    graph = onnx.GraphProto()
    graph.CopyFrom(inferred)
    del graph.node[:]
    graph.node.extend(n for n in inferred.node if id(n) not in dropped)
    del graph.value_info[:]
    graph.initializer.extend(numpy_helper.from_array(np.asarray(values[name]), name)
                             for n in nodes for name in n.output if name)
    result = onnx.ModelProto()
    result.CopyFrom(model)
    result.graph.CopyFrom(graph)
    return result


def _constant_value(node: onnx.NodeProto) -> np.ndarray:
    attribute = node.attribute[0]
    value = helper.get_attribute_value(attribute)
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if attribute.name == "sparse_value":
        raise Unsupported("a sparse constant")
    return np.array(value)


def _evaluate(node: onnx.NodeProto, feeds: dict[str, np.ndarray], opset: int) -> list[Any]:
    """One node run by onnx's reference runtime, in the model's opset."""
    from onnx.reference import ReferenceEvaluator

    inputs = [helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape)
        for name, value in feeds.items()]
    outputs = [helper.make_empty_tensor_value_info(name) for name in node.output if name]
    graph = helper.make_graph([node], "constant", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return list(ReferenceEvaluator(model).run(None, feeds))


# --------------------------------------------------------------------------- converters

def _weight(node: onnx.NodeProto, m: _Model, index: int, what: str) -> np.ndarray:
    if len(node.input) <= index or node.input[index] == "":
        raise Unsupported(f"no {what}")
    return m.tensor(node.input[index], f"the {what}")


def _spatial_attrs(node: onnx.NodeProto, kernel: tuple[int, int], in_shape: tuple[int, ...],
                   fields: Fields, dilations: tuple[int, int] = (1, 1)) -> tuple[int, ...]:
    """strides and pads (top, bottom, left, right) of a conv or pool; `same` in `fields`."""
    strides = tuple(_attr(node, "strides", [1, 1]))
    if len(strides) != 2:
        raise Unsupported(f"{len(strides)}-D windows (cnncalc's are 2-D)")
    if _pair(strides) != 1:
        fields["stride"] = _pair(strides)
    auto = _attr(node, "auto_pad", "NOTSET")
    if auto == "VALID":
        return (0, 0, 0, 0)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for n, f, s, d in zip(in_shape[2:], kernel, strides, dilations, strict=True):
            total = max((-(-n // s) - 1) * s + (f - 1) * d + 1 - n, 0)
            small, large = total // 2, total - total // 2
            pads.append((small, large) if auto == "SAME_UPPER" else (large, small))
        return (pads[0][0], pads[0][1], pads[1][0], pads[1][1])
    if auto != "NOTSET":
        raise Unsupported(f"auto_pad {auto}")
    top, left, bottom, right = _attr(node, "pads", [0, 0, 0, 0])
    return (top, bottom, left, right)


def _take_pad(node: onnx.NodeProto, m: _Model, value: float) -> tuple[onnx.NodeProto | None,
                                                                       tuple[int, ...]]:
    """A constant Pad of `value` in the same module that only `node` reads (torch's explicit
    F.pad before a conv or pool): the Pad node and its (top, bottom, left, right)."""
    pad = m.made_by(node.input[0], "Pad")
    if pad is None or not m.only_reader(pad.output[0], node) \
            or _module_path(pad, m) != _module_path(node, m):
        return None, (0, 0, 0, 0)
    try:
        amounts, mode, fill = _pad_amounts(pad, m)
    except Unsupported:
        return None, (0, 0, 0, 0)
    if mode != "constant" or fill != value or min(amounts) < 0:
        return None, (0, 0, 0, 0)
    return pad, amounts


def _with_pad(pads: tuple[int, ...], extra: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a + b for a, b in zip(pads, extra, strict=True))


@converter("Conv", kinds="`conv`",
           notes="2-D; `group`, `strides`, `dilations`, `pads` (unequal sides: "
                 "`[top, bottom, left, right]`), `auto_pad`; the bias from an initializer; "
                 "a zero `Pad` in the same module before it joins its padding")
def _conv(node: onnx.NodeProto, m: _Model) -> Converted:
    weight = _weight(node, m, 1, "weight")
    if weight.ndim != 4:
        raise Unsupported(f"a {weight.ndim - 2}-D convolution (cnncalc's conv is 2-D)")
    c_out, _, kh, kw = (int(v) for v in weight.shape)
    fields: Fields = {"filters": c_out, "kernel": _pair((kh, kw))}
    dilations = tuple(_attr(node, "dilations", [1, 1]))
    pad, extra = _take_pad(node, m, 0.0)
    source = pad.input[0] if pad is not None else node.input[0]
    pads = _with_pad(_spatial_attrs(node, (kh, kw), m.shape(node.input[0]), fields, dilations),
                     extra)
    if any(pads):
        fields["padding"] = _padding(*pads)
    if _pair(dilations) != 1:
        fields["dilation"] = _pair(dilations)
    if _attr(node, "group", 1) != 1:
        fields["groups"] = int(_attr(node, "group", 1))
    params = [node.input[1]]
    if len(node.input) > 2 and node.input[2]:
        _weight(node, m, 2, "bias")
        params.append(node.input[2])
    else:
        fields["bias"] = False
    return Converted("conv", fields, [source], params, absorbed=[pad] if pad else [])


@converter("ConvTranspose", kinds="`conv_transpose`",
           notes="2-D; `group`, `strides`, `dilations`, `output_padding`, equal `pads` on "
                 "both sides; not `output_shape`")
def _conv_transpose(node: onnx.NodeProto, m: _Model) -> Converted:
    weight = _weight(node, m, 1, "weight")
    if weight.ndim != 4:
        raise Unsupported(f"a {weight.ndim - 2}-D transposed convolution")
    if _attr(node, "output_shape") is not None or _attr(node, "auto_pad", "NOTSET") != "NOTSET":
        raise Unsupported("output_shape or auto_pad (write pads and output_padding)")
    group = int(_attr(node, "group", 1))
    _, per_group, kh, kw = (int(v) for v in weight.shape)
    fields: Fields = {"filters": per_group * group, "kernel": _pair((kh, kw))}
    strides = _attr(node, "strides", [1, 1])
    fields["stride"] = _pair(strides)
    top, left, bottom, right = _attr(node, "pads", [0, 0, 0, 0])
    if (top, left) != (bottom, right):
        raise Unsupported(f"unequal pads {[top, left, bottom, right]} (cnncalc's take the "
                          "same off both sides)")
    fields["padding"] = _pair((top, left))
    for key, name, default in (("output_padding", "output_padding", 0),
                               ("dilation", "dilations", 1)):
        value = _attr(node, name)
        if value is not None and _pair(value) != default:
            fields[key] = _pair(value)
    if group != 1:
        fields["groups"] = group
    params = [node.input[1]]
    if len(node.input) > 2 and node.input[2]:
        _weight(node, m, 2, "bias")
        params.append(node.input[2])
    else:
        fields["bias"] = False
    return Converted("conv_transpose", fields, [node.input[0]], params)


@converter("BatchNormalization", kinds="`batchnorm`",
           notes="scale and bias are params, the running mean and variance buffers; "
                 "`epsilon`, `momentum` (torch's is 1 - ONNX's)")
def _batchnorm(node: onnx.NodeProto, m: _Model) -> Converted:
    for index, what in enumerate(("scale", "bias", "running mean", "running variance"), 1):
        _weight(node, m, index, what)
    if any(name and m.consumers.get(name) for name in node.output[1:]):
        raise Unsupported("its running statistics are read (a training graph)")
    fields: Fields = {}
    eps = _short(_attr(node, "epsilon", 1e-5))
    if eps != 1e-5:
        fields["eps"] = eps
    momentum = round(1 - _short(_attr(node, "momentum", 0.9)), 6)
    if momentum != 0.1:
        fields["momentum"] = momentum
    return Converted("batchnorm", fields, [node.input[0]], list(node.input[1:3]),
                     list(node.input[3:5]))


def _plain(kind: str) -> Convert:
    def convert(node: onnx.NodeProto, m: _Model) -> Converted:
        return Converted(kind, {}, [node.input[0]])
    return convert


converter("Relu", kinds="`relu`")(_plain("relu"))
converter("Sigmoid", kinds="`sigmoid`")(_plain("sigmoid"))
converter("Tanh", kinds="`tanh`")(_plain("tanh"))
converter("HardSwish", kinds="`hardswish`")(_plain("hardswish"))


@converter("HardSigmoid", kinds="`hardsigmoid`",
           notes="torch's: `alpha` 1/6, `beta` 0.5")
def _hardsigmoid(node: onnx.NodeProto, m: _Model) -> Converted:
    alpha, beta = _attr(node, "alpha", 0.2), _attr(node, "beta", 0.5)
    if not (math.isclose(alpha, 1 / 6, rel_tol=1e-5) and math.isclose(beta, 0.5)):
        raise Unsupported(f"alpha {_short(alpha)}, beta {_short(beta)} (torch's hardsigmoid "
                          "is alpha 1/6, beta 0.5)")
    return Converted("hardsigmoid", {}, [node.input[0]])


@converter("LeakyRelu", kinds="`activation: leaky_relu`", notes="`alpha` is `negative_slope`")
def _leaky_relu(node: onnx.NodeProto, m: _Model) -> Converted:
    return Converted("activation", {"function": "leaky_relu",
                                    "negative_slope": _short(_attr(node, "alpha", 0.01))},
                     [node.input[0]])


@converter("Gelu", kinds="`gelu`", notes="opset 20; `approximate` none or tanh")
def _gelu(node: onnx.NodeProto, m: _Model) -> Converted:
    approximate = _attr(node, "approximate", "none")
    if approximate == "none":
        return Converted("gelu", {}, [node.input[0]])
    return Converted("activation", {"function": "gelu", "approximate": approximate},
                     [node.input[0]])


@converter("Softmax", kinds="`softmax`", notes="over the channels (`axis` 1)")
def _softmax(node: onnx.NodeProto, m: _Model) -> Converted:
    rank = len(m.shape(node.input[0]))
    axis = _attr(node, "axis", -1)
    if axis % rank != 1:
        raise Unsupported(f"softmax over axis {axis} of a {rank}-D tensor (cnncalc's runs over "
                          "the channels, axis 1)")
    return Converted("softmax", {}, [node.input[0]])


@converter("Clip", kinds="`relu6`, `relu`", notes="min 0 and max 6 (or no max)")
def _clip(node: onnx.NodeProto, m: _Model) -> Converted:
    low = m.optional_const(node, 1, "the minimum")
    high = m.optional_const(node, 2, "the maximum")
    low_value = None if low is None else float(low)
    high_value = None if high is None or math.isinf(float(high)) else float(high)
    if low_value == 0 and high_value == 6:
        return Converted("relu6", {}, [node.input[0]])
    if low_value == 0 and high_value is None:
        return Converted("relu", {}, [node.input[0]])
    raise Unsupported(f"clip to [{low_value}, {high_value}] (cnncalc has relu6 and relu)")


def _pool(mode: str) -> Convert:
    def convert(node: onnx.NodeProto, m: _Model) -> Converted:
        kernel = tuple(_attr(node, "kernel_shape", []))
        if len(kernel) != 2:
            raise Unsupported(f"{len(kernel)}-D pooling (cnncalc's is 2-D)")
        if mode == "max" and len(node.output) > 1 and m.consumers.get(node.output[1]):
            raise Unsupported("its indices are read")
        if _pair(_attr(node, "dilations", [1, 1])) != 1:
            raise Unsupported("dilated pooling")
        # torch pads max pooling with -inf, and average pooling with zeros that count
        pad, extra = _take_pad(node, m, -math.inf if mode == "max" else 0.0)
        fields: Fields = {"kernel": _pair(kernel)}
        source = pad.input[0] if pad is not None else node.input[0]
        pads = _spatial_attrs(node, kernel, m.shape(node.input[0]), fields)
        fields.setdefault("stride", 1)
        if mode == "avg" and any(pads) and not _attr(node, "count_include_pad", 0):
            raise Unsupported("padding left out of the average (count_include_pad 0; cnncalc "
                              "counts it, as torch's default)")
        pads = _with_pad(pads, extra)
        if any(pads):
            fields["padding"] = _padding(*pads)
        if _attr(node, "ceil_mode", 0):
            fields["ceil_mode"] = True
        return Converted(f"{mode}pool", fields, [source], absorbed=[pad] if pad else [])
    return convert


converter("MaxPool", kinds="`maxpool`",
          notes="2-D; `strides`, `pads`, `ceil_mode`, `auto_pad`; a -inf `Pad` in the same "
                "module before it joins its padding")(_pool("max"))
converter("AveragePool", kinds="`avgpool`",
          notes="as MaxPool; padding counted in the average (`count_include_pad` 1), a zero "
                "`Pad` before it joins")(_pool("avg"))


def _global(mode: str) -> Convert:
    def convert(node: onnx.NodeProto, m: _Model) -> Converted:
        if len(m.shape(node.input[0])) != 4:
            raise Unsupported("global pooling of a tensor that is not NCHW")
        fields: Fields = {"mode": mode} if mode != "avg" else {}
        return Converted("global_pool", {**fields, "keepdims": True}, [node.input[0]])
    return convert


converter("GlobalAveragePool", kinds="`global_pool` (keepdims)")(_global("avg"))
converter("GlobalMaxPool", kinds="`global_pool: max` (keepdims)")(_global("max"))


def _reduce(mode: str) -> Convert:
    def convert(node: onnx.NodeProto, m: _Model) -> Converted:
        rank = len(m.shape(node.input[0]))
        axes = _attr(node, "axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = [int(a) for a in m.const(node.input[1], "the axes")]
        if rank != 4 or axes is None or sorted(a % 4 for a in axes) != [2, 3]:
            raise Unsupported(f"a reduction over axes {axes} (cnncalc's global pooling reduces "
                              "height and width of NCHW)")
        fields: Fields = {"mode": mode} if mode != "avg" else {}
        if _attr(node, "keepdims", 1):
            fields["keepdims"] = True
        return Converted("global_pool", fields, [node.input[0]])
    return convert


converter("ReduceMean", kinds="`global_pool`", notes="over axes 2 and 3; `keepdims`")(
    _reduce("avg"))
converter("ReduceMax", kinds="`global_pool: max`", notes="over axes 2 and 3; `keepdims`")(
    _reduce("max"))


@converter("Flatten", kinds="`flatten`", notes="`axis` 1")
def _flatten(node: onnx.NodeProto, m: _Model) -> Converted:
    if _attr(node, "axis", 1) != 1:
        raise Unsupported(f"flatten from axis {_attr(node, 'axis', 1)} (cnncalc flattens all "
                          "but the batch)")
    return Converted("flatten", {}, [node.input[0]])


@converter("Reshape", kinds="`flatten`; `channel_shuffle`",
           notes="to (N, -1): N x C x H x W to N x CHW; Reshape to (N, g, C/g, H, W), "
                 "Transpose (0, 2, 1, 3, 4), Reshape back: a channel shuffle of g groups")
def _reshape(node: onnx.NodeProto, m: _Model) -> Converted | None:
    before, after = m.shape(node.input[0]), m.shape(node.output[0])
    if before == after:
        return None
    if len(before) == 4 and len(after) == 2 and after[0] == before[0]:
        return Converted("flatten", {}, [node.input[0]])
    shuffle = _channel_shuffle(node, m)
    if shuffle is not None:
        return shuffle
    raise Unsupported(f"a reshape of {before} to {after} (cnncalc flattens N x C x H x W to "
                      "N x CHW)")


def _channel_shuffle(node: onnx.NodeProto, m: _Model) -> Converted | None:
    """Reshape(N, g, C/g, H, W) -> Transpose(0, 2, 1, 3, 4) -> Reshape(N, C, H, W)."""
    transpose = m.made_by(node.input[0], "Transpose")
    if transpose is None or not m.only_reader(transpose.output[0], node) \
            or list(_attr(transpose, "perm", [])) != [0, 2, 1, 3, 4]:
        return None
    split = m.made_by(transpose.input[0], "Reshape")
    if split is None or not m.only_reader(split.output[0], transpose):
        return None
    try:
        x, grouped, out = m.shape(split.input[0]), m.shape(split.output[0]), \
            m.shape(node.output[0])
    except Unsupported:
        return None
    if len(x) != 4 or x != out or len(grouped) != 5 or grouped[0] != x[0] \
            or grouped[1] * grouped[2] != x[1] or grouped[3:] != x[2:]:
        return None
    return Converted("channel_shuffle", {"groups": int(grouped[1])}, [split.input[0]],
                     absorbed=[transpose, split])


@converter("Transpose", kinds="`layernorm`",
           notes="only around a LayerNormalization: Transpose (0, 2, 3, 1), "
                 "LayerNormalization over the channels, Transpose (0, 3, 1, 2) (ConvNeXt's "
                 "LayerNorm2d)")
def _transpose(node: onnx.NodeProto, m: _Model) -> Converted:
    norm = m.made_by(node.input[0], "LayerNormalization")
    if norm is not None and m.only_reader(norm.output[0], node) \
            and list(_attr(node, "perm", [])) == [0, 3, 1, 2]:
        before = m.made_by(norm.input[0], "Transpose")
        if before is not None and m.only_reader(before.output[0], norm) \
                and list(_attr(before, "perm", [])) == [0, 2, 3, 1]:
            out = _layernorm(norm, m, channels_last=True)
            out.inputs, out.absorbed = [before.input[0]], [norm, before]
            return out
    raise Unsupported("a transpose (cnncalc keeps NCHW; only ConvNeXt's LayerNorm2d, "
                      "Transpose -> LayerNormalization -> Transpose, is taken)")


@converter("LayerNormalization", kinds="`layernorm`",
           notes="over the last axis of a vector, or of the channels (inside the Transposes "
                 "above); scale and bias")
def _layernorm(node: onnx.NodeProto, m: _Model, channels_last: bool = False) -> Converted:
    shape = m.shape(node.input[0])
    axis = _attr(node, "axis", -1) % len(shape)
    if axis != len(shape) - 1 or (len(shape) != 2 and not channels_last):
        raise Unsupported(f"a layer norm over axis {axis} of {shape} (cnncalc's normalises "
                          "the channels of each position)")
    _weight(node, m, 1, "scale")
    if len(node.input) < 3 or not node.input[2]:
        raise Unsupported("a layer norm without a bias (cnncalc's affine one has both)")
    _weight(node, m, 2, "bias")
    fields: Fields = {}
    eps = _short(_attr(node, "epsilon", 1e-5))
    if eps != 1e-5:
        fields["eps"] = eps
    if len(node.output) > 1 and any(m.consumers.get(name) for name in node.output[1:] if name):
        raise Unsupported("its mean or variance is read")
    return Converted("layernorm", fields, [node.input[0]], [node.input[1], node.input[2]])


def _dense(node: onnx.NodeProto, m: _Model, weight: np.ndarray, transposed: bool,
           source: str) -> Converted:
    shape = m.shape(source)
    if len(shape) != 2:
        raise Unsupported(f"a product with a {len(shape)}-D tensor (cnncalc's dense takes a "
                          "vector)")
    if weight.ndim != 2:
        raise Unsupported(f"a {weight.ndim}-D weight")
    n_in, units = (weight.shape[1], weight.shape[0]) if transposed else weight.shape
    if n_in != shape[1]:
        raise Unsupported(f"a weight of {tuple(weight.shape)} on {shape[1]} features")
    return Converted("dense", {"units": int(units)}, [source])


@converter("Gemm", kinds="`dense`", notes="A x B (+ C): B an initializer (`transB` 0 or 1), "
                                         "`alpha` and `beta` 1, C the bias")
def _gemm(node: onnx.NodeProto, m: _Model) -> Converted:
    if _attr(node, "transA", 0) or _attr(node, "alpha", 1.0) != 1 or _attr(node, "beta",
                                                                           1.0) != 1:
        raise Unsupported("transA, alpha or beta (cnncalc's dense is x W^T + b)")
    out = _dense(node, m, _weight(node, m, 1, "weight"), bool(_attr(node, "transB", 0)),
                 node.input[0])
    out.params = [node.input[1]]
    bias = _weight(node, m, 2, "bias") if len(node.input) > 2 and node.input[2] else None
    if bias is None:
        out.fields["bias"] = False
    elif bias.size != out.fields["units"]:
        raise Unsupported(f"a bias of {bias.size} values for {out.fields['units']} units")
    else:
        out.params.append(node.input[2])
    return out


@converter("MatMul", kinds="`dense`", notes="x W, W an initializer; an `Add` of a bias "
                                           "after it joins (torch's Linear on some exports)")
def _matmul(node: onnx.NodeProto, m: _Model) -> Converted:
    out = _dense(node, m, _weight(node, m, 1, "weight"), False, node.input[0])
    out.fields["bias"] = False
    out.params = [node.input[1]]
    return out


@converter("Add", kinds="`add`; `dense`",
           notes="tensors of one shape; a MatMul's output plus a bias is `dense`")
def _add(node: onnx.NodeProto, m: _Model) -> Converted:
    constants = [name for name in node.input if name in m.consts]
    tensors = [name for name in node.input if name not in m.consts]
    if node.op_type == "Add" and len(constants) == 1 and len(tensors) == 1:
        matmul = m.made_by(tensors[0], "MatMul")
        if matmul is not None and m.only_reader(tensors[0], node):
            out = _matmul(matmul, m)
            bias = m.consts[constants[0]]
            if bias.size != out.fields["units"]:
                raise Unsupported(f"a bias of {bias.size} values for {out.fields['units']} "
                                  "units")
            del out.fields["bias"]
            out.params.append(constants[0])
            out.absorbed = [matmul]
            return out
    if constants:
        raise Unsupported("adding a constant (cnncalc adds tensors of one shape)")
    shapes = {m.shape(name) for name in tensors}
    if len(shapes) != 1:
        raise Unsupported(f"adding tensors of different shapes {sorted(shapes)} (broadcasting)")
    return Converted("add", {}, list(tensors))


converter("Sum", kinds="`add`", notes="tensors of one shape")(_add)


@converter("Concat", kinds="`concat`", notes="along the channels (`axis` 1)")
def _concat(node: onnx.NodeProto, m: _Model) -> Converted:
    rank = len(m.shape(node.output[0]))
    if _attr(node, "axis", 0) % rank != 1:
        raise Unsupported(f"concatenation along axis {_attr(node, 'axis', 0)} (cnncalc's concat "
                          "joins channels)")
    if any(name in m.consts for name in node.input):
        raise Unsupported("concatenating a constant")
    return Converted("concat", {}, list(node.input))


def _resize_fields(node: onnx.NodeProto, m: _Model, mode: str, scales: np.ndarray | None
                   ) -> Converted:
    before, after = m.shape(node.input[0]), m.shape(node.output[0])
    if len(before) != 4 or before[:2] != after[:2]:
        raise Unsupported(f"a resize of {before} to {after} (cnncalc resizes height and width)")
    if mode == "linear":
        transform = _attr(node, "coordinate_transformation_mode", "half_pixel")
        if transform not in ("half_pixel", "pytorch_half_pixel"):
            raise Unsupported(f"linear with {transform} coordinates (cnncalc's bilinear is "
                              "torch's align_corners=False)")
        kind = "bilinear"
    elif mode == "nearest":
        kind = "nearest"
    else:
        raise Unsupported(f"{mode} interpolation")
    factors = []
    for index in (2, 3):
        if scales is not None and len(scales) == 4:
            factor = float(scales[index])
        else:
            factor = after[index] / before[index]
        factors.append(factor)
    if all(f == int(f) and f >= 1 and int(f) * b == a
           for f, b, a in zip(factors, before[2:], after[2:], strict=True)):
        return Converted("upsample", {"factor": _pair(int(f) for f in factors), "mode": kind},
                         [node.input[0]])
    if scales is not None:
        raise Unsupported(f"a scale of {factors} (cnncalc takes whole factors, or sizes)")
    return Converted("upsample", {"size": _pair(after[2:]), "mode": kind}, [node.input[0]])


@converter("Resize", kinds="`upsample`",
           notes="`nearest`, or `linear` with half-pixel coordinates (torch's bilinear, "
                 "align_corners false); whole scales, or sizes")
def _resize(node: onnx.NodeProto, m: _Model) -> Converted:
    scales = m.optional_const(node, 2, "the scales")
    if scales is not None and scales.size == 0:
        scales = None
    return _resize_fields(node, m, _attr(node, "mode", "nearest"), scales)


@converter("Upsample", kinds="`upsample`", notes="as Resize")
def _upsample(node: onnx.NodeProto, m: _Model) -> Converted:
    return _resize_fields(node, m, _attr(node, "mode", "nearest"),
                          m.optional_const(node, 1, "the scales"))


def _pad_amounts(node: onnx.NodeProto, m: _Model) -> tuple[tuple[int, int, int, int], str,
                                                            float]:
    """A Pad's (top, bottom, left, right) of an NCHW tensor, its mode and its fill value."""
    rank = len(m.shape(node.input[0]))
    pads = _attr(node, "pads")
    if pads is None:
        pads = [int(v) for v in m.const(node.input[1], "the padding")]
    axes = list(range(rank))
    given = m.optional_const(node, 3, "the axes")
    if given is not None:
        axes = [int(a) % rank for a in given]
    before = dict.fromkeys(range(rank), 0)
    after = dict.fromkeys(range(rank), 0)
    for i, axis in enumerate(axes):
        before[axis], after[axis] = int(pads[i]), int(pads[len(axes) + i])
    if rank != 4 or before[0] or after[0] or before[1] or after[1]:
        raise Unsupported(f"padding {list(pads)} of a {rank}-D tensor (cnncalc pads height "
                          "and width of NCHW)")
    value = m.optional_const(node, 2, "the fill value")
    fill = 0.0 if value is None else float(value)
    return (before[2], after[2], before[3], after[3]), _attr(node, "mode", "constant"), fill


@converter("Pad", kinds="`pad`; `crop`",
           notes="height and width; `constant` 0 (zeros), `reflect`, `edge` (replicate); "
                 "negative amounts crop")
def _pad(node: onnx.NodeProto, m: _Model) -> Converted:
    amounts, mode, fill = _pad_amounts(node, m)
    modes = {"constant": "zeros", "reflect": "reflect", "edge": "replicate"}
    if mode not in modes:
        raise Unsupported(f"{mode} padding")
    if mode == "constant" and all(a <= 0 for a in amounts):
        return Converted("crop", {"amount": _padding(*(-a for a in amounts))}, [node.input[0]])
    if min(amounts) < 0:
        raise Unsupported(f"padding {amounts} that both pads and crops")
    if mode == "constant" and fill != 0:
        raise Unsupported(f"padding with the value {fill:g}")
    return Converted("pad", {"padding": _padding(*amounts), "mode": modes[mode]},
                     [node.input[0]])


def _chunk_of(channels: int, start: int, end: int) -> tuple[int, int] | None:
    """(chunks, index) of torch's `x.chunk(chunks, 1)[index]` that is channels start:end."""
    for chunks in range(2, channels + 1):
        size = -(-channels // chunks)
        if start % size == 0 and end == min(start + size, channels):
            return chunks, start // size
    return None


@converter("Slice", kinds="`chunk`; `crop`",
           notes="channels in torch's equal chunks, or height and width (a crop); step 1")
def _slice(node: onnx.NodeProto, m: _Model) -> Converted:
    shape = m.shape(node.input[0])
    rank = len(shape)
    starts = [int(v) for v in m.const(node.input[1], "the starts")]
    ends = [int(v) for v in m.const(node.input[2], "the ends")]
    axes_value = m.optional_const(node, 3, "the axes")
    steps_value = m.optional_const(node, 4, "the steps")
    axes = list(range(len(starts))) if axes_value is None else [int(a) % rank
                                                                for a in axes_value]
    if steps_value is not None and any(int(s) != 1 for s in steps_value):
        raise Unsupported("a slice with a step")
    bounds = {}
    for axis, start, end in zip(axes, starts, ends, strict=True):
        n = shape[axis]
        start = min(max(start + n if start < 0 else start, 0), n)
        end = min(max(end + n if end < 0 else end, 0), n)
        if (start, end) != (0, n):
            bounds[axis] = (start, end)
    if not bounds:
        return None  # type: ignore[return-value]
    if set(bounds) == {1}:
        found = _chunk_of(shape[1], *bounds[1])
        if found is None:
            raise Unsupported(f"channels {bounds[1][0]}:{bounds[1][1]} of {shape[1]} (cnncalc "
                              "takes torch's equal chunks)")
        return Converted("chunk", {"chunks": found[0], "index": found[1]}, [node.input[0]])
    if rank == 4 and set(bounds) <= {2, 3}:
        (top, end_h), (left, end_w) = (bounds.get(axis, (0, shape[axis])) for axis in (2, 3))
        amounts = (top, shape[2] - end_h, left, shape[3] - end_w)
        source, absorbed = node.input[0], []
        before = m.made_by(source, "Slice")  # torch crops height and width by two slices
        if before is not None and m.only_reader(source, node) \
                and _module_path(before, m) == _module_path(node, m):
            try:
                first = _slice(before, m)
            except Unsupported:
                first = None
            if first is not None and first.kind == "crop":
                amounts = _with_pad(amounts, first.fields["_amounts"])
                source, absorbed = first.inputs[0], [before, *first.absorbed]
        return Converted("crop", {"amount": _padding(*amounts), "_amounts": amounts},
                         [source], absorbed=absorbed)
    raise Unsupported(f"a slice along axes {sorted(bounds)} (cnncalc takes channel chunks or "
                      "a crop of height and width)")


@converter("Split", kinds="`chunk`", notes="along the channels, in torch's equal chunks")
def _split(node: onnx.NodeProto, m: _Model) -> list[Converted]:
    shape = m.shape(node.input[0])
    if _attr(node, "axis", 0) % len(shape) != 1:
        raise Unsupported(f"a split along axis {_attr(node, 'axis', 0)}")
    rows = []
    start = 0
    for output in node.output:
        size = m.shape(output)[1]
        if output and m.consumers.get(output) or output in m.outputs:
            found = _chunk_of(shape[1], start, start + size)
            if found is None:
                raise Unsupported(f"channels {start}:{start + size} of {shape[1]} (cnncalc "
                                  "takes torch's equal chunks)")
            rows.append(Converted("chunk", {"chunks": found[0], "index": found[1]},
                                  [node.input[0]], output=output))
        start += size
    return rows


@converter("Identity", "Dropout", kinds="(none)",
           notes="the identity at inference: no row (its input goes on)")
def _identity(node: onnx.NodeProto, m: _Model) -> None:
    if node.op_type == "Dropout" and len(node.output) > 1 and m.consumers.get(node.output[1]):
        raise Unsupported("its mask is read")
    return None


def _gate_of(name: str, m: _Model, reader: onnx.NodeProto) -> tuple[str, onnx.NodeProto] | None:
    """A Sigmoid or torch's HardSigmoid that only `reader` reads: (its kind, the node)."""
    node = m.made_by(name, "Sigmoid", "HardSigmoid")
    if node is None or not m.only_reader(name, reader):
        return None
    if node.op_type == "HardSigmoid":
        try:
            _hardsigmoid(node, m)
        except Unsupported:
            return None
        return "hardsigmoid", node
    return "sigmoid", node


def _squeeze_excitation(x: str, gate: onnx.NodeProto, gate_kind: str, m: _Model
                        ) -> Converted | None:
    """`x * gate(Conv(act(Conv(pool(x)))))` (torchvision's SqueezeExcitation) as `se`."""
    taken: list[onnx.NodeProto] = [gate]
    fc2 = m.made_by(gate.input[0], "Conv")
    if fc2 is None or not m.only_reader(fc2.output[0], gate):
        return None
    taken.append(fc2)
    act_value = fc2.input[0]
    act_kind: str | None = None
    act = m.made_by(act_value, "Relu", "Mul", "Clip", "HardSwish", "Sigmoid", "Tanh")
    if act is None or not m.only_reader(act_value, fc2):
        return None
    try:
        result = CONVERTERS[act.op_type].convert(act, m)
    except Unsupported:
        return None
    if not isinstance(result, Converted) or result.kind not in _FIELD_ACTIVATIONS:
        return None
    act_kind = result.kind
    taken += [act, *result.absorbed]
    fc1 = m.made_by(result.inputs[0], "Conv")
    if fc1 is None or not _read_only_by(fc1.output[0], [act, *result.absorbed], m):
        return None
    taken.append(fc1)
    pool = m.made_by(fc1.input[0], "GlobalAveragePool", "ReduceMean")
    if pool is None or pool.input[0] != x or not m.only_reader(pool.output[0], fc1):
        return None
    if pool.op_type == "ReduceMean":
        try:
            if _reduce("avg")(pool, m).fields.get("keepdims") is not True:  # type: ignore
                return None
        except Unsupported:
            return None
    taken.append(pool)
    try:
        first, second = _conv(fc1, m), _conv(fc2, m)
    except Unsupported:
        return None
    channels = m.shape(x)[1]
    for conv in (first, second):
        if conv.fields.get("kernel") != 1 or set(conv.fields) - {"filters", "kernel"} \
                or conv.absorbed:
            return None  # 1x1 convolutions with a bias, nothing else
    if second.fields["filters"] != channels:
        return None
    return Converted("se", {"squeeze": first.fields["filters"], "activation": act_kind,
                            "gate": gate_kind}, [x], [*first.params, *second.params],
                     absorbed=taken)


_ERF_GELU_OPS = ("Mul", "Div", "Add", "Erf")


def _erf_gelu(node: onnx.NodeProto, m: _Model) -> Converted | None:
    """`x * 0.5 * (1 + erf(x / sqrt(2)))` in any order of its five nodes (torch's exporters
    write `nn.GELU()` so before opset 20) as `gelu`."""
    erf, frontier, seen = None, [node], 0
    while frontier and erf is None and seen < 8:
        current = frontier.pop(0)
        seen += 1
        for name in current.input:
            producer = m.made_by(name, *_ERF_GELU_OPS)
            if producer is not None:
                if producer.op_type == "Erf":
                    erf = producer
                frontier.append(producer)
    scaled = m.made_by(erf.input[0], "Div", "Mul") if erf is not None else None
    if erf is None or scaled is None:
        return None
    x = next((name for name in scaled.input if name not in m.consts), None)
    if x is None:
        return None
    taken: list[onnx.NodeProto] = []
    frontier = [node]
    while frontier:
        current = frontier.pop()
        if any(current is t for t in taken):
            continue
        if current.op_type not in _ERF_GELU_OPS or len(taken) >= 5:
            return None
        taken.append(current)
        for name in current.input:
            if name == x or name in m.consts:
                continue
            producer = m.producer.get(name)
            if producer is None:
                return None
            frontier.append(producer)
    if sorted(n.op_type for n in taken) not in (["Add", "Div", "Erf", "Mul", "Mul"],
                                                 ["Add", "Erf", "Mul", "Mul", "Mul"]):
        return None
    for inner in taken[1:]:
        if not _read_only_by(inner.output[0], taken, m):
            return None
    constants = sorted(float(np.asarray(m.consts[name]).reshape(-1)[0]) for n in taken
                       for name in n.input if name in m.consts and m.consts[name].size == 1)
    wanted = sorted([1.0, 0.5, math.sqrt(2) if scaled.op_type == "Div" else 1 / math.sqrt(2)])
    if len(constants) != 3 or not all(math.isclose(a, b, rel_tol=1e-4)
                                      for a, b in zip(constants, wanted, strict=True)):
        return None
    return Converted("gelu", {}, [x], absorbed=taken[1:])


def _layer_scale(node: onnx.NodeProto, m: _Model) -> Converted | None:
    """x times a learned C x 1 x 1 tensor (an initializer): ConvNeXt's layer scale."""
    for x, weight in (node.input, tuple(reversed(node.input))):
        if x in m.consts or weight not in m.weight_of:
            continue
        shape = m.shapes.get(x)
        value = m.consts[weight]
        if shape is None or len(shape) != 4 or value.size != shape[1] \
                or value.shape[-2:] != (1, 1):
            continue
        return Converted("layer_scale", {}, [x], [weight])
    return None


def _read_only_by(name: str, readers: list[onnx.NodeProto], m: _Model) -> bool:
    found = m.consumers.get(name, [])
    return bool(found) and all(any(r is n for n in readers) for r in found) \
        and name not in m.outputs


@converter("Mul", kinds="`silu`; `hardswish`; `se`; `gelu`; `layer_scale`",
           notes="x * Sigmoid(x) (torch's SiLU), x * HardSigmoid(x); x * gate(Conv(act("
                 "Conv(GlobalAveragePool(x))))) (squeeze-and-excitation, 1x1 convolutions); "
                 "x * 0.5 * (1 + Erf(x / sqrt 2)) (torch's exact GELU before opset 20); x "
                 "times a C x 1 x 1 initializer (ConvNeXt's layer scale)")
def _mul(node: onnx.NodeProto, m: _Model) -> Converted:
    if len(node.input) == 2:
        for x, other in (node.input, tuple(reversed(node.input))):
            found = _gate_of(other, m, node)
            if found is None:
                continue
            kind, gate = found
            if gate.input[0] == x:
                return Converted("silu" if kind == "sigmoid" else "hardswish", {}, [x],
                                 absorbed=[gate])
            se = _squeeze_excitation(x, gate, kind, m)
            if se is not None:
                return se
        gelu = _erf_gelu(node, m)
        if gelu is not None:
            return gelu
        scale = _layer_scale(node, m)
        if scale is not None:
            return scale
    raise Unsupported("a product other than x * sigmoid(x) and squeeze-and-excitation "
                      "(cnncalc has no elementwise product)")


# --------------------------------------------------------------------------- importing

def _module_path(node: onnx.NodeProto, m: _Model) -> str:
    """The dotted path of the module that ran `node` (see the module docstring)."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                break
            if isinstance(scopes, list) and len(scopes) >= 2:
                return ".".join(_atoms(str(scopes[-2])))
            return ""
    scoped = _scoped_path(node.name)
    if scoped is not None:
        return ".".join(scoped)
    for name in node.input[1:]:
        weight = m.weight_of.get(name)
        if weight and "." in weight and not weight.startswith("onnx::"):
            return ".".join(_atoms(weight.rpartition(".")[0]))
    return ""


def _common(paths: list[str]) -> str:
    split = [p.split(".") if p else [] for p in paths]
    common: list[str] = []
    for atoms in zip(*split, strict=False):
        if len(set(atoms)) != 1:
            break
        common.append(atoms[0])
    return ".".join(common)


@dataclass(slots=True)
class _Ops:
    """The ops of a model, with what the check compares them with."""

    ops: list[Op]
    outputs: list[str]
    params: dict[str, list[str]]  # op id -> the weight values it counts as params
    buffers: dict[str, list[str]]
    names: dict[str, str]  # op id -> the node name (for messages)


def _convert(m: _Model) -> _Ops:
    results: dict[int, list[Converted]] = {}
    errors: dict[int, str] = {}
    absorbed: set[int] = set()
    for node in m.nodes:
        entry = CONVERTERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        try:
            if entry is None:
                domain = f"{node.domain}." if node.domain not in ("", "ai.onnx") else ""
                raise Unsupported(f"no converter for {domain}{node.op_type}")
            result = entry.convert(node, m)
        except Unsupported as exc:
            errors[id(node)] = str(exc)
            continue
        rows = [] if result is None else result if isinstance(result, list) else [result]
        results[id(node)] = rows
        for row in rows:
            absorbed.update(id(n) for n in row.absorbed)
    alias: dict[str, str] = {m.input: INPUT}
    ops: list[Op] = []
    params: dict[str, list[str]] = {}
    buffers: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    problems: list[str] = []
    for node in m.nodes:
        if id(node) in absorbed:
            continue
        label = f"{node.name or '(unnamed)'} ({node.op_type})"
        if id(node) in errors:
            problems.append(f"{label}: {errors[id(node)]}")
            continue
        rows = results[id(node)]
        if not rows:  # an identity
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
            continue
        for row in rows:
            output = row.output or node.output[0]
            constants = [name for name in row.inputs if name in m.consts]
            if constants:
                problems.append(f"{label}: reads the constant {constants[0]!r} as a tensor")
                continue
            module = _common([_module_path(n, m) for n in [node, *row.absorbed]])
            fields = {k: v for k, v in row.fields.items() if not k.startswith("_")}
            ops.append(Op(output, row.kind, fields,
                          [alias.get(name, name) for name in row.inputs], module))
            params[output] = row.params
            buffers[output] = row.buffers
            names[output] = node.name or node.op_type
    outputs = []
    for name in m.outputs:
        if name in m.consts:
            problems.append(f"output {name!r}: a constant")
        outputs.append(alias.get(name, name))
    if problems:
        raise CnnCalcError([f"cannot import: {p}" for p in problems])
    ops = _merge_activations(ops, outputs, params)
    _mark_own(ops)
    _lift_joins(ops)
    return _Ops(ops, outputs, params, buffers, names)


def _merge_activations(ops: list[Op], outputs: list[str], params: dict[str, list[str]]
                       ) -> list[Op]:
    """A conv, dense or transposed conv and the activation after it that are the only two
    ops of their module (cnncalc's own layers with `activation:`; torch's exporter runs the
    activation in the layer's scope) become one op with the activation field."""
    readers: dict[str, int] = {}
    for op in ops:
        for name in op.inputs:
            readers[name] = readers.get(name, 0) + 1
    per_module: dict[str, int] = {}
    for op in ops:
        per_module[op.module] = per_module.get(op.module, 0) + 1
    by_id = {op.id: op for op in ops}
    merged: set[str] = set()
    result = []
    for op in ops:
        if op.kind in _FIELD_ACTIVATIONS and len(op.inputs) == 1 and op.module \
                and per_module.get(op.module) == 2:
            layer = by_id.get(op.inputs[0])
            if layer is not None and layer.kind in ("conv", "dense", "conv_transpose") \
                    and layer.module == op.module and "activation" not in layer.fields \
                    and readers.get(layer.id) == 1 and layer.id not in outputs \
                    and not any(o.module.startswith(op.module + ".") for o in ops):
                merged.add(layer.id)
                params[op.id] = params.pop(layer.id)
                result.append(Op(op.id, layer.kind, {**layer.fields, "activation": op.kind},
                                 layer.inputs, op.module))
                continue
        result.append(op)
    return [op for op in result if op.id not in merged]


def _mark_own(ops: list[Op]) -> None:
    """An op is its module's row when it is the module's only op and nothing runs below it."""
    count: dict[str, int] = {}
    for op in ops:
        count[op.module] = count.get(op.module, 0) + 1
    prefixes = {".".join(op.module.split(".")[:i]) for op in ops
                for i in range(1, len(op.module.split(".")))}
    for op in ops:
        op.own = bool(op.module) and count[op.module] == 1 and op.module not in prefixes


def _lift_joins(ops: list[Op]) -> None:
    """An add or concat that would be the first row of a module's group is written as that
    module's row instead (a group reads one input; `from: [a, b]` is a row's)."""
    def groups(op: Op) -> list[str]:
        atoms = op.module.split(".") if op.module else []
        if op.own:
            atoms = atoms[:-1]
        return [".".join(atoms[:i]) for i in range(len(atoms), 0, -1)]

    for op in ops:
        if op.kind not in ("add", "concat"):
            continue
        for group in groups(op):
            first = next(o for o in ops if group in groups(o))
            if first is not op:
                break
            op.module, op.own = group, True


def _header(path: Path, model: onnx.ModelProto, batchnorms: int) -> list[str]:
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    lines = [f"Imported from {path.name} (ONNX opset {opset}"
             + (f", made by {producer}" if producer else "") + ") by cnncalc import.",
             "The counts are this graph's. torch's ONNX exporters fold batch norm into the",
             "convolutions of an eval-mode model: a conv bias instead of a batchnorm row."]
    lines.append("This graph has no BatchNormalization node." if not batchnorms else
                 f"This graph keeps its {batchnorms} BatchNormalization node"
                 + ("s." if batchnorms > 1 else "."))
    return lines


def load(path: str | Path) -> onnx.ModelProto:
    """The ONNX model at `path` (noted as an input: no output is written onto it)."""
    from .core import reads

    reads.note(path)
    try:
        return onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise CnnCalcError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CnnCalcError(f"{path}: is a folder, not an ONNX file") from None
    except Exception as exc:  # protobuf's DecodeError and onnx's own
        raise CnnCalcError(f"{path}: not an ONNX model ({type(exc).__name__}: "
                           f"{str(exc)[:200]})") from None


@dataclass(frozen=True, slots=True)
class Imported:
    """A spec of an ONNX model: its YAML `text`, and `rows`: the ONNX value each row gives
    (a node's output name) -> the row's dotted path."""

    text: str
    rows: dict[str, str]


def import_model(path: str | Path, input_shape: tuple[int, ...] | None = None,
                 name: str | None = None, check: bool = True) -> Imported:
    """A spec of the ONNX model at `path`, on one input of `input_shape` (HxWxC or a vector;
    default: the model's input). With `check`, the spec is analysed and compared with the
    model: every row's output shape with ONNX's inferred one, params with the weights the
    nodes read, buffers with batch norm's running statistics; CnnCalcError on any difference,
    and for every node that cannot be imported (all of them at once)."""
    path = Path(path)
    model = load(path)
    m = _Model(model, tuple(input_shape) if input_shape is not None else None)
    imported = _convert(m)
    batchnorms = sum(n.op_type == "BatchNormalization" for n in m.nodes)
    # torch names every graph main_graph (cnncalc export names it after the spec)
    graph_name = model.graph.name if model.graph.name not in ("", "main_graph", "torch_jit",
                                                              "main") else ""
    description = " ".join(model.doc_string.split())[:200]
    text, paths = write_spec(imported.ops, m.input_shape, name or graph_name or path.stem,
                             imported.outputs, description, _header(path, model, batchnorms))
    if check:
        _check(text, m, imported, paths)
    return Imported(text, paths)


def to_spec(path: str | Path, input_shape: tuple[int, ...] | None = None,
            name: str | None = None, check: bool = True) -> str:
    """The YAML text of a spec of the ONNX model at `path` (`import_model`)."""
    return import_model(path, input_shape, name, check).text


def _check(text: str, m: _Model, imported: _Ops, paths: dict[str, str]) -> None:
    """The engine's report of `text` against the model: shapes per op, params, buffers."""
    from .core.engine import analyze
    from .core.source import load_text

    report = analyze(load_text(text, "imported"))
    rows = {node.path: node for node in report.walk()}
    problems = []
    for op in imported.ops:
        expected = m.shapes.get(op.id)
        row = rows.get(paths[op.id])
        if row is None:
            problems.append(f"{paths[op.id]}: no such row in the spec")
            continue
        if expected is None:
            continue
        shape = row.output_shape
        got = (1, shape[2], shape[0], shape[1]) if len(shape) == 3 else (1, *shape)
        if got != tuple(expected):
            problems.append(f"{row.path} ({imported.names[op.id]}): the spec gives {got}, "
                            f"ONNX {tuple(expected)}")
    params = sum(int(m.consts[name].size) for names in imported.params.values()
                 for name in names)
    buffers = sum(int(m.consts[name].size) for names in imported.buffers.values()
                  for name in names)
    if report.totals.params != params:
        problems.append(f"params: the spec counts {report.totals.params:,}, the model's "
                        f"weights have {params:,}")
    if report.totals.buffers != buffers:
        problems.append(f"buffers: the spec counts {report.totals.buffers:,}, the model's "
                        f"running statistics have {buffers:,}")
    counted = {name for names in (*imported.params.values(), *imported.buffers.values())
               for name in names}
    for node in m.nodes:
        for name in node.input:
            value = m.consts.get(name)
            if name in m.weight_of and name not in counted and name not in m.attributes \
                    and value is not None and value.size > 1 and value.dtype.kind == "f":
                problems.append(f"{node.name or node.op_type} reads the weight "
                                f"{m.weight_of[name]!r} ({value.size:,} values), which no row "
                                "counts")
    if problems:
        raise CnnCalcError([f"the imported spec disagrees with the ONNX model: {p}"
                            for p in problems])


# --------------------------------------------------------------------------- exporting

@dataclass(slots=True)
class Exported:
    """An ONNX model of a spec and how it was made."""

    data: bytes
    exporter: str  # "torchscript" or "dynamo"
    batchnorm_folded: bool
    notes: list[str] = field(default_factory=list)


def export(spec: Spec | Report | str, input_shape: tuple[int, ...] | None = None,
           fold_batchnorm: bool = False, opset: int = EXPORT_OPSET) -> Exported:
    """An ONNX model of a spec: `cnncalc.torch.build(spec)` in eval mode (torch's default
    initialisation), with a dynamic batch. The input is named `input`, the outputs by their
    paths (every output that runs at inference: training-only heads are not in an eval-mode
    graph); the graph is named after the spec. `input_shape` (HxWxC or a vector) overrides
    the spec's.

    torch's TorchScript exporter writes it at `opset`, keeping batch norm (the graph is the
    spec's) unless `fold_batchnorm`, where it folds batch norm into the convolutions as for
    deployment. What that exporter cannot export (`channel_shuffle`; adaptive pooling with
    uneven windows) is exported by torch's dynamo exporter (opset 18, needs onnxscript), whose
    optimiser folds batch norm whatever is asked: `notes` says so."""
    import torch

    from .torch import build, example_input

    network = build(spec, input_shape).eval()
    report = network.report
    names = [node.path for node in report.outputs if not node.training_only]
    example = example_input(report)
    notes: list[str] = []
    try:
        data = _torchscript(network, example, names, fold_batchnorm, opset)
        exported = Exported(data, "torchscript", fold_batchnorm)
        model = onnx.load_from_string(data)
    except Exception as exc:  # torch's UnsupportedOperatorError, SymbolicValueError, ...
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        try:
            import onnxscript  # noqa: F401  (the dynamo exporter's)
        except ImportError:
            raise CnnCalcError(f"torch's TorchScript ONNX exporter cannot export "
                               f"{report.spec_name}: {type(exc).__name__}: {first}; torch's "
                               "dynamo exporter could, with onnxscript installed") from None
        notes.append(f"torch's TorchScript exporter cannot export {report.spec_name} "
                     f"({first[:120]}); exported by torch's dynamo exporter (opset 18), "
                     "which folds batch norm into the convolutions")
        with warnings.catch_warnings(), _quiet():
            warnings.simplefilter("ignore")
            try:
                program = torch.onnx.export(
                    network, (example,), dynamo=True, opset_version=max(opset, 18),
                    input_names=[INPUT], output_names=names, verbose=False, report=False,
                    dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=2**20)},))
            except Exception as again:
                text = str(again).strip().splitlines()[0][:300] if str(again).strip() else ""
                raise CnnCalcError(f"torch's ONNX exporters cannot export {report.spec_name}: "
                                   f"{type(exc).__name__}: {first}; {type(again).__name__}: "
                                   f"{text}") from None
        model = program.model_proto
        exported = Exported(b"", "dynamo", True, notes)
    model.graph.name = report.spec_name
    if report.description:
        model.doc_string = report.description
    exported.data = model.SerializeToString()
    return exported


def _torchscript(network: Any, example: Any, names: list[str], fold: bool, opset: int) -> bytes:
    import torch

    buffer = io.BytesIO()
    mode = torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE
    with warnings.catch_warnings(), _quiet():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice
        torch.onnx.export(network, (example,), buffer, opset_version=opset, dynamo=False,
                          training=mode, do_constant_folding=True, input_names=[INPUT],
                          output_names=names,
                          dynamic_axes={n: {0: "batch"} for n in (INPUT, *names)})
    return buffer.getvalue()


@contextmanager
def _quiet() -> Iterator[None]:
    """Standard output and error silenced at the descriptors while torch's exporters run:
    the TorchScript one prints its whole IR graph when it fails, the dynamo one logs its
    progress (the error, or `Exported.notes`, says what matters)."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


__all__ = ["CONVERTERS", "Converter", "Exported", "Imported", "converter", "export",
           "import_model", "load", "ops_table", "to_spec"]
