"""The HTML view: one self-contained page (inline CSS, no scripts, no external assets).

Every piece of text is escaped (HTML's `<`, `>`, `&`, quotes, and control characters shown as
`errors.visible` escapes); numbers are the terminal table's. Plain tables are a `<pre>`.
"""

from __future__ import annotations

import html

from ..errors import line_start, visible
from ..result import Result
from .cells import human_cells, human_columns, left

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; }
h2 { font-size: 1.1em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; white-space: nowrap; }
th { text-align: left; border-bottom: 2px solid #888; }
td.num, th.num { text-align: right; }
tr.block td, tr.total td { font-weight: bold; }
tr.input td { color: #777; }
tr.total td { border-top: 2px solid #888; }
tr.fail td, tr.invalid td { color: #b00020; font-weight: bold; }
tr.unchecked td { color: #8a6d00; }
p.conventions { color: #555; font-size: 0.9em; max-width: 60em; }
""".strip()


def escape(text: str) -> str:
    return html.escape(visible(text))


def write(result: Result) -> str:
    body = [f"<h1>{escape(result.title)}</h1>"]
    for table in result.tables:
        if table.title and table.title != result.title:
            body.append(f"<h2>{escape(table.title)}</h2>")
        if table.plain:
            text = "\n".join("  " * row.depth + "  ".join(c for c in human_cells(table, row) if c)
                             for row in table.rows)
            body.append(f"<pre>{escape(text)}</pre>")
            continue
        columns = human_columns(table)
        num = [' class="num"' if not left(c) else "" for c in columns]
        body += ["<table>", "<thead><tr>" + "".join(
            f"<th{n}>{escape(c.title)}</th>" for c, n in zip(columns, num, strict=True))
            + "</tr></thead>", "<tbody>"]
        indent_first = bool(columns) and columns[0].type == "name"
        for row in table.rows:
            cells = human_cells(table, row)
            tds = []
            for i, (cell, n) in enumerate(zip(cells, num, strict=True)):
                pad = (f' style="padding-left: {0.8 + 1.2 * row.depth:.1f}em"'
                       if i == 0 and indent_first and row.depth else "")
                tds.append(f"<td{n}{pad}>{escape(cell)}</td>")
            role = f' class="{escape(row.role)}"' if row.role else ""
            body.append(f"<tr{role}>{''.join(tds)}</tr>")
        body += ["</tbody>", "</table>"]
    if result.notes:
        body += ["<ul>", *(f"<li>{escape(note)}</li>" for note in result.notes), "</ul>"]
    if result.footnote:
        body.append(f'<p class="conventions">{escape(result.footnote)}</p>')
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>cnncalc: {escape(result.title)}</title>", f"<style>\n{STYLE}\n</style>",
        "</head>", "<body>", *body, "</body>", "</html>"])
    return "\n".join(map(line_start, page.split("\n"))) + "\n"
