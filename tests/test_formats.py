"""Exports of `show`: a golden file per format for LeNet-5, rows that add up to the totals in every
format, escaping, and a writer for every format.

Goldens live in tests/golden/. After a deliberate change, regenerate them with
`CNNCALC_UPDATE_GOLDEN=1 pytest tests/test_formats.py` and review the diff: the LeNet-5 numbers
below (the lecture's table) must still be in every file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cnncalc.commands.base import Format
from cnncalc.writers import FORMATS, write


def render_report(report, fmt, max_depth=None, rf=False, width=None, **options):
    from cnncalc.present.report import result

    return write(result(report, max_depth, rf, **options), fmt, width=width)


def render_check(check, fmt):
    from cnncalc.present.check import result

    return write(result(check), fmt)

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("CNNCALC_UPDATE_GOLDEN") == "1"
SUFFIX = {"table": "txt", "markdown": "md", "csv": "csv", "json": "json", "html": "html",
          "mermaid": "mmd"}

# The lecture's LeNet-5 table (32x32x3): activation sizes and parameters per layer, and the MACs
# from the closed forms f*f*c_in*H*W*c_out and n_in*n_out.
LENET_ROWS = [  # name, activations, params, macs
    ("conv1", 28 * 28 * 6, (5 * 5 * 3 + 1) * 6, 5 * 5 * 3 * 28 * 28 * 6),
    ("pool1", 14 * 14 * 6, 0, 0),
    ("conv2", 10 * 10 * 16, (5 * 5 * 6 + 1) * 16, 5 * 5 * 6 * 10 * 10 * 16),
    ("pool2", 5 * 5 * 16, 0, 0),
    ("flatten1", 400, 0, 0),
    ("fc3", 120, 400 * 120 + 120, 400 * 120),
    ("fc4", 84, 120 * 84 + 84, 120 * 84),
    ("softmax", 10, 84 * 10 + 10, 84 * 10),
]
LECTURE_ACTIVATIONS = [4704, 1176, 1600, 400, 400, 120, 84, 10]
LECTURE_PARAMS = [456, 0, 2416, 0, 0, 48120, 10164, 850]


@pytest.fixture(scope="module")
def lenet():
    from cnncalc import analyze, load

    return analyze(load("lenet5"))


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; create it with CNNCALC_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{name} differs from its golden file; if the change is intended, rerun with "
        "CNNCALC_UPDATE_GOLDEN=1 and review the diff")


def test_hand_table_is_the_lecture_table():
    # the closed forms above agree with the numbers the lecture prints
    assert [r[1] for r in LENET_ROWS] == LECTURE_ACTIVATIONS
    assert [r[2] for r in LENET_ROWS] == LECTURE_PARAMS


def test_every_format_has_a_writer(lenet):
    from cnncalc.analyses.budget import check_budgets as check

    assert set(FORMATS) == {f.value for f in Format}
    from cnncalc.errors import CnnCalcError

    result = check(["lenet5"], {})
    for fmt in FORMATS:
        assert render_report(lenet, fmt).strip(), fmt
        if fmt == "mermaid":  # draws a network; a check describes none
            with pytest.raises(CnnCalcError, match="draws a network"):
                render_check(result, fmt)
        else:
            assert render_check(result, fmt).strip(), fmt


def test_unknown_format_is_refused(lenet):
    with pytest.raises(AssertionError):
        render_report(lenet, "yaml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_show_lenet5_golden(runner, fmt):
    from cnncalc.commands import app

    result = runner.invoke(app, ["show", "lenet5", "--format", fmt])
    assert result.exit_code == 0, result.output
    golden(f"show-lenet5.{SUFFIX[fmt]}", result.stdout)


def _num(cell: str) -> int:
    return int(cell.replace(",", "").replace("*", "").strip() or 0)


def test_table_rows_add_up(lenet):
    text = render_report(lenet, "table")  # no width limit: every column
    rows = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) > 5 and cells[-1].endswith("B") and cells[-2].endswith("%"):
            rows[cells[0].split(" ")[0]] = [_num(c) for c in cells[-5:-2]]
    layers = [rows[name] for name, *_ in LENET_ROWS]
    assert layers == [[a, p, m] for _, a, p, m in LENET_ROWS]
    total = rows["total"]
    assert total == [sum(col) for col in zip(*layers, strict=True)] == [8494, 62006, 651720]


def test_markdown_rows_add_up(lenet):
    text = render_report(lenet, "markdown")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["Layer", "Shape", "Activations", "Params", "MACs", "% MACs", "Memory"]
    assert set(lines[1].replace("|", "").split()) == {":---", "---:"}
    body = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    by_name = {cells[0].split(" ")[0].strip("*"): cells for cells in body}
    # 3,072 fp32 values are 12 KiB
    assert by_name["input"][1:] == ["32x32x3", "3,072", "0", "0", "", "12.0 KiB"]
    layers = [[_num(c) for c in by_name[name][2:5]] for name, *_ in LENET_ROWS]
    assert layers == [[a, p, m] for _, a, p, m in LENET_ROWS]
    sums = [sum(col) for col in zip(*layers, strict=True)]
    assert [_num(c) for c in by_name["total"][2:5]] == sums
    assert by_name["total"][5] == "**100.0%**"
    # conv1's share of the MACs, by hand: 352,800 of 651,720
    assert by_name["conv1"][5] == f"{352_800 / 651_720:.1%}" == "54.1%"
    assert "_MACs: multiply-adds." in text  # the short legend
    full = render_report(lenet, "markdown", explain_counts=True)
    assert "_Counted: params = learnable" in full  # every convention


def test_csv_rows_add_up_and_are_exact(lenet):
    rows = list(csv.DictReader(io.StringIO(render_report(lenet, "csv"))))
    layers = [r for r in rows if r["row"] == "layer"]
    (total,) = [r for r in rows if r["row"] == "total"]
    assert [(r["name"], int(r["activations"]), int(r["params"]), int(r["macs"]))
            for r in layers] == LENET_ROWS
    for column in ("activations", "params", "trainable_params", "buffers", "macs", "flops",
                   "elementwise_ops"):
        assert sum(int(r[column]) for r in layers) == int(total[column]), column
    assert int(total["flops"]) == 2 * int(total["macs"]) == 2 * 651720


def test_json_layers_add_up(lenet):
    doc = json.loads(render_report(lenet, "json"))
    assert [(layer["name"], layer["activations"], layer["params"], layer["macs"])
            for layer in doc["layers"]] == LENET_ROWS
    for key in ("activations", "params", "macs", "flops"):
        assert sum(layer[key] for layer in doc["layers"]) == doc["totals"][key]


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self.in_cell = False

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag == "tr":
            self.rows.append((attrs.get("class", ""), []))
        elif tag in ("td", "th"):
            self.rows[-1][1].append("")
            self.in_cell = True

    def handle_data(self, data):
        if self.in_cell:
            self.rows[-1][1][-1] += data


def test_html_rows_add_up_and_self_contained(lenet):
    parser = _Cells()
    page = render_report(lenet, "html")
    parser.feed(page)
    # nothing fetched: the only link is the empty icon (so that no browser asks for one)
    assert parser.links == ["data:,"]
    assert "style" in parser.tags and "svg" in parser.tags
    assert "<script src" not in page and "<script>" in page  # inline only
    layers = [[_num(c) for c in cells[2:5]] for cls, cells in parser.rows
              if cls.split()[:1] == ["layer"]]
    assert layers == [[a, p, m] for _, a, p, m in LENET_ROWS]
    (total,) = [cells for cls, cells in parser.rows if cls == "total"]
    assert [_num(c) for c in total[2:5]] == [sum(col) for col in zip(*layers, strict=True)]


def _nested():
    from cnncalc import analyze, load

    return analyze(load("resnet18"))


@pytest.mark.parametrize("depth", [None, 0, 1])
def test_csv_rows_without_shown_children_add_up_in_a_nested_net(depth):
    report = _nested()
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv", max_depth=depth))))
    body = rows[:-1]
    deepest = [r for i, r in enumerate(body)
               if not (i + 1 < len(body) and int(body[i + 1]["depth"]) > int(r["depth"]))]
    for column in ("params", "macs", "activations"):
        assert sum(int(r[column]) for r in deepest) == int(rows[-1][column])
    # torchvision's resnet18: 11,689,512 params, 1,814,073,344 MACs (CONVENTIONS.md)
    assert (int(rows[-1]["params"]), int(rows[-1]["macs"])) == (11_689_512, 1_814_073_344)
    assert {r["row"] for r in body} == {"layer", "block"}


def test_text_from_the_spec_is_escaped(tmp_path):
    from cnncalc import analyze, load

    spec = tmp_path / "x.yaml"
    spec.write_text("name: '<b>x|y</b>'\ndescription: 'a & <script>alert(1)</script> | b'\n"
                    "input: 4x4x1\nlayers:\n  - conv: {filters: 2, kernel: 3}\n")
    report = analyze(load(str(spec)))
    page = render_report(report, "html")
    assert "<script>alert" not in page and "<b>" not in page
    assert page.count("<script>") == 1  # the report's own (the sorting)
    assert "&lt;b&gt;x|y&lt;/b&gt;: a &amp; &lt;script&gt;" in page
    md = render_report(report, "markdown")
    assert "<script>" not in md and "<b>" not in md
    assert md.startswith("### &lt;b&gt;x\\|y&lt;/b&gt;: a &amp; &lt;script&gt;")


@pytest.mark.parametrize("fmt", ["markdown", "csv", "html", "json", "table"])
def test_show_output_file(runner, tmp_path, fmt):
    from cnncalc.commands import app

    out = tmp_path / f"lenet.{SUFFIX[fmt]}"
    result = runner.invoke(app, ["show", "lenet5", "-f", fmt, "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert "62,006" in out.read_text() or "62006" in out.read_text()
