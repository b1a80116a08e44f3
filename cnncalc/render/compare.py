"""The view of `cnncalc compare`: several finished Reports' totals side by side, with ratios.

A ratio is always `this spec / the first spec`, for the same metric. In text it reads as a
multiple of the first: `2.19x` (2.19 times the first) or `1/9.68` (the first is 9.68 times
this one: the lecture's bottleneck saving); `1x` is an exact tie. JSON carries the ratio as a
float (`null` when the first spec's value is 0) next to the exact integers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table

from ..layers import fmt_shape
from ..report import CONVENTIONS, Report
from ..units import binary, exact


@dataclass(frozen=True, slots=True)
class Metric:
    """One compared total: its JSON key, its row label, its value and how to print it."""

    key: str
    label: str
    value: Callable[[Report], int]
    text: Callable[[int], str] = exact


#: The compared totals, in row order. Activations, MACs and FLOPs are at the report's batch.
METRICS: tuple[Metric, ...] = (
    Metric("params", "params", lambda r: r.totals.params),
    Metric("trainable_params", "trainable params", lambda r: r.totals.trainable_params),
    Metric("macs", "MACs", lambda r: r.macs(r.totals)),
    Metric("flops", "FLOPs", lambda r: r.flops(r.totals)),
    Metric("activations", "activations", lambda r: r.activations(r.totals)),
    Metric("param_bytes", "param memory", lambda r: r.param_bytes, binary),
)


def ratio(value: int, base: int) -> float | None:
    """`value / base`; None when the base is 0 (no multiple of nothing)."""
    if base == 0:
        return None
    return value / base


def ratio_text(value: int, base: int) -> str:
    """`2.19x`, `1/9.68`, `1x` (equal), `0x`, or `n/a` when the base is 0."""
    if base == 0:
        return "1x" if value == 0 else "n/a"
    if value == base:
        return "1x"
    if value == 0:
        return "0x"
    factor = value / base
    if factor >= 1:
        return f"{_figure(factor)}x"
    return f"1/{_figure(1 / factor)}"


def _figure(x: float) -> str:
    # two decimals reads like the lecture's "about 9.7x"; large factors need no decimals
    return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"


def labels(reports: list[Report]) -> list[str]:
    """Column titles: the spec names, numbered when the same spec appears twice."""
    seen: dict[str, int] = {}
    out = []
    for report in reports:
        seen[report.spec_name] = seen.get(report.spec_name, 0) + 1
        count = seen[report.spec_name]
        out.append(report.spec_name if count == 1 else f"{report.spec_name} ({count})")
    return out


def rows(reports: list[Report]) -> list[list[str]]:
    """The table as text cells, header first: one row per metric, one column per spec."""
    first = reports[0]
    table = [["", *labels(reports)]]
    table.append(["input", *(fmt_shape(r.input_shape) for r in reports)])
    for metric in METRICS:
        base = metric.value(first)
        cells = [metric.text(base)]
        for report in reports[1:]:
            value = metric.value(report)
            cells.append(f"{metric.text(value)} ({ratio_text(value, base)})")
        table.append([metric.label, *cells])
    return table


def footer(reports: list[Report]) -> list[str]:
    first = reports[0]
    return [
        f"Ratios against {labels(reports)[0]}: 2x = twice as much, 1/2 = half. "
        f"Batch {first.batch}, {first.dtype}.",
        f"Counted: {CONVENTIONS}.",
    ]


def render_table(reports: list[Report], console: Console) -> None:
    """The terminal view."""
    from .table import print_table

    cells = rows(reports)
    table = Table(title="compare", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("", no_wrap=True)
    for title in cells[0][1:]:
        table.add_column(title, justify="right", no_wrap=True)
    for row in cells[1:]:
        table.add_row(*row)
    print_table(console, table)
    for line in footer(reports):
        console.print(line, highlight=False, soft_wrap=True)


def render_markdown(reports: list[Report]) -> str:
    """A GitHub-flavoured markdown table, numbers right-aligned."""
    cells = rows(reports)

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    out = [line(cells[0]), "| --- |" + " ---: |" * (len(cells[0]) - 1)]
    out += [line(row) for row in cells[1:]]
    out += [""] + footer(reports)
    return "\n".join(out)


def to_dict(reports: list[Report]) -> dict[str, object]:
    """The JSON document of `compare --format json`: exact totals and float ratios."""
    from .. import __version__

    first = reports[0]
    specs = []
    for title, report in zip(labels(reports), reports, strict=True):
        specs.append({
            "name": title,
            "spec": report.spec_name,
            "file": report.file,
            "description": report.description,
            "input": list(report.input_shape),
            "totals": report.totals_dict(),
            "ratios": {m.key: ratio(m.value(report), m.value(first)) for m in METRICS},
        })
    return {
        "cnncalc": __version__,
        "baseline": labels(reports)[0],
        "batch": first.batch,
        "dtype": first.dtype,
        "conventions": CONVENTIONS,
        "specs": specs,
    }


def render_json(reports: list[Report]) -> str:
    return json.dumps(to_dict(reports), indent=2)


def render_csv(reports: list[Report]) -> str:
    """CSV: one row per metric; per spec its exact value and its ratio to the first."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    titles = labels(reports)
    writer.writerow(["metric", *(c for t in titles for c in (t, f"{t} ratio"))])
    first = reports[0]
    for metric in METRICS:
        base = metric.value(first)
        cells: list[object] = []
        for report in reports:
            value = metric.value(report)
            share = ratio(value, base)
            cells += [value, "" if share is None else f"{share:.6g}"]
        writer.writerow([metric.key, *cells])
    return buffer.getvalue()


def render_html(reports: list[Report]) -> str:
    """One self-contained HTML page with the comparison table and its footer."""
    from html import escape

    from .html import _page, _table

    cells = rows(reports)
    body = ["<h1>cnncalc compare</h1>",
            *_table(cells[0], [("layer", "", row) for row in cells[1:]], left=1),
            *(f'<p class="conventions">{escape(line)}</p>' for line in footer(reports))]
    return _page("cnncalc compare", body)
