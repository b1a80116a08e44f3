"""The JSON view: the document of the README's JSON contract, exact integers throughout.

Written with one layer per line: readable, diff-friendly, and fast (the C encoder handles each
line; a pretty-printed document of 100,000 layers would go through Python's slow encoder).
"""

from __future__ import annotations

import json
from typing import Any

from ..report import Report


def dumps(doc: dict[str, Any]) -> str:
    """A top-level object with one key per line and list items one per line."""
    parts = []
    for key, value in doc.items():
        head = f"  {json.dumps(key)}: "
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            items = ",\n".join("    " + json.dumps(v) for v in value)
            parts.append(f"{head}[\n{items}\n  ]")
        else:
            parts.append(head + json.dumps(value))
    return "{\n" + ",\n".join(parts) + "\n}"


def render(report: Report) -> str:
    return dumps(report.to_dict())
