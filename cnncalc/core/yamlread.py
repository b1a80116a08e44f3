"""Parsing YAML text into values that keep their lines (`parse`): PyYAML underneath.

PyYAML's safe loader is used (the C parser when it is available); on top of it this module
- keeps line numbers so that every error can name the line it is about,
- refuses duplicate keys (PyYAML silently keeps the last one),
- refuses documents that expand past a node budget (a "billion laughs" alias bomb),
- reads plain scalars by the YAML 1.2 core schema, not PyYAML's YAML 1.1 rules (below),
- turns every reading failure (missing file, directory, non-UTF-8 bytes, syntax) into a


Scalars, one documented way (the YAML 1.2 core schema, https://yaml.org/spec/1.2.2/#1032-tag-resolution):
`null`/`Null`/`NULL`/`~`/empty is null; `true`/`True`/`TRUE`/`false`/`False`/`FALSE` are the
only booleans (`yes`, `no`, `on`, `off` are text); `[-+]?[0-9]+` is a decimal integer (`010` and
`+010` are 10), `0o[0-7]+` octal, `0x[0-9a-fA-F]+` hexadecimal; `[-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)
([eE][-+]?[0-9]+)?` and `.inf`/`.nan` are floats; everything else is text (`0_10`, `1:30`,
`0b101`, `2001-12-14`). A float whose written value a float cannot hold as written and that
would read as a whole number (`1e23`, `10.0000000000000001`, `1e-400`) or as infinity
(`1e400`) is refused, never rounded into an integer. Merge keys (`<<: *base`, not in YAML 1.2)
are read with YAML's meaning: keys written in the mapping override merged ones, and of several
merged mappings the earlier wins; a key written twice is still an error.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import yaml

from ..errors import CnnCalcError, Problem
from .tree import LineDict, LineList

MAX_NODES = 2_000_000

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT = _TAG + "str", _TAG + "int", _TAG + "float"
_BOOL, _NULL, _MERGE = _TAG + "bool", _TAG + "null", _TAG + "merge"
_COLLECTION_TAGS = (_TAG + "seq", _TAG + "map")
#: The longest number, in characters, that is read (Python's own limit for decimal integers).
MAX_NUMBER_CHARS = 4300
_TOO_MANY_DIGITS = 10**MAX_NUMBER_CHARS


#: The YAML 1.2 core schema's tag resolution, regexes as the spec writes them (10.3.2), and
#: the merge key `<<` (a YAML 1.1 extension kept for anchors: `{<<: *base, filters: 16}`).
CORE_NULL = re.compile(r"(?:null|Null|NULL|~|)\Z")
CORE_BOOL = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
CORE_INT10 = re.compile(r"[-+]?[0-9]+\Z")
CORE_INT8 = re.compile(r"0o[0-7]+\Z")
CORE_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
CORE_INF = re.compile(r"[-+]?(?:\.inf|\.Inf|\.INF)\Z")
CORE_NAN = re.compile(r"(?:\.nan|\.NaN|\.NAN)\Z")
_MERGE_KEY = re.compile(r"<<\Z")
_DIGITS = "0123456789"
_CORE_RESOLVERS = (  # (tag, regex, first characters), tried in this order
    (_NULL, CORE_NULL, ["~", "n", "N", ""]),
    (_BOOL, CORE_BOOL, ["t", "T", "f", "F"]),
    (_INT, CORE_INT10, ["-", "+", *_DIGITS]),
    (_INT, CORE_INT8, ["0"]),
    (_INT, CORE_INT16, ["0"]),
    (_FLOAT, CORE_FLOAT, ["-", "+", ".", *_DIGITS]),
    (_FLOAT, CORE_INF, ["-", "+", "."]),
    (_FLOAT, CORE_NAN, ["."]),
    (_MERGE, _MERGE_KEY, ["<"]),
)


def add_core_resolvers(cls: Any) -> Any:
    """Give a PyYAML loader or dumper class the YAML 1.2 core schema's resolvers (only them).

    A dumper with them quotes exactly the text that this loader would read as something else
    (`'0o10'`, `'1e3'`), so what it writes reads back unchanged.
    """
    cls.yaml_implicit_resolvers = {}
    for tag, regex, first in _CORE_RESOLVERS:
        cls.add_implicit_resolver(tag, regex, first)
    return cls


@add_core_resolvers
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (the C parser when available) with the core schema's resolvers."""


