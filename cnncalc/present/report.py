"""The Result of `cnncalc show` (and `scale`): the lecture's per-layer table, the summary, and
the JSON document of the README's contract (`layers`, `blocks`, `totals`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.layers import fmt_shape
from ..core.report import CONVENTIONS, Node, Report
from ..core.units import binary, exact, si
from ..errors import CnnCalcError
from ..result import Column, Result, Row, Table
from .labels import layer_label
from .network import network

if TYPE_CHECKING:
    from ..analyses.conventions import Counted
    from ..analyses.training import Step, Training


def output_lines(report: Report) -> list[str]:
    """The outputs, when there are several, and the training-only rows' counts."""
    lines = []
    if len(report.outputs) > 1:
        lines.append("Outputs: " + ", ".join(
            f"{node.path} {fmt_shape(node.output_shape)}"
            + (" (training only)" if node.training_only else "") for node in report.outputs))
    aux = report.training_only
    if any(node.training_only for node in report.nodes) or aux.params:
        lines.append(f"Training only (auxiliary heads): params {exact(aux.params)} (in the "
                     f"params above), MACs {exact(report.macs(aux))} and activations "
                     f"{exact(report.activations(aux))} (not in the totals above: eval mode "
                     "skips them)")
    return lines


def spec_notes(report: Report) -> list[str]:
    """The spec's `notes:`, one line each (a note written over several lines keeps them)."""
    return [f"Note: {line}" if i == 0 else f"  {line}"
            for note in report.notes for i, line in enumerate(note.strip().splitlines())]


def summary_lines(report: Report) -> list[str]:
    """The lines under the table: totals in exact and SI form, and memory."""
    t = report.totals
    macs = report.macs(t)
    flops = report.flops(t)
    return [
        f"Input {fmt_shape(report.input_shape)} ({exact(report.input_size)} values), "
        f"batch {report.batch}, {report.dtype}; {report.layer_count:,} "
        f"layer{'s' if report.layer_count != 1 else ''}",
        f"Params: {exact(t.params)} ({si(t.params)}): trainable {exact(t.trainable_params)}, "
        f"frozen {exact(t.frozen_params)}; buffers {exact(t.buffers)}",
        f"MACs: {exact(macs)} ({si(macs)}); FLOPs: {exact(flops)} ({si(flops)})",
        f"Element-wise ops: {exact(report.elementwise(t))}; activations: "
        f"{exact(report.activations(t))} values",
        f"Memory: params {binary(report.param_bytes)}, buffers {binary(report.buffer_bytes)}, "
        f"activations {binary(report.activation_bytes)}",
    ]


def node_values(report: Report, node: Node) -> dict[str, Any]:
    """One node's numbers at the report's batch (the JSON contract's keys)."""
    return {
        "name": node.name,
        "path": node.path,
        "kind": node.kind,
        "depth": node.depth,
        "line": node.line,
        "block": node.is_block,
        "input_shape": list(node.input_shape),
        "output_shape": list(node.output_shape),
        "params": node.params,
        "trainable_params": node.trainable_params,
        "frozen_params": node.params - node.trainable_params,
        "buffers": node.buffers,
        "activations": report.activations(node),
        "macs": report.macs(node),
        "flops": report.flops(node),
        "elementwise_ops": report.elementwise(node),
        "from": list(node.sources),
        "training_only": node.training_only,
    }


def outputs(report: Report) -> list[dict[str, Any]]:
    """The JSON contract's `outputs`: each output's path and shape, in order."""
    return [{"name": node.path, "shape": list(node.output_shape),
             "training_only": node.training_only} for node in report.outputs]


def totals(report: Report) -> dict[str, int]:
    """The totals at the report's batch (the JSON contract's `totals`; baselines read it)."""
    t = report.totals
    return {
        "params": t.params,
        "trainable_params": t.trainable_params,
        "frozen_params": t.frozen_params,
        "buffers": t.buffers,
        "activations": report.activations(t),
        "macs": report.macs(t),
        "flops": report.flops(t),
        "elementwise_ops": report.elementwise(t),
        "param_bytes": report.param_bytes,
        "buffer_bytes": report.buffer_bytes,
        "activation_bytes": report.activation_bytes,
        "input_size": report.input_size * report.batch,
        "layers": report.layer_count,
    }


