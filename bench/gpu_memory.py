"""The allocator's allowance: torch's peak allocated bytes on a GPU over cnncalc's exact bytes.

    python bench/gpu_memory.py                    # every bundled spec, batch 32, fp32, adam
    python bench/gpu_memory.py resnet50 --batch 64
    python bench/gpu_memory.py --dry-run          # no GPU: cnncalc's side of the table only

cnncalc counts the tensors themselves, as torch holds them on CPU (docs/memory.md). On a GPU,
torch's caching allocator rounds every block up (to 512 bytes, and large ones to 2 MiB
segments), cuDNN takes workspaces, and the backward pass holds the activations' gradients.
This script measures that difference and prints docs/memory.md's allowance table:

- inference: `torch.cuda.max_memory_allocated()` over one eval forward pass (no gradients),
  after a warm-up pass, against params + buffers + cnncalc's peak (the input included);
- training: one Adam step (forward, backward of the outputs' sum, `optimizer.step()`,
  `zero_grad(set_to_none=True)`) after a warm-up step, against cnncalc's training total with
  adam (weights, buffers, gradients, both moments, the forward pass's peak);
- saved: the bytes autograd saves on the GPU (saved-tensor hooks, unique storages,
  parameters and buffers left out) against cnncalc's: equal unless a GPU kernel keeps what the
  CPU's does not (cuDNN batch norm's reserve space, a statistic's dtype).

The module is `cnncalc.torch.build`'s (cnncalc's torchvision-equal specs), on `cuda`.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc.analyses import memory  # noqa: E402
from cnncalc.core.report import Report  # noqa: E402
from cnncalc.core.units import binary  # noqa: E402


def ours(report: Report) -> dict[str, int]:
    infer, train = memory.forward(report), memory.backward(report)
    return {"inference": report.param_bytes + report.buffer_bytes + infer.peak(report.batch)[0],
            "training": memory.training(report, "adam", train).total,
            "saved": train.total.at(report.batch)}


def measured(report: Report) -> dict[str, int]:
    import torch

    from cnncalc.analyses.verify import torch_shape
    from cnncalc.torch import DTYPES, build

    device = torch.device("cuda")
    dtype = DTYPES[report.dtype]
    # What the last spec left (its module and optimizer are freed by the cyclic collector,
    # not by reference counts) is collected first; whatever stays is subtracted.
    gc.collect()
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated()
    with device:
        net = build(report).to(dtype)
    x = torch.randn(torch_shape(report.input_shape, report.batch), device=device, dtype=dtype)
    found = {}
    net.eval()
    with torch.no_grad():
        for _ in range(2):  # a warm-up pass, then the measured one
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            net(x)
            torch.cuda.synchronize()
    found["inference"] = torch.cuda.max_memory_allocated() - base
    net.train()
    optimizer = torch.optim.Adam(net.parameters())
    for _ in range(2):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        out = net(x)
        outputs = out if isinstance(out, tuple) else (out,)
        sum(o.float().sum() for o in outputs if o.requires_grad).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        del out, outputs
        torch.cuda.synchronize()
    found["training"] = torch.cuda.max_memory_allocated() - base
    state = {t.untyped_storage()._cdata for t in [*net.parameters(), *net.buffers()]}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = t.untyped_storage()._cdata
        if key not in state:
            saved[key] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    del out
    found["saved"] = sum(saved.values())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*", help="bundled names or paths (default: every one)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--dry-run", action="store_true",
                        help="cnncalc's numbers only (no GPU needed)")
    args = parser.parse_args()
    names = args.specs or sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    device = "none (dry run)"
    if not args.dry_run:
        import torch

        if not torch.cuda.is_available():
            sys.exit("bench/gpu_memory.py: torch sees no CUDA GPU (use --dry-run)")
        device = torch.cuda.get_device_name()
        import torch.backends.cudnn

        version = f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}"
    else:
        version = ""
    print(f"Device: {device}; {version}; {datetime.date.today()}; batch {args.batch}, "
          f"{args.dtype}; training: one Adam step after a warm-up step\n")
    print("| spec | inference: cnncalc | torch | ratio | training: cnncalc | torch | ratio "
          "| saved: cnncalc | torch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        report = cnncalc.analyze(cnncalc.load(name), batch=args.batch, dtype=args.dtype)
        mine = ours(report)
        try:
            theirs = measured(report) if not args.dry_run else None
        except Exception as exc:  # noqa: BLE001  (a measurement script: report it, go on)
            print(f"| {report.spec_name} | not measured: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else ''} |", flush=True)
            continue

        print(f"| {report.spec_name} | {cells(mine, theirs, 'inference')} "
              f"{cells(mine, theirs, 'training')} {cells(mine, theirs, 'saved', False)}")


def cells(mine: dict[str, int], theirs: dict[str, int] | None, key: str,
          ratio: bool = True) -> str:
    """`ours | torch's | torch's / ours |` (dashes without a GPU)."""
    if theirs is None:
        return f"{binary(mine[key])} | - |" + (" - |" if ratio else "")
    text = f"{binary(mine[key])} | {binary(theirs[key])} |"
    if ratio:
        return text + f" {theirs[key] / mine[key]:.3f} |"
    # bytes that must be equal: say so exactly, or by how many bytes they differ
    difference = theirs[key] - mine[key]
    return text.rstrip(" |") + (" (equal) |" if not difference else f" ({difference:+,} B) |")


if __name__ == "__main__":
    main()
