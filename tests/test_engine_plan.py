"""A block used again is walked once and its rows copied (within one analysis, and across the
analyses of one spec); the copies must be what walking it again would give.

The truth is the same network with each block use written out inline (a `seq` in place of the
block's name), which the engine walks entry by entry, and hand-computed receptive fields.
"""

from __future__ import annotations

import textwrap
from dataclasses import FrozenInstanceError, fields, replace
from types import MappingProxyType

import pytest

from cnncalc import CnnCalcError, analyze, bundled, load
from cnncalc.analyses import memory
from cnncalc.analyses.receptive import receptive_fields
from cnncalc.core import engine
from cnncalc.core.report import Node
from cnncalc.core.source import load_text

BLOCK = """\
blocks:
  proj:
    args: {}
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1}
      - batchnorm: {}
"""
INLINE = "seq: [{conv: {filters: 4, kernel: 3, padding: 1}}, {batchnorm: {}}]"

#: A residual whose shortcut is the block (`USE`, replaced by the block or its body).
AS_SHORTCUT = """\
  - residual:
      body:
        - conv: {filters: 4, kernel: 3, padding: 1}
      shortcut:
        - USE
          name: down
"""

#: Networks using the block `proj` in two roles, the first use taking a role the second
#: must not inherit: a residual's shortcut, a parallel block's branch, a residual's body.
ROLES = {
    "shortcut, then body": "layers:\n" + AS_SHORTCUT + """\
  - residual:
      body:
        - USE
          name: p
        - conv: {filters: 4, kernel: 3, padding: 1}
""",
    "branch, then body": """\
layers:
  - parallel:
      branches:
        - - USE
            name: a
        - - conv: {filters: 4, kernel: 1}
      merge: add
  - residual:
      body:
        - USE
          name: p
        - relu: {}
""",
    "body, then shortcut": """\
layers:
  - residual:
      body:
        - USE
          name: p
        - relu: {}
""" + AS_SHORTCUT,
    "shortcut, then the top level": "layers:\n" + AS_SHORTCUT + """\
  - USE
    name: p2
""",
}


def _spec(layers: str, inline: bool):
    use = INLINE if inline else "proj: {}"
    text = "name: t\ninput: 16x16x4\n" + ("" if inline else BLOCK) + layers.replace("USE", use)
    return load_text(textwrap.dedent(text), "t.yaml")


def _rows(report):
    fields = receptive_fields(report)
    return [(n.path, n.container, n.depth, n.input_shape, n.output_shape, n.params, n.macs,
             str(fields[n.path].text()) if n.path in fields else None)
            for top in report.nodes for n in top.walk()]


@pytest.mark.parametrize("roles", ROLES)
def test_a_blocks_copies_take_no_role_from_its_first_use(roles):
    block, inline = analyze(_spec(ROLES[roles], False)), analyze(_spec(ROLES[roles], True))
    assert _rows(block) == _rows(inline)
    assert memory.peak_inference(block) == memory.peak_inference(inline)
    assert memory.saved_activations(block) == memory.saved_activations(inline)


def test_the_receptive_field_after_a_block_used_as_a_shortcut_by_hand():
    # residual1: a 3x3 conv beside a shortcut of one 3x3 conv: 3. residual2: the block's
    # 3x3 conv and then a 3x3 conv on the body: 3 + 2 + 2 = 7 (the identity adds nothing).
    # When the second use took the first's role (a shortcut), the body read 3 + 2 = 5.
    report = analyze(_spec(ROLES["shortcut, then body"], False))
    fields = receptive_fields(report)
    assert fields["residual2"].size == 7
    assert fields["residual2.p"].size == 5
    assert report.nodes[1].children[0].container == "seq"


# --------------------------------------------------------------------------- across analyses
# A spec's later analyses copy the block expansions its earlier ones walked (`engine._Plan`).
# The truth: the same text loaded again (a new spec, with nothing kept) and analysed once.

