"""The JSON view: `{"cnncalc": version, "command": ..., metadata, tables, data}`.

Every command's document starts with the same two keys. Tables become lists of objects (their
machine columns); a command with a documented contract of its own carries it in `data`.
Written with one list item per line: readable, diff-friendly and fast (the C encoder handles
each line; a pretty-printed document of 10,000 layers would go through Python's slow encoder).
The encoder writes every control and non-ASCII character as a `\\uXXXX` escape, and `##[`
(a GitHub Actions command anywhere in a line) as `##\\u005b`: the same string to a JSON reader.
"""

from __future__ import annotations

import json
from typing import Any

from ..result import Result
from .cells import machine_columns


def value(item: Any) -> Any:
    """A value as JSON holds it: tuples as lists, objects by their `to_dict()`."""
    if isinstance(item, tuple):
        return [value(v) for v in item]
    if isinstance(item, list):
        return [value(v) for v in item]
    if isinstance(item, dict):
        return {k: value(v) for k, v in item.items()}
    if hasattr(item, "to_dict"):
        return item.to_dict()
    return item


def document(result: Result) -> dict[str, Any]:
    from .. import __version__

    doc: dict[str, Any] = {"cnncalc": __version__, "command": result.command, **result.meta}
    for table in result.tables:
        if table.json:
            columns = machine_columns(table)
            doc[table.key] = [{c.key: value(row.values.get(c.key)) for c in columns}
                              for row in table.rows if row.machine]
    doc.update(result.data() if callable(result.data) else result.data)
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """A top-level object with one key per line and list items one per line."""
    parts = []
    for key, item in doc.items():
        head = f"  {json.dumps(key)}: "
        if isinstance(item, list) and item and all(isinstance(v, dict) for v in item):
            items = ",\n".join("    " + json.dumps(v) for v in item)
            parts.append(f"{head}[\n{items}\n  ]")
        else:
            parts.append(head + json.dumps(item))
    return "{\n" + ",\n".join(parts) + "\n}"


def write(result: Result) -> str:
    text = dumps(value(document(result)))
    # `#` occurs only inside JSON strings, where `\u005b` is `[` itself
    return (text.replace("##[", "##\\u005b") if "##[" in text else text) + "\n"
