"""`cnncalc resolution`: the network's counts over a sweep of square input sizes."""

from __future__ import annotations

from typing import Annotated

import typer

from .base import FormatOpt, OutputOpt, SpecArg, VarOpt, app, errors_to_exit, finish, load_spec


@app.command()
def resolution(
    spec: SpecArg,
    sweep: Annotated[str, typer.Option(
        "--sweep", metavar="START..STOP:STEP",
        help="Square input sizes START..STOP:STEP (STOP included), e.g. 128..512:32; the "
        "channels are the spec's.")] = "128..512:32",
    size_class: Annotated[str, typer.Option(
        "--class", metavar="divisible|all|HxW",
        help="The input sizes the formulas are for: divisible (by the total stride), all (every "
        "class of H and W modulo it), or the class of one size (224 or 224x320).")
    ] = "divisible",
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """MACs, params and activations per input size and as exact functions of the input height
    and width, the smallest valid input, and the sizes whose windows drop no pixels."""
    from ..analyses import resolution as R
    from ..present.resolution import result
    from .progress import progress

    with errors_to_exit():
        parsed = load_spec(spec, var)
        sizes = R.parse_sweep(sweep)
        which = R.parse_class(size_class)
        with progress(f"{parsed.name} at {len(sizes):,} input sizes", len(sizes)) as bar:
            points = R.sweep(parsed, sizes, bar.advance)
        with progress(f"{parsed.name}: formulas") as bar:
            symbolic = R.formulas(parsed, which, bar.advance)
        found = result(parsed.name, points, R.smallest_input(parsed), parsed.input_shape[-1],
                       symbolic)
    finish(found, format, output)
