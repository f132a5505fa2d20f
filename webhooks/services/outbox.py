"""The transactional outbox (SPEC 13): deliveries are written in the transaction that writes their status events.

Registered in activities' `status_events_written` hook. A tenant whose (already loaded) Tenant row says it has no
active endpoint costs nothing (a Tenant not loaded: one query for the flags of the batch's tenants). For a tenant
with endpoints, every event's payload is built in memory (the rows just created carry what it reads; other
activities are read once per batch) and one statement per 1,000 events writes the deliveries: an
INSERT ... SELECT that joins the events to the tenant's active endpoints that want their type, so the endpoints
are never read first and the cost does not grow with their number.
"""
import json
import uuid

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from djangorestframework_camel_case.util import camelize

from activities.api.serializers import ActivityListItemSerializer, DeliveryReceiptSerializer, TaskResultSerializer
from activities.models import Activity, EventType, StatusEvent
from reten.api.renderers import JSONEncoder
from tenants.models import Tenant
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
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
# Events per INSERT ... SELECT (5 parameters each: well inside SQLite's and PostgreSQL's parameter limits).
INSERT_CHUNK = 1000


def _with_endpoints(events):
    """The events whose tenant may have an active endpoint. A Tenant already in memory answers with its flag (no
    query); the tenants not loaded are asked in one query."""
    unknown = {e.activity.tenant_id for e in events if not Activity.tenant.is_cached(e.activity)}
    flagged = set(Tenant.objects.filter(pk__in=unknown, has_webhook_endpoints=True).order_by()
                  .values_list("pk", flat=True)) if unknown else set()
    return [e for e in events if (e.activity.tenant.has_webhook_endpoints if Activity.tenant.is_cached(e.activity)
                                  else e.activity.tenant_id in flagged)]


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
                       .select_related("commerce_assignment__commerce", "last_result__activity")})
    return loaded


def _json(data):
    """camelCase, UTC millisecond timestamps: exactly what the API would render."""
    return json.loads(json.dumps(camelize(data), cls=JSONEncoder))


def activity_data(activity):
    item = dict(ActivityListItemSerializer(activity).data)
    item["provider_activity_id"] = activity.provider_activity_id or None
    return item


def build_payload(*, event_id, event_type, tenant_id, activity, event, sequence, created_at, receipt=None):
    data = {
        "activity": activity_data(activity),
        "event": {"event_type": event.event_type, "from_status": event.from_status, "to_status": event.to_status,
                  "error_code": event.error_code or None, "error_message": event.error_message or None,
                  "occurred_at": event.occurred_at},
    }
    if event_type == "result.received" and activity.last_result_id is not None:
        data["result"] = dict(TaskResultSerializer(activity.last_result).data)
    if event_type == "delivery_receipt.received" and receipt is not None:
        data["receipt"] = dict(DeliveryReceiptSerializer(receipt).data)
    return _json({"id": event_id, "type": event_type, "created_at": created_at, "tenant_id": tenant_id,
                  "data": data, "sequence": sequence})


def write_outbox(events):
    """One PENDING delivery per (event, matching active endpoint), in the caller's transaction. Returns the ids of
    the deliveries written."""
    wanted = _with_endpoints([event for event in events if event.event_type in WEBHOOK_EVENT_TYPES])
    if not wanted:
        return []
    activities = _with_list_item_data(list({e.activity_id: e.activity for e in wanted}.values()))
    sequences = _sequences(wanted)
    rows = []
    for event in wanted:
        event_type = WEBHOOK_EVENT_TYPES[event.event_type]
        event_id = f"evt_{uuid.uuid4().hex}"
        tenant_id = event.activity.tenant_id
        # The receipts service hands the receipt over on its DELIVERY_RECEIPT event (no query per event).
        payload = build_payload(event_id=event_id, event_type=event_type, tenant_id=tenant_id,
                                activity=activities[event.activity_id], event=event, sequence=sequences[event.pk],
                                created_at=event.occurred_at, receipt=getattr(event, "delivery_receipt", None))
        rows.append((event_id, event_type, tenant_id, payload))
    ids = []
    for start in range(0, len(rows), INSERT_CHUNK):
        ids.extend(_insert_deliveries(rows[start:start + INSERT_CHUNK]))
    if ids:
        transaction.on_commit(lambda: enqueue_deliveries(ids))
    return ids


def _like_event_type(event_type):
    """A LIKE pattern that finds `"event_type"` in an endpoint's event_types JSON text ('!' escapes '_')."""
    escaped = event_type.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f'%"{escaped}"%'


# A random (version 4) UUID made by the database, one per row the SELECT yields. SQLite stores UUIDs as 32 hex
# digits, as Django's UUIDField does there.
NEW_UUID_SQL = {
    "postgresql": "gen_random_uuid()",
    "sqlite": ("lower(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) "
               "|| substr('89ab', 1 + (random() & 3), 1) || substr(hex(randomblob(8)), 2))"),
}


def _insert_deliveries(rows):
    """One INSERT ... SELECT: every (event, active endpoint of its tenant that wants its type) -> a PENDING row.
    Written in SQL both SQLite and PostgreSQL run; event_types (a JSON list, empty = all) is matched as text."""
    if connection.vendor not in NEW_UUID_SQL:
        raise NotImplementedError(f"The webhook outbox has no SQL for {connection.vendor}")
    delivery, endpoint = WebhookDelivery._meta, WebhookEndpoint._meta
    q = connection.ops.quote_name
    field = delivery.get_field
    params = []
    for event_id, event_type, tenant_id, payload in rows:
        params += [event_id, event_type, endpoint.get_field("tenant").get_db_prep_value(tenant_id, connection),
                   _like_event_type(event_type), field("payload").get_db_prep_value(payload, connection)]
    params += [DeliveryStatus.PENDING, field("created_at").get_db_prep_value(timezone.now(), connection), True]
    columns = ", ".join(q(field(name).column) for name in (
        "id", "endpoint", "event_id", "event_type", "payload", "status", "attempts", "last_error", "created_at"))
    event_types = f"CAST(e.{q(endpoint.get_field('event_types').column)} AS TEXT)"
    sql = (
        "WITH v (event_id, event_type, tenant_id, pattern, payload) AS (VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows)) + ") "
        f"INSERT INTO {q(delivery.db_table)} ({columns}) "
        f"SELECT {NEW_UUID_SQL[connection.vendor]}, e.{q(endpoint.pk.column)}, v.event_id, v.event_type, v.payload, "
        "%s, 0, '', %s "
        f"FROM v INNER JOIN {q(endpoint.db_table)} e ON e.{q(endpoint.get_field('tenant').column)} = v.tenant_id "
        f"WHERE e.{q(endpoint.get_field('is_active').column)} = %s "
        f"AND ({event_types} = '[]' OR {event_types} LIKE v.pattern ESCAPE '!') "
        f"RETURNING {q(delivery.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [value if isinstance(value, uuid.UUID) else uuid.UUID(value) for (value,) in cursor.fetchall()]


def refresh_tenant_flag(tenant_id):
    """Keep Tenant.has_webhook_endpoints true exactly when the tenant has an active endpoint."""
    active = WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True).exists()
    Tenant.objects.filter(pk=tenant_id).update(has_webhook_endpoints=active)
    return active

