"""`cnncalc check`: budgets from the spec and the command line, every exit code, annotations,
the baseline gate both ways, the JSON view, and the CI snippet's check line (docs/ci.md).

Expected values are LeNet-5's (the lecture's table, CONVENTIONS.md): 62,006 params and 651,720
MACs at batch 1; param memory 62,006 x 4 bytes at fp32.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from cnncalc.commands import app

ROOT = Path(__file__).resolve().parent.parent
LENET_PARAMS = 456 + 2416 + 48120 + 10164 + 850  # the lecture's table: 62,006
LENET_MACS = 5 * 5 * 3 * 28 * 28 * 6 + 5 * 5 * 6 * 10 * 10 * 16 + 400 * 120 + 120 * 84 + 84 * 10


def lenet_with(tmp_path: Path, budget: str, name: str = "lenet.yaml") -> Path:
    """LeNet-5's bundled spec with a `budget:` block appended (its lines are 21 onwards)."""
    text = (ROOT / "specs" / "lenet5.yaml").read_text()
    path = tmp_path / name
    path.write_text(text.rstrip("\n") + "\nbudget:\n" + budget)
    return path


def budget_line(path: Path, key: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(key + ":"))


def run(runner, *args, env=None):
    return runner.invoke(app, ["check", *map(str, args)], env=env or {"GITHUB_ACTIONS": ""})


def test_lenet_hand_numbers():
    assert (LENET_PARAMS, LENET_MACS) == (62_006, 651_720)


