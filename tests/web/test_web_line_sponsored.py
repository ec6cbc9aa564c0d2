"""赞助流量 on a consumer's line pages through the WSGI app: the dashboard's card shows this
month's sponsored usage by sponsor and app and the sponsors that know the number; opting out
asks first, then stops new slices at once; the month's bill (page and PDF) lists the
sponsored data "由 XX 赞助" at ¥0.00. Only the line's owner sees any of it (404 otherwise)."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts.models import User
from haoka.charging import bill_pdf, bills, sponsored, tariffs
from haoka.charging.models import Bucket
from haoka.core import clock
from haoka.sponsors.models import Slice, SponsorOptOut
from tests.support.charging import make_line
from tests.support.money import call, session_token
from tests.support.sponsor_pages import MB, watch
from tests.support.sponsors import DOUYIN, make_campaign, make_sponsor, make_user

pytestmark = pytest.mark.django_db
#: 20:00 Beijing on 10 March 2026.
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
PLAN = "CM-SHANGLV-58"  # general data only: 抖音 is not zero-rated by the plan


@pytest.fixture
def now(catalog):
    tariffs.forget_cached()
    sponsored.forget_cached()
    with clock.frozen(NOW, all_threads=True):
        yield NOW
    tariffs.forget_cached()
    sponsored.forget_cached()


@pytest.fixture
def watched(now):
    """A line that watched 150 MB of 抖音 on a sponsor's campaign."""
    sponsor = make_sponsor(now=now, company_name="晓视科技有限公司")
    make_campaign(sponsor, now=now)
    line = make_line(plan=PLAN, now=now)
    watch(line, rg=DOUYIN, grants=3, size=50 * MB, at=now)
    return line, sponsor


def owner(client, line):
    client.force_login(User.objects.get(pk=line.user_id))
    return client


def test_the_dashboard_shows_this_months_sponsored_usage_by_sponsor_and_app(client, watched):
    line, sponsor = watched
    body = owner(client, line).get(f"/lines/{line.msisdn}").content.decode()
    assert 'data-sponsored-app="抖音"' in body and "由 晓视科技有限公司 赞助" in body
    assert "本月共 <b data-sponsored-total>150M</b>" in body
    assert f'data-known="{sponsor.sponsor_id}"' in body and "您使用了其赞助的流量" in body


def test_a_line_without_sponsors_shows_an_empty_card(client, now):
    line = make_line(plan=PLAN, now=now)
    body = owner(client, line).get(f"/lines/{line.msisdn}").content.decode()
    assert "本月暂无赞助流量" in body and "data-known-sponsors" not in body


def test_opting_out_asks_first_then_stops_new_slices_at_once(client, watched, now):
    line, sponsor = watched
    client = owner(client, line)
    url = f"/lines/{line.msisdn}/sponsors/{sponsor.sponsor_id}/opt-out"
    confirm = client.get(url)
    assert (
        confirm.status_code == 200
        and "拒绝 晓视科技有限公司 的流量赞助？" in confirm.content.decode()
    )
    assert not SponsorOptOut.objects.exists()  # looking changes nothing
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == f"/lines/{line.msisdn}#sponsored"
    assert SponsorOptOut.objects.filter(line_id=line.pk, sponsor=sponsor).exists()
    assert "已拒绝赞助" in client.get(f"/lines/{line.msisdn}").content.decode()
    slices = Slice.objects.count()
    Bucket.objects.filter(line=line, source="SPONSOR").update(valid_to=now)  # none held
    watch(line, rg=DOUYIN, grants=2, size=50 * MB, at=now + dt.timedelta(minutes=1))
    assert Slice.objects.count() == slices  # no new slice after the opt-out


def test_nobody_else_can_opt_a_line_out(client, watched):
    line, sponsor = watched
    client.force_login(make_user())
    url = f"/lines/{line.msisdn}/sponsors/{sponsor.sponsor_id}/opt-out"
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not SponsorOptOut.objects.exists()


def test_a_sponsor_that_does_not_know_the_line_is_a_404(client, watched, now):
    line, _ = watched
    stranger = make_sponsor(now=now)
    url = f"/lines/{line.msisdn}/sponsors/{stranger.sponsor_id}/opt-out"
    assert owner(client, line).post(url).status_code == 404


def test_the_bill_and_its_pdf_show_sponsored_data_at_no_charge(client, watched, now):
    line, _ = watched
    bill = bills.issue(line_id=line.pk, month=dt.date(2026, 3, 1), now=now)
    client = owner(client, line)
    page = client.get(f"/lines/{line.msisdn}/bills/2026-03").content.decode()
    assert "data-bill-sponsored" in page and "由 晓视科技有限公司 赞助" in page
    section = page.split("data-bill-sponsored", 1)[1]
    assert "<b>抖音</b>" in section and '<div class="row-end">¥0.00</div>' in section
    text = bill_pdf.lines_of(bill, msisdn=line.msisdn)
    assert "  抖音  150.00 MB  由 晓视科技有限公司 赞助  ¥0.00" in text
    pdf = client.get(f"/lines/{line.msisdn}/bills/2026-03.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_bill_over_the_api_lists_what_sponsors_paid(client, watched, now):
    line, sponsor = watched
    bills.issue(line_id=line.pk, month=dt.date(2026, 3, 1), now=now)
    token = session_token(line, now)
    answer = call(client, token, "get", f"/lines/{line.msisdn}/bills/2026-03")
    assert answer.status_code == 200, answer.content
    (row,) = answer.json()["sponsored"]
    assert (row["sponsor_id"], row["app"], row["bytes"]) == (sponsor.sponsor_id, "抖音", 150 * MB)
    assert row["text"] == "抖音 150MB，由 晓视科技有限公司 赞助"
