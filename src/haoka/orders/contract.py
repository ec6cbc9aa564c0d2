"""The service agreement (签约): rendered from the order's plan and number terms; the signed
text is kept with its SHA-256 and downloads as a PDF."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from django.template.loader import render_to_string

from haoka.catalog.domain import format_data, format_minutes
from haoka.core import clock
from haoka.core.money import format_fen

FONT = "STSong-Light"  # Adobe's CJK font: every PDF reader has it, nothing to embed or ship


@dataclass(frozen=True)
class Contract:
    text: str
    sha256: str
    signed_at: dt.datetime | None


def render(*, order, customer_name_masked: str, id_masked: str) -> str:
    """The agreement text. Deterministic for the same order, so its hash identifies it."""
    return (
        render_to_string(
            "orders/contract.txt",
            {
                "order": order,
                "plan": order.plan_snapshot,
                "plan_terms": plan_terms(order.plan_snapshot),
                "customer_name": customer_name_masked,
                "id_masked": id_masked,
            },
        ).strip()
        + "\n"
    )


def plan_terms(plan: dict) -> str:
    """The plan's clause, reading naturally whatever is zero or missing: 套餐月租 ¥39.00，含国内
    通用流量 40G、国内通话 100分钟 / 套餐免月租，不含通用流量 / …，不含通用流量；含定向流量 30G."""
    fee = int(plan.get("monthly_fee_fen") or 0)
    general = int(plan.get("general_data_bytes") or 0)
    included = []
    if general:
        included.append(f"国内通用流量 {format_data(general)}")
    if targeted := int(plan.get("targeted_data_bytes") or 0):
        included.append(f"定向流量 {format_data(targeted)}")
    if voice := int(plan.get("voice_seconds") or 0):
        included.append(f"国内通话 {format_minutes(voice)}")
    if sms := int(plan.get("sms_count") or 0):
        included.append(f"短信 {sms} 条")
    text = f"套餐月租 {format_fen(fee)}" if fee else "套餐免月租"
    if not general:
        text += "，不含通用流量"
    if included:
        text += ("；含" if not general else "，含") + "、".join(included)
    return text + "。"


def pdf(*, contract: Contract, order_ref: str) -> bytes:
    """The signed agreement as PDF (A4), with the signing time and the text's SHA-256."""
    # reportlab is heavy and only the signed-contract download needs it
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.lib.units import mm  # noqa: PLC0415
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(f"号卡服务协议 {order_ref}")
    _, height = A4
    y = height - 20 * mm
    lines = contract.text.splitlines()
    signed = contract.signed_at.astimezone(clock.BEIJING) if contract.signed_at else None
    lines += [
        "",
        f"签署时间：{signed:%Y-%m-%d %H:%M:%S}（北京时间）" if signed else "未签署",
        f"协议文本 SHA-256：{contract.sha256}",
    ]
    for line in lines:
        for chunk in _wrap(line, width=44):
            if y < 20 * mm:
                page.showPage()
                y = height - 20 * mm
            page.setFont(FONT, 14 if chunk == lines[0] else 10.5)
            page.drawString(18 * mm, y, chunk)
            y -= 6.5 * mm
    page.save()
    return buffer.getvalue()


def _wrap(line: str, *, width: int) -> list[str]:
    """Wrap by display width (a CJK character counts two)."""
    if not line:
        return [""]
    out, current, used = [], "", 0
    for ch in line:
        w = 2 if ord(ch) > 0x2E80 else 1
        if used + w > width * 2:
            out.append(current)
            current, used = "", 0
        current += ch
        used += w
    out.append(current)
    return out
