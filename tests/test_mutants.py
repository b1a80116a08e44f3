"""Rules pinned because a mutant of the rule's code survived every other test.

`python tools/mutation.py` (docs/testing.md) changes the core code one small step at a time
(`<` for `<=`, a dropped argument, a constant off by one) and runs the tests: a change that no
test notices is a rule nobody checks. Each test here is named after the rule it pins; the
expected numbers come from the rule worked by hand (CONVENTIONS.md, the module docstrings,
Araujo et al. for receptive fields, torchvision for channel rounding), never from the engine.
"""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from cnncalc.analyses.memory import alive_per_step, peak_inference, training
from cnncalc.analyses.receptive import receptive_fields
from cnncalc.analyses.scale import Scaling, compound, input_size, multiplier, pixels, scale_raw
from cnncalc.core.engine import analyze
from cnncalc.core.expr import evaluate
from cnncalc.core.layers import Dense, Flatten, fmt_shape
from cnncalc.core.loader import load_yaml
from cnncalc.core.source import load_text
from cnncalc.core.units import parse_bytes, parse_count
from cnncalc.errors import CnnCalcError
from tests.conftest import analyze_text


def field(report, path):
    """(size, stride, padding) along height, and along width (Araujo et al.'s r, j, p)."""
    f = receptive_fields(report)[path]
    return (f.h.size, f.h.stride, f.h.padding), (f.w.size, f.w.stride, f.w.padding)


# --------------------------------------------------------------------------- shapes, notation

def test_rule_a_vector_is_written_in_parentheses_and_a_map_as_hxwxc():
    # CONVENTIONS.md: `37x37x10` for feature maps, `(1960)` for vectors.
    assert fmt_shape((1960,)) == "(1960)"
    assert fmt_shape((37, 37, 10)) == "37x37x10"
    assert fmt_shape((7, 5)) == "7x5"


def test_rule_kinds_without_padding_pad_nothing():
    assert Dense(units=3).padding_of((5,)) == (0, 0, 0, 0)
    assert Flatten().padding_of((4, 4, 2)) == (0, 0, 0, 0)


# --------------------------------------------------------------------------- receptive fields

def test_rule_receptive_field_width_axis_uses_the_width_kernel_stride_and_padding():
    # r' = r + (f_eff - 1) j, j' = j s, p' = p + p_l j, per axis (Araujo et al. 2019).
    report = analyze_text("""
        - conv: {filters: 2, kernel: [3, 5], stride: [1, 2], padding: [1, 2], dilation: [1, 2]}
          name: c
    """, input="16x16x1")
    # height: f 3, s 1, p 1, d 1 -> r 3, j 1, p 1; width: f_eff = 2*(5-1)+1 = 9, s 2, p 2
    assert field(report, "c") == ((3, 1, 1), (9, 2, 2))


def test_rule_a_crop_shifts_the_receptive_field_by_what_it_removes_from_top_and_left():
    # A crop is a 1x1 window of stride 1 whose padding is minus the rows (columns) it removes
    # at the top (left): the crop's row 0 is the input's row `top`. A 3x3 conv with padding 1
    # after it: p' = -top + 1 along the height, -left + 1 along the width; the bottom and
    # right amounts move nothing.
    report = analyze_text("""
        - crop: {amount: [1, 3, 2, 4]}
          name: k
        - conv: {filters: 2, kernel: 3, padding: 1}
          name: c
    """, input="16x16x1")
    assert field(report, "k") == ((1, 1, -1), (1, 1, -2))
    assert field(report, "c") == ((3, 1, 0), (3, 1, -1))


def test_rule_same_padding_enters_the_receptive_field_per_axis():
    # "same" on 9x8, f 3, s 2: height total (5-1)*2 + 3 - 9 = 2 -> top 1; width
    # (4-1)*2 + 3 - 8 = 1 -> left 0 (the extra column goes right).
    report = analyze_text("""
        - conv: {filters: 2, kernel: 3, stride: 2, padding: same}
          name: c
        - maxpool: {kernel: 3, stride: 2, padding: same}
          name: p
    """, input="9x8x1")
    assert field(report, "c") == ((3, 2, 1), (3, 2, 0))
    # the pool sees 5x4: height (3-1)*2 + 3 - 5 = 2 -> top 1; width (2-1)*2 + 3 - 4 = 1 -> 0
    # r = 3 + (3-1)*2 = 7, j = 4, p = 1 + 1*2 = 3 (height) and 0 + 0*2 = 0 (width)
    assert field(report, "p") == ((7, 4, 3), (7, 4, 0))


def test_rule_pool_padding_enters_the_width_axis():
    report = analyze_text("""
        - maxpool: {kernel: [2, 3], stride: [2, 3], padding: [1, 1]}
          name: p
    """, input="8x9x1")
    assert field(report, "p") == ((2, 2, 1), (3, 3, 1))


def test_rule_pad_layer_grows_only_the_padding_of_each_axis():
    report = analyze_text("""
        - pad: {padding: [1, 2]}
          name: p
    """, input="4x4x1")
    # f = 1, s = 1: r and j stay 1, p grows by the padding before each axis
    assert field(report, "p") == ((1, 1, 1), (1, 1, 2))


def test_rule_adaptive_pool_window_is_the_lectures_per_axis():
    # s = floor(n_in / n_out), f = n_in - (n_out - 1) s: height 10 -> 3: s 3, f 4;
    # width 9 -> 2: s 4, f 5.
    report = analyze_text("""
        - adaptive_pool: {size: [3, 2]}
          name: a
    """, input="10x9x1")
    assert field(report, "a") == ((4, 3, 0), (5, 4, 0))


@pytest.mark.parametrize("factor, size, stride, padding", [
    # b = 2: back 3/4, r = 3/4 + 2, j = 1/2, p = 3/4 - (1/2 - 1)/2 = 1
    (2, Fraction(11, 4), Fraction(1, 2), 1),
    # b = 3: back 5/6, r = 5/6 + 2, j = 1/3, p = 5/6 - (1/3 - 1)/2 = 7/6
    (3, Fraction(17, 6), Fraction(1, 3), Fraction(7, 6)),
])
def test_rule_a_bilinear_upsample_sees_the_two_pixels_around_torchs_source_point(
        factor, size, stride, padding):
    # torch (align_corners=False) reads output k from x = (k + 1/2) q - 1/2 with q = 1/factor
    # (area_pixel_compute_source_index): pixels floor(x) and floor(x) + 1. x has denominator
    # 2b (q = a/b), so floor(x) >= x - (2b - 1)/(2b) = x - back: the window runs from
    # x - back to x + 1, a size of back + 2 pixels, starting at k q - p.
    report = analyze_text(f"""
        - upsample: {{factor: {factor}, mode: bilinear}}
          name: u
    """, input="6x6x1")
    assert field(report, "u") == ((size, stride, padding),) * 2


# --------------------------------------------------------------------------- memory

PROJECTION = """
    - residual:
        body:
          - conv: {filters: 2, kernel: 3, padding: 1}
        shortcut:
          - conv: {filters: 2, kernel: 1}
      name: r
"""


def test_rule_a_projection_shortcut_reads_the_block_input_and_the_add_reads_its_output():
    # Steps: input (8*8*4 = 256), body conv (128), shortcut conv (128), add (128).
    # input: alive throughout (the caller holds it); body out: 1..3; shortcut out: 2..3 (the
    # add's operands until it returns); add out: 3. Alive, in elements of 4 bytes: 256,
    # 256+128, 256+128+128, 256+128*3.
    report = analyze_text(PROJECTION, input="8x8x4")
    assert [alive for _, alive in alive_per_step(report)] == [4 * n for n in (256, 384, 512,
                                                                                640)]
    assert peak_inference(report) == 640 * 4


def test_rule_the_largest_batch_is_the_tightest_line_and_a_flat_line_only_has_to_fit():
    # b = floor((limit - static - fixed) / per_example) for each line that grows with the
    # batch, the smallest of them; a line that does not grow (per_example 0) fits or not at
    # any batch; nothing fits below 0; no growing line at all: MAX_BATCH.
    from cnncalc.analyses.memory import MAX_BATCH, Size, _largest

    assert _largest(10, [Size(3, 5)], 10 + 5 + 3 * 7) == 7
    assert _largest(10, [Size(3, 5)], 10 + 5 + 3 * 7 - 1) == 6
    assert _largest(10, [Size(3, 5)], 10 + 5 - 1) == 0  # not even the fixed part
    assert _largest(10, [Size(1, 0)], 10 + 9) == 9  # one byte per example: the room itself
    assert _largest(10, [Size(0, 5)], 15) == MAX_BATCH  # exactly at the limit: fits
    assert _largest(10, [Size(0, 5)], 14) == 0  # one byte over: nothing fits
    # a flat line before a growing one does not end the search
    assert _largest(0, [Size(0, 5), Size(2, 0), Size(4, 1)], 21) == 5
    assert _largest(0, [Size(2, 0), Size(0, 22)], 21) == 0


def test_rule_largest_batch_says_its_limit_and_trains_with_plain_sgd_by_default():
    from cnncalc.analyses.memory import largest_batch

    report = analyze_text("- conv: {filters: 2, kernel: 1}", input="2x2x1")
    fit = largest_batch(report, 1000)
    assert (fit.limit, fit.optimizer) == (1000, "sgd")
    # sgd keeps no state: weights (4 params, 16 bytes) and their gradients (16 bytes)
    assert fit == largest_batch(report, 1000, "sgd") != largest_batch(report, 1000, "adam")


