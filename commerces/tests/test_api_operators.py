import uuid

import pytest

from commerces.models import Operator
from commerces.tests.factories import OperatorFactory
from commerces.tests.shapes import operator_json, timestamps

pytestmark = pytest.mark.django_db

PILOT_IS_NOT_A_TYPE = ['"PILOT" is not a valid choice; one of SALESMAN, ACTIVATOR, CALLCENTER.']

SYNC = "/api/operators/sync"


@pytest.fixture
def operator(tenant):
    return OperatorFactory(tenant=tenant, type="SALESMAN", name="Sergio Salesman", email="sergio@reten.demo",
                           phone="+56990000001", external_id="S-1", metadata={"zone": "north"})


@pytest.fixture
def foreign_operator(other_tenant):
    return OperatorFactory(tenant=other_tenant, name="Foreign", email="sergio@reten.demo", external_id="S-1")


# --- list -------------------------------------------------------------------------------------------------------


def test_list_operators_by_name(admin_api, tenant, operator, foreign_operator):
    agent = OperatorFactory(tenant=tenant, type="CALLCENTER", name="Ana Agent", email=None, external_id="CC-1")

    response = admin_api.get("/api/operators")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "data": [
            {"id": str(agent.id), "type": "CALLCENTER", "name": "Ana Agent", "email": None, "phone": "",
             "externalId": "CC-1", "isActive": True, "isPlaceholder": False, "metadata": {}, **timestamps(agent)},
            operator_json(operator),
        ],
        "meta": {"page": 1, "limit": 25, "total": 2, "totalPages": 1},
    }


@pytest.mark.parametrize(("params", "expected"), [
    ({"search": "sergio"}, ["Sergio Salesman"]),
    ({"search": "@calls.cl"}, ["Ana Agent"]),
    ({"type": "CALLCENTER"}, ["Ana Agent"]),
    ({"type": "ACTIVATOR"}, ["Zoe Activator"]),
    ({"is_active": "false"}, ["Zoe Activator"]),
    ({"is_active": "true", "type": "SALESMAN"}, ["Sergio Salesman"]),
])
def test_list_operator_filters(admin_api, tenant, operator, params, expected):
    OperatorFactory(tenant=tenant, type="CALLCENTER", name="Ana Agent", email="ana@calls.cl")
    OperatorFactory(tenant=tenant, type="ACTIVATOR", name="Zoe Activator", is_active=False)

    response = admin_api.get("/api/operators", params)

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["data"]] == expected


def test_list_operators_refuses_an_unknown_type(admin_api):
    response = admin_api.get("/api/operators", {"type": "PILOT"})

    assert response.status_code == 400
    assert response.json()["details"] == {"type": PILOT_IS_NOT_A_TYPE}


# --- create -----------------------------------------------------------------------------------------------------


def test_create_operator(admin_api, tenant):
    response = admin_api.post("/api/operators", {
        "type": "ACTIVATOR", "name": "Andres", "email": "Andres@Reten.Demo", "phone": "+56 9 9000 0003",
        "external_id": "A-1", "metadata": {"shift": "AM"},
    })

    assert response.status_code == 201, response.content
    operator = Operator.objects.get()
    assert (operator.tenant, operator.email, operator.phone) == (tenant, "andres@reten.demo", "+56990000003")
    assert response.json() == {
        "id": str(operator.id), "type": "ACTIVATOR", "name": "Andres", "email": "andres@reten.demo",
        "phone": "+56990000003", "externalId": "A-1", "isActive": True, "isPlaceholder": False,
        "metadata": {"shift": "AM"}, **timestamps(operator),
    }


