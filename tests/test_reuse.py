"""Reuse across files (issue 14, item 8): `imports` takes block definitions from another spec
without its layers, and `extends` edits reach nested layers by dotted path.

The truth for counts is a spec written out by hand (the imported or edited layers inline) and
the closed forms of conv and batch-norm parameters and MACs. Each decision of the README's
"imports" and "edits by path" rules has its test here, errors with the file and line they name.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cnncalc import CnnCalcError, analyze, load
from cnncalc.commands import app
from cnncalc.core import reads
from cnncalc.core.catalog import bundled
from cnncalc.core.loader import load_yaml, read_text
from cnncalc.core.source import load_text


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def problems(ref: str) -> list[tuple[str, int | None, str]]:
    """(file name, line, message) of each problem loading and analysing `ref`."""
    with pytest.raises(CnnCalcError) as err:
        analyze(load(ref))
    return [(Path(p.file).name if p.file else "", p.line, p.message)
            for p in err.value.problems]


# --------------------------------------------------------------------------- imports

#: ResNet-50's Bottleneck (planes 64, 56x56x64 in: torchvision's layer1.0) written out by hand.
FLAT_BOTTLENECK = """\
name: flat
input: 56x56x64
layers:
  - residual:
      body:
        - conv: {filters: 64, kernel: 1, bias: false}
        - batchnorm: {}
        - relu
        - conv: {filters: 64, kernel: 3, padding: 1, bias: false}
        - batchnorm: {}
        - relu
        - conv: {filters: 256, kernel: 1, bias: false}
        - batchnorm: {}
      shortcut:
        - conv: {filters: 256, kernel: 1, bias: false}
        - batchnorm: {}
      activation: relu
"""
# weights 1x1 64->64, 3x3 64->64, 1x1 64->256, projection 1x1 64->256; batch norm 2 per channel
BOTTLENECK_PARAMS = (64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256
                     + 2 * (64 + 64 + 256 + 256))
BOTTLENECK_MACS = 56 * 56 * (64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256)


def test_a_block_imported_from_a_bundled_spec_counts_as_written_out(tmp_path):
    spec = write(tmp_path, "imp.yaml", """\
        name: imp
        input: 56x56x64
        imports:
          - from: resnet50
            blocks: [bottleneck]
        layers:
          - bottleneck: {planes: 64}
            name: layer1
        """)
    got = analyze(load(spec)).totals
    flat = analyze(load(write(tmp_path, "flat.yaml", FLAT_BOTTLENECK))).totals
    assert got.params == flat.params == BOTTLENECK_PARAMS == 75_008
    assert got.macs == flat.macs == BOTTLENECK_MACS
    assert got.buffers == flat.buffers
    # and it is torchvision's layer1.0 as the bundled resnet50 counts it
    layer1 = next(n for n in analyze(load("resnet50")).nodes if n.name == "layer1")
    assert layer1.children[0].params == BOTTLENECK_PARAMS


def test_only_blocks_are_taken_never_layers(tmp_path):
    spec = write(tmp_path, "imp.yaml", """\
        name: imp
        input: 56x56x64
        imports: [{from: resnet50, blocks: bottleneck}]
        layers: [{bottleneck: {planes: 64}}]
        """)
    report = analyze(load(spec))
    assert [n.name for n in report.nodes] == ["bottleneck1"]
    assert "imports" not in load(spec).raw


def test_the_imported_block_reads_its_own_files_vars(tmp_path, runner):
    # resnet50's bottleneck reads resnet50's vars base_width 64 and groups 1. This spec's own
    # vars of those names (and --var) do not reach into it: with them, the 3x3 conv would be
    # 128 wide in 99 groups and refuse 128 channels.
    spec = write(tmp_path, "imp.yaml", """\
        name: imp
        input: 56x56x64
        vars: {base_width: 128, groups: 99}
        imports: [{from: resnet50, blocks: [bottleneck]}]
        layers: [{bottleneck: {planes: 64}}]
        """)
    assert analyze(load(spec)).totals.params == BOTTLENECK_PARAMS
    result = runner.invoke(app, ["show", spec, "--var", "groups=2", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["params"] == BOTTLENECK_PARAMS


LIBRARY = """\
    # a library of blocks: no name, input or layers
    vars: {k: 7, act: relu}
    blocks:
      stem:
        args: {filters: channels}
        layers:
          - conv: {filters: $filters, kernel: $k}
            name: conv
          - cbr: {filters: $filters}
      cbr:
        args: {filters: channels}
        layers:
          - conv: {filters: $filters, kernel: 3, padding: 1, activation: $act}
      broken:
        layers: [{conv: {filters: 0, kernel: 1}}]
    """


def test_a_library_of_blocks_and_the_blocks_they_use(tmp_path):
    write(tmp_path, "lib/blocks.yaml", LIBRARY)
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 16x16x3
        vars: {k: 1}
        imports:
          - {from: lib/blocks.yaml, blocks: [stem]}
        layers:
          - stem: {filters: 8}
          - cbr: {filters: 4}        # came along with stem: a block of this spec too
        """)
    report = analyze(load(spec))
    # stem: 7x7 conv 3->8 (k is the library's 7, not this file's 1): 16 -> 10;
    # cbr 3x3 8->8 and the second cbr 8->4, both padded
    stem = (7 * 7 * 3 + 1) * 8 + (9 * 8 + 1) * 8
    assert report.totals.params == stem + (9 * 8 + 1) * 4
    assert report.nodes[0].output_shape == (10, 10, 8)
    # the broken block was not asked for and is never read
    assert reads.READ.has(tmp_path / "lib" / "blocks.yaml")


