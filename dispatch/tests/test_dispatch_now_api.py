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


def test_a_message_is_400(admin_api, tenant, stub, salesman_config):
    message = factories.activity(tenant, channel="SALESMAN", type="MESSAGE")
    response = admin_api.post(url(message.id))
    assert response.status_code == 400
    assert Activity.objects.get(pk=message.pk).dispatch_attempt_count == 0
    assert stub.requests == []


def test_a_task_that_is_not_ready_is_400(admin_api, task, stub, salesman_config):
    Activity.objects.filter(pk=task.pk).update(status=ActivityStatus.CANCELED)
    response = admin_api.post(url(task.id))
    assert response.status_code == 400
    assert "CANCELED" in response.json()["message"]
    assert stub.requests == []


def test_no_active_config_is_404(admin_api, task, stub):
    response = admin_api.post(url(task.id))
    assert response.status_code == 404
    assert "SALESMAN" in response.json()["message"]
    assert Activity.objects.get(pk=task.pk).dispatch_attempt_count == 0


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
    codes = [admin_api.post(url(task.id)).status_code for _ in range(4)]

    assert codes == [502, 502, 502, 400]
    task = Activity.objects.get(pk=task.pk)
    assert (task.status, task.dispatch_attempt_count) == (ActivityStatus.FAILED, 3)
    assert len(stub.activity_requests()) == 3


def test_permissions_and_tenancy(api_as, viewer_user, tenant, other_tenant, admin_api, stub, salesman_config):
    task = factories.activity(tenant, channel="SALESMAN", type="TASK")
    theirs = factories.activity(other_tenant, channel="SALESMAN", type="TASK")

    assert api_as(viewer_user, tenant).post(url(task.id)).status_code == 403
    assert admin_api.post(url(theirs.id)).status_code == 404
    assert admin_api.post(url(uuid.uuid4())).status_code == 404
    assert stub.requests == []


def test_api_key_with_dispatch_permission(api_as, make_api_key, task, stub, salesman_config):
    key = make_api_key(["DISPATCH_ACTIVITY"])
    assert api_as(api_key=key).post(url(task.id)).status_code == 204
    assert StatusEvent.objects.get(activity=task).actor_type == "API_KEY"


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
