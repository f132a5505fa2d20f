"""Resolution after creation: retry-resolution (optionally with caller values), manual target assignment, manual
attribute values, and resolving right before dispatch. An UNRESOLVED activity always has a way out (SPEC 4.4).

Each service resolves outside any lock (client hooks are network calls), then applies the outcome in one short
transaction under the activity's row lock, re-checking that the activity and each row are still as they were read.
"""
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from activities.models import (
    CALLER_PROVIDED_RESOLVER,
    MANUAL_RESOLVER,
    Activity,
    ActivityAttribute,
    ActivityStatus,
    AttributeKey,
    AttributePolicy,
    AttributeResolutionStatus,
    AttributeStrategy,
    EventType,
    LockReason,
    ResolutionStrategy,
    ResolverType,
    TargetResolutionStatus,
    TargetUser,
)
from activities.resolution.attributes import AttributePlan, resolve_attribute
from activities.resolution.context import ResolutionContext, Subject
from activities.resolution.targets import resolve_target
from activities.services.events import record_status_event
from activities.services.transitions import RETRY_RESOLUTION, illegal, lock_activity
from commerces.models import CommerceUser
from reten import errors
from tenants.actors import SYSTEM

RESOLUTION_FAILED_CODE = "RESOLUTION_FAILED"


# --- What blocks an activity from being READY -----------------------------------------------------------------

def target_is_blocking(target):
    """FAILED, or PENDING without waiting for dispatch (MANUAL waits for a person)."""
    status = target.resolution_status
    return status == TargetResolutionStatus.FAILED or (
        status == TargetResolutionStatus.PENDING and target.resolution_strategy != ResolutionStrategy.ON_DISPATCH
    )


def attribute_is_blocking(attribute):
    status = attribute.resolution_status
    return status == AttributeResolutionStatus.FAILED or (
        status == AttributeResolutionStatus.PENDING and attribute.strategy != AttributeStrategy.ON_DISPATCH
    )


def describe_target_problem(target, index):
    label = f"target user {index + 1} ({target.resolution_strategy})"
    if target.resolution_status == TargetResolutionStatus.PENDING and \
            target.resolution_strategy == ResolutionStrategy.MANUAL:
        return f"{label}: waits for a manual assignment"
    return f"{label}: {target.error_message or 'not resolved'}"


def describe_attribute_problem(attribute):
    return f"attribute {attribute.attribute_key.key}: {attribute.error_message or 'not resolved'}"


def blocking_problems(targets, attributes):
    """One line per target user or attribute that keeps the activity from being READY."""
    problems = [describe_target_problem(t, i) for i, t in enumerate(targets) if target_is_blocking(t)]
    problems += [describe_attribute_problem(a) for a in attributes if attribute_is_blocking(a)]
    return problems


def problems_message(problems):
    return "; ".join(problems)


# --- Applying outcomes to rows --------------------------------------------------------------------------------

def apply_target_outcome(target, outcome, now):
    if outcome.resolved:
        target.commerce_user_id = outcome.commerce_user_id
        target.resolution_status = TargetResolutionStatus.RESOLVED
        target.lock_reason = outcome.lock_reason
        target.resolved_at = now
        target.error_message = ""
    else:
        target.commerce_user_id = None
        target.resolution_status = TargetResolutionStatus.FAILED
        target.lock_reason = None
        target.resolved_at = None
        target.error_message = outcome.error


def apply_attribute_outcome(attribute, outcome, now):
    attribute.resolution_status = outcome.status
    attribute.value = outcome.value
    attribute.resolver_type = outcome.resolver_type
    attribute.error_message = outcome.error
    attribute.resolved_at = now if outcome.status in (AttributeResolutionStatus.RESOLVED,
                                                      AttributeResolutionStatus.FALLBACK) else None


TARGET_OUTCOME_FIELDS = ["commerce_user", "resolution_status", "lock_reason", "resolved_at", "error_message",
                         "updated_at"]
