"""`cnncalc scale`: a spec with width, depth and resolution multipliers (or EfficientNet's
compound rule) applied, shown like `cnncalc show` or printed as a YAML spec."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from .base import (
    BatchOpt,
    Dtype,
    DtypeOpt,
    FormatOpt,
    OutputOpt,
    SpecArg,
    app,
    errors_to_exit,
    finish,
)


@app.command()
def scale(
    spec: SpecArg,
    phi: Annotated[Optional[float], typer.Option(
        "--phi", help="EfficientNet compound coefficient: depth 1.2^phi, width 1.1^phi, "
        "resolution 1.15^phi (nearest pixel).")] = None,
    width: Annotated[Optional[float], typer.Option(
        "--width", "-w", help="Width multiplier: channel counts x W, rounded to a multiple "
        "of --divisor.")] = None,
    depth: Annotated[Optional[float], typer.Option(
        "--depth", "-d", help="Depth multiplier: each literal 'repeat: n' becomes ceil(n x D).")]
    = None,
    resolution: Annotated[Optional[str], typer.Option(
        "--resolution", "-r", help="Input size in pixels: 240 or HxW (240x320).")] = None,
    divisor: Annotated[int, typer.Option(
        "--divisor", min=1, help="Scaled channel counts are multiples of this.")] = 8,
    yaml: Annotated[bool, typer.Option(
        "--yaml", help="Print the scaled spec as YAML instead of its table.")] = False,
    format: FormatOpt = None,
    levels: Annotated[Optional[int], typer.Option(
        "--levels", min=0, help="Collapse blocks deeper than this (show's --depth).")] = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.fp32,
    output: OutputOpt = None,
) -> None:
    """Scale a spec's width, depth and resolution, then show it (or print it as YAML)."""
    from ..analyses import scale as scaling_rules
    from ..core.engine import analyze
    from ..core.source import load_raw, parse
    from ..present.report import result

    with errors_to_exit():
        name, raw = load_raw(spec)
        scaling = _scaling(raw, name, phi, width, depth, resolution, divisor)
        scaled = scaling_rules.scale_raw(raw, scaling, name)
        parsed = parse(scaled, name)
        if yaml:
            header = (f"{parsed.name} scaled by cnncalc from {spec}: {scaling.describe()}\n"
                      "(rules: the README's section on scaling; "
                      "comments of the original are not kept)")
            document = scaling_rules.to_yaml(scaled, header)
            if output:
                from ..writers import write_file

                write_file(output, document, (spec,))
            else:
                sys.stdout.write(document)
            return
        report = analyze(parsed, batch=batch, dtype=dtype.value)
        found = result(report, levels, command="scale")
    finish(found, format, output, (spec,))


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
