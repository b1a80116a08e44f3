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

from ..errors import CnnCalcError
from .base import (
    LEVELS_HELP,
    MAX_LEVELS,
    BatchOpt,
    FormatOpt,
    InputOpt,
    OldLevelsOpt,
    OutputOpt,
    SpecArg,
    VarOpt,
    app,
    either,
    errors_to_exit,
    finish,
    load_spec,
    number,
    parse_input,
)

INSTALL_HINT = "pip install 'cnncalc[torch]'"
EXIT_MISMATCH = 1
#: The most timed (and untimed warm-up) forward passes `--time` runs.
MAX_RUNS = 10_000


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
    runs: Annotated[int, typer.Option(
        "--runs", metavar="N", parser=number(1, MAX_RUNS, integer=True),
        help=f"Timed forward passes (1 to {MAX_RUNS:,}).")] = 20,
    warmup: Annotated[int, typer.Option(
        "--warmup", metavar="N", parser=number(0, MAX_RUNS, integer=True),
        help=f"Untimed passes before timing (0 to {MAX_RUNS:,}).")] = 3,
    levels: Annotated[Optional[int], typer.Option(
        "--levels", metavar="N", parser=number(0, MAX_LEVELS, integer=True),
        help=LEVELS_HELP + "the top level only); a row that disagrees always shows.")] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
    old_levels: OldLevelsOpt = None,
) -> None:
    """Build the spec as a torch module and check shapes, params, buffers and MACs per layer."""
    from ..analyses.verify import match
    from ..core.engine import analyze
    from ..present.verify import add_timing, failed_run, result
    from .progress import progress

    with errors_to_exit():
        levels = either(levels, old_levels, "--levels/--depth")
        report = analyze(load_spec(spec, var), parse_input(input), batch, dtype.value)
        if time and device is Device.meta:
            raise CnnCalcError("--time needs --device cpu or cuda: on meta nothing is computed")
    with progress("importing torch") as bar:
        with errors_to_exit():
            torch_backend = backend()
            bar.update(description="building the module")
            with torch_backend.device_of(device.value):
                module = torch_backend.build(report)
        bar.update(description=f"running {report.spec_name} in torch")
        try:
            measurement = torch_backend.measure(
                report, device.value, dtype.value, module,
                lambda done, total: bar.update(total=total, completed=done))
        except RuntimeError as exc:
            # The module does not run: torch disagrees with the engine about some shape.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            measurement = None
    if measurement is None:
        finish(failed_run(report.spec_name, device.value, first), format, output)
        return
    verification = match(report, measurement)
    found = result(verification, levels)
    if time and verification.agrees:
        timing = time_it(torch_backend, module, report, device.value, dtype.value, runs, warmup)
        add_timing(found, timing, device.value, dtype.value, warmup,
                   report.macs(report.totals))
    finish(found, format, output)


def time_it(torch_backend: ModuleType, module: object, report: object, device: str,
            dtype: str, runs: int, warmup: int) -> object:
    """Time forward passes with a progress bar on stderr; the Timing of them."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..analyses.verify import summarize_times

    x = torch_backend.example_input(report, device, torch_backend.dtype_of(dtype))
    with Progress(TextColumn("timing forward passes"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("timing", total=warmup + runs)
        times = torch_backend.time_forward(module, x, runs, warmup,
                                           lambda: progress.advance(task))
    macs = report.macs(report.totals)  # type: ignore[attr-defined]
    return summarize_times(times, report.batch, macs)  # type: ignore[attr-defined]
