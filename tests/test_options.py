"""One meaning per option name, readable help, and docs/options.md generated from the app.

The rule is checked on the app itself (`commands.options.problems`): every option name is
declared once in `MEANINGS`, a short flag stands for one long name, a name takes one kind of
value everywhere, and a hidden option is only a deprecated spelling. The checker is checked on
small apps that break each rule.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import pytest
import typer

from cnncalc.commands import COMMANDS, app
from cnncalc.commands.base import REMOVED_IN, CommandGroup
from cnncalc.commands.options import MEANINGS, collect, page, problems

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "options.md"


def test_no_option_name_has_two_meanings() -> None:
    assert problems(app) == []


def test_the_options_page_is_what_the_app_says() -> None:
    """Regenerate with: python -m cnncalc.commands.options docs/options.md"""
    assert PAGE.read_text(encoding="utf-8") == page(app)
    for name in COMMANDS:
        assert f"### `cnncalc {name}`" in PAGE.read_text(encoding="utf-8")


def test_every_meaning_is_used() -> None:
    used = {f.long for f in collect(app) if not f.argument}
    assert set(MEANINGS) <= used | {"--help"}, set(MEANINGS) - used


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_names_values_readably(runner, command: str) -> None:
    """`SPEC`, `N`, `HxWxC`, `SIZE`: never typer's `<str>`, `<int range>`, `<list[str]>`."""
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert not re.search(r"<[a-z][a-z \[\]|,]*>", result.output), result.output
    assert "{" not in result.output.splitlines()[0]  # the usage line: SPEC, not {spec}


def test_the_multipliers_and_the_rows_shown_have_a_name_each(runner) -> None:
    found = {(f.command, f.long): f for f in collect(app) if not f.argument and not f.hidden}
    assert found["scale", "--depth"].metavar == "D" and found["scale", "--width"].metavar == "W"
    for command in ("show", "scale", "verify", "latency"):
        assert ("--levels" in [f.long for f in collect(app) if f.command == command])
        assert (command, "--depth") not in found or command == "scale"
    assert "-d" in found["scale", "--depth"].shorts
    assert not any(f.long == "--width" and f.command != "scale" for f in found.values())


def test_the_old_spelling_of_levels_still_works_with_a_note(runner) -> None:
    new = runner.invoke(app, ["show", "resnet18", "--levels", "1"])
    for old in (["--depth", "1"], ["-d", "1"]):
        result = runner.invoke(app, ["show", "resnet18", *old])
        assert result.exit_code == 0, result.output
        assert result.stdout == new.stdout
        assert "deprecated" in result.stderr and "--levels" in result.stderr
        assert REMOVED_IN in result.stderr and len(result.stderr.splitlines()[0]) <= 80
    assert "deprecated" not in new.stderr
    assert "--depth" not in runner.invoke(app, ["show", "--help"]).output
    clash = runner.invoke(app, ["show", "resnet18", "--levels", "1", "-d", "2"])
    assert clash.exit_code == 2 and "give the option once" in clash.stderr


def test_fit_takes_every_budget_option_of_check() -> None:
    from cnncalc.analyses.budget import BUDGETS

    def budgets(command: str) -> dict[str, str | None]:
        return {f.long: f.metavar for f in collect(app)
                if f.command == command and f.long.startswith("--max-")
                and f.long not in ("--max-growth", "--max-memory")}

    expected = {b.option: "COUNT" if b.unit == "count" else "SIZE" for b in BUDGETS.values()}
    assert budgets("check") == budgets("fit") == expected


# A 1x1 conv from 8 to 16 channels on 4x4, no bias: MACs = 4*4*8*c = 128 c with
# c = make_divisible(16 w, 8): width 1.5 -> 24 channels (3,072 MACs), 1.75 -> 32 (4,096).
BUDGETED = ("name: wide\ninput: 4x4x8\nbudget:\n  macs: {macs}\n  batch: {batch}\n"
            "layers:\n  - conv: {{filters: 16, kernel: 1, bias: false}}\n")


