"""The linter: what in a design is wasteful or wrong, with the reason and the fix, per layer.

Each rule lives in one place: a function under `@rule(ID, reason, hint)`, which registers it
in RULES (the table `cnncalc lint` documents and `--ignore` checks against). A rule reads the
analysed Report (and the wiring of its rows, `Wiring`) and yields Hits: the row at fault and
what is wrong with it, in numbers. `lint` turns hits into Findings located at the file and
line of the row's entry, leaving out the rules a spec silences (`lint: {ignore: [ID]}` on an
entry silences the rule on that entry and on everything inside it) or the command line does
(`--ignore ID`).

The rules, in the order they run:

| id | fires on |
| --- | --- |
| bias-before-batchnorm | a conv or dense layer with a bias whose only reader is a batch norm |
| pixels-dropped | a window whose floor leaves the last input rows or columns unread |
| tensor-core-channels | at fp16/bf16 (int8), channels not a multiple of 8 (16) |
| stride-exceeds-kernel | a stride past the kernel's span: input pixels no window reads |
| window-exceeds-input | kernel weights that only meet padding, a window larger than its input |
| dense-dominates-params | one dense layer with most of the network's params |
| activation-before-add | a residual body ending in an activation, the block activating after |
| receptive-field-below-input | features pooled for the head that each see less than the input |
| repeated-layers | identical entries in a row that one entry with `repeat:` would write |
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from ..core import formulas as F
from ..core import layers as L
from ..core.report import Node, Report
from ..errors import CnnCalcError, Problem, suggest


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule's verdict on one row: what is wrong, in numbers."""

    node: Node
    message: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reason: str
    hint: str
    check: Callable[[Context], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class Finding:
    """One hit, located: the rule, the file and line of the entry, the row's path."""

    rule: str
    file: str
    line: int | None
    path: str
    message: str
    reason: str
    hint: str

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "file": self.file, "line": self.line, "layer": self.path,
                "message": self.message, "reason": self.reason, "hint": self.hint}


RULES: dict[str, Rule] = {}


def rule(id: str, reason: str, hint: str) -> Callable[[Callable[[Context], Iterator[Hit]]],
                                                      Callable[[Context], Iterator[Hit]]]:
    """Register a rule under its id, with its one-line reason and its fix hint."""
    def register(check: Callable[[Context], Iterator[Hit]]) -> Callable[[Context],
                                                                         Iterator[Hit]]:
        assert id not in RULES, id
        RULES[id] = Rule(id, reason, hint, check)
        return check
    return register


# --------------------------------------------------------------------------- the wiring

class Wiring:
    """Which rows feed which: `feeds[path]` are the rows whose outputs a row reads (None for
    the network's input), in the order the engine wires them (a residual's add: the body,
    then the shortcut; a parallel merge: its branches; `from:` as written), and
    `readers[path]` how many rows read a row's output."""

    def __init__(self, report: Report):
        self.feeds: dict[str, list[Node | None]] = {}
        self.readers: dict[str, int] = {}
        self.by_path: dict[str, Node] = {n.path: n for n in report.walk()}
        outs: dict[str, Node | None] = {"input": None}
        current: Node | None = None
        for node in report.nodes:
            current = self._visit(node, current, outs)
        self._read_by: dict[str, list[str]] = {}
        for path, sources in self.feeds.items():
            for source in sources:
                if source is not None:
                    self.readers[source.path] = self.readers.get(source.path, 0) + 1
                    self._read_by.setdefault(source.path, []).append(path)

    def _visit(self, node: Node, before: Node | None, outs: dict[str, Node | None]
               ) -> Node | None:
        if node.sources:
            given = [outs[path] for path in node.sources]
            before = given[0]
            if node.is_join:
                self.feeds[node.path] = given
                outs[node.path] = node
                return node
        if node.children is None:
            self.feeds[node.path] = [before]
            outs[node.path] = node
            return node
        outs[f"{node.path}.input"] = before
        current, paths, shortcut, has_shortcut = before, [], None, False
        for child in node.children:
            if child.container == "branch":
                paths.append(self._visit(child, before, outs))
            elif child.container == "shortcut":
                shortcut, has_shortcut = self._visit(child, before, outs), True
            elif child.is_merge:
                self.feeds[child.path] = paths or [current, shortcut if has_shortcut
                                                   else before]
                outs[child.path] = current = child
            else:
                current = self._visit(child, current, outs)
        outs[node.path] = current
        return current

    def only_reader(self, node: Node) -> Node | None:
        """The one row that reads `node`'s output, if exactly one does."""
        if self.readers.get(node.path) != 1:
            return None
        return self.by_path[self._read_by[node.path][0]]