def _every_row(report) -> list[tuple]:
    """Every field of every row, the totals and the outputs of a report."""
    rows = [tuple((f.name, getattr(n, f.name)) for f in fields(Node) if f.name != "children")
            for top in report.nodes for n in top.walk()]
    return [*rows, tuple(getattr(report.totals, f.name) for f in fields(report.totals)),
            tuple(n.path for n in report.outputs), report.layer_count,
            report.training_only and tuple(getattr(report.training_only, f.name)
                                           for f in fields(report.training_only))]


def _fresh(name: str):
    return load(bundled()[name])


@pytest.mark.parametrize("name", sorted(bundled()))
def test_later_analyses_of_a_spec_equal_a_fresh_one(name):
    spec = _fresh(name)
    h, w, c = spec.input_shape if len(spec.input_shape) == 3 else (None, None, None)
    inputs = [None] if h is None else [None, (h + 32, w + 64, c), None, (h + 32, w + 64, c)]
    for shape in inputs:
        for _ in range(3):  # the first keeps nothing, the second keeps, the third copies
            assert _every_row(analyze(spec, shape)) == _every_row(analyze(_fresh(name), shape))


FROZEN = """\
name: frozen
input: 32x32x3
freeze_until: s2
blocks:
  unit:
    args: {c: channels}
    layers:
      - conv: {filters: $c, kernel: 3, padding: 1}
      - batchnorm: {}
      - relu: {}
layers:
  - unit: {c: 8}
    repeat: 2
    name: s1
  - unit: {c: 8}
    name: s2
  - unit: {c: 8}
    name: s3
  - global_pool: avg
  - dense: 10
"""


def test_what_a_caller_or_freeze_until_does_to_a_report_never_reaches_the_next():
    spec = load_text(FROZEN, "frozen.yaml")
    fresh = analyze(load_text(FROZEN, "frozen.yaml"))
    # a unit on 3 channels: 3 * 3 * 3 * 8 + 8 + 16 (batch norm) = 240 params; on 8 channels:
    # 3 * 3 * 8 * 8 + 8 + 16 = 600; the dense layer 8 * 10 + 10 = 90. freeze_until: s1's two
    # units and s2 are frozen; s3 and the dense layer train.
    assert (fresh.totals.params, fresh.totals.trainable_params) == (240 + 3 * 600 + 90, 690)
    for _ in range(2):  # the second analysis keeps its walk's expansions
        report = analyze(spec)
    for top in report.nodes:
        for node in top.walk():
            node.macs, node.params, node.trainable_params, node.container = 0, 0, 0, "x"
    assert _every_row(analyze(spec)) == _every_row(fresh)


STEPS = """\
name: steps
input: 8x8x4
blocks:
  b:
    args: {n: 1}
    layers:
      - conv: {filters: $(n + n + n + n + n + n + n + n), kernel: 1}
      - conv: {filters: 4, kernel: 1}
layers:
  - b: {n: 1}
    repeat: 6
  - conv: {filters: $(1 + 1 + 1 + 1), kernel: 1}
"""


def test_an_analysis_refused_for_its_expressions_is_refused_after_others_ran(monkeypatch):
    # A fresh walk evaluates the block once (its uses have the same key), then the last
    # conv's filters; the plan's copy must spend the block's steps as that walk would, so
    # that the last conv is refused at the same budget. With too little left for the block
    # itself, it is walked, and the walk names the expression.
    spec = load_text(STEPS, "steps.yaml")
    analyze(spec), analyze(spec)  # the second keeps the block's expansion
    outcomes = []
    for steps in range(1, 60):
        monkeypatch.setattr(engine, "MAX_EXPRESSION_STEPS", steps)
        fresh = _outcome(load_text(STEPS, "steps.yaml"))
        assert _outcome(spec) == fresh
        outcomes.append(fresh)
    # The block's expression is 30 syntax-tree nodes (8 names and their 8 contexts, 7
    # additions and their 7 operators: `expr._cost`), the last conv's 10 (4 numbers, 3
    # additions, 3 operators). The block is walked once and copied 5 times, so: refused in
    # the block under 30 steps, at the last conv under 40, counted from 40 on.
    refused = [o.split("the last was ")[-1] if "steps to evaluate" in o else "counted"
               for o in outcomes]
    assert refused == ["'$(n + n + n + n + n + n + n + n)'"] * 29 \
        + ["'$(1 + 1 + 1 + 1)'"] * 10 + ["counted"] * 20


