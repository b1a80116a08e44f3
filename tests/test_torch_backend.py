"""cnncalc.torch and `cnncalc verify`: builders, exact padding rules, module paths, training,
the pure comparison, and the command's exit codes.

Expected values are closed forms written here, CONVENTIONS.md's rules, or torch itself
(torch's own AdaptiveAvgPool2d, F.pad, nn.Flatten on the same tensor).
"""

from __future__ import annotations

import math
import os
import sys

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.analyses.verify import (  # noqa: E402
    Measured,
    Measurement,
    engine_shape,
    match,
    summarize_times,
    torch_shape,
)
from cnncalc.commands import app  # noqa: E402
from cnncalc.core import layers as L  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from tests.conftest import spec_text  # noqa: E402

pytestmark = pytest.mark.torch


def build_text(layers: str, input: str = "8x8x3", **kw: object) -> ct.Network:
    return ct.build(cnncalc.load_text(spec_text(layers, input), "t.yaml"), **kw)


def run(module: torch.nn.Module, shape: tuple[int, ...], batch: int = 1) -> torch.Tensor:
    module.eval()
    with torch.no_grad():
        return module(torch.randn(torch_shape(shape, batch)))


# --------------------------------------------------------------------------- the kind table

def test_every_kind_has_a_builder() -> None:
    models = {entry.model for entry in L.KINDS.values()} | set(L.MERGES.values())
    assert {m.__name__ for m in models if m not in ct.BUILDERS} == set()


def test_every_activation_has_a_function() -> None:
    assert set(L.ACTIVATIONS) <= set(ct.FUNCTIONS)


# --------------------------------------------------------------------------- exact shapes

@pytest.mark.parametrize("n, f, s", [(7, 4, 2), (8, 2, 2), (9, 4, 3), (5, 2, 1), (6, 3, 2)])
def test_same_padding_gives_ceil_n_over_s(n: int, f: int, s: int) -> None:
    net = build_text(f"- conv: {{filters: 2, kernel: {f}, stride: {s}, padding: same}}",
                     f"{n}x{n}x1")
    out = run(net, (n, n, 1))
    assert tuple(out.shape) == (1, 2, math.ceil(n / s), math.ceil(n / s))
    # The TensorFlow/Keras split: total = (out - 1) s + f - n, the extra one at bottom/right.
    total = max((math.ceil(n / s) - 1) * s + f - n, 0)
    conv = net["conv1"]
    before, after = total // 2, total - total // 2
    if before == after:
        assert conv.pads is None and conv.padding == (before, before)
    else:
        assert conv.pads == (before, after, before, after)


def test_asymmetric_same_padding_pads_zeros_at_bottom_right() -> None:
    # n = 4, f = 2, s = 1: total 1, all of it after. A ones kernel on a ones image sums 2x2
    # windows: every window is inside except the last row and column (2 inside cells).
    net = build_text("- conv: {filters: 1, kernel: 2, padding: same, bias: false}", "4x4x1")
    torch.nn.init.ones_(net["conv1"].weight)
    out = net(torch.ones(1, 1, 4, 4))[0, 0]
    assert out[0, 0] == 4 and out[3, 0] == 2 and out[0, 3] == 2 and out[3, 3] == 1


def test_max_pool_same_pads_with_minus_infinity() -> None:
    net = build_text("- maxpool: {kernel: 2, stride: 1, padding: same}", "3x3x1")
    x = -torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # all negative: a zero pad would win
    out = net(x)
    assert tuple(out.shape) == (1, 1, 3, 3)
    assert (out < 0).all()
    assert out[0, 0, 2, 2] == -9  # the corner window sees only x[2, 2] and padding


def test_ceil_mode_follows_torch() -> None:
    # torchvision's GoogLeNet: MaxPool2d(3, 2, ceil_mode=True) on 112 gives 56.
    net = build_text("- maxpool: {kernel: 3, stride: 2, ceil_mode: true}", "112x112x4")
    assert tuple(run(net, (112, 112, 4)).shape) == (1, 4, 56, 56)
    assert isinstance(net["maxpool1"], torch.nn.MaxPool2d) and net["maxpool1"].ceil_mode


def test_ceil_mode_with_asymmetric_padding() -> None:
    # n = 6, f = 3, s = 2, padding top 1 bottom 0: span 6 + 1 - 3 = 4; ceil(4 / 2) + 1 = 3, and
    # the last window starts at 4 < 6 + 1, so it stays: 3 outputs (floor would also give 3).
    # n = 7: span 5, ceil 3 + 1 = 4 windows, last starts at 6 < 8: kept (floor gives 3).
    for n, expected in ((6, 3), (7, 4)):
        net = build_text("- maxpool: {kernel: 3, stride: 2, padding: [1, 0, 1, 0], "
                         "ceil_mode: true}", f"{n}x{n}x1")
        assert tuple(run(net, (n, n, 1)).shape) == (1, 1, expected, expected)


