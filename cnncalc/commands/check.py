"""`cnncalc check`: budgets and the regression gate for CI, one row per spec and limit.

Exit 0 when every limit holds, 1 when any is exceeded, 2 when a spec (or an option, or a
baseline) is invalid; every spec is still checked and reported. The logic is in cnncalc.budget.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .base import (
    BudgetBatchOpt,
    BudgetDtypeOpt,
    Convention,
    ConventionOpt,
    FormatOpt,
    InputOpt,
    MaxActivationMemory,
    MaxFlops,
    MaxMacs,
    MaxParamMemory,
    MaxParams,
    MaxPeakMemory,
    MaxTrainableParams,
    OutputOpt,
    VarOpt,
    app,
    errors_to_exit,
    finish,
    parse_input,
)


@app.command()
def check(
    specs: Annotated[list[str], typer.Argument(
        metavar="SPEC", help="Spec files, quoted globs ('models/**/*.yaml') or bundled spec "
        "names.", show_default=False)],
    max_params: MaxParams = None,
    max_trainable_params: MaxTrainableParams = None,
    max_macs: MaxMacs = None,
    max_flops: MaxFlops = None,
    max_param_memory: MaxParamMemory = None,
    max_activation_memory: MaxActivationMemory = None,
    max_peak_memory: MaxPeakMemory = None,
    baseline: Annotated[Optional[list[Path]], typer.Option(
        "--baseline", metavar="FILE", help="A saved 'cnncalc show --format json' report; "
        "params and MACs may not grow past it by more than --max-growth. Repeat for several "
        "specs (matched by spec name).", show_default=False)] = None,
    max_growth: Annotated[Optional[str], typer.Option(
        "--max-growth", metavar="PERCENT", help="Allowed growth over the baseline, with a "
        "percent sign (default 0%).", show_default=False)] = None,
    require_budget: Annotated[bool, typer.Option(
        "--require-budget", help="Fail (exit 1) when a spec has nothing to check.")] = False,
    input: InputOpt = None,
    batch: BudgetBatchOpt = None,
    dtype: BudgetDtypeOpt = None,
    lint: Annotated[bool, typer.Option(
        "--lint", help="Also lint each spec ('cnncalc lint'): a finding fails it (exit 1).")]
    = False,
    ignore: Annotated[Optional[list[str]], typer.Option(
        "--ignore", metavar="RULE", show_default=False,
        help="With --lint: leave out a lint rule (repeatable).")] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    var: VarOpt = None,
    convention: ConventionOpt = Convention.cnncalc,
) -> None:
    """Check specs against their budgets (and a baseline); exit 1 when any is exceeded."""
    from ..analyses.budget import check_budgets, cli_limits
    from ..core.units import parse_share
    from ..core.variables import parse_vars, rewrite
    from ..present.check import annotations, result
    from ..writers import format_for

    with errors_to_exit():
        limits = cli_limits({
            "params": max_params, "trainable_params": max_trainable_params, "macs": max_macs,
            "flops": max_flops, "param_memory": max_param_memory,
            "activation_memory": max_activation_memory, "peak_memory": max_peak_memory})
        if max_growth is not None and not baseline:
            from ..errors import CnnCalcError

            raise CnnCalcError("--max-growth needs --baseline (a saved "
                               "'cnncalc show --format json' report)")
        growth = parse_share(max_growth, "--max-growth") if max_growth is not None else None
        shape = parse_input(input)
        values = parse_vars(var)
        if ignore and not lint:
            from ..errors import CnnCalcError

            raise CnnCalcError("--ignore leaves out lint rules: it needs --lint")
        if lint:
            from ..analyses.lint import check_ids

            check_ids(list(ignore or []), "--ignore")
    outcome = check_budgets(expand_refs(specs), limits, input_shape=shape, batch=batch,
                        dtype=dtype.value if dtype else None,
                        baselines=[str(p) for p in baseline or []], growth=growth,
                        require_budget=require_budget, rewrite=rewrite(values),
                        convention=convention.value)
    if lint:
        from ..analyses.lint import lint_spec

        for checked in outcome.specs:
            if checked.status == "invalid":
                continue
            linted = lint_spec(checked.ref, dtype=checked.dtype, ignore=tuple(ignore or ()),
                               input_shape=shape, rewrite=rewrite(values))
            checked.linted, checked.lint = True, linted.findings
            checked.problems += linted.problems

    # Problems go to stderr one per line, as everywhere in cnncalc.
    for problem in outcome.problems + [p for s in outcome.specs for p in s.problems]:
        print(problem.format(), file=sys.stderr)
    fmt = format_for(format.value if format is not None else None, output)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Workflow commands belong on stdout, unless stdout carries a machine-read format.
        stream = sys.stderr if output is None and fmt != "table" else sys.stdout
        for line in annotations(outcome):
            print(line, file=stream)
    # On the terminal, an invalid spec's problems are the lines on stderr; files get them too.
    finish(result(outcome, detail=not (fmt == "table" and output is None)), format, output)


def expand_refs(refs: list[str]) -> list[str]:
    """Spec references with quoted globs expanded (sorted); a glob matching nothing stays as
    it is, so that reading it reports the missing file."""
    out: list[str] = []
    for ref in refs:
        if any(ch in ref for ch in "*?["):
            matches = sorted(glob.glob(ref, recursive=True))
            out.extend(matches or [ref])
        else:
            out.append(ref)
    return out
