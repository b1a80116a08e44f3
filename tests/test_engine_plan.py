"""A block used again is walked once and its rows copied (within one analysis, and across the
analyses of one spec); the copies must be what walking it again would give.

The truth is the same network with each block use written out inline (a `seq` in place of the
block's name), which the engine walks entry by entry, and hand-computed receptive fields.
"""

from __future__ import annotations

import textwrap

import pytest

from cnncalc import analyze
from cnncalc.analyses import memory
from cnncalc.analyses.receptive import receptive_fields
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

#: Networks using the block `proj` in two roles, the first use taking a role the second
#: must not inherit: a residual's shortcut, a parallel block's branch, a residual's body.
ROLES = {
    "shortcut, then body": """\
layers:
  - residual:
      body:
        - conv: {filters: 4, kernel: 3, padding: 1}
      shortcut:
        - USE
          name: down
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
  - residual:
      body:
        - conv: {filters: 4, kernel: 3, padding: 1}
      shortcut:
        - USE
          name: down
""",
    "shortcut, then the top level": """\
layers:
  - residual:
      body:
        - conv: {filters: 4, kernel: 3, padding: 1}
      shortcut:
        - USE
          name: down
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
