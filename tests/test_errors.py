"""The error corpus (tests/errors/cases*.yaml): every malformed spec, run as a user runs it.

Each case runs `python -m cnncalc show FILE` in a subprocess and must exit 2 (or as the case
says), print no traceback, name the file and line (and the layer where one applies), say what
its entry expects, and stay within 2 s of CPU time and 200 MB of resident memory. The bounds
are measured on the child alone with `os.wait4`, so other tests' subprocesses do not count;
CPU time rather than wall time is bounded because the CI machine is shared (wall time is
still checked, loosely, to catch a hang).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "errors"
#: cases.yaml, then any cases-TOPIC.yaml beside it (one file per class of input, so that
#: additions do not collide)
CASES = [case for path in sorted(CORPUS.glob("cases*.yaml"))
         for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []]

MAX_CPU_S = 2.0
MAX_WALL_S = 10.0  # a hang guard only; a loaded shared runner can stretch wall time
MAX_RSS_BYTES = 200 * 2**20


def case_id(case: dict) -> str:
    return case.get("file") or f"make-{case['make']}"


def make_input(kind: str, tmp: Path) -> str:
    """Inputs that cannot live in git: a 50 MB file, a directory, a missing path, ..."""
    if kind == "big":
        path = tmp / "big.yaml"
        row = "# " + "x" * 1021 + "\n"  # 1 KiB per line: 50 MiB of comments after a header
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("name: big\ninput: 8x8x3\nlayers: [relu]\n")
            block = row * 1024
            for _ in range(50):
                handle.write(block)
        return str(path)
    if kind == "directory":
        path = tmp / "specs.yaml"
        path.mkdir()
        return str(path)
    if kind == "missing":
        return str(tmp / "no-such-spec.yaml")
    if kind == "endless":  # reports size 0 and never ends: must be cut off, not read whole
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero here")
        return "/dev/zero"
    raise AssertionError(f"unknown make: {kind}")


#: Runs the command and reports its own child's rusage. The child must be forked from a small
#: process: on Linux a child's peak RSS includes the memory of the process it was forked from
#: (until exec), and this test process may hold torch from other tests.
LAUNCHER = """
import os, subprocess, sys
report, cmd = sys.argv[1], sys.argv[2:]
proc = subprocess.Popen(cmd)
_, status, usage = os.wait4(proc.pid, 0)
with open(report, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} "
            f"{usage.ru_maxrss}")
"""


def run_measured(args: list[str], stdin: bytes = b"") -> tuple[int, str, str, float, float, int]:
    """(exit code, stdout, stderr, wall s, cpu s, peak RSS bytes) of one child process."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as inp, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        inp.write(stdin)
        inp.seek(0)
        report = os.path.join(tmp, "rusage")
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, report, *args], cwd=ROOT,
                                stdin=inp, stdout=out, stderr=err, start_new_session=True,
                                env={**os.environ, "COLUMNS": "200"})
        timer = threading.Timer(MAX_WALL_S * 3, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        with open(report) as f:
            code, cpu, maxrss = f.read().split()
    rss = int(maxrss) * (1 if sys.platform == "darwin" else 1024)  # Linux reports KiB
    return int(code), stdout, stderr, wall, float(cpu), rss


def test_corpus_is_large_and_complete() -> None:
    """At least 45 cases, and every file in tests/errors/ has an entry (and vice versa)."""
    assert len(CASES) >= 45
    listed = {c["file"] for c in CASES if "file" in c}
    present = {p.name for p in CORPUS.iterdir()
               if not re.fullmatch(r"cases(-[\w-]+)?\.yaml", p.name)}
    assert listed == present
    for case in CASES:
        assert set(case) <= {"file", "make", "line", "layer", "message", "exit", "stdout"}, case
        assert case.get("exit", 2) != 2 or case.get("message"), case


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_corpus_case(case: dict, tmp_path: Path) -> None:
    if "make" in case:
        target = make_input(case["make"], tmp_path)
    else:
        target = f"tests/errors/{case['file']}"
    code, stdout, stderr, wall, cpu, rss = run_measured(
        [sys.executable, "-m", "cnncalc", "show", target])

    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    assert code == case.get("exit", 2), (code, stderr)
    assert cpu <= MAX_CPU_S, f"{cpu:.2f} s of CPU"
    assert wall <= MAX_WALL_S, f"{wall:.2f} s wall"
    assert rss <= MAX_RSS_BYTES, f"{rss / 2**20:.0f} MiB"
    if code == 2:
        lines = stderr.strip().splitlines()
        assert lines and all(line.startswith(f"{target}") for line in lines), stderr
        if "line" in case:
            assert f"{target}:{case['line']}: " in stderr, stderr
        if "layer" in case:
            assert case["layer"] in stderr, stderr
    if "message" in case:
        assert re.search(case["message"], stderr), stderr
    for pattern in case.get("stdout", []):
        assert re.search(pattern, stdout), stdout


def test_absurd_sizes_are_exact_in_json() -> None:
    """10^18 channels through a 1x1 conv of 10^18 filters: every count exact in JSON."""
    import json

    code, stdout, stderr, *_ = run_measured(
        [sys.executable, "-m", "cnncalc", "show", "tests/errors/absurd-sizes.yaml", "-f", "json"])
    assert code == 0, stderr
    totals = json.loads(stdout)["totals"]
    n = 10**18
    assert totals["params"] == 1 * 1 * n * n + n  # f*f*c_in*c_out + bias
    assert totals["macs"] == n * n
    assert totals["flops"] == 2 * n * n
    assert totals["activations"] == n


# --------------------------------------------------------------------------- other commands

HOSTILE_OPTIONS = [
    # 1e400 is past a float's range: was an OverflowError traceback
    (["conv", "-i", "1e400 1; 1 1", "-k", "1"], "'1e400' is not a number"),
    # padding 10^11 would build a 10^11 x 10^11 matrix: was a hang
    (["conv", "-i", "1 2; 3 4", "-p", "99999999999"], "--padding 99999999999 is more than"),
    # a width multiplier of 1e300 makes 10^18 * 1e300 = inf channels: was an OverflowError;
    # multipliers are now at most 100 (10^18 * 100 channels stay finite)
    (["scale", "-w", "1e300", "tests/errors/absurd-sizes.yaml"],
     "the width multiplier must be a number above 0 and at most 100"),
    (["show", "lenet5", "--input", "9" * 5000 + "x1x1"], "--input: cannot read"),
]


@pytest.mark.parametrize("args,message", HOSTILE_OPTIONS, ids=lambda a: str(a)[:40])
def test_hostile_options(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from cnncalc.commands import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in result.output
