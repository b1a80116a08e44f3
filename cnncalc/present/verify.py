"""The Result of `cnncalc verify`: each row of the engine beside torch's verdict, the totals,
and (with `--time`) the measured latency."""

from __future__ import annotations

from ..analyses.verify import Timing, Verification
from ..core.units import exact, si
from ..result import Column, Result, Row, Table
from .labels import layer_label


def columns(agrees: bool) -> list[Column]:
    """The table's columns; what torch disagrees about only where it does."""
    return [
        Column("mark", ""), Column("label", "Layer", "name", machine=False),
        Column("path", "path", human=False),
        Column("shape", "Shape", "shape"), Column("params", "Params", "count"),
        Column("buffers", "Buffers", "count"), Column("macs", "MACs", "count"),
        Column("agrees", "agrees", human=False),
        Column("differences", "Torch disagrees", human=not agrees),
    ]


def result(verification: Verification, depth: int | None = None) -> Result:
    """Rows down to `depth` (disagreements always shown), the totals row and a verdict."""
    report = verification.report
    rows = []
    for row in verification.rows:
        node = row.node
        if depth is not None and node.depth > depth and row.agrees:
            continue
        rows.append(Row({"mark": "✓" if row.agrees else "✗", "label": layer_label(node),
                         "path": node.path, "shape": node.output_shape, "params": node.params,
                         "buffers": node.buffers, "macs": report.macs(node),
                         "agrees": row.agrees, "differences": "; ".join(row.differences())},
                        role="block" if node.is_block else "" if row.agrees else "fail",
                        depth=node.depth))
    t = report.totals
    totals_agree = all(c.agrees for c in verification.totals)
    rows.append(Row({"mark": "✓" if totals_agree else "✗", "label": "total", "path": "",
                     "shape": report.nodes[-1].output_shape if report.nodes else None,
                     "params": t.params, "buffers": t.buffers, "macs": report.macs(t),
                     "agrees": totals_agree,
                     "differences": "; ".join(c.difference() for c in verification.totals
                                              if not c.agrees)}, role="total"))
    if verification.agrees:
        verdict = (f"✓ all {len(verification.rows):,} rows and the totals agree with torch: "
                   f"params {exact(t.params)}, buffers {exact(t.buffers)}, "
                   f"MACs {exact(report.macs(t))} (= FlopCounterMode / 2)")
    else:
        verdict = (f"✗ {len(verification.disagreeing):,} of {len(verification.rows):,} rows "
                   "disagree with torch" + ("" if totals_agree else ", and the totals"))
    title = (f"{report.spec_name}: engine against torch ({verification.device}, "
             f"batch {report.batch}, {verification.dtype})")
    return Result("verify", title, [Table("rows", columns(verification.agrees), rows)],
                  notes=[verdict],
                  meta={"spec": report.spec_name, "device": verification.device,
                        "batch": report.batch, "dtype": verification.dtype},
                  data={"agrees": verification.agrees}, exit_code=0 if verification.agrees else 1)


def _seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def add_timing(result: Result, timing: Timing, device: str, dtype: str, warmup: int,
               macs: int) -> None:
    """Latency and throughput lines (and their exact values in the JSON data)."""
    result.notes += [
        f"Timing on {device}, batch {timing.batch}, {dtype}: {timing.runs} runs after "
        f"{warmup} warm-up",
        f"Latency per forward pass: median {_seconds(timing.median_s)} (min "
        f"{_seconds(timing.min_s)}, max {_seconds(timing.max_s)}, stdev "
        f"{_seconds(timing.stdev_s)})",
        f"Throughput: {timing.throughput:,.1f} images/s",
        f"Achieved: {si(timing.macs_per_s)} MACs/s ({si(2 * timing.macs_per_s)} FLOPs/s) on the "
        f"engine's {exact(macs)} MACs ({si(macs)}) per forward pass",
    ]
    result.data["timing"] = {"runs": timing.runs, "warmup": warmup, "batch": timing.batch,
                             "median_s": timing.median_s, "min_s": timing.min_s,
                             "max_s": timing.max_s, "stdev_s": timing.stdev_s,
                             "images_per_s": timing.throughput, "macs_per_s": timing.macs_per_s}


def failed_run(spec: str, device: str, first: str) -> Result:
    """torch could not run the module at all."""
    return Result("verify", f"{spec}: engine against torch ({device})", [],
                  notes=[f"✗ torch could not run {spec} on {device}: {first}"],
                  meta={"spec": spec, "device": device}, data={"agrees": False}, exit_code=1)
