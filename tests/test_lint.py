"""`cnncalc lint` and `check --lint`: every rule fires on a planted smell (at the entry's line)
and stays quiet on the clean form, `--ignore` and `lint: {ignore: [...]}` silence rules,
exit codes are check's, annotations are GitHub's, and the zoo's findings are the reviewed
ones (docs/lint.md).

Truth from outside the engine: output sizes by the lecture's `floor((n + 2p - f) / s) + 1`,
which input pixels a window reads by hand, parameter counts by the closed forms, receptive
fields by Araujo et al.'s `r' = r + (f - 1) j`, and the zoo networks' own structure (ResNet's
three stride-2 projection shortcuts, AlexNet's and VGG's fc6).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cnncalc.analyses.lint import RULES
from cnncalc.commands import app


def write(tmp_path: Path, layers: str, input: str = "32x32x8", extra: str = "") -> str:
    path = tmp_path / "net.yaml"
    body = textwrap.indent(textwrap.dedent(layers).strip(), "  ")
    path.write_text(f"name: net\ninput: {input}\n{extra}layers:\n{body}\n", encoding="utf-8")
    return str(path)


def lint(runner, *args, env=None):
    return runner.invoke(app, ["lint", *map(str, args)], env=env or {"GITHUB_ACTIONS": ""})


def findings(runner, *args) -> list[dict]:
    result = lint(runner, *args, "-f", "json")
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert result.exit_code == (1 if any(s["findings"] for s in doc["specs"]) else 0)
    return [f for s in doc["specs"] for f in s["findings"]]


def fired(runner, *args, rule: str | None = None) -> list[tuple[str, str, int]]:
    """(rule, layer, line) of every finding, or of one rule's."""
    return [(f["rule"], f["layer"], f["line"]) for f in findings(runner, *args)
            if rule is None or f["rule"] == rule]


# ====================================================================== one rule at a time
# Layers start on line 4 of the written spec (name, input, layers:), one line per layer.

def test_bias_before_batchnorm_fires(runner, tmp_path):
    spec = write(tmp_path, """\
        - conv: {filters: 16, kernel: 3, padding: 1}
        - batchnorm
        - relu
    """)
    found = findings(runner, spec)
    assert [(f["rule"], f["layer"], f["line"]) for f in found] == [
        ("bias-before-batchnorm", "conv1", 4)]
    assert "16 params" in found[0]["message"] and "batchnorm1" in found[0]["message"]
    assert found[0]["file"] == spec and found[0]["hint"] and found[0]["reason"]


@pytest.mark.parametrize("layers", [
    "- conv: {filters: 16, kernel: 3, bias: false}\n- batchnorm",
    "- conv: {filters: 16, kernel: 3}\n- relu\n- batchnorm",          # not directly before
    "- conv: {filters: 16, kernel: 3, activation: relu}\n- batchnorm",
    "- conv: {filters: 16, kernel: 3}\n  name: c\n- batchnorm\n- conv: {filters: 16, "
    "kernel: 1}\n  from: c",                                            # read twice: it counts
])
def test_bias_before_batchnorm_clean(runner, tmp_path, layers):
    assert fired(runner, write(tmp_path, layers)) == []


def test_pixels_dropped_fires(runner, tmp_path):
    # floor((224 - 3) / 2) + 1 = 111 windows read rows 0 .. 222 of 224: row 223 never
    spec = write(tmp_path, "- conv: {filters: 8, kernel: 3, stride: 2}", "224x224x8")
    found = findings(runner, spec)
    assert [(f["rule"], f["line"]) for f in found] == [("pixels-dropped", 4)]
    assert "the last 1 of 224 input rows or columns" in found[0]["message"]


def test_pixels_dropped_on_one_axis(runner, tmp_path):
    spec = write(tmp_path, "- conv: {filters: 8, kernel: 3, stride: 2}", "224x225x8")
    found = findings(runner, spec)
    assert [f["rule"] for f in found] == ["pixels-dropped"]
    assert "the last 1 of 224 input rows (" in found[0]["message"]
    assert "columns" not in found[0]["message"]


