"""Charging tables: allowance buckets, each line's charging account (money held by open
reservations, the sub-fen carry, the cycle it is in), online charging sessions and their
grants, the answers kept for retransmissions, and rated usage records."""

from __future__ import annotations

from django.db import models

from haoka.charging.domain import (
    SESSION_MACHINE,
    SOURCE_LABELS,
    TOPUP_KIND_LABELS,
    TOPUP_MACHINE,
    UNIT_LABELS,
    PayerKind,
    SessionState,
    Source,
    TopUpStatus,
    Unit,
)
from haoka.charging.family_rules import MEMBER_MACHINE, GroupState, MemberState, Role
from haoka.charging.movements import GIFT_MACHINE, GiftState, MovementKind
from haoka.charging.notify import NOTIFY_KIND_CHOICES, NOTIFY_MACHINE
from haoka.core import clock

UNIT_CHOICES = [(u.value, UNIT_LABELS[u]) for u in Unit]
SOURCE_CHOICES = [(s.value, SOURCE_LABELS[s]) for s in Source]


class Bucket(models.Model):
    """An allowance a line may draw: ``amount`` granted, ``used`` committed, ``reserved`` held
    by open online sessions; what is left is ``amount - used - reserved`` (never below 0).
    A gift or a deposit to the data bank takes from what is left: ``amount`` shrinks and
    ``moved_out`` grows by the same (``amount + moved_out`` is what was granted)."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.CASCADE, related_name="buckets", verbose_name="号卡"
    )
    unit = models.CharField(max_length=8, choices=UNIT_CHOICES, verbose_name="单位")
    source = models.CharField(max_length=10, choices=SOURCE_CHOICES, verbose_name="来源")
    payer_kind = models.CharField(max_length=8, default=PayerKind.LINE, verbose_name="付费方类型")
    payer_id = models.CharField(max_length=40, blank=True, verbose_name="付费方 ID")
    label = models.CharField(max_length=60, verbose_name="名称")
    amount = models.BigIntegerField(verbose_name="数量")
    moved_out = models.BigIntegerField(default=0, verbose_name="已转出量")
    used = models.BigIntegerField(default=0, verbose_name="已用量")
    reserved = models.BigIntegerField(default=0, verbose_name="预留量")
    valid_from = models.DateTimeField(verbose_name="生效时间")
    valid_to = models.DateTimeField(null=True, blank=True, verbose_name="失效时间")
    rating_groups = models.JSONField(
        default=list, blank=True, verbose_name="费率组"
    )  # empty: all traffic
    window_start = models.TimeField(
        null=True, blank=True, verbose_name="时段开始"
    )  # Beijing time of day
    window_end = models.TimeField(null=True, blank=True, verbose_name="时段结束")
    #: Makes a grant idempotent: "plan:<line>:<month>:<what>", "pack:<purchase>", ...
    origin = models.CharField(max_length=80, unique=True, verbose_name="来源标识")
    #: The highest usage alert already sent for this bucket (0, 80 or 100 percent).
    alerted_pct = models.PositiveSmallIntegerField(default=0, verbose_name="已提醒百分比")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

    class Meta:
        verbose_name = "资源余量"
        verbose_name_plural = "资源余量"
        ordering = ["valid_from", "id"]
        indexes = [models.Index(fields=["line", "valid_to"], name="bucket_line_valid_to")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(used__gte=0, reserved__gte=0, amount__gte=0)
                & models.Q(amount__gte=models.F("used") + models.F("reserved")),
                name="bucket_remaining_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(moved_out__gte=0), name="bucket_moved_out_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(unit__in=[u.value for u in Unit]), name="bucket_unit_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=[s.value for s in Source]),
                name="bucket_source_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(payer_kind__in=[p.value for p in PayerKind]),
                name="bucket_payer_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.line_id})"


class ChargingAccount(models.Model):
    """The charging state of one line. Its row is the line's lock: every rating of the line
    takes it first, so concurrent sessions never spend the same money or allowance twice."""

    line = models.OneToOneField(
        "lines.Line",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="charging",
        verbose_name="号卡",
    )
    wallet_account_id = models.BigIntegerField(
        verbose_name="钱包账户 ID"
    )  # core.LedgerAccount of the line's wallet
    #: Money held by open reservations (not yet debited from the wallet).
    reserved_fen = models.BigIntegerField(default=0, verbose_name="预留金额")
    #: Pay-as-you-go fen consumed but below one whole fen (debited once it adds up).
    carry = models.DecimalField(
        max_digits=24, decimal_places=20, default=0, verbose_name="计费尾差"
    )
    #: First day (Beijing) of the month whose allowances the line holds (indexed: the cycle
    #: looks for lines behind the current month every few minutes).
    cycle_month = models.DateField(db_index=True, verbose_name="账期月份")
    #: 家庭共享, copied here from the line's ACTIVE FamilyMember row so that online charging
    #: reads it with the lock (no query for a line in no family): the group, its main line
    #: (the line itself for the main line) and a member's monthly cap of pool bytes.
    family_group_id = models.BigIntegerField(null=True, blank=True, verbose_name="家庭共享群组")
    family_main_line_id = models.BigIntegerField(null=True, blank=True, verbose_name="主卡号卡")
    family_cap_bytes = models.BigIntegerField(default=0, verbose_name="每月共享上限（字节）")
    updated_at = models.DateTimeField(default=clock.now, verbose_name="更新时间")

    class Meta:
        verbose_name = "计费账户"
        verbose_name_plural = "计费账户"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reserved_fen__gte=0), name="charging_reserved_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(carry__gte=0, carry__lt=1), name="charging_carry_below_fen"
            ),
            models.CheckConstraint(
                condition=models.Q(family_cap_bytes__gte=0), name="charging_family_cap_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"charging:{self.line_id}"


class ChargingSession(models.Model):
    """An Nchf converged-charging session (one ChargingDataRef)."""

    ref = models.CharField(max_length=40, unique=True, verbose_name="会话编号")
    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    caller_token_id = models.BigIntegerField(
        verbose_name="调用方令牌 ID"
    )  # the API token that opened it
    #: Identifies a create so a retransmitted create returns the same session.
    create_key = models.CharField(max_length=64, unique=True, verbose_name="创建幂等键")
    state = models.CharField(max_length=10, choices=SESSION_MACHINE.choices(), verbose_name="状态")
    last_sequence = models.BigIntegerField(default=0, verbose_name="最近序号")
    #: The consumer NF as it named itself (nFName, else its function) and its function (SMF,
    #: SMSF ...): what its charging data records say opened the session.
    consumer = models.CharField(max_length=64, blank=True, default="", verbose_name="调用方网元")
    consumer_function = models.CharField(
        max_length=16, blank=True, default="", verbose_name="调用方网元类型"
    )
    #: Where the CHF notifies the consumer (TS 32.291 ``notifyUri``): REAUTHORIZATION,
    #: ABORT_CHARGING (``charging.notifications``); blank when the consumer gave none.
    notify_uri = models.CharField(max_length=500, blank=True, default="", verbose_name="通知地址")
    expires_at = models.DateTimeField(verbose_name="过期时间")
    created_at = models.DateTimeField(verbose_name="创建时间")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        verbose_name = "计费会话"
        verbose_name_plural = "计费会话"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "expires_at"], name="session_open_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in SessionState]),
                name="session_state_valid",
            )
        ]

    def __str__(self) -> str:
        return self.ref


class Grant(models.Model):
    """What one rating group of an open session holds: the reservation made by the engine
    (its draws and the money held), settled by the next report of used units."""

    session = models.ForeignKey(
        ChargingSession, on_delete=models.CASCADE, related_name="grants", verbose_name="会话"
    )
    rating_group = models.BigIntegerField(verbose_name="费率组")
    unit = models.CharField(max_length=8, choices=UNIT_CHOICES, verbose_name="单位")
    granted = models.BigIntegerField(verbose_name="授权量")
    reserved_fen = models.BigIntegerField(verbose_name="预留金额")
    rating = models.JSONField(verbose_name="计费结果")  # the engine's Rating, serialized
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "授权额度"
        verbose_name_plural = "授权额度"
        constraints = [
            models.UniqueConstraint(fields=["session", "rating_group"], name="grant_one_per_rg"),
            models.CheckConstraint(
                condition=models.Q(granted__gte=0, reserved_fen__gte=0), name="grant_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.rating_group}"


class Exchange(models.Model):
    """The answer given to one request of a session, returned again for a retransmission."""

    session = models.ForeignKey(
        ChargingSession, on_delete=models.CASCADE, related_name="+", verbose_name="会话"
    )
    sequence = models.BigIntegerField(verbose_name="序号")
    operation = models.CharField(max_length=8, verbose_name="操作")  # create | update | release
    #: The request's content (``nchf.digest``): the same request again is a retransmission,
    #: whatever its sequence number (some SMFs send 0 on every request).
    digest = models.CharField(max_length=64, verbose_name="请求摘要")
    status = models.PositiveSmallIntegerField(verbose_name="结果状态")
    response = models.JSONField(verbose_name="应答")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "计费交互"
        verbose_name_plural = "计费交互"
        constraints = [models.UniqueConstraint(fields=["session", "digest"], name="exchange_once")]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.sequence}"


class RecordSource(models.TextChoices):
    ONLINE = "ONLINE", "在线计费"
    OFFLINE = "OFFLINE", "话单"


class UsageRecord(models.Model):
    """A piece of usage, rated: who paid (buckets, free, wallet) and what the wallet paid.
    ``record_id`` is the external id (a CDR's id, or ``nchf:<ref>:<seq>:<rg>`` online)."""

    record_id = models.CharField(max_length=80, unique=True, verbose_name="话单 ID")
    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    source = models.CharField(max_length=8, choices=RecordSource.choices, verbose_name="话单来源")
    unit = models.CharField(max_length=8, choices=UNIT_CHOICES, verbose_name="单位")
    rating_group = models.BigIntegerField(null=True, blank=True, verbose_name="费率组")
    raw_amount = models.BigIntegerField(verbose_name="原始用量")
    rated_amount = models.BigIntegerField(verbose_name="计费用量")
    from_buckets = models.BigIntegerField(default=0, verbose_name="资源包抵扣量")
    free_amount = models.BigIntegerField(default=0, verbose_name="免费用量")
    wallet_amount = models.BigIntegerField(default=0, verbose_name="钱包扣费用量")
    unpaid_amount = models.BigIntegerField(default=0, verbose_name="未付用量")
    wallet_fen = models.BigIntegerField(default=0, verbose_name="钱包扣费")
    daily_fee_fen = models.BigIntegerField(default=0, verbose_name="日租费")
    draws = models.JSONField(
        default=list, verbose_name="扣减明细"
    )  # [[bucket_id, source, amount], ...]
    started_at = models.DateTimeField(verbose_name="开始时间")
    beijing_date = models.DateField(verbose_name="北京日期")  # the day it counts for on the bill
    rated_at = models.DateTimeField(verbose_name="计费时间")
    #: Bumped by every re-rating of the record.
    version = models.PositiveIntegerField(default=1, verbose_name="版本")

    class Meta:
        verbose_name = "话单"
        verbose_name_plural = "话单"
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["line", "beijing_date"], name="usage_line_day"),
            models.Index(fields=["started_at"], name="usage_started"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    raw_amount__gte=0,
                    rated_amount__gte=0,
                    wallet_fen__gte=0,
                    daily_fee_fen__gte=0,
                ),
                name="usage_amounts_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    rated_amount=models.F("from_buckets")
                    + models.F("free_amount")
                    + models.F("wallet_amount")
                    + models.F("unpaid_amount")
                ),
                name="usage_rated_is_paid_for",
            ),
        ]

    def __str__(self) -> str:
        return self.record_id


