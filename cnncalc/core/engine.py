"""The engine: walks a parsed spec with shapes, expands blocks, and counts.

Pure Python; it never imports torch. Shapes propagate with `floor((n + 2p - f) / s) + 1`
(see `formulas`), every layer kind's rules live in `layers`, and the result is a `Report`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar
from weakref import WeakKeyDictionary

from ..errors import CnnCalcError, suggest
from . import expr, units
from .formulas import chunk_sizes
from .layers import KINDS, MERGES, Shape, fmt_shape, prod
from .loader import paused_gc
from .report import Node, Report, Totals
from .shapes import channels_first, refuse_channels_first
from .spec import (
    INPUT,
    Entry,
    Join,
    Leaf,
    Parallel,
    Residual,
    Seq,
    Spec,
    Use,
    misplaced,
    shortcut_name,
)
from .units import DTYPE_BYTES
from .validate import fields_key, validate_leaf

_T = TypeVar("_T", Node, Totals)

# Bounds that keep hostile specs within 2 s and 200 MB in every command and format: work is
# bounded by the rows computed, not by what is declared. Every row counts (a layer, a merge, a
# post-activation, and the row of each repeat, block, seq, shortcut and branch), so empty
# sequences repeated millions of times are refused as fast as millions of layers. The
# heaviest output (`explain -f json`) takes about 0.9 s and 100 MB for 10,000 rows; the
# largest real networks have a few thousand (EfficientNet-B7: about 800). Each level of
# nesting costs ~5 Python frames (of the 1000 Python allows).
MAX_ROWS = 10_000
MAX_DEPTH = 100
#: Expression work per analysis, in syntax-tree nodes evaluated (see `expr.budget`).
MAX_EXPRESSION_STEPS = 2_000_000
# Counts stay exact integers at any size, but past a googol they are surely a typo (units).
MAX_COUNT = units.MAX_COUNT


def analyze(spec: Spec, input_shape: Shape | None = None, batch: int = 1,
            dtype: str = "fp32") -> Report:
    """Propagate shapes through `spec` and count everything, per layer and in total."""
    if input_shape is not None and channels_first(input_shape):
        try:  # an API caller's (3, 224, 224): the same refusal as `--input` and `input:`
            refuse_channels_first(input_shape)
        except ValueError as exc:
            raise CnnCalcError(f"input_shape: {exc}").located(file=spec.file) from None
    return analyze_at(spec, tuple(input_shape or spec.input_shape), batch, dtype)


def analyze_at(spec: Spec, shape: Shape, batch: int, dtype: str) -> Report:
    """`analyze` at an input shape cnncalc computed itself (`resolution`'s sizes): without
    the guard against a mistyped channels-first size (`3x28x192`), which is for sizes people
    write and would refuse a 3x28 input of 192 channels."""
    if batch < 1:
        raise CnnCalcError(f"batch must be at least 1, got {batch}")
    if dtype not in DTYPE_BYTES:
        raise CnnCalcError(f"unknown dtype {dtype!r}{suggest(dtype, DTYPE_BYTES)}; "
                           f"use one of {', '.join(DTYPE_BYTES)}")
    if prod(shape) > MAX_COUNT:
        raise CnnCalcError(f"the input {fmt_shape(shape)} has more than 10^100 values"
                           ).located(file=spec.file)
    walker = _Walker(spec, _plan_of(spec))
    top = _Scope()
    try:
        with paused_gc(), expr.budget(MAX_EXPRESSION_STEPS):
            nodes, _ = walker.seq(spec.layers, shape, Frame(dict(spec.vars)), scope=top)
    except RecursionError:  # a backstop: MAX_DEPTH should refuse such specs first
        raise CnnCalcError(f"the spec nests more deeply than cnncalc can follow "
                           f"(at most {MAX_DEPTH} levels)").located(file=spec.file) from None
    totals = _accumulate(Totals(), nodes)
    report = Report(spec.name, spec.description, shape, nodes, totals, batch, dtype, spec.file,
                    walker.count)
    if walker.training_only:
        report.training_only = _accumulate(Totals(), list(_outermost_training_only(nodes)),
                                           inference=False)
    report.outputs = walker.outputs(nodes, top, spec)
    report.notes = list(spec.notes)
    walker.keep()  # before `freeze_until` changes the report's rows
    if spec.freeze_until:
        from .freeze import freeze_until

        try:
            freeze_until(report, spec.freeze_until)
        except CnnCalcError as exc:
            raise exc.located(file=spec.file, line=spec.freeze_line) from None
    return report


def _accumulate(target: _T, nodes: list[Node], inference: bool = True) -> _T:
    """Set a block's node's or the totals' counts to the sum of the nodes' (a block's own
    row counts nothing but its children; its add is a child row). With `inference`, a
    training-only node's MACs, activations and element-wise ops are left out (its params and
    buffers count everywhere): in the totals and in every block but a training-only one."""
    params = trainable = buffers = activations = macs = elementwise = 0
    for node in nodes:
        params += node.params
        trainable += node.trainable_params
        buffers += node.buffers
        if inference and node.training_only:
            continue
        activations += node.activations
        macs += node.macs
        elementwise += node.elementwise
    target.params = params
    target.trainable_params = trainable
    target.buffers = buffers
    target.activations = activations
    target.macs = macs
    target.elementwise = elementwise
    return target


def _outermost_training_only(nodes: list[Node]) -> Iterator[Node]:
    """The training-only rows not inside another one (whose counts already hold them)."""
    for node in nodes:
        if node.training_only:
            yield node
        else:
            yield from _outermost_training_only(node.children or [])


def _sum_into(node: Node, children: list[Node]) -> Node:
    node.children = children
    return _accumulate(node, children, inference=not node.training_only)


def _clip_path(path: str, limit: int = 80) -> str:
    """A dotted path short enough for a one-line message (deep nesting makes long ones)."""
    return path if len(path) <= limit else "..." + path[-(limit - 3):]


#: One instance per merge kind (models are frozen), made on first use.
_MERGE_OF: dict[str, Any] = {}


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


class Frame(NamedTuple):
    """Where the walk is: the variables in scope, the path of the enclosing entry ("" at the
    top), the depth of the entries walked here, whether their layers train, and the blocks
    being expanded (a block that uses itself is refused). A tuple: one is made per list and
    per container walked."""

    env: dict[str, Any]
    parent: str = ""
    depth: int = 0
    trainable: bool = True
    stack: tuple[str, ...] = ()
    #: the lists enclosing this entry, outermost first: where `from:` looks names up
    scopes: tuple[_Scope, ...] = ()
    training_only: bool = False

    def inside(self, path: str, levels: int = 1, env: dict[str, Any] | None = None) -> Frame:
        """The frame of entries `levels` deeper, under `path` (with `env`, if given)."""
        return Frame(self.env if env is None else env, path, self.depth + levels,
                     self.trainable, self.stack, self.scopes, self.training_only)

    def listing(self, scope: _Scope) -> Frame:
        """The frame of the entries of a list: `scope` is the innermost list."""
        return Frame(self.env, self.parent, self.depth, self.trainable, self.stack,
                     (*self.scopes, scope), self.training_only)

    def of(self, entry: Entry) -> Frame:
        """The frame `entry` is walked in: its own `trainable` and `training_only` applied."""
        if entry.trainable is None and not entry.training_only:
            return self
        return Frame(self.env, self.parent, self.depth,
                     self.trainable if entry.trainable is None else entry.trainable,
                     self.stack, self.scopes, self.training_only or entry.training_only)

    def expanding(self, block: str, env: dict[str, Any]) -> Frame:
        """The frame of the body of `block`, whose variables are `env`."""
        return Frame(env, self.parent, self.depth, self.trainable, (*self.stack, block),
                     self.scopes, self.training_only)


class _Scope:
    """One list of entries being walked: the rows its entries made so far, by name, and the
    names of the entries still to come (a `from:` naming one of them reads forward)."""

    __slots__ = ("rows", "later", "_input", "_made")

    def __init__(self) -> None:
        self.rows: dict[str, Node] = {}
        self.later: set[str] = set()
        self._made: tuple[str, Shape, bool] | None = None
        self._input: Node | None = None

    def start(self, parent: str, shape: Shape, training_only: bool) -> None:
        """Begin a list at `parent` fed `shape`; its input node is made when first read."""
        self._made, self._input = (parent, shape, training_only), None

    @property
    def input(self) -> Node | None:
        """The list's input, as `from: input` reads it (not a row of the report)."""
        if self._input is None and self._made is not None:
            parent, shape, training_only = self._made
            # `PATH.input` (`input` at the top): no row has that path, `input` is no row's name
            self._input = Node(INPUT, _join(parent, INPUT), INPUT, 0, 0, shape, shape,
                               training_only=training_only)
        return self._input


