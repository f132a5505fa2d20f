"""SPEC 1: unknown body fields are refused (400 naming them), on every write endpoint.

Generated, not hand-listed: every POST/PUT/PATCH operation of the URLconf that documents a JSON request body in the
OpenAPI schema gets a body of the documented shape (its required properties, with plausible values) plus
`"definitely_not_a_field": 1`, sent by a caller who holds the permission (the authorization matrix's world: a super
admin, or an API key for integration routes). Each must answer 400 naming the field, and write nothing. A write
operation that documents no body must be in NO_BODY, with the reason; a stale line there fails too.
"""
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework import serializers
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from activities.models import Activity
from commerces.models import Commerce, CommerceUser, Contact
from commerces.tests.factories import CommerceFactory
from reten.api.exceptions import flatten_details
from reten.api.serializers import StrictSerializer
from reten.tests import test_authorization_matrix as matrix
from reten.tests.urlconf import operations

UNKNOWN = "definitely_not_a_field"
WRITE_METHODS = ("POST", "PUT", "PATCH")

# Write operations that take no body (the view never reads one), so there is no field to refuse.
NO_BODY = {
    "POST /api/auth/refresh": "the refresh token travels in its HttpOnly cookie",
    "POST /api/auth/logout": "the refresh token travels in its HttpOnly cookie",
    "POST /api/user/invitations/{invitation_id}/accept": "the path names the invitation; nothing else to say",
    "POST /api/user/invitations/{invitation_id}/decline": "the path names the invitation; nothing else to say",
    "POST /api/api-keys/{key_id}/revoke": "the path names the key; nothing else to say",
    "POST /api/activities/tasks/{activity_id}/dispatch": "the path names the activity; nothing else to say",
    "POST /api/dispatch-configs/{config_id}/test": "the path names the config; the health check takes no input",
    "POST /api/dispatch-configs/{config_id}/rotate-callback-secret": "the path names the config; a new secret is made",
    "POST /api/webhook-endpoints/{endpoint_id}/rotate-secret": "the path names the endpoint; a new secret is made",
    "POST /api/webhook-endpoints/{endpoint_id}/test": "the path names the endpoint; the test event is fixed",
    "POST /api/webhook-deliveries/{delivery_id}/retry": "the path names the delivery; nothing else to say",
}

world = matrix.world  # the authorization matrix's two tenants, built once for this module too


def _schema():
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


SCHEMA = _schema()


def _resolve(node):
    while "$ref" in node:
        node = SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in node:
            return _resolve(node[combined][0])
    return node


