"""Reuse across files: `extends` (with `edits`) and `imports`, a loading pass on the YAML.

**extends.** `extends: vgg16` or `extends: ../base.yaml` (a bundled name or a path relative to
the extending file): the base spec is loaded and checked on its own, then the extending file's
top-level fields replace the base's (`vars` and `blocks` are merged, the extending file
winning), and its `edits` change the base's layers, in order:

    edits:
      - remove: fc8                  # a name or path, or a list of them
      - replace: fc7                 # the layer is replaced by `with` (one entry or a list)
        with: {dense: 256, name: fc7}
      - insert_after: pool5          # or insert_before: NAME
        layers: [{dropout: 0.5}]
      - replace: stage2.*.conv2      # a dotted path reaches inside containers
        with: {conv: {filters: 64, kernel: 5, padding: 2}, name: conv2}
      - append:                      # at the end of the top level
          - dense: {units: 5, activation: softmax}
            name: fc8

A target is a layer's path as `show` prints it: top-level names (`name:`, or the name the
engine gives an unnamed entry, `conv2`), joined by dots through `seq` children (`head.fc`),
residual body layers (`res.conv1`), the shortcut (`res.shortcut.conv`; a shortcut written as
one named entry is also reached by its name, `res.downsample`, the path `show` prints for it)
and parallel branches (`mix.branch2.conv`). Two paths `show` prints cannot be edited, and say why:
- a pass of a repeat (`layer3.0.conv1`): the passes are one entry written once, so one pass
  cannot change alone; `layer3.*.conv1` edits that layer in every pass;
- the inside of a block use (`layer1.conv1` where `layer1` is a `bottleneck`): the block's
  layers are shared by every use; override the block under `blocks:` instead.

**imports.** Block definitions taken from other specs, without their layers:

    imports:
      - from: resnet50               # a bundled name or a path relative to this file
        blocks: [bottleneck]         # leave `blocks` out to take every block of that file
      - ../lib/blocks.yaml           # shorthand for {from: ../lib/blocks.yaml}

Only the `blocks` of that file (and the `vars` they read) are used, and only those taken are
checked, so it may be a whole spec or a library of blocks alone. An imported block keeps the
meaning it has in its own file:
- the blocks it uses come along (under their own names);
- the vars of its file that it reads are bound inside it, with that file's values, as `let`
  entries put first (this spec's vars and `--var` do not reach into it; pass values through
  its `args`);
- a name means one block: an imported block (or one that comes along) whose name is already
  a block of this spec (written here, inherited through `extends`, or imported from another
  file) is an error, unless both definitions are identical (a shared helper arriving twice);
- errors inside it name the file and line it was written in.

This works on the loaded YAML before parsing, so every entry keeps the file and line where it
was written, and errors point there. A chain of `extends` and `imports` that comes back to a
file already on it is an error (`extends cycle: a.yaml -> b.yaml -> a.yaml`, or
`imports cycle: ...`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Problem, suggest
from .loader import LineDict, LineList, copy_tree
from .spec import COMMON, RESIDUAL_ROWS, SHAPE_VARS, name_text
from .units import clip

EDIT_KINDS = ("remove", "replace", "insert_before", "insert_after", "append")
MAX_CHAIN = 32
#: What `extends` and `imports` read: a file whose name ends in one of these, or a bundled
#: spec's name.
SPEC_SUFFIXES = (".yaml", ".yml")
#: The fields of one item of `imports`.
IMPORT_FIELDS = ("from", "blocks")
_BRANCH = re.compile(r"branch([1-9][0-9]*)")


class SourcedList(LineList):
    """A layer list whose items may come from several files (`item_files[i]`, None = the
    file of the list itself)."""

    __slots__ = ("item_files",)

    def __init__(self, line: int):
        super().__init__(line)
        self.item_files: list[str | None] = []

    def add(self, item: Any, line: int, file: str | None) -> None:
        self.append(item)
        self.item_lines.append(line)
        self.item_files.append(file)

    def put(self, index: int, item: Any, line: int, file: str | None) -> None:
        self.insert(index, item)
        self.item_lines.insert(index, line)
        self.item_files.insert(index, file)

    def drop(self, index: int) -> None:
        for seq in (self, self.item_lines, self.item_files):
            del seq[index]


class SourcedDict(LineDict):
    """A block definition that was written in another file."""

    __slots__ = ("file",)


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 200 else repr(text[:200]) + "..."


def _key(file: str) -> str:
    """The identity of a spec file on a chain of extends and imports: its resolved path."""
    return str(Path(file).resolve()) if Path(file).exists() else file


def resolve(raw: Any, file: str, chain: tuple[str, ...] = (),
            cache: dict[str, tuple[str, Any]] | None = None) -> Any:
    """The loaded YAML of a spec with its `extends`, `imports` and `edits` applied (see the
    module docstring). `chain`: the files being resolved (for cycles); `cache`: the import
    sources resolved so far in this load (each file is read once however often imported)."""
    if not isinstance(raw, LineDict):
        return raw
    chain = chain or (_key(file),)
    cache = {} if cache is None else cache
    out = raw
    if "extends" in raw:
        out = _extend(raw, file, chain, cache)
    elif "edits" in raw:
        raise CnnCalcError(Problem("'edits' needs 'extends: <spec>' (the spec to edit)",
                                   file, raw.line_of("edits")))
    if "imports" in raw:
        out = _import(out, raw["imports"], raw.line_of("imports"), file, chain, cache)
    if "extends" in raw:  # after the imports: an edit may reach a use of an imported block
        blocks = out.get("blocks")
        _apply_edits(out["layers"], raw.get("edits"), file, raw.line_of("edits"),
                     set(blocks) if isinstance(blocks, dict) else set())
    return out


def _enter(ref: Any, what: str, file: str, line: int,
           chain: tuple[str, ...]) -> tuple[str, Path, tuple[str, ...]]:
    """(display name, path, longer chain) of the spec that `extends` or `imports` names."""
    if not isinstance(ref, str) or not ref:
        raise CnnCalcError(Problem(f"{what} must be a bundled spec's name or a path, got "
                                   f"{ref!r}"[:300], file, line))
    name, path = _locate(ref, file, line, what)
    key = str(path.resolve())
    if key in chain or len(chain) > MAX_CHAIN:
        names = " -> ".join([*(Path(c).name for c in chain), Path(key).name])
        raise CnnCalcError(Problem(f"{what} cycle: {names}", file, line))
    return name, path, (*chain, key)


# --------------------------------------------------------------------------- extends

def _extend(raw: LineDict, file: str, chain: tuple[str, ...],
            cache: dict[str, tuple[str, Any]]) -> LineDict:
    """The base's fields with the extending file's over them; edits are applied by resolve."""
    line = raw.line_of("extends")
    if "layers" in raw:
        raise CnnCalcError(Problem("a spec that extends another changes its layers with "
                                   "'edits' (remove, replace, insert_before, insert_after, "
                                   "append), not 'layers'", file, raw.line_of("layers")))
    base_name, base_path, chain = _enter(raw["extends"], "extends", file, line, chain)
    from .loader import load_yaml, read_text
    from .spec import parse_spec

    base = resolve(load_yaml(read_text(base_path), base_name), base_name, chain, cache)
    parse_spec(base, base_name)  # the base must be valid on its own; its errors name its file
    blocks = base.get("blocks")
    if isinstance(blocks, LineDict):  # base blocks keep their file, for errors inside them
        for name, body in list(blocks.items()):
            if isinstance(body, LineDict) and not getattr(body, "file", None):
                blocks[name] = _sourced(body, base_name)
    merged = LineDict(raw.line)
    for source in (base, raw):
        for k, value in source.items():
            if k in ("extends", "edits", "imports"):
                continue
            if source is base and k not in ("blocks", "layers"):
                # A setting taken from the base (budget, freeze_until, vars, input, ...) is
                # located where this file takes it in: its `extends:` line. Errors name this
                # file, so a line number of the base's would point at the wrong line.
                value = _relocated(value, line)
            if k in ("vars", "blocks") and isinstance(merged.get(k), LineDict) \
                    and isinstance(value, LineDict):
                combined = LineDict(value.line)
                for part in (merged[k], value):  # the extending file wins
                    for name, item in part.items():
                        combined[name] = item
                        combined.key_lines[name] = part.line_of(name)
                value = combined
            merged[k] = value
            merged.key_lines[k] = source.line_of(k) if source is raw else line
    layers = SourcedList(base["layers"].line)
    base_layers = base["layers"]
    for index, item in enumerate(base_layers):
        inherited = getattr(base_layers, "item_files", None)
        layers.add(item, base_layers.line_of(index),
                   (inherited[index] if inherited else None) or base_name)
    merged["layers"] = layers
    merged.key_lines["layers"] = line
    return merged


def _relocated(value: Any, line: int) -> Any:
    """A copy of loaded YAML with every line set to `line` (see _extend)."""
    if not isinstance(value, (LineDict, LineList)):
        return value
    out = copy_tree(value)
    stack = [out]
    while stack:
        node = stack.pop()
        node.line = line
        if isinstance(node, LineDict):
            node.key_lines = dict.fromkeys(node.key_lines, line)
            stack.extend(v for v in node.values() if isinstance(v, (LineDict, LineList)))
        else:
            node.item_lines = [line] * len(node.item_lines)
            stack.extend(v for v in node if isinstance(v, (LineDict, LineList)))
    return out


def _sourced(body: LineDict, file: str) -> SourcedDict:
    out = SourcedDict(body.line)
    out.update(body)
    out.key_lines = dict(body.key_lines)
    out.file = file
    return out


def _locate(ref: str, file: str, line: int, what: str = "extends") -> tuple[str, Path]:
    """(display name, path) of a spec reference: a path relative to `file`, or a name."""
    from .catalog import bundled

    if ref.endswith(SPEC_SUFFIXES) or "/" in ref or "\\" in ref:
        folder = Path(file).parent if Path(file).exists() else Path.cwd()
        path = folder / ref
        return str(path), _spec_file(path, file, line, what)
    specs = bundled()
    if ref not in specs:
        raise CnnCalcError(Problem(f"{what}: no bundled spec named {_shown(ref)}"
                                   f"{suggest(ref[:200], specs)}; for a file, write a path "
                                   "ending in .yaml or .yml", file, line))
    return str(specs[ref]), specs[ref]


def _spec_file(path: Path, file: str, line: int, what: str = "extends") -> Path:
    """`path` when it is a spec file: a regular file whose name, and the name of what it links
    to, ends in .yaml or .yml. Anything else is refused before a byte of it is read, so that no
    error can quote a line of another file (`extends: /etc/shadow`)."""
    shown = _shown(str(path))

    def refuse(why: str) -> CnnCalcError:
        return CnnCalcError(Problem(f"{what}: {shown} {why}", file, line))

    try:
        if path.is_dir():
            raise refuse("is a directory, not a spec file")
        if not path.exists():
            raise CnnCalcError(Problem(f"{what}: no such file {shown}", file, line))

        if not path.is_file():
            raise refuse(f"is not a regular file (a device, pipe or socket); {what} reads "
                         "spec files only")
        real = path.resolve()
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}") from None
    if not (path.name.endswith(SPEC_SUFFIXES) and real.name.endswith(SPEC_SUFFIXES)):
        raise refuse(f"is not a spec: {what} reads only .yaml or .yml files and bundled "
                     "specs (nothing of this file was read)")
    return path


# --------------------------------------------------------------------------- imports

def _import(spec: LineDict, imports: Any, line: int, file: str, chain: tuple[str, ...],
            cache: dict[str, tuple[str, Any]]) -> LineDict:
    """`spec` without its `imports`, the imported blocks added to its `blocks`."""
    out = LineDict(spec.line)
    for k, value in spec.items():
        if k != "imports":
            out[k] = value
            out.key_lines[k] = spec.line_of(k)
    local = spec.get("blocks")
    if local is not None and not isinstance(local, dict):
        return out  # the parser says what `blocks` should be
    if not isinstance(imports, list):  # an empty list imports nothing
        raise CnnCalcError(Problem("imports must be a list, e.g. '- {from: resnet50, blocks: "
                                   "[bottleneck]}'", file, line))
    blocks = LineDict(getattr(local, "line", line))
    #: where each block name of this spec comes from, for the message of a clash
    origin: dict[str, str] = {}
    for name, body in (local or {}).items():
        blocks[name] = body
        blocks.key_lines[name] = local.line_of(name) if isinstance(local, LineDict) else line
        written = getattr(body, "file", None)
        origin[name] = (f"written in {Path(written).name}" if written and written != file
                        else f"defined in this file at line {blocks.key_lines[name]}")
    problems = []
    for index, item in enumerate(imports):
        at = imports.line_of(index) if isinstance(imports, LineList) else line
        try:
            _import_item(item, blocks, origin, file, at, chain, cache)
        except CnnCalcError as exc:
            problems += exc.located(file=file, line=at).problems
    if problems:
        raise CnnCalcError(problems)
    out["blocks"] = blocks
    out.key_lines.setdefault("blocks", line)
    return out


def _import_item(item: Any, blocks: LineDict, origin: dict[str, str], file: str, line: int,
                 chain: tuple[str, ...], cache: dict[str, tuple[str, Any]]) -> None:
    """One item of `imports`: its blocks (and those they use) added to `blocks`."""
    wanted: list[tuple[str, int]] | None = None  # (name, line); None: every block
    if isinstance(item, str):
        ref: Any = item
    elif isinstance(item, dict):
        for key in item:
            if key not in IMPORT_FIELDS:
                raise CnnCalcError(f"imports: unknown field {_shown(str(key))}"
                                   f"{suggest(str(key), IMPORT_FIELDS)} (an import takes "
                                   "'from' and optionally 'blocks')")
        if "from" not in item:
            raise CnnCalcError("imports: 'from' is missing (the spec to take blocks from: a "
                               "bundled name or a path)")
        ref = item["from"]
        if "blocks" in item:
            wanted = _wanted(item["blocks"], item.line_of("blocks")
                             if isinstance(item, LineDict) else line)
    else:
        raise CnnCalcError(f"imports: an import is a spec (a bundled name or a path) or "
                           f"{{from: SPEC, blocks: [NAMES]}}, got {item!r}"[:300])
    src_name, src = _source(ref, file, line, chain, cache)
    shown = ref if len(ref) <= 200 else ref[:200] + "..."
    available = src.get("blocks") if isinstance(src.get("blocks"), LineDict) else LineDict(1)
    if not available:
        raise CnnCalcError(f"imports: {shown} defines no blocks (nothing to import)")
    problems = []
    for name, at in wanted or []:
        if name not in available:
            problems.append(Problem(
                f"imports: {shown} has no block {_shown(name)}{suggest(name, available)}; "
                f"its blocks: {', '.join(map(str, available))}", file, at))
    if problems:
        raise CnnCalcError(problems)
    asked = [name for name, _ in wanted] if wanted is not None else list(available)
    lines = dict(wanted or [])
    closure = _closure(asked, available)
    _check_source(src, src_name, closure)
    for name, user in closure.items():
        body = _imported(available[name], src, src_name)
        at = lines.get(name, line)
        if name in blocks:
            if blocks[name] == body:
                continue  # the same definition twice: one block
            why = (f"block '{name}' comes with '{user}' from {shown} (which uses it)" if user
                   else f"block '{name}' from {shown}")
            fix = ("rename this file's block" if user else
                   f"rename this file's block, or leave '{name}' out of the import")
            raise CnnCalcError(Problem(
                f"imports: {why} clashes with the block '{name}' {origin[name]}: a name means "
                f"one block; {fix}", file, at))
        blocks[name] = body
        blocks.key_lines[name] = available.line_of(name)
        origin[name] = f"imported from {shown} at line {at}"


def _wanted(value: Any, line: int) -> list[tuple[str, int]]:
    """The names of `blocks:` in an import, with their lines."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise CnnCalcError(Problem("imports: blocks is a list of block names (leave it out to "
                                   f"import every block), got {value!r}"[:300], None, line))
    out = []
    for index, name in enumerate(value):
        if not isinstance(name, str) or not name:
            raise CnnCalcError(Problem(f"imports: a block name is a word, got {name!r}"[:300],
                                       None, value.line_of(index)
                                       if isinstance(value, LineList) else line))
        out.append((name, value.line_of(index) if isinstance(value, LineList) else line))
    return out


