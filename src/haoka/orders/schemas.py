from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from haoka.core.schema_types import Id


class AddressIn(Schema):
    """Either the GB/T 2260 codes of the 省/市/区 (``GET /divisions``; the names are then the
    table's) or, as before the codes, the names as written."""

    province_code: str = Field("", max_length=2, description="省级代码，如 44")
    city_code: str = Field("", max_length=4, description="地级代码，如 4403")
    district_code: str = Field("", max_length=6, description="县级代码，如 440305")
    province: str = Field("", max_length=40)
    city: str = Field("", max_length=40)
    district: str = Field("", max_length=40)
    detail: str = Field(..., max_length=400)
    receiver: str = Field(..., max_length=100)
    phone: str = Field(..., max_length=20)


class OrderIn(Schema):
    plan_code: str
    msisdn: str
    contact_phone: str
    shipping_address: AddressIn | None = Field(None, description="收货地址（或用 address_id）")
    address_id: Id | None = Field(None, description="地址簿中的收货地址 ID（GET /me/addresses）")
    ref: str | None = Field(None, description="代理编码（可选）")


class KycIn(Schema):
    name: str
    id_number: str
    photos: list[str] | None = Field(None, description="base64 编码的证件照片（套餐要求时必填）")


class ContractIn(Schema):
    accept: bool
    signature_name: str


class PaymentIn(Schema):
    method: str = Field(..., description="wechat | alipay")


class ActivateIn(Schema):
    iccid_last6: str


class EventOut(Schema):
    from_state: str
    to_state: str
    actor: str
    reason: str
    at: dt.datetime


class TrackingOut(Schema):
    status: str
    description: str
    location: str
    occurred_at: dt.datetime


class PaymentOut(Schema):
    payment_id: int | str | None = None
    status: str
    pay_url: str = ""
    amount_fen: int = 0


class OrderOut(Schema):
    ref: str
    state: str
    state_label: str
    next_action: str | None
    plan_code: str
    plan_name: str
    carrier: str
    msisdn: str
    number_price_fen: int
    first_topup_fen: int
    amount_due_fen: int
    amount_due: str
    min_monthly_fen: int
    contract_months: int
    ship_to: str
    receiver_masked: str
    contract_signed_at: dt.datetime | None
    payment: PaymentOut | None
    courier: str
    tracking_no: str
    tracking: list[TrackingOut]
    iccid_masked: str
    activated_at: dt.datetime | None
    failure_reason: str
    kyc_attempts_left: int = Field(
        ..., description="还可提交实名的次数（实名待更正 KYC_RETRY 时有意义；为 0 时订单结束）"
    )
    kyc_message: str = Field("", description="实名待更正时：未通过的原因")
    expires_at: dt.datetime | None
    created_at: dt.datetime
    events: list[EventOut]


class OrderSummaryOut(Schema):
    ref: str
    state: str
    state_label: str
    plan_name: str
    msisdn: str
    amount_due_fen: int
    created_at: dt.datetime


class OrderPage(Schema):
    items: list[OrderSummaryOut]
    next: str | None


class ContractOut(Schema):
    text: str
    sha256: str
    signed_at: dt.datetime | None


class PayStartOut(Schema):
    payment_id: int | str
    pay_url: str
    amount_fen: int
    status: str
