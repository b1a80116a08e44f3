"""The README's two commands are the ones CI runs, and its examples are real (tests/test_docs.py
runs every example of the README and of the docs; here, what is the README's own)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_install_and_test_commands():
    show, test = readme_commands()
    assert show == "pip install . && cnncalc show lenet5"
    assert "pytest" in test and "torch==2.13.0" in test
    # the test and docs extras: pytest, pre-commit and hatchling (tests/test_snippets.py), and
    # mkdocs with the material theme, pinned (tests/test_docs.py builds the site, --strict)
    assert "test" in test and "docs" in test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_sample_output_is_current(runner):
    from cnncalc.commands import app
    from tests.docs_examples import WIDTH

    text = (ROOT / "README.md").read_text()
    sample = re.search(r"\$ cnncalc show lenet5\n(.*?)```", text, re.S).group(1)
    # printed as every example of the README and the docs is (tests/docs_examples.py)
    actual = runner.invoke(app, ["show", "lenet5"], env={"COLUMNS": WIDTH}).output
    strip = [line.rstrip() for line in actual.splitlines()]
    assert [line.rstrip() for line in sample.splitlines()] == strip


def test_docs_block_example_by_hand():
    import cnncalc

    text = (ROOT / "docs" / "spec-format.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S)
                 if "two-basic-blocks" in b)
    report = cnncalc.analyze(cnncalc.load_text(block, "spec-format.md"))
    # layer2: two BasicBlocks 64 -> 128; the first with stride 2 and a 1x1 projection
    first = 3 * 3 * 64 * 128 + 2 * 128 + 3 * 3 * 128 * 128 + 2 * 128 + 64 * 128 + 2 * 128
    second = 2 * (3 * 3 * 128 * 128 + 2 * 128)
    assert report.totals.params == first + second
    assert report.nodes[-1].output_shape == (28, 28, 128)
