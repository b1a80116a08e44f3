"""Output sizes of sliding windows against torch at every boundary: each input size, kernel,
stride, padding and dilation up to small limits, floor and ceil mode.

The truth is torch's own shape arithmetic (`nn.MaxPool2d`, `nn.AvgPool2d`, `nn.Conv2d`), run
on a tensor of each size; a size torch refuses must be refused by cnncalc, with a message.
`ceil_mode` is the case that matters: torch keeps a last window that hangs past the input
(even a kernel larger than the input, when the stride reaches past it), and drops one that
would start past the input and its leading padding.
"""

from __future__ import annotations

import itertools
import os

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from cnncalc import CnnCalcError, analyze, load_text  # noqa: E402
from cnncalc.core.formulas import output_size  # noqa: E402

pytestmark = pytest.mark.torch

SIZES = range(1, 9)
KERNELS = range(1, 5)
STRIDES = range(1, 5)


def torch_size(module: torch.nn.Module, n: int) -> int:
    """The height torch computes for an n x 1 input (0 when torch refuses the size)."""
    try:
        with torch.no_grad():
            return module(torch.zeros(1, 1, n, 1)).shape[2]
    except RuntimeError:
        return 0


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_sizes_are_torchs(mode: str, ceil_mode: bool) -> None:
    pool = torch.nn.MaxPool2d if mode == "max" else torch.nn.AvgPool2d
    wrong = []
    for n, f, s in itertools.product(SIZES, KERNELS, STRIDES):
        for p in range(f // 2 + 1):  # torch allows padding up to half the kernel
            expected = torch_size(pool((f, 1), (s, 1), (p, 0), ceil_mode=ceil_mode), n)
            found = max(output_size(n, f, s, p, p, 1, ceil_mode), 0)
            if found != expected:
                wrong.append((n, f, s, p, expected, found))
    assert wrong == [], "(n, f, s, p, torch, cnncalc): " + str(wrong[:10])


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_dilated_max_pooling_sizes_are_torchs(ceil_mode: bool) -> None:
    wrong = []
    for n, f, s, d in itertools.product(SIZES, range(1, 4), range(1, 4), range(1, 4)):
        for p in range(f // 2 + 1):
            module = torch.nn.MaxPool2d((f, 1), (s, 1), (p, 0), dilation=(d, 1),
                                        ceil_mode=ceil_mode)
            expected = torch_size(module, n)
            found = max(output_size(n, f, s, p, p, d, ceil_mode), 0)
            if found != expected:
                wrong.append((n, f, s, p, d, expected, found))
    assert wrong == [], "(n, f, s, p, d, torch, cnncalc): " + str(wrong[:10])


def test_convolution_sizes_are_torchs() -> None:
    wrong = []
    for n, f, s, p, d in itertools.product(SIZES, KERNELS, STRIDES, range(3), range(1, 3)):
        module = torch.nn.Conv2d(1, 1, (f, 1), (s, 1), (p, 0), dilation=(d, 1))
        expected = torch_size(module, n)
        found = max(output_size(n, f, s, p, p, d), 0)
        if found != expected:
            wrong.append((n, f, s, p, d, expected, found))
    assert wrong == [], "(n, f, s, p, d, torch, cnncalc): " + str(wrong[:10])


@pytest.mark.parametrize("n, f, s, p, expected", [
    (2, 3, 4, 0, 1),   # the kernel is larger than the input; one window, as torch keeps
    (2, 3, 1, 0, 0),   # ... but not when the stride does not reach past the input
    (5, 3, 3, 1, 2),   # a third window would start in the trailing padding: dropped
    (6, 3, 2, 1, 4),   # ceil((6 + 2 - 3) / 2) + 1 = 4, the last window starts at 6 - 1 + 1
    (1, 2, 2, 1, 1),
])
def test_ceil_mode_through_the_engine(n: int, f: int, s: int, p: int, expected: int) -> None:
    """Whole specs: the engine accepts exactly what torch accepts, and builds the same shape."""
    text = (f"name: w\ninput: {n}x{n}x1\nlayers:\n"
            f"  - maxpool: {{kernel: {f}, stride: {s}, padding: {p}, ceil_mode: true}}\n")
    module = torch.nn.MaxPool2d(f, s, p, ceil_mode=True)
    assert torch_size(module, n) == expected  # the table above is torch's
    if expected == 0:
        with pytest.raises(CnnCalcError, match="does not fit"):
            analyze(load_text(text))
        return
    (node,) = analyze(load_text(text)).leaves()
    assert node.output_shape == (expected, expected, 1)
    from cnncalc import torch as ct

    built = ct.build(analyze(load_text(text)))
    assert tuple(built(torch.zeros(1, 1, n, n)).shape) == (1, 1, expected, expected)