def _source(ref: Any, file: str, line: int, chain: tuple[str, ...],
            cache: dict[str, tuple[str, Any]]) -> tuple[str, LineDict]:
    """(display name, resolved YAML) of the spec an import reads, each file read once."""
    name, path, longer = _enter(ref, "imports", file, line, chain)
    if longer[-1] in cache:
        return cache[longer[-1]]
    from .loader import load_yaml, read_text

    src = resolve(load_yaml(read_text(path), name), name, longer, cache)
    if not isinstance(src, LineDict):
        raise CnnCalcError(Problem("a spec (or a library of blocks) is a mapping with "
                                   "'blocks'", name, getattr(src, "line", 1)))
    cache[longer[-1]] = (name, src)
    return name, src


def _closure(asked: list[str], available: LineDict) -> dict[str, str | None]:
    """The blocks to take: those asked for (-> None) and, transitively, the blocks of the
    same file they use (-> the name of a block that uses it)."""
    out: dict[str, str | None] = dict.fromkeys(asked)
    queue = list(asked)
    while queue:
        name = queue.pop(0)
        for used in _uses(available[name], available):
            if used not in out:
                out[used] = name
                queue.append(used)
    return out


def _check_source(src: LineDict, name: str, closure: dict[str, str | None]) -> None:
    """The imported blocks checked in their own file, with its vars: errors name that file.
    Nothing else of it is read (it may be a library of blocks without layers)."""
    from .spec import parse_spec

    available = src["blocks"]
    view = LineDict(src.line)
    view.update({"name": "imported blocks", "input": [1], "layers": ["flatten"]})
    if "vars" in src:
        view["vars"] = src["vars"]
        view.key_lines["vars"] = src.line_of("vars")
    blocks = LineDict(available.line)
    for block in closure:
        blocks[block] = available[block]
        blocks.key_lines[block] = available.line_of(block)
    view["blocks"] = blocks
    view.key_lines["blocks"] = src.line_of("blocks")
    parse_spec(view, name)


