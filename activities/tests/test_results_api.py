"""Task results over the API (SPEC 6.1): both doors, every status, matching, resends, conflicts, overrides."""
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from activities.models import Activity, StatusEvent, TaskResult, TaskResultType
from activities.tests.factories import (
    TaskResultTypeFactory,
    activity_in,
    dispatched_task,
    make_task,
    result_body,
    set_status,
)
from commerces.tests.factories import CommerceFactory
from tenants.tests.factories import member

JWT_URL = "/api/activity-results/tasks"
KEY_URL = "/api/integration/activity-results/tasks"


@pytest.fixture
def result_types(tenant):
    return {
        "VISITED": TaskResultTypeFactory(tenant=tenant, code="VISITED", label="Visited"),
        "RESCHEDULE": TaskResultTypeFactory(tenant=tenant, code="RESCHEDULE", label="Call again",
                                            requires_future_scheduled_at=True, creates_follow_up=True),
        "CALL_BACK": TaskResultTypeFactory(tenant=tenant, code="CALL_BACK", label="Call back at",
                                           requires_future_scheduled_at=True),
        "RETIRED": TaskResultTypeFactory(tenant=tenant, code="RETIRED", label="Old", is_active=False),
    }


@pytest.fixture
def task(commerce, route, operator, result_types):
    return dispatched_task(commerce, route=route, operator=operator)


@pytest.fixture
def key_api(api_as, make_api_key):
    return api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]))


@pytest.fixture
def override_key_api(api_as, make_api_key):
    return api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT", "MANAGE_ACTIVITY_CONFIG"]))


@pytest.fixture(params=["jwt", "api_key"])
def door(request, admin_api, key_api):
    """(client, url): the back-office route with a JWT, the integration route with an API key."""
    return (admin_api, JWT_URL) if request.param == "jwt" else (key_api, KEY_URL)


def events(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "from_status", "to_status"))


def status_of(activity):
    return Activity.objects.get(pk=activity.pk).status


BEFORE = [("CREATED", None, "READY")]  # dispatched_task() sets DISPATCHED without an event


@pytest.mark.parametrize("result_status, activity_status, closing_event", [
    ("COMPLETED", "COMPLETED", "COMPLETED"),
    ("TRANSFERRED", "COMPLETED", "COMPLETED"),
    ("EFFECTIVE", "COMPLETED", "COMPLETED"),
    ("NOT_EFFECTIVE", "COMPLETED", "COMPLETED"),
    ("NOT_EXECUTED", "FAILED", "EXECUTION_FAILED"),
    ("CANCELED", "CANCELED", "CANCELED"),
])
def test_each_status_closes_a_dispatched_task_through_both_doors(door, task, result_status, activity_status,
                                                                 closing_event):
    client, url = door
    response = client.post(url, result_body(task, status=result_status))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["activityStatus"]) == (result_status, activity_status)
    assert status_of(task) == activity_status
    assert events(task) == [*BEFORE, ("RESULT_RECEIVED", "DISPATCHED", "DISPATCHED"),
                            (closing_event, "DISPATCHED", activity_status)]
    stored = TaskResult.objects.get()
    assert stored.status == result_status  # EFFECTIVE and NOT_EFFECTIVE stay distinct on the result
    activity = Activity.objects.get(pk=task.pk)
    assert activity.last_result_id == stored.pk
    assert (activity.completed_at is not None) == (activity_status == "COMPLETED")


def test_pending_records_and_changes_nothing_then_the_final_result_closes(door, task):
    client, url = door
    for minute in (1, 2):
        response = client.post(url, result_body(task, status="PENDING", occurred_at=f"2025-01-16T12:0{minute}:00Z"))
        assert (response.status_code, response.json()["activityStatus"]) == (201, "DISPATCHED")
    assert status_of(task) == "DISPATCHED"
    final = client.post(url, result_body(task, status="EFFECTIVE", occurred_at="2025-01-16T12:05:00Z"))
    assert (final.status_code, final.json()["activityStatus"]) == (201, "COMPLETED")
    assert TaskResult.objects.count() == 3
    assert [e[0] for e in events(task)] == ["CREATED", "RESULT_RECEIVED", "RESULT_RECEIVED", "RESULT_RECEIVED",
                                            "COMPLETED"]