@pytest.mark.parametrize("layers, input", [
    ("- conv: {filters: 8, kernel: 3, stride: 2}", "225x225x8"),   # (225 - 3) / 2 exact
    ("- conv: {filters: 8, kernel: 3, stride: 2, padding: 1}", "224x224x8"),  # lost: padding
    ("- maxpool: {kernel: 2, ceil_mode: true}", "7x7x8"),            # the last window hangs over
    ("- maxpool: 2", "8x8x8"),
])
def test_pixels_dropped_clean(runner, tmp_path, layers, input):
    assert fired(runner, write(tmp_path, layers, input)) == []


def test_pixels_dropped_by_a_pool_on_an_odd_map(runner, tmp_path):
    # VGG's 2x2 pool on a 7x7 map: 3 windows read rows 0 .. 5
    found = findings(runner, write(tmp_path, "- maxpool: 2", "7x7x8"))
    assert [f["rule"] for f in found] == ["pixels-dropped"]
    assert "the last 1 of 7 input rows" in found[0]["message"]


TENSOR = """\
- conv: {filters: 32, kernel: 3, padding: 1}
- conv: {filters: 30, kernel: 3, padding: 1}
- conv: {filters: 32, kernel: 1}
"""


def test_tensor_core_channels_fire_at_fp16(runner, tmp_path):
    spec = write(tmp_path, TENSOR, "16x16x3")   # the image's 3 channels are no choice
    found = findings(runner, spec, "--dtype", "fp16")
    assert [(f["rule"], f["layer"]) for f in found] == [
        ("tensor-core-channels", "conv2"), ("tensor-core-channels", "conv3")]
    assert "output 30" in found[0]["message"] and "input 30" in found[1]["message"]
    assert [(f["rule"], f["layer"]) for f in findings(runner, spec, "--dtype", "bf16")] == [
        ("tensor-core-channels", "conv2"), ("tensor-core-channels", "conv3")]


def test_tensor_core_channels_rest_at_fp32_and_ask_16_at_int8(runner, tmp_path):
    assert fired(runner, write(tmp_path, TENSOR, "16x16x3")) == []
    spec = write(tmp_path, "- conv: {filters: 24, kernel: 1}\n- flatten\n- dense: 1", "1x1x16")
    assert fired(runner, spec, "--dtype", "fp16") == [("tensor-core-channels", "dense1", 6)]
    assert [r for r, _, _ in fired(runner, spec, "--dtype", "int8")] == [
        "tensor-core-channels", "tensor-core-channels"]


def test_tensor_core_channels_clean(runner, tmp_path):
    spec = write(tmp_path, """\
        - pad: 1
        - conv: {filters: 32, kernel: 3}
        - depthwise: {kernel: 3, padding: 1}
        - conv: {filters: 64, kernel: 1, groups: 4}
        - global_pool
        - dense: 1000
    """, "16x16x3")
    assert fired(runner, spec, "--dtype", "fp16", rule="tensor-core-channels") == []


def test_stride_exceeds_kernel_fires(runner, tmp_path):
    # a 1x1 kernel with stride 2 reads rows and columns 0, 2, 4, ...: one pixel in four
    found = findings(runner, write(tmp_path, "- conv: {filters: 8, kernel: 1, stride: 2}"))
    assert [(f["rule"], f["line"]) for f in found] == [("stride-exceeds-kernel", 4)]
    assert "3/4 of its input is never seen" in found[0]["message"]


def test_stride_exceeds_kernel_through_dilation(runner, tmp_path):
    # taps at 0 and 2, windows every 2: only even rows and columns are read
    spec = write(tmp_path, "- conv: {filters: 8, kernel: 2, dilation: 2, stride: 2}")
    assert [r for r, _, _ in fired(runner, spec, rule="stride-exceeds-kernel")] == [
        "stride-exceeds-kernel"]


