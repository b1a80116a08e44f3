"""The engine and the torch backend against a reference of the tests' own, in plain torch.

The truth here is `tests/reference_torch.py`: spec text read with `yaml.safe_load` and built
from plain `torch.nn.functional`, never through cnncalc's loader, engine or `cnncalc.torch`.
For each spec (a table of fixed specs, each named after the rule it pins, and hypothesis's
random ones):

(a) the engine's report equals what the reference model gives, node by node and in total:
    the same dotted paths in the same order, output shapes (forward hooks), activations,
    params and trainable params (`numel` and `requires_grad`), buffers (running statistics),
    MACs (`FlopCounterMode` counts of each module, halved);
(b) `cnncalc.torch.build(report)` computes the same function: the reference's parameters
    (deterministic random values, see `randomize`) are copied into the built module in order
    (both list parameters in the same order and shapes; a difference fails the test), likewise
    the batch-norm running statistics, and every node's output tensor, in eval mode on a random
    input, must equal the reference's (`torch.allclose`, atol 1e-5, rtol 1e-4). A backend that
    computes the wrong function (softmax over width, pads in the wrong order, height and width
    swapped, a wrong flatten order) fails here even when every shape and count is right.
"""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if os.environ.get("CI"):
    import torch  # CI installs torch: a missing torch must fail there, never skip
else:
    torch = pytest.importorskip("torch")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.core import layers as L  # noqa: E402
from tests import reference_torch as ref  # noqa: E402

pytestmark = pytest.mark.torch

ATOL, RTOL = 1e-5, 1e-4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread is several times faster on a shared machine than many."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- the checks

def _run(model: torch.nn.Module, x: torch.Tensor, paths: list[str],
         counter: FlopCounterMode | None = None) -> dict[str, torch.Tensor]:
    """Every listed module's output (forward hooks), one forward pass in eval mode."""
    modules = dict(model.named_modules())
    outs: dict[str, torch.Tensor] = {}

    def hook(path: str):
        return lambda _m, _i, out: outs.__setitem__(path, out)

    handles = [modules[path].register_forward_hook(hook(path)) for path in paths]
    model.eval()
    # training-only rows (auxiliary heads) run too, still in eval mode
    graph = getattr(model, "_cnncalc_graph", None)
    ref.ALL_ROWS[0] = True
    if graph is not None:
        graph.all_rows = True
    try:
        with torch.no_grad():
            if counter is None:
                model(x)
            else:
                with counter:
                    model(x)
    finally:
        ref.ALL_ROWS[0] = False
        if graph is not None:
            graph.all_rows = False
        for handle in handles:
            handle.remove()
    return outs


def _buffers(module: torch.nn.Module) -> list[torch.Tensor]:
    return [b for name, b in module.named_buffers() if not name.endswith("num_batches_tracked")]


def check(text: str, batch: int = 1, seed: int = 0) -> None:
    """(a) engine == reference counts, (b) cnncalc.torch.build == reference values."""
    report = cnncalc.analyze(cnncalc.load_text(text, "reference"), batch=batch)
    model = ref.randomize(ref.build(text), seed)
    modules = {path: m for path, m in model.named_modules() if path}
    paths = [node.path for node in report.walk()]
    assert paths == list(modules), f"engine paths differ from the reference's\n{text}"
    x = torch.randn(ref.nchw(model.input_shape, batch),
                    generator=torch.Generator().manual_seed(seed + 1))
    counter = FlopCounterMode(display=False)
    outs = _run(model, x, paths, counter)
    flops = counter.get_flop_counts()
    leaves = [path for path, m in modules.items()  # layers and merges, not groups
              if not isinstance(m, (ref.Seq, ref.Residual, ref.Parallel))]

    def training_only(path: str) -> bool:
        return any(path == a or path.startswith(a + ".") for a in model.training_only)

    # the outputs, and which rows run only in training
    assert [n.path for n in report.outputs] == model.outputs, text
    assert [n.path for n in report.walk() if n.training_only] == [
        p for p in paths if training_only(p)], text

    # (a) the engine's numbers, node by node and in total
    for node in report.walk():
        where = f"{node.path} ({node.kind})\n{text}"
        module = modules[node.path]
        assert tuple(outs[node.path].shape) == ref.nchw(node.output_shape, batch), where
        under = [p for p in leaves if (p == node.path or p.startswith(node.path + "."))
                 and (node.training_only or not training_only(p))]
        assert node.activations * batch == sum(outs[p].numel() for p in under), where
        params = list(module.parameters())
        assert node.params == sum(p.numel() for p in params), where
        assert node.trainable_params == sum(p.numel() for p in params if p.requires_grad), where
        assert node.buffers == sum(b.numel() for b in _buffers(module)), where
        inner = 0 if node.training_only else sum(  # a block's training-only rows: apart
            sum(flops.get(f"Reference.{a}", {}).values()) for a in model.training_only
            if a.startswith(node.path + "."))
        assert 2 * node.macs * batch == sum(
            flops.get(f"Reference.{node.path}", {}).values()) - inner, where
    totals = report.totals
    assert report.nodes[-1].output_shape == model.output_shape
    assert totals.params == sum(p.numel() for p in model.parameters())
    assert totals.trainable_params == sum(
        p.numel() for p in model.parameters() if p.requires_grad)
    assert totals.buffers == sum(b.numel() for b in _buffers(model))
    aux_flops = sum(sum(flops.get(f"Reference.{a}", {}).values()) for a in model.training_only)
    assert 2 * report.macs(totals) == counter.get_total_flops() - aux_flops
    assert 2 * report.macs(report.training_only) == aux_flops
    assert report.activations(totals) == sum(outs[p].numel() for p in leaves
                                             if not training_only(p))
    assert report.activations(report.training_only) == sum(
        outs[p].numel() for p in leaves if training_only(p))

    # (b) the torch backend computes the reference's function
    built = ct.build(report)
    mine, theirs = list(model.parameters()), list(built.parameters())
    assert [tuple(p.shape) for p in theirs] == [tuple(p.shape) for p in mine], \
        f"cnncalc.torch's parameters differ in order or shape from the reference's\n{text}"
    mine_b, theirs_b = _buffers(model), _buffers(built)
    assert [tuple(b.shape) for b in theirs_b] == [tuple(b.shape) for b in mine_b], text
    with torch.no_grad():
        for source, target in zip([*mine, *mine_b], [*theirs, *theirs_b], strict=True):
            target.copy_(source)
    got = _run(built, x, paths)
    for path in paths:
        want, have = outs[path], got[path]
        assert have.shape == want.shape, f"{path}\n{text}"
        assert torch.allclose(have, want, atol=ATOL, rtol=RTOL), (
            f"{path}: cnncalc.torch computes other values than the reference "
            f"(max |diff| {float((have - want).abs().max()):.3g})\n{text}")


