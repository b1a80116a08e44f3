"""Shared fixtures: a CLI runner with a fixed console width, and spec helpers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import textwrap

import pytest
from hypothesis import Phase, settings
from typer.testing import CliRunner

import cnncalc

# The parse cache (cnncalc.core.parsecache) of the whole run goes to a folder of its own,
# never the user's: every test after the first to read a spec reads it back from there.
# Under mutmut every mutant's run imports this file in a process that ends without atexit:
# they share one folder (the cache is keyed by the whole text and the parser's files, which
# no mutant changes), rather than leave one behind per mutant.
if "MUTANT_UNDER_TEST" in os.environ:
    os.environ["CNNCALC_CACHE_DIR"] = os.path.join(tempfile.gettempdir(),
                                                   "cnncalc-cache-mutation")
else:
    os.environ["CNNCALC_CACHE_DIR"] = tempfile.mkdtemp(prefix="cnncalc-cache-")
    atexit.register(shutil.rmtree, os.environ["CNNCALC_CACHE_DIR"], ignore_errors=True)

# Mutation runs (tools/mutation.py, `--hypothesis-profile=mutation`): the same examples on every
# run and for every mutant, no example database carried from one mutant to the next, and no
# shrinking (a failing example kills the mutant as it is; shrinking it only spends the time
# that the mutant's timeout then counts as a kill anyway).
settings.register_profile("mutation", derandomize=True, database=None, deadline=None,
                          phases=(Phase.explicit, Phase.generate))


@pytest.fixture(autouse=True)
def _expressions_compiled_afresh_under_mutmut() -> None:
    """Under mutmut (tools/mutation.py) each mutant's tests run in a process forked from one
    that already ran them, whose caches hold every expression compiled by the unmutated code
    and the block expansions walked by it (the plans of specs a test module keeps): a mutant
    of the compiled functions or of the walk would never run. Clear them before each test
    there."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        from cnncalc.core import engine, expr

        for cache in (expr._CACHE, expr._COMPILED, expr._COSTS):
            cache.clear()
        engine._PLANS.clear()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def spec_text(layers: str, input: str = "32x32x3", extra: str = "") -> str:
    """A small spec around a YAML list of layers (given as indented text)."""
    body = textwrap.indent(textwrap.dedent(layers).strip(), "  ")
    return f"name: t\ninput: {input}\n{textwrap.dedent(extra)}layers:\n{body}\n"


def analyze_text(layers: str, input: str = "32x32x3", extra: str = "", **kw: object):
    return cnncalc.analyze(cnncalc.load_text(spec_text(layers, input, extra), "t.yaml"), **kw)


def skip_child_process_under_mutation() -> None:
    """A test that runs `python -m cnncalc` in a child process cannot run under mutmut: the child
    starts mutmut's trampolines without mutmut, and its time bounds do not hold for them. Such
    tests are skipped in mutation runs only (mutmut sets MUTANT_UNDER_TEST, to "" for its clean
    run); never in CI."""
    import os

    if "MUTANT_UNDER_TEST" in os.environ:
        pytest.skip("runs cnncalc in a child process (not under mutmut)")
