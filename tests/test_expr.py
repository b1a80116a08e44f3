"""Spec expressions (`$name`, `$(...)`, `${...}`) tested as a language.

The truth is Python's own expression semantics (the language reference: precedence, `//` floors,
`**` is right-associative and binds tighter than a unary minus on its left, comparisons chain
pairwise, `and`/`or` return an operand and short-circuit), which cnncalc promises for the subset
it allows; a property test renders random expression trees and compares with `eval`.
`make_divisible` is compared with torchvision's `_make_divisible`, written out below.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.core.expr import FUNCTIONS, budget, evaluate, make_divisible, names_in, source_of
from cnncalc.errors import CnnCalcError

ENV = {"a": 2, "b": 3, "c": 0, "w": 1.5, "s": "relu"}


def ev(text: str, env: dict[str, Any] | None = None) -> Any:
    return evaluate(text, ENV if env is None else env)


def same(value: Any, expected: Any) -> bool:
    """Equal and of the same type (`7 / 7` is the float 1.0, `7 // 7` the int 1)."""
    return type(value) is type(expected) and value == expected


# --------------------------------------------------------------------------- the wrapper

@pytest.mark.parametrize("text, source", [
    ("$a", "a"),
    ("$(a)", "a"),
    ("${a}", "a"),
    ("$ (a) ", "a"),
    ("$((a + 1) * (b + 1))", "(a + 1) * (b + 1)"),
    ("$(a + 1) * (b + 1)", "(a + 1) * (b + 1)"),  # the first ')' closes the first '('
    ("$(a) + (b)", "(a) + (b)"),
    ("${a} + {b}", "{a} + {b}"),
    ("$(s == ')')", "s == ')'"),  # a bracket inside a string literal does not count
    ('$(s == "(" or s == ")")', 's == "(" or s == ")"'),
    ("${s == '}'}", "s == '}'"),
    ("$(((a)))", "((a))"),
])
def test_wrapper_is_removed_only_when_its_brackets_match(text, source):
    """`$(...)` loses its parentheses only when the first '(' is closed by the last ')'."""
    assert source_of(text) == source


@pytest.mark.parametrize("text, value", [
    ("$(a + 1) * (b + 1)", (2 + 1) * (3 + 1)),
    ("$((a + 1) * (b + 1))", (2 + 1) * (3 + 1)),
    ("$(a)", 2),
    ("$a", 2),
    ("${a}", 2),
    ("$(a) + (b)", 2 + 3),
    ("$(a) * b - (c)", 2 * 3 - 0),
    ("$(s == ')')", False),
    ("$(s == 'relu')", True),
    ("$(1 if s == ')' else 2)", 2),
])
def test_parenthesised_terms_evaluate_as_python_reads_them(text, value):
    """Issue 21: `$(a + 1) * (b + 1)` is `(a+1)*(b+1)`, not an invalid `a + 1) * (b + 1`."""
    assert same(ev(text), value)


@pytest.mark.parametrize("text", ["$(a + 1", "$(a))", "$((a)", "$(a) + (", "$)a("])
def test_unbalanced_brackets_are_invalid(text):
    """A wrapper that does not close (or closes twice) is a syntax error, named as such."""
    with pytest.raises(CnnCalcError, match="invalid expression"):
        ev(text)


@pytest.mark.parametrize("text", ["$", "$()", "${}", "$  "])
def test_empty_expression(text):
    with pytest.raises(CnnCalcError, match="empty expression"):
        ev(text)


# --------------------------------------------------------------------------- operators

@pytest.mark.parametrize("src, value", [
    # precedence: ** > unary -, + > * / // % > + - > comparisons > not > and > or > if-else
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("2 * 3 ** 2", 18),
    ("10 - 3 - 2", 5),  # left-associative
    ("100 // 10 // 3", 3),  # (100 // 10) // 3, not 100 // (10 // 3) = 33
    ("2 ** 3 ** 2", 512),  # right-associative: 2 ** 9, not 8 ** 2 = 64
    ("-2 ** 2", -4),  # -(2 ** 2)
    ("(-2) ** 2", 4),
    ("2 ** -1", 0.5),
    ("-a ** 2", -4),
    ("1 + 2 < 4", True),
    ("not 1 == 2", True),  # not (1 == 2)
    ("1 < 2 and 3", 3),
    ("0 or 1 and 0", 0),  # 0 or (1 and 0)
    ("1 or 0 and 0", 1),
    ("1 if 0 else 2 if 1 else 3", 2),  # 1 if 0 else (2 if 1 else 3)
    ("a + 1 if b > 2 else 0", 3),  # (a + 1) if ... : if-else binds loosest
    # division: // floors (toward minus infinity), / is true division, % takes the divisor's sign
    ("7 // 2", 3),
    ("-7 // 2", -4),
    ("7 // -2", -4),
    ("7 / 2", 3.5),
    ("6 / 3", 2.0),
    ("7.0 // 2", 3.0),
    ("7 % 3", 1),
    ("-7 % 3", 2),
    ("7 % -3", -2),
    ("w * 2", 3.0),
    # unary
    ("-a", -2),
    ("+a", 2),
    ("--a", 2),
    ("+-a", -2),
    ("not 0", True),
    ("not 3", False),
    ("not not a", True),
    ("-True", -1),
    # comparisons: each term against its neighbour
    ("1 < 2 < 3", True),
    ("3 > 2 > 2", False),
    ("1 < 3 > 2", True),  # 1 < 3 and 3 > 2 (1 > 2 would be False)
    ("3 > 1 < 2", True),  # 3 > 1 and 1 < 2
    ("2 >= 2 <= 3", True),
    ("1 == 1.0 != 2", True),
    ("(1 < 2) < 3", True),  # parenthesised: True < 3
    ("a < b == 3", True),
    ("s == 'relu'", True),
    ("s != 'relu'", False),
    # and / or return the deciding operand
    ("0 or 5", 5),
    ("3 or 5", 3),
    ("3 and 0", 0),
    ("2 and 3", 3),
    ("0 and 3", 0),
    ("0 or 0.0", 0.0),
    ("1 and 2 and 3", 3),
    ("0 or c or 7", 7),
    # conditional
    ("a if b else c", 2),
    ("a if c else b", 3),
    ("2 if a == 2 else 1", 2),
    # literals
    ("True", True),
    ("1_000", 1000),
    ("1e3", 1000.0),
])
def test_operators_follow_python(src, value):
    """Each operator, and every precedence level, as the Python language reference defines it."""
    assert same(ev(f"$({src})"), value), src
    assert same(eval(src, {"__builtins__": {}}, dict(ENV)), value)  # the table itself is right


@pytest.mark.parametrize("src, value", [
    ("0 and 1 / 0", 0),
    ("1 or 1 / 0", 1),
    ("1 if 1 else 1 / 0", 1),
    ("1 / 0 if 0 else 2", 2),
    ("2 < 1 < 1 / 0", False),  # a chain stops at its first false link
    ("c and nope", 0),  # an unknown name in a branch never taken is not an error
    ("a if a else nope", 2),
])
def test_untaken_branches_are_not_evaluated(src, value):
    """Short-circuit: `and`, `or`, if-else and comparison chains evaluate only what decides."""
    assert same(ev(f"$({src})"), value)


# --------------------------------------------------------------------------- functions

FUNCTION_CASES = [
    ("min(3, 1, 2)", 1),
    ("min(a, b)", 2),
    ("max(3, 1, 2)", 3),
    ("max(a, w)", 2),
    ("abs(-3)", 3),
    ("abs(-1.5)", 1.5),
    ("abs(0)", 0),
    ("int(2.7)", 2),
    ("int(-2.7)", -2),  # int truncates toward zero
    ("int(True)", 1),
    ("round(2.5)", 2),  # round half to even
    ("round(3.5)", 4),
    ("round(-2.5)", -2),
    ("round(2.675, 2)", 2.67),  # the float 2.675 is slightly below 2.675
    ("round(3.14159, 3)", 3.142),
    ("round(1234, -2)", 1200),
    ("round(1250, -2)", 1200),
    ("round(1350, -2)", 1400),
    ("round(w)", 2),
    ("floor(2.7)", 2),
    ("floor(-2.5)", -3),
    ("floor(7 / 2)", 3),
    ("ceil(2.1)", 3),
    ("ceil(-2.5)", -2),
    ("ceil(7 / 2)", 4),
    ("ceil(4)", 4),
    ("make_divisible(12)", 16),  # default divisor 8; 12 + 4 = 16
    ("make_divisible(10, 8)", 16),  # 8 would be 20% down: one divisor more
    ("make_divisible(3, 8)", 8),  # min_value defaults to the divisor
    ("make_divisible(1, 8, 1)", 1),
    ("make_divisible(32 * w, 8)", 48),
    ("max(min(a, b), 1) + abs(-c)", 2),
    # scale's rules (README, scaling): make_divisible(c * w, divisor), c itself at w = 1;
    # max(1, ceil(n * d)); values that are no count pass through for the layer to refuse
    ("scaled_channels(32, 0.75, 8)", 24),
    ("scaled_channels(6, 1, 8)", 6),
    ("scaled_channels(16.0, 2, 8)", 32),
    ("scaled_channels(16.5, 2, 8)", 16.5),
    ("scaled_channels(100, 1.1, 8)", 112),  # 110 -> the nearest multiple of 8
    ("scaled_repeats(3, 1.5)", 5),  # ceil(4.5)
    ("scaled_repeats(1, 0.25)", 1),
    ("scaled_repeats(2.0, 2)", 2.0),  # no repeat count: passed on as written
    # math.log / exp / sqrt; RegNet's widths are logs (math.log(27.89 / 48 + 1) by hand below)
    ("log(1)", 0.0),
    ("log(8, 2)", 3.0),
    ("log(100, 10)", 2.0),
    ("exp(0)", 1.0),
    ("sqrt(16)", 4.0),
    ("sqrt(2)", math.sqrt(2)),
    # lists
    ("range(3)", [0, 1, 2]),
    ("range(2, 8, 3)", [2, 5]),
    ("range(0)", []),
    ("len(range(5))", 5),
    ("sum(range(5))", 10),
    ("count([8, 16, 16, 8], 16)", 2),
    ("unique([48, 104, 104, 208, 104])", [48, 104, 208]),
]


@pytest.mark.parametrize("src, value", FUNCTION_CASES)
def test_every_function(src, value):
    """Each function in FUNCTIONS behaves as Python's builtin (or math's) of the same name."""
    assert same(ev(f"$({src})"), value), src


def test_the_function_table_is_what_the_readme_lists():
    """README: `min max abs int round floor ceil make_divisible scaled_channels
    scaled_repeats log exp sqrt` and, for lists, `range len sum count unique`; every one is
    tested above."""
    assert list(FUNCTIONS) == ["min", "max", "abs", "int", "round", "floor", "ceil",
                               "make_divisible", "scaled_channels", "scaled_repeats", "log",
                               "exp", "sqrt", "range", "len", "sum", "count", "unique"]
    tested = {name for name in FUNCTIONS for src, _ in FUNCTION_CASES if src.startswith(name + "(")}
    assert tested == set(FUNCTIONS)


def test_names_come_from_the_environment():
    """`$name` reads the scope; `names_in` lists the names an expression needs."""
    assert same(evaluate("$in_channels", {"in_channels": 64}), 64)
    assert same(evaluate("$(in_channels * 6)", {"in_channels": 16}), 96)
    assert same(evaluate("$(2 if i == 0 else 1)", {"i": 0}), 2)
    assert same(evaluate("$(2 if i == 0 else 1)", {"i": 3}), 1)
    assert names_in("$(a + min(b, 1) if flag else x)") == {"a", "b", "flag", "x"}


# --------------------------------------------------------------------------- lists

XS = {"xs": [1, 2, 3], "w": [0.5, 1.5, 2.5], "n": 3, "s": "relu"}


@pytest.mark.parametrize("src, value", [
    # arithmetic element by element, numbers repeated along a list (numpy's broadcasting)
    ("xs * 2 + 1", [3, 5, 7]),
    ("2 ** xs", [2, 4, 8]),
    ("xs ** 2", [1, 4, 9]),
    ("10 // xs", [10, 5, 3]),
    ("xs / 2", [0.5, 1.0, 1.5]),
    ("xs % 2", [1, 0, 1]),
    ("xs + xs", [2, 4, 6]),  # not a concatenation
    ("[1, 2] + [10, 20]", [11, 22]),
    ("-xs", [-1, -2, -3]),
    ("range(n) * 27.89 + 48", [48.0, 75.89, 103.78]),
    # functions of one number map a list; other arguments are repeated or paired
    ("round(w)", [0, 2, 2]),  # half to even, as Python's round, np.round and torch.round
    ("round(w + 1)", [2, 2, 4]),
    ("floor(w)", [0, 1, 2]),
    ("ceil(w)", [1, 2, 3]),
    ("int(w)", [0, 1, 2]),
    ("abs(-xs)", [1, 2, 3]),
    ("log(xs, 2)", [0.0, 1.0, math.log(3, 2)]),
    ("log([8, 9], [2, 3])", [3.0, 2.0]),
    ("make_divisible(xs * 10, 8)", [16, 24, 32]),  # 10 -> 16: 8 is 20% down
    ("round(w, 0)", [0.0, 2.0, 2.0]),
    # whole lists
    ("len(xs)", 3),
    ("sum(xs)", 6),
    ("sum([])", 0),
    ("min(xs)", 1),
    ("max(xs * 2)", 6),
    ("count(xs, 2)", 1),
    ("count(xs * 0, 0)", 3),
    ("unique([3, 1, 3, 2, 1])", [3, 1, 2]),
    ("unique([])", []),
    # indexing and slicing, Python's
    ("xs[0]", 1),
    ("xs[-1]", 3),
    ("xs[n - 1]", 3),
    ("xs[1:]", [2, 3]),
    ("xs[:-1]", [1, 2]),
    ("xs[::2]", [1, 3]),
    ("xs[::-1]", [3, 2, 1]),
    ("xs[5:]", []),
    ("range(10)[2:8:3]", [2, 5]),
    ("[s, 'x'][0]", "relu"),
    ("xs if len(xs) > 0 else []", [1, 2, 3]),
    ("len(xs) and xs", [1, 2, 3]),  # the last operand is returned, never tested
    # RegNet's block capacities (torchvision's from_init_params, written out by hand)
    ("round(log((range(4) * 27.89 + 48) / 48) / log(2.09))",
     [round(math.log((j * 27.89 + 48) / 48) / math.log(2.09)) for j in range(4)]),
])
def test_lists(src, value):
    """Lists: arithmetic and one-number functions go element by element (README)."""
    assert same(ev(f"$({src})", XS), value), src
    if isinstance(value, list):
        assert all(same(got, want) for got, want in zip(ev(f"$({src})", XS), value,
                                                         strict=True)), src


def test_names_in_reads_indexes():
    assert names_in("$(xs[i] + len(ys[a:b]))") == {"xs", "i", "ys", "a", "b"}


@pytest.mark.parametrize("src, words", [
    ("xs + [1, 2]", "arithmetic on lists of different lengths (2, 3)"),
    ("round(xs, [1, 2])", "round() on lists of different lengths (2, 3)"),
    ("[xs]", "a list may hold only numbers and text, not lists"),
    ("[1, [2]]", "a list may hold only numbers and text, not lists"),
    ("xs == xs", "lists are not compared"),
    ("xs < 3", "lists are not compared"),
    ("1 < 2 < xs", "lists are not compared"),
    ("not xs", "a list is neither true nor false"),
    ("xs and 1", "a list is neither true nor false"),
    ("xs or 1", "a list is neither true nor false"),
    ("1 if xs else 2", "a list is neither true nor false"),
    ("xs[3]", "index 3 is outside the list of 3"),
    ("xs[-4]", "index -4 is outside the list of 3"),
    ("[][0]", "index 0 is outside the list of 0"),
    ("xs[0.5]", "a list index must be a whole number, got 0.5"),
    ("xs[True]", "a list index must be a whole number"),
    ("xs[xs]", "a list index must be a whole number, got a list of 3"),
    ("xs[0.5:]", "slice bounds must be whole numbers"),
    ("xs[::0]", "a slice step cannot be zero"),
    ("n[0]", "only a list can be indexed, not 3"),
    ("s[0]", "only a list can be indexed, not 'relu'"),
    ("range(10001)", "range() of 10,001 numbers: a list holds at most 10,000"),
    ("range(0, 10**9, 1)", "a list holds at most 10,000"),
    ("range(1.5)", "range() takes whole numbers"),
    ("range()", "range() takes 1 to 3 whole numbers"),
    ("len(3)", "len() takes a list, got 3"),
    ("sum(n)", "sum() takes a list"),
    ("count(n, 1)", "count() takes a list"),
    ("unique(s)", "unique() takes a list, got 'relu'"),
    ("min([])", "min() of an empty list"),
    ("max(xs, 3)", "max() takes one list or at least two numbers"),
    ("min(3)", "min() takes one list or at least two numbers"),
    ("[s] * 2", "arithmetic on text is not allowed"),
    ("-[s]", "arithmetic on text is not allowed"),
    ("2 ** [65]", "power too large"),
    ("[2 ** 65] ** 2", "power too large"),
    ("[2 ** 64] ** 64", "number too large (more than 4096 bits)"),
    ("log(xs * 0)", "math domain error"),
    ("exp([1000])", "math range error"),
    ("1 / (xs * 0)", "division by zero"),
])
def test_list_errors(src, words):
    """Every refusal is one CnnCalcError naming the expression and the problem."""
    message = error_of(f"$({src})", XS)
    assert words in message and f"$({src})" in message


def test_numbers_in_lists_are_bounded_like_numbers():
    big = 2**4000
    assert "number too large (more than 4096 bits)" in error_of("$(xs * xs)", {"xs": [big]})
    assert "number too large" in error_of("$(sum(xs))", {"xs": [2**4095, 2**4095]})


def test_list_elements_count_as_steps_of_the_budget():
    """A short expression over a long list costs the list's length: `sum(range(5000))` is
    refused by a budget of 1,000 steps, though its syntax tree has 5 nodes."""
    text = "$(sum(range(5000)))"
    with budget(20_000):
        assert ev(text) == sum(range(5000))
    with budget(1_000), pytest.raises(CnnCalcError, match="more than 1,000 steps"):
        ev(text)


def test_a_slice_counts_its_length_and_names_the_expression_when_over_budget():
    """A slice builds a new list: its elements are steps too, and the refusal names the
    expression. `xs[0:3000]` of a 5,000-element list costs its syntax tree plus 3,000."""
    xs = list(range(5000))
    with budget(4_000):
        assert evaluate("$(xs[0:3000])", {"xs": xs}) == xs[:3000]
    with budget(2_000), pytest.raises(CnnCalcError, match=r"the last was '\$\(xs\[0:3000\]\)'"):
        evaluate("$(xs[0:3000])", {"xs": xs})


@pytest.mark.parametrize("text", ["$(-xs)", "$(+xs)", "$(xs * 2)", "$(abs(xs))",
                                  "$(xs + xs)", "$(floor(xs))"])
def test_every_list_an_expression_builds_counts_and_names_it_when_over_budget(text):
    """An operator or function applied element by element builds a new list: each element is
    a step, and the refusal names the expression (the last one evaluated)."""
    xs = list(range(3000))
    with budget(8_000):
        assert len(evaluate(text, {"xs": xs})) == 3000
    with budget(2_000), pytest.raises(CnnCalcError) as error:
        evaluate(text, {"xs": xs})
    assert f"the last was '{text}'" in str(error.value)


def test_slice_and_index_bounds_read_names_and_reach_both_ends():
    """Slice bounds are expressions over the same names; an index reaches -len(xs) (the
    first element) and len(xs) - 1 (the last), and one past either end is refused."""
    env = {"xs": [10, 20, 30, 40], "a": 1, "b": 3}
    assert evaluate("$(xs[a:b])", env) == [20, 30]
    assert evaluate("$(xs[-4])", env) == 10 and evaluate("$(xs[3])", env) == 40
    for text in ("$(xs[-5])", "$(xs[4])"):
        with pytest.raises(CnnCalcError, match="outside the list of 4"):
            evaluate(text, env)


def test_a_hostile_spec_of_long_lists_is_refused_in_time():
    """Lists of 10,000 built at every pass of a long repeat: refused by the analysis'
    budget of 2,000,000 steps, within a second or two."""
    import time

    from tests.conftest import analyze_text

    layers = """
    - dense: $(len(range(10000) * range(10000)) - 9999)
      repeat: 1000
    """
    start = time.process_time()
    with pytest.raises(CnnCalcError, match="steps to evaluate"):
        analyze_text(layers, input="4")
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines slow every call
        assert time.process_time() - start < 10


# --------------------------------------------------------------------------- errors

def error_of(text: str, env: dict[str, Any] | None = None) -> str:
    with pytest.raises(CnnCalcError) as err:
        ev(text, env)
    return str(err.value)


def test_unknown_name_lists_the_known_names():
    message = error_of("$(a + nope)", {"b": 1, "a": 2})
    assert "unknown name 'nope'" in message and "known here: a, b" in message
    assert "$(a + nope)" in message
    assert "known here: none" in error_of("$nope", {})


@pytest.mark.parametrize("src", ["1 / 0", "1 // 0", "1 % 0", "a / c", "1.5 // 0.0", "0 ** -1",
                                 "5 % (a - 2)"])
def test_division_by_zero(src):
    """Python's ZeroDivisionError becomes an error naming the expression."""
    assert f"division by zero in '$({src})'" in error_of(f"$({src})")


