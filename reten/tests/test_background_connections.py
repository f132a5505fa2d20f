"""Work done outside a request keeps its database connection between jobs, as a web worker does between requests:
the in-process on-commit pool (reten.background) and a Celery worker (reten/celery.py). A new PostgreSQL
connection per on-commit dispatch or per Celery task cost more than the dispatch itself (issue 15)."""
import threading
import time

import pytest
from django.db import connection

from reten import background
from reten.background import BackgroundPool


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def session_is_open(pid, *, wait=5.0):
    """Whether PostgreSQL still has the session `pid` (a closed one leaves pg_stat_activity within moments)."""
    deadline = time.monotonic() + wait
    while True:
        with connection.cursor() as cursor:
            # Inside a transaction (the test's) PostgreSQL answers pg_stat_activity from a snapshot taken at its
            # first read: clear it, or a session that ended just after that read would look open for good.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


@pytest.fixture
def pool():
    created = []

    def make(workers=1):
        created.append(BackgroundPool(workers, name="test-pool"))
        return created[-1]

    yield make
    for each in created:
        each.shutdown(timeout=10)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_pool_thread_keeps_its_connection_between_jobs_and_closes_it_once_idle(pool, monkeypatch, settings):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    monkeypatch.setattr(background, "IDLE_CLOSE_SECONDS", 0.5)
    worker = pool()

    first = worker.submit(backend_pid).result(timeout=10)
    second = worker.submit(backend_pid).result(timeout=10)

    assert second == first  # the same PostgreSQL session served both jobs
    time.sleep(1.0)
    assert not session_is_open(first)  # closed after half a second with nothing to do
    assert worker.submit(backend_pid).result(timeout=10) != first  # and opened again for the next job


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_kept_connection_that_broke_meanwhile_is_replaced_before_the_next_job(pool):
    worker = pool()
    first = worker.submit(backend_pid).result(timeout=10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    assert not session_is_open(first)

    # Checked before its next use (conn_health_checks, as between two requests): the job never sees it broken.
    assert worker.submit(backend_pid).result(timeout=10) != first


@pytest.mark.django_db
def test_a_failing_job_fails_its_own_future_only(pool):
    worker = pool(workers=2)

    def boom():
        raise ValueError("job failed")

    failed = worker.submit(boom)
    with pytest.raises(ValueError, match="job failed"):
        failed.result(timeout=10)
    assert [worker.submit(lambda n=n: n * 2).result(timeout=10) for n in range(3)] == [0, 2, 4]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_celery_worker_keeps_its_connection_from_one_task_to_the_next():
    """What a prefork child does around each task: Celery's Django fixup, then reten/celery.py's handlers."""
    from celery.fixups.django import DjangoWorkerFixup
    from celery.signals import task_postrun, task_prerun

    from dispatch.tasks import dispatch_activities
    from reten.celery import app

    fixup = DjangoWorkerFixup(app)
    pids = []

    def two_tasks():  # in a thread of its own: a worker's connection is in autocommit, not in the test's transaction
        try:
            for _ in range(2):
                fixup.on_task_prerun(sender=dispatch_activities)
                task_prerun.send(sender=dispatch_activities, task_id="t", task=dispatch_activities, args=(), kwargs={})
                pids.append(backend_pid())
                fixup.on_task_postrun(sender=dispatch_activities)
                task_postrun.send(sender=dispatch_activities, task_id="t", task=dispatch_activities, args=(),
                                  kwargs={}, retval=None, state="SUCCESS")
        finally:
            connection.close()

    thread = threading.Thread(target=two_tasks)
    thread.start()
    thread.join(30)

    assert fixup.db_reuse_max == 1000  # CELERY_DB_REUSE_MAX: the fixup no longer closes around every task
    assert len(pids) == 2 and pids[0] == pids[1]


@pytest.mark.django_db
def test_shutting_down_runs_what_was_submitted_then_refuses_more():
    worker = BackgroundPool(1, name="test-pool")
    done = []
    futures = [worker.submit(lambda n=n: done.append(n) or time.sleep(0.05)) for n in range(3)]

    worker.shutdown(timeout=10)

    assert done == [0, 1, 2] and all(future.done() for future in futures)
    with pytest.raises(RuntimeError, match="shut down"):
        worker.submit(print)
