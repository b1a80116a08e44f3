"""The Result of `cnncalc memory`: where the bytes go, for inference and one training step."""

from __future__ import annotations

from typing import Any

from ..analyses.memory import OPTIMIZER_STATES, inference_bytes, peak_inference, peak_step, training
from ..core.report import Report
from ..core.units import exact
from ..result import Column, Result, Row, Table

COLUMNS = [
    Column("part", "Part"),
    Column("bytes", "Bytes", "count"),
    Column("size", "", "bytes", machine=False),
    Column("rule", "Rule"),
]


def document(report: Report, optimizer: str) -> dict[str, Any]:
    """The JSON contract of `cnncalc memory --format json` (bytes, exact)."""
    train = training(report, optimizer)
    at = peak_step(report)
    return {
        "spec": report.spec_name, "batch": report.batch, "dtype": report.dtype,
        "optimizer": optimizer,
        "params": report.totals.params, "trainable_params": report.totals.trainable_params,
        "param_bytes": report.param_bytes, "buffer_bytes": report.buffer_bytes,
        "activation_bytes": report.activation_bytes,
        "peak_inference_bytes": peak_inference(report), "peak_at": at.path if at else "input",
        "inference_bytes": inference_bytes(report),
        "training": {"weights": train.weights, "buffers": train.buffers,
                     "gradients": train.gradients, "optimizer": train.optimizer,
                     "activations": train.activations, "total": train.total},
    }


def result(report: Report, optimizer: str = "sgd") -> Result:
    d = document(report, optimizer)
    t = d["training"]
    states = OPTIMIZER_STATES[optimizer]
    parts = [
        ("params", d["param_bytes"], "every parameter (trainable "
         f"{exact(d['trainable_params'])} of {exact(d['params'])})"),
        ("buffers", d["buffer_bytes"], "batch-norm running statistics"),
        ("activations (all)", d["activation_bytes"], "every layer's output, summed"),
        ("peak activations", d["peak_inference_bytes"],
         f"largest set alive at once (at {d['peak_at']})"),
        ("inference total", d["inference_bytes"], "params + buffers + peak activations"),
        ("training: weights", t["weights"], "every parameter"),
        ("training: buffers", t["buffers"], "batch-norm running statistics"),
        ("training: gradients", t["gradients"], "one per trainable parameter"),
        ("training: optimizer", t["optimizer"],
         f"{optimizer}: {states} per trainable parameter"),
        ("training: activations", t["activations"], "kept for the backward pass"),
        ("training total", t["total"], "one step at this batch"),
    ]
    rows = [Row({"part": part, "bytes": value, "size": value, "rule": rule},
                role="block" if part.endswith("total") else "")
            for part, value, rule in parts]
    title = f"{report.spec_name}: memory at batch {report.batch}, {report.dtype}"
    return Result("memory", title, [Table("parts", COLUMNS, rows, json=False)], data=d)
