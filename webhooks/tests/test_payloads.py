"""Every webhook event type, end to end: status event -> outbox row -> signed POST a receiver verifies."""
import pytest
from django.utils.dateparse import parse_datetime
from standardwebhooks import Webhook

from activities.api.result_serializers import TaskResultInputSerializer
from activities.models import Activity, ActivityStatus, DeliveryReceipt
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


def _dispatched_message(commerce, provider_activity_id):
    message = make_activity(commerce)
    Activity.objects.filter(pk=message.pk).update(status="DISPATCHED", provider_activity_id=provider_activity_id)
    return Activity.objects.get(pk=message.pk)


RECEIPTS_BATCH = "/api/integration/delivery-receipts/batch"


def test_delivery_receipt_received_carries_the_receipt_as_the_api_shows_it(api_as, make_api_key, admin_api,
                                                                          tenant, commerce):
    factories.endpoint(tenant, event_types=["delivery_receipt.received"])
    delivered, bounced = _dispatched_message(commerce, "sms-1"), _dispatched_message(commerce, "sms-2")
    key_api = api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"]))
    response = key_api.post(RECEIPTS_BATCH, {"items": [
        {"activity_id": str(delivered.pk), "status": "DELIVERED", "occurred_at": "2025-01-16T12:00:00Z",
         "raw_payload": {"sid": "SM1", "n": 1}},
        {"provider_activity_id": "sms-2", "status": "BOUNCED", "occurred_at": "2025-01-16T12:01:00.250Z",
         "error_code": "5.1.1", "error_message": "mailbox unknown"}]})
    assert response.status_code == 200 and response.json()["created"] == 2, response.json()
    receipts = {r.activity_id: r for r in DeliveryReceipt.objects.all()}
    payloads = {d.payload["data"]["activity"]["id"]: d.payload for d in WebhookDelivery.objects.all()}
    assert set(payloads) == {str(delivered.pk), str(bounced.pk)}  # only the receipt events: the endpoint's choice
    assert {p["type"] for p in payloads.values()} == {"delivery_receipt.received"}
    first, second = receipts[delivered.pk], receipts[bounced.pk]
    assert payloads[str(delivered.pk)]["data"]["receipt"] == {
        "id": str(first.pk), "activityId": str(delivered.pk), "providerActivityId": "sms-1", "status": "DELIVERED",
        "occurredAt": "2025-01-16T12:00:00.000Z", "errorCode": "", "errorMessage": "",
        "rawPayload": {"sid": "SM1", "n": 1}, "activityStatus": "COMPLETED",
        "createdAt": payloads[str(delivered.pk)]["data"]["receipt"]["createdAt"]}
    assert payloads[str(bounced.pk)]["data"]["receipt"] == {
        "id": str(second.pk), "activityId": str(bounced.pk), "providerActivityId": "sms-2", "status": "BOUNCED",
        "occurredAt": "2025-01-16T12:01:00.250Z", "errorCode": "5.1.1", "errorMessage": "mailbox unknown",
        "rawPayload": None, "activityStatus": "FAILED",
        "createdAt": payloads[str(bounced.pk)]["data"]["receipt"]["createdAt"]}
    for activity in (delivered, bounced):  # exactly what GET .../delivery-receipts renders
        listed = admin_api.get(f"/api/activities/{activity.pk}/delivery-receipts").json()
        assert payloads[str(activity.pk)]["data"]["receipt"] == listed[0]
        payload = payloads[str(activity.pk)]
        assert set(payload["data"]) == {"activity", "event", "receipt"}
        assert payload["data"]["event"]["eventType"] == "DELIVERY_RECEIPT"
        assert payload["data"]["activity"]["status"] == listed[0]["activityStatus"]


def test_receipt_payloads_cost_no_query_per_event(api_as, make_api_key, tenant, commerce, query_count):
    factories.endpoint(tenant)
    messages = [_dispatched_message(commerce, f"sms-{n}") for n in range(8)]
    key_api = api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"]))

    def batch(chosen, status):
        return {"items": [{"activity_id": str(m.pk), "status": status, "occurred_at": "2025-01-16T12:00:00Z"}
                          for m in chosen]}

    key_api.post(RECEIPTS_BATCH, batch(messages[:1], "SENT"))  # the key's first use
    with query_count() as small:
        key_api.post(RECEIPTS_BATCH, batch(messages[1:3], "DELIVERED"))
    with query_count() as large:
        key_api.post(RECEIPTS_BATCH, batch(messages[3:], "DELIVERED"))
    assert len(large.captured_queries) == len(small.captured_queries)
    with_receipt = WebhookDelivery.objects.filter(event_type="delivery_receipt.received")
    assert with_receipt.count() == 8
    assert all(d.payload["data"]["receipt"]["activityId"] == d.payload["data"]["activity"]["id"]
               for d in with_receipt)
    assert WebhookDelivery.objects.filter(event_type="activity.completed").count() == 7
