"""The graph syntax: taps (`from:`), add and concat as layers, several outputs, training-only rows
(auxiliary heads), channel splits. Expected numbers are computed here by hand from the
formulas (conv params `f*f*C_in*C_out + C_out`, MACs `f*f*C_in*H_out*W_out*C_out`); torch's
side is in tests/test_reference_torch.py (random and fixed graphs against a plain-torch reading)
and tests/test_torch_differential.py.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import cnncalc
from cnncalc.analyses import memory, receptive
from cnncalc.commands import app
from cnncalc.errors import CnnCalcError


def load(text: str) -> cnncalc.core.report.Report:
    return cnncalc.analyze(cnncalc.load_text(textwrap.dedent(text), "graph"))


def refused(text: str) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as caught:
        load(text)
    return caught.value


def conv(f: int, c_in: int, c_out: int, hw: int) -> tuple[int, int]:
    """(params, MACs) of an f x f convolution with bias giving hw x hw x c_out."""
    return f * f * c_in * c_out + c_out, f * f * c_in * hw * hw * c_out


SKIP = """
    name: skip
    input: 8x8x3
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1}
        name: enc
      - maxpool: 2
      - conv: {filters: 8, kernel: 3, padding: 1}
        name: mid
      - upsample: 2
        name: up
      - concat:
        from: [up, enc]
        name: cat
      - conv: {filters: 2, kernel: 1}
        name: head
"""


# --------------------------------------------------------------------------- taps and joins

def test_a_skip_connection_by_name_counts_by_hand() -> None:
    report = load(SKIP)
    rows = {node.path: node for node in report.walk()}
    assert rows["cat"].output_shape == (8, 8, 12)  # 8 upsampled + 4 from enc
    assert rows["cat"].sources == ["up", "enc"] and rows["cat"].kind == "concat"
    enc, mid, head = conv(3, 3, 4, 8), conv(3, 4, 8, 4), conv(1, 12, 2, 8)
    assert report.totals.params == enc[0] + mid[0] + head[0]
    assert report.totals.macs == enc[1] + mid[1] + head[1]
    # activations: every row's output once: enc, pool, mid, up, cat, head
    assert report.totals.activations == 8 * 8 * 4 + 4 * 4 * 4 + 4 * 4 * 8 + 8 * 8 * 8 \
        + 8 * 8 * 12 + 8 * 8 * 2
    assert [n.path for n in report.outputs] == ["head"]


def test_a_tap_feeds_one_layer_and_the_next_follows_it() -> None:
    report = load("""
        name: t
        input: 6x6x2
        layers:
          - conv: [5, 3]
            name: a
          - conv: [7, 1]
            name: b
          - conv: [3, 1]
            from: a
            name: c
          - relu
    """)
    rows = {node.path: node for node in report.walk()}
    assert rows["c"].input_shape == (4, 4, 5) and rows["c"].output_shape == (4, 4, 3)
    assert rows["relu1"].input_shape == (4, 4, 3)
    # b's output is read by nothing: an output of the network, before the last row's
    assert [n.path for n in report.outputs] == ["b", "relu1"]


def test_add_of_two_rows_and_the_input() -> None:
    report = load("""
        name: t
        input: 4x4x3
        layers:
          - conv: {filters: 3, kernel: 3, padding: 1}
            name: a
          - conv: {filters: 3, kernel: 1}
            name: b
          - add:
            from: [a, b, input]
    """)
    node = report.nodes[-1]
    assert node.output_shape == (4, 4, 3) and node.sources == ["a", "b", "input"]
    assert node.elementwise == 2 * 4 * 4 * 3  # three tensors: two adds per element


def test_dotted_paths_reach_into_repeats_and_blocks() -> None:
    report = load("""
        name: t
        input: 8x8x2
        blocks:
          unit:
            args: {filters: 4}
            layers:
              - conv: {filters: $filters, kernel: 3, padding: 1}
                name: conv
              - relu
        layers:
          - unit: {filters: 4}
            repeat: 3
            name: stage
          - conv: {filters: 6, kernel: 1}
            from: stage.1.conv
            name: side
          - concat:
            from: [side, stage]
    """)
    side = next(n for n in report.walk() if n.path == "side")
    assert side.sources == ["stage.1.conv"] and side.input_shape == (8, 8, 4)
    assert report.nodes[-1].output_shape == (8, 8, 10)


def test_a_block_argument_names_the_callers_row() -> None:
    """Names are looked up in the enclosing lists, innermost first, the caller's included;
    a block argument can carry the name (`from: $skip`)."""
    report = load("""
        name: t
        input: 8x8x2
        blocks:
          up:
            args: {skip: required}
            layers:
              - upsample: 2
                name: up
              - concat:
                from: [up, $skip]
        layers:
          - conv: {filters: 3, kernel: 3, padding: 1}
            name: enc
          - maxpool: 2
          - up: {skip: enc}
    """)
    assert report.nodes[-1].output_shape == (8, 8, 3 + 3)  # enc upsampled, and enc


def test_input_is_the_input_of_the_enclosing_list() -> None:
    """`from: input` inside a block reads the block's input (at the top: the network's), so a
    block's rows can read it twice and every use of the block is written alike."""
    report = load("""
        name: t
        input: 8x8x4
        blocks:
          unit:
            args: {}
            layers:
              - conv: {filters: 4, kernel: 3, padding: 1}
                name: conv1
              - conv: {filters: 4, kernel: 1}
                from: input
                name: side
              - add:
                from: [conv1, side, input]
        layers:
          - conv: {filters: 4, kernel: 1}
            name: stem
          - unit: {}
            repeat: 2
            name: stage
    """)
    rows = {node.path: node for node in report.walk()}
    assert rows["stage.1.side"].sources == ["stage.1.input"]
    assert rows["stage.1.add1"].sources == ["stage.1.conv1", "stage.1.side", "stage.1.input"]
    per_unit = conv(3, 4, 4, 8)[0] + conv(1, 4, 4, 8)[0]
    assert report.totals.params == conv(1, 4, 4, 8)[0] + 2 * per_unit
    assert rows["stage.0.add1"].elementwise == 2 * 8 * 8 * 4


