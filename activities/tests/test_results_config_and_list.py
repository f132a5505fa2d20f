"""Task result types (SPEC 6.3) and the integration task list (SPEC 6.4)."""
import uuid

import pytest

from activities.models import Activity, EventType, TaskResultType
from activities.tests.factories import (
    TaskResultTypeFactory,
    dispatched_task,
    make_activity,
    make_task,
    result_body,
    set_status,
)
from commerces.tests.factories import CommerceFactory, OperatorFactory, RouteFactory
from tenants.tests.factories import member

TYPES_URL = "/api/activity-config/task-result-types"
CONFIGS_URL = "/api/integration/task-result-type-configs"
TASKS_URL = "/api/integration/activities/tasks"


# --- result types -------------------------------------------------------------------------------------------------

def test_create_list_and_patch_result_types(admin_api):
    created = admin_api.post(TYPES_URL, {"code": "RESCHEDULE", "label": "Call again",
                                         "requires_future_scheduled_at": True, "creates_follow_up": True})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == {"id": body["id"], "code": "RESCHEDULE", "label": "Call again",
                    "requiresFutureScheduledAt": True, "createsFollowUp": True, "isActive": True,
                    "createdAt": body["createdAt"], "updatedAt": body["updatedAt"]}
    admin_api.post(TYPES_URL, {"code": "VISITED", "label": "Visited"})
    assert [t["code"] for t in admin_api.get(TYPES_URL).json()] == ["RESCHEDULE", "VISITED"]
    patched = admin_api.patch(f"{TYPES_URL}/{body['id']}", {"label": "Reschedule", "is_active": False})
    assert (patched.status_code, patched.json()["label"], patched.json()["isActive"]) == (200, "Reschedule", False)
    assert [t["code"] for t in admin_api.get(TYPES_URL, {"active_only": "true"}).json()] == ["VISITED"]


def test_creates_follow_up_needs_requires_future_scheduled_at(admin_api):
    response = admin_api.post(TYPES_URL, {"code": "X", "label": "X", "creates_follow_up": True})
    assert (response.status_code, list(response.json()["details"])) == (400, ["creates_follow_up"])
    assert not TaskResultType.objects.exists()
    kept = admin_api.post(TYPES_URL, {"code": "Y", "label": "Y", "requires_future_scheduled_at": True,
                                      "creates_follow_up": True}).json()
    response = admin_api.patch(f"{TYPES_URL}/{kept['id']}", {"requires_future_scheduled_at": False})
    assert response.status_code == 400
    assert TaskResultType.objects.get().requires_future_scheduled_at is True


def test_duplicate_code_is_409_and_the_code_cannot_change(admin_api, tenant, other_tenant):
    TaskResultTypeFactory(tenant=other_tenant, code="VISITED")  # another tenant's code is no conflict
    first = admin_api.post(TYPES_URL, {"code": "VISITED", "label": "Visited"})
    assert first.status_code == 201
    assert admin_api.post(TYPES_URL, {"code": "VISITED", "label": "Again"}).status_code == 409
    response = admin_api.patch(f"{TYPES_URL}/{first.json()['id']}", {"code": "OTHER"})
    assert (response.status_code, list(response.json()["details"])) == (400, ["code"])
    assert TaskResultType.objects.for_tenant(tenant).get().code == "VISITED"


@pytest.mark.parametrize("body", [{}, {"code": "A B", "label": "x"}, {"code": "x" * 65, "label": "x"},
                                  {"code": "A", "label": "x", "is_active": "perhaps"},
                                  {"code": "A", "label": "x", "colour": "red"}, {"code": "A"}])
def test_bad_result_type_bodies_are_400(admin_api, body):
    assert admin_api.post(TYPES_URL, body).status_code == 400
    assert not TaskResultType.objects.exists()


def test_result_type_permissions_and_tenancy(api_as, tenant, other_tenant, fde_user, viewer_user, admin_api):
    theirs = TaskResultTypeFactory(tenant=other_tenant)
    assert admin_api.patch(f"{TYPES_URL}/{theirs.pk}", {"label": "mine now"}).status_code == 404
    assert admin_api.patch(f"{TYPES_URL}/{uuid.uuid4()}", {"label": "x"}).status_code == 404
    mine = TaskResultTypeFactory(tenant=tenant)
    for user in (fde_user, viewer_user):
        client = api_as(user, tenant)
        assert client.get(TYPES_URL).status_code == 200
        assert client.post(TYPES_URL, {"code": "Z", "label": "Z"}).status_code == 403
        assert client.patch(f"{TYPES_URL}/{mine.pk}", {"label": "x"}).status_code == 403
    assert TaskResultType.objects.for_tenant(tenant).count() == 1
    theirs.refresh_from_db()
    assert theirs.label != "mine now"


