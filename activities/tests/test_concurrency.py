"""Row locks and the unique idempotency key under real concurrency (PostgreSQL only)."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from activities.models import Activity, ActivityStatus, ResolutionStrategy, StatusEvent
from activities.services import (
    activity_bulk_create,
    activity_cancel,
    activity_retry_resolution,
    target_user_resolve,
)
from activities.tests.factories import (
    TargetResolutionConfigFactory,
    commerce_with_rep,
    create_body,
    make_activity,
    reachable_user,
)
from commerces.tests.factories import CommerceFactory, CommerceUserFactory
from conftest import Api
from reten import errors
from reten.tests.locks import backend_pid, wait_until_blocked
from tenants.actors import SYSTEM
from tenants.tests.factories import TenantFactory, member

# serialized_rollback: the flush after each test would otherwise drop what migrations seed (roles, attribute keys).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def race(*calls):
    """Run the calls at the same moment, each on its own thread and connection; return each outcome."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer is still running (deadlock?)"
    return outcomes


CANCEL_REFUSED = "Cannot cancel: the activity is {}; only READY activities can be canceled"
RETRY_REFUSED = "Cannot retry resolution: the activity is {}; only UNRESOLVED activities can be retried"


def refused(outcome, message):
    return isinstance(outcome, errors.IllegalTransition) and str(outcome) == message


def events(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", flat=True))


def test_two_concurrent_cancels_exactly_one_wins():
    activity = make_activity(commerce_with_rep(TenantFactory()))
    outcomes = race(lambda: activity_cancel(activity=activity, actor=SYSTEM),
                    lambda: activity_cancel(activity=activity, actor=SYSTEM))
    winners = [o for o in outcomes if isinstance(o, Activity)]
    losers = [o for o in outcomes if not isinstance(o, Activity)]
    assert len(winners) == 1 and winners[0].status == ActivityStatus.CANCELED
    assert len(losers) == 1 and refused(losers[0], CANCEL_REFUSED.format("CANCELED")), losers
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.CANCELED
    assert events(activity) == ["CREATED", "CANCELED"]


def test_a_cancel_racing_a_retry_resolution_never_acts_on_a_state_it_did_not_lock():
    """Cancel needs READY, retry needs UNRESOLVED: on an UNRESOLVED activity the retry always wins; the cancel
    either saw UNRESOLVED (refused) or ran after the retry committed (READY -> CANCELED). Never both from the
    same state, and the trail records exactly the transitions that happened, in order."""
    tenant = TenantFactory()
    for _ in range(5):
        commerce = CommerceFactory(tenant=tenant)
        activity = make_activity(commerce)
        assert activity.status == ActivityStatus.UNRESOLVED
        reachable_user(commerce, "OWNER")
        cancel, retry = race(lambda a=activity: activity_cancel(activity=a, actor=SYSTEM),
                             lambda a=activity: activity_retry_resolution(activity=a, actor=SYSTEM))
        assert isinstance(retry, Activity) and retry.status == ActivityStatus.READY
        final = Activity.objects.get(pk=activity.pk).status
        if isinstance(cancel, errors.IllegalTransition):
            assert refused(cancel, CANCEL_REFUSED.format("UNRESOLVED")), cancel
            assert final == ActivityStatus.READY
            assert events(activity) == ["CREATED", "RESOLUTION_FAILED", "RESOLUTION_RETRY_SUCCESS"]
        else:
            assert isinstance(cancel, Activity) and cancel.status == ActivityStatus.CANCELED, cancel
            assert final == ActivityStatus.CANCELED
            assert events(activity) == ["CREATED", "RESOLUTION_FAILED", "RESOLUTION_RETRY_SUCCESS", "CANCELED"]


def test_a_cancel_racing_a_retry_resolution_on_a_ready_activity_exactly_one_wins():
    activity = make_activity(commerce_with_rep(TenantFactory()))
    cancel, retry = race(lambda: activity_cancel(activity=activity, actor=SYSTEM),
                         lambda: activity_retry_resolution(activity=activity, actor=SYSTEM))
    assert isinstance(cancel, Activity) and cancel.status == ActivityStatus.CANCELED
    # The retry refuses whichever it saw: READY before the cancel committed, CANCELED after.
    assert refused(retry, RETRY_REFUSED.format("READY")) or refused(retry, RETRY_REFUSED.format("CANCELED")), retry
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.CANCELED
    assert events(activity) == ["CREATED", "CANCELED"]


def test_two_concurrent_retries_exactly_one_wins():
    tenant = TenantFactory()
    commerce = CommerceFactory(tenant=tenant)
    activity = make_activity(commerce)
    reachable_user(commerce, "OWNER")
    outcomes = race(lambda: activity_retry_resolution(activity=activity, actor=SYSTEM),
                    lambda: activity_retry_resolution(activity=activity, actor=SYSTEM))
    winners = [o for o in outcomes if isinstance(o, Activity)]
    losers = [o for o in outcomes if not isinstance(o, Activity)]
    assert len(winners) == 1 and winners[0].status == ActivityStatus.READY
    assert len(losers) == 1 and refused(losers[0], RETRY_REFUSED.format("READY")), losers
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY
    assert events(activity) == ["CREATED", "RESOLUTION_FAILED", "RESOLUTION_RETRY_SUCCESS"]


def test_manual_assignment_racing_a_retry_moves_the_activity_to_ready_once():
    tenant = TenantFactory()
    commerce = commerce_with_rep(tenant)
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.MANUAL)
    activity = make_activity(commerce)
    target = activity.target_users.get()
    person = CommerceUserFactory(commerce=commerce)
    resolved, retry = race(
        lambda: target_user_resolve(activity=activity, target_user_id=target.pk, commerce_user_id=person.pk,
                                    actor=SYSTEM),
        lambda: activity_retry_resolution(activity=activity, actor=SYSTEM))
    assert not isinstance(resolved, Exception), resolved
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.READY
    target.refresh_from_db()
    assert target.commerce_user_id == person.pk
    # A retry cannot resolve a MANUAL target by itself: it either ran first and failed again (the activity stayed
    # UNRESOLVED until the assignment moved it to READY), or it found the assignment done (READY) and was refused.
    if isinstance(retry, Activity):
        assert retry.status == ActivityStatus.UNRESOLVED
        assert events(activity) == ["CREATED", "RESOLUTION_FAILED", "RESOLUTION_RETRY_FAILED", "TARGET_USER_RESOLVED",
                                   "RESOLUTION_RETRY_SUCCESS"]
    else:
        assert refused(retry, RETRY_REFUSED.format("READY")), retry
        assert events(activity) == ["CREATED", "RESOLUTION_FAILED", "TARGET_USER_RESOLVED", "RESOLUTION_RETRY_SUCCESS"]


