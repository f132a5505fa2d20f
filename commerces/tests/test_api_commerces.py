import uuid

import pytest

from commerces.models import Commerce, ContactType
from commerces.tests.factories import AddressFactory, CommerceFactory, CommerceUserFactory, ContactFactory
from commerces.tests.shapes import address_json, commerce_json, contact_json, timestamps, user_json
from reten.api.renderers import format_datetime

pytestmark = pytest.mark.django_db


# --- list -------------------------------------------------------------------------------------------------------


def test_list_returns_the_tenants_commerces_by_name_in_the_envelope(admin_api, tenant, commerce, foreign_commerce):
    other = CommerceFactory(tenant=tenant, external_id="C-2", name="Almacen Central", global_external_id="G-2",
                            is_placeholder=True)

    response = admin_api.get("/api/commerces")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "data": [
            {"id": str(other.id), "externalId": "C-2", "name": "Almacen Central", "taxId": None,
             "globalExternalId": "G-2", "isActive": True, "isPlaceholder": True, "metadata": {},
             "createdAt": format_datetime(other.created_at), "updatedAt": format_datetime(other.updated_at)},
            commerce_json(commerce),
        ],
        "meta": {"page": 1, "limit": 25, "total": 2, "totalPages": 1},
    }


@pytest.mark.parametrize(("params", "expected"), [
    ({"search": "pedro"}, ["C-1"]),
    ({"search": "c-2"}, ["C-2"]),
    ({"search": "C-"}, ["C-3", "C-2", "C-1"]),
    ({"external_id": "C-2"}, ["C-2"]),
    ({"external_id": "C"}, []),
    ({"external_id": "", "search": ""}, ["C-3", "C-2", "C-1"]),
    ({"global_external_id": "G-3"}, ["C-3"]),
    ({"is_active": "false"}, ["C-3"]),
    ({"is_active": "true"}, ["C-2", "C-1"]),
    ({"is_placeholder": "true"}, ["C-2"]),
    ({"is_placeholder": "false", "is_active": "true"}, ["C-1"]),
])
def test_list_filters(admin_api, tenant, params, expected):
    CommerceFactory(tenant=tenant, external_id="C-1", name="Minimarket Don Pedro")
    CommerceFactory(tenant=tenant, external_id="C-2", name="Kiosko La Esquina", is_placeholder=True)
    CommerceFactory(tenant=tenant, external_id="C-3", name="Bazar El Sol", global_external_id="G-3", is_active=False)

    response = admin_api.get("/api/commerces", params)

    assert response.status_code == 200, response.content
    assert [row["externalId"] for row in response.json()["data"]] == expected


def test_list_refuses_a_filter_that_is_not_a_boolean(admin_api):
    response = admin_api.get("/api/commerces", {"is_active": "maybe"})

    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": "Validation failed: is_active: Must be a valid boolean.",
                               "error": "Bad Request", "details": {"is_active": ["Must be a valid boolean."]}}


def test_list_paginates(admin_api, tenant):
    for number in range(5):
        CommerceFactory(tenant=tenant, name=f"Store {number}")

    response = admin_api.get("/api/commerces", {"page": 2, "per_page": 2})

    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["data"]] == ["Store 2", "Store 3"]
    assert body["meta"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}


def test_list_refuses_a_bad_page(admin_api):
    response = admin_api.get("/api/commerces", {"per_page": "0"})

    assert response.status_code == 400
    assert response.json()["details"] == {"per_page": ["Must be a whole number of at least 1."]}


# --- create -----------------------------------------------------------------------------------------------------


def test_create_returns_the_new_commerce_with_empty_collections(admin_api, tenant):
    response = admin_api.post("/api/commerces", {
        "external_id": "C-10", "name": "Ferreteria San Jorge", "tax_id": "76111111-1",
        "global_external_id": "G-10", "is_placeholder": True, "metadata": {"segment": "GOLD", "someKey": 1},
    })

    assert response.status_code == 201, response.content
    commerce = Commerce.objects.get()
    assert commerce.tenant == tenant
    assert response.json() == {
        "id": str(commerce.id), "externalId": "C-10", "name": "Ferreteria San Jorge", "taxId": "76111111-1",
        "globalExternalId": "G-10", "isActive": True, "isPlaceholder": True,
        "metadata": {"segment": "GOLD", "someKey": 1}, **timestamps(commerce), "addresses": [], "users": [],
    }
    assert commerce.metadata == {"segment": "GOLD", "someKey": 1}


