"""`cnncalc fit`: the largest scale of a spec that meets its budget (the spec's `budget:` and the
same `--max-...` options as `cnncalc check`, plus `--max-memory`)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..analyses.scale import MAX_DIVISOR, MAX_RESOLUTION
from .base import (
    BudgetBatchOpt,
    BudgetDtypeOpt,
    FormatOpt,
    MaxActivationMemory,
    MaxFlops,
    MaxMacs,
    MaxParamMemory,
    MaxParams,
    MaxPeakMemory,
    MaxTrainableParams,
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
    max_params: MaxParams = None,
    max_trainable_params: MaxTrainableParams = None,
    max_macs: MaxMacs = None,
    max_flops: MaxFlops = None,
    max_param_memory: MaxParamMemory = None,
    max_activation_memory: MaxActivationMemory = None,
    max_peak_memory: MaxPeakMemory = None,
    max_memory: Annotated[Optional[str], typer.Option(
        "--max-memory", metavar="SIZE", show_default=False,
        help="Limit on memory at the batch and dtype, as `cnncalc memory` counts it: inference "
        "(params + buffers + peak activations), or one training step with --optimizer "
        "(e.g. 100MiB).")] = None,
    optimizer: Annotated[Optional[str], typer.Option(
        "--optimizer", metavar="[sgd|momentum|adam]", show_default=False,
        help="With --max-memory: limit one training step with this optimizer instead of "
        "inference.")] = None,
    by: Annotated[str, typer.Option(
        "--by", metavar="[compound|width|depth|resolution]",
        help="What to scale: compound (phi), width, depth or resolution (pixels).")]
    = "compound",
    start: Annotated[Optional[float], typer.Option(
        "--from", metavar="X", parser=GRID_VALUE,
        help="Smallest value tried (default: compound -4, width/depth 0.25, "
        "resolution 32).")] = None,
    stop: Annotated[Optional[float], typer.Option(
        "--to", metavar="X", parser=GRID_VALUE,
        help="Largest value tried (default: compound 8, width/depth 4, resolution 1024).")]
    = None,
    step: Annotated[Optional[float], typer.Option(
        "--step", metavar="X", parser=number(0, MAX_RESOLUTION, above=True, what="grid step"),
        help="Grid step (default: compound 0.5, width/depth 0.25, "
        "resolution 32).")] = None,
    divisor: Annotated[int, typer.Option(
        "--divisor", metavar="N", parser=number(1, MAX_DIVISOR, integer=True),
        help=f"Scaled channel counts are multiples of this (1 to {MAX_DIVISOR}).")] = 8,
    batch: BudgetBatchOpt = None,
    dtype: BudgetDtypeOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Find the largest scale (compound phi, or one multiplier) that meets every budget: the
    spec's own 'budget:' and the --max-... options, which replace its limits of the same name."""
    from ..analyses import fit as rules
    from ..analyses.budget import budgets_of, cli_limits
    from ..core.source import load_raw, parse
    from ..core.units import parse_bytes
    from ..core.variables import override, parse_vars
    from ..errors import CnnCalcError
    from ..present.fit import result

    with errors_to_exit():
        if by not in rules.SEARCHES:
            raise CnnCalcError(f"--by: cannot search by {by!r}; use one of "
                               f"{', '.join(rules.SEARCHES)}")
        limits = cli_limits({
            "params": max_params, "trainable_params": max_trainable_params, "macs": max_macs,
            "flops": max_flops, "param_memory": max_param_memory,
            "activation_memory": max_activation_memory, "peak_memory": max_peak_memory})
        memory = parse_bytes(max_memory, "--max-memory") if max_memory is not None else None
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
        own = budgets_of(parse(raw, name))  # the spec as written: its errors stop here
        budgets = {key: limit.limit for key, limit in {**own.limits, **limits}.items()}
        if memory is not None:
            budgets["memory"] = memory
        batch = batch or own.batch or 1
        chosen = (dtype.value if dtype is not None else None) or own.dtype or "fp32"
        from .progress import progress

        with progress(f"trying {spec} by {by}", len(points)) as bar:
            tried = rules.search(raw, name, by, points, budgets, batch, chosen, divisor,
                                 bar.advance, optimizer)
    found = result(spec, by, tried, budgets, batch, chosen, tuple(var or ()),
                   name=str(raw["name"]) if isinstance(raw, dict) and "name" in raw else None,
                   optimizer=optimizer)
    if found.exit_code:
        print(f"cnncalc: {found.notes[0][0].lower()}{found.notes[0][1:]}", file=sys.stderr)
    finish(found, format, output)
