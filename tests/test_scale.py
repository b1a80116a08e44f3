"""Width, depth and resolution multipliers (cnncalc.analyses.scale) and `cnncalc scale`.

Expected channel counts are torchvision's `_make_divisible` worked by hand: the nearest
multiple of 8 to c * w (halves up), raised by 8 when that is more than 10% below c * w, and
never below 8.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from cnncalc.analyses.scale import (
    Scaling,
    channels,
    check_reach,
    compound,
    parse_resolution,
    repeats,
    scale_raw,
    scaled_spec,
    to_yaml,
)
from cnncalc.commands import app
from cnncalc.core.engine import analyze
from cnncalc.core.loader import load_yaml
from cnncalc.core.source import load_text, read
from cnncalc.errors import CnnCalcError

SPEC = textwrap.dedent("""\
    name: toy
    input: 32x32x3
    blocks:
      unit:
        args: {filters: channels, stride: 1, squeeze: 4}
        layers:
          - conv: {filters: $filters, kernel: 3, stride: $stride, padding: 1}
          - conv: {filters: 24, kernel: 1}
            name: inner
    layers:
      - conv: {filters: 32, kernel: 3, padding: 1}
        name: a
      - conv: [64, 3, 1, 1]
        name: b
      - kind: conv
        filters: 16
        kernel: 1
        name: c
      - separable: {filters: 40, kernel: 3, padding: 1}
        name: d
      - conv: {filters: $(in_channels * 2), kernel: 1}
        name: e
      - unit: {filters: 48, stride: $(2 if i == 0 else 1), squeeze: 8}
        repeat: 3
        name: f
      - conv: {filters: 100, kernel: 1}
        repeat: 2
        scale: false
        name: g
      - seq:
          - conv: {filters: 56, kernel: 1}
            name: h
          - se: 4
            name: se
        repeat: $(1 + 1)
        name: s
      - global_pool
      - dense: 120
        name: fc
