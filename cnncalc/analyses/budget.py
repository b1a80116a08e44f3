"""Budgets: limits on a network's size and cost, read from a spec or the command line, and checked.

A spec may carry a top-level `budget:` mapping; `cnncalc check` may add `--max-...` options. Each
limit is one of BUDGETS (params, trainable_params, macs, flops, param_memory, activation_memory,
peak_memory); a limit on the command line replaces the spec's limit of the same name. Two more
keys of `budget:` are settings, not limits: `batch` and `dtype`, the conditions under which the
limits hold (MACs and activation memory scale with the batch, memory with the dtype); `--batch`
and `--dtype` on the command line win over them.

A value passes when `value <= limit` (a budget is the largest allowed value). The regression gate
compares params and MACs with a saved `cnncalc show --format json` report: with an allowed growth
share g, the limit is `floor(baseline * (1 + g))`, the largest whole number that grew by at most g.

Everything here is pure: a CheckResult is data; `present.check` arranges it for the writers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any, Literal

from ..core.report import Report
from ..core.units import DTYPE_BYTES, parse_bytes, parse_count
from ..errors import CnnCalcError, Problem

Unit = Literal["count", "bytes"]


def _peak(report: Report) -> int:
    from .memory import peak_inference  # lazily: only the peak_memory budget needs it

    return int(peak_inference(report))


@dataclass(frozen=True, slots=True)
class Budget:
    """One kind of limit: its key, unit, what it measures and how to read it off a Report."""

    key: str
    unit: Unit
    meaning: str
    measure: Callable[[Report], int]

    @property
    def option(self) -> str:
        return "--max-" + self.key.replace("_", "-")


BUDGETS: dict[str, Budget] = {b.key: b for b in (
    Budget("params", "count", "learnable parameters (trainable + frozen)",
           lambda r: r.totals.params),
    Budget("trainable_params", "count", "trainable parameters",
           lambda r: r.totals.trainable_params),
    Budget("macs", "count", "multiply-accumulates of one forward pass of the batch",
           lambda r: r.macs(r.totals)),
    Budget("flops", "count", "2 x MACs", lambda r: r.flops(r.totals)),
    Budget("param_memory", "bytes", "parameters x bytes per element (buffers excluded)",
           lambda r: r.param_bytes),
    Budget("activation_memory", "bytes",
           "every layer's output for the batch x bytes per element (input excluded)",
           lambda r: r.activation_bytes),
    Budget("peak_memory", "bytes", "peak memory of inference (cnncalc.memory.peak_inference)",
           _peak),
)}
SETTINGS = ("batch", "dtype")


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit as written: where it came from (`spec` or `cli`) and the line of its key."""

    key: str
    limit: int
    source: Literal["spec", "cli"]
    line: int | None = None
    text: str = ""


@dataclass(slots=True)
class Budgets:
    """The limits and settings of one spec, after the command line has been applied."""

    limits: dict[str, Limit] = field(default_factory=dict)
    batch: int | None = None
    dtype: str | None = None
    line: int | None = None  # the line of `budget:` itself


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """One checked limit of one spec. `baseline` is set on regression-gate rows."""

    budget: str
    unit: Unit
    value: int
    limit: int
    source: Literal["spec", "cli", "baseline"]
    line: int | None = None
    baseline: int | None = None
    growth: Fraction | None = None  # the allowed growth share of a baseline row

    @property
    def passed(self) -> bool:
        return self.value <= self.limit

    @property
    def share(self) -> float | None:
        """value / limit (1.0 = exactly at the limit); None for a zero limit."""
        return self.value / self.limit if self.limit else None

    @property
    def label(self) -> str:
        return f"{self.budget} vs baseline" if self.baseline is not None else self.budget


Status = Literal["pass", "fail", "invalid", "unchecked"]


@dataclass(slots=True)
class SpecCheck:
    """The outcome for one spec reference: its rows, or the problems that stopped it."""

    ref: str
    file: str
    name: str = ""
    rows: list[LimitCheck] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    batch: int = 1
    dtype: str = "fp32"
    budget_line: int | None = None
    #: `check --lint`: whether the spec was linted, and its findings (`analyses.lint.Finding`)
    linted: bool = False
    lint: list[Any] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if self.problems:
            return "invalid"
        if not self.rows and not self.linted:
            return "unchecked"
        return "pass" if all(r.passed for r in self.rows) and not self.lint else "fail"


