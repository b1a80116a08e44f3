"""How a Report shows itself in a notebook: `Report._repr_html_` and `_repr_markdown_`.

The core cannot import the writers (imports point one way, `tests/test_architecture.py`), so
`core.report.VIEWS` is a table the core reads and this module fills: each view builds the
report's Result (`present.report`, as `cnncalc show` does) and writes it (the writer modules
themselves: the `writers` package's JSON writer reads the version from the package root,
which imports this module). The
public API (`cnncalc.load`, `cnncalc.analyze`, ...) imports this module, which registers the
views; nothing here runs at import but that.
"""

from __future__ import annotations

from .core.report import VIEWS, Report


def html(report: Report) -> str:
    """The HTML report as one `<div>` (a cell's output): the diagram, the sortable table with
    the receptive field, memory, the notes."""
    from .present.report import result
    from .writers.html import fragment

    return fragment(result(report, full=True))


def markdown(report: Report) -> str:
    """The per-layer table and the notes as markdown."""
    from .present.report import result
    from .writers.markdown import write

    return write(result(report))


VIEWS.update(html=html, markdown=markdown)
