"""The dispatcher (SPEC 5.3): claim due READY activities, call providers with no row lock held, record outcomes.

A pass: find tenants with due work, claim up to DISPATCH_BATCH_SIZE activities per tenant in one short
transaction each (`select_for_update(skip_locked=True)`, attempt count + 1, a lease in `next_attempt_at`),
commit, then call the providers from a small thread pool, taking the tenants' activities in turn, and
record every outcome in short transactions of its own. A worker that dies leaves leases that expire by
themselves; the next claim re-sends with the same Idempotency-Key (the activity id).

A lost database connection (SPEC 10) does not lose what is in memory: outcomes of calls already made are
recorded again after a reconnect (a bounded number of times), and claims not yet sent are handed back; only
if the database stays away do their leases expire into a re-send, under the same key.
"""
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import zip_longest

from django.conf import settings
from django.db import Error, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from activities.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    EventType,
    StatusEvent,
)
from activities.services.events import build_status_event, save_status_events
from dispatch import crypto
from dispatch.models import AttemptOutcome, DispatchAttempt, DispatchConfig
from dispatch.protocols import ProviderError
from dispatch.selectors import active_config_for, active_configs_by_channel
from dispatch.services.classification import classify, next_attempt_delay
from dispatch.services.configs import protocol_of, provider_config_of
from dispatch.services.mock_receipts import report_mock_receipts
from dispatch.services.payload import build_payload, payload_sources
from reten import metrics
from reten.db import bulk_insert, bulk_update
from reten.errors import Conflict, IllegalTransition, NotFound, UpstreamFailed, ValidationFailed
from reten.logging import log_context
from tenants.actors import SYSTEM

logger = logging.getLogger("reten.dispatch")

READY = ActivityStatus.READY
RECORD_BATCH = 100
# "New" for the sweep of dispatch_activities_if_due: created this recently (its on-commit task may still be queued).
NEW_ACTIVITY_SECONDS = 120
# A lost or refused database connection: worth reconnecting and trying again, unlike a bad query.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)
# Pauses between tries after a lost connection: about 16 s in all, well inside the default lease.
RECONNECT_DELAYS = (0.2, 0.5, 1, 2, 4, 8)
SUCCESS_FIELDS = ["status", "provider_activity_id", "dispatch_config", "dispatched_at", "next_attempt_at",
                  "last_dispatch_error", "completed_at", "updated_at"]
FAILURE_FIELDS = ["status", "next_attempt_at", "last_dispatch_error", "failed_by", "updated_at"]


@dataclass
class DispatchReport:
    """What one pass (or one single dispatch) did. `no_config` due activities were skipped, not attempted."""

    tenants: int = 0
    claimed: int = 0
    dispatched: int = 0
    retrying: int = 0
    failed: int = 0
    unresolved: int = 0
    no_config: int = 0
    released: int = 0
    superseded: int = 0
    by_tenant: dict = field(default_factory=dict)

    COUNTERS = ("tenants", "claimed", "dispatched", "retrying", "failed", "unresolved", "no_config", "released",
                "superseded")

    def count(self, name, tenant_id, amount=1):
        setattr(self, name, getattr(self, name) + amount)
        per_tenant = self.by_tenant.setdefault(str(tenant_id), {})
        per_tenant[name] = per_tenant.get(name, 0) + amount

    def merge(self, other):
        for name in self.COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for tenant_id, counts in other.by_tenant.items():
            mine = self.by_tenant.setdefault(tenant_id, {})
            for name, amount in counts.items():
                mine[name] = mine.get(name, 0) + amount
        return self

    @property
    def attempted(self):
        return self.dispatched + self.retrying + self.failed

    @property
    def released_everything(self):
        """Every claim handed back unsent because its lease left no time for the call: the lease is too short."""
        return self.claimed > 0 and self.released == self.claimed and self.attempted == 0

    def as_dict(self):
        return {"tenants": self.tenants, "claimed": self.claimed, "dispatched": self.dispatched,
                "retrying": self.retrying, "failed": self.failed, "unresolved": self.unresolved,
                "noConfig": self.no_config, "released": self.released, "superseded": self.superseded}

    def summary(self):
        return " ".join(f"{key}={value}" for key, value in self.as_dict().items())


@dataclass(frozen=True)
class Claim:
    """An activity this worker holds; it calls the provider only before `send_by` (time.monotonic()), so a
    call ends before the lease does and no other worker can be sending the same activity meanwhile."""

    activity_id: object
    tenant_id: object
    attempt: int
    config: DispatchConfig
    send_by: float


