"""Pure rules of sponsored data (后向流量): the 统一社会信用代码 of a sponsor, the states of
sponsors and campaigns, eligibility and the arithmetic of budget slices. No DB, no clock."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from django.db import models

from haoka.core import states
from haoka.core.clock import BEIJING
from haoka.core.errors import IllegalTransition, ValidationError

# ---------------------------------------------------------------- 统一社会信用代码 (USCC)
# GB 32100-2015: 18 characters from a 31-character alphabet (digits and the capitals but
# I O Z S V): 1 registration authority, 1 institution type, 6 administrative division
# (GB/T 2260), 9 organization code (GB 11714: 8 characters and their own check), 1 check
# character over the first 17.

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH = 18
#: Registration authority (登记管理部门) -> the institution types (机构类别) it registers.
USCC_KINDS: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理的群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "1234569",  # 司法行政: 律师事务所, 公证处, 基层法律服务所, 司法鉴定, 仲裁委员会...
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国/港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 市场监管（工商）: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他
}
#: The first two digits of a GB/T 2260 division (10: national, for central registrations).
PROVINCE_PREFIXES = frozenset(
    {"10", "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"}
    | {"37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"}
    | {"63", "64", "65", "71", "81", "82"}
)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, ...


class InvalidUscc(ValidationError):
    code = "invalid_uscc"
    message = "统一社会信用代码不正确"


def _org_value(char: str) -> int:
    """A character's value in GB 11714's check: digits as themselves, A=10 ... Z=35."""
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def organization_check(body: str) -> str:
    """The check character of the 8-character body of an organization code (GB 11714):
    11 - (sum of weighted values mod 11), 10 written X and 11 written 0."""
    total = sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_check(first17: str) -> str:
    """The 18th character of a USCC (GB 32100-2015): 31 - (sum of value x 3^i mod 31, mod 31),
    31 written 0."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(raw: object) -> str:
    """The code, upper-cased and stripped, when it is a valid 统一社会信用代码. Raises
    InvalidUscc with the ``reason`` (length, alphabet, authority, kind, division,
    organization_check, check)."""
    text = str(raw if isinstance(raw, str) else "").strip().upper()
    if len(text) != USCC_LENGTH:
        raise InvalidUscc("统一社会信用代码应为 18 位", reason="length")
    if any(c not in USCC_ALPHABET for c in text):
        raise InvalidUscc("统一社会信用代码含有不允许的字符", reason="alphabet")
    kinds = USCC_KINDS.get(text[0])
    if kinds is None:
        raise InvalidUscc("登记管理部门代码不正确", reason="authority")
    if text[1] not in kinds:
        raise InvalidUscc("机构类别代码不正确", reason="kind")
    division = text[2:8]
    if not division.isdigit() or division[:2] not in PROVINCE_PREFIXES:
        raise InvalidUscc("登记管理机关行政区划码不正确", reason="division")
    if organization_check(text[8:16]) != text[16]:
        raise InvalidUscc("组织机构代码校验码不正确", reason="organization_check")
    if uscc_check(text[:17]) != text[17]:
        raise InvalidUscc("统一社会信用代码校验码不正确", reason="check")
    return text


# ---------------------------------------------------------------- sponsors


class SponsorKind(models.TextChoices):
    APP = "APP", "应用"
    ENTERPRISE = "ENTERPRISE", "企业"
    MERCHANT = "MERCHANT", "商户"


class SponsorStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class SponsorStateConflict(IllegalTransition):
    message = "后向客户的状态不允许此操作"


#: A rejected company may apply again (its USCC stays its own): REJECTED -> PENDING.
SPONSOR_MACHINE = states.Machine(
    SponsorStatus,
    {
        SponsorStatus.PENDING: {SponsorStatus.APPROVED, SponsorStatus.REJECTED},
        SponsorStatus.APPROVED: set(),
        SponsorStatus.REJECTED: {SponsorStatus.PENDING},
    },
    error=SponsorStateConflict,
    labels={
        SponsorStatus.PENDING: "待审核",
        SponsorStatus.APPROVED: "已通过",
        SponsorStatus.REJECTED: "已驳回",
    },
)

SPONSOR_ID_PREFIX, CAMPAIGN_ID_PREFIX = "SP", "CP"
_PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read aloud safely
PUBLIC_ID_LENGTH = 12


def new_public_id(prefix: str) -> str:
    """``SP`` or ``CP`` and 10 upper-case letters and digits (random: ids reveal no count)."""
    return prefix + "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(10))


