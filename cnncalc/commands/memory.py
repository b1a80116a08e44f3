"""`cnncalc memory`: where the bytes go, for inference and for one training step."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from ..cli import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    FreezeUntilOpt,
    InputOpt,
    SpecArg,
    app,
    console,
    errors_to_exit,
    parse_input,
)


class MemoryFormat(str, Enum):
    table = "table"
    json = "json"


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


@app.command()
def memory(
    spec: SpecArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    optimizer: Annotated[Optimizer, typer.Option(
        "--optimizer", help="Optimizer state per trainable param: sgd 0, momentum 1, adam 2.")]
    = Optimizer.sgd,
    freeze_until: FreezeUntilOpt = None,
    format: Annotated[MemoryFormat, typer.Option("--format", "-f", help="Output format.")]
    = MemoryFormat.table,
) -> None:
    """Memory breakdown: params, activations, peak inference and one training step."""
    from ..engine import analyze
    from ..memory import inference_bytes, peak_inference, peak_step, training
    from ..source import load

    with errors_to_exit():
        report = analyze(load(spec), parse_input(input), batch, dtype.value)
        if freeze_until:
            from ..freeze import freeze_until as freeze

            freeze(report, freeze_until)
        train = training(report, optimizer.value)
    peak = peak_inference(report)
    at = peak_step(report)
    data = {
        "spec": report.spec_name, "batch": batch, "dtype": dtype.value,
        "optimizer": optimizer.value,
        "params": report.totals.params, "trainable_params": report.totals.trainable_params,
        "param_bytes": report.param_bytes, "buffer_bytes": report.buffer_bytes,
        "activation_bytes": report.activation_bytes,
        "peak_inference_bytes": peak, "peak_at": at.path if at else "input",
        "inference_bytes": inference_bytes(report),
        "training": {"weights": train.weights, "buffers": train.buffers,
                     "gradients": train.gradients, "optimizer": train.optimizer,
                     "activations": train.activations, "total": train.total},
    }
    if format is MemoryFormat.json:
        print(json.dumps(data, indent=2))
        return
    _table(data)


def _table(d: dict) -> None:  # type: ignore[type-arg]
    from rich import box
    from rich.table import Table

    from ..render.table import print_table
    from ..units import binary, exact

    t = d["training"]
    table = Table(title=f"{d['spec']}: memory at batch {d['batch']}, {d['dtype']}",
                  box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Part", no_wrap=True)
    table.add_column("Bytes", justify="right", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    rows = [
        ("params", d["param_bytes"], "every parameter (trainable "
         f"{exact(d['trainable_params'])} of {exact(d['params'])})"),
        ("buffers", d["buffer_bytes"], "batch-norm running statistics"),
        ("activations (all)", d["activation_bytes"], "every layer's output, summed"),
        ("peak activations", d["peak_inference_bytes"],
         f"largest set alive at once (at {d['peak_at']})"),
        ("inference total", d["inference_bytes"], "params + buffers + peak activations"),
    ]
    for name, value, rule in rows:
        table.add_row(name, exact(value), binary(value), rule,
                      style="bold" if name.endswith("total") else None)
    table.add_section()
    states = {"sgd": 0, "momentum": 1, "adam": 2}[d["optimizer"]]
    rows = [
        ("training: weights", t["weights"], "every parameter"),
        ("training: buffers", t["buffers"], "batch-norm running statistics"),
        ("training: gradients", t["gradients"], "one per trainable parameter"),
        ("training: optimizer", t["optimizer"],
         f"{d['optimizer']}: {states} per trainable parameter"),
        ("training: activations", t["activations"], "kept for the backward pass"),
        ("training total", t["total"], "one step at this batch"),
    ]
    for name, value, rule in rows:
        table.add_row(name, exact(value), binary(value), rule,
                      style="bold" if name.endswith("total") else None)
    print_table(console(), table)