# ---------------------------------------------------------------- the money side of a line


class TopUpKind(models.TextChoices):
    MANUAL = "MANUAL", TOPUP_KIND_LABELS["MANUAL"]
    AUTO = "AUTO", TOPUP_KIND_LABELS["AUTO"]


class TopUp(models.Model):
    """Money the owner pays into a line's wallet (``ref`` is the payment's reference)."""

    ref = models.CharField(max_length=40, unique=True, verbose_name="充值单号")
    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    kind = models.CharField(max_length=8, choices=TopUpKind.choices, verbose_name="充值类型")
    amount_fen = models.BigIntegerField(verbose_name="金额")
    method = models.CharField(max_length=8, verbose_name="支付方式")
    status = models.CharField(max_length=10, choices=TOPUP_MACHINE.choices(), verbose_name="状态")
    payment_id = models.BigIntegerField(null=True, blank=True, verbose_name="支付单 ID")
    pay_url = models.CharField(max_length=500, blank=True, verbose_name="支付链接")
    #: What reached the wallet (more than ``amount_fen`` if the payer paid two attempts).
    credited_fen = models.BigIntegerField(default=0, verbose_name="到账金额")
    created_at = models.DateTimeField(verbose_name="创建时间")
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name="支付时间")

    class Meta:
        verbose_name = "充值"
        verbose_name_plural = "充值"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "-created_at"], name="topup_line_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gte=100, amount_fen__lte=500_000),
                name="topup_amount_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TopUpStatus])
                & models.Q(kind__in=[k.value for k in TopUpKind]),
                name="topup_status_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


