"""Memory: the live peak of an eval forward pass, the bytes a training step saves, per layer and
what fits, against hand arithmetic from the rules (docs/memory.md); torch's own measurements
are tests/test_memory_torch.py."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cnncalc import CnnCalcError, analyze, load, load_text
from cnncalc.analyses.memory import (
    alive_per_step,
    largest_batch,
    peak_inference,
    peak_step,
    saved_activations,
    training,
)
from cnncalc.commands import app
from tests.conftest import analyze_text, spec_text


def test_chain_peak_by_hand():
    # example-39: input 39*39*3 = 4563 (alive throughout: the caller holds it); conv outputs
    # 37*37*10 = 13690, 17*17*20 = 5780, 7*7*40 = 1960; flatten is a view; dense + softmax:
    # the dense's output (10) is alive while the softmax writes its own (10).
    x, c1, c2, c3, d = 4563, 13690, 5780, 1960, 10
    steps = [x, x + c1, x + c1 + c2, x + c2 + c3, x + c3, x + c3 + d, x + c3 + d + d]
    report = analyze(load("example-39"))
    assert [a for _, a in alive_per_step(report)] == [4 * s for s in steps]
    assert peak_inference(report) == max(steps) * 4
    assert peak_step(report).path == "layer2"
    half = analyze(load("example-39"), batch=3, dtype="fp16")
    assert peak_inference(half) == max(steps) * 3 * 2


def test_parallel_peak_is_not_the_largest_layer():
    report = analyze_text("""
        - parallel:
            branches:
              - [{conv: {filters: 4, kernel: 1}}]
              - [{conv: {filters: 4, kernel: 1}}]
          name: p
        - conv: {filters: 1, kernel: 1}
          name: out
    """, input="8x8x1")
    x, branch, concat, out = 64, 8 * 8 * 4, 8 * 8 * 8, 64
    steps = [
        x,                                # the input
        x + branch,                       # branch 1 reads x
        x + branch + branch,              # branch 2; branch 1's output waits for the merge
        x + branch + branch + concat,     # the concat reads both branch outputs
        x + concat + out,                 # the branches' outputs are freed with the merge
    ]
    assert [a for _, a in alive_per_step(report)] == [4 * s for s in steps]
    assert peak_inference(report) == max(steps) * 4 == 1088 * 4
    assert max(steps) > 2 * concat  # more than the largest layer with its input
    assert peak_step(report).path == "p.concat"


def test_residual_keeps_its_input_alive():
    report = analyze_text("""
        - residual:
            body:
              - conv: {filters: 4, kernel: 3, padding: 1}
              - relu
          name: r
    """, input="8x8x4")
    t = 8 * 8 * 4  # every tensor here is 8x8x4
    # conv: x + conv; relu: x + conv + relu (conv is relu's operand); add: x + relu + add
    assert [a for _, a in alive_per_step(report)] == [4 * t * n for n in (1, 2, 3, 3)]


@pytest.mark.parametrize("inplace, peak", [(False, 64 + 512 + 512), (True, 64 + 512 + 64)])
def test_an_in_place_activation_allocates_nothing(inplace, peak):
    # 8x8x1 (64) -> conv to 8 channels (512) -> relu -> conv to 1 channel (64)
    report = analyze_text(f"""
        - conv: {{filters: 8, kernel: 1}}
        - relu: {{inplace: {str(inplace).lower()}}}
        - conv: {{filters: 1, kernel: 1}}
    """, input="8x8x1")
    assert peak_inference(report) == peak * 4
    # in place or not, the backward keeps the same: conv 1 its input, relu its output (which
    # conv 2 keeps as its input too, one tensor)
    assert saved_activations(report) == (64 + 512) * 4


def test_identity_branch_holds_the_input_until_the_merge():
    report = analyze_text("""
        - parallel:
            branches:
              - []
              - [{conv: {filters: 2, kernel: 1}}, {conv: {filters: 2, kernel: 1}}]
            merge: add
    """, input="4x4x2")
    t = 4 * 4 * 2
    # conv 2: x (read by the add) + conv1 (its operand) + conv2; add: x + conv2 + add
    assert peak_inference(report) == 3 * t * 4


def test_channel_dense_copies_a_channels_first_map_and_reads_a_channels_last_one():
    # 6x6x4 (144 values) -> channel_dense 6 (216 values), batch 1, fp32. After a conv (its
    # output channels first) the Linear reads a channels-last copy (144), alive only while
    # it runs: input, conv output, copy and output at once; the weight's gradient keeps the
    # copy, not the conv's output (the copy is freed after the addmm, the last step here).
    # After a layer norm (channels last) nothing is copied, and the norm's statistics
    # (36 + 36) are freed when it returns.
    x, y = 144, 216
    conv = analyze_text("""
        - conv: {filters: 4, kernel: 1}
          trainable: false
        - channel_dense: 6
    """, input="6x6x4")
    assert [a for _, a in alive_per_step(conv)] == [4 * s for s in (
        x, x + x, x + x + x, x + x + x + y)]
    assert saved_activations(conv) == 4 * x
    norm = analyze_text("""
        - layernorm: {affine: false}
        - channel_dense: {units: 6, bias: false}
    """, input="6x6x4")
    assert [a for _, a in alive_per_step(norm)] == [4 * s for s in (
        x, x + x + 36 + 36, x + x, x + x + y)]
    # the norm (no params, on the input) is not recorded; the Linear keeps the norm's output
    assert saved_activations(norm) == 4 * x


SMALL = """
    - dense: 5
      name: d1
    - dense: 2
      name: d2
