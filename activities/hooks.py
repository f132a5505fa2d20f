"""What happens elsewhere when something happens to activities: a small, explicit registry.

The house is one-way (STYLE.md): `activities` never imports `dispatch`. What must happen when activities are
created already due, and what the console's "Dispatch now" does, is registered here by the dispatch app in its
`AppConfig.ready()`; what follows a written status event (the webhook outbox) by the webhooks app (in the
spirit of Saleor's plugin manager; not Django signals).
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from reten import errors


@dataclass
class ActivityHooks:
    # Called after the commit that created READY activities due soon, with them (the instances as committed).
    activities_due: list[Callable[[list], object]] = field(default_factory=list)
    # Sends one READY activity now, synchronously: (activity=, actor=) -> the activity as it then is.
    dispatch_now: Callable | None = None
    # Read-only admin inlines of the activity page owned by higher apps (dispatch attempts, ...).
    admin_inlines: list = field(default_factory=list)
    # Called inside the transaction that wrote these StatusEvents (saved), with them: the webhook outbox.
    status_events_written: list[Callable[[list], object]] = field(default_factory=list)


hooks = ActivityHooks()


def register_activities_due(handler: Callable[[list], object]) -> None:
    if handler not in hooks.activities_due:
        hooks.activities_due.append(handler)


def register_dispatch_now(handler: Callable) -> None:
    hooks.dispatch_now = handler


def register_admin_inline(inline) -> None:
    if inline not in hooks.admin_inlines:
        hooks.admin_inlines.append(inline)


def register_status_events_written(handler: Callable[[list], object]) -> None:
    if handler not in hooks.status_events_written:
        hooks.status_events_written.append(handler)


def status_events_written(events: list) -> None:
    """Every writer of StatusEvents calls this in the same transaction, right after saving them."""
    if not events:
        return
    for handler in hooks.status_events_written:
        handler(events)


def activities_became_due(activity_ids: list) -> None:
    for handler in hooks.activities_due:
        handler(activity_ids)


def dispatch_now(*, activity, actor):
    if hooks.dispatch_now is None:
        raise errors.Conflict("No dispatcher is installed to send this activity now")
    return hooks.dispatch_now(activity=activity, actor=actor)
