"""The Result of `cnncalc memory`: where the bytes go, for inference and one training step, per
layer, and (with a limit) the largest batch that fits."""

from __future__ import annotations

from typing import Any

from ..analyses.memory import (
    MAX_BATCH,
    OPTIMIZER_STATES,
    ZERO,
    Backward,
    Forward,
    backward,
    forward,
    largest_batch,
    static_training,
    training,
)
from ..core.report import Node, Report
from ..core.units import binary, exact
from ..result import Column, Result, Row, Table
from .report import layer_label

COLUMNS = [
    Column("part", "Part"),
    Column("bytes", "Bytes", "count"),
    Column("size", "", "bytes", machine=False),
    Column("rule", "Rule"),
]

LAYER_COLUMNS = [
    Column("name", "Layer", "name"),
    Column("path", "path", human=False),
    Column("kind", "kind", human=False),
    Column("output", "Output", "shape"),
    Column("saved_bytes", "Saved bytes", "count"),
    Column("saved", "Saved", "bytes", machine=False),
    Column("live_bytes", "Live bytes", "count"),
    Column("live", "Live", "bytes", machine=False),
]

FIT_COLUMNS = [
    Column("pass", "Pass"),
    Column("batch", "Largest batch", "count"),
    Column("bytes", "Bytes at it", "count"),
    Column("size", "", "bytes", machine=False),
    Column("limit", "Limit", "count"),
]


def _saved_by(report: Report, train: Backward) -> dict[str, int]:
    """Saved bytes per row at the report's batch; a block's are its rows' summed."""
    saved: dict[str, int] = {}

    def total(node: Node) -> int:
        own = train.by_layer.get(node.path, ZERO).at(report.batch)
        value = own + sum(total(child) for child in node.children or [])
        saved[node.path] = value
        return value

    for node in report.nodes:
        total(node)
    return saved


def layer_rows(report: Report, infer: Forward, train: Backward) -> list[dict[str, Any]]:
    """Per row: the bytes its backward is the first to keep (a block: its rows'), and the
    largest live set while it runs at inference (None: it does not run then)."""
    saved = _saved_by(report, train)
    rows = []
    for node in report.walk():
        live = infer.live(node.path, report.batch) if node.path in infer.spans else None
        rows.append({"node": node, "path": node.path, "kind": node.kind, "depth": node.depth,
                     "output_shape": list(node.output_shape), "saved_bytes": saved[node.path],
                     "live_bytes": live})
    return rows


def document(report: Report, optimizer: str, limit: int | None = None,
             passes: tuple[Forward, Backward] | None = None) -> dict[str, Any]:
    """The JSON contract of `cnncalc memory --format json` (bytes, exact)."""
    infer, train = passes or (forward(report), backward(report))
    steps = training(report, optimizer, train)
    peak, at = infer.peak(report.batch)
    doc: dict[str, Any] = {
        "spec": report.spec_name, "batch": report.batch, "dtype": report.dtype,
        "optimizer": optimizer,
        "params": report.totals.params, "trainable_params": report.totals.trainable_params,
        "param_bytes": report.param_bytes, "buffer_bytes": report.buffer_bytes,
        "activation_bytes": report.activation_bytes,
        "peak_inference_bytes": peak, "peak_at": at.path if at else "input",
        "inference_bytes": report.param_bytes + report.buffer_bytes + peak,
        "training": {"weights": steps.weights, "buffers": steps.buffers,
                     "gradients": steps.gradients, "optimizer": steps.optimizer,
                     "activations": steps.activations, "forward_peak": steps.forward_peak,
                     "total": steps.total},
        "layers": [{k: v for k, v in row.items() if k != "node"}
                   for row in layer_rows(report, infer, train)],
    }
    if limit is not None:
        fit = largest_batch(report, limit, optimizer, (infer, train))
        inference = fit.inference if fit.inference < MAX_BATCH else None
        trains = fit.training if fit.training < MAX_BATCH else None
        doc["fits"] = {
            "limit": limit, "optimizer": optimizer,
            "inference_batch": inference, "training_batch": trains,
            "inference_bytes": (report.param_bytes + report.buffer_bytes
                                + infer.peak(inference)[0]) if inference else None,
            "training_bytes": (static_training(report, optimizer) + train.peak(trains))
            if trains else None,
        }
    return doc


def result(report: Report, optimizer: str = "sgd", limit: int | None = None) -> Result:
    passes = (forward(report), backward(report))
    d = document(report, optimizer, limit, passes)
    t = d["training"]
    states = OPTIMIZER_STATES[optimizer]
    parts = [
        ("params", d["param_bytes"], "every parameter (trainable "
         f"{exact(d['trainable_params'])} of {exact(d['params'])})"),
        ("buffers", d["buffer_bytes"], "batch-norm running statistics"),
        ("activations (all)", d["activation_bytes"], "every layer's output, summed"),
        ("peak activations", d["peak_inference_bytes"],
         f"largest set alive at once in an eval forward pass (at {d['peak_at']})"),
        ("inference total", d["inference_bytes"], "params + buffers + peak activations"),
        ("training: weights", t["weights"], "every parameter"),
        ("training: buffers", t["buffers"], "batch-norm running statistics"),
        ("training: gradients", t["gradients"], "one per trainable parameter"),
        ("training: optimizer", t["optimizer"],
         f"{optimizer}: {states} per trainable parameter"),
        ("training: activations", t["activations"],
         "what autograd saves for the backward pass (unique tensors)"),
        ("training: forward peak", t["forward_peak"],
         "largest set alive in its forward pass, the saved activations included"),
        ("training total", t["total"], "one step: weights to optimizer + forward peak"),
    ]
    rows = [Row({"part": part, "bytes": value, "size": value, "rule": rule},
                role="block" if part.endswith("total") else "")
            for part, value, rule in parts]
    layers = [Row({"name": layer_label(row["node"]), "path": row["path"], "kind": row["kind"],
                   "output": tuple(row["output_shape"]), "saved_bytes": row["saved_bytes"],
                   "saved": row["saved_bytes"], "live_bytes": row["live_bytes"],
                   "live": row["live_bytes"]},
                  role="block" if row["node"].is_block else "layer", depth=row["depth"])
              for row in layer_rows(report, *passes)]
    tables = [Table("parts", COLUMNS, rows, json=False),
              Table("layers", LAYER_COLUMNS, layers, title="Per layer: saved for the backward "
                    "pass (at the first layer that keeps a tensor) and alive while it runs "
                    "at inference", json=False)]
    notes = []
    if limit is not None:
        fits = d["fits"]
        found = []
        for what, batch, size in (("inference", fits["inference_batch"],
                                   fits["inference_bytes"]),
                                  (f"training ({optimizer})", fits["training_batch"],
                                   fits["training_bytes"])):
            found.append(Row({"pass": what, "batch": batch, "bytes": size, "size": size,
                              "limit": limit}, role="fail" if batch == 0 else ""))
            notes.append(f"Largest batch within {binary(limit)} for {what}: "
                         + ("none (not even one example)" if batch == 0 else
                            "any (nothing grows with the batch)" if batch is None else
                            f"{batch:,} ({binary(size)})"))
        tables.append(Table("fits", FIT_COLUMNS, found, title=f"What fits in {binary(limit)} "
                            f"({report.dtype})", json=False))
    title = f"{report.spec_name}: memory at batch {report.batch}, {report.dtype}"
    return Result("memory", title, tables, notes=notes, data=d,
                  footnote="Bytes of the tensors themselves, as torch holds them on CPU "
                  "(docs/memory.md); a GPU adds its allocator's rounding and workspaces.")

