"""SPEC 11.4, the set-based path: cancel and force retry change CHUNK_SIZE activities per transaction with one
locking read, one UPDATE and one INSERT of events, judged by the same Move as the single-activity service."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities import hooks as activity_hooks
from activities.models import Activity, ActivityStatus, ActorType, CommerceAssignment, EventType, StatusEvent
from activities.services import activity_bulk_operate
from activities.services import bulk as bulk_module
from activities.services.transitions import CANCEL, FORCE_RETRY, refusal
from activities.tests.factories import activity_in
from tenants.actors import SYSTEM, Actor
from tenants.services import api_key_create

pytestmark = pytest.mark.django_db

S = ActivityStatus


def ready_activities(commerce, count):
    """`count` READY activities of the commerce's tenant, inserted at once (as the bench does)."""
    now = timezone.now()
    activities = [Activity(tenant=commerce.tenant, type="MESSAGE", channel="SMS", reason="bulk test",
                           scheduled_at=now + timedelta(days=1), idempotency_key=f"bulk-{commerce.pk}-{n}-{now}")
                  for n in range(count)]
    Activity.objects.bulk_create(activities)
    CommerceAssignment.objects.bulk_create(
        [CommerceAssignment(activity=activity, commerce=commerce, assigned_at=now) for activity in activities])
    return activities


def failed_by(commerce, event_type):
    activity = activity_in(commerce, S.FAILED)
    Activity.objects.filter(pk=activity.pk).update(failed_by=event_type, dispatch_attempt_count=3,
                                                   next_attempt_at=timezone.now())
    return activity


def test_the_rule_is_the_model_transition(commerce):
    """Sources and conditions come from django-fsm's metadata of the Activity transitions, nothing copied."""
    assert set(Activity.cancel._django_fsm.transitions) == {S.READY}
    assert [refusal(CANCEL.method, Activity(status=status)) for status in S.values] == [
        None if status == S.READY else status for status in S.values]
    by_dispatch = Activity(status=S.FAILED, failed_by=EventType.DISPATCH_FAILED)
    by_result = Activity(status=S.FAILED, failed_by=EventType.EXECUTION_FAILED)
    assert (FORCE_RETRY.refusal(by_dispatch), FORCE_RETRY.refusal(by_result)) == (None, "FAILED_BY_RESULT")
    assert FORCE_RETRY.refusal(Activity(status=S.DISPATCHED)) == S.DISPATCHED


def test_each_changed_activity_gets_one_event_with_actor_and_reason(commerce, tenant, admin_user, monkeypatch):
    monkeypatch.setattr(bulk_module, "CHUNK_SIZE", 2)  # three chunks for five activities
    ready = ready_activities(commerce, 5)
    done = activity_in(commerce, S.COMPLETED)
    key, _ = api_key_create(tenant=tenant, creator=admin_user, name="bulk key", permissions=["CANCEL_ACTIVITY"])
    actor = Actor(user=admin_user, api_key=key)
    before = timezone.now()

    result = activity_bulk_operate(tenant=tenant, actor=actor, operation="cancel",
                                   ids=[a.pk for a in (*ready, done)], reason="campaign over")

    assert result.as_dict()["changed"] == 5 and result.as_dict()["skipped"] == {"COMPLETED": 1}
    events = list(StatusEvent.objects.filter(event_type=EventType.CANCELED).order_by("activity_id"))
    assert sorted(e.activity_id for e in events) == sorted(a.pk for a in ready)  # one each, none for the skip
    assert {(e.from_status, e.to_status, e.actor_type, e.actor_api_key_id, e.actor_user_id, e.error_message)
            for e in events} == {(S.READY, S.CANCELED, ActorType.API_KEY, key.pk, None, "campaign over")}
    assert all(e.occurred_at >= before for e in events)
    assert set(Activity.objects.filter(pk__in=[a.pk for a in ready]).values_list("status", flat=True)) == {S.CANCELED}
    assert all(a.updated_at >= before for a in Activity.objects.filter(pk__in=[a.pk for a in ready]))
    assert Activity.objects.get(pk=done.pk).status == S.COMPLETED
    assert not StatusEvent.objects.filter(activity=done, event_type=EventType.CANCELED).exists()