# --------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("layers, message", [
    ("- conv: [4, 1]\n  from: later\n- conv: [2, 1]\n  name: later",
     r"from: 'later': 'later' comes later or holds this layer"),
    ("- conv: [4, 1]\n  name: first\n- conv: [2, 1]\n  from: frist",
     r"from: no earlier layer named 'frist' \(did you mean 'first'\?\)"),
    ("- conv: [4, 1]\n  name: a\n- conv: [2, 1]\n  from: a.b",
     r"from: 'a.b': 'a' has no row 'b'"),
    ("- conv: [4, 1]\n  name: a\n- conv: [2, 1]\n  from: [a, input]",
     r"from: only add and concat take several inputs"),
    ("- conv: [4, 1]\n  name: a\n- concat:\n  from: a",
     r"concat as a layer joins two or more outputs"),
    ("- conv: [4, 1]\n  name: a\n- concat: {axis: 1}\n  from: [a, input]",
     r"concat takes no fields"),
    ("- conv: [4, 1]\n  name: a\n- add:\n  from: [a, input]",
     r"add '\S+': cannot add branches of different shapes: a gives 4x4x4, input gives 4x4x3"),
    ("- conv: [4, 2]\n  name: a\n- concat:\n  from: [a, input]",
     r"cannot concatenate along channels, spatial sizes differ: a gives 3x3x4, input gives"),
    ("- conv: [4, 1]\n  name: input", r"the name 'input' is reserved"),
    ("- conv: [4, 1]\n  from: 3.5", r"from must be a layer's name .* got 3.5"),
    # a whole number is a name, as `name: 3` is: the row named "3"
    ("- conv: [4, 1]\n  from: 3", r"from: no earlier layer named '3'"),
    ("- conv: [4, 1]\n  training_only: yes", r"training_only must be true or false"),
    ("- conv: [4, 1]\n  name: a\n- concat:\n  from: [a, input]\n  repeat: 2",
     r"concat joins the outputs from: names; it cannot repeat"),
])
def test_located_refusals(layers: str, message: str, tmp_path: Path, runner) -> None:
    path = tmp_path / "bad.yaml"
    body = textwrap.indent(layers, "  ")
    path.write_text(f"name: bad\ninput: 4x4x3\nlayers:\n{body}\n")
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert re.search(message, result.output), result.output
    assert f"{path}:" in result.output  # file and line


