"""Offline usage records: ``POST /api/v1/usage-records`` (batches of up to 1,000, each with
its own id; idempotent by id; rejected records come back with reasons)."""

from __future__ import annotations

from ninja import Router, Schema
from pydantic import Field

from haoka.accounts.auth import StaffOrScope
from haoka.charging import operations
from haoka.core import clock
from haoka.core.schema_types import BigCount, PlausibleDatetime, RatingGroup

router = Router(tags=["charging"])


class RecordIn(Schema):
    record_id: str = Field(min_length=1, max_length=80)
    subscriber: str = Field(
        min_length=1, max_length=64, description="msisdn-86… / imsi-460… / 11 位号码"
    )
    service: str = Field(description="data | voice | sms")
    amount: BigCount = Field(description="字节 / 秒 / 条")
    started_at: PlausibleDatetime
    rating_group: RatingGroup | None = None


class BatchIn(Schema):
    records: list[RecordIn] = Field(max_length=operations.MAX_BATCH)


class RecordResult(Schema):
    record_id: str
    status: str
    reason: str = ""
    code: str = Field("", description="拒绝原因的稳定编码，如 usage_out_of_window")
    wallet_fen: int = 0
    unpaid: int = 0


class BatchOut(Schema):
    rated: int
    duplicates: int
    rejected: int
    results: list[RecordResult]


@router.post("/usage-records", response=BatchOut, auth=StaffOrScope("charging"))
def post_usage_records(request, body: BatchIn):
    """Rate a batch of usage records (CDRs). A repeated record id is a DUPLICATE and changes
    nothing; a record that cannot be rated is REJECTED with the reason."""
    outcomes = operations.rate_records(
        records=[
            operations.RecordIn(
                record_id=r.record_id,
                subscriber=r.subscriber,
                service=r.service,
                amount=r.amount,
                started_at=r.started_at,
                rating_group=r.rating_group,
            )
            for r in body.records
        ],
        now=clock.now(),
    )
    results = [
        RecordResult(
            record_id=o.record_id,
            status=o.status,
            reason=o.reason,
            code=o.code,
            wallet_fen=o.wallet_fen,
            unpaid=o.unpaid,
        )
        for o in outcomes
    ]
    return BatchOut(
        rated=sum(o.status == "RATED" for o in outcomes),
        duplicates=sum(o.status == "DUPLICATE" for o in outcomes),
        rejected=sum(o.status == "REJECTED" for o in outcomes),
        results=results,
    )
