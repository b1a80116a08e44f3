"""Reading spec files safely, and `load_yaml`, the one way in to a parsed spec (values that
keep the line of every mapping, key and list item: `cnncalc.core.tree`).

- every reading failure (missing file, directory, non-UTF-8 bytes, too large) is a
  :class:`~cnncalc.errors.CnnCalcError` naming the file (and the line where there is one);
- `load_yaml` parses YAML text with `cnncalc.core.yamlread` (the YAML 1.2 core schema,
  duplicate keys and alias bombs refused) and keeps what it parsed in
  `cnncalc.core.parsecache`, so a spec read again skips PyYAML altogether (its import
  and its parse).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Problem
from . import reads
from .tree import LineDict, LineList, copy_tree, line_of

__all__ = ["LineDict", "LineList", "copy_tree", "line_of", "load_yaml", "paused_gc", "read_json",
           "read_text", "decode", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 8 * 1024 * 1024


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each written once (json's object_pairs_hook)."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def read_json(path: str, limit: int, subject: str, noun: str, kind: str, folder_hint: str,
              size_hint: str, prefix: str = "") -> Any:
    """A JSON document that cnncalc wrote (a `--baseline` report, a `--calibrate` run), read
    with every failure as one located line and never a crash: a folder, a missing file, more
    than `limit` bytes, not UTF-8, not JSON, nested too deeply, a number past Python's 4,300
    digits, a duplicate key. `subject` names it in the messages (`the baseline`), `noun` when
    it is missing (`no such baseline file`), `kind` what it should have been (`a report`)."""
    def problem(message: str, line: int | None = None) -> CnnCalcError:
        return CnnCalcError(Problem(prefix + message, file=path, line=line))

    reads.note(path)  # an input, even when it cannot be read: no output may replace it
    try:
        if Path(path).is_dir():
            raise problem(f"{subject} is a folder; {folder_hint}")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise problem(f"no such {noun}") from None
    except OSError as exc:
        raise problem(f"cannot read {subject}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise problem(f"{subject} is more than {limit // 2**20} MiB; {size_hint}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise problem(f"{subject} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                      f"{exc.start})", data[:exc.start].count(b"\n") + 1) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise problem(f"{subject} is not JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise problem(f"{subject} is not {kind}: its JSON is nested too deeply") from None
    except ValueError as exc:  # a duplicate key, an integer past Python's 4,300 digits
        reason = "a number has more than 4,300 digits" if "digits" in str(exc) else str(exc)
        raise problem(f"{subject} is not {kind}: {reason}") from None


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a spec file as UTF-8, with every failure as a one-line error."""
    name = str(path)
    p = Path(path)
    reads.note(p)  # an input, even when it cannot be read: no output may replace it
    try:
        if p.is_dir():
            raise CnnCalcError(Problem("is a directory, not a spec file", file=name))
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CnnCalcError(Problem(
                f"file is {size / 2**20:.1f} MiB; specs may be at most "
                f"{MAX_FILE_BYTES // 2**20} MiB", file=name))
        with open(p, "rb") as handle:
            # At most one byte past the limit: /dev/zero or a growing file reports size 0.
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise CnnCalcError(Problem("no such file", file=name)) from None
    except PermissionError:
        raise CnnCalcError(Problem("permission denied", file=name)) from None
    except OSError as exc:
        raise CnnCalcError(Problem(f"cannot read: {exc.strerror or exc}", file=name)) from None
    return decode(data, name)


def decode(data: bytes, name: str) -> str:
    """Decode UTF-8 bytes, naming the line of the first byte that is not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise CnnCalcError(Problem(
            f"input is more than {MAX_FILE_BYTES // 2**20} MiB; specs may be at most "
            f"{MAX_FILE_BYTES // 2**20} MiB", file=name))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CnnCalcError(Problem(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            file=name, line=line)) from None


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small acyclic objects.

    Loading and analysing a spec creates hundreds of thousands of objects and no cycles; the
    collector's repeated scans made 100,000 layers take four times as long (not linear), when
    specs could still be that long.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_yaml(text: str, name: str) -> Any:
    """Parse one YAML document into LineDict / LineList / scalars: from the parse cache
    when this text was parsed before, else by `yamlread.parse` (and then kept)."""
    from . import parsecache

    with paused_gc():
        found = parsecache.get(text)
        if found is not None:
            return found
        from .yamlread import parse

        tree = parse(text, name)
        parsecache.put(text, tree)
        return tree
