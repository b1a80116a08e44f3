"""Calibration: efficiency factors for a device profile, fitted to measured latencies.

A measurement is what `cnncalc verify SPEC --time -f json` writes: the spec's name, the device
(cpu or cuda), the batch, the dtype and the median latency of a forward pass
(`timing.median_s`), with the engine's total MACs (the last row of `rows`). Each one becomes a
point: the spec's rows at the profile's peak rates, `(c_l, m_l)` seconds of compute and memory
for row `l` (`latency.peak_times`), against the measured time `T`.

The model fitted is the estimate's own (`latency`), with three factors:

    T  ~  sum_l max(c_l / e_c, m_l / e_m) + n o

`e_c` and `e_m` are the shares of the peak compute rate and of the peak bandwidth the device
reaches, `o` a fixed time per row that does work (`n` rows: kernel launch, framework dispatch).
With `x = 1 / e_c` and `r = e_c / e_m` it is `x S(r) + n o`, `S(r) = sum_l max(c_l, r m_l)`:
for a fixed `r` the model is linear in `x` and `o`.

The fit minimises the squared log errors `sum_i log(estimate_i / T_i)^2` (2x too slow weighs
as much as 2x too fast, and a 1 ms run as much as a 1 s one). With `o' = o / x` the estimate
is `x (S(r) + n o')`, so for fixed `r` and `o'` the best `log x` is the mean of
`log T_i - log(S_i(r) + n_i o')`, in closed form; `r` (10^-4 .. 10^4) and `o'` (0, or 10^-9 to
10 times the largest time per row) are searched on a grid, then refined by golden-section
search, one after the other, four times. A tiny pull towards the profile's own ratio leaves
`r` as it was where the points cannot tell the factors apart.

How many factors the points can carry: one point fits one common factor (`e_c = e_m`
in the profile's ratio, `o = 0`: all times scale alike); two points fit `e_c` and `e_m`;
three or more also `o`. Points are distinct runs (another spec, batch or dtype); the same run
twice adds nothing. Every factor is kept within (0, 10]: above 1 means the device beat the
model (caches keep tensors out of DRAM, clocks above the datasheet's), below 1 that it fell
short of its peak.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import CnnCalcError, Problem
from .devices import MAX_EFFICIENCY

#: verify's devices and the profile kind each one measures
DEVICE_KIND = {"cpu": "cpu", "cuda": "gpu"}
MAX_MEASUREMENT_BYTES = 64 * 2**20
#: the search range of r = e_c / e_m, and the pull towards the profile's ratio
RATIO_RANGE = (1e-4, 1e4)
GRID = 161
PULL = 1e-8


# --------------------------------------------------------------------------- measurements

@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed run of `cnncalc verify --time -f json`."""

    file: str
    spec: str
    device: str
    batch: int
    dtype: str
    median_s: float
    macs: int
    runs: int

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.spec, self.batch, self.dtype)


@cache
def _model() -> Any:
    """The fields of a verify document that calibration reads, strictly typed."""
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field

    class Timing(BaseModel):
        model_config = ConfigDict(extra="ignore")
        runs: Annotated[int, Field(strict=True, ge=1)]
        batch: Annotated[int, Field(strict=True, ge=1)]
        median_s: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]

    class Row(BaseModel):
        model_config = ConfigDict(extra="ignore")
        path: Annotated[str, Field(strict=True)]
        macs: Annotated[int, Field(strict=True, ge=0)]

    class Verify(BaseModel):
        model_config = ConfigDict(extra="ignore")
        command: Literal["verify"]
        spec: Annotated[str, Field(strict=True, min_length=1)]
        device: Literal["cpu", "cuda"]
        batch: Annotated[int, Field(strict=True, ge=1)]
        dtype: Literal["fp32", "fp16", "bf16"]
        agrees: Literal[True]
        rows: Annotated[list[Row], Field(min_length=1)]
        timing: Timing

    return Verify


