"""Shell completion: `cnncalc completion SHELL` prints each script, the shipped copies in
completions/ are its output, and the app answers the scripts' questions (commands, options,
choices and bundled spec names) without importing torch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.completion import FILES, generate, main
from cnncalc.core.catalog import bundled

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "completions"

# What a shell's script runs when the user presses tab: `cnncalc` with the completion
# variables set. The child reports on stderr whether torch got imported.
CHILD = ("import sys; sys.argv = ['cnncalc']\n"
         "from cnncalc.cli import run\n"
         "try:\n    run()\nfinally:\n    print('torch' in sys.modules, file=sys.stderr)\n")


def test_shipped_scripts_are_current(tmp_path: Path) -> None:
    """Regenerate with: python -m cnncalc.completion generate completions/"""
    generate(tmp_path)
    for name in FILES.values():
        assert (SHIPPED / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert sorted(p.name for p in SHIPPED.iterdir()) == sorted(FILES.values())


@pytest.mark.parametrize("shell", sorted(FILES))
def test_the_completion_command_prints_the_shipped_script(runner, shell: str) -> None:
    from cnncalc.commands import app

    result = runner.invoke(app, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert result.stdout == (SHIPPED / FILES[shell]).read_text(encoding="utf-8")


def test_the_completion_command_refuses_other_shells(runner) -> None:
    from cnncalc.commands import app

    result = runner.invoke(app, ["completion", "tcsh"])
    assert result.exit_code == 2 and "tcsh" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_completion_command_completes_shell_names() -> None:
    assert sorted(complete_bash("cnncalc completion ")) == sorted(FILES)


def test_scripts_call_back_into_cnncalc() -> None:
    for shell, name in FILES.items():
        text = (SHIPPED / name).read_text(encoding="utf-8")
        assert re.search(rf'_CNNCALC_COMPLETE\s*=\s*"?complete_{shell}', text), shell
    assert (SHIPPED / "_cnncalc").read_text().startswith("#compdef cnncalc\n")


def test_generator_usage() -> None:
    assert main(["nonsense"]) == 2


def complete_bash(words: str) -> list[str]:
    """The candidates bash would get for the command line `words` (cursor at its end)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**os.environ, "_CNNCALC_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(cword)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False", "completion imported torch"
    return done.stdout.split()


def test_completes_commands() -> None:
    offered = complete_bash("cnncalc ")
    assert {"show", "specs", "schema", "completion"} <= set(offered)
    assert complete_bash("cnncalc sch") == ["schema"]


def test_completes_options_and_choices() -> None:
    # --depth, show's deprecated spelling of --levels, is hidden: not offered
    assert set(complete_bash("cnncalc show lenet5 --d")) == {"--dtype"}
    assert set(complete_bash("cnncalc show lenet5 --l")) == {"--levels"}
    assert set(complete_bash("cnncalc show lenet5 --dtype ")) == {"fp32", "fp16", "bf16",
                                                                    "int8"}


def test_completes_conventions() -> None:
    names = {"cnncalc", "torchinfo", "fvcore", "ptflops", "thop", "flopcounter"}
    assert set(complete_bash("cnncalc show lenet5 --convention ")) == names
    assert set(complete_bash("cnncalc conventions ")) == names
    assert complete_bash("cnncalc conven") == ["conventions"]


def test_completes_bundled_spec_names() -> None:
    names = [n for n in bundled() if n.startswith("res")]
    assert names, "the bundled specs include resnet18 and resnet50"
    assert sorted(complete_bash("cnncalc show res")) == sorted(names)
    assert sorted(complete_bash("cnncalc show ")) == sorted(bundled())


@pytest.mark.parametrize("shell,extra", [
    ("zsh", {}),
    ("fish", {"_TYPER_COMPLETE_FISH_ACTION": "get-args"}),
    ("powershell", {"_TYPER_COMPLETE_WORD_TO_COMPLETE": "res"}),
])
def test_other_shells_get_spec_names(shell: str, extra: dict[str, str]) -> None:
    env = {**os.environ, "_CNNCALC_COMPLETE": f"complete_{shell}",
           "_TYPER_COMPLETE_ARGS": "cnncalc show res", **extra}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "resnet18" in done.stdout and "resnet50" in done.stdout
