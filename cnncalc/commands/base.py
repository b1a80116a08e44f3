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
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

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
    invalid input. Every command's help names values by what they are (`readable`)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for command in self.commands.values():
            readable(command)

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


#: The metavar of an option that names none, by the type of its value (`readable`).
METAVARS = {"int": "N", "float": "X", "str": "TEXT", "path": "FILE"}


class _Argument(TyperArgument):  # type: ignore[misc, valid-type]
    """An argument shown as its metavar alone (`SPEC`), not `SPEC <str>` and `{SPEC}`."""

    def display_type_rich(self, ctx: object) -> None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def readable(command: object) -> None:
    """Name every value in `command`'s help by what it is: an option's own metavar (`HxWxC`,
    `SIZE`), else its choices (`[fp32|fp16|bf16|int8]`) or its type (`N` for a whole number,
    `X` for a number, `TEXT`, `FILE`), never typer's `<str>`, `<int range>`, `<list[str]>`;
    an argument by its metavar or its name in capitals (`SPEC`)."""
    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument):
            param.__class__ = _Argument
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
        elif isinstance(param, TyperOption) and param.metavar is None and not param.is_flag:
            described = param.type_descriptor
            if described.is_choice:
                values = [getattr(c, "value", c) for c in described.choices or ()]
                param.metavar = "[" + "|".join(str(v) for v in values) + "]"
            else:
                name = "path" if described.is_path else param.bare_type().lower()
                name = name.removeprefix("list[").removesuffix("]")
                param.metavar = METAVARS.get(name, name.upper())


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
MAX_LEVELS = 1000  # --levels: rows nest far less deep (engine.MAX_DEPTH)


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
    metavar="SPEC", help="A spec file, a bundled spec's name (see 'cnncalc specs'), or - for "
    "stdin.", show_default=False, autocompletion=complete_spec)]
InputOpt = Annotated[Optional[str], typer.Option(
    "--input", "-i", metavar="HxWxC", help="Override the input size: HxWxC, e.g. 224x224x3.")]
BatchOpt = Annotated[int, typer.Option(
    "--batch", "-b", metavar="N", parser=number(1, MAX_BATCH, integer=True),
    help=f"Batch size (activations, MACs, memory scale), 1 to {MAX_BATCH:,}.")]
LEVELS_HELP = "Show rows down to this nesting level, deeper ones summed into their block (0: "
LevelsOpt = Annotated[Optional[int], typer.Option(
    "--levels", metavar="N", parser=number(0, MAX_LEVELS, integer=True),
    help=LEVELS_HELP + "the top level only).", show_default=False)]
VarOpt = Annotated[Optional[list[str]], typer.Option(
    "--var", metavar="NAME=VALUE", show_default=False,
    help="Set one of the spec's vars (repeatable): --var width=32. The spec must declare it "
    "under 'vars:'.")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type for memory.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="FILE", help="Write to this file instead of standard output "
    "(the format follows the extension: .md, .csv, .json, .html, .mmd; else the table), never "
    "onto an input.")]
FormatOpt = Annotated[Optional[Format], typer.Option(
    "--format", "-f", help="Output format (default: the table, or -o's extension).",
    show_default=False)]
FreezeUntilOpt = Annotated[Optional[str], typer.Option(
    "--freeze-until", metavar="LAYER", help="Freeze every layer up to and including this one "
    "(a name or dotted path), in addition to what the spec freezes.")]


def max_option(key: str, unit: str, example: str) -> Any:
    """A budget option, `--max-KEY COUNT` or `--max-KEY SIZE` (`analyses.budget.BUDGETS`):
    the same in every command that takes budgets (`check`, `fit`)."""
    what = key.replace("_", " ").replace("macs", "MACs").replace("flops", "FLOPs")
    return typer.Option("--max-" + key.replace("_", "-"),
                        metavar="COUNT" if unit == "count" else "SIZE", show_default=False,
                        help=f"Limit on {what} (e.g. {example}); replaces the spec's budget "
                        "of the same name.")


Max = Optional[str]
#: The budget options of `check` and `fit`, one per budget of `analyses.budget.BUDGETS` (a
#: test keeps the two lists equal).
MaxParams = Annotated[Max, max_option("params", "count", "5M")]
MaxTrainableParams = Annotated[Max, max_option("trainable_params", "count", "1M")]
MaxMacs = Annotated[Max, max_option("macs", "count", "400M")]
MaxFlops = Annotated[Max, max_option("flops", "count", "1G")]
MaxParamMemory = Annotated[Max, max_option("param_memory", "bytes", "20MiB")]
MaxActivationMemory = Annotated[Max, max_option("activation_memory", "bytes", "64MiB")]
MaxPeakMemory = Annotated[Max, max_option("peak_memory", "bytes", "100MB")]
BudgetBatchOpt = Annotated[Optional[int], typer.Option(
    "--batch", "-b", metavar="N", parser=number(1, MAX_BATCH, integer=True),
    show_default=False, help="Batch size (default: the budget's 'batch', else 1).")]
BudgetDtypeOpt = Annotated[Optional[Dtype], typer.Option(
    "--dtype", show_default=False,
    help="Element type for memory (default: the budget's 'dtype', else fp32).")]


# ------------------------------------------------------------------- deprecated spellings
#: The release that drops the deprecated spellings: until then each still works, hidden from
#: `--help`, and prints a note on stderr (never on stdout, which may carry JSON).
REMOVED_IN = "0.3.0"


def deprecated(old: str, new: str, why: str) -> Any:
    """A callback for a hidden option spelled the old way: a note on stderr when it is used
    (`why` is for the reader of the code: docs/options.md lists the old spellings)."""

    def note(ctx: typer.Context, param: object, value: object) -> object:
        if value is not None:  # one short line: a terminal of 80 columns shows it whole
            print(f"{ctx.command_path}: {old} is deprecated, use {new} (removed in "
                  f"{REMOVED_IN})", file=sys.stderr)
        return value

    return note


def either(new: Any, old: Any, spelling: str) -> Any:
    """The value of an option given in its current spelling or in its deprecated one."""
    if old is None:
        return new
    if new is not None and new != old:
        raise CnnCalcError(f"{spelling}: give the option once (the two spellings disagree)")
    return old


#: `show -d N` and `verify --depth N` meant `--levels N`; `--depth` and `-d` now mean only
#: the depth multiplier (`cnncalc scale`).
OldLevelsOpt = Annotated[Optional[int], typer.Option(
    "--depth", "-d", metavar="N", hidden=True, parser=number(0, MAX_LEVELS, integer=True),
    callback=deprecated("--depth/-d", "--levels", "--depth and -d are the depth multiplier "
                        "of 'cnncalc scale'"),
    help="Deprecated spelling of --levels.")]
ConventionOpt = Annotated[Convention, typer.Option(
    "--convention", help="Count as this tool does (its params and its MACs/FLOPs number, on "
    "the spec written in torch's own modules): cnncalc, torchinfo, fvcore, ptflops, thop or "
    "flopcounter. 'cnncalc conventions' says what each counts.")]
