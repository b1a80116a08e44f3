"""The JSON view: the document of the README's JSON contract, exact integers throughout."""

from __future__ import annotations

import json

from ..report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)