def convention_meta(counted: Counted | None) -> dict[str, Any]:
    """The JSON `convention`: which one counted and what its number is."""
    from ..analyses.conventions import CONVENTIONS as NAMED

    chosen = counted.convention if counted is not None else NAMED["cnncalc"]
    return {"name": chosen.name, "tool": chosen.tool, "number": chosen.number,
            "per_multiply_add": chosen.per_mac, "params": chosen.params,
            "per_example": chosen.per_example}


def convention_values(counted: Counted, path: str | None = None) -> dict[str, Any]:
    """One node's (or, path None, the total's) numbers in a peer convention: its `number`,
    in multiply-adds (`macs`, FlopCounterMode's FLOPs halved), and its params (None when the
    tool reports none)."""
    counts = counted.total if path is None else counted.nodes[path]
    number = counted.scale(counts.number)
    has = counted.convention.has_params
    return {"number": number, "macs": number // counted.convention.per_mac,
            "params": counts.params if has else None,
            "trainable_params": counts.trainable_params if has else None}


def step_values(trained: Training, step: Step) -> dict[str, int]:
    """A training step's numbers at the report's batch (FLOPs for FlopCounterMode's)."""
    at = trained.at_batch(step)
    unit = 2 if trained.flopcounter else 1
    return {"forward": unit * at.forward, "input_grad": unit * at.input_grad,
            "weight_grad": unit * at.weight_grad, "total": unit * at.total}


def training_meta(trained: Training, samples: int | None) -> dict[str, Any]:
    """The JSON `training`: the step's totals, its unit and the epoch's."""
    unit = 2 if trained.flopcounter else 1
    return {"unit": "FLOPs" if trained.flopcounter else "MACs",
            "batch": trained.report.batch, **step_values(trained, trained.total),
            "samples": samples,
            "epoch": unit * trained.epoch(samples) if samples is not None else None}


def document(report: Report, counted: Counted | None = None, trained: Training | None = None,
             samples: int | None = None) -> dict[str, Any]:
    """The JSON contract (README): every layer (they add up to `totals`) and every block's
    subtotal, in order, each with its `receptive_field` ({size, stride, padding}); with a peer
    convention each has its `convention` numbers, with a training step its `training`."""
    from ..analyses.receptive import receptive_fields

    fields = receptive_fields(report)

    def entry(node: Node) -> dict[str, Any]:
        values = {**node_values(report, node), "receptive_field": fields[node.path].to_dict()}
        if counted is not None:
            values["convention"] = convention_values(counted, node.path)
        if trained is not None:
            values["training"] = step_values(trained, trained.nodes[node.path])
        return values

    sums = totals(report)
    if counted is not None:
        sums["convention"] = convention_values(counted)
    if trained is not None:
        sums["training"] = step_values(trained, trained.total)
    return {
        "layers": [entry(n) for n in report.walk() if not n.is_block],
        "blocks": [entry(n) for n in report.walk() if n.is_block],
        "outputs": outputs(report),
        "totals": sums,
        **({"training": training_meta(trained, samples)} if trained is not None else {}),
        **({"training_only": {"params": report.training_only.params,
                              "activations": report.activations(report.training_only),
                              "macs": report.macs(report.training_only),
                              "flops": report.flops(report.training_only),
                              "elementwise_ops": report.elementwise(report.training_only)}}
           if any(node.training_only for node in report.nodes) else {}),
    }


def convention_lines(report: Report, counted: Counted) -> list[str]:
    """The convention's totals under the table, beside cnncalc's own."""
    chosen = counted.convention
    values = convention_values(counted)
    params = (f"; params {exact(values['params'])}" if chosen.has_params else
              "; no params (the params shown are cnncalc's)")
    batch = (" (one example, whatever the batch)" if chosen.per_example and report.batch > 1
             else "")
    return [f"{chosen.title}: {exact(values['number'])} ({si(values['number'])}){batch}"
            f"{params}",
            f"cnncalc: MACs {exact(report.macs(report.totals))}, params "
            f"{exact(report.totals.params)} (why they differ: 'cnncalc conventions "
            f"{chosen.name}')"]


