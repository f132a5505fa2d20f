"""manage.py retry_resolution and the demo seed."""
import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from activities import demo
from activities.models import Activity, ActivityStatus, StatusEvent
from activities.tests.factories import make_activity, reachable_user
from commerces.tests.factories import CommerceFactory


def run(*args):
    out = io.StringIO()
    call_command("retry_resolution", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def unresolved_pair(tenant):
    fixable, hopeless = CommerceFactory(tenant=tenant), CommerceFactory(tenant=tenant)
    first, second = make_activity(fixable), make_activity(hopeless)
    reachable_user(fixable, "OWNER")
    return first, second


def test_retry_resolution_prints_resolved_and_still_unresolved(unresolved_pair):
    first, second = unresolved_pair
    assert run() == "resolved: 1, still unresolved: 1"
    assert Activity.objects.get(pk=first.pk).status == ActivityStatus.READY
    assert Activity.objects.get(pk=second.pk).status == ActivityStatus.UNRESOLVED
    assert StatusEvent.objects.get(activity=first, event_type="RESOLUTION_RETRY_SUCCESS").actor_type == "SYSTEM"


def test_dry_run_changes_nothing(unresolved_pair):
    assert run("--dry-run") == "would resolve: 1, still unresolved: 1"
    assert Activity.objects.filter(status=ActivityStatus.UNRESOLVED).count() == 2
    assert not StatusEvent.objects.filter(event_type__startswith="RESOLUTION_RETRY").exists()


def test_one_activity_of_one_tenant(unresolved_pair, tenant):
    first, _ = unresolved_pair
    assert run("--tenant", tenant.slug, "--activity", str(first.pk)) == "resolved: 1, still unresolved: 0"


def test_other_tenants_are_left_alone(unresolved_pair, other_tenant):
    assert run("--tenant", other_tenant.slug) == "resolved: 0, still unresolved: 0"
    assert Activity.objects.filter(status=ActivityStatus.UNRESOLVED).count() == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--tenant", "nope"], "Unknown tenant slug 'nope'"),
    (["--activity", "xyz"], "--activity must be a UUID, got 'xyz'"),
    (["--activity", "00000000-0000-0000-0000-000000000000"], "Unknown activity 00000000-0000-0000-0000-000000000000"),
])
def test_bad_input_is_a_one_line_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_an_activity_that_is_not_unresolved_is_refused(tenant, commerce):
    activity = make_activity(commerce)
    with pytest.raises(CommandError, match="is READY; only UNRESOLVED"):
        run("--activity", str(activity.pk))


def test_an_activity_of_another_tenant_is_unknown(unresolved_pair, other_tenant):
    first, _ = unresolved_pair
    with pytest.raises(CommandError, match="Unknown activity"):
        run("--tenant", other_tenant.slug, "--activity", str(first.pk))
    assert uuid.UUID(str(first.pk))


def test_demo_seed_covers_every_status_channel_and_type_and_is_idempotent(tenant):
    out = io.StringIO()
    demo.seed(tenant=tenant, stdout=out)
    assert "activities: 300 created, 0 already there" in out.getvalue()
    activities = Activity.objects.for_tenant(tenant)
    assert set(activities.values_list("status", flat=True)) == set(ActivityStatus.values)
    assert set(activities.values_list("channel", flat=True)) == {"SALESMAN", "CALLCENTER", "WHATSAPP", "EMAIL",
                                                                 "SMS", "PUSH"}
    assert set(activities.values_list("type", flat=True)) == {"TASK", "MESSAGE"}
    assert activities.values("commerce_assignment__commerce").distinct().count() >= 6
    events, total = StatusEvent.objects.count(), Activity.objects.count()
    demo.seed(tenant=tenant, stdout=(again := io.StringIO()))
    assert "activities: 0 created, 300 already there" in again.getvalue()
    assert StatusEvent.objects.count() == events
    # The 300, plus the follow-ups their RESCHEDULE results created (once).
    follow_ups = Activity.objects.filter(follow_up_of__isnull=False).count()
    assert follow_ups > 0
    assert Activity.objects.count() == total == 300 + follow_ups
