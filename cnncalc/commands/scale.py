"""`cnncalc scale`: a spec with width, depth and resolution multipliers (or EfficientNet's
compound rule) applied, shown like `cnncalc show` or printed as a YAML spec."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..analyses.scale import MAX_DIVISOR, MAX_MULTIPLIER, MAX_PHI
from .base import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    LevelsOpt,
    OutputOpt,
    SpecArg,
    VarOpt,
    app,
    errors_to_exit,
    finish,
    number,
)


@app.command()
def scale(
    spec: SpecArg,
    phi: Annotated[Optional[float], typer.Option(
        "--phi", metavar="PHI", parser=number(-MAX_PHI, MAX_PHI, what="compound coefficient phi"),
        help="EfficientNet compound coefficient: depth 1.2^phi, width 1.1^phi, "
        f"resolution 1.15^phi (nearest pixel); -{MAX_PHI:g} to {MAX_PHI:g}.")] = None,
    width: Annotated[Optional[float], typer.Option(
        "--width", "-w", metavar="W",
        parser=number(0, MAX_MULTIPLIER, above=True, what="width multiplier"),
        help="Width multiplier: channel counts x W, rounded to a multiple of --divisor "
        f"(above 0, at most {MAX_MULTIPLIER:g}).")] = None,
    depth: Annotated[Optional[float], typer.Option(
        "--depth", "-d", metavar="D",
        parser=number(0, MAX_MULTIPLIER, above=True, what="depth multiplier"),
        help="Depth multiplier: each 'repeat: n' becomes ceil(n x D) "
        f"(above 0, at most {MAX_MULTIPLIER:g}).")] = None,
    resolution: Annotated[Optional[str], typer.Option(
        "--resolution", "-r", metavar="PIXELS",
        help="Input size in pixels: 240 or HxW (240x320).")] = None,
    divisor: Annotated[int, typer.Option(
        "--divisor", metavar="N", parser=number(1, MAX_DIVISOR, integer=True),
        help=f"Scaled channel counts are multiples of this (1 to {MAX_DIVISOR}).")] = 8,
    yaml: Annotated[bool, typer.Option(
        "--yaml", help="Print the scaled spec as YAML instead of its table.")] = False,
    format: FormatOpt = None,
    levels: LevelsOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Scale a spec's width, depth and resolution, then show it (or print it as YAML)."""
    from ..analyses import scale as scaling_rules
    from ..core.engine import analyze
    from ..core.source import load_raw, parse
    from ..core.variables import override, parse_vars
    from ..present.report import result

    with errors_to_exit():
        values = parse_vars(var)
        name, raw = load_raw(spec)
        raw = override(raw, values, name)
        scaling = _scaling(raw, name, phi, width, depth, resolution, divisor)
        scaled = scaling_rules.scale_raw(raw, scaling, name)
        parsed = parse(scaled, name)
        if yaml:
            header = (f"{parsed.name} scaled by cnncalc from {spec}: {scaling.describe()}\n"
                      "(rules: docs/commands/scale.md; "
                      "comments of the original are not kept)")
            document = scaling_rules.to_yaml(scaled, header)
            if output:
                from ..writers import write_file

                write_file(output, document)
            else:
                sys.stdout.write(document)
            return
        report = analyze(parsed, batch=batch, dtype=dtype.value)
        from ..writers import format_for

        # as show's: the HTML report adds the receptive field and the memory
        found = result(report, levels, command="scale",
                       full=format_for(format.value if format else None, output) == "html")
    finish(found, format, output)


def _scaling(raw: object, name: str, phi: float | None, width: float | None,
             depth: float | None, resolution: str | None, divisor: int) -> object:
    """The Scaling the options ask for (phi, or explicit multipliers, not both)."""
    from ..analyses.scale import Scaling, compound, input_size, parse_resolution
    from ..errors import CnnCalcError

    explicit = (width, depth, resolution)
    if phi is not None:
        if any(v is not None for v in explicit):
            raise CnnCalcError("give --phi or --width/--depth/--resolution, not both")
        return compound(phi, input_size(raw, name)[:2], divisor=divisor)
    if all(v is None for v in explicit):
        raise CnnCalcError("nothing to scale: give --phi N, or any of --width, --depth, "
                           "--resolution")
    return Scaling(width=1.0 if width is None else width,
                   depth=1.0 if depth is None else depth,
                   resolution=parse_resolution(resolution) if resolution else None,
                   divisor=divisor)
