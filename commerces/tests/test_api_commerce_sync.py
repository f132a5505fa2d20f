from decimal import Decimal

import pytest

from commerces.models import Address, Commerce, CommerceUser, CommerceUserRoleAssignment, Contact, Source
from commerces.services import commerce_sync
from commerces.tests.factories import AddressFactory, CommerceFactory, CommerceUserFactory, ContactFactory

pytestmark = pytest.mark.django_db

SYNC = "/api/commerces/sync"


def full_item(number=1, **overrides):
    item = {
        "external_id": f"EXT-{number}",
        "name": f"Store {number}",
        "tax_id": f"TAX-{number}",
        "global_external_id": f"G-{number}",
        "metadata": {"segment": "GOLD"},
        "addresses": [{"street": "Main", "street_number": str(number), "city": "Santiago", "country_code": "cl",
                       "latitude": "-33.4261", "longitude": "-70.6114", "is_primary": True,
                       "source_ref": f"A-{number}"}],
        "users": [{
            "external_id": f"U-{number}", "first_name": "Rosa", "last_name": "Owner", "roles": ["OWNER"],
            "contacts": [
                {"contact_type": "PHONE", "value": "+56 9 1234 5678", "is_primary": True},
                {"contact_type": "EMAIL", "value": "Rosa@Example.COM"},
            ],
        }],
    }
    item.update(overrides)
    return item


def snapshot():
    """Every directory row with its updated_at, to prove a refused or idempotent call wrote nothing."""
    return {
        model.__name__: sorted(
            (str(pk), str(stamp)) for pk, stamp in model.objects.values_list("pk", "updated_at")
        )
        for model in (Commerce, CommerceUser, Contact, Address)
    } | {"roles": sorted(CommerceUserRoleAssignment.objects.values_list("commerce_user_id", "role"))}


# --- create / update / mixed --------------------------------------------------------------------------------------


def test_sync_creates_commerces_with_addresses_users_roles_and_contacts(admin_api, tenant):
    response = admin_api.post(SYNC, {"items": [full_item(1), full_item(2, users=[], addresses=[])]})

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "updated": 0, "total": 2}
    first = Commerce.objects.get(external_id="EXT-1")
    assert (first.tenant, first.name, first.tax_id, first.global_external_id, first.metadata) == (
        tenant, "Store 1", "TAX-1", "G-1", {"segment": "GOLD"})
    address = first.addresses.get()
    assert (address.country_code, address.latitude, address.is_primary, address.source, address.source_ref) == (
        "CL", Decimal("-33.426100"), True, Source.INTEGRATION, "A-1")
    user = first.users.get()
    assert (user.external_id, user.first_name, user.source) == ("U-1", "Rosa", Source.INTEGRATION)
    assert list(user.role_assignments.values_list("role", flat=True)) == ["OWNER"]
    assert sorted(user.contacts.values_list("contact_type", "value", "is_primary", "source")) == [
        ("EMAIL", "rosa@example.com", False, "INTEGRATION"),
        ("PHONE", "+56912345678", True, "INTEGRATION"),
    ]
    assert not Commerce.objects.get(external_id="EXT-2").users.exists()


def test_sync_accepts_camel_case_bodies(admin_api):
    response = admin_api.post(SYNC, {"items": [{"externalId": "EXT-1", "name": "Camel", "taxId": "T-1",
                                                "users": [{"externalId": "U-1", "firstName": "Ana"}]}]})

    assert response.status_code == 201, response.content
    assert CommerceUser.objects.get().first_name == "Ana"


def test_sync_updates_existing_commerces_and_their_people(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant, external_id="EXT-1", name="Old name", tax_id="TAX-1",
                               metadata={"segment": "BRONZE", "kept": 1})
    old_primary_address = AddressFactory(commerce=commerce, is_primary=True, source_ref="OLD")
    user = CommerceUserFactory(commerce=commerce, external_id="U-1", first_name="Old", roles=["ADMIN", "OWNER"])
    old_phone = ContactFactory(commerce_user=user, contact_type="PHONE", value="+56900000000", is_primary=True)
    manual_user = CommerceUserFactory(commerce=commerce, external_id=None, first_name="Manual")

    response = admin_api.post(SYNC, {"items": [full_item(1, metadata={"segment": "GOLD", "kept": None, "new": 2})]})

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 0, "updated": 1, "total": 1}
    commerce.refresh_from_db()
    assert (commerce.name, commerce.metadata) == ("Store 1", {"segment": "GOLD", "new": 2})
    user.refresh_from_db()
    assert user.first_name == "Rosa"
    assert list(user.role_assignments.values_list("role", flat=True)) == ["OWNER"]  # replaced by the roles sent
    old_phone.refresh_from_db()
    assert (old_phone.is_primary, old_phone.is_active) == (False, True)  # demoted, kept
    assert user.contacts.get(is_primary=True).value == "+56912345678"
    old_primary_address.refresh_from_db()
    assert old_primary_address.is_primary is False
    assert commerce.addresses.get(is_primary=True).source_ref == "A-1"
    assert CommerceUser.objects.filter(pk=manual_user.pk).exists()  # nothing is deleted
    assert Commerce.objects.count() == 1 and CommerceUser.objects.count() == 2