@pytest.mark.parametrize(("body", "details"), [
    ({"name": "x", "external_id": "1"}, {"type": ["This field is required."]}),
    ({"type": "PILOT", "name": "x", "external_id": "1"}, {"type": PILOT_IS_NOT_A_TYPE}),
    ({"type": "SALESMAN", "name": "x", "external_id": "1", "email": "nope"},
     {"email": ["Enter a valid email address."]}),
    ({"type": "SALESMAN", "name": "x", "external_id": "1", "phone": "555-1234"},
     {"phone": ["Enter a phone number in E.164 format: + followed by 8 to 15 digits (e.g. +56912345678)."]}),
    ({"type": "SALESMAN", "external_id": "1"}, {"name": ["This field is required."]}),
])
def test_create_operator_refuses_invalid_bodies(admin_api, body, details):
    response = admin_api.post("/api/operators", body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert not Operator.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "CALLCENTER", "name": "Copy", "external_id": "CC-9", "email": "SERGIO@reten.demo"}, "email"),
    ({"type": "SALESMAN", "name": "Copy", "external_id": "S-1"}, "external_id"),
])
def test_create_operator_refuses_a_taken_email_or_identity(admin_api, operator, body, field):
    response = admin_api.post("/api/operators", body)

    assert response.status_code == 409
    assert list(response.json()["details"]) == [field]
    assert Operator.objects.count() == 1


def test_the_same_external_id_with_another_type_or_tenant_is_fine(admin_api, operator, foreign_operator):
    response = admin_api.post("/api/operators", {"type": "ACTIVATOR", "name": "Other", "external_id": "S-1"})

    assert response.status_code == 201
    assert Operator.objects.filter(external_id="S-1").count() == 3


# --- detail / update --------------------------------------------------------------------------------------------


def test_get_operator(admin_api, operator):
    response = admin_api.get(f"/api/operators/{operator.id}")

    assert response.status_code == 200
    assert response.json() == operator_json(operator)


def test_update_operator_merges_metadata(admin_api, operator):
    response = admin_api.patch(f"/api/operators/{operator.id}", {
        "name": "Sergio S.", "phone": "", "is_active": False, "metadata": {"zone": None, "team": "B"},
    })

    assert response.status_code == 200, response.content
    operator.refresh_from_db()
    assert (operator.name, operator.phone, operator.is_active, operator.metadata) == (
        "Sergio S.", "", False, {"team": "B"})
    assert response.json() == operator_json(operator)


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "ana@calls.cl"}, "email"),
    ({"type": "CALLCENTER", "external_id": "CC-1"}, "external_id"),
])
def test_update_operator_refuses_a_taken_email_or_identity(admin_api, tenant, operator, body, field):
    OperatorFactory(tenant=tenant, type="CALLCENTER", external_id="CC-1", email="ana@calls.cl")

    response = admin_api.patch(f"/api/operators/{operator.id}", body)

    assert response.status_code == 409
    assert list(response.json()["details"]) == [field]
    operator.refresh_from_db()
    assert (operator.type, operator.external_id, operator.email) == ("SALESMAN", "S-1", "sergio@reten.demo")


def test_update_operator_refuses_an_invalid_body(admin_api, operator):
    response = admin_api.patch(f"/api/operators/{operator.id}", {"phone": "12"})

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["phone"]


def test_another_tenants_operator_is_not_found(admin_api, foreign_operator):
    assert admin_api.get(f"/api/operators/{foreign_operator.id}").status_code == 404
    assert admin_api.patch(f"/api/operators/{foreign_operator.id}", {"name": "X"}).status_code == 404
    assert admin_api.get(f"/api/operators/{uuid.uuid4()}").status_code == 404
    foreign_operator.refresh_from_db()
    assert foreign_operator.name == "Foreign"


# --- sync -------------------------------------------------------------------------------------------------------


def test_sync_operators_creates_and_updates_on_type_and_external_id(admin_api, tenant, operator):
    response = admin_api.post(SYNC, {"items": [
        {"type": "SALESMAN", "external_id": "S-1", "name": "Sergio Updated", "metadata": {"team": "B"}},
        {"type": "CALLCENTER", "external_id": "S-1", "name": "Same id, other type", "email": "cc@reten.demo"},
        {"type": "ACTIVATOR", "external_id": "A-1", "name": "New", "phone": "+56 9 9000 0003"},
    ]})

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "updated": 1, "total": 3}
    operator.refresh_from_db()
    assert (operator.name, operator.email, operator.metadata) == (
        "Sergio Updated", "sergio@reten.demo", {"zone": "north", "team": "B"})
    assert Operator.objects.get(type="ACTIVATOR").phone == "+56990000003"
    assert Operator.objects.filter(tenant=tenant).count() == 3


