"""The spec format takes each input one documented way (issue 13: classes 1, 2, 3, 8, 10, 11, 13).

Truth comes from outside the code: the YAML 1.2 core schema's regexes are written again here
from the spec (https://yaml.org/spec/1.2.2/#1032-tag-resolution), float exactness from Python's
Decimal, the lists of activation functions, reserved names and short forms from the README, and
counts from the lecture's formulas. Where a class is open-ended the test is a property.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.core.layers import KINDS
from cnncalc.core.loader import load_yaml
from cnncalc.errors import CnnCalcError

ROOT = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# --------------------------------------------------------------------------- the YAML 1.2 core

#: Table 10.3.2 of YAML 1.2.2 ("Tag Resolution" of the core schema), in the spec's order.
CORE = [
    ("null", r"null|Null|NULL|~"),
    ("bool", r"true|True|TRUE|false|False|FALSE"),
    ("int10", r"[-+]?[0-9]+"),
    ("int8", r"0o[0-7]+"),
    ("int16", r"0x[0-9a-fA-F]+"),
    ("float", r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"),
    ("inf", r"[-+]?(\.inf|\.Inf|\.INF)"),
    ("nan", r"\.nan|\.NaN|\.NAN"),
]


class Refused(Exception):
    """The reading the README promises is an error (a float that would be rounded)."""


def core_reading(text: str) -> Any:
    """What the README says a plain scalar reads as, from the spec's regexes."""
    name = next((name for name, regex in CORE if re.fullmatch(regex, text, flags=re.ASCII)),
                None)
    if name is None:
        return text
    if name == "null":
        return None
    if name == "bool":
        return text.lower() == "true"
    if name == "int10":
        return int(text, 10)
    if name in ("int8", "int16"):
        return int(text[2:], 8 if name == "int8" else 16)
    if name == "inf":
        return -math.inf if text.startswith("-") else math.inf
    if name == "nan":
        return math.nan
    value = float(text)
    if math.isinf(value):
        raise Refused(text)  # past a float's range
    if value.is_integer() and Decimal(text) != Decimal(value):
        raise Refused(text)  # rounded onto a whole number
    return value


def plain(text: str) -> bool:
    """Whether `a: TEXT` holds TEXT as one plain scalar (else YAML's syntax, not the schema,
    decides, and the case says nothing about reading numbers)."""
    try:
        node = yaml.compose(f"a: {text}\n")
    except yaml.YAMLError:
        return False
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        return False
    value = node.value[0][1]
    return isinstance(value, yaml.ScalarNode) and value.style is None and value.value == text


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


SCALAR_TEXT = st.one_of(
    st.text(alphabet="0123456789+-._:eExXoabcfinNtTrRuUsSlLF~", min_size=1, max_size=14),
    *(st.from_regex(f"\\A(?:{regex})\\Z", fullmatch=True) for _, regex in CORE),
    st.sampled_from(["yes", "no", "on", "off", "Yes", "NO", "y", "n", "1:30", "0_10", "0b101",
                     "2001-12-14", "+010", "010", "0o17", "0x1F", "1e3", "1e23", "1e400",
                     "1e-400", "10.0000000000000001", ".5", "5.", "-.inf", "0x", "0o"]),
)


@FAST
@given(SCALAR_TEXT)
def test_scalars_read_as_the_yaml_1_2_core_schema(text: str) -> None:
    assume(plain(text) and len(text) <= 400)
    try:
        expected = core_reading(text)
    except Refused:
        with pytest.raises(CnnCalcError, match="cannot be held exactly|too large"):
            load_yaml(f"a: {text}\n", "t.yaml")
        return
    got = load_yaml(f"a: {text}\n", "t.yaml")["a"]
    assert same(got, expected), (text, got, expected)


@pytest.mark.parametrize("text,expected", [
    ("010", 10), ("+010", 10), ("0o10", 8), ("0x10", 16), ("-0", 0),   # YAML 1.1 read octal 8
    ("0_10", "0_10"), ("1:30", "1:30"), ("1_000", "1_000"),            # 1.1: 8, 90, 1000
    ("yes", "yes"), ("on", "on"), ("off", "off"), ("No", "No"),        # 1.1: booleans
    ("2001-12-14", "2001-12-14"), ("0b101", "0b101"),                  # 1.1: a date, 5
    ("1e3", 1000.0), (".5", 0.5), ("TRUE", True), ("~", None),         # 1.1: "1e3" was text
])
def test_the_readme_table(text: str, expected: Any) -> None:
    assert same(load_yaml(f"a: {text}\n", "t.yaml")["a"], expected)


