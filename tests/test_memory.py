"""Memory: peak of a forward pass and one training step, against hand arithmetic."""

from __future__ import annotations

import json

import pytest

from cnncalc import analyze, load
from cnncalc.analyses.memory import peak_inference, peak_step, saved_activations, training
from cnncalc.commands import app
from tests.conftest import analyze_text


def test_chain_peak_is_the_largest_input_plus_output():
    # example-39: input 39*39*3 = 4563, outputs 37*37*10 = 13690, 17*17*20 = 5780, 1960, 1960, 10.
    pairs = [4563 + 13690, 13690 + 5780, 5780 + 1960, 1960 + 1960, 1960 + 10]
    report = analyze(load("example-39"))
    assert peak_inference(report) == max(pairs) * 4
    assert peak_step(report).path == "layer2"
    half = analyze(load("example-39"), batch=3, dtype="fp16")
    assert peak_inference(half) == max(pairs) * 3 * 2


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
        x,                          # the input
        x + branch,                 # branch 1 reads x
        x + branch + branch,        # branch 2 reads x (x's last reader); branch 1's output waits
        branch + branch + concat,   # the concat reads both branch outputs
        concat + out,
    ]
    assert peak_inference(report) == max(steps) * 4 == 1024 * 4
    assert max(steps) > concat  # more than the largest single layer
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
    # conv: x + conv; relu: x + conv + relu (x waits for the add); add: x + relu + add
    assert peak_inference(report) == 3 * t * 4


def test_identity_branch_holds_the_input_until_the_merge():
    report = analyze_text("""
        - parallel:
            branches:
              - []
              - [{conv: {filters: 2, kernel: 1}}, {conv: {filters: 2, kernel: 1}}]
            merge: add
    """, input="4x4x2")
    t = 4 * 4 * 2
    # second conv: x (read by the add) + conv1 + conv2; add: x + conv2 + add
    assert peak_inference(report) == 3 * t * 4


SMALL = """
    - dense: 5
      name: d1
    - dense: 2
      name: d2
"""


@pytest.mark.parametrize("optimizer, states", [("sgd", 0), ("momentum", 1), ("adam", 2)])
def test_training_by_optimizer(optimizer, states):
    report = analyze_text(SMALL, input="10", batch=4)
    params = (10 + 1) * 5 + (5 + 1) * 2  # 67
    kept = (10 + 5 + 2) * 4  # input and every output, batch 4
    t = training(report, optimizer)
    assert (t.weights, t.gradients, t.optimizer) == (params * 4, params * 4, states * params * 4)
    assert t.activations == kept * 4
    assert t.total == params * 4 * (2 + states) + kept * 4


def test_adam_costs_two_more_copies_of_the_trainable_params_than_sgd():
    report = analyze_text(SMALL, input="10")
    assert training(report, "adam").total - training(report, "sgd").total == 2 * 67 * 4


def test_frozen_layers_get_no_gradient_or_state_and_keep_no_activations():
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
    # only d2's input (d1's output, 5) and d2's output (2) are kept
    assert saved_activations(report) == 5 + 2


def test_nothing_trainable_keeps_nothing():
    report = analyze_text(SMALL, input="10", extra="freeze_until: d2\n")
    t = training(report, "adam")
    assert (t.gradients, t.optimizer, t.activations) == (0, 0, 0)


def test_unknown_optimizer():
    from cnncalc import CnnCalcError

    with pytest.raises(CnnCalcError, match="did you mean 'adam'"):
        training(analyze_text(SMALL, input="10"), "adamw")


def test_memory_command_json(runner):
    result = runner.invoke(app, ["memory", "example-39", "-f", "json", "--optimizer", "adam",
                                 "--batch", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    params = 280 + 5020 + 20040 + 19610
    assert data["training"]["optimizer"] == 2 * params * 4
    assert data["peak_inference_bytes"] == (13690 + 5780) * 2 * 4
    assert data["inference_bytes"] == params * 4 + (13690 + 5780) * 2 * 4


def test_memory_command_table(runner):
    result = runner.invoke(app, ["memory", "vgg16-transfer", "--optimizer", "momentum"])
    assert result.exit_code == 0, result.output
    assert "training: gradients" in result.output
    assert f"{20485 * 4:,}" in result.output  # gradients of the new head only
    bad = runner.invoke(app, ["memory", "vgg16", "--optimizer", "lion"])
    assert bad.exit_code == 2


def test_memory_writes_every_format(runner):
    """CSV carries exact bytes; LeNet-5's params are the lecture's 62,006 at 4 bytes each."""
    import csv
    import io

    from cnncalc.commands import app

    result = runner.invoke(app, ["memory", "lenet5", "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["part"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert int(rows["params"]["bytes"]) == 62_006 * 4
    assert int(rows["training: gradients"]["bytes"]) == 62_006 * 4
    for fmt in ("markdown", "html"):
        text = runner.invoke(app, ["memory", "lenet5", "-f", fmt]).output
        assert f"{62_006 * 4:,}" in text, fmt
