"""Agent pages (代理中心) and the public shop through Django's test client: who may see them,
what an agent sees of their own sales and money (customers masked, never another agent's),
the forms (apply, shop, withdraw, quiz) with their errors in Chinese, the poster, and the
shop's cookie attributing an order placed through checkout to the agent, with the markup."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import zxingcpp
from django.conf import settings
from django.db import transaction
from PIL import Image

from haoka.charging import tariffs
from haoka.charging.signals import monthly_fee_charged
from haoka.core import clock
from haoka.distribution import commission, credit, fraud, training
from haoka.distribution import operations as dist_ops
from haoka.distribution.domain import FraudKind
from haoka.distribution.models import Agent, Entry, FraudFlag, Product, Sale, Withdrawal
from haoka.orders.models import Order
from tests.support.distribution import id_number, make_agent, make_user, offer, person_name, sell
from tests.support.web import hold_for
from tests.support.web_orders import ADDRESS, order_ref

pytestmark = pytest.mark.django_db

PLAN = "CM-MANGO-39"
FREE = "13811115200"  # CMCC 普通号 of the test pool: nothing to pay for the number


@pytest.fixture(autouse=True)
def fresh_tariffs():
    tariffs.forget_cached()
    yield
    tariffs.forget_cached()


#: Rules in force since well before the oldest sale of these tests.
SINCE = dt.timedelta(days=90)


@pytest.fixture
def product(catalog):
    return offer(PLAN, now=clock.now() - SINCE)


def html(response) -> str:
    return response.content.decode()


def agent_client(client, agent):
    client.force_login(agent.user)
    return client


def with_shop(agent, markup_fen: int = 0, plan: str = PLAN):
    return dist_ops.set_shop(
        agent_id=agent.pk, shop_name="小李号卡铺", items=[(plan, markup_fen)], shop_intro="正规号卡"
    )


def sold_long_ago(agent, commits, *, days: int = 40) -> str:
    """A sale activated ``days`` ago, its 秒返 settled and released by now."""
    then = clock.now() - dt.timedelta(days=days)
    with clock.frozen(then), commits():
        ref, _line = sell(agent, now=then, opening_balance_fen=50_00)
    commission.settle_due(now=clock.now() - dt.timedelta(days=days - 16))
    commission.release_due(now=clock.now())
    return ref


# ---------------------------------------------------------------- who may see what


def test_a_visitor_logs_in_before_any_agent_page(client):
    for url in ("/agent/", "/agent/ledger", "/agent/shop", "/agent/apply", "/agent/poster.png"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_a_consumer_is_sent_to_apply_and_an_applicant_to_their_application(client, catalog):
    consumer = make_user()
    client.force_login(consumer)
    for url in ("/agent/", "/agent/orders", "/agent/withdrawals", "/agent/poster.png"):
        assert client.get(url)["Location"] == "/agent/apply"
    page = html(client.get("/agent/apply?invite=Y2345678"))
    assert "申请成为代理" in page
    assert 'value="Y2345678"' in page
    name = person_name(42)
    response = client.post(
        "/agent/apply",
        {
            "real_name": name,
            "id_number": id_number(42),
            "payee_channel": "ALIPAY",
            "payee_account": "agent42@example.com",
            "payee_name": name,
        },
    )
    assert response["Location"] == "/agent/application"
    page = html(client.get("/agent/application"))
    assert "申请审核中" in page
    assert name not in page  # masked
    assert "ag***@example.com" in page
    assert client.get("/agent/")["Location"] == "/agent/application"
    assert client.get("/agent/apply")["Location"] == "/agent/application"


def test_an_application_with_another_persons_payee_account_shows_why_and_changes_nothing(
    client, catalog
):
    client.force_login(make_user())
    response = client.post(
        "/agent/apply",
        {
            "real_name": person_name(43),
            "id_number": id_number(43),
            "payee_channel": "ALIPAY",
            "payee_account": "someone@example.com",
            "payee_name": "王五",
        },
    )
    assert response.status_code == 422
    page = html(response)
    assert "收款户名必须与实名认证的姓名一致" in page
    assert id_number(43) not in page  # the ID number is never echoed back
    assert not Agent.objects.exists()


def test_a_rejected_applicant_reads_why_and_may_apply_again(client, catalog):
    user = make_user()
    name = person_name(44)
    applied = dist_ops.apply(
        user_id=user.pk,
        real_name=name,
        id_number=id_number(44),
        payee_channel="ALIPAY",
        payee_account="a44@example.com",
        payee_name=name,
        now=clock.now(),
    )
    dist_ops.decide(
        agent_id=applied.pk, approve=False, staff_id=None, note="证件照片不清晰", now=clock.now()
    )
    client.force_login(user)
    page = html(client.get("/agent/application"))
    assert "申请未通过" in page
    assert "证件照片不清晰" in page
    assert "上次的申请未通过" in html(client.get("/agent/apply"))


def test_the_me_page_leads_to_apply_or_to_the_console(client, catalog):
    client.force_login(make_user())
    assert "申请成为代理" in html(client.get("/me/"))
    agent = make_agent()
    client.force_login(agent.user)
    page = html(client.get("/me/"))
    assert "代理中心" in page
    assert 'href="/agent/"' in page


# ---------------------------------------------------------------- the console and lists


def test_the_console_shows_today_the_funnel_balances_chart_and_credit_factors(
    client, product, commits
):
    agent = make_agent(now=clock.now() - dt.timedelta(days=60))
    sold_long_ago(agent, commits)
    now = clock.now()
    with commits():
        sell(agent, now=now, opening_balance_fen=50_00)
        sell(agent, now=now, activate=False)
    credit.recompute(agent_id=agent.pk, now=now)
    page = html(agent_client(client, agent).get("/agent/"))
    today = re.search(r"data-today-orders>(\d+)<", page)
    assert today and today.group(1) == "2"
    assert re.search(r"data-today-activated>1<", page)
    assert re.search(r"data-today-commission>¥\d+\.\d\d<", page)
    for step, count in (("orders", 3), ("shipped", 2), ("activated", 2), ("first_topup", 2)):
        assert re.search(
            rf'data-step="{step}">.*?<b class="ag-funnel-count">{count}</b>', page, re.S
        )
    assert re.search(r'data-balance="withdrawable".*?<b>¥40\.00</b>', page, re.S)  # 秒返 + 首充返
    assert 'id="agent-chart"' in page
    assert "vendor/echarts/echarts.min.js" in page
    assert "激活率" in page and "首充率" in page  # why the score is what it is
    assert f"/s/{agent.code}" in page


def test_an_agent_sees_only_their_own_sales_with_customers_masked(client, product, commits):
    mine, theirs = make_agent(), make_agent()
    with commits():
        my_ref, my_line = sell(mine, now=clock.now())
        their_ref, _ = sell(theirs, now=clock.now())
    agent_client(client, mine)
    page = html(client.get("/agent/orders"))
    assert my_ref in page and their_ref not in page
    assert my_line.msisdn not in page
    assert f"{my_line.msisdn[:3]}****{my_line.msisdn[-4:]}" in page
    assert "移动芒果卡39元" in page and "已激活" in page
    ledger = html(client.get("/agent/ledger"))
    assert my_ref in ledger and their_ref not in ledger
    assert "激活秒返" in ledger and "¥30.00" in ledger


def test_the_ledger_tabs_filter_by_status(client, product, commits):
    agent = make_agent(now=clock.now() - dt.timedelta(days=60))
    old = sold_long_ago(agent, commits)
    with commits():
        new, _ = sell(agent, now=clock.now())
    agent_client(client, agent)
    withdrawable = html(client.get("/agent/ledger?status=WITHDRAWABLE"))
    assert old in withdrawable and new not in withdrawable
    pending = html(client.get("/agent/ledger?status=PENDING"))
    assert new in pending
    assert "暂无该状态的佣金记录" in html(client.get("/agent/ledger?status=CLAWED_BACK"))
    assert client.get("/agent/ledger?status=BOGUS").status_code == 200  # shows everything


def test_withdrawing_shows_the_fee_and_the_request_and_refuses_too_little(client, product, commits):
    agent = make_agent(now=clock.now() - dt.timedelta(days=60))
    sold_long_ago(agent, commits)
    agent_client(client, agent)
    page = html(client.get("/agent/withdrawals"))
    assert "单笔至少 ¥10.00，手续费 0.6%（最低 ¥1.00）" in page
    assert "可提现余额" in page
    too_little = client.post("/agent/withdrawals", {"amount": "5"})
    assert too_little.status_code == 422
    assert "单笔提现至少 ¥10.00" in html(too_little)
    response = client.post("/agent/withdrawals", {"amount": "20"}, follow=True)
    page = html(response)
    assert "提现申请已提交：¥20.00，手续费 ¥1.00" in page
    assert "待审核" in page
    withdrawal = Withdrawal.objects.get(agent=agent)
    assert (withdrawal.amount_fen, withdrawal.fee_fen, withdrawal.net_fen) == (20_00, 1_00, 19_00)
    assert "正在处理中" in html(client.get("/agent/withdrawals"))


def test_the_team_page_shows_the_invite_link_and_masked_sub_agents(client, product):
    parent = make_agent()
    child = make_agent(parent=parent)
    page = html(agent_client(client, parent).get("/agent/team"))
    assert parent.invite_code in page
    assert f"{settings.PUBLIC_BASE_URL}/agent/apply?invite={parent.invite_code}" in page
    assert child.real_name not in page
    assert f"{child.real_name[0]}*{child.real_name[-1]}" in page
    page = html(agent_client(client, child).get("/agent/team"))
    assert "二级代理不能发展下级" in page
    assert "邀请下级代理" not in page


# ---------------------------------------------------------------- shop, poster, materials, courses


def test_saving_the_shop_checks_the_markup_and_keeps_what_was_typed(client, product, catalog):
    offer("CU-DAWANG-19", max_markup_fen=5_00, now=clock.now() - SINCE)
    agent = make_agent()
    agent_client(client, agent)
    page = html(client.get("/agent/shop"))
    assert "可设 ¥0.00–¥20.00" in page and "可设 ¥0.00–¥5.00" in page
    form = {"shop_name": "阿强的号卡店", "items": [PLAN, "CU-DAWANG-19"]}
    response = client.post(
        "/agent/shop", {**form, f"markup_{PLAN}": "8", "markup_CU-DAWANG-19": "9"}
    )
    assert response.status_code == 422
    page = html(response)
    assert "加价应在 ¥0.00 到 ¥5.00 之间" in page
    assert 'value="阿强的号卡店"' in page
    assert not Agent.objects.get(pk=agent.pk).shop_items.exists()
    response = client.post("/agent/shop", {**form, f"markup_{PLAN}": "8.50"}, follow=True)
    assert "店铺设置已保存" in html(response)
    items = dict(Agent.objects.get(pk=agent.pk).shop_items.values_list("plan_code", "markup_fen"))
    assert items == {PLAN: 8_50, "CU-DAWANG-19": 0}


def test_a_locked_product_says_why(client, catalog):
    offer("HK-SHITING-49", now=clock.now() - SINCE)
    Product.objects.filter(plan_code="HK-SHITING-49").update(min_tier="A")
    page = html(agent_client(client, make_agent()).get("/agent/shop"))
    assert "需要信用等级 A 级及以上" in page


def test_the_poster_is_a_png_whose_qr_code_opens_the_shop(client, product):
    agent = make_agent()
    with_shop(agent)
    agent_client(client, agent)
    assert "/agent/poster.png" in html(client.get("/agent/poster"))
    response = client.get("/agent/poster.png")
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (750, 1334)
    [code] = zxingcpp.read_barcodes(image)
    assert code.text == f"{settings.PUBLIC_BASE_URL}/s/{agent.code}"  # not the Host asked
    download = client.get("/agent/poster.png?download=1")
    assert f"haoka-poster-{agent.code}.png" in download["Content-Disposition"]


def test_materials_and_a_course_quiz(client, product):
    training.seed_training()
    agent = make_agent()
    agent_client(client, agent)
    page = html(client.get("/agent/materials"))
    assert "复制文案" in page and "朋友圈文案：联通大王卡19元版" in page
    assert "号卡销售入门" in html(client.get("/agent/courses"))
    page = html(client.get("/agent/courses/basics"))
    ids = [int(i) for i in re.findall(r'name="q_(\d+)" value="0"', page)]
    assert len(ids) == 5
    half = client.post("/agent/courses/basics", {f"q_{ids[0]}": "1"})
    assert half.status_code == 422
    assert "请回答全部题目（未作答：第 2、3、4、5 题）" in html(half)
    right = [answer for _, _, answer in training.COURSES[0]["questions"]]
    answers = {f"q_{i}": str(a) for i, a in zip(ids, right, strict=True)}
    page = html(client.post("/agent/courses/basics", answers, follow=True))
    assert "恭喜，考试通过！得分 100 分" in page
    assert 'data-passed="1"' in page
    assert client.get("/agent/courses/nope").status_code == 404


def test_a_frozen_agent_still_sees_the_console_but_cannot_withdraw(client, product, commits):
    agent = make_agent(now=clock.now() - dt.timedelta(days=60))
    sold_long_ago(agent, commits)
    dist_ops.set_status(
        agent_id=agent.pk, frozen=True, staff_id=None, reason="核查", now=clock.now()
    )
    agent_client(client, agent)
    page = html(client.get("/agent/"))
    assert "账号已冻结" in page
    # Not offered as money to take: the balance is held, no button, and the page says why
    assert re.search(r'data-balance="withdrawable"[^>]*><small>冻结中</small><b>¥40\.00</b>', page)
    assert "去提现" not in page and "<small>可提现</small>" not in page
    assert re.search(r"data-frozen-reason>核查<", page)
    assert "联系平台客服申诉" in page and agent.code in page
    form = html(client.get("/agent/withdrawals"))
    assert "冻结中，暂不能提现" in form and "申请提现" not in form
    assert re.search(r"data-frozen-reason>核查<", form)
    response = client.post("/agent/withdrawals", {"amount": "20"})
    assert response.status_code == 403
    assert not Withdrawal.objects.exists()


def test_an_agent_who_owes_sees_the_debt_and_no_withdraw_button(client, product, commits):
    agent = make_agent(now=clock.now() - dt.timedelta(days=60))
    sold_long_ago(agent, commits)
    client = agent_client(client, agent)
    client.post("/agent/withdrawals", {"amount": "40"})
    assert Withdrawal.objects.filter(agent=agent, amount_fen=40_00).exists()
    sale = Sale.objects.get(agent=agent)
    with transaction.atomic():  # taken back after it was withdrawn: the agent owes it
        commission.clawback(sale, reason="测试追回", now=clock.now(), statuses=("WITHDRAWABLE",))
    page = html(client.get("/agent/"))
    assert "去提现" not in page
    assert re.search(r'data-balance="withdrawable"[^>]*><small>待抵扣</small>', page)
    assert "将从后续佣金中抵扣" in page


def fee_in_arrears(line, now) -> None:
    """Charging tells distribution a month's fee left the line in arrears."""
    with transaction.atomic():
        monthly_fee_charged.send(
            sender=None,
            line_id=line.pk,
            month=dt.date(now.year, now.month, 1),
            fee_fen=39_00,
            arrears=True,
            now=now,
        )


