"""Staff screens of distribution: the application queue and agents (approve, reject, freeze,
unfreeze through the use cases), commission rules (checked by ``operations.save_rule``),
distribution products, the commission ledger (read only), withdrawals (approve and pay, or
reject), the fraud queue (confirm or dismiss), complaints, materials and courses.

Personal data is never shown in clear: names, ID numbers and payee accounts appear masked,
the address not at all. A full ID number or phone number typed into the search box finds its
agent through the keyed hash.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template import engines
from django.template.response import TemplateResponse

from haoka.catalog import queries as catalog_queries
from haoka.core import clock, pii
from haoka.core.admin_display import YuanAdminMixin
from haoka.core.errors import HaokaError
from haoka.core.money import format_fen
from haoka.distribution import domain, operations
from haoka.distribution.models import (
    Agent,
    AgentEvent,
    CommissionRule,
    Product,
)
from haoka.kyc import queries as kyc_queries

# The note asked before a decision: one small page, shared by every action below.
_NOTE_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block content %}
<form method="post">{% csrf_token %}
  <p>将对以下{{ opts.verbose_name }}执行「{{ title }}」：</p>
  <ul>{% for pk, label in rows %}<li>{{ label }}</li>
    <input type="hidden" name="{{ action_checkbox_name }}" value="{{ pk }}">{% endfor %}</ul>
  {{ form.as_p }}
  <input type="hidden" name="action" value="{{ action }}">
  <input type="hidden" name="apply" value="1">
  <input type="submit" value="确认{{ title }}">
</form>
{% endblock %}"""
)


class NoteForm(forms.Form):
    note = forms.CharField(
        label="备注 / 原因", max_length=200, widget=forms.Textarea(attrs={"rows": 3})
    )


class DecisionActions:
    """Actions that ask for a note, then call a use case for each selected row; a refusal
    (a named error) is reported for that row and the others go on."""

    def decide(self, request, queryset, *, action: str, title: str, run, label=str):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        rows = list(queryset.order_by("pk"))
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "form": form,
                "action": action,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "rows": [(obj.pk, label(obj)) for obj in rows],
            }
            return TemplateResponse(request, _NOTE_PAGE, context)
        for obj in rows:
            try:
                run(obj, form.cleaned_data["note"])
            except HaokaError as exc:
                self.message_user(request, f"{label(obj)}：{exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"{label(obj)}：已{title}", messages.SUCCESS)
        return None


def _masked(value: str) -> str:
    return pii.mask_id_number(value or "")


# ------------------------------------------------------------------------------ agents


class AgentEventInline(admin.TabularInline):
    model = AgentEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("what", "from_value", "to_value", "actor", "reason", "at")
    verbose_name = verbose_name_plural = "状态记录"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agent)
class AgentAdmin(DecisionActions, admin.ModelAdmin):
    list_display = (
        "__str__",
        "masked_name",
        "level",
        "parent",
        "status",
        "tier",
        "credit_score",
        "applied_at",
    )
    list_filter = ("status", "level", "tier", "payee_channel")
    search_fields = ("code", "invite_code", "shop_name")
    list_select_related = ("parent",)
    fields = readonly_fields = (
        "code",
        "invite_code",
        "level",
        "parent",
        "status",
        "masked_name",
        "masked_id",
        "payee_channel",
        "masked_payee",
        "tier",
        "credit_score",
        "credit_factors",
        "credit_at",
        "shop_name",
        "shop_intro",
        "shop_sells_vanity",
        "applied_at",
        "decided_at",
        "decided_by",
        "decision_note",
    )
    inlines = [AgentEventInline]
    actions = ["approve", "reject", "freeze", "unfreeze"]

    @admin.display(description="姓名")
    def masked_name(self, obj: Agent) -> str:
        return pii.mask_name(obj.real_name)

    @admin.display(description="身份证号")
    def masked_id(self, obj: Agent) -> str:
        return pii.mask_id_number(obj.id_number)

    @admin.display(description="收款账号")
    def masked_payee(self, obj: Agent) -> str:
        return _masked(obj.payee_account)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 18 and term[:17].isdigit():
            found = kyc_queries.hash_identity(id_number=term)["id_hash"]
            return queryset.filter(id_hash=found), False
        if len(term) == 11 and term.isdigit():
            found = kyc_queries.hash_identity(phone=term)["phone_hash"]
            return queryset.filter(phone_hash=found), False
        return super().get_search_results(request, queryset, search_term)

    def _label(self, obj: Agent) -> str:
        return f"{obj}（{pii.mask_name(obj.real_name)}）"

    def _decide(self, request, queryset, *, approve: bool):
        def call(agent: Agent, note: str) -> None:
            operations.decide(  # only a pending application (checked under its lock)
                agent_id=agent.pk,
                approve=approve,
                staff_id=request.user.pk,
                note=note,
                now=clock.now(),
            )

        action, title = ("approve", "批准") if approve else ("reject", "驳回")
        return self.decide(
            request, queryset, action=action, title=title, run=call, label=self._label
        )

    def _status(self, request, queryset, *, frozen: bool):
        def call(agent: Agent, note: str) -> None:
            operations.set_status(
                agent_id=agent.pk,
                frozen=frozen,
                staff_id=request.user.pk,
                reason=note,
                now=clock.now(),
            )

        action, title = ("freeze", "冻结") if frozen else ("unfreeze", "解冻")
        return self.decide(
            request, queryset, action=action, title=title, run=call, label=self._label
        )

    @admin.action(description="批准所选代理申请")
    def approve(self, request, queryset):
        return self._decide(request, queryset, approve=True)

    @admin.action(description="驳回所选代理申请")
    def reject(self, request, queryset):
        return self._decide(request, queryset, approve=False)

    @admin.action(description="冻结所选代理")
    def freeze(self, request, queryset):
        return self._status(request, queryset, frozen=True)

    @admin.action(description="解冻所选代理")
    def unfreeze(self, request, queryset):
        return self._status(request, queryset, frozen=False)


