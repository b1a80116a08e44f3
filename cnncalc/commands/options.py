"""One meaning per option name: what every option of every command means, and the reference page
of them all, generated from the app.

`MEANINGS` holds the one thing each option name means, whatever the command. `problems(app)`
lists every way the app breaks that rule: an option missing from `MEANINGS`, a short flag that
stands for two long names, a name that takes two kinds of value (a flag here, a value there;
other metavars or choices, unless its `Meaning` lists the forms), a hidden option that is not a
deprecated spelling of a visible one. `page(app)` is the markdown of `docs/options.md`; a test
keeps the two equal and `problems` empty. After changing an option:

    python -m cnncalc.commands.options docs/options.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Meaning:
    """What an option name means in every command that has it; `forms` lists its metavars when
    one meaning is written in more than one form (a spec's input size, conv's input matrix)."""

    text: str
    forms: tuple[str, ...] = ()


MEANINGS: dict[str, Meaning] = {
    # what to read
    "--input": Meaning("The input: a spec's input size, replacing the spec's (HxWxC); conv's "
                       "input matrix itself (MATRIX).", ("HxWxC", "MATRIX")),
    "--var": Meaning("Set one of the spec's `vars:` (repeatable)."),
    "--freeze-until": Meaning("Freeze every layer up to and including this one."),
    # how much, in what
    "--batch": Meaning("Batch size: activations, MACs and activation memory scale with it."),
    "--dtype": Meaning("Element type: bytes per element for memory; verify's tensor type."),
    # how to count
    "--convention": Meaning("Count as this tool does: cnncalc (the default), torchinfo, "
                            "fvcore, ptflops, thop or flopcounter."),
    "--training": Meaning("Add the MACs of one training step (input and weight gradients)."),
    "--samples": Meaning("With --training: the MACs of an epoch of this many samples."),
    # what to show, where
    "--levels": Meaning("Rows shown: nesting levels below the top (deeper rows are summed "
                        "into their block)."),
    "--format": Meaning("Output format (default: the table, or the extension of --output)."),
    "--output": Meaning("Write to this file instead of standard output (atomic; never onto "
                        "a file the command reads)."),
    "--rf": Meaning("Add the receptive-field column."),
    "--sort": Meaning("List the rows by this measure, largest first."),
    "--top": Meaning("Only the N largest rows."),
    "--explain-counts": Meaning("End with every counting rule instead of the short legend."),
    "--layer": Meaning("Only this layer (a name or dotted path), or a block and all inside."),
    "--yaml": Meaning("Print the scaled spec as YAML instead of its table."),
    # budgets (check, fit)
    "--max-params": Meaning("Budget: learnable parameters (COUNT)."),
    "--max-trainable-params": Meaning("Budget: trainable parameters (COUNT)."),
    "--max-macs": Meaning("Budget: multiply-accumulates of a forward pass of the batch (COUNT)."),
    "--max-flops": Meaning("Budget: 2 x MACs (COUNT)."),
    "--max-param-memory": Meaning("Budget: parameter bytes (SIZE)."),
    "--max-activation-memory": Meaning("Budget: bytes of every layer's output for the batch "
                                       "(SIZE)."),
    "--max-peak-memory": Meaning("Budget: peak inference memory (SIZE)."),
    "--max-memory": Meaning("Budget: params + buffers + activations at the batch and dtype "
                            "(SIZE)."),
    "--baseline": Meaning("A saved `cnncalc show --format json` report to gate growth against."),
    "--max-growth": Meaning("Allowed growth over --baseline, in percent."),
    "--require-budget": Meaning("Fail (exit 1) when a spec has nothing to check."),
    # scaling (scale, fit)
    "--width": Meaning("Width multiplier: channel counts x W (MobileNet's alpha)."),
    "--depth": Meaning("Depth multiplier: each `repeat: n` becomes ceil(n x D)."),
    "--resolution": Meaning("Input resolution in pixels: 240 or HxW."),
    "--phi": Meaning("EfficientNet's compound coefficient."),
    "--divisor": Meaning("Scaled channel counts are multiples of this."),
    "--by": Meaning("What fit scales: compound, width, depth or resolution."),
    "--sweep": Meaning("Square input sizes START..STOP:STEP (STOP included)."),
    "--class": Meaning("The input sizes resolution's formulas are for: divisible (by the total "
                       "stride), all, or one size's class."),
    "--from": Meaning("The smallest value fit tries."),
    "--to": Meaning("The largest value fit tries."),
    "--step": Meaning("The step between the values fit tries."),
    # memory
    "--limit": Meaning("A memory size: the largest batch whose inference and training step fit "
                       "in it."),
    "--optimizer": Meaning("The optimizer of a training step: its state per trainable "
                           "parameter.", ("[sgd|momentum|adam]",)),
    # verify, latency
    "--device": Meaning("The device the network runs on: where torch runs it (verify); the "
                        "device profile a latency is estimated for (latency).",
                        ("[cpu|cuda|meta]", "DEVICE")),
    "--calibrate": Meaning("A measured run (`cnncalc verify --time -f json`) to calibrate "
                           "the device profile with."),
    "--time": Meaning("Also time forward passes."),
    "--runs": Meaning("Timed forward passes."),
    "--warmup": Meaning("Untimed forward passes before the timed ones."),
    # conv, pool, size: one layer by hand
    "--filter": Meaning("A filter: a named one or its numbers (repeatable)."),
    "--kernel": Meaning("The window's size F: 5, or HxW."),
    "--padding": Meaning("Padding P: valid, same or a whole number (size: or HxW)."),
    "--pad-mode": Meaning("What fills the padding."),
    "--stride": Meaning("Stride S: a whole number (pool, size: or HxW)."),
    "--dilation": Meaning("Dilation of a convolution's kernel."),
    "--filters": Meaning("The number of filters: the output channels."),
    "--bias": Meaning("A bias added to a filter's sums (repeatable, one per filter)."),
    "--activation": Meaning("The activation applied after the bias."),
    "--partial-sums": Meaning("Also print each input channel's partial sums."),
    "--show-padded": Meaning("Also print the padded input."),
    "--mode": Meaning("Pooling: max or average."),
    "--pool": Meaning("A pooling layer (max or average) instead of a convolution."),
    "--adaptive": Meaning("Adaptive pooling to this output size: 3, or HxW."),
    "--separable": Meaning("A depthwise separable convolution, and its cost against the full "
                           "one."),
    # lint (and check --lint)
    "--lint": Meaning("Also lint each spec: a finding fails it."),
    "--ignore": Meaning("A lint rule left out (repeatable)."),
    "--rules": Meaning("List the lint rules and exit."),
    # export
    "--fold-batchnorm": Meaning("Fold batch norm into the convolutions of the exported graph."),
    # import
    "--arg": Meaning("An argument of a model factory (repeatable)."),
    "--name": Meaning("The name of the spec written."),
    # the app itself
    "--version": Meaning("Print the version and exit."),
    "--help": Meaning("Show the help and exit."),
}


@dataclass(frozen=True)
class Found:
    """One option (or argument) of one command, as the app declares it."""

    command: str
    names: tuple[str, ...]  # long names first, then short flags
    metavar: str | None  # None for a flag
    choices: tuple[str, ...]
    help: str
    default: str
    hidden: bool
    argument: bool

    @property
    def long(self) -> str:
        return next((n for n in self.names if n.startswith("--")), self.names[0])

    @property
    def shorts(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if not n.startswith("--"))


def _click(app: Any) -> Any:
    import typer

    return typer.main.get_command(app)


def _default(param: Any) -> str:
    if param.is_flag if hasattr(param, "is_flag") else False:
        return ""
    if getattr(param, "show_default", None) is False or param.required:
        return ""
    value = param.default
    if value is None or value == [] or callable(value):
        return ""
    return str(getattr(value, "value", value))


def collect(app: Any) -> list[Found]:
    """Every option and argument of every command (and the app's own options), in order."""
    group = _click(app)
    commands = [("cnncalc", group), *sorted(group.commands.items(), key=lambda item: item[0])]
    found: list[Found] = []
    for name, command in commands:
        params = list(command.params)
        if not any("--help" in getattr(p, "opts", ()) for p in params):
            help_option = command.get_help_option(_click_context(command))
            if help_option is not None:
                params.append(help_option)
        for param in params:
            argument = type(param).__name__.endswith("Argument")
            names = (param.metavar,) if argument else tuple(
                sorted(param.opts, key=lambda n: (not n.startswith("--"), n)))
            flag = bool(getattr(param, "is_flag", False))
            choices: tuple[str, ...] = ()
            described = getattr(param, "type_descriptor", None)
            if described is not None and described.is_choice:
                choices = tuple(str(getattr(c, "value", c)) for c in described.choices or ())
            found.append(Found(name, names, None if flag else param.metavar, choices,
                               " ".join((getattr(param, "help", None) or "").split()),
                               _default(param), bool(getattr(param, "hidden", False)),
                               argument))
    return found


def _click_context(command: Any) -> Any:
    return command.context_class(command, info_name=command.name)


def _value(option: Found) -> str:
    """The value cell: the metavar in backticks, a choice as its values (no `|` in a table
    cell: GitHub and Python-Markdown disagree about escaping it inside code)."""
    if option.metavar is None:
        return ""
    if option.choices:
        return ", ".join(f"`{c}`" for c in option.choices)
    return f"`{option.metavar}`"


def problems(app: Any) -> list[str]:
    """Every way the app's options break "one meaning per name" (empty when none do)."""
    found = [f for f in collect(app) if not f.argument]
    out: list[str] = []
    visible = [f for f in found if not f.hidden]
    for option in visible:
        if option.long not in MEANINGS:
            out.append(f"{option.command} {option.long}: not in MEANINGS (say what it means, "
                       "or reuse a name that means the same)")
    # a short flag stands for one long name, hidden spellings included
    longs: dict[str, set[str]] = {}
    for option in found:
        for short in option.shorts:
            longs.setdefault(short, set()).add(option.long)
    out += [f"{short} stands for {' and '.join(sorted(names))}"
            for short, names in sorted(longs.items()) if len(names) > 1]
    # a name takes one kind of value everywhere
    by_name: dict[str, list[Found]] = {}
    for option in visible:
        by_name.setdefault(option.long, []).append(option)
    for name, options in sorted(by_name.items()):
        flags = {o.metavar is None for o in options}
        if len(flags) > 1:
            out.append(f"{name} is a flag in some commands and takes a value in others")
            continue
        forms = MEANINGS[name].forms if name in MEANINGS else ()
        if forms:  # one meaning written in several forms, each declared
            extra = sorted({o.metavar for o in options} - set(forms) - {None})
            if extra:
                out.append(f"{name}: forms {extra} beyond its meaning's {sorted(forms)}")
            continue
        choice_sets = sorted({o.choices for o in options if o.choices}, key=len)
        plain = {o.metavar for o in options if not o.choices and o.metavar is not None}
        if choice_sets and plain:
            out.append(f"{name} is a choice in some commands and free text in others")
        for small, large in zip(choice_sets, choice_sets[1:], strict=False):
            if not set(small) <= set(large):
                out.append(f"{name} takes other choices in other commands: {small}, {large}")
        if len(plain) > 1:
            out.append(f"{name} takes {' and '.join(sorted(plain))} in different commands")
    # a hidden option is a deprecated spelling of one the same command shows
    for option in found:
        if option.hidden and not option.help.startswith("Deprecated spelling of --"):
            out.append(f"{option.command} {option.long}: hidden, but not a deprecated "
                       "spelling ('Deprecated spelling of --NEW.')")
        elif option.hidden:
            new = option.help.removeprefix("Deprecated spelling of ").rstrip(".")
            if not any(o.command == option.command and o.long == new for o in visible):
                out.append(f"{option.command} {option.long}: a deprecated spelling of {new}, "
                           "which the command does not have")
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def page(app: Any) -> str:
    """The markdown of docs/options.md: every option of every command, from the app."""
    from .base import REMOVED_IN

    found = collect(app)
    options = [f for f in found if not f.argument and not f.hidden]
    lines = [
        "# Every option",
        "",
        "<!-- Generated by `python -m cnncalc.commands.options docs/options.md` from the "
        "typer app; tests/test_options.py keeps it current. Do not edit. -->",
        "",
        "One name means one thing in every command: `--depth` is always the depth multiplier, "
        "`--levels` always the rows shown, `-b` always the batch. Values are written as:",
        "`SPEC` a spec file, a bundled spec's name or `-` for standard input; `N` a whole "
        "number; `X` a number; `COUNT` a count with an optional SI unit (`5M`, `1.5k`, "
        "`400M`); `SIZE` bytes with a unit (`20MiB`, `1GB`); `HxWxC` an input size "
        "(`224x224x3`); a list of values: one of them. Every command also takes `--help`.",
        "",
        "## By name",
        "",
        "| option | short | meaning | commands |",
        "| --- | --- | --- | --- |",
    ]
    by_name: dict[str, list[Found]] = {}
    for option in options:
        if option.long != "--help":  # every command has it
            by_name.setdefault(option.long, []).append(option)
    for name in sorted(by_name, key=lambda n: n.lstrip("-")):
        group = by_name[name]
        shorts = sorted({s for o in group for s in o.shorts})
        meaning = MEANINGS[name].text if name in MEANINGS else ""
        commands = ", ".join(sorted({o.command for o in group}))
        lines.append(f"| `{name}` | {' '.join(f'`{s}`' for s in shorts)} | {_cell(meaning)} "
                     f"| {commands} |")
    hidden = [f for f in found if f.hidden]
    if hidden:
        lines += [
            "",
            "## Deprecated spellings",
            "",
            f"Still read, hidden from `--help`, with a note on standard error; removed in "
            f"cnncalc {REMOVED_IN}.",
            "",
            "| command | old | use |",
            "| --- | --- | --- |",
        ]
        for option in hidden:
            new = option.help.removeprefix("Deprecated spelling of ").rstrip(".")
            old = ", ".join(f"`{n}`" for n in option.names)
            lines.append(f"| {option.command} | {old} | `{new}` |")
    lines += ["", "## By command", ""]
    order = ["cnncalc", *sorted({f.command for f in found} - {"cnncalc"})]
    for command in order:
        rows = [f for f in found if f.command == command and not f.hidden]
        title = "cnncalc" if command == "cnncalc" else f"cnncalc {command}"
        lines += [f"### `{title}`", "", "| argument or option | value | default | help |",
                  "| --- | --- | --- | --- |"]
        for f in rows:
            names = f"`{f.names[0]}`" if f.argument else ", ".join(f"`{n}`" for n in f.names)
            value = "" if f.argument else _value(f)
            default = f"`{f.default}`" if f.default else ""
            lines.append(f"| {names} | {value} | {default} | {_cell(f.help)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m cnncalc.commands.options FILE`: write the page (`-` for standard output)."""
    from . import app

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cnncalc.commands.options FILE", file=sys.stderr)
        return 2
    text = page(app)
    if args[0] == "-":
        sys.stdout.write(text)
    else:
        Path(args[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
