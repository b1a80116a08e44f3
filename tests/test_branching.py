"""Networks that branch: the lecture's Inception and depthwise-separable arithmetic, and every
error a residual, parallel or block construct can raise (message, file and line).

Expected numbers are the lecture's (seed/cnn-lecture.txt) or closed forms written here.
"""

from __future__ import annotations

import textwrap
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnnCalcError, Problem
from tests.conftest import analyze_text


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the first line containing `marker` (the truth for line checks)."""
    for number, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in the spec")


def problem_of(text: str) -> Problem:
    """The single problem that loading and analysing `text` raises."""
    text = textwrap.dedent(text)
    with pytest.raises(CnnCalcError) as info:
        cnncalc.analyze(cnncalc.load_text(text, "t.yaml"))
    assert len(info.value.problems) == 1, info.value.problems
    problem = info.value.problems[0]
    assert problem.file == "t.yaml"
    return problem


# --------------------------------------------------------------------------- Inception

def test_inception_5x5_versus_bottleneck() -> None:
    five = analyze_text("- conv: {filters: 32, kernel: 5, padding: same}", "28x28x192")
    neck = analyze_text("""
        - conv: {filters: 16, kernel: 1}
        - conv: {filters: 32, kernel: 5, padding: same}
    """, "28x28x192")
    # The lecture: 5*5*192 = 4800 per output, 28*28*32 = 25088 outputs.
    assert five.totals.macs == 4800 * 25088 == 120_422_400
    assert [n.macs for n in neck.leaves()] == [2_408_448, 10_035_200]
    assert neck.totals.macs == 12_443_648
    assert five.nodes[0].output_shape == neck.nodes[-1].output_shape == (28, 28, 32)
    assert round(120_422_400 / 12_443_648, 1) == 9.7


def test_inception_module_concatenates_channels() -> None:
    rep = analyze_text("""
        - parallel:
            branches:
              - [conv: {filters: 64, kernel: 1}]
              - [conv: {filters: 96, kernel: 1}, conv: {filters: 128, kernel: 3, padding: same}]
              - [conv: {filters: 16, kernel: 1}, conv: {filters: 32, kernel: 5, padding: same}]
              - [maxpool: {kernel: 3, stride: 1, padding: same}, conv: {filters: 32, kernel: 1}]
          name: module
    """, "28x28x192")
    module = rep.nodes[0]
    assert module.output_shape == (28, 28, 64 + 128 + 32 + 32)
    assert [c.path for c in module.children] == [
        "module.branch1", "module.branch2", "module.branch3", "module.branch4", "module.concat"]
    # The lecture's bottleneck branch is the third one, with the same cost as printed.
    assert module.children[2].macs == 12_443_648
    assert module.macs == 28 * 28 * (192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16
                                     + 25 * 16 * 32 + 192 * 32)


# --------------------------------------------------------------------------- depthwise separable

def separable_ratio(n: int, c: int, c_out: int, f: int, how: str) -> Fraction:
    """Engine MACs of a depthwise separable layer over those of a normal conv."""
    normal = analyze_text(f"- conv: {{filters: {c_out}, kernel: {f}, padding: same}}",
                          f"{n}x{n}x{c}")
    if how == "separable":
        layers = f"- separable: {{filters: {c_out}, kernel: {f}, padding: same}}"
    else:
        layers = (f"- depthwise: {{kernel: {f}, padding: same}}\n"
                  f"- conv: {{filters: {c_out}, kernel: 1}}")
    cheap = analyze_text(layers, f"{n}x{n}x{c}")
    assert cheap.totals.macs < normal.totals.macs or (c_out == 1 or f == 1)
    return Fraction(cheap.totals.macs, normal.totals.macs)


@pytest.mark.parametrize("how", ["separable", "depthwise+1x1"])
@pytest.mark.parametrize(("n", "c", "c_out", "f"), [
    (28, 192, 32, 5), (112, 32, 64, 3), (14, 512, 512, 3), (7, 1024, 1024, 3), (10, 3, 8, 7),
])
def test_depthwise_separable_cost_ratio(n: int, c: int, c_out: int, f: int, how: str) -> None:
    # The lecture: cost reduced by the factor 1/n_c' + 1/f^2.
    assert separable_ratio(n, c, c_out, f, how) == Fraction(1, c_out) + Fraction(1, f * f)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 20), c=st.integers(1, 16), c_out=st.integers(1, 16),
       f=st.sampled_from([1, 3, 5, 7]))
def test_depthwise_separable_ratio_property(n: int, c: int, c_out: int, f: int) -> None:
    assert separable_ratio(n, c, c_out, f, "separable") == \
        Fraction(1, c_out) + Fraction(1, f * f)


# --------------------------------------------------------------------------- residual add

def test_residual_add_expression_decides_the_skip() -> None:
    rep = analyze_text("""
        - residual:
            add: $(in_channels == 8)
            body: [conv: {filters: 8, kernel: 3, padding: 1}]
          repeat: 2
          name: res
    """, "8x8x4")
    paths = [n.path for n in rep.walk()]
    # 4 -> 8 channels: no add in the first block; 8 -> 8: an add in the second.
    assert "res.0.add" not in paths and "res.1.add" in paths
    assert rep.totals.macs == 9 * 4 * 64 * 8 + 9 * 8 * 64 * 8


# --------------------------------------------------------------------------- errors

def test_residual_shape_mismatch_names_both_branches_and_line() -> None:
    text = """\
        name: t
        input: 8x8x4
        layers:
          - residual:
              body:
                - conv: {filters: 8, kernel: 3, padding: 1}
            name: res
    """
    problem = problem_of(text)
    assert problem.line == line_of(textwrap.dedent(text), "- residual:")
    assert "residual block 'res'" in problem.message
    assert "the body gives 8x8x8" in problem.message
    assert "the identity shortcut gives 8x8x4" in problem.message
    assert "a[l] and a[l+2] must match" in problem.message  # the lecture's rule


def test_residual_projection_mismatch() -> None:
    problem = problem_of("""\
        name: t
        input: 8x8x4
        layers:
          - residual:
              body: [conv: {filters: 8, kernel: 3, padding: 1}]
              shortcut: [conv: {filters: 8, kernel: 1, stride: 2}]
    """)
    assert problem.line == 4
    assert "the body gives 8x8x8, the shortcut gives 4x4x8" in problem.message


def test_residual_mismatch_inside_a_block_names_path_use_and_definition() -> None:
    text = textwrap.dedent("""\
        name: t
        input: 8x8x8
        blocks:
          basic:
            args: {filters: channels, stride: 1}
            residual:
              body:
                - conv: {filters: $filters, kernel: 3, stride: $stride, padding: 1}
        layers:
          - basic: {filters: 8}
            repeat: 2
            name: layer1
          - basic: {filters: 16, stride: 2}
            name: layer2
    """)
    problem = problem_of(text)
    # layer1 adds fine (8x8x8 both ways); layer2 forgot its projection.
    assert problem.line == line_of(text, "- basic: {filters: 16")
    assert "'layer2'" in problem.layer
    assert (f"residual block 'layer2' (defined in block 'basic' at line "
            f"{line_of(text, 'residual:')})") in problem.message
    assert "the body gives 4x4x16, the identity shortcut gives 8x8x8" in problem.message


def test_concat_spatial_mismatch() -> None:
    text = textwrap.dedent("""\
        name: t
        input: 8x8x4
        layers:
          - conv: {filters: 4, kernel: 1}
          - parallel:
              branches:
                - [conv: {filters: 8, kernel: 3}]
                - [conv: {filters: 8, kernel: 1}]
            name: mix
    """)
    problem = problem_of(text)
    assert problem.line == line_of(text, "- parallel:")
    assert "parallel block 'mix'" in problem.message
    assert "cannot concatenate along channels, spatial sizes differ" in problem.message
    assert "branch1 gives 6x6x8, branch2 gives 8x8x8" in problem.message


def test_add_mismatch_in_parallel() -> None:
    text = textwrap.dedent("""\
        name: t
        input: 8x8x4
        layers:
          - parallel:
              merge: add
              branches:
                - [conv: {filters: 8, kernel: 3, padding: 1}]
                - [conv: {filters: 6, kernel: 1}]
            name: mix
    """)
    problem = problem_of(text)
    assert problem.line == line_of(text, "- parallel:")
    assert "parallel block 'mix': cannot add branches of different shapes" in problem.message
    assert "branch1 gives 8x8x8, branch2 gives 8x8x6" in problem.message
    assert "a[l+2]" not in problem.message  # that rule is about skip connections


def test_undefined_block() -> None:
    text = textwrap.dedent("""\
        name: t
        input: 8x8x4
        blocks:
          bottleneck:
            args: {filters: channels}
            layers: [conv: {filters: $filters, kernel: 1}]
        layers:
          - conv: {filters: 4, kernel: 1}
          - bottlenek: {filters: 8}
    """)
    problem = problem_of(text)
    assert problem.line == line_of(text, "- bottlenek")
    assert "unknown kind 'bottlenek' (did you mean 'bottleneck'?)" in problem.message


def test_recursive_blocks() -> None:
    text = textwrap.dedent("""\
        name: t
        input: 8x8x4
        blocks:
          a:
            layers:
              - conv: {filters: 4, kernel: 1}
              - b
          b:
            layers:
              - conv: {filters: 4, kernel: 1}
              - a
        layers:
          - a
    """)
    problem = problem_of(text)
    # Reported where the cycle closes: the use of 'a' inside 'b'.
    assert problem.line == line_of(text, "- a") and problem.line == 11
    assert "block 'a' uses itself (a -> b -> a)" in problem.message
    assert problem.layer == "layer 2 'a1.b1.a1' (a)"  # the path through the uses


def test_block_that_uses_itself_directly() -> None:
    text = textwrap.dedent("""\
        name: t
        input: 8x8x4
        blocks:
          loop:
            layers: [conv: {filters: 4, kernel: 1}, loop]
        layers:
          - loop
    """)
    problem = problem_of(text)
    assert problem.line == 5
    assert "block 'loop' uses itself (loop -> loop)" in problem.message


BLOCK = """\
    name: t
    input: 8x8x4
    blocks:
      down:
        args: {filters: channels, stride: 1}
        layers: [conv: {filters: $filters, kernel: 3, stride: $stride, padding: 1}]
    layers:
      - conv: {filters: 4, kernel: 1}
      - down: {USE}
        name: stage