def _send_by():
    lease = settings.DISPATCH_LEASE_SECONDS
    return time.monotonic() + lease - min(settings.DISPATCH_HTTP_TIMEOUT, lease / 2)


@dataclass(frozen=True)
class CallTiming:
    """When a provider call started and how long it took; None for a failure found before any call."""

    started_at: object
    duration_ms: int


class LeaseExpired(Exception):
    """Too little of the lease is left to make the call; the claim is handed back untouched."""


def lease_too_short_message(report):
    return (f"All {report.claimed} claimed activities were released unsent: DISPATCH_LEASE_SECONDS "
            f"({settings.DISPATCH_LEASE_SECONDS}) must exceed DISPATCH_HTTP_TIMEOUT "
            f"({settings.DISPATCH_HTTP_TIMEOUT:g}) so a provider call can end before its lease does")


# --- a lost database connection ------------------------------------------------------------------------------

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


# --- what is due -----------------------------------------------------------------------------------------------

def lead_seconds(config):
    value = (config.settings or {}).get("leadTimeSeconds") if config is not None else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return value
    return settings.DISPATCH_LEAD_SECONDS


def _not_waiting(now):
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _due_on_configured_channels(configs_by_channel, now):
    due = Q(pk__in=[])
    for channel, config in configs_by_channel.items():
        due |= Q(channel=channel, scheduled_at__lte=now + timedelta(seconds=lead_seconds(config)))
    return due


def _max_lead():
    leads = [settings.DISPATCH_LEAD_SECONDS]
    for config_settings in DispatchConfig.objects.filter(is_active=True).values_list("settings", flat=True):
        value = (config_settings or {}).get("leadTimeSeconds")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            leads.append(value)
    return max(leads)


def due_tenants(*, tenant_id=None, now=None):
    """[{tenant_id, due, oldest}] for active tenants with READY activities due now, most overdue first."""
    now = now or timezone.now()
    rows = Activity.objects.filter(status=READY, tenant__is_active=True,
                                   scheduled_at__lte=now + timedelta(seconds=_max_lead())).filter(_not_waiting(now))
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return list(rows.values("tenant_id").annotate(due=Count("id"), oldest=Min("scheduled_at"))
                .order_by("oldest", "tenant_id"))


def due_without_config_count(*, tenant_id, configs_by_channel, now=None):
    now = now or timezone.now()
    return (Activity.objects.filter(tenant_id=tenant_id, status=READY,
                                    scheduled_at__lte=now + timedelta(seconds=settings.DISPATCH_LEAD_SECONDS))
            .filter(_not_waiting(now)).exclude(channel__in=list(configs_by_channel)).count())


def _quotas(rows, *, batch_size, limit):
    """Per-tenant claim sizes: at most batch_size each; a `limit` is shared out round-robin."""
    wants = {row["tenant_id"]: min(row["due"], batch_size) for row in rows}
    if limit is None:
        return wants
    quotas = dict.fromkeys(wants, 0)
    left = limit
    while left > 0 and any(quotas[t] < wants[t] for t in wants):
        for tenant_id in wants:
            if left and quotas[tenant_id] < wants[tenant_id]:
                quotas[tenant_id] += 1
                left -= 1
    return quotas


# --- claiming --------------------------------------------------------------------------------------------------

def claim_due(*, tenant_id, configs_by_channel, quota, only_ids=None, new_since=None):
    """Claim up to `quota` due activities of one tenant in one short transaction; the locks end at commit.
    `new_since`: only those created since then and never attempted (see dispatch_activities_if_due)."""
    if quota <= 0 or not configs_by_channel:
        return []
    now = timezone.now()
    lease = settings.DISPATCH_LEASE_SECONDS
    due = (Activity.objects.filter(tenant_id=tenant_id, status=READY)
           .filter(_not_waiting(now)).filter(_due_on_configured_channels(configs_by_channel, now)))
    if only_ids is not None:
        due = due.filter(pk__in=only_ids)
    if new_since is not None:
        due = due.filter(created_at__gte=new_since, dispatch_attempt_count=0)
    with transaction.atomic():
        rows = list(due.order_by("scheduled_at", F("score").desc(nulls_last=True), "id")
                    .select_for_update(skip_locked=True)
                    .values_list("id", "channel", "dispatch_attempt_count")[:quota])
        if rows:
            Activity.objects.filter(pk__in=[row[0] for row in rows]).update(
                dispatch_attempt_count=F("dispatch_attempt_count") + 1,
                next_attempt_at=now + timedelta(seconds=lease), updated_at=now,
            )
    send_by = _send_by()
    return [Claim(activity_id=activity_id, tenant_id=tenant_id, attempt=count + 1,
                  config=configs_by_channel[channel], send_by=send_by)
            for activity_id, channel, count in rows]