@pytest.mark.parametrize("mode, module", [("replicate", torch.nn.ReplicationPad2d),
                                          ("reflect", torch.nn.ReflectionPad2d),
                                          ("zeros", torch.nn.ZeroPad2d)])
def test_pad_modes(mode: str, module: type) -> None:
    net = build_text(f"- pad: {{padding: [1, 2, 0, 1], mode: {mode}}}", "4x4x1")
    x = torch.randn(1, 1, 4, 4)
    expected = module((0, 1, 1, 2))(x)  # torch's order: left, right, top, bottom
    assert torch.equal(net(x), expected)
    assert tuple(expected.shape) == (1, 1, 4 + 1 + 2, 4 + 0 + 1)


def test_adaptive_pool_equals_torch_when_divisible() -> None:
    net = build_text("- adaptive_pool: {size: [4, 2], mode: avg}", "8x6x3")
    x = torch.randn(1, 3, 8, 6)
    assert torch.allclose(net(x), torch.nn.AdaptiveAvgPool2d((4, 2))(x))


def test_adaptive_pool_uses_the_lectures_window() -> None:
    # n = 10 -> 3: s = floor(10 / 3) = 3, f = 10 - 2 * 3 = 4.
    net = build_text("- adaptive_pool: {size: 3, mode: max}", "10x10x1")
    pool = net["adaptive_pool1"]
    assert pool.kernel_size == (4, 4) and pool.stride == (3, 3)
    assert tuple(run(net, (10, 10, 1)).shape) == (1, 1, 3, 3)


def test_global_pool_vector_and_keepdims() -> None:
    x = torch.randn(2, 5, 3, 4)
    assert torch.allclose(build_text("- global_pool", "3x4x5")(x), x.mean((2, 3)))
    kept = build_text("- global_pool: {mode: max, keepdims: true}", "3x4x5")(x)
    assert torch.equal(kept, x.amax((2, 3), keepdim=True))


def test_flatten_is_torch_order() -> None:
    net = build_text("- flatten\n- dense: 4", "2x3x5")
    x = torch.randn(1, 5, 2, 3)
    assert torch.equal(net["flatten1"](x), x.reshape(1, -1))
    assert net["dense1"].in_features == 2 * 3 * 5


def test_batchnorm_2d_and_1d() -> None:
    net = build_text("- batchnorm\n- flatten\n- batchnorm: {affine: false}", "2x2x3")
    assert isinstance(net["batchnorm1"], torch.nn.BatchNorm2d)
    assert isinstance(net["batchnorm2"], torch.nn.BatchNorm1d)
    assert net["batchnorm2"].weight is None and net["batchnorm2"].running_mean.numel() == 12


def test_separable_is_depthwise_without_bias_then_pointwise() -> None:
    net = build_text("- separable: {filters: 7, kernel: 3, padding: 1}", "6x6x4")
    sep = net["separable1"]
    assert sep.depthwise.bias is None and sep.depthwise.groups == 4
    assert sep.pointwise.kernel_size == (1, 1) and sep.pointwise.bias is not None
    # 3*3*4 depthwise + 4*7 + 7 pointwise
    assert sum(p.numel() for p in sep.parameters()) == 3 * 3 * 4 + 4 * 7 + 7


def test_se_is_torchvisions_squeeze_excitation() -> None:
    net = build_text("- se: {squeeze: 2, activation: relu, gate: sigmoid}", "3x3x4")
    se = net["se1"]
    x = torch.randn(1, 4, 3, 3)
    squeezed = torch.relu(se.fc1(x.mean((2, 3), keepdim=True)))
    expected = x * torch.sigmoid(se.fc2(squeezed))
    assert torch.allclose(se(x), expected)
    assert sum(p.numel() for p in se.parameters()) == (4 * 2 + 2) + (2 * 4 + 4)


