"""Delivery receipts (SPEC 6.2): how MESSAGE activities close.

One service for every door (the integration API-key routes, the signed per-config callback, the MOCK provider's
own receipts, the demo): `delivery_receipts_submit` takes a list of receipts, reads what it needs in a few
set-based queries, locks the activities it touches (in primary-key order, so two batches never deadlock), and in
that one transaction stores the new receipts, moves the activities forward through the model's @transitions and
writes their status events. A single receipt is a batch of one (`delivery_receipt_submit`).

A resend is the same (activity, status, occurred_at): it answers the stored receipt and changes nothing; the
unique constraint on those three makes two racing copies one row (the second waits for the first's row lock and
then finds its receipt).
"""
import datetime
from collections import Counter
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from activities.models import (
    RECEIPT_STATUS_TARGETS,
    Activity,
    ActivityStatus,
    ActivityType,
    DeliveryReceipt,
    EventType,
)
from activities.services.events import build_status_event, save_status_events
from activities.services.results import NOT_DISPATCHED_CODE
from reten import errors, metrics
from reten.db import bulk_update
from tenants.actors import Actor

MAX_BATCH_RECEIPTS = 1000
NOT_DISPATCHED = (ActivityStatus.READY, ActivityStatus.UNRESOLVED)
# The close of a DISPATCHED message per target status: the model transition and the event it writes.
CLOSING_TRANSITIONS = {
    ActivityStatus.COMPLETED: ("delivery_confirmed", EventType.COMPLETED),
    ActivityStatus.FAILED: ("delivery_failed", EventType.EXECUTION_FAILED),
}
ACTIVITY_FIELDS = ["status", "completed_at", "last_receipt", "updated_at"]


@dataclass
class ReceiptOutcome:
    """One receipt's fate: 201 stored, 200 already stored (nothing changed), else `error` says why."""

    index: int
    status: int
    receipt: DeliveryReceipt | None = None
    error: errors.DomainError | None = None

    @property
    def created(self) -> bool:
        return self.status == 201


def _moment_key(activity_id, status, occurred_at):
    return (activity_id, status, occurred_at.astimezone(datetime.UTC))