@FAST
@given(st.integers(-(10**30), 10**30), st.integers(-40, 40))
def test_a_float_never_rounds_onto_an_integer(mantissa: int, exponent: int) -> None:
    """`Me±k` is kept when a float holds it exactly or it is no whole number; refused when it
    would be rounded onto a whole number or is past a float's range."""
    text = f"{mantissa}e{exponent}"
    exact = Decimal(text)
    value = float(exact)
    if math.isinf(value) or (value.is_integer() and Decimal(value) != exact):
        with pytest.raises(CnnCalcError):
            load_yaml(f"a: {text}\n", "t.yaml")
    else:
        assert load_yaml(f"a: {text}\n", "t.yaml")["a"] == value


def units_spec(text: str) -> str:
    return f"name: t\ninput: 4\nlayers:\n  - dense: {text}\n"


@FAST
@given(st.one_of(st.integers(1, 2**60), st.floats(0.5, 2.0**60, allow_nan=False),
                 st.integers(1, 2**60).map(float)))
def test_an_integer_field_takes_a_float_only_when_it_is_surely_that_integer(value: Any) -> None:
    """`units` (dense: 4 inputs, so params = 5 units): a whole float up to 2**53 is that
    integer; a fraction, or a float past 2**53 (where floats skip integers), is refused."""
    # the float's exact decimal value, written as a float (`36028797018963968.0`)
    text = str(value) if isinstance(value, int) else (
        f"{Decimal(value)}.0" if value.is_integer() else str(Decimal(value)))
    ok = isinstance(value, int) or (value.is_integer() and value <= 2**53)
    if not ok:
        with pytest.raises(CnnCalcError, match="must be an integer"):
            cnncalc.load_text(units_spec(text), "t.yaml")
        return
    report = cnncalc.analyze(cnncalc.load_text(units_spec(text), "t.yaml"))
    assert report.totals.params == (4 + 1) * int(value)


@pytest.mark.parametrize("text", ["!!timestamp 2001-12-14", "!!binary aGk=", "!!bool yes",
                                  "!!int 1_000", "!!python/none ''", "!!float abc"])
def test_tags_beyond_the_core_schema_are_refused(text: str) -> None:
    with pytest.raises(CnnCalcError):
        load_yaml(f"a: {text}\n", "t.yaml")


# --------------------------------------------------------------------------- merge keys

MAPS = st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 9), max_size=4)


@FAST
@given(MAPS, MAPS, MAPS)
def test_merge_keys_have_yamls_meaning(first: dict, second: dict, own: dict) -> None:
    """`{<<: [*A, *B], own...}`: the mapping's own keys win, then A's, then B's."""
    def flow(d: dict) -> str:
        return "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"

    own_text = "".join(f", {k}: {v}" for k, v in own.items())
    text = f"x: &A {flow(first)}\ny: &B {flow(second)}\nz: {{<<: [*A, *B]{own_text}}}\n"
    expected = {**second, **first, **own}
    assert dict(load_yaml(text, "t.yaml")["z"]) == expected


def test_a_key_written_twice_beside_a_merge_is_still_an_error() -> None:
    with pytest.raises(CnnCalcError, match="duplicate key 'f'"):
        load_yaml("x: &A {f: 1}\nz: {<<: *A, f: 2, f: 3}\n", "t.yaml")


# --------------------------------------------------------------------------- class 1: fields

#: The README's activation functions (Layer kinds table).
ACTIVATION_FUNCTIONS = ("relu", "relu6", "leaky_relu", "tanh", "sigmoid", "silu", "swish",
                        "hardswish", "hardsigmoid", "gelu", "softmax")


def residual_spec(activation: Any, container: str = "residual") -> str:
    if container == "residual":
        body = "body: [{conv: {filters: 4, kernel: 3, padding: 1}}]"
    else:
        body = "branches: [[{conv: {filters: 4, kernel: 3, padding: 1}}], identity], merge: add"
    return (f"name: t\ninput: 8x8x4\nlayers:\n  - {container}: {{{body}, "
            f"activation: {json.dumps(activation)}}}\n  - flatten\n  - dense: 10\n")


@pytest.mark.parametrize("container", ["residual", "parallel"])
@pytest.mark.parametrize("name", sorted({*KINDS, "seq", "residual",
                                         "parallel", "add", "concat", "Relu", ""})
                         + [5, True, None])
