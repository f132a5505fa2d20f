"""The outbox (SPEC 13): deliveries written in the transaction of the status events that cause them."""
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from activities.models import ActivityStatus, EventType, StatusEvent
from activities.services import activity_cancel
from activities.tests.factories import make_activity
from tenants.actors import SYSTEM
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services.endpoints import endpoint_update
from webhooks.services.outbox import WEBHOOK_EVENT_TYPES
from webhooks.tests import factories

pytestmark = pytest.mark.django_db


def test_every_spec_event_type_has_a_status_event_that_causes_it():
    assert set(WEBHOOK_EVENT_TYPES.values()) == {
        "activity.created", "activity.unresolved", "activity.ready", "activity.dispatched",
        "activity.dispatch_attempt_failed", "activity.completed", "activity.failed", "activity.canceled",
        "activity.deferred", "result.received", "delivery_receipt.received"}


def test_a_tenant_without_endpoints_pays_nothing_on_create(commerce):
    make_activity(commerce)  # warm caches (roles, attribute keys) so the count below is the steady state
    with CaptureQueriesContext(connection) as queries:
        make_activity(commerce)
    assert not [q for q in queries.captured_queries if "webhooks_" in q["sql"]]
    assert WebhookDelivery.objects.count() == 0


def test_one_endpoint_costs_at_most_two_queries_on_create(commerce, tenant):
    make_activity(commerce)
    with CaptureQueriesContext(connection) as before:
        make_activity(commerce)
    factories.endpoint(tenant)
    with CaptureQueriesContext(connection) as after:
        make_activity(commerce)
    assert len(after.captured_queries) <= len(before.captured_queries) + 2  # find the endpoints, insert rows
    assert WebhookDelivery.objects.count() == 1


def test_create_writes_one_pending_delivery_per_matching_active_endpoint(commerce, tenant, other_tenant):
    every = factories.endpoint(tenant)
    only_created = factories.endpoint(tenant, event_types=["activity.created"])
    factories.endpoint(tenant, event_types=["activity.canceled"])  # not interested
    factories.endpoint(tenant, is_active=False)
    factories.endpoint(other_tenant)
    activity = make_activity(commerce)
    deliveries = list(WebhookDelivery.objects.order_by("endpoint__created_at"))
    assert {d.endpoint_id for d in deliveries} == {every.pk, only_created.pk}
    assert {d.event_type for d in deliveries} == {"activity.created"}
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}
    assert len({d.event_id for d in deliveries}) == 1  # one event, the same id to every endpoint
    payload = deliveries[0].payload
    assert payload["type"] == "activity.created"
    assert payload["tenantId"] == str(tenant.pk)
    assert payload["data"]["activity"]["id"] == str(activity.pk)
    assert payload["data"]["activity"]["providerActivityId"] is None
    assert payload["data"]["event"]["eventType"] == "CREATED"
    assert payload["data"]["event"]["toStatus"] == activity.status
    assert payload["sequence"] == 1


def test_a_rolled_back_transaction_leaves_no_delivery(commerce, tenant):
    factories.endpoint(tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_activity(commerce)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the caller fails after the event was written")
    assert WebhookDelivery.objects.count() == 0
    assert StatusEvent.objects.count() == 0


def test_sequence_increases_per_activity(commerce, tenant):
    factories.endpoint(tenant)
    activity = make_activity(commerce)
    assert activity.status == ActivityStatus.READY
    activity_cancel(activity=activity, actor=SYSTEM, reason="no longer needed")
    rows = list(WebhookDelivery.objects.order_by("created_at").values_list("event_type", "payload"))
    assert [(t, p["sequence"]) for t, p in rows] == [("activity.created", 1), ("activity.canceled", 2)]
    assert rows[1][1]["data"]["event"] == {
        "eventType": EventType.CANCELED, "fromStatus": "READY", "toStatus": "CANCELED", "errorCode": None,
        "errorMessage": "no longer needed",
        "occurredAt": rows[1][1]["data"]["event"]["occurredAt"]}
    assert rows[1][1]["data"]["activity"]["status"] == "CANCELED"


def test_disabling_the_last_endpoint_makes_the_tenant_free_again(commerce, tenant):
    endpoint = factories.endpoint(tenant)
    endpoint_update(endpoint=endpoint, data={"is_active": False})
    tenant.refresh_from_db()
    assert tenant.has_webhook_endpoints is False
    make_activity(commerce)
    assert WebhookDelivery.objects.count() == 0
