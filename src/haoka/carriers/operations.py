"""Use cases of the carrier integration: receive callbacks (verified, once each)."""

from __future__ import annotations

import datetime as dt

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from haoka.carriers.models import CarrierCallback
from haoka.carriers.signals import carrier_event
from haoka.core import jsonio, signing
from haoka.core.errors import HaokaError, ValidationError

log = structlog.get_logger(__name__)
KNOWN_CARRIERS = frozenset({"CMCC", "CUCC", "CTCC", "CBN", "HAOKA"})


class BadSignature(HaokaError):
    code = "bad_signature"
    status = 401
    message = "回调签名无效"


class UnknownCarrierCallback(HaokaError):
    code = "unknown_carrier"
    status = 404
    message = "未知的运营商"


def receive_callback(*, carrier: str, body: bytes, signature: str | None, now: dt.datetime) -> bool:
    """Verify and record a carrier callback, then hand it to its receivers (orders). Returns
    False for a replay (already processed: nothing happens). Raises BadSignature,
    UnknownCarrierCallback, ValidationError."""
    if carrier not in KNOWN_CARRIERS:
        raise UnknownCarrierCallback(carrier=carrier)
    try:
        signing.verify(
            secret=settings.CARRIER_API_SECRET, body=body, header=signature, now=now.timestamp()
        )
    except signing.SignatureError as exc:
        log.warning("carrier_callback_refused", reason=exc.reason, carrier=carrier)
        raise BadSignature(reason=exc.reason) from None
    try:
        event = jsonio.loads(body)
        event_id, event_type = str(event["event_id"]), str(event["type"])
    except (ValueError, KeyError, TypeError):
        raise ValidationError("回调内容无法解析") from None
    with transaction.atomic():
        try:
            with transaction.atomic():
                CarrierCallback.objects.create(
                    carrier=carrier,
                    event_id=event_id[:80],
                    type=event_type[:40],
                    order_ref=str(event.get("order_id", ""))[:24],
                    payload=event,
                    received_at=now,
                )
        except IntegrityError:
            return False  # a replay or duplicate: processed once already
        carrier_event.send(sender=CarrierCallback, carrier=carrier, event=event, now=now)
    return True
