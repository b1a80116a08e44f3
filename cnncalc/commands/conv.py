"""`cnncalc conv`: apply a filter to a small matrix, as the course's lecture notes do by hand."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from .base import app, errors_to_exit, number


class PadMode(str, Enum):
    zeros = "zeros"
    replicate = "replicate"


@app.command()
def conv(
    input: Annotated[str, typer.Option(
        "--input", "-i", metavar="MATRIX", help="The matrix: '3 0 1; 1 5 8; ...' (rows by ; "
        "values by spaces or commas), or a .csv / .yaml file.", show_default=False)],
    filter: Annotated[str, typer.Option(
        "--filter", "-k", metavar="FILTER", help="vertical, horizontal, sobel-vertical, "
        "sobel-horizontal, scharr-vertical, scharr-horizontal, or numbers ('1 0 -1; ...') or "
        "a file.")]
    = "vertical",
    padding: Annotated[str, typer.Option(
        "--padding", "-p", metavar="PADDING", help="valid, same or a whole number.")] = "valid",
    pad_mode: Annotated[PadMode, typer.Option(
        "--pad-mode", help="Fill padding with zeros or replicate the edge.")] = PadMode.zeros,
    stride: Annotated[int, typer.Option(
        "--stride", "-s", metavar="N", parser=number(1, 1000, integer=True),
        help="Stride (1 to 1,000).")]
    = 1,
    show_padded: Annotated[bool, typer.Option(
        "--show-padded", help="Also print the padded input.")] = False,
) -> None:
    """Cross-correlate a matrix with a filter (no flip, as the course notes and every framework)
    and print the result."""
    from ..analyses.convolve import convolve, filter_arg, matrix_arg, pad, paddings
    from ..errors import CnnCalcError

    with errors_to_exit():
        try:
            x = matrix_arg(input, "--input")
            w = filter_arg(filter)
            result = convolve(x, w, stride, padding, pad_mode.value)
            pads = paddings(padding, (len(x), len(x[0])), (len(w), len(w[0])), stride)
        except CnnCalcError as exc:  # options, not a spec: say so instead of '<spec>'
            raise exc.located(file="cnncalc conv") from None
    top, bottom, left, right = pads
    note = "no padding" if not any(pads) else (
        f"padding {top}" if len(set(pads)) == 1 else
        f"padding top {top}, bottom {bottom}, left {left}, right {right}") + (
        f" ({pad_mode.value})" if any(pads) else "")
    if show_padded:
        padded = pad(x, pads, pad_mode.value)
        _print(padded, f"Padded input {len(padded)}x{len(padded[0])} ({note})")
    _print(w, f"Filter {len(w)}x{len(w[0])}")
    _print(result, f"Output {len(result)}x{len(result[0])}: {len(x)}x{len(x[0])} input, "
           f"{note}, stride {stride}")


def _print(matrix: list, title: str) -> None:  # type: ignore[type-arg]
    """The title, then the matrix in a box, every number right-aligned and never cut.

    Written line by line rather than as a rich table: a 500x500 matrix is a quarter of a
    million cells, which rich lays out in tens of seconds."""
    from ..analyses.convolve import fmt

    cells = [[fmt(v) for v in row] for row in matrix]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    rule = ["─" * (width + 2) for width in widths]
    lines = [title, "┌" + "┬".join(rule) + "┐"]
    lines += ["│" + "│".join(f" {cell.rjust(width)} " for cell, width in
                             zip(row, widths, strict=True)) + "│" for row in cells]
    lines.append("└" + "┴".join(rule) + "┘")
    sys.stdout.write("\n".join(lines) + "\n")
