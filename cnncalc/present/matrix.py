"""Matrices as text for `cnncalc conv` and `cnncalc pool`: a title, then the cells in a box,
every number right-aligned and never cut.

Written line by line rather than as a rich table: a 500x500 matrix is a quarter of a million
cells, which rich lays out in tens of seconds.
"""

from __future__ import annotations

from ..analyses.convolve import Matrix, fmt


def box(matrix: Matrix, title: str) -> list[str]:
    """The title line and the boxed matrix."""
    cells = [[fmt(v) for v in row] for row in matrix]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    rule = ["─" * (width + 2) for width in widths]
    lines = [title, "┌" + "┬".join(rule) + "┐"]
    lines += ["│" + "│".join(f" {cell.rjust(width)} " for cell, width in
                             zip(row, widths, strict=True)) + "│" for row in cells]
    lines.append("└" + "┴".join(rule) + "┘")
    return lines
