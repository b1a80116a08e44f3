"""The lecture's numbers (seed/cnn-lecture.txt, CONVENTIONS.md), reproduced by the engine."""

from __future__ import annotations

import pytest

import cnncalc
from tests.conftest import analyze_text


def leaf_rows(name: str):
    report = cnncalc.analyze(cnncalc.load(name))
    return report, {n.name: n for n in report.leaves()}


def test_lenet5_table_row_by_row():
    # The lecture's table: (layer, activation shape, activation size, # parameters).
    # CONV1 is printed as 4707 in the lecture; 28 * 28 * 6 = 4704.
    expected = [
        ("conv1", (28, 28, 6), 28 * 28 * 6, (5 * 5 * 3 + 1) * 6),
        ("pool1", (14, 14, 6), 1176, 0),
        ("conv2", (10, 10, 16), 1600, (5 * 5 * 6 + 1) * 16),
        ("pool2", (5, 5, 16), 400, 0),
        ("fc3", (120,), 120, 400 * 120 + 120),
        ("fc4", (84,), 84, 120 * 84 + 84),
        ("softmax", (10,), 10, 84 * 10 + 10),
    ]
    report, rows = leaf_rows("lenet5")
    assert report.input_size == 3072
    for name, shape, size, params in expected:
        row = rows[name]
        assert (row.output_shape, row.activations, row.params) == (shape, size, params), name
    assert [456, 2416, 48120, 10164, 850] == [rows[n].params for n in
                                              ("conv1", "conv2", "fc3", "fc4", "softmax")]
    # MACs by hand: f*f*c_in * H*W*c_out for convs, n_in*n_out for dense layers.
    assert rows["conv1"].macs == 5 * 5 * 3 * 28 * 28 * 6
    assert rows["conv2"].macs == 5 * 5 * 6 * 10 * 10 * 16
    assert rows["fc3"].macs == 400 * 120
    assert report.totals.macs == (5 * 5 * 3 * 28 * 28 * 6 + 5 * 5 * 6 * 10 * 10 * 16
                                  + 400 * 120 + 120 * 84 + 84 * 10)
    assert report.totals.params == 456 + 2416 + 48120 + 10164 + 850


def test_the_39x39_example_chain():
    report, rows = leaf_rows("example-39")
    assert rows["layer1"].output_shape == (37, 37, 10)
    assert rows["layer2"].output_shape == (17, 17, 20)
    assert rows["layer3"].output_shape == (7, 7, 40)
    assert rows["flatten1"].output_shape == (1960,)
    assert rows["layer4"].params == 1960 * 10 + 10


def test_ten_filters_of_3x3x3_have_280_parameters():
    report = analyze_text("- conv: {filters: 10, kernel: 3}", input="39x39x3")
    assert report.totals.params == 280


def test_dense_layer_on_1000x1000x3_has_3_billion_weights():
    report = analyze_text("- flatten\n- dense: {units: 1000, bias: false}",
                          input="1000x1000x3")
    assert report.totals.params == 3_000_000_000
    assert report.totals.macs == 3_000_000_000


def test_alexnet_as_the_lecture_lists_it():
    report, rows = leaf_rows("alexnet")
    shapes = {
        "conv1": (55, 55, 96), "pool1": (27, 27, 96), "conv2": (27, 27, 256),
        "pool2": (13, 13, 256), "conv3": (13, 13, 384), "conv4": (13, 13, 384),
        "conv5": (13, 13, 256), "pool5": (6, 6, 256), "flatten1": (9216,),
        "fc6": (4096,), "fc7": (4096,), "fc8": (1000,),
    }
    for name, shape in shapes.items():
        assert rows[name].output_shape == shape, name
    by_hand = (
        (11 * 11 * 3 + 1) * 96 + (5 * 5 * 96 + 1) * 256 + (3 * 3 * 256 + 1) * 384
        + (3 * 3 * 384 + 1) * 384 + (3 * 3 * 384 + 1) * 256
        + (9216 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    )
    assert by_hand == 62_378_344
    assert report.totals.params == by_hand


def test_vgg16_equals_torchvision():
    report, rows = leaf_rows("vgg16")
    assert report.totals.params == 138_357_544
    assert report.totals.macs == 15_470_264_320
    # The lecture's listing, stage by stage (its fourth stage prints 14x14x512 for 28x28x512);
    # each stage's pool is named by its index in torchvision's vgg16.features.
    stages = {"4": (112, 112, 64), "9": (56, 56, 128), "16": (28, 28, 256),
              "23": (14, 14, 512), "30": (7, 7, 512)}
    for name, shape in stages.items():
        assert rows[name].kind == "maxpool"
        assert rows[name].output_shape == shape


def test_inception_bottleneck_arithmetic_from_the_lecture():
    naive = analyze_text("- conv: {filters: 32, kernel: 5, padding: same}", input="28x28x192")
    assert naive.totals.macs == 5 * 5 * 192 * 28 * 28 * 32 == 120_422_400
    bottleneck = analyze_text(
        "- conv: {filters: 16, kernel: 1}\n- conv: {filters: 32, kernel: 5, padding: same}",
        input="28x28x192")
    assert bottleneck.totals.macs == 2_408_448 + 10_035_200 == 12_443_648


@pytest.mark.parametrize(("n_in", "n_out"), [(6, 3), (7, 3), (13, 6), (224, 7), (10, 1)])
def test_adaptive_pooling_follows_the_lecture(n_in: int, n_out: int):
    report = analyze_text(f"- adaptive_pool: {{mode: max, size: {n_out}}}",
                          input=f"{n_in}x{n_in}x4")
    s = n_in // n_out
    f = n_in - (n_out - 1) * s
    assert report.nodes[0].output_shape == (n_out, n_out, 4)
    assert (n_in - f) // s + 1 == n_out  # the rule's window reproduces the target size
    assert report.nodes[0].elementwise == n_out * n_out * 4 * (f * f - 1)
