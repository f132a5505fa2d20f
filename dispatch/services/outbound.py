"""Outbound calls made inside an API request (SPEC 10): a short timeout, and a per-tenant cap on calls in flight.

`with outbound_request(tenant_id=...)` takes one of OUTBOUND_REQUESTS_PER_TENANT slots in the shared cache (so
the cap holds across every worker process and machine) or raises TooManyRequests (429) at once; inside it,
every outbound call times out after OUTBOUND_REQUEST_TIMEOUT_SECONDS at most. A slot is released when the
block ends; a slot whose worker died expires by itself shortly after the longest call could have lasted.
"""
import contextlib
import logging
import math
import uuid

from django.conf import settings
from django.core.cache import cache

from dispatch.services.dispatcher import dispatch_now
from reten.errors import TooManyRequests
from reten.http import capped_timeout

logger = logging.getLogger("reten.dispatch")

SLOT_KEY = "reten:outbound:{tenant_id}:{slot}"


def slot_keys(tenant_id):
    return [SLOT_KEY.format(tenant_id=tenant_id, slot=slot) for slot in range(settings.OUTBOUND_REQUESTS_PER_TENANT)]


def _slot_ttl(timeout):
    # Connect and read may each take the whole timeout; a few seconds more cover the work around the call.
    return math.ceil(2 * timeout) + 5


def _take_slot(tenant_id, token, ttl):
    for key in slot_keys(tenant_id):
        if cache.add(key, token, timeout=ttl):  # atomic in every cache backend: one taker per free slot
            return key
    return None


def _release(key, token):
    # Only our own slot: after an expiry another request may hold this key now.
    if cache.get(key) == token:
        cache.delete(key)


@contextlib.contextmanager
def outbound_request(*, tenant_id):
    timeout = settings.OUTBOUND_REQUEST_TIMEOUT_SECONDS
    token = uuid.uuid4().hex
    key = _take_slot(tenant_id, token, _slot_ttl(timeout))
    if key is None:
        logger.warning("Outbound call refused: tenant %s already has %s in flight", tenant_id,
                       settings.OUTBOUND_REQUESTS_PER_TENANT)
        raise TooManyRequests(
            f"This tenant already has {settings.OUTBOUND_REQUESTS_PER_TENANT} outbound calls in flight; "
            "try again when they finish")
    try:
        with capped_timeout(timeout):
            yield
    finally:
        _release(key, token)


def dispatch_now_in_request(*, activity, actor):
    """Dispatch now from a request (API, console): the dispatcher's dispatch_now inside an outbound slot."""
    with outbound_request(tenant_id=activity.tenant_id):
        return dispatch_now(activity=activity, actor=actor)
