"""Back-office screens for the commerce directory. Saves go through the services' rules: contact values are
validated per type and a new primary contact or address demotes the previous one."""
from django import forms
from django.contrib import admin
from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils.html import format_html

from commerces import services
from commerces.admin_io import CommerceImportMixin
from commerces.models import (
    Address,
    Commerce,
    CommerceUser,
    CommerceUserRoleAssignment,
    Contact,
    Operator,
    Route,
    RouteOperator,
)
from commerces.selectors import role_names
from tenants.console import ConsoleModelAdmin, ConsoleStackedInline, ConsoleTabularInline
from tenants.roles import Permission


class DirectoryAdmin(ConsoleModelAdmin):
    """Commerce directory screens: tenant staff need MANAGE_COMMERCES to read or change them (as the API)."""

    console_view = console_add = console_change = console_delete = Permission.MANAGE_COMMERCES


class PrimaryPerGroupFormSet(forms.BaseInlineFormSet):
    """At most one primary among the rows of a group (all rows, or rows of one contact type)."""

    group_field = None
    message = "Only one row may be primary."

    def clean(self):
        super().clean()
        groups = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("is_primary"):
                continue
            group = data.get(self.group_field) if self.group_field else None
            if group in groups:
                raise forms.ValidationError(self.message)
            groups.add(group)


class ContactFormSet(PrimaryPerGroupFormSet):
    group_field = "contact_type"
    message = "Only one primary contact per type and user."


class AddressFormSet(PrimaryPerGroupFormSet):
    message = "Only one primary address per commerce."


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["commerce_user", "contact_type", "value", "is_primary", "source", "is_active"]

    def clean(self):
        data = super().clean()
        if data.get("contact_type") and data.get("value"):
            try:
                data["value"] = services.contact_value_clean(data["contact_type"], data["value"])
            except ValueError as exc:
                self.add_error("value", str(exc))
            else:
                self.instance.value = data["value"]
        return data


class OperatorForm(forms.ModelForm):
    class Meta:
        model = Operator
        fields = ["tenant", "type", "name", "email", "phone", "external_id", "is_active", "is_placeholder",
                  "metadata"]

    def clean_email(self):
        return (self.cleaned_data.get("email") or "").strip().lower() or None

    def clean_phone(self):
        phone = self.cleaned_data.get("phone")
        if not phone:
            return ""
        try:
            return services.phone_clean(phone)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class SavesThroughServicesMixin:
    """Contacts and addresses are saved by the services, which demote the previous primary."""

    def save_formset(self, request, form, formset, change):
        if formset.model not in (Contact, Address):
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        # Non-primary rows first, so a row demoted in this same form is written before the new primary.
        for instance in sorted(instances, key=lambda row: row.is_primary):
            if isinstance(instance, Contact):
                services.contact_save(contact=instance)
            else:
                services.address_save(address=instance)
        formset.save_m2m()


class AddressInline(ConsoleStackedInline):
    model = Address
    formset = AddressFormSet
    extra = 0
    fields = [("address_alias", "is_primary", "is_active"), ("street", "street_number", "unit"),
              ("city", "commune", "region", "country_code"), "formatted_address", ("latitude", "longitude"),
              ("source", "source_ref")]


class CommerceUserInline(ConsoleTabularInline):
    model = CommerceUser
    extra = 0
    fields = ["external_id", "first_name", "last_name", "source", "is_active", "roles", "contact_count"]
    readonly_fields = ["roles", "contact_count"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_assignments").annotate(
            contacts_total=Count("contacts")
        )

    @admin.display(description="roles")
    def roles(self, obj):
        return ", ".join(role_names(obj)) if obj.pk else ""

    @admin.display(description="contacts")
    def contact_count(self, obj):
        return getattr(obj, "contacts_total", 0)