def test_what_is_kept_is_bounded(monkeypatch):
    monkeypatch.setattr(engine, "MAX_PLAN_ROWS", 200)
    spec = _fresh("resnet50")
    for size in range(64, 96):
        analyze(spec, (size, size, 3))
        analyze(spec, (size, size, 3))
    plan = engine._PLANS[spec]
    assert 100 < plan.rows <= 200
    assert plan.rows == sum(done.rows for done in plan.expanded.values())
    assert _every_row(analyze(spec, (80, 80, 3))) == _every_row(
        analyze(_fresh("resnet50"), (80, 80, 3)))


@pytest.mark.parametrize(("limit", "kept"), [(100, [14, 11] * 4), (99, [14, 11] * 3 + [14]),
                                             (13, [11]), (11, [11]), (10, [])])
def test_each_expansion_is_kept_if_it_fits(monkeypatch, limit, kept):
    # ResNet-50 at 224x224 walks 8 bottlenecks, in order: each stage's first (the block's
    # row, its 8 layers, the downsample seq and its 2 layers, the add and the relu: 14 rows)
    # and second (no downsample: 11). Within `limit` rows, each that fits is kept.
    monkeypatch.setattr(engine, "MAX_PLAN_ROWS", limit)
    spec = _fresh("resnet50")
    analyze(spec), analyze(spec)
    plan = engine._PLANS[spec]
    assert [done.rows for done in plan.expanded.values()] == kept
    assert plan.rows == sum(kept)
    assert {top.path: sum(1 for _ in top.walk()) for top in analyze(spec).nodes[4].children} \
        == {"layer1.0": 14, "layer1.1": 11, "layer1.2": 11}


def test_a_spec_is_frozen_once_loaded():
    spec = _fresh("resnet50")
    with pytest.raises(FrozenInstanceError):
        spec.vars = {"base_width": 128}  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.vars["base_width"] = 128  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.blocks["bottleneck"] = spec.blocks["bottleneck"]  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        spec.layers[0].name = "stem"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        spec.layers.append(spec.layers[0])  # type: ignore[attr-defined]


def test_a_spec_made_with_replace_is_frozen_too():
    spec = _fresh("resnet50")
    given = {"base_width": 128}
    wide = replace(spec, vars=given, layers=list(spec.layers))
    given["base_width"] = 64  # the caller's dict is copied, not kept
    assert wide.vars == {"base_width": 128} and isinstance(wide.layers, tuple)
    with pytest.raises(TypeError):
        wide.vars["groups"] = 2  # type: ignore[index]


def test_a_spec_made_with_replace_starts_afresh():
    # wide_resnet50_2 is resnet50 with base_width 128 (torchvision): 68,883,240 params
    spec = _fresh("resnet50")
    analyze(spec), analyze(spec)
    wide = replace(spec, vars=MappingProxyType({**spec.vars, "base_width": 128}))
    assert analyze(wide).totals.params == 68_883_240
    assert analyze(spec).totals.params == 25_557_032


def _blocks_walked(spec, monkeypatch, shape=None) -> int:
    """How many block uses one analysis of `spec` walks (the others are copied)."""
    walked = []
    single = engine._Walker.single

    def counting(self, entry, name, path, shape, frame, kind=None):
        if kind is not None:  # a block's body (`use`)
            walked.append(path)
        return single(self, entry, name, path, shape, frame, kind)

    monkeypatch.setattr(engine._Walker, "single", counting)
    analyze(spec, shape)
    monkeypatch.undo()
    return len(walked)


