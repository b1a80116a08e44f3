"""The convolution operation of the lecture, on small matrices, in plain Python (no numpy).

It is cross-correlation, as the lecture and every deep-learning framework compute it: the filter
is not flipped. Output `[i][j] = sum_{u,v} X[i*s + u][j*s + v] * W[u][v]` over the padded input.
Output size per axis: `floor((n + p_before + p_after - f) / s) + 1`.

Padding: `valid` (none), `same` (`ceil(n / s)` outputs; `p = (f - 1) / 2` for stride 1 and odd
`f`, otherwise the extra row/column goes after, the TensorFlow rule), or a whole number `p` on
every side; filled with zeros or by replicating the nearest edge value (the lecture draws both).
"""

from __future__ import annotations

import csv
import io
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..core import formulas as F
from ..core.units import clip
from ..errors import CnnCalcError

Number = int | float
MAX_PADDING = 100
Matrix = list[list[Number]]
#: Bounds that keep `cnncalc conv` within a second or so (it is for the lecture's small
#: matrices, printed cell by cell): values in one matrix (the input or the filter) and in
#: the padded input, the stride, and multiply-adds of the whole convolution.
MAX_VALUES = 250_000
MAX_PADDED = 300_000
MAX_STRIDE = 1000
MAX_WORK = 5_000_000

#: The lecture's filters (vertical and horizontal edge) and the classic Sobel and Scharr ones.
#: "vertical" filters find vertical edges (bright on the left gives positive values).
FILTERS: dict[str, Matrix] = {
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel-vertical": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel-horizontal": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "scharr-vertical": [[3, 0, -3], [10, 0, -10], [3, 0, -3]],
    "scharr-horizontal": [[3, 10, 3], [0, 0, 0], [-3, -10, -3]],
}


def _number(text: str, where: str) -> Number:
    text = text.strip()
    if len(text) > 100:  # int() of thousands of digits is slow, then refused
        raise CnnCalcError(f"{where}: {text[:40]!r}... is not a number this command reads "
                           "(at most 100 characters)")
    if text.lstrip("+-").isdigit():
        return int(text)
    try:
        # float() rounds a decimal correctly, as float(Fraction()) does, and much faster;
        # Fraction reads `1/3`. Neither may give inf or nan ('1e400', 'nan').
        value = float(text) if "/" not in text else float(Fraction(text))
    except (ValueError, ZeroDivisionError, OverflowError):  # OverflowError: '1e400/3'
        value = math.nan
    if not math.isfinite(value):
        raise CnnCalcError(f"{where}: {text!r} is not a number")
    return int(value) if value.is_integer() and "." not in text and "/" not in text else value


def check_matrix(rows: Any, where: str) -> Matrix:
    """A non-empty rectangular list of lists of numbers, of at most MAX_VALUES values."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        raise CnnCalcError(f"{where}: expected a non-empty matrix (a list of rows)")
    width = len(rows[0])
    if len(rows) * width > MAX_VALUES:
        raise CnnCalcError(f"{where}: {len(rows):,}x{width:,} is more than the {MAX_VALUES:,} "
                           "values this command convolves (it prints every cell)")
    for index, row in enumerate(rows, 1):
        if len(row) != width:
            raise CnnCalcError(f"{where}: row {index} has {len(row)} values, row 1 has {width}")
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise CnnCalcError(f"{where}: row {index}: {value!r} is not a number")
    return rows


def parse_matrix(text: str, where: str = "matrix") -> Matrix:
    """`"3 0 1; 1 5 8"`: rows split by `;` or new lines, values by spaces or commas."""
    if len(text) > MAX_VALUES * 24:  # read no more than MAX_VALUES numbers can take
        raise CnnCalcError(f"{where}: {len(text):,} characters is more than a matrix of "
                           f"{MAX_VALUES:,} values")
    rows = []
    for part in text.replace("\n", ";").split(";"):
        values = part.replace(",", " ").split()
        if values:
            rows.append([_number(v, where) for v in values])
    return check_matrix(rows, where)


def read_matrix(path: str) -> Matrix:
    """A matrix from a `.csv` file (one row per line) or a `.yaml` file (a list of lists)."""
    from ..core.loader import load_yaml, read_text

    text = read_text(path)
    if path.lower().endswith((".yaml", ".yml")):
        data = load_yaml(text, path)
        return check_matrix([list(r) if isinstance(r, list) else r for r in data]
                            if isinstance(data, list) else data, path)
    rows = [[_number(v, path) for v in row] for row in csv.reader(io.StringIO(text))
            if any(v.strip() for v in row)]
    return check_matrix(rows, path)


def matrix_arg(value: str, where: str) -> Matrix:
    """A matrix given inline, or as the path of a CSV or YAML file."""
    if value.lower().endswith((".csv", ".yaml", ".yml")) and Path(value).exists():
        return read_matrix(value)
    if value.lower().endswith((".csv", ".yaml", ".yml")):
        raise CnnCalcError(f"{where}: no such file {value!r}")
    return parse_matrix(value, where)


def filter_arg(value: str) -> Matrix:
    """A built-in filter's name, or a custom filter (inline or a file)."""
    if value in FILTERS:
        return FILTERS[value]
    if not any(c.isdigit() for c in value):
        from ..errors import suggest

        raise CnnCalcError(f"--filter: unknown filter {value!r}{suggest(value, FILTERS)}; "
                           f"built in: {', '.join(FILTERS)}; or give numbers, e.g. "
                           "'1 0 -1; 1 0 -1; 1 0 -1'")
    return matrix_arg(value, "--filter")


