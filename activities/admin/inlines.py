"""The inlines of the activity page: its commerce, task details, target users and attributes (with a link to
repair an UNRESOLVED one by hand), results, delivery receipts and the status-event trail, all read-only."""
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from activities.admin.read_only import ReadOnlyInline
from activities.models import (
    ActivityAttribute,
    ActivityStatus,
    AttributeResolutionStatus,
    CommerceAssignment,
    DeliveryReceipt,
    StatusEvent,
    TargetResolutionStatus,
    TargetUser,
    TaskDetails,
    TaskResult,
)
from tenants.roles import Permission


class CommerceAssignmentInline(ReadOnlyInline):
    model = CommerceAssignment
    fields = ["commerce", "assignment_reason", "assigned_at"]
    readonly_fields = fields


class TaskDetailsInline(ReadOnlyInline):
    model = TaskDetails
    fields = ["route", "operator"]
    readonly_fields = fields


REPAIRABLE_ACTIVITY_STATUSES = (ActivityStatus.READY, ActivityStatus.UNRESOLVED)


def _repair_link(row, *, row_status, repairable, url_name, label):
    """A link to the manual action for a row the service would accept (it re-checks everything itself)."""
    if row.pk is None or row_status not in repairable or row.activity.status not in REPAIRABLE_ACTIVITY_STATUSES:
        return "-"
    return format_html('<a class="button" href="{}">{}</a>',
                       reverse(f"admin:{url_name}", args=[row.activity_id, row.pk]), label)


class RepairLinkInline(ReadOnlyInline):
    """An inline whose last column links to a manual repair (CREATE_ACTIVITY): the column is left out for a user
    who may not repair in the activity's tenant (the URL refuses them too)."""

    repair_field = None

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        parent = self._parent_admin()
        if obj is not None and parent is not None and not parent._may(request, Permission.CREATE_ACTIVITY,
                                                                      str(obj.pk)):
            fields = [name for name in fields if name != self.repair_field]
        return fields


class TargetUserInline(RepairLinkInline):
    model = TargetUser
    fields = ["commerce_user", "resolution_status", "resolution_strategy", "lock_reason", "resolved_at",
              "locked_at", "error_message", "manual_assignment"]
    readonly_fields = fields
    repair_field = "manual_assignment"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("commerce_user", "activity")

    @admin.display(description="manual assignment")
    def manual_assignment(self, target):
        return _repair_link(target, row_status=target.resolution_status,
                            repairable=(TargetResolutionStatus.PENDING, TargetResolutionStatus.FAILED),
                            url_name="activities_activity_target_user_resolve", label="Assign a person")


class ActivityAttributeInline(RepairLinkInline):
    model = ActivityAttribute
    fields = ["attribute_key", "value", "resolution_status", "strategy", "resolver_type", "resolved_at",
              "error_message", "manual_value"]
    readonly_fields = fields
    repair_field = "manual_value"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("attribute_key", "activity")

    @admin.display(description="manual value")
    def manual_value(self, attribute):
        return _repair_link(attribute, row_status=attribute.resolution_status,
                            repairable=(AttributeResolutionStatus.PENDING, AttributeResolutionStatus.FAILED),
                            url_name="activities_activity_attribute_resolve", label="Set a value")


class StatusEventInline(ReadOnlyInline):
    model = StatusEvent
    fields = ["occurred_at", "event_type", "from_status", "to_status", "error_code", "error_message", "actor_type",
              "actor_user", "actor_api_key"]
    readonly_fields = fields
    ordering = ["occurred_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user", "actor_api_key")


class TaskResultInline(ReadOnlyInline):
    model = TaskResult
    fk_name = "activity"
    fields = ["occurred_at", "status", "result_code", "external_status", "hard_override", "comment",
              "contact_type", "operator_external_id", "future_scheduled_at", "follow_up_activity", "actor_type",
              "created_at"]
    readonly_fields = fields
    ordering = ["occurred_at", "created_at"]


class DeliveryReceiptInline(ReadOnlyInline):
    """SPEC 6.2: what the provider reported about a MESSAGE, oldest first."""

    model = DeliveryReceipt
    fields = ["occurred_at", "status", "error_code", "error_message", "raw_payload", "actor_type", "actor_api_key",
              "created_at"]
    readonly_fields = fields
    ordering = ["occurred_at", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_api_key")
