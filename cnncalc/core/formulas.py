"""The arithmetic of convolutional layers, as pure functions of integers.

Nothing here knows about specs, YAML or torch; every rule can be checked by hand. Names follow
the lecture: `n` input size, `f` filter (kernel) size, `p` padding, `s` stride, `d` dilation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


def effective_kernel(f: int, d: int = 1) -> int:
    """The span of a dilated kernel: `d (f - 1) + 1`."""
    return d * (f - 1) + 1


def output_size(n: int, f: int, s: int = 1, pad_before: int = 0, pad_after: int | None = None,
                d: int = 1, ceil_mode: bool = False) -> int:
    """Outputs along one axis: `floor((n + p_before + p_after - f_eff) / s) + 1`.

    With the symmetric padding `p` on both sides this is the lecture's
    `floor((n + 2p - f) / s) + 1`. `ceil_mode` is PyTorch's pooling rule
    (`pooling_output_shape` in ATen): round up instead of down, so a last window may hang past
    the input and its padding (even a kernel larger than the input keeps one window when the
    stride reaches past it), but drop a last window that would start past the input and its
    leading padding. Returns 0 or less when no window fits; callers turn that into an error.
    """
    if pad_after is None:
        pad_after = pad_before
    span = n + pad_before + pad_after - effective_kernel(f, d)
    if not ceil_mode:
        return span // s + 1 if span >= 0 else 0
    out = (span + s - 1) // s + 1  # floor division: rounds toward -infinity, as ATen's div_rtn
    if (out - 1) * s >= n + pad_before:  # (out <= 0 never is: n + pad_before >= 1)
        out -= 1
    return max(out, 0)


def same_padding(n: int, f: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """Padding (before, after) for "same": `ceil(n / s)` outputs.

    The total is split with the extra row or column after (bottom/right), the TensorFlow/Keras
    rule. For stride 1 and odd `f` this is the lecture's `p = (f - 1) / 2` on both sides.
    """
    out = -(-n // s)
    total = max((out - 1) * s + effective_kernel(f, d) - n, 0)
    return total // 2, total - total // 2


def adaptive_window(n_in: int, n_out: int) -> tuple[int, int]:
    """The lecture's adaptive pooling rule: `s = floor(n_in / n_out)`, `f = n_in - (n_out - 1) s`.

    Returns (f, s). It is torch's rule (`adaptive_bounds`) exactly when `n_in mod n_out` is 0
    or 1 (and `s >= 1`): see `adaptive_uniform`.
    """
    s = n_in // n_out
    return n_in - (n_out - 1) * s, s


def adaptive_bounds(n_in: int, n_out: int, i: int) -> tuple[int, int]:
    """Torch's adaptive pooling window of output `i` along an axis (ATen's `start_index`,
    `end_index`): `[floor(i n_in / n_out), ceil((i + 1) n_in / n_out))`. Defined for any sizes,
    so an axis may be enlarged (windows then repeat input positions)."""
    return i * n_in // n_out, -(-(i + 1) * n_in // n_out)


def adaptive_uniform(n_in: int, n_out: int) -> tuple[int, int] | None:
    """(f, s) when torch's windows along an axis are one sliding window (all of size f, output
    i starting at i s, s >= 1), else None. With `n_in = s n_out + r`, torch's start of output
    i is `i s + floor(i r / n_out)`: it is `i s` for every i exactly when `r <= 1` (`n_out =
    1` included: r = 0), and then every window ends at `i s + s + r`, so `f = n_in - (n_out -
    1) s`: the lecture's window."""
    f, s = adaptive_window(n_in, n_out)
    if s >= 1 and n_in % n_out <= 1:
        return f, s
    return None


def adaptive_sum(n_in: int, n_out: int) -> int:
    """The sum of torch's window sizes over the `n_out` outputs of an axis:
    `n_in + n_out - gcd(n_in, n_out)` (the ceilings add `n_in` plus one for every output
    whose end is not a whole number; `gcd(n_in, n_out)` ends are)."""
    return n_in + n_out - math.gcd(n_in, n_out)


def adaptive_largest(n_in: int, n_out: int) -> int:
    """The largest of torch's windows along an axis."""
    uniform = adaptive_uniform(n_in, n_out)
    if uniform is not None:
        return uniform[0]
    return max(end - start for start, end in
               (adaptive_bounds(n_in, n_out, i) for i in range(n_out)))


def conv_params(f_h: int, f_w: int, c_in: int, c_out: int, groups: int = 1,
                bias: bool = True) -> int:
    """`f_h * f_w * (c_in / groups) * c_out`, plus `c_out` biases."""
    return f_h * f_w * (c_in // groups) * c_out + (c_out if bias else 0)


def conv_macs(f_h: int, f_w: int, c_in: int, h_out: int, w_out: int, c_out: int,
              groups: int = 1) -> int:
    """Multiply-accumulates of a convolution, bias excluded:
    `f_h * f_w * (c_in / groups) * H_out * W_out * c_out`."""
    return f_h * f_w * (c_in // groups) * h_out * w_out * c_out


def transposed_output_size(n: int, f: int, s: int = 1, p: int = 0, d: int = 1,
                           output_padding: int = 0) -> int:
    """Outputs along one axis of a transposed convolution (torch's ConvTranspose2d):
    `(n - 1) s - 2p + d (f - 1) + output_padding + 1`. May be 0 or less; callers refuse it."""
    return (n - 1) * s - 2 * p + d * (f - 1) + output_padding + 1


def transposed_conv_macs(f_h: int, f_w: int, c_in: int, h_in: int, w_in: int, c_out: int,
                         groups: int = 1) -> int:
    """Multiply-accumulates of a transposed convolution, bias excluded: every input value
    meets every weight of its group once, `f_h * f_w * (c_out / groups) * H_in * W_in * c_in`
    (torch's FlopCounterMode counts it so: input size, not output size)."""
    return f_h * f_w * (c_out // groups) * h_in * w_in * c_in


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """`n_in * n_out` weights plus `n_out` biases."""
    return n_in * n_out + (n_out if bias else 0)


def dense_macs(n_in: int, n_out: int) -> int:
    """`n_in * n_out` multiply-accumulates, bias excluded."""
    return n_in * n_out


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window along one axis: kernel `f`, stride `s`, padding before `p`, dilation
    `d`. Each layer kind says its windows (`Layer.window`); `receptive` steps through them.
    Upsampling layers (transposed convolution, upsample) have fractional ones: a stride below
    1, a span and padding in fractions of an input pixel."""

    f: int | Fraction
    s: int | Fraction = 1
    p: int | Fraction = 0
    d: int = 1


def chunk_sizes(c: int, n: int) -> list[int]:
    """Channel counts of torch's `x.chunk(n, dim)` on `c` channels: chunks of `ceil(c / n)`,
    the last one smaller; fewer than `n` chunks when `c` runs out first (`chunk(4)` of 5 gives
    2, 2, 1)."""
    size = -(-c // n)
    return [min(size, c - start) for start in range(0, c, size)]