def test_a_containers_activation_is_an_activation_function(container: str, name: Any) -> None:
    """Accepted only for the README's activation functions, and then it adds no params:
    conv 3*3*4*4 + 4 = 148, dense 8*8*4*10 + 10 = 2,570 (the shape is unchanged)."""
    text = residual_spec(name, container)
    if name is not None and name not in ACTIVATION_FUNCTIONS:  # null: no activation
        with pytest.raises(CnnCalcError, match=f"{container}.activation: .* is not an "
                                               "activation function") as info:
            cnncalc.load_text(text, "t.yaml")
        assert info.value.problems[0].line == 4
        return
    report = cnncalc.analyze(cnncalc.load_text(text, "t.yaml"))
    assert report.totals.params == 148 + 2570
    assert report.totals.buffers == 0


@pytest.mark.parametrize("value,ok", [
    ("[]", True), ("identity", True), ("null", True), ("[relu]", True),
    ("false", False), ("0", False), ("''", False), ("{relu: null}", False), ("identiy", False),
])
def test_a_shortcut_is_a_list_or_the_identity(value: str, ok: bool) -> None:
    text = f"name: t\ninput: 8x8x4\nlayers:\n  - residual: {{body: [relu], shortcut: {value}}}\n"
    if ok:
        cnncalc.load_text(text, "t.yaml")
    else:
        with pytest.raises(CnnCalcError, match="shortcut"):
            cnncalc.load_text(text, "t.yaml")


@pytest.mark.parametrize("key", ["name", "repeat", "when", "trainable", "scale"])
def test_a_common_key_without_a_value_is_an_error(key: str) -> None:
    with pytest.raises(CnnCalcError, match=f"{key} has no value") as info:
        cnncalc.load_text(f"name: t\ninput: 8x8x4\nlayers:\n  - relu:\n    {key}:\n", "t.yaml")
    assert info.value.problems[0].line == 5


@pytest.mark.parametrize("fields", ["dropout: '0.5'", "dropout: true", "dropout: .nan",
                                    "batchnorm: {eps: true}", "batchnorm: {eps: '1e-3'}",
                                    "batchnorm: {eps: 0}", "batchnorm: {momentum: 2}",
                                    "batchnorm: {eps: .inf}",
                                    "leaky_relu: {negative_slope: 'x'}",
                                    "relu: {negative_slope: 0.1}"])
def test_real_valued_fields_take_real_numbers_only(fields: str) -> None:
    with pytest.raises(CnnCalcError):
        cnncalc.load_text(f"name: t\ninput: 8x8x4\nlayers:\n  - {fields}\n", "t.yaml")


# --------------------------------------------------------------------------- class 3: short forms

#: The README's short-form table: what a list after each kind means.
LIST_MEANS = {
    "conv": "fields", "separable": "fields",
    "adaptive_pool": "value", "pad": "value", "crop": "value",
    "depthwise": "refused", "pool": "refused", "maxpool": "refused", "avgpool": "refused",
}


@pytest.mark.parametrize("kind", sorted(LIST_MEANS))
@pytest.mark.parametrize("value", [[2], [2, 1], [3, 2], [[2, 3]], [[2, 3], 1], [1, 1, 2, 2],
                                   [8, 3, 1, 1], [8, [1, 3], 1, [0, 1]]])
def test_a_list_short_form_has_one_reading(kind: str, value: list) -> None:
    """Each list is either refused or read the one way the README gives; and the JSON Schema
    agrees with cnncalc on every one of them."""
    from tests.test_schema import check

    text = f"name: t\ninput: 16x16x8\nlayers:\n  - {kind}: {json.dumps(value)}\n"
    means = LIST_MEANS[kind]
    try:
        spec = cnncalc.load_text(text, "t.yaml")
    except CnnCalcError as exc:
        accepted = False
        if means == "refused":
            assert "can be read two ways" in str(exc)
    else:
        accepted = True
        layer = spec.layers[0].model
        assert means != "refused"
        if means == "fields":
            names = ("filters", "kernel", "stride", "padding")
            for name, item in zip(names, value, strict=False):
                got = getattr(layer, name)
                assert list(got) == item if isinstance(item, list) else got == item
        else:
            field = {"adaptive_pool": "size", "crop": "amount"}.get(kind, "padding")
            assert list(getattr(layer, field)) == value
    assert check(yaml.safe_load(text)) == accepted, (kind, value)


