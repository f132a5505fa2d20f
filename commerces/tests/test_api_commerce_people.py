"""Commerce users, their roles and contacts."""
import uuid

import pytest

from commerces.models import CommerceUser, CommerceUserRoleAssignment, Contact
from commerces.tests.factories import CommerceFactory, CommerceUserFactory, ContactFactory
from commerces.tests.shapes import contact_json, timestamps, user_json

pytestmark = pytest.mark.django_db

BOSS_IS_NOT_A_ROLE = ('"BOSS" is not a valid choice; one of OWNER, ORDERS, FINANCE, ATTENTION, ADMIN, '
                      'COMMERCE_REP, OTHER.')


@pytest.fixture
def person(commerce):
    return CommerceUserFactory(commerce=commerce, external_id="U-1", first_name="Rosa", last_name="Alvarez",
                               roles=["OWNER"])


@pytest.fixture
def foreign_person(foreign_commerce):
    return CommerceUserFactory(commerce=foreign_commerce, external_id="U-1")


def users_path(commerce):
    return f"/api/commerces/{commerce.id}/users"


def user_path(person, commerce=None):
    return f"/api/commerces/{(commerce or person.commerce).id}/users/{person.id}"


# --- create a user ------------------------------------------------------------------------------------------------


def test_create_user_with_roles_and_contacts(admin_api, commerce):
    response = admin_api.post(users_path(commerce), {
        "external_id": "U-7", "first_name": "Mario", "last_name": "Rep", "roles": ["COMMERCE_REP", "OWNER", "OWNER"],
        "contacts": [{"contact_type": "WHATSAPP", "value": "+56 9 8765-4321", "is_primary": True},
                     {"contact_type": "EMAIL", "value": "Mario@Store.CL"}],
    })

    assert response.status_code == 201, response.content
    user = CommerceUser.objects.get()
    whatsapp, email = user.contacts.order_by("contact_type").reverse()
    assert response.json() == {
        "id": str(user.id), "commerceId": str(commerce.id), "externalId": "U-7", "firstName": "Mario",
        "lastName": "Rep", "source": "RETEN", "isActive": True, "roles": [{"role": "OWNER"}, {"role": "COMMERCE_REP"}],
        "contacts": [contact_json(whatsapp), contact_json(email)], **timestamps(user),
    }
    assert (whatsapp.value, whatsapp.is_primary) == ("+56987654321", True)
    assert (email.value, email.is_primary) == ("mario@store.cl", False)


@pytest.mark.parametrize(("body", "details"), [
    ({"roles": ["BOSS"]}, {"roles.0": [BOSS_IS_NOT_A_ROLE]}),
    ({"contacts": [{"contact_type": "EMAIL", "value": "nope"}]},
     {"contacts.0.value": ["Enter a valid e-mail address."]}),
    ({"contacts": [{"contact_type": "FAX", "value": "1"}]},
     {"contacts.0.contact_type": ['"FAX" is not a valid choice; one of PHONE, EMAIL, WHATSAPP, OTHER.']}),
    ({"contacts": [{"contact_type": "PHONE", "value": "+56911111111", "is_primary": True},
                   {"contact_type": "PHONE", "value": "+56922222222", "is_primary": True}]},
     {"contacts.1.is_primary": ["Only one primary PHONE contact per user (also contacts.0)."]}),
    ({"first_name": "x" * 151}, {"first_name": ["Ensure this field has no more than 150 characters."]}),
])
def test_create_user_refuses_invalid_bodies(admin_api, commerce, body, details):
    response = admin_api.post(users_path(commerce), body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert not CommerceUser.objects.exists() and not Contact.objects.exists()


def test_create_user_refuses_an_external_id_taken_in_the_commerce(admin_api, tenant, person):
    elsewhere = CommerceFactory(tenant=tenant)

    refused = admin_api.post(users_path(person.commerce), {"external_id": "U-1"})
    allowed = admin_api.post(users_path(elsewhere), {"external_id": "U-1"})

    assert refused.status_code == 409
    assert refused.json()["details"] == {"external_id": ["This commerce already has a user with external_id 'U-1'"]}
    assert allowed.status_code == 201
    assert CommerceUser.objects.count() == 2


def test_users_without_external_id_do_not_conflict(admin_api, commerce):
    assert admin_api.post(users_path(commerce), {"first_name": "A"}).status_code == 201
    assert admin_api.post(users_path(commerce), {"first_name": "B", "external_id": ""}).status_code == 201
    assert list(CommerceUser.objects.values_list("external_id", flat=True)) == [None, None]


def test_create_user_in_another_tenants_commerce_is_not_found(admin_api, foreign_commerce):
    response = admin_api.post(users_path(foreign_commerce), {"first_name": "Intruder"})

    assert response.status_code == 404
    assert not CommerceUser.objects.exists()


# --- update a user ------------------------------------------------------------------------------------------------


def test_update_user_changes_the_fields_sent(admin_api, person):
    response = admin_api.patch(user_path(person), {"last_name": "Gomez", "is_active": False})

    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.is_active) == ("Rosa", "Gomez", False)
    assert response.json() == user_json(person, ["OWNER"], [])


