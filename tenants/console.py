"""The back-office console (SPEC 7): who may log in to /admin/, and the one tenant scope every admin class uses.

Platform staff (superusers, SUPER_ADMIN) see everything. Tenant staff — users with an ACTIVE membership holding a
role (ADMIN, FDE, VIEWER) in an active tenant — log in with their API e-mail and password and see only their
tenants: querysets, list-filter choices, foreign-key choices and autocompletes are scoped, a new object's tenant
is chosen among theirs, an existing object's tenant cannot be changed and another tenant's object URL is a 404.
What they may do per model is a permission of SPEC 2 (tenants/roles.py), checked in the object's own tenant.

Every ModelAdmin of the project inherits `ConsoleModelAdmin`; every inline `ConsoleTabularInline` or
`ConsoleStackedInline`. No admin repeats the scoping.
"""
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline
from unfold.forms import AdminOwnPasswordChangeForm as UnfoldOwnPasswordChangeForm
from unfold.sites import UnfoldAdminSite

from reten.errors import DomainError
from tenants import services
from tenants.models import Membership, MembershipStatus, Tenant
from tenants.roles import permissions_of

# A permission value meaning "any tenant staff member" (global reference data everybody may read).
ANY_MEMBER = "ANY_MEMBER"
# A tenant_path value for global models (providers, channel definitions, attribute keys, roles): not scoped.
GLOBAL = "GLOBAL"

_CACHE_ATTR = "_console_tenant_permissions"


def staff_tenant_permissions(user):
    """{tenant_id: permissions} over the user's ACTIVE memberships in active tenants holding at least one role."""
    if not user.is_authenticated or not user.is_active:
        return {}
    granted = {}
    memberships = (Membership.objects.filter(user=user, status=MembershipStatus.ACTIVE, tenant__is_active=True)
                   .prefetch_related("roles"))
    for membership in memberships:
        names = [role.name for role in membership.roles.all()]
        if names:
            granted[membership.tenant_id] = permissions_of(names)
    return granted


def console_permissions(request):
    """The request user's tenant permissions, computed once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        cached = staff_tenant_permissions(request.user)
        setattr(request, _CACHE_ATTR, cached)
    return cached


def may_enter_console(user):
    """A superuser, or tenant staff (a role in an active tenant). Inactive users never."""
    if not user.is_active:
        return False
    return user.is_superuser or bool(staff_tenant_permissions(user))


def tenant_ids_with(request, permission):
    """Tenant ids where the request user holds `permission` (ANY_MEMBER: every tenant of theirs)."""
    if permission is None:
        return []
    granted = console_permissions(request)
    return [tenant_id for tenant_id, perms in granted.items() if permission == ANY_MEMBER or permission in perms]


def short_id(pk):
    """The first 8 characters of a UUID: enough to tell rows apart on a page."""
    return str(pk)[:8]


def short_label(name, pk):
    """`<name> · <short id>`: how the console names a row instead of a bare UUID (no name: the short id)."""
    return f"{name} · {short_id(pk)}" if name else short_id(pk)


class Labelled:
    """An object standing in for `obj` on its change page with the console's label as its text: the page title and
    the header's breadcrumb (which print the object) show the label, every attribute is the object's."""

    def __init__(self, obj, label):
        self._obj, self._label = obj, label

    def __getattr__(self, name):
        return getattr(self._obj, name)

    def __str__(self):
        return self._label


def is_tenant_staff(request):
    return not request.user.is_superuser


class OwnPasswordChangeForm(UnfoldOwnPasswordChangeForm):
    """The console's "change my password" saves through `own_password_reset`, as POST /api/auth/reset-my-password:
    the same password rules, and the user's refresh tokens are revoked."""

    def save(self, commit=True):
        services.own_password_reset(user=self.user, current_password=self.cleaned_data["old_password"],
                                    new_password=self.cleaned_data["new_password1"])
        return self.user


