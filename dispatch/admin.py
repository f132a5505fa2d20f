"""Back office for dispatch: providers (super admins), per-tenant configs with write-only credentials, a
Test connection action and a dashboard. Everything goes through the same services as the API."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from activities import hooks
from activities.models import Channel
from dispatch import selectors, services
from dispatch.models import ChannelDefinition, DispatchAttempt, DispatchConfig, DispatchProvider
from dispatch.schemas import normalize_schema
from dispatch.services.configs import config_problems
from dispatch.services.outbound import outbound_request
from reten.errors import DomainError, TooManyRequests
from tenants.console import (
    ANY_MEMBER,
    GLOBAL,
    ConsoleModelAdmin,
    ConsoleStackedInline,
    ConsoleTabularInline,
    is_tenant_staff,
    short_label,
)
from tenants.roles import Permission

MASK = "••••••••"


# --- providers and channel definitions (global: only super admins change them) ---------------------------------

class SchemaFieldsFormMixin:
    schema_fields = ("credential_schema", "settings_schema")

    def clean(self):
        cleaned = super().clean()
        for name in self.schema_fields:
            if name in cleaned:
                try:
                    cleaned[name] = normalize_schema(cleaned[name], field_name=name)
                except DomainError as exc:
                    self.add_error(name, exc.message)
        return cleaned


class ChannelDefinitionForm(SchemaFieldsFormMixin, forms.ModelForm):
    class Meta:
        model = ChannelDefinition
        fields = ["provider", "channel", "credential_schema", "settings_schema"]
        help_texts = {
            "credential_schema": 'A list of {"key", "label", "type", "required"}; type is string, password, url, '
                                 "number or boolean.",
            "settings_schema": "Same shape as the credential schema; values are not secret.",
        }


class SuperAdminWritesMixin:
    """Providers are shared by every tenant: staff may look, only super admins may change."""

    tenant_path = GLOBAL
    console_view = ANY_MEMBER
    console_add = console_change = console_delete = None

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class ChannelDefinitionInline(SuperAdminWritesMixin, ConsoleStackedInline):
    model = ChannelDefinition
    form = ChannelDefinitionForm
    extra = 0


@admin.register(DispatchProvider)
class DispatchProviderAdmin(SuperAdminWritesMixin, ConsoleModelAdmin):
    list_display = ["code", "name", "protocol_type", "is_active", "channel_count", "updated_at"]
    list_filter = ["protocol_type", "is_active"]
    search_fields = ["code", "name"]
    inlines = [ChannelDefinitionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(channel_total=Count("channel_definitions"))

    @admin.display(description="channels", ordering="channel_total")
    def channel_count(self, obj):
        return obj.channel_total


@admin.register(ChannelDefinition)
class ChannelDefinitionAdmin(SuperAdminWritesMixin, ConsoleModelAdmin):
    form = ChannelDefinitionForm
    list_display = ["provider", "channel", "credential_keys", "setting_keys", "updated_at"]
    list_filter = ["channel", "provider"]
    search_fields = ["provider__code", "provider__name"]
    list_select_related = ["provider"]

    @admin.display(description="credential keys")
    def credential_keys(self, obj):
        return ", ".join(item.get("key", "?") for item in obj.credential_schema or []) or "—"

    @admin.display(description="setting keys")
    def setting_keys(self, obj):
        return ", ".join(item.get("key", "?") for item in obj.settings_schema or []) or "—"


# --- per-tenant configs: credentials are write-only password inputs generated from the channel definition -----

CREDENTIAL_PREFIX = "credential__"


def _coerce(raw, field_type):
    if field_type == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw  # reported by the schema check as "Must be a number."
        return int(number) if number.is_integer() else number
    if field_type == "boolean":
        lowered = raw.strip().lower()
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(lowered, raw)
    return raw


class DispatchConfigForm(forms.ModelForm):
    """Credential fields (`credential__<key>`) are declared per channel definition by `credentials_form_for`."""

    credential_schema = []
    base_url = forms.URLField(max_length=500, required=False, assume_scheme="https",
                              help_text="Required for REST, WEBHOOK, SMS and WSP providers; http(s) only.")

    class Meta:
        model = DispatchConfig
        fields = ["tenant", "provider", "channel", "base_url", "settings", "is_active"]
        help_texts = {
            "provider": "The credential fields of the chosen provider and channel appear once both are chosen "
                        "(pick them and save: the form comes back asking for the credentials).",
        }

    @sensitive_variables()
    def new_credentials(self):
        """The credentials typed in, or None on a change where every credential was left blank (keep them)."""
        typed = {item["key"]: self.cleaned_data.get(CREDENTIAL_PREFIX + item["key"]) or ""
                 for item in self.credential_schema}
        if not self.instance._state.adding and not any(typed.values()):
            return None
        types = {item["key"]: item["type"] for item in self.credential_schema}
        return {key: _coerce(value, types[key]) for key, value in typed.items() if value != ""}

    @sensitive_variables("cleaned", "credentials")
    def clean(self):
        cleaned = super().clean()
        adding = self.instance._state.adding
        provider = cleaned.get("provider") if adding else self.instance.provider
        channel = cleaned.get("channel") if adding else self.instance.channel
        if not provider or not channel:
            return cleaned
        credentials = self.new_credentials()
        problems = config_problems(provider=provider, channel=channel, base_url=cleaned.get("base_url") or "",
                                   credentials=credentials, settings=cleaned.get("settings") or {},
                                   config=None if adding else self.instance)
        for where, errors in problems.items():
            field, _, key = where.partition(".")
            if field == "credentials" and CREDENTIAL_PREFIX + key in self.fields:
                self.add_error(CREDENTIAL_PREFIX + key, errors)
            elif field in self.fields:
                self.add_error(field, [f"{key}: {error}" if key else error for error in errors])
            else:
                self.add_error(None, [f"{where}: {error}" for error in errors])
        tenant = cleaned.get("tenant") if adding else self.instance.tenant
        if cleaned.get("is_active") and tenant is not None:
            others = DispatchConfig.objects.filter(tenant=tenant, channel=channel, is_active=True)
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                self.add_error("is_active", f"This tenant already has an active config for {channel}.")
        return cleaned


def _schema_of(provider, channel):
    definition = selectors.channel_definition_for(provider=provider, channel=channel)
    return list(definition.credential_schema or []) if definition else []


def credentials_form_for(credential_schema, *, adding):
    """A DispatchConfigForm with one write-only password input per credential of the channel definition."""
    fields = {}
    for item in credential_schema:
        keep = "" if adding else "Leave every credential blank to keep the stored ones; fill them in to replace them."
        fields[CREDENTIAL_PREFIX + item["key"]] = forms.CharField(
            label=f"Credential: {item['label']}", required=False, strip=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=" ".join(part for part in ("Required." if item["required"] else "", keep) if part),
        )
    return type("DispatchConfigCredentialsForm", (DispatchConfigForm,),
                {**fields, "credential_schema": list(credential_schema)})


def _chosen_definition(request, obj):
    """The channel definition the form is about: the config's, or the provider and channel being chosen."""
    if obj is not None:
        return _schema_of(obj.provider, obj.channel)
    source = request.POST if request.method == "POST" else request.GET
    provider_id, channel = source.get("provider"), source.get("channel")
    if not provider_id or channel not in Channel.values:
        return []
    try:
        provider = DispatchProvider.objects.filter(pk=provider_id).first()
    except (ValueError, DjangoValidationError):
        return []
    return _schema_of(provider, channel) if provider else []


