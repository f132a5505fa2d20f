"""PostgreSQL lock probes for race tests: wait for a condition the server reports, never sleep and hope."""
import time

from django.db import connection


def backend_pid():
    """The server process of this thread's connection (the id pg_blocking_pids speaks of)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_blocked(waiting_pid, *, by_pid, timeout=10):
    """True once PostgreSQL reports `waiting_pid` waiting on a lock `by_pid` holds; False after `timeout`."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [by_pid, waiting_pid])
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False
