import pytest
from django.test import Client

from commerces.models import Address, Contact, Operator
from commerces.tests.factories import (
    AddressFactory,
    CommerceFactory,
    CommerceUserFactory,
    ContactFactory,
    OperatorFactory,
    RouteFactory,
    RouteOperatorFactory,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = ["commerce", "commerceuser", "contact", "address", "commerceuserroleassignment", "operator", "route",
               "routeoperator"]


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def populate(tenant, count):
    for _ in range(count):
        commerce = CommerceFactory(tenant=tenant)
        AddressFactory(commerce=commerce, is_primary=True)
        user = CommerceUserFactory(commerce=commerce, roles=["OWNER"])
        ContactFactory(commerce_user=user)
        route = RouteFactory(tenant=tenant)
        RouteOperatorFactory(route=route, operator=OperatorFactory(tenant=tenant))


def post_data(response, **changes):
    """The change form as the browser would submit it, main form and inlines, with `changes` applied."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelists_load_with_a_fixed_number_of_queries(staff, tenant, query_count, model):
    populate(tenant, 2)
    with query_count() as few:
        assert staff.get(f"/admin/commerces/{model}/").status_code == 200
    populate(tenant, 8)
    with query_count() as many:
        response = staff.get(f"/admin/commerces/{model}/")

    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_commerce_search_by_name_external_id_and_tax_id(staff, tenant):
    CommerceFactory(tenant=tenant, name="Kiosko Azul", external_id="EXT-777", tax_id="76123456-7")
    CommerceFactory(tenant=tenant, name="Other")

    for term in ("azul", "EXT-777", "76123456"):
        response = staff.get("/admin/commerces/commerce/", {"q": term})
        assert [c.name for c in response.context["cl"].result_list] == ["Kiosko Azul"], term


def test_commerce_filters(staff, tenant, other_tenant):
    CommerceFactory(tenant=tenant, name="Active")
    CommerceFactory(tenant=tenant, name="Placeholder", is_placeholder=True)
    CommerceFactory(tenant=other_tenant, name="Elsewhere", is_active=False)

    def names(**params):
        response = staff.get("/admin/commerces/commerce/", params)
        return sorted(c.name for c in response.context["cl"].result_list)

    assert names(tenant__id__exact=tenant.id) == ["Active", "Placeholder"]
    assert names(is_placeholder__exact=1) == ["Placeholder"]
    assert names(is_active__exact=0) == ["Elsewhere"]


def test_commerce_change_page_shows_address_and_user_inlines(staff, tenant):
    commerce = CommerceFactory(tenant=tenant)
    AddressFactory(commerce=commerce, street="Calle Uno")
    CommerceUserFactory(commerce=commerce, first_name="Rosa", roles=["OWNER"])

    response = staff.get(f"/admin/commerces/commerce/{commerce.id}/change/")

    assert response.status_code == 200
    assert [inline.opts.model.__name__ for inline in response.context["inline_admin_formsets"]] == [
        "Address", "CommerceUser"]
    assert b"Calle Uno" in response.content and b"OWNER" in response.content


def test_commerce_user_change_page_saves_a_new_primary_contact_through_the_service(staff, tenant):
    user = CommerceUserFactory(commerce=CommerceFactory(tenant=tenant), roles=["OWNER"])
    old = ContactFactory(commerce_user=user, contact_type="PHONE", value="+56911111111", is_primary=True)
    page = staff.get(f"/admin/commerces/commerceuser/{user.id}/change/")
    data = post_data(page, **{"contacts-TOTAL_FORMS": "2", "contacts-1-contact_type": "PHONE",
                              "contacts-1-value": "+56 9 2222 2222", "contacts-1-is_primary": "on",
                              "contacts-1-is_active": "on", "contacts-1-source": "RETEN",
                              "contacts-0-is_primary": None})

    response = staff.post(f"/admin/commerces/commerceuser/{user.id}/change/", data)

    assert response.status_code == 302, response.context and response.context["errors"]
    old.refresh_from_db()
    assert old.is_primary is False
    assert Contact.objects.get(is_primary=True).value == "+56922222222"


def test_commerce_user_change_page_refuses_an_invalid_contact_value(staff, tenant):
    user = CommerceUserFactory(commerce=CommerceFactory(tenant=tenant))
    page = staff.get(f"/admin/commerces/commerceuser/{user.id}/change/")
    data = post_data(page, **{"contacts-TOTAL_FORMS": "1", "contacts-0-contact_type": "PHONE",
                              "contacts-0-value": "12345", "contacts-0-is_active": "on",
                              "contacts-0-source": "RETEN"})

    response = staff.post(f"/admin/commerces/commerceuser/{user.id}/change/", data)

    assert response.status_code == 200
    assert "E.164" in str(response.context["inline_admin_formsets"][1].formset.errors)
    assert not Contact.objects.exists()


def test_commerce_change_page_refuses_two_primary_addresses(staff, tenant):
    commerce = CommerceFactory(tenant=tenant)
    AddressFactory(commerce=commerce, is_primary=True)
    AddressFactory(commerce=commerce, is_primary=False)
    page = staff.get(f"/admin/commerces/commerce/{commerce.id}/change/")

    response = staff.post(f"/admin/commerces/commerce/{commerce.id}/change/",
                          post_data(page, **{"addresses-1-is_primary": "on"}))

    assert response.status_code == 200
    assert "Only one primary address per commerce." in str(
        response.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert Address.objects.filter(is_primary=True).count() == 1


def test_commerce_change_page_moves_the_primary_address(staff, tenant):
    commerce = CommerceFactory(tenant=tenant)
    first = AddressFactory(commerce=commerce, is_primary=True)
    second = AddressFactory(commerce=commerce, is_primary=False)
    page = staff.get(f"/admin/commerces/commerce/{commerce.id}/change/")
    prefix_of = {form.instance.pk: form.prefix for form in page.context["inline_admin_formsets"][0].formset.forms}

    response = staff.post(f"/admin/commerces/commerce/{commerce.id}/change/", post_data(
        page, **{f"{prefix_of[first.pk]}-is_primary": None, f"{prefix_of[second.pk]}-is_primary": "on"}))

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)


def test_operator_admin_normalises_email_and_phone(staff, tenant):
    response = staff.post("/admin/commerces/operator/add/", {
        "tenant": tenant.id, "type": "SALESMAN", "name": "Sergio", "email": "Sergio@Reten.DEMO",
        "phone": "+56 9 9000 0001", "external_id": "S-1", "is_active": "on", "metadata": "{}",
    })

    assert response.status_code == 302, response.context and response.context["errors"]
    operator = Operator.objects.get()
    assert (operator.email, operator.phone) == ("sergio@reten.demo", "+56990000001")


def test_route_change_page_shows_its_operators(staff, tenant):
    link = RouteOperatorFactory(route=RouteFactory(tenant=tenant), operator=OperatorFactory(tenant=tenant,
                                                                                           name="Sergio"))

    response = staff.get(f"/admin/commerces/route/{link.route_id}/change/")

    assert response.status_code == 200
    assert [inline.opts.model.__name__ for inline in response.context["inline_admin_formsets"]] == ["RouteOperator"]
