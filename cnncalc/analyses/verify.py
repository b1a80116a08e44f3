"""Engine against torch: the comparison, as pure data (no torch import here).

`cnncalc.torch.measure` counts a built module (shapes by forward hooks, params and buffers by
`numel`, MACs by `FlopCounterMode` halved) into a `Measurement`; `compare` checks it against the
engine's Report node by node, and `summarize_times` turns forward-pass times into latency and
throughput. The `verify` command only renders the results.

Shapes: torch is NCHW with the batch first; the engine is HWC per example. `torch_shape` turns
an engine shape into the tensor shape torch must produce at a batch size.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..core.layers import Shape, fmt_shape
from ..core.report import Node, Report


def torch_shape(shape: Shape, batch: int = 1) -> tuple[int, ...]:
    """An engine shape as the tensor shape torch gives: `HxWxC` -> (N, C, H, W), `(n)` -> (N, n)."""
    if len(shape) == 3:
        h, w, c = shape
        return (batch, c, h, w)
    return (batch, *shape)


def engine_shape(shape: tuple[int, ...]) -> Shape:
    """A torch tensor shape without its batch, in the engine's order: (N, C, H, W) -> (H, W, C)."""
    if len(shape) == 4:
        return (shape[2], shape[3], shape[1])
    return tuple(shape[1:])


def shape_text(shape: tuple[int, ...] | None) -> str:
    """A torch shape in the lecture's notation with its batch, e.g. `2 x 37x37x10`."""
    if shape is None:
        return "no tensor"
    if len(shape) in (2, 4):
        return f"{shape[0]} x {fmt_shape(engine_shape(shape))}"
    return "(" + ", ".join(str(n) for n in shape) + ")"


@dataclass(frozen=True, slots=True)
class Measured:
    """torch's count of one module (its children included). `shape` is the torch tensor shape
    of its output (None if it gave no tensor or never ran)."""

    shape: tuple[int, ...] | None
    params: int
    trainable_params: int
    buffers: int
    macs: int


@dataclass(frozen=True, slots=True)
class Measurement:
    """torch's counts per engine path, and for the whole module."""

    layers: dict[str, Measured]
    total: Measured
    device: str = "cpu"
    dtype: str = "fp32"
    #: MACs of the training-only rows (auxiliary heads), measured apart; None: none measured
    training_only_macs: int | None = None


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """One number (or shape) from both sides."""

    field: str
    engine: object
    torch: object

    @property
    def agrees(self) -> bool:
        return self.engine == self.torch

    def difference(self) -> str:
        """`params: torch 1,234 (engine +10)`, or the shapes side by side."""
        if self.agrees:
            return ""
        if self.field == "shape":
            return f"shape: torch {shape_text(self.torch)}, " \
                   f"engine {shape_text(self.engine)}"  # type: ignore[arg-type]
        if self.torch is None:
            return f"{self.field}: no torch module"
        delta = int(self.engine) - int(self.torch)  # type: ignore[call-overload]
        return f"{self.field}: torch {int(self.torch):,} " \
               f"(engine {delta:+,})"  # type: ignore[call-overload]


@dataclass(slots=True)
class LayerCheck:
    """One node of the report and its checks."""

    node: Node
    checks: list[FieldCheck]

    @property
    def agrees(self) -> bool:
        return all(c.agrees for c in self.checks)

    def differences(self) -> list[str]:
        return [c.difference() for c in self.checks if not c.agrees]


@dataclass(slots=True)
class Verification:
    """Every node checked, and the totals. `agrees` is the exit status's answer."""

    report: Report
    rows: list[LayerCheck]
    totals: list[FieldCheck]
    device: str = "cpu"
    dtype: str = "fp32"
    missing: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(r.agrees for r in self.rows) and all(c.agrees for c in self.totals)

    @property
    def disagreeing(self) -> list[LayerCheck]:
        return [r for r in self.rows if not r.agrees]


def _checks(expected: tuple[tuple[int, ...], int, int, int],
            found: Measured | None) -> list[FieldCheck]:
    shape, params, buffers, macs = expected
    if found is None:
        return [FieldCheck("module", "present", None)]
    return [FieldCheck("shape", shape, found.shape), FieldCheck("params", params, found.params),
            FieldCheck("buffers", buffers, found.buffers), FieldCheck("macs", macs, found.macs)]


def match(report: Report, measurement: Measurement) -> Verification:
    """FieldCheck every node of `report` (at its batch size) against torch's counts."""
    rows = []
    missing = []
    for node in report.walk():
        found = measurement.layers.get(node.path)
        if found is None:
            missing.append(node.path)
        expected = (torch_shape(node.output_shape, report.batch), node.params, node.buffers,
                    report.macs(node))
        rows.append(LayerCheck(node, _checks(expected, found)))
    t = report.totals
    finals = [torch_shape(node.output_shape, report.batch) for node in report.inference_outputs]
    total = measurement.total
    totals = [
        FieldCheck("shape", finals[0] if len(finals) == 1 else tuple(finals), total.shape),
        FieldCheck("params", t.params, total.params),
        FieldCheck("trainable params", t.trainable_params, total.trainable_params),
        FieldCheck("buffers", t.buffers, total.buffers),
        FieldCheck("macs", report.macs(t), total.macs),
    ]
    if any(node.training_only for node in report.nodes):
        totals.append(FieldCheck("training-only macs", report.macs(report.training_only),
                                 measurement.training_only_macs))
    return Verification(report, rows, totals, measurement.device, measurement.dtype, missing)


@dataclass(frozen=True, slots=True)
class Timing:
    """Latency of one forward pass over the timed runs, and what it achieves."""

    runs: int
    batch: int
    median_s: float
    min_s: float
    max_s: float
    stdev_s: float
    #: images per second at the median latency
    throughput: float
    #: the engine's MACs for the batch, and per second at the median latency
    macs: int
    macs_per_s: float


def summarize_times(times: list[float], batch: int, macs: int) -> Timing:
    """Median, range and spread of `times` (seconds per forward pass of `batch` images whose
    engine count is `macs` multiply-adds in total)."""
    if not times:
        raise ValueError("no timed runs")
    median = statistics.median(times)
    stdev = statistics.stdev(times) if len(times) > 1 else 0.0
    rate = 1 / median if median > 0 else float("inf")
    return Timing(len(times), batch, median, min(times), max(times), stdev,
                  batch * rate, macs, macs * rate)
