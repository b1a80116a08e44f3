"""The Result of `cnncalc explain`: each layer's arithmetic, one line per step (a plain table:
lines of text for people, `path`, `kind` and `text` columns for machines)."""

from __future__ import annotations

from ..analyses.explain import explain_nodes
from ..core.report import Report
from ..result import Column, Result, Row, Table

COLUMNS = [Column("path", "path", human=False), Column("kind", "kind", human=False),
           Column("text", "text")]


def result(report: Report, layer: str | None = None) -> Result:
    rows = []
    for path, kind, lines in explain_nodes(report, layer):
        head, *body = lines
        rows.append(Row({"path": path, "kind": kind, "text": head}, role="heading"))
        rows += [Row({"path": path, "kind": kind, "text": line}, role="step", depth=1)
                 for line in body]
    title = f"{report.spec_name}: the arithmetic of every layer" + (
        f" ({layer})" if layer else "")
    return Result("explain", title, [Table("steps", COLUMNS, rows, plain=True)],
                  meta={"spec": report.spec_name, "input": list(report.input_shape)})


def one_layer(report: Report, per_filter: bool = False) -> Result:
    """`cnncalc size`: the one layer of a one-layer report, its heading and arithmetic (no
    receptive field: the question is the layer's). `per_filter`: no filter count was given,
    so only the output size is known (the heading says per filter; no params or MACs)."""
    from ..core import layers as L

    node = report.nodes[0]
    layer = node.layer
    assert layer is not None
    note = layer.describe()
    out = node.output_shape
    shown = L.fmt_shape(out)
    if per_filter and isinstance(layer, L._Convolution):
        from ..core.worked import window_lines

        shown = f"{out[0]}x{out[1]} per filter"
        lines = [*window_lines(node.input_shape, layer.kernel, layer.stride,
                               layer.padding_of(node.input_shape), layer.dilation,
                               same=layer.padding == "same"),
                 f"channels: one per filter (--filters N gives {out[0]}x{out[1]}xN, the "
                 "params and the MACs)"]
    elif isinstance(layer, L.AdaptivePool):  # the course's rule with its windows, and torch's
        from ..analyses.convolve import adaptive_lines

        lines = [*adaptive_lines(node.input_shape[:2], out[:2]),
                 "params 0, MACs 0 (counts follow torch's windows)"]
        note = f"{layer.mode}, to {out[0]}x{out[1]}"
    else:
        lines = layer.explain(node.input_shape, out)
    head = (f"{node.kind}{f' ({note})' if note else ''}: {L.fmt_shape(node.input_shape)} -> "
            f"{shown}")
    rows = [Row({"path": node.path, "kind": node.kind, "text": head}, role="heading")]
    rows += [Row({"path": node.path, "kind": node.kind, "text": line}, role="step", depth=1)
             for line in lines]
    title = f"{node.kind} on {L.fmt_shape(node.input_shape)}"
    return Result("size", title, [Table("steps", COLUMNS, rows, plain=True)],
                  meta={"input": list(report.input_shape),
                        "output": list(out) if not per_filter else [out[0], out[1]]})