EXIT_OK, EXIT_EXCEEDED, EXIT_INVALID = 0, 1, 2


@dataclass(slots=True)
class CheckResult:
    """Every spec's outcome, in the order given; `exit_code` is the command's exit status."""

    specs: list[SpecCheck]
    require_budget: bool = False
    problems: list[Problem] = field(default_factory=list)  # not tied to one spec (a baseline)
    #: the convention params and MACs were counted in (`measure_in`)
    convention: str = "cnncalc"

    @property
    def exit_code(self) -> int:
        statuses = {s.status for s in self.specs}
        if self.problems or "invalid" in statuses:
            return EXIT_INVALID
        if "fail" in statuses or (self.require_budget and any(
                not s.rows for s in self.specs)):  # nothing checked but lint (or nothing)
            return EXIT_EXCEEDED
        return EXIT_OK


# --------------------------------------------------------------------------- reading limits

def parse_limit(key: str, value: Any, what: str) -> int:
    """A limit's value in its unit (`5M` params, `20MiB` memory); CnnCalcError when unreadable."""
    budget = BUDGETS[key]
    return (parse_count if budget.unit == "count" else parse_bytes)(value, what)


def spec_budgets(budget: dict[str, Any] | None, lines: dict[str, int], file: str,
                 budget_line: int | None = None) -> Budgets:
    """The limits of a spec's `budget:` mapping, every problem located at its key's line."""
    out = Budgets(line=budget_line)
    problems: list[Problem] = []
    for key, value in (budget or {}).items():
        line = lines.get(key, budget_line)
        try:
            if key == "batch":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise CnnCalcError(f"budget.batch: must be a whole number >= 1, "
                                       f"got {value!r}")
                out.batch = value
            elif key == "dtype":
                if value not in DTYPE_BYTES:
                    raise CnnCalcError(f"budget.dtype: must be one of "
                                       f"{', '.join(DTYPE_BYTES)}, got {value!r}")
                out.dtype = value
            elif key in BUDGETS:
                out.limits[key] = Limit(key, parse_limit(key, value, f"budget.{key}"), "spec",
                                        line, str(value))
            else:
                from ..errors import suggest

                raise CnnCalcError(
                    f"budget: unknown key {key!r}{suggest(key, [*BUDGETS, *SETTINGS])}; "
                    f"known: {', '.join([*BUDGETS, *SETTINGS])}")
        except CnnCalcError as exc:
            problems.extend(exc.located(file=file, line=line).problems)
    if problems:
        raise CnnCalcError(problems)
    return out


def budgets_of(spec: Any) -> Budgets:
    """The `budget:` of a checked Spec (`core.spec.Spec`), every problem at its key's line."""
    from ..core.loader import LineDict

    raw = spec.raw
    line = raw.line_of("budget") if isinstance(raw, LineDict) and "budget" in raw else None
    return spec_budgets(spec.budget, spec.budget_lines, spec.file, line)


def cli_limits(options: dict[str, str | None]) -> dict[str, Limit]:
    """`{"params": "5M", "macs": None, ...}` from the `--max-...` options -> Limits."""
    out: dict[str, Limit] = {}
    problems: list[Problem] = []
    for key, text in options.items():
        if text is None:
            continue
        try:
            out[key] = Limit(key, parse_limit(key, text, BUDGETS[key].option), "cli", None, text)
        except CnnCalcError as exc:
            problems.extend(exc.located(file="command line").problems)
    if problems:
        raise CnnCalcError(problems)
    return out


#: A baseline is a small JSON report; anything larger is not one (and is not read whole).
MAX_BASELINE_BYTES = 8 * 2**20
#: The commands whose JSON report carries the totals a baseline needs.
BASELINE_COMMANDS = ("show", "scale")


@cache
def _baseline_model() -> Any:
    """The pydantic model of a baseline: only the fields the gate uses, each strictly typed
    (JSON `true`, `2.0`, `"2"` and `null` are not whole numbers), extra keys ignored."""
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field

    from ..core.engine import MAX_COUNT

    Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]

    class Counted(BaseModel):
        model_config = ConfigDict(extra="ignore")
        params: Count | None = None
        macs: Count

    class Totals(BaseModel):  # a peer convention's totals beside cnncalc's, when counted
        model_config = ConfigDict(extra="ignore")
        params: Count
        macs: Count
        convention: Counted | None = None

    class Convention(BaseModel):
        model_config = ConfigDict(extra="ignore")
        name: Annotated[str, Field(strict=True)] = "cnncalc"

    class Baseline(BaseModel):
        model_config = ConfigDict(extra="ignore")
        command: Annotated[str, Field(strict=True)] = "show"
        spec: Annotated[str, Field(strict=True)] = ""
        batch: Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)] = 1
        totals: Totals
        convention: Convention = Convention()

    return Baseline


