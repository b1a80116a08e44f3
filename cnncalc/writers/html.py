"""The HTML view: one self-contained report page (inline CSS, SVG and script; no external asset,
no network access).

For a Result about a network (`show`, `scale`), the page opens with a diagram of it: one box per
top-level row, drawn here as SVG (`diagram`), in order from the input down, with arrows for the
data flow (a row fed by a row other than the one above it, a tap or a branch joined later,
gets an arc on the right), the output shape and cost in each box, a bar for its share of the
MACs, outputs and training-only rows marked. Then every table, each sortable by any column
(click a header: numbers largest first, text A to Z; again to reverse; the input and total rows
stay in place), the notes and the footnote. A sweep (`fit`) has a chart per budget: the total
against the value swept, the limit dashed, each point green where it fits.

`write` gives a whole page; `fragment` the same content as one `<div>` (for a notebook cell:
the style is scoped to it, the script sorts only its own tables).

Every piece of text is escaped (HTML's `<`, `>`, `&`, quotes, and control characters shown as
`errors.visible` escapes); numbers are the terminal table's. Plain tables are a `<pre>`.
"""

from __future__ import annotations

import html
import zlib
from fractions import Fraction
from typing import Any

from ..core.units import binary, si
from ..errors import line_start, visible
from ..result import Column, Network, Plot, Result, Table, Unit
from .cells import human_cells, human_columns, left

STYLE = """
.cnncalc { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
.cnncalc h1 { font-size: 1.3em; }
.cnncalc h2 { font-size: 1.1em; margin-top: 1.5em; }
.cnncalc table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.cnncalc th, .cnncalc td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd;
  white-space: nowrap; }
.cnncalc th { text-align: left; border-bottom: 2px solid #888; }
.cnncalc table.sortable th { cursor: pointer; user-select: none; }
.cnncalc table.sortable th:hover { background: #f0f0f0; }
.cnncalc th[aria-sort="descending"]::after { content: " \\25BE"; }
.cnncalc th[aria-sort="ascending"]::after { content: " \\25B4"; }
.cnncalc td.num, .cnncalc th.num { text-align: right; }
.cnncalc tr.block td, .cnncalc tr.total td { font-weight: bold; }
.cnncalc tr.input td { color: #777; }
.cnncalc tr.total td { border-top: 2px solid #888; }
.cnncalc tr.hot td { background: #fff4d6; }
.cnncalc tr.fail td, .cnncalc tr.invalid td { color: #b00020; font-weight: bold; }
.cnncalc tr.unchecked td { color: #8a6d00; }
.cnncalc p.conventions { color: #555; font-size: 0.9em; max-width: 60em; }
.cnncalc div.scroll { overflow-x: auto; max-width: 100%; }
.cnncalc svg.network { display: block; max-width: 100%; height: auto; }
.cnncalc svg.network text { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
""".strip()

#: Sorts every `table.sortable` inside the element it runs in (the page, or a fragment's div).
SCRIPT = """
(function (root) {
  function value(cell, numeric) {
    if (!cell) { return numeric ? -Infinity : ""; }
    var v = cell.getAttribute("data-v");
    if (numeric) { var x = parseFloat(v); return isNaN(x) ? -Infinity : x; }
    return (v === null ? cell.textContent : v).trim().toLowerCase();
  }
  function sortBy(table, th, col) {
    var numeric = th.classList.contains("num");
    var was = th.getAttribute("aria-sort");
    var order = was ? (was === "descending" ? "ascending" : "descending")
                    : (numeric ? "descending" : "ascending");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", order);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var pinned = function (r, name) { return r.classList.contains(name); };
    var first = rows.filter(function (r) { return pinned(r, "input"); });
    var last = rows.filter(function (r) { return pinned(r, "total"); });
    var middle = rows.filter(function (r) { return !pinned(r, "input") && !pinned(r, "total"); });
    var sign = order === "descending" ? -1 : 1;
    middle.sort(function (a, b) {
      var x = value(a.cells[col], numeric), y = value(b.cells[col], numeric);
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return c ? sign * c : (+a.getAttribute("data-i")) - (+b.getAttribute("data-i"));
    });
    first.concat(middle, last).forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(root.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
      });
    });
  });
})(document.currentScript ? document.currentScript.parentNode : document);
""".strip()


