"""SPEC 10 "Outbound URLs": what Reten refuses to call, at input (400 naming the field) and at connect time.

The suite runs with RETEN_ALLOW_PRIVATE_URLS / RETEN_ALLOW_INSECURE_URLS on (its stubs listen on 127.0.0.1 over
http); these tests turn the address checks off with `settings`. Names are resolved through `fake_dns`, a table
that replaces reten.urlsafety.resolve_host (the resolver hook Reten owns), so "a public name" needs no network.
"""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from activities.models import AttributeKey, AttributePolicy, AttributeResolutionStatus, ResolverType, StatusEvent
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.tests import factories
from dispatch.tests.stub_provider import StubProvider
from reten import urlsafety

PUBLIC_IP = "93.184.215.14"

REFUSED = [
    "http://127.0.0.1/",
    "http://127.8.9.10:8080/health",
    "http://[::1]/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://100.64.0.1/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://240.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./",
    "http://metadata/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://localhost:8000/",
    "http://loopback.example/",
    "http://internal.example/",
    "http://mixed.example/",
    "http://nowhere.example/",
    "ftp://provider.example/",
    "file:///etc/passwd",
    "not a url",
]
ALLOWED = [
    "https://provider.example/v1",
    f"http://{PUBLIC_IP}/",
    "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
    f"http://[::ffff:{PUBLIC_IP}]/",
]
# What the API endpoints are fed: URLs Django's own URL validator accepts, so the refusal is urlsafety's.
REFUSED_THROUGH_THE_API = [
    "http://127.0.0.1:8000/", "http://[::1]/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/", "http://metadata.google.internal/",
    "http://localhost:8000/", "http://loopback.example/", "http://[::ffff:127.0.0.1]/", "http://0177.0.0.1/",
    "http://2130706433/", "http://0x7f000001/",
]


@pytest.fixture
def fake_dns(monkeypatch):
    """Names resolve through this table (a list, or a callable for answers that change); `localhost` and
    anything else not in it go to the real resolver (which does not know *.example)."""
    table = {
        "provider.example": [PUBLIC_IP],
        "loopback.example": ["127.0.0.1"],
        "internal.example": ["10.0.0.5"],
        "mixed.example": [PUBLIC_IP, "127.0.0.1"],
    }
    real = urlsafety.resolve_host

    def resolve(host, port):
        answer = table.get(host)
        if answer is None:
            if host.endswith(".example"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real(host, port)
        return answer() if callable(answer) else list(answer)

    monkeypatch.setattr(urlsafety, "resolve_host", resolve)
    return table


@pytest.fixture
def stub():
    """The dispatch suite's stub provider on 127.0.0.1 (records every request)."""
    server = StubProvider().start()
    yield server
    server.stop()


@pytest.fixture
def checks_on(settings, fake_dns):
    """Address checks on (as in production); plain http still allowed so the table tests addresses only."""
    settings.RETEN_ALLOW_PRIVATE_URLS = False
    settings.RETEN_ALLOW_INSECURE_URLS = True
    return settings


# --- the decision itself --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", REFUSED)
def test_refused_urls(checks_on, url):
    with pytest.raises(urlsafety.UrlNotAllowed):
        urlsafety.check_url(url)
    assert urlsafety.url_problem(url).startswith("Not an allowed outbound URL: ")


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed_urls(checks_on, url):
    assert urlsafety.url_problem(url) is None


def test_localhost_really_resolves_to_loopback_and_is_refused(checks_on):
    assert "127.0.0.1" in urlsafety.resolve_host("localhost", 80)
    assert urlsafety.url_problem("http://localhost/") == (
        "Not an allowed outbound URL: the host resolves to a loopback address.")


def test_https_is_required_outside_debug_unless_insecure_urls_are_allowed(checks_on):
    checks_on.RETEN_ALLOW_INSECURE_URLS = False
    checks_on.DEBUG = False
    assert urlsafety.url_problem("http://provider.example/") == "Not an allowed outbound URL: https is required."
    assert urlsafety.url_problem("https://provider.example/") is None
    checks_on.DEBUG = True
    assert urlsafety.url_problem("http://provider.example/") is None


def test_allowing_private_urls_lifts_the_address_checks_but_not_metadata_nor_odd_spellings(settings, fake_dns):
    settings.RETEN_ALLOW_PRIVATE_URLS = True
    for url in ("http://127.0.0.1:8000/", "http://10.1.2.3/", "http://[::1]/", "http://localhost/",
                "http://loopback.example/"):
        assert urlsafety.url_problem(url) is None, url
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://metadata.google.internal/",
                "http://[::ffff:169.254.169.254]/", "http://100.100.100.200/", "http://0x7f000001/",
                "http://2130706433/"):
        assert urlsafety.url_problem(url) is not None, url


