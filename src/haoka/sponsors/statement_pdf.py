"""A sponsor's monthly statement as PDF (A4, reportlab with Adobe's STSong-Light CJK font,
as the line bills): usage and spend by campaign and app, top-ups, the wallet now."""

from __future__ import annotations

import io

from haoka.core.money import format_fen
from haoka.sponsors.console import Statement
from haoka.sponsors.models import Sponsor

FONT = "STSong-Light"


def size(num_bytes: int) -> str:
    return (
        f"{num_bytes / 1024**3:,.2f} GB"
        if num_bytes >= 1024**3
        else f"{num_bytes / 1024**2:,.2f} MB"
    )


def lines_of(
    statement: Statement, *, sponsor: Sponsor, balance_fen: int, held_fen: int
) -> list[str]:
    """The statement's text, one printed line each (also what the PDF shows)."""
    out = [
        f"号卡 后向流量 {statement.month:%Y年%m月} 对账单",
        "",
        f"客户：{sponsor.company_name}    客户编号：{sponsor.sponsor_id}",
        "",
        f"本月充值　　{format_fen(statement.topups_fen):>14}",
        f"本月结算　　{format_fen(-statement.charged_fen):>14}",
        f"结算流量　　{size(statement.used_bytes):>14}",
        f"当前余额　　{format_fen(balance_fen):>14}",
        f"活动占用　　{format_fen(held_fen):>14}",
        "",
        "按活动与应用",
    ]
    for row in statement.rows:
        out.append(
            f"  {row.campaign_id}  {row.campaign_name}  {row.apps}  {size(row.used_bytes)}  "
            f"{row.lines} 个号码  {format_fen(row.charged_fen)}"
        )
    if not statement.rows:
        out.append("  （本月无结算）")
    out += ["", "结算按预算切片结算时计入（北京时间）；号码仅以打码形式提供。"]
    return out


def pdf(statement: Statement, *, sponsor: Sponsor, balance_fen: int, held_fen: int) -> bytes:
    """The statement as an A4 PDF (deterministic for the same figures)."""
    # reportlab is heavy and only PDFs need it: loaded on the first statement rendered.
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415  (optional heavy dependency)
    from reportlab.lib.units import mm  # noqa: PLC0415  (optional heavy dependency)
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415  (optional heavy dependency)
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415  (heavy dependency)
    from reportlab.pdfgen import canvas  # noqa: PLC0415  (optional heavy dependency)

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(f"后向流量对账单 {sponsor.sponsor_id} {statement.month:%Y-%m}")
    _, height = A4
    y = height - 20 * mm
    text = lines_of(statement, sponsor=sponsor, balance_fen=balance_fen, held_fen=held_fen)
    for i, line in enumerate(text):
        if y < 20 * mm:
            page.showPage()
            y = height - 20 * mm
        page.setFont(FONT, 15 if i == 0 else 10.5)
        page.drawString(18 * mm, y, line)
        y -= 6.5 * mm
    page.save()
    return buffer.getvalue()
