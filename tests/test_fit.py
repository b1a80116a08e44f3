"""`cnncalc fit`: the largest scale that meets every budget, with budgets checkable by hand.

Each toy spec's totals have a closed form written in the test; the EfficientNet case takes its
budget from CONVENTIONS.md.
"""

from __future__ import annotations

import json

import pytest

from cnncalc.commands import app


def write(tmp_path, text: str) -> str:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return str(path)


# A 1x1 conv from 8 to 16 channels on 4x4: MACs = 4*4*8*c = 128 c, params = 8 c, where
# c = make_divisible(16 w, 8): w 0.25 -> 8, 0.5 -> 8, 0.75 -> 16, 1 -> 16, 1.25 -> 24,
# 1.5 -> 24, 1.75 -> 32, 2 -> 32.
WIDE = "name: wide\ninput: 4x4x8\nlayers:\n  - conv: {filters: 16, kernel: 1, bias: false}\n"


def test_fit_by_width(runner, tmp_path):
    spec = write(tmp_path, WIDE)
    result = runner.invoke(app, ["fit", spec, "--by", "width", "--max-macs", str(128 * 24)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Largest that fits: width 1.5" in out
    assert f"{128 * 24:,}" in out and f"{128 * 32:,}" in out  # the winner and the first over
    assert "over: MACs" in out
    assert "--width 1.5" in out
    rows = [line for line in out.splitlines() if "fits" in line.split()[-1:]]
    assert len(rows) == 6  # 0.25 .. 1.5; the search stops after 1.75, the first over


def test_fit_by_depth_with_a_params_budget(runner, tmp_path):
    # four 1x1 convs 8 -> 8 without bias: 64 params each; depth d gives ceil(4 d) of them.
    spec = write(tmp_path, "name: deep\ninput: 4x4x8\nlayers:\n"
                           "  - conv: {filters: 8, kernel: 1, bias: false}\n    repeat: 4\n")
    result = runner.invoke(app, ["fit", spec, "--by", "depth", "--max-params", "400"])
    assert result.exit_code == 0, result.output
    assert "Largest that fits: depth 1.5" in result.stdout  # 6 * 64 = 384 <= 400 < 448
    assert f"{6 * 64:,} params" in result.stdout


def test_fit_by_resolution_with_a_memory_budget(runner, tmp_path):
    # conv 3x3 pad 1, 1 -> 8 channels, no bias, on R x R x 1: params 72 (288 bytes in fp32);
    # the inference peak is the input and the output alive together, 9 R^2 values (36 R^2
    # bytes). R = 32: 37,152 bytes; R = 64: 147,744 > 128 KiB.
    spec = write(tmp_path, "name: res\ninput: 32x32x1\nlayers:\n"
                           "  - conv: {filters: 8, kernel: 3, padding: 1, bias: false}\n")
    result = runner.invoke(app, ["fit", spec, "--by", "resolution", "--max-memory", "128KiB"])
    assert result.exit_code == 0, result.output
    assert "Largest that fits: resolution 32" in result.stdout
    assert "over: memory" in result.stdout
    # fp16 halves the activations: R = 64 takes 144 + 73,728 bytes and fits; R = 96 does not
    # (144 + 165,888)
    result = runner.invoke(app, ["fit", spec, "--by", "resolution", "--max-memory", "128KiB",
                                 "--dtype", "fp16"])
    assert "Largest that fits: resolution 64" in result.stdout
    assert "--resolution 64" in result.stdout
    # one training step with adam: weights, gradients and two moments (4 x 288 bytes) and the
    # peak of its forward pass, the input (kept by the conv) and the output, 9 R^2 values
    # (36 R^2 bytes). Within 1 MiB: R = 160 (922,752 bytes); R = 192 needs 1,328,256
    result = runner.invoke(app, ["fit", spec, "--by", "resolution", "--max-memory", "1MiB",
                                 "--optimizer", "adam", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["best"]["value"], data["memory_of"]) == (160, "adam")
    assert data["best"]["memory"] == 4 * 288 + 36 * 160 * 160
    refused = runner.invoke(app, ["fit", spec, "--by", "resolution", "--optimizer", "adam",
                                  "--max-params", "1k"])
    assert refused.exit_code == 2 and "--optimizer applies to --max-memory" in refused.output


def test_fit_batch_multiplies_macs(runner, tmp_path):
    spec = write(tmp_path, WIDE)
    # batch 2: 256 c MACs; a budget of 256 * 16 stops at width 1
    result = runner.invoke(app, ["fit", spec, "--by", "width", "--max-macs", str(256 * 16),
                                 "--batch", "2"])
    assert "Largest that fits: width 1 " in result.stdout


def test_nothing_fits_exits_1_with_a_clear_message(runner, tmp_path):
    spec = write(tmp_path, WIDE)
    # the smallest candidate, width 0.25, already has 8 channels: 1,024 MACs
    result = runner.invoke(app, ["fit", spec, "--by", "width", "--max-macs", "1000"])
    assert result.exit_code == 1
    assert "nothing on the grid meets the budget" in result.stderr
    assert "width 0.25" in result.stderr and "MACs" in result.stderr
    assert "Traceback" not in result.output


def test_compound_fit_on_efficientnet_b0(runner):
    # CONVENTIONS.md: B0 has 385,814,752 MACs; phi grows every total, so a budget of exactly
    # that picks phi 0, and one MAC less picks the grid point below it.
    result = runner.invoke(app, ["fit", "efficientnet_b0", "--max-macs", "385814752"])
    assert result.exit_code == 0, result.output
    assert "Largest that fits: compound 0 " in result.stdout
    assert "385,814,752" in result.stdout
    result = runner.invoke(app, ["fit", "efficientnet_b0", "--max-macs", "385814751"])
    assert "Largest that fits: compound -0.5 " in result.stdout
    assert "--phi -0.5" in result.stdout


def test_candidates_that_cannot_be_built_are_shown_and_skipped(runner, tmp_path):
    # a 3x3 pool with stride 2, then another: 4x4 -> 1x1 -> no room for the second
    spec = write(tmp_path, "name: p\ninput: 64x64x1\nlayers:\n"
                           "  - maxpool: {kernel: 3, stride: 2}\n"
                           "  - maxpool: {kernel: 3, stride: 2}\n"
                           "  - conv: {filters: 4, kernel: 1}\n")
    result = runner.invoke(app, ["fit", spec, "--by", "resolution", "--from", "4", "--to", "32",
                                 "--step", "4", "--max-params", "1M"])
    assert result.exit_code == 0, result.output
    assert "invalid" in result.stdout
    assert "Largest that fits: resolution 32" in result.stdout


def test_an_invalid_spec_exits_2_before_searching(runner, tmp_path):
    spec = write(tmp_path, "name: bad\ninput: 4x4x8\nlayers:\n  - conv: {filters: 16, kernl: 1}\n")
    result = runner.invoke(app, ["fit", spec, "--max-macs", "1G"])
    assert result.exit_code == 2
    assert "t.yaml:4" in result.stderr and "kernl" in result.stderr
    assert "Largest" not in result.stdout


@pytest.mark.parametrize("args,message", [
    (["--by", "height", "--max-macs", "1G"], "--by"),
    ([], "at least one budget"),
    (["--max-macs", "5Q"], "--max-macs"),
    (["--max-macs", "1G", "--step", "0"], "grid step must be a number above 0"),
    (["--max-macs", "1G", "--from", "3", "--to", "1"], "empty"),
])
def test_bad_options_exit_2(runner, args, message):
    result = runner.invoke(app, ["fit", "efficientnet_b0", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