@pytest.mark.parametrize("layer", [
    "- conv: {filters: 8, kernel: 3, stride: 2, padding: 1}",
    "- conv: {filters: 8, kernel: 2, stride: 2}",
    "- conv: {filters: 8, kernel: 3, dilation: 2, padding: 2}",
    "- maxpool: 2",
])
def test_stride_exceeds_kernel_clean(runner, tmp_path, layer):
    assert fired(runner, write(tmp_path, layer)) == []


def test_window_exceeds_input_fires_on_dead_weights(runner, tmp_path):
    # a 3x3 kernel padded by 1 on a 1x1 map: only the centre weight ever meets the pixel
    found = findings(runner, write(tmp_path, "- conv: {filters: 8, kernel: 3, padding: 1}",
                                   "1x1x8"))
    assert [(f["rule"], f["line"]) for f in found] == [("window-exceeds-input", 4)]
    assert "8 of its 3x3 kernel positions only ever meet padding" in found[0]["message"]


def test_window_exceeds_input_fires_on_a_pool_larger_than_its_map(runner, tmp_path):
    spec = write(tmp_path, "- maxpool: {kernel: 3, stride: 2, ceil_mode: true}", "2x2x8")
    found = findings(runner, spec)
    assert [f["rule"] for f in found] == ["window-exceeds-input"]
    assert "3-wide window is larger than the 2 input rows" in found[0]["message"]


@pytest.mark.parametrize("layer, input", [
    # on 2x2, taps 0..2 at outputs 0 and 1 read rows -1..1 and 0..2: each tap meets a pixel
    ("- conv: {filters: 8, kernel: 3, padding: 1}", "2x2x8"),
    ("- conv: {filters: 8, kernel: 3, padding: 1}", "32x32x8"),
    ("- maxpool: {kernel: 3, stride: 2, padding: 1}", "4x4x8"),
])
def test_window_exceeds_input_clean(runner, tmp_path, layer, input):
    assert fired(runner, write(tmp_path, layer, input)) == []


def test_dense_dominates_params_fires(runner, tmp_path):
    # conv: 3*3*8*64 + 64 = 4,672 params; dense: 8*8*64*1000 + 1000 = 4,097,000
    found = findings(runner, write(tmp_path, """\
        - conv: {filters: 64, kernel: 3, padding: 1}
        - maxpool: 4
        - flatten
        - dense: 1000
    """))
    assert [(f["rule"], f["layer"], f["line"]) for f in found] == [
        ("dense-dominates-params", "dense1", 7)]
    share = 4_097_000 / (4_097_000 + 4_672)
    assert f"4,097,000 of the network's {4_097_000 + 4_672:,} params ({share:.1%})" in \
        found[0]["message"]


def test_dense_dominates_params_clean(runner, tmp_path):
    assert fired(runner, write(tmp_path, """\
        - conv: {filters: 64, kernel: 3, padding: 1}
        - global_pool
        - dense: 10
    """), rule="dense-dominates-params") == []


RESIDUAL = """\
- residual:
    body:
      - conv: {{filters: 8, kernel: 3, padding: 1, bias: false}}
      - batchnorm
{last}    activation: relu
"""


def test_activation_before_add_fires(runner, tmp_path):
    spec = write(tmp_path, RESIDUAL.format(last="      - relu\n"))
    assert fired(runner, spec) == [("activation-before-add", "residual1.relu1", 8)]


def test_activation_before_add_fires_on_a_conv_activation(runner, tmp_path):
    spec = write(tmp_path, """\
        - residual:
            body:
              - conv: {filters: 8, kernel: 3, padding: 1, activation: relu}
        - relu
    """)
    assert [r for r, _, _ in fired(runner, spec)] == ["activation-before-add"]


@pytest.mark.parametrize("text", [
    RESIDUAL.format(last=""),                                                # ResNet's order
    RESIDUAL.format(last="      - relu\n").replace("    activation: relu\n", ""),  # no post
])
def test_activation_before_add_clean(runner, tmp_path, text):
    assert fired(runner, write(tmp_path, text)) == []


