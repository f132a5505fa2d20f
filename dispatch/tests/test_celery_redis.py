"""Scale-out for real: a Celery worker and beat as subprocesses against Redis, sharing the test database.

Needs Redis on 127.0.0.1:6379 and PostgreSQL (the subprocesses must see the test database).
"""
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from activities.models import Activity, ActivityStatus
from commerces.models import CommerceUserRole, CommerceUserRoleAssignment
from dispatch.tests import factories
from dispatch.tests.test_concurrency_postgres import database_url, wait_until
from tenants.tests.factories import TenantFactory

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/13"

pytestmark = [pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def clean_broker():
    import redis

    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield BROKER
    client.flushdb()
    client.close()


@pytest.fixture
def celery_processes(tmp_path, clean_broker):
    """start("worker") / start("beat"): Celery subprocesses on the test database; stopped at the end."""
    started = []
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reten.settings_test", "DATABASE_URL": database_url(),
           "CELERY_BROKER_URL": clean_broker, "DISPATCH_INTERVAL_SECONDS": "1", "LOG_LEVEL": "WARNING"}
    commands = {
        "worker": ["worker", "--pool", "threads", "--concurrency", "4", "--without-gossip", "--without-mingle",
                   "--without-heartbeat", "--hostname", f"reten-test-{os.getpid()}@%h"],
        "beat": ["beat", "--schedule", str(tmp_path / "beat-schedule"), "--max-interval", "1"],
    }

    def start(kind):
        log = open(tmp_path / f"{kind}.log", "w")  # noqa: SIM115 - closed below
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "reten", *commands[kind],
                                    "--loglevel", "INFO"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, log, tmp_path / f"{kind}.log"))
        return process

    yield start
    for process, _log, _path in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, log, _path in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def worker_ready(log_path):
    return "ready." in log_path.read_text()


def logs(tmp_path):
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in tmp_path.glob("*.log"))


def test_worker_and_beat_dispatch_every_tenant_with_no_command_loop(stub, celery_processes, tmp_path):
    provider = factories.provider(code="CELERY")
    ids = []
    for count in (67, 67, 66):
        tenant = TenantFactory()
        factories.config(tenant, channel="SMS", base_url=stub.url, provider_obj=provider)
        ids += factories.due_activities(tenant, count, channel="SMS")

    celery_processes("worker")
    celery_processes("beat")
    drained = wait_until(lambda: not Activity.objects.filter(status=ActivityStatus.READY).exists(), timeout=90,
                         step=0.25)

    assert drained, logs(tmp_path)
    assert Activity.objects.filter(pk__in=ids, status=ActivityStatus.DISPATCHED).count() == 200
    assert stub.idempotency_keys() == Counter({str(i): 1 for i in ids})


def test_an_activity_created_already_due_is_dispatched_within_two_seconds(stub, celery_processes, celery_broker,
                                                                           tmp_path, admin_api, tenant):
    factories.config(tenant, channel="SMS", base_url=stub.url)
    commerce, person = factories.commerce_with_person(tenant)
    CommerceUserRoleAssignment.objects.create(commerce_user=person, role=CommerceUserRole.COMMERCE_REP)
    celery_broker(BROKER)
    celery_processes("worker")  # no beat, no command loop: only the on-commit path can send it
    assert wait_until(lambda: worker_ready(tmp_path / "worker.log"), timeout=60, step=0.2), logs(tmp_path)

    response = admin_api.post("/api/activities", {
        "type": "MESSAGE", "reason": "Win back", "channel": "SMS", "commerce_id": str(commerce.id),
        "idempotency_key": "due-now-1", "scheduled_at": timezone.now().isoformat()})
    created_at = time.monotonic()
    assert response.status_code == 201, response.content
    activity_id = response.json()["id"]
    dispatched = wait_until(
        lambda: Activity.objects.filter(pk=activity_id, status=ActivityStatus.DISPATCHED).exists(),
        timeout=2, step=0.05)

    assert dispatched, logs(tmp_path)
    assert time.monotonic() - created_at <= 2.05
    assert stub.idempotency_keys() == Counter({activity_id: 1})
