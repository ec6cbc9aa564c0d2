"""Pure rules of the real-name check (实名): GB 11643-1999 ID numbers, names, age, address
normalization, photo sniffing, and the order in which the checks decide.

No database, no clock: ``today`` / ``now`` are passed in.

Names: Chinese names only — 2-20 characters, CJK ideographs (basic block and extensions,
rare characters like 䶮 included) with the middle dot ``·`` between parts of minority names
(``阿依古丽·买买提``). Latin names are refused: a foreigner has no 18-digit resident ID
with a mainland province prefix (the 外国人永久居留身份证 starts with 9), so online orders
cannot serve them anyway; they go to a carrier's shop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from haoka.catalog import domain as catalog_domain
from haoka.core import states
from haoka.core.errors import IllegalTransition, ValidationError

#: 一证五号: lines (active plus in-flight orders) one ID may hold per carrier.
LINE_LIMIT = 5
#: Velocity: this many distinct orders (this one included) from one ID, phone or address
#: within the window send the check to staff review.
VELOCITY_WINDOW = dt.timedelta(hours=24)
VELOCITY_LIMIT = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: Photos are given in this order: ID front (人像面), back (国徽面), selfie holding the ID.
PHOTO_KINDS = ("FRONT", "BACK", "SELFIE")
EARLIEST_BIRTH = dt.date(1900, 1, 1)
NAME_MIN, NAME_MAX = 2, 20

#: GB/T 2260 province-level codes (first two digits of an ID number), mainland only.
PROVINCE_CODES = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
}

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)


class KycStatus(StrEnum):
    PASSED = "PASSED"
    REJECTED = "REJECTED"
    FLAGGED = "FLAGGED"


KYC_LABELS = {
    KycStatus.PASSED: "已通过",
    KycStatus.REJECTED: "未通过",
    KycStatus.FLAGGED: "待人工审核",
}

#: The reason codes of verdicts (``Verdict.reason_code``), as staff read them.
REASON_LABELS = {
    "age_out_of_range": "年龄不符合套餐要求",
    "region_not_allowed": "地区不可办理",
    "photos_required": "须上传证件照片",
    "id_line_limit": "一证五号：已达号卡上限",
    "blacklisted_id": "身份证号在黑名单中",
    "blacklisted_phone": "手机号在黑名单中",
    "blacklisted_address": "收货地址在黑名单中",
    "velocity": "短时间内下单过多",
    "identity_mismatch": "身份核验不一致",
    "review_rejected": "人工审核未通过",
}

#: Staff review moves a FLAGGED check; anything else is decided by a (re-)check only (a new
#: verdict that replaces the record's, not a move of it).
REVIEW_TRANSITIONS = {
    KycStatus.FLAGGED: frozenset({KycStatus.PASSED, KycStatus.REJECTED}),
    KycStatus.PASSED: frozenset(),
    KycStatus.REJECTED: frozenset(),
}


class KycNotUnderReview(IllegalTransition):
    code = "kyc_not_under_review"
    message = "该实名记录不在待审核状态"

    def __init__(self, message: str | None = None, **details: object) -> None:
        details.pop("allowed", None)  # the details API clients have always seen
        super().__init__(message, **details)


REVIEW_MACHINE = states.Machine(
    KycStatus, REVIEW_TRANSITIONS, error=KycNotUnderReview, labels=KYC_LABELS
)


class ClaimStatus(StrEnum):
    """A 一证五号 slot: ACTIVE while the order (or line) holds it; RELEASED when freed. A
    re-check of the same order may take a released claim again."""

    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"


class ClaimStateConflict(IllegalTransition):
    code = "kyc_claim_state_conflict"
    message = "实名占用记录的状态不允许此变更"


CLAIM_MACHINE = states.Machine(
    ClaimStatus,
    {ClaimStatus.ACTIVE: {ClaimStatus.RELEASED}, ClaimStatus.RELEASED: {ClaimStatus.ACTIVE}},
    error=ClaimStateConflict,
    labels={ClaimStatus.ACTIVE: "占用中", ClaimStatus.RELEASED: "已释放"},
)


class InvalidIdNumber(ValidationError):
    code = "invalid_id_number"
    message = "身份证号码不正确"


class InvalidName(ValidationError):
    code = "invalid_name"
    message = "姓名须为 2-20 个汉字，少数民族姓名可用间隔号“·”分隔"


class InvalidAddress(ValidationError):
    code = "invalid_address"
    message = "收货地址不完整"


class InvalidPhoto(ValidationError):
    code = "invalid_photo"
    message = "照片须为 JPEG 或 PNG 格式"


class PhotoTooLarge(ValidationError):
    code = "photo_too_large"
    message = "每张照片不能超过 5 MB"


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    district: str
    detail: str
    receiver: str
    phone: str


@dataclass(frozen=True)
class PlanTerms:
    code: str
    min_age: int
    max_age: int
    sale_regions: tuple[str, ...] = ()
    forbidden_regions: tuple[str, ...] = ()
    requires_photos: bool = False


@dataclass(frozen=True)
class IdNumber:
    """A valid GB 11643-1999 citizen identity number. ``value`` is kept out of repr."""

    value: str = field(repr=False)
    area_code: str = field(repr=False)
    province: str
    birth_date: dt.date = field(repr=False)

    @property
    def sequence(self) -> str:
        return self.value[14:17]

    @property
    def is_male(self) -> bool:
        return int(self.value[16]) % 2 == 1


@dataclass(frozen=True)
class Photo:
    kind: str
    content: bytes = field(repr=False)
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Verdict:
    """What the checks decided: status, a stable reason code and a Chinese message."""

    status: KycStatus
    reason_code: str = ""
    message: str = "实名认证通过"


PASS = Verdict(KycStatus.PASSED)


# --- ID numbers --------------------------------------------------------------------------


def check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a 17-digit body."""
    if len(body17) != 17 or not body17.isascii() or not body17.isdigit():
        raise InvalidIdNumber(reason="format")
    total = sum(int(d) * w for d, w in zip(body17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    """Full-width digits and spaces folded, lower-case x made upper-case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or "")).upper()


def parse_id_number(raw: str, *, today: dt.date) -> IdNumber:
    """Validate an 18-character resident ID number (GB 11643-1999).

    Raises InvalidIdNumber (details ``reason``: format | area | birth_date | check_digit);
    the number itself is never put in the error.
    """
    value = normalize_id_number(raw)
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit():
        raise InvalidIdNumber("身份证号码应为 18 位，前 17 位为数字", reason="format")
    if value[17] not in "0123456789X":
        raise InvalidIdNumber("身份证号码最后一位应为数字或 X", reason="format")
    province = PROVINCE_CODES.get(value[:2])
    if province is None or value[2:4] == "00" or value[4:6] == "00":
        raise InvalidIdNumber("身份证号码的地区码无效", reason="area")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号码中的出生日期无效", reason="birth_date") from None
    if birth < EARLIEST_BIRTH or birth > today:
        raise InvalidIdNumber("身份证号码中的出生日期无效", reason="birth_date")
    if check_digit(value[:17]) != value[17]:
        raise InvalidIdNumber("身份证号码校验位不正确，请核对", reason="check_digit")
    return IdNumber(value=value, area_code=value[:6], province=province, birth_date=birth)


# --- names -------------------------------------------------------------------------------

_DOT_VARIANTS = str.maketrans(dict.fromkeys("•‧∙⋅・･．.", "·"))
_CJK = (
    r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\U00020000-\U0002a6df\U0002a700-\U0002ebef\U00030000-\U0003134f"
)
_NAME_RE = re.compile(rf"[{_CJK}]+(?:·[{_CJK}]+)*")


def normalize_name(raw: str) -> str:
    """Outer spaces dropped, the look-alike dots people type folded into ``·``."""
    return unicodedata.normalize("NFC", (raw or "").strip()).translate(_DOT_VARIANTS)


def parse_name(raw: str) -> str:
    """A Chinese name (see the module docstring). Raises InvalidName."""
    name = normalize_name(raw)
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise InvalidName(reason="length")
    if not _NAME_RE.fullmatch(name):
        raise InvalidName(reason="characters")
    return name


# --- age, plan terms ---------------------------------------------------------------------


def age_on(*, birth_date: dt.date, today: dt.date) -> int:
    """Completed years (周岁) on ``today``. A 29 February birthday counts as reached on
    1 March in common years (民法典 art. 202: no matching day -> the month's last day
    ends the year)."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def plan_verdict(*, age: int, plan: PlanTerms, address: Address) -> Verdict | None:
    """Checks 2 and 3: the plan's age range, then its sale and forbidden regions."""
    if not catalog_domain.age_allowed(age=age, min_age=plan.min_age, max_age=plan.max_age):
        return Verdict(
            KycStatus.REJECTED,
            "age_out_of_range",
            f"该套餐仅限 {plan.min_age}-{plan.max_age} 周岁用户办理，您目前 {age} 周岁",
        )
    region = catalog_domain.region_verdict(
        sale_regions=plan.sale_regions,
        forbidden_regions=plan.forbidden_regions,
        province=address.province,
        city=address.city,
    )
    if not region.allowed:
        return Verdict(KycStatus.REJECTED, "region_not_allowed", region.reason)
    return None


def check_address(address: Address) -> None:
    """Raises InvalidAddress unless province, city and detail are given."""
    missing = [f for f in ("province", "city", "detail") if not getattr(address, f).strip()]
    if missing:
        raise InvalidAddress(missing=missing)


# --- address normalization -----------------------------------------------------------------

_ADMIN_WORDS = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def _fold(text: str) -> str:
    """Full-width folded, case folded, everything but letters and digits dropped, and the
    administrative suffixes people write or leave out (省, 市, 自治区) removed."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    for word in _ADMIN_WORDS:
        kept = kept.replace(word, "")
    return kept


def normalize_address(*, province: str, city: str, district: str, detail: str) -> str:
    """One comparable string for an address, however it was split or punctuated: the
    province/city/district repeated at the start of ``detail`` is dropped, so
    "广东省 深圳市 南山区 / 科技园1号" and "广东深圳南山区科技园１号" normalize alike."""
    parts = [_fold(province), _fold(city), _fold(district)]
    region = "".join(parts)
    rest = _fold(detail)
    for start in range(len(parts)):
        prefix = "".join(parts[start:])
        if prefix and rest.startswith(prefix):
            rest = rest[len(prefix) :]
            break
    return region + rest


# --- photos --------------------------------------------------------------------------------


def sniff_image(content: bytes) -> str | None:
    """``image/jpeg`` or ``image/png`` from the magic bytes, else None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def parse_photos(photos: Sequence[bytes] | None) -> list[Photo]:
    """Photos in PHOTO_KINDS order. Raises InvalidPhoto, PhotoTooLarge."""
    photos = list(photos or [])
    if len(photos) > len(PHOTO_KINDS):
        raise InvalidPhoto(
            "最多上传 3 张照片：身份证人像面、国徽面、手持身份证照", count=len(photos)
        )
    parsed = []
    for kind, content in zip(PHOTO_KINDS, photos, strict=False):
        if not isinstance(content, bytes | bytearray):
            raise InvalidPhoto(kind=kind)
        if len(content) > MAX_PHOTO_BYTES:
            raise PhotoTooLarge(kind=kind, size=len(content), max_size=MAX_PHOTO_BYTES)
        content_type = sniff_image(bytes(content))
        if content_type is None:
            raise InvalidPhoto(kind=kind)
        content = bytes(content)
        digest = hashlib.sha256(content).hexdigest()
        parsed.append(Photo(kind, content, content_type, len(content), digest))
    return parsed


def photos_verdict(*, plan: PlanTerms, photos: Sequence[Photo]) -> Verdict | None:
    """Check 8: a plan that requires photos needs all three."""
    if plan.requires_photos and len(photos) < len(PHOTO_KINDS):
        return Verdict(
            KycStatus.REJECTED,
            "photos_required",
            "该套餐须上传身份证人像面、国徽面和手持身份证照片",
        )
    return None


# --- the remaining verdicts ------------------------------------------------------------------


#: Checks that hold one of the ID's five slots: a pass, and a check waiting for staff review
#: (an in-flight order: it takes its slot on entering review and gives it back if rejected).
SLOT_HOLDING = frozenset({KycStatus.PASSED, KycStatus.FLAGGED})


def holds_slot(status: KycStatus | str) -> bool:
    """Does a check in ``status`` count toward the ID's 一证五号 limit?"""
    return status in SLOT_HOLDING


def line_limit_verdict(*, active: int, carrier: str) -> Verdict | None:
    """Check 4 (一证五号): ``active`` lines and in-flight orders of this ID at ``carrier``."""
    if active >= LINE_LIMIT:
        return Verdict(
            KycStatus.REJECTED,
            "id_line_limit",
            f"该身份证在此运营商（{carrier}）名下已有 {active} 个号码（含办理中订单），"
            f"按一证五号规定不能再办理",
        )
    return None


BLACKLIST_VERDICTS = {
    "ID": Verdict(KycStatus.REJECTED, "blacklisted_id", "该身份证号码存在风险记录，无法在线办理"),
    "PHONE": Verdict(
        KycStatus.REJECTED, "blacklisted_phone", "该联系电话存在风险记录，无法在线办理"
    ),
    "ADDRESS": Verdict(
        KycStatus.REJECTED, "blacklisted_address", "该收货地址存在风险记录，无法在线办理"
    ),
}


def velocity_verdict(*, orders_by_id: int, orders_by_phone: int, orders_by_address: int):
    """Check 6: counts of distinct *other* orders in the window. FLAGGED when any of them,
    with this order, reaches VELOCITY_LIMIT."""
    worst = max(orders_by_id, orders_by_phone, orders_by_address) + 1
    if worst >= VELOCITY_LIMIT:
        return Verdict(
            KycStatus.FLAGGED,
            "velocity",
            "24 小时内同一身份证、电话或地址下单较多，已转人工审核",
        )
    return None


IDENTITY_MISMATCH = Verdict(
    KycStatus.REJECTED, "identity_mismatch", "姓名与身份证号码不一致（公安实名核验未通过）"
)
REVIEW_REJECTED_CODE = "review_rejected"


def decide(verdicts: Sequence[Verdict | None]) -> Verdict:
    """Checks run in order; the first rejection decides, else a flag, else a pass."""
    flagged = None
    for verdict in verdicts:
        if verdict is None:
            continue
        if verdict.status == KycStatus.REJECTED:
            return verdict
        flagged = flagged or verdict
    return flagged or PASS
