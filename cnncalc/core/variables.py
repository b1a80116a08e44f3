"""Setting a spec's `vars` from the command line: `--var NAME=VALUE`.

A value is read as YAML 1.2 reads a plain scalar, limited to what a var holds: an integer
(`4`, `-2`), a finite decimal (`0.5`, `1e-3`), `true` / `false`, or else text (`relu`;
quotes are optional and removed). A var may only be set when the spec declares it under
`vars:` (an unknown name is an error naming the spec's vars), and to the same sort of value
(a number for a number, true/false for a boolean, text for text). Applied to the loaded YAML
after `extends` (`source.load(ref, rewrite)`), so the spec's expressions and `scale` see it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import CnnCalcError, Problem, suggest
from .loader import LineDict, copy_tree
from .units import MAX_COUNT, MAX_NUMBER_CHARS, clip

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_value(text: str, what: str) -> int | float | bool | str:
    """`4` -> 4, `0.5` -> 0.5, `true` -> True, `relu` -> 'relu' (the module docstring)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise CnnCalcError(f"{what}: the value {clip(text)} is too long "
                           f"(at most {MAX_NUMBER_CHARS} characters)")
    if _INT.match(text):
        value = int(text)
        if abs(value) > MAX_COUNT:
            raise CnnCalcError(f"{what}: {clip(text)} is more than 10^100 in size")
        return value
    if _FLOAT.match(text):
        number = float(text)
        if not math.isfinite(number):
            raise CnnCalcError(f"{what}: {clip(text)} is too large for a decimal number")
        return number
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_vars(items: list[str] | None) -> dict[str, Any]:
    """`["k=4", "act=relu"]` -> {"k": 4, "act": "relu"}; a name given twice is an error."""
    out: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise CnnCalcError(f"--var: cannot read {clip(item)}; write NAME=VALUE, "
                               "e.g. --var width=32")
        if name in out:
            raise CnnCalcError(f"--var: {name} is given twice")
        out[name] = parse_value(text.strip(), f"--var {name}")
    return out


def _sort(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "text"


def override(raw: Any, values: dict[str, Any], file: str | None) -> Any:
    """A copy of a loaded spec with `values` replacing its `vars` of the same names."""
    if not values or not isinstance(raw, dict):
        return raw  # parse_spec names what is wrong with a spec that is not a mapping
    declared = raw.get("vars")
    line = raw.line_of("vars") if isinstance(raw, LineDict) and "vars" in raw else (
        raw.line_of("name") if isinstance(raw, LineDict) and "name" in raw else None)
    if not isinstance(declared, dict) or not declared:
        names = ", ".join(values)
        raise CnnCalcError(Problem(
            f"--var {names}: this spec declares no vars; --var sets one the spec declares "
            "under 'vars:'", file, line))
    problems = []
    for name, value in values.items():
        if name not in declared:
            problems.append(Problem(
                f"--var {name}: the spec has no var {name!r}{suggest(name, declared)}; "
                f"its vars: {', '.join(map(str, declared))}", file, line))
        elif _sort(declared[name]) != _sort(value):
            problems.append(Problem(
                f"--var {name}: the spec's {name} is {_sort(declared[name])} "
                f"({declared[name]!r}), got {value!r}", file,
                declared.line_of(name) if isinstance(declared, LineDict) else line))
    if problems:
        raise CnnCalcError(problems)
    out = copy_tree(raw)
    for name, value in values.items():
        out["vars"][name] = value
    return out


def rewrite(values: dict[str, Any]) -> Any:
    """A `source` rewrite that applies `values` (None when there are none); its problems
    name no file (the caller's `located` adds it)."""
    if not values:
        return None
    return lambda raw: override(raw, values, None)
