"""The three runners: the dispatcher loop's pass step, Celery (eager here), and right after commit."""
from io import StringIO

import pytest
from django.core.management import call_command

from activities.tests.factories import make_activity
from dispatch.hooks import pass_steps
from dispatch.tests.test_concurrency_postgres import wait_until
from tenants.models import Tenant
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.services.delivery import deliver_pass_surviving_faults
from webhooks.tasks import deliver_due_webhooks, deliver_webhooks
from webhooks.tests import factories


def test_the_webhooks_app_registers_its_pass_step_with_the_dispatcher():
    assert deliver_pass_surviving_faults in pass_steps


@pytest.mark.django_db
def test_a_dispatch_activities_pass_also_delivers_webhooks(receiver, tenant, capsys):
    factories.delivery(factories.endpoint(tenant, url=receiver.url), event_id="evt_cmd")
    call_command("dispatch_activities")
    assert "Webhook pass: claimed=1 delivered=1" in capsys.readouterr().out
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_cmd"]


@pytest.mark.django_db
def test_the_celery_tasks_deliver(receiver, tenant):
    endpoint = factories.endpoint(tenant, url=receiver.url)
    one = factories.delivery(endpoint, event_id="evt_task")
    deliver_webhooks.apply(args=[[str(one.pk)]])
    factories.delivery(endpoint, event_id="evt_beat")
    deliver_due_webhooks.apply()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_task", "evt_beat"]


@pytest.mark.django_db(transaction=True)
def test_deliveries_go_out_right_after_the_commit(receiver, tenant, commerce, settings):
    settings.WEBHOOK_DELIVER_ON_COMMIT = True
    factories.endpoint(tenant, url=receiver.url)
    make_activity(commerce)  # commits: the background pool sends it, no pass needed
    assert wait_until(lambda: len(receiver.requests) == 1, timeout=10, step=0.05)
    assert wait_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 1,
                      timeout=10, step=0.05)
    assert receiver.requests[0].json["type"] == "activity.created"


@pytest.mark.django_db
def test_seed_demo_adds_inactive_example_endpoints_once():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    demo = Tenant.objects.get(slug="demo")
    endpoints = WebhookEndpoint.objects.for_tenant(demo)
    assert endpoints.count() == 2 and not endpoints.filter(is_active=True).exists()
    demo.refresh_from_db()
    assert demo.has_webhook_endpoints is False  # the demo's activities write no deliveries
    assert WebhookDelivery.objects.count() == 0
