"""The convolution operation of the lecture, on small matrices, in plain Python (no numpy).

It is cross-correlation, as the lecture and every deep-learning framework compute it: the filter
is not flipped. Output `[i][j] = sum_{u,v} X[i*s + u][j*s + v] * W[u][v]` over the padded input.
Output size per axis: `floor((n + p_before + p_after - f) / s) + 1`.

Padding: `valid` (none), `same` (`ceil(n / s)` outputs; `p = (f - 1) / 2` for stride 1 and odd
`f`, otherwise the extra row/column goes after, the TensorFlow rule), or a whole number `p` on
every side; filled with zeros or by replicating the nearest edge value (the lecture draws both).

Volumes: an input of `n_c` channels (one matrix each) meets filters of `n_c` channels; each
filter gives one output map, the sum over the channels of each channel's cross-correlation
(its partial sums), plus the filter's bias, through the activation (`convolve_volume`).

Pooling (`pool`, `adaptive_pool`) takes each channel on its own. Max pooling never picks a
padded cell (torch pads with -inf); average pooling divides by the whole window, padded zeros
included (torch's default, `count_include_pad=True`). Adaptive pooling uses torch's windows
(`AdaptiveAvgPool2d`: output `i` pools `[floor(i n / t), ceil((i + 1) n / t))`);
`lecture_windows` gives the course's rule (`s = floor(n / t)`, `f = n - (t - 1) s`) beside them.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
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


# --------------------------------------------------------------------------- volumes

Volume = list[Matrix]


def _check_volume(channels: list[Matrix], where: str) -> Volume:
    """Channels of one height and width, at most MAX_VALUES values in all."""
    h, w = len(channels[0]), len(channels[0][0])
    for index, channel in enumerate(channels[1:], 2):
        if (len(channel), len(channel[0])) != (h, w):
            raise CnnCalcError(f"{where}: channel {index} is {len(channel)}x{len(channel[0])}, "
                               f"channel 1 is {h}x{w}; every channel has one size")
    if len(channels) * h * w > MAX_VALUES:
        raise CnnCalcError(f"{where}: {len(channels):,} channels of {h:,}x{w:,} are more than "
                           f"the {MAX_VALUES:,} values this command reads (it prints every cell)")
    return channels


def read_volume(path: str) -> Volume:
    """The channels of a `.csv` file (a blank line between channels) or a `.yaml` file (a
    matrix, or a list of matrices: one per channel)."""
    from ..core.loader import load_yaml, read_text

    text = read_text(path)
    if path.lower().endswith((".yaml", ".yml")):
        data = load_yaml(text, path)
        if isinstance(data, list) and data and all(
                isinstance(r, list) and r and isinstance(r[0], list) for r in data):
            return _check_volume([check_matrix([list(r) if isinstance(r, list) else r
                                                for r in m], f"{path}: channel {i}")
                                  for i, m in enumerate(data, 1)], path)
        return [check_matrix([list(r) if isinstance(r, list) else r for r in data]
                             if isinstance(data, list) else data, path)]
    channels: list[list[list[Number]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if any(v.strip() for v in row):
            channels[-1].append([_number(v, path) for v in row])
        elif channels[-1]:  # a blank line ends a channel (several blank lines: one break)
            channels.append([])
    channels = [c for c in channels if c] or [[]]
    return _check_volume([check_matrix(c, path if len(channels) == 1 else
                                       f"{path}: channel {i}")
                          for i, c in enumerate(channels, 1)], path)


def _is_file(value: str) -> bool:
    return value.lower().endswith((".csv", ".yaml", ".yml"))


def volume_arg(value: str, where: str) -> Volume:
    """An input of one or more channels: inline, one matrix per channel separated by `|`
    (`"1 2; 3 4 | 5 6; 7 8"`), or a CSV or YAML file (`read_volume`)."""
    if _is_file(value):
        if not Path(value).exists():
            raise CnnCalcError(f"{where}: no such file {value!r}")
        return read_volume(value)
    parts = value.split("|")
    return _check_volume([parse_matrix(part, where if len(parts) == 1 else
                                       f"{where}: channel {i}")
                          for i, part in enumerate(parts, 1)], where)


def filter_volume(value: str, where: str = "--filter") -> Volume:
    """A filter of one or more channels: like `volume_arg`, and a channel may be a built-in
    filter's name (`"vertical | vertical | vertical"`)."""
    if _is_file(value):
        return volume_arg(value, where)
    parts = value.split("|")
    if len(parts) == 1:
        return [filter_arg(value)]
    return _check_volume([filter_arg(part.strip()) if part.strip() in FILTERS
                          or not any(c.isdigit() for c in part)
                          else parse_matrix(part, f"{where}: channel {i}")
                          for i, part in enumerate(parts, 1)], where)