class AutoTopUp(models.Model):
    """The owner's standing order: below ``threshold_fen``, top up ``amount_fen`` (once a day)."""

    line = models.OneToOneField(
        "lines.Line",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name="号卡",
    )
    enabled = models.BooleanField(default=True, verbose_name="启用")
    threshold_fen = models.BigIntegerField(verbose_name="门槛金额")
    amount_fen = models.BigIntegerField(verbose_name="金额")
    method = models.CharField(max_length=8, verbose_name="支付方式")
    updated_at = models.DateTimeField(verbose_name="更新时间")

    class Meta:
        verbose_name = "自动充值"
        verbose_name_plural = "自动充值"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold_fen__gte=100, threshold_fen__lte=50_000)
                & models.Q(amount_fen__gte=100, amount_fen__lte=500_000),
                name="autotopup_amounts_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"autotopup:{self.line_id}"


class PackPurchase(models.Model):
    """An add-on pack bought from the wallet; its buckets carry ``origin="pack:<id>"``."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    pack_code = models.CharField(max_length=40, verbose_name="流量包代码")
    pack_name = models.CharField(max_length=60, verbose_name="流量包名称")
    kind = models.CharField(max_length=12, verbose_name="包类型")
    price_fen = models.BigIntegerField(verbose_name="价格")
    valid_from = models.DateTimeField(verbose_name="生效时间")
    valid_to = models.DateTimeField(verbose_name="失效时间")
    benefit_name = models.CharField(max_length=60, blank=True, verbose_name="权益名称")
    redeem_code = models.CharField(
        max_length=24, blank=True, verbose_name="兑换码"
    )  # MEMBERSHIP packs only
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "流量包订购"
        verbose_name_plural = "流量包订购"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "-created_at"], name="pack_purchase_line_recent")]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_fen__gte=0), name="pack_price_paid"),
            models.UniqueConstraint(
                fields=["redeem_code"],
                condition=~models.Q(redeem_code=""),
                name="pack_redeem_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pack_name} ({self.line_id})"


class CycleRun(models.Model):
    """One month the cycle opened for a line: the plan it runs on, the fee charged and, when
    that left the wallet negative, when the line is suspended unless topped up."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    month = models.DateField(verbose_name="账期月份")  # first day (Beijing)
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    fee_fen = models.BigIntegerField(verbose_name="月租扣费")
    balance_after_fen = models.BigIntegerField(verbose_name="扣费后余额")
    suspend_at = models.DateTimeField(null=True, blank=True, verbose_name="停机时间")
    created_at = models.DateTimeField(verbose_name="创建时间")
    # The activation month (opened by provisioning, not the cycle): the plan's first-month
    # term (catalog.domain.FirstMonth) and the days of the month it ran; "" and 0 otherwise.
    first_month = models.CharField(
        max_length=12, blank=True, default="", verbose_name="首月计费方式"
    )
    days = models.PositiveSmallIntegerField(default=0, verbose_name="计费天数")
    month_days = models.PositiveSmallIntegerField(default=0, verbose_name="当月天数")

    class Meta:
        verbose_name = "月租扣费记录"
        verbose_name_plural = "月租扣费记录"
        ordering = ["month", "id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "month"], name="cycle_run_once_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.line_id}:{self.month:%Y-%m}"


