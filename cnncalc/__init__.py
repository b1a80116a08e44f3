"""cnncalc: shapes, parameters, multiply-adds and memory of convolutional networks.

    >>> import cnncalc
    >>> report = cnncalc.analyze(cnncalc.load("lenet5"))
    >>> report.totals.params
    62006

The public names below load on first use, so that `import cnncalc` is cheap. The core never
imports torch; `cnncalc.torch` (an optional extra) builds specs as modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "CnnCalcError", "Problem", "analyze", "bundled", "load", "load_text"]

_HOMES = {"analyze": "core.engine", "CnnCalcError": "errors", "Problem": "errors",
          "bundled": "core.catalog", "load": "core.source", "load_text": "core.source"}

if TYPE_CHECKING:
    from .core.catalog import bundled
    from .core.engine import analyze
    from .core.source import load, load_text
    from .errors import CnnCalcError, Problem


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        from . import notebook  # noqa: F401  (a Report's notebook views, registered on import)

        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
