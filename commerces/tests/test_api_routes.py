import uuid

import pytest

from commerces.models import Route, RouteOperator
from commerces.tests.factories import OperatorFactory, RouteFactory, RouteOperatorFactory
from commerces.tests.shapes import route_json, timestamps

pytestmark = pytest.mark.django_db


@pytest.fixture
def route(tenant):
    return RouteFactory(tenant=tenant, code="R-001", name="Santiago Centro")


@pytest.fixture
def salesman(tenant):
    return OperatorFactory(tenant=tenant, type="SALESMAN", name="Sergio")


def operators_path(route):
    return f"/api/routes/{route.id}/operators"


# --- list / create ----------------------------------------------------------------------------------------------


def test_list_routes_with_their_operators(admin_api, tenant, route, salesman, other_tenant):
    agent = OperatorFactory(tenant=tenant, type="CALLCENTER", name="Ana")
    lead = RouteOperatorFactory(route=route, operator=salesman, role="LEAD")
    gone = RouteOperatorFactory(route=route, operator=agent, is_active=False)
    empty = RouteFactory(tenant=tenant, code="R-002", name="Empty", is_active=False)
    RouteFactory(tenant=other_tenant, code="R-001")

    response = admin_api.get("/api/routes")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "data": [route_json(route, [lead, gone]), route_json(empty, [])],
        "meta": {"page": 1, "limit": 25, "total": 2, "totalPages": 1},
    }
    assert response.json()["data"][0]["operators"][0] == {
        "operatorId": str(salesman.id), "operatorName": "Sergio", "operatorType": "SALESMAN", "role": "LEAD",
        "isActive": True, **timestamps(lead),
    }


@pytest.mark.parametrize(("params", "expected"), [
    ({"search": "centro"}, ["R-001"]),
    ({"search": "r-002"}, ["R-002"]),
    ({"is_active": "false"}, ["R-002"]),
])
def test_list_route_filters(admin_api, tenant, route, params, expected):
    RouteFactory(tenant=tenant, code="R-002", name="Norte", is_active=False)

    response = admin_api.get("/api/routes", params)

    assert [row["code"] for row in response.json()["data"]] == expected


def test_create_route(admin_api, tenant):
    response = admin_api.post("/api/routes", {"code": "R-010", "name": "Valparaíso"})

    assert response.status_code == 201, response.content
    route = Route.objects.get()
    assert route.tenant == tenant
    assert response.json() == {"id": str(route.id), "code": "R-010", "name": "Valparaíso", "isActive": True,
                               "operators": [], **timestamps(route)}


