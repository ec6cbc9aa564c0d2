"""What the line pages show, shaped for templates: data sizes, minutes, ¥ amounts, a gauge
per allowance, the usage chart's series, bill rows, pack offers, top-up rows.

Display only. What a line may do, what things cost and what is left are decided in the lines
and charging domains; this module only lays their answers out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from haoka.catalog.domain import PACK_KIND_LABELS
from haoka.charging.domain import SOURCE_LABELS, UNIT_LABELS
from haoka.core import clock
from haoka.lines.domain import LABELS as LINE_LABELS
from haoka.lines.domain import PORTING_CHECK_LABELS, SUSPEND_LABELS, LineState
from haoka.web.common import method_label, yuan

KB, MB, GB = 1024, 1024**2, 1024**3
#: Preset amounts of the top-up page, in fen.
TOPUP_PRESETS = (1000, 3000, 5000, 10000)
CHART_DAYS = 30
#: Below this share left, a gauge turns orange.
LOW_PERCENT = 20

#: The colour of a line's state chip (its label is the lines domain's).
_STATUS_TONES = {
    LineState.PENDING_ACTIVATION: "action",
    LineState.ACTIVE: "done",
    LineState.SUSPENDED: "action",
    LineState.CLOSED: "failed",
    LineState.PORTED_OUT: "failed",
}


# ---------------------------------------------------------------- units


def _trim(value: float, places: int) -> str:
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def data_text(num_bytes: int) -> str:
    """12.5 GB, 500 MB, 1.2 MB, 800 KB, 0 MB."""
    num_bytes = int(num_bytes or 0)
    if num_bytes >= GB:
        return f"{_trim(num_bytes / GB, 2 if num_bytes < 10 * GB else 1)} GB"
    if num_bytes >= MB:
        return f"{_trim(num_bytes / MB, 1 if num_bytes < 100 * MB else 0)} MB"
    if num_bytes > 0:
        return f"{max(1, round(num_bytes / KB))} KB"
    return "0 MB"


def minutes_text(seconds: int, *, round_up: bool = False) -> str:
    """What is left counts whole minutes; usage is billed per started minute (``round_up``)."""
    seconds = int(seconds or 0)
    minutes = -(-seconds // 60) if round_up else seconds // 60
    return f"{minutes:,} 分钟"


def amount_text(unit: str, value: int, *, used: bool = False) -> str:
    if unit == "BYTES":
        return data_text(value)
    if unit == "SECONDS":
        return minutes_text(value, round_up=used)
    return f"{int(value or 0):,} 条"


def beijing_day(at: dt.datetime | None) -> dt.date | None:
    return clock.beijing_date(at) if at else None


def last_day(valid_to: dt.datetime | None) -> dt.date | None:
    """The last Beijing day of a ``[from, to)`` period (its end is exclusive)."""
    return clock.beijing_date(valid_to - dt.timedelta(microseconds=1)) if valid_to else None


# ---------------------------------------------------------------- the line


@dataclass(frozen=True)
class Status:
    label: str
    tone: str  # done | action | moving | failed (state-chip tones)


def status(line) -> Status:
    """正常, 停机保号, 欠费停机, 已销户 … with the chip's colour."""
    if line.status == LineState.SUSPENDED:
        label = SUSPEND_LABELS.get(line.suspend_reason, LINE_LABELS[LineState.SUSPENDED])
        return Status(label, _STATUS_TONES[LineState.SUSPENDED])
    if line.status in _STATUS_TONES:
        return Status(LINE_LABELS[line.status], _STATUS_TONES[line.status])
    return Status(line.status, "moving")


@dataclass(frozen=True)
class Gauge:
    id: int
    label: str
    source_label: str
    remaining_text: str
    total_text: str
    percent_left: int
    tone: str  # ok | low | empty
    remaining: int
    ends_on: dt.date | None
    window: str
    targeted: bool


def gauge(bucket) -> Gauge:
    """One allowance (a ``charging.queries.BucketView``) as a ring: what is left of what."""
    left = 100 - bucket.percent_used if bucket.amount else 0
    tone = "empty" if bucket.remaining <= 0 else ("low" if left < LOW_PERCENT else "ok")
    return Gauge(
        id=bucket.id,
        label=bucket.label,
        source_label=SOURCE_LABELS.get(bucket.source, bucket.source),
        remaining_text=amount_text(bucket.unit, bucket.remaining),
        total_text=amount_text(bucket.unit, bucket.amount),
        percent_left=max(0, min(100, left)),
        tone=tone,
        remaining=bucket.remaining,
        ends_on=last_day(bucket.valid_to),
        window=bucket.window,
        targeted=bool(bucket.rating_groups),
    )


