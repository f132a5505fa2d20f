"""SPEC 11.3 (force retry) and 11.4 (bulk operations by selection): services, API, commands."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from activities.services import activity_force_retry_dispatch
from activities.services import bulk as bulk_module
from activities.tests.factories import activity_in, commerce_with_rep, make_activity, set_status
from reten.errors import IllegalTransition
from tenants.actors import SYSTEM
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db

S = ActivityStatus


def failed_by_dispatch(commerce, **overrides):
    """FAILED the way the dispatcher fails it: through dispatch_exhausted, after three attempts."""
    activity = make_activity(commerce, **overrides)
    activity.dispatch_exhausted()
    activity.dispatch_attempt_count = 3
    activity.last_dispatch_error = "PROVIDER_HTTP_500: Provider answered HTTP 500"
    activity.save(update_fields=["status", "failed_by", "dispatch_attempt_count", "last_dispatch_error"])
    return Activity.objects.get(pk=activity.pk)


def failed_by_result(commerce):
    activity = set_status(make_activity(commerce), S.DISPATCHED)
    activity.result_not_executed()
    activity.save(update_fields=["status", "failed_by"])
    return Activity.objects.get(pk=activity.pk)


def events(activity, event_type):
    return StatusEvent.objects.filter(activity=activity, event_type=event_type).count()


# --- 11.3 force retry -------------------------------------------------------------------------------------------

def test_force_retry_puts_a_dispatch_failure_back_to_ready_with_a_fresh_round(admin_api, admin_user, commerce):
    activity = failed_by_dispatch(commerce)
    assert activity.can_force_retry_dispatch

    response = admin_api.patch(f"/api/activities/{activity.pk}/force-retry-dispatch", {"reason": "provider fixed"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "READY" and body["dispatchAttemptCount"] == 0 and body["nextAttemptAt"] is None
    assert body["canForceRetryDispatch"] is False
    activity = Activity.objects.get(pk=activity.pk)
    assert activity.failed_by == ""
    event = StatusEvent.objects.get(activity=activity, event_type=EventType.FORCE_RETRY)
    assert (event.from_status, event.to_status, event.actor_user_id, event.error_message) == (
        "FAILED", "READY", admin_user.pk, "provider fixed")


@pytest.mark.parametrize("status", [S.READY, S.UNRESOLVED, S.DISPATCHED, S.COMPLETED, S.CANCELED])
def test_force_retry_refuses_every_other_state(admin_api, commerce, status):
    activity = activity_in(commerce, status)
    response = admin_api.patch(f"/api/activities/{activity.pk}/force-retry-dispatch")
    assert response.status_code == 400
    assert Activity.objects.get(pk=activity.pk).status == status
    assert events(activity, EventType.FORCE_RETRY) == 0


def test_force_retry_refuses_a_failure_a_result_reported(admin_api, commerce):
    activity = failed_by_result(commerce)
    assert activity.failed_by == EventType.EXECUTION_FAILED and not activity.can_force_retry_dispatch

    response = admin_api.patch(f"/api/activities/{activity.pk}/force-retry-dispatch")

    assert response.status_code == 400
    assert "result" in response.json()["message"]
    assert Activity.objects.get(pk=activity.pk).status == S.FAILED
    assert events(activity, EventType.FORCE_RETRY) == 0


def test_force_retry_refuses_a_hard_override_to_failed(commerce):
    activity = make_activity(commerce)
    activity.hard_override(S.FAILED)
    activity.save(update_fields=["status", "failed_by"])
    with pytest.raises(IllegalTransition):
        activity_force_retry_dispatch(activity=activity, actor=SYSTEM)
    assert Activity.objects.get(pk=activity.pk).failed_by == EventType.HARD_OVERRIDE


def test_force_retry_needs_dispatch_activity_and_stays_in_the_tenant(api_as, tenant, other_tenant, commerce):
    activity = failed_by_dispatch(commerce)
    fde = api_as(member(tenant, "FDE"), tenant)
    assert fde.patch(f"/api/activities/{activity.pk}/force-retry-dispatch").status_code == 403
    stranger = api_as(member(other_tenant, "ADMIN"), other_tenant)
    assert stranger.patch(f"/api/activities/{activity.pk}/force-retry-dispatch").status_code == 404
    assert Activity.objects.get(pk=activity.pk).status == S.FAILED
    assert events(activity, EventType.FORCE_RETRY) == 0


def test_can_force_retry_dispatch_on_the_list_and_the_detail(admin_api, commerce):
    by_dispatch, by_result = failed_by_dispatch(commerce), failed_by_result(commerce)
    flags = {item["id"]: item["canForceRetryDispatch"] for item in admin_api.get("/api/activities").json()["data"]}
    assert flags == {str(by_dispatch.pk): True, str(by_result.pk): False}
    assert admin_api.get(f"/api/activities/{by_dispatch.pk}").json()["canForceRetryDispatch"] is True


# --- 11.4 bulk ----------------------------------------------------------------------------------------------------

def test_bulk_cancel_by_ids_reports_each_id(admin_api, commerce, other_tenant):
    ready = [make_activity(commerce) for _ in range(2)]
    done = activity_in(commerce, S.COMPLETED)
    foreign = make_activity(commerce_with_rep(other_tenant))
    ids = [str(a.pk) for a in (*ready, done, foreign)]

    response = admin_api.post("/api/activities/bulk-cancel", {"ids": ids, "reason": "campaign over"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "matched": 3, "changed": 2, "skipped": {"COMPLETED": 1, "NOT_FOUND": 1},
        "results": [{"id": ids[0], "outcome": "CHANGED"}, {"id": ids[1], "outcome": "CHANGED"},
                    {"id": ids[2], "outcome": "COMPLETED"}, {"id": ids[3], "outcome": "NOT_FOUND"}]}
    assert [Activity.objects.get(pk=a.pk).status for a in ready] == [S.CANCELED, S.CANCELED]
    assert Activity.objects.get(pk=foreign.pk).status == S.READY  # another tenant's id is never touched
    assert StatusEvent.objects.filter(event_type=EventType.CANCELED, error_message="campaign over").count() == 2


def test_bulk_cancel_by_filter_with_dry_run_changes_nothing(admin_api, commerce, other_tenant):
    whatsapp = [make_activity(commerce) for _ in range(3)]
    sms = make_activity(commerce, channel="SMS")
    foreign = [make_activity(commerce_with_rep(other_tenant)) for _ in range(2)]

    dry = admin_api.post("/api/activities/bulk-cancel", {"filter": {"channel": "WHATSAPP", "status": ["READY"]},
                                                         "dryRun": True})
    assert dry.status_code == 200, dry.content
    assert dry.json() == {"matched": 3, "changed": 3, "skipped": {}, "results": None}
    assert Activity.objects.filter(status=S.CANCELED).count() == 0
    assert StatusEvent.objects.filter(event_type=EventType.CANCELED).count() == 0

    real = admin_api.post("/api/activities/bulk-cancel", {"filter": {"channel": "WHATSAPP"}})
    assert real.json() == {"matched": 3, "changed": 3, "skipped": {}, "results": None}
    assert {Activity.objects.get(pk=a.pk).status for a in whatsapp} == {S.CANCELED}
    assert Activity.objects.get(pk=sms.pk).status == S.READY
    # The same filter never reaches the other tenant's WHATSAPP activities.
    assert {Activity.objects.get(pk=a.pk).status for a in foreign} == {S.READY}


def test_bulk_force_retry_and_retry_resolution(admin_api, commerce):
    retryable, by_result = failed_by_dispatch(commerce), failed_by_result(commerce)
    response = admin_api.post("/api/activities/bulk-force-retry-dispatch", {"filter": {"status": "FAILED"}})
    assert response.json() == {"matched": 2, "changed": 1, "skipped": {"FAILED_BY_RESULT": 1}, "results": None}
    assert Activity.objects.get(pk=retryable.pk).status == S.READY
    assert Activity.objects.get(pk=by_result.pk).status == S.FAILED

    unresolved = activity_in(commerce, S.UNRESOLVED)
    response = admin_api.post("/api/activities/bulk-retry-resolution", {"ids": [str(unresolved.pk)]})
    assert response.status_code == 200
    assert response.json()["results"] == [{"id": str(unresolved.pk), "outcome": "CHANGED"}]
    assert Activity.objects.get(pk=unresolved.pk).status == S.READY


@pytest.mark.parametrize("body", [
    {}, {"ids": [], "filter": {}}, {"ids": ["x"]}, {"ids": []}, {"filter": {"status": "NOPE"}},
    {"filter": {"scheduledTo": "2020-02-30"}}, {"filter": {"colour": "red"}}, {"filter": {}, "extra": 1},
    {"filter": "READY"}, {"ids": [str(i) for i in range(1001)]},
])
def test_bulk_refuses_bad_selections(admin_api, commerce, body):
    ready = make_activity(commerce)
    response = admin_api.post("/api/activities/bulk-cancel", body)
    assert response.status_code == 400, (body, response.content)
    assert Activity.objects.get(pk=ready.pk).status == S.READY


def test_bulk_refuses_more_than_the_matched_limit(admin_api, commerce, monkeypatch):
    monkeypatch.setattr(bulk_module, "MAX_BULK_MATCHED", 2)
    activities = [make_activity(commerce) for _ in range(3)]
    response = admin_api.post("/api/activities/bulk-cancel", {"filter": {}})
    assert response.status_code == 400 and "narrow" in response.json()["message"]
    assert {Activity.objects.get(pk=a.pk).status for a in activities} == {S.READY}


def test_bulk_permissions(api_as, tenant, commerce):
    ready = make_activity(commerce)
    failed = failed_by_dispatch(commerce)
    fde, viewer = api_as(member(tenant, "FDE"), tenant), api_as(member(tenant, "VIEWER"), tenant)
    assert fde.post("/api/activities/bulk-cancel", {"ids": [str(ready.pk)]}).status_code == 403
    assert fde.post("/api/activities/bulk-force-retry-dispatch", {"ids": [str(failed.pk)]}).status_code == 403
    assert viewer.post("/api/activities/bulk-retry-resolution", {"filter": {}}).status_code == 403
    assert fde.post("/api/activities/bulk-retry-resolution", {"filter": {}}).status_code == 200
    assert Activity.objects.get(pk=ready.pk).status == S.READY
    assert Activity.objects.get(pk=failed.pk).status == S.FAILED


# --- the commands -------------------------------------------------------------------------------------------------

def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_cancel_activities_command(tenant, commerce, other_tenant):
    ready = [make_activity(commerce) for _ in range(2)]
    done = activity_in(commerce, S.COMPLETED)
    foreign = make_activity(commerce_with_rep(other_tenant))

    assert run("cancel_activities", "--tenant", tenant.slug, "--dry-run") == (
        "dry run: matched=3 would_change=2 skipped=1 (COMPLETED=1)")
    assert Activity.objects.filter(status=S.CANCELED).count() == 0
    assert run("cancel_activities", "--tenant", tenant.slug, "--status", "READY", "--channel", "WHATSAPP",
               "--scheduled-to", timezone.now().date().isoformat(), "--reason", "r") == (
        "matched=2 changed=2 skipped=0")
    assert {Activity.objects.get(pk=a.pk).status for a in ready} == {S.CANCELED}
    assert Activity.objects.get(pk=foreign.pk).status == S.READY
    assert run("cancel_activities", "--tenant", tenant.slug, "--ids", f"{done.pk},{foreign.pk}") == (
        "matched=1 changed=0 skipped=2 (COMPLETED=1 NOT_FOUND=1)")


def test_force_retry_dispatch_command(tenant, commerce):
    failed = failed_by_dispatch(commerce)
    StatusEvent.objects.create(activity=failed, event_type=EventType.DISPATCH_FAILED, from_status="READY",
                               to_status="FAILED", occurred_at=timezone.now())
    by_result = failed_by_result(commerce)
    tomorrow = (timezone.now() + timezone.timedelta(days=1)).isoformat()
    assert run("force_retry_dispatch", "--tenant", tenant.slug, "--failed-since", tomorrow) == (
        "matched=0 changed=0 skipped=0")
    assert run("force_retry_dispatch", "--tenant", tenant.slug, "--dry-run") == (
        "dry run: matched=2 would_change=1 skipped=1 (FAILED_BY_RESULT=1)")
    assert run("force_retry_dispatch", "--tenant", tenant.slug, "--ids", str(failed.pk)) == (
        "matched=1 changed=1 skipped=0")
    assert Activity.objects.get(pk=failed.pk).status == S.READY
    assert Activity.objects.get(pk=by_result.pk).status == S.FAILED


@pytest.mark.parametrize(("args", "message"), [
    (("cancel_activities", "--tenant", "nope"), "Unknown tenant slug 'nope'"),
    (("cancel_activities", "--tenant", "{slug}", "--status", "DONE"), '--status: "DONE" is not a valid choice'),
    (("cancel_activities", "--tenant", "{slug}", "--scheduled-to", "2020-02-30"), "--scheduled-to:"),
    (("cancel_activities", "--tenant", "{slug}", "--ids", "a,b"), "--ids must be comma-separated activity UUIDs"),
    (("force_retry_dispatch", "--tenant", "{slug}", "--failed-since", "yesterday"), "--failed-since:"),
])
def test_bulk_commands_refuse_bad_input_in_one_line(tenant, commerce, args, message):
    ready = make_activity(commerce)
    args = [arg.replace("{slug}", tenant.slug) for arg in args]
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert Activity.objects.get(pk=ready.pk).status == S.READY