def _imported(body: Any, src: LineDict, src_name: str) -> SourcedDict:
    """A copy of a block for another spec: it names the file it was written in, and the vars
    of its own file that it reads are bound as its first `let` entries (module docstring)."""
    written = getattr(body, "file", None) or src_name
    out = _sourced(copy_tree(body), written)
    args, let = out.get("args") or {}, out.get("let") or {}
    free = _names_read(out) - set(args) - set(let) - set(SHAPE_VARS)
    values = src.get("vars") if isinstance(src.get("vars"), dict) else {}
    needed = [name for name in values if name in free]
    if not needed:
        return out
    bound = LineDict(let.line if isinstance(let, LineDict) else out.line)
    for name in needed:
        value = values[name]
        # text that starts with `$` is the var's value, not an expression to evaluate
        bound[name] = f"$({value!r})" if isinstance(value, str) and value.startswith("$") \
            else value
        # the var's line, when the block was written in the file that holds the vars
        bound.key_lines[name] = (values.line_of(name) if written == src_name
                                 and isinstance(values, LineDict) else out.line)
    for name, value in let.items():
        bound[name] = value
        bound.key_lines[name] = let.line_of(name) if isinstance(let, LineDict) else out.line
    ordered = SourcedDict(out.line)
    ordered.file = written
    for key in ("args", "let", *out):  # args, then let, then the body, as a block is written
        if key == "let":
            ordered["let"] = bound
            ordered.key_lines["let"] = out.line_of("let")
        elif key in out and key not in ordered:
            ordered[key] = out[key]
            ordered.key_lines[key] = out.line_of(key)
    return ordered


