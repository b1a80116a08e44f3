"""`cnncalc memory`: where the bytes go, for inference and for one training step."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

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
    limit: Annotated[Optional[str], typer.Option(
        "--limit", metavar="SIZE", help="A memory size (24GiB, 16GB): the largest batch whose "
        "inference and training step fit in it.")] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Memory breakdown: params, peak inference, one training step, per layer; with --limit,
    the largest batch that fits."""
    from ..core.engine import analyze
    from ..core.units import parse_bytes
    from ..present.memory import result

    with errors_to_exit():
        budget = None if limit is None else parse_bytes(limit, "--limit")
        loaded = load_spec(spec, var)
        report = analyze(loaded, parse_input(input), batch, dtype.value)
        if freeze_until:
            from ..core.freeze import freeze_option

            note = freeze_option(report, freeze_until, loaded)
            if note:
                print(f"cnncalc memory: note: {note}", file=sys.stderr)
        found = result(report, optimizer.value, budget)
    finish(found, format, output)