def test_every_block_when_blocks_is_left_out(tmp_path):
    write(tmp_path, "lib.yaml", LIBRARY)
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 16x16x3
        imports: [lib.yaml]
        layers: [{stem: {filters: 8}}]
        """)
    # all blocks are taken, so the broken one is checked, in its own file and line
    assert problems(spec) == [("lib.yaml", 15, "conv.filters: input should be greater than 0 "
                                                "(got 0)")]


def test_paths_are_relative_to_the_importing_file(tmp_path, monkeypatch):
    write(tmp_path, "a/lib.yaml", LIBRARY)
    write(tmp_path, "a/b/mid.yaml", """\
        blocks:
          pair:
            layers: [{cbr: {filters: 2}}, {cbr: {filters: 2}}]
        imports: [{from: ../lib.yaml, blocks: [cbr]}]
        """)
    spec = write(tmp_path, "a/b/c/net.yaml", """\
        name: net
        input: 4x4x1
        imports: [{from: ../mid.yaml, blocks: [pair]}]
        layers: [pair]
        """)
    monkeypatch.chdir(tmp_path)  # not the folder of any of them
    assert analyze(load(spec)).totals.params == (9 * 1 + 1) * 2 + (9 * 2 + 1) * 2
    assert reads.READ.has(tmp_path / "a" / "lib.yaml")
    assert reads.READ.has(tmp_path / "a" / "b" / "mid.yaml")


def test_errors_inside_an_imported_block_name_its_file(tmp_path):
    write(tmp_path, "lib.yaml", LIBRARY)
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 4x4x3
        imports: [{from: lib.yaml, blocks: [stem]}]
        layers: [{stem: {filters: 8}}]
        """)
    ((file, line, message),) = problems(spec)  # the 7x7 conv does not fit 4x4
    assert (file, line) == ("lib.yaml", 7) and "kernel 7 does not fit" in message
    write(tmp_path, "bad.yaml", """\
        blocks:
          unit:
            layers: [{conv: {filters: $width, kernel: 1}}]
        """)
    other = write(tmp_path, "other.yaml", """\
        name: other
        input: 4x4x3
        imports: [{from: bad.yaml, blocks: [unit]}]
        layers: [unit]
        """)
    ((file, line, message),) = problems(other)
    assert (file, line) == ("bad.yaml", 3) and "unknown name 'width'" in message


@pytest.mark.parametrize(("imports", "line", "message"), [
    ("[{from: resnet50, blocks: [botleneck]}]", 3,
     "imports: resnet50 has no block 'botleneck' (did you mean 'bottleneck'?); its blocks: "
     "bottleneck"),
    ("[{from: resnet5}]", 3, "imports: no bundled spec named 'resnet5' (did you mean "
                             "'resnet50'?)"),
    ("[nothere.yaml]", 3, "imports: no such file"),
    ("[{from: resnet50, block: bottleneck}]", 3, "imports: unknown field 'block' (did you "
                                                 "mean 'blocks'?)"),
    ("[{blocks: [bottleneck]}]", 3, "imports: 'from' is missing"),
    ("[{from: resnet50, blocks: []}]", 3, "imports: blocks is a list of block names"),
    ("resnet50", 3, "imports must be a list"),
    ("[lenet5]", 3, "imports: lenet5 defines no blocks"),
    ("[/etc/passwd]", 3, "imports: '/etc/passwd' is not a spec"),
])
def test_located_errors_of_an_import(tmp_path, imports, line, message):
    spec = write(tmp_path, "net.yaml", f"name: net\ninput: 4x4x1\nimports: {imports}\n"
                                       "layers: [flatten]\n")
    ((file, at, text),) = problems(spec)
    assert (file, at) == ("net.yaml", line)
    assert text.startswith(message), text


