"""SPEC section 1: casing both ways, pagination, timestamps, and the error envelope for every status."""
import re

import pytest
from rest_framework.test import APIClient

from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

USERS = "/api/user/tenant-users"
ISO_MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def envelope(response, status, error):
    body = response.json()
    assert response.status_code == status, body
    assert body["statusCode"] == status
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    return body


class TestCasing:
    def test_responses_are_camel_case_with_millisecond_utc_timestamps(self, superuser, tenant, api_as):
        item = api_as(superuser).get("/api/tenant").json()[0]
        assert "createdAt" in item and "created_at" not in item
        assert ISO_MILLIS_Z.match(item["createdAt"])

    def test_snake_case_and_camel_case_bodies_are_both_accepted(self, superuser, api_as):
        snake = api_as(superuser).post("/api/tenant/setup", {
            "name": "Snake", "slug": "snake", "admin_email": "s@example.com", "admin_password": "long-enough"})
        camel = api_as(superuser).post("/api/tenant/setup", {
            "name": "Camel", "slug": "camel", "adminEmail": "c@example.com", "adminPassword": "long-enough"})
        assert (snake.status_code, camel.status_code) == (201, 201)

    def test_the_renderer_camelizes_exactly_as_djangorestframework_camel_case_does(self):
        """reten.api.renderers.camelize is a cheaper copy of the library's (issue 15): same keys, same values."""
        import datetime
        import decimal
        import uuid

        from django.utils.translation import gettext_lazy
        from djangorestframework_camel_case.settings import api_settings
        from djangorestframework_camel_case.util import camelize as library_camelize

        from reten.api.renderers import camelize

        body = {
            "data": [{"created_at": datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC), "score": None,
                      "is_active": True, "amount": decimal.Decimal("1.5"), "id": uuid.UUID(int=7),
                      "metadata": {"caller_key": [{"left_as_sent": 1}]}, "raw_payload": {"snake_case": "kept"},
                      "target_users": ({"commerce_user": {"first_name": gettext_lazy("Ana")}},),
                      "ab_1c": 1, "_leading": 2, "trailing_": 3, "a__b": 4, 5: "int key",
                      gettext_lazy("lazy_key"): "x", "tags": {"only"}, "bytes": b"ab"}],
            "meta": {"total_pages": 1},
        }
        options = api_settings.JSON_UNDERSCOREIZE

        assert camelize(body, **options) == library_camelize(body, **options)
        item = camelize(body, **options)["data"][0]
        assert item["metadata"] == {"caller_key": [{"left_as_sent": 1}]} and item["rawPayload"]["snake_case"]
        assert item["targetUsers"] == [{"commerceUser": {"firstName": "Ana"}}] and item["lazyKey"] == "x"

    def test_validation_details_use_snake_case_names(self, superuser, api_as):
        body = envelope(api_as(superuser).post("/api/tenant/setup", {"name": "x"}), 400, "Bad Request")
        assert set(body["details"]) == {"slug", "admin_email", "admin_password"}
        assert all(isinstance(v, list) and v for v in body["details"].values())


class TestPagination:
    @pytest.fixture
    def members(self, tenant):
        return [member(tenant, "VIEWER") for _ in range(4)]

    def test_defaults(self, admin_api, members):
        assert admin_api.get(USERS).json()["meta"] == {"page": 1, "limit": 25, "total": 5, "totalPages": 1}

    def test_per_page_and_page(self, admin_api, members):
        body = admin_api.get(USERS, {"per_page": 2, "page": 3}).json()
        assert body["meta"] == {"page": 3, "limit": 2, "total": 5, "totalPages": 3}
        assert len(body["data"]) == 1

    def test_limit_is_an_alias(self, admin_api, members):
        assert admin_api.get(USERS, {"limit": 2}).json()["meta"]["limit"] == 2

    def test_over_100_is_clamped(self, admin_api, members):
        assert admin_api.get(USERS, {"per_page": 500}).json()["meta"]["limit"] == 100

    def test_page_past_the_end_is_empty(self, admin_api, members):
        body = admin_api.get(USERS, {"page": 9}).json()
        assert body["data"] == [] and body["meta"]["total"] == 5

    @pytest.mark.parametrize("params", [{"page": 0}, {"page": -1}, {"page": "x"}, {"per_page": 0},
                                        {"per_page": "ten"}, {"limit": "1.5"}])
    def test_bad_values_are_400(self, admin_api, members, params):
        body = envelope(admin_api.get(USERS, params), 400, "Bad Request")
        assert list(body["details"]) == list(params)


