"""The terminal view: each table laid out as plain text, then the notes.

Laid out here, not with rich's Table: the column widths come from the cells, no number is ever
cut, and 10,000 rows (the most a spec may have) take a fraction of a second. On a colour
terminal, headers, blocks and totals are bold, the input row dim, failures red.

Text from the input is shown through `errors.visible` (the cells already are: `cells.human`),
and no line starts a GitHub Actions command (`errors.line_start`): the only control characters
written are the newlines between lines and, on a colour terminal, the writer's own styles.
"""

from __future__ import annotations

from ..errors import line_start, visible
from ..result import Result, Table
from .cells import human_cells, human_columns, left

BOLD, DIM, RED, YELLOW, RESET = "\x1b[1m", "\x1b[2m", "\x1b[1;31m", "\x1b[33m", "\x1b[0m"
STYLES = {"header": BOLD, "block": BOLD, "total": BOLD, "input": DIM, "heading": BOLD,
          "fail": RED, "invalid": RED, "unchecked": YELLOW}


def lines(table: Table) -> list[tuple[str, str]]:
    """The table as (role, text) lines: header, rule, then one line per row."""
    if table.plain:
        return [(row.role, "  " * row.depth + "  ".join(c for c in human_cells(table, row) if c))
                for row in table.rows]
    columns = human_columns(table)
    header = [visible(c.title) for c in columns]
    cells = []
    for row in table.rows:
        values = human_cells(table, row)
        if columns and columns[0].type == "name":
            values[0] = "  " * row.depth + values[0]
        cells.append(values)
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        parts = [v.ljust(w) if left(c) else v.rjust(w)
                 for v, w, c in zip(values, widths, columns, strict=True)]
        return ("  " + "   ".join(parts)).rstrip()

    rule = " " + "─" * (sum(widths) + 3 * (len(widths) - 1) + 2)
    out = [("header", line(header)), ("rule", rule)]
    for row, values in zip(table.rows, cells, strict=True):
        if row.role == "total":
            out.append(("rule", rule))
        out.append((row.role, line(values)))
    return out


def write(result: Result, styled: bool = False) -> str:
    """The whole result as terminal text (ANSI styles when `styled`)."""
    out: list[tuple[str, str]] = [("title", visible(result.title)), ("blank", "")]
    for table in result.tables:
        if table.title and table.title != result.title:
            out += [("heading", visible(table.title))]
        out += lines(table)
        out.append(("blank", ""))
    out += [("note", visible(note)) for note in result.notes]
    if result.footnote:
        out.append(("note", visible(result.footnote)))
    while out and out[-1][0] == "blank":
        out.pop()
    text = []
    for role, content in out:
        content = line_start(content)
        code = STYLES.get(role) if styled else None
        text.append(f"{code}{content}{RESET}" if code and content else content)
    return "\n".join(text) + "\n"
