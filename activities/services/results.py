"""Task results (SPEC 6.1): how TASK activities close.

One service, `task_result_submit`, for both doors (the back-office JWT route and the integration API-key route),
the admin and the demo. A matched result locks its activity, checks, stores the result, moves the activity (a
model @transition), writes the events and, when its type says so, creates the follow-up TASK, all in one
transaction. A resend is recognised by a dedupe key (unique per tenant), so it answers the stored result and
changes nothing, even when two copies race.
"""
import datetime
import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from activities.models import (
    CALLER_PROVIDED_RESOLVER,
    RESULT_STATUS_TARGETS,
    TERMINAL_STATUSES,
    Activity,
    ActivityAttribute,
    ActivityStatus,
    ActivityType,
    EventType,
    ResultSource,
    TaskDetails,
    TaskResult,
    TaskResultType,
)
from activities.services.creation import activity_create
from activities.services.events import build_status_event, save_status_events
from commerces.models import Commerce
from reten import errors, metrics
from tenants.actors import Actor

NOT_DISPATCHED_CODE = "ACTIVITY_NOT_DISPATCHED"
ALREADY_CLOSED_CODE = "ACTIVITY_ALREADY_CLOSED"
FOLLOW_UP_KEY_PREFIX = "follow-up:"

# The ordinary close of a DISPATCHED task, per target status: the model transition and the event it writes.
CLOSING_TRANSITIONS = {
    ActivityStatus.COMPLETED: ("result_completed", EventType.COMPLETED),
    ActivityStatus.FAILED: ("result_not_executed", EventType.EXECUTION_FAILED),
    ActivityStatus.CANCELED: ("result_canceled", EventType.CANCELED),
}


@dataclass
class Submitted:
    result: TaskResult
    created: bool  # False: the same result was already stored (a resend); nothing changed


def result_dedupe_key(*, activity_id, commerce_id, provider_activity_id, status, occurred_at, result_code) -> str:
    """What makes two posts the same result: the activity (or, STANDALONE, commerce + provider id), the status,
    the moment and the result code."""
    moment = occurred_at.astimezone(datetime.UTC).isoformat()
    if activity_id is not None:
        parts = ["activity", str(activity_id)]
    else:
        parts = ["standalone", str(commerce_id), provider_activity_id or ""]
    parts += [status, moment, result_code]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _invalid(field, problem):
    return errors.ValidationFailed.of({field: [problem]})


def _type_unless_resent(*, tenant, task_result: dict, dedupe_key, now):
    """(the result type to store the result with, None), or (None, the stored result this post resends).

    One query on the hot path: the active type, with the id of a result already stored under this dedupe key. A
    resend answers the stored result before any other check (also when its type has since been deactivated)."""
    code = task_result["result"]
    stored = TaskResult.objects.for_tenant(tenant).filter(dedupe_key=dedupe_key).order_by().values("pk")[:1]
    result_type = (TaskResultType.objects.for_tenant(tenant).filter(code=code, is_active=True)
                   .annotate(resent_id=Subquery(stored)).first())
    if result_type is None or result_type.resent_id is not None:
        existing = _existing(tenant=tenant, dedupe_key=dedupe_key)
        if existing is not None:
            return None, existing
    if result_type is None:
        raise _invalid("task_result.result", f"Unknown or inactive result type '{code}'.")
    if result_type.requires_future_scheduled_at:
        when = task_result.get("future_scheduled_at")
        if when is None or when <= now:
            raise _invalid("task_result.future_scheduled_at",
                           f"Result type '{code}' requires a future_scheduled_at in the future.")
    return result_type, None


def _locked_match(*, tenant, data):
    """The activity this result is for, locked, or None (no provider id matches: STANDALONE)."""
    locked = (Activity.objects.for_tenant(tenant).select_for_update(of=("self",))
              .select_related("commerce_assignment__commerce", "last_result"))
    if data.get("activity_id") is not None:
        activity = locked.filter(pk=data["activity_id"]).first()
        if activity is None:
            raise errors.NotFound("Activity not found")
    else:
        provider_id = data.get("provider_activity_id")
        if not provider_id:
            raise _invalid("activity_id", "activity_id or provider_activity_id is required.")
        activity = locked.filter(provider_activity_id=provider_id).order_by("-dispatched_at", "-created_at").first()
    if activity is not None:
        activity.tenant = tenant  # the caller's Tenant: what reads it later (the webhook outbox's flag) asks nothing
    return activity


def _check_match(activity, data):
    if activity.type != ActivityType.TASK:
        raise errors.ValidationFailed(
            "This is a MESSAGE activity: messages close with delivery receipts "
            "(SPEC 6.2, POST /api/integration/delivery-receipts), not task results",
            details={"activity_id": ["Only TASK activities take task results."]})
    if activity.commerce_assignment.commerce.external_id != data["commerce_external_id"]:
        raise _invalid("commerce_external_id", "Is not the external id of the activity's commerce.")