#: The activations `cnncalc conv` applies, by the names a spec uses.
ACTIVATIONS: dict[str, Any] = {
    "relu": lambda v: v if v > 0 else 0,
    "tanh": math.tanh,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)),
    "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
}


def convolve_volume(x: Volume, w: Volume, stride: int = 1, padding: str | int = "valid",
                    mode: str = "zeros") -> tuple[list[Matrix], Matrix]:
    """(each channel's partial sums, their sum): `Z = sum_c X_c * W_c` for one filter."""
    if len(w) != len(x):
        raise CnnCalcError(
            f"the filter has {len(w)} channel{'s' if len(w) != 1 else ''}, the input "
            f"{len(x)}: a filter has one matrix per input channel (separate them with |, "
            "e.g. 'vertical | vertical | vertical')")
    partials = [convolve(xc, wc, stride, padding, mode) for xc, wc in zip(x, w, strict=True)]
    total = partials[0]
    from operator import add

    for part in partials[1:]:
        total = [list(map(add, a, b)) for a, b in zip(total, part, strict=True)]
    return partials, total


def activate(z: Matrix, bias: Number = 0, activation: str | None = None) -> Matrix:
    """`g(z + b)` cell by cell (no activation: `z + b`)."""
    if activation is not None and activation not in ACTIVATIONS:
        from ..errors import suggest

        raise CnnCalcError(f"--activation: unknown {activation!r}"
                           f"{suggest(activation, ACTIVATIONS)}; one of {', '.join(ACTIVATIONS)}")
    g = ACTIVATIONS[activation] if activation else None
    out = []
    for row in z:
        row = [v + bias for v in row] if bias else list(row)
        out.append([g(v) for v in row] if g else row)
    return out


# --------------------------------------------------------------------------- pooling

Windows = list[tuple[int, int]]


def sliding_windows(n: int, f: int, s: int, before: int, after: int) -> Windows:
    """[start, end) of each window along an axis, in input positions (padding below 0 and
    past n), `floor((n + before + after - f) / s) + 1` of them."""
    count = F.output_size(n, f, s, before, after)
    return [(i * s - before, i * s - before + f) for i in range(count)]


def torch_windows(n_in: int, n_out: int) -> Windows:
    """Torch's adaptive windows along an axis (`formulas.adaptive_bounds`)."""
    return [F.adaptive_bounds(n_in, n_out, i) for i in range(n_out)]


def lecture_windows(n_in: int, n_out: int) -> Windows | None:
    """The course's adaptive rule as windows, `[i s, i s + f)` with `s = floor(n_in / n_out)`,
    `f = n_in - (n_out - 1) s`; None where it has no stride (a target larger than the
    input: s = 0)."""
    f, s = F.adaptive_window(n_in, n_out)
    if s < 1:
        return None
    return [(i * s, i * s + f) for i in range(n_out)]


def pool_windows(x: Matrix, mode: str, rows: Windows, cols: Windows,
                 divisor: int | None = None, channels: int = 1) -> Matrix:
    """Max or average of `x` over each (row window, column window). Positions outside `x`
    are padding: max skips them, average counts them as zeros when `divisor` (the whole
    window) is given, else divides by the cells inside. At most MAX_WORK cells are read for
    all `channels` of a volume together."""
    if mode not in ("max", "avg"):
        raise CnnCalcError(f"pooling mode must be max or avg, got {mode!r}")
    h, w = len(x), len(x[0])
    work = sum(e - b for b, e in rows) * sum(e - b for b, e in cols) * channels
    if work > MAX_WORK:
        raise CnnCalcError(f"pooling reads {work:,} cells, more than the {MAX_WORK:,} this "
                           "command computes")
    out = []
    for r0, r1 in rows:
        line = []
        for c0, c1 in cols:
            cells = [x[i][j] for i in range(max(r0, 0), min(r1, h))
                     for j in range(max(c0, 0), min(c1, w))]
            if not cells:
                raise CnnCalcError("a pooling window lies wholly in the padding")
            if mode == "max":
                line.append(max(cells))
            else:
                line.append(_mean(sum(cells), divisor or len(cells)))
        out.append(line)
    return out


