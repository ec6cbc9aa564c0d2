"""Budget slices: how thousands of lines draw on one campaign without a hot spot, and the
budget is never overspent.

A campaign's unsliced budget is split over ``BudgetShard`` rows (``domain.SHARDS``). A line
that needs sponsored data takes a slice: bytes (at most ``domain.SLICE_BYTES``, what is
left of its monthly cap, what the shard can pay) whose money, rounded up, leaves one shard
by a conditional UPDATE (``available_fen >= money``): its home shard
(``domain.home_shard``), else the next ones that have money. No statement locks more than
that one shard row, and a failed conditional UPDATE keeps no lock, so lines wait only for
the few others on their own shard. The line's month row (``LineCampaignMonth``, CHECK
``taken_bytes <= cap_bytes``) is locked first: a line never exceeds its cap, whatever runs
at once. When the line uses the slice up or it expires, charging settles it: the used bytes
are charged by cumulative rounding over the line's month of the campaign (the month row
keeps settled bytes and fen; a settlement charges round(all bytes x price) minus what was
charged before, never more than the slice held), the rest goes back to its shard
(or, the campaign ended, to the wallet) and to the line's cap.

Money: slicing moves none on the ledger (the shards and open slices are parts of the
sponsor's held account); settling posts held -> ``revenue:sponsored_data`` and the bytes'
wholesale cost ``expense:sponsored_data_wholesale`` -> ``liability:carrier_wholesale_payable``.

Lock order: a slice's row, the line's month row, one shard; the campaign's row only to move
its status between ACTIVE and EXHAUSTED, never waiting for it (``_move_status``). A
transaction that inserts a slice takes FOR KEY SHARE on the campaign's row (its foreign
key): everything else that locks the row (staff's changes included) takes FOR NO KEY
UPDATE, which does not conflict with it, so no updater queues there while holding what a
slicing line waits for (PostgreSQL found that deadlock in the 200-line test). A
transaction that takes several slices keeps every shard it took locked until it commits:
the hot path takes a request's later slices from the shard it holds (``shard_id``), and a
grant (:func:`take_exact`) locks its shards in ascending order."""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from haoka.core import accounts_chart as chart
from haoka.core import ledger
from haoka.core.errors import Conflict
from haoka.lines import queries as line_queries
from haoka.lines.domain import LineState
from haoka.sponsors import camara_ends, campaigns, domain, wallet
from haoka.sponsors.domain import (
    CAMPAIGN_MACHINE,
    CampaignKind,
    CampaignStatus,
    MemberStatus,
    SliceGrant,
    SliceState,
)
from haoka.sponsors.models import (
    BudgetShard,
    Campaign,
    LineCampaignMonth,
    PoolMember,
    Slice,
    SponsorOptIn,
    SponsorOptOut,
)

log = structlog.get_logger(__name__)


class OverLineCap(Conflict):
    code = "grant_over_line_cap"
    message = "超出该号码本月的赞助上限"


class OverBudget(Conflict):
    code = "grant_over_budget"
    message = "活动预算不足以发放这些流量"


def take_slice(
    *, campaign_id: str, line_id: int, want_bytes: int, now: dt.datetime,
    shard_id: int | None = None, largest: int = domain.SLICE_BYTES,
    until: dt.datetime | None = None, granule: int = 1,
) -> SliceGrant | None:  # fmt: skip
    """A slice of the campaign for the line, or None: the campaign is not ACTIVE or not
    valid now, the line is not active, not eligible, opted out of the sponsor, at its cap
    for the month, or no shard can pay (the campaign then becomes EXHAUSTED). At most
    ``largest`` bytes, a whole number of ``granule`` bytes, valid until ``until`` at the
    latest (a CAMARA session's end; else the month's end). ``shard_id``: from that shard
    only (the caller's transaction already holds its row: a transaction that locked one
    shard and waited for another could deadlock with one doing the reverse)."""
    if want_bytes <= 0:
        return None
    campaign = Campaign.objects.select_related("sponsor").filter(campaign_id=campaign_id).first()
    if campaign is None or not may_draw(campaign, line_id=line_id, now=now):
        return None
    month = domain.month_of(now)
    with transaction.atomic():
        row = _month_row(campaign, line_id=line_id, month=month)
        cap_left = row.cap_bytes - row.taken_bytes
        if cap_left <= 0:
            return None
        want = min(want_bytes, cap_left, largest) // granule * granule
        if want <= 0:
            return None
        taken = _take_from_shards(
            campaign, line_id=line_id, want=want, granule=granule, only=shard_id
        )
        if taken is None:
            if shard_id is None:
                _exhaust(campaign, now=now)
            return None
        valid_to = min(until or domain.month_end(now), campaign.valid_to)
        piece = _record_slice(campaign, row=row, taken=taken, valid_to=valid_to, now=now)
        _thresholds(campaign, now=now)
    return _grant_of(piece, campaign=campaign, rating_groups=tuple(campaign.rating_groups))


