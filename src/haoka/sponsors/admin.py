"""Staff console of sponsors: the review queue (approve / reject through the same use case
as the API), the wholesale cost of data per carrier, campaigns' oversight."""

from __future__ import annotations

from django.contrib import admin, messages

from haoka.core import clock, pii
from haoka.core.admin_display import YuanAdminMixin, label_display
from haoka.core.errors import HaokaError
from haoka.sponsors import operations
from haoka.sponsors.domain import SPONSOR_MACHINE, SponsorKind
from haoka.sponsors.models import Sponsor, SponsorEvent, SponsorMember, SponsorTopUp, WholesaleRate

STATUS_LABELS = dict(SPONSOR_MACHINE.choices())
KIND_LABELS = dict(SponsorKind.choices)


class SponsorEventInline(admin.TabularInline):
    model = SponsorEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class SponsorMemberInline(admin.TabularInline):
    model = SponsorMember
    extra = 0
    can_delete = False
    fields = ("user", "added_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Sponsor)
class SponsorAdmin(YuanAdminMixin, admin.ModelAdmin):
    list_display = (
        "sponsor_id", "company_name", "uscc", "kind_label", "status_label", "masked_contact",
        "applied_at", "decided_at",
    )  # fmt: skip
    list_filter = ("status", "kind")
    search_fields = ("sponsor_id", "company_name", "uscc")
    ordering = ("-applied_at", "-id")
    fields = (
        "sponsor_id", "company_name", "uscc", "kind", "status", "masked_contact", "applicant",
        "applied_at", "decided_at", "decision_reason", "low_balance_fen",
    )  # fmt: skip
    readonly_fields = (
        "sponsor_id", "company_name", "uscc", "kind", "status", "masked_contact", "applicant",
        "applied_at", "decided_at", "decision_reason",
    )  # fmt: skip
    inlines = [SponsorMemberInline, SponsorEventInline]
    actions = ["approve", "reject"]
    kind_label = label_display("kind", KIND_LABELS, "类型")
    status_label = label_display("status", STATUS_LABELS, "状态")

    def has_add_permission(self, request):
        return False  # sponsors apply themselves

    @admin.display(description="联系人")
    def masked_contact(self, obj: Sponsor) -> str:
        return f"{pii.mask_name(obj.contact_name)} {pii.mask_phone(obj.contact_phone)}"

    def _decide(self, request, queryset, *, approve: bool) -> None:
        done = 0
        for sponsor_id in queryset.values_list("sponsor_id", flat=True):
            try:
                operations.decide(
                    sponsor_id=sponsor_id, approve=approve, actor=f"staff:{request.user.pk}",
                    reason="", now=clock.now(),
                )  # fmt: skip
                done += 1
            except HaokaError as exc:
                self.message_user(request, f"{sponsor_id}：{exc.message}", messages.WARNING)
        self.message_user(request, f"已处理 {done} 个申请")

    @admin.action(description="批准所选后向客户申请")
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description="驳回所选后向客户申请")
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)


@admin.register(SponsorTopUp)
class SponsorTopUpAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Read-only: top-ups are made by sponsors and moved by their payments."""

    list_display = ("ref", "sponsor", "amount_fen", "method", "status", "created_at", "paid_at")
    list_filter = ("status",)
    search_fields = ("ref", "sponsor__sponsor_id", "sponsor__company_name")
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WholesaleRate)
class WholesaleRateAdmin(admin.ModelAdmin):
    """What a GB of each carrier's data costs upstream from a moment on; the latest started
    is in force when a slice settles (a new rate is a new row: history stays)."""

    list_display = ("carrier_code", "fen_per_gb", "valid_from", "note")
    list_filter = ("carrier_code",)
    ordering = ("carrier_code", "-valid_from", "-id")
