"""SPEC 11.1 (attempt rows) and 11.2 (retryable or permanent, Retry-After) against a real stub on 127.0.0.1."""
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from dispatch.models import DispatchAttempt
from dispatch.protocols import ProviderError
from dispatch.protocols.http import retry_after_seconds
from dispatch.services import dispatch_pass
from dispatch.services.classification import classify
from dispatch.tests import factories
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

S = ActivityStatus


@pytest.fixture
def sms_config(tenant, stub):
    return factories.config(tenant, channel="SMS", base_url=stub.url)


def attempts_of(activity):
    return list(DispatchAttempt.objects.filter(activity=activity).order_by("started_at")
                .values_list("attempt", "outcome", "http_status", "error_code"))


# --- 11.2: the classification table ----------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "status", "outcome"), [
    ("TIMEOUT", None, "TIMEOUT"),
    ("CONNECTION_REFUSED", None, "CONNECTION"),
    ("CONNECTION_ERROR", None, "CONNECTION"),
    ("DNS_ERROR", None, "CONNECTION"),
    ("TLS_ERROR", None, "CONNECTION"),
    ("INVALID_RESPONSE", 200, "RETRYABLE"),
    ("MOCK_FAILURE", None, "RETRYABLE"),
    ("INTERNAL_ERROR", None, "RETRYABLE"),
    ("CREDENTIALS_ERROR", None, "RETRYABLE"),
    ("SMTP_ERROR", None, "RETRYABLE"),
    ("PROVIDER_HTTP_408", 408, "RETRYABLE"),
    ("PROVIDER_HTTP_425", 425, "RETRYABLE"),
    ("PROVIDER_HTTP_429", 429, "RETRYABLE"),
    ("PROVIDER_HTTP_500", 500, "RETRYABLE"),
    ("PROVIDER_HTTP_502", 502, "RETRYABLE"),
    ("PROVIDER_HTTP_503", 503, "RETRYABLE"),
    ("PROVIDER_HTTP_599", 599, "RETRYABLE"),
    ("PROVIDER_HTTP_301", 301, "PERMANENT"),
    ("PROVIDER_HTTP_400", 400, "PERMANENT"),
    ("PROVIDER_HTTP_401", 401, "PERMANENT"),
    ("PROVIDER_HTTP_403", 403, "PERMANENT"),
    ("PROVIDER_HTTP_404", 404, "PERMANENT"),
    ("PROVIDER_HTTP_409", 409, "PERMANENT"),
    ("PROVIDER_HTTP_422", 422, "PERMANENT"),
    ("NO_RECIPIENT", None, "PERMANENT"),
    ("PAYLOAD_INVALID", None, "PERMANENT"),
    ("URL_NOT_ALLOWED", None, "PERMANENT"),
    ("SMTP_AUTH_FAILED", None, "PERMANENT"),
])
def test_classification_table(code, status, outcome):
    assert classify(ProviderError("x", code=code, status_code=status)).outcome == outcome


def test_retry_after_counts_only_on_429_and_503_and_is_capped(settings):
    settings.DISPATCH_MAX_RETRY_AFTER_SECONDS = 600
    assert classify(ProviderError("x", code="PROVIDER_HTTP_429", status_code=429, retry_after=120)).retry_after == 120
    assert classify(ProviderError("x", code="PROVIDER_HTTP_503", status_code=503, retry_after=9999)).retry_after == 600
    assert classify(ProviderError("x", code="PROVIDER_HTTP_500", status_code=500, retry_after=120)).retry_after is None
    assert classify(ProviderError("x", code="PROVIDER_HTTP_429", status_code=429)).retry_after is None


def test_retry_after_reads_seconds_and_http_dates():
    now = timezone.now().replace(microsecond=0)
    assert retry_after_seconds("120", now=now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=300), usegmt=True), now=now) == 300
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds("", now=now) is None
    assert retry_after_seconds(None, now=now) is None


