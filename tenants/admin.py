"""The console's screens for tenants, users, memberships, roles and API keys (SPEC 2, 7, 11.6).

Tenant staff see the users of their tenants read-only; an ADMIN sets roles, resets passwords and revokes keys
through the same services as the API (level rules, and the guard that keeps another tenant's account out of
reach). Accounts themselves (e-mail, flags, Django's password form) are changed by platform staff only.
"""
import math

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from unfold.decorators import action
from unfold.forms import AdminPasswordChangeForm, AuthenticationForm
from unfold.forms import UserChangeForm as UnfoldUserChangeForm
from unfold.forms import UserCreationForm as UnfoldUserCreationForm

from reten.api.throttling import login_attempt_wait
from reten.errors import DomainError
from tenants import services
from tenants.console import (
    ANY_MEMBER,
    ConsoleModelAdmin,
    ConsoleTabularInline,
    console_permissions,
    is_tenant_staff,
    may_enter_console,
)
from tenants.models import ApiKey, Membership, MembershipStatus, Role, Tenant, User
from tenants.roles import TENANT_ROLES, Permission

# Plumbing stays out of the console: refresh-token bookkeeping and Django's groups (roles are memberships).
for _model in (Group, OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class ThrottledAdminAuthenticationForm(AuthenticationForm):
    """The console login: the same e-mail and password as the API, for platform staff and tenant staff (a role
    in an active tenant), counted against the same per-address and per-account limits as the API login.

    Beyond a limit the form is invalid before authenticate() runs: an error on the page, no login.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many login attempts. Try again in %(seconds)s seconds.",
        "no_console_access": "This account has no role in an active tenant: it cannot use the console.",
    }

    def confirm_login_allowed(self, user):
        if not user.is_active:
            raise ValidationError(self.error_messages["inactive"], code="inactive")
        if not may_enter_console(user):
            raise ValidationError(self.error_messages["no_console_access"], code="no_console_access")

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


class MembershipInline(ConsoleTabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["tenant", "roles", "status", "invited_by", "created_at"]
    readonly_fields = ["status", "invited_by", "created_at"]
    autocomplete_fields = ["tenant"]
    filter_horizontal = ["roles"]


@admin.register(Tenant)
class TenantAdmin(ConsoleModelAdmin):
    tenant_path = "pk"
    console_view = Permission.VIEW_TENANTS
    console_add = console_change = console_delete = None  # CREATE/UPDATE/DELETE_TENANT: platform staff only
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at", "updated_at"]


class UserCreationForm(UnfoldUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserChangeForm(UnfoldUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MemberPasswordForm(forms.Form):
    new_password = forms.CharField(label="New password", strip=False, min_length=8,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    confirm_password = forms.CharField(label="New password again", strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_password") and cleaned.get("new_password") != cleaned.get("confirm_password"):
            self.add_error("confirm_password", "The two passwords differ.")
        return cleaned


class NewMemberForm(forms.Form):
    tenant = forms.ModelChoiceField(label="Tenant", queryset=Tenant.objects.none())
    email = forms.EmailField(label="E-mail")
    roles = forms.MultipleChoiceField(label="Roles", widget=forms.CheckboxSelectMultiple,
                                      help_text="Only roles below your own level can be given.")
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    password = forms.CharField(label="Password", required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text="Required for a new account. An existing account is invited instead, "
                                         "and its password is not touched.")

    def __init__(self, *args, tenant_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = Tenant.objects.filter(pk__in=tenant_ids).order_by("name")
        self.fields["roles"].choices = [(str(name), str(name)) for name in TENANT_ROLES]


@admin.register(User)
class UserAdmin(ConsoleModelAdmin, DjangoUserAdmin):
    """Platform staff edit accounts. Tenant staff with VIEW_USERS see their tenants' members read-only; an ADMIN
    resets a member's password through `tenant_user_reset_password` (level rule, and refused for a user who
    also belongs to another tenant): Django's own password form stays for platform staff."""

    tenant_path = "memberships__tenant"
    tenant_path_multi = True
    tenant_path_extra = {"memberships__status": MembershipStatus.ACTIVE}  # an invited user is not a member yet
    console_view = Permission.VIEW_USERS
    console_add = console_change = console_delete = None
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "tenant_roles", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_superuser", "is_staff", "is_active", "memberships__tenant"]
    search_fields = ["email", "username", "first_name", "last_name"]
    readonly_fields = ["id", "created_at", "last_login"]
    inlines = [MembershipInline]
    actions_detail = ["reset_member_password"]
    actions_list = ["add_member"]
    fieldsets = [
        (None, {"fields": ["id", "email", "username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"],
                    "description": "A superuser is the platform role SUPER_ADMIN."}),
        ("Dates", {"fields": ["created_at", "last_login"]}),
    ]
    staff_fieldsets = [
        (None, {"fields": ["email", "username", "first_name", "last_name", "tenant_roles", "is_active",
                           "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal = []

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not is_tenant_staff(request):
            return queryset.prefetch_related("memberships__tenant", "memberships__roles")
        # Tenant staff see a user's memberships in their own tenants only (the "Roles per tenant" column).
        mine = Membership.objects.filter(tenant_id__in=list(console_permissions(request)))
        return queryset.prefetch_related(Prefetch("memberships", queryset=mine.select_related("tenant")
                                                  .prefetch_related("roles")))

    def get_fieldsets(self, request, obj=None):
        if is_tenant_staff(request) and obj is not None:
            return self.staff_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if is_tenant_staff(request):
            return ["email", "username", "first_name", "last_name", "tenant_roles", "is_active", "last_login"]
        return super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        # Memberships are managed per tenant on the Membership page; a user's other tenants are not shown.
        return [] if is_tenant_staff(request) else super().get_inlines(request, obj)

    def get_list_filter(self, request):
        if is_tenant_staff(request):
            return self.scope_list_filter(request, ["is_active", "memberships__tenant"])
        return super().get_list_filter(request)

    @admin.display(description="Roles per tenant")
    def tenant_roles(self, user):
        # Pending invitations grant nothing, so they are not shown as roles.
        return "; ".join(
            f"{m.tenant.slug}: {', '.join(m.role_names()) or '-'}" for m in user.memberships.all() if m.is_active
        ) or "-"

    # --- add a member (tenant staff with CREATE_USER), through `tenant_user_create` as the API ---

    @staticmethod
    def _create_tenants(request):
        return [tenant_id for tenant_id, perms in console_permissions(request).items()
                if Permission.CREATE_USER in perms]

    def has_add_member_permission(self, request, object_id=None):
        return is_tenant_staff(request) and bool(self._create_tenants(request))

    @action(description="Add a member…", url_path="add-member", permissions=["add_member"], icon="person_add")
    @method_decorator(sensitive_post_parameters("password"))
    def add_member(self, request):
        """A new e-mail creates the account and an ACTIVE membership; a known one gets an invitation (the service
        decides, and refuses roles at or above the actor's own level)."""
        form = NewMemberForm(request.POST or None, tenant_ids=self._create_tenants(request))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                membership = services.tenant_user_create(
                    tenant=data["tenant"], actor_user=request.user, email=data["email"], roles=data["roles"],
                    password=data["password"] or None, first_name=data["first_name"], last_name=data["last_name"])
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                verb = "added to" if membership.status == MembershipStatus.ACTIVE else "invited to"
                self.message_user(request, f"{membership.user.email} {verb} {data['tenant'].name}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:tenants_user_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Add a member", "form": form,
                   "submit_label": "Add", "opts": self.model._meta,
                   "cancel_url": reverse("admin:tenants_user_changelist")}
        return TemplateResponse(request, "admin/console/form_page.html", context)

    # --- reset a member's password (tenant staff with RESET_USER_PASSWORD; the service decides) ---

    def has_reset_member_password_permission(self, request, object_id=None):
        return is_tenant_staff(request) and bool(self._reset_tenants(request))

    @staticmethod
    def _reset_tenants(request):
        return [tenant_id for tenant_id, perms in console_permissions(request).items()
                if Permission.RESET_USER_PASSWORD in perms]

    @action(description="Reset password", url_path="reset-member-password", permissions=["reset_member_password"])
    @method_decorator(sensitive_post_parameters("new_password", "confirm_password"))
    def reset_member_password(self, request, object_id):
        """GET: the form; POST: the service, which refuses a user of a level not below the actor's, or one who also
        belongs to another tenant (only platform staff change such an account's credentials)."""
        target = self.get_object(request, object_id)
        if target is None:
            raise Http404("User not found")
        shared = Membership.objects.filter(user=target, status=MembershipStatus.ACTIVE,
                                           tenant_id__in=self._reset_tenants(request)).select_related("tenant")
        membership = shared.first()
        if membership is None:
            raise PermissionDenied
        form = MemberPasswordForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.tenant_user_reset_password(tenant=membership.tenant, actor_user=request.user,
                                                    user_id=target.pk, new_password=form.cleaned_data["new_password"])
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Password of {target.email} reset; their sessions were signed out.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:tenants_user_change", args=[target.pk]))
        context = {**self.admin_site.each_context(request), "title": f"Reset the password of {target.email}",
                   "subject": f"{target.email} in {membership.tenant.name}", "form": form,
                   "submit_label": "Reset password", "opts": self.model._meta, "original": target,
                   "cancel_url": reverse("admin:tenants_user_change", args=[target.pk])}
        return TemplateResponse(request, "admin/console/form_page.html", context)


@admin.register(Role)
class RoleAdmin(ConsoleModelAdmin):
    tenant_path = "GLOBAL"
    console_view = ANY_MEMBER
    console_add = console_change = console_delete = None
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


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "tenant", "roles", "status", "invited_by"]


@admin.register(Membership)
class MembershipAdmin(ConsoleModelAdmin):
    """Tenant staff with VIEW_USERS read their tenants' memberships; with UPDATE_USER they change roles through
    `tenant_user_set_roles` (only users below their level, only roles below their own)."""

    console_view = Permission.VIEW_USERS
    console_add = None  # members join through the API (POST /api/user/tenant-users) or an invitation
    console_change = Permission.UPDATE_USER
    console_delete = None
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

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "user"] if obj is not None and "user" not in fields else fields

    def get_autocomplete_fields(self, request):
        return [] if is_tenant_staff(request) else super().get_autocomplete_fields(request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "roles" and is_tenant_staff(request):
            field.queryset = field.queryset.filter(name__in=[str(name) for name in TENANT_ROLES])
        return field

    def save_model(self, request, obj, form, change):
        if is_tenant_staff(request):
            services.tenant_user_set_roles(tenant=obj.tenant, actor_user=request.user, user_id=obj.user_id,
                                           roles=[role.name for role in form.cleaned_data["roles"]])
            return
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if is_tenant_staff(request):
            return  # the roles were set by the service (its checks), not by the form
        super().save_related(request, form, formsets, change)

    @admin.display(description="Roles")
    def role_list(self, membership):
        return ", ".join(membership.role_names())


@admin.register(ApiKey)
class ApiKeyAdmin(ConsoleModelAdmin):
    """Keys are created through the API or `manage.py create_api_key`; here they can be read and revoked."""

    console_view = Permission.MANAGE_API_KEYS
    console_add = None
    console_change = None
    console_delete = None
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
        if is_tenant_staff(request):
            return False
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_revoke_permission(self, request):
        return not is_tenant_staff(request) or self.staff_may(request, Permission.MANAGE_API_KEYS)

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_keys(self, request, queryset):
        revoked, skipped = 0, []
        granted = console_permissions(request) if is_tenant_staff(request) else None
        for key in queryset.select_related("tenant"):
            if not key.is_active:
                skipped.append("already revoked")
                continue
            if granted is None:
                services.api_key_revoke(key=key)
            else:
                if Permission.MANAGE_API_KEYS not in granted.get(key.tenant_id, ()):
                    skipped.append("not allowed in its tenant")
                    continue
                try:
                    services.api_key_revoke_by(
                        tenant=key.tenant, actor_user=request.user, key_id=key.pk,
                        may_manage_users=Permission.CREATE_USER in granted.get(key.tenant_id, ()))
                except DomainError as exc:
                    skipped.append(exc.message)
                    continue
            revoked += 1
        already = skipped.count("already revoked")
        message = f"Revoked {revoked} key(s); skipped {already} already revoked."
        refused = {}
        for reason in skipped:
            if reason != "already revoked":
                refused[reason] = refused.get(reason, 0) + 1
        if refused:
            message += " Not revoked: " + "; ".join(f"{count} x {reason}" for reason, count in refused.items()) + "."
        self.message_user(request, message, messages.SUCCESS if revoked else messages.WARNING)