""")


def scaled(text: str = SPEC, **kw: object):
    raw = load_yaml(text, "toy.yaml")
    return raw, scale_raw(raw, Scaling(**kw), "toy.yaml")  # type: ignore[arg-type]


def entry(raw, name):
    return next(e for e in raw["layers"] if isinstance(e, dict) and e.get("name") == name)


# ------------------------------------------------------------------ the rounding rules

@pytest.mark.parametrize("c,w,expected", [
    (32, 0.75, 24),    # 24 exactly
    (32, 0.25, 8),     # 8 exactly
    (16, 0.25, 8),     # 4 -> 8: never below the divisor
    (100, 1.1, 112),   # 110 -> nearest multiple of 8 is 112
    (40, 1.1, 48),     # 44 -> 48 (44 + 4 = 48, a multiple of 8)
    (112, 1.1, 120),   # 123.2 -> 120, less than 10% down
    (192, 1.2, 232),   # 230.4 -> 232
    (6, 1.0, 6),       # width 1 keeps counts that are not multiples of 8
])
def test_channels_round_like_make_divisible(c, w, expected):
    assert channels(c, w) == expected


@pytest.mark.parametrize("n,d,expected", [(1, 1.1, 2), (2, 1.1, 3), (4, 1.2, 5), (3, 0.5, 2),
                                          (1, 0.25, 1), (3, 3.1, 10), (4, 1.0, 4)])
def test_repeats_round_up(n, d, expected):
    assert repeats(n, d) == expected


def test_compound_rule():
    s = compound(2, (224, 224))
    assert s.depth == pytest.approx(1.44) and s.width == pytest.approx(1.21)
    assert s.resolution == (296, 296)  # 224 * 1.15^2 = 296.24
    assert compound(1, (224, 224)).resolution == (258, 258)  # 257.6, to the nearest pixel
    assert compound(0, (224, 160)).resolution == (224, 160)
    assert compound(-1, (224, 224)).resolution == (195, 195)  # 194.78


def test_parse_resolution():
    assert parse_resolution("240") == (240, 240)
    assert parse_resolution("240x320") == (240, 320)
    for bad in ("0", "abc", "1x2x3", "-5"):
        with pytest.raises(CnnCalcError):
            parse_resolution(bad)


# ------------------------------------------------------------------ what scales

def test_width_scales_filters_in_every_form_and_channel_args_only():
    raw, out = scaled(width=0.5)
    assert entry(out, "a")["conv"]["filters"] == 16
    assert entry(out, "b")["conv"][0] == 32 and entry(out, "b")["conv"][1:] == [3, 1, 1]
    assert entry(out, "c")["filters"] == 8
    assert entry(out, "d")["separable"]["filters"] == 24  # 20 -> 24 (halves go up)
    assert entry(out, "e")["conv"]["filters"] == "$(in_channels * 2)"  # expressions stay
    unit = entry(out, "f")["unit"]
    assert unit["filters"] == 24  # declared `channels`
    assert unit["squeeze"] == 8  # not declared `channels`
    assert entry(out, "fc")["dense"] == 120  # dense units never scale
    seq = entry(out, "s")["seq"]
    assert seq[0]["conv"]["filters"] == 32  # 28 -> 32 inside a container
    assert seq[1]["se"] == 4  # squeeze widths never scale
    # literals inside a block definition scale with it
    assert out["blocks"]["unit"]["layers"][1]["conv"]["filters"] == 16
    # the original is untouched
    assert entry(raw, "a")["conv"]["filters"] == 32


def test_scale_false_keeps_the_entry_and_all_inside_it():
    _, out = scaled(width=2.0, depth=2.0)
    g = entry(out, "g")
    assert g["conv"]["filters"] == 100 and g["repeat"] == 2


def test_depth_scales_literal_and_expression_repeats():
    _, out = scaled(depth=1.5)
    assert entry(out, "f")["repeat"] == 5  # ceil(4.5)
    # an expression is wrapped in the same rule: ceil((1 + 1) * 1.5) = 3 when evaluated
    assert entry(out, "s")["repeat"] == "$(scaled_repeats(1 + 1, 1.5))"
    s_node = next(n for n in analyze(load_text(to_yaml(out), "t")).walk() if n.path == "s")
    assert [c.name for c in s_node.children] == ["0", "1", "2"]
    assert entry(out, "a")["conv"]["filters"] == 32  # width 1 changes nothing


def test_resolution_replaces_the_input_and_the_description_says_so():
    _, out = scaled(resolution=(64, 48))
    assert out["input"] == "64x48x3"
    report = analyze(load_text(to_yaml(out), "t"))
    assert report.input_shape == (64, 48, 3)
    assert "64x48" in out["description"]


def test_resolution_of_a_vector_input_is_an_error():
    text = "name: v\ninput: 784\nlayers:\n  - dense: 10\n"
    with pytest.raises(CnnCalcError, match="image input"):
        scale_raw(load_yaml(text, "v.yaml"), Scaling(resolution=(28, 28)), "v.yaml")


@pytest.mark.parametrize("kw", [{"width": 0}, {"depth": -1}, {"width": float("nan")},
                                {"divisor": 0}])
def test_bad_multipliers(kw):
    with pytest.raises(CnnCalcError):
        scaled(**kw)


def test_scaled_counts_by_hand():
    # conv 3x3 on 8x8x3, padding 1: params 27 f + f, MACs 27 f * 64.
    text = "name: t\ninput: 8x8x3\nlayers:\n  - conv: {filters: 16, kernel: 3, padding: 1}\n"
    raw = load_yaml(text, "t.yaml")
    report = analyze(scaled_spec(raw, Scaling(width=1.5, resolution=(4, 4)), "t.yaml"))
    assert report.totals.params == 27 * 24 + 24
    assert report.totals.macs == 27 * 24 * 16


def test_errors_in_a_scaled_spec_point_at_the_users_line():
    text = textwrap.dedent("""\
        name: t
        input: 8x8x24
        layers:
          - conv: {filters: 24, kernel: 1}
          - conv: {filters: 24, kernel: 1, groups: 3}
    """)
    raw = load_yaml(text, "t.yaml")
    # width 0.5: 12 -> 16 filters, which groups = 3 does not divide
    with pytest.raises(CnnCalcError) as info:
        analyze(scaled_spec(raw, Scaling(width=0.5), "t.yaml"))
    problem = info.value.problems[0]
    assert problem.file == "t.yaml" and problem.line == 5
    assert "groups" in problem.message


def test_yaml_round_trip_and_rescaling():
    raw, out = scaled(width=0.75, depth=1.5, resolution=(40, 40))
    direct = analyze(scaled_spec(raw, Scaling(0.75, 1.5, (40, 40)), "toy.yaml"))
    text = to_yaml(out, "a header\nof two lines")
    assert text.startswith("# a header\n# of two lines\n")
    again = analyze(load_text(text, "again.yaml"))
    assert (again.totals.params, again.totals.macs) == (direct.totals.params, direct.totals.macs)
    # re-scalable: scaling the printed YAML by width 1 and depth 1 changes nothing
    twice = analyze(scaled_spec(load_yaml(text, "x"), Scaling(), "x"))
    assert twice.totals.macs == direct.totals.macs


def test_import_does_not_pull_in_torch():
    code = ("import sys, cnncalc.analyses.scale, cnncalc.commands.scale, cnncalc.commands.fit; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ the command

def test_cli_phi_shows_a_table(runner):
    result = runner.invoke(app, ["scale", "efficientnet_b0", "--phi", "1", "--levels", "0"])
    assert result.exit_code == 0, result.output
    assert "258x258x3" in result.output  # 224 * 1.15 = 257.6


def test_cli_b2_json_equals_torchvision(runner):
    result = runner.invoke(app, ["scale", "efficientnet_b0", "-w", "1.1", "-d", "1.2",
                                 "-r", "288", "-f", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["params"], totals["macs"]) == (9_109_994, 1_087_529_456)


def test_cli_yaml_is_a_loadable_spec(runner, tmp_path):
    result = runner.invoke(app, ["scale", "mobilenet_v1", "--width", "0.25", "--yaml"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# mobilenet_v1 scaled by cnncalc")
    path = tmp_path / "mnv1-025.yaml"
    path.write_text(result.stdout)
    # the paper: 0.25 MobileNet-224 has 0.5M params and 41M mult-adds
    again = runner.invoke(app, ["scale", str(path), "-r", "128", "-f", "json"])
    assert again.exit_code == 0, again.output
    totals = json.loads(again.stdout)["totals"]
    assert round(totals["params"] / 1e6, 1) == 0.5
    file, text = read("mobilenet_v1")
    direct = analyze(scaled_spec(load_yaml(text, file), Scaling(0.25, 1, (128, 128)), file))
    assert (totals["params"], totals["macs"]) == (direct.totals.params, direct.totals.macs)


@pytest.mark.parametrize("args,message", [
    (["--phi", "1", "--width", "2"], "not both"),
    ([], "nothing to scale"),
    (["--resolution", "big"], "--resolution"),
    (["--width", "0"], "width multiplier"),
])
def test_cli_bad_options_exit_2(runner, args, message):
    result = runner.invoke(app, ["scale", "efficientnet_b0", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


# ------------------------------------------------ what follows, where refusals point

FOLLOWS = textwrap.dedent("""\
    name: t
    input: 8x8x3
    blocks:
      unit:
        args: {c: channels, n: 4}
        let: {x: 2, y: $(x), z: $(x)}
        layers:
          - conv: {filters: $(c * 2), kernel: 1}
          - conv: {filters: $(in_channels * 0 + y + z + 4), kernel: 1}
          - conv: {filters: $(n * 2), kernel: 1}
            scale: false
    layers:
      - unit: {c: 16}