def _shown(value: Any) -> str:
    """A JSON value as a message quotes it: short, whatever its size."""
    text = json.dumps(value) if not isinstance(value, int) or abs(value) < 10**30 else (
        f"an integer of {len(str(abs(value)))} digits")
    return text if len(text) <= 60 else text[:57] + "..."


def load_baseline(path: str) -> dict[str, Any]:
    """A saved `cnncalc show --format json` report: its spec name, batch and total params/MACs.

    Validated field by field (`_baseline_model`); every problem is a CnnCalcError naming the
    file and the field (`totals.params: must be a whole number >= 0, got -5`), never a crash:
    not UTF-8, not JSON, nested too deeply, numbers past 10^100, duplicate keys, a folder.
    """
    from ..core.loader import read_json

    def problem(message: str, line: int | None = None) -> CnnCalcError:
        return CnnCalcError(Problem(message, file=path, line=line))

    doc = read_json(path, MAX_BASELINE_BYTES, "the baseline", "baseline file", "a report",
                    "give the JSON file that 'cnncalc show --format json --output FILE' wrote",
                    "a 'cnncalc show --format json' report is much smaller")
    if not isinstance(doc, dict):
        raise problem("the baseline is not a report of 'cnncalc show --format json' (a JSON "
                      f"object with totals.params and totals.macs); got {_shown(doc)}")
    return _validated(doc, path)