@pytest.mark.parametrize("src, node", [
    ("a.real", "Attribute"),
    ("lambda: 1", "Lambda"),
    ("[x for x in (1, 2)]", "ListComp"),
    ("{x for x in (1, 2)}", "SetComp"),
    ("(x for x in (1, 2))", "GeneratorExp"),
    ("(1, 2)", "Tuple"),
    ("[1, 2][0, 1]", "Tuple"),
    ("{1: 2}", "Dict"),
    ("f'{a}'", "JoinedStr"),
    ("(y := 1)", "NamedExpr"),
    ("1 | 2", "BitOr"),
    ("1 & 2", "BitAnd"),
    ("1 ^ 2", "BitXor"),
    ("1 << 2", "LShift"),
    ("~1", "Invert"),
    ("1 in a", "In"),
    ("a is b", "Is"),
    ("min(*a)", "Starred"),
])
def test_disallowed_syntax_names_the_construct(src, node):
    """Only arithmetic, comparisons, and/or/not, if-else and FUNCTIONS calls are reachable."""
    assert f"'{node}' is not allowed in an expression" in error_of(f"$({src})")


@pytest.mark.parametrize("src", ["print(1)", "__import__('os')", "open('x')", "(lambda: 1)()",
                                 "a()", "min.__call__(1)"])
