"""`cnncalc resolution`: the sweep's counts are `analyze`'s at each size, in every format."""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.analyses import resolution as R
from cnncalc.commands import app
from cnncalc.errors import CnnCalcError


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet_v2", "lenet5"])
def test_sweep_equals_analyze_at_random_sizes(name):
    spec = cnncalc.load(name)
    sizes = sorted(random.Random(name).sample(range(32, 400), 5))
    for size, found in zip(sizes, (R.point(spec, s) for s in sizes), strict=True):
        try:
            totals = cnncalc.analyze(spec, (size, size, spec.input_shape[-1])).totals
        except CnnCalcError:
            assert found.macs is None and found.error
            continue
        assert (found.macs, found.params, found.activations) == (
            totals.macs, totals.params, totals.activations)


def _each_size(spec, sizes):
    """The sweep's points the slow way: `analyze` at every size (`R.point`)."""
    return [R.point(spec, size) for size in sizes]


@pytest.mark.parametrize("name", sorted(cnncalc.bundled()))
def test_a_sweep_by_class_equals_analyze_at_every_size_on_every_bundled_spec(name):
    # one class with many sizes (its quadratic is used), and consecutive sizes (many classes,
    # a few used by their quadratic where the total stride is small)
    spec = cnncalc.load(name)
    found = R.formulas(spec, "divisible", squares=False)
    square = math.lcm(*found.period)
    start = spec.input_shape[0]
    for sizes in (range(start, start + 12 * square, square), range(start - 20, start + 60)):
        sizes = range(max(sizes.start, 1), sizes.stop, sizes.step)
        assert R.sweep(spec, sizes) == _each_size(spec, sizes), sizes


@pytest.mark.parametrize(("name", "step"), [("resnet18", 2), ("mobilenet_v2", 6),
                                          ("lenet5", 3)])
def test_a_sweep_with_a_step_sharing_a_factor_with_the_total_stride(name, step):
    # resnet18's total stride is 32: a step of 2 gives 16 classes of 8 sizes each (each by its
    # quadratic); mobilenet_v2's step 6 gives 16 classes; lenet5's (4) step 3, 4 classes
    spec = cnncalc.load(name)
    found = R.formulas(spec, "divisible", squares=False)
    square = math.lcm(*found.period)
    classes = square // math.gcd(square, step)
    sizes = range(40, 40 + step * classes * 8, step)
    assert R.sweep(spec, sizes) == _each_size(spec, sizes)


def test_a_sweep_analyses_a_class_at_six_sizes_and_not_every_size(monkeypatch):
    # a 3x3 convolution and a stride-2 max pool: MACs 3*3*3*8 (H - 2)(W - 2) on every size,
    # so 2 classes of squares; 40 sizes cost the period's 2 analyses and 6 per class
    spec = cnncalc.load_text("name: t\ninput: 32x32x3\nlayers:\n  - conv: {filters: 8, "
                             "kernel: 3}\n  - maxpool: 2\n")
    calls = []
    real = R.at_size
    monkeypatch.setattr(R, "at_size", lambda *args: calls.append(args[1:]) or real(*args))
    points = R.sweep(spec, range(10, 50))
    assert len(calls) == 2 + 2 * 6
    assert [p.macs for p in points] == [216 * (n - 2) ** 2 for n in range(10, 50)]
    # an odd map (n - 2 odd) leaves the pool's last row out
    assert [p.drops_pixels for p in points] == [n % 2 == 1 for n in range(10, 50)]


def test_a_sweep_reports_each_invalid_size_before_a_class_turns_valid():
    # a 7x7 window: sizes 1..6 are refused with analyze's own message, each
    spec = cnncalc.load_text("name: t\ninput: 32x32x1\nlayers:\n  - conv: {filters: 2, "
                             "kernel: 7}\n")
    points = R.sweep(spec, range(1, 30))
    assert points == _each_size(spec, range(1, 30))
    assert [p.size for p in points if p.error] == list(range(1, 7))


