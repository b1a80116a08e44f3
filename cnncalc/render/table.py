"""The terminal view: the lecture's columns (Layer, Activation shape, Activation size,
# Parameters) plus MACs, a totals row, and the summary lines under it.

The per-layer table is laid out here as plain text, not with rich's Table: the column widths
are known from the cells, no number is ever cut, and 100,000 rows take a fraction of a second
(rich's layout would take minutes). On a colour terminal, blocks and totals are bold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ..report import Report
from .common import summary_lines, table_rows

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def lines(report: Report, max_depth: int | None = None, rf: bool = False
          ) -> list[tuple[str, str]]:
    """The table as (role, text) lines; role is title, header, rule, input, layer, block,
    total or blank."""
    header, rows = table_rows(report, max_depth)
    if rf:
        from ..receptive import receptive_fields

        fields = receptive_fields(report)
        header = [*header, "RF size / stride / pad"]
        rows = [(role, depth, node, [*cells, fields[node.path].text() if node is not None
                                     else ("1 / 1 / 0" if role == "input" else "")])
                for role, depth, node, cells in rows]
    cells = [[("  " * depth) + c[0], *c[1:]] for _, depth, _, c in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))
        return "  " + "   ".join((first, *rest))

    rule = " " + "─" * (sum(widths) + 3 * (len(widths) - 1) + 2)
    title = report.spec_name + (f": {report.description}" if report.description else "")
    out = [("title", title), ("blank", ""), ("header", line(header)), ("rule", rule)]
    for (role, _, _, _), values in zip(rows, cells, strict=True):
        if role == "total":
            out.append(("rule", rule))
        out.append((role, line(values)))
    return out


def render(report: Report, out: TextIO, max_depth: int | None = None, rf: bool = False,
           styled: bool = False) -> None:
    """Write the table and the summary to a text stream (bold blocks and totals if styled)."""
    style = {"header": BOLD, "block": BOLD, "total": BOLD, "input": DIM} if styled else {}
    text = []
    for role, content in lines(report, max_depth, rf):
        code = style.get(role)
        text.append(f"{code}{content}{RESET}" if code else content)
    text.append("")
    text.extend(summary_lines(report))
    out.write("\n".join(text) + "\n")
    out.flush()


def print_table(console: Console, table: Table) -> None:
    """Print a rich table, never cutting a number: a narrower console is widened."""
    from rich.console import Console

    needed = table.__rich_measure__(console, console.options.update_width(10**6)).maximum
    if needed > console.width:
        console = Console(file=console.file, width=needed, soft_wrap=False,
                          color_system=console.color_system and "auto",
                          force_terminal=console.is_terminal)
    console.print(table)
