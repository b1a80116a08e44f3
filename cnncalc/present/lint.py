"""The Result of `cnncalc lint` (one row per finding, the reasons and fixes of the rules that
fired, a verdict), its JSON document, its GitHub Actions annotations, and the table of rules
(`cnncalc lint --rules`)."""

from __future__ import annotations

from typing import Any

from ..analyses.lint import RULES, Finding, LintResult, SpecLint
from ..errors import Problem
from ..result import Column, Result, Row, Table
from .check import _escape_data, _escape_property, finding_annotation

COLUMNS = [
    Column("spec", "Spec"),
    Column("where", "Where", machine=False),
    Column("file", "file", human=False),
    Column("line", "line", "count", human=False),
    Column("layer", "Layer"),
    Column("rule", "Rule"),
    Column("message", "Finding"),
    Column("reason", "reason", human=False),
    Column("hint", "hint", human=False),
]


def _where(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line else file


def rows(result: LintResult, detail: bool = True) -> list[Row]:
    out = []
    for s in result.specs:
        name = s.name or s.ref
        if s.status == "invalid":
            first = s.problems[0].message if s.problems else ""
            text = (f"INVALID: {first}" if detail else
                    f"INVALID ({len(s.problems)} problem{'s' if len(s.problems) != 1 else ''})")
            out.append(Row({"spec": name, "where": s.file, "file": s.file, "rule": "invalid",
                            "message": text}, role="invalid"))
            continue
        if not s.findings:
            out.append(Row({"spec": name, "where": s.file, "file": s.file, "rule": "",
                            "message": "clean"}, role="pass"))
        for f in s.findings:
            out.append(Row({"spec": name, "where": _where(f.file, f.line), "file": f.file,
                            "line": f.line, "layer": f.path, "rule": f.rule,
                            "message": f.message, "reason": f.reason, "hint": f.hint},
                           role="fail"))
    return out


def rule_notes(findings: list[Finding]) -> list[str]:
    """One line per rule that fired: its reason and its fix, once."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return [f"{rule} ({n}): {RULES[rule].reason}. Fix: {RULES[rule].hint}."
            for rule, n in counts.items()]


def verdict(result: LintResult) -> str:
    parts = []
    for s in result.specs:
        name = s.name or s.ref
        if s.status == "invalid":
            parts.append(f"{name}: invalid")
        else:
            n = len(s.findings)
            text = f"{name}: {n} finding{'s' if n != 1 else ''}" if n else f"{name}: clean"
            if s.ignored:
                text += f" ({s.ignored} ignored)"
            parts.append(text)
    return "; ".join(parts) + f" (exit {result.exit_code})"


def result(found: LintResult, detail: bool = True, rules_run: tuple[str, ...] = ()) -> Result:
    findings = [f for s in found.specs for f in s.findings]
    notes = rule_notes(findings) + [verdict(found)]
    dtypes = {s.dtype for s in found.specs}
    if dtypes <= {"fp32"}:
        notes.append("tensor-core-channels rests at fp32: lint with --dtype fp16 (bf16, int8) "
                     "for the channel counts tensor cores need")
    title = "cnncalc lint: " + ", ".join(s.name or s.ref for s in found.specs)
    return Result("lint", title, [Table("findings", COLUMNS, rows(found, detail), json=False)],
                  notes=notes, data=document(found, rules_run), exit_code=found.exit_code)


def _problem(p: Problem) -> dict[str, Any]:
    return {"message": p.message, "file": p.file, "line": p.line, "layer": p.layer}


def document(found: LintResult, rules_run: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON document of `cnncalc lint --format json`."""
    return {
        "exit_code": found.exit_code,
        "rules": list(rules_run or RULES),
        "problems": [_problem(p) for p in found.problems],
        "specs": [_spec(s) for s in found.specs],
    }


def _spec(s: SpecLint) -> dict[str, Any]:
    return {"ref": s.ref, "file": s.file, "spec": s.name, "status": s.status, "dtype": s.dtype,
            "findings": [f.to_dict() for f in s.findings], "ignored": s.ignored,
            "problems": [_problem(p) for p in s.problems]}


def annotations(found: LintResult) -> list[str]:
    """A warning per finding; an error per problem of an invalid spec."""
    lines = []
    for s in found.specs:
        lines += [finding_annotation(f) for f in s.findings]
        for p in s.problems:
            lines.append(f"::error file={_escape_property(p.file or s.file)},line={p.line or 1},"
                         f"title=cnncalc invalid spec::{_escape_data(p.format())}")
    return lines


RULE_COLUMNS = [Column("id", "Rule"), Column("reason", "Why it matters"),
                Column("hint", "Fix")]


def rules_result() -> Result:
    """The table of rules (`cnncalc lint --rules`)."""
    return Result("lint", "cnncalc lint: the rules", [Table("rules", RULE_COLUMNS, [
        Row({"id": r.id, "reason": r.reason, "hint": r.hint}) for r in RULES.values()])],
        notes=["Silence a rule with --ignore RULE, or on an entry (and everything inside it) "
               "with lint: {ignore: [RULE]} in the spec."])
