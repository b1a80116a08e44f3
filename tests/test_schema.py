"""`cnncalc schema`: the JSON Schema is generated from the models, shipped current, and
accepts every bundled spec while refusing malformed ones.

Validation uses a small validator written here for exactly the keywords the schema uses (a
test checks that it uses no others), so no dependency is needed; where `jsonschema` happens
to be installed it is used as a second opinion.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cnncalc.commands import app
from cnncalc.core.layers import KINDS
from cnncalc.core.schema import render, spec_schema
from cnncalc.core.spec import COMMON, Header

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "schema" / "cnncalc.schema.json"
SPECS = sorted((ROOT / "specs").glob("*.y*ml"))

# --------------------------------------------------------------------------- a tiny validator

HANDLED = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "default",
    "type", "enum", "const", "pattern", "minLength",
    "anyOf", "oneOf", "allOf", "not", "if", "then", "else",
    "properties", "required", "additionalProperties", "propertyNames", "minProperties",
    "items", "prefixItems", "minItems", "maxItems",
    "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum",
}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def valid(value: Any, schema: Any, root: dict[str, Any]) -> bool:
    """Draft 2020-12 semantics for the keywords in HANDLED."""
    if schema is True or schema == {}:
        return True
    if schema is False:
        return False
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        if not valid(value, target, root):
            return False
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return False
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        if len(value) < schema.get("minLength", 0):
            return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if any(k not in value for k in schema.get("required", [])):
            return False
        if len(value) < schema.get("minProperties", 0):
            return False
        for key, item in value.items():
            if "propertyNames" in schema and not valid(key, schema["propertyNames"], root):
                return False
            if key in props:
                if not valid(item, props[key], root):
                    return False
            elif "additionalProperties" in schema and not valid(
                    item, schema["additionalProperties"], root):
                return False
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            return False
        prefix = schema.get("prefixItems", [])
        if any(not valid(v, s, root) for v, s in zip(value, prefix, strict=False)):
            return False
        if "items" in schema and any(not valid(v, schema["items"], root)
                                     for v in value[len(prefix):]):
            return False
    if "allOf" in schema and not all(valid(value, s, root) for s in schema["allOf"]):
        return False
    if "anyOf" in schema and not any(valid(value, s, root) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(valid(value, s, root) for s in schema["oneOf"]) != 1:
        return False
    if "not" in schema and valid(value, schema["not"], root):
        return False
    if "if" in schema:
        branch = "then" if valid(value, schema["if"], root) else "else"
        if branch in schema and not valid(value, schema[branch], root):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def keywords(schema: Any) -> set[str]:
    """Every keyword the schema uses (property names under `properties` are not keywords)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found |= keywords(sub)
            elif key not in ("enum", "const", "default", "required"):
                found |= keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= keywords(item)
    return found


SCHEMA = spec_schema()


def check(doc: Any) -> bool:
    return valid(doc, SCHEMA, SCHEMA)


# --------------------------------------------------------------------------- tests

def test_shipped_copy_is_current() -> None:
    """schema/cnncalc.schema.json equals what `cnncalc schema` prints today.
    Regenerate with: python -m cnncalc schema -o schema/cnncalc.schema.json"""
    assert SHIPPED.read_text(encoding="utf-8") == render()


def test_command_prints_the_schema(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(render())
    out = tmp_path / "s.json"
    result = CliRunner().invoke(app, ["schema", "-o", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text()) == SCHEMA


def test_validator_covers_every_keyword() -> None:
    assert keywords(SCHEMA) <= HANDLED, keywords(SCHEMA) - HANDLED


def test_generated_from_the_models() -> None:
    """Every kind, every field of every kind, and every Header field appear."""
    defs = SCHEMA["$defs"]
    for kind, entry in KINDS.items():
        fields = defs[f"fields.{kind}"]["properties"]
        fixed = dict(entry.fixed)
        assert set(fields) == set(entry.model.model_fields) - set(fixed), kind
    assert set(Header.model_fields) <= set(SCHEMA["properties"])
    for key in COMMON:
        assert key in defs["entry"]["anyOf"][1]["properties"]
    # pydantic's own 'gt'/'ge' keywords were translated to JSON Schema's
    assert defs["fields.conv"]["properties"]["filters"]["anyOf"][0]["exclusiveMinimum"] == 0


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_bundled_specs_are_valid(path: Path) -> None:
    assert check(yaml.safe_load(path.read_text(encoding="utf-8")))


GOOD = [
    "name: a\ninput: 32x32x3\nlayers: [flatten, {dense: 10}]",
    "name: a\ninput: [32, 32, 3]\nlayers:\n  - conv: {filters: 6, kernel: 5}\n    name: c1",
    "name: a\ninput: 784\nlayers:\n  - dense: 10\n  - kind: dense\n    units: 10",
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: [6, 3, 1, same]\n  - maxpool: 2\n  - relu",
    "name: a\ninput: 8x8x3\nvars: {w: 8}\nlayers:\n  - conv: {filters: $w, kernel: $(1 + 2)}",
    "name: a\ninput: 8x8x3\nlayers:\n  - residual: {body: [relu], activation: relu}\n"
    "  - parallel: {branches: [[relu], identity], merge: add}\n  - seq: [relu]\n    repeat: 3",
    "name: a\ninput: 8x8x3\nblocks:\n  b:\n    args: {n: channels}\n    layers: [relu]\n"
    "layers:\n  - b: {n: 4}\n  - b: {n: 2}\n",
    "extends: vgg16\nname: t\nedits:\n  - remove: fc8\n",
]
BAD = [
    "name: a\nlayers: [relu]",                                         # no input
    "name: a\ninput: 0x32x3\nlayers: [relu]",                          # a zero size
    "name: a\ninput: 32x32x3\nlayers: []",                             # no layers
    "name: a\ninput: 32x32x3\nlayer: [relu]",                          # unknown top field
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: {filters: 0, kernel: 3}",
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: {filters: 6.5, kernel: 3}",
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: {filters: six, kernel: 3}",
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: {filter: 6, kernel: 3}",  # unknown field
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: {filters: 6}",             # missing kernel
    "name: a\ninput: 8x8x3\nlayers:\n  - conv: {filters: 6, kernel: 3, padding: full}",
    "name: a\ninput: 8x8x3\nlayers:\n  - kind: conv\n    filters: 6\n    kernal: 3",
    "name: a\ninput: 8x8x3\nlayers:\n  - maxpool: {kernel: 2, mode: avg}",  # fixed by alias
    "name: a\ninput: 8x8x3\nlayers:\n  - name: lonely",                  # no kind
    "name: a\ninput: 8x8x3\nlayers:\n  - relu: null\n    repeat: 0",
    "name: a\ninput: 8x8x3\nlayers:\n  - 42",
    "name: a\ninput: 8x8x3\nlayers:\n  - residual: {shortcut: [relu]}",   # no body
    "name: a\ninput: 8x8x3\nlayers:\n  - parallel: {branches: [[relu]]}",  # one branch
]


@pytest.mark.parametrize("text", GOOD)
def test_accepts_every_form(text: str) -> None:
    assert check(yaml.safe_load(text))


@pytest.mark.parametrize("text", BAD)
def test_refuses_malformed(text: str) -> None:
    assert not check(yaml.safe_load(text))


def test_agrees_with_jsonschema_when_installed() -> None:
    """A second opinion on the same documents, where the jsonschema package exists."""
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in SPECS]
    docs += [yaml.safe_load(t) for t in GOOD + BAD]
    for doc in docs:
        assert validator.is_valid(doc) == check(doc), doc
