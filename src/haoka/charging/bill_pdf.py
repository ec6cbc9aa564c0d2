"""A bill as PDF (A4, reportlab with Adobe's STSong-Light CJK font, as the e-contract)."""

from __future__ import annotations

import io

from haoka.charging import queries, sponsored_usage
from haoka.charging.bills import data_movements, packs_bought, spent, topups_paid
from haoka.charging.domain import UNIT_LABELS
from haoka.charging.models import Bill
from haoka.core import clock
from haoka.core.money import format_fen

FONT = "STSong-Light"


def amount(unit: str, value: int) -> str:
    """Usage in a unit people read: MB for data, minutes for voice, messages."""
    if unit == "BYTES":
        return f"{value / 1024**2:,.2f} MB"
    if unit == "SECONDS":
        return f"{-(-value // 60)} 分钟"
    return f"{value} 条"


def lines_of(bill: Bill, *, msisdn: str) -> list[str]:
    """The bill's text, one printed line each (also what the PDF shows)."""
    issued = bill.issued_at.astimezone(clock.BEIJING)
    first_month = queries.first_month_of(line_id=bill.line_id, month=bill.month)
    out = [
        f"号卡 {bill.month:%Y年%m月} 账单",
        "",
        f"号码：{msisdn}    套餐：{bill.plan_code}",
        f"出账时间：{issued:%Y-%m-%d %H:%M}（北京时间）",
        "",
        f"期初余额　{format_fen(bill.opening_fen):>14}",
        f"充值　　　{format_fen(bill.topups_fen):>14}",
        f"月租　　　{format_fen(-bill.monthly_fee_fen):>14}"
        + (f"　（{first_month.text}）" if first_month else ""),
        f"日租　　　{format_fen(-bill.daily_fees_fen):>14}",
        f"加油包　　{format_fen(-bill.packs_fen):>14}",
        f"套外用量　{format_fen(-bill.usage_fen):>14}",
        f"其他　　　{format_fen(bill.other_fen):>14}",
        f"期末余额　{format_fen(bill.closing_fen):>14}",
        f"本月消费合计：{format_fen(spent(bill))}",
        "",
        "充值记录",
    ]
    for t in topups_paid(bill):
        paid = t["paid_at"].astimezone(clock.BEIJING)
        out.append(f"  {paid:%m-%d %H:%M}  {t['ref']}  {format_fen(t['amount_fen'])}")
    out += ["", "加油包"]
    for p in packs_bought(bill):
        bought = p["bought_at"].astimezone(clock.BEIJING)
        out.append(f"  {bought:%m-%d %H:%M}  {p['name']}  {format_fen(p['price_fen'])}")
    out += ["", "流量转赠与流量银行"]
    for m in data_movements(bill):
        at = m["created_at"].astimezone(clock.BEIJING)
        out.append(f"  {at:%m-%d %H:%M}  {m['text']}")
    out += ["", "按日用量（北京时间）"]
    for row in bill.usage_by_day:
        out.append(
            f"  {row['date']}  {UNIT_LABELS.get(row['unit'], row['unit'])}  "
            f"{amount(row['unit'], row['rated_amount'])}  扣费 {format_fen(row['wallet_fen'])}"
        )
    if not bill.usage_by_day:
        out.append("  （本月无用量）")
    out += ["", "按应用分组用量"]
    for row in bill.usage_by_rating_group:
        group = row["name"] or (
            f"分组 {row['rating_group']}" if row["rating_group"] is not None else "通用"
        )
        out.append(
            f"  {group}  {UNIT_LABELS.get(row['unit'], row['unit'])}  "
            f"{amount(row['unit'], row['rated_amount'])}  扣费 {format_fen(row['wallet_fen'])}"
        )
    if not bill.usage_by_rating_group:
        out.append("  （本月无用量）")
    return out + sponsored_lines(bill)


def sponsored_lines(bill: Bill) -> list[str]:
    """The month's sponsored data, each app at ¥0.00 to the user ("由 XX 赞助")."""
    rows = sponsored_usage.of_month(line_id=bill.line_id, month=bill.month)
    if not rows:
        return []
    out = ["", "赞助流量（由赞助方支付，您无需付费）"]
    for row in rows:
        out.append(
            f"  {row.app}  {amount('BYTES', row.bytes)}  "
            f"由 {row.sponsor_name} 赞助  {format_fen(0)}"
        )
    return out


def pdf(*, bill: Bill, msisdn: str) -> bytes:
    """The bill as an A4 PDF (deterministic for the same bill)."""
    # reportlab is heavy and only PDFs need it: loaded on the first bill rendered.
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415  (optional heavy dependency)
    from reportlab.lib.units import mm  # noqa: PLC0415  (optional heavy dependency)
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415  (optional heavy dependency)
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415  (heavy dependency)
    from reportlab.pdfgen import canvas  # noqa: PLC0415  (optional heavy dependency)

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(f"号卡账单 {msisdn} {bill.month:%Y-%m}")
    _, height = A4
    y = height - 20 * mm
    for i, text in enumerate(lines_of(bill, msisdn=msisdn)):
        if y < 20 * mm:
            page.showPage()
            y = height - 20 * mm
        page.setFont(FONT, 15 if i == 0 else 10.5)
        page.drawString(18 * mm, y, text)
        y -= 6.5 * mm
    page.save()
    return buffer.getvalue()
