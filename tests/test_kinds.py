"""Every layer kind is complete: each rule defined on its class, a summary, a bundled spec using
it (its torch builder: tests/test_torch_backend.py; its conventions row: tests/test_rules.py; its
memory rule, `ops`, against torch: tests/test_memory_torch.py)."""

from __future__ import annotations

import os

import pytest

import cnncalc
from cnncalc.core.layers import KINDS, MERGES, Layer, Merge
from cnncalc.core.validate import FORMS

#: The parts a leaf kind must define itself (the base class refuses each one).
LEAF_RULES = ("output_shape", "cost", "window", "explain", "ops")
#: The parts a merge must define itself.
MERGE_RULES = ("combine", "merge_cost", "explain_merge", "merge_ops")


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_has_all_of_its_parts(name: str) -> None:
    """A kind = its class with every rule, a summary, and fields its short forms can fill."""
    entry = KINDS[name]
    model = entry.model
    assert issubclass(model, Layer) and not issubclass(model, Merge), name
    assert entry.summary, f"{name} has no summary"
    missing = [rule for rule in LEAF_RULES if getattr(model, rule) is getattr(Layer, rule)]
    assert not missing, f"{name} ({model.__name__}) does not define {missing}"
    for field in dict(entry.fixed):
        assert field in model.model_fields, (name, field)
    for field in model.positional:
        assert field in model.model_fields, (name, field)
    if model.width_field is not None:
        assert model.width_field in model.model_fields, (name, model.width_field)
    for field in model.model_fields:
        annotation = str(model.model_fields[field].annotation)
        if "Literal" in annotation or "tuple" in annotation:  # unions the messages describe
            assert field in FORMS or field in ("mode", "gate"), (name, field)


@pytest.mark.parametrize("name", sorted(MERGES))
def test_every_merge_has_all_of_its_parts(name: str) -> None:
    merge = MERGES[name]()
    assert merge.kind == name
    missing = [rule for rule in MERGE_RULES if getattr(type(merge), rule) is getattr(Merge, rule)]
    assert not missing, f"{name} does not define {missing}"
    assert merge.refusal


def test_a_kind_without_a_rule_fails_loudly() -> None:
    """The base class never answers for a kind: a forgotten rule raises, never counts 0."""

    class Forgetful(Layer):
        kind = "forgetful"

    layer = Forgetful()
    for rule, args in (("output_shape", ((4, 4, 3),)), ("cost", ((4, 4, 3), (4, 4, 3))),
                       ("window", ((4, 4, 3),)), ("explain", ((4, 4, 3), (4, 4, 3))),
                       ("ops", ((4, 4, 3), (4, 4, 3), True))):
        with pytest.raises(NotImplementedError):
            getattr(layer, rule)(*args)


def test_every_kind_appears_in_a_bundled_spec():
    used: set[str] = set()
    for name in cnncalc.bundled():
        report = cnncalc.analyze(cnncalc.load(name))
        used |= {node.kind for node in report.walk()}
    assert set(KINDS) - used == set()
    tour = list(cnncalc.analyze(cnncalc.load("tour")).walk())
    assert {"add", "concat"} <= {node.kind for node in tour}
    assert {"residual", "parallel", "repeat"} <= {node.container for node in tour} | {
        node.container for node in cnncalc.analyze(cnncalc.load("resnet18")).walk()}


def test_tour_by_hand():
    rows = {n.path: n for n in cnncalc.analyze(cnncalc.load("tour")).walk()}
    # replicate pad 37 -> 37+1+2 = 40; "same", f=4, s=2: ceil(40/2) = 20
    assert rows["pad1"].output_shape == (40, 40, 3)
    assert rows["stem"].output_shape == (20, 20, 16)
    assert rows["stem"].params == 4 * 4 * 3 * 16 + 16
    # reflect pad 1 -> 22; depthwise f=3 d=2 (span 5), multiplier 2: 22 - 5 + 1 = 18, 32 ch
    assert rows["depthwise1"].output_shape == (18, 18, 32)
    assert rows["depthwise1"].params == 3 * 3 * 32 + 32
    # groups 4: 3*3*(32/4)*32 + 32
    assert rows["conv1"].params == 3 * 3 * 8 * 32 + 32
    # ceil mode: ceil((18 - 3) / 2) + 1 = 9
    assert rows["pool1"].output_shape == (9, 9, 32)
    # separable "same" stride 2 on 9: ceil(9/2) = 5; dw 3*3*32 + pw 32*48 (no bias)
    assert rows["unit1.separable1"].output_shape == (5, 5, 48)
    assert rows["unit1.separable1"].params == 3 * 3 * 32 + 32 * 48
    assert rows["unit1.shortcut.conv1"].params == 32 * 48
    assert "unit2.shortcut" not in rows  # identity: same stride and width
    # se: 48 -> 12 -> 48 with biases
    assert rows["se1"].params == 48 * 12 + 12 + 12 * 48 + 48
    # concat of 16 + 16 + the identity's 48
    assert rows["mix"].output_shape == (5, 5, 80)
    # adaptive 5 -> 3 by the lecture's rule: s = 1, f = 3
    assert rows["adaptive_pool1"].output_shape == (3, 3, 80)
    assert rows["dense2"].params == 64 * 10 + 10


def test_the_new_kind_example_of_developing_md_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/DEVELOPING.md's `pixel_shuffle` is everything a kind needs: run as written, it has
    all its parts, counts (4x4x8, factor 2 -> 8x8x2, no params) and builds in torch."""
    import re
    from pathlib import Path

    from cnncalc.core import layers

    doc = (Path(__file__).resolve().parent.parent / "docs" / "DEVELOPING.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace = dict(vars(layers))
    exec(code, namespace)  # noqa: S102 - our own documentation
    model = namespace["PixelShuffle"]
    monkeypatch.setitem(KINDS, "pixel_shuffle",
                        layers.KindEntry(model, summary="sub-pixel upsampling"))
    test_every_kind_has_all_of_its_parts("pixel_shuffle")
    report = cnncalc.analyze(cnncalc.load_text(
        "name: up\ninput: 4x4x8\nlayers:\n  - pixel_shuffle: 2\n"))
    (node,) = report.leaves()
    assert (node.output_shape, node.params, node.macs) == ((8, 8, 2), 0, 0)
    with pytest.raises(cnncalc.CnnCalcError, match="divisible by 4"):
        cnncalc.analyze(cnncalc.load_text(
            "name: up\ninput: 4x4x6\nlayers:\n  - pixel_shuffle: 2\n"))
    if os.environ.get("CI"):
        import torch  # CI installs torch: there a missing torch fails, never skips
    else:
        torch = pytest.importorskip("torch")
    from cnncalc import torch as ct

    builder = eval(re.search(r"L\.PixelShuffle: (lambda .*)", code).group(1),  # noqa: S307
                   {"nn": torch.nn})
    monkeypatch.setitem(ct.BUILDERS, model, builder)
    out = ct.build(report)(torch.randn(1, 8, 4, 4))
    assert tuple(out.shape) == (1, 2, 8, 8)