def _validated(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """The gate's fields of a baseline's JSON object, or every field's problem at once."""
    from pydantic import ValidationError

    command = doc.get("command")
    if isinstance(command, str) and command not in BASELINE_COMMANDS:
        raise CnnCalcError(Problem(f"the baseline is a report of 'cnncalc {command}', not of "
                                   "'cnncalc show --format json'", file=path))
    try:
        baseline = _baseline_model().model_validate(doc)
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            kind = error["type"]
            if kind == "missing":
                text = "missing"
            elif field == "command" or field == "spec":
                text = f"must be text, got {_shown(error['input'])}"
            elif kind in ("greater_than_equal", "less_than_equal"):
                bound = error.get("ctx", {})
                low = bound.get("ge")
                text = (f"must be at least {low}" if kind == "greater_than_equal" else
                        "must be at most 10^100") + f", got {_shown(error['input'])}"
            elif kind in ("model_type", "model_attributes_type", "dict_type"):
                text = f"must be an object, got {_shown(error['input'])}"
            else:
                text = f"must be a whole number, got {_shown(error['input'])}"
            messages.append(f"{field}: {text}")
        raise CnnCalcError([Problem(f"the baseline is not a report of 'cnncalc show --format "
                                    f"json': {m}", file=path) for m in messages]) from None
    counted = baseline.totals.convention
    peer = baseline.convention.name != "cnncalc" and counted is not None
    return {"file": path, "spec": baseline.spec, "batch": baseline.batch,
            "convention": baseline.convention.name if peer else "cnncalc",
            "params": (counted.params if peer and counted.params is not None  # type: ignore[union-attr]
                       else baseline.totals.params),
            "macs": counted.macs if peer else baseline.totals.macs}  # type: ignore[union-attr]


def growth_limit(baseline: int, growth: Fraction) -> int:
    """The largest whole value that grew by at most `growth` over `baseline`."""
    return int(baseline * (1 + growth))  # int() of a non-negative Fraction is its floor


# --------------------------------------------------------------------------- checking

def measure_in(convention: str) -> Callable[[str, Report], int]:
    """How to read a budget's value off a Report in a convention: params, trainable params,
    MACs and FLOPs as that tool counts them (MACs: its number in multiply-adds; FLOPs: twice
    that; FlopCounterMode reports no params, so cnncalc's stand in), the memory budgets as
    they are."""
    if convention == "cnncalc":
        return lambda key, report: BUDGETS[key].measure(report)
    from .conventions import count

    def measure(key: str, report: Report) -> int:
        if key not in ("params", "trainable_params", "macs", "flops"):
            return BUDGETS[key].measure(report)
        counted = count(report, convention)
        if key in ("macs", "flops"):
            return (2 if key == "flops" else 1) * (counted.number // counted.convention.per_mac)
        if not counted.convention.has_params:
            return BUDGETS[key].measure(report)
        return counted.total.params if key == "params" else counted.total.trainable_params
    return measure


def check_spec(ref: str, cli: dict[str, Limit], *, input_shape: tuple[int, ...] | None = None,
               batch: int | None = None, dtype: str | None = None,
               baseline: dict[str, Any] | None = None, growth: Fraction | None = None,
               rewrite: Callable[[Any], Any] | None = None,
               convention: str = "cnncalc") -> SpecCheck:
    """Load, analyse and check one spec; problems are collected in the result, never raised.
    `convention`: params and MACs as that tool counts them (`measure_in`)."""
    from ..core.engine import analyze
    from ..core.source import load, resolve

    result = SpecCheck(ref=ref, file=ref)
    try:
        result.file = resolve(ref)[0]
        spec = load(ref, rewrite)  # rewrite: `--var` (core.variables)
        result.name = spec.name
        budgets = budgets_of(spec)
        result.budget_line = budgets.line
        limits = {**budgets.limits, **cli}
        result.batch = batch or budgets.batch or 1
        result.dtype = dtype or budgets.dtype or "fp32"
        report = analyze(spec, input_shape, result.batch, result.dtype)
        measure = measure_in(convention)
        for key in BUDGETS:  # in the table's order, not the spec's
            if key in limits:
                lim = limits[key]
                result.rows.append(LimitCheck(key, BUDGETS[key].unit, measure(key, report),
                                       lim.limit, lim.source,
                                       lim.line if lim.source == "spec" else None))
        if baseline is not None:
            share = growth if growth is not None else Fraction(0)
            if baseline["batch"] != result.batch:
                raise CnnCalcError(Problem(
                    f"the baseline was saved at batch {baseline['batch']} and this check runs "
                    f"at batch {result.batch}; MACs scale with the batch, so pass "
                    f"--batch {baseline['batch']}", file=baseline["file"]))
            if baseline["convention"] != convention:
                raise CnnCalcError(Problem(
                    f"the baseline was counted as {baseline['convention']} and this check "
                    f"counts as {convention}; pass --convention {baseline['convention']}, or "
                    f"save the baseline with --convention {convention}",
                    file=baseline["file"]))
            for key in ("params", "macs"):
                result.rows.append(LimitCheck(key, "count", measure(key, report),
                                       growth_limit(baseline[key], share), "baseline",
                                       None, baseline[key], share))
    except CnnCalcError as exc:
        result.problems = exc.located(file=result.file).problems
        result.rows = []
    return result


def check_budgets(refs: Iterable[str], cli: dict[str, Limit] | None = None, *,
                  input_shape: tuple[int, ...] | None = None, batch: int | None = None,
                  dtype: str | None = None, baselines: Iterable[str] = (),
                  growth: Fraction | None = None, require_budget: bool = False,
                  rewrite: Callable[[Any], Any] | None = None,
                  convention: str = "cnncalc") -> CheckResult:
    """Check every spec; a baseline applies to the spec of the same name (or, with one spec and
    one baseline, to that spec whatever its name)."""
    result = CheckResult([], require_budget, convention=convention)
    loaded = []
    for path in baselines:
        try:
            loaded.append(load_baseline(path))
        except CnnCalcError as exc:
            result.problems.extend(exc.problems)
    used: set[int] = set()
    for ref in refs:
        checked = check_spec(ref, cli or {}, input_shape=input_shape, batch=batch, dtype=dtype,
                             rewrite=rewrite, convention=convention)
        base = None
        if loaded and checked.status != "invalid":
            matches = [i for i, b in enumerate(loaded) if b["spec"] == checked.name]
            if not matches and len(loaded) == 1 and len(refs) == 1:
                matches = [0]
            if matches:
                base = loaded[matches[0]]
                used.add(matches[0])
        if base is not None:
            checked = check_spec(ref, cli or {}, input_shape=input_shape, batch=batch,
                                 dtype=dtype, baseline=base, growth=growth, rewrite=rewrite,
                                 convention=convention)
        result.specs.append(checked)
    for i, b in enumerate(loaded):
        if i not in used and all(s.status != "invalid" for s in result.specs):
            result.problems.append(Problem(
                f"the baseline is a report of spec {b['spec']!r}, which is not among the "
                f"checked specs", file=b["file"]))
    return result