def test_only_listed_functions_may_be_called(src):
    assert "only these functions may be called: " + ", ".join(FUNCTIONS) in error_of(f"$({src})")


def test_keyword_arguments_are_refused():
    assert "keyword arguments are not allowed" in error_of("$(round(2.5, ndigits=1))")
    assert "keyword arguments are not allowed" in error_of("$(make_divisible(10, divisor=4))")


@pytest.mark.parametrize("src", ["s * 3", "s + s", "'ab' * 1000000000", "2 * s", "s % 2"])
def test_arithmetic_on_text_is_refused(src):
    """Text may only be compared: `'ab' * 10**9` would build a gigabyte."""
    assert "arithmetic on text is not allowed" in error_of(f"$({src})")


@pytest.mark.parametrize("src", ["2 ** 65", "2 ** -65", "(2 ** 64 + 1) ** 2", "10 ** 100"])
def test_powers_past_the_limits_are_refused(src):
    """An exponent above 64 in size, or a base above 2**64, is refused before it is computed."""
    assert "power too large" in error_of(f"$({src})")


def test_powers_at_the_limits_are_computed():
    assert ev("$(2 ** 64)") == 2**64
    assert ev("$((2 ** 64) ** 2)") == 2**128
    assert ev("$(3 ** 64)") == 3**64


