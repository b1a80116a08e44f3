"""The Result of `cnncalc latency`: a roofline ESTIMATE per row (bound, time, share of the
total), the total and images/s, the device's rates and sources, and a calibration's fit.

Every title, note and JSON document says it is an estimate: nothing here was measured (a
calibration's measured times are shown as such, beside the estimates they correct).
"""

from __future__ import annotations

from typing import Any

from ..analyses.calibration import Factors, Fit, Measurement, Point, predict, spread
from ..analyses.devices import Profile
from ..analyses.latency import COMPUTE, MEMORY, NONE, Estimate, RowEstimate
from ..core.report import Node
from ..core.units import binary, exact, si
from ..result import Column, Result, Row, Table
from .report import layer_label

CONVENTIONS = (
    "compute time = MACs / (peak MACs/s at the dtype x compute efficiency), peak MACs/s = the "
    "datasheet's dense ops/s / 2; memory time = bytes / (bandwidth x memory efficiency), bytes "
    "= (input + output elements) x batch x bytes per element + (params + buffers) x bytes per "
    "element; a row takes the larger (its bound) plus the overhead per row; the total is the "
    "sum of the rows. A roofline estimate from datasheet peaks, never a measurement"
)

ESTIMATE = "ESTIMATE"


def duration(seconds: float | None) -> str:
    """`1.23 ms`, `45.6 µs`, `789 ns`: three significant digits."""
    if seconds is None:
        return ""
    if seconds == 0:
        return "0"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


COLUMNS = [
    Column("label", "Layer", "name", machine=False),
    Column("row", "row", human=False),
    Column("path", "path", human=False),
    Column("kind", "kind", human=False),
    Column("bound", "Bound"),
    Column("macs", "MACs", "count"),
    # a narrow terminal leaves out the roofline's workings first, keeping the estimate
    Column("bytes_text", "Bytes", "bytes", machine=False, drop=1),
    Column("bytes", "bytes", "count", human=False),
    Column("intensity_text", "MACs/byte", machine=False, drop=3),
    Column("macs_per_byte", "macs_per_byte", "float", human=False),
    Column("compute_text", "Compute", machine=False, drop=2),
    Column("estimated_compute_s", "estimated_compute_s", "float", human=False),
    Column("memory_text", "Memory", machine=False, drop=2),
    Column("estimated_memory_s", "estimated_memory_s", "float", human=False),
    Column("time_text", "Time (est.)", machine=False),
    Column("estimated_s", "estimated_s", "float", human=False),
    Column("share", "Share", "share"),
]


def _bound_text(rows: list[RowEstimate]) -> str:
    """A block's bound: the bound of most of its time, with that share."""
    total = sum(r.seconds for r in rows)
    if not total:
        return "-"
    compute = sum(r.seconds for r in rows if r.bound == COMPUTE)
    share, name = max((compute / total, COMPUTE), (1 - compute / total, MEMORY))
    return name if share >= 0.995 else f"{name} {share:.0%}"


def _values(label: str, rows: list[RowEstimate], total_s: float) -> dict[str, Any]:
    macs = sum(r.macs for r in rows)
    moved = sum(r.bytes for r in rows)
    seconds = sum(r.seconds for r in rows)
    compute = sum(r.compute_s for r in rows)
    memory = sum(r.memory_s for r in rows)
    return {"label": label, "macs": macs, "bytes_text": moved, "bytes": moved,
            "macs_per_byte": macs / moved if moved else None,
            "intensity_text": f"{macs / moved:.3g}" if moved else "",
            "compute_text": duration(compute), "estimated_compute_s": compute,
            "memory_text": duration(memory), "estimated_memory_s": memory,
            "time_text": duration(seconds), "estimated_s": seconds,
            "share": seconds / total_s if total_s else 0.0}