def _too_many_rows() -> CnnCalcError:
    return CnnCalcError(f"the spec expands to more than {MAX_ROWS:,} rows (layers, repeats, "
                        f"blocks and branches); cnncalc computes at most {MAX_ROWS:,}")


@dataclass(slots=True)
class _Expansion:
    """A block use's rows, walked once: copied for each later use with the same key."""

    node: Node
    rows: int  # rows made (MAX_ROWS)
    count: int  # layers, merges and post-activations (`Report.layer_count`)
    span: int  # the levels below the block's row (MAX_DEPTH)
    steps: int  # the expression work of the walk (`expr.budget`)


class _Plan:
    """What the analyses of one spec share: the block uses already expanded, by their key
    (`_Walker.expansion_key`), and which blocks read rows by `from:`. A spec never changes
    once loaded (its classes are frozen), and an expansion's rows follow from its key alone,
    so a later analysis copies them as the walk of one analysis copies a block used again.

    The templates are copies of the rows, made when the analysis that walked them ends: no
    report holds them, so nothing a caller (or `freeze_until`) does to a report reaches
    them. Only a spec's second analysis and later ones keep what they walk (a command that
    analyses a spec once pays nothing for copies), up to `MAX_PLAN_ROWS` rows per spec."""

    __slots__ = ("expanded", "contained", "analyses", "rows")

    def __init__(self) -> None:
        self.expanded: dict[Any, _Expansion] = {}
        self.contained: dict[str, bool] = {}  # block name -> `self_contained`
        self.analyses = 0  # analyses of the spec begun (`_Walker` counts itself)
        self.rows = 0  # the rows of the templates kept


