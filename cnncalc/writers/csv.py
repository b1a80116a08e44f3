"""The CSV view: per table a header row of machine keys, then one row per row, exact integers.

A result with several tables writes them one after the other, separated by an empty line.
"""

from __future__ import annotations

import csv
import io

from ..result import Result
from .cells import machine, machine_columns


def write(result: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for index, table in enumerate(result.tables):
        if index:
            out.write("\n")
        columns = machine_columns(table)
        writer.writerow([c.key for c in columns])
        for row in table.rows:
            if row.machine:
                writer.writerow([machine(row.values.get(c.key), c) for c in columns])
    return out.getvalue()