def test_response_shape_and_raw_payload_kept_as_sent(key_api, task):
    future = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    body = result_body(task, status="NOT_EFFECTIVE", external_status="no_compra", code="CALL_BACK",
                       raw_payload={"someKey": {"nested_key": 1}, "CamelCase": [1, "two"]},
                       task_result={"result": "CALL_BACK", "comment": "Owner away", "contact_type": "OUTBOUND",
                                    "operator_external_id": "OP-7", "future_scheduled_at": future.isoformat(),
                                    "payload": {"visitLength": 12, "snake_key": True}})
    response = key_api.post(KEY_URL, body)
    assert response.status_code == 201, response.content
    stored = TaskResult.objects.get()
    assert response.json() == {
        "id": str(stored.pk), "source": "RETEN_ACTIVITY", "activityId": str(task.pk),
        "providerActivityId": task.provider_activity_id, "commerceId": str(task.commerce_assignment.commerce_id),
        "status": "NOT_EFFECTIVE", "externalStatus": "no_compra", "occurredAt": "2025-01-16T12:00:00.000Z",
        "taskResult": {"result": "CALL_BACK", "comment": "Owner away", "contactType": "OUTBOUND",
                       "operatorExternalId": "OP-7",
                       "futureScheduledAt": future.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                       "payload": {"visitLength": 12, "snake_key": True}},
        "activityStatus": "COMPLETED", "followUpActivityId": None,
        "createdAt": response.json()["createdAt"],
    }
    assert stored.raw_payload == {"someKey": {"nested_key": 1}, "CamelCase": [1, "two"]}
    assert stored.payload == {"visitLength": 12, "snake_key": True}
    assert (stored.actor_type, stored.actor_api_key_id is not None) == ("API_KEY", True)


def test_camel_case_body_is_accepted(key_api, task):
    response = key_api.post(KEY_URL, {"activityId": str(task.pk),
                                      "commerceExternalId": task.commerce_assignment.commerce.external_id,
                                      "occurredAt": "2025-01-16T12:00:00Z", "status": "COMPLETED",
                                      "taskResult": {"result": "VISITED", "contactType": "INBOUND"}})
    assert response.status_code == 201, response.content
    assert TaskResult.objects.get().contact_type == "INBOUND"


# --- matching ---------------------------------------------------------------------------------------------------

def test_provider_activity_id_matches_within_the_tenant(key_api, task):
    body = result_body(task)
    del body["activity_id"]
    body["provider_activity_id"] = task.provider_activity_id
    response = key_api.post(KEY_URL, body)
    assert (response.status_code, response.json()["source"], response.json()["activityId"]) == (
        201, "RETEN_ACTIVITY", str(task.pk))
    assert status_of(task) == "COMPLETED"


def test_activity_id_wins_over_provider_activity_id(key_api, task, commerce, route, operator):
    other = dispatched_task(commerce, route=route, operator=operator)
    response = key_api.post(KEY_URL, result_body(task, provider_activity_id=other.provider_activity_id))
    assert response.json()["activityId"] == str(task.pk)
    assert (status_of(task), status_of(other)) == ("COMPLETED", "DISPATCHED")