def test_receptive_field_below_input_fires(runner, tmp_path):
    # two 3x3 convs: r = 1 + 2 + 2 = 5 pixels of the 64x64 input
    found = findings(runner, write(tmp_path, """\
        - conv: {filters: 8, kernel: 3, padding: 1}
        - conv: {filters: 8, kernel: 3, padding: 1}
        - global_pool
        - dense: 8
    """, "64x64x8"))
    assert [(f["rule"], f["layer"], f["line"]) for f in found] == [
        ("receptive-field-below-input", "global_pool1", 6)]
    assert "each see 5 pixels of the 64x64 input" in found[0]["message"]


def test_receptive_field_below_input_clean(runner, tmp_path):
    # four 3x3 stride-2 convs: r = 1 + 2 (1 + 2 + 4 + 8) = 31 >= 16
    assert fired(runner, write(tmp_path, """\
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - global_pool
        - dense: 8
    """, "16x16x8"), rule="receptive-field-below-input") == []


def test_receptive_field_is_not_judged_without_a_pooled_head(runner, tmp_path):
    # flatten + dense sees every position: each unit of the dense layer reads them all
    assert fired(runner, write(tmp_path, "- conv: {filters: 8, kernel: 3}\n- flatten\n"
                                         "- dense: 8", "64x64x8"),
                 rule="receptive-field-below-input") == []


def test_repeated_layers_fires(runner, tmp_path):
    found = findings(runner, write(tmp_path, """\
        - conv: {filters: 8, kernel: 3, padding: 1}
        - conv: {filters: 8, kernel: 3, padding: 1}
        - conv: {filters: 8, kernel: 3, padding: 1}
    """))
    assert [(f["rule"], f["layer"], f["line"]) for f in found] == [
        ("repeated-layers", "conv1", 4)]
    assert "3 identical conv rows" in found[0]["message"]


def test_repeated_groups_fire(runner, tmp_path):
    found = findings(runner, write(tmp_path, """\
        - conv: {filters: 8, kernel: 3, padding: 1}
        - relu
        - conv: {filters: 8, kernel: 3, padding: 1}
        - relu
    """))
    assert [f["rule"] for f in found] == ["repeated-layers"]
    assert "[conv1, relu1] 2 times" in found[0]["message"]


@pytest.mark.parametrize("layers", [
    "- conv: {filters: 8, kernel: 3, padding: 1}\n  repeat: 3",               # already
    "- conv: {filters: 8, kernel: 3, padding: 1}\n- conv: {filters: 8, kernel: 3, padding: 1}",
    "- conv: {filters: 8, kernel: 3, padding: 1}\n- conv: {filters: 16, kernel: 3, padding: 1}"
    "\n- conv: {filters: 8, kernel: 3, padding: 1}",
    # taps: each max pool is read by the concat as well (YOLO's SPPF): their names matter
    "- maxpool: {kernel: 5, stride: 1, padding: 2}\n  name: a\n- maxpool: {kernel: 5, "
    "stride: 1, padding: 2}\n  name: b\n- maxpool: {kernel: 5, stride: 1, padding: 2}\n"
    "  name: c\n- concat:\n  from: [a, b, c]",
])
def test_repeated_layers_clean(runner, tmp_path, layers):
    assert fired(runner, write(tmp_path, layers)) == []