def test_create_accepts_camel_case_and_stores_a_blank_tax_id_as_null(admin_api):
    first = admin_api.post("/api/commerces", {"externalId": "C-1", "name": "One", "taxId": ""})
    second = admin_api.post("/api/commerces", {"externalId": "C-2", "name": "Two", "taxId": "  "})

    assert (first.status_code, second.status_code) == (201, 201)
    assert list(Commerce.objects.order_by("external_id").values_list("tax_id", flat=True)) == [None, None]


@pytest.mark.parametrize(("body", "details"), [
    ({"name": "No id"}, {"external_id": ["This field is required."]}),
    ({"external_id": "C-1"}, {"name": ["This field is required."]}),
    ({"external_id": "", "name": "x"}, {"external_id": ["This field may not be blank."]}),
    ({"external_id": "C-1", "name": "x", "metadata": ["not", "an", "object"]},
     {"metadata": ['Expected a dictionary of items but got type "list".']}),
    ({"external_id": "C-1", "name": "x" * 256}, {"name": ["Ensure this field has no more than 255 characters."]}),
    ({"external_id": "C-1", "name": "x", "is_active": "sometimes"}, {"is_active": ["Must be a valid boolean."]}),
])
def test_create_refuses_invalid_bodies(admin_api, body, details):
    response = admin_api.post("/api/commerces", body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert not Commerce.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"external_id": "C-1", "name": "Copy"}, "external_id"),
    ({"external_id": "C-99", "name": "Copy", "tax_id": "76000001-1"}, "tax_id"),
])
def test_create_refuses_a_taken_external_id_or_tax_id(admin_api, commerce, body, field):
    response = admin_api.post("/api/commerces", body)

    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
    assert list(response.json()["details"]) == [field]
    assert Commerce.objects.count() == 1


def test_create_allows_an_external_id_another_tenant_uses(admin_api, foreign_commerce):
    response = admin_api.post("/api/commerces", {"external_id": foreign_commerce.external_id, "name": "Mine"})

    assert response.status_code == 201
    assert Commerce.objects.filter(external_id=foreign_commerce.external_id).count() == 2


# --- detail -----------------------------------------------------------------------------------------------------


def test_detail_includes_addresses_and_users_with_roles_and_contacts(admin_api, commerce):
    address = AddressFactory(commerce=commerce, is_primary=True, latitude="-33.426100", longitude="-70.611400",
                             source_ref="A-1")
    owner = CommerceUserFactory(commerce=commerce, first_name="Rosa", last_name="Alvarez",
                                roles=["COMMERCE_REP", "OWNER"])
    phone = ContactFactory(commerce_user=owner, contact_type=ContactType.PHONE, value="+56912345678",
                           is_primary=True)
    email = ContactFactory(commerce_user=owner, contact_type=ContactType.EMAIL, value="rosa@example.com")
    nobody = CommerceUserFactory(commerce=commerce, first_name="Ana", last_name="Zapata", external_id=None)

    response = admin_api.get(f"/api/commerces/{commerce.id}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        **commerce_json(commerce),
        "addresses": [address_json(address)],
        "users": [user_json(owner, ["OWNER", "COMMERCE_REP"], [phone, email]), user_json(nobody, [], [])],
    }
    assert body["addresses"][0]["latitude"] == -33.4261
    assert body["users"][0]["contacts"][0] == {
        "id": str(phone.id), "type": "PHONE", "value": "+56912345678", "isPrimary": True, "source": "RETEN",
        "isActive": True, **timestamps(phone),
    }
    assert contact_json(email) in body["users"][0]["contacts"]


def test_detail_of_another_tenants_commerce_is_not_found(admin_api, foreign_commerce):
    response = admin_api.get(f"/api/commerces/{foreign_commerce.id}")

    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Commerce not found", "error": "Not Found"}


def test_detail_of_an_unknown_id_is_not_found(admin_api):
    assert admin_api.get(f"/api/commerces/{uuid.uuid4()}").status_code == 404


def test_detail_of_a_malformed_id_is_a_bad_request_naming_it(admin_api):
    response = admin_api.get("/api/commerces/not-a-uuid")
    assert response.status_code == 400
    assert response.json()["details"] == {"commerce_id": ["Must be a valid UUID."]}


