"""Staff use cases for blacklists: an ID number, phone or address is stored only as the
keyed hash of its normalized form, computed exactly as the checks compute it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from haoka.core import audit, clock, pii
from haoka.core.errors import NotFound, ValidationError
from haoka.core.phone import parse_mainland_mobile
from haoka.kyc import domain
from haoka.kyc.models import Blacklist, BlacklistKind


class InvalidBlacklistValue(ValidationError):
    code = "invalid_blacklist_value"
    message = "黑名单内容无效"


def blacklist_hash(*, kind: str, value: str, now: dt.datetime) -> str:
    """The keyed hash a blacklist entry stores for a clear value, normalized as the checks
    normalize it. Raises InvalidBlacklistValue, InvalidIdNumber, InvalidMsisdn."""
    if kind == BlacklistKind.ID:
        ident = domain.parse_id_number(value, today=clock.beijing_date(now))
        return pii.lookup_hash(ident.value, purpose="id_number")
    if kind == BlacklistKind.PHONE:
        return pii.lookup_hash(parse_mainland_mobile(value), purpose="phone")
    if kind == BlacklistKind.ADDRESS:
        normalized = domain.normalize_address(province="", city="", district="", detail=value)
        if len(normalized) < 4:
            raise InvalidBlacklistValue("地址过短")
        return pii.lookup_hash(normalized, purpose="address")
    raise InvalidBlacklistValue(kind=kind)


def add_blacklist(
    *, kind: str, value: str, reason: str, staff_id: int | None, now: dt.datetime
) -> Blacklist:
    """Blacklist an ID, phone or address (stored as a keyed hash only); adding an entry
    that exists returns it unchanged. Raises InvalidBlacklistValue, InvalidIdNumber,
    InvalidMsisdn."""
    value_hash = blacklist_hash(kind=kind, value=value, now=now)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidBlacklistValue("请填写列入黑名单的原因")
    with transaction.atomic():
        entry, created = Blacklist.objects.get_or_create(
            kind=kind,
            value_hash=value_hash,
            defaults={"reason": reason[:200], "created_at": now, "created_by_id": staff_id},
        )
        if created:
            audit.record(
                actor=f"staff:{staff_id}",
                action="kyc.blacklist_added",
                object_type="blacklist",
                object_id=str(entry.pk),
                data={"kind": kind},
            )
    return entry


def remove_blacklist(*, entry_id: int, staff_id: int | None) -> None:
    """Delete one entry. Raises NotFound."""
    with transaction.atomic():
        deleted, _ = Blacklist.objects.filter(pk=entry_id).delete()
        if not deleted:
            raise NotFound("黑名单记录不存在", entry_id=entry_id)
        audit.record(
            actor=f"staff:{staff_id}",
            action="kyc.blacklist_removed",
            object_type="blacklist",
            object_id=str(entry_id),
        )
