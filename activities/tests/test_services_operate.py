"""Cancel, retry-resolution, manual target assignment and resolve-before-dispatch, through the services."""
import pytest

from activities.models import (
    Activity,
    ActivityStatus,
    AttributeKey,
    AttributeResolutionStatus,
    AttributeStrategy,
    EventType,
    LockReason,
    ResolutionStrategy,
    StatusEvent,
    TargetResolutionStatus,
)
from activities.services import (
    activity_cancel,
    activity_resolve_before_dispatch,
    activity_retry_resolution,
    record_status_event,
    target_user_resolve,
)
from activities.tests.factories import (
    AttributePolicyFactory,
    TargetResolutionConfigFactory,
    activity_in,
    make_activity,
    reachable_user,
)
from commerces.models import CommerceUserRole, ContactType
from commerces.tests.factories import CommerceFactory, CommerceUserFactory
from reten import errors
from tenants.actors import SYSTEM, Actor


def events_of(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "from_status", "to_status"))


# --- cancel -------------------------------------------------------------------------------------------------------

def test_cancel_moves_a_ready_activity_to_canceled_with_its_event(commerce, admin_user):
    activity = make_activity(commerce)
    canceled = activity_cancel(activity=activity, actor=Actor(user=admin_user), reason="Store closed")
    assert canceled.status == ActivityStatus.CANCELED
    event = StatusEvent.objects.get(activity=activity, event_type=EventType.CANCELED)
    assert (event.from_status, event.to_status, event.error_message) == ("READY", "CANCELED", "Store closed")
    assert (event.actor_type, event.actor_user) == ("USER", admin_user)


@pytest.mark.parametrize("status", [s for s in ActivityStatus.values if s != "READY"])
def test_cancel_refuses_every_status_but_ready_and_changes_nothing(commerce, status):
    activity = activity_in(commerce, status)
    before = events_of(activity)
    with pytest.raises(errors.IllegalTransition, match=f"the activity is {status}"):
        activity_cancel(activity=activity, actor=SYSTEM)
    assert Activity.objects.get(pk=activity.pk).status == status
    assert events_of(activity) == before


# --- retry resolution ---------------------------------------------------------------------------------------------

def test_retry_resolution_makes_the_activity_ready_once_the_directory_is_fixed(tenant):
    commerce = CommerceFactory(tenant=tenant)
    activity = make_activity(commerce, channel="EMAIL")
    assert activity.status == ActivityStatus.UNRESOLVED
    reachable_user(commerce, CommerceUserRole.OWNER, contact_type=ContactType.EMAIL)
    retried = activity_retry_resolution(activity=activity, actor=SYSTEM)
    assert retried.status == ActivityStatus.READY
    assert events_of(activity)[-1] == (EventType.RESOLUTION_RETRY_SUCCESS, "UNRESOLVED", "READY")
    target = activity.target_users.get()
    assert (target.resolution_status, target.lock_reason) == (TargetResolutionStatus.RESOLVED,
                                                              LockReason.FALLBACK_OWNER)


def test_retry_resolution_that_still_fails_stays_unresolved_and_says_why(tenant):
    commerce = CommerceFactory(tenant=tenant)
    activity = make_activity(commerce, channel="EMAIL")
    retried = activity_retry_resolution(activity=activity, actor=SYSTEM)
    assert retried.status == ActivityStatus.UNRESOLVED
    event = StatusEvent.objects.filter(activity=activity).order_by("occurred_at").last()
    assert (event.event_type, event.from_status, event.to_status) == ("RESOLUTION_RETRY_FAILED", "UNRESOLVED",
                                                                      "UNRESOLVED")
    assert event.error_message == ("target user 1 (ON_CREATION): the commerce has no active user with a role or "
                                   "contact")


@pytest.mark.parametrize("status", [s for s in ActivityStatus.values if s != "UNRESOLVED"])
def test_retry_resolution_refuses_every_status_but_unresolved(commerce, status):
    activity = activity_in(commerce, status)
    before = events_of(activity)
    with pytest.raises(errors.IllegalTransition):
        activity_retry_resolution(activity=activity, actor=SYSTEM)
    assert Activity.objects.get(pk=activity.pk).status == status
    assert events_of(activity) == before


# --- manual target assignment -------------------------------------------------------------------------------------

@pytest.fixture
def manual_activity(tenant, commerce):
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.MANUAL)
    return make_activity(commerce)


def test_a_manual_strategy_leaves_the_activity_unresolved_until_someone_assigns_the_target(manual_activity):
    assert manual_activity.status == ActivityStatus.UNRESOLVED
    assert StatusEvent.objects.get(activity=manual_activity, event_type="RESOLUTION_FAILED").error_message == (
        "target user 1 (MANUAL): waits for a manual assignment")


def test_manual_assignment_locks_the_target_and_brings_the_activity_back_to_ready(manual_activity, commerce):
    target = manual_activity.target_users.get()
    person = CommerceUserFactory(commerce=commerce)
    result = target_user_resolve(activity=manual_activity, target_user_id=target.pk, commerce_user_id=person.pk,
                                 actor=SYSTEM)
    assert result.status == ActivityStatus.READY
    target.refresh_from_db()
    assert (target.commerce_user, target.resolution_status, target.lock_reason) == (
        person, TargetResolutionStatus.LOCKED, LockReason.MANUAL_ASSIGNMENT)
    assert target.locked_at is not None
    # The assignment, then the move back to READY, recorded as every UNRESOLVED -> READY move is.
    assert events_of(manual_activity)[-2:] == [(EventType.TARGET_USER_RESOLVED, "UNRESOLVED", "UNRESOLVED"),
                                               (EventType.RESOLUTION_RETRY_SUCCESS, "UNRESOLVED", "READY")]


