"""Row text shared by every tabular format (terminal, markdown, CSV, HTML)."""

from __future__ import annotations

from ..layers import fmt_shape
from ..report import CONVENTIONS, Node, Report
from ..units import binary, exact, si


def layer_label(node: Node) -> str:
    """The row's name, indented by depth, with the layer's settings (`conv1 (f=5, s=1)`)."""
    note = node.layer.describe() if node.layer is not None else ""
    name = f"{node.name}: {node.kind}" if node.name.isdigit() else node.name
    text = "  " * node.depth + name
    return f"{text} ({note})" if note else text


def kind_label(node: Node) -> str:
    return node.kind


def has_frozen(report: Report) -> bool:
    return report.totals.frozen_params > 0


def summary_lines(report: Report) -> list[str]:
    """The lines under a table: totals in exact and SI form, memory, and the conventions."""
    t = report.totals
    macs = report.macs(t)
    flops = report.flops(t)
    lines = [
        f"Input {fmt_shape(report.input_shape)} ({exact(report.input_size)} values), "
        f"batch {report.batch}, {report.dtype}; {report.layer_count:,} layers",
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