def test_fused_activation_and_leaky_slope() -> None:
    x = torch.tensor([[[[1.0, -1.0], [0.1, 0.0]]]])
    fused = build_text("- conv: {filters: 1, kernel: 1, activation: relu6}", "2x2x1")
    leaky = build_text("- conv: {filters: 1, kernel: 1}\n"
                       "- activation: {function: leaky_relu, negative_slope: 0.5}", "2x2x1")
    with torch.no_grad():
        for net in (fused, leaky):
            net["conv1"].weight.fill_(10.0)
            net["conv1"].bias.zero_()
        assert fused(x)[0, 0].tolist() == [[6.0, 0.0], [1.0, 0.0]]  # relu6 of 10x
        assert leaky(x)[0, 0].tolist() == [[10.0, -5.0], [1.0, 0.0]]  # slope 0.5 below 0


# --------------------------------------------------------------------------- module tree

def test_module_paths_are_the_engine_paths() -> None:
    report = cnncalc.analyze(cnncalc.load("resnet18"))
    net = ct.build(report)
    engine = {node.path for node in report.walk()}
    torch_paths = set(ct.paths(net))
    assert engine <= torch_paths
    assert {"layer2.0.downsample.0", "layer2.0.add", "layer2.0.relu"} <= engine
    assert isinstance(net["layer2"][0]["add"], ct.Add)
    # Names the state dict will carry, as a torch user (and torchvision) expects them.
    assert {"layer1.0.conv1.weight", "layer2.0.downsample.0.weight"} <= set(net.state_dict())


def test_parallel_block_concatenates_branches() -> None:
    net = build_text("""
        - parallel:
            merge: concat
            branches:
              - [conv: {filters: 2, kernel: 1}]
              - [maxpool: {kernel: 3, stride: 1, padding: 1}]
              - identity
        """, "5x5x3")
    x = torch.randn(1, 3, 5, 5)
    out = net(x)
    assert tuple(out.shape) == (1, 2 + 3 + 3, 5, 5)
    assert torch.equal(out[:, 5:], x)  # the identity branch comes last, unchanged
    assert isinstance(net["parallel1"]["concat"], ct.Concat)


def test_residual_adds_the_input_back() -> None:
    net = build_text("""
        - residual:
            body: [conv: {filters: 3, kernel: 3, padding: 1}]
            activation: relu
        """, "4x4x3")
    block = net["residual1"]
    x = torch.randn(1, 3, 4, 4)
    assert torch.allclose(block(x), torch.relu(block["conv1"](x) + x))


def test_frozen_layers_do_not_require_grad() -> None:
    net = build_text("- conv: {filters: 2, kernel: 3}\n  trainable: false\n- flatten\n"
                     "- dense: 3", "4x4x1")
    assert not any(p.requires_grad for p in net["conv1"].parameters())
    assert all(p.requires_grad for p in net["dense1"].parameters())


def test_build_accepts_a_name_a_spec_or_a_report_and_an_input() -> None:
    net = ct.build("lenet5", (36, 36, 3))
    assert net.report.input_shape == (36, 36, 3)
    assert tuple(run(net, (36, 36, 3)).shape) == (1, 10)
    report = cnncalc.analyze(cnncalc.load("lenet5"))
    assert ct.build(report).report is report
    with pytest.raises(CnnCalcError, match="fixed by the Report"):
        ct.build(report, (36, 36, 3))


def test_build_on_meta_allocates_nothing() -> None:
    with torch.device("meta"):
        net = ct.build("vgg16")
    assert all(p.device.type == "meta" for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == 138_357_544  # CONVENTIONS.md


def test_a_layer_name_torch_refuses_is_a_cnncalc_error() -> None:
    with pytest.raises(CnnCalcError, match="torch module name"):
        build_text("- conv: {filters: 2, kernel: 1}\n  name: forward", "4x4x1")


def test_training_one_step_changes_the_weights() -> None:
    torch.manual_seed(0)
    net = ct.build("lenet5")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x, labels = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    before = net["conv1"].weight.detach().clone()
    loss = torch.nn.functional.nll_loss(torch.log(net(x)), labels)  # lenet5 ends in softmax
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, net["conv1"].weight)


# --------------------------------------------------------------------------- the comparison

def test_shape_conversion() -> None:
    assert torch_shape((37, 37, 10), 2) == (2, 10, 37, 37)
    assert torch_shape((1960,), 3) == (3, 1960)
    assert engine_shape((2, 10, 37, 36)) == (37, 36, 10)
    assert engine_shape((3, 1960)) == (1960,)