def test_twenty_concurrent_identical_creates_make_one_activity():
    tenant = TenantFactory()
    commerce = commerce_with_rep(tenant)
    admin = member(tenant, "ADMIN")
    body = {"type": "MESSAGE", "reason": "Win back", "channel": "WHATSAPP", "commerce_id": str(commerce.pk),
            "idempotency_key": "same-key", "scheduled_at": "2025-01-16T09:00:00Z", "attribute_keys": ["promotions"]}
    clients = [Api(user=admin, tenant=tenant) for _ in range(20)]
    responses = race(*[lambda c=c: c.post("/api/activities", body) for c in clients])
    assert all(not isinstance(r, Exception) for r in responses), responses
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert Activity.objects.filter(tenant=tenant).count() == 1
    activity = Activity.objects.get(tenant=tenant)
    assert events(activity) == ["CREATED"]
    assert activity.target_users.count() == 1 and activity.attributes.count() == 1


def test_a_bulk_create_that_loses_the_race_for_its_keys_replays_them_and_creates_the_rest():
    """The race window of activity_bulk_create: the loser read no existing keys, then its batch insert waits on
    the winner's uncommitted rows and fails on the unique key once they commit. It falls back to one insert per
    item: the keys the winner took are replayed (or refused, body differs), its own new key is created."""
    tenant = TenantFactory()
    commerce = commerce_with_rep(tenant)
    later = timezone.now() + timedelta(days=1)  # not due: no dispatch on commit
    shared = [create_body(commerce, idempotency_key=f"race-{n}", scheduled_at=later) for n in range(3)]
    changed = {**shared[2], "reason": "Another reason"}
    own = create_body(commerce, idempotency_key="race-own", scheduled_at=later)
    winner_inserted, release_winner, loser_started = threading.Event(), threading.Event(), threading.Event()
    pids, outcomes = {}, {}

    def winner():
        try:
            with transaction.atomic():
                pids["winner"] = backend_pid()
                outcomes["winner"] = activity_bulk_create(tenant=tenant, actor=SYSTEM, items=list(shared))
                winner_inserted.set()
                release_winner.wait(10)  # commit only once the loser is stuck behind these rows
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes["winner"] = exc
        finally:
            connection.close()

    def loser():
        try:
            pids["loser"] = backend_pid()
            loser_started.set()
            outcomes["loser"] = activity_bulk_create(tenant=tenant, actor=SYSTEM,
                                                     items=[shared[0], shared[1], changed, own])
        except Exception as exc:  # noqa: BLE001
            outcomes["loser"] = exc
        finally:
            connection.close()

    winner_thread = threading.Thread(target=winner)
    winner_thread.start()
    assert winner_inserted.wait(10)
    loser_thread = threading.Thread(target=loser)
    loser_thread.start()
    assert loser_started.wait(10)
    blocked = wait_until_blocked(pids["loser"], by_pid=pids["winner"])
    release_winner.set()
    winner_thread.join(30)
    loser_thread.join(30)
    assert not winner_thread.is_alive() and not loser_thread.is_alive()
    assert blocked, "the loser never waited on the winner's rows: the fallback was not exercised"

    stored = {a.idempotency_key: a for a in Activity.objects.filter(tenant=tenant)}
    assert sorted(stored) == ["race-0", "race-1", "race-2", "race-own"]  # one row per key
    won, lost = outcomes["winner"], outcomes["loser"]
    assert [(o.status, o.activity_id) for o in won] == [(201, stored[f"race-{n}"].pk) for n in range(3)]
    assert [(o.index, o.status, o.activity_id) for o in lost] == [
        (0, 200, stored["race-0"].pk), (1, 200, stored["race-1"].pk), (2, 409, stored["race-2"].pk),
        (3, 201, stored["race-own"].pk)]
    assert isinstance(lost[2].error, errors.Conflict)
    assert lost[2].error.message == "This idempotency key was already used with a different body"
    assert stored["race-2"].reason == "Win back"  # the refused body changed nothing
    for activity in stored.values():
        assert events(activity) == ["CREATED"]
