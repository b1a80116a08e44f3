"""The spec format: short and long forms, positional values, blocks, repeat and expressions."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import CnnCalcError
from cnncalc.present.report import totals
from tests.conftest import analyze_text, spec_text


def test_short_long_positional_forms_are_the_same_layer():
    forms = [
        "- conv: {filters: 8, kernel: 3, stride: 2, padding: 1}",
        "- conv: [8, 3, 2, 1]",
        "- kind: conv\n  filters: 8\n  kernel: 3\n  stride: 2\n  padding: 1",
        "- conv:\n    filters: 8\n    kernel: [3, 3]\n    stride: [2, 2]\n"
        "    padding: [1, 1, 1, 1]",
    ]
    results = {(n.output_shape, n.params, n.macs)
               for form in forms for n in analyze_text(form, input="16x16x4").leaves()}
    # floor((16 + 2 - 3) / 2) + 1 = 8; params (3*3*4 + 1) * 8; MACs 3*3*4 * 8*8*8
    assert results == {((8, 8, 8), (3 * 3 * 4 + 1) * 8, 3 * 3 * 4 * 8 * 8 * 8)}


def test_input_forms():
    for text in ("32x32x3", "[32, 32, 3]", "32 x 32 x 3"):
        spec = cnncalc.load_text(f"name: t\ninput: {text}\nlayers: [flatten]", "t")
        assert spec.input_shape == (32, 32, 3)
    spec = cnncalc.load_text("name: t\ninput: 784\nlayers: [{dense: 10}]", "t")
    assert cnncalc.analyze(spec).totals.params == 784 * 10 + 10


def test_bare_names_and_scalar_values():
    report = analyze_text("- relu\n- maxpool: 2\n- flatten\n- dropout: 0.3\n- dense: 7",
                          input="8x8x2")
    kinds = [n.kind for n in report.leaves()]
    assert kinds == ["relu", "maxpool", "flatten", "dropout", "dense"]
    assert report.nodes[1].output_shape == (4, 4, 2)
    assert report.totals.params == 4 * 4 * 2 * 7 + 7


def test_same_padding_with_even_kernel_and_stride_two():
    report = analyze_text("- conv: {filters: 1, kernel: 4, stride: 2, padding: same}",
                          input="7x7x1")
    # ceil(7 / 2) = 4 outputs; total padding (4-1)*2 + 4 - 7 = 3: 1 before, 2 after
    assert report.nodes[0].output_shape == (4, 4, 1)
    assert report.nodes[0].layer.padding_of((7, 7, 1)) == (1, 2, 1, 2)


def test_groups_dilation_depthwise_and_separable():
    rep = analyze_text("- conv: {filters: 8, kernel: 3, groups: 4, dilation: 2}", input="9x9x4")
    # f_eff = 2*(3-1)+1 = 5: 9 - 5 + 1 = 5; params 3*3*(4/4)*8 + 8
    assert rep.nodes[0].output_shape == (5, 5, 8)
    assert rep.totals.params == 3 * 3 * 1 * 8 + 8
    dw = analyze_text("- depthwise: {kernel: 3, padding: 1, bias: false}", input="10x10x32")
    assert dw.totals.params == 3 * 3 * 32
    assert dw.totals.macs == 3 * 3 * 10 * 10 * 32
    sep = analyze_text("- separable: {filters: 64, kernel: 3, padding: 1}", input="10x10x32")
    assert sep.totals.params == 3 * 3 * 32 + 32 * 64 + 64
    assert sep.totals.macs == 3 * 3 * 32 * 100 + 32 * 64 * 100


def test_repeat_names_children_by_index_and_sees_i():
    report = analyze_text(
        "- conv: {filters: $(8 * (i + 1)), kernel: 1}\n  repeat: 3\n  name: stack",
        input="4x4x2")
    group = report.nodes[0]
    assert [c.path for c in group.children] == ["stack.0", "stack.1", "stack.2"]
    assert [c.output_shape[2] for c in group.children] == [8, 16, 24]
    assert group.params == (2 * 8 + 8) + (8 * 16 + 16) + (16 * 24 + 24)


def test_block_with_args_let_and_when():
    extra = """\
blocks:
  unit:
    args: {out: channels, expand: 1}
    let: {hidden: $(in_channels * expand)}
    layers:
      - conv: {filters: $hidden, kernel: 1, bias: false}
        when: $(expand != 1)
      - conv: {filters: $out, kernel: 1, bias: false}
