"""Arithmetic in specs: `$name` and `$(expression)`.

A string field that starts with `$` is evaluated against the variables in scope: the block's
arguments and `let` values, the spec's `vars`, the repeat index `i`, and the shape of the input
(`in_height`, `in_width`, `in_channels`). Only arithmetic, comparisons, `and`/`or`/`not`,
`x if cond else y`, the functions below, list literals `[a, b]`, indexing `xs[i]` and slicing
`xs[a:b]` are allowed; nothing else of Python is reachable.

Lists are for architectures whose widths are computed (RegNet: `round(log(range(depth) * wa +
w0) ...)`): flat lists of numbers (or text), at most `MAX_LIST` long. Arithmetic with a list
goes element by element, as numpy's does (`range(3) * 2 + 1` is `[1, 3, 5]`; two lists must be
of one length), and so do the one-number functions (`round`, `log`, ...); `min`, `max`, `sum`,
`len`, `count` and `unique` read a whole list. A list is neither true nor false and is not
compared (Python and numpy disagree on what `xs < ys` means): both are refused. Each list an
evaluation builds or reads costs its length in steps of the budget (`budget`).
"""

from __future__ import annotations

import ast
import io
import math
import operator
import tokenize
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import CnnCalcError


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10% down.

    The rule of TensorFlow's MobileNet code and torchvision's `_make_divisible`.
    """
    if min_value is None:
        min_value = divisor
    if isinstance(value, float) and not math.isfinite(value):  # int() would raise OverflowError
        raise CnnCalcError(f"make_divisible: the channel count {value} is not a finite number")
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def whole_number(value: Any) -> int | None:
    """`value` as a positive whole number (32 or 32.0), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if value >= 1 else None


def scaled_channels(c: Any, width: float, divisor: int = 8) -> Any:
    """A channel count scaled by `cnncalc scale --width`: `make_divisible(c * width,
    divisor)`; width 1 keeps `c`. `scale` writes it around a width given by an expression
    (`$(scaled_channels(16 * k, 2.0, 8))`). A value that is not a positive whole number is
    returned as it is, for the layer's own check to refuse."""
    whole = whole_number(c)
    if whole is None or width == 1:
        return c
    return make_divisible(whole * width, divisor)


def scaled_repeats(n: Any, depth: float) -> Any:
    """A repeat count scaled by `cnncalc scale --depth`: `ceil(n * depth)`, at least 1
    (torchvision's `adjust_depth`); what `scale` writes around `repeat: $n`. A value that is
    not a positive whole number is returned as it is, for the repeat's own check."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:  # a repeat is an int (not 2.0)
        return n
    return max(1, math.ceil(n * depth))


def _log(value: Any, base: Any = None) -> float:
    """The natural logarithm, or to `base` (math.log; RegNet's widths are logs)."""
    return math.log(value) if base is None else math.log(value, base)


def _round(value: Any, ndigits: Any = None) -> Any:
    """`round`, refusing huge `ndigits` (`round(5, -10**18)` would compute 10**(10**18))."""
    if ndigits is None:
        return round(value)
    if not isinstance(ndigits, int) or abs(ndigits) > 400:
        raise ValueError(f"round: ndigits must be an integer within +-400, got {ndigits!r}")
    return round(value, ndigits)


#: The largest integer an expression may produce, in bits (2**64 ** 64 is 4096 bits).
MAX_BITS = 4096
#: The longest list an expression may hold (as many as the rows an analysis computes).
MAX_LIST = 10_000


def _many(name: str, args: tuple[Any, ...]) -> Any:
    """`min`/`max`: of one list, or of several numbers (never of a list and numbers)."""
    if len(args) == 1 and isinstance(args[0], list):
        if not args[0]:
            raise ValueError(f"{name}() of an empty list")
        return min(args[0]) if name == "min" else max(args[0])
    if len(args) < 2 or any(isinstance(a, list) for a in args):
        raise ValueError(f"{name}() takes one list or at least two numbers")
    return min(args) if name == "min" else max(args)


def _a_list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{name}() takes a list, got {_what(value)}")
    return value


def _range(*args: Any) -> list[int]:
    """`range(stop)`, `range(start, stop[, step])` as a list of at most MAX_LIST ints."""
    if not 1 <= len(args) <= 3:
        raise ValueError("range() takes 1 to 3 whole numbers")
    if any(isinstance(a, bool) or not isinstance(a, int) for a in args):
        raise ValueError(f"range() takes whole numbers, got {', '.join(map(_what, args))}")
    numbers = range(*args)
    if len(numbers) > MAX_LIST:
        raise ValueError(f"range() of {len(numbers):,} numbers: a list holds at most "
                         f"{MAX_LIST:,}")
    return list(numbers)


def _unique(xs: Any) -> list[Any]:
    """The distinct values of a list, in the order they first appear."""
    return list(dict.fromkeys(_a_list("unique", xs)))


def _count(xs: Any, value: Any) -> int:
    """How many elements of a list equal `value`."""
    return _a_list("count", xs).count(value)


def _what(value: Any) -> str:
    return f"a list of {len(value)}" if isinstance(value, list) else repr(value)


FUNCTIONS: dict[str, Any] = {
    "min": lambda *args: _many("min", args),
    "max": lambda *args: _many("max", args),
    "abs": abs,
    "int": int,
    "round": _round,
    "floor": math.floor,
    "ceil": math.ceil,
    "make_divisible": make_divisible,
    "scaled_channels": scaled_channels,
    "scaled_repeats": scaled_repeats,
    "log": _log,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "range": _range,
    "len": lambda xs: len(_a_list("len", xs)),
    "sum": lambda xs: sum(_a_list("sum", xs)),
    "count": _count,
    "unique": _unique,
}
#: The functions of numbers that a list argument maps element by element (numpy's way).
ELEMENTWISE = frozenset(("abs", "int", "round", "floor", "ceil", "make_divisible", "log",
                         "exp", "sqrt"))

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}