def read_measurement(path: str) -> Measurement:
    """A measured run from a `cnncalc verify SPEC --time -f json` document, checked field by
    field; each problem is one line naming the file (and the field)."""
    from pydantic import ValidationError

    from ..core.loader import read_json

    def problem(message: str, line: int | None = None) -> CnnCalcError:
        return CnnCalcError(Problem(f"--calibrate: {message}", file=path, line=line))

    doc = read_json(path, MAX_MEASUREMENT_BYTES, "the file", "file", "a verify document",
                    "give the file 'cnncalc verify SPEC --time -f json' wrote",
                    "a verify document is much smaller", prefix="--calibrate: ")
    if not isinstance(doc, dict):
        raise problem("not a verify document (a JSON object from 'cnncalc verify SPEC --time "
                      "-f json')")
    if doc.get("command") != "verify":
        shown = f"'cnncalc {doc['command']}'" if isinstance(doc.get("command"), str) else "?"
        raise problem(f"a report of {shown}, not of 'cnncalc verify SPEC --time -f json'")
    if "timing" not in doc:
        raise problem("has no timing: run 'cnncalc verify SPEC --time -f json' (with --time)")
    try:
        run = _model().model_validate(doc)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            if field == "agrees":
                lines.append("the run disagreed with the engine (agrees is not true): its "
                             "time is of another network")
            else:
                lines.append(f"{field}: {error['msg'].lower()}, got {error.get('input')!r}"[:200])
        raise CnnCalcError([Problem(f"--calibrate: not a timed verify document: {line}",
                                    file=path) for line in lines]) from None
    total = run.rows[-1]
    if total.path != "":
        raise problem("rows: the last row is not the total (path \"\")")
    return Measurement(path, run.spec, run.device, run.batch, run.dtype, run.timing.median_s,
                       total.macs, run.timing.runs)


# --------------------------------------------------------------------------- the fit

Times = list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Point:
    """One measured run: its rows' (compute, memory) seconds at the peak rates, and the time."""

    label: str
    times: Times
    measured_s: float


@dataclass(frozen=True, slots=True)
class Factors:
    compute: float = 1.0
    memory: float = 1.0
    overhead_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Fit:
    factors: Factors
    #: the factors the points could carry: ("common",), ("compute", "memory") or all three
    fitted: tuple[str, ...]
    #: the typical factor between estimate and measurement after the fit: exp of the root
    #: mean square of log(estimate / measured) (1.0: exact; 2.0: typically off by 2x)
    spread: float


def predict(times: Times, factors: Factors) -> float:
    """`sum_l max(c_l / e_c, m_l / e_m) + n o`: the estimate with these factors."""
    return (sum(max(c / factors.compute, m / factors.memory) for c, m in times)
            + len(times) * factors.overhead_s)


def _s(times: Times, ratio: float) -> float:
    return sum(max(c, ratio * m) for c, m in times)


def _golden(f: Callable[[float], float], left: float, right: float, steps: int = 60) -> float:
    """The minimum of `f` on [left, right] by golden-section search."""
    golden = (math.sqrt(5) - 1) / 2
    for _ in range(steps):
        m1 = right - golden * (right - left)
        m2 = left + golden * (right - left)
        if f(m1) <= f(m2):
            right = m2
        else:
            left = m1
    return (left + right) / 2