@pytest.mark.parametrize("text", [
    # paths that meet at isolated sizes: valid at 3x3 only, so per size
    "input: 3x3x2\nlayers:\n  - adaptive_pool: 3\n  - add:\n    from: [input, "
    "adaptive_pool1]\n",
    # the input size read by an expression: no formula, per size
    "input: 16x16x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n"
    "  - conv: {filters: 4, kernel: $(in_height // 2)}\n",
])
def test_a_sweep_without_formulas_is_analysed_size_by_size(text):
    spec = cnncalc.load_text("name: t\n" + text)
    assert R.sweep(spec, range(1, 40)) == _each_size(spec, range(1, 40))


def test_drops_pixels_by_hand():
    # conv 3, stride 2, no padding: n = 9 ends exactly (windows at 0, 2, 4, 6), n = 10 drops
    spec = cnncalc.load_text("name: t\ninput: 9x9x1\nlayers:\n  - conv: {filters: 1, "
                             "kernel: 3, stride: 2}\n")
    assert [R.point(spec, n).drops_pixels for n in (9, 10)] == [False, True]
    assert R.smallest_input(spec) == 3


def test_parse_sweep():
    assert list(R.parse_sweep("128..512:128")) == [128, 256, 384, 512]
    assert list(R.parse_sweep("3..5")) == [3, 4, 5]
    for bad in ("5..3", "a..b", "0..4:1", "1..4:0"):
        with pytest.raises(CnnCalcError):
            R.parse_sweep(bad)


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "html"])
def test_cli_every_format(runner, fmt):
    out = runner.invoke(app, ["resolution", "lenet5", "--sweep", "28..36:4", "-f", fmt])
    assert out.exit_code == 0, out.output
    if fmt == "json":
        assert json.loads(out.output)
    assert "32" in out.output


# --------------------------------------------------------------------------- the formulas
# Truth is `analyze` at sizes the formulas were not fitted to (random ones of each class),
# and, for small specs, the closed forms worked out by hand below.

def _totals(spec, height, width):
    """analyze's totals at HxW with the spec's channels (the spec's input replaced, so that
    analyze's channels-first guard, meant for sizes people type, refuses none of these)."""
    report = cnncalc.analyze(replace(spec, input_shape=(height, width, spec.input_shape[-1])))
    return {"macs": report.totals.macs, "params": report.totals.params,
            "activations": report.totals.activations}


def _valid(spec, height, width):
    try:
        _totals(spec, height, width)
    except CnnCalcError:
        return False
    return True


def _check_class(spec, size_class, rng, count=3, span=60):
    """The class's formulas equal analyze at `count` random sizes of the class (H and W drawn
    apart), and its smallest valid size is the smallest: one period less is not valid."""
    ph, pw = size_class.period
    h0, w0 = size_class.min_height, size_class.min_width
    assert (h0 - size_class.height_mod) % ph == 0 and (w0 - size_class.width_mod) % pw == 0
    for _ in range(count):
        h, w = h0 + ph * rng.randrange(span), w0 + pw * rng.randrange(span)
        truth = _totals(spec, h, w)
        for key, form in size_class.formulas.items():
            assert form.at(h, w) == truth[key], (spec.name, size_class.text(), key, h, w)
    if h0 > ph:
        assert not _valid(spec, h0 - ph, w0 + 5 * pw)
    if w0 > pw:
        assert not _valid(spec, h0 + 5 * ph, w0 - pw)


def _bilinear(hw, h, w, one):
    return R.Bilinear(*(Fraction(c) for c in (hw, h, w, one)))


