"""POST /api/activities, /api/activities/tasks and /api/activities/bulk (SPEC 4.3)."""
import pytest

from activities.models import Activity, ActivityStatus, StatusEvent
from activities.tests.factories import commerce_with_rep
from commerces.tests.factories import CommerceFactory, OperatorFactory, RouteFactory


def body(commerce, **overrides):
    data = {"type": "MESSAGE", "reason": "Win back", "channel": "WHATSAPP", "commerce_id": str(commerce.pk),
            "idempotency_key": "order-123", "scheduled_at": "2025-01-16T09:00:00.000Z"}
    data.update(overrides)
    return data


def test_create_message_returns_201_with_the_full_activity(admin_api, commerce):
    response = admin_api.post("/api/activities", body(
        commerce, score=7, user_status="AT_RISK", suggested_execution_time="2025-01-16T10:30:00Z",
        assignment_reason="Portfolio", attribute_keys=["promotions"]))
    assert response.status_code == 201, response.json()
    data = response.json()
    activity = Activity.objects.get()
    rep = activity.target_users.get().commerce_user
    assert data["id"] == str(activity.pk)
    assert {k: data[k] for k in ("type", "channel", "status", "reason", "scheduledAt", "score", "userStatus",
                                 "suggestedExecutionTime", "assignmentReason", "idempotencyKey", "taskDetails",
                                 "dispatchAttemptCount", "dispatchConfigId", "providerActivityId")} == {
        "type": "MESSAGE", "channel": "WHATSAPP", "status": "READY", "reason": "Win back",
        "scheduledAt": "2025-01-16T09:00:00.000Z", "score": 7, "userStatus": "AT_RISK",
        "suggestedExecutionTime": "2025-01-16T10:30:00.000Z", "assignmentReason": "Portfolio",
        "idempotencyKey": "order-123", "taskDetails": None, "dispatchAttemptCount": 0, "dispatchConfigId": None,
        "providerActivityId": None}
    assert data["commerceAssignment"] == {"commerceId": str(commerce.pk), "commerce": {
        "id": str(commerce.pk), "name": commerce.name, "externalId": commerce.external_id}}
    assert [(t["commerceUserId"], t["resolutionStatus"], t["lockReason"], t["commerceUser"])
            for t in data["targetUsers"]] == [
        (str(rep.pk), "RESOLVED", "FALLBACK_COMMERCE_REP", {"firstName": rep.first_name, "lastName": rep.last_name})]
    assert [(a["key"], a["value"], a["resolutionStatus"]) for a in data["attributes"]] == [
        ("promotions", [], "RESOLVED")]
    assert list(StatusEvent.objects.values_list("event_type", "from_status", "to_status")) == [
        ("CREATED", None, "READY")]
    assert activity.created_by is not None


def test_the_response_equals_what_the_detail_endpoint_shows(admin_api, commerce):
    created = admin_api.post("/api/activities", body(commerce, attribute_keys=["commerce_info"])).json()
    assert admin_api.get(f"/api/activities/{created['id']}").json() == created


def test_create_task_needs_route_and_operator(admin_api, tenant, commerce):
    route, operator = RouteFactory(tenant=tenant), OperatorFactory(tenant=tenant)
    response = admin_api.post("/api/activities", body(commerce, type="TASK", channel="SALESMAN",
                                                      assigned_route_id=str(route.pk),
                                                      assigned_operator_id=str(operator.pk)))
    assert response.status_code == 201, response.json()
    assert response.json()["taskDetails"] == {
        "routeId": str(route.pk), "operatorId": str(operator.pk), "route": {"code": route.code, "name": route.name},
        "operator": {"name": operator.name, "externalId": operator.external_id}}
    missing = admin_api.post("/api/activities", body(commerce, type="TASK", idempotency_key="other"))
    assert missing.status_code == 400
    assert missing.json()["details"] == {"assigned_route_id": ["Required for TASK activities."],
                                         "assigned_operator_id": ["Required for TASK activities."]}


def test_tasks_endpoint_implies_task(admin_api, tenant, commerce):
    route, operator = RouteFactory(tenant=tenant), OperatorFactory(tenant=tenant)
    data = body(commerce, channel="SALESMAN", assignedRouteId=str(route.pk), assignedOperatorId=str(operator.pk))
    del data["type"]
    response = admin_api.post("/api/activities/tasks", data)
    assert response.status_code == 201, response.json()
    assert response.json()["type"] == "TASK"
    wrong = admin_api.post("/api/activities/tasks", {**data, "type": "MESSAGE", "idempotency_key": "x"})
    assert wrong.status_code == 400
    assert wrong.json()["details"] == {"type": ["This endpoint creates TASK activities only."]}


def test_message_refuses_route_and_operator(admin_api, tenant, commerce):
    route, operator = RouteFactory(tenant=tenant), OperatorFactory(tenant=tenant)
    response = admin_api.post("/api/activities", body(commerce, assigned_route_id=str(route.pk),
                                                      assigned_operator_id=str(operator.pk)))
    assert response.status_code == 400
    assert response.json()["details"] == {"assigned_route_id": ["Only TASK activities take a route."],
                                          "assigned_operator_id": ["Only TASK activities take an operator."]}
    assert Activity.objects.count() == 0


