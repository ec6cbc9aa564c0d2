"""What the sponsor console shows, from what the sponsors domain reads: budget gauges, the
daily chart's series, a campaign form parsed into the use case's arguments. Pure: no
database, no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from haoka.catalog.domain import format_data
from haoka.core.clock import BEIJING
from haoka.core.errors import ValidationError
from haoka.core.money import yuan_to_fen
from haoka.web.common import yuan

#: The console's sections: (url name, label, hint).
SECTIONS = (
    ("sponsor_console", "概览", "活动、钱包与趋势"),
    ("sponsor_campaign_new", "新建活动", "定向免流"),
    ("sponsor_lines", "授权号码", "在您应用中授权的号码"),
    ("sponsor_tokens", "API 令牌", "接口调用凭证"),
    ("sponsor_wallet", "钱包", "余额、充值与对账单"),
)
#: Where a new campaign's form starts.
FORM_DEFAULTS = {
    "name": "", "budget": "1000", "valid_from": "", "valid_to": "", "apps": [],
    "cap_mb": "1024", "price": "5", "eligibility": "all", "eligibility_list": "",
}  # fmt: skip
ELIGIBILITY_CHOICES = (
    ("all", "全部号码"),
    ("opted_in", "在我方应用中授权的号码"),
    ("plans", "指定套餐（编码，逗号分隔）"),
    ("provinces", "指定归属省份（逗号分隔）"),
)


@dataclass(frozen=True)
class Gauge:
    """A campaign's budget as a bar: spent, held by lines' slices, still free."""

    spent_pct: float
    held_pct: float
    spent: str
    held: str
    available: str
    budget: str
    used_pct: int  # spent + held, whole percent, for the label


def gauge(*, budget_fen: int, available_fen: int, held_fen: int, spent_fen: int) -> Gauge:
    total = max(budget_fen, 1)
    spent_pct = min(100.0, 100.0 * spent_fen / total)
    held_pct = min(100.0 - spent_pct, 100.0 * max(held_fen, 0) / total)
    return Gauge(
        spent_pct=round(spent_pct, 1),
        held_pct=round(held_pct, 1),
        spent=yuan(spent_fen),
        held=yuan(held_fen),
        available=yuan(available_fen),
        budget=yuan(budget_fen),
        used_pct=round(spent_pct + held_pct),
    )


def chart(series: Mapping[str, Sequence], *, days: Sequence[dt.date]) -> dict:
    """The daily chart: for each campaign (label "name · apps") its bytes settled, lines
    reached and spend (fen) on each of ``days``. ``series``: label -> report days."""
    keys = [f"{d:%m-%d}" for d in days]
    out = {"days": keys, "campaigns": [], "empty": True}
    for label, rows in series.items():
        by_day = {r.date: r for r in rows}
        picked = [by_day.get(d) for d in days]
        entry = {
            "name": label,
            "mb": [round((r.bytes_settled if r else 0) / 2**20, 1) for r in picked],
            "lines": [r.lines_reached if r else 0 for r in picked],
            "spend_fen": [r.spend_fen if r else 0 for r in picked],
        }
        out["empty"] = out["empty"] and not any(entry["mb"] + entry["lines"] + entry["spend_fen"])
        out["campaigns"].append(entry)
    totals = [sum(r.bytes_settled for r in rows) for rows in series.values()]
    out["total_data"] = format_data(sum(totals))
    out["total_spend"] = yuan(sum(r.spend_fen for rows in series.values() for r in rows))
    return out


def days_back(today: dt.date, n: int) -> list[dt.date]:
    return [today - dt.timedelta(days=n - 1 - i) for i in range(n)]


# ---------------------------------------------------------------- the campaign form


class InvalidCampaignForm(ValidationError):
    code = "invalid_campaign"
    message = "活动参数不正确"


def _day(text: str, field: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidCampaignForm(f"请填写{field}（年-月-日）", field=field) from None
    return dt.datetime.combine(day, dt.time(), tzinfo=BEIJING)


def _whole(text: str, field: str) -> int:
    text = (text or "").strip()
    if not text.isdigit() or len(text) > 9:
        raise InvalidCampaignForm(f"{field}须为整数", field=field)
    return int(text)


def end_of(text: str) -> dt.datetime:
    """The last day (Beijing, included) as the campaign's end instant: the next day's 00:00.
    Raises InvalidCampaignForm."""
    return _day(text, "结束日期") + dt.timedelta(days=1)


def last_day(valid_to: dt.datetime) -> dt.date:
    """The last Beijing day a campaign ending at ``valid_to`` covers."""
    return (valid_to.astimezone(BEIJING) - dt.timedelta(microseconds=1)).date()


def campaign_args(form: Mapping[str, object]) -> dict:
    """The form (yuan, Beijing dates, app numbers) as ``campaigns.create``'s keyword
    arguments: budget and price in fen, validity ``[from 00:00, to+1 00:00)`` Beijing.
    Raises InvalidCampaignForm, InvalidAmount."""
    valid_from = _day(str(form.get("valid_from", "")), "开始日期")
    valid_to = end_of(str(form.get("valid_to", "")))
    kind = str(form.get("eligibility", "all"))
    if kind in ("plans", "provinces"):
        text = str(form.get("eligibility_list", "")).replace("，", ",")
        eligibility: dict = {kind: [v.strip() for v in text.split(",") if v.strip()]}
    else:
        eligibility = {kind: True}
    apps = form.get("apps") or []
    return {
        "kind": "APP_FREE_FLOW",
        "name": str(form.get("name", "")).strip(),
        "budget_fen": yuan_to_fen(str(form.get("budget", "")).strip() or "0"),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "rating_groups": [_whole(str(a), "应用") for a in apps],  # type: ignore[union-attr]
        "per_line_cap_mb": _whole(str(form.get("cap_mb", "")), "每号每月上限"),
        "price_fen_per_gb": yuan_to_fen(str(form.get("price", "")).strip() or "0"),
        "eligibility": eligibility,
    }


def eligibility_text(eligibility: Mapping) -> str:
    if eligibility.get("all"):
        return "全部号码"
    if eligibility.get("opted_in"):
        return "授权号码"
    if "plans" in eligibility:
        return "套餐：" + "、".join(eligibility["plans"])
    return "省份：" + "、".join(eligibility.get("provinces", ()))


def month_of(text: str) -> dt.date | None:
    """``2026-03`` -> 2026-03-01; None when it is not a month."""
    try:
        day = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        return None
    return day if len(text) == 7 and day.year >= 2000 else None


def plain_yuan(fen: int) -> str:
    """Fen as the yuan a form field holds: 150000 -> 1500, 12345 -> 123.45."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole}.{cents:02d}" if cents else str(whole)
