"""Transition services: lock the row, check the move (the model's @transition), change, write the event."""
from django.db import transaction
from django_fsm import can_proceed

from activities.models import Activity, ActivityStatus, EventType
from activities.services.events import record_status_event
from reten import errors


def lock_activity(activity):
    """The activity's row, locked until the end of the current transaction (a fresh read: status may differ)."""
    return Activity.objects.select_for_update().get(pk=activity.pk)


def illegal(activity, action, rule):
    return errors.IllegalTransition(f"Cannot {action}: the activity is {activity.status}; {rule}")


def activity_cancel(*, activity, actor, reason=""):
    """READY -> CANCELED with a CANCELED event (the reason, if given, is kept on the event)."""
    with transaction.atomic():
        locked = lock_activity(activity)
        if not can_proceed(locked.cancel):
            raise illegal(locked, "cancel", "only READY activities can be canceled")
        locked.cancel()
        locked.save(update_fields=["status", "updated_at"])
        record_status_event(activity=locked, event_type=EventType.CANCELED, from_status=ActivityStatus.READY,
                            to_status=locked.status, actor=actor, error_message=reason or "")
    return locked


def activity_force_retry_dispatch(*, activity, actor, reason=""):
    """FAILED (by dispatch) -> READY with a fresh round of attempts and a FORCE_RETRY event (SPEC 11.3)."""
    with transaction.atomic():
        locked = lock_activity(activity)
        if not can_proceed(locked.force_retry_dispatch):
            if locked.status == ActivityStatus.FAILED:
                raise errors.IllegalTransition("Cannot force a retry: this activity failed because a result, a "
                                               "receipt or an override said so, not because dispatch gave up")
            raise illegal(locked, "force a retry", "only FAILED activities whose dispatch failed can be retried")
        locked.force_retry_dispatch()
        locked.dispatch_attempt_count = 0
        locked.next_attempt_at = None
        locked.save(update_fields=["status", "failed_by", "dispatch_attempt_count", "next_attempt_at", "updated_at"])
        record_status_event(activity=locked, event_type=EventType.FORCE_RETRY, from_status=ActivityStatus.FAILED,
                            to_status=locked.status, actor=actor, error_message=reason or "")
    return locked
