"""Agents, their shops, commission rules and entries, withdrawals, credit, fraud flags and
training. Personal data (the agent's name, ID number, address, payee account) is encrypted at
rest with keyed hashes beside it for matching."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core import clock
from haoka.core.pii import EncryptedTextField
from haoka.distribution.domain import (
    AGENT_MACHINE,
    ENTRY_MACHINE,
    FRAUD_LABELS,
    FRAUD_MACHINE,
    KIND_LABELS,
    SALE_MACHINE,
    WITHDRAWAL_MACHINE,
    AgentStatus,
    EntryStatus,
    FraudKind,
    FraudStatus,
    Kind,
    SaleState,
    Tier,
    WithdrawalStatus,
)


def _choices(enum, labels) -> list[tuple[str, str]]:
    return [(m.value, labels[m]) for m in enum]


TIER_CHOICES = [(t.value, t.value) for t in Tier]


class Agent(models.Model):
    """A person who sells through their own shop. Level 1 agents may invite sub-agents
    (level 2); sub-agents may not invite anyone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent"
    )
    code = models.CharField(max_length=12, unique=True, null=True, blank=True)
    invite_code = models.CharField(max_length=12, unique=True, null=True, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    level = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=10,
        choices=AGENT_MACHINE.choices(),
        default=AgentStatus.PENDING,
    )
    real_name = EncryptedTextField()
    name_hash = models.CharField(max_length=64)
    id_number = EncryptedTextField()
    id_hash = models.CharField(max_length=64, db_index=True)
    phone_hash = models.CharField(max_length=64, db_index=True)
    address = EncryptedTextField(blank=True, default="")
    address_hash = models.CharField(max_length=64, blank=True, db_index=True)
    device_hash = models.CharField(max_length=64, blank=True, db_index=True)
    payee_channel = models.CharField(max_length=8)  # ALIPAY | BANK
    payee_account = EncryptedTextField()
    shop_name = models.CharField(max_length=30, blank=True)
    shop_intro = models.CharField(max_length=120, blank=True)
    shop_sells_vanity = models.BooleanField(default=False)
    tier = models.CharField(max_length=1, choices=TIER_CHOICES, default=Tier.C)
    credit_score = models.PositiveSmallIntegerField(default=60)
    credit_factors = models.JSONField(default=list, blank=True)
    credit_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(default=clock.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        verbose_name = "代理"
        verbose_name_plural = "代理"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in AgentStatus]),
                name="agent_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(level=1, parent__isnull=True)
                | models.Q(level=2, parent__isnull=False),
                name="agent_two_levels_at_most",
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=[t.value for t in Tier]), name="agent_tier_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status="PENDING")
                | models.Q(status="REJECTED")
                | models.Q(code__isnull=False),
                name="agent_approved_has_code",
            ),
        ]
        indexes = [models.Index(fields=["parent", "status"], name="agent_team")]

    def __str__(self) -> str:
        return self.code or f"申请 #{self.pk}"


