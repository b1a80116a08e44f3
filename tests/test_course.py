"""The course's worked examples (seed/cnn-lecture.txt), each through a one-line command.

Every expected number is typed from the course's slides (or computed in the test by the
formula the slides state: `floor((n + 2p - f) / s) + 1`, `1/n_c' + 1/f^2`, the adaptive rule),
never copied from cnncalc's output. Where the slides and cnncalc differ, the test says so and
docs/course.md gives the reason.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from cnncalc.commands import app

ROOT = Path(__file__).resolve().parent.parent

# The slides' 6x6 image ("Convolution operation") and its vertical-edge result.
IMAGE = "3 0 1 2 7 4; 1 5 8 9 3 1; 2 7 2 5 1 3; 0 1 3 1 7 8; 4 2 1 6 2 8; 2 4 5 2 3 9"
TABLE_4X4 = [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]
# "Padding the input", p = 1: 6x6 -> 8x8, output 4x4 -> 6x6.
TABLE_6X6 = [[-5, -5, -6, -1, 6, 10], [-12, -5, -4, 0, 8, 11], [-13, -10, -2, 2, 3, 11],
             [-10, 0, -2, -4, -7, 10], [-7, -3, -2, -3, -16, 12], [-6, 0, -2, 1, -9, 5]]
# "Other padding strategy: replication"
REPLICATED = [[3, 3, 0, 1, 2, 7, 4, 4], [3, 3, 0, 1, 2, 7, 4, 4], [1, 1, 5, 8, 9, 3, 1, 1],
              [2, 2, 7, 2, 5, 1, 3, 3], [0, 0, 1, 3, 1, 7, 8, 8], [4, 4, 2, 1, 6, 2, 8, 8],
              [2, 2, 4, 5, 2, 3, 9, 9], [2, 2, 4, 5, 2, 3, 9, 9]]
STEP = "; ".join(["10 10 10 0 0 0"] * 6)
FLIPPED = "; ".join(["0 0 0 10 10 10"] * 6)
CORNER = "; ".join(["10 10 10 0 0 0"] * 3 + ["0 0 0 10 10 10"] * 3)
ZEROS_3X3 = "0 0 0; 0 0 0; 0 0 0"


def run(runner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def boxes(output: str) -> dict[str, list[list[float]]]:
    """Every printed matrix by its title (the line above its box)."""
    found: dict[str, list[list[float]]] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("┌"):
            rows, j = [], i + 1
            while lines[j].startswith("│"):
                rows.append([float(v) for v in lines[j].strip("│").split("│")])
                j += 1
            found[lines[i - 1]] = rows
    return found


def only(output: str, prefix: str) -> list[list[float]]:
    """The one matrix whose title starts with `prefix`."""
    matches = [m for title, m in boxes(output).items() if title.startswith(prefix)]
    assert len(matches) == 1, (prefix, list(boxes(output)))
    return matches[0]


def count(text: str) -> int:
    return int(text.replace(",", ""))


def table_rows(output: str) -> dict[str, tuple[str, int, int]]:
    """`show`'s rows: label's first word -> (activation shape, activation size, params)."""
    rows = {}
    for line in output.splitlines():
        # shape, activations, params, MACs, then the share of the MACs and the memory
        m = re.match(r"\s+(\S+).*?\s(\(?\d[\dx]*\)?)\s+([\d,]+)\s+([\d,]+)\s+[\d,]+"
                     r"(?:\s+[\d.]+%)?\s+[\d.]+ (?:[KMGTP]iB|B)$", line)
        if m:
            rows[m.group(1)] = (m.group(2), count(m.group(3)), count(m.group(4)))
    return rows


def total_params(output: str) -> int:
    return count(re.search(r"^Params: ([\d,]+)", output, re.M).group(1))


def total_macs(output: str) -> int:
    return count(re.search(r"^MACs: ([\d,]+)", output, re.M).group(1))


def size_of(runner, *args: str) -> str:
    """The shape after `->` in `cnncalc size`'s heading."""
    output = run(runner, "size", *args)
    return re.search(r"-> (\S+)", output).group(1)


