"""The Python API as docs/python-api.md documents it: its notebook session runs as written, a
report shows itself in a notebook (HTML and markdown, through the writers), and `load` takes a
dict as it takes a file."""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import pytest

import cnncalc

DOC = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"


def sessions() -> list[tuple[str, str]]:
    """The page's ```pycon blocks as (first line, text), in order."""
    blocks = re.findall(r"```pycon\n(.*?)```", DOC.read_text(), re.S)
    return [(block.splitlines()[0], block) for block in blocks]


def test_the_page_has_a_session_for_each_part():
    text = DOC.read_text()
    assert len(sessions()) >= 5
    for name in ("cnncalc.load", "load_text", "cnncalc.analyze", "cnncalc.torch.build",
                 "_repr_html_", "_repr_markdown_", "a `dict`"):
        assert name in text, name


def test_the_notebook_session_runs_as_written():
    """Every block in one namespace, in order (a notebook's kernel); the torch blocks where
    torch is installed (always in CI)."""
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        if os.environ.get("CI"):
            raise
        have_torch = False
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    namespace: dict[str, object] = {}
    ran = 0
    for index, (_, block) in enumerate(sessions()):
        if "import torch" in block and not have_torch:
            continue
        test = parser.get_doctest(block, namespace, f"python-api.md block {index + 1}",
                                  str(DOC), 0)
        runner.run(test, clear_globs=False)
        namespace = test.globs  # a DocTest runs in a copy: carry its names to the next block
        ran += len(test.examples)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
    assert ran >= 20


@pytest.fixture(scope="module")
def lenet():
    return cnncalc.analyze(cnncalc.load("lenet5"))


def test_repr_html_is_the_report_fragment(lenet):
    page = lenet._repr_html_()
    assert page.startswith('<div class="cnncalc">') and page.rstrip().endswith("</div>")
    assert "<html" not in page and "<body" not in page  # a cell's output, not a page
    assert page.count('<g class="node') == len(lenet.nodes) == 8  # a box per top-level row
    assert "62,006" in page and "RF size / stride / pad" in page  # totals, receptive field
    assert "<h2>Memory</h2>" in page and "peak activations" in page


def test_repr_markdown_is_the_table(lenet):
    text = lenet._repr_markdown_()
    assert text.startswith("### lenet5: LeNet-5")
    assert "| conv1 (f=5, s=1, tanh) | 28x28x6 | 4,704 | 456 | 352,800 | 54.1% |" in text


def test_the_views_come_through_the_writers(lenet):
    """The same text as `cnncalc show -f markdown` (present -> Result -> writer)."""
    from cnncalc.present.report import result
    from cnncalc.writers import write

    assert lenet._repr_markdown_() == write(result(lenet), "markdown")


def test_load_takes_a_dict_as_it_takes_a_file(tmp_path):
    import yaml

    data = {"name": "net", "description": "two convs", "input": "16x16x3",
            "layers": [{"conv": {"filters": 8, "kernel": 3, "padding": "same"}},
                       {"conv": [4, 3]}, "flatten", {"dense": 10}]}
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(data))
    from_dict = cnncalc.analyze(cnncalc.load(data))
    from_file = cnncalc.analyze(cnncalc.load(path))
    assert from_dict.spec_name == "net" and from_dict.description == "two convs"
    # by hand: (3*3*3 + 1) * 8 + (3*3*8 + 1) * 4 + (14*14*4 + 1) * 10
    assert from_dict.totals.params == from_file.totals.params == 224 + 292 + 7850
    assert [n.output_shape for n in from_dict.nodes] == [n.output_shape for n in from_file.nodes]


def test_a_dict_with_a_tuple_reads_it_as_a_list():
    spec = cnncalc.load({"name": "t", "input": (8, 8, 1), "layers": [{"conv": (2, 3)}]})
    assert cnncalc.analyze(spec).nodes[0].output_shape == (6, 6, 2)


def test_a_bad_dict_is_a_cnncalc_error():
    with pytest.raises(cnncalc.CnnCalcError, match="may hold only"):
        cnncalc.load({"name": "x", "input": "8x8x1", "layers": [object()]})
    with pytest.raises(cnncalc.CnnCalcError, match="filters"):
        cnncalc.load({"name": "x", "input": "8x8x1", "layers": [{"conv": {"filters": 0,
                                                                          "kernel": 3}}]})
