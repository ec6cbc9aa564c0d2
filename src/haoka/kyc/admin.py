"""Staff screens: the review queue (filter status = 待人工审核, approve/reject actions that
call :func:`operations.review`), blacklists entered in clear and stored as hashes, 一证五号
claims (release, register existing lines) and the attempts behind the velocity rule.
Names and ID numbers are shown masked; ID photos open one by one, each view audited."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from haoka.core import audit, clock, pii
from haoka.core.admin_display import label_display, label_filter
from haoka.core.errors import HaokaError
from haoka.kyc import blacklists, domain, operations, queries
from haoka.kyc.domain import REASON_LABELS, KycStatus
from haoka.kyc.models import (
    Blacklist,
    BlacklistKind,
    IdentityClaim,
    KycAttempt,
    KycDocument,
    KycEvent,
    KycRecord,
)


def _id_hash_of(term: str) -> str | None:
    """The keyed hash of a search term that looks like an ID number, so staff can search by
    a full ID number without it being stored or compared in clear."""
    value = domain.normalize_id_number(term)
    if len(value) == 18 and value[:17].isdigit():
        return pii.lookup_hash(value, purpose="id_number")
    return None


class KycEventInline(admin.TabularInline):
    model = KycEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("from_status", "to_status", "reason", "actor", "note", "at")
    reason = label_display("reason_code", REASON_LABELS, "原因")

    def has_add_permission(self, request, obj=None):
        return False


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="审核意见", max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.register(KycRecord)
class KycRecordAdmin(admin.ModelAdmin):
    list_display = (
        "order_ref",
        "masked_name",
        "masked_id",
        "carrier",
        "plan_code",
        "status",
        "reason",
        "created_at",
        "reviewed_at",
    )
    list_filter = ("status", label_filter("reason_code", REASON_LABELS, "原因"), "carrier")
    search_fields = ("order_ref", "plan_code")
    date_hierarchy = "created_at"
    reason = label_display("reason_code", REASON_LABELS, "原因")
    fields = readonly_fields = (
        "order_ref",
        "user",
        "carrier",
        "plan_code",
        "masked_name",
        "masked_id",
        "status",
        "reason",
        "message",
        "photos",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "created_at",
        "updated_at",
    )
    inlines = [KycEventInline]
    actions = ["approve_selected", "reject_selected"]

    @admin.display(description="姓名")
    def masked_name(self, obj: KycRecord) -> str:
        return pii.mask_name(obj.name)

    @admin.display(description="身份证号")
    def masked_id(self, obj: KycRecord) -> str:
        return pii.mask_id_number(obj.id_number)

    @admin.display(description="证件照片")
    def photos(self, obj: KycRecord):
        docs = KycDocument.objects.filter(order_ref=obj.order_ref).order_by("kind", "id")
        links = [
            (reverse("admin:kyc_kycrecord_photo", args=[obj.pk, d.kind]), d.get_kind_display())
            for d in docs
        ]
        return format_html_join(" ", '<a href="{}" target="_blank" rel="noopener">{}</a>', links)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        hashed = _id_hash_of(search_term)
        if hashed:
            return queryset.filter(id_hash=hashed), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        view = self.admin_site.admin_view(self.photo_view)
        return [
            path("<int:record_id>/photo/<str:kind>/", view, name="kyc_kycrecord_photo"),
            *super().get_urls(),
        ]

    def photo_view(self, request, record_id: int, kind: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = get_object_or_404(KycRecord, pk=record_id)
        try:
            content_type, content = queries.document_content(order_ref=record.order_ref, kind=kind)
        except queries.DocumentNotFound:
            return HttpResponse(status=404)
        audit.record(
            actor=f"staff:{request.user.pk}",
            action="kyc.document_viewed",
            object_type="kyc_record",
            object_id=record.order_ref,
            data={"kind": kind},
        )
        response = HttpResponse(content, content_type=content_type)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.action(description="审核通过所选实名记录")
    def approve_selected(self, request, queryset):
        return self._review(request, queryset, approve=True)

    @admin.action(description="审核拒绝所选实名记录")
    def reject_selected(self, request, queryset):
        return self._review(request, queryset, approve=False)

    def _review(self, request, queryset, *, approve: bool):
        form = ReviewForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for record in queryset.order_by("id"):
                try:
                    result = operations.review(
                        order_ref=record.order_ref,
                        approve=approve,
                        staff_id=request.user.pk,
                        note=form.cleaned_data["note"],
                        now=clock.now(),
                    )
                except HaokaError as exc:
                    self.message_user(request, f"{record.order_ref}：{exc.message}", messages.ERROR)
                    continue
                level = messages.SUCCESS if result.status == KycStatus.PASSED else messages.WARNING
                self.message_user(request, f"{record.order_ref}：{result.message}", level)
            return None
        return TemplateResponse(
            request,
            "admin/kyc/kycrecord/review.html",
            {
                **self.admin_site.each_context(request),
                "title": "审核通过" if approve else "审核拒绝",
                "opts": self.model._meta,
                "form": form,
                "action": "approve_selected" if approve else "reject_selected",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "records": [
                    (r.pk, r.order_ref, pii.mask_name(r.name), r.get_status_display())
                    for r in queryset.order_by("id")
                ],
            },
        )


class BlacklistForm(forms.ModelForm):
    value = forms.CharField(
        label="内容",
        max_length=300,
        help_text="身份证号、手机号或完整收货地址。只保存其规范化后的密钥哈希，不保存原文。",
    )

    class Meta:
        model = Blacklist
        fields = ("kind", "reason")

    def clean(self):
        data = super().clean()
        if data.get("kind") and data.get("value"):
            try:
                value_hash = blacklists.blacklist_hash(
                    kind=data["kind"], value=data["value"], now=clock.now()
                )
            except HaokaError as exc:
                self.add_error("value", exc.message)
                return data
            if Blacklist.objects.filter(kind=data["kind"], value_hash=value_hash).exists():
                self.add_error("value", "该内容已在黑名单中")
        return data


@admin.register(Blacklist)
class BlacklistAdmin(admin.ModelAdmin):
    list_display = ("kind", "hash_prefix", "reason", "created_at", "created_by")
    list_filter = ("kind",)
    search_fields = ("reason",)

    @admin.display(description="哈希")
    def hash_prefix(self, obj: Blacklist) -> str:
        return obj.value_hash[:12] + "…"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = BlacklistForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("kind", "value", "reason") if obj is None else ("kind", "reason", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("kind", "created_at")

    def get_search_results(self, request, queryset, search_term):
        hashes = set()
        for kind in BlacklistKind.values:
            try:
                hashes.add(blacklists.blacklist_hash(kind=kind, value=search_term, now=clock.now()))
            except HaokaError:
                continue
        if hashes:
            return queryset.filter(value_hash__in=hashes), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        entry = blacklists.add_blacklist(
            kind=form.cleaned_data["kind"],
            value=form.cleaned_data["value"],
            reason=form.cleaned_data["reason"],
            staff_id=request.user.pk,
            now=clock.now(),
        )
        obj.pk, obj.value_hash, obj.created_at = entry.pk, entry.value_hash, entry.created_at

    def delete_model(self, request, obj):
        blacklists.remove_blacklist(entry_id=obj.pk, staff_id=request.user.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            blacklists.remove_blacklist(entry_id=pk, staff_id=request.user.pk)


class ImportClaimForm(forms.ModelForm):
    id_number = forms.CharField(label="身份证号", max_length=30)

    class Meta:
        model = IdentityClaim
        fields = ("carrier", "order_ref")
        labels = {"carrier": "运营商代码", "order_ref": "登记编号（如线路号）"}

    def clean_id_number(self):
        value = self.cleaned_data["id_number"]
        try:
            domain.parse_id_number(value, today=clock.beijing_date(clock.now()))
        except HaokaError as exc:
            raise forms.ValidationError(exc.message) from None
        return value

    def clean(self):
        data = super().clean()
        if data.get("id_number") and data.get("carrier"):
            held = queries.active_lines(
                id_hash=operations.id_hash(id_number=data["id_number"]), carrier=data["carrier"]
            )
            if held >= domain.LINE_LIMIT:
                self.add_error("id_number", f"该身份证在此运营商已有 {held} 个号码，无法再登记")
        return data


@admin.register(IdentityClaim)
class IdentityClaimAdmin(admin.ModelAdmin):
    list_display = ("order_ref", "carrier", "status", "source", "created_at", "released_at")
    list_filter = ("status", "carrier", "source")
    search_fields = ("order_ref",)
    actions = ["release_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ImportClaimForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("id_number", "carrier", "order_ref")
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "order_ref",
            "carrier",
            "status",
            "source",
            "created_at",
            "released_at",
            "release_reason",
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        hashed = _id_hash_of(search_term)
        if hashed:
            return queryset.filter(id_hash=hashed), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        if change:
            return  # claims change only through operations
        try:
            operations.import_active_claim(
                id_number=form.cleaned_data["id_number"],
                carrier=form.cleaned_data["carrier"],
                reference=form.cleaned_data["order_ref"],
                staff_id=request.user.pk,
                now=clock.now(),
            )
        except HaokaError as exc:
            # The admin has no error path after validation; re-raise as a form-level refusal.
            raise PermissionDenied(exc.message) from exc
        saved = IdentityClaim.objects.get(order_ref=form.cleaned_data["order_ref"])
        obj.pk, obj.id_hash, obj.status = saved.pk, saved.id_hash, saved.status

    @admin.action(description="释放所选号卡占用（一证五号）")
    def release_selected(self, request, queryset):
        released = 0
        for ref in queryset.order_by("id").values_list("order_ref", flat=True):
            released += operations.release_claim(
                order_ref=ref, reason="后台释放", now=clock.now(), actor=f"staff:{request.user.pk}"
            )
        self.message_user(request, f"已释放 {released} 个占用")


@admin.register(KycAttempt)
class KycAttemptAdmin(admin.ModelAdmin):
    list_display = ("order_ref", "user", "status", "reason", "created_at")
    list_filter = ("status", label_filter("reason_code", REASON_LABELS, "原因"))
    search_fields = ("order_ref",)
    fields = readonly_fields = ("order_ref", "user", "status", "reason", "created_at")
    reason = label_display("reason_code", REASON_LABELS, "原因")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
