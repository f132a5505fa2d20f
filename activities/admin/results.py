"""Task results, read (they arrive through the API), and the catalogue of task result types."""
from django import forms
from django.contrib import admin

from activities import services
from activities.admin.display import activity_link
from activities.admin.read_only import ReadOnlyAdmin
from activities.admin_io import TaskResultExportMixin
from activities.models import TaskResult, TaskResultType
from tenants.console import ConsoleModelAdmin, short_label


@admin.register(TaskResult)
class TaskResultAdmin(TaskResultExportMixin, ReadOnlyAdmin):
    """Results arrive through the API (one service checks and applies them); here they are read."""

    list_display = ["row_label", "occurred_at", "status", "result_code", "source", "activity_label", "commerce",
                    "hard_override", "tenant"]
    list_display_links = ["row_label"]
    list_filter = ["tenant", "source", "status", "hard_override", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "=activity__id", "provider_activity_id", "result_code", "commerce__name",
                     "commerce__external_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["tenant", "activity__commerce_assignment__commerce", "commerce"]
    raw_id_fields = ["activity", "commerce", "follow_up_activity", "result_type", "actor_user", "actor_api_key"]

    def console_label(self, result):
        return short_label(result.commerce.name if result.commerce_id else result.result_code, result.pk)

    @admin.display(description="activity")
    def activity_label(self, result):
        return activity_link(result.activity)


class TaskResultTypeForm(forms.ModelForm):
    class Meta:
        model = TaskResultType
        fields = ["tenant", "code", "label", "requires_future_scheduled_at", "creates_follow_up", "is_active"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("creates_follow_up") and not cleaned.get("requires_future_scheduled_at"):
            self.add_error("creates_follow_up", "A type that creates a follow-up must require future_scheduled_at.")
        return cleaned


@admin.register(TaskResultType)
class TaskResultTypeAdmin(ConsoleModelAdmin):
    form = TaskResultTypeForm
    list_display = ["tenant", "code", "label", "requires_future_scheduled_at", "creates_follow_up", "is_active"]
    list_filter = ["tenant", "is_active", "creates_follow_up"]
    search_fields = ["code", "label"]
    list_select_related = ["tenant"]
    ordering = ["tenant", "code"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "code"] if obj is not None else []  # stored results name the code

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.Meta.fields
                if name in form.cleaned_data and name != "tenant"}
        if change:
            services.task_result_type_update(result_type=obj, data=data)
        else:
            services.task_result_type_create(tenant=obj.tenant, data=data)
