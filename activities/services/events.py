"""The status-event trail: every transition service writes its event through here, in its own transaction."""
from datetime import timedelta

from django.utils import timezone

from activities.hooks import status_events_written
from activities.models import StatusEvent
from reten.db import bulk_insert


def build_status_event(*, activity, event_type, from_status, to_status, actor, error_code="", error_message="",
                       occurred_at=None):
    """An unsaved event (for bulk_create). `actor` is a tenants.actors.Actor (SYSTEM for the dispatcher)."""
    return StatusEvent(
        activity=activity,
        event_type=event_type,
        from_status=from_status or None,
        to_status=to_status or None,
        error_code=error_code or "",
        error_message=error_message or "",
        actor_type=actor.kind,
        actor_user=actor.user if actor.api_key is None else None,
        actor_api_key=actor.api_key,
        occurred_at=occurred_at or timezone.now(),
    )


def record_status_event(*, activity, event_type, from_status, to_status, actor, error_code="", error_message=""):
    """Append one event. Call it inside the transaction that made the change it records."""
    latest = getattr(activity, "_latest_event_at", None)
    occurred_at = timezone.now()
    if latest is not None and occurred_at <= latest:
        # Two events in one service keep their order even within one clock tick.
        occurred_at = latest + timedelta(microseconds=1)
    event = build_status_event(activity=activity, event_type=event_type, from_status=from_status,
                               to_status=to_status, actor=actor, error_code=error_code,
                               error_message=error_message, occurred_at=occurred_at)
    event.save(force_insert=True)
    activity._latest_event_at = occurred_at
    status_events_written([event])
    return event


def save_status_events(events):
    """Insert built events (build_status_event) at once and tell the hooks, in the caller's transaction."""
    if events:
        bulk_insert(StatusEvent, events)
        status_events_written(events)
    return events