def fit(points: list[Point], prior: Factors = Factors()) -> Fit:
    """The factors that best fit the points (see the module docstring). `prior`: the
    profile's own factors, whose ratio e_c / e_m one point keeps."""
    if not points:
        raise CnnCalcError("--calibrate: no measurements to fit")
    distinct = len({p.label for p in points})
    n_free = min(distinct, 3)
    logs = [math.log(p.measured_s) for p in points]
    counts = [len(p.times) for p in points]
    prior_log_r = math.log(prior.compute / prior.memory)
    cache: dict[float, list[float]] = {}

    def sums(log_r: float) -> list[float]:
        if log_r not in cache:
            r = math.exp(log_r)
            cache[log_r] = [_s(p.times, r) for p in points]
        return cache[log_r]

    def solve(log_r: float, log_o: float | None) -> tuple[float, float]:
        """(objective, log x) for r = e^log_r and o' = e^log_o (None: no overhead): the
        best log x in closed form (the mean of the log errors), within the bounds."""
        o = 0.0 if log_o is None else math.exp(log_o)
        model = [math.log(si + o * n) for si, n in zip(sums(log_r), counts, strict=True)]
        gaps = [m - e for m, e in zip(logs, model, strict=True)]
        log_x = sum(gaps) / len(gaps)
        # e_c = 1 / x <= MAX and e_m = 1 / (x r) <= MAX
        log_x = max(log_x, -math.log(MAX_EFFICIENCY), -math.log(MAX_EFFICIENCY) - log_r)
        error = sum((g - log_x) ** 2 for g in gaps)
        return error + PULL * (log_r - prior_log_r) ** 2, log_x

    lo, hi = math.log(RATIO_RANGE[0]), math.log(RATIO_RANGE[1])
    r_grid = [lo + (hi - lo) * i / (GRID - 1) for i in range(GRID)]
    top = math.log(MAX_EFFICIENCY * max(p.measured_s / n for p, n in zip(points, counts,
                                                                          strict=True)))
    bottom = top - math.log(1e9)
    o_grid: list[float | None] = [None] + [bottom + (top - bottom) * i / 59 for i in range(60)]
    if n_free == 1:
        log_r, log_o = prior_log_r, None
    elif n_free == 2:
        log_r = min(r_grid, key=lambda g: solve(g, None)[0])
        step = r_grid[1] - r_grid[0]
        log_r = _golden(lambda g: solve(g, None)[0], log_r - step, log_r + step)
        log_o = None
    else:
        o_step = o_grid[2] - o_grid[1]  # type: ignore[operator]

        def best_o(log_r: float) -> float | None:
            """The best o' for this r: the grid's, refined between its neighbours."""
            found = min(o_grid, key=lambda o: solve(log_r, o)[0])
            if found is None:
                return None
            return _golden(lambda o: solve(log_r, o)[0], found - o_step, found + o_step, 40)

        def profile(log_r: float) -> float:
            return solve(log_r, best_o(log_r))[0]

        log_r = min(r_grid, key=profile)
        step = r_grid[1] - r_grid[0]
        log_r = _golden(profile, log_r - step, log_r + step, 40)
        log_o = best_o(log_r)
    _, log_x = solve(log_r, log_o)
    x = math.exp(log_x)
    compute = 1 / x
    overhead = 0.0 if log_o is None else x * math.exp(log_o)
    factors = Factors(compute, compute / math.exp(log_r), overhead)
    fitted = (("common",), ("compute", "memory"), ("compute", "memory", "overhead"))[n_free - 1]
    return Fit(factors, fitted, spread(points, factors))


def spread(points: list[Point], factors: Factors) -> float:
    """The typical factor between the estimate and the measurements: `exp(sqrt(mean(log(
    estimate / measured)^2)))` (1: exact; 2: typically off by 2x, either way)."""
    logs = [math.log(predict(p.times, factors) / p.measured_s) for p in points]
    return math.exp(math.sqrt(sum(e * e for e in logs) / len(logs)))


# --------------------------------------------------------------------------- from the runs

def points_of(measurements: list[Measurement], profile: Any, analyse: Callable[[str, int, str],
              Any]) -> list[tuple[Measurement, Times]]:
    """Each measurement with its spec's rows at the profile's peak rates.

    `analyse(spec_name, batch, dtype)` gives the Report the measurement timed (the command
    finds the spec). A measurement of another kind of device than the profile's, or whose
    MACs differ from the spec's (another input size or --var), is refused: its time is of
    something else.
    """
    from .latency import peak_times

    out = []
    for m in measurements:
        if DEVICE_KIND[m.device] != profile.kind:
            raise CnnCalcError(Problem(
                f"--calibrate: measured on {m.device}, but the device '{profile.name}' is a "
                f"{profile.kind}; calibrate a {DEVICE_KIND[m.device]} profile with it",
                file=m.file))
        try:
            report = analyse(m.spec, m.batch, m.dtype)
        except CnnCalcError as exc:
            raise exc.located(file=m.file) from None
        macs = report.macs(report.totals)
        if macs != m.macs:
            raise CnnCalcError(Problem(
                f"--calibrate: the measured run of '{m.spec}' has {m.macs:,} MACs at batch "
                f"{m.batch}, the spec {macs:,}: it timed another network (an "
                "--input or --var of its own?)", file=m.file))
        out.append((m, peak_times(report, profile)))
    return out


def fit_points(points: list[tuple[Measurement, Times]], prior: Factors) -> Fit:
    """The fit over the points; runs of the same spec, batch and dtype count as one point
    (their median time)."""
    import statistics

    groups: dict[tuple[str, int, str], list[tuple[Measurement, Times]]] = {}
    for m, times in points:
        groups.setdefault(m.key, []).append((m, times))
    merged = [Point(f"{key[0]} batch {key[1]} {key[2]}", group[0][1],
                    statistics.median(m.median_s for m, _ in group))
              for key, group in groups.items()]
    return fit(merged, prior)