""")


def test_width_leaves_expressions_that_follow_a_channels_argument_or_the_input():
    # `$(c * 2)` reads an argument declared `channels` (scaled at each use: 16 -> 8), and the
    # second reads `in_channels` through the let chain y, z -> x (x reached twice): both
    # follow the scaled network and stay as written.
    _, out = scaled(FOLLOWS, width=0.5)
    layers = out["blocks"]["unit"]["layers"]
    assert layers[0]["conv"]["filters"] == "$(c * 2)"
    assert layers[1]["conv"]["filters"] == "$(in_channels * 0 + y + z + 4)"
    assert out["layers"][0]["unit"]["c"] == 8


def test_width_refusals_point_at_the_value_or_at_layers():
    # an expression from an argument not declared `channels`: the line of that value (10)
    text = FOLLOWS.replace("        scale: false\n", "")
    assert text != FOLLOWS
    with pytest.raises(CnnCalcError, match=r"^t\.yaml:10: --width cannot scale conv\.filters "
                                           r"'\$\(n \* 2\)': it comes from the argument 'n'"):
        scale_raw(load_yaml(text, "t.yaml"), Scaling(width=0.5), "t.yaml")
    # nothing to scale: the line of `layers:` (3)
    plain = "name: t\ninput: 8x8x3\nlayers:\n  - relu\n"
    with pytest.raises(CnnCalcError, match=r"^t\.yaml:3: the width multiplier 0\.5 would "
                                           "change nothing"):
        scale_raw(load_yaml(plain, "t.yaml"), Scaling(width=0.5), "t.yaml")
    with pytest.raises(CnnCalcError, match=r"^t\.yaml:3: --by depth: the depth multiplier "
                                           "would change nothing"):
        check_reach(load_yaml(plain, "t.yaml"), "t.yaml", ("depth",), "--by depth")


def test_width_refusals_name_the_values_own_line_and_none_for_a_plain_dict():
    # in a block mapping the value's line (12, `filters:`), not its mapping's (11, `kernel:`)
    text = FOLLOWS.replace("        scale: false\n", "").replace(
        "      - conv: {filters: $(n * 2), kernel: 1}\n",
        "      - conv:\n          kernel: 1\n          filters: $(n * 2)\n")
    assert "kernel: 1\n          filters" in text
    with pytest.raises(CnnCalcError, match=r"^t\.yaml:12: --width cannot scale conv\.filters"):
        scale_raw(load_yaml(text, "t.yaml"), Scaling(width=0.5), "t.yaml")
    # a spec given as a plain dict (the Python API) has no lines: the refusal names the file
    plain = {"name": "t", "input": "8x8x3", "layers": [{"relu": {}}]}
    with pytest.raises(CnnCalcError) as error:
        scale_raw(plain, Scaling(width=0.5), "t.yaml")
    assert str(error.value).startswith("t.yaml: the width multiplier 0.5 would change nothing")
    with pytest.raises(CnnCalcError) as error:
        check_reach(plain, "t.yaml", ("depth",), "--by depth")
    assert str(error.value).startswith("t.yaml: --by depth: the depth multiplier")


def test_an_invalid_expression_under_width_gets_the_parse_error_not_a_scaling_one():
    text = ("name: t\ninput: 8x8x3\nlayers:\n  - conv: {filters: 16, kernel: 1}\n"
            "  - conv: {filters: $(2 +), kernel: 1}\n")
    with pytest.raises(CnnCalcError) as error:
        analyze(scaled_spec(load_yaml(text, "t.yaml"), Scaling(width=0.5), "t.yaml"))
    assert "invalid expression" in str(error.value) and "--width" not in str(error.value)


def test_width_follows_lets_through_a_cycle_and_leaves_an_invalid_let_to_the_parser():
    # lets that read each other (x -> y -> x) are each followed once: the argument they reach
    # is named, and the search ends
    text = textwrap.dedent("""\
        name: t
        input: 8x8x3
        blocks:
          unit:
            args: {n: 4}
            let: {x: $(y + n), y: $(x + 1)}
            layers:
              - conv: {filters: $(x * 2), kernel: 1}
        layers:
          - unit: {n: 4}
        """)
    with pytest.raises(CnnCalcError, match=r"^t\.yaml:8: --width cannot scale conv\.filters "
                                           r"'\$\(x \* 2\)': it comes from the argument 'n'"):
        scale_raw(load_yaml(text, "t.yaml"), Scaling(width=0.5), "t.yaml")
    # a let that is not a valid expression: no --width refusal, the parse error says it
    broken = text.replace("let: {x: $(y + n), y: $(x + 1)}", "let: {x: $(2 +)}")
    with pytest.raises(CnnCalcError) as error:
        analyze(scaled_spec(load_yaml(broken, "t.yaml"), Scaling(width=0.5), "t.yaml"))
    assert "invalid expression" in str(error.value) and "--width" not in str(error.value)


def test_width_scales_a_top_level_expression_beside_a_block_as_fixed():
    # a top-level expression reads the spec's vars only (no block's arguments or lets are in
    # scope there): fixed, so --width wraps it; the block's use scales its channels argument
    text = textwrap.dedent("""\
        name: t
        input: 8x8x3
        vars: {base: 8}
        blocks:
          unit:
            args: {c: channels}
            layers:
              - conv: {filters: $c, kernel: 1}
        layers:
          - unit: {c: 16}
          - conv: {filters: $(base * 2), kernel: 1}
        """)
    out = scale_raw(load_yaml(text, "t.yaml"), Scaling(width=0.5), "t.yaml")
    assert out["layers"][0]["unit"]["c"] == 8
    assert out["layers"][1]["conv"]["filters"] == "$(scaled_channels(base * 2, 0.5, 8))"


def test_resolution_bounds_are_inclusive():
    assert parse_resolution("100000") == (100_000, 100_000)
    assert parse_resolution("0" * 37 + "240") == (240, 240)  # 40 characters: read
    for bad, words in (("100001", "not from 1 to 100,000"), ("0" * 38 + "240", "cannot read")):
        with pytest.raises(CnnCalcError, match=words):
            parse_resolution(bad)


def test_a_search_probes_only_the_multipliers_it_varies():
    # `fit --by depth` on a spec whose width could not be scaled (an expression from an
    # argument not declared `channels`) is fine: only depth is probed. `--by width` on it is
    # refused at that value's line.
    text = FOLLOWS.replace("        scale: false\n", "").replace(
        "  - unit: {c: 16}", "  - unit: {c: 16}\n    repeat: 2")
    check_reach(load_yaml(text, "t.yaml"), "t.yaml", ("depth",), "--by depth")
    with pytest.raises(CnnCalcError, match=r"^t\.yaml:10: --width cannot scale"):
        check_reach(load_yaml(text, "t.yaml"), "t.yaml", ("width",), "--by width")
