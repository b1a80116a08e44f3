"""The Result of `cnncalc specs`: the bundled specs with their input, params and MACs."""

from __future__ import annotations

from ..core.report import Report
from ..result import Column, Result, Row, Table

#: Params and MACs in SI units in the terminal (`62.4M`), exact elsewhere; the input is left
#: out first on a narrow terminal (the descriptions say it).
COLUMNS = [
    Column("name", "Name", "name"), Column("input", "Input", "shape", drop=1),
    Column("params", "Params", "count", brief=True), Column("macs", "MACs", "count", brief=True),
    Column("description", "Description"),
]


def result(reports: dict[str, Report]) -> Result:
    rows = [Row({"name": name, "input": r.input_shape, "params": r.totals.params,
                 "macs": r.totals.macs, "description": r.description})
            for name, r in reports.items()]
    return Result("specs", "Bundled specs", [Table("specs", COLUMNS, rows)])
