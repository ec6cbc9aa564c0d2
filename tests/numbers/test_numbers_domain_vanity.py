"""Vanity (靓号) rules: one positive and one negative example per rule, then the edge cases."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.numbers import domain, vanity

# (number, rule code, matches?) — every rule code appears at least once each way.
RULE_EXAMPLES = [
    ("13800001888", "TAIL_SAME_3", True),
    ("13800008888", "TAIL_SAME_3", False),
    ("13800018888", "TAIL_SAME_4", True),
    ("13800001888", "TAIL_SAME_4", False),
    ("13800188888", "TAIL_SAME_5", True),
    ("13800018888", "TAIL_SAME_5", False),
    ("13801888888", "TAIL_SAME_6", True),
    ("13800188888", "TAIL_SAME_6", False),
    ("13818888888", "TAIL_SAME_7", True),
    ("13801888888", "TAIL_SAME_7", False),
    ("13888888888", "TAIL_SAME_8", True),  # a run of 9 is still TAIL_SAME_8
    ("13918888888", "TAIL_SAME_8", False),
    ("13800008889", "AAAB", True),
    ("13800008888", "AAAB", False),
    ("13800051234", "ASC_4", True),
    ("13800007890", "ASC_4", False),  # 0 does not follow 9
    ("13800912345", "ASC_5", True),
    ("13800051234", "ASC_5", False),
    ("13899234567", "ASC_6", True),
    ("13800923456", "ASC_6", False),
    ("13891234567", "ASC_7", True),
    ("13899234567", "ASC_7", False),
    ("13812345678", "ASC_8", True),
    ("13891234567", "ASC_8", False),
    ("13800009876", "DESC_4", True),
    ("13800009875", "DESC_4", False),
    ("13800098765", "DESC_5", True),
    ("13800009876", "DESC_5", False),
    ("13800987654", "DESC_6", True),
    ("13800098765", "DESC_6", False),
    ("13809876543", "DESC_7", True),
    ("13800987654", "DESC_7", False),
    ("13898765432", "DESC_8", True),
    ("13809876543", "DESC_8", False),
    ("13800051122", "AABB", True),
    ("13800051212", "AABB", False),
    ("13800051212", "ABAB", True),
    ("13800051122", "ABAB", False),
    ("13800051221", "ABBA", True),
    ("13800051212", "ABBA", False),
    ("13800112233", "AABBCC", True),
    ("13800512233", "AABBCC", False),
    ("13800123123", "ABCABC", True),
    ("13800121121", "ABCABC", False),  # letters are distinct digits: 121 is not ABC
    ("13812341234", "ABCDABCD", True),
    ("13812121212", "ABCDABCD", False),
    ("13800000168", "LUCKY_168", True),
    ("13800000186", "LUCKY_168", False),
    ("13800000518", "LUCKY_518", True),
    ("13800000581", "LUCKY_518", False),
    ("13800000520", "LUCKY_520", True),
    ("13800000502", "LUCKY_520", False),
    ("13800000521", "LUCKY_521", True),
    ("13800000520", "LUCKY_521", False),
    ("13800001314", "LUCKY_1314", True),
    ("13800001341", "LUCKY_1314", False),
    ("13800000888", "LUCKY_888", True),
    ("13800008880", "LUCKY_888", False),
    ("13800000666", "LUCKY_666", True),
    ("13800006660", "LUCKY_666", False),
    ("13800000999", "LUCKY_999", True),
    ("13800009990", "LUCKY_999", False),
    ("13819900520", "BIRTHDAY_YYYYMMDD", True),
    ("13820230230", "BIRTHDAY_YYYYMMDD", False),
    ("13800001231", "BIRTHDAY_MMDD", True),
    ("13800001332", "BIRTHDAY_MMDD", False),
    ("13800001235", "NO_FOUR", True),
    ("14700001235", "NO_FOUR", False),  # the 4 is in the segment: NO_FOUR looks at all 11 digits
    ("13800001245", "FOUR_IN_TAIL", True),
    ("13840001235", "FOUR_IN_TAIL", False),  # a 4 outside the last four is no penalty
]


def test_the_examples_cover_every_rule_both_ways():
    covered = {(code, expected) for _, code, expected in RULE_EXAMPLES}
    for rule in domain.RULES:
        assert (rule.code, True) in covered, rule.code
        assert (rule.code, False) in covered, rule.code


@pytest.mark.parametrize(("msisdn", "code", "expected"), RULE_EXAMPLES)
def test_each_vanity_rule_matches_its_example_and_not_its_counter_example(msisdn, code, expected):
    assert (code in domain.classify(msisdn).codes) is expected


def _codes(msisdn: str) -> set[str]:
    return set(domain.classify(msisdn).codes)


def test_a_number_ending_8888_matches_four_same_digits_and_not_three():
    codes = _codes("13812398888")
    assert "TAIL_SAME_4" in codes
    assert "TAIL_SAME_3" not in codes


def test_only_the_longest_trailing_run_counts():
    assert {c for c in _codes("13888888888") if c.startswith("TAIL_SAME")} == {"TAIL_SAME_8"}
    assert {c for c in _codes("13800123456") if c.startswith("ASC")} == {"ASC_7"}  # 0123456
    assert {c for c in _codes("13800765432") if c.startswith("DESC")} == {"DESC_6"}


def test_aaab_and_a_trailing_triple_never_match_together():
    assert _codes("13800008889") >= {"AAAB"} and "TAIL_SAME_3" not in _codes("13800008889")
    assert _codes("13800001888") >= {"TAIL_SAME_3"} and "AAAB" not in _codes("13800001888")


def test_abab_is_not_aabb_and_four_same_digits_are_neither():
    assert "AABB" not in _codes("13800051212")
    assert "ABAB" not in _codes("13800051122")
    assert not {"AABB", "ABAB", "ABBA"} & _codes("13800051111")


def test_aabbcc_replaces_the_aabb_its_last_four_digits_form():
    codes = _codes("13800112233")
    assert "AABBCC" in codes
    assert "AABB" not in codes


def test_four_in_the_tail_is_a_penalty_that_lowers_the_score():
    with_four = domain.classify("13800005148")
    without = domain.classify("13800005158")
    assert "FOUR_IN_TAIL" in with_four.codes
    penalty = next(m for m in with_four.matches if m.code == "FOUR_IN_TAIL")
    assert penalty.score < 0
    assert with_four.score < without.score


def test_no_four_and_four_in_tail_never_match_together():
    assert "NO_FOUR" not in _codes("13800001245")


@pytest.mark.parametrize(
    ("msisdn", "full_date", "month_day"),
    [
        ("13820230230", False, False),  # 2023-02-30 is not a date
        ("13820230229", False, True),  # 2023 is not a leap year; 0229 is still a birthday
        ("13820240229", True, False),  # a real date; the full date replaces the month-day
        ("13819491231", False, True),  # 1949 is before the birthday years
        ("13820260315", False, True),  # after them
        ("13819501231", True, False),
        ("13820251231", True, False),
        ("13819901301", False, False),  # month 13
        ("13819900431", False, False),  # April has 30 days
    ],
)
def test_birthday_rules_only_accept_real_dates(msisdn, full_date, month_day):
    codes = _codes(msisdn)
    assert ("BIRTHDAY_YYYYMMDD" in codes) is full_date
    assert ("BIRTHDAY_MMDD" in codes) is month_day


@pytest.mark.parametrize(("msisdn", "explained_by"), [
    ("13800001111", "TAIL_SAME_4"),  # 11-11 is a date, but this is a four-run
    ("13800001212", "ABAB"),
    ("13800001221", "ABBA"),
    ("13800001122", "AABBCC"),
    ("13800050123", "ASC_4"),
])  # fmt: skip
def test_a_month_day_already_explained_by_another_pattern_is_not_also_a_birthday(
    msisdn, explained_by
):
    codes = _codes(msisdn)
    assert explained_by in codes
    assert "BIRTHDAY_MMDD" not in codes


def test_lucky_endings_stack_with_shapes():
    assert _codes("13812398888") >= {"TAIL_SAME_4", "LUCKY_888"}


def test_matches_say_which_digits_matched():
    classification = domain.classify("13812398888")
    match = next(m for m in classification.matches if m.code == "TAIL_SAME_4")
    assert (match.start, match.length) == (7, 4)
    assert match.digits("13812398888") == "8888"
    everything = next(m for m in domain.classify("13800001235").matches if m.code == "NO_FOUR")
    assert (everything.start, everything.length) == (0, 11)


def test_a_match_is_explained_in_chinese_with_its_score():
    match = next(m for m in domain.classify("13812398888").matches if m.code == "TAIL_SAME_4")
    assert (
        domain.explain_match(match=match, msisdn="13812398888")
        == "尾号 8888 为四连号（AAAA），+400 分"
    )
    penalty = next(m for m in domain.classify("13800005148").matches if m.code == "FOUR_IN_TAIL")
    assert domain.explain_match(match=penalty, msisdn="13800005148") == "尾号 5148 含数字 4，-30 分"


def test_scores_rank_the_patterns_as_the_market_does():
    s = {rule.code: rule.score for rule in domain.RULES}
    assert s["TAIL_SAME_8"] > 2 * s["ABCDABCD"]
    assert s["TAIL_SAME_8"] > s["TAIL_SAME_7"] > s["ABCDABCD"] > s["TAIL_SAME_6"]
    assert s["TAIL_SAME_6"] > s["TAIL_SAME_5"] > s["TAIL_SAME_4"] > s["AABB"]
    lucky = [score for code, score in s.items() if code.startswith("LUCKY_")]
    assert s["AABB"] > max(lucky)
    assert min(lucky) > s["BIRTHDAY_MMDD"] > s["NO_FOUR"] > 0 > s["FOUR_IN_TAIL"]
    assert s["BIRTHDAY_YYYYMMDD"] > s["BIRTHDAY_MMDD"]


def test_a_rule_only_yields_to_stronger_rules():
    by_code = {rule.code: rule for rule in domain.RULES}
    for rule in domain.RULES:
        for stronger in rule.yields_to:
            assert by_code[stronger].score > rule.score, (rule.code, stronger)


def test_pattern_bits_never_move():
    # Stored in the database: this list may grow at the end, nothing here may change.
    assert domain.PATTERN_BITS == {
        "TAIL_SAME_3": 0, "TAIL_SAME_4": 1, "TAIL_SAME_5": 2, "TAIL_SAME_6": 3,
        "TAIL_SAME_7": 4, "TAIL_SAME_8": 5, "AAAB": 6,
        "ASC_4": 7, "ASC_5": 8, "ASC_6": 9, "ASC_7": 10, "ASC_8": 11,
        "DESC_4": 12, "DESC_5": 13, "DESC_6": 14, "DESC_7": 15, "DESC_8": 16,
        "AABB": 17, "ABAB": 18, "ABBA": 19, "AABBCC": 20, "ABCABC": 21, "ABCDABCD": 22,
        "LUCKY_168": 23, "LUCKY_518": 24, "LUCKY_520": 25, "LUCKY_521": 26,
        "LUCKY_1314": 27, "LUCKY_888": 28, "LUCKY_666": 29, "LUCKY_999": 30,
        "BIRTHDAY_YYYYMMDD": 31, "BIRTHDAY_MMDD": 32, "NO_FOUR": 33, "FOUR_IN_TAIL": 34,
    }  # fmt: skip


def test_every_rule_has_a_chinese_label():
    for rule in domain.RULES:
        assert rule.label and rule.explain
    assert {rule.code: rule.label for rule in domain.RULES}["TAIL_SAME_3"] == "尾号豹子 AAA"


@pytest.mark.parametrize(
    "msisdn", ["1381234567", "138123456789", "1381234567a", "１３８１２３４５６７８", ""]
)
def test_classify_refuses_anything_but_11_ascii_digits(msisdn):
    with pytest.raises(domain.InvalidMsisdn):
        domain.classify(msisdn)


def test_classify_accepts_its_argument_by_keyword_too():
    assert domain.classify(msisdn="13812398888") == domain.classify("13812398888")


def test_an_ordinary_number_matches_nothing_and_is_normal():
    classification = domain.classify("13912345670")
    assert classification.matches == ()
    assert classification.score == 0
    assert classification.tier is domain.Tier.NORMAL
    assert classification.pattern_mask == 0


def test_vanity_names_are_re_exported_from_domain():
    assert domain.classify is vanity.classify
    assert domain.Tier is vanity.Tier


# ---------------------------------------------------------------- suggestions


def _tails(items) -> list[tuple[str, bool]]:
    return [(item.tail, item.at_end) for item in items]


def test_a_birthday_suggests_the_full_date_the_short_date_and_the_month_day():
    tails = domain.suggestion_tails(birthday=dt.date(1990, 5, 20), favourite_digits=None)
    assert _tails(tails) == [("19900520", True), ("900520", True), ("0520", True)]
    assert [t.reason for t in tails] == [
        "生日全号（年月日）",
        "生日（年份后两位 + 月日）",
        "生日月日",
    ]


def test_two_favourite_digits_suggest_their_vanity_shapes_and_anywhere():
    tails = domain.suggestion_tails(birthday=None, favourite_digits="68")
    assert _tails(tails) == [
        ("68", True), ("668", True), ("688", True), ("6868", True), ("6688", True), ("68", False),
    ]  # fmt: skip


def test_a_favourite_digit_suggests_runs_of_it():
    tails = domain.suggestion_tails(birthday=None, favourite_digits="8")
    assert _tails(tails) == [
        ("8", True),
        ("888", True),
        ("8888", True),
        ("88888", True),
        ("8", False),
    ]


def test_longer_favourite_digits_suggest_a_repeat_while_it_fits_eight_digits():
    assert ("520520", True) in _tails(
        domain.suggestion_tails(birthday=None, favourite_digits="520")
    )
    six = _tails(domain.suggestion_tails(birthday=None, favourite_digits="131452"))
    assert six == [("131452", True), ("131452", False)]


def test_suggestions_do_not_repeat_a_tail():
    tails = domain.suggestion_tails(birthday=dt.date(2000, 5, 20), favourite_digits="0520")
    assert len(_tails(tails)) == len(set(_tails(tails)))


def test_no_birthday_and_no_favourite_digits_suggest_nothing():
    assert domain.suggestion_tails(birthday=None, favourite_digits=None) == []


@pytest.mark.parametrize("favourite", ["", "1234567", "6a", " 68", "６８", 68])
def test_favourite_digits_must_be_one_to_six_digits(favourite):
    with pytest.raises(domain.InvalidSuggestionInput) as info:
        domain.suggestion_tails(birthday=None, favourite_digits=favourite)
    assert info.value.code == "invalid_suggestion_input"
    assert info.value.status == 422