def escape(text: str) -> str:
    return html.escape(visible(text))


def sort_value(value: Any, column: Column) -> str | None:
    """What a numeric cell sorts by (`data-v`): the exact number; a shape's element count; a
    receptive field's size."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list) and all(isinstance(n, int) for n in value):
        size = 1
        for n in value:
            size *= n
        return str(size)
    size = getattr(value, "size", None)
    if isinstance(size, int | Fraction):
        return repr(float(size))
    return None


def table_html(table: Table) -> list[str]:
    if table.plain:
        text = "\n".join("  " * row.depth + "  ".join(c for c in human_cells(table, row) if c)
                         for row in table.rows)
        return [f"<pre>{escape(text)}</pre>"]
    columns = human_columns(table)
    num = [' class="num"' if not left(c) else "" for c in columns]
    out = ['<div class="scroll">', '<table class="sortable">', "<thead><tr>" + "".join(
        f'<th{n} title="sort by {escape(c.title)}">{escape(c.title)}</th>'
        for c, n in zip(columns, num, strict=True)) + "</tr></thead>", "<tbody>"]
    indent_first = bool(columns) and columns[0].type == "name"
    for index, row in enumerate(table.rows):
        cells = human_cells(table, row)
        tds = []
        for i, (cell, n, column) in enumerate(zip(cells, num, columns, strict=True)):
            pad = (f' style="padding-left: {0.8 + 1.2 * row.depth:.1f}em"'
                   if i == 0 and indent_first and row.depth else "")
            key = sort_value(row.values.get(column.key), column) if n else None
            data = f' data-v="{escape(key)}"' if key is not None else ""
            tds.append(f"<td{n}{pad}{data}>{escape(cell)}</td>")
        classes = " ".join(filter(None, (row.role, "hot" if row.hot else "")))
        role = f' class="{escape(classes)}"' if classes else ""
        out.append(f'<tr{role} data-i="{index}">{"".join(tds)}</tr>')
    out += ["</tbody>", "</table>", "</div>"]
    return out


# --------------------------------------------------------------------------- the diagram

BOX_W, BOX_H, STEP, MARGIN = 340, 48, 72, 16
#: how far right of the boxes the first arc runs, and how far apart the arcs' lanes are
LANE0, LANE = 24, 14
LABEL_CHARS = 46


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cost(unit: Unit) -> str:
    parts = [unit.shape]
    if unit.params:
        parts.append(f"{si(unit.params)} params")
    if unit.macs:
        parts.append(f"{si(unit.macs)} MACs")
    return " · ".join(parts)


def _lanes(spans: list[tuple[int, int]]) -> list[int]:
    """A lane for each arc (from row a to row b) so that arcs sharing rows do not overlap."""
    ends: list[int] = []  # the last row each lane is busy to
    lanes = []
    for a, b in spans:
        for lane, end in enumerate(ends):
            if end <= a:
                ends[lane] = b
                lanes.append(lane)
                break
        else:
            ends.append(b)
            lanes.append(len(ends) - 1)
    return lanes


def diagram(network: Network) -> str:
    """The network's top-level rows as an SVG drawing (see the module docstring)."""
    units, edges = network.top_level()
    row = {"input": 0, **{u.id: i + 1 for i, u in enumerate(units)}}
    edges = [(a, b) for a, b in edges if a in row and b in row]
    arcs = sorted(((row[a], row[b]) for a, b in edges if row[b] - row[a] != 1))
    lanes = dict(zip(arcs, _lanes(arcs), strict=True))
    width = MARGIN + BOX_W + LANE0 + LANE * (max(lanes.values(), default=-1) + 1) + MARGIN
    height = MARGIN * 2 + STEP * len(units) + BOX_H
    # marker ids are page-wide: one per drawing (several reports may share a notebook page)
    tag = f"cc{zlib.crc32(repr((network.name, network.edges)).encode()):08x}"

    def top(index: int) -> int:
        return MARGIN + STEP * index

    parts = [f'<svg class="network" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(network.name)}: the network, top-level rows">',
             f'<defs><marker id="{tag}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
             'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    x, mid = MARGIN, MARGIN + BOX_W // 2
    for a, b in sorted((row[a], row[b]) for a, b in edges):
        if b - a == 1:
            parts.append(f'<line class="edge" x1="{mid}" y1="{top(a) + BOX_H}" x2="{mid}" '
                         f'y2="{top(b) - 1}" stroke="#555" stroke-width="1.5" '
                         f'marker-end="url(#{tag}-arrow)"/>')
        else:
            right = x + BOX_W
            out = right + LANE0 + LANE * lanes[(a, b)]
            ya, yb = top(a) + BOX_H // 2, top(b) + BOX_H // 2
            parts.append(f'<path class="edge tap" d="M{right},{ya} C{out},{ya} {out},{ya} '
                         f'{out},{ya + 12} L{out},{yb - 12} C{out},{yb} {out},{yb} '
                         f'{right + 1},{yb}" fill="none" stroke="#3b6ea8" stroke-width="1.5" '
                         f'marker-end="url(#{tag}-arrow)"/>')
    parts.append(f'<g class="io"><title>input {escape(network.input_shape)}</title>'
                 f'<rect x="{x}" y="{top(0)}" width="{BOX_W}" height="{BOX_H}" rx="24" '
                 'fill="#eef3f8" stroke="#7a8ea3"/>'
                 f'<text x="{mid}" y="{top(0) + 29}" text-anchor="middle" font-size="13">'
                 f'input {escape(network.input_shape)}</text></g>')
    for index, unit in enumerate(units, 1):
        y = top(index)
        fill = "#f3f0fa" if unit.block else "#ffffff"
        stroke = "#222" if unit.output else "#8c8c8c"
        extra = ' stroke-dasharray="5 4"' if unit.training_only else ""
        share = unit.macs / network.macs if network.macs else 0.0
        notes = [escape(unit.label), escape(_cost(unit))]
        if network.macs and unit.macs:
            notes.append(f"{share:.1%} of the MACs")
        if unit.output:
            notes.append("an output")
        if unit.training_only:
            notes.append("training only")
        classes = " ".join(filter(None, ("node", "block" if unit.block else "",
                                         "output" if unit.output else "")))
        parts.append(
            f'<g class="{classes}" data-path="{escape(unit.id)}">'
            f'<title>{" | ".join(notes)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{2.5 if unit.output else 1}"{extra}/>'
            + (f'<rect x="{x + 1}" y="{y + BOX_H - 5}" width="{max(share * (BOX_W - 2), 0):.1f}"'
               f' height="4" fill="#e0a030"/>' if share else "")
            + f'<text x="{x + 10}" y="{y + 19}" font-size="13" font-weight="600">'
            f'{escape(_cut(visible(unit.label), LABEL_CHARS))}</text>'
            f'<text x="{x + 10}" y="{y + 36}" font-size="11.5" fill="#555">'
            f'{escape(_cut(_cost(unit), LABEL_CHARS + 8))}'
            + (" · output" if unit.output else "") + "</text></g>")
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- sweep charts

PLOT_W, PLOT_H, PAD_L, PAD_R, PAD_T, PAD_B = 560, 260, 72, 16, 16, 44


def plot_svg(plot: Plot) -> str:
    """A sweep as an SVG chart: the points joined in order (green where the budget is met, red
    where not), the limit as a dashed line, the axes' ends labelled."""
    def text(n: float) -> str:
        return binary(n) if plot.unit == "bytes" else si(n)

    xs = [x for x, _, _ in plot.points]
    ys = [float(y) for _, y, _ in plot.points] + ([float(plot.limit)] if plot.limit else [])
    x0, x1 = min(xs), max(xs)
    y1 = max(ys) * 1.05 or 1.0
    span = (x1 - x0) or 1.0
    inner_w, inner_h = PLOT_W - PAD_L - PAD_R, PLOT_H - PAD_T - PAD_B

    def px(x: float) -> float:
        return PAD_L + (x - x0) / span * inner_w if x1 != x0 else PAD_L + inner_w / 2

    def py(y: float) -> float:
        return PAD_T + inner_h - y / y1 * inner_h

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{PLOT_W}" '
             f'height="{PLOT_H}" viewBox="0 0 {PLOT_W} {PLOT_H}" role="img" '
             f'aria-label="{escape(plot.title)}">',
             f'<line x1="{PAD_L}" y1="{PAD_T + inner_h}" x2="{PLOT_W - PAD_R}" '
             f'y2="{PAD_T + inner_h}" stroke="#888"/>',
             f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{PAD_T + inner_h}" '
             'stroke="#888"/>',
             f'<text x="{PAD_L - 6}" y="{PAD_T + 4}" text-anchor="end" font-size="11">'
             f'{escape(text(y1))}</text>',
             f'<text x="{PAD_L - 6}" y="{PAD_T + inner_h}" text-anchor="end" font-size="11">'
             "0</text>",
             f'<text x="{PAD_L}" y="{PLOT_H - 24}" font-size="11">{x0:g}</text>',
             f'<text x="{PLOT_W - PAD_R}" y="{PLOT_H - 24}" text-anchor="end" font-size="11">'
             f"{x1:g}</text>",
             f'<text x="{PAD_L + inner_w / 2:.1f}" y="{PLOT_H - 6}" text-anchor="middle" '
             f'font-size="12">{escape(plot.x_label)}</text>']
    if plot.limit:
        y = py(plot.limit)
        parts.append(f'<line class="limit" x1="{PAD_L}" y1="{y:.1f}" x2="{PLOT_W - PAD_R}" '
                     f'y2="{y:.1f}" stroke="#b00020" stroke-dasharray="6 4"/>'
                     f'<text x="{PLOT_W - PAD_R}" y="{y - 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#b00020">limit {escape(text(plot.limit))}</text>')
    path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in plot.points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#3b6ea8" stroke-width="1.5"/>')
    for x, y, ok in plot.points:
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" '
                     f'fill="{"#2e7d32" if ok else "#b00020"}"><title>{x:g}: '
                     f'{escape(text(y))} {escape(plot.y_label)}'
                     f'{"" if ok else " (over)"}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- the page

