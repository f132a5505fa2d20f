"""Recording outcomes: every outcome in short transactions of its own (up to RECORD_BATCH activities each), the
status events and DispatchAttempt rows with them, the backoff of a retry; an outcome superseded meanwhile (a
cancel, another worker's claim after our lease ran out) is ignored. A lost connection is reconnected and the same
outcomes written again without writing anything twice."""
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activities.models import Activity, ActivityStatus, ActivityType, EventType, StatusEvent
from activities.services.events import build_status_event, save_status_events
from dispatch.models import AttemptOutcome, DispatchAttempt
from dispatch.protocols import ProviderError
from dispatch.services.classification import classify, next_attempt_delay
from dispatch.services.dispatcher.claims import READY, _hand_back
from dispatch.services.dispatcher.faults import TRANSIENT_DATABASE_ERRORS, describe_database_error, with_reconnect
from dispatch.services.dispatcher.sending import CallTiming, LeaseExpired
from reten import metrics
from reten.db import bulk_insert, bulk_update
from reten.logging import log_context

logger = logging.getLogger("reten.dispatch")

RECORD_BATCH = 100
SUCCESS_FIELDS = ["status", "provider_activity_id", "dispatch_config", "dispatched_at", "next_attempt_at",
                  "last_dispatch_error", "completed_at", "updated_at"]
FAILURE_FIELDS = ["status", "next_attempt_at", "last_dispatch_error", "failed_by", "updated_at"]


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
