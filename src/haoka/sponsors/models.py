"""Sponsors (后向客户), their wallets' top-ups, campaigns and the budget slices lines take.

Lines and users are referred to by id (``line_id``, ``user_id``): no foreign key into
another domain's tables but the user model's, as elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haoka.core.pii import EncryptedTextField
from haoka.sponsors.domain import (
    CAMPAIGN_MACHINE,
    LOW_BALANCE_DEFAULT_FEN,
    MEMBER_MACHINE,
    SLICE_MACHINE,
    SPONSOR_MACHINE,
    TOPUP_MACHINE,
    CampaignKind,
    CampaignStatus,
    GrantKind,
    MemberStatus,
    SliceState,
    SponsorKind,
    SponsorStatus,
    TopUpStatus,
)


class Sponsor(models.Model):
    """A company that funds its users' data. Its contact person's name and phone are personal
    data (encrypted); the company's name and USCC are public registration facts."""

    sponsor_id = models.CharField(max_length=12, unique=True, verbose_name="客户编号")
    company_name = models.CharField(max_length=100, verbose_name="企业名称")
    uscc = models.CharField(max_length=18, unique=True, verbose_name="统一社会信用代码")
    kind = models.CharField(max_length=12, choices=SponsorKind.choices, verbose_name="类型")
    contact_name = EncryptedTextField(verbose_name="联系人")
    contact_phone = EncryptedTextField(verbose_name="联系电话")
    status = models.CharField(
        max_length=10,
        choices=SPONSOR_MACHINE.choices(),
        default=SponsorStatus.PENDING,
        verbose_name="状态",
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人",
    )
    applied_at = models.DateTimeField(verbose_name="申请时间")
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name="审核时间")
    decision_reason = models.CharField(max_length=200, blank=True, verbose_name="审核说明")
    low_balance_fen = models.BigIntegerField(
        default=LOW_BALANCE_DEFAULT_FEN, verbose_name="余额提醒阈值"
    )
    #: Whether the wallet is below the threshold and its members were told (once per crossing).
    low_balance_alerted = models.BooleanField(default=False, verbose_name="已发余额提醒")
    low_balance_alerts = models.PositiveIntegerField(default=0, verbose_name="余额提醒次数")

    class Meta:
        verbose_name = "后向客户"
        verbose_name_plural = "后向客户"
        ordering = ["-applied_at", "-id"]
        indexes = [models.Index(fields=["status", "applied_at", "id"], name="sponsor_queue")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in SponsorStatus]),
                name="sponsor_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=SponsorKind.values), name="sponsor_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(low_balance_fen__gte=0), name="sponsor_low_balance_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name}（{self.sponsor_id}）"


class SponsorEvent(models.Model):
    """A move of a sponsor's status: who, when, why."""

    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.CASCADE, related_name="events", verbose_name="后向客户"
    )
    from_status = models.CharField(max_length=10, blank=True, verbose_name="原状态")
    to_status = models.CharField(max_length=10, verbose_name="新状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "后向客户状态变更"
        verbose_name_plural = "后向客户状态变更"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class SponsorMember(models.Model):
    """A person who acts for a sponsor (the applicant first). A person acts for one sponsor."""

    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.CASCADE, related_name="members", verbose_name="后向客户"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="用户",
    )
    added_at = models.DateTimeField(verbose_name="加入时间")

    class Meta:
        verbose_name = "后向客户成员"
        verbose_name_plural = "后向客户成员"
        ordering = ["sponsor_id", "added_at", "id"]

    def __str__(self) -> str:
        return f"{self.sponsor_id}:{self.user_id}"


class SponsorTopUp(models.Model):
    """Money a sponsor pays into its wallet through the gateway (payment purpose
    SPONSOR_TOPUP, ``ref`` its reference); credited once per paid payment."""

    ref = models.CharField(max_length=24, unique=True, verbose_name="充值单号")
    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.PROTECT, related_name="topups", verbose_name="后向客户"
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    method = models.CharField(max_length=8, verbose_name="支付方式")
    status = models.CharField(
        max_length=8, choices=TOPUP_MACHINE.choices(), default=TopUpStatus.PENDING,
        verbose_name="状态",
    )  # fmt: skip
    payment_id = models.BigIntegerField(null=True, blank=True, verbose_name="支付单")
    pay_url = models.CharField(max_length=500, blank=True, verbose_name="支付链接")
    credited_fen = models.BigIntegerField(default=0, verbose_name="已入账金额")
    created_by_id = models.BigIntegerField(verbose_name="发起人")
    created_at = models.DateTimeField(verbose_name="创建时间")
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name="到账时间")

    class Meta:
        verbose_name = "后向客户充值"
        verbose_name_plural = "后向客户充值"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sponsor", "created_at", "id"], name="sponsor_topups")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="sponsor_topup_amount_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(credited_fen__gte=0), name="sponsor_topup_credited_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TopUpStatus]),
                name="sponsor_topup_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


