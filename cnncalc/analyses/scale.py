"""Width, depth and resolution multipliers, applied to a spec as it was written.

Scaling rewrites the loaded YAML (`LineDict` / `LineList`, before `spec.parse_spec`), so the
result is again a spec: it can be analysed, printed as YAML, and scaled again. Line numbers of
the original entries are kept, so an error in a scaled spec still points into the user's file.

What scales (and nothing else):
- **width** `w`: every width field of a kind that declares one (`Layer.width_field`: the
  `filters` of `conv` and `separable`), in the mapping, list or bare value form; every argument
  that a block declares `channels` (`args: {filters: channels}`); and the `units` of every
  `dense` layer but the network's last (the classifier: its units are the classes). A number
  becomes `make_divisible(c * w, divisor)` (torchvision's `_make_divisible`: nearest multiple
  of `divisor`, never more than 10% down; divisor 8). A width of exactly 1 changes nothing,
  even counts that are not multiples of the divisor.
- **depth** `d`: every `repeat: n` becomes `ceil(n * d)` (torchvision's `adjust_depth`).
- **resolution**: the spec's `input` height and width are replaced; channels are kept.

Widths and repeats given by expressions scale too (`_Rewriter.origin`): a width that reads the
input's shape (`in_channels`, ...) or a `channels` argument, directly or through `let`, follows
what scales and is kept (`$(4 * in_channels)`); any other (vars, the repeat index, numbers) is
wrapped in the same rule, `$(scaled_channels(EXPR, w, divisor))`, and a repeat in
`$(scaled_repeats(EXPR, d))` (both `expr` functions). A width read from a block argument not
declared `channels` is refused (its value is set at each use, unseen here), and so is a width
or depth multiplier other than 1 that reaches nothing: never unscaled numbers under a scaled
title.

Never scaled: `vars` (`--var` sets them), the classifier's units, `se` squeeze widths,
depthwise multipliers, block argument defaults. An entry marked `scale: false` is left as
written with everything inside it; a width inside a block *definition* scales with the
definition, whatever its uses say.

The compound rule (Tan and Le, EfficientNet, 2019, equation 3): depth `alpha^phi`, width
`beta^phi`, resolution `gamma^phi` with alpha 1.2, beta 1.1, gamma 1.15 (chosen so that
`alpha * beta^2 * gamma^2 ~ 2`: each step of phi about doubles the MACs). The paper gives no
rounding for the resolution; here it is the nearest whole pixel, halves up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.expr import (
    is_expression,
    names_in,
    scaled_channels,
    scaled_repeats,
    source_of,
    whole_number,
)
from ..core.loader import LineDict, LineList, copy_tree
from ..core.shapes import channels_first
from ..core.spec import COMMON
from ..core.units import clip
from ..errors import CnnCalcError, Problem, visible

ALPHA = 1.2   # depth
BETA = 1.1    # width
GAMMA = 1.15  # resolution

# Bounds of the options (the README's section on bad input): past them a network is a typo,
# not a design (and 1e300 channels overflow a float).
MAX_MULTIPLIER = 100.0  # --width and --depth: above 0 and at most this
MAX_PHI = 20.0  # --phi: width 1.1^20 = 6.7, depth 1.2^20 = 38, resolution 1.15^20 = 16.4
MAX_RESOLUTION = 100_000  # pixels per side
MAX_DIVISOR = 1024


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


#: Leaf kinds whose width (`filters`) scales: each kind says so (`Layer.width_field`). Dense
#: units scale too, except the network's last dense layer (the classifier: its classes).
WIDTH_FIELDS = _width_fields()
#: What a spec lacks when a multiplier reaches nothing in it.
NOTHING = {
    "width": "no channel count that scales (conv or separable filters, a block argument "
               "declared 'channels', dense units before the classifier)",
    "depth": "no 'repeat:' that scales (write 'repeat: 1' on a stage that may grow)",
}
_COMMON = COMMON  # the settings beside an entry's kind (from, training_only included)


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
    """Refuse multipliers that cannot make a network (or only an absurd one)."""
    for what, value in (("width", scaling.width), ("depth", scaling.depth)):
        if not math.isfinite(value) or value <= 0 or value > MAX_MULTIPLIER:
            raise CnnCalcError(f"{what} multiplier must be a number above 0 and at most "
                               f"{MAX_MULTIPLIER:g}, got {value}")
    if not 1 <= scaling.divisor <= MAX_DIVISOR:
        raise CnnCalcError(f"divisor must be from 1 to {MAX_DIVISOR}, got {scaling.divisor}")
    if scaling.resolution is not None and not all(
            1 <= n <= MAX_RESOLUTION for n in scaling.resolution):
        raise CnnCalcError(f"resolution must be from 1 to {MAX_RESOLUTION:,} pixels per side, "
                           f"got {scaling.resolution[0]}x{scaling.resolution[1]}")


def channels(c: int, width: float, divisor: int = 8) -> int:
    """A channel count scaled by `width`: `make_divisible(c * width, divisor)`; width 1 keeps c
    (`expr.scaled_channels`, which scaled specs call for widths given by expressions)."""
    return scaled_channels(c, width, divisor)  # type: ignore[no-any-return]


def repeats(n: int, depth: float) -> int:
    """A repeat count scaled by `depth`: `ceil(n * depth)`, at least 1 (torchvision's rule;
    `expr.scaled_repeats`)."""
    return scaled_repeats(n, depth)  # type: ignore[no-any-return]


def pixels(n: int, factor: float) -> int:
    """A side of the input scaled by `factor`, to the nearest pixel (halves up), at least 1."""
    return max(1, int(math.floor(n * factor + 0.5)))


def compound(phi: float, base: tuple[int, int], alpha: float = ALPHA, beta: float = BETA,
             gamma: float = GAMMA, divisor: int = 8) -> Scaling:
    """EfficientNet's compound scaling of a network whose input is `base` (height, width)."""
    if not math.isfinite(phi) or abs(phi) > MAX_PHI:
        raise CnnCalcError(f"phi must be a number from {-MAX_PHI:g} to {MAX_PHI:g}, got {phi}")
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

    `description` gets the multipliers appended so that a scaled report says what it is. A
    width or depth multiplier other than 1 that reaches nothing in the spec is an error: the
    scaled numbers would be the unscaled ones under a scaled title.
    """
    validate(scaling)
    if not isinstance(raw, dict):
        return copy_tree(raw)  # parse_spec reports what is wrong with it
    out, rewriter = _rewrite(raw, scaling, file)
    nothing = [what for what, value, sites in (
        ("width", scaling.width, rewriter.width_sites),
        ("depth", scaling.depth, rewriter.depth_sites)) if value != 1 and not sites]
    if nothing and _parses(raw, file):  # a malformed spec: parse_spec names what is wrong
        prefix = f"phi {multiplier(scaling.phi)}: " if scaling.phi is not None else ""
        raise CnnCalcError(Problem(
            prefix + "; ".join(
                f"the {what} multiplier {multiplier(getattr(scaling, what))} would change "
                f"nothing: this spec has {NOTHING[what]}" for what in nothing)
            + " (scaled numbers would equal the unscaled ones)", file, _layers_line(raw)))
    description = out.get("description")
    note = f"scaled: {scaling.describe()}"
    out["description"] = f"{description}; {note}" if description else note
    return out


def check_reach(raw: Any, file: str, what: tuple[str, ...], option: str) -> None:
    """Refuse a search (`fit --by ...`) whose multipliers (`what`: width, depth) reach nothing
    in the spec: every candidate would be the spec as written."""
    if not isinstance(raw, dict):
        return
    probe = Scaling(width=2.0 if "width" in what else 1.0,
                    depth=2.0 if "depth" in what else 1.0)
    _, rewriter = _rewrite(raw, probe, file)
    sites = {"width": rewriter.width_sites, "depth": rewriter.depth_sites}
    nothing = [w for w in what if not sites[w]]
    if nothing:
        raise CnnCalcError(Problem(
            f"{option}: " + "; ".join(f"the {w} multiplier would change nothing: this spec "
                                      f"has {NOTHING[w]}" for w in nothing)
            + " (every candidate would be the spec as written)", file, _layers_line(raw)))


def _parses(raw: Any, file: str) -> bool:
    """Whether the spec as written is well formed (its shapes are not checked here)."""
    from ..core.spec import parse_spec

    try:
        parse_spec(raw, file)
    except CnnCalcError:
        return False
    return True


def _layers_line(raw: Any) -> int | None:
    return raw.line_of("layers") if isinstance(raw, LineDict) else None


def _rewrite(raw: dict[str, Any], scaling: Scaling, file: str) -> tuple[Any, _Rewriter]:
    """The scaled copy and the rewriter that made it (which counts what it reached)."""
    out = copy_tree(raw)
    if scaling.resolution is not None:
        h, w = scaling.resolution
        c = input_size(raw, file)[2]
        if channels_first((h, w, c)):  # the spec's parser would blame the user's input
            raise CnnCalcError(Problem(
                f"the resolution {h}x{w} with the spec's {c} channels makes the input "
                f"{h}x{w}x{c}, which cnncalc refuses as a likely channels-first size "
                "(a first side of at most 4 before two of at least 8)", file,
                raw.line_of("input") if isinstance(raw, LineDict) else None))
        out["input"] = f"{h}x{w}x{c}"
    blocks = raw.get("blocks")
    channel_args: dict[str, set[str]] = {}
    if isinstance(blocks, dict):
        for name, body in blocks.items():
            args = body.get("args") if isinstance(body, dict) else None
            if isinstance(args, dict):
                channel_args[str(name)] = {k for k, v in args.items() if v == "channels"}
    rewriter = _Rewriter(scaling, channel_args, file, _classifier(out))
    if isinstance(out.get("layers"), list):
        rewriter.entries(out["layers"])
    if isinstance(out.get("blocks"), dict):
        for name, body in out["blocks"].items():
            if isinstance(body, dict):
                rewriter.block(str(name), body)
    return out, rewriter


def _literal(value: Any) -> bool:
    """A width or repeat written as a number: 32, or 32.0 (which the layer reads as 32)."""
    return whole_number(value) is not None


#: Names whose value follows the scaled network: the shape of the layer's input.
_SHAPE_NAMES = frozenset(("in_channels", "in_height", "in_width"))


@dataclass(slots=True)
class _Scope:
    """A block definition's arguments (`channels` or not) and `let` values, by name."""

    block: str
    args: dict[str, Any]
    lets: dict[str, Any]


