"""SPEC 10 for dispatch configs: credentials bound to their host, what a provider says stays inside, and
outbound calls made inside a request (short timeout, per-tenant cap on calls in flight)."""
import logging
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from activities.models import Activity, StatusEvent
from dispatch.models import DispatchConfig
from dispatch.services import dispatch_pass, provider_config_of
from dispatch.services.outbound import slot_keys
from dispatch.tests import factories
from dispatch.tests.stub_provider import StubProvider
from tenants.tests.factories import TenantFactory, member

SECRET = "sk_live_bound_to_its_host_77"
STUB_ERROR_BODY = "stub provider is failing"  # what the stub's 500 answer says


@pytest.fixture
def attacker():
    """Another host: whatever reaches it was exfiltrated."""
    server = StubProvider().start()
    yield server
    server.stop()


# --- credentials stay bound to their host ---------------------------------------------------------------------

@pytest.mark.django_db
def test_patching_base_url_alone_to_another_host_is_refused_and_the_key_never_leaves(admin_api, tenant, stub,
                                                                                      attacker):
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url, credentials={"apiKey": SECRET})

    patched = admin_api.patch(f"/api/dispatch-configs/{config.id}", {"base_url": attacker.url + "/collect"})
    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test")

    assert patched.status_code == 400
    assert patched.json() == {
        "statusCode": 400, "error": "Bad Request", "message": "credentials must be re-entered when the host changes",
        "details": {"credentials": ["Must be re-entered when the base_url's scheme, host or port changes: stored "
                                    "credentials are only sent to the host they were entered for."]}}
    assert DispatchConfig.objects.get(pk=config.pk).base_url == stub.url
    assert attacker.requests == []
    assert tested.json()["ok"] is True and [r.headers["x-api-key"] for r in stub.requests] == [SECRET]


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["scheme", "port", "host"])
def test_any_change_of_scheme_host_or_port_needs_the_credentials_again(admin_api, tenant, change):
    config = factories.config(tenant, channel="SALESMAN", base_url="https://provider.example:8443/v1",
                              credentials={"apiKey": SECRET})
    new_url = {"scheme": "http://provider.example:8443/v1", "port": "https://provider.example:9443/v1",
               "host": "https://other.example:8443/v1"}[change]

    assert admin_api.patch(f"/api/dispatch-configs/{config.id}", {"base_url": new_url}).status_code == 400
    assert DispatchConfig.objects.get(pk=config.pk).base_url == "https://provider.example:8443/v1"

    again = admin_api.patch(f"/api/dispatch-configs/{config.id}",
                            {"base_url": new_url, "credentials": {"apiKey": "sk_live_for_the_new_host"}})
    assert again.status_code == 200
    config = DispatchConfig.objects.get(pk=config.pk)
    assert config.base_url == new_url
    assert provider_config_of(config).credentials == {"apiKey": "sk_live_for_the_new_host"}


@pytest.mark.django_db
def test_same_origin_changes_keep_the_credentials(admin_api, tenant):
    config = factories.config(tenant, channel="SALESMAN", base_url="https://provider.example/v1",
                              credentials={"apiKey": SECRET})
    response = admin_api.patch(f"/api/dispatch-configs/{config.id}", {"base_url": "https://PROVIDER.example:443/v2"})
    assert response.status_code == 200
    assert provider_config_of(DispatchConfig.objects.get(pk=config.pk)).credentials == {"apiKey": SECRET}


