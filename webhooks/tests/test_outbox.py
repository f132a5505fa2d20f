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


def _api_create(api, commerce, key):
    """POST /api/activities with a fresh idempotency key; the SQL statements it ran."""
    body = {"type": "MESSAGE", "reason": "Win back", "channel": "WHATSAPP", "commerce_id": str(commerce.pk),
            "idempotency_key": key, "scheduled_at": "2030-01-16T09:00:00.000Z"}
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/activities", body)
    assert response.status_code == 201, response.json()
    return [q["sql"] for q in queries.captured_queries]


def test_through_the_api_endpoints_cost_one_statement_whatever_their_number(admin_api, commerce, tenant):
    _api_create(admin_api, commerce, "warm")  # caches (roles, attribute keys, last_used_at) are warm from here
    without = _api_create(admin_api, commerce, "none")
    assert not [sql for sql in without if "webhooks_" in sql]
    factories.endpoint(tenant)
    one = _api_create(admin_api, commerce, "one")
    factories.endpoint(tenant)
    factories.endpoint(tenant, event_types=["activity.created", "activity.canceled"])
    factories.endpoint(tenant, event_types=["activity.canceled"])  # not interested: no row, no query of its own
    three = _api_create(admin_api, commerce, "three")
    assert len(one) == len(without) + 1
    assert len(three) == len(one)
    outbox = [sql for sql in three if "webhooks_" in sql]
    assert len(outbox) == 1 and outbox[0].startswith("WITH") and "INSERT INTO" in outbox[0]
    assert WebhookDelivery.objects.filter(payload__data__activity__commerceAssignment__commerceId=str(commerce.pk),
                                          event_type="activity.created").count() == 1 + 3
    assert {d.pk.version for d in WebhookDelivery.objects.all()} == {4}  # ids made by the database, random UUIDs
    assert {d.status for d in WebhookDelivery.objects.all()} == {DeliveryStatus.PENDING}


def test_the_outbox_statement_runs_in_the_callers_transaction(admin_api, commerce, tenant):
    factories.endpoint(tenant)
    with CaptureQueriesContext(connection) as queries, pytest.raises(RuntimeError), transaction.atomic():
        response = admin_api.post("/api/activities", {
            "type": "MESSAGE", "reason": "Win back", "channel": "WHATSAPP", "commerce_id": str(commerce.pk),
            "idempotency_key": "rolled-back", "scheduled_at": "2030-01-16T09:00:00.000Z"})
        assert response.status_code == 201
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the caller fails after the event was written")
    assert [q for q in queries.captured_queries if q["sql"].startswith("WITH")]
    assert WebhookDelivery.objects.count() == 0
    assert StatusEvent.objects.count() == 0


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


def test_an_activity_read_without_its_tenant_costs_one_flag_query(commerce, tenant):
    from activities.models import Activity

    activity = Activity.objects.get(pk=make_activity(commerce).pk)  # its Tenant is not loaded
    with CaptureQueriesContext(connection) as queries:
        activity_cancel(activity=activity, actor=SYSTEM, reason="no endpoints")
    assert len([q for q in queries.captured_queries if 'FROM "tenants_tenant"' in q["sql"]]) == 1
    assert not [q for q in queries.captured_queries if "webhooks_" in q["sql"]]
    factories.endpoint(tenant, event_types=["activity.canceled"])
    other = Activity.objects.get(pk=make_activity(commerce).pk)
    activity_cancel(activity=other, actor=SYSTEM, reason="with an endpoint")
    assert list(WebhookDelivery.objects.values_list("event_type", "payload__data__activity__id")) == [
        ("activity.canceled", str(other.pk))]