class InvalidCompany(ValidationError):
    code = "invalid_sponsor_application"
    message = "申请信息不完整或不正确"


def check_company_name(raw: object) -> str:
    """2-100 characters after stripping. Raises InvalidCompany."""
    text = " ".join(str(raw if isinstance(raw, str) else "").split())
    if not 2 <= len(text) <= 100:
        raise InvalidCompany("企业名称须为 2 到 100 个字", field="company_name")
    return text


def check_contact_name(raw: object) -> str:
    """1-40 characters after stripping. Raises InvalidCompany."""
    text = " ".join(str(raw if isinstance(raw, str) else "").split())
    if not 1 <= len(text) <= 40:
        raise InvalidCompany("联系人姓名须为 1 到 40 个字", field="contact_name")
    return text


# ---------------------------------------------------------------- wallet

#: The low-balance alert's default threshold (¥500; a field on each sponsor).
LOW_BALANCE_DEFAULT_FEN = 500_00
TOPUP_MIN_FEN, TOPUP_MAX_FEN = 100_00, 1_000_000_00  # ¥100 - ¥1,000,000 per top-up


class TopUpStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    FAILED = "FAILED"


class TopUpStateConflict(IllegalTransition):
    message = "充值单状态不允许此操作"


#: FAILED -> PAID: the gateway took the money after its start failed (money is never ignored).
TOPUP_MACHINE = states.Machine(
    TopUpStatus,
    {
        TopUpStatus.PENDING: {TopUpStatus.PAID, TopUpStatus.FAILED},
        TopUpStatus.PAID: set(),
        TopUpStatus.FAILED: {TopUpStatus.PAID},
    },
    error=TopUpStateConflict,
    labels={TopUpStatus.PENDING: "待支付", TopUpStatus.PAID: "已到账", TopUpStatus.FAILED: "失败"},
)


def low_balance_crossed(*, before_fen: int, after_fen: int, threshold_fen: int) -> bool:
    """Whether a wallet moving from ``before_fen`` to ``after_fen`` went below the threshold
    (the alert fires once per crossing: a wallet already below it says nothing more)."""
    return before_fen >= threshold_fen > after_fen


# ---------------------------------------------------------------- campaigns


class CampaignKind(models.TextChoices):
    APP_FREE_FLOW = "APP_FREE_FLOW", "定向免流"
    DATA_REWARD = "DATA_REWARD", "流量红包"
    ENTERPRISE_POOL = "ENTERPRISE_POOL", "企业流量池"
    CAMARA_SESSION = "CAMARA_SESSION", "CAMARA 赞助会话"


class CampaignStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    EXHAUSTED = "EXHAUSTED"  # no budget left to slice; ACTIVE again when budget returns
    ENDED = "ENDED"


class CampaignStateConflict(IllegalTransition):
    message = "活动状态不允许此操作"


_C = CampaignStatus
CAMPAIGN_MACHINE = states.Machine(
    CampaignStatus,
    {
        _C.ACTIVE: {_C.PAUSED, _C.EXHAUSTED, _C.ENDED},
        _C.PAUSED: {_C.ACTIVE, _C.ENDED},
        _C.EXHAUSTED: {_C.ACTIVE, _C.PAUSED, _C.ENDED},
        _C.ENDED: set(),
    },
    error=CampaignStateConflict,
    labels={_C.ACTIVE: "进行中", _C.PAUSED: "已暂停", _C.EXHAUSTED: "预算用尽", _C.ENDED: "已结束"},
)


class InvalidCampaign(ValidationError):
    code = "invalid_campaign"
    message = "活动参数不正确"


MAX_PRICE_FEN_PER_GB = 100_000  # ¥1,000 a GB: far beyond any price; catches unit slips
MAX_CAP_MB = 1024 * 1024  # 1 TB a line a month
MAX_LIST = 200  # plans or provinces an eligibility may list


