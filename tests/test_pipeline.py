"""One loading pipeline: every command reads, applies `extends`, rewrites, parses the same way.

`scale`, `scale -r` and `fit` used to parse the YAML themselves and failed on any spec that
extends another ("extends: unknown top-level field"). The truth here is a spec written out in
full by hand: a child spec that extends a base must scale and fit exactly like the flat spec
it stands for, and its errors must still name the file and line the layer was written in.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.commands import app

runner = CliRunner()

BASE = textwrap.dedent("""\
    name: base
    input: 32x32x3
    layers:
      - conv: {filters: 16, kernel: 3, padding: 1, activation: relu}
        name: c1
        repeat: 2
      - maxpool: 2
        name: p1
      - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        name: c2
      - global_pool
      - dense: 10
        name: head
    """)

CHILD = textwrap.dedent("""\
    name: child
    extends: base.yaml
    freeze_until: p1
    edits:
      - replace: head
        with: {dense: 5, name: head}
      - insert_after: c2
        layers: [{conv: {filters: 64, kernel: 1}, name: c3}]
    """)

#: CHILD written out by hand: base's layers with the two edits applied.
FLAT = textwrap.dedent("""\
    name: child
    input: 32x32x3
    freeze_until: p1
    layers:
      - conv: {filters: 16, kernel: 3, padding: 1, activation: relu}
        name: c1
        repeat: 2
      - maxpool: 2
        name: p1
      - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        name: c2
      - conv: {filters: 64, kernel: 1}
        name: c3
      - global_pool
      - dense: 5
        name: head
    """)


@pytest.fixture
def specs(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "child.yaml").write_text(CHILD)
    (tmp_path / "flat.yaml").write_text(FLAT)
    return {k: str(tmp_path / f"{k}.yaml") for k in ("base", "child", "flat")}


def _totals(args: list[str]) -> dict[str, int]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["totals"]


@pytest.mark.parametrize("options", [
    ["--width", "0.5"], ["--width", "2"], ["--depth", "2"], ["-r", "64"], ["-r", "48x40"],
    ["--phi", "1"],
])
def test_scale_of_an_extending_spec_is_the_scale_of_its_flat_form(
        specs: dict[str, str], options: list[str]) -> None:
    child = _totals(["scale", specs["child"], *options])
    flat = _totals(["scale", specs["flat"], *options])
    assert child == flat
    assert child["frozen_params"] > 0  # freeze_until from the child survives the rewrite


def test_scale_width_on_an_extending_spec_by_hand(specs: dict[str, str]) -> None:
    # width 0.5: 16 -> 8, 32 -> 16, 64 -> 32 (torchvision's _make_divisible, divisor 8).
    c1 = 3 * 3 * 3 * 8 + 8
    c1b = 3 * 3 * 8 * 8 + 8
    c2 = 3 * 3 * 8 * 16 + 16
    c3 = 16 * 32 + 32
    head = 32 * 5 + 5
    totals = _totals(["scale", specs["child"], "--width", "0.5"])
    assert totals["params"] == c1 + c1b + c2 + c3 + head
    assert totals["frozen_params"] == c1 + c1b


def test_scale_of_bundled_vgg16_transfer() -> None:
    # VGG-16 at half width: conv widths 32..256; the hidden dense layers fc6 and fc7 too
    # (4096 -> 2048); fc8, the network's last dense layer, keeps its 5 classes.
    widths = [3, 32, 32, 64, 64, 128, 128, 128, 256, 256, 256, 256, 256, 256]
    convs = sum(9 * a * b + b for a, b in zip(widths, widths[1:], strict=False))
    dense = (7 * 7 * 256 * 2048 + 2048) + (2048 * 2048 + 2048) + (2048 * 5 + 5)
    totals = _totals(["scale", "vgg16-transfer", "--width", "0.5"])
    assert totals["params"] == convs + dense
    assert totals["trainable_params"] == 2048 * 5 + 5  # only fc8 trains, as in the base spec


def test_scale_yaml_of_an_extending_spec_loads_again(specs: dict[str, str],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "scaled.yaml"
    result = runner.invoke(app, ["scale", specs["child"], "-w", "0.5", "--yaml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "extends" not in text and "edits" not in text  # written out in full
    assert _totals(["show", str(out)]) == _totals(["scale", specs["child"], "-w", "0.5"])


@pytest.mark.parametrize("by", ["width", "depth", "resolution", "compound"])
def test_fit_of_an_extending_spec_is_the_fit_of_its_flat_form(specs: dict[str, str],
                                                              by: str) -> None:
    def fit(path: str) -> str:
        # wide enough that no line wraps: the two paths differ in length
        result = runner.invoke(app, ["fit", path, "--by", by, "--max-params", "30k"],
                               env={"COLUMNS": "1000"})
        assert result.exit_code in (0, 1), result.output
        return result.output.replace(path, "SPEC")

    assert fit(specs["child"]) == fit(specs["flat"])


def test_fit_of_bundled_vgg16_transfer_finds_a_width() -> None:
    result = runner.invoke(app, ["fit", "vgg16-transfer", "--by", "width",
                                 "--max-params", "60M"])
    assert result.exit_code == 0, result.output
    assert "Largest that fits: width" in result.output


def test_errors_in_inherited_layers_name_the_base_file_after_scaling(tmp_path: Path) -> None:
    # A layer that breaks only when the input shrinks: the message names base.yaml and the line
    # the layer was written on, although the child spec is the one being scaled.
    (tmp_path / "base.yaml").write_text(textwrap.dedent("""\
        name: base
        input: 32x32x3
        layers:
          - conv: {filters: 8, kernel: 3}
          - conv: {filters: 8, kernel: 25}
        """))
    (tmp_path / "child.yaml").write_text("name: child\nextends: base.yaml\n")
    result = runner.invoke(app, ["scale", str(tmp_path / "child.yaml"), "-r", "16"])
    assert result.exit_code == 2
    assert "base.yaml:5" in result.output