def test_unmatched_provider_id_is_stored_standalone_against_the_commerce(door, commerce, result_types):
    client, url = door
    response = client.post(url, result_body(commerce=commerce, provider_activity_id="ext-999"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["activityId"], body["commerceId"], body["providerActivityId"],
            body["activityStatus"]) == ("STANDALONE", None, str(commerce.pk), "ext-999", None)
    assert TaskResult.objects.get().activity_id is None
    again = client.post(url, result_body(commerce=commerce, provider_activity_id="ext-999"))
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert TaskResult.objects.count() == 1


def test_standalone_with_an_unknown_commerce_is_400_and_stores_nothing(key_api, result_types, other_tenant):
    stranger = CommerceFactory(tenant=other_tenant)
    for external_id in ("NOPE", stranger.external_id):
        response = key_api.post(KEY_URL, {**result_body(commerce=stranger, provider_activity_id="ext-1"),
                                          "commerce_external_id": external_id})
        assert (response.status_code, response.json()["details"]) == (
            400, {"commerce_external_id": ["Unknown commerce."]})
    assert not TaskResult.objects.exists()


def test_matched_commerce_must_be_the_activitys(key_api, task, tenant):
    elsewhere = CommerceFactory(tenant=tenant)
    response = key_api.post(KEY_URL, result_body(task, commerce_external_id=elsewhere.external_id))
    assert (response.status_code, list(response.json()["details"])) == (400, ["commerce_external_id"])
    assert (TaskResult.objects.count(), status_of(task)) == (0, "DISPATCHED")


def test_a_message_activity_is_400_pointing_to_delivery_receipts(key_api, commerce, result_types):
    message = activity_in(commerce, "DISPATCHED")
    response = key_api.post(KEY_URL, result_body(message))
    assert response.status_code == 400
    assert "delivery receipts" in response.json()["message"] and "6.2" in response.json()["message"]
    assert (TaskResult.objects.count(), status_of(message)) == (0, "DISPATCHED")


@pytest.mark.parametrize("never_dispatched", ["READY", "UNRESOLVED"])
@pytest.mark.parametrize("result_status", ["COMPLETED", "PENDING"])
def test_a_result_before_dispatch_is_409_not_dispatched_and_stores_nothing(door, commerce, route, operator,
                                                                          result_types, never_dispatched,
                                                                          result_status):
    client, url = door
    activity = set_status(make_task(commerce, route=route, operator=operator), never_dispatched)
    response = client.post(url, result_body(activity, status=result_status))
    assert response.status_code == 409
    assert response.json()["errorCode"] == "ACTIVITY_NOT_DISPATCHED"
    assert (TaskResult.objects.count(), status_of(activity), events(activity)) == (0, never_dispatched, BEFORE)


def test_another_tenants_activity_id_is_404(key_api, admin_api, other_tenant, route, operator, result_types):
    from commerces.tests.factories import OperatorFactory, RouteFactory

    foreign = dispatched_task(CommerceFactory(tenant=other_tenant), route=RouteFactory(tenant=other_tenant),
                              operator=OperatorFactory(tenant=other_tenant))
    for client, url in ((key_api, KEY_URL), (admin_api, JWT_URL)):
        response = client.post(url, result_body(foreign))
        assert response.status_code == 404
        assert client.post(url, {**result_body(foreign), "activity_id": str(uuid.uuid4())}).status_code == 404
    assert (TaskResult.objects.count(), status_of(foreign)) == (0, "DISPATCHED")


# --- resends and conflicts ----------------------------------------------------------------------------------------

def test_the_same_result_again_is_200_with_the_stored_one_and_nothing_changes(door, task):
    client, url = door
    first = client.post(url, result_body(task, status="COMPLETED"))
    trail = events(task)
    again = client.post(url, result_body(task, status="COMPLETED", comment_is_not_part="x")
                        if False else result_body(task, status="COMPLETED"))
    assert (again.status_code, again.json()) == (200, first.json())
    assert (TaskResult.objects.count(), events(task)) == (1, trail)


def test_a_resend_is_200_even_after_its_result_type_was_deactivated(door, task, result_types):
    client, url = door
    first = client.post(url, result_body(task, status="COMPLETED"))
    TaskResultType.objects.filter(pk=result_types["VISITED"].pk).update(is_active=False)
    again = client.post(url, result_body(task, status="COMPLETED"))
    assert (again.status_code, again.json()) == (200, first.json())
    fresh = client.post(url, result_body(task, status="PENDING", occurred_at="2025-01-16T13:00:00Z"))
    assert fresh.status_code == 400 and "task_result.result" in str(fresh.json())
    assert TaskResult.objects.count() == 1


def test_one_result_reads_its_type_and_any_earlier_copy_in_one_query(key_api, task, tenant, query_count):
    """The hot path: lock the activity, one read (the type and a stored copy), then the writes."""
    key_api.post(KEY_URL, result_body(make_task(task.commerce_assignment.commerce, route=task.task_details.route,
                                                operator=task.task_details.operator), status="PENDING"))  # warm
    with query_count() as counted:
        response = key_api.post(KEY_URL, result_body(task, status="COMPLETED"))
    assert response.status_code == 201
    reads = [q["sql"] for q in counted.captured_queries
             if "activities_taskresulttype" in q["sql"] or 'FROM "activities_taskresult"' in q["sql"]]
    assert len(reads) == 1 and "activities_taskresulttype" in reads[0] and "dedupe_key" in reads[0]
    assert not [q for q in counted.captured_queries if 'FROM "tenants_tenant"' in q["sql"]]  # the outbox's flag


def test_a_different_final_result_for_a_closed_task_is_409(door, task):
    client, url = door
    client.post(url, result_body(task, status="COMPLETED"))
    trail = events(task)
    for body in (result_body(task, status="NOT_EXECUTED"),
                 result_body(task, status="COMPLETED", occurred_at="2025-01-16T13:00:00Z")):
        response = client.post(url, body)
        assert (response.status_code, response.json()["errorCode"]) == (409, "ACTIVITY_ALREADY_CLOSED")
    assert (TaskResult.objects.count(), status_of(task), events(task)) == (1, "COMPLETED", trail)


def test_a_pending_result_for_a_closed_task_is_recorded_and_changes_nothing(key_api, task):
    key_api.post(KEY_URL, result_body(task, status="CANCELED"))
    response = key_api.post(KEY_URL, result_body(task, status="PENDING", occurred_at="2025-01-16T13:00:00Z"))
    assert (response.status_code, response.json()["activityStatus"]) == (201, "CANCELED")
    assert events(task)[-1] == ("RESULT_RECEIVED", "CANCELED", "CANCELED")


# --- hard override ------------------------------------------------------------------------------------------------

def test_hard_override_needs_manage_activity_config_else_403(api_as, tenant, make_api_key, task):
    fde = api_as(member(tenant, "FDE"), tenant)  # CREATE_ACTIVITY but not MANAGE_ACTIVITY_CONFIG
    submit_only = api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"]))
    for client, url in ((fde, JWT_URL), (submit_only, KEY_URL)):
        response = client.post(url, result_body(task, hard_override=True))
        assert response.status_code == 403
        assert "MANAGE_ACTIVITY_CONFIG" in response.json()["message"]
    assert (TaskResult.objects.count(), status_of(task), events(task)) == (0, "DISPATCHED", BEFORE)


@pytest.mark.parametrize("start, result_status, end", [
    ("COMPLETED", "NOT_EXECUTED", "FAILED"),
    ("FAILED", "EFFECTIVE", "COMPLETED"),
    ("CANCELED", "COMPLETED", "COMPLETED"),
    ("READY", "CANCELED", "CANCELED"),
    ("UNRESOLVED", "COMPLETED", "COMPLETED"),
])
def test_hard_override_moves_from_any_state_with_a_hard_override_event(admin_api, override_key_api, task, start,
                                                                       result_status, end):
    set_status(task, start)
    for client, url, minute in ((admin_api, JWT_URL, 1), (override_key_api, KEY_URL, 2)):
        set_status(task, start)
        response = client.post(url, result_body(task, status=result_status, hard_override=True,
                                                occurred_at=f"2025-01-16T12:0{minute}:00Z"))
        assert (response.status_code, response.json()["activityStatus"]) == (201, end), response.content
        assert events(task)[-2:] == [("RESULT_RECEIVED", start, start), ("HARD_OVERRIDE", start, end)]
    override = StatusEvent.objects.filter(activity=task, event_type="HARD_OVERRIDE").order_by("occurred_at")
    assert [(e.actor_type, e.actor_user_id is not None, e.actor_api_key_id is not None) for e in override] == [
        ("USER", True, False), ("API_KEY", False, True)]
    assert TaskResult.objects.filter(hard_override=True).count() == 2


def test_hard_override_does_not_move_when_already_there_or_pending(admin_api, task):
    set_status(task, "COMPLETED")
    for minute, result_status in ((1, "TRANSFERRED"), (2, "PENDING")):
        response = admin_api.post(JWT_URL, result_body(task, status=result_status, hard_override=True,
                                                       occurred_at=f"2025-01-16T12:0{minute}:00Z"))
        assert (response.status_code, response.json()["activityStatus"]) == (201, "COMPLETED")
    assert [e[0] for e in events(task)] == ["CREATED", "RESULT_RECEIVED", "RESULT_RECEIVED"]


def test_hard_override_on_a_dispatched_task_is_the_ordinary_close(admin_api, task):
    admin_api.post(JWT_URL, result_body(task, status="NOT_EXECUTED", hard_override=True))
    assert events(task)[-1] == ("EXECUTION_FAILED", "DISPATCHED", "FAILED")


# --- result types -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task_result, field", [
    ({"result": "NOPE"}, "task_result.result"),
    ({"result": "RETIRED"}, "task_result.result"),
    ({"result": "CALL_BACK"}, "task_result.future_scheduled_at"),
    ({"result": "CALL_BACK", "future_scheduled_at": "2020-01-01T00:00:00Z"}, "task_result.future_scheduled_at"),
    ({"result": "RESCHEDULE", "future_scheduled_at": None}, "task_result.future_scheduled_at"),
])
def test_result_type_rules_are_400(door, task, task_result, field):
    client, url = door
    response = client.post(url, {**result_body(task), "task_result": task_result})
    assert (response.status_code, list(response.json()["details"])) == (400, [field])
    assert (TaskResult.objects.count(), status_of(task), events(task)) == (0, "DISPATCHED", BEFORE)