class _Rewriter:
    """Walks entries in place (on a copy), scaling what the module docstring lists, and
    counts the places each multiplier reached (`width_sites`, `depth_sites`)."""

    def __init__(self, scaling: Scaling, channel_args: dict[str, set[str]], file: str,
                 classifier: int | None):
        self.scaling = scaling
        self.channel_args = channel_args
        self.file = file
        self.classifier = classifier  # id() of the network's last dense entry: kept
        self.scope: _Scope | None = None  # inside a block definition
        self.width_sites = 0
        self.depth_sites = 0

    # -- the values
    def width_of(self, value: Any, where: tuple[Any, Any], what: str) -> Any:
        """`value` of a width scaled: a number by the rule, an expression wrapped in
        `scaled_channels` unless it follows the scaled network (`$(4 * in_channels)`)."""
        if self.scaling.width == 1:
            return value
        if _literal(value):
            self.width_sites += 1
            return channels(whole_number(value), self.scaling.width,  # type: ignore[arg-type]
                            self.scaling.divisor)
        if not is_expression(value):
            return value  # text, a list...: the layer's own check names it
        origin = self.origin(value)
        if origin == "follows":
            return value
        if origin != "fixed":
            scope = self.scope
            assert scope is not None
            container, line = where
            raise CnnCalcError(Problem(
                f"--width cannot scale {what} {value!r}: it comes from the argument "
                f"'{origin}' of block '{scope.block}', which is not declared 'channels'; "
                f"declare it (args: {{{origin}: channels}}) so that each use scales it, or "
                "mark the layer 'scale: false'", self.file, _line(container, line)))
        self.width_sites += 1
        return (f"$(scaled_channels({source_of(value)}, {self.scaling.width!r}, "
                f"{self.scaling.divisor}))")

    def repeat_of(self, value: Any) -> Any:
        if self.scaling.depth == 1:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            self.depth_sites += 1  # (2.0 is no repeat count: parse_spec refuses it as written)
            return repeats(value, self.scaling.depth)
        if is_expression(value):
            self.depth_sites += 1
            return f"$(scaled_repeats({source_of(value)}, {self.scaling.depth!r}))"
        return value

    def origin(self, text: str) -> str:
        """"follows" when an expression reads the input's shape or a `channels` argument
        (directly or through `let`), else the first other block argument it reads, else
        "fixed" (vars, the repeat index, numbers: what --width must scale itself)."""
        try:
            stack = sorted(names_in(text))
        except CnnCalcError:
            return "follows"  # not a valid expression: parse_spec names the problem
        seen: set[str] = set()
        args: list[str] = []
        scope = self.scope
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in _SHAPE_NAMES:
                return "follows"
            if scope is not None and name in scope.lets:
                value = scope.lets[name]
                if is_expression(value):
                    try:
                        stack.extend(sorted(names_in(value)))
                    except CnnCalcError:
                        return "follows"
            elif scope is not None and name in scope.args:
                if scope.args[name] == "channels":
                    return "follows"
                args.append(name)
        return sorted(args)[0] if args else "fixed"

    # -- the entries
    def entries(self, items: Any) -> None:
        if not isinstance(items, list):
            return
        for item in items:
            if isinstance(item, dict):  # a bare kind name (`- flatten`) has nothing to scale
                self.entry(item)

    def entry(self, item: dict[str, Any]) -> None:
        if item.get("scale") is False:
            return
        if "repeat" in item:
            item["repeat"] = self.repeat_of(item["repeat"])
        if "kind" in item:
            kind = item["kind"]
            fields: Any = item  # the long form keeps fields beside `kind`
        else:
            others = [k for k in item if k not in _COMMON]
            if len(others) != 1:
                return  # malformed; parse_spec names the problem
            kind = others[0]
            fields = item[kind]
        if not isinstance(kind, str):
            return
        width = WIDTH_FIELDS.get(kind) or (
            ("units", 0) if kind == "dense" and id(item) != self.classifier else None)
        if width is not None:
            field, place = width
            what = f"{kind}.{field}"
            if isinstance(fields, dict):
                if field in fields:
                    fields[field] = self.width_of(fields[field], (fields, field), what)
            elif place == 0 and not isinstance(fields, list):  # (the long form is a dict)
                item[kind] = self.width_of(fields, (item, kind), what)  # `- conv: 64`
            elif place is not None and isinstance(fields, list) and len(fields) > place:
                fields[place] = self.width_of(fields[place], (fields, place), what)
        elif kind in ("seq", "residual", "parallel"):
            self.container(kind, fields)
        elif kind in self.channel_args and isinstance(fields, dict):
            for arg in sorted(self.channel_args[kind]):
                if arg in fields:
                    fields[arg] = self.width_of(fields[arg], (fields, arg),
                                                f"the argument {arg}")

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

    def block(self, name: str, body: dict[str, Any]) -> None:
        """A block definition's layers, with its arguments and lets in scope."""
        args = body.get("args") if isinstance(body.get("args"), dict) else {}
        lets = body.get("let") if isinstance(body.get("let"), dict) else {}
        # (the network's layers are rewritten before the blocks: no scope is left behind)
        self.scope = _Scope(name, dict(args), dict(lets))  # type: ignore[arg-type]
        if isinstance(body.get("layers"), list):
            self.entries(body["layers"])
        for key in ("residual", "parallel"):
            if isinstance(body.get(key), dict):
                self.container(key, body[key])


