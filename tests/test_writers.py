"""One rendering axis: every command writes every format, options reach every format, `-o`
takes its format from the extension, and every JSON document starts the same way.

The numbers checked are the lecture's LeNet-5 (62,006 params, 651,720 MACs: the closed forms
in tests/test_formats.py) and VGG-16's receptive field at pool5 (Araujo et al., Distill 2019:
size 212, effective stride 32, effective padding 90).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc import __version__
from cnncalc.commands import app
from cnncalc.writers import EXTENSIONS, FORMATS

runner = CliRunner()

#: Every command that reports on a spec, with the arguments that make it succeed.
COMMANDS = {
    "show": ["show", "lenet5"],
    "scale": ["scale", "lenet5", "--width", "1"],
    "compare": ["compare", "lenet5", "lenet5"],
    "check": ["check", "lenet5", "--max-params", "62006"],
    "memory": ["memory", "lenet5"],
    "fit": ["fit", "lenet5", "--by", "width", "--max-params", "62006", "--from", "1",
            "--to", "1"],
    "explain": ["explain", "lenet5"],
    "specs": ["specs"],
    "verify": ["verify", "lenet5"],
}
PARAMS = 62_006
#: The commands whose result is one network, which `--format mermaid` draws; the others refuse.
DRAWN = {"show", "scale"}


def _run(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_writes_every_format(command: str, fmt: str) -> None:
    if command == "verify" and not os.environ.get("CI"):
        pytest.importorskip("torch")  # CI installs torch: there a missing torch fails
    if fmt == "mermaid" and command not in DRAWN:
        refused = runner.invoke(app, [*COMMANDS[command], "--format", fmt])
        assert refused.exit_code == 2 and "draws a network" in refused.output, refused.output
        assert refused.stdout == ""
        return
    text = _run([*COMMANDS[command], "--format", fmt])
    if fmt == "json":
        doc = json.loads(text)
        assert list(doc)[:2] == ["cnncalc", "command"]
        assert doc["cnncalc"] == __version__ and doc["command"] == command
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows and all(rows[0]), rows[:1]  # a header of machine keys
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    elif fmt == "markdown":
        assert text.startswith("### ")
    elif fmt == "mermaid":
        assert text.startswith("flowchart TD\n") and "conv1 (f=5, s=1, tanh)" in text
        return
    if command in ("show", "scale", "compare", "check", "specs", "memory", "fit", "verify"):
        # LeNet-5's params appear exactly: 62,006 for people, 62006 for machines
        assert f"{PARAMS:,}" in text or str(PARAMS) in text, text[:400]


@pytest.mark.parametrize("fmt", FORMATS)
def test_rf_reaches_every_format(fmt: str) -> None:
    text = _run(["show", "vgg16", "--rf", "--format", fmt])
    if fmt == "json":
        pool5 = next(layer for layer in json.loads(text)["layers"]
                     if layer["path"] == "features.30")  # torchvision's name of pool5
        assert pool5["receptive_field"] == {"size": 212, "stride": 32, "padding": 90}
    elif fmt == "csv":
        pool5 = next(r for r in csv.DictReader(io.StringIO(text)) if r["path"] == "features.30")
        assert pool5["receptive_field"] == "212 / 32 / 90"
    elif fmt == "mermaid":  # a drawing: shapes and costs, no receptive fields
        assert "212 / 32 / 90" not in text
    else:
        assert "212 / 32 / 90" in text
        plain = _run(["show", "vgg16", "--format", fmt])
        # the HTML report always has the receptive field
        assert ("212 / 32 / 90" in plain) == (fmt == "html")


@pytest.mark.parametrize("suffix, fmt", sorted(EXTENSIONS.items()))
def test_output_format_follows_the_extension(tmp_path: Path, suffix: str, fmt: str) -> None:
    out = tmp_path / f"report{suffix}"
    assert _run(["show", "lenet5", "-o", str(out)]) == ""
    assert out.read_text() == _run(["show", "lenet5", "--format", fmt])


def test_explicit_format_wins_over_the_extension(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    _run(["show", "lenet5", "--format", "csv", "-o", str(out)])
    assert out.read_text().startswith("row,path,name")


def test_unknown_extension_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "report.out"
    _run(["show", "lenet5", "-o", str(out)])
    assert out.read_text() == _run(["show", "lenet5"])


def test_output_onto_the_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    text = "name: net\ninput: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3}\n"
    spec.write_text(text)
    for args in (["show", str(spec)], ["memory", str(spec)], ["scale", str(spec), "-w", "2"],
                 ["scale", str(spec), "-w", "2", "--yaml"], ["explain", str(spec)],
                 ["compare", str(spec), "lenet5"], ["check", str(spec)]):
        result = runner.invoke(app, [*args, "-o", str(spec)])
        assert result.exit_code == 2, (args, result.output)
        assert "onto an input" in result.output
        assert spec.read_text() == text


def test_unwritable_output_is_exit_2_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "out.json"
    result = runner.invoke(app, ["show", "lenet5", "-o", str(missing)])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["show", "lenet5", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "folder" in result.output


def test_json_metadata_has_one_shape() -> None:
    """Every document: the version, the command, then the command's own keys."""
    docs = {name: json.loads(_run([*args, "-f", "json"])) for name, args in COMMANDS.items()
            if name != "verify"}
    for name, doc in docs.items():
        assert (doc["cnncalc"], doc["command"]) == (__version__, name)
    assert docs["show"]["totals"]["params"] == PARAMS
    assert docs["compare"]["specs"][0]["totals"]["params"] == PARAMS
    assert docs["check"]["specs"][0]["checks"][0]["value"] == PARAMS
    assert docs["memory"]["param_bytes"] == 4 * PARAMS
    assert docs["fit"]["best"]["params"] == PARAMS
    assert {"path": "conv1", "kind": "conv"}.items() <= docs["explain"]["steps"][1].items()
