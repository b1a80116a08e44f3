"""A row's label in every table (`conv1 (f=5, s=1)`), shared by the results that list rows."""

from __future__ import annotations

from ..core.report import Node


def _relative(node: Node, path: str) -> str:
    """A source's path as seen from `node`'s block (`branch1x1`, not `Mixed_7c.branch1x1`)."""
    block = node.path.rpartition(".")[0]
    return path[len(block) + 1:] if block and path.startswith(block + ".") else path


def layer_label(node: Node, name: str | None = None) -> str:
    """The row's name (or `name`: its path, in a sorted list) with the layer's settings
    (`conv1 (f=5, s=1)`, `layer1 (3 x bottleneck)`)."""
    note = node.layer.describe() if node.layer is not None else ""
    if node.children is not None and node.container == "repeat":
        note = f"{len(node.children)} x {node.kind}"
    elif (node.children is not None and node.kind != node.name and not node.name.isdigit()
          and node.kind not in ("seq", "residual", "parallel")):
        note = node.kind  # a block's use: `inception3a (inception)`
    if node.children is None and note == node.kind:
        note = ""  # `relu1`, `softmax`: the name already says it
    if node.is_join:
        note = f"{node.kind} of {', '.join(_relative(node, s) for s in node.sources)}"
    elif node.sources:
        note = "; ".join(filter(None, (note, f"from {_relative(node, node.sources[0])}")))
    if node.training_only:
        note = "; ".join(filter(None, (note, "training only")))
    if name is None:
        name = f"{node.name}: {node.kind}" if node.name.isdigit() else node.name
    return f"{name} ({note})" if note else name
