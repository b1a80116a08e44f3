"""`cnncalc resolution`'s Result: the counts per input size, with a sparkline of the MACs."""

from __future__ import annotations

from ..analyses.resolution import Point, sparkline
from ..result import Column, Plot, Result, Row, Table


def result(name: str, points: list[Point], smallest: int | None, channels: int) -> Result:
    columns = [Column("size", "input", "shape"), Column("macs", "MACs", "count"),
               Column("params", "params", "count"),
               Column("activations", "activations", "count"),
               Column("drops_pixels", "drops pixels", "text"),
               Column("error", "not valid", "text")]
    rows = [Row({"size": (p.size, p.size, channels), "macs": p.macs, "params": p.params,
                 "activations": p.activations,
                 "drops_pixels": None if p.drops_pixels is None else
                 ("yes" if p.drops_pixels else "no"), "error": p.error or None},
                role="invalid" if p.error else "layer") for p in points]
    exact = [p.size for p in points if p.drops_pixels is False]
    notes = [f"MACs:        {sparkline([p.macs for p in points])}",
             f"activations: {sparkline([p.activations for p in points])}",
             "smallest valid input: " + (f"{smallest}x{smallest}x{channels}" if smallest
                                         else "none up to 4096x4096"),
             "sizes that drop no pixels at any window: "
             + (", ".join(map(str, exact)) if exact else "none in the sweep")]
    valid = [p for p in points if not p.error and p.macs is not None]
    plots = [Plot(f"{title} against the input size", "input height and width (pixels)", title,
                  [(p.size, getattr(p, key), True) for p in valid])
             for key, title in (("macs", "MACs"), ("activations", "activations")) if valid]
    return Result("resolution", f"{name}: counts by input size",
                  [Table("sizes", columns, rows)], notes=notes,
                  data={"smallest_input": smallest, "drop_no_pixels": exact}, plots=plots)
