"""Bulk operations by selection (SPEC 11.4): cancel, retry resolution or force a dispatch retry of many activities.

The selection is a list of ids (at most MAX_BULK_IDS) or the activity list's filters; at most MAX_BULK_MATCHED
activities per call. Each activity changes in its own transaction through the single-activity service (the same
lock, state check and event as one PATCH), so a bulk call racing the dispatcher or a result never changes an
activity twice nor leaves it half changed. The API, the admin actions and the commands all call `activity_bulk_operate`.
"""
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from activities import selectors
from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from activities.services.resolution import activity_retry_resolution
from activities.services.transitions import activity_cancel, activity_force_retry_dispatch
from reten import errors

MAX_BULK_IDS = 1000
MAX_BULK_MATCHED = 10000
CHANGED = "CHANGED"
WOULD_CHANGE = "WOULD_CHANGE"
NOT_FOUND = "NOT_FOUND"
STILL_UNRESOLVED = "STILL_UNRESOLVED"
FAILED_BY_RESULT = "FAILED_BY_RESULT"


@dataclass(frozen=True)
class BulkOperation:
    """name: as the API says it; needs: the status it acts on; run: the single-activity service."""

    name: str
    needs: str
    run: Callable


def _cancel(activity, actor, reason):
    activity_cancel(activity=activity, actor=actor, reason=reason)
    return CHANGED


def _retry_resolution(activity, actor, reason):
    retried = activity_retry_resolution(activity=activity, actor=actor)
    return CHANGED if retried.status == ActivityStatus.READY else STILL_UNRESOLVED


def _force_retry(activity, actor, reason):
    activity_force_retry_dispatch(activity=activity, actor=actor, reason=reason)
    return CHANGED


OPERATIONS = {
    "cancel": BulkOperation("cancel", ActivityStatus.READY, _cancel),
    "retry_resolution": BulkOperation("retry_resolution", ActivityStatus.UNRESOLVED, _retry_resolution),
    "force_retry_dispatch": BulkOperation("force_retry_dispatch", ActivityStatus.FAILED, _force_retry),
}


@dataclass
class BulkResult:
    matched: int = 0
    changed: int = 0
    skipped: Counter = field(default_factory=Counter)
    results: list | None = None  # [{id, outcome}] when the selection was ids

    def as_dict(self):
        return {"matched": self.matched, "changed": self.changed, "skipped": dict(sorted(self.skipped.items())),
                "results": self.results}


def skip_reason(operation: BulkOperation, status: str, failed_by: str) -> str | None:
    """Why `operation` leaves an activity in this state alone — the status it is in (COMPLETED, DISPATCHED...), or
    FAILED_BY_RESULT for a force retry of a failure a result, receipt or override reported — or None."""
    if status != operation.needs:
        return status
    if operation.name == "force_retry_dispatch" and failed_by != EventType.DISPATCH_FAILED:
        return FAILED_BY_RESULT
    return None


def bulk_selection(*, tenant, ids=None, filters=None):
    """The tenant's activities named by `ids` or matching the list's `filters` (plus `failed_since`, the moment
    after which dispatch gave up). Always starts from the tenant: an id or a filter never reaches another's rows."""
    if ids is not None:
        return Activity.objects.for_tenant(tenant).filter(pk__in=ids).order_by("created_at", "id")
    filters = dict(filters or {})
    failed_since = filters.pop("failed_since", None)
    queryset = selectors.activity_list(tenant=tenant, filters=filters)
    if failed_since is not None:
        queryset = queryset.filter(Exists(StatusEvent.objects.filter(
            activity=OuterRef("pk"), event_type=EventType.DISPATCH_FAILED, occurred_at__gte=failed_since)))
    return queryset


def activity_bulk_operate(*, tenant, actor, operation: str, ids=None, filters=None, reason: str = "",
                          dry_run: bool = False) -> BulkResult:
    """Run one operation over a selection: ids (<= MAX_BULK_IDS) or filters, never both."""
    if operation not in OPERATIONS:
        raise errors.ValidationFailed.of({"operation": [f"Must be one of {', '.join(OPERATIONS)}."]})
    spec = OPERATIONS[operation]
    if (ids is None) == (filters is None):
        raise errors.ValidationFailed.of({"ids": ["Send either ids or filter, not both and not neither."]})
    if ids is not None:
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise errors.ValidationFailed.of({"ids": ["Name at least one activity."]})
        if len(ids) > MAX_BULK_IDS:
            raise errors.ValidationFailed.of({"ids": [f"At most {MAX_BULK_IDS} ids per call."]})
    rows = list(bulk_selection(tenant=tenant, ids=ids, filters=filters)
                .values_list("pk", "status", "failed_by")[:MAX_BULK_MATCHED + 1])
    if len(rows) > MAX_BULK_MATCHED:
        raise errors.ValidationFailed.of({"filter": [f"Matches more than {MAX_BULK_MATCHED} activities; narrow "
                                                     "it (status, channel, dates) and call again."]})
    result = BulkResult(matched=len(rows))
    outcomes = {}
    for pk, status, failed_by in rows:
        reason_skipped = skip_reason(spec, status, failed_by)
        if reason_skipped is None and dry_run:
            outcome = WOULD_CHANGE
        elif reason_skipped is None:
            outcome = _run_one(spec, pk, actor, reason)
        else:
            outcome = reason_skipped
        outcomes[pk] = outcome
        if outcome in (CHANGED, WOULD_CHANGE):
            result.changed += 1
        else:
            result.skipped[outcome] += 1
    if ids is not None:
        found = {str(pk) for pk in outcomes}
        missing = [activity_id for activity_id in ids if str(activity_id) not in found]
        if missing:
            result.skipped[NOT_FOUND] += len(missing)
        by_id = {str(pk): outcome for pk, outcome in outcomes.items()}
        result.results = [{"id": str(activity_id), "outcome": by_id.get(str(activity_id), NOT_FOUND)}
                          for activity_id in ids]
    return result


def _run_one(spec: BulkOperation, pk, actor, reason):
    """The single-activity service, in its own transaction; a state that changed since it was read is a skip."""
    try:
        return spec.run(Activity(pk=pk), actor, reason)
    except errors.IllegalTransition:
        now = Activity.objects.filter(pk=pk).values_list("status", "failed_by").first()
        if now is None:
            return NOT_FOUND
        return skip_reason(spec, *now) or "CHANGED_MEANWHILE"