def test_a_block_name_named_on_its_own_line_is_located_there(tmp_path):
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 4x4x1
        imports:
          - from: resnet50
            blocks:
              - bottleneck
              - basic
        layers: [flatten]
        """)
    assert [(f, line) for f, line, _ in problems(spec)] == [("net.yaml", 7)]


def test_a_clash_with_a_local_block_is_an_error(tmp_path):
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 56x56x64
        blocks:
          bottleneck:
            layers: [relu]
        imports:
          - from: resnet50
            blocks: [bottleneck]
        layers: [bottleneck]
        """)
    assert problems(spec) == [(
        "net.yaml", 8, "imports: block 'bottleneck' from resnet50 clashes with the block "
        "'bottleneck' defined in this file at line 4: a name means one block; rename this "
        "file's block, or leave 'bottleneck' out of the import")]


def test_a_clash_with_a_block_that_comes_along_is_an_error(tmp_path):
    write(tmp_path, "lib.yaml", LIBRARY)
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 16x16x3
        blocks:
          cbr:
            layers: [relu]
        imports: [{from: lib.yaml, blocks: [stem]}]
        layers: [{stem: {filters: 8}}]
        """)
    ((file, line, message),) = problems(spec)
    assert (file, line) == ("net.yaml", 6)
    assert message.startswith("imports: block 'cbr' comes with 'stem' from lib.yaml (which uses "
                              "it) clashes with the block 'cbr' defined in this file at line 4")


def test_a_clash_between_two_imports_and_the_same_block_twice(tmp_path):
    write(tmp_path, "lib.yaml", LIBRARY)
    write(tmp_path, "other.yaml", "blocks:\n  cbr:\n    layers: [relu]\n")
    twice = write(tmp_path, "twice.yaml", """\
        name: twice
        input: 16x16x3
        imports:
          - {from: lib.yaml, blocks: [stem]}
          - {from: lib.yaml, blocks: [cbr]}     # already here, the same definition: fine
        layers: [{stem: {filters: 8}}, {cbr: {filters: 8}}]
        """)
    assert analyze(load(twice)).totals.params == (7 * 7 * 3 + 1) * 8 + 2 * (9 * 8 + 1) * 8
    clash = write(tmp_path, "clash.yaml", """\
        name: clash
        input: 16x16x3
        imports:
          - {from: lib.yaml, blocks: [stem]}
          - {from: other.yaml, blocks: [cbr]}
        layers: [{stem: {filters: 8}}]
        """)
    ((file, line, message),) = problems(clash)
    assert (file, line) == ("clash.yaml", 5)
    assert "clashes with the block 'cbr' imported from lib.yaml at line 4" in message


def test_a_shared_helper_reached_twice_is_one_block(tmp_path):
    write(tmp_path, "d.yaml", "blocks:\n  unit:\n    layers: [{conv: {filters: 2, kernel: 1}}]\n")
    write(tmp_path, "b.yaml", "imports: [d.yaml]\nblocks:\n  left:\n    layers: [unit]\n")
    write(tmp_path, "c.yaml", "imports: [d.yaml]\nblocks:\n  right:\n    layers: [unit]\n")
    spec = write(tmp_path, "a.yaml", """\
        name: a
        input: 4x4x1
        imports: [b.yaml, c.yaml]
        layers: [left, right]
        """)
    assert analyze(load(spec)).totals.params == (1 + 1) * 2 + (2 + 1) * 2


def test_a_clash_with_a_block_inherited_through_extends(tmp_path):
    write(tmp_path, "base.yaml", """\
        name: base
        input: 4x4x1
        blocks:
          cbr:
            layers: [relu]
        layers: [cbr]
        """)
    write(tmp_path, "lib.yaml", LIBRARY)
    spec = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        imports: [{from: lib.yaml, blocks: [cbr]}]
        """)
    ((file, line, message),) = problems(spec)
    assert (file, line) == ("child.yaml", 2)
    assert "clashes with the block 'cbr' written in base.yaml" in message


