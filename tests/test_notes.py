"""A spec's `notes:` under `show`'s table, specs piped in without a name, and
`--freeze-until` that would change nothing without a word."""

from __future__ import annotations

import json

import pytest

from cnncalc.commands import app

SPEC = "name: t\ninput: 8x8x3\nlayers:\n  - conv: [4, 3]\n  - conv: [2, 3]\n"


def invoke(runner, *args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.mark.parametrize(("written", "lines", "notes"), [
    ("notes: one remark\n", ["Note: one remark"], ["one remark"]),
    ("notes: [first, second]\n", ["Note: first", "Note: second"], ["first", "second"]),
    ("notes: |\n  two\n  lines\n", ["Note: two", "  lines"], ["two\nlines\n"]),
])
def test_show_prints_notes_under_the_table(runner, tmp_path, written, lines, notes):
    path = tmp_path / "t.yaml"
    path.write_text(SPEC + written)
    result = invoke(runner, "show", str(path))
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    start = out.index(lines[0])
    assert out[start:start + len(lines)] == lines
    assert out.index(lines[0]) > next(i for i, line in enumerate(out) if line.startswith("Params"))
    doc = json.loads(invoke(runner, "show", str(path), "-f", "json").output)
    assert doc["notes"] == notes


def test_no_notes_no_key(runner, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(SPEC)
    doc = json.loads(invoke(runner, "show", str(path), "-f", "json").output)
    assert "notes" not in doc
    assert "Note:" not in invoke(runner, "show", str(path)).output


@pytest.mark.parametrize("bad", ["notes: 3\n", "notes: [a, [b]]\n", "notes: {a: b}\n"])
def test_notes_must_be_text(runner, tmp_path, bad):
    path = tmp_path / "t.yaml"
    path.write_text(SPEC + bad)
    result = invoke(runner, "show", str(path))
    assert result.exit_code == 2 and "notes" in result.output


def test_the_schema_knows_notes():
    from cnncalc.core.schema import spec_schema

    notes = spec_schema()["properties"]["notes"]
    assert {"type": "string"} in notes["anyOf"]


def test_a_spec_piped_in_may_omit_its_name(runner, tmp_path):
    text = "input: 8x8x3\nlayers: [{conv: [4, 3]}]\n"
    result = invoke(runner, "show", "-", stdin=text)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stdin\n")
    assert json.loads(invoke(runner, "show", "-", "-f", "json", stdin=text).output)[
        "spec"] == "stdin"
    path = tmp_path / "t.yaml"  # a file still needs one
    path.write_text(text)
    refused = invoke(runner, "show", str(path))
    assert refused.exit_code == 2 and "name" in refused.output
    named = invoke(runner, "show", "-", stdin="name: mine\n" + text)
    assert named.output.startswith("mine\n")


def test_freeze_until_without_effect_names_the_spec_line(runner):
    result = invoke(runner, "memory", "vgg16-transfer", "--freeze-until", "classifier.0")
    assert result.exit_code == 0
    assert result.stderr.startswith(
        "cnncalc memory: note: --freeze-until classifier.0 changes nothing")
    assert "freeze_until: classifier.3" in result.stderr
    assert "vgg16-transfer.yaml:" in result.stderr


def test_freeze_until_on_layers_without_parameters(runner, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: t\ninput: 8x8x3\nlayers: [relu, {conv: [4, 3]}]\n")
    result = invoke(runner, "show", str(path), "--freeze-until", "relu1")
    assert "no layer up to and including 'relu1' has parameters" in result.stderr


def test_freeze_until_over_trainable_false(runner, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: t\ninput: 8x8x3\nlayers:\n  - conv: [4, 3]\n    trainable: false\n"
                    "  - conv: [4, 3]\n")
    result = invoke(runner, "show", str(path), "--freeze-until", "conv1")
    assert "changes nothing" in result.stderr and "trainable: false" in result.stderr
    # freezing further does change something: no note
    further = invoke(runner, "show", str(path), "--freeze-until", "conv2")
    # conv1 (3*3*3 + 1)*4 = 112, conv2 (3*3*4 + 1)*4 = 148
    assert further.stderr == "" and f"frozen {112 + 148}" in further.output