def test_sync_keeps_the_fields_an_item_leaves_out(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant, external_id="EXT-1", tax_id="TAX-1", global_external_id="G-1",
                               is_placeholder=True, metadata={"a": 1})
    user = CommerceUserFactory(commerce=commerce, external_id="U-1", roles=["OWNER"])
    ContactFactory(commerce_user=user, value="+56911111111", is_primary=True)

    response = admin_api.post(SYNC, {"items": [{"external_id": "EXT-1", "name": "Renamed",
                                                "users": [{"external_id": "U-1", "last_name": "New"}]}]})

    assert response.status_code == 201
    commerce.refresh_from_db()
    assert (commerce.name, commerce.tax_id, commerce.global_external_id, commerce.is_placeholder,
            commerce.metadata) == ("Renamed", "TAX-1", "G-1", True, {"a": 1})
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Rosa", "New")
    assert list(user.role_assignments.values_list("role", flat=True)) == ["OWNER"]
    assert list(user.contacts.values_list("value", "is_primary")) == [("+56911111111", True)]


def test_sync_mixes_creates_and_updates(admin_api, tenant):
    CommerceFactory(tenant=tenant, external_id="EXT-1")

    response = admin_api.post(SYNC, {"items": [full_item(1), full_item(2), full_item(3)]})

    assert response.status_code == 201
    assert response.json() == {"created": 2, "updated": 1, "total": 3}
    assert sorted(Commerce.objects.values_list("external_id", flat=True)) == ["EXT-1", "EXT-2", "EXT-3"]


def test_sync_never_touches_another_tenants_commerce(admin_api, tenant, foreign_commerce):
    response = admin_api.post(SYNC, {"items": [full_item(1, external_id=foreign_commerce.external_id)]})

    assert response.status_code == 201
    assert response.json() == {"created": 1, "updated": 0, "total": 1}
    foreign_commerce.refresh_from_db()
    assert foreign_commerce.name == "Someone else's store"
    assert Commerce.objects.get(tenant=tenant).external_id == foreign_commerce.external_id


def test_a_second_identical_sync_writes_nothing(admin_api):
    items = [full_item(1), full_item(2)]
    assert admin_api.post(SYNC, {"items": items}).status_code == 201
    before = snapshot()

    response = admin_api.post(SYNC, {"items": items})

    assert response.status_code == 201
    assert response.json() == {"created": 0, "updated": 2, "total": 2}
    assert snapshot() == before


def test_an_empty_sync_changes_nothing(admin_api):
    response = admin_api.post(SYNC, {"items": []})

    assert response.status_code == 201
    assert response.json() == {"created": 0, "updated": 0, "total": 0}


# --- all or nothing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad_item", "field", "problem"), [
    ({"external_id": "EXT-9"}, "items.2.name", "This field is required."),
    (full_item(9, users=[{"external_id": "U-9", "roles": ["BOSS"]}]), "items.2.users.0.roles.0",
     '"BOSS" is not a valid choice; one of OWNER, ORDERS, FINANCE, ATTENTION, ADMIN, COMMERCE_REP, OTHER.'),
    (full_item(9, users=[{"external_id": "U-9", "contacts": [{"contact_type": "PHONE", "value": "12345"}]}]),
     "items.2.users.0.contacts.0.value",
     "Enter a phone number in E.164 format: + followed by 8 to 15 digits (e.g. +56912345678)."),
    (full_item(9, users=[{"external_id": "U-9", "contacts": [{"contact_type": "EMAIL", "value": "not-mail"}]}]),
     "items.2.users.0.contacts.0.value", "Enter a valid e-mail address."),
    (full_item(9, users=[{"external_id": "U-9", "contacts": [
        {"contact_type": "PHONE", "value": "+56911111111", "is_primary": True},
        {"contact_type": "PHONE", "value": "+56922222222", "is_primary": True}]}]),
     "items.2.users.0.contacts.1.is_primary", "Only one primary PHONE contact per user (also "
                                              "items.2.users.0.contacts.0)."),
    (full_item(9, addresses=[{"street": "A", "is_primary": True}, {"street": "B", "is_primary": True}]),
     "items.2.addresses.1.is_primary", "Only one primary address per commerce (also items.2.addresses.0)."),
    (full_item(9, addresses=[{"street": "A", "latitude": "91"}]), "items.2.addresses.0.latitude",
     "Ensure this value is less than or equal to 90."),
    (full_item(1, tax_id="TAX-9"), "items.2.external_id",
     "Duplicate external_id 'EXT-1' in this request (also items.0)."),
    (full_item(9, tax_id="TAX-2"), "items.2.tax_id", "Duplicate tax_id 'TAX-2' in this request (also items.1)."),
    (full_item(9, users=[{"external_id": "U-9"}, {"external_id": "U-9"}]), "items.2.users.1.external_id",
     "Duplicate user external_id 'U-9' in this commerce (also items.2.users.0)."),
    (full_item(9, users=[{"first_name": "No id"}]), "items.2.users.0.external_id", "This field is required."),
])
def test_a_bad_item_refuses_the_whole_batch_naming_the_item_and_field(admin_api, tenant, bad_item, field, problem):
    existing = CommerceFactory(tenant=tenant, external_id="EXT-1", name="Untouched")
    before = snapshot()

    response = admin_api.post(SYNC, {"items": [full_item(1), full_item(2), bad_item, full_item(3)]})

    assert response.status_code == 400, response.content
    body = response.json()
    assert body == {"statusCode": 400, "message": f"Validation failed: {field}: {problem}", "error": "Bad Request",
                    "details": {field: [problem]}}
    assert snapshot() == before
    existing.refresh_from_db()
    assert existing.name == "Untouched"