def test_manual_assignment_refuses_a_user_of_another_commerce(manual_activity, tenant):
    target = manual_activity.target_users.get()
    stranger = CommerceUserFactory(commerce=CommerceFactory(tenant=tenant))
    with pytest.raises(errors.ValidationFailed):
        target_user_resolve(activity=manual_activity, target_user_id=target.pk, commerce_user_id=stranger.pk,
                            actor=SYSTEM)
    target.refresh_from_db()
    assert (target.resolution_status, target.commerce_user) == (TargetResolutionStatus.PENDING, None)
    assert Activity.objects.get(pk=manual_activity.pk).status == ActivityStatus.UNRESOLVED


def test_manual_assignment_refuses_a_target_that_is_already_resolved(commerce):
    activity = make_activity(commerce)
    target = activity.target_users.get()
    assert target.resolution_status == TargetResolutionStatus.RESOLVED
    with pytest.raises(errors.IllegalTransition, match="only PENDING or FAILED"):
        target_user_resolve(activity=activity, target_user_id=target.pk,
                            commerce_user_id=target.commerce_user_id, actor=SYSTEM)
    assert events_of(activity) == [(EventType.CREATED, None, "READY")]


@pytest.mark.parametrize("status", ["DISPATCHED", "COMPLETED", "CANCELED", "FAILED"])
def test_manual_assignment_refuses_activities_past_resolution(manual_activity, commerce, status):
    activity = activity_in(commerce, status, idempotency_key=f"past-{status}")
    activity.target_users.update(resolution_status=TargetResolutionStatus.PENDING, commerce_user=None)
    target = activity.target_users.get()
    with pytest.raises(errors.IllegalTransition):
        target_user_resolve(activity=activity, target_user_id=target.pk,
                            commerce_user_id=CommerceUserFactory(commerce=commerce).pk, actor=SYSTEM)
    target.refresh_from_db()
    assert target.resolution_status == TargetResolutionStatus.PENDING


# --- right before dispatch ----------------------------------------------------------------------------------------

def test_resolve_before_dispatch_is_a_no_op_when_nothing_waits_for_dispatch(commerce, django_assert_num_queries):
    activity = make_activity(commerce)
    with django_assert_num_queries(2):
        assert activity_resolve_before_dispatch(activity=activity) is True


def test_resolve_before_dispatch_resolves_on_dispatch_targets_and_attributes(tenant, commerce):
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.ON_DISPATCH)
    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="promotions"),
                           strategy=AttributeStrategy.ON_DISPATCH)
    activity = make_activity(commerce, attribute_keys=["promotions"])
    assert activity.status == ActivityStatus.READY
    assert activity.target_users.get().resolution_status == TargetResolutionStatus.PENDING
    assert activity.attributes.get().resolution_status == AttributeResolutionStatus.PENDING
    assert activity_resolve_before_dispatch(activity=activity) is True
    assert activity.target_users.get().resolution_status == TargetResolutionStatus.RESOLVED
    attribute = activity.attributes.get()
    assert (attribute.resolution_status, attribute.value) == (AttributeResolutionStatus.RESOLVED, [])
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY


def test_resolve_before_dispatch_failure_moves_the_activity_to_unresolved(tenant):
    commerce = CommerceFactory(tenant=tenant)
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.ON_DISPATCH)
    activity = make_activity(commerce)
    assert activity.status == ActivityStatus.READY
    assert activity_resolve_before_dispatch(activity=activity) is False
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.UNRESOLVED
    event = StatusEvent.objects.filter(activity=activity).order_by("occurred_at").last()
    assert (event.event_type, event.from_status, event.to_status, event.actor_type) == (
        "RESOLUTION_FAILED", "READY", "UNRESOLVED", "SYSTEM")
    assert event.error_message == ("target user 1 (ON_DISPATCH): the commerce has no active user with a role or "
                                   "contact")
    assert activity.target_users.get().resolution_status == TargetResolutionStatus.FAILED


def test_resolve_before_dispatch_does_nothing_to_an_activity_that_is_no_longer_ready(tenant):
    commerce = CommerceFactory(tenant=tenant)
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.ON_DISPATCH)
    activity = activity_in(commerce, ActivityStatus.CANCELED)
    assert activity_resolve_before_dispatch(activity=activity) is False
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.CANCELED
    assert activity.target_users.get().resolution_status == TargetResolutionStatus.PENDING


def test_record_status_event_keeps_the_order_of_events_written_in_one_tick(commerce):
    activity = make_activity(commerce)
    for _ in range(5):
        record_status_event(activity=activity, event_type=EventType.RESULT_RECEIVED, from_status="READY",
                            to_status="READY", actor=SYSTEM)
    times = list(StatusEvent.objects.filter(activity=activity, event_type="RESULT_RECEIVED")
                 .values_list("occurred_at", flat=True))
    assert len(set(times)) == 5