# --------------------------------------------------------------------------- convolutions

def test_the_6x6_image_and_the_vertical_edge_filter(runner):
    output = run(runner, "conv", "-i", IMAGE, "-k", "vertical")
    assert only(output, "Output 4x4") == TABLE_4X4
    assert only(output, "Filter") == [[1, 0, -1]] * 3
    # n x n * f x f -> n - f + 1: 6 - 3 + 1 = 4
    assert "floor((6 + 2*0 - 3) / 1) + 1 = 4" in output


def test_padding_p_1_and_same(runner):
    output = run(runner, "conv", "-i", IMAGE, "-p", "1")
    assert only(output, "Output 6x6") == TABLE_6X6
    assert "floor((6 + 2*1 - 3) / 1) + 1 = 6" in output
    same = run(runner, "conv", "-i", IMAGE, "-p", "same")
    assert only(same, "Output 6x6") == TABLE_6X6
    assert "p = (f - 1) / 2 = (3 - 1) / 2 = 1" in same


def test_replication_padding(runner):
    output = run(runner, "conv", "-i", IMAGE, "-p", "1", "--pad-mode", "replicate",
                 "--show-padded")
    assert only(output, "Padded input 8x8") == REPLICATED


@pytest.mark.parametrize(("image", "filter_", "expected"), [
    (STEP, "vertical", [[0, 30, 30, 0]] * 4),
    (FLIPPED, "vertical", [[0, -30, -30, 0]] * 4),
    (CORNER, "horizontal", [[0, 0, 0, 0], [30, 10, -10, -30], [30, 10, -10, -30],
                            [0, 0, 0, 0]]),
])
def test_edge_images(runner, image, filter_, expected):
    assert only(run(runner, "conv", "-i", image, "-k", filter_), "Output 4x4") == expected


def test_the_strided_example_needs_stride_2(runner):
    # 7x7 * 3x3 = 3x3 on the slide, captioned s = 1: floor((7 - 3) / s) + 1 = 3 needs s = 2.
    seven = "; ".join(" ".join(str(7 * i + j) for j in range(7)) for i in range(7))
    strided = run(runner, "conv", "-i", seven, "-k", "1 1 1; 1 1 1; 1 1 1", "-s", "2")
    assert len(only(strided, "Output 3x3")) == 3
    assert "floor((7 + 2*0 - 3) / 2) + 1 = 3" in strided
    # top-left window: rows 0..2, columns 0..2 of 7i + j: 9 * (7 + 1) = 72
    assert only(strided, "Output 3x3")[0][0] == sum(7 * i + j for i in range(3) for j in range(3))
    unit = run(runner, "conv", "-i", seven, "-k", "1 1 1; 1 1 1; 1 1 1", "-s", "1")
    assert "floor((7 + 2*0 - 3) / 1) + 1 = 5" in unit


# --------------------------------------------------------------------------- volumes

def test_vertical_edges_in_the_red_channel(runner):
    # 6x6x3 * 3x3x3 = 4x4(x1): the filter is the vertical edge on red, zeros elsewhere, so
    # only the red channel counts: the 4x4 table of the 6x6 image.
    rgb = f"{IMAGE} | {STEP} | {CORNER}"
    output = run(runner, "conv", "-i", rgb, "-k", f"vertical | {ZEROS_3X3} | {ZEROS_3X3}",
                 "--partial-sums")
    assert only(output, "Output 4x4") == TABLE_4X4
    assert only(output, "Partial sums 4x4, input channel 1") == TABLE_4X4
    assert only(output, "Partial sums 4x4, input channel 2") == [[0] * 4] * 4
    assert only(output, "Partial sums 4x4, input channel 3") == [[0] * 4] * 4
    assert "output: 4x4x1" in output


