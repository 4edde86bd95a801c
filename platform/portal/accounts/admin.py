from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.accounts.models import AccessToken, ExternalIdentity, Membership, Team, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    pass


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created", "expires", "last_used", "revoked"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "prefix", "digest", "created", "last_used"]

    def has_add_permission(self, request):
        return False  # tokens are created by their owners, who see the secret once


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "issuer", "subject", "last_login"]
    search_fields = ["user__username", "subject"]
