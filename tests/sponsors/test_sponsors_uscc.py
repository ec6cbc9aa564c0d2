"""统一社会信用代码 (GB 32100-2015), without a database: published codes of real companies pass,
and any one-character change of a valid code is refused (the standard's checks catch every
single substitution)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haoka.sponsors import domain
from haoka.sponsors.domain import USCC_ALPHABET, InvalidUscc, check_uscc

#: Codes printed on the companies' published business licences (营业执照).
PUBLISHED = {
    "9144030071526726XG": "深圳市腾讯计算机系统有限公司",
    "91330100799655058B": "阿里巴巴（中国）有限公司",
    "914403001922038216": "华为技术有限公司",
    "91110000802100433B": "北京百度网讯科技有限公司",
    "91110108551385082Q": "小米科技有限责任公司",
}
#: Codes whose organization code holds letters (issued since 2015, "MA..."), from an
#: open-source validator's test list: the letters are valued A=10 ... as GB 11714 says.
WITH_LETTERS = ("91310107MA1G1C8Q5W", "91310000MA1FR8MB1W")


@pytest.mark.parametrize("code", [*PUBLISHED, *WITH_LETTERS])
def test_published_codes_of_real_companies_are_valid(code):
    assert check_uscc(code) == code


def test_a_code_is_read_upper_cased_and_stripped():
    assert check_uscc("  9144030071526726xg ") == "9144030071526726XG"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("9144030071526726X", "length"),
        ("9144030071526726XGA", "length"),
        ("", "length"),
        ("9144030071526726IG", "alphabet"),  # I is not in the alphabet
        ("Z144030071526726XG", "alphabet"),
        ("B144030071526726XG", "authority"),  # B registers nothing
        ("9444030071526726XG", "kind"),  # 工商 registers types 1-3 only
        ("91A4030071526726XG", "division"),
        ("9199030071526726XG", "division"),  # no province 99
        ("9144030071526727XG", "organization_check"),
        ("9144030071526726XH", "check"),
    ],
)
def test_malformed_codes_are_refused_with_the_reason(code, reason):
    with pytest.raises(InvalidUscc) as refused:
        check_uscc(code)
    assert refused.value.details["reason"] == reason
    assert refused.value.code == "invalid_uscc"


def test_the_check_weights_are_powers_of_three_mod_31():
    assert domain._USCC_WEIGHTS[:6] == (1, 3, 9, 27, 19, 26)


def test_the_organization_check_writes_ten_as_x_and_eleven_as_zero():
    assert domain.organization_check("71526726") == "X"
    assert domain.organization_check("00000000") == "0"  # 11 - 0 = 11


def test_non_text_is_refused():
    for raw in (None, 9144030071526726, b"9144030071526726XG"):
        with pytest.raises(InvalidUscc):
            check_uscc(raw)


@given(
    code=st.sampled_from([*PUBLISHED, *WITH_LETTERS]),
    position=st.integers(0, 17),
    replacement=st.sampled_from(USCC_ALPHABET),
)
def test_any_valid_code_with_one_character_changed_is_refused(code, position, replacement):
    if code[position] == replacement:
        replacement = USCC_ALPHABET[(USCC_ALPHABET.index(replacement) + 1) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(InvalidUscc):
        check_uscc(changed)


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_the_check_character_completes_any_first_seventeen_to_a_code_that_checks(first17):
    full = first17 + domain.uscc_check(first17)
    assert domain.uscc_check(full[:17]) == full[17]
    # and a change of any one of the 17 changes the check (31 is prime, weights non-zero)
    for i in range(17):
        other = USCC_ALPHABET[(USCC_ALPHABET.index(first17[i]) + 1) % 31]
        assert domain.uscc_check(first17[:i] + other + first17[i + 1 :]) != full[17]
