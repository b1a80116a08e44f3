"""Human units against their definitions (CONVENTIONS.md, README "Budgets"): SI prefixes step by
10^3 (k = K = 10^3, M = 10^6, G = B = 10^9, T = 10^12), binary (IEC) prefixes by 2^10 (KiB, MiB,
GiB, TiB); counts are SI, byte sizes are read in either and shown in binary units.

Every expected value is computed here from those definitions (`10 ** (3 * i)`, `2 ** (10 * i)`),
in both directions: reading (`parse_count`, `parse_bytes`) and showing (`si`, `binary`).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.core.units import DTYPE_BYTES, binary, exact, parse_bytes, parse_count, parse_share, si
from cnncalc.errors import CnnCalcError

# prefix -> power of 1000 (SI) or of 1024 (IEC)
SI_COUNT = {"k": 1, "K": 1, "M": 2, "G": 3, "B": 3, "T": 4}
SI_BYTES = {"kB": 1, "KB": 1, "MB": 2, "GB": 3, "TB": 4}
IEC_BYTES = {"KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4}
SHOWN_SI = {"k": 1, "M": 2, "G": 3, "T": 4}  # what `si` prints, smallest first


def si_size(i: int) -> int:
    return 10 ** (3 * i)


def iec_size(i: int) -> int:
    return 2 ** (10 * i)


# --------------------------------------------------------------------------- reading

MANTISSAS = ["1", "7", "12", "1.5", "0.25", "2.125", "999"]


@pytest.mark.parametrize("unit, power", SI_COUNT.items())
@pytest.mark.parametrize("mantissa", MANTISSAS)
@pytest.mark.parametrize("space", ["", " "])
def test_count_prefixes_are_powers_of_1000(unit, power, mantissa, space):
    """k/K = 10^3, M = 10^6, G = B (billion) = 10^9, T = 10^12."""
    expected = Fraction(mantissa) * si_size(power)
    assert expected.denominator == 1  # every mantissa above is whole in every unit
    assert parse_count(f"{mantissa}{space}{unit}", "params") == expected


@pytest.mark.parametrize("unit, power", SI_BYTES.items())
@pytest.mark.parametrize("mantissa", MANTISSAS)
def test_si_byte_units_are_powers_of_1000(unit, power, mantissa):
    """kB = KB = 10^3 bytes, MB = 10^6, GB = 10^9, TB = 10^12 (a budget of N MB is N * 10^6)."""
    assert parse_bytes(f"{mantissa}{unit}", "param_memory") == Fraction(mantissa) * si_size(power)


@pytest.mark.parametrize("unit, power", IEC_BYTES.items())
@pytest.mark.parametrize("mantissa", MANTISSAS)
def test_binary_byte_units_are_powers_of_1024(unit, power, mantissa):
    """KiB = 2^10 bytes, MiB = 2^20, GiB = 2^30, TiB = 2^40."""
    expected = Fraction(mantissa) * iec_size(power)
    assert parse_bytes(f"{mantissa} {unit}", "param_memory") == expected


def test_the_same_letters_in_the_two_families():
    """`B` is a billion of a count and one byte of a size; `MB` and `MiB` differ by 2^20 / 10^6."""
    assert parse_count("5B", "macs") == 5 * 10**9
    assert parse_bytes("5B", "param_memory") == 5
    assert parse_bytes("1MiB") - parse_bytes("1MB") == 2**20 - 10**6 == 48_576
    assert parse_bytes("1kB") == parse_bytes("1KB") == 1000 != parse_bytes("1KiB") == 1024


@pytest.mark.parametrize("text, value", [
    ("1.5k", 1500),
    ("0.5k", 500),
    ("2.5e3", 2500),
    ("1e-3k", 1),  # 10^-3 * 10^3
    ("1.25M", 1_250_000),
    (".5M", 500_000),
    ("3.", 3),
    ("1,500", 1500),
    ("1_500", 1500),
])
def test_fractions_of_a_unit_that_are_whole(text, value):
    """A decimal part is allowed when the count it denotes is whole."""
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["0.5", "1.5", "1.0005k", "1.2345k", "1e-1", "0.1e0"])
def test_counts_must_be_whole(text):
    """Parameters and MACs are counted in whole units: 0.5 of a count is refused."""
    with pytest.raises(CnnCalcError, match="is not a whole number"):
        parse_count(text, "params")


@pytest.mark.parametrize("text", ["0.1KiB", "1.3KiB", "0.5", "0.0001kB"])
def test_byte_sizes_must_be_whole(text):
    """0.1 KiB is 102.4 bytes: refused; 0.5 KiB (512 bytes) is not."""
    with pytest.raises(CnnCalcError, match="is not a whole number"):
        parse_bytes(text, "param_memory")
    assert parse_bytes("0.5KiB") == 2**10 // 2


@pytest.mark.parametrize("text", ["-1", "-1k", "- 5M", "-0.5k", -1])
def test_negative_counts_are_refused(text):
    with pytest.raises(CnnCalcError, match="negative"):
        parse_count(text, "params")


@pytest.mark.parametrize("text", ["-1", "-1MiB", "-2 MB", -512])
def test_negative_sizes_are_refused(text):
    with pytest.raises(CnnCalcError, match="negative"):
        parse_bytes(text, "param_memory")


@pytest.mark.parametrize("parse, text, words", [
    (parse_count, "5Q", ["unknown unit 'Q'", "use one of k, K, M, G, B, T"]),
    (parse_count, "5m", ["unknown unit 'm'", "did you mean 'M'?"]),
    (parse_count, "5MB", ["'MB' is a unit of bytes, and this is a count"]),
    (parse_count, "5GiB", ["'GiB' is a unit of bytes"]),
    (parse_bytes, "5Q", ["unknown unit 'Q'",
                         "use one of B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB"]),
    (parse_bytes, "5mib", ["did you mean 'MiB'?"]),
    (parse_bytes, "5gb", ["did you mean 'GB'?"]),
    (parse_bytes, "20M", ["'M' is a unit of counts, and this is a size in bytes",
                          "did you mean MB or MiB?"]),
    (parse_bytes, "3k", ["did you mean kB or KiB?"]),
    (parse_bytes, "1G", ["did you mean GB or GiB?"]),
    (parse_count, "five", ["cannot read 'five'", "e.g. 5M"]),
    (parse_bytes, "lots", ["cannot read 'lots'", "e.g. 20MiB"]),
])
def test_unknown_units_come_with_hints(parse, text, words):
    with pytest.raises(CnnCalcError) as err:
        parse(text, "limit")
    message = str(err.value)
    assert message.startswith("cnncalc: limit: ")
    for word in words:
        assert word in message


# --------------------------------------------------------------------------- showing counts

def test_si_below_a_thousand_is_exact():
    """Under 10^3 a count is shown whole (with separators where they would apply)."""
    assert [si(n) for n in (0, 1, 12, 280, 999)] == ["0", "1", "12", "280", "999"]
    assert si(12.25) == "12.2" and si(12.25, 2) == "12.25"  # a float keeps `digits` decimals


@pytest.mark.parametrize("prefix, power", SHOWN_SI.items())
def test_si_switches_prefix_at_each_power_of_1000(prefix, power):
    """10^(3i) is the first value shown with the i-th prefix, as 1.0."""
    size = si_size(power)
    assert si(size) == f"1.0{prefix}"
    assert si(3 * size // 2) == f"1.5{prefix}"
    assert si(123 * size) == f"123.0{prefix}"
    assert si(1234 * size // 1000, 2) == f"1.23{prefix}"
    assert si(-size) == f"-1.0{prefix}"


def test_si_below_each_switch_keeps_the_smaller_prefix():
    assert si(999) == "999"
    assert si(999_949) == "999.9k"  # 999.949k
    assert si(999_949_999) == "999.9M"
    assert si(999_949_999_999) == "999.9G"
    assert si(999_949_999_999_999) == "999.9T"


def test_si_past_the_last_prefix_uses_an_exponent():
    """From 10^15 on (a thousand T) the count is shown as a power of ten."""
    assert si(10**15) == "1.0e+15"
    assert si(15 * 10**14) == "1.5e+15"
    assert si(10**36) == "1.0e+36"
    assert si(-(10**18)) == "-1.0e+18"


def test_exact_groups_thousands():
    assert exact(15_470_264_320) == "15,470,264,320"
    assert exact(999) == "999" and exact(1000) == "1,000"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**18))
def test_si_reads_back_within_its_precision(n):
    """`parse_count(si(n))` is n to within half of the last digit shown (0.05 of the unit)."""
    shown = si(n)
    back = parse_count(shown)
    if n < 1000:
        assert back == n
    elif "e+" in shown:
        exponent = int(shown.split("e+")[1])
        assert abs(back - n) <= Fraction(5, 100) * 10**exponent
    else:
        unit = si_size(SHOWN_SI[shown[-1]])
        assert abs(back - n) <= Fraction(5, 100) * unit
        assert 1 <= Fraction(shown[:-1]) <= 1000


# --------------------------------------------------------------------------- showing bytes

def test_binary_below_1024_is_exact_bytes():
    assert binary(0) == "0 B"
    assert binary(12) == "12 B"
    assert binary(1023) == "1,023 B"  # the largest byte count shown as bytes


@pytest.mark.parametrize("unit, power", IEC_BYTES.items())
def test_binary_switches_unit_at_each_power_of_1024(unit, power):
    size = iec_size(power)
    assert binary(size) == f"1.0 {unit}"
    assert binary(3 * size // 2) == f"1.5 {unit}"
    assert binary(1000 * size) == f"1000.0 {unit}"


def test_binary_is_not_si():
    """10^6 bytes are 10^6 / 2^10 = 976.5625 KiB, shown 976.6 KiB (not 1.0 MB)."""
    assert binary(10**6) == "976.6 KiB"
    assert binary(10**9) == "953.7 MiB"  # 10^9 / 2^20 = 953.67...
    assert binary(2**20) == "1.0 MiB"
    assert binary(1024) == "1.0 KiB"


def test_binary_past_1024_tib_uses_an_exponent():
    """From 2^50 bytes (1024 TiB) on, bytes are shown as a power of ten."""
    assert binary(2**50) == "1.1e+15 B"  # 2^50 = 1,125,899,906,842,624
    assert binary(10**18) == "1.0e+18 B"
    assert binary(2**40 * 1000) == "1000.0 TiB"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**60))
def test_binary_reads_back_within_its_precision(n):
    """The size shown is n to within 0.05 of its unit; `parse_bytes` reads it back exactly when
    it is whole bytes (x.0 or x.5 of a unit) and refuses it as not whole otherwise."""
    shown = binary(n)
    number, unit = shown.split(" ")
    if unit == "B" and "e+" not in number:
        assert parse_bytes(shown) == n
        return
    if "e+" in number:
        value, size = Fraction(number), 10 ** int(number.split("e+")[1])
    else:
        size = iec_size(IEC_BYTES[unit])
        value = Fraction(number) * size
        assert 1 <= Fraction(number) <= 1024
    assert abs(value - n) <= Fraction(5, 100) * size
    if value.denominator == 1:
        assert parse_bytes(shown) == value
    else:
        with pytest.raises(CnnCalcError, match="not a whole number"):
            parse_bytes(shown)


@pytest.mark.parametrize("show, n, expected", [
    (si, 999_999, "1.0M"),
    (si, 10**12 - 1, "1.0T"),
    (binary, 2**20 - 1, "1.0 MiB"),
    (binary, 2**30 - 1, "1.0 GiB"),
    (si, 999_949, "999.9k"),
    (si, 999, "999"),
    (si, 10**15 - 1, "1.0e+15"),
    (binary, 1023, "1,023 B"),
    (binary, 2**50 - 1, "1.1e+15 B"),
])
def test_a_rounded_value_moves_to_the_next_prefix(show, n, expected):
    """A shown mantissa stays below 1000 (SI) or 1024 (binary): once rounding reaches it, the
    next prefix is the readable one (999,999 is 1.0M, not 1000.0k)."""
    assert show(n) == expected


# --------------------------------------------------------------------------- shares, dtypes

@pytest.mark.parametrize("text, share", [
    ("5%", Fraction(5, 100)),
    ("0.5%", Fraction(5, 1000)),
    (".5%", Fraction(5, 1000)),
    ("33.3%", Fraction(333, 1000)),
    ("100%", Fraction(1)),
    ("250%", Fraction(5, 2)),
    (" 7 % ", Fraction(7, 100)),
    ("0%", Fraction(0)),
])
def test_a_share_is_its_percentage_over_100_exactly(text, share):
    """`p%` is the exact fraction p/100 (no float rounding: 33.3% is 333/1000)."""
    assert parse_share(text) == share


@pytest.mark.parametrize("text, words", [
    ("5", ["cannot read '5' as a percentage", "write it with a percent sign, e.g. '5%'"]),
    ("0.5", ["e.g. '0.5%'"]),
    ("-5%", ["a share must be 0% or more"]),
    ("%", ["cannot read '%'"]),
    ("5%%", ["cannot read"]),
    ("1e2%", ["cannot read"]),
])
def test_share_errors(text, words):
    with pytest.raises(CnnCalcError) as err:
        parse_share(text, "--max-growth")
    for word in words:
        assert word in str(err.value)
    assert "--max-growth" in str(err.value)


def test_bytes_per_element_of_each_dtype():
    """CONVENTIONS.md: fp32 4, fp16/bf16 2, int8 1 (the bit width over 8)."""
    assert DTYPE_BYTES == {"fp32": 32 // 8, "fp16": 16 // 8, "bf16": 16 // 8, "int8": 8 // 8}


def test_share_bounds_are_inclusive():
    """The largest share read is 1,000,000% (10^4 times the whole), and a share's text may be
    120 characters long: both limits are accepted exactly, one past each is refused."""
    assert parse_share("1000000%") == 10_000
    with pytest.raises(CnnCalcError, match="more than 1,000,000%"):
        parse_share("1000000.5%")
    at_limit = "1." + "0" * 117 + "%"  # 120 characters
    assert len(at_limit) == 120 and parse_share(at_limit) == Fraction(1, 100)
    with pytest.raises(CnnCalcError, match="too long to be a percentage"):
        parse_share("1." + "0" * 118 + "%")


def test_clip_keeps_a_value_to_one_line_from_its_limit_on():
    import datetime

    from cnncalc.core.units import clip

    # text: quoted, whole up to the limit (40 characters), then its head and its length
    assert clip("a" * 40) == "'" + "a" * 40 + "'"
    assert clip("a" * 41) == "'" + "a" * 40 + "'... (41 chars)"
    assert clip("abc", limit=2) == "'ab'... (3 chars)"
    # integers as written: 40 digits whole, 41 cut
    assert clip(10**39) == "1" + "0" * 39
    assert clip(10**40) == "1" + "0" * 39 + "... (41 chars)"
    # past 4,000 bits (str() refuses past 4,300 digits): the size only
    assert clip(2**4000) == "an integer of 4,001 bits"
    assert clip(2**3999).endswith("... (1,204 chars)")  # 4,000 bits: 1,204 digits, written
    # anything else as Python writes it (a YAML date, a list)
    assert clip(datetime.date(2020, 1, 2)) == "datetime.date(2020, 1, 2)"
    assert clip([1, "a"]) == "[1, 'a']"
    assert clip(None) == "None"


def test_counts_are_read_up_to_a_googol_exactly_and_refused_past_it_by_name():
    from cnncalc.core.units import parse_count

    # 10^100 is the largest count (MAX_COUNT): read as an int, as text and as an exponent
    assert parse_count(10**100) == parse_count("1e100") == 10**100
    # one more is refused, and the message names the option and the value
    with pytest.raises(CnnCalcError) as error:
        parse_count(10**100 + 1, "--max-params")
    assert str(error.value) == ("cnncalc: --max-params: 1" + "0" * 39 + "... (101 chars) is "
                                "more than 10^100, the largest count cnncalc reads")
    with pytest.raises(CnnCalcError) as error:
        parse_count("1.0000000001e100", "--max-params")
    assert str(error.value) == ("cnncalc: --max-params: '1.0000000001e100' is more than "
                                "10^100, the largest count cnncalc reads")
    # a float (YAML's 1e6) is read by its text
    assert parse_count(1e6) == 1_000_000
    assert parse_count(2.5e3) == 2500


def test_number_text_is_read_up_to_120_characters_with_any_separators():
    from cnncalc.core.units import parse_count

    assert parse_count("0" * 119 + "7") == 7  # 120 characters: read
    with pytest.raises(CnnCalcError) as error:
        parse_count("0" * 120 + "7", "--max-macs")
    assert str(error.value) == ("cnncalc: --max-macs: '" + "0" * 40 + "'... (121 chars) is too "
                                "long to be a number (at most 120 characters; limits stop at "
                                "10^100)")
    # `_` and `,` group digits anywhere after the first (Python's own Fraction would refuse
    # a doubled or trailing underscore)
    assert parse_count("1__000") == parse_count("10_00_") == parse_count("1,0,00") == 1000
