"""`cnncalc pool`: max or average pooling of a small matrix or volume, by hand."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from .base import app, errors_to_exit


class Mode(str, Enum):
    max = "max"
    avg = "avg"


@app.command()
def pool(
    input: Annotated[str, typer.Option(
        "--input", "-i", metavar="MATRIX",
        help="The matrix, as for 'cnncalc conv': '1 3 2 1; 2 9 1 1; ...', "
        "channels separated by | (each pooled on its own), or a .csv / .yaml file.",
        show_default=False)],
    mode: Annotated[Mode, typer.Option("--mode", "-m", help="Max or average.")] = Mode.max,
    kernel: Annotated[Optional[str], typer.Option(
        "--kernel", metavar="F", help="Window size: 2, or HxW (2x3). Default: 2.",
        show_default=False)] = None,
    stride: Annotated[Optional[str], typer.Option(
        "--stride", "-s", metavar="S", help="Stride: a whole number or HxW; default: the kernel.",
        show_default=False)] = None,
    padding: Annotated[str, typer.Option(
        "--padding", "-p", metavar="P",
        help="valid, same (TensorFlow's rule) or a whole number, at most "
        "half the kernel.")] = "valid",
    adaptive: Annotated[Optional[str], typer.Option(
        "--adaptive", metavar="OUT",
        help="Adaptive pooling to this output size (3, or HxW) instead of a "
        "kernel and stride: shows the windows.", show_default=False)] = None,
) -> None:
    """Pool each channel of a matrix or volume (max or average) and print the result, with
    the output-size formula, or adaptive pooling's windows."""
    from ..analyses.convolve import (
        adaptive_differs,
        adaptive_lines,
        adaptive_pool,
        pool,
        pool_paddings,
        size_pair,
        volume_arg,
    )
    from ..core.worked import window_lines
    from ..errors import CnnCalcError
    from ..present.matrix import box

    with errors_to_exit():
        try:
            x = volume_arg(input, "--input")
            n = (len(x[0]), len(x[0][0]))
            lines: list[str] = []
            if adaptive is not None:
                given = [o for o, v in (("--kernel", kernel), ("--stride", stride),
                                        ("--padding", padding != "valid")) if v]
                if given:
                    raise CnnCalcError(f"--adaptive sets the windows itself: leave out "
                                       f"{', '.join(given)}")
                target = size_pair(adaptive, "--adaptive")
                outs = [adaptive_pool(c, mode.value, target, channels=len(x)) for c in x]
                lines += adaptive_lines(n, target)
                lecture = [adaptive_pool(c, mode.value, target, "lecture", len(x)) for c in x] \
                    if adaptive_differs(n, target) else []
                title = f"adaptive {mode.value} pooling to {target[0]}x{target[1]}"
            else:
                f = size_pair(kernel or "2", "--kernel")
                s = size_pair(stride, "--stride") if stride is not None else f
                outs = [pool(c, mode.value, f, s, padding, len(x)) for c in x]
                pads = pool_paddings(padding, n, f, s)
                lines += window_lines(n, f, s, pads, same=padding == "same")
                lecture = []
                pad_note = "" if not any(pads) else (
                    f", padding {pads[0]}" if len(set(pads)) == 1 else
                    f", padding top {pads[0]}, bottom {pads[1]}, left {pads[2]}, "
                    f"right {pads[3]}")
                title = f"{mode.value} pooling, f={_size(f)}, s={_size(s)}{pad_note}"
        except CnnCalcError as exc:  # options, not a spec: say so instead of '<spec>'
            raise exc.located(file="cnncalc pool") from None
    volume = len(x) > 1
    shape = f"{n[0]}x{n[1]}" + (f"x{len(x)}" if volume else "")
    out: list[str] = []
    for c, channel in enumerate(outs, 1):
        which = f", channel {c} of {len(x)}" if volume else ""
        out += box(channel, f"Output {len(channel)}x{len(channel[0])}{which}: {shape} input, "
                   f"{title}")
    for c, channel in enumerate(lecture, 1):
        which = f", channel {c} of {len(x)}" if volume else ""
        out += box(channel, f"By the course's rule {len(channel)}x{len(channel[0])}{which} "
                   "(not torch's: the windows differ)")
    out += lines
    if mode.value == "avg" and adaptive is None and padding != "valid":
        out.append("average pooling divides by the whole window, padded zeros included "
                   "(torch's count_include_pad=True)")
    sys.stdout.write("\n".join(out) + "\n")



def _size(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"