def rows_of(found: Estimate, max_depth: int | None) -> list[Row]:
    """A row per layer (and per block, with its subtotal), collapsed below `max_depth`."""
    by_path = {r.node.path: r for r in found.rows}
    total_s = found.seconds
    out = []

    def under(node: Node) -> list[RowEstimate]:
        return [by_path[n.path] for n in node.walk() if n.path in by_path and not n.is_block]

    for node in found.report.walk(max_depth):
        if node.is_block:
            inside = under(node)
            if not inside:
                continue  # a training-only head
            values = _values(layer_label(node), inside, total_s)
            values.update(row="block", path=node.path, kind=node.kind,
                          bound=_bound_text(inside))
            out.append(Row(values, role="block", depth=node.depth))
        elif node.path in by_path:
            r = by_path[node.path]
            values = _values(layer_label(node), [r], total_s)
            values.update(row="layer", path=node.path, kind=node.kind,
                          bound="-" if r.bound == NONE else r.bound)
            out.append(Row(values, role="layer", depth=node.depth))
    values = _values("total (estimate)", found.rows, total_s)
    values.update(row="total", path="", kind="", bound=_bound_text(found.rows))
    out.append(Row(values, role="total"))
    return out


def device_line(profile: Profile, dtype: str) -> str:
    macs = profile.macs_per_s(dtype)
    ridge = macs / profile.bytes_per_s
    text = (f"Device {profile.name}" + (f" ({profile.description})" if profile.description
                                        else "")
            + f": peak {si(macs)} MACs/s at {dtype} ({profile.peak_tops[dtype]:g} T ops/s "
            f"dense), memory {profile.memory_bandwidth_gb_s:g} GB/s; ridge point "
            f"{ridge:.3g} MACs/byte (a row with fewer MACs per byte is memory-bound)")
    return text


def factors_line(profile: Profile, calibrated: bool) -> str:
    how = "calibrated" if calibrated else "from the profile"
    return (f"Efficiency ({how}): compute {profile.compute_efficiency:.3g}, memory "
            f"{profile.memory_efficiency:.3g} of the peaks; overhead "
            f"{duration(profile.overhead_us * 1e-6)} per row")


CAL_COLUMNS = [
    Column("file", "Measurement"),
    Column("spec", "Spec"),
    Column("device", "device", human=False),
    Column("batch", "Batch", "count"),
    Column("dtype", "Dtype"),
    Column("measured_text", "Measured", machine=False),
    Column("measured_s", "measured_s", "float", human=False),
    Column("before_text", "Estimate (profile)", machine=False),
    Column("estimate_profile_s", "estimate_profile_s", "float", human=False),
    Column("after_text", "Estimate (calibrated)", machine=False),
    Column("estimate_calibrated_s", "estimate_calibrated_s", "float", human=False),
    Column("ratio_text", "Calibrated / measured", machine=False),
    Column("ratio", "calibrated_over_measured", "float", human=False),
]


def calibration_rows(points: list[tuple[Measurement, list[tuple[float, float]]]],
                     before: Factors, after: Factors) -> list[Row]:
    rows = []
    for m, times in points:
        b, a = predict(times, before), predict(times, after)
        rows.append(Row({"file": m.file, "spec": m.spec, "device": m.device, "batch": m.batch,
                         "dtype": m.dtype, "measured_text": duration(m.median_s),
                         "measured_s": m.median_s, "before_text": duration(b),
                         "estimate_profile_s": b,
                         "after_text": duration(a), "estimate_calibrated_s": a,
                         "ratio": a / m.median_s, "ratio_text": f"{a / m.median_s:.2f}x"}))
    return rows


