"""The dispatcher of SPEC 5.3 against a real stub provider on 127.0.0.1."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from commerces.models import CommerceUserRole, CommerceUserRoleAssignment
from dispatch.models import DispatchProvider
from dispatch.services import dispatch_pass
from dispatch.services.dispatcher import Claim, DispatchReport, OutcomeRecorder, backoff_seconds, process_claims
from dispatch.tests import factories
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

S = ActivityStatus


def events_of(activity):
    return list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "from_status", "to_status", "error_code"))


@pytest.fixture
def sms_config(tenant, stub):
    return factories.config(tenant, channel="SMS", base_url=stub.url)


def test_a_pass_dispatches_due_activities_and_records_the_provider_id(tenant, stub, sms_config):
    activity = factories.activity(tenant, channel="SMS", score=5)

    report = dispatch_pass()

    assert report.as_dict() == {"tenants": 1, "claimed": 1, "dispatched": 1, "retrying": 0, "failed": 0,
                                "unresolved": 0, "noConfig": 0, "released": 0, "superseded": 0}
    activity = Activity.objects.get(pk=activity.pk)
    assert activity.status == S.DISPATCHED
    assert activity.provider_activity_id == f"prov-{activity.id}"
    assert activity.dispatch_config_id == sms_config.id
    assert activity.dispatched_at is not None and activity.next_attempt_at is None
    assert activity.dispatch_attempt_count == 1
    assert events_of(activity) == [(EventType.DISPATCH_SUCCESS, "READY", "DISPATCHED", "")]
    assert StatusEvent.objects.get(activity=activity).actor_type == "SYSTEM"


def test_the_provider_receives_the_documented_payload(tenant, stub, sms_config):
    scheduled_at = datetime(2025, 1, 16, 9, 0, 0, 123456, tzinfo=UTC)
    activity = factories.activity(tenant, channel="SMS", score=5, scheduled_at=scheduled_at)
    assignment = activity.commerce_assignment
    person = activity.target_users.get().commerce_user

    dispatch_pass()

    [request] = stub.activity_requests()
    assert request.path == "/activities"
    assert request.headers["idempotency-key"] == str(activity.id)
    assert request.headers["x-api-key"] == "sk_live_test_secret_value_123"
    assert request.json == {
        "activityId": str(activity.id), "tenantId": str(tenant.id), "type": "MESSAGE", "channel": "SMS",
        "reason": activity.reason,
        "scheduledAt": "2025-01-16T09:00:00.123Z",
        "suggestedExecutionTime": None, "score": 5, "userStatus": None, "attempt": 1,
        "commerce": {"id": str(assignment.commerce.id), "externalId": assignment.commerce.external_id,
                     "name": assignment.commerce.name, "taxId": assignment.commerce.tax_id},
        "targetUsers": [{"id": str(person.id), "firstName": "Rosa", "lastName": person.last_name, "contacts": [
            {"type": "PHONE", "value": "+56911112222"}, {"type": "EMAIL", "value": "rosa@example.com"},
            {"type": "WHATSAPP", "value": "+56933334444"}]}],
        "attributes": {},
        "task": None,
    }


def test_task_payload_carries_route_and_operator(tenant, stub):
    factories.config(tenant, channel="SALESMAN", base_url=stub.url)
    activity = factories.activity(tenant, channel="SALESMAN", type="TASK")
    details = activity.task_details

    dispatch_pass()

    assert stub.activity_requests()[0].json["task"] == {
        "routeCode": details.route.code, "operatorExternalId": details.operator.external_id,
        "operatorName": details.operator.name}


def test_only_due_activities_are_claimed(tenant, stub, sms_config, settings):
    now = timezone.now()
    due = factories.activity(tenant, channel="SMS", scheduled_at=now - timedelta(seconds=1))
    later = factories.activity(tenant, channel="SMS", scheduled_at=now + timedelta(minutes=10))
    waiting = factories.activity(tenant, channel="SMS")
    Activity.objects.filter(pk=waiting.pk).update(next_attempt_at=now + timedelta(minutes=1))
    canceled = factories.activity(tenant, channel="SMS")
    Activity.objects.filter(pk=canceled.pk).update(status=S.CANCELED)

    assert dispatch_pass().dispatched == 1
    assert Activity.objects.get(pk=due.pk).status == S.DISPATCHED
    for untouched in (later, waiting, canceled):
        assert Activity.objects.get(pk=untouched.pk).dispatch_attempt_count == 0

    settings.DISPATCH_LEAD_SECONDS = 15 * 60
    assert dispatch_pass().dispatched == 1
    assert Activity.objects.get(pk=later.pk).status == S.DISPATCHED


def test_a_config_lead_time_overrides_the_setting(tenant, stub):
    factories.config(tenant, channel="SMS", base_url=stub.url, settings={"leadTimeSeconds": 3600})
    soon = factories.activity(tenant, channel="SMS", scheduled_at=timezone.now() + timedelta(minutes=30))

    assert dispatch_pass().dispatched == 1
    assert Activity.objects.get(pk=soon.pk).status == S.DISPATCHED


def test_oldest_first_then_higher_score(tenant, stub, sms_config, settings):
    settings.DISPATCH_CONCURRENCY = 1
    base = timezone.now() - timedelta(hours=1)
    low = factories.activity(tenant, channel="SMS", scheduled_at=base, score=1)
    high = factories.activity(tenant, channel="SMS", scheduled_at=base, score=9)
    older = factories.activity(tenant, channel="SMS", scheduled_at=base - timedelta(minutes=1), score=0)
    newer = factories.activity(tenant, channel="SMS", scheduled_at=base + timedelta(minutes=1), score=100)

    dispatch_pass(limit=3)

    assert [r.headers["idempotency-key"] for r in stub.activity_requests()] == [
        str(older.id), str(high.id), str(low.id)]
    assert Activity.objects.get(pk=newer.pk).status == S.READY


@pytest.mark.parametrize("mode", ["error", "slow", "refused"])
def test_three_failed_attempts_end_failed_with_three_attempt_events(tenant, stub, refused_url, fast_retries, mode):
    base_url = refused_url if mode == "refused" else stub.url
    stub.set(mode if mode != "refused" else "accept", delay=2)
    factories.config(tenant, channel="SMS", base_url=base_url)
    activities = [factories.activity(tenant, channel="SMS") for _ in range(2)]

    reports = [dispatch_pass() for _ in range(4)]

    assert [(r.claimed, r.retrying, r.failed) for r in reports] == [(2, 2, 0), (2, 2, 0), (2, 0, 2), (0, 0, 0)]
    for activity in activities:
        activity = Activity.objects.get(pk=activity.pk)
        assert activity.status == S.FAILED
        assert activity.dispatch_attempt_count == 3
        assert activity.next_attempt_at is None  # not left claimed
        assert activity.last_dispatch_error
        events = events_of(activity)
        assert [e[0] for e in events] == [EventType.DISPATCH_ATTEMPT_FAILED] * 3 + [EventType.DISPATCH_FAILED]
        assert events[-1][1:3] == ("READY", "FAILED")
        expected_code = {"error": "PROVIDER_HTTP_500", "slow": "TIMEOUT", "refused": "CONNECTION_REFUSED"}[mode]
        assert {e[3] for e in events} == {expected_code}
    if mode != "refused":
        assert stub.idempotency_keys() == {str(a.id): 3 for a in activities}
    assert not Activity.objects.filter(status=S.READY).exists()


def test_a_failed_attempt_waits_an_exponential_backoff_with_jitter(tenant, stub, settings):
    settings.DISPATCH_BACKOFF_SECONDS = 30
    stub.set("error")
    factories.config(tenant, channel="SMS", base_url=stub.url)
    activity = factories.activity(tenant, channel="SMS")

    before = timezone.now()
    dispatch_pass()

    activity = Activity.objects.get(pk=activity.pk)
    assert activity.status == S.READY and activity.dispatch_attempt_count == 1
    wait = (activity.next_attempt_at - before).total_seconds()
    assert 24 - 1 <= wait <= 36 + 1
    assert dispatch_pass().claimed == 0  # not due again yet
    assert all(48 <= backoff_seconds(2) <= 72 for _ in range(50))
    assert all(96 <= backoff_seconds(3) <= 144 for _ in range(50))
    assert len({round(backoff_seconds(1), 6) for _ in range(20)}) > 1


def test_tenants_are_served_round_robin(stub, settings):
    settings.DISPATCH_CONCURRENCY = 1
    settings.DISPATCH_BATCH_SIZE = 100
    provider = factories.provider(code="RR")
    busy, quiet = TenantFactory(), TenantFactory()
    for tenant in (busy, quiet):
        factories.config(tenant, channel="SMS", base_url=stub.url, provider_obj=provider)
    factories.due_activities(busy, 250, channel="SMS")
    factories.due_activities(quiet, 3, channel="SMS")

    report = dispatch_pass()

    assert report.by_tenant[str(busy.id)]["dispatched"] == 100
    assert report.by_tenant[str(quiet.id)]["dispatched"] == 3
    tenants_in_order = [r.json["tenantId"] for r in stub.activity_requests()]
    assert tenants_in_order[:6] == [str(busy.id), str(quiet.id)] * 3
    assert Activity.objects.filter(tenant=busy, status=S.READY).count() == 150


def test_a_pass_limit_is_shared_between_tenants(stub):
    provider = factories.provider(code="LIM")
    tenants = [TenantFactory() for _ in range(2)]
    for tenant in tenants:
        factories.config(tenant, channel="SMS", base_url=stub.url, provider_obj=provider)
        factories.due_activities(tenant, 20, channel="SMS")

    report = dispatch_pass(limit=10)

    assert [report.by_tenant[str(t.id)]["dispatched"] for t in tenants] == [5, 5]


def test_no_config_skips_without_an_attempt(tenant, stub, sms_config):
    email = factories.activity(tenant, channel="EMAIL")
    push = factories.activity(tenant, channel="PUSH")

    report = dispatch_pass()

    assert report.no_config == 2 and report.claimed == 0
    for activity in (email, push):
        activity = Activity.objects.get(pk=activity.pk)
        assert (activity.status, activity.dispatch_attempt_count, activity.next_attempt_at) == (S.READY, 0, None)
        assert events_of(activity) == []
    assert stub.requests == []


def test_an_inactive_config_or_provider_counts_as_no_config(tenant, stub, sms_config):
    factories.activity(tenant, channel="SMS")
    DispatchProvider.objects.filter(pk=sms_config.provider_id).update(is_active=False)
    assert dispatch_pass().no_config == 1
    assert stub.requests == []


def test_on_dispatch_resolution_failure_moves_to_unresolved(tenant, stub, sms_config):
    commerce, _person = factories.commerce_with_person(tenant, contacts=())  # nobody reachable
    activity = factories.activity(tenant, channel="SMS", commerce=commerce, pending=True)

    report = dispatch_pass()

    assert report.unresolved == 1 and report.dispatched == 0
    activity = Activity.objects.get(pk=activity.pk)
    assert activity.status == S.UNRESOLVED
    assert (activity.dispatch_attempt_count, activity.next_attempt_at) == (0, None)
    assert [e[0] for e in events_of(activity)] == [EventType.RESOLUTION_FAILED]
    assert stub.requests == []


def test_on_dispatch_resolution_success_sends_the_resolved_person(tenant, stub, sms_config):
    commerce, person = factories.commerce_with_person(tenant)
    CommerceUserRoleAssignment.objects.create(commerce_user=person, role=CommerceUserRole.COMMERCE_REP)
    activity = factories.activity(tenant, channel="SMS", commerce=commerce, pending=True)

    assert dispatch_pass().dispatched == 1

    assert Activity.objects.get(pk=activity.pk).status == S.DISPATCHED
    [request] = stub.activity_requests()
    assert [user["id"] for user in request.json["targetUsers"]] == [str(person.id)]


def test_mock_provider_dispatches_without_network(tenant):
    mock = DispatchProvider.objects.get(code="MOCK")
    factories.config(tenant, channel="PUSH", provider_obj=mock, base_url="",
                     settings={"failureRate": 0, "latencyMs": 1})
    activity = factories.activity(tenant, channel="PUSH")

    assert dispatch_pass().dispatched == 1
    assert uuid.UUID(Activity.objects.get(pk=activity.pk).provider_activity_id)


def test_undecryptable_credentials_fail_the_attempt(tenant, stub, sms_config, fast_retries):
    from dispatch.models import DispatchConfig

    DispatchConfig.objects.filter(pk=sms_config.pk).update(credentials_encrypted="test:AAAA:BBBB")
    activity = factories.activity(tenant, channel="SMS")

    report = dispatch_pass()

    assert report.retrying == 1
    assert events_of(Activity.objects.get(pk=activity.pk))[0][3] == "CREDENTIALS_ERROR"
    assert stub.requests == []


def _claim(activity, config, *, attempt=1, send_by=None):
    import time

    Activity.objects.filter(pk=activity.pk).update(dispatch_attempt_count=attempt,
                                                   next_attempt_at=timezone.now() + timedelta(minutes=2))
    return Claim(activity_id=activity.pk, tenant_id=activity.tenant_id, attempt=attempt, config=config,
                 send_by=send_by if send_by is not None else time.monotonic() + 60)


def test_a_claim_whose_lease_ran_short_is_handed_back_unsent(tenant, stub, sms_config):
    activity = factories.activity(tenant, channel="SMS")
    report = DispatchReport()

    process_claims([_claim(activity, sms_config, send_by=0)], report=report)

    assert report.released == 1 and stub.requests == []
    activity = Activity.objects.get(pk=activity.pk)
    assert (activity.status, activity.dispatch_attempt_count, activity.next_attempt_at) == (S.READY, 0, None)


def test_an_activity_canceled_during_the_call_stays_canceled(tenant, sms_config):
    from dispatch.protocols import ProviderReceipt

    activity = factories.activity(tenant, channel="SMS")
    claim = _claim(activity, sms_config)
    Activity.objects.filter(pk=activity.pk).update(status=S.CANCELED)
    report = DispatchReport()

    recorder = OutcomeRecorder(report=report, actor=factories_system())
    recorder.add(claim, ProviderReceipt(provider_activity_id="late"))
    recorder.flush()

    assert report.superseded == 1
    activity = Activity.objects.get(pk=activity.pk)
    assert (activity.status, activity.provider_activity_id) == (S.CANCELED, None)
    assert events_of(activity) == []


def test_a_failure_reported_after_another_worker_reclaimed_is_ignored(tenant, sms_config):
    from dispatch.protocols import ProviderError

    activity = factories.activity(tenant, channel="SMS")
    claim = _claim(activity, sms_config, attempt=1)
    Activity.objects.filter(pk=activity.pk).update(dispatch_attempt_count=2)  # re-claimed after the lease
    report = DispatchReport()

    recorder = OutcomeRecorder(report=report, actor=factories_system())
    recorder.add(claim, ProviderError("late failure", code="PROVIDER_HTTP_500"))
    recorder.flush()

    assert report.superseded == 1 and events_of(activity) == []


def factories_system():
    from tenants.actors import SYSTEM

    return SYSTEM
