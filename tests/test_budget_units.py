"""Human units of budgets: SI counts, binary and SI bytes, percentages, and their errors."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cnncalc.core.units import parse_bytes, parse_count, parse_share
from cnncalc.errors import CnnCalcError


@pytest.mark.parametrize("text, value", [
    ("5M", 5 * 10**6), ("1.5k", 1500), ("1.5K", 1500), ("12", 12), (12, 12), ("400M", 4 * 10**8),
    ("0.39B", 390 * 10**6), ("2G", 2 * 10**9), ("1T", 10**12), ("5e6", 5 * 10**6),
    ("1_000_000", 10**6), ("1,000", 1000), (" 7 M ", 7 * 10**6), (5e6, 5 * 10**6), ("0", 0),
])
def test_counts(text, value):
    assert parse_count(text, "params") == value


@pytest.mark.parametrize("text, value", [
    ("20MiB", 20 * 2**20), ("1GB", 10**9), ("512", 512), ("1.5KiB", 1536), ("2 GiB", 2 * 2**30),
    ("3kB", 3000), ("64B", 64), (100, 100),
])
def test_bytes(text, value):
    assert parse_bytes(text, "param_memory") == value


@pytest.mark.parametrize("text, words", [
    ("5Q", ["budget.params", "unknown unit 'Q'", "k, K, M, G, B, T"]),
    ("-1M", ["budget.params", "'-1M' is negative"]),
    ("1.5", ["budget.params", "'1.5' is not a whole number", "1.5k"]),
    (1.5, ["'1.5' is not a whole number"]),
    (-3, ["-3 is negative"]),
    ("5MiB", ["'MiB' is a unit of bytes"]),
    ("lots", ["cannot read 'lots'", "e.g. 5M"]),
    (True, ["expected a number"]),
])
def test_count_errors(text, words):
    with pytest.raises(CnnCalcError) as err:
        parse_count(text, "budget.params")
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("20M", ["'M' is a unit of counts", "MB or MiB"]),
    ("20mib", ["did you mean 'MiB'"]),
    ("0.5", ["not a whole number"]),
    ("-1KiB", ["negative"]),
])
def test_byte_errors(text, words):
    with pytest.raises(CnnCalcError) as err:
        parse_bytes(text, "budget.param_memory")
    for word in words:
        assert word in str(err.value)


def test_shares():
    assert parse_share("5%") == Fraction(1, 20)
    assert parse_share("0.5 %") == Fraction(1, 200)
    assert parse_share("0%") == 0
    for text, word in [("5", "percent sign"), ("-5%", "0% or more"), ("x", "percentage")]:
        with pytest.raises(CnnCalcError, match=word):
            parse_share(text, "--max-growth")