def test_update_user_refuses_a_taken_external_id(admin_api, person):
    CommerceUserFactory(commerce=person.commerce, external_id="U-2")

    response = admin_api.patch(user_path(person), {"external_id": "U-2"})

    assert response.status_code == 409
    person.refresh_from_db()
    assert person.external_id == "U-1"


def test_update_user_refuses_an_invalid_body(admin_api, person):
    response = admin_api.patch(user_path(person), {"source": "SOMEWHERE"})

    assert response.status_code == 400
    assert response.json()["details"] == {"source": ['"SOMEWHERE" is not a valid choice; one of RETEN, INTEGRATION.']}


def test_update_user_through_another_commerce_or_tenant_is_not_found(admin_api, tenant, person, foreign_person):
    other_commerce = CommerceFactory(tenant=tenant)

    assert admin_api.patch(user_path(person, other_commerce), {"first_name": "X"}).status_code == 404
    assert admin_api.patch(user_path(foreign_person), {"first_name": "X"}).status_code == 404
    assert admin_api.patch(f"{users_path(person.commerce)}/{uuid.uuid4()}", {"first_name": "X"}).status_code == 404
    person.refresh_from_db()
    foreign_person.refresh_from_db()
    assert (person.first_name, foreign_person.first_name) == ("Rosa", "Rosa")


# --- roles --------------------------------------------------------------------------------------------------------


def test_add_role_returns_the_user_with_its_roles(admin_api, person):
    response = admin_api.post(f"{user_path(person)}/roles", {"role": "FINANCE"})

    assert response.status_code == 201, response.content
    assert response.json() == user_json(person, ["OWNER", "FINANCE"], [])


def test_adding_a_role_twice_keeps_one_assignment(admin_api, person):
    response = admin_api.post(f"{user_path(person)}/roles", {"role": "OWNER"})

    assert response.status_code == 201
    assert response.json()["roles"] == [{"role": "OWNER"}]
    assert CommerceUserRoleAssignment.objects.filter(commerce_user=person).count() == 1


