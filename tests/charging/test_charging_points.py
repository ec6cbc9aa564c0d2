"""Points (积分) over the API: data converted into points (packs at any time, plan data in
the month's last 3 days; never targeted data), a lot on the POINTS ledger expiring 12 months
later, the points shop (a pack activated on the line, a coupon code handed out once),
idempotency, staff reversal, and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from haoka.accounts.models import User
from haoka.charging import conversions, packs, points, points_ledger, points_shop
from haoka.charging.models import (
    Bucket,
    CouponCode,
    DataMovement,
    PackPurchase,
    PointsConversion,
    PointsLot,
    ShopItem,
)
from haoka.core import accounts_chart as chart
from haoka.core import clock, ledger
from haoka.core.worker import PERIODIC
from haoka.lines.models import Line
from tests.support.charging import GB, charging_token, make_line, wallet_fen
from tests.support.money import beijing, call, session_token, staff_token

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
PACK = "PK-DATA-10G-7D"  # 10 GB for 7 days, 15 yuan


@pytest.fixture
def owned(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    conversions.set_rate(points_per_gb=100, valid_from=now - dt.timedelta(days=1),
                         actor="staff:test", now=now)  # fmt: skip
    return line, session_token(line, now)


@pytest.fixture
def shop(db):
    pack = ShopItem.objects.create(code="pack-10g", name="10G七天包", kind="PACK",
                                   pack_code=PACK, price_points=300)  # fmt: skip
    coupon = ShopItem.objects.create(code="coffee", name="咖啡券", kind="COUPON",
                                     sponsor_name="某咖啡", price_points=100)  # fmt: skip
    points_shop.add_codes(item_id=coupon.pk, codes=["CAFE-0001", "CAFE-0002"])
    return pack, coupon


def _convert(client, token, line, megabytes, key="k1"):
    path = f"/lines/{line.msisdn}/conversions"
    return call(client, token, "post", path, {"megabytes": megabytes}, **{"Idempotency-Key": key})


def _redeem(client, token, item, key="r1", msisdn=None):
    body = {"item": item, **({"msisdn": msisdn} if msisdn else {})}
    return call(client, token, "post", "/points/redemptions", body, **{"Idempotency-Key": key})


def _pack_bucket(line) -> Bucket:
    return Bucket.objects.get(line=line, source="PACK", unit="BYTES", rating_groups=[])


def _points(line) -> int:
    return -ledger.balance_fen(account=chart.user_points(user_id=line.user_id))


def _balanced() -> bool:
    return set(ledger.trial_balances().values()) <= {0} and not ledger.unbalanced_transactions()


def test_converting_pack_data_makes_points_on_their_own_ledger_and_a_movement(client, owned, now):
    line, token = owned
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    done = _convert(client, token, line, 2048)
    assert done.status_code == 201, done.content
    assert (done.json()["points"], done.json()["points_per_gb"]) == (200, 100)
    bucket = _pack_bucket(line)
    assert (bucket.amount, bucket.moved_out) == (8 * GB, 2 * GB)
    lot = PointsLot.objects.get(user_id=line.user_id)
    assert (lot.amount, lot.remaining, lot.expires_at) == (200, 200, now.replace(year=2027))
    assert _points(line) == 200
    assert ledger.balance_fen(account=chart.DATA_CONVERTED) == -2 * GB
    assert ledger.entries(account=chart.user_points(user_id=line.user_id)).get().account.unit == (
        "POINTS"
    )
    assert _balanced()
    moves = call(client, token, "get", f"/lines/{line.msisdn}/data-movements").json()["items"]
    assert [(m["kind"], m["amount_bytes"], m["direction"]) for m in moves] == [
        ("CONVERSION", 2 * GB, -1)
    ]
    assert moves[0]["text"] == "2GB 兑换为积分"


def test_plan_data_converts_only_in_the_last_three_days_of_the_beijing_month(client, owned):
    line, token = owned
    refused = _convert(client, token, line, 1024)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "data_not_enough"
    late = beijing(2026, 5, 29, 0, 1)
    with clock.frozen(late, all_threads=True):
        done = _convert(client, session_token(line, late), line, 1024, key="k2")
    assert done.status_code == 201, done.content
    plan = Bucket.objects.get(line=line, source="PLAN", unit="BYTES", origin__endswith=":data")
    assert (plan.amount, plan.moved_out) == (39 * GB, GB)


def test_targeted_data_is_never_converted_nor_what_sessions_hold(client, owned, now):
    line, token = owned
    packs.buy(line_id=line.pk, pack_code="PK-TGT-TENCENT-M", now=now)  # 20 GB of apps only
    refused = _convert(client, token, line, 100)
    assert refused.json()["error"]["code"] == "data_not_enough"
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    Bucket.objects.filter(pk=_pack_bucket(line).pk).update(reserved=9 * GB)  # a session holds
    too_much = _convert(client, token, line, 1025, key="k2")
    assert too_much.json()["error"]["code"] == "data_not_enough"
    assert _convert(client, token, line, 1024, key="k3").status_code == 201
    bucket = _pack_bucket(line)
    assert (bucket.amount, bucket.reserved, bucket.moved_out) == (9 * GB, 9 * GB, GB)


def test_a_repeated_key_converts_once_and_a_missing_key_is_refused(client, owned, now):
    line, token = owned
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    first = _convert(client, token, line, 1024)
    again = _convert(client, token, line, 1024)
    assert again.json() == first.json()
    assert PointsConversion.objects.count() == 1 and _points(line) == 100
    later = conversions.convert(line_id=line.pk, megabytes=1024, now=now,
                                request_key="k1")  # fmt: skip
    assert later.pk == first.json()["id"]  # after the API's replay window too
    with pytest.raises(Exception, match="幂等键"):
        conversions.convert(line_id=line.pk, megabytes=2048, now=now,
                            request_key="k1")  # fmt: skip
    path = f"/lines/{line.msisdn}/conversions"
    missing = call(client, token, "post", path, {"megabytes": 1024})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "idempotency_key_required"


def test_a_suspended_line_converts_nothing_and_a_new_rate_applies_from_its_start(
    client, owned, now
):
    line, token = owned
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    Line.objects.filter(pk=line.pk).update(status="SUSPENDED", suspend_reason="ARREARS")
    refused = _convert(client, token, line, 1024)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "line_not_active"
    Line.objects.filter(pk=line.pk).update(status="ACTIVE", suspend_reason="")
    conversions.set_rate(points_per_gb=120, valid_from=now + dt.timedelta(hours=1),
                         actor="staff:test", now=now)  # fmt: skip
    assert _convert(client, token, line, 1024, key="k2").json()["points"] == 100
    later = now + dt.timedelta(hours=2)
    with clock.frozen(later, all_threads=True):
        done = _convert(client, session_token(line, later), line, 1024, key="k3")
    assert (done.json()["points"], done.json()["points_per_gb"]) == (120, 120)


def test_without_a_rate_set_by_staff_nothing_converts(client, catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    refused = _convert(client, session_token(line, now), line, 1024)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "points_no_rate"


def _earn(client, token, line, now, megabytes=5120):
    packs.buy(line_id=line.pk, pack_code=PACK, now=now)
    assert _convert(client, token, line, megabytes, key=f"earn-{megabytes}").status_code == 201


def test_points_buy_a_pack_activated_on_the_line_without_money(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now)  # 500 points
    wallet = wallet_fen(line)
    done = _redeem(client, token, "pack-10g", msisdn=line.msisdn)
    assert done.status_code == 201, done.content
    assert (
        done.json()["points"] == 300
        and done.json()["msisdn"] == line.msisdn[:3] + "****" + (line.msisdn[-4:])
    )
    purchase = PackPurchase.objects.get(pk=done.json()["pack_purchase_id"])
    assert (purchase.pack_code, purchase.price_fen) == (PACK, 0)
    assert Bucket.objects.get(origin=f"pack:{purchase.pk}").amount == 10 * GB
    assert wallet_fen(line) == wallet and _points(line) == 200
    assert _balanced()


def test_a_coupon_hands_out_each_code_once_until_the_stock_runs_out(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now)
    codes = [_redeem(client, token, "coffee", key=f"c{i}").json()["coupon_code"] for i in (1, 2)]
    assert sorted(codes) == ["CAFE-0001", "CAFE-0002"]
    assert _points(line) == 300
    sold_out = _redeem(client, token, "coffee", key="c3")
    assert sold_out.status_code == 409
    assert sold_out.json()["error"]["code"] == "points_coupons_sold_out"
    assert _points(line) == 300  # nothing spent for nothing
    shown = call(client, token, "get", "/points/shop").json()
    assert [i["code"] for i in shown] == ["pack-10g"]  # an empty stock is not shown


def test_too_few_points_spend_nothing(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now, megabytes=2048)  # 200 points
    refused = _redeem(client, token, "pack-10g", msisdn=line.msisdn)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "points_not_enough"
    assert _points(line) == 200 and not PackPurchase.objects.filter(price_fen=0).exists()
    no_line = _redeem(client, token, "pack-10g", key="r3")
    assert no_line.json()["error"]["code"] == "points_line_required"


def test_a_repeated_redemption_key_spends_once(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now)
    first = _redeem(client, token, "coffee")
    again = points_shop.redeem(user_id=line.user_id, item_code="coffee", line_id=None,
                               request_key="r1", now=now)  # fmt: skip
    assert again.pk == first.json()["id"] and _points(line) == 400
    with pytest.raises(points.RedemptionKeyRequired):
        points_shop.redeem(user_id=line.user_id, item_code="coffee", line_id=None,
                           request_key="", now=now)  # fmt: skip
    with pytest.raises(points.RedemptionKeyReused):
        points_shop.redeem(user_id=line.user_id, item_code="pack-10g", line_id=line.pk,
                           request_key="r1", now=now)  # fmt: skip


def test_the_owner_reads_balance_lots_with_expiry_and_history(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now)
    _redeem(client, token, "coffee")
    mine = call(client, token, "get", "/points").json()
    assert mine["balance"] == 400
    assert [(lot["amount"], lot["remaining"]) for lot in mine["lots"]] == [(500, 400)]
    assert mine["lots"][0]["expires_at"].startswith("2027-05-10")
    assert [(h["kind"], h["points"]) for h in mine["history"]] == [("REDEEMED", -100),
                                                                     ("EARNED", 500)]  # fmt: skip


def test_points_expire_twelve_months_after_they_were_earned_on_the_ledger(client, owned, now):
    line, token = owned
    _earn(client, token, line, now)
    assert points_ledger.expire_lots(now=now + dt.timedelta(days=364)) == 0
    year = now.replace(year=2027)
    assert points_ledger.expire_lots(now=year) == 1
    assert points_ledger.expire_lots(now=year) == 0  # twice is once
    assert _points(line) == 0 and PointsLot.objects.get().remaining == 0
    assert ledger.balance_fen(account=chart.POINTS_EXPIRED) == -500
    assert _balanced()
    assert "charging.expire_points" in {job.name for job in PERIODIC}


def test_staff_reverse_a_conversion_as_a_compensating_movement(client, owned, now):
    line, token = owned
    _earn(client, token, line, now, megabytes=2048)
    conversion = PointsConversion.objects.get()
    done = conversions.reverse(conversion_id=conversion.pk, actor="staff:1", now=now)
    assert (done.state, done.restored, done.lapsed) == ("REVERSED", 2 * GB, 0)
    assert (_pack_bucket(line).amount, _pack_bucket(line).moved_out) == (10 * GB, 0)
    assert _points(line) == 0 and ledger.balance_fen(account=chart.DATA_CONVERTED) == 0
    back = DataMovement.objects.get(kind="CONVERSION_BACK")
    assert (back.amount, back.actor) == (2 * GB, "staff:1")
    with pytest.raises(Exception, match="状态"):
        conversions.reverse(conversion_id=conversion.pk, actor="staff:1", now=now)
    assert _balanced()


def test_a_conversion_whose_points_were_spent_is_not_reversed(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now)
    _redeem(client, token, "coffee")
    conversion = PointsConversion.objects.get()
    with pytest.raises(Exception, match="已被使用"):
        conversions.reverse(conversion_id=conversion.pk, actor="staff:1", now=now)
    assert PointsConversion.objects.get().state == "DONE" and _points(line) == 400


def test_staff_reverse_from_the_admin_and_manage_the_shop(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now, megabytes=1024)
    conversion = PointsConversion.objects.get()
    client.force_login(User.objects.create_superuser(username="ops", password="x" * 12))
    for page in ("pointsrate", "shopitem", "pointsconversion", "pointslot", "pointsredemption"):
        assert client.get(f"/admin/charging/{page}/").status_code == 200
    action = {"action": "reverse", "_selected_action": [conversion.pk]}
    done = client.post("/admin/charging/pointsconversion/", action, follow=True)
    assert "已撤回 100 积分，退回 1GB" in done.content.decode()
    item = shop[1]
    form = {"code": item.code, "name": item.name, "kind": "COUPON", "description": "",
            "price_points": 100, "pack_code": "", "sponsor_name": "某咖啡", "active": "on",
            "sort": 0, "new_codes": "CAFE-0003\nCAFE-0001\n"}  # fmt: skip
    client.post(f"/admin/charging/shopitem/{item.pk}/change/", form)
    assert sorted(CouponCode.objects.values_list("code", flat=True)) == [
        "CAFE-0001", "CAFE-0002", "CAFE-0003",
    ]  # fmt: skip


# ---------------------------------------------------------------- who may do what


def test_nobody_converts_another_owners_line_nor_buys_onto_it(client, owned, shop, now):
    line, token = owned
    _earn(client, token, line, now)
    other = make_line(plan=PLAN, now=now)
    other_token = session_token(other, now)
    assert _convert(client, other_token, line, 1024).status_code == 404
    onto = _redeem(client, token, "pack-10g", msisdn=other.msisdn)
    assert onto.status_code == 404
    assert (
        _points(line) == 500 and call(client, other_token, "get", "/points").json()["balance"] == 0
    )


def test_staff_and_integration_tokens_neither_convert_nor_hold_points(client, owned, shop, now):
    line, _ = owned
    staff = staff_token(now)
    assert _convert(client, staff, line, 1024).status_code == 404
    machine = charging_token(now)
    assert _convert(client, machine, line, 1024).status_code in (403, 404)
    mine = call(client, machine, "get", "/points")
    assert mine.status_code == 403, mine.content
    assert call(client, machine, "post", "/points/redemptions", {"item": "coffee"},
                **{"Idempotency-Key": "x"}).status_code == 403  # fmt: skip
    assert client.get("/api/v1/points").status_code == 401


def test_putting_an_item_on_sale_twice_keeps_the_first_and_a_coupon_has_no_pack(db):
    first = points_shop.put_on_sale(code="tea", name="奶茶券", kind="COUPON", price_points=50,
                                    sponsor_name="某茶饮")  # fmt: skip
    again = points_shop.put_on_sale(code="tea", name="改名", kind="COUPON", price_points=99)
    assert again.pk == first.pk
    assert (again.name, again.price_points) == ("奶茶券", 50)
    with pytest.raises(IntegrityError), transaction.atomic():
        points_shop.put_on_sale(code="bad", name="坏券", kind="COUPON", price_points=5,
                                pack_code=PACK)  # fmt: skip
    assert not ShopItem.objects.filter(code="bad").exists()
