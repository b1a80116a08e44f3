"""The docs site: every example of every page runs (tests/docs_examples.py says how), every
command has its page, and `mkdocs build --strict` builds the site (the docs extra, pinned;
installed by the README's test command, so CI builds it on every run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.commands import COMMANDS
from tests.docs_examples import (
    LANGUAGES,
    PAGES,
    ROOT,
    blocks,
    indented_fences,
    run_page,
    yaml_kind,
)

IDS = [str(p.relative_to(ROOT)) for p in PAGES]
README_LIMIT = 15 * 1024


def _skip_without(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed; CI installs it (the README's test command)")
        pytest.skip(f"{module} is not installed")


def test_the_readme_is_short() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size:,} bytes; the limit is {README_LIMIT:,}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_block_is_an_example_the_tests_know(page: Path) -> None:
    assert indented_fences(page) == [], f"{page}: fences inside lists are not read"
    for block in blocks(page):
        assert block.language in LANGUAGES, f"{block.where}: a fence needs one of {LANGUAGES}"
        if block.language == "yaml":
            yaml_kind(block)
        if block.language == "bash":
            assert page.name == "README.md", f"{block.where}: write commands as console"
        if block.language == "pycon":  # tests/test_python_api.py runs it
            assert page.name == "python-api.md", f"{block.where}: pycon is python-api.md's"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_the_page_runs_as_a_reader_would(page: Path, tmp_path: Path) -> None:
    """Its commands print what it shows, its specs load, its python runs (run_page)."""
    failures, skipped = run_page(page, tmp_path)
    assert not failures, "\n\n".join(failures) + (
        f"\n\n(rewrite the outputs with: python tests/docs_examples.py --update "
        f"{page.relative_to(ROOT)})")
    if skipped and os.environ.get("CI"):
        pytest.fail("skipped in CI: " + "; ".join(skipped))


def test_every_command_has_its_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for name in COMMANDS:
        page = ROOT / "docs" / "commands" / f"{name}.md"
        assert page.exists(), f"docs/commands/{name}.md"
        assert page.read_text(encoding="utf-8").startswith(f"# `cnncalc {name}`"), page
        assert f"commands/{name}.md" in nav, f"mkdocs.yml: no nav entry for {name}"


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (ROOT / "docs").rglob("*.md"):
        assert str(page.relative_to(ROOT / "docs")) in nav, page


def test_the_docs_name_papers_not_the_lecture() -> None:
    """"The lecture" is the course's lecture notes, said so; the architectures are named by
    their papers."""
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            assert not re.search(r"\b[Tt]he lecture\b", line), \
                f"{page.relative_to(ROOT)}:{number}: {line}"


def test_mkdocs_builds_the_site_strictly(tmp_path: Path) -> None:
    _skip_without("mkdocs")
    _skip_without("material")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "options" / "index.html").exists()