def test_a_specs_third_analysis_walks_no_block_it_walked_before(monkeypatch):
    # ResNet-50's 16 bottlenecks: the first two of each stage differ (the stride, the input
    # channels), the others are copies: 8 walks. The first analysis keeps nothing, the second
    # keeps its 8, and the third copies all 16; at a new size it walks them all again.
    spec = _fresh("resnet50")
    assert [_blocks_walked(spec, monkeypatch) for _ in range(3)] == [8, 8, 0]
    assert _blocks_walked(spec, monkeypatch, (320, 320, 3)) == 8
    assert _blocks_walked(spec, monkeypatch, (320, 320, 3)) == 0
    plan = engine._PLANS[spec]
    assert len(plan.expanded) == 16 and plan.analyses == 5
    assert _blocks_walked(_fresh("resnet50"), monkeypatch) == 8  # a new spec: its own plan


def _nest(inner: str, levels: int) -> str:
    return "{seq: [" * levels + inner + "]}" * levels


def _deep(levels: int, first_use: bool, layer: str = "{relu: {}}") -> str:
    """A spec whose block `b` (`layer` inside three seqs) is used at the top level (or not:
    a relu there) and then inside `levels` nested seqs, near the engine's limit of
    MAX_DEPTH levels."""
    top = "  - b: {}\n" if first_use else "  - relu: {}\n"
    return (f"name: deep\ninput: 4x4x2\nblocks:\n  b:\n    args: {{}}\n    layers: "
            f"[{_nest(layer, 3)}]\nlayers:\n{top}  - {_nest('{b: {}}', levels)}\n")


def _outcome(spec) -> str:
    try:
        return str(analyze(spec).totals)
    except CnnCalcError as exc:
        return str(exc)


@pytest.mark.parametrize("levels", range(94, 100))  # 100 levels: near Python's own limit
def test_a_copy_at_the_nesting_limit_is_refused_as_a_walk_is(levels):
    # The truth: the deep use alone, walked (no earlier use to copy). With an earlier use
    # at the top level, the deep one is a copy (within one analysis, and from the plan on a
    # spec's third analysis); the limit must refuse it at the same depth, with the same text.
    alone = _outcome(load_text(_deep(levels, False), "deep.yaml"))
    assert ("nest more than 100 levels deep" in alone) == (levels >= 97)
    spec = load_text(_deep(levels, True), "deep.yaml")
    outcomes = {_outcome(spec) for _ in range(3)}
    assert len(outcomes) == 1
    (outcome,) = outcomes
    assert ("nest more than 100 levels deep" in outcome) == (levels >= 97)
    if levels >= 97:
        assert outcome == alone


@pytest.mark.parametrize("levels", [94, 95, 96])
def test_a_use_too_deep_to_copy_spends_its_walk_once(monkeypatch, levels):
    # The block's one use sits `levels` seqs deep: at 95 and 96 its rows reach within 2
    # levels of MAX_DEPTH, where a copy is never made (the use is walked, and the walk
    # refuses what nests too deeply). Taking the kept expansion's steps and then walking
    # would spend the block's expression twice: refused at a budget a fresh spec passes.
    text = _deep(levels, False, "{conv: {filters: $(1 + 1), kernel: 1}}")
    spec = load_text(text, "deep.yaml")
    analyze(spec), analyze(spec)
    outcomes = []
    for steps in range(1, 12):  # the expression costs 4 steps (`expr._cost`)
        monkeypatch.setattr(engine, "MAX_EXPRESSION_STEPS", steps)
        outcomes.append(_outcome(spec))
        assert outcomes[-1] == _outcome(load_text(text, "deep.yaml"))
    assert ["steps to evaluate" in o for o in outcomes] == [True] * 3 + [False] * 8


def test_a_report_names_its_spec_as_the_file_does():
    # specs/resnet50.yaml: `name: resnet50`, `description: ResNet-50, layer by layer as
    # torchvision defines it (224x224x3)`, read from that file; the same at a second analysis
    spec = _fresh("resnet50")
    for _ in range(2):
        report = analyze(spec, (256, 256, 3), 4, "fp16")
        assert (report.spec_name, report.description) == (
            "resnet50", "ResNet-50, layer by layer as torchvision defines it (224x224x3)")
        assert (report.input_shape, report.batch, report.dtype) == ((256, 256, 3), 4, "fp16")
        assert report.file == str(bundled()["resnet50"])
        # no auxiliary head: nothing runs only in training
        assert _every_row(report)[-1] == (0, 0, 0, 0, 0, 0)