def test_numbers_past_4096_bits_are_refused():
    """A result of more than 4096 bits (lets squaring each other) is refused."""
    big = 2**4000
    assert "number too large (more than 4096 bits)" in error_of("$(x * x)", {"x": big})
    assert ev("$(x * y)", {"x": big, "y": 2**95}) == 2**4095  # 4096 bits: still allowed
    assert "number too large" in error_of("$(x * y)", {"x": big, "y": 2**96})


@pytest.mark.parametrize("src, words", [
    ("1 +", "invalid expression"),
    ("a b", "invalid expression"),
    ("b'x'", "unsupported constant"),
    ("None", "unsupported constant"),
    ("...", "unsupported constant"),
    ("round(5, -1000)", "ndigits must be an integer within +-400"),
    ("min(1)", "cannot evaluate"),
    ("make_divisible(1e400)", "is not a finite number"),
    ("s < 1", "cannot evaluate"),
])
def test_other_errors(src, words):
    assert words in error_of(f"$({src})")


# --------------------------------------------------------------------------- Python agreement

NAMES = ("a", "b", "c")
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
BIN_OPS = ("+", "-", "*", "/", "//", "%")
LEAVES = st.one_of(st.integers(-20, 20).map(lambda v: ("int", v)),
                   st.sampled_from(NAMES).map(lambda n: ("name", n)))


