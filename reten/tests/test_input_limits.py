"""SPEC 10, Input limits: hostile or impossible input is a 4xx with the envelope, never a 500 nor a traceback."""
import json
import logging
import uuid

import pytest
from rest_framework.test import APIClient

from activities.models import TargetResolutionConfig
from commerces.models import Address, Commerce
from commerces.tests.factories import CommerceFactory
from reten.api.parsers import MAX_JSON_DEPTH, nesting_depth
from tenants.models import ApiKey

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login"


def envelope(response, status):
    body = response.json()
    assert response.status_code == status, body
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


def raw_post(client, path, text):
    return client.post(path, data=text, content_type="application/json")


def nested(depth, innermost="1"):
    return "[" * depth + innermost + "]" * depth


@pytest.fixture
def anonymous():
    return APIClient(raise_request_exception=False)


@pytest.fixture
def raw_admin(admin_api):
    admin_api.client.raise_request_exception = False
    return admin_api.client


@pytest.fixture
def errors_logged(caplog):
    caplog.set_level(logging.INFO)

    def collect():
        return [record for record in caplog.records if record.levelno >= logging.ERROR]

    return collect


class TestNesting:
    @pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 500, 100_000])
    def test_deep_json_on_the_unauthenticated_login_is_400_without_a_traceback(self, anonymous, errors_logged,
                                                                                 depth):
        body = {"identifier": "someone", "password": "long-enough", "extra": "PLACEHOLDER"}
        text = json.dumps(body).replace('"PLACEHOLDER"', nested(depth - 1))
        response = raw_post(anonymous, LOGIN, text)
        assert envelope(response, 400)["message"] == f"Malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels"
        assert errors_logged() == []

    def test_nesting_at_the_limit_is_parsed(self, anonymous):
        text = json.dumps({"identifier": "someone", "password": "long-enough", "extra": "P"}).replace(
            '"P"', nested(MAX_JSON_DEPTH - 1))
        assert nesting_depth(text) == MAX_JSON_DEPTH
        # Reached the serializer (SPEC 1 refuses the unknown field): the parser accepted the body.
        assert envelope(raw_post(anonymous, LOGIN, text), 400)["details"] == {"extra": ["Unknown field."]}

    def test_brackets_inside_strings_are_not_nesting(self, anonymous):
        text = json.dumps({"identifier": "[{" * 100 + '\\"', "password": "long-enough"})
        envelope(raw_post(anonymous, LOGIN, text), 401)

    def test_deep_metadata_writes_no_commerce(self, raw_admin):
        text = json.dumps({"external_id": "C-9", "name": "Deep", "metadata": {"a": "P"}}).replace(
            '"P"', nested(200))
        envelope(raw_post(raw_admin, "/api/commerces", text), 400)
        assert Commerce.objects.count() == 0

    @pytest.mark.parametrize("text,depth", [
        ("[]", 1), ("{}", 1), ("1", 0), ('"[["', 0), ('["\\\\", [[]]]', 3), ('"unterminated [[[', 0),
        ('{"a": [{"b": []}]}', 4),
    ])
    def test_nesting_depth_is_counted_outside_strings(self, text, depth):
        assert nesting_depth(text) == depth