def test_rule_the_first_layer_with_one_trainable_param_keeps_its_input():
    # conv 1x1, 1 -> 1 channel, no bias: exactly 1 parameter, so it trains: its input (2x2x1)
    # is kept for the backward pass (its output is kept by nothing), 4 elements at 4 bytes.
    report = analyze_text("""
        - conv: {filters: 1, kernel: 1, bias: false}
    """, input="2x2x1")
    assert report.totals.trainable_params == 1
    assert training(report).activations == 4 * 4
    frozen = analyze_text("""
        - conv: {filters: 1, kernel: 1, bias: false}
          trainable: false
    """, input="2x2x1")
    assert training(frozen).activations == 0


def test_rule_the_default_optimizer_is_sgd_without_state():
    report = analyze_text("- dense: 3", input="4")
    assert training(report).optimizer == 0
    assert training(report).gradients == (4 * 3 + 3) * 4


# --------------------------------------------------------------------------- units

def test_rule_a_limit_of_zero_is_allowed():
    # "a limit must be 0 or more"
    assert parse_count(0) == 0
    assert parse_bytes(0) == 0
    assert parse_count("0") == 0


# --------------------------------------------------------------------------- expressions

def test_rule_round_accepts_ndigits_up_to_400():
    assert evaluate("$(round(1.5, 400))", {}) == 1.5
    assert evaluate("$(round(1234, -400))", {}) == 0
    with pytest.raises(CnnCalcError):
        evaluate("$(round(1.5, 401))", {})


def test_rule_only_a_bracket_that_wraps_the_whole_text_is_removed():
    # `$a * (b + 1)` ends with a bracket that does not open the text: nothing is unwrapped.
    assert evaluate("$a * (b + 1)", {"a": 2, "b": 3}) == 8
    assert evaluate("$(a + 1) * (b + 1)", {"a": 2, "b": 3}) == 12


def test_rule_comments_inside_the_wrapper_are_skipped():
    # `${...}`: the braces are the wrapper, whatever comment or line break sits inside.
    assert evaluate("${a  # the width\n}", {"a": 3}) == 3


# --------------------------------------------------------------------------- scaling

def scaled(text: str, scaling: Scaling):
    return scale_raw(load_yaml(text, "t.yaml"), scaling, "t.yaml")


def test_rule_width_scales_the_body_and_the_shortcut_of_a_residual():
    out = scaled("""
        name: t
        input: 8x8x3
        layers:
          - residual:
              body:
                - conv: {filters: 16, kernel: 3, padding: 1}
              shortcut:
                - conv: {filters: 16, kernel: 1}
    """, Scaling(width=2))
    block = out["layers"][0]["residual"]
    assert block["body"][0]["conv"]["filters"] == 32
    assert block["shortcut"][0]["conv"]["filters"] == 32


def test_rule_width_scales_every_branch_of_a_parallel_block():
    out = scaled("""
        name: t
        input: 8x8x3
        layers:
          - parallel:
              branches:
                - - conv: {filters: 8, kernel: 1}
                - - conv: {filters: 24, kernel: 3, padding: 1}
    """, Scaling(width=2))
    branches = out["layers"][0]["parallel"]["branches"]
    assert [b[0]["conv"]["filters"] for b in branches] == [16, 48]


def test_rule_width_scales_inside_residual_and_parallel_block_definitions():
    out = scaled("""
        name: t
        input: 8x8x3
        blocks:
          res:
            residual:
              body:
                - conv: {filters: 16, kernel: 3, padding: 1}
          par:
            parallel:
              branches:
                - - conv: {filters: 8, kernel: 1}
        layers:
          - res
    """, Scaling(width=2))
    assert out["blocks"]["res"]["residual"]["body"][0]["conv"]["filters"] == 32
    assert out["blocks"]["par"]["parallel"]["branches"][0][0]["conv"]["filters"] == 16


def test_rule_width_scales_the_bare_value_form():
    # `- conv: 64` fills `filters`, the first positional field.
    out = scaled("name: t\ninput: 8x8x3\nlayers:\n  - conv: 64\n  - separable: 40\n",
                 Scaling(width=2))
    assert out["layers"][0]["conv"] == 128
    assert out["layers"][1]["separable"] == 80


def test_rule_a_list_too_short_to_hold_filters_is_left_for_the_parser():
    out = scaled("name: t\ninput: 8x8x3\nlayers:\n  - conv: []\n", Scaling(width=2))
    assert out["layers"][0]["conv"] == []


def test_rule_width_rounds_to_the_given_divisor():
    # make_divisible(20 * 2, 16) = int(40 + 8) // 16 * 16 = 48 (not below 90% of 40)
    out = scaled("name: t\ninput: 8x8x3\nlayers:\n  - conv: {filters: 20, kernel: 1}\n",
                 Scaling(width=2, divisor=16))
    assert out["layers"][0]["conv"]["filters"] == 48


def test_rule_multipliers_are_written_without_trailing_zeros():
    assert multiplier(2.0) == "2"
    assert multiplier(1.1) == "1.1"
    assert multiplier(1.331) == "1.331"
    assert multiplier(0.5) == "0.5"
    assert multiplier(10.0) == "10"


def test_rule_a_scaled_side_is_at_least_one_pixel():
    assert pixels(1, 1.0) == 1
    assert pixels(3, 0.1) == 1  # floor(0.3 + 0.5) = 0 -> 1
    assert pixels(3, 0.5) == 2  # floor(1.5 + 0.5) = 2 (halves up)


def test_rule_compound_phi_is_bounded_by_20_and_keeps_the_divisor():
    # issue 13: phi 50 made depth 1.2^50 = 9,100: the bound is now 20 (README, bad input)
    assert compound(20, (1, 1)).phi == 20
    assert compound(-20, (1, 1)).phi == -20
    for phi in (20.5, -21, float("nan"), float("inf")):
        with pytest.raises(CnnCalcError):
            compound(phi, (224, 224))
    assert compound(1, (224, 224)).divisor == 8
    assert compound(1, (224, 224), divisor=4).divisor == 4


def test_rule_input_size_errors_name_the_file_and_line():
    raw = load_yaml("name: t\ninput: 784\nlayers:\n  - dense: 10\n", "v.yaml")
    with pytest.raises(CnnCalcError) as info:
        input_size(raw, "v.yaml")
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == ("v.yaml", 2)
    with pytest.raises(CnnCalcError) as info:
        scale_raw(raw, Scaling(resolution=(8, 8)))
    assert info.value.problems[0].file == "<spec>"
    with pytest.raises(CnnCalcError):
        input_size({}, "v.yaml")  # no input at all: an error, not a KeyError


def test_rule_scaling_something_that_is_not_a_mapping_copies_it():
    assert scale_raw([1, 2], Scaling(width=2)) == [1, 2]


def test_rule_a_malformed_parallel_is_left_for_the_parser():
    out = scaled("name: t\ninput: 8x8x3\nlayers:\n  - parallel: []\n  - residual: []\n",
                 Scaling(width=2))
    assert out["layers"][0]["parallel"] == []
    assert out["layers"][1]["residual"] == []


def test_rule_errors_of_a_scaled_spec_name_its_file():
    from cnncalc.analyses.scale import scaled_spec

    raw = load_yaml("name: t\ninput: 784\nlayers:\n  - dense: 10\n", "v.yaml")
    with pytest.raises(CnnCalcError) as info:
        scaled_spec(raw, Scaling(resolution=(8, 8)), "v.yaml")
    assert info.value.problems[0].file == "v.yaml"


def test_rule_a_resolution_is_read_with_spaces_and_may_be_one_pixel():
    from cnncalc.analyses.scale import parse_resolution

    assert parse_resolution("240 x 320") == (240, 320)
    assert parse_resolution("1") == (1, 1)
    with pytest.raises(CnnCalcError):
        parse_resolution("0")


def test_rule_divisor_1_and_a_one_pixel_resolution_are_allowed():
    out = scaled("name: t\ninput: 8x8x3\nlayers:\n  - conv: {filters: 5, kernel: 1}\n",
                 Scaling(width=3, divisor=1, resolution=(1, 1)))
    assert out["layers"][0]["conv"]["filters"] == 15  # make_divisible(15, 1) = 15
    assert out["input"] == "1x1x3"


def test_rule_malformed_blocks_do_not_stop_the_scaling_of_the_others():
    out = scaled("""
        name: t
        input: 8x8x3
        blocks:
          bad: []
          good:
            layers:
              - conv: {filters: 16, kernel: 1}
        layers:
          - good
    """, Scaling(width=2))
    assert out["blocks"]["bad"] == []
    assert out["blocks"]["good"]["layers"][0]["conv"]["filters"] == 32


def test_rule_a_scaled_spec_says_its_multipliers_after_its_description():
    # (a repeat, for depth to reach: a multiplier that changes nothing is refused, issue 13)
    text = ("name: t\n{}input: 8x8x3\nlayers:\n  - conv: {{filters: 16, kernel: 1}}\n"
            "    repeat: 1\n")
    out = scaled(text.format("description: toy\n"), Scaling(width=2))
    assert out["description"] == "toy; scaled: width 2, depth 1, input as written"
    out = scaled(text.format(""), Scaling(depth=2))
    assert out["description"] == "scaled: width 1, depth 2, input as written"


def test_rule_expressions_inside_lists_are_evaluated():
    from cnncalc.core.expr import resolve

    assert resolve(["$a", 2, "$(a + 1)"], {"a": 1}) == [1, 2, 2]
    assert resolve({"k": ["$a"]}, {"a": 5}) == {"k": [5]}


def test_rule_make_divisible_rounds_up_only_when_more_than_10_percent_down():
    from cnncalc.core.expr import make_divisible

    # torchvision: `if new_v < 0.9 * v: new_v += divisor`. 80 to a multiple of 24: 72 is
    # exactly 90% of 80, so it is kept; 70 to a multiple of 48: 48 is below 63, so 96.
    assert make_divisible(80, 24) == 72
    assert make_divisible(70, 48) == 96


