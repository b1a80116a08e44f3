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

Nothing is dropped: every op is a row. An op whose output nothing reads and that is not an
output of the model is refused (its cost would count toward nothing the model returns).
"""

from __future__ import annotations

import json
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


class _Writer:
    def __init__(self, ops: list[Op], outputs: list[str]):
        self.ops = ops
        self.outputs = outputs
        self.root = _Row("", None)
        self.row_of: dict[str, _Row] = {}  # op id -> its leaf row
        self.blocks: dict[str, list[str]] = {}  # block name -> its body lines
        self.block_of: dict[str, str] = {}  # body text -> block name
        self.counts: dict[str, int] = {}  # body text -> how many groups have it
        self.texts: dict[int, str] = {}  # id(group) -> its body text, written out in full
        self.counting = False  # writing out in full: no block uses
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
                if group is None or (parent.children and parent.children[-1] is not group):
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
        for index, holder in enumerate(chain):
            prefix = holder.path
            if prefix and not row.path.startswith(prefix + "."):
                continue
            relative = row.path[len(prefix) + 1:] if prefix else row.path
            first = relative.split(".")[0]
            inner = chain[:index]
            if any(first in {c.name for c in lst.children} for lst in inner):
                continue  # a nearer list has a row of that name: it would be found first
            return relative
        raise CnnCalcError(f"cannot name the row {row.path!r} from {reader.path!r}")

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
            body = [_kind_line(row.op)]
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
        lines = self.list_lines(row)
        if self.counting or len(row.children) < 2 or self.external(row):
            return lines
        text = self.full_text(row)
        if self.counts.get(text, 0) > 1:
            name = self.block_of.get(text)
            if name is None:
                base = re.sub(r"[^A-Za-z0-9_]", "_", (row.cls or "block").lower()) or "block"
                name, n = base, 1
                while name in self.blocks or name in self.taken:
                    n += 1
                    name = f"{base}_{n}"
                self.blocks[name] = lines
                self.block_of[text] = name
            return [f"{name}: {{}}"]
        return lines

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
        """`row` as one child with `repeat: n`, when its children are `0..n-1`, alike, and each
        reads the one before."""
        children = row.children
        if len(children) < 2 or [c.name for c in children] != [str(i) for i in
                                                                 range(len(children))]:
            return None
        texts = []
        for index, child in enumerate(children):
            if self.external(child):
                return None
            if index and self.inputs_of(child) != [children[index - 1].last_op().id]:
                return None
            lines: list[str] = []
            self.entry(child, self.inputs_of(child)[0] if len(self.inputs_of(child)) == 1
                       else None, lines, "")
            texts.append([line for line in lines if not line.startswith(("  name: ",
                                                                          "  from: "))])
        if any(text != texts[0] for text in texts[1:]):
            return None
        return [*(line[2:] if i == 0 else line for i, line in enumerate(texts[0])),
                f"repeat: {len(children)}"]

    def full_text(self, row: _Row) -> str:
        """A group's list written out in full (no block uses inside): equal texts, equal
        groups."""
        key = id(row)
        if key not in self.texts:
            counting, self.counting = self.counting, True
            try:
                self.texts[key] = "\n".join(self.list_lines(row))
            finally:
                self.counting = counting
        return self.texts[key]

    def count_bodies(self) -> None:
        """How often each group's list is written out identically (blocks for the repeated)."""
        def visit(row: _Row) -> None:
            for child in row.children:
                if child.op is None:
                    visit(child)
                    if len(child.children) > 1 and not self.external(child):
                        text = self.full_text(child)
                        self.counts[text] = self.counts.get(text, 0) + 1
        visit(self.root)

    def write(self, name: str, input_shape: tuple[int, ...], description: str,
              header: list[str]) -> str:
        self.build()
        self.count_bodies()
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
            for block, lines in self.blocks.items():
                out.append(f"  {block}:")
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
