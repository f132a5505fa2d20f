import uuid
from decimal import Decimal

import pytest

from commerces.models import Address
from commerces.tests.factories import AddressFactory, CommerceFactory
from commerces.tests.shapes import address_json, timestamps

pytestmark = pytest.mark.django_db


def addresses_path(commerce):
    return f"/api/commerces/{commerce.id}/addresses"


def address_path(address, commerce=None):
    return f"{addresses_path(commerce or address.commerce)}/{address.id}"


def test_create_address(admin_api, commerce):
    response = admin_api.post(addresses_path(commerce), {
        "address_alias": "Store", "street": "Av. Providencia", "street_number": "1234", "unit": "Local 5",
        "city": "Santiago", "commune": "Providencia", "region": "Metropolitana", "country_code": "cl",
        "formatted_address": "Av. Providencia 1234, Local 5, Providencia", "latitude": -33.42612345,
        "longitude": "-70.6114", "is_primary": True, "source_ref": "ERP-9",
    })

    assert response.status_code == 201, response.content
    address = Address.objects.get()
    assert (address.commerce, address.country_code, address.latitude, address.longitude) == (
        commerce, "CL", Decimal("-33.426123"), Decimal("-70.611400"))
    assert response.json() == {
        "id": str(address.id), "addressAlias": "Store", "street": "Av. Providencia", "streetNumber": "1234",
        "unit": "Local 5", "city": "Santiago", "commune": "Providencia", "region": "Metropolitana",
        "countryCode": "CL", "formattedAddress": "Av. Providencia 1234, Local 5, Providencia",
        "latitude": -33.426123, "longitude": -70.6114, "isPrimary": True, "source": "RETEN", "sourceRef": "ERP-9",
        "isActive": True, **timestamps(address),
    }


def test_a_minimal_address_has_empty_fields_and_null_coordinates(admin_api, commerce):
    response = admin_api.post(addresses_path(commerce), {"street": "Calle 1"})

    assert response.status_code == 201
    assert response.json() == address_json(Address.objects.get())
    assert (response.json()["latitude"], response.json()["city"]) == (None, "")


def test_a_new_primary_address_demotes_the_previous_one(admin_api, commerce):
    old = AddressFactory(commerce=commerce, is_primary=True)

    response = admin_api.post(addresses_path(commerce), {"street": "New", "is_primary": True})

    assert response.status_code == 201
    old.refresh_from_db()
    assert old.is_primary is False
    assert Address.objects.get(is_primary=True).street == "New"


@pytest.mark.parametrize(("body", "details"), [
    ({"latitude": 90.5}, {"latitude": ["Ensure this value is less than or equal to 90."]}),
    ({"longitude": -181}, {"longitude": ["Ensure this value is greater than or equal to -180."]}),
    ({"latitude": "north"}, {"latitude": ["A valid number is required."]}),
    ({"country_code": "CHL"}, {"country_code": ["Enter a two-letter ISO 3166-1 country code.",
                                                 "Ensure this field has no more than 2 characters."]}),
    ({"country_code": "C1"}, {"country_code": ["Enter a two-letter ISO 3166-1 country code."]}),
    ({"source": "ELSEWHERE"}, {"source": ['"ELSEWHERE" is not a valid choice; one of RETEN, INTEGRATION.']}),
])
def test_create_address_refuses_invalid_bodies(admin_api, commerce, body, details):
    response = admin_api.post(addresses_path(commerce), body)

    assert response.status_code == 400
    assert response.json()["details"] == details
    assert not Address.objects.exists()


def test_a_taken_source_ref_is_a_conflict(admin_api, tenant, commerce):
    AddressFactory(commerce=commerce, source_ref="ERP-1")
    AddressFactory(commerce=CommerceFactory(tenant=tenant), source_ref="ERP-2")

    refused = admin_api.post(addresses_path(commerce), {"street": "x", "source_ref": "ERP-1"})
    allowed = admin_api.post(addresses_path(commerce), {"street": "x", "source_ref": "ERP-2"})

    assert refused.status_code == 409
    assert list(refused.json()["details"]) == ["source_ref"]
    assert allowed.status_code == 201
    assert Address.objects.filter(commerce=commerce).count() == 2


def test_update_address_and_make_it_primary(admin_api, commerce):
    primary = AddressFactory(commerce=commerce, is_primary=True)
    other = AddressFactory(commerce=commerce, city="Santiago")

    response = admin_api.patch(address_path(other), {"city": "Valparaíso", "is_primary": True, "latitude": None})

    assert response.status_code == 200, response.content
    other.refresh_from_db()
    primary.refresh_from_db()
    assert (other.city, other.is_primary, primary.is_primary) == ("Valparaíso", True, False)
    assert response.json() == address_json(other)


def test_update_address_refuses_invalid_values_and_taken_source_refs(admin_api, commerce):
    AddressFactory(commerce=commerce, source_ref="ERP-1")
    address = AddressFactory(commerce=commerce, source_ref="ERP-2")

    assert admin_api.patch(address_path(address), {"latitude": 100}).status_code == 400
    assert admin_api.patch(address_path(address), {"source_ref": "ERP-1"}).status_code == 409
    address.refresh_from_db()
    assert (address.latitude, address.source_ref) == (None, "ERP-2")


def test_addresses_of_another_commerce_or_tenant_are_not_found(admin_api, tenant, commerce, foreign_commerce):
    mine = AddressFactory(commerce=commerce)
    theirs = AddressFactory(commerce=foreign_commerce)

    assert admin_api.post(addresses_path(foreign_commerce), {"street": "x"}).status_code == 404
    assert admin_api.patch(address_path(theirs), {"street": "x"}).status_code == 404
    assert admin_api.patch(address_path(mine, CommerceFactory(tenant=tenant)), {"street": "x"}).status_code == 404
    assert admin_api.patch(f"{addresses_path(commerce)}/{uuid.uuid4()}", {"street": "x"}).status_code == 404
    assert Address.objects.filter(street="x").count() == 0


def test_a_viewer_may_not_manage_addresses_and_an_fde_may(viewer_api, fde_api, commerce):
    address = AddressFactory(commerce=commerce)

    assert viewer_api.post(addresses_path(commerce), {"street": "x"}).status_code == 403
    assert viewer_api.patch(address_path(address), {"street": "x"}).status_code == 403
    assert not Address.objects.filter(street="x").exists()
    assert fde_api.post(addresses_path(commerce), {"street": "x"}).status_code == 201
    assert fde_api.patch(address_path(address), {"street": "y"}).status_code == 200