def test_vertical_edges_in_all_channels(runner):
    # the same edge filter on every channel: the channels' partial sums add up
    rgb = f"{IMAGE} | {STEP} | {FLIPPED}"
    output = run(runner, "conv", "-i", rgb, "-k", "vertical | vertical | vertical",
                 "--partial-sums")
    assert only(output, "Partial sums 4x4, input channel 2") == [[0, 30, 30, 0]] * 4
    assert only(output, "Partial sums 4x4, input channel 3") == [[0, -30, -30, 0]] * 4
    assert only(output, "Output 4x4") == TABLE_4X4  # +30 and -30 cancel


def test_multiple_filters_bias_and_relu(runner):
    # Two filters: (n - f + 1) x (n - f + 1) x n_c' = 4x4x2; then a bias and a non-linearity.
    output = run(runner, "conv", "-i", IMAGE, "-k", "vertical", "-k", "horizontal",
                 "--bias", "5", "--bias", "0", "--activation", "relu")
    assert "output: 4x4x2" in output
    first = only(output, "Output 4x4 (filter 1 of 2)")
    assert first == [[max(v + 5, 0) for v in row] for row in TABLE_4X4]


def test_ten_filters_of_3x3x3_have_280_parameters(runner):
    output = run(runner, "size", "39x39x3", "--kernel", "3", "--filters", "10")
    assert "(3*3*3 + 1) * 10 = 280" in output


# --------------------------------------------------------------------------- shapes

def test_the_39x39x3_network(runner):
    # the slide's three layers, each one line: 37x37x10, 17x17x20, 7x7x40
    assert size_of(runner, "39x39x3", "--kernel", "3", "-s", "1", "-p", "0", "--filters", "10") \
        == "37x37x10"
    assert size_of(runner, "37x37x10", "--kernel", "5", "-s", "2", "--filters", "20") == "17x17x20"
    assert size_of(runner, "17x17x20", "--kernel", "5", "-s", "2", "--filters", "40") == "7x7x40"
    # and the whole chain from standard input, no name needed: 7*7*40 = 1960
    spec = ("input: 39x39x3\nlayers:\n  - conv: [10, 3, 1, 0]\n  - conv: [20, 5, 2, 0]\n"
            "  - conv: [40, 5, 2, 0]\n  - flatten\n  - dense: {units: 1, activation: sigmoid}\n")
    rows = table_rows(run(runner, "show", "-", stdin=spec))
    assert [rows[n][0] for n in ("conv1", "conv2", "conv3", "flatten1")] == [
        "37x37x10", "17x17x20", "7x7x40", "(1960)"]


def test_the_formula_with_a_stride_and_padding(runner):
    output = run(runner, "size", "63x63x3", "--kernel", "5", "--stride", "2", "--padding", "1")
    assert "floor((63 + 2*1 - 5) / 2) + 1 = 31" in output
    with_filters = run(runner, "size", "63x63x3", "--kernel", "5", "-s", "2", "-p", "1",
                       "--filters", "8")
    assert "63x63x3 -> 31x31x8" in with_filters
    assert f"(5*5*3 + 1) * 8 = {(5 * 5 * 3 + 1) * 8:,}" in with_filters
    assert f"5*5*3 * 31*31*8 = {5 * 5 * 3 * 31 * 31 * 8:,}" in with_filters


@pytest.mark.parametrize(("side", "values"), [(64, "12,288"), (1000, "3,000,000")])
def test_larger_images_mean_many_inputs(runner, side, values):
    output = run(runner, "show", "-", stdin=f"input: {side}x{side}x3\nlayers: [flatten]\n")
    assert f"Input {side}x{side}x3 ({values} values)" in output


def test_a_first_layer_of_1000_units_on_1000x1000x3(runner):
    spec = "input: 1000x1000x3\nlayers: [flatten, {dense: {units: 1000, bias: false}}]\n"
    assert total_params(run(runner, "show", "-", stdin=spec)) == 3_000_000_000


# --------------------------------------------------------------------------- pooling

SIXTEEN = "1 3 2 1; 2 9 1 1; 1 3 2 3; 5 6 1 2"