def _mean(total: Number, count: int) -> Number:
    """An exact quotient where the sum is a whole number that `count` divides."""
    if isinstance(total, int) and total % count == 0:
        return total // count
    return total / count


def pool(x: Matrix, mode: str, kernel: tuple[int, int], stride: tuple[int, int],
         padding: str | int = "valid", channels: int = 1) -> Matrix:
    """Max or average pooling of one channel (see the module docstring for padding)."""
    if not all(1 <= s <= MAX_STRIDE for s in stride):
        raise CnnCalcError(f"--stride must be from 1 to {MAX_STRIDE:,}, got "
                           f"{'x'.join(map(str, stride))}")
    n = (len(x), len(x[0]))
    top, bottom, left, right = pool_paddings(padding, n, kernel, stride)
    for axis, (size, f, a, b) in enumerate(((n[0], kernel[0], top, bottom),
                                            (n[1], kernel[1], left, right))):
        if F.output_size(size, f, stride[axis], a, b) < 1:
            name = "height" if axis == 0 else "width"
            raise CnnCalcError(f"the {f}-wide window does not fit the input {name} {size} "
                               f"padded by {a}+{b}")
    return pool_windows(x, mode, sliding_windows(n[0], kernel[0], stride[0], top, bottom),
                        sliding_windows(n[1], kernel[1], stride[1], left, right),
                        kernel[0] * kernel[1], channels)


