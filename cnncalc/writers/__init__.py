"""Writers: one module per format, each taking any `result.Result` (`write(result) -> str`).

`emit` is the one place that writes a Result: to standard output, or to `-o FILE` with the
format taken from the file's extension unless `--format` says otherwise, atomically (a
temporary file beside the target, then a rename), and never onto a file the command read.
A test checks that every format has a writer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal, assert_never, get_args

from ..errors import CnnCalcError

if TYPE_CHECKING:
    from ..result import Result

Format = Literal["table", "markdown", "csv", "json", "html"]
FORMATS: tuple[str, ...] = get_args(Format)

#: `-o FILE` picks its format from these extensions when `--format` is not given.
EXTENSIONS: dict[str, str] = {
    ".txt": "table", ".md": "markdown", ".markdown": "markdown", ".csv": "csv",
    ".json": "json", ".html": "html", ".htm": "html",
}


def format_for(explicit: str | None, output: Path | None) -> str:
    """`--format` when given, else the output file's extension, else the terminal table."""
    if explicit is not None:
        return explicit
    if output is not None:
        return EXTENSIONS.get(output.suffix.lower(), "table")
    return "table"


def write(result: Result, fmt: str, styled: bool = False) -> str:
    """The result as text in one format; every Format has a branch (checked by assert_never)."""
    name: Format = fmt  # type: ignore[assignment]
    if name == "table":
        from . import table

        return table.write(result, styled)
    elif name == "markdown":
        from . import markdown

        return markdown.write(result)
    elif name == "csv":
        from . import csv

        return csv.write(result)
    elif name == "json":
        from . import json

        return json.write(result)
    elif name == "html":
        from . import html

        return html.write(result)
    else:
        assert_never(name)


def _styled() -> bool:
    return (sys.stdout.isatty() and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb")


def emit(result: Result, fmt: str | None = None, output: Path | None = None,
         inputs: tuple[str, ...] = ()) -> None:
    """Write `result` to standard output or to `output` (see the module docstring)."""
    chosen = format_for(fmt, output)
    if output is None:
        sys.stdout.write(write(result, chosen, _styled() and chosen == "table"))
        sys.stdout.flush()
        return
    write_file(output, write(result, chosen), inputs)


def write_file(output: Path, text: str, inputs: tuple[str, ...] = ()) -> None:
    """Write `text` to `output` atomically; CnnCalcError (exit 2) naming the path on failure,
    and when `output` is one of the files the command read."""
    target = Path(output)
    for ref in inputs:
        try:
            if Path(ref).exists() and target.exists() and target.samefile(ref):
                raise CnnCalcError(f"{output}: refusing to write the output onto an input "
                                   "of this command; choose another file")
        except OSError:
            continue
    if target.is_dir():
        raise CnnCalcError(f"{output}: is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise CnnCalcError(f"{output}: the folder {str(folder)!r} does not exist")
    temporary = folder / f".{target.name}.cnncalc-{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise CnnCalcError(f"{output}: cannot write: {exc.strerror or exc}") from None
