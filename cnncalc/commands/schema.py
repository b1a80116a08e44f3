"""`cnncalc schema`: print the JSON Schema of the spec format (for editors and CI)."""

from __future__ import annotations

from .base import OutputOpt, app, errors_to_exit


@app.command()
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of spec files (point an editor's YAML support at it)."""
    from ..core.schema import render

    with errors_to_exit():
        text = render()
    if output is None:
        print(text, end="")
    else:
        from ..writers import write_file

        with errors_to_exit():
            write_file(output, text)