def _names_read(block: Any) -> set[str]:
    """The names the expressions of a block read (functions excluded)."""
    from .expr import is_expression, names_in

    found: set[str] = set()
    stack = [block]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif is_expression(node):
            try:
                found |= names_in(node)
            except CnnCalcError:
                pass  # _check_source has named it
    return found


def _entry_kind(item: Any) -> tuple[Any, Any]:
    """(kind, fields) of a layer entry as written: `- flatten`, `- conv: {...}` (the fields are
    the value) or `- kind: conv` (the fields sit beside it); (None, None) when unreadable."""
    if isinstance(item, str):
        return item, None
    if not isinstance(item, dict):
        return None, None
    if "kind" in item:
        return item["kind"], item
    others = [k for k in item if k not in COMMON]
    return (others[0], item[others[0]]) if len(others) == 1 else (None, None)


def _lists_in(kind: Any, fields: Any) -> list[Any]:
    """The lists of entries directly inside a container entry (none for other kinds)."""
    if kind == "seq":
        return [fields] if isinstance(fields, list) else []
    if not isinstance(fields, dict):
        return []
    if kind == "residual":
        return [fields[k] for k in ("body", "shortcut") if isinstance(fields.get(k), list)]
    if kind == "parallel" and isinstance(fields.get("branches"), list):
        return [b for b in fields["branches"] if isinstance(b, list)]
    return []


