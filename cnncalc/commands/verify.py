"""`cnncalc verify`: build the spec in torch, run it, and check every engine number against torch.

Exit 0 when every layer's shape, params, buffers and MACs (and the totals) agree, 1 on any
disagreement (or when torch cannot run the module), 2 for an invalid spec, an unusable device
or a missing torch. The comparison lives in `cnncalc.verify`, the torch side in
`cnncalc.torch`; this module parses options and renders.
"""

from __future__ import annotations

from enum import Enum
from types import ModuleType
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..cli import BatchOpt, InputOpt, SpecArg, WidthOpt, app, console, errors_to_exit, parse_input
from ..errors import CnnCalcError

INSTALL_HINT = "pip install 'cnncalc[torch]'"
EXIT_MISMATCH = 1


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    meta = "meta"


class TorchDtype(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


def backend() -> ModuleType:
    """`cnncalc.torch`, or CnnCalcError with the install hint when torch is missing."""
    try:
        from .. import torch as torch_backend
    except ImportError as exc:
        raise CnnCalcError(f"verify needs torch, which is not installed ({exc}); "
                           f"install it with: {INSTALL_HINT}") from None
    return torch_backend


@app.command()
def verify(
    spec: SpecArg,
    device: Annotated[Device, typer.Option(
        "--device", help="Where torch runs: cpu, cuda, or meta (shapes only, allocates "
        "nothing).")] = Device.cpu,
    batch: BatchOpt = 1,
    input: InputOpt = None,
    dtype: Annotated[TorchDtype, typer.Option("--dtype", help="Tensor element type.")]
    = TorchDtype.fp32,
    time: Annotated[bool, typer.Option(
        "--time", help="Also time forward passes: latency, images/s, MACs/s.")] = False,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Timed forward passes.")] = 20,
    warmup: Annotated[int, typer.Option("--warmup", min=0,
                                        help="Untimed passes before timing.")] = 3,
    depth: Annotated[Optional[int], typer.Option(
        "--depth", "-d", min=0, help="Show rows down to this depth (disagreements always "
        "show).")] = None,
    width: WidthOpt = None,
) -> None:
    """Build the spec as a torch module and check shapes, params, buffers and MACs per layer."""
    from ..engine import analyze
    from ..source import load
    from ..verify import compare

    out = console(width)
    with errors_to_exit():
        report = analyze(load(spec), parse_input(input), batch, dtype.value)
        torch_backend = backend()
        if time and device is Device.meta:
            raise CnnCalcError("--time needs --device cpu or cuda: on meta nothing is computed")
        with torch_backend.device_of(device.value):
            module = torch_backend.build(report)
    try:
        measurement = torch_backend.measure(report, device.value, dtype.value, module)
    except RuntimeError as exc:
        # The module does not run: torch disagrees with the engine about some shape.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        out.print(f"✗ torch could not run {report.spec_name} on {device.value}: {first}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_MISMATCH) from None
    verification = compare(report, measurement)
    render(verification, out, depth)
    if time and verification.agrees:
        time_it(torch_backend, module, report, device.value, dtype.value, runs, warmup, out)
    raise typer.Exit(0 if verification.agrees else EXIT_MISMATCH)


def render(verification: object, out: Console, depth: int | None = None) -> None:
    """The per-layer table with a mark per row, then the totals and a verdict."""
    from rich import box
    from rich.table import Table

    from ..render.common import layer_label
    from ..render.table import print_table
    from ..units import exact
    from ..verify import Verification

    assert isinstance(verification, Verification)
    report = verification.report
    title = (f"{report.spec_name}: engine against torch ({verification.device}, "
             f"batch {report.batch}, {verification.dtype})")
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("Layer", no_wrap=True)
    for name in ("Shape", "Params", "Buffers", "MACs"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Torch disagrees", no_wrap=True)
    for row in verification.rows:
        node = row.node
        if depth is not None and node.depth > depth and row.agrees:
            continue
        table.add_row("✓" if row.agrees else "✗", layer_label(node),
                      report.shape_text(node), exact(node.params), exact(node.buffers),
                      exact(report.macs(node)), "; ".join(row.differences()),
                      style="bold" if node.is_block else None)
    table.add_section()
    totals = {c.field: c for c in verification.totals}
    t = report.totals
    table.add_row("✓" if all(c.agrees for c in verification.totals) else "✗", "total",
                  report.shape_text(report.nodes[-1]) if report.nodes else "",
                  exact(t.params), exact(t.buffers), exact(report.macs(t)),
                  "; ".join(c.difference() for c in totals.values() if not c.agrees),
                  style="bold")
    print_table(out, table)
    bad = verification.disagreeing
    if verification.agrees:
        out.print(f"✓ all {len(verification.rows):,} rows and the totals agree with torch: "
                  f"params {exact(t.params)}, buffers {exact(t.buffers)}, "
                  f"MACs {exact(report.macs(t))} (= FlopCounterMode / 2)",
                  highlight=False, soft_wrap=True)
    else:
        out.print(f"✗ {len(bad):,} of {len(verification.rows):,} rows disagree with torch"
                  + ("" if all(c.agrees for c in verification.totals) else ", and the totals"),
                  highlight=False, soft_wrap=True)


def _seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def time_it(torch_backend: ModuleType, module: object, report: object, device: str,
            dtype: str, runs: int, warmup: int, out: Console) -> None:
    """Time forward passes with a progress bar, then print latency and throughput."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..units import exact, si
    from ..verify import summarize_times

    x = torch_backend.example_input(report, device, torch_backend.dtype_of(dtype))
    with Progress(TextColumn("timing forward passes"), BarColumn(), MofNCompleteColumn(),
                  console=out, transient=True) as progress:
        task = progress.add_task("timing", total=warmup + runs)
        times = torch_backend.time_forward(module, x, runs, warmup,
                                           lambda: progress.advance(task))
    macs = report.macs(report.totals)  # type: ignore[attr-defined]
    timing = summarize_times(times, report.batch, macs)  # type: ignore[attr-defined]
    lines = [
        f"Timing on {device}, batch {timing.batch}, {dtype}: {timing.runs} runs after "
        f"{warmup} warm-up",
        f"Latency per forward pass: median {_seconds(timing.median_s)} (min "
        f"{_seconds(timing.min_s)}, max {_seconds(timing.max_s)}, stdev "
        f"{_seconds(timing.stdev_s)})",
        f"Throughput: {timing.throughput:,.1f} images/s",
        f"Achieved: {si(timing.macs_per_s)} MACs/s ({si(2 * timing.macs_per_s)} FLOPs/s) on the "
        f"engine's {exact(macs)} MACs ({si(macs)}) per forward pass",
    ]
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True)
