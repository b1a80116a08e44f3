"""The JSON Schema of a spec, generated from the pydantic models (for editors and CI).

Nothing here is written by hand twice: each leaf kind's fields come from its model in
`layers.KINDS` (minus the fields an alias fixes, e.g. `maxpool`'s mode), the top-level fields
from `spec.Header` (so fields other modules add there appear by themselves), and the entry
forms and containers from the constants of `spec`. Only what the models cannot say is added
here: the three ways to write an entry, that any field may be an expression (`$name`,
`$(expr)`), the shorthand `input: 32x32x3`, and the shape of `blocks:`.

The schema is a guide for editors (completion, hovers, red squiggles); cnncalc itself stays
the judge. It cannot know which block names a spec defines, so a use of a block is any
other single key with a mapping of arguments, and a misspelt kind with a mapping of fields
passes the schema (cnncalc then says "unknown kind ... did you mean ...").
"""

from __future__ import annotations

import json
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# pydantic writes strict Annotated constraints with its own keywords; JSON Schema's are these.
_KEYWORDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum",
             "le": "maximum"}
_NOISE = ("title",)


def _clean(node: Any) -> Any:
    """Standard keywords only, no generated titles, expressions allowed in every field."""
    if isinstance(node, list):
        return [_clean(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NOISE and isinstance(value, str):
            continue
        out[_KEYWORDS.get(key, key)] = _clean(value)
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _or_expression(field: dict[str, Any]) -> dict[str, Any]:
    """A field's schema, or an expression string evaluated when shapes are known."""
    default = field.pop("default", None)
    description = field.pop("description", None)
    out: dict[str, Any] = {"anyOf": [field, _ref("expression")]}
    if default is not None:
        out["default"] = default
    if description:
        out["description"] = description
    return out


def _kind_fields(kind: str) -> dict[str, Any]:
    """The mapping of fields a leaf kind takes, from its pydantic model."""
    from .layers import KINDS

    entry = KINDS[kind]
    raw = _clean(entry.model.model_json_schema())
    fixed = dict(entry.fixed)
    props = {name: _or_expression(dict(value))
             for name, value in raw.get("properties", {}).items() if name not in fixed}
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"{kind}: {entry.summary}. {raw.get('description', '')}".strip(),
        "properties": props,
        "additionalProperties": False,
    }
    required = [f for f in raw.get("required", []) if f not in fixed]
    if required:
        schema["required"] = required
    return schema


def _short_value(kind: str) -> dict[str, Any]:
    """What may follow `KIND:` in the short form: fields, a bare value, a list, or nothing.

    A list means one thing per kind (`layers.list_form`): the fields in order (conv), the
    first field's own value (adaptive_pool, pad), or nothing at all (pool, depthwise, whose
    `[2, 3]` could be kernel and stride or a 2x3 kernel): there the bare value is a scalar.
    """
    from .layers import KINDS, list_form

    fixed = tuple(dict(KINDS[kind].fixed))
    positional = [p for p in KINDS[kind].model.positional if p not in fixed]
    form = list_form(KINDS[kind].model, fixed)
    fields = _ref(f"fields.{kind}")
    options: list[dict[str, Any]] = [fields, {"type": "null"}]
    properties = _kind_fields(kind)["properties"]
    if positional:
        first = _bare(properties[positional[0]])
        options.append(_scalars_only(first) if form == "refused" else first)
    if form == "fields":
        required = _kind_fields(kind).get("required", [])
        options.append({"type": "array",
                        "minItems": max([positional.index(f) + 1 for f in required
                                         if f in positional] or [1]),
                        "prefixItems": [_bare(properties[p]) for p in positional],
                        "items": False,
                        "description": "in order: " + ", ".join(positional)
                                       + " (a [height, width] size is a nested list)"})
    return {"anyOf": options}


def _bare(field: dict[str, Any]) -> dict[str, Any]:
    """A field's schema without its description and default (for use inside a short form)."""
    return {k: v for k, v in field.items() if k not in ("description", "default")}


def _scalars_only(field: dict[str, Any]) -> dict[str, Any]:
    """A field's schema with its list alternatives removed (`kernel: 2`, not `[2, 3]`)."""
    if "anyOf" in field:
        kept = [_scalars_only(option) for option in field["anyOf"]
                if option.get("type") != "array"]
        return {**field, "anyOf": kept}
    return field


def _common() -> dict[str, Any]:
    """The settings every entry may carry beside its kind (spec.COMMON)."""
    from .layers import KINDS, MERGES
    from .spec import COMMON

    known = {
        "name": {**_ref("name"),
                 "description": "The layer's name (no dots), or a number (0: torch's names "
                                "in an nn.Sequential); default: kind + number."},
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, _ref("expression")],
                   "description": "Repeat the entry n times; `i` counts 0..n-1."},
        "when": {"anyOf": [{"type": "boolean"}, _ref("expression")],
                 "description": "Keep the entry only when true."},
        "trainable": {"type": "boolean", "description": "false: the layer's params are frozen."},
        "scale": {"type": "boolean",
                  "description": "false: width multipliers leave this entry's channels alone."},
        "from": {"anyOf": [_ref("row"), {"type": "array", "minItems": 1, "items": _ref("row")}],
                 "description": "The earlier rows (names, dotted paths or `input`) whose "
                                "outputs feed this entry; a list for add and concat."},
        "training_only": {"type": "boolean",
                          "description": "true: an auxiliary head, run only in training (its "
                                         "MACs are left out of the totals)."},
        "lint": {"type": "object", "additionalProperties": False,
                 "properties": {"ignore": {"anyOf": [
                     {"type": "string", "minLength": 1},
                     {"type": "array", "items": {"type": "string", "minLength": 1}}]}},
                 "description": "Lint rules silenced on this entry and inside it: "
                                "{ignore: [RULE, ...]} (see `cnncalc lint`)."},
        "written_as": {"enum": sorted({form for entry in KINDS.values()
                                       for form in entry.model.forms}
                                      | {form for merge in MERGES.values()
                                         for form in merge.forms}),
                       "description": "How the reference torch code writes this layer, for "
                                      "the peer conventions (--convention): module, "
                                      "functional, subclass, linear or tensor; which a kind "
                                      "allows, cnncalc checks."},
    }
    return {key: known.get(key, {}) for key in COMMON}


