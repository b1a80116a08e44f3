"""Upsampling kinds (`conv_transpose`, `upsample`) against torch and by hand.

- Output sizes: torch's own shape arithmetic (`nn.ConvTranspose2d`, `F.interpolate`) at every
  boundary of small settings; what torch refuses, cnncalc refuses with a located message.
- Params and MACs: the module's parameters and FlopCounterMode / 2, and the hand formulas
  `f_h f_w (c_in / groups) c_out + c_out` and `f_h f_w (c_out / groups) H_in W_in c_in`.
- Values: `cnncalc.torch.build` against the tests' own reference builder (reference_torch).
- Receptive fields: the window that `receptive` gives each output against the input pixels
  whose gradient reaches that output in torch (weights and inputs positive, so nothing cancels).
"""

from __future__ import annotations

import itertools
import math
import os
from fractions import Fraction

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from pydantic import ValidationError  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import CnnCalcError, analyze, load_text  # noqa: E402
from cnncalc.analyses import receptive as R  # noqa: E402
from cnncalc.core import layers as L  # noqa: E402
from tests import test_reference_torch as reference  # noqa: E402

pytestmark = pytest.mark.torch


def spec(input_: str, *layers: str) -> str:
    return f"name: up\ninput: {input_}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)


def torch_height(module: torch.nn.Module, n: int) -> int:
    """The height torch gives an n x 1 input (0 when torch refuses it)."""
    try:
        with torch.no_grad():
            return module(torch.zeros(1, 1, n, 1)).shape[2]
    except RuntimeError:
        return 0


def engine_height(n: int, f: int, s: int, p: int, d: int, op: int) -> int:
    """The height cnncalc gives (0 when it refuses the settings or the size)."""
    try:
        layer = L.ConvTranspose(filters=1, kernel=[f, 1], stride=[s, 1], padding=[p, 0],
                                dilation=[d, 1], output_padding=[op, 0])
        return layer.output_shape((n, 1, 1))[0]
    except (CnnCalcError, ValidationError):
        return 0


# --------------------------------------------------------------------------- output sizes

def test_transposed_sizes_are_torchs() -> None:
    """Every n, f, s, p, d, output_padding up to small limits, refusals included (output
    padding at or past both stride and dilation; an output of 0 or less)."""
    wrong = []
    for n, f, s, p, d, op in itertools.product(range(1, 6), range(1, 5), range(1, 4),
                                               range(3), range(1, 3), range(3)):
        module = torch.nn.ConvTranspose2d(1, 1, (f, 1), (s, 1), (p, 0), (op, 0),
                                          dilation=(d, 1))
        expected, found = torch_height(module, n), engine_height(n, f, s, p, d, op)
        if found != expected:
            wrong.append((n, f, s, p, d, op, expected, found))
        if expected:  # the rule, by hand
            assert expected == (n - 1) * s - 2 * p + d * (f - 1) + op + 1
    assert wrong == [], "(n, f, s, p, d, op, torch, cnncalc): " + str(wrong[:10])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_sizes_are_torchs(mode: str) -> None:
    corners = {"align_corners": False} if mode == "bilinear" else {}
    for h, w, fh, fw in itertools.product(range(1, 5), range(1, 4), range(1, 4), range(1, 4)):
        x = torch.zeros(1, 2, h, w)
        want = torch.nn.functional.interpolate(x, scale_factor=(fh, fw), mode=mode, **corners)
        layer = L.Upsample(factor=[fh, fw], mode=mode)
        assert layer.output_shape((h, w, 2)) == (*want.shape[2:], 2)
    layer = L.Upsample(size=[7, 3], mode=mode)
    assert layer.output_shape((5, 6, 2)) == (7, 3, 2)


