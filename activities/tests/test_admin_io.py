"""Activities and results in and out of the console (SPEC 7), through the admin's HTTP surface: exports hold what
the filtered list shows; imports preview, then create through the bulk create service."""
import csv
import io

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from activities.admin import ActivityAdmin
from activities.admin_io import ActivityExportResource, ActivityImportResource, TaskResultExportResource
from activities.api.result_serializers import TaskResultInputSerializer
from activities.models import Activity, ActivityStatus, EventType, StatusEvent
from activities.services import task_result_submit
from activities.tests.factories import (
    TaskResultTypeFactory,
    activity_in,
    dispatched_task,
    make_activity,
    reachable_user,
    result_body,
)
from commerces.models import CommerceUserRole
from commerces.tests.factories import CommerceFactory
from tenants.actors import SYSTEM
from tenants.tests.factories import member

ACTIVITIES = "/admin/activities/activity/"
RESULTS = "/admin/activities/taskresult/"
CSV_FORMAT, XLSX_FORMAT = "0", "1"  # the export form's choices, in ScopedExportMixin.get_export_formats order


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def staff_member(tenant, *roles):
    user = member(tenant, *roles, is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def export(client, changelist, resource, params, file_format=CSV_FORMAT):
    """Press Export on the filtered changelist, keep every column, pick the format: the response of the download."""
    query = "&".join(f"{name}={value}" for name, value in params.items())
    url = f"{changelist}export/?{query}"
    assert client.get(url).status_code == 200
    data = {"format": file_format, "resource": "0"}
    data.update({f"{resource.__name__.lower()}_{name}": "on" for name in resource.Meta.fields})
    return client.post(url, data)


def csv_rows(response):
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response):
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


def iso(moment):
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_activity_export_csv_holds_exactly_the_filtered_rows(staff, tenant, other_tenant, commerce,
                                                             django_assert_max_num_queries):
    ready = [make_activity(commerce, reason=f"Ready {n}", score=n) for n in range(3)]
    activity_in(commerce, ActivityStatus.CANCELED)
    make_activity(CommerceFactory(tenant=other_tenant))  # READY, other tenant
    with django_assert_max_num_queries(8):
        rows = csv_rows(export(staff, ACTIVITIES, ActivityExportResource,
                               {"status__exact": "READY", "tenant__id__exact": tenant.pk}))
    assert rows[0] == list(ActivityExportResource.Meta.fields)
    newest_first = list(reversed(ready))  # the changelist's order
    assert [row[0] for row in rows[1:]] == [str(activity.pk) for activity in newest_first]
    first = Activity.objects.get(pk=newest_first[0].pk)
    assert rows[1] == [str(first.pk), tenant.slug, "MESSAGE", "WHATSAPP", "READY", "Ready 2", first.idempotency_key,
                       commerce.external_id, commerce.name, "2025-01-16T09:00:00.000Z", "2", "0", "", "", "", "",
                       iso(first.created_at)]


def test_activity_export_xlsx_opens_with_the_same_rows(staff, tenant, commerce):
    for n in range(2):
        make_activity(commerce, reason=f"Ready {n}")
    activity_in(commerce, ActivityStatus.FAILED)
    params = {"status__exact": "READY"}
    from_csv = csv_rows(export(staff, ACTIVITIES, ActivityExportResource, params))
    response = export(staff, ACTIVITIES, ActivityExportResource, params, XLSX_FORMAT)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx_rows(response) == from_csv
    assert len(from_csv) == 3


def test_export_rows_come_from_the_admins_scoped_queryset(staff, tenant, other_tenant, commerce, monkeypatch):
    """The console's tenant scope lives in ActivityAdmin.get_queryset: an export never holds a row it hides, even
    with a filter naming the other tenant."""
    mine = make_activity(commerce)
    make_activity(CommerceFactory(tenant=other_tenant))
    original = ActivityAdmin.get_queryset
    monkeypatch.setattr(ActivityAdmin, "get_queryset",
                        lambda self, request: original(self, request).filter(tenant=tenant))
    assert [row[0] for row in csv_rows(export(staff, ACTIVITIES, ActivityExportResource, {}))[1:]] == [str(mine.pk)]
    assert csv_rows(export(staff, ACTIVITIES, ActivityExportResource, {"tenant__id__exact": other_tenant.pk}))[1:] == []


def test_export_needs_read_access(tenant, other_tenant, commerce):
    make_activity(commerce)
    # A VIEWER reads activities (VIEW_ACTIVITIES), so they may export them; a user with no role in an active
    # tenant is not let into the console at all.
    assert staff_member(tenant, "VIEWER").get(f"{ACTIVITIES}export/").status_code == 200
    outsider = Client()
    outsider.force_login(member(other_tenant, user=None))
    response = outsider.get(f"{ACTIVITIES}export/")
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/admin/login/")