def _new_result(*, tenant, actor: Actor, data, source, activity, commerce_id, dedupe_key, now) -> TaskResult:
    task_result = data["task_result"]
    provider_id = data.get("provider_activity_id") or (activity.provider_activity_id if activity else None)
    return TaskResult(
        tenant=tenant, source=source, activity=activity, commerce_id=commerce_id,
        provider_activity_id=provider_id, status=data["status"], external_status=data.get("external_status"),
        occurred_at=data["occurred_at"], hard_override=bool(data.get("hard_override")),
        result_code=task_result["result"], comment=task_result.get("comment"),
        contact_type=task_result.get("contact_type"), operator_external_id=task_result.get("operator_external_id"),
        future_scheduled_at=task_result.get("future_scheduled_at"), payload=task_result.get("payload"),
        raw_payload=data.get("raw_payload"), actor_type=actor.kind,
        actor_user=actor.user if actor.api_key is None else None, actor_api_key=actor.api_key,
        dedupe_key=dedupe_key, created_at=now, updated_at=now,
    )


def _existing(*, tenant, dedupe_key):
    return (TaskResult.objects.for_tenant(tenant).select_related("activity")
            .filter(dedupe_key=dedupe_key).first())


def task_result_submit(*, tenant, actor: Actor, data: dict, may_hard_override: bool) -> Submitted:
    """Store one task result (data: the validated body) and apply it to its activity.

    `may_hard_override`: the caller holds MANAGE_ACTIVITY_CONFIG besides the route's permission.
    """
    if data.get("hard_override") and not may_hard_override:
        raise errors.PermissionDenied("hard_override needs the MANAGE_ACTIVITY_CONFIG permission")
    try:
        with transaction.atomic():
            activity = _locked_match(tenant=tenant, data=data)
            if activity is None:
                submitted = _submit_standalone(tenant=tenant, actor=actor, data=data)
            else:
                submitted = _submit_matched(tenant=tenant, actor=actor, data=data, locked=activity)
    except IntegrityError:
        # Only a concurrent identical post can collide (on the dedupe key): it is a resend.
        key = _dedupe_key_of(tenant=tenant, data=data)
        existing = _existing(tenant=tenant, dedupe_key=key) if key else None
        if existing is None:
            raise
        return Submitted(existing, created=False)
    if submitted.created:  # a resend counts nothing, nor does a transaction that rolls back
        status = submitted.result.status
        transaction.on_commit(lambda: metrics.result_stored(status=status))
    return submitted


def _dedupe_key_of(*, tenant, data):
    activity = None
    if data.get("activity_id") is not None:
        activity = Activity.objects.for_tenant(tenant).filter(pk=data["activity_id"]).only("pk").first()
    elif data.get("provider_activity_id"):
        activity = (Activity.objects.for_tenant(tenant).filter(provider_activity_id=data["provider_activity_id"])
                    .order_by("-dispatched_at", "-created_at").only("pk").first())
    commerce_id = None
    if activity is None:
        commerce = Commerce.objects.for_tenant(tenant).filter(external_id=data["commerce_external_id"]).first()
        if commerce is None:
            return None
        commerce_id = commerce.pk
    return result_dedupe_key(activity_id=activity.pk if activity else None, commerce_id=commerce_id,
                             provider_activity_id=data.get("provider_activity_id"), status=data["status"],
                             occurred_at=data["occurred_at"], result_code=data["task_result"]["result"])


def _submit_standalone(*, tenant, actor, data) -> Submitted:
    """No activity has this provider id: keep the result against the commerce, change nothing else."""
    commerce = Commerce.objects.for_tenant(tenant).filter(external_id=data["commerce_external_id"]).first()
    if commerce is None:
        raise _invalid("commerce_external_id", "Unknown commerce.")
    key = result_dedupe_key(activity_id=None, commerce_id=commerce.pk,
                            provider_activity_id=data["provider_activity_id"], status=data["status"],
                            occurred_at=data["occurred_at"], result_code=data["task_result"]["result"])
    now = timezone.now()
    result_type, existing = _type_unless_resent(tenant=tenant, task_result=data["task_result"], dedupe_key=key,
                                                now=now)
    if existing is not None:
        return Submitted(existing, created=False)
    result = _new_result(tenant=tenant, actor=actor, data=data, source=ResultSource.STANDALONE, activity=None,
                         commerce_id=commerce.pk, dedupe_key=key, now=now)
    result.result_type = result_type
    result.save(force_insert=True)
    return Submitted(result, created=True)


