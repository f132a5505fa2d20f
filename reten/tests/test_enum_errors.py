"""Issue 10: an enum field's error names the allowed values, worded once (reten/api/choices.py) for every field."""
import pytest

from activities.models import Activity, TaskResult
from tenants.models import ApiKey
from tenants.tests.factories import member

pytestmark = pytest.mark.django_db


def details_of(response):
    assert response.status_code == 400, response.json()
    return response.json()["details"]


def test_activity_type_and_channel(admin_api):
    details = details_of(admin_api.post("/api/activities", {"type": "VISIT", "channel": "FAX"}))
    assert details["type"] == ['"VISIT" is not a valid choice; one of TASK, MESSAGE.']
    assert details["channel"] == [
        '"FAX" is not a valid choice; one of SALESMAN, CALLCENTER, WHATSAPP, EMAIL, SMS, PUSH.']
    assert Activity.objects.count() == 0


def test_the_message_names_the_first_problem(admin_api):
    response = admin_api.post("/api/activities", {"type": "VISIT"})
    assert response.json()["message"].startswith('Validation failed: ')
    assert '"VISIT" is not a valid choice; one of TASK, MESSAGE.' in response.json()["details"]["type"]


def test_task_result_status(admin_api):
    details = details_of(admin_api.post("/api/activity-results/tasks", {
        "commerce_external_id": "C-1", "occurred_at": "2025-01-16T09:00:00Z", "status": "DONE"}))
    assert details["status"] == ['"DONE" is not a valid choice; one of PENDING, COMPLETED, NOT_EXECUTED, CANCELED, '
                                 'TRANSFERRED, EFFECTIVE, NOT_EFFECTIVE.']
    assert TaskResult.objects.count() == 0


def test_a_status_filter_words_it_alike(admin_api):
    details = details_of(admin_api.get("/api/activities", {"status": "READY,DONE"}))
    assert details["status"][0].startswith('"DONE" is not a valid choice; one of ')


def test_permissions(admin_api):
    details = details_of(admin_api.post("/api/api-keys", {"name": "k", "permissions": ["VIEW_ACTIVITIES", "ROOT"]}))
    assert details["permissions.1"][0].startswith('"ROOT" is not a valid choice; one of CREATE_USER, ')
    assert ApiKey.objects.count() == 0


def test_roles(admin_api, tenant):
    viewer = member(tenant, "VIEWER")
    details = details_of(admin_api.put(f"/api/user/{viewer.id}/roles", {"roles": ["BOSS"]}))
    assert details == {"roles.0": ['"BOSS" is not a valid choice; one of ADMIN, FDE, VIEWER.']}
    assert [r.name for r in viewer.memberships.get().roles.all()] == ["VIEWER"]