def test_max_and_average_pooling_4x4_to_2x2(runner):
    output = run(runner, "pool", "-i", SIXTEEN, "--mode", "max", "--kernel", "2", "-s", "2")
    assert only(output, "Output 2x2") == [[9, 2], [6, 3]]
    assert "floor((4 + 2*0 - 2) / 2) + 1 = 2" in output
    average = run(runner, "pool", "-i", SIXTEEN, "--mode", "avg", "--kernel", "2")
    assert only(average, "Output 2x2") == [[15 / 4, 5 / 4], [15 / 4, 8 / 4]]


def test_pooling_takes_each_channel_on_its_own(runner):
    blocks = "7 7 0 0; 7 7 0 0; 0 0 7 7; 0 0 7 7"
    output = run(runner, "pool", "-i", f"{SIXTEEN} | {blocks}", "--kernel", "2")
    assert only(output, "Output 2x2, channel 1 of 2") == [[9, 2], [6, 3]]
    assert only(output, "Output 2x2, channel 2 of 2") == [[7, 0], [0, 7]]


@pytest.mark.parametrize(("n_in", "n_out"), [(6, 3), (7, 3), (13, 6), (8, 4)])
def test_adaptive_pooling_rule(runner, n_in, n_out):
    s = n_in // n_out                 # s = floor(n_in / n_out)
    f = n_in - (n_out - 1) * s        # f = n_in - (n_out - 1) s
    image = "; ".join(" ".join(str(n_in * i + j) for j in range(n_in)) for i in range(n_in))
    output = run(runner, "pool", "-i", image, "--mode", "max", "--adaptive", str(n_out))
    assert f"s = floor({n_in} / {n_out}) = {s}, f = {n_in} - ({n_out} - 1)*{s} = {f}" in output
    windows = ", ".join(f"[{i * s}, {i * s + f})" for i in range(n_out))
    assert f"windows {windows}" in output
    # the maximum of window (i, j) is its bottom-right cell
    expected = [[n_in * (i * s + f - 1) + (j * s + f - 1) for j in range(n_out)]
                for i in range(n_out)]
    assert only(output, f"Output {n_out}x{n_out}") == expected
    shape = run(runner, "size", f"{n_in}x{n_in}x4", "--adaptive", str(n_out))
    assert f"-> {n_out}x{n_out}x4" in shape and f"= {s}, f = " in shape


def test_adaptive_pooling_where_torch_windows_differ(runner):
    # 5 -> 3: the rule gives s = 1, f = 3 (windows [0, 3), [1, 4), [2, 5)); torch's
    # AdaptiveAvgPool2d uses [floor(5i/3), ceil(5(i+1)/3)): [0, 2), [1, 4), [3, 5).
    image = "; ".join(" ".join(str(5 * i + j) for j in range(5)) for i in range(5))
    output = run(runner, "pool", "-i", image, "--mode", "max", "--adaptive", "3")
    assert "windows [0, 3), [1, 4), [2, 5)" in output
    assert "[0, 2), [1, 4), [3, 5)" in output
    assert only(output, "Output 3x3") == [[5 * r + c for c in (1, 3, 4)] for r in (1, 3, 4)]
    assert only(output, "By the course's rule") == [[5 * r + c for c in (2, 3, 4)]
                                                     for r in (2, 3, 4)]


# --------------------------------------------------------------------------- networks

def test_lenet5_table(runner):
    rows = table_rows(run(runner, "show", "lenet5"))
    # (activation shape, activation size, # parameters) from the slide's table; its CONV1 size
    # 4707 is a typo for 28 * 28 * 6 = 4704
    assert rows["input"][1] == 3072
    expected = {"conv1": ("28x28x6", 4704, 456), "pool1": ("14x14x6", 1176, 0),
                "conv2": ("10x10x16", 1600, 2416), "pool2": ("5x5x16", 400, 0),
                "fc3": ("(120)", 120, 48120), "fc4": ("(84)", 84, 10164),
                "softmax": ("(10)", 10, 850)}
    for name, row in expected.items():
        assert rows[name] == row, name
    assert 28 * 28 * 6 != 4707


