"""Differential tests: on random valid specs, the engine and torch agree on everything.

Hypothesis writes spec YAML (every leaf kind, every padding form including "same" with even
kernels and strides, dilation, groups, ceil_mode, adaptive (enlarging too) and global pooling,
layer norm, layer scale, stochastic depth, residual with and without projection, parallel
concat and add, se, blocks used with repeat and `i`), loads it
with `cnncalc.load_text`, builds it with `cnncalc.torch.build` and runs one forward pass. The
truth is torch's: output shapes from forward hooks, params from `p.numel()`, MACs from
`FlopCounterMode` halved, measured here (not through cnncalc.analyses.verify). Torch's own
output-size arithmetic produces the shapes; for "same" padding the test also checks the convention
`ceil(n / s)` outputs, and for adaptive pooling the target size, since those paddings and
windows are computed by cnncalc before torch sees them.
"""

from __future__ import annotations

import math
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
from cnncalc.errors import CnnCalcError  # noqa: E402

pytestmark = pytest.mark.torch

# Blocks every generated spec defines; the generator may use them, with repeat and `i`.
BLOCKS = {
    "unit": {
        "args": {"filters": "channels", "stride": 1},
        "residual": {
            "body": [
                {"conv": {"filters": "$filters", "kernel": 3, "stride": "$stride",
                          "padding": "same", "bias": False}},
                {"batchnorm": {}},
                {"relu": {}},
            ],
            "shortcut": [{"seq": [{"conv": {"filters": "$filters", "kernel": 1,
                                            "stride": "$stride", "bias": False}},
                                  {"batchnorm": {}}],
                          "when": "$(stride != 1 or in_channels != filters)",
                          "name": "proj"}],
            "activation": "relu",
        },
    },
    "mix": {
        "args": {"a": "channels", "b": "channels"},
        "parallel": {
            "merge": "concat",
            "branches": [
                [{"conv": {"filters": "$a", "kernel": 1}}],
                [{"conv": {"filters": "$b", "kernel": 2, "padding": "same"}}, {"relu": {}}],
                [{"maxpool": {"kernel": 3, "stride": 1, "padding": 1}}],
            ],
        },
    },
    "plain": {
        "args": {"filters": "channels"},
        "layers": [{"conv": {"filters": "$filters", "kernel": 3, "padding": 1}},
                   {"hardswish": {}}],
    },
}

ACTIVATION = st.sampled_from(L.ACTIVATIONS)
MAYBE_ACTIVATION = st.one_of(st.none(), ACTIVATION)


def _pair(draw: st.DrawFn, low: int, high: int) -> int | list[int]:
    if draw(st.booleans()):
        return draw(st.integers(low, high))
    return [draw(st.integers(low, high)), draw(st.integers(low, high))]


def _padding(draw: st.DrawFn, limit: int = 2) -> object:
    form = draw(st.sampled_from(["same", "same", "valid", "int", "pair", "four"]))
    if form in ("same", "valid"):
        return form
    if form == "int":
        return draw(st.integers(0, limit))
    if form == "pair":
        return [draw(st.integers(0, limit)) for _ in range(2)]
    return [draw(st.integers(0, limit)) for _ in range(4)]


def _window_fields(draw: st.DrawFn, shape: tuple[int, ...]) -> dict:
    h, w = shape[0], shape[1]
    kernel = _pair(draw, 1, min(4, max(h, w)))
    fields = {"kernel": kernel, "stride": _pair(draw, 1, 3), "padding": _padding(draw)}
    if draw(st.integers(0, 3)) == 0:
        fields["dilation"] = _pair(draw, 1, 2)
    return fields


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


#: The kinds drawn on a vector and on a feature map (repeats weigh the draw); every model of
#: `layers.KINDS` must be reachable (test_every_kind_is_drawn), so a new kind cannot be missed.
VECTOR_KINDS = ("dense", "dense", "activation", "batchnorm", "dropout", "flatten", "relu",
                "layernorm", "layer_scale", "stochastic_depth")
