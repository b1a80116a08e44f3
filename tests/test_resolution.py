"""`cnncalc resolution`: the sweep's counts are `analyze`'s at each size, in every format."""

from __future__ import annotations

import json
import random

import pytest

import cnncalc
from cnncalc.analyses import resolution as R
from cnncalc.commands import app
from cnncalc.errors import CnnCalcError


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet_v2", "lenet5"])
def test_sweep_equals_analyze_at_random_sizes(name):
    spec = cnncalc.load(name)
    sizes = sorted(random.Random(name).sample(range(32, 400), 5))
    for size, found in zip(sizes, (R.point(spec, s) for s in sizes), strict=True):
        try:
            totals = cnncalc.analyze(spec, (size, size, spec.input_shape[-1])).totals
        except CnnCalcError:
            assert found.macs is None and found.error
            continue
        assert (found.macs, found.params, found.activations) == (
            totals.macs, totals.params, totals.activations)


def test_drops_pixels_by_hand():
    # conv 3, stride 2, no padding: n = 9 ends exactly (windows at 0, 2, 4, 6), n = 10 drops
    spec = cnncalc.load_text("name: t\ninput: 9x9x1\nlayers:\n  - conv: {filters: 1, "
                             "kernel: 3, stride: 2}\n")
    assert [R.point(spec, n).drops_pixels for n in (9, 10)] == [False, True]
    assert R.smallest_input(spec) == 3


def test_parse_sweep():
    assert list(R.parse_sweep("128..512:128")) == [128, 256, 384, 512]
    assert list(R.parse_sweep("3..5")) == [3, 4, 5]
    for bad in ("5..3", "a..b", "0..4:1", "1..4:0"):
        with pytest.raises(CnnCalcError):
            R.parse_sweep(bad)


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "html"])
def test_cli_every_format(runner, fmt):
    out = runner.invoke(app, ["resolution", "lenet5", "--sweep", "28..36:4", "-f", fmt])
    assert out.exit_code == 0, out.output
    if fmt == "json":
        assert json.loads(out.output)
    assert "32" in out.output
