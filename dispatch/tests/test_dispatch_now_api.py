import uuid

import pytest

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.tests import factories

pytestmark = pytest.mark.django_db


def url(activity_id):
    return f"/api/activities/tasks/{activity_id}/dispatch"


@pytest.fixture
def salesman_config(tenant, stub):
    return factories.config(tenant, channel="SALESMAN", base_url=stub.url)


@pytest.fixture
def task(tenant):
    return factories.activity(tenant, channel="SALESMAN", type="TASK",
                              scheduled_at=None)


def test_dispatches_a_ready_task_now(admin_api, admin_user, task, stub, salesman_config):
    response = admin_api.post(url(task.id))

    assert response.status_code == 204 and response.content == b""
    task = Activity.objects.get(pk=task.pk)
    assert task.status == ActivityStatus.DISPATCHED
    assert task.provider_activity_id == f"prov-{task.id}" and task.dispatch_config_id == salesman_config.id
    event = StatusEvent.objects.get(activity=task)
    assert (event.event_type, event.actor_type, event.actor_user_id) == (EventType.DISPATCH_SUCCESS, "USER",
                                                                         admin_user.id)
    assert stub.idempotency_keys() == {str(task.id): 1}


def test_a_task_scheduled_later_can_be_dispatched_now(admin_api, tenant, stub, salesman_config):
    from datetime import timedelta

    from django.utils import timezone

    later = factories.activity(tenant, channel="SALESMAN", type="TASK",
                               scheduled_at=timezone.now() + timedelta(days=2))
    assert admin_api.post(url(later.id)).status_code == 204
    later = Activity.objects.get(pk=later.pk)
    assert (later.status, later.dispatch_attempt_count) == (ActivityStatus.DISPATCHED, 1)
    assert list(StatusEvent.objects.filter(activity=later).values_list("event_type", flat=True)) == [
        EventType.DISPATCH_SUCCESS]
    assert stub.idempotency_keys() == {str(later.id): 1}


def test_a_message_is_400(admin_api, tenant, stub, salesman_config):
    message = factories.activity(tenant, channel="SALESMAN", type="MESSAGE")
    response = admin_api.post(url(message.id))
    assert response.status_code == 400
    assert response.json()["message"] == "Only TASK activities can be dispatched this way"
    message = Activity.objects.get(pk=message.pk)
    assert (message.status, message.dispatch_attempt_count, message.next_attempt_at) == (ActivityStatus.READY, 0,
                                                                                          None)
    assert not StatusEvent.objects.filter(activity=message).exists()
    assert stub.requests == []


def test_a_task_that_is_not_ready_is_400(admin_api, task, stub, salesman_config):
    Activity.objects.filter(pk=task.pk).update(status=ActivityStatus.CANCELED)
    response = admin_api.post(url(task.id))
    assert response.status_code == 400
    assert response.json()["message"] == "Only READY activities can be dispatched; this one is CANCELED"
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count) == (ActivityStatus.CANCELED, 0)
    assert not StatusEvent.objects.filter(activity=task).exists()
    assert stub.requests == []


def test_no_active_config_is_404(admin_api, task, stub):
    response = admin_api.post(url(task.id))
    assert response.status_code == 404
    assert response.json()["message"] == "No active dispatch config for channel SALESMAN"
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count, task.next_attempt_at) == (ActivityStatus.READY, 0, None)
    assert not StatusEvent.objects.filter(activity=task).exists()
    assert stub.requests == []


def test_provider_failure_is_502_and_counts_as_an_attempt(admin_api, task, stub, salesman_config):
    stub.set("error")

    response = admin_api.post(url(task.id))

    assert response.status_code == 502
    body = response.json()
    assert body == {"statusCode": 502, "error": "Bad Gateway", "errorCode": "PROVIDER_HTTP_500",
                    "message": "The provider failed: Provider answered HTTP 500", "providerStatusCode": 500}
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count) == (ActivityStatus.READY, 1)
    assert list(StatusEvent.objects.filter(activity=task).values_list("event_type", flat=True)) == [
        EventType.DISPATCH_ATTEMPT_FAILED]


