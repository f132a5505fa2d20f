"""Creation by the integrator's own ids (SPEC 4.3): commerce_external_id, assigned_route_code,
assigned_operator_external_id, on single, tasks and bulk create."""
import pytest

from activities.models import Activity, StatusEvent, TaskDetails
from activities.tests.factories import commerce_with_rep
from commerces.models import OperatorType
from commerces.tests.factories import CommerceFactory, OperatorFactory, RouteFactory


def body(**fields):
    data = {"type": "MESSAGE", "reason": "Win back", "channel": "WHATSAPP", "idempotency_key": "ext-1",
            "scheduled_at": "2025-01-16T09:00:00.000Z"}
    data.update(fields)
    return data


def task(**fields):
    return body(**{"type": "TASK", "channel": "SALESMAN", **fields})


@pytest.fixture
def salesman(tenant):
    return OperatorFactory(tenant=tenant, type=OperatorType.SALESMAN, external_id="OP-7")


@pytest.fixture
def agent(tenant):
    """A call-center agent with the same external id as the salesman: the channel tells them apart."""
    return OperatorFactory(tenant=tenant, type=OperatorType.CALLCENTER, external_id="OP-7")


def test_a_commerce_named_by_its_external_id(admin_api, commerce):
    response = admin_api.post("/api/activities", body(commerce_external_id=commerce.external_id))
    assert response.status_code == 201, response.json()
    assert response.json()["commerceAssignment"]["commerceId"] == str(commerce.pk)
    assert Activity.objects.get().commerce_assignment.commerce == commerce
    camel = admin_api.post("/api/activities", body(commerceExternalId=commerce.external_id, idempotency_key="ext-2"))
    assert camel.status_code == 201
    assert camel.json()["commerceAssignment"]["commerceId"] == str(commerce.pk)


def test_a_task_with_route_code_and_operator_external_id(admin_api, commerce, route, salesman, agent):
    response = admin_api.post("/api/activities", task(commerce_external_id=commerce.external_id,
                                                      assigned_route_code=route.code,
                                                      assigned_operator_external_id="OP-7"))
    assert response.status_code == 201, response.json()
    assert (response.json()["taskDetails"]["routeId"], response.json()["taskDetails"]["operatorId"]) == (
        str(route.pk), str(salesman.pk))
    # /tasks on CALLCENTER: the same external id names the call-center agent.
    data = task(commerce_id=str(commerce.pk), channel="CALLCENTER", idempotency_key="ext-2",
                assignedRouteCode=route.code, assignedOperatorExternalId="OP-7")
    del data["type"]
    response = admin_api.post("/api/activities/tasks", data)
    assert response.status_code == 201, response.json()
    assert response.json()["taskDetails"]["operatorId"] == str(agent.pk)


@pytest.mark.parametrize(("fields", "details"), [
    ({"commerce_external_id": "NOPE"}, {"commerce_external_id": ["Unknown commerce."]}),
    ({"assigned_route_code": "NOPE"}, {"assigned_route_code": ["Unknown route."]}),
    ({"assigned_operator_external_id": "NOPE"}, {"assigned_operator_external_id": ["Unknown operator."]}),
    # An ACTIVATOR is not a SALESMAN: on the SALESMAN channel its external id names nobody.
    ({"assigned_operator_external_id": "ACT-1"}, {"assigned_operator_external_id": ["Unknown operator."]}),
    ({"channel": "WHATSAPP"}, {"assigned_operator_external_id": [
        "Only SALESMAN and CALLCENTER tasks imply the operator's type; name the operator with "
        "assigned_operator_id."]}),
])
def test_an_unknown_external_id_is_400_naming_the_field_and_stores_nothing(admin_api, tenant, commerce, route,
                                                                          salesman, fields, details):
    OperatorFactory(tenant=tenant, type=OperatorType.ACTIVATOR, external_id="ACT-1")
    data = task(commerce_external_id=commerce.external_id, assigned_route_code=route.code,
                assigned_operator_external_id="OP-7")
    data.update(fields)
    response = admin_api.post("/api/activities", data)
    assert (response.status_code, response.json()["details"]) == (400, details)
    first = next(iter(details))
    assert response.json()["message"] == f"Validation failed: {first}: {details[first][0]}"
    assert (Activity.objects.count(), StatusEvent.objects.count(), TaskDetails.objects.count()) == (0, 0, 0)