@dataclass(frozen=True)
class Total:
    unit_label: str
    remaining_text: str
    total_text: str


def totals(buckets: Iterable) -> list[Total]:
    """What is left per unit over every allowance (time-window ones included); 定向流量
    (data for some apps only) is its own line, never added into the general data."""
    left: dict[str, int] = defaultdict(int)
    amount: dict[str, int] = defaultdict(int)
    for b in buckets:
        key = "TARGETED" if b.unit == "BYTES" and b.rating_groups else b.unit
        left[key] += b.remaining
        amount[key] += b.amount
    labels = {**UNIT_LABELS, "BYTES": "通用流量", "TARGETED": "定向流量"}
    return [
        Total(labels[k], amount_text(unit, left[k]), amount_text(unit, amount[k]))
        for k, unit in (("BYTES",) * 2, ("TARGETED", "BYTES"), ("SECONDS",) * 2, ("SMS",) * 2)
        if k in amount
    ]


@dataclass(frozen=True)
class MonthCharges:
    total_text: str
    breakdown: str  # 月租 ¥39.00 · 日租 ¥1.00 · 加油包 ¥15.00 · 套外 ¥0.50


def month_charges(figures: dict[str, int]) -> MonthCharges:
    """本月已产生费用 (``charging.bills.month_so_far``) with what it is made of."""
    parts = (
        ("月租", figures["monthly_fee_fen"]),
        ("日租", figures["daily_fees_fen"]),
        ("加油包", figures["packs_fen"]),
        ("套外", figures["usage_fen"]),
    )
    shown = [f"{name} {yuan(fen)}" for name, fen in parts if fen] or ["暂无费用"]
    return MonthCharges(yuan(figures["total_fen"]), " · ".join(shown))


# ---------------------------------------------------------------- usage chart