def test_a_3x3_same_convolution_by_hand():
    # 3x3 stride 1 padding 1, 3 -> 8 channels with bias: the output is H x W x 8, so
    # MACs = 3*3*3*8 * H*W, activations = 8*H*W, params = 3*3*3*8 + 8; one class, from 1x1
    spec = cnncalc.load_text("name: t\ninput: 32x32x3\nlayers:\n  - conv: {filters: 8, "
                             "kernel: 3, padding: 1}\n")
    found = R.formulas(spec)
    assert found.period == (1, 1)
    (only,) = found.classes
    assert (only.min_height, only.min_width, only.drops_pixels) == (1, 1, False)
    assert only.formulas == {"macs": _bilinear(3 * 3 * 3 * 8, 0, 0, 0),
                             "params": _bilinear(0, 0, 0, 3 * 3 * 3 * 8 + 8),
                             "activations": _bilinear(8, 0, 0, 0)}
    assert only.formulas["macs"].text() == "216*H*W"


@pytest.mark.parametrize(("size", "residues", "formula", "drops"), [
    # 3x3 stride 2, no padding, 1 -> 1 channel, no bias: out = floor((n - 3) / 2) + 1, which
    # is (n - 1) / 2 for odd n and (n - 2) / 2 for even n; MACs = 9 * out_h * out_w
    ("9x11", (1, 1), (Fraction(9, 4), Fraction(-9, 4), Fraction(-9, 4), Fraction(9, 4)), False),
    ("10x10", (0, 0), (Fraction(9, 4), Fraction(-9, 2), Fraction(-9, 2), 9), True),
    ("10x9", (0, 1), (Fraction(9, 4), Fraction(-9, 4), Fraction(-9, 2), Fraction(9, 2)), True),
])
def test_a_strided_convolution_by_hand(size, residues, formula, drops):
    spec = cnncalc.load_text("name: t\ninput: 9x9x1\nlayers:\n  - conv: {filters: 1, "
                             "kernel: 3, stride: 2, bias: false}\n")
    h, w = (int(n) for n in size.split("x"))
    found = R.formulas(spec, (h, w))
    assert found.period == (2, 2)
    (only,) = found.classes
    assert (only.height_mod, only.width_mod) == residues
    assert only.formulas["macs"] == _bilinear(*formula)
    assert only.drops_pixels is drops
    assert (only.min_height, only.min_width) == tuple(3 + (r == 0) for r in residues)


def test_the_period_follows_each_axis_and_upsampling():
    # stride 2 by 3, then a x2 upsample and a stride-4 pool: height 2*2/... : the jumps are
    # 2 then 1 then 4 (height), 3 then 3/2 then 6 (width): periods lcm(2, 4) and lcm(3, 6)
    spec = cnncalc.load_text(
        "name: t\ninput: 48x48x2\nlayers:\n  - conv: {filters: 2, kernel: 1, stride: [2, 3]}\n"
        "  - upsample: {factor: 2}\n  - maxpool: {kernel: 4}\n")
    found = R.formulas(spec)
    assert found.period == (4, 6)
    _check_class(spec, found.classes[0], random.Random(1))


def test_adaptive_pooling_ends_what_the_period_needs():
    # AlexNet's head: whatever its strides after the adaptive pool, they see a fixed size
    spec = cnncalc.load_text(
        "name: t\ninput: 32x32x3\nlayers:\n  - conv: {filters: 4, kernel: 3, stride: 2}\n"
        "  - adaptive_pool: 5\n  - conv: {filters: 4, kernel: 3, stride: 3}\n  - flatten\n"
        "  - dense: 10\n")
    found = R.formulas(spec)
    assert found.period == (2, 2)
    assert found.classes[0].formulas["params"].hw == 0  # the dense layer sees 1x1x4


@pytest.mark.parametrize("name", sorted(cnncalc.bundled()))
def test_formulas_equal_analyze_on_every_bundled_spec(name):
    spec = cnncalc.load(name)
    own = spec.input_shape[:2]
    rng = random.Random(name)
    for which in ("divisible", tuple(own)):
        found = R.formulas(spec, which, squares=False)
        assert found.problem == "", found.problem  # every bundled spec has its formulas
        for size_class in found.classes:
            if size_class.formulas is None:
                # only U-Net's multiples of 16: no size of the class is valid (by monotonicity
                # none below the largest tried either); try some
                assert size_class.problem.startswith("no size of this class is valid")
                assert not any(_valid(spec, size_class.period[0] * rng.randint(1, 40),
                                      size_class.period[1] * rng.randint(1, 40))
                               for _ in range(5))
                continue
            _check_class(spec, size_class, rng)
    # the spec's own size lies in a class with formulas, and they give its numbers
    own_class = found.classes[0]
    assert own_class.formulas is not None
    assert {k: f.at(*own) for k, f in own_class.formulas.items()} == _totals(spec, *own)


