"""The records of an activity's life in lists of their own, each row linked to its activity: status events
(append-only), target users, attributes, commerce assignments and task details (written by services only)."""
from django.contrib import admin

from activities.admin.display import LinksToActivity
from activities.admin.read_only import ReadOnlyAdmin
from activities.models import ActivityAttribute, CommerceAssignment, StatusEvent, TargetUser, TaskDetails
from tenants.console import ConsoleModelAdmin
from tenants.roles import Permission


@admin.register(StatusEvent)
class StatusEventAdmin(LinksToActivity, ConsoleModelAdmin):
    tenant_path = "activity__tenant"
    console_view = Permission.VIEW_ACTIVITIES
    list_display = ["occurred_at", "event_type", "from_status", "to_status", "error_code", "actor_type",
                    "activity_column"]
    list_filter = ["event_type", "actor_type", "activity__tenant", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["=activity__id", "error_code", "error_message"]
    date_hierarchy = "occurred_at"
    list_select_related = ["activity__commerce_assignment__commerce"]
    raw_id_fields = ["activity", "actor_user", "actor_api_key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # append-only

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TargetUser)
class TargetUserAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["id", "activity_column", "commerce_user", "resolution_status", "resolution_strategy", "lock_reason",
                    "resolved_at"]
    list_filter = ["resolution_status", "resolution_strategy", "lock_reason", "activity__tenant"]
    search_fields = ["=activity__id", "commerce_user__first_name", "commerce_user__last_name"]
    list_select_related = ["activity__commerce_assignment__commerce", "commerce_user"]


@admin.register(ActivityAttribute)
class ActivityAttributeAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["id", "activity_column", "attribute_key", "resolution_status", "strategy", "resolver_type",
                    "resolved_at"]
    list_filter = ["resolution_status", "strategy", "resolver_type", "attribute_key", "activity__tenant"]
    search_fields = ["=activity__id", "attribute_key__key", "error_message"]
    list_select_related = ["activity__commerce_assignment__commerce", "attribute_key"]


@admin.register(CommerceAssignment)
class CommerceAssignmentAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["activity_column", "commerce", "assignment_reason", "assigned_at"]
    list_filter = ["commerce__tenant"]
    search_fields = ["=activity__id", "commerce__name", "commerce__external_id"]
    list_select_related = ["activity__commerce_assignment__commerce", "commerce"]
    date_hierarchy = "assigned_at"


@admin.register(TaskDetails)
class TaskDetailsAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["activity_column", "route", "operator"]
    list_filter = ["route__tenant"]
    search_fields = ["=activity__id", "route__code", "operator__name", "operator__external_id"]
    list_select_related = ["activity__commerce_assignment__commerce", "route", "operator"]