def test_integration_configs_list_the_active_types(api_as, make_api_key, tenant, other_tenant):
    TaskResultTypeFactory(tenant=tenant, code="VISITED", label="Visited")
    TaskResultTypeFactory(tenant=tenant, code="RESCHEDULE", label="Again", requires_future_scheduled_at=True)
    TaskResultTypeFactory(tenant=tenant, code="OLD", is_active=False)
    TaskResultTypeFactory(tenant=other_tenant, code="THEIRS")
    response = api_as(api_key=make_api_key(["VIEW_ACTIVITIES"])).get(CONFIGS_URL)
    assert response.json() == [{"code": "RESCHEDULE", "label": "Again", "requiresFutureScheduledAt": True},
                               {"code": "VISITED", "label": "Visited", "requiresFutureScheduledAt": False}]
    assert api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"])).get(CONFIGS_URL).status_code == 403


# --- the integration task list ------------------------------------------------------------------------------------

@pytest.fixture
def view_key(api_as, make_api_key):
    return api_as(api_key=make_api_key(["VIEW_ACTIVITIES", "SUBMIT_ACTIVITY_RESULT"]))


def ids(response):
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["data"]}


def test_item_shape_status_vocabulary_and_last_result(view_key, commerce, route, operator, tenant):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    task = dispatched_task(commerce, route=route, operator=operator)
    view_key.post("/api/integration/activity-results/tasks", result_body(task, status="PENDING"))
    make_activity(commerce)  # a MESSAGE is not listed
    body = view_key.get(TASKS_URL).json()
    assert body["meta"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1}
    item = body["data"][0]
    assert item == {
        "id": str(task.pk), "type": "TASK", "status": "IN_PROGRESS", "channel": "SALESMAN",
        "scheduledAt": "2025-01-16T09:00:00.000Z", "createdAt": item["createdAt"],
        "commerceExternalId": commerce.external_id, "commerceName": commerce.name,
        "operatorExternalId": operator.external_id, "routeCode": route.code,
        "providerActivityId": task.provider_activity_id, "canForceRetryDispatch": False,
        "lastResult": item["lastResult"],
    }
    assert (item["lastResult"]["status"], item["lastResult"]["activityStatus"]) == ("PENDING", "DISPATCHED")


