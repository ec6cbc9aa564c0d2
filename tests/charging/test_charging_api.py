"""The money side of a line over the API: only its owner (signed in) may see or change it,
staff may read, anyone else gets 404; errors carry stable codes."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging import cycles
from haoka.charging.models import Bucket, PackPurchase, TopUp
from haoka.core import clock
from haoka.lines.models import Line
from haoka.payments import gateway
from tests.support.charging import GB, MB, charging_token, make_line, wallet_fen
from tests.support.money import (
    FakeGateway,
    beijing,
    call,
    pay,
    session_token,
    staff_token,
    use_data,
)

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"


@pytest.fixture
def fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


@pytest.fixture
def owned(catalog, now):
    line = make_line(plan=PLAN, balance_fen=5000, now=now)
    return line, session_token(line, now)


def test_the_dashboard_shows_status_plan_wallet_and_buckets(client, owned, now):
    line, token = owned
    use_data(line, 10 * GB, at=now)
    answer = call(client, token, "get", f"/lines/{line.msisdn}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["status"], body["status_label"], body["carrier"]) == ("ACTIVE", "正常", "CMCC")
    assert body["plan"] == {
        "code": PLAN, "name": "移动芒果卡39元", "monthly_fee_fen": 3900, "monthly_fee": "¥39.00"
    }  # fmt: skip
    assert body["wallet"] == {
        "balance_fen": 5000, "balance": "¥50.00", "held_fen": 0, "available_fen": 5000,
        "available": "¥50.00",
    }  # fmt: skip
    data = next(b for b in body["buckets"] if b["label"] == "套餐通用流量")
    assert (data["remaining"], data["percent_used"]) == (30 * GB, 25)
    assert [b["unit"] for b in body["buckets"]] == ["BYTES", "SECONDS"]
    assert body["auto_topup"] is None


def test_someone_elses_line_is_not_found_and_staff_may_only_read(client, owned, now):
    line, _ = owned
    stranger = session_token(make_line(plan=PLAN, now=now), now)
    for path in ("", "/usage", "/bills", "/packs", "/notifications", "/topups", "/auto-topup"):
        answer = call(client, stranger, "get", f"/lines/{line.msisdn}{path}")
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "line_not_found"
    topup = {"amount_fen": 1000, "method": "wechat"}
    assert call(client, stranger, "post", f"/lines/{line.msisdn}/topups", topup).status_code == 404
    assert client.get(f"/api/v1/lines/{line.msisdn}").status_code == 401
    integration = charging_token(now)  # an API token names no owner of lines
    assert call(client, integration, "get", f"/lines/{line.msisdn}").status_code == 404
    staff = staff_token(now)
    assert call(client, staff, "get", f"/lines/{line.msisdn}").status_code == 200
    bought = call(
        client, staff, "post", f"/lines/{line.msisdn}/packs", {"pack_code": "PK-DATA-5G-M"}
    )
    assert bought.status_code == 404 and not PackPurchase.objects.exists()


def test_the_owner_starts_a_top_up_and_gets_the_pay_link(client, owned, fake, now):
    line, token = owned
    answer = call(client, token, "post", f"/lines/{line.msisdn}/topups",
                  {"amount_fen": 3000, "method": "alipay"})  # fmt: skip
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["pay_url"].startswith("http://gateway.test/pay/")
    assert (body["amount"], body["method"], body["status"]) == ("¥30.00", "alipay", "PENDING")
    listed = call(client, token, "get", f"/lines/{line.msisdn}/topups").json()
    assert [t["ref"] for t in listed["items"]] == [body["ref"]] and listed["next"] is None


def test_a_paid_top_up_shows_in_the_wallet(
    client, owned, fake, django_capture_on_commit_callbacks, now
):
    line, token = owned
    ref = call(client, token, "post", f"/lines/{line.msisdn}/topups",
               {"amount_fen": 3000, "method": "wechat"}).json()["ref"]  # fmt: skip
    commits = lambda: django_capture_on_commit_callbacks(execute=True)  # noqa: E731
    pay(fake, TopUp.objects.get(ref=ref), at=now, commits=commits)
    body = call(client, token, "get", f"/lines/{line.msisdn}").json()
    assert body["wallet"]["balance_fen"] == 8000
    notices = call(client, token, "get", f"/lines/{line.msisdn}/notifications").json()
    assert [n["kind"] for n in notices["items"]] == ["TOPUP"]


def test_top_up_amounts_and_methods_are_checked_with_clear_codes(client, owned, fake):
    line, token = owned
    path = f"/lines/{line.msisdn}/topups"
    small = call(client, token, "post", path, {"amount_fen": 50, "method": "wechat"})
    assert small.status_code == 422
    assert small.json()["error"]["code"] == "topup_amount_out_of_range"
    cash = call(client, token, "post", path, {"amount_fen": 500, "method": "cash"})
    assert cash.json()["error"]["code"] == "invalid_topup_method"
    missing = call(client, token, "post", path, {"method": "wechat"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "validation_error"
    assert not TopUp.objects.exists()


def test_auto_top_up_is_set_and_read_back(client, owned):
    line, token = owned
    path = f"/lines/{line.msisdn}/auto-topup"
    assert call(client, token, "get", path).json() is None
    body = {"threshold_fen": 1000, "amount_fen": 5000, "method": "wechat"}
    answer = call(client, token, "put", path, body)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "enabled": True, "threshold_fen": 1000, "threshold": "¥10.00", "amount_fen": 5000,
        "amount": "¥50.00", "method": "wechat",
    }  # fmt: skip
    assert call(client, token, "get", path).json()["threshold_fen"] == 1000
    too_high = call(client, token, "put", path, {**body, "threshold_fen": 60_000})
    assert too_high.status_code == 422 and too_high.json()["error"]["code"] == "invalid_auto_topup"


def test_packs_are_listed_and_bought_once_per_idempotency_key(client, owned, now):
    line, token = owned
    offers = call(client, token, "get", f"/lines/{line.msisdn}/packs").json()
    five = next(o for o in offers if o["code"] == "PK-DATA-5G-M")
    assert (five["price"], five["data_bytes"], five["kind"]) == ("¥10.00", 5 * GB, "DATA")
    path, body = f"/lines/{line.msisdn}/packs", {"pack_code": "PK-MEM-TXV-30D"}
    first = call(client, token, "post", path, body, **{"Idempotency-Key": "buy-1"})
    again = call(client, token, "post", path, body, **{"Idempotency-Key": "buy-1"})
    assert first.status_code == again.status_code == 201, first.content
    assert first.json() == again.json() and first.json()["redeem_code"]
    assert PackPurchase.objects.count() == 1 and wallet_fen(line) == 3000
    purchases = call(client, token, "get", f"/lines/{line.msisdn}/pack-purchases").json()
    assert purchases["items"][0]["redeem_code"] == first.json()["redeem_code"]


def test_a_pack_the_wallet_cannot_cover_is_a_409_insufficient_balance(client, catalog, now):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    token = session_token(line, now)
    answer = call(client, token, "post", f"/lines/{line.msisdn}/packs",
                  {"pack_code": "PK-DATA-5G-M"})  # fmt: skip
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "insufficient_balance"
    unknown = call(client, token, "post", f"/lines/{line.msisdn}/packs", {"pack_code": "PK-X"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "pack_not_found"
    assert not Bucket.objects.filter(source="PACK").exists()


def test_usage_is_summed_by_beijing_day_for_the_days_asked(client, owned, now):
    line, token = owned
    opened = now - dt.timedelta(days=60)  # usage is never older than its line
    Line.objects.filter(pk=line.pk).update(activated_at=opened, created_at=opened)
    use_data(line, 10 * MB, at=now)
    use_data(line, 5 * MB, at=now - dt.timedelta(days=2))
    use_data(line, 7 * MB, at=now - dt.timedelta(days=40))
    rows = call(client, token, "get", f"/lines/{line.msisdn}/usage").json()
    assert [(r["date"], r["rated_amount"]) for r in rows] == [
        ("2026-05-08", 5 * MB), ("2026-05-10", 10 * MB)
    ]  # fmt: skip
    week = call(client, token, "get", f"/lines/{line.msisdn}/usage?days=1").json()
    assert [r["date"] for r in week] == ["2026-05-10"]
    bad = call(client, token, "get", f"/lines/{line.msisdn}/usage?days=0")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_days"


def test_bills_are_listed_shown_and_downloaded_as_pdf(client, owned, now):
    line, token = owned
    call(client, token, "post", f"/lines/{line.msisdn}/packs", {"pack_code": "PK-DATA-5G-M"})
    for at in (beijing(2026, 6, 1, 0, 5), beijing(2026, 7, 1, 0, 5)):
        with clock.frozen(at):
            cycles.run_cycles(now=at)
    listed = call(client, token, "get", f"/lines/{line.msisdn}/bills?limit=1").json()
    assert [b["month"] for b in listed["items"]] == ["2026-06"] and listed["next"]
    older = call(client, token, "get", f"/lines/{line.msisdn}/bills?after={listed['next']}")
    assert [b["month"] for b in older.json()["items"]] == ["2026-05"]
    june = call(client, token, "get", f"/lines/{line.msisdn}/bills/2026-06").json()
    assert (june["monthly_fee_fen"], june["closing"], june["spent"]) == (3900, "¥1.00", "¥39.00")
    assert (june["packs"], june["topups"], june["usage_by_day"]) == ([], [], [])
    may = call(client, token, "get", f"/lines/{line.msisdn}/bills/2026-05").json()
    assert may["packs"] == [
        {"name": "10元5G月包", "price_fen": 1000, "bought_at": "2026-05-10T04:00:00Z"}
    ]
    pdf = call(client, token, "get", f"/lines/{line.msisdn}/bills/2026-06.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    missing = call(client, token, "get", f"/lines/{line.msisdn}/bills/2026-07")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "bill_not_found"
    bad = call(client, token, "get", f"/lines/{line.msisdn}/bills/June")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_month"
    staff = staff_token(now)
    assert call(client, staff, "get", f"/lines/{line.msisdn}/bills/2026-06.pdf").status_code == 200
