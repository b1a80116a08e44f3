"""The markdown view: GitHub-flavoured tables that paste into docs as they are.

A report becomes the terminal table (same columns, the totals row in bold, blocks in bold and
indented with `&nbsp;`), then the summary lines and the conventions line; a check result becomes
one table row per spec and limit.
"""

from __future__ import annotations

from ..budget import CheckResult
from ..report import Report
from .common import summary_lines, table_rows


def escape(text: str) -> str:
    """Cell text that cannot break the table or turn into HTML: `|`, `<`, `>` and `&` escaped."""
    return (text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("|", "\\|").replace("\n", " "))


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    # the first `left` columns hold text, the rest numbers (right-aligned, as in the terminal)
    align = [":---"] * left + ["---:"] * (len(header) - left)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def render(report: Report, max_depth: int | None = None) -> str:
    """The report as a markdown section: title, table, summary, conventions."""
    header, rows = table_rows(report, max_depth)
    body = []
    for role, depth, _node, cells in rows:
        cells = [escape(c) for c in cells]
        cells[0] = "&nbsp;&nbsp;" * depth + cells[0]
        if role in ("block", "total"):
            cells = [f"**{c}**" if c else c for c in cells]
        body.append(cells)
    title = report.spec_name + (f": {report.description}" if report.description else "")
    summary = summary_lines(report)
    out = [f"### {escape(title)}", "", *_table(header, body), ""]
    out += [f"- {escape(line)}" for line in summary[:-1]]
    out += ["", f"_{escape(summary[-1])}_"]
    return "\n".join(out) + "\n"


def render_check(result: CheckResult) -> str:
    """The check result as one markdown table and a one-line verdict."""
    from .check import HEADER, check_rows, verdict

    body = [[escape(c) for c in cells] for _spec, cells in check_rows(result)]
    return "\n".join([*_table(HEADER, body, left=2), "", escape(verdict(result))]) + "\n"
