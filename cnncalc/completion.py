"""Writes the shell completion scripts of `cnncalc completion SHELL` into a folder: the copies in
`completions/`, which the wheel ships (a test keeps them equal to the command's output).

    python -m cnncalc.completion generate completions/
"""

from __future__ import annotations

import sys
from pathlib import Path

from .commands.completion import FILES, script

__all__ = ["FILES", "generate", "main", "script"]


def generate(directory: Path) -> list[Path]:
    """Write every shell's script into `directory`; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in FILES.items():
        path = directory / name
        path.write_text(script(shell), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m cnncalc.completion generate DIR`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "generate":
        print("usage: python -m cnncalc.completion generate DIRECTORY", file=sys.stderr)
        return 2
    for path in generate(Path(args[1])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
