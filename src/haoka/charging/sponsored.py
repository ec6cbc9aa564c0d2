"""定向免流 on the hot path: a line takes a budget slice of a campaign covering the rating
group it asks quota for, as a SPONSOR bucket of its own, and the worker settles the slice
once the bucket is used up or over.

Before a BYTES request on a rating group is rated (``online._reserve``), :func:`take_slices`
looks the group up in a process-local copy of the live campaigns (refreshed every
``TTL``): no campaign, nothing else happens and nothing is queried. For each APP_FREE_FLOW
campaign of the group, the line's book (its buckets, loaded under its lock) says whether
it still holds as many sponsored bytes of that campaign as it asks for, or reached the
campaign's monthly cap; only otherwise is ``sponsors.slices.take_slice`` asked, and its
grant becomes a SPONSOR bucket (origin ``slice:<id>``, UNIQUE) in the same transaction,
put into the book so the rating that follows draws it first. A stale copy costs at most a
refused slice: ``take_slice`` checks the campaign's row.

企业流量池 (ENTERPRISE_POOL) campaigns are drawn the same way, for any rating group, by the
lines the copy lists as their ACTIVE members. A 流量红包's slices come from the grant
(``sponsors.rewards``, signal ``slices_granted``: :func:`credit_granted`). A request whose
PDU container information names a ``sponsorIdentity`` is paid by that sponsor's buckets
only (:func:`payable_by`).

Lock order: the line's charging lock (held by the hot path; taken first by the settling
worker), then what ``sponsors.slices`` locks (slice, the line's month row, one shard).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from django.db import transaction

from haoka.charging import online_store as store
from haoka.charging.domain import PayerKind, Source, Unit
from haoka.charging.models import Bucket, ChargingAccount
from haoka.sponsors import domain as sponsor_domain
from haoka.sponsors import queries as sponsor_queries
from haoka.sponsors import slices
from haoka.sponsors.domain import CampaignKind

if TYPE_CHECKING:
    from haoka.charging.domain import Bucket as EngineBucket
    from haoka.charging.linebook import Book
    from haoka.sponsors.domain import SliceGrant
    from haoka.sponsors.queries import LiveCampaign

log = structlog.get_logger(__name__)

#: How long a process keeps the live campaigns (a new or resumed campaign waits this long).
TTL = dt.timedelta(seconds=5)
ORIGIN = "slice:"


@dataclass(frozen=True)
class _Live:
    """The process's copy: live campaigns by rating group, and the ACTIVE members of the
    live 企业流量池 campaigns (a member confirmed or removed waits ``TTL``; ``take_slice``
    checks the membership row, so a stale copy costs at most a refused slice)."""

    at: dt.datetime
    by_group: dict[int | None, list[LiveCampaign]]
    pools: list[LiveCampaign]
    members: dict[str, frozenset[int]]


_cache: _Live | None = None
_cache_lock = threading.Lock()


def forget_cached() -> None:
    """Drop the process's copy of the live campaigns (tests; staff's changes wait ``TTL``)."""
    global _cache
    _cache = None


def _live(now: dt.datetime) -> _Live:
    """The process's copy (two queries when it is older than ``TTL``, or from a later
    ``now`` than a clock gone back; one when no pool is live)."""
    global _cache
    cached = _cache
    if cached is None or not (cached.at <= now < cached.at + TTL):
        with _cache_lock:
            cached = _cache
            if cached is None or not (cached.at <= now < cached.at + TTL):
                by_group = sponsor_queries.live_campaigns_by_rating_group(now=now)
                pools = [
                    c for c in by_group.get(None, ()) if c.kind == CampaignKind.ENTERPRISE_POOL
                ]
                members = (
                    sponsor_queries.active_pool_members(campaign_ids=[c.campaign_id for c in pools])
                    if pools
                    else {}
                )
                cached = _cache = _Live(now, by_group, pools, members)
    return cached


def free_flow_campaigns(rating_group: int | None, *, now: dt.datetime) -> list[LiveCampaign]:
    """The live APP_FREE_FLOW campaigns covering ``rating_group``, from the process's copy."""
    found = _live(now).by_group.get(rating_group)
    if not found:
        return []
    return [c for c in found if c.kind == CampaignKind.APP_FREE_FLOW]


def pool_campaigns(line_id: int, *, now: dt.datetime) -> list[LiveCampaign]:
    """The live 企业流量池 campaigns the line is an ACTIVE member of (any traffic), from the
    process's copy."""
    live = _live(now)
    return [c for c in live.pools if line_id in live.members.get(c.campaign_id, ())]


