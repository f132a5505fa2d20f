import uuid

import pytest

from dispatch.models import ChannelDefinition, DispatchProvider
from dispatch.tests import factories

pytestmark = pytest.mark.django_db

PROVIDERS = "/api/dispatch-providers"


@pytest.fixture
def super_api(api_as, superuser):
    return api_as(superuser)


def test_migration_seeds_yom_and_mock_with_their_channel_definitions(api_as, viewer_user, tenant):
    response = api_as(viewer_user, tenant).get(PROVIDERS)

    assert response.status_code == 200
    by_code = {p["code"]: p for p in response.json()}
    yom, mock = by_code["YOM"], by_code["MOCK"]
    assert set(yom) == {"id", "code", "name", "protocolType", "isActive", "channelDefinitions"}
    assert yom["protocolType"] == "REST" and yom["isActive"] is True
    assert yom["channelDefinitions"] == [
        {"channel": channel, "settingsSchema": [],
         "credentialSchema": [{"key": "apiKey", "label": "API key", "type": "password", "required": True}]}
        for channel in ("CALLCENTER", "SALESMAN")
    ]
    assert mock["protocolType"] == "REST"
    assert sorted(d["channel"] for d in mock["channelDefinitions"]) == sorted(
        ["SALESMAN", "CALLCENTER", "WHATSAPP", "EMAIL", "SMS", "PUSH"])
    for definition in mock["channelDefinitions"]:
        assert definition["credentialSchema"] == []
        # dispatch/0003 adds the receipt settings of SPEC 6.2 after the seeded ones
        assert [(f["key"], f["type"]) for f in definition["settingsSchema"]] == [
            ("failureRate", "number"), ("latencyMs", "number"), ("receiptDelayMs", "number"),
            ("receiptFailureRate", "number")]


def test_seed_migration_is_idempotent():
    from importlib import import_module

    from django.apps import apps

    seed = import_module("dispatch.migrations.0002_seed_providers").seed
    before = (DispatchProvider.objects.count(), ChannelDefinition.objects.count())
    seed(apps, None)
    assert (DispatchProvider.objects.count(), ChannelDefinition.objects.count()) == before == (2, 8)


def test_channel_definitions_of_a_provider(api_as, viewer_user, tenant):
    yom = DispatchProvider.objects.get(code="YOM")
    response = api_as(viewer_user, tenant).get(f"{PROVIDERS}/{yom.id}/channel-definitions")

    assert response.status_code == 200
    body = response.json()
    assert [d["channel"] for d in body] == ["CALLCENTER", "SALESMAN"]
    assert set(body[0]) == {"id", "dispatchProviderId", "channel", "credentialSchema", "settingsSchema",
                            "createdAt", "updatedAt"}
    assert body[0]["dispatchProviderId"] == str(yom.id)
    assert body[0]["createdAt"].endswith("Z")


def test_channel_definitions_of_an_unknown_provider_is_404(api_as, viewer_user, tenant):
    response = api_as(viewer_user, tenant).get(f"{PROVIDERS}/{uuid.uuid4()}/channel-definitions")
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


def test_reading_providers_needs_authentication(api_as):
    response = api_as().get(PROVIDERS)
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "message": "Authentication credentials were not provided.",
                               "error": "Unauthorized"}


def test_super_admin_creates_a_provider(super_api):
    response = super_api.post(PROVIDERS, {"code": "ACME", "name": "Acme gateway", "protocol_type": "WEBHOOK"})

    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "ACME" and body["protocolType"] == "WEBHOOK" and body["channelDefinitions"] == []
    assert DispatchProvider.objects.filter(code="ACME", protocol_type="WEBHOOK").exists()


def test_duplicate_provider_code_is_409(super_api):
    response = super_api.post(PROVIDERS, {"code": "YOM", "name": "Again", "protocol_type": "REST"})
    assert response.status_code == 409
    assert response.json()["message"] == "A dispatch provider with code 'YOM' already exists"
    assert list(DispatchProvider.objects.filter(code="YOM").values_list("name", flat=True)) == ["YOM"]
    assert DispatchProvider.objects.count() == 2


def test_unknown_protocol_is_400(super_api):
    response = super_api.post(PROVIDERS, {"code": "X1", "name": "X", "protocol_type": "CARRIER_PIGEON"})
    assert response.status_code == 400
    assert "protocol_type" in response.json()["details"]
    assert not DispatchProvider.objects.filter(code="X1").exists()


def test_tenant_admin_cannot_write_providers(admin_api):
    yom = DispatchProvider.objects.get(code="YOM")
    definition = yom.channel_definitions.first()
    attempts = [
        admin_api.post(PROVIDERS, {"code": "MINE", "name": "Mine", "protocol_type": "REST"}),
        admin_api.patch(f"{PROVIDERS}/{yom.id}", {"name": "Hijacked"}),
        admin_api.post(f"{PROVIDERS}/{yom.id}/channel-definitions", {"channel": "SMS"}),
        admin_api.patch(f"{PROVIDERS}/{yom.id}/channel-definitions/{definition.id}",
                        {"settings_schema": [{"key": "hijacked", "type": "string"}]}),
        admin_api.delete(f"{PROVIDERS}/{yom.id}/channel-definitions/{definition.id}"),
    ]

    assert [r.status_code for r in attempts] == [403] * 5
    assert {r.json()["message"] for r in attempts} == {
        "Only a super admin may change dispatch providers: every tenant uses them"}
    yom.refresh_from_db()
    assert yom.name == "YOM" and yom.channel_definitions.count() == 2
    definition.refresh_from_db()
    assert definition.settings_schema == []
    assert not DispatchProvider.objects.filter(code="MINE").exists()


