"""Transfer learning: freezing up to a layer, and specs that extend other specs."""

from __future__ import annotations

import pytest

from cnncalc import CnnCalcError, analyze, load
from cnncalc.commands import app
from cnncalc.core.freeze import freeze_until
from cnncalc.core.source import load_text


def test_vgg16_transfer_counts_by_hand():
    report = analyze(load("vgg16-transfer"))
    vgg16 = 138_357_544                      # CONVENTIONS.md (torchvision)
    old_head = 4096 * 1000 + 1000            # fc8: 4,097,000
    new_head = 4096 * 5 + 5                  # 20,485
    assert report.totals.params == vgg16 - old_head + new_head == 134_281_029
    assert report.totals.trainable_params == new_head
    assert report.totals.frozen_params == vgg16 - old_head == 134_260_544
    assert report.nodes[-1].output_shape == (5,)


def test_freeze_until_a_top_level_name():
    report = analyze(load("example-39"))
    freeze_until(report, "layer2")
    frozen = (3 * 3 * 3 + 1) * 10 + (5 * 5 * 10 + 1) * 20          # 280 + 5,020
    trainable = (5 * 5 * 20 + 1) * 40 + (1960 + 1) * 10            # 20,040 + 19,610
    assert (report.totals.frozen_params, report.totals.trainable_params) == (frozen, trainable)


def test_freeze_until_a_path_inside_a_repeat():
    report = analyze(load("resnet18"))
    freeze_until(report, "layer1.0")  # the first BasicBlock of the repeat layer1
    block = 2 * (3 * 3 * 64 * 64 + 2 * 64)  # two 3x3 convs (no bias) and their batch norms
    assert report.totals.frozen_params == 7 * 7 * 3 * 64 + 2 * 64 + block
    layer1 = next(node for node in report.nodes if node.name == "layer1")
    assert layer1.trainable_params == block  # the block subtotal follows: layer1.1 trains


def test_freeze_until_unknown_name_is_located():
    text = ("name: t\ninput: 8x8x1\nfreeze_until: conv9\nlayers:\n"
            "  - conv: {filters: 2, kernel: 3}\n")
    with pytest.raises(CnnCalcError) as err:
        analyze(load_text(text, "t.yaml"))
    problem = err.value.problems[0]
    assert (problem.file, problem.line) == ("t.yaml", 3)
    assert "did you mean 'conv1'" in problem.message


def test_cli_freeze_until(runner):
    result = runner.invoke(app, ["show", "example-39", "--freeze-until", "layer3", "-f", "json"])
    assert result.exit_code == 0
    import json

    totals = json.loads(result.output)["totals"]
    assert totals["trainable_params"] == (1960 + 1) * 10
    assert "Frozen" in runner.invoke(app, ["show", "vgg16-transfer"]).output


BASE = """\
name: base
input: 8x8x1
layers:
  - conv: {filters: 2, kernel: 3}
    name: c1
  - kind: flatten
    name: flat
  - dense: 10
    name: head
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_extends_with_every_edit(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """\
name: child
extends: base.yaml
edits:
  - insert_after: c1
    layers:
      - conv: {filters: 4, kernel: 3}
        name: c2
  - replace: head
    with: {dense: 3, name: head}
  - insert_before: flat
    layers: [{relu: {}, name: act}]
  - append:
      - softmax
""")
    report = analyze(load(child))
    assert [n.name for n in report.nodes] == ["c1", "c2", "act", "flat", "head", "softmax1"]
    # c1 8->6 (2 ch), c2 6->4 (4 ch), flatten 4*4*4 = 64, head (64 + 1) * 3
    assert report.totals.params == (9 + 1) * 2 + (3 * 3 * 2 + 1) * 4 + (64 + 1) * 3
    remove = write(tmp_path, "remove.yaml", "extends: base.yaml\nedits:\n  - remove: [head]\n")
    assert [n.name for n in analyze(load(remove)).nodes] == ["c1", "flat"]


def test_errors_point_at_the_file_that_wrote_the_entry(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\ninput: 2x2x1\n")
    with pytest.raises(CnnCalcError) as err:  # base's 3x3 conv does not fit the child's input
        analyze(load(child))
    problem = err.value.problems[0]
    assert problem.file.endswith("base.yaml") and problem.line == 4
    bad = write(tmp_path, "bad.yaml", "extends: base.yaml\nedits:\n  - append:\n"
                "      - conv: {filters: 2, kernel: 0}\n")
    with pytest.raises(CnnCalcError) as err:
        load(bad)
    problem = err.value.problems[0]
    assert problem.file.endswith("bad.yaml") and problem.line == 4


def test_edit_of_an_unknown_name(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "c.yaml", "extends: base.yaml\nedits:\n  - remove: haed\n")
    with pytest.raises(CnnCalcError) as err:
        load(child)
    problem = err.value.problems[0]
    assert problem.line == 3 and "did you mean 'head'" in problem.message


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(CnnCalcError, match="extends cycle: a.yaml -> b.yaml -> a.yaml"):
        load(str(tmp_path / "a.yaml"))


def test_layers_beside_extends_is_refused(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "c.yaml", "extends: base.yaml\nlayers: [flatten]\n")
    with pytest.raises(CnnCalcError, match="'edits'"):
        load(child)


def test_blocks_inherit_and_vars_merge(tmp_path):
    write(tmp_path, "base.yaml", """\
name: base
input: 8x8x1
vars: {width: 2}
blocks:
  unit:
    args: {filters: channels}
    layers: [{conv: {filters: $filters, kernel: 1}}]
layers:
  - unit: {filters: $width}
    name: u
""")
    child = write(tmp_path, "c.yaml", "extends: base.yaml\nvars: {width: 5}\n")
    assert analyze(load(child)).totals.params == (1 + 1) * 5
