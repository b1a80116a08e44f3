"""The benchmark script stays runnable (small sizes, no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_and_writes_its_table(tmp_path):
    out = tmp_path / "results.md"
    subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output",
                    str(out)], check=True, capture_output=True, text=True, timeout=300)
    table = out.read_text()
    assert "| floor: import typer, rich, pydantic, yaml |" in table
    assert "| cnncalc show lenet5 |" in table
    assert "| 300 layers, --format json |" in table
    assert "| analyze(resnet50) in process |" in table and "target at most 0.5 ms" in table
    assert "| sweep of resnet50 over 100 input sizes |" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "ms |" in line]
    assert len(rows) >= 7


def test_gpu_memory_dry_run_prints_cnncalc_side_of_the_allowance_table():
    """bench/gpu_memory.py measures on a GPU; without one, --dry-run prints cnncalc's side."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_memory.py"), "--dry-run",
                           "lenet5", "--batch", "2"], check=True, capture_output=True,
                          text=True, timeout=120)
    assert "| spec | inference: cnncalc | torch | ratio |" in done.stdout
    assert "| lenet5 | " in done.stdout and "| - | - |" in done.stdout
