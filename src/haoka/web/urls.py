from django.urls import path

from haoka.web import common
from haoka.web.accounts import addresses as address_views
from haoka.web.accounts import messages as message_views
from haoka.web.accounts import views as account_views
from haoka.web.agent import actions as agent_actions
from haoka.web.agent import views as agent_views
from haoka.web.line import actions as line_actions
from haoka.web.line import dataflow as line_dataflow
from haoka.web.line import sponsored as line_sponsored
from haoka.web.line import stepup as line_stepup
from haoka.web.line import views as line_views
from haoka.web.order import views as order_views
from haoka.web.shop import agent_shop
from haoka.web.shop import numbers as number_views
from haoka.web.shop import views as shop_views
from haoka.web.sponsor import actions as sponsor_actions
from haoka.web.sponsor import views as sponsor_views

app_name = "web"

urlpatterns = [
    path("", shop_views.home, name="home"),
    path("healthz", common.healthz, name="healthz"),
    path("plans/", shop_views.plan_list, name="plans"),
    path("plans/compare/", shop_views.plan_compare, name="plan_compare"),
    path("plans/<str:code>/", shop_views.plan_detail, name="plan_detail"),
    path("numbers/", number_views.number_search, name="numbers"),
    path("numbers/valuation/", number_views.number_valuation, name="number_valuation"),
    path("numbers/suggestions/", number_views.number_suggestions, name="number_suggestions"),
    path("numbers/<str:msisdn>/reserve/", number_views.number_reserve, name="number_reserve"),
    path("numbers/<str:msisdn>/release/", number_views.number_release, name="number_release"),
    path("login/", account_views.login_view, name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    path("me/", account_views.me, name="me"),
    path("me/messages", message_views.message_list, name="messages"),
    path("me/messages/read-all", message_views.message_read_all, name="messages_read_all"),
    path("me/messages/<int:pk>/read", message_views.message_read, name="message_read"),
    path("me/addresses/", address_views.address_book, name="addresses"),
    path("me/addresses/new/", address_views.address_new, name="address_new"),
    path("me/addresses/<int:address_id>/", address_views.address_edit, name="address_edit"),
    path(
        "me/addresses/<int:address_id>/delete/",
        address_views.address_delete,
        name="address_delete",
    ),
    path(
        "me/addresses/<int:address_id>/default/",
        address_views.address_default,
        name="address_default",
    ),
    path("checkout/", order_views.checkout, name="checkout"),
    path("orders/", order_views.order_list, name="orders"),
    path("orders/<str:ref>/", order_views.order_detail, name="order_detail"),
    path("orders/<str:ref>/kyc/", order_views.order_kyc, name="order_kyc"),
    path("orders/<str:ref>/contract/", order_views.order_sign, name="order_sign"),
    path(
        "orders/<str:ref>/contract.pdf", order_views.order_contract_pdf, name="order_contract_pdf"
    ),
    path("orders/<str:ref>/pay/", order_views.order_pay, name="order_pay"),
    path("orders/<str:ref>/cancel/", order_views.order_cancel, name="order_cancel"),
    path("orders/<str:ref>/activate/", order_views.order_activate, name="order_activate"),
    # Line self-service (我的号卡); the online-charging REDIRECT sends users to .../topup.
    path("me/lines", line_views.my_lines, name="my_lines"),
    path("lines/<str:msisdn>", line_views.dashboard, name="line"),
    path("lines/<str:msisdn>/topup", line_actions.topup, name="line_topup"),
    path("lines/<str:msisdn>/topup/auto", line_actions.auto_topup, name="line_auto_topup"),
    path("lines/<str:msisdn>/packs", line_actions.pack_shop, name="line_packs"),
    path("lines/<str:msisdn>/bills", line_views.bill_list, name="line_bills"),
    path("lines/<str:msisdn>/data", line_dataflow.data_control, name="line_data"),
    path("lines/<str:msisdn>/data/gifts", line_dataflow.gift, name="line_data_gift_ask"),
    path(
        "lines/<str:msisdn>/data/gifts/<int:gift_id>",
        line_dataflow.gift_page,
        name="line_data_gift",
    ),
    path("lines/<str:msisdn>/data/bank/<str:action>", line_dataflow.bank, name="line_data_bank"),
    path("lines/<str:msisdn>/data/points", line_dataflow.convert, name="line_data_convert"),
    path("lines/<str:msisdn>/data/shop", line_dataflow.redeem, name="line_data_redeem"),
    path(
        "lines/<str:msisdn>/data/family/<str:action>",
        line_dataflow.family_action,
        name="line_data_family",
    ),
    path(
        "lines/<str:msisdn>/bills/<str:month>.pdf", line_views.bill_download, name="line_bill_pdf"
    ),
    path("lines/<str:msisdn>/bills/<str:month>", line_views.bill_detail, name="line_bill"),
    path(
        "lines/<str:msisdn>/sponsors/<str:sponsor_id>/opt-out",
        line_sponsored.opt_out,
        name="line_sponsor_opt_out",
    ),
    path("lines/<str:msisdn>/manage", line_views.manage, name="line_manage"),
    path("lines/<str:msisdn>/manage/plan", line_actions.change_plan, name="line_plan_change"),
    path(
        "lines/<str:msisdn>/manage/plan/cancel",
        line_actions.cancel_plan_change,
        name="line_plan_change_cancel",
    ),
    path(
        "lines/<str:msisdn>/manage/confirm/<str:action>",
        line_stepup.confirm_sheet,
        name="line_confirm",
    ),
    path(
        "lines/<str:msisdn>/manage/confirm/<str:action>/code",
        line_stepup.send_code,
        name="line_step_up_code",
    ),
    path("lines/<str:msisdn>/manage/suspend", line_actions.suspend, name="line_suspend"),
    path("lines/<str:msisdn>/manage/resume", line_actions.resume, name="line_resume"),
    path("lines/<str:msisdn>/manage/sim", line_actions.replace_sim, name="line_sim"),
    path("lines/<str:msisdn>/manage/porting-code", line_actions.porting_code, name="line_porting"),
    path("lines/<str:msisdn>/close", line_actions.close, name="line_close"),
    # 代理中心 (agents) and the public shop of an agent; the shop remembers the referrer.
    path("agent/", agent_views.console, name="agent_console"),
    path("agent/apply", agent_actions.apply, name="agent_apply"),
    path("agent/application", agent_views.application, name="agent_application"),
    path("agent/orders", agent_views.orders, name="agent_orders"),
    path("agent/ledger", agent_views.ledger, name="agent_ledger"),
    path("agent/withdrawals", agent_actions.withdraw, name="agent_withdrawals"),
    path("agent/team", agent_views.team, name="agent_team"),
    path("agent/shop", agent_actions.shop_settings, name="agent_shop"),
    path("agent/poster", agent_views.poster_page, name="agent_poster"),
    path("agent/poster.png", agent_views.poster_png, name="agent_poster_png"),
    path("agent/materials", agent_views.materials, name="agent_materials"),
    path("agent/courses", agent_views.courses, name="agent_courses"),
    path("agent/courses/<str:code>", agent_actions.course, name="agent_course"),
    path("s/<str:code>", agent_shop.shop, name="shop"),
    # 赞助方中心 (sponsors of data): the top-up's return_url is /sponsor/.
    path("sponsor/", sponsor_views.home, name="sponsor_console"),
    path("sponsor/campaigns/new", sponsor_actions.campaign_new, name="sponsor_campaign_new"),
    path(
        "sponsor/campaigns/<str:campaign_id>",
        sponsor_views.campaign_detail,
        name="sponsor_campaign",
    ),
    path(
        "sponsor/campaigns/<str:campaign_id>/change",
        sponsor_actions.campaign_change,
        name="sponsor_campaign_change",
    ),
    path(
        "sponsor/campaigns/<str:campaign_id>/edit",
        sponsor_actions.campaign_rename,
        name="sponsor_campaign_edit",
    ),
    path("sponsor/lines", sponsor_views.opted_in, name="sponsor_lines"),
    path("sponsor/tokens", sponsor_actions.tokens, name="sponsor_tokens"),
    path(
        "sponsor/tokens/<int:token_id>/revoke",
        sponsor_actions.token_revoke,
        name="sponsor_token_revoke",
    ),
    path("sponsor/wallet", sponsor_actions.wallet_page, name="sponsor_wallet"),
    path(
        "sponsor/statements/<str:month>.pdf",
        sponsor_views.statement_download,
        name="sponsor_statement_pdf",
    ),
    path("sponsor/statements/<str:month>", sponsor_views.statement, name="sponsor_statement"),
]
