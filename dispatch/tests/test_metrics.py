"""SPEC 14: GET /metrics in the Prometheus format, behind METRICS_TOKEN, with Reten's own metrics after a pass."""
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from activities.models import Activity
from dispatch.services import dispatch_pass
from dispatch.tests import factories
from reten import metrics
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-scrape-token-123"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_names_and_labels_are_present_after_a_dispatch_pass(client, token, tenant, stub, refused_url, fast_retries):
    sms = factories.config(tenant, channel="SMS", base_url=stub.url)
    email = factories.config(tenant, channel="EMAIL", base_url=refused_url)
    provider = sms.provider.code
    before_ok = sample("reten_dispatch_attempts_total", provider=provider, channel="SMS", outcome="dispatched")
    before_retry = sample("reten_dispatch_attempts_total", provider=email.provider.code, channel="EMAIL",
                          outcome="retrying")
    before_latency = sample("reten_ready_to_dispatched_seconds_count")
    sent = factories.activity(tenant, channel="SMS")
    Activity.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(seconds=90))
    factories.activity(tenant, channel="EMAIL")
    other = TenantFactory()
    for _ in range(3):
        factories.activity(other, channel="WHATSAPP")  # due, no config: never attempted
    factories.activity(other, channel="WHATSAPP", scheduled_at=timezone.now() + timedelta(hours=1))  # not due

    report = dispatch_pass()
    assert (report.dispatched, report.retrying) == (1, 1)

    families = scrape(client)
    attempts = {tuple(sorted(s.labels.items())): s.value for s in families["reten_dispatch_attempts"].samples
                if s.name == "reten_dispatch_attempts_total"}
    assert attempts[(("channel", "SMS"), ("outcome", "dispatched"), ("provider", provider))] == before_ok + 1
    assert attempts[(("channel", "EMAIL"), ("outcome", "retrying"), ("provider", email.provider.code))] == (
        before_retry + 1)
    assert families["reten_ready_to_dispatched_seconds"].type == "histogram"
    assert sample("reten_ready_to_dispatched_seconds_count") == before_latency + 1
    assert sample("reten_ready_to_dispatched_seconds_bucket", le="60.0") < sample(
        "reten_ready_to_dispatched_seconds_bucket", le="120.0")  # the 90 s just observed
    due = {s.labels["tenant"]: s.value for s in families["reten_activities_due"].samples}
    # The EMAIL activity waits for its retry (fast_retries: due again at once) and the 3 WHATSAPP ones are due.
    assert due[str(other.id)] == 3
    assert families["reten_activities_due"].type == "gauge"
    for name in ("reten_results", "reten_receipts", "reten_webhook_deliveries"):
        assert families[name].type == "counter"
    assert {"django_http_requests_total_by_method", "django_db_execute"} <= set(families)


def test_the_counters_for_receipts_and_webhooks_take_their_labels(client, token):
    before = sample("reten_receipts_total", status="DELIVERED"), sample("reten_webhook_deliveries_total",
                                                                       outcome="delivered")
    metrics.receipt_stored(status="DELIVERED")
    metrics.webhook_delivery(outcome="delivered")
    families = scrape(client)
    receipts = {s.labels["status"]: s.value for s in families["reten_receipts"].samples
                if s.name == "reten_receipts_total"}
    webhooks = {s.labels["outcome"]: s.value for s in families["reten_webhook_deliveries"].samples
                if s.name == "reten_webhook_deliveries_total"}
    assert (receipts["DELIVERED"], webhooks["delivered"]) == (before[0] + 1, before[1] + 1)


class TestToken:
    def test_the_right_bearer_token_is_served(self, client, token):
        assert "reten_activities_due" in scrape(client)

    @pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, "Bearer "])
    def test_a_missing_or_wrong_token_is_401(self, client, token, header):
        extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
        response = client.get("/metrics", **extra)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"reten_" not in response.content

    def test_without_a_token_it_does_not_exist_outside_debug(self, client, settings):
        settings.METRICS_TOKEN = ""
        settings.DEBUG = False
        response = client.get("/metrics")
        assert response.status_code == 404 and b"reten_" not in response.content

    def test_without_a_token_it_is_open_with_debug(self, client, settings):
        settings.METRICS_TOKEN = ""
        settings.DEBUG = True
        response = client.get("/metrics")
        assert response.status_code == 200 and b"reten_activities_due" in response.content

    def test_only_get_is_allowed(self, client, token):
        assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_a_scrape_costs_one_aggregate_query_whatever_the_tenants(client, token, django_assert_num_queries):
    for _ in range(3):
        tenant = TenantFactory()
        for _ in range(2):
            factories.activity(tenant, channel="SMS")
    with django_assert_num_queries(1) as captured:
        families = scrape(client)
    assert "GROUP BY" in captured.captured_queries[0]["sql"]
    assert sorted(s.value for s in families["reten_activities_due"].samples) == [2, 2, 2]
