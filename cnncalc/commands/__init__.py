"""The commands, one module each, registered on `base.app` when their module is imported.

`from cnncalc.commands import app` gives the app with every command (for help, completion and
tests). The console script imports only the module of the command it runs (`register`), so
that `cnncalc show` pays neither for the other commands nor, ever, for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

#: command name -> module in this package, in the order `cnncalc --help` lists them
COMMANDS: dict[str, str] = {
    "show": "show", "specs": "specs", "compare": "compare", "check": "check",
    "memory": "memory", "explain": "explain", "conv": "conv", "scale": "scale", "fit": "fit",
    "pool": "pool", "size": "size",
    "verify": "verify", "import": "import_", "schema": "schema",
    "export": "export", "latency": "latency", "lint": "lint", "conventions": "conventions",
    "resolution": "resolution", "completion": "completion",
}


def register(argv: list[str] | None = None) -> Any:
    """Import the command modules `argv` needs (all of them unless it names one) and
    return the app."""
    from .base import app

    name = next((a for a in argv or [] if not a.startswith("-")), None)
    modules = [COMMANDS[name]] if name in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"{__name__}.{module}")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return register()
    raise AttributeError(name)


__all__ = ["COMMANDS", "app", "register"]