def paddings(padding: str | int, n: tuple[int, int], f: tuple[int, int],
             s: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) for `valid`, `same` or a whole number."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return (*F.same_padding(n[0], f[0], s), *F.same_padding(n[1], f[1], s))
    if isinstance(padding, str):
        try:
            padding = int(padding)
        except ValueError:
            raise CnnCalcError(f"--padding must be valid, same or a whole number, "
                               f"got {clip(padding)}") from None
    if padding < 0:
        raise CnnCalcError(f"--padding must not be negative, got {padding}")
    if padding > MAX_PADDING:  # the padded matrix is built and printed cell by cell
        raise CnnCalcError(f"--padding {padding} is more than the {MAX_PADDING} this "
                           "command pads small matrices by")
    return (padding, padding, padding, padding)


def pad(x: Matrix, pads: tuple[int, int, int, int], mode: str = "zeros") -> Matrix:
    """The padded matrix: zeros, or each new cell copies the nearest edge value (replicate)."""
    if mode not in ("zeros", "replicate"):
        raise CnnCalcError(f"padding mode must be zeros or replicate, got {mode!r}")
    top, bottom, left, right = pads
    h, w = len(x), len(x[0])
    out = []
    for i in range(-top, h + bottom):
        row = []
        for j in range(-left, w + right):
            if 0 <= i < h and 0 <= j < w:
                row.append(x[i][j])
            elif mode == "zeros":
                row.append(0)
            else:
                row.append(x[min(max(i, 0), h - 1)][min(max(j, 0), w - 1)])
        out.append(row)
    return out


def convolve(x: Matrix, w: Matrix, stride: int = 1, padding: str | int = "valid",
             mode: str = "zeros") -> Matrix:
    """Cross-correlate `x` with the filter `w` (no flip), with padding and stride.

    Each output row is built tap by tap (`out[j] += w[u][v] * row[j*s + v]` over whole rows),
    adding the taps in the order of the formula (u, then v), so floats round as they would
    cell by cell; at most MAX_WORK multiply-adds.
    """
    if not 1 <= stride <= MAX_STRIDE:
        raise CnnCalcError(f"--stride must be from 1 to {MAX_STRIDE:,}, got {stride}")
    n, f = (len(x), len(x[0])), (len(w), len(w[0]))
    pads = paddings(padding, n, f, stride)
    ph, pw = n[0] + pads[0] + pads[1], n[1] + pads[2] + pads[3]
    if f[0] > ph or f[1] > pw:
        raise CnnCalcError(f"the {f[0]}x{f[1]} filter does not fit the {ph}x{pw} "
                           f"(padded) input")
    if ph * pw > MAX_PADDED:
        raise CnnCalcError(f"the padded input {ph:,}x{pw:,} is more than the {MAX_PADDED:,} "
                           "values this command convolves (it prints every cell)")
    rows = (ph - f[0]) // stride + 1
    cols = (pw - f[1]) // stride + 1
    if rows * cols * f[0] * f[1] > MAX_WORK:
        raise CnnCalcError(f"a {rows:,}x{cols:,} output of a {f[0]}x{f[1]} filter is "
                           f"{rows * cols * f[0] * f[1]:,} multiply-adds, more than the "
                           f"{MAX_WORK:,} this command computes")
    from itertools import repeat
    from operator import add, mul

    padded = pad(x, pads, mode)
    span = (cols - 1) * stride + 1
    out = []
    for i in range(rows):
        acc: list[Number] = [0] * cols
        for u in range(f[0]):
            line = padded[i * stride + u]
            for v, weight in enumerate(w[u]):
                if weight:  # a zero tap adds 0 (or -0.0): the printed sums are the same
                    acc = list(map(add, acc, map(mul, line[v:v + span:stride],
                                                 repeat(weight))))
        out.append(acc)
    return out


def fmt(value: Number) -> str:
    """Whole numbers without decimals; others with up to 4 significant decimals."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"
