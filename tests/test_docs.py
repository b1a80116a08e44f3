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
    check_spec_block,
    console_failures,
    indented_fences,
    python_uses_torch,
    run_python,
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


@pytest.mark.parametrize("page", [p for p in PAGES if any(
    b.language == "console" for b in blocks(p))], ids=lambda p: str(p.relative_to(ROOT)))
def test_console_examples_print_what_the_page_shows(page: Path, tmp_path: Path) -> None:
    failures = console_failures(page, tmp_path)
    assert not failures, "\n\n".join(failures) + (
        f"\n\n(rewrite the outputs with: python tests/docs_examples.py --update "
        f"{page.relative_to(ROOT)})")


@pytest.mark.parametrize("page", [p for p in PAGES if any(
    b.language == "yaml" for b in blocks(p))], ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_examples_are_specs_that_load(page: Path, tmp_path: Path) -> None:
    for block in blocks(page):
        if block.language == "yaml" and yaml_kind(block) == "spec":
            first = block.text.split("\n", 1)[0]
            if "invalid on purpose" in first:
                continue
            report = check_spec_block(block, tmp_path)
            assert report.layer_count > 0, block.where


@pytest.mark.parametrize("page", [p for p in PAGES if any(
    b.language == "python" for b in blocks(p))], ids=lambda p: str(p.relative_to(ROOT)))
def test_python_examples_run(page: Path, tmp_path: Path) -> None:
    if python_uses_torch(page):
        _skip_without("torch")
    run_python(page, tmp_path)


@pytest.mark.parametrize("page", [p for p in PAGES if any(
    b.language == "json" for b in blocks(p))], ids=lambda p: str(p.relative_to(ROOT)))
def test_json_examples_parse(page: Path) -> None:
    import json

    for block in blocks(page):
        if block.language == "json":
            json.loads(block.text)


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
