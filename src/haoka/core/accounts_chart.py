"""The chart of accounts: every ledger account haoka posts to, named once.

System accounts (one each) are opened when the database is migrated or flushed
(``core.ledger.open_system_accounts``, connected to ``post_migrate`` in ``core.apps``), so no
use case opens them on its way. Accounts that belong to an owner (a line's wallet, an agent's
commission stages, a payment gateway) are named by the functions below and opened with their
owner.

The codes are stored in ``LedgerAccount.code`` and in every posting: never rename one without
a data migration.

Each account holds one unit, decided here by its code (:func:`unit_of`): money in fen (most
accounts), data in bytes (codes starting ``data_``: a line's data bank, the bytes that left
buckets for banks or points, banked bytes that expired), points (codes starting ``points_``:
an owner's points, those issued, spent, expired). A posting never mixes units
(``core.ledger.MixedUnits``), so each unit's entries sum to zero on their own
(``core.ledger.trial_balance``). The columns keep their names ``balance_fen`` and
``amount_fen``: for a non-FEN account they hold the amount in the account's unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class AccountKind(models.TextChoices):
    ASSET = "ASSET", "资产"
    LIABILITY = "LIABILITY", "负债"
    REVENUE = "REVENUE", "收入"
    EXPENSE = "EXPENSE", "费用"
    EQUITY = "EQUITY", "权益"


class LedgerUnit(models.TextChoices):
    FEN = "FEN", "分（人民币）"
    BYTES = "BYTES", "字节（流量）"
    POINTS = "POINTS", "积分"


#: Code prefixes of the accounts that do not hold fen.
_UNIT_PREFIXES = (("data_", LedgerUnit.BYTES), ("points_", LedgerUnit.POINTS))


def unit_of(code: str) -> str:
    """The unit an account holds, by its code: ``data_*`` bytes, ``points_*`` points, fen
    otherwise."""
    for prefix, unit in _UNIT_PREFIXES:
        if code.startswith(prefix):
            return unit.value
    return LedgerUnit.FEN.value


@dataclass(frozen=True)
class SystemAccount:
    code: str
    name: str
    kind: str
    #: Posted to by most sales: no cached balance (see ``core.ledger.open_account``).
    busy: bool = True


# ------------------------------------------------------------------ customers' money
CUSTOMER_PREPAYMENTS = "liability:customer_prepayments"
REFUNDS_DUE = "liability:refunds_due"
OPENING_BALANCES = "equity:opening_balances"
#: Refunds the gateway made that nobody could take back yet (a claim to recover: the gateway's
#: money went down, the debit waits here for staff; ``payments.unmatched``).
UNMATCHED_REFUNDS = "asset:unmatched_refunds"
UNMATCHED_REFUND_LOSSES = "expense:unmatched_refunds"
# ------------------------------------------------------------------ revenue
NUMBER_SALES = "revenue:number_sales"
MONTHLY_FEES = "revenue:monthly_fees"
USAGE_REVENUE = "revenue:usage"
PACK_REVENUE = "revenue:packs"
SHOP_MARKUP = "revenue:shop_markup"
WITHDRAWAL_FEES = "revenue:withdrawal_fees"
#: Data sponsors paid for (后向流量), at their campaigns' prices.
SPONSORED_DATA_REVENUE = "revenue:sponsored_data"
# ------------------------------------------------------------------ upstream
#: What the sponsored bytes cost upstream (the carrier's wholesale rate per GB), owed to the
#: carrier until settled with it: revenue minus this expense is the sponsored data's margin.
SPONSORED_DATA_WHOLESALE = "expense:sponsored_data_wholesale"
CARRIER_WHOLESALE_PAYABLE = "liability:carrier_wholesale_payable"
# ------------------------------------------------------------------ agents
COMMISSION_EXPENSE = "expense:commission"
AGENT_PAYOUTS = "liability:agent_payouts"
PAYOUT_FUNDS = "asset:payouts:sandbox"
# ------------------------------------------------------------------ data (bytes)
#: Bytes that left lines' buckets for their data banks, less those withdrawn back onto
#: buckets (debit: out of buckets; credit: back onto buckets). Gifts move bytes from bucket
#: to bucket and never post here: the bytes stay on buckets.
DATA_ON_BUCKETS = "data_float:buckets"
#: Banked bytes that expired (12 months after their deposit) unused.
DATA_BANK_EXPIRED = "data_expired:bank"
#: Bytes that left lines' buckets to become points (兑换), less those a reversal put back.
DATA_CONVERTED = "data_converted:points"
#: Bytes of a reversed conversion whose buckets had ended meanwhile: they went nowhere.
DATA_CONVERSION_LAPSED = "data_expired:conversion_reversals"
# ------------------------------------------------------------------ points
#: Points given for converted data (debit); a reversal takes them back (credit).
POINTS_ISSUED = "points_issued:conversions"
#: Points spent in the points shop.
POINTS_REDEEMED = "points_redeemed:shop"
#: Points that expired unspent, 12 months after they were earned.
POINTS_EXPIRED = "points_expired:lots"

SYSTEM_ACCOUNTS = (
    SystemAccount(CUSTOMER_PREPAYMENTS, "客户预收款", AccountKind.LIABILITY),
    SystemAccount(REFUNDS_DUE, "待退客户款", AccountKind.LIABILITY),
    SystemAccount(OPENING_BALANCES, "迁移期初余额", AccountKind.EQUITY),
    SystemAccount(UNMATCHED_REFUNDS, "未匹配退款（待查）", AccountKind.ASSET),
    SystemAccount(UNMATCHED_REFUND_LOSSES, "未追回退款损失", AccountKind.EXPENSE),
    SystemAccount(NUMBER_SALES, "靓号销售收入", AccountKind.REVENUE),
    SystemAccount(MONTHLY_FEES, "月租收入", AccountKind.REVENUE),
    SystemAccount(USAGE_REVENUE, "通信服务收入", AccountKind.REVENUE),
    SystemAccount(PACK_REVENUE, "加油包收入", AccountKind.REVENUE),
    SystemAccount(SHOP_MARKUP, "店铺加价收入", AccountKind.REVENUE),
    SystemAccount(WITHDRAWAL_FEES, "提现手续费收入", AccountKind.REVENUE),
    SystemAccount(SPONSORED_DATA_REVENUE, "后向流量收入", AccountKind.REVENUE),
    SystemAccount(SPONSORED_DATA_WHOLESALE, "后向流量批发成本", AccountKind.EXPENSE),
    SystemAccount(CARRIER_WHOLESALE_PAYABLE, "应付运营商流量批发款", AccountKind.LIABILITY),
    SystemAccount(COMMISSION_EXPENSE, "代理佣金支出", AccountKind.EXPENSE),
    SystemAccount(AGENT_PAYOUTS, "应付代理提现", AccountKind.LIABILITY),
    SystemAccount(PAYOUT_FUNDS, "付款渠道备付金（sandbox）", AccountKind.ASSET),
    SystemAccount(DATA_ON_BUCKETS, "转入流量银行的流量（字节）", AccountKind.ASSET),
    SystemAccount(DATA_BANK_EXPIRED, "流量银行过期流量（字节）", AccountKind.REVENUE),
    SystemAccount(DATA_CONVERTED, "兑换为积分的流量（字节）", AccountKind.REVENUE),
    SystemAccount(DATA_CONVERSION_LAPSED, "兑换撤回时已失效的流量（字节）", AccountKind.REVENUE),
    SystemAccount(POINTS_ISSUED, "流量兑换发放积分", AccountKind.EXPENSE),
    SystemAccount(POINTS_REDEEMED, "积分商城兑换消耗积分", AccountKind.REVENUE),
    SystemAccount(POINTS_EXPIRED, "过期积分", AccountKind.REVENUE),
)

# ------------------------------------------------------------------ accounts of an owner
LINE_WALLET_PREFIX = "liability:wallet:line:"
DATA_BANK_PREFIX = "data_bank:"
POINTS_PREFIX = "points_user:"
AGENT_STAGES = ("pending", "settled", "withdrawable")


def line_wallet(*, line_id: int) -> str:
    """A line's money wallet (a liability: the customer's money)."""
    return f"{LINE_WALLET_PREFIX}{line_id}"


def data_bank(*, line_id: int) -> str:
    """A line's data bank (流量银行), in bytes (a liability: data owed to the customer)."""
    return f"{DATA_BANK_PREFIX}{line_id}"


def user_points(*, user_id: int) -> str:
    """An owner's points (积分), in points (a liability: points owed to the customer)."""
    return f"{POINTS_PREFIX}{user_id}"


def agent_commission(*, agent_id: int, stage: str) -> str:
    """An agent's commission at ``stage``: pending | settled | withdrawable."""
    return f"liability:agent:{agent_id}:{stage}"


def gateway_funds(*, gateway: str) -> str:
    """Money a payment gateway holds for haoka until it settles."""
    return f"asset:gateway:{gateway}"


def sponsor_wallet(*, sponsor_id: str) -> str:
    """A sponsor's prepaid money, free to fund campaigns (a liability: the sponsor's money)."""
    return f"liability:sponsor:{sponsor_id}"


def sponsor_held(*, sponsor_id: str) -> str:
    """A sponsor's money committed to its campaigns' budgets (their shards and open slices)
    until it is spent or returned to the wallet."""
    return f"liability:sponsor_held:{sponsor_id}"