MAP_KINDS = ("conv", "conv", "conv", "depthwise", "depthwise", "separable", "pool", "maxpool",
             "avgpool", "pad", "adaptive_pool", "global_pool", "pad", "flatten", "activation",
             "batchnorm", "dropout", "se", "relu6", "silu", "conv_transpose", "upsample",
             "upsample", "layernorm", "layer_scale", "stochastic_depth", "gelu", "chunk",
             "channel_shuffle", "crop", "channel_dense")


def test_every_kind_is_drawn() -> None:
    drawn = {L.KINDS[name].model for name in (*VECTOR_KINDS, *MAP_KINDS)}
    assert {e.model.__name__ for e in L.KINDS.values() if e.model not in drawn} == set()


def _leaf(draw: st.DrawFn, shape: tuple[int, ...]) -> dict | str:
    """One layer that fits a feature map (H, W, C) or a vector (N,) most of the time."""
    if len(shape) == 1:
        kind = draw(st.sampled_from(VECTOR_KINDS))
        if kind == "dense":
            return {"dense": {"units": draw(st.integers(1, 8)), "bias": draw(st.booleans()),
                              "activation": draw(MAYBE_ACTIVATION)}}
    else:
        kind = draw(st.sampled_from(MAP_KINDS))
    c = shape[-1]
    if kind == "conv":
        groups = draw(st.sampled_from(_divisors(c)))
        return {"conv": {"filters": groups * draw(st.integers(1, 3)), "groups": groups,
                         "bias": draw(st.booleans()), "activation": draw(MAYBE_ACTIVATION),
                         **_window_fields(draw, shape)}}
    if kind == "depthwise":
        return {"depthwise": {"multiplier": draw(st.integers(1, 2)),
                              "bias": draw(st.booleans()),
                              "activation": draw(MAYBE_ACTIVATION),
                              **_window_fields(draw, shape)}}
    if kind == "separable":
        return {"separable": {"filters": draw(st.integers(1, 6)),
                              "multiplier": draw(st.integers(1, 2)),
                              "bias": draw(st.booleans()),
                              "activation": draw(MAYBE_ACTIVATION),
                              **_window_fields(draw, shape)}}
    if kind in ("pool", "maxpool", "avgpool"):
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        form = draw(st.sampled_from(["same", "valid", "int", "four"]))
        padding: object = form
        if form == "int":
            padding = draw(st.integers(0, min(kh, kw) // 2))
        elif form == "four":
            padding = [draw(st.integers(0, kh // 2)), draw(st.integers(0, kh // 2)),
                       draw(st.integers(0, kw // 2)), draw(st.integers(0, kw // 2))]
        fields = {"kernel": [kh, kw], "padding": padding, "ceil_mode": draw(st.booleans())}
        if draw(st.booleans()):
            fields["stride"] = _pair(draw, 1, 3)
        if kind == "pool":
            fields["mode"] = draw(st.sampled_from(["max", "avg"]))
        return {kind: fields}
    if kind == "adaptive_pool":  # larger than the input too: torch enlarges
        size = [draw(st.integers(1, shape[0] + 3)), draw(st.integers(1, shape[1] + 3))]
        return {"adaptive_pool": {"size": size, "mode": draw(st.sampled_from(["max", "avg"]))}}
    if kind == "layernorm":
        return {"layernorm": {"affine": draw(st.booleans()),
                              "eps": draw(st.sampled_from([1e-6, 1e-5]))}}
    if kind == "layer_scale":
        return {"layer_scale": draw(st.sampled_from([1e-6, 0.5]))}
    if kind == "channel_dense":
        return {"channel_dense": {"units": draw(st.integers(1, 8)), "bias": draw(st.booleans()),
                                  "activation": draw(MAYBE_ACTIVATION)}}
    if kind == "stochastic_depth":
        return {"stochastic_depth": {"rate": draw(st.sampled_from([0, 0.1, 1])),
                                     "mode": draw(st.sampled_from(["row", "batch"]))}}
    if kind == "global_pool":
        return {"global_pool": {"mode": draw(st.sampled_from(["max", "avg"])),
                                "keepdims": draw(st.booleans())}}
    if kind == "crop":  # leaves at least one row and column, most of the time
        h, w = shape[0], shape[1]
        cuts = [draw(st.integers(0, max(0, (n - 1) // 2))) for n in (h, h, w, w)]
        form = draw(st.sampled_from(["int", "four"]))
        return {"crop": min(cuts) if form == "int" else cuts}
    if kind == "pad":
        mode = draw(st.sampled_from(["zeros", "replicate", "reflect"]))
        limit = min(shape[0], shape[1]) - 1 if mode == "reflect" else 2
        limit = max(0, min(limit, 2))
        form = draw(st.sampled_from(["int", "pair", "four"]))
        count = {"int": 1, "pair": 2, "four": 4}[form]
        values = [draw(st.integers(0, limit)) for _ in range(count)]
        return {"pad": {"padding": values[0] if count == 1 else values, "mode": mode}}
    if kind == "conv_transpose":
        groups = draw(st.sampled_from(_divisors(c)))
        stride, dilation = _pair(draw, 1, 3), _pair(draw, 1, 2)
        limit = [max(s, d) - 1 for s, d in zip(*(([v, v] if isinstance(v, int) else v)
                                                for v in (stride, dilation)), strict=True)]
        return {"conv_transpose": {
            "filters": groups * draw(st.integers(1, 3)), "groups": groups,
            "kernel": _pair(draw, 1, 4), "stride": stride, "dilation": dilation,
            "padding": _pair(draw, 0, 2),
            "output_padding": [draw(st.integers(0, limit[0])), draw(st.integers(0, limit[1]))],
            "bias": draw(st.booleans()), "activation": draw(MAYBE_ACTIVATION)}}
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        if draw(st.booleans()):
            return {"upsample": {"factor": _pair(draw, 1, 3), "mode": mode}}
        return {"upsample": {"size": [draw(st.integers(1, 14)), draw(st.integers(1, 14))],
                             "mode": mode}}
    if kind == "activation":
        function = draw(ACTIVATION)
        fields: dict = {"function": function}
        if function == "leaky_relu" and draw(st.booleans()):
            fields["negative_slope"] = 0.2
        if function == "gelu" and draw(st.booleans()):
            fields["approximate"] = "tanh"
        return {"activation": fields}
    if kind == "batchnorm":
        return {"batchnorm": {"affine": draw(st.booleans())}}
    if kind == "dropout":
        return {"dropout": 0.25}
    if kind == "se":
        return {"se": {"squeeze": draw(st.integers(1, 4)), "activation": draw(ACTIVATION),
                       "gate": draw(st.sampled_from(["sigmoid", "hardsigmoid"]))}}
    if kind == "chunk":
        return {"chunk": [draw(st.integers(2, 3)), draw(st.integers(0, 1))]}
    if kind == "channel_shuffle":
        return {"channel_shuffle": draw(st.sampled_from([d for d in _divisors(c) if d > 1]
                                                        or [2]))}
    return kind  # flatten, relu, relu6, silu: a kind with no fields


def _graph(draw: st.DrawFn, named: dict[str, tuple[int, ...]], index: int) -> list:
    """Entries that use the graph syntax: a tap from an earlier row (or the input), an add or
    concat of two earlier rows, an auxiliary head (training only) and the main path again."""
    source = draw(st.sampled_from(sorted(named)))
    choice = draw(st.sampled_from(["tap", "join", "aux"]))
    if choice == "tap":
        leaf = _leaf(draw, named[source])
        leaf = {leaf: None} if isinstance(leaf, str) else leaf
        return [{**leaf, "from": source, "name": f"g{index}"}]
    if choice == "join":
        other = draw(st.sampled_from(sorted(named)))
        kind = "add" if named[source] == named[other] and draw(st.booleans()) else "concat"
        return [{kind: None, "from": [source, other], "name": f"g{index}"}]
    head = ["flatten" if len(named[source]) == 3 else "relu", {"dense": draw(st.integers(1, 4))}]
    main = draw(st.sampled_from(sorted(named)))
    leaf = _leaf(draw, named[main])
    leaf = {leaf: None} if isinstance(leaf, str) else leaf
    return [{"seq": head, "from": source, "training_only": True},
            {**leaf, "from": main, "name": f"g{index}"}]


def _container(draw: st.DrawFn, shape: tuple[int, ...]) -> dict:
    """A residual, parallel, seq or block use that fits `shape` by construction."""
    c = shape[-1]
    if len(shape) == 1:
        units = draw(st.integers(1, 6))
        if draw(st.booleans()):
            return {"residual": {"body": [{"dense": c}, {"batchnorm": {}}],
                                 "activation": draw(MAYBE_ACTIVATION)}}
        return {"parallel": {"merge": "concat",
                             "branches": [[{"dense": units}], [{"dense": c}], []]}}
    kind = draw(st.sampled_from(["residual", "residual", "parallel", "parallel", "seq",
                                 "unit", "mix", "plain"]))
    stride = draw(st.sampled_from([1, 1, 2]))
    if kind == "residual":
        filters = c if stride == 1 and draw(st.booleans()) else draw(st.integers(1, 6))
        body = [{"conv": {"filters": filters, "kernel": draw(st.integers(1, 4)),
                          "stride": stride, "padding": "same",
                          "dilation": draw(st.sampled_from([1, 1, 2]))}},
                {"batchnorm": {}}]
        if draw(st.booleans()):
            body.append({"se": {"squeeze": draw(st.integers(1, 3))}})
        entry: dict = {"body": body, "activation": draw(MAYBE_ACTIVATION)}
        if stride != 1 or filters != c:
            entry["shortcut"] = [{"conv": {"filters": filters, "kernel": 1, "stride": stride}}]
        elif draw(st.booleans()):
            entry["add"] = False
        return {"residual": entry}
    if kind == "parallel":
        merge = draw(st.sampled_from(["concat", "add"]))
        count = draw(st.integers(2, 3))
        width = draw(st.integers(1, 5))
        branches: list = []
        for _ in range(count):
            choice = draw(st.sampled_from(["conv", "pool", "identity", "sep"]))
            filters = width if merge == "add" else draw(st.integers(1, 5))
            if choice == "pool" and (merge == "concat" or width == c):
                branches.append([{"maxpool": {"kernel": 3, "stride": stride,
                                              "padding": "same"}}])
            elif choice == "identity" and stride == 1 and (merge == "concat" or width == c):
                branches.append([])
            elif choice == "sep":
                branches.append([{"separable": {"filters": filters, "kernel": 3,
                                                "stride": stride, "padding": "same"}}])
            else:
                branches.append([{"conv": {"filters": filters,
                                           "kernel": draw(st.integers(1, 4)),
                                           "stride": stride, "padding": "same"}}])
        return {"parallel": {"merge": merge, "branches": branches,
                             "activation": draw(MAYBE_ACTIVATION)}}
    if kind == "seq":
        return {"seq": [_leaf(draw, shape)]}
    if kind == "unit":
        return {"unit": {"filters": draw(st.integers(1, 6)),
                         "stride": "$(2 if i == 0 else 1)" if stride == 2 else 1},
                "repeat": draw(st.integers(1, 2))}
    if kind == "mix":
        return {"mix": {"a": draw(st.integers(1, 4)), "b": draw(st.integers(1, 4))}}
    return {"plain": {"filters": draw(st.integers(1, 4))}, "repeat": draw(st.integers(1, 2))}


def _document(input_shape: tuple[int, ...], layers: list) -> dict:
    return {"name": "random", "input": list(input_shape), "blocks": BLOCKS, "layers": layers}


def _analyze(doc: dict) -> cnncalc.core.report.Report:
    return cnncalc.analyze(cnncalc.load_text(yaml.safe_dump(doc, sort_keys=False), "random"))


@st.composite
def specs(draw: st.DrawFn) -> tuple[str, int]:
    """(YAML text, batch) of a valid random spec. Each drawn layer is kept only if the engine
    accepts it (so that the spec stays valid); the engine's shape steers the next draw."""
    if draw(st.integers(0, 9)) == 0:
        shape: tuple[int, ...] = (draw(st.integers(1, 8)),)
    else:
        shape = (draw(st.integers(3, 11)), draw(st.integers(3, 11)), draw(st.integers(1, 5)))
    input_shape = shape
    layers: list = []
    named: dict[str, tuple[int, ...]] = {"input": input_shape}
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.integers(0, 5))
        candidates = _graph(draw, named, len(layers)) if choice == 0 else \
            [_container(draw, shape) if choice == 1 else _leaf(draw, shape)]
        if choice != 0 and draw(st.booleans()):  # a name, for later taps
            first = candidates[0]
            candidates = [{**({first: None} if isinstance(first, str) else first),
                           "name": f"n{len(layers)}"}]
        try:
            report = _analyze(_document(input_shape, [*layers, *candidates]))
        except CnnCalcError:
            continue
        layers.extend(candidates)
        shape = report.nodes[-1].output_shape
        if isinstance(candidates[-1], dict) and "name" in candidates[-1]:
            named[candidates[-1]["name"]] = shape
    if not layers:
        layers = ["flatten"]
    return yaml.safe_dump(_document(input_shape, layers), sort_keys=False), \
        draw(st.sampled_from([1, 1, 2]))


def torch_counts(module: torch.nn.Module, report: cnncalc.core.report.Report) -> tuple[dict, dict]:
    """Output shape per engine path (forward hooks) and FlopCounterMode counts, from torch."""
    modules = dict(module.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for node in report.walk():
        assert node.path in modules, f"no torch module at {node.path}"

        def hook(_m, _i, out, path=node.path):
            shapes[path] = tuple(out.shape)
        handles.append(modules[node.path].register_forward_hook(hook))
    c_in = report.input_shape
    x_shape = (report.batch, c_in[2], c_in[0], c_in[1]) if len(c_in) == 3 \
        else (report.batch, c_in[0])
    module.eval()
    module._cnncalc_graph.all_rows = True  # training-only rows too, still in eval mode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.randn(x_shape))
    module._cnncalc_graph.all_rows = False
    for handle in handles:
        handle.remove()
    return shapes, counter.get_flop_counts()


def nchw(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    return (batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else (batch, *shape)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs())
def test_engine_equals_torch_on_random_specs(case: tuple[str, int]) -> None:
    text, batch = case
    report = cnncalc.analyze(cnncalc.load_text(text, "random"), batch=batch)
    module = ct.build(report)
    shapes, flops = torch_counts(module, report)
    modules = dict(module.named_modules())
    aux_paths = {n.path for n in report.walk() if n.training_only}
    for node in report.walk():
        torch_module = modules[node.path]
        where = f"{node.path} ({node.kind})\n{text}"
        assert shapes[node.path] == nchw(node.output_shape, batch), where
        assert sum(p.numel() for p in torch_module.parameters()) == node.params, where
        buffers = sum(b.numel() for name, b in torch_module.named_buffers()
                      if not name.endswith("num_batches_tracked"))
        assert buffers == node.buffers, where
        torch_macs = sum(flops.get(f"Network.{node.path}", {}).values())
        aux = 0 if node.training_only else sum(  # training-only rows inside: counted apart
            sum(flops.get(f"Network.{n.path}", {}).values()) for n in node.walk()
            if n is not node and n.training_only and n.path.rpartition(".")[0] not in aux_paths)
        assert torch_macs - aux == 2 * node.macs * batch, where
        layer = node.layer
        # cnncalc computes "same" paddings and adaptive windows before torch sees them, so
        # check those against the convention itself, not only against torch.
        if isinstance(layer, (L._Convolution, L.Pool)) and layer.padding == "same":
            stride = L.pair(layer.stride) if isinstance(layer, L._Convolution) \
                else layer.strides()
            assert node.output_shape[:2] == tuple(
                math.ceil(n / s) for n, s in zip(node.input_shape[:2], stride, strict=True)), where
        if isinstance(layer, L.AdaptivePool):
            assert node.output_shape[:2] == tuple(L.pair(layer.size)), where
    assert sum(p.numel() for p in module.parameters()) == report.totals.params
    assert sum(flops.get("Global", {}).values()) == 2 * (
        report.macs(report.totals) + report.macs(report.training_only))
