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
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="agent",
        verbose_name="用户",
    )
    code = models.CharField(
        max_length=12, unique=True, null=True, blank=True, verbose_name="代理编号"
    )
    invite_code = models.CharField(
        max_length=12, unique=True, null=True, blank=True, verbose_name="邀请码"
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="上级代理",
    )
    level = models.PositiveSmallIntegerField(default=1, verbose_name="层级")
    status = models.CharField(
        max_length=10,
        choices=AGENT_MACHINE.choices(),
        default=AgentStatus.PENDING,
        verbose_name="状态",
    )
    real_name = EncryptedTextField(verbose_name="真实姓名")
    name_hash = models.CharField(max_length=64, verbose_name="姓名摘要")
    id_number = EncryptedTextField(verbose_name="身份证号")
    id_hash = models.CharField(max_length=64, db_index=True, verbose_name="身份证摘要")
    phone_hash = models.CharField(max_length=64, db_index=True, verbose_name="手机号摘要")
    address = EncryptedTextField(blank=True, default="", verbose_name="地址")
    address_hash = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name="地址摘要"
    )
    device_hash = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name="设备摘要"
    )
    payee_channel = models.CharField(max_length=8, verbose_name="收款渠道")  # ALIPAY | BANK
    payee_account = EncryptedTextField(verbose_name="收款账号")
    shop_name = models.CharField(max_length=30, blank=True, verbose_name="店铺名称")
    shop_intro = models.CharField(max_length=120, blank=True, verbose_name="店铺简介")
    shop_sells_vanity = models.BooleanField(default=False, verbose_name="店铺销售靓号")
    tier = models.CharField(max_length=1, choices=TIER_CHOICES, default=Tier.C, verbose_name="等级")
    credit_score = models.PositiveSmallIntegerField(default=60, verbose_name="信用分")
    credit_factors = models.JSONField(default=list, blank=True, verbose_name="信用因子")
    credit_at = models.DateTimeField(null=True, blank=True, verbose_name="信用评估时间")
    applied_at = models.DateTimeField(default=clock.now, verbose_name="申请时间")
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name="审核时间")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    decision_note = models.CharField(max_length=200, blank=True, verbose_name="审核备注")

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

    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="events", verbose_name="代理"
    )
    what = models.CharField(max_length=20, verbose_name="变更项")  # STATUS | TIER
    from_value = models.CharField(max_length=12, blank=True, verbose_name="原值")
    to_value = models.CharField(max_length=12, verbose_name="新值")
    actor = models.CharField(max_length=80, verbose_name="操作人")
    reason = models.CharField(max_length=200, blank=True, verbose_name="原因")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "代理事件"
        verbose_name_plural = "代理事件"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.what} {self.from_value} → {self.to_value}"


