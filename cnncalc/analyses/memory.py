"""Memory: the bytes alive during an eval forward pass, the bytes autograd saves in a training
step, and what fits, as torch runs `cnncalc.torch.build`'s module on CPU.

Pure arithmetic on a finished Report. Every layer kind states its forward pass as tensor
operations (`Layer.ops`, `core.footprint`): what each op allocates, views or overwrites, and
what its backward keeps. This module runs those ops over the network's graph, storage by
storage, in one of two passes:

Inference (`forward`, eval mode, no gradients; training-only rows do not run): a storage is
alive from the op that allocates it while anything holds it, as eager torch holds it:
- an op's operands until it has run, a temporary inside a layer until its last reader;
- a layer's (or a block's: seq, repeat, residual, parallel, branch, shortcut) input until the
  layer or block returns (its module call holds it), so a residual's input is alive through
  its body and the add, a parallel block's through every branch and the merge;
- a row's output until the next row of its list has returned (the container's loop holds
  it), even when that row reads something else with `from:`;
- an output that `from:` reads until its last reader has run; the network's input and
  outputs to the end (the caller holds them);
- views (flatten of a contiguous map, chunk, crop, a parallel block's `split`) and in-place
  ops (`inplace: true` activations, the third and later paths of an add) allocate nothing; a
  view keeps its whole storage alive. A flatten that cannot be a view (a channels-last map,
  after a layer norm; a crop) copies.
An op's extra outputs (max pooling's int64 indices, layer norm's statistics) are alive while
it runs. The peak is the largest total alive just after one op; `peak_at` names its layer.
Memory layouts follow torch's CPU rules (channels last propagates from a layer norm's and a
channel_dense's output, a cat is channels last only when all its inputs are, an add is laid
out as its first input); a channel_dense copies a map not laid out channels last to channels
last first (`cnncalc.torch.ChannelLinear`), a temporary until its Linear has run.

Training (`backward`, train mode, every row): a tensor requires a gradient when it is made
from one that does or by an op whose parameters train (the network's input does not); an op is
recorded only then, and a recorded op keeps what its kind states (`Save`). The saved bytes are
the unique storages kept (a tensor kept by two ops, a view and its base, count once),
parameters and buffers excluded (counted apart). A frozen prefix records nothing, so keeps
nothing. An in-place op may not overwrite a tensor another row reads later (the graph would
compute something else), nor, in training, one an earlier op kept (torch's backward fails):
both are CnnCalcErrors.

The training step's forward pass is run the same way in train mode, with every tensor autograd
keeps held to its end (`Backward.forward`): its peak is the most its activations take at once,
the saved ones included (a frozen trunk's activations, kept by nothing, still pass through).

Totals for one training step at the report's dtype (no mixed-precision copies): weights (every
parameter), buffers (batch-norm running statistics), gradients (one per trainable parameter),
optimizer state (per trainable parameter: `sgd` 0, `momentum` 1, `adam` 2 tensors), and the
peak of its forward pass (which holds the saved activations, reported apart). Transient
tensors of the backward pass itself (the activations' gradients) are not counted.

Bytes scale with the batch as `per_example * batch + fixed` (`Size`): every activation scales,
and only batch-norm statistics, a batch-wide noise value and a padded average pool's counts
are fixed, as are weights, buffers, gradients and optimizer state. What fits
(`largest_batch`) solves each step's line against a limit exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.footprint import INPLACE, OWN_DTYPES, New, Op, View
from ..core.layers import Merge, prod
from ..core.report import Node, Report
from ..errors import CnnCalcError

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


@dataclass(frozen=True, slots=True)
class Size:
    """Bytes as a function of the batch: `per_example * batch + fixed`."""

    per_example: int = 0
    fixed: int = 0

    def at(self, batch: int) -> int:
        return self.per_example * batch + self.fixed

    def __add__(self, other: Size) -> Size:
        return Size(self.per_example + other.per_example, self.fixed + other.fixed)

    def __sub__(self, other: Size) -> Size:
        return Size(self.per_example - other.per_example, self.fixed - other.fixed)


ZERO = Size()


# --------------------------------------------------------------------------- layouts

def _dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The engine's per-example shape as torch's dims after the batch: HWC -> (C, H, W)."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else shape


def _contiguous(dims: tuple[int, ...]) -> tuple[int, ...]:
    """Strides of a contiguous tensor of (batch, *dims), the batch's first."""
    strides = [1]
    for n in reversed(dims):
        strides.append(strides[-1] * max(n, 1))
    return tuple(reversed(strides))