def _entry_defs() -> dict[str, Any]:
    """Every way to write one item of a layer list."""
    from .layers import ACTIVATIONS, KINDS, MERGES
    from .spec import COMMON, CONTAINERS

    common = _common()
    defs: dict[str, Any] = {}
    forms: list[dict[str, Any]] = []
    kinds = list(KINDS)
    bare = {"anyOf": [
        {"enum": kinds},
        {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
         "description": "a block defined under blocks:"},
    ]}
    forms.append(bare)
    for kind in kinds:
        defs[f"fields.{kind}"] = _kind_fields(kind)
        forms.append({
            "type": "object",
            "properties": {kind: _short_value(kind), **common},
            "required": [kind],
            "additionalProperties": False,
        })
        long_props = {"kind": {"const": kind}, **_kind_fields(kind)["properties"], **common}
        long_form: dict[str, Any] = {"type": "object", "properties": long_props,
                                     "required": ["kind", *_kind_fields(kind).get("required",
                                                                                  [])],
                                     "additionalProperties": False}
        forms.append(long_form)
    activation = {"anyOf": [{"enum": list(ACTIVATIONS)}, {"type": "null"}],
                  "description": "applied after the merge"}
    defs["residual"] = {
        "type": "object",
        "description": "body and shortcut (identity when empty), added, then the activation",
        "properties": {
            "body": _ref("layers"),
            "shortcut": {"anyOf": [_ref("layers"), {"const": "identity"}, {"type": "null"}]},
            "activation": activation,
            "add": {"anyOf": [{"type": "boolean"}, _ref("expression")]},
        },
        "required": ["body"],
        "additionalProperties": False,
    }
    defs["parallel"] = {
        "type": "object",
        "description": "branches on the same input, concatenated along channels or added",
        "properties": {
            "branches": {"type": "array", "minItems": 2, "items": {
                "anyOf": [_ref("layers"), {"const": "identity"}, {"type": "null"}]}},
            "merge": {"enum": ["concat", "add"], "default": "concat"},
            "activation": activation,
            "split": {"anyOf": [{"type": "integer", "minimum": 2},
                                {"type": "array", "items": {"anyOf": [
                                    {"type": "integer", "minimum": 1}, _ref("expression")]}},
                                _ref("expression")],
                      "description": "hand each branch a part of the channels: the number of "
                                     "branches (equal chunks) or a channel count per branch"},
        },
        "required": ["branches"],
        "additionalProperties": False,
    }
    containers = {"seq": _ref("layers"), "residual": _ref("residual"),
                  "parallel": _ref("parallel")}
    for name in CONTAINERS:
        forms.append({"type": "object", "properties": {name: containers[name], **common},
                      "required": [name], "additionalProperties": False})
    for name in MERGES:  # `- concat:` with `from: [a, b]` beside it
        forms.append({"type": "object",
                      "properties": {name: {"anyOf": [{"type": "null"},
                                                      {"const": {}}]},
                                     **common},
                      "required": [name, "from"], "additionalProperties": False})
    # A use of a block: one key that is not a built-in, with its arguments (or nothing).
    forms.append({
        "type": "object",
        "properties": common,
        "propertyNames": {"anyOf": [{"enum": list(COMMON)},
                                    {"not": {"enum": [*kinds, *CONTAINERS, *MERGES, "kind"]},
                                     "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}]},
        "additionalProperties": {"anyOf": [
            {"type": "object", "additionalProperties": True}, {"type": "null"}]},
        "not": {"propertyNames": {"enum": list(COMMON)}},  # some key besides the settings
        "description": "a block defined under blocks:, with its arguments",
    })
    defs["entry"] = {"anyOf": forms}
    # a number is a name too: YAML reads `name: 0` as an int (torch's nn.Sequential names)
    defs["name"] = {"anyOf": [{"type": "string", "pattern": r"^[^.\s]+$"},
                              {"type": "integer", "minimum": 0}]}
    defs["row"] = {"anyOf": [{"type": "string", "minLength": 1},
                             {"type": "integer", "minimum": 0}],
                   "description": "a row's name or dotted path, or input"}
    defs["layers"] = {"type": "array", "items": _ref("entry")}
    return defs


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a cnncalc spec file."""
    from .spec import Header

    header = _clean(Header.model_json_schema())
    props: dict[str, Any] = header.get("properties", {})
    if "input" in props:
        props["input"] = {
            "description": "height x width x channels (32x32x3 or [32, 32, 3]) or a vector "
                           "length",
            "anyOf": [
                {"type": "string", "pattern": r"^ *0*[1-9][0-9]*(( *[xX] *0*[1-9][0-9]*){2})? *$"},
                {"type": "array", "items": {"type": "integer", "minimum": 1},
                 "minItems": 1, "maxItems": 1},
                {"type": "array", "items": {"type": "integer", "minimum": 1},
                 "minItems": 3, "maxItems": 3},
                {"type": "integer", "minimum": 1},
            ],
        }
    if "layers" in props:
        props["layers"] = {"allOf": [_ref("layers"), {"minItems": 1}],
                           "description": "the network, first layer first"}
    if "blocks" in props:
        props["blocks"] = {
            "type": "object",
            "description": "reusable blocks: a name -> args, let and one body",
            "additionalProperties": _ref("block"),
        }
    defs = _entry_defs()
    defs["binding"] = _binding()
    if "vars" in props:
        props["vars"]["propertyNames"] = _ref("binding")
    arg = {"anyOf": [{"enum": ["required", "channels"]},
                     {"type": ["integer", "number", "boolean", "string", "array"]}]}

    defs["block"] = {
        "type": "object",
        "properties": {
            "args": {"type": "object", "additionalProperties": arg,
                     "propertyNames": _ref("binding"),
                     "description": "name -> default, or `required`, or `channels` (a "
                                    "required channel count that width multipliers scale)"},
            "let": {"type": "object", "propertyNames": _ref("binding"),
                    "description": "names computed from the args"},

            "layers": _ref("layers"),
            "residual": _ref("residual"),
            "parallel": _ref("parallel"),
        },
        "oneOf": [{"required": ["layers"]}, {"required": ["residual"]},
                  {"required": ["parallel"]}],
        "additionalProperties": False,
    }
    defs["expression"] = {
        "type": "string", "pattern": r"^\$",
        "description": "`$name` or `$(expression)`, evaluated when shapes are known",
    }
    _add_inherit(props, header, defs)
    header.pop("description", None)
    return {
        "$schema": DIALECT,
        "title": "cnncalc spec",
        "description": "A convolutional network layer by layer, for cnncalc.",
        **header,
        "$defs": {**header.get("$defs", {}), **defs},
    }


def _binding() -> dict[str, Any]:
    """A name a spec may bind (a var, block argument or let): an identifier that is not a
    Python keyword nor a name expressions already define (`spec.RESERVED_NAMES`)."""
    import keyword

    from .spec import RESERVED_NAMES

    return {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
            "not": {"enum": sorted({*RESERVED_NAMES, *keyword.kwlist})},
            "description": "a name usable in expressions; in_height, in_width, in_channels, "
                           "i and the functions are taken"}


def _add_inherit(
props: dict[str, Any], header: dict[str, Any], defs: dict[str, Any]) -> None:
    """`extends`, `edits` and `imports` (handled by `inherit` before the Header sees the
    spec)."""
    from .inherit import EDIT_KINDS

    name = {"type": "string",
            "description": "a layer's name or dotted path (fc8, res.conv1, stage.*.conv1)"}
    edit_props: dict[str, Any] = {
        "remove": {"anyOf": [name, {"type": "array", "items": name}]},
        "replace": name, "insert_before": name, "insert_after": name,
        "append": _ref("layers"),
        "with": {"anyOf": [_ref("entry"), _ref("layers")],
                 "description": "what replaces the layer (with replace)"},
        "layers": {**_ref("layers"), "description": "what is inserted (with insert_*)"},
    }
    defs["edit"] = {
        "type": "object",
        "properties": {k: v for k, v in edit_props.items()
                       if k in EDIT_KINDS or k in ("with", "layers")},
        "anyOf": [{"required": [k]} for k in EDIT_KINDS],
        "additionalProperties": False,
    }
    props["extends"] = {"type": "string",
                        "description": "a bundled spec's name or a path relative to this file; "
                                       "its fields are the defaults of this one"}
    props["edits"] = {"type": "array", "items": _ref("edit"),
                      "description": "changes to the extended spec's layers, in order; a layer "
                                     "is named by its path (fc8, res.conv1, stage.*.conv1)"}
    spec_ref = {"type": "string", "minLength": 1,
                "description": "a bundled spec's name or a path relative to this file"}
    names = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
    defs["import"] = {"anyOf": [spec_ref, {
        "type": "object",
        "properties": {"from": spec_ref,
                       "blocks": {"anyOf": [{"type": "string", "minLength": 1}, names],
                                  "description": "the blocks to take (those they use come "
                                                 "along); left out: every block"}},
        "required": ["from"],
        "additionalProperties": False,
    }]}
    props["imports"] = {"type": "array", "items": _ref("import"),
                        "description": "block definitions taken from other specs, without "
                                       "their layers"}
    # A spec that extends another inherits input and layers: they are required only without.
    required = header.pop("required", [])
    if required:
        header["if"] = {"required": ["extends"]}
        header["else"] = {"required": required}


def render() -> str:
    """The schema as the text `cnncalc schema` prints and schema/cnncalc.schema.json holds."""
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