def training_lines(trained: Training, samples: int | None) -> list[str]:
    """The training step's totals under the table, and the epoch's."""
    meta = training_meta(trained, samples)
    unit = meta["unit"]
    lines = [f"Training step (batch {meta['batch']}): forward {exact(meta['forward'])} + input "
             f"gradients {exact(meta['input_grad'])} + weight gradients "
             f"{exact(meta['weight_grad'])} = {exact(meta['total'])} {unit} "
             f"({si(meta['total'])})"]
    if samples is not None:
        lines.append(f"Per epoch of {samples:,} samples: {exact(meta['epoch'])} {unit} "
                     f"({si(meta['epoch'])})")
    if trained.flopcounter:
        lines.append("FlopCounterMode counts a grouped convolution's weight gradient as if "
                     "ungrouped (groups x its MACs)")
    return lines


#: What `--sort` and `--top` order by, and the percent column's measure: key -> title.
MEASURES = {"macs": "MACs", "params": "params", "activations": "activations"}

#: How many of the costliest rows a table marks `hot` (writers may colour them).
HOT = 3


def legend(report: Report, explain_counts: bool = False) -> str:
    """The line under the table: a short legend, or with `explain_counts` every convention."""
    if explain_counts:
        return (f"Counted: {CONVENTIONS}. % = the row's share of the network's total; "
                f"Memory = the row's output at {report.dtype} (batch {report.batch}).")
    return "MACs: multiply-adds. Memory: the row's output. --explain-counts: every rule."


def measure(report: Report, node: Node, key: str) -> int:
    """A node's value of one of MEASURES at the report's batch."""
    if key == "params":
        return node.params
    return report.activations(node) if key == "activations" else report.macs(node)