#: Slices one request may take of one campaign (a request of more than 300 MB is rare).
MAX_TAKES = 4


def take_slices(book: Book, *, rating_group: int | None, want: int, now: dt.datetime,
                sponsor_id: str | None = None) -> None:  # fmt: skip
    """Give the line SPONSOR buckets of each free-flow campaign of ``rating_group`` (and of
    each 企业流量池 it is an ACTIVE member of) until it
    holds ``want`` bytes of it free to draw, below the campaign's monthly cap, while the
    campaign grants slices. A slice is asked for at least ``SLICE_BYTES``: one per request
    would make a slice, and a settling, of every few megabytes. Asking again while a few
    bytes are left (rather than only once none are) keeps a request from spilling onto the
    line's own buckets while the sponsor would still pay. ``sponsor_id`` (the request's
    ``sponsorIdentity``): only that sponsor's campaigns."""
    if want <= 0:
        return
    drawn = free_flow_campaigns(rating_group, now=now) + pool_campaigns(book.line.line_id, now=now)
    for campaign in drawn:
        if sponsor_id is not None and campaign.sponsor_id != sponsor_id:
            continue
        for _ in range(MAX_TAKES):
            free, taken = _held(book, campaign, now=now)
            if free >= want or taken >= campaign.cap_bytes:
                break
            if not _take(book, campaign, want=max(want - free, sponsor_domain.SLICE_BYTES),
                         now=now):  # fmt: skip
                break


def _take(book: Book, campaign: LiveCampaign, *, want: int, now: dt.datetime) -> bool:
    """One slice into the book; a second one in the request from the same shard only."""
    grant = slices.take_slice(
        campaign_id=campaign.campaign_id, line_id=book.line.line_id, want_bytes=want, now=now,
        shard_id=book.sponsor_shards.get(campaign.campaign_id),
    )  # fmt: skip
    if grant is None:
        return False
    book.sponsor_shards.setdefault(campaign.campaign_id, grant.shard_id)
    bucket = _bucket_of(grant, line_id=book.line.line_id, now=now)
    book.buckets[bucket.pk] = store.BucketRow(
        bucket.pk, Unit.BYTES, Source.SPONSOR, grant.bytes, 0, 0, now, grant.valid_to,
        list(grant.rating_groups), None, None, PayerKind.SPONSOR, grant.campaign_id,
    )  # fmt: skip
    log.info("sponsor_slice_taken", line_id=book.line.line_id, slice_id=grant.slice_id,
             campaign_id=grant.campaign_id, bytes=grant.bytes)  # fmt: skip
    return True


def _bucket_of(grant: SliceGrant, *, line_id: int, now: dt.datetime) -> Bucket:
    """The SPONSOR bucket of a slice (origin ``slice:<id>``, UNIQUE)."""
    return Bucket.objects.create(
        line_id=line_id, unit=Unit.BYTES, source=Source.SPONSOR,
        payer_kind=PayerKind.SPONSOR, payer_id=grant.campaign_id, label=grant.label[:60],
        amount=grant.bytes, valid_from=now, valid_to=grant.valid_to,
        rating_groups=list(grant.rating_groups), origin=f"{ORIGIN}{grant.slice_id}",
        created_at=now,
    )  # fmt: skip


def credit_granted(*, line_id: int, grants: list[SliceGrant], now: dt.datetime) -> None:
    """SPONSOR buckets of slices a line was granted outside the hot path (a 流量红包), in
    the granting transaction; the settling worker settles them as every slice."""
    for grant in grants:
        _bucket_of(grant, line_id=line_id, now=now)


def _held(book: Book, campaign: LiveCampaign, *, now: dt.datetime) -> tuple[int, int]:
    """(bytes of the campaign the line may still draw now, bytes it took this Beijing
    month): its slices' buckets end with the month at the latest, so the book has them."""
    month = sponsor_domain.month_of(now)
    free = taken = 0
    for b in book.buckets.values():
        if b.source != Source.SPONSOR or b.payer_id != campaign.campaign_id:
            continue
        if b.valid_from > now or (b.valid_to is not None and now >= b.valid_to):
            continue
        free += b.amount - b.used - b.reserved
        if sponsor_domain.month_of(b.valid_from) == month:
            taken += b.amount
    return free, taken


