"""cnncalc's memory against torch itself, to the byte.

The truth is measured (tests/torch_memory.py, no cnncalc code): the unique storages autograd
saves during a train-mode forward pass (`saved_tensors_hooks`, parameters and buffers left
out), and the storages alive after every aten op of an eval forward pass and of a train-mode
forward pass with gradients (a `TorchDispatchMode` that forgets a storage when torch frees
it). The module is `cnncalc.torch.build`'s. All must equal `analyses.memory`'s numbers
exactly: the saved bytes, the peaks, and the bytes alive after every op that allocates.

Coverage: every layer kind alone, after a trainable layer, and frozen (in place too, at three
dtypes); channel_dense after what lays its input out channels first or channels last (a conv,
a layer norm, itself, a slice), frozen or not, with and without bias; every bundled spec
(saved bytes on the meta device at its own input size, at two batches, all trainable and with
a frozen first half; liveness on CPU at a small input);
random specs (the differential tests' generator) with random dtypes, batches, frozen prefixes
and in-place activations, whose backward must also run when cnncalc accepts them.
"""

from __future__ import annotations

import copy
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.analyses import memory  # noqa: E402
from cnncalc.analyses.verify import torch_shape  # noqa: E402
from cnncalc.core.freeze import freeze_until  # noqa: E402
from cnncalc.core.layers import ACTIVATIONS, NOT_IN_PLACE, prod  # noqa: E402
from cnncalc.core.report import Report  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.torch import DTYPES, build  # noqa: E402
from tests.test_torch_differential import specs as random_specs  # noqa: E402
from tests.torch_memory import live_peak, saved_bytes  # noqa: E402

pytestmark = pytest.mark.torch

SPECS = sorted(p.stem for p in (Path(__file__).parent.parent / "specs").glob("*.yaml"))


def network(report: Report, device: str = "cpu") -> torch.nn.Module:
    """`cnncalc.torch.build`'s module at the report's dtype on `device`, made on the meta
    device and given constant weights (quick to make; values do not change what is stored)."""
    with torch.device("meta"):
        net = build(report)
    if device != "meta":
        net = net.to_empty(device=device)
        with torch.no_grad():
            for tensor in [*net.parameters(), *net.buffers()]:
                tensor.fill_(0.01 if tensor.is_floating_point() else 0)
    return net.to(DTYPES[report.dtype])


def example(report: Report, device: str = "cpu") -> torch.Tensor:
    return torch.randn(torch_shape(report.input_shape, report.batch), device=device,
                       dtype=DTYPES[report.dtype])


def check_saved(report: Report, device: str = "cpu", backward: bool = False) -> None:
    net = network(report, device)
    saved = saved_bytes(net, example(report, device), backward=backward)
    assert memory.saved_activations(report) == saved.total, saved.tensors


def check_live(report: Report, training: bool = False) -> None:
    """The eval forward pass (or the training step's forward pass) alive, op by op."""
    net = network(report)
    alive = live_peak(net, example(report), training)
    found = memory.backward(report).forward if training else memory.forward(report)
    assert found is not None
    batch = report.batch
    assert found.peak(batch)[0] == alive.peak
    # the bytes alive just after every op that allocates, in order (the input's step aside)
    ours = [size.at(batch) for (_, size), made in zip(found.steps[1:], found.born[1:],
                                                      strict=True) if made.at(batch)]
    assert ours == alive.after_allocations, alive.trace
    # and those ops by torch's names, and the ops that overwrite an activation in place
    # (an in-place op that allocates is autograd's copy of what it overwrites: a `clone`)
    names = [("clone" if op.endswith("_") else op)
             for op, made in zip(found.ops[1:], found.born[1:], strict=True) if made.at(batch)]
    assert names == alive.allocating_ops, alive.trace
    # every op, views and in-place ones too, is one torch runs, in order; torch runs more
    # (permutes, its own views, stochastic depth's `bernoulli_` and `div_` on its noise)
    theirs = iter(name for name, _, _ in alive.trace)
    assert all(op in theirs for op in found.ops if op != ""), (found.ops, alive.trace)