BLOCK_SPEC = """\
name: t
input: 8x8x3
blocks:
  unit:
    args: {filters: required}
    layers:
      - conv: {filters: $filters, kernel: 1}
layers:
  - conv: {filters: 4, kernel: 1}
  - unit: {filters: 6}
    name: u
"""


def test_rule_a_block_use_is_a_node_of_the_blocks_name_at_the_line_of_the_use():
    from cnncalc import analyze
    from cnncalc.core.source import load_text

    report = analyze(load_text(BLOCK_SPEC, "t.yaml"))
    node = report.nodes[1]
    assert (node.path, node.kind, node.line) == ("u", "unit", 10)
    assert node.output_shape == (8, 8, 6)


def test_rule_a_required_block_argument_must_be_given():
    from cnncalc import analyze
    from cnncalc.core.source import load_text

    with pytest.raises(CnnCalcError, match="needs the argument 'filters'"):
        analyze(load_text(BLOCK_SPEC.replace("{filters: 6}", "{}"), "t.yaml"))


def test_rule_reflect_padding_must_be_smaller_than_the_input():
    # torch's reflection needs padding < the input size along that axis
    report = analyze_text("- pad: {padding: [1, 0], mode: reflect}", input="2x4x1")
    assert report.nodes[0].output_shape == (4, 4, 1)
    with pytest.raises(CnnCalcError, match="reflect"):
        analyze_text("- pad: {padding: [2, 0], mode: reflect}", input="2x4x1")


def test_rule_a_float_that_rounds_to_1000_moves_to_k():
    from cnncalc.core.units import binary, si

    assert si(999.96) == "1.0k" and si(999.94) == "999.9"
    assert binary(1023.99) == "1.0 KiB"


def _torch_windows(n_in: int, n_out: int) -> list[tuple[int, int]]:
    """ATen's adaptive pooling windows, written out here: [floor(i n_in / n_out),
    ceil((i + 1) n_in / n_out)) for each output i."""
    import math

    return [(math.floor(i * n_in / n_out), math.ceil((i + 1) * n_in / n_out))
            for i in range(n_out)]


def test_rule_adaptive_windows_are_one_sliding_window_exactly_when_torchs_are() -> None:
    """`adaptive_uniform` is (f, s) exactly when torch's windows all have size f and output i
    starts at i s (s >= 1); `adaptive_largest` is the largest of torch's windows."""
    from cnncalc.core.formulas import adaptive_largest, adaptive_uniform

    for n_in in range(1, 31):
        for n_out in range(1, 31):
            windows = _torch_windows(n_in, n_out)
            sizes = {end - start for start, end in windows}
            stride = windows[1][0] - windows[0][0] if n_out > 1 else n_in
            sliding = len(sizes) == 1 and stride >= 1 and all(
                start == i * stride for i, (start, _) in enumerate(windows))
            expected = (sizes.pop(), stride) if sliding else None
            assert adaptive_uniform(n_in, n_out) == expected, (n_in, n_out)
            assert adaptive_largest(n_in, n_out) == max(e - s for s, e in windows), (n_in, n_out)


def test_rule_transposed_convolution_defaults_and_whole_numbers() -> None:
    """torch's ConvTranspose2d defaults (stride 1, padding 0, dilation 1, output_padding 0,
    groups 1): `(n - 1) + (f - 1) + 1` outputs; MACs are whole numbers."""
    from cnncalc.core.formulas import transposed_conv_macs, transposed_output_size

    assert transposed_output_size(4, 3) == (4 - 1) * 1 - 0 + 1 * (3 - 1) + 0 + 1 == 6
    assert transposed_output_size(4, 3, 2) == 9
    assert transposed_output_size(4, 3, 2, 1) == 7
    assert transposed_output_size(4, 3, 2, 1, 2) == 9
    macs = transposed_conv_macs(3, 3, 4, 5, 5, 6)  # groups 1: 3*3*6 * 5*5 * 4
    assert macs == 3 * 3 * 6 * 5 * 5 * 4 and type(macs) is int
    grouped = transposed_conv_macs(3, 3, 4, 5, 5, 6, 2)
    assert grouped == 3 * 3 * 3 * 5 * 5 * 4 and type(grouped) is int


# --------------------------------------------------------------------------- row limit

# The engine computes at most 10,000 rows (docs/trust.md). A repeat whose passes all make the
# same rows is refused after its first pass, naming the repeat (`repeat N of M rows each`);
# one whose passes may differ (a `when`, a repeat or a residual `add` given by an expression,
# anywhere inside it or in a block it uses) is expanded and counted, so a later pass making
# fewer rows keeps it under the limit. The row counts below are worked by hand: a seq's row
# and its children's; a residual's row, its body's, its shortcut's and the add; a parallel's
# row, a row per branch, the branches' layers and the merge; the repeat's own row.

ROWS = 10_000
BLOCKS = """\
blocks:
  unit:
    args: {first: false}
    layers:
      - relu
      - {relu: null, when: $first}
  plain:
    layers: [relu, relu]
"""


def count_rows(report) -> int:
    return sum(1 for _ in report.walk())


@pytest.mark.parametrize("layers, times, first, later", [
    ("- seq:\n    - relu\n    - {relu: null, when: $(i == 0)}\n  repeat: 4000", 4000, 3, 2),
    ("- seq:\n    - relu\n    - {relu: null, repeat: \"$(2 - min(i, 1))\"}\n  repeat: 2100",
     2100, 5, 4),
    ("- residual:\n    body: [relu, {relu: null, when: $(i == 0)}]\n  repeat: 3000", 3000, 4, 3),
    ("- residual:\n    add: $(i == 0)\n    body: [relu]\n  repeat: 4000", 4000, 3, 2),
    ("- residual:\n    body: [relu]\n    shortcut: [relu, {relu: null, when: $(i == 0)}]\n"
     "  repeat: 1900", 1900, 6, 5),
    ("- parallel:\n    merge: add\n    branches:\n      - [relu, {relu: null, when: $(i == 0)}]\n"
     "      - [relu]\n  repeat: 1600", 1600, 7, 6),
    ("- unit: {first: $(i == 0)}\n  repeat: 4000", 4000, 3, 2),
], ids=["seq-when", "seq-inner-repeat", "residual-body", "residual-add", "residual-shortcut",
        "parallel-branch", "block-when"])
def test_rule_a_repeat_whose_passes_differ_is_counted_not_refused(layers, times, first, later):
    assert first * times > ROWS  # the first pass alone, times over, would pass the limit
    report = analyze_text(layers, input="2x2x1", extra=BLOCKS)
    assert count_rows(report) == 1 + first + (times - 1) * later <= ROWS


@pytest.mark.parametrize("layers, times, each", [
    ("- seq: [relu, relu]\n  repeat: 4000", 4000, 3),
    ("- seq: [relu, relu]\n  repeat: $(4000)", 4000, 3),  # its own repeat is read once
    ("- seq: [relu, relu]\n  repeat: 4000\n  when: $(1 == 1)", 4000, 3),  # and its own when
    ("- seq: [relu, {relu: null, repeat: 2}]\n  repeat: 2500", 2500, 5),
    ("- residual:\n    body: [relu]\n    shortcut: [relu, relu]\n  repeat: 1900", 1900, 6),
    ("- residual:\n    add: true\n    body: [relu]\n  repeat: 4000", 4000, 3),
    ("- parallel:\n    merge: add\n    branches: [[relu, relu], [relu]]\n  repeat: 1600",
     1600, 7),
    ("- plain: null\n  repeat: 4000", 4000, 3),
], ids=["seq", "seq-repeat-expression", "seq-when", "seq-inner-repeat", "residual-shortcut",
        "residual-add", "parallel", "block"])
def test_rule_a_repeat_of_alike_passes_is_refused_after_its_first(layers, times, each):
    with pytest.raises(CnnCalcError) as error:
        analyze_text(layers, input="2x2x1", extra=BLOCKS)
    assert f"repeat {times:,} of {each} rows each is more than the 10,000 rows" in str(error.value)


# --------------------------------------------------------------------------- channel split

def test_rule_a_split_given_by_expressions_reads_the_input_at_the_split():
    # `in_channels` in `split` (a count, or each of a list's sizes) is the parallel's input:
    # 6 channels -> `$(in_channels // 3)` = 2 chunks of 3; `[$(in_channels - 2), 2]` = 4 + 2.
    counted = analyze_text("""
        - parallel:
            split: $(in_channels // 3)
            branches: [[relu], [relu]]
          name: p
    """, input="2x2x6")
    listed = analyze_text("""
        - parallel:
            split: [$(in_channels - 2), 2]
            branches: [[relu], [relu]]
          name: p
    """, input="2x2x6")
    for report, sizes in ((counted, [3, 3]), (listed, [4, 2])):
        relus = [n for n in report.walk() if n.kind == "relu"]
        assert [n.output_shape for n in relus] == [(2, 2, c) for c in sizes]


# --------------------------------------------------------------------------- engine: rows

def test_rule_training_only_totals_count_each_auxiliary_row_once_wherever_it_sits():
    # An auxiliary head inside a seq: its conv k (1x1, 4 -> 2 on 4x4: MACs 4*2*16 = 128,
    # params 4*2 + 2 = 10, activations 32) and its global pool (2 activations, 32 adds).
    # The head's own row already holds its rows: counted once, not again for k and the pool.
    report = analyze_text("""
        - seq:
            - {conv: {filters: 4, kernel: 1}, name: c}
            - seq: [{conv: {filters: 2, kernel: 1}, name: k}, global_pool]
              training_only: true
              name: aux
              from: c
            - {relu: null, from: c}
          name: s
    """, input="4x4x3")
    extra = report.training_only
    assert (extra.macs, extra.params, extra.activations, extra.elementwise) == (
        128, 10, 32 + 2, 2 * 16 + 2 * 16)  # biases 32 adds, pool 32 adds
    s = report.nodes[0]
    assert s.macs == 3 * 4 * 16  # the trunk's conv only: the head runs in training only


