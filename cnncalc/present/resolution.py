"""`cnncalc resolution`'s Result: the counts per input size (with sparklines and, in HTML,
charts), and the counts as functions of the input height and width on classes of sizes."""

from __future__ import annotations

from typing import Any

from ..analyses.resolution import (
    CHECKS,
    MAX_SIDE,
    MEASURES,
    Point,
    Symbolic,
    sparkline,
)
from ..result import Column, Plot, Result, Row, Table

#: at most this many residues are listed in the note on the sizes that drop no pixels
LISTED = 8


def result(name: str, points: list[Point], smallest: int | None, channels: int,
           symbolic: Symbolic | None = None) -> Result:
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
                                         else f"none up to {MAX_SIDE}x{MAX_SIDE}"),
             "sizes that drop no pixels at any window: "
             + (", ".join(map(str, exact)) if exact else "none in the sweep")]
    valid = [p for p in points if not p.error and p.macs is not None]
    plots = [Plot(f"{title} against the input size", "input height and width (pixels)", title,
                  [(p.size, getattr(p, key), True) for p in valid])
             for key, title in (("macs", "MACs"), ("activations", "activations")) if valid]
    tables = [Table("sizes", columns, rows)]
    data: dict[str, Any] = {"smallest_input": smallest, "drop_no_pixels": exact}
    if symbolic is not None:
        notes += _notes(symbolic)
        if symbolic.classes:
            tables.append(_table(symbolic))
        data["formulas"] = _data(symbolic)
    return Result("resolution", f"{name}: counts by input size", tables, notes=notes,
                  data=data, plots=plots)


def _table(symbolic: Symbolic) -> Table:
    """One row per class and measure; for people, the class's size rule, smallest valid size
    and whether it drops pixels down its three rows; for machines, all of them on every row."""
    human = [Column("sizes", "sizes", "text", machine=False),
             Column("measure", "measure", "text", machine=False),
             Column("formula", "formula", "text")]
    machine = [Column(key, key, "text", human=False) for key in (
        "height_mod", "width_mod", "height_period", "width_period", "min_height",
        "min_width", "drops_pixels", "measure_key", "H*W", "H", "W", "1")]
    rows = []
    for size_class in symbolic.classes:
        same = {"height_mod": size_class.height_mod, "width_mod": size_class.width_mod,
                "height_period": size_class.period[0], "width_period": size_class.period[1],
                "min_height": size_class.min_height, "min_width": size_class.min_width,
                "drops_pixels": size_class.drops_pixels}
        if size_class.formulas is None:
            rows.append(Row({"sizes": size_class.text(), **same,
                             "formula": f"none: {size_class.problem}"}, role="invalid"))
            continue
        drops = size_class.drops_pixels
        down = [size_class.text(), f"from {size_class.min_height}x{size_class.min_width}",
                "" if drops is None else "drops pixels" if drops else "drops no pixels"]
        for text, (key, form) in zip(down, size_class.formulas.items(), strict=True):
            rows.append(Row({"sizes": text, **same, "measure": MEASURES[key],
                             "measure_key": key, "formula": form.text(), **form.to_dict()},
                            role="layer"))
    return Table("formulas", [*human[:2], *machine, human[2]], rows,
                 title="counts as functions of the input height H and width W", json=False)


def _notes(symbolic: Symbolic) -> list[str]:
    if symbolic.period is None:
        return [f"formulas: none, as {symbolic.problem}"]
    ph, pw = symbolic.period
    stride = f"{ph}" if ph == pw else f"{ph} (height), {pw} (width)"
    notes = [f"formulas: exact on each class of sizes modulo {stride} (the lcm of the layers' "
             f"total strides), from the class's smallest valid size up; fitted to the counts "
             f"at its 4 smallest sizes and checked at {len(CHECKS)} more"]
    if symbolic.drop_free is not None:
        notes.append("square sizes that drop no pixels at any window: "
                     + _drop_free_text(symbolic.drop_free, symbolic.square_period or 1))
    return notes


def _drop_free_text(free: list[tuple[int, int | None]], period: int) -> str:
    if not free:
        return "none"
    residues = [r for r, _ in free]
    listed = ", ".join(map(str, residues[:LISTED])) + (
        f", ... ({len(residues)} classes)" if len(residues) > LISTED else "")
    if free[0][1] is None:  # every class with valid sizes
        return ("every valid one" if len(free) == period or period == 1
                else f"every valid one (n mod {period} = {listed})")
    return "; ".join(f"n mod {period} = {r}, from {smallest}" if smallest is not None
                     else f"n mod {period} = {r}" for r, smallest in free[:LISTED]) + (
        f"; ... ({len(free)} classes)" if len(free) > LISTED else "")


def _data(symbolic: Symbolic) -> dict[str, Any]:
    """The formulas as JSON: exact coefficients (an int, or a fraction as `"9/16"`)."""
    if symbolic.period is None:
        return {"error": symbolic.problem}
    classes = []
    for c in symbolic.classes:
        item: dict[str, Any] = {"height_mod": c.height_mod, "width_mod": c.width_mod,
                                "min_height": c.min_height, "min_width": c.min_width}
        if c.formulas is None:
            item["error"] = c.problem
        else:
            item["drops_pixels"] = c.drops_pixels
            item.update({key: form.to_dict() for key, form in c.formulas.items()})
            item["checked_at"] = [list(size) for size in c.checked]
        classes.append(item)
    out: dict[str, Any] = {"period": list(symbolic.period), "classes": classes}
    if symbolic.drop_free is not None:
        out["drop_free_squares"] = {
            "period": symbolic.square_period,
            "classes": [{"residue": r, "from": smallest} for r, smallest in symbolic.drop_free]}
    return out