def test_a_message_refuses_route_and_operator_external_ids(admin_api, commerce, route, salesman):
    response = admin_api.post("/api/activities", body(commerce_id=str(commerce.pk), assigned_route_code=route.code,
                                                      assigned_operator_external_id="OP-7"))
    assert (response.status_code, response.json()["details"]) == (400, {
        "assigned_route_code": ["Only TASK activities take a route."],
        "assigned_operator_external_id": ["Only TASK activities take an operator."]})
    assert Activity.objects.count() == 0


def test_an_inactive_commerce_named_by_external_id_is_refused_naming_that_field(admin_api, tenant):
    inactive = CommerceFactory(tenant=tenant, is_active=False)
    response = admin_api.post("/api/activities", body(commerce_external_id=inactive.external_id))
    assert (response.status_code, response.json()["details"]) == (
        400, {"commerce_external_id": ["The commerce is inactive."]})
    assert Activity.objects.count() == 0


def test_both_spellings_must_name_the_same_record(admin_api, tenant, commerce, route, salesman):
    agreeing = task(commerce_id=str(commerce.pk), commerce_external_id=commerce.external_id,
                    assigned_route_id=str(route.pk), assigned_route_code=route.code,
                    assigned_operator_id=str(salesman.pk), assigned_operator_external_id="OP-7")
    assert admin_api.post("/api/activities", agreeing).status_code == 201
    other_commerce, other_route = commerce_with_rep(tenant), RouteFactory(tenant=tenant)
    other_operator = OperatorFactory(tenant=tenant)
    response = admin_api.post("/api/activities", {**agreeing, "idempotency_key": "ext-2",
                                                  "commerce_id": str(other_commerce.pk),
                                                  "assigned_route_id": str(other_route.pk),
                                                  "assigned_operator_id": str(other_operator.pk)})
    assert (response.status_code, response.json()["details"]) == (400, {
        "commerce_external_id": ["Names another commerce than commerce_id."],
        "assigned_route_code": ["Names another route than assigned_route_id."],
        "assigned_operator_external_id": ["Names another operator than assigned_operator_id."]})
    assert Activity.objects.count() == 1


def test_neither_spelling_of_the_commerce_is_400_naming_commerce_id(admin_api):
    response = admin_api.post("/api/activities", body())
    assert (response.status_code, response.json()["details"]) == (400, {"commerce_id": ["This field is required."]})


def test_another_tenants_external_ids_are_unknown(admin_api, other_tenant, commerce):
    foreign = commerce_with_rep(other_tenant)
    foreign_route = RouteFactory(tenant=other_tenant, code="FOREIGN-R")
    OperatorFactory(tenant=other_tenant, external_id="FOREIGN-OP")
    response = admin_api.post("/api/activities", body(commerce_external_id=foreign.external_id))
    assert (response.status_code, response.json()["details"]) == (400, {"commerce_external_id": ["Unknown commerce."]})
    response = admin_api.post("/api/activities", task(commerce_external_id=commerce.external_id,
                                                      assigned_route_code=foreign_route.code,
                                                      assigned_operator_external_id="FOREIGN-OP"))
    assert (response.status_code, response.json()["details"]) == (400, {
        "assigned_route_code": ["Unknown route."], "assigned_operator_external_id": ["Unknown operator."]})
    assert Activity.objects.count() == 0


# --- idempotency: the body is hashed after the external ids are resolved to UUIDs ------------------------------

