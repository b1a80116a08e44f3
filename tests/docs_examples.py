"""The examples of the README and of every docs page, read and run (tests/test_docs.py).

A page runs top to bottom as a reader would, in one scratch folder holding copies of `specs/`,
`schema/` and `tests/errors/` and the page's fixture files (written first): its console
commands, specs and python blocks in their order. Every fenced block is one of:

- ``console``: commands after `$ `, each followed by the output it prints. A `cnncalc ...` line
  runs in-process (`CliRunner`); any other line (a pipe, a redirection, `python script.py`)
  runs in bash, with `cnncalc` being `python -m cnncalc`, on a terminal of 100 columns
  without colour. Shown output must equal what runs
  (trailing spaces aside; a line `...` stands for any lines); a command shown without output
  must exit 0. `pre-commit` lines and the wheel's `pip` lines are run by
  tests/test_snippets.py; other `pip install` lines (installing cnncalc itself) are not run.
- ``yaml``: a spec (`layers:` with `input:`, or `extends:`) is loaded and analysed (a first
  line `# FILE.yaml: invalid on purpose ...` marks one whose errors the page shows); a block
  whose first line is `# FILE.yaml` is a fixture, written as FILE before the page runs (and
  loaded too, if it is a spec); a
  GitHub workflow (`jobs:`) or a pre-commit config (`repos:`) is run by test_snippets; a list
  of error cases is read as tests/errors/cases.yaml is.
- ``python``: run in one namespace per page (a block whose first line is `# in
  cnncalc/PATH.py` runs in a copy of that module's namespace; one whose first line is
  `# FILE.py` is also a fixture, as a YAML one). `torchvision` is a stand-in
  (`fake_torchvision`): no download, and no torchvision beside the CPU torch.
- ``json``: parsed. ``text``: shown output, an excerpt or a format, not run. ``bash``: the
  README's install commands (tests/test_readme.py). ``pycon``: a notebook session, run as
  doctests by tests/test_python_api.py (docs/python-api.md).

Anything else is an error, so no example escapes. Blocks that need torch or onnx (`verify`,
`import`, `export`, python that imports torch) are skipped where those are not installed,
never in CI. After a change of output, rewrite the shown outputs of a page from what the
commands print now (then read the diff):

    python tests/docs_examples.py --update docs/commands/show.md
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: Pages whose examples are read: the README and every docs page.
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
LANGUAGES = {"console", "yaml", "python", "json", "text", "bash", "pycon"}
#: Console commands run by tests/test_snippets.py (they install things), not here.
ELSEWHERE = ("pip ", "pre-commit ")
#: The terminal the pages' outputs were printed on: 100 columns, no colour.
WIDTH = "100"
SHELL = re.compile(r"[|<>;&`]|\$\(")
FENCE = re.compile(r"^```([A-Za-z]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Block:
    page: Path
    language: str
    text: str
    line: int  # of the opening fence

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page (fences start at the line's first column)."""
    text = page.read_text(encoding="utf-8")
    return [Block(page, m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def indented_fences(page: Path) -> list[int]:
    """Lines of fences written indented (inside a list): the harness would not see them."""
    return [i for i, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
            if re.match(r"^\s+```", line)]


# --------------------------------------------------------------------------- console

@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


def commands(block: Block) -> list[Command]:
    out: list[Command] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            out.append(Command(line[2:]))
        elif out:
            out[-1].expected.append(line)
        elif line.strip():
            raise AssertionError(f"{block.where}: output before any command: {line!r}")
    while out and out[-1].expected and not out[-1].expected[-1].strip():
        out[-1].expected.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """`expected` equals `actual` line by line (trailing spaces aside), where a line `...`
    matches any run of lines (none included)."""
    want = [line.rstrip() for line in expected]
    got = [line.rstrip() for line in actual]
    while got and not got[-1]:
        got.pop()

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and want[i] == got[j] and match(i + 1, j + 1)

    return match(0, 0)


def workspace(page: Path, folder: Path) -> Path:
    """A scratch folder for a page's commands: copies of specs/, schema/ and tests/errors/, and
    the page's fixture files."""
    for name in ("specs", "schema"):
        shutil.copytree(ROOT / name, folder / name, dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests" / "errors", folder / "tests" / "errors", dirs_exist_ok=True)
    for block in blocks(page):
        name = fixture_name(block)
        if name:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text, encoding="utf-8")
    return folder


def fixture_name(block: Block) -> str | None:
    """`FILE` of a YAML or Python block whose first line is `# FILE` (or `# FILE: a note`)."""
    suffix = {"yaml": r"ya?ml", "python": r"py"}.get(block.language)
    if suffix is None:
        return None
    first = block.text.split("\n", 1)[0]
    found = re.fullmatch(rf"#\s*([\w./-]+\.{suffix})(:.*)?", first.strip())
    return found.group(1) if found else None


def run(command: str, folder: Path) -> tuple[int, str]:
    """Run one console line in `folder`: (exit code, what it printed, stdout and stderr)."""
    if SHELL.search(command) or not command.startswith("cnncalc "):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": WIDTH, "NO_COLOR": "1"}
        script = f'cnncalc() {{ "{sys.executable}" -m cnncalc "$@"; }}\n' \
                 f'python() {{ "{sys.executable}" "$@"; }}\n{command}\n'
        done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, timeout=300,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return done.returncode, done.stdout
    from typer.testing import CliRunner

    from cnncalc.commands import app

    argv = shlex.split(command, comments=True)[1:]
    here = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, argv, env={"COLUMNS": WIDTH, "NO_COLOR": "1"},
                                    prog_name="cnncalc")
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{command}: {result.exception!r}") from result.exception
    return result.exit_code, result.output


def _updated(expected: list[str], actual: list[str], fill: bool = False) -> list[str]:
    """The new shown output: what ran, keeping the page's `...` elisions when they still fit
    (an output shown as `...` alone stays so, unless `fill`)."""
    if [e.strip() for e in expected] == ["..."]:
        return [line.rstrip() for line in actual] if fill else expected
    if "..." in [e.strip() for e in expected]:
        if matches(expected, actual):
            return expected
        # the same lines spaced differently: take what ran, keep the elisions
        spaced, start = [], 0
        for line in expected:
            if line.strip() == "...":
                spaced.append("...")
                continue
            words = line.split()
            found = next((k for k in range(start, len(actual)) if actual[k].split() == words),
                         None)
            spaced.append(actual[found].rstrip() if found is not None else line)
            start = found + 1 if found is not None else start
        if matches(spaced, actual):
            return spaced
    return [line.rstrip() for line in actual]


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- yaml

def yaml_kind(block: Block) -> str:
    """spec, fixture, workflow, pre-commit, error-cases; AssertionError for anything else."""
    import yaml

    data = yaml.safe_load(block.text)
    if isinstance(data, dict) and "jobs" in data:
        return "workflow"
    if isinstance(data, dict) and "repos" in data:
        return "pre-commit"
    if isinstance(data, list) and data and all(isinstance(d, dict) and "file" in d
                                               for d in data):
        assert set().union(*data) <= {"file", "line", "layer", "message", "exit", "stdout"}, \
            f"{block.where}: not an error case"
        return "error-cases"
    if isinstance(data, dict) and "layers" in data and "input" in data:
        return "spec"
    if isinstance(data, dict) and "extends" in data:
        return "spec"
    if fixture_name(block):
        return "fixture"  # a file the page's commands read (a device profile, ...)
    raise AssertionError(f"{block.where}: a YAML example must be a whole spec (name, input, "
                         "layers), a fixture ('# FILE.yaml' first), a workflow or a "
                         "pre-commit config")


def check_spec_block(block: Block) -> Any:
    """Load and analyse a spec example, in the page's folder (a fixture through its file, so
    that its `extends` and `imports` resolve as a reader's would)."""
    import cnncalc

    name = fixture_name(block)
    if name:
        return cnncalc.analyze(cnncalc.load(name))
    return cnncalc.analyze(cnncalc.load_text(block.text, block.where))


# --------------------------------------------------------------------------- python

def fake_torchvision() -> types.ModuleType:
    """`torchvision.models.NAME(weights=...)`: torchvision's networks as transcribed in
    tests/torchvision_small.py (at full width: torchvision's modules, names and state-dict
    keys), else a stand-in with torchvision's recorded state-dict keys and shapes
    (tests/data/torchvision_state_dicts.json); random weights either way. The docs' recipes
    run as a reader's would, without torchvision (it does not install beside the CPU torch)
    and without the download."""
    import torch

    from tests import torchvision_small

    recorded = {name: keys for name, keys in json.loads(
        (ROOT / "tests" / "data" / "torchvision_state_dicts.json").read_text()).items()
        if name != "versions"}

    class Pretrained(torch.nn.Module):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
            generator = torch.Generator().manual_seed(0)
            return {key: torch.randn(shape, generator=generator)
                    if "num_batches_tracked" not in key else torch.tensor(0)
                    for key, shape in recorded[self.name]}

    def transcribed(name: str) -> Any:
        make = getattr(torchvision_small, name)
        return lambda weights=None, **kwargs: make(**kwargs)

    models = types.ModuleType("torchvision.models")
    for name in recorded:
        setattr(models, name, (lambda n: lambda weights=None, **kw: Pretrained(n))(name))
    for name in ("resnet18", "resnet50"):
        setattr(models, name, transcribed(name))
    module = types.ModuleType("torchvision")
    module.models = models  # type: ignore[attr-defined]
    return module


def python_needs_torch(block: Block) -> bool:
    return bool(re.search(r"^\s*(import|from) (torch|torchvision|cnncalc\.torch)\b", block.text,
                          re.M))


def run_python(block: Block, scope: dict[str, Any]) -> None:
    """Run one python block in the page's namespace (a block whose first line is
    `# in cnncalc/PATH.py`: in a copy of that module's namespace)."""
    import importlib

    home = re.match(r"# in (cnncalc/[\w/]+)\.py", block.text)
    if home:
        module = importlib.import_module(home.group(1).replace("/", "."))
        local = dict(vars(module))
        exec(compile(block.text, block.where, "exec"), local)  # noqa: S102
        scope.update({k: v for k, v in local.items() if k not in vars(module)})
    else:
        exec(compile(block.text, block.where, "exec"), scope)  # noqa: S102


# --------------------------------------------------------------------------- a page

def needs(block: Block, command: str = "") -> set[str]:
    """The optional packages a block (or one of its console commands) needs to run."""
    if block.language == "python":
        return {"torch"} if python_needs_torch(block) else set()
    if command:
        found = set()
        if re.search(r"\bcnncalc (verify|import|export)\b|^python \S+\.py", command):
            found.add("torch")
        if re.search(r"\bcnncalc export\b|\.onnx\b", command):
            found.add("onnx")
        return found
    return set()


def missing(wanted: set[str]) -> set[str]:
    return {name for name in wanted if not _has(name)}


def run_page(page: Path, folder: Path, update: bool = False,
             fill: bool = False) -> tuple[list[str], list[str]]:
    """Run a page's examples top to bottom, as a reader would, in one scratch folder: console
    commands, specs, python blocks and JSON in their order (fixture files are written first).
    (failures, what was skipped for a missing optional package); with `update`, rewrite the
    page's shown outputs from what ran."""
    workspace(page, folder)
    failures: list[str] = []
    skipped: list[str] = []
    text = page.read_text(encoding="utf-8")
    scope: dict[str, Any] = {"__name__": "__docs__"}
    saved = {name: sys.modules.get(name) for name in ("torchvision", "torchvision.models")}
    here = os.getcwd()
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    try:
        if "torchvision" in text and _has("torch"):
            fake = fake_torchvision()
            sys.modules["torchvision"] = fake
            sys.modules["torchvision.models"] = fake.models  # type: ignore[attr-defined]
        for block in blocks(page):
            try:
                if block.language == "console":
                    new = _console(block, folder, failures, skipped, update, fill)
                    if update:
                        text = text.replace(f"```console\n{block.text}```",
                                            "```console\n" + "\n".join(new) + "\n```", 1)
                elif block.language == "python":
                    if missing(needs(block)):
                        skipped.append(f"{block.where} ({', '.join(missing(needs(block)))})")
                        continue
                    run_python(block, scope)
                elif block.language == "yaml" and yaml_kind(block) == "spec":
                    first = block.text.split("\n", 1)[0]
                    if "invalid on purpose" not in first:
                        report = check_spec_block(block)
                        assert report.layer_count > 0, block.where
                elif block.language == "json":
                    json.loads(block.text)
            except Exception as exc:  # noqa: BLE001 - every example's failure is reported
                failures.append(f"{block.where}: {type(exc).__name__}: {exc}")
    finally:
        sys.path.remove(str(folder))
        os.chdir(here)
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    if update:
        page.write_text(text, encoding="utf-8")
    return failures, skipped


def _console(block: Block, folder: Path, failures: list[str], skipped: list[str],
             update: bool, fill: bool = False) -> list[str]:
    new_lines: list[str] = []
    for command in commands(block):
        new_lines.append(f"$ {command.line}")
        if command.line.startswith(ELSEWHERE):
            new_lines += command.expected
            continue
        lacking = missing(needs(block, command.line))
        if lacking:
            skipped.append(f"{block.where}: {command.line} ({', '.join(sorted(lacking))})")
            new_lines += command.expected
            continue
        code, output = run(command.line, folder)
        actual = output.splitlines()
        if not command.expected:
            if code != 0:
                failures.append(f"{block.where}: `{command.line}` exited {code}:\n{output}")
        elif not matches(command.expected, actual):
            failures.append(f"{block.where}: `{command.line}` printed:\n{output}\n"
                            f"the page shows:\n" + "\n".join(command.expected))
        if command.expected:
            new_lines += (_updated(command.expected, actual, fill) if update
                          else command.expected)
    return new_lines


def main(argv: list[str]) -> int:
    """`python tests/docs_examples.py --update [--fill] PAGE...`: rewrite shown outputs
    (`--fill`: an output shown as `...` alone too)."""
    import tempfile

    if len(argv) < 2 or argv[0] != "--update":
        print("usage: python tests/docs_examples.py --update [--fill] PAGE...", file=sys.stderr)
        return 2
    fill = argv[1] == "--fill"
    sys.path.insert(0, str(ROOT))
    for name in argv[2 if fill else 1:]:
        with tempfile.TemporaryDirectory() as folder:
            failures, skipped = run_page(Path(name).resolve(), Path(folder), update=True,
                                         fill=fill)
            for failure in failures + [f"skipped: {s}" for s in skipped]:
                print(failure.splitlines()[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