class TestErrorEnvelope:
    def test_401_without_credentials(self, db):
        envelope(APIClient().get(USERS), 401, "Unauthorized")

    def test_400_without_tenant_header(self, admin_user, api_as):
        body = envelope(api_as(admin_user).get(USERS), 400, "Bad Request")
        assert body["details"] == {"x-tenant-id": ["This header is required."]}

    def test_400_with_malformed_tenant_header(self, admin_user, api_as):
        client = api_as(admin_user).client
        client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"],
                           HTTP_X_TENANT_ID="not-a-uuid")
        envelope(client.get(USERS), 400, "Bad Request")

    def test_403_for_a_tenant_without_membership(self, admin_user, other_tenant, api_as):
        envelope(api_as(admin_user, other_tenant).get(USERS), 403, "Forbidden")

    def test_403_for_an_unknown_tenant(self, admin_user, api_as, tenant):
        api = api_as(admin_user, tenant)
        api.client.credentials(HTTP_AUTHORIZATION=api.client._credentials["HTTP_AUTHORIZATION"],
                               HTTP_X_TENANT_ID="00000000-0000-0000-0000-000000000000")
        envelope(api.client.get(USERS), 403, "Forbidden")

    def test_404_for_an_unknown_api_route(self, admin_api):
        envelope(admin_api.get("/api/no-such-thing"), 404, "Not Found")

    def test_404_for_an_unknown_id(self, admin_api):
        envelope(admin_api.put("/api/user/00000000-0000-0000-0000-000000000000/roles", {"roles": ["VIEWER"]}),
                 404, "Not Found")

    def test_405_for_a_wrong_method(self, admin_api):
        envelope(admin_api.delete(USERS), 405, "Method Not Allowed")

    def test_415_for_a_non_json_body(self, admin_api):
        response = admin_api.client.post(USERS, "email=x", content_type="application/x-www-form-urlencoded")
        envelope(response, 415, "Unsupported Media Type")

    def test_400_for_malformed_json(self, admin_api):
        response = admin_api.client.post(USERS, '{"email": ', content_type="application/json")
        body = envelope(response, 400, "Bad Request")
        assert "JSON" in body["message"]

    @pytest.mark.parametrize("payload", ["[]", '"text"', "42", "null"])
    def test_non_object_json_bodies_are_400_not_500(self, admin_api, payload):
        response = admin_api.client.post(USERS, payload, content_type="application/json")
        envelope(response, 400, "Bad Request")

    def test_409_envelope(self, superuser, tenant, api_as):
        response = api_as(superuser).post("/api/tenant/setup", {
            "name": "x", "slug": tenant.slug, "admin_email": "a@example.com", "admin_password": "long-enough"})
        envelope(response, 409, "Conflict")


def test_healthz_and_readyz(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


@pytest.mark.parametrize("payload", ['{"email": "a\\u0000@example.com", "roles": ["VIEWER"]}',
                                     '{"email": "a@example.com", "roles": ["VIEWER"], "x": {"k\\u0000": 1}}',
                                     '{"email": "a@example.com", "roles": ["VIEWER"], "x": ["\\ud905"]}'])
def test_unstorable_characters_anywhere_in_a_body_are_400(admin_api, payload):
    response = admin_api.client.post(USERS, payload, content_type="application/json")
    envelope(response, 400, "Bad Request")
    assert "NUL" in response.json()["message"]


def test_nul_in_a_query_parameter_is_400(admin_api):
    envelope(admin_api.get(USERS + "?search=a%00b"), 400, "Bad Request")


def test_an_absurd_page_number_is_an_empty_page_not_a_500(admin_api):
    body = admin_api.get(USERS, {"page": 2371609115862734251436802048}).json()
    assert body["data"] == [] and body["meta"]["page"] == 2371609115862734251436802048
