"""What a command found, in one neutral shape that every writer takes.

A Result is a title, tables of typed columns, notes, and metadata. Writers (`cnncalc.writers`,
one module per format) know formats, never commands: a command builds its Result
(`cnncalc.present`) and `writers.emit` writes it as a table, markdown, CSV, JSON or HTML.

Columns are typed so that each format shows a value its own way: a `count` is `62,006` in a
table and `62006` in CSV and JSON; a `shape` is `28x28x6` in a table, `28x28x6` in CSV and
`[28, 28, 6]` in JSON. `human` columns appear in table, markdown and HTML; `machine` columns in
CSV and JSON. Where a command has a documented JSON contract of its own (`show`, `compare`,
`check`, `memory`), its Result carries that document in `data`, and its tables say `json=False`.

A Result about one network also carries its `Network`: the rows as boxes and the data flow
between them as edges (`present.network` builds it), for the writers that draw (mermaid, the
HTML report's diagram). A writer that draws refuses a Result without one.
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
    #: how readily a narrow terminal leaves the column out (highest first, with a note saying
    #: so); 0: never
    drop: int = 0


@dataclass(slots=True)
class Row:
    """One row: values by column key (a missing key is an empty cell); `role` is a style hint
    (input, layer, block, total, pass, fail, invalid, unchecked, heading, step)."""

    values: dict[str, Any]
    role: str = ""
    depth: int = 0
    #: False for rows people read but machines do not need (a table's `input` row)
    machine: bool = True
    #: one of the costliest rows (by the table's measure): writers may highlight it
    hot: bool = False


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
    #: the network the result is about (or a function that builds it), for the writers that
    #: draw it
    network: Network | Callable[[], Network] | None = None
    #: charts of a sweep (`fit`), drawn by the writers that draw (HTML)
    plots: list[Plot] = field(default_factory=list)

    def drawing(self) -> Network | None:
        """The network to draw, built on first use; None for a result about no one network."""
        if callable(self.network):
            self.network = self.network()
        return self.network


@dataclass(slots=True)
class Plot:
    """One measure against the value swept: the points (x, y, and whether the point meets the
    budget) in order, and the budget's limit as a line."""

    title: str
    x_label: str
    y_label: str
    points: list[tuple[float, int, bool]]
    limit: int | None = None
    #: how the y values read: `count` (SI units) or `bytes` (binary units)
    unit: str = "count"


@dataclass(slots=True)
class Unit:
    """One box of a network drawing: a layer, or a block (drawn as a box of its own when
    `children` is None, else as a frame around its children)."""

    id: str
    label: str
    kind: str
    shape: str
    params: int = 0
    macs: int = 0
    block: bool = False
    #: the units inside an expanded block, in order; None for a box
    children: list[Unit] | None = None
    output: bool = False
    training_only: bool = False


@dataclass(slots=True)
class Network:
    """A network as boxes and arrows: the top-level units (blocks hold theirs), the edges between
    drawn boxes (`input` is the network's input), in data-flow order, and the output boxes.
    `totals` are the network's MACs and params (for shares)."""

    name: str
    input_shape: str
    units: list[Unit]
    edges: list[tuple[str, str]]
    macs: int = 0
    params: int = 0

    def boxes(self) -> list[Unit]:
        """Every unit drawn as a box (no expanded block), in order."""
        out: list[Unit] = []
        stack = list(reversed(self.units))
        while stack:
            unit = stack.pop()
            if unit.children is None:
                out.append(unit)
            else:
                stack.extend(reversed(unit.children))
        return out

    def levels(self) -> int:
        """How deeply units nest: 1 when every unit is a box at the top level."""
        def depth(units: list[Unit]) -> int:
            return 1 + max((depth(u.children) for u in units if u.children), default=0)
        return depth(self.units)

    def collapsed(self, depth: int) -> Network:
        """The network with every block at nesting `depth` (0: the top level) drawn as one
        box: each edge taken to the boxes at its ends, edges inside one box left out."""
        owner: dict[str, str] = {"input": "input"}

        def fold(units: list[Unit], level: int) -> list[Unit]:
            out = []
            for unit in units:
                if unit.children is not None and level >= depth:
                    stack = list(unit.children)
                    while stack:
                        inner = stack.pop()
                        owner[inner.id] = unit.id
                        stack.extend(inner.children or ())
                    out.append(Unit(unit.id, unit.label, unit.kind, unit.shape, unit.params,
                                    unit.macs, True, None, unit.output, unit.training_only))
                else:
                    children = (None if unit.children is None
                                else fold(unit.children, level + 1))
                    out.append(Unit(unit.id, unit.label, unit.kind, unit.shape, unit.params,
                                    unit.macs, unit.block, children, unit.output,
                                    unit.training_only))
                owner.setdefault(unit.id, unit.id)
            return out

        units = fold(self.units, 0)
        edges: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for a, b in self.edges:
            edge = (owner.get(a, a), owner.get(b, b))
            if edge[0] != edge[1] and edge not in seen:
                seen.add(edge)
                edges.append(edge)
        return Network(self.name, self.input_shape, units, edges, self.macs, self.params)

    def top_level(self) -> tuple[list[Unit], list[tuple[str, str]]]:
        """The top-level units as boxes, and the edges between them."""
        top = self.collapsed(0)
        return top.units, top.edges
