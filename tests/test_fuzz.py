"""Fuzzing: random bytes, random YAML and random spec-shaped trees into the loader, parser
and engine. Whatever goes in, the only exception that may come out is CnnCalcError (a
RecursionError, TypeError, KeyError or pydantic ValidationError escaping is a bug).

Budget: about 15 s in all (the example counts below); set CNNCALC_FUZZ=N to run N times more.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.core.engine import analyze
from cnncalc.core.layers import KINDS
from cnncalc.core.loader import decode, load_yaml
from cnncalc.core.spec import parse_spec
from cnncalc.errors import CnnCalcError
from cnncalc.present.report import document

SCALE = int(os.environ.get("CNNCALC_FUZZ", "1"))
FUZZ = settings(max_examples=150 * SCALE, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def survive(run: Any) -> None:
    """Run one input through; anything but success or CnnCalcError fails the test."""
    try:
        run()
    except CnnCalcError as exc:
        # Every problem must be printable as one located line.
        assert exc.problems and all(p.format() for p in exc.problems)


def full(text: str) -> None:
    report = analyze(cnncalc.load_text(text, "fuzz.yaml"))
    document(report)  # the JSON contract must also build


# --------------------------------------------------------------------------- bytes and text

@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    survive(lambda: full(decode(data, "fuzz.yaml")))


YAML_ALPHABET = st.sampled_from(list("abcxyz019 -:,[]{}#&*!|>'\"%@`?\n\t\\$()._") +
                                ["conv", "layers", "input", "name", "\n  - ", ": ", "&a", "*a",
                                 "!!", "32x32x3", "kernel", "filters", "---", "\u00e9", "\x00"])


@FUZZ
@given(st.lists(YAML_ALPHABET, max_size=60).map("".join))
def test_random_yaml_text(text: str) -> None:
    survive(lambda: full(text))


@FUZZ
@given(st.text(max_size=200))
def test_random_unicode_text(text: str) -> None:
    survive(lambda: full("name: x\ninput: 8x8x3\nlayers:\n" + text))


# --------------------------------------------------------------------------- spec-shaped trees

KIND_NAMES = sorted(KINDS) + ["seq", "residual", "parallel", "blk", "nope"]
FIELDS = sorted({f for k in KINDS.values() for f in k.model.model_fields}) + [
    "name", "repeat", "when", "trainable", "scale", "kind", "body", "shortcut", "branches",
    "merge", "activation", "add", "args", "let", "layers"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-3, max_value=12),
    st.sampled_from([0, 1, 2, 3, 7, 64, 10**18, -(10**18), 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["same", "valid", "max", "avg", "relu", "softmax", "identity", "concat",
                     "add", "channels", "required", "$n", "$(n * 2)", "$(in_channels // 0)",
                     "$(i)", "$(nope)", "$(", "$('a' * n)", "$(2 ** 64 ** 64)", "$x.y",
                     "$(make_divisible(in_channels * 0.5))", "$(n if i else 0)", "",
                     "3x3", "\u00e9"]),
)


def trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(FIELDS + KIND_NAMES), inner, max_size=4),
        ),
        max_leaves=20,
    )


small = st.one_of(st.integers(min_value=1, max_value=5), st.sampled_from(
    [0, -1, 2.5, "same", "valid", "$n", "$(n * 2)", "$(in_channels)", "$(i + 1)", [1, 2],
     [3, 3], [1, 1, 1, 1], True, None, "relu", "avg", 10**18]))


@st.composite
def plausible_leaf(draw: st.DrawFn) -> Any:
    """A leaf kind with (mostly) its own fields: gets past the parser into the engine."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    model = KINDS[kind].model
    fixed = dict(KINDS[kind].fixed)
    names = sorted(f for f in model.model_fields if f not in fixed)
    required = [f for f in names if model.model_fields[f].is_required()]
    fields = {f: draw(st.integers(min_value=1, max_value=4) | small) for f in required}
    fields.update(draw(st.dictionaries(st.sampled_from(names), small, max_size=2))
                  if names else {})
    entry: dict[str, Any] = {kind: fields or None}
    if draw(st.booleans()):
        key = draw(st.sampled_from(["repeat", "when", "trainable", "name", "scale"]))
        entry[key] = draw(st.sampled_from([2, 3, "$(n)", "$(i == 0)", True, False, "a"]))
    return entry


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda body: {"seq": body}, st.lists(inner, max_size=3)),
        st.builds(lambda body, sc, act: {"residual": {"body": body, "shortcut": sc,
                                                      "activation": act}},
                  st.lists(inner, max_size=3), st.lists(inner, max_size=2),
                  st.sampled_from([None, "relu", "nope"])),
        st.builds(lambda branches, merge: {"parallel": {"branches": branches, "merge": merge}},
                  st.lists(st.lists(inner, max_size=2), min_size=2, max_size=3),
                  st.sampled_from(["concat", "add"])),
        st.builds(lambda n: {"blk": {"n": n}}, small),
    )


