"""A roofline estimate of inference latency, layer by layer, from a Report and a device profile.

An estimate, never a measurement: it says how long a layer would take if the device reached
its datasheet's peak (times the profile's efficiency factors), with nothing else in the way.

The model, per row that runs at inference (Williams, Waterman and Patterson, "Roofline",
CACM 2009, applied to one layer at a time):

    compute time = MACs / (peak MACs per second at the dtype x compute efficiency)
    memory time  = bytes / (memory bandwidth x memory efficiency)
    time         = max(compute time, memory time) + overhead per row

and the row is *compute-bound* when its compute time is the larger, *memory-bound* otherwise.
The total is the sum over rows (one after another, as a framework runs them); images per
second = batch / total.

Counting conventions, stated here once:
- MACs are the report's (conv and dense multiply-accumulates, bias excluded) for the batch.
  Element-wise work (activations, batch norm, pooling, adds) has no compute time: on every
  shipped device it is far below its memory time, which the row's bytes give.
- peak MACs per second = the profile's `peak_tops` x 10^12 / 2 (a MAC is two operations).
- bytes = (input elements + output elements) x batch x bytes per element
        + (params + buffers) x bytes per element.
  The input of an add or concat is every tensor it joins. Each row reads its input from
  memory and writes its output back: nothing stays in caches between rows, and an activation
  written as `activation:` on a conv or dense layer is applied before the output is written
  (no traffic of its own), while one written as its own row reads and writes the tensor again
  (eager torch; fused inference engines merge such rows, which this model does not).
- Views move nothing and take no time: `flatten`, `chunk` and `crop` (torch returns views),
  `dropout` and `stochastic_depth` (the identity at inference). They are the kinds in `VIEWS`.
- Training-only rows (auxiliary heads) do not run at inference and are left out.
- The dtype is the report's: the MAC rate at that dtype, and its bytes per element for every
  tensor (weights included).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..core import layers as L
from ..core.report import Node, Report
from .devices import Profile

#: kinds that run as views or as the identity at inference: no bytes moved, no time
VIEWS: tuple[type[L.Layer], ...] = (L.Flatten, L.Chunk, L.Crop, L.InferenceIdentity)

COMPUTE, MEMORY, NONE = "compute", "memory", "none"


# --------------------------------------------------------------------------- pure formulas

def compute_seconds(macs: int, macs_per_s: float, efficiency: float = 1.0) -> float:
    """`MACs / (peak MACs per second x efficiency)`."""
    return macs / (macs_per_s * efficiency)


def memory_seconds(moved: int, bytes_per_s: float, efficiency: float = 1.0) -> float:
    """`bytes / (bandwidth x efficiency)`."""
    return moved / (bytes_per_s * efficiency)


def bound_of(compute_s: float, memory_s: float) -> str:
    """Which roof the row sits under: compute when its compute time is at least its memory
    time (and not zero), memory otherwise; none for a row that does nothing."""
    if compute_s == 0 and memory_s == 0:
        return NONE
    return COMPUTE if compute_s >= memory_s else MEMORY


def row_seconds(compute_s: float, memory_s: float, overhead_s: float = 0.0) -> float:
    """The roofline time of one row: the larger of the two, plus a fixed overhead (kernel
    launch, framework dispatch; 0 unless a profile or a calibration sets it)."""
    return max(compute_s, memory_s) + overhead_s


def traffic_bytes(inputs: int, outputs: int, weights: int, batch: int,
                  bytes_per_element: int) -> int:
    """`(input elements + output elements) x batch x b + weights x b`, where the elements are
    per example and `weights` = params + buffers (read once per batch)."""
    return ((inputs + outputs) * batch + weights) * bytes_per_element


# --------------------------------------------------------------------------- over a report

def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def is_view(node: Node) -> bool:
    """A row that moves no data at inference (see VIEWS)."""
    return isinstance(node.layer, VIEWS)


def input_elements(node: Node) -> int:
    """Elements a row reads per example: its input, or every input of an add or concat."""
    if node.inputs:
        return sum(_prod(s) for s in node.inputs)
    return _prod(node.input_shape)


def row_bytes(node: Node, report: Report) -> int:
    """Bytes a row reads and writes for the report's batch (0 for a view)."""
    if is_view(node):
        return 0
    return traffic_bytes(input_elements(node), _prod(node.output_shape),
                         node.params + node.buffers, report.batch, report.bytes_per_element)


def timed_rows(report: Report) -> Iterator[Node]:
    """The rows that run at inference, in order: leaves (layers, merges, post-activations),
    training-only rows left out."""
    return (n for n in report.leaves() if not n.training_only)


@dataclass(frozen=True, slots=True)
class RowEstimate:
    node: Node
    macs: int
    bytes: int
    compute_s: float
    memory_s: float
    seconds: float
    bound: str

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity, MACs per byte (None when nothing is moved)."""
        return self.macs / self.bytes if self.bytes else None


@dataclass(frozen=True, slots=True)
class Estimate:
    """Every row's estimate and the total, at the report's batch and dtype, on a profile."""

    report: Report
    profile: Profile
    rows: list[RowEstimate]

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    @property
    def images_per_s(self) -> float:
        return self.report.batch / self.seconds if self.seconds else float("inf")

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.rows)

    def seconds_by_bound(self, bound: str) -> float:
        return sum(r.seconds for r in self.rows if r.bound == bound)

    def count(self, bound: str) -> int:
        return sum(1 for r in self.rows if r.bound == bound)


def estimate(report: Report, profile: Profile) -> Estimate:
    """The roofline estimate of every row of `report` on `profile` (see the module docstring);
    CnnCalcError when the profile has no rate at the report's dtype."""
    macs_per_s = profile.macs_per_s(report.dtype)
    bytes_per_s = profile.bytes_per_s
    overhead_s = profile.overhead_us * 1e-6
    rows = []
    for node in timed_rows(report):
        macs = report.macs(node)
        moved = row_bytes(node, report)
        c = compute_seconds(macs, macs_per_s, profile.compute_efficiency)
        m = memory_seconds(moved, bytes_per_s, profile.memory_efficiency)
        bound = bound_of(c, m)
        seconds = row_seconds(c, m, overhead_s if bound != NONE else 0.0)
        rows.append(RowEstimate(node, macs, moved, c, m, seconds, bound))
    return Estimate(report, profile, rows)


def peak_times(report: Report, profile: Profile) -> list[tuple[float, float]]:
    """(compute, memory) seconds of every row that does work, at the profile's peak rates
    (efficiency 1): what a calibration scales."""
    macs_per_s = profile.macs_per_s(report.dtype)
    out = []
    for node in timed_rows(report):
        c = compute_seconds(report.macs(node), macs_per_s)
        m = memory_seconds(row_bytes(node, report), profile.bytes_per_s)
        if c or m:
            out.append((c, m))
    return out