def test_result_types_are_per_tenant(key_api, task, other_tenant):
    TaskResultTypeFactory(tenant=other_tenant, code="THEIRS")
    response = key_api.post(KEY_URL, {**result_body(task), "task_result": {"result": "THEIRS"}})
    assert response.status_code == 400


# --- follow-ups ---------------------------------------------------------------------------------------------------

def test_a_follow_up_type_creates_the_next_task(key_api, admin_api, commerce, route, operator, result_types):
    original = dispatched_task(commerce, route=route, operator=operator, reason="Stock check",
                               attribute_keys=["promotions"])
    when = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    body = {**result_body(original, status="NOT_EFFECTIVE"),
            "task_result": {"result": "RESCHEDULE", "future_scheduled_at": when.isoformat()}}
    response = key_api.post(KEY_URL, body)
    assert response.status_code == 201, response.content
    follow_up = Activity.objects.get(pk=response.json()["followUpActivityId"])
    result = TaskResult.objects.get()
    assert (follow_up.type, follow_up.channel, follow_up.reason, follow_up.scheduled_at, follow_up.status) == (
        "TASK", "SALESMAN", "Stock check", when, "READY")
    assert follow_up.idempotency_key == f"follow-up:{result.pk}"
    assert follow_up.follow_up_of_id == original.pk
    assert follow_up.commerce_assignment.commerce_id == commerce.pk
    assert (follow_up.task_details.route_id, follow_up.task_details.operator_id) == (route.pk, operator.pk)
    assert list(follow_up.attributes.values_list("attribute_key__key", flat=True)) == ["promotions"]
    assert status_of(original) == "COMPLETED"
    detail = admin_api.get(f"/api/activities/{follow_up.pk}").json()
    assert detail["followUpOfId"] == str(original.pk)
    assert admin_api.get(f"/api/activities/{original.pk}").json()["followUpOfId"] is None
    again = key_api.post(KEY_URL, body)
    assert (again.status_code, again.json()["followUpActivityId"]) == (200, str(follow_up.pk))
    assert Activity.objects.filter(follow_up_of=original).count() == 1


