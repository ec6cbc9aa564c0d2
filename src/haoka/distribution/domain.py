"""Pure rules of distribution (号卡村 S2B2C): agent tiers, commission terms and what a sale
earns, the commission entry's states, the hold before it is settled, credit scores,
self-dealing signals and withdrawal fees.

No database, no clock: ``now`` is passed in. Money is integer fen; shares are basis points
(1 bp = 0.01 %), rounded down (the platform never pays a fraction of a fen it does not owe).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from haoka.core import states
from haoka.core.errors import Conflict, IllegalTransition, ValidationError

BEIJING = ZoneInfo("Asia/Shanghai")

#: Two levels at most (agent and sub-agent): a sub-agent cannot recruit (anti-pyramid).
MAX_LEVEL = 2
#: Settled commission becomes withdrawable this long after settlement (T+7).
WITHDRAW_COOLDOWN = dt.timedelta(days=7)
#: Withdrawals: the least one can ask for, and the fee (per mille of the amount, at least
#: the minimum fee).
MIN_WITHDRAWAL_FEN = 10_00
WITHDRAWAL_FEE_PERMILLE = 6
MIN_WITHDRAWAL_FEE_FEN = 1_00
#: A markup an agent sets on a product can never exceed this, whatever staff allow.
MARKUP_CEILING_FEN = 200_00


class AgentStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    FROZEN = "FROZEN"


AGENT_LABELS = {
    AgentStatus.PENDING: "待审核",
    AgentStatus.APPROVED: "正常",
    AgentStatus.REJECTED: "未通过",
    AgentStatus.FROZEN: "已冻结",
}
AGENT_TRANSITIONS: dict[AgentStatus, frozenset[AgentStatus]] = {
    AgentStatus.PENDING: frozenset({AgentStatus.APPROVED, AgentStatus.REJECTED}),
    AgentStatus.APPROVED: frozenset({AgentStatus.FROZEN}),
    AgentStatus.FROZEN: frozenset({AgentStatus.APPROVED}),
    AgentStatus.REJECTED: frozenset({AgentStatus.PENDING}),  # may apply again
}


class SaleState(StrEnum):
    OPEN = "OPEN"
    ACTIVATED = "ACTIVATED"
    ENDED = "ENDED"


SALE_LABELS = {
    SaleState.OPEN: "进行中",
    SaleState.ACTIVATED: "已激活",
    SaleState.ENDED: "已销户/转出",
}


class SaleStateConflict(IllegalTransition):
    code = "sale_state_conflict"
    message = "销售记录的状态不允许此变更"


#: A sale is OPEN until its line is activated; the line's end (or an order that never made a
#: line) ends it.
SALE_MACHINE = states.Machine(
    SaleState,
    {
        SaleState.OPEN: {SaleState.ACTIVATED, SaleState.ENDED},
        SaleState.ACTIVATED: {SaleState.ENDED},
        SaleState.ENDED: set(),
    },
    error=SaleStateConflict,
    labels=SALE_LABELS,
)


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


TIER_ORDER = {Tier.A: 0, Tier.B: 1, Tier.C: 2, Tier.D: 3}
#: How long commission stays PENDING (clawback possible) before it is settled, by tier.
HOLD_DAYS = {Tier.A: 3, Tier.B: 7, Tier.C: 15, Tier.D: 30}
TIER_LABELS = {
    Tier.A: "A 级（优秀）",
    Tier.B: "B 级（良好）",
    Tier.C: "C 级（一般）",
    Tier.D: "D 级（受限）",
}
#: A new agent starts here until the first daily credit run.
NEW_AGENT_TIER = Tier.C
NEW_AGENT_SCORE = 60


def tier_at_least(tier: str, minimum: str) -> bool:
    """A is the best tier: ``tier_at_least("B", "C")`` is True."""
    return TIER_ORDER[Tier(tier)] <= TIER_ORDER[Tier(minimum)]


class Kind(StrEnum):
    ACTIVATION = "ACTIVATION"  # 秒返
    FIRST_TOPUP = "FIRST_TOPUP"  # 首充返
    NEXT_MONTH = "NEXT_MONTH"  # 次月返
    RECURRING = "RECURRING"  # 月租分成
    OVERRIDE = "OVERRIDE"  # the parent agent's share of a sub-agent's sale
    MARKUP = "MARKUP"  # the agent's markup, paid by the customer


KIND_LABELS = {
    Kind.ACTIVATION: "激活秒返",
    Kind.FIRST_TOPUP: "首充返",
    Kind.NEXT_MONTH: "次月返",
    Kind.RECURRING: "月租分成",
    Kind.OVERRIDE: "团队奖励",
    Kind.MARKUP: "店铺加价",
}
#: Kinds a staff rule can configure. There is deliberately no kind for recruiting: commission
#: is paid only on real sales (anti-pyramid).
RULE_KINDS = (Kind.ACTIVATION, Kind.FIRST_TOPUP, Kind.NEXT_MONTH, Kind.RECURRING, Kind.OVERRIDE)


class EntryStatus(StrEnum):
    PENDING = "PENDING"
    SETTLED = "SETTLED"
    WITHDRAWABLE = "WITHDRAWABLE"
    CLAWED_BACK = "CLAWED_BACK"


ENTRY_LABELS = {
    EntryStatus.PENDING: "待结算",
    EntryStatus.SETTLED: "已结算",
    EntryStatus.WITHDRAWABLE: "可提现",
    EntryStatus.CLAWED_BACK: "已追回",
}
ENTRY_TRANSITIONS: dict[EntryStatus, frozenset[EntryStatus]] = {
    EntryStatus.PENDING: frozenset({EntryStatus.SETTLED, EntryStatus.CLAWED_BACK}),
    # After settlement only fraud claws back.
    EntryStatus.SETTLED: frozenset({EntryStatus.WITHDRAWABLE, EntryStatus.CLAWED_BACK}),
    EntryStatus.WITHDRAWABLE: frozenset({EntryStatus.CLAWED_BACK}),
    EntryStatus.CLAWED_BACK: frozenset(),
}


class EntryStateConflict(IllegalTransition):
    """A commission entry's move not in ``ENTRY_TRANSITIONS`` (code ``illegal_transition``)."""

    def __init__(self, message: str | None = None, **details: object) -> None:
        details.pop("allowed", None)  # the details API clients have always seen
        if message is None and {"current", "target"} <= details.keys():
            before, after = (ENTRY_LABELS[EntryStatus(details[k])] for k in ("current", "target"))
            message = f"佣金状态不能从{before}变为{after}"
        super().__init__(message, **details)