# --- update -----------------------------------------------------------------------------------------------------


def test_update_changes_the_fields_sent_and_merges_metadata_key_by_key(admin_api, commerce):
    commerce.metadata = {"segment": "GOLD", "promotions": [1], "drop": "me", "nested": {"a": 1}}
    commerce.save()

    response = admin_api.patch(f"/api/commerces/{commerce.id}", {
        "name": "Renamed", "is_active": False,
        "metadata": {"segment": "SILVER", "drop": None, "nested": {"b": 2}, "newKey": True},
    })

    assert response.status_code == 200, response.content
    commerce.refresh_from_db()
    assert commerce.name == "Renamed"
    assert commerce.is_active is False
    assert commerce.external_id == "C-1"
    assert commerce.metadata == {"segment": "SILVER", "promotions": [1], "nested": {"b": 2}, "newKey": True}
    assert response.json() == {**commerce_json(commerce), "addresses": [], "users": []}


def test_update_can_clear_the_tax_id(admin_api, commerce):
    response = admin_api.patch(f"/api/commerces/{commerce.id}", {"tax_id": None})

    assert response.status_code == 200
    commerce.refresh_from_db()
    assert commerce.tax_id is None


@pytest.mark.parametrize(("body", "field"), [
    ({"external_id": "C-2"}, "external_id"),
    ({"tax_id": "76000002-2"}, "tax_id"),
])
def test_update_refuses_a_taken_external_id_or_tax_id(admin_api, tenant, commerce, body, field):
    CommerceFactory(tenant=tenant, external_id="C-2", tax_id="76000002-2")

    response = admin_api.patch(f"/api/commerces/{commerce.id}", {**body, "name": "Not applied"})

    assert response.status_code == 409
    assert list(response.json()["details"]) == [field]
    commerce.refresh_from_db()
    assert (commerce.external_id, commerce.tax_id, commerce.name) == ("C-1", "76000001-1", "Minimarket Don Pedro")


def test_update_refuses_an_invalid_body(admin_api, commerce):
    response = admin_api.patch(f"/api/commerces/{commerce.id}", {"name": ""})

    assert response.status_code == 400
    assert response.json()["details"] == {"name": ["This field may not be blank."]}


def test_update_of_another_tenants_commerce_is_not_found(admin_api, foreign_commerce):
    response = admin_api.patch(f"/api/commerces/{foreign_commerce.id}", {"name": "Hijacked"})

    assert response.status_code == 404
    foreign_commerce.refresh_from_db()
    assert foreign_commerce.name == "Someone else's store"


# --- permissions ------------------------------------------------------------------------------------------------


def test_a_viewer_may_not_read_or_change_commerces(viewer_api, commerce):
    calls = [
        viewer_api.get("/api/commerces"),
        viewer_api.post("/api/commerces", {"external_id": "C-9", "name": "Nope"}),
        viewer_api.get(f"/api/commerces/{commerce.id}"),
        viewer_api.patch(f"/api/commerces/{commerce.id}", {"name": "Nope"}),
    ]

    assert [call.status_code for call in calls] == [403, 403, 403, 403]
    assert calls[0].json() == {"statusCode": 403, "message": "Missing permission MANAGE_COMMERCES",
                               "error": "Forbidden"}
    assert Commerce.objects.count() == 1
    commerce.refresh_from_db()
    assert commerce.name == "Minimarket Don Pedro"


def test_an_fde_manages_commerces(fde_api, commerce):
    assert fde_api.get("/api/commerces").status_code == 200
    assert fde_api.post("/api/commerces", {"external_id": "C-9", "name": "Yes"}).status_code == 201
    assert fde_api.patch(f"/api/commerces/{commerce.id}", {"name": "Yes"}).status_code == 200


def test_an_api_key_needs_manage_commerces(api_as, make_api_key, commerce):
    allowed = api_as(api_key=make_api_key(["MANAGE_COMMERCES"]))
    refused = api_as(api_key=make_api_key(["VIEW_ACTIVITIES"]))

    assert allowed.get(f"/api/commerces/{commerce.id}").status_code == 200
    assert refused.get(f"/api/commerces/{commerce.id}").status_code == 403


def test_anonymous_requests_are_refused(api_as, commerce):
    assert api_as().get("/api/commerces").status_code == 401