def test_a_follow_up_carries_caller_provided_values(key_api, tenant, commerce, route, operator, result_types):
    from activities.models import AttributeKey, AttributePolicy

    key = AttributeKey.objects.create(key="visit_notes", label="Visit notes")
    AttributePolicy.objects.create(tenant=tenant, attribute_key=key, strategy="CALLER_PROVIDED")
    original = dispatched_task(commerce, route=route, operator=operator,
                               attributes=[{"key": "visit_notes", "value": {"shelf": 3}}])
    when = timezone.now() + timedelta(days=1)
    response = key_api.post(KEY_URL, {**result_body(original),
                                      "task_result": {"result": "RESCHEDULE",
                                                      "future_scheduled_at": when.isoformat()}})
    follow_up = Activity.objects.get(pk=response.json()["followUpActivityId"])
    assert follow_up.status == "READY"
    assert follow_up.attributes.get().value == {"shelf": 3}


# --- authentication, permissions, bad input -----------------------------------------------------------------------

INTEGRATION_ROUTES = [("post", KEY_URL), ("get", "/api/integration/task-result-type-configs"),
                      ("get", "/api/integration/activities/tasks")]


@pytest.mark.parametrize("method, url", INTEGRATION_ROUTES)
def test_integration_routes_refuse_a_jwt_with_401(method, url, api_as, superuser, tenant, task):
    response = getattr(api_as(superuser, tenant), method)(url, result_body(task) if method == "post" else None)
    assert response.status_code == 401
    assert "x-api-key" in response.json()["message"]
    assert (TaskResult.objects.count(), status_of(task)) == (0, "DISPATCHED")


