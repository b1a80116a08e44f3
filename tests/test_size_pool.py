"""`cnncalc size`, `cnncalc pool` and `cnncalc conv` on volumes: hand arithmetic and refusals.

Expected values are the closed forms written out here (`floor((n + 2p - f) / s) + 1`,
TensorFlow's 'same' rule, torch's adaptive windows, sums of products), never cnncalc's output.
"""

from __future__ import annotations

import json
import math

import pytest

from cnncalc.analyses.convolve import (
    adaptive_pool,
    conv_layer,
    lecture_windows,
    pool,
    read_volume,
    torch_windows,
)
from cnncalc.commands import app


def invoke(runner, *args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


# --------------------------------------------------------------------------- size

@pytest.mark.parametrize(("n", "f", "s", "p"), [(63, 5, 2, 1), (224, 7, 2, 3), (10, 3, 3, 0),
                                                (5, 5, 1, 2)])
def test_size_prints_the_formula(runner, n, f, s, p):
    out = (n + 2 * p - f) // s + 1
    result = invoke(runner, "size", f"{n}x{n}x3", "--kernel", str(f), "-s", str(s), "-p", str(p))
    assert result.exit_code == 0, result.output
    assert f"floor(({n} + 2*{p} - {f}) / {s}) + 1 = {out}" in result.output
    assert f"-> {out}x{out} per filter" in result.output


def test_size_with_filters_gives_params_and_macs(runner):
    result = invoke(runner, "size", "32x32x3", "--kernel", "3", "-p", "same", "--filters", "16")
    assert f"({3 * 3 * 3} + 1) * 16" not in result.output  # the factors are written out
    assert f"(3*3*3 + 1) * 16 = {(27 + 1) * 16}" in result.output
    assert f"3*3*3 * 32*32*16 = {27 * 32 * 32 * 16:,}" in result.output


def test_size_same_padding_tensorflow_rule(runner):
    # n = 63, f = 4, s = 2: ceil(63 / 2) = 32 outputs need (32 - 1)*2 + 4 - 63 = 3 rows,
    # 1 before and 2 after
    result = invoke(runner, "size", "63x63", "--kernel", "4", "-s", "2", "-p", "same")
    assert result.exit_code == 0, result.output
    assert "ceil(63 / 2) = 32" in result.output
    assert "max((32 - 1)*2 + 4 - 63, 0) = 3: 1 before, 2 after" in result.output
    assert "floor((63 + 1 + 2 - 4) / 2) + 1 = 32" in result.output


def test_size_pooling_and_its_default_stride(runner):
    result = invoke(runner, "size", "55x55x96", "--pool", "max", "--kernel", "3")
    assert "floor((55 + 2*0 - 3) / 3) + 1 = 18" in result.output
    assert "-> 18x18x96" in result.output


def test_size_json(runner):
    result = invoke(runner, "size", "39x39x3", "--kernel", "3", "--filters", "10", "-f", "json")
    doc = json.loads(result.output)
    assert doc["command"] == "size" and doc["output"] == [37, 37, 10]


@pytest.mark.parametrize(("args", "message"), [
    (["3x3x1", "--kernel", "5"], "floor((3 + 0 - 5) / 1) + 1 = -1 < 1"),
    (["8x8x3"], "--kernel"),
    (["8x8x3", "--kernel", "3", "--pool", "max", "--filters", "4"], "--filters"),
    (["8x8x3", "--adaptive", "2", "--kernel", "3"], "--kernel"),
    (["8x8x3", "--kernel", "3", "--separable"], "--separable needs --filters"),
    (["8x8", "--kernel", "0"], "--kernel"),
    (["3x224x224", "--kernel", "3"], "channels-first"),
    (["8x8x3", "--kernel", "3", "-p", "wide"], "--padding"),
])
def test_size_refusals(runner, args, message):
    result = invoke(runner, "size", *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert result.output.startswith("cnncalc size:")


# --------------------------------------------------------------------------- pool

def test_pool_windows_by_hand():
    x = [[r * 10 + c for c in range(5)] for r in range(5)]
    # max 3x3, stride 2: windows start at 0 and 2
    assert pool(x, "max", (3, 3), (2, 2)) == [[22, 24], [42, 44]]
    # average 2x2, padding 1, stride 2: top-left window holds x[0][0] and three zeros
    avg = pool(x, "avg", (2, 2), (2, 2), 1)
    assert avg[0][0] == x[0][0] / 4 and avg[1][1] == (11 + 12 + 21 + 22) / 4
    # max never picks padding: all-negative input, padded max keeps the input's values
    neg = [[-5, -6], [-7, -8]]
    assert pool(neg, "max", (2, 2), (2, 2), 1) == [[-5, -6], [-7, -8]]


@pytest.mark.parametrize(("n_in", "n_out"), [(5, 3), (7, 3), (10, 4), (6, 3), (3, 5)])
def test_adaptive_windows_are_torchs(n_in, n_out):
    windows = torch_windows(n_in, n_out)
    assert windows == [(math.floor(i * n_in / n_out), math.ceil((i + 1) * n_in / n_out))
                       for i in range(n_out)]
    x = [[1] * n_in for _ in range(n_in)]
    assert adaptive_pool(x, "avg", (n_out, n_out)) == [[1] * n_out] * n_out
    rule = lecture_windows(n_in, n_out)
    if n_out > n_in:
        assert rule is None
    else:
        s = n_in // n_out
        assert rule == [(i * s, i * s + n_in - (n_out - 1) * s) for i in range(n_out)]


@pytest.mark.parametrize(("args", "message"), [
    (["-i", "1 2; 3 4", "--kernel", "2", "-p", "2"], "more than half the kernel"),
    (["-i", "1 2; 3 4", "--kernel", "3"], "does not fit"),
    (["-i", "1 2; 3 4", "--adaptive", "1", "-s", "2"], "--stride"),
    (["-i", "1 2; 3 4", "--kernel", "2x"], "--kernel"),
    (["-i", "1 2; 3 4 | 1 2 3; 4 5 6"], "channel 2 is 2x3"),
])
def test_pool_refusals(runner, args, message):
    result = invoke(runner, "pool", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_pool_formula_per_axis(runner):
    result = invoke(runner, "pool", "-i", "; ".join(["1 2 3 4 5 6"] * 4), "--kernel", "2x3")
    assert "output height: floor((4 + 2*0 - 2) / 2) + 1 = 2" in result.output
    assert "output width: floor((6 + 2*0 - 3) / 3) + 1 = 2" in result.output


# --------------------------------------------------------------------------- conv on volumes

def test_conv_layer_sums_channels_adds_bias_applies_activation():
    x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
    w = [[[1]], [[-1]]]                     # a 1x1x2 filter: channel 1 minus channel 2
    found = conv_layer(x, [w], biases=[3], activation="relu")[0]
    assert found.partials == [[[1, 2], [3, 4]], [[-5, -6], [-7, -8]]]
    assert found.z == [[-4, -4], [-4, -4]]
    assert found.out == [[0, 0], [0, 0]]    # relu(-4 + 3)
    tanh = conv_layer(x, [w], biases=[5], activation="tanh")[0].out
    assert tanh == [[math.tanh(1)] * 2] * 2


def test_csv_and_yaml_volumes(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("1,2\n3,4\n\n5,6\n7,8\n\n")
    assert read_volume(str(csv)) == [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
    yml = tmp_path / "x.yaml"
    yml.write_text("- [[1, 2], [3, 4]]\n- [[5, 6], [7, 8]]\n")
    assert read_volume(str(yml)) == [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]


@pytest.mark.parametrize(("args", "message"), [
    (["-i", "1 2; 3 4 | 5 6; 7 8", "-k", "1"], "the filter has 1 channel, the input 2"),
    (["-i", "1 2; 3 4", "-k", "1", "-k", "1 1"], "the filters of a layer have one size"),
    (["-i", "1 2; 3 4", "-k", "1", "--bias", "1", "--bias", "2"], "one bias per filter"),
    (["-i", "1 2; 3 4", "-k", "1", "--bias", "x"], "'x' is not a number"),
    (["-i", "1 2; 3 4", "-k", "1", "--activation", "softplus"], "softplus"),
    (["-i", "1 2; 3 4 | 1 2; 3 4", "-k", "vertical | sobel"], "unknown filter"),
])
def test_conv_volume_refusals(runner, args, message):
    result = invoke(runner, "conv", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_conv_work_bound_counts_every_filter(runner):
    # 60 filters of 3x3 over a 98x98 output: 60 * 9 * 98 * 98 > 5,000,000 multiply-adds
    image = "; ".join([" ".join(["1"] * 100)] * 100)
    args = ["conv", "-i", image]
    for _ in range(60):
        args += ["-k", "vertical"]
    result = invoke(runner, *args)
    assert result.exit_code == 2 and "more than the 5,000,000" in result.output


def test_pooling_work_counts_every_channel():
    from cnncalc.errors import CnnCalcError

    # 2 -> 2000 per axis: windows of 1 or 2 positions summing to 2 + 2000 - gcd(2, 2000) = 2000
    # per axis, 2000 * 2000 = 4,000,000 cells a channel: one channel fits, two do not
    with pytest.raises(CnnCalcError, match="8,000,000 cells"):
        adaptive_pool([[1, 2], [3, 4]], "avg", (2000, 2000), channels=2)
