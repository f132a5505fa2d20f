import re
from datetime import timedelta

import pytest
from django.utils import timezone

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.services import dispatch_pass, provider_config_of
from dispatch.tests import factories
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

ADD = "/admin/dispatch/dispatchconfig/add/"
SECRET = "sk_admin_typed_secret_77"


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def yom():
    return DispatchProvider.objects.get(code="YOM")


def test_add_form_generates_password_inputs_from_the_channel_definition(staff_client, yom):
    page = staff_client.get(ADD, {"provider": str(yom.id), "channel": "SALESMAN"}).content.decode()

    [field] = re.findall(r'<input[^>]*name="credential__apiKey"[^>]*>', page)
    assert 'type="password"' in field and "value=" not in field


def test_add_without_the_required_credential_asks_for_it(staff_client, yom, tenant):
    response = staff_client.post(ADD, {"tenant": str(tenant.id), "provider": str(yom.id), "channel": "SALESMAN",
                                       "base_url": "https://yom.example", "settings": "{}", "is_active": "on"})

    assert response.status_code == 200
    assert "This credential is required." in response.content.decode()
    assert 'name="credential__apiKey"' in response.content.decode()
    assert not DispatchConfig.objects.exists()


def test_add_stores_encrypted_credentials_and_shows_only_masked_names(staff_client, yom, tenant):
    response = staff_client.post(ADD, {"tenant": str(tenant.id), "provider": str(yom.id), "channel": "SALESMAN",
                                       "base_url": "https://yom.example", "settings": "{}", "is_active": "on",
                                       "credential__apiKey": SECRET})

    assert response.status_code == 302
    config = DispatchConfig.objects.select_related("provider").get()
    assert (config.tenant, config.channel, config.credential_keys) == (tenant, "SALESMAN", ["apiKey"])
    assert provider_config_of(config).credentials == {"apiKey": SECRET}
    change = staff_client.get(f"/admin/dispatch/dispatchconfig/{config.id}/change/").content.decode()
    assert "apiKey: ••••••••" in change and SECRET not in change
    [field] = re.findall(r'<input[^>]*name="credential__apiKey"[^>]*>', change)
    assert 'type="password"' in field and "value=" not in field


def test_change_keeps_credentials_when_left_blank_and_replaces_them_when_typed(staff_client, tenant):
    config = factories.config(tenant, channel="SALESMAN", credentials={"apiKey": "first"})
    url = f"/admin/dispatch/dispatchconfig/{config.id}/change/"
    form = {"base_url": "http://127.0.0.1:9/v2", "settings": "{}", "is_active": "on"}  # same host, new path

    assert staff_client.post(url, form).status_code == 302
    config = DispatchConfig.objects.select_related("provider").get(pk=config.pk)
    assert config.base_url == "http://127.0.0.1:9/v2"
    assert provider_config_of(config).credentials == {"apiKey": "first"}

    # Another host with the credentials left blank: refused, the stored key stays bound to its host (SPEC 10).
    moved = staff_client.post(url, {**form, "base_url": "https://changed.example"})
    assert moved.status_code == 200
    assert "Must be re-entered when the base_url" in moved.content.decode()
    assert DispatchConfig.objects.get(pk=config.pk).base_url == "http://127.0.0.1:9/v2"

    changed = {**form, "base_url": "https://changed.example", "credential__apiKey": "second"}
    assert staff_client.post(url, changed).status_code == 302
    config = DispatchConfig.objects.get(pk=config.pk)
    assert config.base_url == "https://changed.example"
    assert provider_config_of(config).credentials == {"apiKey": "second"}


def test_a_second_active_config_for_a_channel_is_refused(staff_client, tenant, yom):
    factories.config(tenant, channel="SALESMAN")
    response = staff_client.post(ADD, {"tenant": str(tenant.id), "provider": str(yom.id), "channel": "SALESMAN",
                                       "base_url": "https://yom.example", "settings": "{}", "is_active": "on",
                                       "credential__apiKey": SECRET})
    assert response.status_code == 200
    assert "already has an active config for SALESMAN" in response.content.decode()
    assert DispatchConfig.objects.count() == 1