@pytest.mark.parametrize("self_import", [False, True])
def test_a_cycle_of_imports_is_located(tmp_path, self_import):
    if self_import:
        spec = write(tmp_path, "a.yaml", "name: a\ninput: 4x4x1\nimports: [a.yaml]\n"
                                         "layers: [flatten]\n")
        assert problems(spec) == [("a.yaml", 3, "imports cycle: a.yaml -> a.yaml")]
        return
    spec = write(tmp_path, "a.yaml", "name: a\ninput: 4x4x1\nimports: [b.yaml]\n"
                                     "blocks:\n  x:\n    layers: [relu]\nlayers: [flatten]\n")
    write(tmp_path, "b.yaml", "blocks:\n  y:\n    layers: [relu]\n"
                              "imports:\n  - {from: a.yaml, blocks: [x]}\n")
    assert problems(spec) == [("b.yaml", 5, "imports cycle: a.yaml -> b.yaml -> a.yaml")]


def test_an_extended_spec_may_import_and_its_child_gets_the_blocks(tmp_path):
    write(tmp_path, "lib.yaml", LIBRARY)
    write(tmp_path, "base.yaml", """\
        name: base
        input: 16x16x3
        imports: [{from: lib.yaml, blocks: [cbr]}]
        layers:
          - cbr: {filters: 4}
            name: head
        """)
    child = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        edits:
          - append: [{cbr: {filters: 2}}]
        """)
    assert analyze(load(child)).totals.params == (9 * 3 + 1) * 4 + (9 * 4 + 1) * 2


def test_scaled_yaml_of_an_importing_spec_stands_alone(tmp_path, runner):
    spec = write(tmp_path, "imp.yaml", """\
        name: imp
        input: 56x56x64
        imports: [{from: resnet50, blocks: [bottleneck]}]
        layers: [{bottleneck: {planes: 64}}]
        """)
    out = tmp_path / "scaled.yaml"
    result = runner.invoke(app, ["scale", spec, "-w", "0.5", "--yaml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "imports" not in out.read_text()

    def totals(*args: str) -> dict[str, int]:
        shown = runner.invoke(app, [*args, "-f", "json"])
        assert shown.exit_code == 0, shown.output
        return json.loads(shown.output)["totals"]

    assert totals("show", str(out)) == totals("scale", spec, "-w", "0.5")
    # half width: planes 32, so widths 32, 32 and 128 from 64 input channels
    assert totals("show", str(out))["params"] == (64 * 32 + 9 * 32 * 32 + 32 * 128 + 64 * 128
                                                  + 2 * (32 + 32 + 128 + 128))


def test_every_bundled_block_can_be_imported_alone():
    # each bundled spec's blocks, imported one at a time, load in a spec of their own
    for name, path in bundled().items():
        for block in load_yaml(read_text(path), str(path)).get("blocks") or {}:
            text = (f"name: t\ninput: 8x8x3\nimports: [{{from: {name}, blocks: [{block}]}}]\n"
                    "layers: [flatten]\n")
            assert block in load_text(text, "t.yaml").blocks


# --------------------------------------------------------------------------- edits by path

BASE = """\
    name: base
    input: 16x16x3
    blocks:
      unit:
        layers: [{conv: {filters: 4, kernel: 3, padding: 1}, name: c}]
    layers:
      - conv: {filters: 8, kernel: 3, padding: 1}
      - seq:
          - conv: {filters: 8, kernel: 3, padding: 1}
            name: conv1
          - relu
        name: stage
        repeat: 2
      - residual:
          body:
            - conv: {filters: 8, kernel: 3, padding: 1}
              name: conv1
            - conv: {filters: 8, kernel: 3, padding: 1}
          shortcut:
            - conv: {filters: 8, kernel: 1}
              name: proj
        name: res
      - parallel:
          branches:
            - [{conv: {filters: 4, kernel: 1}}]
            - [{conv: {filters: 4, kernel: 3, padding: 1}}]
        name: mix
      - unit
    """

#: BASE with the edits of test_edits_reach_nested_layers, written out by hand.
EDITED = """\
    name: edited
    input: 16x16x3
    blocks:
      unit:
        layers: [{conv: {filters: 4, kernel: 3, padding: 1}, name: c}]
    layers:
      - conv: {filters: 8, kernel: 1}
      - seq:
          - conv: {filters: 8, kernel: 5, padding: 2}
            name: conv1
          - relu
        name: stage
        repeat: 2
      - residual:
          body:
            - conv: {filters: 8, kernel: 3, padding: 1}
              name: conv1
          shortcut:
            - conv: {filters: 8, kernel: 1}
              name: proj
            - batchnorm: {}
              name: bn
        name: res
      - parallel:
          branches:
            - [{conv: {filters: 4, kernel: 1}}]
            - [{conv: {filters: 6, kernel: 1}}]
        name: mix
      - unit
    """


def rows(ref: str) -> list[tuple[str, int]]:
    """(path, params) of every row of a report, depth first."""
    out = []
    stack = list(reversed(analyze(load(ref)).nodes))
    while stack:
        node = stack.pop()
        out.append((node.path, node.params))
        stack.extend(reversed(node.children or []))
    return out


def test_edits_reach_nested_layers(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        name: child
        edits:
          - replace: stage.*.conv1          # every pass of the repeat
            with: {conv: {filters: 8, kernel: 5, padding: 2}, name: conv1}
          - remove: res.conv2               # a generated name, as show prints it
          - insert_after: res.shortcut.proj
            layers: [{batchnorm: {}, name: bn}]
          - replace: mix.branch2.conv1
            with: {conv: {filters: 6, kernel: 1}}
          - replace: conv1                  # a top-level unnamed layer
            with: {conv: {filters: 8, kernel: 1}}
        """)
    flat = write(tmp_path, "edited.yaml", EDITED)
    assert rows(child) == rows(flat)
    # by hand: 1x1 3->8; two 5x5 8->8; res 3x3 8->8, 1x1 8->8, bn 8; mix 1x1 8->4 and 8->6;
    # unit 3x3 10->4
    expected = (3 + 1) * 8 + 2 * (25 * 8 + 1) * 8 + (9 * 8 + 1) * 8 + (8 + 1) * 8 + 2 * 8 \
        + (8 + 1) * 4 + (8 + 1) * 6 + (9 * 10 + 1) * 4
    assert analyze(load(child)).totals.params == expected


