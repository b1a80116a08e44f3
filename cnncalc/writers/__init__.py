"""Writers: one module per format, each taking any `result.Result` (`write(result) -> str`);
`mermaid` draws the Result's network and refuses a Result without one.

`emit` is the one place that writes a Result: to standard output, or to `-o FILE` with the
format taken from the file's extension unless `--format` says otherwise, atomically (a
temporary file beside the target, then a rename), and never onto a file the command read
(`core.reads` knows every file read: specs, `extends` bases, baselines, standard input).
Every other file a command writes goes through `write_file` too. A test checks that every
format has a writer.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal, assert_never, get_args

from ..errors import CnnCalcError, Problem

if TYPE_CHECKING:
    from ..result import Result

Format = Literal["table", "markdown", "csv", "json", "html", "mermaid"]
FORMATS: tuple[str, ...] = get_args(Format)

#: `-o FILE` picks its format from these extensions when `--format` is not given.
EXTENSIONS: dict[str, str] = {
    ".txt": "table", ".md": "markdown", ".markdown": "markdown", ".csv": "csv",
    ".json": "json", ".html": "html", ".htm": "html", ".mmd": "mermaid", ".mermaid": "mermaid",
}


def format_for(explicit: str | None, output: Path | None) -> str:
    """`--format` when given, else the output file's extension, else the terminal table."""
    if explicit is not None:
        return explicit
    if output is not None:
        return EXTENSIONS.get(output.suffix.lower(), "table")
    return "table"


def write(result: Result, fmt: str, styled: bool = False, width: int | None = 80) -> str:
    """The result as text in one format; every Format has a branch (checked by assert_never).
    The table fits `width` columns (None: no limit) and is in colour when `styled`."""
    name: Format = fmt  # type: ignore[assignment]
    if name == "table":
        from . import table

        return table.write(result, styled, width)
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
    elif name == "mermaid":
        from . import mermaid

        return mermaid.write(result)
    else:
        assert_never(name)


def _styled() -> bool:
    """Colour only on a terminal, and never with `NO_COLOR` (https://no-color.org) or a dumb
    terminal."""
    return (sys.stdout.isatty() and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb")


#: the narrowest width a table is laid out to, whatever the terminal says
MIN_WIDTH = 40


def terminal_width() -> int:
    """The width standard output's tables fit: `COLUMNS` when set, else the terminal's, else
    80 (piped output)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit():
        return max(int(columns), MIN_WIDTH)
    if sys.stdout.isatty():
        try:
            return max(os.get_terminal_size(sys.stdout.fileno()).columns, MIN_WIDTH)
        except (OSError, ValueError):
            pass
    return 80


def emit(result: Result, fmt: str | None = None, output: Path | None = None) -> None:
    """Write `result` to standard output (also for `-o -`) or to `output` (see the module
    docstring)."""
    chosen = format_for(fmt, output if output is not None and str(output) != "-" else None)
    if output is None or str(output) == "-":
        sys.stdout.write(write(result, chosen, _styled() and chosen == "table",
                               terminal_width()))
        sys.stdout.flush()
        return
    write_file(output, write(result, chosen))


def _refuse(output: Path | str, message: str) -> CnnCalcError:
    return CnnCalcError(Problem(message, file=str(output)))


def check_target(output: Path | str) -> None:
    """CnnCalcError (exit 2, naming the path) unless `output` may be written: not a file this
    command read (`core.reads`; a symlink or hard link to one, or another
    spelling of its path, is the same file), not a folder, in a folder that exists, and not
    read-only."""
    from ..core import reads

    target = str(output)
    if reads.READ.has(target):
        raise _refuse(output, "is an input of this command; refusing to write the output "
                      "onto an input (it would be lost): choose another file")
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a loop of symlinks, a name too long, a path through a file
        raise _refuse(output, f"cannot write: {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise _refuse(output, "is a folder; give a file name")
    if info is None or stat.S_ISREG(info.st_mode):
        folder = os.path.dirname(os.path.realpath(target)) or "."
        if not os.path.isdir(folder):
            what = "is not a folder" if os.path.exists(folder) else "does not exist"
            raise _refuse(output, f"cannot write: the folder {folder!r} {what}")
    if info is not None and stat.S_ISREG(info.st_mode) and (
            not info.st_mode & 0o222 or not os.access(target, os.W_OK)):
        raise _refuse(output, "is read-only; refusing to replace it (make it writable or "
                      "choose another file)")


def write_file(output: Path | str, text: str | bytes) -> None:
    """Write `text` (or bytes: an ONNX model) to `output` atomically: a temporary file beside
    the target, then a rename, so that a failed run (a full disk, an interrupt) leaves the old
    file as it was. A symlink is followed (the link stays a link); a device or pipe
    (`/dev/stdout`) is written directly; `-` is standard output. CnnCalcError (exit 2) naming
    the path for every refusal (`check_target`) and failure."""
    if str(output) == "-":
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    check_target(output)
    data = text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace")
    target = str(output)
    try:
        info: os.stat_result | None = os.stat(target)
    except OSError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        try:
            with open(target, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise _refuse(output, f"cannot write: {exc.strerror or exc}") from None
        return
    real = os.path.realpath(target)
    folder, name = os.path.split(real)
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".cnncalc-tmp", dir=folder)
        try:
            if hasattr(os, "fchmod"):  # mkstemp makes 0o600: give the mode open() would
                os.fchmod(fd, stat.S_IMODE(info.st_mode) if info is not None
                          else _new_file_mode())
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            _sync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, real)
        temporary = None
    except OSError as exc:
        kept = "; the old file is unchanged" if info is not None else ""
        raise _refuse(output, f"cannot write: {exc.strerror or exc}{kept}") from None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _sync(fd: int) -> None:
    """Flush the data to the disk before the rename (a full disk may only say so here); a file
    system that cannot sync (EINVAL, ENOTSUP) is not a failed write."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def _new_file_mode() -> int:
    """The mode `open(..., "w")` would give a new file: 0o666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
