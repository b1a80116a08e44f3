"""The console script: `cnncalc` and `python -m cnncalc` start here.

It imports only the module of the command being run (`commands.register`): `cnncalc show`
pays neither for the other commands nor, ever, for torch.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Console-script entry point."""
    import os

    from .commands import register

    # cnncalc's models need no pydantic plugins; looking for them scans every installed
    # package's entry points, a fifth of `cnncalc show`'s own start-up time.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # A short-lived process that builds many acyclic objects: the cyclic collector only
    # costs time here (rendering 10,000 rows included). Memory is freed by refcounting.
    import gc

    gc.disable()

    if any(key.endswith("_COMPLETE") for key in os.environ):
        # The scripts in completions/ call back with _CNNCALC_COMPLETE set; the app is built
        # with add_completion=False (no --install-completion), so register typer's shells.
        from typer.completion import completion_init

        completion_init()
        register()()  # every command, to complete any of them
        return
    register(sys.argv[1:])()