def test_the_readmes_four_value_padding() -> None:
    """`pad: [1, 1, 2, 2]`: top 1, bottom 1, left 2, right 2: 4x4 -> 6x8."""
    report = cnncalc.analyze(cnncalc.load_text(
        "name: t\ninput: 4x4x1\nlayers:\n  - pad: [1, 1, 2, 2]\n", "t.yaml"))
    assert report.nodes[0].output_shape == (6, 8, 1)


# --------------------------------------------------------------------------- class 10: paths

def all_nodes(nodes: list) -> list:
    out = []
    for node in nodes:
        out.append(node)
        out += all_nodes(node.children or [])
    return out


NAMES = st.sampled_from([None, None, None, "add", "shortcut", "relu", "relu6", "relu1",
                         "swish", "conv1", "x"])


@FAST
@given(st.lists(st.tuples(st.sampled_from(["relu", "relu6", "conv", "swish"]), NAMES),
                min_size=1, max_size=8),
       st.sampled_from([None, "relu", "relu6", "swish"]),
       st.booleans())
def test_no_two_rows_share_a_path(body: list, activation: str | None, projection: bool) -> None:
    """A residual body of random layers and names: refused exactly when an explicit name is
    one of the residual's own rows (add, shortcut, the activation's name) or is used twice;
    otherwise every row of the report has its own path."""
    items = []
    for kind, name in body:
        entry = {"conv": {"filters": 4, "kernel": 1}} if kind == "conv" else {kind: None}
        if name:
            entry["name"] = name
        items.append(entry)
    residual: dict[str, Any] = {"body": items}
    if activation:
        residual["activation"] = activation
    if projection:
        residual["shortcut"] = [{"conv": {"filters": 4, "kernel": 1}}]
    text = yaml.safe_dump({"name": "t", "input": "4x4x4", "layers": [{"residual": residual}]})
    names = [name for _, name in body if name]
    reserved = {"add", "shortcut", *([activation] if activation else [])}
    try:
        report = cnncalc.analyze(cnncalc.load_text(text, "t.yaml"))
    except CnnCalcError as exc:
        assert set(names) & reserved or len(set(names)) < len(names), str(exc)
        return
    assert not set(names) & reserved and len(set(names)) == len(names)
    paths = [node.path for node in all_nodes(report.nodes)]
    assert len(paths) == len(set(paths)), paths


# --------------------------------------------------------------------------- class 13: names

#: The README: names expressions already define, and so may not be bound.
RESERVED = ("in_height", "in_width", "in_channels", "i", "min", "max", "abs", "int", "round",
            "floor", "ceil", "make_divisible")


@pytest.mark.parametrize("name", [*RESERVED, "if", "not", "None", "my-width", "2x", "wïdth"])
@pytest.mark.parametrize("where", ["vars", "args", "let"])
def test_a_name_expressions_could_not_reach_is_refused(name: str, where: str) -> None:
    key = json.dumps(name)
    if where == "vars":
        text = (f"name: t\ninput: 8x8x3\nvars:\n  {key}: 4\n"
                "layers:\n  - conv: {filters: 4, kernel: 1}\n")
        line = 4
    else:
        args = f"{{{key}: 4, f: 4}}" if where == "args" else "{f: 4}"
        let = f"\n    let: {{{key}: 4}}" if where == "let" else ""
        text = (f"name: t\ninput: 8x8x3\nblocks:\n  b:\n    args: {args}{let}\n"
                "    layers: [{conv: {filters: $f, kernel: 1}}]\nlayers:\n  - b: {}\n")
        line = 5 if where == "args" else 6
    with pytest.raises(CnnCalcError) as info:
        cnncalc.load_text(text, "t.yaml")
    problem = info.value.problems[0]
    assert problem.line == line and repr(name)[1:-1] in problem.message, problem


def test_a_let_may_not_reuse_an_arguments_name() -> None:
    text = ("name: t\ninput: 8x8x3\nblocks:\n  b:\n    args: {f: 4}\n    let: {f: 8}\n"
            "    layers: [{conv: {filters: $f, kernel: 1}}]\nlayers:\n  - b: {}\n")
    with pytest.raises(CnnCalcError, match="already an argument") as info:
        cnncalc.load_text(text, "t.yaml")
    assert info.value.problems[0].line == 6


