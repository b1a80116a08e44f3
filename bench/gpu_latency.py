"""`cnncalc verify --time` on a GPU for many specs in one process: the measurements that
docs/latency.md's "Estimate against measurement" table compares with `cnncalc latency`.

    python bench/gpu_latency.py OUTDIR       # every bundled spec, batch 1 and 32, fp16
    python bench/gpu_latency.py OUTDIR resnet50 --batch 1 --batch 64 --dtype fp32

Each run is exactly `cnncalc verify SPEC --device cuda --time --batch B --dtype D -f json -o
OUTDIR/SPEC-bB-D.json` (the command itself, called in this process so that torch is imported
once); a spec whose verification fails is reported and left out. Then, on any machine:

    cnncalc latency SPEC --device h100 --dtype fp16 --calibrate OUTDIR/*.json

prints every measurement beside the estimate. With `--torchvision`, each spec that has a
torchvision model of the same name is also timed as torchvision's own module (random weights,
the same input, dtype, runs and warm-up, `cnncalc.torch.time_forward`), and both medians are
printed: what the module cnncalc builds costs against the reference implementation on the
same machine. Needs a GPU torch sees; never run in CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.commands import register  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("specs", nargs="*", help="bundled names or paths (default: every one)")
    parser.add_argument("--batch", type=int, action="append", help="repeatable (default 1, 32)")
    parser.add_argument("--dtype", default="fp16", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--torchvision", action="store_true",
                        help="also time torchvision's model of the same name")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu: to try the script without a GPU")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    names = args.specs or sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    failed = 0
    for name in names:
        for batch in args.batch or [1, 32]:
            out = args.outdir / f"{Path(name).stem}-b{batch}-{args.dtype}.json"
            argv = ["verify", name, "--device", args.device, "--time", "--batch", str(batch),
                    "--dtype", args.dtype, "--runs", str(args.runs), "--warmup", "5",
                    "-f", "json", "-o", str(out)]
            try:
                code = register(argv)(argv, standalone_mode=False)
            except SystemExit as exc:  # a refusal (exit 2)
                code = exc.code
            except Exception as exc:  # noqa: BLE001  (a measurement script: report, go on)
                failed += 1
                print(f"{name} batch {batch}: {type(exc).__name__}: {exc}", flush=True)
            else:
                if code:
                    failed += 1
                    print(f"{name} batch {batch}: exit {code}", flush=True)
                else:
                    print(f"{name} batch {batch}: {out.name}", flush=True)
                    if args.torchvision:
                        compare(out, args.device, args.runs)
    return 1 if failed else 0


#: bundled specs named as a torchvision model that is another network
NOT_TORCHVISION = {"alexnet"}  # the lecture's AlexNet (96/256/384 filters at 227x227)


def compare(path: Path, device: str, runs: int) -> None:
    """Time torchvision's model named as the spec the way `verify --time` timed the spec's."""
    import json
    import statistics

    import torch
    import torchvision.models as models

    from cnncalc.torch import DTYPES, time_forward

    found = json.loads(path.read_text())
    name = found["spec"]
    if name not in models.list_models(module=models) or name in NOT_TORCHVISION:
        return
    size = 299 if name == "inception_v3" else 224
    net = models.get_model(name, weights=None).to(device, DTYPES[found["dtype"]]).eval()
    x = torch.randn(found["batch"], 3, size, size, device=device, dtype=DTYPES[found["dtype"]])
    theirs = statistics.median(time_forward(net, x, runs, 5))
    ours = found["timing"]["median_s"]
    print(f"  torchvision {name} batch {found['batch']}: median {theirs * 1e3:.3f} ms; "
          f"cnncalc's module {ours * 1e3:.3f} ms ({ours / theirs:.2f}x)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