def usage_chart(rows: Sequence[dict], *, today: dt.date, days: int = CHART_DAYS) -> dict:
    """The last ``days`` Beijing days (today last): data in MB and voice minutes per day,
    for the ECharts bar chart, and the period's totals as text."""
    dates = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    by = {(r["date"], r["unit"]): int(r["rated_amount"]) for r in rows}
    data = [by.get((d, "BYTES"), 0) for d in dates]
    voice = [by.get((d, "SECONDS"), 0) for d in dates]
    sms = sum(by.get((d, "SMS"), 0) for d in dates)
    return {
        "days": [f"{d:%m-%d}" for d in dates],
        "data_mb": [round(b / MB, 1) for b in data],
        "voice_min": [-(-s // 60) for s in voice],
        "data_total": data_text(sum(data)),
        "voice_total": minutes_text(sum(voice), round_up=True),
        "sms_total": f"{sms:,} 条",
        "empty": not any(data) and not any(voice) and not sms,
    }


# ---------------------------------------------------------------- top-ups


@dataclass(frozen=True)
class TopUpRow:
    ref: str
    amount: str
    kind: str
    method: str
    status: str
    tone: str
    created_at: dt.datetime
    pay_url: str  # while it waits for the payer


def topup_rows(topups: Iterable) -> list[TopUpRow]:
    tones = {"PAID": "done", "PENDING": "action", "FAILED": "failed"}
    return [
        TopUpRow(
            ref=t.ref,
            amount=yuan(t.credited_fen or t.amount_fen),
            kind=t.get_kind_display(),
            method=method_label(t.method),
            status=t.get_status_display(),
            tone=tones.get(t.status, "moving"),
            created_at=t.created_at,
            pay_url=t.pay_url if t.status == "PENDING" else "",
        )
        for t in topups
    ]


def presets(selected_fen: int | None) -> list[tuple[str, str, bool]]:
    """(value in yuan, ¥ label, checked) of the preset amounts."""
    return [(str(p // 100), yuan(p), p == selected_fen) for p in TOPUP_PRESETS]


# ---------------------------------------------------------------- packs


@dataclass(frozen=True)
class PackCard:
    code: str
    name: str
    kind: str
    kind_label: str
    price: str
    gives: list[str]
    validity: str
    affordable: bool


def validity_text(days: int) -> str:
    if days == 0:
        return "当月有效"
    if days == 1:
        return "当日有效"
    return f"{days} 天有效"


def _gives(offer) -> list[str]:
    out = []
    if offer.data_bytes:
        size = data_text(offer.data_bytes)
        if offer.window:
            out.append(f"{size} 闲时流量（{offer.window}）")
        elif offer.rating_groups:
            out.append(f"{size} 定向流量（指定应用）")
        else:
            out.append(f"{size} 全国通用流量")
    if offer.voice_seconds:
        out.append(f"{minutes_text(offer.voice_seconds)}国内通话")
    if offer.benefit_name:
        out.append(f"{offer.benefit_name}（兑换码）")
    return out


def pack_cards(offers: Iterable, *, available_fen: int) -> list[PackCard]:
    return [
        PackCard(
            code=o.code,
            name=o.name,
            kind=o.kind,
            kind_label=PACK_KIND_LABELS.get(o.kind, o.kind),
            price=yuan(o.price_fen),
            gives=_gives(o),
            validity=validity_text(o.validity_days),
            affordable=o.price_fen <= available_fen,
        )
        for o in offers
    ]


# ---------------------------------------------------------------- bills


@dataclass(frozen=True)
class MoneyRow:
    label: str
    amount: str
    strong: bool = False


def bill_money(bill, *, first_month=None) -> list[MoneyRow]:
    """期初 + 充值 - 月租 - 日租 - 加油包 - 套外 + 其他 = 期末 (as the bill adds up); the
    activation month's fee says how it was charged (``first_month``: 首月按天折算 …)."""
    fee = f"月租（{first_month.text}）" if first_month is not None else "月租"
    rows = [
        MoneyRow("期初余额", yuan(bill.opening_fen), True),
        MoneyRow("充值", f"+{yuan(bill.topups_fen)}"),
        MoneyRow(fee, yuan(-bill.monthly_fee_fen)),
        MoneyRow("日租", yuan(-bill.daily_fees_fen)),
        MoneyRow("加油包", yuan(-bill.packs_fen)),
        MoneyRow("套外用量", yuan(-bill.usage_fen)),
    ]
    if bill.other_fen:
        rows.append(MoneyRow("其他（退款、调整）", yuan(bill.other_fen)))
    rows.append(MoneyRow("期末余额", yuan(bill.closing_fen), True))
    return rows


@dataclass(frozen=True)
class DayRow:
    date: str
    data: str
    voice: str
    sms: str
    fee: str


def bill_days(usage_by_day: Iterable[dict]) -> list[DayRow]:
    """One row per Beijing day: data, voice, SMS and what the wallet paid."""
    days: dict[str, dict] = {}
    for r in usage_by_day:
        day = days.setdefault(r["date"], {"BYTES": 0, "SECONDS": 0, "SMS": 0, "fee": 0})
        day[r["unit"]] = day.get(r["unit"], 0) + int(r["rated_amount"])
        day["fee"] += int(r["wallet_fen"])
    return [
        DayRow(
            date[5:],
            data_text(d["BYTES"]) if d["BYTES"] else "—",
            minutes_text(d["SECONDS"], round_up=True) if d["SECONDS"] else "—",
            f"{d['SMS']} 条" if d["SMS"] else "—",
            yuan(d["fee"]),
        )
        for date, d in sorted(days.items())
    ]


@dataclass(frozen=True)
class GroupRow:
    name: str
    unit: str
    amount: str
    fee: str


def bill_groups(usage_by_group: Iterable[dict]) -> list[GroupRow]:
    rows = []
    for r in usage_by_group:
        group = r["rating_group"]
        name = r.get("name") or (f"应用分组 {group}" if group is not None else "通用")
        rows.append(
            GroupRow(
                name,
                UNIT_LABELS.get(r["unit"], r["unit"]),
                amount_text(r["unit"], r["rated_amount"], used=True),
                yuan(r["wallet_fen"]),
            )
        )
    return rows


# ---------------------------------------------------------------- manage


@dataclass(frozen=True)
class PlanOption:
    code: str
    name: str
    fee: str
    upgrade: bool
    prorated: str  # what upgrading now costs this month (upgrades only)
    summary: str


def plan_summary(plan) -> str:
    parts = []
    data = plan.general_data_bytes + plan.targeted_data_bytes
    if data:
        parts.append(f"{data_text(data)}流量")
    if plan.voice_seconds:
        parts.append(f"{minutes_text(plan.voice_seconds)}通话")
    return " · ".join(parts) or "按量计费"


@dataclass(frozen=True)
class CheckRow:
    label: str
    passed: bool
    reason: str


def porting_rows(checks: Iterable) -> list[CheckRow]:
    return [CheckRow(PORTING_CHECK_LABELS.get(c.code, c.code), c.passed, c.reason) for c in checks]


def masked_iccid(iccid: str) -> str:
    return iccid[:6] + "*" * max(0, len(iccid) - 10) + iccid[-4:] if len(iccid) > 10 else iccid
