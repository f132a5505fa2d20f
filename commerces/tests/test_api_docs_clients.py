"""Issue 10: a client written from the public docs. The docs' request in, the docs' shape out."""
import uuid

import pytest

from commerces.models import CommerceUser, Operator, Route
from commerces.tests.factories import (
    CommerceFactory,
    CommerceUserFactory,
    ContactFactory,
    OperatorFactory,
    RouteFactory,
    RouteOperatorFactory,
)
from commerces.tests.shapes import contact_json, operator_json, route_json, timestamps, user_json

pytestmark = pytest.mark.django_db


# --- commerce users: `name` beside first_name / last_name ---------------------------------------------------------


@pytest.mark.parametrize(("name", "first", "last"), [
    ("Rosa María Pérez", "Rosa", "María Pérez"), ("  Rosa  ", "Rosa", ""), ("", "", ""),
])
def test_create_user_from_a_full_name(admin_api, commerce, name, first, last):
    response = admin_api.post(f"/api/commerces/{commerce.id}/users", {"external_id": "U-1", "name": name})

    assert response.status_code == 201, response.json()
    user = CommerceUser.objects.get()
    assert (user.first_name, user.last_name) == (first, last)
    assert response.json() == user_json(user, [], [])


@pytest.mark.parametrize(("body", "problem"), [
    ({"name": "Rosa Pérez", "first_name": "Rosa"}, "Send name or first_name/last_name, not both."),
    ({"name": "x" * 151}, "The first name and the last name may have at most 150 characters each."),
    ({"name": "x" * 302}, "Ensure this field has no more than 301 characters."),
])
def test_create_user_refuses_an_ambiguous_or_long_name(admin_api, commerce, body, problem):
    response = admin_api.post(f"/api/commerces/{commerce.id}/users", body)
    assert (response.status_code, response.json()["details"]) == (400, {"name": [problem]})
    assert not CommerceUser.objects.exists()


def test_sync_accepts_name_for_new_and_existing_users(api_as, admin_user, tenant, commerce):
    CommerceUserFactory(commerce=commerce, external_id="U-1", first_name="Old", last_name="Name")
    response = api_as(admin_user, tenant).post("/api/commerces/sync", {"items": [{
        "external_id": commerce.external_id, "name": commerce.name,
        "users": [{"external_id": "U-1", "name": "Rosa Pérez Soto"}, {"external_id": "U-2", "name": "Mario"}],
    }]})

    assert (response.status_code, response.json()) == (201, {"created": 0, "updated": 1, "total": 1})
    names = dict(CommerceUser.objects.filter(commerce=commerce).values_list("external_id", "first_name"))
    assert names == {"U-1": "Rosa", "U-2": "Mario"}
    assert CommerceUser.objects.get(external_id="U-1").last_name == "Pérez Soto"
    assert CommerceUser.objects.get(external_id="U-2").last_name == ""


def test_sync_refuses_name_beside_first_name(admin_api, commerce):
    response = admin_api.post("/api/commerces/sync", {"items": [{
        "external_id": "NEW-1", "name": "New store",
        "users": [{"external_id": "U-1", "name": "Rosa Pérez", "last_name": "Pérez"}]}]})
    assert response.status_code == 400
    assert response.json()["details"] == {"items.0.users.0.name": ["Send name or first_name/last_name, not both."]}
    assert not CommerceUser.objects.exists()


# --- commerce detail: roles as [{role}], contacts with type ------------------------------------------------------


def test_commerce_detail_answers_roles_as_objects_and_contacts_with_type(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant)
    person = CommerceUserFactory(commerce=commerce, roles=["OWNER", "FINANCE"])
    phone = ContactFactory(commerce_user=person, contact_type="PHONE", value="+56912345678")

    user = admin_api.get(f"/api/commerces/{commerce.id}").json()["users"][0]

    assert user["roles"] == [{"role": "OWNER"}, {"role": "FINANCE"}]
    assert user["contacts"] == [{"id": str(phone.id), "type": "PHONE", "value": "+56912345678",
                                 "isPrimary": phone.is_primary, "source": phone.source, "isActive": True,
                                 **timestamps(phone)}]
    assert user == user_json(person, ["OWNER", "FINANCE"], [phone])
    assert contact_json(phone)["type"] == "PHONE" and "contactType" not in user["contacts"][0]


# --- operators: external_id optional ------------------------------------------------------------------------------