def test_rule_a_branch_row_sits_one_level_below_the_parallel_and_its_layers_two():
    report = analyze_text("""
        - parallel:
            branches:
              - [{conv: {filters: 2, kernel: 1}}]
              - [{relu: null, name: r}]
          name: p
    """, input="4x4x3")
    rows = {n.path: (n.depth, n.line) for n in report.walk()}
    # the unnamed branch gets a row `branch1` on the parallel's line (4); a one-named-layer
    # branch is that layer's own row (p.r), one level below the parallel
    assert rows["p.branch1"] == (1, 4)
    assert rows["p.branch1.conv1"][0] == 2
    assert rows["p.r"] == (1, 7)


def test_rule_a_parallels_rows_sit_on_its_line_and_follow_its_frame():
    # the branch rows (kind seq), the merge and the post-activation are made for the block
    # and carry its line (4); a frozen block's rows are frozen
    report = analyze_text("""
        - parallel:
            branches:
              - [{conv: {filters: 2, kernel: 1}}]
              - [relu, relu]
            activation: relu
          name: p
          trainable: false
    """, input="4x4x3")
    rows = {n.path: n for n in report.walk()}
    assert [(rows[p].kind, rows[p].line) for p in ("p.branch1", "p.branch2", "p.concat",
                                                     "p.relu")] == [
        ("seq", 4), ("seq", 4), ("concat", 4), ("relu", 4)]
    assert [rows[p].trainable for p in ("p.branch1", "p.branch2")] == [False, False]
    trained = analyze_text("""
        - parallel:
            branches: [[relu], [relu, relu]]
          name: p
    """, input="4x4x3")
    assert trained.nodes[0].children[0].trainable is True


def test_rule_two_branches_may_not_share_a_name():
    with pytest.raises(CnnCalcError, match="the branch name 'x' is taken"):
        analyze_text("""
- parallel:
    branches:
      - [{relu: null, name: x}]
      - [{relu: null, name: x}]
""", input="4x4x3")


def test_rule_a_branch_named_like_the_merge_or_the_activation_is_refused():
    for name, extra in (("concat", ""), ("relu", "    activation: relu\n")):
        with pytest.raises(CnnCalcError, match=f"the branch name '{name}' is taken"):
            analyze_text(f"""
- parallel:
    branches:
      - [{{conv: {{filters: 2, kernel: 1}}, name: {name}}}]
      - [{{conv: {{filters: 2, kernel: 1}}}}]
{extra}  name: p
""", input="4x4x3")
    # no activation: a branch may be called anything else, `relu` included
    report = analyze_text("""
- parallel:
    branches:
      - [{relu: null, name: relu}]
      - [{conv: {filters: 2, kernel: 1}}]
  name: p
""", input="4x4x3")
    assert [n.path for n in report.nodes[0].children] == ["p.relu", "p.branch2", "p.concat"]


BLOCK_BODIES = """\
blocks:
  listed:
    layers: [relu]
  res:
    residual:
      body: [relu]
"""


def test_rule_a_one_named_block_use_is_the_branch_row_only_when_its_body_is_a_list():
    # a block whose body is a list runs in order like a seq: the use is the branch's row
    # (`p.a`); a block whose body is a residual keeps the `branchN` row around it
    report = analyze_text("""
        - parallel:
            branches:
              - [{listed: null, name: a}]
              - [{res: null, name: b}]
          name: p
    """, input="4x4x3", extra=BLOCK_BODIES)
    assert [n.path for n in report.nodes[0].children] == ["p.a", "p.branch2", "p.concat"]
    assert [n.path for n in report.nodes[0].children[1].children] == ["p.branch2.b"]


@pytest.mark.parametrize("ref, words", [
    ('"$(\'\')"', "from: '' is not a layer's name"),
    ('"$(3)"', "from: 3 is not a layer's name"),
])
def test_rule_from_must_name_a_layer(ref, words):
    # (a `from:` written out is checked when the spec is read; one given by an expression
    # when its value is known)
    with pytest.raises(CnnCalcError, match=words):
        analyze_text(f"- relu\n- {{relu: null, from: {ref}}}", input="2x2x1")


