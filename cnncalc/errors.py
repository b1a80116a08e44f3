"""The one error family of cnncalc.

Everything that goes wrong with a user's input ends as a :class:`CnnCalcError` holding one
:class:`Problem` per thing to fix. Deep code raises with what it knows (the values involved);
the spec walker adds the file, the line and the layer, and the CLI prints one line per problem.

Text from the input (names, descriptions, file names, values) is shown through `visible`
everywhere it is written (error lines, every writer, GitHub annotations): a control or format
character can neither break a line, move the cursor, recolour the terminal nor reorder the text
around it, and no input forms a GitHub Actions workflow command.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

#: The short escapes of `visible`; every other escaped character is `\xNN`, `\uNNNN` or
#: `\UNNNNNNNN`, as in a Python string literal.
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

#: White space that is not a plain space: C0/C1 controls and the line and paragraph
#: separators (`visible` keeps only the space separators: U+0020, no-break space, ...)
_BREAKS = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` safe to show: every character that is not printable (control characters C0 and
    C1 such as newline and ESC, format characters such as the bidi overrides U+202A-U+202E and
    U+2066-U+2069, the line and paragraph separators U+2028/U+2029, lone surrogates, unassigned
    code points) written as a visible escape (`\\n`, `\\x1b`, `\\u202e`); spaces (U+0020 and
    the other space separators) kept. `##[`, which starts a GitHub Actions command anywhere in
    a line, is written `##\\x5b`. Printable text comes back as it is."""
    if text.isprintable():
        return text.replace("##[", "##\\x5b") if "##[" in text else text
    out = "".join(ch if ch.isprintable() or ch.isspace() and ch not in _BREAKS
                  else _escape(ch) for ch in text)
    return out.replace("##[", "##\\x5b") if "##[" in out else out


def line_start(line: str) -> str:
    """A line that cannot start a GitHub Actions workflow command (`::error ...::`), which the
    runner reads from any output line starting with `::` after white space: the first colon
    is written `\\x3a`."""
    stripped = line.lstrip()
    if stripped.startswith("::"):
        at = len(line) - len(stripped)
        return line[:at] + "\\x3a" + line[at + 1:]
    return line


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, located as precisely as it could be."""

    message: str
    file: str | None = None
    line: int | None = None
    layer: str | None = None  # e.g. "'conv2' (layer 3)" or "block 'layer1.0'"

    def format(self) -> str:
        if self.file is None and self.line is None:
            where = "cnncalc"  # an option or a command, not a place in a spec
        else:
            where = self.file or "<spec>"
            if self.line is not None:
                where += f":{self.line}"
        text = f"{where}: "
        if self.layer:
            text += f"{self.layer}: "
        # one line, whatever the file name, layer name or value quoted in the message holds
        return line_start(visible(text + self.message))


class CnnCalcError(Exception):
    """Invalid input: a spec, an option or a file that cnncalc cannot compute with."""

    def __init__(self, problems: Problem | str | list[Problem]):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

    def located(self, *, file: str | None = None, line: int | None = None,
                layer: str | None = None) -> CnnCalcError:
        """Fill in the location fields that deeper code could not know."""
        fixed = [
            replace(
                p,
                file=p.file if p.file is not None else file,
                line=p.line if p.line is not None else line,
                layer=p.layer if p.layer is not None else layer,
            )
            for p in self.problems
        ]
        return CnnCalcError(fixed)


def suggest(word: str, choices: Any) -> str:
    """` (did you mean 'relu'?)` when a choice is close to `word`, else "". Never `word`
    itself: a word that is one of the choices is refused for another reason, which the caller
    says."""
    import difflib

    others = [c for c in choices if c != str(word)]
    close = difflib.get_close_matches(str(word), others, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
