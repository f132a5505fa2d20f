"""Webhook endpoints and deliveries for tests, made through the services where there is one."""
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services.endpoints import endpoint_create

# Port 9 (discard) on loopback: nothing listens, a connect is refused at once; never anyone's real system.
NOWHERE_URL = "http://127.0.0.1:9/webhooks"


def endpoint_with_secret(tenant, *, url=NOWHERE_URL, event_types=(), is_active=True, description="test"):
    return endpoint_create(tenant=tenant, url=url, description=description, event_types=list(event_types),
                           is_active=is_active)


def endpoint(tenant, **kwargs):
    return endpoint_with_secret(tenant, **kwargs).endpoint


def delivery(endpoint, *, status=DeliveryStatus.PENDING, event_type="activity.created", event_id=None, **fields):
    event_id = event_id or f"evt_test_{WebhookDelivery.objects.count() + 1}_{endpoint.pk.hex[:8]}"
    return WebhookDelivery.objects.create(endpoint=endpoint, event_id=event_id, event_type=event_type,
                                          payload={"id": event_id, "type": event_type}, status=status, **fields)