"""
SMALL_PARAMS = (10 + 1) * 5 + (5 + 1) * 2  # 67


@pytest.mark.parametrize("optimizer, states", [("sgd", 0), ("momentum", 1), ("adam", 2)])
def test_training_by_optimizer(optimizer, states):
    report = analyze_text(SMALL, input="10", batch=4)
    # each dense keeps its input (its weight trains): 10 + 5 values per example; no output
    kept = (10 + 5) * 4
    # the forward pass at its end: the input, d1's output (kept) and d2's (the output)
    peak = (10 + 5 + 2) * 4
    t = training(report, optimizer)
    p = SMALL_PARAMS * 4
    assert (t.weights, t.gradients, t.optimizer) == (p, p, states * p)
    assert (t.activations, t.forward_peak) == (kept * 4, peak * 4)
    assert t.total == p * (2 + states) + peak * 4


def test_adam_costs_two_more_copies_of_the_trainable_params_than_sgd():
    report = analyze_text(SMALL, input="10")
    assert training(report, "adam").total - training(report, "sgd").total == 2 * 67 * 4


def test_frozen_layers_get_no_gradient_or_state_and_keep_nothing():
    report = analyze_text("""
        - dense: 5
          name: d1
          trainable: false
        - dense: 2
          name: d2
    """, input="10")
    trainable = (5 + 1) * 2
    t = training(report, "adam")
    assert t.weights == 67 * 4
    assert (t.gradients, t.optimizer) == (trainable * 4, 2 * trainable * 4)
    # d1 records nothing (its input needs no gradient, its weight trains not); d2 keeps its input
    assert saved_activations(report) == 5 * 4


def test_a_frozen_dense_after_a_trainable_one_keeps_nothing_of_its_own():
    # d2's input needs a gradient (d1 trains), but only its weight's gradient needs the input
    report = analyze_text("""
        - dense: 5
          name: d1
        - dense: 2
          name: d2
          trainable: false
    """, input="10")
    assert saved_activations(report) == 10 * 4


def test_nothing_trainable_keeps_nothing():
    report = analyze_text(SMALL, input="10", extra="freeze_until: d2\n")
    t = training(report, "adam")
    assert (t.gradients, t.optimizer, t.activations) == (0, 0, 0)


def test_unknown_optimizer():
    with pytest.raises(CnnCalcError, match="did you mean 'adam'"):
        training(analyze_text(SMALL, input="10"), "adamw")


# --------------------------------------------------------------------------- what fits

CONV_BN = """
    - conv: {filters: 3, kernel: 1}
    - batchnorm
