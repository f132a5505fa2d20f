"""The outbox under the set-based bulk path (SPEC 11.4 + 13): every activity a bulk call changes gets its delivery,
written in its chunk's transaction, with the payload one PATCH would have produced."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities.models import ActivityStatus, EventType, StatusEvent
from activities.services import activity_bulk_operate
from activities.services import bulk as bulk_module
from activities.tests.factories import activity_in, make_activity
from tenants.actors import SYSTEM
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.tests import factories

pytestmark = pytest.mark.django_db


def test_a_bulk_cancel_writes_one_delivery_per_changed_activity(commerce, tenant, other_tenant, monkeypatch):
    monkeypatch.setattr(bulk_module, "CHUNK_SIZE", 2)
    every = factories.endpoint(tenant)
    factories.endpoint(tenant, event_types=["activity.created"])  # not interested in cancels
    factories.endpoint(other_tenant)
    ready = [make_activity(commerce) for _ in range(5)]
    done = activity_in(commerce, ActivityStatus.COMPLETED)
    WebhookDelivery.objects.all().delete()  # the creations' deliveries; only the cancels count below

    result = activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation="cancel",
                                   ids=[a.pk for a in (*ready, done)], reason="campaign over")

    assert (result.changed, dict(result.skipped)) == (5, {"COMPLETED": 1})
    deliveries = list(WebhookDelivery.objects.all())
    assert {d.endpoint_id for d in deliveries} == {every.pk}
    assert {(d.event_type, d.status) for d in deliveries} == {("activity.canceled", DeliveryStatus.PENDING)}
    by_activity = {d.payload["data"]["activity"]["id"]: d.payload for d in deliveries}
    assert sorted(by_activity) == sorted(str(a.pk) for a in ready)  # one each, none for the skipped one
    assert sorted(str(pk) for pk in StatusEvent.objects.filter(event_type=EventType.CANCELED)
                  .values_list("activity_id", flat=True)) == sorted(by_activity)
    for payload in by_activity.values():
        assert payload["data"]["activity"]["status"] == "CANCELED"
        assert payload["sequence"] == 2  # CREATED, then CANCELED
        assert payload["data"]["event"] == {
            "eventType": "CANCELED", "fromStatus": "READY", "toStatus": "CANCELED", "errorCode": None,
            "errorMessage": "campaign over", "occurredAt": payload["data"]["event"]["occurredAt"]}
        assert payload["createdAt"] == payload["data"]["event"]["occurredAt"]


def test_the_outbox_costs_the_same_queries_per_chunk_whatever_it_holds(commerce, tenant, monkeypatch):
    monkeypatch.setattr(bulk_module, "CHUNK_SIZE", 20)
    factories.endpoint(tenant)

    def queries(count):
        for _ in range(count):
            make_activity(commerce)
        with CaptureQueriesContext(connection) as captured:
            result = activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation="cancel",
                                           filters={"status": [ActivityStatus.READY]})
        assert result.changed == count
        return len(captured.captured_queries)

    two, twenty, forty = queries(2), queries(20), queries(40)
    assert two == twenty and forty - twenty == twenty - 1  # one read, then the same per chunk
    assert WebhookDelivery.objects.filter(event_type="activity.canceled").count() == 62