class AgentEvent(models.Model):
    """Every change of an agent's status or tier: who, when, why."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="events")
    what = models.CharField(max_length=20)  # STATUS | TIER
    from_value = models.CharField(max_length=12, blank=True)
    to_value = models.CharField(max_length=12)
    actor = models.CharField(max_length=80)
    reason = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.what} {self.from_value} → {self.to_value}"


class Product(models.Model):
    """A plan as staff offer it to agents: the most commission a sale may cost (all kinds,
    both levels), the markup agents may add, who may sell it."""

    plan_code = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=True)
    margin_fen = models.BigIntegerField(default=0)
    max_markup_fen = models.BigIntegerField(default=0)
    min_tier = models.CharField(max_length=1, choices=TIER_CHOICES, default=Tier.D)
    course = models.ForeignKey(
        "Course", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sort = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = "分销产品"
        verbose_name_plural = "分销产品"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(margin_fen__gte=0, max_markup_fen__gte=0),
                name="product_amounts_nonneg",
            )
        ]

    def __str__(self) -> str:
        return self.plan_code


class CommissionRule(models.Model):
    """A rule per plan ("*" every plan) and tier ("" every tier). Editing rules changes what
    new orders earn; an order keeps the terms it was created with."""

    plan_code = models.CharField(max_length=40, default="*")
    tier = models.CharField(max_length=1, blank=True, choices=TIER_CHOICES)
    kind = models.CharField(max_length=12, choices=_choices(Kind, KIND_LABELS))
    amount_fen = models.BigIntegerField(default=0)
    rate_bp = models.PositiveIntegerField(default=0)
    threshold_fen = models.BigIntegerField(default=0)
    months = models.PositiveSmallIntegerField(default=0)
    valid_from = models.DateTimeField(default=clock.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["plan_code", "tier", "kind", "-valid_from", "-id"]
        verbose_name = "佣金规则"
        verbose_name_plural = "佣金规则"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gte=0, threshold_fen__gte=0, rate_bp__lte=10_000),
                name="rule_amounts_valid",
            ),
            models.CheckConstraint(condition=~models.Q(kind="MARKUP"), name="rule_kind_not_markup"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_code}/{self.tier or '*'}/{self.kind}"


class ShopItem(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="shop_items")
    plan_code = models.CharField(max_length=40)
    markup_fen = models.BigIntegerField(default=0)
    sort = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sort", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "plan_code"], name="shop_item_once"),
            models.CheckConstraint(
                condition=models.Q(markup_fen__gte=0), name="shop_markup_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.plan_code} +{self.markup_fen}"


class Sale(models.Model):
    """An order attributed to an agent, with the chain and the terms as they were when the
    order was created: later changes to the tree or the rules never move its commission."""

    order_ref = models.CharField(max_length=24, unique=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="sales")
    parent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="team_sales"
    )
    seller_tier = models.CharField(max_length=1)
    parent_tier = models.CharField(max_length=1, blank=True)
    plan_code = models.CharField(max_length=40)
    terms = models.JSONField(default=dict)
    margin_fen = models.BigIntegerField(default=0)
    committed_fen = models.BigIntegerField(default=0)
    customer_user_id = models.BigIntegerField()
    msisdn = models.CharField(max_length=11)
    device_hash = models.CharField(max_length=64, blank=True)
    # Copied from the order when it is attributed, and its state kept in step by orders
    # (distribution sits below orders and never reads them): what the agent's pages show and
    # what fraud screening matches.
    plan_name = models.CharField(max_length=80, blank=True)
    contact_phone_hash = models.CharField(max_length=64, blank=True)
    order_state = models.CharField(max_length=20, blank=True)
    order_state_label = models.CharField(max_length=40, blank=True)
    line_id = models.BigIntegerField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=SALE_MACHINE.choices(), default=SaleState.OPEN)
    activated_at = models.DateTimeField(null=True, blank=True)
    first_topup_at = models.DateTimeField(null=True, blank=True)
    ever_arrears = models.BooleanField(default=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    fraud_hold = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database's own guard on the rule "never more than the plan's margin".
            models.CheckConstraint(
                condition=models.Q(committed_fen__gte=0, committed_fen__lte=models.F("margin_fen")),
                name="sale_commission_within_margin",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SaleState]),
                name="sale_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "-created_at", "-id"], name="sale_agent_recent"),
            models.Index(fields=["parent", "-created_at"], name="sale_parent_recent"),
        ]

    def __str__(self) -> str:
        return self.order_ref


class Entry(models.Model):
    """One commission amount owed to one agent: PENDING -> SETTLED -> WITHDRAWABLE, or
    CLAWED_BACK. Each state change is a ledger transaction between the agent's accounts."""

    key = models.CharField(max_length=80, unique=True)
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="entries")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=_choices(Kind, KIND_LABELS))
    amount_fen = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=ENTRY_MACHINE.choices())
    memo = models.CharField(max_length=120, blank=True)
    accrued_at = models.DateTimeField()
    settle_after = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    withdrawable_at = models.DateTimeField(null=True, blank=True)
    clawed_back_at = models.DateTimeField(null=True, blank=True)
    clawback_reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-accrued_at", "-id"]
        verbose_name = "佣金明细"
        verbose_name_plural = "佣金明细"
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="entry_positive"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in EntryStatus]),
                name="entry_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "-accrued_at", "-id"], name="entry_agent_recent"),
            # Settlement walks the pending entries sale by sale; release in due order.
            models.Index(
                fields=["sale", "settle_after"],
                condition=models.Q(status="PENDING"),
                name="entry_pending_by_sale",
            ),
            models.Index(fields=["status", "withdrawable_at", "id"], name="entry_release_due"),
        ]

    def __str__(self) -> str:
        return self.key


