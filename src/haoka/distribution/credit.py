"""Agent credit: a score from the agent's own record (activation, first top-up, churn,
arrears, complaints, fraud), the factors that made it (the agent sees why), and the tier it
gives. The tier decides the hold of new sales' commission (snapshotted per sale) and which
products the agent may sell (:func:`haoka.distribution.operations.may_sell`).

The score is recomputed when something it counts changes, so the panel never contradicts the
ledger or the flags: on commit of a new order's attribution and of every processed commission
fact (activation, first top-up, a monthly fee in arrears, a line ended or suspended for
arrears, and the fraud flags those raise) and of a complaint staff record; inside the
transaction of a fraud decision. The daily run (:func:`run_daily`) stays as the safety net
(and ages the 180-day window)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import structlog
from django.db import transaction
from django.db.models import Count, F, Q

from haoka.core import clock
from haoka.distribution import domain, operations
from haoka.distribution.domain import AgentStatus, FraudStatus
from haoka.distribution.models import Agent, AgentEvent, Complaint, CreditRun, FraudFlag, Sale

log = structlog.get_logger(__name__)

#: How far back the record counts.
LOOK_BACK = dt.timedelta(days=180)
#: A line ended this soon after activation counts as churn.
CHURN_WITHIN = dt.timedelta(days=90)
#: Agents read per batch by the daily run.
BATCH = 500
ACTOR = "system:credit"


def stats_for(*, agent_id: int, now: dt.datetime) -> domain.AgentStats:
    """The agent's own record over the last 180 days: their sales (not their team's) created
    in the window, complaints received in it, fraud flags confirmed in it and flags still
    open (whenever raised)."""
    since = now - LOOK_BACK
    sales = Sale.objects.filter(agent_id=agent_id, created_at__gte=since, created_at__lte=now)
    counts = sales.aggregate(
        orders=Count("id"),
        activated=Count("id", filter=Q(activated_at__isnull=False)),
        first_topups=Count("id", filter=Q(first_topup_at__isnull=False)),
        churned=Count(
            "id",
            filter=Q(
                activated_at__isnull=False,
                ended_at__isnull=False,
                ended_at__lte=F("activated_at") + CHURN_WITHIN,
            ),
        ),
        arrears=Count("id", filter=Q(ever_arrears=True)),
    )
    flags = FraudFlag.objects.filter(agent_id=agent_id).aggregate(
        confirmed=Count(
            "id",
            filter=Q(status=FraudStatus.CONFIRMED, created_at__gte=since),
        ),
        open=Count("id", filter=Q(status=FraudStatus.OPEN)),
    )
    complaints = Complaint.objects.filter(
        agent_id=agent_id, created_at__gte=since, created_at__lte=now
    ).count()
    return domain.AgentStats(
        orders=counts["orders"],
        activated=counts["activated"],
        first_topups=counts["first_topups"],
        churned_90d=counts["churned"],
        arrears=counts["arrears"],
        complaints=complaints,
        fraud_confirmed=flags["confirmed"],
        fraud_open=flags["open"],
    )


def _tier_reason(result: domain.CreditScore) -> str:
    """Why the tier changed: the score and the factors that moved it most."""
    moved = sorted(
        (f for f in result.factors[1:] if f.points), key=lambda f: (-abs(f.points), f.label)
    )
    parts = [f"{f.label} {f.points:+d}（{f.detail}）" for f in moved[:3]]
    text = f"信用评估 {result.score} 分"
    return (f"{text}：{'；'.join(parts)}" if parts else text)[:200]


def recompute(*, agent_id: int, now: dt.datetime) -> CreditRun:
    """Score the agent now: store the day's run (a second run on the same Beijing day updates
    it), the agent's score, factors and tier; a change of tier is recorded as an event with
    the reason. Raises AgentNotFound."""
    with transaction.atomic():
        # The agent's row lock serialises runs of one agent (the day's run is unique).
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None:
            raise operations.AgentNotFound(agent_id=agent_id)
        result = domain.credit_score(stats_for(agent_id=agent_id, now=now))
        factors = result.as_json()
        run, _ = CreditRun.objects.update_or_create(
            agent=agent,
            run_date=now.astimezone(domain.BEIJING).date(),
            defaults={
                "score": result.score,
                "tier": result.tier.value,
                "factors": factors,
                "created_at": now,
            },
        )
        before = agent.tier
        agent.credit_score = result.score
        agent.credit_factors = factors
        agent.credit_at = now
        agent.tier = result.tier.value
        agent.save(update_fields=["credit_score", "credit_factors", "credit_at", "tier"])
        if before != agent.tier:
            AgentEvent.objects.create(
                agent=agent,
                what="TIER",
                from_value=before,
                to_value=agent.tier,
                actor=ACTOR,
                reason=_tier_reason(result),
                at=now,
            )
    return run


def refresh_on_commit(*, agent_ids: Iterable[int]) -> None:
    """Recompute these agents' scores right after the caller's transaction commits (each in
    its own transaction, at that moment's clock). A failure is logged and left to the daily
    run: the event that asked has committed and must not be undone by its score."""
    wanted = sorted(set(agent_ids))
    if wanted:
        transaction.on_commit(lambda: _refresh_quietly(wanted))


def _refresh_quietly(agent_ids: list[int]) -> None:
    now = clock.now()
    for agent_id in agent_ids:
        try:
            recompute(agent_id=agent_id, now=now)
        except Exception:  # the daily run retries; the event has committed
            log.exception("credit_refresh_failed", agent_id=agent_id)


def run_daily(*, now: dt.datetime, limit: int | None = None) -> int:
    """Recompute every approved or frozen agent (at most ``limit``), each in its own
    transaction, reading agents in batches by id. An agent that fails is logged and skipped
    (the next run retries). Returns how many were scored."""
    done = 0
    last_id = 0
    while limit is None or done < limit:
        size = BATCH if limit is None else min(BATCH, limit - done)
        ids = list(
            Agent.objects.filter(
                status__in=[AgentStatus.APPROVED, AgentStatus.FROZEN], pk__gt=last_id
            )
            .order_by("id")
            .values_list("id", flat=True)[:size]
        )
        if not ids:
            break
        for agent_id in ids:
            last_id = agent_id
            try:
                recompute(agent_id=agent_id, now=now)
            except Exception:  # one agent's bad data must not stop everyone's score
                log.exception("credit_run_failed", agent_id=agent_id)
                continue
            done += 1
    return done
