"""The dispatcher survives losing its database connection mid-pass (SPEC 10, "Workers survive faults").

The connection is cut for real, with `pg_terminate_backend`, while the provider calls are in flight: that is
when the outcomes of calls that already succeeded exist only in the dispatcher's memory.
"""
import threading
from collections import Counter

import psycopg
import pytest
from django.db import OperationalError, connection

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.selectors import active_configs_by_channel
from dispatch.services import DispatchReport
from dispatch.services.dispatcher import claim_due, dispatch_pass, process_claims
from dispatch.tests import factories
from dispatch.tests.test_concurrency_postgres import database_url, start_dispatcher, stop, wait_until
from tenants.tests.factories import TenantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

APPLICATION_NAME = "reten-dispatch-fault-test"


def terminate_dispatcher_connections():
    """Cut every connection the dispatcher subprocess holds (not ours). Returns how many were cut."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = %s AND pid <> pg_backend_pid()", [APPLICATION_NAME])
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


def test_the_loop_survives_its_connection_being_cut_mid_pass_and_sends_each_activity_once(stub):
    tenant = TenantFactory()
    factories.config(tenant, channel="SMS", base_url=stub.url)
    ids = factories.due_activities(tenant, 300, channel="SMS")
    stub.set("accept", latency=0.02)
    process = start_dispatcher(DATABASE_URL=f"{database_url()}?application_name={APPLICATION_NAME}",
                               LOG_LEVEL="WARNING", DISPATCH_BATCH_SIZE=100, DISPATCH_CONCURRENCY=4)
    cuts = []
    try:
        # Passes of 100: the first cut lands in pass 1, the second in pass 2, each while calls are in flight
        # (every database access of a pass happens before its first call or after its last one).
        for received in (40, 150):
            wait_until(lambda n=received: len(stub.activity_requests()) >= n or process.poll() is not None,
                       timeout=60, step=0.005)
            in_flight = len(stub.activity_requests())
            cuts.append(terminate_dispatcher_connections())
            assert received <= in_flight < 300, stop([process])
        drained = wait_until(lambda: process.poll() is not None or Activity.objects.filter(
            status=ActivityStatus.DISPATCHED).count() == 300, timeout=90, step=0.1) and process.poll() is None
        alive = process.poll() is None
    finally:
        [(out, err)] = stop([process])

    assert cuts == [1, 1], "the dispatcher's connection was not found and cut"
    assert alive and drained, (out, err)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    lost = [line for line in err.splitlines() if "Database connection lost" in line]
    assert 2 <= len(lost) <= 4, err  # one line per cut (a second try may log once more), no traceback spam

    # Every activity sent exactly once, under its own id as Idempotency-Key, and recorded once.
    assert stub.idempotency_keys() == Counter({str(activity_id): 1 for activity_id in ids})
    assert Activity.objects.filter(pk__in=ids, status=ActivityStatus.DISPATCHED).count() == 300
    assert set(Activity.objects.filter(pk__in=ids).values_list("dispatch_attempt_count", flat=True)) == {1}
    successes = Counter(StatusEvent.objects.filter(event_type=EventType.DISPATCH_SUCCESS)
                        .values_list("activity_id", flat=True))
    assert successes == Counter(dict.fromkeys(ids, 1))
    assert not Activity.objects.filter(pk__in=ids, next_attempt_at__isnull=False).exists()


def cut_own_connection():
    with pytest.raises(OperationalError):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_claims_not_sent_when_the_connection_is_lost_are_handed_back_once_it_is_back(stub):
    tenant = TenantFactory()
    factories.config(tenant, channel="SMS", base_url=stub.url)
    ids = factories.due_activities(tenant, 5, channel="SMS")
    claims = claim_due(tenant_id=tenant.id, configs_by_channel=active_configs_by_channel(tenant_id=tenant.id),
                       quota=5)
    assert len(claims) == 5
    cut_own_connection()  # the next query (loading the payloads) fails: nothing has been sent yet
    report = DispatchReport(claimed=5)

    with pytest.raises(OperationalError):
        process_claims(claims, report=report)

    assert stub.activity_requests() == []
    assert report.released == 5
    rows = set(Activity.objects.filter(pk__in=ids).values_list("status", "dispatch_attempt_count", "next_attempt_at"))
    assert rows == {(ActivityStatus.READY, 0, None)}  # not an attempt, due again at once
    assert dispatch_pass().dispatched == 5
    assert stub.idempotency_keys() == Counter({str(activity_id): 1 for activity_id in ids})


def cut_from_outside(pid):
    with psycopg.connect(database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_outcomes_in_memory_are_recorded_after_a_reconnect(stub):
    tenant = TenantFactory()
    factories.config(tenant, channel="SMS", base_url=stub.url)
    ids = factories.due_activities(tenant, 3, channel="SMS")
    claims = claim_due(tenant_id=tenant.id, configs_by_channel=active_configs_by_channel(tenant_id=tenant.id),
                       quota=3)
    report = DispatchReport(claimed=3)
    stub.set("accept", latency=0.5)  # the answers come 0.5 s after the requests are recorded
    backend_pid = connection.connection.info.backend_pid
    cutter = threading.Thread(target=lambda: wait_until(lambda: len(stub.activity_requests()) == 3, timeout=30,
                                                        step=0.005) and cut_from_outside(backend_pid))
    cutter.start()

    outcomes = process_claims(claims, report=report, concurrency=3)

    cutter.join()
    assert len(outcomes) == 3 and report.dispatched == 3
    assert connection.connection.info.backend_pid != backend_pid  # it really reconnected
    assert StatusEvent.objects.filter(activity_id__in=ids, event_type=EventType.DISPATCH_SUCCESS).count() == 3
    assert set(Activity.objects.filter(pk__in=ids).values_list("status", flat=True)) == {ActivityStatus.DISPATCHED}
    assert stub.idempotency_keys() == Counter({str(activity_id): 1 for activity_id in ids})


def test_a_celery_task_that_loses_its_connection_logs_one_line_and_the_next_one_dispatches(stub, caplog):
    from dispatch.tasks import dispatch_tenant

    tenant = TenantFactory()
    factories.config(tenant, channel="SMS", base_url=stub.url)
    ids = factories.due_activities(tenant, 2, channel="SMS")
    cut_own_connection()

    assert dispatch_tenant(str(tenant.id)) is None  # no exception for the worker to log with a traceback

    [lost] = [r for r in caplog.records if "Database connection lost" in r.getMessage()]
    assert lost.exc_info is None and "OperationalError" in lost.getMessage()
    assert stub.activity_requests() == []
    assert dispatch_tenant(str(tenant.id))["dispatched"] == 2  # reconnected
    assert stub.idempotency_keys() == Counter({str(activity_id): 1 for activity_id in ids})