def test_lenet5_layer_by_layer_in_one_line_each(runner):
    # "6 Convolutions (f=5, s=1, tanh) : 28x28x6", "Avg. pooling (f=2, s=2) : 14x14x6", ...
    assert size_of(runner, "32x32x3", "--kernel", "5", "--filters", "6") == "28x28x6"
    assert size_of(runner, "28x28x6", "--pool", "avg", "--kernel", "2", "-s", "2") == "14x14x6"
    assert size_of(runner, "14x14x6", "--kernel", "5", "--filters", "16") == "10x10x16"
    assert size_of(runner, "10x10x16", "--pool", "avg", "--kernel", "2", "-s", "2") == "5x5x16"
    assert "(5*5*3 + 1) * 6 = 456" in run(runner, "size", "32x32x3", "--kernel", "5",
                                          "--filters", "6")
    assert "(5*5*6 + 1) * 16 = 2,416" in run(runner, "size", "14x14x6", "--kernel", "5",
                                             "--filters", "16")


def test_lenet5_about_60k_parameters(runner):
    params = total_params(run(runner, "show", "lenet5"))
    assert params == 456 + 2416 + 48120 + 10164 + 850  # the slide's column
    assert abs(params - 60_000) / 60_000 < 0.05


ALEXNET = [  # the slide's listing: input, options, output
    ("227x227x3", ["--kernel", "11", "-s", "4", "--filters", "96"], "55x55x96"),
    ("55x55x96", ["--pool", "max", "--kernel", "3", "-s", "2"], "27x27x96"),
    ("27x27x96", ["--kernel", "5", "-p", "2", "--filters", "256"], "27x27x256"),
    ("27x27x256", ["--pool", "max", "--kernel", "3", "-s", "2"], "13x13x256"),
    ("13x13x256", ["--kernel", "3", "-p", "1", "--filters", "384"], "13x13x384"),
    ("13x13x384", ["--kernel", "3", "-p", "1", "--filters", "384"], "13x13x384"),
    ("13x13x384", ["--kernel", "3", "-p", "1", "--filters", "256"], "13x13x256"),
    ("13x13x256", ["--pool", "max", "--kernel", "3", "-s", "2"], "6x6x256"),
]


@pytest.mark.parametrize(("given", "options", "expected"), ALEXNET)
def test_alexnet_listing_line_by_line(runner, given, options, expected):
    assert size_of(runner, given, *options) == expected