class RetenAdminSite(UnfoldAdminSite):
    """The console's site: membership-based entry instead of Django's is_staff flag."""

    site_header = "Reten"
    site_title = "Reten console"
    index_title = "Dashboard"

    def password_change(self, request, extra_context=None):
        from django.contrib.auth.views import PasswordChangeView

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=OwnPasswordChangeForm,
            success_url=reverse(f"{self.name}:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

    def has_permission(self, request):
        user = request.user
        if not user.is_active or not user.is_authenticated:
            return False
        return user.is_superuser or bool(console_permissions(request))


class TenantScopeMixin:
    """The scoping shared by ModelAdmins and inlines. Declare on the class:

    - `tenant_path`: lookup from the model to its tenant ("tenant", "activity__tenant", "pk" for Tenant itself),
      or GLOBAL. Default: "tenant" when the model has such a field.
    - `tenant_path_multi`: True when the path crosses a to-many relation (a user belongs to several tenants);
      `tenant_path_extra`: lookups the related row must also match (e.g. the membership is ACTIVE).
    - `console_view`, `console_add`, `console_change`, `console_delete`: the SPEC 2 permission each needs for
      tenant staff (None: never). Superusers keep the class's own rules.
    """

    tenant_path = None
    tenant_path_multi = False
    tenant_path_extra = {}  # with a to-many path: conditions on the same related row (an ACTIVE membership)
    console_view = "VIEW_ACTIVITIES"
    console_add = "MANAGE_ACTIVITY_CONFIG"
    console_change = "MANAGE_ACTIVITY_CONFIG"
    console_delete = "MANAGE_ACTIVITY_CONFIG"

    @classmethod
    def resolved_tenant_path(cls, model):
        if cls.tenant_path:
            return cls.tenant_path
        try:
            model._meta.get_field("tenant")
        except FieldDoesNotExist:
            return GLOBAL
        return "tenant"

    # --- scope ---

    def scope_queryset(self, request, queryset, permission):
        """`queryset` limited to the tenants where the request user holds `permission`."""
        if not is_tenant_staff(request):
            return queryset
        path = self.resolved_tenant_path(queryset.model)
        if path == GLOBAL:
            return queryset if permission is not None else queryset.none()
        ids = tenant_ids_with(request, permission)
        if self.tenant_path_multi:
            inner = queryset.model._default_manager.filter(**{f"{path}__in": ids}, **self.tenant_path_extra)
            inner = inner.values("pk")
            return queryset.filter(pk__in=inner)
        return queryset.filter(**{f"{path}__in": ids})

    def tenant_ids_of(self, obj):
        """The tenant(s) an object belongs to (empty for global objects)."""
        path = self.resolved_tenant_path(type(obj))
        if path == GLOBAL:
            return set()
        if path == "pk":
            return {obj.pk}
        if self.tenant_path_multi:
            rows = type(obj)._default_manager.filter(pk=obj.pk, **self.tenant_path_extra)
            return set(rows.values_list(path, flat=True)) - {None}
        *hops, last = path.split("__")
        target = obj
        for hop in hops:
            target = getattr(target, hop, None)
            if target is None:
                return set()
        value = getattr(target, f"{last}_id", None)
        return {value} if value is not None else set()

    def staff_may(self, request, permission, obj=None):
        """Tenant staff hold `permission` in the object's tenant (or, without an object, in one of theirs)."""
        if permission is None:
            return False
        granted = console_permissions(request)
        if obj is None:
            return bool(tenant_ids_with(request, permission))
        path = self.resolved_tenant_path(type(obj))
        if path == GLOBAL:
            return permission == ANY_MEMBER and bool(granted)
        return any(permission == ANY_MEMBER or permission in granted.get(tenant_id, ())
                   for tenant_id in self.tenant_ids_of(obj))

    # --- choices of foreign keys: another tenant's rows are never offered ---

    def _writable_tenant_ids(self, request):
        return set(tenant_ids_with(request, self.console_add)) | set(tenant_ids_with(request, self.console_change))

    def _scoped_related(self, request, related_model, queryset):
        if related_model is Tenant:
            return queryset.filter(pk__in=self._writable_tenant_ids(request))
        related_admin = self.admin_site._registry.get(related_model)
        if isinstance(related_admin, TenantScopeMixin):
            path = related_admin.resolved_tenant_path(related_model)
            multi, extra = related_admin.tenant_path_multi, related_admin.tenant_path_extra
        else:
            path = TenantScopeMixin.resolved_tenant_path(related_model)
            multi, extra = False, {}
        if path == GLOBAL:
            return queryset
        ids = self._writable_tenant_ids(request)
        if multi:
            inner = related_model._default_manager.filter(**{f"{path}__in": ids}, **extra).values("pk")
            return queryset.filter(pk__in=inner)
        return queryset.filter(**{f"{path}__in": ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and is_tenant_staff(request) and hasattr(field, "queryset"):
            field.queryset = self._scoped_related(request, db_field.related_model, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and is_tenant_staff(request) and hasattr(field, "queryset"):
            field.queryset = self._scoped_related(request, db_field.related_model, field.queryset)
        return field

    def get_autocomplete_fields(self, request):
        # The tenant is a plain select of the user's own tenants (the Tenant admin's list is VIEW_TENANTS only).
        fields = list(super().get_autocomplete_fields(request))
        return [name for name in fields if name != "tenant"] if is_tenant_staff(request) else fields

    # --- the tenant of an existing object is fixed ---

    def _tenant_link_field(self, model):
        """The form field that decides the tenant: `tenant`, or the first hop of the path (an activity's commerce)."""
        path = self.resolved_tenant_path(model)
        if path in (GLOBAL, "pk") or self.tenant_path_multi:
            return None
        first = path.split("__")[0]
        try:
            field = model._meta.get_field(first)
        except FieldDoesNotExist:
            return None
        return first if field.many_to_one else None

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        link = self._tenant_link_field(self.model)
        if obj is not None and link and link not in fields:
            fields.append(link)
        return fields


class TenantScopedRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """Tenants: the user's own (with the page's view permission). Other relations: the values the visible rows
    use (RelatedOnlyFieldListFilter over the scoped queryset)."""

    def field_choices(self, field, request, model_admin):
        if field.related_model is Tenant:
            ids = tenant_ids_with(request, model_admin.console_view)
            ordering = self.field_admin_ordering(field, request, model_admin)
            return field.get_choices(include_blank=False, limit_choices_to={"pk__in": ids}, ordering=ordering)
        return super().field_choices(field, request, model_admin)


class ConsoleModelAdmin(TenantScopeMixin, UnfoldModelAdmin):
    """The base of every ModelAdmin: unfold's look plus the tenant scope and the SPEC 2 permissions.

    `console_label(obj)` names an object for people (default: its __str__); a class overriding it gets the same
    text as its list's `row_label` column and as the title and breadcrumb of the object's page."""

    def console_label(self, obj):
        return str(obj)

    @admin.display(description="name")
    def row_label(self, obj):
        return self.console_label(obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            label = self.console_label(obj)
            context["subtitle"] = label
            context["original"] = Labelled(obj, label)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request), self.console_view)

    def has_module_permission(self, request):
        if not is_tenant_staff(request):
            return super().has_module_permission(request)
        return self.staff_may(request, self.console_view)

    def has_view_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_view_permission(request, obj)
        return self.staff_may(request, self.console_view, obj) or self.has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        if not is_tenant_staff(request):
            return super().has_add_permission(request, *args)
        return self.staff_may(request, self.console_add)

    def has_change_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_change_permission(request, obj)
        return self.staff_may(request, self.console_change, obj)

    def has_delete_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_delete_permission(request, obj)
        return self.staff_may(request, self.console_delete, obj)

    def delete_queryset(self, request, queryset):
        """The bulk delete action deletes only rows of tenants where the user may delete (a user can be ADMIN in
        one tenant and VIEWER in another, and see both)."""
        super().delete_queryset(request, self.scope_queryset(request, queryset, self.console_delete))

    def has_permission_in_tenant_of(self, request, permission, obj):
        """For the buttons and actions of a page: superusers always, tenant staff where the object lives."""
        return not is_tenant_staff(request) or self.staff_may(request, permission, obj)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another tenant's object (or none at all) is not found: a 404, never a redirect that confirms it exists.
        raise Http404(f"{opts.verbose_name} not found")

    def get_list_filter(self, request):
        return self.scope_list_filter(request, super().get_list_filter(request))

    def scope_list_filter(self, request, filters):
        """For tenant staff a related filter offers only values of their own tenants (TenantScopedRelatedFilter)."""
        filters = list(filters)
        if not is_tenant_staff(request):
            return filters
        scoped = []
        for entry in filters:
            if isinstance(entry, str):
                try:
                    last = get_fields_from_path(self.model, entry)[-1]
                except (FieldDoesNotExist, Exception):  # noqa: BLE001 - a non-field filter stays as declared
                    last = None
                if last is not None and last.is_relation:
                    related_admin = self.admin_site._registry.get(last.related_model)
                    if not (isinstance(related_admin, TenantScopeMixin)
                            and related_admin.resolved_tenant_path(last.related_model) == GLOBAL):
                        entry = (entry, TenantScopedRelatedFilter)
            scoped.append(entry)
        return scoped

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A refusal of a service during save (rolled back with the admin's transaction) is a message, not a 500."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ConsoleInlineMixin(TenantScopeMixin):
    """Inlines follow their parent page's permissions for tenant staff (the parent is already scoped)."""

    def _parent_admin(self):
        return self.admin_site._registry.get(self.parent_model)

    def has_view_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_view_permission(request, obj)
        parent = self._parent_admin()
        return parent is not None and parent.has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_add_permission(request, obj)
        parent = self._parent_admin()
        return parent is not None and (parent.has_change_permission(request, obj) if obj is not None
                                       else parent.has_add_permission(request))

    def has_change_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_change_permission(request, obj)
        parent = self._parent_admin()
        return parent is not None and (parent.has_change_permission(request, obj) if obj is not None
                                       else parent.has_add_permission(request))

    def has_delete_permission(self, request, obj=None):
        if not is_tenant_staff(request):
            return super().has_delete_permission(request, obj)
        parent = self._parent_admin()
        return parent is not None and obj is not None and parent.has_change_permission(request, obj)

    def _writable_tenant_ids(self, request):
        # The inline's rows are saved with the parent: the parent page's add and change permissions decide.
        parent = self._parent_admin()
        return parent._writable_tenant_ids(request) if parent is not None else set()

    def get_readonly_fields(self, request, obj=None):
        # An inline row's tenant is its parent's; nothing to freeze here.
        return list(super(TenantScopeMixin, self).get_readonly_fields(request, obj))


class ConsoleTabularInline(ConsoleInlineMixin, UnfoldTabularInline):
    pass


class ConsoleStackedInline(ConsoleInlineMixin, UnfoldStackedInline):
    pass