class WholesaleRate(models.Model):
    """What the operator pays upstream for a GB of a carrier's data from ``valid_from`` on
    (the latest one started is in force); set by staff, read when slices settle."""

    carrier_code = models.CharField(max_length=16, verbose_name="运营商代码")
    fen_per_gb = models.BigIntegerField(verbose_name="批发价（分/GB）")
    valid_from = models.DateTimeField(verbose_name="生效时间")
    note = models.CharField(max_length=200, blank=True, verbose_name="备注")

    class Meta:
        verbose_name = "流量批发价"
        verbose_name_plural = "流量批发价"
        ordering = ["carrier_code", "-valid_from", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier_code", "valid_from"], name="wholesale_rate_one_per_start"
            ),
            models.CheckConstraint(
                condition=models.Q(fen_per_gb__gte=0), name="wholesale_rate_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_code} {self.fen_per_gb} 分/GB"


# ---------------------------------------------------------------- campaigns


class Campaign(models.Model):
    """A sponsor's offer of data to eligible lines: a budget (moved from its wallet into the
    held account at creation), a validity ``[valid_from, valid_to)``, a per-line monthly cap
    and a price per GB. Its unsliced budget lives in its :class:`BudgetShard` rows."""

    campaign_id = models.CharField(max_length=12, unique=True, verbose_name="活动编号")
    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.PROTECT, related_name="campaigns", verbose_name="后向客户"
    )
    kind = models.CharField(max_length=16, choices=CampaignKind.choices, verbose_name="类型")
    name = models.CharField(max_length=60, verbose_name="名称")
    #: Money moved into the held account for this campaign, net of what went back.
    budget_fen = models.BigIntegerField(verbose_name="预算")
    valid_from = models.DateTimeField(verbose_name="开始时间")
    valid_to = models.DateTimeField(verbose_name="结束时间")
    rating_groups = models.JSONField(default=list, blank=True, verbose_name="费率组")
    per_line_cap_mb = models.PositiveIntegerField(verbose_name="每号每月上限（MB）")
    price_fen_per_gb = models.PositiveIntegerField(verbose_name="单价（分/GB）")
    eligibility = models.JSONField(verbose_name="参与条件")
    status = models.CharField(
        max_length=10, choices=CAMPAIGN_MACHINE.choices(), default=CampaignStatus.ACTIVE,
        verbose_name="状态",
    )  # fmt: skip
    shards = models.PositiveSmallIntegerField(verbose_name="预算分片数")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "赞助活动"
        verbose_name_plural = "赞助活动"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The hot path's read: what is ACTIVE and started (valid_to filtered on these rows).
            models.Index(fields=["status", "valid_from"], name="campaign_live"),
            models.Index(fields=["status", "valid_to"], name="campaign_expiry"),
            models.Index(fields=["sponsor", "created_at", "id"], name="campaign_of_sponsor"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in CampaignStatus]),
                name="campaign_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CampaignKind.values), name="campaign_kind_valid"
            ),
            models.CheckConstraint(condition=models.Q(budget_fen__gte=0), name="campaign_budget"),
            models.CheckConstraint(
                condition=models.Q(price_fen_per_gb__gt=0), name="campaign_price_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__gt=models.F("valid_from")), name="campaign_period"
            ),
            models.CheckConstraint(condition=models.Q(shards__gte=1), name="campaign_shards"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.campaign_id}）"


