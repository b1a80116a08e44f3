"""The one error family of cnncalc.

Everything that goes wrong with a user's input ends as a :class:`CnnCalcError` holding one
:class:`Problem` per thing to fix. Deep code raises with what it knows (the values involved);
the spec walker adds the file, the line and the layer, and the CLI prints one line per problem.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


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
        return text + self.message


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
    """` (did you mean 'relu'?)` when a choice is close to `word`, else ""."""
    import difflib

    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
