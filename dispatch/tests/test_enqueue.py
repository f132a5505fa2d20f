"""enqueue_if_due: the on-commit path for an activity created already due (without a broker: in-process)."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from activities.models import Activity, ActivityStatus
from dispatch.services import enqueue_if_due
from dispatch.tests import factories


@pytest.mark.django_db
def test_nothing_is_queued_for_an_activity_that_is_not_due(tenant, stub):
    factories.config(tenant, channel="SMS", base_url=stub.url)
    later = factories.activity(tenant, channel="SMS", scheduled_at=timezone.now() + timedelta(hours=1))
    no_config = factories.activity(tenant, channel="EMAIL")
    canceled = factories.activity(tenant, channel="SMS")
    Activity.objects.filter(pk=canceled.pk).update(status=ActivityStatus.CANCELED)

    assert [enqueue_if_due(a.pk) for a in (later, no_config, canceled)] == [None, None, None]
    time.sleep(0.1)
    assert stub.requests == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_a_broker_a_due_activity_is_sent_in_the_background(tenant, stub, settings):
    settings.CELERY_BROKER_URL = ""
    stub.set("accept", latency=2.0)
    factories.config(tenant, channel="SMS", base_url=stub.url)
    activity = factories.activity(tenant, channel="SMS")

    started = time.monotonic()
    future = enqueue_if_due(activity.pk)
    returned_after = time.monotonic() - started

    assert returned_after < 1.5  # the caller (an HTTP response) does not wait for the 2 s provider
    report = future.result(timeout=10)
    assert report.dispatched == 1
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.DISPATCHED
    assert stub.idempotency_keys() == {str(activity.pk): 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_an_unreachable_broker_due_activities_leave_in_process(tenant, stub, settings, celery_broker, caplog,
                                                                   monkeypatch):
    from dispatch.services import enqueue

    monkeypatch.setattr(enqueue, "_broker_down_until", 0.0)
    celery_broker("redis://127.0.0.1:1/0")
    factories.config(tenant, channel="SMS", base_url=stub.url)
    first, second = factories.activity(tenant, channel="SMS"), factories.activity(tenant, channel="SMS")

    started = time.monotonic()
    report = enqueue_if_due(first.pk).result(timeout=10)  # the broker refused: sent from this process
    assert time.monotonic() - started < 3
    assert report.dispatched == 1
    assert caplog.text.count("Could not queue the dispatch of") == 1
    assert f"Could not queue the dispatch of {first.pk}; sending in-process" in caplog.text

    # Within BROKER_RETRY_AFTER_SECONDS the broker is not tried again: no second refused connection to wait for.
    report = enqueue_if_due(second.pk).result(timeout=10)
    assert report.dispatched == 1
    assert caplog.text.count("Could not queue the dispatch of") == 1
    assert [Activity.objects.get(pk=a.pk).status for a in (first, second)] == [ActivityStatus.DISPATCHED] * 2
    assert stub.idempotency_keys() == {str(first.pk): 1, str(second.pk): 1}  # each sent once


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_broker_is_tried_again_once_the_pause_is_over(tenant, stub, settings, celery_broker, caplog,
                                                          monkeypatch):
    from dispatch.services import enqueue

    monkeypatch.setattr(enqueue, "_broker_down_until", 0.0)
    monkeypatch.setattr(enqueue, "BROKER_RETRY_AFTER_SECONDS", 0.0)
    celery_broker("redis://127.0.0.1:1/0")
    factories.config(tenant, channel="SMS", base_url=stub.url)
    activities = [factories.activity(tenant, channel="SMS") for _ in range(2)]

    for activity in activities:
        assert enqueue_if_due(activity.pk).result(timeout=10).dispatched == 1

    assert caplog.text.count("Could not queue the dispatch of") == 2  # tried (and refused) each time


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_creation_is_enqueued_as_one_job(tenant, stub, settings):
    from dispatch.services import enqueue_many_if_due

    settings.CELERY_BROKER_URL = ""
    factories.config(tenant, channel="SMS", base_url=stub.url)
    due = [factories.activity(tenant, channel="SMS") for _ in range(3)]
    later = factories.activity(tenant, channel="SMS", scheduled_at=timezone.now() + timedelta(hours=1))

    report = enqueue_many_if_due([a.pk for a in due] + [later.pk]).result(timeout=10)

    assert (report.claimed, report.dispatched) == (3, 3)
    assert set(stub.idempotency_keys()) == {str(a.pk) for a in due}
    assert Activity.objects.get(pk=later.pk).status == ActivityStatus.READY


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_creating_a_due_activity_through_the_api_dispatches_it_without_holding_the_response(
        tenant, admin_api, stub, settings, monkeypatch):
    import dispatch.services
    from activities.hooks import hooks
    from commerces.models import CommerceUserRole, CommerceUserRoleAssignment

    settings.CELERY_BROKER_URL = ""
    stub.set("accept", latency=3.0)
    factories.config(tenant, channel="SMS", base_url=stub.url)
    commerce, person = factories.commerce_with_person(tenant)
    CommerceUserRoleAssignment.objects.create(commerce_user=person, role=CommerceUserRole.COMMERCE_REP)
    # Keep the background job's future, so the test waits on it instead of polling the database meanwhile
    # (SQLite's shared in-memory test database refuses a write while another connection reads).
    jobs = []
    real_enqueue = dispatch.services.enqueue_many_if_due
    # The handler dispatch registered in activities' hook (dispatch/apps.py), wrapped to keep the job it starts.
    monkeypatch.setattr(hooks, "activities_due", [lambda ids: jobs.append(real_enqueue(ids))])

    started = time.monotonic()
    response = admin_api.post("/api/activities", {
        "type": "MESSAGE", "reason": "Win back", "channel": "SMS", "commerce_id": str(commerce.id),
        "idempotency_key": "due-now-api", "scheduled_at": timezone.now().isoformat()})
    answered_after = time.monotonic() - started

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "READY" and answered_after < 2.5  # not held by the 3 s provider
    assert len(jobs) == 1 and jobs[0] is not None
    assert jobs[0].result(timeout=30).dispatched == 1
    assert Activity.objects.get(pk=response.json()["id"]).status == ActivityStatus.DISPATCHED
    assert stub.idempotency_keys() == {response.json()["id"]: 1}


@pytest.mark.django_db
def test_a_celery_task_sends_the_new_due_activities_queued_behind_it_and_nothing_else(tenant, other_tenant, stub):
    """dispatch.activities (one task per created activity) takes along the other new, never attempted, due
    activities of its tenant: their own tasks then find them claimed. Older or retried work is left to the passes."""
    from dispatch.tasks import dispatch_activities

    factories.config(tenant, channel="SMS", base_url=stub.url)
    factories.config(other_tenant, channel="SMS", base_url=stub.url)
    mine, behind = factories.activity(tenant, channel="SMS"), factories.activity(tenant, channel="SMS")
    old, retried = factories.activity(tenant, channel="SMS"), factories.activity(tenant, channel="SMS")
    Activity.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    Activity.objects.filter(pk=retried.pk).update(dispatch_attempt_count=1)
    later = factories.activity(tenant, channel="SMS", scheduled_at=timezone.now() + timedelta(hours=1))
    no_config = factories.activity(tenant, channel="EMAIL")
    elsewhere = factories.activity(other_tenant, channel="SMS")

    report = dispatch_activities([str(mine.pk)])

    assert (report["claimed"], report["dispatched"]) == (2, 2)
    assert stub.idempotency_keys() == {str(mine.pk): 1, str(behind.pk): 1}
    statuses = dict(Activity.objects.values_list("pk", "status"))
    assert {statuses[a.pk] for a in (mine, behind)} == {ActivityStatus.DISPATCHED}
    assert {statuses[a.pk] for a in (old, retried, later, no_config, elsewhere)} == {ActivityStatus.READY}
    # The task queued for `behind` finds it sent: nothing goes twice.
    assert dispatch_activities([str(behind.pk)])["claimed"] == 0
    assert len(stub.activity_requests()) == 2


@pytest.mark.django_db
def test_a_celery_task_whose_activity_was_taken_sweeps_nothing(tenant, stub):
    from dispatch.tasks import dispatch_activities

    factories.config(tenant, channel="SMS", base_url=stub.url)
    taken, other = factories.activity(tenant, channel="SMS"), factories.activity(tenant, channel="SMS")
    Activity.objects.filter(pk=taken.pk).update(status=ActivityStatus.CANCELED)

    assert dispatch_activities([str(taken.pk)])["claimed"] == 0
    assert stub.activity_requests() == []
    assert Activity.objects.get(pk=other.pk).status == ActivityStatus.READY


@pytest.mark.django_db
def test_the_due_check_judges_just_created_instances_as_they_are_and_reads_ids(tenant, stub,
                                                                             django_assert_num_queries):
    from dispatch.services.enqueue import due_activity_ids

    factories.config(tenant, channel="SMS", base_url=stub.url)
    due, later = factories.activity(tenant, channel="SMS"), factories.activity(
        tenant, channel="SMS", scheduled_at=timezone.now() + timedelta(hours=1))
    no_config = factories.activity(tenant, channel="EMAIL")

    with django_assert_num_queries(1):  # the tenant's configs; the rows are the ones in hand
        assert due_activity_ids([due, later, no_config]) == [due.pk]
    Activity.objects.filter(pk=due.pk).update(status=ActivityStatus.CANCELED)
    with django_assert_num_queries(2):  # ids are read (the canceled one is not due), then the configs
        assert due_activity_ids([due.pk, later.pk]) == []