def body(result: Result) -> list[str]:
    out = [f"<h1>{escape(result.title)}</h1>"]
    network = result.drawing()
    if network is not None:
        out += ["<h2>Network</h2>", diagram(network)]
    for plot in result.plots:
        out += [f"<h2>{escape(plot.title)}</h2>", plot_svg(plot)]
    for table in result.tables:
        if table.title and table.title != result.title:
            out.append(f"<h2>{escape(table.title)}</h2>")
        out += table_html(table)
    if result.notes:
        out += ["<ul>", *(f"<li>{escape(note)}</li>" for note in result.notes), "</ul>"]
    if result.footnote:
        out.append(f'<p class="conventions">{escape(result.footnote)}</p>')
    return out


def fragment(result: Result) -> str:
    """The report as one `<div class="cnncalc">` with its style and script (a notebook cell)."""
    text = "\n".join(['<div class="cnncalc">', f"<style>\n{STYLE}\n</style>", *body(result),
                      f"<script>\n{SCRIPT}\n</script>", "</div>"])
    return "\n".join(map(line_start, text.split("\n"))) + "\n"


def write(result: Result) -> str:
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>cnncalc: {escape(result.title)}</title>",
        f"<style>\nbody {{ margin: 2em; }}\n{STYLE}\n</style>",
        "</head>", "<body>", '<div class="cnncalc">', *body(result),
        f"<script>\n{SCRIPT}\n</script>", "</div>", "</body>", "</html>"])
    return "\n".join(map(line_start, page.split("\n"))) + "\n"
