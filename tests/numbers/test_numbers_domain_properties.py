"""Properties of classification, parsing and valuation, checked with hypothesis.

``reference_codes`` restates every vanity rule the slow, obvious way, independently of the
table and its fast path, so the two can be compared on any number.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haoka.numbers import domain
from haoka.numbers.domain import Tier

# ---------------------------------------------------------------- strategies

DIGITS = "0123456789"
FRAGMENTS = [
    "8888", "6666", "9999", "1111", "888", "666", "999", "168", "518", "520", "521", "1314",
    "1234", "5678", "45678", "345678", "2345678", "12345678", "9876", "98765", "876543",
    "1122", "1212", "1221", "8889", "112233", "123123", "12341234", "19900520", "0229",
    "20240229", "20230229", "1231", "4", "44", "0", "7890", "0123", "3210",
]  # fmt: skip


@st.composite
def patterned_tails(draw) -> str:
    """Eight digits built from fragments that trigger rules, padded with random digits."""
    tail = draw(st.text(DIGITS, min_size=0, max_size=8))
    for fragment in draw(st.lists(st.sampled_from(FRAGMENTS), max_size=3)):
        tail += fragment
    return tail[-8:].rjust(8, draw(st.sampled_from(DIGITS)))


segments = st.sampled_from(["130", "138", "147", "150", "186", "189", "199", "192", "170"])
any_numbers = st.builds(
    lambda seg, tail: seg + tail, segments, st.text(DIGITS, min_size=8, max_size=8)
)
patterned_numbers = st.builds(lambda seg, tail: seg + tail, segments, patterned_tails())
numbers = st.one_of(any_numbers, patterned_numbers)


def _valid_numbers(carrier_code: str):
    prefixes = domain.carrier_prefixes(carrier_code=carrier_code)
    return st.builds(
        lambda p, tail: p + tail, st.sampled_from(prefixes), st.text(DIGITS, min_size=4, max_size=4)
    )


# ---------------------------------------------------------------- the reference


def _trailing(msisdn: str, step: int) -> int:
    """Length of the trailing run where each digit is the previous one plus ``step``."""
    run = 1
    while run < len(msisdn) and int(msisdn[-run]) - int(msisdn[-run - 1]) == step:
        run += 1
    return run


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


EXPLAINS_LAST_FOUR = {
    "BIRTHDAY_YYYYMMDD", "AAAB", "AABB", "ABAB", "ABBA", "AABBCC", "ABCABC", "ABCDABCD",
    "LUCKY_1314", *(f"TAIL_SAME_{n}" for n in range(4, 9)),
    *(f"{c}_{n}" for c in ("ASC", "DESC") for n in range(4, 9)),
}  # fmt: skip


def reference_codes(m: str) -> set[str]:
    codes: set[str] = set()
    for code, step, shortest in (("TAIL_SAME", 0, 3), ("ASC", 1, 4), ("DESC", -1, 4)):
        run = _trailing(m, step)
        if run >= shortest:
            codes.add(f"{code}_{min(run, 8)}")
    a, b, c, d = m[-4:]
    if a == b == c != d:
        codes.add("AAAB")
    if a == b and c == d and a != c:
        codes.add("AABB")
    if a == c and b == d and a != b:
        codes.add("ABAB")
    if a == d and b == c and a != b:
        codes.add("ABBA")
    t6, t8 = m[-6:], m[-8:]
    if t6[0] == t6[1] and t6[2] == t6[3] and t6[4] == t6[5] and len(set(t6)) == 3:
        codes.add("AABBCC")
        codes.discard("AABB")
    if t6[:3] == t6[3:] and len(set(t6)) == 3:
        codes.add("ABCABC")
    if t8[:4] == t8[4:] and len(set(t8)) == 4:
        codes.add("ABCDABCD")
    for lucky in ("168", "518", "520", "521", "1314", "888", "666", "999"):
        if m.endswith(lucky):
            codes.add(f"LUCKY_{lucky}")
    year, month, day = int(t8[:4]), int(t8[4:6]), int(t8[6:])
    if 1950 <= year <= 2025 and _is_date(year, month, day):
        codes.add("BIRTHDAY_YYYYMMDD")
    if _is_date(2000, month, day) and not codes & EXPLAINS_LAST_FOUR:  # 2000 has a Feb 29
        codes.add("BIRTHDAY_MMDD")
    if "4" not in m:
        codes.add("NO_FOUR")
    if "4" in m[-4:]:
        codes.add("FOUR_IN_TAIL")
    return codes


# ---------------------------------------------------------------- classification


@given(numbers)
@settings(max_examples=3000)
def test_classification_agrees_with_the_reference_rules(msisdn):
    assert set(domain.classify(msisdn).codes) == reference_codes(msisdn)


@given(numbers)
def test_classification_is_deterministic(msisdn):
    first = domain.classify(msisdn)
    rebuilt = "".join(list(msisdn))  # an equal but distinct string object
    assert domain.classify(rebuilt) == first
    assert domain.classify(msisdn) == first


@given(numbers)
def test_score_is_the_sum_of_the_matches_and_tier_follows_the_score(msisdn):
    c = domain.classify(msisdn)
    assert c.score == sum(m.score for m in c.matches)
    assert c.tier is domain.tier_for_score(score=c.score)
    assert len(c.codes) == len(c.matches)


@given(numbers)
def test_pattern_mask_bits_are_exactly_the_matched_codes(msisdn):
    c = domain.classify(msisdn)
    expected = 0
    for match in c.matches:
        expected |= 1 << domain.PATTERN_BITS[match.code]
    assert c.pattern_mask == expected
    for code, bit in domain.PATTERN_BITS.items():
        assert bool(c.pattern_mask >> bit & 1) is (code in c.codes)


@given(numbers)
def test_a_stored_pattern_mask_reads_back_as_the_matched_codes(msisdn):
    c = domain.classify(msisdn)
    assert domain.pattern_codes(c.pattern_mask) == [m.code for m in c.matches]


@given(numbers)
def test_every_match_points_at_digits_inside_the_number(msisdn):
    for match in domain.classify(msisdn).matches:
        assert match.start >= 0 and match.start + match.length == 11
        assert len(match.digits(msisdn)) == match.length


@given(st.integers(-100, 20_000), st.integers(-100, 20_000))
def test_tier_is_monotone_in_score(low, high):
    low, high = min(low, high), max(low, high)
    assert domain.tier_for_score(score=high).rank <= domain.tier_for_score(score=low).rank


def _gains_only_positive_patterns(richer, poorer) -> bool:
    extra = richer.codes - poorer.codes
    scores = {m.code: m.score for m in richer.matches}
    return richer.codes >= poorer.codes and all(scores[code] > 0 for code in extra)


@given(st.lists(patterned_numbers, min_size=2, max_size=25))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_gaining_a_pattern_never_drops_the_tier(batch):
    # Within a batch of pattern-rich numbers, compare every pair where one number has all of
    # the other's patterns plus only positive ones.
    classified = [domain.classify(m) for m in batch]
    for richer, poorer in itertools.permutations(classified, 2):
        if _gains_only_positive_patterns(richer, poorer):
            assert richer.score >= poorer.score
            assert richer.tier.rank <= poorer.tier.rank


@given(any_numbers, st.sampled_from(FRAGMENTS[:12]))
def test_a_lucky_or_repeated_tail_lifts_any_number_to_c_or_to_d_with_a_4_beside_it(msisdn, tail):
    c = domain.classify(msisdn[: 11 - len(tail)] + tail)
    assert c.tier.rank <= (Tier.D.rank if "FOUR_IN_TAIL" in c.codes else Tier.C.rank)


# ---------------------------------------------------------------- parsing and valuation


@given(st.text(DIGITS, min_size=10, max_size=10))
@settings(max_examples=2000)
def test_parse_msisdn_agrees_with_a_full_phonenumbers_check(rest):
    msisdn = "1" + rest
    # Built directly: phonenumbers.parse would first strip carrier-selection codes (11xxx...).
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(msisdn))
    valid = (
        phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) == "CN"
        and phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
        )
    )  # fmt: skip
    try:
        parsed = domain.parse_msisdn(msisdn)
    except domain.InvalidMsisdn:
        parsed = None
    assert (parsed == msisdn) is valid


@given(st.sampled_from(domain.CARRIER_CODES), st.integers(0, 2**32))
@settings(max_examples=50, deadline=None)
def test_generated_numbers_pass_the_full_phonenumbers_check(carrier_code, seed):
    for msisdn in domain.generate_msisdns(
        carrier_code=carrier_code, rng=random.Random(seed), count=20
    ):
        number = phonenumbers.parse(msisdn, "CN")
        assert phonenumbers.is_valid_number(number)
        assert domain.parse_msisdn(msisdn) == msisdn


@given(st.data(), st.sampled_from(domain.CARRIER_CODES))
@settings(deadline=None)
def test_valuation_price_always_equals_the_tier_price_in_the_table(data, carrier_code):
    msisdn = data.draw(_valid_numbers(carrier_code))
    table = domain.DEFAULT_TIER_PRICES[carrier_code]
    valuation = domain.valuate(msisdn=msisdn, prices=table)
    price = table[valuation.tier]
    assert valuation.price_fen == price.price_fen
    assert valuation.min_monthly_fen == price.min_monthly_fen
    assert valuation.contract_months == price.contract_months
    assert valuation.classification == domain.classify(msisdn)
    assert (
        f"总分 {valuation.classification.score}，评级 {valuation.tier.label}"
        in valuation.explanation
    )
