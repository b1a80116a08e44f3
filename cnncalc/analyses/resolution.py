"""Resolution as a variable: the counts of a network over a sweep of square input sizes, the
smallest input it takes, the sizes whose windows reach every input pixel, and the counts as exact
functions of the input height `H` and width `W`.

A size "drops no pixels" when, at every sliding window of the network (convolutions and
poolings, by `Layer.window`), the last window reaches the last row and column of its input:
`(out - 1) * s - p + span - 1 >= n - 1` with `span = (f - 1) * d + 1`: the floor of the
output-size formula discards nothing. A window narrower than its stride (a 1x1 convolution
with stride 2) skips `s - span` pixels after each window by design, its last one included,
and a crop cuts its rows whatever the size: neither is counted as dropping.

**The formulas.** Every size rule of the engine is affine on a residue class: a window's
`floor((n + 2p - f) / s) + 1` is `n / s + c` for the sizes `n` of one class modulo `s` (and
`ceil_mode`, `same` padding and torch's last-window rule likewise), upsampling multiplies,
padding and cropping add, and adaptive pooling, global pooling and `upsample: {size}` give a
size that does not depend on `n` at all. So with `P` the network's total stride along an axis
(the lcm, over the layers whose input depends on the size, of the stride products from the
input through each layer: `receptive`'s jump times the layer's stride), every layer's height
is `H / J + c` on each class `H mod P` (`J` its jump) and its width likewise in `W`. Every
kind's params, MACs and activations are bilinear in its own height and width (a dense layer
after a flatten holds `H W C` weights per unit), so on a class (`H mod P_H`, `W mod P_W`) the
network's totals are exactly

    a*H*W + b*H + c*W + d        (a, b, c, d rational)

for every valid size of the class. Validity is monotone on a class (a size that is too small
for a window grows out of it; paths that meet at an add or concat have one jump, so their
sizes differ by a constant on the class: always equal or never), so the valid sizes of a class
are those from its smallest one up. The coefficients are not derived by a second copy of the
counting rules: `analyze` gives the totals at the 2x2 grid of the class's two smallest valid
heights and widths, which determine the bilinear form exactly (in fractions), and the form is
then checked at further sizes of the class (`CHECKS`); a miss is reported, never printed as a
formula.

Where the argument does not hold, no formula is given and the reason is: an expression that
reads `in_height` or `in_width` (its value can be any function of the size), an input that is
a vector, or a network valid at its own size but not at a larger size of the same class (an
add or concat of paths with different strides, or of a fixed-size path with one that grows:
valid only at isolated sizes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from fractions import Fraction
from math import gcd, lcm
from typing import Any

from ..core.engine import analyze_at
from ..core.expr import is_expression, names_in
from ..core.layers import Merge
from ..core.report import Report
from ..core.spec import Spec
from ..errors import CnnCalcError
from .receptive import Field, receptive_fields

#: the largest size `smallest_input` tries
MAX_SIDE = 4096


@dataclass(frozen=True, slots=True)
class Point:
    """The network at one square input size (None counts: the size is not valid)."""

    size: int
    macs: int | None
    params: int | None
    activations: int | None
    drops_pixels: bool | None
    error: str = ""


def parse_sweep(text: str) -> range:
    """`START..STOP:STEP` (STOP included; STEP 1 when left out) as the sizes it names."""
    try:
        bounds, _, step = text.partition(":")
        start, stop = (int(part) for part in bounds.split(".."))
        stride = int(step) if step else 1
    except ValueError:
        raise CnnCalcError(f"--sweep: {text!r} is not START..STOP:STEP (128..512:32)") from None
    if start < 1 or stop < start or stride < 1:
        raise CnnCalcError(f"--sweep: {text!r} needs 1 <= START <= STOP and STEP >= 1")
    sizes = range(start, stop + 1, stride)
    if len(sizes) > 10_000:
        raise CnnCalcError(f"--sweep: {len(sizes):,} sizes; at most 10,000")
    return sizes


def square(spec: Spec, size: int) -> tuple[int, int, int]:
    return (size, size, spec.input_shape[-1])


def at_size(spec: Spec, height: int, width: int) -> Report:
    """`analyze` of the spec with an input of `height` x `width` and the spec's channels
    (`analyze_at`: a 3x28 input of 192 channels is no mistyped channels-first size here).
    The analyses of one spec share its plan (`engine._Plan`)."""
    return analyze_at(spec, (height, width, spec.input_shape[-1]), 1, "fp32")


def drops_pixels(report: Report) -> bool:
    """Whether any window of the network leaves the last rows or columns of its input out."""
    for node in report.nodes:
        for row in node.walk():
            if (row.layer is None or isinstance(row.layer, Merge) or row.children is not None
                    or len(row.input_shape) != 3):
                continue
            windows = row.layer.window(row.input_shape)
            if not isinstance(windows, tuple):
                continue
            for window, n, m in zip(windows, row.input_shape[:2], row.output_shape[:2],
                                    strict=True):
                if not all(isinstance(v, int) for v in (window.f, window.s, window.p)):
                    continue  # upsampling: fractional windows cover every pixel
                if window.p < 0:
                    continue  # a crop: it cuts its rows whatever the size
                span = (window.f - 1) * window.d + 1
                # a window narrower than its stride skips `s - span` pixels by design
                if (m - 1) * window.s - window.p + span - 1 + max(0, window.s - span) < n - 1:
                    return True
    return False


def point(spec: Spec, size: int) -> Point:
    try:
        report = at_size(spec, size, size)
    except CnnCalcError as exc:
        return Point(size, None, None, None, None, exc.problems[0].message)
    totals = report.totals
    return Point(size, totals.macs, totals.params, totals.activations, drops_pixels(report))


def sweep(spec: Spec, sizes: range, step: Callable[[], None] | None = None) -> list[Point]:
    """The network at each size; `step()` after each, for a progress display.

    The sizes are taken class by class (modulo the lcm of the total strides, see "The
    formulas" above). A class with more than `_FIT + _CHECK` valid sizes in the sweep is not
    analysed at every size: on a class each total is a quadratic in the square side, so
    `analyze` at its first `_FIT` valid sizes gives the quadratic and at `_CHECK` more (its
    fourth, middle and last) checks it; any miss, or a size the checks find invalid, and the
    class is analysed size by size. Sizes before a class's first valid one are analysed (their
    error is the point's); validity is monotone on a class, so the sizes after it are valid.
    The points are the same as `point` at every size (tests/test_resolution.py); a
    1,000-size sweep of resnet50 takes about 200 analyses instead of 1,000."""
    points: dict[int, Point] = {}
    grid = _Grid(spec, None)
    period = None if len(sizes) <= _FIT + _CHECK else _whole(spec, grid)[0]
    if period is None:
        classes = [list(sizes)]
    else:
        square = lcm(*period)  # the sizes `sizes[i::every]` are one class modulo it
        every = square // gcd(square, sizes.step)
        classes = [list(sizes[i::every]) for i in range(min(len(sizes), every))]
    for members in classes:
        for found in _class_points(spec, grid, members, period is not None):
            points[found.size] = found
            if step is not None:
                step()
    return [points[size] for size in sizes]


#: Sizes of a sweep's class that fit its quadratic, and sizes that check it (`sweep`).
_FIT, _CHECK = 3, 3
#: The formulas are used only where every total and the input are below this: then no row can
#: pass `MAX_COUNT` (a row's element-wise ops are at most its output times its window, each
#: below the bound), so `analyze` would refuse none of those sizes for its counts.
_FORMULA_BOUND = 10**40


def _class_points(spec: Spec, grid: _Grid, members: list[int], by_formula: bool
                  ) -> Iterator[Point]:
    """The points of one class of a sweep (`members`, ascending, evenly spaced)."""
    start, first = 0, None
    while by_formula and start < len(members):
        found = point(spec, members[start])
        if found.macs is not None:
            grid.remember(found)
            first = found
            break
        yield found
        start += 1
    rest = members[start:]
    fitted = _quadratics(grid, rest) if by_formula and len(rest) > _FIT + _CHECK else None
    if fitted is None:
        for size in rest:
            yield first if first is not None and size == first.size else point(spec, size)
        return
    forms, drops = fitted
    channels = spec.input_shape[-1]
    for index, size in enumerate(rest):
        values = [form(index) for form in forms]
        if max(*values, size * size * channels) >= _FORMULA_BOUND:
            yield point(spec, size)
        else:
            yield Point(size, *values, drops)


def _quadratics(grid: _Grid, sizes: list[int]
                ) -> tuple[list[Callable[[int], int]], bool] | None:
    """Each total (MACs, params, activations) on the evenly spaced `sizes` of one class as a
    function of the size's index, through the first `_FIT` sizes (integer finite differences,
    exact), and whether the sizes drop pixels; None when a check size is invalid or differs."""
    n = len(sizes)
    checks = sorted({_FIT, (_FIT + n - 1) // 2, n - 1})
    counts = {i: grid.at(sizes[i], sizes[i]) for i in (*range(_FIT), *checks)}
    if any(c is None for c in counts.values()):
        return None
    drops = {c.drops_pixels for c in counts.values() if c is not None}
    if len(drops) != 1:
        return None
    forms = []
    for key in MEASURES:
        v0, v1, v2 = (getattr(counts[i], key) for i in range(_FIT))
        first, second = v1 - v0, v2 - 2 * v1 + v0

        def form(k: int, v0: int = v0, first: int = first, second: int = second) -> int:
            return v0 + k * first + k * (k - 1) // 2 * second

        if any(form(i) != getattr(counts[i], key) for i in checks):
            return None
        forms.append(form)
    return forms, drops.pop()


def smallest_input(spec: Spec) -> int | None:
    """The smallest square side the network takes (None: none up to MAX_SIDE)."""
    for size in range(1, MAX_SIDE + 1):
        try:
            at_size(spec, size, size)
        except CnnCalcError:
            continue
        return size
    return None


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int | None]) -> str:
    """One character per value, from ▁ (the least) to █ (the most); a space for None."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low or 1
    return "".join(" " if v is None else SPARKS[(v - low) * (len(SPARKS) - 1) // span]
                   for v in values)


# --------------------------------------------------------------------------- the formulas

#: The measures the formulas give, with their titles.
MEASURES = {"macs": "MACs", "params": "params", "activations": "activations"}
#: Where the form is checked beyond the four sizes that fit it: (i, j) is the class's i-th
#: valid height past the smallest and its j-th width (offsets that differ modulo 2, 3, 5, 7,
#: and one far away).
CHECKS = ((2, 5), (7, 3), (31, 17))
#: The largest total stride per axis (and a bound on the lcm of all strides, adaptive pooling's
#: included) the formulas take.
MAX_PERIOD = 1 << 20
#: `--class all` lists at most this many classes.
MAX_CLASSES = 1024
#: Square sizes: the drop-free classes are listed only for a total stride up to this.
MAX_SQUARE_PERIOD = 256
_SIZE_NAMES = frozenset({"in_height", "in_width"})


@dataclass(frozen=True, slots=True)
class Bilinear:
    """`hw*H*W + h*H + w*W + one`, exact."""

    hw: Fraction
    h: Fraction
    w: Fraction
    one: Fraction

    @classmethod
    def fit(cls, heights: tuple[int, int], widths: tuple[int, int],
            values: dict[tuple[int, int], int]) -> Bilinear:
        """The form through the four values at the grid `heights` x `widths`."""
        (h1, h2), (w1, w2) = heights, widths
        f11, f12, f21, f22 = (values[h1, w1], values[h1, w2], values[h2, w1], values[h2, w2])
        a = Fraction(f22 - f21 - f12 + f11, (h2 - h1) * (w2 - w1))
        along_h, along_w = Fraction(f21 - f11, h2 - h1), Fraction(f12 - f11, w2 - w1)
        return cls(a, along_h - a * w1, along_w - a * h1,
                   a * h1 * w1 - along_h * h1 - along_w * w1 + f11)

    def at(self, height: int, width: int) -> Fraction:
        return self.hw * height * width + self.h * height + self.w * width + self.one

    def text(self) -> str:
        """`9/16*H*W + 3*H - W + 17`; `0` when every coefficient is."""
        terms = [(c, name) for c, name in ((self.hw, "H*W"), (self.h, "H"), (self.w, "W"),
                                           (self.one, "")) if c]
        if not terms:
            return "0"
        out = []
        for index, (c, name) in enumerate(terms):
            sign = "-" if c < 0 else "+"
            size = abs(c)
            number = "" if size == 1 and name else str(size)
            term = f"{number}*{name}" if number and name else number or name
            out.append((f"-{term}" if sign == "-" else term) if index == 0
                       else f" {sign} {term}")
        return "".join(out)

    def to_dict(self) -> dict[str, int | str]:
        """The coefficients by monomial: an int, or a fraction as the string `"9/16"`."""
        return {name: _json_number(c) for name, c in
                (("H*W", self.hw), ("H", self.h), ("W", self.w), ("1", self.one))}


def _json_number(x: Fraction) -> int | str:
    return int(x) if x.denominator == 1 else str(x)


@dataclass(frozen=True, slots=True)
class SizeClass:
    """The counts on the input sizes `H = height_mod (mod period[0])`, `W = width_mod (mod
    period[1])`: the smallest valid height and width (None: no size of the class is valid up
    to `MAX_SIDE` or past it), the formula of each measure, whether the class's sizes drop
    pixels, and the sizes `analyze` was run at to fit and check them. `problem` says why there
    is no formula where there is none."""

    height_mod: int
    width_mod: int
    period: tuple[int, int]
    min_height: int | None = None
    min_width: int | None = None
    formulas: dict[str, Bilinear] | None = None
    drops_pixels: bool | None = None
    checked: tuple[tuple[int, int], ...] = ()
    problem: str = ""

    def text(self) -> str:
        """`(H, W) mod 32 = (0, 0)`, or `H mod 32 = 0, W mod 8 = 3`."""
        (ph, pw) = self.period
        if ph == pw:
            return f"(H, W) mod {ph} = ({self.height_mod}, {self.width_mod})"
        return f"H mod {ph} = {self.height_mod}, W mod {pw} = {self.width_mod}"


@dataclass(frozen=True, slots=True)
class Symbolic:
    """The network's counts as functions of its input size: the total stride per axis, the
    classes asked for, and the square sizes that drop no pixels (residue modulo `square_period`
    and the smallest valid size of each such class, see `_drop_free`; None where not computed).
    `problem` says why there are no formulas at all (then the rest is empty)."""

    period: tuple[int, int] | None
    classes: list[SizeClass]
    drop_free: list[tuple[int, int | None]] | None = None
    square_period: int | None = None
    problem: str = ""
    #: where the network is valid at its own size but not here, a larger size of that class
    witness: tuple[int, int] | None = None


def size_reads(spec: Spec) -> list[tuple[int, str]]:
    """The expressions that read the input's height or width (`in_height`, `in_width`), with
    the line of the entry (or block) that holds them, in order."""
    found: list[tuple[int, str]] = []

    def scan(value: Any, line: int) -> None:
        if is_expression(value):
            try:
                names = names_in(value)
            except CnnCalcError:  # the analysis refuses it with its own message
                return
            if names & _SIZE_NAMES:
                found.append((line, value))
        elif isinstance(value, (list, tuple)):
            for item in value:
                scan(item, line)
        elif isinstance(value, dict):
            for item in value.values():
                scan(item, line)
        elif is_dataclass(value) and not isinstance(value, type):
            here = getattr(value, "line", line)
            for f in fields(value):
                scan(getattr(value, f.name), here)

    scan(dict(spec.vars), 0)
    scan(list(spec.blocks.values()), 0)
    scan(spec.layers, 0)
    return sorted(set(found))


def _constraints(report: Report, varying: list[set[str]] | None) -> tuple[int, int]:
    """The lcm per axis of what each layer needs for its size rule to be affine on a class:
    the numerator of its input's jump (for its input to step by whole pixels) and that of the
    jump times its stride (for its output to). `varying`: the paths of the layers whose input
    height, input width, output height and output width depend on the input size, in that
    order (a layer whose output does not, adaptive pooling, needs nothing of its stride);
    None: every layer, both."""
    before: dict[str, Field] = {}
    receptive_fields(report, before)
    periods = [1, 1]
    for node in report.leaves():
        field = before.get(node.path)
        if (field is None or node.layer is None or isinstance(node.layer, Merge)
                or len(node.input_shape) != 3):
            continue
        windows = node.layer.window(node.input_shape)
        strides = ((1, 1) if windows is None or isinstance(windows, str)
                   else (windows[0].s, windows[1].s))
        for axis, (jump, stride) in enumerate(zip((field.h.stride, field.w.stride), strides,
                                                  strict=True)):
            needs = []
            if varying is None or node.path in varying[axis]:
                needs.append(Fraction(jump))
            if varying is None or node.path in varying[2 + axis]:
                needs.append(Fraction(jump) * Fraction(stride))
            for value in needs:
                periods[axis] = lcm(periods[axis], value.numerator)
    return periods[0], periods[1]


@dataclass(frozen=True, slots=True)
class _Counts:
    macs: int
    params: int
    activations: int
    drops_pixels: bool


class _Grid:
    """`analyze` at (H, W) with the spec's channels, each size once (None: not valid)."""

    def __init__(self, spec: Spec, step: Callable[[], None] | None) -> None:
        self.spec = spec
        self.step = step
        self.seen: dict[tuple[int, int], _Counts | None] = {}

    def report(self, height: int, width: int) -> Report | None:
        try:
            return at_size(self.spec, height, width)
        except CnnCalcError:
            return None

    def remember(self, found: Point) -> None:
        """A valid square size's counts, found by `point`."""
        assert found.macs is not None and found.params is not None
        assert found.activations is not None and found.drops_pixels is not None
        self.seen[found.size, found.size] = _Counts(found.macs, found.params,
                                                    found.activations, found.drops_pixels)

    def at(self, height: int, width: int) -> _Counts | None:
        key = (height, width)
        if key not in self.seen:
            report = self.report(height, width)
            self.seen[key] = None if report is None else _Counts(
                report.totals.macs, report.totals.params, report.totals.activations,
                drops_pixels(report))
            if self.step is not None:
                self.step()
        return self.seen[key]


def _first(residue: int, period: int, at_least: int = 1) -> int:
    """The smallest size >= at_least with `size = residue (mod period)`."""
    return at_least + (residue - at_least) % period


def _smallest(valid: Callable[[int], bool], residue: int, period: int, top: int) -> int | None:
    """The smallest valid size of the class, found by bisection (validity is monotone on a
    class); None when even the class's first size >= `top` is not valid."""
    low = _first(residue, period)
    steps = (_first(residue, period, max(top, low)) - low) // period
    if not valid(low + steps * period):
        return None
    a, b = 0, steps
    while a < b:
        mid = (a + b) // 2
        if valid(low + mid * period):
            b = mid
        else:
            a = mid + 1
    return low + a * period


def _whole(spec: Spec, grid: _Grid) -> tuple[tuple[int, int] | None, str,
                                             tuple[int, int] | None]:
    """The total stride per axis, or None and why the formulas do not hold (and, where the
    network is not valid at a larger size of its own size's class, that size)."""
    reads = size_reads(spec)
    if reads:
        where = ", ".join(f"{text} at line {line}" if line else text for line, text in reads[:3])
        return None, (f"the spec's expressions read the input size ({where}), so its counts "
                      "can be any function of it"), None
    if len(spec.input_shape) != 3:
        return None, "the input is a vector: there is no height or width", None
    height, width = spec.input_shape[0], spec.input_shape[1]
    first = grid.report(height, width)
    if first is None:
        return None, f"the spec is not valid at its own input {height}x{width}", None
    bound = _constraints(first, None)
    if max(bound) > MAX_PERIOD:
        return None, (f"its strides multiply to {bound[0]:,}x{bound[1]:,}, more than "
                      f"{MAX_PERIOD:,}"), None
    larger = (height + bound[0], width + bound[1])
    second = grid.report(*larger)
    if second is None:
        return None, (f"it takes {height}x{width} but not {larger[0]}x{larger[1]}, a larger "
                      "size of the same class: an add or concat meets paths of different "
                      "strides (or a fixed size and a growing one), valid only at isolated "
                      "sizes"), larger
    after = {node.path: (node.input_shape, node.output_shape) for node in second.leaves()}
    varying: list[set[str]] = [set(), set(), set(), set()]
    for node in first.leaves():
        for side, shape in enumerate((node.input_shape, node.output_shape)):
            later = after.get(node.path, ((), ()))[side]
            if len(later) != 3 or len(shape) != 3:
                continue
            for axis in (0, 1):
                if later[axis] != shape[axis]:
                    varying[2 * side + axis].add(node.path)
    period = _constraints(first, varying)
    assert bound[0] % period[0] == 0 and bound[1] % period[1] == 0, (bound, period)
    return period, "", None


def _class(grid: _Grid, period: tuple[int, int], residues: tuple[int, int],
           smallest: tuple[int | None, int | None]) -> SizeClass:
    """The formulas of one class, fitted at its 2x2 smallest sizes and checked at `CHECKS`."""
    (ph, pw), (rh, rw) = period, residues
    h0, w0 = smallest
    if h0 is None or w0 is None:
        return SizeClass(rh, rw, period, h0, w0,
                         problem=f"no size of this class is valid up to {MAX_SIDE}")
    heights, widths = (h0, h0 + ph), (w0, w0 + pw)
    sizes = [(h, w) for h in heights for w in widths]
    sizes += [(h0 + i * ph, w0 + j * pw) for i, j in CHECKS]
    counts = {size: grid.at(*size) for size in sizes}
    missing = [size for size, found in counts.items() if found is None]
    if missing:
        h, w = missing[0]
        return SizeClass(rh, rw, period, h0, w0, problem=(
            f"valid at {h0}x{w0} but not at {h}x{w}, a larger size of the class"))
    found = {size: c for size, c in counts.items() if c is not None}
    formulas = {}
    for key in MEASURES:
        values = {size: getattr(c, key) for size, c in found.items()}
        form = Bilinear.fit(heights, widths, values)
        for size, value in values.items():
            if form.at(*size) != value:
                return SizeClass(rh, rw, period, h0, w0, problem=(
                    f"{MEASURES[key]} at {size[0]}x{size[1]} is {value:,}, not the "
                    f"{form.at(*size)} of the form through the class's 4 smallest sizes"))
        formulas[key] = form
    drops = {c.drops_pixels for c in found.values()}
    return SizeClass(rh, rw, period, h0, w0, formulas,
                     drops.pop() if len(drops) == 1 else None, tuple(sizes))


def parse_class(text: str) -> str | tuple[int, int]:
    """`--class`: `divisible`, `all`, or a size (`224`, `224x320`) whose class is meant."""
    if text in ("divisible", "all"):
        return text
    parts = text.lower().replace(" ", "").split("x")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise CnnCalcError(f"--class: {text!r} is not divisible, all, or a size (224 or "
                           "224x320)")
    return (sizes[0], sizes[-1])


def formulas(spec: Spec, which: str | tuple[int, int] = "divisible",
             step: Callable[[], None] | None = None, squares: bool = True) -> Symbolic:
    """The counts as functions of the input height and width on the classes `which` names:
    `divisible` (sizes divisible by the total stride; the spec's own size's class too when
    none of them is valid), `all`, or the class of a size. With `squares`, also the classes
    of square sizes that drop no pixels (one analysis per class of squares). `step()` after
    each analysis, for a progress display."""
    grid = _Grid(spec, step)
    period, problem, witness = _whole(spec, grid)
    if period is None:
        return Symbolic(None, [], problem=problem, witness=witness)
    ph, pw = period
    if which == "all":
        if ph * pw > MAX_CLASSES:
            raise CnnCalcError(f"--class all: {ph * pw:,} classes (total stride {ph}x{pw}); "
                               f"at most {MAX_CLASSES:,}: give a size's class (--class 224)")
        wanted = [(rh, rw) for rh in range(ph) for rw in range(pw)]
    elif which == "divisible":
        wanted = [(0, 0)]
    else:
        assert isinstance(which, tuple)
        wanted = [(which[0] % ph, which[1] % pw)]
    height, width = spec.input_shape[0], spec.input_shape[1]
    tops = (max(MAX_SIDE, height + ph), max(MAX_SIDE, width + pw))
    min_heights = {rh: _smallest(lambda n: grid.at(n, width) is not None, rh, ph, tops[0])
                   for rh in sorted({rh for rh, _ in wanted})}
    min_widths = {rw: _smallest(lambda n: grid.at(height, n) is not None, rw, pw, tops[1])
                  for rw in sorted({rw for _, rw in wanted})}
    classes = [_class(grid, period, (rh, rw), (min_heights[rh], min_widths[rw]))
               for rh, rw in wanted]
    own = (height % ph, width % pw)
    if which == "divisible" and classes[0].min_height is None and own != (0, 0):
        # no size divisible by the total stride is valid (U-Net's 16k + 124): the spec's own
        # size's class too, which is
        classes.append(_class(grid, period, own, (
            _smallest(lambda n: grid.at(n, width) is not None, own[0], ph, tops[0]),
            _smallest(lambda n: grid.at(height, n) is not None, own[1], pw, tops[1]))))
    square = lcm(ph, pw)
    drop_free = (_drop_free(grid, square, max(tops)) if squares and square <= MAX_SQUARE_PERIOD
                 else None)
    return Symbolic(period, classes, drop_free, square if drop_free is not None else None)


def _drop_free(grid: _Grid, period: int, top: int) -> list[tuple[int, int | None]]:
    """The classes of square sizes (modulo `period`, the lcm of the two total strides) whose
    valid sizes drop no pixels, each with its smallest valid size (None when every class that
    has valid sizes is listed: then every valid size drops none). Whether a size drops pixels
    depends only on its class (each window's `(out - 1) s - n` is constant on it), so one
    valid size tells for the class."""
    free, valid = [], 0
    for residue in range(period):
        counts = grid.at(*(2 * (_first(residue, period, top),)))
        valid += counts is not None
        if counts is not None and not counts.drops_pixels:
            free.append(residue)
    if len(free) == valid:
        return [(residue, None) for residue in free]
    return [(residue, _smallest(lambda n: grid.at(n, n) is not None, residue, period, top))
            for residue in free]


def class_sizes(period: int, residue: int, start: int) -> Iterator[int]:
    """The sizes of a class from `start` up (for tests and sweeps)."""
    size = _first(residue, period, start)
    while True:
        yield size
        size += period
