"""reten.db: the bulk writes give the rows Django's own bulk_create / bulk_update would (on SQLite they are them)."""
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities.models import ActivityAttribute, ActivityStatus, AttributeKey, EventType, StatusEvent
from activities.tests.factories import commerce_with_rep, make_activity
from commerces.models import Commerce, CommerceUserRole, CommerceUserRoleAssignment
from reten.db import bulk_insert, bulk_update
from tenants.actors import SYSTEM

WHEN = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


@pytest.fixture
def activity(tenant):
    return make_activity(commerce_with_rep(tenant))


def events_for(activity, count):
    return [StatusEvent(activity=activity, event_type=EventType.DISPATCH_ATTEMPT_FAILED,
                        from_status=ActivityStatus.READY, to_status=ActivityStatus.READY if n else None,
                        error_code=f"E{n}", error_message="x" * n,
                        actor_type=SYSTEM.kind, occurred_at=WHEN.replace(second=n)) for n in range(count)]


def test_bulk_insert_writes_every_column_in_one_statement(activity):
    before = StatusEvent.objects.filter(activity=activity).count()
    events = events_for(activity, 3)
    with CaptureQueriesContext(connection) as queries:
        assert bulk_insert(StatusEvent, events) == events
    assert len(queries) == 1
    assert all(not event._state.adding for event in events)
    stored = {event.pk: event for event in StatusEvent.objects.filter(activity=activity)}
    assert len(stored) == before + 3
    for n, event in enumerate(events):
        row = stored[event.pk]
        assert (row.activity_id, row.event_type, row.from_status, row.to_status, row.error_code, row.error_message,
                row.actor_type, row.actor_user_id, row.actor_api_key_id, row.occurred_at) == (
            activity.pk, "DISPATCH_ATTEMPT_FAILED", "READY", "READY" if n else None, f"E{n}", "x" * n, "SYSTEM",
            None, None, WHEN.replace(second=n))


def test_bulk_insert_stamps_auto_now_add_columns(tenant):
    commerce = commerce_with_rep(tenant)
    person = commerce.users.first()
    assignment = CommerceUserRoleAssignment(commerce_user=person, role=CommerceUserRole.FINANCE)
    assert assignment.created_at is None
    bulk_insert(CommerceUserRoleAssignment, [assignment])
    stored = CommerceUserRoleAssignment.objects.get(pk=assignment.pk)
    assert stored.created_at is not None and stored.created_at == assignment.created_at
    assert stored.role == "FINANCE"


def test_bulk_insert_writes_json_columns_as_bulk_create_does(activity):
    """Objects, lists, strings, numbers, JSON false and SQL NULL come back as they went in."""
    keys = [AttributeKey.objects.create(key=f"json_{n}", label=f"JSON {n}") for n in range(5)]
    values = [{"name": "Store", "nested": {"list": [1, None]}}, [1, "two"], "text", 0, None]
    rows = [ActivityAttribute(activity=activity, attribute_key=key, value=value, fallback=False if n else None,
                              strategy="UPFRONT", resolver_type="INTERNAL_SERVICE")
            for n, (key, value) in enumerate(zip(keys, values, strict=True))]
    with CaptureQueriesContext(connection) as queries:
        bulk_insert(ActivityAttribute, rows)
    assert len(queries) == 1
    stored = {row.pk: row for row in ActivityAttribute.objects.filter(activity=activity)}
    for n, row in enumerate(rows):
        assert (stored[row.pk].value, stored[row.pk].fallback) == (values[n], False if n else None)
    assert ActivityAttribute.objects.filter(pk=rows[4].pk, value__isnull=True).exists()


def test_bulk_insert_of_nothing_runs_no_query(db):
    with CaptureQueriesContext(connection) as queries:
        assert bulk_insert(StatusEvent, []) == []
    assert len(queries) == 0


def test_bulk_update_writes_native_and_json_columns(tenant):
    first, second = Commerce.objects.bulk_create([
        Commerce(tenant=tenant, external_id="DB-1", name="One", tax_id="1-K"),
        Commerce(tenant=tenant, external_id="DB-2", name="Two", tax_id="2-K")])
    first.name, first.is_active, first.metadata = "Uno", False, {"tier": "GOLD", "n": [1, 2]}
    second.name, second.metadata = "Dos", {}
    bulk_update(Commerce, [first, second], ["name", "is_active", "metadata"])
    assert list(Commerce.objects.filter(pk__in=[first.pk, second.pk]).order_by("external_id")
                .values_list("name", "is_active", "metadata")) == [
        ("Uno", False, {"tier": "GOLD", "n": [1, 2]}), ("Dos", True, {})]


def test_bulk_update_of_native_columns_only(activity):
    activity.provider_activity_id, activity.dispatch_attempt_count, activity.dispatched_at = "P-9", 4, WHEN
    bulk_update(type(activity), [activity], ["provider_activity_id", "dispatch_attempt_count", "dispatched_at"])
    activity.refresh_from_db()
    assert (activity.provider_activity_id, activity.dispatch_attempt_count, activity.dispatched_at) == (
        "P-9", 4, WHEN)