def test_the_cap_is_validated_at_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from reten.env import env_int

    monkeypatch.setenv("DISPATCH_MAX_RETRY_AFTER_SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match="DISPATCH_MAX_RETRY_AFTER_SECONDS must be at least 1"):
        env_int("DISPATCH_MAX_RETRY_AFTER_SECONDS", 3600, minimum=1, maximum=7 * 24 * 3600)
    import subprocess
    import sys

    from django.conf import settings as django_settings

    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], capture_output=True, text=True,
                            env={"DJANGO_SETTINGS_MODULE": "reten.settings", "DEBUG": "true",
                                 "DISPATCH_MAX_RETRY_AFTER_SECONDS": "-5", "PATH": "/usr/bin:/bin",
                                 "PYTHONPATH": str(django_settings.BASE_DIR)}, cwd=str(django_settings.BASE_DIR))
    assert result.returncode != 0
    assert "DISPATCH_MAX_RETRY_AFTER_SECONDS must be at least 1" in result.stderr


# --- 11.1 + 11.2 through the dispatcher ------------------------------------------------------------------------

def test_an_accepted_call_is_one_attempt_row(tenant, stub, sms_config):
    activity = factories.activity(tenant, channel="SMS")

    assert dispatch_pass().dispatched == 1

    [row] = DispatchAttempt.objects.filter(activity=activity)
    assert (row.attempt, row.outcome, row.http_status, row.error_code) == (1, "ACCEPTED", 201, "")
    assert row.provider_activity_id == f"prov-{activity.pk}" and row.dispatch_config_id == sms_config.pk
    assert row.duration_ms >= 0 and row.started_at <= timezone.now()


def test_a_5xx_is_retryable_one_row_per_attempt_until_the_last(tenant, stub, sms_config, fast_retries):
    stub.answer(500)
    activity = factories.activity(tenant, channel="SMS")

    for _ in range(3):
        dispatch_pass()

    assert Activity.objects.get(pk=activity.pk).status == S.FAILED
    assert attempts_of(activity) == [(n, "RETRYABLE", 500, "PROVIDER_HTTP_500") for n in (1, 2, 3)]
    assert len(stub.activity_requests()) == 3


def test_a_permanent_4xx_fails_at_once_naming_the_cause(tenant, stub, sms_config, fast_retries):
    stub.answer(422)
    activity = factories.activity(tenant, channel="SMS")

    report = dispatch_pass()

    activity = Activity.objects.get(pk=activity.pk)
    assert report.failed == 1 and report.retrying == 0
    assert activity.status == S.FAILED and activity.failed_by == EventType.DISPATCH_FAILED
    assert activity.can_force_retry_dispatch and activity.next_attempt_at is None
    assert attempts_of(activity) == [(1, "PERMANENT", 422, "PROVIDER_HTTP_422")]
    assert list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "error_code")) == [
        (EventType.DISPATCH_ATTEMPT_FAILED, "PROVIDER_HTTP_422"), (EventType.DISPATCH_FAILED, "PROVIDER_HTTP_422")]
    dispatch_pass()
    assert len(stub.activity_requests()) == 1  # no attempt burned on a request that cannot succeed


def test_a_missing_recipient_is_permanent(tenant, stub):
    gateway = factories.provider(protocol_type="SMS", channels=("SMS",))
    factories.config(tenant, channel="SMS", base_url=stub.url, provider_obj=gateway)
    commerce, person = factories.commerce_with_person(tenant, contacts=(("EMAIL", "only@example.com"),))
    activity = factories.activity(tenant, channel="SMS", commerce=commerce, person=person)

    dispatch_pass()

    assert Activity.objects.get(pk=activity.pk).status == S.FAILED
    assert attempts_of(activity) == [(1, "PERMANENT", None, "NO_RECIPIENT")]
    assert stub.activity_requests() == []


