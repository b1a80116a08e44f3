"""The Result of `cnncalc check` (one row per spec and limit, and a verdict), its JSON document,
and the GitHub Actions annotations of a check (`::error file=...,line=...::message`)."""

from __future__ import annotations

from typing import Any

from ..analyses.budget import BUDGETS, EXIT_OK, CheckResult, LimitCheck
from ..core.units import binary, exact
from ..errors import Problem, visible
from ..result import Column, Result, Table
from ..result import Row as ResultRow


def amount(unit: str, n: int) -> str:
    """Counts exact (`5,288,548`); bytes in binary units (`20.2 MiB`), exact below 1 KiB."""
    return binary(n) if unit == "bytes" else exact(n)


def verdict(result: CheckResult) -> str:
    """One line: how many specs passed, failed, were invalid or had nothing to check."""
    counts: dict[str, int] = {}
    for s in result.specs:
        counts[s.status] = counts.get(s.status, 0) + 1
    failed = "failed (a budget or lint)" if any(s.linted for s in result.specs) else "over budget"
    parts = [f"{counts[k]} {word}" for k, word in (
        ("pass", "passed"), ("fail", failed), ("invalid", "invalid"),
        ("unchecked", "with nothing checked")) if counts.get(k)]
    n = len(result.specs)
    text = f"{n} spec{'s' if n != 1 else ''}: {', '.join(parts) or 'none'}"
    return text + f" (exit {result.exit_code})"


COLUMNS = [
    Column("spec", "Spec"),
    Column("file", "file", human=False),
    Column("label", "Budget", machine=False),
    Column("budget", "budget", human=False),
    Column("unit", "unit", human=False),
    Column("value_text", "Value", "count", machine=False),
    Column("value", "value", "count", human=False),
    Column("limit_text", "Limit", "count", machine=False),
    Column("limit", "limit", "count", human=False),
    Column("share", "Used", "share"),
    Column("baseline", "baseline", "count", human=False),
    Column("source", "source", human=False),
    Column("line", "line", "count", human=False),
    Column("verdict", "Result", machine=False),
    Column("result", "result", human=False),
]


def result(check: CheckResult, detail: bool = True) -> Result:
    """One row per spec and limit; one row for an invalid or unchecked spec (with its first
    problem when `detail`; the terminal leaves that to the lines on stderr).

    A baseline row shows the baseline as its limit's origin: `params vs baseline 1,000 +5.0%`
    with the limit `floor(baseline x (1 + growth))`.
    """
    rows = []
    for s in check.specs:
        name = s.name or s.ref
        if s.status == "invalid":
            first = s.problems[0].message if s.problems else ""
            more = f" (+{len(s.problems) - 1} more)" if len(s.problems) > 1 else ""
            text = (f"INVALID: {first}{more}" if detail else
                    f"INVALID ({len(s.problems)} problem{'s' if len(s.problems) != 1 else ''})")
            reason = "; ".join(p.format() for p in s.problems)
            rows.append(ResultRow({"spec": name, "file": s.file, "verdict": text,
                                   "result": f"invalid: {reason}"}, role="invalid"))
        elif s.status == "unchecked":
            rows.append(ResultRow({"spec": name, "file": s.file,
                                   "verdict": "nothing checked (no budget)",
                                   "result": "unchecked"}, role="unchecked"))
        if s.linted and not s.lint and s.status != "invalid":
            rows.append(ResultRow({"spec": name, "file": s.file, "label": "lint",
                                   "budget": "lint", "verdict": "clean", "result": "pass"},
                                  role="pass"))
        for f in s.lint:
            rows.append(ResultRow({
                "spec": name, "file": f.file, "label": f"lint {f.rule}", "budget": "lint",
                "unit": f.rule, "value_text": f.path, "line": f.line, "source": "lint",
                "verdict": f"FAIL: {f.message}", "result": f"fail: {f.message}"}, role="fail"))
        for r in s.rows:
            label = r.label
            if r.baseline is not None:
                label += f" {exact(r.baseline)} +{float(r.growth or 0):.1%}"
            rows.append(ResultRow({
                "spec": name, "file": s.file, "label": label, "budget": r.budget,
                "unit": r.unit, "value_text": amount(r.unit, r.value), "value": r.value,
                "limit_text": amount(r.unit, r.limit), "limit": r.limit, "share": r.share,
                "baseline": r.baseline, "source": r.source, "line": r.line,
                "verdict": "pass" if r.passed else "FAIL",
                "result": "pass" if r.passed else "fail"},
                role="pass" if r.passed else "fail"))
    notes = [verdict(check)]
    if check.convention != "cnncalc":
        notes.append(f"params, trainable params, MACs and FLOPs counted as {check.convention} "
                     "counts them ('cnncalc conventions')")
    return Result("check", "cnncalc check", [Table("checks", COLUMNS, rows, json=False)],
                  notes=notes, data=document(check), exit_code=check.exit_code)