def result(report: Report, max_depth: int | None = None, rf: bool = False,
           command: str = "show", counted: Counted | None = None,
           trained: Training | None = None, samples: int | None = None,
           sort: str | None = None, top: int | None = None, explain_counts: bool = False,
           full: bool = False) -> Result:
    """The per-layer table (collapsed below `max_depth`), summary notes and the JSON data; with
    `counted` (a peer convention) its params and number replace cnncalc's in the table's view,
    with `trained` a training step's columns are added.

    `sort` (a key of MEASURES) lists the rows the table would show as leaves (layers, and
    blocks collapsed by `max_depth`) by that measure, largest first, each named by its path;
    `top` keeps the first N of them (by MACs unless `sort` says otherwise). The percent column
    is each row's share of the network's total of that measure, and the `HOT` costliest rows
    are marked. `full` (the HTML report) adds the receptive field column, the memory
    breakdown and the receptive field of each output.
    """
    key = sort or "macs"
    if key not in MEASURES:
        raise ValueError(f"unknown measure {key!r}")
    rf = rf or full
    frozen = report.totals.frozen_params > 0
    peer = counted is not None and counted.convention.name != "cnncalc"
    tool_params = peer and counted is not None and counted.convention.has_params
    columns = [
        Column("label", "Layer", "name", machine=False),
        Column("row", "row", human=False),
        Column("path", "path", human=False),
        Column("name", "name", human=False),
        Column("kind", "kind", human=False),
        Column("depth", "depth", "count", human=False),
        Column("line", "line", "count", human=False),
        Column("input_shape", "input shape", "shape", human=False),
        Column("output_shape", "Shape", "shape"),
        Column("activations", "Activations", "count", drop=4),
        Column("params", "Params", "count", human=not tool_params),
        Column("trainable_params", "Trainable", "count", human=False),
        Column("frozen_params", "Frozen", "count", human=frozen, drop=1),
        Column("buffers", "Buffers", "count", human=False),
        Column("macs", "MACs", "count", human=not peer),
        Column("flops", "FLOPs", "count", human=False),
        Column("elementwise_ops", "Element-wise ops", "count", human=False),
        # a peer convention's number replaces the MACs: no share of cnncalc's beside it
        Column("share", f"% {MEASURES[key]}", "share", human=not (peer and key == "macs"),
               drop=2),
        Column("activation_bytes", "Memory", "bytes", drop=3),
    ]
    if peer:
        assert counted is not None
        name = counted.convention.name
        columns += [Column("convention_params", f"{name} params", "count", human=tool_params),
                    Column("convention_number", counted.convention.title, "count")]
    if trained is not None:
        unit = "FLOPs" if trained.flopcounter else "MACs"
        columns += [Column("input_grad", f"Input-grad {unit}", "count"),
                    Column("weight_grad", f"Weight-grad {unit}", "count"),
                    Column("training", f"Training {unit}", "count")]
    fields: dict[str, Any] = {}
    if rf:
        from ..analyses.receptive import input_field, receptive_fields

        fields = receptive_fields(report)
        columns.append(Column("receptive_field", "RF size / stride / pad", "field"))
    whole = measure_total(report, key)
    bpe = report.bytes_per_element

    def share(value: int) -> float | None:
        return value / whole if whole else None

    batch = f" x{report.batch}" if report.batch > 1 else ""
    rows = [Row({"label": "input", "output_shape": fmt_shape(report.input_shape) + batch,
                 "activations": report.input_size * report.batch, "params": 0,
                 "frozen_params": 0, "macs": 0,
                 "activation_bytes": report.input_size * report.batch * bpe,
                 **({"receptive_field": input_field(report.input_shape)} if rf else {})},
                role="input", machine=False)]

    def extra(path: str | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if peer:
            assert counted is not None
            found = convention_values(counted, path)
            values.update(convention_params=found["params"], convention_number=found["number"])
        if trained is not None:
            step = step_values(trained, trained.total if path is None else trained.nodes[path])
            values.update(input_grad=step["input_grad"], weight_grad=step["weight_grad"],
                          training=step["total"])
        return values

    shown = list(report.walk(max_depth))
    units = [n for n in shown if n.children is None
             or (max_depth is not None and n.depth >= max_depth)]
    ranked = sorted(units, key=lambda n: -measure(report, n, key))
    hot = {id(n) for n in ranked[:HOT] if measure(report, n, key) > 0} \
        if len(units) > HOT else set()
    flat = sort is not None or top is not None
    listed = (ranked[:top] if top is not None else ranked) if flat else shown
    for node in listed:
        values = node_values(report, node)
        value = measure(report, node, key)
        values.update(label=layer_label(node, node.path if flat else None),
                      row="block" if node.is_block else "layer", share=share(value),
                      activation_bytes=report.activations(node) * bpe, **extra(node.path))
        if rf:
            values["receptive_field"] = fields[node.path]
        rows.append(Row(values, role=values["row"], depth=0 if flat else node.depth,
                        hot=id(node) in hot))
    rows.append(Row({"label": "total", "row": "total", "input_shape": report.input_shape,
                     **totals(report), **extra(None), "share": 1.0 if whole else None},
                    role="total"))
    title = report.spec_name + (f": {report.description}" if report.description else "")
    meta = {"spec": report.spec_name, "description": report.description,
            "input": list(report.input_shape), "batch": report.batch, "dtype": report.dtype,
            "conventions": CONVENTIONS, "convention": convention_meta(counted),
            **({"notes": report.notes} if report.notes else {})}
    notes = summary_lines(report) + output_lines(report) + spec_notes(report)
    footnote = legend(report, explain_counts)
    if peer:
        assert counted is not None
        notes += convention_lines(report, counted)
        footnote = (f"Counted as {counted.convention.name} counts ({counted.convention.tool}): "
                    f"{counted.convention.summary}")
    if trained is not None:
        notes += training_lines(trained, samples)
    if flat:
        part = sum(measure(report, n, key) for n in listed)
        notes.append(f"The {len(listed)} largest of {len(units)} rows by {MEASURES[key]}"
                     + (f": {part / whole:.1%} of the total" if whole else "")
                     if top is not None and top < len(units)
                     else f"Every row by {MEASURES[key]}, largest first")
    tables = [Table("rows", columns, rows, json=False)]
    if full:
        from .memory import result as memory_result

        try:
            memory = memory_result(report).tables[0]
        except CnnCalcError as exc:  # torch could not run it as written (an in-place
            # activation over a tensor read or kept later): said, not guessed
            notes.append(f"Memory: not shown ({exc.problems[0].message})")
        else:
            memory.title = "Memory"
            tables.append(memory)
        notes += receptive_lines(report, fields)
    return Result(command, title, tables, notes=notes, footnote=footnote, meta=meta,
                  data=lambda: document(report, counted if peer else None, trained, samples),
                  network=lambda: network(report, max_depth, layer_label))


def measure_total(report: Report, key: str) -> int:
    """The network's total of one of MEASURES (training-only rows left out, as in totals)."""
    t = report.totals
    if key == "params":
        return t.params
    return report.activations(t) if key == "activations" else report.macs(t)


def receptive_lines(report: Report, fields: dict[str, Any]) -> list[str]:
    """The receptive field at each output (size / stride / padding)."""
    return [f"Receptive field at {node.path}: {fields[node.path].text()} (size / stride / "
            "padding, in input pixels)" for node in report.outputs if node.path in fields]
