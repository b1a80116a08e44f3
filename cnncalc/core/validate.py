"""Validating a layer kind's fields: the cached check of a leaf, and pydantic's errors as
one-line messages (`conv.kernel: invalid value 0: expected a positive integer or [height,
width]`). Beside the kinds (`layers`), whose models declare the fields and their types.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import CnnCalcError, Problem
from .layers import ACTIVATIONS, KINDS, Layer


def pydantic_problems(exc: ValidationError, kind: str = "") -> list[tuple[str, str]]:
    """One (field, message) per field, with union alternatives collapsed to one message
    (`kind` picks the forms that kind's fields take where they differ from `FORMS`)."""
    forms = {**FORMS, **KIND_FORMS.get(kind, {})}
    by_field: dict[str, list[dict[str, Any]]] = {}
    for err in exc.errors():
        loc = err["loc"]
        key = str(loc[0]) if loc else ""
        by_field.setdefault(key, []).append(err)
    out = []
    for key, errs in by_field.items():
        if any(e["type"] == "extra_forbidden" for e in errs):
            out.append((key, "unknown field"))
            continue
        if any(e["type"] == "missing" and len(e["loc"]) == 1 for e in errs):
            out.append((key, "missing (required)"))
            continue
        meaningful = [e for e in errs if not e["type"].endswith("_type")
                      and e["type"] not in ("literal_error", "union_tag_invalid")]
        # A plain type error is worth showing when it is the only one; union alternatives
        # are not (a single "expected ..." says it better). `meaningful` may be empty.
        chosen = meaningful[0] if meaningful else errs[0] if len(errs) == 1 else None
        if len(errs) > 1 and key in forms and isinstance(errs[0]["input"], (str, list)):
            chosen = None  # `padding: full`, `kernel: [3, 3, 3]`: say what is expected
        if chosen is not None and (chosen in meaningful or key not in forms):
            msg = chosen["msg"].removeprefix("Value error, ")
            if len(msg) > 160:  # messages may quote the whole (huge) input
                msg = msg[:160] + "..."
            sub = [str(x) for x in chosen["loc"][1:] if isinstance(x, int)]
            where = f"[{sub[0]}]" if sub and "[key]" not in chosen["loc"] else ""
            shown = _clip(chosen["input"])
            quoted = isinstance(chosen["input"], str) and shown in msg
            # a rule between fields (key "") is about the whole layer, not one value
            got = "" if " got " in msg or quoted or not key else f" (got {shown})"
            out.append((key, f"{msg.lower() if msg[:1].isupper() else msg}{where}{got}"))
            continue
        expected = forms.get(key, "a valid value")
        out.append((key, f"invalid value {_clip(errs[0]['input'])}: expected {expected}"))
    return out


def _clip(value: Any, limit: int = 60) -> str:
    """The repr of a bad value, cut short enough for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} chars)"


FORMS = {
    "kernel": "a positive integer or [height, width]",
    "stride": "a positive integer or [height, width]",
    "dilation": "a positive integer or [height, width]",
    "size": "a positive integer or [height, width]",
    "padding": "'valid', 'same', an integer, [height, width] or [top, bottom, left, right]",
    "activation": f"one of {', '.join(ACTIVATIONS)}",
    "function": f"one of {', '.join(ACTIVATIONS)}",
    "mode": "one of the modes listed in the README for this kind",
    "bias": "true or false",
    "output_padding": "a non-negative integer or [height, width]",
    "factor": "a positive integer or [height, width]",
    "approximate": "'none' or 'tanh' (gelu only)",
    "amount": "a non-negative integer, [height, width] or [top, bottom, left, right]",
}

#: A kind's fields whose forms differ from `FORMS` (torch's ConvTranspose2d pads both sides).
KIND_FORMS = {"conv_transpose": {"padding": "a non-negative integer or [height, width]"}}


_VALIDATED: dict[Any, Layer] = {}


def validate_leaf(kind: str, args: dict[str, Any]) -> Layer:
    """Validate a leaf's resolved fields; CnnCalcError with one problem per bad field.

    Models are frozen, so equal fields share one validated model (a spec of 10,000 identical
    layers validates once).
    """
    try:
        key = (kind, fields_key(args))
        cached = _VALIDATED.get(key)
    except TypeError:  # an unhashable value: validation will say what is wrong with it
        key, cached = None, None
    if cached is not None:
        return cached
    model = _validate(kind, args)
    if key is not None and len(_VALIDATED) < 100_000:
        _VALIDATED[key] = model
    return model


#: The types whose values are their own keys (most fields: a number, a flag, a name).
_PLAIN = frozenset((int, float, bool, str, type(None)))


def fields_key(fields: dict[str, Any]) -> Any:
    """A hashable key for a mapping of field values, as `freeze_value` makes; built without a
    loop when every value is a plain number, flag, name or None (the usual fields)."""
    types = tuple(map(type, fields.values()))
    if _PLAIN.issuperset(types):
        return (tuple(fields.items()), types)
    return freeze_value(fields)


def freeze_value(value: Any) -> Any:
    """A hashable key for a field value; types are kept apart (1, 1.0 and True differ)."""
    kind = type(value)
    if kind in _PLAIN:
        return (kind, value)
    if isinstance(value, (list, tuple)):
        return (list, tuple([freeze_value(v) for v in value]))
    if isinstance(value, dict):
        return (dict, tuple(sorted([(str(k), freeze_value(v)) for k, v in value.items()])))
    return (kind, value)


def _validate(kind: str, args: dict[str, Any]) -> Layer:
    entry = KINDS[kind]
    data = dict(args)
    data.update(entry.fixed)
    try:
        return entry.model.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(f"{kind}.{f}: {m}" if f else f"{kind}: {m}")
                    for f, m in pydantic_problems(exc, kind)]
        raise CnnCalcError(problems) from None