def test_alexnet_about_60_million_parameters(runner):
    rows = table_rows(run(runner, "show", "alexnet"))
    assert rows["flatten1"][0] == "(9216)"
    # The listing's layers without channel groups, by hand:
    plain = ((11 * 11 * 3 + 1) * 96 + (5 * 5 * 96 + 1) * 256 + (3 * 3 * 256 + 1) * 384
             + (3 * 3 * 384 + 1) * 384 + (3 * 3 * 384 + 1) * 256
             + (9216 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)
    assert total_params(run(runner, "show", "alexnet")) == plain
    # Krizhevsky et al. 2012: conv2, conv4 and conv5 see half their input channels (2 groups)
    grouped = ((11 * 11 * 3 + 1) * 96 + (5 * 5 * 48 + 1) * 256 + (3 * 3 * 256 + 1) * 384
               + (3 * 3 * 192 + 1) * 384 + (3 * 3 * 192 + 1) * 256
               + (9216 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)
    output = run(runner, "show", "alexnet-groups")
    assert total_params(output) == grouped
    assert round(grouped / 1e6) == 61 and abs(grouped - 60e6) < abs(plain - 60e6)
    assert "60 million" in output  # the note says where the slide's number comes from


def test_vgg16_listing(runner):
    output = run(runner, "show", "vgg16")
    shapes = {layer["path"]: layer["output_shape"] for layer in
              json.loads(run(runner, "show", "vgg16", "-f", "json"))["layers"]}
    # the rows carry torchvision's names: features.N, classifier.N
    expected = {"features.2": [224, 224, 64], "features.4": [112, 112, 64],
                "features.7": [112, 112, 128], "features.9": [56, 56, 128],
                "features.14": [56, 56, 256], "features.16": [28, 28, 256],
                # the slide prints 14x14x512 here; 3x3 'same' convolutions keep 28x28
                "features.21": [28, 28, 512], "features.23": [14, 14, 512],
                "features.28": [14, 14, 512], "features.30": [7, 7, 512],
                "classifier.0": [4096], "classifier.3": [4096], "classifier.6": [1000]}
    for path, shape in expected.items():
        assert shapes[path] == shape, path
    assert round(total_params(output) / 1e6) == 138  # "About 138 mio. parameters"
    assert "28x28x512" in output.split("Note:")[1]


def test_inception_5x5_same_on_28x28x192(runner):
    output = run(runner, "size", "28x28x192", "--kernel", "5", "--padding", "same",
                 "--filters", "32")
    assert "5*5*192 = 4,800 multiplications per output" in output
    assert "28*28*32 = 25,088 outputs" in output
    assert "= 120,422,400" in output and 4800 * 25088 == 120_422_400
    assert "28x28x192 -> 28x28x32" in output  # "same" with stride 1 keeps 28x28
    assert "p = (f - 1) / 2 = (5 - 1) / 2 = 2" in output


def test_inception_bottleneck(runner):
    first = run(runner, "size", "28x28x192", "--kernel", "1", "--filters", "16")
    second = run(runner, "size", "28x28x16", "--kernel", "5", "-p", "same", "--filters", "32")
    assert "1*1*192 * 28*28*16 = 2,408,448" in first
    assert "5*5*16 * 28*28*32 = 10,035,200" in second
    assert total_macs(run(runner, "show", "inception-bottleneck")) == 12_443_648


@pytest.mark.parametrize(("f", "n_c", "filters"), [(5, 192, 32), (3, 32, 64), (3, 512, 512)])
def test_separable_convolution_cost_ratio(runner, f, n_c, filters):
    output = run(runner, "size", f"28x28x{n_c}", "--kernel", str(f), "-p", "same",
                 "--filters", str(filters), "--separable")
    ratio = Fraction(1, filters) + Fraction(1, f * f)   # 1/n_c' + 1/f^2
    assert f"1/n_c' + 1/f^2 = 1/{filters} + 1/{f}^2 = {ratio}" in output
    full = f * f * n_c * 28 * 28 * filters
    assert f"= {full:,} MACs" in output


def test_efficientnet_b0_flops_are_multiply_adds(runner):
    output = run(runner, "show", "efficientnet_b0")
    # the slide's table: B0 5.3M params, 0.39B "FLOPs" (multiply-adds)
    assert round(total_params(output) / 1e6, 1) == 5.3
    assert round(total_macs(output) / 1e9, 2) == 0.39
    assert "multiply-adds" in output


# --------------------------------------------------------------------------- no silent no-ops

def test_freeze_until_that_changes_nothing_says_so(runner):
    # vgg16-transfer freezes up to classifier.3 (fc7); freezing up to features.0 on top
    # changes nothing
    result = runner.invoke(app, ["show", "vgg16-transfer", "--freeze-until", "features.0"])
    assert result.exit_code == 0
    assert "--freeze-until features.0 changes nothing" in result.stderr
    assert "freeze_until: classifier.3" in result.stderr and "earlier layer" in result.stderr
    quiet = runner.invoke(app, ["show", "vgg16", "--freeze-until", "features.0"])
    assert quiet.exit_code == 0 and "changes nothing" not in quiet.stderr


def test_the_course_page_lists_every_difference():
    text = (ROOT / "docs" / "course.md").read_text(encoding="utf-8")
    for mark in ("4707", "14x14x512", "s = 1", "60,965,224", "alexnet-groups",
                 "multiply-adds", "AdaptiveAvgPool2d", "LeCun et al. 1998",
                 "Krizhevsky et al. 2012", "Simonyan & Zisserman 2014", "Szegedy et al. 2015",
                 "Howard et al. 2017", "Tan & Le 2019"):
        assert mark in text, mark
