"""`cnncalc latency`: the roofline formulas by hand, the bundled profiles against their
datasheets, profile validation, every format, and calibration recovering known factors.

Truth from outside the engine:
- a layer's time by hand: compute = MACs / (dense peak ops/s / 2), memory = (input + output
  elements x batch + params) x bytes / bandwidth; MACs and params by the lecture's formulas
  (conv `f f c_in H_out W_out c_out`, `f f c_in c_out + c_out`);
- the datasheets' numbers (NVIDIA H100, A100, L4, T4 datasheets; AMD's Ryzen 7 5800X page;
  Qualcomm's Snapdragon 855 brief), written here again: dense = half the "with sparsity" rate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnncalc.analyses import latency as LA
from cnncalc.analyses.calibration import Factors, Point, fit, predict
from cnncalc.analyses.devices import bundled_devices, load_profile, parse_profile
from cnncalc.commands import app
from cnncalc.errors import CnnCalcError
from cnncalc.writers import FORMATS

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def run(runner, *args):
    return runner.invoke(app, ["latency", *map(str, args)])


def doc(runner, *args) -> dict:
    result = run(runner, *args, "-f", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ====================================================================== the formulas by hand

CONV = """\
name: conv
input: 56x56x64
layers:
  - conv: {filters: 64, kernel: 3, padding: 1}
"""
# the lecture's formulas, by hand
CONV_MACS = 3 * 3 * 64 * 56 * 56 * 64          # 115,605,504
CONV_PARAMS = 3 * 3 * 64 * 64 + 64              # 36,928
H100_FP16_MACS = 1979e12 / 2 / 2                # 1,979 TFLOPS with sparsity: /2 dense, /2 per MAC
H100_BYTES = 3.35e12                            # 3.35 TB/s


def test_a_conv_layer_by_hand_is_memory_bound_at_batch_1(runner, tmp_path):
    spec = write(tmp_path, CONV)
    row = doc(runner, spec, "--device", "h100", "--dtype", "fp16")["rows"][0]
    compute = CONV_MACS / H100_FP16_MACS                            # 0.2337 us
    moved = (56 * 56 * 64 + 56 * 56 * 64 + CONV_PARAMS) * 2         # 876,672 bytes at fp16
    memory = moved / H100_BYTES                                     # 0.2617 us
    assert row["macs"] == CONV_MACS and row["bytes"] == moved
    assert row["estimated_compute_s"] == pytest.approx(compute, rel=1e-9)
    assert row["estimated_memory_s"] == pytest.approx(memory, rel=1e-9)
    assert row["estimated_s"] == pytest.approx(max(compute, memory), rel=1e-9)
    assert row["bound"] == "memory" and memory > compute
    assert row["share"] == pytest.approx(1.0)


DEEP = """\
name: deep
input: 14x14x256
layers:
  - conv: {filters: 256, kernel: 3, padding: 1}
