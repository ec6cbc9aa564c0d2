"""Tables of the core: ledger, audit chain, idempotency records, rate-limit counters."""

from __future__ import annotations

from django.db import models

from haoka.core.accounts_chart import AccountKind, LedgerUnit


class LedgerAccount(models.Model):
    """An account of the double-entry ledger. ``balance_fen`` caches the sum of its entries,
    except on busy accounts (``cached_balance`` False: the gateway, customer prepayments,
    revenue), which nearly every sale posts to: updating one cached row there would queue
    every sale behind the previous one's commit, so their balance is summed when read.

    ``unit`` is decided by the chart from the code (``accounts_chart.unit_of``); for a non-FEN
    account ``balance_fen`` and its entries' ``amount_fen`` hold amounts of that unit."""

    Kind = AccountKind

    code = models.CharField(max_length=120, unique=True, verbose_name="科目代码")
    name = models.CharField(max_length=200, verbose_name="名称")
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name="科目类型")
    unit = models.CharField(
        max_length=8, choices=LedgerUnit.choices, default=LedgerUnit.FEN, verbose_name="计量单位"
    )
    allow_negative = models.BooleanField(default=True, verbose_name="允许负余额")
    cached_balance = models.BooleanField(default=True, verbose_name="缓存余额")
    balance_fen = models.BigIntegerField(default=0, verbose_name="余额")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "账本科目"
        verbose_name_plural = "账本科目"
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
            models.CheckConstraint(
                condition=models.Q(unit__in=[u.value for u in LedgerUnit]),
                name="ledger_account_unit_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class LedgerTransaction(models.Model):
    """A balanced set of entries, posted at once. ``key`` makes a posting idempotent."""

    key = models.CharField(
        max_length=200, unique=True, null=True, blank=True, verbose_name="幂等键"
    )
    kind = models.CharField(max_length=60, verbose_name="交易类型")
    memo = models.CharField(max_length=300, blank=True, verbose_name="摘要")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "账本交易"
        verbose_name_plural = "账本交易"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk}"


class LedgerEntry(models.Model):
    """One leg of a transaction: positive debits, negative credits; legs of a txn sum to 0.
    ``amount_fen`` is in the account's unit (bytes on a data account)."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries", verbose_name="交易"
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="entries", verbose_name="账户"
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "账本分录"
        verbose_name_plural = "账本分录"
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

    seq = models.BigIntegerField(unique=True, verbose_name="序号")
    at = models.DateTimeField(verbose_name="时间")
    actor = models.CharField(max_length=120, verbose_name="操作人")
    action = models.CharField(max_length=120, verbose_name="操作")
    object_type = models.CharField(max_length=60, blank=True, verbose_name="对象类型")
    object_id = models.CharField(max_length=64, blank=True, verbose_name="对象 ID")
    data = models.JSONField(default=dict, verbose_name="内容")
    prev_hash = models.CharField(max_length=64, verbose_name="前一哈希")
    hash = models.CharField(max_length=64, unique=True, verbose_name="哈希")

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """Single row locked to serialize appends; remembers the tip so tail deletion shows."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, verbose_name="ID")
    seq = models.BigIntegerField(default=0, verbose_name="序号")
    hash = models.CharField(max_length=64, verbose_name="哈希")

    class Meta:
        verbose_name = "审计链头"
        verbose_name_plural = "审计链头"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed for repeats."""

    scope = models.CharField(max_length=80, verbose_name="范围")
    key = models.CharField(max_length=200, verbose_name="幂等键")
    method = models.CharField(max_length=8, verbose_name="请求方法")
    path = models.CharField(max_length=300, verbose_name="路径")
    request_hash = models.CharField(max_length=64, verbose_name="请求摘要")
    status_code = models.PositiveSmallIntegerField(null=True, verbose_name="状态码")
    response_body = models.BinaryField(null=True, verbose_name="响应正文")
    content_type = models.CharField(max_length=100, blank=True, verbose_name="内容类型")
    headers = models.JSONField(default=dict, verbose_name="响应头")
    created_at = models.DateTimeField(db_index=True, verbose_name="创建时间")

    class Meta:
        verbose_name = "幂等记录"
        verbose_name_plural = "幂等记录"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class RateCounter(models.Model):
    """Fixed-window counter for rate limits (kept in the DB: correct across processes)."""

    key = models.CharField(max_length=200, verbose_name="计数键")
    window_start = models.DateTimeField(verbose_name="窗口开始")
    count = models.PositiveIntegerField(default=0, verbose_name="计数")

    class Meta:
        verbose_name = "限流计数"
        verbose_name_plural = "限流计数"
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_unique")
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key} {self.window_start:%H:%M} ×{self.count}"
