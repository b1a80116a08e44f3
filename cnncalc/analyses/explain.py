"""The arithmetic behind every number, with the numbers filled in, layer by layer.

`explain(report)` gives, for each layer, lines such as

    output size: floor((39 + 2*0 - 3) / 1) + 1 = 37
    params: (3*3*3 + 1) * 10 = 280
    MACs: 3*3*3 * 37*37*10 = 369,630
    receptive field: r = 1 + (3 - 1)*1 = 3, j = 1*1 = 1, p = 0 + 0*1 = 0

Each layer kind writes its own lines (`Layer.explain`, `Merge.explain_merge` in `layers`,
beside the rules that computed the numbers); this module adds the receptive-field step and
walks the report. Counts are per example, as in the table's rows at batch 1.
"""

from __future__ import annotations

from ..core import formulas as F
from ..core.formulas import Window
from ..core.layers import EVERYWHERE, Layer, Merge, Shape, fmt_shape
from ..core.report import Node, Report
from ..core.worked import n, size_line
from ..errors import CnnCalcError
from .receptive import Axis, Field, receptive_fields

# --------------------------------------------------------------------------- receptive field

def _rf_axis(before: Axis, window: Window | None, after: Axis) -> str:
    if window is None:
        return f"r = {after.size}, j = {after.stride}, p = {after.padding} (unchanged)"
    f_eff = F.effective_kernel(window.f, window.d)
    return (f"r = {before.size} + ({f_eff} - 1)*{before.stride} = {after.size}, "
            f"j = {before.stride}*{window.s} = {after.stride}, "
            f"p = {before.padding} + {window.p}*{before.stride} = {after.padding}")


def rf_lines(layer: Layer, in_shape: Shape, before: Field, after: Field) -> list[str]:
    """The receptive-field step of one layer, numbers filled in (see `receptive`)."""
    rule = layer.window(in_shape)
    if rule is None:
        pairs: tuple[Window | None, Window | None] = (None, None)
    elif rule == EVERYWHERE:
        pairs = (Window(before.h.positions), Window(before.w.positions))
    else:
        assert not isinstance(rule, str)
        pairs = rule
    note = "   (sees every position)" if rule == EVERYWHERE else ""
    h = _rf_axis(before.h, pairs[0], after.h)
    w = _rf_axis(before.w, pairs[1], after.w)
    if h == w:
        return [f"receptive field: {h}{note}"]
    return [f"receptive field (height): {h}{note}", f"receptive field (width): {w}"]


# --------------------------------------------------------------------------- the report

def explain_node(node: Node, before: Field | None, after: Field) -> list[str]:
    """The lines for one node: its heading, then its arithmetic (one line per step)."""
    head = (f"{node.path} ({node.kind}): {fmt_shape(node.input_shape)} -> "
            f"{fmt_shape(node.output_shape)}")
    if node.children is not None:
        return [f"{head}; block total params {n(node.params)}, MACs {n(node.macs)}"]
    if isinstance(node.layer, Merge):
        shapes = " + ".join(fmt_shape(s) for s in node.inputs)
        head = f"{node.path} ({node.kind}): {shapes} -> {fmt_shape(node.output_shape)}"
        body = node.layer.explain_merge(node.inputs, node.output_shape)
        body.append(f"receptive field: the union of the paths: r = {after.size}, "
                    f"j = {after.stride}, p = {after.padding}")
        return [head, *body]
    assert node.layer is not None
    body = node.layer.explain(node.input_shape, node.output_shape)
    if before is not None:
        body += rf_lines(node.layer, node.input_shape, before, after)
    return [head, *body]


def select(report: Report, layer: str | None) -> list[Node]:
    """Every node, or the node named `layer` (a path or a unique name) and what is inside it."""
    nodes = list(report.walk())
    if layer is None:
        return nodes
    from ..core.freeze import find_node

    try:
        target = find_node(report, layer)
    except CnnCalcError as exc:
        raise CnnCalcError(str(exc.problems[0].message).replace("freeze until", "--layer")
                           ) from None
    return list(target.walk())


def explain_nodes(report: Report, layer: str | None = None) -> list[tuple[str, str, list[str]]]:
    """(path, kind, [heading, step, ...]) for the input (unless `layer` is given) and every node
    (or the one named `layer` and what is inside it)."""
    inputs: dict[str, Field] = {}
    fields = receptive_fields(report, inputs)
    out = [] if layer is not None else [
        ("input", "input", [f"input: {fmt_shape(report.input_shape)} = "
                            f"{n(report.input_size)} values; receptive field r = 1, j = 1, "
                            "p = 0"])]
    for node in select(report, layer):
        out.append((node.path, node.kind,
                    explain_node(node, inputs.get(node.path), fields[node.path])))
    return out


def explain(report: Report, layer: str | None = None) -> list[str]:
    """All the lines of `cnncalc explain` as text (steps indented under their heading)."""
    return [line if i == 0 else "  " + line
            for _, _, lines in explain_nodes(report, layer) for i, line in enumerate(lines)]


__all__ = ["explain", "explain_node", "explain_nodes", "rf_lines", "size_line"]
