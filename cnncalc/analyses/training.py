"""The cost of one training step: the MACs of the forward pass, of the gradient with respect to
each layer's input and of the gradient with respect to its weights, per layer and in total.

The rule per kind (`RULES`), for a layer whose forward pass costs `MACs`:
- conv, depthwise, conv_transpose, dense, channel_dense: input gradient = weight gradient =
  `MACs`. Both are the forward's products rearranged: the input gradient is the output
  gradient convolved with the weights turned around (a transposed convolution; for a dense
  layer `dY W`), the weight gradient the input correlated with the output gradient (`X^T dY`),
  each weight meeting each output position it touched once. Grouped and depthwise
  convolutions likewise, group by group.
- separable: its depthwise and 1x1 parts each by that rule; se: its two 1x1 convolutions
  (`C_in*squeeze` MACs each) likewise.
- every other kind: 0 MACs (pooling, normalisation, activations, adds, upsampling, ...: their
  gradients are element-wise work, like their forward pass, and not MACs).

Which gradients a step needs:
- the weight gradient of a layer with trainable parameters; a frozen layer (`trainable: false`,
  `freeze_until`) has none;
- the input gradient of a layer whose input depends on a trainable parameter (some layer on a
  path from the network's input to it has one). The network's input needs none, so the layers
  before the first trainable layer, and that layer itself, skip it: fine-tuning only a new head
  costs a forward pass plus the head's weight gradient.
Training-only rows (auxiliary heads) run in a training step: their forward MACs count here
(though not in the inference totals) and so do their gradients. `per epoch` for N samples is N
times the cost of one example (a last, smaller batch costs its share).

torch's FlopCounterMode (`flopcounter=True`) counts the same products except one: its rule for
a grouped convolution's weight gradient ignores the groups (torch/utils/flop_counter.py,
`conv_backward_flop`), so it counts `groups x MACs` there (a depthwise convolution: `C_in x
MACs`). That variant reproduces what FlopCounterMode reports over forward and backward.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.report import Node, Report


@dataclass(frozen=True, slots=True)
class Step:
    """MACs of one training step for one example: forward, input gradient, weight gradient."""

    forward: int = 0
    input_grad: int = 0
    weight_grad: int = 0

    @property
    def total(self) -> int:
        return self.forward + self.input_grad + self.weight_grad

    def __add__(self, other: Step) -> Step:
        return Step(self.forward + other.forward, self.input_grad + other.input_grad,
                    self.weight_grad + other.weight_grad)


def _groups(node: Node) -> int:
    """How many groups a convolution has (depthwise: one per input channel)."""
    kind = type(node.layer).kind
    if kind == "depthwise":
        return node.input_shape[-1]
    return int(getattr(node.layer, "groups", 1))


def _parts(node: Node) -> list[tuple[int, int, bool]]:
    """The layer's products as (MACs, groups, first): `first` is the part that reads the
    layer's input (a later part reads the output of an earlier one)."""
    kind = type(node.layer).kind
    if kind in ("conv", "depthwise", "conv_transpose", "dense", "channel_dense"):
        return [(node.macs, _groups(node), True)]
    if kind == "separable":  # depthwise (groups = C_in), then 1x1 on its output
        c = node.input_shape[-1]
        ho, wo, c_out = node.output_shape
        pointwise = c * node.layer.multiplier * ho * wo * c_out  # type: ignore[union-attr]
        return [(node.macs - pointwise, c, True), (pointwise, 1, False)]
    if kind == "se":
        half = node.macs // 2  # fc1 (C_in -> squeeze) and fc2 (squeeze -> C_in), on 1x1
        return [(half, 1, True), (half, 1, False)]
    return []


#: The kinds whose forward pass has MACs and how they split (the module docstring's rule);
#: every other kind's step is its forward MACs (0) alone. A test checks the list covers every
#: kind with MACs.
RULES = ("conv", "depthwise", "separable", "conv_transpose", "dense", "channel_dense", "se")


def step_of(node: Node, input_grad: bool, flopcounter: bool = False) -> Step:
    """One example's training step of a leaf node whose input needs a gradient (`input_grad`)
    or not; its weight gradient when it has trainable parameters."""
    weights = node.trainable_params > 0
    forward = dgrad = wgrad = 0
    for macs, groups, first in _parts(node):
        forward += macs
        if input_grad or (weights and not first):
            dgrad += macs
        if weights:
            wgrad += macs * (groups if flopcounter else 1)
    if not _parts(node):
        forward = node.macs
    return Step(forward, dgrad, wgrad)


@dataclass(slots=True)
class Training:
    """A report's training step: every node's Step by path (blocks: their rows' sum), the
    total, per example."""

    report: Report
    nodes: dict[str, Step]
    total: Step
    flopcounter: bool = False

    def at_batch(self, step: Step) -> Step:
        b = self.report.batch
        return Step(step.forward * b, step.input_grad * b, step.weight_grad * b)

    def epoch(self, samples: int) -> int:
        """MACs of one epoch of `samples` examples."""
        return self.total.total * samples


def training(report: Report, flopcounter: bool = False) -> Training:
    """The training step of `report` (the module docstring's rules); `flopcounter`: as torch's
    FlopCounterMode counts it."""
    own: dict[str, Step] = {}
    needs: dict[str, bool] = {"input": False}  # path -> whether its output depends on a
    #                                             trainable parameter (`PATH.input`: a list's)

    def flow(node: Node, upstream: bool) -> bool:
        """Walk `node` (fed by something that depends on a trainable parameter or not) in
        the order of the forward pass; whether its output depends on one."""
        if node.sources:
            upstream = any(needs[path] for path in node.sources)
        if node.children is None:
            own[node.path] = step_of(node, upstream, flopcounter)
            needs[node.path] = upstream or node.trainable_params > 0
            return needs[node.path]
        needs[f"{node.path}.input"] = upstream
        current, branches, shortcut = upstream, [], None
        for child in node.children:
            if child.container == "branch":
                branches.append(flow(child, upstream))
            elif child.container == "shortcut":
                shortcut = flow(child, upstream)
            elif child.is_merge:
                joined = branches or [current, upstream if shortcut is None else shortcut]
                own[child.path] = step_of(child, any(joined), flopcounter)
                current = needs[child.path] = any(joined)
            else:
                current = flow(child, current)
        needs[node.path] = current
        return current

    last = False
    for top in report.nodes:
        last = flow(top, last)
    nodes: dict[str, Step] = {}

    def visit(node: Node) -> Step:
        if node.children is None:
            found = own.get(node.path, Step(node.macs))
        else:
            found = Step()
            for child in node.children:
                found = found + visit(child)
        nodes[node.path] = found
        return found

    total = Step()
    for node in report.nodes:
        total = total + visit(node)
    return Training(report, nodes, total, flopcounter)