def check_all(text: str, runs: tuple[tuple[int, str], ...]) -> None:
    """What torch saves (its backward run too) and holds, in eval and in a training step, at
    each (batch, dtype) of `runs`."""
    for batch, dtype in runs:
        report = analyze(text, batch, dtype)
        check_saved(report, backward=True)
        check_live(report)
        check_live(report, training=True)


def analyze(text: str, batch: int = 2, dtype: str = "fp32", input: tuple | None = None,
            freeze: str | None = None) -> Report:
    report = cnncalc.analyze(cnncalc.load_text(text, "t.yaml"), input, batch=batch, dtype=dtype)
    return report if freeze is None else freeze_until(report, freeze)


# --------------------------------------------------------------------------- every kind

#: One row per kind and setting (a map of 6x6x4, or the vector it flattens to).
KINDS = {
    "conv": "conv: {filters: 3, kernel: 3, padding: 1}",
    "conv_relu": "conv: {filters: 3, kernel: 3, padding: 1, activation: relu}",
    "conv_silu": "conv: {filters: 3, kernel: 3, padding: 1, activation: silu}",
    "conv_padded": "conv: {filters: 3, kernel: 2, stride: 2, padding: same}",
    "conv_groups": "conv: {filters: 4, kernel: 3, groups: 2, bias: false}",
    "depthwise": "depthwise: {kernel: 3, multiplier: 2, activation: relu6}",
    "separable": "separable: {filters: 5, kernel: 3, padding: same, activation: sigmoid}",
    "separable_multiplier": "separable: {filters: 5, kernel: 3, multiplier: 2}",
    "maxpool": "maxpool: 2",
    "maxpool_ceil": "pool: {mode: max, kernel: 3, stride: 2, ceil_mode: true}",
    "maxpool_unequal": "pool: {mode: max, kernel: 2, padding: [0, 1, 1, 0]}",
    "avgpool": "avgpool: {kernel: 3, stride: 1, padding: 1}",
    "avgpool_unequal": "pool: {mode: avg, kernel: 3, stride: 2, padding: [1, 0, 0, 1], "
                       "ceil_mode: true}",
    "adaptive_even": "adaptive_pool: 3",
    "adaptive_uneven": "adaptive_pool: 4",
    "adaptive_max": "adaptive_pool: {size: [4, 5], mode: max}",
    "global_avg": "global_pool",
    "global_max": "global_pool: {mode: max, keepdims: true}",
    "pad_zeros": "pad: [1, 0, 2, 1]",
    "pad_replicate": "pad: {padding: 1, mode: replicate}",
    "pad_reflect": "pad: {padding: 2, mode: reflect}",
    "flatten": "flatten",
    "batchnorm": "batchnorm",
    "batchnorm_plain": "batchnorm: {affine: false}",
    "dropout": "dropout: 0.3",
    "layernorm": "layernorm",
    "layer_scale": "layer_scale: 0.5",
    "stochastic_depth_row": "stochastic_depth: 0.2",
    "stochastic_depth_batch": "stochastic_depth: {rate: 0.2, mode: batch}",
    "se": "se: 2",
    "se_hard": "se: {squeeze: 3, activation: silu, gate: hardsigmoid}",
    "conv_transpose": "conv_transpose: {filters: 3, kernel: 3, stride: 2, activation: tanh}",
    "upsample": "upsample: 2",
    "upsample_bilinear": "upsample: {size: [7, 9], mode: bilinear}",
    "channel_dense": "channel_dense: 3",
    "channel_dense_plain": "channel_dense: {units: 5, bias: false, activation: relu}",
    "chunk": "chunk: [2, 1]",
    "channel_shuffle": "channel_shuffle: 2",
    "crop": "crop: [1, 0, 0, 2]",
    "gelu_tanh": "gelu: {approximate: tanh}",
    "leaky": "leaky_relu: {negative_slope: 0.2}",
    "softmax": "softmax",
    **{f"{name}_in_place": f"{name}: {{inplace: true}}" for name in ACTIVATIONS
       if name not in NOT_IN_PLACE},
    **{name: name for name in ACTIVATIONS if name not in ("leaky_relu", "softmax")},
}
#: The same on a vector (flatten first).
VECTOR_KINDS = {
    "dense": "dense: 5",
    "dense_relu": "dense: {units: 5, activation: relu}",
    "dense_plain": "dense: {units: 5, bias: false, activation: hardswish}",
    "batchnorm_1d": "batchnorm",
    "layernorm_1d": "layernorm: {affine: false}",
    "dropout_1d": "dropout: 0.5",
    "chunk_1d": "chunk: [3, 2]",
    "relu_in_place_1d": "relu: {inplace: true}",
    "softmax_1d": "softmax",
}