# ------------------------------------------------------------------------------ rules, products


class CommissionRuleForm(forms.ModelForm):
    class Meta:
        model = CommissionRule
        fields = (
            "plan_code",
            "tier",
            "kind",
            "amount_fen",
            "rate_bp",
            "threshold_fen",
            "months",
            "valid_from",
            "valid_to",
            "note",
        )
        labels = {
            "plan_code": "套餐编码（* 为全部）",
            "tier": "等级（留空为全部）",
            "kind": "佣金类型",
            "amount_fen": "固定金额（元）",
            "rate_bp": "比例（万分之一）",
            "threshold_fen": "门槛（元）",
            "months": "分成月数",
            "valid_from": "生效时间",
            "valid_to": "失效时间",
            "note": "备注",
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        # The same check save_rule makes, here so that a bad rule is a form error.
        try:
            domain.check_rule(
                domain.RuleRow(
                    plan_code=data.get("plan_code") or "*",
                    tier=data.get("tier") or "",
                    kind=data.get("kind") or "",
                    amount_fen=data.get("amount_fen") or 0,
                    rate_bp=data.get("rate_bp") or 0,
                    threshold_fen=data.get("threshold_fen") or 0,
                    months=data.get("months") or 0,
                    valid_from=data.get("valid_from"),
                    valid_to=data.get("valid_to"),
                )
            )
        except domain.InvalidRule as exc:
            raise forms.ValidationError(exc.message) from None
        return data


@admin.register(CommissionRule)
class CommissionRuleAdmin(YuanAdminMixin, admin.ModelAdmin):
    form = CommissionRuleForm
    list_display = (
        "plan_code",
        "tier",
        "kind",
        "amount",
        "rate",
        "threshold_fen",
        "months",
        "valid_from",
        "valid_to",
        "note",
    )
    list_filter = ("kind", "tier")
    search_fields = ("plan_code", "note")

    @admin.display(description="固定金额", ordering="amount_fen")
    def amount(self, obj: CommissionRule) -> str:
        return format_fen(obj.amount_fen)

    @admin.display(description="比例", ordering="rate_bp")
    def rate(self, obj: CommissionRule) -> str:
        whole, rest = divmod(obj.rate_bp, 100)
        return f"{whole}.{rest:02d}%"

    def save_model(self, request, obj, form, change):
        operations.save_rule(rule=obj)

    def has_delete_permission(self, request, obj=None):
        return False  # end a rule with 失效时间: old orders keep the terms they were given


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ("plan_code", "enabled", "margin_fen", "max_markup_fen", "min_tier", "course")
        labels = {
            "plan_code": "套餐编码",
            "enabled": "上架",
            "margin_fen": "佣金总额上限（元，两级合计）",
            "max_markup_fen": "加价上限（元）",
            "min_tier": "最低信用等级",
            "course": "须先通过的课程",
        }

    def clean_plan_code(self):
        code = self.cleaned_data["plan_code"].strip()
        try:
            catalog_queries.plan_detail(code=code, include_unlisted=True)
        except HaokaError as exc:
            raise forms.ValidationError(exc.message) from None
        return code

    def clean_max_markup_fen(self):
        value = self.cleaned_data["max_markup_fen"]
        if not 0 <= value <= domain.MARKUP_CEILING_FEN:
            ceiling = format_fen(domain.MARKUP_CEILING_FEN)
            raise forms.ValidationError(f"加价上限应在 ¥0.00 到 {ceiling} 之间")
        return value

    def clean_margin_fen(self):
        value = self.cleaned_data["margin_fen"]
        if value < 0:
            raise forms.ValidationError("佣金总额上限不能为负")
        return value


@admin.register(Product)
class ProductAdmin(YuanAdminMixin, admin.ModelAdmin):
    form = ProductForm
    list_display = ("plan_code", "enabled", "margin", "max_markup", "min_tier", "course", "sort")
    list_filter = ("enabled", "min_tier")
    search_fields = ("plan_code",)

    @admin.display(description="佣金上限", ordering="margin_fen")
    def margin(self, obj: Product) -> str:
        return format_fen(obj.margin_fen)

    @admin.display(description="加价上限", ordering="max_markup_fen")
    def max_markup(self, obj: Product) -> str:
        return format_fen(obj.max_markup_fen)


# The money and queue screens live in their own module (registered on import).
from haoka.distribution import admin_queues  # noqa: E402, F401
