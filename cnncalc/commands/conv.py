"""`cnncalc conv`: apply filters to a small matrix or volume, as the course does by hand."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from .base import app, errors_to_exit, number


class PadMode(str, Enum):
    zeros = "zeros"
    replicate = "replicate"


class Activation(str, Enum):
    relu = "relu"
    tanh = "tanh"
    sigmoid = "sigmoid"
    leaky_relu = "leaky_relu"


@app.command()
def conv(
    input: Annotated[str, typer.Option(
        "--input", "-i", metavar="MATRIX",
        help="The matrix: '3 0 1; 1 5 8; ...' (rows by ; values by spaces "
        "or commas); a volume: one matrix per channel, separated by | ('R | G | B'); or a "
        ".csv file (a blank line between channels) or .yaml file (a matrix or a list of "
        "them).", show_default=False)],
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", "-k", metavar="FILTER", help="A filter: vertical, horizontal, sobel-vertical, "
        "sobel-horizontal, scharr-vertical, scharr-horizontal, or numbers ('1 0 -1; ...') or "
        "a file; one matrix (or name) per input channel, separated by |. Repeat for several "
        "filters (one output channel each). Default: vertical.", show_default=False)] = None,
    padding: Annotated[str, typer.Option(
        "--padding", "-p", metavar="P", help="valid, same or a whole number.")] = "valid",
    pad_mode: Annotated[PadMode, typer.Option(
        "--pad-mode", help="Fill padding with zeros or replicate the edge.")] = PadMode.zeros,
    stride: Annotated[int, typer.Option(
        "--stride", "-s", metavar="S", parser=number(1, 1000, integer=True),
        help="Stride (1 to 1,000).")]
    = 1,
    bias: Annotated[Optional[list[str]], typer.Option(
        "--bias", help="A bias added to a filter's sums: one per filter, in the order "
        "of --filter (repeat it).", show_default=False)] = None,
    activation: Annotated[Optional[Activation], typer.Option(
        "--activation", help="Applied after the bias.", show_default=False)] = None,
    partial_sums: Annotated[bool, typer.Option(
        "--partial-sums", help="Also print each input channel's partial sums (the filter's "
        "channel over that input channel alone).")] = False,
    show_padded: Annotated[bool, typer.Option(
        "--show-padded", help="Also print the padded input.")] = False,
) -> None:
    """Cross-correlate a matrix or volume with filters (no flip, as in every framework) and
    print the result, with the output-size formula."""
    from ..analyses.convolve import (
        conv_layer,
        filter_volume,
        number_arg,
        pad,
        paddings,
        volume_arg,
    )
    from ..core.worked import window_lines
    from ..errors import CnnCalcError

    with errors_to_exit():
        try:
            x = volume_arg(input, "--input")
            filters = [filter_volume(f, "--filter" if len(filter or ()) < 2 else
                                     f"--filter {i}")
                       for i, f in enumerate(filter or ["vertical"], 1)]
            biases = [number_arg(b, "--bias") for b in bias or []]
            found = conv_layer(x, filters, stride, padding, pad_mode.value, biases,
                               activation.value if activation else None)
            n, f = (len(x[0]), len(x[0][0])), (len(filters[0][0]), len(filters[0][0][0]))
            pads = paddings(padding, n, f, stride)
        except CnnCalcError as exc:  # options, not a spec: say so instead of '<spec>'
            raise exc.located(file="cnncalc conv") from None
    from ..present.matrix import box

    top, bottom, left, right = pads
    note = "no padding" if not any(pads) else (
        f"padding {top}" if len(set(pads)) == 1 else
        f"padding top {top}, bottom {bottom}, left {left}, right {right}") + (
        f" ({pad_mode.value})" if any(pads) else "")
    volume = len(x) > 1
    shape = f"{n[0]}x{n[1]}" + (f"x{len(x)}" if volume else "")
    lines: list[str] = []
    if show_padded:
        for c, channel in enumerate(x, 1):
            padded = pad(channel, pads, pad_mode.value)
            lines += box(padded, f"Padded input {len(padded)}x{len(padded[0])} ({note})"
                         + (f", channel {c} of {len(x)}" if volume else ""))
    for k, w in enumerate(filters, 1):
        for c, channel in enumerate(w, 1):
            where = ", ".join(part for part in (
                f"filter {k} of {len(filters)}" if len(filters) > 1 else "",
                f"channel {c} of {len(w)}" if volume else "") if part)
            lines += box(channel, f"Filter {f[0]}x{f[1]}" + (f" ({where})" if where else ""))
    g = activation.value if activation else None
    for k, each in enumerate(found, 1):
        which = f" (filter {k} of {len(filters)})" if len(filters) > 1 else ""
        rows, cols = len(each.out), len(each.out[0])
        if partial_sums and volume:
            for c, part in enumerate(each.partials, 1):
                lines += box(part, f"Partial sums {rows}x{cols}, input channel {c} of "
                             f"{len(x)} * filter channel {c}{which}")
        b = biases[k - 1] if biases else None
        if b is not None or g:
            lines += box(each.z, f"Sum z {rows}x{cols}{which}: "
                         + ("the channels' partial sums added" if volume else "W * X"))
        step = "z" if b is None else f"z + {b}" if not str(b).startswith("-") \
            else f"z - {str(b)[1:]}"
        how = f"{g}({step}); " if g else f"{step}; " if b is not None else ""
        lines += box(each.out, f"Output {rows}x{cols}{which}: {how}{shape} input, {note}, "
                     f"stride {stride}")
    lines += window_lines(n, f, stride, pads, same=padding == "same")
    if volume or len(filters) > 1:
        rows, cols = len(found[0].out), len(found[0].out[0])
        lines.append(f"output: {rows}x{cols}x{len(filters)} (one channel per filter: "
                     f"{len(filters)} filter{'s' if len(filters) > 1 else ''} of "
                     f"{f[0]}x{f[1]}x{len(x)})")
    sys.stdout.write("\n".join(lines) + "\n")
