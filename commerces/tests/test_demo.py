import io

import pytest

from commerces import demo
from commerces.models import Address, Commerce, CommerceUser, CommerceUserRoleAssignment, Contact, Operator, Route

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        model.__name__: sorted((str(pk), str(stamp)) for pk, stamp in model.objects.values_list("pk", "updated_at"))
        for model in (Commerce, CommerceUser, Contact, Address, Operator, Route)
    } | {"roles": CommerceUserRoleAssignment.objects.count()}


def test_seed_builds_the_demo_directory(tenant):
    out = io.StringIO()

    demo.seed(tenant=tenant, stdout=out)

    assert out.getvalue() == ("Commerces: 40 commerces (40 new), 3 operators (3 new), route R-001 (new, "
                              "3 operator links new)\n")
    commerces = Commerce.objects.for_tenant(tenant)
    assert commerces.count() == 40
    assert commerces.filter(is_placeholder=True).count() == 1 and commerces.filter(is_active=False).count() == 1
    complete = commerces.get(external_id="C-0001")
    assert sorted(CommerceUserRoleAssignment.objects.filter(commerce_user__commerce=complete)
                  .values_list("role", flat=True)) == ["COMMERCE_REP", "OWNER"]
    assert sorted(set(Contact.objects.filter(commerce_user__commerce=complete)
                      .values_list("contact_type", flat=True))) == ["EMAIL", "PHONE", "WHATSAPP"]
    assert complete.addresses.get().is_primary
    assert not commerces.get(external_id="C-0040").users.exists()
    assert not Contact.objects.filter(commerce_user__commerce__external_id="C-0035").exists()
    assert not CommerceUserRoleAssignment.objects.filter(commerce_user__commerce__external_id="C-0033").exists()
    assert not Contact.objects.filter(commerce_user__commerce__external_id="C-0026", contact_type="EMAIL").exists()
    route = Route.objects.get(tenant=tenant, code="R-001")
    assert sorted(route.route_operators.values_list("operator__type", "role", "is_active")) == [
        ("ACTIVATOR", "MEMBER", True), ("CALLCENTER", "MEMBER", True), ("SALESMAN", "LEAD", True)]


def test_seed_twice_changes_nothing_the_second_time(tenant):
    demo.seed(tenant=tenant, stdout=io.StringIO())
    before = snapshot()
    out = io.StringIO()

    demo.seed(tenant=tenant, stdout=out)

    assert snapshot() == before
    assert out.getvalue() == ("Commerces: 40 commerces (0 new), 3 operators (0 new), route R-001 (kept, "
                              "0 operator links new)\n")
