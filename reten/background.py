"""A small in-process pool for the work done right after a commit when there is no broker (dispatch, webhooks).

Its threads keep their database connections from one job to the next, as a web worker keeps its own between
requests (closed when CONN_MAX_AGE or an error says so, health-checked before the next use), and close them once
they have had nothing to do for IDLE_CLOSE_SECONDS. Closing them after every job, as before, made every on-commit
dispatch open a new PostgreSQL connection (and warm a new backend's catalogue): more than the dispatch itself
cost (issue 15).
"""
import atexit
import queue
import threading
import weakref
from concurrent.futures import Future

from django.db import close_old_connections, connections

IDLE_CLOSE_SECONDS = 2.0
_pools = weakref.WeakSet()


class BackgroundPool:
    """`workers` threads running submitted jobs in turn; `submit(function, *args)` returns a Future.

    At exit the threads finish the jobs already submitted (a provider call in flight gets recorded), then stop."""

    _STOP = object()

    def __init__(self, workers, *, name):
        self._jobs = queue.SimpleQueue()
        self._stopped = False
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True) for n in range(workers)]
        for thread in self._threads:
            thread.start()
        _pools.add(self)
        atexit.register(self.shutdown)

    def submit(self, function, *args):
        if self._stopped:
            raise RuntimeError("cannot submit to a pool that was shut down")
        future = Future()
        self._jobs.put((future, function, args))
        return future

    def shutdown(self, timeout=None):
        """Run what was submitted, then stop the threads (their connections closed)."""
        if not self._stopped:
            self._stopped = True
            for _ in self._threads:
                self._jobs.put(self._STOP)
        for thread in self._threads:
            thread.join(timeout)

    def _next_job(self):
        try:
            return self._jobs.get(timeout=IDLE_CLOSE_SECONDS)
        except queue.Empty:
            connections.close_all()  # this thread's connections only
            return self._jobs.get()

    def _run(self):
        try:
            while (job := self._next_job()) is not self._STOP:
                future, function, args = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(function(*args))
                except BaseException as exc:  # the caller's Future carries it, as a ThreadPoolExecutor's does
                    future.set_exception(exc)
                finally:
                    close_old_connections()  # this thread's: only those too old or broken
        finally:
            connections.close_all()


def shutdown_all(timeout=None):
    """Every pool of this process (the test suite, before it drops its database: no connection may stay open)."""
    for pool in list(_pools):
        pool.shutdown(timeout)