# --- every field that takes a URL, through the real endpoints --------------------------------------------------

@pytest.fixture
def yom(db):
    return DispatchProvider.objects.get(code="YOM")


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED_THROUGH_THE_API)
def test_dispatch_config_base_url_is_refused_on_create_and_patch(checks_on, admin_api, tenant, yom, url):
    created = admin_api.post("/api/dispatch-configs", {
        "dispatch_provider_id": str(yom.id), "channel": "SALESMAN", "base_url": url,
        "credentials": {"apiKey": "sk_live_x"}})
    assert created.status_code == 400, created.json()
    assert created.json()["message"].startswith("Validation failed: base_url: ")
    assert list(created.json()["details"]) == ["base_url"]
    assert DispatchConfig.objects.count() == 0

    config = factories.config(tenant, channel="CALLCENTER", base_url="https://provider.example")
    patched = admin_api.patch(f"/api/dispatch-configs/{config.id}",
                              {"base_url": url, "credentials": {"apiKey": "sk_live_y"}})
    assert patched.status_code == 400, patched.json()
    assert list(patched.json()["details"]) == ["base_url"]
    assert DispatchConfig.objects.get(pk=config.pk).base_url == "https://provider.example"


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED_THROUGH_THE_API)
def test_attribute_policy_hook_url_is_refused(checks_on, admin_api, url):
    response = admin_api.post("/api/activity-config/attribute-policies",
                              {"key": "last_order", "resolver_type": "CLIENT_HOOK", "hook_url": url})
    assert response.status_code == 400, response.json()
    assert list(response.json()["details"]) == ["hook_url"]
    assert AttributePolicy.objects.count() == 0


@pytest.mark.django_db
def test_public_urls_are_accepted_by_the_endpoints(checks_on, admin_api, yom):
    created = admin_api.post("/api/dispatch-configs", {
        "dispatch_provider_id": str(yom.id), "channel": "SALESMAN", "base_url": "https://provider.example/v1",
        "credentials": {"apiKey": "sk_live_x"}})
    hook = admin_api.post("/api/activity-config/attribute-policies", {
        "key": "last_order", "resolver_type": "CLIENT_HOOK", "hook_url": "https://provider.example/hook"})
    assert (created.status_code, hook.status_code) == (201, 201)


# --- at connect time ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_url_stored_while_checks_were_off_is_refused_at_connect_time(settings, admin_api, tenant, stub):
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url)  # stored with private URLs allowed
    activity = factories.activity(tenant, channel="SALESMAN", type="TASK")
    settings.RETEN_ALLOW_PRIVATE_URLS = False

    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test")
    now = admin_api.post(f"/api/activities/tasks/{activity.id}/dispatch")

    assert tested.status_code == 200
    assert tested.json() == {"ok": False, "errorCode": "URL_NOT_ALLOWED", "latencyMs": tested.json()["latencyMs"],
                             "error": "The provider's URL is not allowed: the host resolves to a loopback address"}
    assert now.status_code == 502 and now.json()["errorCode"] == "URL_NOT_ALLOWED"
    assert stub.requests == []  # no connection was made at all
    # A refused URL is permanent (SPEC 11.2): the activity fails at once, the cause as the error code.
    assert list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "error_code")) == [
        ("DISPATCH_ATTEMPT_FAILED", "URL_NOT_ALLOWED"), ("DISPATCH_FAILED", "URL_NOT_ALLOWED")]


@pytest.mark.django_db
def test_dns_rebinding_is_refused_at_connect_time(checks_on, fake_dns, admin_api, yom, stub):
    answers = iter([[PUBLIC_IP]])
    fake_dns["rebind.example"] = lambda: next(answers, ["127.0.0.1"])  # public when checked, loopback later
    port = stub.server.server_address[1]
    created = admin_api.post("/api/dispatch-configs", {
        "dispatch_provider_id": str(yom.id), "channel": "SALESMAN", "base_url": f"http://rebind.example:{port}",
        "credentials": {"apiKey": "sk_live_x"}})
    assert created.status_code == 201

    tested = admin_api.post(f"/api/dispatch-configs/{created.json()['id']}/test").json()

    assert (tested["ok"], tested["errorCode"]) == (False, "URL_NOT_ALLOWED")
    assert stub.requests == []


