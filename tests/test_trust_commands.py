"""Issue 13 on the command side: channels-first sizes (class 4), scaling that must scale or
refuse (class 5, with `--var`), work bounded by what is computed (class 7), and every numeric
option refused when non-finite, out of range or absurd (class 13).

Expected numbers are hand formulas written in the tests (conv: `f*f*c_in*c_out + c_out`
params; `make_divisible(c * w, 8)` for widths, `ceil(n * d)` for repeats, as torchvision
rounds them); the option bounds are the table of docs/bad-input.md, written here again.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.commands import app
from cnncalc.core.catalog import bundled
from cnncalc.core.shapes import channels_first

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def invoke(runner, *args: str):
    return runner.invoke(app, [str(a) for a in args])


def refused(result, *parts: str, lines: int = 1) -> str:
    """The stderr line (one per problem) of an exit-2 refusal, each with every part."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    found = result.stderr.strip().splitlines()
    assert len(found) == lines, result.stderr
    for line in found:
        for part in parts:
            assert part in line, line
    return found[0]


def totals(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["totals"]


# ====================================================================== class 4: channels first

@pytest.mark.parametrize("command", ["show", "memory", "explain", "check"])
@pytest.mark.parametrize("size,readings", [
    ("3x224x224", ("height 3, width 224, 224 channels", "3 channels of 224x224",
                   "write 224x224x3")),
    ("1x28x28", ("height 1, width 28, 28 channels", "1 channel of 28x28", "write 28x28x1")),
    ("4x240x320", ("height 4, width 240, 320 channels", "write 240x320x4")),
])
def test_input_in_torch_order_is_refused_naming_both_readings(runner, command, size, readings):
    line = refused(invoke(runner, command, "lenet5", "--input", size), "--input", *readings)
    assert "channels-first" in line


def test_compare_refuses_a_torch_order_input_once(runner):
    refused(invoke(runner, "compare", "lenet5", "alexnet", "-i", "3x32x32"), "write 32x32x3")


@pytest.mark.parametrize("written", ["[3, 32, 32]", "3x32x32", "'3 x 32 x 32'"])
def test_spec_input_in_torch_order_is_refused_at_its_line(runner, tmp_path, written):
    spec = write(tmp_path, f"name: t\ninput: {written}\nlayers:\n  - conv: {{filters: 8, "
                           "kernel: 3}\n")
    for command in (["show"], ["scale", "--width", "2"], ["fit", "--max-params", "1M"]):
        line = refused(invoke(runner, command[0], spec, *command[1:]), f"{spec}:2:",
                       "height 3, width 32, 32 channels", "write 32x32x3")
        assert "3 channels of 32x32" in line


def _real_inputs() -> list[tuple[int, ...]]:
    """Every HxWxC size the bundled specs, the README and the docs give as an input."""
    from cnncalc.core.source import load

    shapes = {load(name).input_shape for name in bundled()}
    # the examples of the README and the docs: their code blocks (the table of refusals in
    # docs/bad-input.md quotes torch's order, outside any block)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    readme = "\n".join(block for page in pages for block in re.findall(
        r"```[a-z]*\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S))
    # less the commands shown refused for it (docs/bad-input.md's example)
    readme = re.sub(r"^\$ [^\n]*\n[^\n]*looks channels-first.*$", "", readme, flags=re.M)
    for h, w, c in re.findall(r"(?:input:? *|--input |-i |-r )(\d+)x(\d+)x(\d+)", readme):
        shapes.add((int(h), int(w), int(c)))
    for h, w, c in re.findall(r"input: *\[(\d+), *(\d+), *(\d+)\]", readme):
        shapes.add((int(h), int(w), int(c)))
    return sorted(s for s in shapes if len(s) == 3)


def test_no_real_input_of_the_bundled_specs_or_the_readme_is_refused():
    inputs = _real_inputs()
    assert (224, 224, 3) in inputs and (28, 28, 192) in inputs and len(inputs) >= 5
    assert [s for s in inputs if channels_first(s)] == []


@given(st.integers(1, 5000), st.integers(1, 5000), st.integers(1, 4))
def test_an_image_written_channels_last_is_never_refused(h, w, c):
    assert not channels_first((h, w, c))


@given(st.integers(1, 7), st.integers(1, 100_000))
def test_a_small_feature_map_is_never_refused(side, c):
    assert not channels_first((side, side, c))


@given(st.integers(1, 4), st.integers(8, 5000), st.integers(3, 4), st.integers(8, 5000),
       st.integers(8, 5000))
def test_an_image_written_in_torch_order_is_refused(c, side, rgb, h, w):
    assert channels_first((c, side, side))  # square: grey, two-channel, RGB, RGBA
    assert channels_first((rgb, h, w))  # colour of any aspect


# ====================================================================== class 5: scaling

# k = 2: conv 32 filters 3x3 on 16x16x3; repeat n = 2 of conv 8 filters 3x3; flatten; a hidden
# dense of 64 units; the classifier of 10.
EXPRESSIONS = """\
    name: expr
    input: 16x16x3
    vars: {k: 2, n: 2}
    layers:
      - conv: {filters: $(16 * k), kernel: 3}
      - conv: {filters: 8, kernel: 3}
        repeat: $n
      - flatten
      - dense: 64
      - dense: 10
"""


def conv_params(f: int, c_in: int, c_out: int) -> int:
    return f * f * c_in * c_out + c_out


def dense_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def expressions_params(c1: int, c2: int, repeats: int, hidden: int) -> int:
    """EXPRESSIONS' params with c1, c2 filters, `repeats` of the second conv, `hidden` units:
    16 -> 14 after the first 3x3 conv, 2 less after each repeat."""
    side = 14 - 2 * repeats
    return (conv_params(3, 3, c1) + conv_params(3, c1, c2)
            + (repeats - 1) * conv_params(3, c2, c2)
            + dense_params(side * side * c2, hidden) + dense_params(hidden, 10))


def test_expression_widths_repeats_and_hidden_dense_units_scale(runner, tmp_path):
    spec = write(tmp_path, EXPRESSIONS)
    assert totals(invoke(runner, "show", spec, "-f", "json"))["params"] == \
        expressions_params(32, 8, 2, 64)
    # width 2: 32 -> 64, 8 -> 16, hidden 64 -> 128 (make_divisible of multiples of 8 is
    # exact), the classifier keeps its 10; depth 2: repeat 2 -> 4
    scaled = totals(invoke(runner, "scale", spec, "-w", "2", "-d", "2", "-f", "json"))
    assert scaled["params"] == expressions_params(64, 16, 4, 128)
    # width 0.5: 32 -> 16, 8 -> 8 (never below the divisor), 64 -> 32
    half = totals(invoke(runner, "scale", spec, "-w", "0.5", "-f", "json"))
    assert half["params"] == expressions_params(16, 8, 2, 32)


def test_scaled_yaml_of_expressions_reads_back_to_the_same_numbers(runner, tmp_path):
    spec = write(tmp_path, EXPRESSIONS)
    text = invoke(runner, "scale", spec, "-w", "2", "-d", "1.5", "--yaml").stdout
    assert "scaled_channels(16 * k, 2.0, 8)" in text and "scaled_repeats(n, 1.5)" in text
    again = write(tmp_path, text, "again.yaml")
    # repeat ceil(2 * 1.5) = 3
    assert totals(invoke(runner, "show", again, "-f", "json"))["params"] == \
        expressions_params(64, 16, 3, 128)


def test_fit_by_width_scales_an_expression_width(runner, tmp_path):
    # test_fit's WIDE with its 16 filters written as $(8 * k): a 1x1 conv from 8 channels on
    # 4x4: MACs = 128 c, c = make_divisible(16 w, 8); 128 * 24 MACs fit up to w = 1.5
    spec = write(tmp_path, "name: wide\ninput: 4x4x8\nvars: {k: 2}\nlayers:\n"
                           "  - conv: {filters: $(8 * k), kernel: 1, bias: false}\n")
    result = invoke(runner, "fit", spec, "--by", "width", "--max-macs", 128 * 24)
    assert result.exit_code == 0, result.output
    assert "Largest that fits: width 1.5" in result.stdout


def test_fit_by_depth_scales_an_expression_repeat(runner, tmp_path):
    # four 1x1 convs 8 -> 8 without bias (64 params each) as `repeat: $n`: depth d gives
    # ceil(4 d) of them; 400 params fit 6 (depth 1.5)
    spec = write(tmp_path, "name: deep\ninput: 4x4x8\nvars: {n: 4}\nlayers:\n"
                           "  - conv: {filters: 8, kernel: 1, bias: false}\n    repeat: $n\n")
    result = invoke(runner, "fit", spec, "--by", "depth", "--max-params", 400)
    assert result.exit_code == 0, result.output
    assert "Largest that fits: depth 1.5" in result.stdout


def test_channels_arguments_given_by_expressions_scale(runner, tmp_path):
    spec = write(tmp_path, """\
        name: b
        input: 8x8x3
        vars: {k: 2}
        blocks:
          unit:
            args: {f: channels}
            layers:
              - conv: {filters: $f, kernel: 1}
              - conv: {filters: $(2 * f), kernel: 1}
        layers:
          - unit: {f: $(4 * k)}
    """)
    # f = 8 -> 16 at width 2; the second conv follows f (2 f = 32), scaled once, not twice
    expected = conv_params(1, 3, 16) + conv_params(1, 16, 32)
    assert totals(invoke(runner, "scale", spec, "-w", "2", "-f", "json"))["params"] == expected


def test_the_classifier_keeps_its_classes_wherever_it_is_written(runner, tmp_path):
    spec = write(tmp_path, """\
        name: head
        input: 16
        vars: {classes: 10}
        blocks:
          head:
            layers:
              - dense: $classes
        layers:
          - dense: 32
          - head
    """)
    # width 2: the hidden 32 -> 64; the block's dense is the network's last: 10 classes
    expected = dense_params(16, 64) + dense_params(64, 10)
    assert totals(invoke(runner, "scale", spec, "-w", "2", "-f", "json"))["params"] == expected


def test_a_width_from_a_plain_block_argument_is_refused(runner, tmp_path):
    spec = write(tmp_path, """\
        name: plain
        input: 8x8x3
        blocks:
          unit:
            args: {f: 16}
            layers:
              - conv: {filters: $f, kernel: 3, padding: 1}
        layers:
          - unit: {f: 32}
    """)
    refused(invoke(runner, "scale", spec, "-w", "2"), f"{spec}:7:", "argument 'f'",
            "block 'unit'", "not declared 'channels'", "args: {f: channels}")
    refused(invoke(runner, "fit", spec, "--by", "width", "--max-params", "1M"),
            "not declared 'channels'")
    # depth does not touch widths: nothing to refuse there but the missing repeat
    refused(invoke(runner, "scale", spec, "-d", "2"), "depth multiplier 2 would change nothing")


@pytest.mark.parametrize("args,what", [
    (["scale", "lenet5", "-d", "2"], "depth multiplier 2 would change nothing"),
    (["scale", "lenet5", "--phi", "1"], "phi 1: the depth multiplier 1.2 would change nothing"),
    (["fit", "lenet5", "--by", "depth", "--max-params", "1M"], "--by depth: the depth"),
    (["fit", "lenet5", "--max-params", "1M"], "--by compound: the depth"),
])
def test_a_multiplier_that_reaches_nothing_is_refused(runner, args, what):
    refused(invoke(runner, *args), what, "no 'repeat:'")


def test_a_spec_of_only_following_widths_cannot_be_width_scaled(runner, tmp_path):
    spec = write(tmp_path, "name: f\ninput: 8x8x4\nlayers:\n"
                           "  - conv: {filters: $(2 * in_channels), kernel: 1}\n")
    refused(invoke(runner, "scale", spec, "-w", "2"), "width multiplier 2 would change nothing")


# ---------------------------------------------------------------------- --var

VARS = "name: v\ninput: 8x8x3\nvars: {k: 2, act: relu}\nlayers:\n" \
       "  - conv: {filters: $(4 * k), kernel: 1}\n"


@pytest.mark.parametrize("command", [
    ["show"], ["memory"], ["explain"], ["scale", "-w", "2"], ["compare", "SPEC"],
    ["check", "--max-params", "1M"], ["fit", "--by", "width", "--max-params", "1M"]])
def test_var_overrides_and_unknown_names_are_listed(runner, tmp_path, command):
    spec = write(tmp_path, VARS)
    args = [a if a != "SPEC" else spec for a in command[1:]]
    result = invoke(runner, command[0], spec, *args, "--var", "k=4")
    assert result.exit_code == 0, result.output
    specs = 2 if command[0] == "compare" else 1  # compare names each spec that lacks it
    refused(invoke(runner, command[0], spec, *args, "--var", "kk=4"),
            "--var kk: the spec has no var 'kk'", "(did you mean 'k'?)", "its vars: k, act",
            lines=specs)
    refused(invoke(runner, command[0], spec, *args, "--var", "k=four"),
            "--var k: the spec's k is a number", lines=specs)


def test_var_changes_the_numbers(runner, tmp_path):
    spec = write(tmp_path, VARS)
    assert totals(invoke(runner, "show", spec, "-f", "json", "--var", "k=4"))["params"] == \
        conv_params(1, 3, 16)
    # then scaled: 4 * 3 = 12 filters, width 2 -> make_divisible(24, 8) = 24
    assert totals(invoke(runner, "scale", spec, "-w", "2", "-f", "json", "--var", "k=3"))[
        "params"] == conv_params(1, 3, 24)
    fit = invoke(runner, "fit", spec, "--by", "width", "--max-params", "1M", "--var", "k=3")
    assert "--var k=3" in fit.stdout


@pytest.mark.parametrize("value,message", [
    ("k", "write NAME=VALUE"), ("=4", "write NAME=VALUE"), ("k=1e999", "too large"),
    ("k=" + "9" * 200, "too long"), ("k=nan", "the spec's k is a number"),
])
def test_malformed_vars(runner, tmp_path, value, message):
    refused(invoke(runner, "show", write(tmp_path, VARS), "--var", value), message)


def test_var_on_a_spec_without_vars(runner):
    refused(invoke(runner, "show", "lenet5", "--var", "k=4"), "declares no vars")


# ====================================================================== class 7: bounded work

def measured(args: list[str]) -> tuple[int, str, str, float, int]:
    from test_errors import run_measured  # the corpus' child-only CPU and memory measure

    from tests.conftest import skip_child_process_under_mutation

    skip_child_process_under_mutation()

    code, out, err, _wall, cpu, rss = run_measured([sys.executable, "-m", "cnncalc", *args])
    assert "Traceback" not in err, err
    assert cpu <= 2.0, f"{cpu:.2f} s of CPU"
    assert rss <= 200 * 2**20, f"{rss / 2**20:.0f} MiB"
    return code, out, err, cpu, rss


def test_the_heaviest_output_at_the_row_limit_stays_within_bounds(tmp_path):
    # 9,999 convs and their repeat: 10,000 rows, the limit; explain's JSON is the heaviest
    spec = write(tmp_path, "name: r\ninput: 8x8x3\nlayers:\n  - conv: {filters: 3, "
                           "kernel: 1}\n    repeat: 9999\n")
    code, out, err, *_ = measured(["explain", spec, "-f", "json"])
    assert code == 0, err
    # one more row is refused, before the passes are expanded (the repeat's row counted)
    spec = write(tmp_path, "name: r\ninput: 8x8x3\nlayers:\n  - relu: {}\n    repeat: 10000\n")
    code, _, err, *_ = measured(["show", spec, "-f", "json"])
    assert code == 2 and "repeat 10,000 of 1 rows each is more than the 10,000 rows" in err


@pytest.mark.parametrize("args,message", [
    (["fit", "lenet5", "--by", "width", "--max-params", "1e100000000"], "more than 10^100"),
    (["fit", "lenet5", "--by", "width", "--max-params", "1e400"], "more than 10^100"),
    (["check", "lenet5", "--max-params", "9" * 5000], "(5,000 chars) is too long"),
    (["check", "lenet5", "--max-macs", "1e-100000000"], "not a whole number"),
    (["check", "lenet5", "--baseline", "BASE", "--max-growth", "9" * 5000 + "%"], "too long"),
    (["check", "lenet5", "--baseline", "BASE", "--max-growth", "2000000%"],
     "more than 1,000,000%"),
    (["show", "lenet5", "--batch", "1" + "0" * 400], "--batch"),
    (["show", "lenet5", "--batch", "9" * 5000], "(5,000 chars)"),
])
def test_huge_numbers_in_options_and_budgets_are_refused_at_once(runner, tmp_path, args,
                                                                  message):
    base = tmp_path / "base.json"
    base.write_text(invoke(runner, "show", "lenet5", "-f", "json").stdout)
    start = time.process_time()
    refused(invoke(runner, *[str(base) if a == "BASE" else a for a in args]), message)
    assert time.process_time() - start < 2


def test_a_spec_budget_past_a_googol_is_refused_by_check(runner, tmp_path):
    spec = write(tmp_path, "name: b\ninput: 8x8x3\nbudget: {params: '1e100000000', "
                           "macs: 10000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000}\nlayers: [relu]\n")
    result = invoke(runner, "check", spec)
    assert result.exit_code == 2
    assert "budget.params: '1e100000000' is more than 10^100" in result.stderr
    assert "budget.macs: " in result.stderr and "is more than 10^100" in result.stderr


def test_fit_bounds_the_work_of_its_search(runner):
    start = time.process_time()
    result = invoke(runner, "fit", "efficientnet_b0", "--by", "resolution", "--from", "32",
                    "--to", "32000", "--step", "32", "--max-macs", "1e99")
    refused(result, "at most 30,000", "narrow --from/--to or raise --step")
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines slow every call
        assert time.process_time() - start < 4  # a loaded runner; the child measure is in corpus


def _matrix(n: int) -> str:
    return "\n".join(",".join(str((i * 7 + j * 3) % 10 - 5) for j in range(n))
                     for i in range(n))


def test_conv_on_a_200x200_matrix_is_fast_and_exact(runner, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(_matrix(200))
    start = time.process_time()
    result = invoke(runner, "conv", "-i", path, "-k", "1 0 -1; 1 0 -1; 1 0 -1")
    assert result.exit_code == 0, result.output
    assert time.process_time() - start < 2
    # x[i][j] = (7i + 3j) % 10 - 5: the vertical-edge sum at (i, j) is
    # sum over u of x[i+u][j] - x[i+u][j+2], computed here cell by cell for the first row
    x = [[(i * 7 + j * 3) % 10 - 5 for j in range(200)] for i in range(200)]
    first = [sum(x[u][j] - x[u][j + 2] for u in range(3)) for j in range(198)]
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 3 + 198  # the filter's three rows, then the output's
    assert [int(v) for v in rows[3].strip("│").split("│")] == first


@pytest.mark.parametrize("n,message", [
    (1000, "1,000x1,000 is more than the 250,000 values"),
    # a valid 9x9 filter on 400x400: 392 x 392 outputs of 81 multiply-adds each
    (400, f"is {392 * 392 * 81:,} multiply-adds, more than the 5,000,000"),
])
def test_conv_bounds_its_input_and_work(runner, tmp_path, n, message):
    path = tmp_path / "m.csv"
    path.write_text(_matrix(n))
    kernel = tmp_path / "k.csv"
    kernel.write_text(_matrix(9 if n == 400 else 3))
    start = time.process_time()
    refused(invoke(runner, "conv", "-i", path, "-k", kernel), "cnncalc conv:", message)
    assert time.process_time() - start < 2


# ====================================================================== class 13: options

# The bounds of docs/bad-input.md, written again: (command and arguments, option, kind, low,
# high, low excluded). A value is valid when it is a finite number (a whole one for "int") in
# range.
OPTIONS = [
    (["show", "SPEC"], "--batch", "int", 1, 10**9, False),
    (["show", "SPEC"], "--levels", "int", 0, 1000, False),
    (["show", "SPEC"], "--depth", "int", 0, 1000, False),  # deprecated spelling of --levels
    (["show", "SPEC", "--training"], "--samples", "int", 1, 10**12, False),
    (["memory", "SPEC"], "--batch", "int", 1, 10**9, False),
    (["compare", "SPEC", "SPEC"], "--batch", "int", 1, 10**9, False),
    (["check", "SPEC"], "--batch", "int", 1, 10**9, False),
    (["scale", "SPEC", "-w", "1.5"], "--batch", "int", 1, 10**9, False),
    (["scale", "SPEC"], "--width", "float", 0, 100, True),
    (["scale", "SPEC"], "--depth", "float", 0, 100, True),
    (["scale", "SPEC"], "--phi", "float", -20, 20, False),
    (["scale", "SPEC", "-w", "1.5"], "--divisor", "int", 1, 1024, False),
    (["scale", "SPEC", "-w", "1.5"], "--levels", "int", 0, 1000, False),
    (["fit", "SPEC", "--by", "width", "--to", "1", "--max-params", "1e99"], "--divisor", "int",
     1, 1024, False),
    (["conv", "-i", "1 2; 3 4", "-k", "1"], "--stride", "int", 1, 1000, False),
]
TINY = ("name: tiny\ninput: 32x32x3\nlayers:\n  - conv: {filters: 8, kernel: 1}\n"
        "    repeat: 2\n")

VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "0.0", "1", "2", "0.5", "1e-300",
                     "1e3", "100", "101", "1000", "1001", "1024", "1025", "20", "21", "-20",
                     "1e9", "1000000001", "9" * 5000, "", " ", "abc", "0x10", "1_000"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)


def valid(text: str, kind: str, low: float, high: float, above: bool) -> bool:
    try:
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        return False
    if len(text.strip()) > 40 or not math.isfinite(value):
        return False
    return (low < value if above else low <= value) and value <= high


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(OPTIONS), value=VALUES)
def test_every_numeric_option_takes_only_a_bounded_finite_value(runner, tmp_path, case, value):
    command, option, kind, low, high, above = case
    spec = tmp_path / "tiny.yaml"
    if not spec.exists():
        spec.write_text(TINY)
    args = [str(spec) if a == "SPEC" else a for a in command]
    result = runner.invoke(app, [*args, f"{option}={value}"])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (value, result.exception)
    if valid(value, kind, low, high, above):
        assert result.exit_code == 0, (option, value, result.output)
    else:
        assert result.exit_code == 2, (option, value, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and option in lines[0], (value, result.stderr)


@pytest.mark.parametrize("args,option", [
    (["verify", "lenet5", "--runs", "0"], "--runs"),
    (["verify", "lenet5", "--runs", "10001"], "--runs"),
    (["verify", "lenet5", "--warmup", "-1"], "--warmup"),
    (["verify", "lenet5", "--warmup", "1e3"], "--warmup"),
    (["verify", "lenet5", "--levels", "1001"], "--levels"),
    (["verify", "lenet5", "--batch", "0"], "--batch"),
    (["explain", "lenet5", "--input", "0x32x3"], "--input"),
    (["scale", "lenet5", "-r", "0"], "--resolution"),
    (["scale", "lenet5", "-r", "100001"], "--resolution"),
    (["scale", "lenet5", "-r", "9" * 5000], "--resolution"),
    (["fit", "lenet5", "--by", "width", "--from", "-1", "--max-params", "1M"], "--from -1"),
    (["fit", "lenet5", "--by", "width", "--to", "101", "--max-params", "1M"], "--to 101"),
    (["fit", "lenet5", "--by", "width", "--from", "nan", "--max-params", "1M"], "--from"),
    (["fit", "lenet5", "--by", "compound", "--to", "inf", "--max-params", "1M"], "--to"),
    (["fit", "lenet5", "--by", "compound", "--to", "21", "--max-params", "1M"], "--to 21"),
    (["fit", "lenet5", "--by", "resolution", "--from", "0", "--max-params", "1M"], "--from 0"),
    (["fit", "lenet5", "--by", "resolution", "--from", "31.5", "--max-params", "1M"],
     "whole pixels"),
    (["fit", "lenet5", "--step", "0", "--max-params", "1M"], "--step"),
    (["fit", "lenet5", "--step", "1e-9", "--max-params", "1M"], "at most 1,000"),
    (["conv", "-i", "1 2; 3 4", "-k", "1", "--padding", "-1"], "--padding"),
    (["conv", "-i", "1 2; 3 4", "-k", "1", "--padding", "101"], "--padding"),
    (["conv", "-i", "1 nan; 3 4", "-k", "1"], "--input"),
    (["conv", "-i", "1 2; 3 4", "-k", "1e400"], "--filter"),
])
def test_other_numeric_options_refuse_with_one_line(runner, args, option):
    refused(invoke(runner, *args), option)