class AgentStateConflict(IllegalTransition):
    """An agent's move not in ``AGENT_TRANSITIONS`` (code ``illegal_transition``)."""

    def __init__(self, message: str | None = None, **details: object) -> None:
        details.pop("allowed", None)  # the details API clients have always seen
        if message is None and {"current", "target"} <= details.keys():
            before, after = (AGENT_LABELS[AgentStatus(details[k])] for k in ("current", "target"))
            message = f"代理状态不能从{before}变为{after}"
        super().__init__(message, **details)


ENTRY_MACHINE = states.Machine(
    EntryStatus, ENTRY_TRANSITIONS, error=EntryStateConflict, labels=ENTRY_LABELS
)
AGENT_MACHINE = states.Machine(
    AgentStatus, AGENT_TRANSITIONS, error=AgentStateConflict, labels=AGENT_LABELS
)


def check_entry_transition(*, current: str, target: str) -> None:
    """Raises EntryStateConflict unless ``current -> target`` is in the table (ValueError for
    a state that is not one)."""
    ENTRY_MACHINE.check(current=EntryStatus(current), target=EntryStatus(target))


def check_agent_transition(*, current: str, target: str) -> None:
    """Raises AgentStateConflict unless ``current -> target`` is in the table (ValueError for
    a state that is not one)."""
    AGENT_MACHINE.check(current=AgentStatus(current), target=AgentStatus(target))


class WithdrawalStatus(StrEnum):
    REQUESTED = "REQUESTED"
    PAYING = "PAYING"
    PAID = "PAID"
    FAILED = "FAILED"
    REJECTED = "REJECTED"


WITHDRAWAL_LABELS = {
    WithdrawalStatus.REQUESTED: "待审核",
    WithdrawalStatus.PAYING: "打款中",
    WithdrawalStatus.PAID: "已到账",
    WithdrawalStatus.FAILED: "打款失败（已退回）",
    WithdrawalStatus.REJECTED: "已驳回（已退回）",
}
WITHDRAWAL_OPEN = frozenset({WithdrawalStatus.REQUESTED, WithdrawalStatus.PAYING})
WITHDRAWAL_TRANSITIONS: dict[WithdrawalStatus, frozenset[WithdrawalStatus]] = {
    WithdrawalStatus.REQUESTED: frozenset({WithdrawalStatus.PAYING, WithdrawalStatus.REJECTED}),
    WithdrawalStatus.PAYING: frozenset({WithdrawalStatus.PAID, WithdrawalStatus.FAILED}),
    WithdrawalStatus.PAID: frozenset(),
    WithdrawalStatus.FAILED: frozenset(),
    WithdrawalStatus.REJECTED: frozenset(),
}