def test_fit_reads_the_spec_budget(runner, tmp_path: Path) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text(BUDGETED.format(macs=128 * 24, batch=1))
    result = runner.invoke(app, ["fit", str(spec), "--by", "width"])
    assert result.exit_code == 0, result.output
    assert "Largest that fits: width 1.5 " in result.stdout
    # the command line replaces the spec's limit of the same name ...
    result = runner.invoke(app, ["fit", str(spec), "--by", "width", "--max-macs", "2048"])
    assert "Largest that fits: width 1 " in result.stdout
    # ... and adds others: FLOPs are 2 MACs, so 4,096 FLOPs stop at 16 channels too
    result = runner.invoke(app, ["fit", str(spec), "--by", "width", "--max-flops", "4096"])
    assert "Largest that fits: width 1 " in result.stdout and "over: FLOPs" in result.stdout
    # every format charts or lists the budgets asked for, check's as well as fit's own
    for fmt in ("html", "json", "csv", "markdown"):
        result = runner.invoke(app, ["fit", str(spec), "--by", "width", "--max-flops", "4096",
                                     "--max-peak-memory", "1MiB", "-f", fmt])
        assert result.exit_code == 0, (fmt, result.output)
        assert "FLOPs" in result.stdout or "flops" in result.stdout, fmt
    # the budget's batch: MACs of 2 examples
    spec.write_text(BUDGETED.format(macs=256 * 16, batch=2))
    result = runner.invoke(app, ["fit", str(spec), "--by", "width"])
    assert "Largest that fits: width 1 " in result.stdout and "batch 2" in result.stdout
    # no budget anywhere: say where one can come from
    spec.write_text("name: n\ninput: 4x4x8\nlayers:\n  - conv: [16, 1]\n")
    result = runner.invoke(app, ["fit", str(spec), "--by", "width"])
    assert result.exit_code == 2 and "'budget:' in the spec" in result.stderr


def test_fit_budget_errors_name_the_spec_line(runner, tmp_path: Path) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text(BUDGETED.format(macs="5Q", batch=1))
    result = runner.invoke(app, ["fit", str(spec), "--by", "width"])
    assert result.exit_code == 2
    assert re.search(r"wide\.yaml:4: .*budget\.macs", result.stderr), result.stderr


# --------------------------------------------------------------------------- the checker

def _app(*commands: tuple[str, object]) -> typer.Typer:
    small = typer.Typer(cls=CommandGroup, add_completion=False, rich_markup_mode=None)
    for name, function in commands:
        small.command(name)(function)
    return small


def test_the_checker_finds_a_name_with_two_meanings() -> None:
    def one(width: Annotated[Optional[float], typer.Option("--width", "-w")] = None) -> None:
        """a multiplier"""

    def two(width: Annotated[Optional[int], typer.Option("--width")] = None) -> None:
        """a console width"""

    found = problems(_app(("one", one), ("two", two)))
    assert any("--width takes" in p for p in found), found


def test_the_checker_finds_a_short_flag_for_two_names_and_unknown_names() -> None:
    def one(levels: Annotated[Optional[int], typer.Option("--levels", "-d")] = None) -> None:
        """rows"""

    def two(depth: Annotated[Optional[float], typer.Option("--depth", "-d")] = None,
            colour: Annotated[bool, typer.Option("--colour")] = False) -> None:
        """multiplier"""

    found = problems(_app(("one", one), ("two", two)))
    assert "-d stands for --depth and --levels" in found
    assert any(p.startswith("two --colour: not in MEANINGS") for p in found)


def test_the_checker_finds_a_hidden_option_that_is_no_deprecated_spelling() -> None:
    def one(secret: Annotated[Optional[int], typer.Option("--batch", hidden=True)] = None
            ) -> None:
        """hidden"""

    assert any("hidden, but not a deprecated spelling" in p
               for p in problems(_app(("one", one), ("two", one))))
