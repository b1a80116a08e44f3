"""Arithmetic in specs: `$name` and `$(expression)`.

A string field that starts with `$` is evaluated against the variables in scope: the block's
arguments and `let` values, the spec's `vars`, the repeat index `i`, and the shape of the input
(`in_height`, `in_width`, `in_channels`). Only arithmetic, comparisons, `and`/`or`/`not`,
`x if cond else y` and the functions below are allowed; nothing else of Python is reachable.
"""

from __future__ import annotations

import ast
import io
import math
import operator
import tokenize
from collections.abc import Iterator, Mapping
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


def _round(value: Any, ndigits: Any = None) -> Any:
    """`round`, refusing huge `ndigits` (`round(5, -10**18)` would compute 10**(10**18))."""
    if ndigits is None:
        return round(value)
    if not isinstance(ndigits, int) or abs(ndigits) > 400:
        raise ValueError(f"round: ndigits must be an integer within +-400, got {ndigits!r}")
    return round(value, ndigits)


#: The largest integer an expression may produce, in bits (2**64 ** 64 is 4096 bits).
MAX_BITS = 4096

FUNCTIONS: dict[str, Any] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "round": _round,
    "floor": math.floor,
    "ceil": math.ceil,
    "make_divisible": make_divisible,
    "scaled_channels": scaled_channels,
    "scaled_repeats": scaled_repeats,
}

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


def _charge(text: str) -> None:
    if not _BUDGETS:
        return
    left = _BUDGETS[-1]
    left[0] -= _COSTS[text]
    if left[0] < 0:
        raise CnnCalcError(
            f"the spec's expressions take more than {left[1]:,} steps to evaluate (one "
            f"step per operator, name and number, at every pass of a repeat); the last was "
            f"{text[:40]!r}{'...' if len(text) > 40 else ''}")


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
    tree = parse(text)
    _charge(text)
    try:
        return _eval(tree, env, text)
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
        ast.Call, ast.Name, ast.Constant, ast.Load, ast.And, ast.Or,
        *_BINARY, *_COMPARE, *_UNARY,
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


def _eval(node: ast.expr, env: Mapping[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        known = ", ".join(sorted(env)) or "none"
        raise CnnCalcError(f"{text!r}: unknown name '{node.id}' (known here: {known})")
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, env, text)
        right = _eval(node.right, env, text)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 2**64):
            raise CnnCalcError(f"{text!r}: power too large")
        if isinstance(left, str) or isinstance(right, str):
            # 'ab' * 10**9 would build a gigabyte; text is for comparisons only.
            raise CnnCalcError(f"{text!r}: arithmetic on text is not allowed")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, int) and result.bit_length() > MAX_BITS:
            # Chained lets (a2 = a1 * a1, ...) could otherwise square a number into gigabytes.
            raise CnnCalcError(f"{text!r}: number too large (more than {MAX_BITS} bits)")
        return result
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, env, text))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _eval(value, env, text)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = _eval(value, env, text)
            if result:
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env, text)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, env, text)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        branch = node.body if _eval(node.test, env, text) else node.orelse
        return _eval(branch, env, text)
    if isinstance(node, ast.Call):
        func = FUNCTIONS[node.func.id]  # type: ignore[union-attr]
        return func(*(_eval(a, env, text) for a in node.args))
    raise CnnCalcError(f"{text!r}: unsupported expression")  # pragma: no cover


def resolve(value: Any, env: Mapping[str, Any]) -> Any:
    """Evaluate every `$...` string inside a value (lists and mappings included)."""
    if isinstance(value, str):
        return evaluate(value, env) if value.startswith("$") else value
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    return value