#: How the kind is placed: alone on the input (its parameters train, its input needs no
#: gradient), after a trainable layer scale and frozen itself, after one and trainable, or
#: frozen alone (nothing records, nothing is kept).
SETUPS = {
    "alone": ("", ""),
    "frozen_after_trainable": ("- layer_scale: 0.5\n", "  trainable: false\n"),
    "after_trainable": ("- layer_scale: 0.5\n", ""),
    "frozen": ("", "  trainable: false\n"),
}
DTYPES_BY_SETUP = {"alone": "fp32", "frozen_after_trainable": "bf16",
                   "after_trainable": "fp32", "frozen": "fp16"}


def kind_spec(row: str, setup: str, vector: bool) -> str:
    before, after = SETUPS[setup]
    flat = "- flatten\n" if vector else ""
    if after and ":" not in row:  # a bare kind takes fields in its mapping form
        row += ":"
    return "name: t\ninput: 6x6x4\nlayers:\n" + textwrap.indent(
        f"{flat}{before}- {row}\n{after}", "  ")


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("case", sorted(KINDS))
def test_every_kind_keeps_and_holds_what_torch_does(case: str, setup: str) -> None:
    text = kind_spec(KINDS[case], setup, vector=False)
    for batch in (1, 2):
        report = analyze(text, batch, DTYPES_BY_SETUP[setup])
        check_saved(report)
        check_live(report)
        check_live(report, training=True)


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("case", sorted(VECTOR_KINDS))
def test_every_kind_on_a_vector(case: str, setup: str) -> None:
    # batch 2: torch's batch norm refuses one value per channel in training
    report = analyze(kind_spec(VECTOR_KINDS[case], setup, vector=True), 2,
                     DTYPES_BY_SETUP[setup])
    check_saved(report)
    check_live(report)
    check_live(report, training=True)


def test_kinds_that_keep_nothing_keep_nothing_and_views_allocate_nothing() -> None:
    """A few of the rules the table above checks, stated on their own: a chunk and a crop
    allocate nothing (views), nor does an in-place relu; an average global pool, an upsample,
    a zero pad keep nothing for their backward."""
    for row in ("chunk: [2, 0]", "crop: 1", "relu: {inplace: true}"):
        report = analyze(kind_spec(row, "after_trainable", False), batch=2)
        step = memory.forward(report)
        path = report.nodes[-1].path
        first, last = step.spans[path]
        assert all(size == memory.ZERO for size in step.born[first:last + 1]), row
    for row in ("global_pool", "upsample: 2", "pad: 1"):
        report = analyze(kind_spec(row, "frozen_after_trainable", False), batch=2)
        assert memory.backward(report).by_layer.get(report.nodes[-1].path) is None, row


# --------------------------------------------------------------------------- channel_dense

