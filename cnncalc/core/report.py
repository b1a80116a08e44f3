"""What the engine finds: a tree of nodes with per-example counts, and the totals.

Results (`present`) and writers only read a Report. Counts on nodes are per example; the Report
applies the batch (activations, MACs, FLOPs and element-wise ops scale with it, parameters and
buffers do not).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .layers import Layer, Merge, Shape
from .units import DTYPE_BYTES

CONVENTIONS = (
    "params = learnable weights and biases (as torch counts them); buffers = batch-norm "
    "running statistics; MACs = conv+dense multiply-accumulates, bias excluded; "
    "FLOPs = 2 x MACs; activations = elements of each layer's output, input excluded"
)


@dataclass(slots=True, eq=False)
class Node:
    """A layer (leaf) or a block (with children) in the analysed network."""

    name: str
    path: str
    kind: str
    depth: int
    line: int
    input_shape: Shape
    output_shape: Shape
    params: int = 0
    trainable_params: int = 0
    buffers: int = 0
    activations: int = 0
    macs: int = 0
    elementwise: int = 0
    trainable: bool = True
    layer: Layer | None = None
    children: list[Node] | None = None
    #: for merge nodes (add, concat): the shapes that were merged
    inputs: list[Shape] = field(default_factory=list)
    #: for blocks: how the children connect: "seq", "repeat", "residual" or "parallel" (in
    #: order), "shortcut" (a residual's projection, fed the block's input, children in order;
    #: also on a layer that is a whole shortcut, see `spec.shortcut_name`) or "branch" (one
    #: path of a parallel block, fed the block's input); "" for other leaves and merges
    container: str = ""
    #: `from:`: the paths of the rows whose outputs feed this one (`input`: the network's
    #: input); empty when it is fed the usual way (the row before it, or its block's input)
    sources: list[str] = field(default_factory=list)
    #: runs only in training (an auxiliary head): its MACs, activations and element-wise ops
    #: are left out of every total but its own (and `Report.training_only`'s)
    training_only: bool = False
    #: for a parallel block with `split`: the channels each branch is given
    split: list[int] | None = None
    #: the entry's `lint: {ignore: [...]}` and the file it was written in; rows the engine
    #: adds (a container's merge, a post-activation) have neither: their block's apply
    lint: tuple[str, ...] = ()
    file: str | None = None
    #: `written_as:`: how the reference torch code writes this row (one of its kind's
    #: `forms`, for the peer conventions); None: the kind's default
    written_as: str | None = None

    @property
    def is_block(self) -> bool:
        return self.children is not None

    @property
    def is_merge(self) -> bool:
        """An add or concat joining a container's paths (made by the engine for it)."""
        return isinstance(self.layer, Merge) and not self.sources

    @property
    def is_join(self) -> bool:
        """An add or concat written as a layer, joining the outputs its `from:` names."""
        return isinstance(self.layer, Merge) and bool(self.sources)

    def walk(self) -> Iterator[Node]:
        """This node and everything below it, in order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(reversed(node.children))


@dataclass(slots=True, eq=False)
class Totals:
    params: int = 0
    trainable_params: int = 0
    buffers: int = 0
    activations: int = 0
    macs: int = 0
    elementwise: int = 0

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params


#: How a Report shows itself in a notebook, by format (`html`, `markdown`): filled by
#: `cnncalc.notebook` (the public API loads it), which renders through `present` and the
#: writers, so that the core imports neither.
VIEWS: dict[str, Callable[[Report], str]] = {}


@dataclass(slots=True, eq=False)
class Report:
    spec_name: str
    description: str
    input_shape: Shape
    nodes: list[Node]
    totals: Totals
    batch: int = 1
    dtype: str = "fp32"
    file: str = ""
    layer_count: int = 0
    #: the network's outputs, in order: the rows named by `outputs:`, or else every row whose
    #: output nothing reads (the last row is one)
    outputs: list[Node] = field(default_factory=list)
    #: the counts of the training-only rows (auxiliary heads), which `totals` leaves out
    #: except for params and buffers (the network holds them)
    training_only: Totals = field(default_factory=lambda: Totals())
    #: the spec's `notes:`, printed under the table by `show`
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str | None:
        """Jupyter's rich view: the HTML report (a diagram, the sortable table, memory)."""
        view = VIEWS.get("html")
        return view(self) if view is not None else None

    def _repr_markdown_(self) -> str | None:
        """The per-layer table as markdown (for front ends that show markdown)."""
        view = VIEWS.get("markdown")
        return view(self) if view is not None else None

    @property
    def inference_outputs(self) -> list[Node]:
        """The outputs of a forward pass in eval mode (training-only ones left out)."""
        return [node for node in self.outputs if not node.training_only]

    @property
    def bytes_per_element(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def walk(self, max_depth: int | None = None) -> Iterator[Node]:
        """Every node in order; with max_depth, nothing deeper than that depth (0 = top)."""
        stack = list(reversed(self.nodes))
        while stack:
            node = stack.pop()
            yield node
            if node.children and (max_depth is None or node.depth < max_depth):
                stack.extend(reversed(node.children))

    def leaves(self) -> Iterator[Node]:
        return (n for n in self.walk() if not n.is_block)

    # Values at the report's batch size.
    def activations(self, node: Node | Totals) -> int:
        return node.activations * self.batch

    def macs(self, node: Node | Totals) -> int:
        return node.macs * self.batch

    def flops(self, node: Node | Totals) -> int:
        return 2 * node.macs * self.batch

    def elementwise(self, node: Node | Totals) -> int:
        return node.elementwise * self.batch

    @property
    def input_size(self) -> int:
        size = 1
        for n in self.input_shape:
            size *= n
        return size

    @property
    def param_bytes(self) -> int:
        return self.totals.params * self.bytes_per_element

    @property
    def buffer_bytes(self) -> int:
        return self.totals.buffers * self.bytes_per_element

    @property
    def activation_bytes(self) -> int:
        return self.activations(self.totals) * self.bytes_per_element
