"""Changing webhook endpoints (SPEC 13): create, update, delete, rotate the secret, send a test, retry a delivery."""
import json
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from reten.errors import Conflict, ValidationFailed
from reten.urlsafety import validate_outbound_url
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.secrets import endpoint_secret, new_secret, set_secret
from webhooks.services.delivery import delivery_client, enqueue_deliveries, post_signed
from webhooks.services.outbox import EVENT_TYPES, TEST_EVENT_TYPE, refresh_tenant_flag

UPDATABLE = ("url", "description", "event_types", "is_active")


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint and its signing secret in clear: returned by create and rotate only, never stored so."""

    endpoint: WebhookEndpoint
    secret: str


def _check_event_types(event_types):
    unknown = [name for name in event_types if name not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed.of({"event_types": [f"Unknown event types: {', '.join(sorted(set(unknown)))}; "
                                                   f"must be among {', '.join(EVENT_TYPES)}."]})
    return sorted(set(event_types))


def endpoint_create(*, tenant, url: str, description: str = "", event_types=(), is_active: bool = True
                    ) -> EndpointWithSecret:
    validate_outbound_url(url, field="url")  # SPEC 10: checked again at connect time
    endpoint = WebhookEndpoint(tenant=tenant, url=url, description=description,
                               event_types=_check_event_types(event_types), is_active=is_active)
    secret = new_secret()
    set_secret(endpoint, secret)
    with transaction.atomic():
        endpoint.save(force_insert=True)
        tenant.has_webhook_endpoints = refresh_tenant_flag(tenant.pk)  # the caller's Tenant sees it too
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def endpoint_update(*, endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    if "url" in data:
        validate_outbound_url(data["url"], field="url")
    if "event_types" in data:
        data = {**data, "event_types": _check_event_types(data["event_types"])}
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        for name in UPDATABLE:
            if name in data:
                setattr(locked, name, data[name])
        if data.get("is_active") is True:
            locked.disabled_reason = ""  # re-enabled by hand: its pending deliveries are due again
        locked.save(update_fields=[*UPDATABLE, "disabled_reason", "updated_at"])
        refresh_tenant_flag(locked.tenant_id)
    return locked


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.delete()  # its deliveries go with it
        refresh_tenant_flag(endpoint.tenant_id)


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> EndpointWithSecret:
    secret = new_secret()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        set_secret(locked, secret)
        locked.save(update_fields=["secret_encrypted", "updated_at"])
    return EndpointWithSecret(endpoint=locked, secret=secret)


@dataclass(frozen=True)
class TestReport:
    ok: bool
    status_code: int | None
    error: str
    latency_ms: int


def endpoint_test(*, endpoint: WebhookEndpoint, timeout: float) -> TestReport:
    """Send a signed `webhook.test` event now (nothing is stored). Call inside outbound_request()."""
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": TEST_EVENT_TYPE, "createdAt": _now_text(),
                       "tenantId": str(endpoint.tenant_id), "data": {"endpointId": str(endpoint.pk)},
                       "sequence": 0}, separators=(",", ":"))
    outcome = post_signed(delivery_client(), url=endpoint.url, secret=endpoint_secret(endpoint), event_id=event_id,
                          body=body, timeout=timeout)
    return TestReport(ok=outcome.ok, status_code=outcome.status_code, error=outcome.error,
                      latency_ms=outcome.latency_ms)


def _now_text():
    now = timezone.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A FAILED (or waiting) delivery goes out again now, with the same webhook-id and a fresh attempt count."""
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if locked.status == DeliveryStatus.DELIVERED:
            raise Conflict("This delivery was already delivered")
        if not locked.endpoint.is_active:
            raise Conflict("The endpoint is disabled; enable it (PATCH isActive: true) before retrying")
        lease_held = (locked.status == DeliveryStatus.PENDING and locked.next_attempt_at is not None
                      and locked.next_attempt_at > timezone.now() and not locked.last_error)
        if lease_held:
            raise Conflict("A worker is sending this delivery right now")
        locked.status = DeliveryStatus.PENDING
        locked.attempts = 0
        locked.next_attempt_at = None
        locked.save(update_fields=["status", "attempts", "next_attempt_at"])
        transaction.on_commit(lambda: enqueue_deliveries([locked.pk]))
    return locked