#: channel_dense after what it follows in practice: the layout of its input decides whether
#: the built module copies it to channels last first (docs/memory.md), and whether the last
#: channel_dense row copies is the second value. A 6x6x4 input.
CHANNEL_DENSE = {
    "after_conv": ("- conv: {filters: 4, kernel: 3, padding: 1}\n- channel_dense: 6", True),
    "after_layernorm": ("- layernorm\n- channel_dense: {units: 6, activation: gelu}", False),
    "two_in_a_row": ("- layernorm\n- channel_dense: 8\n- gelu\n"
                     "- channel_dense: {units: 4, bias: false}", False),
    "after_channel_dense": ("- channel_dense: {units: 8, bias: false}\n- channel_dense: 3",
                            False),
    "frozen_first": ("- layernorm\n- channel_dense: 8\n  trainable: false\n"
                     "- channel_dense: 4", False),
    "frozen_after_conv": ("- conv: {filters: 4, kernel: 1}\n  trainable: false\n"
                          "- channel_dense: {units: 4, bias: false}", True),
    # tests/test_memory.py's hand-computed cases
    "by_hand_after_conv": ("- conv: {filters: 4, kernel: 1}\n  trainable: false\n"
                           "- channel_dense: 6", True),
    "by_hand_after_layernorm": ("- layernorm: {affine: false}\n"
                                "- channel_dense: {units: 6, bias: false}", False),
    "all_frozen": ("- channel_dense: 8\n  trainable: false\n"
                   "- channel_dense: {units: 4, bias: false}\n  trainable: false", False),
    "after_a_slice": ("- layernorm\n- chunk: [2, 1]\n- channel_dense: 3", True),
    "a_slice_of_one_position": ("- global_pool: {keepdims: true}\n- layernorm\n"
                                "- chunk: [2, 0]\n- channel_dense: 3", True),
    # a map of one channel, and a pooled map (1x1): laid out channels last as they are; the
    # flatten after the first copies the Linear's channels-last output (torch's reshape)
    "after_a_one_channel_conv": ("- conv: {filters: 1, kernel: 3, padding: 1}\n"
                                 "- channel_dense: 3\n- flatten\n- dense: 2", False),
    "after_a_pooled_map": ("- conv: {filters: 4, kernel: 3, padding: 1}\n"
                           "- global_pool: {keepdims: true}\n- channel_dense: 3", False),
    "in_place_after": ("- layernorm\n- channel_dense: 6\n- relu: {inplace: true}\n"
                       "- channel_dense: 2", False),
    "convnext_block": ("""- residual:
    body:
      - depthwise: {kernel: 3, padding: 1}
      - layernorm: {eps: 1.0e-6}
      - channel_dense: 16
      - gelu
      - channel_dense: 4
      - layer_scale: 1.0e-6
      - stochastic_depth: 0.5""", False),
}


@pytest.mark.parametrize("case", sorted(CHANNEL_DENSE))
def test_channel_dense_keeps_and_holds_what_torch_does(case: str) -> None:
    rows, copies = CHANNEL_DENSE[case]
    text = "name: t\ninput: 6x6x4\nlayers:\n" + textwrap.indent(rows, "  ") + "\n"
    check_all(text, ((1, "fp32"), (2, "bf16"), (3, "fp32")))
    # the rule itself: the last channel_dense's first step copies its input or allocates
    # nothing (a map laid out channels last is read as it is)
    report = analyze(text)
    last = [n for n in report.walk() if n.kind == "channel_dense"][-1]
    step = memory.forward(report)
    start, _ = step.spans[last.path]
    input_bytes = prod(last.input_shape) * report.bytes_per_element
    assert step.born[start].at(1) == (input_bytes if copies else 0)


# --------------------------------------------------------------------------- views

