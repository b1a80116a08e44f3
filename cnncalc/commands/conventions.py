"""`cnncalc conventions`: what each tool's convention counts, side by side."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .base import Convention, FormatOpt, OutputOpt, app, errors_to_exit, finish


@app.command()
def conventions(
    names: Annotated[Optional[list[Convention]], typer.Argument(
        help="The conventions to show (default: all): cnncalc, torchinfo, fvcore, ptflops, "
        "thop, flopcounter.", show_default=False, metavar="NAME")] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """What each convention counts (bias, batch norm, activations, pooling, adds, softmax, the
    2x), side by side: the rules --convention applies."""
    from ..present.conventions import result

    with errors_to_exit():
        chosen = list(dict.fromkeys(n.value for n in names)) if names else [
            n.value for n in Convention]
        found = result(chosen)
    finish(found, format, output)