"""
# 4x4x2 -> conv 1x1 to 4x4x3 -> batch norm: params 2*3 + 3 + 2*3 = 15, buffers 6.
# Inference: (15 + 6) * 4 = 84 fixed bytes; peak per example: input 32 + conv 48 + BN 48 = 128
# values, 512 bytes. Training with sgd: weights, buffers, gradients (15 + 6 + 15) * 4 = 144
# fixed; saved: conv's input 32 and BN's input 48 per example (320 bytes), BN's two statistics
# 2 * 3 values whatever the batch (24 bytes); the forward pass's peak, at batch norm: the
# input, conv's and BN's outputs (512 bytes per example) and the statistics (24).


def test_largest_batch_by_hand():
    report = analyze_text(CONV_BN, input="4x4x2")
    fit = largest_batch(report, 4000, "sgd")
    assert fit.inference == (4000 - 84) // 512 == 7
    assert fit.training == (4000 - 144 - 24) // 512 == 7
    assert largest_batch(report, 84 + 512 - 1, "sgd").inference == 0
    assert largest_batch(report, 84 + 512, "sgd").inference == 1
    assert largest_batch(report, 144 + 24 + 512, "sgd").training == 1
    # adam: two more copies of the 15 trainable params
    assert largest_batch(report, 144 + 120 + 24 + 512, "adam").training == 1
    assert largest_batch(report, 144 + 120 + 24 + 511, "adam").training == 0


def test_memory_limit_command(runner, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(spec_text(CONV_BN, input="4x4x2"))
    result = runner.invoke(app, ["memory", str(path), "--limit", "2000", "-f", "json"])
    assert result.exit_code == 0, result.output
    fits = json.loads(result.stdout)["fits"]
    assert (fits["inference_batch"], fits["training_batch"]) == (3, 3)
    assert fits["inference_bytes"] == 84 + 3 * 512
    assert fits["training_bytes"] == 144 + 24 + 3 * 512
    text = runner.invoke(app, ["memory", str(path), "--limit", "2000"]).output
    assert "for inference: 3 (" in text and "for training (sgd): 3 (" in text
    tiny = runner.invoke(app, ["memory", str(path), "--limit", "100", "--optimizer", "adam"])
    assert "for training (adam): none (not even one example)" in tiny.output
    bad = runner.invoke(app, ["memory", str(path), "--limit", "lots"])
    assert bad.exit_code == 2 and "--limit" in bad.output


# --------------------------------------------------------------------------- the command

def test_memory_command_json(runner):
    result = runner.invoke(app, ["memory", "example-39", "-f", "json", "--optimizer", "adam",
                                 "--batch", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    params = 280 + 5020 + 20040 + 19610
    peak = (4563 + 13690 + 5780) * 2 * 4  # while layer2 runs (test_chain_peak_by_hand)
    assert data["training"]["optimizer"] == 2 * params * 4
    assert data["peak_inference_bytes"] == peak
    assert data["inference_bytes"] == params * 4 + peak
    # saved: each conv its input, the dense its input (the flatten is a view of layer3's
    # output), the softmax its output
    assert data["training"]["activations"] == (4563 + 13690 + 5780 + 1960 + 10) * 2 * 4
    layers = {row["path"]: row for row in data["layers"]}
    assert layers["layer2"]["live_bytes"] == peak
    assert layers["layer4"]["saved_bytes"] == (1960 + 10) * 2 * 4  # first to keep them
    assert layers["flatten1"]["saved_bytes"] == 0
    assert sum(row["saved_bytes"] for row in data["layers"] if row["depth"] == 0) \
        == data["training"]["activations"]


def test_per_layer_rows_of_a_block_add_up(runner):
    data = json.loads(runner.invoke(app, ["memory", "resnet18", "-f", "json"]).output)
    layers = {row["path"]: row for row in data["layers"]}
    block = layers["layer1.0"]
    inside = [row for path, row in layers.items() if path.startswith("layer1.0.")
              and row["depth"] == block["depth"] + 1]
    assert block["saved_bytes"] == sum(row["saved_bytes"] for row in inside)
    assert block["live_bytes"] == max(row["live_bytes"] for row in inside)
    assert max(row["live_bytes"] for row in data["layers"]) == data["peak_inference_bytes"]


def test_memory_command_table(runner):
    result = runner.invoke(app, ["memory", "vgg16-transfer", "--optimizer", "momentum"])
    assert result.exit_code == 0, result.output
    assert "training: gradients" in result.output
    assert f"{20485 * 4:,}" in result.output  # gradients of the new head only
    # kept: fc8's input (fc7's output: everything before is frozen) and its softmax's output
    assert f"{(4096 + 5) * 4:,}" in result.output
    bad = runner.invoke(app, ["memory", "vgg16", "--optimizer", "lion"])
    assert bad.exit_code == 2


def test_memory_writes_every_format(runner):
    """CSV carries exact bytes, table by table; LeNet-5's params are the lecture's 62,006."""
    result = runner.invoke(app, ["memory", "lenet5", "-f", "csv", "--limit", "1GiB"])
    assert result.exit_code == 0, result.output
    parts, layers, fits = result.output.split("\n\n")
    rows = {r["part"]: r for r in csv.DictReader(io.StringIO(parts))}
    assert int(rows["params"]["bytes"]) == 62_006 * 4
    assert int(rows["training: gradients"]["bytes"]) == 62_006 * 4
    by_path = {r["path"]: r for r in csv.DictReader(io.StringIO(layers))}
    assert set(by_path) >= {"conv1", "pool1", "fc3"}
    assert {"saved_bytes", "live_bytes"} <= set(next(iter(by_path.values())))
    assert [r["pass"] for r in csv.DictReader(io.StringIO(fits))] == ["inference",
                                                                      "training (sgd)"]
    for fmt in ("markdown", "html", "table"):
        text = runner.invoke(app, ["memory", "lenet5", "-f", fmt]).output
        assert f"{62_006 * 4:,}" in text, fmt
        assert "Saved" in text and "Live" in text, fmt


def test_an_in_place_refusal_names_the_file_line_and_layer_and_what_torch_would_do():
    from cnncalc.analyses.memory import backward

    text = ("name: t\ninput: 4x4x2\nlayers:\n  - conv: {filters: 2, kernel: 1}\n  - relu\n"
            "  - relu: {inplace: true}\n")
    report = analyze(load_text(text, "t.yaml"))
    with pytest.raises(CnnCalcError) as error:
        backward(report)
    assert str(error.value) == (
        "t.yaml:6: relu2: in-place relu at 'relu2' overwrites a tensor that 'relu1' (relu) "
        "keeps for its backward pass: torch's backward would fail (a tensor needed for a "
        "gradient was modified); make it not in place")


def test_the_bytes_alive_while_a_row_runs_end_with_its_last_step():
    # fp32, batch 1, a 4x4x1 input (64 B): conv1 (1 filter, 64 B out) runs with its input
    # alive: 128 B. conv2 (8 filters: 512 B) comes after it and is not counted: 640 B is
    # conv2's (the input, held by the caller, conv1's output and conv2's)
    from cnncalc.analyses.memory import forward

    text = ("name: t\ninput: 4x4x1\nlayers:\n  - conv: {filters: 1, kernel: 1}\n"
            "  - conv: {filters: 8, kernel: 1}\n")
    step = forward(analyze(load_text(text, "t.yaml")))
    assert step.live("conv1", 1) == 128
    assert step.live("conv2", 1) == 640