def test_references_of_another_tenant_are_unknown(admin_api, other_tenant, commerce):
    foreign = commerce_with_rep(other_tenant)
    route, operator = RouteFactory(tenant=other_tenant), OperatorFactory(tenant=other_tenant)
    response = admin_api.post("/api/activities", body(foreign))
    assert (response.status_code, response.json()["details"]) == (400, {"commerce_id": ["Unknown commerce."]})
    response = admin_api.post("/api/activities", body(commerce, type="TASK", assigned_route_id=str(route.pk),
                                                      assigned_operator_id=str(operator.pk)))
    assert response.json()["details"] == {"assigned_route_id": ["Unknown route."],
                                          "assigned_operator_id": ["Unknown operator."]}
    assert Activity.objects.count() == 0


def test_an_inactive_commerce_is_refused(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant, is_active=False)
    response = admin_api.post("/api/activities", body(commerce))
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": "Validation failed: commerce_id: The commerce is "
                               "inactive.", "error": "Bad Request",
                               "details": {"commerce_id": ["The commerce is inactive."]}}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"type": "LETTER"}, "type"), ({"channel": "FAX"}, "channel"), ({"reason": ""}, "reason"),
    ({"scheduled_at": "tomorrow"}, "scheduled_at"), ({"score": "high"}, "score"),
    ({"idempotency_key": "k" * 256}, "idempotency_key"), ({"commerce_id": "nope"}, "commerce_id"),
    ({"attribute_keys": ["nope"]}, "attribute_keys.0"), ({"attributes": [{"key": "nope"}]}, "attributes.0.key"),
    ({"target_criteria": [{"type": "GUESS"}]}, "target_criteria.0.type"),
    ({"target_criteria": [{"type": "ROLE_MATCH", "config": {"role": "KING"}}]}, "target_criteria.0.config"),
])
def test_bad_bodies_are_400_naming_the_field_and_store_nothing(admin_api, commerce, overrides, field):
    response = admin_api.post("/api/activities", body(commerce, **overrides))
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]
    assert Activity.objects.count() == 0


def test_required_fields_are_named(admin_api):
    response = admin_api.post("/api/activities", {})
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"type", "reason", "channel", "commerce_id", "idempotency_key",
                                               "scheduled_at"}


def test_viewer_cannot_create(api_as, viewer_user, tenant, commerce):
    response = api_as(viewer_user, tenant).post("/api/activities", body(commerce))
    assert response.status_code == 403
    assert Activity.objects.count() == 0


# --- idempotency --------------------------------------------------------------------------------------------------

