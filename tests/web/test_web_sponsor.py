"""The sponsor console's pages (赞助方中心) through the WSGI app: who may open them (a visitor
logs in, a consumer or a sponsor under review gets 403), each sponsor sees only its own
campaigns, tokens and statement (another's is 404), and the forms act through the sponsors
use cases (a campaign created takes its budget from the wallet; pause, resume, end; a token
shown once; a top-up sent to the gateway's cashier; the statement and its PDF)."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.accounts.models import User
from haoka.charging import sponsored, tariffs
from haoka.core import clock, ledger
from haoka.payments import gateway
from haoka.sponsors import campaigns, console, statement_pdf, wallet
from haoka.sponsors.models import Campaign, SponsorTopUp
from tests.support.charging import make_line
from tests.support.payments import FakeGateway
from tests.support.sponsor_pages import watch
from tests.support.sponsors import DOUYIN, fund, make_campaign, make_sponsor, make_user

pytestmark = pytest.mark.django_db
#: 20:00 Beijing on 10 March 2026.
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
PLAN = "CM-SHANGLV-58"  # general data only: 抖音 is not zero-rated by the plan


@pytest.fixture
def now(catalog):
    tariffs.forget_cached()
    sponsored.forget_cached()  # the live campaigns a process keeps a few seconds
    with clock.frozen(NOW, all_threads=True):
        yield NOW
    tariffs.forget_cached()
    sponsored.forget_cached()


def signed_in(client, sponsor):
    client.force_login(User.objects.get(pk=sponsor.applicant_id))
    return client


def test_a_visitor_is_sent_to_log_in_and_back_to_the_console(client, now):
    response = client.get("/sponsor/campaigns/new")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fsponsor%2Fcampaigns%2Fnew"


@pytest.mark.parametrize(
    "path", ["/sponsor/", "/sponsor/wallet", "/sponsor/tokens", "/sponsor/statements/2026-03"]
)
def test_a_consumer_cannot_open_the_console(client, now, path):
    client.force_login(make_user())
    response = client.get(path)
    assert response.status_code == 403
    assert "仅已通过审核的后向客户" in response.content.decode()


def test_only_a_sponsors_member_sees_the_console_entry_on_me(client, now):
    client.force_login(make_user())
    assert "data-sponsor-entry" not in client.get("/me/").content.decode()
    body = signed_in(client, make_sponsor(now=now)).get("/me/").content.decode()
    assert 'href="/sponsor/" data-sponsor-entry' in body


def test_a_sponsor_under_review_cannot_open_the_console_yet(client, now):
    signed_in(client, make_sponsor(approved=False, now=now))
    assert client.get("/sponsor/").status_code == 403
    assert client.post("/sponsor/tokens", {"name": "x"}).status_code == 403


def test_the_console_shows_each_campaign_with_its_budget_gauge_in_yuan(client, now):
    sponsor = make_sponsor(now=now)
    make_campaign(sponsor, now=now, name="抖音免流", budget_fen=123_45)
    body = signed_in(client, sponsor).get("/sponsor/").content.decode()
    assert "抖音免流" in body and "抖音 · 每号每月 1024 MB · ¥5.00/GB" in body
    assert "可分配 <b>¥123.45</b>" in body and "已结算 <b>¥0.00</b>" in body
    assert sponsor.company_name in body


def test_a_sponsor_never_sees_another_sponsors_campaign(client, now):
    mine, theirs = make_sponsor(now=now), make_sponsor(now=now)
    other = make_campaign(theirs, now=now, name="别家活动")
    client = signed_in(client, mine)
    assert client.get(f"/sponsor/campaigns/{other.campaign_id}").status_code == 404
    response = client.post(f"/sponsor/campaigns/{other.campaign_id}/change", {"action": "pause"})
    assert response.status_code == 404
    assert Campaign.objects.get(pk=other.pk).status == "ACTIVE"
    assert "别家活动" not in client.get("/sponsor/").content.decode()


def test_a_sponsor_never_sees_another_sponsors_usage_in_its_statement(client, now):
    mine, theirs = make_sponsor(now=now), make_sponsor(now=now)
    make_campaign(mine, now=now, name="我的活动")
    make_campaign(theirs, now=now, name="别家活动")
    watch(make_line(plan=PLAN, now=now), rg=DOUYIN, grants=3, size=50 * 2**20, at=now)
    body = signed_in(client, mine).get("/sponsor/statements/2026-03").content.decode()
    assert "我的活动" in body and "别家活动" not in body


def test_creating_a_campaign_moves_its_budget_from_the_wallet(client, now):
    sponsor = make_sponsor(now=now)
    fund(sponsor, 1_500_00, key="page-fund")
    form = {
        "name": "快手免流", "apps": ["1007"], "budget": "1000", "price": "4.5",
        "valid_from": "2026-03-10", "valid_to": "2026-12-31", "cap_mb": "2048",
        "eligibility": "all", "eligibility_list": "",
    }  # fmt: skip
    response = signed_in(client, sponsor).post("/sponsor/campaigns/new", form)
    campaign = Campaign.objects.get(sponsor=sponsor)
    assert response.status_code == 302
    assert response["Location"] == f"/sponsor/campaigns/{campaign.campaign_id}"
    assert (campaign.budget_fen, campaign.price_fen_per_gb, campaign.rating_groups) == (
        1000_00, 450, [1007],
    )  # fmt: skip
    assert clock.beijing(campaign.valid_to) == dt.datetime(2027, 1, 1, tzinfo=clock.BEIJING)
    assert wallet.balance_fen(sponsor_id=sponsor.sponsor_id) == 500_00
    assert ledger.trial_balance_fen() == 0


def test_a_campaign_the_wallet_cannot_pay_is_refused_with_the_form_kept(client, now):
    sponsor = make_sponsor(now=now)
    form = {
        "name": "太贵的活动", "apps": ["1006"], "budget": "1000", "price": "5",
        "valid_from": "2026-03-10", "valid_to": "2026-12-31", "cap_mb": "1024",
        "eligibility": "all",
    }  # fmt: skip
    response = signed_in(client, sponsor).post("/sponsor/campaigns/new", form)
    assert response.status_code == 409
    body = response.content.decode()
    assert 'value="太贵的活动"' in body and 'role="alert"' in body
    assert not Campaign.objects.filter(sponsor=sponsor).exists()


def test_a_campaign_is_paused_resumed_and_ended_from_its_page(client, now):
    sponsor = make_sponsor(now=now)
    campaign = make_campaign(sponsor, now=now)
    client = signed_in(client, sponsor)
    url = f"/sponsor/campaigns/{campaign.campaign_id}"
    for action, status in (("pause", "PAUSED"), ("resume", "ACTIVE"), ("end", "ENDED")):
        assert client.post(f"{url}/change", {"action": action}).status_code == 302
        assert Campaign.objects.get(pk=campaign.pk).status == status
    body = client.get(url).content.decode()
    assert 'data-status="ENDED"' in body and 'data-action="pause"' not in body
    again = client.post(f"{url}/change", {"action": "resume"})
    assert again.status_code == 409 and 'role="alert"' in again.content.decode()


def test_a_token_is_shown_once_and_another_sponsors_token_cannot_be_revoked(client, now):
    mine, theirs = make_sponsor(now=now), make_sponsor(now=now)
    client = signed_in(client, mine)
    created = client.post("/sponsor/tokens", {"name": "生产环境"})
    secret = created.context["created"].token
    assert secret in created.content.decode() and created["Cache-Control"] == "no-store"
    token_id = created.context["created"].listing.id
    listing = client.get("/sponsor/tokens").content.decode()
    assert f'data-token="{token_id}"' in listing and "<b>生产环境</b>" in listing
    assert secret not in listing and secret[:10] in listing
    other = signed_in(client.__class__(), theirs)
    assert other.post(f"/sponsor/tokens/{token_id}/revoke").status_code == 404
    assert client.post(f"/sponsor/tokens/{token_id}/revoke").status_code == 302
    assert f'data-token="{token_id}"' not in client.get("/sponsor/tokens").content.decode()


def test_a_top_up_sends_the_browser_to_the_gateways_cashier(client, now):
    sponsor = make_sponsor(now=now)
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        response = signed_in(client, sponsor).post(
            "/sponsor/wallet", {"amount": "2000", "method": "alipay"}
        )
    topup = SponsorTopUp.objects.get(sponsor=sponsor)
    assert (topup.amount_fen, topup.method, topup.status) == (2000_00, "ALIPAY", "PENDING")
    assert response.status_code == 302 and response["Location"] == topup.pay_url


def test_a_top_up_below_the_minimum_is_refused_on_the_wallet_page(client, now):
    sponsor = make_sponsor(now=now)
    response = signed_in(client, sponsor).post(
        "/sponsor/wallet", {"amount": "1", "method": "wechat"}
    )
    assert response.status_code == 422 and 'role="alert"' in response.content.decode()
    assert not SponsorTopUp.objects.exists()


def test_the_statement_and_its_pdf_show_usage_by_campaign_and_app(client, now):
    sponsor = make_sponsor(now=now)
    campaign = make_campaign(sponsor, now=now, name="抖音免流")
    watch(make_line(plan=PLAN, now=now), rg=DOUYIN, grants=3, size=50 * 2**20, at=now)
    found = console.statement(sponsor=sponsor, month=dt.date(2026, 3, 1))
    assert [(r.campaign_id, r.apps, r.lines) for r in found.rows] == [
        (campaign.campaign_id, "抖音", 1)
    ]
    assert found.charged_fen > 0 and found.used_bytes == 100 * 2**20  # one slice used up
    client = signed_in(client, sponsor)
    page = client.get("/sponsor/statements/2026-03").content.decode()
    assert "抖音免流" in page and f"data-charged>¥{found.charged_fen / 100:.2f}<" in page
    pdf = client.get("/sponsor/statements/2026-03.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = statement_pdf.lines_of(found, sponsor=sponsor, balance_fen=0, held_fen=0)
    assert any("抖音免流" in t and "抖音" in t and "1 个号码" in t for t in text)
    assert client.get("/sponsor/statements/2026-3").status_code == 404


def test_a_campaign_is_renamed_and_its_last_day_moved_from_its_page(client, now):
    sponsor = make_sponsor(now=now)
    campaign = make_campaign(sponsor, now=now)
    client = signed_in(client, sponsor)
    url = f"/sponsor/campaigns/{campaign.campaign_id}"
    form = {"name": "抖音 春节免流", "valid_to": "2026-04-30"}
    assert client.post(f"{url}/edit", form).status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "抖音 春节免流"
    assert campaign.valid_to == dt.datetime(2026, 5, 1, tzinfo=clock.BEIJING)
    assert "2026-04-30" in client.get(url).content.decode()
    past = client.post(f"{url}/edit", {"name": "x", "valid_to": "2026-03-01"})
    assert past.status_code == 422 and 'role="alert"' in past.content.decode()
    client.post(f"{url}/change", {"action": "end"})
    assert client.post(f"{url}/edit", form).status_code == 409


def test_a_sponsor_cannot_edit_another_sponsors_campaign(client, now):
    mine, theirs = make_sponsor(now=now), make_sponsor(now=now)
    other = make_campaign(theirs, now=now, name="别家活动")
    form = {"name": "改掉", "valid_to": "2026-04-30"}
    response = signed_in(client, mine).post(f"/sponsor/campaigns/{other.campaign_id}/edit", form)
    assert response.status_code == 404
    assert Campaign.objects.get(pk=other.pk).name == "别家活动"


def test_opted_in_numbers_are_masked_and_only_the_sponsors_own(client, now):
    mine, theirs = make_sponsor(now=now), make_sponsor(now=now)
    campaign = make_campaign(mine, now=now, name="授权活动", eligibility={"opted_in": True})
    line = make_line(plan=PLAN, now=now)
    campaigns.opt_in(sponsor=mine, campaign_id=campaign.campaign_id, msisdn=line.msisdn, now=now)
    masked = f"{line.msisdn[:3]}****{line.msisdn[-4:]}"
    body = signed_in(client, mine).get("/sponsor/lines").content.decode()
    assert masked in body and line.msisdn not in body and "授权活动" in body
    page = client.get(f"/sponsor/campaigns/{campaign.campaign_id}").content.decode()
    assert masked in page and line.msisdn not in page
    other = signed_in(client.__class__(), theirs).get("/sponsor/lines").content.decode()
    assert masked not in other and "暂无授权号码" in other
