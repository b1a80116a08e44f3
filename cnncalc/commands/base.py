"""What every command shares: the typer `app`, the options, and the one place errors become
exit codes.

Every CnnCalcError is caught in one place (`errors_to_exit`) and printed one problem per line
on stderr with exit code 2; no traceback reaches the user. A command parses its options, calls
the library, and hands its Result to `finish`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

from .. import __version__
from ..errors import CnnCalcError
from ..spec import parse_shape
from ..units import DTYPE_BYTES
from ..writers import FORMATS

app = typer.Typer(
    name="cnncalc",
    help="Shapes, parameters, multiply-adds and memory of convolutional networks, "
    "from a YAML spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_INVALID = 2


#: Element types for memory, one per entry of `units.DTYPE_BYTES` (the one list of them).
Dtype = Enum("Dtype", {name: name for name in DTYPE_BYTES}, type=str)  # type: ignore[misc]

#: Output formats, one per writer of `cnncalc.writers` (whose FORMATS is the one list; a test
#: checks that every format has a writer).
Format = Enum("Format", {name: name for name in FORMATS}, type=str)  # type: ignore[misc]


def console(width: int | None = None, file: object = None) -> Console:
    from rich.console import Console

    return Console(width=width, file=file, soft_wrap=False)  # type: ignore[arg-type]


def fail(message: str) -> None:
    print(f"cnncalc: {message}", file=sys.stderr)


def finish(result: object, format: Format | None, output: Path | None,
           inputs: tuple[str, ...] = ()) -> None:
    """Write a command's Result (`writers.emit`) and end with its exit code."""
    from ..writers import emit

    with errors_to_exit():
        emit(result, format.value if format is not None else None, output,  # type: ignore[arg-type]
             inputs)
    code = getattr(result, "exit_code", 0)
    if code:
        raise typer.Exit(code)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Print CnnCalcError problems one per line on stderr and exit 2."""
    try:
        yield
    except CnnCalcError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        raise typer.Exit(code=EXIT_INVALID) from None


def parse_input(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return parse_shape(text)
    except ValueError as exc:
        raise CnnCalcError(f"--input: {exc}") from None


def version_callback(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=version_callback, is_eager=True,
        help="Print the version and exit.")] = None,
) -> None:
    """Shapes, parameters, multiply-adds and memory of convolutional networks."""


def complete_spec(incomplete: str) -> list[str]:
    """Shell completion for SPEC: the bundled specs' names (the shell adds file names)."""
    from ..source import bundled

    return [name for name in bundled() if name.startswith(incomplete)]


SpecArg = Annotated[str, typer.Argument(
    help="A spec file, a bundled spec's name (see 'cnncalc specs'), or - for stdin.",
    show_default=False, autocompletion=complete_spec)]
InputOpt = Annotated[Optional[str], typer.Option(
    "--input", "-i", help="Override the input size: HxWxC, e.g. 224x224x3.")]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", min=1,
                                       help="Batch size (activations, MACs, memory scale).")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type for memory.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Write to this file instead of standard output (the format follows "
    "the extension: .md, .csv, .json, .html; else the table), never onto an input.")]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-f", help="Output format (default: the table, or -o's extension).",
    show_default=False)]
FreezeUntilOpt = Annotated[Optional[str], typer.Option(
    "--freeze-until", help="Freeze every layer up to and including this one (a name or dotted "
    "path), in addition to what the spec freezes.")]