@pytest.mark.parametrize("split, words", [  # given by expressions: checked once evaluated
    ('"$([3, 3])"', "[3, 3] must be 3 whole channel counts of at least 1"),  # the sum, too few
    ("[$(2.0), 2, 2]", "must be 3 whole channel counts"),  # the sum again, not whole
    ("[$(1 == 1), 3, 2]", "must be 3 whole channel counts"),  # True is no count (sums to 6)
    ("[$(0), 4, 2]", "must be 3 whole channel counts"),
    ("$(2)", "parallel.split: 2 must be the number of branches (3)"),
])
def test_rule_a_split_names_each_branch_a_whole_count_or_is_the_branch_count(split, words):
    with pytest.raises(CnnCalcError, match=words.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        analyze_text(f"""
- parallel:
    split: {split}
    branches: [[relu], [relu], [relu]]
""", input="2x2x6")


def test_rule_a_long_path_in_a_message_keeps_its_last_77_characters():
    from cnncalc.core.engine import _clip_path

    assert _clip_path("a" * 80) == "a" * 80
    long = "x" + "b" * 80  # 81 characters
    assert _clip_path(long) == "..." + "b" * 77


def test_rule_a_varying_repeat_past_the_limit_is_refused_when_the_rows_run_out():
    # passes that may differ are expanded: 3 rows for the first, 2 for each other, 5,000
    # passes make 10,002 rows with the repeat's own: past 10,000, refused as they run out
    with pytest.raises(CnnCalcError, match="the spec expands to more than 10,000 rows "
                                           r"\(layers, repeats, blocks and branches\)"):
        analyze_text("- seq:\n    - relu\n    - {relu: null, when: $(i == 0)}\n  repeat: 5000",
                     input="2x2x1")


# --------------------------------------------------------------------------- engine: block reuse

REUSED = """\
blocks:
  unit:
    layers:
      - residual:
          body:
            - {conv: {filters: 4, kernel: 3, padding: 1}, lint: {ignore: [pixels-dropped]},
               written_as: functional}
            - relu
      - parallel:
          split: 2
          branches: [[relu], [{conv: [2, 1]}]]
"""


def _relative_rows(use):
    """Every field of every row of a block use, paths and levels relative to the use."""
    from dataclasses import fields

    rows = []
    for node in use.walk():
        row = {f.name: getattr(node, f.name) for f in fields(node)
               if f.name not in ("name", "path", "depth", "line", "children", "layer")}
        row["path"] = node.path[len(use.path):]
        row["depth"] = node.depth - use.depth
        row["layer"] = node.layer.model_dump() if node.layer is not None else None
        row["children"] = None if node.children is None else len(node.children)
        if node is not use:
            row["name"], row["line"] = node.name, node.line
        rows.append(row)
    return rows


def test_rule_a_block_used_again_has_the_rows_of_its_first_use():
    # cnncalc walks a block once per (arguments, input shape, trainable, training-only) and
    # copies the rows for each later use: every row of a later use, at any level, equals
    # the first use's (its own path and level below the use), lint marks, lines and
    # training-only flags included; the use's own row has the use's name and line.
    report = analyze_text("""
        - {conv: [4, 1], name: c}
        - {unit: null, name: u1}
        - seq:
            - {unit: null, name: u2}
          name: deeper
        - {unit: null, training_only: true, name: aux1, from: c}
        - {unit: null, training_only: true, name: aux2, from: c}
        - {relu: null, from: deeper}
    """, input="4x4x3", extra=REUSED)
    by_path = {n.path: n for n in report.walk()}
    u1, u2 = by_path["u1"], by_path["deeper.u2"]
    aux1, aux2 = by_path["aux1"], by_path["aux2"]
    assert _relative_rows(u2) == _relative_rows(u1)
    assert _relative_rows(aux2) == _relative_rows(aux1)
    # lines: name, input, the 11 lines of REUSED, `layers:`, then the entries from line 15
    assert (u1.line, u2.line, aux2.line) == (16, 18, 21)
    assert by_path["deeper.u2.residual1.conv1"].written_as == "functional"
    # what the copies' rows read is read: the outputs are the two heads and the last relu
    assert [o.path for o in report.outputs] == ["aux1", "aux2", "relu1"]
    assert u2.depth == 1 and by_path["deeper.u2.residual1.conv1"].depth == 3
    assert by_path["deeper.u2.residual1.conv1"].lint == ("pixels-dropped",)
    assert all(n.training_only for n in aux2.walk())
    assert not any(n.training_only for n in u2.walk())
    # the walked rows say the same by hand: conv 3x3, 4 -> 4 on 4x4: 9*4*4*16 MACs
    assert by_path["deeper.u2.residual1.conv1"].macs == 9 * 4 * 4 * 16
    assert report.training_only.macs == 2 * aux1.macs
    # layers, merges and post-activations: per use conv, relu, add, relu, conv, concat; four
    # uses, the conv c and the last relu
    assert report.layer_count == 4 * 6 + 2


def test_rule_a_block_reused_frozen_or_reading_its_own_rows_is_walked_again():
    # the same block frozen (`trainable: false`) is not the trainable copy: its 20 params
    # (conv 1x1, 4 -> 4, bias) are frozen; a block whose rows read each other by `from:`
    # names them where each use is (nested inside another block too)
    extra = """\
blocks:
  unit:
    layers:
      - {conv: [4, 1], name: a}
      - {relu: null, name: b}
      - {add: null, from: [a, b], name: s}
  nested:
    layers:
      - unit: null
  tap:
    layers:
      - {conv: [4, 1], name: a}
      - {relu: null, name: b}
      - {relu: null, from: a, name: t}
"""
    report = analyze_text("""
        - {unit: null, name: u1}
        - {unit: null, name: u2, trainable: false}
        - {nested: null, name: n1}
        - {nested: null, name: n2}
        - {tap: null, name: t1}
        - {tap: null, name: t2}
    """, input="4x4x4", extra=extra)
    by_path = {n.path: n for n in report.walk()}
    assert by_path["t2.t"].sources == ["t2.a"]  # a layer's from:, not only a join's
    assert (by_path["u1"].trainable_params, by_path["u2"].trainable_params) == (20, 0)
    assert not any(n.trainable for n in by_path["u2"].walk())
    assert by_path["u2.s"].sources == ["u2.a", "u2.b"]
    assert by_path["n2.unit1.s"].sources == ["n2.unit1.a", "n2.unit1.b"]
    assert report.totals.trainable_params == 5 * 20 and report.totals.params == 6 * 20


@pytest.mark.parametrize("lead, refused", [("", False), ("- relu\n", True)])
def test_rule_a_copied_block_counts_its_rows_toward_the_limit(lead, refused):
    # rows: the repeat, per pass a seq and the block's 2 rows (its own and its relu; copied
    # after the first pass), the first pass's extra relu, then a last use of the block (a
    # copy, the last rows made): 1 + 3 * 3,332 + 1 + 2 = 10,000, exactly the limit
    # (computed); one relu more before it and that last copy is refused
    layers = (f"{lead}- seq:\n    - one: null\n    - {{relu: null, when: $(i == 0)}}\n"
              "  repeat: 3332\n- one: null")
    extra = "blocks:\n  one:\n    layers: [relu]\n"
    if refused:
        with pytest.raises(CnnCalcError, match=r"'one1' \(one\): the spec expands to more than "
                                               "10,000 rows"):
            analyze_text(layers, input="2x2x1", extra=extra)
    else:
        assert count_rows(analyze_text(layers, input="2x2x1", extra=extra)) == 10_000


def test_rule_a_residuals_add_given_by_an_expression_must_be_true_or_false():
    with pytest.raises(CnnCalcError, match=r"residual\.add must be true or false, got 'yes'"):
        analyze_text("- residual:\n    add: $('yes')\n    body: [relu]", input="2x2x1")


@pytest.mark.parametrize("body, extra, taken_by", [
    ("[{relu: null, name: add}]", "", "the residual's add"),
    ("[{relu: null, name: shortcut}]", "", "the residual's shortcut"),
    ("[{relu: null, name: relu}]", "\n    activation: relu", "the activation after the add"),
    ("[{conv: [1, 1], name: down}]", "\n    shortcut: [{conv: [1, 1], name: down}]",
     "the shortcut (its one named entry)"),
])
def test_rule_a_body_row_may_not_take_a_name_of_the_residuals_own_rows(body, extra, taken_by):
    with pytest.raises(CnnCalcError, match=re.escape(f"is taken by {taken_by}")):
        analyze_text(f"- residual:\n    body: {body}{extra}", input="2x2x1")


def test_rule_a_residuals_shortcut_row_sits_on_its_line_and_follows_its_frame():
    # a shortcut of two entries gets a `shortcut` row (kind seq) on the residual's line, fed
    # the residual's input, one level below it, its layers two; frozen and training-only
    # like the residual
    report = analyze_text("""
        - {conv: [4, 1], name: c}
        - residual:
            body: [{conv: [4, 1]}]
            shortcut: [{conv: [4, 1]}, relu]
          name: r
          trainable: false
        - residual:
            body: [{conv: [4, 1]}]
            shortcut: [{conv: [4, 1]}, relu]
          name: aux
          training_only: true
          from: c
        - {relu: null, from: r}
    """, input="4x4x3")
    rows = {n.path: n for n in report.walk()}
    short = rows["r.shortcut"]
    assert (short.kind, short.line, short.depth, short.input_shape) == ("seq", 5, 1, (4, 4, 4))
    assert rows["r.shortcut.conv1"].depth == 2
    assert (rows["r.add"].kind, rows["r.add"].line) == ("add", 5)  # the merge, on its line
    with_activation = analyze_text("- residual:\n    body: [relu]\n    activation: relu\n"
                                   "  name: q", input="2x2x1")
    assert [(n.path, n.line) for n in with_activation.nodes[0].children] == [
        ("q.relu1", 5), ("q.add", 4), ("q.relu", 4)]
    assert short.trainable is False and short.training_only is False
    assert rows["aux.shortcut"].training_only is True and rows["aux.shortcut"].trainable is True


def test_rule_a_block_copied_to_a_shallower_place_moves_its_rows_up():
    # first walked one level down (in a seq), then copied to the top: its rows move up by
    # one level (the use's row at 0, its layer at 1)
    report = analyze_text("""
        - seq:
            - {one: null, name: a}
          name: s
        - {one: null, name: b}
    """, input="2x2x1", extra="blocks:\n  one:\n    layers: [relu]\n")
    rows = {n.path: n.depth for n in report.walk()}
    assert (rows["s.a"], rows["s.a.relu1"], rows["b"], rows["b.relu1"]) == (1, 2, 0, 1)


@pytest.mark.parametrize(("amount", "out"), [
    # a crop keeps `n - first - last` rows (and columns); it must keep one at least (torch's
    # slice would give an empty map): on 4x4, cutting 3 of the 4 rows is the most
    ("[1, 2, 0, 0]", (1, 4, 1)), ("[0, 0, 1, 2]", (4, 1, 1)), ("[3, 0, 0, 3]", (1, 1, 1)),
    ("[2, 2, 0, 0]", None), ("[1, 3, 0, 0]", None), ("[3, 1, 0, 0]", None),
    ("[0, 0, 2, 2]", None), ("[0, 0, 1, 3]", None), ("[0, 0, 3, 1]", None),
])
def test_rule_a_crop_keeps_one_row_and_one_column_at_least(amount, out):
    text = f"name: t\ninput: 4x4x1\nlayers:\n  - crop: {amount}\n"
    if out is not None:
        assert analyze(load_text(text, "t.yaml")).nodes[0].output_shape == out
        return
    top, bottom, left, right = (int(v) for v in amount.strip("[]").split(","))
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == (
        f"t.yaml:4: layer 1 'crop1' (crop): crop of {top}+{bottom} rows and {left}+{right} "
        "columns leaves nothing of the input 4x4")


@pytest.mark.parametrize(("row", "kind", "what"), [
    ("crop: 1", "crop", "crop"), ("pad: 1", "pad", "pad"), ("upsample: 2", "upsample", "upsample"),
    ("channel_shuffle: 2", "channel_shuffle", "channel_shuffle"),
    ("adaptive_pool: 2", "adaptive_pool", "adaptive pooling"),
    ("global_pool", "global_pool", "global pooling"),
    ("conv_transpose: {filters: 2, kernel: 2}", "conv_transpose", "conv_transpose"),
    ("se: 4", "se", "squeeze-and-excitation"), ("maxpool: 2", "maxpool", "max pooling"),
    ("avgpool: 2", "avgpool", "avg pooling"), ("depthwise: 3", "depthwise", "depthwise"),
    ("separable: {filters: 2, kernel: 3}", "separable", "separable"),
])
def test_rule_a_kind_that_needs_a_map_refuses_a_vector_by_its_name(row, kind, what):
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(f"name: t\ninput: 16\nlayers:\n  - {row}\n", "t.yaml"))
    assert str(error.value) == (f"t.yaml:4: layer 1 '{kind}1' ({kind}): {what} needs an HxWxC "
                                "input, got (16)")


@pytest.mark.parametrize(("size", "padding", "axis"), [("1x4x2", "[1, 0]", "height"),
                                                       ("4x1x2", "[0, 1]", "width")])
def test_rule_a_transposed_convolution_with_no_output_names_its_axis(size, padding, axis):
    # (n - 1)*s - 2*p + d*(f - 1) + output_padding + 1 with n = 1, p = 1: -1 rows (or columns)
    text = (f"name: t\ninput: {size}\nlayers:\n"
            f"  - conv_transpose: {{filters: 2, kernel: 1, padding: {padding}}}\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == (
        f"t.yaml:4: layer 1 'conv_transpose1' (conv_transpose): conv_transpose gives no "
        f"output: output {axis}: (n - 1)*s - 2*p + d*(f - 1) + output_padding + 1 = "
        "(1 - 1)*1 - 2*1 + 1*(1 - 1) + 0 + 1 = -1 < 1")


@pytest.mark.parametrize("padding", ["[2, 0, 0, 0]", "[0, 2, 0, 0]", "[0, 0, 2, 0]",
                                     "[0, 0, 0, 2]"])
def test_rule_pool_padding_over_half_the_kernel_is_refused_on_each_side(padding):
    # torch's pools take at most half the kernel on every side (k // 2 = 1 for k = 3)
    text = f"name: t\ninput: 6x6x1\nlayers:\n  - maxpool: {{kernel: 3, padding: {padding}}}\n"
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert "more than half the kernel 3" in str(error.value)
    ok = text.replace(padding, "[1, 1, 1, 1]")
    assert analyze(load_text(ok, "t.yaml")).nodes[0].output_shape == (2, 2, 1)  # (6+2-3)//3+1


# --------------------------------------------------------------------------- scale: the head