class Product(models.Model):
    """A plan as staff offer it to agents: the most commission a sale may cost (all kinds,
    both levels), the markup agents may add, who may sell it."""

    plan_code = models.CharField(max_length=40, unique=True, verbose_name="套餐代码")
    enabled = models.BooleanField(default=True, verbose_name="启用")
    margin_fen = models.BigIntegerField(default=0, verbose_name="利润空间")
    max_markup_fen = models.BigIntegerField(default=0, verbose_name="最高加价")
    min_tier = models.CharField(
        max_length=1, choices=TIER_CHOICES, default=Tier.D, verbose_name="最低代理等级"
    )
    course = models.ForeignKey(
        "Course",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="课程",
    )
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")

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

    plan_code = models.CharField(max_length=40, default="*", verbose_name="套餐代码")
    tier = models.CharField(max_length=1, blank=True, choices=TIER_CHOICES, verbose_name="代理等级")
    kind = models.CharField(
        max_length=12, choices=_choices(Kind, KIND_LABELS), verbose_name="佣金类型"
    )
    amount_fen = models.BigIntegerField(default=0, verbose_name="固定金额")
    rate_bp = models.PositiveIntegerField(default=0, verbose_name="比例（万分之一）")
    threshold_fen = models.BigIntegerField(default=0, verbose_name="门槛金额")
    months = models.PositiveSmallIntegerField(default=0, verbose_name="持续月数")
    valid_from = models.DateTimeField(default=clock.now, verbose_name="生效时间")
    valid_to = models.DateTimeField(null=True, blank=True, verbose_name="失效时间")
    note = models.CharField(max_length=120, blank=True, verbose_name="备注")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

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
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="shop_items", verbose_name="代理"
    )
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    markup_fen = models.BigIntegerField(default=0, verbose_name="加价")
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")

    class Meta:
        verbose_name = "店铺商品"
        verbose_name_plural = "店铺商品"
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

    order_ref = models.CharField(max_length=24, unique=True, verbose_name="订单号")
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="sales", verbose_name="代理"
    )
    parent = models.ForeignKey(
        Agent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="team_sales",
        verbose_name="上级代理",
    )
    seller_tier = models.CharField(max_length=1, verbose_name="销售时等级")
    parent_tier = models.CharField(max_length=1, blank=True, verbose_name="上级等级")
    plan_code = models.CharField(max_length=40, verbose_name="套餐代码")
    terms = models.JSONField(default=dict, verbose_name="佣金条款")
    margin_fen = models.BigIntegerField(default=0, verbose_name="利润空间")
    committed_fen = models.BigIntegerField(default=0, verbose_name="已承诺佣金")
    customer_user_id = models.BigIntegerField(verbose_name="客户用户 ID")
    msisdn = models.CharField(max_length=11, verbose_name="号码")
    device_hash = models.CharField(max_length=64, blank=True, verbose_name="设备摘要")
    # Copied from the order when it is attributed, and its state kept in step by orders
    # (distribution sits below orders and never reads them): what the agent's pages show and
    # what fraud screening matches.
    plan_name = models.CharField(max_length=80, blank=True, verbose_name="套餐名称")
    contact_phone_hash = models.CharField(max_length=64, blank=True, verbose_name="联系电话摘要")
    order_state = models.CharField(max_length=20, blank=True, verbose_name="订单状态")
    order_state_label = models.CharField(max_length=40, blank=True, verbose_name="订单状态名称")
    line_id = models.BigIntegerField(null=True, blank=True, unique=True, verbose_name="号卡 ID")
    status = models.CharField(
        max_length=10, choices=SALE_MACHINE.choices(), default=SaleState.OPEN, verbose_name="状态"
    )
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name="激活时间")
    first_topup_at = models.DateTimeField(null=True, blank=True, verbose_name="首充时间")
    ever_arrears = models.BooleanField(default=False, verbose_name="曾欠费")
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name="结束时间")
    fraud_hold = models.BooleanField(default=False, verbose_name="风控冻结")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "销售记录"
        verbose_name_plural = "销售记录"
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

    key = models.CharField(max_length=80, unique=True, verbose_name="唯一键")
    sale = models.ForeignKey(
        Sale, on_delete=models.PROTECT, related_name="entries", verbose_name="销售记录"
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="entries", verbose_name="代理"
    )
    kind = models.CharField(
        max_length=12, choices=_choices(Kind, KIND_LABELS), verbose_name="佣金类型"
    )
    amount_fen = models.BigIntegerField(verbose_name="金额")
    status = models.CharField(max_length=12, choices=ENTRY_MACHINE.choices(), verbose_name="状态")
    memo = models.CharField(max_length=120, blank=True, verbose_name="摘要")
    accrued_at = models.DateTimeField(verbose_name="计提时间")
    settle_after = models.DateTimeField(verbose_name="结算时间点")
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name="结算时间")
    withdrawable_at = models.DateTimeField(null=True, blank=True, verbose_name="可提现时间")
    clawed_back_at = models.DateTimeField(null=True, blank=True, verbose_name="追回时间")
    clawback_reason = models.CharField(max_length=120, blank=True, verbose_name="追回原因")

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

    key = models.CharField(max_length=80, unique=True, verbose_name="唯一键")
    kind = models.CharField(
        max_length=16, verbose_name="事件类型"
    )  # ACTIVATED TOPUP MONTHLY_FEE LINE_ENDED
    sale = models.ForeignKey(
        Sale, on_delete=models.CASCADE, related_name="+", verbose_name="销售记录"
    )
    data = models.JSONField(default=dict, verbose_name="数据")
    at = models.DateTimeField(verbose_name="时间")
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name="处理时间")
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name="尝试次数")
    last_error = models.CharField(max_length=300, blank=True, verbose_name="最近错误")

    class Meta:
        verbose_name = "分销事件收件箱"
        verbose_name_plural = "分销事件收件箱"
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
    ref = models.CharField(max_length=24, unique=True, verbose_name="提现单号")
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="withdrawals", verbose_name="代理"
    )
    amount_fen = models.BigIntegerField(verbose_name="提现金额")
    fee_fen = models.BigIntegerField(verbose_name="手续费")
    net_fen = models.BigIntegerField(verbose_name="实付金额")
    status = models.CharField(
        max_length=10,
        choices=WITHDRAWAL_MACHINE.choices(),
        default=WithdrawalStatus.REQUESTED,
        verbose_name="状态",
    )
    payee_channel = models.CharField(max_length=8, verbose_name="收款渠道")
    payee_account = EncryptedTextField(verbose_name="收款账号")
    payee_name = EncryptedTextField(verbose_name="收款人")
    requested_at = models.DateTimeField(verbose_name="申请时间")
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name="审核时间")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name="支付时间")
    provider_ref = models.CharField(max_length=64, blank=True, verbose_name="打款流水号")
    failure_reason = models.CharField(max_length=200, blank=True, verbose_name="失败原因")

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

    key = models.CharField(max_length=100, unique=True, verbose_name="唯一键")
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="fraud_flags", verbose_name="代理"
    )
    sale = models.ForeignKey(
        Sale,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fraud_flags",
        verbose_name="销售记录",
    )
    kind = models.CharField(
        max_length=24, choices=_choices(FraudKind, FRAUD_LABELS), verbose_name="预警原因"
    )
    detail = models.CharField(max_length=300, blank=True, verbose_name="详情")
    status = models.CharField(
        max_length=10,
        choices=FRAUD_MACHINE.choices(),
        default=FraudStatus.OPEN,
        verbose_name="状态",
    )
    created_at = models.DateTimeField(verbose_name="创建时间")
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name="审核时间")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    note = models.CharField(max_length=200, blank=True, verbose_name="备注")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "风控预警"
        verbose_name_plural = "风控预警"
        indexes = [models.Index(fields=["status", "-created_at"], name="fraud_queue")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Complaint(models.Model):
    """A customer complaint about an agent (recorded by staff; counts in the credit score)."""

    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="complaints", verbose_name="代理"
    )
    order_ref = models.CharField(max_length=24, blank=True, verbose_name="订单号")
    text = models.CharField(max_length=300, verbose_name="投诉内容")
    created_at = models.DateTimeField(default=clock.now, verbose_name="创建时间")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "客户投诉"
        verbose_name_plural = "客户投诉"

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.text[:20]}"