def test_a_clean_network_stays_clean_of_every_rule(runner, tmp_path):
    # channels multiples of 16, no bias before batch norm, strides within their kernels,
    # floor((16 + 2 - 3) / 2) drops only a padding row, ReLU after the add only, features see
    # r = 3 + 2*2 + 2*2 + 2*4 = 19 >= 16 pixels (Araujo et al.), a small dense head
    spec = write(tmp_path, """\
        - conv: {filters: 16, kernel: 3, stride: 2, padding: 1, bias: false}
        - batchnorm
        - relu
        - residual:
            body:
              - conv: {filters: 16, kernel: 3, padding: 1, bias: false}
              - batchnorm
            activation: relu
        - conv: {filters: 32, kernel: 3, stride: 2, padding: 1}
        - relu
        - conv: {filters: 64, kernel: 3, stride: 2, padding: 1}
        - global_pool
        - dense: 16
    """, "16x16x3")
    for dtype in ("fp32", "fp16", "bf16", "int8"):
        assert fired(runner, spec, "--dtype", dtype) == [], dtype
    assert lint(runner, spec).exit_code == 0


def test_every_rule_has_a_planted_test():
    """The rule table is the one list; this file plants each (its name in a test above)."""
    text = Path(__file__).read_text()
    for rule in RULES:
        assert text.count(f'"{rule}"') >= 2, rule
    assert all(r.reason and r.hint for r in RULES.values())


# ====================================================================== silencing rules

SMELLY = """\
- conv: {filters: 16, kernel: 3, padding: 1}
  name: a
- batchnorm
- conv: {filters: 8, kernel: 1, stride: 2}
  name: b
"""


def test_ignore_on_the_command_line(runner, tmp_path):
    spec = write(tmp_path, SMELLY)
    assert [r for r, _, _ in fired(runner, spec)] == ["bias-before-batchnorm",
                                                      "stride-exceeds-kernel"]
    assert [r for r, _, _ in fired(runner, spec, "--ignore", "bias-before-batchnorm")] == [
        "stride-exceeds-kernel"]
    result = lint(runner, spec, "--ignore", "bias-before-batchnorm", "--ignore",
                  "stride-exceeds-kernel")
    assert result.exit_code == 0 and "2 ignored" in result.stdout


def test_ignore_on_an_entry(runner, tmp_path):
    spec = write(tmp_path, SMELLY.replace("  name: a\n",
                                          "  name: a\n  lint: {ignore: [bias-before-batchnorm]}\n"))
    assert [r for r, _, _ in fired(runner, spec)] == ["stride-exceeds-kernel"]


def test_ignore_on_a_container_reaches_inside(runner, tmp_path):
    spec = write(tmp_path, """\
        - seq:
            - conv: {filters: 8, kernel: 1, stride: 2}
            - conv: {filters: 8, kernel: 1, stride: 2}
          lint: {ignore: stride-exceeds-kernel}
        - conv: {filters: 8, kernel: 1, stride: 2}
    """)
    assert fired(runner, spec) == [("stride-exceeds-kernel", "conv1", 8)]


def test_ignore_in_a_block_definition_applies_to_every_use(runner, tmp_path):
    spec = write(tmp_path, """\
        - down: {}
        - down: {}
    """, extra="""\
blocks:
  down:
    layers:
      - conv: {filters: 8, kernel: 1, stride: 2}
        lint: {ignore: [stride-exceeds-kernel]}
""")
    assert fired(runner, spec) == []


def test_an_unknown_rule_is_refused(runner, tmp_path):
    spec = write(tmp_path, "- conv: {filters: 8, kernel: 3}\n  lint: {ignore: [bias-before-bn]}")
    result = lint(runner, spec)
    assert result.exit_code == 2
    assert "net.yaml:4:" in result.stderr and "unknown lint rule 'bias-before-bn'" in result.stderr
    assert "did you mean 'bias-before-batchnorm'" in result.stderr
    result = lint(runner, spec, "--ignore", "nope")
    assert result.exit_code == 2 and "--ignore: unknown lint rule 'nope'" in result.stderr


@pytest.mark.parametrize("value, message", [
    ("5", "lint must be a mapping {ignore: [RULE, ...]}"),
    ("{ignor: [x]}", "unknown key 'ignor' (did you mean 'ignore'?)"),
    ("{ignore: [1]}", "lint.ignore must be a rule id or a list of them"),
])
def test_a_malformed_lint_setting_is_refused_by_every_command(runner, tmp_path, value,
                                                               message):
    spec = write(tmp_path, f"- conv: {{filters: 8, kernel: 3}}\n  lint: {value}")
    for command in ("show", "lint"):
        result = runner.invoke(app, [command, spec])
        assert result.exit_code == 2, result.output
        assert "net.yaml:5:" in result.stderr and message in result.stderr, result.stderr


