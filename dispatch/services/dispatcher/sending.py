"""Sending: with no row lock held, load what was claimed, resolve ON_DISPATCH data, build the payloads (main
thread), then call the providers from a small thread pool (no database access in a pool thread). Each call gives
a receipt, a ProviderError or LeaseExpired, and its CallTiming."""
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from activities.models import Activity, ActivityStatus
from dispatch import crypto
from dispatch.protocols import ProviderError
from dispatch.services.configs import protocol_of, provider_config_of
from dispatch.services.dispatcher.claims import READY, _hand_back
from dispatch.services.dispatcher.faults import TRANSIENT_DATABASE_ERRORS
from dispatch.services.payload import build_payload, payload_sources
from reten.logging import log_context

logger = logging.getLogger("reten.dispatch")


@dataclass(frozen=True)
class CallTiming:
    """When a provider call started and how long it took; None for a failure found before any call."""

    started_at: object
    duration_ms: int


class LeaseExpired(Exception):
    """Too little of the lease is left to make the call; the claim is handed back untouched."""


# --- resolution right before the call --------------------------------------------------------------------------

def _resolve_before_dispatch(activity_id):
    from activities.services import activity_resolve_before_dispatch

    return activity_resolve_before_dispatch(activity=Activity.objects.get(pk=activity_id))


# --- calling the providers -------------------------------------------------------------------------------------

def _call(protocol, payload, provider_config, claim):
    """Runs in a pool thread: no database access here. (receipt | ProviderError | LeaseExpired, CallTiming)."""
    if time.monotonic() > claim.send_by:
        return LeaseExpired(), None
    started_at, started = timezone.now(), time.monotonic()
    try:
        outcome = protocol.send(payload, provider_config)
    except ProviderError as exc:
        exc.message = provider_config.scrub(exc.message)
        outcome = exc
    except Exception as exc:  # a bug in a protocol must not take the whole pass down
        logger.exception("Protocol %s raised unexpectedly", getattr(protocol, "name", protocol))
        outcome = ProviderError(f"Unexpected {exc.__class__.__name__} in protocol", code="INTERNAL_ERROR")
    return outcome, CallTiming(started_at=started_at, duration_ms=int((time.monotonic() - started) * 1000))


def _concurrency():
    return max(1, int(getattr(settings, "DISPATCH_CONCURRENCY", 8)))


def _prepare(claims, report):
    """Main thread: load, resolve ON_DISPATCH data, build payloads. Yields (claim, protocol, payload, config)."""
    sources = payload_sources([claim.activity_id for claim in claims])
    provider_configs = {}
    for claim in claims:
        source = sources.get(claim.activity_id)
        if source is None or source.status != READY:  # canceled between the claim and now
            _hand_back(claim)
            report.count("superseded", claim.tenant_id)
            continue
        if source.pending_resolution:
            with log_context(tenant_id=claim.tenant_id, activity_id=claim.activity_id):
                source = _resolve_or_hand_back(claim, report)
            if source is None:
                continue
        config = claim.config
        if config.pk not in provider_configs:
            try:
                provider_configs[config.pk] = provider_config_of(config)
            except crypto.CredentialsDecryptError as exc:
                provider_configs[config.pk] = ProviderError(str(exc), code="CREDENTIALS_ERROR")
        try:
            payload = build_payload(source)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.exception("Could not build the payload of activity %s", claim.activity_id)
            yield claim, None, None, ProviderError(f"The dispatch payload could not be built "
                                                   f"({exc.__class__.__name__})", code="PAYLOAD_INVALID")
            continue
        yield claim, protocol_of(config), payload, provider_configs[config.pk]


def _resolve_or_hand_back(claim, report):
    """ON_DISPATCH resolution; the fresh payload source, or None (UNRESOLVED now, and not an attempt)."""
    if _resolve_before_dispatch(claim.activity_id):
        return payload_sources([claim.activity_id]).get(claim.activity_id)
    _hand_back(claim)
    status = Activity.objects.filter(pk=claim.activity_id).values_list("status", flat=True).first()
    if status == ActivityStatus.UNRESOLVED:
        report.count("unresolved", claim.tenant_id)
        logger.info("Activity %s could not be resolved before dispatch; now UNRESOLVED", claim.activity_id)
    else:
        report.count("superseded", claim.tenant_id)
    return None


def _calls(prepared, *, concurrency):
    """(claim, (receipt | ProviderError | LeaseExpired, CallTiming | None)) as each call finishes."""
    if concurrency == 1:
        for claim, protocol, payload, provider_config in prepared:
            if isinstance(provider_config, ProviderError):
                yield claim, (provider_config, None)
            else:
                yield claim, _call(protocol, payload, provider_config, claim)
        return
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="dispatch") as pool:
        futures, lost = {}, None
        try:
            for claim, protocol, payload, provider_config in prepared:
                if isinstance(provider_config, ProviderError):
                    yield claim, (provider_config, None)
                    continue
                futures[pool.submit(_call, protocol, payload, provider_config, claim)] = claim
        except TRANSIENT_DATABASE_ERRORS as exc:
            lost = exc  # send no more; the calls already made still finish and their outcomes are recorded
        for future in as_completed(futures):
            yield futures[future], future.result()
        if lost is not None:
            raise lost