class TestBodySize:
    def test_a_body_over_the_default_limit_is_413_on_the_unauthenticated_login(self, anonymous, errors_logged,
                                                                                settings):
        text = json.dumps({"identifier": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "password": "long-enough"})
        response = raw_post(anonymous, LOGIN, text)
        body = envelope(response, 413)
        assert body["error"] == "Request Entity Too Large"
        assert response["Cache-Control"] == "no-store"
        assert errors_logged() == []

    def test_a_body_over_a_configured_limit_is_413_and_writes_nothing(self, raw_admin, settings, errors_logged):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = raw_admin.post("/api/commerces", {"external_id": "C-9", "name": "x" * 1000}, format="json")
        envelope(response, 413)
        assert Commerce.objects.count() == 0
        assert errors_logged() == []

    def test_a_body_within_the_limit_is_accepted(self, raw_admin, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = raw_admin.post("/api/commerces", {"external_id": "C-9", "name": "small"}, format="json")
        assert response.status_code == 201, response.json()


class TestNumbers:
    @pytest.fixture
    def commerce(self, tenant):
        return CommerceFactory(tenant=tenant)

    @pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
    def test_non_finite_numbers_are_refused_by_the_parser(self, raw_admin, commerce, literal):
        text = '{"street": "x", "latitude": LITERAL}'.replace("LITERAL", literal)
        response = raw_post(raw_admin, f"/api/commerces/{commerce.id}/addresses", text)
        assert envelope(response, 400)["message"].startswith("Malformed JSON")
        assert Address.objects.count() == 0

    @pytest.mark.parametrize("field,value,problem", [
        ("latitude", 1e22, "Ensure this value is less than or equal to 90."),
        ("latitude", -90.5, "Ensure this value is greater than or equal to -90."),
        ("longitude", 180.0000006, "Ensure this value is less than or equal to 180."),
        ("longitude", -1e22, "Ensure this value is greater than or equal to -180."),
    ])
    def test_coordinates_out_of_range_are_400_on_create(self, raw_admin, commerce, errors_logged, field, value,
                                                        problem):
        response = raw_admin.post(f"/api/commerces/{commerce.id}/addresses", {"street": "x", field: value},
                                  format="json")
        assert envelope(response, 400)["details"] == {field: [problem]}
        assert Address.objects.count() == 0
        assert errors_logged() == []

    def test_coordinates_at_the_limits_are_accepted(self, raw_admin, commerce):
        response = raw_admin.post(f"/api/commerces/{commerce.id}/addresses",
                                  {"street": "x", "latitude": -90, "longitude": 180.0000004}, format="json")
        assert response.status_code == 201, response.json()
        assert (response.json()["latitude"], response.json()["longitude"]) == (-90.0, 180.0)

    def test_coordinates_out_of_range_are_400_on_update(self, raw_admin, commerce):
        address = Address.objects.create(commerce=commerce, street="x", latitude=1, longitude=1)
        response = raw_admin.patch(f"/api/commerces/{commerce.id}/addresses/{address.id}", {"latitude": 1e22},
                                   format="json")
        assert envelope(response, 400)["details"] == {"latitude": ["Ensure this value is less than or equal to 90."]}
        address.refresh_from_db()
        assert address.latitude == 1

    def test_coordinates_out_of_range_in_a_sync_write_nothing(self, raw_admin):
        response = raw_admin.post("/api/commerces/sync", {"items": [
            {"external_id": "C-1", "name": "Fine"},
            {"external_id": "C-2", "name": "Bad", "addresses": [{"street": "x", "latitude": 1e22}]},
        ]}, format="json")
        assert envelope(response, 400)["details"] == {
            "items.1.addresses.0.latitude": ["Ensure this value is less than or equal to 90."]}
        assert Commerce.objects.count() == 0

    @pytest.mark.parametrize("body,field", [
        ({"priority": 2**31}, "priority"),
        ({"priority": -(2**31) - 1}, "priority"),
        ({"priority": 10**30}, "priority"),
        ({"priority": 1, "criteria": [{"type": "ROLE_MATCH", "priority": 2**31}]}, "criteria.0.priority"),
    ])
    def test_integers_beyond_their_column_are_400(self, raw_admin, body, field):
        response = raw_admin.post("/api/activity-config/target-resolution", body, format="json")
        assert list(envelope(response, 400)["details"]) == [field]
        assert TargetResolutionConfig.objects.count() == 0

    def test_an_integer_too_long_to_read_is_400(self, raw_admin):
        response = raw_post(raw_admin, "/api/activity-config/target-resolution", '{"priority": ' + "9" * 5000 + "}")
        assert envelope(response, 400)["message"].startswith("Malformed JSON")


class TestDates:
    @pytest.mark.parametrize("param,value", [
        ("scheduled_to", "2020-02-30"), ("scheduled_from", "2021-02-29"), ("scheduled_from", "2020-13-01"),
        ("scheduled_to", "2020-02-30T10:00:00Z"), ("scheduled_to", "yesterday"),
    ])
    def test_impossible_dates_in_queries_are_400(self, raw_admin, errors_logged, param, value):
        response = raw_admin.get("/api/activities", {param: value})
        assert list(envelope(response, 400)["details"]) == [param]
        assert errors_logged() == []

    def test_a_real_leap_day_is_accepted(self, raw_admin):
        assert raw_admin.get("/api/activities", {"scheduled_to": "2020-02-29"}).status_code == 200

    def test_impossible_dates_in_bodies_are_400(self, raw_admin):
        response = raw_admin.post("/api/api-keys", {"name": "k", "permissions": ["VIEW_ACTIVITIES"],
                                                    "expires_at": "2030-02-30T00:00:00Z"}, format="json")
        assert list(envelope(response, 400)["details"]) == ["expires_at"]
        assert ApiKey.objects.count() == 0

    def test_impossible_scheduled_at_is_400(self, raw_admin, tenant):
        commerce = CommerceFactory(tenant=tenant)
        response = raw_admin.post("/api/activities", {
            "type": "MESSAGE", "reason": "r", "channel": "WHATSAPP", "commerce_id": str(commerce.id),
            "idempotency_key": "k-1", "scheduled_at": "2020-02-30T10:00:00Z"}, format="json")
        assert "scheduled_at" in envelope(response, 400)["details"]


class TestIds:
    def test_a_malformed_path_id_is_400_naming_the_parameter(self, raw_admin):
        body = envelope(raw_admin.get("/api/commerces/not-a-uuid"), 400)
        assert body["details"] == {"commerce_id": ["Must be a valid UUID."]}
        assert body["message"] == "Validation failed: commerce_id: Must be a valid UUID."

    def test_the_second_malformed_path_id_is_named_too(self, raw_admin, tenant):
        commerce = CommerceFactory(tenant=tenant)
        body = envelope(raw_admin.delete(f"/api/commerces/{commerce.id}/users/1234"), 400)
        assert body["details"] == {"user_id": ["Must be a valid UUID."]}

    def test_a_malformed_id_changes_nothing(self, raw_admin, tenant):
        CommerceFactory(tenant=tenant, name="Kept")
        envelope(raw_admin.patch("/api/commerces/12345", {"name": "Changed"}, format="json"), 400)
        assert list(Commerce.objects.values_list("name", flat=True)) == ["Kept"]

    @pytest.mark.parametrize("path", ["/api/activities/x", "/api/dispatch-configs/0", "/api/api-keys/abc/revoke",
                                      "/api/activity-config/target-resolution/%7B%7D",
                                      "/api/routes/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz/operators"])
    def test_malformed_ids_are_400_on_every_app(self, raw_admin, path):
        envelope(raw_admin.get(path), 400)

    def test_an_unknown_well_formed_id_stays_404(self, raw_admin):
        envelope(raw_admin.get(f"/api/commerces/{uuid.uuid4()}"), 404)

    def test_another_tenants_id_stays_404(self, raw_admin, other_tenant):
        foreign = CommerceFactory(tenant=other_tenant)
        envelope(raw_admin.get(f"/api/commerces/{foreign.id}"), 404)

    def test_a_well_formed_id_in_upper_case_is_found(self, raw_admin, tenant):
        commerce = CommerceFactory(tenant=tenant)
        assert raw_admin.get(f"/api/commerces/{str(commerce.id).upper()}").status_code == 200

    def test_a_malformed_id_in_a_query_is_400(self, raw_admin):
        assert list(envelope(raw_admin.get("/api/activities", {"commerce_id": "nope"}), 400)["details"]) == [
            "commerce_id"]


class TestUnknownApiUrls:
    @pytest.mark.parametrize("debug", [False, True])
    @pytest.mark.parametrize("method,path", [
        ("get", "/api/nope"), ("post", "/api/nope/deeper"), ("get", "/api/"),
        ("delete", f"/api/commerces/{uuid.uuid4()}/unknown"), ("get", "/api/commerces/"),
    ])
    def test_every_unmatched_api_url_is_a_json_404(self, anonymous, settings, debug, method, path):
        settings.DEBUG = debug
        response = getattr(anonymous, method)(path)
        assert response["Content-Type"] == "application/json"
        assert envelope(response, 404) == {"statusCode": 404, "message": "Not found", "error": "Not Found"}
        assert response["Cache-Control"] == "no-store"

    def test_a_malformed_id_under_debug_is_a_json_400(self, raw_admin, settings):
        settings.DEBUG = True
        envelope(raw_admin.get("/api/commerces/not-a-uuid"), 400)


def test_an_unmatched_api_url_is_a_json_404_even_for_a_browser_style_csrf_checked_write():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).patch("/api/no-such-route/anything",
                                                       data="{}", content_type="application/json")
    assert envelope(response, 404) == {"statusCode": 404, "message": "Not found", "error": "Not Found"}


def test_every_api_path_parameter_uses_the_id_converter():
    """`<uuid:...>` would turn a malformed id into a 404 (and a CSRF page for writes); `<id:...>` makes it a 400."""
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for entry in patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.namespace != "admin":
                    yield from walk(entry.url_patterns, text)
            else:
                yield text

    assert [route for route in walk(get_resolver().url_patterns) if "<uuid:" in route] == []
