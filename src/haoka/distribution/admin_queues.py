"""Staff screens of distribution's money and queues: the commission ledger (read only),
withdrawals (approve and pay, or reject), the fraud queue (confirm or dismiss), complaints,
materials and courses. Registered by importing this module from ``admin``."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from haoka.core import clock, pii
from haoka.core.money import format_fen
from haoka.distribution import credit, fraud, withdrawals
from haoka.distribution.admin import DecisionActions, _masked
from haoka.distribution.models import (
    Complaint,
    Course,
    Entry,
    FraudFlag,
    Material,
    Question,
    Withdrawal,
)

# ------------------------------------------------------------------------------ money


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = (
        "accrued_at",
        "agent",
        "order_ref",
        "kind",
        "amount",
        "status",
        "settle_after",
        "withdrawable_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("sale__order_ref", "agent__code")
    list_select_related = ("agent", "sale")
    fields = (
        "key",
        "agent",
        "order_ref",
        "kind",
        "amount",
        "status",
        "memo",
        "accrued_at",
        "settle_after",
        "settled_at",
        "withdrawable_at",
        "clawed_back_at",
        "clawback_reason",
    )
    readonly_fields = fields

    @admin.display(description="订单号", ordering="sale__order_ref")
    def order_ref(self, obj: Entry) -> str:
        return obj.sale.order_ref

    @admin.display(description="金额", ordering="amount_fen")
    def amount(self, obj: Entry) -> str:
        return format_fen(obj.amount_fen)


@admin.register(Withdrawal)
class WithdrawalAdmin(DecisionActions, ReadOnlyAdmin):
    list_display = (
        "ref",
        "agent",
        "amount",
        "fee",
        "net",
        "status",
        "payee_channel",
        "masked_account",
        "requested_at",
        "decided_at",
        "paid_at",
    )
    list_filter = ("status", "payee_channel")
    search_fields = ("ref", "agent__code", "provider_ref")
    list_select_related = ("agent",)
    fields = readonly_fields = (
        "ref",
        "agent",
        "amount",
        "fee",
        "net",
        "status",
        "payee_channel",
        "masked_account",
        "masked_payee_name",
        "requested_at",
        "decided_at",
        "decided_by",
        "paid_at",
        "provider_ref",
        "failure_reason",
    )
    actions = ["approve", "reject"]

    @admin.display(description="金额", ordering="amount_fen")
    def amount(self, obj: Withdrawal) -> str:
        return format_fen(obj.amount_fen)

    @admin.display(description="手续费")
    def fee(self, obj: Withdrawal) -> str:
        return format_fen(obj.fee_fen)

    @admin.display(description="实付")
    def net(self, obj: Withdrawal) -> str:
        return format_fen(obj.net_fen)

    @admin.display(description="收款账号")
    def masked_account(self, obj: Withdrawal) -> str:
        return _masked(obj.payee_account)

    @admin.display(description="收款户名")
    def masked_payee_name(self, obj: Withdrawal) -> str:
        return pii.mask_name(obj.payee_name or "")

    def _decide(self, request, queryset, *, approve: bool):
        def call(w, note):
            withdrawals.decide(
                ref=w.ref, approve=approve, staff_id=request.user.pk, note=note, now=clock.now()
            )

        action, title = ("approve", "批准打款") if approve else ("reject", "驳回")
        return self.decide(
            request, queryset, action=action, title=title, run=call, label=self._label
        )

    def _label(self, obj: Withdrawal) -> str:
        return f"{obj.ref}（{format_fen(obj.amount_fen)}）"

    @admin.action(description="批准打款")
    def approve(self, request, queryset):
        return self._decide(request, queryset, approve=True)

    @admin.action(description="驳回（退回可提现余额）")
    def reject(self, request, queryset):
        return self._decide(request, queryset, approve=False)


@admin.register(FraudFlag)
class FraudFlagAdmin(DecisionActions, ReadOnlyAdmin):
    list_display = ("created_at", "agent", "order_ref", "kind", "detail", "status", "decided_at")
    list_filter = ("status", "kind")
    search_fields = ("agent__code", "sale__order_ref")
    list_select_related = ("agent", "sale")
    fields = readonly_fields = (
        "agent",
        "order_ref",
        "kind",
        "detail",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
        "note",
    )
    actions = ["confirm", "dismiss"]

    @admin.display(description="订单号")
    def order_ref(self, obj: FraudFlag) -> str:
        return obj.sale.order_ref if obj.sale else "—"

    def _decide(self, request, queryset, *, confirmed: bool):
        def call(item, note):
            fraud.decide(
                flag_id=item.pk,
                confirmed=confirmed,
                staff_id=request.user.pk,
                note=note,
                now=clock.now(),
            )

        action, title = ("confirm", "确认违规") if confirmed else ("dismiss", "排除")
        return self.decide(
            request, queryset, action=action, title=title, run=call, label=self._label
        )

    def _label(self, obj: FraudFlag) -> str:
        return f"#{obj.pk} {obj.get_kind_display()}"

    @admin.action(description="确认违规（追回佣金并冻结代理）")
    def confirm(self, request, queryset):
        return self._decide(request, queryset, confirmed=True)

    @admin.action(description="排除（解除佣金冻结）")
    def dismiss(self, request, queryset):
        return self._decide(request, queryset, confirmed=False)


# ------------------------------------------------------------------------------ the rest


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("created_at", "agent", "order_ref", "text")
    search_fields = ("agent__code", "order_ref", "text")
    date_hierarchy = "created_at"
    raw_id_fields = ("agent",)
    list_select_related = ("agent",)

    # A complaint counts in the agent's score: rescored as soon as it is saved or deleted.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        agents = {obj.agent_id, *([form.initial.get("agent")] if change else [])}
        credit.refresh_on_commit(agent_ids=[a for a in agents if a])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        credit.refresh_on_commit(agent_ids=[obj.agent_id])

    def delete_queryset(self, request, queryset):
        agents = list(queryset.values_list("agent_id", flat=True))
        super().delete_queryset(request, queryset)
        credit.refresh_on_commit(agent_ids=agents)


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "plan_code", "published", "sort")
    list_filter = ("kind", "published")
    search_fields = ("title", "plan_code")


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ("text", "options", "answer", "sort")
        labels = {
            "text": "题目",
            "options": "选项（JSON 列表）",
            "answer": "正确选项序号（从 0 起）",
        }

    def clean(self):
        data = super().clean()
        options, answer = data.get("options"), data.get("answer")
        if options is not None and (
            not isinstance(options, list)
            or len(options) < 2
            or not all(isinstance(o, str) and o.strip() for o in options)
        ):
            self.add_error("options", "至少两个选项，每个选项为非空文字")
        elif answer is not None and options is not None and answer >= len(options):
            self.add_error("answer", "正确选项序号超出选项范围")
        return data


class QuestionInline(admin.TabularInline):
    model = Question
    form = QuestionForm
    extra = 1
    verbose_name = verbose_name_plural = "考题"


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "pass_percent", "unlocks_vanity", "published", "sort")
    list_filter = ("published", "unlocks_vanity")
    search_fields = ("code", "title")
    inlines = [QuestionInline]
