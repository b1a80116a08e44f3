"""What every command shares: the typer `app`, the options, and the one place errors become
exit codes.

Every CnnCalcError is caught in one place (`errors_to_exit`) and printed one problem per line
on stderr with exit code 2; no traceback reaches the user. A command parses its options, calls
the library, and hands its Result to `finish`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

from .. import __version__
from ..core.spec import parse_shape
from ..core.units import DTYPE_BYTES, clip
from ..errors import CnnCalcError
from ..writers import FORMATS

#: click's exception classes, found from typer's (typer vendors click in recent versions, so
#: `import click` may name other classes than the ones raised)
_ClickUsageError = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "UsageError")
_ClickException = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException")


class _UsageError(_ClickException):  # type: ignore[misc, valid-type]
    """A mistake on the command line, shown as one line (click shows usage, a hint and the
    error on four)."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        print(self.format_message(), file=sys.stderr)


class CommandGroup(TyperGroup):
    """The app: a mistake in a command's options or arguments (a value out of range, an
    unknown option, a missing argument) is one line on stderr and exit 2, like every other
    invalid input."""

    def make_context(self, info_name: str | None, args: list[str], parent: object = None,
                     **extra: object) -> typer.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)  # type: ignore
        except _ClickUsageError as exc:  # `cnncalc --bogus`
            if type(exc).__name__ == "NoArgsIsHelpError":  # plain `cnncalc`: the help
                raise
            raise _one_line(exc, info_name or "cnncalc") from None

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except _ClickUsageError as exc:
            raise _one_line(exc, ctx.command_path) from None


def _one_line(exc: Exception, path: str) -> _UsageError:
    context = getattr(exc, "ctx", None)
    path = context.command_path if context is not None else path
    return _UsageError(f"{path}: {exc.format_message()} (see '{path} --help')")  # type: ignore


app = typer.Typer(
    cls=CommandGroup,
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

#: `--convention NAME`: `analyses.conventions.NAMES`, written out here so that a command's
#: options need not import the rules (a test checks that the two lists agree).
CONVENTION_NAMES = ("cnncalc", "torchinfo", "fvcore", "ptflops", "thop", "flopcounter")
Convention = Enum("Convention", {name: name for name in CONVENTION_NAMES},  # type: ignore[misc]
                  type=str)


def console(width: int | None = None, file: object = None) -> Console:
    from rich.console import Console

    return Console(width=width, file=file, soft_wrap=False)  # type: ignore[arg-type]


def fail(message: str) -> None:
    print(f"cnncalc: {message}", file=sys.stderr)


def finish(result: object, format: Format | None, output: Path | None) -> None:
    """Write a command's Result (`writers.emit`: never onto a file the command read, see
    `core.reads`) and end with its exit code."""
    from ..writers import emit

    with errors_to_exit():
        emit(result, format.value if format is not None else None,  # type: ignore[arg-type]
             output)
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


#: Bounds of the numeric options (the README's section on bad input lists them).
MAX_BATCH = 10**9
MAX_LEVELS = 1000  # --depth / --levels: rows nest far less deep (engine.MAX_DEPTH)


def number(low: float, high: float, *, integer: bool = False, above: bool = False,
           what: str = "") -> object:
    """A typer `parser` for a numeric option: a finite number from `low` (or above it, when
    `above`) to `high`, whole when `integer`; anything else is refused with one line that
    names the option (and `what` it is)."""
    if integer:
        span = f"a whole number from {low:,} to {high:,}"
    elif above:
        span = f"a number above {low:g} and at most {high:g}"
    else:
        span = f"a number from {low:g} to {high:g}"

    def refuse(shown: str) -> Exception:
        return typer.BadParameter(f"{shown}: the {what} must be {span}" if what
                                  else f"{shown} is not {span}")

    def parse(value: object) -> int | float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = value  # a default
        else:
            text = str(value).strip()
            try:
                if len(text) > 40:
                    raise ValueError
                number = int(text) if integer else float(text)
            except ValueError:
                raise refuse(clip(str(value))) from None
        if isinstance(number, float) and not math.isfinite(number):
            raise refuse(clip(str(value)))
        if number < low or number > high or (above and number == low):
            raise refuse(clip(str(value)))
        return number

    return parse


def load_spec(ref: str, var: list[str] | None = None) -> object:
    """A checked spec (`source.load`), with `--var NAME=VALUE` overriding its vars."""
    from ..core.source import load_raw, parse
    from ..core.variables import override, parse_vars

    values = parse_vars(var)
    name, raw = load_raw(ref)
    return parse(override(raw, values, name), name)


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
    from ..core import reads

    reads.forget()  # a new command has read nothing yet (tests run many in one process)


def complete_spec(incomplete: str) -> list[str]:
    """Shell completion for SPEC: the bundled specs' names (the shell adds file names)."""
    from ..core.catalog import bundled

    return [name for name in bundled() if name.startswith(incomplete)]


SpecArg = Annotated[str, typer.Argument(
    help="A spec file, a bundled spec's name (see 'cnncalc specs'), or - for stdin.",
    show_default=False, autocompletion=complete_spec)]
InputOpt = Annotated[Optional[str], typer.Option(
    "--input", "-i", help="Override the input size: HxWxC, e.g. 224x224x3.")]
BatchOpt = Annotated[int, typer.Option(
    "--batch", "-b", parser=number(1, MAX_BATCH, integer=True),
    help=f"Batch size (activations, MACs, memory scale), 1 to {MAX_BATCH:,}.")]
LevelsOpt = Annotated[Optional[int], typer.Option(
    "--depth", "-d", parser=number(0, MAX_LEVELS, integer=True),
    help="Collapse blocks deeper than this (0 = top level).")]
VarOpt = Annotated[Optional[list[str]], typer.Option(
    "--var", metavar="NAME=VALUE", show_default=False,
    help="Set one of the spec's vars (repeatable): --var width=32. The spec must declare it "
    "under 'vars:'.")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type for memory.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Write to this file instead of standard output (the format follows "
    "the extension: .md, .csv, .json, .html, .mmd; else the table), never onto an input.")]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-f", help="Output format (default: the table, or -o's extension).",
    show_default=False)]
FreezeUntilOpt = Annotated[Optional[str], typer.Option(
    "--freeze-until", help="Freeze every layer up to and including this one (a name or dotted "
    "path), in addition to what the spec freezes.")]
ConventionOpt = Annotated[Convention, typer.Option(
    "--convention", help="Count as this tool does (its params and its MACs/FLOPs number, on "
    "the spec written in torch's own modules): cnncalc, torchinfo, fvcore, ptflops, thop or "
    "flopcounter. 'cnncalc conventions' says what each counts.")]