def scaled_units(text: str) -> list:
    """Every dense entry's units after `--width 2`, in the order they are written."""
    out = scale_raw(load_yaml(text, "t.yaml"), Scaling(width=2.0), "t.yaml")
    found = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("kind") == "dense":
                found.append(value["units"])
            elif isinstance(value.get("dense"), (int, str)):
                found.append(value["dense"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(out.get("blocks"))
    walk(out["layers"])
    return found


@pytest.mark.parametrize(("layers", "units"), [
    # the classifier (the last dense the network runs, whose units are the classes) keeps
    # its units; every other dense doubles
    ("  - dense: 32\n  - {kind: dense, units: 10}\n", [64, 10]),
    ("  - dense: 32\n  - residual:\n      body: [{dense: 16}, {dense: 32}]\n", [64, 32, 32]),
    ("  - dense: 32\n  - parallel:\n      merge: concat\n"
     "      branches: [[{dense: 5}], [{dense: 10}]]\n", [64, 16, 10]),  # 10 -> 16: divisor 8
])
def test_rule_the_classifier_is_the_last_dense_run_in_any_container(layers, units):
    assert scaled_units(f"name: t\ninput: 16\nlayers:\n  - flatten\n{layers}") == units


@pytest.mark.parametrize("form", ["residual:\n      body: [{dense: 16}, {dense: 8}]",
                                  "parallel:\n      merge: add\n"
                                  "      branches: [[{dense: 8}], [{dense: 8}]]"])
def test_rule_the_classifier_may_be_in_a_block_written_as_a_residual_or_parallel(form):
    # blocks come first in the walk's output: the block's last dense is the classifier
    text = (f"name: t\ninput: 16\nblocks:\n  head:\n    {form}\n"
            "layers:\n  - dense: 8\n  - head\n")
    found = scaled_units(text)
    assert found[-1] == 16  # the network's first dense, 8 -> 16
    assert found[:-1][-1] == 8  # the block's last dense: the classes, kept


def test_rule_a_resolution_of_the_largest_size_is_accepted():
    from cnncalc.analyses.scale import MAX_RESOLUTION, validate

    validate(Scaling(resolution=(MAX_RESOLUTION, MAX_RESOLUTION)))
    with pytest.raises(CnnCalcError, match="resolution must be from 1 to 100,000"):
        validate(Scaling(resolution=(MAX_RESOLUTION + 1, 8)))


@pytest.mark.parametrize(("text", "message"), [
    # a block argument declared `channels` given a plain argument of the block using it:
    # the refusal names the argument
    ("name: t\ninput: 8x8x3\nblocks:\n"
     "  inner:\n    args: {c: channels}\n"
     "    layers:\n      - conv: {filters: $c, kernel: 1}\n"
     "  outer:\n    args: {k: 8}\n"
     "    layers:\n      - inner: {c: $k}\n"
     "layers:\n  - outer: {k: 8}\n",
     "t.yaml:11: --width cannot scale the argument c '$k': it comes from the argument 'k' "
     "of block 'outer', which is not declared 'channels'"),
    # `- conv: $(n * 2)` is conv's filters written bare: the refusal names conv.filters
    ("name: t\ninput: 8x8x3\nblocks:\n  unit:\n    args: {n: 8}\n    layers:\n"
     "      - conv: $(n * 2)\nlayers:\n  - unit: {n: 8}\n",
     "t.yaml:7: --width cannot scale conv.filters '$(n * 2)': it comes from the argument "
     "'n' of block 'unit'"),
    # `- conv: [$(n * 2), 1]`: the filters first in the list form, named the same way
    ("name: t\ninput: 8x8x3\nblocks:\n  unit:\n    args: {n: 8}\n    layers:\n"
     "      - conv: [$(n * 2), 1]\nlayers:\n  - unit: {n: 8}\n",
     "t.yaml:7: --width cannot scale conv.filters '$(n * 2)': it comes from the argument "
     "'n' of block 'unit'"),
])
def test_rule_a_width_refusal_names_what_it_cannot_scale(text, message):
    with pytest.raises(CnnCalcError) as error:
        scale_raw(load_yaml(text, "t.yaml"), Scaling(width=2.0), "t.yaml")
    assert str(error.value).startswith(message)


def test_rule_an_in_place_overwrite_is_refused_at_the_in_place_row():
    # the in-place relu overwrites the residual's input, which the add reads later: refused
    # with the relu's own line (7) and path
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - conv: {filters: 4, kernel: 1}\n"
            "  - residual:\n      body:\n        - relu: {inplace: true}\n"
            "        - conv: {filters: 4, kernel: 1}\n")
    report = analyze(load_text(text, "t.yaml"))
    with pytest.raises(CnnCalcError) as error:
        peak_inference(report)
    assert str(error.value) == (
        "t.yaml:7: residual1.relu1: in-place relu at 'residual1.relu1' overwrites a tensor "
        "that 'residual1.add' reads later; make it not in place")


def test_rule_the_classifier_is_found_in_blocks_nested_as_deep_as_the_engine_allows():
    # 100 blocks, each using the next (the engine's limit: a 101st is refused), the last
    # holding the classifier: it keeps its 10 classes, the hidden dense doubles
    blocks = "".join(f"  b{i}:\n    layers:\n      - b{i + 1}\n" for i in range(1, 100))
    text = ("name: t\ninput: 16\nblocks:\n" + blocks + "  b100:\n    layers:\n      - dense: 10\n"
            "layers:\n  - dense: 32\n  - b1\n")
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # mutmut's trampolines deepen every call
    try:
        assert analyze(load_text(text, "t.yaml")).totals.params == 16 * 32 + 32 + 32 * 10 + 10
    finally:
        sys.setrecursionlimit(limit)
    assert scaled_units(text) == [10, 64]


@pytest.mark.parametrize(("size", "row", "message"), [
    # width: n = 2, padded 1 (left) + 0, a 3-kernel dilated by 2 spans d(f - 1) + 1 = 5
    ("8x2x1", "conv: {filters: 1, kernel: 3, dilation: 2, padding: [0, 0, 1, 0]}",
     "conv kernel 3 (dilated to 5) does not fit the input width 2 padded by 1+0: "
     "floor((2 + 1 - 5) / 1) + 1 = -1 < 1"),
    # height: n = 3, a 5-kernel
    ("3x8x1", "conv: {filters: 1, kernel: 5}",
     "conv kernel 5 does not fit the input height 3 padded by 0+0: "
     "floor((3 + 0 - 5) / 1) + 1 = -1 < 1"),
])
def test_rule_a_window_that_does_not_fit_names_its_axis_padding_and_span(size, row, message):
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(f"name: t\ninput: {size}\nlayers:\n  - {row}\n", "t.yaml"))
    assert str(error.value) == f"t.yaml:4: layer 1 'conv1' (conv): {message}"


def test_rule_an_in_place_overwrite_of_a_network_output_names_the_output():
    # `feat` is an output of the network (read after the last row): the in-place relu after
    # it would change what the network returns
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - conv: {filters: 2, kernel: 1}\n    name: feat\n"
            "  - relu: {inplace: true}\n  - flatten\n  - dense: 3\noutputs: [feat, dense1]\n")
    with pytest.raises(CnnCalcError) as error:
        peak_inference(analyze(load_text(text, "t.yaml")))
    assert str(error.value) == (
        "t.yaml:6: relu1: in-place relu at 'relu1' overwrites a tensor that the network's "
        "output reads later; make it not in place")


def test_rule_the_repeat_index_i_is_0_outside_a_repeat():
    # docs/spec-format.md: `i` is the index inside a repeat (from 0), and 0 outside one
    text = ("name: t\ninput: 4\nlayers:\n  - dense: $(i + 3)\n"
            "  - dense: $(2 * i + 5)\n    repeat: 2\n")
    report = analyze(load_text(text, "t.yaml"))
    first, repeated = report.nodes
    assert first.output_shape == (3,)
    assert [n.output_shape for n in repeated.children] == [(5,), (7,)]


# --------------------------------------------------------------------------- engine: outputs

OUTPUTS_BASE = ("name: t\ninput: 4\nlayers:\n  - dense: 3\n    name: head\n"
                "  - dense: 2\n    name: side\n    from: input\n")


@pytest.mark.parametrize(("outputs", "message"), [
    ("[nope]", "outputs: from: no earlier layer named 'nope'"),
    ("[input]", "outputs: 'input' is the input"),
    ("[head, head]", "outputs: 'head' is listed twice"),
    ("[head]", "outputs: nothing reads the output of 'side': list it under outputs, take it "
               "with from:, or remove it"),
])
def test_rule_a_refused_outputs_list_is_located_at_its_line(outputs, message):
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(OUTPUTS_BASE + f"outputs: {outputs}\n", "t.yaml"))
    assert str(error.value) == f"t.yaml:9: {message}"  # `outputs:` is line 9


@pytest.mark.parametrize(("head", "expected"), [("head", ["head", "side"]),
                                              ("side", ["side", "head"])])
def test_rule_outputs_read_the_specs_vars_as_from_does(head, expected):
    # `outputs: ["$first"]`: the names may be expressions of `vars`, as a top-level from: is
    text = (OUTPUTS_BASE.replace("name: t\n", f"name: t\nvars: {{first: {head}}}\n")
            + "outputs: [$first, $('head' if first == 'side' else 'side')]\n")
    report = analyze(load_text(text, "t.yaml"))
    assert [node.path for node in report.outputs] == expected


def test_rule_outputs_know_no_name_but_the_vars():
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(OUTPUTS_BASE + "outputs: [$i]\n", "t.yaml"))
    assert str(error.value).startswith("t.yaml:9: outputs: '$i': unknown name 'i'")