def test_result_export_holds_the_filtered_results(staff, tenant, commerce, route, operator):
    TaskResultTypeFactory(tenant=tenant, code="VISITED")
    results = []
    for status in ("EFFECTIVE", "NOT_EFFECTIVE"):
        task = dispatched_task(commerce, route=route, operator=operator)
        body = TaskResultInputSerializer(data=result_body(task, status=status))
        body.is_valid(raise_exception=True)
        results.append(task_result_submit(tenant=tenant, actor=SYSTEM, data=body.validated_data,
                                          may_hard_override=False).result)
    rows = csv_rows(export(staff, RESULTS, TaskResultExportResource, {"status__exact": "EFFECTIVE"}))
    assert rows[0] == list(TaskResultExportResource.Meta.fields)
    effective = results[0]
    assert rows[1:] == [[str(effective.pk), tenant.slug, str(effective.activity_id), commerce.external_id,
                         "RETEN_ACTIVITY", "EFFECTIVE", "VISITED", "", "false", effective.provider_activity_id or "",
                         effective.operator_external_id or "", effective.comment or "", iso(effective.occurred_at),
                         iso(effective.created_at)]]


# --- import -----------------------------------------------------------------------------------------------------

HEADER = "type,channel,reason,commerce_external_id,idempotency_key,scheduled_at,score\n"