"""


def test_block_with_unknown_argument() -> None:
    text = textwrap.dedent(BLOCK).replace("USE", "filters: 8, strides: 2")
    problem = problem_of(text)
    assert problem.line == line_of(text, "- down:")
    assert "'stage'" in problem.layer
    assert "block 'down' has no argument 'strides' (did you mean 'stride'?)" in problem.message
    assert "(it takes: filters, stride)" in problem.message


def test_block_with_missing_required_argument() -> None:
    text = textwrap.dedent(BLOCK).replace("USE", "stride: 2")
    problem = problem_of(text)
    assert problem.line == line_of(text, "- down:")
    assert "block 'down' needs the argument 'filters'" in problem.message


def test_block_arguments_evaluate_in_the_caller() -> None:
    text = textwrap.dedent(BLOCK).replace("USE", "filters: $(in_channels * 2), stride: 2")
    rep = cnncalc.analyze(cnncalc.load_text(text, "t.yaml"))
    assert rep.nodes[-1].output_shape == ((8 + 2 - 3) // 2 + 1,) * 2 + (8,)


def test_cli_reports_branching_error_with_exit_2(runner, tmp_path) -> None:
    from cnncalc.commands import app

    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(BLOCK).replace("USE", "stride: 2"), encoding="utf-8")
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 2
    assert f"{path}:9:" in result.output
    assert "needs the argument 'filters'" in result.output
    assert "Traceback" not in result.output
