"""Views of a finished Report: each format is one module with a `render(report, ...)`.

Renderers only format; they compute nothing the engine did not.
"""

from __future__ import annotations

from typing import Literal

FORMATS = ("table", "json")
Format = Literal["table", "json"]
