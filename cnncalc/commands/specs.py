"""`cnncalc specs`: the bundled specs with their description, params and MACs."""

from __future__ import annotations

from .base import FormatOpt, OutputOpt, app, errors_to_exit, finish


@app.command()
def specs(
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """List the bundled specs with their description, params and MACs."""
    from ..core.catalog import bundled
    from ..core.engine import analyze
    from ..core.source import load
    from ..present.specs import result

    with errors_to_exit():
        reports = {name: analyze(load(name)) for name in bundled()}
    finish(result(reports), format, output)
