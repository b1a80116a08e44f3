"""The mermaid view: a flowchart of the network that GitHub (and mkdocs, and JupyterLab) draws
from a ```mermaid block in markdown.

Every drawn row is a box with its name and settings, its output shape and its cost (params and
MACs, in SI units); an expanded block is a frame (`subgraph`) around its rows, a collapsed one
a box with double sides; an add or concat is a hexagon; the input a stadium. Arrows follow the
data (`present.network`): branches, shortcuts and taps (`from:`) included. Outputs have a thick
border, training-only rows a dashed one. A Result without a network (`specs`, `compare`, ...)
is refused with a CnnCalcError. A network too large for GitHub to draw (more than 50,000
characters or 500 arrows) is drawn with its deepest blocks collapsed, level by level, until it
fits.

Labels are quoted, with mermaid's entity codes for the characters that would end or break them
(`"`, `#`, `<`, `>`, `&`), and control characters shown as escapes (`errors.visible`). Ids are
generated (`n1`, `s2`), never taken from the spec.
"""

from __future__ import annotations

from ..core.units import si
from ..errors import CnnCalcError, line_start, visible
from ..result import Network, Result, Unit

MERGES = ("add", "concat")


def _escape(text: str) -> str:
    """Text as a quoted mermaid label's content."""
    out = visible(text).replace("#", "#35;")
    return (out.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def cost(unit: Unit) -> str:
    parts = [unit.shape]
    if unit.params:
        parts.append(f"{si(unit.params)} params")
    if unit.macs:
        parts.append(f"{si(unit.macs)} MACs")
    return " · ".join(parts)


def write(result: Result) -> str:
    network = result.drawing()
    if network is None:
        raise CnnCalcError(f"--format mermaid draws a network, and '{result.command}' "
                           "describes none; draw one with 'cnncalc show SPEC -f mermaid' "
                           "(or scale)")
    text = flowchart(network)
    depth = network.levels() - 2
    while too_big(text) and depth >= 0:
        text = flowchart(network.collapsed(depth),
                         f"blocks below depth {depth} drawn as one box, to stay within "
                         "GitHub's limits (-d chooses the depth)")
        depth -= 1
    return text


#: What GitHub's mermaid draws at most (mermaid's `maxTextSize` and `maxEdges` defaults).
MAX_TEXT = 50_000
MAX_EDGES = 500


def too_big(text: str) -> bool:
    return len(text) > MAX_TEXT or text.count(" --> ") > MAX_EDGES


def flowchart(network: Network, note: str = "") -> str:
    """The network as mermaid's `flowchart TD` text (`note`: a comment after the first line)."""
    ids: dict[str, str] = {"input": "input"}
    lines = ["flowchart TD", *([f"  %% {_escape(note)}"] if note else []),
             f'  input(["{_escape("input " + network.input_shape)}"])']
    outputs: list[str] = []
    training: list[str] = []

    def emit(units: list[Unit], indent: str) -> None:
        for unit in units:
            if unit.children is not None:
                ident = ids[unit.id] = f"s{len(ids)}"
                lines.append(f'{indent}subgraph {ident} ["{_escape(unit.label)} · '
                             f'{_escape(cost(unit))}"]')
                emit(unit.children, indent + "  ")
                lines.append(f"{indent}end")
                continue
            ident = ids[unit.id] = f"n{len(ids)}"
            text = f"{_escape(unit.label)}<br/>{_escape(cost(unit))}"
            if unit.kind in MERGES and not unit.block:
                lines.append(f'{indent}{ident}{{{{"{text}"}}}}')
            elif unit.block:
                lines.append(f'{indent}{ident}[["{text}"]]')
            else:
                lines.append(f'{indent}{ident}["{text}"]')
            if unit.output:
                outputs.append(ident)
            if unit.training_only:
                training.append(ident)

    emit(network.units, "  ")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in network.edges if a in ids and b in ids]
    lines.append("  classDef output stroke-width:3px")
    lines.append("  classDef training stroke-dasharray:5 5")
    if outputs:
        lines.append(f"  class {','.join(outputs)} output")
    if training:
        lines.append(f"  class {','.join(training)} training")
    return "\n".join(map(line_start, lines)) + "\n"
