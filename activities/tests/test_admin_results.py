"""Results in the admin: inline on the activity, their own read-only list, result types edited via the service."""
import pytest
from django.test import Client

from activities.api.result_serializers import TaskResultInputSerializer
from activities.models import TaskResultType
from activities.services import task_result_submit
from activities.tests.factories import TaskResultTypeFactory, dispatched_task, result_body
from tenants.actors import SYSTEM


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def submitted(tenant, commerce, route, operator):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    task = dispatched_task(commerce, route=route, operator=operator)
    body = TaskResultInputSerializer(data=result_body(task, status="EFFECTIVE", external_status="ok-visit"))
    body.is_valid(raise_exception=True)
    return task_result_submit(tenant=tenant, actor=SYSTEM, data=body.validated_data, may_hard_override=False).result


def test_results_inline_on_the_activity_page(staff, submitted):
    page = staff.get(f"/admin/activities/activity/{submitted.activity_id}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "ok-visit" in content and "EFFECTIVE" in content


def test_results_have_a_read_only_list(staff, submitted):
    listing = staff.get("/admin/activities/taskresult/", {"status__exact": "EFFECTIVE"})
    assert (listing.status_code, listing.context["cl"].result_count) == (200, 1)
    assert staff.get(f"/admin/activities/taskresult/{submitted.pk}/change/").status_code == 200
    assert staff.get("/admin/activities/taskresult/add/").status_code == 403
    response = staff.post(f"/admin/activities/taskresult/{submitted.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403


def test_result_types_in_the_admin_follow_the_rules(staff, tenant):
    add = "/admin/activities/taskresulttype/add/"
    refused = staff.post(add, {"tenant": tenant.pk, "code": "AGAIN", "label": "Again", "creates_follow_up": "on",
                               "is_active": "on"})
    assert refused.status_code == 200 and "must require future_scheduled_at" in refused.content.decode()
    assert not TaskResultType.objects.exists()
    created = staff.post(add, {"tenant": tenant.pk, "code": "AGAIN", "label": "Again", "creates_follow_up": "on",
                               "requires_future_scheduled_at": "on", "is_active": "on"})
    assert created.status_code == 302
    result_type = TaskResultType.objects.get()
    assert (result_type.code, result_type.creates_follow_up, result_type.tenant_id) == ("AGAIN", True, tenant.pk)
    changed = staff.post(f"/admin/activities/taskresulttype/{result_type.pk}/change/",
                         {"label": "Call again", "requires_future_scheduled_at": "on", "creates_follow_up": "on"})
    assert changed.status_code == 302
    result_type.refresh_from_db()
    assert (result_type.label, result_type.code, result_type.is_active) == ("Call again", "AGAIN", False)