def test_the_lint_setting_changes_no_count(runner, tmp_path):
    plain = write(tmp_path, "- conv: {filters: 8, kernel: 3}")
    before = json.loads(runner.invoke(app, ["show", plain, "-f", "json"]).stdout)["totals"]
    silenced = write(tmp_path,
                     "- conv: {filters: 8, kernel: 3}\n  lint: {ignore: [pixels-dropped]}")
    after = json.loads(runner.invoke(app, ["show", silenced, "-f", "json"]).stdout)["totals"]
    assert before == after


# ====================================================================== exit codes, formats, CI

def test_exit_codes_are_checks(runner, tmp_path):
    clean = write(tmp_path, "- conv: {filters: 8, kernel: 3, padding: 1}")
    assert lint(runner, clean).exit_code == 0
    assert lint(runner, "alexnet").exit_code == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: 8x8x3\nlayers:\n  - conv: {filters: 8, kernel: 30}\n")
    result = lint(runner, bad, "alexnet")
    assert result.exit_code == 2 and "bad.yaml:4:" in result.stderr
    assert "alexnet: 1 finding" in result.stdout  # the other spec is still linted


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "html"])
def test_every_format(runner, fmt):
    result = lint(runner, "alexnet", "-f", fmt)
    assert result.exit_code == 1, result.output
    assert "dense-dominates-params" in result.stdout and "fc6" in result.stdout


def test_the_rules_table(runner):
    result = lint(runner, "--rules")
    assert result.exit_code == 0
    for rule in RULES.values():
        assert rule.id in result.stdout