def _hand_back(claim):
    """Undo a claim that never reached the provider: not an attempt, due again at once. Safe to repeat."""
    return Activity.objects.filter(pk=claim.activity_id, dispatch_attempt_count=claim.attempt).update(
        dispatch_attempt_count=F("dispatch_attempt_count") - 1, next_attempt_at=None, updated_at=timezone.now())


def hand_back_claims(claims, *, report):
    """Hand back claims left unsent by a lost connection, once it is back; if it stays away, their leases expire."""
    if not claims:
        return

    def hand_back_all(retried):
        with transaction.atomic():
            return [claim for claim in claims if _hand_back(claim)]

    try:
        released = with_reconnect(hand_back_all, doing=f"handing back {len(claims)} unsent claims")
    except TRANSIENT_DATABASE_ERRORS as exc:
        logger.error("Could not hand back %s unsent claims (%s); they are due again when their lease ends",
                     len(claims), describe_database_error(exc))
        raise
    for claim in released:
        report.count("released", claim.tenant_id)


@contextmanager
def handing_back_on_fault(groups, report):
    """Claims taken before the connection was lost go back instead of waiting out their lease."""
    try:
        yield
    except TRANSIENT_DATABASE_ERRORS:
        hand_back_claims([claim for group in groups for claim in group], report=report)
        raise


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


def process_claims(claims, *, report, actor=SYSTEM, concurrency=None):
    """Send claimed activities and record the outcomes. Returns [(claim, outcome)]."""
    if not claims:
        return []
    concurrency = min(concurrency or _concurrency(), len(claims))
    recorder = OutcomeRecorder(report=report, actor=actor)
    outcomes = []
    try:
        for claim, (outcome, timing) in _calls(_prepare(claims, report), concurrency=concurrency):
            outcomes.append((claim, outcome))
            recorder.add(claim, outcome, timing)
    except TRANSIENT_DATABASE_ERRORS:
        # The connection was lost before every claim was sent: record what was sent, hand back the rest.
        recorder.flush()
        sent = {claim.activity_id for claim, outcome in outcomes if not isinstance(outcome, LeaseExpired)}
        hand_back_claims([claim for claim in claims if claim.activity_id not in sent], report=report)
        raise
    recorder.flush()
    return outcomes


# --- recording outcomes ----------------------------------------------------------------------------------------

def _save_fields(activities, field_names):
    """Write these fields of many locked rows at once; their transitions were already checked by the FSM methods."""
    bulk_update(Activity, activities, field_names)


def backoff_seconds(attempt):
    """Exponential from DISPATCH_BACKOFF_SECONDS; the jitter spreads out a batch that failed together."""
    delay = settings.DISPATCH_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    return delay * random.uniform(0.8, 1.2)