layer = st.one_of(
    plausible_leaf(), plausible_leaf(), plausible_leaf(),
    st.recursive(plausible_leaf(), containers, max_leaves=8),
    st.sampled_from(KIND_NAMES),
    st.builds(lambda k, v: {k: v}, st.sampled_from(KIND_NAMES), trees(scalars)),
    st.dictionaries(st.sampled_from(FIELDS + KIND_NAMES), trees(scalars), max_size=4),
)

spec_trees = st.fixed_dictionaries(
    # A bad name or input hides everything after it: keep them valid here (the header
    # has its own fuzz test below).
    {"name": st.just("fuzz"),
     "input": st.sampled_from(["8x8x3", "32x32x3", [16], "5x5x4", "1x1x1", "3x3x2"]),
     "layers": st.lists(layer, min_size=1, max_size=6)},
    optional={
        "vars": st.one_of(st.fixed_dictionaries({"n": small}),
                          st.fixed_dictionaries({"n": small}),
                          st.dictionaries(st.sampled_from(["n", "x", "i"]), scalars,
                                          max_size=3), trees(scalars)),
        "blocks": st.one_of(
            st.fixed_dictionaries({"blk": st.fixed_dictionaries(
                {"layers": st.lists(layer, min_size=1, max_size=3)},
                optional={"args": st.fixed_dictionaries({"n": st.sampled_from(
                    [1, "channels", "required", 4])}),
                          "let": st.fixed_dictionaries({"m": st.sampled_from(
                              ["$(n * 2)", 3, "$(blk)"])})})}),
            st.dictionaries(st.sampled_from(["blk", "conv", "1bad"]), trees(scalars),
                            max_size=2)),
    },
)

headers = st.fixed_dictionaries(
    {"name": st.one_of(st.just("fuzz"), scalars),
     "input": st.one_of(st.just("8x8x3"), trees(scalars)),
     "layers": st.one_of(st.just(["relu"]), trees(scalars))},
    optional={"vars": trees(scalars), "blocks": trees(scalars), "description": scalars,
              "budget": trees(scalars), "extra": scalars, "freeze_until": scalars,
              "extends": st.sampled_from(["lenet5", "nope", "x.yaml", 5, "../specs/lenet5.yaml"]),
              "edits": st.one_of(trees(scalars), st.lists(st.dictionaries(
                  st.sampled_from(["remove", "replace", "insert_before", "insert_after",
                                   "append", "with", "layers"]),
                  st.one_of(st.sampled_from(["conv1", "fc", "relu"]), st.lists(layer,
                                                                                max_size=2),
                            scalars), max_size=3), max_size=3))},
)


@FUZZ
@given(spec_trees)
def test_random_spec_trees_as_yaml(tree: dict[str, Any]) -> None:
    """Trees written out as YAML and loaded as a user's file would be."""
    text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    survive(lambda: full(text))


@FUZZ
@given(headers)
def test_random_headers(tree: dict[str, Any]) -> None:
    """The top-level fields: name, input, vars, blocks, budget and unknown ones."""
    survive(lambda: full(yaml.safe_dump(tree, allow_unicode=True)))


@FUZZ
@given(spec_trees)
def test_random_spec_trees_as_objects(tree: dict[str, Any]) -> None:
    """Plain dicts and lists (no line numbers), as a library user might pass them."""
    survive(lambda: analyze(parse_spec(tree, "<tree>")))


@settings(max_examples=60 * SCALE, deadline=None)
@given(st.lists(st.sampled_from(["[", "{seq: ", "- ", "&a ", "*a ", "]", "}", "relu"]),
                max_size=400))
def test_nesting_and_aliases(parts: list[str]) -> None:
    """Deep flow nesting and anchors: RecursionError must not escape."""
    survive(lambda: full("name: x\ninput: 8x8x3\nlayers: " + "".join(parts)))


def test_load_yaml_rejects_only_with_cnncalc_error() -> None:
    """A few hand-picked hostile documents (the fuzzers found some of these)."""
    for text in ["a: &a [*a]", "a: !!binary xyz", "a: !!timestamp 2020-13-45",
                 "a: 1" + "0" * 5000, "[" * 3000, "{a: " * 3000, "? - a\n: b\n"]:
        try:
            load_yaml(text, "t")
        except CnnCalcError:
            pass
