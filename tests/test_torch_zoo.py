"""Every bundled spec passes `cnncalc verify` on meta and on cpu; a planted disagreement fails it;
the specs with a torchvision counterpart count what torchvision publishes (CONVENTIONS.md); and
`cnncalc show` never imports torch.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.commands import app  # noqa: E402
from cnncalc.core import layers as L  # noqa: E402
from tests.conftest import spec_text  # noqa: E402

pytestmark = pytest.mark.torch

SPECS = sorted(cnncalc.bundled())

#: On cpu, a real forward pass: specs above this many MACs per image run on cpu at half their
#: input resolution (the same builders, a quarter of the arithmetic), to keep CI within
#: minutes on two cores. Every bundled spec verifies at full size on meta.
CPU_MAX_MACS = 5_000_000_000
#: Specs whose shapes allow only some inputs, on cpu at the smallest they allow: U-Net's crops
#: need 16 k + 124 pixels (half of 572 is not), Inception v3's auxiliary head needs 299x299
#: (its 5x5 conv reads Mixed_6e, 17x17 at 299).
CPU_INPUTS = {"unet": "188x188x1", "inception_v3": "299x299x3"}

# CONVENTIONS.md, "From torchvision's model definitions" (224x224x3 unless given): params and
# MACs (= FlopCounterMode / 2).
TORCHVISION = {
    "vgg16": (138_357_544, 15_470_264_320),
    "resnet18": (11_689_512, 1_814_073_344),
    "resnet50": (25_557_032, 4_089_184_256),
    "googlenet": (6_624_904, 1_498_376_192),
    "mobilenet_v2": (3_504_872, 300_774_272),
    "efficientnet_b0": (5_288_548, 385_814_752),
    # Params: torchvision's published num_params. MACs: FlopCounterMode / 2 on the networks
    # transcribed from torchvision's source in tests/test_zoo_modern.py, at the input below
    # (computed once, there checked against torchvision's published _ops: 4.456 and 8.366
    # GFLOPS).
    "convnext_tiny": (28_589_128, 4_455_531_264),
    "efficientnet_v2_s": (21_458_488, 8_365_617_152),
    # torchvision's published num_params; MACs: FlopCounterMode / 2 of torchvision's module
    # as tests/test_regnet.py transcribes it
    "regnet_y_400mf": (4_344_144, 401_842_848),
    # 299x299x3; params with the auxiliary head (aux_logits=True, torchvision's default), MACs
    # in eval mode, which skips it (torchvision publishes 5.71 "GFLOPS"; tests/test_zoo_graph.py
    # counts a plain-torch Inception3 with FlopCounterMode)
    "inception_v3": (27_161_264, 5_713_216_096),
}
#: The input of the torchvision numbers above where it is not 224x224x3 (efficientnet_v2_s is
#: published at its evaluation size).
TORCHVISION_INPUT = {"efficientnet_v2_s": (384, 384, 3), "inception_v3": (299, 299, 3)}


def _macs(name: str) -> int:
    return cnncalc.analyze(cnncalc.load(name)).totals.macs


@pytest.mark.parametrize("name", SPECS)
def test_every_bundled_spec_verifies_on_meta(runner, name: str) -> None:
    result = runner.invoke(app, ["verify", name, "--device", "meta", "--levels", "0"])
    assert result.exit_code == 0, result.output
    assert "✗" not in result.output and "agree with torch" in result.output


@pytest.mark.parametrize("name", SPECS)
def test_every_bundled_spec_verifies_on_cpu(runner, name: str) -> None:
    args = ["verify", name, "--device", "cpu", "--levels", "0"]
    if name in CPU_INPUTS:
        args += ["--input", CPU_INPUTS[name]]
    elif _macs(name) > CPU_MAX_MACS:
        h, w, c = cnncalc.load(name).input_shape
        args += ["--input", f"{h // 2}x{w // 2}x{c}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(set(TORCHVISION) & set(SPECS)))
def test_torch_counts_what_torchvision_publishes(name: str) -> None:
    params, macs = TORCHVISION[name]
    report = cnncalc.analyze(cnncalc.load(name))
    assert report.input_shape == TORCHVISION_INPUT.get(name, (224, 224, 3))
    measurement = ct.measure(report, "meta")
    assert (measurement.total.params, measurement.total.macs) == (params, macs)


def test_a_planted_wrong_stride_fails_verify(runner, monkeypatch, tmp_path) -> None:
    right = ct.BUILDERS[L.Conv]

    def wrong_stride(layer, in_shape, out_shape):
        module = right(layer, in_shape, out_shape)
        if module.stride == (1, 1) and module.kernel_size == (3, 3):
            module.stride = (2, 2)
        return module

    monkeypatch.setitem(ct.BUILDERS, L.Conv, wrong_stride)
    spec = tmp_path / "net.yaml"
    spec.write_text(spec_text("- conv: {filters: 10, kernel: 3}\n- global_pool\n- dense: 4",
                              "39x39x3"))
    result = runner.invoke(app, ["verify", str(spec), "--device", "meta"])
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if "conv1" in line)
    # 39x39x3, f = 3: stride 1 gives 37x37x10, the planted stride 2 gives 19x19x10, and
    # 3*3*3 * 19*19*10 MACs instead of 3*3*3 * 37*37*10.
    assert "✗" in row and "torch 1 x 19x19x10" in row
    assert f"macs: torch {27 * 19 * 19 * 10:,}" in row
    assert "rows disagree with torch" in result.output


def test_a_module_that_cannot_run_fails_verify(runner, monkeypatch) -> None:
    right = ct.BUILDERS[L.Conv]

    def wrong_filters(layer, in_shape, out_shape):
        return right(layer.model_copy(update={"filters": layer.filters + 1}), in_shape,
                     out_shape)

    monkeypatch.setitem(ct.BUILDERS, L.Conv, wrong_filters)
    result = runner.invoke(app, ["verify", "lenet5"])
    assert result.exit_code == 1
    assert "torch could not run lenet5" in result.output
    assert "Traceback" not in result.output


def test_show_and_verify_help_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cnncalc.commands import app\n"
        "runner = CliRunner()\n"
        "for args in (['show', 'resnet18'], ['verify', '--help'], ['specs']):\n"
        "    result = runner.invoke(app, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