def test_force_retry_in_bulk_writes_what_the_single_service_writes(commerce, tenant, admin_user):
    retryable = [failed_by(commerce, EventType.DISPATCH_FAILED) for _ in range(2)]
    by_result = failed_by(commerce, EventType.EXECUTION_FAILED)

    result = activity_bulk_operate(tenant=tenant, actor=Actor(user=admin_user), operation="force_retry_dispatch",
                                   filters={"status": [S.FAILED]}, reason="provider fixed")

    assert (result.changed, dict(result.skipped)) == (2, {"FAILED_BY_RESULT": 1})
    assert set(Activity.objects.filter(pk__in=[a.pk for a in retryable]).values_list(
        "status", "failed_by", "dispatch_attempt_count", "next_attempt_at")) == {(S.READY, "", 0, None)}
    assert Activity.objects.filter(pk=by_result.pk).values_list("status", "failed_by").get() == (
        S.FAILED, EventType.EXECUTION_FAILED)
    events = StatusEvent.objects.filter(event_type=EventType.FORCE_RETRY)
    assert sorted(events.values_list("activity_id", flat=True)) == sorted(a.pk for a in retryable)
    assert set(events.values_list("from_status", "to_status", "actor_type", "actor_user_id", "error_message")) == {
        (S.FAILED, S.READY, ActorType.USER, admin_user.pk, "provider fixed")}


def test_a_row_that_changed_after_the_selection_is_judged_as_locked(commerce, tenant, monkeypatch):
    """Between the selection's read and the chunk's lock a dispatcher sends one, an override fails another and a
    third is deleted: the skips name the state each row was locked in, and only the rest change."""
    sent, overridden, deleted, *still_ready = ready_activities(commerce, 5)
    real = bulk_module.transition_many

    def racing(move, *, ids, actor, reason=""):
        Activity.objects.filter(pk=sent.pk).update(status=S.DISPATCHED)
        Activity.objects.filter(pk=overridden.pk).update(status=S.FAILED, failed_by=EventType.HARD_OVERRIDE)
        Activity.objects.filter(pk=deleted.pk).delete()
        return real(move, ids=ids, actor=actor, reason=reason)

    monkeypatch.setattr(bulk_module, "transition_many", racing)
    ids = [str(a.pk) for a in (sent, overridden, deleted, *still_ready)]

    result = activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation="cancel", ids=ids)

    assert result.as_dict() == {
        "matched": 5, "changed": 2, "skipped": {"DISPATCHED": 1, "FAILED": 1, "NOT_FOUND": 1},
        "results": [{"id": ids[0], "outcome": "DISPATCHED"}, {"id": ids[1], "outcome": "FAILED"},
                    {"id": ids[2], "outcome": "NOT_FOUND"}, {"id": ids[3], "outcome": "CHANGED"},
                    {"id": ids[4], "outcome": "CHANGED"}]}
    assert sorted(StatusEvent.objects.filter(event_type=EventType.CANCELED).values_list("activity_id", flat=True)) \
        == sorted(a.pk for a in still_ready)
    assert Activity.objects.get(pk=sent.pk).status == S.DISPATCHED
    assert Activity.objects.get(pk=overridden.pk).status == S.FAILED


def test_the_status_event_hook_runs_once_per_chunk_with_that_chunks_events(commerce, tenant, monkeypatch):
    monkeypatch.setattr(bulk_module, "CHUNK_SIZE", 3)
    calls = []
    monkeypatch.setattr(activity_hooks.hooks, "status_events_written",
                        [*activity_hooks.hooks.status_events_written, lambda events: calls.append(events)])
    ready = ready_activities(commerce, 7)

    activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation="cancel", filters={"status": [S.READY]})

    assert [len(events) for events in calls] == [3, 3, 1]
    assert {e.event_type for events in calls for e in events} == {EventType.CANCELED}
    assert sorted(e.activity_id for events in calls for e in events) == sorted(a.pk for a in ready)
    assert all(e.pk is not None and StatusEvent.objects.filter(pk=e.pk).exists() for events in calls for e in events)


def _queries(commerce, tenant, count):
    ready_activities(commerce, count)
    with CaptureQueriesContext(connection) as captured:
        result = activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation="cancel",
                                       filters={"status": [S.READY]}, reason="flat")
    assert result.changed == count
    return len(captured.captured_queries)


def test_the_queries_of_a_bulk_cancel_are_flat_per_chunk(commerce, tenant, monkeypatch):
    """1 read of the selection, then per chunk a fixed number (savepoint, lock, UPDATE, INSERT of the events,
    the outbox's endpoint look-up, release) whatever the chunk holds: 10 and 50 cost the same, 200 four chunks."""
    monkeypatch.setattr(bulk_module, "CHUNK_SIZE", 50)
    ten = _queries(commerce, tenant, 10)
    fifty = _queries(commerce, tenant, 50)
    two_hundred = _queries(commerce, tenant, 200)

    per_chunk = fifty - 1
    assert ten == fifty == 1 + per_chunk
    assert two_hundred == 1 + 4 * per_chunk
    assert per_chunk == 6
