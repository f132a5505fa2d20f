"""Bulk operations by selection (SPEC 11.4): cancel, retry resolution or force a dispatch retry of many activities.

The selection is a list of ids (at most MAX_BULK_IDS) or the activity list's filters; at most MAX_BULK_MATCHED
activities per call. Cancel and force retry are set-based: CHUNK_SIZE activities per transaction, each chunk one
locking read, one UPDATE, one INSERT of an event per changed activity and one webhook-outbox call
(`transitions.transition_many`), under the very Move (model transition, resets, refusal) the single-activity
service runs — so a bulk call racing the dispatcher or a result never changes an activity twice nor leaves it half
changed, and a skip says the status the locked row was in. Retry resolution stays one activity per transaction
through its service: it resolves each activity's targets and attributes (client hooks are network calls) outside
any lock. The API, the admin actions and the commands all call `activity_bulk_operate`.
"""
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from activities import selectors
from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from activities.services.resolution import activity_retry_resolution
from activities.services.transitions import (
    CANCEL,
    FORCE_RETRY,
    RETRY_RESOLUTION,
    Move,
    transition_many,
)
from reten import errors

MAX_BULK_IDS = 1000
MAX_BULK_MATCHED = 10000
CHUNK_SIZE = 1000  # activities per transaction of the set-based path (fewer commits; the locks stay short)
CHANGED = "CHANGED"
WOULD_CHANGE = "WOULD_CHANGE"
NOT_FOUND = "NOT_FOUND"
STILL_UNRESOLVED = "STILL_UNRESOLVED"


@dataclass(frozen=True)
class BulkOperation:
    """name: as the API says it; move: the rule (and, without `run`, the set-based change); run: the
    single-activity service, for an operation that changes one activity per transaction."""

    name: str
    move: Move
    run: Callable | None = None


def _retry_resolution(activity, actor, reason):
    retried = activity_retry_resolution(activity=activity, actor=actor)
    return CHANGED if retried.status == ActivityStatus.READY else STILL_UNRESOLVED


OPERATIONS = {
    "cancel": BulkOperation("cancel", CANCEL),
    "retry_resolution": BulkOperation("retry_resolution", RETRY_RESOLUTION, run=_retry_resolution),
    "force_retry_dispatch": BulkOperation("force_retry_dispatch", FORCE_RETRY),
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


def refusal_of(operation: BulkOperation, status: str, failed_by: str, *, verdicts: dict) -> str | None:
    """Why `operation` leaves an activity in this state alone — the status it is in (COMPLETED, DISPATCHED...), or
    FAILED_BY_RESULT for a force retry of a failure a result, receipt or override reported — or None: the Move's
    rule (the model transition's sources and conditions), judged once per (status, failed_by) in `verdicts`."""
    key = (status, failed_by)
    if key not in verdicts:
        verdicts[key] = operation.move.refusal(Activity(status=status, failed_by=failed_by))
    return verdicts[key]


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
    outcomes, to_change, verdicts = {}, [], {}
    for pk, status, failed_by in rows:
        refused = refusal_of(spec, status, failed_by, verdicts=verdicts)
        outcomes[pk] = refused or (WOULD_CHANGE if dry_run else CHANGED)
        if refused is None and not dry_run:
            to_change.append(pk)
    outcomes.update(_change(spec, to_change, actor, reason, verdicts))
    for outcome in outcomes.values():
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


def _change(spec: BulkOperation, pks, actor, reason, verdicts) -> dict:
    """{pk: outcome} of changing these activities: set-based in chunks (a Move), or one by one (`run`)."""
    if spec.run is not None:
        return {pk: _run_one(spec, pk, actor, reason, verdicts) for pk in pks}
    outcomes = {}
    for start in range(0, len(pks), CHUNK_SIZE):
        chunk = pks[start:start + CHUNK_SIZE]
        locked = transition_many(spec.move, ids=chunk, actor=actor, reason=reason)
        for pk in chunk:
            outcomes[pk] = NOT_FOUND if pk not in locked else (locked[pk] or CHANGED)
    return outcomes


def _run_one(spec: BulkOperation, pk, actor, reason, verdicts):
    """The single-activity service, in its own transaction; a state that changed since it was read is a skip."""
    try:
        return spec.run(Activity(pk=pk), actor, reason)
    except errors.IllegalTransition:
        now = Activity.objects.filter(pk=pk).values_list("status", "failed_by").first()
        if now is None:
            return NOT_FOUND
        return refusal_of(spec, *now, verdicts=verdicts) or "CHANGED_MEANWHILE"
