"""Reading and writing human units: counts in SI (k, M, G, T), bytes in binary (KiB, MiB, GiB).

Counts use SI prefixes (1 M = 10^6); bytes are shown in binary units (1 MiB = 2^20 bytes) and
read in either (kB, MB, GB are SI; KiB, MiB, GiB binary). A number without a unit is exact.
"""

from __future__ import annotations

import re
from fractions import Fraction

from ..errors import CnnCalcError

COUNT_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
BYTE_UNITS = {
    "": 1, "B": 1,
    "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}

#: The largest count or size cnncalc computes or reads (a limit, a budget, a layer's count):
#: past a googol a number is surely a typo, and larger ones would pass Python's 4300-digit
#: int-to-text limit and a float's range when printed.
MAX_COUNT = 10**100
#: Text of a number longer than this is refused before it is read: `1e100000000` or 5,000
#: digits would take minutes (or Python's 4300-digit limit) to turn into an integer.
MAX_NUMBER_CHARS = 120
#: The largest share `parse_share` reads (`--max-growth`): 1,000,000% is 10,001 times the base.
MAX_SHARE_PERCENT = 10**6

# A number as people write it in budgets: digits with optional `_` or `,` separators, an optional
# decimal part and exponent (`5e6`), then an optional unit. The sign is matched so that `-1M`
# gets its own message instead of "cannot read".
_NUMBER = re.compile(
    r"^\s*([+-]?)\s*([0-9][0-9_,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?"
    r"\s*([A-Za-z]*)\s*$")
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*$")


def _unit_hint(unit: str, units: dict[str, int], other: dict[str, int], kind: str) -> str:
    """Why a unit was refused: a case slip (`mib`), a unit of the other family, or unknown."""
    same_case = [u for u in units if u and u.lower() == unit.lower()]
    if same_case:
        return f" (did you mean '{same_case[0]}'?)"
    if unit in other:
        close = [u for u in (unit + "B", unit.upper() + "iB") if u in units]
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return (f"; {unit!r} is a unit of {'bytes' if kind == 'count' else 'counts'}, "
                f"and this is a {'count' if kind == 'count' else 'size in bytes'}{hint}")
    return ""


def _parse(text: str | int, units: dict[str, int], what: str, kind: str = "count") -> int:
    if isinstance(text, bool):  # YAML `yes`/`true`: a bool is an int in Python, refuse it first
        raise CnnCalcError(f"{what}: expected a number, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise CnnCalcError(f"{what}: {clip(text)} is negative; a limit must be 0 or more")
        return _bounded(text, text, what)
    if isinstance(text, float):
        text = repr(text)
    if len(str(text)) > MAX_NUMBER_CHARS:
        raise CnnCalcError(f"{what}: {clip(text)} is too long to be a number "
                           f"(at most {MAX_NUMBER_CHARS} characters; limits stop at 10^100)")
    other = BYTE_UNITS if kind == "count" else COUNT_UNITS
    names = ", ".join(u for u in units if u)
    match = _NUMBER.match(str(text))
    if not match:
        raise CnnCalcError(
            f"{what}: cannot read {text!r}; expected a number with an optional unit "
            f"({names}), e.g. {'5M' if kind == 'count' else '20MiB'}")
    sign, number, exponent, unit = match.groups()
    if unit not in units:
        raise CnnCalcError(
            f"{what}: unknown unit {unit!r} in {text!r}"
            f"{_unit_hint(unit, units, other, kind)}; use one of {names}")
    if sign == "-":
        raise CnnCalcError(f"{what}: {text!r} is negative; a limit must be 0 or more")
    value = Fraction(number.replace("_", "").replace(",", "")) * units[unit]
    if exponent:
        power = int(exponent)
        if power > 300 and value:  # past MAX_COUNT whatever the (at most 120) digits
            raise CnnCalcError(f"{what}: {clip(text)} is more than 10^100, the largest "
                               "count cnncalc reads")
        value *= Fraction(10) ** max(power, -300)  # 1e-9999 is a fraction like 1e-300
    if value.denominator != 1:
        whole = "parameters, MACs and FLOPs are counted" if kind == "count" else "bytes are"
        raise CnnCalcError(
            f"{what}: {text!r} is not a whole number; {whole} in whole units "
            f"(write e.g. {'1500 or 1.5k' if kind == 'count' else '1536 or 1.5KiB'})")
    return _bounded(int(value), text, what)


def _bounded(value: int, text: object, what: str) -> int:
    if value > MAX_COUNT:
        raise CnnCalcError(f"{what}: {clip(text)} is more than 10^100, the largest count "
                           "cnncalc reads")
    return value


def clip(value: object, limit: int = 40) -> str:
    """A value for a one-line message: `'99999...' (5,000 chars)` when it is long."""
    if isinstance(value, int) and value.bit_length() > 4000:  # str() would raise past 4300
        return f"an integer of {value.bit_length():,} bits"
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    head = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{head}... ({len(text):,} chars)"


def parse_count(text: str | int, what: str = "count") -> int:
    """`5M` -> 5_000_000, `1.5k` -> 1500, `12` -> 12, `5e6` -> 5_000_000.

    SI prefixes k/K, M, G (or B, billion), T. Negative numbers and values that are not whole
    (`1.5`, `0.5k`... of a count) are errors, as are unknown units (`5Q`).
    """
    return _parse(text, COUNT_UNITS, what, "count")


def parse_bytes(text: str | int, what: str = "size") -> int:
    """`20MiB` -> 20 * 2**20, `1GB` -> 10**9, `512` -> 512 (bytes; kB/MB/GB are SI)."""
    return _parse(text, BYTE_UNITS, what, "bytes")


def parse_share(text: str | float, what: str = "share") -> Fraction:
    """`5%` -> 1/20, `0.5%` -> 1/200: an exact share, written with a percent sign.

    The sign is required: a bare `5` could mean 5% or 500%, so it is an error.
    """
    raw = str(text)
    if len(raw) > MAX_NUMBER_CHARS:
        raise CnnCalcError(f"{what}: {clip(raw)} is too long to be a percentage")
    match = _PERCENT.match(raw)
    if not match:
        hint = ""
        if re.match(r"^\s*[0-9.]+\s*$", raw):
            hint = f"; write it with a percent sign, e.g. '{raw.strip()}%'"
        elif raw.strip().startswith("-"):
            hint = "; a share must be 0% or more"
        raise CnnCalcError(f"{what}: cannot read {raw!r} as a percentage{hint}")
    share = Fraction(match.group(1))
    if share > MAX_SHARE_PERCENT:
        raise CnnCalcError(f"{what}: {clip(raw)} is more than {MAX_SHARE_PERCENT:,}%, the "
                           "largest share cnncalc reads")
    return share / 100


def _scaled(n: int | float, base: int, units: tuple[str, ...], digits: int) -> tuple[int, str]:
    """(index into units, text) of the largest unit not above `n`, moving up one unit when the
    text would round to `base` of it (999,999 is 1.0M, not 1000.0k); index -1 past the last."""
    index = 0
    while index + 1 < len(units) and n >= base ** (index + 1):
        index += 1
    if index == 0 and isinstance(n, float) and float(f"{n:.{digits}f}") >= base:
        index = 1  # a fraction below the base that rounds up to it: 999.96 is 1.0k
    while index > 0:
        text = f"{n / base ** index:.{digits}f}"
        if float(text) < base:
            return index, text
        if index + 1 == len(units):
            return -1, ""
        index += 1
    return 0, ""


def si(n: int | float, digits: int = 1) -> str:
    """Counts in SI units: 138.4M, 15.5G, 280. Past 10^15 (or what rounds to it) prefixes stop
    helping: 1.0e+36 reads better than 1e24T."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    index, text = _scaled(n, 1000, ("", "k", "M", "G", "T"), digits)
    if index == -1:
        return f"{sign}{float(n):.{digits}e}"
    if index == 0:
        return f"{sign}{n:,}" if isinstance(n, int) else f"{sign}{n:.{digits}f}"
    return f"{sign}{text}{('', 'k', 'M', 'G', 'T')[index]}"


def binary(n: int | float) -> str:
    """Bytes in binary units: 527.8 MiB, 1.0 KiB, 12 B; 2^20 - 1 bytes is 1.0 MiB (not
    1024.0 KiB); past 1024 TiB: 4.0e+36 B."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    index, text = _scaled(n, 1024, units, 1)
    if index == -1:
        return f"{float(n):.1e} B"
    if index == 0:
        return f"{n:,} B"
    return f"{text} {units[index]}"


def exact(n: int) -> str:
    """An exact integer with thousands separators: 15,470,264,320."""
    return f"{n:,}"