def test_layers_put_in_by_a_nested_edit_name_the_editing_file(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        edits:
          - insert_after: res.conv1
            layers:
              - conv: {filters: 0, kernel: 1}
        """)
    ((file, line, message),) = problems(child)
    assert (file, line) == ("child.yaml", 5) and "greater than 0" in message
    wide = write(tmp_path, "wide.yaml", """\
        extends: base.yaml
        edits:
          - insert_before: stage.*.conv1
            layers:
              - conv: {filters: 8, kernel: 99}
        """)
    ((file, line, message),) = problems(wide)
    assert (file, line) == ("wide.yaml", 5) and "kernel 99 does not fit" in message


def test_layers_left_in_place_still_name_the_base(tmp_path):
    write(tmp_path, "base.yaml", """\
        name: base
        input: 8x8x1
        layers:
          - seq:
              - conv: {filters: 1, kernel: 3, padding: 1}
                name: a
              - conv: {filters: 1, kernel: 7}
                name: b
            name: s
        """)
    child = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        input: 4x4x1
        edits:
          - insert_before: s.a
            layers: [{maxpool: 2}]
        """)
    ((file, line, message),) = problems(child)  # b's 7x7 does not fit 2x2
    assert (file, line) == ("base.yaml", 7), message


@pytest.mark.parametrize(("target", "message"), [
    ("stage.0.conv1", "'stage' repeats its entry (repeat: 2): its passes (stage.0, stage.1, "
                      "...) are one entry written once, so 'stage.0' cannot change alone; write "
                      "'stage.*.conv1' to edit that layer in every pass, or replace 'stage' "
                      "with its passes written out"),
    ("stage.1", "'stage' repeats its entry (repeat: 2): its passes (stage.0, stage.1, ...) are "
                "one entry written once, so 'stage.1' cannot change alone; replace 'stage' "
                "with its passes written out"),
    ("stage.conv1", "'stage' repeats its entry (repeat: 2): the path goes through its passes"),
    ("stage.*", "'stage.*' names every pass of a repeat, not one layer"),
    ("res.*.conv1", "'res' is not repeated"),
    ("unit1.c", "'unit1' is a use of the block 'unit', whose layers every use shares: an edit "
                "cannot change them in one place; override the block instead (define 'unit' "
                "under 'blocks:' in this file; it replaces the base's), or replace 'unit1'"),
    ("conv1.x", "'conv1' is a conv layer: there is nothing inside it to edit"),
    ("res.cnov1", "no layer named 'cnov1' in 'res' (did you mean 'conv1'?); its layers: conv1, "
                  "conv2"),
    ("res.add", "'add' in 'res' is a row the residual adds"),
    ("res.shortcut", "'res.shortcut' is a list of layers, not a layer"),
    ("mix.branch3.conv1", "'mix' is a parallel: the next part of the path is one of its "
                          "branches, branch1 .. branch2; got 'branch3'"),
    ("mix.branch1.conv9", "no layer named 'conv9' in 'mix.branch1' (did you mean 'conv1'?)"),
    ("stagee", "no layer named 'stagee' at the top level (did you mean 'stage'?)"),
    ("res..conv1", "a layer to edit is named by its name or dotted path"),
])
def test_paths_an_edit_cannot_take_say_why(tmp_path, target, message):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", f"extends: base.yaml\nedits:\n  - remove: {target}\n")
    ((file, line, text),) = problems(child)
    assert (file, line) == ("child.yaml", 3)
    assert message in text, text


