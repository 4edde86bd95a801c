from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.accounts import services
from portal.accounts.models import AccessToken, ExternalIdentity, Membership, Team, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        # Unticking "active" goes through the service, which also ends the person's tokens and sessions.
        if change and "is_active" in form.changed_data:
            wanted = obj.is_active
            obj.is_active = not wanted
            super().save_model(request, obj, form, change)
            services.user_set_active(user=obj, active=wanted, actor=request.user, request=request)
        else:
            super().save_model(request, obj, form, change)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "scope", "prefix", "created", "expires", "last_used", "revoked"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "scope", "prefix", "digest", "created", "last_used"]

    def has_add_permission(self, request):
        return False  # tokens are created by their owners, who see the secret once


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "issuer", "subject", "last_login"]
    search_fields = ["user__username", "subject"]
