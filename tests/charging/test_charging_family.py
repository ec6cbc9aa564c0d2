"""Family sharing (家庭共享) on the real engine: a member's sessions draw the main line's plan
data after their own buckets, up to the member's monthly cap; the main line draws it as
before; a member that leaves hands back what it took and did not use."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haoka.charging import family
from haoka.charging import family_rules as rules
from haoka.charging.models import ChargingAccount, FamilyMember
from haoka.notices.models import Notification
from tests.support.charging import GB, MB, charging_token, make_line
from tests.support.family import ask_data, family_bucket, make_family, plan_data
from tests.support.money import use_data

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month


@pytest.fixture
def lines(catalog, now):
    main = make_line(plan=PLAN, now=now)
    members = [make_line(plan=PLAN, now=now) for _ in range(2)]
    return main, members


def _spent_own(line, now) -> None:
    use_data(line, 40 * GB, at=now)  # its own plan data, all of it


def test_a_member_draws_the_pool_only_once_its_own_data_is_spent(client, lines, now):
    main, (member, _) = lines
    make_family(main, [member], cap_mb=2048, now=now)
    assert ask_data(client, member, 500 * MB, now=now) == 500 * MB
    assert family_bucket(member) is None  # its own plan paid
    assert plan_data(member).reserved == 500 * MB


def test_a_member_with_no_data_left_is_granted_from_the_main_lines_plan(client, lines, now):
    main, (member, _) = lines
    _spent_own(member, now)
    make_family(main, [member], cap_mb=2048, now=now)
    assert ask_data(client, member, GB, now=now) == GB
    pool, mine = plan_data(main), family_bucket(member)
    assert (pool.amount, pool.moved_out) == (39 * GB, GB)
    assert (mine.amount, mine.reserved, mine.payer_kind) == (GB, GB, "POOL")
    assert mine.payer_id == str(FamilyMember.objects.get(line=member).group_id)


def test_a_member_never_draws_more_than_its_monthly_cap(client, lines, now):
    main, (member, _) = lines
    _spent_own(member, now)
    make_family(main, [member], cap_mb=1536, now=now)
    assert ask_data(client, member, GB, now=now, smf="a") == GB
    assert ask_data(client, member, GB, now=now, smf="b") == 512 * MB  # the cap's rest
    assert ask_data(client, member, GB, now=now, smf="c") == 0
    assert family_bucket(member).amount == 1536 * MB
    assert plan_data(main).amount == 40 * GB - 1536 * MB


def test_the_main_line_keeps_drawing_its_plan_as_before(client, lines, now):
    main, (member, _) = lines
    _spent_own(member, now)
    make_family(main, [member], cap_mb=2048, now=now)
    ask_data(client, member, GB, now=now, smf="m")
    assert ask_data(client, main, GB, now=now, smf="x") == GB
    pool = plan_data(main)
    assert (pool.amount, pool.reserved) == (39 * GB, GB)


def test_an_empty_pool_grants_a_member_nothing(client, lines, now):
    main, (member, _) = lines
    _spent_own(member, now)
    use_data(main, 40 * GB - 300 * MB, at=now)
    make_family(main, [member], cap_mb=2048, now=now)
    assert ask_data(client, member, GB, now=now) == 300 * MB
    assert plan_data(main).amount - plan_data(main).used == 0


def test_a_member_that_leaves_hands_back_what_it_took_and_did_not_use(client, lines, now):
    main, (member, _) = lines
    _spent_own(member, now)
    make_family(main, [member], cap_mb=4096, now=now)
    use_data(member, 300 * MB, at=now)  # offline records draw the pool too
    assert family_bucket(member).amount == 300 * MB
    ask_data(client, member, GB, now=now)  # a session holds 1 GB
    ended = family.leave(line_id=member.pk, now=now)
    assert (ended.state, ended.returned_bytes) == ("LEFT", 0)  # all used or held
    mine = family_bucket(member)
    assert (mine.amount, mine.used, mine.reserved) == (1324 * MB, 300 * MB, GB)
    assert ChargingAccount.objects.get(line=member).family_main_line_id is None
    told = set(Notification.objects.filter(kind="FAMILY_ENDED").values_list("recipient_id"))
    assert told == {(main.user_id,), (member.user_id,)}


def test_removing_a_member_returns_its_unused_bytes_to_the_main_plan(client, lines, now):
    main, (member, _) = lines
    _spent_own(member, now)
    make_family(main, [member], cap_mb=4096, now=now)
    use_data(member, 300 * MB, at=now)
    family.set_cap(line_id=main.pk, member_id=_row(member).pk, monthly_cap_mb=0, now=now)
    assert ask_data(client, member, GB, now=now) == 0  # a cap of 0 stops the sharing
    family.remove(line_id=main.pk, member_id=_row(member).pk, now=now)
    pool = plan_data(main)
    assert (pool.amount, pool.moved_out, pool.used) == (40 * GB - 300 * MB, 300 * MB, 0)


def test_a_line_in_a_group_cannot_make_or_join_another(lines, now, catalog):
    main, (member, _) = lines
    make_family(main, [member], cap_mb=1024, now=now)
    second = make_line(plan=PLAN, now=now)
    family.create(line_id=second.pk, user_id=second.user_id, now=now)
    with pytest.raises(rules.LineInAnotherGroup):
        family.invite(line_id=second.pk, user_id=second.user_id, msisdn=member.msisdn,
                      monthly_cap_mb=10, client_ip="t", now=now)  # fmt: skip
    with pytest.raises(rules.LineInAnotherGroup):
        family.create(line_id=member.pk, user_id=member.user_id, now=now)
    with pytest.raises(rules.InviteOwnLine):
        family.invite(line_id=main.pk, user_id=main.user_id, msisdn=main.msisdn,
                      monthly_cap_mb=10, client_ip="t", now=now)  # fmt: skip


def test_a_group_holds_at_most_four_members_and_invitations(catalog, now):
    main = make_line(plan=PLAN, now=now)
    lines = [make_line(plan=PLAN, now=now) for _ in range(5)]
    make_family(main, lines[:3], cap_mb=100, now=now)
    family.invite(line_id=main.pk, user_id=main.user_id, msisdn=lines[3].msisdn,
                  monthly_cap_mb=100, client_ip="t", now=now)  # fmt: skip
    with pytest.raises(rules.FamilyFull):
        family.invite(line_id=main.pk, user_id=main.user_id, msisdn=lines[4].msisdn,
                      monthly_cap_mb=100, client_ip="t", now=now)  # fmt: skip


def test_dissolving_ends_every_membership_and_withdraws_invitations(client, lines, now):
    main, (member, invited) = lines
    _spent_own(member, now)
    group_id = make_family(main, [member], cap_mb=2048, now=now)
    family.invite(line_id=main.pk, user_id=main.user_id, msisdn=invited.msisdn,
                  monthly_cap_mb=100, client_ip="t", now=now)  # fmt: skip
    use_data(member, 100 * MB, at=now)
    family.dissolve(line_id=main.pk, now=now)
    states = dict(FamilyMember.objects.filter(group_id=group_id).values_list("line_id", "state"))
    assert states == {main.pk: "DISSOLVED", member.pk: "DISSOLVED", invited.pk: "CANCELLED"}
    assert not ChargingAccount.objects.filter(family_group_id=group_id).exists()
    assert ask_data(client, member, GB, now=now) == 0  # its wallet is empty, no pool now


def _queries(client, line, now, token) -> list[str]:
    with CaptureQueriesContext(connection) as seen:
        ask_data(client, line, MB, now=now, token=token)
    return [q["sql"] for q in seen.captured_queries]


def test_a_line_in_no_family_rates_with_no_family_query(client, lines, now):
    main, (member, other) = lines
    token = charging_token(now)
    ask_data(client, main, MB, now=now, token=token)  # caches warm
    before = _queries(client, other, now, token)
    make_family(main, [member], cap_mb=1024, now=now)
    after = _queries(client, make_line(plan=PLAN, now=now), now, token)
    assert len(after) == len(before)
    family_sql = ("charging_family", "source = 'PLAN'", "FOR UPDATE OF b")
    assert not [sql for sql in after if any(f in sql for f in family_sql)]


def _row(line) -> FamilyMember:
    return FamilyMember.objects.get(line=line, state="ACTIVE")