def test_rule_outputs_that_all_run_only_in_training_are_refused_at_their_line():
    text = ("name: t\ninput: 4\nlayers:\n  - dense: 3\n    name: head\n  - dense: 2\n"
            "    name: aux\n    training_only: true\noutputs: [aux]\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == ("t.yaml:9: every output runs only in training: the network "
                                "has no output at inference")


def test_rule_an_only_output_that_runs_in_training_is_refused_at_its_own_row():
    # without `outputs:`, the output found is the training-only row: the refusal names its
    # line (it named line 1 of the file, which says nothing)
    text = ("name: t\ninput: 4\nlayers:\n  - dense: 3\n    name: head\n  - dense: 2\n"
            "    name: aux\n    training_only: true\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == ("t.yaml:6: every output runs only in training: the network "
                                "has no output at inference")


def test_rule_a_repeat_of_exactly_the_row_limit_is_computed():
    # rows count groups: the repeat's own row, and per pass the pass's group and its two
    # relus: 1 + 3 n, which is MAX_ROWS = 10,000 at n = 3,333 and one pass more is refused
    def spec(n):
        return (f"name: t\ninput: 4\nlayers:\n  - seq:\n      - relu\n      - relu\n"
                f"    repeat: {n}\n")

    assert sum(1 for _ in analyze(load_text(spec(3333), "t.yaml")).walk()) == 10_000
    # refused before the passes are expanded, by the repeat (its row counted): one pass more,
    # or one row before it
    for text in (spec(3334), spec(3333).replace("layers:\n", "layers:\n  - relu\n")):
        with pytest.raises(CnnCalcError, match="of 3 rows each is more than the 10,000 rows"):
            analyze(load_text(text, "t.yaml"))


def test_rule_a_container_row_sits_on_its_entrys_line():
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - conv: {filters: 2, kernel: 1}\n"
            "  - seq:\n      - relu\n    name: block\n"
            "  - residual:\n      body: [{relu: {}}]\n"
            "  - add:\n    from: [block, residual1]\n")
    report = analyze(load_text(text, "t.yaml"))
    assert [(n.path, n.line) for n in report.nodes] == [("conv1", 4), ("block", 5),
                                                        ("residual1", 8), ("add1", 10)]


@pytest.mark.parametrize(("written", "expected"), [("functional", 4), (None, 0)])
def test_rule_a_joins_written_as_reaches_the_conventions(written, expected):
    # ptflops counts torch.add (one add per element per input after the first: 4 here) and
    # not `a + b`, the default form of an add
    text = ("name: t\ninput: 4\nlayers:\n  - relu:\n    name: a\n  - relu:\n    name: b\n"
            "  - add:\n    from: [a, b]\n" + (f"    written_as: {written}\n" if written else ""))
    from cnncalc.analyses.conventions import count

    assert count(analyze(load_text(text, "t.yaml")), "ptflops").nodes["add1"].number == expected


def test_rule_a_block_and_the_totals_sum_their_rows_element_wise_ops():
    # docs/conventions.md: relu 1 op per element (4 x 4 x 3 = 48), a 2x2 max pool 3
    # comparisons per output (2 x 2 x 3 x 3 = 36); a training-only row's ops are left out of
    # the totals (its params stay)
    text = ("name: t\ninput: 4x4x3\nlayers:\n  - seq:\n      - relu\n      - maxpool: 2\n"
            "    name: block\n  - relu:\n    name: aux\n    from: block\n"
            "    training_only: true\n  - flatten:\n    from: block\n")
    report = analyze(load_text(text, "t.yaml"))
    block = report.nodes[0]
    assert block.elementwise == 48 + 36
    assert report.totals.elementwise == 48 + 36
    assert report.nodes[1].elementwise == 12  # the training-only relu on 2 x 2 x 3


def test_rule_counts_past_a_googol_show_the_output_cut_at_60_characters():
    text = "name: t\ninput: 4\nlayers:\n  - dense: $(10 ** 50 * 10 ** 51)\n"
    shown = "(1" + "0" * 101 + ")"  # a vector is written in parentheses
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == (f"t.yaml:4: layer 1 'dense1' (dense): counts past 10^100 "
                                f"(output {shown[:60]}...); check the sizes for a typo")


@pytest.mark.parametrize(("inputs", "zeros"), [(44, 57), (50, 51)])  # 60 characters, and 53
def test_rule_counts_past_a_googol_show_an_output_of_60_characters_whole(inputs, zeros):
    # 10^inputs times 10^zeros units: past 10^100 MACs with an output short enough to show
    text = (f"name: t\ninput: 4\nlayers:\n  - dense: $(10 ** {inputs})\n"
            f"  - dense: $(10 ** {zeros})\n")
    shown = "(1" + "0" * zeros + ")"
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == (f"t.yaml:5: layer 2 'dense2' (dense): counts past 10^100 "
                                f"(output {shown}); check the sizes for a typo")


# --------------------------------------------------------------------------- engine: analyze

def test_rule_an_api_input_shape_that_looks_channels_first_is_refused_by_name():
    spec = load_text("name: t\ninput: 4\nlayers:\n  - relu\n", "t.yaml")
    with pytest.raises(CnnCalcError) as error:
        analyze(spec, (3, 224, 224))
    assert str(error.value) == (
        "t.yaml: input_shape: 3x224x224 looks channels-first, torch's CxHxW (3 channels of "
        "224x224); cnncalc reads HxWxC (height 3, width 224, 224 channels): write 224x224x3")


def test_rule_an_input_of_a_googol_values_is_the_largest_accepted():
    spec = load_text("name: t\ninput: 4\nlayers:\n  - relu\n", "t.yaml")
    assert analyze(spec, (10**100,)).nodes[0].output_shape == (10**100,)
    with pytest.raises(CnnCalcError, match=r"^t\.yaml: the input \(1" + "0" * 99
                       + r"1\) has more than 10\^100 values$"):
        analyze(spec, (10**100 + 1,))


def test_rule_the_recursion_backstop_names_the_depth_and_the_file(monkeypatch):
    from cnncalc.core import engine

    def deep(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(engine._Walker, "seq", deep)
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text("name: t\ninput: 4\nlayers:\n  - relu\n", "t.yaml"))
    assert str(error.value) == ("t.yaml: the spec nests more deeply than cnncalc can follow "
                                f"(at most {engine.MAX_DEPTH} levels)")


def test_rule_an_unknown_freeze_until_is_refused_at_its_line():
    text = ("name: t\ninput: 4\nlayers:\n  - dense: 3\n  - dense: 2\nfreeze_until: nope\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == "t.yaml:6: freeze until 'nope': no layer has that name or path"


def test_rule_a_frozen_or_training_only_entry_reads_the_specs_variables():
    text = ("name: t\ninput: 4\nvars: {n: 3}\nlayers:\n  - dense: $n\n    trainable: false\n"
            "  - dense: $(n + 1)\n    name: aux\n    training_only: true\n"
            "  - dense: 2\n    from: dense1\n")
    first, aux, last = analyze(load_text(text, "t.yaml")).nodes
    assert (first.output_shape, first.trainable_params) == ((3,), 0)
    assert aux.output_shape == (4,) and aux.training_only


@pytest.mark.parametrize(("layers", "message"), [
    # a row whose from: is not found, and whose when: is no truth value: the when is named
    ("  - relu:\n    from: nope\n    when: $(1 / 2)\n",
     "t.yaml:5: layer 2: when must be true or false, got 0.5"),
    # before a row has its name, it is named by its place: at the top level, and in a list
    ("  - relu:\n    from: nope\n", "t.yaml:5: layer 2: from: no earlier layer named 'nope'"),
    ("  - seq:\n      - relu\n      - relu:\n        from: nope\n",
     "t.yaml:7: layer 2 of 'seq1': from: no earlier layer named 'nope'"),
])
def test_rule_a_row_refused_before_it_has_a_name_is_named_by_its_place(layers, message):
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text("name: t\ninput: 4\nlayers:\n  - relu\n" + layers, "t.yaml"))
    assert str(error.value) == message


@pytest.mark.parametrize(("repeat", "message"), [
    ("$(5 / 2)", "repeat must be a whole number >= 1, got 2.5"),
    ("$(1 > 0)", "repeat must be a whole number >= 1, got True"),
    # one pass more than the rows allow once its row is counted: refused by the row count,
    # not by the plain bound (which only refuses more passes than rows)
    ("10000", "repeat 10,000 of 1 rows each is more than the 10,000 rows cnncalc computes"),
])
def test_rule_a_repeat_count_must_be_a_whole_number_within_the_rows(repeat, message):
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(f"name: t\ninput: 4\nlayers:\n  - relu:\n    repeat: {repeat}\n",
                          "t.yaml"))
    assert str(error.value) == f"t.yaml:4: layer 1 'relu1' (relu): {message}"


def test_rule_a_repeat_row_sits_on_its_line_and_trains_as_its_entry():
    text = ("name: t\ninput: 4\nlayers:\n  - dense: 4\n    repeat: 2\n"
            "  - dense: 4\n    repeat: 2\n    trainable: false\n")
    report = analyze(load_text(text, "t.yaml"))
    assert [(n.path, n.line, n.trainable) for n in report.nodes] == [
        ("dense1", 4, True), ("dense2", 6, False)]


def test_rule_a_training_only_repeat_is_left_out_of_the_inference_totals():
    # the head: 4 -> 3, 12 MACs; the training-only repeat: two 4 -> 4 dense, 32 MACs
    text = ("name: t\ninput: 4\nlayers:\n  - dense: 3\n    name: head\n"
            "  - dense: 4\n    repeat: 2\n    name: aux\n    from: input\n"
            "    training_only: true\n")
    report = analyze(load_text(text, "t.yaml"))
    head, aux = report.nodes
    assert aux.training_only and not head.training_only
    assert report.totals.macs == 12
    assert report.training_only.macs == 32