class Bill(models.Model):
    """A line's monthly statement: wallet movements posted in the Beijing month (they add up:
    closing = opening + top-ups - fee - 日租 - packs - usage + other) and itemised usage."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    month = models.DateField(verbose_name="账期月份")  # first day (Beijing)
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    opening_fen = models.BigIntegerField(verbose_name="期初余额")
    closing_fen = models.BigIntegerField(verbose_name="期末余额")
    topups_fen = models.BigIntegerField(verbose_name="充值合计")
    monthly_fee_fen = models.BigIntegerField(verbose_name="月租")
    daily_fees_fen = models.BigIntegerField(verbose_name="日租费合计")
    packs_fen = models.BigIntegerField(verbose_name="流量包费用")
    usage_fen = models.BigIntegerField(verbose_name="用量费用")
    other_fen = models.BigIntegerField(
        verbose_name="其他费用"
    )  # refunds, corrections: anything else on the wallet
    usage_by_day = models.JSONField(default=list, verbose_name="每日用量")
    usage_by_rating_group = models.JSONField(default=list, verbose_name="分费率组用量")
    issued_at = models.DateTimeField(verbose_name="出账时间")

    class Meta:
        verbose_name = "账单"
        verbose_name_plural = "账单"
        ordering = ["-month", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "month"], name="bill_once_per_month"),
            models.CheckConstraint(
                condition=models.Q(
                    closing_fen=models.F("opening_fen")
                    + models.F("topups_fen")
                    - models.F("monthly_fee_fen")
                    - models.F("daily_fees_fen")
                    - models.F("packs_fen")
                    - models.F("usage_fen")
                    + models.F("other_fen")
                ),
                name="bill_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}:{self.month:%Y-%m}"


class ChargingDataRecord(models.Model):
    """The CHF record (TS 32.298) of a closed online-charging session: made once per session,
    then written to the file of the UTC hour it closed in (``charging.cdr_files``)."""

    session = models.OneToOneField(
        ChargingSession, on_delete=models.PROTECT, related_name="cdr", verbose_name="会话"
    )
    hour = models.DateTimeField(verbose_name="所属小时")  # UTC, when the session closed
    record = models.JSONField(verbose_name="话单内容")
    created_at = models.DateTimeField(verbose_name="生成时间")

    class Meta:
        verbose_name = "计费话单（CDR）"
        verbose_name_plural = "计费话单（CDR）"
        ordering = ["hour", "id"]
        indexes = [models.Index(fields=["hour", "id"], name="cdr_by_hour")]

    def __str__(self) -> str:
        return f"CDR {self.session_id}"


class CdrFile(models.Model):
    """An hourly CDR file as written: its name, how many records, their SHA-256."""

    hour = models.DateTimeField(unique=True, verbose_name="所属小时")
    name = models.CharField(max_length=40, verbose_name="文件名")
    records = models.PositiveIntegerField(verbose_name="话单数")
    sha256 = models.CharField(max_length=64, verbose_name="校验值（SHA-256）")
    written_at = models.DateTimeField(verbose_name="写出时间")

    class Meta:
        verbose_name = "话单文件"
        verbose_name_plural = "话单文件"
        ordering = ["-hour"]

    def __str__(self) -> str:
        return self.name


class ChargingNotification(models.Model):
    """A CHF-initiated notify (TS 32.291 ``ChargingNotifyRequest``) to a session's consumer,
    kept until delivered: sent by the worker's pump, retried with backoff, once per ``key``."""

    session = models.ForeignKey(
        ChargingSession, on_delete=models.CASCADE, related_name="+", verbose_name="会话"
    )
    kind = models.CharField(max_length=16, choices=NOTIFY_KIND_CHOICES, verbose_name="通知类型")
    #: What caused it, e.g. ``reauth:<ref>:credit:<ledger key>`` or ``abort:<ref>``.
    key = models.CharField(max_length=160, unique=True, verbose_name="幂等键")
    uri = models.CharField(max_length=500, verbose_name="通知地址")
    body = models.JSONField(verbose_name="通知内容")
    state = models.CharField(
        max_length=8, choices=NOTIFY_MACHINE.choices(), default="PENDING", verbose_name="状态"
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name="已尝试次数")
    next_at = models.DateTimeField(verbose_name="下次发送时间")
    last_error = models.CharField(max_length=200, blank=True, verbose_name="最近错误")
    created_at = models.DateTimeField(verbose_name="创建时间")
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name="送达时间")

    class Meta:
        verbose_name = "计费通知"
        verbose_name_plural = "计费通知"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_at"], name="charging_notify_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["PENDING", "SENT", "FAILED"]),
                name="charging_notify_state_valid",
            )
        ]

    def __str__(self) -> str:
        return self.key