class OutcomeRecorder:
    """Writes outcomes in short transactions of up to RECORD_BATCH activities each. A lost connection is
    reconnected and the same outcomes written again: a provider call that succeeded is never sent twice
    for want of its record (only if the database stays away do the leases expire into a re-send)."""

    def __init__(self, *, report, actor):
        self.report = report
        self.actor = actor
        self.successes = []
        self.failures = []

    def add(self, claim, outcome, timing=None):
        if isinstance(outcome, LeaseExpired):
            _hand_back(claim)
            self.report.count("released", claim.tenant_id)
            return
        if timing is None:  # failed before any call (credentials, payload): stamped once, so a retry writes it once
            timing = CallTiming(started_at=timezone.now(), duration_ms=0)
        target = self.failures if isinstance(outcome, ProviderError) else self.successes
        target.append((claim, outcome, timing))
        if len(self.successes) + len(self.failures) >= RECORD_BATCH:
            self.flush()

    def flush(self):
        for pending, apply in ((self.successes, self._succeeded), (self.failures, self._failed)):
            if pending:
                items = list(pending)
                pending.clear()  # written, or given up on: either way never written twice
                self._record(items, apply)

    def _record(self, items, apply):
        try:
            with_reconnect(lambda retried: self._record_once(items, apply, retried=retried),
                           doing=f"recording {len(items)} dispatch outcomes")
        except TRANSIENT_DATABASE_ERRORS as exc:
            logger.error("Could not record %s dispatch outcomes (%s); their leases expire and they are sent "
                         "again with the same Idempotency-Key", len(items), describe_database_error(exc))
            raise

    def _record_once(self, items, apply, *, retried):
        """One transaction. `retried`: an earlier try may have committed before its connection was lost."""
        ids = [claim.activity_id for claim, _, _ in items]
        now = timezone.now()
        counts = []
        with transaction.atomic():
            rows = {row.pk: row for row in Activity.objects.select_for_update().filter(pk__in=ids)
                    .only("id", "tenant_id", "type", "status", "dispatch_attempt_count", "provider_activity_id",
                          "completed_at", "failed_by", "created_at")
                    .order_by("pk")}
            recorded_failures = _recorded_failure_counts(ids) if retried else None
            recorded_attempts = _recorded_attempts(ids) if retried else set()
            changed, events, fields, attempts = [], [], set(), []
            for claim, outcome, timing in items:
                if claim.activity_id in rows:
                    attempt = _attempt_row(claim, outcome, timing, now)
                    if (attempt.activity_id, attempt.attempt, attempt.started_at) not in recorded_attempts:
                        attempts.append(attempt)
                activity = rows.get(claim.activity_id)
                with log_context(tenant_id=claim.tenant_id, activity_id=claim.activity_id):
                    counter, written = apply(activity, claim, outcome, now, events, recorded_failures)
                counts.append((counter, claim, activity))
                if written:
                    activity.updated_at = now
                    changed.append(activity)
                    fields.update(written)
            if changed:
                _save_fields(changed, sorted(fields))
            if events:
                save_status_events(events)
            if attempts:
                bulk_insert(DispatchAttempt, attempts)
        for counter, claim, activity in counts:  # after the commit: a try that rolled back counts nothing
            self.report.count(counter, claim.tenant_id)
            metrics.dispatch_attempt(provider=claim.config.provider.code, channel=claim.config.channel,
                                     outcome=counter, dispatched_at=now,
                                     created_at=activity.created_at if counter == "dispatched" and activity else None)

    def _event(self, activity, event_type, to_status, now, *, error=None, offset=0):
        return build_status_event(
            activity=activity, event_type=event_type, from_status=READY, to_status=to_status, actor=self.actor,
            error_code=error.code if error else "", error_message=error.message[:2000] if error else "",
            occurred_at=now + timedelta(microseconds=offset),
        )

    def _succeeded(self, activity, claim, receipt, now, events, recorded_failures):
        provider_activity_id = str(receipt.provider_activity_id)[:255]
        if (recorded_failures is not None and activity is not None
                and activity.status in (ActivityStatus.DISPATCHED, ActivityStatus.COMPLETED)
                and activity.provider_activity_id == provider_activity_id):
            return "dispatched", None  # the try that lost its connection had committed this very outcome
        if activity is None or activity.status != READY:
            # Canceled (or taken over) while the call was in flight: the provider has it, our record stays.
            logger.warning("Provider accepted activity %s as %s, but it is no longer READY (%s)",
                           claim.activity_id, receipt.provider_activity_id, getattr(activity, "status", "deleted"))
            return "superseded", None
        activity.dispatch_succeeded()
        activity.provider_activity_id = provider_activity_id
        activity.dispatch_config_id = claim.config.pk
        activity.dispatched_at = now
        activity.next_attempt_at = None
        activity.last_dispatch_error = ""
        events.append(self._event(activity, EventType.DISPATCH_SUCCESS, ActivityStatus.DISPATCHED, now))
        if activity.type == ActivityType.MESSAGE and (claim.config.settings or {}).get("completeOnAccept") is True:
            # SPEC 6.2: this provider sends no receipts; its acceptance is the delivery.
            activity.delivery_confirmed()
            activity.completed_at = now
            events.append(build_status_event(
                activity=activity, event_type=EventType.COMPLETED, from_status=ActivityStatus.DISPATCHED,
                to_status=ActivityStatus.COMPLETED, actor=self.actor, occurred_at=now + timedelta(microseconds=1),
                error_message="completeOnAccept: the provider accepted the message"))
        return "dispatched", SUCCESS_FIELDS

    def _failed(self, activity, claim, error, now, events, recorded_failures):
        ours = activity is not None and activity.dispatch_attempt_count == claim.attempt
        if ours and recorded_failures is not None and recorded_failures.get(activity.pk, 0) >= claim.attempt:
            # The try that lost its connection had committed this attempt's failure.
            return ("retrying" if activity.status == READY else "failed"), None
        if not ours or activity.status != READY:
            # Another worker claimed it after our lease ran out: its outcome is the one that counts.
            return "superseded", None
        verdict = classify(error)
        logger.warning("Dispatch attempt %s of activity %s failed (%s): %s %s", claim.attempt, claim.activity_id,
                       verdict.outcome, error.code, error.message)
        events.append(self._event(activity, EventType.DISPATCH_ATTEMPT_FAILED, READY, now, error=error))
        activity.last_dispatch_error = f"{error.code}: {error.message}"[:2000]
        if verdict.permanent or claim.attempt >= settings.DISPATCH_MAX_ATTEMPTS:
            activity.dispatch_exhausted()
            activity.next_attempt_at = None
            events.append(self._event(activity, EventType.DISPATCH_FAILED, ActivityStatus.FAILED, now, error=error,
                                      offset=1))
            return "failed", FAILURE_FIELDS
        activity.next_attempt_at = now + next_attempt_delay(verdict, backoff=backoff_seconds(claim.attempt))
        return "retrying", FAILURE_FIELDS


