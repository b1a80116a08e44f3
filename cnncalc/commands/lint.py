"""`cnncalc lint`: what in a design is wasteful or wrong, one finding per layer and rule, with
the reason and a fix.

Exit 0 when every spec is clean, 1 when any has a finding, 2 when a spec (or an option) is
invalid; every spec is still linted and reported, as `cnncalc check` does. The rules are in
`cnncalc.analyses.lint`.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from .base import (
    Dtype,
    FormatOpt,
    InputOpt,
    OutputOpt,
    VarOpt,
    app,
    errors_to_exit,
    finish,
    parse_input,
)

IgnoreOpt = Annotated[Optional[list[str]], typer.Option(
    "--ignore", metavar="RULE", show_default=False,
    help="Leave out a rule (repeatable); 'cnncalc lint --rules' lists them.")]


@app.command()
def lint(
    specs: Annotated[Optional[list[str]], typer.Argument(
        metavar="SPEC", help="Spec files, quoted globs ('models/**/*.yaml') or bundled spec names.",
        show_default=False)] = None,
    ignore: IgnoreOpt = None,
    dtype: Annotated[Dtype, typer.Option(
        "--dtype", help="The dtype to judge (tensor-core-channels runs at fp16, bf16 and "
        "int8).")] = Dtype.fp32,
    rules: Annotated[bool, typer.Option(
        "--rules", help="List the rules (id, reason, fix) and exit.")] = False,
    input: InputOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
) -> None:
    """Lint specs: rules with a reason and a fix per finding; exit 1 on any finding."""
    from ..analyses.lint import LintResult, check_ids, lint_spec
    from ..core.variables import parse_vars, rewrite
    from ..errors import CnnCalcError
    from ..present.lint import annotations, result, rules_result
    from ..writers import format_for
    from .check import expand_refs

    if rules:
        finish(rules_result(), format, output)
        return
    with errors_to_exit():
        if not specs:
            raise CnnCalcError("lint needs a spec (a file, a glob or a bundled name), or "
                               "--rules")
        check_ids(list(ignore or []), "--ignore")
        shape = parse_input(input)
        values = parse_vars(var)
    found = LintResult([lint_spec(ref, dtype=dtype.value, ignore=tuple(ignore or ()),
                                  input_shape=shape, rewrite=rewrite(values))
                        for ref in expand_refs(specs)])
    for problem in (p for s in found.specs for p in s.problems):
        print(problem.format(), file=sys.stderr)
    fmt = format_for(format.value if format is not None else None, output)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        stream = sys.stderr if output is None and fmt != "table" else sys.stdout
        for line in annotations(found):
            print(line, file=stream)
    finish(result(found, detail=not (fmt == "table" and output is None)), format, output)