def test_same_key_and_body_replays_with_200_and_no_second_row_or_event(admin_api, commerce):
    first = admin_api.post("/api/activities", body(commerce))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    # The same body spelled in camelCase is the same body.
    again = admin_api.post("/api/activities", {**body(commerce), "commerceId": str(commerce.pk),
                                               "idempotencyKey": "order-123"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == admin_api.get(f"/api/activities/{first.json()['id']}").json()
    assert Activity.objects.count() == 1
    assert StatusEvent.objects.count() == 1


def test_same_key_with_another_body_is_409_with_the_existing_id(admin_api, commerce):
    first = admin_api.post("/api/activities", body(commerce)).json()
    response = admin_api.post("/api/activities", body(commerce, reason="Something else"))
    assert response.status_code == 409
    assert response.json() == {"statusCode": 409, "message": "This idempotency key was already used with a "
                               "different body", "error": "Conflict", "existingActivityId": first["id"]}
    assert Activity.objects.count() == 1


def test_a_replay_still_replays_after_the_commerce_was_deactivated(admin_api, commerce):
    first = admin_api.post("/api/activities", body(commerce)).json()
    commerce.is_active = False
    commerce.save()
    again = admin_api.post("/api/activities", body(commerce))
    assert (again.status_code, again.json()["id"]) == (200, first["id"])


def test_the_same_key_in_another_tenant_is_another_activity(admin_api, api_as, other_tenant, commerce):
    from tenants.tests.factories import member

    admin_api.post("/api/activities", body(commerce))
    other_admin = member(other_tenant, "ADMIN")
    response = api_as(other_admin, other_tenant).post("/api/activities", body(commerce_with_rep(other_tenant)))
    assert response.status_code == 201
    assert Activity.objects.count() == 2


def test_resolution_failure_still_creates_the_activity_unresolved(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant)
    response = admin_api.post("/api/activities", body(commerce))
    assert response.status_code == 201
    assert response.json()["status"] == "UNRESOLVED"
    assert list(StatusEvent.objects.order_by("occurred_at").values_list("event_type", "from_status", "to_status",
                                                                          "error_code")) == [
        ("CREATED", None, "READY", ""), ("RESOLUTION_FAILED", "READY", "UNRESOLVED", "RESOLUTION_FAILED")]


def test_query_count_per_create_does_not_grow_with_attribute_keys(admin_api, tenant, query_count):
    from activities.models import AttributeKey

    for key in ("k_one", "k_two", "k_three"):
        AttributeKey.objects.create(key=key, label=key)
    counts = []
    for index, keys in enumerate((["commerce_info"], ["commerce_info", "promotions", "last_order", "k_one",
                                                      "k_two"])):
        commerce = commerce_with_rep(tenant)
        with query_count() as counted:
            response = admin_api.post("/api/activities", body(commerce, idempotency_key=f"q{index}",
                                                              attribute_keys=keys))
        assert response.status_code == 201
        counts.append(len(counted.captured_queries))
    assert counts[0] == counts[1]
    # JWT auth (4) + reads (5) + inserts (5); the test's transaction adds SAVEPOINT/RELEASE (2).
    assert counts[0] <= 16


# --- bulk ---------------------------------------------------------------------------------------------------------

def test_bulk_creates_replays_and_fails_each_item_on_its_own(admin_api, tenant, commerce):
    admin_api.post("/api/activities", body(commerce, idempotency_key="existing"))
    items = [
        body(commerce, idempotency_key="b-1"),
        body(commerce, idempotency_key="existing"),
        body(commerce, idempotency_key="existing", reason="changed"),
        {"type": "MESSAGE"},
        body(CommerceFactory(tenant=tenant, is_active=False), idempotency_key="b-4"),
        body(commerce, idempotency_key="b-1"),
        body(commerce, idempotency_key="b-1", reason="other"),
        body(commerce, idempotency_key="b-7", channel="EMAIL"),
    ]
    response = admin_api.post("/api/activities/bulk", {"items": items})
    assert response.status_code == 200, response.json()
    data = response.json()
    existing = Activity.objects.get(idempotency_key="existing")
    created = Activity.objects.get(idempotency_key="b-1")
    assert (data["created"], data["replayed"], data["failed"]) == (2, 2, 4)
    results = data["results"]
    assert [r["index"] for r in results] == list(range(8))
    assert [r["status"] for r in results] == [201, 200, 409, 400, 400, 200, 409, 201]
    assert results[0] == {"index": 0, "status": 201, "activityId": str(created.pk)}
    assert results[1] == {"index": 1, "status": 200, "activityId": str(existing.pk)}
    assert results[2]["error"]["existingActivityId"] == str(existing.pk)
    assert set(results[3]["error"]["details"]) == {"reason", "channel", "commerce_id", "idempotency_key",
                                                   "scheduled_at"}
    assert results[4]["error"]["details"] == {"commerce_id": ["The commerce is inactive."]}
    assert results[5] == {"index": 5, "status": 200, "activityId": str(created.pk)}
    assert results[6]["error"]["existingActivityId"] == str(created.pk)
    assert Activity.objects.get(idempotency_key="b-7").status == ActivityStatus.UNRESOLVED
    assert Activity.objects.count() == 3
    assert StatusEvent.objects.filter(event_type="CREATED").count() == 3


def test_a_bulk_items_error_is_the_one_a_single_create_answers(admin_api, commerce):
    """The bulk validates every item with one serializer; each item's error stays the one POST /api/activities
    gives the same body, and a body that is not an object is refused as "No data provided"."""
    bad_bodies = [
        {"type": "MESSAGE"},
        body(commerce, colour="red"),
        body(commerce, target_criteria=[{"type": "NOPE", "shade": 1}]),
        body(commerce, score="high", scheduled_at="yesterday"),
        {**body(commerce), "commerce_id": None},
    ]
    singles = []
    for bad in bad_bodies:
        response = admin_api.post("/api/activities", bad)
        assert response.status_code == 400
        singles.append(response.json())
    response = admin_api.post("/api/activities/bulk", {"items": [*bad_bodies, "not an object", None]})
    assert response.status_code == 200
    errors = [result["error"] for result in response.json()["results"]]
    assert errors[:len(bad_bodies)] == singles
    for error in errors[len(bad_bodies):]:
        assert (error["statusCode"], error["details"]) == (400, {"non_field_errors": ["No data provided"]})
    assert Activity.objects.count() == 0


def test_bulk_is_set_based(admin_api, tenant, query_count):
    commerces = [commerce_with_rep(tenant) for _ in range(3)]
    counts = []
    for size in (3, 30):
        items = [body(commerces[i % 3], idempotency_key=f"s{size}-{i}", attribute_keys=["commerce_info"])
                 for i in range(size)]
        with query_count() as counted:
            response = admin_api.post("/api/activities/bulk", {"items": items})
        assert response.json()["created"] == size
        counts.append(len(counted.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("payload", [{}, {"items": []}, {"items": "x"}, []])
def test_bulk_needs_a_non_empty_item_list(admin_api, payload):
    response = admin_api.post("/api/activities/bulk", payload)
    assert response.status_code == 400


def test_bulk_takes_at_most_1000_items(admin_api, commerce):
    response = admin_api.post("/api/activities/bulk", {"items": [body(commerce)] * 1001})
    assert response.status_code == 400
    assert response.json()["details"] == {"items": ["At most 1000 items."]}
    assert Activity.objects.count() == 0
