from __future__ import annotations

from ninja import Schema


class CarrierOut(Schema):
    code: str
    name: str
    short_name: str
    is_virtual: bool
    color: str


class RatingGroupOut(Schema):
    number: int
    code: str
    name: str


class BenefitOut(Schema):
    code: str
    name: str
    value_fen: int


class PlanOut(Schema):
    code: str
    name: str
    slogan: str
    carrier: str
    carrier_name: str
    status: str
    monthly_fee_fen: int
    monthly_fee: str
    general_data_bytes: int
    targeted_data_bytes: int
    total_data: str
    voice_seconds: int
    sms_count: int
    daily_fee_fen: int
    daily_data_bytes: int
    contract_months: int
    first_topup_fen: int
    tags: list[str]
    benefits: list[BenefitOut]


class PlanDetailOut(PlanOut):
    targeted_groups: list[RatingGroupOut]
    zero_rated_groups: list[RatingGroupOut]
    payg_data_fen_per_mb: str
    payg_voice_fen_per_minute: str
    payg_sms_fen: str
    min_age: int
    max_age: int
    sale_regions: list[str]
    forbidden_regions: list[str]
    requires_photos: bool
    description: str


class PlanPage(Schema):
    items: list[PlanOut]
    next: str | None