def plausible(node):
    """A value of the documented shape: required properties only, each with a value its type and format allow."""
    node = _resolve(node)
    if "enum" in node:
        return next(value for value in node["enum"] if value is not None)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: plausible(node["properties"][name]) for name in node.get("required", [])
                if name in node.get("properties", {})}
    if kind == "array":
        return [plausible(node.get("items", {})) for _ in range(node.get("minItems", 0))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return max(node.get("minimum", 1), 1)
    formats = {"uuid": str(uuid.uuid4()), "date-time": "2030-01-01T10:00:00Z", "date": "2030-01-01",
               "email": "someone@example.com", "uri": "https://example.com/"}
    return formats.get(node.get("format"), "valid-1")


def json_body_schema(operation):
    method, path = operation.split(" ", 1)
    body = SCHEMA["paths"].get(path, {}).get(method.lower(), {}).get("requestBody")
    return body and body["content"].get("application/json", {}).get("schema")


WRITES = sorted(operation for operation in operations() if operation.split(" ", 1)[0] in WRITE_METHODS)
WITH_BODY = [operation for operation in WRITES if json_body_schema(operation)]


def test_every_write_operation_takes_a_json_body_or_says_why_not():
    bodiless = {operation for operation in WRITES if not json_body_schema(operation)}
    assert bodiless == set(NO_BODY), (
        f"Write operations without a documented JSON body, not in NO_BODY: {sorted(bodiless - set(NO_BODY))}; "
        f"lines of NO_BODY that do take a body or match no route: {sorted(set(NO_BODY) - bodiless)}")
    assert len(WITH_BODY) >= 40  # the walk found the write endpoints (not an empty parametrization)


# Routes that authenticate the body itself (SPEC 6.2: a provider signs its callback the Standard Webhooks way).
SIGNED_BODY = {"POST /api/dispatch-callbacks/{config_id}"}


def signature_headers(config_id, payload):
    from dispatch.models import DispatchConfig
    from dispatch.services.configs import callback_secret_of

    secret = callback_secret_of(DispatchConfig.objects.get(pk=config_id))
    at = datetime.now(tz=UTC)
    return {"HTTP_WEBHOOK_ID": "msg_strict", "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
            "HTTP_WEBHOOK_SIGNATURE": Webhook(secret).sign("msg_strict", at, payload)}


def send(world, operation, body):
    """Send `body` to `operation` (path ids of the home tenant) as the caller holding its permission."""
    method, path = operation.split(" ", 1)
    rule = matrix.OPERATIONS[operation]
    caller = matrix.key_only(rule.permission) if rule.api_key_only else "SUPER_ADMIN"
    home = world.objects[world.home.id]
    url = matrix.PARAM.sub(lambda match: str(home[matrix.object_kind(path, match.group(1))]), path)
    payload = json.dumps(body)
    headers = dict(world.headers[caller])
    if operation in SIGNED_BODY:
        headers.update(signature_headers(home["dispatch_config"], payload))
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().generic(method, url, payload, content_type="application/json", **headers)
    cache_tables = matrix._cache_tables()
    writes = [q["sql"][:120] for q in queries.captured_queries
              if matrix.WRITE_SQL.match(q["sql"]) and not any(table in q["sql"] for table in cache_tables)]
    return matrix.Answer(response.status_code, response.json() if response.content else None, writes)


def documented_body(world, operation):
    """The documented shape, with the matrix's minimal body on top (Id("kind") -> the home tenant's object)."""
    home = world.objects[world.home.id]
    extra = {name: str(home[value.kind]) if isinstance(value, matrix.Id) else value
             for name, value in matrix.OPERATIONS[operation].body.items()}
    return {**plausible(json_body_schema(operation)), **extra}


@pytest.mark.django_db
@pytest.mark.parametrize("operation", WITH_BODY)
def test_an_unknown_body_field_is_refused_naming_it_and_nothing_is_written(operation, world):
    body = {**documented_body(world, operation), UNKNOWN: 1}
    answer = send(world, operation, body)
    assert answer.status == 400, f"{operation} with {body}: {answer}"
    assert answer.body["details"].get(UNKNOWN) == ["Unknown field."], f"{operation} with {body}: {answer}"
    assert answer.body["message"] == f"Validation failed: {UNKNOWN}: Unknown field.", answer
    assert answer.writes == [], f"{operation} refused the body but wrote: {answer.writes}"


# --- nested bodies, aliases, caller data ----------------------------------------------------------------------------


def activity_body(commerce, **overrides):
    return {"type": "MESSAGE", "reason": "Win back", "channel": "WHATSAPP", "commerce_id": str(commerce.pk),
            "idempotency_key": "strict-1", "scheduled_at": "2030-01-16T09:00:00.000Z", **overrides}


def test_an_unknown_key_of_a_bulk_item_fails_that_item_alone_naming_it(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant)
    items = [activity_body(commerce, idempotency_key="kept"),
             activity_body(commerce, idempotency_key="lost", colour="red",
                           attributes=[{"key": "promotions", "colour": "blue", "value": {"any": "key"}}])]
    response = admin_api.post("/api/activities/bulk", {"items": items})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["created"], data["failed"]) == (1, 1)
    assert data["results"][1]["status"] == 400
    assert data["results"][1]["error"]["details"] == {"colour": ["Unknown field."],
                                                      "attributes.0.colour": ["Unknown field."]}
    assert data["results"][1]["error"]["message"] == "Validation failed: colour: Unknown field."
    assert list(Activity.objects.filter(tenant=tenant).values_list("idempotency_key", flat=True)) == ["kept"]


def test_an_unknown_key_beside_the_bulk_items_refuses_the_whole_call(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant)
    response = admin_api.post("/api/activities/bulk", {"items": [activity_body(commerce)], "dry_run": True})
    assert response.status_code == 400, response.json()
    assert response.json()["details"] == {"dry_run": ["Unknown field."]}
    assert not Activity.objects.filter(tenant=tenant).exists()


