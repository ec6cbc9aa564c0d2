"""Append-only audit chain. Each record hashes its content and the previous record's hash;
``verify`` walks the chain and reports edited, deleted or reordered records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from haoka.core import clock
from haoka.core.models import AuditHead, AuditRecord

GENESIS = "0" * 64


def _digest(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
    prev_hash: str,
) -> str:
    payload = json.dumps(
        [seq, at, actor, action, object_type, object_id, data, prev_hash],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    data: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record. Never put personal data in ``data``."""
    data = json.loads(json.dumps(data or {}, default=str))
    at = clock.now()
    with transaction.atomic():
        # The head row (made by a migration) is the lock that serializes appends.
        head = AuditHead.objects.select_for_update().filter(id=1).first()
        if head is None:
            head = _restart_empty_chain()
        seq = head.seq + 1
        digest = _digest(
            seq=seq,
            at=at.isoformat(),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
            prev_hash=head.hash,
        )
        rec = AuditRecord.objects.create(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
            prev_hash=head.hash,
            hash=digest,
        )
        AuditHead.objects.filter(id=1).update(seq=seq, hash=digest)
    return rec


def _restart_empty_chain() -> AuditHead:
    """Recreate the head after a ``flush`` emptied every table. Refused (DoesNotExist) when
    records remain: a missing head then hides a cut tail, so a person must look."""
    if AuditRecord.objects.exists():
        raise AuditHead.DoesNotExist("audit head row missing while records exist")
    AuditHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS})
    return AuditHead.objects.select_for_update().get(id=1)


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify() -> VerifyReport:
    """Walk the whole chain; list every record that was edited, removed or re-linked."""
    report = VerifyReport()
    expected_prev, expected_seq = GENESIS, 1
    for rec in AuditRecord.objects.order_by("seq").iterator(chunk_size=2000):
        if rec.seq != expected_seq:
            report.problems.append(f"记录缺失：期望序号 {expected_seq}，实际 {rec.seq}")
        if rec.prev_hash != expected_prev:
            report.problems.append(f"链断裂：序号 {rec.seq} 的前序哈希不符")
        digest = _digest(
            seq=rec.seq,
            at=rec.at.astimezone(clock.UTC).isoformat(),
            actor=rec.actor,
            action=rec.action,
            object_type=rec.object_type,
            object_id=rec.object_id,
            data=rec.data,
            prev_hash=rec.prev_hash,
        )
        if digest != rec.hash:
            report.problems.append(f"内容被篡改：序号 {rec.seq}")
        expected_prev, expected_seq = rec.hash, rec.seq + 1
        report.checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is None and report.checked:
        report.problems.append("链头缺失：无法确认链尾是否被删除")
    elif head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        report.problems.append(
            f"链尾被删除：链头记录序号 {head.seq}，实际最后序号 {expected_seq - 1}"
        )
    return report
