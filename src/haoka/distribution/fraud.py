"""Anti-fraud: a sale is screened when its line is activated (self-dealing, many orders from
one address or device) and an agent's lines are watched for 养卡 (activate, then close or
port out within days). A flag holds the sale's commission (nothing settles) until staff
decide: confirmed fraud claws back everything the sale earned, settled or not, and freezes the
agent (a frozen agent's ID cannot apply again); a dismissed flag releases the hold. Either
decision rescores the agent in its transaction."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from haoka.core.errors import NotFound
from haoka.distribution import commission, credit, domain, operations
from haoka.distribution.domain import EntryStatus, FraudKind, FraudStatus
from haoka.distribution.models import Agent, FraudFlag, Sale
from haoka.kyc import queries as kyc_queries


class FlagNotFound(NotFound):
    code = "fraud_flag_not_found"
    message = "风控预警不存在"


def _customers(sales: list[Sale]) -> dict[int, domain.Fingerprint]:
    """Who bought each sale (keyed hashes only), by sale id, in one query (the order's
    contact phone was hashed onto the sale when it was attributed)."""
    found = kyc_queries.fingerprints(order_refs=[sale.order_ref for sale in sales])
    out = {}
    for sale in sales:
        check = found.get(sale.order_ref)
        phones = {check.phone_hash} if check else set()
        phones.add(sale.contact_phone_hash)
        out[sale.pk] = domain.Fingerprint(
            id_hash=check.id_hash if check else "",
            phone_hashes=frozenset(p for p in phones if p),
            address_hash=check.address_hash if check else "",
            device_hash=sale.device_hash,
        )
    return out


def _agent(agent: Agent) -> domain.Fingerprint:
    return domain.Fingerprint(
        id_hash=agent.id_hash,
        phone_hashes=frozenset({agent.phone_hash} - {""}),
        address_hash=agent.address_hash,
        device_hash=agent.device_hash,
    )


def flag(
    *, agent_id: int, sale: Sale | None, kind: FraudKind, key: str, detail: str, now
) -> FraudFlag | None:
    """Raise a flag once per ``key``; a flag on a sale holds its commission."""
    try:
        with transaction.atomic():
            created = FraudFlag.objects.create(
                key=key[:100],
                agent_id=agent_id,
                sale=sale,
                kind=kind,
                detail=detail[:300],
                created_at=now,
            )
    except IntegrityError:
        return None
    if sale is not None and not sale.fraud_hold:
        sale.fraud_hold = True
        sale.save(update_fields=["fraud_hold"])
    return created


def screen_sales(*, sales: list[Sale], now: dt.datetime) -> list[FraudFlag]:
    """Screen sales at activation; runs inside the caller's transaction with the sales
    locked. Returns the flags raised."""
    fingerprint_fields = ("id", "id_hash", "phone_hash", "address_hash", "device_hash")
    agents = Agent.objects.only(*fingerprint_fields).in_bulk({s.agent_id for s in sales})
    customers = _customers(sales)
    raised: list[FraudFlag] = []
    for sale in sales:
        raised += _screen(sale, agent=agents[sale.agent_id], customer=customers[sale.pk], now=now)
    return raised


def _screen(
    sale: Sale, *, agent: Agent, customer: domain.Fingerprint, now: dt.datetime
) -> list[FraudFlag]:
    raised: list[FraudFlag] = []
    for kind in domain.self_dealing(agent=_agent(agent), customer=customer):
        f = flag(
            agent_id=agent.pk,
            sale=sale,
            kind=kind,
            key=f"{kind}:{sale.order_ref}",
            detail=f"订单 {sale.order_ref}：{domain.FRAUD_LABELS[kind]}",
            now=now,
        )
        if f:
            raised.append(f)
    # Orders placed within a day of this one (activation comes days after the order).
    since, until = sale.created_at - domain.SAME_SOURCE_WINDOW, sale.created_at
    if sale.device_hash:
        recent = Sale.objects.filter(
            agent_id=agent.pk, created_at__gte=since, created_at__lte=until
        ).exclude(pk=sale.pk)
        same = recent.filter(device_hash=sale.device_hash).count() + 1
        if same >= domain.SAME_SOURCE_LIMIT:
            f = flag(
                agent_id=agent.pk,
                sale=sale,
                kind=FraudKind.SAME_DEVICE,
                key=f"{FraudKind.SAME_DEVICE}:{sale.order_ref}",
                detail=f"24 小时内同一设备下单 {same} 笔",
                now=now,
            )
            if f:
                raised.append(f)
    if customer.address_hash:
        same = _orders_at_address(agent.pk, customer.address_hash, since=since, until=until)
        if same >= domain.SAME_SOURCE_LIMIT:
            f = flag(
                agent_id=agent.pk,
                sale=sale,
                kind=FraudKind.SAME_ADDRESS,
                key=f"{FraudKind.SAME_ADDRESS}:{sale.order_ref}",
                detail=f"24 小时内同一收货地址下单 {same} 笔",
                now=now,
            )
            if f:
                raised.append(f)
    return raised


def _orders_at_address(agent_id: int, address_hash: str, *, since, until) -> int:
    refs = list(
        Sale.objects.filter(
            agent_id=agent_id, created_at__gte=since, created_at__lte=until
        ).values_list("order_ref", flat=True)[:500]
    )
    return kyc_queries.orders_at_address(order_refs=refs, address_hash=address_hash)


def _quick_exits(agent_id: int, *, since: dt.datetime) -> list[Sale]:
    ended = Sale.objects.filter(
        agent_id=agent_id, ended_at__gte=since, activated_at__isnull=False
    ).order_by("id")
    return [s for s in ended if s.ended_at - s.activated_at <= domain.QUICK_EXIT]


def watch_quick_exits(*, agent_id: int, now: dt.datetime) -> FraudFlag | None:
    """养卡: several of the agent's lines ended within days of activation, recently (after
    the last decided flag of this kind: staff are not asked twice about the same lines)."""
    if FraudFlag.objects.filter(
        agent_id=agent_id, kind=FraudKind.ACTIVATE_THEN_CANCEL, status=FraudStatus.OPEN
    ).exists():
        return None
    since = now - domain.QUICK_EXIT_WINDOW
    last = (
        FraudFlag.objects.filter(agent_id=agent_id, kind=FraudKind.ACTIVATE_THEN_CANCEL)
        .exclude(decided_at=None)
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    quick = _quick_exits(agent_id, since=max(since, last) if last else since)
    if len(quick) < domain.QUICK_EXIT_LIMIT:
        return None
    day = now.astimezone(domain.BEIJING).date()
    return flag(
        agent_id=agent_id,
        sale=None,
        kind=FraudKind.ACTIVATE_THEN_CANCEL,
        key=f"{FraudKind.ACTIVATE_THEN_CANCEL}:{agent_id}:{day:%Y%m%d}",
        detail=f"近 30 天有 {len(quick)} 张卡激活后 30 天内销户或转出",
        now=now,
    )


def decide(*, flag_id: int, confirmed: bool, staff_id: int | None, note: str, now) -> FraudFlag:
    """Staff decide a flag. Confirmed: the sale's commission is clawed back in every state
    (the agent's balance may go negative) and the agent is frozen. Dismissed: the hold is
    lifted unless another flag is open. Raises FlagNotFound, FlagDecided."""
    with transaction.atomic():
        item = FraudFlag.objects.select_for_update().filter(pk=flag_id).first()
        if item is None:
            raise FlagNotFound(flag_id=flag_id)
        # The agent's row first: a withdrawal checking the balance waits for the clawback.
        Agent.objects.select_for_update().filter(pk=item.agent_id).first()
        target = FraudStatus.CONFIRMED if confirmed else FraudStatus.DISMISSED
        domain.FRAUD_MACHINE.check(current=item.status, target=target)
        item.status = target
        item.decided_at, item.decided_by_id, item.note = now, staff_id, note[:200]
        item.save(update_fields=["status", "decided_at", "decided_by", "note"])
        sales = [item.sale_id] if item.sale_id else []
        if confirmed and not sales:  # 养卡, an agent-wide pattern: the quick exits it counted
            sales = [
                s.pk
                for s in _quick_exits(
                    item.agent_id, since=item.created_at - domain.QUICK_EXIT_WINDOW
                )
            ]
        for sale_id in sales:
            sale = Sale.objects.select_for_update().get(pk=sale_id)
            if confirmed:
                commission.clawback(
                    sale,
                    reason=f"风控确认：{domain.FRAUD_LABELS[domain.FraudKind(item.kind)]}",
                    now=now,
                    statuses=(EntryStatus.PENDING, EntryStatus.SETTLED, EntryStatus.WITHDRAWABLE),
                )
            still_open = FraudFlag.objects.filter(sale=sale, status=FraudStatus.OPEN).exists()
            if sale.fraud_hold and not still_open and not confirmed:
                sale.fraud_hold = False
                sale.save(update_fields=["fraud_hold"])
        if confirmed:
            agent = Agent.objects.get(pk=item.agent_id)
            if agent.status == domain.AgentStatus.APPROVED:
                operations.set_status(
                    agent_id=agent.pk,
                    frozen=True,
                    staff_id=staff_id,
                    reason=f"风控确认违规：{note}"[:200],
                    now=now,
                )
        # The decision moves the score's fraud record: rescored with it, so the panel agrees.
        credit.recompute(agent_id=item.agent_id, now=now)
    return item