def test_every_integration_route_is_api_key_only():
    """The rule lives in one base class; every /api/integration/ route must use it."""
    from django.urls import get_resolver

    from tenants.api.integration import ApiKeyOnly

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.callback

    integration = [(route, view) for route, view in walk(get_resolver().url_patterns)
                   if route.startswith("api/integration/")]
    assert len(integration) >= 3
    for route, view in integration:
        assert issubclass(view.view_class, ApiKeyOnly), route


def test_a_jwt_route_accepts_an_api_key_holding_create_activity(api_as, make_api_key, task):
    client = api_as(api_key=make_api_key(["CREATE_ACTIVITY"]))
    assert client.post(JWT_URL, result_body(task)).status_code == 201


@pytest.mark.parametrize("role", ["VIEWER"])
def test_jwt_submit_needs_create_activity(api_as, tenant, task, role):
    response = api_as(member(tenant, role), tenant).post(JWT_URL, result_body(task))
    assert response.status_code == 403
    assert not TaskResult.objects.exists()


def test_integration_submit_needs_submit_activity_result(api_as, make_api_key, task):
    for permissions in (["VIEW_ACTIVITIES"], ["CREATE_ACTIVITY"]):
        response = api_as(api_key=make_api_key(permissions)).post(KEY_URL, result_body(task))
        assert response.status_code == 403
    assert not TaskResult.objects.exists()


def test_a_key_whose_creator_lost_the_role_cannot_submit(api_as, make_api_key, tenant, task):
    fde = member(tenant, "FDE")
    plaintext = make_api_key(["VIEW_ACTIVITIES"], creator=fde)
    assert api_as(api_key=plaintext).post(KEY_URL, result_body(task)).status_code == 403


@pytest.mark.parametrize("change", [
    {"status": "DONE"}, {"status": None}, {"occurred_at": "2020-02-30T00:00:00Z"}, {"occurred_at": "yesterday"},
    {"activity_id": "not-a-uuid"}, {"activity_id": None}, {"task_result": None}, {"task_result": "VISITED"},
    {"task_result": {"comment": "no result"}}, {"task_result": {"result": "VISITED", "contact_type": "SIDEWAYS"}},
    {"task_result": {"result": "VISITED", "surprise": 1}}, {"unknown_field": 1}, {"hard_override": "maybe"},
    {"commerce_external_id": None}, {"task_result": {"result": "x" * 65}},
])
def test_bad_bodies_are_400_never_500(door, task, change):
    client, url = door
    body = {**result_body(task), **change}
    if change.get("activity_id", "") is None:
        body.pop("provider_activity_id", None)
    response = client.post(url, body)
    assert response.status_code == 400, response.content
    assert response.json()["details"]
    assert (TaskResult.objects.count(), status_of(task)) == (0, "DISPATCHED")