def _channels_last(dims: tuple[int, ...]) -> tuple[int, ...]:
    """Strides of a channels-last (N, C, H, W) tensor (torch's get_channels_last_strides_2d)."""
    c, h, w = dims
    sc, sw = 1, c
    sh = sw * w
    return (sh * h, sc, sh, sw)


def _is_channels_last(dims: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """torch's is_channels_last_strides_2d_s4 (the suggested memory format), batch of 2."""
    if len(dims) != 3:
        return False
    sizes = (2, *dims)
    if strides[1] == 0:
        return False
    low = 0
    for d in (1, 3, 2, 0):
        if sizes[d] == 0 or strides[d] < low:
            return False
        if d == 0 and low == strides[1]:
            return False
        low = strides[d]
        if sizes[d] > 1:
            low *= sizes[d]
    return True


def _packed_channels_last(dims: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether a map is laid out channels last with nothing between examples: its NHWC
    permutation is contiguous, the batch's stride counted (cnncalc.torch's test of the same
    name, on which channel_dense copies its input or not; channel_dense reads maps only)."""
    c, h, w = dims
    sn, sc, sh, sw = strides
    return ((c == 1 or sc == 1) and (w == 1 or sw == c) and (h == 1 or sh == w * c)
            and sn == c * h * w)


def _view_strides(dims: tuple[int, ...], strides: tuple[int, ...],
                  new: tuple[int, ...]) -> tuple[int, ...] | None:
    """torch's computeStride: the strides of a view of (2, *dims) as (2, *new), or None when
    the strides allow no view (then reshape copies)."""
    old_shape, old_strides = (2, *dims), strides
    new_shape = (2, *new)
    out = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    base = old_strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                out[view_d] = view_numel * base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            base = old_strides[d - 1]  # (after the batch, d = 0, the loop ends)
            tensor_numel = view_numel = 1
    return tuple(out)  # every dim of the view placed: both shapes have the same product


# --------------------------------------------------------------------------- the passes

@dataclass(slots=True)
class _Storage:
    """An allocation: its bytes, the step that makes it and the last step that holds it."""

    size: Size
    born: int
    last: int


@dataclass(slots=True)
class _Tensor:
    """A tensor of the pass: its storage, torch's dims after the batch and strides (the
    batch's first), whether it requires a gradient, and an identity of its own."""

    storage: int
    dims: tuple[int, ...]
    strides: tuple[int, ...]
    grad: bool = False
    ident: int = 0


@dataclass(slots=True)
class _Layer:
    """The steps (first, last) a row takes in a pass."""

    first: int
    last: int


class _Pass:
    """One forward pass over the report (module docstring): `training` selects train mode
    (saved tensors) or eval mode (liveness)."""

    def __init__(self, report: Report, training: bool):
        self.report = report
        self.training = training
        self.element = report.bytes_per_element
        self.storages: list[_Storage] = []
        self.steps: list[Node | None] = []  # the layer of each step (None: the input)
        self.ops: list[str] = []  # the torch op of each step ("": the input, an identity)
        self.made: dict[str, _Tensor] = {}
        self.layers: dict[str, _Layer] = {}
        self.saved: dict[int, Node] = {}  # storage -> the first layer that keeps it
        self.tensors = 0
        # in-place checks: what each tensor is read by, and when
        self.reads: dict[int, list[tuple[int, _Tensor]]] = {}
        self.overwrites: list[tuple[int, _Tensor, _Tensor, Node]] = []

    # -- tensors
    def new(self, spec: New, operands: list[_Tensor]) -> _Tensor:
        step = len(self.steps) - 1
        size = OWN_DTYPES.get(spec.dtype or "", self.element)
        per_example = prod(spec.shape) * size if spec.shape else 0
        self.storages.append(_Storage(Size(per_example, spec.fixed * size), step, step))
        dims = _dims(spec.shape) if spec.shape else (spec.fixed,)
        return self.tensor(len(self.storages) - 1, dims, self.layout(spec, dims, operands))

    def tensor(self, storage: int, dims: tuple[int, ...], strides: tuple[int, ...]) -> _Tensor:
        """A new tensor (a new storage's, or a view's); it needs no gradient until `run` says
        so of an op's result."""
        self.tensors += 1
        return _Tensor(storage, dims, strides, False, self.tensors)

    @staticmethod
    def layout(spec: New, dims: tuple[int, ...], operands: list[_Tensor]) -> tuple[int, ...]:
        if len(dims) != 3 or spec.layout == "contiguous":
            return _contiguous(dims)
        if spec.layout == "channels_last":
            last = True
        elif spec.layout == "cat":
            last = all(_is_channels_last(t.dims, t.strides) for t in operands)
        else:
            last = bool(operands) and _is_channels_last(operands[0].dims, operands[0].strides)
        return _channels_last(dims) if last else _contiguous(dims)

    def view(self, spec: View, source: _Tensor) -> _Tensor:
        dims, strides = source.dims, source.strides
        if spec.kind == "channels":  # where the slice starts changes no byte and no stride
            (size,) = spec.args
            return self.tensor(source.storage, (size, *dims[1:]), strides)
        if spec.kind == "crop":
            top, bottom, left, right = spec.args
            c, h, w = dims
            return self.tensor(source.storage, (c, h - top - bottom, w - left - right), strides)
        if spec.kind == "channels_last":
            if _packed_channels_last(dims, strides):
                return source
            c, h, w = dims  # a copy, read by the Linear only (its bytes are what count)
            return self.new(New((h, w, c), layout="channels_last"), [source])
        assert spec.kind == "flatten", spec.kind  # the four kinds of View
        flat = (prod(dims),)
        found = _view_strides(dims, strides, flat)
        if found is not None:
            return self.tensor(source.storage, flat, found)
        return self.new(New(flat, layout="contiguous"), [source])  # reshape's copy

    # -- time
    def hold(self, tensor: _Tensor, step: int) -> None:
        """Keep `tensor`'s storage alive through `step`."""
        storage = self.storages[tensor.storage]
        storage.last = max(storage.last, step)

    def read(self, tensor: _Tensor, step: int) -> None:
        self.hold(tensor, step)
        self.reads.setdefault(tensor.storage, []).append((step, tensor))

    # -- one layer or merge: its ops
    def layer(self, node: Node, inputs: list[_Tensor]) -> _Tensor:
        layer = node.layer
        assert layer is not None
        if isinstance(layer, Merge):
            ops = layer.merge_ops(node.inputs, node.output_shape)
        else:  # (the engine checked the shapes: a kind's ops never refuse them)
            ops = layer.ops(node.input_shape, node.output_shape, self.training)
        first = len(self.steps)
        values = list(inputs)
        trains = node.trainable_params > 0
        for op in ops:
            self.steps.append(node)
            self.ops.append(op.name)
            step = len(self.steps) - 1
            operands = [values[i] for i in op.reads]
            for operand in operands:
                self.read(operand, step)
            values.append(self.run(op, operands, node, trains, step))
        if not ops:
            self.steps.append(node)  # the identity: one step that makes nothing
            self.ops.append("")
        last = len(self.steps) - 1
        for tensor in inputs:  # the module call holds its inputs until it returns
            self.hold(tensor, last)
        self.layers[node.path] = _Layer(first, last)
        return values[-1]

    def run(self, op: Op, operands: list[_Tensor], node: Node, trains: bool,
            step: int) -> _Tensor:
        if op.out == INPLACE:
            target = operands[0]
            if self.training:
                self.check_saved(target, node)
            result = self.tensor(target.storage, target.dims, target.strides)
            self.overwrites.append((step, target, result, node))
        elif isinstance(op.out, View):
            result = self.view(op.out, operands[0])
            if result is operands[0]:  # already laid out as asked: torch runs no op
                self.ops[step] = ""
            elif result.storage != operands[0].storage:  # no view possible: torch copies
                self.ops[step] = "clone"
        else:
            assert isinstance(op.out, New)
            result = self.new(op.out, operands)
        extras = [self.new(spec, operands) for spec in op.extra]
        result.grad = self.training and (any(t.grad for t in operands) or (op.params and trains))
        if result.grad:  # recorded: what its backward keeps
            for save in op.saves:
                if save.when == "params":
                    kept = op.params and trains
                elif isinstance(save.when, int):
                    kept = operands[save.when].grad
                else:
                    kept = True
                if not kept:
                    continue
                if save.what == "operand":
                    self.keep(operands[save.index], node)
                elif save.what == "result":
                    self.keep(result, node)
                elif save.what == "extra":
                    self.keep(extras[save.index], node)
                else:  # autograd copies what an in-place op is about to overwrite
                    assert save.what == "copy", save.what
                    source = operands[save.index]
                    self.keep(self.new(New(shape=(prod(source.dims),)), []), node)
        return result

    def keep(self, tensor: _Tensor, node: Node) -> None:
        self.saved.setdefault(tensor.storage, node)

    def check_saved(self, target: _Tensor, node: Node) -> None:
        keeper = self.saved.get(target.storage)
        if keeper is not None:
            raise CnnCalcError(
                f"in-place {node.kind} at '{node.path}' overwrites a tensor that "
                f"'{keeper.path}' ({keeper.kind}) keeps for its backward pass: torch's backward "
                "would fail (a tensor needed for a gradient was modified); make it not in place"
            ).located(file=self.report.file or None, line=node.line, layer=node.path)

    # -- the graph (the walk of torch._Builder's modules)
    def visit(self, node: Node, tensor: _Tensor) -> _Tensor:
        if node.training_only and not self.training:
            return tensor  # not run at inference; what follows reads with from:
        if node.sources:
            given = [self.made[path] for path in node.sources]
            if node.is_join:
                self.made[node.path] = self.layer(node, given)
                return self.made[node.path]
            tensor = given[0]
        self.made[node.path] = self.written(node, tensor)
        return self.made[node.path]

    def next(self, node: Node, current: _Tensor) -> _Tensor:
        """The next row of a list: the row before's output is held until this one returns
        (the container's loop holds it), even when this row reads something else (from:)."""
        found = self.visit(node, current)
        self.hold(current, len(self.steps) - 1)
        return found

    def written(self, node: Node, tensor: _Tensor) -> _Tensor:
        if node.children is None:
            return self.layer(node, [tensor])
        first = len(self.steps)
        self.made[f"{node.path}.input"] = tensor  # what `from: input` reads inside it
        parts: list[_Tensor] = []
        # a parallel block's split is its merge's (where the engine puts it): views of the
        # channels, one per branch
        split = next((child.split for child in node.children if child.is_merge), None)
        if split is not None:
            parts = [self.view(View("channels", (size,)), tensor) for size in split]
        current = tensor
        branches: list[_Tensor] = []
        shortcut: _Tensor | None = None
        for child in node.children:
            if child.container == "branch":
                part = parts[len(branches)] if parts else tensor
                branches.append(self.visit(child, part))
            elif child.container == "shortcut":
                shortcut = self.visit(child, tensor)
            elif child.is_merge:
                reads = branches or [current, tensor if shortcut is None else shortcut]
                current = self.layer(child, reads)
            else:
                current = self.next(child, current)
        last = len(self.steps) - 1
        self.hold(tensor, last)  # the block's module call holds its input until it returns
        # an empty block (an identity branch) takes no step: it shows the step before it
        self.layers[node.path] = _Layer(min(first, last), last)
        return current

    def network(self) -> None:
        report = self.report
        self.steps.append(None)
        self.ops.append("")
        dims = _dims(report.input_shape)
        self.storages.append(_Storage(Size(prod(dims) * self.element), 0, 0))
        current = self.made["input"] = self.tensor(0, dims, _contiguous(dims))
        for node in report.nodes:
            current = self.next(node, current)
        outputs = [self.made[node.path] for node in report.outputs if node.path in self.made]
        end = len(self.steps) - 1
        self.hold(self.made["input"], end)  # the caller holds the input and the outputs
        for tensor in outputs or [current]:
            self.hold(tensor, end)
            self.reads.setdefault(tensor.storage, []).append((end + 1, tensor))
        self.check_overwrites(end)

    def check_overwrites(self, end: int) -> None:
        """An in-place op may not overwrite a tensor that another row reads later: one made
        before it that shares its storage (the tensor itself, its base, its views)."""
        for step, target, result, node in self.overwrites:
            for when, tensor in self.reads.get(target.storage, ()):
                if when > step and tensor.ident < result.ident:
                    reader = "the network's output" if when > end else \
                        f"'{self.steps[when].path}'"  # type: ignore[union-attr]
                    raise CnnCalcError(
                        f"in-place {node.kind} at '{node.path}' overwrites a tensor that "
                        f"{reader} reads later; make it not in place").located(
                        file=self.report.file or None, line=node.line, layer=node.path)


# --------------------------------------------------------------------------- results

@dataclass(slots=True)
class Forward:
    """The eval forward pass: the bytes alive just after each step, the bytes each step
    allocates, and each row's steps (first, last)."""

    steps: list[tuple[Node | None, Size]]
    spans: dict[str, tuple[int, int]]
    born: list[Size] = field(default_factory=list)
    #: the aten op of each step, as torch names it (`convolution`, `relu_`; "" for the input
    #: and an identity): tests/test_memory_torch.py compares them with torch's own
    ops: list[str] = field(default_factory=list)

    def peak(self, batch: int) -> tuple[int, Node | None]:
        """(bytes, layer) of the largest live set at `batch` (the first step that reaches it)."""
        best, at = -1, None
        for node, size in self.steps:
            if size.at(batch) > best:
                best, at = size.at(batch), node
        return best, at

    def live(self, path: str, batch: int) -> int:
        """The largest live set while the row at `path` runs."""
        first, last = self.spans[path]
        return max(size.at(batch) for _, size in self.steps[first:last + 1])


@dataclass(slots=True)
class Backward:
    """The training pass: the unique storages autograd keeps (in all, and by the layer that
    keeps each first), and the train-mode forward pass's live bytes step by step."""

    total: Size
    by_layer: dict[str, Size] = field(default_factory=dict)
    forward: Forward | None = None

    def peak(self, batch: int) -> int:
        """The largest set alive during the training step's forward pass (the kept tensors
        among it: they stay to its end)."""
        assert self.forward is not None
        return self.forward.peak(batch)[0]


def _sweep(run: _Pass) -> Forward:
    """The bytes alive just after each step of a finished pass."""
    change = [ZERO] * (len(run.steps) + 1)
    for storage in run.storages:
        change[storage.born] = change[storage.born] + storage.size
        change[storage.last + 1] = change[storage.last + 1] - storage.size
    born = [ZERO] * len(run.steps)
    for storage in run.storages:
        born[storage.born] = born[storage.born] + storage.size
    steps = []
    alive = ZERO
    for index, node in enumerate(run.steps):
        alive = alive + change[index]
        steps.append((node, alive))
    spans = {path: (layer.first, layer.last) for path, layer in run.layers.items()}
    return Forward(steps, spans, born, run.ops)


def forward(report: Report) -> Forward:
    """Run the eval forward pass (module docstring)."""
    run = _Pass(report, training=False)
    run.network()
    return _sweep(run)


def backward(report: Report) -> Backward:
    """Run the training pass: what autograd keeps, and the forward pass of the training step
    with every kept tensor alive to its end (module docstring)."""
    run = _Pass(report, training=True)
    run.network()
    result = Backward(ZERO)
    end = len(run.steps) - 1
    for storage, node in run.saved.items():
        size = run.storages[storage].size
        run.storages[storage].last = end  # autograd holds it until the backward pass
        result.total = result.total + size
        result.by_layer[node.path] = result.by_layer.get(node.path, ZERO) + size
    result.forward = _sweep(run)
    return result


def alive_per_step(report: Report) -> list[tuple[Node | None, int]]:
    """(step's layer, bytes alive just after it at the report's batch) for every step of the
    eval forward pass; the first step is the input."""
    return [(node, size.at(report.batch)) for node, size in forward(report).steps]


def peak_inference(report: Report) -> int:
    """Bytes of the largest set of activation tensors alive at once in an eval forward pass,
    at the report's batch and dtype (the rules are in the module docstring)."""
    return forward(report).peak(report.batch)[0]


def peak_step(report: Report) -> Node | None:
    """The layer during which the forward pass peaks (None: at the input)."""
    return forward(report).peak(report.batch)[1]


def inference_bytes(report: Report) -> int:
    """Weights, buffers and the peak of activations: what a forward pass needs at once."""
    return report.param_bytes + report.buffer_bytes + peak_inference(report)


# --------------------------------------------------------------------------- training

@dataclass(frozen=True, slots=True)
class Training:
    """Bytes of one training step, part by part (see the module docstring): `activations` are
    the saved ones; `forward_peak` the most alive at once in its forward pass, saved ones
    included, which the total counts."""

    weights: int
    buffers: int
    gradients: int
    optimizer: int
    activations: int
    forward_peak: int

    @property
    def total(self) -> int:
        return self.weights + self.buffers + self.gradients + self.optimizer + self.forward_peak


def check_optimizer(optimizer: str) -> None:
    from ..errors import suggest

    if optimizer not in OPTIMIZER_STATES:
        raise CnnCalcError(f"unknown optimizer {optimizer!r}{suggest(optimizer, OPTIMIZER_STATES)}"
                           f"; use one of {', '.join(OPTIMIZER_STATES)}")


def saved_activations(report: Report) -> int:
    """Bytes autograd keeps for the backward pass at the report's batch (module docstring)."""
    return backward(report).total.at(report.batch)


def static_training(report: Report, optimizer: str) -> int:
    """The bytes of a training step that do not depend on the batch: weights, buffers,
    gradients, optimizer state."""
    check_optimizer(optimizer)
    trainable = report.totals.trainable_params * report.bytes_per_element
    return (report.param_bytes + report.buffer_bytes + trainable
            + OPTIMIZER_STATES[optimizer] * trainable)


def training(report: Report, optimizer: str = "sgd", saved: Backward | None = None) -> Training:
    """Memory of one training step with `optimizer` (sgd, momentum or adam)."""
    check_optimizer(optimizer)
    size = report.bytes_per_element
    trainable = report.totals.trainable_params * size
    passed = saved or backward(report)
    return Training(
        weights=report.param_bytes,
        buffers=report.buffer_bytes,
        gradients=trainable,
        optimizer=OPTIMIZER_STATES[optimizer] * trainable,
        activations=passed.total.at(report.batch),
        forward_peak=passed.peak(report.batch),
    )


# --------------------------------------------------------------------------- what fits

#: The largest batch `largest_batch` reports; past it, "any batch" in practice.
MAX_BATCH = 2**40


def _largest(static: int, lines: list[Size], limit: int) -> int:
    """The largest batch b >= 1 with static + every line at b within `limit` (0: none)."""
    best = MAX_BATCH
    for line in lines:
        room = limit - static - line.fixed
        if line.per_example <= 0:
            if room < 0:
                return 0
            continue
        best = min(best, room // line.per_example)  # negative room: under 0, so 0 below
    return max(best, 0)


@dataclass(frozen=True, slots=True)
class Fit:
    """The largest batch that fits a memory limit (0: not even one example; MAX_BATCH: no
    activation grows with the batch), for inference and for a training step."""

    limit: int
    inference: int
    training: int
    optimizer: str


def largest_batch(report: Report, limit: int, optimizer: str = "sgd",
                  passes: tuple[Forward, Backward] | None = None) -> Fit:
    """The largest batch for which params + buffers + the inference peak, and the training
    step's total with `optimizer` (weights, buffers, gradients, optimizer state and the peak of
    its forward pass), stay within `limit` bytes (at the report's dtype)."""
    eval_pass, train_pass = passes or (forward(report), backward(report))
    assert train_pass.forward is not None
    weights = report.param_bytes + report.buffer_bytes
    return Fit(limit,
               _largest(weights, [size for _, size in eval_pass.steps], limit),
               _largest(static_training(report, optimizer),
                        [size for _, size in train_pass.forward.steps], limit),
               optimizer)
