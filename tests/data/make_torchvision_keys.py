"""Write `torchvision_state_dicts.json`: torchvision's own `state_dict()` keys and shapes for
every torchvision model that a bundled spec reproduces. `tests/test_weights_names.py` checks
`cnncalc.torch.build(NAME).state_dict()` against it, so that pretrained weights load.

Run once, in a scratch environment that has torchvision (not the project's: torchvision does
not import beside the CPU torch the project pins), from the repository root:

    python -m venv /tmp/tv-venv
    /tmp/tv-venv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /tmp/tv-venv/bin/python tests/data/make_torchvision_keys.py

The file was written with torchvision 0.29.1 (torch 2.14.1), `weights=None` (the keys and
shapes of the pretrained weights are those of the untrained model). Its versions are recorded
in it. Each model is one line: `[[key, [shape...]], ...]` in torchvision's order.

Models and constructor arguments: the arguments of the bundled spec's reference (googlenet
without its auxiliary heads, as `specs/googlenet.yaml`; inception_v3 with them, as torchvision
builds it for its pretrained weights). Not here: `alexnet` (the bundled spec is the lecture's
AlexNet, 96/256/384 filters at 227x227, not torchvision's), `lenet5`, `mobilenet_v1` and the
others with no torchvision counterpart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torchvision
from torchvision import models

#: torchvision model name -> constructor keyword arguments (besides weights=None)
MODELS: dict[str, dict[str, object]] = {
    "vgg16": {},
    "resnet18": {},
    "resnet50": {},
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": True, "init_weights": False},
    "mobilenet_v2": {},
    "efficientnet_b0": {},
    "efficientnet_v2_s": {},
    "convnext_tiny": {},
    "regnet_y_400mf": {},
    "shufflenet_v2_x1_0": {},
}

OUT = Path(__file__).with_name("torchvision_state_dicts.json")


def keys(name: str) -> list[list[object]]:
    # on cpu: regnet computes its widths with tensors, which the meta device cannot read back
    model = getattr(models, name)(weights=None, **MODELS[name])
    return [[key, list(value.shape)] for key, value in model.state_dict().items()]


def main() -> None:
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    lines = [f'  "versions": {json.dumps(versions)}']
    lines += [f"  {json.dumps(name)}: {json.dumps(keys(name), separators=(',', ':'))}"
              for name in MODELS]
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {OUT} ({len(MODELS)} models)", file=sys.stderr)


if __name__ == "__main__":
    main()
