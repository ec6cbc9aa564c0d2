"""Monthly bills: the wallet's movements of the Beijing month (they add up), usage itemised by
day and by rating group, issued once by the cycle, and a PDF."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.charging import bill_pdf, bills, cycles, packs, topups
from haoka.charging.models import Bill
from haoka.core import clock
from haoka.lines.models import Notification
from haoka.payments import gateway
from tests.support.charging import GB, MB, make_line
from tests.support.money import FakeGateway, beijing, pay, use_data

pytestmark = pytest.mark.django_db
DAILY = "CU-MAYI-RIZU"  # no monthly fee; ¥1 for 1 GB a day on first use, then 0.2 fen per MB
VIDEO = 1003


@pytest.fixture
def fake(now):
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        yield fake


def cycle(at: dt.datetime) -> None:
    with clock.frozen(at):
        cycles.run_cycles(now=at)


def _may(line, fake, commits, now) -> None:
    """May: ¥50 brought over, a ¥20 top-up, a ¥10 voice pack, two days of data."""
    topup = topups.start_topup(line_id=line.pk, amount_fen=2000, method="wechat", now=now)
    pay(fake, topup, at=now, commits=commits)
    packs.buy(line_id=line.pk, pack_code="PK-VOICE-100-M", now=now)
    use_data(line, 1 * GB + 512 * MB, at=now, rating_group=VIDEO)  # ¥1 rental + 512 MB ¥1.02
    use_data(line, 100 * MB, at=beijing(2026, 5, 12, 9))  # another day: another ¥1


def test_a_bill_adds_up_the_months_top_ups_fees_packs_and_usage(catalog, fake, commits, now):
    line = make_line(plan=DAILY, balance_fen=5000, now=now)
    _may(line, fake, commits, now)
    cycle(beijing(2026, 6, 1, 0, 5))
    bill = Bill.objects.get(line=line, month=dt.date(2026, 5, 1))
    assert (bill.opening_fen, bill.topups_fen, bill.monthly_fee_fen) == (0, 7000, 0)
    assert (bill.daily_fees_fen, bill.packs_fen, bill.usage_fen) == (200, 1000, 102)
    assert (bill.other_fen, bill.closing_fen) == (0, 7000 - 200 - 1000 - 102)
    assert bills.spent(bill) == 1302
    assert bill.plan_code == DAILY
    assert bill.usage_by_day == [
        {"date": "2026-05-10", "unit": "BYTES", "rated_amount": 1536 * MB, "wallet_fen": 102,
         "records": 1},
        {"date": "2026-05-12", "unit": "BYTES", "rated_amount": 100 * MB, "wallet_fen": 0,
         "records": 1},
    ]  # fmt: skip
    groups = [(g["rating_group"], g["rated_amount"]) for g in bill.usage_by_rating_group]
    assert groups == [(VIDEO, 1536 * MB), (None, 100 * MB)]
    assert bill.usage_by_rating_group[0]["name"]  # the app class is named


def test_the_month_so_far_counts_what_its_bill_will_say_and_not_last_month(
    catalog, fake, commits, now
):
    line = make_line(plan=DAILY, balance_fen=5000, now=now)
    _may(line, fake, commits, now)
    at = beijing(2026, 5, 20, 12)
    so_far = bills.month_so_far(line_id=line.pk, now=at)
    assert so_far == {
        "monthly_fee_fen": 0, "daily_fees_fen": 200, "packs_fen": 1000, "usage_fen": 102,
        "total_fen": 1302,
    }  # fmt: skip
    cycle(beijing(2026, 6, 1, 0, 5))
    assert bills.spent(Bill.objects.get(line=line, month=dt.date(2026, 5, 1))) == 1302
    june = bills.month_so_far(line_id=line.pk, now=beijing(2026, 6, 1, 0, 10))
    assert june["total_fen"] == 0  # May's charges stay in May


def test_the_next_bill_opens_with_the_last_closing_and_shows_the_monthly_fee(catalog, now):
    line = make_line(plan="CM-MANGO-39", balance_fen=10_000, now=now)
    cycle(beijing(2026, 6, 1, 0, 5))
    cycle(beijing(2026, 7, 1, 0, 5))
    may, june = (Bill.objects.get(line=line, month=dt.date(2026, m, 1)) for m in (5, 6))
    assert june.opening_fen == may.closing_fen == 10_000
    assert (june.monthly_fee_fen, june.closing_fen) == (3900, 6100)
    assert june.usage_by_day == [] and june.plan_code == "CM-MANGO-39"


def test_a_bill_is_issued_once_and_its_owner_told_once(catalog, now):
    line = make_line(plan="CM-MANGO-39", balance_fen=10_000, now=now)
    cycle(beijing(2026, 6, 1, 0, 5))
    again = bills.issue(line_id=line.pk, month=dt.date(2026, 5, 1), now=now)
    assert Bill.objects.filter(line=line).count() == 1 and again.month == dt.date(2026, 5, 1)
    notice = Notification.objects.get(line=line, kind="BILL")
    assert notice.title == "2026年05月账单已出" and "¥100.00" in notice.body


def test_the_bill_pdf_prints_the_amounts_and_the_usage(catalog, fake, commits, now):
    line = make_line(plan=DAILY, balance_fen=5000, now=now)
    _may(line, fake, commits, now)
    cycle(beijing(2026, 6, 1, 0, 5))
    bill = Bill.objects.get(line=line)
    text = "\n".join(bill_pdf.lines_of(bill, msisdn=line.msisdn))
    assert "2026年05月 账单" in text and line.msisdn in text
    assert "¥70.00" in text and "-¥2.00" in text and "¥56.98" in text and "2026-05-12" in text
    assert "10元100分钟语音包  ¥10.00" in text and "¥20.00" in text  # the pack, the top-up
    assert "首月" not in text  # a line brought over: its month is no first month
    assert [p["name"] for p in bills.packs_bought(bill)] == ["10元100分钟语音包"]
    assert [t["amount_fen"] for t in bills.topups_paid(bill)] == [2000]
    document = bill_pdf.pdf(bill=bill, msisdn=line.msisdn)
    assert document.startswith(b"%PDF") and document == bill_pdf.pdf(bill=bill, msisdn=line.msisdn)


def test_months_are_written_yyyy_mm(catalog):
    assert bills.parse_month("2026-05") == dt.date(2026, 5, 1)
    for bad in ("2026-13", "2026-5", "May", "", "1999-01", "2026-05-01"):
        with pytest.raises(bills.InvalidMonth):
            bills.parse_month(bad)