@pytest.mark.parametrize(("layers", "message"), [
    (["conv_transpose: {filters: 2, kernel: 3, stride: 2, output_padding: 2}"],
     r"output_padding 2 must be smaller than the stride \(2\) or the dilation \(1\)"),
    (["conv_transpose: {filters: 2, kernel: 3, stride: [2, 1], output_padding: [0, 1]}"],
     "must be smaller than the stride"),
    (["conv_transpose: {filters: 2, kernel: 1, padding: 3}"],
     r"\(4 - 1\)\*1 - 2\*3 \+ 1\*\(1 - 1\) \+ 0 \+ 1 = -2 < 1"),
    (["conv_transpose: {filters: 3, kernel: 3, groups: 2}"], "groups = 2 must divide"),
    (["conv_transpose: {filters: 2, kernel: 3, padding: same}"],
     "expected a non-negative integer or \\[height, width\\]"),
    (["upsample: {factor: 2, size: 8}"], "exactly one of factor and size"),
    (["upsample: {mode: bilinear}"], "exactly one of factor and size"),
    (["upsample: {factor: 2, mode: bicubic}"], "upsample.mode"),
    (["flatten", "upsample: 2"], "upsample needs an HxWxC input"),
])
def test_impossible_settings_are_located_errors(layers: list[str], message: str) -> None:
    text = spec("4x4x2", *layers)
    with pytest.raises(CnnCalcError, match=message) as info:
        analyze(load_text(text, "up.yaml"))
    (problem,) = info.value.problems
    assert problem.line == 3 + len(layers)  # the offending layer's own line


# --------------------------------------------------------------------------- params, MACs