def test_compare_reports_each_difference() -> None:
    report = cnncalc.analyze(cnncalc.load_text(spec_text("- conv: {filters: 10, kernel: 3}",
                                                         "39x39x3"), "t.yaml"))
    # The lecture: 39x39x3 -> 37x37x10 with 280 params, 3*3*3 * 37*37*10 MACs.
    right = Measured((1, 10, 37, 37), 280, 280, 0, 27 * 37 * 37 * 10)
    good = match(report, Measurement({"conv1": right}, right))
    assert good.agrees and not good.disagreeing
    wrong = Measured((1, 10, 19, 19), 280, 280, 0, 27 * 19 * 19 * 10)  # a stride-2 module
    bad = match(report, Measurement({"conv1": wrong}, wrong))
    assert not bad.agrees
    (row,) = bad.disagreeing
    text = "; ".join(row.differences())
    assert "shape: torch 1 x 19x19x10, engine 1 x 37x37x10" in text
    assert f"macs: torch {27 * 19 * 19 * 10:,} (engine +{27 * 10 * (37**2 - 19**2):,})" in text


def test_compare_flags_a_missing_module() -> None:
    report = cnncalc.analyze(cnncalc.load("lenet5"))
    total = Measured((1, 10), 62006, 62006, 0, 0)
    verification = match(report, Measurement({}, total))
    assert len(verification.missing) == len(list(report.walk()))
    assert not verification.agrees


def test_summarize_times() -> None:
    timing = summarize_times([0.030, 0.010, 0.020], batch=8, macs=4_000_000)
    assert timing.median_s == 0.020 and timing.min_s == 0.010 and timing.max_s == 0.030
    assert timing.throughput == pytest.approx(8 / 0.020)
    assert timing.macs_per_s == pytest.approx(4_000_000 / 0.020)
    assert timing.stdev_s == pytest.approx(0.010)


def test_measure_on_meta_counts_like_torch() -> None:
    report = cnncalc.analyze(cnncalc.load("resnet18"), batch=2)
    measurement = ct.measure(report, "meta")
    # CONVENTIONS.md: torchvision's resnet18, 11,689,512 params, 1,814,073,344 MACs per image.
    assert measurement.total.params == 11_689_512
    assert measurement.total.macs == 2 * 1_814_073_344
    assert measurement.total.shape == (2, 1000)


# --------------------------------------------------------------------------- the command

def test_verify_agrees_and_exits_0(runner) -> None:
    result = runner.invoke(app, ["verify", "lenet5", "--batch", "2"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "conv1" in line)
    assert "✓" in row and "28x28x6" in row and "456" in row
    assert f"{2 * 352_800:,}" in row  # 5*5*3 * 28*28*6 MACs per image, batch 2
    assert "agree with torch" in result.output


def test_verify_time_prints_latency_and_throughput(runner) -> None:
    result = runner.invoke(app, ["verify", "example-39", "--time", "--runs", "3",
                                 "--warmup", "1"])
    assert result.exit_code == 0, result.output
    assert "3 runs after 1 warm-up" in result.output
    assert "images/s" in result.output and "MACs/s" in result.output


def test_verify_time_refuses_meta(runner) -> None:
    result = runner.invoke(app, ["verify", "lenet5", "--device", "meta", "--time"])
    assert result.exit_code == 2
    assert "--time needs --device cpu or cuda" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_verify_cuda_without_a_gpu(runner) -> None:
    result = runner.invoke(app, ["verify", "lenet5", "--device", "cuda"])
    assert result.exit_code == 2
    assert "no CUDA GPU" in result.output and "Traceback" not in result.output


def test_verify_invalid_spec_exits_2(runner, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec_text("- conv: {filters: 2, kernel: 9}", "4x4x1"))
    result = runner.invoke(app, ["verify", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output and "conv1" in result.output


def test_verify_without_torch_exits_2_with_the_hint(runner, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.delitem(sys.modules, "cnncalc.torch", raising=False)
    monkeypatch.delattr(cnncalc, "torch", raising=False)  # as if never imported
    result = runner.invoke(app, ["verify", "lenet5"])
    assert result.exit_code == 2
    assert "pip install 'cnncalc[torch]'" in result.output
    assert "Traceback" not in result.output


def test_verify_refuses_int8(runner) -> None:
    result = runner.invoke(app, ["verify", "lenet5", "--dtype", "int8"])
    assert result.exit_code == 2


def test_meta_verifies_billions_of_params_without_memory(runner, tmp_path) -> None:
    # The lecture: a dense layer from 1000x1000x3 to 1000 units has 3,000,000,000 weights
    # (12 GB in fp32); on meta nothing is allocated.
    spec = tmp_path / "big.yaml"
    spec.write_text(spec_text("- flatten\n- dense: 1000", "1000x1000x3"))
    result = runner.invoke(app, ["verify", str(spec), "--device", "meta"])
    assert result.exit_code == 0, result.output
    assert "3,000,001,000" in result.output and "3,000,000,000" in result.output
