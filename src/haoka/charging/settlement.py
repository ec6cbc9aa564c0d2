"""Settling an online-charging reservation (pure): used units fill what :func:`domain.rate`
reserved, in the order it was drawn; the rest goes back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from haoka.charging.domain import (
    STEP,
    Draw,
    NegativeUsage,
    Rating,
    Source,
    Tariff,
    Unit,
    _check_carry,
    price_per_step,
    split_fen,
)


@dataclass(frozen=True)
class SettledDraw:
    """One reserved draw split into what was used (committed) and what goes back."""

    bucket_id: int | str | None
    source: Source
    reserved: int
    committed: int
    released: int


@dataclass(frozen=True)
class Settlement:
    """The outcome of committing ``used`` units against a reservation.

    ``daily_fee_fen`` is charged (and the DAILY bucket created) only when the daily draw was
    used; ``forgiven_fen`` is money the recomputed cost exceeded the reservation by (another
    session moved the carry meanwhile) and is not charged. ``overage`` is used beyond the
    reservation, to be rated by a fresh :func:`rate`.
    """

    draws: tuple[SettledDraw, ...]
    daily_fee_fen: int
    daily_fee_released_fen: int
    zero_rated: int
    wallet_units: int
    wallet_fen: int
    wallet_fen_released: int
    carry: Decimal
    forgiven_fen: int
    overage: int


def _commit_wallet(
    *, units: int, unit: Unit, tariff: Tariff, reserved_fen: int, carry: Decimal
) -> tuple[int, Decimal, int]:
    """Fen for ``units`` used from the wallet at ``carry``, capped at the reservation:
    (fen committed, new carry, fen forgiven)."""
    if units == 0:
        return 0, carry, 0
    steps = -(-units // STEP[Unit(unit)])
    price = price_per_step(tariff=tariff, unit=unit)
    fen, new_carry = split_fen(steps=steps, price=price, carry=carry)
    if fen <= reserved_fen:
        return fen, new_carry, 0
    # The carry grew since the reservation (another session committed); the held money is
    # the most this session may take, so the extra fen is dropped rather than overdrawn.
    return reserved_fen, new_carry, fen - reserved_fen


def _fill(draws: Iterable[Draw], *, used: int) -> tuple[list[SettledDraw], int]:
    """Used units fill the draws in order; returns the settled draws and the units left."""
    settled = []
    for draw in draws:
        committed = min(used, draw.amount)
        used -= committed
        settled.append(
            SettledDraw(
                draw.bucket_id, draw.source, draw.amount, committed, draw.amount - committed
            )
        )
    return settled, used


def settle(
    *, reserved: Rating, used: int, unit: Unit, tariff: Tariff, carry_at_commit: Decimal
) -> Settlement:
    """Commit ``used`` rated units against a reservation made by :func:`rate`: used units fill
    the reserved draws in the order they were drawn (buckets, daily, then free units and the
    wallet); the rest is released. Wallet fen are recomputed with ``carry_at_commit``.

    Raises NegativeUsage, InvalidChargingData.
    """
    if used < 0:
        raise NegativeUsage(unit=str(unit), used=used)
    _check_carry(carry_at_commit)
    settled, left = _fill(reserved.draws, used=min(used, reserved.granted))
    zero_rated = min(left, reserved.zero_rated)
    wallet_units = left - zero_rated
    fen, carry, forgiven = _commit_wallet(
        units=wallet_units,
        unit=unit,
        tariff=tariff,
        reserved_fen=reserved.wallet_fen,
        carry=carry_at_commit,
    )
    fee = reserved.daily_purchase.fee_fen if reserved.daily_purchase else 0
    daily_used = any(s.bucket_id is None and s.committed > 0 for s in settled)
    return Settlement(
        draws=tuple(settled),
        daily_fee_fen=fee if daily_used else 0,
        daily_fee_released_fen=0 if daily_used else fee,
        zero_rated=zero_rated,
        wallet_units=wallet_units,
        wallet_fen=fen,
        wallet_fen_released=reserved.wallet_fen - fen,
        carry=carry,
        forgiven_fen=forgiven,
        overage=max(0, used - reserved.granted),
    )