def test_a_replay_in_either_spelling_of_the_same_records_replays(admin_api, tenant, commerce, route, salesman):
    first = admin_api.post("/api/activities", task(commerce_external_id=commerce.external_id,
                                                   assigned_route_code=route.code,
                                                   assigned_operator_external_id="OP-7"))
    assert first.status_code == 201
    for again in (task(commerce_external_id=commerce.external_id, assigned_route_code=route.code,
                       assigned_operator_external_id="OP-7"),
                  task(commerce_id=str(commerce.pk), assigned_route_id=str(route.pk),
                       assigned_operator_id=str(salesman.pk))):
        response = admin_api.post("/api/activities", again)
        assert (response.status_code, response.headers["Idempotent-Replayed"]) == (200, "true")
        assert response.json()["id"] == first.json()["id"]
    other = commerce_with_rep(tenant)
    conflict = admin_api.post("/api/activities", task(commerce_external_id=other.external_id,
                                                      assigned_route_code=route.code,
                                                      assigned_operator_external_id="OP-7"))
    assert (conflict.status_code, conflict.json()["existingActivityId"]) == (409, first.json()["id"])
    # An external id that no longer names anything is another body than the one stored.
    unknown = admin_api.post("/api/activities", task(commerce_external_id="GONE", assigned_route_code=route.code,
                                                     assigned_operator_external_id="OP-7"))
    assert unknown.status_code == 409
    assert (Activity.objects.count(), StatusEvent.objects.filter(event_type="CREATED").count()) == (1, 1)


# --- bulk ---------------------------------------------------------------------------------------------------------

def test_bulk_with_mixed_spellings(admin_api, tenant, commerce, route, salesman, agent):
    items = [
        body(commerce_id=str(commerce.pk), idempotency_key="b-0"),
        body(commerce_external_id=commerce.external_id, idempotency_key="b-1"),
        task(commerce_external_id=commerce.external_id, assigned_route_code=route.code,
             assigned_operator_external_id="OP-7", idempotency_key="b-2"),
        task(commerce_id=str(commerce.pk), channel="CALLCENTER", assigned_route_id=str(route.pk),
             assigned_operator_external_id="OP-7", idempotency_key="b-3"),
        body(commerce_external_id="NOPE", idempotency_key="b-4"),
        task(commerce_external_id=commerce.external_id, assigned_route_code="NOPE",
             assigned_operator_id=str(salesman.pk), idempotency_key="b-5"),
        # The same key and the same records in the other spelling: settled against item 1 as a replay.
        body(commerce_id=str(commerce.pk), idempotency_key="b-1"),
    ]
    response = admin_api.post("/api/activities/bulk", {"items": items})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert [r["status"] for r in data["results"]] == [201, 201, 201, 201, 400, 400, 200]
    assert (data["created"], data["replayed"], data["failed"]) == (4, 1, 2)
    assert data["results"][4]["error"]["details"] == {"commerce_external_id": ["Unknown commerce."]}
    assert data["results"][5]["error"]["details"] == {"assigned_route_code": ["Unknown route."]}
    assert data["results"][6]["activityId"] == data["results"][1]["activityId"]
    assert TaskDetails.objects.get(activity__idempotency_key="b-2").operator == salesman
    assert TaskDetails.objects.get(activity__idempotency_key="b-3").operator == agent
    assert {a.commerce_assignment.commerce for a in Activity.objects.all()} == {commerce}
    assert Activity.objects.count() == 4


def test_bulk_by_external_ids_stays_set_based(admin_api, tenant, query_count):
    commerces = [commerce_with_rep(tenant) for _ in range(3)]
    routes = [RouteFactory(tenant=tenant) for _ in range(3)]
    operators = [OperatorFactory(tenant=tenant, type=OperatorType.SALESMAN) for _ in range(3)]
    counts = []
    for size in (3, 30):
        items = []
        for i in range(size):
            spelled = i % 2  # half by UUID, half by external id
            items.append(task(
                idempotency_key=f"x{size}-{i}",
                **({"commerce_external_id": commerces[i % 3].external_id, "assigned_route_code": routes[i % 3].code,
                    "assigned_operator_external_id": operators[i % 3].external_id} if spelled else
                   {"commerce_id": str(commerces[i % 3].pk), "assigned_route_id": str(routes[i % 3].pk),
                    "assigned_operator_id": str(operators[i % 3].pk)})))
        with query_count() as counted:
            response = admin_api.post("/api/activities/bulk", {"items": items})
        assert response.json()["created"] == size, response.json()
        counts.append(len(counted.captured_queries))
    assert counts[0] == counts[1]