# --- what a provider says stays inside --------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_providers_body_reaches_the_log_only(admin_api, tenant, stub, caplog, fast_retries):
    caplog.set_level(logging.INFO)
    stub.set("error")
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    passed = factories.activity(tenant, channel="SALESMAN", type="TASK")
    dispatch_pass()
    now = factories.activity(tenant, channel="SALESMAN", type="TASK", scheduled_at=None)

    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test")
    dispatched = admin_api.post(f"/api/activities/tasks/{now.id}/dispatch")

    assert tested.json() == {"ok": False, "statusCode": 500, "errorCode": "PROVIDER_HTTP_500",
                             "error": "Provider answered HTTP 500", "latencyMs": tested.json()["latencyMs"]}
    assert dispatched.status_code == 502
    assert dispatched.json()["errorCode"] == "PROVIDER_HTTP_500" and dispatched.json()["providerStatusCode"] == 500
    inside = [tested.content.decode(), dispatched.content.decode()]
    inside += [a.last_dispatch_error for a in Activity.objects.filter(pk__in=[passed.pk, now.pk])]
    inside += list(StatusEvent.objects.values_list("error_message", flat=True))
    inside += list(StatusEvent.objects.values_list("error_code", flat=True))
    assert {a.last_dispatch_error for a in Activity.objects.filter(pk__in=[passed.pk, now.pk])} == {
        "PROVIDER_HTTP_500: Provider answered HTTP 500"}
    assert all(STUB_ERROR_BODY not in text for text in inside)
    assert caplog.text.count(STUB_ERROR_BODY) == 3  # the pass, the test, dispatch now: one log line each


def test_smtp_replies_stay_in_the_log(smtp, caplog):
    from dispatch.protocols.email import EmailProtocol
    from dispatch.tests.test_protocols import email_config

    caplog.set_level(logging.WARNING)
    report = EmailProtocol().check(email_config(smtp, username="mailer", password="smtp-wrong-pass"))

    assert (report.ok, report.error_code, report.error) == (False, "SMTP_AUTH_FAILED",
                                                            "The SMTP server refused the login (reply 535)")
    assert "authentication failed" in caplog.text  # the server's own words, for the operator
    assert "smtp-wrong-pass" not in caplog.text


# --- outbound calls made inside a request ---------------------------------------------------------------------

@pytest.mark.django_db
def test_calls_inside_a_request_use_the_short_timeout(admin_api, tenant, stub, settings):
    settings.DISPATCH_HTTP_TIMEOUT = 10
    settings.OUTBOUND_REQUEST_TIMEOUT_SECONDS = 0.3
    stub.set("slow", delay=2)
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    task = factories.activity(tenant, channel="SALESMAN", type="TASK", scheduled_at=None)

    started = time.monotonic()
    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test").json()
    dispatched = admin_api.post(f"/api/activities/tasks/{task.id}/dispatch")
    elapsed = time.monotonic() - started

    assert (tested["ok"], tested["errorCode"]) == (False, "TIMEOUT")
    assert dispatched.status_code == 502 and dispatched.json()["errorCode"] == "TIMEOUT"
    assert elapsed < 1.8  # two calls of 0.3 s, not of 10 s (nor the stub's 2 s)


def test_the_defaults_are_five_seconds_and_two_calls_per_tenant():
    import os

    from django.conf import settings

    assert "OUTBOUND_REQUEST_TIMEOUT_SECONDS" not in os.environ and "OUTBOUND_REQUESTS_PER_TENANT" not in os.environ
    assert (settings.OUTBOUND_REQUEST_TIMEOUT_SECONDS, settings.OUTBOUND_REQUESTS_PER_TENANT) == (5.0, 2)


@pytest.mark.django_db
def test_slots_held_elsewhere_make_dispatch_now_429_without_calling(admin_api, tenant, stub, settings):
    """The cap is in the shared cache: slots another worker process holds count here too."""
    settings.OUTBOUND_REQUESTS_PER_TENANT = 2
    factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    task = factories.activity(tenant, channel="SALESMAN", type="TASK", scheduled_at=None)
    keys = slot_keys(tenant.id)
    for key in keys:
        cache.add(key, "held-by-another-worker", timeout=30)
    try:
        response = admin_api.post(f"/api/activities/tasks/{task.id}/dispatch")
    finally:
        cache.delete_many(keys)

    assert response.status_code == 429
    assert response.json() == {"statusCode": 429, "error": "Too Many Requests",
                               "message": "This tenant already has 2 outbound calls in flight; try again when "
                                          "they finish"}
    assert stub.requests == []
    assert Activity.objects.get(pk=task.pk).dispatch_attempt_count == 0


