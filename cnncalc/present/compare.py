"""The Result of `cnncalc compare`: several reports' totals side by side, with ratios.

A ratio is always `this spec / the first spec`, for the same metric. In text it reads as a
multiple of the first: `2.19x` (2.19 times the first) or `1/9.68` (the first is 9.68 times
this one: the lecture's bottleneck saving); `1x` is an exact tie. CSV and JSON carry the ratio
as a number (empty / `null` when the first spec's value is 0) next to the exact integers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.layers import fmt_shape
from ..core.report import CONVENTIONS, Report
from ..core.units import binary, exact
from ..result import Column, Result, Row, Table
from .report import convention_meta, convention_values, totals

if TYPE_CHECKING:
    from ..analyses.conventions import Counted


@dataclass(frozen=True, slots=True)
class Metric:
    """One compared total: its machine key, its row label, its value and how to print it;
    `counted`: the value in a peer convention (None: the same as cnncalc's)."""

    key: str
    label: str
    value: Callable[[Report], int]
    text: Callable[[int], str] = exact
    counted: Callable[[Report, Counted], int] | None = None


def _params(key: str) -> Callable[[Report, Counted], int]:
    # FlopCounterMode reports no params: cnncalc's stand in
    return lambda r, c: (convention_values(c)[key] if c.convention.has_params
                         else getattr(r.totals, key))


#: The compared totals, in row order. Activations, MACs and FLOPs are at the report's batch.
#: In a peer convention, params and trainable params are the tool's, MACs its number in
#: multiply-adds (FlopCounterMode's FLOPs halved) and FLOPs twice that.
METRICS: tuple[Metric, ...] = (
    Metric("params", "params", lambda r: r.totals.params, counted=_params("params")),
    Metric("trainable_params", "trainable params", lambda r: r.totals.trainable_params,
           counted=_params("trainable_params")),
    Metric("macs", "MACs", lambda r: r.macs(r.totals),
           counted=lambda r, c: convention_values(c)["macs"]),
    Metric("flops", "FLOPs", lambda r: r.flops(r.totals),
           counted=lambda r, c: 2 * convention_values(c)["macs"]),
    Metric("activations", "activations", lambda r: r.activations(r.totals)),
    Metric("param_bytes", "param memory", lambda r: r.param_bytes, binary),
)


def value_of(metric: Metric, report: Report, counted: Counted | None) -> int:
    """The metric's value, in the peer convention when one counted the report."""
    if counted is not None and metric.counted is not None:
        return metric.counted(report, counted)
    return metric.value(report)


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


def document(reports: list[Report], counted: list[Counted] | None = None) -> dict[str, Any]:
    """The JSON contract of `compare --format json`: exact totals and float ratios (in a peer
    convention: each spec's `totals.convention` too, and the ratios of its numbers)."""
    first = reports[0]
    views = counted or [None] * len(reports)
    specs = []
    for title, report, view in zip(labels(reports), reports, views, strict=True):
        sums = totals(report)
        if view is not None:
            sums["convention"] = convention_values(view)
        specs.append({
            "name": title,
            "spec": report.spec_name,
            "file": report.file,
            "description": report.description,
            "input": list(report.input_shape),
            "totals": sums,
            "ratios": {m.key: ratio(value_of(m, report, view), value_of(m, first, views[0]))
                       for m in METRICS},
        })
    return {"baseline": labels(reports)[0], "batch": first.batch, "dtype": first.dtype,
            "conventions": CONVENTIONS, "convention": convention_meta(views[0]),
            "specs": specs}


#: The line under the table (the JSON's `conventions` holds every rule).
LEGEND = "MACs = multiply-adds, FLOPs = 2 x MACs; every rule: show --explain-counts"


def result(reports: list[Report], counted: list[Counted] | None = None) -> Result:
    """One row per metric, one column per spec (its text with the ratio; in CSV its exact
    value and ratio as two columns); `counted`: each report in a peer convention."""
    first = reports[0]
    views = counted or [None] * len(reports)
    name = views[0].convention.name if views[0] is not None else None
    titles = labels(reports)
    columns = [Column("label", "", machine=False), Column("metric", "metric", human=False)]
    for index, title in enumerate(titles):
        columns += [Column(f"{index}:text", title, "count", machine=False),
                    Column(title, title, "count", human=False),
                    Column(f"{title} ratio", f"{title} ratio", "float", human=False)]
    rows = [Row({"label": "input", **{f"{i}:text": fmt_shape(r.input_shape)
                                       for i, r in enumerate(reports)}}, machine=False)]
    for metric in METRICS:
        base = value_of(metric, first, views[0])
        label = metric.label
        if name is not None and metric.counted is not None:
            label += f" ({name})"
        values: dict[str, Any] = {"label": label, "metric": metric.key}
        for index, (title, report, view) in enumerate(zip(titles, reports, views,
                                                          strict=True)):
            value = value_of(metric, report, view)
            values[f"{index}:text"] = metric.text(value) + (
                f" ({ratio_text(value, base)})" if index else "")
            values[title] = value
            values[f"{title} ratio"] = ratio(value, base)
        rows.append(Row(values))
    notes = [f"Ratios against {titles[0]}: 2x = twice as much, 1/2 = half. "
             f"Batch {first.batch}, {first.dtype}."]
    footnote = LEGEND
    if views[0] is not None:
        chosen = views[0].convention
        notes.append(f"Params and MACs as {chosen.name} counts them: MACs = its {chosen.number}"
                     + (" halved" if chosen.per_mac == 2 else "") + ", FLOPs = 2 x MACs"
                     + ("; params are cnncalc's (it reports none)" if not chosen.has_params
                        else ""))
        footnote = f"Counted as {chosen.name} counts ({chosen.tool}): {chosen.summary}"
    return Result("compare", "compare", [Table("metrics", columns, rows, json=False)],
                  notes=notes, footnote=footnote, data=document(reports, counted))
