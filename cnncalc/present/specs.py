"""The Result of `cnncalc specs`: the bundled specs with their input, params and MACs."""

from __future__ import annotations

from ..core.report import Report
from ..result import Column, Result, Row, Table

#: On a narrow terminal the description goes under its row (`writers.table`).
COLUMNS = [
    Column("name", "Name", "name"), Column("input", "Input", "shape"),
    Column("params", "Params", "count"), Column("macs", "MACs", "count"),
    Column("description", "Description"),
]


def result(reports: dict[str, Report]) -> Result:
    rows = [Row({"name": name, "input": r.input_shape, "params": r.totals.params,
                 "macs": r.totals.macs, "description": r.description})
            for name, r in reports.items()]
    return Result("specs", "Bundled specs", [Table("specs", COLUMNS, rows)])
