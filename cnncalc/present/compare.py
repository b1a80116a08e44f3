"""The Result of `cnncalc compare`: several reports' totals side by side, with ratios.

A ratio is always `this spec / the first spec`, for the same metric. In text it reads as a
multiple of the first: `2.19x` (2.19 times the first) or `1/9.68` (the first is 9.68 times
this one: the lecture's bottleneck saving); `1x` is an exact tie. CSV and JSON carry the ratio
as a number (empty / `null` when the first spec's value is 0) next to the exact integers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.layers import fmt_shape
from ..core.report import CONVENTIONS, Report
from ..core.units import binary, exact
from ..result import Column, Result, Row, Table
from .report import totals


@dataclass(frozen=True, slots=True)
class Metric:
    """One compared total: its machine key, its row label, its value and how to print it."""

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


def document(reports: list[Report]) -> dict[str, Any]:
    """The JSON contract of `compare --format json`: exact totals and float ratios."""
    first = reports[0]
    specs = []
    for title, report in zip(labels(reports), reports, strict=True):
        specs.append({
            "name": title,
            "spec": report.spec_name,
            "file": report.file,
            "description": report.description,
            "input": list(report.input_shape),
            "totals": totals(report),
            "ratios": {m.key: ratio(m.value(report), m.value(first)) for m in METRICS},
        })
    return {"baseline": labels(reports)[0], "batch": first.batch, "dtype": first.dtype,
            "conventions": CONVENTIONS, "specs": specs}


#: The line under the table (the JSON's `conventions` holds every rule).
LEGEND = "MACs = multiply-adds, FLOPs = 2 x MACs; every rule: show --explain-counts"


def result(reports: list[Report]) -> Result:
    """One row per metric, one column per spec (its text with the ratio; in CSV its exact
    value and ratio as two columns)."""
    first = reports[0]
    titles = labels(reports)
    columns = [Column("label", "", machine=False), Column("metric", "metric", human=False)]
    for index, title in enumerate(titles):
        columns += [Column(f"{index}:text", title, "count", machine=False),
                    Column(title, title, "count", human=False),
                    Column(f"{title} ratio", f"{title} ratio", "float", human=False)]
    rows = [Row({"label": "input", **{f"{i}:text": fmt_shape(r.input_shape)
                                       for i, r in enumerate(reports)}}, machine=False)]
    for metric in METRICS:
        base = metric.value(first)
        values: dict[str, Any] = {"label": metric.label, "metric": metric.key}
        for index, (title, report) in enumerate(zip(titles, reports, strict=True)):
            value = metric.value(report)
            values[f"{index}:text"] = metric.text(value) + (
                f" ({ratio_text(value, base)})" if index else "")
            values[title] = value
            values[f"{title} ratio"] = ratio(value, base)
        rows.append(Row(values))
    notes = [f"Ratios against {titles[0]}: 2x = twice as much, 1/2 = half. "
             f"Batch {first.batch}, {first.dtype}."]
    return Result("compare", "compare", [Table("metrics", columns, rows, json=False)],
                  notes=notes, footnote=LEGEND, data=document(reports))
