"""Parsed YAML kept between runs, so a spec read again skips PyYAML (its import and its parse).

`cnncalc show vgg16` spends about a twentieth of its start-up importing PyYAML; a spec that
was parsed before is read back from a JSON file instead (json is imported anyway).

- Where: `$CNNCALC_CACHE_DIR`, else `$XDG_CACHE_HOME/cnncalc`, else `~/.cache/cnncalc`; one
  file per text, `yaml-<crc32>-<length>.json`. `CNNCALC_CACHE_DIR=off` turns the cache off.
- Exact: an entry holds the whole text it was parsed from and the version of the parser that
  parsed it, and is used only when both are equal to the text being read and this parser: a
  changed spec, a changed parser and a colliding checksum all parse afresh. An entry that
  cannot be read (truncated, edited, of another layout) is parsed afresh and written again.
- Only what parsed is kept: a text with an error is parsed every time, so its message is
  always the parser's own.
- Safe to lose: written to a temporary file and renamed (two runs never see half a file);
  any failure to read or write the folder (read-only, full, missing home) is ignored and the
  run goes on uncached. At most MAX_ENTRIES files are kept (the oldest go first), and texts
  over MAX_TEXT characters are not kept.
- Nothing else is cached: a spec's `extends`/`imports` files are each read and kept the same
  way, and every check of the parsed values (kinds, fields, shapes) runs on every read.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from .tree import LineDict, LineList

#: Texts longer than this are parsed every time (a cache entry holds the text twice over).
MAX_TEXT = 1 << 20
#: Entries kept; past it, writing one removes the oldest.
MAX_ENTRIES = 256
#: The layout of an entry; a change to it, or to the parser's modules, makes older entries
#: unused (see `_parser_version`).
LAYOUT = 1

_version: str | None = None


def folder() -> Path | None:
    """The cache folder, or None when the cache is off."""
    chosen = os.environ.get("CNNCALC_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnncalc"


def _parser_version() -> str:
    """What parsed an entry: the entry layout and the size and time of change of the modules
    that parse (a new cnncalc installs them anew, and an edited parser in a checkout changes
    them: neither reads an older entry)."""
    global _version
    if _version is None:
        here = Path(__file__).parent
        stamps = []
        for module in ("yamlread.py", "tree.py", "loader.py", "parsecache.py"):
            try:
                stat = (here / module).stat()
                stamps.append(f"{stat.st_size}.{stat.st_mtime_ns}")
            except OSError:
                stamps.append("?")
        _version = f"{LAYOUT}:{':'.join(stamps)}"
    return _version


def _path(where: Path, text: str) -> Path:
    return where / f"yaml-{zlib.crc32(text.encode('utf-8', 'surrogatepass')):08x}-{len(text)}.json"


def get(text: str) -> Any | None:
    """The parsed form of `text` kept by an earlier run, or None."""
    where = folder()
    if where is None or len(text) > MAX_TEXT:
        return None
    try:
        with open(_path(where, text), encoding="utf-8") as handle:
            entry = json.load(handle)
        if (not isinstance(entry, dict) or entry.get("version") != _parser_version()
                or entry.get("text") != text):
            return None
        return _decode(entry["tree"])
    except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None


def put(text: str, tree: Any) -> None:
    """Keep the parsed form of `text` (quietly nothing when it cannot be written)."""
    where = folder()
    if where is None or len(text) > MAX_TEXT:
        return
    try:
        encoded = json.dumps({"version": _parser_version(), "text": text,
                              "tree": _encode(tree)}, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):  # a value JSON cannot hold exactly
        return
    target = _path(where, text)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        where.mkdir(parents=True, exist_ok=True)
        temporary.write_text(encoded, encoding="utf-8")
        os.replace(temporary, target)
        _prune(where)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


def _prune(where: Path) -> None:
    entries = list(where.glob("yaml-*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime_ns)
    for old in entries[:len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)


# A parsed tree is LineDict, LineList and scalars (str, int, float, bool, None; mapping keys
# are scalars too). As JSON: a mapping is {"m": line, "k": [[key, line], ...], "v": [[key,
# value], ...]}, a list {"l": line, "i": item lines, "v": values}; JSON's own objects are used
# for nothing else, so a scalar is never mistaken for one. Floats keep inf and nan (Python's
# json writes Infinity and NaN) and -0.0.

def _encode(value: Any) -> Any:
    if isinstance(value, LineDict):
        if type(value) is not LineDict:
            raise TypeError(type(value))
        if any(isinstance(k, float) and k != k for k in value.key_lines):
            raise ValueError("a nan key is found by its identity only")
        return {"m": value.line, "k": [[k, n] for k, n in value.key_lines.items()],
                "v": [[k, _encode(v)] for k, v in value.items()]}
    if isinstance(value, LineList):
        if type(value) is not LineList:
            raise TypeError(type(value))
        return {"l": value.line, "i": value.item_lines, "v": [_encode(v) for v in value]}
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise TypeError(type(value))


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "m" in value:
            out = LineDict(value["m"])
            out.key_lines = {_key(k): n for k, n in value["k"]}
            for key, item in value["v"]:
                out[_key(key)] = _decode(item)
            return out
        out_list = LineList(value["l"])
        out_list.item_lines = list(value["i"])
        out_list.extend(_decode(v) for v in value["v"])
        return out_list
    if isinstance(value, list):  # only the parts above hold lists
        raise ValueError("a list where a value was expected")
    return value


def _key(key: Any) -> Any:
    if isinstance(key, (dict, list)):
        raise ValueError("a mapping key must be a plain value")
    return key
