"""The terminal view: each table laid out as plain text to a width, then the notes.

Laid out here, not with rich's Table: the column widths come from the cells, no number is ever
cut, and 10,000 rows (the most a spec may have) take a fraction of a second.

Every line fits the width (80 columns unless the terminal or `COLUMNS` says otherwise, see
`writers.emit`): a table wider than that first closes up its gaps, then cuts its names (ending
them with `…`) and wraps its text columns and receptive fields down to a floor, then writes its
long text columns under each row, then leaves out columns in the order their `drop` says,
with a note naming them. Numbers are never cut. Plain tables, the title and the notes wrap.

On a colour terminal (`styled`: never when piped or with `NO_COLOR`), the lines go through rich
(imported only then): headers, blocks and totals bold, totals and the costliest rows in colour,
the input row dim, failures red.

Text from the input is shown through `errors.visible` (the cells already are: `cells.human`),
and no line starts a GitHub Actions command (`errors.line_start`): the only control characters
written are the newlines between lines and, on a colour terminal, rich's styles.
"""

from __future__ import annotations

import math
import textwrap

from ..errors import line_start, visible
from ..result import Column, Result, Table
from .cells import human_cells, human_columns, left

#: rich styles by line role (`hot`: one of the costliest rows)
STYLES = {"title": "bold", "header": "bold", "block": "bold", "total": "bold cyan",
          "input": "dim", "heading": "bold", "fail": "bold red", "invalid": "bold red",
          "unchecked": "yellow", "pass": "green", "hot": "bold yellow"}

#: the width when neither the terminal nor `COLUMNS` gives one (piped output, files)
WIDTH = 80
INDENT = 2
#: A name column is cut only for its longest names: to no less than what this share of its
#: cells fit in, or NAME_SOFT (columns are left out first), and never below NAME_FLOOR.
#: A text column wraps
#: to no less than TEXT_SOFT (columns are left out first) or, at last, TEXT_FLOOR.
NAME_SHARE = 0.9
NAME_SOFT = 28
NAME_FLOOR = 16
TEXT_SOFT = 30
TEXT_FLOOR = 20
#: a text column wider than this may be written under its row instead (`below`)
PROSE = 24
#: the longest word a text column's floor keeps whole (a file path, a rule's id)
WORD = 30
ELLIPSIS = "…"
#: a receptive field's cell wraps to this width (no line of one is wider)
FIELD_FLOOR = 14
#: how far the lines written under a row are indented
BELOW = INDENT + 4


def _floors(column: Column, natural: int, cells: list[str]) -> tuple[int, int]:
    """The (soft, hard) floor of a column's width: cut or wrap down to the soft floor before
    anything else, down to the hard one when nothing else helps."""
    title = len(column.title)
    if column.type == "name":
        ranked = sorted(map(len, cells))
        most = ranked[max(math.ceil(NAME_SHARE * len(ranked)) - 1, 0)] if ranked else 0
        hard = min(natural, max(title, NAME_FLOOR))
        return min(natural, max(hard, min(most, NAME_SOFT))), hard
    if column.type == "text":  # wraps between words; no word (up to WORD long) is broken
        word = min(max((len(w) for c in cells for w in c.split()), default=0), WORD)
        return (min(natural, max(title, TEXT_SOFT, word)),
                min(natural, max(title, TEXT_FLOOR, word)))
    if column.type == "field":  # `159x255 / 16x16 / 58x106` wraps at its slashes
        return min(natural, FIELD_FLOOR), min(natural, FIELD_FLOOR)
    return natural, natural