ATTRIBUTE_OUTCOME_FIELDS = ["resolution_status", "value", "resolver_type", "error_message", "resolved_at",
                            "updated_at"]


def subject_of(activity):
    return Subject(tenant_id=activity.tenant_id, activity_id=activity.pk, type=activity.type,
                   channel=activity.channel, commerce=activity.commerce_assignment.commerce)


def current_attribute_plans(*, tenant_id, attributes):
    """Plans for stored attributes under the tenant's current policies (a fixed hook URL helps a retry)."""
    policies = {
        policy.attribute_key_id: policy
        for policy in AttributePolicy.objects.filter(
            tenant_id=tenant_id, attribute_key_id__in=[a.attribute_key_id for a in attributes])
    }
    plans = {}
    for attribute in attributes:
        policy = policies.get(attribute.attribute_key_id)
        plans[attribute.pk] = AttributePlan(
            attribute_key=attribute.attribute_key,
            strategy=attribute.strategy,
            resolver_type=policy.resolver_type if policy else ResolverType.INTERNAL_SERVICE,
            hook_url=policy.hook_url if policy else "",
            has_fallback=attribute.has_fallback,
            fallback=attribute.fallback,
        )
    return plans


@dataclass
class ResolutionRun:
    """Outcomes computed for some target users and attributes of one activity, not yet saved."""

    target_outcomes: dict  # target id -> (status read, TargetOutcome)
    attribute_outcomes: dict  # attribute id -> (status read, AttributeOutcome)


def resolve_rows(*, activity, targets, attributes, at_dispatch):
    """Resolve the given rows now (network calls happen here, never under a lock)."""
    subject = subject_of(activity)
    target_outcomes, attribute_outcomes = {}, {}
    with ResolutionContext(commerces=[subject.commerce]) as context:
        for target in targets:
            outcome = resolve_target(context=context, subject=subject, criteria=target.criteria,
                                     fallback_to_commerce_rep=target.fallback_to_commerce_rep,
                                     fallback_to_owner=target.fallback_to_owner)
            target_outcomes[target.pk] = (target.resolution_status, outcome)
        if attributes:
            plans = current_attribute_plans(tenant_id=activity.tenant_id, attributes=attributes)
            for attribute in attributes:
                outcome = resolve_attribute(context=context, subject=subject, plan=plans[attribute.pk],
                                            defer_on_dispatch=not at_dispatch)
                attribute_outcomes[attribute.pk] = (attribute.resolution_status, outcome)
    return ResolutionRun(target_outcomes, attribute_outcomes)


def save_run(*, activity, run, now):
    """Under the activity's lock: apply each outcome to its row if the row is unchanged since it was read.
    Returns every target user and attribute of the activity as they now are."""
    targets = list(activity.target_users.all())
    attributes = list(activity.attributes.select_related("attribute_key"))
    changed_targets = []
    for target in targets:
        read = run.target_outcomes.get(target.pk)
        if read and read[0] == target.resolution_status:
            apply_target_outcome(target, read[1], now)
            changed_targets.append(target)
    changed_attributes = []
    for attribute in attributes:
        read = run.attribute_outcomes.get(attribute.pk)
        if read and read[0] == attribute.resolution_status:
            apply_attribute_outcome(attribute, read[1], now)
            changed_attributes.append(attribute)
    if changed_targets:
        TargetUser.objects.bulk_update(changed_targets, TARGET_OUTCOME_FIELDS)
    if changed_attributes:
        ActivityAttribute.objects.bulk_update(changed_attributes, ATTRIBUTE_OUTCOME_FIELDS)
    return targets, attributes


def _targets_to_retry(targets):
    return [t for t in targets if target_is_blocking(t) and t.resolution_strategy != ResolutionStrategy.MANUAL]


def _attributes_to_retry(attributes):
    return [a for a in attributes if attribute_is_blocking(a)]


