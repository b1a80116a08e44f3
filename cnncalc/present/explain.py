"""The Result of `cnncalc explain`: each layer's arithmetic, one line per step (a plain table:
lines of text for people, `path`, `kind` and `text` columns for machines)."""

from __future__ import annotations

from ..analyses.explain import explain_nodes
from ..core.report import Report
from ..result import Column, Result, Row, Table

COLUMNS = [Column("path", "path", human=False), Column("kind", "kind", human=False),
           Column("text", "text")]


def result(report: Report, layer: str | None = None) -> Result:
    rows = []
    for path, kind, lines in explain_nodes(report, layer):
        head, *body = lines
        rows.append(Row({"path": path, "kind": kind, "text": head}, role="heading"))
        rows += [Row({"path": path, "kind": kind, "text": line}, role="step", depth=1)
                 for line in body]
    title = f"{report.spec_name}: the arithmetic of every layer" + (
        f" ({layer})" if layer else "")
    return Result("explain", title, [Table("steps", COLUMNS, rows, plain=True)],
                  meta={"spec": report.spec_name, "input": list(report.input_shape)})
