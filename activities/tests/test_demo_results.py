"""seed_demo's results part: result types, an integration key printed once, results in every status."""
from io import StringIO

import pytest
from django.core.management import call_command

from activities.models import Activity, TaskResult, TaskResultType
from tenants.models import ApiKey, Tenant


@pytest.mark.django_db
def test_seed_demo_posts_results_in_every_status_and_is_idempotent(client):
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    demo = Tenant.objects.get(slug="demo")
    counts = (TaskResult.objects.count(), TaskResultType.objects.count(), Activity.objects.count())
    assert {"RESCHEDULE"} <= set(TaskResultType.objects.filter(creates_follow_up=True).values_list("code", flat=True))
    assert set(TaskResult.objects.values_list("status", flat=True)) == {
        "PENDING", "COMPLETED", "NOT_EXECUTED", "CANCELED", "TRANSFERRED", "EFFECTIVE", "NOT_EFFECTIVE"}
    assert TaskResult.objects.filter(source="STANDALONE").count() == 1
    assert Activity.objects.filter(tenant=demo, follow_up_of__isnull=False).exists()
    # The key is printed once, and works on the integration routes.
    line = next(line for line in first.getvalue().splitlines() if line.startswith("integration API key"))
    plaintext = line.rsplit(" ", 1)[-1]
    assert plaintext.startswith("rtn_sk_")
    listed = client.get("/api/integration/activities/tasks", {"status": "COMPLETED"}, HTTP_X_API_KEY=plaintext)
    assert listed.status_code == 200 and listed.json()["meta"]["total"] > 0
    assert client.get("/api/integration/task-result-type-configs", HTTP_X_API_KEY=plaintext).status_code == 200

    call_command("seed_demo", stdout=second)
    assert (TaskResult.objects.count(), TaskResultType.objects.count(), Activity.objects.count()) == counts
    assert ApiKey.objects.filter(tenant=demo, name="Demo integration").count() == 1
    assert plaintext not in second.getvalue() and "already there" in second.getvalue()
