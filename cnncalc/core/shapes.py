"""Input sizes as people write them, and the one check for sizes written in torch's order.

cnncalc reads an image size as height x width x channels (`224x224x3`, `[32, 32, 3]`). torch
writes the same tensor channels first (`3x224x224`), and such a size, read as HxWxC, is a
valid but wrong network (an image 3 pixels high with 224 channels): every number printed would
be plausible and wrong. `refuse_channels_first` refuses the sizes that are almost surely that
mix-up, for `--input` and the spec's `input:` alike (`spec.parse_shape` calls it).

The rule: the first value is at most 4 (1, 2, 3 or 4 channels: grey, two-channel, RGB, RGBA),
the other two are at least 8, and either the other two are equal (`3x224x224`, `1x28x28`) or
the first is 3 or 4 (`3x240x320`: a colour image in torch's order). No real HxWxC input looks
like that: an image has 1 to 4 channels *last*, and a feature map analysed on its own
(`7x7x512`, `1x1x1280`, `4x4x512`) has a small height *and* width. What stays allowed is a
one-row input of unequal width and channels (`1x100x64`, a sequence of 100 steps with 64
channels), and every size with a side under 8.
"""

from __future__ import annotations

from collections.abc import Sequence

#: At most this many channels make the first value look like torch's channel count.
MAX_CHANNELS_FIRST = 4
#: ... while both other values (torch's height and width) are at least this.
MIN_SIDE = 8


def channels_first(shape: Sequence[int]) -> bool:
    """Whether an HxWxC size is almost surely torch's CxHxW (the module docstring's rule)."""
    if len(shape) != 3:
        return False
    first, second, third = shape
    if first > MAX_CHANNELS_FIRST or min(second, third) < MIN_SIDE:
        return False
    return second == third or first in (3, 4)


def refuse_channels_first(shape: Sequence[int]) -> tuple[int, ...]:
    """`shape` as a tuple, or ValueError naming both readings when it looks channels-first."""
    if channels_first(shape):
        c, h, w = shape
        raise ValueError(
            f"{c}x{h}x{w} looks channels-first, torch's CxHxW ({c} channel"
            f"{'s' if c > 1 else ''} of {h}x{w}); "
            f"cnncalc reads HxWxC (height {c}, width {h}, {w} channels): write {h}x{w}x{c}")
    return tuple(shape)