@pytest.mark.parametrize(("body", "details"), [
    ({"name": "No code"}, {"code": ["This field is required."]}),
    ({"code": "R-1"}, {"name": ["This field is required."]}),
    ({"code": "R" * 65, "name": "x"}, {"code": ["Ensure this field has no more than 64 characters."]}),
])
def test_create_route_refuses_invalid_bodies(admin_api, body, details):
    response = admin_api.post("/api/routes", body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert not Route.objects.exists()


def test_create_route_refuses_a_taken_code(admin_api, route, other_tenant):
    RouteFactory(tenant=other_tenant, code="R-009")

    refused = admin_api.post("/api/routes", {"code": "R-001", "name": "Copy"})
    allowed = admin_api.post("/api/routes", {"code": "R-009", "name": "Same code as another tenant"})

    assert refused.status_code == 409
    assert refused.json()["details"] == {"code": ["A route with code 'R-001' already exists in this tenant"]}
    assert allowed.status_code == 201


# --- assign / remove operators ----------------------------------------------------------------------------------


def test_assign_an_operator(admin_api, route, salesman):
    response = admin_api.post(operators_path(route), {"operator_id": str(salesman.id), "role": "LEAD"})

    assert response.status_code == 201, response.content
    link = RouteOperator.objects.get()
    assert (link.route, link.operator, link.role, link.is_active) == (route, salesman, "LEAD", True)
    assert response.json() == {"routeId": str(route.id), "operatorId": str(salesman.id), "role": "LEAD",
                               "isActive": True}


def test_assigning_again_is_idempotent_and_can_change_the_role(admin_api, route, salesman):
    first = admin_api.post(operators_path(route), {"operator_id": str(salesman.id)})
    again = admin_api.post(operators_path(route), {"operator_id": str(salesman.id)})
    promoted = admin_api.post(operators_path(route), {"operator_id": str(salesman.id), "role": "LEAD"})

    assert (first.status_code, again.status_code, promoted.status_code) == (201, 200, 200)
    link = RouteOperator.objects.get()
    assert link.role == "LEAD"
    link_body = {"routeId": str(route.id), "operatorId": str(salesman.id), "isActive": True}
    assert (first.json(), again.json(), promoted.json()) == (
        {**link_body, "role": "MEMBER"}, {**link_body, "role": "MEMBER"}, {**link_body, "role": "LEAD"})


def test_assigning_reactivates_an_inactive_link(admin_api, route, salesman):
    link = RouteOperatorFactory(route=route, operator=salesman, role="LEAD", is_active=False)

    response = admin_api.post(operators_path(route), {"operator_id": str(salesman.id)})

    assert response.status_code == 200
    link.refresh_from_db()
    assert (link.is_active, link.role) == (True, "LEAD")
    assert RouteOperator.objects.count() == 1
    assert response.json() == {"routeId": str(route.id), "operatorId": str(salesman.id), "role": "LEAD",
                               "isActive": True}


@pytest.mark.parametrize(("body", "details"), [
    ({}, {"operator_id": ["This field is required."]}),
    ({"operator_id": "nope"}, {"operator_id": ["Must be a valid UUID."]}),
    ({"operator_id": "00000000-0000-0000-0000-000000000000", "role": "BOSS"},
     {"role": ['"BOSS" is not a valid choice; one of LEAD, MEMBER.']}),
])
def test_assign_refuses_invalid_bodies(admin_api, route, body, details):
    response = admin_api.post(operators_path(route), body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert not RouteOperator.objects.exists()


def test_assign_with_another_tenants_route_or_operator_is_not_found(admin_api, route, salesman, other_tenant):
    their_route = RouteFactory(tenant=other_tenant)
    their_operator = OperatorFactory(tenant=other_tenant)

    assert admin_api.post(operators_path(route), {"operator_id": str(their_operator.id)}).status_code == 404
    assert admin_api.post(operators_path(their_route), {"operator_id": str(salesman.id)}).status_code == 404
    assert admin_api.post(f"/api/routes/{uuid.uuid4()}/operators", {"operator_id": str(salesman.id)}).status_code \
        == 404
    assert not RouteOperator.objects.exists()


def test_remove_an_operator_keeps_the_link_inactive(admin_api, route, salesman):
    link = RouteOperatorFactory(route=route, operator=salesman)

    response = admin_api.delete(f"{operators_path(route)}/{salesman.id}")

    assert response.status_code == 204
    link.refresh_from_db()
    assert link.is_active is False
    assert admin_api.delete(f"{operators_path(route)}/{salesman.id}").status_code == 404


def test_remove_an_operator_that_is_not_on_the_route_is_not_found(admin_api, route, salesman, other_tenant):
    their_link = RouteOperatorFactory(route=RouteFactory(tenant=other_tenant),
                                      operator=OperatorFactory(tenant=other_tenant))

    assert admin_api.delete(f"{operators_path(route)}/{salesman.id}").status_code == 404
    assert admin_api.delete(f"{operators_path(their_link.route)}/{their_link.operator_id}").status_code == 404
    their_link.refresh_from_db()
    assert their_link.is_active is True


def test_route_permissions(viewer_api, fde_api, route, salesman):
    RouteOperatorFactory(route=route, operator=salesman)

    assert viewer_api.get("/api/routes").status_code == 403
    assert viewer_api.post("/api/routes", {"code": "R-9", "name": "x"}).status_code == 403
    assert viewer_api.post(operators_path(route), {"operator_id": str(salesman.id)}).status_code == 403
    assert viewer_api.delete(f"{operators_path(route)}/{salesman.id}").status_code == 403
    assert Route.objects.count() == 1 and RouteOperator.objects.get().is_active
    assert fde_api.get("/api/routes").status_code == 200
    assert fde_api.post("/api/routes", {"code": "R-9", "name": "x"}).status_code == 201
    assert fde_api.delete(f"{operators_path(route)}/{salesman.id}").status_code == 204
    assert fde_api.post(operators_path(route), {"operator_id": str(salesman.id)}).status_code == 200