"""
DEEP_MACS = 3 * 3 * 256 * 14 * 14 * 256          # 115,605,504 again, on 14x14x256
DEEP_PARAMS = 3 * 3 * 256 * 256 + 256            # 590,080


def test_a_deep_conv_is_memory_bound_alone_and_compute_bound_at_batch_64(runner, tmp_path):
    spec = write(tmp_path, DEEP)
    one = doc(runner, spec, "--device", "h100", "--dtype", "fp16")["rows"][0]
    # batch 1: 0.234 us of compute against (2 x 50,176 elements + 590,080 weights) x 2 bytes
    # = 1,380,864 bytes, 0.412 us: the weights dominate
    assert one["bytes"] == (2 * 14 * 14 * 256 + DEEP_PARAMS) * 2
    assert one["bound"] == "memory"
    d = doc(runner, spec, "--device", "h100", "--dtype", "fp16", "--batch", "64")
    row = d["rows"][0]
    compute = 64 * DEEP_MACS / H100_FP16_MACS                       # 14.95 us
    memory = ((2 * 14 * 14 * 256) * 64 + DEEP_PARAMS) * 2 / H100_BYTES  # 4.19 us: weights once
    assert row["bound"] == "compute" and compute > memory
    assert row["estimated_s"] == pytest.approx(compute, rel=1e-9)
    assert row["estimated_memory_s"] == pytest.approx(memory, rel=1e-9)
    assert d["estimated_total_s"] == pytest.approx(compute, rel=1e-9)
    assert d["estimated_images_per_s"] == pytest.approx(64 / compute, rel=1e-9)


def test_a_dense_layer_on_t4_at_fp32_is_bound_by_its_weights(runner, tmp_path):
    spec = write(tmp_path, "name: fc\ninput: 4096\nlayers:\n  - dense: 4096\n")
    row = doc(runner, spec, "--device", "t4")["rows"][0]
    weights = 4096 * 4096 + 4096
    moved = (4096 + 4096 + weights) * 4                             # fp32: 4 bytes
    assert row["bytes"] == moved
    assert row["estimated_memory_s"] == pytest.approx(moved / 320e9, rel=1e-9)   # T4: 320 GB/s
    # T4: 8.1 TFLOPS fp32
    assert row["estimated_compute_s"] == pytest.approx(4096 * 4096 / (8.1e12 / 2), rel=1e-9)
    assert row["bound"] == "memory"


def test_rows_without_macs_are_memory_bound_and_views_take_no_time(runner, tmp_path):
    spec = write(tmp_path, """\
        name: t
        input: 8x8x4
        layers:
          - relu
          - maxpool: 2
          - flatten
          - dropout: 0.5
          - dense: 10
    """)
    rows = {r["path"]: r for r in doc(runner, spec, "--device", "a100")["rows"]}
    assert rows["relu1"]["bytes"] == (256 + 256) * 4 and rows["relu1"]["bound"] == "memory"
    assert rows["maxpool1"]["bytes"] == (256 + 64) * 4
    assert rows["relu1"]["estimated_s"] == pytest.approx(2048 / 2039e9, rel=1e-9)  # 2,039 GB/s
    for view in ("flatten1", "dropout1"):
        assert rows[view]["bytes"] == 0 and rows[view]["estimated_s"] == 0
        assert rows[view]["bound"] == "-"
    assert rows["dense1"]["bytes"] == (64 + 10 + 64 * 10 + 10) * 4


def test_an_add_reads_both_inputs(runner, tmp_path):
    spec = write(tmp_path, """\
        name: t
        input: 4x4x8
        layers:
          - residual: {body: [relu]}
    """)
    rows = {r["path"]: r for r in doc(runner, spec, "--device", "h100")["rows"]}
    assert rows["residual1.add"]["bytes"] == (128 + 128 + 128) * 4


def test_rows_add_up_to_the_total_and_shares_to_one(runner):
    d = doc(runner, "resnet18", "--device", "l4", "--dtype", "fp16")
    layers = [r for r in d["rows"] if r["row"] == "layer"]
    total = d["rows"][-1]
    assert total["row"] == "total"
    assert sum(r["estimated_s"] for r in layers) == pytest.approx(d["estimated_total_s"], rel=1e-12)
    assert sum(r["share"] for r in layers) == pytest.approx(1.0, rel=1e-12)
    assert total["macs"] == 1_814_073_344 == d["macs"]  # torchvision's resnet18
    assert d["estimated_images_per_s"] == pytest.approx(1 / d["estimated_total_s"])


def test_pure_formulas():
    assert LA.compute_seconds(10**12, 5e11) == 2.0
    assert LA.compute_seconds(10**12, 5e11, efficiency=0.5) == 4.0
    assert LA.memory_seconds(3 * 10**9, 1.5e9) == 2.0
    assert LA.traffic_bytes(10, 20, 5, batch=3, bytes_per_element=2) == ((10 + 20) * 3 + 5) * 2
    assert LA.bound_of(2.0, 1.0) == "compute" and LA.bound_of(1.0, 2.0) == "memory"
    assert LA.bound_of(0, 0) == "none"
    assert LA.row_seconds(1.0, 3.0, 0.5) == 3.5


def test_the_output_says_it_is_an_estimate_in_every_format(runner):
    for fmt in FORMATS:
        result = run(runner, "lenet5", "--device", "desktop-avx2", "-f", fmt)
        if fmt == "mermaid":  # draws a network (cnncalc show): no estimate to draw
            assert result.exit_code == 2 and "draws a network" in result.output
            continue
        assert result.exit_code == 0, result.output
        if fmt == "json":
            d = json.loads(result.stdout)
            assert (d["command"], d["estimate"], d["measured"]) == ("latency", True, False)
        else:
            text = result.stdout
            assert ("estimated_s" in text if fmt == "csv" else
                    "ESTIMATE" in text and "not a measurement" in text), text[:300]


def test_latency_never_imports_torch():
    code = ("import sys\nfrom cnncalc.cli import run\nsys.argv = ['cnncalc', 'latency', "
            "'lenet5', '--device', 't4']\ntry:\n    run()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ====================================================================== the profiles

#: The datasheets' numbers, dense, in 10^12 ops/s (two per MAC), and GB/s.
DATASHEETS = {
    # NVIDIA H100 datasheet, SXM: FP32 67; BF16/FP16 Tensor 1,979*; INT8 3,958*; 3.35 TB/s
    "h100": ({"fp32": 67, "fp16": 1979 / 2, "bf16": 1979 / 2, "int8": 3958 / 2}, 3350),
    # NVIDIA H200 datasheet, SXM: FP32 67; BF16/FP16 Tensor 1,979*; INT8 3,958*; 4.8 TB/s
    "h200": ({"fp32": 67, "fp16": 1979 / 2, "bf16": 1979 / 2, "int8": 3958 / 2}, 4800),
    # NVIDIA A100 datasheet, 80GB SXM: FP32 19.5; FP16/BF16 312 | 624*; INT8 624 | 1248*
    "a100": ({"fp32": 19.5, "fp16": 312, "bf16": 312, "int8": 624}, 2039),
    # NVIDIA L4 datasheet: FP32 30.3; FP16/BF16 Tensor 242*; INT8 485*; 300 GB/s
    "l4": ({"fp32": 30.3, "fp16": 242 / 2, "bf16": 242 / 2, "int8": 485 / 2}, 300),
    # NVIDIA T4 datasheet: FP32 8.1; mixed FP16 65; INT8 130; 320 GB/s; no bfloat16
    "t4": ({"fp32": 8.1, "fp16": 65, "int8": 130}, 320),
    # Ryzen 7 5800X: 8 cores x 3.8 GHz x 2 FMA x 8 lanes x 2; DDR4-3200 x 2 channels x 8 B
    "desktop-avx2": ({"fp32": 8 * 3.8 * 2 * 8 * 2 / 1000}, 3200e6 * 8 * 2 / 1e9),
    # Snapdragon 855: A76 cores at 2.84 + 3 x 2.42 GHz; 16 / 32 / 64 ops per cycle;
    # LPDDR4X 4266 MT/s x 8 bytes
    "phone-a76": ({"fp32": 16 * 10.1 / 1000, "fp16": 32 * 10.1 / 1000,
                   "int8": 64 * 10.1 / 1000}, 34.1),
}


def test_the_six_devices_ship():
    assert set(bundled_devices()) == set(DATASHEETS)


@pytest.mark.parametrize("name", sorted(DATASHEETS))
def test_bundled_profiles_carry_their_datasheet_numbers_and_sources(name):
    peaks, bandwidth = DATASHEETS[name]
    profile = load_profile(name)
    assert profile.peak_tops == pytest.approx(peaks, rel=1e-3)
    assert profile.memory_bandwidth_gb_s == pytest.approx(bandwidth, rel=2e-3)
    assert profile.sources and profile.bundled
    assert profile.kind == ("cpu" if name in ("desktop-avx2", "phone-a76") else "gpu")


def test_a_user_profile_file_is_used(runner, tmp_path):
    path = write(tmp_path, """\
        name: toy
        kind: gpu
        memory_bandwidth_gb_s: 1
        peak_tops: {fp32: 2}
        efficiency: {compute: 0.5, memory: 0.25}
        overhead_us: 3
    """, "toy.yaml")
    spec = write(tmp_path, CONV)
    row = doc(runner, spec, "--device", path)["rows"][0]
    compute = CONV_MACS / (2e12 / 2 * 0.5)
    memory = (56 * 56 * 64 * 2 + CONV_PARAMS) * 4 / (1e9 * 0.25)
    assert row["estimated_s"] == pytest.approx(max(compute, memory) + 3e-6, rel=1e-9)


@pytest.mark.parametrize("text, line, message", [
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {fp32: 1}\nbandwith: 3\n", 5,
     "unknown key 'bandwith' (did you mean 'memory_bandwidth_gb_s'?)"),
    ("name: x\nkind: gpu\npeak_tops: {fp32: 1}\n", 1, "memory_bandwidth_gb_s is missing"),
    ("name: x\nkind: tpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {fp32: 1}\n", 2,
     "kind must be gpu or cpu"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: -5\npeak_tops: {fp32: 1}\n", 3,
     "memory_bandwidth_gb_s must be a number above 0"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {fp64: 1}\n", 4,
     "unknown dtype 'fp64'"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {fp16: fast}\n", 4,
     "peak_tops.fp16 must be a number"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {}\n", 4,
     "peak_tops must be a mapping"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: .inf\npeak_tops: {fp32: 1}\n", 3,
     "memory_bandwidth_gb_s must be a number"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {fp32: 1}\n"
     "efficiency: {compute: 20}\n", 5, "efficiency.compute must be a number above 0 and at most"),
    ("name: x\nkind: gpu\nmemory_bandwidth_gb_s: 1\npeak_tops: {fp32: 1}\n"
     "efficiency: {speed: 1}\n", 5, "efficiency must be a mapping"),
    ("- 1\n- 2\n", 1, "a device profile must be a mapping"),
    ("name: x\nname: y\n", 2, "duplicate"),
])
def test_profile_problems_name_the_file_and_line(runner, tmp_path, text, line, message):
    path = write(tmp_path, text, "bad.yaml")
    result = run(runner, "lenet5", "--device", path)
    assert result.exit_code == 2, result.output
    assert f"bad.yaml:{line}:" in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_every_problem_of_a_profile_at_once(tmp_path):
    with pytest.raises(CnnCalcError) as err:
        parse_profile("name: 5\nkind: x\nmemory_bandwidth_gb_s: 0\npeak_tops: 3\n", "p.yaml")
    assert len(err.value.problems) == 4


def test_unknown_device_suggests_and_lists(runner):
    result = run(runner, "lenet5", "--device", "h10")
    assert result.exit_code == 2
    assert "did you mean 'h100'" in result.stderr and "phone-a76" in result.stderr


def test_a_dtype_the_device_lacks_is_refused(runner):
    result = run(runner, "lenet5", "--device", "t4", "--dtype", "bf16")
    assert result.exit_code == 2
    assert "has no bf16 rate" in result.stderr and "fp32, fp16, int8" in result.stderr


def test_a_missing_profile_file(runner, tmp_path):
    result = run(runner, "lenet5", "--device", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2 and "no such file" in result.stderr


# ====================================================================== calibration

def verify_doc(spec: str, macs: int, seconds: float, batch: int = 1, dtype: str = "fp16",
               device: str = "cuda", **extra: object) -> dict:
    """What `cnncalc verify SPEC --time -f json` writes (the fields calibration reads)."""
    return {"cnncalc": "0.1.0", "command": "verify", "spec": spec, "device": device,
            "batch": batch, "dtype": dtype,
            "rows": [{"mark": "✓", "path": "", "shape": [10], "params": 0, "buffers": 0,
                      "macs": macs, "agrees": True, "differences": ""}],
            "agrees": True,
            "timing": {"runs": 20, "warmup": 3, "batch": batch, "median_s": seconds,
                       "min_s": seconds, "max_s": seconds, "stdev_s": 0.0,
                       "images_per_s": batch / seconds, "macs_per_s": macs / seconds},
            **extra}


#: MACs per image, from their references (README's zoo table; the lecture's LeNet-5)
MACS = {"lenet5": 651_720, "resnet18": 1_814_073_344, "mobilenet_v2": 300_774_272}
KNOWN = {"compute": 0.4, "memory": 0.7, "overhead_us": 5.0}


def measured_with_known_factors(runner, tmp_path, spec: str, batch: int) -> float:
    """The estimate of a profile that holds the known factors: the 'measured' time a device
    with those factors would give."""
    path = write(tmp_path, f"""\
        name: h100-known
        kind: gpu
        memory_bandwidth_gb_s: 3350
        peak_tops: {{fp16: 989.5}}
        efficiency: {{compute: {KNOWN['compute']}, memory: {KNOWN['memory']}}}
        overhead_us: {KNOWN['overhead_us']}
    """, "known.yaml")
    found = doc(runner, spec, "--device", path, "--dtype", "fp16", "--batch", batch)
    return found["estimated_total_s"]


def test_calibration_recovers_known_factors(runner, tmp_path):
    files = []
    for spec in MACS:
        for batch in (1, 16, 128):
            seconds = measured_with_known_factors(runner, tmp_path, spec, batch)
            path = tmp_path / f"{spec}-{batch}.json"
            path.write_text(json.dumps(verify_doc(spec, MACS[spec] * batch, seconds, batch)))
            files += ["--calibrate", path]
    d = doc(runner, "resnet18", "--device", "h100", "--dtype", "fp16", *files)
    fitted = d["calibration"]
    assert fitted["fitted"] == ["compute", "memory", "overhead"]
    assert fitted["compute_efficiency"] == pytest.approx(KNOWN["compute"], rel=1e-4)
    assert fitted["memory_efficiency"] == pytest.approx(KNOWN["memory"], rel=1e-4)
    assert fitted["overhead_s"] == pytest.approx(KNOWN["overhead_us"] * 1e-6, rel=1e-4)
    assert fitted["spread_after"] == pytest.approx(1, abs=1e-6) and fitted["spread_before"] > 2
    assert d["device"]["compute_efficiency"] == pytest.approx(0.4, rel=1e-4)
    assert len(d["calibration_points"]) == 9
    for row in d["calibration_points"]:
        assert row["ratio"] == pytest.approx(1, rel=1e-4)


def test_one_measurement_fits_one_common_factor(runner, tmp_path):
    peak = doc(runner, "resnet18", "--device", "h100", "--dtype", "fp16")["estimated_total_s"]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(verify_doc("resnet18", MACS["resnet18"], 10 * peak)))
    d = doc(runner, "resnet18", "--device", "h100", "--dtype", "fp16", "--calibrate", path)
    assert d["calibration"]["fitted"] == ["common"]
    assert d["calibration"]["compute_efficiency"] == pytest.approx(0.1, rel=1e-9)
    assert d["calibration"]["memory_efficiency"] == pytest.approx(0.1, rel=1e-9)
    assert d["estimated_total_s"] == pytest.approx(10 * peak, rel=1e-9)


def test_fit_by_hand_on_two_rows():
    # one compute-bound row (c=2, m=1) and one memory-bound row (c=1, m=4), in two runs
    a = Point("a", [(2.0, 1.0)], 2.0 / 0.5)      # e_c = 0.5: 4 s
    b = Point("b", [(1.0, 4.0)], 4.0 / 0.8)      # e_m = 0.8: 5 s
    found = fit([a, b])
    assert found.factors.compute == pytest.approx(0.5, rel=1e-6)
    assert found.factors.memory == pytest.approx(0.8, rel=1e-6)
    assert predict([(2.0, 1.0), (1.0, 4.0)], Factors(0.5, 0.8, 1.0)) == 4 + 5 + 2


@pytest.mark.parametrize("change, message", [
    ({"command": "show"}, "a report of 'cnncalc show'"),
    ({"timing": None}, "timing"),
    ({"agrees": False}, "the run disagreed"),
    ({"device": "cpu"}, "measured on cpu, but the device 'h100' is a gpu"),
    ({"dtype": "int4"}, "dtype"),
    ({"spec": "nosuchnet"}, "neither SPEC"),
    ({"rows": [{"path": "", "macs": 5}]}, "has 5 MACs at batch 1, the spec 1,814,073,344"),
])
def test_bad_measurements_are_refused_with_the_file(runner, tmp_path, change, message):
    d = verify_doc("resnet18", MACS["resnet18"], 0.01)
    d.update(change)
    if d.get("timing") is None:
        d.pop("timing")
    path = tmp_path / "m.json"
    path.write_text(json.dumps(d))
    result = run(runner, "resnet18", "--device", "h100", "--calibrate", path)
    assert result.exit_code == 2, result.output
    assert "m.json" in result.stderr and message in result.stderr, result.stderr


def test_a_measurement_that_is_not_json(runner, tmp_path):
    path = tmp_path / "m.json"
    path.write_text("{nope")
    result = run(runner, "resnet18", "--device", "h100", "--calibrate", path)
    assert result.exit_code == 2 and "not JSON" in result.stderr


def test_device_names_complete_in_the_shell():
    import os

    words = "cnncalc latency lenet5 --device h"
    env = {**os.environ, "_CNNCALC_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": "4"}
    child = "import sys; sys.argv = ['cnncalc']\nfrom cnncalc.cli import run\nrun()\n"
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.stdout.split() == ["h100", "h200"], (done.stdout, done.stderr)


@pytest.mark.parametrize("device, dtype", [("h100", "fp16"), ("phone-a76", "int8")])
def test_every_bundled_spec_estimates(runner, device, dtype):
    from cnncalc.core.catalog import bundled

    for name in bundled():
        d = doc(runner, name, "--device", device, "--dtype", dtype, "--levels", "1")
        assert d["estimated_total_s"] > 0 and d["rows"][-1]["row"] == "total", name
        assert d["rows"][-1]["estimated_s"] == pytest.approx(d["estimated_total_s"])
