"""`cnncalc conv` reproduces every numeric example of the lecture's convolution slides."""

from __future__ import annotations

import pytest

from cnncalc.analyses.convolve import FILTERS, convolve, pad
from cnncalc.commands import app

LECTURE = "3 0 1 2 7 4; 1 5 8 9 3 1; 2 7 2 5 1 3; 0 1 3 1 7 8; 4 2 1 6 2 8; 2 4 5 2 3 9"
STEP = "; ".join(["10 10 10 0 0 0"] * 6)
FLIPPED = "; ".join(["0 0 0 10 10 10"] * 6)
HORIZONTAL = "; ".join(["10 10 10 0 0 0"] * 3 + ["0 0 0 10 10 10"] * 3)


def tables(output: str) -> dict[str, list[list[int]]]:
    """Each printed matrix by the first word of its title (Filter, Output, Padded)."""
    out: dict[str, list[list[int]]] = {}
    title = None
    for line in output.splitlines():
        if "│" in line and title:
            out[title].append([int(v) for v in line.strip().strip("│").split("│")])
        elif line and line[0].isalpha():
            title = line.split()[0]
            out[title] = []
    return out


def run_conv(runner, *args: str) -> dict[str, list[list[int]]]:
    result = runner.invoke(app, ["conv", *args])
    assert result.exit_code == 0, result.output
    return tables(result.output)


def test_lecture_6x6_times_3x3_gives_the_4x4_table(runner):
    got = run_conv(runner, "--input", LECTURE, "--filter", "vertical")
    assert got["Output"] == [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7],
                             [-3, -2, -3, -16]]
    assert got["Filter"] == [[1, 0, -1]] * 3


def test_lecture_zero_padded_6x6(runner):
    got = run_conv(runner, "--input", LECTURE, "--padding", "1", "--show-padded")
    assert got["Output"] == [
        [-5, -5, -6, -1, 6, 10], [-12, -5, -4, 0, 8, 11], [-13, -10, -2, 2, 3, 11],
        [-10, 0, -2, -4, -7, 10], [-7, -3, -2, -3, -16, 12], [-6, 0, -2, 1, -9, 5]]
    padded = got["Padded"]
    assert padded[0] == [0] * 8 and padded[-1] == [0] * 8
    assert padded[1] == [0, 3, 0, 1, 2, 7, 4, 0]


def test_same_padding_is_p_1_for_a_3x3_filter(runner):
    assert run_conv(runner, "-i", LECTURE, "-p", "same")["Output"] == \
        run_conv(runner, "-i", LECTURE, "-p", "1")["Output"]


def test_vertical_edge_gives_columns_of_30(runner):
    assert run_conv(runner, "-i", STEP)["Output"] == [[0, 30, 30, 0]] * 4


def test_flipped_image_gives_minus_30(runner):
    assert run_conv(runner, "-i", FLIPPED)["Output"] == [[0, -30, -30, 0]] * 4


def test_horizontal_edge_gives_30_10_minus_10_minus_30(runner):
    got = run_conv(runner, "-i", HORIZONTAL, "-k", "horizontal")["Output"]
    assert got == [[0, 0, 0, 0], [30, 10, -10, -30], [30, 10, -10, -30], [0, 0, 0, 0]]


def test_replication_padding_as_the_lecture_draws_it(runner):
    got = run_conv(runner, "-i", LECTURE, "-p", "1", "--pad-mode", "replicate", "--show-padded")
    assert got["Padded"] == [
        [3, 3, 0, 1, 2, 7, 4, 4], [3, 3, 0, 1, 2, 7, 4, 4], [1, 1, 5, 8, 9, 3, 1, 1],
        [2, 2, 7, 2, 5, 1, 3, 3], [0, 0, 1, 3, 1, 7, 8, 8], [4, 4, 2, 1, 6, 2, 8, 8],
        [2, 2, 4, 5, 2, 3, 9, 9], [2, 2, 4, 5, 2, 3, 9, 9]]
    # top-left output by hand: rows (3 3 0), (3 3 0), (1 1 5) * vertical = 3+3+1 - (0+0+5) = 2
    assert got["Output"][0][0] == 2


def test_stride_2_on_a_7x7_gives_3x3(runner):
    # The lecture's strided example: 7x7 * 3x3, s = 2 -> floor((7 - 3) / 2) + 1 = 3.
    ones = "; ".join(["1 1 1 1 1 1 1"] * 7)
    got = run_conv(runner, "-i", ones, "-k", "1 1 1; 1 1 1; 1 1 1", "-s", "2")["Output"]
    assert got == [[9, 9, 9]] * 3


def test_sobel_and_scharr_on_the_step_image():
    x = [[10, 10, 10, 0, 0, 0]] * 6
    # a column of (10, 10, 10) left of (0, 0, 0): Sobel (1+2+1)*10 = 40, Scharr (3+10+3)*10 = 160
    assert convolve(x, FILTERS["sobel-vertical"])[0] == [0, 40, 40, 0]
    assert convolve(x, FILTERS["scharr-vertical"])[0] == [0, 160, 160, 0]
    assert convolve(x, FILTERS["sobel-horizontal"]) == [[0] * 4] * 4
    assert convolve(x, FILTERS["scharr-horizontal"]) == [[0] * 4] * 4


def test_no_kernel_flip():
    # Cross-correlation: a filter with a single 1 in its top-left picks X[i][j], unflipped.
    x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert convolve(x, [[1, 0], [0, 0]]) == [[1, 2], [4, 5]]


def test_pad_replicate_corners():
    assert pad([[1, 2], [3, 4]], (1, 1, 1, 1), "replicate")[0] == [1, 1, 2, 2]


def test_csv_and_yaml_files(runner, tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("10,10,10,0,0,0\n" * 6)
    yml = tmp_path / "f.yaml"
    yml.write_text("- [1, 0, -1]\n- [1, 0, -1]\n- [1, 0, -1]\n")
    assert run_conv(runner, "-i", str(csv), "-k", str(yml))["Output"] == [[0, 30, 30, 0]] * 4


@pytest.mark.parametrize("args, message", [
    (["-i", "1 2; 3"], "row 2 has 1 values"),
    (["-i", "1 x"], "'x' is not a number"),
    (["-i", "1 2; 3 4", "-k", "sobel"], "unknown filter"),
    (["-i", "1 2; 3 4"], "does not fit"),
    (["-i", "1 2; 3 4", "-p", "wide"], "--padding"),
])
def test_bad_input_exits_2_without_traceback(runner, args, message):
    result = runner.invoke(app, ["conv", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
