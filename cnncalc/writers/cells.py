"""How a value is shown in a cell, by column type: for people (table, markdown, HTML) and for
machines (CSV). JSON takes values as they are (`json.value`): its encoder escapes every
control character itself.

Text cells (names, descriptions, file names, messages) go through `errors.visible`: a newline,
ESC or bidi override from a spec is shown as `\\n`, `\\x1b`, `\\u202e`, never written raw."""

from __future__ import annotations

from typing import Any

from ..core.layers import fmt_shape
from ..core.units import binary, exact
from ..errors import visible
from ..result import LEFT_ALIGNED, Column, Row, Table


def human(value: Any, column: Column) -> str:
    """The cell text a person reads: `62,006`, `527.8 MiB`, `28x28x6`, `98.5%`."""
    if value is None:
        return ""
    kind = column.type
    if kind == "count" and isinstance(value, int):
        return exact(value)
    if kind == "bytes" and isinstance(value, int):
        return binary(value)
    if kind == "shape" and isinstance(value, tuple | list):
        return fmt_shape(tuple(value))
    if kind == "share" and isinstance(value, float | int):
        return f"{value:.1%}"
    if kind == "float" and isinstance(value, float | int):
        return f"{value:.6g}"
    if kind == "field":
        return visible(value.text())
    return visible(str(value))


def machine(value: Any, column: Column) -> str | int:
    """The CSV cell: exact integers, `28x28x6` shapes, fractions to 6 significant digits."""
    if value is None:
        return ""
    kind = column.type
    if kind == "shape" and isinstance(value, tuple | list):
        return "x".join(str(n) for n in value)
    if kind in ("share", "float") and isinstance(value, float):
        return f"{value:.6g}"
    if kind == "field":
        return visible(value.text())
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, int) else visible(str(value))


def left(column: Column) -> bool:
    return column.type in LEFT_ALIGNED


def human_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.human]


def machine_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.machine]


def human_cells(table: Table, row: Row) -> list[str]:
    return [human(row.values.get(c.key), c) for c in human_columns(table)]