def payable_by(buckets: list[EngineBucket], *, sponsor_id: str | None) -> list[EngineBucket]:
    """The buckets that may pay a usage whose request names ``sponsor_id`` as its
    ``sponsorIdentity``: all of them when it names none; else the line's own and that
    sponsor's SPONSOR buckets (a campaign of another sponsor does not pay). One query, and
    only when the request names a sponsor and the line holds SPONSOR buckets."""
    if sponsor_id is None:
        return buckets
    theirs = [b for b in buckets if b.source == Source.SPONSOR]
    if not theirs:
        return buckets
    ours = sponsor_queries.campaigns_of_sponsor(
        sponsor_id=sponsor_id, campaign_ids={str(b.payer_id) for b in theirs}
    )
    return [b for b in buckets if b.source != Source.SPONSOR or b.payer_id in ours]


# ---------------------------------------------------------------- settling


def settle(*, now: dt.datetime, page: int = 500, limit: int = 1000) -> int:
    """Settle the open slices whose bucket is used up (nothing left, nothing reserved) or
    ended (nothing reserved): ``settle_slice`` with the bucket's used bytes, each in its own
    transaction under the line's lock. At most ``limit`` a run, open slices read ``page`` at
    a time. Idempotent (a settled slice stays as it is). Returns how many were settled."""
    done, after = 0, 0
    while done < limit:
        ids = sponsor_queries.open_slice_ids(after_id=after, limit=page)
        if not ids:
            break
        after = ids[-1]
        for slice_id, line_id in _settleable(ids, now=now):
            if done >= limit:
                break
            done += _settle_one(slice_id, line_id=line_id, now=now)
    return done


def _settleable(ids: list[int], *, now: dt.datetime) -> list[tuple[int, int]]:
    found = Bucket.objects.filter(origin__in=[f"{ORIGIN}{i}" for i in ids], reserved=0)
    rows = found.values_list("origin", "line_id", "amount", "used", "valid_to")
    return [
        (int(origin.removeprefix(ORIGIN)), line_id)
        for origin, line_id, amount, used, valid_to in rows
        if used >= amount or (valid_to is not None and now >= valid_to)
    ]


def _settle_one(slice_id: int, *, line_id: int, now: dt.datetime) -> int:
    with transaction.atomic():
        # The line's lock first, as every rating takes it: the bucket cannot move meanwhile.
        list(ChargingAccount.objects.select_for_update().filter(line_id=line_id).values("pk"))
        bucket = Bucket.objects.get(origin=f"{ORIGIN}{slice_id}")
        ended = bucket.valid_to is not None and now >= bucket.valid_to
        if bucket.reserved or not (bucket.used >= bucket.amount or ended):
            return 0
        settled = slices.settle_slice(slice_id=slice_id, used_bytes=bucket.used, now=now)
    log.info("sponsor_slice_settled", slice_id=slice_id, line_id=line_id,
             used=settled.used_bytes, charged_fen=settled.charged_fen)  # fmt: skip
    return 1


# ---------------------------------------------------------------- CAMARA sessions


def open_session_bucket(*, grant: SliceGrant, line_id: int, now: dt.datetime) -> None:
    """A CAMARA session's slice as the line's SPONSOR bucket for any traffic (no rating
    group), until the session's end: the book draws SPONSOR buckets first, so the hot path
    pays the session first and asks nothing more (a line without a session costs nothing).
    Runs inside the session's starting transaction."""
    Bucket.objects.create(
        line_id=line_id, unit=Unit.BYTES, source=Source.SPONSOR, payer_kind=PayerKind.SPONSOR,
        payer_id=grant.campaign_id, label=grant.label[:60], amount=grant.bytes, valid_from=now,
        valid_to=grant.valid_to, rating_groups=list(grant.rating_groups),
        origin=f"{ORIGIN}{grant.slice_id}", created_at=now,
    )  # fmt: skip


def close_session_bucket(*, slice_id: int, line_id: int, reason: str, now: dt.datetime) -> None:
    """End a revoked session's bucket now, under the line's lock, and settle its slice at
    once when nothing of it is reserved (else the settling worker does, once the line's
    sessions report). Runs inside the revoking transaction."""
    list(ChargingAccount.objects.select_for_update().filter(line_id=line_id).values("pk"))
    bucket = Bucket.objects.filter(origin=f"{ORIGIN}{slice_id}").first()
    if bucket is None:
        return
    if bucket.valid_to is None or bucket.valid_to > now:
        Bucket.objects.filter(pk=bucket.pk).update(valid_to=now)
    if not bucket.reserved:
        slices.settle_slice(slice_id=slice_id, used_bytes=bucket.used, now=now, end_hint=reason)


def session_usage(*, slice_ids: list[int]) -> dict[int, int]:
    """Bytes used of the slices' buckets, by slice id."""
    rows = Bucket.objects.filter(origin__in=[f"{ORIGIN}{i}" for i in slice_ids])
    return {int(o.removeprefix(ORIGIN)): used for o, used in rows.values_list("origin", "used")}
