"""Resolution as a variable: the counts of a network over a sweep of square input sizes, the
smallest input it takes, and the sizes whose windows reach every input pixel.

A size "drops no pixels" when, at every sliding window of the network (convolutions and
poolings, by `Layer.window`), the last window reaches the last row and column of its input:
`(out - 1) * s - p + span - 1 >= n - 1` with `span = (f - 1) * d + 1`: the floor of the
output-size formula discards nothing. A window narrower than its stride (a 1x1 convolution
with stride 2) skips `s - span` pixels after each window by design, its last one included;
that is not counted as dropping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.engine import analyze
from ..core.layers import Merge
from ..core.report import Report
from ..core.spec import Spec
from ..errors import CnnCalcError

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
            for window, n, m in zip(windows, row.input_shape[:2], row.output_shape[:2]):
                if not all(isinstance(v, int) for v in (window.f, window.s, window.p)):
                    continue  # upsampling: fractional windows cover every pixel
                span = (window.f - 1) * window.d + 1
                # a window narrower than its stride skips `s - span` pixels by design
                if (m - 1) * window.s - window.p + span - 1 + max(0, window.s - span) < n - 1:
                    return True
    return False


def point(spec: Spec, size: int) -> Point:
    try:
        report = analyze(spec, square(spec, size))
    except CnnCalcError as exc:
        return Point(size, None, None, None, None, exc.problems[0].message)
    totals = report.totals
    return Point(size, totals.macs, totals.params, totals.activations, drops_pixels(report))


def sweep(spec: Spec, sizes: range, step: Callable[[], None] | None = None) -> list[Point]:
    """The network at each size; `step()` after each, for a progress display."""
    points = []
    for size in sizes:
        points.append(point(spec, size))
        if step is not None:
            step()
    return points


def smallest_input(spec: Spec) -> int | None:
    """The smallest square side the network takes (None: none up to MAX_SIDE)."""
    for size in range(1, MAX_SIDE + 1):
        try:
            analyze(spec, square(spec, size))
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
