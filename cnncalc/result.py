"""What a command found, in one neutral shape that every writer takes.

A Result is a title, tables of typed columns, notes, and metadata. Writers (`cnncalc.writers`,
one module per format) know formats, never commands: a command builds its Result
(`cnncalc.present`) and `writers.emit` writes it as a table, markdown, CSV, JSON or HTML.

Columns are typed so that each format shows a value its own way: a `count` is `62,006` in a
table and `62006` in CSV and JSON; a `shape` is `28x28x6` in a table, `28x28x6` in CSV and
`[28, 28, 6]` in JSON. `human` columns appear in table, markdown and HTML; `machine` columns in
CSV and JSON. Where a command has a documented JSON contract of its own (`show`, `compare`,
`check`, `memory`), its Result carries that document in `data`, and its tables say `json=False`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

#: How a column's values are shown: `text` and `name` (indented by the row's depth) are left
#: aligned; numbers and shapes right aligned. `share` is a fraction (0.985 -> 98.5%).
ColumnType = Literal["text", "name", "count", "bytes", "shape", "share", "float", "field"]

LEFT_ALIGNED = ("text", "name")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its machine key (CSV header, JSON key), its human title and its type."""

    key: str
    title: str
    type: ColumnType = "text"
    human: bool = True
    machine: bool = True


@dataclass(slots=True)
class Row:
    """One row: values by column key (a missing key is an empty cell); `role` is a style hint
    (input, layer, block, total, pass, fail, invalid, unchecked, heading, step)."""

    values: dict[str, Any]
    role: str = ""
    depth: int = 0
    #: False for rows people read but machines do not need (a table's `input` row)
    machine: bool = True


@dataclass(slots=True)
class Table:
    """A titled grid; `plain` tables are lines of text (no header), such as `explain`."""

    key: str
    columns: list[Column]
    rows: list[Row]
    title: str = ""
    json: bool = True
    plain: bool = False


@dataclass(slots=True)
class Result:
    """A command's finding: title, tables, notes (lines under the tables), a footnote, JSON
    metadata (ahead of the tables) and data (after them), and the command's exit code."""

    command: str
    title: str
    tables: list[Table]
    notes: list[str] = field(default_factory=list)
    #: one closing line (what was counted), set apart from the notes by every writer
    footnote: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    #: the JSON data, or a function that builds it (only the JSON writer calls it: a table of
    #: 10,000 layers need not build their JSON objects too)
    data: dict[str, Any] | Callable[[], dict[str, Any]] = field(default_factory=dict)
    exit_code: int = 0
