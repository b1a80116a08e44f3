"""`cnncalc compare A B [C ...]`: several specs' totals side by side, with ratios to the first."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..cli import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    Format,
    FormatOpt,
    InputOpt,
    OutputOpt,
    WidthOpt,
    app,
    console,
    errors_to_exit,
    parse_input,
)


@app.command()
def compare(
    specs: Annotated[list[str], typer.Argument(
        help="Two or more specs: files, bundled names (see 'cnncalc specs') or - for stdin. "
        "Ratios are against the first.", show_default=False, metavar="SPEC")],
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    width: WidthOpt = None,
) -> None:
    """Compare specs' params, MACs, FLOPs, activations and memory, with ratios to the first."""
    from ..engine import analyze
    from ..errors import CnnCalcError
    from ..source import load

    with errors_to_exit():
        if len(specs) < 2:
            raise CnnCalcError("compare needs at least two specs (ratios are against the first)")
        if specs.count("-") > 1:
            raise CnnCalcError("standard input (-) can be read only once")
        shape = parse_input(input)
        reports, problems = [], []
        # analyse every spec before failing, so that one run names every invalid spec
        for ref in specs:
            try:
                reports.append(analyze(load(ref), shape, batch, dtype.value))
            except CnnCalcError as exc:
                problems += exc.problems
        if problems:
            raise CnnCalcError(problems)
    emit(reports, format, output, width)


def emit(reports: list, format: Format, output: Path | None, width: int | None) -> None:
    from ..render import compare as view

    handle = open(output, "w", encoding="utf-8") if output else None
    try:
        if format is Format.json:
            print(view.render_json(reports), file=handle or sys.stdout)
        elif format is Format.markdown:
            print(view.render_markdown(reports), file=handle or sys.stdout)
        elif format is Format.csv:
            print(view.render_csv(reports), file=handle or sys.stdout, end="")
        elif format is Format.html:
            print(view.render_html(reports), file=handle or sys.stdout, end="")
        else:
            view.render_table(reports, console(width or (200 if handle else None), handle))
    finally:
        if handle:
            handle.close()
