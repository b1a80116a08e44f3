"""Finding and reading specs: a path, a bundled spec's name, or `-` for standard input."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from .errors import CnnCalcError, Problem
from .loader import MAX_FILE_BYTES, decode, load_yaml, paused_gc, read_text
from .spec import Spec, parse_spec, suggest


@lru_cache(maxsize=1)
def specs_dir() -> Path:
    """The bundled specs: inside the installed package, or `specs/` of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "specs", here.parent / "specs"):
        if candidate.is_dir():
            return candidate
    return here / "specs"


def bundled() -> dict[str, Path]:
    """Bundled spec names and their files, sorted by name."""
    folder = specs_dir()
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    return {p.stem: p for p in files}


def resolve(ref: str) -> tuple[str, Path | None]:
    """A spec reference as (display name, path); `-` is standard input (path None)."""
    if ref == "-":
        return "<stdin>", None
    path = Path(ref)
    if path.exists() or ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        return ref, path
    specs = bundled()
    if ref in specs:
        return str(specs[ref]), specs[ref]
    raise CnnCalcError(Problem(
        f"no such file, and no bundled spec of that name{suggest(ref, specs)}; "
        f"bundled: {', '.join(specs) or 'none'}", file=ref))


def read(ref: str) -> tuple[str, str]:
    """(display name, text) of a spec reference."""
    name, path = resolve(ref)
    if path is None:
        # Read one byte past the limit, not everything: a runaway pipe must not fill memory.
        return name, decode(sys.stdin.buffer.read(MAX_FILE_BYTES + 1), name)
    return name, read_text(path)


def load_text(text: str, name: str = "<string>") -> Spec:
    """Parse the text of a spec (after applying its `extends` and `edits`, see `transfer`)."""
    raw = load_yaml(text, name)
    if isinstance(raw, dict) and ("extends" in raw or "edits" in raw):
        from .transfer import resolve_extends

        raw = resolve_extends(raw, name)
    with paused_gc():
        return parse_spec(raw, name)


def load(ref: str) -> Spec:
    """Load and check a spec from a path, a bundled name or `-` (standard input)."""
    name, text = read(ref)
    return load_text(text, name)
