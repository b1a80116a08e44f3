"""cnncalc's benchmark: start-up, very deep specs and any resolution.

    python bench/run.py              # the full run; writes bench/results.md
    python bench/run.py --quick      # small sizes, one run each (what the test suite runs)
    python bench/run.py --import-only  # cnncalc import beside torchinfo: its section only

Every measurement is a whole process (`python -m cnncalc ...`), as a user meets it: wall time
is the median of several runs, peak memory the child's maximum resident set size. The floor is
`python -c "import typer, rich, pydantic, yaml"`: what any tool on this stack pays to start.
Tools that build and run the model (FlopCounterMode on the meta device, torchinfo, fvcore) are
measured in the same run when they are installed, and so is `cnncalc import` of a
ResNet-50-sized torch module beside torchinfo's summary of the same module.

The parse cache (cnncalc.core.parsecache) is a fresh folder of the run's own: each spec's first
run parses it and the later ones read it back, so a median is a user's second run and after;
`show vgg16` with the cache off is a row of its own. Start-up against its target (issue 16:
at most 1.3x a one-command typer app) is the median ratio of interleaved pairs, so that a
change of the machine's load meets both sides alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

FLOOR = [PY, "-c", "import typer, rich, pydantic, yaml"]
# `import pydantic` alone is lazy: this is what using pydantic's models costs at start-up
HONEST_FLOOR = [PY, "-c", "import typer, rich, yaml; from pydantic import BaseModel"]
# The least any typer command line pays: one command that prints its argument. Running a typer
# app imports more than `import typer` does (typer's parameter adapters load pydantic).
TYPER_APP = [PY, "-c", (
    "import sys, typer\n"
    "app = typer.Typer(add_completion=False)\n"
    "@app.callback()\n"
    "def main() -> None: pass\n"
    "@app.command()\n"
    "def show(spec: str, batch: int = 1) -> None: print(spec)\n"
    "app(['show', 'vgg16'])\n")]

FLOP_COUNTER = """
import sys, torch
from torch.utils.flop_counter import FlopCounterMode
import cnncalc
from cnncalc.torch import build
spec = cnncalc.load(sys.argv[1])
h, w, c = spec.input_shape
with torch.device("meta"):
    model = build(spec)
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, c, h, w))
print(counter.get_total_flops() // 2)
"""

TORCHINFO = """
import sys, torch, torchinfo
import cnncalc
from cnncalc.torch import build
spec = cnncalc.load(sys.argv[1])
model = build(spec)
h, w, c = spec.input_shape
torchinfo.summary(model, input_size=(1, c, h, w), device="cpu", verbose=0)
"""

FVCORE = """
import sys, torch
from fvcore.nn import FlopCountAnalysis
import cnncalc
from cnncalc.torch import build
spec = cnncalc.load(sys.argv[1])
model = build(spec)
h, w, c = spec.input_shape
FlopCountAnalysis(model, torch.zeros(1, c, h, w)).total()
"""


#: A ResNet-50-sized torch module (torchvision's ResNet-50, transcribed in
#: tests/torchvision_small.py): `cnncalc import` of it beside torchinfo's summary of it.
IMPORTED = "tests.torchvision_small:resnet50"
TORCHINFO_MODULE = """
import torchinfo
from tests.torchvision_small import resnet50
torchinfo.summary(resnet50(), input_size=(1, 3, 224, 224), device="cpu", verbose=0)
"""


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    """(median wall seconds, peak RSS in MiB) of a command run `runs` times."""
    times, peaks = [], []
    for _ in range(runs):
        probe = [PY, "-c", (
            "import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "t = time.perf_counter() - t\n"
            "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "print(t, peak, r.returncode)"), *cmd]
        out = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.split()
        if out[2] != "0":
            raise SystemExit(f"failed ({out[2]}): {' '.join(cmd)}")
        times.append(float(out[0]))
        peaks.append(int(out[1]) / 1024)
    return statistics.median(times), max(peaks)


def has_module(name: str) -> bool:
    probe = subprocess.run([PY, "-c", f"import {name}"], capture_output=True)
    return probe.returncode == 0


def flat_spec(path: Path, layers: int) -> Path:
    """A plain list of `layers` layers: conv 3x3 and relu, alternating, at 32x32x16."""
    lines = [f"name: flat{layers}", "input: 32x32x16", "layers:"]
    for i in range(layers):
        lines.append("  - conv: {filters: 16, kernel: 3, padding: 1}" if i % 2 == 0
                     else "  - relu")
    path.write_text("\n".join(lines) + "\n")
    return path


def nested_spec(path: Path, depth: int) -> Path:
    """Blocks nested `depth` deep: each level is a residual block around the next."""
    lines = ["name: nested", "input: 16x16x8", "layers:"]
    indent = "  "
    for _ in range(depth):
        lines.append(f"{indent}- residual:")
        lines.append(f"{indent}    body:")
        indent += "      "
    lines.append(f"{indent}- conv: {{filters: 8, kernel: 3, padding: 1}}")
    path.write_text("\n".join(lines) + "\n")
    return path


def show(spec: str | Path, *extra: str) -> list[str]:
    return [PY, "-m", "cnncalc", "show", str(spec), *extra]


#: Start-up against a one-command typer app (issue 16): the most, and the pairs measured.
START_TARGET, START_PAIRS = 1.3, 15


def startup_pairs(pairs: int) -> tuple[float, float, float]:
    """(median ratio, median typer app seconds, median `show vgg16` seconds) of `pairs`
    interleaved runs of the typer app and `cnncalc show vgg16` (the cache warmed first)."""
    def wall(cmd: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    wall(show("vgg16"))
    ratios, apps, shows = [], [], []
    for _ in range(pairs):
        apps.append(wall(TYPER_APP))
        shows.append(wall(show("vgg16")))
        ratios.append(shows[-1] / apps[-1])
    return statistics.median(ratios), statistics.median(apps), statistics.median(shows)


#: In-process engine throughput (issue 16): one analysis of resnet50, and a sweep of it over
#: 1,000 input sizes, against their targets.
ENGINE_TARGET_MS, SWEEP_TARGET_S, SWEEP_SIZES = 0.5, 1.0, 1_000
ENGINE = """
import sys, time
import cnncalc
from cnncalc.analyses.resolution import sweep
from cnncalc.core.catalog import bundled
text = open(bundled()["resnet50"]).read()
spec = cnncalc.load("resnet50")
for _ in range(20):
    cnncalc.analyze(spec)
best = min(_per_call(lambda: cnncalc.analyze(spec), 50) for _ in range(5))
fresh = [cnncalc.load_text(text, "resnet50.yaml") for _ in range(250)]
first = min(_per_call(lambda: cnncalc.analyze(fresh.pop()), 50) for _ in range(5))
sizes = range(64, 64 + int(sys.argv[1]))
start = time.perf_counter()
sweep(spec, sizes)
swept = time.perf_counter() - start
start = time.perf_counter()
for size in sizes:
    cnncalc.analyze(spec, (size, size, 3))
print(best, first, swept, time.perf_counter() - start)
"""
PER_CALL = """
def _per_call(call, n):
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n
"""


def engine_rows(rows: list[tuple[str, str, str, str]], sweep: int) -> None:
    """`analyze(resnet50)` in process (the best of 5 means of 50 calls), a `sweep`-size sweep
    of it (square inputs from 64, as `cnncalc resolution --sweep` computes it: class by class,
    see `resolution.sweep`), each beside its target; and for reference, a spec's first
    analysis (nothing kept from an earlier one: `engine._Plan`) and `analyze` at each of the
    sweep's sizes (what the sweep would cost size by size)."""
    out = subprocess.run([PY, "-c", "import time" + PER_CALL + ENGINE, str(sweep)],
                         capture_output=True, text=True, check=True).stdout.split()
    one, first, total, each = (float(value) for value in out)
    target = SWEEP_TARGET_S * sweep / SWEEP_SIZES
    for name, value, goal in (("analyze(resnet50) in process", f"{one * 1e3:.2f} ms",
                               (one * 1e3, ENGINE_TARGET_MS, f"{ENGINE_TARGET_MS} ms")),
                              (f"sweep of resnet50 over {sweep:,} input sizes", f"{total:.2f} s",
                               (total, target, f"{target:g} s"))):
        met = "met" if goal[0] <= goal[1] else "not met"
        rows.append((name, value, "-", f"target at most {goal[2]}: {met}"))
        print(f"{name}: {value} (target {goal[2]}: {met})", file=sys.stderr)
    rows.append(("analyze(resnet50) in process, the spec's first analysis",
                 f"{first * 1e3:.2f} ms", "-", "for reference: nothing kept from an earlier "
                 "analysis (`cnncalc show` analyses a spec once)"))
    rows.append((f"analyze(resnet50) at each of those {sweep:,} sizes", f"{each:.2f} s", "-",
                 "for reference: the sweep size by size"))


def import_rows(row: Any, rows: list[tuple[str, str, str, str]], floor: float) -> None:
    """`cnncalc import` of a ResNet-50-sized module, and torchinfo's summary of it."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "resnet50.yaml"
        imported = row("cnncalc import of a ResNet-50 module (224x224x3; checked: shapes, "
                       "params, buffers, FlopCounterMode)",
                       [PY, "-m", "cnncalc", "import", IMPORTED, "-o", str(spec)], base=floor)
    if has_module("torchinfo"):
        summary = row("torchinfo.summary of the same module (224x224x3)",
                      [PY, "-c", TORCHINFO_MODULE], base=floor)
        rows[-1] = (*rows[-1][:3], f"{summary / floor:.2f}x floor; cnncalc import takes "
                    f"{imported / summary:.2f}x its time")
    else:
        rows.append(("torchinfo.summary of the same module", "-", "-",
                     "not installed (torchinfo)"))


IMPORT_BEGIN, IMPORT_END = "<!-- import: bench/run.py --import-only -->", "<!-- /import -->"


def import_section(runs: int, output: Path) -> None:
    """Measure the floor, `cnncalc import` and torchinfo only; put them in their own section
    of `output` (replacing an earlier one), leaving the main table as it was measured."""
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, cmd: list[str], note: str = "", base: float | None = None) -> float:
        wall, peak = measure(cmd, runs)
        rows.append((name, f"{wall * 1000:.0f} ms", f"{peak:.0f} MiB",
                     f"{wall / base:.2f}x floor" if base else note))
        print(f"{name}: {wall * 1000:.0f} ms, {peak:.0f} MiB", file=sys.stderr)
        return wall

    floor = row("floor: import typer, rich, pydantic, yaml", FLOOR, "floor")
    import_rows(row, rows, floor)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, {platform.system()}")
    section = "\n".join([
        IMPORT_BEGIN,
        f"`cnncalc import` beside torchinfo (median of {runs} runs; {machine}; load average "
        f"{load:.1f} when measured; {time.strftime('%Y-%m-%d')}). Both start torch and build "
        "the module; the import traces it, runs it on the meta device under FlopCounterMode "
        "and checks the spec it writes; torchinfo runs it on the cpu.",
        "",
        "| what | wall time | peak memory | note |",
        "| --- | ---: | ---: | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        IMPORT_END])
    text = output.read_text() if output.exists() else ""
    if IMPORT_BEGIN in text:
        start, end = text.index(IMPORT_BEGIN), text.index(IMPORT_END) + len(IMPORT_END)
        text = text[:start] + section + text[end:]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    output.write_text(text)
    print(section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--import-only", action="store_true",
                        help="measure only cnncalc import beside torchinfo and rewrite that "
                             "section of the results, leaving the rest as it is")
    args = parser.parse_args()
    if args.import_only:
        import_section(args.runs, args.output)
        return
    runs = 1 if args.quick else args.runs
    sizes = (100, 300) if args.quick else (1_000, 3_000, 9_000)  # specs stop at 10,000 rows
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    # as installed: Python's bytecode written and read (with PYTHONDONTWRITEBYTECODE set, every
    # changed module would be compiled again in every run measured)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    cache = tempfile.TemporaryDirectory(prefix="cnncalc-bench-cache-")
    os.environ["CNNCALC_CACHE_DIR"] = cache.name
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, cmd: list[str], note: str = "", base: float | None = None) -> float:
        wall, peak = measure(cmd, runs)
        ratio = f"{wall / base:.2f}x floor" if base else note
        rows.append((name, f"{wall * 1000:.0f} ms", f"{peak:.0f} MiB", ratio))
        print(f"{name}: {wall * 1000:.0f} ms, {peak:.0f} MiB {ratio}", file=sys.stderr)
        return wall

    floor = row("floor: import typer, rich, pydantic, yaml", FLOOR, "floor")
    honest = row("floor + pydantic's models: import typer, rich, yaml; "
                 "from pydantic import BaseModel", HONEST_FLOOR, base=floor)
    typer_app = row("a one-command typer app that prints its argument", TYPER_APP, base=floor)
    specs = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    if args.quick:
        specs = ["lenet5"]
    start = 0.0
    for name in specs:
        wall = row(f"cnncalc show {name}", show(name), base=floor)
        rows[-1] = (*rows[-1][:3], f"{wall / floor:.2f}x floor, {wall / honest:.2f}x with "
                    f"pydantic, {wall / typer_app:.2f}x a typer app")
        start = wall if name in ("vgg16", "lenet5") else start
    os.environ["CNNCALC_CACHE_DIR"] = "off"
    row("cnncalc show vgg16, the parse cache off (a spec's first run)", show("vgg16"),
        base=floor)
    os.environ["CNNCALC_CACHE_DIR"] = cache.name
    ratio, app_s, show_s = startup_pairs(3 if args.quick else START_PAIRS)
    met = "met" if ratio <= START_TARGET else "not met"
    rows.append((f"cnncalc show vgg16 against the typer app, {3 if args.quick else START_PAIRS} "
                 "interleaved pairs", f"{show_s * 1000:.0f} ms against {app_s * 1000:.0f} ms",
                 "-", f"median ratio {ratio:.2f}x; target at most {START_TARGET}x: {met}"))
    print(f"start-up: {ratio:.2f}x a typer app (target {START_TARGET}x: {met})", file=sys.stderr)
    if not args.quick:
        row("cnncalc show vgg16 --format json", show("vgg16", "-f", "json"), base=floor)
    row("cnncalc show vgg16 --input 4096x4096x3", show("vgg16", "--input", "4096x4096x3"),
        base=floor)

    for label, script, module in (("FlopCounterMode (meta)", FLOP_COUNTER, "torch"),
                                  ("torchinfo", TORCHINFO, "torchinfo"),
                                  ("fvcore", FVCORE, "fvcore")):
        if has_module(module) and has_module("cnncalc.torch") and not args.quick:
            row(f"{label} on vgg16", [PY, "-c", script, "vgg16"], base=floor)
        else:
            rows.append((f"{label} on vgg16", "-", "-", f"not installed ({module})"))

    if has_module("cnncalc.torch") and not args.quick:
        import_rows(row, rows, floor)

    engine_rows(rows, 100 if args.quick else SWEEP_SIZES)

    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            spec = flat_spec(Path(tmp) / f"flat{n}.yaml", n)
            for fmt in ("table", "json"):
                wall = row(f"{n:,} layers, --format {fmt}", show(spec, "-f", fmt))
                per_layer = (wall - start) / n * 1e6
                rows[-1] = (*rows[-1][:3], f"{per_layer:.0f} us per layer beyond start-up")
        depth = 10 if args.quick else 90
        spec = nested_spec(Path(tmp) / "nested.yaml", depth)
        row(f"blocks nested {depth} deep", show(spec, "-f", "json"))

    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, {platform.system()}")
    lines = [
        f"Benchmark ({'quick' if args.quick else 'full'}; median of {runs} runs; {machine}; "
        f"{time.strftime('%Y-%m-%d')})",
        "",
        "| what | wall time | peak memory | note |",
        "| --- | ---: | ---: | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
