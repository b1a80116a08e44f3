"""Receptive fields (Araujo, Norris and Sim, Distill 2019), checked against hand arithmetic."""

from __future__ import annotations

import json

from cnncalc import analyze, load
from cnncalc.analyses.receptive import receptive_fields
from cnncalc.commands import app
from tests.conftest import analyze_text


def rf(report, path):
    f = receptive_fields(report)[path]
    return f.size, f.stride, f.padding


def test_small_chain_by_hand():
    report = analyze_text("""
        - conv: {filters: 4, kernel: 3}
          name: a
        - conv: {filters: 4, kernel: 3, stride: 2, padding: 1}
          name: b
        - maxpool: 2
          name: c
    """)
    # a: r = 1 + (3-1)*1 = 3, j = 1, p = 0
    assert rf(report, "a") == (3, 1, 0)
    # b: r = 3 + (3-1)*1 = 5, j = 1*2 = 2, p = 0 + 1*1 = 1
    assert rf(report, "b") == (5, 2, 1)
    # c: r = 5 + (2-1)*2 = 7, j = 2*2 = 4, p = 1 + 0*2 = 1
    assert rf(report, "c") == (7, 4, 1)


def test_dilation_uses_the_dilated_kernel():
    report = analyze_text("""
        - conv: {filters: 4, kernel: 3, dilation: 2}
          name: a
        - conv: {filters: 4, kernel: 3, dilation: 4, stride: 2}
          name: b
    """)
    # f_eff = 2*(3-1)+1 = 5 -> r = 5; then f_eff = 4*2+1 = 9 -> r = 5 + 8*1 = 13, j = 2
    assert rf(report, "a") == (5, 1, 0)
    assert rf(report, "b") == (13, 2, 0)


def test_pad_layer_moves_padding_only():
    report = analyze_text("""
        - conv: {filters: 4, kernel: 3, stride: 2}
          name: a
        - pad: 2
          name: b
        - conv: {filters: 4, kernel: 3}
          name: c
    """)
    assert rf(report, "b") == (3, 2, 0 + 2 * 2)
    assert rf(report, "c") == (3 + 2 * 2, 2, 4)


def test_branches_centred_alike_take_the_largest():
    report = analyze_text("""
        - parallel:
            branches:
              - [{conv: {filters: 2, kernel: 3, padding: 1}}]
              - [{conv: {filters: 2, kernel: 5, padding: 2}}]
          name: inc
    """)
    # paths: (r 3, p 1) and (r 5, p 2): union p = 2, r = max(3-1, 5-2) + 2 = 5 = max r
    assert rf(report, "inc.concat") == (5, 1, 2)
    assert rf(report, "inc") == (5, 1, 2)


def test_branches_whose_paths_differ_cover_both():
    # Two 3x3 paths, one padded before (sees k-2..k), one after (sees k..k+2): each has r = 3,
    # together they see k-2..k+2: r = 5, p = 2.
    report = analyze_text("""
        - parallel:
            branches:
              - [{conv: {filters: 2, kernel: 3, padding: [2, 0, 2, 0]}}]
              - [{conv: {filters: 2, kernel: 3, padding: [0, 2, 0, 2]}}]
            merge: add
          name: p
    """)
    fields = receptive_fields(report)
    assert (fields["p.branch1"].size, fields["p.branch1"].padding) == (3, 2)
    assert (fields["p.branch2"].size, fields["p.branch2"].padding) == (3, 0)
    assert rf(report, "p.add") == (5, 1, 2)


def test_residual_identity_shortcut():
    report = analyze_text("""
        - residual:
            body:
              - conv: {filters: 3, kernel: 3, padding: 1}
              - conv: {filters: 3, kernel: 3, padding: 1}
          name: r
    """)
    # body: r = 1 + 2 + 2 = 5, p = 2; identity: r = 1, p = 0 -> union r = max(3, 1) + 2 = 5
    assert rf(report, "r") == (5, 1, 2)


def test_strided_projection_shortcut():
    report = analyze_text("""
        - residual:
            body: [{conv: {filters: 3, kernel: 3, stride: 2, padding: 1}}]
            shortcut: [{conv: {filters: 3, kernel: 1, stride: 2}}]
          name: r
    """)
    assert rf(report, "r.shortcut") == (1, 2, 0)
    assert rf(report, "r") == (3, 2, 1)


def test_dense_after_flatten_sees_the_whole_map():
    # example-39: layer3 has r = 15, j = 4 on a 7x7 grid; a dense unit sees 15 + (7-1)*4 = 39
    report = analyze(load("example-39"))
    assert rf(report, "layer3") == (15, 4, 0)
    assert rf(report, "layer4") == (39, 4, 0)


def test_vgg16_after_pool5_is_212_32_90():
    # CONVENTIONS.md, from Araujo, Norris and Sim. pool5 is torchvision's features.30.
    assert rf(analyze(load("vgg16")), "features.30") == (212, 32, 90)


def test_json_carries_receptive_field_on_every_layer_and_block(runner):
    result = runner.invoke(app, ["show", "vgg16", "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    pool5 = next(layer for layer in data["layers"] if layer["path"] == "features.30")
    assert pool5["receptive_field"] == {"size": 212, "stride": 32, "padding": 90}
    assert all("receptive_field" in n for n in data["layers"] + data["blocks"])
    assert "params" in pool5 and "macs" in pool5  # existing keys kept


def test_show_rf_column(runner):
    result = runner.invoke(app, ["show", "vgg16", "--rf"])
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines()
               if line.strip().startswith("30: maxpool"))  # pool5: torchvision's features.30
    assert row.rstrip().endswith("212 / 32 / 90")
    plain = runner.invoke(app, ["show", "vgg16"])
    assert "212 / 32 / 90" not in plain.output

