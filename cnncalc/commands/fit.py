"""`cnncalc fit`: the largest scale of a spec that meets a budget of MACs, params or memory."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..analyses.scale import MAX_DIVISOR, MAX_RESOLUTION
from .base import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    OutputOpt,
    SpecArg,
    VarOpt,
    app,
    errors_to_exit,
    finish,
    number,
)

#: --from and --to are finite and within the widest range of any search; `fit.check_grid`
#: narrows it to the search's own (phi, a multiplier, pixels).
GRID_VALUE = number(-MAX_RESOLUTION, MAX_RESOLUTION, what="grid value")


@app.command()
def fit(
    spec: SpecArg,
    max_macs: Annotated[Optional[str], typer.Option(
        "--max-macs", help="Most multiply-accumulates per batch: 400M, 1G, 1.5G.")] = None,
    max_params: Annotated[Optional[str], typer.Option(
        "--max-params", help="Most parameters: 5M, 800k.")] = None,
    max_memory: Annotated[Optional[str], typer.Option(
        "--max-memory", help="Most memory at the batch and dtype, as `cnncalc memory` counts "
        "it: inference (params + buffers + peak activations), or one training step with "
        "--optimizer: 100MiB, 1GB.")] = None,
    optimizer: Annotated[Optional[str], typer.Option(
        "--optimizer", help="With --max-memory: limit one training step with this optimizer "
        "(sgd, momentum, adam) instead of inference.")] = None,
    by: Annotated[str, typer.Option(
        "--by", help="What to scale: compound (phi), width, depth or resolution (pixels).")]
    = "compound",
    start: Annotated[Optional[float], typer.Option(
        "--from", parser=GRID_VALUE,
        help="Smallest value tried (default: compound -4, width/depth 0.25, "
        "resolution 32).")] = None,
    stop: Annotated[Optional[float], typer.Option(
        "--to", parser=GRID_VALUE, help="Largest value tried (default: compound 8, width/depth 4, "
        "resolution 1024).")] = None,
    step: Annotated[Optional[float], typer.Option(
        "--step", parser=number(0, MAX_RESOLUTION, above=True, what="grid step"),
        help="Grid step (default: compound 0.5, width/depth 0.25, "
        "resolution 32).")] = None,
    divisor: Annotated[int, typer.Option(
        "--divisor", parser=number(1, MAX_DIVISOR, integer=True),
        help=f"Scaled channel counts are multiples of this (1 to {MAX_DIVISOR}).")] = 8,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Find the largest scale (compound phi, or one multiplier) that meets every budget."""
    from ..analyses import fit as rules
    from ..core.source import load_raw
    from ..core.units import parse_bytes, parse_count
    from ..core.variables import override, parse_vars
    from ..errors import CnnCalcError
    from ..present.fit import result

    with errors_to_exit():
        if by not in rules.SEARCHES:
            raise CnnCalcError(f"--by: cannot search by {by!r}; use one of "
                               f"{', '.join(rules.SEARCHES)}")
        budgets = {}
        if max_macs is not None:
            budgets["macs"] = parse_count(max_macs, "--max-macs")
        if max_params is not None:
            budgets["params"] = parse_count(max_params, "--max-params")
        if max_memory is not None:
            budgets["memory"] = parse_bytes(max_memory, "--max-memory")
        if optimizer is not None:
            from ..analyses.memory import check_optimizer

            check_optimizer(optimizer)
            if max_memory is None:
                raise CnnCalcError("--optimizer applies to --max-memory; give both")
        default = rules.SEARCHES[by]
        bounds = (default[0] if start is None else start, default[1] if stop is None else stop,
                  default[2] if step is None else step)
        rules.check_grid(by, *bounds)
        points = rules.grid(*bounds)
        values = parse_vars(var)
        name, raw = load_raw(spec)
        raw = override(raw, values, name)
        from .progress import progress

        with progress(f"trying {spec} by {by}", len(points)) as bar:
            tried = rules.search(raw, name, by, points, budgets, batch, dtype.value, divisor,
                                 bar.advance, optimizer)
    found = result(spec, by, tried, budgets, batch, dtype.value, tuple(var or ()),
                   name=str(raw["name"]) if isinstance(raw, dict) and "name" in raw else None,
                   optimizer=optimizer)
    if found.exit_code:
        print(f"cnncalc: {found.notes[0][0].lower()}{found.notes[0][1:]}", file=sys.stderr)
    finish(found, format, output)
