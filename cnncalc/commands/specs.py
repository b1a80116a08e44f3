"""`cnncalc specs`: the bundled specs with their description, params and MACs."""

from __future__ import annotations

import json

from ..cli import Format, FormatOpt, app, console, errors_to_exit


@app.command()
def specs(
    format: FormatOpt = Format.table,
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
    if format in (Format.markdown, Format.csv, Format.html):
        print(_text(rows, format), end="")
        return
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


def _text(rows: list, format: Format) -> str:
    """The list as markdown, CSV or HTML, with exact integers."""
    from ..layers import fmt_shape
    from ..units import exact

    header = ["name", "input", "params", "macs", "description"]
    cells = [[n, fmt_shape(r.input_shape), r.totals.params, r.totals.macs, r.description]
             for n, r in rows]
    if format is Format.csv:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells)
        return buffer.getvalue()
    text = [[c if isinstance(c, str) else exact(c) for c in row] for row in cells]
    if format is Format.markdown:
        from ..render.markdown import escape

        lines = ["| Name | Input | Params | MACs | Description |",
                 "| --- | --- | ---: | ---: | --- |"]
        lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in text]
        return "\n".join(lines) + "\n"
    from ..render.html import _page, _table

    return _page("cnncalc specs", ["<h1>Bundled specs</h1>", *_table(
        ["Name", "Input", "Params", "MACs", "Description"],
        [("layer", "", row) for row in text], left=2)])
