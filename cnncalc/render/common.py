"""Row text shared by every tabular format (terminal, markdown, CSV, HTML)."""

from __future__ import annotations

from ..layers import fmt_shape
from ..report import CONVENTIONS, Node, Report
from ..units import binary, exact, si


def layer_label(node: Node) -> str:
    """The row's name, indented by depth, with the layer's settings (`conv1 (f=5, s=1)`)."""
    note = node.layer.describe() if node.layer is not None else ""
    if node.children is not None and node.container == "repeat":
        note = f"{len(node.children)} x {node.kind}"  # `layer1 (3 x bottleneck)`
    elif (node.children is not None and node.kind != node.name and not node.name.isdigit()
          and node.kind not in ("seq", "residual", "parallel")):
        note = node.kind  # a block's use: `inception3a (inception)`
    if node.children is None and note == node.kind:
        note = ""  # `relu1`, `softmax`: the name already says it
    name = f"{node.name}: {node.kind}" if node.name.isdigit() else node.name
    text = "  " * node.depth + name
    return f"{text} ({note})" if note else text


def has_frozen(report: Report) -> bool:
    return report.totals.frozen_params > 0


def summary_lines(report: Report) -> list[str]:
    """The lines under a table: totals in exact and SI form, memory, and the conventions."""
    t = report.totals
    macs = report.macs(t)
    flops = report.flops(t)
    lines = [
        f"Input {fmt_shape(report.input_shape)} ({exact(report.input_size)} values), "
        f"batch {report.batch}, {report.dtype}; {report.layer_count:,} "
        f"layer{'s' if report.layer_count != 1 else ''}",
        f"Params: {exact(t.params)} ({si(t.params)}): trainable {exact(t.trainable_params)}, "
        f"frozen {exact(t.frozen_params)}; buffers {exact(t.buffers)}",
        f"MACs: {exact(macs)} ({si(macs)}); FLOPs: {exact(flops)} ({si(flops)}); "
        f"element-wise ops: {exact(report.elementwise(t))}",
        f"Memory: params {binary(report.param_bytes)}, buffers {binary(report.buffer_bytes)}, "
        f"activations {binary(report.activation_bytes)} "
        f"({exact(report.activations(t))} values)",
        f"Counted: {CONVENTIONS}.",
    ]
    return lines


def table_rows(report: Report, max_depth: int | None = None
               ) -> tuple[list[str], list[tuple[str, int, Node | None, list[str]]]]:
    """The terminal table's header and rows as text, for markdown and HTML.

    Each row is (role, depth, node, cells) with role `input`, `layer`, `block` or `total`;
    the first cell is the layer's name and settings without the indentation.
    """
    frozen = has_frozen(report)
    header = ["Layer", "Activation shape", "Activation size", "# Parameters",
              *(["Frozen"] if frozen else []), "MACs"]
    batch = f" x{report.batch}" if report.batch > 1 else ""
    rows: list[tuple[str, int, Node | None, list[str]]] = [(
        "input", 0, None, ["input", fmt_shape(report.input_shape) + batch,
                           exact(report.input_size * report.batch), "0",
                           *(["0"] if frozen else []), "0"])]
    for node in report.walk(max_depth):
        rows.append(("block" if node.is_block else "layer", node.depth, node, [
            layer_label(node).strip(), fmt_shape(node.output_shape),
            exact(report.activations(node)), exact(node.params),
            *([exact(node.params - node.trainable_params)] if frozen else []),
            exact(report.macs(node))]))
    t = report.totals
    rows.append(("total", 0, None, ["total", "", exact(report.activations(t)), exact(t.params),
                                    *([exact(t.frozen_params)] if frozen else []),
                                    exact(report.macs(t))]))
    return header, rows