def delivery_receipt_submit(*, tenant, actor: Actor, data: dict) -> ReceiptOutcome:
    """Store one receipt (data: the validated body) and apply it; a refused one raises its domain error."""
    outcome = delivery_receipts_submit(tenant=tenant, actor=actor, items=[data])[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def delivery_receipts_submit(*, tenant, actor: Actor, items: list, failed: dict | None = None) -> list:
    """Apply up to MAX_BATCH_RECEIPTS receipts of one tenant; each is stored, replayed or refused on its own.

    `failed` maps an index to a DomainError found before the service (the item's shape); those are reported as
    they are. Returns one ReceiptOutcome per item, in order.
    """
    if len(items) > MAX_BATCH_RECEIPTS:
        raise errors.ValidationFailed.of({"items": [f"At most {MAX_BATCH_RECEIPTS} items."]})
    failed = failed or {}
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _submit_locked(tenant=tenant, actor=actor, items=items, failed=failed)
        except IntegrityError:
            # Only a receipt written meanwhile by a path that took no lock could collide: read again, once.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _match(tenant, items, failed):
    """{index: activity id} for the items that may name an activity of this tenant: an activity_id as sent (the lock
    that follows reads it within the tenant and drops the unknown ones), a provider id looked up (one query)."""
    by_id = {i: item["activity_id"] for i, item in enumerate(items)
             if i not in failed and item.get("activity_id") is not None}
    by_provider = {i: item["provider_activity_id"] for i, item in enumerate(items)
                   if i not in failed and i not in by_id and item.get("provider_activity_id")}
    latest = {}
    if by_provider:
        rows = (Activity.objects.for_tenant(tenant).filter(provider_activity_id__in=set(by_provider.values()))
                .order_by("dispatched_at", "created_at").values_list("provider_activity_id", "pk"))
        for provider_id, pk in rows:  # the most recently dispatched wins, as for task results
            latest[provider_id] = pk
    matched = dict(by_id)
    matched.update({i: latest[pid] for i, pid in by_provider.items() if pid in latest})
    return matched


def _submit_locked(*, tenant, actor, items, failed):
    outcomes = [None] * len(items)
    for index, error in failed.items():
        outcomes[index] = ReceiptOutcome(index, error.status_code, error=error)
    candidates = _match(tenant, items, failed)
    activities = {a.pk: a for a in (Activity.objects.for_tenant(tenant).select_for_update(of=("self",))
                                    .filter(pk__in=set(candidates.values())).select_related("last_receipt")
                                    .order_by("pk"))}
    matched = {index: pk for index, pk in candidates.items() if pk in activities}
    for index in range(len(items)):
        if outcomes[index] is None and index not in matched:
            outcomes[index] = ReceiptOutcome(index, 404, error=errors.NotFound("Activity not found"))
    activity_ids = sorted(activities)
    for activity in activities.values():
        activity.tenant = tenant  # the caller's Tenant: the webhook outbox reads its flag without a query
    stored = {}
    if activities:
        for receipt in DeliveryReceipt.objects.filter(activity_id__in=activity_ids,
                                                      status__in={items[i]["status"] for i in matched}):
            stored[_moment_key(receipt.activity_id, receipt.status, receipt.occurred_at)] = receipt
    now = timezone.now()
    new_receipts, events, changed = [], [], {}
    for index in sorted(matched):
        activity, data = activities[matched[index]], items[index]
        key = _moment_key(activity.pk, data["status"], data["occurred_at"])
        if key in stored:
            outcomes[index] = ReceiptOutcome(index, 200, receipt=stored[key])
            continue
        error = _refusal(activity)
        if error is not None:
            outcomes[index] = ReceiptOutcome(index, error.status_code, error=error)
            continue
        receipt = _new_receipt(activity, actor, data, now)
        stored[key] = receipt
        new_receipts.append(receipt)
        events.extend(_apply(activity, receipt, actor, now=now + datetime.timedelta(microseconds=len(events))))
        changed[activity.pk] = activity
        outcomes[index] = ReceiptOutcome(index, 201, receipt=receipt)
    if new_receipts:
        DeliveryReceipt.objects.bulk_create(new_receipts)
        for activity in changed.values():
            activity.updated_at = now
        bulk_update(Activity, list(changed.values()), ACTIVITY_FIELDS)
        # After the activities: the webhook outbox reads them as this transaction leaves them.
        save_status_events(events)
        # Counted once committed (SPEC 14): a rolled-back attempt drops these callbacks, a resend counts nothing.
        for status, amount in Counter(receipt.status for receipt in new_receipts).items():
            transaction.on_commit(lambda status=status, amount=amount: metrics.receipt_stored(status=status,
                                                                                             amount=amount))
    return outcomes


def _refusal(activity):
    if activity.type != ActivityType.MESSAGE:
        return errors.ValidationFailed(
            "This is a TASK activity: tasks close with task results (SPEC 6.1, POST "
            "/api/integration/activity-results/tasks), not delivery receipts",
            details={"activity_id": ["Only MESSAGE activities take delivery receipts."]})
    if activity.status in NOT_DISPATCHED:
        return errors.Conflict(f"The activity was never dispatched (it is {activity.status}); send the receipt "
                               "once it is", extra={"error_code": NOT_DISPATCHED_CODE})
    return None


def _new_receipt(activity, actor, data, now) -> DeliveryReceipt:
    return DeliveryReceipt(
        activity=activity, status=data["status"], occurred_at=data["occurred_at"],
        error_code=data.get("error_code") or "", error_message=data.get("error_message") or "",
        raw_payload=data.get("raw_payload"), actor_type=actor.kind,
        actor_user=actor.user if actor.api_key is None else None, actor_api_key=actor.api_key, created_at=now)


def _apply(activity, receipt, actor, *, now) -> list:
    """The receipt's events; moves a DISPATCHED activity forward. Receipts only move forward: on a terminal
    activity (or for SENT) they are recorded and change nothing."""
    current = activity.status
    detail = f"Receipt {receipt.status}, id {receipt.pk}" + (f": {receipt.error_code}" if receipt.error_code else "")
    event = build_status_event(activity=activity, event_type=EventType.DELIVERY_RECEIPT, from_status=current,
                               to_status=current, actor=actor, occurred_at=now, error_code=receipt.error_code,
                               error_message=detail)
    # In memory only: the status_events_written hooks (the webhook payload's `receipt`) read it from here.
    event.delivery_receipt = receipt
    events = [event]
    target = RECEIPT_STATUS_TARGETS[receipt.status]
    if target is not None and current == ActivityStatus.DISPATCHED:
        transition_name, event_type = CLOSING_TRANSITIONS[target]
        getattr(activity, transition_name)()
        failed = event_type == EventType.EXECUTION_FAILED
        events.append(build_status_event(
            activity=activity, event_type=event_type, from_status=current, to_status=activity.status, actor=actor,
            occurred_at=now + datetime.timedelta(microseconds=1),
            error_code=(receipt.error_code or receipt.status) if failed else "",
            error_message=(receipt.error_message or f"Delivery receipt {receipt.status}") if failed
            else f"Delivery receipt {receipt.status}"))
        activity.completed_at = now if activity.status == ActivityStatus.COMPLETED else None
    latest = activity.last_receipt
    if latest is None or receipt.occurred_at >= latest.occurred_at:
        activity.last_receipt = receipt
    return events