def _uses(body: Any, blocks: dict[Any, Any]) -> list[str]:
    """The names of `blocks` that a block definition uses, in the order written."""
    if not isinstance(body, dict):
        return []
    stack: list[Any] = []
    if isinstance(body.get("layers"), list):
        stack.append(body["layers"])
    for key in ("residual", "parallel"):
        stack += _lists_in(key, body.get(key))
    found: list[str] = []
    while stack:
        for item in stack.pop():
            kind, fields = _entry_kind(item)
            if isinstance(kind, str) and kind in blocks and kind not in found:
                found.append(kind)
            stack += _lists_in(kind, fields)
    return found


# --------------------------------------------------------------------------- edits

def _apply_edits(layers: SourcedList, edits: Any, file: str, line: int,
                 blocks: set[Any]) -> None:
    if edits is None:
        return
    if not isinstance(edits, list):
        raise CnnCalcError(Problem("edits must be a list, e.g. '- remove: fc8'", file, line))
    problems = []
    for index, edit in enumerate(edits):
        at = edits.line_of(index) if isinstance(edits, LineList) else line
        try:
            _apply_edit(layers, edit, file, at, blocks)
        except CnnCalcError as exc:
            problems += exc.located(file=file, line=at, layer=f"edit {index + 1}").problems
    if problems:
        raise CnnCalcError(problems)


