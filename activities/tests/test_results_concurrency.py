"""Results under real concurrency (PostgreSQL only): one row per result, one transition, one set of events."""
from datetime import timedelta

import pytest
from django.utils import timezone

from activities.models import Activity, StatusEvent, TaskResult
from activities.tests.factories import TaskResultTypeFactory, commerce_with_rep, dispatched_task, result_body
from activities.tests.test_concurrency import race
from commerces.tests.factories import OperatorFactory, RouteFactory
from conftest import Api
from tenants.services import api_key_create
from tenants.tests.factories import TenantFactory, member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
URL = "/api/integration/activity-results/tasks"


@pytest.fixture
def world():
    tenant = TenantFactory()
    admin = member(tenant, "ADMIN")
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    TaskResultTypeFactory(tenant=tenant, code="RESCHEDULE", requires_future_scheduled_at=True,
                          creates_follow_up=True)
    _, plaintext = api_key_create(tenant=tenant, creator=admin, name="race",
                                  permissions=["SUBMIT_ACTIVITY_RESULT", "MANAGE_ACTIVITY_CONFIG"])
    task = dispatched_task(commerce_with_rep(tenant), route=RouteFactory(tenant=tenant),
                           operator=OperatorFactory(tenant=tenant))
    return tenant, plaintext, task


def trail(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", flat=True))


def post_all(plaintext, bodies):
    clients = [Api(api_key=plaintext) for _ in bodies]
    responses = race(*[lambda c=c, b=b: c.post(URL, b) for c, b in zip(clients, bodies, strict=True)])
    assert all(not isinstance(r, Exception) for r in responses), responses
    return responses


def test_the_same_result_posted_20_times_at_once_is_stored_once(world):
    _, plaintext, task = world
    responses = post_all(plaintext, [result_body(task, status="EFFECTIVE")] * 20)
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert TaskResult.objects.filter(activity=task).count() == 1
    assert Activity.objects.get(pk=task.pk).status == "COMPLETED"
    assert trail(task) == ["CREATED", "RESULT_RECEIVED", "COMPLETED"]


def test_the_same_standalone_result_posted_20_times_at_once_is_stored_once(world):
    tenant, plaintext, task = world
    body = result_body(commerce=task.commerce_assignment.commerce, provider_activity_id="nobody-knows")
    responses = post_all(plaintext, [body] * 20)
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert TaskResult.objects.filter(tenant=tenant, source="STANDALONE").count() == 1


def test_two_different_final_results_at_once_one_wins_the_other_gets_409(world):
    _, plaintext, task = world
    completed, not_executed = post_all(plaintext, [result_body(task, status="COMPLETED"),
                                                   result_body(task, status="NOT_EXECUTED")])
    codes = sorted([completed.status_code, not_executed.status_code])
    assert codes == [201, 409]
    loser = completed if completed.status_code == 409 else not_executed
    assert loser.json()["errorCode"] == "ACTIVITY_ALREADY_CLOSED"
    winner = not_executed if loser is completed else completed
    final = Activity.objects.get(pk=task.pk).status
    assert final == winner.json()["activityStatus"] and final in ("COMPLETED", "FAILED")
    assert TaskResult.objects.filter(activity=task).count() == 1
    assert trail(task) == ["CREATED", "RESULT_RECEIVED", "COMPLETED" if final == "COMPLETED" else "EXECUTION_FAILED"]


def test_a_result_racing_a_hard_override_ends_in_one_legal_state(world):
    _, plaintext, task = world
    for _ in range(3):
        Activity.objects.filter(pk=task.pk).update(status="DISPATCHED", last_result=None)
        TaskResult.objects.all().delete()
        StatusEvent.objects.filter(activity=task).exclude(event_type="CREATED").delete()
        ordinary, override = post_all(plaintext, [
            result_body(task, status="COMPLETED"),
            result_body(task, status="CANCELED", hard_override=True, occurred_at="2025-01-16T12:30:00Z")])
        assert override.status_code == 201
        final = Activity.objects.get(pk=task.pk).status
        events = trail(task)
        if ordinary.status_code == 201:  # the result closed it first; the override then moved it
            assert final == "CANCELED"
            assert events == ["CREATED", "RESULT_RECEIVED", "COMPLETED", "RESULT_RECEIVED", "HARD_OVERRIDE"]
        else:  # the override closed it first (the ordinary close of a DISPATCHED task); the result is refused
            assert (ordinary.status_code, ordinary.json()["errorCode"]) == (409, "ACTIVITY_ALREADY_CLOSED")
            assert final == "CANCELED"
            assert events == ["CREATED", "RESULT_RECEIVED", "CANCELED"]
            assert TaskResult.objects.filter(activity=task).count() == 1


def test_a_follow_up_result_posted_twice_at_once_creates_one_follow_up(world):
    tenant, plaintext, task = world
    when = (timezone.now() + timedelta(days=2)).isoformat()
    body = {**result_body(task), "task_result": {"result": "RESCHEDULE", "future_scheduled_at": when}}
    responses = post_all(plaintext, [body, body])
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert len({r.json()["followUpActivityId"] for r in responses}) == 1
    assert Activity.objects.filter(tenant=tenant, follow_up_of=task).count() == 1
    assert Activity.objects.filter(tenant=tenant).count() == 2
