"""`cnncalc fit`: the largest scale of a spec that meets a budget of MACs, params or memory."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..cli import BatchOpt, Dtype, DtypeOpt, SpecArg, app, console, errors_to_exit

EXIT_NOTHING_FITS = 1


@app.command()
def fit(
    spec: SpecArg,
    max_macs: Annotated[Optional[str], typer.Option(
        "--max-macs", help="Most multiply-accumulates per batch: 400M, 1G, 1.5G.")] = None,
    max_params: Annotated[Optional[str], typer.Option(
        "--max-params", help="Most parameters: 5M, 800k.")] = None,
    max_memory: Annotated[Optional[str], typer.Option(
        "--max-memory", help="Most memory, params + buffers + activations at the batch "
        "and dtype: 100MiB, 1GB.")] = None,
    by: Annotated[str, typer.Option(
        "--by", help="What to scale: compound (phi), width, depth or resolution (pixels).")]
    = "compound",
    start: Annotated[Optional[float], typer.Option(
        "--from", help="Smallest value tried (default: compound -4, width/depth 0.25, "
        "resolution 32).")] = None,
    stop: Annotated[Optional[float], typer.Option(
        "--to", help="Largest value tried (default: compound 8, width/depth 4, "
        "resolution 1024).")] = None,
    step: Annotated[Optional[float], typer.Option(
        "--step", help="Grid step (default: compound 0.5, width/depth 0.25, "
        "resolution 32).")] = None,
    divisor: Annotated[int, typer.Option(
        "--divisor", min=1, help="Scaled channel counts are multiples of this.")] = 8,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
) -> None:
    """Find the largest scale (compound phi, or one multiplier) that meets every budget."""
    from .. import scale as rules
    from ..errors import CnnCalcError
    from ..source import load_raw
    from ..units import parse_bytes, parse_count

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
        default = rules.SEARCHES[by]
        points = rules.grid(default[0] if start is None else start,
                            default[1] if stop is None else stop,
                            default[2] if step is None else step)
        name, raw = load_raw(spec)
        tried = rules.search(raw, name, by, points, budgets, batch, dtype.value, divisor)
    _render(spec, by, tried, budgets, batch, dtype.value)
    best = rules.winner(tried)
    if best is None:
        first = next((c for c in tried if c.error is None), None)
        if first is None:
            reason = "no candidate could be built (see the errors above)"
        else:
            reason = (f"the smallest, {by} {_value(by, first.value)}, already needs "
                      + ", ".join(f"{_amount(k, getattr(first, k))} {_LABEL[k]} > "
                                  f"{_amount(k, budgets[k])}" for k in first.over))
        print(f"cnncalc: nothing on the grid meets the budget: {reason}. Lower --from, "
              "or relax a budget.", file=sys.stderr)
        raise typer.Exit(code=EXIT_NOTHING_FITS)
    s = best.scaling
    command = [f"cnncalc scale {spec}"]
    if s.phi is not None:
        command.append(f"--phi {s.phi:g}")
    elif s.width != 1:
        command.append(f"--width {rules.multiplier(s.width)}")
    if s.phi is None and s.depth != 1:
        command.append(f"--depth {rules.multiplier(s.depth)}")
    if s.phi is None and s.resolution is not None:
        h, w = s.resolution
        command.append(f"--resolution {h}" if h == w else f"--resolution {h}x{w}")
    if s.divisor != 8:
        command.append(f"--divisor {s.divisor}")
    print(f"Largest that fits: {by} {_value(by, best.value)} ({s.describe()}): "
          f"{best.params:,} params, {best.macs:,} MACs, {_amount('memory', best.memory)}")
    print(f"Reproduce: {' '.join(command)}" if len(command) > 1
          else "Reproduce: the spec as it is")


_LABEL = {"params": "params", "macs": "MACs", "memory": "of memory"}


def _value(by: str, value: float) -> str:
    return f"{int(value)}" if by == "resolution" else f"{value:g}"


def _amount(kind: str, n: int) -> str:
    from ..units import binary, si

    return binary(n) if kind == "memory" else si(n, 2)


def _render(name: str, by: str, tried: list, budgets: dict, batch: int, dtype: str) -> None:
    """The candidates as a table: multipliers, totals and the verdict of each."""
    from rich.table import Table

    from ..scale import multiplier
    from ..units import binary

    limits = ", ".join(f"{_LABEL[k].removeprefix('of ')} <= {_amount(k, v)}"
                       for k, v in budgets.items())
    out = console(width=200)
    out.print(f"fit {name} by {by}: {limits} (batch {batch}, {dtype})", highlight=False)
    table = Table(box=None, pad_edge=False)
    columns = ("phi",) if by == "compound" else ()
    for column in (*columns, "width", "depth", "input", "params", "MACs", "memory", "verdict"):
        table.add_column(column, justify="left" if column == "verdict" else "right")
    for c in tried:
        s = c.scaling
        first = (_value(by, c.value),) if by == "compound" else ()
        res = f"{s.resolution[0]}x{s.resolution[1]}" if s.resolution else "as written"
        row = (*first, multiplier(s.width), multiplier(s.depth), res)
        if c.error is not None:
            table.add_row(*row, "", "", "", f"invalid: {c.error}")
            continue
        verdict = "fits" if c.fits else "over: " + ", ".join(_LABEL[k].removeprefix("of ")
                                                             for k in c.over)
        table.add_row(*row, f"{c.params:,}", f"{c.macs:,}", binary(c.memory), verdict)
    out.print(table, highlight=False)

