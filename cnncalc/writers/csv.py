"""The CSV view: per table a header row of machine keys, then one row per row, exact integers.

A result with several tables writes them one after the other, separated by an empty line.
Text cells and header keys (`compare`'s are spec names) show control characters as escapes
(`cells.machine`, `errors.visible`), so every record is one line;
a record whose first cell would start a GitHub Actions command (`::...`) is written with every
field quoted (the same values).
"""

from __future__ import annotations

import csv
import io

from ..errors import visible
from ..result import Result
from .cells import machine, machine_columns


def write(result: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for index, table in enumerate(result.tables):
        if index:
            out.write("\n")
        columns = machine_columns(table)
        writer.writerow([visible(c.key) for c in columns])  # compare's keys are spec names
        for row in table.rows:
            if row.machine:
                cells = [machine(row.values.get(c.key), c) for c in columns]
                first = cells[0] if cells else ""
                command = isinstance(first, str) and first.lstrip().startswith("::")
                (quoted if command else writer).writerow(cells)
    return out.getvalue()
