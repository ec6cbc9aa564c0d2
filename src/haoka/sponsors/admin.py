"""Staff console of sponsors: the review queue (approve / reject through the same use case
as the API), the wholesale cost of data per carrier, campaigns' oversight."""

from __future__ import annotations

from django.contrib import admin, messages

from haoka.core import clock, pii
from haoka.core.admin_display import YuanAdminMixin, label_display
from haoka.core.errors import HaokaError
from haoka.sponsors import campaigns, operations
from haoka.sponsors.domain import (
    CAMPAIGN_MACHINE,
    MEMBER_MACHINE,
    SLICE_MACHINE,
    SPONSOR_MACHINE,
    CampaignKind,
    SponsorKind,
)
from haoka.sponsors.models import (
    CamaraNotification,
    CamaraSession,
    Campaign,
    CampaignEvent,
    CampaignStatusEvent,
    PoolMember,
    RewardGrant,
    Slice,
    Sponsor,
    SponsorEvent,
    SponsorMember,
    SponsorTopUp,
    WholesaleRate,
)

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


# ---------------------------------------------------------------- campaigns

CAMPAIGN_LABELS = dict(CAMPAIGN_MACHINE.choices())
CAMPAIGN_KIND_LABELS = dict(CampaignKind.choices)
SLICE_LABELS = dict(SLICE_MACHINE.choices())


class ReadOnlyAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Rows moved only by use cases: staff look, never add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CampaignStatusEventInline(admin.TabularInline):
    model = CampaignStatusEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(YuanAdminMixin, admin.ModelAdmin):
    """Sponsors' campaigns: read-only but for pausing, resuming and ending them through the
    same use case as the sponsor's API (the budget moves only through it)."""

    list_display = (
        "campaign_id", "name", "sponsor", "kind_label", "status_label", "budget_fen",
        "price_fen_per_gb", "per_line_cap_mb", "valid_from", "valid_to",
    )  # fmt: skip
    list_filter = ("status", "kind")
    search_fields = ("campaign_id", "name", "sponsor__sponsor_id", "sponsor__company_name")
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "campaign_id", "sponsor", "kind", "name", "status", "budget_fen", "valid_from",
        "valid_to", "rating_groups", "per_line_cap_mb", "price_fen_per_gb", "eligibility",
        "shards", "created_at",
    )  # fmt: skip
    inlines = [CampaignStatusEventInline]
    actions = ["pause", "resume", "end"]
    kind_label = label_display("kind", CAMPAIGN_KIND_LABELS, "类型")
    status_label = label_display("status", CAMPAIGN_LABELS, "状态")

    def has_add_permission(self, request):
        return False  # sponsors create campaigns with their money

    def has_delete_permission(self, request, obj=None):
        return False

    def _change(self, request, queryset, *, action: str) -> None:
        done = 0
        for campaign in queryset.select_related("sponsor"):
            try:
                campaigns.change(
                    sponsor=campaign.sponsor, campaign_id=campaign.campaign_id, action=action,
                    budget_fen=None, actor=f"staff:{request.user.pk}", now=clock.now(),
                )  # fmt: skip
                done += 1
            except HaokaError as exc:
                self.message_user(
                    request, f"{campaign.campaign_id}：{exc.message}", messages.WARNING
                )
        self.message_user(request, f"已处理 {done} 个活动")

    @admin.action(description="暂停所选活动")
    def pause(self, request, queryset):
        self._change(request, queryset, action="pause")

    @admin.action(description="恢复所选活动")
    def resume(self, request, queryset):
        self._change(request, queryset, action="resume")

    @admin.action(description="结束所选活动（未切分预算退回客户钱包）")
    def end(self, request, queryset):
        self._change(request, queryset, action="end")


@admin.register(Slice)
class SliceAdmin(ReadOnlyAdmin):
    """Budget slices lines took (read-only: charging takes and settles them)."""

    list_display = (
        "id", "campaign", "line_id", "month", "bytes", "held_fen", "used_bytes", "charged_fen",
        "state_label", "created_at", "valid_to", "settled_at",
    )  # fmt: skip
    list_filter = ("state", "month")
    search_fields = ("campaign__campaign_id",)
    ordering = ("-created_at", "-id")
    state_label = label_display("state", SLICE_LABELS, "状态")


@admin.register(CampaignEvent)
class CampaignEventAdmin(ReadOnlyAdmin):
    """The webhook outbox of campaigns (budget thresholds, expiry), read-only."""

    list_display = ("campaign", "kind", "created_at", "delivered_at")
    list_filter = ("kind",)
    search_fields = ("campaign__campaign_id",)
    ordering = ("-created_at", "-id")


@admin.register(RewardGrant)
class RewardGrantAdmin(ReadOnlyAdmin):
    """流量红包 sponsors granted (read-only: made through the sponsor's API)."""

    list_display = ("campaign", "external_id", "line_id", "megabytes", "kind", "valid_to",
                    "created_at")  # fmt: skip
    list_filter = ("kind",)
    search_fields = ("campaign__campaign_id", "external_id")
    ordering = ("-created_at", "-id")


@admin.register(PoolMember)
class PoolMemberAdmin(ReadOnlyAdmin):
    """Members of 企业流量池 campaigns (read-only: the sponsor invites, the owner consents)."""

    list_display = ("campaign", "line_id", "status_label", "attempts", "created_at", "changed_at")
    list_filter = ("status",)
    search_fields = ("campaign__campaign_id",)
    ordering = ("-created_at", "-id")
    exclude = ("code_hash",)
    status_label = label_display("status", dict(MEMBER_MACHINE.choices()), "状态")


@admin.register(CamaraSession)
class CamaraSessionAdmin(ReadOnlyAdmin):
    """CAMARA sponsorship sessions, read-only (the sponsor revokes them through the API)."""

    list_display = ("session_id", "campaign", "line_id", "volume_bytes", "state", "end_reason",
                    "started_at", "ends_at", "ended_at")  # fmt: skip
    list_filter = ("state", "end_reason")
    search_fields = ("campaign__campaign_id", "=session_id")
    exclude = ("callback_token",)


@admin.register(CamaraNotification)
class CamaraNotificationAdmin(ReadOnlyAdmin):
    """The CAMARA webhook outbox (session ends, campaign alerts), read-only: FAILED rows are
    what no retry delivered within three days."""

    list_display = ("key", "campaign", "state", "attempts", "next_at", "last_error", "sent_at")
    list_filter = ("state",)
    search_fields = ("key", "campaign__campaign_id")
    exclude = ("callback_token",)