def _entries(value: Any, file: str, line: int) -> list[tuple[Any, int]]:
    """One entry or a list of entries, with their lines."""
    if isinstance(value, LineList):
        return [(item, value.line_of(i)) for i, item in enumerate(value)]
    if value is None:
        raise CnnCalcError("expected layers to put in (one entry or a list)")
    return [(value, getattr(value, "line", line))]


def _apply_edit(layers: SourcedList, edit: Any, file: str, line: int,
                blocks: set[Any]) -> None:
    if not isinstance(edit, dict):
        raise CnnCalcError(f"an edit is a mapping such as 'remove: fc8', got {edit!r}")
    ops = [k for k in edit if k in EDIT_KINDS]
    if len(ops) != 1:
        raise CnnCalcError(f"an edit takes exactly one of {', '.join(EDIT_KINDS)}; "
                           f"found {', '.join(map(str, edit)) or 'nothing'}")
    op = ops[0]
    allowed = {"remove": (), "append": (), "replace": ("with",),
               "insert_before": ("layers",), "insert_after": ("layers",)}[op]
    for key in edit:
        if key != op and key not in allowed:
            raise CnnCalcError(f"{op}: unknown field {key!r}"
                               + (f" (it takes {', '.join(allowed)})" if allowed else ""))
    if op == "append":
        for item, at in _entries(edit[op], file, line):
            layers.add(item, at, None)
        return
    if op == "remove":
        targets = edit[op] if isinstance(edit[op], list) else [edit[op]]
        for target in targets:
            found, index = _target(layers, target, blocks)
            found.drop(index)
        return
    found, index = _target(layers, edit[op], blocks)
    what = {"replace": "with", "insert_before": "layers", "insert_after": "layers"}[op]
    if what not in edit:
        raise CnnCalcError(f"{op}: '{what}' is missing (the layers to put in)")
    new = _entries(edit[what], file, line)
    if op == "replace":
        found.drop(index)
    elif op == "insert_after":
        index += 1
    # Top-level items of this file need no note (None: the spec's own file); inside an
    # inherited entry, None would mean the file that entry was written in.
    written = None if found is layers else file
    for offset, (item, at) in enumerate(new):
        found.put(index + offset, item, at, written)


