"""The terminal view: a rich table with the lecture's columns, plus MACs and the totals."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from ..layers import fmt_shape
from ..receptive import receptive_fields
from ..report import Report
from ..units import exact
from .common import has_frozen, layer_label, summary_lines


def build(report: Report, max_depth: int | None = None, rf: bool = False) -> Table:
    """The per-layer table; `rf` adds the receptive field (size / stride / padding)."""
    frozen = has_frozen(report)
    fields = receptive_fields(report) if rf else {}
    title = report.spec_name + (f": {report.description}" if report.description else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, show_footer=False, title_justify="left")
    table.add_column("Layer", no_wrap=True)
    table.add_column("Activation shape", justify="right", no_wrap=True)
    table.add_column("Activation size", justify="right", no_wrap=True)
    table.add_column("# Parameters", justify="right", no_wrap=True)
    if frozen:
        table.add_column("Frozen", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    if rf:
        table.add_column("RF size / stride / pad", justify="right", no_wrap=True)
    batch = f" x{report.batch}" if report.batch > 1 else ""
    table.add_row("input", fmt_shape(report.input_shape) + batch,
                  exact(report.input_size * report.batch), "0", *(["0"] if frozen else []), "0",
                  *(["1 / 1 / 0"] if rf else []), style="dim")
    for node in report.walk(max_depth):
        cells = [
            layer_label(node),
            fmt_shape(node.output_shape),
            exact(report.activations(node)),
            exact(node.params),
            *([exact(node.params - node.trainable_params)] if frozen else []),
            exact(report.macs(node)),
            *([fields[node.path].text()] if rf else []),
        ]
        table.add_row(*cells, style="bold" if node.is_block else None)
    t = report.totals
    table.add_section()
    table.add_row("total", "", exact(report.activations(t)), exact(t.params),
                  *([exact(t.frozen_params)] if frozen else []), exact(report.macs(t)),
                  *([""] if rf else []), style="bold")
    return table


def render(report: Report, console: Console, max_depth: int | None = None,
           rf: bool = False) -> None:
    print_table(console, build(report, max_depth, rf))
    for line in summary_lines(report):
        console.print(line, highlight=False, soft_wrap=True)


def print_table(console: Console, table: Table) -> None:
    """Print a table, never cutting a number: a console narrower than the table is widened."""
    needed = table.__rich_measure__(console, console.options.update_width(10**6)).maximum
    if needed > console.width:
        console = Console(file=console.file, width=needed, soft_wrap=False,
                          color_system=console.color_system and "auto",
                          force_terminal=console.is_terminal)
    console.print(table)
