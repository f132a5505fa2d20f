import os
import signal
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from activities.models import Activity, ActivityStatus
from dispatch.tests import factories
from tenants.tests.factories import TenantFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_one_pass_prints_a_summary(tenant, stub):
    factories.config(tenant, channel="SMS", base_url=stub.url)
    activity = factories.activity(tenant, channel="SMS")
    factories.activity(tenant, channel="EMAIL")
    out = StringIO()

    call_command("dispatch_activities", stdout=out)

    assert out.getvalue().strip() == ("Dispatch pass: tenants=1 claimed=1 dispatched=1 retrying=0 failed=0 "
                                      "unresolved=0 noConfig=1 released=0 superseded=0")
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.DISPATCHED


@pytest.mark.django_db
def test_tenant_option_limits_the_pass_to_one_tenant(tenant, stub):
    other = TenantFactory()
    for each in (tenant, other):
        factories.config(each, channel="SMS", base_url=stub.url)
    mine = factories.activity(tenant, channel="SMS")
    theirs = factories.activity(other, channel="SMS")

    call_command("dispatch_activities", "--tenant", tenant.slug, stdout=StringIO())

    assert Activity.objects.get(pk=mine.pk).status == ActivityStatus.DISPATCHED
    assert Activity.objects.get(pk=theirs.pk).status == ActivityStatus.READY


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["--tenant", "nope"], "Unknown tenant slug 'nope'"),
    (["--loop", "--interval", "0"], "--interval must be a positive number"),
    (["--limit", "0"], "--limit must be at least 1"),
])
def test_bad_input_is_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("dispatch_activities", *args, stdout=StringIO())


def test_bad_input_exits_non_zero_with_one_line():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reten.settings_test"}
    result = subprocess.run([sys.executable, "manage.py", "dispatch_activities", "--loop", "--interval", "-1"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: --interval must be a positive number of seconds, got -1"]


@pytest.mark.django_db
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_loop_runs_passes_until_sigterm_or_sigint(tenant, stub, signum):
    factories.config(tenant, channel="SMS", base_url=stub.url)
    activity = factories.activity(tenant, channel="SMS")
    out, err = StringIO(), StringIO()
    previous = signal.getsignal(signum)
    timer = threading.Timer(0.6, os.kill, args=(os.getpid(), signum))
    timer.start()
    try:
        call_command("dispatch_activities", "--loop", "--interval", "0.1", stdout=out, stderr=err)
    finally:
        timer.cancel()  # never let a stray SIGTERM reach the test runner
    timer.join()
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == "Dispatching every 0.1s. Ctrl-C stops."
    assert "pass 1: tenants=1 claimed=1 dispatched=1" in lines[1]
    assert lines[-1].startswith("Stopped after ") and "dispatched=1" in lines[-1]
    assert f"Received {signal.Signals(signum).name}; stopping after this pass." in err.getvalue()
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.DISPATCHED
    assert signal.getsignal(signum) == previous  # the handler is put back


@pytest.mark.django_db
@pytest.mark.parametrize("lease", [0, -5])
def test_a_pass_that_releases_every_claim_for_a_too_short_lease_fails_loudly(tenant, stub, settings, caplog, lease):
    settings.DISPATCH_LEASE_SECONDS = lease
    factories.config(tenant, channel="SMS", base_url=stub.url)
    activities = [factories.activity(tenant, channel="SMS") for _ in range(2)]
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("dispatch_activities", stdout=out)

    message = str(raised.value)
    assert "\n" not in message
    assert message == (f"All 2 claimed activities were released unsent: DISPATCH_LEASE_SECONDS ({lease}) must "
                       f"exceed DISPATCH_HTTP_TIMEOUT ({settings.DISPATCH_HTTP_TIMEOUT:g}) so a provider call can "
                       "end before its lease does")
    assert "claimed=2 dispatched=0" in out.getvalue() and "released=2" in out.getvalue()
    [error] = [record for record in caplog.records if record.levelname == "ERROR"]
    assert "DISPATCH_LEASE_SECONDS" in error.getMessage() and "DISPATCH_HTTP_TIMEOUT" in error.getMessage()
    assert stub.activity_requests() == []  # nothing was sent, and nothing is left claimed
    assert set(Activity.objects.filter(pk__in=[a.pk for a in activities])
               .values_list("status", "dispatch_attempt_count", "next_attempt_at")) == {(ActivityStatus.READY, 0, None)}


@pytest.mark.django_db
def test_a_pass_that_releases_nothing_exits_zero(tenant, stub, settings):
    settings.DISPATCH_LEASE_SECONDS = 30
    factories.config(tenant, channel="SMS", base_url=stub.url)
    factories.activity(tenant, channel="SMS")

    call_command("dispatch_activities", stdout=StringIO())  # no CommandError

    assert len(stub.activity_requests()) == 1


@pytest.mark.django_db
def test_the_loop_logs_a_lost_database_connection_backs_off_and_goes_on(tenant, stub, monkeypatch, caplog):
    from django.db import OperationalError

    from dispatch.management.commands import dispatch_activities as command
    from dispatch.services import dispatch_pass

    factories.config(tenant, channel="SMS", base_url=stub.url)
    activity = factories.activity(tenant, channel="SMS")
    calls = []

    def pass_that_first_loses_its_connection(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")
        return dispatch_pass(**kwargs)

    monkeypatch.setattr(command, "FIRST_BACKOFF_SECONDS", 0.05)
    monkeypatch.setattr(command, "dispatch_pass", pass_that_first_loses_its_connection)
    out = StringIO()
    timer = threading.Timer(0.8, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("dispatch_activities", "--loop", "--interval", "0.1", stdout=out, stderr=StringIO())
    finally:
        timer.cancel()
    timer.join()

    lost = [r.getMessage() for r in caplog.records if "Database connection lost" in r.getMessage()]
    assert lost == ["Database connection lost during a dispatch pass (OperationalError: server closed the "
                    "connection unexpectedly); trying again in 0.05s"]
    assert all(r.exc_info is None for r in caplog.records)  # one line, no traceback
    assert len(calls) >= 2 and "pass 1: tenants=1 claimed=1 dispatched=1" in out.getvalue()
    assert Activity.objects.get(pk=activity.pk).status == ActivityStatus.DISPATCHED
