"""The endpoints API (SPEC 13): secret once, URL safety at save, tenancy, deliveries list, retry, test."""
import pytest
from standardwebhooks import Webhook

from dispatch.tests.stub_provider import closed_port_url
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.secrets import endpoint_secret
from webhooks.services.delivery import deliver_pass
from webhooks.tests import factories

pytestmark = pytest.mark.django_db


def test_create_returns_the_secret_once_and_never_again(admin_api, tenant):
    response = admin_api.post("/api/webhook-endpoints", {"url": "https://crm.example.com/hooks",
                                                         "description": "CRM", "event_types": ["activity.created"]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["eventTypes"] == ["activity.created"] and body["isActive"] is True
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.tenant_id == tenant.pk
    assert body["secret"] not in endpoint.secret_encrypted
    assert endpoint_secret(endpoint) == body["secret"]
    tenant.refresh_from_db()
    assert tenant.has_webhook_endpoints is True
    for read in (admin_api.get(f"/api/webhook-endpoints/{endpoint.pk}").json(),
                 admin_api.get("/api/webhook-endpoints").json()[0],
                 admin_api.patch(f"/api/webhook-endpoints/{endpoint.pk}", {"description": "x"}).json()):
        assert "secret" not in read and body["secret"] not in str(read)


def test_rotate_returns_a_new_secret_once(admin_api, tenant):
    endpoint = factories.endpoint(tenant)
    old = endpoint_secret(endpoint)
    response = admin_api.post(f"/api/webhook-endpoints/{endpoint.pk}/rotate-secret")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != old
    endpoint.refresh_from_db()
    assert endpoint_secret(endpoint) == new


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "http://10.0.0.5/hook", "ftp://example.com/x",
                                 "http://127.0.0.1:8000/hook"])
def test_unsafe_urls_are_refused_at_save(admin_api, settings, url):
    settings.RETEN_ALLOW_PRIVATE_URLS = False
    response = admin_api.post("/api/webhook-endpoints", {"url": url})
    assert response.status_code == 400
    assert "url" in response.json()["details"]
    assert WebhookEndpoint.objects.count() == 0


def test_patching_to_an_unsafe_url_is_refused(admin_api, tenant, settings):
    endpoint = factories.endpoint(tenant, url="https://crm.example.com/hooks")
    settings.RETEN_ALLOW_PRIVATE_URLS = False
    response = admin_api.patch(f"/api/webhook-endpoints/{endpoint.pk}", {"url": "http://192.168.1.2/x"})
    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == "https://crm.example.com/hooks"


def test_unknown_event_types_are_a_400(admin_api):
    response = admin_api.post("/api/webhook-endpoints", {"url": "https://crm.example.com/h",
                                                         "event_types": ["activity.exploded"]})
    assert response.status_code == 400
    problems = response.json()["details"]["event_types.0"]
    assert len(problems) == 1 and problems[0].startswith('"activity.exploded" is not a valid choice; one of ')
    assert "activity.completed" in problems[0] and "delivery_receipt.received" in problems[0]
    assert WebhookEndpoint.objects.count() == 0


def test_another_tenants_endpoint_and_delivery_are_404(admin_api, other_tenant):
    endpoint = factories.endpoint(other_tenant)
    delivery = factories.delivery(endpoint, status=DeliveryStatus.FAILED)
    assert admin_api.get(f"/api/webhook-endpoints/{endpoint.pk}").status_code == 404
    assert admin_api.delete(f"/api/webhook-endpoints/{endpoint.pk}").status_code == 404
    assert admin_api.post(f"/api/webhook-deliveries/{delivery.pk}/retry").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_a_viewer_is_403_and_writes_nothing(api_as, viewer_user, tenant):
    response = api_as(viewer_user, tenant).post("/api/webhook-endpoints", {"url": "https://crm.example.com/h"})
    assert response.status_code == 403
    assert WebhookEndpoint.objects.count() == 0


def test_delete_removes_the_endpoint_and_frees_the_tenant(admin_api, tenant):
    endpoint = factories.endpoint(tenant)
    factories.delivery(endpoint)
    assert admin_api.delete(f"/api/webhook-endpoints/{endpoint.pk}").status_code == 204
    assert WebhookEndpoint.objects.count() == 0 and WebhookDelivery.objects.count() == 0
    tenant.refresh_from_db()
    assert tenant.has_webhook_endpoints is False


def test_deliveries_are_paginated_and_filtered(admin_api, tenant):
    endpoint = factories.endpoint(tenant)
    for _ in range(3):
        factories.delivery(endpoint, status=DeliveryStatus.FAILED, event_type="activity.canceled")
    factories.delivery(endpoint, status=DeliveryStatus.DELIVERED)
    url = f"/api/webhook-endpoints/{endpoint.pk}/deliveries"
    page = admin_api.get(url, {"per_page": 2}).json()
    assert len(page["data"]) == 2 and page["meta"]["total"] == 4
    failed = admin_api.get(url, {"status": "FAILED", "event_type": "activity.canceled"}).json()
    assert failed["meta"]["total"] == 3 and {d["status"] for d in failed["data"]} == {"FAILED"}
    assert set(failed["data"][0]) >= {"eventId", "eventType", "attempts", "nextAttemptAt", "lastStatusCode",
                                      "lastError", "lastAttemptAt", "deliveredAt", "createdAt"}
    assert admin_api.get(url, {"status": "LOST"}).status_code == 400
    assert admin_api.get(url, {"page": "zero"}).status_code == 400


def test_retry_sends_a_failed_delivery_again_with_the_same_id(admin_api, tenant, receiver, settings):
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
    endpoint = factories.endpoint(tenant, url=receiver.url)
    delivery = factories.delivery(endpoint, status=DeliveryStatus.FAILED, event_id="evt_again", attempts=8)
    response = admin_api.post(f"/api/webhook-deliveries/{delivery.pk}/retry")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("PENDING", 0)
    assert deliver_pass().delivered == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_again"]
    assert admin_api.post(f"/api/webhook-deliveries/{delivery.pk}/retry").status_code == 409  # delivered


def test_test_sends_a_signed_webhook_test_event(admin_api, tenant, receiver):
    created = factories.endpoint_with_secret(tenant, url=receiver.url)
    response = admin_api.post(f"/api/webhook-endpoints/{created.endpoint.pk}/test")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["statusCode"] == 201 and body["latencyMs"] >= 0
    [request] = receiver.requests
    payload = Webhook(created.secret).verify(request.body.decode(), dict(request.headers))
    assert payload["type"] == "webhook.test"
    assert WebhookDelivery.objects.count() == 0  # a test stores nothing


def test_test_reports_a_refused_connection(admin_api, tenant):
    endpoint = factories.endpoint(tenant, url=closed_port_url())
    body = admin_api.post(f"/api/webhook-endpoints/{endpoint.pk}/test").json()
    assert body["ok"] is False and body["error"].startswith("CONNECTION_REFUSED") and "statusCode" not in body