@pytest.mark.parametrize(("body", "details"), [
    ({"role": "BOSS"}, {"role": [BOSS_IS_NOT_A_ROLE]}),
    ({}, {"role": ["This field is required."]}),
])
def test_add_role_refuses_invalid_bodies(admin_api, person, body, details):
    response = admin_api.post(f"{user_path(person)}/roles", body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert list(person.role_assignments.values_list("role", flat=True)) == ["OWNER"]


def test_remove_role(admin_api, person):
    response = admin_api.delete(f"{user_path(person)}/roles/OWNER")

    assert response.status_code == 204
    assert response.content == b""
    assert not person.role_assignments.exists()


def test_remove_a_role_the_user_does_not_hold_is_not_found(admin_api, person):
    response = admin_api.delete(f"{user_path(person)}/roles/FINANCE")

    assert response.status_code == 404
    assert response.json()["message"] == "This user does not hold the role FINANCE"


def test_remove_an_unknown_role_is_a_validation_error(admin_api, person):
    response = admin_api.delete(f"{user_path(person)}/roles/BOSS")

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["role"]
    assert person.role_assignments.count() == 1


def test_roles_of_another_tenants_user_are_not_found(admin_api, foreign_person):
    CommerceUserRoleAssignment.objects.create(commerce_user=foreign_person, role="OWNER")

    assert admin_api.post(f"{user_path(foreign_person)}/roles", {"role": "ADMIN"}).status_code == 404
    assert admin_api.delete(f"{user_path(foreign_person)}/roles/OWNER").status_code == 404
    assert list(foreign_person.role_assignments.values_list("role", flat=True)) == ["OWNER"]


# --- contacts -----------------------------------------------------------------------------------------------------


def test_add_contact(admin_api, person):
    response = admin_api.post(f"{user_path(person)}/contacts", {"contact_type": "EMAIL", "value": " Rosa@Store.CL "})

    assert response.status_code == 201, response.content
    contact = Contact.objects.get()
    assert response.json() == {
        "id": str(contact.id), "type": "EMAIL", "value": "rosa@store.cl", "isPrimary": False,
        "source": "RETEN", "isActive": True, **timestamps(contact),
    }


@pytest.mark.parametrize(("contact_type", "value", "stored"), [
    ("PHONE", "+56912345678", "+56912345678"),
    ("PHONE", "+1 (415) 555-2671", "+14155552671"),
    ("WHATSAPP", "+44.20.7946.0958", "+442079460958"),
    ("PHONE", "+12345678", "+12345678"),
    ("PHONE", "+123456789012345", "+123456789012345"),
    ("OTHER", " telegram:@rosa ", "telegram:@rosa"),
])
def test_contact_values_are_normalised_for_their_type(admin_api, person, contact_type, value, stored):
    response = admin_api.post(f"{user_path(person)}/contacts", {"contact_type": contact_type, "value": value})

    assert response.status_code == 201, response.content
    assert response.json()["value"] == stored


@pytest.mark.parametrize(("contact_type", "value"), [
    ("PHONE", "56912345678"),
    ("PHONE", "+1234567"),
    ("PHONE", "+1234567890123456"),
    ("PHONE", "+0912345678"),
    ("WHATSAPP", "+56 9 ABCD 5678"),
    ("EMAIL", "rosa@"),
    ("EMAIL", "+56912345678"),
    ("OTHER", "   "),
])
def test_contact_values_that_do_not_fit_their_type_are_refused(admin_api, person, contact_type, value):
    response = admin_api.post(f"{user_path(person)}/contacts", {"contact_type": contact_type, "value": value})

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["value"]
    assert not Contact.objects.exists()


def test_a_new_primary_contact_demotes_the_previous_one_of_its_type(admin_api, person):
    old = ContactFactory(commerce_user=person, contact_type="PHONE", value="+56911111111", is_primary=True)
    email = ContactFactory(commerce_user=person, contact_type="EMAIL", value="a@b.cl", is_primary=True)

    response = admin_api.post(f"{user_path(person)}/contacts",
                              {"contact_type": "PHONE", "value": "+56922222222", "is_primary": True})

    assert response.status_code == 201
    old.refresh_from_db()
    email.refresh_from_db()
    assert (old.is_primary, email.is_primary) == (False, True)
    assert Contact.objects.get(is_primary=True, contact_type="PHONE").value == "+56922222222"


def test_a_duplicate_contact_is_a_conflict(admin_api, person):
    ContactFactory(commerce_user=person, contact_type="PHONE", value="+56911111111")

    response = admin_api.post(f"{user_path(person)}/contacts", {"contact_type": "PHONE", "value": "+569 1111 1111"})

    assert response.status_code == 409
    assert response.json()["details"] == {"value": ["This user already has the PHONE contact '+56911111111'"]}
    assert Contact.objects.count() == 1


def test_contacts_of_another_tenants_user_are_not_found(admin_api, foreign_person):
    response = admin_api.post(f"{user_path(foreign_person)}/contacts",
                              {"contact_type": "PHONE", "value": "+56911111111"})

    assert response.status_code == 404
    assert not Contact.objects.exists()


# --- permissions ------------------------------------------------------------------------------------------------


def test_a_viewer_may_not_manage_people(viewer_api, person):
    calls = [
        viewer_api.post(users_path(person.commerce), {"first_name": "X"}),
        viewer_api.patch(user_path(person), {"first_name": "X"}),
        viewer_api.post(f"{user_path(person)}/roles", {"role": "ADMIN"}),
        viewer_api.delete(f"{user_path(person)}/roles/OWNER"),
        viewer_api.post(f"{user_path(person)}/contacts", {"contact_type": "PHONE", "value": "+56911111111"}),
    ]

    assert [call.status_code for call in calls] == [403] * 5
    assert CommerceUser.objects.count() == 1
    assert list(person.role_assignments.values_list("role", flat=True)) == ["OWNER"]
    assert not Contact.objects.exists()


def test_an_fde_manages_people(fde_api, person):
    assert fde_api.post(users_path(person.commerce), {"first_name": "X"}).status_code == 201
    assert fde_api.patch(user_path(person), {"first_name": "X"}).status_code == 200
    assert fde_api.post(f"{user_path(person)}/roles", {"role": "ADMIN"}).status_code == 201
    assert fde_api.delete(f"{user_path(person)}/roles/ADMIN").status_code == 204
    assert fde_api.post(f"{user_path(person)}/contacts",
                        {"contact_type": "PHONE", "value": "+56911111111"}).status_code == 201
