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

The fit minimises the squared relative errors `sum_i (estimate_i / T_i - 1)^2` (every point
counts alike, whatever its size):
- `r` by a search over 10^-4 .. 10^4 (a grid in log r, then golden-section refinement of the
  best cell), with a tiny pull towards the profile's own ratio so that points which cannot
  tell the factors apart leave it as it was;
- `x` and `o` for each `r` in closed form (least squares in two unknowns, `o >= 0`).

How many factors the points can carry: one point fits one common factor (`e_c = e_m`
in the profile's ratio, `o = 0`: all times scale alike); two points fit `e_c` and `e_m`;
three or more also `o`. Points are distinct runs (another spec, batch or dtype); the same run
twice adds nothing. Every factor is kept within (0, 10]: above 1 means the device beat the
model (caches keep tensors out of DRAM, clocks above the datasheet's), below 1 that it fell
short of its peak.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Problem
from .devices import MAX_EFFICIENCY

#: verify's devices and the profile kind each one measures
DEVICE_KIND = {"cpu": "cpu", "cuda": "gpu"}
MAX_MEASUREMENT_BYTES = 64 * 2**20
#: the search range of r = e_c / e_m, and the pull towards the profile's ratio
RATIO_RANGE = (1e-4, 1e4)
GRID = 321
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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def read_measurement(path: str) -> Measurement:
    """A measured run from a `cnncalc verify SPEC --time -f json` document, checked field by
    field; each problem is one line naming the file (and the field)."""
    from pydantic import ValidationError

    from ..core import reads

    def problem(message: str, line: int | None = None) -> CnnCalcError:
        return CnnCalcError(Problem(f"--calibrate: {message}", file=path, line=line))

    reads.note(path)
    try:
        if Path(path).is_dir():
            raise problem("is a folder; give the file 'cnncalc verify SPEC --time -f json' wrote")
        with open(path, "rb") as handle:
            data = handle.read(MAX_MEASUREMENT_BYTES + 1)
    except FileNotFoundError:
        raise problem("no such file") from None
    except OSError as exc:
        raise problem(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_MEASUREMENT_BYTES:
        raise problem(f"more than {MAX_MEASUREMENT_BYTES // 2**20} MiB; a verify document is "
                      "much smaller")
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise problem(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                      f"{exc.start})") from None
    except json.JSONDecodeError as exc:
        raise problem(f"not JSON: {exc.msg}", exc.lineno) from None
    except (RecursionError, ValueError) as exc:
        raise problem(f"not a verify document: {exc}") from None
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
    #: root mean square of estimate / measured - 1 over the points, after the fit
    rms: float


def predict(times: Times, factors: Factors) -> float:
    """`sum_l max(c_l / e_c, m_l / e_m) + n o`: the estimate with these factors."""
    return (sum(max(c / factors.compute, m / factors.memory) for c, m in times)
            + len(times) * factors.overhead_s)


def _s(times: Times, ratio: float) -> float:
    return sum(max(c, ratio * m) for c, m in times)


def _inner(a: list[float], b: list[float], with_overhead: bool,
           x_min: float) -> tuple[float, float, float]:
    """(x, o, error) minimising sum (x a_i + o b_i - 1)^2 with x >= x_min, o >= 0."""
    def error(x: float, o: float) -> float:
        return sum((x * ai + o * bi - 1) ** 2 for ai, bi in zip(a, b, strict=True))

    saa = sum(ai * ai for ai in a)
    sa = sum(a)
    best = (max(sa / saa, x_min), 0.0)
    if with_overhead:
        sbb = sum(bi * bi for bi in b)
        sab = sum(ai * bi for ai, bi in zip(a, b, strict=True))
        sb = sum(b)
        det = saa * sbb - sab * sab
        if det > 1e-12 * saa * sbb:
            x = (sa * sbb - sb * sab) / det
            o = (saa * sb - sab * sa) / det
            if o >= 0 and x >= x_min:
                best = (x, o)
            elif o >= 0:  # x at its bound: the best o for it
                best = min(best, (x_min, max((sb - x_min * sab) / sbb, 0.0)),
                           key=lambda p: error(*p))
    return best[0], best[1], error(*best)


def fit(points: list[Point], prior: Factors = Factors()) -> Fit:
    """The factors that best fit the points (see the module docstring). `prior`: the
    profile's own factors, whose ratio e_c / e_m one point keeps."""
    if not points:
        raise CnnCalcError("--calibrate: no measurements to fit")
    prior_ratio = prior.compute / prior.memory
    n_free = min(len(points), 3)
    a_of: Callable[[float], list[float]] = lambda r: [_s(p.times, r) / p.measured_s
                                                      for p in points]
    b = [len(p.times) / p.measured_s for p in points]
    x_min = 1 / MAX_EFFICIENCY
    low, high = RATIO_RANGE

    def objective(log_r: float) -> tuple[float, float, float]:
        r = math.exp(log_r)
        x, o, err = _inner(a_of(r), b, n_free >= 3, max(x_min, 1 / (MAX_EFFICIENCY * r)))
        return err + PULL * (log_r - math.log(prior_ratio)) ** 2, x, o

    if n_free == 1:
        log_r = math.log(prior_ratio)
    else:
        lo, hi = math.log(low), math.log(high)
        grid = [lo + (hi - lo) * i / (GRID - 1) for i in range(GRID)]
        values = [objective(g)[0] for g in grid]
        i = min(range(GRID), key=values.__getitem__)
        left, right = grid[max(i - 1, 0)], grid[min(i + 1, GRID - 1)]
        golden = (math.sqrt(5) - 1) / 2
        for _ in range(80):  # golden-section search within the best cell's neighbours
            m1 = right - golden * (right - left)
            m2 = left + golden * (right - left)
            if objective(m1)[0] <= objective(m2)[0]:
                right = m2
            else:
                left = m1
        log_r = (left + right) / 2
    _, x, o = objective(log_r)
    r = math.exp(log_r)
    compute = 1 / x
    factors = Factors(compute, compute / r, o)
    errors = [predict(p.times, factors) / p.measured_s - 1 for p in points]
    fitted = (("common",), ("compute", "memory"), ("compute", "memory", "overhead"))[n_free - 1]
    return Fit(factors, fitted, math.sqrt(sum(e * e for e in errors) / len(errors)))


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