class CreditRun(models.Model):
    """The daily credit score of an agent, with the factors that made it."""

    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="credit_runs", verbose_name="代理"
    )
    run_date = models.DateField(verbose_name="评估日期")
    score = models.PositiveSmallIntegerField(verbose_name="信用分")
    tier = models.CharField(max_length=1, verbose_name="等级")
    factors = models.JSONField(default=list, verbose_name="因子")
    created_at = models.DateTimeField(verbose_name="创建时间")

    class Meta:
        verbose_name = "信用评估"
        verbose_name_plural = "信用评估"
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

    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name="素材类型")
    title = models.CharField(max_length=60, verbose_name="标题")
    body = models.TextField(blank=True, verbose_name="正文")
    plan_code = models.CharField(max_length=40, blank=True, verbose_name="套餐代码")
    published = models.BooleanField(default=True, verbose_name="已发布")
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = "推广素材"
        verbose_name_plural = "推广素材"

    def __str__(self) -> str:
        return self.title


class Course(models.Model):
    code = models.CharField(max_length=24, unique=True, verbose_name="课程代码")
    title = models.CharField(max_length=60, verbose_name="标题")
    summary = models.CharField(max_length=200, blank=True, verbose_name="简介")
    content = models.TextField(verbose_name="内容")
    pass_percent = models.PositiveSmallIntegerField(default=80, verbose_name="及格分数（%）")
    unlocks_vanity = models.BooleanField(default=False, verbose_name="解锁靓号销售")
    published = models.BooleanField(default=True, verbose_name="已发布")
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")

    class Meta:
        ordering = ["sort", "id"]
        verbose_name = "培训课程"
        verbose_name_plural = "培训课程"

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="questions", verbose_name="课程"
    )
    text = models.CharField(max_length=200, verbose_name="题目")
    options = models.JSONField(default=list, verbose_name="选项")  # list of strings
    answer = models.PositiveSmallIntegerField(verbose_name="正确答案")  # index into options
    sort = models.PositiveIntegerField(default=100, verbose_name="排序")

    class Meta:
        verbose_name = "考题"
        verbose_name_plural = "考题"
        ordering = ["sort", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class QuizAttempt(models.Model):
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="quiz_attempts", verbose_name="代理"
    )
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="+", verbose_name="课程"
    )
    score_percent = models.PositiveSmallIntegerField(verbose_name="得分（%）")
    passed = models.BooleanField(verbose_name="通过")
    answers = models.JSONField(default=list, verbose_name="作答")
    at = models.DateTimeField(verbose_name="时间")

    class Meta:
        verbose_name = "答题记录"
        verbose_name_plural = "答题记录"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["agent", "course", "passed"], name="quiz_passed")]

    def __str__(self) -> str:
        return f"{self.agent_id}/{self.course_id}: {self.score_percent}%"
