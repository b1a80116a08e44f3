"""Freezing a network up to a layer: a pass over a finished Report.

`freeze_until: NAME` at the top of a spec, or `cnncalc show --freeze-until NAME`: every layer up
to and including NAME, in the order of the table (a block includes everything inside it),
becomes frozen: its params count as frozen, not trainable. NAME is a layer's dotted path
(`block5.2`, `layer3.1.conv2`) or a name that occurs once in the network (`fc7`). It only ever
adds to what `trainable: false` already froze.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CnnCalcError
from .report import Node, Report

if TYPE_CHECKING:
    from .spec import Spec


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


def freeze_option(report: Report, target: str, spec: Spec | None = None) -> str | None:
    """`--freeze-until NAME` on top of what the spec freezes; in place. Returns a note when
    it changes nothing (the option only ever adds to the spec's freezing, so a spec that
    already freezes further would otherwise swallow it without a word), else None."""
    before = report.totals.trainable_params
    freeze_until(report, target)
    if report.totals.trainable_params != before:
        return None
    node = find_node(report, target)
    order = list(report.walk())
    upto = order[:order.index(node) + sum(1 for _ in node.walk())]
    if not any(n.params for n in upto if n.children is None):
        return (f"--freeze-until {target} changes nothing: no layer up to and including "
                f"'{node.path}' has parameters")
    where = ""
    if spec is not None and spec.freeze_until:
        line = f":{spec.freeze_line}" if spec.freeze_line else ""
        where = f" (freeze_until: {spec.freeze_until}, {spec.file}{line})"
    how = ("set the spec's freeze_until to an earlier layer (a spec that extends it may set "
           "its own, which replaces the base's)" if spec is not None and spec.freeze_until
           else "remove their trainable: false from the spec")
    return (f"--freeze-until {target} changes nothing: the spec already freezes every layer "
            f"up to and including '{node.path}'{where}. The option only adds to the spec's "
            f"freezing; to train those layers, {how}")