# serialized_rollback: the flush after a transactional test would otherwise drop what migrations seed (roles).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_third_concurrent_test_of_one_tenant_is_429_at_once_while_other_tenants_go_on(stub, settings, api_as):
    settings.OUTBOUND_REQUESTS_PER_TENANT = 2
    settings.OUTBOUND_REQUEST_TIMEOUT_SECONDS = 5
    slow_tenant, other_tenant = TenantFactory(), TenantFactory()
    slow_config = factories.config(slow_tenant, channel="SALESMAN", base_url=stub.url)
    fast = StubProvider().start()
    other_config = factories.config(other_tenant, channel="SALESMAN", base_url=fast.url)
    slow_admin, other_admin = member(slow_tenant, "ADMIN"), member(other_tenant, "ADMIN")
    clients = [api_as(slow_admin, slow_tenant) for _ in range(3)]
    other = api_as(other_admin, other_tenant)
    stub.set("slow", delay=1.5)
    results = {}

    def call(index):
        try:
            results[index] = clients[index].post(f"/api/dispatch-configs/{slow_config.id}/test")
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(index,)) for index in (0, 1)]
    try:
        # One after the other: SQLite's database cache may refuse two slot writes racing in the same instant
        # (a locked database reads as "slot taken"); what is tested is two calls in flight and a third refused.
        for expected, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 5
            while len(stub.requests) < expected and time.monotonic() < deadline:
                time.sleep(0.01)
        assert len(stub.requests) == 2, {i: (r.status_code, r.content[:200]) for i, r in results.items()}

        started = time.monotonic()
        third = clients[2].post(f"/api/dispatch-configs/{slow_config.id}/test")
        refused_in = time.monotonic() - started
        theirs = other.post(f"/api/dispatch-configs/{other_config.id}/test")
        for thread in threads:
            thread.join(timeout=10)
    finally:
        fast.stop()

    assert third.status_code == 429 and refused_in < 0.5
    assert third.json()["error"] == "Too Many Requests"
    assert len(stub.requests) == 2  # the refused call never reached the provider
    assert theirs.status_code == 200 and theirs.json()["ok"] is True
    assert [results[index].status_code for index in (0, 1)] == [200, 200]
    assert all(results[index].json()["ok"] is True for index in (0, 1))
    # Released once the calls ended: the slots are free and the next call goes through.
    assert all(cache.get(key) is None for key in slot_keys(slow_tenant.id))
    stub.set("accept")
    assert clients[2].post(f"/api/dispatch-configs/{slow_config.id}/test").json()["ok"] is True


@pytest.mark.django_db
def test_an_email_configs_smtp_host_is_an_outbound_address_too(admin_api, settings):
    provider = factories.provider(protocol_type="EMAIL", channels=("EMAIL",), credential_schema=[], settings_schema=[
        {"key": "host", "label": "SMTP host", "type": "string", "required": True},
        {"key": "port", "label": "SMTP port", "type": "number", "required": False}])
    settings.RETEN_ALLOW_PRIVATE_URLS = False

    response = admin_api.post("/api/dispatch-configs", {
        "dispatch_provider_id": str(provider.id), "channel": "EMAIL",
        "settings": {"host": "127.0.0.1", "port": 25}})

    assert response.status_code == 400
    assert response.json()["details"] == {
        "settings.host": ["Not an allowed outbound host: the host resolves to a loopback address."]}
    assert DispatchConfig.objects.count() == 0


def test_smtp_connects_are_vetted_too(smtp, settings):
    from dispatch.protocols import ProviderError
    from dispatch.protocols.email import EmailProtocol
    from dispatch.tests.test_protocols import email_config, payload

    settings.RETEN_ALLOW_PRIVATE_URLS = False  # the stub SMTP server listens on 127.0.0.1
    with pytest.raises(ProviderError) as caught:
        EmailProtocol().send(payload(), email_config(smtp))
    assert caught.value.code == "URL_NOT_ALLOWED"
    assert smtp.received == []