def pool_paddings(padding: str | int, n: tuple[int, int], kernel: tuple[int, int],
                  stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a pooling window: `valid`, `same` (TensorFlow's rule) or
    a whole number, at most half the kernel (torch refuses more: a window would start in
    the padding)."""
    if padding == "same":
        return (*F.same_padding(n[0], kernel[0], stride[0]),
                *F.same_padding(n[1], kernel[1], stride[1]))
    pads = paddings(padding, n, kernel, stride[0])
    if pads[0] > kernel[0] // 2 or pads[2] > kernel[1] // 2:
        raise CnnCalcError(f"--padding {pads[0]} is more than half the kernel "
                           f"{'x'.join(map(str, kernel))} (torch refuses it: every window must "
                           "start in the input)")
    return pads


def adaptive_pool(x: Matrix, mode: str, target: tuple[int, int],
                  rule: str = "torch", channels: int = 1) -> Matrix:
    """Adaptive pooling of one channel to `target`, with torch's windows, or with the
    course's rule (`rule="lecture"`, where it has a stride)."""
    n = (len(x), len(x[0]))
    if max(target) > 10_000:
        raise CnnCalcError(f"--adaptive {'x'.join(map(str, target))}: at most 10,000 outputs "
                           "per side")
    if rule == "torch":
        rows, cols = torch_windows(n[0], target[0]), torch_windows(n[1], target[1])
    else:
        found = lecture_windows(n[0], target[0]), lecture_windows(n[1], target[1])
        if found[0] is None or found[1] is None:
            raise CnnCalcError("the course's adaptive rule needs a target no larger than the "
                               "input (s = floor(n_in / n_out) is 0)")
        rows, cols = found
    return pool_windows(x, mode, rows, cols, channels=channels)


# --------------------------------------------------------------------------- a layer

@dataclass(frozen=True, slots=True)
class FilterOutput:
    """One filter's work: each channel's partial sums, their sum `z`, and `g(z + b)`."""

    partials: list[Matrix]
    z: Matrix
    out: Matrix


def conv_layer(x: Volume, filters: list[Volume], stride: int = 1,
               padding: str | int = "valid", mode: str = "zeros",
               biases: list[Number] | None = None,
               activation: str | None = None) -> list[FilterOutput]:
    """A convolutional layer on a small volume: every filter over every channel, its bias
    added and the activation applied; one output map per filter."""
    biases = biases or []
    if biases and len(biases) != len(filters):
        raise CnnCalcError(f"--bias: {len(biases)} value{'s' if len(biases) != 1 else ''} for "
                           f"{len(filters)} filter{'s' if len(filters) != 1 else ''}: give one "
                           "bias per filter")
    size = (len(filters[0][0]), len(filters[0][0][0]))
    for index, w in enumerate(filters[1:], 2):
        if (len(w), len(w[0]), len(w[0][0])) != (len(filters[0]), *size):
            raise CnnCalcError(
                f"--filter {index} is {len(w[0])}x{len(w[0][0])}x{len(w)}, filter 1 "
                f"{size[0]}x{size[1]}x{len(filters[0])}: the filters of a layer have one size")
    n = (len(x[0]), len(x[0][0]))
    if not 1 <= stride <= MAX_STRIDE:
        raise CnnCalcError(f"--stride must be from 1 to {MAX_STRIDE:,}, got {stride}")
    pads = paddings(padding, n, size, stride)
    rows = F.output_size(n[0], size[0], stride, pads[0], pads[1])
    cols = F.output_size(n[1], size[1], stride, pads[2], pads[3])
    work = max(rows, 0) * max(cols, 0) * size[0] * size[1] * len(x) * len(filters)
    if work > MAX_WORK:
        what = (f"{len(filters):,} filters of {size[0]}x{size[1]}x{len(x)}"
                if len(filters) > 1 else f"a {size[0]}x{size[1]}x{len(x)} filter")
        raise CnnCalcError(f"{what} over a {rows:,}x{cols:,} output is {work:,} multiply-adds, "
                           f"more than the {MAX_WORK:,} this command computes")
    found = []
    for index, w in enumerate(filters):
        partials, z = convolve_volume(x, w, stride, padding, mode)
        out = activate(z, biases[index] if biases else 0, activation)
        found.append(FilterOutput(partials, z, out))
    return found


def number_arg(text: str, where: str) -> Number:
    """One number as the matrices read them (`1`, `-0.5`, `1/16`)."""
    return _number(text, where)


def size_pair(text: str, where: str) -> tuple[int, int]:
    """`3` or `3x5` (height x width): whole numbers from 1 to 10,000."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) not in (1, 2) or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise CnnCalcError(f"{where}: expected a whole number or HxW (2, 2x3), got {clip(text)}")
    values = [int(p) for p in parts]
    if not all(1 <= v <= 10_000 for v in values):
        raise CnnCalcError(f"{where}: sizes are from 1 to 10,000, got {clip(text)}")
    return (values[0], values[-1])


def _spans(windows: Windows, most: int = 12) -> str:
    shown = ", ".join(f"[{a}, {b})" for a, b in windows[:most])
    return shown + (f", ... ({len(windows)} windows)" if len(windows) > most else "")


def adaptive_lines(n: tuple[int, int], target: tuple[int, int]) -> list[str]:
    """Per axis: the course's adaptive rule with its windows, and torch's where they differ
    (which `adaptive_pool` computes)."""
    lines = []
    for axis, n_in, n_out in (("height", n[0], target[0]), ("width", n[1], target[1])):
        f, s = F.adaptive_window(n_in, n_out)
        torch = torch_windows(n_in, n_out)
        lecture = lecture_windows(n_in, n_out)
        rule = (f"{axis}: s = floor({n_in} / {n_out}) = {s}, "
                f"f = {n_in} - ({n_out} - 1)*{s} = {f}")
        bounds = f"[floor(i*{n_in}/{n_out}), ceil((i+1)*{n_in}/{n_out}))"
        if lecture is None:
            lines.append(f"{rule}: no stride (the target is larger than the input); torch's "
                         f"windows {bounds}: {_spans(torch)}")
        elif lecture == torch:
            lines.append(f"{rule}: windows {_spans(lecture)}")
        else:
            lines.append(f"{rule}: windows {_spans(lecture)}; torch's {bounds} differ "
                         f"({n_in} mod {n_out} = {n_in % n_out} > 1): {_spans(torch)}")
    if n[0] == n[1] and target[0] == target[1]:
        return ["height and width" + lines[0][len("height"):]]
    return lines


def adaptive_differs(n: tuple[int, int], target: tuple[int, int]) -> bool:
    """Whether the course's rule has a stride on both axes and its windows differ from
    torch's on one."""
    rule = [lecture_windows(a, b) for a, b in zip(n, target, strict=True)]
    return None not in rule and rule != [torch_windows(a, b)
                                         for a, b in zip(n, target, strict=True)]
