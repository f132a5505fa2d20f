"""List and detail reads cost a fixed number of queries, whatever the page size or the amount of nested rows."""
import pytest

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


def queries_for(api, query_count, path, params=None):
    with query_count() as counted:
        response = api.get(path, params)
    assert response.status_code == 200, response.content
    return len(counted.captured_queries), response.json()


def populate_commerce(commerce, people):
    AddressFactory.create_batch(people, commerce=commerce)
    for _ in range(people):
        user = CommerceUserFactory(commerce=commerce, roles=["OWNER", "FINANCE"])
        ContactFactory(commerce_user=user, contact_type="PHONE")
        ContactFactory(commerce_user=user, contact_type="EMAIL", value=f"{user.pk}@example.com")


def test_commerce_list_queries_do_not_grow_with_the_page_size(admin_api, tenant, query_count):
    for _ in range(40):
        populate_commerce(CommerceFactory(tenant=tenant), 1)

    small, small_body = queries_for(admin_api, query_count, "/api/commerces", {"per_page": 2})
    large, large_body = queries_for(admin_api, query_count, "/api/commerces", {"per_page": 40})

    assert (len(small_body["data"]), len(large_body["data"])) == (2, 40)
    assert small == large


def test_commerce_detail_queries_do_not_grow_with_its_people(admin_api, tenant, query_count):
    lean, busy = CommerceFactory(tenant=tenant), CommerceFactory(tenant=tenant)
    populate_commerce(lean, 1)
    populate_commerce(busy, 12)

    lean_queries, lean_body = queries_for(admin_api, query_count, f"/api/commerces/{lean.id}")
    busy_queries, busy_body = queries_for(admin_api, query_count, f"/api/commerces/{busy.id}")

    assert (len(lean_body["users"]), len(busy_body["users"])) == (1, 12)
    assert len(busy_body["users"][0]["contacts"]) == 2
    assert busy_body["users"][0]["roles"] == [{"role": "OWNER"}, {"role": "FINANCE"}]
    assert lean_queries == busy_queries


def test_operator_and_route_lists_do_not_grow_with_the_page_size(admin_api, tenant, query_count):
    for _ in range(30):
        route = RouteFactory(tenant=tenant)
        RouteOperatorFactory(route=route, operator=OperatorFactory(tenant=tenant))
        RouteOperatorFactory(route=route, operator=OperatorFactory(tenant=tenant), role="LEAD")

    for path in ("/api/operators", "/api/routes"):
        small, _ = queries_for(admin_api, query_count, path, {"per_page": 2})
        large, body = queries_for(admin_api, query_count, path, {"per_page": 30})
        assert len(body["data"]) == 30
        assert small == large, path