def result(found: Estimate, max_depth: int | None = None,
           calibration: tuple[Fit, Profile, list[tuple[Measurement, list[tuple[float, float]]]]]
           | None = None) -> Result:
    """The per-row table, the totals as notes, the device and (with a calibration) the
    measured points against the estimate."""
    report, profile = found.report, found.profile
    total = found.seconds
    compute_s, memory_s = found.seconds_by_bound(COMPUTE), found.seconds_by_bound(MEMORY)

    def part(name: str, seconds: float, count: int) -> str:
        share = seconds / total if total else 0.0
        rows = f"{count} row{'s' if count != 1 else ''}"
        return f"{name.capitalize()}-bound {rows}, {duration(seconds)} ({share:.0%})"

    notes = [
        f"{ESTIMATE}, not a measurement: a roofline model on the datasheet peaks of "
        f"{profile.name} times the efficiency factors below (docs/latency.md: how far such "
        "estimates land from measured runs)",
        f"Estimated latency: {duration(total)} per forward pass of batch {report.batch} "
        f"({report.dtype}); {found.images_per_s:,.1f} images/s",
        "; ".join((part("compute", compute_s, found.count(COMPUTE)),
                   part("memory", memory_s, found.count(MEMORY)).lower()))
        + (f"; {found.count(NONE)} views (no time)" if found.count(NONE) else ""),
        f"MACs {exact(found.macs)} ({si(found.macs)}); bytes moved {exact(found.bytes)} "
        f"({binary(found.bytes)})",
        device_line(profile, report.dtype),
        factors_line(profile, calibration is not None),
        *(f"Source: {s}" for s in profile.sources),
    ]
    tables = [Table("rows", COLUMNS, rows_of(found, max_depth),
                    title=f"Estimated rows on {profile.name}")]
    data: dict[str, Any] = {
        "estimated_total_s": total, "estimated_images_per_s": found.images_per_s,
        "macs": found.macs, "bytes": found.bytes, "estimated_compute_bound_s": compute_s,
        "estimated_memory_bound_s": memory_s,
        "device": profile_document(profile),
    }
    if calibration is not None:
        fit, given, points = calibration
        prior = Factors(given.compute_efficiency, given.memory_efficiency,
                        given.overhead_us * 1e-6)
        rows = calibration_rows(points, prior, fit.factors)
        tables.append(Table("calibration_points", CAL_COLUMNS, rows,
                            title="Calibration: measured (verify --time) against the estimate"))
        merged = [Point(f"{m.spec} {m.batch} {m.dtype}", times, m.median_s)
                  for m, times in points]
        before = spread(merged, prior)
        notes.append(f"Calibrated on {len(points)} measurement{'s' if len(points) != 1 else ''}"
                     f" (fitted: {', '.join(fit.fitted)}): the estimate is typically off by "
                     f"{before:.2f}x with the profile's factors, {fit.spread:.2f}x after "
                     "(exp of the rms of log(estimate / measured))")
        data["calibration"] = {"fitted": list(fit.fitted), "compute_efficiency":
                               fit.factors.compute, "memory_efficiency": fit.factors.memory,
                               "overhead_s": fit.factors.overhead_s, "spread_before": before,
                               "spread_after": fit.spread}
    title = (f"{report.spec_name} on {profile.name}: latency {ESTIMATE} (roofline), batch "
             f"{report.batch}, {report.dtype}")
    meta = {"estimate": True, "measured": False, "spec": report.spec_name,
            "device": profile.name, "batch": report.batch, "dtype": report.dtype}
    return Result("latency", title, tables, notes=notes, footnote=f"Counted: {CONVENTIONS}.",
                  meta=meta, data=data)


def profile_document(profile: Profile) -> dict[str, Any]:
    return {"name": profile.name, "description": profile.description, "kind": profile.kind,
            "file": profile.file, "bundled": profile.bundled,
            "memory_bandwidth_gb_s": profile.memory_bandwidth_gb_s,
            "peak_tops": dict(profile.peak_tops),
            "compute_efficiency": profile.compute_efficiency,
            "memory_efficiency": profile.memory_efficiency,
            "overhead_us": profile.overhead_us, "sources": list(profile.sources)}