#: Views whose shape decides what the next op copies: a crop or a slice of channels is not
#: contiguous, so the flatten after it copies (torch's reshape: a clone); a crop of nothing is
#: torch's alias. A 6x6x4 input.
VIEWS = {
    "crop_then_flatten": "- crop: 1\n- flatten\n- dense: 3",
    "crop_of_rows_then_flatten": "- crop: [1, 0, 0, 0]\n- flatten\n- dense: 3",
    "crop_of_nothing_then_flatten": "- crop: 0\n- flatten\n- dense: 3",
    "chunk_then_flatten": "- chunk: [2, 1]\n- flatten\n- dense: 3",
    # a relu of a crop of rows is contiguous (torch's TensorIterator keeps the crop's
    # decreasing strides), so the flatten after it is a view: the crop's strides fail torch's
    # channels-last test at the width, though the height's check alone would pass them
    "crop_of_rows_then_relu_then_flatten": "- crop: [1, 0, 0, 0]\n- relu\n- flatten\n- dense: 3",
    # a concat is channels last only when all its inputs are: a layer norm's channels-last
    # output beside a conv's makes a contiguous map, whose flatten is a view
    "concat_of_mixed_layouts_then_flatten": (
        "- parallel:\n    merge: concat\n    branches:\n"
        "      - [{layernorm: {}}]\n      - [{conv: {filters: 2, kernel: 1}}]\n"
        "- flatten\n- dense: 2"),
    "concat_of_channels_last_then_flatten": (
        "- parallel:\n    merge: concat\n    branches:\n"
        "      - [{layernorm: {}}]\n      - [{layernorm: {}}]\n"
        "- flatten\n- dense: 2"),
    # a global pool's output is contiguous whatever its input's layout (torch's mean and amax
    # with keepdim on a channels-last map), so the upsample after it is too, and the flatten
    # after that a view
    "global_avg_of_channels_last_then_upsample": (
        "- layernorm\n- global_pool: {keepdims: true}\n- upsample: 4\n- flatten\n- dense: 3"),
    "global_max_of_channels_last_then_upsample": (
        "- layernorm\n- global_pool: {mode: max, keepdims: true}\n- upsample: 4\n- flatten\n"
        "- dense: 3"),
    # an adaptive pool to 1x1 keeps a channels-last input's layout (torch's strides
    # (C, 1, C, C)), which torch's test of channels-last strides reads as channels last: so is
    # the upsample after it, and the flatten after that copies
    "adaptive_pool_of_channels_last_then_upsample": (
        "- layernorm\n- adaptive_pool: 1\n- upsample: 4\n- flatten\n- dense: 3"),
    # split branches of a channels-last map: each part is a slice of the channels, which the
    # flatten after it copies (its own channels only)
    "split_branches_of_channels_last_then_flatten": (
        "- layernorm\n- parallel:\n    split: [1, 3]\n    merge: concat\n"
        "    branches:\n      - [{flatten: {}}]\n      - [{flatten: {}}]\n- dense: 2"),
    # an add is laid out as its first input (torch's add of a channels-last and a contiguous
    # map): the flatten after it copies in the first order and views in the second
    "add_of_channels_last_and_contiguous_then_flatten": (
        "- parallel:\n    merge: add\n    branches:\n"
        "      - [{layernorm: {}}]\n      - [{conv: {filters: 4, kernel: 1}}]\n"
        "- flatten\n- dense: 2"),
    "add_of_contiguous_and_channels_last_then_flatten": (
        "- parallel:\n    merge: add\n    branches:\n"
        "      - [{conv: {filters: 4, kernel: 1}}]\n      - [{layernorm: {}}]\n"
        "- flatten\n- dense: 2"),
    # an add of four inputs adds the third and the fourth into the sum in place (`add_`),
    # never into an input: each relu's output, saved for its backward (the conv before them
    # trains), stays as it was, and the sum is what the flatten reads
    "add_of_four_branches_then_flatten": (
        "- conv: {filters: 4, kernel: 1}\n"
        "- parallel:\n    merge: add\n    branches:\n      - [relu]\n      - [relu]\n"
        "      - [{conv: {filters: 4, kernel: 1}}]\n      - [relu]\n- flatten\n- dense: 2"),
    # ... and the third input is read by its add_: it stays alive while the fourth branch
    # makes its largest tensor (16 channels), where the peak is
    "add_of_four_branches_the_last_widest": (
        "- conv: {filters: 4, kernel: 1}\n"
        "- parallel:\n    merge: add\n    branches:\n      - [relu]\n      - [relu]\n"
        "      - [{conv: {filters: 4, kernel: 1}}]\n"
        "      - [{conv: {filters: 16, kernel: 1}}, {conv: {filters: 4, kernel: 1}}]\n"
        "- flatten\n- dense: 2"),
    # a one-channel 2x1 map laid out channels last (a layer norm's output): the conv after
    # it is laid out channels last too, so the flatten after that copies
    "channels_last_column_then_conv_then_flatten": (
        "- conv: {filters: 1, kernel: [5, 6]}\n- layernorm\n- conv: {filters: 3, kernel: 1}\n"
        "- flatten\n- dense: 2"),
    # a flatten of a vector is no op at all
    "flatten_of_a_vector": "- flatten\n- dense: 5\n- flatten\n- dense: 3",
    "split_branches_then_flatten": ("- parallel:\n    split: [1, 3]\n    merge: concat\n"
                                    "    branches:\n      - [{flatten: {}}]\n"
                                    "      - [{flatten: {}}]\n- dense: 2"),
}


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_an_add_of_k_inputs_runs_the_adds_torch_runs(k: int) -> None:
    # the first two inputs added into a new tensor, each other one added into it in place:
    # the same adds, in the same order, as the built module's forward pass dispatches
    branches = "".join("        - [relu]\n" for _ in range(k))
    text = ("name: t\ninput: 6x6x4\nlayers:\n  - parallel:\n      merge: add\n"
            f"      branches:\n{branches}")
    report = analyze(text)
    alive = live_peak(network(report), example(report), False)
    theirs = [name for name, _, _ in alive.trace if name in ("add", "add_")]
    assert theirs == ["add"] + ["add_"] * (k - 2)
    assert [op for op in memory.forward(report).ops if op in ("add", "add_")] == theirs


