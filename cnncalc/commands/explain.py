"""`cnncalc explain`: each layer's arithmetic with the numbers filled in."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .base import (
    FormatOpt,
    InputOpt,
    OutputOpt,
    SpecArg,
    VarOpt,
    app,
    errors_to_exit,
    finish,
    load_spec,
    parse_input,
)


@app.command()
def explain(
    spec: SpecArg,
    layer: Annotated[Optional[str], typer.Option(
        "--layer", "-l", metavar="LAYER", help="Only this layer (a name or dotted path; a block "
        "shows all inside it).")] = None,
    input: InputOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Show the arithmetic behind each layer: output size, params, MACs, receptive field."""
    from ..core.engine import analyze
    from ..present.explain import result

    with errors_to_exit():
        report = analyze(load_spec(spec, var), parse_input(input))
        found = result(report, layer)
    finish(found, format, output)
