"""The Result of `cnncalc conventions`: what each convention counts, side by side."""

from __future__ import annotations

from ..analyses.conventions import CONVENTIONS, TOPICS
from ..result import Column, Result, Row, Table


def result(names: list[str]) -> Result:
    """One row per topic (bias, batch norm, activations, pooling, adds, softmax, the 2x, ...),
    one column per convention in `names`; notes: each tool's version and call."""
    columns = [Column("topic", "What"),
               *(Column(name, name) for name in names)]
    rows = [Row({"topic": topic, **{name: cells[name] for name in names}})
            for topic, cells in TOPICS]
    notes = [f"{name}: {CONVENTIONS[name].tool}; its number: {CONVENTIONS[name].number}"
             for name in names if name != "cnncalc"]
    notes.append("Per example unless said; 'module': the torch nn class, 'F.': a "
                 "torch.nn.functional call. The model: the spec in torch's own modules, a row "
                 "as its written_as: says (module, functional, subclass, linear, tensor). "
                 "Measured at these versions: docs/peers.md.")
    return Result("conventions", "What each convention counts",
                  [Table("conventions", columns, rows)], notes=notes)
