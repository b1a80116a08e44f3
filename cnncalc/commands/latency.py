"""`cnncalc latency`: a roofline ESTIMATE of a spec's inference latency on a device, per row
and in total, optionally calibrated by measured `verify --time` runs.

The formulas are in `cnncalc.analyses.latency`, the profiles in `analyses.devices`, the fit in
`analyses.calibration`; this module parses options and finds the specs a measurement timed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import CnnCalcError
from .base import (
    BatchOpt,
    Dtype,
    FormatOpt,
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
    parse_input,
)


def complete_device(incomplete: str) -> list[str]:
    """Shell completion for --device: the bundled profiles (the shell adds file names)."""
    from ..analyses.devices import bundled_devices

    return [name for name in bundled_devices() if name.startswith(incomplete)]


@app.command()
def latency(
    spec: SpecArg,
    device: Annotated[str, typer.Option(
        "--device", "-D", metavar="DEVICE",
        help="A bundled device (h100, h200, a100, l4, t4, desktop-avx2, "
        "phone-a76) or a device profile file (YAML; see docs/latency.md).",
        show_default=False, autocompletion=complete_device)],
    batch: BatchOpt = 1,
    dtype: Annotated[Dtype, typer.Option(
        "--dtype", help="Element type: the device's peak rate for it, and bytes per element.")]
    = Dtype.fp32,
    input: InputOpt = None,
    calibrate: Annotated[Optional[list[Path]], typer.Option(
        "--calibrate", help="A measured run, the file 'cnncalc verify SPEC --time -f json' "
        "wrote (repeatable): fits the device's efficiency factors to it.",
        show_default=False)] = None,
    levels: LevelsOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
    old_levels: OldLevelsOpt = None,
) -> None:
    """Estimate inference latency per layer on a device (a roofline model: an estimate,
    never a measurement)."""
    from ..analyses.devices import load_profile
    from ..analyses.latency import estimate
    from ..core.engine import analyze
    from ..present.latency import result

    with errors_to_exit():
        levels = either(levels, old_levels, "--levels/--depth")
        profile = load_profile(device)
        loaded = load_spec(spec, var)
        shape = parse_input(input)
        report = analyze(loaded, shape, batch, dtype.value)
        calibration = None
        if calibrate:
            calibration = _calibrate(calibrate, profile, loaded, shape)
            profile = profile.with_factors(calibration[0].factors.compute,
                                           calibration[0].factors.memory,
                                           calibration[0].factors.overhead_s * 1e6)
        found = result(estimate(report, profile), levels, calibration)
    finish(found, format, output)


def _calibrate(files: list[Path], profile: object, loaded: object,
               shape: tuple[int, ...] | None) -> tuple[object, object, list[object]]:
    """(fit, the profile as given, points) from the measured runs; a measurement of another
    spec than SPEC is of the bundled spec of its name."""
    from ..analyses.calibration import Factors, fit_points, points_of, read_measurement
    from ..core.catalog import bundled
    from ..core.engine import analyze
    from ..core.source import load

    measurements = [read_measurement(str(f)) for f in files]
    specs = {loaded.name: (loaded, shape)}  # type: ignore[attr-defined]

    def analyse(name: str, batch: int, dtype: str) -> object:
        if name not in specs:
            if name not in bundled():
                raise CnnCalcError(
                    f"--calibrate: a measurement of '{name}', which is neither SPEC "
                    f"('{loaded.name}') nor a bundled spec: calibrate with runs of "  # type: ignore[attr-defined]
                    "SPEC or of bundled specs")
            specs[name] = (load(name), None)
        spec, size = specs[name]
        return analyze(spec, size, batch, dtype)

    points = points_of(measurements, profile, analyse)
    prior = Factors(profile.compute_efficiency, profile.memory_efficiency,  # type: ignore[attr-defined]
                    profile.overhead_us * 1e-6)  # type: ignore[attr-defined]
    return fit_points(points, prior), profile, points