def test_a_body_that_is_not_an_object_is_400(door, task):
    client, url = door
    assert client.post(url, [1, 2]).status_code == 400
    assert client.post(url, "text").status_code == 400


# --- reading ------------------------------------------------------------------------------------------------------

def test_activity_detail_shows_the_latest_result_at_a_flat_query_count(admin_api, key_api, task, query_count):
    with query_count() as before:
        detail = admin_api.get(f"/api/activities/{task.pk}").json()
    assert detail["lastResult"] is None
    key_api.post(KEY_URL, result_body(task, status="PENDING", occurred_at="2025-01-16T12:05:00Z"))
    key_api.post(KEY_URL, result_body(task, status="PENDING", occurred_at="2025-01-16T12:01:00Z"))  # late arrival
    with query_count() as after:
        detail = admin_api.get(f"/api/activities/{task.pk}").json()
    assert detail["lastResult"]["occurredAt"] == "2025-01-16T12:05:00.000Z"
    assert len(after.captured_queries) == len(before.captured_queries)


def test_activity_results_oldest_first_and_the_tenant_list_filters(admin_api, key_api, task, commerce,
                                                                   other_tenant):
    key_api.post(KEY_URL, result_body(task, status="PENDING", occurred_at="2025-01-16T12:00:00Z"))
    key_api.post(KEY_URL, result_body(task, status="EFFECTIVE", occurred_at="2025-01-16T14:00:00Z"))
    key_api.post(KEY_URL, result_body(commerce=commerce, provider_activity_id="ext-1",
                                      occurred_at="2025-01-17T09:00:00Z"))
    listed = admin_api.get(f"/api/activities/{task.pk}/results").json()
    assert [r["status"] for r in listed] == ["PENDING", "EFFECTIVE"]
    page = admin_api.get("/api/activity-results").json()
    assert [r["occurredAt"][:13] for r in page["data"]] == ["2025-01-17T09", "2025-01-16T14", "2025-01-16T12"]
    assert page["meta"] == {"page": 1, "limit": 25, "total": 3, "totalPages": 1}

    def statuses(**params):
        return [r["status"] for r in admin_api.get("/api/activity-results", params).json()["data"]]

    assert statuses(activity_id=task.pk) == ["EFFECTIVE", "PENDING"]
    assert statuses(source="STANDALONE") == ["COMPLETED"]
    assert statuses(status="PENDING,EFFECTIVE") == ["EFFECTIVE", "PENDING"]
    assert statuses(commerce_id=commerce.pk) == ["COMPLETED", "EFFECTIVE", "PENDING"]
    assert statuses(commerce_id=uuid.uuid4()) == []
    assert statuses(occurred_from="2025-01-16T13:00:00Z", occurred_to="2025-01-16") == ["EFFECTIVE"]
    for bad in ({"status": "DONE"}, {"source": "X"}, {"activity_id": "x"}, {"occurred_from": "2020-02-30"},
                {"per_page": 0}):
        assert admin_api.get("/api/activity-results", bad).status_code == 400
    stranger = api_as_member_of(other_tenant)
    assert stranger.get("/api/activity-results").json()["meta"]["total"] == 0
    assert stranger.get(f"/api/activities/{task.pk}/results").status_code == 404


def api_as_member_of(tenant):
    from conftest import Api

    return Api(user=member(tenant, "ADMIN"), tenant=tenant)


def test_reading_results_needs_view_activities(api_as, make_api_key, task):
    client = api_as(api_key=make_api_key(["SUBMIT_ACTIVITY_RESULT"]))
    assert client.get("/api/activity-results").status_code == 403
    assert client.get(f"/api/activities/{task.pk}/results").status_code == 403


def test_viewer_reads_results(api_as, viewer_user, tenant, task):
    viewer = api_as(viewer_user, tenant)
    assert viewer.get("/api/activity-results").status_code == 200
    assert viewer.get(f"/api/activities/{task.pk}/results").status_code == 200
