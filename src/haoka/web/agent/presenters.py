"""What the agent pages (代理中心) and the public shop show, shaped for templates: the funnel
with its rates, the 30-day chart's series, the credit score's factors, ledger and withdrawal
rows, the shop's product rows and the poster's lines.

Display only. What an agent earns, may sell or withdraw is decided in distribution; this
module lays its answers out. Customers stay masked: rows carry only what distribution's
queries return (masked), plus the masked number of the agent's own sale when the order
summary has none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from haoka.catalog import queries as catalog_queries
from haoka.core import pii
from haoka.distribution import domain
from haoka.distribution import queries as dist_queries
from haoka.distribution.domain import EntryStatus, SaleState, WithdrawalStatus
from haoka.web.common import yuan

#: Ledger filter tabs: (query value, label); "" is every entry.
LEDGER_TABS = (("", "全部"), *((s.value, domain.ENTRY_LABELS[s]) for s in EntryStatus))
_ENTRY_TONES = {
    EntryStatus.PENDING: "moving",
    EntryStatus.SETTLED: "action",
    EntryStatus.WITHDRAWABLE: "done",
    EntryStatus.CLAWED_BACK: "failed",
}
_WITHDRAWAL_TONES = {
    WithdrawalStatus.REQUESTED: "moving",
    WithdrawalStatus.PAYING: "action",
    WithdrawalStatus.PAID: "done",
    WithdrawalStatus.FAILED: "failed",
    WithdrawalStatus.REJECTED: "failed",
}
#: The colour of a sale's state chip (its label is the distribution domain's).
_SALE_TONES = {SaleState.OPEN: "moving", SaleState.ACTIVATED: "done", SaleState.ENDED: "failed"}
#: The sections of 代理中心: (url name, label, short description).
SECTIONS = (
    ("agent_console", "概览", "今日销售与收益"),
    ("agent_orders", "订单", "我卖出的号卡"),
    ("agent_ledger", "佣金", "每一笔佣金明细"),
    ("agent_withdrawals", "提现", "可提现余额提现"),
    ("agent_team", "团队", "邀请与团队奖励"),
    ("agent_shop", "店铺", "上架产品与加价"),
    ("agent_poster", "海报", "分享二维码海报"),
    ("agent_materials", "素材", "推广文案一键复制"),
    ("agent_courses", "课程", "学习与考试"),
)


# ---------------------------------------------------------------- console


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int
    rate: str  # of the step before ("" for the first)
    width: int  # bar width in percent of the first step


def funnel(counts: dict[str, int]) -> list[FunnelStep]:
    """下单 → 发货 → 激活 → 首充, each with its rate of the step before."""
    steps = (
        ("orders", "下单"),
        ("shipped", "发货"),
        ("activated", "激活"),
        ("first_topup", "首充"),
    )
    first = max(1, counts.get("orders", 0))
    out, before = [], None
    for key, label in steps:
        count = int(counts.get(key, 0))
        rate = "" if before is None else (f"{count / before:.0%}" if before else "—")
        width = max(4, round(100 * count / first)) if count else 0
        out.append(FunnelStep(key, label, count, rate, width))
        before = count
    return out


def chart(series: Sequence[dict]) -> dict:
    """The 30-day chart: orders and activations (bars), commission in fen (the line; the
    page formats fen as ¥), and the period's totals."""
    return {
        "days": [f"{row['date']:%m-%d}" for row in series],
        "orders": [row["orders"] for row in series],
        "activated": [row["activated"] for row in series],
        "commission_fen": [row["commission_fen"] for row in series],
        "total_orders": sum(row["orders"] for row in series),
        "total_activated": sum(row["activated"] for row in series),
        "total_commission": yuan(sum(row["commission_fen"] for row in series)),
        "empty": not any(row["orders"] or row["commission_fen"] for row in series),
    }


@dataclass(frozen=True)
class FactorRow:
    label: str
    points: str  # +12, -5, 60
    detail: str
    tone: str  # up | down | base


@dataclass(frozen=True)
class Credit:
    score: int
    tier: str
    tier_label: str
    hold_days: int
    rated_at: dt.datetime | None
    factors: list[FactorRow]