@dataclass(slots=True)
class Context:
    """What a rule may read: the report, the dtype it is linted at, and the wiring."""

    report: Report
    dtype: str
    wiring: Wiring = field(init=False)

    def __post_init__(self) -> None:
        self.wiring = Wiring(self.report)

    def leaves(self) -> Iterator[Node]:
        return (n for n in self.report.leaves() if n.layer is not None)


# --------------------------------------------------------------------------- helpers

_WEIGHTED = (L.Conv, L.Depthwise, L.Separable, L.ConvTranspose, L.Dense, L.ChannelDense)
_SLIDING = (L.Conv, L.Depthwise, L.Separable, L.Pool)


def _axes(node: Node) -> list[tuple[str, int, int, int, int, int, int, int]]:
    """(axis name, n, f, s, d, pad before, pad after, outputs) of a sliding window's axes."""
    layer = node.layer
    assert layer is not None
    rule_ = layer.window(node.input_shape)
    assert isinstance(rule_, tuple)
    pads = layer.padding_of(node.input_shape)
    out = []
    for axis, (window, n, before, after, outputs) in enumerate(zip(
            rule_, node.input_shape[:2], pads[0::2], pads[1::2], node.output_shape[:2],
            strict=True)):
        out.append(("rows" if axis == 0 else "columns", n, int(window.f), int(window.s),
                    window.d, before, after, outputs))
    return out


def _sliding(ctx: Context) -> Iterator[Node]:
    return (n for n in ctx.leaves() if isinstance(n.layer, _SLIDING)
            and len(n.input_shape) == 3)


def _activation_of(node: Node | None) -> str | None:
    """The activation a row ends with: an activation row's function, or `activation:`."""
    if node is None or node.layer is None:
        return None
    if isinstance(node.layer, L.Activation):
        return node.layer.function
    function = getattr(node.layer, "activation", None)
    return function if isinstance(function, str) else None


