"""Activities and results out of the console as CSV/XLSX, and activities in from CSV through the bulk create
service of POST /api/activities/bulk (SPEC 4.3, 7).

An export holds what the filtered changelist shows (its filters, search and the admin's tenant scope), one
query whatever the number of rows. An import line is a create body: validated by the API's serializer, then
created, replayed (same idempotency key and body: already there) or refused on its own, exactly as an item of the
bulk endpoint; the preview names the status each new activity would start in.
"""
from import_export import fields, resources

from activities.api.serializers import ActivityCreateSerializer
from activities.models import Activity, TaskResult
from activities.services import activity_bulk_create
from activities.services.creation import MAX_BULK_ITEMS
from reten import errors
from tenants.admin_io import (
    NEW,
    SKIP,
    IsoDateTimeWidget,
    JsonBooleanWidget,
    RowOutcome,
    ScopedExportMixin,
    ServiceImportMixin,
    ServiceImportResource,
    error_text,
    problems_text,
)
from tenants.roles import Permission


def _field(attribute, column_name=None, *, widget=None):
    return fields.Field(attribute=attribute, column_name=column_name or attribute, widget=widget, readonly=True)


def _when(attribute):
    return _field(attribute, widget=IsoDateTimeWidget())


class ActivityExportResource(resources.ModelResource):
    id = _field("id")
    tenant = _field("tenant__slug", "tenant")
    type = _field("type")
    channel = _field("channel")
    status = _field("status")
    reason = _field("reason")
    idempotency_key = _field("idempotency_key")
    commerce_external_id = _field("commerce_assignment__commerce__external_id", "commerce_external_id")
    commerce_name = _field("commerce_assignment__commerce__name", "commerce_name")
    scheduled_at = _when("scheduled_at")
    score = _field("score")
    dispatch_attempt_count = _field("dispatch_attempt_count")
    last_dispatch_error = _field("last_dispatch_error")
    provider_activity_id = _field("provider_activity_id")
    dispatched_at = _when("dispatched_at")
    completed_at = _when("completed_at")
    created_at = _when("created_at")

    class Meta:
        model = Activity
        fields = ("id", "tenant", "type", "channel", "status", "reason", "idempotency_key", "commerce_external_id",
                  "commerce_name", "scheduled_at", "score", "dispatch_attempt_count", "last_dispatch_error",
                  "provider_activity_id", "dispatched_at", "completed_at", "created_at")
        export_order = fields

    @classmethod
    def get_display_name(cls):
        return "Activities"


class TaskResultExportResource(resources.ModelResource):
    id = _field("id")
    tenant = _field("tenant__slug", "tenant")
    activity_id = _field("activity_id")
    commerce_external_id = _field("commerce__external_id", "commerce_external_id")
    source = _field("source")
    status = _field("status")
    result_code = _field("result_code")
    external_status = _field("external_status")
    hard_override = _field("hard_override", widget=JsonBooleanWidget())
    provider_activity_id = _field("provider_activity_id")
    operator_external_id = _field("operator_external_id")
    comment = _field("comment")
    occurred_at = _when("occurred_at")
    created_at = _when("created_at")

    class Meta:
        model = TaskResult
        fields = ("id", "tenant", "activity_id", "commerce_external_id", "source", "status", "result_code",
                  "external_status", "hard_override", "provider_activity_id", "operator_external_id", "comment",
                  "occurred_at", "created_at")
        export_order = fields

    @classmethod
    def get_display_name(cls):
        return "Task results"


# The scalar fields of the create body (POST /api/activities); lists are comma-separated in one cell.
CREATE_COLUMNS = ("type", "channel", "reason", "commerce_external_id", "commerce_id", "idempotency_key",
                  "scheduled_at", "suggested_execution_time", "user_status", "score", "assignment_reason",
                  "assigned_route_code", "assigned_route_id", "assigned_operator_external_id", "assigned_operator_id",
                  "attribute_keys")
LIST_COLUMNS = ("attribute_keys",)


def create_body(row: dict) -> dict:
    """A CSV line as a create body (before validation): empty cells are left out."""
    body = {name: row[name] for name in CREATE_COLUMNS if row.get(name)}
    for name in LIST_COLUMNS:
        if name in body:
            body[name] = [part.strip() for part in body[name].split(",") if part.strip()]
    return body


class ActivityImportResource(ServiceImportResource):
    columns = CREATE_COLUMNS
    required_columns = ("type", "channel", "reason", "idempotency_key", "scheduled_at")
    key_column = "idempotency_key"
    max_rows = MAX_BULK_ITEMS
    permission = Permission.CREATE_ACTIVITY

    @classmethod
    def get_display_name(cls):
        return "Activities (through the bulk create of POST /api/activities/bulk)"

    def run(self, rows, *, dry_run):
        bodies, failed = [], {}
        for position, row in enumerate(rows):
            serializer = ActivityCreateSerializer(data=create_body(row))
            if serializer.is_valid():
                bodies.append(serializer.validated_data)
            else:
                bodies.append(None)
                failed[position] = errors.ValidationFailed.of({"row": [problems_text(serializer.errors)]})
        results = activity_bulk_create(tenant=self.tenant, actor=self.actor, items=bodies, failed=failed)
        created = dict(Activity.objects.filter(pk__in=[r.activity_id for r in results if r.status == 201])
                       .values_list("pk", "status"))
        outcomes = []
        for result in results:
            if result.status == 201:
                outcomes.append(RowOutcome(NEW, "Create", f"starts {created[result.activity_id]}",
                                           result.activity_id))
            elif result.status == 200:
                outcomes.append(RowOutcome(SKIP, "Already imported", "same idempotency key and body",
                                           result.activity_id))
            else:
                reason = result.error.details["row"][0] if result.index in failed else error_text(result.error)
                outcomes.append(RowOutcome.refused(reason))
        return outcomes


class ActivityImportExportMixin(ServiceImportMixin, ScopedExportMixin):
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    import_resource_class = ActivityImportResource
    export_resource_class = ActivityExportResource


class TaskResultExportMixin(ScopedExportMixin):
    export_resource_class = TaskResultExportResource
