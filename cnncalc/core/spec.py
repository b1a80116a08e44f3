"""The spec format: from loaded YAML to a tree of entries, checked as far as can be without shapes.

A spec is a mapping with `name`, `description`, `input`, `layers` and optionally `vars`,
`blocks` and `budget`. Each item of `layers` is an *entry*, written in one of three ways:

    - flatten                                  # a kind with no fields
    - conv: {filters: 6, kernel: 5}            # short form: the kind is the one other key
      name: conv1                              #   (name, repeat, when, trainable, scale beside it)
    - dense: 120                               # a bare value fills the kind's first field
    - conv: [64, 3, 1, 1]                      # a list fills filters, kernel, stride, padding
    - kind: conv                               # long form: everything at one level
      filters: 6
      kernel: 5

Containers are entries too: `seq` (a list of entries), `residual` (body + shortcut, added) and
`parallel` (branches, concatenated or added); and so is every block that `blocks:` defines.
Field values may be expressions (`$width`, `$(width * 4)`), evaluated when shapes are known.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import CnnCalcError, Problem, suggest
from . import expr
from .layers import ACTIVATIONS, KINDS, MERGES, Layer, Shape, list_form
from .loader import LineDict, LineList, line_of
from .shapes import refuse_channels_first
from .validate import pydantic_problems, validate_leaf

COMMON = ("name", "repeat", "when", "trainable", "scale", "from", "training_only", "lint",
          "written_as")
CONTAINERS = ("seq", "residual", "parallel")
#: `from: input` reads the input of the list the entry is in (at the top, the network's input);
#: no layer may take it as its name.
INPUT = "input"
SHAPE_VARS = ("in_height", "in_width", "in_channels", "i")
#: Names an expression already gives a meaning: a var, block argument or let of one of these
#: names would be shadowed (or unreachable), so it is refused.
RESERVED_NAMES = frozenset((*SHAPE_VARS, *expr.FUNCTIONS))
#: The rows a residual adds beside its body's layers (`PATH.add`, `PATH.shortcut`, and
#: `PATH.<activation>`): a body layer of one of these names would share its path. A shortcut
#: written as one named entry is a row of that name instead of `shortcut` (see
#: `shortcut_name`), so no body layer may take that name either.
RESIDUAL_ROWS = ("add", "shortcut")


def misplaced(kind: str, key: str, fields: str = "fields") -> str | None:
    """The refusal of an entry's own field (`name`, `from`, `when` ... COMMON) written among
    the fields of its kind or the arguments of its block (`- conv: {filters: 8, name: a}`),
    or None for any other key."""
    if key not in COMMON:
        return None
    return (f"{kind}: '{key}' belongs to the list entry, not to {kind}'s {fields}: write "
            f"'{key}:' on a line of its own under '- {kind}:', lined up with '{kind}:'")


def name_text(value: Any) -> str | None:
    """A layer's name as written: text, or a whole number >= 0 (YAML reads `name: 0` as an
    int; it means the name "0", as torch numbers the children of an `nn.Sequential`). None for
    anything else (the caller refuses it)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return None


def valid_name(name: str) -> bool:
    """A word (letters, digits, `_`, `-`, not starting with a digit) or a number (`0`, `12`:
    torch's names for the children of an `nn.Sequential`); never a dot, which joins paths."""
    return bool(name) and (name.replace("-", "_").isidentifier()
                           or (name.isascii() and name.isdigit()))


def shortcut_name(entry: Residual) -> str | None:
    """The name of a residual's shortcut when it is written as one named entry. The engine
    makes that entry the shortcut's row itself (`layer2.0.downsample`, torchvision's path)
    when it is a layer or a list of layers (`engine._Walker.is_row`); its name is kept from
    the body's names either way, a rule that needs no shapes."""
    if len(entry.shortcut) == 1:
        return entry.shortcut[0].name
    return None


# --------------------------------------------------------------------------- entries