def test_test_connection_action(staff_client, tenant, stub, refused_url):
    good = factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    bad = factories.config(tenant, channel="CALLCENTER", base_url=refused_url)

    response = staff_client.post("/admin/dispatch/dispatchconfig/", {
        "action": "test_connection", "_selected_action": [str(good.id), str(bad.id)]}, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith(f"{good}: OK in") and "(HTTP 200)" in m for m in messages)
    assert any(m.startswith(f"{bad}: failed") for m in messages)
    assert [r.path for r in stub.requests] == ["/health"]


def test_provider_pages_render_with_channel_definition_inlines(staff_client, yom):
    assert staff_client.get("/admin/dispatch/dispatchprovider/").status_code == 200
    page = staff_client.get(f"/admin/dispatch/dispatchprovider/{yom.id}/change/").content.decode()
    assert "channel_definitions-0-credential_schema" in page
    assert staff_client.get("/admin/dispatch/channeldefinition/").status_code == 200


def test_staff_who_are_not_super_admins_cannot_change_providers(client, tenant, yom):

    client.force_login(member(tenant, "ADMIN"))  # tenant staff: providers are global, read-only for them

    assert client.get("/admin/dispatch/dispatchprovider/").status_code == 200
    assert client.get(f"/admin/dispatch/dispatchprovider/{yom.id}/change/").status_code == 200
    assert client.post(f"/admin/dispatch/dispatchprovider/{yom.id}/change/", {"name": "x"}).status_code == 403
    assert client.get("/admin/dispatch/dispatchprovider/add/").status_code == 403
    yom.refresh_from_db()
    assert yom.name != "x"


def test_dashboard_counts(staff_client, tenant, other_tenant, stub, fast_retries):
    factories.config(tenant, channel="SMS", base_url=stub.url)
    for _ in range(2):
        factories.activity(tenant, channel="SMS")
    factories.activity(tenant, channel="EMAIL")  # due, no config
    factories.activity(other_tenant, channel="PUSH")  # due, no config
    dispatch_pass()
    stub.set("error")
    failing = factories.activity(tenant, channel="SMS")
    dispatch_pass()
    old = factories.activity(tenant, channel="SMS")
    StatusEvent.objects.create(activity=old, event_type=EventType.DISPATCH_ATTEMPT_FAILED,
                               occurred_at=timezone.now() - timedelta(days=2))

    response = staff_client.get("/admin/dispatch/dispatchconfig/dashboard/")

    assert response.status_code == 200
    context = response.context
    sms_row = next(row for row in context["rows"] if row["tenant"] == tenant and row["channel"] == "SMS")
    counts = dict(zip(context["statuses"], sms_row["counts"], strict=True))
    assert counts["DISPATCHED"] == 2 and counts["READY"] == 2 and sms_row["total"] == 4
    assert context["no_config_total"] == 2
    assert {entry["tenant"]: entry["count"] for entry in context["no_config"]} == {tenant: 1, other_tenant: 1}
    assert context["failure_attempts_total"] == 1 and context["failed_total"] == 0
    html = response.content.decode()
    assert 'id="no-config-total">2<' in html and 'id="failure-attempts-total">1<' in html
    assert str(failing.id) in html
    assert Activity.objects.get(pk=failing.pk).status == ActivityStatus.READY


def test_dashboard_is_linked_from_the_config_list(staff_client):
    assert "/admin/dispatch/dispatchconfig/dashboard/" in staff_client.get(
        "/admin/dispatch/dispatchconfig/").content.decode()


def test_test_connection_action_respects_the_per_tenant_cap(staff_client, tenant, stub, settings):
    from django.core.cache import cache

    from dispatch.services.outbound import slot_keys

    settings.OUTBOUND_REQUESTS_PER_TENANT = 1
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    [key] = slot_keys(tenant.id)
    cache.add(key, "held-by-another-worker", timeout=30)
    try:
        response = staff_client.post("/admin/dispatch/dispatchconfig/", {
            "action": "test_connection", "_selected_action": [str(config.id)]}, follow=True)
    finally:
        cache.delete(key)
    assert "already has 1 outbound calls in flight" in response.content.decode()
    assert stub.requests == []