def credit(agent) -> Credit:
    """The agent's score and tier as the last daily run left them, with the factors that
    made it (a new agent has none yet: the start score and tier)."""
    rows = []
    for i, factor in enumerate(agent.credit_factors or []):
        points = int(factor.get("points", 0))
        base = i == 0 and factor.get("label") == "基础分"
        rows.append(
            FactorRow(
                label=str(factor.get("label", "")),
                points=str(points) if base or not points else f"{points:+d}",
                detail=str(factor.get("detail", "")),
                tone="base" if base else ("up" if points > 0 else "down" if points < 0 else "base"),
            )
        )
    tier = domain.Tier(agent.tier)
    return Credit(
        score=agent.credit_score,
        tier=tier.value,
        tier_label=domain.TIER_LABELS[tier],
        hold_days=domain.HOLD_DAYS[tier],
        rated_at=agent.credit_at,
        factors=rows,
    )


@dataclass(frozen=True)
class Withdrawable:
    """The 可提现 tile and its button as the agent may use them: a frozen agent's balance is
    shown as held (no 去提现); an agent who owes (clawbacks after a withdrawal) sees the debt
    that later commission pays off."""

    label: str
    amount_fen: int
    can_withdraw: bool
    blocked: str  # "" | "frozen" | "owing"


def withdrawable(*, withdrawable_fen: int, frozen: bool) -> Withdrawable:
    if frozen:
        return Withdrawable("冻结中", withdrawable_fen, False, "frozen")
    if withdrawable_fen < 0:
        return Withdrawable("待抵扣", withdrawable_fen, False, "owing")
    return Withdrawable("可提现", withdrawable_fen, True, "")


# ---------------------------------------------------------------- orders


@dataclass(frozen=True)
class SaleRow:
    order_ref: str
    created_at: dt.datetime
    plan_name: str
    state_label: str
    tone: str
    msisdn_masked: str
    customer_masked: str
    earned_fen: int
    fraud_hold: bool


def sale_rows(items: Iterable[dict], *, masked_numbers: dict[str, str]) -> list[SaleRow]:
    """The agent's sales as distribution returns them (masked). Where the order's summary is
    missing, the plan's name comes from the catalog and the number from ``masked_numbers``
    (the agent's own sales, masked by the caller)."""
    items = list(items)
    names = {
        p.code: p.name
        for p in catalog_queries.plans_by_codes(codes=sorted({i["plan_code"] for i in items}))
    }
    rows = []
    for item in items:
        sale_label = domain.SALE_LABELS.get(item["status"], item["status"])
        tone = _SALE_TONES.get(item["status"], "moving")
        plan_name = item["plan_name"]
        if not plan_name or plan_name == item["plan_code"]:
            plan_name = names.get(item["plan_code"], item["plan_code"])
        rows.append(
            SaleRow(
                order_ref=item["order_ref"],
                created_at=item["created_at"],
                plan_name=plan_name,
                state_label=item["state_label"] or sale_label,
                tone=tone,
                msisdn_masked=item["msisdn_masked"] or masked_numbers.get(item["order_ref"], ""),
                customer_masked=item["customer_masked"],
                earned_fen=item["earned_fen"],
                fraud_hold=item["fraud_hold"],
            )
        )
    return rows


def masked_numbers(*, agent, refs: list[str]) -> dict[str, str]:
    """The masked numbers of the agent's own sales among ``refs``."""
    numbers = dist_queries.sale_numbers(agent=agent, order_refs=refs)
    return {ref: pii.mask_phone(msisdn or "") for ref, msisdn in numbers.items()}


# ---------------------------------------------------------------- ledger and withdrawals


@dataclass(frozen=True)
class EntryRow:
    id: int
    kind_label: str
    memo: str
    order_ref: str
    amount_fen: int
    status: str
    status_label: str
    tone: str
    accrued_at: dt.datetime
    note: str  # when it settles / became withdrawable / why it was clawed back


def _entry_note(entry) -> str:
    status = EntryStatus(entry.status)
    if status == EntryStatus.PENDING:
        return f"预计 {entry.settle_after.astimezone(domain.BEIJING):%m-%d} 后结算"
    if status == EntryStatus.SETTLED and entry.withdrawable_at:
        return f"{entry.withdrawable_at.astimezone(domain.BEIJING):%m-%d} 起可提现"
    if status == EntryStatus.CLAWED_BACK:
        return f"已追回：{entry.clawback_reason}" if entry.clawback_reason else "已追回"
    return "可申请提现"


