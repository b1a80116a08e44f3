"""`cnncalc show -` reads the spec from standard input; errors then name `<stdin>` and the line.

Run as a subprocess, the way a pipe feeds it (`cat spec.yaml | cnncalc show -`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def show_stdin(data: bytes, *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cnncalc", "show", "-", *options],
                          input=data, capture_output=True, cwd=ROOT, timeout=60)
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode("utf-8", "replace"),
                                       done.stderr.decode("utf-8", "replace"))


def test_reads_a_spec_from_stdin() -> None:
    """The lecture's LeNet-5 table: params 456 + 2416 + 48120 + 10164 + 850."""
    done = show_stdin((ROOT / "specs" / "lenet5.yaml").read_bytes(), "-f", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["params"] == 456 + 2416 + 48120 + 10164 + 850


def test_errors_name_stdin_and_the_line() -> None:
    # floor((5 + 0 - 7) / 1) + 1 = -1: the kernel does not fit, on line 4
    spec = b"name: x\ninput: 5x5x3\nlayers:\n  - conv: {filters: 6, kernel: 7}\n"
    done = show_stdin(spec)
    assert done.returncode == 2
    assert done.stderr.startswith("<stdin>:4: layer 1 'conv1' (conv): ")
    assert "floor((5 + 0 - 7) / 1) + 1 = -1" in done.stderr
    assert "Traceback" not in done.stderr


def test_yaml_errors_name_stdin() -> None:
    done = show_stdin(b"name: x\ninput: 5x5x3\nlayers:\n\t- relu\n")
    assert done.returncode == 2
    assert done.stderr.startswith("<stdin>:4: tab character in indentation")


def test_empty_stdin() -> None:
    done = show_stdin(b"")
    assert done.returncode == 2
    assert done.stderr.startswith("<stdin>:1: ") and "empty" in done.stderr


def test_not_utf8_on_stdin() -> None:
    done = show_stdin(b"name: x\ninput: 5x5x3\nlayers: [caf\xe9]\n")
    assert done.returncode == 2
    assert done.stderr.startswith("<stdin>:3: not UTF-8 text (byte 0xe9")


def test_endless_stdin_is_cut_off() -> None:
    """A 20 MB pipe: refused after reading just past the limit, with exit 2."""
    done = show_stdin(b"#" * (20 * 2**20))
    assert done.returncode == 2
    assert done.stderr.startswith("<stdin>: input is more than")