@pytest.mark.parametrize("name", ["resnet18", "alexnet", "yolov8n", "unet", "inception_v3"])
def test_the_square_sizes_that_drop_no_pixels_are_whole_classes(name):
    spec = cnncalc.load(name)
    found = R.formulas(spec, "divisible")
    period, free = found.square_period, dict(found.drop_free)
    rng = random.Random(name)
    for _ in range(12):
        point = R.point(spec, rng.randint(1, 700))
        if point.error:
            continue
        assert (point.size % period in free) is not point.drops_pixels, point.size
        smallest = free.get(point.size % period)
        assert smallest is None or smallest <= point.size


def test_a_spec_reading_the_input_size_gets_no_formula(runner):
    text = ("name: t\ninput: 16x16x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n"
            "  - conv: {filters: 4, kernel: $(in_height // 2)}\n")
    spec = cnncalc.load_text(text)
    found = R.formulas(spec)
    assert found.classes == [] and "in_height" in found.problem
    # rightly: a bilinear form along H = W is a quadratic in n, whose second differences are
    # constant; these (a kernel of n/2 on an (n - 2)-map: degree 4) are not
    macs = [_totals(spec, n, n)["macs"] for n in (16, 18, 20, 22, 24)]
    assert len({a - 2 * b + c for a, b, c in zip(macs, macs[1:], macs[2:], strict=False)}) > 1
    out = runner.invoke(app, ["resolution", "-", "--sweep", "16..16"], input=text)
    assert out.exit_code == 0, out.output
    assert "formulas: none, as the spec's expressions read the input size" in out.output


@pytest.mark.parametrize("text", [
    # the input (stride 1) beside a stride-2 path: equal sizes at 1x1 only
    "input: 1x1x1\nlayers:\n  - conv: {filters: 1, kernel: 3, stride: 2, padding: 1}\n"
    "  - concat:\n    from: [input, conv1]\n",
    # a fixed size (adaptive pooling to 3x3) beside the growing input: equal at 3x3 only
    "input: 3x3x2\nlayers:\n  - adaptive_pool: 3\n  - add:\n    from: [input, "
    "adaptive_pool1]\n",
])
def test_paths_that_meet_at_isolated_sizes_get_no_formula(text):
    spec = cnncalc.load_text("name: t\n" + text)
    found = R.formulas(spec)
    assert found.classes == [] and "isolated sizes" in found.problem
    own = spec.input_shape[:2]
    assert _valid(spec, *own) and not _valid(spec, *found.witness)
    assert all(a > b for a, b in zip(found.witness, own, strict=True))


def test_a_vector_input_gets_no_formula():
    spec = cnncalc.load_text("name: t\ninput: 10\nlayers:\n  - dense: 3\n")
    assert "vector" in R.formulas(spec).problem


@pytest.fixture(scope="module")
def random_specs():
    """The torch differential test's generator of random valid specs (imported here, before
    hypothesis runs, since that module's own tests are @given)."""
    if not os.environ.get("CI"):  # CI installs torch: never skip there
        pytest.importorskip("torch")
    from tests.test_torch_differential import specs

    return specs


