"""Add-on packs (加油包): the on-sale catalog packs a line's carrier offers, and buying one
from the wallet.

A purchase runs under the line's charging lock (``linebook.open_book``), the same lock every
rating takes, so a pack bought while sessions are charging never spends money they hold:
the price must fit in the wallet's balance minus what open sessions reserve.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import transaction

from haoka.catalog import queries as catalog_queries
from haoka.charging import alerts, cycle, linebook, notifications
from haoka.charging.domain import Source, Unit
from haoka.charging.models import Bucket, PackPurchase
from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import Conflict, NotFound
from haoka.core.money import format_fen
from haoka.lines import queries as line_queries
from haoka.lines.domain import LineState

PACK_REVENUE = chart.PACK_REVENUE
#: Redeem codes are read and typed by people: no 0/O, 1/I/L.
REDEEM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class PackNotFound(NotFound):
    code = "pack_not_found"
    message = "该加油包不存在或已下架"


class LineNotActive(Conflict):
    code = "line_not_active"
    message = "线路当前不是正常状态，不能订购加油包"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    message = "余额不足，请先充值"


@dataclass(frozen=True)
class Offer:
    """A pack as the owner sees it in the catalog."""

    code: str
    name: str
    kind: str
    price_fen: int
    data_bytes: int
    voice_seconds: int
    validity_days: int
    window: str  # "23:00-07:00" or ""
    rating_groups: list[int]
    benefit_name: str


def _on_sale(carrier_code: str):
    return catalog_queries.packs_on_sale(carrier_code=carrier_code)


def _offer(pack) -> Offer:
    window = ""
    if pack.window_start is not None and pack.window_end is not None:
        window = f"{pack.window_start:%H:%M}-{pack.window_end:%H:%M}"
    return Offer(
        code=pack.code,
        name=pack.name,
        kind=pack.kind,
        price_fen=pack.price_fen,
        data_bytes=pack.data_bytes,
        voice_seconds=pack.voice_seconds,
        validity_days=pack.validity_days,
        window=window,
        rating_groups=sorted(g.number for g in pack.rating_groups.all()),
        benefit_name=pack.benefit.name if pack.benefit else "",
    )


def offers(*, carrier_code: str) -> list[Offer]:
    """On-sale packs for the carrier (those for every carrier included), in catalog order."""
    return [_offer(p) for p in _on_sale(carrier_code).order_by("sort", "price_fen", "id")]


def new_redeem_code() -> str:
    """A benefit redeem code: 16 characters in groups of four (XXXX-XXXX-XXXX-XXXX)."""
    raw = "".join(secrets.choice(REDEEM_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def buy(*, line_id: int, pack_code: str, now: dt.datetime) -> PackPurchase:
    """Buy a pack for the line from its wallet: the price is debited (wallet -> pack revenue),
    the pack's allowances are granted as buckets (``origin="pack:<purchase id>"``) and a
    MEMBERSHIP pack gets a redeem code. Raises PackNotFound, LineNotActive,
    InsufficientBalance, UnknownSubscriber (a line never provisioned)."""
    line = line_queries.status_and_plan(line_id=line_id)
    pack = _on_sale(line.carrier_code if line else "").filter(code=pack_code).first()
    if pack is None:
        raise PackNotFound(pack_code=str(pack_code)[:40])
    with transaction.atomic():
        book = linebook.open_book(line_id, since=now)
        if book.line.status != LineState.ACTIVE:
            raise LineNotActive(status=book.line.status)
        available = book.wallet().available_fen
        if available < pack.price_fen:
            raise InsufficientBalance(
                available_fen=available,
                price_fen=pack.price_fen,
                available=format_fen(available),
                price=format_fen(pack.price_fen),
            )
        purchase = _record(pack, line_id=line_id, now=now)
        if pack.price_fen:
            _debit(purchase, line_id=line_id)
        _grant(purchase, pack, now=now)
        notifications.quota_available(line_id=line_id, cause=f"pack:{purchase.pk}", now=now)
        alerts.after_debit(
            line_id=line_id, before_fen=available, after_fen=available - pack.price_fen, now=now
        )
    return purchase


def give(*, line_id: int, pack_code: str, now: dt.datetime) -> PackPurchase:
    """Activate a pack on the line that was paid otherwise (with points: ``points_shop``):
    recorded at price 0 (no money moved), its buckets granted as :func:`buy` grants them.
    Takes the line's charging lock; call inside the caller's transaction. Raises
    PackNotFound, LineNotActive, UnknownSubscriber."""
    line = line_queries.status_and_plan(line_id=line_id)
    pack = _on_sale(line.carrier_code if line else "").filter(code=pack_code).first()
    if pack is None:
        raise PackNotFound(pack_code=str(pack_code)[:40])
    book = linebook.open_book(line_id, since=now)
    if book.line.status != LineState.ACTIVE:
        raise LineNotActive(status=book.line.status)
    purchase = _record(pack, line_id=line_id, now=now, price_fen=0)
    _grant(purchase, pack, now=now)
    notifications.quota_available(line_id=line_id, cause=f"pack:{purchase.pk}", now=now)
    return purchase


def _record(pack, *, line_id: int, now: dt.datetime, price_fen: int | None = None) -> PackPurchase:
    valid_from, valid_to = cycle.pack_validity(validity_days=pack.validity_days, at=now)
    membership = catalog_queries.is_membership(pack)
    return PackPurchase.objects.create(
        line_id=line_id,
        pack_code=pack.code,
        pack_name=pack.name,
        kind=pack.kind,
        price_fen=pack.price_fen if price_fen is None else price_fen,
        valid_from=valid_from,
        valid_to=valid_to,
        benefit_name=pack.benefit.name if membership and pack.benefit else "",
        redeem_code=new_redeem_code() if membership else "",
        created_at=now,
    )


def _debit(purchase: PackPurchase, *, line_id: int) -> None:
    ledger.post(
        legs=[
            ledger.Leg(chart.line_wallet(line_id=line_id), purchase.price_fen),
            ledger.Leg(PACK_REVENUE, -purchase.price_fen),
        ],
        kind="charging.pack",
        memo=f"订购 {purchase.pack_name}",
        key=f"pack:{purchase.pk}",
    )


def _grant(purchase: PackPurchase, pack, *, now: dt.datetime) -> list[Bucket]:
    """The pack's buckets: data (general, night window or targeted rating groups) and voice."""
    wanted = []
    if pack.data_bytes > 0:
        wanted.append((Unit.BYTES, pack.data_bytes))
    if pack.voice_seconds > 0:
        wanted.append((Unit.SECONDS, pack.voice_seconds))
    groups = sorted(g.number for g in pack.rating_groups.all())
    made = []
    for i, (unit, amount) in enumerate(wanted):
        made.append(
            Bucket.objects.create(
                line_id=purchase.line_id,
                unit=unit,
                source=Source.PACK,
                label=pack.name[:60],
                amount=amount,
                valid_from=purchase.valid_from,
                valid_to=purchase.valid_to,
                rating_groups=groups if unit == Unit.BYTES else [],
                window_start=pack.window_start if unit == Unit.BYTES else None,
                window_end=pack.window_end if unit == Unit.BYTES else None,
                origin=f"pack:{purchase.pk}" if i == 0 else f"pack:{purchase.pk}:{unit.lower()}",
                created_at=now,
            )
        )
    return made
