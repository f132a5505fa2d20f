"""Every webhook event type, end to end: status event -> outbox row -> signed POST a receiver verifies."""
import pytest
from django.utils.dateparse import parse_datetime
from standardwebhooks import Webhook

from activities.api.result_serializers import TaskResultInputSerializer
from activities.models import Activity, ActivityStatus
from activities.services import task_result_submit
from activities.services.events import record_status_event
from activities.services.receipts import delivery_receipts_submit
from activities.tests.factories import TaskResultTypeFactory, dispatched_task, make_activity, result_body
from commerces.tests.factories import OperatorFactory, RouteFactory
from tenants.actors import SYSTEM
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services.delivery import deliver_pass
from webhooks.services.outbox import WEBHOOK_EVENT_TYPES
from webhooks.tests import factories

pytestmark = pytest.mark.django_db

EVENT_KEYS = {"eventType", "fromStatus", "toStatus", "errorCode", "errorMessage", "occurredAt"}
ACTIVITY_KEYS = {"id", "type", "channel", "status", "reason", "scheduledAt", "score", "dispatchAttemptCount",
                 "commerceAssignment", "createdAt", "updatedAt", "providerActivityId", "canForceRetryDispatch"}


def test_every_event_type_arrives_signed_with_the_spec_payload(receiver, tenant, commerce):
    created = factories.endpoint_with_secret(tenant, url=receiver.url)
    activity = make_activity(commerce)
    for status_event_type in WEBHOOK_EVENT_TYPES:
        if status_event_type != "CREATED":
            record_status_event(activity=activity, event_type=status_event_type, from_status=activity.status,
                                to_status=activity.status, actor=SYSTEM, error_code="SOME_CODE",
                                error_message="why")
    total = len(WEBHOOK_EVENT_TYPES)
    assert WebhookDelivery.objects.count() == total
    report = deliver_pass()
    assert report.delivered == total
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == total
    received = {}
    for request in receiver.requests:
        headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
        payload = Webhook(created.secret).verify(request.body.decode(), headers)
        assert payload["id"] == headers["webhook-id"]
        received[payload["data"]["event"]["eventType"]] = payload
    assert set(received) == set(WEBHOOK_EVENT_TYPES)
    for status_event_type, payload in received.items():
        assert set(payload) == {"id", "type", "createdAt", "tenantId", "data", "sequence"}
        assert payload["type"] == WEBHOOK_EVENT_TYPES[status_event_type]
        assert payload["tenantId"] == str(tenant.pk)
        assert set(payload["data"]["activity"]) == ACTIVITY_KEYS
        assert payload["data"]["activity"]["id"] == str(activity.pk)
        assert set(payload["data"]["event"]) == EVENT_KEYS
        assert payload["data"]["event"]["toStatus"] == ActivityStatus.READY
    assert sorted(p["sequence"] for p in received.values()) == list(range(1, total + 1))
    assert received["CANCELED"]["data"]["event"]["errorCode"] == "SOME_CODE"
    assert received["CREATED"]["data"]["event"]["errorCode"] is None


def test_a_task_result_sends_result_received_with_the_result_and_activity_completed(tenant, commerce):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    route, operator = RouteFactory(tenant=tenant), OperatorFactory(tenant=tenant)
    task = dispatched_task(commerce, route=route, operator=operator)
    factories.endpoint(tenant, event_types=["result.received", "activity.completed"])
    body = TaskResultInputSerializer(data=result_body(task, status="EFFECTIVE", external_status="ok-visit"))
    body.is_valid(raise_exception=True)
    result = task_result_submit(tenant=tenant, actor=SYSTEM, data=body.validated_data,
                                may_hard_override=False).result
    payloads = {d.event_type: d.payload for d in WebhookDelivery.objects.all()}
    assert set(payloads) == {"result.received", "activity.completed"}
    received = payloads["result.received"]
    assert received["data"]["result"]["id"] == str(result.pk)
    assert received["data"]["result"]["status"] == "EFFECTIVE"
    assert received["data"]["activity"]["status"] == "COMPLETED"  # the activity as the transaction left it
    assert payloads["activity.completed"]["sequence"] == received["sequence"] + 1


def test_a_delivery_receipt_sends_delivery_receipt_received_with_the_receipt(tenant, commerce):
    message = make_activity(commerce)
    Activity.objects.filter(pk=message.pk).update(status="DISPATCHED", provider_activity_id="wamid.77")
    factories.endpoint(tenant, event_types=["delivery_receipt.received", "activity.completed"])
    [outcome] = delivery_receipts_submit(tenant=tenant, actor=SYSTEM, items=[{
        "activity_id": message.pk, "status": "READ", "occurred_at": parse_datetime("2025-01-16T12:00:00Z"),
        "error_code": "", "error_message": "", "raw_payload": {"n": 1}}])
    payloads = {d.event_type: d.payload for d in WebhookDelivery.objects.all()}
    assert set(payloads) == {"delivery_receipt.received", "activity.completed"}
    received = payloads["delivery_receipt.received"]
    assert received["data"]["receipt"] == {
        "id": str(outcome.receipt.pk), "activityId": str(message.pk), "providerActivityId": "wamid.77",
        "status": "READ", "occurredAt": "2025-01-16T12:00:00.000Z", "errorCode": "", "errorMessage": "",
        "rawPayload": {"n": 1}, "activityStatus": "COMPLETED", "createdAt": received["data"]["receipt"]["createdAt"]}
    assert "result" not in received["data"] and "receipt" not in payloads["activity.completed"]["data"]
