"""SPEC 11.4 under load: a bulk cancel of 10,000 READY activities racing two real dispatcher processes."""
from collections import Counter

import pytest

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.models import DispatchAttempt
from dispatch.tests import factories
from dispatch.tests.test_concurrency_postgres import start_dispatcher, stop, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_bulk_cancel_racing_the_dispatcher_ends_every_activity_once(stub, tenant, admin_api):
    factories.config(tenant, channel="SMS", base_url=stub.url)
    ids = factories.due_activities(tenant, 10_000, channel="SMS")
    stub.set("accept", latency=0.002)

    processes = [start_dispatcher(DISPATCH_BATCH_SIZE=50, DISPATCH_CONCURRENCY=4) for _ in range(2)]
    try:
        assert wait_until(lambda: len(stub.activity_requests()) >= 200, timeout=60, step=0.05)
        response = admin_api.post("/api/activities/bulk-cancel", {"filter": {}, "reason": "race"})
    finally:
        outputs = stop(processes)

    assert response.status_code == 200, response.content
    body = response.json()
    statuses = Counter(Activity.objects.filter(pk__in=ids).values_list("status", flat=True))
    # Every activity ends CANCELED or DISPATCHED (never neither), and the counts are the database's.
    assert set(statuses) <= {ActivityStatus.CANCELED, ActivityStatus.DISPATCHED}, (statuses, outputs)
    assert body["matched"] == 10_000
    assert body["changed"] == statuses[ActivityStatus.CANCELED]
    assert body["skipped"] == ({"DISPATCHED": statuses[ActivityStatus.DISPATCHED]}
                               if statuses[ActivityStatus.DISPATCHED] else {})
    assert body["changed"] > 0 and statuses[ActivityStatus.DISPATCHED] > 0, "no race happened"
    # Never both: no activity carries a CANCELED and a DISPATCH_SUCCESS event.
    canceled = set(StatusEvent.objects.filter(event_type=EventType.CANCELED).values_list("activity_id", flat=True))
    dispatched = set(StatusEvent.objects.filter(event_type=EventType.DISPATCH_SUCCESS)
                     .values_list("activity_id", flat=True))
    assert not canceled & dispatched
    assert len(canceled) == statuses[ActivityStatus.CANCELED] and len(dispatched) == statuses[ActivityStatus.DISPATCHED]
    # Each dispatched activity has its accepted attempt row; a cancel that won mid-call keeps the provider's row only.
    assert DispatchAttempt.objects.filter(outcome="ACCEPTED", activity_id__in=dispatched).count() == len(dispatched)
