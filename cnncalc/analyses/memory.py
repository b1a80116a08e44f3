"""Memory: parameters, activations, the peak of a forward pass, and training for a batch.

Pure arithmetic on a finished Report; bytes are elements x the report's bytes per element
(fp32 4, fp16/bf16 2, int8 1), at the report's batch size. The rules, exactly:

Peak inference (`peak_inference`): the forward pass runs the layers in the order of the table;
every layer (and every add or concat that joins paths) writes a new tensor of its output size
(no in-place operations, no views: a ReLU or a flatten makes a new tensor too). A tensor is alive
from the step that makes it until the last step that reads it has run, both included; the
network's input is alive from the start, and the network's output until the end. A residual
block's input is read by the first layer of its body, by its shortcut (or, for an identity
shortcut, by the add), so it stays alive through the whole body; a parallel block's input is
read by the first layer of every branch (or by the merge, for an identity branch), and each
branch's output stays alive until the merge. A row with `from:` reads the outputs it names,
which stay alive until then; every output of the network lives to the end; training-only rows
(auxiliary heads) do not run at inference. The peak is the largest total of tensors alive at
one step. It counts activations only; weights and buffers are added in `inference_bytes`.

Training (`training`) for one step on a batch, at the report's dtype (no mixed-precision copies):
- weights: every parameter, plus buffers (batch-norm running statistics);
- gradients: one per trainable parameter (frozen parameters get none);
- optimizer state: per trainable parameter, `sgd` 0, `momentum` 1 (velocity), `adam` 2 (first
  and second moments) tensors;
- activations kept for the backward pass: every layer's output (training-only rows included)
  plus the network's input, in the order of the table, except for a frozen start: the layers before the first layer with
  trainable parameters need no backward pass, so of them only the tensor that feeds that first
  trainable layer is kept. Nothing trains -> nothing is kept. Transient gradient buffers of
  the backward pass itself are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.layers import prod
from ..core.report import Node, Report

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


# --------------------------------------------------------------------------- the forward pass

@dataclass(slots=True)
class Step:
    """One step of the forward pass: a layer or merge, the tensors it reads and the one it
    writes."""

    node: Node | None  # None for the network's input
    reads: list[int]
    writes: int


class _Schedule:
    def __init__(self, training: bool) -> None:
        self.training = training
        self.sizes: list[int] = []  # elements per example, by tensor id
        self.steps: list[Step] = []
        self.made: dict[str, int] = {}  # the tensor each row's output is, by path

    def tensor(self, elements: int) -> int:
        self.sizes.append(elements)
        return len(self.sizes) - 1

    def run(self, node: Node | None, reads: list[int], elements: int) -> int:
        out = self.tensor(elements)
        self.steps.append(Step(node, reads, out))
        return out

    def visit(self, node: Node, tensor: int) -> int:
        if node.training_only and not self.training:  # not run at inference; what follows reads with from:
            return tensor
        if node.sources:
            given = [self.made[path] for path in node.sources]
            tensor = given[0]
            if node.is_join:
                self.made[node.path] = self.run(node, given, prod(node.output_shape))
                return self.made[node.path]
        self.made[node.path] = self.written(node, tensor)
        return self.made[node.path]

    def written(self, node: Node, tensor: int) -> int:
        if node.children is None:
            return self.run(node, [tensor], prod(node.output_shape))
        self.made[f"{node.path}.input"] = tensor  # what `from: input` reads inside it
        current = tensor
        branches: list[int] = []
        shortcut: int | None = None
        for child in node.children:
            if child.container == "branch":
                branches.append(self.visit(child, tensor))
            elif child.container == "shortcut":
                shortcut = self.visit(child, tensor)
            elif child.is_merge:
                reads = branches or [current, tensor if shortcut is None else shortcut]
                current = self.run(child, reads, prod(child.output_shape))
            else:
                current = self.visit(child, current)
        return current


def schedule(report: Report, training: bool = False) -> tuple[list[Step], list[int], list[int]]:
    """The forward pass as steps (the first writes the input), tensor sizes per example, and
    the tensors that are the network's outputs. Training-only rows run only in `training`."""
    plan = _Schedule(training)
    plan.made["input"] = current = plan.run(None, [], prod(report.input_shape))
    for node in report.nodes:
        current = plan.visit(node, current)
    outputs = [plan.made[node.path] for node in report.outputs if node.path in plan.made]
    return plan.steps, plan.sizes, outputs or [current]


def alive_per_step(report: Report) -> list[tuple[Node | None, int]]:
    """(step's node, elements alive during it, per example) for every step of the forward pass."""
    steps, sizes, outputs = schedule(report)
    born = {s.writes: i for i, s in enumerate(steps)}
    last = dict(born)
    for index, s in enumerate(steps):
        for t in s.reads:
            last[t] = max(last[t], index)
    for t in outputs:  # the outputs live to the end
        last[t] = len(steps) - 1
    change = [0] * (len(steps) + 1)  # a sweep, linear in the number of steps
    for t, start in born.items():
        change[start] += sizes[t]
        change[last[t] + 1] -= sizes[t]
    out = []
    alive = 0
    for index, s in enumerate(steps):
        alive += change[index]
        out.append((s.node, alive))
    return out


def peak_inference(report: Report) -> int:
    """Bytes of the largest set of activation tensors alive at once in a forward pass, at the
    report's batch and dtype (the rules are in the module docstring)."""
    return max(a for _, a in alive_per_step(report)) * report.batch * report.bytes_per_element


def peak_step(report: Report) -> Node | None:
    """The layer during which the forward pass peaks (None: at the input)."""
    return max(alive_per_step(report), key=lambda pair: pair[1])[0]


def inference_bytes(report: Report) -> int:
    """Weights, buffers and the peak of activations: what a forward pass needs at once."""
    return report.param_bytes + report.buffer_bytes + peak_inference(report)


# --------------------------------------------------------------------------- training

@dataclass(frozen=True, slots=True)
class Training:
    """Bytes of one training step, part by part (see the module docstring)."""

    weights: int
    buffers: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.buffers + self.gradients + self.optimizer + self.activations


def saved_activations(report: Report) -> int:
    """Elements per example kept for the backward pass (the module docstring's rule)."""
    steps, sizes, _ = schedule(report, training=True)
    first = next((i for i, s in enumerate(steps)
                  if s.node is not None and s.node.children is None
                  and s.node.trainable_params > 0), None)
    if first is None:
        return 0
    kept = sum(sizes[t] for t in steps[first].reads)
    return kept + sum(sizes[s.writes] for s in steps[first:])


def training(report: Report, optimizer: str = "sgd") -> Training:
    """Memory of one training step with `optimizer` (sgd, momentum or adam)."""
    from ..errors import CnnCalcError, suggest

    if optimizer not in OPTIMIZER_STATES:
        raise CnnCalcError(f"unknown optimizer {optimizer!r}{suggest(optimizer, OPTIMIZER_STATES)}"
                           f"; use one of {', '.join(OPTIMIZER_STATES)}")
    size = report.bytes_per_element
    trainable = report.totals.trainable_params * size
    return Training(
        weights=report.param_bytes,
        buffers=report.buffer_bytes,
        gradients=trainable,
        optimizer=OPTIMIZER_STATES[optimizer] * trainable,
        activations=saved_activations(report) * report.batch * size,
    )
