"""`cnncalc explain`: each layer's arithmetic with the numbers filled in."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..cli import InputOpt, SpecArg, app, errors_to_exit, parse_input


@app.command()
def explain(
    spec: SpecArg,
    layer: Annotated[Optional[str], typer.Option(
        "--layer", "-l", help="Only this layer (a name or dotted path; a block shows all "
        "inside it).")] = None,
    input: InputOpt = None,
) -> None:
    """Show the arithmetic behind each layer: output size, params, MACs, receptive field."""
    from ..engine import analyze
    from ..explain import explain as explain_lines
    from ..source import load

    with errors_to_exit():
        report = analyze(load(spec), parse_input(input))
        lines = explain_lines(report, layer)
    print("\n".join(lines))
