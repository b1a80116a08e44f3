"""Import real torchvision and timm models with `cnncalc.torch.to_spec` and check each spec
against the model it came from: what docs/importing.md's "Real models" table records.

    python bench/import_real.py results.jsonl                  # torchvision's classifiers + TIMM
    python bench/import_real.py results.jsonl --jobs 12 --deadline 300
    python bench/import_real.py --table results.jsonl          # the docs' table from a run

Needs torchvision and timm, which do not import beside the CPU torch the project pins: run it
in an environment that has them (the GPU machine's image does; no GPU is used). Each model is
built with random weights (`weights=None`, `pretrained=False`), in eval mode, at its own input
size, in a process of its own (one thread), and checked four ways, each against torch:

- **import**: `to_spec` traces the model with torch.fx and checks every row's shape, params
  and buffers against the module (a refusal is recorded with its first line);
- **params, buffers**: the engine's totals on the imported spec against the model's own
  `numel()` sums (buffers without batch norm's `num_batches_tracked`, as cnncalc counts);
- **FLOPs**: `--convention flopcounter` on the spec against torch's `FlopCounterMode` over
  one forward pass of the model (convolutions and matrix products, 2 FLOPs per multiply-add);
- **outputs**: `cnncalc.torch.build(spec)` loads the model's `state_dict()` (strict: every
  key and shape) and runs the same random input; the largest difference from the model's
  output, relative to the output's largest magnitude, must be under 1e-4 (float32 on the
  CPU, two different orders of summation at most).

Results are one JSON line per model, written as each finishes, so a run stopped at its
deadline keeps what it did.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: timm's convolutional families, one model each (the small member where there is one)
TIMM = ["resnet50", "resnet18d", "resnext50_32x4d", "seresnet50", "ecaresnet50d",
        "wide_resnet50_2", "res2net50_26w_4s", "resnest14d", "regnetx_002", "regnety_008",
        "densenet121", "dla34", "dpn68", "vgg11_bn", "inception_v3", "inception_v4",
        "xception41", "efficientnet_b0", "tf_efficientnet_b0", "efficientnetv2_rw_t",
        "mobilenetv2_100", "mobilenetv3_large_100", "mobilenetv4_conv_small", "mnasnet_100",
        "fbnetc_100", "mixnet_s", "ghostnet_100", "rexnet_100", "hardcorenas_a",
        "tinynet_a", "lcnet_050", "convnext_atto", "convnextv2_atto", "cspdarknet53",
        "cspresnet50", "darknet53", "hrnet_w18_small", "repvgg_a0", "selecsls42b",
        "dla60x_c", "skresnet18", "nfnet_l0", "nf_resnet26", "resnetv2_50", "efficientvit_b0",
        "gernet_s", "vovnet39a", "tresnet_m", "rexnetr_100", "ese_vovnet19b_dw"]
TOLERANCE = 1e-4


def construct(source: str, name: str) -> tuple[object, tuple[int, int]]:
    """The model (random weights, eval mode) and its input height and width."""
    if source == "torchvision":
        import torchvision.models as models

        model = models.get_model(name, weights=None)
        size = 299 if name == "inception_v3" else 224
        return model.eval(), (size, size)
    import timm

    model = timm.create_model(name, pretrained=False)
    _, h, w = model.pretrained_cfg.get("input_size", (3, 224, 224))
    return model.eval(), (h, w)


def check(job: tuple[str, str]) -> dict:
    source, name = job
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    found: dict = {"source": source, "model": name}
    start = time.perf_counter()
    try:
        model, (h, w) = construct(source, name)
    except Exception as exc:  # noqa: BLE001  (not cnncalc's: recorded apart)
        return found | {"outcome": "not built", "why": _first(exc)}
    found |= {"input": f"{h}x{w}x3", "params": sum(p.numel() for p in model.parameters()),
              # cnncalc's buffers leave out batch norm's `num_batches_tracked` counters
              "buffers": sum(b.numel() for n, b in model.named_buffers()
                             if not n.endswith("num_batches_tracked"))}
    import cnncalc
    from cnncalc.analyses.conventions import count
    from cnncalc.errors import CnnCalcError
    from cnncalc.torch import build, to_spec

    try:
        text = to_spec(model, (h, w, 3), name=name)
    except CnnCalcError as exc:
        return found | {"outcome": "refused", "why": _first(exc),
                        "seconds": round(time.perf_counter() - start, 1)}
    except Exception as exc:  # noqa: BLE001  (a crash of the importer: a bug)
        return found | {"outcome": "crashed", "why": f"{type(exc).__name__}: {_first(exc)}"}
    report = cnncalc.analyze(cnncalc.load_text(text, name))
    found |= {"lines": text.count("\n"), "rows": sum(1 for _ in report.leaves()),
              "ours_params": report.totals.params, "ours_buffers": report.totals.buffers}
    x = torch.randn(1, 3, h, w)
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            expected = model(x)
        found["flops"] = counter.get_total_flops()
        try:
            found["ours_flops"] = count(report, "flopcounter").number
        except CnnCalcError as exc:
            found["ours_flops"] = None
            found["flops_why"] = _first(exc)
        net = build(report).eval()
        try:
            net.load_state_dict(model.state_dict())
        except RuntimeError as exc:
            found["loads"] = _first(exc)
        else:
            found["loads"] = True
            got = net(x)
            expected = expected[0] if isinstance(expected, (tuple, list)) else expected
            got = got[0] if isinstance(got, (tuple, list)) else got
            scale = expected.abs().max().item() or 1.0
            found["max_diff"] = (got - expected).abs().max().item() / scale
    ok = (found["ours_params"] == found["params"] and found["ours_buffers"] == found["buffers"]
          and found["ours_flops"] == found["flops"] and found["loads"] is True
          and found["max_diff"] < TOLERANCE)
    found["outcome"] = "equal" if ok else "differs"
    found["seconds"] = round(time.perf_counter() - start, 1)
    return found


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def jobs(sources: list[str]) -> list[tuple[str, str]]:
    found = []
    if "torchvision" in sources:
        import torchvision.models as models

        found += [("torchvision", n) for n in models.list_models(module=models)]
    if "timm" in sources:
        found += [("timm", n) for n in TIMM]
    return found


def run(path: Path, sources: list[str], processes: int, deadline: float) -> None:
    todo = jobs(sources)
    done = 0
    end = time.monotonic() + deadline
    context = multiprocessing.get_context("spawn")
    with path.open("w") as out, context.Pool(processes, maxtasksperchild=1) as pool:
        pending = pool.imap_unordered(check, todo)
        while done < len(todo):
            try:
                found = pending.next(timeout=max(0.0, end - time.monotonic()))
            except multiprocessing.TimeoutError:
                print(f"deadline: {len(todo) - done} models not finished", flush=True)
                pool.terminate()
                break
            done += 1
            out.write(json.dumps(found) + "\n")
            out.flush()
            print(f"{found['source']}:{found['model']}: {found['outcome']}", flush=True)


def table(path: Path) -> str:
    """docs/importing.md's table: one row per model, sorted by source and name."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows.sort(key=lambda r: (r["source"], r["model"]))
    lines = ["| model | outcome | params | FLOPs (FlopCounterMode) | cnncalc | outputs | note |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        name = f"{r['source']}:{r['model']}"
        if r["outcome"] in ("refused", "crashed", "not built"):
            lines.append(f"| {name} | {r['outcome']} | {r.get('params', 0):,} | | | | "
                         f"{r['why'].replace('|', '/')} |")
            continue
        diff = f"{r['max_diff']:.1e}" if "max_diff" in r else str(r.get("loads"))[:60]
        flops = f"{r['ours_flops']:,}" if r["ours_flops"] is not None else r.get("flops_why")
        note = "" if r["outcome"] == "equal" else _differences(r)
        lines.append(f"| {name} | {r['outcome']} | {r['params']:,} | {r['flops']:,} | {flops} "
                     f"| {diff} | {note} |")
    return "\n".join(lines)


def _differences(r: dict) -> str:
    parts = []
    for key in ("params", "buffers", "flops"):
        if r.get(f"ours_{key}") != r[key]:
            parts.append(f"{key}: cnncalc {r.get(f'ours_{key}')} vs {r[key]}")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="JSON lines, written as models finish")
    parser.add_argument("--source", action="append", choices=["torchvision", "timm"])
    parser.add_argument("--jobs", type=int, default=max(1, (multiprocessing.cpu_count() or 2)))
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the whole run")
    parser.add_argument("--table", action="store_true", help="print the table of a run")
    args = parser.parse_args()
    if args.table:
        print(table(args.results))
        return
    run(args.results, args.source or ["torchvision", "timm"], args.jobs, args.deadline)


if __name__ == "__main__":
    main()
