"""`--convention NAME` reproduces what each peer tool reports, exactly.

The truth is outside the code: tests/data/peers.json, what torchinfo 1.8.0, fvcore
0.1.5.post20221221, ptflops 0.7.5, thop 0.1.1.post2209072238 and torch's FlopCounterMode
reported when bench/peers.py ran them (docs/peers.md) on
- every bundled spec as `cnncalc.torch.build` makes it (`built=True`), total and per layer;
- the torchvision models written out in bench/peers.py (the spec that is each row for row,
  its `written_as:` saying how torchvision writes what the tools count by form);
- one-operation pieces and small nets, each with the spec that writes it.
No torch needed: the rules are pure functions of the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.analyses import conventions as C
from cnncalc.commands import app
from cnncalc.core.layers import KINDS, MERGES

ROOT = Path(__file__).resolve().parent.parent
PEERS = json.loads((ROOT / "tests" / "data" / "peers.json").read_text())


def _spec_text(layers: str, shape: list[int]) -> str:
    """bench/peers.py's spec of a piece: its layers on torch's (C, H, W) or (N) input."""
    size = "x".join(map(str, (*shape[1:], shape[0]))) if len(shape) == 3 else str(shape[0])
    return f"name: piece\ninput: {size}\nlayers: {layers}\n"


def _report(spec: str):
    if "\n" in spec:
        return cnncalc.analyze(cnncalc.load_text(spec, "piece"))
    return cnncalc.analyze(cnncalc.load(str(ROOT / spec) if spec.endswith(".yaml") else spec))


def _models() -> list[tuple[str, str, dict, bool]]:
    out = []
    for name, entry in PEERS["specs"].items():
        out.append((f"{name} (built)", name, entry["tools"], True))
        if "torchvision" in entry:
            out.append((f"{name} (torchvision)", entry["torchvision"]["spec"],
                        entry["torchvision"]["tools"], False))
    for group in ("pieces", "nets"):
        for name, entry in PEERS[group].items():
            if entry["spec"]:
                out.append((f"{group} {name}", _spec_text(entry["spec"], entry["input"]),
                            entry["tools"], entry["built"]))
    return out


MODELS = _models()


def test_every_bundled_spec_was_measured() -> None:
    assert sorted(PEERS["specs"]) == sorted(cnncalc.bundled())
    torchvision = {n for n, e in PEERS["specs"].items() if "torchvision" in e}
    assert torchvision == {"resnet18", "resnet50", "vgg16", "googlenet", "mobilenet_v2",
                           "efficientnet_b0", "convnext_tiny", "efficientnet_v2_s",
                           "regnet_y_400mf", "shufflenet_v2_x1_0", "inception_v3"}


def test_measured_at_the_pinned_versions() -> None:
    versions = PEERS["versions"]
    assert versions["torch"].startswith("2.13.0")
    assert versions["torchinfo"] == "1.8.0"
    assert versions["fvcore"] == "0.1.5.post20221221"
    assert versions["ptflops"] == "0.7.5"
    assert versions["thop"].replace("-", ".post") == "0.1.1.post2209072238"
    assert PEERS["defaults"] == {"ptflops_backend": "pytorch", "mode": "eval", "batch": 1}
    for tool in C.TOOLS:
        version = {"flopcounter": "torch 2.13"}.get(tool, f"{tool} {PEERS['pinned'].get(tool)}")
        assert version in C.CONVENTIONS[tool].tool


@pytest.mark.parametrize("label,spec,tools,built", MODELS, ids=[m[0] for m in MODELS])
def test_every_measured_total_is_reproduced(label: str, spec: str, tools: dict,
                                            built: bool) -> None:
    report = _report(spec)
    for tool in C.TOOLS:
        measured = tools[tool]
        assert "error" not in measured, (label, tool, measured)
        counted = C.count(report, tool, built=built)
        params = counted.total.params if counted.convention.has_params else None
        assert (counted.number, params) == (measured["number"], measured["params"]), \
            (label, tool)


def test_the_torchvision_totals_are_many() -> None:
    # the claim in the docs: every measured total, the torchvision models' included
    torchvision = [m for m in MODELS if m[0].endswith("(torchvision)")]
    assert len(torchvision) == 11
    assert len([m for m in MODELS if m[0].endswith("(built)")]) == len(cnncalc.bundled())
    assert len([m for m in MODELS if m[0].startswith("pieces")]) >= 99


def _leaf_of(path: str, leaves: set[str]) -> str:
    """The leaf node a measured module path belongs to (a separable's `depthwise`, an se's
    `fc1` are inside their node)."""
    while path and path not in leaves:
        path = path.rpartition(".")[0]
    return path


@pytest.mark.parametrize("name", sorted(PEERS["specs"]))
def test_per_layer_numbers_of_the_built_specs(name: str) -> None:
    """Per layer: what each tool attributes to each module of the built model, summed per
    node, is the rule's number for that node (the paths of a built model are the nodes')."""
    report = cnncalc.analyze(cnncalc.load(name))
    leaves = {n.path: n for n in report.leaves()}
    for tool in C.TOOLS:
        measured = PEERS["specs"][name]["tools"][tool].get("per_layer")
        if measured is None:
            continue
        per_node: dict[str, int] = {}
        for path, value in measured.items():
            node = _leaf_of(path, set(leaves))
            assert node, (name, tool, path)
            per_node[node] = per_node.get(node, 0) + value
        counted = C.count(report, tool, built=True)
        for path in leaves:
            assert counted.nodes[path].number == per_node.get(path, 0), (name, tool, path)


def test_every_kind_and_form_has_a_rule_for_every_tool() -> None:
    classes = {entry.model for entry in KINDS.values()} | set(MERGES.values())
    assert {cls.kind for cls in classes} == set(C.TABLE)
    for cls in classes:
        assert set(C.TABLE[cls.kind]) == set(C.TOOLS), cls.kind


def test_every_form_counts_on_the_tour() -> None:
    """Each form a kind allows gives a number in every convention (no rule is missing)."""
    report = cnncalc.analyze(cnncalc.load("tour"))
    for node in report.leaves():
        for form in node.layer.forms:
            if form == "linear" and not C._pointwise(node):
                continue
            node.written_as = form
            for tool in C.TOOLS:
                assert C.number(tool, node) >= 0


def test_linear_form_needs_a_pointwise_convolution() -> None:
    spec = "name: t\ninput: 8x8x3\nlayers:\n  - conv: [4, 3]\n    written_as: linear\n"
    report = cnncalc.analyze(cnncalc.load_text(spec, "t.yaml"))
    with pytest.raises(cnncalc.CnnCalcError, match="1x1 convolution"):
        C.count(report, "torchinfo")


def test_a_pool_padded_unequally_is_refused_where_it_was_not_measured(runner, tmp_path) -> None:
    spec = tmp_path / "pool.yaml"
    spec.write_text("name: t\ninput: 8x8x3\nlayers:\n  - maxpool: {kernel: 2, stride: 1, "
                    "padding: same}\n")
    refused = runner.invoke(app, ["show", str(spec), "--convention", "ptflops"])
    assert refused.exit_code == 2
    assert "pool.yaml:4: 'maxpool1' (maxpool): a pool padded unequally" in refused.output
    # the tools that do not count a pool's input are unaffected by how it is padded
    assert runner.invoke(app, ["show", str(spec), "--convention", "thop"]).exit_code == 0


def test_command_names_are_the_conventions() -> None:
    from cnncalc.commands.base import CONVENTION_NAMES

    assert CONVENTION_NAMES == C.NAMES
    assert [topic for topic, cells in C.TOPICS if set(cells) != set(C.NAMES)] == []


# --------------------------------------------------------------------------- the commands

def _json(runner, *args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("tool", C.TOOLS)
def test_show_reports_the_torchvision_model_numbers(runner, tool: str) -> None:
    measured = PEERS["specs"]["resnet50"]["torchvision"]["tools"][tool]
    doc = _json(runner, "show", "resnet50", "--convention", tool, "-f", "json")
    assert doc["convention"]["name"] == tool
    assert doc["totals"]["convention"]["number"] == measured["number"]
    assert doc["totals"]["convention"]["params"] == measured["params"]
    assert doc["totals"]["macs"] == 4_089_184_256  # cnncalc's own numbers stay
    assert sum(layer["convention"]["number"] for layer in doc["layers"]) == measured["number"]


def test_show_table_puts_the_tools_numbers_in_view(runner) -> None:
    measured = PEERS["specs"]["googlenet"]["torchvision"]["tools"]["ptflops"]
    result = runner.invoke(app, ["show", "googlenet", "--convention", "ptflops", "--levels", "0"])
    assert result.exit_code == 0, result.output
    assert "ptflops MACs" in result.output and "ptflops params" in result.output
    total = next(line for line in result.output.splitlines() if line.strip().startswith("total"))
    assert f"{measured['number']:,}" in total
    assert "Counted as ptflops counts" in result.output


def test_ptflops_reports_one_example_whatever_the_batch(runner) -> None:
    one = _json(runner, "show", "resnet18", "--convention", "ptflops", "-f", "json")
    eight = _json(runner, "show", "resnet18", "--convention", "ptflops", "-f", "json",
                  "--batch", "8")
    assert eight["totals"]["convention"]["number"] == one["totals"]["convention"]["number"]
    thop = _json(runner, "show", "resnet18", "--convention", "thop", "-f", "json", "-b", "8")
    assert thop["totals"]["convention"]["number"] == 8 * PEERS["specs"]["resnet18"][
        "torchvision"]["tools"]["thop"]["number"]


def test_flopcounter_has_no_params_and_counts_flops(runner) -> None:
    doc = _json(runner, "show", "vgg16", "--convention", "flopcounter", "-f", "json")
    counted = doc["totals"]["convention"]
    assert counted["params"] is None
    assert counted["number"] == 2 * counted["macs"] == 30_940_528_640


def test_compare_in_a_convention(runner) -> None:
    doc = _json(runner, "compare", "resnet18", "vgg16", "--convention", "fvcore", "-f", "json")
    tv = {n: PEERS["specs"][n]["torchvision"]["tools"]["fvcore"] for n in ("resnet18", "vgg16")}
    first, second = doc["specs"]
    assert first["totals"]["convention"]["number"] == tv["resnet18"]["number"]
    # vgg16's bundled spec is the lecture's (a softmax, no adaptive pool): not torchvision's row
    # for row, so fvcore on it differs from torchvision's by the identity pool only
    assert second["totals"]["convention"]["number"] == tv["vgg16"]["number"] - 7 * 7 * 512
    assert second["ratios"]["macs"] == pytest.approx(
        second["totals"]["convention"]["macs"] / first["totals"]["convention"]["macs"])
    table = runner.invoke(app, ["compare", "resnet18", "vgg16", "--convention", "fvcore"])
    assert "MACs (fvcore)" in table.output


def test_check_budgets_in_a_convention(runner, tmp_path) -> None:
    ptflops = PEERS["specs"]["resnet18"]["torchvision"]["tools"]["ptflops"]["number"]
    over = runner.invoke(app, ["check", "resnet18", "--max-macs", str(ptflops - 1),
                               "--convention", "ptflops"])
    assert over.exit_code == 1, over.output
    fits = runner.invoke(app, ["check", "resnet18", "--max-macs", str(ptflops),
                               "--convention", "ptflops", "-f", "json"])
    assert fits.exit_code == 0, fits.output
    doc = json.loads(fits.output)
    assert doc["convention"] == "ptflops" and doc["specs"][0]["checks"][0]["value"] == ptflops
    # a baseline counted one way does not gate a check counted another way
    base = tmp_path / "base.json"
    assert runner.invoke(app, ["show", "resnet18", "--convention", "ptflops", "-o",
                               str(base)]).exit_code == 0
    again = runner.invoke(app, ["check", "resnet18", "--baseline", str(base),
                                "--convention", "ptflops"])
    assert again.exit_code == 0, again.output
    mixed = runner.invoke(app, ["check", "resnet18", "--baseline", str(base)])
    assert mixed.exit_code == 2 and "counted as ptflops" in mixed.output


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "html"])
def test_conventions_command_every_format(runner, fmt: str) -> None:
    result = runner.invoke(app, ["conventions", "-f", fmt])
    assert result.exit_code == 0, result.output
    for name in C.NAMES:
        assert name in result.output
    assert "batch norm" in result.output and "the 2x" in result.output


def test_conventions_command_chooses_columns(runner) -> None:
    result = runner.invoke(app, ["conventions", "ptflops", "thop", "-f", "json"])
    rows = json.loads(result.output)["conventions"]
    assert set(rows[0]) == {"topic", "ptflops", "thop"}
    bad = runner.invoke(app, ["conventions", "keras"])
    assert bad.exit_code == 2


def test_written_as_is_checked(tmp_path) -> None:
    spec = ("name: t\ninput: 8x8x3\nlayers:\n  - relu: {}\n    written_as: functionl\n"
            "  - seq: [relu]\n    written_as: module\n")
    with pytest.raises(cnncalc.CnnCalcError) as caught:
        cnncalc.load_text(spec, "t.yaml")
    messages = [p.format() for p in caught.value.problems]
    assert any(":5:" in m and "did you mean 'functional'" in m for m in messages)
    assert any(":7:" in m and "not on a seq" in m for m in messages)