def test_a_tax_id_of_another_commerce_is_a_conflict_and_nothing_is_written(admin_api, tenant):
    CommerceFactory(tenant=tenant, external_id="HOLDER", tax_id="TAX-2")
    before = snapshot()

    response = admin_api.post(SYNC, {"items": [full_item(1), full_item(2)]})

    assert response.status_code == 409
    assert response.json() == {
        "statusCode": 409, "error": "Conflict",
        "message": "items.1.tax_id: tax_id 'TAX-2' already belongs to the commerce with external_id 'HOLDER'.",
        "details": {"items.1.tax_id": ["tax_id 'TAX-2' already belongs to the commerce with external_id 'HOLDER'."]},
    }
    assert snapshot() == before


def test_sync_accepts_1000_items_and_refuses_1001(admin_api):
    def items(count):
        return [{"external_id": f"EXT-{number}", "name": f"Store {number}"} for number in range(count)]

    refused = admin_api.post(SYNC, {"items": items(1001)})

    assert refused.status_code == 400
    assert refused.json()["details"] == {"items": ["Ensure this field has no more than 1000 elements."]}
    assert not Commerce.objects.exists()

    accepted = admin_api.post(SYNC, {"items": items(1000)})

    assert accepted.status_code == 201
    assert accepted.json() == {"created": 1000, "updated": 0, "total": 1000}
    assert Commerce.objects.count() == 1000


def test_the_service_refuses_more_than_1000_items_too(tenant):
    from reten.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        commerce_sync(tenant=tenant, items=[{"external_id": f"E{n}", "name": "x"} for n in range(1001)])

    assert refused.value.details == {"items": ["Ensure this field has no more than 1000 elements (got 1001)."]}
    assert not Commerce.objects.exists()


@pytest.mark.parametrize("body", [{}, {"items": "nope"}, {"items": [1, 2]}])
def test_sync_refuses_a_malformed_body(admin_api, body):
    assert admin_api.post(SYNC, body).status_code == 400


# --- permissions ------------------------------------------------------------------------------------------------


def test_sync_needs_sync_commerces(fde_api, viewer_api, api_as, make_api_key):
    body = {"items": [full_item(1)]}

    assert fde_api.post(SYNC, body).status_code == 403
    assert viewer_api.post(SYNC, body).status_code == 403
    assert api_as(api_key=make_api_key(["MANAGE_COMMERCES"])).post(SYNC, body).status_code == 403
    assert not Commerce.objects.exists()
    assert api_as(api_key=make_api_key(["SYNC_COMMERCES"])).post(SYNC, body).status_code == 201


# --- queries ----------------------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_batch(tenant, other_tenant, query_count):
    def run(target, count, variant=""):
        items = [full_item(number, name=f"Store {number}{variant}") for number in range(count)]
        for item in items:
            item["users"][0]["first_name"] += variant
        with query_count() as counted:
            commerce_sync(tenant=target, items=items)
        return len(counted.captured_queries)

    small_create, large_create = run(tenant, 3), run(other_tenant, 30)
    small_update, large_update = run(tenant, 3, " v2"), run(other_tenant, 30, " v2")

    assert small_create == large_create
    assert small_update == large_update
    assert large_create <= 12 and large_update <= 16


def test_sync_moves_the_primary_between_stored_contacts_and_addresses(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant, external_id="EXT-1")
    first_address = AddressFactory(commerce=commerce, is_primary=True, source_ref="A-1")
    second_address = AddressFactory(commerce=commerce, source_ref="A-2")
    user = CommerceUserFactory(commerce=commerce, external_id="U-1")
    first_phone = ContactFactory(commerce_user=user, value="+56911111111", is_primary=True)
    second_phone = ContactFactory(commerce_user=user, value="+56922222222")

    response = admin_api.post(SYNC, {"items": [{
        "external_id": "EXT-1", "name": "Store",
        "addresses": [{"source_ref": "A-2", "is_primary": True}],
        "users": [{"external_id": "U-1", "contacts": [
            {"contact_type": "PHONE", "value": "+56922222222", "is_primary": True}]}],
    }]})

    assert response.status_code == 201, response.content
    for row in (first_address, second_address, first_phone, second_phone):
        row.refresh_from_db()
    assert (first_address.is_primary, second_address.is_primary) == (False, True)
    assert (first_phone.is_primary, second_phone.is_primary) == (False, True)
