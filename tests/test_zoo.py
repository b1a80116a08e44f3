"""The bundled model zoo equals its references exactly.

Params and MACs of the torchvision models are typed from CONVENTIONS.md's table (torchvision,
224x224x3, weights=None, MACs = FlopCounterMode / 2); the lecture's Inception numbers come from
seed/cnn-lecture.txt; shapes along the way from the comments in torchvision's own forward().
"""

from __future__ import annotations

import re

import pytest

import cnncalc
from cnncalc.core.catalog import bundled

# (spec, params, MACs) from CONVENTIONS.md, "From torchvision's model definitions".
TORCHVISION = [
    ("resnet18", 11_689_512, 1_814_073_344),
    ("resnet50", 25_557_032, 4_089_184_256),
    ("googlenet", 6_624_904, 1_498_376_192),
    ("mobilenet_v2", 3_504_872, 300_774_272),
    # torchvision's num_params of its weights; MACs FlopCounterMode / 2 (tests/test_regnet.py)
    ("regnet_y_400mf", 4_344_144, 401_842_848),
]

HW = 28 * 28  # the lecture's Inception input is 28x28x192

# (spec, params, MACs) of the lecture's Inception examples, from the closed form
# f_h f_w c_in (+1 bias) c_out for params and f_h f_w c_in H W c_out for MACs.
LECTURE = [
    ("inception-5x5", (5 * 5 * 192 + 1) * 32, 120_422_400),
    ("inception-bottleneck", (192 + 1) * 16 + (5 * 5 * 16 + 1) * 32, 2_408_448 + 10_035_200),
    ("inception-module",
     (192 + 1) * 64 + (192 + 1) * 96 + (9 * 96 + 1) * 128 + (192 + 1) * 16
     + (25 * 16 + 1) * 32 + (192 + 1) * 32,
     HW * (192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32)),
]


def report(name: str, **kw: object) -> cnncalc.core.report.Report:
    return cnncalc.analyze(cnncalc.load(name), **kw)


def by_path(rep: cnncalc.core.report.Report) -> dict[str, cnncalc.core.report.Node]:
    return {n.path: n for n in rep.walk()}


@pytest.mark.parametrize(("name", "params", "macs"), TORCHVISION + LECTURE)
def test_params_and_macs_exact(name: str, params: int, macs: int) -> None:
    totals = report(name).totals
    assert (totals.params, totals.macs) == (params, macs)
    assert totals.trainable_params == params  # nothing frozen in the zoo


def test_lecture_inception_numbers_as_printed() -> None:
    # The lecture prints 120422400 and 2408448 + 10035200 = 12443648.
    assert report("inception-5x5").totals.macs == 5 * 5 * 192 * 28 * 28 * 32 == 120_422_400
    rows = by_path(report("inception-bottleneck"))
    assert rows["bottleneck"].macs == 1 * 1 * 192 * 28 * 28 * 16 == 2_408_448
    assert rows["conv5x5"].macs == 5 * 5 * 16 * 28 * 28 * 32 == 10_035_200
    assert rows["conv5x5"].output_shape == (28, 28, 32)


@pytest.mark.parametrize("name", [n for n, _, _ in TORCHVISION + LECTURE])
def test_spec_header_states_source_and_reference(name: str) -> None:
    """Each spec opens with a comment naming its source and its reference numbers."""
    text = bundled()[name].read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert text.startswith("#")
    assert "torchvision/models/" in header or "cnn-lecture.txt" in header
    params, macs = {n: (p, m) for n, p, m in TORCHVISION + LECTURE}[name]
    assert f"{macs:,}" in header
    if name in {n for n, _, _ in TORCHVISION}:
        assert f"{params:,} params" in header
    spec = cnncalc.load(name)
    assert spec.description and "\n" not in spec.description


def test_googlenet_shapes_follow_torchvision_comments() -> None:
    # googlenet.py's forward() annotates every stage: N x C x H x W.
    rows = by_path(report("googlenet"))
    expected = {
        "conv1": (112, 112, 64), "maxpool1": (56, 56, 64), "conv3": (56, 56, 192),
        "maxpool2": (28, 28, 192), "inception3a": (28, 28, 256), "inception3b": (28, 28, 480),
        "maxpool3": (14, 14, 480), "inception4a": (14, 14, 512), "inception4d": (14, 14, 528),
        "inception4e": (14, 14, 832), "maxpool4": (7, 7, 832), "inception5b": (7, 7, 1024),
        "avgpool": (1024,), "fc": (1000,),
    }
    assert {p: rows[p].output_shape for p in expected} == expected
    # ceil_mode matters: floor((112 - 3) / 2) + 1 = 55 without it, 56 with it.
    assert (112 - 3) // 2 + 1 == 55 and -(-(112 - 3) // 2) + 1 == 56
    # torchvision's "5x5" branch is a 3x3 conv: 3*3*16*32 weights in inception3a.
    assert rows["inception3a.branch3.1.conv"].params == 3 * 3 * 16 * 32
    # BasicConv2d: conv without bias, batch norm with 2C params and 2C buffers.
    assert rows["conv1.conv"].params == 7 * 7 * 3 * 64
    assert (rows["conv1.bn"].params, rows["conv1.bn"].buffers) == (2 * 64, 2 * 64)