class Inbox(models.Model):
    """Facts from other domains (activation, top-up, monthly fee, line ended), recorded in
    their transaction and processed right after it commits (a sweep catches any left)."""

    key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=16)  # ACTIVATED TOPUP MONTHLY_FEE LINE_ENDED
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict)
    at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["at", "id"],
                name="inbox_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.key


class Withdrawal(models.Model):
    ref = models.CharField(max_length=24, unique=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="withdrawals")
    amount_fen = models.BigIntegerField()
    fee_fen = models.BigIntegerField()
    net_fen = models.BigIntegerField()
    status = models.CharField(
        max_length=10,
        choices=WITHDRAWAL_MACHINE.choices(),
        default=WithdrawalStatus.REQUESTED,
    )
    payee_channel = models.CharField(max_length=8)
    payee_account = EncryptedTextField()
    payee_name = EncryptedTextField()
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=64, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "提现申请"
        verbose_name_plural = "提现申请"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    amount_fen__gt=0,
                    fee_fen__gte=0,
                    net_fen__gt=0,
                    net_fen=models.F("amount_fen") - models.F("fee_fen"),
                ),
                name="withdrawal_amounts_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in WithdrawalStatus]),
                name="withdrawal_status_valid",
            ),
            # One withdrawal in flight per agent at a time.
            models.UniqueConstraint(
                fields=["agent"],
                condition=models.Q(status__in=["REQUESTED", "PAYING"]),
                name="withdrawal_one_open_per_agent",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


class FraudFlag(models.Model):
    Status = FraudStatus

    key = models.CharField(max_length=100, unique=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="fraud_flags")
    sale = models.ForeignKey(
        Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="fraud_flags"
    )
    kind = models.CharField(max_length=24, choices=_choices(FraudKind, FRAUD_LABELS))
    detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=FRAUD_MACHINE.choices(), default=FraudStatus.OPEN
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "风控预警"
        verbose_name_plural = "风控预警"
        indexes = [models.Index(fields=["status", "-created_at"], name="fraud_queue")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Complaint(models.Model):
    """A customer complaint about an agent (recorded by staff; counts in the credit score)."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="complaints")
    order_ref = models.CharField(max_length=24, blank=True)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "客户投诉"
        verbose_name_plural = "客户投诉"

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.text[:20]}"


class CreditRun(models.Model):
    """The daily credit score of an agent, with the factors that made it."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="credit_runs")
    run_date = models.DateField()
    score = models.PositiveSmallIntegerField()
    tier = models.CharField(max_length=1)
    factors = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-run_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "run_date"], name="credit_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.run_date}: {self.score} {self.tier}"


# ---------------------------------------------------------------- training


class Material(models.Model):
    class Kind(models.TextChoices):
        POSTER = "POSTER", "海报"
        COPY = "COPY", "推广文案"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=60)
    body = models.TextField(blank=True)
    plan_code = models.CharField(max_length=40, blank=True)
    published = models.BooleanField(default=True)
    sort = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = "推广素材"
        verbose_name_plural = "推广素材"

    def __str__(self) -> str:
        return self.title


class Course(models.Model):
    code = models.CharField(max_length=24, unique=True)
    title = models.CharField(max_length=60)
    summary = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    pass_percent = models.PositiveSmallIntegerField(default=80)
    unlocks_vanity = models.BooleanField(default=False)
    published = models.BooleanField(default=True)
    sort = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = "培训课程"
        verbose_name_plural = "培训课程"

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(max_length=200)
    options = models.JSONField(default=list)  # list of strings
    answer = models.PositiveSmallIntegerField()  # index into options
    sort = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class QuizAttempt(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="quiz_attempts")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    score_percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    answers = models.JSONField(default=list)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["agent", "course", "passed"], name="quiz_passed")]

    def __str__(self) -> str:
        return f"{self.agent_id}/{self.course_id}: {self.score_percent}%"
