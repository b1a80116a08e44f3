"""Fitting a budget (`cnncalc fit`): the largest scale of a spec whose totals stay within limits.

A search over one scaling rule of `scale` (EfficientNet's compound phi, a width, a depth or a
resolution) on a grid of values; every total grows with each multiplier, so the search stops at
the first point over budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError
from .budget import BUDGETS
from .scale import (
    MAX_MULTIPLIER,
    MAX_PHI,
    MAX_RESOLUTION,
    Scaling,
    check_reach,
    compound,
    input_size,
    pixels,
    scaled_spec,
)

#: What `fit` can scale, with its default grid (from, to, step). Compound and resolution
#: steps suit EfficientNet (phi) and MobileNet (224, 192, 160, 128 are multiples of 32).
SEARCHES: dict[str, tuple[float, float, float]] = {
    "compound": (-4.0, 8.0, 0.5),
    "width": (0.25, 4.0, 0.25),
    "depth": (0.25, 4.0, 0.25),
    "resolution": (32.0, 1024.0, 32.0),
}

#: Budgets `fit` knows: every budget of `cnncalc check` (`budget.BUDGETS`, which a spec's
#: `budget:` may set too), and `memory`, params + buffers + activations at the batch and dtype.
LIMITS = (*BUDGETS, "memory")

#: The values each search may try: (lowest, highest, whether the lowest is excluded).
RANGES: dict[str, tuple[float, float, bool]] = {
    "compound": (-MAX_PHI, MAX_PHI, False),
    "width": (0.0, MAX_MULTIPLIER, True),
    "depth": (0.0, MAX_MULTIPLIER, True),
    "resolution": (1.0, float(MAX_RESOLUTION), False),
}
#: The most layers one search analyses, its candidates' layers summed: a grid of 1,000
#: points on a network of hundreds of layers would otherwise run for minutes.
MAX_SEARCH_LAYERS = 30_000


@dataclass(slots=True)
class Candidate:
    """One point of a `fit` search: its multipliers and, unless invalid, its totals."""

    value: float
    scaling: Scaling
    params: int = 0
    macs: int = 0
    memory: int = 0  # bytes: inference or one training step (`memory_of`)
    error: str | None = None
    over: tuple[str, ...] = ()  # the budgets it exceeds
    values: dict[str, int] = field(default_factory=dict)  # the value of each budget's measure

    @property
    def fits(self) -> bool:
        return self.error is None and not self.over


def grid(start: float, stop: float, step: float) -> list[float]:
    """`start, start + step, ... <= stop`, free of float noise (0.3, not 0.30000000000000004)."""
    if not all(math.isfinite(x) for x in (start, stop, step)) or step <= 0:
        raise CnnCalcError(f"the grid needs finite bounds and a positive step, got "
                           f"from {start} to {stop} step {step}")
    if stop < start:
        raise CnnCalcError(f"the grid is empty: from {start} is above to {stop}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 1000:
        raise CnnCalcError(f"the grid has {count:,} points; at most 1,000 (raise the step)")
    return [round(start + k * step, 10) for k in range(count)]


def check_grid(by: str, start: float, stop: float, step: float) -> None:
    """Refuse a grid that reaches values the search cannot try (`RANGES`), naming the
    option: a width multiplier of -1, phi 100, a resolution of 0.5 pixels."""
    low, high, open_low = RANGES[by]
    what = {"compound": "phi", "width": "a width multiplier", "depth": "a depth multiplier",
            "resolution": "a resolution in pixels"}[by]
    span = (f"above {low:g} and at most {high:g}" if open_low else f"from {low:g} to {high:g}")
    for option, value in (("--from", start), ("--to", stop)):
        if not low <= value <= high or (open_low and value == low):
            raise CnnCalcError(f"{option} {value:g}: {what} must be {span}")
    if by == "resolution" and not (float(start).is_integer() and float(step).is_integer()):
        raise CnnCalcError(f"--by resolution tries whole pixels: --from {start:g} and --step "
                           f"{step:g} must be whole numbers")


def scaling_for(by: str, value: float, base: tuple[int, int], divisor: int = 8) -> Scaling:
    """The multipliers of one search point: phi, a width, a depth, or a resolution in pixels
    (the height; a non-square input keeps its aspect ratio)."""
    if by == "compound":
        return compound(value, base, divisor=divisor)
    if by == "width":
        return Scaling(width=value, divisor=divisor)
    if by == "depth":
        return Scaling(depth=value, divisor=divisor)
    if by == "resolution":
        height = int(value)
        if height != value or height < 1:
            raise CnnCalcError(f"a resolution must be a whole number of pixels, got {value}")
        return Scaling(resolution=(height, pixels(base[1], height / base[0])), divisor=divisor)
    raise CnnCalcError(f"cannot search by {by!r}; use one of {', '.join(SEARCHES)}")


def memory_of(report: Any, optimizer: str | None = None) -> int:
    """The memory a budget limits, by `cnncalc memory`'s model (analyses.memory): params +
    buffers + the peak of an eval forward pass; with an optimizer, one training step (weights,
    buffers, gradients, optimizer state, saved activations)."""
    from .memory import inference_bytes, training

    return inference_bytes(report) if optimizer is None else training(report, optimizer).total


def search(raw: Any, file: str, by: str, points: list[float], budgets: dict[str, int],
           batch: int = 1, dtype: str = "fp32", divisor: int = 8,
           step: Callable[[], None] | None = None,
           optimizer: str | None = None) -> list[Candidate]:
    """Try `points` in increasing order until one exceeds a budget; return those tried.

    Every total grows with each multiplier (more channels, repeats or pixels never cost less),
    so once a point is over budget every larger one is too, and the search stops there. A
    point whose network cannot be built (say, a resolution too small for a kernel) is kept
    with its error and skipped. The winner is the last candidate that `fits`. `step()` is
    called after each point, for a progress display.
    """
    from ..core.engine import analyze

    unknown = set(budgets) - set(LIMITS)
    if unknown:
        raise CnnCalcError(f"unknown budget {sorted(unknown)[0]!r}; use {', '.join(LIMITS)}")
    if not budgets:
        raise CnnCalcError("give at least one budget: a --max-... option (--max-macs, "
                           "--max-params, --max-memory, ...) or a 'budget:' in the spec")
    # A spec that is wrong as written is an error (exit 2), not a grid of invalid candidates;
    # so is a multiplier that reaches nothing in it (every candidate would be the same).
    scaled_spec(raw, Scaling(), file)
    if by in ("width", "depth", "compound"):
        check_reach(raw, file, ("width", "depth") if by == "compound" else (by,), f"--by {by}")
    needs_image = by in ("compound", "resolution")
    base = input_size(raw, file)[:2] if needs_image else (1, 1)
    tried: list[Candidate] = []
    layers = 0
    for value in sorted(points):
        scaling = scaling_for(by, value, base, divisor)  # type: ignore[arg-type]
        candidate = Candidate(value, scaling)
        tried.append(candidate)
        try:
            report = analyze(scaled_spec(raw, scaling, file), batch=batch, dtype=dtype)
        except CnnCalcError as exc:
            candidate.error = "; ".join(p.message for p in exc.problems)
            continue
        finally:
            if step is not None:
                step()
        layers += report.layer_count
        if layers > MAX_SEARCH_LAYERS:
            raise CnnCalcError(
                f"the search has analysed {len(tried)} candidates of {layers:,} layers in all "
                f"and would go on (at most {MAX_SEARCH_LAYERS:,}); narrow --from/--to or "
                "raise --step")
        candidate.params = report.totals.params
        candidate.macs = report.macs(report.totals)
        candidate.memory = memory_of(report, optimizer)
        candidate.values = {key: candidate.memory if key == "memory" else
                            BUDGETS[key].measure(report) for key in LIMITS if key in budgets}
        candidate.over = tuple(k for k in LIMITS if k in budgets
                               and candidate.values[k] > budgets[k])
        if candidate.over:
            break
    return tried


def winner(tried: list[Candidate]) -> Candidate | None:
    """The largest candidate that meets every budget, or None."""
    fitting = [c for c in tried if c.fits]
    return fitting[-1] if fitting else None
