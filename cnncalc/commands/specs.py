"""`cnncalc specs`: the bundled specs with their description, params and MACs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..cli import Format, app, console, errors_to_exit


@app.command()
def specs(
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
    = Format.table,
) -> None:
    """List the bundled specs with their description, params and MACs."""
    from rich.table import Table

    from ..engine import analyze
    from ..layers import fmt_shape
    from ..source import bundled, load
    from ..units import si

    rows = []
    with errors_to_exit():
        for name in bundled():
            rows.append((name, analyze(load(name))))
    if format is Format.json:
        print(json.dumps([{"name": n, "description": r.description,
                           "input": list(r.input_shape), "params": r.totals.params,
                           "macs": r.totals.macs} for n, r in rows], indent=2))
        return
    table = Table(title="Bundled specs", title_justify="left")
    table.add_column("Name", no_wrap=True)
    table.add_column("Input", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    table.add_column("Description", no_wrap=True)
    for name, r in rows:
        table.add_row(name, fmt_shape(r.input_shape),
                      si(r.totals.params), si(r.totals.macs), r.description)
    from ..render.table import print_table

    print_table(console(), table)
