"""Views of a finished Report: each format is one module with a `render(report, ...)`.

Renderers only format; they compute nothing the engine did not. `render_report` and
`render_check` dispatch a format name to its module; a test proves every format has a branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, assert_never, get_args

if TYPE_CHECKING:
    from ..budget import CheckResult
    from ..report import Report

Format = Literal["table", "markdown", "csv", "json", "html"]
FORMATS: tuple[str, ...] = get_args(Format)

#: the console width of `table` output written to a string (a file or a golden test)
TEXT_WIDTH = 100


def _text_console(width: int | None):  # noqa: ANN202 (rich is imported lazily)
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), width=width or TEXT_WIDTH, color_system=None,
                   force_terminal=False, soft_wrap=False)


def render_report(report: Report, fmt: Format, *, max_depth: int | None = None) -> str:
    """The report in one format, as text; every Format has a branch (checked by assert_never)."""
    if fmt == "table":
        import io

        from . import table

        text = io.StringIO()
        table.render(report, text, max_depth)
        return text.getvalue()
    elif fmt == "markdown":
        from . import markdown

        return markdown.render(report, max_depth)
    elif fmt == "csv":
        from . import csv

        return csv.render(report, max_depth)
    elif fmt == "json":
        from . import json

        return json.render(report) + "\n"
    elif fmt == "html":
        from . import html

        return html.render(report, max_depth)
    else:
        assert_never(fmt)


def render_check(result: CheckResult, fmt: Format, *, width: int | None = None) -> str:
    """A `cnncalc check` result in one format, as text."""
    from . import check

    if fmt == "table":
        con = _text_console(width)
        check.render_table(result, con)
        return con.file.getvalue()
    elif fmt == "markdown":
        from . import markdown

        return markdown.render_check(result)
    elif fmt == "csv":
        from . import csv

        return csv.render_check(result)
    elif fmt == "json":
        return check.render_json(result) + "\n"
    elif fmt == "html":
        from . import html

        return html.render_check(result)
    else:
        assert_never(fmt)
