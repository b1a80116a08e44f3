"""`cnncalc conv`: apply a filter to a small matrix, as the lecture does by hand."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from .base import app, console, errors_to_exit


class PadMode(str, Enum):
    zeros = "zeros"
    replicate = "replicate"


@app.command()
def conv(
    input: Annotated[str, typer.Option(
        "--input", "-i", help="The matrix: '3 0 1; 1 5 8; ...' (rows by ; values by spaces "
        "or commas), or a .csv / .yaml file.", show_default=False)],
    filter: Annotated[str, typer.Option(
        "--filter", "-k", help="vertical, horizontal, sobel-vertical, sobel-horizontal, "
        "scharr-vertical, scharr-horizontal, or numbers ('1 0 -1; ...') or a file.")]
    = "vertical",
    padding: Annotated[str, typer.Option(
        "--padding", "-p", help="valid, same or a whole number.")] = "valid",
    pad_mode: Annotated[PadMode, typer.Option(
        "--pad-mode", help="Fill padding with zeros or replicate the edge.")] = PadMode.zeros,
    stride: Annotated[int, typer.Option("--stride", "-s", min=1, help="Stride.")] = 1,
    show_padded: Annotated[bool, typer.Option(
        "--show-padded", help="Also print the padded input.")] = False,
) -> None:
    """Cross-correlate a matrix with a filter (no flip, as the lecture) and print the result."""
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
    out = console()
    top, bottom, left, right = pads
    note = "no padding" if not any(pads) else (
        f"padding {top}" if len(set(pads)) == 1 else
        f"padding top {top}, bottom {bottom}, left {left}, right {right}") + (
        f" ({pad_mode.value})" if any(pads) else "")
    if show_padded:
        padded = pad(x, pads, pad_mode.value)
        _print(out, padded, f"Padded input {len(padded)}x{len(padded[0])} ({note})")
    _print(out, w, f"Filter {len(w)}x{len(w[0])}")
    _print(out, result, f"Output {len(result)}x{len(result[0])}: {len(x)}x{len(x[0])} input, "
           f"{note}, stride {stride}")


def _print(out: object, matrix: list, title: str) -> None:  # type: ignore[type-arg]
    from rich import box
    from rich.table import Table

    from ..analyses.convolve import fmt

    out.print(title, highlight=False, soft_wrap=True)  # type: ignore[attr-defined]
    table = Table(box=box.SQUARE, show_header=False)
    for _ in matrix[0]:
        table.add_column(justify="right", no_wrap=True)
    for row in matrix:
        table.add_row(*(fmt(v) for v in row))
    print_table(out, table)  # type: ignore[arg-type]


def print_table(console: object, table: object) -> None:
    """Print a rich table, never cutting a number: a narrower console is widened."""
    from rich.console import Console

    needed = table.__rich_measure__(  # type: ignore[attr-defined]
        console, console.options.update_width(10**6)).maximum  # type: ignore[attr-defined]
    if needed > console.width:  # type: ignore[attr-defined]
        console = Console(file=console.file, width=needed, soft_wrap=False,  # type: ignore
                          color_system=console.color_system and "auto",  # type: ignore
                          force_terminal=console.is_terminal)  # type: ignore[attr-defined]
    console.print(table)  # type: ignore[attr-defined]