def test_a_timeout_and_a_refused_connection_are_retryable_rows(tenant, stub, fast_retries, refused_url):
    other = TenantFactory()
    factories.config(tenant, channel="SMS", base_url=stub.url)
    factories.config(other, channel="SMS", base_url=refused_url)
    stub.set("slow", delay=2.0)
    slow = factories.activity(tenant, channel="SMS")
    refused = factories.activity(other, channel="SMS")

    report = dispatch_pass()

    assert report.retrying == 2
    assert attempts_of(slow) == [(1, "TIMEOUT", None, "TIMEOUT")]
    assert attempts_of(refused) == [(1, "CONNECTION", None, "CONNECTION_REFUSED")]
    assert Activity.objects.get(pk=slow.pk).status == S.READY == Activity.objects.get(pk=refused.pk).status


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_sets_the_next_attempt(tenant, stub, sms_config, status):
    stub.answer(status, {"Retry-After": "900"})
    activity = factories.activity(tenant, channel="SMS")
    before = timezone.now()

    dispatch_pass()

    activity = Activity.objects.get(pk=activity.pk)
    assert activity.status == S.READY
    assert before + timedelta(seconds=899) <= activity.next_attempt_at <= timezone.now() + timedelta(seconds=901)
    assert attempts_of(activity) == [(1, "RETRYABLE", status, f"PROVIDER_HTTP_{status}")]


def test_retry_after_as_a_date_and_the_cap(tenant, stub, sms_config, settings):
    settings.DISPATCH_MAX_RETRY_AFTER_SECONDS = 1800
    first = factories.activity(tenant, channel="SMS")
    stub.answer(503, {"Retry-After": format_datetime(timezone.now() + timedelta(seconds=1200), usegmt=True)})
    dispatch_pass()
    first = Activity.objects.get(pk=first.pk)
    delay = (first.next_attempt_at - timezone.now()).total_seconds()
    assert 1190 <= delay <= 1201

    second = factories.activity(tenant, channel="SMS")
    stub.answer(429, {"Retry-After": "86400"})
    dispatch_pass()
    delay = (Activity.objects.get(pk=second.pk).next_attempt_at - timezone.now()).total_seconds()
    assert 1790 <= delay <= 1800  # capped at DISPATCH_MAX_RETRY_AFTER_SECONDS


def test_the_attempt_message_is_reten_s_not_the_provider_body(tenant, stub, sms_config):
    stub.answer(400)
    activity = factories.activity(tenant, channel="SMS")
    dispatch_pass()
    row = DispatchAttempt.objects.get(activity=activity)
    assert row.error_message == "Provider answered HTTP 400" and "provider says no" not in row.error_message


def test_attempt_rows_add_no_query_per_activity(tenant, stub, sms_config, django_assert_max_num_queries, settings):
    settings.DISPATCH_CONCURRENCY = 1
    factories.due_activities(tenant, 5)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as five:
        dispatch_pass()
    factories.due_activities(tenant, 20)
    with CaptureQueriesContext(connection) as twenty:
        dispatch_pass()
    inserts = [q["sql"] for q in twenty.captured_queries if 'INSERT INTO "dispatch_dispatchattempt"' in q["sql"]]
    assert len(inserts) == 1
    assert DispatchAttempt.objects.count() == 25
    assert len(twenty.captured_queries) - len(five.captured_queries) <= 3


# --- the endpoint -----------------------------------------------------------------------------------------------

def test_dispatch_attempts_endpoint_lists_the_calls_oldest_first(tenant, stub, sms_config, admin_api, fast_retries,
                                                                   api_as, other_tenant):
    from tenants.tests.factories import member

    stub.answer(500)
    activity = factories.activity(tenant, channel="SMS")
    dispatch_pass()
    stub.set("accept")
    dispatch_pass()

    response = admin_api.get(f"/api/activities/{activity.pk}/dispatch-attempts")
    assert response.status_code == 200
    body = response.json()
    assert [(a["attempt"], a["outcome"], a["httpStatus"], a["errorCode"]) for a in body] == [
        (1, "RETRYABLE", 500, "PROVIDER_HTTP_500"), (2, "ACCEPTED", 201, "")]
    assert set(body[0]) == {"id", "activityId", "attempt", "dispatchConfigId", "startedAt", "durationMs", "outcome",
                            "httpStatus", "errorCode", "errorMessage", "providerActivityId"}
    assert body[1]["providerActivityId"] == f"prov-{activity.pk}"
    stranger = api_as(member(other_tenant, "ADMIN"), other_tenant)
    assert stranger.get(f"/api/activities/{activity.pk}/dispatch-attempts").status_code == 404
    assert admin_api.get("/api/activities/not-a-uuid/dispatch-attempts").status_code in (400, 404)
