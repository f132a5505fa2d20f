"""A lost database connection (SPEC 10) does not lose what is in memory: outcomes of calls already made are
recorded again after a reconnect (a bounded number of times), and claims not yet sent are handed back; only
if the database stays away do their leases expire into a re-send, under the same key.

Here: which errors count as a lost connection, the reconnect-and-try-again loop (`with_reconnect`), and the guard
of the worker entry points (`surviving_database_faults`); webhook delivery uses them too.
"""
import logging
import time

from django.db import Error, InterfaceError, OperationalError, connection

logger = logging.getLogger("reten.dispatch")

# A lost or refused database connection: worth reconnecting and trying again, unlike a bad query.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)
# Pauses between tries after a lost connection: about 16 s in all, well inside the default lease.
RECONNECT_DELAYS = (0.2, 0.5, 1, 2, 4, 8)


def describe_database_error(exc):
    """One line for the log: the error class and the first line of the driver's message."""
    lines = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {lines[0] if lines else ''}"[:300]


def drop_broken_connection():
    """Close this thread's connection so the next query opens a new one. False inside a caller's transaction:
    that connection (and its rollback) belongs to the caller."""
    if connection.in_atomic_block:
        return False
    try:
        connection.close()
    except Error:
        pass  # it was broken already: closing it is all we wanted
    return True


def with_reconnect(operation, *, doing):
    """`operation(retried)`, tried again after a reconnect when the connection is lost (RECONNECT_DELAYS)."""
    for tries, delay in enumerate((*RECONNECT_DELAYS, None), start=1):
        try:
            return operation(tries > 1)
        except TRANSIENT_DATABASE_ERRORS as exc:
            if delay is None or not drop_broken_connection():
                raise
            logger.warning("Database connection lost while %s (%s); reconnecting in %gs (try %s of %s)", doing,
                           describe_database_error(exc), delay, tries + 1, len(RECONNECT_DELAYS) + 1)
            time.sleep(delay)


def surviving_database_faults(run, *, doing):
    """`run()` for a worker entry point (Celery task, on-commit job): a lost connection is one log line, not a
    traceback; what the pass could not finish was handed back or waits out its lease for the next pass."""
    try:
        return run()
    except TRANSIENT_DATABASE_ERRORS as exc:
        logger.warning("Database connection lost during %s (%s); the next pass takes the work up", doing,
                       describe_database_error(exc))
        drop_broken_connection()
        return None