def test_ordinary_names_still_work() -> None:
    """A var and an argument that shadow nothing: 8 filters of 1x1x3 = 32 params."""
    text = ("name: t\ninput: 8x8x3\nvars: {width: 8}\nblocks:\n  b:\n    args: {f: 4}\n"
            "    let: {g: $(f * 2)}\n    layers: [{conv: {filters: $g, kernel: 1}}]\n"
            "layers:\n  - b: {f: $(width // 2)}\n")
    assert cnncalc.analyze(cnncalc.load_text(text, "t.yaml")).totals.params == 3 * 8 + 8


# --------------------------------------------------------------------------- class 8: extends

def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    from tests.conftest import skip_child_process_under_mutation

    skip_child_process_under_mutation()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_extends_never_reads_or_echoes_another_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("name: TOPSECRET\nroot:x:0:0:TOPSECRET\n")
    (tmp_path / "link.yaml").symlink_to(secret)
    (tmp_path / "folder.yaml").mkdir()
    cases = {
        str(secret): "is not a spec",
        "link.yaml": "is not a spec",           # a .yaml name that links to another file
        "secret.txt": "no bundled spec named",  # a name, not a path: never opened
        "folder.yaml": "is a directory",
        "./": "is a directory",
        "missing.yaml": "no such file",
    }
    if Path("/dev/zero").exists():
        cases["/dev/zero"] = "not a regular file"
    for ref, message in cases.items():
        child = tmp_path / "child.yaml"
        child.write_text(f"name: c\nextends: {ref}\n")
        result = run_cli("show", "child.yaml", cwd=tmp_path)
        assert result.returncode == 2, (ref, result.stderr)
        assert "TOPSECRET" not in result.stderr + result.stdout
        assert result.stderr.startswith("child.yaml:2: extends: ") and message in result.stderr


# --------------------------------------------------------------------------- class 11: chains

BASE = """\
name: base
input: 8x8x3
budget:
  params: 10
freeze_until: conv2
layers:
  - conv: {filters: 4, kernel: 3}
    name: conv1
  - conv: {filters: 4, kernel: 3}
    name: conv2
"""


def test_settings_from_a_base_are_located_in_the_file_that_inherits_them(tmp_path: Path
                                                                         ) -> None:
    """A 4-line child: every location it gets is one of its own lines (its `extends:`)."""
    (tmp_path / "base.yaml").write_text(BASE)
    child = "name: child\nextends: base.yaml\nedits:\n  - remove: conv2\n"
    (tmp_path / "child.yaml").write_text(child)
    shown = run_cli("show", "child.yaml", cwd=tmp_path)
    assert shown.returncode == 2
    assert shown.stderr.startswith("child.yaml:2: freeze until 'conv2'"), shown.stderr

    (tmp_path / "keep.yaml").write_text("name: keep\nextends: base.yaml\n")
    checked = run_cli("check", "keep.yaml", "-f", "json", cwd=tmp_path)
    rows = json.loads(checked.stdout)["specs"][0]["checks"]
    assert [(r["budget"], r["line"]) for r in rows] == [("params", 2)]

    (tmp_path / "bad.yaml").write_text(BASE.replace("params: 10", "params: lots"))
    (tmp_path / "inherits-bad.yaml").write_text("name: c\nextends: bad.yaml\n")
    checked = run_cli("check", "inherits-bad.yaml", cwd=tmp_path)
    assert "inherits-bad.yaml:2: budget.params" in checked.stderr, checked.stderr


def test_layers_from_a_base_keep_their_own_file_and_line(tmp_path: Path) -> None:
    """An inherited layer that no longer fits names the base and the layer's line there."""
    (tmp_path / "base.yaml").write_text(BASE.replace("freeze_until: conv2\n", ""))
    (tmp_path / "child.yaml").write_text("name: child\nextends: base.yaml\ninput: 3x3x3\n")
    result = run_cli("show", "child.yaml", cwd=tmp_path)
    assert result.stderr.startswith("base.yaml:8: layer 2 'conv2'"), result.stderr


def test_a_chain_of_three_locates_at_the_top_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BASE)
    (tmp_path / "b.yaml").write_text("name: b\n\n\n\n\nextends: a.yaml\n")
    (tmp_path / "c.yaml").write_text("name: c\nextends: b.yaml\nedits:\n  - remove: conv2\n")
    result = run_cli("show", "c.yaml", cwd=tmp_path)
    assert result.stderr.startswith("c.yaml:2: freeze until"), result.stderr
