"""`cnncalc show`: the per-layer table of one spec, in any format."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .base import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    FreezeUntilOpt,
    InputOpt,
    LevelsOpt,
    OldLevelsOpt,
    OutputOpt,
    SpecArg,
    VarOpt,
    app,
    either,
    errors_to_exit,
    finish,
    load_spec,
    parse_input,
)


@app.command()
def show(
    spec: SpecArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    format: FormatOpt = None,
    levels: LevelsOpt = None,
    output: OutputOpt = None,
    rf: Annotated[bool, typer.Option(
        "--rf", help="Add the receptive field column (size / effective stride / padding).")]
    = False,
    freeze_until: FreezeUntilOpt = None,
    var: VarOpt = None,
    old_levels: OldLevelsOpt = None,
) -> None:
    """Per-layer shapes, parameters and MACs of a spec, with totals and memory."""
    from ..core.engine import analyze
    from ..present.report import result

    with errors_to_exit():
        levels = either(levels, old_levels, "--levels/--depth")
        loaded = load_spec(spec, var)
        report = analyze(loaded, parse_input(input), batch, dtype.value)
        if freeze_until:
            from ..core.freeze import freeze_option

            note = freeze_option(report, freeze_until, loaded)
            if note:
                print(f"cnncalc show: note: {note}", file=sys.stderr)
        found = result(report, levels, rf)
    finish(found, format, output)