def _target(layers: SourcedList, target: Any, blocks: set[Any]) -> tuple[SourcedList, int]:
    """(the list that holds it, its index) of the layer an edit names by a path (module
    docstring); a path `show` prints but an edit cannot change is refused with the reason."""
    target = name_text(target) or target  # `replace: 0`: the row named "0"
    if not isinstance(target, str) or not target or "" in target.split("."):
        raise CnnCalcError(f"a layer to edit is named by its name or dotted path (fc8, "
                           f"layer3.conv1), got {target!r}"[:300])
    parts = target.split(".")
    found: SourcedList = layers
    reserved: tuple[str, ...] = ()
    where = "at the top level"
    pos = 0
    while True:
        index = _index(found, parts[pos], reserved, where)
        pos += 1
        if pos == len(parts):
            return found, index
        if found is layers:  # edit a copy: nested lists become SourcedLists of their own
            found[index] = copy_tree(found[index])
        item = found[index]
        here = ".".join(parts[:pos])
        rest = ".".join(parts[pos + 1:])
        if isinstance(item, dict) and "repeat" in item:
            if parts[pos] != "*":
                passes = (f"its passes ({here}.0, {here}.1, ...) are one entry written once, "
                          f"so '{here}.{parts[pos]}' cannot change alone"
                          if parts[pos].isdigit() else
                          f"the path goes through its passes ({here}.0, {here}.1, ...)")
                every = (f"write '{here}.*.{rest if parts[pos].isdigit() else parts[pos]}' to "
                         f"edit that layer in every pass, or " if rest or
                         not parts[pos].isdigit() else "")
                raise CnnCalcError(f"'{here}' repeats its entry (repeat: "
                                   f"{clip(item['repeat'])}): "
                                   f"{passes}; {every}replace '{here}' with its passes "
                                   "written out")
            pos += 1
            here += ".*"
            if pos == len(parts):
                raise CnnCalcError(f"'{here}' names every pass of a repeat, not one layer: "
                                   f"edit '{here[:-2]}' itself, or a layer inside "
                                   f"('{here}.NAME')")
        elif parts[pos] == "*":
            raise CnnCalcError(f"'{here}' is not repeated: '*' stands for every pass of a "
                               "repeat")
        kind, fields = _entry_kind(item)
        if isinstance(kind, str) and kind in blocks:
            raise CnnCalcError(f"'{here}' is a use of the block '{kind}', whose layers every "
                               f"use shares: an edit cannot change them in one place; "
                               f"override the block instead (define '{kind}' under 'blocks:' "
                               f"in this file; it replaces the base's), or replace '{here}'")
        container, key, reserved, step = _inside(item, kind, fields, parts[pos], here)
        pos += step
        if step:
            here += "." + parts[pos - 1]
            if pos == len(parts):
                raise CnnCalcError(f"'{here}' is a list of layers, not a layer: edit a layer "
                                   f"inside it ('{here}.NAME'), or replace "
                                   f"'{here.rsplit('.', 1)[0]}'")
        where = f"in '{here}'"
        found = _own_list(container, key)


