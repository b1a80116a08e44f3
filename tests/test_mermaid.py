"""`--format mermaid`: a flowchart GitHub draws, whose arrows follow the data as the engine
reads it (a residual's identity shortcut, an Inception module's branches, YOLO's taps and
outputs), refused for a result about no single network, and small enough for GitHub.

The structures checked are the papers': ResNet's basic block adds its input to its body's
output (He et al. 2015, fig. 2); an Inception module's four branches all read the module's
input and are concatenated (Szegedy et al. 2014, fig. 2b); YOLOv8's neck concatenates an
upsampled map with a backbone stage's (yolov8.yaml: `[[-1, 6], 1, Concat]`) and its three
Detect heads are the outputs.
"""

from __future__ import annotations

import re

import pytest

import cnncalc
from cnncalc.errors import CnnCalcError
from cnncalc.present.report import result
from cnncalc.writers import mermaid, write


def chart(spec: str, depth: int | None = None) -> str:
    return write(result(cnncalc.analyze(cnncalc.load(spec)), depth), "mermaid")


def graph(text: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Each id's label's first part (the row's name), and the arrows as (name, name)."""
    names = {"input": "input"}
    for ident, label in re.findall(r'^\s*(n\d+)[\[{(]+"([^"]*)"', text, re.M):
        names[ident] = label.split("<br/>")[0].split(" (")[0]
    for ident, label in re.findall(r'^\s*subgraph (s\d+) \["([^"]*)"\]', text, re.M):
        names[ident] = label.split(" · ")[0].split(" (")[0]
    arrows = {(names[a], names[b]) for a, b in re.findall(r"^\s*(\w+) --> (\w+)$", text, re.M)}
    return names, arrows


def test_a_residual_block_adds_its_input():
    text = chart("resnet18")
    names, arrows = graph(text)
    # layer1.0 (identity shortcut): conv1 reads maxpool; the add reads bn2 and maxpool
    assert ("maxpool", "conv1") in arrows and ("bn2", "add") in arrows
    assert ("maxpool", "add") in arrows
    # layer2.0 (projection shortcut `downsample`): its first row reads layer1's last relu
    assert ("relu", "0: conv") in arrows or ("relu", "0") in arrows
    assert text.count("subgraph") == 4 + 8 + 3  # layers, their blocks, three downsamples


def test_inception_branches_read_the_module_input_and_are_concatenated():
    text = chart("inception-module")
    names, _ = graph(text)
    arrows = re.findall(r"^\s*(\w+) --> (\w+)$", text, re.M)  # by id: branches reuse names
    starts = [names[b] for a, b in arrows if a == "input"]
    assert sorted(starts) == ["conv1x1", "pool", "reduce", "reduce"]  # 1x1, 3x3, 5x5, pool
    assert sum(1 for a, b in arrows if names[b] == "concat") == 4


def test_yolo_taps_and_outputs():
    text = chart("yolov8n", 0)
    names, arrows = graph(text)
    assert ("c2f6", "cat11") in arrows and ("up10", "cat11") in arrows  # [[-1, 6], Concat]
    assert ("c2f4", "cat14") in arrows and ("sppf9", "cat20") in arrows
    outputs = re.search(r"^\s*class (\S+) output$", text, re.M).group(1).split(",")
    assert sorted(names[o] for o in outputs) == ["p3", "p4", "p5"]
    assert text.count("[[") == sum(1 for n in cnncalc.analyze(cnncalc.load("yolov8n")).nodes
                                   if n.is_block)  # collapsed blocks: double-sided boxes


def test_training_only_rows_are_dashed():
    text = chart("inception_v3", 0)
    names, _ = graph(text)
    dashed = re.search(r"^\s*class (\S+) training$", text, re.M).group(1).split(",")
    assert [names[d] for d in dashed] == ["AuxLogits"]


def test_an_identity_branch_is_a_box():
    names, arrows = graph(chart("tour"))
    assert ("se1", "branch3") in arrows and ("branch3", "concat") in arrows


def test_shapes_and_costs_in_each_box():
    text = chart("lenet5")
    assert 'n1["conv1 (f=5, s=1, tanh)<br/>28x28x6 · 456 params · 352.8k MACs"]' in text
    assert text.startswith('flowchart TD\n  input(["input 32x32x3"])\n')


def test_labels_are_escaped():
    assert mermaid._escape('a"b<c>#d&e') == "a#quot;b#lt;c#gt;#35;d#amp;e"


def test_a_result_without_a_network_is_refused():
    from cnncalc.present.specs import result as specs_result

    with pytest.raises(CnnCalcError, match="draws a network.*'specs'"):
        write(specs_result({}), "mermaid")


@pytest.mark.parametrize("spec", sorted(cnncalc.bundled()))
def test_every_bundled_spec_is_small_enough_for_github(spec):
    assert not mermaid.too_big(chart(spec))


def test_a_large_network_is_collapsed_until_it_fits(monkeypatch):
    monkeypatch.setattr(mermaid, "MAX_EDGES", 100)
    text = chart("resnet50")
    assert text.count(" --> ") <= 100
    assert "%% blocks below depth 1 drawn as one box" in text.splitlines()[1]
    names, arrows = graph(text)
    assert text.count("[[") == 3 + 4 + 6 + 3  # each bottleneck a box, in its stage's frame
    assert ("2: bottleneck", "0: bottleneck") in arrows  # layer1.2 -> layer2.0
