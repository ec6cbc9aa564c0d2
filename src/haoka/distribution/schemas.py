"""Request and response models of the distribution API. Amounts are integer fen (``*_fen``)
with the formatted text beside them (``¥12.34``); customers and agents appear masked only."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from haoka.core.schema_types import (
    BasisPoints,
    Count,
    Fen,
    Months,
    PlausibleDatetime,
    SignedFen,
)

# ---------------------------------------------------------------- requests


class AddressIn(Schema):
    province: str = Field(..., max_length=20)
    city: str = Field(..., max_length=20)
    district: str = Field(..., max_length=20)
    detail: str = Field(..., max_length=120)


class ApplyIn(Schema):
    real_name: str = Field(..., max_length=30)
    id_number: str = Field(..., max_length=30)
    payee_channel: str = Field(..., description="ALIPAY | BANK")
    payee_account: str = Field(..., max_length=64)
    payee_name: str = Field(..., max_length=30)
    address: AddressIn | None = None
    invite_code: str | None = Field(None, max_length=12, description="上级代理的邀请码（可选）")


class ShopItemIn(Schema):
    plan_code: str = Field(..., max_length=40)
    markup_fen: SignedFen = Field(0, description="加价（分），不超过产品允许的上限")


class ShopIn(Schema):
    shop_name: str = Field(..., max_length=30)
    shop_intro: str = Field("", max_length=120)
    sells_vanity: bool = False
    items: list[ShopItemIn] = Field(..., max_length=20)


class WithdrawalIn(Schema):
    amount_fen: Fen = Field(..., description="提现金额（分），最低 ¥10.00")


class QuizIn(Schema):
    answers: list[Count] = Field(..., max_length=100, description="每题所选选项的序号（从 0 起）")


class DecisionIn(Schema):
    approve: bool
    note: str = Field("", max_length=200)


class FreezeIn(Schema):
    frozen: bool
    reason: str = Field(..., min_length=1, max_length=200)


class FlagDecisionIn(Schema):
    confirmed: bool
    note: str = Field("", max_length=200)


class RuleIn(Schema):
    plan_code: str = Field("*", max_length=40, description="套餐编码，* 为全部套餐")
    tier: str = Field("", max_length=1, description="A | B | C | D，留空为全部等级")
    kind: str = Field(
        ..., description="ACTIVATION | FIRST_TOPUP | NEXT_MONTH | RECURRING | OVERRIDE"
    )
    amount_fen: Fen = 0
    rate_bp: BasisPoints = Field(0, description="比例（万分之一）")
    threshold_fen: Fen = 0
    months: Months = 0
    valid_from: PlausibleDatetime | None = None
    valid_to: PlausibleDatetime | None = None
    note: str = Field("", max_length=120)


class ProductIn(Schema):
    enabled: bool = True
    margin_fen: Fen = Field(..., description="单笔佣金总额上限（分），两级合计")
    max_markup_fen: Fen = Field(0, description="代理可加价上限（分）")
    min_tier: str = Field("D", description="可销售的最低信用等级 A | B | C | D")
    course_code: str | None = Field(None, max_length=24, description="须先通过的课程（可选）")


# ---------------------------------------------------------------- agent


class ApplicationOut(Schema):
    status: str
    status_label: str


class FactorOut(Schema):
    label: str
    points: int
    detail: str


class BalancesOut(Schema):
    pending_fen: int
    pending: str
    settled_fen: int
    settled: str
    withdrawable_fen: int
    withdrawable: str


class TodayOut(Schema):
    orders: int
    activated: int
    commission_fen: int
    commission: str


class FunnelOut(Schema):
    orders: int
    shipped: int
    activated: int
    first_topup: int


class AgentMeOut(Schema):
    code: str
    invite_code: str | None
    level: int
    status: str
    status_label: str
    tier: str
    tier_label: str
    credit_score: int
    credit_factors: list[FactorOut]
    shop_name: str
    shop_url: str
    balances: BalancesOut
    today: TodayOut
    funnel: FunnelOut
    parent_code: str | None


class SaleOut(Schema):
    order_ref: str
    created_at: dt.datetime
    plan_code: str
    plan_name: str
    state: str
    state_label: str
    msisdn_masked: str
    customer_masked: str
    status: str
    status_label: str
    activated_at: dt.datetime | None
    fraud_hold: bool
    earned_fen: int
    earned: str


class SalePage(Schema):
    items: list[SaleOut]
    next: str | None


class EntryOut(Schema):
    kind: str
    kind_label: str
    amount_fen: int
    amount: str
    status: str
    status_label: str
    memo: str
    order_ref: str
    accrued_at: dt.datetime
    settle_after: dt.datetime
    settled_at: dt.datetime | None
    withdrawable_at: dt.datetime | None
    clawed_back_at: dt.datetime | None
    clawback_reason: str


class EntryPage(Schema):
    items: list[EntryOut]
    next: str | None


class TeamMemberOut(Schema):
    code: str
    name_masked: str
    status: str
    status_label: str
    tier: str
    joined_at: dt.datetime
    sales_month: int
    activated_total: int
    override_fen: int
    override: str


class TeamPage(Schema):
    items: list[TeamMemberOut]
    next: str | None


class ShopProductOut(Schema):
    plan_code: str
    plan_name: str
    carrier_name: str
    monthly_fee_fen: int
    monthly_fee: str
    first_topup_fen: int
    margin_fen: int
    max_markup_fen: int
    markup_fen: int
    in_shop: bool
    allowed: bool
    why_not: str


class ShopOut(Schema):
    code: str
    shop_name: str
    shop_intro: str
    shop_url: str
    sells_vanity: bool
    vanity_allowed: bool
    products: list[ShopProductOut]


class WithdrawalOut(Schema):
    ref: str
    amount_fen: int
    amount: str
    fee_fen: int
    fee: str
    net_fen: int
    net: str
    status: str
    status_label: str
    payee_channel: str
    payee_account_masked: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    paid_at: dt.datetime | None
    failure_reason: str


class WithdrawalPage(Schema):
    items: list[WithdrawalOut]
    next: str | None


class CourseOut(Schema):
    code: str
    title: str
    summary: str
    pass_percent: int
    unlocks_vanity: bool
    passed: bool
    best_percent: int | None


class CoursePage(Schema):
    items: list[CourseOut]
    next: str | None


class QuestionOut(Schema):
    id: int
    text: str
    options: list[str]


class CourseDetailOut(Schema):
    code: str
    title: str
    summary: str
    content: str
    pass_percent: int
    unlocks_vanity: bool
    questions: list[QuestionOut]


class QuizResultOut(Schema):
    course_code: str
    score_percent: int
    passed: bool
    pass_percent: int
    at: dt.datetime


# ---------------------------------------------------------------- public shop


class PublicItemOut(Schema):
    plan_code: str
    plan_name: str
    carrier: str
    carrier_name: str
    monthly_fee_fen: int
    monthly_fee: str
    first_topup_fen: int
    markup_fen: int
    price_fen: int = Field(..., description="下单时支付：首充（免费号码）+ 店铺加价")
    price: str


class PublicShopOut(Schema):
    code: str
    name: str
    intro: str
    agent_masked: str
    sells_vanity: bool
    items: list[PublicItemOut]


# ---------------------------------------------------------------- staff


class StaffAgentOut(Schema):
    id: int
    code: str | None
    name_masked: str
    id_number_masked: str
    level: int
    parent_code: str | None
    status: str
    status_label: str
    tier: str
    credit_score: int
    payee_channel: str
    payee_account_masked: str
    shop_name: str
    applied_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str


class StaffAgentPage(Schema):
    items: list[StaffAgentOut]
    next: str | None


class RuleOut(Schema):
    id: int
    plan_code: str
    tier: str
    kind: str
    kind_label: str
    amount_fen: int
    rate_bp: int
    threshold_fen: int
    months: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    note: str
    created_at: dt.datetime


class RulePage(Schema):
    items: list[RuleOut]
    next: str | None


class ProductOut(Schema):
    plan_code: str
    enabled: bool
    margin_fen: int
    margin: str
    max_markup_fen: int
    max_markup: str
    min_tier: str
    course_code: str | None


class StaffWithdrawalOut(WithdrawalOut):
    agent_code: str | None
    payee_name_masked: str
    provider_ref: str


class StaffWithdrawalPage(Schema):
    items: list[StaffWithdrawalOut]
    next: str | None


class FlagOut(Schema):
    id: int
    agent_code: str | None
    order_ref: str | None
    kind: str
    kind_label: str
    detail: str
    status: str
    status_label: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    note: str


class FlagPage(Schema):
    items: list[FlagOut]
    next: str | None


class SweepOut(Schema):
    processed: int  # facts (activations, top-ups, fees, endings) turned into commission
    settled: int
    clawed_back: int
    released: int
