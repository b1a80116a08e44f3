"""From a traced graph of operations to a spec: the writer both importers (torch, ONNX) share.

An importer turns a model into `Op`s in execution order: a cnncalc kind with its fields, the ops
it reads (`input`: the network's input) and where it ran (`module`: the dotted path of the module
that is the op, or that ran the function). `to_spec` writes them as a spec that reads like one
written by hand:

- Rows nest as the modules do: the op of module `layer1.0.conv1` is the row `conv1` inside the
  rows `layer1` and `0`, so `cnncalc.torch.build(spec)` names its modules as the original's and
  the original's `state_dict` loads into it. A function called inside a module's `forward`
  (`x + identity`, `torch.flatten`) is a row of that module named by its kind (`add`, `add_1`).
- A row reads the row before it unless it says otherwise with `from:`, written as the shortest
  name that the engine resolves to it (the lists enclosing the row, innermost first); `add` and
  `concat` rows join `from: [a, b]`.
- A module whose children are `0..n-1`, all alike and each reading the one before, is written
  once with `repeat: n`; a module written out identically two or more times (same kinds, fields
  and names, nothing read from outside it but its input) becomes a block under `blocks:`, named
  after the module's class, and each use names the block.
- `outputs:` lists the network's outputs when they are not just the last row.

Nothing is dropped here: every op is a row. An op whose output nothing reads and that is not
an output of the model is refused (its cost would count toward nothing the model returns; the
torch importer leaves out beforehand those that hold no tensors). A row that no `from:` can
name from where it is read is refused too, never written as a spec that does not load.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.spec import INPUT
from ..errors import CnnCalcError

#: A name written without quotes in the YAML (anything else is quoted: `"0"`, `"a b"`).
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: YAML words that would not read back as text.
_RESERVED_WORDS = frozenset(("true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"))


@dataclass(slots=True)
class Op:
    """One operation of the traced model, as a cnncalc row."""

    id: str  # unique in the graph
    kind: str  # a cnncalc kind (`conv`, `relu`, ...) or `add` / `concat`
    fields: dict[str, Any]  # the kind's fields as a spec writes them
    inputs: list[str]  # ids of the ops it reads; `input` is the network's input
    #: the module's dotted path: the module that is this op (`own`), or whose forward ran it
    module: str = ""
    own: bool = False
    trainable: bool = True
    #: the class of the module that is this op or ran it (names blocks: `Bottleneck`)
    classes: dict[str, str] = field(default_factory=dict)
    #: runs only in training (an auxiliary head): its output is no inference output
    training_only: bool = False


@dataclass(slots=True, eq=False)
class _Row:
    name: str
    parent: _Row | None
    op: Op | None = None  # a leaf
    children: list[_Row] = field(default_factory=list)  # a group
    cls: str = ""

    @property
    def path(self) -> str:
        parts = []
        row: _Row | None = self
        while row is not None and row.parent is not None:
            parts.append(row.name)
            row = row.parent
        return ".".join(reversed(parts))

    def last_op(self) -> Op:
        row = self
        while row.op is None:
            row = row.children[-1]
        return row.op

    def first_op(self) -> Op:
        row = self
        while row.op is None:
            row = row.children[0]
        return row.op

    def ops(self) -> list[Op]:
        if self.op is not None:
            return [self.op]
        return [op for child in self.children for op in child.ops()]


def _quote(name: str) -> str:
    return name if _PLAIN.match(name) and name.lower() not in _RESERVED_WORDS \
        else json.dumps(name)


def _value(value: Any) -> str:
    """A field's value in YAML flow style."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return _quote(str(value))


def _kind_line(op: Op) -> str:
    """`conv: {filters: 64, kernel: 3}`, `relu`, `concat:`."""
    if op.kind in ("add", "concat"):
        return f"{op.kind}:"
    if not op.fields:
        return f"{op.kind}: {{}}"
    inner = ", ".join(f"{k}: {_value(v)}" for k, v in op.fields.items())
    return f"{op.kind}: {{{inner}}}"


@dataclass(slots=True, eq=False)
class _Block:
    """Groups written once under `blocks:` and used by name, with arguments."""

    name: str
    members: list[_Row]
    args: dict[str, str]  # name -> "channels" (scaled by width multipliers) or "required"
    template: list[dict[str, str]]  # per op of a member, in order: field -> its text
    uses: dict[int, dict[str, Any]]  # id(member) -> its arguments
    sources: dict[str, tuple[int, str]]  # argument -> the (op index, field) it is first at


