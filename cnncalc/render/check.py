"""Views of a `cnncalc check` result shared by the formats: the row text, the terminal table and
the JSON document. Markdown, CSV and HTML take their rows from `check_rows`."""

from __future__ import annotations

import json

from rich import box
from rich.console import Console
from rich.table import Table

from ..budget import CheckResult, Row
from ..units import binary, exact

HEADER = ["Spec", "Budget", "Value", "Limit", "Used", "Result"]


def amount(unit: str, n: int) -> str:
    """Counts exact (`5,288,548`); bytes in binary units (`20.2 MiB`), exact below 1 KiB."""
    return binary(n) if unit == "bytes" else exact(n)


def used(row: Row) -> str:
    return "-" if row.share is None else f"{row.share:.1%}"


def check_rows(result: CheckResult, detail: bool = True) -> list[tuple[str, list[str]]]:
    """(status, cells) per row: one per spec and limit; one row for an invalid or unchecked spec
    (with its first problem when `detail`; the terminal leaves that to the lines on stderr).

    A baseline row shows the baseline as its limit's origin: `params vs baseline` with the limit
    `floor(baseline x (1 + growth))`.
    """
    rows = []
    for s in result.specs:
        name = s.name or s.ref
        if s.status == "invalid":
            first = s.problems[0].message if s.problems else ""
            more = f" (+{len(s.problems) - 1} more)" if len(s.problems) > 1 else ""
            text = (f"INVALID: {first}{more}" if detail else
                    f"INVALID ({len(s.problems)} problem{'s' if len(s.problems) != 1 else ''})")
            rows.append(("invalid", [name, "", "", "", "", text]))
        elif s.status == "unchecked":
            rows.append(("unchecked", [name, "", "", "", "", "nothing checked (no budget)"]))
        for r in s.rows:
            label = r.label
            if r.baseline is not None:
                label += f" {exact(r.baseline)} +{float(r.growth or 0):.1%}"
            rows.append(("pass" if r.passed else "fail", [
                name, label, amount(r.unit, r.value), amount(r.unit, r.limit), used(r),
                "pass" if r.passed else "FAIL"]))
    return rows


def verdict(result: CheckResult) -> str:
    """One line: how many specs passed, failed, were invalid or had nothing to check."""
    counts: dict[str, int] = {}
    for s in result.specs:
        counts[s.status] = counts.get(s.status, 0) + 1
    parts = [f"{counts[k]} {word}" for k, word in (
        ("pass", "passed"), ("fail", "over budget"), ("invalid", "invalid"),
        ("unchecked", "with nothing checked")) if counts.get(k)]
    n = len(result.specs)
    text = f"{n} spec{'s' if n != 1 else ''}: {', '.join(parts) or 'none'}"
    return text + f" (exit {result.exit_code})"


def build(result: CheckResult) -> Table:
    table = Table(title="cnncalc check", box=box.SIMPLE_HEAD, title_justify="left")
    for i, head in enumerate(HEADER):
        table.add_column(head, justify="right" if 2 <= i <= 4 else "left", no_wrap=True)
    style = {"fail": "bold red", "invalid": "bold red", "unchecked": "yellow", "pass": None}
    for status, cells in check_rows(result, detail=False):
        table.add_row(*cells, style=style[status])
    return table


def render_table(result: CheckResult, console: Console) -> None:
    from .table import print_table

    print_table(console, build(result))
    console.print(verdict(result), highlight=False, soft_wrap=True)


def render_json(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), indent=2)
