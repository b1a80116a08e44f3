"""A report as boxes and arrows (`result.Network`), for the writers that draw a network.

The edges follow the data as every walker of a report does (`analyses.receptive._visit`, the
memory schedule): a row reads the row before it (or its block's input); a parallel block's
branches and a residual's body and shortcut all read the block's input; the merge that closes
such a block reads the branches (or the body and the shortcut, or the identity: the block's
input); a row with `from:` reads the rows it names, an add or concat written as a row reads
them all. Blocks deeper than `max_depth` are drawn as one box, and an edge to or from a row
inside one goes to that box.
"""

from __future__ import annotations

from ..core.layers import fmt_shape
from ..core.report import Node, Report
from ..result import Network, Unit


def network(report: Report, max_depth: int | None = None,
            label: object = None) -> Network:
    """The report's network down to `max_depth` (None: every row), with each box's label from
    `label(node)` (default: the row's name)."""
    name_of = label if callable(label) else (lambda node: node.name)
    edges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    #: the drawn unit whose output is each path's output (a path inside a collapsed block: the
    #: block; an expanded block: the unit that produces its output)
    out: dict[str, str] = {"input": "input"}
    collapsed: set[str] = set()
    outputs = {node.path for node in report.outputs}

    def edge(a: str, b: str) -> None:
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            edges.append((a, b))

    def source(path: str) -> str:
        if path in out:
            return out[path]
        parts = path.split(".")  # inside a collapsed block: that block
        for end in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in collapsed:
                return prefix
        return out.get(parts[0], "input")

    def unit(node: Node, expanded: bool) -> Unit:
        return Unit(node.path, name_of(node), node.kind, fmt_shape(node.output_shape),
                    node.params, report.macs(node), node.is_block, [] if expanded else None,
                    node.path in outputs, node.training_only)

    def visit(node: Node, before: str, into: list[Unit]) -> str:
        if node.sources:
            given = [source(path) for path in node.sources]
            if node.is_join:
                into.append(unit(node, False))
                for s in given:
                    edge(s, node.path)
                out[node.path] = node.path
                return node.path
            before = given[0]
        expand = bool(node.children) and (max_depth is None or node.depth < max_depth)
        drawn = unit(node, expand)
        into.append(drawn)
        if not expand:
            edge(before, node.path)
            if node.children is not None:
                collapsed.add(node.path)
            out[node.path] = node.path
            return node.path
        assert node.children is not None and drawn.children is not None
        out[f"{node.path}.input"] = before
        current = before
        paths: list[str] = []
        shortcut: str | None = None
        for child in node.children:
            if child.container == "branch":
                paths.append(visit(child, before, drawn.children))
            elif child.container == "shortcut":
                shortcut = visit(child, before, drawn.children)
            elif child.is_merge:
                drawn.children.append(unit(child, False))
                for s in paths or [current, shortcut or before]:
                    edge(s, child.path)
                current = out[child.path] = child.path
            else:
                current = visit(child, current, drawn.children)
        out[node.path] = current
        return current

    units: list[Unit] = []
    current = "input"
    for node in report.nodes:
        current = visit(node, current, units)
    _mark_outputs(units)
    return Network(report.spec_name, fmt_shape(report.input_shape), units, edges,
                   report.macs(report.totals), report.totals.params)


def _mark_outputs(units: list[Unit]) -> bool:
    """A block that holds an output is drawn as one too; True when any unit here is one."""
    found = False
    for u in units:
        if u.children is not None and _mark_outputs(u.children):
            u.output = True
        found = found or u.output
    return found
