from __future__ import annotations

import datetime as dt

from ninja import Schema


class PatternOut(Schema):
    code: str
    label: str
    score: int


class NumberOut(Schema):
    msisdn: str
    carrier: str
    province: str
    city: str
    tier: str
    tier_label: str
    patterns: list[str]
    price_fen: int
    price: str
    min_monthly_fen: int
    contract_months: int


class NumberPage(Schema):
    items: list[NumberOut]
    next: str | None


class SuggestionOut(NumberOut):
    reason: str


class ValuationOut(Schema):
    msisdn: str
    carrier: str
    carrier_name: str
    province: str
    city: str
    tier: str
    tier_label: str
    score: int
    patterns: list[PatternOut]
    price_fen: int
    price: str
    min_monthly_fen: int
    contract_months: int
    explanation: list[str]
    in_pool: bool
    status: str | None


class HoldOut(Schema):
    msisdn: str
    reserved_until: dt.datetime
