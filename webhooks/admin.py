"""Back office for webhooks (SPEC 13): endpoints (secret never shown but on rotate) and their deliveries, with a
retry action. Everything goes through the same services as the API."""
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from dispatch.services.outbound import outbound_request
from reten.errors import DomainError
from tenants.console import ConsoleModelAdmin, ConsoleTabularInline, short_label
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoints as services
from webhooks.services.outbox import EVENT_TYPES


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(max_length=500, help_text="http(s); checked by Reten's outbound URL rules on save.")
    event_types = forms.MultipleChoiceField(choices=[(name, name) for name in EVENT_TYPES], required=False,
                                            widget=forms.CheckboxSelectMultiple, help_text="None ticked: every type.")

    class Meta:
        model = WebhookEndpoint
        fields = ["tenant", "url", "description", "event_types", "is_active"]


class WebhookDeliveryInline(ConsoleTabularInline):
    model = WebhookDelivery
    fields = ["event_type", "event_id", "status", "attempts", "last_status_code", "last_error", "created_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ConsoleModelAdmin):
    console_view = "MANAGE_ACTIVITY_CONFIG"  # as the API: every webhook route needs it
    form = WebhookEndpointForm
    list_display = ["url", "tenant", "is_active", "disabled_reason", "updated_at"]
    list_filter = ["is_active", "tenant"]
    search_fields = ["url", "description", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    readonly_fields = ["disabled_reason", "created_at", "updated_at"]
    actions = ["send_test", "rotate_secret"]
    inlines = [WebhookDeliveryInline]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", *self.readonly_fields] if obj is not None else self.readonly_fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:  # raised by the service in save_model (a refused URL): a message, not a 500
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.endpoint_update(endpoint=WebhookEndpoint.objects.get(pk=obj.pk), data={
                "url": data["url"], "description": data.get("description") or "",
                "event_types": data.get("event_types") or [], "is_active": data.get("is_active", True)})
        else:
            created = services.endpoint_create(tenant=data["tenant"], url=data["url"],
                                               description=data.get("description") or "",
                                               event_types=data.get("event_types") or [],
                                               is_active=data.get("is_active", True))
            saved = created.endpoint
            self.message_user(request, f"Signing secret (shown once): {created.secret}", messages.WARNING)
        for field in WebhookEndpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in self.scope_queryset(request, queryset, self.console_delete):
            services.endpoint_delete(endpoint=endpoint)

    @admin.action(description="Rotate the signing secret (shown once)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            rotated = services.endpoint_rotate_secret(endpoint=endpoint)
            self.message_user(request, f"{endpoint.url}: new signing secret (shown once): {rotated.secret}",
                              messages.WARNING)

    @admin.action(description="Send a webhook.test event")
    def send_test(self, request, queryset):
        for endpoint in queryset:
            try:
                with outbound_request(tenant_id=endpoint.tenant_id):
                    report = services.endpoint_test(endpoint=endpoint, timeout=min(
                        settings.WEBHOOK_HTTP_TIMEOUT, settings.OUTBOUND_REQUEST_TIMEOUT_SECONDS))
            except DomainError as exc:
                self.message_user(request, f"{endpoint.url}: {exc.message}", messages.ERROR)
                continue
            status = f" (HTTP {report.status_code})" if report.status_code is not None else ""
            if report.ok:
                self.message_user(request, f"{endpoint.url}: OK in {report.latency_ms} ms{status}", messages.SUCCESS)
            else:
                self.message_user(request, f"{endpoint.url}: failed{status}: {report.error}", messages.ERROR)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ConsoleModelAdmin):
    tenant_path = "endpoint__tenant"
    console_view = "MANAGE_ACTIVITY_CONFIG"
    list_display = ["row_label", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at",
                    "created_at"]
    list_display_links = ["row_label"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    actions = ["retry"]
    readonly_fields = ["endpoint", "event_id", "event_type", "payload", "status", "attempts", "next_attempt_at",
                       "last_status_code", "last_error", "last_attempt_at", "delivered_at", "created_at"]

    def console_label(self, delivery):
        return short_label(delivery.event_type, delivery.event_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry now (same webhook-id)")
    def retry(self, request, queryset):
        done = 0
        for delivery in queryset:
            try:
                services.delivery_retry(delivery=delivery)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{delivery.event_id}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} deliveries queued again.", messages.SUCCESS)
