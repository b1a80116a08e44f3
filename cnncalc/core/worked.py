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


def same_line(n_in: int, f: int, s: int, d: int = 1) -> str:
    """How 'same' padding is found along one axis: the course's `p = (f - 1) / 2` at stride 1
    and an odd (dilated) kernel; otherwise TensorFlow's rule, `ceil(n / s)` outputs and the
    padding they need, the extra row or column after."""
    f_eff = F.effective_kernel(f, d)
    before, after = F.same_padding(n_in, f, s, d)
    if s == 1 and f_eff % 2:
        return f"p = (f - 1) / 2 = ({f_eff} - 1) / 2 = {before}"
    out = -(-n_in // s)
    why = "stride > 1" if s != 1 else "even kernel"
    return (f"TensorFlow's rule ({why}): ceil({n_in} / {s}) = {out} outputs; padding "
            f"max(({out} - 1)*{s} + {f_eff} - {n_in}, 0) = {before + after}: "
            f"{before} before, {after} after")


def window_lines(shape: tuple[int, ...], kernel: Any, stride: Any,
                 pads: tuple[int, int, int, int], dilation: Any = 1,
                 ceil: bool = False, same: bool = False) -> list[str]:
    """The output-size line(s) of a sliding window: one when both axes agree; with `same`,
    first how the 'same' padding was found."""
    (fh, fw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    top, bottom, left, right = pads
    h = (shape[0], fh, sh, top, bottom, dh)
    w = (shape[1], fw, sw, left, right, dw)
    lines = []
    if same:
        sh_line, sw_line = same_line(shape[0], fh, sh, dh), same_line(shape[1], fw, sw, dw)
        lines += ([f"padding 'same': {sh_line}"] if sh_line == sw_line else
                  [f"padding 'same' (height): {sh_line}",
                   f"padding 'same' (width): {sw_line}"])
    if h == w:
        return [*lines, size_line("output height and width", *h, ceil=ceil)]
    return [*lines, size_line("output height", *h, ceil=ceil),
            size_line("output width", *w, ceil=ceil)]


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


def per_output(fh: int, fw: int, c_in: int, out: tuple[int, ...], groups: int = 1) -> str:
    """The two factors of a convolution's MACs: `5*5*192 = 4,800 multiplications per output;
    28*28*32 = 25,088 outputs`."""
    per = f"{fh}*{fw}*{c_in}" if groups == 1 else f"{fh}*{fw}*({c_in}/{groups})"
    ho, wo, c_out = out
    return (f"{per} = {n(fh * fw * (c_in // groups))} multiplications per output; "
            f"{ho}*{wo}*{c_out} = {n(ho * wo * c_out)} outputs")


def separable_ratio(fh: int, fw: int, c_in: int, multiplier: int,
                    out: tuple[int, ...]) -> list[str]:
    """A depthwise separable convolution against the full convolution it replaces (same
    kernel, stride, padding and filters): MACs `(dw + pw) / full = m/n_c' + m/(f_h f_w)`
    (Howard et al. 2017's `1/n_c' + 1/f^2` at multiplier 1)."""
    from fractions import Fraction

    ho, wo, c_out = out
    full = F.conv_macs(fh, fw, c_in, ho, wo, c_out)
    mid = c_in * multiplier
    cost = F.conv_macs(fh, fw, c_in, ho, wo, mid, c_in) + F.conv_macs(1, 1, mid, ho, wo, c_out)
    ratio = Fraction(cost, full)
    m = "" if multiplier == 1 else f"{multiplier}"
    area = f"{fh}^2" if fh == fw else f"({fh}*{fw})"
    formula = (f"{m or 1}/n_c' + {m or 1}/f^2 = {m or 1}/{c_out} + {m or 1}/{area}"
               if fh == fw else
               f"{m or 1}/n_c' + {m or 1}/(f_h*f_w) = {m or 1}/{c_out} + {m or 1}/{area}")
    return [f"a full {fh}x{fw} convolution to {c_out} channels: "
            f"{fh}*{fw}*{c_in} * {ho}*{wo}*{c_out} = {n(full)} MACs",
            f"separable / full = {n(cost)} / {n(full)} = {formula} = {ratio} "
            f"= {float(ratio):.4g}"]
