"""Request and response models of the sponsors API. Amounts are integer fen (``*_fen``)
with the formatted text beside them where people read them; a sponsor sees lines' numbers
masked only (138****8000)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

# ---------------------------------------------------------------- sponsors


class ApplyIn(Schema):
    company_name: str = Field(..., max_length=100, description="企业名称")
    uscc: str = Field(..., max_length=30, description="统一社会信用代码（18 位）")
    kind: str = Field(..., max_length=12, description="APP | ENTERPRISE | MERCHANT")
    contact_name: str = Field(..., max_length=40, description="联系人姓名")
    contact_phone: str = Field(..., max_length=20, description="联系人手机号")


class ApplyOut(Schema):
    id: str = Field(..., description="客户编号（sponsor_id）")
    status: str


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=200)


class StaffSponsorOut(Schema):
    id: str
    sponsor_id: str
    company_name: str
    uscc: str
    kind: str
    status: str
    status_label: str
    contact_name_masked: str
    contact_phone_masked: str
    applied_at: dt.datetime
    decided_at: dt.datetime | None
    decision_reason: str


class StaffSponsorPage(Schema):
    items: list[StaffSponsorOut]
    next: str | None


class SponsorOut(Schema):
    sponsor_id: str
    company_name: str
    kind: str
    status: str


# ---------------------------------------------------------------- tokens


class TokenIn(Schema):
    name: str = Field(..., max_length=100)


class TokenCreatedOut(Schema):
    id: int
    name: str
    token: str = Field(..., description="只显示这一次，请妥善保存")
    prefix: str
    scopes: list[str]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