@pytest.mark.torch  # the random specs come from the torch differential test's generator
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_formulas_equal_analyze_on_random_specs(random_specs, data):
    text, _ = data.draw(random_specs())
    spec = cnncalc.load_text(text)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    found = R.formulas(spec, tuple(spec.input_shape[:2]) if len(spec.input_shape) == 3
                       else "divisible", squares=False)
    if found.period is None:
        if len(spec.input_shape) != 3:
            assert "vector" in found.problem
        else:  # valid at its size, not at a larger one of its class: no formula rightly
            assert found.witness is not None, found.problem
            assert not _valid(spec, *found.witness)
            assert all(a > b for a, b in zip(found.witness, spec.input_shape[:2], strict=True))
        return
    (size_class,) = found.classes
    assert size_class.formulas is not None, size_class.problem
    # a sweep of the spec's own class (its quadratic) equals analyze at every size
    square = math.lcm(*found.period)
    sizes = range(spec.input_shape[0], spec.input_shape[0] + 8 * square, square)
    if spec.input_shape[0] == spec.input_shape[1]:
        assert R.sweep(spec, sizes) == _each_size(spec, sizes)
    assert size_class.min_height <= spec.input_shape[0]
    assert size_class.min_width <= spec.input_shape[1]
    _check_class(spec, size_class, rng)


def test_cli_formulas_in_every_format(runner):
    args = ["resolution", "lenet5", "--sweep", "32..32"]
    doc = json.loads(runner.invoke(app, [*args, "-f", "json"]).output)
    (only,) = doc["formulas"]["classes"]
    assert doc["formulas"]["period"] == [4, 4]
    assert only["activations"] == {"H*W": "27/2", "H": -102, "W": -102, "1": 1198}
    macs = only["macs"]
    assert sum(Fraction(macs[k]) * v for k, v in
               (("H*W", 32 * 32), ("H", 32), ("W", 32), ("1", 1))) == 651_720
    csv = runner.invoke(app, [*args, "-f", "csv"]).output
    assert "activations,27/2,-102,-102,1198,27/2*H*W - 102*H - 102*W + 1198" in csv
    table = runner.invoke(app, args).output
    assert "(H, W) mod 4 = (0, 0)   MACs" in table
    assert "from 16x16" in table and "drops no pixels" in table


def test_cli_class_all_and_a_size(runner):
    out = runner.invoke(app, ["resolution", "lenet5", "--sweep", "32..32", "--class", "all",
                              "-f", "json"])
    classes = json.loads(out.output)["formulas"]["classes"]
    assert sorted((c["height_mod"], c["width_mod"]) for c in classes) == [
        (h, w) for h in range(4) for w in range(4)]
    out = runner.invoke(app, ["resolution", "lenet5", "--sweep", "32..32", "--class", "33x34",
                              "-f", "json"])
    (only,) = json.loads(out.output)["formulas"]["classes"]
    assert (only["height_mod"], only["width_mod"]) == (1, 2)
    bad = runner.invoke(app, ["resolution", "lenet5", "--class", "some"])
    assert bad.exit_code == 2 and "--class" in bad.output
    many = runner.invoke(app, ["resolution", "inception_v3", "--sweep", "299..299",
                               "--class", "all"])
    assert many.exit_code == 2 and "9,216 classes" in many.output


def test_a_crop_does_not_count_as_dropping_pixels():
    # U-Net crops its skips by design; 572 (16k + 124) drops nothing at any window
    assert R.point(cnncalc.load("unet"), 572).drops_pixels is False


def test_a_size_like_a_channels_first_one_is_analysed_at_a_computed_size():
    # 3x28 with 192 channels reads like torch's (C, H, W) order: `analyze` refuses it as
    # typed input, `at_size` (sizes this module computes) does not. Truth: the spec's input
    # replaced (no guard) and analysed; a 1x1 conv of 192 to 8 channels: 192 * 8 * 3 * 28.
    spec = cnncalc.load_text("name: t\ninput: 8x8x192\nlayers:\n  - conv: {filters: 8, "
                             "kernel: 1, bias: false}\n", "t.yaml")
    with pytest.raises(cnncalc.CnnCalcError, match="channels"):
        cnncalc.analyze(spec, (3, 28, 192))
    assert R.at_size(spec, 3, 28).totals.macs == 192 * 8 * 3 * 28 \
        == _totals(spec, 3, 28)["macs"]