def test_an_unknown_key_deep_in_a_sync_item_is_named_by_its_path_and_nothing_is_synced(admin_api, tenant):
    contact = {"contact_type": "EMAIL", "value": "rep@example.com", "colour": "red"}
    items = [{"external_id": "C-1", "name": "First"},
             {"external_id": "C-2", "name": "Second", "metadata": {"any key": {"is": "caller data"}},
              "users": [{"external_id": "U-1", "contacts": [{"contact_type": "PHONE", "value": "+56911111111"},
                                                            contact]}]}]
    response = admin_api.post("/api/commerces/sync", {"items": items})
    assert response.status_code == 400, response.json()
    assert response.json()["details"] == {"items.1.users.0.contacts.1.colour": ["Unknown field."]}
    assert response.json()["message"] == "Validation failed: items.1.users.0.contacts.1.colour: Unknown field."
    assert not Commerce.objects.filter(tenant=tenant).exists()


def test_an_unknown_key_of_a_commerce_user_contact_is_named_with_the_other_problems(admin_api, tenant):
    commerce = CommerceFactory(tenant=tenant)
    body = {"first_name": "Ana", "nickname": "A",
            "contacts": [{"contact_type": "EMAIL", "value": "ana@example.com", "primary": True},
                         {"contact_type": "FAX", "value": "1"}]}
    response = admin_api.post(f"/api/commerces/{commerce.pk}/users", body)
    assert response.status_code == 400, response.json()
    details = response.json()["details"]
    assert details == {"nickname": ["Unknown field."], "contacts.0.primary": ["Unknown field."],
                       "contacts.1.contact_type": [
                           '"FAX" is not a valid choice; one of PHONE, EMAIL, WHATSAPP, OTHER.']}
    assert not CommerceUser.objects.filter(commerce=commerce).exists()
    assert not Contact.objects.filter(commerce_user__commerce=commerce).exists()


def test_camel_case_spellings_are_known_and_caller_data_keys_are_never_checked(admin_api, tenant):
    body = {"externalId": "C-9", "name": "Camel", "taxId": "76.000.000-0", "isPlaceholder": False,
            "metadata": {"freeForm": {"definitely_not_a_field": 1}}}
    response = admin_api.post("/api/commerces", body)
    assert response.status_code == 201, response.json()
    commerce = Commerce.objects.get(tenant=tenant)
    assert (commerce.external_id, commerce.tax_id) == ("C-9", "76.000.000-0")
    assert commerce.metadata == {"freeForm": {"definitely_not_a_field": 1}}


def test_an_unknown_camel_case_key_is_named_in_snake_case_as_every_field_is(admin_api, tenant):
    response = admin_api.post("/api/commerces", {"externalId": "C-9", "name": "Camel", "taxIdentifier": "1"})
    assert response.status_code == 400, response.json()
    assert response.json()["details"] == {"tax_identifier": ["Unknown field."]}
    assert not Commerce.objects.filter(tenant=tenant).exists()


class Widget(StrictSerializer):
    known_aliases = {"colour"}
    color = serializers.CharField(required=False)
    parts = serializers.ListField(child=serializers.DictField(), required=False)


class Box(StrictSerializer):
    widget = Widget(required=False)
    widgets = Widget(many=True, required=False)
    settings = serializers.DictField(required=False)


@pytest.mark.parametrize("data, unknown", [
    ({"widget": {"colour": "red"}, "widgets": [{"color": "blue"}], "settings": {"x": 1}}, None),
    ({"widget": {"size": 1}}, {"widget.size": ["Unknown field."]}),
    ({"widgets": [{}, {"color": "a", "size": 1}], "lid": 1},
     {"widgets.1.size": ["Unknown field."], "lid": ["Unknown field."]}),
    ({"widget": {"parts": [{"free": "form"}]}}, None),  # a DictField's keys are data, not fields
])
def test_the_strict_base_walks_nested_serializers_and_lists_of_them(data, unknown):
    box = Box(data=data)
    assert box.is_valid() is (unknown is None), box.errors
    if unknown is not None:
        assert dict(box.errors) == unknown


def test_a_nested_strict_serializer_under_a_lenient_one_still_refuses():
    class Lenient(serializers.Serializer):
        widgets = Widget(many=True)

    lenient = Lenient(data={"widgets": [{"size": 1}]})
    assert not lenient.is_valid()
    assert flatten_details(lenient.errors) == {"widgets.0.size": ["Unknown field."]}  # as the envelope words it
