"""`cnncalc show`: the per-layer table of one spec, in any format."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from .base import (
    BatchOpt,
    Convention,
    ConventionOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    FreezeUntilOpt,
    InputOpt,
    LevelsOpt,
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

#: --samples: an epoch of at most 10^12 samples
MAX_SAMPLES = 10**12

#: The most rows `--top` keeps (a spec has at most 10,000 layers).
MAX_TOP = 100_000


class Sort(str, Enum):
    """What `--sort` orders the rows by (present.report.MEASURES)."""

    macs = "macs"
    params = "params"
    activations = "activations"


SortOpt = Annotated[Optional[Sort], typer.Option(
    "--sort", help="List the rows by this, largest first, each named by its path (blocks "
    "that --levels collapses count as one row). The percent column follows it.",
    show_default=False)]
TopOpt = Annotated[Optional[int], typer.Option(
    "--top", metavar="N", parser=number(1, MAX_TOP, integer=True),
    help="Only the N largest rows (by --sort, else by MACs).", show_default=False)]
ExplainCountsOpt = Annotated[bool, typer.Option(
    "--explain-counts", help="End with every counting rule instead of the short legend.")]


@app.command()
def show(
    spec: SpecArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    format: FormatOpt = None,
    levels: LevelsOpt = None,
    output: OutputOpt = None,
    rf: Annotated[bool, typer.Option(
        "--rf", help="Add the receptive field column (size / effective stride / padding).")]
    = False,
    freeze_until: FreezeUntilOpt = None,
    var: VarOpt = None,
    convention: ConventionOpt = Convention.cnncalc,
    training: Annotated[bool, typer.Option(
        "--training", help="Add the MACs of one training step per layer: the gradients with "
        "respect to each layer's input and to its weights (frozen layers have none).")]
    = False,
    samples: Annotated[Optional[int], typer.Option(
        "--samples", metavar="N", parser=number(1, MAX_SAMPLES, integer=True),
        show_default=False, help="With --training: the MACs of an epoch of this many samples.")]
    = None,
    sort: SortOpt = None,
    top: TopOpt = None,
    explain_counts: ExplainCountsOpt = False,
    old_levels: OldLevelsOpt = None,
) -> None:
    """Per-layer shapes, parameters and MACs of a spec, with totals and memory."""
    from ..core.engine import analyze
    from ..errors import CnnCalcError
    from ..present.report import result
    from ..writers import format_for

    with errors_to_exit():
        levels = either(levels, old_levels, "--levels/--depth")
        if samples is not None and not training:
            raise CnnCalcError("--samples needs --training (it is the size of a training "
                               "epoch)")
        if training and convention.value not in ("cnncalc", "flopcounter"):
            raise CnnCalcError(f"--training: {convention.value} counts a forward pass only; "
                               "a training step is counted by the cnncalc and flopcounter "
                               "conventions")
        loaded = load_spec(spec, var)
        report = analyze(loaded, parse_input(input), batch, dtype.value)
        if freeze_until:
            from ..core.freeze import freeze_option

            note = freeze_option(report, freeze_until, loaded)
            if note:
                print(f"cnncalc show: note: {note}", file=sys.stderr)
        counted = trained = None
        if convention.value != "cnncalc":
            from ..analyses.conventions import count

            counted = count(report, convention.value)
        if training:
            from ..analyses.training import training as step

            trained = step(report, flopcounter=convention.value == "flopcounter")
        # the HTML report adds what a page has room for: the receptive field, the memory
        report_page = format_for(format.value if format else None, output) == "html"
        found = result(report, levels, rf, counted=counted, trained=trained, samples=samples,
                       sort=sort.value if sort else None, top=top,
                       explain_counts=explain_counts, full=report_page)
    finish(found, format, output)