class CampaignStatusEvent(models.Model):
    """A move of a campaign's status: who, when, why."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="events", verbose_name="活动"
    )
    from_status = models.CharField(max_length=10, blank=True, verbose_name="原状态")
    to_status = models.CharField(max_length=10, verbose_name="新状态")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "活动状态变更"
        verbose_name_plural = "活动状态变更"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class BudgetShard(models.Model):
    """A part of a campaign's unsliced budget. Lines draw on their home shard (and borrow
    from the next ones when it is empty), so thousands of lines never queue on one row."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="budget_shards", verbose_name="活动"
    )
    index = models.PositiveSmallIntegerField(verbose_name="序号")
    available_fen = models.BigIntegerField(verbose_name="可切分预算")
    spent_fen = models.BigIntegerField(default=0, verbose_name="已结算")

    class Meta:
        verbose_name = "预算分片"
        verbose_name_plural = "预算分片"
        ordering = ["campaign_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "index"], name="budget_shard_unique"),
            models.CheckConstraint(
                condition=models.Q(available_fen__gte=0), name="budget_shard_available_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(spent_fen__gte=0), name="budget_shard_spent_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.index}"


class LineCampaignMonth(models.Model):
    """What a line took of a campaign in a Beijing month, against its cap (copied here so
    the database guards it)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+",
                                 verbose_name="活动")  # fmt: skip
    line_id = models.BigIntegerField(verbose_name="线路")
    month = models.CharField(max_length=7, verbose_name="月份")
    cap_bytes = models.BigIntegerField(verbose_name="上限（字节）")
    taken_bytes = models.BigIntegerField(default=0, verbose_name="已领取（字节）")
    #: Settled bytes and what they were charged: each settlement charges the difference of
    #: the rounded cumulative totals (``domain.cumulative_charge``).
    used_bytes = models.BigIntegerField(default=0, verbose_name="已结算（字节）")
    charged_fen = models.BigIntegerField(default=0, verbose_name="已结算金额")

    class Meta:
        verbose_name = "线路活动月用量"
        verbose_name_plural = "线路活动月用量"
        ordering = ["campaign_id", "line_id", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "line_id", "month"], name="line_campaign_month_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(taken_bytes__gte=0, taken_bytes__lte=models.F("cap_bytes")),
                name="line_campaign_month_within_cap",
            ),
            models.CheckConstraint(
                condition=models.Q(used_bytes__gte=0, charged_fen__gte=0),
                name="line_campaign_month_settled_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.line_id}:{self.month}"


class RewardGrant(models.Model):
    """A 流量红包: megabytes of a DATA_REWARD campaign granted to a line, once per the
    sponsor's ``external_id`` (its request id); paid through the slices it took."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="grants",
                                 verbose_name="活动")  # fmt: skip
    external_id = models.CharField(max_length=64, verbose_name="客户请求号")
    line_id = models.BigIntegerField(verbose_name="线路")
    megabytes = models.PositiveIntegerField(verbose_name="流量（MB）")
    kind = models.CharField(max_length=10, choices=GrantKind.choices, verbose_name="类型")
    valid_to = models.DateTimeField(verbose_name="有效期至")
    created_at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "流量红包"
        verbose_name_plural = "流量红包"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "external_id"], name="grant_once"),
            models.CheckConstraint(condition=models.Q(megabytes__gt=0), name="grant_mb_pos"),
            models.CheckConstraint(
                condition=models.Q(kind__in=GrantKind.values), name="grant_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.external_id}"


class PoolMember(models.Model):
    """A line in an ENTERPRISE_POOL campaign: CODE_SENT until its owner confirms the SMS
    code, then ACTIVE (it draws the pool's general data), LEFT or REMOVED."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members",
                                 verbose_name="活动")  # fmt: skip
    line_id = models.BigIntegerField(verbose_name="线路")
    status = models.CharField(max_length=10, choices=MEMBER_MACHINE.choices(),
                              default=MemberStatus.CODE_SENT, verbose_name="状态")  # fmt: skip
    code_hash = models.CharField(max_length=64, blank=True, verbose_name="验证码摘要")
    code_expires_at = models.DateTimeField(null=True, blank=True, verbose_name="验证码过期")
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name="验证次数")
    created_at = models.DateTimeField(verbose_name="邀请时间")
    changed_at = models.DateTimeField(verbose_name="变更时间")

    class Meta:
        verbose_name = "流量池成员"
        verbose_name_plural = "流量池成员"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line_id", "status"], name="pool_member_of_line")]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "line_id"], name="pool_member_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in MemberStatus]),
                name="pool_member_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.line_id}"


class Slice(models.Model):
    """Bytes of a campaign a line took, and the money they hold, until settled."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="slices", verbose_name="活动"
    )
    shard = models.ForeignKey(BudgetShard, on_delete=models.PROTECT, related_name="+",
                              verbose_name="预算分片")  # fmt: skip
    line_id = models.BigIntegerField(verbose_name="线路")
    month = models.CharField(max_length=7, verbose_name="月份")
    bytes = models.BigIntegerField(verbose_name="字节数")
    held_fen = models.BigIntegerField(verbose_name="占用预算")
    used_bytes = models.BigIntegerField(default=0, verbose_name="已用字节")
    charged_fen = models.BigIntegerField(default=0, verbose_name="结算金额")
    state = models.CharField(
        max_length=8, choices=SLICE_MACHINE.choices(), default=SliceState.OPEN,
        verbose_name="状态",
    )  # fmt: skip
    created_at = models.DateTimeField(verbose_name="创建时间")
    valid_to = models.DateTimeField(verbose_name="有效期至")
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name="结算时间")
    grant = models.ForeignKey(RewardGrant, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="slices", verbose_name="流量红包")  # fmt: skip

    class Meta:
        verbose_name = "预算切片"
        verbose_name_plural = "预算切片"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "valid_to"], name="slice_open_expiry"),
            models.Index(fields=["line_id", "campaign"], name="slice_of_line"),
            models.Index(fields=["campaign", "created_at"], name="slice_of_campaign"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(bytes__gt=0), name="slice_bytes_pos"),
            models.CheckConstraint(
                condition=models.Q(charged_fen__gte=0, charged_fen__lte=models.F("held_fen")),
                name="slice_charged_within_held",
            ),
            models.CheckConstraint(
                condition=models.Q(used_bytes__gte=0, used_bytes__lte=models.F("bytes")),
                name="slice_used_within_bytes",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in SliceState]),
                name="slice_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"slice {self.pk}"


