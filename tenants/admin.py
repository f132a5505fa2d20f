import math

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.contrib.auth.forms import UserCreationForm as DjangoUserCreationForm
from django.core.exceptions import ValidationError

from reten.api.throttling import login_attempt_wait
from tenants import services
from tenants.models import ApiKey, Membership, Role, Tenant, User


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin login counts against the same per-address and per-account limits as the API login.

    Beyond a limit the form is invalid before authenticate() runs: an error on the page, no login.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many login attempts. Try again in %(seconds)s seconds.",
    }

    def clean(self):
        email = self.cleaned_data.get("username")
        if email:
            wait = login_attempt_wait(self.request, email)
            if wait is not None:
                raise ValidationError(self.error_messages["throttled"], code="throttled",
                                      params={"seconds": math.ceil(wait)})
        return super().clean()


# The login view of the admin site, whatever templates or theme render it.
admin.site.login_form = ThrottledAdminAuthenticationForm


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["tenant", "roles", "status", "invited_by", "created_at"]
    readonly_fields = ["status", "invited_by", "created_at"]
    autocomplete_fields = ["tenant"]
    filter_horizontal = ["roles"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at", "updated_at"]


class UserCreationForm(DjangoUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "tenant_roles", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_superuser", "is_staff", "is_active", "memberships__tenant"]
    search_fields = ["email", "username", "first_name", "last_name"]
    readonly_fields = ["id", "created_at", "last_login"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["id", "email", "username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"],
                    "description": "A superuser is the platform role SUPER_ADMIN."}),
        ("Dates", {"fields": ["created_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = []

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__tenant", "memberships__roles")

    @admin.display(description="Roles per tenant")
    def tenant_roles(self, user):
        # Pending invitations grant nothing, so they are not shown as roles.
        return "; ".join(
            f"{m.tenant.slug}: {', '.join(m.role_names()) or '-'}" for m in user.memberships.all() if m.is_active
        ) or "-"


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "level", "description", "permission_list"]
    readonly_fields = ["name", "level", "permission_list"]
    fields = ["name", "level", "description", "permission_list"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Permissions")
    def permission_list(self, role):
        return ", ".join(role.permissions)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role_list", "status", "created_at"]
    list_filter = ["status", "tenant", "roles"]
    search_fields = ["user__email", "tenant__slug", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]
    filter_horizontal = ["roles"]
    list_select_related = ["user", "tenant"]
    # Only the invited user turns an invitation into a membership (POST /api/user/invitations/:id/accept).
    readonly_fields = ["status", "invited_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description="Roles")
    def role_list(self, membership):
        return ", ".join(membership.role_names())


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created through the API or `manage.py create_api_key`; here they can be read and revoked."""

    list_display = ["name", "key_prefix", "tenant", "created_by", "is_active", "expires_at", "last_used_at",
                    "revoked_at", "created_at"]
    list_filter = ["tenant", "is_active", ("expires_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_prefix", "created_by__email"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "created_by"]
    fields = ["id", "name", "key_prefix", "tenant", "created_by", "permissions", "expires_at", "last_used_at",
              "revoked_at", "is_active", "created_at"]
    readonly_fields = fields
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request, queryset):
        revoked, skipped = 0, 0
        for key in queryset:
            if not key.is_active:
                skipped += 1
                continue
            services.api_key_revoke(key=key)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s); skipped {skipped} already revoked.",
                          messages.SUCCESS)