def test_rule_a_multiplier_of_exactly_the_largest_is_accepted():
    from cnncalc.analyses.scale import MAX_MULTIPLIER, validate

    validate(Scaling(width=MAX_MULTIPLIER, depth=MAX_MULTIPLIER))
    with pytest.raises(CnnCalcError, match="width multiplier must be a number above 0 and at "
                                           "most 100"):
        validate(Scaling(width=MAX_MULTIPLIER * 1.01))


def test_rule_a_vector_input_is_in_channels_and_a_row_dropped_by_when_drops_only_itself():
    # docs/spec-format.md: on a vector, `in_channels` is its length (4 -> a dense of 8); a row
    # whose `when` is false need not find what its from: names, and the rows after it run
    text = ("name: t\ninput: 4\nlayers:\n  - dense: $(in_channels * 2)\n"
            "  - relu:\n    from: nope\n    when: $(in_channels > 100)\n  - dense: 3\n")
    report = analyze(load_text(text, "t.yaml"))
    assert [(n.path, n.output_shape) for n in report.nodes] == [("dense1", (8,)),
                                                                ("dense2", (3,))]


def test_rule_an_undilated_kernel_spans_itself():
    from cnncalc.core.formulas import effective_kernel

    # d (f - 1) + 1: a 3-kernel spans 3 undilated (the default), 5 at dilation 2
    assert (effective_kernel(3), effective_kernel(3, 2), effective_kernel(1, 7)) == (3, 5, 1)


# --------------------------------------------------------------------------- the third sample

def test_rule_a_dense_layer_has_a_bias_unless_told_otherwise():
    # LeNet-5's F6: 120 inputs, 84 units, a weight per pair and a bias per unit
    from cnncalc.core.formulas import dense_params

    assert dense_params(120, 84) == 120 * 84 + 84 == 10_164
    assert dense_params(120, 84, bias=False) == 10_080


def test_rule_a_window_that_fits_the_height_only_is_refused_for_the_width():
    # a 3x3 kernel on a 3x2 map: one output row (floor((3 - 3) / 1) + 1 = 1), no column
    text = "name: t\ninput: 3x2x1\nlayers:\n  - conv: {filters: 1, kernel: 3}\n"
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == ("t.yaml:4: layer 1 'conv1' (conv): conv kernel 3 does not fit "
                                "the input width 2 padded by 0+0: floor((2 + 0 - 3) / 1) + 1 "
                                "= 0 < 1")


def test_rule_outputs_name_every_row_that_nothing_reads():
    text = ("name: t\ninput: 4\nlayers:\n  - dense: 3\n    name: head\n"
            "  - dense: 2\n    name: side\n    from: input\n"
            "  - dense: 2\n    name: other\n    from: input\n  - dense: 1\n    from: head\n"
            "outputs: [dense1]\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == ("t.yaml:14: outputs: nothing reads the output of 'side', "
                                "'other': list it under outputs, take it with from:, or "
                                "remove it")


def test_rule_a_when_that_is_no_truth_value_is_refused_by_name():
    text = "name: t\ninput: 4\nlayers:\n  - dense: 3\n    when: $('yes')\n"
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == ("t.yaml:4: layer 1: when must be true or false, got 'yes'")


def test_rule_a_training_only_last_row_of_a_block_is_refused_at_its_line():
    text = ("name: t\ninput: 4\nlayers:\n  - seq:\n      - dense: 3\n      - dense: 3\n"
            "      - dense: 2\n        training_only: true\n    name: body\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value).startswith(
        "t.yaml:7: 'body.dense3': 'body.dense3' runs only in training but is the last layer "
        "of 'body'")


def test_rule_a_merge_and_an_activation_after_it_sit_one_level_in_their_block():
    # a residual at the top (depth 0): its body, its add and its relu are its rows (depth 1);
    # a join written as an entry (`- add: ...` with from:) is a row of its own list (depth 0)
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - residual:\n      body: [relu]\n"
            "      activation: relu\n    name: r\n  - relu\n  - add:\n    from: [r, relu1]\n")
    report = analyze(load_text(text, "t.yaml"))
    rows = {node.path: node.depth for node in report.nodes[0].walk()}
    assert rows == {"r": 0, "r.relu1": 1, "r.add": 1, "r.relu": 1}
    assert [(node.path, node.depth) for node in report.nodes[1:]] == [("relu1", 0), ("add1", 0)]


def test_rule_the_layer_count_holds_merges_and_the_activation_after_them():
    # three layers in the body, the add, the relu after it, and the dense: 6 layers
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - residual:\n      body: [relu, relu, relu]\n"
            "      activation: relu\n  - flatten\n")
    report = analyze(load_text(text, "t.yaml"))
    assert report.layer_count == 3 + 1 + 1 + 1


def test_rule_the_activation_after_a_training_only_residual_runs_only_in_training():
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - relu:\n    name: stem\n"
            "  - residual:\n      body: [relu]\n      activation: relu\n"
            "    training_only: true\n    name: aux\n  - flatten:\n    from: stem\n")
    report = analyze(load_text(text, "t.yaml"))
    aux = report.nodes[1]
    assert [(n.path, n.training_only) for n in aux.walk()] == [
        ("aux", True), ("aux.relu1", True), ("aux.add", True), ("aux.relu", True)]


def test_rule_a_residual_of_unequal_shapes_is_refused_naming_both():
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - residual:\n"
            "      body: [{conv: {filters: 3, kernel: 1}}]\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == (
        "t.yaml:4: layer 1 'residual1' (residual): residual block 'residual1': cannot add "
        "branches of different shapes: the body gives 4x4x3, the identity shortcut gives "
        "4x4x2; the dimensions of a[l] and a[l+2] must match")


def test_rule_an_identity_at_inference_is_a_step_of_its_own():
    # dropout runs no op at inference: its step makes nothing, and is named by its row
    text = "name: t\ninput: 4\nlayers:\n  - dense: 3\n  - dropout: 0.5\n  - dense: 2\n"
    report = analyze(load_text(text, "t.yaml"))
    steps = alive_per_step(report)
    assert [node.path if node else None for node, _ in steps] == [
        None, "dense1", "dropout1", "dense2"]
    # nothing is made, nothing freed (the network's input is held to the end)
    assert steps[2][1] == steps[1][1] == (4 + 3) * 4


def test_rule_the_largest_divisor_is_accepted():
    from cnncalc.analyses.scale import MAX_DIVISOR, validate

    validate(Scaling(width=2.0, divisor=MAX_DIVISOR))
    with pytest.raises(CnnCalcError, match="divisor must be from 1 to 1024"):
        validate(Scaling(width=2.0, divisor=MAX_DIVISOR + 1))


def test_rule_the_classifier_is_found_inside_a_long_form_container():
    # `- kind: parallel` keeps its fields beside `kind`: the walk reads its branches there;
    # the last dense (the second branch's) keeps its 10 classes, the first branch's scales
    text = ("name: t\ninput: 8x8x3\nlayers:\n  - conv: [8, 3]\n  - kind: parallel\n"
            "    merge: concat\n    branches:\n      - [flatten, {dense: 10}]\n"
            "      - [flatten, {dense: 10}]\n")
    scaled = scale_raw(load_yaml(text, "t.yaml"), Scaling(width=2.0), "t.yaml")
    branches = scaled["layers"][1]["branches"]
    assert [branch[1]["dense"] for branch in branches] == [24, 10]  # 20 -> 24, divisible by 8


# --------------------------------------------------------------------------- the fourth sample

def test_rule_an_expression_reads_the_input_height_width_and_channels():
    text = ("name: t\ninput: 8x5x3\nlayers:\n"
            "  - conv: {filters: $(100 * in_height + 10 * in_width + in_channels), kernel: 1}\n")
    report = analyze(load_text(text, "t.yaml"))
    assert report.nodes[0].output_shape == (8, 5, 853)


GOOGOL = "1" + "0" * 100


@pytest.mark.parametrize(("given", "layers", "where", "shown"), [
    # 10^50 inputs to 10^50 units: 10^100 MACs (the most), 10^100 + 10^50 params (past it)
    ("4", "  - dense: $(10 ** 50)\n  - dense: $(10 ** 50)\n", "5: layer 2 'dense2' (dense)",
     "(1" + "0" * 50 + ")"),
    # a softmax of 10^100 values: 3 x 10^100 element-wise ops, nothing else past the most
    (GOOGOL, "  - softmax\n", "4: layer 1 'softmax1' (softmax)", f"({GOOGOL}"[:60] + "..."),
])
def test_rule_params_or_element_wise_ops_alone_past_a_googol_are_refused(given, layers, where,
                                                                        shown):
    text = f"name: t\ninput: {given}\nlayers:\n{layers}"
    with pytest.raises(CnnCalcError) as error:
        analyze(load_text(text, "t.yaml"))
    assert str(error.value) == (f"t.yaml:{where}: counts past 10^100 (output {shown}); "
                                "check the sizes for a typo")


def test_rule_rows_inside_a_frozen_residual_are_frozen_the_activation_after_it_too():
    text = ("name: t\ninput: 4x4x2\nlayers:\n  - residual:\n"
            "      body: [{conv: {filters: 2, kernel: 1}}]\n      activation: relu\n"
            "    trainable: false\n")
    report = analyze(load_text(text, "t.yaml"))
    assert [(n.path, n.trainable) for n in report.nodes[0].walk()] == [
        ("residual1", False), ("residual1.conv1", False), ("residual1.add", False),
        ("residual1.relu", False)]
