import uuid

import pytest

from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.tests import factories

pytestmark = pytest.mark.django_db

CONFIGS = "/api/dispatch-configs"
SECRET = "sk_live_9f8e7d6c5b4a"


@pytest.fixture
def yom():
    return DispatchProvider.objects.get(code="YOM")


@pytest.fixture
def mock():
    return DispatchProvider.objects.get(code="MOCK")


def create_body(provider, **overrides):
    body = {"dispatch_provider_id": str(provider.id), "channel": "SALESMAN", "base_url": "https://api.yom.example",
            "credentials": {"apiKey": SECRET}, "settings": {}}
    body.update(overrides)
    return body


def test_create_config_returns_names_of_credentials_only(admin_api, yom, tenant):
    response = admin_api.post(CONFIGS, create_body(yom))

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "dispatchProviderId", "channel", "baseUrl", "settings", "isActive", "credentialKeys",
                         "dispatchProvider", "createdAt", "updatedAt", "callbackSecret"}
    assert body["credentialKeys"] == ["apiKey"]
    assert body["callbackSecret"].startswith("whsec_")  # shown once, here (SPEC 6.2)
    assert body["dispatchProvider"] == {"code": "YOM", "name": "YOM"}
    assert body["isActive"] is True and body["baseUrl"] == "https://api.yom.example"
    assert SECRET not in response.content.decode()
    config = DispatchConfig.objects.get(pk=body["id"])
    assert config.tenant == tenant and SECRET not in config.credentials_encrypted


def test_camel_case_body_is_accepted(admin_api, yom):
    response = admin_api.post(CONFIGS, {"dispatchProviderId": str(yom.id), "channel": "CALLCENTER",
                                        "baseUrl": "http://yom.local", "credentials": {"apiKey": SECRET}})
    assert response.status_code == 201
    assert response.json()["credentialKeys"] == ["apiKey"]


def test_list_and_detail_are_plain_and_tenant_scoped(admin_api, api_as, viewer_user, tenant, other_tenant, yom):
    mine = factories.config(tenant, channel="SALESMAN")
    theirs = factories.config(other_tenant, channel="SALESMAN")

    listed = api_as(viewer_user, tenant).get(CONFIGS)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [str(mine.id)]
    assert admin_api.get(f"{CONFIGS}/{mine.id}").json()["id"] == str(mine.id)
    assert admin_api.get(f"{CONFIGS}/{theirs.id}").status_code == 404
    assert admin_api.patch(f"{CONFIGS}/{theirs.id}", {"base_url": "http://x.example"}).status_code == 404
    assert admin_api.delete(f"{CONFIGS}/{theirs.id}").status_code == 404
    assert admin_api.post(f"{CONFIGS}/{theirs.id}/test").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active and theirs.base_url == "http://127.0.0.1:9"


def test_list_filters(admin_api, tenant, mock):
    factories.config(tenant, channel="SMS", provider_obj=mock)
    email = factories.config(tenant, channel="EMAIL", provider_obj=mock)
    admin_api.delete(f"{CONFIGS}/{email.id}")

    assert [c["channel"] for c in admin_api.get(CONFIGS, {"channel": "SMS"}).json()] == ["SMS"]
    assert [c["channel"] for c in admin_api.get(CONFIGS, {"is_active": "false"}).json()] == ["EMAIL"]
    assert admin_api.get(CONFIGS, {"channel": "FAX"}).status_code == 400


@pytest.mark.parametrize("overrides, field", [
    ({"credentials": {}}, "credentials.apiKey"),
    ({"credentials": {"apiKey": ""}}, "credentials.apiKey"),
    ({"credentials": {"apiKey": SECRET, "token": "x"}}, "credentials.token"),
    ({"credentials": {"apiKey": 12345}}, "credentials.apiKey"),
    ({"settings": {"colour": "blue"}}, "settings.colour"),
    ({"settings": {"leadTimeSeconds": "soon"}}, "settings.leadTimeSeconds"),
    ({"base_url": ""}, "base_url"),
    ({"base_url": "ftp://files.example"}, "base_url"),
    ({"channel": "SMS"}, "channel"),
    ({"dispatch_provider_id": str(uuid.uuid4())}, "dispatch_provider_id"),
])
def test_create_is_validated_against_the_channel_definition(admin_api, yom, overrides, field):
    response = admin_api.post(CONFIGS, create_body(yom, **overrides))

    assert response.status_code == 400
    body = response.json()
    assert field in body["details"]
    assert field in body["message"] or field == "dispatch_provider_id"
    assert DispatchConfig.objects.count() == 0


