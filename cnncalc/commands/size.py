"""`cnncalc size`: one layer's output shape (and, with filters, params and MACs) from its
input shape, without a spec: the course's shape questions in one line."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from .base import FormatOpt, OutputOpt, app, errors_to_exit, finish, number


class PoolMode(str, Enum):
    max = "max"
    avg = "avg"


@app.command()
def size(
    shape: Annotated[str, typer.Argument(
        help="The input: HxWxC (63x63x3), or HxW for one channel.", show_default=False)],
    kernel: Annotated[Optional[str], typer.Option(
        "--kernel", metavar="F", help="Filter (window) size f: 5, or HxW (1x7).",
        show_default=False)] = None,
    stride: Annotated[Optional[str], typer.Option(
        "--stride", "-s", metavar="S",
        help="Stride s: a whole number or HxW (default 1; pooling: the "
        "kernel).", show_default=False)] = None,
    padding: Annotated[str, typer.Option(
        "--padding", "-p", metavar="P", help="valid, same, a whole number p (every side) or HxW.")]
    = "valid",
    dilation: Annotated[int, typer.Option(
        "--dilation", parser=number(1, 10_000, integer=True),
        help="Dilation of a convolution's kernel.")] = 1,
    filters: Annotated[Optional[int], typer.Option(
        "--filters", parser=number(1, 10**9, integer=True),
        help="Number of filters n_c': the output channels, with params and MACs.",
        show_default=False)] = None,
    pool: Annotated[Optional[PoolMode], typer.Option(
        "--pool", help="A pooling layer (max or avg) instead of a convolution.",
        show_default=False)] = None,
    adaptive: Annotated[Optional[str], typer.Option(
        "--adaptive", metavar="OUT",
        help="Adaptive pooling to this size (6, or HxW): the stride and window "
        "the rule gives.", show_default=False)] = None,
    separable: Annotated[bool, typer.Option(
        "--separable", help="A depthwise separable convolution (needs --filters), with its "
        "cost against the full convolution.")] = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Output size by the formula floor((n + 2p - f) / s) + 1, the output shape, and with
    --filters the params and MACs, for one convolution or pooling layer."""
    from dataclasses import replace

    from ..analyses.convolve import size_pair
    from ..core.engine import analyze
    from ..core.spec import parse_shape, parse_spec
    from ..errors import CnnCalcError
    from ..present.explain import one_layer

    with errors_to_exit():
        try:
            text = shape.strip()
            dims = parse_shape(f"{text}x1" if text.lower().count("x") == 1 else text)
            if len(dims) != 3:
                raise CnnCalcError(f"{shape}: expected HxWxC (63x63x3) or HxW")
            entry = _layer(kernel, stride, padding, dilation, filters, pool, adaptive,
                           separable, size_pair)
            spec = parse_spec({"name": "size", "input": list(dims), "layers": [entry]},
                              "cnncalc size")
            report = analyze(spec)
            found = one_layer(report, per_filter=filters is None and pool is None
                              and adaptive is None)
        except ValueError as exc:  # parse_shape's words
            raise CnnCalcError(f"{shape}: {exc}").located(file="cnncalc size") from None
        except CnnCalcError as exc:  # options, not a spec: no file, line or layer to name
            raise CnnCalcError([replace(p, file="cnncalc size", line=None, layer=None)
                                for p in exc.problems]) from None
    finish(found, format, output)


def _layer(kernel: str | None, stride: str | None, padding: str, dilation: int,
           filters: int | None, pool: PoolMode | None, adaptive: str | None, separable: bool,
           size_pair) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """The spec entry the options describe (one layer kind; a combination that means two is
    refused)."""
    from ..errors import CnnCalcError

    def pair(value: str | None, where: str) -> int | list[int] | None:
        if value is None:
            return None
        h, w = size_pair(value, where)
        return h if h == w else [h, w]

    if adaptive is not None:
        given = [name for name, value in (("--kernel", kernel), ("--stride", stride),
                                          ("--padding", padding != "valid" or None),
                                          ("--filters", filters), ("--separable", separable))
                 if value]
        if given:
            raise CnnCalcError(f"--adaptive sets the window and stride itself: leave out "
                               f"{', '.join(given)}")
        return {"adaptive_pool": {"mode": pool.value if pool else "avg",
                                  "size": list(size_pair(adaptive, "--adaptive"))}}
    if kernel is None:
        raise CnnCalcError("--kernel: give the filter size f (e.g. --kernel 3)")
    pad: object = padding
    if padding not in ("valid", "same"):
        if padding.isdigit() and len(padding) <= 6:
            pad = int(padding)
        else:
            pad = pair(padding, "--padding")
    fields = {"kernel": pair(kernel, "--kernel"), "padding": pad}
    if stride is not None:
        fields["stride"] = pair(stride, "--stride")
    if pool is not None:
        given = [name for name, value in (("--filters", filters), ("--separable", separable),
                                          ("--dilation", dilation != 1 or None)) if value]
        if given:
            raise CnnCalcError(f"--pool: a pooling layer has no {', '.join(given)}")
        return {f"{pool.value}pool": fields}
    fields["dilation"] = dilation
    if separable:
        if filters is None:
            raise CnnCalcError("--separable needs --filters (the 1x1 convolution's n_c')")
        return {"separable": {"filters": filters, **fields}}
    return {"conv": {"filters": filters or 1, **fields}}