def test_the_third_failed_dispatch_now_fails_the_activity(admin_api, task, stub, salesman_config):
    stub.set("error")
    responses = [admin_api.post(url(task.id)) for _ in range(4)]

    assert [response.status_code for response in responses] == [502, 502, 502, 400]
    assert responses[3].json()["message"] == "Only READY activities can be dispatched; this one is FAILED"
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count) == (ActivityStatus.FAILED, 3)
    assert len(stub.activity_requests()) == 3
    assert list(StatusEvent.objects.filter(activity=task).order_by("occurred_at").values_list(
        "event_type", "to_status")) == [(EventType.DISPATCH_ATTEMPT_FAILED, ActivityStatus.READY)] * 3 + [
        (EventType.DISPATCH_FAILED, ActivityStatus.FAILED)]


def test_permissions_and_tenancy(api_as, viewer_user, tenant, other_tenant, admin_api, stub, salesman_config):
    task = factories.activity(tenant, channel="SALESMAN", type="TASK")
    theirs = factories.activity(other_tenant, channel="SALESMAN", type="TASK")

    refused = api_as(viewer_user, tenant).post(url(task.id))
    assert (refused.status_code, refused.json()["message"]) == (403, "Missing permission DISPATCH_ACTIVITY")
    hidden = admin_api.post(url(theirs.id))
    unknown = admin_api.post(url(uuid.uuid4()))
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.json() == unknown.json()  # another tenant's id reads exactly like an unknown one
    assert stub.requests == []
    assert not StatusEvent.objects.filter(activity__in=[task, theirs]).exists()
    assert list(Activity.objects.filter(pk__in=[task.pk, theirs.pk]).values_list("status", "dispatch_attempt_count")
                ) == [(ActivityStatus.READY, 0)] * 2


def test_api_key_with_dispatch_permission(api_as, make_api_key, task, stub, salesman_config):
    from tenants.models import ApiKey

    key = make_api_key(["DISPATCH_ACTIVITY"])
    assert api_as(api_key=key).post(url(task.id)).status_code == 204
    assert Activity.objects.get(pk=task.pk).status == ActivityStatus.DISPATCHED
    event = StatusEvent.objects.get(activity=task)
    assert (event.event_type, event.actor_type, event.actor_api_key_id, event.actor_user_id) == (
        EventType.DISPATCH_SUCCESS, "API_KEY", ApiKey.objects.get().pk, None)
    assert stub.idempotency_keys() == {str(task.id): 1}


def test_a_task_a_dispatcher_is_sending_right_now_is_409_and_not_sent_twice(admin_api, task, stub, salesman_config):
    from datetime import timedelta

    from django.utils import timezone

    lease_end = timezone.now() + timedelta(seconds=120)
    Activity.objects.filter(pk=task.pk).update(dispatch_attempt_count=1, next_attempt_at=lease_end)  # a pass's claim

    response = admin_api.post(url(task.id))

    assert response.status_code == 409
    assert "sending this activity right now" in response.json()["message"]
    assert stub.activity_requests() == []
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count, task.next_attempt_at) == (ActivityStatus.READY, 1, lease_end)
    assert not StatusEvent.objects.filter(activity=task).exists()


def test_a_task_whose_claim_lease_ran_out_can_be_dispatched_now(admin_api, task, stub, salesman_config):
    from datetime import timedelta

    from django.utils import timezone

    Activity.objects.filter(pk=task.pk).update(dispatch_attempt_count=1,
                                               next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert admin_api.post(url(task.id)).status_code == 204
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count) == (ActivityStatus.DISPATCHED, 2)
    assert list(StatusEvent.objects.filter(activity=task).values_list("event_type", flat=True)) == [
        EventType.DISPATCH_SUCCESS]
    assert stub.idempotency_keys() == {str(task.id): 1}
