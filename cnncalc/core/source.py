"""Finding, reading and loading specs: the one loading pipeline of every command and the API.

    read (path, bundled name or `-`) -> YAML with lines (`loader`) -> `extends`, `imports`
    and `edits` (`inherit`, a loading pass of its own) -> optional rewrites of the YAML
    (scaling is one) -> parse and check (`spec`) -> analyze (`engine`, done by the caller).

`load(ref)` (a path, a bundled name, `-` or a dict) and `load_text(text)` run it to a checked
Spec; `load_raw(ref)` stops before
parsing, for commands that rewrite the YAML first (`scale`, `fit`), and `parse(raw)` finishes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Problem, suggest
from . import reads
from .catalog import bundled
from .loader import MAX_FILE_BYTES, decode, load_yaml, paused_gc, read_text
from .spec import Spec, parse_spec

#: A rewrite of a loaded spec's YAML (with lines), applied after `extends` and `imports` and
#: before parsing.
Rewrite = Callable[[Any], Any]


def resolve(ref: str) -> tuple[str, Path | None]:
    """A spec reference as (display name, path); `-` is standard input (path None)."""
    if ref == "-":
        return "<stdin>", None
    path = Path(ref)
    if path.exists() or ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        return ref, path
    specs = bundled()
    if ref in specs:
        return str(specs[ref]), specs[ref]
    raise CnnCalcError(Problem(
        f"no such file, and no bundled spec of that name{suggest(ref, specs)}; "
        f"bundled: {', '.join(specs) or 'none'}", file=ref))


def read(ref: str) -> tuple[str, str]:
    """(display name, text) of a spec reference."""
    name, path = resolve(ref)
    if path is None:
        reads.note_stdin()
        # Read one byte past the limit, not everything: a runaway pipe must not fill memory.
        return name, decode(sys.stdin.buffer.read(MAX_FILE_BYTES + 1), name)
    return name, read_text(path)


def raw_of_text(text: str, name: str = "<string>") -> Any:
    """The YAML of a spec's text with lines, its `extends`, `imports` and `edits` applied."""
    raw = load_yaml(text, name)
    if isinstance(raw, dict) and ("extends" in raw or "edits" in raw or "imports" in raw):
        from .inherit import resolve

        raw = resolve(raw, name)
    return raw


def load_raw(ref: str) -> tuple[str, Any]:
    """(display name, YAML with lines and `extends` and `imports` applied) of a reference."""
    name, text = read(ref)
    return name, raw_of_text(text, name)


def parse(raw: Any, name: str, rewrite: Rewrite | None = None) -> Spec:
    """The checked Spec of loaded YAML, after an optional rewrite of it."""
    if rewrite is not None:
        raw = rewrite(raw)
    with paused_gc():
        return parse_spec(raw, name)


def load_text(text: str, name: str = "<string>", rewrite: Rewrite | None = None) -> Spec:
    """Parse the text of a spec (after its `extends`, `imports` and `edits`, and `rewrite` if
    given)."""
    return parse(raw_of_text(text, name), name, rewrite)


def load(ref: str | os.PathLike[str] | Mapping[str, Any],
         rewrite: Rewrite | None = None) -> Spec:
    """Load and check a spec from a path, a bundled name, `-` (standard input) or a dict (the
    spec's YAML as Python data: `{"name": "net", "input": "32x32x3", "layers": [...]}`)."""
    if isinstance(ref, Mapping):
        return load_data(ref, rewrite)
    name, raw = load_raw(os.fspath(ref))
    return parse(raw, name, rewrite)


def load_data(data: Mapping[str, Any], rewrite: Rewrite | None = None,
              name: str = "<dict>") -> Spec:
    """A spec given as Python data (what `yaml.safe_load` of its file gives: dicts, lists,
    strings, numbers, booleans, None; tuples are read as lists). It goes through the text
    pipeline (as YAML), so a problem names a line of that YAML; relative `extends` and
    `imports` paths are read from the working directory."""
    import yaml

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    try:
        text = yaml.safe_dump(plain(data), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise CnnCalcError(Problem(
            "a spec given as a dict may hold only dicts, lists, strings, numbers, booleans "
            f"and None: {str(exc).splitlines()[0]}", file=name)) from None
    return load_text(text, name, rewrite)
