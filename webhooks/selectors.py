"""Reading webhook endpoints and deliveries; every query starts from the tenant."""
from reten.errors import NotFound
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoint_list(*, tenant):
    return list(WebhookEndpoint.objects.for_tenant(tenant).order_by("-created_at", "id"))


def endpoint_get(*, tenant, endpoint_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


def delivery_list(*, endpoint, status=None, event_type=None):
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).defer("payload")
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    return deliveries.order_by("-created_at", "-id")


def delivery_get(*, tenant, delivery_id) -> WebhookDelivery:
    delivery = (WebhookDelivery.objects.filter(pk=delivery_id, endpoint__tenant=tenant).select_related("endpoint")
                .first())
    if delivery is None:
        raise NotFound("Webhook delivery not found")
    return delivery