class WithdrawalAlreadyDecided(IllegalTransition):
    code = "withdrawal_already_decided"
    message = "该提现申请已处理，不能重复审核"

    def __init__(self, message: str | None = None, **details: object) -> None:
        details.pop("allowed", None)  # the details API clients have always seen
        if message is None and "current" in details and "target" in details:
            label = WITHDRAWAL_LABELS[WithdrawalStatus(details["current"])]
            message = f"该提现申请{label}，不能再变更"
        super().__init__(message, **details)


WITHDRAWAL_MACHINE = states.Machine(
    WithdrawalStatus,
    WITHDRAWAL_TRANSITIONS,
    error=WithdrawalAlreadyDecided,
    labels=WITHDRAWAL_LABELS,
)


# ---------------------------------------------------------------------------- terms


class InvalidRule(ValidationError):
    code = "commission_rule_invalid"
    message = "佣金规则无效"


@dataclass(frozen=True)
class RuleRow:
    """One staff rule as stored: ``tier`` "" means every tier."""

    plan_code: str
    tier: str
    kind: str
    amount_fen: int = 0
    rate_bp: int = 0
    threshold_fen: int = 0
    months: int = 0
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None


def check_rule(rule: RuleRow) -> None:
    """Raises InvalidRule for a rule that could not be applied as written."""
    if rule.kind not in RULE_KINDS:
        raise InvalidRule("不支持的佣金类型（不设拉新奖励）", kind=rule.kind)
    if rule.tier and rule.tier not in Tier.__members__:
        raise InvalidRule("等级只能是 A、B、C、D 或留空", tier=rule.tier)
    if rule.amount_fen < 0 or rule.rate_bp < 0 or rule.threshold_fen < 0 or rule.months < 0:
        raise InvalidRule("金额、比例、门槛和月数不能为负")
    if rule.rate_bp > 10_000:
        raise InvalidRule("比例不能超过 100%", rate_bp=rule.rate_bp)
    if rule.kind in (Kind.RECURRING, Kind.OVERRIDE) and rule.amount_fen:
        raise InvalidRule("月租分成和团队奖励按比例计算，不设固定金额")
    if rule.kind in (Kind.ACTIVATION, Kind.FIRST_TOPUP, Kind.NEXT_MONTH) and rule.rate_bp:
        raise InvalidRule("激活、首充和次月返按固定金额计算，不设比例")
    if rule.kind == Kind.RECURRING and rule.rate_bp and not rule.months:
        raise InvalidRule("月租分成需要设置分成月数")
    if rule.valid_from and rule.valid_to and rule.valid_to <= rule.valid_from:
        raise InvalidRule("结束时间必须晚于开始时间")


@dataclass(frozen=True)
class Terms:
    """What one sale earns, fixed when the order is created (later rule changes never move
    old commission). ``margin_fen`` caps everything paid for the sale, both levels together
    (the customer-paid markup aside)."""

    margin_fen: int = 0
    activation_fen: int = 0
    first_topup_fen: int = 0
    first_topup_threshold_fen: int = 0
    next_month_fen: int = 0
    recurring_bp: int = 0
    recurring_months: int = 0
    override_bp: int = 0
    markup_fen: int = 0

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> Terms:
        names = cls.__dataclass_fields__
        return cls(**{k: int(v) for k, v in data.items() if k in names})


def _in_force(rule: RuleRow, at: dt.datetime) -> bool:
    return (rule.valid_from is None or rule.valid_from <= at) and (
        rule.valid_to is None or at < rule.valid_to
    )