def spec(input_shape: str, *layers: str) -> str:
    """A spec text from an input and YAML layer lines (each a complete list item body)."""
    body = "".join(f"  - {layer}\n" for layer in layers)
    return f"name: ref\ninput: {input_shape}\nlayers:\n{body}"


# --------------------------------------------------------------------------- fixed specs


#: (id, spec text, expected final shape (H, W, C) or (n,) or None, marks)
FIXED = [
    # ceil_mode: round up (6 -> 4 windows, not 3), and a last window that would start past the
    # input and its leading padding is dropped (5 with k3 s3 p1: 2, not 3).
    ("rule_ceil_mode_rounds_up", spec(
        "6x5x2", "maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
        "avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}"), (3, 2, 2), ()),
    ("rule_ceil_mode_leading_padding", spec(
        "5x5x2", "maxpool: {kernel: 3, stride: 3, padding: 1, ceil_mode: true}"), (2, 2, 2), ()),
    ("rule_ceil_mode_leading_padding_avg", spec(
        "5x8x2", "avgpool: {kernel: 3, stride: 3, padding: 1, ceil_mode: true}"), (2, 3, 2), ()),
    ("rule_ceil_mode_leading_padding_asymmetric", spec(
        "6x6x2", "maxpool: {kernel: 3, stride: 3, padding: [1, 0, 0, 1], ceil_mode: true}"),
     (3, 2, 2), ()),
    ("rule_ceil_mode_kernel_past_small_input", spec(
        "2x2x1", "maxpool: {kernel: 3, stride: 4, ceil_mode: true}"), (1, 1, 1), ()),
    ("rule_ceil_mode_avg_divisor_clips_overhang", spec(
        "4x4x1", "avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}"), (3, 3, 1), ()),
    ("rule_ceil_mode_avg_divisor_clips_overhang_asymmetric", spec(
        "4x4x1", "avgpool: {kernel: 3, stride: 2, padding: [1, 1, 1, 0], ceil_mode: true}"),
     (3, 2, 1), ()),
    ("rule_separable_pointwise_macs_multiplier", spec(
        "6x7x3", "separable: {filters: 5, kernel: 3, multiplier: 2, padding: same}",
        "separable: {filters: 4, kernel: [3, 1], multiplier: 3, bias: false, stride: [1, 2]}"),
     (4, 4, 4), ()),
    ("rule_asymmetric_four_value_padding_conv", spec(
        "5x6x2", "conv: {filters: 3, kernel: [2, 3], padding: [0, 2, 1, 3]}"), (6, 8, 3), ()),
    ("rule_asymmetric_four_value_padding_pad", spec(
        "4x5x2", "pad: {padding: [1, 2, 0, 3]}",
        "pad: {padding: [2, 0, 3, 1], mode: replicate}",
        "pad: {padding: [0, 3, 2, 1], mode: reflect}",
        "pad: {padding: [1, 2], mode: reflect}", "pad: 1"), (16, 21, 2), ()),
    # crop: 8x10 -> 5x7 -> 3x5 -> 1x3, padded to 3x5, -> 2x3 (the values: the middle)
    ("rule_crop_sides", spec(
        "8x10x2", "crop: [1, 2, 0, 3]", "crop: [1, 1]", "crop: 1", "pad: 1",
        "crop: {amount: [0, 1, 2, 0]}"), (2, 3, 2), ()),
    ("rule_non_square_conv", spec(
        "7x9x3", "conv: {filters: 4, kernel: [1, 3], stride: [2, 1], dilation: [1, 2]}"),
     (4, 5, 4), ()),
    ("rule_non_square_conv_same", spec(
        "7x9x3", "conv: {filters: 4, kernel: [1, 3], stride: [2, 1], dilation: [3, 2], "
        "padding: same}", "conv: {filters: 2, kernel: [4, 2], stride: [1, 3], padding: same}"),
     (4, 3, 2), ()),
    ("rule_non_square_pool", spec(
        "7x9x3", "maxpool: {kernel: [1, 3], stride: [2, 1]}",
        "avgpool: {kernel: [3, 1], stride: [1, 2], padding: [1, 0]}"), (4, 4, 3), ()),
    ("rule_non_square_depthwise", spec(
        "6x9x2", "depthwise: {kernel: [3, 1], stride: [1, 2], dilation: [1, 2], multiplier: 2}"),
     (4, 5, 4), ()),
    ("rule_same_padding_extra_bottom_right", spec(
        "5x6x2", "conv: {filters: 3, kernel: 2, stride: 2, padding: same}",
        "conv: {filters: 2, kernel: 4, padding: same}",
        "maxpool: {kernel: 2, stride: 2, padding: same}",
        "avgpool: {kernel: 3, stride: 2, padding: same}"), (1, 1, 2), ()),
    ("rule_softmax_over_channels", spec(
        "3x5x2", "conv: {filters: 4, kernel: 1, activation: softmax}", "softmax",
        "activation: softmax"), (3, 5, 4), ()),
    ("rule_leaky_relu_slope", spec(
        "4x4x2", "conv: {filters: 3, kernel: 1, activation: leaky_relu}",
        "leaky_relu: {negative_slope: 0.3}",
        "activation: {function: leaky_relu, negative_slope: 2.5}"), (4, 4, 3), ()),
    ("rule_every_activation", spec(
        "2x3x2", "relu", "relu6", "leaky_relu", "tanh", "sigmoid", "silu", "swish",
        "hardswish", "hardsigmoid", "gelu", "softmax", "activation: gelu"), (2, 3, 2), ()),
    ("rule_se_values", spec(
        "4x5x6", "se: 2", "se: {squeeze: 3, activation: hardswish, gate: hardsigmoid}"),
     (4, 5, 6), ()),
    ("rule_residual_projection_shortcut", spec(
        "6x7x3", "residual: {body: [{conv: {filters: 4, kernel: 3, stride: 2, padding: same, "
        "bias: false}}, batchnorm, relu, {conv: {filters: 4, kernel: 3, padding: 1}}], "
        "shortcut: [{conv: {filters: 4, kernel: 1, stride: 2}}, batchnorm], "
        "activation: relu}",
        "residual: {body: [{conv: {filters: 4, kernel: 3, padding: 1}}, batchnorm], "
        "shortcut: identity, activation: silu}",
        "residual: {body: [{conv: [4, 1]}], add: false, activation: tanh}"), (3, 4, 4), ()),
    # README, Paths: a shortcut written as one named layer or seq is that row (torchvision's
    # `layer2.0.downsample.0`); a repeat keeps the `shortcut` row; whole numbers are names
    ("rule_residual_named_shortcut_is_its_row", spec(
        "6x6x3", "{conv: [4, 3, 1, 1], name: 0}",
        "{residual: {body: [{conv: {filters: 8, kernel: 3, stride: 2, padding: 1}}, batchnorm],"
        " shortcut: [{seq: [{conv: {filters: 8, kernel: 1, stride: 2}, name: 0},"
        " {batchnorm: {}, name: 1}], name: downsample}], activation: relu}, name: 1}",
        "{residual: {body: [{conv: [8, 1]}], shortcut: [{conv: [8, 1], name: proj}]}, name: 2}",
        "{residual: {body: [{conv: [8, 1]}], shortcut: [{conv: [8, 1], repeat: 2, name: ps}]},"
        " name: '3'}"), (3, 3, 8), ()),
    ("rule_parallel_concat_order", spec(
        "5x5x2", "parallel: {branches: [[{conv: {filters: 1, kernel: 1}}], [], "
        "[{conv: {filters: 3, kernel: 3, padding: same}}], "
        "[{maxpool: {kernel: 3, stride: 1, padding: 1}}]], merge: concat}",
        "parallel: {branches: [[{conv: [2, 1]}], [{conv: {filters: 2, kernel: 3, padding: 1}}],"
        " identity], merge: concat, activation: relu}"), (5, 5, 12), ()),
    ("rule_parallel_add", spec(
        "5x5x3", "parallel: {branches: [[{conv: {filters: 3, kernel: 3, padding: same}}], [],"
        " [{separable: {filters: 3, kernel: 3, padding: 1}}]], merge: add, "
        "activation: sigmoid}"), (5, 5, 3), ()),
    ("rule_flatten_torch_chw_order", spec(
        "3x4x2", "conv: {filters: 3, kernel: 1}", "flatten", "dense: 5", "flatten"), (5,), ()),
    ("rule_global_pool_keepdims", spec(
        "3x4x3", "global_pool: {mode: max, keepdims: true}", "conv: {filters: 2, kernel: 1}",
        "global_pool", "dense: {units: 2, bias: false, activation: relu}"), (2,), ()),
    ("rule_global_pool_max_vector", spec(
        "3x4x3", "global_pool: max", "dense: 3"), (3,), ()),
    ("rule_adaptive_pool_lecture_window", spec(
        "7x8x2", "adaptive_pool: [2, 3]", "pad: 1", "adaptive_pool: {size: 2, mode: max}"),
     (2, 2, 2), ()),
    ("rule_adaptive_pool_torch_windows_uneven_and_enlarging", spec(
        "5x4x2", "adaptive_pool: [3, 3]", "adaptive_pool: {size: [7, 5], mode: max}",
        "adaptive_pool: {size: [2, 8]}"), (2, 8, 2), ()),
    ("rule_layernorm_layer_scale_stochastic_depth", spec(
        "4x5x3", "layernorm: {eps: 1.0e-6}", "layer_scale: 0.5",
        "stochastic_depth: {rate: 0.2, mode: batch}", "layernorm: {affine: false}",
        "global_pool", "layernorm", "layer_scale", "stochastic_depth: 1"), (3,), ()),
    ("rule_channel_dense_is_a_linear_over_each_positions_channels", spec(
        "4x5x3", "channel_dense: 8", "channel_dense: {units: 2, bias: false, activation: gelu}",
        "layer_scale: 0.5"), (4, 5, 2), ()),
    ("rule_grouped_conv_and_depthwise_multiplier", spec(
        "5x5x4", "conv: {filters: 6, kernel: 3, groups: 2, padding: 1}",
        "depthwise: {kernel: 3, multiplier: 2, padding: same, activation: relu6}"),
     (5, 5, 12), ()),
    ("rule_batchnorm_affine_and_vector", spec(
        "4x4x3", "batchnorm", "batchnorm: {affine: false, eps: 0.001}", "flatten",
        "batchnorm", "dropout: 0.3", "dense: 4"), (4,), ()),
    ("rule_vector_input", spec(
        "6", "dense: {units: 4, activation: softmax}", "batchnorm",
        "parallel: {branches: [[{dense: 3}], [], [{dense: 2}, relu]]}",
        "residual: {body: [{dense: 9}, batchnorm], activation: relu}", "flatten"), (9,), ()),
    ("rule_names_repeat_when_trainable", spec(
        "6x6x2", "{conv: {filters: 2, kernel: 3, padding: 1}, repeat: 2}",
        "{conv: {filters: 2, kernel: 1}, name: conv1}", "{relu: null, when: false}",
        "{kind: conv, filters: 3, kernel: 1, trainable: false}", "relu",
        "{seq: [{conv: [3, 1]}, batchnorm, {relu: null, name: act}], trainable: false}",
        "{seq: [{conv: [3, 1], trainable: true}], trainable: false}"), (6, 6, 3), ()),
    ("rule_lenet_short_forms", """\
name: lenet5
input: 32x32x3
layers:
  - conv: {filters: 6, kernel: 5, activation: tanh}
    name: conv1
  - avgpool: 2
  - conv: [16, 5]
  - avgpool: {kernel: 2}
  - flatten
  - kind: dense
    units: 120
    activation: tanh
  - dense: 84
  - tanh
  - dense: {units: 10, activation: softmax}
""", (10,), ()),
    # taps and joins: a U-Net-like skip (upsample, concat with an earlier row), an add of two
    # rows, a tap from the input
    ("graph_taps_and_joins", spec(
        "8x8x2", "{conv: {filters: 4, kernel: 3, padding: 1}, name: enc}",
        "{maxpool: 2, name: down}", "{conv: {filters: 4, kernel: 3, padding: 1}, name: mid}",
        "{upsample: 2, name: up}", "{concat: null, from: [up, enc], name: cat}",
        "{conv: {filters: 2, kernel: 1}, name: fuse}",
        "{add: null, from: [fuse, input]}"), (8, 8, 2), ()),
    # a branch written as one named layer or seq is that row (`m.left`); others `m.branchN`
    ("rule_named_branch_is_its_row", spec(
        "5x5x3", "{parallel: {branches: [[{conv: [2, 1], name: left}],"
        " [{seq: [{conv: [3, 1]}, relu], name: right}], [{conv: [1, 1]}, relu]]}, name: m}"),
     (5, 5, 6), ()),
    # `input` inside a seq is the seq's input; repeated, each pass reads its own
    ("graph_list_input", spec(
        "5x5x3", "{conv: [4, 1], name: stem}",
        "{seq: [{conv: {filters: 4, kernel: 3, padding: 1}, name: a},"
        " {conv: [4, 1], from: input, name: b}, {add: null, from: [a, b, input]}],"
        " repeat: 2, name: stage}"), (5, 5, 4), ()),
    # an auxiliary head (training only) taken from the middle; the main path goes on with from:
    ("graph_aux_head_and_outputs", spec(
        "6x6x3", "{conv: [4, 3], name: c1}",
        "{seq: [global_pool, {dense: 5}], from: c1, training_only: true, name: aux}",
        "{conv: [2, 1], from: c1, name: c2}", "{flatten: null, from: c1, name: side}",
        "{global_pool: null, from: c2}"), (2,), ()),
    # ShuffleNetV2's unit (split, identity half, shuffle) and YOLOv8's C2f (chunk, concat)
    ("graph_split_shuffle_chunk", spec(
        "4x4x6", "{parallel: {split: 2, branches: [[], [{conv: [3, 1]}, batchnorm, relu]]}}",
        "channel_shuffle: 2", "{conv: [8, 1], name: cv1}", "{chunk: [2, 1], name: piece}",
        "{conv: {filters: 4, kernel: 3, padding: 1}, name: m0}",
        "{concat: null, from: [cv1, m0], name: cat}",
        "{parallel: {split: [2, 3, 7], branches: [[], [{conv: [1, 1]}], []]}}"), (4, 4, 10), ()),

]