def _grow(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.tuples(st.just("bin"), st.sampled_from(BIN_OPS), children, children),
        # a power of a leaf with a small exponent, so that no limit of cnncalc's is reached
        st.tuples(st.just("pow"), LEAVES, st.integers(-1, 3)),
        st.tuples(st.just("unary"), st.sampled_from(("-", "+", "not ")), children),
        st.tuples(st.just("cmp"), children,
                  st.lists(st.tuples(st.sampled_from(CMP_OPS), children), min_size=1,
                           max_size=3)),
        st.tuples(st.just("bool"), st.sampled_from(("and", "or")),
                  st.lists(children, min_size=2, max_size=3)),
        st.tuples(st.just("if"), children, children, children),
        st.tuples(st.just("call"), st.sampled_from(("min", "max")),
                  st.lists(children, min_size=2, max_size=3)),
        st.tuples(st.just("call"), st.just("abs"), st.lists(children, min_size=1, max_size=1)),
    )


TREES = st.recursive(LEAVES, _grow, max_leaves=12)

# Python's precedence levels, loosest first (the language reference's table, read upwards).
IF, OR, AND, NOT, CMP, ADD, MUL, UNARY, POW, ATOM = range(1, 11)


def render(node: tuple) -> tuple[str, int]:
    """A tree as Python text with only the parentheses its structure needs, and its level."""
    kind = node[0]
    if kind == "int":
        return str(node[1]), ATOM if node[1] >= 0 else UNARY  # "-3" is a unary minus
    if kind == "name":
        return node[1], ATOM
    if kind == "bin":
        _, op, left, right = node
        level = ADD if op in "+-" else MUL
        return f"{at(left, level)} {op} {at(right, level + 1)}", level
    if kind == "pow":
        return f"{at(node[1], ATOM)} ** {node[2]}", POW
    if kind == "unary":
        _, op, operand = node
        level = NOT if op == "not " else UNARY
        return f"{op}{at(operand, level)}", level
    if kind == "cmp":
        _, first, rest = node
        return at(first, ADD) + "".join(f" {op} {at(x, ADD)}" for op, x in rest), CMP
    if kind == "bool":
        _, op, values = node
        level = AND if op == "and" else OR
        return f" {op} ".join(at(v, level + 1) for v in values), level
    if kind == "if":
        _, body, test, orelse = node
        return f"{at(body, OR)} if {at(test, OR)} else {at(orelse, IF)}", IF
    _, name, args = node
    return f"{name}({', '.join(at(a, IF) for a in args)})", ATOM


