"""Tables of the core: ledger, audit chain, idempotency records, rate-limit counters."""

from __future__ import annotations

from django.db import models

from haoka.core.accounts_chart import AccountKind


class LedgerAccount(models.Model):
    """An account of the double-entry ledger. ``balance_fen`` caches the sum of its entries,
    except on busy accounts (``cached_balance`` False: the gateway, customer prepayments,
    revenue), which nearly every sale posts to: updating one cached row there would queue
    every sale behind the previous one's commit, so their balance is summed when read."""

    Kind = AccountKind

    code = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    allow_negative = models.BooleanField(default=True)
    cached_balance = models.BooleanField(default=True)
    balance_fen = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(allow_negative=True) | models.Q(balance_fen__gte=0),
                name="ledger_account_no_negative_unless_allowed",
            ),
            # Refusing to go negative needs the cached balance (checked under its row lock).
            models.CheckConstraint(
                condition=models.Q(cached_balance=True) | models.Q(allow_negative=True),
                name="ledger_account_uncached_may_go_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in AccountKind]),
                name="ledger_account_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class LedgerTransaction(models.Model):
    """A balanced set of entries, posted at once. ``key`` makes a posting idempotent."""

    key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    kind = models.CharField(max_length=60)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk}"


class LedgerEntry(models.Model):
    """One leg of a transaction: positive debits, negative credits; legs of a txn sum to 0."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_fen = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount_fen=0), name="ledger_entry_amount_nonzero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_fen:+d}"


class AuditRecord(models.Model):
    """Append-only audit chain: each record carries the hash of the one before it."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=120)
    action = models.CharField(max_length=120)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """Single row locked to serialize appends; remembers the tip so tail deletion shows."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed for repeats."""

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class RateCounter(models.Model):
    """Fixed-window counter for rate limits (kept in the DB: correct across processes)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_unique")
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key} {self.window_start:%H:%M} ×{self.count}"
