"""The HTML view: one self-contained file (inline CSS, no scripts, no external assets).

Every piece of text from the spec is escaped; numbers are the terminal table's exact integers.
"""

from __future__ import annotations

from html import escape

from ..budget import CheckResult
from ..report import Report
from .common import summary_lines, table_rows

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; }
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


def _page(title: str, body: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>", f"<style>\n{STYLE}\n</style>", "</head>", "<body>",
        *body, "</body>", "</html>"]) + "\n"


def _table(header: list[str], rows: list[tuple[str, str, list[str]]], left: int) -> list[str]:
    """rows: (row class, style of the first cell, cells)."""
    def cls(i: int) -> str:
        return "" if i < left else ' class="num"'

    out = ["<table>", "<thead><tr>" + "".join(
        f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(header)) + "</tr></thead>",
        "<tbody>"]
    for role, first_style, cells in rows:
        tds = "".join(
            f"<td{cls(i)}{first_style if i == 0 else ''}>{escape(c)}</td>"
            for i, c in enumerate(cells))
        out.append(f'<tr class="{role}">{tds}</tr>')
    return out + ["</tbody>", "</table>"]


def render(report: Report, max_depth: int | None = None) -> str:
    """The report as an HTML page: title, table, summary and conventions."""
    header, rows = table_rows(report, max_depth)
    title = report.spec_name + (f": {report.description}" if report.description else "")
    summary = summary_lines(report)
    body = [f"<h1>{escape(title)}</h1>",
            *_table(header, [(role, f' style="padding-left: {0.8 + 1.2 * depth:.1f}em"'
                              if depth else "", cells)
                             for role, depth, _node, cells in rows], left=1),
            "<ul>", *(f"<li>{escape(line)}</li>" for line in summary[:-1]), "</ul>",
            f'<p class="conventions">{escape(summary[-1])}</p>']
    return _page(f"cnncalc: {report.spec_name}", body)


def render_check(result: CheckResult) -> str:
    """The check result as an HTML page: one table row per spec and limit, and the verdict."""
    from .check import HEADER, check_rows, verdict

    body = ["<h1>cnncalc check</h1>",
            *_table(HEADER, [(status, "", cells) for status, cells in check_rows(result)],
                    left=2),
            f"<p>{escape(verdict(result))}</p>"]
    return _page("cnncalc check", body)