def at(node: tuple, level: int) -> str:
    """`node` as an operand that must bind at least as tightly as `level`."""
    text, own = render(node)
    return text if own >= level else f"({text})"


def outcome(run) -> tuple:
    try:
        value = run()
    except ZeroDivisionError:
        return ("division by zero",)
    except CnnCalcError as exc:
        assert "division by zero" in str(exc), str(exc)
        return ("division by zero",)
    return ("value", type(value), value)


@settings(max_examples=200, deadline=None)
@given(TREES, st.fixed_dictionaries({n: st.integers(-6, 6) for n in NAMES}))
def test_random_expressions_agree_with_python(tree, env):
    """For the subset shared with Python, `$(src)` evaluates exactly as Python's `eval(src)`:
    the same value of the same type, or a division by zero in both."""
    src = render(tree)[0]
    python = outcome(lambda: eval(src, {"__builtins__": {}, "min": min, "max": max, "abs": abs},
                                  dict(env)))
    assert outcome(lambda: evaluate("$(" + src + ")", env)) == python, src


def test_renderer_needs_and_keeps_parentheses():
    """The property test's renderer: parentheses exactly where precedence needs them."""
    neg2 = ("int", -2)
    assert render(("pow", neg2, 2))[0] == "(-2) ** 2"
    assert render(("unary", "-", ("pow", ("int", 2), 2)))[0] == "-2 ** 2"
    assert render(("bin", "-", ("int", 1), ("bin", "-", ("int", 2), ("int", 3))))[0] == \
        "1 - (2 - 3)"
    assert render(("cmp", ("cmp", ("int", 1), [("<", ("int", 2))]), [("<", ("int", 3))]))[0] \
        == "(1 < 2) < 3"
    assert render(("bool", "or", [("bool", "and", [("name", "a"), ("name", "b")]),
                                  ("name", "c")]))[0] == "a and b or c"