def test_a_tap_cannot_see_inside_a_sibling_branch_by_bare_name() -> None:
    error = refused("""
        name: t
        input: 4x4x3
        layers:
          - parallel:
              branches:
                - [{conv: [2, 1], name: left}]
                - [{conv: [2, 1], from: left}]
    """)
    assert "no earlier layer named 'left'" in str(error)


def test_a_row_dropped_by_when_need_not_find_what_it_reads() -> None:
    """A concat of an optional row: when the row is dropped, the concat is too."""
    text = """
        name: t
        input: 8x8x4
        vars: {two: false}
        layers:
          - conv: {filters: 4, kernel: 1}
            name: a
          - conv: {filters: 4, kernel: 1}
            name: b
            when: $two
          - concat:
            from: [a, b]
            when: $two
    """
    report = load(text)
    assert [n.path for n in report.nodes] == ["a"]
    report = cnncalc.analyze(cnncalc.load_text(textwrap.dedent(text).replace(
        "two: false", "two: true"), "t"))
    assert report.nodes[-1].output_shape == (8, 8, 8)
    error = refused(text.replace("from: [a, b]\n            when: $two", "from: [a, b]"))
    assert "no earlier layer named 'b'" in str(error)


# --------------------------------------------------------------------------- outputs

def test_outputs_listed_in_order_and_json_contract(runner, tmp_path: Path) -> None:
    path = tmp_path / "heads.yaml"
    path.write_text(textwrap.dedent("""
        name: heads
        input: 8x8x3
        outputs: [p4, p8]
        layers:
          - conv: {filters: 4, kernel: 3, stride: 2, padding: 1}
            name: s2
          - conv: {filters: 4, kernel: 3, stride: 2, padding: 1}
            name: s4
          - conv: {filters: 4, kernel: 3, stride: 2, padding: 1}
            name: s8
          - conv: {filters: 6, kernel: 1}
            name: p8
          - conv: {filters: 6, kernel: 1}
            from: s4
            name: p4
    """))
    result = runner.invoke(app, ["show", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["outputs"] == [
        {"name": "p4", "shape": [2, 2, 6], "training_only": False},
        {"name": "p8", "shape": [1, 1, 6], "training_only": False}]
    layer = next(row for row in doc["layers"] if row["path"] == "p4")
    assert layer["from"] == ["s4"] and layer["training_only"] is False
    text = runner.invoke(app, ["show", str(path)]).output
    assert "Outputs: p4 2x2x6, p8 1x1x6" in text


@pytest.mark.parametrize("outputs, message", [
    ("[b]", r"outputs: nothing reads the output of 'a2'"),
    ("[b, b]", r"outputs: 'b' is listed twice"),
    ("[input]", r"outputs: 'input' is the input"),
    ("[c]", r"no earlier layer named 'c'"),
])
def test_outputs_refusals(outputs: str, message: str) -> None:
    error = refused(f"""
        name: t
        input: 4x4x3
        outputs: {outputs}
        layers:
          - conv: [2, 1]
            name: a
          - conv: [2, 1]
            name: a2
          - conv: [2, 1]
            from: a
            name: b
    """)
    assert re.search(message, str(error)), str(error)


# --------------------------------------------------------------------------- training only

AUX = """
    name: aux
    input: 8x8x3
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1}
        name: trunk
      - seq:
          - global_pool
          - dense: 10
        from: trunk
        training_only: true
        name: aux
      - conv: {filters: 5, kernel: 3, stride: 2, padding: 1}
        from: trunk
        name: main
      - global_pool
      - dense: 7
"""


def test_an_auxiliary_head_counts_params_not_inference_macs() -> None:
    report = load(AUX)
    trunk, main = conv(3, 3, 4, 8), conv(3, 4, 5, 4)
    aux_params, aux_macs = 4 * 10 + 10, 4 * 10
    assert report.totals.params == trunk[0] + aux_params + main[0] + 5 * 7 + 7
    assert report.totals.macs == trunk[1] + main[1] + 5 * 7
    assert report.training_only.params == aux_params
    assert report.training_only.macs == aux_macs
    assert report.training_only.activations == 4 + 10
    assert report.totals.activations == 8 * 8 * 4 + 4 * 4 * 5 + 5 + 7
    assert [(n.path, n.training_only) for n in report.outputs] == [("aux", True),
                                                                    ("dense1", False)]
    assert [n.path for n in report.inference_outputs] == ["dense1"]
    aux = next(n for n in report.nodes if n.path == "aux")
    assert aux.macs == aux_macs  # a training-only block's own counts include its rows


def test_show_marks_training_only_rows(runner, tmp_path: Path) -> None:
    path = tmp_path / "aux.yaml"
    path.write_text(textwrap.dedent(AUX))
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 0
    assert re.search(r"aux \(from trunk; training only\)", result.output)
    assert "Training only (auxiliary heads): params 50 (in the params above), MACs 40" \
        in result.output
    doc = json.loads(runner.invoke(app, ["show", str(path), "-f", "json"]).stdout)
    assert doc["training_only"]["macs"] == 40 and doc["totals"]["macs"] == \
        conv(3, 3, 4, 8)[1] + conv(3, 4, 5, 4)[1] + 35


@pytest.mark.parametrize("layers, message", [
    # the row after a training-only head reads it by default: refused
    ("- conv: [2, 1]\n  name: a\n- seq: [relu]\n  training_only: true\n- conv: [2, 1]",
     r"'seq1' runs only in training; a layer that also runs at inference cannot read it"),
    ("- conv: [2, 1]\n  name: a\n- seq: [relu]\n  training_only: true\n  name: h\n"
     "- conv: [2, 1]\n  from: h", r"'h' runs only in training"),
    ("- seq:\n  - conv: [2, 1]\n  - relu:\n    training_only: true\n- relu",
     r"runs only in training but is the last layer of 'seq1'"),
    ("- relu:\n  training_only: true", r"every output runs only in training"),
])
def test_training_only_refusals(layers: str, message: str) -> None:
    error = refused("name: t\ninput: 4x4x3\nlayers:\n" + textwrap.indent(layers, "  "))
    assert re.search(message, str(error)), str(error)


def test_memory_skips_auxiliary_heads_at_inference_and_keeps_them_for_training() -> None:
    report = load(AUX)
    x, trunk, main, pooled, dense = 8 * 8 * 3, 8 * 8 * 4, 4 * 4 * 5, 5, 7
    # the input is alive throughout; while `main` runs, its input (trunk) and output are
    # alive; trunk is freed after main, its last reader at inference (the head does not run)
    alive = {node.path if node else "input": size for node, size in
             memory.alive_per_step(report)}
    assert "aux" not in alive and "aux.dense1" not in alive
    assert alive["main"] == 4 * (x + trunk + main)
    assert alive["global_pool1"] == 4 * (x + main + pooled)
    assert alive["dense1"] == 4 * (x + pooled + dense)
    assert memory.peak_inference(report) == 4 * (x + trunk + main)
    # kept for the backward pass: each conv its input (x, trunk), each dense its input (the
    # head's 4 pooled values, the main path's 5); global average pooling keeps nothing
    assert memory.saved_activations(report) == 4 * (x + trunk + 4 + pooled)


def test_a_tap_keeps_its_tensor_alive_until_read() -> None:
    report = load(SKIP)
    alive = {node.path if node else "input": size for node, size in
             memory.alive_per_step(report)}
    x, enc, pool, mid, up, cat = 8 * 8 * 3, 8 * 8 * 4, 4 * 4 * 4, 4 * 4 * 8, 8 * 8 * 8, 8 * 8 * 12
    # fp32; the input alive throughout; max pooling's int64 indices (8 bytes) only while it runs
    assert alive["maxpool1"] == 4 * (x + enc + pool) + 8 * pool
    assert alive["mid"] == 4 * (x + enc + pool + mid)  # enc is read later, by cat
    assert alive["up"] == 4 * (x + enc + mid + up)
    assert alive["cat"] == 4 * (x + enc + up + cat)


def test_receptive_field_of_a_join_is_the_union_of_its_inputs() -> None:
    report = load(SKIP)
    fields = receptive.receptive_fields(report)
    # enc: 3x3 p1 -> r 3, j 1, p 1; pool 2: r 4, j 2, p 1; mid 3x3 p1: r 8, j 2, p 3;
    # up x2 (nearest): j 1, r 8 + 1/2, p 3 + 1/2 ... union with enc's (3, 1, 1): the span
    # from the earliest start to the latest end
    up = fields["up"].h
    assert (fields["mid"].h.size, fields["mid"].h.stride, fields["mid"].h.padding) == (8, 2, 3)
    cat = fields["cat"].h
    assert cat.padding == max(up.padding, 1)
    assert cat.size == max(up.size - up.padding, 3 - 1) + cat.padding
    assert cat.stride == max(up.stride, 1)


# --------------------------------------------------------------------------- splits

def test_parallel_split_hands_each_branch_its_channels() -> None:
    report = load("""
        name: t
        input: 4x4x6
        layers:
          - parallel:
              split: 2
              branches:
                - []
                - [{conv: [3, 1]}]
            name: unit
          - channel_shuffle: 2
          - parallel:
              split: [1, 2, 3]
              branches: [[], [{conv: [5, 1]}], []]
    """)
    rows = {node.path: node for node in report.walk()}
    assert rows["unit.branch2"].input_shape == (4, 4, 3)
    assert rows["unit.concat"].output_shape == (4, 4, 6)
    assert rows["parallel1.branch2"].input_shape == (4, 4, 2)
    assert report.nodes[-1].output_shape == (4, 4, 1 + 5 + 3)
    assert report.totals.params == (1 * 1 * 3 * 3 + 3) + (2 * 5 + 5)


def test_a_branch_written_as_one_named_entry_is_that_row() -> None:
    """torchvision's Inception keeps `Mixed_5b.branch1x1`: a branch that is one named layer (or
    seq) is that row; any other branch sits in a `branchN` row."""
    report = load("""
        name: t
        input: 4x4x3
        layers:
          - parallel:
              branches:
                - [{conv: [2, 1], name: branch1x1}]
                - [{conv: [3, 1]}, relu]
            name: mix
    """)
    paths = [node.path for node in report.walk()]
    assert paths == ["mix", "mix.branch1x1", "mix.branch2", "mix.branch2.conv1",
                     "mix.branch2.relu1", "mix.concat"]
    error = refused("""
        name: t
        input: 4x4x3
        layers:
          - parallel:
              branches:
                - [{conv: [2, 1], name: branch2}]
                - [{conv: [3, 1]}, relu]
    """)
    assert "the branch name 'branch2' is taken" in str(error)


@pytest.mark.parametrize("split, channels, message", [
    ("[1, 2]", 4, r"parallel.split: 1 \+ 2 = 3, but the input has 4 channels"),
    ("3", 4, r"parallel.split must be the number of branches \(2"),
    ("2", 1, r"parallel.split: 1 channels make only 1 chunks"),
])
def test_split_refusals(split: str, channels: int, message: str) -> None:
    error = refused(f"""
        name: t
        input: 4x4x{channels}
        layers:
          - parallel:
              split: {split}
              branches: [[], []]
    """)
    assert re.search(message, str(error)), str(error)


@pytest.mark.parametrize("channels, chunks, sizes", [
    (6, 2, [3, 3]), (5, 2, [3, 2]), (5, 4, [2, 2, 1]), (7, 3, [3, 3, 1]), (4, 3, [2, 2])])
def test_chunk_follows_torch(channels: int, chunks: int, sizes: list[int]) -> None:
    """torch.chunk: parts of ceil(C / chunks), the last smaller, fewer when C runs out
    (values from torch's documentation: `torch.arange(5).chunk(4)` has 3 parts)."""
    for index, size in enumerate(sizes):
        report = load(f"name: t\ninput: 2x2x{channels}\nlayers:\n  - chunk: [{chunks}, {index}]")
        assert report.nodes[0].output_shape == (2, 2, size)
    error = refused(f"name: t\ninput: 2x2x{channels}\nlayers:\n"
                    f"  - chunk: [{chunks}, {len(sizes)}]")
    assert f"make only {len(sizes)} chunks" in str(error)


# --------------------------------------------------------------------------- torch

@pytest.mark.torch
def test_built_network_returns_outputs_by_mode() -> None:
    torch = pytest.importorskip("torch")
    from cnncalc import torch as ct

    report = load(AUX)
    net = ct.build(report)
    x = torch.randn(2, 3, 8, 8)
    net.eval()
    out = net(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7)
    net.train()
    aux, main = net(x)
    assert aux.shape == (2, 10) and main.shape == (2, 7)


@pytest.mark.torch
@pytest.mark.parametrize("text", [SKIP, AUX])
def test_verify_agrees_with_torch(text: str, runner, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent(text))
    result = runner.invoke(app, ["verify", str(path), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "agree with torch" in result.output