def test_resnet50_structure() -> None:
    rows = by_path(report("resnet50"))
    stages = {"layer1": ((56, 56, 256), 3), "layer2": ((28, 28, 512), 4),
              "layer3": ((14, 14, 1024), 6), "layer4": ((7, 7, 2048), 3)}
    for stage, (shape, blocks) in stages.items():
        assert rows[stage].output_shape == shape
        assert len(rows[stage].children) == blocks
    # Paths read like torchvision's module names.
    for path in ("conv1", "bn1", "layer1.0.conv1", "layer1.0.bn3", "layer4.2.conv3", "fc"):
        assert path in rows
    # A projection in the first block of each stage only (layer1.0: 64 -> 256 channels).
    # torchvision's `layer2.0.downsample.0`: the shortcut written as one named entry is
    # that row, not inside a `shortcut` row.
    projections = sorted(p for p in rows if p.endswith(".downsample"))
    assert projections == [f"layer{k}.0.downsample" for k in range(1, 5)]
    assert rows["layer1.0.downsample"].container == "shortcut"
    assert rows["layer1.0.downsample.0"].params == 64 * 256
    assert not any(p.endswith(".shortcut") for p in rows)
    # v1.5: the stride is on the 3x3 conv; layer2.0.conv2 = 3*3*128 * 28*28*128 MACs.
    assert rows["layer2.0.conv2"].macs == 3 * 3 * 128 * 28 * 28 * 128
    assert rows["layer2.0.conv1"].output_shape == (56, 56, 128)


def test_mobilenet_v2_residual_adds_only_where_shapes_allow() -> None:
    rows = by_path(report("mobilenet_v2"))
    # use_res_connect = stride == 1 and in == out: per stage (t, c, n, s) that is n - 1
    # blocks, except stage 1 (16 != 32 in) and 7 (one block): 1 + 2 + 3 + 2 + 2 = 10.
    adds = [p for p, n in rows.items() if n.kind == "add"]
    assert len(adds) == (2 - 1) + (3 - 1) + (4 - 1) + (3 - 1) + (3 - 1) == 10
    # torchvision's features.N numbers the blocks through the network: stage 5 (t, c, n, s) =
    # (6, 96, 3, 1) is features.11 .. 13.
    assert "features.11.add" not in rows and "features.12.add" in rows  # 64 -> 96, 96 -> 96
    # The 1x1 expansion exists only for t != 1: features.1 has none, so its conv.0 is the
    # depthwise conv; features.2's conv.0 is the expansion and conv.1 the depthwise conv.
    assert rows["features.1.conv.0.0"].params == 3 * 3 * 32  # depthwise, no bias
    assert rows["features.2.conv.0.0"].output_shape == (112, 112, 16 * 6)
    assert rows["features.2.conv.1.0"].params == 3 * 3 * 96  # depthwise, no bias
    assert rows["features.18"].output_shape == (7, 7, 1280)
    assert rows["classifier.1"].params == 1280 * 1000 + 1000


def test_zoo_scales_with_batch() -> None:
    base = report("resnet50")
    four = report("resnet50", batch=4, dtype="fp16")
    assert four.macs(four.totals) == 4 * 4_089_184_256
    assert four.flops(four.totals) == 2 * 4 * 4_089_184_256
    assert four.param_bytes == 2 * 25_557_032 == base.param_bytes // 2


def test_paths_are_unique_and_dotted() -> None:
    for name in ("resnet50", "googlenet", "mobilenet_v2", "inception-module"):
        paths = [n.path for n in report(name).walk()]
        assert len(paths) == len(set(paths)), name
        assert all(re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", p) for p in paths)


def test_hierarchical_table_reads_like_the_model(runner) -> None:
    from cnncalc.commands import app

    result = runner.invoke(app, ["show", "resnet50", "--levels", "1"])
    assert result.exit_code == 0, result.output
    labels = [line.split("  ")[1] if line.startswith("  ") else "" for line in
              result.output.splitlines()]
    # A repeat says how many of which block; its children are numbered like torchvision's.
    assert "layer1 (3 x bottleneck)" in labels and "layer3 (6 x bottleneck)" in labels
    assert sum(1 for line in result.output.splitlines() if ": bottleneck" in line) == 3 + 4 + 6 + 3
    assert not any("conv2 (f=3" in line for line in result.output.splitlines())  # depth 2
    result = runner.invoke(app, ["show", "googlenet", "--levels", "0"])
    assert "inception3a (inception)" in result.output and "conv1 (basic_conv)" in result.output
    assert "branch1" not in result.output


def test_json_paths_name_torchvision_modules(runner) -> None:
    import json

    from cnncalc.commands import app

    doc = json.loads(runner.invoke(app, ["show", "googlenet", "-f", "json"]).output)
    paths = {layer["path"] for layer in doc["layers"]}
    assert {"conv1.conv", "inception3a.branch1.conv", "inception3a.branch2.1.conv",
            "inception5b.branch4.0", "inception5b.concat", "fc"} <= paths
    blocks = {block["path"]: block for block in doc["blocks"]}
    assert blocks["inception3a"]["output_shape"] == [28, 28, 64 + 128 + 32 + 32]