def _load_for_resolution(activity):
    activity = Activity.objects.select_related("commerce_assignment__commerce").get(pk=activity.pk)
    targets = list(activity.target_users.all())
    attributes = list(activity.attributes.select_related("attribute_key"))
    return activity, targets, attributes


# --- Services -------------------------------------------------------------------------------------------------

def ready_if_nothing_blocks(*, activity, actor, targets=None, attributes=None):
    """The one UNRESOLVED -> READY step, under the caller's lock: when nothing blocks any more, the activity moves
    to READY (model transition) with a RESOLUTION_RETRY_SUCCESS event. Returns what still blocks (empty when
    nothing does). A READY activity stays READY; `targets` / `attributes` default to the stored rows."""
    if targets is None:
        targets = list(activity.target_users.all())
    if attributes is None:
        attributes = list(activity.attributes.select_related("attribute_key"))
    problems = blocking_problems(targets, attributes)
    if not problems and activity.status == ActivityStatus.UNRESOLVED:
        activity.resolution_retried()
        activity.next_attempt_at = None
        activity.save(update_fields=["status", "next_attempt_at", "updated_at"])
        record_status_event(activity=activity, event_type=EventType.RESOLUTION_RETRY_SUCCESS,
                            from_status=ActivityStatus.UNRESOLVED, to_status=activity.status, actor=actor)
    return problems


def _supplied_by_key(*, attributes, supplied):
    """Caller values for a retry, by key. A key must be in the catalogue and carried by the activity, once."""
    carried = {attribute.attribute_key.key for attribute in attributes}
    values, problems, not_carried = {}, {}, {}
    for index, entry in enumerate(supplied or []):
        key = entry["key"]
        if key in values:
            problems[f"attributes.{index}.key"] = [f"Attribute key '{key}' is given twice."]
        elif key in carried:
            values[key] = entry["value"]
        else:
            not_carried[f"attributes.{index}.key"] = key
    if not_carried:
        known = set(AttributeKey.objects.filter(key__in=set(not_carried.values())).values_list("key", flat=True))
        for name, key in not_carried.items():
            problems[name] = [f"The activity does not carry attribute '{key}'." if key in known
                              else f"Unknown attribute key '{key}'."]
    if problems:
        problems = dict(sorted(problems.items(), key=lambda item: int(item[0].split(".")[1])))
        raise errors.ValidationFailed.of(problems)
    return values


def _apply_supplied(attributes, supplied, now):
    """A caller value wins whatever the attribute's status (SPEC 4.5). Returns the rows it changed."""
    changed = []
    for attribute in attributes:
        if attribute.attribute_key.key in supplied:
            attribute.value = supplied[attribute.attribute_key.key]
            attribute.resolution_status = AttributeResolutionStatus.RESOLVED
            attribute.resolver_type = CALLER_PROVIDED_RESOLVER
            attribute.error_message = ""
            attribute.resolved_at = now
            changed.append(attribute)
    return changed