def test_github_annotations(runner):
    result = lint(runner, "alexnet", env={"GITHUB_ACTIONS": "true"})
    line = next(x for x in result.stdout.splitlines() if x.startswith("::warning "))
    assert "alexnet.yaml,line=25,title=cnncalc lint dense-dominates-params::fc6: " in line
    assert "%25" in line  # the share's % escaped as GitHub's toolkit does
    result = lint(runner, "alexnet", "-f", "json", env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.startswith("{")  # annotations go to stderr beside a machine format


def test_check_lint(runner, tmp_path):
    result = runner.invoke(app, ["check", "alexnet", "--lint", "-f", "json"],
                           env={"GITHUB_ACTIONS": ""})
    assert result.exit_code == 1
    spec = json.loads(result.stdout)["specs"][0]
    assert spec["status"] == "fail" and [f["rule"] for f in spec["lint"]] == [
        "dense-dominates-params"]
    assert runner.invoke(app, ["check", "alexnet", "--lint", "--ignore",
                               "dense-dominates-params"]).exit_code == 0
    assert runner.invoke(app, ["check", "efficientnet_b0", "--lint"]).exit_code == 0
    # without --lint, check is what it was
    assert runner.invoke(app, ["check", "alexnet"]).exit_code == 0
    result = runner.invoke(app, ["check", "alexnet", "--ignore", "x"])
    assert result.exit_code == 2 and "needs --lint" in result.stderr
    result = runner.invoke(app, ["check", "alexnet", "--lint"], env={"GITHUB_ACTIONS": "true"})
    assert "::warning file=" in result.stdout and "cnncalc lint dense-dominates-params" in \
        result.stdout


def test_check_lint_with_require_budget_still_wants_a_budget(runner):
    assert runner.invoke(app, ["check", "mobilenet_v2", "--lint",
                               "--require-budget"]).exit_code == 1


# ====================================================================== the zoo, reviewed

#: What lint finds in each bundled spec at fp16 (docs/lint.md says why each is fine or not);
#: a spec not listed is clean. Counts come from the networks' structure, not from a run:
ZOO = {
    # AlexNet's fc6: 6*6*256*4096 + 4096 = 37,752,832 of 62,378,344 params
    "alexnet": {"dense-dominates-params": 1},
    # the two-group original: the same fc6, 37,752,832 of 60,965,224 params
    "alexnet-groups": {"dense-dominates-params": 1},
    # one ConvNeXt block on 56x56: its 7x7 depthwise sees 7 + ... = 19 < 56 pixels
    "convnext-block": {"receptive-field-below-input": 1},
    # the lecture's toy: 10, 20, 40 filters and 10 classes
    "example-39": {"tensor-core-channels": 4},
    # 21 classes (PASCAL VOC)
    "fcn-decoder": {"tensor-core-channels": 1},
    # Mixed_6e's 7x1, 1x7, 7x1, 1x7 convs of 192 (torchvision's branch7x7dbl_2 .. _5)
    "inception_v3": {"repeated-layers": 1},
    # 6 and 16 filters, 120 and 84 units, 10 classes; fc3 holds 48,120 of 62,006 params
    "lenet5": {"tensor-core-channels": 4, "dense-dominates-params": 1},
    # written out block by block for torchvision's keys (features.1 .. features.17): blocks
    # 8, 9 and 10 are the same 64-channel inverted residual
    "mobilenet_v2": {"repeated-layers": 1},
    # the 1x1 stride-2 projection of the first block of each of its four stages
    "regnet_y_400mf": {"stride-exceeds-kernel": 4},
    # ResNet v1.5's 1x1 stride-2 downsample in layer2, layer3 and layer4
    "resnet18": {"stride-exceeds-kernel": 3},
    "resnet50": {"stride-exceeds-kernel": 3},
    # widths 116 / 232 / 464 split in halves of 58 / 116 / 232 (stage 4's 232 is 8 x 29: 232
    # is a multiple of 8, 116 and 58 are not): stages 2 and 3's branch convs
    "shufflenet_v2_x1_0": {"tensor-core-channels": 26},
    # the test bed: hardswish before a relu'd add (twice), a 1x1 stride-2 shortcut, dense1's
    # 46,144 of 59,462 params, 10 classes
    "tour": {"activation-before-add": 2, "stride-exceeds-kernel": 1,
             "dense-dominates-params": 1, "tensor-core-channels": 1},
    # 2 classes at the output
    "unet": {"tensor-core-channels": 1},
    # written out row by row for torchvision's keys (features.0 .. features.30): block3's
    # three 256-filter convs, and block4 and block5 (the same three 512-filter convs after
    # the same pool); fc6 holds 102,764,544 params; the transfer head has 5 classes
    "vgg16": {"repeated-layers": 2, "dense-dominates-params": 1},
    "vgg16-transfer": {"repeated-layers": 2, "dense-dominates-params": 1,
                       "tensor-core-channels": 1},
}


def test_the_zoo_findings_are_the_reviewed_ones():
    from collections import Counter

    from cnncalc.analyses.lint import lint_spec
    from cnncalc.core.catalog import bundled

    found = {}
    for name in bundled():
        result = lint_spec(name, dtype="fp16")
        assert not result.problems, name
        counts = dict(Counter(f.rule for f in result.findings))
        if counts:
            found[name] = counts
    assert found == ZOO


@pytest.mark.parametrize("dtype", ["fp32", "bf16", "int8"])
def test_every_bundled_spec_lints_at_every_dtype(runner, dtype):
    from cnncalc.core.catalog import bundled

    for name in bundled():
        assert lint(runner, name, "--dtype", dtype).exit_code in (0, 1), name


def test_a_vector_network_lints(runner, tmp_path):
    spec = tmp_path / "mlp.yaml"
    spec.write_text("name: mlp\ninput: 784\nlayers:\n  - dense: 256\n  - relu\n  - dense: 10\n")
    assert fired(runner, spec) == [("dense-dominates-params", "dense1", 4)]  # 200,960 of 203,530