#: The rows of block expansions kept per spec between analyses (a few MB; ResNet-50 at one
#: input size keeps about 100).
MAX_PLAN_ROWS = 20_000
_PLANS: WeakKeyDictionary[Spec, _Plan] = WeakKeyDictionary()


def _fits(done: _Expansion, depth: int) -> bool:
    """Whether a copy of `done` at `depth` stays within MAX_DEPTH (else it is walked again,
    and the walk refuses what nests too deeply, naming the row)."""
    return depth + done.span + 2 <= MAX_DEPTH


def _plan_of(spec: Spec) -> _Plan:
    plan = _PLANS.get(spec)
    if plan is None:
        plan = _PLANS[spec] = _Plan()
    return plan


def _copy_node(node: Node, name: str, path: str, root: str, cut: int, shift: int) -> Node:
    """`node` and its rows again, renamed `name` at `path`, `shift` levels deeper; the rows
    below are at `root` and their old paths after the first `cut` characters."""
    children = None if node.children is None else [
        _copy_node(c, c.name, root + c.path[cut:], root, cut, shift) for c in node.children]
    return _like(node, name, path, node.depth + shift, children)


def _like(node: Node, name: str, path: str, depth: int, children: list[Node] | None) -> Node:
    """A new row with `node`'s counts and shapes, named `name` at `path` and `depth`."""
    return Node(name, path, node.kind, depth, node.line, node.input_shape, node.output_shape,
                node.params, node.trainable_params, node.buffers, node.activations, node.macs,
                node.elementwise, node.trainable, node.layer, children, list(node.inputs),
                node.container, list(node.sources), node.training_only,
                None if node.split is None else list(node.split), node.lint, node.file,
                node.written_as)


