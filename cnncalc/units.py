"""Reading and writing human units: counts in SI (k, M, G, T), bytes in binary (KiB, MiB, GiB).

Counts use SI prefixes (1 M = 10^6); bytes are shown in binary units (1 MiB = 2^20 bytes) and
read in either (kB, MB, GB are SI; KiB, MiB, GiB binary). A number without a unit is exact.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import CnnCalcError

COUNT_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
BYTE_UNITS = {
    "": 1, "B": 1,
    "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}

_NUMBER = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _parse(text: str | int, units: dict[str, int], what: str) -> int:
    if isinstance(text, bool):
        raise CnnCalcError(f"{what}: expected a number, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise CnnCalcError(f"{what}: {text} is negative")
        return text
    if isinstance(text, float):
        text = repr(text)
    match = _NUMBER.match(str(text))
    if not match:
        raise CnnCalcError(
            f"{what}: cannot read {text!r}; expected a number with an optional unit "
            f"({', '.join(u for u in units if u)})")
    number, unit = match.groups()
    if unit not in units:
        raise CnnCalcError(
            f"{what}: unknown unit {unit!r} in {text!r}; use one of "
            f"{', '.join(u for u in units if u)}")
    value = Fraction(number.replace("_", "").replace(",", "")) * units[unit]
    if value.denominator != 1:
        raise CnnCalcError(f"{what}: {text!r} is not a whole number")
    return int(value)


def parse_count(text: str | int, what: str = "count") -> int:
    """`5M` -> 5_000_000, `1.5k` -> 1500, `12` -> 12; fractions of one are errors."""
    return _parse(text, COUNT_UNITS, what)


def parse_bytes(text: str | int, what: str = "size") -> int:
    """`20MiB` -> 20 * 2**20, `1GB` -> 10**9, `512` -> 512."""
    return _parse(text, BYTE_UNITS, what)


def si(n: int | float, digits: int = 1) -> str:
    """Counts in SI units: 138.4M, 15.5G, 280."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for prefix, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{sign}{n / size:.{digits}f}{prefix}"
    return f"{sign}{n:,}" if isinstance(n, int) else f"{sign}{n:.{digits}f}"


def binary(n: int | float) -> str:
    """Bytes in binary units: 527.8 MiB, 1.0 KiB, 12 B."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:,} B"


def exact(n: int) -> str:
    """An exact integer with thousands separators: 15,470,264,320."""
    return f"{n:,}"
