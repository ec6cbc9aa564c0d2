"""Reads the charging engine needs from other domains: a plan's pay-as-you-go side (cached
briefly: every rating needs it and plans change rarely) and the line a subscriber id names."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from haoka.catalog import queries as catalog_queries
from haoka.charging import online_store
from haoka.charging.cycle import PlanTerms
from haoka.charging.domain import Tariff
from haoka.core.errors import NotFound

#: Seconds a plan's tariff is reused before it is read again (a staff edit shows within this).
TTL_S = 30.0
_cache: dict[str, tuple[float, Tariff, PlanTerms, int]] = {}
_lock = threading.Lock()
#: "known" -> (when read, the catalog's rating group numbers).
_groups: dict[str, tuple[float, frozenset[int]]] = {}


class UnknownSubscriber(NotFound):
    code = "unknown_subscriber"
    message = "找不到该用户号码"


def _load(plan_code: str) -> tuple[Tariff, PlanTerms, int]:
    plan = catalog_queries.plan_with_groups(code=plan_code)
    if plan is None:
        raise catalog_queries.PlanNotFound(code=plan_code)
    tariff = Tariff(
        payg_data_fen_per_mb=Decimal(plan.payg_data_fen_per_mb),
        payg_voice_fen_per_minute=Decimal(plan.payg_voice_fen_per_minute),
        payg_sms_fen=Decimal(plan.payg_sms_fen),
        zero_rated_groups=frozenset(g.number for g in plan.zero_rated_groups.all()),
        daily_fee_fen=plan.daily_fee_fen,
        daily_data_bytes=plan.daily_data_bytes,
    )
    terms = PlanTerms(
        general_data_bytes=plan.general_data_bytes,
        targeted_data_bytes=plan.targeted_data_bytes,
        targeted_groups=frozenset(g.number for g in plan.targeted_groups.all()),
        voice_seconds=plan.voice_seconds,
        sms_count=plan.sms_count,
    )
    return tariff, terms, plan.monthly_fee_fen


def plan_charging(*, plan_code: str) -> tuple[Tariff, PlanTerms, int]:
    """(tariff, monthly allowances, monthly fee in fen) of a plan. Raises PlanNotFound."""
    now = time.monotonic()
    hit = _cache.get(plan_code)
    if hit is not None and now - hit[0] < TTL_S:
        return hit[1], hit[2], hit[3]
    tariff, terms, fee = _load(plan_code)
    with _lock:
        _cache[plan_code] = (now, tariff, terms, fee)
    return tariff, terms, fee


def known_rating_groups() -> frozenset[int]:
    """The rating groups the catalog lists (staff edit them; cached like tariffs): online
    charging rates these and answers RATING_FAILED for any other."""
    now = time.monotonic()
    hit = _groups.get("known")
    if hit is not None and now - hit[0] < TTL_S:
        return hit[1]
    groups = catalog_queries.rating_group_numbers()
    with _lock:
        _groups["known"] = (now, groups)
    return groups


def first_month_rule(*, plan_code: str) -> str:
    """The plan's first-month term (``catalog.domain.FirstMonth``), read afresh: it is
    needed once per line, at activation. Raises PlanNotFound."""
    plan = catalog_queries.plan_with_groups(code=plan_code)
    if plan is None:
        raise catalog_queries.PlanNotFound(code=plan_code)
    return plan.first_month


def forget_cached() -> None:
    """Drop cached tariffs (tests that edit plans)."""
    with _lock:
        _cache.clear()
        _groups.clear()


def line_id_for(*, subscriber: str) -> int:
    """The live line a subscriber id names: ``msisdn-8613912345678`` (or a bare 11-digit
    number) or ``imsi-460001234567890``. Raises UnknownSubscriber."""
    text = (subscriber or "").strip()
    kind, _, value = text.partition("-") if "-" in text else ("msisdn", "", text)
    found = None
    if kind == "msisdn" and value.isdigit():
        msisdn = value[2:] if len(value) == 13 and value.startswith("86") else value
        found = online_store.line_for_subscriber(msisdn=msisdn, imsi=None)
    elif kind == "imsi" and value.isdigit():
        found = online_store.line_for_subscriber(msisdn=None, imsi=value)
    if found is None:
        raise UnknownSubscriber(subscriber=text[:40])
    return found