def test_the_credit_panel_agrees_with_the_ledger_and_flags_at_once(client, product, commits):
    agent = make_agent(now=clock.now() - dt.timedelta(days=60))
    now = clock.now()
    with commits():
        owing_ref, owing_line = sell(agent, now=now)
        cheat_ref, _ = sell(agent, now=now)
    page = html(agent_client(client, agent).get("/agent/"))
    assert "0 张卡欠费" in page and "确认违规 0 次，待核查 0 次" in page

    with commits():  # the month's fee leaves the line in arrears: its 次月返 is clawed back
        fee_in_arrears(owing_line, now)
    clawed = Entry.objects.filter(sale__order_ref=owing_ref, status="CLAWED_BACK")
    assert clawed.exists() and all("欠费" in e.clawback_reason for e in clawed)
    page = html(client.get("/agent/"))
    assert "1 张卡欠费" in page  # not at the next daily run: now

    cheat = Sale.objects.get(order_ref=cheat_ref)
    flag = fraud.flag(
        agent_id=agent.pk, sale=cheat, kind=FraudKind.SELF_ID, key="test:self", detail="本人证件",
        now=now,
    )  # fmt: skip
    with commits():
        fraud.decide(flag_id=flag.pk, confirmed=True, staff_id=None, note="本人证件下单", now=now)
    page = html(client.get("/agent/"))
    assert "确认违规 1 次，待核查 0 次" in page
    assert FraudFlag.objects.filter(agent=agent, status="CONFIRMED").count() == 1
    assert set(Entry.objects.filter(sale=cheat).values_list("status", flat=True)) == {"CLAWED_BACK"}
    agent.refresh_from_db()
    assert (
        agent.credit_factors
        == credit.domain.credit_score(
            credit.stats_for(agent_id=agent.pk, now=clock.now())
        ).as_json()
    )  # what the panel shows is what the record says
    assert re.search(r"data-frozen-reason>风控确认违规：本人证件下单<", page)
    assert "去提现" not in page


