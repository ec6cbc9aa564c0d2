from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from haoka.accounts.models import AuthToken, User


@admin.register(User)
class HaokaUserAdmin(UserAdmin):
    list_display = ("username", "phone", "role", "is_staff", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "phone")
    fieldsets = (*UserAdmin.fieldsets, ("号卡", {"fields": ("phone", "role")}))


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "kind", "name", "user", "created_at", "expires_at", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("prefix", "name", "user__username", "user__phone")
    readonly_fields = ("token_hash", "prefix", "created_at", "last_used_at")
