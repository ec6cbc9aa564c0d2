"""Properties of the commission rules, checked with hypothesis (no database): whatever the
terms, tiers and margin and whatever facts arrive (activation, a first top-up, monthly fees
for months 0..12 after activation), a sale never pays more than its margin, every amount is
positive, every fact has its own keys and an override never exceeds its share of the seller's
entry."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from haoka.distribution import domain
from haoka.distribution.domain import Kind, RuleRow, Terms, Tier

UTC = dt.UTC

terms_st = st.builds(
    Terms,
    margin_fen=st.integers(0, 300_00),
    activation_fen=st.integers(0, 150_00),
    first_topup_fen=st.integers(0, 100_00),
    first_topup_threshold_fen=st.integers(0, 100_00),
    next_month_fen=st.integers(0, 100_00),
    recurring_bp=st.integers(0, 10_000),
    recurring_months=st.integers(0, 12),
    override_bp=st.integers(0, 10_000),
    markup_fen=st.integers(0, domain.MARKUP_CEILING_FEN),
)
tier_st = st.sampled_from(list(Tier))
#: Any instant from 2025 to 2028 (month and year ends in Beijing and in UTC included).
instant_st = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31), timezones=st.just(UTC)
)
topup_st = st.tuples(st.just("topup"), st.integers(0, 200_00))
fee_st = st.tuples(st.just("fee"), st.integers(0, 12), st.integers(0, 200_00))


def month_of(activated: dt.datetime, offset: int) -> dt.date:
    local = activated.astimezone(domain.BEIJING)
    index = local.year * 12 + local.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


class Engine:
    """What the commission engine does with the accruals of one sale: each key posted once,
    non-markup amounts counted against the margin, only the first top-up counting."""

    def __init__(self, sale: domain.Sale) -> None:
        self.sale = sale
        self.posted: dict[str, domain.Accrual] = {}
        self.topped_up = False

    def post(self, accruals: list[domain.Accrual]) -> None:
        for acc in accruals:
            self.check_one(acc, accruals)
            if acc.key in self.posted:
                continue
            self.posted[acc.key] = acc
            if acc.kind != Kind.MARKUP:
                self.sale = dataclasses.replace(
                    self.sale, committed_fen=self.sale.committed_fen + acc.amount_fen
                )

    def check_one(self, acc: domain.Accrual, batch: list[domain.Accrual]) -> None:
        assert acc.amount_fen > 0
        assert isinstance(acc.amount_fen, int)
        assert acc.to in ("SELLER", "PARENT")
        if acc.kind == Kind.OVERRIDE:
            assert acc.to == "PARENT" and self.sale.has_parent
            seller = next(a for a in batch if a.key == acc.source_key)
            assert acc.key == f"{seller.key}:override"
            assert acc.amount_fen <= domain.share(seller.amount_fen, self.sale.terms.override_bp)
            assert acc.settle_after == seller.settle_after
        else:
            assert acc.to == "SELLER"

    @property
    def non_markup_fen(self) -> int:
        return sum(a.amount_fen for a in self.posted.values() if a.kind != Kind.MARKUP)


@settings(max_examples=300, deadline=None)
@given(
    terms=terms_st,
    tier=tier_st,
    has_parent=st.booleans(),
    activated=instant_st,
    events=st.lists(st.one_of(topup_st, fee_st), max_size=20),
    data=st.data(),
)
def test_no_sequence_of_facts_pays_more_than_the_margin_or_posts_a_key_twice(
    terms, tier, has_parent, activated, events, data
):
    engine = Engine(
        domain.Sale(
            order_ref="HKP1", terms=terms, seller_tier=tier, has_parent=has_parent, committed_fen=0
        )
    )
    fresh = domain.on_activation(engine.sale, at=activated)
    assert len({a.key for a in fresh}) == len(fresh)
    engine.post(fresh)
    months_seen: set[int] = set()
    for event in events:
        at = activated + dt.timedelta(days=data.draw(st.integers(0, 400)))
        if event[0] == "topup":
            if engine.topped_up:
                continue  # the engine counts the line's first top-up only
            engine.topped_up = True
            out = domain.on_first_topup(engine.sale, amount_fen=event[1], at=at)
        else:
            _, offset, fee_fen = event
            if offset in months_seen:
                continue  # charging charges a line's month once
            months_seen.add(offset)
            out = domain.on_monthly_fee(
                engine.sale,
                activated_at=activated,
                month=month_of(activated, offset),
                fee_fen=fee_fen,
                at=at,
            )
            if offset == 0 or offset > terms.recurring_months:
                assert out == []
        # A new fact never reuses a key an earlier fact posted.
        assert not {a.key for a in out} & set(engine.posted)
        assert len({a.key for a in out}) == len(out)
        engine.post(out)
        assert engine.non_markup_fen <= terms.margin_fen
        assert engine.sale.committed_fen == engine.non_markup_fen
    markups = [a for a in engine.posted.values() if a.kind == Kind.MARKUP]
    assert [a.amount_fen for a in markups] == ([terms.markup_fen] if terms.markup_fen else [])


@settings(max_examples=300, deadline=None)
@given(terms=terms_st, tier=tier_st, has_parent=st.booleans(), at=instant_st)
def test_activation_settles_after_the_hold_and_next_month_pay_after_the_month_after_next(
    terms, tier, has_parent, at
):
    sale = domain.Sale(
        order_ref="HKP2", terms=terms, seller_tier=tier, has_parent=has_parent, committed_fen=0
    )
    hold = at + dt.timedelta(days=domain.HOLD_DAYS[tier])
    boundary = domain.month_after_next_start(at)
    local = boundary.astimezone(domain.BEIJING)
    assert (local.day, local.hour, local.minute, local.second) == (1, 0, 0, 0)
    assert boundary > at and 28 <= (boundary - at).days <= 62
    for acc in domain.on_activation(sale, at=at):
        assert acc.settle_after >= hold
        if acc.key.startswith("NEXT_MONTH:"):
            assert acc.settle_after == max(hold, boundary)
        else:
            assert acc.settle_after == hold


@settings(max_examples=300, deadline=None)
@given(
    terms=terms_st,
    tier=tier_st,
    has_parent=st.booleans(),
    committed=st.integers(0, 400_00),
    amount=st.integers(0, 300_00),
)
def test_a_fact_repeated_with_the_same_state_gives_the_same_accruals(
    terms, tier, has_parent, committed, amount
):
    sale = domain.Sale(
        order_ref="HKP3", terms=terms, seller_tier=tier, has_parent=has_parent,
        committed_fen=committed,
    )  # fmt: skip
    at = dt.datetime(2026, 3, 1, 2, tzinfo=UTC)
    assert domain.on_activation(sale, at=at) == domain.on_activation(sale, at=at)
    assert domain.on_first_topup(sale, amount_fen=amount, at=at) == domain.on_first_topup(
        sale, amount_fen=amount, at=at
    )
    room = max(0, terms.margin_fen - committed)
    for out in (
        domain.on_activation(sale, at=at),
        domain.on_first_topup(sale, amount_fen=amount, at=at),
        domain.on_monthly_fee(
            sale, activated_at=at, month=dt.date(2026, 4, 1), fee_fen=amount, at=at
        ),
    ):
        assert sum(a.amount_fen for a in out if a.kind != Kind.MARKUP) <= room


rule_st = st.builds(
    RuleRow,
    plan_code=st.sampled_from(["CM-MANGO-39", "*"]),
    tier=st.sampled_from(["", "A", "B", "C", "D"]),
    kind=st.sampled_from(list(domain.RULE_KINDS)),
    amount_fen=st.integers(0, 100_00),
    valid_from=st.one_of(st.none(), instant_st),
)


@settings(max_examples=150, deadline=None)
@given(rules=st.lists(rule_st, max_size=12), tier=tier_st, at=instant_st, data=st.data())
def test_the_rule_picked_is_the_most_specific_in_force_whatever_the_order_of_the_rules(
    rules, tier, at, data
):
    # Distinct starts among equally specific rules (a tie has no latest start).
    seen, distinct = set(), []
    for r in rules:
        rank = (r.plan_code, r.tier, r.kind, r.valid_from)
        if rank not in seen:
            seen.add(rank)
            distinct.append(r)
    shuffled = data.draw(st.permutations(distinct))
    for kind in domain.RULE_KINDS:
        chosen = domain.pick_rule(distinct, plan_code="CM-MANGO-39", tier=tier, kind=kind, at=at)
        again = domain.pick_rule(shuffled, plan_code="CM-MANGO-39", tier=tier, kind=kind, at=at)
        assert chosen == again
        candidates = [
            r
            for r in distinct
            if r.kind == kind
            and r.tier in ("", tier)
            and (r.valid_from is None or r.valid_from <= at)
        ]
        if not candidates:
            assert chosen == RuleRow(plan_code="CM-MANGO-39", tier=tier, kind=kind)
            continue
        assert chosen in candidates
        for other in candidates:  # nobody beats the chosen rule
            assert (other.plan_code != "*", other.tier == tier) <= (
                chosen.plan_code != "*",
                chosen.tier == tier,
            )