# ---------------------------------------------------------------- data the owner moves (流量控)


class DataGift(models.Model):
    """A gift of data (转赠) from one line to another: asked (an SMS code to the giving
    line's own number), then confirmed (the bytes move: ``takes`` from the giver's buckets,
    a GIFT bucket ``origin="gift:<id>"`` for the receiver) or expired or failed."""

    giver = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="转出号码"
    )
    receiver = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="受赠号码"
    )
    user_id = models.BigIntegerField(verbose_name="操作用户 ID")  # who asked: the code's owner
    amount = models.BigIntegerField(verbose_name="流量（字节）")
    state = models.CharField(max_length=10, choices=GIFT_MACHINE.choices(), verbose_name="状态")
    #: The caller's Idempotency-Key: the same key again is the same gift.
    request_key = models.CharField(max_length=200, blank=True, verbose_name="幂等键")
    #: [[bucket id, source, bytes], ...] taken from the giver (what a reversal gives back).
    takes = models.JSONField(default=list, blank=True, verbose_name="扣减明细")
    failure = models.CharField(max_length=60, blank=True, verbose_name="失败原因")
    reversed_amount = models.BigIntegerField(default=0, verbose_name="撤回流量（字节）")
    created_at = models.DateTimeField(verbose_name="创建时间")
    expires_at = models.DateTimeField(verbose_name="验证截止时间")
    done_at = models.DateTimeField(null=True, blank=True, verbose_name="转赠时间")
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name="结束时间")

    class Meta:
        verbose_name = "流量转赠"
        verbose_name_plural = "流量转赠"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["giver", "state", "done_at"], name="gift_giver_done")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, reversed_amount__gte=0)
                & models.Q(reversed_amount__lte=models.F("amount")),
                name="gift_amounts_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in GiftState]),
                name="gift_state_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(giver=models.F("receiver")), name="gift_not_to_itself"
            ),
            models.UniqueConstraint(
                fields=["giver", "request_key"],
                condition=~models.Q(request_key=""),
                name="gift_request_key_once",
            ),
        ]

    def __str__(self) -> str:
        return f"转赠 #{self.pk}"