def _submit_matched(*, tenant, actor, data, locked: Activity) -> Submitted:
    _check_match(locked, data)
    key = result_dedupe_key(activity_id=locked.pk, commerce_id=None, provider_activity_id=None,
                            status=data["status"], occurred_at=data["occurred_at"],
                            result_code=data["task_result"]["result"])
    now = timezone.now()
    result_type, existing = _type_unless_resent(tenant=tenant, task_result=data["task_result"], dedupe_key=key,
                                                now=now)
    if existing is not None:
        return Submitted(existing, created=False)
    override = bool(data.get("hard_override"))
    target = RESULT_STATUS_TARGETS[data["status"]]
    current = locked.status
    if not override and current in (ActivityStatus.READY, ActivityStatus.UNRESOLVED):
        raise errors.Conflict(f"The activity was never dispatched (it is {current}); send the result once it is",
                              extra={"error_code": NOT_DISPATCHED_CODE})
    if not override and target is not None and current in TERMINAL_STATUSES:
        raise errors.Conflict(f"The activity is already {current}; a different result needs hard_override: true",
                              extra={"error_code": ALREADY_CLOSED_CODE})

    result = _new_result(tenant=tenant, actor=actor, data=data, source=ResultSource.RETEN_ACTIVITY,
                         activity=locked, commerce_id=locked.commerce_assignment.commerce_id, dedupe_key=key,
                         now=now)
    result.result_type = result_type
    if result_type.creates_follow_up:
        # The result's id is set before it is saved, so the follow-up's idempotency key can name it.
        result.follow_up_activity = _create_follow_up(tenant=tenant, original=locked, result=result, actor=actor)
    result.save(force_insert=True)

    events = [build_status_event(activity=locked, event_type=EventType.RESULT_RECEIVED, from_status=current,
                                 to_status=current, actor=actor, occurred_at=now,
                                 error_message=f"Result {result.result_code} ({result.status}), id {result.pk}")]
    changed = ["updated_at"]
    if target is not None and current == ActivityStatus.DISPATCHED:
        transition_name, event_type = CLOSING_TRANSITIONS[target]
        getattr(locked, transition_name)()
        events.append(_close_event(locked, event_type, current, actor, result, now))
        changed.append("status")
    elif target is not None and override and target != current:
        locked.hard_override(target)
        events.append(build_status_event(
            activity=locked, event_type=EventType.HARD_OVERRIDE, from_status=current, to_status=target,
            actor=actor, occurred_at=now + datetime.timedelta(microseconds=1),
            error_message=f"Hard override by result {result.pk} ({result.status})"))
        changed.append("status")
    if "status" in changed:
        locked.completed_at = now if locked.status == ActivityStatus.COMPLETED else None
        changed += ["completed_at", "failed_by"]
    if locked.last_result is None or result.occurred_at >= locked.last_result.occurred_at:
        locked.last_result = result
        changed.append("last_result")
    locked.save(update_fields=changed)
    save_status_events(events)  # after the save: the webhook outbox reads the activity as it now is
    return Submitted(result, created=True)


def _close_event(activity, event_type, from_status, actor, result, now):
    failed = event_type == EventType.EXECUTION_FAILED
    return build_status_event(activity=activity, event_type=event_type, from_status=from_status,
                              to_status=activity.status, actor=actor,
                              occurred_at=now + datetime.timedelta(microseconds=1),
                              error_code=result.status if failed else "",
                              error_message=f"Result {result.result_code}" + (f": {result.comment}"
                                                                             if failed and result.comment else ""))


def _create_follow_up(*, tenant, original: Activity, result: TaskResult, actor: Actor) -> Activity:
    """A new TASK like the original (commerce, channel, route, operator, reason, attribute keys) at the result's
    future_scheduled_at, through the creation service (resolution included), idempotent on its key."""
    details = TaskDetails.objects.get(activity=original)
    attributes = list(ActivityAttribute.objects.filter(activity=original).select_related("attribute_key"))
    # What the caller supplied for the original is carried over; everything else is resolved again.
    supplied = [a for a in attributes if a.resolver_type == CALLER_PROVIDED_RESOLVER and a.value is not None]
    body = {
        "type": ActivityType.TASK,
        "reason": original.reason,
        "channel": original.channel,
        "commerce_id": original.commerce_assignment.commerce_id,
        "idempotency_key": f"{FOLLOW_UP_KEY_PREFIX}{result.pk}",
        "scheduled_at": result.future_scheduled_at,
        "assignment_reason": f"Follow-up of activity {original.pk} (result {result.result_code})",
        "attribute_keys": [a.attribute_key.key for a in attributes if a not in supplied],
        "attributes": [{"key": a.attribute_key.key, "value": a.value} for a in supplied],
        "assigned_route_id": details.route_id,
        "assigned_operator_id": details.operator_id,
    }
    try:
        # In the future by rule (the type requires it), so the dispatcher takes it when due.
        created = activity_create(tenant=tenant, actor=actor, data=body, dispatch_due=False)
    except errors.DomainError as exc:
        raise errors.ValidationFailed(f"The follow-up activity could not be created: {exc.message}",
                                      details=exc.details) from None
    Activity.objects.filter(pk=created.activity.pk).update(follow_up_of=original)
    created.activity.follow_up_of_id = original.pk
    return created.activity
