"""The transactional outbox (SPEC 13): deliveries are written in the transaction that writes their status events.

Registered in activities' `status_events_written` hook. A tenant whose (already loaded) Tenant row says it has no
active endpoint costs nothing; otherwise one query finds the endpoints of every tenant in the batch, and only
when one matches are the activities read again for the payload and the deliveries inserted.
"""
import json
import uuid

from django.db import transaction
from django.db.models import Count
from djangorestframework_camel_case.util import camelize

from activities.api.serializers import ActivityListItemSerializer, DeliveryReceiptSerializer, TaskResultSerializer
from activities.models import Activity, EventType, StatusEvent
from reten.api.renderers import JSONEncoder
from tenants.models import Tenant
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services.delivery import enqueue_deliveries

# Status event -> webhook event type. DEFERRED and DELIVERY_RECEIPT are written by other parts of the house
# (contact windows, delivery receipts); they are mapped by name so they flow as soon as those events exist.
WEBHOOK_EVENT_TYPES = {
    EventType.CREATED: "activity.created",
    EventType.RESOLUTION_FAILED: "activity.unresolved",
    EventType.RESOLUTION_RETRY_SUCCESS: "activity.ready",
    EventType.DISPATCH_SUCCESS: "activity.dispatched",
    EventType.DISPATCH_ATTEMPT_FAILED: "activity.dispatch_attempt_failed",
    EventType.COMPLETED: "activity.completed",
    EventType.EXECUTION_FAILED: "activity.failed",
    EventType.DISPATCH_FAILED: "activity.failed",
    EventType.CANCELED: "activity.canceled",
    "DEFERRED": "activity.deferred",
    EventType.RESULT_RECEIVED: "result.received",
    "DELIVERY_RECEIPT": "delivery_receipt.received",
    "DELIVERY_RECEIPT_RECEIVED": "delivery_receipt.received",
}
EVENT_TYPES = sorted(set(WEBHOOK_EVENT_TYPES.values()))
TEST_EVENT_TYPE = "webhook.test"


def _known_without_endpoints(activity):
    """True when this activity's Tenant is already in memory and has no active endpoint (no query)."""
    if not Activity.tenant.is_cached(activity):
        return False
    return not activity.tenant.has_webhook_endpoints


def _sequences(events):
    """{event id: sequence}: the number of status events of its activity up to and including it. An activity
    created in this very batch needs no query: its events are all here."""
    by_activity = {}
    for event in events:
        by_activity.setdefault(event.activity_id, []).append(event)
    created_here = {activity_id for activity_id, mine in by_activity.items()
                    if any(e.event_type == EventType.CREATED for e in mine)}
    others = set(by_activity) - created_here
    totals = dict(StatusEvent.objects.filter(activity_id__in=others).order_by().values("activity_id")
                  .annotate(total=Count("id")).values_list("activity_id", "total")) if others else {}
    sequences = {}
    for activity_id, mine in by_activity.items():
        mine.sort(key=lambda e: e.occurred_at)
        last = len(mine) if activity_id in created_here else totals.get(activity_id, len(mine))
        for offset, event in enumerate(reversed(mine)):
            sequences[event.pk] = last - offset
    return sequences


def _with_list_item_data(activities):
    """{id: activity} with what the list item reads loaded; rows just created already carry it (no query)."""
    loaded = {a.pk: a for a in activities if "commerce_assignment" in a._state.fields_cache}
    missing = [a.pk for a in activities if a.pk not in loaded]
    if missing:
        loaded.update({a.pk: a for a in Activity.objects.filter(pk__in=missing)
                       .select_related("commerce_assignment__commerce", "last_result__activity",
                                       "last_receipt__activity")})
    return loaded


def _json(data):
    """camelCase, UTC millisecond timestamps: exactly what the API would render."""
    return json.loads(json.dumps(camelize(data), cls=JSONEncoder))


def activity_data(activity):
    item = dict(ActivityListItemSerializer(activity).data)
    item["provider_activity_id"] = activity.provider_activity_id or None
    return item


def build_payload(*, event_id, event_type, tenant_id, activity, event, sequence, created_at):
    data = {
        "activity": activity_data(activity),
        "event": {"event_type": event.event_type, "from_status": event.from_status, "to_status": event.to_status,
                  "error_code": event.error_code or None, "error_message": event.error_message or None,
                  "occurred_at": event.occurred_at},
    }
    if event_type == "result.received" and activity.last_result_id is not None:
        data["result"] = dict(TaskResultSerializer(activity.last_result).data)
    if event_type == "delivery_receipt.received" and activity.last_receipt_id is not None:
        data["receipt"] = dict(DeliveryReceiptSerializer(activity.last_receipt).data)  # SPEC 13: receipt?
    return _json({"id": event_id, "type": event_type, "created_at": created_at, "tenant_id": tenant_id,
                  "data": data, "sequence": sequence})


def write_outbox(events):
    """One PENDING delivery per (event, matching active endpoint), in the caller's transaction."""
    wanted = [event for event in events if event.event_type in WEBHOOK_EVENT_TYPES
              and not _known_without_endpoints(event.activity)]
    if not wanted:
        return []
    tenant_ids = {event.activity.tenant_id for event in wanted}
    endpoints_by_tenant = {}
    for endpoint in WebhookEndpoint.objects.filter(tenant_id__in=tenant_ids, is_active=True).order_by("created_at"):
        endpoints_by_tenant.setdefault(endpoint.tenant_id, []).append(endpoint)
    pairs = [(event, endpoint) for event in wanted
             for endpoint in endpoints_by_tenant.get(event.activity.tenant_id, ())
             if endpoint.wants(WEBHOOK_EVENT_TYPES[event.event_type])]
    if not pairs:
        return []
    matched = {event.pk: event for event, _ in pairs}
    activities = _with_list_item_data(list({e.activity_id: e.activity for e in matched.values()}.values()))
    sequences = _sequences(list(matched.values()))
    payloads = {}
    for event in matched.values():
        event_type = WEBHOOK_EVENT_TYPES[event.event_type]
        event_id = f"evt_{uuid.uuid4().hex}"
        payloads[event.pk] = (event_id, event_type, build_payload(
            event_id=event_id, event_type=event_type, tenant_id=event.activity.tenant_id,
            activity=activities[event.activity_id], event=event, sequence=sequences[event.pk],
            created_at=event.occurred_at))
    deliveries = [WebhookDelivery(endpoint=endpoint, event_id=payloads[event.pk][0], event_type=payloads[event.pk][1],
                                  payload=payloads[event.pk][2]) for event, endpoint in pairs]
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return deliveries


def refresh_tenant_flag(tenant_id):
    """Keep Tenant.has_webhook_endpoints true exactly when the tenant has an active endpoint."""
    active = WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True).exists()
    Tenant.objects.filter(pk=tenant_id).update(has_webhook_endpoints=active)
    return active