class DataBankLot(models.Model):
    """One deposit into a line's data bank (流量银行): what is left of it, taken by
    withdrawals oldest first, and when what is left expires."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    amount = models.BigIntegerField(verbose_name="存入流量（字节）")
    remaining = models.BigIntegerField(verbose_name="剩余流量（字节）")
    deposited_at = models.DateTimeField(verbose_name="存入时间")
    expires_at = models.DateTimeField(verbose_name="到期时间")
    request_key = models.CharField(max_length=200, blank=True, verbose_name="幂等键")

    class Meta:
        verbose_name = "流量银行存单"
        verbose_name_plural = "流量银行存单"
        ordering = ["expires_at", "id"]
        indexes = [models.Index(fields=["line", "expires_at"], name="bank_lot_line_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, remaining__gte=0)
                & models.Q(remaining__lte=models.F("amount")),
                name="bank_lot_remaining_valid",
            ),
            models.UniqueConstraint(
                fields=["line", "request_key"],
                condition=~models.Q(request_key=""),
                name="bank_lot_request_key_once",
            ),
        ]

    def __str__(self) -> str:
        return f"存单 #{self.pk}"


class DataMovement(models.Model):
    """One movement of a line's data, as its history and bill show it: a gift sent or
    received, a reversal, a deposit, a withdrawal, an expiry. ``key`` makes each once."""

    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    kind = models.CharField(max_length=16, choices=MovementKind.choices, verbose_name="类型")
    amount = models.BigIntegerField(verbose_name="流量（字节）")
    #: Of a reversal: bytes that could not go back (their bucket had ended).
    lapsed = models.BigIntegerField(default=0, verbose_name="失效流量（字节）")
    counterpart = models.ForeignKey(
        "lines.Line",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="对方号码",
    )
    gift = models.ForeignKey(
        DataGift, on_delete=models.PROTECT, null=True, blank=True, related_name="movements",
        verbose_name="转赠",
    )  # fmt: skip
    lot = models.ForeignKey(
        DataBankLot, on_delete=models.PROTECT, null=True, blank=True, related_name="movements",
        verbose_name="存单",
    )  # fmt: skip
    bucket_id = models.BigIntegerField(null=True, blank=True, verbose_name="新额度 ID")
    #: [[bucket id or lot id, source, bytes], ...]: where the bytes came from.
    takes = models.JSONField(default=list, blank=True, verbose_name="明细")
    key = models.CharField(max_length=240, unique=True, verbose_name="幂等键")
    actor = models.CharField(max_length=120, blank=True, verbose_name="操作人")
    created_at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "流量变动"
        verbose_name_plural = "流量变动"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "-created_at"], name="data_movement_line_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0, lapsed__gte=0), name="data_movement_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in MovementKind]),
                name="data_movement_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


# ---------------------------------------------------------------- family sharing (家庭共享)


class FamilyGroup(models.Model):
    """A family group: its main line's plan data is a pool its members draw (``family``)."""

    main_line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="主卡"
    )
    owner_user_id = models.BigIntegerField(verbose_name="创建用户 ID")
    state = models.CharField(max_length=10, choices=GroupState.choices, verbose_name="状态")
    created_at = models.DateTimeField(verbose_name="创建时间")
    dissolved_at = models.DateTimeField(null=True, blank=True, verbose_name="解散时间")

    class Meta:
        verbose_name = "家庭共享"
        verbose_name_plural = "家庭共享"
        constraints = [
            models.UniqueConstraint(
                fields=["main_line"],
                condition=models.Q(state=GroupState.ACTIVE),
                name="family_one_live_group_per_main",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in GroupState]),
                name="family_group_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"家庭 #{self.pk}"