def test_mock_settings_types_are_checked(admin_api, mock):
    bad = admin_api.post(CONFIGS, {"dispatch_provider_id": str(mock.id), "channel": "SMS",
                                   "settings": {"failureRate": "often", "latencyMs": 5}})
    assert bad.status_code == 400 and list(bad.json()["details"]) == ["settings.failureRate"]

    good = admin_api.post(CONFIGS, {"dispatch_provider_id": str(mock.id), "channel": "SMS",
                                    "settings": {"failureRate": 0.25, "latencyMs": 5, "leadTimeSeconds": 60}})
    assert good.status_code == 201
    assert good.json()["settings"] == {"failureRate": 0.25, "latencyMs": 5, "leadTimeSeconds": 60}
    assert good.json()["credentialKeys"] == [] and good.json()["baseUrl"] == ""


def test_one_active_config_per_channel(admin_api, yom, mock):
    assert admin_api.post(CONFIGS, create_body(yom)).status_code == 201
    second = admin_api.post(CONFIGS, {"dispatch_provider_id": str(mock.id), "channel": "SALESMAN"})

    assert second.status_code == 409
    assert DispatchConfig.objects.filter(channel="SALESMAN").count() == 1


def test_delete_deactivates_and_frees_the_channel(admin_api, yom, mock):
    first = admin_api.post(CONFIGS, create_body(yom)).json()

    assert admin_api.delete(f"{CONFIGS}/{first['id']}").status_code == 204
    assert DispatchConfig.objects.get(pk=first["id"]).is_active is False
    assert admin_api.post(CONFIGS, {"dispatch_provider_id": str(mock.id), "channel": "SALESMAN"}).status_code == 201
    reactivate = admin_api.patch(f"{CONFIGS}/{first['id']}", {"is_active": True})
    assert reactivate.status_code == 409
    assert DispatchConfig.objects.get(pk=first["id"]).is_active is False


def test_patch_replaces_credentials_and_settings(admin_api, tenant, yom):
    from dispatch.services import provider_config_of

    created = admin_api.post(CONFIGS, create_body(yom)).json()
    before = DispatchConfig.objects.get(pk=created["id"]).credentials_encrypted

    response = admin_api.patch(f"{CONFIGS}/{created['id']}", {"credentials": {"apiKey": "sk_rotated_1"},
                                                              "base_url": "https://v2.yom.example"})
    assert response.status_code == 200
    assert response.json()["baseUrl"] == "https://v2.yom.example"
    assert "sk_rotated_1" not in response.content.decode()
    config = DispatchConfig.objects.select_related("provider").get(pk=created["id"])
    assert config.credentials_encrypted != before
    assert provider_config_of(config).credentials == {"apiKey": "sk_rotated_1"}

    refused = admin_api.patch(f"{CONFIGS}/{created['id']}", {"credentials": {"nope": "x"}})
    assert refused.status_code == 400 and "credentials.nope" in refused.json()["details"]
    assert provider_config_of(DispatchConfig.objects.get(pk=created["id"])).credentials == {"apiKey": "sk_rotated_1"}


def test_patch_without_credentials_keeps_them(admin_api, yom):
    from dispatch.services import provider_config_of

    created = admin_api.post(CONFIGS, create_body(yom)).json()
    admin_api.patch(f"{CONFIGS}/{created['id']}", {"settings": {"leadTimeSeconds": 30}})
    config = DispatchConfig.objects.get(pk=created["id"])
    assert config.settings == {"leadTimeSeconds": 30}
    assert provider_config_of(config).credentials == {"apiKey": SECRET}


def test_permissions(api_as, viewer_user, fde_user, tenant, yom):
    viewer = api_as(viewer_user, tenant)
    assert viewer.get(CONFIGS).status_code == 200
    assert viewer.post(CONFIGS, create_body(yom)).status_code == 403
    assert api_as(fde_user, tenant).post(CONFIGS, create_body(yom)).status_code == 403
    assert api_as().get(CONFIGS).status_code == 401
    assert DispatchConfig.objects.count() == 0


def test_test_endpoint_reports_a_healthy_provider(admin_api, tenant, stub):
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url)

    response = admin_api.post(f"{CONFIGS}/{config.id}/test")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["statusCode"] == 200 and isinstance(body["latencyMs"], int)
    assert "error" not in body
    health = stub.requests[-1]
    assert (health.method, health.path) == ("GET", "/health")
    assert health.headers["x-api-key"] == "sk_live_test_secret_value_123"


def test_test_endpoint_reports_failures(admin_api, tenant, stub, refused_url):
    stub.set("error")
    failing = factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    body = admin_api.post(f"{CONFIGS}/{failing.id}/test").json()
    assert body == {"ok": False, "statusCode": 500, "error": "Provider answered HTTP 500",
                    "errorCode": "PROVIDER_HTTP_500", "latencyMs": body["latencyMs"]}

    unreachable = factories.config(tenant, channel="CALLCENTER", base_url=refused_url)
    body = admin_api.post(f"{CONFIGS}/{unreachable.id}/test").json()
    assert body == {"ok": False, "error": "The provider refused the connection", "errorCode": "CONNECTION_REFUSED",
                    "latencyMs": body["latencyMs"]}