@admin.register(Commerce)
class CommerceAdmin(CommerceImportMixin, SavesThroughServicesMixin, DirectoryAdmin):
    list_display = ["name", "external_id", "tax_id", "tenant", "is_active", "is_placeholder", "user_count",
                    "activities_link", "created_at"]
    ordering = ["name"]
    list_filter = ["tenant", "is_active", "is_placeholder"]
    search_fields = ["name", "external_id", "tax_id", "global_external_id"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["tenant"]
    readonly_fields = ["id", "activities_link", "created_at", "updated_at"]
    fields = ["id", "tenant", ("external_id", "global_external_id"), ("name", "tax_id"),
              ("is_active", "is_placeholder"), "metadata", "activities_link", ("created_at", "updated_at")]
    inlines = [AddressInline, CommerceUserInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(users_total=Count("users"))

    @admin.display(description="activities")
    def activities_link(self, obj):
        """Commerce -> its activities (the activity page links back to the commerce)."""
        if obj.pk is None:
            return "-"
        url = reverse("admin:activities_activity_changelist") + f"?commerce_assignment__commerce__id__exact={obj.pk}"
        return format_html('<a class="text-primary-600 underline" href="{}">Activities of {}</a>', url, obj.name)

    @admin.display(description="users", ordering="users_total")
    def user_count(self, obj):
        return obj.users_total


class ContactInline(ConsoleTabularInline):
    model = Contact
    form = ContactForm
    formset = ContactFormSet
    extra = 0
    fields = ["contact_type", "value", "is_primary", "is_active", "source"]


class RoleAssignmentInline(ConsoleTabularInline):
    model = CommerceUserRoleAssignment
    extra = 0
    fields = ["role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(CommerceUser)
class CommerceUserAdmin(SavesThroughServicesMixin, DirectoryAdmin):
    tenant_path = "commerce__tenant"
    list_display = ["__str__", "commerce", "external_id", "roles", "source", "is_active", "created_at"]
    list_filter = ["commerce__tenant", "source", "is_active", "role_assignments__role"]
    search_fields = ["first_name", "last_name", "external_id", "commerce__name", "commerce__external_id",
                     "contacts__value"]
    list_select_related = ["commerce"]
    autocomplete_fields = ["commerce"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [RoleAssignmentInline, ContactInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_assignments")

    @admin.display(description="roles")
    def roles(self, obj):
        return ", ".join(role_names(obj))


class RouteOperatorInline(ConsoleTabularInline):
    model = RouteOperator
    extra = 0
    fields = ["operator", "role", "is_active", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["operator"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("operator")


@admin.register(Operator)
class OperatorAdmin(DirectoryAdmin):
    console_view = console_add = console_change = console_delete = Permission.MANAGE_OPERATORS
    form = OperatorForm
    list_display = ["name", "type", "email", "phone", "external_id", "tenant", "is_active", "is_placeholder",
                    "created_at"]
    list_filter = ["tenant", "type", "is_active", "is_placeholder"]
    search_fields = ["name", "email", "external_id"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["tenant"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(Route)
class RouteAdmin(DirectoryAdmin):
    console_view = console_add = console_change = console_delete = Permission.MANAGE_ROUTES
    list_display = ["code", "name", "tenant", "is_active", "operator_names", "created_at"]
    list_filter = ["tenant", "is_active"]
    search_fields = ["code", "name"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [RouteOperatorInline]

    def get_queryset(self, request):
        active = RouteOperator.objects.filter(is_active=True).select_related("operator")
        return super().get_queryset(request).prefetch_related(
            Prefetch("route_operators", queryset=active, to_attr="active_links")
        )

    @admin.display(description="active operators")
    def operator_names(self, obj):
        return ", ".join(f"{link.operator.name} ({link.role})" for link in obj.active_links)


@admin.register(Contact)
class ContactAdmin(DirectoryAdmin):
    tenant_path = "commerce_user__commerce__tenant"
    form = ContactForm
    list_display = ["value", "contact_type", "commerce_user", "commerce", "is_primary", "is_active", "source",
                    "created_at"]
    list_filter = ["commerce_user__commerce__tenant", "contact_type", "is_primary", "is_active", "source"]
    search_fields = ["value", "commerce_user__first_name", "commerce_user__last_name",
                     "commerce_user__commerce__name", "commerce_user__commerce__external_id"]
    list_select_related = ["commerce_user__commerce"]
    autocomplete_fields = ["commerce_user"]
    readonly_fields = ["id", "created_at", "updated_at"]

    @admin.display(description="commerce", ordering="commerce_user__commerce__name")
    def commerce(self, obj):
        return obj.commerce_user.commerce

    def save_model(self, request, obj, form, change):
        services.contact_save(contact=obj)


@admin.register(Address)
class AddressAdmin(DirectoryAdmin):
    tenant_path = "commerce__tenant"
    list_display = ["__str__", "commerce", "city", "country_code", "is_primary", "is_active", "source",
                    "created_at"]
    list_filter = ["commerce__tenant", "is_primary", "is_active", "source", "country_code"]
    search_fields = ["street", "city", "commune", "formatted_address", "source_ref", "commerce__name",
                     "commerce__external_id"]
    list_select_related = ["commerce"]
    autocomplete_fields = ["commerce"]
    readonly_fields = ["id", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        services.address_save(address=obj)


@admin.register(CommerceUserRoleAssignment)
class CommerceUserRoleAssignmentAdmin(DirectoryAdmin):
    tenant_path = "commerce_user__commerce__tenant"
    list_display = ["role", "commerce_user", "commerce", "created_at"]
    list_filter = ["role", "commerce_user__commerce__tenant"]
    search_fields = ["commerce_user__first_name", "commerce_user__last_name", "commerce_user__external_id",
                     "commerce_user__commerce__name"]
    list_select_related = ["commerce_user__commerce"]
    autocomplete_fields = ["commerce_user"]

    @admin.display(description="commerce", ordering="commerce_user__commerce__name")
    def commerce(self, obj):
        return obj.commerce_user.commerce


@admin.register(RouteOperator)
class RouteOperatorAdmin(DirectoryAdmin):
    tenant_path = "route__tenant"
    console_view = console_add = console_change = console_delete = Permission.MANAGE_ROUTES
    list_display = ["route", "operator", "role", "is_active", "created_at"]
    list_filter = ["route__tenant", "role", "is_active"]
    search_fields = ["route__code", "route__name", "operator__name", "operator__email"]
    list_select_related = ["route", "operator"]
    autocomplete_fields = ["route", "operator"]
    readonly_fields = ["id", "created_at", "updated_at"]
