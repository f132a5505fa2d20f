"""The admin screens: endpoints (secret shown once on create) and deliveries with a retry action."""
import pytest
from django.test import Client

from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.secrets import endpoint_secret
from webhooks.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def test_the_delivery_retry_action_queues_a_failed_delivery_again(admin_client, tenant):
    endpoint = factories.endpoint(tenant)
    failed = factories.delivery(endpoint, status=DeliveryStatus.FAILED, attempts=8)
    delivered = factories.delivery(endpoint, status=DeliveryStatus.DELIVERED, attempts=1)
    response = admin_client.post("/admin/webhooks/webhookdelivery/", {
        "action": "retry", "index": "0", "_selected_action": [str(failed.pk), str(delivered.pk)]}, follow=True)
    assert response.status_code == 200
    failed.refresh_from_db()
    delivered.refresh_from_db()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (DeliveryStatus.PENDING, 0, None)
    assert (delivered.status, delivered.attempts) == (DeliveryStatus.DELIVERED, 1)  # refused, untouched
    text = response.content.decode()
    assert "1 deliveries queued again." in text and "This delivery was already delivered" in text


def test_endpoint_screens_list_and_create_through_the_service(admin_client, tenant):
    factories.endpoint(tenant, url="https://crm.example.com/a")
    assert admin_client.get("/admin/webhooks/webhookendpoint/").status_code == 200
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {
        "tenant": str(tenant.pk), "url": "https://warehouse.example.com/hooks", "description": "WMS",
        "event_types": ["activity.completed"], "is_active": "on",
        "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0"}, follow=True)
    assert response.status_code == 200
    created = WebhookEndpoint.objects.get(url="https://warehouse.example.com/hooks")
    assert created.event_types == ["activity.completed"]
    assert endpoint_secret(created) in response.content.decode()  # shown once, as a message
    tenant.refresh_from_db()
    assert tenant.has_webhook_endpoints is True


def test_an_unsafe_url_in_the_admin_is_a_message_not_a_500(admin_client, tenant, settings):
    settings.RETEN_ALLOW_PRIVATE_URLS = False
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {
        "tenant": str(tenant.pk), "url": "http://169.254.169.254/", "description": "",
        "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0"}, follow=True)
    assert response.status_code == 200
    assert WebhookEndpoint.objects.count() == 0 and WebhookDelivery.objects.count() == 0