def test_a_second_identical_operator_sync_writes_nothing(admin_api):
    items = [{"type": "SALESMAN", "external_id": f"S-{n}", "name": f"S {n}"} for n in range(3)]
    admin_api.post(SYNC, {"items": items})
    before = sorted(Operator.objects.values_list("id", "updated_at"))

    response = admin_api.post(SYNC, {"items": items})

    assert response.json() == {"created": 0, "updated": 3, "total": 3}
    assert sorted(Operator.objects.values_list("id", "updated_at")) == before


@pytest.mark.parametrize(("bad_item", "field", "status"), [
    ({"type": "SALESMAN", "name": "x"}, "items.1.external_id", 400),
    ({"type": "SALESMAN", "external_id": "N-1", "name": "x", "phone": "123"}, "items.1.phone", 400),
    ({"type": "SALESMAN", "external_id": "N-0", "name": "dup"}, "items.1.external_id", 400),
    ({"type": "SALESMAN", "external_id": "N-1", "name": "x", "email": "N0@x.cl"}, "items.1.email", 400),
    ({"type": "SALESMAN", "external_id": "N-1", "name": "x", "email": "sergio@reten.demo"}, "items.1.email", 409),
])
def test_a_bad_operator_refuses_the_whole_batch(admin_api, operator, bad_item, field, status):
    before = sorted(Operator.objects.values_list("id", "updated_at"))

    response = admin_api.post(SYNC, {"items": [
        {"type": "SALESMAN", "external_id": "N-0", "name": "New", "email": "n0@x.cl"}, bad_item,
        {"type": "SALESMAN", "external_id": "S-1", "name": "Would update"},
    ]})

    assert response.status_code == status, response.content
    assert list(response.json()["details"]) == [field]
    assert sorted(Operator.objects.values_list("id", "updated_at")) == before


def test_operator_sync_refuses_1001_items(admin_api):
    items = [{"type": "SALESMAN", "external_id": f"S-{n}", "name": "x"} for n in range(1001)]

    response = admin_api.post(SYNC, {"items": items})

    assert response.status_code == 400
    assert response.json()["details"] == {"items": ["Ensure this field has no more than 1000 elements."]}
    assert not Operator.objects.exists()


# --- permissions ------------------------------------------------------------------------------------------------


def test_operator_permissions(viewer_api, fde_api, operator):
    sync_body = {"items": [{"type": "SALESMAN", "external_id": "S-9", "name": "x"}]}

    assert viewer_api.get("/api/operators").status_code == 403
    assert viewer_api.post("/api/operators", {"type": "SALESMAN", "name": "x", "external_id": "V"}).status_code == 403
    assert viewer_api.get(f"/api/operators/{operator.id}").status_code == 403
    assert viewer_api.patch(f"/api/operators/{operator.id}", {"name": "x"}).status_code == 403
    assert viewer_api.post(SYNC, sync_body).status_code == 403
    assert fde_api.post(SYNC, sync_body).status_code == 403  # FDE manages operators but does not sync them
    assert Operator.objects.count() == 1
    assert fde_api.get("/api/operators").status_code == 200
    assert fde_api.patch(f"/api/operators/{operator.id}", {"name": "Fde"}).status_code == 200


def test_operator_sync_never_touches_another_tenant(admin_api, tenant, foreign_operator):
    response = admin_api.post(SYNC, {"items": [
        {"type": foreign_operator.type, "external_id": foreign_operator.external_id, "name": "Mine",
         "email": foreign_operator.email},
    ]})

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 1, "updated": 0, "total": 1}
    foreign_operator.refresh_from_db()
    assert foreign_operator.name == "Foreign"
    assert Operator.objects.get(tenant=tenant).email == foreign_operator.email
