"""Dispatch right after the creation of an activity that is already due (called on commit by activities).

With a broker (CELERY_BROKER_URL) the activity is queued for a Celery worker. Without one it is sent from
a small background thread pool in this process, so the HTTP response that created it never waits for the
provider (reten.background: its threads keep their database connections between jobs). Either way the claim is
the dispatcher's own (skip_locked, lease), so a concurrent pass or command loop cannot send it twice.

If the broker cannot be reached, the activity is sent from the same in-process pool instead, and for
BROKER_RETRY_AFTER_SECONDS this process does not try the broker again (every create would otherwise wait for the
refused connection); after that the next due activity tries it again.
"""
import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from activities.models import Activity, ActivityStatus
from dispatch.selectors import active_configs_by_channel
from dispatch.services.dispatcher import dispatch_activities_if_due, lead_seconds, surviving_database_faults
from reten.background import BackgroundPool

logger = logging.getLogger("reten.dispatch")

BACKGROUND_WORKERS = 2
BROKER_RETRY_AFTER_SECONDS = 5.0
_lock = threading.Lock()
_executor = None
_broker_down_until = 0.0  # time.monotonic() before which the broker is not tried (it just refused us)


def broker_configured():
    return bool(settings.CELERY_BROKER_URL)


def background_executor():
    global _executor
    with _lock:
        if _executor is None:
            _executor = BackgroundPool(BACKGROUND_WORKERS, name="dispatch-on-commit")
        return _executor


def _dispatch_in_background(activity_ids):
    try:
        report = surviving_database_faults(lambda: dispatch_activities_if_due(activity_ids=activity_ids),
                                           doing=f"the on-commit dispatch of {len(activity_ids)} activities")
        if report is not None:
            logger.info("On-commit dispatch of %s activities: %s", len(activity_ids), report.summary())
        return report
    except Exception:
        logger.exception("On-commit dispatch failed; the next pass will retry those activities")
        return None


def due_activity_ids(activities, *, now=None):
    """The ids of those of `activities` that are READY, due (lead included) and have an active config: Activity
    instances just committed (the creation hook) are judged as they are, ids are read. One query per tenant more.
    Only a filter: the claim checks it all again under its lock, so a stale instance costs a job, never a send."""
    now = now or timezone.now()
    rows = [(a.pk, a.tenant_id, a.channel, a.scheduled_at) for a in activities
            if isinstance(a, Activity) and a.status == ActivityStatus.READY
            and (a.next_attempt_at is None or a.next_attempt_at <= now)]
    ids = [a for a in activities if not isinstance(a, Activity)]
    if ids:
        rows += (Activity.objects.filter(pk__in=ids, status=ActivityStatus.READY)
                 .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                 .values_list("id", "tenant_id", "channel", "scheduled_at"))
    configs = {}
    due = []
    for activity_id, tenant_id, channel, scheduled_at in rows:
        if tenant_id not in configs:
            configs[tenant_id] = active_configs_by_channel(tenant_id=tenant_id)
        config = configs[tenant_id].get(channel)
        if config is not None and scheduled_at <= now + timedelta(seconds=lead_seconds(config)):
            due.append(activity_id)
    return due


def enqueue_many_if_due(activities):
    """Queue (Celery) or start (in-process thread) the dispatch of those activities (instances or ids) that are due
    now.

    Returns the Celery AsyncResult, the background Future (no broker, or the broker is down), or None when none
    is due.
    """
    global _broker_down_until
    ids = due_activity_ids(activities)
    if not ids:
        return None
    if broker_configured() and time.monotonic() >= _broker_down_until:
        from dispatch.tasks import dispatch_activities

        try:
            return dispatch_activities.apply_async(args=[[str(i) for i in ids]], retry=False)
        except Exception:
            _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
            logger.warning("Could not queue the dispatch of %s; sending in-process, and not trying the broker "
                           "again for %gs", ", ".join(str(i) for i in ids[:5]) + ("..." if len(ids) > 5 else ""),
                           BROKER_RETRY_AFTER_SECONDS, exc_info=True)
    return background_executor().submit(_dispatch_in_background, ids)


def enqueue_if_due(activity_id):
    """The on-commit hook for one activity created already due (see enqueue_many_if_due)."""
    return enqueue_many_if_due([activity_id])