def check_eligibility(raw: object) -> dict:
    """One of {"all": true} | {"opted_in": true} | {"plans": [codes]} | {"provinces":
    [names]} (lists non-empty, at most MAX_LIST, strings); the lists de-duplicated and sorted.
    Province names are compared as the caller normalizes them. Raises InvalidCampaign."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise InvalidCampaign(
            "eligibility 须为 all、opted_in、plans、provinces 之一", field="eligibility"
        )
    ((key, value),) = raw.items()
    if key in ("all", "opted_in"):
        if value is not True:
            raise InvalidCampaign(f"eligibility.{key} 须为 true", field="eligibility")
        return {key: True}
    if key in ("plans", "provinces"):
        ok = isinstance(value, list) and 0 < len(value) <= MAX_LIST
        if not ok or not all(isinstance(v, str) and 0 < len(v.strip()) <= 40 for v in value):
            raise InvalidCampaign(f"eligibility.{key} 须为非空的名称列表", field="eligibility")
        return {key: sorted({v.strip() for v in value})}
    raise InvalidCampaign(
        "eligibility 须为 all、opted_in、plans、provinces 之一", field="eligibility"
    )


def eligible(eligibility: dict, *, plan_code: str, province: str, opted_in: bool) -> bool:
    """Whether a line with this plan and 归属地 province (short name), opted in to the
    campaign or not, may draw on it."""
    if eligibility.get("all"):
        return True
    if eligibility.get("opted_in"):
        return opted_in
    if "plans" in eligibility:
        return plan_code in eligibility["plans"]
    return bool(province) and province in eligibility.get("provinces", ())


# ---------------------------------------------------------------- budget slices

GB = 1 << 30
MB = 1 << 20
#: Budget shards of a campaign: lines spread over them, so no row serializes a campaign.
SHARDS = 16
#: The most a line takes at once; it comes back for more as it uses it.
SLICE_BYTES = 100 * MB


def split(total_fen: int, parts: int) -> list[int]:
    """``total_fen`` in ``parts`` near-equal non-negative shares summing to it exactly."""
    if total_fen < 0 or parts < 1:
        raise ValueError("a budget splits into non-negative shares")
    base, extra = divmod(total_fen, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def home_shard(line_id: int, shards: int) -> int:
    """The shard a line draws on first (a fixed spread of ids: Knuth's multiplicative
    hash, so neighbouring ids land apart)."""
    return ((line_id * 2654435761) & 0xFFFFFFFF) % shards


def money_for(bytes_: int, price_fen_per_gb: int) -> int:
    """What ``bytes_`` of a slice hold at the price: rounded up (the budget never pays less
    than a slice may cost)."""
    return -(-bytes_ * price_fen_per_gb // GB)


def affordable_bytes(available_fen: int, price_fen_per_gb: int) -> int:
    """The most bytes whose :func:`money_for` fits in ``available_fen``."""
    return available_fen * GB // price_fen_per_gb


def charge_for(used_bytes: int, price_fen_per_gb: int, held_fen: int) -> int:
    """What ``used_bytes`` of a slice cost at the price on their own, rounded half up, never
    more than the slice holds (a slice settled alone; see :func:`cumulative_charge`)."""
    return min(held_fen, rounded_fen(used_bytes, price_fen_per_gb))


def rounded_fen(bytes_: int, price_fen_per_gb: int) -> int:
    """``bytes_`` at the price, rounded half up to the fen."""
    return (bytes_ * price_fen_per_gb * 2 + GB) // (2 * GB)


def cumulative_charge(*, used_before: int, charged_before: int, used: int, price: int) -> int:
    """What a settlement of ``used`` bytes charges when the line already used
    ``used_before`` bytes of the campaign this month, charged ``charged_before`` fen: the
    difference of the rounded cumulative totals, so that however the month's usage is split
    into slices the sponsor pays exactly round(total bytes x price). Never more than
    ceil(used x price) (what the slice holds): round(a + b) - round(a) < b + 1."""
    return rounded_fen(used_before + used, price) - charged_before


def cost_for(used_bytes: int, wholesale_fen_per_gb: int) -> int:
    """The wholesale cost of ``used_bytes``, rounded half up."""
    return (used_bytes * wholesale_fen_per_gb * 2 + GB) // (2 * GB)


def slice_size(*, want: int, cap_left: int, affordable: int, largest: int = SLICE_BYTES) -> int:
    """A slice: what the line wants, at most ``largest`` (SLICE_BYTES; a CAMARA session's
    whole volume), what is left of its cap and what the shard can pay."""
    return max(0, min(want, largest, cap_left, affordable))


def thresholds_crossed(*, budget_fen: int, available_fen: int) -> list[str]:
    """The budget thresholds a campaign has reached (held + spent = budget - available):
    THRESHOLD_80 at 80%, THRESHOLD_100 when nothing is left to slice."""
    if budget_fen <= 0:
        return []
    consumed = budget_fen - available_fen
    reached = ["THRESHOLD_80"] if consumed * 100 >= budget_fen * 80 else []
    return reached + (["THRESHOLD_100"] if available_fen <= 0 else [])


class SliceState(StrEnum):
    OPEN = "OPEN"
    SETTLED = "SETTLED"


SLICE_MACHINE = states.Machine(
    SliceState,
    {SliceState.OPEN: {SliceState.SETTLED}, SliceState.SETTLED: set()},
    labels={SliceState.OPEN: "使用中", SliceState.SETTLED: "已结算"},
)


def month_of(now: dt.datetime) -> str:
    """The Beijing month of ``now``: "2026-03"."""
    return f"{now.astimezone(BEIJING):%Y-%m}"


def month_end(now: dt.datetime) -> dt.datetime:
    """The start of the next Beijing month (the end of ``now``'s), as an aware UTC instant."""
    local = now.astimezone(BEIJING)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return nxt.astimezone(dt.UTC)


@dataclass(frozen=True)
class SliceGrant:
    """A budget slice a line took: charging turns it into a SPONSOR bucket of ``bytes`` for
    ``rating_groups`` (empty: any traffic) until ``valid_to``, and settles it with
    ``sponsors.slices.settle_slice`` when the bucket closes."""

    slice_id: int
    campaign_id: str
    sponsor_id: str
    rating_groups: tuple[int, ...]
    bytes: int
    held_fen: int
    valid_to: dt.datetime
    label: str  # "由 XX 赞助"
    shard_id: int = 0  # the budget shard it came from (locked until the taker commits)


# ---------------------------------------------------------------- 流量红包 and 企业流量池


class GrantKind(models.TextChoices):
    GENERAL = "general", "通用流量"
    TARGETED = "targeted", "定向流量"


MAX_GRANT_MB = 100 * 1024  # 100 GB in one grant: beyond any reward; catches unit slips


class InvalidGrant(ValidationError):
    code = "invalid_grant"
    message = "流量红包参数不正确"


def check_grant(*, megabytes: object, external_id: object, kind: object,
                rating_groups: list[int]) -> tuple[int, str, str]:  # fmt: skip
    """(megabytes, external_id, kind) of a grant request: 1..MAX_GRANT_MB whole megabytes,
    an external id of 1-64 printable characters, kind general or targeted (targeted only
    for a campaign that lists rating groups). Raises InvalidGrant."""
    if type(megabytes) is not int or not 0 < megabytes <= MAX_GRANT_MB:
        raise InvalidGrant(f"megabytes 须为 1 到 {MAX_GRANT_MB} 的整数", field="megabytes")
    text = str(external_id if isinstance(external_id, str) else "").strip()
    if not 0 < len(text) <= 64 or not text.isprintable():
        raise InvalidGrant("external_id 须为 1 到 64 个可见字符", field="external_id")
    if kind not in GrantKind.values:
        raise InvalidGrant("kind 须为 general 或 targeted", field="kind")
    if kind == GrantKind.TARGETED and not rating_groups:
        raise InvalidGrant("该活动未列出费率组，不能发放定向流量", field="kind")
    return megabytes, text, str(kind)


def grant_rating_groups(kind: str, campaign_groups: list[int]) -> tuple[int, ...]:
    """The rating groups a grant's bucket covers: the campaign's for a targeted grant,
    none (any traffic) for a general one."""
    return tuple(campaign_groups) if kind == GrantKind.TARGETED else ()


class MemberStatus(StrEnum):
    CODE_SENT = "CODE_SENT"
    ACTIVE = "ACTIVE"
    LEFT = "LEFT"
    REMOVED = "REMOVED"


class MemberStateConflict(IllegalTransition):
    code = "member_state_conflict"
    message = "成员状态不允许此操作"


_M = MemberStatus
#: A line that left or was removed may be invited again (a new code): back to CODE_SENT.
MEMBER_MACHINE = states.Machine(
    MemberStatus,
    {
        _M.CODE_SENT: {_M.ACTIVE, _M.REMOVED, _M.LEFT},
        _M.ACTIVE: {_M.LEFT, _M.REMOVED},
        _M.LEFT: {_M.CODE_SENT},
        _M.REMOVED: {_M.CODE_SENT},
    },
    error=MemberStateConflict,
    labels={_M.CODE_SENT: "待确认", _M.ACTIVE: "已加入", _M.LEFT: "已退出", _M.REMOVED: "已移除"},
)
#: A consent code is good for 10 minutes and 5 tries.
CODE_TTL = dt.timedelta(minutes=10)
CODE_TRIES = 5