@pytest.mark.parametrize(
    ("text", "shape"), [pytest.param(text, shape, id=name, marks=marks)
                        for name, text, shape, marks in FIXED])
def test_fixed_spec_against_reference(text: str, shape: tuple[int, ...] | None) -> None:
    assert ref.build(text).output_shape == shape  # the rule, worked by hand
    check(text, batch=2)


def test_reference_knows_every_kind() -> None:
    assert ref.LEAF_KINDS == set(L.KINDS)
    assert set(ref.FUNCTIONS) == set(L.ACTIVATIONS)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(("n", "kernel", "stride", "padding"), [
    (5, 3, 2, 1), (4, 3, 2, 1), (5, 3, 3, 1), (6, 2, 2, 1), (7, 3, 1, 0), (2, 3, 4, 0),
    (8, 4, 3, 2), (5, 1, 2, 0)])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_by_hand_is_torch_pooling(mode: str, n: int, kernel: int, stride: int,
                                       padding: int, ceil_mode: bool) -> None:
    """The reference's own pooling (used for asymmetric padding) is torch's on the cases
    torch can do, both axes (rectangular input), ceil_mode's rules included."""
    x = torch.randn(2, 3, n, n + 1)
    try:
        native = (torch.nn.functional.max_pool2d if mode == "max"
                  else torch.nn.functional.avg_pool2d)(x, kernel, stride, padding,
                                                       ceil_mode=ceil_mode)
    except RuntimeError:  # torch refuses it: the reference must too
        with pytest.raises(ref.SpecError):
            ref.pool_by_hand(x, mode, (kernel, kernel), (stride, stride), (padding,) * 4,
                             ceil_mode)
        return
    mine = ref.pool_by_hand(x, mode, (kernel, kernel), (stride, stride), (padding,) * 4,
                            ceil_mode)
    assert mine.shape == native.shape
    assert torch.allclose(mine, native, atol=1e-6)