def pick_rule(rules: Iterable[RuleRow], *, plan_code: str, tier: str, kind: str, at) -> RuleRow:
    """The rule in force for a plan, tier and kind: a rule for the tier beats one for every
    tier; a rule for the plan beats one for every plan ("*"); then the latest start wins.
    No rule: nothing is paid (a zero rule)."""
    best: tuple | None = None
    chosen = RuleRow(plan_code=plan_code, tier=tier, kind=kind)
    for rule in rules:
        if rule.kind != kind or not _in_force(rule, at):
            continue
        if rule.plan_code not in (plan_code, "*") or rule.tier not in (tier, ""):
            continue
        start = rule.valid_from or dt.datetime.min.replace(tzinfo=dt.UTC)
        rank = (rule.plan_code == plan_code, rule.tier == tier, start)
        if best is None or rank > best:
            best, chosen = rank, rule
    return chosen


def terms_for(
    rules: Iterable[RuleRow],
    *,
    plan_code: str,
    seller_tier: str,
    parent_tier: str | None,
    margin_fen: int,
    markup_fen: int,
    at: dt.datetime,
) -> Terms:
    """The terms of a sale by a seller of ``seller_tier`` (with a parent of ``parent_tier``,
    or none). The override is the parent's tier's rule."""
    rules = list(rules)

    def rule(kind: Kind, tier: str) -> RuleRow:
        return pick_rule(rules, plan_code=plan_code, tier=tier, kind=kind, at=at)

    first = rule(Kind.FIRST_TOPUP, seller_tier)
    recurring = rule(Kind.RECURRING, seller_tier)
    return Terms(
        margin_fen=max(0, margin_fen),
        activation_fen=rule(Kind.ACTIVATION, seller_tier).amount_fen,
        first_topup_fen=first.amount_fen,
        first_topup_threshold_fen=first.threshold_fen,
        next_month_fen=rule(Kind.NEXT_MONTH, seller_tier).amount_fen,
        recurring_bp=recurring.rate_bp,
        recurring_months=recurring.months,
        override_bp=rule(Kind.OVERRIDE, parent_tier).rate_bp if parent_tier else 0,
        markup_fen=max(0, markup_fen),
    )


# ---------------------------------------------------------------------------- accruals


@dataclass(frozen=True)
class Accrual:
    """One commission entry to post: who (SELLER or PARENT), why, how much, when it may settle,
    and its idempotency key."""

    to: str  # "SELLER" | "PARENT"
    kind: Kind
    amount_fen: int
    settle_after: dt.datetime
    key: str
    memo: str
    source_key: str = ""  # for an override: the key of the seller's entry it follows
    capped: bool = field(default=False, compare=False)


def share(amount_fen: int, rate_bp: int) -> int:
    """``rate_bp`` basis points of an amount, rounded down (ROUND_DOWN, the one place)."""
    if amount_fen <= 0 or rate_bp <= 0:
        return 0
    return amount_fen * rate_bp // 10_000


def hold_until(*, at: dt.datetime, tier: str) -> dt.datetime:
    return at + dt.timedelta(days=HOLD_DAYS[Tier(tier)])


def month_after_next_start(at: dt.datetime) -> dt.datetime:
    """00:00 Beijing on the first day of the month after the one following ``at``: 次月返 is
    settled once the whole month after activation has passed."""
    local = at.astimezone(BEIJING)
    year, month = local.year, local.month + 2
    if month > 12:
        year, month = year + 1, month - 12
    return dt.datetime(year, month, 1, tzinfo=BEIJING).astimezone(dt.UTC)


def months_between(start: dt.datetime, month: dt.date) -> int:
    """How many Beijing calendar months ``month`` is after the month of ``start`` (0: the same
    month)."""
    local = start.astimezone(BEIJING)
    return (month.year - local.year) * 12 + month.month - local.month


def _with_override(
    seller: Accrual | None, *, terms: Terms, has_parent: bool, room_fen: int
) -> list[Accrual]:
    """The seller's accrual and, for a sub-agent's sale, the parent's override on it, both
    inside the room left under the margin (the seller first)."""
    if seller is None or seller.amount_fen <= 0:
        return []
    out: list[Accrual] = []
    amount = min(seller.amount_fen, room_fen)
    if amount <= 0:
        return []
    first = Accrual(
        to="SELLER",
        kind=seller.kind,
        amount_fen=amount,
        settle_after=seller.settle_after,
        key=seller.key,
        memo=seller.memo,
        capped=amount < seller.amount_fen,
    )
    out.append(first)
    override = share(amount, terms.override_bp) if has_parent else 0
    override = min(override, room_fen - amount)
    if override > 0:
        out.append(
            Accrual(
                to="PARENT",
                kind=Kind.OVERRIDE,
                amount_fen=override,
                settle_after=seller.settle_after,
                key=f"{seller.key}:override",
                memo=f"下级{KIND_LABELS[seller.kind]}团队奖励",
                source_key=seller.key,
            )
        )
    return out