#: fields that count channels: their arguments are `channels` (`cnncalc scale` scales them)
_CHANNELS = frozenset(("filters", "units", "squeeze"))


def _defaults(kind: str) -> dict[str, Any]:
    """The fields of a kind that have a default, with it (and the fields its name fixes)."""
    from ..core.layers import KINDS

    entry = KINDS.get(kind)
    if entry is None:
        return {}
    found = {name: info.default for name, info in entry.model.model_fields.items()
             if not info.is_required()}
    found.update(dict(entry.fixed))
    return found


#: the order fields are written in (the importers' own): the rest in their kind's order
_FIRST = ("filters", "units", "squeeze", "kernel", "stride", "padding", "output_padding",
          "dilation", "groups", "multiplier", "bias", "activation", "gate")


def _field_order(kind: str) -> list[str]:
    from ..core.layers import KINDS

    entry = KINDS.get(kind)
    return list(entry.model.model_fields) if entry is not None else []


def _filled(members: list[_Row]) -> list[list[dict[str, Any]]]:
    """Per op position, each member's fields, with a field some members leave out filled in
    with its default (`stride: 1`)."""
    columns = list(zip(*(m.ops() for m in members), strict=True))
    positions = []
    for ops in columns:
        names: list[str] = []
        for op in ops:
            names.extend(k for k in op.fields if k not in names)
        defaults = _defaults(ops[0].kind)
        order = [*_FIRST, *_field_order(ops[0].kind)]
        names.sort(key=lambda k: order.index(k) if k in order else len(order))
        positions.append([{k: op.fields[k] if k in op.fields else defaults.get(k, _ABSENT)
                           for k in names} for op in ops])
    return positions


_ABSENT = object()  # a field left out that has no default: the groups differ in structure


def _abstract(value: Any) -> bool:
    """Whether a value can be a block argument: a number (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _alike(members: list[_Row]) -> list[list[_Row]]:
    """`members` (equal skeletons) split into groups that differ only in numbers."""
    positions = _filled(members)
    parts: dict[tuple[Any, ...], list[_Row]] = {}
    for index, member in enumerate(members):
        key = tuple((k, id(v) if v is _ABSENT else repr(v)) for fields in positions
                    for k, v in fields[index].items()
                    if not (_abstract(v) and all(_abstract(f[k]) for f in fields)))
        parts.setdefault(key, []).append(member)
    return list(parts.values())


def _multiple(values: tuple[Any, ...], known: dict[tuple[Any, ...], str]) -> str | None:
    """`$(k * arg)` when `values` are a whole multiple of an argument's."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    for other, text in known.items():
        if not text.startswith("$") or text.startswith("$(") or not all(
                isinstance(v, int) and not isinstance(v, bool) and v for v in other):
            continue
        if all(v % o == 0 for v, o in zip(values, other, strict=True)):
            k = values[0] // other[0]
            if k > 1 and all(v == k * o for v, o in zip(values, other, strict=True)):
                return f"$({k} * {text[1:]})"
    return None


def _arg_name(key: str, path: list[str], taken: dict[str, str]) -> str:
    """An argument's name: the field's (`filters`), else with as much of its row's path in
    the block as tells it apart (`filters_conv3`, `filters_branch2_1`)."""
    from ..core.spec import RESERVED_NAMES

    def free(name: str) -> bool:
        return name.isidentifier() and not keyword.iskeyword(name) and \
            name not in RESERVED_NAMES and name not in taken

    for name in (key, *("_".join([key, *path[:n]]) for n in range(1, len(path) + 1))):
        if free(name):
            return name
    n = 2
    while not free(f"{key}{n}"):
        n += 1
    return f"{key}{n}"