def _line(container: Any, key: Any) -> int | None:
    if isinstance(container, (LineDict, LineList)):
        return container.line_of(key)
    return None


def _classifier(raw: dict[str, Any]) -> int | None:
    """id() of the network's last dense entry (the classifier: its units are the classes),
    following containers and block uses in the order the layers run; None without one."""
    blocks = raw.get("blocks") if isinstance(raw.get("blocks"), dict) else {}
    last: list[int] = []

    def walk(items: Any, stack: tuple[str, ...]) -> None:
        if not isinstance(items, list) or len(stack) > 100:
            return
        for item in items:
            if isinstance(item, str):  # `- head`: a block (or a kind) without arguments
                item = {item: None}
            if not isinstance(item, dict):
                continue
            kind = item.get("kind")
            fields: Any = item
            if kind is None:
                others = [k for k in item if k not in _COMMON]
                if len(others) != 1:
                    continue
                kind, fields = others[0], item[others[0]]
            if kind == "dense":
                last.append(id(item))
            elif kind == "seq":
                walk(fields, stack)
            elif kind == "residual" and isinstance(fields, dict):
                walk(fields.get("body"), stack)
            elif kind == "parallel" and isinstance(fields, dict) \
                    and isinstance(fields.get("branches"), list):
                for branch in fields["branches"]:
                    walk(branch, stack)
            elif isinstance(kind, str) and kind in blocks and kind not in stack:
                body = blocks[kind]
                if isinstance(body, dict):
                    walk(body.get("layers"), (*stack, kind))
                    for key in ("residual", "parallel"):
                        if isinstance(body.get(key), dict):
                            walk([{key: body[key]}], (*stack, kind))

    walk(raw.get("layers"), ())
    return last[-1] if last else None


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
        sizes = [int(p) for p in parts] if len(str(text)) <= 40 else []
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2):
        raise CnnCalcError(f"--resolution: cannot read {clip(str(text))}; write a size in "
                           "pixels (240) or height x width (240x320)")
    if not all(1 <= n <= MAX_RESOLUTION for n in sizes):
        raise CnnCalcError(f"--resolution: {clip(str(text))} is not from 1 to "
                           f"{MAX_RESOLUTION:,} pixels per side")
    return (sizes[0], sizes[-1])


def scaled_spec(raw: Any, scaling: Scaling, file: str) -> Any:
    """Scale a loaded spec and parse the result (a `spec.Spec`, errors naming `file`)."""
    from ..core.source import parse

    return parse(raw, file, lambda loaded: scale_raw(loaded, scaling, file))
