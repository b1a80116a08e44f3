"""`cnncalc check` at the exact edge of every budget (README "Budgets, `cnncalc check`").

A limit is the largest allowed value: `value <= limit` passes (exit 0), one more fails (exit 1).
The specs are single dense layers whose totals are worked out by hand here (CONVENTIONS.md):
params `n_in * n_out (+ n_out bias)`, MACs `n_in * n_out` per example, FLOPs `2 * MACs`, param
memory `params * bytes per element`, activation memory `n_out * batch * bytes` (the input is not
counted). Units follow their definitions: `1.5k` = 1500, `1MB` = 10^6 bytes, `1MiB` = 2^20 bytes.
The regression gate allows `floor(baseline * (1 + growth))`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.commands import app

FP32, FP16, INT8 = 4, 2, 1  # bytes per element (CONVENTIONS.md)


def dense(tmp_path: Path, n_in: int, n_out: int, bias: bool = True, budget: str = "",
          file: str | None = None, extra: str = "") -> Path:
    """A spec named `d`: a vector of `n_in` into one dense layer of `n_out` units."""
    path = tmp_path / (file or f"d-{n_in}-{n_out}-{int(bias)}.yaml")
    path.write_text(f"name: d\ninput: {n_in}\nlayers:\n"
                    f"  - dense: {{units: {n_out}, bias: {str(bias).lower()}}}\n{extra}"
                    + (f"budget:\n{budget}" if budget else ""))
    return path


def params_of(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def check(runner, *args, github: bool = False):
    return runner.invoke(app, ["check", *map(str, args)],
                         env={"GITHUB_ACTIONS": "true" if github else ""})


def rows(result) -> dict[str, dict]:
    doc = json.loads(result.stdout)
    return {c["budget"]: c for c in doc["specs"][0]["checks"]}


# --------------------------------------------------------------------------- counts

N_IN, N_OUT = 49, 20
PARAMS = N_IN * N_OUT + N_OUT  # 1,000
MACS = N_IN * N_OUT  # 980


@pytest.mark.parametrize("option, value", [
    ("--max-params", PARAMS),
    ("--max-trainable-params", PARAMS),
    ("--max-macs", MACS),
    ("--max-flops", 2 * MACS),
    ("--max-param-memory", PARAMS * FP32),
    ("--max-activation-memory", N_OUT * FP32),
])
def test_a_limit_equal_to_the_value_passes_and_one_less_fails(runner, tmp_path, option, value):
    """`value <= limit`: exactly at the limit is exit 0, one under the value is exit 1."""
    spec = dense(tmp_path, N_IN, N_OUT)
    assert (PARAMS, MACS) == (1000, 980)
    at = check(runner, spec, option, value, "-f", "json")
    assert at.exit_code == 0, at.output
    key = option.removeprefix("--max-").replace("-", "_")
    assert rows(at)[key]["value"] == rows(at)[key]["limit"] == value
    assert rows(at)[key]["share"] == 1.0 and rows(at)[key]["passed"]
    over = check(runner, spec, option, value - 1, "-f", "json")
    assert over.exit_code == 1
    assert rows(over)[key] | {"share": None} == {
        "budget": key, "unit": "bytes" if "memory" in key else "count", "value": value,
        "limit": value - 1, "share": None, "passed": False, "source": "cli", "line": None}
    assert rows(over)[key]["share"] == round(value / (value - 1), 6)


def test_the_failure_names_the_budget_and_both_numbers(runner, tmp_path):
    """The annotation of a failed limit: `<spec>: <budget> <value> exceeds the budget <limit>
    (<value/limit> of the limit) (set by <option>)`, numbers with thousands separators."""
    spec = dense(tmp_path, N_IN, N_OUT)
    result = check(runner, spec, "--max-params", PARAMS - 1, github=True)
    assert result.exit_code == 1
    share = f"{PARAMS / (PARAMS - 1):.1%}".replace("%", "%25")  # 100.1%, escaped for Actions
    assert (f"d: params 1,000 exceeds the budget 999 ({share} of the limit) "
            f"(set by --max-params)") in result.stdout
    table = check(runner, spec, "--max-params", PARAMS - 1).stdout
    line = next(row for row in table.splitlines() if " params " in row)
    assert line.split() == ["d", "params", "1,000", "999", f"{PARAMS / (PARAMS - 1):.1%}",
                            "FAIL"]


def test_bytes_in_the_failure_message_are_binary_and_exact(runner, tmp_path):
    spec = dense(tmp_path, 512, 512, bias=False)  # 262,144 params x 4 bytes = 2^20 bytes
    result = check(runner, spec, "--max-param-memory", "1MB", github=True)
    assert result.exit_code == 1
    share = f"{2**20 / 10**6:.1%}".replace("%", "%25")
    assert (f"param_memory 1.0 MiB ({2**20:,} bytes) exceeds the budget 976.6 KiB "
            f"({10**6:,} bytes) ({share} of the limit)") in result.stdout


def test_frozen_params_count_against_params_but_not_trainable_params(runner, tmp_path):
    """trainable_params excludes layers marked `trainable: false` (README)."""
    spec = tmp_path / "frozen.yaml"
    spec.write_text("name: d\ninput: 10\nlayers:\n"
                    "  - dense: 20\n    trainable: false\n"
                    "  - dense: 5\n")
    frozen, trainable = 10 * 20 + 20, 20 * 5 + 5
    assert check(runner, spec, "--max-trainable-params", trainable,
                 "--max-params", frozen + trainable).exit_code == 0
    assert check(runner, spec, "--max-trainable-params", trainable - 1).exit_code == 1
    assert check(runner, spec, "--max-params", frozen + trainable - 1).exit_code == 1


# --------------------------------------------------------------------------- units

@pytest.mark.parametrize("limit, passes", [
    ("1.5k", True), ("1.5K", True), ("1500", True), ("1_500", True), ("1,500", True),
    ("0.0015M", True), ("15e2", True), ("1.499k", False), ("1499", False), ("1.501k", True),
])
def test_count_limits_in_units_at_the_boundary(runner, tmp_path, limit, passes):
    """A spec of exactly 1,500 params (29 * 50 + 50) against 1.5k written every way."""
    spec = dense(tmp_path, 29, 50)
    assert params_of(29, 50) == 1500
    assert check(runner, spec, "--max-params", limit).exit_code == (0 if passes else 1)


@pytest.mark.parametrize("n, dtype, bytes_per", [(512, "fp32", FP32), (724, "fp16", FP16),
                                                 (1024, "int8", INT8)])
def test_one_mib_is_2_to_the_20_bytes(runner, tmp_path, n, dtype, bytes_per):
    """Param memory just at, and past, 1 MiB = 1,048,576 bytes (and 1 MB = 10^6 is less)."""
    spec = dense(tmp_path, n, n, bias=False)
    size = n * n * bytes_per  # fp16: 724^2 * 2 = 1,048,352 bytes, 224 under 1 MiB
    assert size <= 2**20 < size + bytes_per * n and size > 10**6
    assert check(runner, spec, "--dtype", dtype, "--max-param-memory", "1MiB").exit_code == 0
    assert check(runner, spec, "--dtype", dtype, "--max-param-memory", "1MB").exit_code == 1
    assert check(runner, spec, "--dtype", dtype, "--max-param-memory", size).exit_code == 0
    assert check(runner, spec, "--dtype", dtype, "--max-param-memory", size - 1).exit_code == 1


@pytest.mark.parametrize("limit, passes", [
    ("1MB", True), ("1000kB", True), ("1000KB", True), ("1000000", True), ("1e6B", True),
    ("0.001GB", True), ("999999", False), ("999.999kB", False), ("976KiB", False),
    ("977KiB", True),  # 977 * 1024 = 1,000,448 >= 10^6; 976 * 1024 = 999,424 < 10^6
])
def test_a_budget_of_n_mb_is_n_times_10_to_the_6_bytes(runner, tmp_path, limit, passes):
    """250,000 fp32 params (500 x 500, no bias) are exactly 10^6 bytes = 1 MB."""
    spec = dense(tmp_path, 500, 500, bias=False)
    assert 500 * 500 * FP32 == 10**6
    assert 976 * 2**10 < 10**6 <= 977 * 2**10
    assert check(runner, spec, "--max-param-memory", limit).exit_code == (0 if passes else 1)


def test_memory_limits_in_a_spec_budget_read_mb_and_mib(runner, tmp_path):
    """The same units in the spec's `budget:` block, and the budget's dtype."""
    at_mb = dense(tmp_path, 500, 500, bias=False, budget="  param_memory: 1MB\n", file="a.yaml")
    assert check(runner, at_mb).exit_code == 0
    fp16 = dense(tmp_path, 1000, 500, bias=False,  # 500,000 params x 2 bytes = 10^6 bytes
                 budget="  dtype: fp16\n  param_memory: 1 MB\n", file="b.yaml")
    assert check(runner, fp16).exit_code == 0
    assert check(runner, fp16, "--dtype", "fp32").exit_code == 1  # 2 * 10^6 bytes
    over = dense(tmp_path, 500, 500, bias=True, budget="  param_memory: 1MB\n", file="c.yaml")
    assert check(runner, over).exit_code == 1  # + 500 bias x 4 bytes


def test_activation_memory_and_macs_scale_with_the_batch(runner, tmp_path):
    """Batch 250 of 1,000 fp32 outputs is 10^6 bytes: 1MB holds at batch 250, not at 251."""
    spec = dense(tmp_path, 3, 1000)
    assert 1000 * 250 * FP32 == 10**6
    assert check(runner, spec, "-b", 250, "--max-activation-memory", "1MB").exit_code == 0
    assert check(runner, spec, "-b", 251, "--max-activation-memory", "1MB").exit_code == 1
    macs = 3 * 1000 * 250
    assert check(runner, spec, "-b", 250, "--max-macs", macs, "--max-flops", 2 * macs,
                 "--max-params", params_of(3, 1000)).exit_code == 0
    assert check(runner, spec, "-b", 250, "--max-macs", macs - 1).exit_code == 1
    assert check(runner, spec, "-b", 250, "--max-flops", 2 * macs - 1).exit_code == 1
    # params never scale with the batch
    assert check(runner, spec, "-b", 250, "--max-params", params_of(3, 1000)).exit_code == 0


def test_batch_in_the_spec_budget_sets_the_boundary(runner, tmp_path):
    spec = dense(tmp_path, 3, 1000, budget="  batch: 250\n  activation_memory: 1MB\n")
    assert check(runner, spec).exit_code == 0
    assert check(runner, spec, "-b", 251).exit_code == 1


# --------------------------------------------------------------------------- growth

def baseline_of(runner, tmp_path: Path, n_in: int, n_out: int) -> Path:
    """`cnncalc show --format json` of a bias-free dense spec (params = MACs = n_in * n_out)."""
    spec = dense(tmp_path, n_in, n_out, bias=False, file="base.yaml")
    out = tmp_path / "base.json"
    assert runner.invoke(app, ["show", str(spec), "-f", "json", "-o", str(out)]).exit_code == 0
    totals = json.loads(out.read_text())["totals"]
    assert totals["params"] == totals["macs"] == n_in * n_out
    return out


def floor_growth(baseline: int, percent_num: int, percent_den: int = 1) -> int:
    """README: the limit is floor(baseline x (1 + growth)), in integers."""
    return baseline * (100 * percent_den + percent_num) // (100 * percent_den)


@pytest.mark.parametrize("base, growth, shape_at, shape_over", [
    # baseline 1,000 (40 x 25), 5%: 1,050 (42 x 25) passes, 1,051 (1051 x 1) fails
    ((40, 25), "5%", (42, 25), (1051, 1)),
    # baseline 1,001 (77 x 13), 5%: 1051.05 -> 1,051 (1051 x 1) passes, 1,052 (263 x 4) fails
    ((77, 13), "5%", (1051, 1), (263, 4)),
    # baseline 1,000, 0.5%: 1,005 (67 x 15) passes, 1,006 (503 x 2) fails
    ((40, 25), "0.5%", (67, 15), (503, 2)),
    # baseline 1,000, 0%: the baseline itself passes, one more fails
    ((40, 25), "0%", (40, 25), (1001, 1)),
    # baseline 999 (37 x 27), 10%: 1098.9 -> 1,098 (61 x 18) passes, 1,099 (157 x 7) fails
    ((37, 27), "10%", (61, 18), (157, 7)),
])
def test_growth_limit_is_the_floor_of_the_allowed_growth(runner, tmp_path, base, growth,
                                                         shape_at, shape_over):
    base_file = baseline_of(runner, tmp_path, *base)
    baseline = base[0] * base[1]
    number = growth.rstrip("%")
    whole, _, decimals = number.partition(".")
    den = 10 ** len(decimals)
    limit = floor_growth(baseline, int(whole + decimals), den)
    assert shape_at[0] * shape_at[1] == limit and shape_over[0] * shape_over[1] == limit + 1
    at = check(runner, dense(tmp_path, *shape_at, bias=False), "--baseline", base_file,
               "--max-growth", growth, "-f", "json")
    assert at.exit_code == 0, at.output
    for key in ("params", "macs"):  # bias-free: both equal n_in * n_out
        assert rows(at)[key] | {"max_growth": None} == {
            "budget": key, "unit": "count", "value": limit, "limit": limit, "share": 1.0,
            "passed": True, "source": "baseline", "line": None, "baseline": baseline,
            "max_growth": None}
    over = check(runner, dense(tmp_path, *shape_over, bias=False), "--baseline", base_file,
                 "--max-growth", growth)
    assert over.exit_code == 1


def test_no_max_growth_means_zero_growth(runner, tmp_path):
    base_file = baseline_of(runner, tmp_path, 40, 25)
    assert check(runner, dense(tmp_path, 40, 25, bias=False), "--baseline",
                 base_file).exit_code == 0
    assert check(runner, dense(tmp_path, 1001, 1, bias=False), "--baseline",
                 base_file).exit_code == 1


def test_growth_failure_names_the_budget_and_numbers(runner, tmp_path):
    """`<spec>: <budget> grew from <baseline> to <value>, more than the allowed <growth>`."""
    base_file = baseline_of(runner, tmp_path, 40, 25)
    result = check(runner, dense(tmp_path, 1051, 1, bias=False), "--baseline", base_file,
                   "--max-growth", "5%", github=True)
    assert result.exit_code == 1
    for key in ("params", "macs"):
        assert f"d: {key} grew from 1,000 to 1,051, more than the allowed 5.0%25" in \
            result.stdout
    table = check(runner, dense(tmp_path, 1051, 1, bias=False), "--baseline", base_file,
                  "--max-growth", "5%").stdout
    assert "params vs baseline 1,000 +5.0%" in table and "1,050" in table


def test_growth_and_a_budget_fail_independently(runner, tmp_path):
    """Both rows are shown; a spec inside its growth can still exceed a fixed budget."""
    base_file = baseline_of(runner, tmp_path, 40, 25)
    spec = dense(tmp_path, 42, 25, bias=False)  # 1,050: inside 5% growth
    assert check(runner, spec, "--baseline", base_file, "--max-growth", "5%",
                 "--max-params", 1050).exit_code == 0
    result = check(runner, spec, "--baseline", base_file, "--max-growth", "5%",
                   "--max-params", 1049, "-f", "json")
    assert result.exit_code == 1
    checks = json.loads(result.stdout)["specs"][0]["checks"]
    assert [(c["budget"], c["source"], c["passed"]) for c in checks] == [
        ("params", "cli", False), ("params", "baseline", True), ("macs", "baseline", True)]