"""
    report = analyze_text("- unit: {out: 8, expand: 4}\n- unit: {out: 8}", input="2x2x4",
                          extra=extra)
    first, second = report.nodes
    assert first.params == 4 * 16 + 16 * 8
    assert second.params == 8 * 8  # no expansion layer when expand == 1
    assert [c.kind for c in second.children] == ["conv"]


def test_default_names_count_per_kind_and_avoid_given_names():
    report = analyze_text("- relu\n- {relu: null, name: relu1}\n- relu", input="2x2x1")
    assert [n.name for n in report.nodes] == ["relu2", "relu1", "relu3"]


def test_trainable_false_is_inherited_and_counted_as_frozen():
    report = analyze_text(
        "- seq:\n    - conv: {filters: 4, kernel: 3}\n    - batchnorm\n  trainable: false\n"
        "- flatten\n- dense: 2", input="5x5x1")
    frozen = (3 * 3 * 1 * 4 + 4) + 2 * 4
    assert report.totals.frozen_params == frozen
    assert report.totals.trainable_params == 3 * 3 * 4 * 2 + 2
    assert report.totals.buffers == 2 * 4


def test_batch_scales_activations_and_macs_not_params():
    one = analyze_text("- conv: {filters: 4, kernel: 3}", input="8x8x3")
    many = analyze_text("- conv: {filters: 4, kernel: 3}", input="8x8x3", batch=16)
    assert totals(many)["params"] == totals(one)["params"]
    assert totals(many)["macs"] == 16 * totals(one)["macs"]
    assert totals(many)["activations"] == 16 * 6 * 6 * 4
    assert many.activation_bytes == 16 * 6 * 6 * 4 * 4


def test_dtype_sets_bytes_per_element():
    report = analyze_text("- conv: {filters: 4, kernel: 3}", input="8x8x3", dtype="fp16")
    assert report.param_bytes == (3 * 3 * 3 * 4 + 4) * 2


@pytest.mark.parametrize(("layers", "needle"), [
    ("- conv: {filters: 4, kernal: 3}", "unknown field 'kernal' (did you mean 'kernel'?)"),
    ("- convv: {filters: 4, kernel: 3}", "unknown kind 'convv' (did you mean 'conv'?)"),
    ("- conv: {filters: 0, kernel: 3}", "conv.filters: input should be greater than 0"),
    ("- conv: {filters: 2.5, kernel: 3}", "conv.filters: must be an integer, got 2.5"),
    ("- conv: {filters: 4, kernel: 9}", "floor((5 + 0 - 9) / 1) + 1 = -3 < 1"),
    ("- dense: 4", "dense needs a vector input"),
    ("- maxpool: {kernel: 2, mode: avg}", "maxpool.mode is fixed to 'max'"),
])
def test_errors_name_file_line_and_layer(layers: str, needle: str):
    text = spec_text("- relu\n" + layers, input="5x5x2")
    with pytest.raises(CnnCalcError) as info:
        cnncalc.analyze(cnncalc.load_text(text, "bad.yaml"))
    problem = info.value.problems[0]
    assert needle in problem.message
    assert problem.file == "bad.yaml"
    assert problem.line == 5  # name, input, layers:, relu, then the bad layer
    assert problem.layer and "layer 2" in problem.layer


ENTRY_KEY = ("belongs to the list entry, not to {kind}'s {fields}: write '{key}:' on a line of "
             "its own under '- {kind}:', lined up with '{kind}:'")


@pytest.mark.parametrize(("layers", "kind", "key", "fields"), [
    ("- conv: {filters: 4, kernel: 3, name: a}", "conv", "name", "fields"),
    ("- relu: {trainable: false}", "relu", "trainable", "fields"),
    ("- dense: {units: 3, from: input}", "dense", "from", "fields"),
    ("- residual: {body: [relu], when: true}", "residual", "when", "fields"),
    ("- parallel: {branches: [[relu], [relu]], merge: add, repeat: 2}", "parallel", "repeat",
     "fields"),
    ("- twice: {name: x}", "twice", "name", "arguments"),
])
def test_an_entry_key_written_among_a_kinds_fields_says_where_it_goes(layers, kind, key, fields):
    # `name`, `from`, `when`, `repeat`, `trainable` ... are keys of the list entry, beside
    # the kind; written inside its mapping they were "unknown field 'name' (did you mean
    # 'name'?)", a hint that named the word itself
    text = spec_text(layers, input="4x4x3").replace(
        "layers:", "blocks:\n  twice:\n    layers: [relu, relu]\nlayers:")
    with pytest.raises(CnnCalcError) as info:
        cnncalc.analyze(cnncalc.load_text(text, "bad.yaml"))
    message = info.value.problems[0].message
    assert message == f"{kind}: '{key}' " + ENTRY_KEY.format(kind=kind, key=key, fields=fields)
    assert info.value.problems[0].line == 7  # after the three lines of the block


def test_a_hint_never_names_the_word_it_corrects():
    from cnncalc.errors import suggest

    assert suggest("name", ["name", "names"]) == " (did you mean 'names'?)"
    assert suggest("relu", ["relu"]) == ""


def test_duplicate_keys_are_errors():
    with pytest.raises(CnnCalcError, match="duplicate key 'input'"):
        cnncalc.load_text("name: t\ninput: 4x4x1\ninput: 5x5x1\nlayers: [relu]", "d.yaml")


def test_every_problem_is_reported_at_once():
    text = spec_text("- conv: {filters: -1, kernel: 3}\n- pool: {kernel: 2, strde: 1}")
    with pytest.raises(CnnCalcError) as info:
        cnncalc.load_text(text, "two.yaml")
    assert [p.line for p in info.value.problems] == [4, 5]


@pytest.mark.parametrize(("entry", "hint"), [
    # YAML cuts a plain value at a comma inside {...} or [...]: filters '$max(a' and a key 'b)'
    ("- conv: {filters: $max(a, b), kernel: 3}", 'quote the expression: filters: "$max(a, b)"'),
    ("- conv: {filters: $(max(a, b)), kernel: 3}",
     'quote the expression: filters: "$(max(a, b))"'),
    ("- conv: {filters: $(max(a, b, 4) * 2) , kernel: 3}",
     'quote the expression: filters: "$(max(a, b, 4) * 2)"'),
    ("- conv: [$max(a, b), 3]", 'quote the expression: "$max(a, b)"'),
    ("- conv: {filters: $(max(a, b) if s == 'relu' else 4), kernel: 3}",
     '''quote the expression: filters: "$(max(a, b) if s == 'relu' else 4)"'''),
    ("- conv: {filters: $(max(a, b) if s == \"relu\" else 4), kernel: 3}",
     '''quote the expression: filters: '$(max(a, b) if s == "relu" else 4)\''''),
    # and a bracket inside one is a YAML syntax error
    ("- conv: {filters: $(xs[1]), kernel: 3}", 'quote the expression: filters: "$(xs[1])"'),
    ("- conv: {filters: $xs[a], kernel: 3}", 'quote the expression: filters: "$xs[a]"'),
    ("- conv: [$xs[1], 3]", 'quote the expression: "$xs[1]"'),
])
def test_an_unquoted_expression_in_a_flow_mapping_is_told_to_quote(entry, hint):
    """`conv: {filters: $max(a, b)}` is cut by YAML; the error says how to write it, at its
    line."""
    extra = "vars: {a: 4, b: 6, s: relu}\n"
    with pytest.raises(CnnCalcError) as info:
        cnncalc.load_text(spec_text(entry, extra=extra), "q.yaml")
    problem = info.value.problems[0]
    assert hint in problem.message
    assert "YAML" in problem.message and (problem.file, problem.line) == ("q.yaml", 5)
    assert len(info.value.problems) == 1


@pytest.mark.parametrize("entry", [
    '- conv: {filters: "$max(a, b)", kernel: 3}',
    "- conv: {filters: '$(max(a, b))', kernel: 3}",
    '- conv: ["$max(a, b)", 3]',
    "- conv: {filters: $a , kernel: 3}",
    "- conv: [$a, 3]",
    "- conv:\n    filters: $max(a, b)\n    kernel: 3",
    "- conv: {filters: $(a +\n    b), kernel: 3}",
])
def test_expressions_written_so_that_yaml_keeps_them_whole(entry):
    """Quoted, in block style, or free of commas and brackets: no complaint, the value is read."""
    report = cnncalc.analyze(cnncalc.load_text(spec_text(entry, extra="vars: {a: 4, b: 6}\n"),
                                               "q.yaml"))
    assert report.nodes[0].output_shape[-1] in (4, 6, 10)