# ---------------------------------------------------------------- the public shop and checkout


def test_the_public_shop_shows_prices_and_an_unknown_shop_is_a_friendly_404(client, product):
    agent = make_agent()
    with_shop(agent, markup_fen=10_00)
    response = client.get(f"/s/{agent.code}")
    page = html(response)
    assert "小李号卡铺" in page and "移动芒果卡39元" in page
    assert "¥39.00" in page and "代理服务费 ¥10.00" in page
    assert f"/numbers/?carrier=CMCC&amp;plan={PLAN}" in page
    assert agent.real_name not in page
    assert response.cookies["hk_ref"]["max-age"] == 30 * 24 * 3600
    assert response.cookies["hk_dev"].value
    missing = client.get("/s/ANOSUCH1")
    assert missing.status_code == 404
    assert "店铺不存在或已关闭" in html(missing)


def test_an_order_placed_after_visiting_shops_goes_to_the_last_shop_with_its_markup(
    buyer_client, buyer, pool, product
):
    first, last = make_agent(), make_agent()
    with_shop(first, markup_fen=3_00)
    with_shop(last, markup_fen=8_00)
    buyer_client.get(f"/s/{first.code}")
    buyer_client.get(f"/s/{last.code}")  # the last click wins
    hold_for(user=buyer, msisdn=FREE)
    page = html(buyer_client.get(f"/checkout/?msisdn={FREE}&plan={PLAN}"))
    assert re.search(r"代理服务费.*?¥8\.00", page, re.S)
    assert re.search(r'class="bill-total"><span>应付合计</span><b>¥8\.00', page)
    response = buyer_client.post("/checkout/", {"msisdn": FREE, "plan": PLAN, **ADDRESS})
    assert response.status_code == 302, html(response)[:1000]
    ref = order_ref(response)
    sale = Sale.objects.get(order_ref=ref)
    assert sale.agent_id == last.pk
    assert sale.device_hash  # the browser's hk_dev cookie, hashed

    order = Order.objects.get(ref=ref)
    assert (order.markup_fen, order.amount_due_fen) == (8_00, 8_00)


def test_a_forged_referral_cookie_attributes_nothing(buyer_client, buyer, pool, product):
    agent = make_agent()
    with_shop(agent, markup_fen=8_00)
    buyer_client.cookies["hk_ref"] = agent.code  # not signed by haoka
    hold_for(user=buyer, msisdn=FREE)
    assert "代理服务费" not in html(buyer_client.get(f"/checkout/?msisdn={FREE}&plan={PLAN}"))
    response = buyer_client.post("/checkout/", {"msisdn": FREE, "plan": PLAN, **ADDRESS})
    assert not Sale.objects.filter(order_ref=order_ref(response)).exists()
