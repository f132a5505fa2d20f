"""Several real dispatcher processes against the test database (PostgreSQL: row locks, skip_locked, leases)."""
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.tests import factories
from tenants.tests.factories import TenantFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def database_url():
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_dispatcher(**env):
    environment = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "reten.settings_test", "DATABASE_URL": database_url(),
        "LOG_LEVEL": "ERROR", **{key: str(value) for key, value in env.items()},
    }
    return subprocess.Popen([sys.executable, "manage.py", "dispatch_activities", "--loop", "--interval", "0.05"],
                            cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(predicate, *, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def ready_count():
    return Activity.objects.filter(status=ActivityStatus.READY).count()


def stop(processes):
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=30) for process in processes]
    return outputs


def test_four_dispatchers_send_each_activity_exactly_once(stub):
    provider = factories.provider(code="PG4")
    tenants = [TenantFactory() for _ in range(4)]
    ids = []
    for tenant in tenants:
        factories.config(tenant, channel="SMS", base_url=stub.url, provider_obj=provider)
        ids += factories.due_activities(tenant, 500, channel="SMS")
    assert len(ids) == 2000

    processes = [start_dispatcher(DISPATCH_BATCH_SIZE=40, DISPATCH_CONCURRENCY=6) for _ in range(4)]
    try:
        drained = wait_until(lambda: ready_count() == 0, timeout=180, step=0.25)
    finally:
        outputs = stop(processes)

    assert drained, f"{ready_count()} activities still READY"
    assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
    passes_with_work = [sum(" claimed=" in line for line in out.splitlines()) for out, _ in outputs]
    assert sum(1 for count in passes_with_work if count) >= 2, "the work was not shared between processes"
    keys = stub.idempotency_keys()
    assert keys == Counter({str(activity_id): 1 for activity_id in ids})
    assert Activity.objects.filter(status=ActivityStatus.DISPATCHED).count() == 2000
    assert set(Activity.objects.values_list("dispatch_attempt_count", flat=True)) == {1}
    assert StatusEvent.objects.filter(event_type=EventType.DISPATCH_SUCCESS).count() == 2000
    assert not Activity.objects.filter(next_attempt_at__isnull=False).exists()


def test_a_killed_dispatcher_loses_nothing_and_resends_with_the_same_key(stub):
    tenant = TenantFactory()
    factories.config(tenant, channel="SMS", base_url=stub.url)
    ids = factories.due_activities(tenant, 300, channel="SMS")
    stub.set("accept", latency=0.03)
    env = {"DISPATCH_BATCH_SIZE": 50, "DISPATCH_CONCURRENCY": 4, "DISPATCH_LEASE_SECONDS": 3,
           "DISPATCH_HTTP_TIMEOUT": 2}  # start-up validation: the lease must outlast the HTTP timeout

    first = start_dispatcher(**env)
    try:
        assert wait_until(lambda: len(stub.activity_requests()) >= 80, timeout=60, step=0.02)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    sent_before_kill = set(stub.idempotency_keys())
    left_claimed = Activity.objects.filter(status=ActivityStatus.READY, dispatch_attempt_count=1).count()
    assert ready_count() > 0 and left_claimed > 0  # it really died mid-pass

    second = start_dispatcher(**env)
    try:
        drained = wait_until(lambda: ready_count() == 0, timeout=120, step=0.2)
    finally:
        outputs = stop([second])
    assert drained, outputs

    assert Activity.objects.filter(pk__in=ids, status=ActivityStatus.DISPATCHED).count() == 300
    requests = stub.activity_requests()
    assert {r.headers["idempotency-key"] for r in requests} == {str(i) for i in ids}
    assert all(r.headers["idempotency-key"] == r.json["activityId"] for r in requests)
    resent = {key for key, count in stub.idempotency_keys().items() if count > 1}
    assert resent and resent <= sent_before_kill
    # A re-send is the same activity's second attempt, under the same key.
    attempts = {str(pk): n for pk, n in Activity.objects.filter(pk__in=ids).values_list("id",
                                                                                         "dispatch_attempt_count")}
    assert all(attempts[key] == 2 for key in resent)
    assert StatusEvent.objects.filter(event_type=EventType.DISPATCH_SUCCESS).count() == 300