def _recorded_failure_counts(activity_ids):
    """{activity id: DISPATCH_ATTEMPT_FAILED events since its latest FORCE_RETRY}: attempt N's failure is recorded
    once there are N (a force retry starts the attempts again from 1)."""
    counts = {}
    for activity_id, event_type in (StatusEvent.objects.filter(
            activity_id__in=activity_ids,
            event_type__in=[EventType.DISPATCH_ATTEMPT_FAILED, EventType.FORCE_RETRY])
            .order_by("occurred_at").values_list("activity_id", "event_type")):
        counts[activity_id] = 0 if event_type == EventType.FORCE_RETRY else counts.get(activity_id, 0) + 1
    return counts


def _recorded_attempts(activity_ids):
    """(activity id, attempt, started_at) of the attempt rows already written: a retried record skips them."""
    return set(DispatchAttempt.objects.filter(activity_id__in=activity_ids)
               .values_list("activity_id", "attempt", "started_at"))


def _attempt_row(claim, outcome, timing, now):
    """The DispatchAttempt for one recorded outcome (SPEC 11.1); a failure found before any call lasts 0 ms."""
    started_at = timing.started_at if timing else now
    duration_ms = timing.duration_ms if timing else 0
    common = {"activity_id": claim.activity_id, "attempt": claim.attempt, "dispatch_config_id": claim.config.pk,
              "started_at": started_at, "duration_ms": duration_ms}
    if isinstance(outcome, ProviderError):
        return DispatchAttempt(**common, outcome=classify(outcome).outcome, http_status=outcome.status_code,
                               error_code=outcome.code[:64], error_message=outcome.message[:2000])
    return DispatchAttempt(**common, outcome=AttemptOutcome.ACCEPTED, http_status=outcome.status_code,
                           provider_activity_id=str(outcome.provider_activity_id)[:255])


# --- the three entry points ------------------------------------------------------------------------------------

def _interleave(groups):
    """Round-robin over tenants: one of each in turn, so one tenant's backlog never starves another."""
    return [claim for turn in zip_longest(*groups) for claim in turn if claim is not None]


def dispatch_pass(*, tenant=None, limit=None):
    """One pass over every tenant (or one) with due work. Returns a DispatchReport."""
    tenant_id = getattr(tenant, "pk", tenant)
    rows = due_tenants(tenant_id=tenant_id)
    report = DispatchReport(tenants=len(rows))
    quotas = _quotas(rows, batch_size=settings.DISPATCH_BATCH_SIZE, limit=limit)
    groups = []
    with handing_back_on_fault(groups, report):
        for row in rows:
            configs = active_configs_by_channel(tenant_id=row["tenant_id"])
            no_config = due_without_config_count(tenant_id=row["tenant_id"], configs_by_channel=configs)
            if no_config:
                report.count("no_config", row["tenant_id"], no_config)
            claims = claim_due(tenant_id=row["tenant_id"], configs_by_channel=configs,
                               quota=quotas[row["tenant_id"]])
            if claims:
                report.count("claimed", row["tenant_id"], len(claims))
                groups.append(claims)
    process_claims(_interleave(groups), report=report)
    report_mock_receipts(tenant_id=tenant_id)
    if report.claimed or report.no_config:
        logger.info("Dispatch pass: %s", report.summary())
    if report.released_everything:
        logger.error("Dispatch pass: %s", lease_too_short_message(report))
    return report