def test_the_detail_of_a_task_with_a_result_costs_five_queries(view_key, commerce, route, operator, tenant,
                                                                 query_count):
    """API key (2: key, the creator's roles), the activity with its joins (1), target users and attributes (2): the
    latest result's activityStatus is the activity's own status, read without joining the activity again."""
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    task = dispatched_task(commerce, route=route, operator=operator)
    view_key.post("/api/integration/activity-results/tasks", result_body(task, status="PENDING"))
    with query_count() as counted:
        response = view_key.get(f"/api/activities/{task.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["lastResult"]["status"], body["lastResult"]["activityStatus"]) == ("PENDING", "DISPATCHED")
    assert body["lastResult"]["activityId"] == str(task.pk)
    assert body["taskDetails"]["route"] == {"code": route.code, "name": route.name}
    assert len(counted.captured_queries) == 5, [query["sql"] for query in counted.captured_queries]


def test_filters(view_key, tenant, commerce, route, operator):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    other_commerce = CommerceFactory(tenant=tenant)
    other_operator = OperatorFactory(tenant=tenant, type="CALLCENTER")
    ready = make_task(commerce, route=route, operator=operator, scheduled_at="2025-01-10T09:00:00Z")
    unresolved = set_status(make_task(commerce, route=route, operator=operator), "UNRESOLVED")
    dispatched = dispatched_task(other_commerce, route=route, operator=operator)
    completed = dispatched_task(commerce, route=route, operator=operator, scheduled_at="2025-01-20T09:00:00Z")
    view_key.post("/api/integration/activity-results/tasks", result_body(completed, status="EFFECTIVE"))
    canceled = set_status(make_task(commerce, route=route, operator=operator), "CANCELED")
    failed = set_status(make_task(commerce, route=route, operator=operator), "FAILED")
    call = make_task(commerce, route=route, operator=other_operator, channel="CALLCENTER")

    def listed(**params):
        return ids(view_key.get(TASKS_URL, params))

    assert listed(status="PENDING") == {str(a.pk) for a in (ready, unresolved, call)}
    assert listed(status="IN_PROGRESS") == {str(dispatched.pk)}
    assert listed(status="COMPLETED") == {str(completed.pk)}
    assert listed(status="CANCELLED") == {str(canceled.pk), str(failed.pk)}
    assert listed(status="COMPLETED,IN_PROGRESS") == {str(completed.pk), str(dispatched.pk)}
    assert listed(result_status="EFFECTIVE") == {str(completed.pk)}
    assert listed(result_status="PENDING") == set()
    assert listed(channel="CALLCENTER") == {str(call.pk)}
    assert listed(external_commerce_id=other_commerce.external_id) == {str(dispatched.pk)}
    assert listed(external_operator_id=other_operator.external_id) == {str(call.pk)}
    assert listed(scheduled_to="2025-01-10") == {str(ready.pk)}
    assert listed(scheduled_from="2025-01-20T09:00:00Z") == {str(completed.pk)}
    for bad in ({"status": "READY"}, {"result_status": "DONE"}, {"channel": "FAX"}, {"scheduled_from": "x"},
                {"per_page": "a"}):
        response = view_key.get(TASKS_URL, bad)
        assert response.status_code == 400, bad


def test_can_force_retry_dispatch_only_for_a_dispatch_failure(view_key, commerce, route, operator):
    by_dispatch = make_task(commerce, route=route, operator=operator)
    by_result = make_task(commerce, route=route, operator=operator)
    # What failed them is the field their transition set (dispatch_exhausted / result_not_executed), not the trail.
    for activity, failed_by in ((by_dispatch, EventType.DISPATCH_FAILED), (by_result, EventType.EXECUTION_FAILED)):
        Activity.objects.filter(pk=activity.pk).update(status="FAILED", failed_by=failed_by)
    flags = {item["id"]: item["canForceRetryDispatch"] for item in view_key.get(TASKS_URL).json()["data"]}
    assert flags == {str(by_dispatch.pk): True, str(by_result.pk): False}


def test_paging_defaults_to_20_clamps_at_100_and_keeps_a_constant_query_count(view_key, tenant, commerce, route,
                                                                                operator, query_count):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    operators = [OperatorFactory(tenant=tenant) for _ in range(3)]
    for index in range(110):
        task = dispatched_task(commerce, route=route, operator=operators[index % 3])
        if index % 2:
            view_key.post("/api/integration/activity-results/tasks", result_body(task, status="PENDING"))
    assert len(view_key.get(TASKS_URL).json()["data"]) == 20
    assert view_key.get(TASKS_URL, {"per_page": 500}).json()["meta"]["limit"] == 100
    counts = []
    for per_page in (1, 100):
        with query_count() as counted:
            response = view_key.get(TASKS_URL, {"per_page": per_page})
        assert len(response.json()["data"]) == per_page
        counts.append(len(counted.captured_queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 6


def test_only_this_tenants_tasks_and_api_key_permissions(view_key, api_as, make_api_key, other_tenant, commerce,
                                                         route, operator):
    mine = make_task(commerce, route=route, operator=operator)
    make_task(CommerceFactory(tenant=other_tenant), route=RouteFactory(tenant=other_tenant),
              operator=OperatorFactory(tenant=other_tenant))
    assert ids(view_key.get(TASKS_URL)) == {str(mine.pk)}
    assert api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"])).get(TASKS_URL).status_code == 403


def test_a_key_of_another_tenant_named_in_the_header_is_403(api_as, make_api_key, other_tenant):
    plaintext = make_api_key(["VIEW_ACTIVITIES"])
    client = api_as(api_key=plaintext)
    client.client.credentials(HTTP_X_API_KEY=plaintext, HTTP_X_TENANT_ID=str(other_tenant.pk))
    assert client.get(TASKS_URL).status_code == 403


def test_a_viewer_member_with_a_key_of_view_activities(api_as, tenant, other_tenant):
    from tenants.services import api_key_create

    viewer = member(tenant, "VIEWER")
    _, plaintext = api_key_create(tenant=tenant, creator=viewer, name="v", permissions=["VIEW_ACTIVITIES"])
    assert api_as(api_key=plaintext).get(TASKS_URL).status_code == 200
    assert api_as(api_key=plaintext).post("/api/integration/activity-results/tasks", {}).status_code == 403