def test_an_api_key_cannot_write_providers_even_from_a_super_admin(api_as, tenant, superuser, make_api_key):
    from tenants.tests.factories import member

    member(tenant, "ADMIN", user=superuser)
    key = make_api_key(["MANAGE_ACTIVITY_CONFIG", "VIEW_ACTIVITIES"], creator=superuser)
    response = api_as(api_key=key).post(PROVIDERS, {"code": "KEYED", "name": "K", "protocol_type": "REST"})
    assert response.status_code == 403
    assert response.json()["message"] == "Only a super admin may change dispatch providers: every tenant uses them"
    assert not DispatchProvider.objects.filter(code="KEYED").exists()


def test_viewer_without_manage_permission_gets_403_on_write(api_as, viewer_user, tenant):
    response = api_as(viewer_user, tenant).post(PROVIDERS, {"code": "V", "name": "V", "protocol_type": "REST"})
    assert response.status_code == 403
    assert response.json()["message"] == "Missing permission MANAGE_ACTIVITY_CONFIG"
    assert not DispatchProvider.objects.filter(code="V").exists()


def test_patch_provider(super_api):
    mock = DispatchProvider.objects.get(code="MOCK")
    response = super_api.patch(f"{PROVIDERS}/{mock.id}", {"name": "Mock 2", "is_active": False})

    assert response.status_code == 200
    assert response.json()["name"] == "Mock 2" and response.json()["isActive"] is False
    mock.refresh_from_db()
    assert (mock.name, mock.is_active, mock.protocol_type) == ("Mock 2", False, "REST")


def test_patch_unknown_provider_is_404(super_api):
    response = super_api.patch(f"{PROVIDERS}/{uuid.uuid4()}", {"name": "x"})
    assert response.status_code == 404
    assert response.json()["message"] == "Dispatch provider not found"
    assert not DispatchProvider.objects.filter(name="x").exists()


def test_channel_definition_create_update_delete(super_api):
    acme = factories.provider(code="ACME", channels=())
    url = f"{PROVIDERS}/{acme.id}/channel-definitions"
    schema = [{"key": "signingSecret", "label": "Signing secret", "type": "password", "required": True}]

    created = super_api.post(url, {"channel": "WHATSAPP", "credential_schema": schema,
                                   "settings_schema": [{"key": "region", "type": "string"}]})
    assert created.status_code == 201
    body = created.json()
    assert body["channel"] == "WHATSAPP" and body["credentialSchema"] == schema
    assert body["settingsSchema"] == [{"key": "region", "label": "region", "type": "string", "required": False}]

    duplicate = super_api.post(url, {"channel": "WHATSAPP"})
    assert duplicate.status_code == 409
    assert duplicate.json()["message"] == "Provider ACME already defines channel WHATSAPP"
    assert list(ChannelDefinition.objects.filter(provider=acme).values_list("pk", flat=True)) == [
        uuid.UUID(body["id"])]

    updated = super_api.patch(f"{url}/{body['id']}", {"settings_schema": []})
    assert updated.status_code == 200 and updated.json()["settingsSchema"] == []

    deleted = super_api.delete(f"{url}/{body['id']}")
    assert deleted.status_code == 204
    assert not ChannelDefinition.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize("schema, field", [
    ([{"key": "x", "type": "secret"}], "credential_schema.0.type"),
    ([{"label": "no key", "type": "string"}], "credential_schema.0.key"),
    ([{"key": "a", "type": "string"}, {"key": "a", "type": "number"}], "credential_schema.1.key"),
    ("not a list", "credential_schema"),
])
def test_channel_definition_schema_is_validated(super_api, schema, field):
    acme = factories.provider(code="ACME", channels=())
    response = super_api.post(f"{PROVIDERS}/{acme.id}/channel-definitions",
                              {"channel": "SMS", "credential_schema": schema})
    assert response.status_code == 400
    assert any(name == field or name.startswith(f"{field}.") for name in response.json()["details"])
    assert not ChannelDefinition.objects.filter(provider=acme).exists()


def test_deleting_a_definition_in_use_is_refused(super_api, tenant):
    config = factories.config(tenant, channel="SALESMAN")
    definition = ChannelDefinition.objects.get(provider=config.provider, channel="SALESMAN")
    response = super_api.delete(f"{PROVIDERS}/{config.provider_id}/channel-definitions/{definition.id}")
    assert response.status_code == 409
    assert response.json()["message"] == ("1 active dispatch config(s) use this channel definition; deactivate "
                                          "them first")
    assert ChannelDefinition.objects.filter(pk=definition.pk).exists()
    config.refresh_from_db()
    assert config.is_active is True


def test_definition_of_another_provider_is_404(super_api):
    yom = DispatchProvider.objects.get(code="YOM")
    mock_definition = ChannelDefinition.objects.filter(provider__code="MOCK").first()
    response = super_api.patch(f"{PROVIDERS}/{yom.id}/channel-definitions/{mock_definition.id}",
                               {"settings_schema": []})
    assert response.status_code == 404
    assert response.json()["message"] == "Channel definition not found"
    refreshed = ChannelDefinition.objects.get(pk=mock_definition.pk)
    assert (refreshed.provider_id, refreshed.settings_schema) == (mock_definition.provider_id,
                                                                  mock_definition.settings_schema)
    assert refreshed.settings_schema != []