@dataclass(slots=True, eq=False, frozen=True)
class Entry:
    """One item of a layer list, before shapes are known."""

    kind: str
    line: int
    name: str | None = None
    repeat: int | str | None = None
    when: bool | str | None = None
    trainable: bool | None = None
    scale: bool = True
    #: `from:`: the layers (names or dotted paths, or `input`) whose outputs feed this entry
    #: instead of the entry before it; None: the entry before it (or the list's input)
    sources: tuple[str, ...] | None = None
    #: runs only in training (an auxiliary head): not in inference totals, not in eval mode
    training_only: bool = False
    #: how the reference torch code writes this layer (one of its kind's `forms`), for the
    #: peer conventions; None: the kind's default
    written_as: str | None = None
    #: the file the entry was written in, when not the spec's own (see `inherit`, extends)
    file: str | None = None
    #: `lint: {ignore: [ID, ...]}`: lint rules silenced on this entry and everything inside it
    #: (the ids are checked by `cnncalc lint`, which owns the rules)
    lint: tuple[str, ...] = ()


@dataclass(slots=True, eq=False, frozen=True)
class Leaf(Entry):
    args: dict[str, Any] = field(default_factory=dict)
    arg_lines: dict[str, int] = field(default_factory=dict)
    model: Layer | None = None  # validated now when no field is an expression


@dataclass(slots=True, eq=False, frozen=True)
class Seq(Entry):
    children: tuple[Entry, ...] = ()


@dataclass(slots=True, eq=False, frozen=True)
class Residual(Entry):
    body: tuple[Entry, ...] = ()
    shortcut: tuple[Entry, ...] = ()
    activation: str | None = None
    add: bool | str = True


@dataclass(slots=True, eq=False, frozen=True)
class Parallel(Entry):
    branches: tuple[tuple[Entry, ...], ...] = ()
    merge: Literal["concat", "add"] = "concat"
    activation: str | None = None
    #: None: every branch gets the whole input; an int n: the channels in n chunks (torch's
    #: `x.chunk(n, 1)`), one per branch; a list: channel counts per branch (`x.split(sizes, 1)`)
    split: int | list[Any] | str | None = None


@dataclass(slots=True, eq=False, frozen=True)
class Join(Entry):
    """`add` or `concat` of the outputs its `from:` names (two or more), as a layer."""


@dataclass(slots=True, eq=False, frozen=True)
class Use(Entry):
    """A use of a block defined under `blocks:`."""

    args: dict[str, Any] = field(default_factory=dict)
    arg_lines: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True, eq=False, frozen=True)
class BlockDef:
    name: str
    line: int
    args: dict[str, Any]  # name -> default, or "required" / "channels"
    let: dict[str, Any]
    body: Entry  # a Seq, Residual or Parallel


# --------------------------------------------------------------------------- the spec

_DIGITS = re.compile(r"[0-9]+")


def parse_shape(value: Any) -> Shape:
    """`32x32x3`, `[32, 32, 3]` (height, width, channels) or `[784]` / `784` (a vector)."""
    if isinstance(value, str):
        parts = value.lower().replace(" ", "").split("x")
        if not all(_DIGITS.fullmatch(part) for part in parts) or len(value) > 200:
            shown = repr(value) if len(value) <= 60 else repr(value[:60]) + "..."
            raise ValueError(f"cannot read {shown}; write HxWxC in decimal digits, e.g. "
                             "224x224x3")
        value = [int(part) for part in parts]
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 3):
        raise ValueError("expected height x width x channels (e.g. 32x32x3 or [32, 32, 3]) "
                         "or a vector length")
    for n in value:
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"sizes must be whole numbers, got {n!r}")
        if n < 1:
            raise ValueError(f"sizes must be positive, got {n}")
    return refuse_channels_first(value)  # `3x224x224`: torch's order, refused (core.shapes)