@pytest.mark.parametrize(("c_in", "c_out", "f", "s", "p", "op", "d", "groups", "bias", "hw"), [
    (3, 8, 3, 2, 1, 1, 1, 1, True, (5, 7)),
    (4, 6, (4, 2), (2, 3), (1, 0), (1, 2), 1, 2, False, (6, 4)),
    (6, 6, 3, 1, 0, 0, 2, 6, True, (3, 3)),
    (8, 4, 2, 2, 0, 0, 1, 4, True, (8, 8)),
    (2, 5, 5, 3, 2, 2, 2, 1, False, (1, 2)),
])
def test_transposed_params_and_macs_are_torchs(c_in, c_out, f, s, p, op, d, groups, bias, hw):
    module = torch.nn.ConvTranspose2d(c_in, c_out, f, s, p, op, groups, bias, d)
    x = torch.randn(1, c_in, *hw)
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    layer = L.ConvTranspose(filters=c_out, kernel=f, stride=s, padding=p, output_padding=op,
                            dilation=d, groups=groups, bias=bias)
    out = layer.output_shape((*hw, c_in))
    assert out == (*y.shape[2:], c_out)
    cost = layer.cost((*hw, c_in), out)
    fh, fw = L.pair(f)
    assert cost.params == sum(t.numel() for t in module.parameters()) == (
        fh * fw * (c_in // groups) * c_out + (c_out if bias else 0))
    assert 2 * cost.macs == counter.get_total_flops()
    assert cost.macs == fh * fw * (c_in // groups) * c_out * hw[0] * hw[1]  # the brief's form
    assert cost.elementwise == math.prod(out) * (1 if bias else 0)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_has_no_params_and_no_macs(mode: str) -> None:
    report = analyze(load_text(spec("3x5x4", f"upsample: {{factor: [2, 3], mode: {mode}}}")))
    (node,) = report.leaves()
    assert (node.params, node.buffers, node.macs) == (0, 0, 0)
    assert node.output_shape == (6, 15, 4)
    assert node.elementwise == (7 * 6 * 15 * 4 if mode == "bilinear" else 0)


def test_explain_shows_the_transposed_rule_with_numbers() -> None:
    from cnncalc.analyses.explain import explain

    text = "\n".join(explain(analyze(load_text(spec(
        "4x4x3", "conv_transpose: {filters: 2, kernel: 3, stride: 2, padding: 1, "
        "output_padding: 1}")))))
    assert ("(n - 1)*s - 2*p + d*(f - 1) + output_padding + 1 = "
            "(4 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 8") in text
    assert "params: (3*3*3 + 1) * 2 = 56" in text


# --------------------------------------------------------------------------- values

VALUE_SPECS = [
    spec("5x6x4", "conv_transpose: [6, 3, 2, 1]",
         "conv_transpose: {filters: 4, kernel: [2, 3], stride: [3, 2], padding: [0, 1], "
         "output_padding: [1, 1], groups: 2, dilation: [1, 2], bias: false, "
         "activation: relu}"),
    spec("3x4x2", "upsample: 2", "upsample: {factor: [3, 2], mode: bilinear}",
         "upsample: {size: [5, 7], mode: bilinear}", "upsample: {size: [9, 4]}",
         "upsample: [1, 3]"),
    spec("8x8x3", "conv: [4, 3, 2, 1]",
         "residual: {body: [{conv_transpose: {filters: 4, kernel: 4, stride: 2, "
         "padding: 1}}], shortcut: [{upsample: {factor: 2, mode: bilinear}}]}"),
]


@pytest.mark.parametrize("text", VALUE_SPECS)
def test_values_equal_the_reference_builder(text: str) -> None:
    reference.check(text, batch=2)


def test_fcn_decoder_is_exact() -> None:
    report = cnncalc.analyze(cnncalc.load("fcn-decoder"))
    shapes = [n.output_shape for n in report.leaves()]
    assert shapes[3] == (16, 16, 64)  # (8 - 1)*2 - 2*1 + (4 - 1) + 1
    assert shapes[6] == (64, 64, 16)  # (32 - 1)*2 - 2*1 + (3 - 1) + 1 + 1
    assert shapes[-1] == (60, 60, 21)
    from cnncalc import torch as ct

    built = ct.build(report)
    with FlopCounterMode(display=False) as counter:
        built(torch.zeros(1, 3, 60, 60))
    assert report.totals.params == sum(p.numel() for p in built.parameters())
    assert 2 * report.macs(report.totals) == counter.get_total_flops()


# --------------------------------------------------------------------------- receptive field

def reached(module: torch.nn.Module, n: int, k: int) -> set[int]:
    """The input rows (of an n x 1 input) whose gradient reaches output row k."""
    x = torch.ones(1, 1, n, 1, requires_grad=True)
    module(x)[0, :, k, 0].sum().backward()
    return {i for i in range(n) if x.grad[0, 0, i, 0] != 0}


def window_rows(axis: R.Axis, k: int, n: int) -> set[int]:
    """The whole input rows in `[k j - p, k j - p + r - 1]`, inside the input."""
    start = Fraction(k) * axis.stride - axis.padding
    end = start + axis.size - 1
    return set(range(max(math.ceil(start), 0), min(math.floor(end), n - 1) + 1))


def positive(module: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0)
    return module


def _single(layer: L.Layer, module: torch.nn.Module, n: int, exact: bool) -> list:
    out = layer.output_shape((n, 1, 1))
    axis = R.through(layer, (n, 1, 1), out, R.input_field((n, 1, 1))).h
    wrong = []
    for k in range(out[0]):
        seen, window = reached(module, n, k), window_rows(axis, k, n)
        if not seen <= window or (exact and seen != window):
            wrong.append((n, k, sorted(seen), sorted(window)))
    return wrong


def test_transposed_window_is_the_pixels_torch_reaches() -> None:
    """Stride 1/s, padding (f_eff - 1 - p)/s, span (f_eff - 1)/s: exactly the pixels reached
    without dilation; with a dilation, the pixels reached lie inside it."""
    wrong = []
    for n, f, s, p, d in itertools.product(range(1, 6), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        if (n - 1) * s - 2 * p + d * (f - 1) + 1 < 1:
            continue
        layer = L.ConvTranspose(filters=1, kernel=[f, 1], stride=[s, 1], padding=[p, 0],
                                dilation=[d, 1])
        module = positive(torch.nn.ConvTranspose2d(1, 1, (f, 1), (s, 1), (p, 0),
                                                   dilation=(d, 1), bias=False))
        wrong += [(f, s, p, d, *w) for w in _single(layer, module, n, exact=d == 1)]
    assert wrong == [], "(f, s, p, d, n, k, torch, window): " + str(wrong[:10])


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_window_is_the_pixels_torch_reaches(mode: str) -> None:
    """Nearest: exactly the one pixel copied. Bilinear: the pixels with a weight inside."""
    corners = {"align_corners": False} if mode == "bilinear" else {}
    wrong = []
    for n in range(1, 7):
        for how in [{"factor": [s, 1]} for s in range(1, 5)] + [
                {"size": [m, 1]} for m in range(1, 13)]:
            layer = L.Upsample(mode=mode, **how)
            args = ({"scale_factor": (float(how["factor"][0]), 1.0)} if "factor" in how
                    else {"size": tuple(how["size"])})
            module = torch.nn.Upsample(mode=mode, **args, **corners)
            wrong += [(how, *w) for w in _single(layer, module, n, exact=mode == "nearest")]
    assert wrong == [], "(how, n, k, torch, window): " + str(wrong[:10])


@pytest.mark.parametrize("layers", [
    ("conv: [2, 3, 2, 1]", "conv_transpose: [2, 4, 2, 1]"),
    ("conv_transpose: [2, 3, 2]", "conv_transpose: {filters: 2, kernel: 2, stride: 3}"),
    ("upsample: 2", "conv: [2, 3, 1, 1]", "conv_transpose: [2, 3, 2, 1]", "maxpool: 2"),
    ("conv: [2, 3, 2]", "upsample: {factor: 3, mode: bilinear}", "conv: [2, 2, 2]"),
    ("upsample: {size: [7, 7]}", "conv_transpose: {filters: 2, kernel: 3, stride: 2, "
     "dilation: 2}", "upsample: {size: [9, 9], mode: bilinear}"),
])
def test_receptive_field_of_chains_holds_every_pixel_reached(layers: tuple[str, ...]) -> None:
    """Through several layers the window is the honest span: every pixel torch reaches is
    inside it (real-interval composition may hold a few more)."""
    from cnncalc import torch as ct

    n = 6
    report = analyze(load_text(spec(f"{n}x{n}x1", *layers)))
    axis = R.receptive_fields(report)[report.nodes[-1].path].h
    module = positive(ct.build(report))
    x = torch.ones(1, 1, n, n, requires_grad=True)
    y = module(x)
    wrong, reaching = [], 0
    for k in range(y.shape[2]):
        x.grad = None
        y[0, :, k, :].sum().backward(retain_graph=True)
        seen = {i for i in range(n) if x.grad[0, 0, i, :].abs().sum() != 0}
        reaching += bool(seen)  # a kernel shorter than its stride leaves rows nothing reaches
        if not seen <= window_rows(axis, k, n):
            wrong.append((k, sorted(seen), sorted(window_rows(axis, k, n))))
    assert wrong == [] and reaching > y.shape[2] // 2


def test_fractional_fields_are_exact_in_text_and_json() -> None:
    report = analyze(load_text(spec("8x8x1", "conv_transpose: [1, 4, 2, 1]", "upsample: 2")))
    fields = R.receptive_fields(report)
    first, second = (fields[node.path] for node in report.nodes)
    # one transposed conv from the input: r = 1 + 3/2, j = 1/2, p = (3 - 1)/2
    assert (first.size, first.stride, first.padding) == (Fraction(5, 2), Fraction(1, 2), 1)
    assert first.text() == "5/2 / 1/2 / 1"
    assert first.to_dict() == {"size": "5/2", "stride": "1/2", "padding": 1}
    # nearest x2 after it: r = 5/2 + (1/2)(1/2), j = 1/4, p = 1 + (1/2)(1/2)
    assert (second.size, second.stride, second.padding) == (
        Fraction(11, 4), Fraction(1, 4), Fraction(5, 4))