def activity_retry_resolution(*, activity, actor, attributes=None):
    """UNRESOLVED -> READY (RESOLUTION_RETRY_SUCCESS) when everything pending resolves, else stays UNRESOLVED
    (RESOLUTION_RETRY_FAILED naming what still fails). Not UNRESOLVED -> IllegalTransition, nothing changes.

    `attributes` ([{key, value}], optional) supplies caller values first: each key must be one the activity
    carries (else ValidationFailed naming `attributes.N.key`, nothing changes); a supplied value wins (RESOLVED,
    resolver CALLER_PROVIDED) and that attribute is not resolved again."""
    activity, targets, stored_attributes = _load_for_resolution(activity)
    refused = RETRY_RESOLUTION.refusal(activity)
    if refused is not None:
        raise RETRY_RESOLUTION.error(activity, refused)
    supplied = _supplied_by_key(attributes=stored_attributes, supplied=attributes)
    to_retry = [a for a in _attributes_to_retry(stored_attributes) if a.attribute_key.key not in supplied]
    run = resolve_rows(activity=activity, targets=_targets_to_retry(targets), attributes=to_retry,
                       at_dispatch=False)
    with transaction.atomic():
        locked = lock_activity(activity)
        refused = RETRY_RESOLUTION.refusal(locked)
        if refused is not None:
            raise RETRY_RESOLUTION.error(locked, refused)
        now = timezone.now()
        targets, stored_attributes = save_run(activity=locked, run=run, now=now)
        changed = _apply_supplied(stored_attributes, supplied, now)
        if changed:
            ActivityAttribute.objects.bulk_update(changed, ATTRIBUTE_OUTCOME_FIELDS)
        problems = ready_if_nothing_blocks(activity=locked, actor=actor, targets=targets,
                                           attributes=stored_attributes)
        if problems:
            record_status_event(activity=locked, event_type=EventType.RESOLUTION_RETRY_FAILED,
                                from_status=locked.status, to_status=locked.status, actor=actor,
                                error_code=RESOLUTION_FAILED_CODE, error_message=problems_message(problems))
    return locked


def activity_retry_resolution_preview(*, activity):
    """Would a retry make this UNRESOLVED activity READY now? Resolves (hooks included) but saves nothing."""
    activity, targets, attributes = _load_for_resolution(activity)
    if activity.status != ActivityStatus.UNRESOLVED:
        return False
    run = resolve_rows(activity=activity, targets=_targets_to_retry(targets),
                       attributes=_attributes_to_retry(attributes), at_dispatch=False)
    now = timezone.now()
    for target in targets:
        if target.pk in run.target_outcomes:
            apply_target_outcome(target, run.target_outcomes[target.pk][1], now)
    for attribute in attributes:
        if attribute.pk in run.attribute_outcomes:
            apply_attribute_outcome(attribute, run.attribute_outcomes[attribute.pk][1], now)
    return not blocking_problems(targets, attributes)


def target_user_resolve(*, activity, target_user_id, commerce_user_id, actor):
    """Assign a commerce user by hand (LOCKED, MANUAL_ASSIGNMENT). Only a PENDING or FAILED target of a READY or
    UNRESOLVED activity; the user must be an active user of the activity's commerce. If that was the last thing
    pending on an UNRESOLVED activity, the activity goes back to READY."""
    with transaction.atomic():
        locked = lock_activity(activity)
        target = locked.target_users.filter(pk=target_user_id).first()
        if target is None:
            raise errors.NotFound("Target user not found")
        if locked.status not in (ActivityStatus.READY, ActivityStatus.UNRESOLVED):
            raise illegal(locked, "resolve a target user", "only READY or UNRESOLVED activities take assignments")
        if target.resolution_status not in (TargetResolutionStatus.PENDING, TargetResolutionStatus.FAILED):
            raise errors.IllegalTransition(
                f"This target user is {target.resolution_status}; only PENDING or FAILED ones can be resolved"
            )
        commerce_id = locked.commerce_assignment.commerce_id
        user = CommerceUser.objects.filter(pk=commerce_user_id, commerce_id=commerce_id).first()
        if user is None:
            raise errors.ValidationFailed(
                "The commerce user does not belong to the activity's commerce",
                details={"commerce_user_id": ["Must be a user of the activity's commerce."]},
            )
        if not user.is_active:
            raise errors.ValidationFailed("The commerce user is inactive",
                                          details={"commerce_user_id": ["The commerce user is inactive."]})
        now = timezone.now()
        target.commerce_user = user
        target.resolution_status = TargetResolutionStatus.LOCKED
        target.lock_reason = LockReason.MANUAL_ASSIGNMENT
        target.resolved_at = now
        target.locked_at = now
        target.error_message = ""
        target.save(update_fields=["commerce_user", "resolution_status", "lock_reason", "resolved_at", "locked_at",
                                   "error_message", "updated_at"])
        record_status_event(activity=locked, event_type=EventType.TARGET_USER_RESOLVED, from_status=locked.status,
                            to_status=locked.status, actor=actor,
                            error_message=f"target user {target.pk} assigned to commerce user {user.pk}")
        ready_if_nothing_blocks(activity=locked, actor=actor)
    return locked