def _seen_offsets(f: int, s: int, d: int) -> int:
    """How many of the `s` offsets between two window starts some tap reads: taps sit at
    `k d` (k < f), so the offsets read are the residues of `k d` mod s, `min(f, s / gcd)`."""
    return min(f, s // math.gcd(d, s))


#: kernels wider than this are not searched for dead taps (one step per tap)
MAX_TAPS = 10_000


def _dead_taps(n: int, f: int, s: int, d: int, before: int, outputs: int) -> int:
    """Taps of a kernel axis that never meet an input pixel: tap k reads padded position
    `i s - before + k d` for outputs i; it is dead when none of them is in [0, n)."""
    if f > MAX_TAPS:
        return 0
    dead = 0
    for k in range(f):
        offset = k * d - before
        first = max(0, -(offset // s))  # the first i with i s + offset >= 0: ceil(-offset / s)
        if first >= outputs or first * s + offset > n - 1:
            dead += 1
    return dead


def _reads_image(ctx: Context, node: Node) -> bool:
    """Whether `node` reads the network's input through rows that keep its channels (pad,
    pooling, activations, norms): no layer with weights before it on its path."""
    seen = 0
    source = ctx.wiring.feeds.get(node.path, [])
    while len(source) == 1 and seen < 10_000:
        before = source[0]
        if before is None:
            return True
        if before.children is not None or isinstance(before.layer, (*_WEIGHTED, L.Merge)):
            return False
        source, seen = ctx.wiring.feeds.get(before.path, []), seen + 1
    return False


# --------------------------------------------------------------------------- the rules

@rule("bias-before-batchnorm",
      "batch norm subtracts each channel's mean, so a bias right before it is cancelled: "
      "wasted parameters",
      "set bias: false on the layer before the batch norm (its beta does the bias's job)")
def _bias_before_batchnorm(ctx: Context) -> Iterator[Hit]:
    for node in ctx.leaves():
        layer = node.layer
        if not isinstance(layer, _WEIGHTED) or not layer.bias or layer.activation:
            continue
        reader = ctx.wiring.only_reader(node)
        if reader is not None and isinstance(reader.layer, L.BatchNorm):
            channels = node.output_shape[-1]
            yield Hit(node, f"its bias ({channels:,} params) is removed by the batch norm "
                            f"'{reader.path}' right after it")


@rule("pixels-dropped",
      "the output size rounds down: the last input rows or columns fall outside every window "
      "and are never read",
      "pad so that (n + padding - kernel) is a multiple of the stride, use ceil_mode: true "
      "(pooling), or change the input size")
def _pixels_dropped(ctx: Context) -> Iterator[Hit]:
    for node in _sliding(ctx):
        if getattr(node.layer, "ceil_mode", False):
            continue
        parts = []
        for axis, n, f, s, d, before, after, outputs in _axes(node):
            if s > F.effective_kernel(f, d):
                continue  # stride-exceeds-kernel says more
            # the windows cover padded positions 0 .. span - 1; past them lie the last
            # input pixels (lost) and then the trailing padding
            span = (outputs - 1) * s + F.effective_kernel(f, d)
            lost = n + before - span
            if lost > 0:
                parts.append((axis, f"the last {lost} of {n} input {{}} "
                              f"(floor(({n} + {before + after} - {F.effective_kernel(f, d)}) / "
                              f"{s}) + 1 = {outputs} windows)"))
        if len(parts) == 2 and parts[0][1] == parts[1][1]:  # a square case: say it once
            yield Hit(node, "never reads " + parts[0][1].format("rows or columns"))
        elif parts:
            yield Hit(node, "never reads " + " and ".join(t.format(a) for a, t in parts))


#: element multiples per dtype for tensor cores (NVIDIA's Deep Learning Performance guide:
#: dimensions a multiple of 16 bytes: 8 fp16/bf16 elements, 16 int8 ones)
TENSOR_CORE_MULTIPLE = {"fp16": 8, "bf16": 8, "int8": 16}


@rule("tensor-core-channels",
      "tensor cores run fp16/bf16 GEMMs on channel counts that are multiples of 8 (int8: 16); "
      "other counts are padded or fall back to slower kernels",
      "round the channels (filters, units) up to the multiple, e.g. make_divisible(c, 8)")
def _tensor_core_channels(ctx: Context) -> Iterator[Hit]:
    multiple = TENSOR_CORE_MULTIPLE.get(ctx.dtype)
    if multiple is None:
        return
    for node in ctx.leaves():
        layer = node.layer
        if not isinstance(layer, (L.Conv, L.Separable, L.ConvTranspose, L.Dense,
                                  L.ChannelDense)):
            continue
        groups = getattr(layer, "groups", 1)
        c_in, c_out = node.input_shape[-1], node.output_shape[-1]
        if groups > 1 and groups == c_in:
            continue  # depthwise: no GEMM over channels
        counts = []
        if not _reads_image(ctx, node):  # the image's channels are no designer's choice
            counts.append(("input", c_in // groups))
        counts.append(("output", c_out // groups))
        wrong = [f"{which} {c:,}" for which, c in counts if c % multiple]
        if wrong:
            per = " per group" if groups > 1 else ""
            yield Hit(node, f"channels{per} {' and '.join(wrong)}: not a multiple of "
                            f"{multiple} ({ctx.dtype})")


@rule("stride-exceeds-kernel",
      "a stride larger than the kernel's span skips input pixels that no window ever reads",
      "make the kernel at least as large as the stride, or pool (or blur) before subsampling "
      "(ResNet-D puts a 2x2 average pool before its 1x1 stride-2 shortcut)")
def _stride_exceeds_kernel(ctx: Context) -> Iterator[Hit]:
    for node in _sliding(ctx):
        seen = Fraction(1)
        parts = []
        for axis, _n, f, s, d, _b, _a, _o in _axes(node):
            read = _seen_offsets(f, s, d)
            if read < s:
                seen *= Fraction(read, s)
                parts.append(f"{read} of every {s} {axis}")
        if parts:
            (_, _, fh, sh, *_), (_, _, fw, sw, *_) = _axes(node)
            size = f"{fh}x{fw}" if (fh, sh) != (fw, sw) or fh != fw else f"{fh}x{fh}"
            stride = str(sh) if sh == sw else f"{sh}x{sw}"
            yield Hit(node, f"a {size} kernel with stride {stride} reads only "
                            f"{' and '.join(parts)}: {1 - seen} of its input is never seen")


@rule("window-exceeds-input",
      "a kernel or window larger than its input: weights that only ever multiply padding, "
      "or a window that reaches past the padded input",
      "use a smaller kernel (or none) on this small a map, or keep the map larger")
def _window_exceeds_input(ctx: Context) -> Iterator[Hit]:
    for node in _sliding(ctx):
        axes = _axes(node)
        parts = []
        dead = []
        for axis, n, f, s, d, before, after, outputs in axes:
            span = F.effective_kernel(f, d)
            if span > n + before + after:
                parts.append(f"its {span}-wide window is larger than the {n} input {axis} "
                             f"padded by {before}+{after}")
            elif isinstance(node.layer, L.Pool) and span > n:
                parts.append(f"its {span}-wide window is larger than the {n} input {axis}")
            dead.append(_dead_taps(n, f, s, d, before, outputs)
                        if not isinstance(node.layer, L.Pool) else 0)
        fh, fw = axes[0][2], axes[1][2]
        wasted = fh * fw - (fh - dead[0]) * (fw - dead[1])
        if wasted:
            parts.append(f"{wasted} of its {fh}x{fw} kernel positions only ever meet padding")
        if parts:
            yield Hit(node, f"on a {node.input_shape[0]}x{node.input_shape[1]} input: "
                            + "; ".join(parts))


#: the share of all params above which one dense layer "holds most" of them
DENSE_SHARE = 0.5


@rule("dense-dominates-params",
      "one fully connected layer holds most of the network's parameters (AlexNet and VGG's "
      "classifier): memory and overfitting for little compute",
      "pool globally before the classifier (as ResNet and GoogLeNet do), or shrink the "
      "dense layer's input or units")
def _dense_dominates(ctx: Context) -> Iterator[Hit]:
    total = ctx.report.totals.params
    for node in ctx.leaves():
        if isinstance(node.layer, L.Dense) and total and node.params > DENSE_SHARE * total:
            yield Hit(node, f"holds {node.params:,} of the network's {total:,} params "
                            f"({node.params / total:.1%})")


@rule("activation-before-add",
      "the residual body ends with an activation although the block activates after the "
      "add: the branch can only add what the activation lets through (only non-negative "
      "values after a ReLU)",
      "end the body with the last conv (and its norm), no activation: the block's activation "
      "after the add is the one it needs")
def _activation_before_add(ctx: Context) -> Iterator[Hit]:
    for block in ctx.report.walk():
        if block.container != "residual" or not block.children:
            continue
        merge = next((c for c in block.children if c.is_merge), None)
        if merge is None:
            continue
        after = block.children[block.children.index(merge) + 1:]
        post = _activation_of(after[0]) if after else None
        if post is None and not after:  # the row that reads the add's output
            reader = ctx.wiring.only_reader(merge)
            post = _activation_of(reader) if reader is not None else None
        body_end = ctx.wiring.feeds[merge.path][0]
        before = _activation_of(body_end)
        if post is not None and before is not None and body_end is not None:
            yield Hit(body_end, f"applies {before} at the end of the body of '{block.path}', "
                                f"which applies {post} after its add")


@rule("receptive-field-below-input",
      "the features pooled for the classifier each see less than the whole input: the head "
      "cannot relate parts of the image farther apart than the receptive field",
      "add depth or stride (or dilation) before the head, or a larger kernel, until the "
      "receptive field covers the input (cnncalc show --rf)")
def _receptive_field(ctx: Context) -> Iterator[Hit]:
    report = ctx.report
    if len(report.input_shape) != 3:
        return
    pools = [n for n in ctx.leaves() if not n.training_only and len(n.input_shape) == 3 and (
        isinstance(n.layer, L.GlobalPool) or (isinstance(n.layer, L.AdaptivePool)
                                              and n.output_shape[:2] == (1, 1)))]
    if not pools:
        return
    from .receptive import receptive_fields

    inputs: dict[str, object] = {}
    receptive_fields(report, inputs)  # type: ignore[arg-type]
    h, w = report.input_shape[:2]
    for node in pools:
        seen = inputs[node.path]
        size_h, size_w = seen.h.size, seen.w.size  # type: ignore[attr-defined]
        if size_h < h or size_w < w:
            shown = f"{size_h}" if size_h == size_w else f"{size_h}x{size_w}"
            yield Hit(node, f"pools features that each see {shown} pixels of the {h}x{w} "
                            "input")


def _signature(node: Node, memo: dict[int, object]) -> object:
    """What makes two rows the same entry written twice: kind, settings, and (for blocks)
    the same rows inside."""
    key = id(node)
    if key not in memo:
        memo[key] = ((node.kind, node.layer, node.trainable) if node.children is None else
                     (node.kind, node.container, node.trainable,
                      tuple(_signature(c, memo) for c in node.children)))
    return memo[key]


#: the longest group of rows `repeated-layers` looks for, and the fewest rows it reports
MAX_PERIOD = 4
MIN_ROWS = 3


@rule("repeated-layers",
      "the same entry is written out several times in a row where one entry with repeat: "
      "would say it once",
      "write the entry (or a seq of the group) once with repeat: N; its rows become NAME.0 "
      ".. NAME.N-1 (paths and state_dict keys change)")
def _repeated_layers(ctx: Context) -> Iterator[Hit]:
    lists: list[list[Node]] = [ctx.report.nodes]
    lists += [b.children for b in ctx.report.walk() if b.children and b.container not in (
        "repeat", "parallel")]
    memo: dict[int, object] = {}
    for rows in lists:
        for plain in _runs_of_plain(ctx, rows):
            yield from _repeats(plain, memo)


def _runs_of_plain(ctx: Context, rows: list[Node]) -> Iterator[list[Node]]:
    """The stretches of rows one `repeat:` could write: in sequence, each fed by the one
    before it, none a merge, a shortcut or branch, a training-only row, a row taking `from:`,
    or a tap (a row read by more than the next one: its name is how others read it)."""
    run: list[Node] = []
    for row in rows:
        plain = (not row.sources and not row.training_only and not row.is_merge
                 and row.container not in ("shortcut", "branch")
                 and ctx.wiring.readers.get(row.path, 0) <= 1)
        if plain:
            run.append(row)
        else:
            if run:
                yield run
            run = []
    if run:
        yield run


def _repeats(plain: list[Node], memo: dict[int, object]) -> Iterator[Hit]:
    """Runs of `k` copies of a group of `p` rows (p <= MAX_PERIOD), the longest first."""
    i = 0
    while i < len(plain):
        best_p, best_k = 1, 1
        for p in range(1, MAX_PERIOD + 1):
            group = [_signature(r, memo) for r in plain[i:i + p]]
            if len(group) < p or len({r.line for r in plain[i:i + p]}) < p:
                break
            k = 1
            while [_signature(r, memo) for r in plain[i + k * p:i + (k + 1) * p]] == group:
                k += 1
            if k >= 2 and k * p > best_k * best_p:
                best_p, best_k = p, k
        if best_k >= 2 and best_k * best_p >= MIN_ROWS:
            first = plain[i]
            names = ", ".join(r.name for r in plain[i:i + best_p])
            what = (f"{best_k} identical {first.kind} rows" if best_p == 1 else
                    f"the group [{names}] {best_k} times")
            yield Hit(first, f"starts {what} in a row "
                             f"({', '.join(r.name for r in plain[i:i + best_k * best_p])})")
            i += best_k * best_p
        else:
            i += 1


# --------------------------------------------------------------------------- running them

def check_ids(ids: list[str], where: str, file: str | None = None,
              line: int | None = None) -> None:
    """Refuse rule ids that name no rule, with a suggestion."""
    problems = [Problem(f"{where}: unknown lint rule '{i}'{suggest(i, RULES)} (rules: "
                        f"{', '.join(RULES)})", file, line) for i in ids if i not in RULES]
    if problems:
        raise CnnCalcError(problems)


def silenced(report: Report) -> dict[str, set[str]]:
    """Each row's silenced rules: its own `lint: {ignore: [...]}` and its enclosing rows'.
    Unknown ids are refused at the entry's line."""
    out: dict[str, set[str]] = {}
    problems: list[Problem] = []

    def visit(node: Node, inherited: set[str], file: str) -> None:
        file = node.file or file
        if node.lint:
            try:
                check_ids(list(node.lint), f"'{node.path}': lint.ignore", file, node.line)
            except CnnCalcError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
        here = inherited | set(node.lint)
        out[node.path] = here
        for child in node.children or []:
            visit(child, here, file)

    for node in report.nodes:
        visit(node, set(), report.file)
    if problems:
        raise CnnCalcError(problems)
    return out


@dataclass(slots=True)
class Linted:
    """The findings of one report, and how many hits `ignore` settings left out."""

    findings: list[Finding]
    ignored: int = 0


def lint(report: Report, dtype: str | None = None, ignore: tuple[str, ...] = ()) -> Linted:
    """Run every rule on `report` (at `dtype`, else the report's), except those `ignore`
    names and those each row's spec entry silences. Findings in the network's order."""
    check_ids(list(ignore), "--ignore")
    ctx = Context(report, dtype or report.dtype)
    quiet = silenced(report)
    files = _files(report)
    order = {n.path: i for i, n in enumerate(report.walk())}
    found: list[tuple[int, int, Finding]] = []
    ignored = 0
    for index, (rule_id, entry) in enumerate(RULES.items()):
        for hit in entry.check(ctx):
            if rule_id in ignore or rule_id in quiet.get(hit.node.path, set()):
                ignored += 1
                continue
            found.append((order.get(hit.node.path, 0), index, Finding(
                rule_id, files.get(hit.node.path, report.file), hit.node.line or None,
                hit.node.path, hit.message, entry.reason, entry.hint)))
    found.sort(key=lambda t: (t[0], t[1]))
    return Linted([f for _, _, f in found], ignored)


def _files(report: Report) -> dict[str, str]:
    """The file each row's entry was written in (a merge or post-activation: its block's)."""
    out: dict[str, str] = {}

    def visit(node: Node, file: str) -> None:
        file = node.file or file
        out[node.path] = file
        for child in node.children or []:
            visit(child, file)

    for node in report.nodes:
        visit(node, report.file)
    return out


# --------------------------------------------------------------------------- specs, for commands

EXIT_CLEAN, EXIT_FINDINGS, EXIT_INVALID = 0, 1, 2


@dataclass(slots=True)
class SpecLint:
    """The outcome for one spec reference: its findings, or the problems that stopped it."""

    ref: str
    file: str
    name: str = ""
    findings: list[Finding] = field(default_factory=list)
    ignored: int = 0
    problems: list[Problem] = field(default_factory=list)
    dtype: str = "fp32"

    @property
    def status(self) -> str:
        if self.problems:
            return "invalid"
        return "findings" if self.findings else "clean"


@dataclass(slots=True)
class LintResult:
    specs: list[SpecLint]
    problems: list[Problem] = field(default_factory=list)  # not tied to a spec (--ignore)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 an invalid spec or option (as `cnncalc check`)."""
        statuses = {s.status for s in self.specs}
        if self.problems or "invalid" in statuses:
            return EXIT_INVALID
        return EXIT_FINDINGS if "findings" in statuses else EXIT_CLEAN


def lint_spec(ref: str, *, dtype: str | None = None, ignore: tuple[str, ...] = (),
              input_shape: tuple[int, ...] | None = None,
              rewrite: Callable[[object], object] | None = None) -> SpecLint:
    """Load, analyse and lint one spec; problems are collected in the result, never raised.
    `dtype`: the one tensor-core-channels judges (default fp32: that rule rests)."""
    from ..core.engine import analyze
    from ..core.source import load, resolve

    result = SpecLint(ref=ref, file=ref, dtype=dtype or "fp32")
    try:
        result.file = resolve(ref)[0]
        spec = load(ref, rewrite)
        result.name = spec.name
        report = analyze(spec, input_shape, 1, result.dtype)
        linted = lint(report, result.dtype, ignore)
        result.findings, result.ignored = linted.findings, linted.ignored
    except CnnCalcError as exc:
        result.problems = exc.located(file=result.file).problems
    return result
