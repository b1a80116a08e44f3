"""Specs that extend other specs: a loading pass on the YAML, before parsing.

`extends: vgg16` or `extends: ../base.yaml` (a bundled name or a path relative to the extending
file): the base spec is loaded and checked on its own, then the extending file's top-level
fields replace the base's (`vars` and `blocks` are merged, the extending file winning), and its
`edits` change the base's top-level layers, in order:

    edits:
      - remove: fc8                  # a name, or a list of names
      - replace: fc7                 # the named layer is replaced by `with` (one entry or a list)
        with: {dense: 256, name: fc7}
      - insert_after: pool5          # or insert_before: NAME
        layers: [{dropout: 0.5}]
      - append:                      # at the end
          - dense: {units: 5, activation: softmax}
            name: fc8

Names are the `name:` of top-level entries. This works on the loaded YAML before parsing, so
every entry keeps the file and line where it was written, and errors point there. An `extends`
chain that comes back to a file already on it is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Problem
from .loader import LineDict, LineList, copy_tree

EDIT_KINDS = ("remove", "replace", "insert_before", "insert_after", "append")
MAX_CHAIN = 32
#: What `extends` reads: a file whose name ends in one of these, or a bundled spec's name.
SPEC_SUFFIXES = (".yaml", ".yml")


class SourcedList(LineList):
    """A layer list whose items may come from several files (`item_files[i]`, None = this)."""

    __slots__ = ("item_files",)

    def __init__(self, line: int):
        super().__init__(line)
        self.item_files: list[str | None] = []

    def add(self, item: Any, line: int, file: str | None) -> None:
        self.append(item)
        self.item_lines.append(line)
        self.item_files.append(file)


class SourcedDict(LineDict):
    """A block definition that was written in another file."""

    __slots__ = ("file",)


def resolve_extends(raw: Any, file: str, chain: tuple[str, ...] = ()) -> Any:
    """The loaded YAML of a spec with its `extends` and `edits` applied (see the docstring)."""
    if not isinstance(raw, LineDict):
        return raw
    if "extends" not in raw:
        if "edits" in raw:
            raise CnnCalcError(Problem("'edits' needs 'extends: <spec>' (the spec to edit)",
                                       file, raw.line_of("edits")))
        return raw
    line = raw.line_of("extends")
    ref = raw["extends"]
    if not isinstance(ref, str) or not ref:
        raise CnnCalcError(Problem(f"extends must be a bundled spec's name or a path, "
                                   f"got {ref!r}", file, line))
    if "layers" in raw:
        raise CnnCalcError(Problem("a spec that extends another changes its layers with "
                                   "'edits' (remove, replace, insert_before, insert_after, "
                                   "append), not 'layers'", file, raw.line_of("layers")))
    base_name, base_path = _locate(ref, file, line)
    key = str(base_path.resolve())
    here = str(Path(file).resolve()) if Path(file).exists() else file
    chain = chain or (here,)
    if key in chain or len(chain) > MAX_CHAIN:
        names = " -> ".join([*(Path(c).name for c in chain), Path(key).name])
        raise CnnCalcError(Problem(f"extends cycle: {names}", file, line))
    from .loader import load_yaml, read_text
    from .spec import parse_spec

    base = resolve_extends(load_yaml(read_text(base_path), base_name), base_name,
                           (*chain, key))
    parse_spec(base, base_name)  # the base must be valid on its own; its errors name its file
    blocks = base.get("blocks")
    if isinstance(blocks, LineDict):  # base blocks keep their file, for errors inside them
        for name, body in list(blocks.items()):
            if isinstance(body, LineDict) and not getattr(body, "file", None):
                blocks[name] = _sourced(body, base_name)
    merged = LineDict(raw.line)
    for source in (base, raw):
        for k, value in source.items():
            if k in ("extends", "edits"):
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
    _apply_edits(layers, raw.get("edits"), file, raw.line_of("edits"))
    return merged


def _relocated(value: Any, line: int) -> Any:
    """A copy of loaded YAML with every line set to `line` (see resolve_extends)."""
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


def _locate(ref: str, file: str, line: int) -> tuple[str, Path]:
    """(display name, path) of an extends reference: a path relative to `file`, or a name."""
    from ..errors import suggest
    from .catalog import bundled

    if ref.endswith(SPEC_SUFFIXES) or "/" in ref or "\\" in ref:
        folder = Path(file).parent if Path(file).exists() else Path.cwd()
        path = folder / ref
        return str(path), _spec_file(path, file, line)
    specs = bundled()
    if ref not in specs:
        shown = repr(ref) if len(ref) <= 200 else repr(ref[:200]) + "..."
        raise CnnCalcError(Problem(f"extends: no bundled spec named {shown}"
                                   f"{suggest(ref[:200], specs)}; for a file, write a path "
                                   "ending in .yaml or .yml", file, line))
    return str(specs[ref]), specs[ref]


def _spec_file(path: Path, file: str, line: int) -> Path:
    """`path` when it is a spec file: a regular file whose name, and the name of what it links
    to, ends in .yaml or .yml. Anything else is refused before a byte of it is read, so that no
    error can quote a line of another file (`extends: /etc/shadow`)."""
    shown = repr(str(path)) if len(str(path)) <= 200 else repr(str(path)[:200]) + "..."

    def refuse(why: str) -> CnnCalcError:
        return CnnCalcError(Problem(f"extends: {shown} {why}", file, line))

    try:
        if path.is_dir():
            raise refuse("is a directory, not a spec file")
        if not path.exists():
            raise CnnCalcError(Problem(f"extends: no such file {shown}", file, line))

        if not path.is_file():
            raise refuse("is not a regular file (a device, pipe or socket); extends reads "
                         "spec files only")
        real = path.resolve()
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}") from None
    if not (path.name.endswith(SPEC_SUFFIXES) and real.name.endswith(SPEC_SUFFIXES)):
        raise refuse("is not a spec: extends reads only .yaml or .yml files and bundled "
                     "specs (nothing of this file was read)")
    return path


def _apply_edits(layers: SourcedList, edits: Any, file: str, line: int) -> None:
    if edits is None:
        return
    if not isinstance(edits, list):
        raise CnnCalcError(Problem("edits must be a list, e.g. '- remove: fc8'", file, line))
    problems = []
    for index, edit in enumerate(edits):
        at = edits.line_of(index) if isinstance(edits, LineList) else line
        try:
            _apply_edit(layers, edit, file, at)
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


def _apply_edit(layers: SourcedList, edit: Any, file: str, line: int) -> None:
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
            index = _index(layers, target)
            for seq in (layers, layers.item_lines, layers.item_files):
                del seq[index]
        return
    index = _index(layers, edit[op])
    what = {"replace": "with", "insert_before": "layers", "insert_after": "layers"}[op]
    if what not in edit:
        raise CnnCalcError(f"{op}: '{what}' is missing (the layers to put in)")
    new = _entries(edit[what], file, line)
    if op == "replace":
        for seq in (layers, layers.item_lines, layers.item_files):
            del seq[index]
    elif op == "insert_after":
        index += 1
    for offset, (item, at) in enumerate(new):
        layers.insert(index + offset, item)
        layers.item_lines.insert(index + offset, at)
        layers.item_files.insert(index + offset, None)


def _index(layers: list[Any], target: Any) -> int:
    from ..errors import suggest

    names = [item.get("name") if isinstance(item, dict) else None for item in layers]
    if not isinstance(target, str) or target not in names:
        known = [n for n in names if isinstance(n, str)]
        raise CnnCalcError(f"no top-level layer named {target!r}{suggest(target, known)}; "
                           f"named layers: {', '.join(known) or 'none'}")
    return names.index(target)