def dispatch_activities_if_due(*, activity_ids, sweep=0):
    """Dispatch these activities now if they are due and nobody else holds them (on-commit and Celery path).

    `sweep` (the Celery task): with them, claim up to that many other new due activities of their tenants -
    created in the last NEW_ACTIVITY_SECONDS and never attempted, so each has its own task queued or running. A
    worker behind a queue of one-activity tasks then sends them in one batch, and their own tasks find them
    claimed and end after one query. Older or retried work stays with the passes and their per-tenant batches."""
    report = DispatchReport()
    by_tenant = {}
    for activity_id, tenant_id in (Activity.objects.filter(pk__in=list(activity_ids), status=READY)
                                   .values_list("id", "tenant_id")):
        by_tenant.setdefault(tenant_id, []).append(activity_id)
    new_since = timezone.now() - timedelta(seconds=NEW_ACTIVITY_SECONDS)
    groups = []
    with handing_back_on_fault(groups, report):
        for tenant_id, ids in by_tenant.items():
            configs = active_configs_by_channel(tenant_id=tenant_id)
            claims = claim_due(tenant_id=tenant_id, configs_by_channel=configs, quota=len(ids), only_ids=ids)
            if claims and sweep > 0:
                claims += claim_due(tenant_id=tenant_id, configs_by_channel=configs, quota=sweep,
                                    new_since=new_since)
            if claims:
                report.count("claimed", tenant_id, len(claims))
                groups.append(claims)
    process_claims(_interleave(groups), report=report)
    if report.released_everything:
        logger.error("On-commit dispatch: %s", lease_too_short_message(report))
    return report


def dispatch_activity_if_due(*, activity_id):
    return dispatch_activities_if_due(activity_ids=[activity_id])


def _claimed_by_a_pass(activity_id, *, attempts, next_attempt_at, now):
    """A pass holds an unexpired lease whose attempt has no recorded outcome yet (a backoff always has one)."""
    if next_attempt_at is None or next_attempt_at <= now:
        return False
    recorded = _recorded_failure_counts([activity_id]).get(activity_id, 0)
    return attempts > recorded


def dispatch_now(*, activity, actor):
    """Dispatch one READY TASK synchronously (API and admin). A provider failure counts as an attempt -> 502."""
    if activity.type != ActivityType.TASK:
        raise IllegalTransition("Only TASK activities can be dispatched this way")
    if activity.status != READY:
        raise IllegalTransition(f"Only READY activities can be dispatched; this one is {activity.status}")
    config = active_config_for(tenant_id=activity.tenant_id, channel=activity.channel)
    if config is None:
        raise NotFound(f"No active dispatch config for channel {activity.channel}")
    now = timezone.now()
    with transaction.atomic():
        locked = Activity.objects.select_for_update().filter(pk=activity.pk).values_list(
            "status", "dispatch_attempt_count", "next_attempt_at").first()
        if locked is None or locked[0] != READY:
            raise IllegalTransition("Only READY activities can be dispatched; this one changed meanwhile")
        if _claimed_by_a_pass(activity.pk, attempts=locked[1], next_attempt_at=locked[2], now=now):
            raise Conflict("A dispatcher is sending this activity right now; try again once its attempt is recorded")
        Activity.objects.filter(pk=activity.pk).update(
            dispatch_attempt_count=F("dispatch_attempt_count") + 1, updated_at=now,
            next_attempt_at=now + timedelta(seconds=settings.DISPATCH_LEASE_SECONDS))
    claim = Claim(activity_id=activity.pk, tenant_id=activity.tenant_id, attempt=locked[1] + 1, config=config,
                  send_by=_send_by())
    report = DispatchReport(claimed=1)
    outcomes = process_claims([claim], report=report, actor=actor, concurrency=1)
    if report.unresolved:
        raise ValidationFailed("Resolution failed right before dispatch; the activity is now UNRESOLVED")
    if not outcomes or report.superseded:
        raise IllegalTransition("The activity changed while it was being dispatched")
    outcome = outcomes[0][1]
    if isinstance(outcome, ProviderError):
        raise UpstreamFailed(f"The provider failed: {outcome.message}",
                             extra={"error_code": outcome.code, "provider_status_code": outcome.status_code})
    if isinstance(outcome, LeaseExpired):
        raise UpstreamFailed("The dispatch lease expired before the provider could be called")
    return Activity.objects.get(pk=activity.pk)
