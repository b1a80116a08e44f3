"""The layout shows the architecture: imports point one way, and no two modules import each other.

    commands -> present, writers, analyses, torch -> core        (errors: everyone's)
    present -> result <- writers
    notebook -> present, writers, core   (a Report's notebook views, through `core.report.VIEWS`)

Every `import` and `from ... import` in the package is read (at module level or inside a
function: a lazy import is still a dependency) and resolved to the module it names.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cnncalc"

#: Which layers each layer may import (the package root only for `__version__`).
ALLOWED = {
    "core": {"core", "errors"},
    "analyses": {"core", "analyses", "errors"},
    "torch": {"core", "analyses", "errors", "importer"},
    "importer": {"core", "errors", "importer"},
    "onnx": {"core", "errors", "importer", "torch"},
    "result": set(),
    "writers": {"writers", "result", "core", "errors", "root"},
    "present": {"present", "result", "core", "analyses", "errors"},
    "commands": {"commands", "present", "writers", "analyses", "core", "errors", "result",
                 "torch", "onnx", "root"},
    "cli": {"commands"},
    "completion": {"commands"},
    "errors": set(),
    "root": {"core", "errors", "notebook"},
    "notebook": {"core", "present", "writers"},
    "main": {"cli"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    name = parts[1]
    return {"__main__": "main"}.get(name, name)


def imports(path: Path) -> set[str]:
    """The cnncalc modules `path` imports, as dotted names."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "cnncalc"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.split(".")[0] == "cnncalc":
                target = node.module
            else:
                continue
            for alias in node.names:  # `from . import formulas` imports a module
                sub = f"{target}.{alias.name}"
                found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                          else target)
    return found


GRAPH = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def test_imports_point_one_way() -> None:
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        for target in sorted(targets):
            if target == module:
                continue
            if layer(target) not in ALLOWED[layer(module)]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_module_imports_one_that_imports_it() -> None:
    """No cycles at all, lazy imports included (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in GRAPH or nxt == node:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checks_see_the_layout() -> None:
    """The graph is read right: known edges are found, every module has a layer."""
    assert "cnncalc.core.layers" in GRAPH["cnncalc.core.engine"]
    assert "cnncalc.core.formulas" in GRAPH["cnncalc.core.layers"]  # `from . import formulas`
    assert "cnncalc.analyses.receptive" in GRAPH["cnncalc.present.report"]  # a lazy import
    assert all(layer(m) in ALLOWED for m in GRAPH)
