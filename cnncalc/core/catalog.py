"""The bundled specs: `specs/` inside the installed package (or of a source checkout)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def specs_dir() -> Path:
    """The bundled specs: inside the installed package, or `specs/` of a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "specs", package.parent / "specs"):
        if candidate.is_dir():
            return candidate
    return package / "specs"


def bundled() -> dict[str, Path]:
    """Bundled spec names and their files, sorted by name."""
    folder = specs_dir()
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    return {p.stem: p for p in files}
