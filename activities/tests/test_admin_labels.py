"""Rows and pages of the console are named for people (tenants/console.py `console_label`, `short_label`): the
activity page shows its status as the list's badge and its label — commerce name · short id — as title and
breadcrumb; the lists of results, dispatch configs and webhook deliveries label rows the same way, not by UUID."""
import re

import pytest
from django.test import Client

from activities.api.result_serializers import TaskResultInputSerializer
from activities.services import task_result_submit
from activities.tests.factories import TaskResultTypeFactory, dispatched_task, make_activity, result_body
from dispatch.tests import factories as dispatch_factories
from tenants.actors import SYSTEM
from webhooks.tests import factories as webhook_factories


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def title_of(html):
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def row_labels(html):
    """The texts of the links of the list's first column (th.field-row_label or th.field-label)."""
    return re.findall(r'<th class="field-(?:row_label|label)[^"]*"[^>]*>.*?<a [^>]*>(.*?)</a>', html, re.S)


@pytest.mark.django_db
def test_the_activity_page_has_the_list_badge_and_the_short_label(staff, commerce):
    activity = make_activity(commerce)
    label = f"{commerce.name} · {str(activity.pk)[:8]}"
    page = staff.get(f"/admin/activities/activity/{activity.pk}/change/").content.decode()
    listing = staff.get("/admin/activities/activity/").content.decode()
    badge = re.compile(r'<span class="[^"]*bg-blue-100 text-blue-700[^"]*"\s*>\s*READY\s*</span>', re.S)
    assert badge.search(page) and badge.search(listing)  # the same badge on both
    assert title_of(page) == f"{label} | View activity | Reten console"
    assert str(activity.pk) not in title_of(page)
    assert f'href="/admin/activities/activity/{activity.pk}/change/"' in page  # the header's crumb to itself
    crumb = re.search(rf'href="/admin/activities/activity/{activity.pk}/change/"[^>]*>\s*(.*?)\s*</a\s*>', page, re.S)
    assert crumb.group(1) == label
    assert row_labels(listing) == [label]


@pytest.mark.django_db
def test_results_configs_and_deliveries_are_listed_by_a_human_label(staff, tenant, commerce, route, operator):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    task = dispatched_task(commerce, route=route, operator=operator)
    body = TaskResultInputSerializer(data=result_body(task, status="EFFECTIVE"))
    body.is_valid(raise_exception=True)
    result = task_result_submit(tenant=tenant, actor=SYSTEM, data=body.validated_data,
                                may_hard_override=False).result
    config = dispatch_factories.config(tenant, credentials={"apiKey": "sk_test"})
    delivery = webhook_factories.delivery(webhook_factories.endpoint(tenant))

    results = staff.get("/admin/activities/taskresult/").content.decode()
    assert row_labels(results) == [f"{commerce.name} · {str(result.pk)[:8]}"]
    configs = staff.get("/admin/dispatch/dispatchconfig/").content.decode()
    assert row_labels(configs) == [f"{config.channel} via {config.provider.name} · {str(config.pk)[:8]}"]
    deliveries = staff.get("/admin/webhooks/webhookdelivery/").content.decode()
    assert row_labels(deliveries) == [f"{delivery.event_type} · {str(delivery.event_id)[:8]}"]
    for html in (results, configs, deliveries):
        assert not re.search(r"<a [^>]*>\s*[0-9a-f]{8}-[0-9a-f]{4}-", html)  # no row named by a bare UUID
    page = staff.get(f"/admin/dispatch/dispatchconfig/{config.pk}/change/").content.decode()
    assert title_of(page).startswith(f"{config.channel} via {config.provider.name} · {str(config.pk)[:8]} | ")


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "offered"), [("VIEWER", False), ("FDE", True), ("ADMIN", True)])
def test_the_set_a_value_link_is_offered_only_to_roles_that_may_repair(tenant, commerce, role, offered):
    from activities.models import AttributeKey, AttributeStrategy
    from activities.tests.factories import AttributePolicyFactory
    from tenants.tests.factories import member

    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)
    activity = make_activity(commerce, attribute_keys=["last_order"])
    url = f"/admin/activities/activity/{activity.pk}/attributes/{activity.attributes.get().pk}/resolve/"
    client = Client()
    client.force_login(member(tenant, role))
    page = client.get(f"/admin/activities/activity/{activity.pk}/change/")
    assert page.status_code == 200
    assert (url in page.content.decode()) is offered
    assert client.get(url).status_code == (200 if offered else 403)
