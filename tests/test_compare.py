"""`cnncalc compare`: totals side by side with ratios against the first spec.

Expected ratios are computed here from the lecture's numbers (120,422,400 vs 12,443,648 MACs)
and CONVENTIONS.md's torchvision table, never read from the engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from cnncalc.commands import app

FIVE, NECK = 120_422_400, 12_443_648  # the lecture's Inception MACs
FIVE_PARAMS = (5 * 5 * 192 + 1) * 32
NECK_PARAMS = (192 + 1) * 16 + (5 * 5 * 16 + 1) * 32


def row(output: str, label: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(label))


def test_table_shows_the_bottleneck_saving(runner) -> None:
    result = runner.invoke(app, ["compare", "inception-5x5", "inception-bottleneck"])
    assert result.exit_code == 0, result.output
    macs = row(result.output, "MACs")
    assert "120,422,400" in macs and "12,443,648" in macs
    assert f"{FIVE / NECK:.2f}" == "9.68"  # the lecture's "about 9.7x"
    assert "(1/9.68)" in macs
    assert f"(1/{2 * FIVE / (2 * NECK):.2f})" in row(result.output, "FLOPs")
    assert f"{2 * FIVE:,}" in row(result.output, "FLOPs")
    assert f"(1/{FIVE_PARAMS / NECK_PARAMS:.2f})" in row(result.output, "params")
    assert "Ratios against inception-5x5" in result.output


def test_reverse_order_reads_as_a_multiple(runner) -> None:
    result = runner.invoke(app, ["compare", "inception-bottleneck", "inception-5x5"])
    assert result.exit_code == 0
    assert f"{FIVE:,} ({FIVE / NECK:.2f}x)" in row(result.output, "MACs")


def test_json_exact_totals_and_ratios(runner) -> None:
    result = runner.invoke(app, ["compare", "resnet50", "resnet18", "mobilenet_v2",
                                 "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["baseline"] == "resnet50" and doc["batch"] == 1 and doc["dtype"] == "fp32"
    names = [s["name"] for s in doc["specs"]]
    assert names == ["resnet50", "resnet18", "mobilenet_v2"]
    # CONVENTIONS.md: params and MACs of torchvision's models at 224x224x3.
    expected = {"resnet50": (25_557_032, 4_089_184_256), "resnet18": (11_689_512, 1_814_073_344),
                "mobilenet_v2": (3_504_872, 300_774_272)}
    for spec in doc["specs"]:
        params, macs = expected[spec["name"]]
        assert (spec["totals"]["params"], spec["totals"]["macs"]) == (params, macs)
        assert spec["ratios"]["params"] == pytest.approx(params / 25_557_032)
        assert spec["ratios"]["macs"] == pytest.approx(macs / 4_089_184_256)
        assert spec["ratios"]["flops"] == spec["ratios"]["macs"]
        assert spec["ratios"]["param_bytes"] == spec["ratios"]["params"]
    assert doc["specs"][0]["ratios"] == {k: 1.0 for k in doc["specs"][0]["ratios"]}


def test_markdown_table(runner) -> None:
    result = runner.invoke(app, ["compare", "inception-5x5", "inception-bottleneck",
                                 "--format", "markdown"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "### compare"
    assert lines[2] == "|  | inception-5x5 | inception-bottleneck |"
    assert lines[3] == "| :--- | ---: | ---: |"
    assert f"| MACs | {FIVE:,} | {NECK:,} (1/9.68) |" in lines
    # param memory at fp32: 4 bytes per param, in binary units
    assert f"| param memory | {FIVE_PARAMS * 4 / 1024:.1f} KiB |" in row(result.output,
                                                                         "| param memory")


def test_batch_dtype_and_input_apply_to_every_spec(runner) -> None:
    result = runner.invoke(app, ["compare", "inception-5x5", "inception-bottleneck", "-f", "json",
                                 "--batch", "3", "--dtype", "fp16", "--input", "14x14x192"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (doc["batch"], doc["dtype"]) == (3, "fp16")
    five, neck = (s["totals"] for s in doc["specs"])
    # 'same' padding keeps 14x14: a quarter of the 28x28 work, times the batch of 3.
    assert five["macs"] == 3 * 5 * 5 * 192 * 14 * 14 * 32
    assert neck["macs"] == 3 * (192 * 14 * 14 * 16 + 5 * 5 * 16 * 14 * 14 * 32)
    assert five["param_bytes"] == 2 * FIVE_PARAMS  # params do not scale with the batch
    assert [s["input"] for s in doc["specs"]] == [[14, 14, 192]] * 2
    # the ratio does not depend on the input size when both keep it
    assert doc["specs"][1]["ratios"]["macs"] == pytest.approx(NECK / FIVE)


def test_same_spec_twice_gets_numbered_columns(runner) -> None:
    result = runner.invoke(app, ["compare", "lenet5", "lenet5", "-f", "json"])
    doc = json.loads(result.output)
    assert [s["name"] for s in doc["specs"]] == ["lenet5", "lenet5 (2)"]
    assert doc["specs"][1]["ratios"]["macs"] == 1.0


def test_zero_baseline_has_no_ratio(runner, tmp_path) -> None:
    pool = tmp_path / "pool.yaml"
    pool.write_text("name: pool\ninput: 8x8x4\nlayers:\n  - maxpool: 2\n", encoding="utf-8")
    conv = tmp_path / "conv.yaml"
    conv.write_text("name: conv\ninput: 8x8x4\nlayers:\n  - conv: {filters: 4, kernel: 1}\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["compare", str(pool), str(conv), "-f", "json"])
    assert json.loads(result.output)["specs"][1]["ratios"]["macs"] is None
    table = runner.invoke(app, ["compare", str(pool), str(conv)])
    assert f"{8 * 8 * 4 * 4:,} (n/a)" in row(table.output, "MACs")


def test_any_invalid_spec_exits_2_naming_each(runner, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        name: bad
        input: 8x8x4
        layers:
          - residual:
              body: [conv: {filters: 8, kernel: 3, padding: 1}]
    """), encoding="utf-8")
    result = runner.invoke(app, ["compare", "lenet5", str(bad), "nosuch"])
    assert result.exit_code == 2
    assert f"{bad}:4:" in result.output and "the body gives 8x8x8" in result.output
    assert "nosuch: no such file" in result.output
    assert "Traceback" not in result.output


