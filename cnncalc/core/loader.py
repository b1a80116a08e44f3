"""Reading YAML safely, with the line of every mapping, key and list item kept.

PyYAML's safe loader is used (the C parser when it is available); on top of it this module
- keeps line numbers so that every error can name the line it is about,
- refuses duplicate keys (PyYAML silently keeps the last one),
- refuses documents that expand past a node budget (a "billion laughs" alias bomb),
- turns every reading failure (missing file, directory, non-UTF-8 bytes, syntax) into a
  :class:`~cnncalc.errors.CnnCalcError` naming the file and the line.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..errors import CnnCalcError, Problem
from . import reads

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 2_000_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


class LineDict(dict):
    """A mapping that remembers its own line and the line of each key."""

    __slots__ = ("line", "key_lines")

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that remembers its own line and the line of each item."""

    __slots__ = ("line", "item_lines")

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def copy_tree(value: Any) -> Any:
    """A deep copy of loaded YAML that keeps every line and source note.

    LineDict / LineList and their subclasses (`inherit`'s SourcedList, SourcedDict) keep their
    class and every slot (lists among them copied), so errors in a rewritten spec still name
    the file and line an entry was written in.
    """
    if isinstance(value, (LineDict, LineList)):
        copy = type(value)(value.line)
        for klass in type(value).__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if hasattr(value, slot):
                    attr = getattr(value, slot)
                    setattr(copy, slot, type(attr)(attr) if isinstance(attr, (list, dict))
                            else attr)
        if isinstance(value, LineDict):
            for key, item in value.items():
                copy[key] = copy_tree(item)
        else:
            copy.extend(copy_tree(v) for v in value)
        return copy
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def line_of(obj: Any, default: int | None = None) -> int | None:
    """The line a loaded value starts on, when it is a mapping or a list."""
    return getattr(obj, "line", default)


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
    collector's repeated scans made 100,000 layers take four times as long (not linear).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_yaml(text: str, name: str) -> Any:
    """Parse one YAML document into LineDict / LineList / scalars."""
    with paused_gc():
        return _load_yaml(text, name)


def _load_yaml(text: str, name: str) -> Any:
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
            return _Builder(loader, name).build(node)
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
        raise CnnCalcError(Problem(f"invalid YAML: {what}", file=name, line=line)) from None
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


class _Builder:
    """Turns composed YAML nodes into Python values that remember their lines."""

    def __init__(self, loader: Any, name: str):
        self.loader = loader
        self.name = name

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            # Plain strings and decimal integers are most of a spec: skip PyYAML's generic
            # constructor for them (it is the slowest part of loading a large spec).
            if node.tag == _STR:
                return node.value
            try:
                if node.tag == _INT and node.value.isdigit():
                    return int(node.value)
                return self.loader.construct_object(node, deep=True)
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                raise CnnCalcError(Problem(
                    f"cannot read the value {_clip(node.value)}: "
                    + str(exc).split("; use sys.")[0], file=self.name,
                    line=node.start_mark.line + 1)) from None
        line = node.start_mark.line + 1
        if node.tag not in _COLLECTION_TAGS:
            # We build lists and mappings ourselves, so a tag on one (`!!python/object`)
            # would otherwise be dropped silently.
            raise CnnCalcError(Problem(f"unsupported YAML tag {node.tag!r}", file=self.name,
                                       line=line))
        if isinstance(node, yaml.SequenceNode):
            out = LineList(line)
            for item in node.value:
                out.item_lines.append(item.start_mark.line + 1)
                out.append(self.build(item))
            return out
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result = LineDict(line)
            for key_node, value_node in node.value:
                key = self.build(key_node)
                key_line = key_node.start_mark.line + 1
                if isinstance(key, (dict, list)):
                    raise CnnCalcError(Problem("a mapping key must be a plain value",
                                               file=self.name, line=key_line))
                if key in result:
                    raise CnnCalcError(Problem(
                        f"duplicate key {key!r} (first on line {result.line_of(key)})",
                        file=self.name, line=key_line))
                result.key_lines[key] = key_line
                result[key] = self.build(value_node)
            return result
        raise CnnCalcError(Problem(f"unsupported YAML node {node.tag}", file=self.name))


def _clip(text: str, limit: int = 40) -> str:
    """A value short enough to quote in a one-line message."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text):,} chars)"