class CredentialsReporterFilter(SafeExceptionReporterFilter):
    """Hides sensitive POST parameters and variables even with DEBUG on: a typed credential never reaches an
    error page, an error report or a log, whatever the settings (the default filter is off under DEBUG)."""

    def is_active(self, request):
        return True


@admin.register(DispatchConfig)
class DispatchConfigAdmin(ConsoleModelAdmin):
    """Tenant staff read configs with VIEW_ACTIVITIES; an ADMIN (MANAGE_ACTIVITY_CONFIG) creates, changes and
    tests them (as the API)."""

    console_view = Permission.VIEW_ACTIVITIES
    form = DispatchConfigForm
    list_display = ["row_label", "tenant", "channel", "provider", "base_url", "is_active", "stored_credentials",
                    "updated_at"]
    list_display_links = ["row_label"]
    list_filter = ["is_active", "channel", "provider", "tenant"]
    search_fields = ["tenant__name", "tenant__slug", "provider__code", "base_url"]
    list_select_related = ["tenant", "provider"]
    date_hierarchy = "created_at"
    actions = ["test_connection"]
    change_list_template = "admin/dispatch/dispatchconfig/change_list.html"

    def console_label(self, config):
        return short_label(f"{config.channel} via {config.provider.name}", config.pk)

    def get_readonly_fields(self, request, obj=None):
        fields = ["stored_credentials", "created_at", "updated_at"]
        return (["tenant", "provider", "channel"] + fields) if obj is not None else fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Add and change: credential inputs are sensitive, and a conflict the form could not foresee (another
        config activated meanwhile) is an error message on the form page, never a 500."""
        request.exception_reporter_filter = CredentialsReporterFilter()
        credential_inputs = [name for name in request.POST if name.startswith(CREDENTIAL_PREFIX)]
        view = super().changeform_view
        if credential_inputs:
            view = sensitive_post_parameters(*credential_inputs)(view)
        try:
            return view(request, object_id, form_url, extra_context)
        except DomainError as exc:  # raised by the service in save_model; its transaction was rolled back
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = credentials_form_for(_chosen_definition(request, obj), adding=obj is None)
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description="stored credentials")
    def stored_credentials(self, obj):
        if not obj.credential_keys:
            return "—"
        return ", ".join(f"{key}: {MASK}" for key in obj.credential_keys)

    @sensitive_variables("data", "update", "credentials")
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            update = {"base_url": data.get("base_url") or "", "settings": data.get("settings") or {},
                      "is_active": data.get("is_active", obj.is_active)}
            credentials = form.new_credentials()
            if credentials is not None:
                update["credentials"] = credentials
            current = DispatchConfig.objects.select_related("provider").get(pk=obj.pk)
            saved = services.dispatch_config_update(config=current, data=update)
        else:
            saved = services.dispatch_config_create(
                tenant=data["tenant"], dispatch_provider_id=data["provider"].pk, channel=data["channel"],
                base_url=data.get("base_url") or "", credentials=form.new_credentials() or {},
                settings=data.get("settings") or {}, is_active=data.get("is_active", True),
            )
        # The admin redirects and logs with `obj`: make it the saved row (credentials only as ciphertext).
        for field in DispatchConfig._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def has_test_permission(self, request):
        return not is_tenant_staff(request) or self.staff_may(request, Permission.MANAGE_ACTIVITY_CONFIG)

    @admin.action(description="Test connection", permissions=["test"])
    def test_connection(self, request, queryset):
        for config in queryset.select_related("provider", "tenant"):
            if is_tenant_staff(request) and not self.staff_may(request, Permission.MANAGE_ACTIVITY_CONFIG, config):
                self.message_user(request, f"{config}: not allowed in its tenant", messages.ERROR)
                continue
            try:
                with outbound_request(tenant_id=config.tenant_id):  # SPEC 10: short timeout, per-tenant cap
                    report = services.dispatch_config_test(config=config)
            except TooManyRequests as exc:
                self.message_user(request, f"{config}: {exc.message}", messages.ERROR)
                continue
            status = f" (HTTP {report.status_code})" if report.status_code is not None else ""
            if report.ok:
                self.message_user(request, f"{config}: OK in {report.latency_ms} ms{status}", messages.SUCCESS)
            else:
                self.message_user(request, f"{config}: failed{status} after {report.latency_ms} ms: {report.error}",
                                  messages.ERROR)

    # --- the dashboard ---

    def get_urls(self):
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="dispatch_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if is_tenant_staff(request):
            # This page compares every tenant: tenant staff have theirs on the console's home page.
            return HttpResponseRedirect(reverse("admin:index"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Dispatch dashboard",
            "opts": self.model._meta,
            "configs_url": reverse("admin:dispatch_dispatchconfig_changelist"),
            **selectors.dashboard_data(),
        }
        return TemplateResponse(request, "admin/dispatch_dashboard.html", context)



class DispatchAttemptInline(ConsoleTabularInline):
    """Every provider call of the activity (SPEC 11.1), read-only, on the activity page."""

    model = DispatchAttempt
    extra = 0
    can_delete = False
    fields = ["attempt", "started_at", "duration_ms", "outcome", "http_status", "error_code", "error_message",
              "provider_activity_id", "dispatch_config"]
    readonly_fields = fields
    ordering = ["started_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


hooks.register_admin_inline(DispatchAttemptInline)