def test_needs_two_specs(runner) -> None:
    result = runner.invoke(app, ["compare", "lenet5"])
    assert result.exit_code == 2
    assert "at least two specs" in result.output


def test_output_file(runner, tmp_path) -> None:
    out = tmp_path / "cmp.md"
    result = runner.invoke(app, ["compare", "inception-5x5", "inception-bottleneck",
                                 "-f", "markdown", "-o", str(out)])
    assert result.exit_code == 0 and result.output == ""
    assert f"{NECK:,} (1/9.68)" in out.read_text(encoding="utf-8")


def test_compare_never_imports_torch() -> None:
    code = ("import sys; from typer.testing import CliRunner; from cnncalc.commands import app; "
            "r = CliRunner().invoke(app, ['compare', 'resnet18', 'googlenet']); "
            "assert r.exit_code == 0, r.output; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_compare_csv_and_html_carry_exact_numbers(runner) -> None:
    import csv
    import io

    from cnncalc.commands import app

    result = runner.invoke(app, ["compare", "inception-5x5", "inception-bottleneck",
                                 "-f", "csv"])
    assert result.exit_code == 0, result.output
    table = {row["metric"]: row for row in csv.DictReader(io.StringIO(result.output))}
    # the lecture: 120,422,400 multiplications against 2,408,448 + 10,035,200
    assert int(table["macs"]["inception-5x5"]) == 120_422_400
    assert int(table["macs"]["inception-bottleneck"]) == 2_408_448 + 10_035_200
    assert abs(float(table["macs"]["inception-bottleneck ratio"])
               - 12_443_648 / 120_422_400) < 1e-6
    page = runner.invoke(app, ["compare", "inception-5x5", "inception-bottleneck",
                               "-f", "html"]).output
    assert page.startswith("<!DOCTYPE html>") and "120,422,400" in page
    assert "12,443,648 (1/9.68)" in page
