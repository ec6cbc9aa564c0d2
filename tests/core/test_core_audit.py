"""Audit chain: appends link by hash; edits, removals and a cut tail are all reported."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka import cli
from haoka.core import audit, clock
from haoka.core.models import AuditHead, AuditRecord

pytestmark = pytest.mark.django_db


def _append(n: int) -> list[AuditRecord]:
    return [
        audit.record(
            actor="staff:1",
            action="plan.updated",
            object_type="plan",
            object_id=i,
            data={"名称": f"套餐{i}", "fee_fen": 1900 + i, "nested": {"b": [1, 2], "a": None}},
        )
        for i in range(1, n + 1)
    ]


def test_records_form_a_chain_from_genesis():
    records = _append(3)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == audit.GENESIS
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    head = AuditHead.objects.get(id=1)
    assert (head.seq, head.hash) == (3, records[2].hash)


def test_an_intact_chain_verifies():
    _append(5)
    report = audit.verify()
    assert report.ok
    assert report.checked == 5
    assert report.problems == []


def test_an_empty_chain_verifies():
    assert audit.verify().ok


def test_data_is_stored_as_json_and_the_chain_survives_the_round_trip():
    with clock.frozen(dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)):
        rec = audit.record(actor="cli", action="x", data={"at": dt.date(2026, 3, 1), "n": 1.5})
    assert AuditRecord.objects.get(pk=rec.pk).data == {"at": "2026-03-01", "n": 1.5}
    assert audit.verify().ok


def test_editing_a_records_data_is_reported_as_tampering_of_that_record():
    _append(3)
    AuditRecord.objects.filter(seq=2).update(data={"名称": "改过了"})
    report = audit.verify()
    assert not report.ok
    assert report.problems == ["内容被篡改：序号 2"]


def test_editing_the_actor_is_reported_too():
    _append(2)
    AuditRecord.objects.filter(seq=1).update(actor="someone-else")
    assert "内容被篡改：序号 1" in audit.verify().problems


def test_deleting_a_middle_record_is_reported():
    _append(4)
    AuditRecord.objects.filter(seq=2).delete()
    report = audit.verify()
    assert not report.ok
    assert any("记录缺失" in p and "期望序号 2" in p for p in report.problems)
    assert "链断裂：序号 3 的前序哈希不符" in report.problems


def test_deleting_the_last_record_is_reported():
    _append(3)
    AuditRecord.objects.filter(seq=3).delete()
    report = audit.verify()
    assert not report.ok
    assert len(report.problems) == 1
    assert report.problems[0].startswith("链尾被删除")


def test_deleting_the_tail_and_the_head_row_is_reported():
    _append(3)
    AuditRecord.objects.filter(seq=3).delete()
    AuditHead.objects.all().delete()
    report = audit.verify()
    assert not report.ok
    assert report.problems == ["链头缺失：无法确认链尾是否被删除"]


def test_recording_starts_a_fresh_chain_when_the_head_row_is_gone_from_an_empty_log():
    # ``flush`` (and transactional tests) empty every table, including the head made by a
    # migration; recording must still work afterwards.
    AuditHead.objects.all().delete()
    rec = audit.record(actor="cli", action="x")
    assert (rec.seq, rec.prev_hash) == (1, audit.GENESIS)
    assert audit.verify().ok


def test_recording_refuses_to_restart_a_chain_whose_head_row_was_removed():
    _append(2)
    AuditHead.objects.all().delete()
    with pytest.raises(AuditHead.DoesNotExist):
        audit.record(actor="cli", action="x")
    assert AuditRecord.objects.count() == 2


def test_the_cli_returns_0_for_an_intact_chain(capsys):
    _append(2)
    assert cli.main(["audit", "verify"]) == 0
    assert "审计链完整：2 条记录" in capsys.readouterr().out


def test_the_cli_returns_1_and_lists_problems_for_a_tampered_chain(capsys):
    _append(2)
    AuditRecord.objects.filter(seq=1).update(action="edited")
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "内容被篡改：序号 1" in err
    assert "审计链异常" in err