def test_exit_0_when_every_limit_holds(runner, tmp_path):
    spec = lenet_with(tmp_path, "  params: 62006\n  macs: 651.72k\n  param_memory: 248024\n")
    result = run(runner, spec, "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    checks = {c["budget"]: c for c in doc["specs"][0]["checks"]}
    assert checks["params"]["value"] == LENET_PARAMS == checks["params"]["limit"]
    assert checks["params"]["share"] == 1.0 and checks["params"]["passed"]
    assert checks["macs"]["value"] == LENET_MACS
    assert checks["param_memory"]["value"] == LENET_PARAMS * 4
    assert checks["params"]["line"] == budget_line(spec, "params")
    assert doc["exit_code"] == 0 and doc["passed"]


def test_exit_1_when_one_limit_is_exceeded_by_one(runner, tmp_path):
    spec = lenet_with(tmp_path, "  params: 62005\n  macs: 1M\n")
    result = run(runner, spec)
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "pass" in result.stdout
    assert "62,006" in result.stdout and "62,005" in result.stdout


def test_command_line_wins_and_keeps_the_other_limits(runner, tmp_path):
    spec = lenet_with(tmp_path, "  params: 1k\n  macs: 1k\n")
    result = run(runner, spec, "--max-params", "100k", "-f", "json")
    checks = {c["budget"]: c for c in json.loads(result.stdout)["specs"][0]["checks"]}
    assert checks["params"]["limit"] == 100_000 and checks["params"]["source"] == "cli"
    assert checks["macs"]["limit"] == 1000 and not checks["macs"]["passed"]
    assert result.exit_code == 1


def test_batch_and_dtype_settings(runner, tmp_path):
    # MACs and activation memory scale with the batch; memory with the dtype (fp16: 2 bytes)
    spec = lenet_with(tmp_path, "  batch: 8\n  dtype: fp16\n  macs: 10M\n"
                                "  activation_memory: 1MiB\n  param_memory: 1MiB\n")
    doc = json.loads(run(runner, spec, "-f", "json").stdout)
    checks = {c["budget"]: c["value"] for c in doc["specs"][0]["checks"]}
    assert checks == {"macs": 8 * LENET_MACS, "param_memory": 2 * LENET_PARAMS,
                      "activation_memory": 2 * 8 * 8494}
    # the command line wins over the budget's settings
    doc = json.loads(run(runner, spec, "-f", "json", "--batch", "1", "--dtype", "fp32").stdout)
    checks = {c["budget"]: c["value"] for c in doc["specs"][0]["checks"]}
    assert checks["macs"] == LENET_MACS and checks["param_memory"] == 4 * LENET_PARAMS


def test_every_budget_key(runner, tmp_path):
    spec = lenet_with(tmp_path, "  trainable_params: 62006\n  flops: 1303440\n")
    doc = json.loads(run(runner, spec, "-f", "json").stdout)
    checks = {c["budget"]: c["value"] for c in doc["specs"][0]["checks"]}
    assert checks == {"trainable_params": LENET_PARAMS, "flops": 2 * LENET_MACS}


def test_exit_2_for_an_invalid_spec_while_the_others_are_checked(runner, tmp_path):
    bad = lenet_with(tmp_path, "  paramz: 5M\n  macs: 5Q\n", "bad.yaml")
    over = lenet_with(tmp_path, "  params: 1k\n", "over.yaml")
    result = run(runner, bad, over, "lenet5", "-f", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert [s["status"] for s in doc["specs"]] == ["invalid", "fail", "unchecked"]
    assert f"{bad}:{budget_line(bad, 'paramz')}: budget: unknown key 'paramz' (did you mean " \
           "'params'?)" in result.stderr
    assert f"{bad}:{budget_line(bad, 'macs')}: budget.macs: unknown unit 'Q'" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_and_bad_options_exit_2(runner, tmp_path):
    result = run(runner, tmp_path / "nope.yaml", "lenet5", "--max-params", "10M")
    assert result.exit_code == 2 and "nope.yaml" in result.stderr
    assert "pass" in result.stdout  # lenet5 was still checked
    result = run(runner, "lenet5", "--max-params", "1.5")
    assert result.exit_code == 2 and "--max-params: '1.5' is not a whole number" in result.stderr
    result = run(runner, "lenet5", "--max-growth", "5%")
    assert result.exit_code == 2 and "--max-growth needs --baseline" in result.stderr


def test_nothing_checked_is_exit_0_unless_a_budget_is_required(runner):
    result = run(runner, "lenet5")
    assert result.exit_code == 0 and "nothing checked" in result.stdout
    assert run(runner, "lenet5", "--require-budget").exit_code == 1


def test_globs_are_expanded(runner, tmp_path):
    lenet_with(tmp_path, "  params: 70k\n", "a.yaml")
    lenet_with(tmp_path, "  params: 60k\n", "b.yaml")
    doc = json.loads(run(runner, str(tmp_path / "*.yaml"), "-f", "json").stdout)
    assert [(Path(s["file"]).name, s["status"]) for s in doc["specs"]] == [
        ("a.yaml", "pass"), ("b.yaml", "fail")]


def test_github_annotations_point_at_the_budget_line(runner, tmp_path):
    spec = lenet_with(tmp_path, "  macs: 1M\n  params: 50k\n")
    result = run(runner, spec, "--max-macs", "600k", env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(lines) == 2
    assert lines[0].startswith(
        f"::error file={spec},line={budget_line(spec, 'params')},title=cnncalc budget::")
    assert "params 62,006 exceeds the budget 50,000 (124.0%25 of the limit)" in lines[0]
    assert lines[1].startswith(f"::error file={spec},line=1,title=cnncalc budget::")  # CLI: line 1
    assert "macs 651,720 exceeds the budget 600,000 (108.6%25 of the limit)" in lines[1]
    # not under GitHub Actions: no workflow commands
    assert "::error" not in run(runner, spec).output


def test_github_annotations_for_invalid_specs_go_to_stderr_beside_json(runner, tmp_path):
    bad = lenet_with(tmp_path, "  paramz: 5M\n")
    result = run(runner, bad, "-f", "json", env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 2
    json.loads(result.stdout)  # stdout stays pure JSON
    assert (f"::error file={bad},line={budget_line(bad, 'paramz')},title=cnncalc invalid spec::"
            "budget: unknown key 'paramz'") in result.stderr


def save_baseline(runner, tmp_path: Path, spec: str, name: str = "base.json") -> Path:
    out = tmp_path / name
    assert runner.invoke(app, ["show", spec, "-f", "json", "-o", str(out)]).exit_code == 0
    return out


def grown(tmp_path: Path, units: int) -> Path:
    """LeNet-5 with fc4 of `units` outputs instead of 84: params and MACs change by hand rules."""
    text = (ROOT / "specs" / "lenet5.yaml").read_text().replace("units: 84", f"units: {units}")
    path = tmp_path / f"lenet-{units}.yaml"
    path.write_text(text)
    return path


def test_baseline_gate_both_ways(runner, tmp_path):
    base = save_baseline(runner, tmp_path, "lenet5")
    # fc4 with 90 units: params 400*120+120 + 120*90+90 + 90*10+10 + convs; growth ~ 1.2%
    bigger = grown(tmp_path, 90)
    params = 456 + 2416 + 48120 + (120 * 90 + 90) + (90 * 10 + 10)
    macs = 352800 + 240000 + 48000 + 120 * 90 + 90 * 10
    assert 1.00 < params / LENET_PARAMS < 1.02 and 1.00 < macs / LENET_MACS < 1.02
    ok = run(runner, bigger, "--baseline", base, "--max-growth", "2%", "-f", "json")
    assert ok.exit_code == 0, ok.output
    checks = json.loads(ok.stdout)["specs"][0]["checks"]
    assert [(c["budget"], c["value"], c["baseline"], c["limit"]) for c in checks] == [
        ("params", params, LENET_PARAMS, LENET_PARAMS * 102 // 100),
        ("macs", macs, LENET_MACS, LENET_MACS * 102 // 100)]
    assert run(runner, bigger, "--baseline", base, "--max-growth", "1%").exit_code == 1
    assert run(runner, bigger, "--baseline", base).exit_code == 1  # default growth: 0%
    # shrinking always passes
    smaller = grown(tmp_path, 60)
    assert run(runner, smaller, "--baseline", base, "--max-growth", "0%").exit_code == 0


def test_baseline_limit_is_exact_at_the_edge(runner, tmp_path):
    from fractions import Fraction

    from cnncalc.analyses.budget import growth_limit

    assert growth_limit(1_000_000, Fraction(5, 100)) == 1_050_000
    assert growth_limit(LENET_PARAMS, Fraction(0)) == LENET_PARAMS
    assert growth_limit(3, Fraction(1, 2)) == 4  # 4.5 -> 4: the largest whole value allowed


def test_baseline_errors(runner, tmp_path):
    base = save_baseline(runner, tmp_path, "lenet5")
    not_report = tmp_path / "x.json"
    not_report.write_text('{"a": 1}')
    result = run(runner, "lenet5", "--baseline", not_report)
    assert result.exit_code == 2 and "not a report of 'cnncalc show --format json'" in \
        result.stderr
    result = run(runner, "lenet5", "--baseline", base, "--batch", "4")
    assert result.exit_code == 2 and "--batch 1" in result.stderr
    # with several specs, a baseline goes to the spec of its name; one matching none is an error
    result = run(runner, "alexnet", "example-39", "--baseline", base)
    assert result.exit_code == 2 and "'lenet5', which is not among the checked specs" in \
        result.stderr


def test_peak_memory_budget(runner, tmp_path):
    from cnncalc import analyze, load
    from cnncalc.analyses.memory import peak_inference

    peak = peak_inference(analyze(load("lenet5")))
    assert peak >= 4 * 3072  # at least the fp32 input
    assert run(runner, "lenet5", "--max-peak-memory", str(peak)).exit_code == 0
    assert run(runner, "lenet5", "--max-peak-memory", str(peak - 1)).exit_code == 1


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "html"])
def test_check_formats_and_output_file(runner, tmp_path, fmt):
    out = tmp_path / f"check.{fmt}"
    result = run(runner, "lenet5", "--max-params", "50k", "-f", fmt, "-o", out)
    assert result.exit_code == 1 and result.stdout == ""
    text = out.read_text()
    assert ("62,006" in text or "62006" in text) and ("50,000" in text or "50000" in text)


def ci_command() -> str:
    """The `cnncalc check` line of the GitHub Actions snippet (docs/ci.md; tests/test_snippets.py
    runs the whole workflow against a wheel)."""
    doc = ROOT / "docs" / "ci.md"
    section = re.search(r"^#{2,3} GitHub Actions\n(.*?)(?=^#{1,3} |\Z)", doc.read_text(),
                        re.S | re.M)
    assert section, "no 'GitHub Actions' section in docs/ci.md"
    found = re.search(r"^\s*- run: (cnncalc check .*)$", section.group(1), re.M)
    assert found, "docs/ci.md: the GitHub Actions section has no cnncalc check step"
    return found.group(1)


def test_the_ci_snippet_runs(runner, tmp_path, monkeypatch):
    argv = shlex.split(ci_command())
    assert argv[:2] == ["cnncalc", "check"]
    (tmp_path / "specs").mkdir()
    spec = lenet_with(tmp_path / "specs", "  params: 65k\n  macs: 700k\n", "lenet5.yaml")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, argv[1:], env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 0, result.output
    assert "::error" not in result.output
    spec.write_text(spec.read_text().replace("params: 65k", "params: 60k"))
    result = runner.invoke(app, argv[1:], env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 1
    assert f"::error file=specs/lenet5.yaml,line={budget_line(spec, 'params')}," in result.stdout
