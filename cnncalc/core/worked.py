"""Worked arithmetic as text: the formulas of `formulas` with the numbers filled in.

Pure string helpers that each layer kind's `explain` uses (`cnncalc explain`), so that the
text shows the same rule that computed the number: `floor((39 + 2*0 - 3) / 1) + 1 = 37`,
`(3*3*3 + 1) * 10 = 280`.
"""

from __future__ import annotations

from typing import Any

from . import formulas as F


def n(value: int) -> str:
    """An exact count with thousands separators."""
    return f"{value:,}"


def pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def size_line(label: str, n_in: int, f: int, s: int, before: int, after: int, d: int = 1,
              ceil: bool = False) -> str:
    """`floor((n + 2*p - f) / s) + 1 = out` (asymmetric padding and dilation spelled out)."""
    f_eff = F.effective_kernel(f, d)
    pad = f"2*{before}" if before == after else f"{before} + {after}"
    rounding = "ceil" if ceil else "floor"
    out = F.output_size(n_in, f, s, before, after, d, ceil)
    text = f"{label}: {rounding}(({n_in} + {pad} - {f_eff}) / {s}) + 1 = {out}"
    if d != 1:
        text += f"   (dilated kernel f_eff = {d}*({f} - 1) + 1 = {f_eff})"
    if ceil and out != F.output_size(n_in, f, s, before, after, d, False):
        text += "   (ceil_mode)"
    return text


def window_lines(shape: tuple[int, ...], kernel: Any, stride: Any,
                 pads: tuple[int, int, int, int], dilation: Any = 1,
                 ceil: bool = False) -> list[str]:
    """The output-size line(s) of a sliding window: one when both axes agree."""
    (fh, fw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    top, bottom, left, right = pads
    h = (shape[0], fh, sh, top, bottom, dh)
    w = (shape[1], fw, sw, left, right, dw)
    if h == w:
        return [size_line("output height and width", *h, ceil=ceil)]
    return [size_line("output height", *h, ceil=ceil), size_line("output width", *w, ceil=ceil)]


def conv_params(fh: int, fw: int, c_in: int, c_out: int, groups: int, bias: bool) -> str:
    """`(f_h*f_w*c_in + 1) * c_out = total` (per group, without bias as the case may be)."""
    per = f"{fh}*{fw}*{c_in}" if groups == 1 else f"{fh}*{fw}*({c_in}/{groups})"
    total = F.conv_params(fh, fw, c_in, c_out, groups, bias)
    if bias:
        return f"({per} + 1) * {c_out} = {n(total)}"
    return f"{per} * {c_out} = {n(total)}   (no bias)"


def conv_macs(fh: int, fw: int, c_in: int, out: tuple[int, ...], groups: int) -> str:
    """`f_h*f_w*c_in * H_out*W_out*c_out = total`."""
    per = f"{fh}*{fw}*{c_in}" if groups == 1 else f"{fh}*{fw}*({c_in}/{groups})"
    ho, wo, c_out = out
    return f"{per} * {ho}*{wo}*{c_out} = {n(F.conv_macs(fh, fw, c_in, ho, wo, c_out, groups))}"