class _Writer:
    def __init__(self, ops: list[Op], outputs: list[str]):
        self.ops = ops
        self.outputs = outputs
        self.root = _Row("", None)
        self.row_of: dict[str, _Row] = {}  # op id -> its leaf row
        #: block name -> its arguments and body lines, as written (first use first)
        self.blocks: dict[str, tuple[dict[str, str], list[str]]] = {}
        self.block_of: dict[int, _Block] = {}  # id(group) -> the block it uses
        self.made: list[_Block] = []
        self.names: set[str] = set()
        #: "plain": uses of blocks; "full": every group written out; "skeleton": full, no
        #: values; "template": a block's body (its ops' fields from `template`)
        self.mode = "plain"
        self.template: dict[str, dict[str, str]] = {}
        self.taken = frozenset(("seq", "residual", "parallel", "add", "concat", "kind"))

    # -- the tree
    def build(self) -> None:
        groups: dict[str, _Row] = {"": self.root}
        for op in self.ops:
            parts = [p for p in op.module.split(".") if p] if op.module else []
            own_name = parts.pop() if op.own and parts else None
            parent = self.root
            for depth, part in enumerate(parts):
                path = ".".join(parts[: depth + 1])
                group = groups.get(path)
                if group is None or not parent.children or parent.children[-1] is not group:
                    # a module run again after a sibling: its rows go on in a new group
                    group = _Row(self._fresh(parent, part), parent,
                                 cls=op.classes.get(path, ""))
                    parent.children.append(group)
                    groups[path] = group
                parent = group
            name = self._fresh(parent, own_name or op.kind)
            row = _Row(name, parent, op=op)
            parent.children.append(row)
            self.row_of[op.id] = row

    def _fresh(self, parent: _Row, name: str) -> str:
        taken = {child.name for child in parent.children}
        if name == INPUT:
            name = f"{INPUT}_"
        if name not in taken:
            return name
        n = 1
        while f"{name}_{n}" in taken:
            n += 1
        return f"{name}_{n}"

    # -- references
    def _ancestors(self, row: _Row) -> list[_Row]:
        chain = []
        while row.parent is not None:
            chain.append(row.parent)
            row = row.parent
        return chain

    def target(self, op_id: str, reader: _Row) -> _Row | None:
        """The row whose output is `op_id`'s, lifted to the highest group that ends with it
        and does not hold the reader; None for the network's input."""
        if op_id == INPUT:
            return None
        row = self.row_of[op_id]
        holders = set(map(id, self._ancestors(reader)))
        while row.parent is not None and row.parent.parent is not None \
                and row.parent.children[-1] is row and id(row.parent) not in holders:
            row = row.parent
        return row

    @staticmethod
    def input_of(row: _Row) -> str | None:
        """The op whose output a list (a group, the root) starts from, as `from: input` reads
        it inside; None when its first row joins several."""
        if row.parent is None:
            return INPUT
        first = row.first_op()
        return first.inputs[0] if len(first.inputs) == 1 else None

    def ref(self, op_id: str, reader: _Row) -> str:
        """The shortest name the engine resolves, from `reader`'s place, to `op_id`'s row:
        `input` for the input of the reader's list."""
        assert reader.parent is not None
        if op_id == self.input_of(reader.parent):
            return INPUT
        row = self.target(op_id, reader)
        if row is None:
            raise CnnCalcError(f"{reader.path} reads the network's input from inside a block; "
                               "cnncalc can name only the input of the enclosing list")
        chain = self._ancestors(reader)  # innermost list first
        shadows: list[str] = []
        for index, holder in enumerate(chain):
            prefix = holder.path
            if prefix and not row.path.startswith(prefix + "."):
                continue
            relative = row.path[len(prefix) + 1:] if prefix else row.path
            first = relative.split(".")[0]
            if index and chain[index - 1].name == first:
                break  # a path through a row that holds the reader: the engine refuses it
            inner = chain[:index]
            shadows = [f"{lst.path}.{first}" if lst.path else first for lst in inner
                       if first in {c.name for c in lst.children}]
            if shadows:
                continue  # a nearer list has a row of that name: it would be found first
            return relative
        why = f": the nearer row {shadows[0]!r} takes its name" if shadows else ""
        raise CnnCalcError(f"{reader.path} reads {row.path}, which no from: can name from "
                           f"there{why} (names are looked up in the enclosing lists, innermost "
                           "first, and a path may not go through a row that holds the reader)")

    # -- writing
    def inputs_of(self, row: _Row) -> list[str]:
        """The ops a row reads from outside itself, for its first op."""
        return self.flow_inputs(row.first_op())

    @staticmethod
    def flow_inputs(op: Op) -> list[str]:
        return list(op.inputs)

    def entry(self, row: _Row, previous: str | None, lines: list[str], indent: str) -> str:
        """Write `row` as a list item (reading `previous`'s output when it needs no `from:`);
        the op id of its output."""
        settings: list[str] = []
        first = row.first_op()
        reads = list(first.inputs)
        if row.op is not None and row.op.kind in ("add", "concat"):
            settings.append(f"from: [{', '.join(_quote(self.ref(i, row)) for i in reads)}]")
        elif len(reads) != 1 and row.op is None:
            pass  # a group that starts with a join: its first row names what it joins
        elif len(reads) != 1:
            raise CnnCalcError(f"{row.path}: {first.kind} reads {len(reads)} inputs; only add "
                               "and concat join several")
        elif reads[0] != previous:
            settings.append(f"from: {_quote(self.ref(reads[0], row))}")
        if row.op is not None:
            body = [self.kind_line(row.op)]
            if not row.op.trainable:
                settings.append("trainable: false")
        else:
            body = self.group_body(row)
        if all(op.training_only for op in row.ops()) and not (
                row.parent is not None and row.parent.parent is not None
                and all(op.training_only for op in row.parent.ops())):
            settings.append("training_only: true")
        name = f"name: {_quote(row.name)}"
        if body[0].startswith("- "):  # a list body: a seq
            lines.append(f"{indent}- seq:")
            lines.extend(f"{indent}    {line}" for line in body)
        else:
            lines.append(f"{indent}- {body[0]}")
            lines.extend(f"{indent}  {line}" for line in body[1:])
        lines.extend(f"{indent}  {line}" for line in (name, *settings))
        return row.last_op().id

    def group_body(self, row: _Row) -> list[str]:
        """A group as the lines of a seq's list, or `repeat`/block forms (first line is
        then the kind line)."""
        repeated = self.repeat(row)
        if repeated is not None:
            return repeated
        block = self.block_of.get(id(row)) if self.mode in ("plain", "template") else None
        if block is None:
            return self.list_lines(row)
        if self.mode == "template":  # a use inside another block's body: its arguments
            # are what that body writes at the places they come from
            texts = []
            for arg, (index, key) in block.sources.items():
                op = row.ops()[index]
                text = self.template[op.id].get(key)
                if text is None:  # the same in every use of the outer block, left out there
                    text = _value(block.uses[id(row)][arg])
                texts.append(f"{arg}: {text}")
            inner = ", ".join(texts)
        else:
            inner = ", ".join(f"{k}: {_value(v)}" for k, v in block.uses[id(row)].items())
        if block.name not in self.blocks:  # its body, written once: from its first member
            saved = self.mode, self.template
            self.mode = "template"
            self.template = {op.id: fields for op, fields in
                             zip(block.members[0].ops(), block.template, strict=True)}
            try:
                self.blocks[block.name] = (block.args, self.list_lines(block.members[0]))
            finally:
                self.mode, self.template = saved
        return [f"{block.name}: {{{inner}}}"]

    def kind_line(self, op: Op) -> str:
        """`conv: {filters: 64, kernel: 3}`, `relu: {}`, `concat:`; in a block's body its
        fields as the block writes them (`filters: $filters`); in a skeleton no values."""
        if op.kind in ("add", "concat"):
            return f"{op.kind}:"
        if self.mode == "skeleton":
            return f"{op.kind}: ?"
        if self.mode == "template":
            fields = self.template[op.id]
            if not fields:
                return f"{op.kind}: {{}}"
            return f"{op.kind}: {{{', '.join(f'{k}: {v}' for k, v in fields.items())}}}"
        return _kind_line(op)

    def list_lines(self, row: _Row) -> list[str]:
        lines: list[str] = []
        previous = self.inputs_of(row)[0] if len(self.inputs_of(row)) == 1 else None
        for child in row.children:
            previous = self.entry(child, previous, lines, "")
        return lines

    def external(self, row: _Row) -> bool:
        """Whether an op below `row` reads an op outside it other than its list's input (which
        `from: input`, or the flow into the list's first row, reads alike in every copy)."""
        inside = {op.id for op in row.ops()}
        for op in row.ops():
            holder = self.row_of[op.id].parent
            assert holder is not None
            allowed = self.input_of(holder)
            if any(source not in inside and source != allowed for source in op.inputs):
                return True
        return False

    def repeat(self, row: _Row) -> list[str] | None:
        """`row` as one child with `repeat: n`, when its children are `0..n-1`, alike (their
        values included), and each reads the one before."""
        children = row.children
        if len(children) < 2 or [c.name for c in children] != [str(i) for i in
                                                                 range(len(children))]:
            return None
        for index, child in enumerate(children):
            if self.external(child):
                return None
            if index and self.inputs_of(child) != [children[index - 1].last_op().id]:
                return None
        if self.mode in ("skeleton", "template"):  # alike by their values, not the skeleton
            mode, self.mode = self.mode, "full"
            try:
                alike = self.repeat(row) is not None
            finally:
                self.mode = mode
            if not alike:
                return None
        texts = []
        for child in children if self.mode in ("plain", "full") else children[:1]:
            lines: list[str] = []
            self.entry(child, self.inputs_of(child)[0] if len(self.inputs_of(child)) == 1
                       else None, lines, "")
            texts.append([line for line in lines if not line.startswith(("  name: ",
                                                                          "  from: "))])
        if any(text != texts[0] for text in texts[1:]):
            return None
        return [*(line[2:] if i == 0 else line for i, line in enumerate(texts[0])),
                f"repeat: {len(children)}"]

    # -- blocks
    def skeleton(self, row: _Row) -> str:
        """A group's list written out in full without its values: the groups that could be
        one block with arguments have equal skeletons."""
        mode, self.mode = self.mode, "skeleton"
        try:
            return "\n".join(self.list_lines(row))
        finally:
            self.mode = mode

    def plan_blocks(self) -> None:
        """Which groups are uses of which block: groups whose lists differ at most in numbers
        (filters, strides, rates) become one block with those numbers as arguments, when two
        or more of them are written (not inside another block's body)."""
        groups: list[_Row] = []

        def visit(row: _Row) -> None:
            for child in row.children:
                if child.op is None:
                    groups.append(child)
                    visit(child)
        visit(self.root)
        by_skeleton: dict[str, list[_Row]] = {}
        for group in groups:
            # a block holds layers of its own: a list of groups only (a stage of blocks)
            # stays a list of uses
            if len(group.children) >= 2 and any(c.op is not None for c in group.children) \
                    and not self.external(group):
                by_skeleton.setdefault(self.skeleton(group), []).append(group)
        for members in by_skeleton.values():
            if len(members) > 1:
                for part in _alike(members):
                    if len(part) > 1:
                        block = self.make_block(part)
                        for group in block.members:
                            self.block_of[id(group)] = block
        while True:  # a block written as a use once only is no block: its list is written
            uses: dict[int, int] = {}
            for group in groups:
                block = self.block_of.get(id(group))
                if block is not None and self.written(group):
                    uses[id(block)] = uses.get(id(block), 0) + 1
            once = {id(b) for b in self.made if uses.get(id(b), 0) < 2}
            if not once:
                break
            self.made = [b for b in self.made if id(b) not in once]
            self.block_of = {k: b for k, b in self.block_of.items() if id(b) not in once}
        self.name_blocks()

    def written(self, group: _Row) -> bool:
        """Whether a group is written out (as a list or a use): not inside a block's use
        other than its first member (whose list is the block's body)."""
        for holder in self._ancestors(group):
            block = self.block_of.get(id(holder))
            if block is not None and block.members[0] is not holder:
                return False
        return True

    def name_blocks(self) -> None:
        """Blocks are named after their modules' class (`bottleneck`); of several with one
        class, the one with the fewest rows has the plain name, the others add a row only
        they have (`bottleneck_downsample`) or a number."""
        by_base: dict[str, list[_Block]] = {}
        for block in self.made:
            base = re.sub(r"[^A-Za-z0-9_]", "_", (block.members[0].cls or "block").lower())
            by_base.setdefault(base or "block", []).append(block)
        for base, blocks in by_base.items():
            blocks.sort(key=lambda b: len(b.members[0].children))
            plain = {c.name for c in blocks[0].members[0].children}
            for index, block in enumerate(blocks):
                extra = [c.name for c in block.members[0].children if c.name not in plain
                         and _PLAIN.match(c.name)]
                name = base if index == 0 else f"{base}_{extra[0]}" if extra else base
                n = 1
                while name in self.names or name in self.taken:
                    n += 1
                    name = f"{base}_{n}"
                self.names.add(name)
                block.name = name

    def make_block(self, members: list[_Row]) -> _Block:
        """A block of `members` (alike but for numbers): its arguments, each op's fields as
        the body writes them, and each use's arguments."""
        positions = _filled(members)  # per op: per member, its fields with defaults filled
        args: dict[str, str] = {}
        vectors: dict[tuple[Any, ...], str] = {}  # values across members -> its text
        template: list[dict[str, str]] = []
        uses: dict[int, dict[str, Any]] = {id(m): {} for m in members}
        sources: dict[str, tuple[int, str]] = {}
        origin: dict[str, str] = {}  # `$arg` -> the field it was made for
        first_ops = members[0].ops()
        for index, per_member in enumerate(positions):
            op = first_ops[index]
            fields: dict[str, str] = {}
            for key in per_member[0]:
                values = tuple(f[key] for f in per_member)
                if all(v == values[0] for v in values):
                    if key in op.fields:
                        fields[key] = _value(values[0])
                    continue
                text = vectors.get(values)
                if text is None:  # a multiple of an argument of the same field
                    text = _multiple(values, {v: t for v, t in vectors.items()
                                              if origin.get(t) == key})
                if text is None:
                    where = self.row_of[op.id].path[len(members[0].path) + 1:]
                    name = _arg_name(key, where.replace("-", "_").split("."), args)
                    args[name] = "channels" if key in _CHANNELS and all(
                        isinstance(v, int) for v in values) else "required"
                    for member, value in zip(members, values, strict=True):
                        uses[id(member)][name] = value
                    sources[name] = (index, key)
                    text = f"${name}"
                    vectors[values] = text
                    origin[text] = key
                fields[key] = text
            template.append(fields)
        block = _Block("", members, args, template, uses, sources)
        self.made.append(block)
        return block

    def write(self, name: str, input_shape: tuple[int, ...], description: str,
              header: list[str]) -> str:
        self.build()
        self.plan_blocks()
        layers: list[str] = []
        previous: str | None = INPUT
        for child in self.root.children:
            previous = self.entry(child, previous, layers, "  ")
        out = [*(f"# {line}" for line in header), f"name: {_quote(name)}"]
        if description:
            out.append(f"description: {json.dumps(description)}")
        out.append(f"input: {'x'.join(map(str, input_shape))}")
        outputs = self.output_refs()
        if outputs is not None:
            out.append(f"outputs: [{', '.join(_quote(o) for o in outputs)}]")
        if self.blocks:
            out.append("blocks:")
            for block, (args, lines) in self.blocks.items():
                out.append(f"  {block}:")
                line = f"    args: {{{', '.join(f'{k}: {v}' for k, v in args.items())}}}"
                if args and len(line) <= 100:
                    out.append(line)
                elif args:  # one a line
                    out.append("    args:")
                    out.extend(f"      {k}: {v}" for k, v in args.items())
                out.append("    layers:")
                out.extend(f"      {line}" for line in lines)
        out.append("layers:")
        out.extend(layers)
        return "\n".join(out) + "\n"

    def output_refs(self) -> list[str] | None:
        """The outputs as top-level paths, or None when the last row is the only output."""
        read = {source for op in self.ops for source in op.inputs}
        last = self.root.children[-1].last_op().id
        heads = [op.id for op in self.ops if op.training_only and op.id not in read]
        unread = [op.id for op in self.ops if op.id not in read and op.id not in self.outputs
                  and op.id != last and not op.training_only]
        if unread:
            raise CnnCalcError(
                "the model computes outputs it never uses or returns: " + ", ".join(
                    f"{self.row_of[i].path} ({self.row_of[i].op.kind})"  # type: ignore
                    for i in unread[:8]) + ("..." if len(unread) > 8 else ""))
        if self.outputs == [last]:
            return None  # the engine's default: the last row and the training-only heads
        paths = []
        for op_id in [*self.outputs, *heads]:
            if op_id == INPUT:
                raise CnnCalcError("the model returns its input unchanged")
            row = self.row_of[op_id]
            while row.parent is not None and row.parent.parent is not None \
                    and row.parent.children[-1] is row:
                row = row.parent
            paths.append(row.path)
        return paths


def to_spec(ops: list[Op], input_shape: tuple[int, ...], name: str, outputs: list[str],
            description: str = "", header: list[str] | None = None) -> tuple[str, dict[str, str]]:
    """The YAML text of a spec of `ops` (in execution order) on `input_shape` (HxWxC or a
    vector), returning `outputs` (op ids, in the model's order); and each op's row path."""
    from ..core.layers import KINDS

    if not ops:
        raise CnnCalcError("the model has no operations to import")
    writer = _Writer(ops, outputs)
    writer.taken = writer.taken | frozenset(KINDS)  # a block named `conv` would read as one
    text = writer.write(name, input_shape, description, header or [])
    return text, {op_id: row.path for op_id, row in writer.row_of.items()}