@dataclass(frozen=True)
class Sale:
    """What the rules need to know about one sale."""

    order_ref: str
    terms: Terms
    seller_tier: str
    has_parent: bool
    committed_fen: int  # commission already counted against the margin


def room(sale: Sale) -> int:
    return max(0, sale.terms.margin_fen - sale.committed_fen)


def on_activation(sale: Sale, *, at: dt.datetime) -> list[Accrual]:
    """秒返 now (settled after the tier's hold), 次月返 pending until the month after
    activation has passed, the customer-paid markup; each with the parent's override."""
    hold = hold_until(at=at, tier=sale.seller_tier)
    out: list[Accrual] = []
    left = room(sale)
    for kind, amount, settle_after, memo in (
        (Kind.ACTIVATION, sale.terms.activation_fen, hold, "激活秒返"),
        (
            Kind.NEXT_MONTH,
            sale.terms.next_month_fen,
            max(hold, month_after_next_start(at)),
            "次月返",
        ),
    ):
        seller = Accrual(
            to="SELLER",
            kind=kind,
            amount_fen=amount,
            settle_after=settle_after,
            key=f"{kind}:{sale.order_ref}",
            memo=memo,
        )
        got = _with_override(seller, terms=sale.terms, has_parent=sale.has_parent, room_fen=left)
        left -= sum(a.amount_fen for a in got)
        out.extend(got)
    if sale.terms.markup_fen > 0:  # the customer paid it: outside the margin, no override
        out.append(
            Accrual(
                to="SELLER",
                kind=Kind.MARKUP,
                amount_fen=sale.terms.markup_fen,
                settle_after=hold,
                key=f"{Kind.MARKUP}:{sale.order_ref}",
                memo="店铺加价收入",
            )
        )
    return out


def on_first_topup(sale: Sale, *, amount_fen: int, at: dt.datetime) -> list[Accrual]:
    """首充返 when the line's first top-up reaches the threshold."""
    if amount_fen < max(1, sale.terms.first_topup_threshold_fen):
        return []
    seller = Accrual(
        to="SELLER",
        kind=Kind.FIRST_TOPUP,
        amount_fen=sale.terms.first_topup_fen,
        settle_after=hold_until(at=at, tier=sale.seller_tier),
        key=f"{Kind.FIRST_TOPUP}:{sale.order_ref}",
        memo=f"首充 ¥{amount_fen / 100:.2f} 返佣",
    )
    return _with_override(seller, terms=sale.terms, has_parent=sale.has_parent, room_fen=room(sale))


def on_monthly_fee(
    sale: Sale, *, activated_at: dt.datetime, month: dt.date, fee_fen: int, at: dt.datetime
) -> list[Accrual]:
    """The recurring share of the monthly fee charged for ``month``, for the first N months
    after the month of activation (the activation month's own fee, charged at activation or
    prorated, is not shared)."""
    index = months_between(activated_at, month)
    if index < 1 or index > sale.terms.recurring_months:
        return []
    seller = Accrual(
        to="SELLER",
        kind=Kind.RECURRING,
        amount_fen=share(fee_fen, sale.terms.recurring_bp),
        settle_after=hold_until(at=at, tier=sale.seller_tier),
        key=f"{Kind.RECURRING}:{sale.order_ref}:{month:%Y-%m}",
        memo=f"{month:%Y年%m月}月租分成（第 {index} 个月）",
    )
    return _with_override(seller, terms=sale.terms, has_parent=sale.has_parent, room_fen=room(sale))


# ---------------------------------------------------------------------------- agents


class InvalidPayee(ValidationError):
    code = "agent_payee_invalid"
    message = "收款账户无效"


class PayeeNameMismatch(ValidationError):
    code = "agent_payee_name_mismatch"
    message = "收款户名必须与实名认证的姓名一致"


PAYEE_CHANNELS = {"ALIPAY": "支付宝", "BANK": "银行卡"}


