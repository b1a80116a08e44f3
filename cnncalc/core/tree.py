"""The parsed form of a spec: values that remember the line of every mapping, key and list
item (`LineDict`, `LineList`), made by `yamlread`, kept by `parsecache`, read by everything
after `loader.load_yaml`."""

from __future__ import annotations

from typing import Any


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
