"""The markdown view: GitHub-flavoured tables that paste into docs as they are.

Each table with its columns as in the terminal (numbers right-aligned, blocks and totals in bold,
depth shown by `&nbsp;` indentation), the notes as a list and the footnote in italics. Plain
tables (`explain`) are a fenced block.
"""

from __future__ import annotations

from ..errors import line_start, visible
from ..result import Result
from .cells import human_cells, human_columns, left


def escape(text: str) -> str:
    """Cell text that cannot break the table or turn into HTML: `|`, `<`, `>` and `&` escaped,
    control characters shown as escapes (`errors.visible`)."""
    return (visible(text).replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("|", "\\|"))


def write(result: Result) -> str:
    out = [f"### {escape(result.title)}", ""]
    for table in result.tables:
        if table.title and table.title != result.title:
            out += [f"#### {escape(table.title)}", ""]
        if table.plain:
            out.append("```")
            out += ["  " * row.depth + "  ".join(c for c in human_cells(table, row) if c)
                    for row in table.rows]
            out += ["```", ""]
            continue
        columns = human_columns(table)
        out.append("| " + " | ".join(escape(c.title) for c in columns) + " |")
        out.append("| " + " | ".join(":---" if left(c) else "---:" for c in columns) + " |")
        for row in table.rows:
            cells = [escape(c) for c in human_cells(table, row)]
            if columns and columns[0].type == "name":
                cells[0] = "&nbsp;&nbsp;" * row.depth + cells[0]
            if row.role in ("block", "total"):
                cells = [f"**{c}**" if c else c for c in cells]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += [f"- {escape(note)}" for note in result.notes]
    if result.footnote:
        out += ["", f"_{escape(result.footnote)}_"]
    while out and not out[-1]:
        out.pop()
    return "\n".join(map(line_start, out)) + "\n"
