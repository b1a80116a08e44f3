"""`cnncalc compare A B [C ...]`: several specs' totals side by side, with ratios to the first."""

from __future__ import annotations

from typing import Annotated

import typer

from .base import (
    BatchOpt,
    Convention,
    ConventionOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    InputOpt,
    OutputOpt,
    VarOpt,
    app,
    errors_to_exit,
    finish,
    load_spec,
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
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
    convention: ConventionOpt = Convention.cnncalc,
) -> None:
    """Compare specs' params, MACs, FLOPs, activations and memory, with ratios to the first."""
    from ..core.engine import analyze
    from ..core.variables import parse_vars
    from ..errors import CnnCalcError
    from ..present.compare import result

    with errors_to_exit():
        if len(specs) < 2:
            raise CnnCalcError("compare needs at least two specs (ratios are against the first)")
        if specs.count("-") > 1:
            raise CnnCalcError("standard input (-) can be read only once")
        shape = parse_input(input)
        parse_vars(var)  # a malformed --var is one problem, not one per spec
        reports, problems = [], []
        # analyse every spec before failing, so that one run names every invalid spec
        for ref in specs:
            try:
                reports.append(analyze(load_spec(ref, var), shape, batch, dtype.value))
            except CnnCalcError as exc:
                problems += exc.problems
        if problems:
            raise CnnCalcError(problems)
        counted = None
        if convention.value != "cnncalc":
            from ..analyses.conventions import count

            counted = [count(report, convention.value) for report in reports]
    finish(result(reports, counted), format, output)