def may_draw(campaign: Campaign, *, line_id: int, now: dt.datetime) -> bool:
    """Whether the campaign is live and the line active, eligible and not opted out."""
    if not _live(campaign, now):
        return False
    facts = line_queries.line_facts(line_id=line_id)
    if facts is None or facts.status != LineState.ACTIVE:
        return False
    return _eligible(campaign, facts, line_id=line_id)


def take_exact(
    campaign: Campaign, *, line_id: int, size: int, valid_to: dt.datetime, now: dt.datetime,
    rating_groups: tuple[int, ...], grant_pk: int | None = None,
) -> list[SliceGrant]:  # fmt: skip
    """``size`` bytes of the campaign for the line, whole or not at all (a 流量红包): slices
    of any size, from its home shard on (:func:`_plan_pieces`), in the caller's transaction
    (which rolls back what was taken when this raises). The caller checked
    :func:`may_draw`. Raises OverLineCap
    (the line's cap for the month has no room for them), OverBudget (the shards cannot pay
    them all)."""
    row = _month_row(campaign, line_id=line_id, month=domain.month_of(now))
    if row.cap_bytes - row.taken_bytes < size:
        raise OverLineCap(cap_left_mb=(row.cap_bytes - row.taken_bytes) // domain.MB)
    grants = []
    for shard_id, piece_bytes in _plan_pieces(campaign, line_id=line_id, size=size):
        money = domain.money_for(piece_bytes, campaign.price_fen_per_gb)
        moved = BudgetShard.objects.filter(pk=shard_id, available_fen__gte=money).update(
            available_fen=F("available_fen") - money
        )
        if not moved:  # another line took from it since the plan was read
            raise OverBudget(campaign_id=campaign.campaign_id)
        piece = _record_slice(campaign, row=row, taken=(shard_id, piece_bytes, money),
                              valid_to=valid_to, now=now, grant_pk=grant_pk)  # fmt: skip
        grants.append(_grant_of(piece, campaign=campaign, rating_groups=rating_groups))
    _thresholds(campaign, now=now)
    return grants


def _plan_pieces(campaign: Campaign, *, line_id: int, size: int) -> list[tuple[int, int]]:
    """(shard id, bytes) pieces paying ``size`` from the line's home shard on, as the
    shards' unlocked balances allow, in ascending shard order: every transaction that
    locks several shards locks them in that order, so two never wait for each other.
    Raises OverBudget (they cannot pay it all)."""
    price = campaign.price_fen_per_gb
    shards = list(
        BudgetShard.objects.filter(campaign=campaign)
        .order_by("index")
        .values_list("index", "id", "available_fen")
    )
    home = domain.home_shard(line_id, len(shards))
    pieces, left = [], size
    for index, shard_id, available in shards[home:] + shards[:home]:
        piece = min(left, domain.affordable_bytes(available, price))
        if piece > 0:
            pieces.append((index, shard_id, piece))
            left -= piece
        if left == 0:
            return [(shard_id, piece) for _, shard_id, piece in sorted(pieces)]
    raise OverBudget(campaign_id=campaign.campaign_id)


def _record_slice(
    campaign: Campaign, *, row: LineCampaignMonth, taken: tuple[int, int, int],
    valid_to: dt.datetime, now: dt.datetime, grant_pk: int | None = None,
) -> Slice:  # fmt: skip
    shard_id, size, money = taken
    LineCampaignMonth.objects.filter(pk=row.pk).update(taken_bytes=F("taken_bytes") + size)
    return Slice.objects.create(
        campaign=campaign, shard_id=shard_id, line_id=row.line_id, month=row.month, bytes=size,
        held_fen=money, created_at=now, valid_to=valid_to, grant_id=grant_pk,
    )  # fmt: skip


def _grant_of(piece: Slice, *, campaign: Campaign, rating_groups: tuple[int, ...]) -> SliceGrant:
    return SliceGrant(
        slice_id=piece.pk,
        campaign_id=campaign.campaign_id,
        sponsor_id=campaign.sponsor.sponsor_id,
        rating_groups=rating_groups,
        bytes=piece.bytes,
        held_fen=piece.held_fen,
        valid_to=piece.valid_to,
        label=f"由 {campaign.sponsor.company_name} 赞助",
        shard_id=piece.shard_id,
    )


def _live(campaign: Campaign, now: dt.datetime) -> bool:
    return (
        campaign.status == CampaignStatus.ACTIVE and campaign.valid_from <= now < campaign.valid_to
    )


def _eligible(campaign: Campaign, facts, *, line_id: int) -> bool:
    if SponsorOptOut.objects.filter(line_id=line_id, sponsor_id=campaign.sponsor_id).exists():
        return False
    if campaign.kind == CampaignKind.ENTERPRISE_POOL and not _pool_member(campaign, line_id):
        return False
    rules = campaign.eligibility
    opted_in = bool(rules.get("opted_in")) and (
        SponsorOptIn.objects.filter(line_id=line_id, campaign=campaign).exists()
    )
    province = campaigns.province_of(facts.msisdn) if "provinces" in rules else ""
    return domain.eligible(rules, plan_code=facts.plan_code, province=province, opted_in=opted_in)


def _pool_member(campaign: Campaign, line_id: int) -> bool:
    """Whether the line is an ACTIVE member of the 企业流量池 (``sponsors.pool``)."""
    return PoolMember.objects.filter(
        campaign=campaign, line_id=line_id, status=MemberStatus.ACTIVE
    ).exists()


def _month_row(campaign: Campaign, *, line_id: int, month: str) -> LineCampaignMonth:
    """The line's month row of the campaign, made if need be, locked."""
    cap = campaign.per_line_cap_mb * domain.MB
    # Only this row (``of``, no ordering join): a lock reaching the campaign's row would
    # make every line of the campaign queue there.
    found = (
        LineCampaignMonth.objects.select_for_update(of=("self",))
        .filter(campaign=campaign, line_id=line_id, month=month)
        .order_by()
    )
    row = found.first()
    if row is None:
        try:
            with transaction.atomic():
                LineCampaignMonth.objects.create(
                    campaign=campaign, line_id=line_id, month=month, cap_bytes=cap
                )
        except IntegrityError:
            pass  # made at the same moment by another request of the line
        row = found.get()
    return row


def _take_from_shards(
    campaign: Campaign, *, line_id: int, want: int, granule: int = 1, only: int | None = None
) -> tuple[int, int, int] | None:
    """(shard id, bytes, money) taken from the first shard that can pay, from the line's
    home shard on (``only``: that shard alone); None when none can. A whole-volume take (a
    CAMARA session, ``granule`` above 1) first looks for a shard that pays all of it, then
    takes what one can pay."""
    found = BudgetShard.objects.filter(campaign=campaign)
    if only is not None:
        found = found.filter(pk=only)
    shards = list(found.order_by("index").values_list("id", "available_fen"))
    home = domain.home_shard(line_id, len(shards))
    ordered = shards[home:] + shards[:home]
    price = campaign.price_fen_per_gb
    if granule > 1:
        for shard_id, available in ordered:
            if domain.affordable_bytes(available, price) >= want:
                taken = _take_from(shard_id, available, want=want, price=price, granule=granule)
                if taken is not None:  # all of it, or a part if another took meanwhile
                    return taken
    for shard_id, available in ordered:
        taken = _take_from(shard_id, available, want=want, price=price, granule=granule)
        if taken is not None:
            return taken
    return None


def _take_from(
    shard_id: int, available: int, *, want: int, price: int, granule: int
) -> tuple[int, int, int] | None:
    """Take a slice of at most ``want`` from one shard by a conditional UPDATE (no lock
    kept when it fails)."""
    for _ in range(3):  # another line took from this shard meanwhile: look again
        affordable = domain.affordable_bytes(available, price)
        size = domain.slice_size(want=want, cap_left=want, affordable=affordable, largest=want)
        size = size // granule * granule
        if size <= 0:
            return None
        money = domain.money_for(size, price)
        moved = BudgetShard.objects.filter(pk=shard_id, available_fen__gte=money).update(
            available_fen=F("available_fen") - money
        )
        if moved:
            return shard_id, size, money
        available = BudgetShard.objects.filter(pk=shard_id).values_list("available_fen", flat=True)[
            0
        ]
    return None


def _move_status(campaign: Campaign, *, source: CampaignStatus, target: CampaignStatus,
                 reason: str, now: dt.datetime) -> bool:  # fmt: skip
    """``source`` -> ``target`` once, without waiting: the campaign's row is locked FOR NO KEY
    UPDATE SKIP LOCKED (another line moving it, or staff changing it, is left to do so; the
    row's FOR KEY SHARE locks, taken by every insert of a slice, never conflict with it), so
    a line never queues on the campaign. True when this call moved it."""
    CAMPAIGN_MACHINE.check(current=source, target=target)
    locked = (
        Campaign.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(pk=campaign.pk, status=source)
        .values_list("pk", flat=True)
        .first()
    )
    if locked is None:
        return False
    Campaign.objects.filter(pk=locked).update(status=target)
    campaign.events.create(
        from_status=source, to_status=target, actor="system", reason=reason, at=now
    )
    return True


def _exhaust(campaign: Campaign, *, now: dt.datetime) -> None:
    """ACTIVE -> EXHAUSTED once no shard can pay (and the 100% outbox row, in case the take
    that emptied the last shard did not see the others empty)."""
    campaigns.record_events(campaign_pk=campaign.pk, kinds=["THRESHOLD_100"], now=now)
    source, target = CampaignStatus.ACTIVE, CampaignStatus.EXHAUSTED
    if _move_status(campaign, source=source, target=target, reason="预算已全部切分", now=now):
        log.info("campaign_exhausted", campaign_id=campaign.campaign_id)


def _thresholds(campaign: Campaign, *, now: dt.datetime) -> None:
    available = BudgetShard.objects.filter(campaign=campaign).aggregate(a=Sum("available_fen"))
    kinds = domain.thresholds_crossed(budget_fen=campaign.budget_fen, available_fen=available["a"])
    campaigns.record_events(campaign_pk=campaign.pk, kinds=kinds, now=now)


# ---------------------------------------------------------------- settling


def settle_slice(*, slice_id: int, used_bytes: int, now: dt.datetime,
                 end_hint: str | None = None) -> Slice:  # fmt: skip
    """Charge the slice's used bytes at its campaign's price and give back the rest (to its
    shard, or to the wallet when the campaign ended; and to the line's cap); a CAMARA
    session on the slice ends (``end_hint``: why, when its closer knows). Idempotent: a
    settled slice is returned as it is. Raises Slice.DoesNotExist."""
    with transaction.atomic():
        piece = Slice.objects.select_for_update().get(pk=slice_id)
        if piece.state == SliceState.SETTLED:
            return piece
        campaign = Campaign.objects.select_related("sponsor").get(pk=piece.campaign_id)
        used = max(0, min(int(used_bytes), piece.bytes))
        charge = _settle_month(piece, campaign=campaign, used=used)
        rest = piece.held_fen - charge
        _post(piece, campaign=campaign, used=used, charge=charge)
        if campaign.status == CampaignStatus.ENDED:
            _return_to_wallet(piece, campaign=campaign, rest=rest)
            BudgetShard.objects.filter(pk=piece.shard_id).update(spent_fen=F("spent_fen") + charge)
        else:
            BudgetShard.objects.filter(pk=piece.shard_id).update(
                available_fen=F("available_fen") + rest, spent_fen=F("spent_fen") + charge
            )
            if rest > 0:
                _revive(campaign, now=now)
        domain.SLICE_MACHINE.check(current=piece.state, target=SliceState.SETTLED)
        piece.state, piece.used_bytes, piece.charged_fen = SliceState.SETTLED, used, charge
        piece.settled_at = now
        piece.save(update_fields=["state", "used_bytes", "charged_fen", "settled_at"])
        camara_ends.slice_settled(piece, hint=end_hint, now=now)
    return piece


def _settle_month(piece: Slice, *, campaign: Campaign, used: int) -> int:
    """What the slice's ``used`` bytes charge, by cumulative rounding over the line's month
    of the campaign (``domain.cumulative_charge``), recorded on its month row (locked), and
    the unused bytes given back to the line's cap."""
    row = (
        LineCampaignMonth.objects.select_for_update(of=("self",))
        .filter(campaign_id=campaign.pk, line_id=piece.line_id, month=piece.month)
        .order_by()
        .get()
    )
    charge = domain.cumulative_charge(
        used_before=row.used_bytes, charged_before=row.charged_fen, used=used,
        price=campaign.price_fen_per_gb,
    )  # fmt: skip
    LineCampaignMonth.objects.filter(pk=row.pk).update(
        taken_bytes=F("taken_bytes") - (piece.bytes - used),
        used_bytes=F("used_bytes") + used,
        charged_fen=F("charged_fen") + charge,
    )
    return charge


def _post(piece: Slice, *, campaign: Campaign, used: int, charge: int) -> None:
    """Held -> revenue for what the sponsor pays; the bytes' wholesale cost -> owed to the
    carrier. Revenue minus that expense is the margin."""
    facts = line_queries.line_facts(line_id=piece.line_id)
    carrier = facts.carrier_code if facts else ""
    rate = wallet.wholesale_fen_per_gb(carrier_code=carrier, at=piece.created_at)
    if rate is None:
        log.warning("wholesale_rate_missing", carrier=carrier, slice_id=piece.pk)
    cost = domain.cost_for(used, rate or 0)
    sid = campaign.sponsor.sponsor_id
    legs = []
    if charge:
        legs += [
            ledger.Leg(chart.sponsor_held(sponsor_id=sid), charge),
            ledger.Leg(chart.SPONSORED_DATA_REVENUE, -charge),
        ]
    if cost:
        legs += [
            ledger.Leg(chart.SPONSORED_DATA_WHOLESALE, cost),
            ledger.Leg(chart.CARRIER_WHOLESALE_PAYABLE, -cost),
        ]
    if legs:
        ledger.post(
            legs=legs,
            kind="sponsor.slice_settled",
            memo=f"活动 {campaign.campaign_id} 切片 {piece.pk}：{used} 字节，"
            f"收入 {charge} 分，批发成本 {cost} 分，毛利 {charge - cost} 分",
            key=f"sponsor_slice:{piece.pk}",
        )


def _return_to_wallet(piece: Slice, *, campaign: Campaign, rest: int) -> None:
    if rest <= 0:
        return
    sid = campaign.sponsor.sponsor_id
    ledger.post(
        legs=[
            ledger.Leg(chart.sponsor_held(sponsor_id=sid), rest),
            ledger.Leg(chart.sponsor_wallet(sponsor_id=sid), -rest),
        ],
        kind="sponsor.campaign_returned",
        memo=f"活动 {campaign.campaign_id} 已结束，切片 {piece.pk} 未用预算退回",
        key=f"sponsor_slice_return:{piece.pk}",
    )
    Campaign.objects.filter(pk=campaign.pk).update(budget_fen=F("budget_fen") - rest)


def _revive(campaign: Campaign, *, now: dt.datetime) -> None:
    """EXHAUSTED -> ACTIVE when budget comes back to a campaign still valid."""
    if campaign.status != CampaignStatus.EXHAUSTED or now >= campaign.valid_to:
        return
    source, target = CampaignStatus.EXHAUSTED, CampaignStatus.ACTIVE
    _move_status(campaign, source=source, target=target, reason="切片结算退回预算", now=now)
