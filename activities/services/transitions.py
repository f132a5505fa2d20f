"""Transition services: lock the row, check the move (the model's @transition), change, write the event.

A manual move (cancel, force retry) is described once, as a `Move`: which @transition method of Activity it is
(its sources and conditions are the rule), the fields it writes, what the service resets beside it and how a
refusal reads. The single-activity service (`activity_cancel`, `activity_force_retry_dispatch`) and the set-based
path of the bulk operations (`transition_many`) both run a Move, so they cannot disagree on what is allowed.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from activities.models import Activity, EventType
from activities.services.events import build_status_event, record_status_event, save_status_events
from reten import errors

FAILED_BY_RESULT = "FAILED_BY_RESULT"


def lock_activity(activity):
    """The activity's row, locked until the end of the current transaction (a fresh read: status may differ). It
    keeps the Tenant the caller's copy carried (the webhook outbox reads its flag from it instead of asking)."""
    locked = Activity.objects.select_for_update().get(pk=activity.pk)
    if Activity.tenant.is_cached(activity):
        locked.tenant = activity.tenant
    return locked


def illegal(activity, action, rule):
    return errors.IllegalTransition(f"Cannot {action}: the activity is {activity.status}; {rule}")


def refusal(method: str, activity, *, unmet: str = "") -> str | None:
    """Why the @transition `method` of Activity refuses this activity, or None when it may proceed: the status it
    is in when that is not one of the transition's sources, else `unmet` (a condition of the transition failed).
    Only django-fsm's metadata decides, so every caller applies the model's own rule."""
    bound = getattr(activity, method)
    if can_proceed(bound):
        return None
    if can_proceed(bound, check_conditions=False):
        return unmet
    return activity.status


@dataclass(frozen=True)
class Move:
    """A manual transition: the Activity @transition `method`, the event it records, the fields it writes (its
    own and those in `resets`, set beside it by the service), and the refusal texts."""

    method: str
    event_type: str
    action: str
    rule: str
    fields: tuple[str, ...] = ("status",)
    resets: dict = field(default_factory=dict)
    unmet: str = ""  # refusal reason when the status is a source but a condition of the transition is not met
    unmet_message: str = ""

    def refusal(self, activity) -> str | None:
        return refusal(self.method, activity, unmet=self.unmet)

    def error(self, activity, refused) -> errors.IllegalTransition:
        if refused == self.unmet and self.unmet_message:
            return errors.IllegalTransition(self.unmet_message)
        return illegal(activity, self.action, self.rule)

    def apply(self, activity) -> str:
        """The model transition and the resets, in memory; returns the status it left."""
        from_status = activity.status
        getattr(activity, self.method)()
        for name, value in self.resets.items():
            setattr(activity, name, value)
        return from_status


CANCEL = Move(method="cancel", event_type=EventType.CANCELED, action="cancel",
              rule="only READY activities can be canceled")
FORCE_RETRY = Move(
    method="force_retry_dispatch", event_type=EventType.FORCE_RETRY, action="force a retry",
    rule="only FAILED activities whose dispatch failed can be retried",
    fields=("status", "failed_by", "dispatch_attempt_count", "next_attempt_at"),
    resets={"dispatch_attempt_count": 0, "next_attempt_at": None},  # a fresh round of attempts (SPEC 11.3)
    unmet=FAILED_BY_RESULT,
    unmet_message="Cannot force a retry: this activity failed because a result, a receipt or an override said so, "
                  "not because dispatch gave up")

# Only its rule is shared here: the service (services/resolution.py) resolves what is pending before it moves.
RETRY_RESOLUTION = Move(method="resolution_retried", event_type=EventType.RESOLUTION_RETRY_SUCCESS,
                        action="retry resolution", rule="only UNRESOLVED activities can be retried")


def run_move(move: Move, *, activity, actor, reason=""):
    """One activity, in its own transaction: lock, check, change, event (the reason, if given, is on the event)."""
    with transaction.atomic():
        locked = lock_activity(activity)
        refused = move.refusal(locked)
        if refused is not None:
            raise move.error(locked, refused)
        from_status = move.apply(locked)
        locked.save(update_fields=[*move.fields, "updated_at"])
        record_status_event(activity=locked, event_type=move.event_type, from_status=from_status,
                            to_status=locked.status, actor=actor, error_message=reason or "")
    return locked


def transition_many(move: Move, *, ids, actor, reason="") -> dict:
    """Many activities in ONE transaction, set-based: one SELECT ... FOR UPDATE of every row (in primary-key order,
    like every other locker of several activities, so two of them never deadlock), the Move's rule on each locked
    row, one UPDATE per (source status, written values) — one in practice — one INSERT of one event per changed
    activity and one call of the status-event hooks (the webhook outbox) for them all.

    Returns {pk: None when changed, else the refusal reason as the locked row says it}; an id whose row is gone
    is absent. Blocking locks, as the single-activity service takes: a dispatcher recording an outcome on one of
    these rows finishes first, and the row is then judged as it committed."""
    with transaction.atomic():
        rows = list(Activity.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk")
                    .only("id", "tenant_id", "status", "failed_by", *move.fields))
        now = timezone.now()
        outcomes, groups = {}, defaultdict(list)
        for row in rows:
            refused = outcomes[row.pk] = move.refusal(row)
            if refused is None:
                from_status = move.apply(row)
                row.updated_at = now
                groups[(from_status, tuple(getattr(row, name) for name in move.fields))].append(row)
        events = []
        for (from_status, values), changed in groups.items():
            written = (Activity.objects.filter(pk__in=[row.pk for row in changed], status=from_status)
                       .update(**dict(zip(move.fields, values, strict=True)), updated_at=now))
            if written != len(changed):  # the rows are locked: only a bug elsewhere gets here
                raise RuntimeError(f"{move.method}: {written} of {len(changed)} locked rows updated")
            events += [build_status_event(activity=row, event_type=move.event_type, from_status=from_status,
                                          to_status=row.status, actor=actor, error_message=reason or "",
                                          occurred_at=now) for row in changed]
        save_status_events(events)
    return outcomes


def activity_cancel(*, activity, actor, reason=""):
    """READY -> CANCELED with a CANCELED event (the reason, if given, is kept on the event)."""
    return run_move(CANCEL, activity=activity, actor=actor, reason=reason)


def activity_force_retry_dispatch(*, activity, actor, reason=""):
    """FAILED (by dispatch) -> READY with a fresh round of attempts and a FORCE_RETRY event (SPEC 11.3)."""
    return run_move(FORCE_RETRY, activity=activity, actor=actor, reason=reason)