class _Walker:
    def __init__(self, spec: Spec, plan: _Plan):
        self.spec = spec
        self.plan = plan
        self.count = 0  # layers, merges and post-activations: the report's layer count
        self.rows = 0  # every node made, groups included: what MAX_ROWS bounds
        self.read: set[Node] = set()  # the nodes whose output something reads
        self.ends: set[Node] = set()  # the nodes that end nothing: outputs unless read
        #: block uses expanded in this analysis, by what decides their rows (see `use`);
        #: those walked here (not taken from the plan) are kept by `keep`
        self.expanded: dict[Any, _Expansion] = {}
        self.walked: list[Any] = []
        self.contained = plan.contained  # block name -> `self_contained`
        self.training_only = False  # whether an entry is training-only (its rows are)
        plan.analyses += 1

    def keep(self) -> None:
        """Keep, for the spec's later analyses, private copies of the expansions walked
        here (from its second analysis on, each that fits within MAX_PLAN_ROWS)."""
        plan = self.plan
        if plan.analyses < 2:
            return
        for key in self.walked:
            done = self.expanded[key]
            if plan.rows + done.rows <= MAX_PLAN_ROWS:
                node = done.node
                plan.expanded[key] = _Expansion(
                    _copy_node(node, node.name, node.path, node.path, len(node.path), 0),
                    done.rows, done.count, done.span, done.steps)
                plan.rows += done.rows

    def node(self, *args: Any, **fields: Any) -> Node:
        """A new row of the report, refused past MAX_ROWS."""
        self.made()
        return Node(*args, **fields)

    def made(self) -> None:
        """Count a row about to be made; refused past MAX_ROWS."""
        self.rows += 1
        if self.rows > MAX_ROWS:
            raise _too_many_rows()

    # -- helpers
    def varies(self, entry: Entry, top: bool = False) -> bool:
        """Whether passes of a repeat may make different rows: a `when`, a repeat or a
        residual's `add` given by an expression, inside `entry` or a block it uses (the
        repeated entry's own `when` and `repeat` are read once, `top`). Asked after a first
        pass went through: every block it uses exists, and none uses itself."""
        if not top and (entry.when is not None or expr.is_expression(entry.repeat)):
            return True
        if isinstance(entry, Seq):
            return any(self.varies(e) for e in entry.children)
        if isinstance(entry, Residual):
            return expr.is_expression(entry.add) or any(
                self.varies(e) for e in (*entry.body, *entry.shortcut))
        if isinstance(entry, Parallel):
            return any(self.varies(e) for branch in entry.branches for e in branch)
        if isinstance(entry, Use):
            return self.varies(self.spec.blocks[entry.kind].body)
        return False

    def env_at(self, env: dict[str, Any], shape: Shape) -> dict[str, Any]:
        """The variables of `env` with the shape's (`in_height`, `in_width`, `in_channels`)
        and the repeat index `i` (0 outside a repeat)."""
        scoped = env.copy()
        if len(shape) == 3:
            scoped["in_height"], scoped["in_width"], scoped["in_channels"] = shape
        else:
            scoped["in_channels"] = shape[0]
        if "i" not in scoped:
            scoped["i"] = 0
        return scoped

    def value(self, value: Any, env: dict[str, Any]) -> Any:
        return expr.evaluate(value, env) if expr.is_expression(value) else value

    def truth(self, value: Any, env: dict[str, Any], what: str) -> bool:
        result = self.value(value, env)
        if not isinstance(result, (bool, int)):
            raise CnnCalcError(f"{what} must be true or false, got {result!r}")
        return bool(result)

    # -- taps
    def resolve(self, ref: Any, frame: Frame, env: dict[str, Any]) -> Node:
        """The row `from:` names: a name in the enclosing lists (innermost first), then a
        dotted path down its rows (`layer3.0.conv1`); `input` is the input of the list the
        entry is in (at the top level, the network's input; in a block, the block's)."""
        ref = self.value(ref, env)
        if not isinstance(ref, str) or not ref:
            raise CnnCalcError(f"from: {ref!r} is not a layer's name")
        if ref == INPUT:
            found = frame.scopes[-1].input
            assert found is not None
            return found
        first, *rest = ref.split(".")
        node = None
        for scope in reversed(frame.scopes):
            if first in scope.rows:
                node = scope.rows[first]
                break
            if first in scope.later:
                raise CnnCalcError(f"from: '{ref}': '{first}' comes later or holds this "
                                   "layer; a layer takes input only from layers before it")
        if node is None:
            visible = [n for scope in frame.scopes for n in scope.rows]
            raise CnnCalcError(f"from: no earlier layer named '{first}'"
                               f"{suggest(first, [*visible, INPUT])}")
        for part in rest:
            children = node.children or []
            found = next((c for c in children if c.name == part), None)
            if found is None:
                names = [c.name for c in children]
                raise CnnCalcError(
                    f"from: '{ref}': '{node.path}' has no row '{part}'{suggest(part, names)}"
                    + (f" (its rows: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
                       if names and not suggest(part, names) else ""))
            node = found
        return node

    def reads(self, source: Node, frame: Frame, what: str) -> None:
        """Record that a row of `frame` reads `source`'s output."""
        if source.training_only and not frame.training_only:
            raise CnnCalcError(f"{what} '{source.path}' runs only in training; a layer that "
                               "also runs at inference cannot read it (mark it training_only, "
                               "or take its input with from:)")
        self.read.add(source)

    def outputs(self, nodes: list[Node], top: _Scope, spec: Spec) -> list[Node]:
        """The network's outputs: `outputs:` resolved at the top level, or every row whose
        output nothing reads, in the order of the table. A row nothing reads that `outputs:`
        leaves out is an error: its layers would be counted but lead nowhere."""
        if nodes:
            self.ends.add(nodes[-1])
        unread = list(self.ends - self.read)
        if len(unread) > 1:  # in the order of the table
            unread = [n for top_node in nodes for n in top_node.walk()
                      if n in self.ends and n not in self.read]
        if spec.outputs is None:
            found = unread
        else:
            frame = Frame(dict(spec.vars), scopes=(top,))
            found = []
            for ref in spec.outputs:
                try:
                    node = self.resolve(ref, frame, frame.env)
                except CnnCalcError as exc:
                    raise exc.located(file=spec.file, line=spec.outputs_line,
                                      layer="outputs") from None
                if node is top.input or node in found:
                    raise CnnCalcError(f"outputs: '{ref}' is "
                                       + ("the input" if node is top.input else "listed twice")
                                       ).located(file=spec.file, line=spec.outputs_line)
                found.append(node)
            unused = [n.path for n in unread if n not in found]
            if unused:
                raise CnnCalcError(
                    f"outputs: nothing reads the output of {', '.join(map(repr, unused))}: list "
                    "it under outputs, take it with from:, or remove it"
                ).located(file=spec.file, line=spec.outputs_line)
        if not any(not n.training_only for n in found):
            # at `outputs:` when it names them, else at the last row (the output it found)
            row = found[-1] if spec.outputs is None and found else None
            raise CnnCalcError("every output runs only in training: the network has no output "
                               "at inference").located(
                file=row.file if row else spec.file,
                line=row.line if row else spec.outputs_line)
        return found

    # -- lists of entries
    def seq(self, entries: Sequence[Entry], shape: Shape, frame: Frame,
            reserved: frozenset[str] = frozenset(),
            scope: _Scope | None = None) -> tuple[list[Node], Shape]:
        """`reserved`: names of rows the container adds beside these entries (a residual's
        add, shortcut and activation); no entry may take one, generated names skip them.
        The list's last row gives its output; a row before it that nothing reads (a side
        head taken with `from:`) is an output of the network."""
        if frame.depth > MAX_DEPTH:
            raise CnnCalcError(f"blocks nest more than {MAX_DEPTH} levels deep")
        parent = frame.parent
        nodes: list[Node] = []
        named = {e.name for e in entries if e.name}
        taken = named | reserved
        counts: dict[str, int] = {}
        scope = scope or _Scope()
        scope.later = named
        scope.start(parent, shape, frame.training_only)
        frame = frame.listing(scope)
        previous: Node | None = None
        made = scope.rows  # the names taken so far
        for position, entry in enumerate(entries, 1):
            path = None  # known once the entry has its name; the error label uses it
            try:
                here = frame.of(entry)
                if entry.training_only:
                    self.training_only = True
                sources: list[Node] = []
                inputs: list[Shape] | None = None
                given = shape
                if entry.sources is not None:
                    env = self.env_at(frame.env, shape)
                    try:
                        sources = [self.resolve(ref, here, env) for ref in entry.sources]
                    except CnnCalcError:
                        # a row dropped by `when` need not find what it would read (its
                        # `when` then sees the shape of the row before it)
                        if entry.when is None or self.truth(entry.when, env, "when"):
                            raise
                        if entry.name:
                            scope.later.discard(entry.name)
                        continue
                    if len(sources) > 1 and not isinstance(entry, Join):
                        raise CnnCalcError("from: only add and concat take several inputs; "
                                           "give one name")
                    inputs = [s.output_shape for s in sources]
                    given = inputs[0]
                if entry.when is not None and not self.truth(
                        entry.when, self.env_at(frame.env, given), "when"):
                    if entry.name:
                        scope.later.discard(entry.name)
                    continue
                if sources:
                    for source in sources:
                        self.reads(source, here, "from:")
                elif previous is not None:
                    if previous.training_only:
                        self.reads(previous, here, "the layer before,")  # may be refused
                    else:
                        self.read.add(previous)
                name = entry.name
                if name is None:
                    while True:
                        counts[entry.kind] = counts.get(entry.kind, 0) + 1
                        name = f"{entry.kind}{counts[entry.kind]}"
                        if name not in taken:
                            break
                if name in made or name in reserved:
                    raise CnnCalcError(f"the name '{name}' is used twice in "
                                       f"{repr(parent) if parent else 'the top level'}")
                path = _join(parent, name)
                if entry.repeat is None and isinstance(entry, Leaf):  # most entries
                    node, shape = self.leaf(entry, name, path, given, here)
                else:
                    node, shape = self.entry(entry, name, path, given, here, inputs)
                node.sources = [s.path for s in sources] if sources else []
                node.lint, node.file = entry.lint, entry.file
            except CnnCalcError as exc:
                # the path already names the parent: `layer 2 'a.b.a' (a)`
                label = (f"layer {position} '{_clip_path(path)}' ({entry.kind})" if path
                         else f"layer {position}" + (f" of '{_clip_path(parent)}'"
                                                     if parent else ""))
                raise exc.located(file=entry.file or self.spec.file, line=entry.line,
                                  layer=label) from None
            made[name] = node
            scope.later.discard(name)
            nodes.append(node)
            previous = node
        if nodes and frame.parent and nodes[-1].training_only and not frame.training_only:
            last = nodes[-1]
            raise CnnCalcError(
                f"'{last.path}' runs only in training but is the last layer of "
                f"'{_clip_path(parent)}', whose output is read at inference too; put the "
                "training-only layer before the list's last layer (taking its input with from:)"
            ).located(file=self.spec.file, line=last.line, layer=f"'{_clip_path(last.path)}'")
        self.ends.update(nodes[:-1])
        return nodes, shape

    def entry(self, entry: Entry, name: str, path: str, shape: Shape,
              frame: Frame, inputs: list[Shape] | None = None) -> tuple[Node, Shape]:
        if isinstance(entry, Join):
            if entry.repeat is not None:
                raise CnnCalcError(f"{entry.kind} joins the outputs from: names; it cannot "
                                   "repeat")
            assert inputs is not None  # the parser makes a Join only with from: [a, b, ...]
            node = self.merge(entry.kind, path, entry.line, inputs, list(entry.sources or ()),
                              f"{entry.kind} '{path}'", frame, name=name)
            node.written_as = entry.written_as
            return node, node.output_shape
        if entry.repeat is None:
            return self.single(entry, name, path, shape, frame)
        times = self.value(entry.repeat, self.env_at(frame.env, shape))
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise CnnCalcError(f"repeat must be a whole number >= 1, got {times!r}")
        if times > MAX_ROWS:
            raise CnnCalcError(f"repeat {times:,} is more than the {MAX_ROWS:,} rows "
                               "cnncalc computes")
        children = []
        out = shape
        before = self.rows
        for index in range(times):
            inner = frame.inside(path, env=dict(frame.env, i=index))
            child, out = self.single(entry, str(index), _join(path, str(index)), out, inner)
            children.append(child)
            if index == 0 and before + (self.rows - before) * times + 1 > MAX_ROWS \
                    and not self.varies(entry, top=True):
                # Fail now, not after expanding thousands of rows (nested repeats); only
                # when every pass makes the same rows (no `when`, no repeat by expression).
                # The rows then: those before, every pass's, and the repeat's own (+ 1).
                raise CnnCalcError(
                    f"repeat {times:,} of {self.rows - before:,} rows each is more than "
                    f"the {MAX_ROWS:,} rows cnncalc computes")
        group = self.node(name, path, entry.kind, frame.depth, entry.line, shape, out,
                          trainable=frame.trainable, container="repeat",
                          training_only=frame.training_only)
        return _sum_into(group, children), out

    def single(self, entry: Entry, name: str, path: str, shape: Shape, frame: Frame,
               kind: str | None = None) -> tuple[Node, Shape]:
        kind = kind or entry.kind
        if isinstance(entry, Leaf):
            return self.leaf(entry, name, path, shape, frame)
        if isinstance(entry, Use):
            return self.use(entry, name, path, shape, frame)
        self.made()  # the block's row, counted before its children's
        if isinstance(entry, Seq):
            children, out = self.seq(entry.children, shape, frame.inside(path))
        elif isinstance(entry, Residual):
            children, out = self.residual(entry, path, shape, frame)
        elif isinstance(entry, Parallel):
            children, out = self.parallel(entry, path, shape, frame)
        else:  # pragma: no cover - the parser makes no other entries
            raise AssertionError(type(entry))
        # container: seq, residual or parallel (read by memory, receptive)
        group = Node(name, path, kind, frame.depth, entry.line, shape, out,
                     trainable=frame.trainable, training_only=frame.training_only,
                     container=entry.kind)
        return _sum_into(group, children), out

    # -- leaves
    def leaf(self, entry: Leaf, name: str, path: str, shape: Shape,
             frame: Frame) -> tuple[Node, Shape]:
        layer = entry.model
        if layer is None:
            args = expr.resolve(entry.args, self.env_at(frame.env, shape))
            layer = validate_leaf(entry.kind, args)
        out = layer.output_shape(shape)
        cost = layer.cost(shape, out)
        size = prod(out)
        if max(size, cost.params, cost.macs, cost.elementwise) > MAX_COUNT:
            shown = fmt_shape(out)
            shown = shown if len(shown) <= 60 else shown[:60] + "..."
            raise CnnCalcError(f"counts past 10^100 (output {shown}); "
                               "check the sizes for a typo")
        self.count += 1
        self.made()
        trainable = frame.trainable
        node = Node(name, path, entry.kind, frame.depth, entry.line, shape, out, cost.params,
                    cost.params if trainable else 0, cost.buffers, size, cost.macs,
                    cost.elementwise, trainable, layer, training_only=frame.training_only,
                    written_as=entry.written_as)
        return node, out

    def merge(self, kind: str, path: str, line: int, shapes: list[Shape], names: list[str],
              where: str, frame: Frame, name: str | None = None) -> Node:
        """An add or concat node joining branch outputs (a container's row `PATH.KIND`, or
        the join entry `name` at `path`); shape errors name every input."""
        merge = _MERGE_OF.get(kind) or _MERGE_OF.setdefault(kind, MERGES[kind]())
        out = merge.combine(shapes)
        if out is None:
            listing = ", ".join(f"{n} gives {fmt_shape(s)}"
                                for n, s in zip(names, shapes, strict=True))
            # the lecture's rule for skip connections; parallel adds just need equal shapes
            rule = ("; the dimensions of a[l] and a[l+2] must match"
                    if kind == "add" and where.startswith("residual") else "")
            raise CnnCalcError(f"{where}: {merge.refusal}: {listing}{rule}")
        cost = merge.merge_cost(shapes, out)
        self.count += 1
        if name is None:
            name, path, depth = kind, _join(path, kind), frame.depth + 1
        else:
            depth = frame.depth
        return self.node(name, path, kind, depth, line, shapes[0], out,
                         activations=prod(out), elementwise=cost.elementwise,
                         trainable=frame.trainable, layer=merge, inputs=list(shapes),
                         training_only=frame.training_only)

    def post_activation(self, function: str | None, path: str, line: int, shape: Shape,
                        frame: Frame) -> list[Node]:
        if function is None:
            return []
        layer = validate_leaf(function, {})
        cost = layer.cost(shape, shape)
        self.count += 1
        return [self.node(function, _join(path, function), function, frame.depth + 1, line, shape,
                          shape, activations=prod(shape), elementwise=cost.elementwise,
                          trainable=frame.trainable, layer=layer,
                          training_only=frame.training_only)]

    # -- containers
    def residual(self, entry: Residual, path: str, shape: Shape,
                 frame: Frame) -> tuple[list[Node], Shape]:
        short = shortcut_name(entry)
        # (None, for no activation or no named shortcut, is no name)
        rows = frozenset(("add", "shortcut", entry.activation, short))
        children, body_out = self.seq(entry.body, shape, frame.inside(path), rows)
        out = body_out
        if entry.add is True or self.truth(entry.add, self.env_at(frame.env, shape),
                                           "residual.add"):
            short_out = shape
            if short is not None and self.is_row(entry.shortcut[0]):
                # one named layer or list of layers: that row is the shortcut, at
                # `PATH.NAME` (torchvision's `layer2.0.downsample`), not inside `PATH.shortcut`
                sc_nodes, short_out = self.seq(entry.shortcut, shape, frame.inside(path))
                if sc_nodes:
                    sc_nodes[0].container = "shortcut"
                    children.append(sc_nodes[0])
            elif entry.shortcut:
                sc_path = _join(path, "shortcut")
                sc_nodes, short_out = self.seq(entry.shortcut, shape, frame.inside(sc_path, 2))
                if sc_nodes:
                    group = self.node("shortcut", sc_path, "seq", frame.depth + 1, entry.line,
                                      shape, short_out, trainable=frame.trainable,
                                      container="shortcut", training_only=frame.training_only)
                    children.append(_sum_into(group, sc_nodes))
            names = ["the body", "the shortcut" if entry.shortcut else "the identity shortcut"]
            node = self.merge("add", path, entry.line, [body_out, short_out], names,
                              f"residual block '{path}'" + (
                                  # inside a block, the error sits at the use; point at the
                                  # definition too, where the body and shortcut are written
                                  f" (defined in block '{frame.stack[-1]}' at line {entry.line})"
                                  if frame.stack else ""), frame)
            children.append(node)
            out = node.output_shape
        children += self.post_activation(entry.activation, path, entry.line, out, frame)
        return children, out

    def is_row(self, entry: Entry) -> bool:
        """Whether a residual's one named shortcut entry (or a parallel block's one named
        branch entry) can be that row itself: a layer, a seq, or a block whose body is a list,
        run in order. A repeat, residual or parallel keeps the `shortcut` (`branchN`) row
        around it (its `container` says how its own children connect)."""
        if entry.repeat is not None:
            return False
        if isinstance(entry, Use):
            block = self.spec.blocks.get(entry.kind)
            return block is not None and isinstance(block.body, Seq)
        return isinstance(entry, (Leaf, Seq))

    def parallel(self, entry: Parallel, path: str, shape: Shape,
                 frame: Frame) -> tuple[list[Node], Shape]:
        children: list[Node] = []
        outs: list[Shape] = []
        names: list[str] = []
        parts = self.split(entry, shape, frame) if entry.split is not None else None
        own = [branch[0].name if len(branch) == 1 and branch[0].name and self.is_row(branch[0])
               else None for branch in entry.branches]
        taken = {entry.merge, entry.activation}  # (None, for no activation, is no name)
        for index, branch in enumerate(entry.branches, 1):
            given = shape if parts is None else (*shape[:-1], parts[index - 1])
            name = own[index - 1]
            if name is not None:
                # one named layer or list of layers: that row is the branch, at `PATH.NAME`
                # (torchvision's `Mixed_5b.branch1x1`), not inside `PATH.branchN`
                if name in taken or name in {f"branch{i}" for i, o in
                                             enumerate(own, 1) if o is None}:
                    raise CnnCalcError(f"parallel block '{path}': the branch name '{name}' is "
                                       "taken by another branch or row of the block")
                nodes, out = self.seq(branch, given, frame.inside(path))
                nodes[0].container = "branch"
                children.append(nodes[0])
            else:
                name = f"branch{index}"
                b_path = _join(path, name)
                nodes, out = self.seq(branch, given, frame.inside(b_path, 2))
                group = self.node(name, b_path, "seq", frame.depth + 1, entry.line, given, out,
                                  trainable=frame.trainable, container="branch",
                                  training_only=frame.training_only)
                children.append(_sum_into(group, nodes))
            taken.add(name)
            outs.append(out)
            names.append(name)
        node = self.merge(entry.merge, path, entry.line, outs, names,
                          f"parallel block '{path}'", frame)
        node.split = parts  # read by the torch backend, from the merge's block (`_Builder`)
        children.append(node)
        children += self.post_activation(entry.activation, path, entry.line,
                                         node.output_shape, frame)
        return children, node.output_shape

    def split(self, entry: Parallel, shape: Shape, frame: Frame) -> list[int]:
        """The channels each branch of a parallel block with `split` is given."""
        c = shape[-1]
        split = self.value(entry.split, self.env_at(frame.env, shape))
        n = len(entry.branches)
        if isinstance(split, list):
            sizes = [self.value(v, self.env_at(frame.env, shape)) for v in split]
            if len(sizes) != n or not all(isinstance(v, int) and not isinstance(v, bool)
                                          and v >= 1 for v in sizes):
                raise CnnCalcError(f"parallel.split: {sizes!r} must be {n} whole channel "
                                   "counts of at least 1")
            if sum(sizes) != c:
                raise CnnCalcError(f"parallel.split: {' + '.join(map(str, sizes))} = "
                                   f"{sum(sizes)}, but the input has {c} channels")
            return sizes
        if split != n:  # (True is 1, and a parallel has two branches or more)
            raise CnnCalcError(f"parallel.split: {split!r} must be the number of branches "
                               f"({n}) or a list of {n} channel counts")
        sizes = chunk_sizes(c, n)
        if len(sizes) != n:
            raise CnnCalcError(f"parallel.split: {c} channels make only {len(sizes)} chunks "
                               f"({' + '.join(map(str, sizes))}) for {n} branches")
        return sizes

    def use(self, entry: Use, name: str, path: str, shape: Shape,
            frame: Frame) -> tuple[Node, Shape]:
        block = self.spec.blocks.get(entry.kind)
        if block is None:  # pragma: no cover - the parser refuses unknown kinds
            raise CnnCalcError(f"unknown block '{entry.kind}'")
        if entry.kind in frame.stack:
            chain = " -> ".join((*frame.stack, entry.kind))
            raise CnnCalcError(f"block '{entry.kind}' uses itself ({chain})")
        caller = None  # the variables the arguments are evaluated in, made when one is
        bound: dict[str, Any] = dict(self.spec.vars)
        for key in entry.args:
            if key not in block.args:
                raise CnnCalcError(
                    misplaced(entry.kind, key, "arguments") or
                    f"block '{entry.kind}' has no argument '{key}'{suggest(key, block.args)}"
                    f" (it takes: {', '.join(block.args) or 'none'})")
        for key, default in block.args.items():
            if key in entry.args:
                value = entry.args[key]
                if expr.is_expression(value):
                    if caller is None:
                        caller = self.env_at(frame.env, shape)
                    value = expr.evaluate(value, caller)
                bound[key] = value
            elif default in ("required", "channels"):
                raise CnnCalcError(f"block '{entry.kind}' needs the argument '{key}'")
            else:
                bound[key] = default
        inner = self.env_at(bound, shape)
        for key, value in block.let.items():
            inner[key] = self.value(value, inner)
        bound.update((k, inner[k]) for k in block.let)
        key = self.expansion_key(entry.kind, shape, frame, bound)
        # (no expansion is kept under None: such a use is walked each time)
        done = self.expanded.get(key) or self.planned(key, frame.depth)
        if done is not None and _fits(done, frame.depth):
            node = self.copy(done, name, path, frame.depth)
        else:
            rows, count, steps = self.rows, self.count, expr.steps_left()
            node, _ = self.single(block.body, name, path, shape,
                                  frame.expanding(entry.kind, bound),
                                  kind=entry.kind)
            if key is not None:
                self.expanded[key] = _Expansion(
                    node, self.rows - rows, self.count - count,
                    max(n.depth for n in node.walk()) - node.depth,
                    steps - expr.steps_left())
                self.walked.append(key)
                # The row handed on is not the template's: its container may become
                # "shortcut" or "branch", its line, file and sources are this use's. The
                # rows below it are shared; nothing changes them while the walk goes on.
                node = _like(node, name, path, node.depth, node.children)
        node.line = entry.line
        return node, node.output_shape

    # -- expanding a block once
    def expansion_key(self, kind: str, shape: Shape, frame: Frame,
                      bound: dict[str, Any]) -> Any:
        """What decides the rows of a use of block `kind` (None: it must be walked each
        time): its bound arguments and lets, its input shape, and whether it trains and runs
        only in training. A block that reads rows by `from:` also depends on where it is."""
        if kind not in self.contained:
            self.contained[kind] = self.self_contained(self.spec.blocks[kind].body, set())
        if not self.contained[kind]:
            return None
        try:
            return (kind, shape, frame.trainable, frame.training_only, fields_key(bound))
        except TypeError:  # an unhashable argument: walk it, the walk says what is wrong
            return None

    def self_contained(self, entry: Entry, seen: set[str]) -> bool:
        """Whether no row inside `entry` (or the blocks it uses) reads another by `from:`."""
        if entry.sources is not None or isinstance(entry, Join):
            return False
        if isinstance(entry, Seq):
            return all(self.self_contained(e, seen) for e in entry.children)
        if isinstance(entry, Residual):
            return all(self.self_contained(e, seen) for e in (*entry.body, *entry.shortcut))
        if isinstance(entry, Parallel):
            return all(self.self_contained(e, seen)
                       for branch in entry.branches for e in branch)
        if isinstance(entry, Use):
            block = self.spec.blocks.get(entry.kind)
            if block is None or entry.kind in seen:
                return False  # walked each time: the walk refuses it
            return self.self_contained(block.body, seen | {entry.kind})
        return True

    def planned(self, key: Any, depth: int) -> _Expansion | None:
        """The expansion an earlier analysis of the spec kept for `key`, made this
        analysis's own, when a use at `depth` can copy it. Its walk's expression work is
        spent now, as walking it would: an analysis refused for its expressions is refused
        however many ran before (when too little is left, it is walked, and the walk names
        the expression)."""
        done = self.plan.expanded.get(key)
        if done is None or not _fits(done, depth):
            return None  # walked: the walk spends its own steps
        if expr.steps_left() < done.steps:
            return None
        expr.spend(done.steps)
        self.expanded[key] = done
        return done

    def copy(self, done: _Expansion, name: str, path: str, depth: int) -> Node:
        """The rows of an expanded block again, at `path` and `depth`: the same counts and
        shapes, the same bounds (MAX_ROWS). Nothing to add to `read` and `ends`: in a block
        that reads no row by `from:`, each row of a list but the last is read by the next,
        so no row inside it is an output (`outputs`). Nor to `training_only`: such a block
        holds a training-only row only inside a training-only entry, which sets it (a
        training-only row must be a list's last, which is refused, or be read by `from:`)."""
        self.rows += done.rows
        if self.rows > MAX_ROWS:
            raise _too_many_rows()
        self.count += done.count
        template = done.node
        return _copy_node(template, name, path, path, len(template.path),
                          depth - template.depth)


__all__ = ["analyze", "KINDS"]