def parse(text: str, name: str) -> Any:
    """Parse one YAML document into LineDict / LineList / scalars (`loader.load_yaml` is
    the front door: it pauses the garbage collector and keeps parsed documents)."""
    if "\t" in text:
        for number, row in enumerate(text.splitlines(), 1):
            indent = row[: len(row) - len(row.lstrip())]
            if "\t" in indent:
                raise CnnCalcError(Problem(
                    "tab character in indentation; YAML indents with spaces only",
                    file=name, line=number))
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise CnnCalcError(Problem("the file is empty; a spec needs at least "
                                           "'input' and 'layers'", file=name, line=1))
            if "&" in text:  # without anchors there are no aliases to expand
                _check_size(node, name)
            return _Builder(loader, name, text).build(node)
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:  # not a MarkedYAMLError: no mark, a position
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise CnnCalcError(Problem(
            f"invalid YAML: character {char:#06x} is not allowed (no control characters)",
            file=name, line=line)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            what = f"{exc.context}: {exc.problem}"
        hint = _bracket_hint(text, exc.problem_mark.index) if exc.problem_mark else None
        raise CnnCalcError(Problem(f"invalid YAML: {what}" + (f"; {hint}" if hint else ""),
                                   file=name, line=line)) from None
    except yaml.YAMLError as exc:
        raise CnnCalcError(Problem(f"invalid YAML: {exc}", file=name)) from None
    except RecursionError:
        raise CnnCalcError(Problem("the YAML nests too deeply", file=name)) from None
    except ValueError as exc:
        # PyYAML's constructors raise plain ValueError, e.g. for an integer of more than
        # 4300 digits (Python's int-to-str limit) or an impossible timestamp.
        raise CnnCalcError(Problem(f"invalid YAML value: {exc}", file=name)) from None


def _check_size(root: yaml.Node, name: str) -> None:
    """Refuse documents whose aliases expand to more than MAX_NODES nodes."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # collections being measured: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = (
            [k for pair in node.value for k in pair]
            if isinstance(node, yaml.MappingNode) else list(node.value)
        )
        if not done:
            if key in open_:
                # An alias inside its own anchor (`&a [*a]`) makes an infinite document.
                raise CnnCalcError(Problem(
                    "an alias refers to the list or mapping it is inside (a recursive "
                    "anchor)", file=name, line=node.start_mark.line + 1))
            open_.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        open_.discard(key)
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        if total > MAX_NODES:
            raise CnnCalcError(Problem(
                f"the document expands to more than {MAX_NODES:,} YAML nodes "
                "(an alias bomb?)", file=name, line=node.start_mark.line + 1))
        sizes[key] = total


# --------------------------------------------------------------------------- expressions in {...}
# Inside YAML's flow collections (`{...}`, `[...]`) a plain value ends at a comma and may not
# hold a bracket: `conv: {filters: $max(a, b)}` reads as filters '$max(a' and a key 'b)', and
# `{width: $(xs[i])}` is a YAML syntax error. Both are told to quote the expression.

_QUOTES = "'\""
_OPENING, _CLOSING = "([{", ")]}"


#: How far an expression is looked for (a longer one is not hinted at): keeps the scans of a
#: hostile line of thousands of `$((((` values linear.
_MAX_SCAN = 1000


def _expression_end(text: str, start: int) -> int | None:
    """Where the expression written at `text[start]` (a `$`) ends when its brackets are
    matched: at the first `,`, `}`, `]` or end of line outside them, trailing spaces left
    out; None when they do not close on the line (or within _MAX_SCAN characters)."""
    depth, index, stop = 0, start, min(len(text), start + _MAX_SCAN)
    while index < stop:
        char = text[index]
        if char in _QUOTES:
            close = text.find(char, index + 1, stop)
            if close < 0 or "\n" in text[index:close]:
                return None
            index = close
        elif char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and char in ",\n#":
            break
        elif char == "\n":
            return None
        index += 1
    else:
        if depth or stop < len(text):
            return None
    while index > start and text[index - 1] in " \t\r":
        index -= 1
    return index


def _quote_hint(text: str, start: int, end: int, key: Any) -> str:
    written = text[start:end].rstrip()
    quoted = f'"{written}"' if '"' not in written else "'" + written.replace("'", "''") + "'"
    return ("inside YAML's {...} or [...] a plain value ends at a comma and cannot hold "
            f"brackets; quote the expression: {'' if key is None else f'{key}: '}{quoted}")


def _bracket_hint(text: str, index: int) -> str | None:
    """The hint for a YAML syntax error at `text[index]` that a bracket inside an unquoted
    expression caused (`{width: $(xs[i])}`); None for any other error."""
    if not 0 <= index < len(text) or text[index] not in "[{":
        return None
    line_start = text.rfind("\n", 0, index) + 1
    match = re.search(r"(?:^|[\s,\[{])(\$[^,\[\]{}#]*)\Z", text[line_start:index])
    if match is None:
        return None
    start = line_start + match.start(1)
    end = _expression_end(text, start)
    if end is None or end <= index:
        return None
    key = re.search(r"([A-Za-z_][\w-]*)\s*:\s*\Z", text[line_start:start])
    return _quote_hint(text, start, end, key.group(1) if key else None)


class _Builder:
    """Turns composed YAML nodes into Python values that remember their lines."""

    def __init__(self, loader: Any, name: str, text: str = ""):
        self.loader = loader
        self.name = name
        self.text = text

    def check_cut(self, node: yaml.Node, key: Any = None) -> None:
        """Refuse an expression that YAML cut at a comma inside `{...}` or `[...]`."""
        if not (isinstance(node, yaml.ScalarNode) and node.style in (None, "")
                and node.tag == _STR and node.value.startswith("$")):
            return
        start = node.start_mark.index
        end = _expression_end(self.text, start) if self.text[start:start + 1] == "$" else None
        if end is not None and end > node.end_mark.index:
            raise self.fail(f"the expression {_clip(node.value)} is cut short: "
                            + _quote_hint(self.text, start, end, key), node)

    def fail(self, message: str, node: yaml.Node) -> CnnCalcError:
        return CnnCalcError(Problem(message, file=self.name, line=node.start_mark.line + 1))

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        line = node.start_mark.line + 1
        if node.tag not in _COLLECTION_TAGS:
            # We build lists and mappings ourselves, so a tag on one (`!!python/object`)
            # would otherwise be dropped silently.
            raise CnnCalcError(Problem(f"unsupported YAML tag {node.tag!r}", file=self.name,
                                       line=line))
        if isinstance(node, yaml.SequenceNode):
            out = LineList(line)
            for item in node.value:
                if node.flow_style:
                    self.check_cut(item)
                out.item_lines.append(item.start_mark.line + 1)
                out.append(self.build(item))
            return out
        return self.mapping(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """A scalar by the YAML 1.2 core schema (the module docstring); other tags refused."""
        tag, text = node.tag, node.value
        if tag == _STR:
            return text
        if tag == _INT:
            # Plain decimal integers are most of a spec: the quickest path first.
            if CORE_INT10.match(text):
                if len(text) > MAX_NUMBER_CHARS:
                    raise self.too_long(text, node)
                return int(text)
            if CORE_INT16.match(text) or CORE_INT8.match(text):
                value = int(text[2:], 16 if text[1] == "x" else 8) if len(text) <= 20_000 \
                    else None  # (a power-of-two base converts in linear time)
                if value is None or value >= _TOO_MANY_DIGITS:  # the same bound as decimal
                    raise self.too_long(text, node)
                return value

            raise self.fail(f"{_clip(text)} is not an integer (YAML 1.2: digits with an "
                            "optional sign, 0o octal or 0x hexadecimal)", node)
        if tag == _FLOAT:
            return self.float(text, node)
        if tag == _BOOL:
            if CORE_BOOL.match(text):
                return text.lower() == "true"
            raise self.fail(f"{_clip(text)} is not a boolean (YAML 1.2: true or false)", node)
        if tag == _NULL:
            if CORE_NULL.match(text):
                return None
            raise self.fail(f"{_clip(text)} is not null (YAML 1.2: null, ~ or nothing)", node)
        if tag == _MERGE:  # `<<` where a value is expected: text, as YAML 1.2 reads it
            return text
        raise self.fail(f"unsupported YAML tag {tag!r}", node)

    def too_long(self, text: str, node: yaml.Node) -> CnnCalcError:
        return self.fail(f"cannot read the value {_clip(text)}: a number may have at most "
                         f"{MAX_NUMBER_CHARS} digits (in decimal)", node)

    def float(self, text: str, node: yaml.Node) -> float:
        if CORE_INF.match(text):
            return -math.inf if text.startswith("-") else math.inf
        if CORE_NAN.match(text):
            return math.nan
        if not CORE_FLOAT.match(text):
            raise self.fail(f"{_clip(text)} is not a number (YAML 1.2 floats: 1.5, -2e3, "
                            ".inf, .nan)", node)
        if len(text) > MAX_NUMBER_CHARS:
            raise self.too_long(text, node)
        value = float(text)
        if math.isinf(value):
            raise self.fail(f"the number {_clip(text)} is too large: floats end near 1.8e308 "
                            "(a whole number can be written out in digits)", node)
        # A float that lands on a whole number must be the number written, or an integer
        # field would silently get another one (`1e23` is 99999999999999991611392).
        if value.is_integer() and Decimal(text) != Decimal(value):
            written = Decimal(text)
            raise self.fail(f"the number {_clip(text)} cannot be held exactly as a float: it "
                            f"would read as {value!r}; "
                            + ("write the integer in digits" if written == written.to_integral()
                               else "write fewer digits"), node)
        return value

    def mapping(self, node: yaml.MappingNode) -> LineDict:
        """A mapping; merge keys (`<<`) add the keys that the mapping does not write itself."""
        result = LineDict(node.start_mark.line + 1)
        own: list[tuple[yaml.Node, yaml.Node, Any]] = []
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE and isinstance(key_node, yaml.ScalarNode):
                if merges:
                    raise self.fail("duplicate merge key '<<' (merge several mappings with "
                                    "'<<: [*a, *b]')", key_node)
                merges.append(value_node)
                continue
            key = self.build(key_node)
            key_line = key_node.start_mark.line + 1
            if isinstance(key, (dict, list)):
                raise CnnCalcError(Problem("a mapping key must be a plain value",
                                           file=self.name, line=key_line))
            if key in result.key_lines:
                raise CnnCalcError(Problem(
                    f"duplicate key {key!r} (first on line {result.line_of(key)})",
                    file=self.name, line=key_line))
            result.key_lines[key] = key_line
            own.append((key_node, value_node, key))
        merged: dict[Any, tuple[Any, int]] = {}
        for source in self.merge_sources(merges):
            for key, value in source.items():
                if key not in result.key_lines and key not in merged:  # the earlier wins
                    merged[key] = (value, source.line_of(key))
        for _, value_node, key in own:  # in the order written, then the merged keys
            if node.flow_style:
                self.check_cut(value_node, key)
            result[key] = self.build(value_node)
        for key, (value, key_line) in merged.items():
            result[key] = value
            result.key_lines[key] = key_line
        return result

    def merge_sources(self, merges: list[yaml.Node]) -> list[LineDict]:
        """The mappings a `<<` key merges, earliest first."""
        if not merges:
            return []
        value = merges[0]
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        sources = []
        for item in items:
            if not isinstance(item, yaml.MappingNode) or item.tag not in _COLLECTION_TAGS:
                raise self.fail("a merge key '<<' takes a mapping or a list of mappings "
                                "(e.g. '<<: *base')", item)
            sources.append(self.mapping(item))
        return sources


def _clip(text: str, limit: int = 40) -> str:
    """A value short enough to quote in a one-line message."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text):,} chars)"