def _problem(p: Problem) -> dict[str, Any]:
    return {"message": p.message, "file": p.file, "line": p.line, "layer": p.layer}


def document(check: CheckResult) -> dict[str, Any]:
    """The JSON contract of `cnncalc check --format json` (exact integers)."""
    return {
        "exit_code": check.exit_code,
        "passed": check.exit_code == EXIT_OK,
        "convention": check.convention,
        "problems": [_problem(p) for p in check.problems],
        "specs": [{
            "ref": s.ref, "file": s.file, "spec": s.name, "status": s.status,
            "batch": s.batch, "dtype": s.dtype,
            "checks": [_check(r) for r in s.rows],
            "problems": [_problem(p) for p in s.problems],
            **({"lint": [f.to_dict() for f in s.lint]} if s.linted else {}),
        } for s in check.specs],
    }


def _check(r: LimitCheck) -> dict[str, Any]:
    return {
        "budget": r.budget, "unit": r.unit, "value": r.value, "limit": r.limit,
        "share": None if r.share is None else round(r.share, 6),
        "passed": r.passed, "source": r.source, "line": r.line,
        **({"baseline": r.baseline, "max_growth": float(r.growth or 0)}
           if r.baseline is not None else {}),
    }
# --------------------------------------------------------------------------- GitHub Actions

# GitHub's workflow-command rules (actions/toolkit `command.ts`): the data after `::` escapes
# `%`, CR and LF; a property value also `:` and `,`. Text from the input is first made
# `visible` (no control or format character, no `##[`), so an annotation is always one line
# and carries nothing the runner would read as a second command.

def _escape_data(text: str) -> str:
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _text(p: Problem) -> str:
    # the annotation carries file and line itself; the message keeps the layer
    return f"{p.layer}: {p.message}" if p.layer else p.message


def annotations(result: CheckResult) -> list[str]:
    """`::error file=...,line=...::message` for every failed limit and every problem.

    A failed limit points at its key in the spec's `budget:` mapping; a command-line limit or a
    baseline row (written nowhere in the spec) at the spec's first line.
    """
    from ..core.units import binary, exact

    def fmt(unit: str, n: int) -> str:
        return f"{binary(n)} ({exact(n)} bytes)" if unit == "bytes" else exact(n)

    lines = []
    for s in result.specs:
        for r in s.rows:
            if r.passed:
                continue
            line = r.line or 1
            used = f" ({r.share:.1%} of the limit)" if r.share is not None else ""
            if r.baseline is not None:
                text = (f"{s.name}: {r.budget} grew from {exact(r.baseline)} to {exact(r.value)}"
                        f", more than the allowed {float(r.growth or 0):.1%}")
            else:
                origin = "" if r.source == "spec" else f" (set by {BUDGETS[r.budget].option})"
                text = (f"{s.name}: {r.budget} {fmt(r.unit, r.value)} exceeds the budget "
                        f"{fmt(r.unit, r.limit)}{used}{origin}")
            lines.append(f"::error file={_escape_property(s.file)},line={line},"
                         f"title=cnncalc budget::{_escape_data(text)}")
        lines += [finding_annotation(f) for f in s.lint]
        for p in s.problems:
            lines.append(f"::error file={_escape_property(p.file or s.file)},line={p.line or 1},"
                         f"title=cnncalc invalid spec::{_escape_data(_text(p))}")
    for p in result.problems:
        where = f"file={_escape_property(p.file)},line={p.line or 1}," if p.file else ""
        lines.append(f"::error {where}title=cnncalc::{_escape_data(p.format())}")
    return lines


def finding_annotation(f: Any) -> str:
    """A lint finding (`analyses.lint.Finding`) as `::warning file=...,line=...,title=cnncalc
    lint RULE::LAYER: message. Fix: hint` (`cnncalc lint` and `check --lint`)."""
    text = f"{f.path}: {f.message}. Fix: {f.hint}"
    return (f"::warning file={_escape_property(f.file)},line={f.line or 1},"
            f"title={_escape_property('cnncalc lint ' + f.rule)}::{_escape_data(text)}")