# --------------------------------------------------------------------------- make_divisible

def torchvision_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible (from TensorFlow's MobileNet code), verbatim."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.parametrize("args, value", [
    ((32, 8), 32),  # already a multiple
    ((12, 8), 16),  # halfway rounds up: int(12 + 4) = 16
    ((11.9, 8), 16),  # int(15.9) // 8 * 8 = 8 is 32.8% down: 8 + 8
    ((35, 8), 32),  # 32 is 8.6% down: kept
    ((36, 8), 40),  # nearest multiple
    ((10, 8), 16),  # 8 would be 20% down
    ((3, 8), 8),  # min_value defaults to the divisor
    ((0, 8), 8),
    ((1, 8, 1), 1),  # nearest multiple 0, raised to min_value 1, not 10% below 0.9
    ((3.9, 8, 1), 9),  # 0 -> min_value 1 -> 1 < 0.9 * 3.9 -> 1 + 8: not a multiple of 8
    ((44.8, 8), 48),  # MobileNetV2 width 1.4: first conv 32 * 1.4 -> 48
    ((1280 * 1.4, 8), 1792),  # MobileNetV2 width 1.4: last channel
    ((24, 8, 32), 32),  # a larger minimum wins
    ((100, 1), 100),
    ((17, 16), 16),
    ((23.9, 16), 32),  # 16 is 33% down
])
def test_make_divisible_cases(args, value):
    """torchvision's rule, cases worked by hand (the comment shows the arithmetic)."""
    assert make_divisible(*args) == value
    assert torchvision_make_divisible(*args) == value


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.integers(0, 5000), st.floats(0, 5000, allow_nan=False)),
       st.integers(1, 64), st.one_of(st.none(), st.integers(1, 128)))
def test_make_divisible_is_torchvisions(v, divisor, min_value):
    """Equal to torchvision's `_make_divisible`, and its promises hold: never more than 10%
    down, never below the minimum, a multiple of the divisor when the minimum is one."""
    result = make_divisible(v, divisor, min_value)
    assert result == torchvision_make_divisible(v, divisor, min_value)
    assert result >= 0.9 * v and result >= (divisor if min_value is None else min_value)
    if min_value is None or min_value % divisor == 0:
        assert result % divisor == 0


def test_make_divisible_refuses_infinity_and_nan():
    for value in (math.inf, -math.inf, math.nan):
        with pytest.raises(CnnCalcError, match="is not a finite number"):
            make_divisible(value, 8)


def test_scaled_channels_defaults_to_a_divisor_of_8_and_leaves_what_is_not_a_count():
    # make_divisible(20 * 1.5, 8) = 32 (30 + 4 = 34, down to a multiple of 8); by hand
    assert evaluate("$(scaled_channels(20, 1.5))", {}) == 32
    assert evaluate("$(scaled_channels(20, 1.5, 5))", {}) == 30
    # not a positive whole number: returned as it is, for the layer's own check to refuse
    for value in ("0", "-8", "2.5"):
        assert evaluate(f"$(scaled_channels({value}, 2.0))", {}) == float(value)
        assert evaluate(f"$(scaled_repeats({value}, 2.0))", {}) == float(value)


