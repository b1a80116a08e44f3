"""The Result of `cnncalc fit`: every scale tried with its totals and verdict, the largest that
fits, and the `cnncalc scale` command that reproduces it."""

from __future__ import annotations

from typing import Any

from ..analyses.fit import Candidate, winner
from ..analyses.scale import Scaling, multiplier
from ..core.units import binary, si
from ..result import Column, Plot, Result, Row, Table

EXIT_NOTHING_FITS = 1
#: How each budget is named in the table and the notes (`analyses.fit.LIMITS`).
LABEL = {"params": "params", "trainable_params": "trainable params", "macs": "MACs",
         "flops": "FLOPs", "param_memory": "param memory",
         "activation_memory": "activation memory", "peak_memory": "peak memory",
         "memory": "memory"}
BYTES = ("param_memory", "activation_memory", "peak_memory", "memory")


def value_text(by: str, value: float) -> str:
    return f"{int(value)}" if by == "resolution" else f"{value:g}"


def amount(kind: str, n: int) -> str:
    return binary(n) if kind in BYTES else si(n, 2)


def reproduce(spec: str, best: Candidate, var: tuple[str, ...] = ()) -> str:
    """The `cnncalc scale` command line of a candidate (with the search's `--var`s)."""
    import shlex

    s = best.scaling
    command = [f"cnncalc scale {spec}", *(f"--var {shlex.quote(v)}" for v in var)]
    if s.phi is not None:
        command.append(f"--phi {s.phi:g}")
    elif s.width != 1:
        command.append(f"--width {multiplier(s.width)}")
    if s.phi is None and s.depth != 1:
        command.append(f"--depth {multiplier(s.depth)}")
    if s.phi is None and s.resolution is not None:
        h, w = s.resolution
        command.append(f"--resolution {h}" if h == w else f"--resolution {h}x{w}")
    if s.divisor != 8:
        command.append(f"--divisor {s.divisor}")
    return " ".join(command)


def result(spec: str, by: str, tried: list[Candidate], budgets: dict[str, int], batch: int,
           dtype: str, var: tuple[str, ...] = (), name: str | None = None,
           optimizer: str | None = None) -> Result:
    """The candidates as a table; notes name the winner (exit 0) or why nothing fits (exit 1).
    Memory is inference's (params + buffers + peak activations), or with `optimizer` one
    training step's (`analyses.fit.memory_of`)."""
    limits = ", ".join(f"{LABEL[k]} <= {amount(k, v)}" for k, v in budgets.items())
    memory = "inference" if optimizer is None else f"a training step with {optimizer}"
    title = f"fit {spec} by {by}: {limits} (batch {batch}, {dtype}; memory of {memory})"
    columns = [
        *([Column("phi", "phi", "float")] if by == "compound" else []),
        Column("value", "value", "float", human=False),
        # compound's width and depth follow from phi: left out first on a narrow terminal
        Column("width", "width", "float", drop=1 if by == "compound" else 0),
        Column("depth", "depth", "float", drop=1 if by == "compound" else 0),
        Column("input", "input"), Column("params", "params", "count"),
        Column("macs", "MACs", "count"), Column("memory_text", "memory", "bytes",
                                                machine=False),
        Column("memory", "memory bytes", "count", human=False),
        # a column for each other budget asked for (trainable params, FLOPs, peak memory...)
        *(Column(key, LABEL[key], "bytes" if key in BYTES else "count")
          for key in budgets if key not in ("params", "macs", "memory")),
        Column("verdict", "verdict"),
    ]
    rows = []
    for c in tried:
        s = c.scaling
        res = f"{s.resolution[0]}x{s.resolution[1]}" if s.resolution else "as written"
        values: dict[str, Any] = {"phi": c.value, "value": c.value, "width": s.width,
                                  "depth": s.depth, "input": res}
        if c.error is not None:
            values["verdict"] = f"invalid: {c.error}"
        else:
            values.update(c.values)
            values.update(params=c.params, macs=c.macs, memory_text=c.memory, memory=c.memory,
                          verdict="fits" if c.fits else
                          "over: " + ", ".join(LABEL[k] for k in c.over))
        rows.append(Row(values, role="" if c.fits else "fail" if c.error is None else "invalid"))
    best = winner(tried)
    data: dict[str, Any] = {"budgets": budgets, "best": None, "reproduce": None}
    if best is None:
        first = next((c for c in tried if c.error is None), None)
        if first is None:
            reason = "no candidate could be built (see the errors above)"
        else:
            reason = (f"the smallest, {by} {value_text(by, first.value)}, already needs "
                      + ", ".join(f"{amount(k, first.values[k])} {LABEL[k]} > "
                                  f"{amount(k, budgets[k])}" for k in first.over))
        notes = [f"Nothing on the grid meets the budget: {reason}. Lower --from, "
                 "or relax a budget."]
        code = EXIT_NOTHING_FITS
    else:
        command = reproduce(spec, best, var)
        notes = [f"Largest that fits: {by} {value_text(by, best.value)} "
                 f"({best.scaling.describe()}): {best.params:,} params, {best.macs:,} MACs, "
                 f"{amount('memory', best.memory)}",
                 f"Reproduce: {command}"
                 if command != reproduce(spec, Candidate(0, Scaling()), var)
                 else "Reproduce: the spec as it is"]
        data.update(best={"value": best.value, "width": best.scaling.width,
                          "depth": best.scaling.depth, "params": best.params,
                          "macs": best.macs, "memory": best.memory},
                    reproduce=command)
        code = 0
    return Result("fit", title, [Table("candidates", columns, rows)], notes=notes,
                  meta={"spec": spec if name is None else name, "file": spec, "by": by,
                        "memory_of": optimizer or "inference", "batch": batch, "dtype": dtype},
                  data=data, exit_code=code, plots=plots(by, tried, budgets))


def plots(by: str, tried: list[Candidate], budgets: dict[str, int]) -> list[Plot]:
    """One chart per budget: that total against the value swept, with the limit."""
    axis = {"compound": "phi", "resolution": "input height (pixels)"}.get(by, f"{by} multiplier")
    built = [c for c in tried if c.error is None]
    return [Plot(f"{LABEL[kind]} against {axis}", axis, LABEL[kind],
                 [(c.value, c.values[kind], kind not in c.over) for c in built],
                 limit, "bytes" if kind in BYTES else "count")
            for kind, limit in budgets.items() if built]
