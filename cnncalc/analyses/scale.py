"""Width, depth and resolution multipliers, applied to a spec as it was written.

Scaling rewrites the loaded YAML (`LineDict` / `LineList`, before `spec.parse_spec`), so the
result is again a spec: it can be analysed, printed as YAML, and scaled again. Line numbers of
the original entries are kept, so an error in a scaled spec still points into the user's file.

What scales (and nothing else):
- **width** `w`: every literal width field of a kind that declares one (`Layer.width_field`:
  the `filters` of `conv` and `separable`), in the mapping, list or bare value form, and every
  literal argument that a block declares `channels` (`args: {filters: channels}`), becomes
  `make_divisible(c * w, divisor)` (torchvision's `_make_divisible`: nearest multiple of
  `divisor`, never more than 10% down; divisor 8). A width of exactly 1 changes nothing, even
  counts that are not multiples of the divisor.
- **depth** `d`: every literal `repeat: n` becomes `ceil(n * d)` (torchvision's `adjust_depth`).
- **resolution**: the spec's `input` height and width are replaced; channels are kept.

Never scaled: expressions (`$...`; they usually derive from scaled values, such as
`$(4 * in_channels)`), `vars`, dense units, `se` squeeze widths, depthwise multipliers, block
argument defaults. An entry marked `scale: false` is left as written with everything inside it;
a literal inside a block *definition* scales with the definition, whatever its uses say.

The compound rule (Tan and Le, EfficientNet, 2019, equation 3): depth `alpha^phi`, width
`beta^phi`, resolution `gamma^phi` with alpha 1.2, beta 1.1, gamma 1.15 (chosen so that
`alpha * beta^2 * gamma^2 ~ 2`: each step of phi about doubles the MACs). The paper gives no
rounding for the resolution; here it is the nearest whole pixel, halves up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.expr import make_divisible
from ..core.loader import LineDict, copy_tree
from ..errors import CnnCalcError, Problem, visible

ALPHA = 1.2   # depth
BETA = 1.1    # width
GAMMA = 1.15  # resolution


def _width_fields() -> dict[str, tuple[str, int | None]]:
    """Spec kind names whose width scales: (the field, its place among the positional ones)."""
    from ..core.layers import KINDS

    out = {}
    for name, entry in KINDS.items():
        field = entry.model.width_field
        if field is not None:
            positional = entry.model.positional
            out[name] = (field, positional.index(field) if field in positional else None)
    return out


#: Leaf kinds whose literal width (`filters`) scales: each kind says so (`Layer.width_field`).
WIDTH_FIELDS = _width_fields()
_COMMON = ("name", "repeat", "when", "trainable", "scale")


@dataclass(frozen=True, slots=True)
class Scaling:
    """Multipliers for a spec. `resolution` is the new (height, width), or None to keep it."""

    width: float = 1.0
    depth: float = 1.0
    resolution: tuple[int, int] | None = None
    divisor: int = 8
    phi: float | None = None  # set when the multipliers came from the compound rule

    def describe(self) -> str:
        """`width 1.1, depth 1.2, 260x260` (with `phi 2: ` in front for the compound rule)."""
        res = (f"{self.resolution[0]}x{self.resolution[1]}" if self.resolution
               else "input as written")
        text = f"width {multiplier(self.width)}, depth {multiplier(self.depth)}, {res}"
        return f"phi {multiplier(self.phi)}: {text}" if self.phi is not None else text


def multiplier(x: float) -> str:
    """A multiplier as short text: 1.1, 1.331, 2."""
    return f"{x:.4f}".rstrip("0").rstrip(".")


def validate(scaling: Scaling) -> None:
    """Refuse multipliers that cannot make a network."""
    for what, value in (("width", scaling.width), ("depth", scaling.depth)):
        if not math.isfinite(value) or value <= 0:
            raise CnnCalcError(f"{what} multiplier must be a positive number, got {value}")
    if scaling.divisor < 1:
        raise CnnCalcError(f"divisor must be at least 1, got {scaling.divisor}")
    if scaling.resolution is not None and min(scaling.resolution) < 1:
        raise CnnCalcError(f"resolution must be positive, got {scaling.resolution}")


def channels(c: int, width: float, divisor: int = 8) -> int:
    """A channel count scaled by `width`: `make_divisible(c * width, divisor)`; width 1 keeps c."""
    if width == 1:
        return c
    return make_divisible(c * width, divisor)


def repeats(n: int, depth: float) -> int:
    """A repeat count scaled by `depth`: `ceil(n * depth)`, at least 1 (torchvision's rule)."""
    return max(1, int(math.ceil(n * depth)))


def pixels(n: int, factor: float) -> int:
    """A side of the input scaled by `factor`, to the nearest pixel (halves up), at least 1."""
    return max(1, int(math.floor(n * factor + 0.5)))


def compound(phi: float, base: tuple[int, int], alpha: float = ALPHA, beta: float = BETA,
             gamma: float = GAMMA, divisor: int = 8) -> Scaling:
    """EfficientNet's compound scaling of a network whose input is `base` (height, width)."""
    if not math.isfinite(phi) or abs(phi) > 50:
        raise CnnCalcError(f"phi must be a number between -50 and 50, got {phi}")
    factor = gamma ** phi
    return Scaling(width=beta ** phi, depth=alpha ** phi,
                   resolution=(pixels(base[0], factor), pixels(base[1], factor)),
                   divisor=divisor, phi=phi)


def input_size(raw: Any, file: str) -> tuple[int, int, int]:
    """The (height, width, channels) of a loaded spec's `input`; an error for a vector input."""
    from ..core.spec import parse_shape

    line = raw.line_of("input") if isinstance(raw, LineDict) else None
    if not isinstance(raw, dict) or "input" not in raw:
        raise CnnCalcError(Problem("the spec has no 'input' to scale", file, line))
    try:
        shape = parse_shape(raw["input"])
    except ValueError as exc:
        raise CnnCalcError(Problem(f"input: {exc}", file, line)) from None
    if len(shape) != 3:
        raise CnnCalcError(Problem(
            f"resolution scaling needs an image input (HxWxC); this spec's input is a "
            f"vector of {shape[0]}", file, line))
    return shape  # type: ignore[return-value]


def scale_raw(raw: Any, scaling: Scaling, file: str = "<spec>") -> Any:
    """A scaled copy of a loaded spec (the input is not changed), lines kept.

    `description` gets the multipliers appended so that a scaled report says what it is.
    """
    validate(scaling)
    if not isinstance(raw, dict):
        return copy_tree(raw)  # parse_spec reports what is wrong with it
    out = copy_tree(raw)
    if scaling.resolution is not None:
        h, w = scaling.resolution
        c = input_size(raw, file)[2]
        out["input"] = f"{h}x{w}x{c}"
    blocks = raw.get("blocks")
    channel_args: dict[str, set[str]] = {}
    if isinstance(blocks, dict):
        for name, body in blocks.items():
            args = body.get("args") if isinstance(body, dict) else None
            if isinstance(args, dict):
                channel_args[str(name)] = {k for k, v in args.items() if v == "channels"}
    rewriter = _Rewriter(scaling, channel_args)
    if isinstance(out.get("layers"), list):
        rewriter.entries(out["layers"])
    if isinstance(out.get("blocks"), dict):
        for body in out["blocks"].values():
            if not isinstance(body, dict):
                continue
            if isinstance(body.get("layers"), list):
                rewriter.entries(body["layers"])
            for key in ("residual", "parallel"):
                if isinstance(body.get(key), dict):
                    rewriter.container(key, body[key])
    description = out.get("description")
    note = f"scaled: {scaling.describe()}"
    out["description"] = f"{description}; {note}" if description else note
    return out


def _literal_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Rewriter:
    """Walks entries in place (on a copy), scaling what the module docstring lists."""

    def __init__(self, scaling: Scaling, channel_args: dict[str, set[str]]):
        self.scaling = scaling
        self.channel_args = channel_args

    def width(self, c: int) -> int:
        return channels(c, self.scaling.width, self.scaling.divisor)

    def entries(self, items: Any) -> None:
        if not isinstance(items, list):
            return
        for item in items:
            if isinstance(item, dict):  # a bare kind name (`- flatten`) has nothing to scale
                self.entry(item)

    def entry(self, item: dict[str, Any]) -> None:
        if item.get("scale") is False:
            return
        if _literal_int(item.get("repeat")):
            item["repeat"] = repeats(item["repeat"], self.scaling.depth)
        if "kind" in item:
            kind = item["kind"]
            fields: Any = item  # the long form keeps fields beside `kind`
        else:
            others = [k for k in item if k not in _COMMON]
            if len(others) != 1:
                return  # malformed; parse_spec names the problem
            kind = others[0]
            fields = item[kind]
            place = WIDTH_FIELDS[kind][1] if kind in WIDTH_FIELDS else None
            if place == 0 and _literal_int(fields):
                item[kind] = self.width(fields)  # `- conv: 64` fills filters
                return
            if place is not None and isinstance(fields, list) and len(fields) > place \
                    and _literal_int(fields[place]):
                fields[place] = self.width(fields[place])  # `- conv: [64, 3, 1, 1]`
                return
        if not isinstance(kind, str):
            return
        if kind in WIDTH_FIELDS:
            field = WIDTH_FIELDS[kind][0]
            if isinstance(fields, dict) and _literal_int(fields.get(field)):
                fields[field] = self.width(fields[field])
        elif kind in ("seq", "residual", "parallel"):
            self.container(kind, fields)
        elif kind in self.channel_args and isinstance(fields, dict):
            for arg in self.channel_args[kind]:
                if _literal_int(fields.get(arg)):
                    fields[arg] = self.width(fields[arg])

    def container(self, kind: str, fields: Any) -> None:
        if kind == "seq":
            self.entries(fields)
        elif kind == "residual" and isinstance(fields, dict):
            self.entries(fields.get("body"))
            self.entries(fields.get("shortcut"))
        elif kind == "parallel" and isinstance(fields, dict):
            branches = fields.get("branches")
            if isinstance(branches, list):
                for branch in branches:
                    self.entries(branch)


# --------------------------------------------------------------------------- YAML out

def to_yaml(raw: Any, header: str = "") -> str:
    """The spec as YAML text that `cnncalc` loads again; `header` becomes leading comments.

    Short mappings and lists of plain values are written inline (`conv: {filters: 32, ...}`),
    the way specs are written by hand. Comments of the original file are not kept.
    """
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    class _Root(dict):  # the document itself is never written inline
        pass

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    def flat(value: Any) -> bool:
        return not isinstance(value, (dict, list))

    def mapping(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
        inline = bool(data) and not isinstance(data, _Root) and not _is_entry(data) and all(
            flat(v) or (isinstance(v, list) and all(map(flat, v))) for v in data.values())
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                        flow_style=inline)

    def sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                         flow_style=bool(data) and all(map(flat, data)))

    def text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
        # Text a terminal or a CI log would obey (errors.visible) is written double-quoted,
        # where the escapes below mean the same characters to a YAML reader.
        plain = data.isprintable() and "##[" not in data
        return dumper.represent_scalar("tag:yaml.org,2002:str", data,
                                       style=None if plain else '"')

    _Dumper.add_representer(dict, mapping)
    _Dumper.add_representer(_Root, mapping)
    _Dumper.add_representer(list, sequence)
    _Dumper.add_representer(str, text)
    doc = plain(raw)
    if isinstance(doc, dict):
        doc = _Root(doc)
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=100)
    lines = [f"# {visible(row)}".rstrip() for row in header.splitlines()] if header else []
    # every character left that visible() escapes is inside a double-quoted scalar, where
    # `\x1b`, `\u202e` and `\x5b` are YAML's own escapes: the document reads back the same
    body = [visible(line) for line in text.rstrip("\n").split("\n")]
    return "\n".join([*lines, *body]) + "\n"


def _is_entry(data: dict[Any, Any]) -> bool:
    """A layer entry with a name, repeat, ... or in the long form reads better as a block."""
    return "kind" in data or any(key in data for key in _COMMON)


def parse_resolution(text: str) -> tuple[int, int]:
    """`240` -> (240, 240); `240x320` -> (240, 320) (height x width)."""
    parts = str(text).lower().replace(" ", "").split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise CnnCalcError(f"--resolution: cannot read {text!r}; write a size in pixels "
                           "(240) or height x width (240x320)")
    return (sizes[0], sizes[-1])


def scaled_spec(raw: Any, scaling: Scaling, file: str) -> Any:
    """Scale a loaded spec and parse the result (a `spec.Spec`, errors naming `file`)."""
    from ..core.source import parse

    return parse(raw, file, lambda loaded: scale_raw(loaded, scaling, file))