class Header(BaseModel):
    """The spec's top-level fields (layers and blocks are parsed apart, with lines)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1)
    description: str = ""
    input: tuple[int, ...]
    layers: list[Any]
    blocks: dict[str, Any] = {}
    vars: dict[str, int | float | bool | str] = {}
    budget: dict[str, Any] | None = None
    #: the network's outputs by name or dotted path (default: every layer whose output
    #: nothing reads, in order; the last layer is one)
    outputs: list[str] | None = Field(default=None, min_length=1)
    #: freeze every layer up to and including this one (see `freeze`)
    freeze_until: str | None = Field(default=None, min_length=1)
    #: remarks that `show` prints under the table (where a published table differs, and why)
    notes: str | list[str] = Field(
        default=[], description="Remarks printed under the table by `cnncalc show`: a line of "
        "text or a list of them (e.g. where a published table differs from the counts, and "
        "why).")

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: Any) -> Shape:
        return parse_shape(value)

    @field_validator("layers")
    @classmethod
    def _layers(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("a spec needs at least one layer")
        return value


@dataclass(slots=True, eq=False, frozen=True, weakref_slot=True)
class Spec:
    name: str
    description: str
    input_shape: Shape
    layers: tuple[Entry, ...]
    blocks: Mapping[str, BlockDef]
    vars: Mapping[str, Any]
    budget: dict[str, Any] | None
    file: str
    raw: Any  # the loaded YAML (LineDict), for tools that rewrite specs
    budget_lines: dict[str, int] = field(default_factory=dict)
    freeze_until: str | None = None  # a layer's name or path (see `freeze`)
    freeze_line: int | None = None
    outputs: tuple[str, ...] | None = None  # `outputs:` as written (names or dotted paths)
    outputs_line: int | None = None
    notes: tuple[str, ...] = ()  # `notes:`, one entry per remark

    def __post_init__(self) -> None:
        """Whatever a caller passes (`dataclasses.replace(spec, vars={...})`), the layers
        are stored as a tuple and `vars` and `blocks` as read-only copies: a spec never
        changes once made, which the engine's plans rely on (`engine._Plan`)."""
        for name in ("blocks", "vars"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        if not isinstance(self.layers, tuple):
            object.__setattr__(self, "layers", tuple(self.layers))


class Parser:
    """Turns the loaded YAML of a spec into Entries, collecting every problem it can find."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.block_names: set[str] = set()

    def problem(self, message: str, line: int | None, layer: str | None = None) -> None:
        self.problems.append(Problem(message, self.file, line, layer))

    # -- the whole document
    def parse(self, raw: Any) -> Spec:
        if not isinstance(raw, dict):
            raise CnnCalcError(Problem(
                "a spec must be a mapping with 'name', 'input' and 'layers'",
                self.file, line_of(raw, 1)))
        # A spec piped in (`source.read` names it <stdin>) may go unnamed: it is "stdin".
        unnamed = self.file == "<stdin>" and "name" not in raw
        try:
            header = Header.model_validate({**raw, "name": "stdin"} if unnamed else raw)
        except ValidationError as exc:
            for key, msg in pydantic_problems(exc):
                if msg == "unknown field":
                    msg = f"unknown top-level field{suggest(key, Header.model_fields)}"
                line = raw.line_of(key) if isinstance(raw, LineDict) else None
                self.problems.append(Problem(f"{key}: {msg}", self.file, line))
            raise CnnCalcError(self.problems) from None
        self.check_bindings(raw.get("vars"), "var", raw.line_of("vars")
                            if isinstance(raw, LineDict) else None)
        blocks_raw = raw.get("blocks") or {}
        self.block_names = set(blocks_raw)
        blocks = {}
        for name, body in blocks_raw.items():
            line = blocks_raw.line_of(name) if isinstance(blocks_raw, LineDict) else None
            own_file, self.file = self.file, getattr(body, "file", None) or self.file
            try:  # a block inherited through `extends` names the file it was written in
                block = self.block(str(name), body, line or 1)
            finally:
                self.file = own_file
            if block is not None:
                blocks[str(name)] = block
        layers = self.entries(raw["layers"], "layers")
        budget_raw = raw.get("budget")
        budget_lines = dict(budget_raw.key_lines) if isinstance(budget_raw, LineDict) else {}
        if self.problems:
            raise CnnCalcError(self.problems)
        at = raw.line_of if isinstance(raw, LineDict) else lambda key: None
        return Spec(header.name, header.description, header.input, tuple(layers), blocks,
                    dict(header.vars), header.budget, self.file, raw, budget_lines,
                    freeze_until=header.freeze_until, freeze_line=at("freeze_until"),
                    outputs=None if header.outputs is None else tuple(header.outputs),
                    outputs_line=at("outputs"),
                    notes=(header.notes,) if isinstance(header.notes, str)
                    else tuple(header.notes))

    def check_bindings(self, names: Any, what: str, line: int | None,
                       taken: tuple[str, ...] = ()) -> bool:
        """Refuse names that an expression could never reach: not identifiers, Python's
        keywords, and names expressions already define (`RESERVED_NAMES`), which would
        shadow them or be shadowed by them. `taken`: names already bound beside them."""
        if not isinstance(names, dict):
            return True
        ok = True
        for key in names:
            at = names.line_of(key) if isinstance(names, LineDict) else line
            if not isinstance(key, str) or not key.isascii() or not key.isidentifier() \
                    or keyword.iskeyword(key):
                self.problem(f"{what} name {key!r} must be a name usable in expressions "
                             "(ASCII letters, digits and _, not starting with a digit, not a "
                             "Python keyword)", at)
                ok = False
            elif key in RESERVED_NAMES:
                meaning = ("the input's shape" if key.startswith("in_")
                           else "the repeat index" if key == "i" else "a function")
                self.problem(f"{what} name '{key}' is reserved: in expressions it is "
                             f"{meaning}; pick another name", at)
                ok = False
            elif key in taken:
                self.problem(f"{what} name '{key}' is already an argument of the block", at)
                ok = False
        return ok

    # -- block definitions
    def block(self, name: str, raw: Any, line: int) -> BlockDef | None:
        if name in KINDS or name in CONTAINERS or name in MERGES or name in COMMON \
                or name == "kind":
            self.problem(f"block name '{name}' is already a built-in kind", line)
            return None
        if not name.isidentifier():
            self.problem(f"block name '{name}' must be an identifier (letters, digits, _)", line)
            return None
        if not isinstance(raw, dict):
            self.problem(f"block '{name}' must be a mapping with 'args' and one of "
                         "'layers', 'residual' or 'parallel'", line)
            return None
        args = raw.get("args") or {}
        let = raw.get("let") or {}
        if not isinstance(args, dict) or not isinstance(let, dict):
            self.problem(f"block '{name}': 'args' and 'let' must be mappings", line)
            return None
        args_line, let_line = ((raw.line_of("args"), raw.line_of("let"))
                               if isinstance(raw, LineDict) else (line, line))
        if not (self.check_bindings(args, f"block '{name}': argument", args_line)
                & self.check_bindings(let, f"block '{name}': let", let_line,
                                      tuple(k for k in args if isinstance(k, str)))):
            return None
        for what, table in (("argument", args), ("let", let)):
            for key, value in table.items():
                if value is None:  # `filters:` with nothing: not a default, not "required"
                    at = table.line_of(key) if isinstance(table, LineDict) else line
                    hint = ", or write required (or channels)" if what == "argument" else ""
                    self.problem(f"block '{name}': {what} '{key}' has no value; give a "
                                 f"value{hint}", at)
                    return None
        bodies = [k for k in raw if k in ("layers", "residual", "parallel")]
        extra = [k for k in raw if k not in ("args", "let", "layers", "residual", "parallel")]
        for key in extra:
            self.problem(f"block '{name}': unknown field '{key}'"
                         f"{suggest(key, ('args', 'let', 'layers', 'residual', 'parallel'))}",
                         raw.line_of(key) if isinstance(raw, LineDict) else line)
        if len(bodies) != 1:
            self.problem(f"block '{name}' needs exactly one of 'layers', 'residual' or "
                         f"'parallel' (found {len(bodies)})", line)
            return None
        key = bodies[0]
        body_line = raw.line_of(key) if isinstance(raw, LineDict) else line
        where = f"block '{name}'"
        if key == "layers":
            body: Entry | None = Seq("seq", body_line,
                                     children=tuple(self.entries(raw[key], where)))
        else:
            body = self.container(key, raw[key], body_line, where)
        if body is None:
            return None
        scope = set(args) | set(let) | set(SHAPE_VARS)
        self.check_names(raw, scope, where)
        return BlockDef(name, line, dict(args), dict(let), body)

    def check_names(self, raw: Any, scope: set[str], where: str) -> None:
        """Every name an expression in a block uses must be an arg, a let, a var or a shape."""
        stack = [raw]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if expr.is_expression(value):
                        self._check_expr(value, scope, where, node.line_of(key)
                                         if isinstance(node, LineDict) else None)
                    else:
                        stack.append(value)
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    if expr.is_expression(value):
                        self._check_expr(value, scope, where, node.line_of(index)
                                         if isinstance(node, LineList) else None)
                    else:
                        stack.append(value)

    def _check_expr(self, text: str, scope: set[str], where: str, line: int | None) -> None:
        try:
            unknown = expr.names_in(text) - scope - self.var_names
        except CnnCalcError as exc:
            for p in exc.problems:
                self.problem(p.message, line, where)
            return
        for name in sorted(unknown):
            self.problem(f"{text!r}: unknown name '{name}'{suggest(name, scope)}", line, where)

    var_names: set[str] = set()

    # -- entries
    def entries(self, raw: Any, where: str, line: int | None = None) -> list[Entry]:
        if not isinstance(raw, list):
            self.problem(f"{where} must be a list of layers", line_of(raw, line))
            return []
        out = []
        files = getattr(raw, "item_files", None)  # set by `inherit` for inherited layers
        for index, item in enumerate(raw):
            line = raw.line_of(index) if isinstance(raw, LineList) else 1
            own_file = self.file
            if files and files[index]:
                self.file = files[index]
            try:
                entry = self.entry(item, line, f"layer {index + 1}" + (
                    f" of {where}" if where != "layers" else ""))
            finally:
                self.file = own_file
            if entry is not None:
                out.append(entry)
        return out

    def entry(self, raw: Any, line: int, label: str) -> Entry | None:
        if isinstance(raw, str):
            raw_map: dict[str, Any] = {raw: None}
            lines: dict[str, int] = {}
        elif isinstance(raw, dict):
            raw_map = raw
            lines = raw.key_lines if isinstance(raw, LineDict) else {}
        else:
            self.problem(f"expected a layer (a kind name or a mapping), got {raw!r}", line, label)
            return None
        common = {k: raw_map[k] for k in COMMON if k in raw_map}
        if isinstance(common.get("name"), str):
            label = f"{label} '{common['name']}'"
        if "kind" in raw_map:
            kind = raw_map["kind"]
            args: Any = {k: v for k, v in raw_map.items() if k not in COMMON and k != "kind"}
            arg_lines = {k: lines.get(k, line) for k in args}
        else:
            others = [k for k in raw_map if k not in COMMON]
            if not others:
                self.problem("no kind given: add one of conv, pool, dense, ... "
                             "(or 'kind: NAME')", line, label)
                return None
            known = [k for k in others if self.known(k)]
            if len(others) > 1:
                if len(known) == 1:
                    for k in others:
                        if k != known[0]:
                            self.problem(
                                f"'{k}' is not a layer setting; put it inside "
                                f"{known[0]}: {{...}}" + suggest(k, COMMON),
                                lines.get(k, line), label)
                else:
                    self.problem(f"one kind per layer, found {', '.join(map(str, others))}",
                                 line, label)
                return None
            kind = others[0]
            args = raw_map[kind]
            arg_lines = dict(args.key_lines) if isinstance(args, LineDict) else {}
        if not isinstance(kind, str) or not self.known(kind):
            choices = list(KINDS) + list(CONTAINERS) + list(MERGES) + sorted(self.block_names)
            self.problem(f"unknown kind '{kind}'{suggest(kind, choices)}", line, label)
            return None
        if isinstance(raw, dict):
            label = f"{label} ({kind})"
        base = self.common(common, lines, line, label)
        if base is None:
            return None
        if kind in CONTAINERS:
            entry = self.container(kind, args, line, label, arg_lines)
        elif kind in MERGES:
            entry = self.join(kind, args, base[5], line, label)
        elif kind in self.block_names:
            entry = self.use(kind, args, line, label, arg_lines)
        else:
            entry = self.leaf(kind, args, line, label, arg_lines)
        if entry is None:
            return None
        name, repeat, when, trainable, scale, sources, training_only, written_as = base
        if written_as is not None and not self.written_as(
                kind, written_as, lines.get("written_as", line), label):
            return None
        lint = self.lint(common["lint"], lines.get("lint", line), label) \
            if "lint" in common else ()
        return replace(entry, name=name, repeat=repeat, when=when, trainable=trainable,
                       scale=scale, sources=None if sources is None else tuple(sources),
                       training_only=training_only, written_as=written_as, file=self.file,
                       lint=lint)

    def lint(self, value: Any, line: int, label: str) -> tuple[str, ...]:
        """`lint: {ignore: [ID, ...]}` (one ID may be written without the list)."""
        if not isinstance(value, dict) or set(value) - {"ignore"}:
            extra = [k for k in value if k != "ignore"] if isinstance(value, dict) else []
            hint = f": unknown key '{extra[0]}'{suggest(str(extra[0]), ['ignore'])}" if extra \
                else f", got {_clip(value)}"
            self.problem(f"lint must be a mapping {{ignore: [RULE, ...]}}{hint}", line, label)
            return ()
        ids = value.get("ignore")
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
            self.problem(f"lint.ignore must be a rule id or a list of them, got "
                         f"{_clip(value.get('ignore'))}", line, label)
            return ()
        return tuple(ids)

    def written_as(self, kind: str, form: Any, line: int, label: str) -> bool:
        """`written_as:` names one of the kind's forms (`layers.Layer.forms`); a container or
        a block's use has none (its rows are written where they are defined)."""
        if kind in CONTAINERS or kind in self.block_names:
            what = kind if kind in CONTAINERS else f"use of the block '{kind}'"
            self.problem(f"written_as belongs on a layer, not on a {what}: write it on the "
                         "layers inside", line, label)
            return False
        model = MERGES[kind] if kind in MERGES else KINDS[kind].model
        if not isinstance(form, str) or form not in model.forms:
            self.problem(f"written_as: {_clip(form)} is not a way to write {kind} that the peer "
                         f"conventions know{suggest(str(form), model.forms)}; use "
                         f"{' or '.join(model.forms)}", line, label)
            return False
        return True

    def known(self, kind: Any) -> bool:
        return isinstance(kind, str) and (
            kind in KINDS or kind in CONTAINERS or kind in MERGES or kind in self.block_names)

    def common(self, common: dict[str, Any], lines: dict[str, int], line: int,
               label: str) -> tuple[Any, ...] | None:
        # A key written with no value (`name:`, `when:`) is an error, never "not given".
        for key, value in common.items():
            if value is None:
                self.problem(f"{key} has no value: give one, or leave '{key}' out",
                             lines.get(key, line), label)
        if None in common.values():
            return None
        ok = True
        name = name_text(common.get("name"))
        if "name" in common and (name is None or not valid_name(name)):
            self.problem(f"name {common['name']!r} must be a word of letters, digits, _ or - "
                         "(no dots), not starting with a digit, or a number (0, 12)",
                         lines.get("name", line), label)
            ok = False
        elif name == INPUT:
            self.problem(f"the name '{INPUT}' is reserved: `from: {INPUT}` names the list's "
                         "input; pick another name", lines.get("name", line), label)
            ok = False
        sources = common.get("from")
        if "from" in common:
            sources = [sources] if not isinstance(sources, list) else sources
            sources = [name_text(s) for s in sources]  # `from: 0`: the row named "0"
            if not sources or not all(isinstance(s, str) and s.strip() for s in sources):
                self.problem(f"from must be a layer's name (or dotted path, or {INPUT}) or a "
                             f"list of them, got {_clip(common['from'])}",
                             lines.get("from", line), label)
                ok = False
        if "training_only" in common and not isinstance(common["training_only"], bool):
            self.problem(f"training_only must be true or false, got "
                         f"{common['training_only']!r}", lines.get("training_only", line), label)
            ok = False
        repeat = common.get("repeat")
        if "repeat" in common and not expr.is_expression(repeat) and (
                isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1):
            self.problem(f"repeat must be a whole number >= 1, got {repeat!r}",
                         lines.get("repeat", line), label)
            ok = False
        when = common.get("when")
        if "when" in common and not isinstance(when, bool) and not expr.is_expression(when):
            self.problem(f"when must be true, false or an expression, got {when!r}",
                         lines.get("when", line), label)
            ok = False
        for key in ("trainable", "scale"):
            if key in common and not isinstance(common[key], bool):
                self.problem(f"{key} must be true or false, got {common[key]!r}",
                             lines.get(key, line), label)
                ok = False
        if not ok:
            return None
        return (name, repeat, when, common.get("trainable"), common.get("scale", True),
                sources if "from" in common else None, common.get("training_only", False),
                common.get("written_as"))

    def join(self, kind: str, args: Any, sources: list[str] | None, line: int,
             label: str) -> Join | None:
        """`add` / `concat` as a layer: it joins the outputs `from:` names."""
        if args not in (None, {}):
            self.problem(f"{kind} takes no fields: name what it joins with from: [a, b]",
                         line, label)
            return None
        if sources is None or len(sources) < 2:
            self.problem(f"{kind} as a layer joins two or more outputs: give them with "
                         f"from: [a, b] (names of earlier layers, or {INPUT})", line, label)
            return None
        return Join(kind, line)

    def leaf(self, kind: str, args: Any, line: int, label: str,
             arg_lines: dict[str, int]) -> Leaf | None:
        model = KINDS[kind].model
        fixed = dict(KINDS[kind].fixed)
        positional = tuple(f for f in model.positional if f not in fixed)
        form = list_form(model, tuple(fixed))
        if args is None:
            fields: dict[str, Any] = {}
        elif isinstance(args, dict):
            fields = dict(args)
        elif isinstance(args, list) and form == "refused" and positional:
            first, second = positional[0], positional[1]
            a, b = (args[:2] if len(args) >= 2 and not any(isinstance(v, (list, dict))
                                                          for v in args[:2]) else (2, 3))
            self.problem(
                f"{kind}: {_flow(args)} can be read two ways ({', '.join(positional)} in order, "
                f"or one [height, width] {first}); write the fields by name: "
                f"{kind}: {{{first}: {_flow(a)}, {second}: {_flow(b)}}} or "
                f"{kind}: {{{first}: [{_flow(a)}, {_flow(b)}]}}", line, label)
            return None
        elif isinstance(args, list) and form == "fields":
            if len(args) > len(positional):
                self.problem(f"{kind} takes at most {len(positional)} values in a list "
                             f"({', '.join(positional)}), got {len(args)}", line, label)
                return None
            fields = dict(zip(positional, args, strict=False))  # fewer values than fields is fine
        elif positional:
            fields = {positional[0]: args}
        else:
            self.problem(f"{kind} takes no value; write '- {kind}' or give fields as a mapping",
                         line, label)
            return None
        bad = False
        for key in fields:
            if key in fixed:
                self.problem(f"{kind}.{key} is fixed to {fixed[key]!r} by the kind '{kind}'",
                             arg_lines.get(key, line), label)
                bad = True
            elif key not in model.model_fields:
                self.problem(misplaced(kind, key) or f"{kind}: unknown field '{key}'"
                             f"{suggest(key, [*model.model_fields, *COMMON])}",
                             arg_lines.get(key, line), label)
                bad = True
        if bad:
            return None
        layer = None
        if not _has_expression(fields):
            try:
                layer = validate_leaf(kind, fields)
            except CnnCalcError as exc:
                for p in exc.problems:
                    field_name = p.message.split(":", 1)[0].split(".", 1)[-1]
                    self.problem(p.message, arg_lines.get(field_name, line), label)
                return None
        return Leaf(kind, line, args=fields, arg_lines=arg_lines, model=layer)

    def check_residual_names(self, residual: Residual, label: str) -> None:
        """A body layer may not take the name of a row the residual adds beside it (its
        path would be the path of that row; see RESIDUAL_ROWS), nor the name of a shortcut
        written as one named entry (`shortcut_name`: a row of the residual too), which may not
        take the add's or the activation's name."""
        activation = residual.activation
        added = {"add": "the residual's add",
                 **({activation: f"the activation after the add ({activation})"}
                    if activation else {})}
        short = shortcut_name(residual)
        checks = [(entry, "body layer", {"shortcut": "the residual's shortcut", **added,
                                          **({short: "the shortcut (its one named entry)"}
                                             if short is not None else {})})
                  for entry in residual.body]
        if short is not None:
            checks.append((residual.shortcut[0], "shortcut", added))
        for entry, what, rows in checks:
            if entry.name in rows:
                own_file, self.file = self.file, entry.file or self.file
                self.problem(f"the name '{entry.name}' is taken by {rows[entry.name]}, a row "
                             f"of the residual with the same path; rename this layer",
                             entry.line, f"{label}: {what} '{entry.name}'")
                self.file = own_file

    def use(self, kind: str, args: Any, line: int, label: str,
            arg_lines: dict[str, int]) -> Use | None:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            self.problem(f"block '{kind}' takes its arguments as a mapping, got {args!r}",
                         line, label)
            return None
        return Use(kind, line, args=dict(args), arg_lines=arg_lines)

    def container(self, kind: str, args: Any, line: int, label: str,
                  arg_lines: dict[str, int] | None = None) -> Entry | None:
        arg_lines = arg_lines or {}
        if kind == "seq":
            return Seq("seq", line,
                       children=tuple(self.entries(args, f"seq at line {line}", line)))
        if not isinstance(args, dict):
            self.problem(f"{kind} needs a mapping of fields", line, label)
            return None
        lines = args.key_lines if isinstance(args, LineDict) else arg_lines
        allowed = {"residual": ("body", "shortcut", "activation", "add"),
                   "parallel": ("branches", "merge", "activation", "split")}[kind]
        for key in args:
            if key not in allowed:
                self.problem(misplaced(kind, key)
                             or f"{kind}: unknown field '{key}'{suggest(key, allowed)}",
                             lines.get(key, line), label)
                return None
        # The activation after the merge is an activation function and nothing else: any
        # other kind (batchnorm, global_pool) would be counted as a 0-param activation.
        activation = args.get("activation")
        if activation is not None and activation not in ACTIVATIONS:  # null: none, as for conv
            self.problem(f"{kind}.activation: {_clip(activation)} is not an activation "
                         f"function{suggest(str(activation), ACTIVATIONS)}; one of "
                         f"{', '.join(ACTIVATIONS)} (another layer goes in the body, or after "
                         f"the {kind})", lines.get("activation", line), label)
            return None
        if kind == "residual":
            if "body" not in args:
                self.problem("residual needs a 'body' (a list of layers)", line, label)
                return None
            add = args.get("add", True)
            if not isinstance(add, bool) and not expr.is_expression(add):
                self.problem(f"residual.add must be true, false or an expression, got {add!r}",
                             lines.get("add", line), label)
                return None
            shortcut = args.get("shortcut")
            if shortcut is None or shortcut == "identity":
                shortcut = []
            elif not isinstance(shortcut, list):
                self.problem(f"residual.shortcut must be a list of layers, [] or identity, got "
                             f"{_clip(shortcut)} (for no shortcut at all, write add: false)",
                             lines.get("shortcut", line), label)
                return None
            body = self.entries(args["body"], f"residual body at line {line}",
                                lines.get("body", line))
            residual = Residual("residual", line, body=tuple(body),
                                shortcut=tuple(self.entries(shortcut, f"shortcut at line {line}",
                                                            lines.get("shortcut", line))),
                                activation=activation, add=add)
            self.check_residual_names(residual, label)
            return residual
        branches = args.get("branches")
        if not isinstance(branches, list) or len(branches) < 2:
            self.problem("parallel needs 'branches': a list of at least two layer lists",
                         lines.get("branches", line), label)
            return None
        merge = args.get("merge", "concat")
        if not isinstance(merge, str) or merge not in ("concat", "add"):
            self.problem(f"parallel.merge must be concat or add, got {merge!r}",
                         lines.get("merge", line), label)
            return None
        split = args.get("split")
        if split is not None and not expr.is_expression(split) and not (
                isinstance(split, int) and not isinstance(split, bool)
                and split == len(branches)) and not (
                isinstance(split, list) and len(split) == len(branches) and all(
                    expr.is_expression(n) or (isinstance(n, int) and not isinstance(n, bool)
                                              and n >= 1) for n in split)):
            self.problem(f"parallel.split must be the number of branches ({len(branches)}: "
                         f"equal chunks of the channels, as torch's chunk) or a list of "
                         f"{len(branches)} channel counts, got {_clip(split)}",
                         lines.get("split", line), label)
            return None
        parsed = []
        for index, branch in enumerate(branches):
            if branch is None or (isinstance(branch, str) and branch == "identity"):
                branch = []
            parsed.append(tuple(self.entries(branch, f"branch {index + 1} at line {line}",
                                             branches.line_of(index)
                                             if isinstance(branches, LineList) else line)))
        return Parallel("parallel", line, branches=tuple(parsed), merge=merge,
                        activation=activation,
                        split=split)


def _clip(value: Any, limit: int = 40) -> str:
    """The repr of a value, cut short enough for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _flow(value: Any) -> str:
    """A short value as YAML's flow style writes it (`[2, 3]`), for messages."""
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value[:4]) + (", ..." if len(value) > 4
                                                                 else "") + "]"
    text = "true" if value is True else "false" if value is False else str(value)
    return text if len(text) <= 20 else text[:20] + "..."


def _has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("$")
    if isinstance(value, list):
        return any(_has_expression(v) for v in value)
    if isinstance(value, dict):
        return any(_has_expression(v) for v in value.values())
    return False


def parse_spec(raw: Any, file: str) -> Spec:
    parser = Parser(file)
    if isinstance(raw, dict) and isinstance(raw.get("vars"), dict):
        parser.var_names = set(raw["vars"])
    try:
        return parser.parse(raw)
    except RecursionError:  # containers nested hundreds deep; the loader allows ~500
        raise CnnCalcError(Problem("the spec nests too deeply (lists or containers hundreds "
                                   "of levels deep)", file)) from None