_CACHE: dict[str, ast.expr] = {}
#: A function of the variables that evaluates each cached expression (see `_compile`).
Compiled = Callable[[Mapping[str, Any]], Any]
_COMPILED: dict[str, Compiled] = {}
#: The work of one evaluation of each cached expression (see `_cost`).
_COSTS: dict[str, int] = {}
#: Steps left to the analyses running now (innermost last); empty: unbounded.
_BUDGETS: list[list[int]] = []


@contextmanager
def budget(steps: int) -> Iterator[None]:
    """Bound the expression work inside the block: every evaluation costs the size of its
    syntax tree (text constants by their length), and past `steps` in all, CnnCalcError.

    A repeated layer evaluates its expressions once per pass, so a few kilobytes of
    `max(1, 1, ...)` repeated thousands of times would otherwise run for minutes.
    """
    _BUDGETS.append([steps, steps])
    try:
        yield
    finally:
        _BUDGETS.pop()


def _cost(tree: ast.expr) -> int:
    return sum(1 + (len(n.value) // 64 if isinstance(n, ast.Constant)
                    and isinstance(n.value, str) else 0) for n in ast.walk(tree))


def _charge(text: str, steps: int) -> None:
    """Spend `steps` more for `text`: the length of a list it builds or reads (an
    evaluation's own syntax tree is charged by `evaluate`)."""
    if not _BUDGETS:
        return
    left = _BUDGETS[-1]
    left[0] -= steps
    if left[0] < 0:
        raise _spent(text, left[1])


def steps_left() -> int:
    """The steps left to the innermost `budget` (the analysis running now)."""
    return _BUDGETS[-1][0]


def spend(steps: int) -> None:
    """Spend `steps` that are known to be left (`steps_left`) in the innermost `budget`: the
    work of evaluations done before whose results are reused (see `engine._Plan`)."""
    _BUDGETS[-1][0] -= steps