def upload(text, name="activities.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def preview(client, tenant, text, changelist=ACTIVITIES):
    return client.post(f"{changelist}import/", {"tenant": tenant.pk, "format": "0", "resource": "0",
                                                "import_file": upload(text)})


def preview_rows(response):
    return [row.diff for row in response.context["result"].rows]


def confirm(client, response, changelist=ACTIVITIES, **overrides):
    form = response.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(overrides)
    return client.post(f"{changelist}process_import/", data, follow=True)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def import_file(commerce):
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    return (HEADER
            + f"MESSAGE,WHATSAPP,Win back,{commerce.external_id},imp-1,2025-01-16T09:00:00Z,5\n"
            + "MESSAGE,WHATSAPP,Unknown store,NOPE,imp-2,2025-01-16T09:00:00Z,\n"
            + f"MESSAGE,WHATSAPP,,{commerce.external_id},imp-3,2025-01-16T09:00:00Z,\n"
            + f"TASK,SALESMAN,Visit,{commerce.external_id},imp-4,2025-01-16T09:00:00Z,\n")


def test_import_dry_run_previews_and_creates_nothing(staff, tenant, import_file):
    response = preview(staff, tenant, import_file)
    assert response.status_code == 200
    assert preview_rows(response) == [
        [2, "imp-1", "Create", "starts READY"],
        [3, "imp-2", "Refused", "commerce_external_id: Unknown commerce."],
        [4, "imp-3", "Refused", "reason: This field is required."],
        [5, "imp-4", "Refused", "assigned_route_id: Required for TASK activities.; "
                                "assigned_operator_id: Required for TASK activities."],
    ]
    assert "confirm_form" in response.context
    assert "commerce_external_id: Unknown commerce." in response.content.decode()
    assert (Activity.objects.count(), StatusEvent.objects.count()) == (0, 0)


def test_import_refuses_a_row_as_the_api_does(staff, tenant, commerce, admin_api):
    body = {"type": "TASK", "channel": "SALESMAN", "reason": "Visit", "commerce_external_id": commerce.external_id,
            "idempotency_key": "imp-4", "scheduled_at": "2025-01-16T09:00:00Z"}
    api_error = admin_api.post("/api/activities/bulk", {"items": [body]}).json()["results"][0]["error"]
    response = preview(staff, tenant, HEADER + f"TASK,SALESMAN,Visit,{commerce.external_id},imp-4,"
                                               "2025-01-16T09:00:00Z,\n")
    expected = "; ".join(f"{field}: {problem}" for field, problems in api_error["details"].items()
                         for problem in problems)
    assert preview_rows(response) == [[2, "imp-4", "Refused", expected]]


def test_confirm_creates_through_the_bulk_service(staff, superuser, tenant, import_file):
    response = confirm(staff, preview(staff, tenant, import_file))
    assert response.status_code == 200
    assert messages_of(response) == ["Import finished: 1 created, 0 updated, 0 already there, 3 refused."]
    created = Activity.objects.get()
    assert (created.tenant_id, created.idempotency_key, created.status, created.score) == (tenant.pk, "imp-1",
                                                                                          "READY", 5)
    event = StatusEvent.objects.get(activity=created)
    assert (event.event_type, event.actor_user_id) == (EventType.CREATED, superuser.pk)
    assert created.request_hash  # the idempotency record the API keeps: a replay of this body is recognised
    again = preview(staff, tenant, import_file)
    assert preview_rows(again)[0] == [2, "imp-1", "Already imported", "same idempotency key and body"]
    assert "confirm_form" not in again.context  # nothing left to write
    assert Activity.objects.count() == 1


def test_confirming_twice_creates_once(staff, tenant, import_file):
    previewed = preview(staff, tenant, import_file)
    confirm(staff, previewed)
    again = confirm(staff, previewed)
    assert messages_of(again) == ["The uploaded file is no longer there (already imported?): upload it again."]
    assert again.request["PATH_INFO"] == f"{ACTIVITIES}import/"
    assert Activity.objects.count() == 1


def test_import_into_a_tenant_the_user_may_not_create_in_is_refused(tenant, other_tenant, import_file):
    fde = staff_member(tenant, "FDE")
    form = fde.get(f"{ACTIVITIES}import/").context["form"]
    assert list(form.fields["tenant"].queryset) == [tenant]
    refused = preview(fde, other_tenant, import_file)
    assert refused.status_code == 200 and "tenant" in refused.context["form"].errors
    assert "result" not in refused.context
    viewer = staff_member(tenant, "VIEWER")
    assert viewer.get(f"{ACTIVITIES}import/").status_code == 403
    assert preview(viewer, tenant, import_file).status_code == 403
    assert Activity.objects.count() == 0


def test_confirm_with_a_forged_tenant_is_refused(tenant, other_tenant, import_file):
    fde = staff_member(tenant, "FDE")
    response = confirm(fde, preview(fde, tenant, import_file), tenant=str(other_tenant.pk))
    assert response.status_code == 200 and "tenant" in response.context["confirm_form"].errors
    assert Activity.objects.count() == 0


@pytest.mark.parametrize(("text", "problem"), [
    ("type,channel,reason,idempotency_key,scheduled_at,tenant\n", "Unknown column(s): tenant."),
    ("type,channel,reason,scheduled_at\nMESSAGE,SMS,x,2025-01-16T09:00:00Z\n", "Missing column(s): idempotency_key."),
    (HEADER, "The file has no rows to import."),
    (HEADER + "MESSAGE,SMS,a,C,k1,2025-01-16T09:00:00Z,\n" * 3, "At most 2 rows per import (the file has 3)"),
    (HEADER + "MESSAGE,SMS,a,C,k1,2025-01-16T09:00:00Z,,one too many\n",
     "The file could not be read as CSV with a header line."),
])
def test_a_file_that_cannot_be_imported_is_a_form_error(staff, tenant, monkeypatch, text, problem):
    monkeypatch.setattr(ActivityImportResource, "max_rows", 2)
    response = preview(staff, tenant, text)
    assert response.status_code == 200
    assert problem in " ".join(response.context["form"].errors["import_file"])
    assert Activity.objects.count() == 0


def test_a_file_over_the_api_body_limit_or_not_utf8_is_a_form_error(staff, tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = preview(staff, tenant, HEADER + "MESSAGE,SMS,a,C,k1,2025-01-16T09:00:00Z,\n" * 40)
    assert big.context["form"].errors["import_file"] == ["The file is larger than 1 KiB; split it."]
    response = staff.post(f"{ACTIVITIES}import/", {
        "tenant": tenant.pk, "format": "0", "resource": "0",
        "import_file": SimpleUploadedFile("a.csv", HEADER.encode() + "é,\n".encode("latin-1"))})
    assert response.context["form"].errors["import_file"] == ["The file must be UTF-8 encoded CSV."]


def test_the_preview_costs_the_same_queries_for_5_or_30_lines(staff, tenant, commerce, query_count):
    """30: below the row count at which SQLite splits one INSERT of activities in two (999 variables)."""
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)

    def lines(count):
        return HEADER + "".join(f"MESSAGE,WHATSAPP,Win back,{commerce.external_id},q-{n},2025-01-16T09:00:00Z,\n"
                                for n in range(count))

    counts = []
    for count in (5, 30):
        with query_count() as counted:
            assert [row[2] for row in preview_rows(preview(staff, tenant, lines(count)))] == ["Create"] * count
        counts.append(len(counted))
    assert counts[0] == counts[1]
    assert Activity.objects.count() == 0