def test_overriding_the_block_is_the_way_into_a_block(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        blocks:
          unit:
            layers: [{conv: {filters: 4, kernel: 1}, name: c}]
        """)
    assert dict(rows(child))["unit1.c"] == (8 + 1) * 4


def test_names_after_a_when_are_not_guessed(tmp_path):
    write(tmp_path, "base.yaml", """\
        name: base
        input: 4x4x1
        vars: {extra: true}
        layers:
          - seq:
              - conv: {filters: 1, kernel: 1}
                when: $extra
              - conv: {filters: 1, kernel: 1}
            name: s
        """)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nedits:\n  - remove: s.conv2\n")
    ((_, _, message),) = problems(child)
    assert "no fixed name" in message


def test_the_schema_describes_imports():
    from cnncalc.core.schema import spec_schema

    schema = spec_schema()
    assert schema["properties"]["imports"]["items"] == {"$ref": "#/$defs/import"}
    assert schema["$defs"]["import"]["anyOf"][1]["required"] == ["from"]


def test_an_imported_file_is_never_written_over(tmp_path, runner):
    lib = tmp_path / "lib.yaml"
    write(tmp_path, "lib.yaml", LIBRARY)
    spec = write(tmp_path, "net.yaml", """\
        name: net
        input: 16x16x3
        imports: [{from: lib.yaml, blocks: [cbr]}]
        layers: [{cbr: {filters: 4}}]
        """)
    before = lib.read_text()
    result = runner.invoke(app, ["scale", spec, "-w", "0.5", "--yaml", "-o", str(lib)])
    assert result.exit_code == 2, result.output
    assert lib.read_text() == before


def test_the_docs_imports_example_by_hand():
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "spec-format.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "wide-stage" in b)
    # two bottlenecks 256 -> 64 -> 64 -> 256, stride 1: no projection (256 channels in and out)
    one = 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    assert analyze(load_text(block, "spec-format.md")).totals.params == 2 * one == 140_800


def test_an_extending_spec_imports_before_its_edits(tmp_path):
    write(tmp_path, "lib.yaml", LIBRARY)
    write(tmp_path, "base.yaml", "name: base\ninput: 8x8x2\nlayers:\n  - relu: {}\n    name: act\n")
    child = write(tmp_path, "child.yaml", """\
        extends: base.yaml
        imports: [{from: lib.yaml, blocks: [cbr]}]
        edits:
          - insert_before: act
            layers: [{cbr: {filters: 3}, name: unit}]
        """)
    assert analyze(load(child)).totals.params == (9 * 2 + 1) * 3
    deeper = write(tmp_path, "deeper.yaml", """\
        extends: child.yaml
        edits:
          - remove: unit.conv1
        """)
    ((_, line, message),) = problems(deeper)
    assert line == 3 and "'unit' is a use of the block 'cbr'" in message


def test_an_empty_list_imports_nothing(tmp_path):
    spec = write(tmp_path, "net.yaml", "name: net\ninput: 4x4x1\nimports: []\nlayers: [flatten]\n")
    assert analyze(load(spec)).totals.params == 0