def test_create_operator_with_the_docs_minimum(admin_api, tenant):
    first = admin_api.post("/api/operators", {"type": "SALESMAN", "name": "Sergio"})
    second = admin_api.post("/api/operators", {"type": "SALESMAN", "name": "Sonia", "external_id": ""})

    assert (first.status_code, second.status_code) == (201, 201), (first.json(), second.json())
    sergio, sonia = Operator.objects.get(name="Sergio"), Operator.objects.get(name="Sonia")
    assert (sergio.external_id, sonia.external_id) == (None, None)  # no external id never collides
    assert first.json() == operator_json(sergio)
    assert first.json()["externalId"] is None


def test_a_given_external_id_is_still_unique_with_type(admin_api, tenant):
    OperatorFactory(tenant=tenant, type="SALESMAN", external_id="S-1")
    response = admin_api.post("/api/operators", {"type": "SALESMAN", "name": "Twin", "external_id": "S-1"})
    assert response.status_code == 409
    assert not Operator.objects.filter(name="Twin").exists()
    other_type = admin_api.post("/api/operators", {"type": "CALLCENTER", "name": "Agent", "external_id": "S-1"})
    assert other_type.status_code == 201


def test_operator_sync_still_needs_its_upsert_key_and_leaves_operators_without_one_alone(admin_api, tenant):
    loose = OperatorFactory(tenant=tenant, type="SALESMAN", external_id=None, name="Loose")
    missing = admin_api.post("/api/operators/sync", {"items": [{"type": "SALESMAN", "name": "No key"}]})
    assert (missing.status_code, missing.json()["details"]) == (
        400, {"items.0.external_id": ["This field is required."]})
    synced = admin_api.post("/api/operators/sync",
                            {"items": [{"type": "SALESMAN", "name": "Keyed", "external_id": "K"}]})
    assert (synced.status_code, synced.json()) == (201, {"created": 1, "updated": 0, "total": 1})
    loose.refresh_from_db()
    assert (loose.name, loose.external_id) == ("Loose", None)
    assert Operator.objects.for_tenant(tenant).count() == 2


# --- routes: GET|PATCH /api/routes/:id ------------------------------------------------------------------------------


def test_get_a_route_with_its_operators(admin_api, tenant):
    route = RouteFactory(tenant=tenant)
    link = RouteOperatorFactory(route=route, operator=OperatorFactory(tenant=tenant))
    response = admin_api.get(f"/api/routes/{route.id}")
    assert (response.status_code, response.json()) == (200, route_json(route, [link]))


def test_rename_and_deactivate_a_route(admin_api, tenant):
    route = RouteFactory(tenant=tenant, code="R-9", name="Old")
    response = admin_api.patch(f"/api/routes/{route.id}", {"name": "New", "is_active": False})
    route.refresh_from_db()
    assert (route.code, route.name, route.is_active) == ("R-9", "New", False)
    assert (response.status_code, response.json()) == (200, route_json(route, []))


@pytest.mark.parametrize(("body", "details"), [
    ({"name": ""}, {"name": ["This field may not be blank."]}),
    ({"is_active": "soon"}, {"is_active": ["Must be a valid boolean."]}),
])
def test_route_patch_refuses_bad_input(admin_api, tenant, body, details):
    route = RouteFactory(tenant=tenant, name="Kept")
    response = admin_api.patch(f"/api/routes/{route.id}", body)
    assert (response.status_code, response.json()["details"]) == (400, details)
    assert Route.objects.get(pk=route.pk).name == "Kept"


def test_another_tenants_route_is_not_found_and_viewers_are_refused(admin_api, api_as, viewer_user, tenant,
                                                                    other_tenant):
    foreign = RouteFactory(tenant=other_tenant, name="Theirs")
    assert admin_api.get(f"/api/routes/{foreign.id}").status_code == 404
    assert admin_api.patch(f"/api/routes/{foreign.id}", {"name": "Mine"}).status_code == 404
    assert admin_api.get(f"/api/routes/{uuid.uuid4()}").status_code == 404
    own = RouteFactory(tenant=tenant, name="Ours")
    refused = api_as(viewer_user, tenant).patch(f"/api/routes/{own.id}", {"name": "Viewer's"})
    assert (refused.status_code, refused.json()["message"]) == (403, "Missing permission MANAGE_ROUTES")
    assert set(Route.objects.values_list("name", flat=True)) == {"Theirs", "Ours"}
