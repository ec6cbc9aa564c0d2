"""The 流量控 page through Django's test client: what can be given and banked now and why, a
gift confirmed with the code sent to the giving line's own number, deposits and withdrawals of
the data bank, the history; a double tap is one movement; anyone else's line is a 404 and
changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from haoka.accounts.models import User
from haoka.charging import conversions, family, family_view, points_shop
from haoka.charging.models import (
    Bucket,
    DataBankLot,
    DataGift,
    DataMovement,
    PointsRedemption,
    ShopItem,
)
from haoka.core import clock
from haoka.lines import operations as line_ops
from tests.support.charging import GB, MB, make_line
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
#: 12:00 Beijing on 10 May 2026.
NOON = dt.datetime(2026, 5, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.frozen(NOON, all_threads=True):
        yield NOON


@pytest.fixture
def pair(catalog, now, client):
    giver = make_line(plan=PLAN, balance_fen=5000, now=now)
    receiver = make_line(plan=PLAN, balance_fen=5000, now=now)
    client.force_login(User.objects.get(pk=giver.user_id))
    return giver, receiver


def _page(client, line):
    return client.get(f"/lines/{line.msisdn}/data")


def _plan_data(line) -> Bucket:
    return Bucket.objects.get(line=line, origin__endswith=":data", source="PLAN")


def test_the_page_says_what_can_be_given_and_banked_now(client, pair):
    giver, _ = pair
    page = _page(client, giver)
    assert page.status_code == 200
    text = page.content.decode()
    assert "流量控" in text and "可转赠" in text and "流量银行" in text
    assert page.context["view"].gift.can_bytes == 5 * GB  # the monthly gift limit, not 40 GB
    assert page.context["view"].deposit.can_bytes == 10 * GB
    assert page.context["view"].withdraw.reason == "流量银行余额不足 100MB"
    assert "定向流量、赞助流量" in text  # why the rest may not move


def test_a_gift_confirmed_with_the_code_moves_the_data_and_shows_in_the_history(client, pair):
    giver, receiver = pair
    asked = client.post(
        f"/lines/{giver.msisdn}/data/gifts",
        {"to_msisdn": receiver.msisdn, "megabytes": "1024", "key": "k1"},
    )
    gift = DataGift.objects.get()
    assert asked.status_code == 302 and asked["Location"].endswith(f"/data/gifts/{gift.pk}")
    confirm_page = client.get(asked["Location"]).content.decode()
    assert "确认转赠" in confirm_page and "1GB" in confirm_page
    assert receiver.msisdn not in confirm_page  # masked: 139****0002
    assert receiver.msisdn[:3] + "****" + receiver.msisdn[-4:] in confirm_page

    done = client.post(asked["Location"], {"code": latest_otp(giver.msisdn)})
    assert done.status_code == 302 and done["Location"].endswith(f"/lines/{giver.msisdn}/data")
    assert _plan_data(giver).amount == 39 * GB
    assert Bucket.objects.get(line=receiver, source="GIFT").amount == GB
    history = _page(client, giver).content.decode()
    assert "已转赠 1GB" in history and "转赠给" in history and "−1GB" in history


def test_a_wrong_code_is_said_on_the_confirmation_page_and_moves_nothing(client, pair):
    giver, receiver = pair
    asked = client.post(
        f"/lines/{giver.msisdn}/data/gifts", {"to_msisdn": receiver.msisdn, "megabytes": "200"}
    )
    code = latest_otp(giver.msisdn)
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post(asked["Location"], {"code": wrong})
    assert refused.status_code in (403, 422) and "验证码" in refused.content.decode()
    assert _plan_data(giver).amount == 40 * GB and not Bucket.objects.filter(source="GIFT")


def test_a_refused_gift_shows_its_reason_with_what_was_typed(client, pair):
    giver, _ = pair
    page = client.post(
        f"/lines/{giver.msisdn}/data/gifts", {"to_msisdn": "13900009999", "megabytes": "50"}
    )
    assert page.status_code == 422
    text = page.content.decode()
    assert 'id="gift-error"' in text and "13900009999" in text
    assert not DataGift.objects.exists()


def test_typing_something_that_is_not_a_number_of_megabytes_is_a_clear_error(client, pair):
    giver, receiver = pair
    page = client.post(
        f"/lines/{giver.msisdn}/data/gifts", {"to_msisdn": receiver.msisdn, "megabytes": "1e9"}
    )
    assert page.status_code == 422 and "请填写流量" in page.content.decode()


def test_deposit_then_withdraw_through_the_bank_and_a_double_tap_is_one_deposit(client, pair):
    giver, _ = pair
    form = {"bank_megabytes": "2048", "key": "tap1"}
    first = client.post(f"/lines/{giver.msisdn}/data/bank/deposit", form)
    again = client.post(f"/lines/{giver.msisdn}/data/bank/deposit", form)
    assert first.status_code == again.status_code == 302
    lot = DataBankLot.objects.get()
    assert (lot.amount, _plan_data(giver).amount) == (2 * GB, 38 * GB)
    page = _page(client, giver)
    assert page.context["view"].bank_balance_bytes == 2 * GB
    assert "存入流量银行 2GB" in page.content.decode()

    out = client.post(f"/lines/{giver.msisdn}/data/bank/withdraw", {"bank_megabytes": "512"})
    assert out.status_code == 302
    assert Bucket.objects.get(line=giver, source="BANK").amount == 512 * MB
    assert _page(client, giver).context["view"].bank_balance_bytes == 2 * GB - 512 * MB


def test_withdrawing_more_than_the_bank_holds_is_refused_on_the_page(client, pair):
    giver, _ = pair
    page = client.post(f"/lines/{giver.msisdn}/data/bank/withdraw", {"bank_megabytes": "500"})
    assert page.status_code == 409 and 'id="bank-error"' in page.content.decode()
    assert not DataMovement.objects.exists()


def test_someone_elses_line_is_a_404_and_its_data_does_not_move(client, pair, now):
    giver, receiver = pair
    assert _page(client, receiver).status_code == 404
    posted = client.post(
        f"/lines/{receiver.msisdn}/data/gifts", {"to_msisdn": giver.msisdn, "megabytes": "500"}
    )
    assert posted.status_code == 404
    assert client.post(f"/lines/{receiver.msisdn}/data/bank/deposit",
                       {"bank_megabytes": "500"}).status_code == 404  # fmt: skip
    assert not DataGift.objects.exists() and not DataBankLot.objects.exists()


def test_another_lines_gift_cannot_be_confirmed_through_mine(client, pair, now):
    giver, receiver = pair
    other = make_line(plan=PLAN, balance_fen=5000, now=now)
    theirs = DataGift.objects.create(
        giver=other, receiver=receiver, user_id=other.user_id, amount=GB, state="CODE_SENT",
        created_at=now, expires_at=now + dt.timedelta(minutes=5),
    )  # fmt: skip
    assert client.get(f"/lines/{giver.msisdn}/data/gifts/{theirs.pk}").status_code == 404
    posted = client.post(f"/lines/{giver.msisdn}/data/gifts/{theirs.pk}", {"code": "123456"})
    assert posted.status_code == 404
    assert DataGift.objects.get(pk=theirs.pk).state == "CODE_SENT"


def test_a_suspended_line_is_told_why_nothing_can_move(client, pair, now):
    giver, _ = pair
    line_ops.change_status(
        line_id=giver.pk, to="SUSPENDED", actor="test", reason="欠费", now=now,
        suspend_reason="ARREARS",
    )  # fmt: skip
    page = _page(client, giver)
    assert page.context["view"].gift.can_bytes == 0
    assert page.context["view"].gift.reason == "号码恢复正常状态后才能操作"


def test_a_visitor_logs_in_first(pair):
    giver, _ = pair
    page = Client().get(f"/lines/{giver.msisdn}/data")
    assert page.status_code == 302 and "/login" in page["Location"]


# ---------------------------------------------------------------- 兑换积分 and the shop

#: 12:00 Beijing on 30 May 2026: the month's last 3 days, when plan data converts too.
MONTH_END_NOON = dt.datetime(2026, 5, 30, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def shop(db):
    conversions.set_rate(points_per_gb=100, valid_from=NOON - dt.timedelta(days=30),
                         actor="staff:test", now=NOON)  # fmt: skip
    coupon = ShopItem.objects.create(code="coffee", name="咖啡券", kind="COUPON",
                                     sponsor_name="某咖啡", price_points=100)  # fmt: skip
    points_shop.add_codes(item_id=coupon.pk, codes=["CAFE-0001"])
    return coupon


def test_plan_data_converts_only_in_the_months_last_days_and_the_page_says_so(client, pair, shop):
    giver, _ = pair
    page = _page(client, giver)
    assert page.context["view"].points.convert.can_bytes == 0
    assert "套餐流量每月最后 3 天可兑换" in page.context["view"].points.convert.reason
    refused = client.post(f"/lines/{giver.msisdn}/data/points", {"convert_megabytes": "1024"})
    assert refused.status_code == 409 and 'id="points-error"' in refused.content.decode()

    with clock.frozen(MONTH_END_NOON, all_threads=True):
        assert _page(client, giver).context["view"].points.convert.can_bytes > 0
        done = client.post(
            f"/lines/{giver.msisdn}/data/points", {"convert_megabytes": "2048", "key": "c1"}
        )
        again = client.post(
            f"/lines/{giver.msisdn}/data/points", {"convert_megabytes": "2048", "key": "c1"}
        )
        assert done.status_code == again.status_code == 302
        page = _page(client, giver)
    assert page.context["view"].points.usable == 200  # 2GB at 100 points a GB, once
    assert _plan_data(giver).amount == 38 * GB


def test_points_buy_a_coupon_from_the_shop_once_per_tap(client, pair, shop):
    giver, _ = pair
    with clock.frozen(MONTH_END_NOON, all_threads=True):
        client.post(f"/lines/{giver.msisdn}/data/points", {"convert_megabytes": "1024"})
        form = {"item": "coffee", "key": "tap9"}
        first = client.post(f"/lines/{giver.msisdn}/data/shop", form)
        second = client.post(f"/lines/{giver.msisdn}/data/shop", form)
        assert first.status_code == second.status_code == 302
        page = client.get(first["Location"])
    assert "券码 CAFE-0001" in page.content.decode()
    assert page.context["view"].points.usable == 0
    assert PointsRedemption.objects.count() == 1


def test_without_points_the_shop_refuses_on_the_page(client, pair, shop):
    giver, _ = pair
    page = client.post(f"/lines/{giver.msisdn}/data/shop", {"item": "coffee"})
    assert page.status_code == 409 and "积分不足" in page.content.decode()
    assert not PointsRedemption.objects.exists()


# ---------------------------------------------------------------- 家庭共享


def test_the_owner_opens_a_family_invites_a_line_and_its_owner_accepts_on_their_page(
    client, pair, now
):
    main, member = pair
    created = client.post(f"/lines/{main.msisdn}/data/family/create")
    assert created.status_code == 302
    invited = client.post(
        f"/lines/{main.msisdn}/data/family/invite",
        {"member_msisdn": member.msisdn, "cap_mb": "1024"},
    )
    assert invited.status_code == 302
    page = _page(client, main)
    assert page.context["family"].role == "MAIN"
    assert [m.state for m in page.context["family_members"]] == ["INVITED"]

    client.force_login(User.objects.get(pk=member.user_id))
    theirs = _page(client, member)
    invitation = theirs.context["family"].invitations[0]
    assert invitation.main_msisdn == main.msisdn[:3] + "****" + main.msisdn[-4:]
    assert "邀请本号码加入家庭共享" in theirs.content.decode()
    accepted = client.post(
        f"/lines/{member.msisdn}/data/family/accept",
        {"member": invitation.member_id, "code": latest_otp(member.msisdn)},
    )
    assert accepted.status_code == 302
    joined = _page(client, member)
    assert joined.context["family"].role == "MEMBER"
    assert "已加入" in joined.content.decode()

    left = client.post(f"/lines/{member.msisdn}/data/family/leave")
    assert left.status_code == 302
    client.force_login(User.objects.get(pk=main.user_id))
    assert _page(client, main).context["family_members"] == []


def test_a_family_refusal_is_shown_on_the_page_and_nothing_changes(client, pair):
    main, member = pair
    refused = client.post(
        f"/lines/{main.msisdn}/data/family/invite",
        {"member_msisdn": member.msisdn, "cap_mb": "1024"},
    )  # no group yet
    assert refused.status_code == 404 and 'id="family-error"' in refused.content.decode()
    assert _page(client, main).context["family"] is None


def test_someone_elses_family_cannot_be_dissolved_or_joined_through_my_line(client, pair, now):
    main, member = pair
    family.create(line_id=member.pk, user_id=member.user_id, now=now)
    assert client.post(f"/lines/{member.msisdn}/data/family/dissolve").status_code == 404
    assert client.post(f"/lines/{main.msisdn}/data/family/bogus").status_code == 404
    assert family_view.family_of(line_id=member.pk, now=now).role == "MAIN"