@pytest.mark.django_db
def test_the_connection_goes_to_the_address_that_was_vetted(fake_dns, admin_api, tenant, stub):
    # Only Reten's resolver knows this name: reaching the stub proves the vetted IP is what was dialled.
    fake_dns["stub.example"] = ["127.0.0.1"]
    port = stub.server.server_address[1]
    config = factories.config(tenant, channel="SALESMAN", base_url=f"http://stub.example:{port}")

    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test").json()

    assert tested["ok"] is True
    [request] = stub.requests
    assert request.headers["host"] == f"stub.example:{port}"


@pytest.mark.django_db
def test_plain_http_is_refused_at_connect_time_when_insecure_urls_are_off(settings, admin_api, tenant, stub):
    config = factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    settings.RETEN_ALLOW_INSECURE_URLS = False

    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test").json()

    assert (tested["ok"], tested["errorCode"]) == (False, "URL_NOT_ALLOWED")
    assert stub.requests == []


class Redirector:
    """Answers every request with 302 to `location`."""

    def __init__(self, location):
        class Handler(BaseHTTPRequestHandler):
            def _redirect(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _redirect

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redirector(stub):
    server = Redirector(stub.url + "/health")
    yield server
    server.close()


@pytest.mark.django_db
def test_a_redirect_to_loopback_is_not_followed(fake_dns, admin_api, tenant, stub, redirector):
    fake_dns["redirect.example"] = ["127.0.0.1"]
    port = redirector.server.server_address[1]
    config = factories.config(tenant, channel="SALESMAN", base_url=f"http://redirect.example:{port}")
    activity = factories.activity(tenant, channel="SALESMAN", type="TASK")

    tested = admin_api.post(f"/api/dispatch-configs/{config.id}/test").json()
    now = admin_api.post(f"/api/activities/tasks/{activity.id}/dispatch")

    assert tested == {"ok": False, "statusCode": 302, "errorCode": "PROVIDER_HTTP_302",
                      "error": "Provider answered HTTP 302 (redirects are not followed)",
                      "latencyMs": tested["latencyMs"]}
    assert now.status_code == 502 and now.json()["errorCode"] == "PROVIDER_HTTP_302"
    assert stub.requests == []  # the redirect target never heard from us


# --- CLIENT_HOOK ------------------------------------------------------------------------------------------------

@pytest.fixture
def hook_policy(tenant):
    def build(url):
        return AttributePolicy.objects.create(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                                              resolver_type=ResolverType.CLIENT_HOOK, hook_url=url)

    return build


def _create_activity_with_hook_attribute(admin_api, tenant):
    from activities.models import Activity
    from activities.tests.factories import commerce_with_rep

    commerce = commerce_with_rep(tenant)
    response = admin_api.post("/api/activities", {
        "commerce_id": str(commerce.pk), "type": "MESSAGE", "channel": "WHATSAPP", "reason": "Promo",
        "idempotency_key": "hook-1", "scheduled_at": "2025-01-16T09:00:00.000Z",
        "attributes": [{"key": "last_order"}]})
    assert response.status_code == 201, response.json()
    return Activity.objects.get(pk=response.json()["id"])


@pytest.mark.django_db
def test_a_client_hook_on_a_stored_internal_url_is_not_called(settings, admin_api, tenant, stub, hook_policy):
    hook_policy(stub.url + "/hook")  # stored while private URLs were allowed
    settings.RETEN_ALLOW_PRIVATE_URLS = False

    activity = _create_activity_with_hook_attribute(admin_api, tenant)

    attribute = activity.attributes.get(attribute_key__key="last_order")
    assert attribute.resolution_status == AttributeResolutionStatus.FAILED
    assert attribute.error_message == "hook URL not allowed: the host resolves to a loopback address"
    assert attribute.value is None
    assert stub.requests == []  # no tenant data was POSTed to the internal address


@pytest.mark.django_db
def test_a_client_hook_redirect_is_not_followed(admin_api, tenant, stub, redirector, hook_policy):
    hook_policy(redirector.url + "/hook")

    activity = _create_activity_with_hook_attribute(admin_api, tenant)

    attribute = activity.attributes.get(attribute_key__key="last_order")
    assert (attribute.resolution_status, attribute.error_message) == (AttributeResolutionStatus.FAILED,
                                                                      "hook answered HTTP 302")
    assert stub.requests == []


def test_the_refusal_names_no_resolved_address(checks_on):
    """A caller learns that a name is not public, not which internal address it has."""
    assert urlsafety.url_problem("http://internal.example/") == (
        "Not an allowed outbound URL: the host resolves to a private address.")
