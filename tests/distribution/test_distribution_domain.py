"""Pure rules of distribution, without a database: rule validation and precedence, the terms
of a sale, what each fact earns and when it may settle, the margin cap, markups, withdrawals
and the state machines."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from haoka.core.errors import IllegalTransition
from haoka.distribution import domain
from haoka.distribution.domain import (
    AgentStatus,
    EntryStatus,
    InvalidRule,
    Kind,
    MarkupOutOfRange,
    RuleRow,
    Terms,
    Tier,
    WithdrawalExceedsBalance,
    WithdrawalTooSmall,
)

UTC = dt.UTC
BJ = domain.BEIJING
T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing, 1 March 2026
PLAN = "CM-MANGO-39"


def rule(kind: str, *, plan: str = PLAN, tier: str = "", days_ago: int | None = 1, **fields):
    start = None if days_ago is None else T0 - dt.timedelta(days=days_ago)
    return RuleRow(plan_code=plan, tier=tier, kind=kind, valid_from=start, **fields)


def sale(
    *, tier: str = "C", parent: bool = True, committed: int = 0, ref: str = "HK1", **terms
) -> domain.Sale:
    values = {
        "margin_fen": 100_00,
        "activation_fen": 30_00,
        "first_topup_fen": 10_00,
        "first_topup_threshold_fen": 50_00,
        "next_month_fen": 20_00,
        "recurring_bp": 1000,
        "recurring_months": 6,
        "override_bp": 2000,
        "markup_fen": 0,
    }
    values.update(terms)
    return domain.Sale(
        order_ref=ref,
        terms=Terms(**values),
        seller_tier=tier,
        has_parent=parent,
        committed_fen=committed,
    )


def by_key(accruals: list[domain.Accrual]) -> dict[str, domain.Accrual]:
    return {a.key: a for a in accruals}


# ---------------------------------------------------------------------------- check_rule


@pytest.mark.parametrize("kind", ["RECRUIT", "INVITE", "MARKUP", "", "activation"])
def test_a_rule_of_a_kind_staff_cannot_configure_is_refused(kind):
    with pytest.raises(InvalidRule) as refused:
        domain.check_rule(rule(kind, amount_fen=10_00))
    assert refused.value.code == "commission_rule_invalid"


def test_there_is_no_rule_kind_for_recruiting_sub_agents():
    assert set(domain.RULE_KINDS) == {
        Kind.ACTIVATION, Kind.FIRST_TOPUP, Kind.NEXT_MONTH, Kind.RECURRING, Kind.OVERRIDE,
    }  # fmt: skip
    assert not any("RECRUIT" in k or "INVITE" in k for k in Kind)


@pytest.mark.parametrize("tier", ["E", "a", "AB", "*"])
def test_a_rule_for_an_unknown_tier_is_refused(tier):
    with pytest.raises(InvalidRule):
        domain.check_rule(rule("ACTIVATION", tier=tier, amount_fen=10_00))


@pytest.mark.parametrize("tier", ["", "A", "B", "C", "D"])
def test_a_rule_for_every_tier_or_one_tier_is_accepted(tier):
    domain.check_rule(rule("ACTIVATION", tier=tier, amount_fen=10_00))


@pytest.mark.parametrize(
    "fields",
    [
        {"amount_fen": -1},
        {"rate_bp": -1},
        {"threshold_fen": -1},
        {"months": -1},
    ],
)
def test_a_negative_amount_rate_threshold_or_month_count_is_refused(fields):
    kind = "RECURRING" if "rate_bp" in fields or "months" in fields else "FIRST_TOPUP"
    with pytest.raises(InvalidRule):
        domain.check_rule(rule(kind, **fields))


@pytest.mark.parametrize("kind", ["RECURRING", "OVERRIDE"])
def test_a_share_of_exactly_one_hundred_percent_is_accepted_and_one_bp_more_is_refused(kind):
    domain.check_rule(rule(kind, rate_bp=10_000, months=3))
    with pytest.raises(InvalidRule) as refused:
        domain.check_rule(rule(kind, rate_bp=10_001, months=3))
    assert refused.value.details == {"rate_bp": 10_001}


@pytest.mark.parametrize("kind", ["RECURRING", "OVERRIDE"])
def test_a_rate_kind_with_a_fixed_amount_is_refused(kind):
    with pytest.raises(InvalidRule):
        domain.check_rule(rule(kind, amount_fen=5_00, rate_bp=1000, months=3))


@pytest.mark.parametrize("kind", ["ACTIVATION", "FIRST_TOPUP", "NEXT_MONTH"])
def test_a_fixed_kind_with_a_rate_is_refused(kind):
    with pytest.raises(InvalidRule):
        domain.check_rule(rule(kind, amount_fen=5_00, rate_bp=1000))


@pytest.mark.parametrize("kind", ["ACTIVATION", "FIRST_TOPUP", "NEXT_MONTH"])
def test_a_fixed_kind_with_an_amount_is_accepted(kind):
    domain.check_rule(rule(kind, amount_fen=5_00, threshold_fen=50_00))


def test_a_recurring_share_without_a_number_of_months_is_refused():
    with pytest.raises(InvalidRule):
        domain.check_rule(rule("RECURRING", rate_bp=1000, months=0))
    domain.check_rule(rule("RECURRING", rate_bp=1000, months=1))
    domain.check_rule(rule("RECURRING", rate_bp=0, months=0))  # nothing paid: harmless


def test_a_rule_that_ends_before_or_when_it_starts_is_refused():
    for end in (T0 - dt.timedelta(days=1), T0 - dt.timedelta(days=2)):
        with pytest.raises(InvalidRule):
            domain.check_rule(rule("ACTIVATION", amount_fen=1, valid_to=end))
    domain.check_rule(rule("ACTIVATION", amount_fen=1, valid_to=T0))


# ---------------------------------------------------------------------------- pick_rule


def pick(rules, *, tier: str = "C", plan: str = PLAN, kind: str = "ACTIVATION", at=T0):
    return domain.pick_rule(rules, plan_code=plan, tier=tier, kind=kind, at=at)


def test_a_rule_for_the_sellers_tier_beats_a_rule_for_every_tier():
    every = rule("ACTIVATION", amount_fen=10_00, days_ago=1)
    mine = rule("ACTIVATION", tier="C", amount_fen=20_00, days_ago=30)
    assert pick([every, mine]).amount_fen == 20_00
    assert pick([mine, every]).amount_fen == 20_00
    assert pick([every, mine], tier="B").amount_fen == 10_00


def test_a_rule_for_the_plan_beats_a_rule_for_every_plan():
    anyplan = rule("ACTIVATION", plan="*", amount_fen=10_00, days_ago=1)
    mine = rule("ACTIVATION", amount_fen=20_00, days_ago=30)
    assert pick([anyplan, mine]).amount_fen == 20_00
    assert pick([anyplan, mine], plan="CU-OTHER").amount_fen == 10_00


def test_a_plan_rule_for_every_tier_beats_an_every_plan_rule_for_the_tier():
    anyplan_tier = rule("ACTIVATION", plan="*", tier="C", amount_fen=10_00)
    plan_every_tier = rule("ACTIVATION", amount_fen=20_00)
    assert pick([anyplan_tier, plan_every_tier]).amount_fen == 20_00


def test_between_equally_specific_rules_the_latest_start_wins():
    old = rule("ACTIVATION", amount_fen=10_00, days_ago=30)
    new = rule("ACTIVATION", amount_fen=20_00, days_ago=2)
    assert pick([old, new]).amount_fen == 20_00
    assert pick([new, old]).amount_fen == 20_00
    since_forever = rule("ACTIVATION", amount_fen=5_00, days_ago=None)
    assert pick([since_forever, old]).amount_fen == 10_00


def test_a_rule_applies_from_its_start_and_up_to_but_not_at_its_end():
    start, end = T0, T0 + dt.timedelta(days=10)
    window = RuleRow(
        plan_code=PLAN, tier="", kind="ACTIVATION", amount_fen=7_00, valid_from=start, valid_to=end
    )
    assert pick([window], at=start - dt.timedelta(microseconds=1)).amount_fen == 0
    assert pick([window], at=start).amount_fen == 7_00
    assert pick([window], at=end - dt.timedelta(microseconds=1)).amount_fen == 7_00
    assert pick([window], at=end).amount_fen == 0


def test_a_newer_rule_not_yet_in_force_leaves_the_older_one_applying():
    old = rule("ACTIVATION", amount_fen=10_00, days_ago=30)
    future = RuleRow(
        plan_code=PLAN, tier="", kind="ACTIVATION", amount_fen=99_00,
        valid_from=T0 + dt.timedelta(days=1),
    )  # fmt: skip
    assert pick([old, future]).amount_fen == 10_00
    assert pick([old, future], at=T0 + dt.timedelta(days=1)).amount_fen == 99_00


def test_rules_of_another_kind_plan_or_tier_are_ignored_and_nothing_is_a_zero_rule():
    rules = [
        rule("FIRST_TOPUP", amount_fen=10_00),
        rule("ACTIVATION", plan="CU-OTHER", amount_fen=10_00),
        rule("ACTIVATION", tier="A", amount_fen=10_00),
    ]
    chosen = pick(rules, tier="C")
    assert (chosen.amount_fen, chosen.rate_bp, chosen.kind, chosen.tier) == (
        0,
        0,
        "ACTIVATION",
        "C",
    )
    assert pick([]).amount_fen == 0


# ---------------------------------------------------------------------------- terms_for


def full_rules() -> list[RuleRow]:
    return [
        rule("ACTIVATION", amount_fen=30_00),
        rule("ACTIVATION", tier="A", amount_fen=40_00),
        rule("FIRST_TOPUP", amount_fen=10_00, threshold_fen=50_00),
        rule("NEXT_MONTH", amount_fen=20_00),
        rule("RECURRING", rate_bp=1000, months=6),
        rule("OVERRIDE", rate_bp=2000),
        rule("OVERRIDE", tier="A", rate_bp=3000),
    ]


def test_a_sale_takes_each_kind_from_the_sellers_tier_and_the_override_from_the_parents():
    terms = domain.terms_for(
        full_rules(), plan_code=PLAN, seller_tier="C", parent_tier="A",
        margin_fen=100_00, markup_fen=5_00, at=T0,
    )  # fmt: skip
    assert terms == Terms(
        margin_fen=100_00,
        activation_fen=30_00,
        first_topup_fen=10_00,
        first_topup_threshold_fen=50_00,
        next_month_fen=20_00,
        recurring_bp=1000,
        recurring_months=6,
        override_bp=3000,  # the parent is tier A
        markup_fen=5_00,
    )
    top = domain.terms_for(
        full_rules(), plan_code=PLAN, seller_tier="A", parent_tier="C",
        margin_fen=100_00, markup_fen=0, at=T0,
    )  # fmt: skip
    assert (top.activation_fen, top.override_bp) == (40_00, 2000)


def test_a_seller_without_a_parent_has_no_override_and_margins_and_markups_are_never_negative():
    terms = domain.terms_for(
        full_rules(), plan_code=PLAN, seller_tier="C", parent_tier=None,
        margin_fen=-5, markup_fen=-5, at=T0,
    )  # fmt: skip
    assert (terms.override_bp, terms.margin_fen, terms.markup_fen) == (0, 0, 0)


def test_terms_survive_a_round_trip_through_json_and_ignore_unknown_fields():
    terms = Terms(margin_fen=1, activation_fen=2, recurring_bp=3, override_bp=4, markup_fen=5)
    data = terms.as_json()
    assert Terms.from_json(data) == terms
    assert Terms.from_json({**data, "legacy": 9, "margin_fen": "1"}) == terms
    assert Terms.from_json({}) == Terms()


# ---------------------------------------------------------------------------- activation


@pytest.mark.parametrize(("tier", "days"), [("A", 3), ("B", 7), ("C", 15), ("D", 30)])
def test_activation_pays_at_once_and_settles_after_the_tiers_hold(tier, days):
    got = by_key(domain.on_activation(sale(tier=tier), at=T0))
    activation = got["ACTIVATION:HK1"]
    assert (activation.to, activation.kind, activation.amount_fen) == (
        "SELLER",
        "ACTIVATION",
        30_00,
    )
    assert activation.settle_after == T0 + dt.timedelta(days=days)
    override = got["ACTIVATION:HK1:override"]
    assert (override.to, override.kind, override.amount_fen) == ("PARENT", "OVERRIDE", 6_00)
    assert override.source_key == "ACTIVATION:HK1"
    assert override.settle_after == activation.settle_after


def test_next_month_pay_waits_until_midnight_beijing_on_the_first_of_the_month_after_next():
    got = by_key(domain.on_activation(sale(tier="A"), at=T0))  # 1 March 2026, Beijing
    may = dt.datetime(2026, 5, 1, tzinfo=BJ)
    assert got["NEXT_MONTH:HK1"].settle_after == may
    assert got["NEXT_MONTH:HK1"].settle_after == dt.datetime(2026, 4, 30, 16, tzinfo=UTC)
    assert got["NEXT_MONTH:HK1:override"].settle_after == may
    assert got["NEXT_MONTH:HK1"].amount_fen == 20_00


@pytest.mark.parametrize(
    ("activated", "settles"),
    [
        # 23:59 on 31 December in Beijing: the month after next is February.
        (dt.datetime(2026, 12, 31, 15, 59, tzinfo=UTC), dt.datetime(2027, 2, 1, tzinfo=BJ)),
        # 31 December in UTC is already 1 January in Beijing: March.
        (dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC), dt.datetime(2027, 3, 1, tzinfo=BJ)),
        (dt.datetime(2026, 11, 30, 15, 59, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=BJ)),
        (dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC), dt.datetime(2027, 2, 1, tzinfo=BJ)),
        (dt.datetime(2026, 10, 15, 4, 0, tzinfo=UTC), dt.datetime(2026, 12, 1, tzinfo=BJ)),
        (dt.datetime(2026, 1, 31, 15, 0, tzinfo=UTC), dt.datetime(2026, 3, 1, tzinfo=BJ)),
    ],
)
def test_next_month_pay_across_month_and_year_boundaries_follows_the_beijing_calendar(
    activated, settles
):
    assert domain.month_after_next_start(activated) == settles
    assert domain.month_after_next_start(activated).tzinfo == UTC
    got = by_key(domain.on_activation(sale(tier="A"), at=activated))
    assert got["NEXT_MONTH:HK1"].settle_after == settles


def test_next_month_pay_never_settles_before_the_sellers_hold_has_passed():
    late = dt.datetime(2026, 3, 31, 4, 0, tzinfo=UTC)  # 31 March; May 1 is 31 days away
    got = by_key(domain.on_activation(sale(tier="D"), at=late))  # D holds 30 days
    assert got["NEXT_MONTH:HK1"].settle_after == dt.datetime(2026, 5, 1, tzinfo=BJ)
    end_of_april = dt.datetime(2026, 4, 30, 4, 0, tzinfo=UTC)  # June 1 is 31 days away too
    assert by_key(domain.on_activation(sale(tier="D"), at=end_of_april))[
        "NEXT_MONTH:HK1"
    ].settle_after == dt.datetime(2026, 6, 1, tzinfo=BJ)
    mid_feb = dt.datetime(2026, 2, 27, 4, 0, tzinfo=UTC)  # April 1 is 32 days away, hold 30
    assert by_key(domain.on_activation(sale(tier="D"), at=mid_feb))[
        "NEXT_MONTH:HK1"
    ].settle_after == dt.datetime(2026, 4, 1, tzinfo=BJ)
    jan_end = dt.datetime(2026, 1, 31, 4, 0, tzinfo=UTC)  # March 1 is 29 days away: the hold
    got = by_key(domain.on_activation(sale(tier="D"), at=jan_end))
    assert got["NEXT_MONTH:HK1"].settle_after == jan_end + dt.timedelta(days=30)


def test_a_level_one_sellers_activation_has_no_override():
    got = domain.on_activation(sale(parent=False), at=T0)
    assert {a.to for a in got} == {"SELLER"}
    assert {a.kind for a in got} == {"ACTIVATION", "NEXT_MONTH"}


def test_nothing_to_pay_writes_nothing():
    assert domain.on_activation(sale(activation_fen=0, next_month_fen=0), at=T0) == []


# ---------------------------------------------------------------------------- first top-up


def test_a_first_top_up_below_the_threshold_earns_nothing_and_at_the_threshold_earns_the_reward():
    assert domain.on_first_topup(sale(), amount_fen=49_99, at=T0) == []
    got = by_key(domain.on_first_topup(sale(tier="B"), amount_fen=50_00, at=T0))
    first = got["FIRST_TOPUP:HK1"]
    assert (first.amount_fen, first.settle_after) == (10_00, T0 + dt.timedelta(days=7))
    assert got["FIRST_TOPUP:HK1:override"].amount_fen == 2_00


def test_without_a_threshold_any_top_up_earns_the_reward_but_nothing_is_not_a_top_up():
    assert domain.on_first_topup(sale(first_topup_threshold_fen=0), amount_fen=0, at=T0) == []
    got = domain.on_first_topup(sale(first_topup_threshold_fen=0), amount_fen=1, at=T0)
    assert [a.amount_fen for a in got] == [10_00, 2_00]


# ---------------------------------------------------------------------------- monthly fee


def fee(s: domain.Sale, month: dt.date, *, activated=T0, fee_fen=39_00):
    return domain.on_monthly_fee(s, activated_at=activated, month=month, fee_fen=fee_fen, at=T0)


def test_the_activation_months_own_fee_is_not_shared():
    assert fee(sale(), dt.date(2026, 3, 1)) == []


def test_the_fees_of_months_one_to_n_after_activation_are_shared_and_not_month_n_plus_one():
    months = [dt.date(2026, 3 + i, 1) for i in range(1, 8)]  # April .. October
    paid = {m: fee(sale(recurring_months=6), m) for m in months}
    for month in months[:6]:
        seller = paid[month][0]
        assert (seller.kind, seller.amount_fen) == ("RECURRING", 3_90)  # 10% of ¥39
        assert seller.key == f"RECURRING:HK1:{month:%Y-%m}"
        assert paid[month][1].amount_fen == 78  # 20% of ¥3.90
    assert paid[months[6]] == []  # the seventh month
    assert fee(sale(), dt.date(2026, 2, 1)) == []  # before activation


def test_the_month_window_counts_beijing_months_across_a_year_end():
    activated = dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 1 January 2027 in Beijing
    assert fee(sale(), dt.date(2027, 1, 1), activated=activated) == []
    assert len(fee(sale(), dt.date(2027, 2, 1), activated=activated)) == 2
    assert len(fee(sale(), dt.date(2027, 7, 1), activated=activated)) == 2
    assert fee(sale(), dt.date(2027, 8, 1), activated=activated) == []
    before = dt.datetime(2026, 12, 31, 15, 59, tzinfo=UTC)  # still December in Beijing
    assert len(fee(sale(), dt.date(2027, 1, 1), activated=before)) == 2
    assert domain.months_between(before, dt.date(2027, 6, 1)) == 6
    assert fee(sale(), dt.date(2027, 7, 1), activated=before) == []


def test_a_fee_share_too_small_for_a_fen_or_of_a_zero_fee_writes_nothing():
    assert fee(sale(recurring_bp=1), dt.date(2026, 4, 1), fee_fen=99) == []
    assert fee(sale(), dt.date(2026, 4, 1), fee_fen=0) == []
    assert fee(sale(recurring_bp=0, recurring_months=0), dt.date(2026, 4, 1)) == []


# ---------------------------------------------------------------------------- rounding, cap


def test_shares_round_down_to_the_fen():
    assert domain.share(999, 1) == 0
    assert domain.share(10_000, 1) == 1
    assert domain.share(3_33, 3333) == 110  # 110.9889
    assert domain.share(-100, 5000) == 0 and domain.share(100, -1) == 0


def test_an_override_rounds_down_to_the_fen():
    got = domain.on_activation(sale(activation_fen=3_33, next_month_fen=0, override_bp=3333), at=T0)
    assert [a.amount_fen for a in got] == [3_33, 110]


def test_the_margin_caps_the_seller_first_and_then_the_override():
    # Room 35: activation 30 fits, the override (6) gets only the 5 left; 次月返 gets nothing.
    got = domain.on_activation(sale(margin_fen=35_00), at=T0)
    assert [(a.key, a.amount_fen) for a in got] == [
        ("ACTIVATION:HK1", 30_00),
        ("ACTIVATION:HK1:override", 5_00),
    ]
    # Room 40: activation and override (36), then 次月返 capped to 4 and no override left.
    got = domain.on_activation(sale(margin_fen=40_00), at=T0)
    assert [(a.key, a.amount_fen, a.capped) for a in got] == [
        ("ACTIVATION:HK1", 30_00, False),
        ("ACTIVATION:HK1:override", 6_00, False),
        ("NEXT_MONTH:HK1", 4_00, True),
    ]


def test_commission_already_counted_leaves_only_the_rest_of_the_margin():
    got = domain.on_first_topup(sale(committed=95_00), amount_fen=50_00, at=T0)
    assert [(a.kind, a.amount_fen) for a in got] == [("FIRST_TOPUP", 5_00)]
    assert domain.on_first_topup(sale(committed=100_00), amount_fen=50_00, at=T0) == []
    assert fee(sale(committed=120_00), dt.date(2026, 4, 1)) == []  # over: nothing, not negative


def test_the_customer_paid_markup_is_outside_the_margin_and_has_no_override():
    got = by_key(domain.on_activation(sale(margin_fen=0, markup_fen=15_00, tier="B"), at=T0))
    assert list(got) == ["MARKUP:HK1"]
    markup = got["MARKUP:HK1"]
    assert (markup.to, markup.kind, markup.amount_fen) == ("SELLER", "MARKUP", 15_00)
    assert markup.settle_after == T0 + dt.timedelta(days=7)
    full = domain.on_activation(sale(margin_fen=100_00, markup_fen=15_00), at=T0)
    assert sum(a.amount_fen for a in full if a.kind != Kind.MARKUP) == 60_00
    assert sum(a.amount_fen for a in full) == 75_00


# ---------------------------------------------------------------------------- markup


def test_a_markup_within_the_products_allowance_is_accepted():
    assert domain.check_markup(markup_fen=0, max_markup_fen=20_00) == 0
    assert domain.check_markup(markup_fen=20_00, max_markup_fen=20_00) == 20_00


@pytest.mark.parametrize(
    ("markup", "allowed"),
    [(-1, 20_00), (20_01, 20_00), (1, 0), (200_01, 500_00), (1.5, 20_00), ("100", 20_00)],
)
def test_a_markup_outside_the_allowance_or_the_ceiling_or_not_whole_fen_is_refused(markup, allowed):
    with pytest.raises(MarkupOutOfRange) as refused:
        domain.check_markup(markup_fen=markup, max_markup_fen=allowed)
    assert refused.value.details["max_fen"] == min(allowed, domain.MARKUP_CEILING_FEN)


def test_no_staff_allowance_lifts_a_markup_above_the_ceiling():
    ceiling = domain.MARKUP_CEILING_FEN
    assert domain.check_markup(markup_fen=ceiling, max_markup_fen=10 * ceiling) == ceiling


# ---------------------------------------------------------------------------- withdrawals


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(10_00, 1_00), (100_00, 1_00), (166_66, 1_00), (166_67, 1_01), (1000_00, 6_00), (12345, 100)],
)
def test_the_withdrawal_fee_is_per_mille_rounded_up_and_never_below_the_minimum(amount, fee):
    assert domain.withdrawal_fee_fen(amount) == fee
    assert domain.check_withdrawal(amount_fen=amount, withdrawable_fen=amount) == (
        fee, amount - fee
    )  # fmt: skip


def test_a_withdrawal_below_the_minimum_or_not_whole_fen_is_refused():
    for amount in (0, -100, 9_99, 10_00.0):
        with pytest.raises(WithdrawalTooSmall):
            domain.check_withdrawal(amount_fen=amount, withdrawable_fen=10_000_00)


def test_a_withdrawal_above_the_withdrawable_balance_is_refused():
    with pytest.raises(WithdrawalExceedsBalance) as refused:
        domain.check_withdrawal(amount_fen=50_01, withdrawable_fen=50_00)
    assert refused.value.details == {"amount_fen": 50_01, "withdrawable_fen": 50_00}
    with pytest.raises(WithdrawalExceedsBalance) as owing:
        domain.check_withdrawal(amount_fen=50_00, withdrawable_fen=-3_00)
    assert owing.value.details["withdrawable_fen"] == 0


# ---------------------------------------------------------------------------- state machines


ENTRY_LEGAL = {
    ("PENDING", "SETTLED"),
    ("PENDING", "CLAWED_BACK"),
    ("SETTLED", "WITHDRAWABLE"),
    ("SETTLED", "CLAWED_BACK"),
    ("WITHDRAWABLE", "CLAWED_BACK"),
}
AGENT_LEGAL = {
    ("PENDING", "APPROVED"),
    ("PENDING", "REJECTED"),
    ("APPROVED", "FROZEN"),
    ("FROZEN", "APPROVED"),
    ("REJECTED", "PENDING"),
}


@pytest.mark.parametrize(("current", "target"), sorted(ENTRY_LEGAL))
def test_a_legal_entry_transition_passes(current, target):
    domain.check_entry_transition(current=current, target=target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        p
        for p in itertools.product(EntryStatus, repeat=2)
        if (p[0].value, p[1].value) not in ENTRY_LEGAL
    ],
)
def test_every_illegal_entry_transition_raises(current, target):
    with pytest.raises(IllegalTransition) as refused:
        domain.check_entry_transition(current=current, target=target)
    assert refused.value.details == {"current": current, "target": target}


@pytest.mark.parametrize(("current", "target"), sorted(AGENT_LEGAL))
def test_a_legal_agent_transition_passes(current, target):
    domain.check_agent_transition(current=current, target=target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        p
        for p in itertools.product(AgentStatus, repeat=2)
        if (p[0].value, p[1].value) not in AGENT_LEGAL
    ],
)
def test_every_illegal_agent_transition_raises(current, target):
    with pytest.raises(IllegalTransition):
        domain.check_agent_transition(current=current, target=target)


def test_a_clawed_back_entry_is_final():
    assert domain.ENTRY_TRANSITIONS[EntryStatus.CLAWED_BACK] == frozenset()


def test_an_unknown_state_is_refused_not_ignored():
    with pytest.raises(ValueError):
        domain.check_entry_transition(current="PENDING", target="PAID")
    with pytest.raises(ValueError):
        domain.check_agent_transition(current="DELETED", target="APPROVED")


def test_tier_a_is_the_best_and_d_the_worst():
    assert domain.tier_at_least("A", "D") and domain.tier_at_least("C", "C")
    assert not domain.tier_at_least("D", "C")
    assert [domain.tier_for(s) for s in (100, 85, 84, 70, 69, 50, 49, 0)] == [
        Tier.A, Tier.A, Tier.B, Tier.B, Tier.C, Tier.C, Tier.D, Tier.D,
    ]  # fmt: skip
