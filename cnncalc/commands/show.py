"""`cnncalc show`: the per-layer table of one spec, or its JSON report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..cli import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    Format,
    FormatOpt,
    FreezeUntilOpt,
    InputOpt,
    OutputOpt,
    SpecArg,
    app,
    errors_to_exit,
    parse_input,
)


@app.command()
def show(
    spec: SpecArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    format: FormatOpt = Format.table,
    depth: Annotated[Optional[int], typer.Option(
        "--depth", "-d", min=0, help="Collapse blocks deeper than this (0 = top level).")]
    = None,
    output: OutputOpt = None,
    rf: Annotated[bool, typer.Option(
        "--rf", help="Add the receptive field column (size / effective stride / padding).")]
    = False,
    freeze_until: FreezeUntilOpt = None,
) -> None:
    """Per-layer shapes, parameters and MACs of a spec, with totals and memory."""
    from ..engine import analyze
    from ..source import load

    with errors_to_exit():
        report = analyze(load(spec), parse_input(input), batch, dtype.value)
        if freeze_until:
            from ..freeze import freeze_until as freeze

            freeze(report, freeze_until)
    emit(report, format, depth, output, rf)


def emit(report: object, format: Format, depth: int | None, output: Path | None,
         rf: bool = False) -> None:
    handle = open(output, "w", encoding="utf-8") if output else None
    try:
        if format is Format.json:
            from ..render import json as json_view

            print(json_view.render(report), file=handle or sys.stdout)  # type: ignore[arg-type]
        elif format is not Format.table:  # markdown, csv, html: one renderer each
            from ..render import render_report

            text = render_report(report, format.value, max_depth=depth)  # type: ignore[arg-type]
            (handle or sys.stdout).write(text)
        else:
            from ..render import table as table_view

            out = handle or sys.stdout
            styled = handle is None and out.isatty() and "NO_COLOR" not in os.environ \
                and os.environ.get("TERM") != "dumb"
            table_view.render(report, out, depth, rf, styled)  # type: ignore[arg-type]
    finally:
        if handle:
            handle.close()
