"""Freezing a network up to a layer: a pass over a finished Report.

`freeze_until: NAME` at the top of a spec, or `cnncalc show --freeze-until NAME`: every layer up
to and including NAME, in the order of the table (a block includes everything inside it),
becomes frozen: its params count as frozen, not trainable. NAME is a layer's dotted path
(`block5.2`, `layer3.1.conv2`) or a name that occurs once in the network (`fc7`). It only ever
adds to what `trainable: false` already froze.
"""

from __future__ import annotations

from ..errors import CnnCalcError
from .report import Node, Report


def find_node(report: Report, target: str) -> Node:
    """The node with dotted path `target`, or the one node named `target`."""
    from ..errors import suggest

    nodes = list(report.walk())
    for node in nodes:
        if node.path == target:
            return node
    named = [n for n in nodes if n.name == target]
    if len(named) == 1:
        return named[0]
    if named:
        raise CnnCalcError(f"freeze until '{target}': {len(named)} layers have that name "
                           f"({', '.join(n.path for n in named[:6])}); give the dotted path")
    raise CnnCalcError(f"freeze until '{target}': no layer has that name or path"
                       f"{suggest(target, [n.path for n in nodes])}")


def freeze_until(report: Report, target: str) -> Report:
    """Freeze every layer up to and including `target` (see the module docstring); in place."""
    order = list(report.walk())
    node = find_node(report, target)
    last = order.index(node) + sum(1 for _ in node.walk()) - 1
    for index, each in enumerate(order):
        if index <= last and each.children is None:
            each.trainable = False
            each.trainable_params = 0
    for top in report.nodes:
        _resum(top)
    report.totals.trainable_params = sum(n.trainable_params for n in report.nodes)
    return report


def _resum(node: Node) -> None:
    if node.children is None:
        return
    for child in node.children:
        _resum(child)
    node.trainable_params = sum(c.trainable_params for c in node.children)
    if node.children and not any(c.trainable for c in node.children):
        node.trainable = False