@pytest.mark.parametrize("case", sorted(VIEWS))
def test_views_and_the_copies_after_them_are_what_torch_does(case: str) -> None:
    text = "name: t\ninput: 6x6x4\nlayers:\n" + textwrap.indent(VIEWS[case], "  ") + "\n"
    check_all(text, ((1, "fp32"), (2, "bf16")))


# --------------------------------------------------------------------------- in place

def test_an_in_place_activation_over_a_kept_tensor_is_refused_as_torch_fails() -> None:
    # relu keeps its output; an in-place relu after it overwrites that output
    text = kind_spec("relu\n- relu: {inplace: true}", "after_trainable", False)
    report = analyze(text)
    memory.forward(report)  # at inference nothing is kept: allowed
    with pytest.raises(CnnCalcError, match="keeps for its backward pass"):
        memory.backward(report)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved_bytes(network(report), example(report), backward=True)


def test_an_in_place_activation_over_a_tensor_read_later_is_refused() -> None:
    # the body's first layer overwrites the block's input, which the add reads afterwards
    text = """
        name: t
        input: 4x4x2
        layers:
          - residual:
              body: [{sigmoid: {inplace: true}}, {conv: {filters: 2, kernel: 1}}]
    """
    report = analyze(textwrap.dedent(text))
    with pytest.raises(CnnCalcError, match="reads later"):
        memory.forward(report)
    # torch computes something else than the graph says
    net = network(report)
    x = example(report)
    with torch.no_grad():
        wrong = net.eval()(x.clone())
        right = network(analyze(textwrap.dedent(text).replace("{inplace: true}", "{}")))(x)
    assert not torch.equal(wrong, right)


# --------------------------------------------------------------------------- the zoo

