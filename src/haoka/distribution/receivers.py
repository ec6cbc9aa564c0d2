"""Distribution listens to lines and charging. Each receiver only notes the fact in the inbox
(inside the sender's transaction, once per key) for a line sold by an agent; the commission
is worked out right after that transaction commits (``commission.record``)."""

from __future__ import annotations

from haoka.charging.signals import monthly_fee_charged
from haoka.distribution import commission
from haoka.distribution.models import Sale
from haoka.lines import queries as line_queries
from haoka.lines.signals import line_opened, line_status_changed, wallet_credited


def _sale_id(*, order_ref: str | None = None, line_id: int | None = None) -> int | None:
    if order_ref is None and line_id is not None:  # the line's order: a subquery, one query
        refs = line_queries.order_refs(line_id=line_id)
        return Sale.objects.filter(order_ref__in=refs).values_list("id", flat=True).first()
    if not order_ref:
        return None
    return Sale.objects.filter(order_ref=order_ref).values_list("id", flat=True).first()


def _record(sale_id: int, kind: str, key: str, data: dict, now) -> None:
    commission.record(sale_id=sale_id, kind=kind, key=key, data=data, at=now)


def _on_line_opened(sender, *, line_id, order_ref=None, now, **kwargs) -> None:
    sale_id = _sale_id(order_ref=order_ref) if order_ref else None
    if sale_id is not None:
        _record(sale_id, "ACTIVATED", f"ACTIVATED:{line_id}", {"line_id": line_id}, now)


def _on_wallet_credited(sender, *, line_id, amount_fen, key, now, **kwargs) -> None:
    sale_id = _sale_id(line_id=line_id)
    if sale_id is not None:
        _record(sale_id, "TOPUP", f"TOPUP:{key}", {"amount_fen": amount_fen}, now)


def _on_monthly_fee(sender, *, line_id, month, fee_fen, arrears, now, **kwargs) -> None:
    sale_id = _sale_id(line_id=line_id)
    if sale_id is not None:
        data = {"month": month.isoformat(), "fee_fen": fee_fen, "arrears": bool(arrears)}
        _record(sale_id, "MONTHLY_FEE", f"FEE:{line_id}:{month:%Y-%m}", data, now)


_ENDINGS = {"CLOSED": "线路销户", "PORTED_OUT": "携号转出"}


def _on_status(sender, *, line_id, to_status, suspend_reason, now, **kwargs) -> None:
    if to_status in _ENDINGS:
        data, key = {"reason": _ENDINGS[to_status]}, f"ENDED:{line_id}"
    elif to_status == "SUSPENDED" and suspend_reason == "ARREARS":
        data, key = {"reason": "欠费停机", "arrears": True}, f"ARREARS:{line_id}:{now:%Y%m%d%H%M}"
    else:
        return
    sale_id = _sale_id(line_id=line_id)
    if sale_id is not None:
        _record(sale_id, "LINE_ENDED", key, data, now)


def connect() -> None:
    line_opened.connect(_on_line_opened, dispatch_uid="distribution.line_opened")
    wallet_credited.connect(_on_wallet_credited, dispatch_uid="distribution.wallet_credited")
    monthly_fee_charged.connect(_on_monthly_fee, dispatch_uid="distribution.monthly_fee")
    line_status_changed.connect(_on_status, dispatch_uid="distribution.line_status")