class FamilyMember(models.Model):
    """A line's place in a family group: the main line's own (MAIN) or a member's, from its
    invitation to its end (``family_rules.MEMBER_MACHINE``). A line is ACTIVE in at most one
    group (UNIQUE); its charging account carries a copy for the hot path."""

    group = models.ForeignKey(
        FamilyGroup, on_delete=models.PROTECT, related_name="members", verbose_name="家庭"
    )
    line = models.ForeignKey(
        "lines.Line", on_delete=models.PROTECT, related_name="+", verbose_name="号卡"
    )
    role = models.CharField(max_length=8, choices=Role.choices, verbose_name="角色")
    state = models.CharField(max_length=10, choices=MEMBER_MACHINE.choices(), verbose_name="状态")
    cap_bytes = models.BigIntegerField(default=0, verbose_name="每月共享上限（字节）")
    code_expires_at = models.DateTimeField(null=True, blank=True, verbose_name="验证截止时间")
    created_at = models.DateTimeField(verbose_name="邀请时间")
    joined_at = models.DateTimeField(null=True, blank=True, verbose_name="加入时间")
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name="结束时间")
    #: Bytes a member handed back to the pool when it ended (what it held and did not use).
    returned_bytes = models.BigIntegerField(default=0, verbose_name="退回共享流量（字节）")

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["group", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"],
                condition=models.Q(state=MemberState.ACTIVE),
                name="family_line_in_one_group",
            ),
            models.UniqueConstraint(
                fields=["group", "line"],
                condition=models.Q(state__in=[MemberState.INVITED, MemberState.ACTIVE]),
                name="family_one_live_row_per_line",
            ),
            models.CheckConstraint(
                condition=models.Q(cap_bytes__gte=0, returned_bytes__gte=0),
                name="family_member_amounts_nonneg",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in MemberState]),
                name="family_member_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"家庭成员 #{self.pk}"


# Points (积分, 兑换): their own module, part of this app's models.
from haoka.charging.points_models import (  # noqa: E402, F401
    CouponCode,
    PointsConversion,
    PointsLot,
    PointsRate,
    PointsRedemption,
    ShopItem,
)
