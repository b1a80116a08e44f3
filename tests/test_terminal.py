"""The terminal: every table fits 80 columns, colour only on a terminal (through rich, imported
only then), `show --sort/--top`, the percent and memory columns, the short legend, and the
progress bars of the slow commands.

The numbers checked by hand are the lecture's LeNet-5 (tests/test_formats.py has the closed
forms): MACs 352,800 (conv1), 240,000 (conv2), 48,000, 10,080, 840 of 651,720 in all.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from cnncalc.commands import app
from cnncalc.core.catalog import bundled

WIDTH = 80
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose standard output is 80 columns wide, without colour."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def lines_of(runner: CliRunner, args: list[str], code: int = 0) -> list[str]:
    result = runner.invoke(app, args)
    assert result.exit_code == code, (args, result.output)
    return result.output.splitlines()


def too_wide(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line) > WIDTH]


@pytest.mark.parametrize("spec", sorted(bundled()))
def test_every_bundled_spec_fits_80_columns(narrow, spec):
    for args in (["show", spec], ["show", spec, "--levels", "1", "--rf"],
                 ["show", spec, "--top", "5"], ["show", spec, "--explain-counts"],
                 ["memory", spec], ["explain", spec], ["scale", spec, "--depth", "1"]):
        if args[0] == "scale" and spec.startswith("inception-"):
            continue  # nothing to repeat: scale refuses them (exit 2, one line)
        assert too_wide(lines_of(narrow, args)) == [], args


COMMANDS = [
    ["specs"],
    ["compare", "lenet5", "alexnet", "resnet50"],
    ["compare", "vgg16", "vgg16-transfer"],
    ["check", "lenet5", "resnet50", "yolov8n"],
    ["check", "resnet50", "--max-params", "20M", "--max-macs", "1G"],
    ["fit", "resnet18", "--max-macs", "1G"],
    ["fit", "lenet5", "--by", "width", "--max-params", "100k"],
    ["conv", "-i", "3 0 1 2 7 4; 1 5 8 9 3 1; 2 7 2 5 1 3; 0 1 3 1 7 8; 4 2 1 6 2 8; 2 4 5 2 3 9",
     "--show-padded", "-p", "same"],
    ["scale", "resnet18", "--phi", "1"],
    ["pool", "-i", "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16"],
    ["size", "224x224x3", "--kernel", "7", "-s", "2", "-p", "3", "--filters", "64"],
    ["latency", "resnet50", "-D", "a100"],
    ["latency", "inception_v3", "-D", "phone-a76", "--levels", "1"],
    ["lint", "lenet5", "resnet50", "yolov8n", "tour"],
    ["check", "resnet50", "tour", "--lint"],
    ["resolution", "yolov8n", "--sweep", "16..256:16"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_fits_80_columns(narrow, args):
    result = narrow.invoke(app, args)
    assert result.exit_code in (0, 1), (args, result.output)
    assert too_wide(result.output.splitlines()) == []


def test_prose_moves_under_its_row_rather_than_a_narrow_column(narrow):
    lines = lines_of(narrow, ["lint", "resnet50"], code=1)
    assert lines[2].split() == ["Spec", "Layer", "Rule"]  # Where and Finding: under each row
    row = next(i for i, line in enumerate(lines) if "layer2.0.downsample.0" in line)
    assert lines[row + 1].strip().endswith("resnet50.yaml:40")
    assert lines[row + 2].startswith("      a 1x1 kernel with stride 2")


def test_verify_fits_80_columns(narrow):
    if not os.environ.get("CI"):
        pytest.importorskip("torch")
    for spec in ("lenet5", "tour"):
        assert too_wide(lines_of(narrow, ["verify", spec])) == []


def test_a_wider_terminal_shows_every_column(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    header = lines_of(CliRunner(), ["show", "resnet50"])[2].split()
    assert header == ["Layer", "Shape", "Activations", "Params", "MACs", "%", "MACs", "Memory"]


def test_columns_left_out_are_named(narrow):
    lines = lines_of(narrow, ["show", "resnet50"])
    assert "Activations" not in lines[2] and "MACs" in lines[2]
    note = " ".join(line.strip() for line in lines if line.startswith(("Not shown", "  ")))
    assert "Not shown in 80 columns: Activations" in note


def test_long_names_are_cut_not_numbers(narrow):
    lines = lines_of(narrow, ["show", "inception_v3", "--levels", "1"])
    assert any("…" in line for line in lines)
    # every MACs figure is whole: the total row ends with the exact total
    total = next(line for line in lines if line.lstrip().startswith("total"))
    assert "5,713,216,096" in total


def test_piped_output_is_80_columns_without_colour():
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    out = subprocess.run([sys.executable, "-m", "cnncalc", "show", "resnet50"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert not ANSI.search(out)
    assert max(map(len, out.splitlines())) <= WIDTH


def _in_a_terminal(args: list[str], **env: str) -> str:
    """What `cnncalc ARGS` prints to a pseudo-terminal (100 columns)."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "cnncalc", *args], stdout=follower,
                               stderr=subprocess.DEVNULL, env={**base, "TERM": "xterm", **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the child is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_colour_on_a_terminal_and_none_with_no_color():
    coloured = _in_a_terminal(["show", "lenet5"])
    assert ANSI.search(coloured), coloured[:300]
    plain = ANSI.sub("", coloured)
    assert max(map(len, plain.splitlines())) <= 100  # the terminal's width
    # the three costliest rows by MACs (conv1, conv2, fc3) and the total are coloured
    styled = [ANSI.sub("", line).split()[0] for line in coloured.splitlines()
              if line.startswith("\x1b[") and ANSI.sub("", line).strip()]
    assert {"conv1", "conv2", "fc3", "total"} <= set(styled)
    assert "pool1" not in styled
    assert not ANSI.search(_in_a_terminal(["show", "lenet5"], NO_COLOR="1"))


def test_rich_is_imported_only_for_colour():
    code = (
        "import sys\n"
        "from cnncalc.commands import app\n"
        "from typer.testing import CliRunner\n"
        "for args in (['show', 'resnet18'], ['show', 'resnet18', '-f', 'html'],\n"
        "             ['fit', 'lenet5', '--by', 'width', '--max-params', '100k']):\n"
        "    r = CliRunner().invoke(app, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "assert 'rich' not in sys.modules, 'rich was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_the_styled_table_goes_through_rich():
    import cnncalc
    from cnncalc.present.report import result
    from cnncalc.writers import write

    report = cnncalc.analyze(cnncalc.load("lenet5"))
    plain = write(result(report), "table", styled=False, width=WIDTH)
    styled = write(result(report), "table", styled=True, width=WIDTH)
    assert ANSI.sub("", styled) == plain and styled != plain


# --------------------------------------------------------------------------- show's options

def rows(lines: list[str]) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in lines[5:]  # after the input row
            if line.startswith("  ") and not line.startswith("   ─")]


def test_top_keeps_the_costliest_rows_by_macs(runner):
    lines = lines_of(runner, ["show", "lenet5", "--top", "2"])
    body = rows(lines)
    assert [r[0] for r in body] == ["conv1 (f=5, s=1, tanh)", "conv2 (f=5, s=1, tanh)", "total"]
    share = (352_800 + 240_000) / 651_720
    assert f"The 2 largest of 8 rows by MACs: {share:.1%} of the total" in lines
    assert f"{share:.1%}" == "91.0%"  # 592,800 / 651,720 = 0.9096


def test_sort_by_params_lists_every_row_with_its_share(runner):
    body = rows(lines_of(runner, ["show", "lenet5", "--sort", "params"]))
    names = [r[0].split(" ")[0] for r in body[:-1]]
    # by hand: fc3 48,120; fc4 10,164; conv2 2,416; softmax 850; conv1 456; then no params
    assert names[:5] == ["fc3", "fc4", "conv2", "softmax", "conv1"]
    assert len(names) == 8
    header = lines_of(runner, ["show", "lenet5", "--sort", "params"])[2]
    assert "% params" in header
    assert f"{48_120 / 62_006:.1%}" in " ".join(body[0])  # 77.6%


def test_sorted_rows_are_named_by_their_paths(runner):
    body = rows(lines_of(runner, ["show", "resnet18", "--top", "3", "--sort", "activations"]))
    assert all("." in r[0] or r[0].split(" ")[0] in ("conv1", "bn1", "relu") for r in body[:-1])


def test_sort_and_top_are_checked(runner):
    result = runner.invoke(app, ["show", "lenet5", "--sort", "flops"])
    assert result.exit_code == 2 and "--sort" in result.output
    result = runner.invoke(app, ["show", "lenet5", "--top", "0"])
    assert result.exit_code == 2 and "--top" in result.output


def test_memory_column_is_each_output_in_bytes(runner):
    import csv

    text = runner.invoke(app, ["show", "lenet5", "-f", "csv", "--dtype", "fp16",
                               "--batch", "2"]).output
    by_name = {r["name"]: r for r in csv.DictReader(io.StringIO(text))}
    assert int(by_name["conv1"]["activation_bytes"]) == 28 * 28 * 6 * 2 * 2  # fp16, batch 2
    lines = lines_of(runner, ["show", "lenet5"])
    conv1 = next(line for line in lines if line.lstrip().startswith("conv1"))
    assert conv1.rstrip().endswith("18.4 KiB")  # 28*28*6*4 = 18,816 bytes


def test_the_legend_is_one_short_line_unless_asked(runner):
    short = lines_of(runner, ["show", "lenet5"])
    assert short[-1] == ("MACs: multiply-adds. Memory: the row's output. --explain-counts: "
                         "every rule.")
    assert not any(line.startswith("Counted:") for line in short)
    full = "\n".join(lines_of(runner, ["show", "lenet5", "--explain-counts"]))
    assert "Counted: params = learnable weights and biases" in full
    compare = lines_of(runner, ["compare", "lenet5", "alexnet"])
    assert len(compare[-1]) <= WIDTH and "--explain-counts" in compare[-1]


# --------------------------------------------------------------------------- progress bars

class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_appears_only_after_a_second_on_a_terminal(monkeypatch):
    from cnncalc.commands import progress

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(progress, "DELAY", 0.05)
    with progress.progress("trying things", 3) as bar:
        for _ in range(3):
            time.sleep(0.1)
            bar.advance()
    assert "trying things" in terminal.getvalue()

    quick = _Terminal()
    monkeypatch.setattr(sys, "stderr", quick)
    monkeypatch.setattr(progress, "DELAY", 5.0)
    with progress.progress("quick", 1) as bar:
        bar.advance()
    assert quick.getvalue() == ""  # done before the delay: nothing drawn


def test_no_progress_bar_off_a_terminal(monkeypatch):
    from cnncalc.commands import progress

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    with progress.progress("work", 2) as bar:
        time.sleep(0.05)
        bar.advance(2)
    assert piped.getvalue() == ""
    result = CliRunner().invoke(app, ["fit", "resnet18", "--max-macs", "1G"])
    assert result.exit_code == 0 and result.stderr == ""