def _spent(text: str, steps: int) -> CnnCalcError:
    return CnnCalcError(
        f"the spec's expressions take more than {steps:,} steps to evaluate (one "
        f"step per operator, name, number and list element, at every pass of a "
        f"repeat); the last was {text[:40]!r}{'...' if len(text) > 40 else ''}")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def source_of(text: str) -> str:
    """The expression inside `$name`, `$(...)` or `${...}`.

    The wrapper is removed only when the bracket that opens the text is closed by its last
    character: `$(a + 1) * (b + 1)` is the expression `(a + 1) * (b + 1)`, not
    `a + 1) * (b + 1`. Brackets inside string literals (`$(x == ')')`) do not count.
    """
    body = text[1:].strip()
    for opening, closing in (("(", ")"), ("{", "}")):
        if body.startswith(opening) and body.endswith(closing):
            return body[1:-1] if _closed_at_end(body) else body
    return body


def _closed_at_end(body: str) -> bool:
    """Whether the bracket at `body[0]` is matched by the last token of `body`.

    Python's tokenizer finds the brackets, so that string literals and comments are skipped.
    Brackets of any kind are counted together; a mismatch makes the text invalid anyway.
    """
    depth = 0
    closed = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(body).readline):
            if token.type in _INSIGNIFICANT:
                continue
            if closed:  # something follows the bracket that closed the first one
                return False
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
                closed = depth == 0
    except (tokenize.TokenError, SyntaxError):  # unclosed brackets or strings: not wrapped
        return False
    return closed


_INSIGNIFICANT = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT,
                  tokenize.INDENT, tokenize.DEDENT)


def parse(text: str) -> ast.expr:
    tree = _CACHE.get(text)
    if tree is None:
        source = source_of(text)
        if not source:
            raise CnnCalcError(f"empty expression {text!r}")
        try:
            tree = ast.parse(source, mode="eval").body
        except SyntaxError:
            raise CnnCalcError(f"invalid expression {text!r}") from None
        except (RecursionError, MemoryError):  # thousands of nested or chained operators
            raise CnnCalcError(f"expression too deeply nested: {text[:60]!r}...") from None
        _check(tree, text)
        _CACHE[text] = tree
        _COSTS[text] = _cost(tree)
    return tree


