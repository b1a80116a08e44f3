"""`cnncalc memory`: where the bytes go, for inference and for one training step."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from .base import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    FreezeUntilOpt,
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


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


@app.command()
def memory(
    spec: SpecArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    optimizer: Annotated[Optimizer, typer.Option(
        "--optimizer", help="Optimizer state per trainable param: sgd 0, momentum 1, adam 2.")]
    = Optimizer.sgd,
    freeze_until: FreezeUntilOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Memory breakdown: params, activations, peak inference and one training step."""
    from ..core.engine import analyze
    from ..present.memory import result

    with errors_to_exit():
        loaded = load_spec(spec, var)
        report = analyze(loaded, parse_input(input), batch, dtype.value)
        if freeze_until:
            from ..core.freeze import freeze_option

            note = freeze_option(report, freeze_until, loaded)
            if note:
                print(f"cnncalc memory: note: {note}", file=sys.stderr)
        found = result(report, optimizer.value)
    finish(found, format, output)