def check_payee(*, channel: str, account: str, payee_name: str, real_name: str) -> str:
    """The payee account, normalised. Raises InvalidPayee, PayeeNameMismatch."""
    if channel not in PAYEE_CHANNELS:
        raise InvalidPayee("收款方式只能是支付宝或银行卡", channel=channel)
    account = (account or "").strip().replace(" ", "")
    if channel == "BANK" and not (account.isdigit() and 12 <= len(account) <= 19):
        raise InvalidPayee("银行卡号应为 12–19 位数字")
    if channel == "ALIPAY" and not (4 <= len(account) <= 64):
        raise InvalidPayee("支付宝账号应为手机号或邮箱")
    if (payee_name or "").strip() != real_name:
        raise PayeeNameMismatch()
    return account


def new_code(prefix: str = "A") -> str:
    """Public agent code: prefix + 7 characters without look-alikes."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(7))


class MarkupOutOfRange(ValidationError):
    code = "shop_markup_out_of_range"
    message = "加价超出允许范围"


def check_markup(*, markup_fen: int, max_markup_fen: int) -> int:
    """Raises MarkupOutOfRange unless 0 <= markup <= the product's allowed maximum."""
    ceiling = min(max_markup_fen, MARKUP_CEILING_FEN)
    if not isinstance(markup_fen, int) or markup_fen < 0 or markup_fen > ceiling:
        raise MarkupOutOfRange(
            f"加价应在 ¥0.00 到 ¥{ceiling / 100:.2f} 之间", markup_fen=markup_fen, max_fen=ceiling
        )
    return markup_fen


# ---------------------------------------------------------------------------- withdrawals


class WithdrawalTooSmall(ValidationError):
    code = "withdrawal_too_small"
    message = "提现金额低于最低限额"


class WithdrawalExceedsBalance(Conflict):
    code = "withdrawal_exceeds_balance"
    message = "可提现余额不足"


