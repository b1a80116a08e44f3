"""`cnncalc explain`: the arithmetic of each layer, numbers filled in."""

from __future__ import annotations

import pytest

from cnncalc import analyze, load
from cnncalc.analyses.explain import explain
from cnncalc.commands import app
from tests.conftest import analyze_text


def test_the_lecture_39x39_example(runner):
    result = runner.invoke(app, ["explain", "example-39"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "floor((39 + 2*0 - 3) / 1) + 1 = 37" in text
    assert f"(3*3*3 + 1) * 10 = {(3 * 3 * 3 + 1) * 10}" in text
    assert f"3*3*3 * 37*37*10 = {3 * 3 * 3 * 37 * 37 * 10:,}" in text
    assert "floor((37 + 2*0 - 5) / 2) + 1 = 17" in text
    assert "floor((17 + 2*0 - 5) / 2) + 1 = 7" in text
    assert f"7*7*40 = {7 * 7 * 40:,}" in text
    assert f"(1,960 + 1) * 10 = {1961 * 10:,}" in text
    # receptive field of layer2: r = 3 + (5 - 1)*1 = 7, j = 1*2 = 2
    assert "r = 3 + (5 - 1)*1 = 7, j = 1*2 = 2" in text


def test_one_layer_only(runner):
    # pool5, torchvision's features.30
    result = runner.invoke(app, ["explain", "vgg16", "--layer", "features.30"])
    assert result.exit_code == 0
    assert result.output.splitlines()[2].startswith("features.30 (maxpool): 14x14x512 -> 7x7x512")
    assert "floor((14 + 2*0 - 2) / 2) + 1 = 7" in result.output
    assert "r = 196 + (2 - 1)*16 = 212, j = 16*2 = 32, p = 90 + 0*16 = 90" in result.output
    assert "classifier" not in result.output


def test_unknown_layer_exits_2(runner):
    result = runner.invoke(app, ["explain", "vgg16", "--layer", "pool9"])
    assert result.exit_code == 2
    assert "pool9" in result.output and "Traceback" not in result.output


def test_dilation_asymmetric_padding_and_no_bias():
    report = analyze_text("""
        - conv: {filters: 4, kernel: 3, dilation: 2, padding: [1, 0, 2, 2], bias: false}
    """, input="9x9x2")
    lines = "\n".join(explain(report))
    # height: floor((9 + 1 + 0 - 5) / 1) + 1 = 6; width: floor((9 + 2*2 - 5) / 1) + 1 = 9
    assert "floor((9 + 1 + 0 - 5) / 1) + 1 = 6" in lines
    assert "floor((9 + 2*2 - 5) / 1) + 1 = 9" in lines
    assert "f_eff = 2*(3 - 1) + 1 = 5" in lines
    assert f"3*3*2 * 4 = {3 * 3 * 2 * 4}   (no bias)" in lines


def test_merges_and_groups():
    report = analyze(load("googlenet"))
    lines = explain(report, "inception3a")
    assert any("concatenate along channels: 64 + 128 + 32 + 32 = 256" in line for line in lines)
    grouped = analyze_text("- conv: {filters: 8, kernel: 3, groups: 4}", input="5x5x8")
    assert f"(3*3*(8/4) + 1) * 8 = {(3 * 3 * 2 + 1) * 8}" in "\n".join(explain(grouped))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vgg16-transfer"])
def test_bundled_specs_explain(name):
    report = analyze(load(name))
    lines = explain(report)
    leaves = sum(1 for n in report.walk() if n.children is None)
    assert sum(1 for line in lines if not line.startswith(" ")) >= leaves


def test_new_commands_never_import_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom typer.testing import CliRunner\nfrom cnncalc.commands import app\n"
            "r = CliRunner()\n"
            "for args in (['explain', 'vgg16-transfer'], ['memory', 'resnet18'],\n"
            "             ['conv', '-i', '1 2 3; 4 5 6; 7 8 9'], ['show', 'vgg16', '--rf']):\n"
            "    assert r.invoke(app, args).exit_code == 0, args\n"
            "assert 'torch' not in sys.modules\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