def layout(columns: list[Column], cells: list[list[str]],
           width: int | None) -> tuple[list[int], list[int], int, list[int]]:
    """Which columns to show in the grid (their indexes), the widths, the gap between columns,
    and the text columns written under each row instead, to fit `width` (None: no limit).
    The steps, each only when the ones before are not enough: gaps of 2, names cut and text
    wrapped to their soft floors, long text (prose) moved under the row (the widest first),
    columns left out (by `drop`), everything at its hard floor."""
    natural = [max(len(c.title), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    below: list[int] = []

    def total(indexes: list[int], widths: list[int], gap: int) -> int:
        return INDENT + sum(widths[i] for i in indexes) + gap * max(len(indexes) - 1, 0)

    if width is None or total(shown, natural, 3) <= width:
        return shown, natural, 3, below
    gap = 2
    floors = {i: _floors(c, natural[i], [row[i] for row in cells])
              for i, c in enumerate(columns)}
    while True:
        excess = total(shown, natural, gap) - width
        if excess <= 0:  # wider gaps again when a column moved or left out made room
            return shown, natural, 3 if total(shown, natural, 3) <= width else gap, below
        soft = {i: floors[i][0] for i in shown}
        if sum(natural[i] - soft[i] for i in shown) >= excess:
            return shown, _shrink(natural, soft, excess), gap, below
        prose = [i for i in shown[1:] if columns[i].type == "text" and natural[i] > PROSE]
        droppable = [i for i in shown if columns[i].drop]
        if prose:
            widest = max(reversed(prose), key=lambda i: natural[i])
            shown.remove(widest)
            below.append(widest)
        elif droppable:
            shown.remove(max(reversed(droppable), key=lambda i: columns[i].drop))
        else:
            return shown, _shrink(natural, {i: floors[i][1] for i in shown}, excess), gap, below


def _shrink(natural: list[int], floors: dict[int, int], excess: int) -> list[int]:
    """Take `excess` columns off the widest shrinkable columns first (never below a floor)."""
    widths = list(natural)
    while excess > 0:
        candidates = [i for i in floors if widths[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def lines(table: Table, width: int | None = WIDTH) -> tuple[list[tuple[str, str]], list[str]]:
    """The table as (role, text) lines (header, rule, then the rows; `hot` rows have the role
    `hot`), and the titles of the columns left out to fit `width`."""
    if table.plain:
        out = []
        for row in table.rows:
            text = "  " * row.depth + "  ".join(c for c in human_cells(table, row) if c)
            out += [(row.role, part) for part in _wrap(text, width, "  " * row.depth + "    ")]
        return out, []
    columns = human_columns(table)
    header = [visible(c.title) for c in columns]
    cells = []
    for row in table.rows:
        values = human_cells(table, row)
        if columns and columns[0].type == "name":
            values[0] = "  " * row.depth + values[0]
        cells.append(values)
    shown, widths, gap, below = layout(columns, cells, width)
    below.sort()
    dropped = [header[i] for i in range(len(columns)) if i not in shown and i not in below]
    spacer = " " * gap

    def physical(values: list[str]) -> list[str]:
        """One row's lines: names cut, text wrapped, numbers whole."""
        parts: list[list[str]] = []
        for i in shown:
            value, w, column = values[i], widths[i], columns[i]
            if len(value) <= w:
                parts.append([value])
            elif column.type in ("text", "field"):
                parts.append(textwrap.wrap(value, w, break_on_hyphens=False) or [""])
            elif column.type == "name":
                parts.append([_cut(value, w)])
            else:
                parts.append([value])
        out = []
        for k in range(max(len(p) for p in parts)):
            texts = [p[k] if k < len(p) else "" for p in parts]
            out.append((" " * INDENT + spacer.join(
                t.ljust(widths[i]) if left(columns[i]) else t.rjust(widths[i])
                for t, i in zip(texts, shown, strict=True))).rstrip())
        if values is not header:  # the columns moved under the row: one paragraph each
            for i in below:
                if values[i]:
                    out += textwrap.wrap(values[i], max((width or 0) - BELOW, PROSE),
                                         initial_indent=" " * BELOW,
                                         subsequent_indent=" " * BELOW, break_on_hyphens=False)
        return out

    content = sum(widths[i] for i in shown) + gap * max(len(shown) - 1, 0)
    rule = " " + "─" * (content + 1)
    out = [("header", text) for text in physical(header)] + [("rule", rule)]
    for row, values in zip(table.rows, cells, strict=True):
        if row.role == "total":
            out.append(("rule", rule))
        role = "hot" if row.hot and row.role not in ("total", "block") else row.role
        out += [(role, text) for text in physical(values)]
    return out, dropped


def _wrap(text: str, width: int | None, indent: str = "  ") -> list[str]:
    """`text` as lines of at most `width` (its leading spaces kept; the lines after the first
    indented by `indent`); one line when it fits or `width` is None."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def write(result: Result, styled: bool = False, width: int | None = WIDTH) -> str:
    """The whole result as terminal text, every line at most `width` columns (None: no limit);
    rich's styles when `styled`."""
    out: list[tuple[str, str]] = [("title", t) for t in _wrap(visible(result.title), width)]
    out.append(("blank", ""))
    left_out: list[str] = []
    for table in result.tables:
        if table.title and table.title != result.title:
            out += [("heading", t) for t in _wrap(visible(table.title), width)]
        table_lines, dropped = lines(table, width)
        out += table_lines
        left_out += [d for d in dropped if d not in left_out]
        out.append(("blank", ""))
    notes = [visible(note) for note in result.notes]
    if left_out:
        them = "them" if len(left_out) > 1 else "it"
        notes.append(f"Not shown in {width} columns: {', '.join(left_out)} (a wider terminal "
                     f"shows {them}, as do -f csv and json)")
    if result.footnote:
        notes.append(visible(result.footnote))
    for note in notes:
        out += [("note", t) for t in _wrap(note, width)]
    while out and out[-1][0] == "blank":
        out.pop()
    out = [(role, line_start(content)) for role, content in out]
    if styled:
        return _styled(out)
    return "\n".join(content for _, content in out) + "\n"


def _styled(out: list[tuple[str, str]]) -> str:
    """The lines through rich: its colour system follows the terminal (`COLORTERM`, `TERM`)."""
    import io

    from rich.console import Console
    from rich.text import Text

    console = Console(file=io.StringIO(), force_terminal=True, highlight=False, markup=False,
                      emoji=False, soft_wrap=True, width=10_000)
    text = Text(end="")
    for role, content in out:
        text.append(content, style=STYLES.get(role, "") if content else "")
        text.append("\n")
    with console.capture() as capture:
        console.print(text, end="")
    return capture.get()