def entry_rows(entries: Iterable) -> list[EntryRow]:
    rows = []
    for entry in entries:
        status = EntryStatus(entry.status)
        rows.append(
            EntryRow(
                id=entry.pk,
                kind_label=domain.KIND_LABELS[domain.Kind(entry.kind)],
                memo=entry.memo,
                order_ref=entry.sale.order_ref,
                amount_fen=entry.amount_fen,
                status=status.value,
                status_label=domain.ENTRY_LABELS[status],
                tone=_ENTRY_TONES[status],
                accrued_at=entry.accrued_at,
                note=_entry_note(entry),
            )
        )
    return rows


def mask_account(channel: str, account: str) -> str:
    """A payee account, masked: 6222********1234, 138****5678, ab***@example.com."""
    account = account or ""
    if channel == "BANK" or account.isdigit():
        if len(account) == 11:
            return pii.mask_phone(account)
        return account[:4] + "*" * max(0, len(account) - 8) + account[-4:]
    if "@" in account:
        local, _, host = account.partition("@")
        return f"{local[:2]}***@{host}"
    return account[:2] + "***" + account[-2:] if len(account) > 4 else "***"


def payee_text(agent) -> str:
    channel = domain.PAYEE_CHANNELS.get(agent.payee_channel, agent.payee_channel)
    return f"{channel} {mask_account(agent.payee_channel, agent.payee_account)}"


@dataclass(frozen=True)
class WithdrawalRow:
    ref: str
    amount_fen: int
    fee_fen: int
    net_fen: int
    status_label: str
    tone: str
    requested_at: dt.datetime
    note: str


def withdrawal_rows(withdrawals: Iterable) -> list[WithdrawalRow]:
    rows = []
    for w in withdrawals:
        status = WithdrawalStatus(w.status)
        note = ""
        if status == WithdrawalStatus.PAID and w.paid_at:
            note = f"{w.paid_at.astimezone(domain.BEIJING):%m-%d %H:%M} 到账"
        elif w.failure_reason:
            note = w.failure_reason
        rows.append(
            WithdrawalRow(
                ref=w.ref,
                amount_fen=w.amount_fen,
                fee_fen=w.fee_fen,
                net_fen=w.net_fen,
                status_label=domain.WITHDRAWAL_LABELS[status],
                tone=_WITHDRAWAL_TONES[status],
                requested_at=w.requested_at,
                note=note,
            )
        )
    return rows


def fee_rule_text() -> str:
    return (
        f"单笔至少 {yuan(domain.MIN_WITHDRAWAL_FEN)}，手续费 "
        f"{domain.WITHDRAWAL_FEE_PERMILLE / 10:g}%（最低 {yuan(domain.MIN_WITHDRAWAL_FEE_FEN)}）"
    )


def fee_example(withdrawable_fen: int) -> tuple[int, int] | None:
    """(fee, net) of withdrawing everything withdrawable, when that is allowed."""
    if withdrawable_fen < domain.MIN_WITHDRAWAL_FEN:
        return None
    fee = domain.withdrawal_fee_fen(withdrawable_fen)
    return fee, withdrawable_fen - fee


# ---------------------------------------------------------------- shop


@dataclass(frozen=True)
class ShopRow:
    plan_code: str
    plan_name: str
    carrier_name: str
    monthly_fee_fen: int
    first_topup_fen: int
    max_markup_fen: int
    markup: str  # yuan as typed (the form's value)
    in_shop: bool
    allowed: bool
    why_not: str


def shop_rows(products: Iterable, *, form: dict | None = None) -> list[ShopRow]:
    """The products with the agent's choices, or what the form sent back (after an error)."""
    rows = []
    for p in products:
        if form is not None:
            in_shop = p.plan_code in form["items"]
            markup = form["markups"].get(p.plan_code, "")
        else:
            in_shop = p.in_shop
            markup = f"{p.markup_fen // 100}.{p.markup_fen % 100:02d}" if p.markup_fen else "0"
        rows.append(
            ShopRow(
                plan_code=p.plan_code,
                plan_name=p.plan_name,
                carrier_name=p.carrier_name,
                monthly_fee_fen=p.monthly_fee_fen,
                first_topup_fen=p.first_topup_fen,
                max_markup_fen=p.max_markup_fen,
                markup=markup,
                in_shop=in_shop and p.allowed,
                allowed=p.allowed,
                why_not=p.why_not,
            )
        )
    return rows


POSTER_HEADLINE = "正规运营商号卡 · 大流量低月租 · 在线选号包邮到家"


def poster_products(items: Iterable[dict]) -> list[tuple[str, str]]:
    """(name, price) lines of the poster: the monthly fee of each product in the shop."""
    return [(item["plan"].name, f"{yuan(item['plan'].monthly_fee_fen)}/月") for item in items]