def _inside(item: Any, kind: Any, fields: Any, part: str,
            here: str) -> tuple[Any, Any, tuple[str, ...], int]:
    """Where a path goes inside a container entry: (the mapping or list that holds the list of
    layers, its key, the names of the rows the container adds, path parts used up: 0 or 1)."""
    if kind == "seq" and isinstance(fields, list):
        return item, "seq", (), 0
    if kind == "residual" and isinstance(fields, dict):
        shortcut = fields.get("shortcut")
        if (isinstance(shortcut, list) and len(shortcut) == 1 and isinstance(shortcut[0], dict)
                and name_text(shortcut[0].get("name")) == part):
            return fields, "shortcut", (), 0  # one named entry: `res.downsample` (spec)
        if part == "shortcut":
            if not isinstance(fields.get("shortcut"), list) or not fields["shortcut"]:
                raise CnnCalcError(f"'{here}' has an identity shortcut: no layers in "
                                   f"'{here}.shortcut' to edit; replace '{here}' to give it "
                                   "some")
            return fields, "shortcut", (), 1
        if not isinstance(fields.get("body"), list):
            raise CnnCalcError(f"'{here}' has no body of layers to edit")
        activation = fields.get("activation")
        return fields, "body", (*RESIDUAL_ROWS, *([activation] if isinstance(activation, str)
                                                  else [])), 0
    if kind == "parallel" and isinstance(fields, dict) and isinstance(fields.get("branches"),
                                                                      list):
        branches = fields["branches"]
        match = _BRANCH.fullmatch(part)
        count = len(branches)
        if match is None or int(match.group(1)) > count:
            raise CnnCalcError(f"'{here}' is a parallel: the next part of the path is one of "
                               f"its branches, branch1 .. branch{count}; got {part!r}"[:300])
        number = int(match.group(1))
        if not isinstance(branches[number - 1], list) or not branches[number - 1]:
            raise CnnCalcError(f"branch {number} of '{here}' is an identity: no layers to "
                               f"edit; replace '{here}' to give it some")
        return branches, number - 1, (), 1
    shown = kind if isinstance(kind, str) else "malformed"
    raise CnnCalcError(f"'{here}' is a {shown} layer: there is nothing inside it to edit "
                       f"(paths go through seq, residual and parallel entries)"[:300])


def _own_list(container: Any, key: Any) -> SourcedList:
    """The list at `container[key]` as a SourcedList (put in its place), so that the layers an
    edit puts in can name the file they were written in."""
    value = container[key]
    if isinstance(value, SourcedList):
        return value
    out = SourcedList(getattr(value, "line", 1))
    for index, item in enumerate(value):
        out.add(item, value.line_of(index) if isinstance(value, LineList) else out.line, None)
    container[key] = out
    return out


def _names(items: list[Any], reserved: tuple[str, ...]) -> list[str | None]:
    """The name of each entry as the engine gives it (engine.seq): its `name:`, or its kind
    and a count (`conv2`) skipping taken names; None where that is not known before shapes
    (an unnamed entry at or after one with `when`, which may drop out of the count)."""
    written = [name_text(item.get("name")) if isinstance(item, dict) else None
               for item in items]
    taken = {n for n in written if isinstance(n, str)} | set(reserved)
    counts: dict[str, int] = {}
    out: list[str | None] = []
    unsure = False
    for item, name in zip(items, written, strict=True):
        unsure = unsure or (isinstance(item, dict) and "when" in item)
        if isinstance(name, str) or unsure:
            out.append(name if isinstance(name, str) else None)
            continue
        kind = _entry_kind(item)[0]
        if not isinstance(kind, str):
            out.append(None)
            continue
        while True:
            counts[kind] = counts.get(kind, 0) + 1
            generated = f"{kind}{counts[kind]}"
            if generated not in taken:
                break
        out.append(generated)
    return out


def _index(items: list[Any], target: str, reserved: tuple[str, ...], where: str) -> int:
    names = _names(items, reserved)
    if target in names:
        return names.index(target)
    known = [n for n in names if n is not None]
    if target in reserved:
        raise CnnCalcError(f"'{target}' {where} is a row the residual adds (its add, shortcut "
                           "or activation), not a layer of its body; replace the residual to "
                           "change it")
    unnamed = (" (unnamed layers at or after one with 'when' have no fixed name: give them "
               "a name:)" if None in names else "")
    raise CnnCalcError(f"no layer named {_shown(target)} {where}{suggest(target, known)}; "
                       f"its layers: {', '.join(known) or 'none'}{unnamed}")