def withdrawal_fee_fen(amount_fen: int) -> int:
    """The fee: per mille of the amount, rounded up to the fen, never below the minimum."""
    return max(MIN_WITHDRAWAL_FEE_FEN, -(-amount_fen * WITHDRAWAL_FEE_PERMILLE // 1000))


def check_withdrawal(*, amount_fen: int, withdrawable_fen: int) -> tuple[int, int]:
    """(fee, net paid out). Raises WithdrawalTooSmall, WithdrawalExceedsBalance."""
    if not isinstance(amount_fen, int) or amount_fen < MIN_WITHDRAWAL_FEN:
        raise WithdrawalTooSmall(
            f"单笔提现至少 ¥{MIN_WITHDRAWAL_FEN / 100:.2f}", min_fen=MIN_WITHDRAWAL_FEN
        )
    if amount_fen > withdrawable_fen:
        raise WithdrawalExceedsBalance(
            amount_fen=amount_fen, withdrawable_fen=max(0, withdrawable_fen)
        )
    fee = withdrawal_fee_fen(amount_fen)
    return fee, amount_fen - fee


# ---------------------------------------------------------------------------- credit


@dataclass(frozen=True)
class AgentStats:
    """An agent's record over the look-back window (own sales only)."""

    orders: int = 0
    activated: int = 0
    first_topups: int = 0
    churned_90d: int = 0  # activated lines closed or ported out within 90 days
    arrears: int = 0
    complaints: int = 0
    fraud_confirmed: int = 0
    fraud_open: int = 0


@dataclass(frozen=True)
class Factor:
    label: str
    points: int  # what this factor added (+) or took away (-)
    detail: str


@dataclass(frozen=True)
class CreditScore:
    score: int
    tier: Tier
    factors: tuple[Factor, ...]

    def as_json(self) -> list[dict]:
        return [asdict(f) for f in self.factors]


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def credit_score(stats: AgentStats) -> CreditScore:
    """A score 0-100 from the agent's record, and why. Few sales keep a new agent near the
    start score: rates only count in full from 20 orders on."""
    weight = min(1.0, stats.orders / 20)
    factors: list[Factor] = [Factor("基础分", NEW_AGENT_SCORE, "每位代理的起始分")]
    activation = _rate(stats.activated, stats.orders)
    factors.append(
        Factor(
            "激活率",
            round(weight * (activation - 0.6) * 40),
            f"{stats.activated}/{stats.orders} 单激活（{activation:.0%}）",
        )
    )
    topup = _rate(stats.first_topups, stats.activated)
    factors.append(
        Factor(
            "首充率",
            round(weight * (topup - 0.5) * 20),
            f"{stats.first_topups}/{stats.activated} 张卡首充（{topup:.0%}）",
        )
    )
    churn = _rate(stats.churned_90d, stats.activated)
    factors.append(
        Factor(
            "90 天流失率",
            -round(weight * churn * 40),
            f"{stats.churned_90d} 张卡 90 天内销户或转出",
        )
    )
    arrears = _rate(stats.arrears, stats.activated)
    factors.append(Factor("欠费率", -round(weight * arrears * 30), f"{stats.arrears} 张卡欠费"))
    factors.append(Factor("客户投诉", -min(30, 5 * stats.complaints), f"{stats.complaints} 次投诉"))
    factors.append(
        Factor(
            "风控记录",
            -min(60, 30 * stats.fraud_confirmed + 5 * stats.fraud_open),
            f"确认违规 {stats.fraud_confirmed} 次，待核查 {stats.fraud_open} 次",
        )
    )
    score = max(0, min(100, sum(f.points for f in factors)))
    return CreditScore(score=score, tier=tier_for(score), factors=tuple(factors))


def tier_for(score: int) -> Tier:
    if score >= 85:
        return Tier.A
    if score >= 70:
        return Tier.B
    if score >= 50:
        return Tier.C
    return Tier.D


# ---------------------------------------------------------------------------- fraud


class FraudStatus(StrEnum):
    OPEN = "OPEN"
    CONFIRMED = "CONFIRMED"
    DISMISSED = "DISMISSED"


class FlagDecided(IllegalTransition):
    code = "fraud_flag_decided"
    message = "该预警已处理"


#: A fraud flag waits for staff, who confirm or dismiss it once.
FRAUD_MACHINE = states.Machine(
    FraudStatus,
    {
        FraudStatus.OPEN: {FraudStatus.CONFIRMED, FraudStatus.DISMISSED},
        FraudStatus.CONFIRMED: set(),
        FraudStatus.DISMISSED: set(),
    },
    error=FlagDecided,
    labels={
        FraudStatus.OPEN: "待核查",
        FraudStatus.CONFIRMED: "确认违规",
        FraudStatus.DISMISSED: "排除",
    },
)


class FraudKind(StrEnum):
    SELF_ID = "SELF_ID"
    SELF_PHONE = "SELF_PHONE"
    SELF_ADDRESS = "SELF_ADDRESS"
    SELF_DEVICE = "SELF_DEVICE"
    SAME_ADDRESS = "SAME_ADDRESS"
    SAME_DEVICE = "SAME_DEVICE"
    ACTIVATE_THEN_CANCEL = "ACTIVATE_THEN_CANCEL"


FRAUD_LABELS = {
    FraudKind.SELF_ID: "自买自卖：客户证件与代理本人相同",
    FraudKind.SELF_PHONE: "自买自卖：客户手机号与代理本人相同",
    FraudKind.SELF_ADDRESS: "自买自卖：收货地址与代理本人相同",
    FraudKind.SELF_DEVICE: "自买自卖：下单设备与代理本人相同",
    FraudKind.SAME_ADDRESS: "同一地址大量下单",
    FraudKind.SAME_DEVICE: "同一设备大量下单",
    FraudKind.ACTIVATE_THEN_CANCEL: "养卡嫌疑：激活后短期内销户",
}
#: Orders of one agent's customers from one address or device within a day before a flag.
SAME_SOURCE_LIMIT = 3
SAME_SOURCE_WINDOW = dt.timedelta(hours=24)
#: Lines closed or ported out this soon after activation count towards 养卡.
QUICK_EXIT = dt.timedelta(days=30)
QUICK_EXIT_LIMIT = 3
QUICK_EXIT_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class Fingerprint:
    """Keyed hashes of an identity (empty when unknown); never the clear values."""

    id_hash: str = ""
    phone_hashes: frozenset[str] = frozenset()
    address_hash: str = ""
    device_hash: str = ""


def self_dealing(*, agent: Fingerprint, customer: Fingerprint) -> list[FraudKind]:
    """What the customer of a sale shares with the agent who sold it."""
    found: list[FraudKind] = []
    if agent.id_hash and agent.id_hash == customer.id_hash:
        found.append(FraudKind.SELF_ID)
    if agent.phone_hashes & customer.phone_hashes:
        found.append(FraudKind.SELF_PHONE)
    if agent.address_hash and agent.address_hash == customer.address_hash:
        found.append(FraudKind.SELF_ADDRESS)
    if agent.device_hash and agent.device_hash == customer.device_hash:
        found.append(FraudKind.SELF_DEVICE)
    return found
