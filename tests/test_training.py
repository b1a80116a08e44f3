"""`show --training`: the MACs of one training step, checked against torch.

The truth is torch's: `FlopCounterMode` over the forward and the backward pass of the module
`cnncalc.torch.build` makes, in train mode, with the frozen layers' parameters at
`requires_grad=False` (build does that) and the loss the sum of every output. FlopCounterMode
counts a grouped convolution's weight gradient as if it were ungrouped (groups x its MACs);
`training(report, flopcounter=True)` is that count, and cnncalc's own count (each group's
products once) is checked against FlopCounterMode on the same convolution written as one
convolution per group. Every bundled spec (on the meta device: nothing is computed) and random
specs with random frozen prefixes (the generator of tests/test_torch_differential.py).
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.analyses.training import RULES, training  # noqa: E402
from cnncalc.commands import app  # noqa: E402
from cnncalc.core.freeze import freeze_until  # noqa: E402
from cnncalc.core.layers import KINDS  # noqa: E402
from tests.test_torch_differential import specs  # noqa: E402

pytestmark = pytest.mark.torch


def torch_step(report, device: str = "meta") -> int:
    """FlopCounterMode's FLOPs of one training step of the built module, in train mode."""
    with torch.device(device):
        module = ct.build(report)
    module.train()
    shape = report.input_shape
    x = torch.randn(report.batch, *((shape[2], shape[0], shape[1]) if len(shape) == 3
                                    else shape), device=device)
    with FlopCounterMode(display=False) as counter:
        out = module(x)
        outs = out if isinstance(out, tuple) else (out,)
        loss = sum(o.sum() for o in outs)
        if loss.requires_grad:
            loss.backward()
    return counter.get_total_flops()


def flopcounter_flops(report) -> int:
    return 2 * report.batch * training(report, flopcounter=True).total.total


@pytest.mark.parametrize("name", sorted(cnncalc.bundled()))
def test_every_bundled_spec_equals_torch(name: str) -> None:
    report = cnncalc.analyze(cnncalc.load(name), batch=2)
    assert torch_step(report) == flopcounter_flops(report)


@pytest.mark.parametrize("name,until", [("resnet18", "layer3.1.conv2"),
                                        ("mobilenet_v2", "features.10"),
                                        ("inception_v3", "Mixed_6e"),
                                        ("efficientnet_b0", "features.6")])
def test_frozen_prefixes_of_the_zoo_equal_torch(name: str, until: str) -> None:
    report = freeze_until(cnncalc.analyze(cnncalc.load(name), batch=2), until)
    assert torch_step(report) == flopcounter_flops(report)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=specs(), data=st.data())
def test_random_specs_with_random_frozen_prefixes(case, data) -> None:
    text, _ = case
    report = cnncalc.analyze(cnncalc.load_text(text, "random"), batch=2)
    paths = [node.path for node in report.walk()]
    until = data.draw(st.sampled_from([None, *paths]))
    if until is not None:
        freeze_until(report, until)
    torch.manual_seed(0)
    assert torch_step(report, "cpu") == flopcounter_flops(report), (until, text)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_grouped_weight_gradient_is_one_pass_over_each_group(groups: int) -> None:
    """cnncalc's rule: a grouped convolution's gradients cost its forward MACs each, as the
    same convolution written as `groups` ungrouped ones (which FlopCounterMode counts
    exactly) costs."""
    text = (f"name: g\ninput: 12x12x8\nlayers:\n  - relu\n  - conv: {{filters: 16, kernel: 3, "
            f"groups: {groups}, padding: 1}}\n  - trainable: false\n    conv: [4, 1]\n")
    report = cnncalc.analyze(cnncalc.load_text(text, "g.yaml"), batch=2)
    convs = [torch.nn.Conv2d(8 // groups, 16 // groups, 3, padding=1) for _ in range(groups)]
    head = torch.nn.Conv2d(16, 4, 1).requires_grad_(False)
    x = torch.randn(2, 8, 12, 12, requires_grad=False)
    with FlopCounterMode(display=False) as counter:
        parts = torch.relu(x).chunk(groups, 1)
        y = torch.cat([conv(part) for conv, part in zip(convs, parts, strict=True)], 1)
        head(y).sum().backward()
    step = training(report)
    assert 2 * report.batch * step.total.total == counter.get_total_flops()
    forward = 2 * 9 * (8 // groups) * 12 * 12 * 16  # per example
    assert step.nodes["conv1"].weight_grad == forward // 2
    assert step.nodes["conv1"].input_grad == 0  # its input is the data
    assert step.nodes["conv2"].input_grad == 16 * 12 * 12 * 4  # after a trainable layer
    assert step.nodes["conv2"].weight_grad == 0  # frozen


def test_fine_tuning_a_new_head_costs_a_forward_pass_and_its_weight_gradient() -> None:
    report = cnncalc.analyze(cnncalc.load("vgg16-transfer"))
    step = training(report).total
    # the lecture's transfer learning: only fc8 (4096 -> 5) trains
    assert step.forward == 15_466_188_800
    assert step.input_grad == 0
    assert step.weight_grad == 4096 * 5


def test_training_only_rows_count_in_training() -> None:
    report = cnncalc.analyze(cnncalc.load("inception_v3"))
    step = training(report).total
    assert step.forward == report.totals.macs + report.training_only.macs
    assert report.training_only.macs == 5_683_200


def test_every_kind_with_macs_has_a_rule() -> None:
    report = cnncalc.analyze(cnncalc.load("tour"))
    with_macs = {type(n.layer).kind for n in report.leaves() if n.macs}
    assert with_macs <= set(RULES)
    assert set(RULES) <= {entry.model.kind for entry in KINDS.values()}


def test_show_training_json_and_epoch(runner) -> None:
    result = runner.invoke(app, ["show", "resnet18", "--training", "--samples", "1000", "-b",
                                 "4", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    meta = doc["training"]
    report = cnncalc.analyze(cnncalc.load("resnet18"))
    per_example = training(report).total.total
    assert meta["total"] == 4 * per_example
    assert meta["epoch"] == 1000 * per_example
    assert meta["forward"] == doc["totals"]["macs"]
    assert sum(layer["training"]["total"] for layer in doc["layers"]) == meta["total"]
    # resnet18 at full size: torch's count (forward + backward, the stem's input gradient
    # skipped) -- every conv groups 1, so FlopCounterMode's count is cnncalc's
    assert 2 * per_example * 2 == torch_step(cnncalc.analyze(cnncalc.load("resnet18"),
                                                             batch=2))


def test_show_training_table(runner) -> None:
    result = runner.invoke(app, ["show", "vgg16-transfer", "--training", "--levels", "0"])
    assert result.exit_code == 0, result.output
    assert "Weight-grad MACs" in result.output and "Input-grad MACs" in result.output
    assert "weight gradients 20,480 = 15,466,209,280 MACs" in result.output


def test_training_options_refused_where_meaningless(runner) -> None:
    alone = runner.invoke(app, ["show", "lenet5", "--samples", "10"])
    assert alone.exit_code == 2 and "--samples needs --training" in alone.output
    peer = runner.invoke(app, ["show", "lenet5", "--training", "--convention", "thop"])
    assert peer.exit_code == 2 and "forward pass only" in peer.output
    flops = runner.invoke(app, ["show", "mobilenet_v2", "--training", "--convention",
                                "flopcounter", "-f", "json"])
    doc = json.loads(flops.output)
    report = cnncalc.analyze(cnncalc.load("mobilenet_v2"))
    assert doc["training"]["unit"] == "FLOPs"
    assert doc["training"]["total"] == flopcounter_flops(report)
