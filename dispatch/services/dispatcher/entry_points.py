"""The entry points: a pass over the tenants with due work (command, `--loop`, Celery), the on-commit dispatch of
activities created already due, and the synchronous dispatch of one TASK (API and admin). Each claims
(claims.py), then `process_claims` sends (sending.py) and records (recording.py)."""
import logging
from datetime import timedelta
from itertools import zip_longest

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from activities.models import Activity, ActivityType
from dispatch.protocols import ProviderError
from dispatch.selectors import active_config_for, active_configs_by_channel
from dispatch.services.dispatcher.claims import (
    READY,
    Claim,
    _quotas,
    _send_by,
    claim_due,
    due_tenants,
    due_without_config_count,
    hand_back_claims,
    handing_back_on_fault,
)
from dispatch.services.dispatcher.faults import TRANSIENT_DATABASE_ERRORS
from dispatch.services.dispatcher.recording import OutcomeRecorder, _recorded_failure_counts
from dispatch.services.dispatcher.report import DispatchReport, lease_too_short_message
from dispatch.services.dispatcher.sending import LeaseExpired, _calls, _concurrency, _prepare
from dispatch.services.mock_receipts import report_mock_receipts
from reten.errors import Conflict, IllegalTransition, NotFound, UpstreamFailed, ValidationFailed
from tenants.actors import SYSTEM

logger = logging.getLogger("reten.dispatch")

# "New" for the sweep of dispatch_activities_if_due: created this recently (its on-commit task may still be queued).
NEW_ACTIVITY_SECONDS = 120


# --- sending claims and recording their outcomes ---------------------------------------------------------------

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