class SponsorOptOut(models.Model):
    """A line's owner refused a sponsor: no new slices of its campaigns for the line."""

    line_id = models.BigIntegerField(verbose_name="线路")
    sponsor = models.ForeignKey(Sponsor, on_delete=models.CASCADE, related_name="+",
                                verbose_name="后向客户")  # fmt: skip
    created_at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "拒绝赞助"
        verbose_name_plural = "拒绝赞助"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["line_id", "sponsor"], name="opt_out_once")]

    def __str__(self) -> str:
        return f"{self.line_id} ✗ {self.sponsor_id}"


class SponsorOptIn(models.Model):
    """A line opted in to a campaign through the sponsor's app (recorded by the sponsor)."""

    line_id = models.BigIntegerField(verbose_name="线路")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="opt_ins",
                                 verbose_name="活动")  # fmt: skip
    created_at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "参与活动"
        verbose_name_plural = "参与活动"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["line_id", "campaign"], name="opt_in_once")]

    def __str__(self) -> str:
        return f"{self.line_id} ✓ {self.campaign_id}"


class CampaignEventKind(models.TextChoices):
    THRESHOLD_80 = "THRESHOLD_80", "预算已用 80%"
    THRESHOLD_100 = "THRESHOLD_100", "预算已用尽"
    EXPIRED = "EXPIRED", "活动到期"


class CampaignEvent(models.Model):
    """An outbox row for the sponsor's webhooks (delivered later): a budget threshold
    reached or the campaign's expiry, once per campaign and kind."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outbox",
                                 verbose_name="活动")  # fmt: skip
    kind = models.CharField(max_length=16, choices=CampaignEventKind.choices, verbose_name="类型")
    created_at = models.DateTimeField(verbose_name="时间")
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name="送达时间")

    class Meta:
        verbose_name = "活动通知"
        verbose_name_plural = "活动通知"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="campaign_event_once"),
            models.CheckConstraint(
                condition=models.Q(kind__in=CampaignEventKind.values),
                name="campaign_event_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind}"


# The CAMARA Sponsored Data API's tables live beside (one app, one migration history).
from haoka.sponsors.camara_models import (  # noqa: E402
    CamaraAlertSubscription,
    CamaraNotification,
    CamaraSession,
)

__all__ = ["CamaraAlertSubscription", "CamaraNotification", "CamaraSession"]