def attribute_resolve(*, activity, attribute_id, value, actor):
    """Set an attribute's value by hand (RESOLVED, resolver MANUAL, event ATTRIBUTE_RESOLVED). Only a PENDING or
    FAILED attribute of a READY or UNRESOLVED activity. If that was the last thing pending on an UNRESOLVED
    activity, the activity goes back to READY (RESOLUTION_RETRY_SUCCESS). Returns the attribute."""
    with transaction.atomic():
        locked = lock_activity(activity)
        attribute = locked.attributes.select_related("attribute_key").filter(pk=attribute_id).first()
        if attribute is None:
            raise errors.NotFound("Attribute not found")
        if locked.status not in (ActivityStatus.READY, ActivityStatus.UNRESOLVED):
            raise illegal(locked, "set an attribute value", "only READY or UNRESOLVED activities take values")
        if attribute.resolution_status not in (AttributeResolutionStatus.PENDING, AttributeResolutionStatus.FAILED):
            raise errors.IllegalTransition(
                f"This attribute is {attribute.resolution_status}; only PENDING or FAILED ones can be resolved"
            )
        attribute.value = value
        attribute.resolution_status = AttributeResolutionStatus.RESOLVED
        attribute.resolver_type = MANUAL_RESOLVER
        attribute.error_message = ""
        attribute.resolved_at = timezone.now()
        attribute.save(update_fields=ATTRIBUTE_OUTCOME_FIELDS)
        record_status_event(activity=locked, event_type=EventType.ATTRIBUTE_RESOLVED, from_status=locked.status,
                            to_status=locked.status, actor=actor,
                            error_message=f"attribute {attribute.attribute_key.key} set by hand")
        ready_if_nothing_blocks(activity=locked, actor=actor)
    return attribute


def activity_resolve_before_dispatch(*, activity):
    """Called by the dispatcher right before sending: resolve ON_DISPATCH target users and attributes.

    True when the activity may be sent. On a failure the activity moves READY -> UNRESOLVED with a
    RESOLUTION_FAILED event naming what failed, and False is returned. False too when the activity is no
    longer READY. No lock is held while resolving; the outcome is saved in one short locked transaction.
    """
    pending_targets = list(TargetUser.objects.filter(
        activity_id=activity.pk, resolution_status=TargetResolutionStatus.PENDING,
        resolution_strategy=ResolutionStrategy.ON_DISPATCH))
    pending_attributes = list(ActivityAttribute.objects.filter(
        activity_id=activity.pk, resolution_status=AttributeResolutionStatus.PENDING,
        strategy=AttributeStrategy.ON_DISPATCH).select_related("attribute_key"))
    if not pending_targets and not pending_attributes:
        return True
    loaded = Activity.objects.select_related("commerce_assignment__commerce").get(pk=activity.pk)
    run = resolve_rows(activity=loaded, targets=pending_targets, attributes=pending_attributes, at_dispatch=True)
    with transaction.atomic():
        locked = lock_activity(activity)
        if locked.status != ActivityStatus.READY:
            return False
        targets, attributes = save_run(activity=locked, run=run, now=timezone.now())
        problems = blocking_problems(targets, attributes)
        if problems:
            locked.resolution_failed()
            locked.save(update_fields=["status", "updated_at"])
            record_status_event(activity=locked, event_type=EventType.RESOLUTION_FAILED,
                                from_status=ActivityStatus.READY, to_status=locked.status, actor=SYSTEM,
                                error_code=RESOLUTION_FAILED_CODE, error_message=problems_message(problems))
            return False
    return True