def test_an_evaluation_costs_its_syntax_tree_and_the_budget_is_spent_at_exactly_zero():
    """budget(): every evaluation costs the number of nodes of its Python syntax tree (the
    count is Python's own `ast.walk`); a budget of exactly k evaluations passes, one step
    fewer refuses the k-th."""
    import ast

    text = "$(a * 2 + b)"
    nodes = sum(1 for _ in ast.walk(ast.parse("a * 2 + b", mode="eval").body))
    assert nodes == 9  # BinOp, BinOp, Name, Mult, Constant, Load, Add, Name, Load
    env = {"a": 3, "b": 4}
    with budget(3 * nodes):
        for _ in range(3):
            assert evaluate(text, env) == 10
    with budget(3 * nodes - 1), pytest.raises(CnnCalcError, match="more than 26 steps"):
        for _ in range(3):
            evaluate(text, env)


@pytest.mark.parametrize("length", [100, 128])
def test_a_text_constant_costs_a_step_more_for_every_64_characters(length):
    """A string literal costs its node and one step per whole 64 characters (`len // 64`):
    100 characters cost 1 + 1 and 128 cost 1 + 2, so long text is no free way to spend the
    budget, and a cost is always a whole number of steps."""
    import ast

    text = "$('" + "a" * length + "')"
    nodes = sum(1 for _ in ast.walk(ast.parse(text[1:], mode="eval").body))
    assert nodes == 1  # the Constant
    exact = nodes + length // 64
    with budget(exact):
        assert evaluate(text, {}) == "a" * length
    with budget(exact - 1), pytest.raises(CnnCalcError, match="steps to evaluate"):
        evaluate(text, {})


def test_an_element_wise_call_on_a_list_charges_what_it_reads_and_what_it_makes():
    """`abs(xs)` of 100 numbers: its 5 nodes, the 100 it reads and the 100 it makes; out of
    steps at the last charge, the refusal still names the expression."""
    text, env = "$(abs(xs))", {"xs": list(range(-50, 50))}
    with budget(5 + 100 + 100):
        assert evaluate(text, env) == [abs(x) for x in range(-50, 50)]
    with budget(5 + 100 + 99), pytest.raises(CnnCalcError) as error:
        evaluate(text, env)
    assert str(error.value).endswith("the last was '$(abs(xs))'")


def test_the_budget_refusal_shows_the_first_40_characters_of_the_last_expression():
    text = "$(" + " + ".join(["a"] * 30) + ")"  # 91 characters
    with budget(10), pytest.raises(CnnCalcError) as error:
        evaluate(text, {"a": 1})
    assert str(error.value).endswith(f"the last was {text[:40]!r}...")
    assert repr(text[:40]) + "..." in str(error.value) and text[:41] not in str(error.value)


def test_a_list_built_and_read_is_charged_to_exactly_zero():
    """`range(5000)` builds a list of 5,000 (5,000 steps) and `sum` reads it (5,000 more),
    beside the syntax tree's nodes: a budget of exactly that passes, one step fewer refuses."""
    import ast

    nodes = sum(1 for _ in ast.walk(ast.parse("sum(range(5000))", mode="eval").body))
    exact = nodes + 5000 + 5000
    with budget(exact):
        assert evaluate("$(sum(range(5000)))", {}) == sum(range(5000))
    with budget(exact - 1), pytest.raises(CnnCalcError, match="steps to evaluate"):
        evaluate("$(sum(range(5000)))", {})


def test_range_takes_one_to_three_numbers():
    assert ev("$(range(1, 9, 3))") == [1, 4, 7]
    with pytest.raises(CnnCalcError, match=r"range\(\) takes 1 to 3 whole numbers"):
        ev("$(range(1, 2, 3, 4))")


def test_a_function_reading_a_list_is_charged_its_length_to_exactly_zero():
    """`max(xs)` reads 5,000 elements: its syntax tree's nodes (Python's `ast.walk`) plus
    5,000 steps pass, one step fewer is refused."""
    import ast

    xs = list(range(5000))
    exact = sum(1 for _ in ast.walk(ast.parse("max(xs)", mode="eval").body)) + 5000
    with budget(exact):
        assert evaluate("$(max(xs))", {"xs": xs}) == 4999
    with budget(exact - 1), pytest.raises(CnnCalcError, match="steps to evaluate"):
        evaluate("$(max(xs))", {"xs": xs})


def test_the_budget_refusal_marks_a_cut_only_past_40_characters():
    text = "$(" + "a + " * 9 + "a)"  # exactly 40 characters: shown whole, no "..."
    assert len(text) == 40
    with budget(1), pytest.raises(CnnCalcError) as error:
        evaluate(text, {"a": 1})
    assert str(error.value).endswith(f"the last was {text!r}")