#: Inputs small enough for a CPU pass that every bundled spec accepts (64x64 unless noted:
#: U-Net needs 16 k + 124, Inception v3 at least 299, AlexNet's 11x11 stride-4 stem 67).
SMALL = {"unet": (188, 188, 1), "inception_v3": (299, 299, 3), "alexnet": (67, 67, 3),
         "alexnet-groups": (67, 67, 3)}


def _middle(report: Report) -> str:
    return report.nodes[len(report.nodes) // 2].path


@pytest.mark.parametrize("name", SPECS)
def test_every_bundled_spec_saves_what_torch_saves(name: str) -> None:
    spec = cnncalc.load(name)
    check_saved(cnncalc.analyze(spec, batch=2), device="meta")
    # fp32: the meta device's batch norm keeps fp32 statistics for bf16 input where the CPU
    # keeps them in the input's dtype (the rule cnncalc states; the kinds' tests vary dtypes)
    frozen = cnncalc.analyze(spec, batch=3)
    check_saved(freeze_until(frozen, _middle(frozen)), device="meta")


@pytest.mark.parametrize("name", SPECS)
def test_every_bundled_spec_holds_what_torch_holds(name: str) -> None:
    spec = cnncalc.load(name)
    shape = cnncalc.analyze(spec).input_shape
    if len(shape) == 3 and shape[0] > 64:
        shape = SMALL.get(name, (64, 64, shape[2]))
    report = cnncalc.analyze(spec, shape, batch=1 if name != "inception_v3" else 2)
    check_live(report)
    if name != "inception_v3":  # at 299x299 the slowest on CPU; the kinds and random specs
        check_live(report, training=True)  # check the training pass of its parts


# --------------------------------------------------------------------------- random specs

IN_PLACE = tuple(name for name in ACTIVATIONS if name not in NOT_IN_PLACE)


def _in_place(draw: st.DrawFn, rows: list) -> list:
    """The rows with some activations made in place (a drawn choice for each)."""
    out = []
    for row in rows:
        kind = row if isinstance(row, str) else next(iter(row))
        if kind in IN_PLACE and draw(st.booleans()):
            fields = {} if isinstance(row, str) else dict(row[kind] or {})
            row = {**({} if isinstance(row, str) else row), kind: {**fields, "inplace": True}}
        elif isinstance(row, dict):
            row = copy.deepcopy(row)
            for key in ("seq", "layers"):
                if isinstance(row.get(key), list):
                    row[key] = _in_place(draw, row[key])
            for key in ("residual", "parallel"):
                if isinstance(row.get(key), dict):
                    inner = row[key]
                    if "body" in inner:
                        inner["body"] = _in_place(draw, inner["body"])
                    if "branches" in inner:
                        inner["branches"] = [_in_place(draw, b) for b in inner["branches"]]
        out.append(row)
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[Report, str]:
    text, batch = draw(random_specs())
    doc = yaml.safe_load(text)
    doc["layers"] = _in_place(draw, doc["layers"])
    text = yaml.safe_dump(doc, sort_keys=False)
    dtype = draw(st.sampled_from(["fp32", "fp32", "bf16", "fp16"]))
    report = cnncalc.analyze(cnncalc.load_text(text, "random"),
                             batch=draw(st.sampled_from([batch, 2, 3])), dtype=dtype)
    rows = [node.path for node in report.walk() if node.children is None]
    if draw(st.booleans()):
        freeze_until(report, draw(st.sampled_from(rows)))
    return report, text


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(cases())
def test_random_specs_keep_and_hold_what_torch_does(case: tuple[Report, str]) -> None:
    report, text = case
    try:
        memory.forward(report)
        memory.backward(report)
    except CnnCalcError:
        assume(False)  # an in-place activation over a tensor read or kept later: refused
    try:
        check_saved(report, backward=True)  # torch's backward runs where cnncalc accepts
    except ValueError as exc:  # batch norm on one value per channel: torch refuses to train
        assume("Expected more than 1 value per channel" not in str(exc))
        raise
    check_live(report)
    check_live(report, training=True)


# --------------------------------------------------------------------------- view strides

def _layouts(c: int, h: int, w: int):
    """(2, c, h, w) tensors as cnncalc's memory model makes them, with their strides: laid out
    contiguous or channels last, whole, as a slice of channels of a wider map, or cropped."""
    for last in (False, True):
        for wider, top, left in ((0, 0, 0), (2, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)):
            base = torch.empty(2, c + wider, h + top, w + left)
            if last:
                base = base.contiguous(memory_format=torch.channels_last)
            yield base[:, wider:, top:, left:]


@pytest.mark.parametrize("dims", [(1, 1, 1), (3, 1, 1), (1, 2, 3), (2, 3, 1), (3, 2, 2),
                                  (2, 1, 4)])
def test_view_strides_are_torchs(dims: tuple[int, int, int]) -> None:
    # memory's transcription of torch's computeStride against torch's own `view`, for the
    # reshapes a flatten (or any regrouping of C, H, W) asks of every layout memory makes
    c, h, w = dims
    for x in _layouts(c, h, w):
        for new in ((c * h * w,), (c, h * w), (c * h, w), (h * w, c), (1, c * h * w, 1)):
            try:
                want = tuple(x.view(2, *new).stride())
            except RuntimeError:  # "view size is not compatible with input tensor's size..."
                want = None
            assert memory._view_strides(dims, tuple(x.stride()), new) == want, (
                dims, x.stride(), new)


@pytest.mark.parametrize("dims", [(1, 2, 1), (3, 1, 1), (1, 2, 3), (2, 3, 1), (3, 2, 2),
                                  (2, 1, 4), (4, 2, 1), (2, 2, 2)])
def test_the_layout_test_is_torchs_suggested_memory_format(dims: tuple[int, int, int]) -> None:
    # torch's max_pool2d on the CPU lays its output out in the input's suggested memory
    # format: memory's transcription of the test (`_is_channels_last`) must read every layout
    # memory makes as torch does (a one-channel 2x1 map laid out channels last among them,
    # whose size-2 height is the only size that tells)
    c, h, w = dims
    last, flat = memory._channels_last(dims), memory._contiguous(dims)
    for x in _layouts(c, h, w):
        out = tuple(torch.nn.functional.max_pool2d(x, 1).stride())
        assert out in (last, flat), (dims, x.stride(), out)
        assert memory._is_channels_last(dims, tuple(x.stride())) == (out == last), (
            dims, x.stride(), out)


# --------------------------------------------------------------------------- padded pools

@pytest.mark.parametrize("shape", ["7x5x2", "5x8x2"])
@pytest.mark.parametrize("pool", [
    # unequal padding: an explicit pad first; ceil_mode's last window may reach past it
    # (more padding at the bottom or right), by different amounts on the two axes
    "{mode: avg, kernel: 3, stride: 2, padding: [1, 0, 0, 1], ceil_mode: true}",
    "{mode: avg, kernel: 2, stride: 2, padding: [0, 1, 1, 0], ceil_mode: true}",
    "{mode: avg, kernel: [3, 2], stride: [2, 3], padding: [0, 1, 0, 0], ceil_mode: true}",
    "{mode: max, kernel: 3, stride: 2, padding: [1, 0, 0, 1], ceil_mode: true}",
    "{mode: max, kernel: [2, 3], stride: [3, 2], padding: [1, 0, 1, 0], ceil_mode: true}",
])
def test_padded_pools_on_uneven_maps_hold_what_torch_does(shape: str, pool: str) -> None:
    text = (f"name: t\ninput: {shape}\nlayers:\n  - conv: {{filters: 2, kernel: 1}}\n"
            f"  - pool: {pool}\n")
    check_all(text, ((1, "fp32"), (3, "bf16")))
