"""The output-size rule against brute-force counting of window positions, for any settings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.core import formulas as F


def count_windows(n: int, f: int, s: int, before: int, after: int, d: int,
                  ceil_mode: bool) -> int:
    """Slide a dilated window over the padded axis and count where it may start.

    Floor mode: the whole window lies inside the padded input. Ceil mode (PyTorch pooling,
    ATen's `pooling_output_shape`): a window may hang over the far end as long as the window
    before it did not already reach it (so even a kernel larger than the padded input keeps
    one window when the stride reaches past it), and it must start inside the input or its
    leading padding.
    """
    span = d * (f - 1) + 1
    padded = n + before + after
    count = 0
    start = 0
    while True:
        if ceil_mode:
            if not (start - s + span < padded and start < n + before):
                return count
        elif start + span > padded:
            return count
        count += 1
        start += s


@settings(max_examples=400, deadline=None)
@given(n=st.integers(1, 60), f=st.integers(1, 9), s=st.integers(1, 5), before=st.integers(0, 4),
       after=st.integers(0, 4), d=st.integers(1, 3))
def test_output_size_matches_brute_force(n, f, s, before, after, d):
    expected = count_windows(n, f, s, before, after, d, ceil_mode=False)
    assert F.output_size(n, f, s, before, after, d) == expected


@settings(max_examples=400, deadline=None)
@given(n=st.integers(1, 60), f=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3))
def test_ceil_mode_matches_brute_force(n, f, s, p):
    p = min(p, f // 2)  # PyTorch's limit for pooling
    expected = count_windows(n, f, s, p, p, 1, ceil_mode=True)
    assert F.output_size(n, f, s, p, p, 1, ceil_mode=True) == expected


@given(n=st.integers(1, 300), f=st.integers(1, 11), s=st.integers(1, 4), d=st.integers(1, 3))
def test_same_padding_keeps_ceil_n_over_s(n, f, s, d):
    before, after = F.same_padding(n, f, s, d)
    assert 0 <= after - before <= 1  # the extra row goes after (bottom / right)
    assert F.output_size(n, f, s, before, after, d) == -(-n // s)


def test_same_padding_is_the_lectures_for_odd_kernels():
    for f in (1, 3, 5, 7):
        assert F.same_padding(28, f) == ((f - 1) // 2, (f - 1) // 2)


def test_lecture_formula_examples():
    assert F.output_size(6, 3) == 4  # 6x6 * 3x3 = 4x4
    assert F.output_size(6, 3, 1, 1) == 6  # with p = 1
    assert F.output_size(7, 3, 2) == 3  # 7x7, f=3, s=2
    assert F.output_size(39, 3) == 37
    assert F.output_size(37, 5, 2) == 17
    assert F.output_size(17, 5, 2) == 7


def test_ceil_mode_drops_a_window_starting_in_the_far_padding():
    # n=5, f=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4 windows would start at 0,2,4,6 of the padded
    # axis; the one at 6 starts past the input (padded positions 1..5), so PyTorch keeps 3.
    assert F.output_size(5, 2, 2, 1, 1, 1, ceil_mode=True) == 3
    assert F.output_size(6, 3, 2, 0, 0, 1, ceil_mode=True) == 3
    assert F.output_size(6, 3, 2, 0, 0, 1, ceil_mode=False) == 2


def test_adaptive_window():
    assert F.adaptive_window(7, 3) == (3, 2)
    assert F.adaptive_window(224, 7) == (32, 32)
