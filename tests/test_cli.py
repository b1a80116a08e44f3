"""The command line: show (table and JSON), specs, overrides, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from cnncalc.commands import app


def test_show_prints_the_lecture_table(runner):
    result = runner.invoke(app, ["show", "lenet5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if line.strip().startswith("conv1"))
    assert "28x28x6" in row and "4,704" in row and "456" in row
    assert "352,800" in row  # 5*5*3 * 28*28*6 MACs
    assert lines[-1].startswith("MACs: multiply-adds.")  # the short legend
    full = runner.invoke(app, ["show", "lenet5", "--explain-counts"]).output
    assert "MACs = conv+dense multiply-accumulates, bias excluded" in full


def test_show_json_contract(runner):
    result = runner.invoke(app, ["show", "lenet5", "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["spec"] == "lenet5" and doc["input"] == [32, 32, 3]
    assert doc["batch"] == 1 and doc["dtype"] == "fp32"
    for layer in doc["layers"]:
        assert {"name", "kind", "output_shape", "params", "trainable_params", "buffers",
                "activations", "macs", "flops", "path"} <= set(layer)
    totals = doc["totals"]
    assert totals["params"] == 456 + 2416 + 48120 + 10164 + 850
    assert totals["flops"] == 2 * totals["macs"]
    assert totals["param_bytes"] == 4 * totals["params"]
    assert totals["params"] == sum(layer["params"] for layer in doc["layers"])
    assert totals["macs"] == sum(layer["macs"] for layer in doc["layers"])
    assert totals["activations"] == sum(layer["activations"] for layer in doc["layers"])


def test_input_and_batch_overrides(runner):
    result = runner.invoke(app, ["show", "vgg16", "-f", "json", "--input", "64x64x3",
                                 "--batch", "2"])
    doc = json.loads(result.output)
    assert doc["input"] == [64, 64, 3] and doc["batch"] == 2
    first = doc["layers"][0]
    assert first["output_shape"] == [64, 64, 64]
    assert first["macs"] == 2 * 3 * 3 * 3 * 64 * 64 * 64
    # 64 -> 2 after five poolings: the flatten is 2*2*512, the first dense 2048 * 4096 + 4096
    fc6 = next(layer for layer in doc["layers"] if layer["path"] == "classifier.0")
    assert fc6["params"] == 2048 * 4096 + 4096


def test_depth_collapses_blocks(runner):
    full = runner.invoke(app, ["show", "resnet18"]).output
    top = runner.invoke(app, ["show", "resnet18", "--levels", "0"]).output
    assert "downsample" in full and "downsample" not in top
    assert "layer2" in top


def test_specs_lists_bundled(runner):
    result = runner.invoke(app, ["specs", "--format", "json"])
    rows = {row["name"]: row for row in json.loads(result.output)["specs"]}
    assert rows["vgg16"]["params"] == 138_357_544
    assert rows["lenet5"]["description"]


def test_invalid_spec_exit_2_without_traceback(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninput: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 11}\n")
    result = runner.invoke(app, ["show", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4: layer 1 'conv1' (conv): conv kernel 11 does not fit" in result.output
    assert "Traceback" not in result.output


def test_missing_file_directory_and_empty_file(runner, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    for target, needle in ((tmp_path / "nope.yaml", "no such file"), (tmp_path, "directory"),
                           (empty, "empty")):
        result = runner.invoke(app, ["show", str(target)])
        assert result.exit_code == 2
        assert needle in result.output


def test_unknown_bundled_name_suggests(runner):
    result = runner.invoke(app, ["show", "vgg61"])
    assert result.exit_code == 2
    assert "did you mean 'vgg16'" in result.output


def test_bad_input_override(runner):
    result = runner.invoke(app, ["show", "lenet5", "--input", "32x32"])
    assert result.exit_code == 2
    assert "--input" in result.output


def test_version():
    out = subprocess.run([sys.executable, "-m", "cnncalc", "--version"], capture_output=True,
                         text=True, check=True).stdout
    import cnncalc

    assert out.strip() == f"cnncalc {cnncalc.__version__}"


def test_show_does_not_import_torch():
    code = (
        "import sys\n"
        "from cnncalc.commands import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['show', 'resnet18', '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "import cnncalc\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_specs_in_every_text_format(runner):
    import csv
    import io

    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(
        runner.invoke(app, ["specs", "-f", "csv"]).output))}
    assert int(rows["vgg16"]["params"]) == 138_357_544
    assert int(rows["vgg16"]["macs"]) == 15_470_264_320
    markdown = runner.invoke(app, ["specs", "-f", "markdown"]).output
    assert "| vgg16 | 224x224x3 | 138,357,544 | 15,470,264,320 |" in markdown
    assert "138,357,544" in runner.invoke(app, ["specs", "-f", "html"]).output