# --------------------------------------------------------------------------- random specs

def _size(draw: st.DrawFn, low: int, high: int) -> int | list[int]:
    if draw(st.booleans()):
        return draw(st.integers(low, high))
    return [draw(st.integers(low, high)), draw(st.integers(low, high))]


def _padding(draw: st.DrawFn) -> object:
    form = draw(st.sampled_from(["same", "same", "valid", "int", "pair", "four", "four"]))
    if form in ("same", "valid"):
        return form
    values = [draw(st.integers(0, 2)) for _ in range({"int": 1, "pair": 2, "four": 4}[form])]
    return values[0] if form == "int" else values


def _activation(draw: st.DrawFn) -> str | None:
    return draw(st.one_of(st.none(), st.sampled_from(L.ACTIVATIONS)))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _leaf(draw: st.DrawFn, shape: tuple[int, ...]) -> object:
    """One layer, written in one of the spec's forms; it fits `shape` most of the time."""
    c = shape[-1]
    if len(shape) == 1:
        kind = draw(st.sampled_from(["dense", "dense", "short_dense", "activation", "relu",
                                     "batchnorm", "dropout", "flatten", "softmax",
                                     "layernorm", "layer_scale", "stochastic_depth"]))
    else:
        kind = draw(st.sampled_from([
            "conv", "conv", "short_conv", "long_conv", "depthwise", "depthwise", "separable",
            "separable",
            "pool", "maxpool", "avgpool", "adaptive_pool", "global_pool", "pad", "pad",
            "activation", "batchnorm", "dropout", "se", "relu6", "softmax", "conv_transpose",
            "short_conv_transpose", "upsample", "upsample", "layernorm", "layer_scale",
            "stochastic_depth", "chunk", "channel_shuffle", "crop", "channel_dense",
            "short_channel_dense"]))
    if kind == "chunk":
        chunks = draw(st.integers(2, 4))
        index = draw(st.integers(0, chunks - 1))
        return draw(st.sampled_from([{"chunk": [chunks, index]},
                                     {"chunk": {"chunks": chunks, "index": index}}]))
    if kind == "channel_shuffle":
        return {"channel_shuffle": draw(st.sampled_from([d for d in _divisors(c) if d > 1]
                                                        or [2]))}
    if kind == "dense":
        return {"dense": {"units": draw(st.integers(1, 6)), "bias": draw(st.booleans()),
                          "activation": _activation(draw)}}
    if kind == "short_dense":
        return {"dense": draw(st.integers(1, 6))}
    if kind == "channel_dense":
        return {"channel_dense": {"units": draw(st.integers(1, 6)), "bias": draw(st.booleans()),
                                  "activation": _activation(draw)}}
    if kind == "short_channel_dense":
        return {"channel_dense": draw(st.integers(1, 6))}
    window = {"kernel": _size(draw, 1, 3), "stride": _size(draw, 1, 3),
              "padding": _padding(draw)}
    if draw(st.integers(0, 2)) == 0:
        window["dilation"] = _size(draw, 1, 2)
    if kind in ("conv", "long_conv"):
        groups = draw(st.sampled_from(_divisors(c)))
        fields = {"filters": groups * draw(st.integers(1, 2)), **window, "groups": groups,
                  "bias": draw(st.booleans()), "activation": _activation(draw)}
        return {"kind": "conv", **fields} if kind == "long_conv" else {"conv": fields}
    if kind == "short_conv":
        return {"conv": [draw(st.integers(1, 4)), draw(st.integers(1, 3)),
                         draw(st.integers(1, 2)), draw(st.integers(0, 1))]}
    if kind == "conv_transpose":
        groups = draw(st.sampled_from(_divisors(c)))
        stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        return {"conv_transpose": {
            "filters": groups * draw(st.integers(1, 2)), "kernel": _size(draw, 1, 4),
            "stride": stride, "padding": _size(draw, 0, 2), "dilation": dilation,
            "output_padding": draw(st.integers(0, max(stride, dilation) - 1)),
            "groups": groups, "bias": draw(st.booleans()), "activation": _activation(draw)}}
    if kind == "short_conv_transpose":
        return {"conv_transpose": [draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                                   draw(st.integers(1, 3)), draw(st.integers(0, 1))]}
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        form = draw(st.sampled_from(["short", "factor", "size"]))
        if form == "short":
            return {"upsample": _size(draw, 1, 3)}
        if form == "factor":
            return {"upsample": {"factor": _size(draw, 1, 3), "mode": mode}}
        return {"upsample": {"size": [draw(st.integers(1, 12)), draw(st.integers(1, 12))],
                             "mode": mode}}
    if kind == "depthwise":
        return {"depthwise": {**window, "multiplier": draw(st.integers(1, 2)),
                              "bias": draw(st.booleans()), "activation": _activation(draw)}}
    if kind == "separable":
        return {"separable": {"filters": draw(st.integers(1, 4)), **window,
                              "multiplier": draw(st.integers(1, 3)),
                              "bias": draw(st.booleans()), "activation": _activation(draw)}}
    if kind in ("pool", "maxpool", "avgpool"):
        kh, kw = draw(st.integers(1, min(3, shape[0]))), draw(st.integers(1, min(3, shape[1])))
        mode = {"maxpool": "max", "avgpool": "avg"}.get(kind) or \
            draw(st.sampled_from(["max", "avg"]))
        ceil_mode = draw(st.booleans())
        form = draw(st.sampled_from(["same", "valid", "int", "pair", "four", "four"]))
        padding: object = form
        if form == "int":
            padding = draw(st.integers(0, min(kh, kw) // 2))
        elif form == "pair":
            padding = [draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))]
        elif form == "four":
            padding = [draw(st.integers(0, kh // 2)) for _ in range(2)] + \
                [draw(st.integers(0, kw // 2)) for _ in range(2)]
        fields = {"kernel": [kh, kw], "padding": padding, "ceil_mode": ceil_mode}
        if draw(st.booleans()):
            fields["stride"] = _size(draw, 1, 3)
        if kind == "pool":
            fields["mode"] = mode
        return {kind: fields}
    if kind == "adaptive_pool":  # larger than the input too: torch enlarges
        size = [draw(st.integers(1, shape[0] + 3)), draw(st.integers(1, shape[1] + 3))]
        return {"adaptive_pool": {"size": size, "mode": draw(st.sampled_from(["max", "avg"]))}}
    if kind == "layernorm":
        return {"layernorm": {"affine": draw(st.booleans()),
                              "eps": draw(st.sampled_from([1e-6, 1e-5]))}}
    if kind == "layer_scale":
        return draw(st.sampled_from(["layer_scale", {"layer_scale": 0.5}]))
    if kind == "stochastic_depth":
        return {"stochastic_depth": {"rate": draw(st.sampled_from([0, 0.1, 1])),
                                     "mode": draw(st.sampled_from(["row", "batch"]))}}
    if kind == "global_pool":
        return {"global_pool": {"mode": draw(st.sampled_from(["max", "avg"])),
                                "keepdims": draw(st.booleans())}}
    if kind == "pad":
        mode = draw(st.sampled_from(["zeros", "replicate", "reflect"]))
        limit = max(0, min(2, shape[0] - 1, shape[1] - 1)) if mode == "reflect" else 2
        count = draw(st.sampled_from([1, 2, 4, 4]))
        values = [draw(st.integers(0, limit)) for _ in range(count)]
        return {"pad": {"padding": values[0] if count == 1 else values, "mode": mode}}
    if kind == "crop":  # in each of pad's forms; too much is refused and redrawn
        count = draw(st.sampled_from([1, 2, 4]))
        values = [draw(st.integers(0, 2)) for _ in range(count)]
        amount = values[0] if count == 1 else values
        return draw(st.sampled_from([{"crop": amount}, {"crop": {"amount": amount}}]))
    if kind == "activation":
        function = draw(st.sampled_from(L.ACTIVATIONS))
        fields: dict = {"function": function}
        if function == "leaky_relu" and draw(st.booleans()):
            fields["negative_slope"] = draw(st.sampled_from([0.2, 1.5, -0.5]))
        if function == "gelu" and draw(st.booleans()):
            fields["approximate"] = draw(st.sampled_from(["none", "tanh"]))
        return {"activation": fields}
    if kind == "batchnorm":
        return {"batchnorm": {"affine": draw(st.booleans())}}
    if kind == "dropout":
        return {"dropout": 0.25}
    if kind == "se":
        return {"se": {"squeeze": draw(st.integers(1, 4)),
                       "activation": draw(st.sampled_from(L.ACTIVATIONS)),
                       "gate": draw(st.sampled_from(["sigmoid", "hardsigmoid"]))}}
    return kind  # flatten, relu, relu6, softmax: a bare kind


def _container(draw: st.DrawFn, shape: tuple[int, ...]) -> dict:
    c = shape[-1]
    if len(shape) == 1:
        if draw(st.booleans()):
            return {"residual": {"body": [{"dense": c}, "batchnorm"],
                                 "activation": _activation(draw)}}
        return {"parallel": {"merge": "concat",
                             "branches": [[{"dense": draw(st.integers(1, 4))}], []]}}
    kind = draw(st.sampled_from(["residual", "residual", "parallel", "parallel", "seq",
                                 "repeat", "frozen", "split", "split", "split"]))
    stride = draw(st.sampled_from([1, 1, 2]))
    if kind == "split":  # ShuffleNetV2's unit: half the channels pass, half go through a conv
        count = draw(st.integers(2, max(2, min(3, c))))
        cuts = sorted(draw(st.lists(st.integers(1, max(1, c - 1)), min_size=count - 1,
                                    max_size=count - 1, unique=True))) if c > count else []
        split: object = count if not cuts or draw(st.booleans()) else \
            [b - a for a, b in zip([0, *cuts], [*cuts, c], strict=True)]
        branches = [[] if draw(st.booleans()) else
                    [{"conv": {"filters": draw(st.integers(1, 3)), "kernel": 1}}]
                    for _ in range(count)]
        return {"parallel": {"split": split, "branches": branches}}
    if kind == "residual":
        filters = c if stride == 1 and draw(st.booleans()) else draw(st.integers(1, 4))
        body: list = [{"conv": {"filters": filters, "kernel": _size(draw, 1, 3),
                                "stride": stride, "padding": "same",
                                "dilation": draw(st.sampled_from([1, 1, 2]))}}, "batchnorm"]
        if draw(st.booleans()):
            body.append({"se": {"squeeze": draw(st.integers(1, 3))}})
        entry: dict = {"body": body, "activation": _activation(draw)}
        if stride != 1 or filters != c:
            entry["shortcut"] = [{"conv": {"filters": filters, "kernel": 1, "stride": stride}},
                                 {"batchnorm": {"affine": draw(st.booleans())}}]
        elif draw(st.booleans()):
            entry["add"] = False
        return {"residual": entry}
    if kind == "parallel":
        merge = draw(st.sampled_from(["concat", "add"]))
        width = draw(st.integers(1, 4))
        branches: list = []
        for _ in range(draw(st.integers(2, 3))):
            choice = draw(st.sampled_from(["conv", "pool", "identity", "sep"]))
            filters = width if merge == "add" else draw(st.integers(1, 4))
            if choice == "pool" and (merge == "concat" or width == c):
                branches.append([{"maxpool": {"kernel": 3, "stride": stride,
                                              "padding": "same"}}])
            elif choice == "identity" and stride == 1 and (merge == "concat" or width == c):
                branches.append([])
            elif choice == "sep":
                branches.append([{"separable": {"filters": filters, "kernel": 3,
                                                "stride": stride, "padding": "same"}}])
            else:
                branches.append([{"conv": {"filters": filters, "kernel": _size(draw, 1, 4),
                                           "stride": stride, "padding": "same"}}])
        return {"parallel": {"merge": merge, "branches": branches,
                             "activation": _activation(draw)}}
    if kind == "seq":
        return {"seq": [_leaf(draw, shape), _leaf(draw, shape)]}
    if kind == "repeat":
        return {"conv": {"filters": c, "kernel": 3, "padding": "same"},
                "repeat": draw(st.integers(1, 3))}
    return {"seq": [{"conv": {"filters": draw(st.integers(1, 4)), "kernel": 1}}, "batchnorm"],
            "trainable": False}


def _text(input_shape: tuple[int, ...], layers: list) -> str:
    """The spec's YAML. The input is written in each of its forms: a number for a vector,
    `HxWxC` text for odd heights, `[H, W, C]` otherwise."""
    shape: object = input_shape[0] if len(input_shape) == 1 else \
        "x".join(map(str, input_shape)) if input_shape[0] % 2 else list(input_shape)
    return yaml.safe_dump({"name": "random", "input": shape, "layers": layers},
                          sort_keys=False)


@st.composite
def random_specs(draw: st.DrawFn) -> tuple[str, int]:
    """(YAML text, batch): layers drawn one by one, each kept only if the reference builds it
    (so the reference, not the engine, steers the shapes)."""
    if draw(st.integers(0, 7)) == 0:
        shape: tuple[int, ...] = (draw(st.integers(1, 6)),)
    else:
        shape = (draw(st.integers(2, 9)), draw(st.integers(2, 9)), draw(st.integers(1, 4)))
    input_shape = shape
    layers: list = []
    named: dict[str, tuple[int, ...]] = {"input": input_shape}  # taps' targets: their shapes

    def add(*candidates: object) -> None:
        nonlocal shape
        try:
            model = ref.build(_text(input_shape, [*layers, *candidates]))
        except (ValueError, RuntimeError):
            return
        layers.extend(candidates)
        shape = model.output_shape
        last = candidates[-1]
        if isinstance(last, dict) and "name" in last:
            named[last["name"]] = shape

    def named_entry(entry: object) -> object:
        """Half the layers get a name, which later taps may read."""
        if not draw(st.booleans()):
            return entry
        entry = {entry: None} if isinstance(entry, str) else dict(entry)  # type: ignore
        return {**entry, "name": f"t{len(layers)}"}

    for _ in range(draw(st.integers(1, 6))):
        graph = draw(st.integers(0, 5))
        if graph == 0:  # a tap: a layer on an earlier row's output
            source = draw(st.sampled_from(sorted(named)))
            leaf = _leaf(draw, named[source])
            leaf = {leaf: None} if isinstance(leaf, str) else leaf
            add(named_entry({**leaf, "from": source}))  # type: ignore[dict-item]
        elif graph == 1:  # add or concat of earlier rows
            a, b = draw(st.sampled_from(sorted(named))), draw(st.sampled_from(sorted(named)))
            kind = "add" if named[a] == named[b] and draw(st.booleans()) else "concat"
            add({kind: None, "from": [a, b], "name": f"t{len(layers)}"})
        elif graph == 2:  # an auxiliary head, then the main path again with from:
            source = draw(st.sampled_from(sorted(named)))
            head = ["flatten" if len(named[source]) == 3 else "relu",
                    {"dense": draw(st.integers(1, 4))}]
            main = draw(st.sampled_from(sorted(named)))
            leaf = _leaf(draw, named[main])
            leaf = {leaf: None} if isinstance(leaf, str) else leaf
            add({"seq": head, "from": source, "training_only": True},
                {**leaf, "from": main, "name": f"t{len(layers) + 1}"})  # type: ignore
        else:
            add(named_entry(_container(draw, shape) if draw(st.integers(0, 3)) == 0
                            else _leaf(draw, shape)))
    if len(shape) == 3 and draw(st.booleans()):  # a head: to a vector, then vector layers
        add(draw(st.sampled_from(["flatten", {"global_pool": draw(st.sampled_from(
            ["max", "avg"]))}])))
        for _ in range(draw(st.integers(0, 2))):
            add(_container(draw, shape) if draw(st.integers(0, 3)) == 0 else _leaf(draw, shape))
    if not layers:
        layers = ["flatten"]
    return _text(input_shape, layers), draw(st.sampled_from([1, 2]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_specs())
def test_random_spec_against_reference(case: tuple[str, int]) -> None:
    text, batch = case
    check(text, batch=batch, seed=len(text))
