"""The CSV view: a header row, then one row per layer (blocks marked), then the totals row.

Every number is an exact integer, at the report's batch size, as in the JSON report. The `row`
column says what a row is: `layer` (a leaf; the layers add up to the totals), `block` (a
subtotal of the layers under it) or `total`. With `--depth`, collapsed blocks are the deepest
rows shown, so the rows with no shown children add up to the totals.
"""

from __future__ import annotations

import csv
import io

from ..budget import CheckResult
from ..report import Report

COLUMNS = ["row", "path", "name", "kind", "depth", "line", "input_shape", "output_shape",
           "activations", "params", "trainable_params", "frozen_params", "buffers", "macs",
           "flops", "elementwise_ops"]
COUNTS = COLUMNS[8:]


def _shape(shape: list[int]) -> str:
    return "x".join(str(n) for n in shape)


def render(report: Report, max_depth: int | None = None) -> str:
    """The report as CSV text (lines end with `\\n`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for node in report.walk(max_depth):
        d = report.node_dict(node)
        writer.writerow(["block" if node.is_block else "layer", d["path"], d["name"], d["kind"],
                         d["depth"], d["line"], _shape(d["input_shape"]),
                         _shape(d["output_shape"]), *(d[c] for c in COUNTS)])
    t = report.totals_dict()
    writer.writerow(["total", "", "", "", "", "", _shape(list(report.input_shape)), "",
                     *(t[c] for c in COUNTS)])
    return out.getvalue()


CHECK_COLUMNS = ["spec", "file", "budget", "unit", "value", "limit", "share", "baseline",
                 "source", "line", "result"]


def render_check(result: CheckResult) -> str:
    """One row per spec and limit, exact integers; an invalid or unchecked spec gets one row
    with its status in `result`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHECK_COLUMNS)
    for s in result.specs:
        if not s.rows:
            reason = "; ".join(p.format() for p in s.problems)
            writer.writerow([s.name or s.ref, s.file, "", "", "", "", "", "", "", "",
                             f"{s.status}: {reason}" if reason else s.status])
        for r in s.rows:
            writer.writerow([s.name, s.file, r.budget, r.unit, r.value, r.limit,
                             "" if r.share is None else f"{r.share:.6f}",
                             "" if r.baseline is None else r.baseline, r.source,
                             "" if r.line is None else r.line,
                             "pass" if r.passed else "fail"])
    return out.getvalue()