def names_in(text: str) -> set[str]:
    return {n.id for n in ast.walk(parse(text)) if isinstance(n, ast.Name)} - set(FUNCTIONS)


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate `$...` against `env`; errors name the expression."""
    run = _COMPILED.get(text)
    if run is None:
        parse(text)  # refuses what is not an expression
    if _BUDGETS:  # `_charge`, written out: it runs once per evaluation
        left = _BUDGETS[-1]
        left[0] -= _COSTS[text]
        if left[0] < 0:
            raise _spent(text, left[1])
    try:
        if run is None:
            run = _COMPILED[text] = _compile(_CACHE[text], text)
        return run(env)
    except CnnCalcError:
        raise
    except ZeroDivisionError:
        raise CnnCalcError(f"division by zero in {text!r}") from None
    except RecursionError:
        raise CnnCalcError(f"expression too deeply nested: {text[:60]!r}...") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise CnnCalcError(f"cannot evaluate {text!r}: {exc}") from None


def _check(node: ast.AST, text: str) -> None:
    allowed = (
        ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
        ast.Call, ast.Name, ast.Constant, ast.Load, ast.And, ast.Or, ast.List, ast.Subscript,
        ast.Slice, *_BINARY, *_COMPARE, *_UNARY,
    )
    for sub in ast.walk(node):
        if not isinstance(sub, allowed):
            raise CnnCalcError(f"{text!r}: '{type(sub).__name__}' is not allowed in an expression")
        if isinstance(sub, ast.Call):
            if not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS:
                raise CnnCalcError(
                    f"{text!r}: only these functions may be called: {', '.join(FUNCTIONS)}")
            if sub.keywords:
                raise CnnCalcError(f"{text!r}: keyword arguments are not allowed")
        if isinstance(sub, ast.Constant) and not isinstance(sub.value, (int, float, bool, str)):
            raise CnnCalcError(f"{text!r}: unsupported constant {sub.value!r}")


def _compile(node: ast.expr, text: str) -> Compiled:
    """`node` as a function of the variables: the tree is walked once, here, and each
    evaluation runs the functions (what Python does for each node, within the limits above;
    errors name `text`)."""
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda env: value
    if isinstance(node, ast.Name):
        return _name(node.id, text)
    if isinstance(node, ast.BinOp):
        return _binary(_compile(node.left, text), _compile(node.right, text), type(node.op),
                       text)
    if isinstance(node, ast.UnaryOp):
        return _unary_of(_compile(node.operand, text), node.op, text)
    if isinstance(node, ast.BoolOp):
        return _boolean([_compile(v, text) for v in node.values], isinstance(node.op, ast.And),
                        text)
    if isinstance(node, ast.Compare):
        return _comparison(_compile(node.left, text),
                           [(_COMPARE[type(op)], _compile(c, text))
                            for op, c in zip(node.ops, node.comparators, strict=True)], text)
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_compile(n, text) for n in (node.test, node.body, node.orelse))
        return lambda env: body(env) if _truth(test(env), text) else orelse(env)
    if isinstance(node, ast.Call):
        return _call(node.func.id, [_compile(a, text) for a in node.args], text)  # type: ignore[union-attr]
    if isinstance(node, ast.List):
        elements = [_compile(e, text) for e in node.elts]
        return lambda env: _made([e(env) for e in elements], _itself, text)
    if isinstance(node, ast.Subscript):
        return _subscript(node, text)
    raise CnnCalcError(f"{text!r}: unsupported expression")  # pragma: no cover


def _itself(value: Any) -> Any:
    return value


def _name(name: str, text: str) -> Compiled:
    def run(env: Mapping[str, Any]) -> Any:
        try:
            return env[name]
        except KeyError:
            pass
        known = ", ".join(sorted(env)) or "none"
        raise CnnCalcError(f"{text!r}: unknown name '{name}' (known here: {known})")
    return run


def _binary(left: Compiled, right: Compiled, op: type, text: str) -> Compiled:
    def run(env: Mapping[str, Any]) -> Any:
        a, b = left(env), right(env)
        if isinstance(a, list) or isinstance(b, list):
            return _made(_pairs(a, b, text=text), lambda pair: _arithmetic(op, *pair, text),
                         text)
        return _arithmetic(op, a, b, text)
    return run


def _unary_of(operand: Compiled, op: ast.unaryop, text: str) -> Compiled:
    if isinstance(op, ast.Not):
        return lambda env: not _truth(operand(env), text)

    def run(env: Mapping[str, Any]) -> Any:
        value = operand(env)
        if isinstance(value, list):
            return _made(value, lambda x: _unary(op, x, text), text)
        return _unary(op, value, text)
    return run


def _boolean(values: list[Compiled], conjunction: bool, text: str) -> Compiled:
    """`and` (`conjunction`) or `or`: the first operand that decides, else the last."""
    *first, last = values

    def run(env: Mapping[str, Any]) -> Any:
        for value in first:
            result = value(env)
            if _truth(result, text) is not conjunction:
                return result
        return last(env)
    return run


def _comparison(left: Compiled, rest: list[tuple[Any, Compiled]], text: str) -> Compiled:
    def run(env: Mapping[str, Any]) -> Any:
        a = left(env)
        for compare, right in rest:
            b = right(env)
            if isinstance(a, list) or isinstance(b, list):
                raise CnnCalcError(f"{text!r}: lists are not compared; compare their "
                                   "elements (xs[0] == 8), len() or count()")
            if not compare(a, b):
                return False
            a = b
        return True
    return run


def _call(name: str, args: list[Compiled], text: str) -> Compiled:
    function, elementwise = FUNCTIONS[name], name in ELEMENTWISE

    def run(env: Mapping[str, Any]) -> Any:
        values = [a(env) for a in args]
        lists = [a for a in values if isinstance(a, list)]
        if lists:
            _charge(text, sum(map(len, lists)))
            if elementwise:
                rows = _pairs(*values, text=text, what=f"{name}()")
                return _made(rows, lambda row: _checked(function(*row), text), text)
        result = _checked(function(*values), text)
        if isinstance(result, list):
            result = _made(result, _itself, text)
        return result
    return run


def _arithmetic(op: type, left: Any, right: Any, text: str) -> Any:
    """One binary operator on two numbers, within the limits on size."""
    if isinstance(left, str) or isinstance(right, str):
        # 'ab' * 10**9 would build a gigabyte; text is for comparisons only.
        raise CnnCalcError(f"{text!r}: arithmetic on text is not allowed")
    if op is ast.Pow and (abs(right) > 64 or abs(left) > 2**64):
        raise CnnCalcError(f"{text!r}: power too large")
    return _checked(_BINARY[op](left, right), text)


def _unary(op: ast.unaryop, operand: Any, text: str) -> Any:
    if isinstance(operand, str):
        raise CnnCalcError(f"{text!r}: arithmetic on text is not allowed")
    return _UNARY[type(op)](operand)


def _checked(result: Any, text: str) -> Any:
    if isinstance(result, int) and result.bit_length() > MAX_BITS:
        # Chained lets (a2 = a1 * a1, ...) could otherwise square a number into gigabytes.
        raise CnnCalcError(f"{text!r}: number too large (more than {MAX_BITS} bits)")
    return result


def _truth(value: Any, text: str) -> bool:
    if isinstance(value, list):
        raise CnnCalcError(f"{text!r}: a list is neither true nor false; test len(xs) > 0 "
                           "or an element")
    return bool(value)


def _pairs(*args: Any, text: str, what: str = "arithmetic") -> list[tuple[Any, ...]]:
    """The rows of an element-by-element operation: lists of one length side by side,
    numbers repeated along them."""
    lengths = {len(a) for a in args if isinstance(a, list)}
    if len(lengths) > 1:
        raise CnnCalcError(f"{text!r}: {what} on lists of different lengths "
                           f"({', '.join(map(str, sorted(lengths)))})")
    n = lengths.pop()
    return list(zip(*(a if isinstance(a, list) else [a] * n for a in args), strict=True))


def _made(items: list[Any], each: Any, text: str) -> list[Any]:
    """A new list of `each(item)`: flat, at most MAX_LIST long, its length charged."""
    if len(items) > MAX_LIST:
        raise CnnCalcError(f"{text!r}: a list of {len(items):,} elements; a list holds at "
                           f"most {MAX_LIST:,}")
    _charge(text, len(items))
    out = [each(x) for x in items]
    if any(isinstance(x, (list, dict)) for x in out):
        raise CnnCalcError(f"{text!r}: a list may hold only numbers and text, not lists")
    return out


def _subscript(node: ast.Subscript, text: str) -> Compiled:
    """`xs[i]` (negative counts from the end) or `xs[a:b:s]`, of a list only."""
    of = _compile(node.value, text)
    if isinstance(node.slice, ast.Slice):
        parts = [None if part is None else _compile(part, text)
                 for part in (node.slice.lower, node.slice.upper, node.slice.step)]

        def sliced(env: Mapping[str, Any]) -> Any:
            value = _listed(of(env), text)
            bounds = [None if part is None else part(env) for part in parts]
            if any(b is not None and (isinstance(b, bool) or not isinstance(b, int))
                   for b in bounds):
                raise CnnCalcError(f"{text!r}: slice bounds must be whole numbers")
            if bounds[2] == 0:
                raise CnnCalcError(f"{text!r}: a slice step cannot be zero")
            return _made(value[slice(*bounds)], _itself, text)
        return sliced
    at = _compile(node.slice, text)

    def indexed(env: Mapping[str, Any]) -> Any:
        value = _listed(of(env), text)
        index = at(env)
        if isinstance(index, bool) or not isinstance(index, int):
            raise CnnCalcError(f"{text!r}: a list index must be a whole number, got "
                               f"{_what(index)}")
        if not -len(value) <= index < len(value):
            raise CnnCalcError(f"{text!r}: index {index} is outside the list of {len(value)} "
                               f"(0 to {len(value) - 1}, or -1 for the last)")
        return value[index]
    return indexed


def _listed(value: Any, text: str) -> list[Any]:
    if not isinstance(value, list):
        raise CnnCalcError(f"{text!r}: only a list can be indexed, not {_what(value)}")
    return value


def resolve(value: Any, env: Mapping[str, Any]) -> Any:
    """Evaluate every `$...` string inside a value (lists and mappings included)."""
    if isinstance(value, str):
        return evaluate(value, env) if value.startswith("$") else value
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    return value
